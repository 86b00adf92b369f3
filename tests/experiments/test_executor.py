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


def test_unit_cache_recomputes_only_what_changed(tmp_path, monkeypatch):
    from dlfaq.experiments import _core

    spec = next(s for s in discover().values() if s.study is not None)
    calls = []
    original = type(spec.study).run_unit

    def counting(self, ctx, unit):
        calls.append(unit.key)
        return original(self, ctx, unit)

    monkeypatch.setattr(type(spec.study), "run_unit", counting)
    kw = dict(seed=0, profile="smoke", out=tmp_path / "out", device="cpu", jobs=1, cache=tmp_path / "cache")
    (a,) = run_all([spec], **kw)
    n_units = len(calls)
    assert n_units > 0
    (b,) = run_all([spec], **kw)
    assert len(calls) == n_units, "nothing changed, so no unit is computed again"
    assert a["metrics"] == b["metrics"] and a["verdicts"] == b["verdicts"]
    # a change of the experiment's code changes every unit's key
    monkeypatch.setattr(_core, "code_version", lambda s, units_only=False: "edited")
    run_all([spec], **kw)
    assert len(calls) == 2 * n_units
    # a damaged entry is recomputed, not trusted
    for f in (tmp_path / "cache").rglob("*.json"):
        f.write_text("{not json")
    run_all([spec], **kw)
    assert len(calls) == 3 * n_units


def test_report_reruns_only_missing_failed_or_changed_evidence():
    from dlfaq.commands.report import _stale
    from dlfaq.experiments._core import code_version

    spec = next(iter(discover().values()))
    good = {"status": "ok", "profile": "quick", "seed": 0, "code": code_version(spec)}
    assert not _stale(good, spec, 0)
    assert _stale(None, spec, 0) and _stale({**good, "status": "failed"}, spec, 0)
    assert _stale({**good, "code": "older"}, spec, 0) and _stale({**good, "profile": "full"}, spec, 0)
    assert _stale(good, spec, 1)


@pytest.mark.slow
def test_ray_local_cluster_gives_the_same_evidence_as_one_process(tmp_path):
    pytest.importorskip("ray")
    specs = _studies_and_a_plain()
    a = run_all(specs, seed=0, profile="smoke", out=tmp_path / "a", device="cpu", jobs=1)
    b = run_all(specs, seed=0, profile="smoke", out=tmp_path / "b", device="cpu", jobs=2, executor="ray")
    for ra, rb in zip(a, b, strict=True):
        assert rb["status"] == "ok", rb.get("error")
        assert ra["metrics"] == rb["metrics"] and ra["verdicts"] == rb["verdicts"], ra["name"]


def test_code_version_follows_the_library_code_an_experiment_imports(monkeypatch):
    import inspect

    from dlfaq.experiments import _core

    specs = discover()
    q07, q03 = specs["q07.dropout-sweeps"], specs["q03.feature-map-sizes"]
    assert "dlfaq.train.regularization" in _core._dlfaq_imports("dlfaq.experiments.q07_dropout")
    before = {(k, u): _core.code_version(s, u) for k, s in (("q07", q07), ("q03", q03)) for u in (False, True)}
    real = inspect.getsource

    def edited(obj):
        src = real(obj)
        name = getattr(obj, "__name__", "")
        if name == "dlfaq.train.regularization":
            return src + "\n# edited\n"
        if name == "dlfaq.experiments.stats":
            return src + "\n# new rule\n"
        return src

    monkeypatch.setattr(inspect, "getsource", edited)
    _core._closure_hash.cache_clear()
    try:
        after = {(k, u): _core.code_version(s, u) for k, s in (("q07", q07), ("q03", q03)) for u in (False, True)}
    finally:
        monkeypatch.undo()
        _core._closure_hash.cache_clear()
    # the library module q07 trains with: both versions change
    assert after[("q07", True)] != before[("q07", True)] and after[("q07", False)] != before[("q07", False)]
    # a new verdict rule (stats) re-merges every experiment but leaves cached units valid
    assert after[("q03", False)] != before[("q03", False)]
    # ... and a library module q03 does not use changes nothing of q03's units
    assert after[("q03", True)] == before[("q03", True)]


def test_jobs_default_to_the_cores_or_dlfaq_jobs(monkeypatch):
    from dlfaq.commands._common import UserError, check_jobs
    from dlfaq.experiments.executor import default_jobs

    monkeypatch.delenv("DLFAQ_JOBS", raising=False)
    assert check_jobs(None) == min(default_jobs(), 256) >= 1
    monkeypatch.setenv("DLFAQ_JOBS", "3")
    assert check_jobs(None) == 3
    assert check_jobs(1) == 1  # an explicit -j wins over the variable
    for bad in ("0", "x", "-2"):
        monkeypatch.setenv("DLFAQ_JOBS", bad)
        with pytest.raises(UserError):
            check_jobs(None)


