"""Q8: where vanishing and exploding gradients come from, and what each remedy does.

Four experiments:

* ``gradient-flow``: per-layer gradient norms of 20-layer MLPs on digits at
  initialization for every activation × initialization, plain / batch norm /
  residual, a depth sweep and an initialization-scale sweep, read with
  :class:`dlfaq.train.GradientMonitor`; then a few epochs of training of six
  configurations with the monitor on.
* ``saturation``: sigmoid's and tanh's derivative bounds measured with autograd;
  the output gradient of a sigmoid unit under squared error versus cross-entropy.
* ``clipping``: two exploding set-ups (too-large initialization; too-high
  learning rate) trained plainly, with gradient-norm clipping and with L2.
* ``rnn-vs-lstm``: gradient of the last output with respect to each earlier
  input for ``torch.nn.RNN`` and ``torch.nn.LSTM`` (forget bias 0 and 1).
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge

ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
# the initialization each activation was designed with (Glorot & Bengio 2010; He et al. 2015)
RECOMMENDED_INIT = {
    "sigmoid": "xavier",
    "tanh": "xavier",
    "relu": "he",
    "leaky_relu": "he",
    "elu": "he",
}


def _fmt(x: float) -> str:
    return f"{x:.2g}"


# --------------------------------------------------------------------------- gradient flow


def _probe(
    xb, yb, *, depth, activation, init, gain=1.0, norm="none", residual=False, seed=0, device="cpu"
):
    """One backward pass at initialization, read by a GradientMonitor.

    Returns (first/last hidden-layer gradient-norm ratio, first-layer gradient
    norm, set of finding kinds, per-layer gradient norms).
    """
    import torch
    import torch.nn.functional as F

    from dlfaq.nn.blocks import MLP
    from dlfaq.train.gradients import GradientMonitor

    torch.manual_seed(seed)
    model = MLP(
        64,
        10,
        hidden=64,
        depth=depth,
        activation=activation,
        norm=norm,
        init=init,
        init_gain=gain,
        residual=residual,
    ).to(device)
    with GradientMonitor(model) as mon:
        F.cross_entropy(model(xb), yb).backward()
        mon.step()
    g = mon.history()["grad_norm"][0]
    # hidden weight matrices are all 64x64 (digits have 64 features), so norms compare directly
    ratio = float(g[0] / g[depth - 1]) if g[depth - 1] > 0 else 0.0
    return ratio, float(g[0]), {f.kind for f in mon.diagnose()}, g


def _log10(x: float) -> float:
    return math.log10(x) if x > 0 else -40.0  # an underflow to 0 counts as "below 1e-40"


@experiment(
    8,
    "gradient-flow",
    title={
        "en": "Per-layer gradient norms of 20-layer MLPs: activation, initialization, batch norm, residual",
        "zh": "20 层多层感知机的逐层梯度范数:激活函数、初始化、批规范化与残差连接",
    },
    description={
        "en": "At initialization, one backward pass on 256 digits per configuration, read with "
        "GradientMonitor: ratio of the first to the last hidden layer's gradient norm, and the "
        "monitor's findings; a depth sweep and an initialization-scale sweep; then a few epochs "
        "of training for six configurations with the monitor on.",
        "zh": "在初始化时,对每种配置用 256 张 digits 图片做一次反向传播,用 GradientMonitor 读出第一层与最后一个"
        "隐藏层梯度范数之比以及诊断结果;再做深度扫描和初始化尺度扫描;最后对六种配置训练几个 epoch 并全程监控。",
    },
)
def gradient_flow(ctx: RunContext) -> Evidence:
    return _gradient_flow(ctx)


def _gradient_flow(ctx: RunContext) -> Evidence:
    import torch

    from dlfaq.data import digits
    from dlfaq.nn.blocks import MLP
    from dlfaq.train.gradients import GradientMonitor
    from dlfaq.train.loop import evaluate, fit

    ev = Evidence()
    dev = ctx.device
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    depth = ctx.pick(quick=20, full=30, smoke=6)
    depths = ctx.pick(quick=[2, 5, 10, 20, 30], full=[2, 5, 10, 20, 30, 50], smoke=[2, 6])
    gains = ctx.pick(
        quick=[0.5, 1.0, math.sqrt(2), 2.0, 3.0],
        full=[0.5, 1.0, math.sqrt(2), 2.0, 3.0],
        smoke=[math.sqrt(2), 3.0],
    )
    epochs = ctx.pick(quick=3, full=10, smoke=1)
    data = digits(ctx.seed)
    Xtr, ytr, Xte, yte = data.tensors(dev)
    xb, yb = Xtr[:256], ytr[:256]
    probe = functools.partial(_probe, xb, yb, device=dev)

    # 1. activation x init x {plain, batch norm, residual} at depth 20, several seeds
    archs = (("plain", "none", False), ("batch norm", "batch", False), ("residual", "none", True))
    grid: dict[tuple[str, str, str], dict[str, Any]] = {}
    configs = [(a, i, arch) for a in ACTS for i in ("default", "xavier", "he") for arch in archs]
    for act, init, (arch, norm, res) in ctx.track(configs, desc="init probes"):
        ratios, kinds = [], set()
        for s in seeds:
            r, _, k, _ = probe(
                depth=depth, activation=act, init=init, norm=norm, residual=res, seed=s
            )
            ratios.append(_log10(r))
            kinds |= k
        grid[(act, init, arch)] = {"log_ratio": ratios, "kinds": kinds}
    rows = []
    for (act, init, arch), v in grid.items():
        lr_ = v["log_ratio"]
        rows.append(
            [
                act,
                init,
                arch,
                round(float(np.mean(lr_)), 2),
                round(min(lr_), 2),
                round(max(lr_), 2),
                ", ".join(sorted(v["kinds"])) or "none",
            ]
        )
    ev.table(
        "init-grid",
        [
            "activation",
            "init",
            "architecture",
            "log10 first/last grad (mean)",
            "min",
            "max",
            "monitor findings",
        ],
        rows,
        title=f"Depth {depth}, at initialization, {len(seeds)} seed(s): log10 of the first hidden "
        "layer's gradient norm over the last hidden layer's (0 = no attenuation)",
    )
    ev.metrics["init_grid"] = {
        f"{a}/{i}/{arch}": {
            "log_ratio_mean": float(np.mean(v["log_ratio"])),
            "findings": sorted(v["kinds"]),
        }
        for (a, i, arch), v in grid.items()
    }

    # 2. depth sweep, default and recommended init
    sweep: dict[tuple[str, str], list[float]] = {}
    for act in ctx.track(ACTS, desc="depth sweep"):
        for init in ("default", RECOMMENDED_INIT[act]):
            sweep[(act, init)] = [
                _log10(probe(depth=d, activation=act, init=init, seed=ctx.seed)[0]) for d in depths
            ]
    ev.table(
        "depth-sweep",
        ["activation", "init"] + [f"depth {d}" for d in depths],
        [[a, i] + [round(x, 1) for x in v] for (a, i), v in sweep.items()],
        title="log10(first/last hidden-layer gradient norm) at initialization against depth (−40: underflow to 0)",
    )
    ev.metrics["depth_sweep"] = {f"{a}/{i}": v for (a, i), v in sweep.items()}

    # 3. initialization scale sweep, ReLU, scaled init N(0, g^2/fan_in), plain and batch norm
    scale_rows, scale = [], {}
    for g in gains:
        for norm in ("none", "batch"):
            r, g0, kinds, _ = probe(
                depth=depth, activation="relu", init="scaled", gain=g, norm=norm, seed=ctx.seed
            )
            scale[(g, norm)] = (g0, kinds)
            scale_rows.append(
                [round(g, 3), norm, f"{g0:.3g}", _fmt(r), ", ".join(sorted(kinds)) or "none"]
            )
    shallow_g0 = probe(depth=5, activation="relu", init="scaled", gain=max(gains), seed=ctx.seed)[1]
    ev.table(
        "init-scale",
        ["gain g", "norm", "first-layer grad norm", "first/last ratio", "monitor findings"],
        scale_rows,
        title=f"ReLU, depth {depth}, weights N(0, g²/fan_in); He init is g = √2",
    )
    ev.metrics["init_scale_first_grad"] = {f"{g:.3f}/{n}": v[0] for (g, n), v in scale.items()}
    ev.metrics["shallow_large_init_first_grad"] = shallow_g0

    # 4. a few epochs of training with the monitor on
    train_cfgs = [
        ("sigmoid, plain, default init", dict(activation="sigmoid")),
        ("sigmoid + batch norm", dict(activation="sigmoid", norm="batch")),
        ("sigmoid + residual", dict(activation="sigmoid", residual=True)),
        ("ReLU, default init", dict(activation="relu")),
        ("ReLU, He init", dict(activation="relu", init="he")),
        ("ReLU + batch norm", dict(activation="relu", norm="batch")),
    ]
    train_rows, figs = [], {}
    for name, kw in ctx.track(train_cfgs, desc="training"):
        torch.manual_seed(ctx.seed)
        model = MLP(64, 10, hidden=64, depth=depth, **kw)
        with GradientMonitor(model) as mon:
            h = fit(
                model,
                (Xtr, ytr),
                epochs=epochs,
                lr=0.05,
                batch_size=64,
                seed=ctx.seed,
                monitor=mon,
                device=dev,
                max_steps=ctx.pick(quick=None, full=None, smoke=5),
            )
        acc = evaluate(model, (Xte, yte))["acc"]
        finds = mon.diagnose()
        train_rows.append(
            [
                name,
                round(acc, 3),
                "yes" if h.diverged else "no",
                "; ".join(f"{f.kind} in {len(f.layers)} layers since step {f.step}" for f in finds)
                or "none",
            ]
        )
        ev.metrics[f"train_acc/{name}"] = acc
        if name in ("sigmoid, plain, default init", "ReLU + batch norm"):
            figs[name] = mon.plot(title=f"{name}, depth {depth}, {epochs} epochs of SGD")
    ev.table(
        "training",
        ["configuration", "test accuracy", "diverged", "monitor findings"],
        train_rows,
        title=f"Depth {depth}, SGD lr 0.05, batch 64, {epochs} epoch(s), seed {ctx.seed}",
    )

    # figures
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for act in ACTS:
        _, _, _, g = probe(depth=depth, activation=act, init="default", seed=ctx.seed)
        ax1.semilogy(np.arange(1, depth + 1), np.maximum(g[:depth], 1e-40), marker=".", label=act)
    ax1.set(
        xlabel="hidden layer (1 = input side)",
        ylabel="gradient norm",
        title=f"depth {depth}, PyTorch default init, plain",
    )
    ax1.legend(fontsize=8)
    for (act, init), v in sweep.items():
        ax2.plot(
            depths, v, marker="o", ls="-" if init == "default" else "--", label=f"{act}/{init}"
        )
    ax2.set(
        xlabel="depth", ylabel="log10 first/last gradient norm", title="attenuation against depth"
    )
    ax2.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    ev.figure(
        "per-layer-gradients",
        fig,
        "Per-layer gradient norms at initialization and attenuation against depth.",
    )
    for name, f in figs.items():
        ev.figure(
            "monitor-" + name.split(",")[0].replace(" + ", "-").replace(" ", "-").lower(),
            f,
            f"GradientMonitor record while training: {name}.",
        )

    # ---------------------------------------------------------------- verdicts
    def vanishes(act, init, arch="plain"):
        return "vanishing" in grid[(act, init, arch)]["kinds"]

    def explodes(act, init, arch="plain"):
        return "exploding" in grid[(act, init, arch)]["kinds"]

    inits = ("default", "xavier", "he")
    # depth
    grows_default = [a for a in ACTS if sweep[(a, "default")][-1] <= sweep[(a, "default")][0] - 2]
    grows_rec = [
        a
        for a in ACTS
        if sweep[(a, RECOMMENDED_INIT[a])][-1] <= sweep[(a, RECOMMENDED_INIT[a])][0] - 2
    ]
    ev.add(
        judge(
            "q08.depth-causes-vanishing",
            supported=len(grows_default) == len(ACTS) and len(grows_rec) == len(ACTS),
            partly=len(grows_default) > 0 or len(grows_rec) > 0,
            rule=f"attenuation = first/last hidden-layer gradient norm at init; depth 'causes' vanishing for an "
            f"activation when attenuation at depth {depths[-1]} is at least 100x stronger than at depth {depths[0]}. "
            "Supported if that holds for every activation under both PyTorch's default init and the init "
            "designed for it (Xavier/He); partly if it holds for some; not supported if for none.",
            reason=f"grows with depth under default init: {grows_default or 'none'}; under the recommended init: "
            f"{grows_rec or 'none'}",
        )
    )
    # tanh vs sigmoid
    tanh_logs = {i: float(np.mean(grid[("tanh", i, "plain")]["log_ratio"])) for i in inits}
    sig_logs = {i: float(np.mean(grid[("sigmoid", i, "plain")]["log_ratio"])) for i in inits}
    similar = all(tanh_logs[i] <= 0.5 * sig_logs[i] for i in inits)
    tanh_vanish_any = any(vanishes("tanh", i) for i in inits)
    ev.add(
        judge(
            "q08.tanh-similar",
            supported=similar,
            partly=tanh_vanish_any,
            rule="supported if under every init (default, Xavier, He) tanh's log10 attenuation is at least half of "
            "sigmoid's (similar on a log scale); partly if tanh is flagged vanishing under some init but "
            "attenuates much less than sigmoid; not supported if tanh never vanishes.",
            reason=f"log10 first/last at depth {depth}: sigmoid "
            f"{ {k: round(v, 1) for k, v in sig_logs.items()} }, tanh { {k: round(v, 1) for k, v in tanh_logs.items()} }",
        )
    )
    # exploding from large init
    g_he = min(gains, key=lambda g: abs(g - math.sqrt(2)))
    big = [g for g in gains if g >= 2.0]
    g0 = {g: scale[(g, "none")][0] for g in gains}
    monotone = all(g0[a] < g0[b] for a, b in zip(gains, gains[1:], strict=False))
    flagged_big = all("exploding" in scale[(g, "none")][1] for g in big)
    he_quiet = "exploding" not in scale[(g_he, "none")][1]
    deep_matters = g0[max(gains)] >= 100 * shallow_g0
    ev.add(
        judge(
            "q08.exploding-large-init",
            supported=monotone and flagged_big and he_quiet and deep_matters,
            partly=flagged_big or monotone,
            rule=f"ReLU MLP, weights N(0, g²/fan_in): supported if the first layer's gradient norm rises with g, the "
            f"monitor flags exploding for every g ≥ 2 and not for He's g = √2, and at the largest g the depth-{depth} "
            "net's gradient is ≥100x the depth-5 net's (depth matters); partly if only some of this holds.",
            reason=f"first-layer grad norm by g: {', '.join(f'{g:.2f}: {v:.2g}' for g, v in g0.items())}; "
            f"exploding flagged for g≥2: {flagged_big}; quiet at √2: {he_quiet}; depth 5 at g={max(gains):.0f}: "
            f"{shallow_g0:.2g}",
        )
    )
    # ReLU family
    fam = ("relu", "leaky_relu", "elu")
    fine_inits = {a: [i for i in inits if not vanishes(a, i) and not explodes(a, i)] for a in fam}
    ev.add(
        judge(
            "q08.relu-family-fixes",
            supported=all(len(v) == len(inits) for v in fine_inits.values()),
            partly=any(fine_inits.values()),
            rule=f"plain depth-{depth} nets at init: supported if ReLU, leaky ReLU and ELU are free of vanishing and "
            "exploding findings under every init (default, Xavier, He); partly if under some inits only (the "
            "activation alone does not settle it); not supported if under none.",
            reason="inits without findings: "
            + "; ".join(f"{a}: {v or 'none'}" for a, v in fine_inits.items())
            + f". For comparison sigmoid vanishes under {[i for i in inits if vanishes('sigmoid', i)]}",
        )
    )
    # batch norm
    bn_bad = [
        f"{a}/{i}"
        for a in ACTS
        for i in inits
        if vanishes(a, i, "batch norm") or explodes(a, i, "batch norm")
    ]
    plain_bad = [f"{a}/{i}" for a in ACTS for i in inits if vanishes(a, i) or explodes(a, i)]
    bn_scale_bad = [g for g in gains if scale[(g, "batch")][1]]
    bn_max_ratio = 10 ** max(
        float(np.mean(grid[(a, i, "batch norm")]["log_ratio"])) for a in ACTS for i in inits
    )
    ev.add(
        judge(
            "q08.batchnorm-fixes",
            supported=not bn_bad and not bn_scale_bad,
            partly=len(bn_bad) < len(plain_bad),
            rule=f"depth {depth} at init: supported if no activation x init combination and no ReLU init scale "
            "g in the sweep gives a vanishing or exploding finding once batch norm is added; partly if batch norm "
            "leaves fewer problem cases than the plain nets; not supported otherwise.",
            reason=f"problem cases plain: {len(plain_bad)} ({', '.join(plain_bad)}); with batch norm: "
            f"{len(bn_bad)} {bn_bad or ''}; BN with init scales flagged: {bn_scale_bad or 'none'}. "
            f"BN nets still show first/last ratios of up to {_fmt(bn_max_ratio)} (growth toward the input).",
        )
    )
    # residual
    res_vanish = [f"{a}/{i}" for a in ACTS for i in inits if vanishes(a, i, "residual")]
    res_explode = [f"{a}/{i}" for a in ACTS for i in inits if explodes(a, i, "residual")]
    plain_vanish = [f"{a}/{i}" for a in ACTS for i in inits if vanishes(a, i)]
    ev.add(
        judge(
            "q08.residual-fixes",
            supported=not res_vanish and not res_explode,
            partly=len(res_vanish) < len(plain_vanish),
            rule=f"depth {depth} at init, no normalization: supported if residual nets show neither vanishing nor "
            "exploding findings for any activation x init; partly if they vanish in fewer cases than plain nets "
            "(but, e.g., explode instead); not supported otherwise.",
            reason=f"vanishing plain: {plain_vanish}; vanishing residual: {res_vanish or 'none'}; exploding "
            f"residual: {res_explode or 'none'}",
        )
    )
    ev.notes = (
        "Hidden layers are all 64x64 (digits has 64 features), so gradient norms of the first and last hidden "
        "layers compare directly. 'Findings' are GradientMonitor.diagnose() on one backward pass at "
        "initialization (thresholds in its docstring). Residual nets here have no normalization and an "
        "unscaled residual branch, which is why deep ReLU residual stacks explode."
    )
    return ev


# --------------------------------------------------------------------------- saturation


@experiment(
    8,
    "saturation",
    title={
        "en": "Sigmoid and tanh derivatives; sigmoid output with squared error vs cross-entropy",
        "zh": "sigmoid 与 tanh 的导数;sigmoid 输出配均方误差与交叉熵",
    },
    description={
        "en": "Autograd derivatives of sigmoid and tanh on a fine grid; the gradient reaching the logit of a "
        "sigmoid output under squared error and under cross-entropy; gradient attenuation across sigmoid "
        "hidden layers.",
        "zh": "在细网格上用自动求导测 sigmoid 和 tanh 的导数;比较 sigmoid 输出在均方误差和交叉熵下传到 logit 的梯度;"
        "测量穿过多层 sigmoid 隐藏层后的梯度衰减。",
    },
)
def saturation(ctx: RunContext) -> Evidence:
    return _saturation(ctx)


def _saturation(ctx: RunContext) -> Evidence:
    import torch
    import torch.nn.functional as F
    from matplotlib.figure import Figure

    from dlfaq.data import digits

    ev = Evidence()
    n = ctx.pick(quick=400_001, full=4_000_001, smoke=4_001)
    x = torch.linspace(-20, 20, n, dtype=torch.float64, requires_grad=True)
    derivs = {}
    for name, fn in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu)):
        (d,) = torch.autograd.grad(fn(x).sum(), x)
        derivs[name] = d.detach()
    xs = x.detach()
    sig_max = float(derivs["sigmoid"].max())
    sig_arg = float(xs[derivs["sigmoid"].argmax()])
    tanh_max = float(derivs["tanh"].max())
    ev.metrics.update(
        sigmoid_max_derivative=sig_max, sigmoid_argmax=sig_arg, tanh_max_derivative=tanh_max
    )
    ev.table(
        "derivative-bounds",
        ["function", "max derivative (grid)", "at x", "derivative at x=±4"],
        [
            [
                "sigmoid",
                f"{sig_max:.8f}",
                round(sig_arg, 6),
                f"{float(torch.sigmoid(torch.tensor(4.0)) * (1 - torch.sigmoid(torch.tensor(4.0)))):.4f}",
            ],
            [
                "tanh",
                f"{tanh_max:.8f}",
                round(float(xs[derivs["tanh"].argmax()]), 6),
                f"{1 - math.tanh(4.0) ** 2:.4f}",
            ],
            ["relu", f"{float(derivs['relu'].max()):.1f}", "x > 0", "1 / 0"],
        ],
        title=f"Autograd derivatives on {n:,} points in [-20, 20] (float64)",
    )

    # loss choice: gradient reaching the logit z of a sigmoid output, target 1
    z = torch.linspace(-10, 10, 201, dtype=torch.float64, requires_grad=True)
    target = torch.ones_like(z)
    (g_mse,) = torch.autograd.grad(F.mse_loss(torch.sigmoid(z), target, reduction="sum"), z)
    (g_ce,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, target, reduction="sum"), z)
    wrong = z.detach() <= -6  # confidently wrong: predicted p(y=1) < 0.25 %
    loss_effect = float((g_ce[wrong].abs() / g_mse[wrong].abs()).min())
    ev.metrics["ce_over_mse_output_grad_min_when_wrong"] = loss_effect

    # activation effect: attenuation across sigmoid hidden layers (Xavier init, plain MLP)
    from dlfaq.nn.blocks import MLP
    from dlfaq.train.gradients import GradientMonitor

    X, y, _, _ = digits(ctx.seed).tensors(ctx.device)
    depth = ctx.pick(quick=10, full=10, smoke=6)
    att = []
    for s in ctx.seeds(quick=3, full=5, smoke=1):
        torch.manual_seed(s)
        m = MLP(64, 10, hidden=64, depth=depth, activation="sigmoid", init="xavier").to(ctx.device)
        with GradientMonitor(m) as mon:
            F.cross_entropy(m(X[:256]), y[:256]).backward()
            mon.step()
        g = mon.history()["grad_norm"][0]
        att.append(float(g[depth - 1] / g[0]))
    act_effect = float(np.min(att))
    ev.metrics["sigmoid_hidden_attenuation_min"] = act_effect
    ev.table(
        "loss-vs-activation",
        ["effect", "factor (min over cases)"],
        [
            [
                "cross-entropy / squared-error gradient at a sigmoid output, z ≤ −6, target 1",
                f"{loss_effect:.3g}",
            ],
            [
                f"last / first hidden-layer gradient, {depth} sigmoid layers, Xavier init",
                f"{act_effect:.3g} (seeds: {', '.join(_fmt(a) for a in att)})",
            ],
        ],
        title="Two different ways sigmoid shrinks gradients",
    )

    fig = Figure(figsize=(11, 3.8))
    a1, a2 = fig.subplots(1, 2)
    sl = slice(None, None, max(1, n // 2000))
    a1.plot(xs[sl], torch.sigmoid(xs)[sl], label="sigmoid")
    a1.plot(xs[sl], derivs["sigmoid"][sl], label="sigmoid' (max 0.25)")
    a1.plot(xs[sl], derivs["tanh"][sl], label="tanh' (max 1)")
    a1.axhline(0.25, color="grey", ls=":", lw=1)
    a1.set(xlim=(-8, 8), xlabel="x", title="activations and their derivatives")
    a1.legend(fontsize=8)
    a2.semilogy(z.detach(), g_mse.abs(), label="squared error on sigmoid(z)")
    a2.semilogy(z.detach(), g_ce.abs(), label="cross-entropy (with logits)")
    a2.set(
        xlabel="logit z (target 1)",
        ylabel="|dL/dz|",
        title="gradient reaching a sigmoid output's logit",
    )
    a2.legend(fontsize=8)
    fig.tight_layout()
    ev.figure(
        "sigmoid-derivatives",
        fig,
        "Sigmoid's derivative peaks at 0.25; squared error on a sigmoid output "
        "vanishes for confidently wrong predictions while cross-entropy does not.",
    )

    ev.add(
        judge(
            "q08.sigmoid-derivative-bound",
            supported=abs(sig_max - 0.25) < 1e-9
            and abs(sig_arg) < 1e-3
            and bool((derivs["sigmoid"] <= 0.25 + 1e-12).all()),
            partly=sig_max <= 0.25 + 1e-6,
            rule="supported if the largest autograd derivative of sigmoid on the grid is 0.25 (to 1e-9), attained at "
            "x = 0, and no point exceeds it.",
            reason=f"max sigmoid' = {sig_max:.10f} at x = {sig_arg:.2g}; tanh' peaks at {tanh_max:.6f}",
        )
    )
    ev.add(
        judge(
            "q08.sigmoid-as-loss",
            supported=loss_effect >= 100 and act_effect < 100,
            partly=loss_effect >= 100,
            rule="the claim blames a loss function. Supported if the choice of loss alone (squared error vs "
            "cross-entropy on a sigmoid output) changes the output gradient of confidently wrong predictions (z ≤ −6) by ≥100x "
            "and sigmoid hidden layers do not shrink gradients by ≥100x (so sigmoid's harm would be a loss effect); "
            "partly if the loss effect exists but sigmoid, used as an activation, also shrinks gradients ≥100x (the "
            "page misnames it a loss); not supported if the loss choice makes <100x difference.",
            reason=f"loss effect: cross-entropy gradient ≥ {loss_effect:.3g}x the squared-error one; activation "
            f"effect: the gradient shrinks ≥ {act_effect:.3g}x across {depth} sigmoid hidden layers",
        )
    )
    return ev


# --------------------------------------------------------------------------- clipping


@experiment(
    8,
    "clipping",
    title={
        "en": "Exploding gradients: plain SGD vs gradient-norm clipping vs L2 regularization",
        "zh": "梯度爆炸:普通 SGD、梯度范数剪切与 L2 正则的对比",
    },
    description={
        "en": "Two exploding set-ups on digits (20-layer ReLU MLP with too-large initialization; 10-layer He-"
        "initialized ReLU MLP at a too-high learning rate), each trained plainly, with "
        "dlfaq.train.clip_grad_norm(max_norm=1) and with weight decay, over several seeds, with the monitor on.",
        "zh": "在 digits 上构造两种梯度爆炸(初始化过大的 20 层 ReLU 网络;学习率过高的 10 层 He 初始化 ReLU 网络),"
        "分别用普通 SGD、dlfaq.train.clip_grad_norm(max_norm=1) 和权重衰减训练,多个随机种子,全程监控梯度。",
    },
)
def clipping(ctx: RunContext) -> Evidence:
    return _clipping(ctx)


def _clipping(ctx: RunContext) -> Evidence:
    import torch
    from matplotlib.figure import Figure

    from dlfaq.data import digits
    from dlfaq.nn.blocks import MLP
    from dlfaq.train.gradients import GradientMonitor, clip_grad_norm
    from dlfaq.train.loop import evaluate, fit

    ev = Evidence()
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    epochs = ctx.pick(quick=5, full=15, smoke=1)
    wd = 1e-2
    Xtr, ytr, Xte, yte = digits(ctx.seed).tensors(ctx.device)
    setups = {
        "large init": dict(model=dict(depth=20, init="scaled", init_gain=2.0), lr=0.01),
        "high lr": dict(model=dict(depth=10, init="he"), lr=1.0),
    }
    clip = functools.partial(clip_grad_norm, max_norm=1.0, on_nonfinite="zero")
    variants = {
        "plain": dict(),
        "clip norm 1": dict(clip=clip),
        f"L2 (weight decay {wd:g})": dict(weight_decay=wd),
    }
    res: dict[tuple[str, str], list[dict[str, float]]] = {}
    curves = {}
    jobs = [(s, v, seed) for s in setups for v in variants for seed in seeds]
    for setup, var, seed in ctx.track(jobs, desc="training"):
        torch.manual_seed(seed)
        model = MLP(64, 10, hidden=64, activation="relu", **setups[setup]["model"])
        with GradientMonitor(model) as mon, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            h = fit(
                model,
                (Xtr, ytr),
                epochs=epochs,
                lr=setups[setup]["lr"],
                batch_size=64,
                seed=seed,
                monitor=mon,
                device=ctx.device,
                **variants[var],
            )
        gn = mon.history()["grad_norm"]
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.sqrt((gn**2).sum(axis=1))  # NaN/inf once a run has blown up: not drawn
        finite_all = bool(np.isfinite(gn).all())
        acc = evaluate(model, (Xte, yte))["acc"] if not h.diverged else float("nan")
        res.setdefault((setup, var), []).append(
            {
                "diverged": bool(h.diverged or not finite_all),
                "acc": acc,
                "max_grad": float(np.nanmax(np.where(np.isfinite(gn), gn, np.nan)))
                if np.isfinite(gn).any()
                else math.inf,
                "zeroed_steps": sum("set to zero" in str(w.message) for w in caught),
            }
        )
        if seed == seeds[0]:
            curves[(setup, var)] = total
    rows = []
    for (setup, var), rs in res.items():
        accs = [r["acc"] for r in rs]
        rows.append(
            [
                setup,
                var,
                f"{sum(r['diverged'] for r in rs)}/{len(rs)}",
                "—"
                if all(math.isnan(a) for a in accs)
                else f"{np.nanmean(accs):.3f} [{np.nanmin(accs):.3f}, {np.nanmax(accs):.3f}]",
                f"{np.median([r['max_grad'] for r in rs]):.3g}",
                sum(r["zeroed_steps"] for r in rs),
            ]
        )
        ev.metrics[f"{setup}/{var}"] = rs
    ev.table(
        "outcomes",
        [
            "set-up",
            "variant",
            "diverged (NaN)",
            "test accuracy mean [min, max] (non-diverged)",
            "median of max layer grad norm",
            "steps zeroed for NaN/inf",
        ],
        rows,
        title=f"{len(seeds)} seeds, {epochs} epochs, batch 64; large init: depth 20, N(0, 4/fan_in), lr 0.01; "
        "high lr: depth 10, He init, lr 1.0",
    )

    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    for ax, setup in zip(axes, setups, strict=True):
        for var, style in zip(variants, ("-", "-", ":"), strict=True):
            c = curves.get((setup, var))
            if c is not None:
                steps_ = np.arange(len(c))
                ok = np.isfinite(c) & (c > 0)
                ax.semilogy(steps_[ok], c[ok], style, marker=".", ms=3, label=var, lw=1.2)
        ax.set(xlabel="step", ylabel="total gradient norm (before clipping)", title=setup)
        ax.legend(fontsize=8)
    fig.tight_layout()
    ev.figure(
        "gradient-norms",
        fig,
        f"Total gradient norm per step (seed {seeds[0]}); curves end where a run diverged.",
    )

    def div(setup, var):
        return sum(r["diverged"] for r in res[(setup, var)])

    def accs(setup, var):
        return [r["acc"] if not math.isnan(r["acc"]) else 0.0 for r in res[(setup, var)]]

    clip_v, l2_v = "clip norm 1", f"L2 (weight decay {wd:g})"
    clip_never_div = all(div(s, clip_v) == 0 for s in setups)
    plain_div = {s: div(s, "plain") for s in setups}
    gain_hl = min(
        c - p for c, p in zip(accs("high lr", clip_v), accs("high lr", "plain"), strict=True)
    )
    gain_li = min(
        c - p for c, p in zip(accs("large init", clip_v), accs("large init", "plain"), strict=True)
    )
    ev.add(
        judge(
            "q08.clipping-limits-exploding",
            supported=clip_never_div and gain_hl >= 0.2,
            partly=clip_never_div and sum(plain_div.values()) > 0,
            rule="supported if no clipped run diverges in either set-up and, in the high-learning-rate set-up, every "
            "seed's clipped test accuracy beats the plain run's by at least 20 points (diverged = 0); partly if "
            "clipping only prevents the divergences; not supported otherwise.",
            reason=f"plain runs diverged: {plain_div}; clipped runs diverged: "
            f"{ {s: div(s, clip_v) for s in setups} }; min accuracy gain from clipping: high lr {gain_hl:+.3f}, "
            f"large init {gain_li:+.3f} (clipping caps the step but cannot repair the too-large initialization)",
        )
    )
    l2_div = {s: div(s, l2_v) for s in setups}
    max_plain = {s: float(np.median([r["max_grad"] for r in res[(s, "plain")]])) for s in setups}
    max_l2 = {s: float(np.median([r["max_grad"] for r in res[(s, l2_v)]])) for s in setups}
    prevents = all(l2_div[s] == 0 for s in setups if plain_div[s] > 0)
    halves = 2 * sum(l2_div.values()) <= sum(plain_div.values())
    ev.add(
        judge(
            "q08.regularization-limits-exploding",
            supported=prevents and sum(plain_div.values()) > 0,
            partly=halves and sum(plain_div.values()) > 0,
            rule=f"supported if L2 (weight decay {wd:g}) prevents every divergence that plain SGD suffers; partly "
            "if it at least halves the number of diverged runs over both set-ups; not supported otherwise (weight "
            "decay shrinks weights by lr·λ per step, slow next to a blow-up within a few steps).",
            reason=f"diverged plain {plain_div} vs L2 {l2_div}; median max grad norm plain "
            f"{ {s: _fmt(v) for s, v in max_plain.items()} } vs L2 { {s: _fmt(v) for s, v in max_l2.items()} }",
        )
    )
    ev.notes = (
        "clip_grad_norm runs with on_nonfinite='zero': a step whose gradient holds NaN/inf is zeroed (and counted) "
        "instead of being scaled into NaN. A run counts as diverged when its loss or any gradient became non-finite."
    )
    return ev


# --------------------------------------------------------------------------- RNN vs LSTM


@experiment(
    8,
    "rnn-vs-lstm",
    title={
        "en": "Gradient through time: vanilla RNN vs LSTM (forget bias 0 and 1)",
        "zh": "随时间反传的梯度:普通 RNN 与 LSTM(遗忘门偏置 0 和 1)",
    },
    description={
        "en": "Norm of the gradient of the last step's output with respect to each earlier input, for "
        "torch.nn.RNN (tanh) and torch.nn.LSTM with PyTorch's default init (forget bias 0) and forget bias 1, "
        "over several seeds; then a short training run on a delayed-recall task.",
        "zh": "对 torch.nn.RNN(tanh)和 torch.nn.LSTM(PyTorch 默认初始化,遗忘门偏置 0;以及遗忘门偏置 1),"
        "测量最后一步输出对每个更早输入的梯度范数,多个随机种子;再在延迟回忆任务上做短时间训练。",
    },
)
def rnn_vs_lstm(ctx: RunContext) -> Evidence:
    return _rnn_vs_lstm(ctx)


def _make_rnn(kind: str, hidden: int, inp: int):
    import torch
    from torch import nn

    if kind == "RNN (tanh)":
        return nn.RNN(inp, hidden, batch_first=True)
    lstm = nn.LSTM(inp, hidden, batch_first=True)
    if kind == "LSTM, forget bias 1":
        with torch.no_grad():
            # gate order in PyTorch is (input, forget, cell, output); b_ih + b_hh is the effective bias
            lstm.bias_ih_l0[hidden : 2 * hidden].fill_(1.0)
            lstm.bias_hh_l0[hidden : 2 * hidden].zero_()
    return lstm


def _rnn_vs_lstm(ctx: RunContext) -> Evidence:
    import torch
    import torch.nn.functional as F
    from matplotlib.figure import Figure
    from torch import nn

    from dlfaq.data import delayed_recall

    ev = Evidence()
    dev = ctx.device
    T = ctx.pick(quick=100, full=200, smoke=30)
    hidden, inp, batch = 64, 8, 32
    kinds = ("RNN (tanh)", "LSTM (default init)", "LSTM, forget bias 1")
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    lag = ctx.pick(quick=50, full=100, smoke=20)
    curves: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
    for kind in ctx.track(kinds, desc="gradient through time"):
        for s in seeds:
            torch.manual_seed(s)
            net = _make_rnn(kind, hidden, inp).to(dev)
            x = torch.randn(batch, T, inp, device=dev, requires_grad=True)
            out, _ = net(x)
            (gx,) = torch.autograd.grad(out[:, -1].sum(), x)
            g = (
                gx.norm(dim=(0, 2)).detach().cpu().double().numpy()[::-1]
            )  # index = lag from the last step
            curves[kind].append(g / g[0])
    rel = {k: [float(c[lag]) for c in v] for k, v in curves.items()}
    ev.metrics["grad_at_lag_relative_to_lag0"] = rel
    ev.table(
        "gradient-at-lag",
        ["network", f"|∂h_T/∂x_(T−{lag})| / |∂h_T/∂x_T| (median)", "min", "max"],
        [[k, _fmt(float(np.median(v))), _fmt(min(v)), _fmt(max(v))] for k, v in rel.items()],
        title=f"Sequence length {T}, hidden {hidden}, {len(seeds)} seed(s), at initialization",
    )

    # short training: recall the first token after `delay` distractors
    delay = ctx.pick(quick=20, full=40, smoke=5)
    steps = ctx.pick(quick=250, full=1000, smoke=10)
    vocab = 8
    xs, ys = delayed_recall(2048, delay, vocab=vocab, seed=ctx.seed)
    xt, yt = delayed_recall(512, delay, vocab=vocab, seed=ctx.seed + 1)
    X = F.one_hot(torch.as_tensor(xs), vocab).float().to(dev)
    Y = torch.as_tensor(ys).to(dev)
    Xt = F.one_hot(torch.as_tensor(xt), vocab).float().to(dev)
    Yt = torch.as_tensor(yt).to(dev)
    train_acc = {}
    for kind in ctx.track(kinds, desc="delayed recall"):
        torch.manual_seed(ctx.seed)
        net = _make_rnn(kind, hidden, vocab).to(dev)
        head = nn.Linear(hidden, vocab).to(dev)
        params = list(net.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=3e-3)
        gen = torch.Generator().manual_seed(ctx.seed)
        for _ in range(steps):
            idx = torch.randint(0, len(Y), (64,), generator=gen).to(dev)
            out, _ = net(X[idx])
            loss = F.cross_entropy(head(out[:, -1]), Y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        with torch.no_grad():
            out, _ = net(Xt)
            train_acc[kind] = float((head(out[:, -1]).argmax(1) == Yt).float().mean())
    ev.metrics["delayed_recall_test_acc"] = train_acc
    ev.table(
        "delayed-recall",
        ["network", "test accuracy"],
        [[k, round(v, 3)] for k, v in train_acc.items()],
        title=f"Recall the first of {delay + 1} tokens (chance {1 / (vocab - 1):.2f}), Adam, {steps} steps, seed {ctx.seed}",
    )

    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for k, cs in curves.items():
        c = np.median(np.stack(cs), axis=0)
        ax.semilogy(np.arange(T), np.maximum(c, 1e-40), label=k)
    ax.axvline(lag, color="grey", ls=":", lw=1)
    ax.set(
        xlabel="lag k (steps back from the last)",
        ylabel="|∂h_T/∂x_(T−k)| / |∂h_T/∂x_T|",
        title="gradient through time at initialization (median over seeds)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    ev.figure(
        "gradient-through-time",
        fig,
        "How much of the last output's gradient reaches earlier inputs.",
    )

    rnn_max = max(rel["RNN (tanh)"])
    default_ok = min(rel["LSTM (default init)"]) >= 100 * rnn_max
    fb1_ok = min(rel["LSTM, forget bias 1"]) >= 100 * rnn_max
    ev.add(
        judge(
            "q08.lstm-remembers",
            supported=default_ok and fb1_ok,
            partly=default_ok or fb1_ok,
            rule=f"supported if, in every seed, both LSTM variants (PyTorch's default init and forget-gate bias 1) "
            f"keep at least 100x more of the gradient at lag {lag} than the best vanilla-RNN seed; partly if only "
            "one variant does; not supported if neither. The delayed-recall run is reported but not used: Adam "
            "rescales tiny gradients, which blurs the comparison.",
            reason=f"gradient kept at lag {lag}: RNN ≤ {rnn_max:.2g}; LSTM default ≥ {min(rel['LSTM (default init)']):.2g}; "
            f"LSTM forget bias 1 ≥ {min(rel['LSTM, forget bias 1']):.2g}; delayed-recall accuracy "
            f"{ {k: round(v, 3) for k, v in train_acc.items()} }",
        )
    )
    ev.notes = (
        "At initialization PyTorch's LSTM (forget bias 0, so forget gates near 0.5) loses its gradient through "
        "time about as fast as the tanh RNN; a forget-gate bias of 1 keeps orders of magnitude more. In the short "
        "delayed-recall run (Adam, gradient clipping at 1) the vanilla RNN learned the task first: Adam normalizes "
        "gradient magnitudes, and LSTMs often sit on a plateau early in training, so this run does not show an "
        "LSTM advantage in trainability within its step budget."
    )
    return ev
