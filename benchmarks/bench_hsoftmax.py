"""Training-step time of ``dlfaq.nn.HierarchicalSoftmax`` vs full and adaptive softmax (CPU).

One step = zero the gradients, forward, backward: batch 512, d = 128, targets
drawn from a Zipf law (count of rank r ∝ 1/r, the tree built from the same
counts). Anchors, timed in the same run with interleaved repeats:

- full softmax: ``nn.Linear(d, V)`` + ``F.cross_entropy``;
- ``nn.AdaptiveLogSoftmaxWithLoss(d, V, cutoffs=[V // 20, V // 5])`` (default ``div_value=4``).

Ours is timed with ``sparse=True`` (the node gradient holds only the rows on the
batch's paths; the configuration to use for large V) and with the default dense
gradient, which allocates and fills a (V − 1) × d tensor every step.

Run: ``python benchmarks/bench_hsoftmax.py`` (``--quick``: V = 10k and 100k only;
``--repeats N``; ``--json``). Targets (issue 6), at V ≥ 100k: ours (sparse) ≤ 0.5 ×
adaptive softmax and ≤ 0.05 × full softmax.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _harness import compare, report  # noqa: E402

from dlfaq.nn import HierarchicalSoftmax  # noqa: E402

B, D = 512, 128


def _arg(name: str, default: int) -> int:
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    repeats = _arg("--repeats", 5)
    sizes = [10_000, 100_000] if "--quick" in sys.argv else [10_000, 100_000, 500_000]
    rows = []
    for V in sizes:
        counts = 1.0 / np.arange(1, V + 1)
        probs = torch.from_numpy(counts / counts.sum())
        x = torch.randn(B, D, requires_grad=True)
        gen = torch.Generator().manual_seed(V)

        def targets(gen: torch.Generator = gen, probs: torch.Tensor = probs) -> torch.Tensor:
            return torch.multinomial(probs, B, replacement=True, generator=gen)

        hs_sparse = HierarchicalSoftmax(D, counts, sparse=True)
        hs_dense = HierarchicalSoftmax(D, counts, sparse=False)
        # same tree for both; random weights so that the work is the same as mid-training
        for m in (hs_sparse, hs_dense):
            torch.nn.init.normal_(m.weight, std=0.1)
        full = torch.nn.Linear(D, V)
        adaptive = torch.nn.AdaptiveLogSoftmaxWithLoss(D, V, cutoffs=[V // 20, V // 5])

        def step(kind: str, m: torch.nn.Module, x: torch.Tensor = x) -> None:
            m.zero_grad(set_to_none=True)
            x.grad = None
            y = targets()
            if kind == "hs":
                loss = m(x, y)
            elif kind == "full":
                loss = F.cross_entropy(m(x), y)
            else:
                loss = m(x, y).loss
            loss.backward()

        pairs = [
            ("sparse", hs_sparse, "adaptive", adaptive),
            ("dense", hs_dense, "adaptive", adaptive),
            ("sparse", hs_sparse, "full", full),
        ]
        for variant, ours, anchor_name, anchor in pairs:
            r = compare(
                lambda ours=ours: step("hs", ours),
                lambda anchor=anchor, anchor_name=anchor_name: step(anchor_name, anchor),
                repeats=repeats,
            )
            target = 0.5 if anchor_name == "adaptive" else 0.05
            rows.append(
                {
                    "V": V,
                    "ours": f"hsoftmax-{variant}",
                    "anchor": anchor_name,
                    "ours_ms": 1e3 * r["ours_s"],
                    "anchor_ms": 1e3 * r["anchor_s"],
                    "ratio": r["ratio"],
                    "target": target if (V >= 100_000 and variant == "sparse") else "-",
                    "met": (r["ratio"] <= target) if (V >= 100_000 and variant == "sparse") else "-",
                }
            )
            print(rows[-1], file=sys.stderr, flush=True)
        del full, adaptive, hs_sparse, hs_dense
    report(
        "hierarchical softmax training step (fwd+bwd, batch 512, d 128, Zipf targets)",
        rows,
        target="V >= 100k: hsoftmax (sparse) <= 0.5 x adaptive and <= 0.05 x full",
    )


if __name__ == "__main__":
    main()
