"""The RNN engine (``dlfaq._fast.rnn``) against the reference recurrence of ``dlfaq.nn.rnn``.

The reference (one step after another, autograd, ``tanh``) is the oracle: each random
configuration (mode, sizes, layers, directions, ``batch_first``, ``proj_size``, dtype,
variable lengths or a PackedSequence, regularizers in training or eval, gates on or off,
and the engine's switch between "fused kernel + recomputed gates" and its own step
loop) runs once through the engine and once with ``DLFAQ_RNN_ENGINE=0``, from the same
seed, so the random masks are the same and both compute the same network.

Tolerances. float64: 1e-9 — only the order of the sums and the engine's
tanh(a) = 2 sigmoid(2a) - 1 differ, ~1e-15 per operation over a few dozen operations.
float32: 2e-5 for outputs, states and gates (values of order 1; the identity costs up
to ~1e-7 per step and oneDNN's products sum in another order, over at most 8 steps and
2 layers) and 2e-4 for gradients, which add up to T * B = 32 such terms per weight.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from dlfaq._fast import rnn as _engine
from dlfaq.nn import GRU, LSTM

TOL = {torch.float32: (2e-5, 2e-4), torch.float64: (1e-9, 1e-9)}


def _config(seed: int) -> dict[str, Any]:
    r = random.Random(seed)
    mode = r.choice(["LSTM", "GRU"])
    hidden = r.randint(2, 6)
    cfg: dict[str, Any] = {
        "mode": mode,
        "input": r.randint(1, 5),
        "hidden": hidden,
        "layers": r.choice([1, 1, 2]),
        "bidirectional": r.random() < 0.5,
        "batch_first": r.random() < 0.3,
        "proj": r.choice([0, 0, 1]) if mode == "LSTM" and hidden > 2 else 0,
        "dtype": r.choice([torch.float32, torch.float64]),
        "T": r.randint(1, 8),
        "B": r.randint(1, 4),
        "lengths": r.choice(["none", "lengths", "packed"]),
        "train": r.random() < 0.7,
        "gates": r.random() < 0.6,
        "loop_min": r.choice([1, 10**9]),  # LSTM with gates: the engine's own loop, or fused + recompute
    }
    reg: dict[str, Any] = {}
    if r.random() < 0.6:
        reg["zoneout"] = (r.choice([0.0, 0.2]), r.choice([0.0, 0.3])) if mode == "LSTM" else r.choice([0.0, 0.25])
    if r.random() < 0.5:
        reg["recurrent_dropout"] = r.choice([0.0, 0.3])
    if r.random() < 0.5:
        reg["variational_dropout"] = tuple(r.choice([0.0, 0.2]) for _ in range(3))
    if r.random() < 0.3:
        reg["weight_drop"] = 0.4
    if cfg["layers"] > 1 and r.random() < 0.3:
        reg["dropout"] = 0.3
    cfg["reg"] = reg
    return cfg


def _run(cfg: dict[str, Any], engine: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    monkeypatch.setenv("DLFAQ_RNN_ENGINE", "1" if engine else "0")
    monkeypatch.setattr(_engine, "_GATES_LOOP_MIN_NH", cfg["loop_min"])
    torch.manual_seed(1000)
    cls = LSTM if cfg["mode"] == "LSTM" else GRU
    kw = dict(cfg["reg"])
    if cfg["proj"]:
        kw["proj_size"] = cfg["proj"]
    m = cls(cfg["input"], cfg["hidden"], num_layers=cfg["layers"], bidirectional=cfg["bidirectional"],
            batch_first=cfg["batch_first"], dtype=cfg["dtype"], **kw).train(cfg["train"])
    T, B = cfg["T"], cfg["B"]
    shape = (B, T, cfg["input"]) if cfg["batch_first"] else (T, B, cfg["input"])
    x = torch.randn(*shape, dtype=cfg["dtype"], requires_grad=True)
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0] = T
    call_kw: dict[str, Any] = {"return_gates": cfg["gates"]}
    inp: Any = x
    if cfg["lengths"] == "lengths":
        call_kw["lengths"] = lengths
    elif cfg["lengths"] == "packed":
        inp = pack_padded_sequence(x, lengths, batch_first=cfg["batch_first"], enforce_sorted=False)
    torch.manual_seed(7)  # the masks: same seed for engine and reference
    res = m(inp, **call_kw)
    out = res[0].data if cfg["lengths"] == "packed" else res[0]
    hid = list(res[1]) if isinstance(res[1], tuple) else [res[1]]
    gates = list(res[2]) if cfg["gates"] else []
    values = [out, *hid, *gates]
    loss = sum((v * torch.linspace(-1, 1, v.numel(), dtype=v.dtype).reshape(v.shape)).sum() for v in values)
    loss.backward()  # type: ignore[union-attr]
    grads = [x.grad, *(p.grad if p.grad is not None else torch.zeros_like(p) for p in m.parameters())]
    return [v.detach() for v in values], grads


@pytest.mark.parametrize("seed", range(40))
def test_engine_matches_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(seed)
    fast_v, fast_g = _run(cfg, True, monkeypatch)
    ref_v, ref_g = _run(cfg, False, monkeypatch)
    atol_v, atol_g = TOL[cfg["dtype"]]
    assert len(fast_v) == len(ref_v)
    for a, b in zip(fast_v, ref_v, strict=True):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() <= atol_v, cfg
    for a, b in zip(fast_g, ref_g, strict=True):
        assert (a - b).abs().max().item() <= atol_g, cfg


def test_configurations_cover_every_engine_path() -> None:
    # The 40 seeds above must reach each of the engine's paths (a check on the generator).
    cfgs = [_config(s) for s in range(40)]
    lstm_gates_loop = [c for c in cfgs if c["mode"] == "LSTM" and c["gates"] and c["loop_min"] == 1]
    fused_gates = [c for c in cfgs if c["gates"] and c["loop_min"] > 1]
    regularized = [c for c in cfgs if c["train"] and (c["reg"].get("recurrent_dropout") or c["reg"].get("zoneout"))]
    assert lstm_gates_loop and fused_gates and regularized
    assert {c["mode"] for c in cfgs} == {"LSTM", "GRU"}
    assert {c["dtype"] for c in cfgs} == {torch.float32, torch.float64}
    assert any(c["proj"] for c in cfgs) and any(c["bidirectional"] for c in cfgs)
    assert {c["lengths"] for c in cfgs} == {"none", "lengths", "packed"}


_NAMED = {
    # Recurrent dropout without reported gates: the engine's fused d(g) (G holds -d(g)).
    "recurrent dropout, no gates": {"reg": {"recurrent_dropout": 0.3}, "gates": False, "train": True},
    # The benchmark's regularized row, small.
    "zoneout + recurrent + variational": {
        "reg": {"zoneout": (0.2, 0.3), "recurrent_dropout": 0.3, "variational_dropout": 0.2},
        "gates": False, "train": True,
    },
    # Zoneout in eval mode is its expectation, a float weight: the split in the backward loop.
    "eval zoneout": {"reg": {"zoneout": (0.2, 0.3)}, "gates": False, "train": False},
    "eval zoneout, gates": {"reg": {"zoneout": (0.2, 0.3)}, "gates": True, "train": False},
}


@pytest.mark.parametrize("lengths", ["none", "lengths"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(_NAMED))
def test_engine_matches_reference_named(name: str, dtype: torch.dtype, lengths: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths of the LSTM step loop the random configurations above may miss.
    cfg: dict[str, Any] = {"mode": "LSTM", "input": 3, "hidden": 5, "layers": 1, "bidirectional": True,
                           "batch_first": False, "proj": 0, "dtype": dtype, "T": 6, "B": 4,
                           "lengths": lengths, "loop_min": 1, **_NAMED[name]}
    fast_v, fast_g = _run(cfg, True, monkeypatch)
    ref_v, ref_g = _run(cfg, False, monkeypatch)
    atol_v, atol_g = TOL[dtype]
    for a, b in zip(fast_v, ref_v, strict=True):
        assert (a - b).abs().max().item() <= atol_v, name
    for a, b in zip(fast_g, ref_g, strict=True):
        assert (a - b).abs().max().item() <= atol_g, name
