"""Tests for dlfaq.nn.blocks.MLP: structure, forward math against torch primitives, inits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dlfaq.nn import MLP
from dlfaq.nn.blocks import ACTIVATIONS, HiddenLayer

pytestmark = pytest.mark.usefixtures("one_thread")

@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("norm", ["none", "batch"])
def test_shapes_and_parameter_names(activation: str, norm: str) -> None:
    torch.manual_seed(0)
    net = MLP(64, 10, hidden=16, depth=3, activation=activation, norm=norm)
    assert net(torch.randn(5, 64)).shape == (5, 10)
    names = dict(net.named_parameters())
    assert "layers.0.linear.weight" in names and "layers.2.linear.weight" in names
    assert "head.weight" in names
    assert len(net.layers) == 3
    if norm == "batch":
        # the BN shift makes a Linear bias redundant
        assert "layers.0.linear.bias" not in names and "layers.0.norm.weight" in names
    else:
        assert "layers.0.linear.bias" in names


def test_image_input_is_flattened() -> None:
    net = MLP(64, 10, hidden=8, depth=1)
    assert net(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def test_depth_zero_is_linear() -> None:
    net = MLP(4, 3, depth=0)
    assert len(net.layers) == 0 and net.head.in_features == 4


def test_forward_matches_manual_computation() -> None:
    torch.manual_seed(1)
    net = MLP(6, 3, hidden=5, depth=2, activation="tanh", residual=True).eval()
    x = torch.randn(4, 6)
    l0, l1 = net.layers[0].linear, net.layers[1].linear
    h0 = torch.tanh(F.linear(x, l0.weight, l0.bias))  # first layer 6 -> 5: no shortcut possible
    h1 = h0 + torch.tanh(F.linear(h0, l1.weight, l1.bias))
    ref = F.linear(h1, net.head.weight, net.head.bias)
    torch.testing.assert_close(net(x), ref)
    assert not net.layers[0].residual and net.layers[1].residual


def test_batchnorm_forward_matches_manual() -> None:
    torch.manual_seed(2)
    net = MLP(6, 3, hidden=5, depth=1, activation="relu", norm="batch").train()
    x = torch.randn(16, 6)
    z = x @ net.layers[0].linear.weight.T
    zhat = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)
    ref = F.linear(torch.relu(zhat), net.head.weight, net.head.bias)
    torch.testing.assert_close(net(x), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("init", "gain", "std_fn"),
    [
        ("xavier", 1.0, lambda fi, fo: math.sqrt(2 / (fi + fo))),
        ("he", 1.0, lambda fi, fo: math.sqrt(2 / fi)),
        ("scaled", 3.0, lambda fi, fo: 3.0 / math.sqrt(fi)),
        ("scaled", 0.1, lambda fi, fo: 0.1 / math.sqrt(fi)),
    ],
)
def test_init_standard_deviation(init: str, gain: float, std_fn) -> None:
    torch.manual_seed(3)
    net = MLP(256, 10, hidden=256, depth=2, init=init, init_gain=gain)
    w = net.layers[1].linear.weight  # 256 x 256 = 65,536 draws
    expected = std_fn(256, 256)
    # the sample std of 65k normal draws is within ~0.3 % of sigma (1/sqrt(2n)); allow 3 %
    assert abs(w.std().item() - expected) / expected < 0.03
    assert abs(w.mean().item()) < 0.05 * expected * 10
    assert torch.count_nonzero(net.layers[1].linear.bias) == 0


def test_default_init_is_torch_default() -> None:
    # torch's nn.Linear draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)); its std is bound/sqrt(3)
    torch.manual_seed(4)
    net = MLP(400, 2, hidden=300, depth=1)
    w = net.layers[0].linear.weight  # 120,000 draws: sample std within ~0.3 %, allow 2 %
    bound = 1 / math.sqrt(400)
    assert w.abs().max() <= bound
    assert abs(w.std().item() - bound / math.sqrt(3)) / (bound / math.sqrt(3)) < 0.02
    scaled = MLP(400, 2, hidden=300, depth=1, init_gain=2.0)
    assert scaled.layers[0].linear.weight.abs().max() > bound


def test_dropout_train_vs_eval() -> None:
    torch.manual_seed(5)
    net = MLP(8, 2, hidden=32, depth=2, dropout=0.5)
    x = torch.randn(4, 8)
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    net.train()
    assert not torch.allclose(net(x), net(x))


def test_residual_deep_net_keeps_signal() -> None:
    # 30 sigmoid layers with small init squash the signal without shortcuts; with them the
    # input passes through, so the output depends on the input far more.
    torch.manual_seed(6)
    x = torch.randn(64, 16)
    plain = MLP(16, 4, hidden=16, depth=30, activation="sigmoid", init="scaled", init_gain=0.5)
    res = MLP(16, 4, hidden=16, depth=30, activation="sigmoid", init="scaled", init_gain=0.5,
              residual=True)
    assert res(x).std(0).mean() > 10 * plain(x).std(0).mean()


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="activation"):
        MLP(4, 2, activation="swish")
    with pytest.raises(ValueError, match="norm"):
        MLP(4, 2, norm="layer")
    with pytest.raises(ValueError, match="init"):
        MLP(4, 2, init="orthogonal")
    with pytest.raises(ValueError, match="dropout"):
        MLP(4, 2, dropout=1.0)
    with pytest.raises(ValueError, match="residual"):
        HiddenLayer(4, 5, residual=True)


def test_repr_mentions_configuration() -> None:
    r = repr(MLP(4, 2, hidden=3, depth=2, activation="elu", norm="batch", dropout=0.1, residual=True))
    assert "activation='elu'" in r and "norm='batch'" in r and "dropout=0.1" in r and "residual=True" in r


def test_reset_parameters_redraws() -> None:
    torch.manual_seed(7)
    net = MLP(8, 2, hidden=8, depth=2, init="he")
    before = net.layers[0].linear.weight.clone()
    net.reset_parameters()
    assert not torch.equal(before, net.layers[0].linear.weight)


def test_gradients_flow_to_every_parameter() -> None:
    torch.manual_seed(8)
    net = MLP(8, 3, hidden=8, depth=3, norm="batch", dropout=0.1, residual=True)
    loss = F.cross_entropy(net(torch.randn(10, 8)), torch.randint(0, 3, (10,)))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.slow
def test_torch_compile_matches_eager() -> None:
    # compiling takes ~20 s on a shared 2-core machine, hence slow
    torch.manual_seed(9)
    net = MLP(64, 10, hidden=16, depth=3, norm="batch", dropout=0.1, residual=True).eval()
    x = torch.randn(8, 64)
    torch.testing.assert_close(torch.compile(net)(x), net(x), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_forward_matches_cpu() -> None:
    torch.manual_seed(10)
    net = MLP(64, 10, hidden=16, depth=2, norm="batch").eval()
    x = torch.randn(8, 64)
    ref = net(x)
    out = net.cuda()(x.cuda()).cpu()
    # TF32 may be on for CUDA matmuls: ~1e-3 relative error is expected there
    torch.testing.assert_close(out, ref, rtol=2e-3, atol=2e-3)
