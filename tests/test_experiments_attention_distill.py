"""Smoke runs of the Q14 (attention) and Q17 (distillation) experiments."""

from __future__ import annotations

import json

import pytest

from dlfaq.experiments import run_experiment
from dlfaq.experiments._core import RunContext, discover, expected_claims


@pytest.mark.parametrize("name", ["q14.seq2seq-length", "q17.distill-digits"])
def test_smoke_run(name: str, tmp_path) -> None:
    spec = discover()[name]
    rec = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("traceback")
    claims = expected_claims(spec)
    assert claims, "the knowledge base assigns claims to this experiment"
    assert sorted(v["claim"] for v in rec["verdicts"]) == sorted(claims)
    assert rec["missing_verdicts"] == []
    for v in rec["verdicts"]:
        assert (
            v["verdict"] in ("supported", "partly", "not supported") and v["rule"] and v["reason"]
        )
    out = tmp_path / f"q{spec.question:02d}" / spec.short
    assert json.loads((out / "evidence.json").read_text())["name"] == name
    assert rec["figures"] and all((out / f["file"]).is_file() for f in rec["figures"])


def test_smoke_metrics_are_deterministic(tmp_path) -> None:
    spec = discover()["q17.distill-digits"]
    a = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "b"))
    assert a["metrics"] == b["metrics"]
