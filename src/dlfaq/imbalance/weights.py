"""Reweighting: class weights, focal loss and logit adjustment for ``torch.nn`` training.

* :func:`class_weights` -- per-class weights for ``nn.CrossEntropyLoss(weight=...)``:
  ``'balanced'`` (inverse frequency, :math:`w_c = N / (C n_c)`, scikit-learn's
  ``class_weight='balanced'``) or ``'effective'`` (the effective number of
  samples of Cui et al., 2019: :math:`w_c \\propto (1 - \\beta) / (1 - \\beta^{n_c})`).
* :class:`FocalLoss` -- Lin et al. (2017): down-weights the easy examples.
* :class:`LogitAdjustedLoss` and :func:`logit_adjust` -- Menon et al. (2021):
  add :math:`\\tau \\log \\pi_y` to the logits while training (or subtract it
  from a plain model's logits afterwards) so that the arg-max targets the
  balanced error instead of the plain error.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["FocalLoss", "LogitAdjustedLoss", "class_priors", "class_weights", "logit_adjust"]


def _counts(y: Any, num_classes: int | None) -> np.ndarray:
    labels = y.detach().cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be 1-D class indices, got shape {labels.shape}")
    if labels.size == 0:
        raise ValueError("y is empty")
    if labels.dtype.kind not in "iub":
        raise ValueError(f"y must hold integer class indices 0..C-1, got dtype {labels.dtype}")
    if labels.min() < 0:
        raise ValueError("class indices must be non-negative")
    c = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.max() >= c:
        raise ValueError(f"y has class {int(labels.max())} but num_classes={c}")
    return np.bincount(labels, minlength=c).astype(np.float64)


def class_priors(y: Any, num_classes: int | None = None) -> Tensor:
    """Class frequencies :math:`\\pi_c = n_c / N` (float32 tensor of length C)."""
    n = _counts(y, num_classes)
    return torch.as_tensor(n / n.sum(), dtype=torch.float32)


def class_weights(
    y: Any,
    method: Literal["balanced", "effective"] = "balanced",
    *,
    beta: float = 0.999,
    num_classes: int | None = None,
) -> Tensor:
    """Per-class loss weights from integer labels ``y`` (NumPy or torch), float32, length C.

    ``'balanced'``: :math:`w_c = N / (C\\, n_c)`, the same numbers as
    ``sklearn.utils.class_weight.compute_class_weight('balanced', ...)``; every
    class then carries the same total weight.

    ``'effective'``: Cui et al. (2019), "Class-Balanced Loss Based on Effective
    Number of Samples". A class with :math:`n_c` samples is worth
    :math:`E_c = (1 - \\beta^{n_c}) / (1 - \\beta)` distinct samples;
    :math:`w_c \\propto 1 / E_c`, normalised so that :math:`\\sum_c w_c = C`.
    :math:`\\beta \\to 0` gives equal weights, :math:`\\beta \\to 1` inverse frequency.

    A class absent from ``y`` (possible with ``num_classes``) gets weight 0.
    """
    n = _counts(y, num_classes)
    C = n.size
    present = n > 0
    w = np.zeros(C)
    if method == "balanced":
        w[present] = n.sum() / (C * n[present])
    elif method == "effective":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        eff = (1.0 - np.power(beta, n[present])) / (1.0 - beta)
        w[present] = 1.0 / eff
        w *= C / w.sum()
    else:
        raise ValueError(f"method must be 'balanced' or 'effective', got {method!r}")
    return torch.as_tensor(w, dtype=torch.float32)


def _reduce(loss: Tensor, w: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    # As nn.CrossEntropyLoss: a weighted mean, divided by the total weight of the targets.
    return loss.sum() / w.sum()


class FocalLoss(nn.Module):
    r"""Focal loss (Lin et al., 2017, "Focal Loss for Dense Object Detection").

    .. math::
        \ell = -\,w_{y}\,(1 - p_{y})^{\gamma} \log p_{y}, \qquad p = \mathrm{softmax}(x)

    ``gamma = 0`` is ``nn.CrossEntropyLoss(weight)``; larger ``gamma`` shrinks the
    loss of well-classified examples so that the rare, hard ones dominate the
    gradient. ``weight`` plays the role of the paper's :math:`\alpha`.

    Args:
        weight: optional per-class weights (length C), as in ``nn.CrossEntropyLoss``.
        gamma: focusing parameter :math:`\gamma \ge 0` (the paper uses 2).
        ignore_index: targets equal to it contribute nothing.
        reduction: ``'mean'`` (weighted mean, like ``nn.CrossEntropyLoss``), ``'sum'`` or ``'none'``.

    Shape:
        - input: :math:`(N, C)` or :math:`(N, C, d_1, ..., d_K)` logits
        - target: :math:`(N)` or :math:`(N, d_1, ..., d_K)` class indices
        - output: scalar, or the target's shape with ``reduction='none'``
    """

    weight: Tensor | None  # a buffer, declared for type checkers

    def __init__(
        self,
        weight: Tensor | None = None,
        gamma: float = 2.0,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.gamma = float(gamma)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, reduction={self.reduction!r}, weighted={self.weight is not None}"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        logp = F.log_softmax(input, dim=1)
        valid = target != self.ignore_index
        t = torch.where(valid, target, torch.zeros_like(target))
        logp_t = logp.gather(1, t.unsqueeze(1)).squeeze(1)
        p_t = logp_t.exp()
        w = torch.ones_like(logp_t) if self.weight is None else self.weight.to(logp.dtype)[t]
        w = w * valid.to(logp.dtype)
        # (1 - p)^0 is 1 even where p == 1, which keeps gamma = 0 identical to cross-entropy.
        focus = (1.0 - p_t).clamp_min(0.0).pow(self.gamma) if self.gamma != 0 else torch.ones_like(p_t)
        loss = -w * focus * logp_t
        return _reduce(loss, w, self.reduction)


def logit_adjust(logits: Tensor, priors: Tensor, tau: float = 1.0) -> Tensor:
    r"""Post-hoc logit adjustment (Menon et al., 2021): :math:`x_c - \tau \log \pi_c`.

    Applied to the logits of a model trained with plain cross-entropy, the
    arg-max of the result approximates the Bayes classifier for the *balanced*
    error (every class weighted equally) instead of the plain error.
    ``priors`` are the training class frequencies (:func:`class_priors`).
    """
    return logits - tau * torch.log(priors.to(device=logits.device, dtype=logits.dtype)).view(
        *([1, -1] + [1] * (logits.ndim - 2))
    )


class LogitAdjustedLoss(nn.Module):
    r"""Logit-adjusted softmax cross-entropy (Menon et al., 2021, "Long-tail learning via logit adjustment").

    .. math::
        \ell(x, y) = -\log \frac{e^{x_y + \tau \log \pi_y}}{\sum_c e^{x_c + \tau \log \pi_c}}

    Training with the prior added makes the raw logits :math:`x` (without the
    prior) estimate the balanced-error classifier, so predict with
    ``x.argmax(1)`` as usual. ``tau = 1`` is the paper's default.

    Args:
        priors: class frequencies :math:`\pi` (length C, positive; counts are
            normalised).
        tau: temperature of the adjustment.
        weight, ignore_index, reduction: as in ``nn.CrossEntropyLoss``.

    Shape:
        - input: :math:`(N, C)` or :math:`(N, C, d_1, ..., d_K)`
        - target: :math:`(N)` or :math:`(N, d_1, ..., d_K)`
    """

    log_prior: Tensor
    weight: Tensor | None  # buffers, declared for type checkers

    def __init__(
        self,
        priors: Tensor,
        tau: float = 1.0,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        p = torch.as_tensor(priors, dtype=torch.float32)
        if p.ndim != 1 or bool((p <= 0).any()):
            raise ValueError("priors must be a 1-D tensor of positive class frequencies")
        self.register_buffer("log_prior", torch.log(p / p.sum()))
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))
        self.tau = float(tau)
        self.ignore_index = ignore_index
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"num_classes={self.log_prior.numel()}, tau={self.tau}, reduction={self.reduction!r}"

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        shift = self.log_prior.to(input.dtype).view(*([1, -1] + [1] * (input.ndim - 2)))
        return F.cross_entropy(
            input + self.tau * shift,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )
