"""Smoke runs of the Q1 and Q2 experiments: status ok and a verdict for every assigned claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlfaq.experiments import RunContext, discover, expected_claims, run_experiment


@pytest.mark.parametrize("name", ["q01.cuda-doctor", "q02.import-doctor"])
def test_experiment_smoke(tmp_path: Path, name: str) -> None:
    spec = discover()[name]
    rec = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("traceback")
    assert sorted(v["claim"] for v in rec["verdicts"]) == sorted(expected_claims(spec))
    assert rec["missing_verdicts"] == []
    assert (tmp_path / name.split(".")[0] / spec.short / "evidence.json").is_file()
    assert rec["figures"] and rec["tables"]
