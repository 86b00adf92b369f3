"""Q8 experiments: exact properties beyond the generic smoke run."""

from __future__ import annotations

import math

import pytest

from dlfaq.experiments import RunContext, discover, run_experiment


def test_saturation_metrics_deterministic_and_exact(tmp_path):
    spec = discover()["q08.saturation"]
    a = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "b"))
    assert a["metrics"] == b["metrics"]
    # the grid holds x = 0 exactly, where both maxima are attained (float64 autograd: exact to rounding)
    assert a["metrics"]["sigmoid_max_derivative"] == pytest.approx(0.25, abs=1e-12)
    assert a["metrics"]["sigmoid_argmax"] == 0.0
    assert a["metrics"]["tanh_max_derivative"] == pytest.approx(1.0, abs=1e-12)
    verdicts = {v["claim"]: v for v in a["verdicts"]}
    # both are exact checks: the bound holds; sigmoid is not a loss function
    assert verdicts["q08.sigmoid-derivative-bound"]["kind"] == "check"
    assert verdicts["q08.sigmoid-derivative-bound"]["verdict"] == "supported"
    assert verdicts["q08.sigmoid-as-loss"]["kind"] == "check"
    assert verdicts["q08.sigmoid-as-loss"]["verdict"] == "contradicted"


def test_torch_lstm_biases_are_uniform_not_zero():
    """What the answer says about PyTorch's LSTM init: every bias, the forget gate's included, is drawn
    from U(-1/sqrt(H), 1/sqrt(H)); none is set to 0 or 1."""
    import torch

    torch.manual_seed(0)
    H = 256
    lstm = torch.nn.LSTM(4, H)
    bound = 1 / math.sqrt(H)
    for b in (lstm.bias_ih_l0, lstm.bias_hh_l0):
        forget = b.detach()[H : 2 * H]
        assert float(forget.abs().max()) <= bound
        # 256 uniform draws: the spread is far from a constant (sd of U(-a, a) is a/sqrt(3))
        assert float(forget.std()) == pytest.approx(bound / math.sqrt(3), rel=0.2)


def test_probe_reads_vanishing_and_he_preservation():
    """The gradient-flow probe: a deep sigmoid net loses decades, a He-init ReLU net keeps its gradient."""
    import torch

    from dlfaq.experiments.q08_gradients import _flow_batch, _probe

    x, y = _flow_batch("cpu")
    torch.manual_seed(0)
    sig = _probe(x, y, depth=10, activation="sigmoid")
    torch.manual_seed(0)
    relu = _probe(x, y, depth=10, activation="relu", init="he")
    assert sig["A"] > 3  # 9 sigmoid layers, each dividing by >= 4 before the default weights shrink it further
    assert abs(relu["A"]) < 1  # He et al. 2015: variance preserved layer to layer
    assert len(sig["grads"]) == 10
