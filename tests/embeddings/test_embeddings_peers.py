"""Slow tier: gensim's own loader and evaluation tests, run against dlfaq (tests/peers/run_gensim_tests.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "peers" / "run_gensim_tests.py"


@pytest.mark.slow
def test_gensims_own_tests_pass_against_dlfaq():
    pytest.importorskip("gensim", reason="gensim is part of the 'embeddings' extra")
    pytest.importorskip("testfixtures", reason="gensim's tests import testfixtures (dev extra)")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--no-install"], capture_output=True,
                          text=True, timeout=1800, check=False)
    report = proc.stdout + proc.stderr[-2000:]
    assert "gensim evaluation tests against dlfaq (imports swapped): 3/3 pass" in proc.stdout, report
    assert "gensim loaders tests against dlfaq" in proc.stdout, report
    assert "gensim similarity tests against dlfaq" in proc.stdout, report
    assert proc.returncode == 0, report
