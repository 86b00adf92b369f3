"""Dropout variants for sequence models that work with any module.

* :class:`LockedDropout`: variational dropout for any sequence tensor (one mask
  per sequence, shared across time; Gal & Ghahramani, 2016).
* :class:`WeightDrop`: DropConnect on named weights of any wrapped module,
  including a :class:`torch.nn.LSTM` (Wan et al., 2013; Merity et al., 2018).
* :class:`DropConnectLinear`: a linear layer with DropConnect on its weight.

The masks use inverted scaling (kept entries are divided by 1 - p), so every
module is the identity transformation of its weights/activations in ``eval()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["DropConnectLinear", "LockedDropout", "WeightDrop"]


def check_probability(p: float, name: str = "dropout probability") -> float:
    """``p`` as a float in [0, 1), else ``ValueError`` (the one check of every regularizer here
    and in :mod:`dlfaq.nn.rnn`)."""
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {p}")
    return p


def bernoulli_mask(like: Tensor, shape: Sequence[int], q: float) -> Tensor:
    """A 0/1 mask of ``like``'s dtype and device with P(1) = q.

    Thresholding uniforms measured ~3x faster than ``bernoulli_`` on CPU for the
    (T, B, H) masks the RNN regularizers draw at every forward pass.
    """
    return like.new_empty(shape).uniform_().lt_(q)


def inverted_mask(like: Tensor, shape: Sequence[int], p: float) -> Tensor:
    """A Bernoulli(1 - p) keep-mask scaled by 1/(1 - p) (inverted dropout: the identity in expectation)."""
    return bernoulli_mask(like, shape, 1.0 - p).div_(1.0 - p)


def drop_connect(weight: Tensor, p: float) -> Tensor:
    r""":math:`W \odot M / (1 - p)` with :math:`M_{jk} \sim \text{Bernoulli}(1 - p)`: DropConnect's
    weight for one forward pass (Wan et al., 2013). The one formula behind :class:`DropConnectLinear`,
    :class:`WeightDrop` and ``LSTM(weight_drop=...)``."""
    return weight * inverted_mask(weight, weight.shape, p)


class _Bound(nn.Module):
    """``fn(module, *args)`` as the forward of a module that holds ``module`` (for functional_call)."""

    def __init__(self, module: nn.Module, fn: Any) -> None:
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(self.module, *args, **kwargs)


def drop_connect_call(module: nn.Module, names: Sequence[str], p: float, fn: Any, *args: Any, **kwargs: Any) -> Any:
    r"""``fn(module, *args, **kwargs)`` with each named weight :math:`W` of ``module`` replaced by
    :math:`W \odot M / (1 - p)`, one Bernoulli(1 - p) mask per weight and call (DropConnect,
    Wan et al., 2013). The one DropConnect of the package: :class:`WeightDrop` and
    ``LSTM(weight_drop=...)`` both use it.

    The module is not modified: the dropped tensors are passed for this call alone through
    :func:`torch.func.functional_call` (torch's RNNs notice the changed weights and hand
    them to their fused kernel), so ``state_dict``, optimizers, DDP and ``torch.compile``
    see the parameters as usual.
    """
    params = dict(module.named_parameters())
    dropped = {f"module.{n}": drop_connect(params[n], p) for n in names}
    bound = _Bound(module, fn)
    if isinstance(module, nn.RNNBase) and params[names[0]].is_cuda:
        # The dropped matrices are not views of cuDNN's flat weight buffer; torch's native
        # CUDA kernel uses them as they are, without a per-call compaction.
        with torch.backends.cudnn.flags(enabled=False):
            return torch.func.functional_call(bound, dropped, args, kwargs, strict=False)
    return torch.func.functional_call(bound, dropped, args, kwargs, strict=False)


class LockedDropout(nn.Module):
    r"""Variational ("locked") dropout over a sequence (Gal & Ghahramani, 2016).

    One Bernoulli(1 - p) mask per sequence and feature is drawn and reused at
    every time step, :math:`y_t = x_t \odot m / (1 - p)`, so the same units are
    silent for the whole sequence (ordinary dropout redraws the mask at every
    step). Identity in ``eval()`` and when ``p = 0``.

    Args:
        p: probability of zeroing a unit.
        batch_first: whether the input is ``(N, L, C)`` instead of ``(L, N, C)``.

    Shape:
        - input: ``(L, N, *)`` (or ``(N, L, *)`` with ``batch_first``)
        - output: same shape as the input
    """

    def __init__(self, p: float = 0.5, batch_first: bool = False) -> None:
        super().__init__()
        self.p = check_probability(p)
        self.batch_first = batch_first

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = list(x.shape)
        shape[1 if self.batch_first else 0] = 1
        return x * inverted_mask(x, shape, self.p)


class WeightDrop(nn.Module):
    r"""DropConnect on named weights of a wrapped module (Wan et al., 2013).

    At every training forward pass each named weight :math:`W` is replaced by
    :math:`W \odot M / (1 - p)`, :math:`M_{jk} \sim \text{Bernoulli}(1 - p)`,
    one mask per forward pass. Wrapping the hidden-to-hidden matrices of an
    LSTM (``weights=["weight_hh_l0"]``) is the recurrent regularizer of
    AWD-LSTM (Merity, Keskar & Socher, 2018).

    Unlike the popular implementations, the wrapped module is not modified:
    its parameters stay registered (so ``state_dict``, optimizers, ``.to()``,
    DDP and ``torch.compile`` see them as usual), ``flatten_parameters`` is
    never patched, and the dropped weights are passed for one call through
    :func:`torch.func.functional_call`. In ``eval()`` the module runs with its
    own weights.

    Args:
        module: the module to wrap.
        weights: names of the parameters to drop (e.g. ``"weight_hh_l0"``).
        dropout: probability of dropping a weight.

    Shape:
        as the wrapped module.
    """

    def __init__(self, module: nn.Module, weights: Sequence[str] | str, dropout: float = 0.5) -> None:
        super().__init__()
        self.module = module
        self.weights = [weights] if isinstance(weights, str) else list(weights)
        self.dropout = check_probability(dropout)
        params = dict(module.named_parameters())
        missing = [w for w in self.weights if w not in params]
        if missing:
            raise ValueError(f"{type(module).__name__} has no parameter(s) {missing}")

    def extra_repr(self) -> str:
        return f"weights={self.weights}, dropout={self.dropout}"

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not self.training or self.dropout == 0.0:
            return self.module(*args, **kwargs)
        return drop_connect_call(self.module, self.weights, self.dropout, _call, *args, **kwargs)


def _call(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
    return module(*args, **kwargs)


class DropConnectLinear(nn.Linear):
    r"""Linear layer with DropConnect on its weight (Wan et al., 2013).

    Training: :math:`y = x (W \odot M)^\top / (1 - p) + b`, with one
    Bernoulli(1 - p) mask :math:`M` per forward pass (shared by the examples
    of the batch, which keeps the cost of one matrix product; the paper draws
    one mask per example). Evaluation: :math:`y = x W^\top + b`, the mean of
    the training-time layer (the paper's moment-matching inference is not
    implemented).

    Args:
        in_features, out_features, bias, device, dtype: as :class:`torch.nn.Linear`.
        p: probability of dropping each weight.

    Shape:
        - input: ``(*, H_in)``; output: ``(*, H_out)``
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        p: float = 0.5,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.p = check_probability(p)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", p={self.p}"

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return F.linear(input, self.weight, self.bias)
        return F.linear(input, drop_connect(self.weight, self.p), self.bias)
