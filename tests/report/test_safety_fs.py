"""Nothing of the user's is lost: the output-folder rule, crash-safe swaps of the site and of an
experiment's evidence, normal permissions, and a clean stop on Ctrl-C (issue 12).

The fault-injection tests simulate a kill: at the k-th file-system call every patched call
raises (so no cleanup code of the killed run gets to run either), for every k. Then a complete
old or new version must be at the path, and after the next run nothing may be left beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from _evidence import damaged, make_results, write_record

from dlfaq import publish
from dlfaq.publish import SITE_MARKER, UnsafeOutput, check_site_target
from dlfaq.report import build_site


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its content hash (folders as 'dir'), mode and mtime included."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        kind = "dir" if p.is_dir() and not p.is_symlink() else (
            f"link:{os.readlink(p)}" if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest())
        out[str(p.relative_to(root))] = f"{kind} {oct(st.st_mode)} {st.st_mtime_ns}"
    return out


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``dlfaq`` in-process; (exit code, stdout, stderr)."""
    import contextlib
    import io

    from dlfaq.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the output-folder rule


@pytest.fixture
def world(tmp_path: Path, monkeypatch) -> Path:
    """A user's project folder (the current folder) with their files, and a results folder in it."""
    proj = tmp_path / "proj"
    (proj / "notes").mkdir(parents=True)
    (proj / "notes" / "todo.txt").write_text("my notes")
    (proj / "paper.tex").write_text("my paper")
    make_results(proj / "res")
    monkeypatch.chdir(proj)
    return proj


@pytest.mark.parametrize("site,why", [
    ("notes", "did not write"),         # a user's folder
    ("paper.tex", "is a file"),          # a user's file
    ("res", "is the results folder"),    # --out A --site A
    (".", "current folder"),
    ("..", "current folder"),
    ("res/q03", "inside the results folder"),
    ("res/site/sub", "inside the results folder"),
    ("linked", "symbolic link"),
])
def test_report_refuses_and_changes_nothing(world: Path, site: str, why: str):
    (world / "linked").symlink_to(world / "notes")
    before = tree(world.parent)
    code, out, err = cli("report", "--no-run", "--out", "res", "--site", site)
    assert code == 2 and why in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert tree(world.parent) == before  # nothing of the user's deleted, moved or touched


def test_site_containing_the_results_folder_is_refused(world: Path, tmp_path: Path):
    with pytest.raises(UnsafeOutput, match="contains the results folder"):
        check_site_target(tmp_path / "new", tmp_path / "new" / "res")


def test_report_refuses_a_users_folder_as_results(world: Path):
    before = tree(world.parent)
    code, _, err = cli("report", "--no-run", "--out", "notes")
    assert code == 2 and "did not write" in err and tree(world.parent) == before


def test_report_writes_where_allowed_with_normal_permissions(world: Path):
    (world / "empty").mkdir()
    mode = publish.normal_dir_mode()
    for site in ("res/site", "empty", "new/deeper/site", "empty"):  # the last one: it has the marker now
        code, out, err = cli("report", "--no-run", "--out", "res", "--site", site)
        assert code == 0, err
        index = Path(out.strip().split("site written to ")[1].split(" in ")[0])
        assert index == (world / site / "index.html").absolute() and index.is_file()
        assert (world / site / SITE_MARKER).is_file()
        for d in [world / site, *(p for p in (world / site).rglob("*") if p.is_dir())]:
            assert d.stat().st_mode & 0o777 == mode, d
    assert (world / "notes" / "todo.txt").read_text() == "my notes"
    assert sorted(p.name for p in world.iterdir()) == ["empty", "new", "notes", "paper.tex", "res"]


