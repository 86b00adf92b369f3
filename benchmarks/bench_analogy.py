"""Google analogy evaluation on GloVe 6B 50d: dlfaq.embeddings.evaluate_analogy vs gensim.

    python benchmarks/bench_analogy.py [--repeats N] [--precision auto|bfloat16|float32] [--avx2] [--json]

Both evaluate the 19,544 questions of gensim's questions-words.txt with gensim's
defaults (restrict_vocab=300000, case-insensitive, OOV questions skipped). The
script checks that the two give identical per-section counts, then reports the
ratio of median wall times (ours / gensim). Target: ratio <= 0.1 with identical
accuracy. gensim needs one to two and a half minutes per repeat on an idle 2-core
CPU, so the default is a single interleaved repeat of each.

``--avx2`` measures both sides as on a CPU without AVX-512 (no bf16 either): it
runs the benchmark again with torch's kernels (``ATEN_CPU_CAPABILITY``), MKL,
oneDNN, numpy's OpenBLAS (``OPENBLAS_CORETYPE=Haswell``) and numba's code generation
(``NUMBA_CPU_NAME=haswell``: the engine's compiled scan) limited to AVX2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import compare, report  # noqa: E402

from dlfaq._fast.analogy import compiled_scan  # noqa: E402
from dlfaq.embeddings import evaluate_analogy, load  # noqa: E402
from dlfaq.embeddings.benchmarks import dataset_path  # noqa: E402

AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell"}


def _rerun_avx2_only() -> None:
    """Start this script again with the AVX2-only settings (they must be set before numpy and torch load)."""
    env = {**os.environ, **AVX2_ONLY, "DLFAQ_BENCH_AVX2": "1"}
    argv = [a for a in sys.argv if a != "--avx2"]
    os.execve(sys.executable, [sys.executable, *argv], env)


def main() -> None:
    if "--avx2" in sys.argv and os.environ.get("DLFAQ_BENCH_AVX2") != "1":
        _rerun_avx2_only()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--precision", choices=["auto", "bfloat16", "float32"], default="auto",
                    help="dtype of the engine's approximate pass (auto: bfloat16 on CUDA, float32 on CPU)")
    ap.add_argument("--avx2", action="store_true", help="limit torch, MKL, oneDNN and OpenBLAS to AVX2 kernels")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    vec = load("glove-6b-50d")
    kv = vec.to_gensim()
    path = str(dataset_path("google-analogy"))
    out: dict[str, object] = {}

    def ours() -> None:
        out["ours"] = evaluate_analogy(vec, precision=args.precision)

    def anchor() -> None:
        out["gensim"] = kv.evaluate_word_analogies(path)

    # warm-up of ours only: it builds the case-folded vocabulary once per Vectors,
    # which gensim rebuilds on every call, and loads (or, the first time on a machine,
    # compiles) the engine's numba scan; a second gensim run would double the wait.
    # Its time is reported as "ours first call_s".
    t0 = time.perf_counter()
    ours()
    first_call = time.perf_counter() - t0
    res = compare(ours, anchor, repeats=args.repeats, warmup=0)
    mine = out["ours"]
    score, sections = out["gensim"]
    same = all(
        s["correct"] == len(g["correct"]) and s["total"] == len(g["correct"]) + len(g["incorrect"])
        for s, g in zip(mine["sections"], sections[:-1], strict=True)
    ) and mine["accuracy"] == score
    rows = [
        {
            "questions answered": mine["total"],
            "ours correct": mine["correct"],
            "gensim correct": len(sections[-1]["correct"]),
            "ours accuracy": mine["accuracy"],
            "gensim accuracy": score,
            "identical per section": same,
            "ours_s": res["ours_s"],
            "gensim_s": res["anchor_s"],
            "ratio": res["ratio"],
            "first pass": mine["settings"]["first_pass"],
            "handed to the reference": mine["exact_fallbacks"],
            "tile fold": "compiled" if compiled_scan() is not None else "torch",
            "ours first call_s": round(first_call, 2),
            "kernels": "AVX2 only" if os.environ.get("DLFAQ_BENCH_AVX2") == "1" else "native",
        }
    ]
    report("analogy evaluation, GloVe 6B 50d, Google analogy set (ours / gensim)", rows,
           target="ratio <= 0.1 with identical accuracy")


if __name__ == "__main__":
    main()
