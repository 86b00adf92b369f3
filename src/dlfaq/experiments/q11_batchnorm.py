"""Q11: what batch normalization buys, measured one benefit at a time on digits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge

TARGET_ACC = 0.90  # "reached the target": test accuracy at least this (chance is 0.10)
TRAINS_ACC = 0.80  # "trains": finite loss and final test accuracy at least this


@experiment(
    11,
    "batchnorm-benefits",
    title={
        "en": "Batch norm on and off: learning rates, init scales, sigmoid, depth, gap",
        "zh": "开启与关闭批归一化:学习率、初始化尺度、sigmoid、深度与泛化差距",
    },
    description={
        "en": "MLPs on digits with and without BatchNorm1d over grids of learning rate, "
        "initialization scale and depth, plus deep sigmoid networks; several seeds.",
        "zh": "在 digits 上比较带与不带 BatchNorm1d 的多层感知机,扫描学习率、初始化尺度和深度,"
        "并测试深层 sigmoid 网络;多个随机种子。",
    },
)
def batchnorm_benefits(ctx: RunContext) -> Evidence:
    return _run(ctx)


def _run(ctx: RunContext) -> Evidence:
    import torch

    from dlfaq.data import digits
    from dlfaq.nn import MLP
    from dlfaq.train.loop import fit

    ev = Evidence()
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    epochs = ctx.pick(quick=8, full=20, smoke=1)
    depth = ctx.pick(quick=6, full=8, smoke=2)
    hidden = ctx.pick(quick=32, full=64, smoke=16)
    batch = 64
    lrs = ctx.pick(quick=[0.01, 0.1, 0.3, 1.0, 3.0, 10.0], full=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                   smoke=[0.1, 10.0])
    gains = ctx.pick(quick=[0.25, 1.41, 4.0], full=[0.1, 0.25, 0.5, 1.41, 2.0, 4.0], smoke=[0.25, 4.0])
    base_lr = 0.1
    he_gain = 1.41
    depths = ctx.pick(quick=[2, depth, 12], full=[2, 8, 16, 32], smoke=[2, 3])
    sig_lr = 0.5
    norms = ["none", "batch"]

    splits = {s: digits(seed=s) for s in seeds}
    cache: dict[tuple, dict[str, Any]] = {}

    def run(norm: str, lr: float, gain: float, d: int, act: str, seed: int, init: str = "scaled") -> dict:
        key = (norm, lr, gain, d, act, seed, init)
        if key in cache:
            return cache[key]
        Xtr, ytr, Xte, yte = splits[seed].tensors(ctx.device)
        torch.manual_seed(seed)
        model = MLP(64, 10, hidden=hidden, depth=d, activation=act, norm=norm, init=init, init_gain=gain)
        h = fit(model, (Xtr, ytr), val=(Xte, yte), epochs=epochs, lr=lr, batch_size=batch,
                seed=seed, device=ctx.device, drop_last=True)
        steps_per_epoch = max(1, len(ytr) // batch)
        accs = h.metric("val_acc")
        reached = next((e["epoch"] for e in h.epochs if e["val_acc"] >= TARGET_ACC), None)
        last = h.last
        ok = (not h.diverged) and len(h.epochs) == epochs
        rec = {
            "norm": norm, "lr": lr, "gain": gain, "depth": d, "act": act, "seed": seed,
            "diverged": h.diverged or not ok,
            "test_acc": float(last.get("val_acc", 0.1)) if ok else 0.1,
            "train_acc": float(last.get("train_acc", 0.1)) if ok else 0.1,
            "steps_to_target": reached * steps_per_epoch if reached is not None else math.inf,
            "curve": accs,
            "time": last.get("time", math.nan),
        }
        rec["trains"] = (not rec["diverged"]) and rec["test_acc"] >= TRAINS_ACC
        cache[key] = rec
        return rec

    jobs: list[tuple] = []
    for s in seeds:
        for norm in norms:
            for lr in lrs:
                jobs.append((norm, lr, he_gain, depth, "relu", s))
            for g in gains:
                jobs.append((norm, base_lr, g, depth, "relu", s))
            jobs.append((norm, sig_lr, 1.0, depth, "sigmoid", s, "default"))
            for d in depths:
                jobs.append((norm, base_lr, 1.0, d, "relu", s, "default"))
    for job in ctx.track(jobs, desc="train"):
        run(*job)

    def agg(values: list[float]) -> tuple[float, float, float]:
        a = np.asarray(values, dtype=float)
        return float(a.mean()), float(a.min()), float(a.max())

    # ---- 1. learning-rate grid: largest LR that trains, steps to target, best accuracy
    lr_rows = []
    largest: dict[str, list[float]] = {n: [] for n in norms}
    best_acc: dict[str, list[float]] = {n: [] for n in norms}
    best_steps: dict[str, list[float]] = {n: [] for n in norms}
    best_gap: dict[str, list[float]] = {n: [] for n in norms}
    for norm in norms:
        for lr in lrs:
            rs = [run(norm, lr, he_gain, depth, "relu", s) for s in seeds]
            m, lo, hi = agg([r["test_acc"] for r in rs])
            st = [r["steps_to_target"] for r in rs]
            lr_rows.append([norm, lr, round(m, 4), round(lo, 4), round(hi, 4),
                            sum(r["trains"] for r in rs), float(np.mean(st))])
        for s in seeds:
            rs = [run(norm, lr, he_gain, depth, "relu", s) for lr in lrs]
            ok = [r["lr"] for r in rs if r["trains"]]
            largest[norm].append(max(ok) if ok else 0.0)
            b = max(rs, key=lambda r: (r["test_acc"], -r["lr"]))
            best_acc[norm].append(b["test_acc"])
            best_steps[norm].append(min(r["steps_to_target"] for r in rs))
            best_gap[norm].append(b["train_acc"] - b["test_acc"])
    ev.table("lr_grid", ["norm", "lr", "test acc mean", "min", "max", "seeds that train",
                         "steps to target (mean)"], lr_rows,
             title=f"ReLU MLP, depth {depth}, He init, SGD batch {batch}, {epochs} epochs")

    # ---- 2. init-scale grid at a fixed LR
    init_rows = []
    init_range: dict[str, list[float]] = {n: [] for n in norms}
    init_min: dict[str, float] = {}
    for norm in norms:
        per_gain = []
        for g in gains:
            rs = [run(norm, base_lr, g, depth, "relu", s) for s in seeds]
            m, lo, hi = agg([r["test_acc"] for r in rs])
            per_gain.append([r["test_acc"] for r in rs])
            init_rows.append([norm, g, round(m, 4), round(lo, 4), round(hi, 4)])
        arr = np.asarray(per_gain)  # gains x seeds
        init_range[norm] = list(arr.max(0) - arr.min(0))
        init_min[norm] = float(arr.min())
    ev.table("init_grid", ["norm", "init gain g (std = g/sqrt(fan_in))", "test acc mean", "min", "max"],
             init_rows, title=f"ReLU MLP, depth {depth}, lr {base_lr}")

    # ---- 3. sigmoid
    sig = {n: [run(n, sig_lr, 1.0, depth, "sigmoid", s, "default")["test_acc"] for s in seeds]
           for n in norms}
    # ---- 4. depth
    depth_acc = {n: {d: [run(n, base_lr, 1.0, d, "relu", s, "default")["test_acc"] for s in seeds]
                     for d in depths} for n in norms}
    ev.table("depth_sigmoid", ["setting", "norm", "test acc mean", "min", "max"],
             [[f"sigmoid depth {depth}", n, *[round(v, 4) for v in agg(sig[n])]] for n in norms]
             + [[f"ReLU depth {d} (torch default init)", n, *[round(v, 4) for v in agg(depth_acc[n][d])]]
                for d in depths for n in norms],
             title=f"lr {sig_lr} for sigmoid, {base_lr} for ReLU")

    # ---- metrics
    for n in norms:
        ev.metrics[f"largest_lr_{n}"] = largest[n]
        ev.metrics[f"best_acc_{n}"] = best_acc[n]
        ev.metrics[f"best_steps_to_target_{n}"] = best_steps[n]
        ev.metrics[f"gap_at_best_lr_{n}"] = best_gap[n]
        ev.metrics[f"init_range_{n}"] = init_range[n]
        ev.metrics[f"sigmoid_acc_{n}"] = sig[n]
        ev.metrics[f"deepest_acc_{n}"] = depth_acc[n][depths[-1]]
    per_step = {n: [] for n in norms}
    for r in cache.values():
        if r["act"] == "relu" and r["depth"] == depth and not r["diverged"]:
            per_step[r["norm"]].append(r["time"] / epochs)
    for n in norms:
        if per_step[n]:
            ev.timings[f"seconds_per_epoch_depth{depth}_{n}"] = float(np.median(per_step[n]))

    # ---- verdicts
    mean = lambda v: float(np.mean(v))  # noqa: E731

    # 1 faster: fewer steps to the target at each network's own best learning rate
    fin = {n: [s for s in best_steps[n]] for n in norms}
    faster_all = all(b < a for a, b in zip(fin["none"], fin["batch"], strict=True))
    faster_mean = mean(fin["batch"]) < mean(fin["none"])
    ev.add(judge(
        "q11.trains-faster",
        supported=faster_all, partly=faster_mean,
        rule=f"supported if, at the fastest learning rate of the grid for each network, batch norm reaches {TARGET_ACC:.0%} test "
        "accuracy in fewer SGD steps on every seed; partly if fewer on average only. Steps, not seconds: "
        "a BN step costs more wall time (see timings).",
        reason=f"steps to target, no BN {fin['none']} vs BN {fin['batch']}",
    ))
    # 2 higher learning rates
    higher_all = all(b > a for a, b in zip(largest["none"], largest["batch"], strict=True))
    ev.add(judge(
        "q11.higher-learning-rate",
        supported=higher_all, partly=mean(largest["batch"]) > mean(largest["none"]),
        rule=f"supported if the largest grid learning rate that still trains (finite loss, test accuracy "
        f">= {TRAINS_ACC:.0%}) is larger with batch norm on every seed; partly if larger on average.",
        reason=f"largest LR that trains per seed: no BN {largest['none']}, BN {largest['batch']}",
    ))
    # 3 init insensitivity
    rn, rb = mean(init_range["none"]), mean(init_range["batch"])
    ev.add(judge(
        "q11.init-insensitive",
        supported=rb <= 0.5 * rn and init_min["batch"] >= TRAINS_ACC,
        partly=rb < rn,
        rule=f"supported if the spread (max - min) of final test accuracy across init gains {gains} is at "
        f"most half as large with batch norm and every BN run trains (>= {TRAINS_ACC:.0%}); partly if "
        "the spread is merely smaller.",
        reason=f"mean spread across gains: no BN {rn:.3f}, BN {rb:.3f}; worst BN run {init_min['batch']:.3f}",
    ))
    # 4 more activations usable (sigmoid)
    sig_gain = [b - a for a, b in zip(sig["none"], sig["batch"], strict=True)]
    ev.add(judge(
        "q11.more-activations",
        supported=min(sig_gain) >= 0.10, partly=mean(sig_gain) > 0.02,
        rule=f"supported if a depth-{depth} sigmoid network gains at least 10 accuracy points from batch "
        "norm on every seed (same LR, same epochs); partly if it gains more than 2 points on average.",
        reason=f"sigmoid test acc no BN {[round(v, 3) for v in sig['none']]}, BN "
        f"{[round(v, 3) for v in sig['batch']]}",
    ))
    # 5 deeper networks
    dn, db = depth_acc["none"][depths[-1]], depth_acc["batch"][depths[-1]]
    shallow_b = depth_acc["batch"][depths[0]]
    deep_gain = [b - a for a, b in zip(dn, db, strict=True)]
    ev.add(judge(
        "q11.deeper-networks",
        supported=min(deep_gain) >= 0.05 and min(db) >= TRAINS_ACC and mean(db) >= mean(shallow_b) - 0.01,
        partly=min(deep_gain) >= 0.05 and min(db) >= TRAINS_ACC,
        rule=f"supported if at depth {depths[-1]} (torch default init, lr {base_lr}) batch norm gains at "
        f"least 5 points on every seed, every BN run trains (>= {TRAINS_ACC:.0%}) and the deep BN net is "
        f"no more than 1 point below the depth-{depths[0]} BN net (deeper is not worse); partly if BN "
        "makes the deep net train but it is worse than the shallow one.",
        reason=f"depth {depths[-1]}: no BN {[round(v, 3) for v in dn]}, BN {[round(v, 3) for v in db]}; "
        f"BN depth {depths[0]} mean {mean(shallow_b):.3f}",
    ))
    # 6 regularization: smaller train-test gap at the best LR
    gn, gb = mean(best_gap["none"]), mean(best_gap["batch"])
    ev.add(judge(
        "q11.regularizes",
        supported=gb <= gn - 0.01, partly=gb < gn,
        rule="supported if the train-test accuracy gap at each network's best learning rate is at least "
        "1 point smaller with batch norm (mean over seeds); partly if smaller by less.",
        reason=f"gap no BN {gn:.4f}, BN {gb:.4f} (per seed {[round(v, 4) for v in best_gap['none']]} vs "
        f"{[round(v, 4) for v in best_gap['batch']]})",
    ))
    # 7 better results
    an, ab = mean(best_acc["none"]), mean(best_acc["batch"])
    ev.add(judge(
        "q11.better-results",
        supported=ab >= an + 0.005, partly=ab >= an - 0.005,
        rule="supported if the best test accuracy over the learning-rate grid is at least 0.5 points "
        "higher with batch norm (mean over seeds); partly if within 0.5 points either way.",
        reason=f"best test acc no BN {an:.4f} (min {min(best_acc['none']):.4f}), BN {ab:.4f} "
        f"(min {min(best_acc['batch']):.4f})",
    ))

    # ---- figure
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    colors = {"none": "tab:red", "batch": "tab:blue"}
    labels = {"none": "no BN", "batch": "BN"}
    ax = axes[0, 0]
    for n in norms:
        a = np.array([[run(n, lr, he_gain, depth, "relu", s)["test_acc"] for s in seeds] for lr in lrs])
        ax.plot(lrs, a.mean(1), "o-", color=colors[n], label=labels[n])
        ax.fill_between(lrs, a.min(1), a.max(1), color=colors[n], alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final test accuracy")
    ax.set_title(f"LR grid (ReLU, depth {depth})")
    ax.legend()
    ax = axes[0, 1]
    for n in norms:
        a = np.array([[run(n, base_lr, g, depth, "relu", s)["test_acc"] for s in seeds] for g in gains])
        ax.plot(gains, a.mean(1), "o-", color=colors[n], label=labels[n])
        ax.fill_between(gains, a.min(1), a.max(1), color=colors[n], alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(gains, [f"{g:g}" for g in gains])
    ax.minorticks_off()
    ax.set_xlabel("init gain g (weight std = g / sqrt(fan_in))")
    ax.set_title(f"init scale (lr {base_lr})")
    ax = axes[1, 0]
    for n in norms:
        for i, s in enumerate(seeds):
            c = run(n, sig_lr, 1.0, depth, "sigmoid", s, "default")["curve"]
            ax.plot(range(1, len(c) + 1), c, color=colors[n], alpha=0.7, label=labels[n] if i == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"sigmoid, depth {depth}, lr {sig_lr}")
    ax.legend()
    ax = axes[1, 1]
    for n in norms:
        a = np.array([depth_acc[n][d] for d in depths])
        ax.plot(depths, a.mean(1), "o-", color=colors[n], label=labels[n])
        ax.fill_between(depths, a.min(1), a.max(1), color=colors[n], alpha=0.2)
    ax.set_xlabel("hidden layers")
    ax.set_title(f"depth (ReLU, default init, lr {base_lr})")
    for ax in axes.flat:
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ev.figure("batchnorm_grid", fig, caption=f"Final test accuracy on digits, mean and min-max band over "
              f"{len(seeds)} seeds; red without batch norm, blue with.")
    ev.notes = (
        "Each run is SGD without momentum, batch 64, drop_last (so BN never sees a batch of 1), "
        f"{epochs} epochs. A run that hits a non-finite loss counts as 10 % accuracy (chance). "
        "'Steps to target' is measured at epoch granularity. Wall-clock cost per epoch is in timings: "
        "batch norm adds work per step, so fewer steps is not automatically less time."
    )
    return ev