def test_a_site_of_an_older_dlfaq_without_marker_is_adopted(world: Path):
    old = world / "oldsite"
    for f in ("index.html", "summary.json", "style.css", "q01.html"):
        (old / f).parent.mkdir(exist_ok=True)
        (old / f).write_text("old")
    assert check_site_target(old, world / "res") == old
    (old / "mine.txt").write_text("x")  # but not once it holds anything else
    with pytest.raises(UnsafeOutput):
        check_site_target(old, world / "res")


# --------------------------------------------------------------------------- fault injection


class Killed(BaseException):
    """A simulated SIGKILL: not an Exception, so nothing catches it as an error."""


class KillAt:
    """Patch file-system calls; the ``k``-th one and every one after it raise :class:`Killed`."""

    TARGETS = [(os, "rename"), (os, "replace"), (os, "mkdir"), (os, "chmod"), (os, "unlink"), (os, "rmdir"),
               (shutil, "rmtree"), (shutil, "copy2"), (tempfile, "mkdtemp"), (Path, "write_text"),
               (Path, "write_bytes"), (Path, "mkdir"), (publish, "exchange"), (publish, "swap_in")]

    def __init__(self, monkeypatch, k: int | None) -> None:
        # its own MonkeyPatch: undo() must not undo the test's other patches
        self.k, self.n, self.dead, self.mp = k, 0, False, pytest.MonkeyPatch()
        self.log: list[str] = []
        for obj, name in self.TARGETS:
            self.mp.setattr(obj, name, self._wrap(getattr(obj, name), name))

    def _wrap(self, fn, name: str):
        def wrapped(*args, **kwargs):
            if self.dead:
                raise Killed()
            self.n += 1
            self.log.append(name)
            if self.n == self.k:
                self.dead = True
                raise Killed()
            return fn(*args, **kwargs)

        return wrapped

    def undo(self) -> None:
        self.mp.undo()


def site_state(site: Path) -> tuple[frozenset, str]:
    """What identifies a complete site: its file set and its summary."""
    files = frozenset(str(p.relative_to(site)) for p in site.rglob("*"))
    return files, (site / "summary.json").read_text(encoding="utf-8")


def _count_steps(results: Path, site: Path, monkeypatch) -> list[str]:
    """The file-system calls of one build, by name, in order."""
    counter = KillAt(monkeypatch, None)
    build_site(results, site)
    counter.undo()
    return counter.log


def _set_version(results: Path, version: int) -> None:
    """Evidence for site version 0 or 1 (they differ in one verdict, so in summary.json)."""
    rec = damaged("q03.feature-map-sizes", ("verdicts", 0, "verdict"), ("supported", "contradicted")[version])
    write_record(results, "q03.feature-map-sizes", rec)


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_publish_killed_at_every_step_keeps_a_complete_site(tmp_path: Path, monkeypatch, exchange: bool):
    """Every k for :func:`publish` with a small writer; with the exchange and with the fallback."""
    if not exchange:
        monkeypatch.setattr(publish, "_EXCHANGE", None)
    target = tmp_path / "out" / "site"

    def writer(version):
        def w(tmp: Path) -> None:
            (tmp / "a.txt").write_text(version)
            (tmp / "sub").mkdir()
            (tmp / "sub" / "b.txt").write_text(version)
        return w

    publish.publish(target, writer("old"))
    counter = KillAt(monkeypatch, None)
    publish.publish(target, writer("new"))
    counter.undo()
    publish.publish(target, writer("old"))
    steps = counter.n
    assert steps >= 8
    gaps: list[int] = []
    for k in range(1, steps + 1):
        kill = KillAt(monkeypatch, k)
        with pytest.raises(Killed):
            publish.publish(target, writer("new"))
        kill.undo()
        if not exchange:
            monkeypatch.setattr(publish, "_EXCHANGE", None)
        if exchange or target.exists():
            # at every instant a complete version is at the path
            assert (target / "a.txt").read_text() == (target / "sub" / "b.txt").read_text() in ("old", "new"), k
        else:  # the fallback's one gap: between its two renames; the complete old version is kept aside
            (leftover_old,) = target.parent.glob(".site-old-*")
            assert (leftover_old / "a.txt").read_text() == (leftover_old / "sub" / "b.txt").read_text() == "old"
            gaps.append(k)
        with monkeypatch.context() as m:
            m.setattr(publish, "_pid_alive", lambda pid: False)
            publish.recover(target)
            assert (target / "a.txt").read_text() == (target / "sub" / "b.txt").read_text() in ("old", "new"), k
            publish.publish(target, writer("old"))
        assert sorted(p.name for p in target.parent.iterdir()) == ["site"], k
        assert (target / "a.txt").read_text() == "old"
    assert len(gaps) == (0 if exchange else 1)  # the fallback has exactly one step where the path is empty


