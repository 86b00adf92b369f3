"""Tests for dlfaq.train.regularization: penalties equal their formulas and skip what they say,
coupled L2 equals SGD weight decay, EarlyStopping counts patience and restores the best weights."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dlfaq.nn import MLP
from dlfaq.train.regularization import (
    EarlyStopping,
    decay_param_groups,
    l1_penalty,
    l2_penalty,
    penalized_parameters,
    weight_sparsity,
)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3), nn.LayerNorm(3))


def test_penalties_equal_formula_and_skip_bias_and_norm() -> None:
    net = _net()
    with torch.no_grad():  # make norm params non-trivial so skipping them matters
        net[1].weight.fill_(2.0)
        net[4].bias.fill_(-3.0)
    w0, w3 = net[0].weight, net[3].weight
    l1 = 0.3 * (w0.abs().sum() + w3.abs().sum())
    l2 = 0.3 * (w0.pow(2).sum() + w3.pow(2).sum())
    torch.testing.assert_close(l1_penalty(net, 0.3), l1)
    torch.testing.assert_close(l2_penalty(net, 0.3), l2)
    names = [n for n, _ in penalized_parameters(net)]
    assert names == ["0.weight", "3.weight"]


def test_penalties_without_skipping_include_everything() -> None:
    net = _net()
    everything = sum(p.abs().sum() for p in net.parameters())
    torch.testing.assert_close(l1_penalty(net, 1.0, skip_bias_and_norm=False), everything)
    everything2 = sum(p.pow(2).sum() for p in net.parameters())
    torch.testing.assert_close(l2_penalty(net, 0.5, skip_bias_and_norm=False), 0.5 * everything2)


def test_penalty_gradient() -> None:
    net = nn.Linear(3, 2)
    (l1_penalty(net, 0.1) + l2_penalty(net, 0.2)).backward()
    w = net.weight.detach()
    torch.testing.assert_close(net.weight.grad, 0.1 * torch.sign(w) + 0.4 * w)
    assert net.bias.grad is None  # biases are skipped, so never touched


def test_shared_parameter_counted_once() -> None:
    lin = nn.Linear(3, 3, bias=False)
    net = nn.Sequential(lin, lin)
    torch.testing.assert_close(l1_penalty(net, 1.0), lin.weight.abs().sum())


def test_l2_penalty_half_equals_sgd_weight_decay() -> None:
    torch.manual_seed(1)
    x, y = torch.randn(20, 5), torch.randn(20, 1)
    a = nn.Linear(5, 1, bias=False)
    b = nn.Linear(5, 1, bias=False)
    b.load_state_dict(a.state_dict())
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1, weight_decay=0.05)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.1)
    for _ in range(5):
        opt_a.zero_grad()
        nn.functional.mse_loss(a(x), y).backward()
        opt_a.step()
        opt_b.zero_grad()
        (nn.functional.mse_loss(b(x), y) + l2_penalty(b, 0.05 / 2)).backward()
        opt_b.step()
    torch.testing.assert_close(a.weight, b.weight)


def test_decay_param_groups() -> None:
    net = _net()
    groups = decay_param_groups(net, 0.01)
    assert groups[0]["weight_decay"] == 0.01 and len(groups[0]["params"]) == 2
    assert groups[1]["weight_decay"] == 0.0 and len(groups[1]["params"]) == 6
    torch.optim.AdamW(groups, lr=1e-3)  # accepted by torch


def test_weight_sparsity() -> None:
    lin = nn.Linear(4, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 1e-5, 0.5, -0.2], [1e-4, -1e-6, 1.0, 2.0]]))
        lin.bias.zero_()  # skipped: would add 2 "sparse" entries otherwise
    assert weight_sparsity(lin, threshold=1e-3) == pytest.approx(4 / 8)
    assert weight_sparsity(lin, threshold=1e-3, skip_bias_and_norm=False) == pytest.approx(6 / 10)


def test_early_stopping_patience_and_best() -> None:
    es = EarlyStopping(patience=2, restore_best=False)
    seq = [1.0, 0.8, 0.9, 0.85, 0.7]
    stops = [es.step(v) for v in seq[:4]]
    assert stops == [False, False, False, True]
    assert es.best_value == 0.8 and es.best_epoch == 2


def test_early_stopping_min_delta_mode_max_and_nan() -> None:
    es = EarlyStopping(patience=1, min_delta=0.1, mode="max", restore_best=False)
    assert not es.step(0.5)
    assert es.step(0.55)  # not better by more than min_delta
    es2 = EarlyStopping(patience=3, restore_best=False)
    es2.step(1.0)
    for _ in range(2):
        assert not es2.step(math.nan)
    assert es2.step(math.nan) and es2.best_value == 1.0


def test_early_stopping_patience_zero() -> None:
    es = EarlyStopping(patience=0, restore_best=False)
    assert not es.step(1.0) and not es.step(0.5) and es.step(0.6)


def test_early_stopping_restores_best_weights() -> None:
    net = nn.Linear(2, 2)
    es = EarlyStopping(patience=5)
    with torch.no_grad():
        net.weight.fill_(1.0)
    es.step(0.3, net)
    best = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.fill_(7.0)  # the saved copy must not alias the live weights
    es.step(0.4, net)
    assert es.restore(net)
    torch.testing.assert_close(net.weight.detach(), best)
    assert not EarlyStopping().restore(net)


def test_early_stopping_bad_arguments() -> None:
    with pytest.raises(ValueError):
        EarlyStopping(mode="avg")
    with pytest.raises(ValueError):
        EarlyStopping(patience=-1)


def test_mlp_batchnorm_params_skipped() -> None:
    net = MLP(4, 2, hidden=3, depth=2, norm="batch")
    names = [n for n, _ in penalized_parameters(net)]
    assert names == ["layers.0.linear.weight", "layers.1.linear.weight", "head.weight"]
