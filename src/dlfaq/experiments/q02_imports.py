"""Q2: projects with each kind of import failure; the doctor's fixes vs the page's ``sys.path.append``.

Every import case of :mod:`dlfaq.doctor.fixtures` is built in a temporary
folder and its entry script is run for real. ``dlfaq doctor import`` then
diagnoses it; each printed fix is applied in a fresh copy
(:func:`dlfaq.doctor.trials.import_trial`: a changed way of running
Python, a file renamed or created inside the project, or ``pip install -e``
into a throw-away venv) and the script is run again. The page's remedy is
applied by writing ``import sys; sys.path.append(...)`` at the top of the
entry script, once for every project folder that holds the missing module
(:func:`dlfaq.doctor.trials.try_sys_path_append`).

Whether a script runs is exact, so both verdicts are ``check``\\ s. The rules
test what the page says (a module *of your own* that Python cannot find);
a package that shares its name with an installed library or with the standard
library is outside that, and is reported as information only.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlfaq.doctor import fixtures, trials
from dlfaq.doctor.findings import Report
from dlfaq.doctor.imports import Invocation
from dlfaq.doctor.trials import edit_script, run_script
from dlfaq.experiments._core import Evidence, RunContext, check, experiment
from dlfaq.experiments._plots import yes_no_grid

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


def fix_rows(t: trials.ImportTrial, timings: dict[str, float]) -> list[list[Any]]:
    """One row per printed fix of the trial; the time each applied fix took goes into ``timings``."""
    rows: list[list[Any]] = []
    for o in t.fixes:
        if o.refused:
            rows.append([t.name, o.code, o.index, o.line, "not applied", o.refused[:60]])
            continue
        timings[f"fix_{t.name}_{o.index}_s"] = round(o.seconds, 3)
        rows.append([t.name, o.code, o.index, o.line, "yes" if o.works else "no",
                     f"doctor healthy={o.healthy}, script exit={o.exit_code}"])
    return rows


def location_right(name: str, rep: Report) -> bool | None:
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


def run_project(name: str, tmp: Path, allow_pip: bool, fix_table: list[list[Any]], timings: dict[str, float]) -> ProjectResult:
    """The doctor's trial of one project (its printed fixes appended to ``fix_table``), then the page's remedy."""
    t = trials.import_trial(name, tmp, allow_pip=allow_pip)
    fix_table.extend(fix_rows(t, timings))
    own = t.own_module_missing
    # A name clash: the failing name resolves to some regular module outside the project's own folders
    # (an installed library, the standard library, a vendored package) or to a namespace portion that loses.
    shadowed = own and t.expected != NOT_ON_PATH
    append_ok = trials.try_sys_path_append(name, tmp / f"{name}-page") if own else None
    return ProjectResult(name, t.expected, t.exit_code, t.error, t.report.codes(), t.detected, t.fix_works,
                         location_right(name, t.report), own, shadowed, append_ok)


# --------------------------------------------------------------------------- ways of writing the line


def append_variants(tmp: Path) -> dict[str, bool]:
    """The page's line written in different ways, on a script in scripts/ importing a package at the root."""
    def with_append(dest: str, folder: str, setup: str = "") -> fixtures.ImportCase:
        case = fixtures.build_import("script-in-subfolder", tmp / dest)
        edit_script(case, f"import sys\n{setup}sys.path.append({folder})")
        return case

    def runs(case: fixtures.ImportCase, moved_to: Path | None = None) -> bool:
        inv = case.invocation() if moved_to is None else Invocation(cwd=moved_to, script=Path(case.script or ""))
        return run_script(inv)[0] == 0

    out: dict[str, bool] = {}
    root = with_append("v-root", repr(str(tmp / "v-root")))
    out["append the project root (absolute path)"] = runs(root)
    out["append the package folder itself (/project_path/module read literally)"] = runs(
        with_append("v-pkg", repr(str(tmp / "v-pkg" / "mypkg"))))
    shutil.move(str(root.project), str(tmp / "v-root-moved"))
    out["root appended by absolute path, project moved"] = runs(root, tmp / "v-root-moved")
    rel = with_append("v-file", "str(Path(__file__).resolve().parents[1])", setup="from pathlib import Path\n")
    shutil.move(str(rel.project), str(tmp / "v-file-moved"))
    out["root from __file__, project moved"] = runs(rel, tmp / "v-file-moved")
    # Information only (not in any rule): an own package named like a standard-library one (`test`);
    # append puts the folder last, so the standard library's package wins.
    sh = fixtures.build_import("script-in-subfolder", tmp / "v-clash")
    (sh.project / "mypkg").rename(sh.project / "test")
    (sh.project / "scripts/train.py").write_text("from test.models import Net\nprint(Net)\n")
    edit_script(sh, f"import sys\nsys.path.append({str(sh.project)!r})")
    out["append the root, own package named like a standard-library one (test)"] = runs(sh)
    return out


# --------------------------------------------------------------------------- evidence


def grid_figure(rows: list[ProjectResult]) -> Any:
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
    fix_table: list[list[Any]] = []
    with trials.scratch("dlfaq-q02-") as tmp:
        rows = [run_project(n, tmp, allow_pip, fix_table, ev.timings) for n in ctx.track(names, desc="projects")]
        variants = append_variants(tmp)

    ev.table(
        "cases",
        ["project", "expected finding", "script exit code", "error", "doctor found", "detected",
         "a printed fix works", "location right", "own module not found (page's scope)", "name clash",
         "sys.path.append works"],
        [r.row() for r in rows],
        title="Each import failure: diagnosis, the doctor's fixes, and the page's sys.path.append",
    )
    ev.table("fixes", ["project", "finding", "#", "printed fix", "works", "check"], fix_table,
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
