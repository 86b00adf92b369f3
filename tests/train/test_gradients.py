"""GradientMonitor findings, recorded numbers, and the clipping functions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlfaq._fast import monitor as fast_monitor
from dlfaq.data import digits
from dlfaq.train import gradients
from dlfaq.train.gradients import (
    Finding,
    GradientMonitor,
    NonFiniteGradientError,
    adaptive_clip_grad,
    clip_grad_norm,
    clip_grad_value,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    X, y, _, _ = digits(0, n_train=512).tensors()
    return X, y


def mlp(
    depth: int, act: type[nn.Module], gain: float | None = None, bn: bool = False, width: int = 32
):
    """Plain Sequential MLP (the monitor must work on any model, not only dlfaq's MLP)."""
    layers: list[nn.Module] = []
    fan_in = 64
    for _ in range(depth):
        lin = nn.Linear(fan_in, width)
        if gain is not None:
            nn.init.normal_(lin.weight, 0.0, gain / math.sqrt(fan_in))
            nn.init.zeros_(lin.bias)
        layers += [lin] + ([nn.BatchNorm1d(width)] if bn else []) + [act()]
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


def train(model, data, monitor, steps: int, lr: float, seed: int = 0) -> None:
    X, y = data
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, len(y), (64,), generator=g)
        loss = F.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        monitor.step()
        opt.step()


def kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


# --------------------------------------------------------------------------- findings


def test_flags_vanishing_in_deep_sigmoid_with_small_init(data):
    torch.manual_seed(0)
    model = mlp(20, nn.Sigmoid, gain=0.5)
    with GradientMonitor(model) as mon:
        train(model, data, mon, steps=30, lr=0.1)
    findings = mon.diagnose()
    assert kinds(findings) == {"vanishing"}
    f = findings[0]
    # the input-side layers starve, the head does not
    assert "0.weight" in f.layers and "40.weight" not in f.layers
    assert len(f.layers) >= 10
    assert f.step == 0
    assert f.value < 1e-9  # 0.25**20 * 0.5**20 is ~1e-18; anything below 1e-9 is unmistakable
    assert "Sigmoid" in f.advice and "small initial weights" in f.advice
    assert "vanishing gradients in" in str(f)


def test_flags_exploding_with_large_init_without_normalization(data):
    torch.manual_seed(0)
    model = mlp(20, nn.ReLU, gain=3.0)
    with GradientMonitor(model) as mon:
        train(model, data, mon, steps=5, lr=0.0)  # lr=0: the gradients at initialization
    findings = mon.diagnose()
    assert kinds(findings) == {"exploding"}
    f = findings[0]
    # the forward signal grows by 3/sqrt(2) per ReLU layer: (2.1)**20 ~ 3e6, so every layer is hit
    assert len(f.layers) == 21
    assert f.value > 1e3
    assert "large initial weights" in f.advice


def test_exploding_reported_even_when_training_ends_in_nan(data):
    torch.manual_seed(0)
    model = mlp(20, nn.ReLU, gain=3.0)
    with GradientMonitor(model) as mon:
        train(model, data, mon, steps=10, lr=0.01)
    found = {f.kind: f for f in mon.diagnose()}
    assert set(found) == {"nonfinite", "exploding"}
    assert found["exploding"].step == 0
    assert found["nonfinite"].step >= 1


@pytest.mark.parametrize("seed", [0, 1])
def test_quiet_on_healthy_relu_batchnorm(data, seed):
    torch.manual_seed(seed)
    model = mlp(8, nn.ReLU, bn=True)
    with GradientMonitor(model) as mon:
        train(model, data, mon, steps=60, lr=0.1, seed=seed)
    assert mon.diagnose() == []


def test_quiet_on_deep_relu_batchnorm_at_init(data):
    torch.manual_seed(0)
    model = mlp(20, nn.ReLU, bn=True)
    with GradientMonitor(model) as mon:
        train(model, data, mon, steps=3, lr=0.0)
    assert mon.diagnose() == []


