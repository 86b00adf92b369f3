r"""Numerically stable softmax, log-softmax and log-sum-exp, written from their formulas.

For logits :math:`z \in \mathbb{R}^K` and any constant :math:`c`,

.. math::

    \operatorname{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}
                               = \frac{e^{z_i - c}}{\sum_j e^{z_j - c}}, \qquad
    \operatorname{logsumexp}(z) = c + \log \sum_j e^{z_j - c}, \qquad
    \log\operatorname{softmax}(z)_i = z_i - \operatorname{logsumexp}(z).

Choosing :math:`c = \max_j z_j` makes every exponent :math:`\le 0`, so nothing
overflows, and the largest term is exactly :math:`e^0 = 1`, so the sum never
underflows to zero (Goodfellow, Bengio & Courville 2016, §4.1; Blanchard,
Higham & Higham 2021, "Accurately computing the log-sum-exp and softmax
functions", IMA J. Numer. Anal.). Computing ``log(softmax(z))`` instead of
``z - logsumexp(z)`` loses exactly this: a probability below the smallest float
rounds to 0 and its log to ``-inf``.

These functions are the reference implementations the Q18 experiment measures;
in production ``torch.softmax`` / ``torch.log_softmax`` (same maths, fused
kernels) are the ones to call, and a loss should receive logits
(``torch.nn.CrossEntropyLoss`` applies log-softmax itself).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["logsumexp", "softmax", "log_softmax", "naive_softmax", "logit"]


def _shift(z: Tensor, dim: int) -> Tensor:
    m = z.amax(dim=dim, keepdim=True)
    # A row of all -inf (every class masked) has max -inf; shifting by it would give nan.
    # Shift by 0 there so the row stays -inf and the result is the honest nan/-inf of 0/0.
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()


def logsumexp(z: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(z), dim))`` without overflow: ``m + log(sum(exp(z - m)))`` with ``m = max(z)``.

    Shape: any; ``dim`` is reduced (kept with size 1 when ``keepdim``).
    """
    m = _shift(z, dim)
    out = m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))
    return out if keepdim else out.squeeze(dim)


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    """``exp(z - m) / sum(exp(z - m))`` with ``m = max(z)`` along ``dim``. Shape: same as ``z``."""
    e = torch.exp(z - _shift(z, dim))
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(z: Tensor, dim: int = -1) -> Tensor:
    """``z - logsumexp(z)`` along ``dim``: finite wherever ``z`` is. Shape: same as ``z``."""
    return z - logsumexp(z, dim=dim, keepdim=True)


def naive_softmax(z: Tensor, dim: int = -1) -> Tensor:
    """The textbook ``exp(z) / sum(exp(z))`` with no shift: overflows for large logits.

    Kept only to measure the failure (``exp(89)`` is ``inf`` in float32).
    """
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def logit(p: Tensor, eps: float = 0.0) -> Tensor:
    """Log-odds ``log(p / (1 - p))``, the inverse of the sigmoid; ``eps`` clamps p into [eps, 1-eps]."""
    if eps:
        p = p.clamp(eps, 1 - eps)
    return torch.log(p) - torch.log1p(-p)
