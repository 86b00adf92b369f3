"""Smoke runs of the Q7, Q11 and Q15 experiments: every claim gets a computed verdict."""

from __future__ import annotations

import pytest

from dlfaq.experiments import run_experiment
from dlfaq.experiments._core import RunContext, discover, expected_claims

NAMES = ["q07.dropout-sweeps", "q11.batchnorm-benefits", "q15.overfitting-remedies"]


@pytest.mark.parametrize("name", NAMES)
def test_smoke_run(name: str, tmp_path) -> None:
    spec = discover()[name]
    rec = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("traceback")
    judged = {v["claim"] for v in rec["verdicts"]}
    expected = set(expected_claims(spec))
    assert expected and judged == expected and not rec["missing_verdicts"]
    assert all(v["rule"] and v["reason"] for v in rec["verdicts"])
    assert rec["figures"] and (tmp_path / f"q{spec.question:02d}" / spec.short / rec["figures"][0]["file"]).is_file()
    assert rec["tables"]


def test_smoke_metrics_are_deterministic(tmp_path) -> None:
    spec = discover()["q15.overfitting-remedies"]
    a = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "b"))
    assert a["metrics"] == b["metrics"]
    assert [v["verdict"] for v in a["verdicts"]] == [v["verdict"] for v in b["verdicts"]]
