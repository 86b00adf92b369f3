"""``dlfaq calibrate``: MNIST-1D accuracies of dlfaq's models next to the paper's table."""

from __future__ import annotations

from typing import Any

import typer

from dlfaq.commands._common import (
    DeviceOpt,
    JobsOpt,
    JsonOpt,
    LangOpt,
    check_device,
    check_int,
    check_jobs,
    check_lang,
    check_profile,
    print_json,
    print_table,
    progress_bar,
    results_dir,
)


def run_calibration(profile: str, seeds: int | None, device: str | None, show_progress: bool,
                    jobs: int = 1) -> dict[str, Any]:
    """Train the calibration models (:func:`dlfaq.experiments.calibration.calibrate`) with a progress bar."""
    import torch

    from dlfaq.experiments import default_device
    from dlfaq.experiments.calibration import calibrate

    threads = torch.get_num_threads()
    dev = check_device(device) or default_device()
    if not dev.startswith("cuda"):
        torch.set_num_threads(1)  # as for the experiments: small models, reproducible reductions
    try:
        with progress_bar(show_progress) as progress:
            return calibrate(profile=profile, seeds=seeds, device=dev, jobs=1 if dev.startswith("cuda") else jobs,
                             progress=lambda d, t, s: progress(d, t, f"calibrate {s}"))
    finally:
        torch.set_num_threads(threads)


def calibrate_cmd(
    profile: str = typer.Option("quick", "--profile", help="quick (2 seeds, short training) or full."),
    seeds: int | None = typer.Option(None, "--seeds", help="Seeds per model (default: 2 quick, 5 full)."),
    out: str = typer.Option("dlfaq-results", "--out", help="Results folder; the report shows the calibration page."),
    device: str | None = DeviceOpt,
    jobs: int | None = JobsOpt,
    lang: str = LangOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Train logistic regression, an MLP, a CNN and a GRU on MNIST-1D; compare with the paper."""
    from dlfaq.experiments.calibration import save_calibration

    lang = check_lang(lang)
    jobs = check_jobs(jobs)
    check_profile(profile)
    check_int(seeds, "--seeds", 1, 100)
    device = check_device(device)
    out_dir = results_dir(out)
    result = run_calibration(profile, seeds, device, show_progress=not as_json, jobs=jobs)
    path = save_calibration(out_dir, result)
    if as_json:
        print_json({k: result[k] for k in ("mnist1d", "paper", "calibrated", "targets", "profile", "seeds")})
        return
    ok = {True: "是" if lang == "zh" else "yes", False: "否" if lang == "zh" else "no"}
    rows = [[m, f"{result['mnist1d'][m]:.1%}", f"{result['paper'][m]:.0%}",
             f"{result['targets'][m][0]:.0%}–{result['targets'][m][1]:.0%}", ok[bool(result["calibrated"][m])]]
            for m in result["mnist1d"]]
    heads = (["模型", "测试准确率", "论文", "目标区间", "达标"] if lang == "zh"
             else ["model", "test accuracy", "paper", "target", "calibrated"])
    print_table(heads, rows, title=f"MNIST-1D ({result['profile']}, {result['seeds']} seeds)")
    print(f"saved to {path}")


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_cmd)
