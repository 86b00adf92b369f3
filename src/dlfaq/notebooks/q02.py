"""Q2 notebook: projects with each kind of import failure; the doctor's diagnosis vs the page's sys.path.append."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        `dlfaq.doctor.fixtures` 的每个导入案例都在临时目录里搭一个项目,并真的运行它的入口脚本。`dlfaq.doctor.diagnose_import`
        诊断它;页面的办法是在入口脚本开头写 `import sys; sys.path.append(...)`,对项目里每个含有缺失模块的目录各试一次。
        脚本能否运行是确定的,所以两个结论都是精确检验。
        """,
        """
        ## The design
        Every import case of `dlfaq.doctor.fixtures` builds a project in a temporary folder and runs its entry
        script for real. `dlfaq.doctor.diagnose_import` diagnoses it; the page's remedy writes
        `import sys; sys.path.append(...)` at the top of the entry script, once for every project folder that
        holds the missing module. Whether a script runs is exact, so both verdicts are checks.
        """,
    ),
    Sizes(quick=dict(cases=None), full=dict(), smoke=dict(cases=["healthy", "script-in-subfolder", "syntax-error"])),
    Code(
        """
        import tempfile
        from pathlib import Path
        from dlfaq.doctor import fixtures, trials

        tmp = Path(tempfile.mkdtemp(prefix="dlfaq-q02-"))
        names = cases or list(fixtures.IMPORT_CASES)

        # A trial builds the project, runs its entry script, diagnoses the import and applies each printed
        # fix in a fresh copy (here without `pip install -e`, which builds a venv; `dlfaq run 2` tries it).
        trial, append = {}, {}
        for name in names:
            t = trial[name] = trials.import_trial(name, tmp, allow_pip=False)
            # The page's remedy, only where it applies: Python cannot find a module of the project itself.
            append[name] = trials.try_sys_path_append(name, tmp / f"{name}-append") if t.own_module_missing else None
            print(f"{name:20s} exit {t.exit_code}  doctor: {t.report.codes() or ['healthy']}  "
                  f"a printed fix works: {t.fix_works}  append helps: {append[name]}  {t.error[:50]}")
        """
    ),
    Code(
        """
        on_path = [n for n in names if trial[n].expected == "not-on-sys-path"]
        own = [n for n in names if trial[n].own_module_missing]
        print("q02.append-makes-importable (module not on sys.path):",
              "supported" if on_path and all(append[n] for n in on_path) else "contradicted")
        print("q02.append-is-the-fix (every own module Python cannot find):",
              "supported" if own and all(append[n] for n in own) else "contradicted",
              {n: append[n] for n in own})
        """
    ),
]
