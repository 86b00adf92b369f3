"""Q1: broken CUDA/cuDNN set-ups in a fake root, fixed by the doctor's printed commands vs the page's two.

Every case of :mod:`dlfaq.doctor.fixtures` is built in a temporary folder. The
doctor diagnoses it; its printed fix commands are applied inside that folder by
:class:`dlfaq.doctor.sandbox.Sandbox` (``ln``/``tee`` on the fake tree,
``ldconfig -r`` confined to it — the real ``ldconfig`` when running as root,
otherwise the Python model of it); then it runs again. The page's two commands
are applied the same way, adapted to each case's folders and file names. A
later plain ``ldconfig`` (what any package installation triggers) tests
whether a fix lasts. Finally the doctor's report of this machine is recorded.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from dlfaq.doctor import fixtures
from dlfaq.doctor.cuda import diagnose_cuda, fact_lines
from dlfaq.doctor.linker import in_root, scan_dir, simulate_ldconfig
from dlfaq.doctor.sandbox import Sandbox, SandboxError, real_ldconfig_usable
from dlfaq.experiments._core import Evidence, RunContext, experiment, judge


def _page_commands(sb: Sandbox) -> list[str]:
    """The page's `ldconfig DIR` + `ln -sf DIR/libcudnn.so.X.Y.Z DIR/libcudnn.so.X`, with this case's names."""
    rep = sb.diagnose()
    dirs = [d["dir"] for d in rep.facts.get("library_dirs", []) if "site-packages" not in d["dir"]]
    cmds = ["sudo ldconfig -r " + str(sb.root) + "".join(" " + d for d in dirs)]
    for d in dirs:
        for f in scan_dir(sb.root, d):
            if f.name.startswith("libcudnn") and not f.is_link and f.soname and f.soname != f.name:
                cmds.append(f"sudo ln -sf {in_root(sb.root, f.path)} {in_root(sb.root, d + '/' + f.soname)}")
    return cmds


def _apply(sb: Sandbox, cmds: list[str]) -> str:
    for c in cmds:
        try:
            sb.apply(c)
        except SandboxError as exc:
            return f"refused: {exc}"
    return ""


def _later_ldconfig(sb: Sandbox) -> bool:
    sb.apply(f"sudo ldconfig -r {sb.root}")
    return sb.diagnose().healthy


@experiment(
    1,
    "cuda-doctor",
    title={
        "en": "Broken CUDA/cuDNN set-ups: the doctor's printed fixes vs the page's two commands",
        "zh": "有故障的 CUDA/cuDNN 环境:doctor 给出的修复命令与页面上的两条命令",
    },
    description={
        "en": "Fake filesystem trees with one fault each; fixes applied inside the tree; healthy afterwards?",
        "zh": "每个伪造的文件系统树里只有一个故障;在树内执行修复命令,之后是否恢复健康?",
    },
)
def cuda_doctor(ctx: RunContext) -> Evidence:
    ev = Evidence()
    names = ctx.pick(
        quick=list(fixtures.CASES),
        full=list(fixtures.CASES),
        smoke=["healthy", "cudnn-copied", "folder-unknown", "driver-too-old"],
    )
    engine = "real ldconfig -r (chroot into the fake root)" if real_ldconfig_usable() else "Python model of ldconfig"
    tmp = Path(tempfile.mkdtemp(prefix="dlfaq-q01-"))
    rows = []
    fig_rows = []
    try:
        for name in ctx.track(names, desc="cases"):
            expected = fixtures.CASES[name][1]
            sb = Sandbox(fixtures.build(name, tmp / name))
            rep = sb.diagnose()
            detected = (expected in rep.codes()) if expected else rep.healthy
            fix_cmds = rep.fix_commands()
            fixable = name in fixtures.FIXABLE
            doc_now = doc_later = None
            if fixable:
                err = _apply(sb, fix_cmds)
                doc_now = not err and sb.diagnose().healthy
                doc_later = bool(doc_now) and _later_ldconfig(sb)
            page_now = page_later = None
            if expected is not None:
                sbp = Sandbox(fixtures.build(name, tmp / f"{name}-page"))
                err = _apply(sbp, _page_commands(sbp))
                page_now = not err and sbp.diagnose().healthy
                page_later = bool(page_now) and _later_ldconfig(sbp)
            rows.append([name, expected or "-", rep.codes() or ["healthy"], detected, len(fix_cmds),
                         doc_now, doc_later, page_now, page_later])
            fig_rows.append((name, [detected, doc_now, doc_later, page_now, page_later]))
            ctx.report(len(rows), len(names), name)

        # The page's command typed verbatim on a machine whose cuDNN is 7.6.5, not 7.0.5.
        sbv = Sandbox(fixtures.build("cudnn-copied", tmp / "verbatim"))
        d = in_root(sbv.root, "/usr/local/cuda-9.0/lib64")
        (d / "libcudnn.so.7.0.5").rename(d / "libcudnn.so.7.6.5")
        fixtures.capture_ldconfig(sbv.case)
        sbv.apply(f"sudo ln -sf {d}/libcudnn.so.7.0.5 {d}/libcudnn.so.7")
        verbatim = sbv.diagnose()
        verbatim_broken = "broken-symlink" in verbatim.codes()

        # ldconfig's own complaint on the page's case, before and after its ln -sf.
        sbw = Sandbox(fixtures.build("cudnn-copied", tmp / "warn"))
        warn_before = simulate_ldconfig(sbw.root).warnings
        _apply(sbw, [c for c in _page_commands(sbw) if " ln " in f" {c} "])
        warn_after = simulate_ldconfig(sbw.root).warnings
        symlink_healthy = sbw.diagnose().healthy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ---- this machine
    t0 = time.perf_counter()
    here = diagnose_cuda()
    ev.timings["doctor_this_machine_s"] = round(time.perf_counter() - t0, 3)
    gpu = here.facts.get("gpu") or {}
    ev.table("this_machine", ["fact", "value"], [[k, v] for k, v in fact_lines(here)],
             title="dlfaq doctor on the machine that ran this experiment")
    ev.table("this_machine_findings", ["severity", "code", "title"],
             [[f.severity.value, f.code, f.title] for f in here.sorted()] or [["-", "-", "no finding"]])
    ev.metrics["this_machine_healthy"] = here.healthy
    ev.metrics["this_machine_gpu_usable"] = gpu.get("usable")
    ev.metrics["this_machine_gpu_why"] = gpu.get("why")

    ev.table(
        "cases",
        ["case", "expected finding", "doctor found", "detected", "fix commands", "doctor fix: healthy",
         "still healthy after a later ldconfig", "page's commands: healthy", "page: after a later ldconfig"],
        rows,
        title="Each broken set-up, the doctor's diagnosis, and whether each fix leaves a healthy tree",
    )
    broken = [r for r in rows if r[1] != "-"]
    fixable_rows = [r for r in rows if r[5] is not None]
    m = ev.metrics
    m["ldconfig_engine"] = engine
    m["cases"] = len(rows)
    m["detected"] = sum(bool(r[3]) for r in rows)
    m["doctor_fixed"] = sum(bool(r[5]) for r in fixable_rows)
    m["doctor_fixed_lasting"] = sum(bool(r[6]) for r in fixable_rows)
    m["doctor_fixable"] = len(fixable_rows)
    m["page_fixed"] = sum(bool(r[7]) for r in broken)
    m["page_fixed_lasting"] = sum(bool(r[8]) for r in broken)
    m["broken_cases"] = len(broken)
    m["page_fixed_fraction"] = m["page_fixed"] / max(len(broken), 1)
    m["verbatim_7_0_5_makes_broken_link"] = verbatim_broken
    m["ldconfig_warnings_before_ln"] = len(warn_before)
    m["ldconfig_warnings_after_ln"] = len(warn_after)

    # ---- figure: a pass/fail grid
    import matplotlib.pyplot as plt
    import numpy as np

    cols = ["detected", "doctor fix", "doctor fix\nlasts", "page cmds", "page cmds\nlast"]
    grid = np.array([[np.nan if v is None else float(bool(v)) for v in vals] for _, vals in fig_rows])
    fig, ax = plt.subplots(figsize=(6.5, 0.42 * len(fig_rows) + 1.3))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(fig_rows)), [n for n, _ in fig_rows], fontsize=8)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else ("yes" if v else "no"), ha="center", va="center", fontsize=7)
    ax.set_title("Healthy after applying the fix inside the fake tree", fontsize=9)
    ev.figure("fix-grid", fig, "Green: yes, red: no, grey: not applicable (healthy case, or no command to test).")

    # ---- verdicts
    fu = next((r for r in rows if r[0] == "folder-unknown"), None)
    if fu is not None:
        ev.add(judge(
            "q01.ldconfig-registers-folder",
            supported=bool(fu[7]) and bool(fu[8]),
            partly=bool(fu[7]),
            rule="supported if, on a tree whose cuDNN folder the linker does not know, `ldconfig DIR` makes it "
                 "healthy and it stays healthy after a later plain `ldconfig`; partly if only right after",
            reason=f"healthy right after `ldconfig DIR`: {fu[7]}; after a later plain `ldconfig`: {fu[8]} "
                   f"(the doctor's conf-file fix: {fu[5]} / {fu[6]}; ldconfig: {engine})",
        ))
    ev.add(judge(
        "q01.symlink-repairs-cudnn",
        supported=symlink_healthy and not warn_after and bool(warn_before),
        partly=symlink_healthy or (bool(warn_before) and not warn_after),
        rule="supported if, on the tree where libcudnn.so.7 is an old copy, `ln -sf` with the real file name makes "
             "the doctor report it healthy and removes ldconfig's 'is not a symbolic link' warning",
        reason=f"healthy after ln -sf: {symlink_healthy}; ldconfig warnings before/after: {len(warn_before)}/"
               f"{len(warn_after)}; typing 7.0.5 verbatim on a 7.6.5 install leaves a broken link: {verbatim_broken}",
    ))
    frac = m["page_fixed_fraction"]
    ev.add(judge(
        "q01.two-commands-fix-cuda",
        supported=frac >= 0.9,
        partly=frac >= 0.25,
        rule="over all broken set-ups, supported if the page's two commands (adapted to each tree's folders and "
             "file names) leave at least 90% healthy, partly if at least 25%, else not supported",
        reason=f"page's commands fixed {m['page_fixed']}/{m['broken_cases']} ({frac:.0%}), "
               f"{m['page_fixed_lasting']} still after a later ldconfig; the doctor's printed fixes fixed "
               f"{m['doctor_fixed']}/{m['doctor_fixable']} that have a command ({m['doctor_fixed_lasting']} lasting)",
    ))
    ev.notes = (
        f"Fixes were applied inside temporary fake roots only; ldconfig: {engine}. The pip reinstall of torch is a "
        "model (torch.json gets the wheel's CUDA version; availability follows CUDA's driver rule), not a real "
        "install. 'driver-not-loaded' has no command to test (modprobe/reboot). This machine: GPU usable = "
        f"{gpu.get('usable')}, because {gpu.get('why')}."
    )
    return ev
