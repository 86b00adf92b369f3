"""Q1: broken CUDA/cuDNN set-ups in a fake root, fixed by the doctor's printed commands vs the page's two.

Every case of :mod:`dlfaq.doctor.fixtures` is built in a temporary folder. The
doctor diagnoses it; its printed fix commands are applied inside that folder by
:class:`dlfaq.doctor.sandbox.Sandbox` (``ln``/``tee`` on the fake tree,
``ldconfig -r`` confined to it — the real ``ldconfig`` when running as root,
otherwise the Python model of it); then it runs again. The page's two commands
are applied the same way, adapted to each case's folders and file names. A
later plain ``ldconfig`` (what any package installation triggers) tests
whether a fix lasts. Finally the doctor's report of this machine is recorded.

Everything here is deterministic file-system behaviour, so every verdict is a
``check``: the fixture either ends up healthy or it does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlfaq.doctor import fixtures, trials
from dlfaq.doctor.cuda import diagnose_cuda, fact_lines
from dlfaq.doctor.linker import in_root, scan_dir, simulate_ldconfig
from dlfaq.doctor.sandbox import Sandbox, real_ldconfig_usable
from dlfaq.experiments._core import Evidence, RunContext, check, experiment
from dlfaq.experiments._plots import yes_no_grid

SMOKE_CASES = ["healthy", "cudnn-copied", "folder-unknown", "driver-too-old"]


# --------------------------------------------------------------------------- applying commands


def page_commands(sb: Sandbox) -> list[str]:
    """The page's `ldconfig DIR` + `ln -sf DIR/libcudnn.so.X.Y.Z DIR/libcudnn.so.X`, with this case's names."""
    rep = sb.diagnose()
    dirs = [d["dir"] for d in rep.facts.get("library_dirs", []) if "site-packages" not in d["dir"]]
    cmds = ["sudo ldconfig -r " + str(sb.root) + "".join(" " + d for d in dirs)]
    for d in dirs:
        for f in scan_dir(sb.root, d):
            if f.name.startswith("libcudnn") and not f.is_link and f.soname and f.soname != f.name:
                cmds.append(f"sudo ln -sf {in_root(sb.root, f.path)} {in_root(sb.root, d + '/' + f.soname)}")
    return cmds


def cache_serves(sb: Sandbox, folder: str) -> bool:
    """Does the linker cache hand out every SONAME of ``folder`` from ``folder`` itself?"""
    wanted = {f.soname for f in scan_dir(sb.root, folder) if f.soname}
    served = {e.soname: e.path for e in sb.cache_entries()}
    return bool(wanted) and all(served.get(s, "").startswith(folder.rstrip("/") + "/") for s in wanted)


# --------------------------------------------------------------------------- one case


@dataclass
class CaseResult:
    name: str
    expected: str | None
    found: list[str]
    detected: bool
    n_fix: int
    doctor_now: bool | None
    doctor_later: bool | None
    page_now: bool | None
    page_later: bool | None

    def row(self) -> list[Any]:
        return [self.name, self.expected or "-", self.found or ["healthy"], self.detected, self.n_fix,
                self.doctor_now, self.doctor_later, self.page_now, self.page_later]


def run_case(name: str, tmp: Path) -> CaseResult:
    """Diagnose one fixture, apply the doctor's fixes in it and the page's commands in a twin."""
    t = trials.cuda_trial(name, tmp)
    page = None
    if t.expected is not None:
        twin = Sandbox(fixtures.build(name, tmp / f"{name}-page"))
        page = trials.try_commands(twin, page_commands(twin))
    return CaseResult(name, t.expected, t.report.codes(), t.detected, len(t.fix_commands),
                      *_now_and_later(t.outcome), *_now_and_later(page))


def _now_and_later(o: trials.FixOutcome | None) -> tuple[bool | None, bool | None]:
    return (None, None) if o is None else (o.healthy, o.lasts)


# --------------------------------------------------------------------------- the two single commands


def ldconfig_dir_case(tmp: Path) -> dict[str, bool]:
    """The page's `ldconfig DIR` alone on the tree whose cuDNN folder the linker does not know."""
    sb = Sandbox(fixtures.build("folder-unknown", tmp / "ldconfig-dir"))
    folder = "/opt/cudnn/lib"
    before = cache_serves(sb, folder)
    healthy_before = sb.diagnose().healthy
    sb.apply(f"sudo ldconfig -r {sb.root} {folder}")
    now_cache, now_healthy = cache_serves(sb, folder), sb.diagnose().healthy
    trials.rebuild_cache(sb)
    later_cache, later_healthy = cache_serves(sb, folder), sb.diagnose().healthy
    return {"served_before": before, "healthy_before": healthy_before, "served_now": now_cache,
            "healthy_now": now_healthy, "served_later": later_cache, "healthy_later": later_healthy}


