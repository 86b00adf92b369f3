"""Shared timing helpers for the benchmark scripts.

Every benchmark times one dlfaq component against its anchor library in the
same process and run, interleaving the repeats so that machine noise hits both
alike, and reports the ratio of medians (ours / anchor). Targets are ratios,
never absolute times.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    for mod in ("numpy", "torch", "sklearn", "imblearn", "gensim"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:
            pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:
        pass
    return info


def time_once(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def compare(
    ours: Callable[[], Any],
    anchor: Callable[[], Any],
    repeats: int = 5,
    warmup: int = 1,
) -> dict[str, float]:
    """Median seconds of ``ours`` and ``anchor`` over interleaved repeats, and their ratio."""
    for _ in range(warmup):
        ours()
        anchor()
    t_ours, t_anchor = [], []
    for _ in range(repeats):
        t_ours.append(time_once(ours))
        t_anchor.append(time_once(anchor))
    m_o, m_a = statistics.median(t_ours), statistics.median(t_anchor)
    return {"ours_s": m_o, "anchor_s": m_a, "ratio": m_o / m_a, "repeats": repeats}


def report(name: str, rows: list[dict[str, Any]], target: str = "") -> None:
    """Print results as a small table (and JSON with --json) with the machine description."""
    if "--json" in sys.argv:
        print(json.dumps({"benchmark": name, "machine": machine_info(), "results": rows}, indent=1))
        return
    print(f"# {name}")
    for k, v in machine_info().items():
        print(f"#   {k}: {v}")
    if target:
        print(f"# target: {target}")
    if rows:
        cols = list(rows[0].keys())
        print("\t".join(cols))
        for r in rows:
            print("\t".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values()))
