"""Regularization tools: L1 and L2 penalties, early stopping, weight sparsity.

Penalties
---------
:func:`l1_penalty` returns :math:`\\lambda \\sum_i |w_i|` and :func:`l2_penalty` returns
:math:`\\lambda \\sum_i w_i^2` over the penalized parameters. By default biases and the
parameters of normalization layers (BatchNorm, LayerNorm, GroupNorm, InstanceNorm) are
skipped: they set offsets and scales rather than how strongly an input is used, and
shrinking a norm's :math:`\\gamma` towards zero only fights the normalization (the usual
practice since Krizhevsky et al. 2012; see also Goyal et al. 2017, "no bias decay").

The L1 penalty's subgradient :math:`\\lambda\\,\\mathrm{sign}(w)` pushes every weight towards
zero by the same amount whatever its size, which drives small weights to (near) zero and gives
sparse solutions (Tibshirani 1996); the L2 gradient :math:`2\\lambda w` shrinks weights in
proportion to their size and rarely makes any exactly zero.

Coupled L2 versus decoupled weight decay
----------------------------------------
Adding :math:`\\tfrac{\\mu}{2}\\lVert w\\rVert^2` to the loss adds :math:`\\mu w` to the gradient.
For plain SGD this is exactly the same as ``torch.optim.SGD(weight_decay=mu)``, so
``l2_penalty(model, mu / 2)`` and ``weight_decay=mu`` give the same trajectory (our tests check
this). For adaptive methods the two differ: Adam divides the whole gradient, penalty included,
by :math:`\\sqrt{\\hat v}`, so weights with large gradient history are decayed *less* — the
``weight_decay`` argument of ``torch.optim.Adam`` is this coupled L2. Loshchilov & Hutter
(2019), *Decoupled weight decay regularization* (ICLR), showed that applying the decay directly
to the weights, :math:`w \\leftarrow w - \\eta\\,\\mu\\,w` outside the adaptive step, regularizes
as intended and makes the best decay independent of the learning rate; that is
``torch.optim.AdamW``. Use a penalty from this module with SGD, or when you want L1; with Adam
prefer AdamW's decoupled decay (:func:`decay_param_groups` builds the parameter groups that
skip biases and norms).

Early stopping
--------------
:class:`EarlyStopping` watches a validation metric and stops when it has not improved by
more than ``min_delta`` for ``patience`` consecutive checks, then (by default) restores the
weights of the best check (Prechelt 1998, *Early stopping — but when?*).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "l1_penalty",
    "l2_penalty",
    "penalized_parameters",
    "decay_param_groups",
    "weight_sparsity",
    "EarlyStopping",
]

_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
)
if hasattr(nn, "RMSNorm"):
    _NORM_TYPES = _NORM_TYPES + (nn.RMSNorm,)


def penalized_parameters(
    model: nn.Module, skip_bias_and_norm: bool = True
) -> Iterator[tuple[str, nn.Parameter]]:
    """Yield ``(name, parameter)`` for the parameters a penalty applies to.

    With ``skip_bias_and_norm`` a parameter is skipped when its own name is ``bias`` or when
    it belongs to a normalization module. Parameters that do not require grad are skipped.
    Shared parameters are yielded once.
    """
    seen: set[int] = set()
    for mod_name, module in model.named_modules():
        is_norm = isinstance(module, _NORM_TYPES)
        for p_name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            if skip_bias_and_norm and (is_norm or p_name == "bias"):
                continue
            yield (f"{mod_name}.{p_name}" if mod_name else p_name), p


def _zero(model: nn.Module) -> Tensor:
    for p in model.parameters():
        return p.new_zeros(())
    return torch.zeros(())


def l1_penalty(model: nn.Module, weight: float, skip_bias_and_norm: bool = True) -> Tensor:
    """:math:`\\lambda \\sum_i |w_i|` over :func:`penalized_parameters`, as a scalar tensor
    that back-propagates. ``weight`` is :math:`\\lambda`.

    Use it as ``fit(..., penalty=functools.partial(l1_penalty, weight=1e-4))``.
    """
    total = _zero(model)
    for _, p in penalized_parameters(model, skip_bias_and_norm):
        total = total + p.abs().sum()
    return weight * total


def l2_penalty(model: nn.Module, weight: float, skip_bias_and_norm: bool = True) -> Tensor:
    """:math:`\\lambda \\sum_i w_i^2` over :func:`penalized_parameters` (no factor 1/2).

    ``l2_penalty(model, mu / 2)`` with SGD equals ``torch.optim.SGD(weight_decay=mu)`` on the
    penalized parameters; with Adam prefer AdamW (see the module docstring).
    """
    total = _zero(model)
    for _, p in penalized_parameters(model, skip_bias_and_norm):
        total = total + p.pow(2).sum()
    return weight * total


def decay_param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two optimizer parameter groups: penalized parameters with ``weight_decay`` and the
    rest (biases, norm parameters) with 0, e.g. ``torch.optim.AdamW(decay_param_groups(m, 0.01))``.
    """
    decay = {id(p) for _, p in penalized_parameters(model, True)}
    params = [p for p in model.parameters() if p.requires_grad]
    # dedupe shared parameters while keeping order
    uniq = list({id(p): p for p in params}.values())
    return [
        {"params": [p for p in uniq if id(p) in decay], "weight_decay": weight_decay},
        {"params": [p for p in uniq if id(p) not in decay], "weight_decay": 0.0},
    ]