def symlink_case(tmp: Path) -> dict[str, Any]:
    """The page's `ln -sf` alone on the copied-cuDNN tree, with the real file name and typed verbatim."""
    sbw = Sandbox(fixtures.build("cudnn-copied", tmp / "warn"))
    healthy_before = sbw.diagnose().healthy
    warn_before = simulate_ldconfig(sbw.root).warnings
    trials.apply_commands(sbw, [c for c in page_commands(sbw) if " ln " in f" {c} "])
    warn_after = simulate_ldconfig(sbw.root).warnings
    healthy_after = sbw.diagnose().healthy
    # The page's command typed verbatim on a machine whose cuDNN is 7.6.5, not 7.0.5.
    sbv = Sandbox(fixtures.build("cudnn-copied", tmp / "verbatim"))
    d = in_root(sbv.root, "/usr/local/cuda-9.0/lib64")
    (d / "libcudnn.so.7.0.5").rename(d / "libcudnn.so.7.6.5")
    fixtures.capture_ldconfig(sbv.case)
    sbv.apply(f"sudo ln -sf {d}/libcudnn.so.7.0.5 {d}/libcudnn.so.7")
    return {"healthy_before": healthy_before, "warnings_before": len(warn_before),
            "warnings_after": len(warn_after), "healthy_after": healthy_after,
            "verbatim_codes": sbv.diagnose().codes()}


# --------------------------------------------------------------------------- evidence


def this_machine(ev: Evidence) -> dict[str, Any]:
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
    return gpu


def fix_grid(rows: list[CaseResult]) -> Any:
    cols = ["detected", "doctor fix", "doctor fix\nlasts", "page cmds", "page cmds\nlast"]
    vals = [[r.detected, r.doctor_now, r.doctor_later, r.page_now, r.page_later] for r in rows]
    return yes_no_grid(cols, vals, [r.name for r in rows], "Healthy after applying the fix inside the fake tree")


def yes(v: bool) -> dict[str, str]:
    return {"en": "yes" if v else "no", "zh": "是" if v else "否"}


#: How the ldconfig of this run worked, in Chinese (for the zh reason).
ENGINE_ZH = {"real ldconfig -r (chroot into the fake root)": "真实的 ldconfig -r(chroot 到假根目录)",
             "Python model of ldconfig": "ldconfig 的 Python 模型"}