def test_nonfinite_recorded_and_raised(data):
    X, y = data
    model = mlp(2, nn.ReLU)
    mon = GradientMonitor(model)
    (model(X[:8]).sum() * float("nan")).backward()
    mon.step()
    (f,) = mon.diagnose()
    assert f.kind == "nonfinite" and f.step == 0 and len(f.layers) == 3
    mon.close()

    strict = GradientMonitor(model, on_nonfinite="raise")
    model.zero_grad()
    (model(X[:8]).sum() * float("inf")).backward()
    with pytest.raises(NonFiniteGradientError) as err:
        strict.step()
    assert "0.weight" in err.value.names
    strict.close()


def test_spike_over_history_flags_exploding(data):
    X, y = data
    torch.manual_seed(0)
    model = mlp(2, nn.ReLU)
    mon = GradientMonitor(model)
    for step in range(45):
        model.zero_grad()
        # from step 30 on the loss is scaled by 1000: a gradient jump of 1000x, while the
        # relative gradient (~0.05 * 1000 = 50) stays under max_rel=100, so only the spike rule fires
        scale = 1000.0 if step >= 30 else 1.0
        (scale * F.cross_entropy(model(X[:64]), y[:64])).backward()
        mon.step()
    (f,) = mon.diagnose()
    assert f.kind == "exploding" and f.step == 30
    assert f.value < 100


# --------------------------------------------------------------------------- recorded numbers


def test_records_match_direct_computation(data):
    X, y = data
    torch.manual_seed(0)
    model = mlp(3, nn.Tanh)
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    mon = GradientMonitor(model, include="all", update_every=1)
    expected_grad, expected_w = [], []
    for i in range(3):
        loss = F.cross_entropy(model(X[i * 32 : (i + 1) * 32]), y[i * 32 : (i + 1) * 32])
        opt.zero_grad()
        loss.backward()
        mon.step()
        expected_grad.append([p.grad.norm().item() for p in model.parameters()])
        expected_w.append([p.norm().item() for p in model.parameters()])
        opt.step()
    h = mon.history()
    assert h["names"] == [n for n, _ in model.named_parameters()]
    assert h["steps"].tolist() == [0, 1, 2]
    # float32 norms recomputed by another kernel: agree to float32 rounding
    assert h["grad_norm"] == pytest.approx(torch.tensor(expected_grad).numpy(), rel=1e-5)
    assert h["weight_norm"] == pytest.approx(torch.tensor(expected_w).numpy(), rel=1e-5)
    # plain SGD: ||ΔW|| = lr ||g||, so update ratio = lr * rel_grad
    assert h["update_ratio"][:2] == pytest.approx(lr * h["rel_grad"][:2], rel=1e-4)
    assert all(math.isnan(v) for v in h["update_ratio"][2])
    mon.close()


def test_update_ratio_sampled_every_tenth_record_and_record_grows(data):
    X, y = data
    torch.manual_seed(0)
    model = mlp(2, nn.Tanh)
    lr = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    mon = GradientMonitor(model, every=2)  # default update_every=10
    weights = [p for p in model.parameters() if p.ndim >= 2]
    expected, snapshots = [], []
    # 300 records: more than the table's initial 256 rows and than the 256 records kept
    # before they move into the table; history() halfway also moves a partial batch
    for i in range(600):
        opt.zero_grad()
        F.cross_entropy(model(X[i % 8 * 32 :][:32]), y[i % 8 * 32 :][:32]).backward()
        if i % 2 == 0:
            expected.append([p.grad.norm().item() for p in weights])
            snapshots.append([p.detach().clone() for p in weights])
        mon.step()
        opt.step()
        if i == 201:
            assert mon.history()["grad_norm"].shape == (101, 3)
    h = mon.history()
    assert h["steps"].tolist() == list(range(0, 600, 2))
    # float32 norms recomputed by another kernel: agree to float32 rounding
    assert h["grad_norm"] == pytest.approx(torch.tensor(expected).numpy(), rel=1e-5)
    measured = np.isfinite(h["update_ratio"]).all(axis=1)
    assert np.flatnonzero(measured).tolist() == list(range(0, 300, 10))
    assert np.isnan(h["update_ratio"][~measured]).all()
    # the change over the two SGD steps between record r and r + 1, relative to W at record r;
    # rel=1e-4: a difference of float32 weights ~1e-3 of their size keeps ~4 significant digits
    for r in np.flatnonzero(measured):
        direct = [
            ((b - a).norm() / a.norm()).item()
            for a, b in zip(snapshots[r], snapshots[r + 1], strict=True)
        ]
        assert h["update_ratio"][r] == pytest.approx(direct, rel=1e-4)
    mon.close()


