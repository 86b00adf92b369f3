"""dlfaq.shapes against PyTorch itself: every random configuration must give the
same output shape as running the real layer, and ValueError exactly where torch
raises."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from dlfaq.shapes import LayerInfo, conv_transpose_out, output_shape, parse_shape, pool_out, trace

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONVT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXP = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGP = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
ADAPT = {
    (1, "avg"): nn.AdaptiveAvgPool1d,
    (2, "avg"): nn.AdaptiveAvgPool2d,
    (3, "avg"): nn.AdaptiveAvgPool3d,
    (1, "max"): nn.AdaptiveMaxPool1d,
    (2, "max"): nn.AdaptiveMaxPool2d,
    (3, "max"): nn.AdaptiveMaxPool3d,
}

# Thousands of configurations in total across the families; sizes stay tiny so
# each real forward pass costs well under a millisecond.
SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def per_dim(draw, nd, lo, hi):
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return tuple(draw(st.integers(lo, hi)) for _ in range(nd))


@st.composite
def input_for(draw, nd, channels):
    hi = 6 if nd == 3 else 12
    spatial = [draw(st.integers(1, hi)) for _ in range(nd)]
    batched = draw(st.booleans())
    return ([draw(st.integers(1, 2))] if batched else []) + [channels] + spatial


def compare(layer: nn.Module, shape: list[int]) -> None:
    try:
        with torch.no_grad():
            expected = tuple(layer(torch.zeros(shape)).shape)
        torch_error = None
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        expected, torch_error = None, exc
    if torch_error is not None:
        with pytest.raises(ValueError):
            got = output_shape(layer, shape)
            print("torch raised", torch_error, "but output_shape gave", got)
    else:
        assert output_shape(layer, shape) == expected, (layer, shape)


@st.composite
def conv_case(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = per_dim(draw, nd, 1, 5)
    padding = draw(
        st.one_of(st.just("same"), st.just("valid"), st.integers(0, 3), st.tuples(*[st.integers(0, 3)] * nd))
    )
    stride = 1 if padding == "same" else per_dim(draw, nd, 1, 3)
    dilation = per_dim(draw, nd, 1, 3)
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    layer = CONV[nd](cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    return layer, draw(input_for(nd, draw(st.sampled_from([cin, cin, cin + 1]))))


@st.composite
def convt_case(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    layer = CONVT[nd](
        cin,
        cout,
        per_dim(draw, nd, 1, 4),
        stride=per_dim(draw, nd, 1, 3),
        padding=per_dim(draw, nd, 0, 3),
        output_padding=per_dim(draw, nd, 0, 2),
        dilation=per_dim(draw, nd, 1, 2),
        groups=groups,
    )
    shape = draw(input_for(nd, cin))
    # An output length of exactly 0 is accepted or rejected by torch depending on the
    # backend it dispatches to (ConvTranspose1d with groups=1 raises, with groups=2 or
    # in 2-D it returns an empty tensor); output_shape rejects it, so skip that case.
    spatial = shape[-nd:]
    sizes = [
        conv_transpose_out(w, layer.kernel_size[i], layer.stride[i], layer.padding[i], layer.dilation[i], layer.output_padding[i])
        for i, w in enumerate(spatial)
    ]
    assume(0 not in sizes)
    return layer, shape


@st.composite
def pool_case(draw):
    nd = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["max", "avg"]))
    k = per_dim(draw, nd, 1, 4)
    kwargs = dict(
        stride=draw(st.one_of(st.none(), st.integers(1, 3))),
        padding=per_dim(draw, nd, 0, 2),
        ceil_mode=draw(st.booleans()),
    )
    if kind == "max":
        layer = MAXP[nd](k, dilation=per_dim(draw, nd, 1, 2), **kwargs)
    else:
        layer = AVGP[nd](k, count_include_pad=draw(st.booleans()), **kwargs)
    return layer, draw(input_for(nd, draw(st.integers(1, 2))))


@st.composite
def adaptive_case(draw):
    nd = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["max", "avg"]))
    size = draw(st.one_of(st.integers(1, 5), st.tuples(*[st.one_of(st.none(), st.integers(1, 5))] * nd)))
    return ADAPT[(nd, kind)](size), draw(input_for(nd, draw(st.integers(1, 2))))


@SETTINGS
@given(conv_case())
def test_conv_matches_torch(case):
    compare(*case)


@SETTINGS
@given(convt_case())
def test_conv_transpose_matches_torch(case):
    compare(*case)


@SETTINGS
@given(pool_case())
def test_pool_matches_torch(case):
    compare(*case)


@settings(max_examples=200, deadline=None)
@given(adaptive_case())
def test_adaptive_matches_torch(case):
    compare(*case)


def test_known_values_and_messages():
    # ResNet stem: 224 -> 112 -> 56
    assert output_shape(nn.Conv2d(3, 64, 7, 2, 3), (1, 3, 224, 224)) == (1, 64, 112, 112)
    assert output_shape(nn.MaxPool2d(3, 2, 1), (1, 64, 112, 112)) == (1, 64, 56, 56)
    # The floor matters: (32 - 3 + 0) / 2 + 1 = 15.5 -> 15
    assert output_shape(nn.Conv2d(1, 1, 3, stride=2), (1, 32, 32)) == (1, 15, 15)
    assert output_shape(nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), (1, 4, 16, 16)) == (1, 2, 32, 32)
    with pytest.raises(ValueError, match=r"Conv2d.*dimension 0"):
        output_shape(nn.Conv2d(1, 1, 5), (1, 1, 3, 3))
    with pytest.raises(ValueError, match="input channels"):
        output_shape(nn.Conv2d(2, 1, 3), (1, 1, 8, 8))
    with pytest.raises(ValueError, match="output_padding"):
        output_shape(nn.ConvTranspose1d(1, 1, 3, stride=2, output_padding=2), (1, 1, 5))
    with pytest.raises(TypeError, match="Linear"):
        output_shape(nn.Linear(3, 4), (1, 3))


def test_ceil_mode_drops_window_starting_in_padding():
    # 5 inputs, k=2, s=2, p=1, ceil: 4 windows would be ceil((5+2-2)/2)+1 = 4, but the
    # 4th would start at 6 >= 5 + 1 (inside the right padding), so torch keeps 3.
    assert pool_out(5, 2, 2, 1, ceil_mode=True) == 3
    assert tuple(nn.MaxPool1d(2, 2, 1, ceil_mode=True)(torch.zeros(1, 1, 5)).shape) == (1, 1, 3)


def test_parse_shape():
    assert parse_shape("1x3x224x224") == (1, 3, 224, 224)
    assert parse_shape("3,32,32") == (3, 32, 32)
    for bad in ("", "1xax3", "1x-2"):
        with pytest.raises(ValueError):
            parse_shape(bad)


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )  # fmt: skip


def test_trace_lenet_shapes_params_and_receptive_field():
    t = trace(lenet(), (1, 1, 32, 32))
    convs = [layer for layer in t.layers if layer.type in ("Conv2d", "AvgPool2d")]
    assert [layer.output_shape for layer in convs] == [(1, 6, 28, 28), (1, 6, 14, 14), (1, 16, 10, 10), (1, 16, 5, 5)]
    # Receptive field recursion: 5 -> 6 (pool k2, j1) -> 6 + 4*2 = 14 -> 14 + 1*2 = 16
    assert [layer.receptive_field for layer in convs] == [(5, 5), (6, 6), (14, 14), (16, 16)]
    assert [layer.jump for layer in convs] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert t.total_params == sum(p.numel() for p in lenet().parameters()) == 61706
    assert t.output_shape == (1, 10)
    assert isinstance(t.layers[0], LayerInfo)


def test_trace_factory_runs_on_meta_and_leaves_module_untouched():
    big = lambda: nn.Sequential(nn.Linear(50_000, 50_000), nn.ReLU())  # 2.5e9 params: 10 GB if real  # noqa: E731
    t = trace(big, (2, 50_000))
    assert t.total_params == 50_000 * 50_000 + 50_000
    real = lenet()
    before = {k: v.clone() for k, v in real.state_dict().items()}
    trace(real, (1, 1, 32, 32))
    assert all(p.device.type == "cpu" for p in real.parameters())
    assert all(torch.equal(before[k], v) for k, v in real.state_dict().items())


def test_trace_residual_add_takes_largest_field():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv1d(1, 1, 3, padding=1)
            self.b = nn.Conv1d(1, 1, 3, padding=1)
            self.skip = nn.Conv1d(1, 1, 1)
            self.act = nn.ReLU()

        def forward(self, x):  # the skip branch runs last on purpose
            y = self.b(self.a(x))
            return self.act(y + self.skip(x))

    t = trace(Block(), (1, 1, 16))
    act = [layer for layer in t.layers if layer.type == "ReLU"][0]
    assert act.receptive_field == (5,)  # max(3 + 2, 1), not the skip branch's 1


def test_trace_rejects_bad_input_with_value_error():
    with pytest.raises(ValueError, match="rejects input shape"):
        trace(lenet(), (1, 3, 32, 32))


def test_trace_of_a_meta_module_removes_its_hooks_even_when_the_model_fails():
    # a module already on the meta device is traced in place, so the hooks go on the caller's module
    model = lenet().to("meta")
    trace(model, (1, 1, 32, 32))
    with pytest.raises(ValueError, match="rejects input shape 1x3x32x32"):
        trace(model, (1, 3, 32, 32))
    assert all(not m._forward_hooks for m in model.modules())
    again = trace(model, (2, 1, 32, 32))  # a second trace records each layer once, not twice
    assert len(again.layers) == len([m for m in model.modules() if not list(m.children())])
