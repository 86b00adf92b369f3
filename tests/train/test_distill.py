"""Tests for dlfaq.train.distillation: the loss formula, its reduction, the T² factor and distill()."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfaq.train.distillation import DistillationLoss, distill, kd_kl, soft_targets


def reference_loss(
    zs: torch.Tensor, zt: torch.Tensor, y: torch.Tensor, T: float, alpha: float
) -> float:
    """Hinton et al. (2015) loss written out in float64 NumPy, one example at a time."""
    zs, zt = zs.double().numpy(), zt.double().numpy()
    total_kl = 0.0
    total_ce = 0.0
    for i in range(len(zs)):
        p = np.exp(zt[i] / T - np.max(zt[i] / T))
        p /= p.sum()
        q = np.exp(zs[i] / T - np.max(zs[i] / T))
        q /= q.sum()
        total_kl += float(np.sum(p * (np.log(p) - np.log(q))))
        q1 = np.exp(zs[i] - zs[i].max())
        q1 /= q1.sum()
        total_ce += -math.log(q1[int(y[i])])
    n = len(zs)
    return alpha * T * T * total_kl / n + (1 - alpha) * total_ce / n


@settings(max_examples=30, deadline=None)
@given(
    b=st.integers(1, 6),
    c=st.integers(2, 7),
    T=st.floats(0.5, 25.0),
    alpha=st.floats(0.0, 1.0),
    scale=st.floats(0.1, 10.0),
    seed=st.integers(0, 10_000),
)
def test_loss_equals_formula(
    b: int, c: int, T: float, alpha: float, scale: float, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    zs = torch.randn(b, c, generator=g, dtype=torch.float64) * scale
    zt = torch.randn(b, c, generator=g, dtype=torch.float64) * scale
    y = torch.randint(0, c, (b,), generator=g)
    got = float(DistillationLoss(T, alpha)(zs, zt, y))
    # float64 throughout; 1e-9 relative covers summation-order differences
    assert got == pytest.approx(reference_loss(zs, zt, y, T, alpha), rel=1e-9, abs=1e-12)


def test_kl_is_batch_mean_not_element_mean() -> None:
    torch.manual_seed(0)
    zs, zt = torch.randn(8, 10), torch.randn(8, 10)
    p, log_q = soft_targets(zt, 3.0), F.log_softmax(zs / 3.0, -1)
    per_example = (p * (p.log() - log_q)).sum(-1)
    torch.testing.assert_close(kd_kl(zs, zt, 3.0), per_example.mean())
    # the common bug divides by B*C: here 10 times smaller, which the module must not do
    element_mean = (p * (p.log() - log_q)).mean()  # what reduction="mean" computes
    assert float(kd_kl(zs, zt, 3.0)) == pytest.approx(10 * float(element_mean), rel=1e-5)
    # doubling the batch with copies leaves the KL unchanged (it is per example)
    torch.testing.assert_close(
        kd_kl(torch.cat([zs, zs]), torch.cat([zt, zt]), 3.0), kd_kl(zs, zt, 3.0)
    )


def test_kl_is_zero_for_equal_logits_and_finite_for_confident_teacher() -> None:
    z = torch.randn(4, 5)
    assert float(kd_kl(z, z, 2.0)) == pytest.approx(0.0, abs=1e-6)
    zt = torch.tensor([[1000.0, 0.0, -1000.0]])  # probabilities underflow to exactly 0
    val = kd_kl(torch.zeros(1, 3), zt, 1.0)
    assert torch.isfinite(val)


def soft_grad_norm(T: float, t_squared: bool, seed: int = 0) -> float:
    g = torch.Generator().manual_seed(seed)
    zs = torch.randn(256, 10, generator=g).requires_grad_(True)
    zt = torch.randn(256, 10, generator=g) * 2
    DistillationLoss(T, alpha=1.0, t_squared=t_squared)(zs, zt).backward()
    return float(zs.grad.norm())


def test_t_squared_keeps_soft_gradient_flat() -> None:
    temps = [2.0, 5.0, 10.0, 20.0, 40.0]
    with_sq = np.array([soft_grad_norm(T, True) for T in temps])
    without = np.array([soft_grad_norm(T, False) for T in temps])
    # With T², the gradient tends to ||z_s - z_t||/C (the logit-matching limit): from T=10 on
    # it changes by under 5%, and stays within a factor 2 over the whole range.
    assert with_sq[2:].max() / with_sq[2:].min() < 1.05
    assert with_sq.max() / with_sq.min() < 2.0
    # Without T², it falls like 1/T²: doubling T from 10 to 20 and 20 to 40 divides it by 4
    # (±5%, the residual curvature of the softmax at these temperatures).
    assert without[2] / without[3] == pytest.approx(4.0, rel=0.05)
    assert without[3] / without[4] == pytest.approx(4.0, rel=0.05)
    # and the two differ by exactly T² at every temperature
    np.testing.assert_allclose(with_sq / without, np.square(temps), rtol=1e-5)


def test_alpha_and_argument_checks() -> None:
    zs, zt, y = torch.randn(3, 4), torch.randn(3, 4), torch.tensor([0, 1, 2])
    hard = DistillationLoss(4.0, alpha=0.0)(zs, zt, y)
    torch.testing.assert_close(hard, F.cross_entropy(zs, y))
    soft = DistillationLoss(4.0, alpha=1.0)(zs, zt)
    torch.testing.assert_close(soft, 16.0 * kd_kl(zs, zt, 4.0))
    assert DistillationLoss(4.0, 0.5, t_squared=False).soft_weight == 0.5
    with pytest.raises(ValueError):
        DistillationLoss(0.0)
    with pytest.raises(ValueError):
        DistillationLoss(2.0, alpha=1.5)
    with pytest.raises(ValueError):
        DistillationLoss(2.0, alpha=0.5)(zs, zt)  # labels needed
    with pytest.raises(ValueError):
        kd_kl(zs, torch.randn(3, 5))
    assert "temperature=4.0" in repr(DistillationLoss(4.0))


def test_teacher_gets_no_gradient() -> None:
    zs = torch.randn(3, 4, requires_grad=True)
    zt = torch.randn(3, 4, requires_grad=True)
    DistillationLoss(2.0, 0.7)(zs, zt, torch.tensor([0, 1, 2])).backward()
    assert zt.grad is None and zs.grad is not None


def _toy_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    return X, y


def test_distill_student_imitates_teacher() -> None:
    X, y = _toy_data()
    torch.manual_seed(0)
    teacher = torch.nn.Sequential(torch.nn.Linear(6, 3))
    student = torch.nn.Linear(6, 3)
    t_before = [p.detach().clone() for p in teacher.parameters()]
    hist = distill(
        teacher,
        student,
        (X, y),
        temperature=2.0,
        alpha=1.0,
        epochs=150,
        lr=0.05,
        optimizer="adam",
        batch_size=None,
    )
    assert len(hist.epochs) == 150
    # a linear student can represent a linear teacher exactly: with soft targets only it must
    # end up agreeing with the teacher on (nearly) every example, whatever the labels say
    with torch.no_grad():
        agree = (student(X).argmax(1) == teacher(X).argmax(1)).float().mean()
    assert agree > 0.97
    # the teacher is untouched
    for a, b in zip(t_before, teacher.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert not teacher.training


def test_distill_cached_equals_on_the_fly_and_precomputed() -> None:
    X, y = _toy_data(128)
    torch.manual_seed(1)
    teacher = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3)
    )
    teacher.eval()
    results = []
    for mode in ("cached", "on-the-fly", "precomputed"):
        torch.manual_seed(2)
        student = torch.nn.Linear(6, 3)
        kw = dict(temperature=3.0, alpha=0.6, epochs=5, lr=0.1, batch_size=32, seed=0)
        if mode == "precomputed":
            with torch.no_grad():
                logits = teacher(X)
            h = distill(logits, student, (X, y), **kw)
        elif mode == "cached":
            h = distill(teacher, student, (X, y), **kw)
        else:
            h = distill(teacher, student, (X, y), cache_teacher=False, **kw)
        results.append((student.weight.detach().clone(), h.steps))
    # the same batches, the same teacher logits: identical training up to float rounding
    for w, steps in results[1:]:
        torch.testing.assert_close(w, results[0][0], atol=1e-6, rtol=1e-5)
        np.testing.assert_allclose(steps, results[0][1], rtol=1e-5)


def test_distill_with_val_and_image_inputs() -> None:
    torch.manual_seed(3)
    X = torch.randn(64, 1, 4, 4)
    y = torch.randint(0, 3, (64,))
    teacher = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    student = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    hist = distill(teacher, student, (X, y), val=(X[:16], y[:16]), epochs=2, lr=0.1)
    assert "val_acc" in hist.epochs[-1] and 0.0 <= hist.epochs[-1]["val_acc"] <= 1.0
    with pytest.raises(TypeError):
        distill(teacher, student, (X, y), loss_fn=F.cross_entropy)
    with pytest.raises(ValueError):
        distill(torch.randn(10, 3), student, (X, y))


def test_distill_integer_inputs_run_teacher_per_batch() -> None:
    torch.manual_seed(4)
    X = torch.randint(0, 20, (64, 5))
    y = torch.randint(0, 2, (64,))

    def make() -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Embedding(20, 4), torch.nn.Flatten(), torch.nn.Linear(20, 2)
        )

    teacher, student = make(), make()
    hist = distill(teacher, student, (X, y), epochs=2, lr=0.1)
    assert len(hist.steps) == 2 * 1 and all(math.isfinite(s) for s in hist.steps)
