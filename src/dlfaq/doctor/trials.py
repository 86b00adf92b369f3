"""Trying fixes on the doctor's fixtures: build a broken case, diagnose it, apply commands, check again.

The one front-end that the Q1 and Q2 experiments, their notebooks and the tests share to
answer "does this fix work?":

* a CUDA case (:func:`cuda_trial`): the doctor's printed commands applied in the case's tree
  by :class:`~dlfaq.doctor.sandbox.Sandbox`, then the doctor run again, then once more after
  the plain ``ldconfig`` a later package installation would run (:func:`try_commands`);
* an import case (:func:`import_trial`): the entry script run for real (:func:`run_script`),
  every printed fix applied in a fresh copy of the project (:func:`try_import_fixes`) and the
  script run again; the FAQ's own remedy, ``sys.path.append`` at the top of the entry script,
  is tried the same way (:func:`try_sys_path_append`).

Every command is applied inside a case folder made by :mod:`dlfaq.doctor.fixtures` (the
sandbox refuses what it cannot confine there) and scripts run only in those folders: nothing
here changes the system.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlfaq.doctor import fixtures
from dlfaq.doctor.findings import Report
from dlfaq.doctor.imports import Invocation, diagnose_import, find_in_project
from dlfaq.doctor.sandbox import MARKER, Sandbox, SandboxError, apply_import_fix


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A new temporary folder for cases and their copies, removed on exit whatever happened."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def detected(rep: Report, expected: str | None) -> bool:
    """Did the doctor report the case's planted fault (for a healthy case: no problem at all)?"""
    return (expected in rep.codes()) if expected else rep.healthy


# --------------------------------------------------------------------------- CUDA cases


def apply_commands(sb: Sandbox, cmds: Iterable[str]) -> str:
    """Apply ``cmds`` in order; '' when all were applied, else why one was refused (later ones are not tried)."""
    for c in cmds:
        try:
            sb.apply(c)
        except SandboxError as exc:
            return f"refused: {exc}"
    return ""


def rebuild_cache(sb: Sandbox) -> None:
    """The plain ``ldconfig`` any later package installation runs: it forgets what ``ldconfig DIR`` added."""
    sb.apply(f"sudo ldconfig -r {sb.root}")


@dataclass(frozen=True)
class FixOutcome:
    """What applying a list of commands to a CUDA case did."""

    refused: str  # '' when every command was applied, else why one was not
    healthy: bool  # every command applied and the doctor finds no problem right after
    lasts: bool  # ... and still none after a later plain ldconfig


def try_commands(sb: Sandbox, cmds: Iterable[str]) -> FixOutcome:
    """Apply ``cmds`` to the case, diagnose, then rebuild the linker cache as a later install would and diagnose."""
    refused = apply_commands(sb, cmds)
    healthy = not refused and sb.diagnose().healthy
    lasts = False
    if healthy:
        rebuild_cache(sb)
        lasts = sb.diagnose().healthy
    return FixOutcome(refused, healthy, lasts)


@dataclass(frozen=True)
class CudaTrial:
    """One CUDA case: what the doctor found and whether its printed fix commands repair the tree."""

    name: str
    expected: str | None  # the finding the case is built to produce (None: a healthy case)
    report: Report
    fix_commands: tuple[str, ...]
    outcome: FixOutcome | None  # None: no command to test (a healthy case, or one that needs a reboot)

    @property
    def detected(self) -> bool:
        return detected(self.report, self.expected)


def cuda_trial(name: str, work: Path) -> CudaTrial:
    """Build CUDA case ``name`` in ``work/name``, diagnose it, and apply the printed fixes there."""
    sb = Sandbox(fixtures.build(name, work / name))
    rep = sb.diagnose()
    cmds = tuple(rep.fix_commands())
    outcome = try_commands(sb, cmds) if name in fixtures.FIXABLE else None
    return CudaTrial(name, fixtures.CASES[name][1], rep, cmds, outcome)


# --------------------------------------------------------------------------- import cases


