"""Q7: does dropout reduce overfitting, and how does the gain depend on data size and rate?"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge


@experiment(
    7,
    "dropout-sweeps",
    title={
        "en": "Dropout: rate sweep, training-set-size sweep, model averaging, unit ablation",
        "zh": "Dropout:丢弃率扫描、训练集规模扫描、模型平均与神经元消融",
    },
    description={
        "en": "MLPs on digits trained with and without dropout for the same number of SGD steps, "
        "over dropout rates and training-set sizes; weight-scaled inference compared with the "
        "average of sampled sub-networks; robustness to deleting hidden units.",
        "zh": "在 digits 上用相同的 SGD 步数训练带与不带 dropout 的多层感知机,扫描丢弃率和训练集规模;"
        "比较权重缩放推断与采样子网络平均;测量删除隐藏单元后的稳健性。",
    },
)
def dropout_sweeps(ctx: RunContext) -> Evidence:
    return _run(ctx)


def _run(ctx: RunContext) -> Evidence:
    import torch

    from dlfaq.data import digits
    from dlfaq.nn import MLP
    from dlfaq.train.loop import evaluate, fit

    ev = Evidence()
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    steps = ctx.pick(quick=300, full=1200, smoke=20)
    hidden = ctx.pick(quick=128, full=256, smoke=16)
    sizes = ctx.pick(quick=[50, 150, 400, 1257], full=[30, 50, 100, 200, 400, 800, 1257],
                     smoke=[50, 1257])
    rates = ctx.pick(quick=[0.0, 0.2, 0.5, 0.7], full=[0.0, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8],
                     smoke=[0.0, 0.5])
    sweep_n = ctx.pick(quick=400, full=400, smoke=50)
    n_masks = ctx.pick(quick=100, full=500, smoke=5)
    ablate_q = 0.3
    full_n = sizes[-1]
    target = 0.95
    batch = 64
    lr = 0.01  # with momentum 0.9; at 0.05 the p>=0.5 nets are unstable and some collapse

    splits = {s: digits(seed=s) for s in seeds}
    cache: dict[tuple[int, float, int], dict[str, Any]] = {}

    def run(n: int, p: float, seed: int) -> dict[str, Any]:
        key = (n, p, seed)
        if key in cache:
            return cache[key]
        sp = splits[seed]
        Xtr, ytr, Xte, yte = sp.tensors(ctx.device)
        if n < len(ytr):
            # a stratified subset, drawn once per (seed, n) so p=0 and p>0 see the same data
            sub = digits(seed=seed, n_train=n)
            Xtr, ytr, Xte, yte = sub.tensors(ctx.device)
        torch.manual_seed(seed)
        model = MLP(64, 10, hidden=hidden, depth=2, activation="relu", dropout=p)
        per_epoch = math.ceil(len(ytr) / batch)
        h = fit(model, (Xtr, ytr), val=(Xte, yte), epochs=math.ceil(steps / per_epoch), max_steps=steps,
                lr=lr, momentum=0.9, batch_size=batch, seed=seed, device=ctx.device)
        reached = next((e["epoch"] * per_epoch for e in h.epochs if e["val_acc"] >= target), math.inf)
        rec = {
            "model": model, "test": (Xte, yte),
            "train_acc": h.last["train_acc"], "test_acc": h.last["val_acc"],
            "gap": h.last["train_acc"] - h.last["val_acc"],
            "steps_to_target": min(reached, steps) if reached != math.inf else math.inf,
            "curve": [(min(e["epoch"] * per_epoch, steps), e["val_acc"]) for e in h.epochs],
            "time": h.last["time"],
        }
        cache[key] = rec
        return rec

    jobs = [(n, p, s) for s in seeds for n in sizes for p in (0.0, 0.5)]
    jobs += [(sweep_n, p, s) for s in seeds for p in rates if p not in (0.0, 0.5)]
    for job in ctx.track(jobs, desc="train"):
        run(*job)

    # ---- size sweep
    size_rows = []
    gain_by_n: dict[int, list[float]] = {}
    for n in sizes:
        a0 = [run(n, 0.0, s)["test_acc"] for s in seeds]
        a5 = [run(n, 0.5, s)["test_acc"] for s in seeds]
        g = [b - a for a, b in zip(a0, a5, strict=True)]
        gain_by_n[n] = g
        size_rows.append([n, round(float(np.mean(a0)), 4), round(float(np.mean(a5)), 4),
                          round(float(np.mean(g)), 4), round(min(g), 4), round(max(g), 4)])
    ev.table("size_sweep", ["n_train", "test acc p=0", "test acc p=0.5", "gain mean", "gain min",
                            "gain max"], size_rows,
             title=f"Same {steps} SGD steps (momentum 0.9, lr {lr}, batch {batch}) for every run")
    ev.metrics["gain_by_n"] = {str(n): g for n, g in gain_by_n.items()}

    # ---- rate sweep
    rate_rows = []
    rate_acc: dict[float, list[float]] = {}
    rate_gap: dict[float, list[float]] = {}
    for p in rates:
        rs = [run(sweep_n, p, s) for s in seeds]
        rate_acc[p] = [r["test_acc"] for r in rs]
        rate_gap[p] = [r["gap"] for r in rs]
        rate_rows.append([p, round(float(np.mean(rate_acc[p])), 4), round(min(rate_acc[p]), 4),
                          round(max(rate_acc[p]), 4), round(float(np.mean([r["train_acc"] for r in rs])), 4),
                          round(float(np.mean(rate_gap[p])), 4)])
    ev.table("rate_sweep", ["dropout p", "test acc mean", "min", "max", "train acc mean",
                            "train-test gap"], rate_rows, title=f"n_train = {sweep_n}")
    ev.metrics["rate_test_acc"] = {str(p): v for p, v in rate_acc.items()}

    # ---- model averaging and ablation on the sweep-size nets
    avg_rows = []
    agreement, acc_ws, acc_mc, acc_single = [], [], [], []
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500) if k <= n_masks]
    curves_k = []
    drop_abl = {0.0: [], 0.5: []}
    for s in seeds:
        rec = run(sweep_n, 0.5, s)
        model, (Xte, yte) = rec["model"], rec["test"]
        with torch.no_grad():
            model.eval()
            p_ws = torch.softmax(model(Xte), 1)
            model.train()  # no batch norm here, so train mode only switches dropout on
            probs = torch.zeros_like(p_ws)
            single = []
            curve = []
            fork = [torch.device(ctx.device).index or 0] if ctx.device.startswith("cuda") else []
            with torch.random.fork_rng(devices=fork):
                torch.manual_seed(1000 + s)  # the dropout masks of the sampled sub-networks
                for k in range(1, n_masks + 1):
                    pk = torch.softmax(model(Xte), 1)
                    probs += pk
                    single.append(float((pk.argmax(1) == yte).float().mean()))
                    if k in ks:
                        curve.append(float(((probs / k).argmax(1) == yte).float().mean()))
            model.eval()
        p_mc = probs / n_masks
        agreement.append(float((p_mc.argmax(1) == p_ws.argmax(1)).float().mean()))
        acc_ws.append(float((p_ws.argmax(1) == yte).float().mean()))
        acc_mc.append(float((p_mc.argmax(1) == yte).float().mean()))
        acc_single.append(float(np.mean(single)))
        curves_k.append(curve)
        avg_rows.append([s, round(acc_ws[-1], 4), round(acc_mc[-1], 4), round(acc_single[-1], 4),
                         round(agreement[-1], 4)])
        # ablation: delete a random 30 % of hidden units (rescaling the rest by 1/0.7) in both
        # layers of a net trained without and with dropout; the drop in accuracy measures how
        # much units depend on each other being present
        for p in (0.0, 0.5):
            r = run(sweep_n, p, s)
            net = r["model"].eval()
            full = evaluate(net, r["test"])["acc"]
            accs = []
            mask_gen = torch.Generator(device="cpu").manual_seed(2000 + s)
            for _ in range(ctx.pick(quick=20, full=50, smoke=3)):
                handles = []
                for layer in net.layers:
                    keep = (torch.rand(hidden, generator=mask_gen) >= ablate_q).float().to(ctx.device)
                    handles.append(layer.act.register_forward_hook(
                        lambda _m, _i, out, keep=keep: out * keep / (1 - ablate_q)))
                accs.append(evaluate(net, r["test"])["acc"])
                for hd in handles:
                    hd.remove()
            drop_abl[p].append(full - float(np.mean(accs)))
    ev.table("model_averaging", ["seed", "acc weight-scaled", f"acc mean of {n_masks} sub-nets",
                                 "acc of one sub-net (mean)", "argmax agreement"], avg_rows,
             title=f"p = 0.5, n_train = {sweep_n}, test set")
    ev.table("unit_ablation", ["trained with", "accuracy lost when 30 % of hidden units are deleted "
                               "(mean over seeds)", "min", "max"],
             [[f"p={p}", round(float(np.mean(v)), 4), round(min(v), 4), round(max(v), 4)]
              for p, v in drop_abl.items()])
    ev.metrics.update(agreement=agreement, acc_weight_scaled=acc_ws, acc_mc=acc_mc,
                      acc_single_subnet=acc_single, ablation_drop_p0=drop_abl[0.0],
                      ablation_drop_p05=drop_abl[0.5])

    # ---- training length on the full training set
    st0 = [run(full_n, 0.0, s)["steps_to_target"] for s in seeds]
    st5 = [run(full_n, 0.5, s)["steps_to_target"] for s in seeds]
    ev.metrics.update(steps_to_target_p0=st0, steps_to_target_p05=st5)
    t0 = [cache[k]["time"] for k in cache if k[1] == 0.0 and k[0] == full_n]
    t5 = [cache[k]["time"] for k in cache if k[1] == 0.5 and k[0] == full_n]
    ev.timings.update(seconds_full_n_p0=float(np.median(t0)), seconds_full_n_p05=float(np.median(t5)))

    mean = lambda v: float(np.mean(v))  # noqa: E731

    # ---- verdicts
    g0, g5 = rate_gap[0.0], rate_gap[0.5]
    mean_gain = {n: mean(g) for n, g in gain_by_n.items()}
    helps_somewhere = [n for n, g in gain_by_n.items() if mean(g) >= 0.01 and min(g) > 0]
    ev.add(judge(
        "q07.reduces-overfitting",
        supported=all(v >= 0.005 for v in mean_gain.values()),
        partly=bool(helps_somewhere),
        rule="p=0.5 against p=0 at every training-set size, same step budget: supported if dropout raises "
        "mean test accuracy by at least 0.5 points at every size; partly if it gains at least 1 point "
        "(every seed positive) at some sizes only; not supported if it gains nowhere.",
        reason="mean gain by n_train: " + ", ".join(f"{n}: {v:+.4f}" for n, v in mean_gain.items())
        + f"; sizes with a consistent gain: {helps_somewhere}; train-test gap at n={sweep_n}: "
        f"p=0 {mean(g0):.4f}, p=0.5 {mean(g5):.4f}",
    ))
    a0, a5 = drop_abl[0.0], drop_abl[0.5]
    ev.add(judge(
        "q07.prevents-co-adaptation",
        supported=all(b < 0.5 * a for a, b in zip(a0, a5, strict=True)),
        partly=mean(a5) < mean(a0),
        rule="proxy for co-adaptation: accuracy lost when a random 30 % of hidden units is deleted at test "
        "time (rest rescaled). Supported if a dropout-trained net loses less than half as much as a "
        "plain net on every seed; partly if less on average.",
        reason=f"accuracy lost: plain {[round(v, 4) for v in a0]}, dropout {[round(v, 4) for v in a5]}",
    ))
    ev.add(judge(
        "q07.model-averaging",
        supported=min(agreement) >= 0.97 and max(abs(a - b) for a, b in zip(acc_ws, acc_mc, strict=True)) <= 0.01,
        partly=min(agreement) >= 0.90,
        rule=f"supported if weight-scaled inference agrees with the average of {n_masks} sampled "
        "sub-networks on at least 97 % of test digits and their accuracies differ by at most 1 point on "
        "every seed; partly if agreement is at least 90 %.",
        reason=f"agreement {[round(v, 4) for v in agreement]}; acc weight-scaled "
        f"{[round(v, 4) for v in acc_ws]} vs averaged {[round(v, 4) for v in acc_mc]}; one sub-net alone "
        f"{[round(v, 4) for v in acc_single]}",
    ))
    ev.add(judge(
        "q07.longer-training",
        supported=all(b > a for a, b in zip(st0, st5, strict=True)),
        partly=mean([min(v, steps + 1) for v in st5]) > mean([min(v, steps + 1) for v in st0]),
        rule=f"on the full training set: supported if the p=0.5 net needs more SGD steps than the plain "
        f"net to reach {target:.0%} test accuracy on every seed; partly if more on average.",
        reason=f"steps to target p=0 {st0}, p=0.5 {st5} (inf = not reached in {steps} steps)",
    ))
    small, largest_n = sizes[0], sizes[-1]
    g_small = mean(gain_by_n[small])
    g_best = max(mean(gain_by_n[n]) for n in sizes)
    ev.add(judge(
        "q07.not-for-small-data",
        supported=g_small <= 0.005 and g_best >= 0.01,
        partly=g_small < mean(gain_by_n[largest_n]),
        rule=f"supported if at the smallest size (n={small}) dropout's mean test-accuracy gain is at most "
        "0.5 points while some larger size gains at least 1 point; partly if the smallest size gains "
        f"less than the full set (n={largest_n}); not supported if small data gains at least as much as "
        "the full set.",
        reason="mean gain by n_train: " + ", ".join(f"{n}: {mean(g):+.4f}" for n, g in gain_by_n.items()),
    ))
    best_p = max(rates, key=lambda p: mean(rate_acc[p]))
    diff = mean(rate_acc[best_p]) - mean(rate_acc[0.5])
    ev.add(judge(
        "q07.rate-half",
        supported=diff <= 0.005, partly=diff <= 0.015,
        rule=f"at n_train={sweep_n}: supported if p=0.5 is within 0.5 points of the best rate in "
        f"{rates} (mean test accuracy); partly if within 1.5 points.",
        reason=f"best rate {best_p} at {mean(rate_acc[best_p]):.4f}; p=0.5 at {mean(rate_acc[0.5]):.4f}",
    ))

    # ---- figure
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    ax = axes[0, 0]
    gm = np.array([gain_by_n[n] for n in sizes]) * 100
    ax.plot(sizes, gm.mean(1), "o-", color="tab:blue")
    ax.fill_between(sizes, gm.min(1), gm.max(1), color="tab:blue", alpha=0.2)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training examples")
    ax.set_ylabel("test accuracy gain of p=0.5 (points)")
    ax.set_title("dropout gain vs data size")
    ax = axes[0, 1]
    am = np.array([rate_acc[p] for p in rates])
    gp = np.array([rate_gap[p] for p in rates])
    ax.plot(rates, am.mean(1), "o-", label="test accuracy")
    ax.fill_between(rates, am.min(1), am.max(1), alpha=0.2)
    ax.plot(rates, gp.mean(1), "s--", label="train-test gap")
    ax.set_xlabel("dropout rate p")
    ax.set_title(f"rate sweep, n_train={sweep_n}")
    ax.legend()
    ax = axes[1, 0]
    for i, c in enumerate(curves_k):
        ax.plot(ks, c, "o-", alpha=0.7, label="average of k sub-nets" if i == 0 else None, color="tab:green")
        ax.axhline(acc_ws[i], color="tab:purple", ls="--", alpha=0.7,
                   label="weight-scaled" if i == 0 else None)
    ax.set_xscale("log")
    ax.set_xlabel("number of sampled sub-networks k")
    ax.set_ylabel("test accuracy")
    ax.set_title("dropout as model averaging")
    ax.legend()
    ax = axes[1, 1]
    for p, color in ((0.0, "tab:red"), (0.5, "tab:blue")):
        for i, s in enumerate(seeds):
            c = run(full_n, p, s)["curve"]
            ax.plot([x for x, _ in c], [y for _, y in c], color=color, alpha=0.7,
                    label=f"p={p}" if i == 0 else None)
    ax.axhline(target, color="k", lw=0.8, ls=":")
    ax.set_xlabel("SGD steps")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"learning curves, n_train={full_n}")
    ax.set_ylim(0.5, 1.0)
    ax.legend()
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    ev.figure("dropout_sweeps", fig, caption=f"Digits, 2x{hidden} ReLU MLP, {len(seeds)} seeds (band = "
              "min-max).")
    ev.notes = (
        f"Every run gets the same budget of {steps} SGD steps, so a slower-converging dropout net is "
        "not given extra time. Dropout is applied after both hidden activations (inverted dropout), "
        "none on the inputs. The ablation test is a proxy for co-adaptation: it measures how much the "
        "network relies on particular units being present, which is what co-adaptation means."
    )
    return ev
