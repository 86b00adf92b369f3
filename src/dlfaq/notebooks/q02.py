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
        import os, subprocess, sys, tempfile
        from pathlib import Path
        from dlfaq.doctor import diagnose_import, fixtures

        tmp = Path(tempfile.mkdtemp(prefix="dlfaq-q02-"))
        names = cases or list(fixtures.IMPORT_CASES)

        def run(case):
            env = {**os.environ, **case.env}
            p = subprocess.run([sys.executable, str(case.script)], cwd=case.project, env=env, capture_output=True,
                               text=True, timeout=120, check=False)
            return p.returncode, (p.stderr.strip().splitlines() or [""])[-1]

        def append_fixes(name, dest):
            probe = fixtures.build_import(name, dest / "probe")
            missing = probe.name.split(".")[0]
            homes = [d for d in probe.project.rglob(missing) if d.is_dir()] + \\
                    [f.parent for f in probe.project.rglob(missing + ".py")]
            for i, home in enumerate(homes):
                c = fixtures.build_import(name, dest / f"home{i}")
                folder = c.project / home.parent.relative_to(probe.project) if home.name == missing else \\
                    c.project / home.relative_to(probe.project)
                script = c.project / str(c.script)
                script.write_text(f"import sys\\nsys.path.append({str(folder)!r})\\n" + script.read_text())
                if run(c)[0] == 0:
                    return True
            return None if not homes else False

        results = {}
        for name in names:
            case = fixtures.build_import(name, tmp / name)
            if case.script is None:
                continue
            rc, err = run(case)
            rep = diagnose_import(case.name, case.project, script=case.script, env=case.env)
            results[name] = append_ok = append_fixes(name, tmp / f"{name}-append") if rc != 0 else None
            print(f"{name:22s} exit {rc}  doctor: {rep.codes() or ['healthy']}  append helps: {append_ok}  {err[:60]}")
        """
    ),
    Code(
        """
        on_path = [n for n in names if fixtures.IMPORT_CASES[n][1] == "not-on-sys-path" and n in results]
        others = [n for n in results if results[n] is not None and n not in on_path]
        print("q02.append-makes-importable (module not on sys.path):",
              "supported" if on_path and all(results[n] for n in on_path) else "contradicted")
        print("q02.append-is-the-fix (every import failure):",
              "supported" if all(results[n] for n in others) else "contradicted",
              {n: results[n] for n in others})
        """
    ),
]