def judge_claims(ev: Evidence, rows: list[CaseResult], ld: dict[str, bool], ln: dict[str, Any], engine: str) -> None:
    # 1. `ldconfig DIR` makes the folder's libraries findable (what the claim says: right after running it).
    holds = (not ld["served_before"]) and ld["served_now"] and ld["healthy_now"]
    later = ld["served_later"] and ld["healthy_later"]
    ev.add(check(
        "q01.ldconfig-registers-folder", holds,
        rule={"en": "On the fixture whose cuDNN folder (/opt/cudnn/lib) no conf file names, the claim holds if "
                    "the linker cache does not serve that folder's libraries before `ldconfig DIR`, and right "
                    "after it serves every SONAME of the folder from the folder and the doctor finds the tree "
                    "healthy. Whether a later plain `ldconfig` keeps them is reported, "
                    "not judged: the claim does not say the fix lasts.",
              "zh": "在 cuDNN 目录(/opt/cudnn/lib)未被任何 conf 文件列出的夹具上:执行 `ldconfig DIR` 之前链接器缓存"
                    "不提供该目录的库,执行之后缓存从该目录提供它的每个 SONAME,且 doctor 判定环境健康,则命题成立"
                    "。之后再跑一次普通 `ldconfig` 是否仍然有效只作报告,不参与判定:命题没有说修复会持久。"},
        reason={"en": f"Before the command the cache served the folder: {yes(ld['served_before'])['en']}; right after "
                      f"`ldconfig DIR`: {yes(ld['served_now'])['en']} (doctor healthy: {yes(ld['healthy_now'])['en']}); "
                      f"after a later plain `ldconfig`: {yes(later)['en']}"
                      + (" (it survived the rebuild)" if later else ", so the registration lasts only until the next "
                         "cache rebuild, unlike the doctor's conf-file fix")
                      + f" (ldconfig: {engine}).",
                "zh": f"执行前缓存提供该目录的库:{yes(ld['served_before'])['zh']};`ldconfig DIR` 之后:"
                      f"{yes(ld['served_now'])['zh']}(doctor 判定健康:{yes(ld['healthy_now'])['zh']});之后再跑一次普通 "
                      f"`ldconfig`:{yes(later)['zh']}。"
                      + ("它在重建缓存后仍然有效" if later else "也就是说这种登记只维持到下一次重建缓存,不像 doctor 给出的 conf 文件修复那样持久")
                      + f"(ldconfig:{ENGINE_ZH.get(engine, engine)})。"},
        evidence=["cases", "ldconfig_dir"],
    ))

    # 2. `ln -sf REAL libcudnn.so.7` repairs the copied-cuDNN tree.
    holds = (not ln["healthy_before"]) and ln["warnings_before"] > 0 and ln["warnings_after"] == 0 \
        and ln["healthy_after"]
    verbatim_broken = "broken-symlink" in ln["verbatim_codes"]
    ev.add(check(
        "q01.symlink-repairs-cudnn", holds,
        rule={"en": "On the fixture where cuDNN was copied without `cp -P` (libcudnn.so.7 is a regular file, an "
                    "old copy), the claim holds if the doctor reports a problem and ldconfig warns before, and "
                    "after `ln -sf <real file> libcudnn.so.7` ldconfig gives no warning and the doctor finds the "
                    "tree healthy.",
              "zh": "在 cuDNN 用不带 `-P` 的 `cp` 拷贝(libcudnn.so.7 是普通文件、旧副本)的夹具上:执行前 doctor 报告问题且 "
                    "ldconfig 发出警告,执行 `ln -sf <真实文件> libcudnn.so.7` 之后 ldconfig 不再警告且 doctor 判定健康,则命题成立。"},
        reason={"en": f"ldconfig warnings before/after the link: {ln['warnings_before']}/{ln['warnings_after']}; healthy "
                      f"after: {yes(ln['healthy_after'])['en']}. Typed verbatim (7.0.5) on an install whose file is "
                      f"7.6.5, the same command leaves a dangling link: {yes(verbatim_broken)['en']}.",
                "zh": f"建链前后 ldconfig 的警告数:{ln['warnings_before']}/{ln['warnings_after']};之后是否健康:"
                      f"{yes(ln['healthy_after'])['zh']}。在实际文件是 7.6.5 的环境里照抄 7.0.5,同一条命令会留下断链:"
                      f"{yes(verbatim_broken)['zh']}。"},
        evidence=["cases", "symlink"],
    ))

    # 3. The two commands are "the way" to fix CUDA problems: they should repair every broken set-up that
    # some printed command repairs (cases that need a reboot are left out: no command fixes them).
    fixable = [r for r in rows if r.doctor_now is not None]
    repairable = [r for r in fixable if r.doctor_now]
    page_ok = [r for r in repairable if r.page_now]
    missed = [r.name for r in repairable if not r.page_now]
    holds = bool(repairable) and not missed
    ev.add(check(
        "q01.two-commands-fix-cuda", holds,
        rule={"en": "The claim holds if the page's two commands (adapted to each tree's folders and file names) "
                    "leave the tree healthy on every broken fixture that the doctor's printed commands do repair, "
                    "i.e. on every fault that some command can fix (a driver module that needs a reboot is left out).",
              "zh": "在 doctor 打印的命令能修好的每一个故障夹具上(即存在命令能修的故障;需要重启才能加载驱动模块的不算),"
                    "页面上的两条命令(按各夹具的目录和文件名改写)都能让环境恢复健康,则命题成立。"},
        reason={"en": f"The page's commands repaired {len(page_ok)} of the {len(repairable)} command-repairable faults; "
                      f"they did nothing for: {', '.join(missed) or 'none'}. (The doctor's printed fixes repaired "
                      f"{len(repairable)} of the {len(fixable)} faults that have a fix command.)",
                "zh": f"在 {len(repairable)} 个可由命令修复的故障中,页面的两条命令修好了 {len(page_ok)} 个;"
                      f"对这些无效:{'、'.join(missed) or '无'}。(doctor 打印的修复命令在 {len(fixable)} 个有修复命令的故障中修好了 "
                      f"{len(repairable)} 个。)"},
        evidence=["cases", "fix-grid"],
    ))


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
    names = ctx.pick(quick=list(fixtures.CASES), full=list(fixtures.CASES), smoke=SMOKE_CASES)
    engine = "real ldconfig -r (chroot into the fake root)" if real_ldconfig_usable() else "Python model of ldconfig"
    with trials.scratch("dlfaq-q01-") as tmp:
        rows = [run_case(n, tmp) for n in ctx.track(names, desc="cases")]
        ld = ldconfig_dir_case(tmp)
        ln = symlink_case(tmp)
    gpu = this_machine(ev)

    ev.table(
        "cases",
        ["case", "expected finding", "doctor found", "detected", "fix commands", "doctor fix: healthy",
         "still healthy after a later ldconfig", "page's commands: healthy", "page: after a later ldconfig"],
        [r.row() for r in rows],
        title="Each broken set-up, the doctor's diagnosis, and whether each fix leaves a healthy tree",
    )
    ev.table("ldconfig_dir", ["moment", "cache serves /opt/cudnn/lib", "doctor: healthy"],
             [["before `ldconfig DIR`", ld["served_before"], ld["healthy_before"]],
              ["right after `ldconfig DIR`", ld["served_now"], ld["healthy_now"]],
              ["after a later plain `ldconfig`", ld["served_later"], ld["healthy_later"]]],
             title="The page's `ldconfig DIR` on the tree whose cuDNN folder the linker does not know")
    ev.table("symlink", ["quantity", "value"],
             [["doctor healthy before ln -sf", ln["healthy_before"]],
              ["ldconfig warnings before ln -sf", ln["warnings_before"]],
              ["ldconfig warnings after ln -sf", ln["warnings_after"]],
              ["doctor healthy after ln -sf", ln["healthy_after"]],
              ["findings after typing 7.0.5 verbatim on a 7.6.5 install", ln["verbatim_codes"] or ["healthy"]]],
             title="The page's `ln -sf` on the tree where cuDNN was copied without -P")
    broken = [r for r in rows if r.expected is not None]
    fixable = [r for r in rows if r.doctor_now is not None]
    m = ev.metrics
    m["ldconfig_engine"] = engine
    m["cases"] = len(rows)
    m["detected"] = sum(r.detected for r in rows)
    m["doctor_fixable"] = len(fixable)
    m["doctor_fixed"] = sum(bool(r.doctor_now) for r in fixable)
    m["doctor_fixed_lasting"] = sum(bool(r.doctor_later) for r in fixable)
    m["broken_cases"] = len(broken)
    m["page_fixed"] = sum(bool(r.page_now) for r in broken)
    m["page_fixed_lasting"] = sum(bool(r.page_later) for r in broken)
    m["ldconfig_dir"] = ld
    m["symlink"] = ln
    ev.figure("fix-grid", fix_grid(rows), "Green: yes, red: no, grey: not applicable (healthy case, or no command to test).")
    judge_claims(ev, rows, ld, ln, engine)
    ev.notes = (
        f"Fixes were applied inside temporary fake roots only; ldconfig: {engine}. The pip reinstall of torch is a "
        "model (torch.json gets the wheel's CUDA version; availability follows CUDA's driver rule), not a real "
        "install. 'driver-not-loaded' has no command to test (modprobe/reboot). This machine: GPU usable = "
        f"{gpu.get('usable')}, because {gpu.get('why')}."
    )
    return ev