@pytest.mark.slow
def test_cli_run_7_with_one_and_two_workers_writes_identical_evidence(tmp_path):
    """The issue's acceptance check, through the command line and the quick profile (about 2 min)."""
    import json
    import subprocess
    import sys

    for j in ("1", "2"):
        r = subprocess.run([sys.executable, "-m", "dlfaq", "run", "7", "-j", j, "--out", str(tmp_path / j), "--json"],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
    a = sorted((tmp_path / "1").glob("q07/*/evidence.json"))
    assert a, "dlfaq run 7 wrote no evidence"
    for fa in a:
        ra = json.loads(fa.read_text(encoding="utf-8"))
        rb = json.loads((tmp_path / "2" / fa.relative_to(tmp_path / "1")).read_text(encoding="utf-8"))
        assert ra["status"] == rb["status"] == "ok"
        assert ra["metrics"] == rb["metrics"] and ra["verdicts"] == rb["verdicts"], fa.parent.name


@pytest.mark.slow
def test_ray_reads_and_writes_the_unit_cache_in_the_driver(tmp_path, monkeypatch):
    """A second Ray run with nothing changed sends no task: hits are served by the driver."""
    pytest.importorskip("ray")
    from dlfaq.experiments import executor

    specs = _studies_and_a_plain(1)
    kw = dict(seed=0, profile="smoke", out=tmp_path / "out", device="cpu", jobs=2, executor="ray",
              cache=tmp_path / "cache")
    (a, _) = run_all(specs, **kw)
    assert a["status"] == "ok", a.get("error")
    assert list((tmp_path / "cache").rglob("*.json")), "the driver saved the units' results"
    monkeypatch.setattr(executor, "_ray_unit", lambda *args: pytest.fail("a cached unit was sent to Ray"))
    (b, _) = run_all(specs, **kw)
    assert a["metrics"] == b["metrics"] and a["verdicts"] == b["verdicts"]


@pytest.mark.slow
def test_ray_joins_an_existing_cluster_by_address(tmp_path):
    """`ray start --head` in another process, then --ray-address: the driver joins, does not start one."""
    pytest.importorskip("ray")
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    beside = Path(sys.executable).with_name("ray")
    ray_cli = str(beside) if beside.exists() else shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the ray command is not on PATH")
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # Ray's socket paths must stay under 107 bytes
    start = subprocess.run([ray_cli, "start", "--head", "--num-cpus", "2", "--include-dashboard", "false",
                            "--port", "0", "--temp-dir", str(tmp), "--disable-usage-stats"],
                           capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stderr[-2000:]
    try:
        address = next((tmp / "session_latest").glob("ray_current_cluster"), None)
        addr = address.read_text().strip() if address else "auto"
        specs = _studies_and_a_plain(1)
        a = run_all(specs, seed=0, profile="smoke", out=tmp_path / "a", device="cpu", jobs=1)
        b = run_all(specs, seed=0, profile="smoke", out=tmp_path / "b", device="cpu", jobs=2, executor="ray",
                    ray_address=addr)
        import ray

        assert not ray.is_initialized(), "the driver disconnects from a cluster it did not start"
        for ra, rb in zip(a, b, strict=True):
            assert rb["status"] == "ok", rb.get("error")
            assert ra["metrics"] == rb["metrics"] and ra["verdicts"] == rb["verdicts"], ra["name"]
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def test_cache_option_points_the_unit_cache_at_a_shared_folder(tmp_path, monkeypatch):
    """`--cache DIR` (or $DLFAQ_CACHE): two results folders share one unit cache."""
    from dlfaq.commands import _common

    calls = []

    def fake_run_all(specs, **kw):
        calls.append(kw["cache"])
        return []

    monkeypatch.setattr("dlfaq.experiments.executor.run_all", fake_run_all)
    _common.run_specs([], seed=0, profile="smoke", out=tmp_path / "a", device="cpu", show_progress=False)
    _common.run_specs([], seed=0, profile="smoke", out=tmp_path / "b", device="cpu", show_progress=False,
                      cache=tmp_path / "shared")
    assert calls == [tmp_path / "a" / ".cache" / "units", tmp_path / "shared"]
    assert _common.check_cache(None) is None
    assert _common.check_cache(tmp_path / "new" / "cache").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(_common.UserError):
        _common.check_cache(tmp_path / "file")
