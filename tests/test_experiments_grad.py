"""Smoke runs of the Q8 and Q9 experiments: every code path, every claim gets a verdict."""

from __future__ import annotations

import pytest

from dlfaq.experiments import RunContext, discover, expected_claims, run_experiment

NAMES = [
    "q08.gradient-flow",
    "q08.saturation",
    "q08.clipping",
    "q08.rnn-vs-lstm",
    "q09.gradient-noise",
    "q09.sgd-vs-gd",
]


@pytest.mark.parametrize("name", NAMES)
def test_smoke(name, tmp_path):
    spec = discover()[name]
    rec = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("traceback")
    assert rec["missing_verdicts"] == []
    assert sorted(v["claim"] for v in rec["verdicts"]) == sorted(expected_claims(spec))
    assert all(v["rule"] and v["reason"] for v in rec["verdicts"])
    assert rec["figures"], "every experiment draws at least one figure"
    for f in rec["figures"]:
        assert (tmp_path / f"q{spec.question:02d}" / spec.short / f["file"]).is_file()


def test_every_q08_q09_claim_with_tested_by_is_covered():
    from dlfaq.faq import get_entry

    for q in (8, 9):
        tested = {c.tested_by for c in get_entry(q).claims if c.tested_by}
        assert tested <= set(NAMES)


def test_saturation_metrics_deterministic_and_exact(tmp_path):
    spec = discover()["q08.saturation"]
    a = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "b"))
    assert a["metrics"] == b["metrics"]
    # the grid contains x = 0 exactly (odd number of points on a symmetric interval)
    assert a["metrics"]["sigmoid_max_derivative"] == pytest.approx(0.25, abs=1e-12)
    assert a["metrics"]["tanh_max_derivative"] == pytest.approx(1.0, abs=1e-12)
