"""``dlfaq report``: run what has no evidence yet, then write the static site."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dlfaq.commands._common import (
    CacheOpt,
    DeviceOpt,
    ExecutorOpt,
    JobsOpt,
    LangOpt,
    RayAddressOpt,
    UserError,
    check_cache,
    check_device,
    check_executor,
    check_jobs,
    check_lang,
    check_seed,
    output_rule,
    results_dir,
    run_specs,
    writable_dir,
)
from dlfaq.commands.calibrate import run_calibration

if TYPE_CHECKING:
    from dlfaq.experiments import ExperimentSpec


def report_cmd(
    out: str = typer.Option("dlfaq-results", "--out", help="Results folder (evidence is read from and saved here)."),
    site: Path | None = typer.Option(None, "--site", help="Where to write the site (default: OUT/site)."),
    seed: int = typer.Option(0, "--seed", help="Seed for experiments that have to be run."),
    rerun: bool = typer.Option(False, "--rerun", help="Run every experiment again, even those with saved evidence."),
    no_run: bool = typer.Option(False, "--no-run", help="Only render what is saved; run nothing."),
    device: str | None = DeviceOpt,
    jobs: int | None = JobsOpt,
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
    cache: Path | None = CacheOpt,
    lang: str = LangOpt,
) -> None:
    """Run the experiments that have no result yet (quick profile) and write the bilingual site."""
    from dlfaq.experiments import discover, evidence_dir, load_evidence
    from dlfaq.experiments.calibration import load_calibration, save_calibration
    from dlfaq.publish import check_site_target, recover
    from dlfaq.report import build_site, collect

    lang = check_lang(lang)
    jobs = check_jobs(jobs)
    check_executor(executor, ray_address)
    if rerun and no_run:
        raise UserError("--rerun and --no-run contradict each other")
    check_seed(seed)  # every argument before the folders are claimed
    device = check_device(device)
    site = site or Path(out) / "site"
    with output_rule():  # before anything runs or is written
        check_site_target(site, out)
    out_dir = results_dir(out)
    writable_dir(site.parent, "site")
    cache = check_cache(cache)
    t0 = time.perf_counter()
    specs = list(discover().values())
    for s in specs:  # put back or delete what killed runs left beside each evidence folder
        recover(evidence_dir(out_dir, s.name))
    todo = [] if no_run else [s for s in specs if rerun or _stale(load_evidence(out_dir, s.name), s, seed)]
    records = run_specs(todo, seed=seed, profile="quick", out=out_dir, device=device, show_progress=True,
                        jobs=jobs, rerun=rerun, executor=executor, ray_address=ray_address,
                        cache=cache)
    failed = [r["name"] for r in records if r["status"] != "ok"]
    if not no_run and (rerun or load_calibration(out_dir) is None):
        save_calibration(out_dir, run_calibration("quick", None, device, show_progress=True, jobs=jobs))
    views = collect(out_dir)
    with output_rule():  # the folder changed while the experiments ran
        path = build_site(out_dir, site, views=views)
    for view in views:
        for line in view.problems:
            print(f"warning: {line}", file=sys.stderr)
    took = time.perf_counter() - t0
    if lang == "zh":
        print(f"运行了 {len(records)} 个实验(失败 {len(failed)} 个),网站已写入 {path / 'index.html'}(用时 {took:.0f} 秒)")
    else:
        print(f"ran {len(records)} experiments ({len(failed)} failed); site written to {path / 'index.html'} in {took:.0f}s")
    for name in failed:
        print(f"  failed: {name}")


def _stale(rec: dict[str, Any] | None, spec: ExperimentSpec, seed: int) -> bool:
    """Evidence that must be made again: missing, failed, another profile or seed, or older code."""
    from dlfaq.experiments._core import code_version

    if not isinstance(rec, dict) or rec.get("status") != "ok":
        return True
    return rec.get("profile") != "quick" or rec.get("seed") != seed or rec.get("code") != code_version(spec)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
