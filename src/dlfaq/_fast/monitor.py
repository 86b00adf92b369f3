"""The multi-tensor record behind :meth:`dlfaq.train.GradientMonitor.step`.

Entry point: :func:`record`. It computes what one record of the monitor holds, the norms of
every gradient, of every weight and (on the records that measure the update ratio) of every
weight's change since the last snapshot, with torch's multi-tensor ``_foreach_*`` kernels: one
call for all the norms instead of one per tensor. torch documents these functions as private
(their public form, ``torch.foreach``, does not exist yet in the torch this project pins), so
:func:`record` returns ``None`` when its probe finds them missing or failing, and the caller then
runs the reference, :func:`dlfaq.train.gradients._record` (one ``torch.linalg.vector_norm`` per
tensor). Tests check engine == reference over random parameter lists.

What the trick buys, measured on CPU (one thread, a 2-core machine shared with other jobs at
loads of 4 to 7; the 20 weight matrices and 20 biases of a 20-layer MLP of width 64; this
function against the reference, best of 5 × 500 calls, three runs): 0.26-0.41 ms a record
against 0.28-0.54 ms (1.1-1.3 times faster), and on the records that also measure the update
ratio 0.58-0.87 ms against 0.67-1.14 ms (0.9-1.2 times). On CPU the kernels still loop over the
tensors, so what they save is mostly the Python call per tensor; on a GPU they launch a few
fused kernels instead of one per tensor (torch's documentation; not measured here).
``benchmarks/bench_monitor.py`` measures the monitor's whole cost per training step.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["available", "record"]


def _probe() -> bool:
    try:
        t = [torch.ones(3), torch.zeros(())]
        prev = [torch.zeros(3), torch.ones(())]
        torch._foreach_sub_(prev, t)
        norms = torch._foreach_norm(t + prev, 2, dtype=torch.float64)
        torch._foreach_copy_(prev, t)
        return bool(torch.stack(norms).tolist() == [3**0.5, 0.0, 3**0.5, 1.0])
    except (AttributeError, RuntimeError, TypeError):
        return False


_OK = _probe()


def available() -> bool:
    """Does this torch have the ``_foreach_*`` kernels :func:`record` uses (and do they work)?"""
    return _OK


def record(
    grads: list[Tensor],
    params: list[Tensor],
    prev: list[Tensor] | None,
    *,
    measure: bool,
    snapshot: bool,
    dtype: torch.dtype | None,
) -> Tensor | None:
    """One record of the monitor: ``[‖g_1‖ .. ‖g_k‖, ‖W_1‖ .. ‖W_k‖]``, and, with ``measure``,
    ``‖prev_i − W_i‖`` appended (``prev`` is overwritten with that difference). With
    ``snapshot`` and ``prev`` given, ``prev`` then receives a copy of the weights. The norms are
    computed in ``dtype`` (None: each tensor's own). Returns None (and touches nothing) when the
    probe failed; call without autograd."""
    if not _OK:
        return None
    tensors = grads + params
    if measure:
        assert prev is not None
        torch._foreach_sub_(prev, params)  # prev now holds -(the change since the snapshot)
        tensors += prev
    out = torch.stack(torch._foreach_norm(tensors, 2, dtype=dtype))
    if snapshot and prev is not None:
        torch._foreach_copy_(prev, params)
    return out
