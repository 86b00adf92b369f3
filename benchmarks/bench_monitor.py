"""GradientMonitor overhead: training steps of an MLP on digits with and without the monitor.

    python benchmarks/bench_monitor.py [--json] [--threads N] [--device cuda]

The anchor is the same training loop on the same model without the monitor
(forward, backward, SGD step), run interleaved with it in the same process. Target: ratio < 1.10
(monitor on every step costs under 10 % of a training step). The monitor's
defaults (every=1, update_every=10) are the rows marked "defaults";
update_every=1 is what the monitor measured on every step before the update
ratio was sampled.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, report  # noqa: E402

from dlfaq.data import digits  # noqa: E402
from dlfaq.nn.blocks import MLP  # noqa: E402
from dlfaq.train.gradients import GradientMonitor  # noqa: E402


def make_loops(depth: int, hidden: int, batch: int, steps: int, device: str, monitor: dict):
    """The same training loop with and without ``monitor.step()``, on ONE model.

    Sharing the model, optimizer and batches means the two loops touch the same
    memory, so the ratio measures the monitor and not the placement of two
    separate models (which alone moved ratios by a few percent either way).
    """
    X, y, _, _ = digits(0).tensors(device)
    torch.manual_seed(0)
    model = MLP(64, 10, hidden=hidden, depth=depth, activation="relu", norm="batch").to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, len(y), (batch,), generator=g).to(device) for _ in range(steps)]
    mon = GradientMonitor(model, **monitor)

    def loop(record: bool) -> None:
        for idx in batches:
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if record:
                mon.step()
            opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return (lambda: loop(True)), (lambda: loop(False)), mon


def min_ratios(ours, anchor, repeats: int) -> tuple[float, float]:
    """Ratios of the fastest interleaved repeat, wall time and CPU time (process_time).

    On a shared machine other processes only ever add time, so the fastest
    repeat is the least disturbed estimate; with one thread, CPU time leaves out
    the waiting for a core.
    """
    w_o, w_a, c_o, c_a = [], [], [], []
    for _ in range(repeats):
        for fn, w, c in ((ours, w_o, c_o), (anchor, w_a, c_a)):
            t, p = time.perf_counter(), time.process_time()
            fn()
            w.append(time.perf_counter() - t)
            c.append(time.process_time() - p)
    return min(w_o) / min(w_a), min(c_o) / min(c_a)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    configs = [
        # (depth, hidden, batch, monitor kwargs, label)
        (2, 64, 64, {}, "every step (defaults)"),
        (2, 64, 64, {"update_every": 1}, "every step, update ratio every step"),
        (2, 64, 64, {"track_updates": False}, "every step, no update ratios"),
        (2, 64, 64, {"every": 10}, "every 10th step"),
        (8, 128, 128, {}, "every step (defaults)"),
        (20, 64, 64, {}, "every step (defaults)"),
        (20, 64, 64, {"update_every": 1}, "every step, update ratio every step"),
    ]
    steps = 100
    for depth, hidden, batch, kw, label in configs:
        ours, anchor, mon = make_loops(depth, hidden, batch, steps, args.device, kw)
        r = compare(ours, anchor, repeats=args.repeats)
        wall_min, cpu_min = min_ratios(ours, anchor, repeats=args.repeats)
        mon.close()
        rows.append(
            {
                "model": f"MLP depth={depth} hidden={hidden} batch={batch}",
                "monitor": label,
                "plain_ms_per_step": 1e3 * r["anchor_s"] / steps,
                "monitored_ms_per_step": 1e3 * r["ours_s"] / steps,
                "ratio": r["ratio"],
                "ratio_of_fastest": wall_min,
                "cpu_ratio_of_fastest": cpu_min,
            }
        )
    report(
        "GradientMonitor overhead (monitored / plain training step)", rows, target="ratio < 1.10"
    )


if __name__ == "__main__":
    main()
