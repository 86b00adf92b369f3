"""Q1 notebook: broken CUDA/cuDNN set-ups in a fake root, fixed by the doctor's commands vs the page's two."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        `dlfaq.doctor.fixtures` 的每个案例都在临时目录里搭一棵假的系统树。doctor 诊断它;打印出的修复命令由
        `dlfaq.doctor.sandbox.Sandbox` 在这棵树里执行(`ln`/`tee` 只作用于假树,`ldconfig -r` 限定在其中),然后再诊断一次。
        页面的两条命令(`ldconfig DIR` 和 `ln -sf …`)以同样方式执行。之后再跑一次普通 `ldconfig`(任何装包都会触发),看修复是否持久。
        这些都是确定的文件系统行为,所以每个结论都是精确检验。
        """,
        """
        ## The design
        Every case of `dlfaq.doctor.fixtures` builds a fake system tree in a temporary folder. The doctor
        diagnoses it; its printed fix commands are applied inside that tree by `dlfaq.doctor.sandbox.Sandbox`
        (`ln`/`tee` on the fake tree, `ldconfig -r` confined to it); then it diagnoses again. The page's two
        commands (`ldconfig DIR` and `ln -sf …`) are applied the same way. A later plain `ldconfig` (what any
        package installation triggers) tests whether a fix lasts. All of this is deterministic file-system
        behaviour, so every verdict is an exact check.
        """,
    ),
    Sizes(quick=dict(cases=None), full=dict(), smoke=dict(cases=["healthy", "cudnn-copied", "folder-unknown"])),
    Code(
        """
        import tempfile
        from pathlib import Path
        from dlfaq.doctor import diagnose_cuda, fixtures, trials
        from dlfaq.doctor.sandbox import Sandbox

        tmp = Path(tempfile.mkdtemp(prefix="dlfaq-q01-"))
        names = cases or list(fixtures.CASES)

        # A trial builds the case, diagnoses it, applies the printed fixes inside the fake tree, diagnoses
        # again, then once more after the plain `ldconfig` a later package installation runs.
        rows = []
        for name in names:
            t = trials.cuda_trial(name, tmp)
            now, later = (t.outcome.healthy, t.outcome.lasts) if t.outcome else (None, None)
            rows.append((name, t.expected, t.detected, now, later))
            print(f"{name:22s} expected {str(t.expected):22s} detected {t.detected!s:5}  doctor fix works {now!s:5}  lasts {later}")
        """
    ),
    Md(
        """
        ## 页面的 `ldconfig DIR`:在 cuDNN 目录不在任何 conf 文件里的案例上
        """,
        """
        ## The page's `ldconfig DIR` on the case whose cuDNN folder no conf file names
        """,
    ),
    Code(
        """
        sb = Sandbox(fixtures.build("folder-unknown", tmp / "page-ldconfig"))
        before = sb.diagnose().healthy
        sb.apply(f"sudo ldconfig -r {sb.root} /opt/cudnn/lib")
        now = sb.diagnose().healthy
        trials.rebuild_cache(sb)
        later = sb.diagnose().healthy
        print(f"healthy before {before}, right after `ldconfig DIR` {now}, after a later plain ldconfig {later}")
        print("q01.ldconfig-registers-folder:", "supported" if (not before and now) else "contradicted",
              "(lasting:", later, ")")
        print("\\nThis machine:")
        for f in diagnose_cuda().sorted():
            print(f"  [{f.severity.value}] {f.code}: {f.title}")
        """
    ),
]
