"""Q2: projects with each kind of import failure; the doctor's fixes vs the page's ``sys.path.append``.

Every import case of :mod:`dlfaq.doctor.fixtures` is built in a temporary
folder and its entry script is run for real. ``dlfaq doctor import`` then
diagnoses it; each printed fix is applied in a fresh copy
(:func:`dlfaq.doctor.sandbox.apply_import_fix`: a changed way of running
Python, a file renamed or created inside the project, or ``pip install -e``
into a throw-away venv) and the script is run again. The page's remedy is
applied by writing ``import sys; sys.path.append(...)`` at the top of the
entry script, once for every project folder that holds the missing module.

Whether a script runs is exact, so both verdicts are ``check``\\ s. The rules
test what the page says (a module *of your own* that Python cannot find);
a package that shares its name with an installed library or with the standard
library is outside that, and is reported as information only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlfaq.doctor import fixtures
from dlfaq.doctor.imports import Invocation, diagnose_import, find_in_project
from dlfaq.doctor.sandbox import SandboxError, apply_import_fix
from dlfaq.experiments._core import Evidence, RunContext, check, experiment

SMOKE_CASES = ["healthy", "script-in-subfolder", "src-layout", "shadow-stdlib", "syntax-error"]
#: The page's situation: the folder that holds your package is not on sys.path.
NOT_ON_PATH = "not-on-sys-path"
#: Why appending cannot help, for the fixtures where it is known not to (said in the reason when they fail).
WHY_APPEND_FAILS = {
    "namespace-shadowed": {
        "en": "In namespace-shadowed the own folder has no __init__.py, so a regular package of the same name "
              "elsewhere on sys.path wins wherever the folder is appended; the doctor's fix is an __init__.py.",
        "zh": "namespace-shadowed 里自己的目录没有 __init__.py,sys.path 上别处一个同名的普通包总是优先,"
              "无论把目录追加到哪里;doctor 给出的修复是补一个 __init__.py。",
    },
}


# --------------------------------------------------------------------------- running scripts


def run_script(inv: Invocation) -> tuple[int, str]:
    """Run the invocation for real; (exit code, last line of stderr)."""
    env = dict(os.environ)
    env.update(inv.env)
    argv = [inv.python] + (["-m", inv.module] if inv.module else [str(inv.script)])
    p = subprocess.run(argv, cwd=str(inv.cwd), env=env, capture_output=True, text=True, timeout=120, check=False)
    last = (p.stderr.strip().splitlines() or [""])[-1]
    return p.returncode, last


def invocation(case: fixtures.ImportCase) -> Invocation:
    return Invocation(cwd=case.project, script=Path(case.script) if case.script else None, env=dict(case.env))


def prepend(case: fixtures.ImportCase, line: str) -> None:
    """Write ``import sys`` and ``line`` at the top of the case's entry script (the page's 'entry point')."""
    script = case.project / str(case.script)
    script.write_text(f"import sys\n{line}\n" + script.read_text())


def append_runs(name: str, dest: Path) -> bool | None:
    """The page's remedy on a fresh copy: does appending some project folder that holds the module help?

    Every folder of the project that holds the missing name's top-level module is tried, each in its
    own copy; None when the project holds no such folder."""
    probe = fixtures.build_import(name, dest / "probe")
    missing = (probe_error(probe).get("name") or probe.name).split(".")[0]
    homes = find_in_project(probe.project, missing)
    if not homes:
        return None
    for i, home in enumerate(homes):
        c = fixtures.build_import(name, dest / f"home{i}")
        folder = c.project / home.relative_to(probe.project.resolve())
        prepend(c, f"sys.path.append({str(folder)!r})")
        if run_script(invocation(c))[0] == 0:
            return True
    return False


def probe_error(case: fixtures.ImportCase) -> dict[str, Any]:
    rep = diagnose_import(case.name, case.project, script=case.script, env=case.env)
    return rep.facts["probe"].get("error") or {}


# --------------------------------------------------------------------------- one project


@dataclass
class ProjectResult:
    name: str
    expected: str | None
    exit_code: int
    error: str
    found: list[str]
    detected: bool
    doctor_ok: bool | None
    location_ok: bool | None
    own_not_found: bool  # ModuleNotFoundError naming a module that lives in the project
    shadowed: bool  # ... but another module of that name is importable (a name clash)
    append_ok: bool | None

    def row(self) -> list[Any]:
        return [self.name, self.expected or "-", self.exit_code, self.error[:70], self.found or ["healthy"],
                self.detected, self.doctor_ok, self.location_ok, self.own_not_found, self.shadowed, self.append_ok]


def try_printed_fixes(name: str, case: fixtures.ImportCase, rep: Any, tmp: Path, allow_pip: bool,
                      fix_rows: list[list[Any]], timings: dict[str, float]) -> bool | None:
    """Apply every printed fix in a fresh copy; True if one makes the import and the script work."""
    outcomes = []
    for f in rep.problems:
        for i, line in enumerate(f.fix):
            c2 = fixtures.build_import(name, tmp / f"{name}-{f.code}-fix{i}")
            line2 = line.replace(str(case.project), str(c2.project))
            t0 = time.perf_counter()
            try:
                inv2 = apply_import_fix(line2, c2.project, invocation(c2), allow_pip_editable=allow_pip)
            except SandboxError as exc:
                fix_rows.append([name, f.code, i + 1, line, "not applied", str(exc)[:60]])
                continue
            healthy = diagnose_import(c2.name, invocation=inv2).healthy
            rc, _ = run_script(inv2)
            timings[f"fix_{name}_{i + 1}_s"] = round(time.perf_counter() - t0, 3)
            ok = healthy and rc == 0
            outcomes.append(ok)
            fix_rows.append([name, f.code, i + 1, line, "yes" if ok else "no", f"doctor healthy={healthy}, script exit={rc}"])
    return any(outcomes) if outcomes else None


def location_right(name: str, rep: Any) -> bool | None:
    """Where a code bug was reported, is the file and line right?"""
    data = {k: v for f in rep.problems for k, v in f.data.items()}
    if name == "syntax-error":
        return str(data.get("file", "")).endswith("models.py") and data.get("line") == 2
    if name == "dependency-missing":
        return str(data.get("at", "")).endswith("io.py:1")
    if name == "circular":
        chain = " ".join(data.get("chain", []))
        return "models.py:1" in chain and "losses.py:1" in chain
    return None


def run_project(name: str, tmp: Path, allow_pip: bool, fix_rows: list[list[Any]], timings: dict[str, float]) -> ProjectResult:
    _, expected, _ = fixtures.IMPORT_CASES[name]
    case = fixtures.build_import(name, tmp / name)
    rc0, err0 = run_script(invocation(case))
    rep = diagnose_import(case.name, case.project, script=case.script, env=case.env)
    detected = (expected in rep.codes()) if expected else rep.healthy
    probe = rep.facts["probe"]
    error = probe.get("error") or {}
    missing = (error.get("name") or "").split(".")[0]
    own = (not probe.get("ok", True)) and error.get("type") == "ModuleNotFoundError" and bool(missing) \
        and bool(find_in_project(case.project, missing))
    # A name clash: the failing name resolves to some regular module outside the project's own folders
    # (an installed library, the standard library, a vendored package) or to a namespace portion that loses.
    shadowed = own and expected != NOT_ON_PATH
    doctor_ok = try_printed_fixes(name, case, rep, tmp, allow_pip, fix_rows, timings)
    append_ok = append_runs(name, tmp / f"{name}-page") if own else None
    return ProjectResult(name, expected, rc0, err0, rep.codes(), detected, doctor_ok, location_right(name, rep),
                         own, shadowed, append_ok)


# --------------------------------------------------------------------------- ways of writing the line


def append_variants(tmp: Path) -> dict[str, bool]:
    """The page's line written in different ways, on a script in scripts/ importing a package at the root."""
    out: dict[str, bool] = {}
    base = fixtures.build_import("script-in-subfolder", tmp / "v-root")
    prepend(base, f"sys.path.append({str(base.project)!r})")
    out["append the project root (absolute path)"] = run_script(invocation(base))[0] == 0
    pk = fixtures.build_import("script-in-subfolder", tmp / "v-pkg")
    prepend(pk, f"sys.path.append({str(pk.project / 'mypkg')!r})")
    out["append the package folder itself (/project_path/module read literally)"] = run_script(invocation(pk))[0] == 0
    moved = tmp / "v-root-moved"
    shutil.move(str(base.project), str(moved))
    out["root appended by absolute path, project moved"] = run_script(
        Invocation(cwd=moved, script=Path(base.script or "")))[0] == 0
    rel = fixtures.build_import("script-in-subfolder", tmp / "v-file")
    prepend(rel, "from pathlib import Path\nsys.path.append(str(Path(__file__).resolve().parents[1]))")
    moved2 = tmp / "v-file-moved"
    shutil.move(str(rel.project), str(moved2))
    out["root from __file__, project moved"] = run_script(Invocation(cwd=moved2, script=Path(rel.script or "")))[0] == 0
    # Information only (not in any rule): an own package named like a standard-library one (`test`);
    # append puts the folder last, so the standard library's package wins.
    sh = fixtures.build_import("script-in-subfolder", tmp / "v-clash")
    (sh.project / "mypkg").rename(sh.project / "test")
    (sh.project / "scripts/train.py").write_text("from test.models import Net\nprint(Net)\n")
    prepend(sh, f"sys.path.append({str(sh.project)!r})")
    out["append the root, own package named like a standard-library one (test)"] = run_script(invocation(sh))[0] == 0
    return out


