"""dlfaq.doctor.trials: the front-end that builds a case, applies fixes in it and checks again."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlfaq.doctor import fixtures, trials
from dlfaq.doctor.imports import Invocation
from dlfaq.doctor.sandbox import Sandbox, SandboxError


def test_scratch_folder_is_removed_even_when_the_body_fails() -> None:
    with pytest.raises(RuntimeError), trials.scratch("dlfaq-test-") as tmp:
        (tmp / "x").write_text("x")
        seen = tmp
        raise RuntimeError
    assert seen.name.startswith("dlfaq-test-") and not seen.exists()


def test_cuda_trial_repairs_a_fixable_case_and_leaves_the_rest_untested(tmp_path: Path) -> None:
    t = trials.cuda_trial("folder-unknown", tmp_path)
    assert t.detected and t.report.codes() == ["folder-unknown-to-linker"]
    assert t.fix_commands[0].startswith("echo /opt/cudnn/lib | sudo tee ") and "ldconfig -r" in t.fix_commands[1]
    assert t.outcome == trials.FixOutcome(refused="", healthy=True, lasts=True)
    # no command fixes a driver that is not loaded, and a healthy case has nothing to fix
    for name in ("driver-not-loaded", "healthy"):
        t = trials.cuda_trial(name, tmp_path)
        assert t.detected and t.outcome is None


def test_try_commands_tells_a_fix_that_lasts_from_one_that_does_not(tmp_path: Path) -> None:
    sb = Sandbox(fixtures.build("folder-unknown", tmp_path / "c"), real_ldconfig=False)
    o = trials.try_commands(sb, [f"sudo ldconfig -r {sb.root} /opt/cudnn/lib"])
    assert o == trials.FixOutcome(refused="", healthy=True, lasts=False)  # the next plain ldconfig forgets it


def test_a_refused_command_stops_the_list_and_counts_as_not_healthy(tmp_path: Path) -> None:
    case = fixtures.build("healthy", tmp_path / "c")
    sb = Sandbox(case, real_ldconfig=False)
    o = trials.try_commands(sb, [f"chmod 777 {case}", f"touch {case}/root/after"])
    assert o.refused.startswith("refused: ") and "chmod" in o.refused
    assert not o.healthy and not o.lasts  # the tree was healthy, but the fix did not go through
    assert not (case / "root/after").exists()


def test_detected_means_the_planted_code_or_no_problem_for_a_healthy_case(tmp_path: Path) -> None:
    broken = Sandbox(fixtures.build("cudnn-copied", tmp_path / "b"), real_ldconfig=False).diagnose()
    healthy = Sandbox(fixtures.build("healthy", tmp_path / "h"), real_ldconfig=False).diagnose()
    assert trials.detected(broken, "soname-not-symlink") and not trials.detected(broken, "broken-symlink")
    assert not trials.detected(broken, None) and trials.detected(healthy, None)


def test_run_script_reports_exit_code_and_last_error_line(tmp_path: Path) -> None:
    case = fixtures.build_import("script-in-subfolder", tmp_path / "p")
    rc, err = trials.run_script(case.invocation())
    assert rc == 1 and err == "ModuleNotFoundError: No module named 'mypkg'"
    assert trials.run_script(Invocation(cwd=case.project, module="mypkg.models")) == (0, "")
    with pytest.raises(ValueError, match="neither"):
        trials.run_script(Invocation(cwd=case.project))


def test_run_script_runs_nothing_outside_a_case_folder(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("open('ran', 'w').close()\n")
    with pytest.raises(SandboxError, match="not inside a case folder"):
        trials.run_script(Invocation(cwd=tmp_path, script=Path("app.py")))
    assert not (tmp_path / "ran").exists()


def test_import_trial_applies_every_printed_fix_in_its_own_copy(tmp_path: Path) -> None:
    t = trials.import_trial("script-in-subfolder", tmp_path, allow_pip=False)
    assert t.exit_code == 1 and t.detected and t.own_module_missing
    assert t.probe_error["type"] == "ModuleNotFoundError" and t.probe_error["name"] == "mypkg"
    assert [(o.code, o.index) for o in t.fixes] == [("not-on-sys-path", i) for i in (1, 2, 3)]
    pip, *others = t.fixes
    assert "pip install -e" in pip.line and "network" in pip.refused and not pip.works
    assert all(o.works and o.exit_code == 0 and o.seconds > 0 for o in others)
    assert t.fix_works is True
    # each fix ran in a copy of its own; the diagnosed project is left as it was
    assert {p.name for p in tmp_path.iterdir()} == {
        "script-in-subfolder", *(f"script-in-subfolder-not-on-sys-path-fix{i}" for i in range(3))}
    assert trials.run_script(t.case.invocation())[0] == 1


def test_import_trial_without_a_printed_command(tmp_path: Path) -> None:
    t = trials.import_trial("syntax-error", tmp_path)
    assert t.detected and t.fixes == () and t.fix_works is None
    assert not t.own_module_missing  # a bug in the code, not a module Python cannot find


def test_sys_path_append_helps_a_missing_folder_not_a_shadowed_namespace(tmp_path: Path) -> None:
    assert trials.try_sys_path_append("script-in-subfolder", tmp_path / "a") is True
    assert trials.try_sys_path_append("namespace-shadowed", tmp_path / "b") is False
    # the missing module is a third-party dependency: no project folder holds it
    assert trials.try_sys_path_append("dependency-missing", tmp_path / "c") is None


def test_edit_script_puts_lines_above_the_original(tmp_path: Path) -> None:
    case = fixtures.build_import("healthy", tmp_path / "h")
    before = (case.project / "train.py").read_text()
    trials.edit_script(case, "import sys\nprint('first')\n")
    assert (case.project / "train.py").read_text() == "import sys\nprint('first')\n" + before
