"""Q8 experiments: exact properties beyond the generic smoke run."""

from __future__ import annotations

import pytest

from dlfaq.experiments import RunContext, discover, run_experiment


def test_saturation_metrics_deterministic_and_exact(tmp_path):
    spec = discover()["q08.saturation"]
    a = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "b"))
    assert a["metrics"] == b["metrics"]
    # the grid contains x = 0 exactly (odd number of points on a symmetric interval)
    assert a["metrics"]["sigmoid_max_derivative"] == pytest.approx(0.25, abs=1e-12)
    assert a["metrics"]["tanh_max_derivative"] == pytest.approx(1.0, abs=1e-12)
