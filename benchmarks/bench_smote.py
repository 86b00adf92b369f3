"""SMOTE: dlfaq vs imbalanced-learn, time and peak memory.

    python benchmarks/bench_smote.py            # 200,000 x 32, weights [0.95, 0.05]
    python benchmarks/bench_smote.py --large    # also a 2,000,000-row run of ours (minutes)
    python benchmarks/bench_smote.py --json

Time: interleaved repeats in one process, ratio of medians (ours / imbalanced-learn);
target <= 0.6. Memory: each side runs once in a fresh subprocess; the peak
resident set size is reset just before ``fit_resample`` (``/proc/self/clear_refs``)
so the number is the extra memory of the call itself, output included.
(tracemalloc would not see torch's allocations.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import compare, report  # noqa: E402

N, D, WEIGHTS = 200_000, 32, [0.95, 0.05]

_CHILD = r"""
import json, sys, time
import numpy as np
from sklearn.datasets import make_classification

which, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X, y = make_classification(n_samples=n, n_features=d, weights=[0.95, 0.05], random_state=0)
if which == "ours":
    from dlfaq.imbalance import SMOTE
    import torch  # noqa: F401  (imported before the measurement)
else:
    from imblearn.over_sampling import SMOTE

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0

before = rss("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS
t = time.perf_counter()
Xr, yr = SMOTE(random_state=0).fit_resample(X, y)
dt = time.perf_counter() - t
peak = rss("VmHWM:")
minority = int((y == 1).sum())
print(json.dumps({"peak_extra_bytes": peak - before, "seconds": dt, "out_rows": int(len(yr)),
                  "out_bytes": int(Xr.nbytes + yr.nbytes), "minority": minority}))
"""


def _child(which: str, n: int, d: int) -> dict:
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, which, str(n), str(d)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_bound(n: int, d: int, minority: int, threads: int | None = None) -> int:
    """The bound stated in dlfaq._fast.smote's docstring (SMOTE's engine), for 'auto' on a binary target."""
    import torch

    from dlfaq.imbalance.neighbors import DEFAULT_BLOCK_BYTES

    threads = threads or torch.get_num_threads()
    n_new = (n - minority) - minority
    output = (n + n_new) * (d * 8 + 8)
    return (
        output
        + 24 * minority * d
        + 104 * minority
        + 40 * n_new
        + DEFAULT_BLOCK_BYTES
        + 2 * 16384 * d * 8 * threads
        + 32 * 2**20
        + output // 20
    )


def main() -> None:
    import numpy as np
    from imblearn.over_sampling import SMOTE as ImbSMOTE
    from imblearn.over_sampling import RandomOverSampler as ImbROS
    from sklearn.datasets import make_classification

    from dlfaq.imbalance import SMOTE

    X, y = make_classification(n_samples=N, n_features=D, weights=WEIGHTS, random_state=0)
    # Same output (up to float rounding) before timing anything.
    a = SMOTE(random_state=0).fit_resample(X, y)
    b = ImbSMOTE(random_state=0).fit_resample(X, y)
    same = bool(np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0], atol=1e-12))

    t = compare(
        lambda: SMOTE(random_state=0).fit_resample(X, y),
        lambda: ImbSMOTE(random_state=0).fit_resample(X, y),
        repeats=7,
    )
    ros = compare(
        lambda: SMOTE(random_state=0).fit_resample(X, y),
        lambda: ImbROS(random_state=0).fit_resample(X, y),
        repeats=3,
    )
    m_ours = _child("ours", N, D)
    m_imb = _child("imblearn", N, D)
    rows = [
        {
            "case": f"SMOTE {N}x{D} time",
            "ours_s": t["ours_s"],
            "imblearn_s": t["anchor_s"],
            "ratio": t["ratio"],
            "same_output": same,
        },
        {
            "case": "imblearn RandomOverSampler (reference)",
            "ours_s": ros["ours_s"],
            "imblearn_s": ros["anchor_s"],
            "ratio": ros["ratio"],
            "same_output": "",
        },
        {
            "case": f"SMOTE {N}x{D} peak extra MiB",
            "ours_s": m_ours["peak_extra_bytes"] / 2**20,
            "imblearn_s": m_imb["peak_extra_bytes"] / 2**20,
            "ratio": m_ours["peak_extra_bytes"] / max(1, m_imb["peak_extra_bytes"]),
            "same_output": "",
        },
    ]
    if "--large" in sys.argv:
        n_large = 2_000_000
        big = _child("ours", n_large, D)
        bound = memory_bound(n_large, D, big["minority"])
        rows.append(
            {
                "case": f"SMOTE {n_large}x{D} (ours): seconds / peak extra MiB / bound MiB",
                "ours_s": big["seconds"],
                "imblearn_s": big["peak_extra_bytes"] / 2**20,
                "ratio": bound / 2**20,
                "same_output": big["peak_extra_bytes"] <= bound,
            }
        )
    report("bench_smote", rows, target="time ratio <= 0.6; peak memory ratio <= 1.0; 2M run within its bound")


if __name__ == "__main__":
    main()
