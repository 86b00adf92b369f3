"""Knowledge distillation (Hinton, Vinyals & Dean 2015).

A small *student* network learns from the softened output distribution of a
large *teacher* as well as from the labels. With temperature :math:`T`,

.. math::
    p^{(T)} = \\operatorname{softmax}(z_t / T), \\qquad
    q^{(T)} = \\operatorname{softmax}(z_s / T)

and the training loss is

.. math::
    \\mathcal{L} = \\alpha\\, T^2\\, \\mathrm{KL}\\big(p^{(T)} \\,\\|\\, q^{(T)}\\big)
        + (1 - \\alpha)\\, \\mathrm{CE}\\big(\\operatorname{softmax}(z_s), y\\big)

where the KL divergence is summed over classes and averaged over the batch.

Why :math:`T^2`: the gradient of the soft term with respect to a student logit
is :math:`(q^{(T)}_i - p^{(T)}_i)/T`, and for large :math:`T` (zero-mean
logits, :math:`C` classes) this is about :math:`(z_{s,i} - z_{t,i})/(C T^2)`.
Multiplying by :math:`T^2` keeps the soft term's share of the gradient roughly
constant when the temperature changes, so ``alpha`` means the same thing at
every temperature (Hinton et al. 2015, section 2). Without the factor, raising
:math:`T` silently turns the soft term off.

Two bugs are common in code found in the wild, and this module avoids both:
the KL term is reduced with ``reduction="mean"`` (dividing by batch × classes
instead of the batch size, which is not the KL divergence), and the
:math:`T^2` factor is missing. The FAQ page's recipe has the second one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlfaq.train.loop import History, fit

__all__ = ["DistillationLoss", "distill", "soft_targets", "kd_kl"]


def soft_targets(logits: Tensor, temperature: float = 1.0) -> Tensor:
    """The softened distribution :math:`\\operatorname{softmax}(z / T)` over the last dimension."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return torch.softmax(logits / temperature, dim=-1)