def _two_site_versions(tmp_path: Path) -> tuple[Path, Path, list[tuple[frozenset, str]]]:
    """A results folder, its site path, and the site states of versions 0 and 1 (version 1 left built)."""
    results = make_results(tmp_path / "res")
    site = tmp_path / "site"
    states = []
    for v in (0, 1):
        _set_version(results, v)
        build_site(results, site)
        states.append(site_state(site))
    return results, site, states


def _build_kill_test(tmp_path: Path, monkeypatch, every: bool) -> int:
    """Kill ``build_site`` at step k; a complete site of either version must be at the path, and
    the next build (by a new process: the killed one's PID is gone) leaves nothing beside it."""
    results, site, states = _two_site_versions(tmp_path)
    assert states[0] != states[1]
    log = _count_steps(results, site, monkeypatch)
    n = len(log)
    swap = log.index("exchange") + 1
    # default tier: one step in the middle of the writing, the exchange itself and the step after it
    ks = range(1, n + 1) if every else [n // 2, swap, swap + 1]
    current = 1  # the version now at the path
    for k in ks:
        target = 1 - current
        _set_version(results, target)
        kill = KillAt(monkeypatch, k)
        try:
            build_site(results, site)
            finished = True
        except Killed:
            finished = False
        kill.undo()
        assert site.is_dir(), f"no site at the path after a kill at step {k} ({log[k - 1]})"
        state = site_state(site)
        assert state in states, f"kill at step {k} ({log[k - 1]}): the site at the path is incomplete"
        assert finished or state == states[current] or k > swap, k
        with monkeypatch.context() as m:
            m.setattr(publish, "_pid_alive", lambda pid: False)
            build_site(results, site)
        assert site_state(site) == states[target]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "site"], f"orphans after a kill at step {k}"
        current = target
    return n


def test_build_site_killed_around_the_swap_keeps_a_complete_site(tmp_path, monkeypatch):
    assert _build_kill_test(tmp_path, monkeypatch, every=False) > 20


@pytest.mark.slow
def test_build_site_killed_at_every_step_keeps_a_complete_site(tmp_path, monkeypatch):
    assert _build_kill_test(tmp_path, monkeypatch, every=True) > 20