# --------------------------------------------------------------------------- evidence


def grid_figure(rows: list[ProjectResult]) -> Any:
    from dlfaq.experiments._plots import yes_no_grid

    cols = ["script runs\nas is", "detected", "a printed\nfix works", "location\nright", "sys.path\n.append works"]
    vals = [[r.exit_code == 0, r.detected, r.doctor_ok, r.location_ok, r.append_ok] for r in rows]
    return yes_no_grid(cols, vals, [r.name for r in rows], "Import failures: what runs, what the doctor finds, which fix works")


def judge_claims(ev: Evidence, rows: list[ProjectResult], variants: dict[str, bool]) -> None:
    # 1. The line makes your module importable, in the page's situation: its folder is not on sys.path.
    situation = [r for r in rows if r.expected == NOT_ON_PATH]
    fixed = [r.name for r in situation if r.append_ok]
    holds = bool(situation) and len(fixed) == len(situation)
    literal = variants["append the package folder itself (/project_path/module read literally)"]
    moved = variants["root appended by absolute path, project moved"]
    ev.add(check(
        "q02.append-makes-importable", holds,
        rule={"en": "On every fixture where your own package is not found because the folder that holds it is not "
                    "on sys.path (a script run from a subfolder, a src/ layout), the claim holds if writing "
                    "`import sys; sys.path.append(<that folder>)` at the top of the entry script makes the script "
                    "run in a fresh interpreter.",
              "zh": "在每个因为包所在目录不在 sys.path 上而找不到自己模块的夹具上(在子目录里运行脚本、src/ 布局),"
                    "如果在入口脚本开头写上 `import sys; sys.path.append(<该目录>)` 后脚本能在新的解释器里运行,则命题成立。"},
        reason={"en": f"Appending the folder that holds the package made {len(fixed)} of the {len(situation)} such "
                      f"projects run ({', '.join(fixed) or 'none'}). Written other ways: appending the package folder "
                      f"itself {'runs' if literal else 'fails'}; a hard-coded path {'still runs' if moved else 'fails'} "
                      "once the project moves, while a path computed from __file__ "
                      f"{'runs' if variants['root from __file__, project moved'] else 'fails'}.",
                "zh": f"追加包所在的目录后,{len(situation)} 个这类项目中有 {len(fixed)} 个能运行"
                      f"({'、'.join(fixed) or '无'})。换种写法:追加包目录本身"
                      f"{'能运行' if literal else '失败'};写死的绝对路径在项目移动后"
                      f"{'仍能运行' if moved else '失败'},而由 __file__ 算出的路径"
                      f"{'能运行' if variants['root from __file__, project moved'] else '失败'}。"},
        evidence=["cases", "append_variants"],
    ))

    # 2. Appending is *the* fix when Python cannot find your own module.
    scope = [r for r in rows if r.own_not_found]
    ok = [r.name for r in scope if r.append_ok]
    failed = [r.name for r in scope if not r.append_ok]
    holds = bool(scope) and not failed
    ev.add(check(
        "q02.append-is-the-fix", holds,
        rule={"en": "Over every fixture where Python reports your own module as not found (ModuleNotFoundError "
                    "naming a module that lives in the project), the claim holds if, in each, appending a project "
                    "folder that holds the module at the top of the entry script makes the script run. Failures "
                    "that are not 'cannot find my module' (an interpreter without the library, a local file hiding "
                    "a library, syntax errors, circular imports, missing third-party dependencies) are outside the "
                    "page's scope and not judged.",
              "zh": "在 Python 报告找不到自己模块的每个夹具上(ModuleNotFoundError,且报错的模块就在项目里),如果在入口脚本开头"
                    "追加项目中存放该模块的目录都能让脚本运行,则命题成立。不属于“找不到自己的模块”的失败(解释器里没有装库、"
                    "本地文件遮住了库、语法错误、循环导入、缺少第三方依赖)不在页面的范围内,不参与判定。"},
        reason={"en": f"Appending fixed {len(ok)} of the {len(scope)} projects whose own module was not found "
                      f"({', '.join(ok) or 'none'}); it did not fix: {', '.join(failed) or 'none'}."
                      + "".join(" " + WHY_APPEND_FAILS[n]["en"] for n in failed if n in WHY_APPEND_FAILS),
                "zh": f"在 {len(scope)} 个找不到自己模块的项目中,追加路径修好了 {len(ok)} 个({'、'.join(ok) or '无'});"
                      f"没有修好:{'、'.join(failed) or '无'}。"
                      + "".join(WHY_APPEND_FAILS[n]["zh"] for n in failed if n in WHY_APPEND_FAILS)},
        evidence=["cases", "import-grid"],
    ))