@pytest.mark.parametrize("measure", [False, True])
@pytest.mark.parametrize("dtypes", [(torch.float32,), (torch.float64,), (torch.float16, torch.float32)])
def test_fast_record_equals_the_reference(measure, dtypes):
    """The engine's multi-tensor record against the tensor-by-tensor reference, on random shapes
    (0-d stand-ins for unseen gradients included): same norms, same snapshot left behind."""
    if not fast_monitor.available():
        pytest.skip("this torch lacks the _foreach kernels; the monitor runs the reference")
    g = torch.Generator().manual_seed(len(dtypes) + measure)
    shapes = [(5, 3), (7,), (2, 3, 4), (), (1,), (16, 9)]
    params = [torch.randn(s, generator=g).to(dtypes[i % len(dtypes)]) for i, s in enumerate(shapes)]
    grads = [torch.randn(s, generator=g).to(p.dtype) for s, p in zip(shapes, params, strict=True)]
    grads[3] = params[3].new_zeros(())
    prev = [p + 0.01 * torch.randn(p.shape, generator=g).to(p.dtype) for p in params]
    dtype = torch.float32 if len(dtypes) > 1 else None
    prev_fast, prev_ref = [t.clone() for t in prev], [t.clone() for t in prev]
    with torch.no_grad():
        fast = fast_monitor.record(grads, params, prev_fast, measure=measure, snapshot=True, dtype=dtype)
        ref = gradients._record(grads, params, prev_ref, measure=measure, snapshot=True, dtype=dtype)
    assert fast is not None and fast.shape == ref.shape == ((3 if measure else 2) * len(shapes),)
    # the same sums of squares in another order: float32 rounding of values near 1 (float64: 1e-12)
    tol = 1e-12 if dtypes == (torch.float64,) else 1e-6
    torch.testing.assert_close(fast, ref, rtol=tol, atol=tol)
    for a, b, p in zip(prev_fast, prev_ref, params, strict=True):
        assert torch.equal(a, p) and torch.equal(b, p)  # both leave the snapshot of the weights


def test_monitor_records_the_same_with_and_without_the_engine(data, monkeypatch):
    X, y = data

    def run():
        torch.manual_seed(0)
        model = mlp(3, nn.Tanh)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        mon = GradientMonitor(model, include="all", update_every=2)
        for i in range(6):
            opt.zero_grad()
            F.cross_entropy(model(X[i * 32 : (i + 1) * 32]), y[i * 32 : (i + 1) * 32]).backward()
            mon.step()
            opt.step()
        return mon.history()

    with_engine = run()
    monkeypatch.setattr(fast_monitor, "_OK", False)
    assert fast_monitor.record([], [], None, measure=False, snapshot=False, dtype=None) is None
    reference = run()
    for key in ("grad_norm", "weight_norm", "update_ratio"):
        # float32 norms by another kernel; the weights themselves are identical (the monitor
        # does not touch them), so only the norms' rounding differs
        np.testing.assert_allclose(with_engine[key], reference[key], rtol=1e-5)
    assert np.isfinite(reference["update_ratio"][[0, 2]]).all()


def test_summary_reads_the_first_and_last_records(data):
    X, y = data
    torch.manual_seed(0)
    model = mlp(2, nn.Tanh)
    mon = GradientMonitor(model)
    assert all(math.isnan(r["grad_norm_last"]) for r in mon.summary())  # nothing recorded yet
    for i in range(3):
        model.zero_grad()
        F.cross_entropy(model(X[i * 16 : (i + 1) * 16]), y[i * 16 : (i + 1) * 16]).backward()
        mon.step()
    h, rows = mon.history(), mon.summary()
    assert [r["layer"] for r in rows] == h["names"]
    for j, r in enumerate(rows):
        assert r["grad_norm_first"] == h["grad_norm"][0, j] and r["grad_norm_last"] == h["grad_norm"][2, j]
        assert r["rel_grad_last"] == h["rel_grad"][2, j] and r["weight_norm_last"] == h["weight_norm"][2, j]
    assert rows[0]["grad_norm_first"] != rows[0]["grad_norm_last"]


