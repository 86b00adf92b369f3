"""dlfaq.doctor.imports: one project fixture per import failure, its finding, and its printed fixes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dlfaq.doctor import fixtures, trials
from dlfaq.doctor.findings import Report
from dlfaq.doctor.imports import Invocation, diagnose_import, parse_invocation
from dlfaq.doctor.sandbox import apply_import_fix


def _diag(case: fixtures.ImportCase) -> Report:
    return diagnose_import(case.name, case.project, script=case.script, env=case.env)


def _runs(inv: Invocation) -> bool:
    return trials.run_script(inv, timeout=60)[0] == 0


@pytest.mark.parametrize("name", list(fixtures.IMPORT_CASES))
def test_each_failure_kind_is_diagnosed(tmp_path: Path, name: str) -> None:
    _, expected, _ = fixtures.IMPORT_CASES[name]
    case = fixtures.build_import(name, tmp_path / name)
    rep = _diag(case)
    # The fixture really is broken (or healthy) when run as a user would run it.
    assert _runs(case.invocation()) is (expected is None)
    if expected is None:
        assert rep.healthy and rep.codes() == []
        assert any(f.code == "resolves" for f in rep.findings)
    else:
        assert rep.codes() == [expected], rep.render()
        assert rep.exit_code == 1


def test_locations_are_reported(tmp_path: Path) -> None:
    rep = _diag(fixtures.build_import("syntax-error", tmp_path / "s"))
    f = rep.problems[0]
    assert f.data["file"].endswith("mypkg/models.py") and f.data["line"] == 2
    rep = _diag(fixtures.build_import("dependency-missing", tmp_path / "d"))
    f = rep.problems[0]
    assert f.data["missing"] == "dlfaq_fixture_missing_dep" and f.data["at"].endswith("mypkg/io.py:1")
    rep = _diag(fixtures.build_import("circular", tmp_path / "c"))
    chain = " ".join(rep.problems[0].data["chain"])
    assert "models.py:1" in chain and "losses.py:1" in chain


def test_not_on_path_fixes_are_in_order_of_preference(tmp_path: Path) -> None:
    case = fixtures.build_import("script-in-subfolder", tmp_path / "p")
    (f,) = _diag(case).problems
    assert f.alternatives
    assert "pip install -e" in f.fix[0] and " -m scripts.train" in f.fix[1] and f.fix[2].startswith("PYTHONPATH=")
    assert "sys.path.append" in f.fix_note and "CONTAINS" in f.fix_note


def test_installed_elsewhere_names_the_other_interpreter(tmp_path: Path) -> None:
    case = fixtures.build_import("installed-elsewhere", tmp_path / "e")
    (f,) = _diag(case).problems
    assert f.data["python"] == str(case.project / ".venv/bin/python")
    assert f.data["where"].endswith("fancylib/__init__.py")


FIXABLE = [n for n, (_, _, fixable) in fixtures.IMPORT_CASES.items() if fixable]


@pytest.mark.parametrize("name", FIXABLE)
def test_printed_fixes_make_the_project_healthy(tmp_path: Path, name: str) -> None:
    """Every printed fix that can be applied offline (pip -e: see the slow test) leaves a working project."""
    case = fixtures.build_import(name, tmp_path / name)
    outcomes = trials.try_import_fixes(name, case, _diag(case), tmp_path, allow_pip=False)
    refused = [o.refused for o in outcomes if o.refused]
    assert all("network" in r for r in refused), refused  # pip install NAME / pip install -e: not done here
    applied = [o for o in outcomes if not o.refused]
    assert applied and all(o.healthy and o.exit_code == 0 for o in applied), applied


@pytest.mark.slow
@pytest.mark.parametrize("name", ["script-in-subfolder", "src-layout"])
def test_editable_install_fix(tmp_path: Path, name: str) -> None:
    case = fixtures.build_import(name, tmp_path / name)
    line = _diag(case).problems[0].fix[0]
    assert "pip install -e" in line
    inv = apply_import_fix(line, case.project, case.invocation())
    assert diagnose_import(case.name, invocation=inv).healthy
    assert _runs(inv)


def test_parse_invocation() -> None:
    base = Invocation(cwd=Path("/p"), script=Path("scripts/t.py"))
    inv = parse_invocation("cd /p && /usr/bin/python3 -m scripts.t", base)
    assert inv is not None and inv.module == "scripts.t" and inv.script is None and inv.path0 == "/p"
    inv = parse_invocation("PYTHONPATH=/p/src python3 /p/run.py", base)
    assert inv is not None and inv.env["PYTHONPATH"] == "/p/src" and inv.path0 == "/p"
    assert parse_invocation("touch /p/x/__init__.py", base) is None
    assert Invocation(cwd=Path("/p"), script=Path("scripts/t.py")).path0 == "/p/scripts"


def test_probe_is_not_broken_by_a_local_json_module(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text("raise RuntimeError('my json')\n")
    (tmp_path / "mymod.py").write_text("X = 1\n")
    rep = diagnose_import("mymod", tmp_path)
    assert rep.healthy, rep.render()


def _dlfaq(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dlfaq", *args], capture_output=True, text=True, timeout=120)


def test_cli_doctor_import(tmp_path: Path) -> None:
    case = fixtures.build_import("script-in-subfolder", tmp_path / "p")
    p = _dlfaq("doctor", "import", "mypkg.models", "--project", str(case.project), "--script", "scripts/train.py")
    assert p.returncode == 1, p.stderr
    assert "not on sys.path" in p.stdout and "pip install -e" in p.stdout
    p = _dlfaq("doctor", "import", "mypkg", "--project", str(case.project), "--json")
    assert p.returncode == 0
    assert json.loads(p.stdout)["healthy"] is True
    p = _dlfaq("doctor", "import", "not a name")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = _dlfaq("doctor", "import", "x", "--project", str(tmp_path / "missing"))
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_local_torch_py_shadows_installed_torch(tmp_path: Path) -> None:
    (tmp_path / "torch.py").write_text("# my notes on torch\n")
    (tmp_path / "train.py").write_text("import torch\nprint(torch.zeros(1))\n")
    rep = diagnose_import("torch", tmp_path, script="train.py")
    (f,) = rep.problems
    assert f.code == "shadowed-by-local" and f.data["local"] == str(tmp_path / "torch.py")
    assert "site-packages" in f.data["real"]
    assert f.fix == (f"mv {tmp_path / 'torch.py'} {tmp_path / 'torch_local.py'}",)


def test_namespace_package_that_imports_is_reported_as_info(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "plot.py").write_text("X = 1\n")
    rep = diagnose_import("tools.plot", tmp_path)
    assert rep.healthy
    assert any(f.code == "namespace-package" for f in rep.findings)
