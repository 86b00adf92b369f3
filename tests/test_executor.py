"""-j 1 and -j 2 write the same evidence: units are seeded from their own parameters and merged
in plan order, whatever process ran them."""

from __future__ import annotations

import pytest

from dlfaq.experiments import discover, load_evidence
from dlfaq.experiments.executor import run_all


def _studies_and_a_plain(n_studies: int = 2) -> list:
    reg = discover()
    studies = [s for s in reg.values() if s.study is not None][:n_studies]
    plain = [s for s in reg.values() if s.study is None][:1]
    return studies + plain


def test_one_and_two_workers_give_identical_metrics_and_verdicts(tmp_path):
    specs = _studies_and_a_plain()
    assert specs
    a = run_all(specs, seed=0, profile="smoke", out=tmp_path / "a", device="cpu", jobs=1)
    b = run_all(specs, seed=0, profile="smoke", out=tmp_path / "b", device="cpu", jobs=2)
    assert [r["name"] for r in a] == [r["name"] for r in b] == [s.name for s in specs]
    for ra, rb in zip(a, b, strict=True):
        assert ra["status"] == rb["status"] == "ok", (ra.get("error"), rb.get("error"))
        assert ra["metrics"] == rb["metrics"], ra["name"]
        assert ra["verdicts"] == rb["verdicts"], ra["name"]
        assert load_evidence(tmp_path / "b", ra["name"])["verdicts"] == rb["verdicts"]


def test_progress_reaches_the_total_and_bad_jobs_are_refused(tmp_path):
    seen = []
    specs = _studies_and_a_plain(1)
    run_all(specs, seed=0, profile="smoke", out=tmp_path, device="cpu", jobs=2,
            progress=lambda d, t, s: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] > 0
    with pytest.raises(ValueError, match="jobs"):
        run_all(specs, seed=0, profile="smoke", out=tmp_path, device="cpu", jobs=0)