def test_leftovers_of_killed_runs_are_cleaned(tmp_path: Path, monkeypatch):
    results = make_results(tmp_path / "res")
    site = tmp_path / "site"
    build_site(results, site)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    for name in (f".site-old-{pid}", f".site-tmp-{pid}-x1y2", ".site-tmp-abcd_123", ".site-r9469_gt"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text("half")
    (tmp_path / ".other-tmp-1-x").mkdir()  # not ours: left alone
    build_site(results, site)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other-tmp-1-x", "res", "site"]
    # an old version left aside where the site is missing is put back first
    shutil.move(str(site), tmp_path / f".site-old-{pid}")
    publish.recover(site)
    assert (site / SITE_MARKER).is_file() and not (tmp_path / f".site-old-{pid}").exists()


# --------------------------------------------------------------------------- evidence folders


R = {"en": "a rule", "zh": "规则"}


@pytest.fixture
def toy(monkeypatch):
    """A throw-away experiment against q03's first claim whose behaviour the test sets."""
    from dlfaq.experiments import Evidence, check
    from dlfaq.experiments._core import _REGISTRY, experiment

    monkeypatch.setattr("dlfaq.experiments._core.expected_claims", lambda spec: ["q03.conv-output-formula"])
    state = {"mode": "ok", "n": 0}

    def fn(ctx):
        state["n"] += 1
        if state["mode"] == "fail":
            raise RuntimeError("the seed was -1, say")
        if state["mode"] == "interrupt":
            raise KeyboardInterrupt
        ev = Evidence(metrics={"n": state["n"]})
        ev.add(check("q03.conv-output-formula", True, rule=R, reason=R))
        return ev

    experiment(3, "toy-safe", title="toy")(fn)
    yield _REGISTRY["q03.toy-safe"], state
    _REGISTRY.pop("q03.toy-safe", None)


def test_a_failed_run_keeps_the_good_evidence_and_says_so(tmp_path: Path, toy, capsys):
    from dlfaq.experiments import RunContext, load_evidence, run_experiment
    from dlfaq.experiments.schema import read_evidence

    spec, state = toy
    ctx = RunContext(out_dir=tmp_path)
    assert run_experiment(spec, ctx)["status"] == "ok"
    folder = tmp_path / "q03" / "toy-safe"
    good = (folder / "evidence.json").read_bytes()
    state["mode"] = "fail"
    rec = run_experiment(spec, ctx)
    assert rec["status"] == "failed"
    assert (folder / "evidence.json").read_bytes() == good  # not replaced by the failed record
    failed = json.loads((folder / "evidence.failed.json").read_text())
    assert "seed was -1" in failed["error"] and failed["started"]
    got = read_evidence(tmp_path, "q03.toy-safe")
    assert got.record["metrics"] == {"n": 1} and "seed was -1" in got.later_failure["error"]
    assert "later run" in got.shown()["notes"]  # the report's page says it
    state["mode"] = "ok"
    run_experiment(spec, ctx)
    assert load_evidence(tmp_path, "q03.toy-safe")["metrics"] == {"n": 3}
    assert not (folder / "evidence.failed.json").exists()
    assert sorted(p.name for p in (tmp_path / "q03").iterdir()) == ["toy-safe"]
    assert (folder.stat().st_mode & 0o777) == publish.normal_dir_mode()


def test_show_says_a_later_run_failed(tmp_path: Path, toy):
    from dlfaq.experiments import RunContext, run_experiment

    spec, state = toy
    results = make_results(tmp_path / "res")
    write_record(results, "q03.feature-map-sizes")
    (results / "q03" / "feature-map-sizes" / "evidence.failed.json").write_text(
        json.dumps({"error": "ValueError: seed must be >= 0", "started": "2026-12-01T10:00:00"}))
    code, out, err = cli("show", "3", "--out", str(results))
    assert code == 0 and err == ""
    assert "a later run (2026-12-01T10:00:00) failed (ValueError: seed must be >= 0)" in out
    assert "evidence q03.feature-map-sizes: profile quick, seed 0, ran 2026-01-01T00:00:00" in out
    del spec, state, run_experiment, RunContext


def test_an_interrupted_run_leaves_the_evidence_and_no_temp_folder(tmp_path: Path, toy):
    from dlfaq.experiments import RunContext, load_evidence, run_experiment

    spec, state = toy
    ctx = RunContext(out_dir=tmp_path)
    run_experiment(spec, ctx)
    state["mode"] = "interrupt"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(spec, ctx)
    assert load_evidence(tmp_path, "q03.toy-safe")["metrics"] == {"n": 1}
    assert sorted(p.name for p in (tmp_path / "q03").iterdir()) == ["toy-safe"]


def test_evidence_swap_killed_at_every_step(tmp_path: Path, toy, monkeypatch):
    from dlfaq.experiments import RunContext, load_evidence, run_experiment

    spec, state = toy
    ctx = RunContext(out_dir=tmp_path)
    run_experiment(spec, ctx)
    counter = KillAt(monkeypatch, None)
    run_experiment(spec, ctx)
    counter.undo()
    steps = counter.n
    assert steps >= 5
    for k in range(1, steps + 1):
        before = load_evidence(tmp_path, "q03.toy-safe")["metrics"]["n"]
        kill = KillAt(monkeypatch, k)
        try:
            run_experiment(spec, ctx)
        except Killed:
            pass
        kill.undo()
        after = load_evidence(tmp_path, "q03.toy-safe")  # complete: it passes the schema check
        assert after is not None and after["metrics"]["n"] in (before, state["n"]), k
        with monkeypatch.context() as m:
            m.setattr(publish, "_pid_alive", lambda pid: False)
            run_experiment(spec, ctx)
        assert sorted(p.name for p in (tmp_path / "q03").iterdir()) == ["toy-safe"], k
        assert sorted(p.name for p in (tmp_path / "q03" / "toy-safe").iterdir()) == ["evidence.json"], k


def test_old_style_evidence_leftovers_are_cleaned_by_report(world: Path):
    q3 = world / "res" / "q03"
    (q3 / ".feature-map-sizes-r9469_gt").mkdir()
    (q3 / ".feature-map-sizes-old-99999999").mkdir()
    code, _, err = cli("report", "--no-run", "--out", "res")
    assert code == 0, err
    assert sorted(p.name for p in q3.iterdir()) == ["feature-map-sizes"]


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_report_exits_130_and_keeps_nothing_half_written(world: Path, monkeypatch):
    from dlfaq.report import build

    code, _, err = cli("report", "--no-run", "--out", "res")
    assert code == 0, err
    site = world / "res" / "site"
    before = site_state(site)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "_write_site", interrupted)
    code, out, err = cli("report", "--no-run", "--out", "res")
    assert code == 130 and len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert site_state(site) == before
    assert sorted(p.name for p in site.parent.iterdir()) == [".dlfaq-results", "q03", "q18", "site"]


