"""Run torch's own RNN module test data against dlfaq's RNNs (issue 16).

torch's test suite describes every module in ``torch.testing._internal.common_modules.module_db``
(shipped in the torch wheel): the constructor and forward arguments its ``test_modules.py``
runs, and the error inputs with the exception type and message each must raise. This script
takes the entries of ``LSTM``, ``GRU``, ``LSTMCell``, ``GRUCell`` and ``RNNCell``, swaps in
dlfaq's class of the same name (changing nothing else), and checks, on both of dlfaq's
execution paths (``default``: no gates requested; ``gates``: ``return_gates=True``):

* forward samples: dlfaq's result equals torch's (``torch.testing.assert_close``, its
  default tolerances for the dtype), parameters copied from torch's module;
* error samples: the same exception type, with torch's expected message (``error_regex``);
* the cells compile with ``torch.jit.script`` and give torch's result.

    python tests/peers/torch_rnn/run_suite.py [--json OUT]

Prints one line per case that did not pass, then the counts per path; exit status 0 when
every case passes. Training-mode samples with inter-layer dropout are skipped on the gates
path only (torch's kernel and dlfaq's loop draw their dropout masks differently, so the
outputs are not comparable there; both are checked in eval mode).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from typing import Any

import torch
from torch.testing._internal.common_modules import ModuleErrorEnum, module_db

import dlfaq.nn as dnn

NAMES = ("LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell")
DTYPES = (torch.float32, torch.float64)


def _paths(name: str) -> list[str]:
    return ["default"] if name == "RNNCell" else ["default", "gates"]


def _forward(module: torch.nn.Module, path: str, args: tuple, kwargs: dict) -> Any:
    if path == "default":
        return module(*args, **kwargs)
    res = module(*args, return_gates=True, **kwargs)
    return res[0] if isinstance(module, torch.nn.RNNCellBase) else (res[0], res[1])


def _build(cls: type, ctor: Any, dtype: torch.dtype, training: bool) -> torch.nn.Module:
    return cls(*ctor.args, **ctor.kwargs).to(dtype).train(training)


def _clone(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, tuple):
        return tuple(_clone(v) for v in x)
    if isinstance(x, torch.nn.utils.rnn.PackedSequence):
        return x  # immutable here
    return x


def _run_forward_samples(info: Any, name: str, results: list[dict[str, Any]]) -> None:
    ours_cls = getattr(dnn, name)
    for dtype in DTYPES:
        for training in (False, True):
            samples = info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=False, training=training)
            for k, s in enumerate(samples):
                ctor, fwd = s.constructor_input, s.forward_input
                torch.manual_seed(0)
                ref = _build(info.module_cls, ctor, dtype, training)
                ours = _build(ours_cls, ctor, dtype, training)
                ours.load_state_dict(ref.state_dict())
                dropout = float(ctor.kwargs.get("dropout", 0.0))
                for path in _paths(name):
                    case = f"{name} {dtype} {'train' if training else 'eval'} sample {k} {s.desc}".strip()
                    if path == "gates" and training and dropout > 0:
                        results.append({"path": path, "case": case, "status": "skipped"})
                        continue
                    args, kwargs = _clone(fwd.args), _clone(fwd.kwargs)
                    try:
                        torch.manual_seed(1)
                        expected = ref(*args, **kwargs)
                        torch.manual_seed(1)
                        got = _forward(ours, path, _clone(fwd.args), _clone(fwd.kwargs))
                        torch.testing.assert_close(got, expected)
                        results.append({"path": path, "case": case, "status": "passed"})
                    except Exception as e:  # noqa: BLE001 - reported per case
                        results.append({"path": path, "case": case, "status": "failed", "why": f"{type(e).__name__}: {e}"[:300]})


def _run_error_samples(info: Any, name: str, results: list[dict[str, Any]]) -> None:
    if info.module_error_inputs_func is None:
        return
    ours_cls = getattr(dnn, name)
    errors = info.module_error_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=False, training=False)
    for k, err in enumerate(errors):
        s = err.module_error_input
        for path in _paths(name):
            case = f"{name} error {k}: {err.error_type.__name__} /{err.error_regex}/"
            try:
                if err.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
                    ours_cls(*s.constructor_input.args, **s.constructor_input.kwargs)
                else:
                    ours = _build(ours_cls, s.constructor_input, torch.float32, False)
                    _forward(ours, path, s.forward_input.args, s.forward_input.kwargs)
                results.append({"path": path, "case": case, "status": "failed", "why": "no exception"})
            except Exception as e:  # noqa: BLE001 - the exception is the result
                ok = type(e) is err.error_type and re.search(err.error_regex, str(e)) is not None
                results.append({"path": path, "case": case, "status": "passed" if ok else "failed",
                                "why": "" if ok else f"{type(e).__name__}: {e}"[:300]})


def _run_script(name: str, results: list[dict[str, Any]]) -> None:
    if not name.endswith("Cell"):
        return
    case = f"{name} torch.jit.script"
    try:
        torch.manual_seed(0)
        ref = getattr(torch.nn, name)(4, 6)
        ours = getattr(dnn, name)(4, 6)
        ours.load_state_dict(ref.state_dict())
        x = torch.randn(3, 4)
        torch.testing.assert_close(torch.jit.script(ours)(x), ref(x))
        results.append({"path": "default", "case": case, "status": "passed"})
    except Exception as e:  # noqa: BLE001
        results.append({"path": "default", "case": case, "status": "failed", "why": f"{type(e).__name__}: {e}"[:300]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write every case and its status to this file")
    ns = parser.parse_args()
    results: list[dict[str, Any]] = []
    infos = {i.module_cls.__name__: i for i in module_db if i.module_cls.__name__ in NAMES and i.module_cls.__module__.startswith("torch.nn")}
    missing = set(NAMES) - set(infos)
    if missing:
        print(f"torch's module_db has no entry for {sorted(missing)}", file=sys.stderr)
        return 1
    for name in NAMES:
        _run_forward_samples(infos[name], name, results)
        _run_error_samples(infos[name], name, results)
        _run_script(name, results)
    for r in results:
        if r["status"] == "failed":
            print(f"FAILED [{r['path']}] {r['case']}: {r['why']}")
    counts = Counter((r["path"], r["status"]) for r in results)
    for path in ("default", "gates"):
        passed, failed, skipped = (counts[(path, s)] for s in ("passed", "failed", "skipped"))
        print(f"{path}: {passed}/{passed + failed} passed" + (f" ({skipped} skipped)" if skipped else ""))
    if ns.json:
        with open(ns.json, "w", encoding="utf-8") as f:
            json.dump({"torch": torch.__version__, "results": results}, f, indent=1)
    return 0 if not any(r["status"] == "failed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