@torch.no_grad()
def weight_sparsity(model: nn.Module, threshold: float = 1e-3, skip_bias_and_norm: bool = True) -> float:
    """Fraction of penalized weights with :math:`|w| < ` ``threshold``."""
    small = 0
    total = 0
    for _, p in penalized_parameters(model, skip_bias_and_norm):
        small += int((p.abs() < threshold).sum())
        total += p.numel()
    return small / total if total else 0.0


class EarlyStopping:
    """Stop training when a monitored value stops improving, and keep the best weights.

    Call :meth:`step` once per epoch with the validation value; it returns ``True`` when
    training should stop, i.e. after ``patience`` consecutive calls without an improvement
    larger than ``min_delta``. With ``restore_best`` a copy of the model's ``state_dict`` is
    kept at every improvement, and :meth:`restore` loads it back (``fit`` does that when it
    stops or finishes).

    Args:
        patience: how many calls without improvement are tolerated.
        min_delta: an improvement must be larger than this (absolute units of the value).
        mode: ``"min"`` (loss) or ``"max"`` (accuracy).
        restore_best: keep the best weights so that :meth:`restore` can load them.

    A NaN value never counts as an improvement.
    """

    def __init__(
        self, patience: int = 10, min_delta: float = 0.0, mode: str = "min", restore_best: bool = True
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.restore_best = restore_best
        self.reset()

    def reset(self) -> None:
        """Forget the history (best value, counters, saved weights)."""
        self.best_value: float = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.num_bad: int = 0
        self.calls: int = 0
        self.stopped: bool = False
        self._best_state: dict[str, Tensor] | None = None

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def step(self, value: float, model: nn.Module | None = None, epoch: int | None = None) -> bool:
        """Record ``value`` (``epoch`` defaults to the call count, from 1); return True to stop."""
        value = float(value)
        self.calls += 1
        if self._improved(value):
            self.best_value = value
            self.best_epoch = epoch if epoch is not None else self.calls
            self.num_bad = 0
            if self.restore_best and model is not None:
                self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.num_bad += 1
        self.stopped = self.num_bad > 0 and self.num_bad >= self.patience
        return self.stopped

    @property
    def has_best(self) -> bool:
        return self._best_state is not None

    def restore(self, model: nn.Module) -> bool:
        """Load the best weights into ``model``; returns False when none were saved."""
        if self._best_state is None:
            return False
        model.load_state_dict(self._best_state)
        return True

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
            f"mode={self.mode!r}, restore_best={self.restore_best})"
        )