def test_the_public_module_uses_no_private_torch_api():
    import inspect
    import re

    source = inspect.getsource(gradients)
    assert not re.findall(r"torch\._\w+|\._VF|ops\.mkldnn", source)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_norms_of_low_and_high_precision_parameters(dtype):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(dtype)
    mon = GradientMonitor(model)
    # a gradient norm of ~1e5: above float16's largest value (65504), so a float16 norm
    # would read inf; the record is float32 for half types and float64 for float64 models
    (1e4 * model(torch.randn(5, 4, dtype=dtype)).sum()).backward()
    mon.step()
    direct = [p.grad.double().norm().item() for p in model.parameters() if p.ndim >= 2]
    assert max(direct) > 65504
    # float32 accumulation of half-precision values: float32 rounding (1e-5)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert mon.history()["grad_norm"][0] == pytest.approx(direct, rel=tol)


def test_gradient_accumulation_records_the_accumulated_gradient(data):
    X, y = data
    model = mlp(2, nn.ReLU)
    mon = GradientMonitor(model)
    for i in range(2):
        F.cross_entropy(model(X[i * 16 : (i + 1) * 16]), y[i * 16 : (i + 1) * 16]).backward()
    mon.step()
    assert mon.history()["grad_norm"][0, 0] == pytest.approx(
        model[0].weight.grad.norm().item(), rel=1e-5
    )


def test_every_and_close(data):
    X, y = data
    model = mlp(2, nn.ReLU)
    mon = GradientMonitor(model, every=3)
    for _ in range(7):
        model.zero_grad()
        F.cross_entropy(model(X[:16]), y[:16]).backward()
        mon.step()
    assert mon.history()["steps"].tolist() == [0, 3, 6]
    mon.close()
    assert "closed" in repr(mon)
    model.zero_grad()
    F.cross_entropy(model(X[:16]), y[:16]).backward()
    assert not any(mon._seen)  # the hooks are gone
    for _ in range(3):  # would include record 9 if the monitor were still recording
        model.zero_grad()
        F.cross_entropy(model(X[:16]), y[:16]).backward()
        mon.step()
    assert mon.num_records == 3
    assert mon.history()["steps"].tolist() == [0, 3, 6]


def test_unused_parameter_records_zero(data):
    X, _ = data

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(64, 4)
            self.unused = nn.Linear(64, 4)

        def forward(self, x):
            return self.used(x)

    model = Two()
    mon = GradientMonitor(model)
    model(X[:4]).sum().backward()
    mon.step()
    h = mon.history()
    assert h["grad_norm"][0, 1] == 0.0 and h["grad_norm"][0, 0] > 0


def test_stale_gradient_of_a_parameter_this_backward_missed_records_zero(data):
    X, _ = data
    a, b = nn.Linear(64, 4), nn.Linear(64, 4)
    model = nn.ModuleDict({"a": a, "b": b})
    mon = GradientMonitor(model)
    (a(X[:4]).sum() + b(X[:4]).sum()).backward()
    mon.step()
    a(X[:4]).sum().backward()  # no zero_grad: b.weight.grad still holds the first step's
    mon.step()
    h = mon.history()
    assert h["grad_norm"][0, 1] > 0 and h["grad_norm"][1, 1] == 0.0
    assert h["grad_norm"][1, 0] == pytest.approx(a.weight.grad.norm().item(), rel=1e-5)


def test_plot_returns_figure(data):
    from matplotlib.figure import Figure

    model = mlp(4, nn.ReLU)
    with GradientMonitor(model) as mon:
        train(model, data, mon, steps=4, lr=0.1)
    fig = mon.plot(title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert len(fig.axes[1].lines) >= 5  # one line per layer (+ threshold lines)


def test_bad_arguments():
    with pytest.raises(ValueError):
        GradientMonitor(nn.Linear(2, 2), every=0)
    with pytest.raises(ValueError):
        GradientMonitor(nn.Linear(2, 2), include="bogus")
    with pytest.raises(ValueError):
        GradientMonitor(nn.BatchNorm1d(3))  # no 2-d parameter to track


# --------------------------------------------------------------------------- clipping


def _model_with_grads(seed: int, scale: float = 1.0) -> nn.Module:
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    (m(torch.randn(4, 5)).pow(2).sum() * scale).backward()
    return m


def _clone(m: nn.Module) -> nn.Module:
    import copy

    c = copy.deepcopy(m)
    for p, q in zip(m.parameters(), c.parameters(), strict=True):
        q.grad = p.grad.clone()
    return c


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    max_norm=st.floats(1e-3, 10.0),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, float("inf")]),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
)
def test_clip_grad_norm_equals_torch(seed, max_norm, norm_type, scale):
    a = _model_with_grads(seed, scale)
    b = _clone(a)
    ours = clip_grad_norm(a.parameters(), max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(b.parameters(), max_norm, norm_type)
    assert torch.equal(ours, ref)  # same torch kernels: bit-identical
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)


