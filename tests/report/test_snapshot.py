"""The quick profile's verdicts (seed 0) are a reviewed snapshot; the README table is made from it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlfaq.experiments.stats import VERDICTS
from dlfaq.faq import all_claims
from dlfaq.report import snapshot


def _snap() -> dict:
    return json.loads(snapshot.SNAPSHOT.read_text(encoding="utf-8"))


def test_snapshot_covers_exactly_the_tested_claims_with_known_words():
    snap = _snap()
    tested = {c.id for c in all_claims().values() if c.tested_by}
    assert set(snap["verdicts"]) == tested
    assert snap["profile"] == "quick" and snap["seed"] == 0
    for claim, v in snap["verdicts"].items():
        assert v["verdict"] in VERDICTS, claim
        assert v["kind"] in ("check", "experiment"), claim


def test_readme_table_is_the_one_generated_from_the_snapshot():
    text = snapshot.README.read_text(encoding="utf-8")
    assert snapshot.readme_block(text) == snapshot.readme_table(_snap()), (
        "README verdict table is stale: python -m dlfaq.report.snapshot --results DIR --write")


def test_take_refuses_incomplete_evidence(tmp_path):
    with pytest.raises(ValueError, match="no successful evidence"):
        snapshot.take(tmp_path)


@pytest.mark.slow
def test_a_fresh_quick_run_gives_the_snapshot(tmp_path):
    """Re-run every experiment (quick, seed 0) and compare every verdict with the snapshot."""
    r = subprocess.run([sys.executable, "-m", "dlfaq", "run", "all", "--out", str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-2000:]
    fresh = snapshot.take(tmp_path)
    old = _snap()
    flips = {c: (old["verdicts"].get(c), v) for c, v in fresh["verdicts"].items() if old["verdicts"].get(c) != v}
    assert flips == {}, f"verdicts flipped (update the snapshot on purpose if intended): {flips}"