@experiment(
    2,
    "import-doctor",
    title={
        "en": "Import failures: the doctor's fixes vs the page's sys.path.append",
        "zh": "导入失败:doctor 的修复与页面上的 sys.path.append",
    },
    description={
        "en": "Projects with one import failure each; every fix applied in a fresh copy and the script re-run.",
        "zh": "每个项目只有一种导入故障;每个修复在新的副本里执行,然后重新运行脚本。",
    },
)
def import_doctor(ctx: RunContext) -> Evidence:
    ev = Evidence()
    names = ctx.pick(quick=list(fixtures.IMPORT_CASES), full=list(fixtures.IMPORT_CASES), smoke=SMOKE_CASES)
    allow_pip = ctx.profile != "smoke"
    tmp = Path(tempfile.mkdtemp(prefix="dlfaq-q02-"))
    fix_rows: list[list[Any]] = []
    try:
        rows = [run_project(n, tmp, allow_pip, fix_rows, ev.timings) for n in ctx.track(names, desc="projects")]
        variants = append_variants(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ev.table(
        "cases",
        ["project", "expected finding", "script exit code", "error", "doctor found", "detected",
         "a printed fix works", "location right", "own module not found (page's scope)", "name clash",
         "sys.path.append works"],
        [r.row() for r in rows],
        title="Each import failure: diagnosis, the doctor's fixes, and the page's sys.path.append",
    )
    ev.table("fixes", ["project", "finding", "#", "printed fix", "works", "check"], fix_rows,
             title="Every printed fix, applied in a fresh copy of the project")
    ev.table("append_variants", ["variant of sys.path.append", "script runs"], [[k, v] for k, v in variants.items()],
             title="The page's line, written in different ways (script in scripts/, package in the root)")
    m = ev.metrics
    with_fix = [r for r in rows if r.doctor_ok is not None]
    scope = [r for r in rows if r.own_not_found]
    m["projects"] = len(rows)
    m["detected"] = sum(r.detected for r in rows)
    m["fixable_with_command"] = len(with_fix)
    m["fixed_by_doctor"] = sum(bool(r.doctor_ok) for r in with_fix)
    m["locations_checked"] = sum(r.location_ok is not None for r in rows)
    m["locations_right"] = sum(bool(r.location_ok) for r in rows)
    m["own_module_not_found"] = len(scope)
    m["fixed_by_append"] = sum(bool(r.append_ok) for r in scope)
    m["broken"] = sum(r.expected is not None for r in rows)
    m["append_variants"] = variants
    ev.figure("import-grid", grid_figure(rows), "Green: yes, red: no, grey: not applicable.")
    judge_claims(ev, rows, variants)
    ev.notes = (
        "Scripts run for real in fresh interpreters; fixes are applied in fresh copies inside a temporary folder. "
        "'pip install -e' goes into a throw-away venv that borrows this environment's setuptools (offline); "
        + ("it is skipped in the smoke profile. " if not allow_pip else "")
        + "'pip install NAME' needs the network and is not applied. Syntax errors, missing dependencies and circular "
        "imports get a location, not a command; the 'location right' column checks it. The standard-library name "
        "clash (an own package called `test`) is shown among the variants as information only."
    )
    return ev