def kd_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """:math:`\\mathrm{KL}(p^{(T)} \\| q^{(T)})`, summed over classes and averaged over the batch.

    Computed from log-probabilities on both sides, so a teacher that is very
    sure of itself (probabilities that underflow to zero) does not produce NaN.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} differ in shape"
        )
    log_q = F.log_softmax(student_logits / temperature, dim=-1)
    log_p = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    # "batchmean" is the mathematical KL per example; "mean" would also divide by C.
    return F.kl_div(
        log_q.reshape(-1, log_q.shape[-1]),
        log_p.reshape(-1, log_p.shape[-1]),
        reduction="batchmean",
        log_target=True,
    )


class DistillationLoss(nn.Module):
    r"""Hinton et al. (2015) distillation loss.

    .. math::
        \mathcal{L} = \alpha\, T^2\, \mathrm{KL}\big(\operatorname{softmax}(z_t/T) \,\|\,
            \operatorname{softmax}(z_s/T)\big) + (1-\alpha)\,\mathrm{CE}(z_s, y)

    The KL term is summed over classes and averaged over the batch; the hard
    term is the usual cross-entropy at temperature 1.

    Args:
        temperature: :math:`T > 0`; larger values soften the teacher's distribution.
        alpha: weight of the soft term in :math:`[0, 1]`; ``alpha=1`` ignores the labels.
        t_squared: multiply the soft term by :math:`T^2` (keep True; False reproduces
            the common bug, for experiments).

    Shape:
        - student_logits, teacher_logits: :math:`(B, C)`.
        - target: :math:`(B,)` class indices; may be None when ``alpha == 1``.
        - output: scalar.
    """

    def __init__(
        self, temperature: float = 4.0, alpha: float = 0.9, t_squared: bool = True
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.t_squared = bool(t_squared)

    @property
    def soft_weight(self) -> float:
        """The factor in front of the KL term: :math:`\\alpha T^2` (or :math:`\\alpha`)."""
        return self.alpha * (self.temperature**2 if self.t_squared else 1.0)

    def forward(
        self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor | None = None
    ) -> Tensor:
        loss = self.soft_weight * kd_kl(student_logits, teacher_logits, self.temperature)
        if self.alpha < 1.0:
            if target is None:
                raise ValueError("target is required when alpha < 1")
            loss = loss + (1.0 - self.alpha) * F.cross_entropy(student_logits, target)
        return loss

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}, t_squared={self.t_squared}"


class _WithTeacher(nn.Module):
    """Runs the student and hands the teacher's logits for the same batch to the loss.

    The training loop only gives ``(output, target)`` to the loss, so the
    teacher's logits for the current batch are kept in ``last_teacher``. With
    ``n_features`` set, the input is ``[x.flatten(1), teacher_logits]`` (logits
    computed once, up front) and the module splits it; otherwise the teacher
    runs on every batch. The teacher is held outside the module tree so its
    parameters never reach the optimizer and ``train()`` never switches its
    dropout or batch norm back on.
    """

    def __init__(
        self,
        student: nn.Module,
        teacher: Callable[[Tensor], Tensor] | None,
        input_shape: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.student = student
        self._teacher = (teacher,)
        self.input_shape = input_shape
        self.last_teacher: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.input_shape is not None:
            d = math.prod(self.input_shape)
            self.last_teacher = x[:, d:]
            x = x[:, :d].reshape(-1, *self.input_shape)
        else:
            teacher = self._teacher[0]
            assert teacher is not None
            with torch.no_grad():
                self.last_teacher = teacher(x)
        return self.student(x)


@torch.no_grad()
def _logits(teacher: Callable[[Tensor], Tensor], X: Tensor, batch_size: int = 1024) -> Tensor:
    return torch.cat([teacher(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def distill(
    teacher: Callable[[Tensor], Tensor] | Tensor,
    student: nn.Module,
    data: tuple[Tensor, Tensor],
    *,
    temperature: float = 4.0,
    alpha: float = 0.9,
    t_squared: bool = True,
    loss: Callable[[Tensor, Tensor, Tensor], Tensor] | None = None,
    cache_teacher: bool = True,
    device: str | torch.device = "cpu",
    **fit_kwargs: Any,
) -> History:
    """Train ``student`` on ``data = (X, y)`` to match ``teacher`` with :class:`DistillationLoss`.

    Built on :func:`dlfaq.train.loop.fit`: every keyword that ``fit`` takes
    (``epochs``, ``lr``, ``optimizer``, ``batch_size``, ``val``, ``seed``,
    ``early_stopping``, ...) is passed through. ``val`` losses are distillation
    losses too; ``val_acc`` is the student's accuracy.

    Args:
        teacher: a trained model (or any callable) mapping a batch to logits, put
            in eval mode and run without gradients; or a tensor of precomputed
            teacher logits, one row per training example (then ``val`` is not allowed).
        student: the model to train; it is trained in place.
        data: training inputs and class labels.
        temperature, alpha, t_squared: see :class:`DistillationLoss`.
        loss: a replacement ``loss(student_logits, teacher_logits, target)``
            (for example to reproduce another recipe); overrides the three above.
        cache_teacher: for floating-point inputs, compute the teacher's logits
            once instead of on every batch. A frozen teacher in eval mode gives
            the same logits every epoch, so this changes nothing but the run
            time (one teacher forward pass per example instead of per example
            and epoch). Set False for a teacher that is random at inference.

    Returns:
        The :class:`~dlfaq.train.loop.History` of the student's training.
    """
    if "loss_fn" in fit_kwargs:
        raise TypeError("distill() builds loss_fn itself; pass loss=... instead")
    crit = loss if loss is not None else DistillationLoss(temperature, alpha, t_squared)
    X, y = data
    val = fit_kwargs.pop("val", None)
    if isinstance(teacher, Tensor):
        if val is not None:
            raise ValueError("val needs a teacher model, not precomputed logits")
        if len(teacher) != len(X):
            raise ValueError(f"{len(teacher)} teacher logits for {len(X)} training examples")
        logits_of: Callable[[Tensor], Tensor] | None = None
        precomputed: Tensor | None = teacher.detach()
    else:
        if isinstance(teacher, nn.Module):
            teacher.to(device)
            teacher.eval()
        logits_of = teacher
        precomputed = None
    if precomputed is not None or (cache_teacher and torch.is_floating_point(X)):
        if not torch.is_floating_point(X):
            raise TypeError("precomputed teacher logits need floating-point inputs")
        shape = tuple(X.shape[1:])

        def pack(Xs: Tensor, t: Tensor) -> Tensor:
            return torch.cat([Xs.reshape(len(Xs), -1), t.to(Xs.device, Xs.dtype)], dim=1)

        if precomputed is None:
            assert logits_of is not None
            precomputed = _logits(logits_of, X.to(device)).to(X.device)
        train_in = pack(X, precomputed)
        if val is not None:
            assert logits_of is not None
            val = (pack(val[0], _logits(logits_of, val[0].to(device)).to(val[0].device)), val[1])
        wrapped = _WithTeacher(student, None, shape)
    else:
        train_in = X
        wrapped = _WithTeacher(student, logits_of)

    def loss_fn(out: Tensor, target: Tensor) -> Tensor:
        if wrapped.last_teacher is None:
            raise RuntimeError("teacher logits missing for this batch")
        return crit(out, wrapped.last_teacher, target)

    try:
        return fit(wrapped, (train_in, y), val=val, loss_fn=loss_fn, device=device, **fit_kwargs)
    finally:
        wrapped.last_teacher = None