def test_clip_grad_norm_caps_norm_and_keeps_direction():
    a = _model_with_grads(0, 100.0)
    before = torch.cat([p.grad.flatten() for p in a.parameters()])
    total = clip_grad_norm(a.parameters(), 1.0)
    after = torch.cat([p.grad.flatten() for p in a.parameters()])
    assert total.item() == pytest.approx(before.norm().item(), rel=1e-6)
    assert after.norm().item() == pytest.approx(1.0, rel=1e-5)  # eps=1e-6 in the denominator
    assert F.cosine_similarity(before, after, dim=0).item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    "fn,arg", [(clip_grad_norm, 1.0), (clip_grad_value, 0.5), (adaptive_clip_grad, 0.01)]
)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_clipping_raises_on_nonfinite_and_leaves_grads(fn, arg, bad):
    m = _model_with_grads(0)
    m[2].weight.grad[0, 0] = bad
    saved = [p.grad.clone() for p in m.parameters()]
    with pytest.raises(NonFiniteGradientError) as err:
        fn(m.named_parameters(), arg)
    assert err.value.names == ["2.weight"]
    assert "2.weight" in str(err.value)
    for p, s in zip(m.parameters(), saved, strict=True):
        assert torch.equal(p.grad, s) or (torch.isnan(p.grad) == torch.isnan(s)).all()


def test_clipping_zero_and_warn_modes():
    m = _model_with_grads(0)
    m[0].bias.grad[1] = float("inf")
    with pytest.warns(RuntimeWarning, match="set to zero"):
        total = clip_grad_norm(m.parameters(), 1.0, on_nonfinite="zero")
    assert math.isinf(total.item())
    assert all((p.grad == 0).all() for p in m.parameters())

    m = _model_with_grads(0)
    m[0].bias.grad[1] = float("nan")
    finite_before = m[2].weight.grad.clone()
    with pytest.warns(RuntimeWarning, match="left unchanged") as caught:
        clip_grad_norm(m.parameters(), 1e-3, on_nonfinite="warn")
    assert caught[0].filename == __file__  # the warning points at the caller's line
    # torch's clip_grad_norm_ would have multiplied this by max_norm/nan -> NaN
    assert torch.equal(m[2].weight.grad, finite_before)
    with pytest.raises(ValueError):
        clip_grad_norm(m.parameters(), 1.0, on_nonfinite="ignore")


def test_torch_clip_grad_value_silently_turns_inf_into_the_clip_value():
    # the behaviour our clip_grad_value refuses (documented in its docstring)
    m = _model_with_grads(0)
    m[0].bias.grad[1] = float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.nn.utils.clip_grad_value_(m.parameters(), 0.5)
    assert m[0].bias.grad[1].item() == 0.5


def test_torch_clip_grad_norm_spreads_nan_to_every_gradient():
    # the behaviour our clip_grad_norm refuses by default (documented in its docstring)
    m = _model_with_grads(0)
    m[0].bias.grad[1] = float("nan")
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    assert all(torch.isnan(p.grad).all() for p in m.parameters())


def test_clip_grad_value_equals_torch_on_finite():
    a = _model_with_grads(3, 10.0)
    b = _clone(a)
    largest = clip_grad_value(a.parameters(), 0.2)
    torch.nn.utils.clip_grad_value_(b.parameters(), 0.2)
    assert largest.item() == pytest.approx(
        max(p.grad.abs().max().item() for p in _model_with_grads(3, 10.0).parameters())
    )
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)
        assert p.grad.abs().max() <= 0.2