def run_script(inv: Invocation, timeout: float = 120.0) -> tuple[int, str]:
    """Run the invocation for real in a fresh interpreter; (exit code, last line of its stderr).

    Only inside a case folder (one made by :mod:`dlfaq.doctor.fixtures`, or a folder below it):
    a fixture's script is meant to be run, a user's project is not the doctor's to run.
    """
    if inv.module is None and inv.script is None:
        raise ValueError("the invocation names neither a script nor a module")
    cwd = Path(inv.cwd).resolve()
    if not any((d / MARKER).is_file() for d in (cwd, *cwd.parents)):
        raise SandboxError(f"{cwd} is not inside a case folder (no {MARKER}); run_script runs fixtures only")
    env = {**os.environ, **inv.env}
    argv = [inv.python] + (["-m", inv.module] if inv.module else [str(inv.script)])
    p = subprocess.run(argv, cwd=str(inv.cwd), env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return p.returncode, (p.stderr.strip().splitlines() or [""])[-1]


def edit_script(case: fixtures.ImportCase, head: str) -> None:
    """Write ``head`` (lines of code) at the top of the case's entry script."""
    script = case.project / str(case.script)
    script.write_text(head.rstrip("\n") + "\n" + script.read_text())


@dataclass(frozen=True)
class ImportFixOutcome:
    """One printed fix of an import finding, applied in a fresh copy of the project."""

    code: str  # the finding it fixes
    index: int  # its place among that finding's fixes, from 1
    line: str  # the command as printed for the diagnosed copy
    refused: str = ""  # why it could not be applied here ('' when it was)
    healthy: bool = False  # afterwards the doctor finds no problem
    exit_code: int | None = None  # afterwards the script exits with this
    seconds: float = 0.0  # applying it, diagnosing and running the script

    @property
    def works(self) -> bool:
        return not self.refused and self.healthy and self.exit_code == 0


def try_import_fixes(name: str, case: fixtures.ImportCase, rep: Report, work: Path, *,
                     allow_pip: bool = True) -> list[ImportFixOutcome]:
    """Apply every printed fix of ``rep`` (the diagnosis of import case ``name`` built as ``case``).

    Each fix gets its own fresh build of the case in ``work`` (``NAME-CODE-fixI``), with the
    diagnosed copy's paths in the command rewritten to it; then the doctor and the script run
    again. ``allow_pip=False`` refuses ``pip install -e`` (it builds a throw-away venv).
    """
    out: list[ImportFixOutcome] = []
    for f in rep.problems:
        for i, line in enumerate(f.fix):
            copy = fixtures.build_import(name, work / f"{name}-{f.code}-fix{i}")
            t0 = time.perf_counter()
            try:
                inv = apply_import_fix(line.replace(str(case.project), str(copy.project)), copy.project,
                                       copy.invocation(), allow_pip_editable=allow_pip)
            except SandboxError as exc:
                out.append(ImportFixOutcome(f.code, i + 1, line, refused=str(exc)))
                continue
            healthy = diagnose_import(copy.name, invocation=inv).healthy
            rc, _ = run_script(inv)
            out.append(ImportFixOutcome(f.code, i + 1, line, "", healthy, rc, time.perf_counter() - t0))
    return out


@dataclass(frozen=True)
class ImportTrial:
    """One import case: how its script fails, what the doctor found, and which printed fixes work."""

    name: str
    expected: str | None  # the finding the case is built to produce (None: a healthy case)
    case: fixtures.ImportCase
    exit_code: int  # of the entry script as the user runs it
    error: str  # the last line of its stderr
    report: Report
    fixes: tuple[ImportFixOutcome, ...]

    @property
    def detected(self) -> bool:
        return detected(self.report, self.expected)

    @property
    def fix_works(self) -> bool | None:
        """Some printed fix works (True), none of those applied does (False), none could be applied (None)."""
        applied = [f for f in self.fixes if not f.refused]
        return any(f.works for f in applied) if applied else None

    @property
    def probe_error(self) -> dict[str, Any]:
        """The import error the doctor's probe saw (empty when the import worked)."""
        return dict(self.report.facts["probe"].get("error") or {})

    @property
    def own_module_missing(self) -> bool:
        """The failure the FAQ speaks of: ModuleNotFoundError for a module that lives in the project."""
        err = self.probe_error
        missing = (err.get("name") or "").split(".")[0]
        return (not self.report.facts["probe"].get("ok", True)) and err.get("type") == "ModuleNotFoundError" \
            and bool(missing) and bool(find_in_project(self.case.project, missing))


def import_trial(name: str, work: Path, *, allow_pip: bool = True) -> ImportTrial:
    """Build import case ``name`` in ``work/name``, run its script, diagnose it, try every printed fix."""
    case = fixtures.build_import(name, work / name)
    rc, err = run_script(case.invocation())
    rep = diagnose_import(case.name, case.project, script=case.script, env=case.env)
    fixes = try_import_fixes(name, case, rep, work, allow_pip=allow_pip)
    return ImportTrial(name, fixtures.IMPORT_CASES[name][1], case, rc, err, rep, tuple(fixes))


def try_sys_path_append(name: str, work: Path) -> bool | None:
    """The FAQ's remedy on import case ``name``: ``sys.path.append(FOLDER)`` atop the entry script.

    Every project folder that holds the failing import's top-level module is tried, each in its
    own fresh copy in ``work``; True as soon as one makes the script run, False when none does,
    None when the project holds no such folder (the module is not the project's own).
    """
    probe = fixtures.build_import(name, work / "probe")
    error = diagnose_import(probe.name, probe.project, script=probe.script, env=probe.env).facts["probe"].get("error")
    missing = ((error or {}).get("name") or probe.name).split(".")[0]
    homes = find_in_project(probe.project, missing)
    if not homes:
        return None
    for i, home in enumerate(homes):
        copy = fixtures.build_import(name, work / f"home{i}")
        folder = copy.project / home.relative_to(probe.project.resolve())
        edit_script(copy, f"import sys\nsys.path.append({str(folder)!r})")
        if run_script(copy.invocation())[0] == 0:
            return True
    return False