def test_the_site_page_says_a_later_run_failed(tmp_path: Path):
    results = make_results(tmp_path / "res")
    (results / "q03" / "feature-map-sizes" / "evidence.failed.json").write_text(
        json.dumps({"error": "ValueError: seed must be >= 0", "started": "2026-12-01T10:00:00"}))
    site = build_site(results, results / "site")
    page = (site / "q03.html").read_text(encoding="utf-8")
    assert "A later run of this experiment failed" in page and "seed must be &gt;= 0" in page


@pytest.mark.slow
def test_report_killed_by_sigkill_at_random_moments(tmp_path: Path):
    """Real kills: a child process rebuilds the site in a loop and is SIGKILLed at random moments."""
    import random
    import signal
    import time

    results, site, states = _two_site_versions(tmp_path)
    script = (
        "import sys; sys.path.insert(0, sys.argv[3])\n"
        "from pathlib import Path\n"
        "from dlfaq.report import build_site, collect\n"
        "from _evidence import write_record, damaged\n"
        "res, site = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "views = []\n"
        "for v in ('supported', 'contradicted'):\n"
        "    write_record(res, 'q03.feature-map-sizes', damaged('q03.feature-map-sizes', ('verdicts', 0, 'verdict'), v))\n"
        "    views.append(collect(res))\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    build_site(res, site, views=views[i % 2]); i += 1\n"
    )
    rng = random.Random(0)
    tests_dir = str(Path(__file__).parents[1])  # where _evidence.py is
    for trial in range(12):
        p = subprocess.Popen([sys.executable, "-c", script, str(results), str(site), tests_dir],
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 2.5))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert site_state(site) in states, f"trial {trial}: incomplete site after a SIGKILL"
        build_site(results, site)  # the next run
        assert sorted(q.name for q in tmp_path.iterdir()) == ["res", "site"], f"trial {trial}: orphans"