def _agc_reference(w: torch.Tensor, g: torch.Tensor, lam: float, eps: float) -> torch.Tensor:
    """Brock et al. (2021), eq. in Sec. 4.1, one unit (output row/channel) at a time, float64."""
    w, g = w.double(), g.double()
    if w.ndim <= 1:
        units_w, units_g = [w.flatten()], [g.flatten()]
    else:
        units_w = [w[i].flatten() for i in range(w.shape[0])]
        units_g = [g[i].flatten() for i in range(g.shape[0])]
    out = []
    for uw, ug in zip(units_w, units_g, strict=True):
        wn = max(uw.norm().item(), eps)
        gn = ug.norm().item()
        out.append(ug * (lam * wn / gn) if gn / wn > lam else ug)
    return torch.stack(out).reshape(g.shape) if w.ndim > 1 else out[0].reshape(g.shape)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), lam=st.floats(1e-3, 1.0), zero_row=st.booleans())
def test_adaptive_clip_grad_matches_formula(seed, lam, zero_row):
    torch.manual_seed(seed)
    conv = nn.Conv2d(3, 4, 3)
    lin = nn.Linear(6, 5)
    if zero_row:
        with torch.no_grad():
            lin.weight[2].zero_()  # eps keeps this unit trainable
    conv(torch.randn(2, 3, 5, 5)).pow(2).sum().backward()
    (lin(torch.randn(3, 6)) * 10).sum().backward()
    params = [conv.weight, conv.bias, lin.weight, lin.bias]
    expected = [_agc_reference(p.detach(), p.grad, lam, 1e-3) for p in params]

    def n_over(p):  # units whose ratio ‖G_i‖ / max(‖W_i‖, eps) exceeds lambda
        w, g = p.detach().double(), p.grad.double()
        if p.ndim <= 1:
            return int(g.norm() / max(w.norm().item(), 1e-3) > lam)
        return int(
            (g.flatten(1).norm(dim=1) / w.flatten(1).norm(dim=1).clamp_min(1e-3) > lam).sum()
        )

    n_units = sum(n_over(p) for p in params)
    count = adaptive_clip_grad(params, clipping=lam, eps=1e-3)
    for p, e in zip(params, expected, strict=True):
        # float32 result against a float64 reference
        assert torch.allclose(p.grad.double(), e, rtol=1e-5, atol=1e-7)
    assert int(count) == n_units


def test_adaptive_clip_grad_bounds_unit_ratio():
    torch.manual_seed(0)
    lin = nn.Linear(8, 6)
    (lin(torch.randn(4, 8)) * 1e3).sum().backward()
    adaptive_clip_grad([lin.weight], clipping=0.02)
    ratio = lin.weight.grad.norm(dim=1) / lin.weight.detach().norm(dim=1).clamp_min(1e-3)
    assert (ratio <= 0.02 * (1 + 1e-5)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_monitor_and_clipping_on_cuda():
    torch.manual_seed(0)
    model = mlp(6, nn.ReLU, bn=True).cuda()
    X, y, _, _ = digits(0, n_train=256).tensors("cuda")
    with GradientMonitor(model) as mon:
        train(model, (X, y), mon, steps=10, lr=0.1)
    assert mon.diagnose() == []
    assert mon.history()["grad_norm"].shape == (10, 7)
    model.zero_grad()
    F.cross_entropy(model(X), y).backward()
    total = clip_grad_norm(model.parameters(), 0.1)
    assert total.device.type == "cuda"
    model[0].weight.grad[0, 0] = float("nan")
    with pytest.raises(NonFiniteGradientError):
        clip_grad_norm(model.named_parameters(), 0.1)


@pytest.mark.slow
def test_monitor_with_torch_compile(data):
    X, y = data
    torch.manual_seed(0)
    model = mlp(3, nn.ReLU)
    compiled = torch.compile(model)
    with GradientMonitor(model) as mon:
        for _ in range(2):
            model.zero_grad()
            F.cross_entropy(compiled(X[:32]), y[:32]).backward()
            mon.step()
    expected = [p.grad.norm().item() for p in model.parameters() if p.ndim >= 2]
    assert mon.history()["grad_norm"][-1] == pytest.approx(expected, rel=1e-5)
