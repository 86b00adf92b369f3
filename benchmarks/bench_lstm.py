"""Forward + backward time of ``dlfaq.nn.LSTM`` versus ``torch.nn.LSTM`` (CPU, 2 threads).

Run: ``python benchmarks/bench_lstm.py`` (add ``--quick`` for the small size only,
``--threads N`` to change the 2 intra-op threads, ``--repeats N`` for more interleaved
repeats on a busy machine, ``--json`` for machine-readable output). Targets (issue 3): ours / torch at most
1.1 on the fast path, 1.6 with ``return_gates=True`` and 2.0 with zoneout +
recurrent dropout + variational dropout on.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
from _harness import compare, report  # noqa: E402

from dlfaq.nn import LSTM  # noqa: E402


def _step(model: torch.nn.Module, x: torch.Tensor, gate_loss: bool = False, **kw: object) -> None:
    model.zero_grad(set_to_none=True)
    out = model(x, **kw)
    loss = out[0].float().pow(2).mean()
    if gate_loss:
        loss = loss + out[2].f.mean()  # gradients also flow through the returned gates
    loss.backward()


def main() -> None:
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sizes = [(50, 32, 256)]
    if "--quick" not in sys.argv:
        sizes.append((50, 64, 1024))
    rows = []
    for seq, batch, hidden in sizes:
        ref = torch.nn.LSTM(hidden, hidden)
        x = torch.randn(seq, batch, hidden)
        configs = {
            "fast path": (LSTM(hidden, hidden), {}),
            "return_gates": (LSTM(hidden, hidden), {"return_gates": True}),
            "return_gates, loss on gates too": (LSTM(hidden, hidden), {"return_gates": True, "gate_loss": True}),
            "zoneout+recurrent+variational": (
                LSTM(hidden, hidden, zoneout=(0.1, 0.05), recurrent_dropout=0.25, variational_dropout=0.25),
                {},
            ),
            "weight_drop (fused)": (LSTM(hidden, hidden, weight_drop=0.5), {}),
        }
        repeats = 11 if hidden <= 256 else 5
        if "--repeats" in sys.argv:
            repeats = int(sys.argv[sys.argv.index("--repeats") + 1])
        for name, (model, kw) in configs.items():
            model.load_state_dict(ref.state_dict())
            model.train()
            res = compare(
                lambda m=model, k=kw, x=x: _step(m, x, **k),
                lambda r=ref, x=x: _step(r, x),
                repeats=repeats,
            )
            rows.append(
                {
                    "config": name,
                    "threads": threads,
                    "seq": seq,
                    "batch": batch,
                    "hidden": hidden,
                    "ours_ms": 1000 * res["ours_s"],
                    "torch_ms": 1000 * res["anchor_s"],
                    "ratio": res["ratio"],
                }
            )
    report(
        "dlfaq.nn.LSTM vs torch.nn.LSTM, forward+backward",
        rows,
        target="ratio <= 1.1 fast path, <= 1.6 return_gates, <= 2.0 zoneout+recurrent+variational",
    )


if __name__ == "__main__":
    main()
