"""Q9: what is stochastic in SGD, measured on MNIST-1D.

``gradient-noise``: where the randomness of an SGD step comes from. With the initialization
fixed, the only random input of :func:`dlfaq.train.loop.fit` is the order in which it samples the
examples; fixing it must make two runs bit-identical, and changing it must change the weights.
Beside that exact check, the variance of the mini-batch gradient around the full gradient is
measured against the sampling formula sigma^2/B (N-B)/(N-1) from per-example gradients.

``sgd-vs-gd``: full-batch gradient descent against mini-batch SGD on MNIST-1D (Greydanus & Kobak
2024): per-example gradient evaluations to reach a validation loss (never seconds), the full
training loss along single SGD steps, and SGD against GD at the same learning rate and number of
steps, so that the noise is the only difference. Positive controls: logistic regression, the
convex case where Bottou (2010) shows SGD reaching a given loss with far fewer gradient
evaluations and single steps going uphill; and a one-dimensional finite-sum double well where
mini-batch noise carries SGD out of the poor minimum that GD cannot leave (Kleinberg, Li & Yuan
2018).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dlfaq.experiments import stats
from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, check, experiment, measured

HIDDEN, DEPTH = 64, 2  # the MLP of the MNIST-1D paper's table has two hidden layers
VAL_FRACTION = 0.2  # 800 of the 4,000 training examples; the test split is read once per setting
SGD_BATCH = 32

# --------------------------------------------------------------------------- shared pieces


def _data(seed: int):
    from dlfaq.data import mnist1d

    return mnist1d().with_validation(VAL_FRACTION, seed=seed)


def _mlp(seed: int, depth: int = DEPTH):
    import torch

    from dlfaq.nn.blocks import MLP

    torch.manual_seed(seed)
    return MLP(40, 10, hidden=HIDDEN, depth=depth, activation="relu")


def _flat(model) -> Any:
    import torch

    return torch.cat([p.detach().flatten() for p in model.parameters()])


# =========================================================================== gradient noise

ORDER_SHARE = 1e-3  # the order "explains" the run-to-run difference when fixing it removes 99.9 % of it


def _noise_sizes(ctx: RunContext) -> list[int]:
    return ctx.pick(quick=[1, 2, 4, 8, 16, 32, 64, 128, 256], full=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
                    smoke=[1, 4, 16])


def _noise_seeds(ctx: RunContext) -> list[int]:
    return ctx.seeds(quick=2, full=5, smoke=1)  # an illustration beside the check, not a verdict


def _per_example_grads(model, X, y):
    import torch
    import torch.nn.functional as F
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_one(p, x, t):
        return F.cross_entropy(functional_call(model, p, (x.unsqueeze(0),)), t.unsqueeze(0))

    g = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, X, y)
    return torch.cat([g[k].flatten(1) for k in params], dim=1)


def _measure_noise(G, sizes: list[int], draws: int, seed: int) -> dict[str, Any]:
    """E||g_B - g||^2 over random mini-batches drawn without replacement, against the formula."""
    import torch

    N = G.shape[0]
    g = G.double().mean(0)
    C = G.double() - g
    sigma2 = float((C * C).sum(1).mean())
    gen = torch.Generator().manual_seed(seed)
    noise, theory, cos = [], [], []
    for B in sizes:
        dev2, cs = [], []
        chunk = max(1, 2048 // B)  # rows gathered at once, to bound memory
        for start in range(0, draws, chunk):
            k = min(chunk, draws - start)
            idx = torch.stack([torch.randperm(N, generator=gen)[:B] for _ in range(k)]).to(G.device)
            gb = G[idx.flatten()].view(k, B, -1).double().mean(1)
            dev2.append(((gb - g) ** 2).sum(1))
            cs.append(torch.nn.functional.cosine_similarity(gb, g.unsqueeze(0), dim=1))
        noise.append(float(torch.cat(dev2).mean()))
        cos.append(float(torch.cat(cs).mean()))
        theory.append(sigma2 / B * (N - B) / (N - 1))
    fit_b = [b for b in sizes if b <= 128]  # where the finite-population factor is >= 0.96
    slope = float(np.polyfit(np.log(fit_b), np.log(noise[: len(fit_b)]), 1)[0]) if len(fit_b) > 1 else math.nan
    return {"noise": noise, "theory": theory, "cos": cos, "sigma2": sigma2, "slope": slope, "N": N}


def _noise_unit(ctx: RunContext, seed: int) -> dict[str, Any]:
    from dlfaq.train.loop import fit

    split = _data(seed)
    X, y, _, _ = split.tensors(ctx.device)
    model = _mlp(seed).to(ctx.device)
    fit(model, (X, y), epochs=1, lr=0.1, batch_size=SGD_BATCH, seed=seed, device=ctx.device,
        eval_train=False)  # a mid-training point, where the gradient is neither huge nor zero
    G = _per_example_grads(model, X, y)
    return _measure_noise(G, _noise_sizes(ctx), ctx.pick(quick=60, full=200, smoke=10), seed)


def _determinism_unit(ctx: RunContext, seed: int) -> dict[str, Any]:
    """Same initialization every time; only the shuffling seed of fit (the sample order) varies."""
    import torch

    from dlfaq.train.loop import fit

    split = _data(seed)
    X, y, _, _ = split.tensors(ctx.device)
    epochs = ctx.pick(quick=2, full=5, smoke=1)

    def run(batch_size, order_seed, n_epochs):
        m = _mlp(seed).to(ctx.device)
        fit(m, (X, y), epochs=n_epochs, lr=0.1, batch_size=batch_size, seed=order_seed, device=ctx.device,
            eval_train=False)
        return _flat(m)

    a, b, c = run(SGD_BATCH, 1, epochs), run(SGD_BATCH, 1, epochs), run(SGD_BATCH, 2, epochs)
    gd_steps = ctx.pick(quick=20, full=50, smoke=5)
    ga, gb = run(None, 1, gd_steps), run(None, 2, gd_steps)
    return {
        "same_order_identical": bool(torch.equal(a, b)),
        "same_order_max_diff": float((a - b).abs().max()),
        "other_order_max_diff": float((a - c).abs().max()),
        "gd_seed_max_diff": float((ga - gb).abs().max()),
        "epochs": epochs, "gd_steps": gd_steps, "steps": epochs * math.ceil(len(y) / SGD_BATCH),
    }


@experiment(
    9,
    "gradient-noise",
    title={
        "en": "Where SGD's randomness comes from: the sample order, and mini-batch gradient noise against batch size",
        "zh": "SGD 的随机性从哪里来:样本顺序,以及小批量梯度噪声与批量大小的关系",
    },
    description={
        "en": "An exact check on dlfaq.train.fit: with the initialization fixed, two SGD runs with the same "
        "sample order end with bit-identical weights, and changing only the order changes them. Beside it, "
        "per-example gradients of an MLP on MNIST-1D (torch.func.vmap) give the variance of the mini-batch "
        "gradient around the full gradient for batch sizes 1 to 256, against the sampling formula "
        "σ²/B·(N−B)/(N−1).",
        "zh": "对 dlfaq.train.fit 做精确检验:初始化固定时,样本顺序相同的两次 SGD 训练得到逐位相同的权重,只改变顺序"
        "则权重不同。另外用 torch.func.vmap 计算 MNIST-1D 上多层感知机的逐样本梯度,测量批量 1 到 256 时小批量梯度"
        "相对全梯度的方差,并与抽样公式 σ²/B·(N−B)/(N−1) 比较。",
    },
)
class GradientNoise(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        out = [Unit(f"noise/seed={s}", {"part": "noise", "seed": s}) for s in _noise_seeds(ctx)]
        return out + [Unit(f"order/seed={ctx.seed}", {"part": "order", "seed": ctx.seed})]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        if unit.params["part"] == "noise":
            return _noise_unit(ctx, unit.seed)
        return _determinism_unit(ctx, unit.seed)

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        ev = Evidence()
        seeds = _noise_seeds(ctx)
        noise = {s: results[f"noise/seed={s}"] for s in seeds}
        det = results[f"order/seed={ctx.seed}"]
        _noise_evidence(ev, noise, _noise_sizes(ctx))
        ev.table(
            "determinism",
            ["comparison (same initialization)", "max |Δw| after training"],
            [["SGD B=32, the same sample order twice", f"{det['same_order_max_diff']:.3g}"],
             ["SGD B=32, sample order 1 vs 2", f"{det['other_order_max_diff']:.3g}"],
             ["full-batch GD, shuffling seed 1 vs 2", f"{det['gd_seed_max_diff']:.3g}"]],
            title=f"{det['epochs']} epoch(s) of SGD ({det['steps']} steps), {det['gd_steps']} GD steps, lr 0.1",
        )
        ev.metrics["determinism"] = dict(det)
        explained = det["same_order_max_diff"] <= ORDER_SHARE * det["other_order_max_diff"]
        ev.add(check(
            "q09.randomness-not-sampling", holds=not explained, evidence=["determinism", "gradient-noise"],
            rule={"en": "The page says the randomness is in the direction of the update and not in the sampling of "
                        "examples. With the initialization fixed, the only random input of dlfaq's SGD (fit) is "
                        "the sample order. The claim holds only if randomness is left once the order is fixed: "
                        "it is contradicted when two runs with the same order differ by at most "
                        f"{ORDER_SHARE:g} times what changing the order does (on CPU they are bit-identical), "
                        "i.e. the randomness of the direction is the sampling's.",
                  "zh": "页面说随机性在更新方向上,而不在样本抽取上。初始化固定时,dlfaq 的 SGD(fit)唯一的随机输入是样本"
                        "顺序。只有固定顺序后仍有随机性,论断才成立:若两次顺序相同的训练之差不超过改变顺序所造成差别的 "
                        f"{ORDER_SHARE:g} 倍(在 CPU 上逐位相同),即更新方向的随机性完全来自抽样,论断被否定。"},
            reason={"en": ("Fixing the sample order reproduced the run " +
                           ("bit for bit" if det["same_order_identical"] else
                            f"up to {det['same_order_max_diff']:.3g}") +
                           f", while changing only the order moved the weights by up to "
                           f"{det['other_order_max_diff']:.3g}."),
                    "zh": ("固定样本顺序后训练" +
                           ("逐位复现" if det["same_order_identical"] else
                            f"复现到 {det['same_order_max_diff']:.3g} 以内") +
                           f";只改变顺序,权重最多变化 {det['other_order_max_diff']:.3g}。")},
        ))
        ev.notes = (
            "g is the full-batch gradient, g_B the mean of B per-example gradients drawn without replacement; both "
            "are computed at the same weights (an MLP after one epoch of SGD), so the only thing that varies is "
            "which examples are drawn. Full-batch GD with two shuffling seeds differs only by float rounding (fit "
            "shuffles the rows, which changes the summation order, not the gradient)."
        )
        return ev


def _noise_evidence(ev: Evidence, noise: Mapping[int, Mapping[str, Any]], sizes: list[int]) -> None:
    from matplotlib.figure import Figure

    first = min(noise)
    r0 = noise[first]
    ev.table(
        "noise",
        ["batch size B", "E‖g_B − g‖² measured", "σ²/B·(N−B)/(N−1)", "measured / formula", "mean cos(g_B, g)"],
        [[B, f"{v:.4g}", f"{t:.4g}", round(v / t, 3), round(c, 3)]
         for B, v, t, c in zip(sizes, r0["noise"], r0["theory"], r0["cos"], strict=True)],
        title=f"Seed {first}, N = {r0['N']} training examples",
    )
    ratios = [v / t for r in noise.values() for v, t in zip(r["noise"], r["theory"], strict=True) if t > 0]
    ev.metrics["loglog_slope"] = [noise[s]["slope"] for s in sorted(noise)]
    ev.metrics["mean_loglog_slope"] = float(np.mean(ev.metrics["loglog_slope"]))
    ev.metrics["max_relative_deviation_from_formula"] = float(max(abs(x - 1) for x in ratios))
    ev.metrics["noise"] = {str(s): dict(noise[s]) for s in sorted(noise)}
    fig = Figure(figsize=(11, 4))
    a1, a2 = fig.subplots(1, 2)
    for s in sorted(noise):
        v = noise[s]
        a1.loglog(sizes, v["noise"], "o", ms=4, label=f"measured, seed {s}")
        a1.loglog(sizes, v["theory"], "-", lw=1, color="grey")
        a2.semilogx(sizes, v["cos"], "o-", ms=4, label=f"seed {s}")
    a1.set(xlabel="batch size B", ylabel="E‖g_B − g‖²", title="gradient noise (grey: σ²/B·(N−B)/(N−1))")
    a1.legend(fontsize=7)
    a2.set(xlabel="batch size B", ylabel="mean cos(g_B, g)", title="mini-batch step direction vs full gradient",
           ylim=(0, 1.02))
    a2.legend(fontsize=7)
    fig.tight_layout()
    ev.figure("gradient-noise", fig, "On MNIST-1D the mini-batch gradient's deviation from the full gradient "
              "shrinks as 1/B, as the sampling formula says, and its direction approaches the full gradient's.")


# =========================================================================== GD vs SGD

TARGET_VAL_LOSS = 1.45  # nats; the MLP reaches it in a few SGD epochs and a few hundred GD steps
TARGET_VAL_LOSS_LINEAR = 1.75  # nats; logistic regression's validation optimum is about 1.68
TRACK_LR = 0.1  # SGD rate for the single-step tracking: a usual default, stable for this MLP
TRAIN_TARGET = 0.8  # nats: both methods are stopped at the same fit of the training data (Keskar et al.
#                    2017 compare large and small batches at equal training loss), well into the range where
#                    this MLP starts to overfit MNIST-1D
RISE_TOL = 1e-6  # a "rise" must exceed float rounding of the full loss (relative)

MARGIN_LOG10_EVALS = math.log10(2)  # "too costly": at least twice the gradient evaluations
MARGIN_UPHILL_PERCENT = 1.0  # "not always lower": more than a stray 1 % of steps go uphill
MARGIN_DECREASE_PERCENT = 10.0  # "on the whole towards lower E": the full loss falls by a tenth or more
MARGIN_POINTS = 1.0  # test accuracy: ~2/3 of the binomial SE of a 1,000-example test set; the smallest
#                     gain worth choosing a method for
MARGIN_ESCAPE_POINTS = 20.0  # toy control: a fifth more chains in the good basin is unmistakable

# the double well of the control: f(w) = (w^2 - 1)^2 + TILT w, poor minimum near +0.96, good near -1.04
TILT = 0.3
TOY_NOISE = 3.0  # std of the per-example gradient perturbations a_i (centered, so the mean gradient is f')
TOY_LR = 0.05


def _gd_lrs(ctx, linear: bool = False):
    if linear:  # logistic regression diverges or oscillates above ~1 with the full batch
        return ctx.pick(quick=[0.3, 1.0], full=[0.3, 1.0], smoke=[1.0])
    return ctx.pick(quick=[1.0, 3.0], full=[1.0, 3.0], smoke=[3.0])


def _sgd_lrs(ctx, linear: bool = False):
    if linear:
        return ctx.pick(quick=[0.03, 0.1, 0.3], full=[0.03, 0.1, 0.3], smoke=[0.1])
    return ctx.pick(quick=[0.1, 0.3, 1.0], full=[0.1, 0.3, 1.0], smoke=[0.3])


class _StopAtTarget:
    """An ``early_stopping`` for :func:`fit` that ends training once the watched value reaches a target."""

    restore_best = False

    def __init__(self, target: float) -> None:
        self.target = target

    def step(self, value: float, model, epoch: int | None = None) -> bool:
        return math.isfinite(value) and value <= self.target


def _evals_to_target(ctx, split, seed: int, method: str, lrs, target: float, depth: int) -> dict[str, Any]:
    """Per-example gradient evaluations to reach ``target`` validation loss, per learning rate.

    One epoch is N per-example gradient evaluations for GD (one step) and SGD (N/B steps) alike, and
    the loss is checked once per epoch for both, so the counts share their granularity."""
    from dlfaq.train.loop import fit

    X, y, _, _ = split.tensors(ctx.device)
    N = len(y)
    if method == "gd":
        budget = ctx.pick(quick=300, full=600, smoke=10) if depth else ctx.pick(quick=150, full=300, smoke=10)
    else:
        budget = ctx.pick(quick=20, full=40, smoke=1)
    out = {}
    for lr in lrs:
        m = _mlp(seed, depth).to(ctx.device)
        h = fit(m, (X, y), val=split.val_tensors(ctx.device), epochs=budget, lr=lr,
                batch_size=None if method == "gd" else SGD_BATCH, seed=seed, device=ctx.device,
                eval_train=False, early_stopping=_StopAtTarget(target))
        reached = h.stopped_epoch is not None and not h.diverged
        out[str(lr)] = {"evals": (h.stopped_epoch if reached else budget) * N, "reached": reached,
                        "diverged": h.diverged, "val_loss": h.metric("val_loss")}
    best = min(out.values(), key=lambda r: (not r["reached"], r["evals"]))
    return {"runs": out, "evals": best["evals"], "reached": best["reached"], "budget_evals": budget * N, "N": N}


class _FullLoss:
    """A ``monitor`` for ``fit``: the full training loss at the weights before every step."""

    def __init__(self, model, X, y, limit: int) -> None:
        self.model, self.X, self.y, self.limit = model, X, y, limit
        self.losses: list[float] = []

    def step(self) -> None:
        import torch
        import torch.nn.functional as F

        if len(self.losses) < self.limit:
            with torch.no_grad():
                self.losses.append(float(F.cross_entropy(self.model(self.X), self.y)))


def _track(ctx, split, seed: int, depth: int, lr: float) -> dict[str, Any]:
    from dlfaq.train.loop import fit

    X, y, _, _ = split.tensors(ctx.device)
    steps = ctx.pick(quick=300, full=600, smoke=20)
    m = _mlp(seed, depth).to(ctx.device)
    mon = _FullLoss(m, X, y, steps)
    fit(m, (X, y), epochs=math.ceil(steps * SGD_BATCH / len(y)), lr=lr, batch_size=SGD_BATCH, seed=seed,
        device=ctx.device, monitor=mon, eval_train=False, max_steps=steps)
    L = np.asarray(mon.losses)
    d = np.diff(L)
    return {"losses": L.tolist(), "uphill_percent": float(100 * (d > RISE_TOL * L[:-1]).mean()),
            "decrease_percent": float(100 * (1 - L[-1] / L[0]))}


def _escape_run(ctx, split, seed: int, method: str) -> dict[str, Any]:
    """GD or SGD trained until the training loss first reaches ``TRAIN_TARGET`` (the same fit of the
    training data), at the rate of its grid with the lowest validation loss there; test read once."""
    from dlfaq.train.loop import evaluate, fit

    X, y, Xte, yte = split.tensors(ctx.device)
    if method == "gd":
        lrs, epochs, bs = _gd_lrs(ctx), ctx.pick(quick=400, full=800, smoke=10), None
    else:
        lrs, epochs, bs = _sgd_lrs(ctx), ctx.pick(quick=30, full=60, smoke=1), SGD_BATCH
    runs, best, best_model = {}, None, None
    for lr in lrs:
        m = _mlp(seed).to(ctx.device)
        h = fit(m, (X, y), val=split.val_tensors(ctx.device), epochs=epochs, lr=lr, batch_size=bs, seed=seed,
                device=ctx.device, early_stopping=_StopAtTarget(TRAIN_TARGET), stop_on="train_loss")
        last = h.last
        runs[str(lr)] = {"reached": h.stopped_epoch is not None and not h.diverged, "diverged": h.diverged,
                         "val_loss": float(last.get("val_loss", math.inf)) if not h.diverged else math.inf,
                         "epochs": len(h.epochs)}
        if runs[str(lr)]["reached"] and (best is None or runs[str(lr)]["val_loss"] < runs[str(best)]["val_loss"]):
            best, best_model = lr, m
    if best_model is None:  # no rate reached the target in the budget: take the lowest validation loss
        best = min(lrs, key=lambda v: runs[str(v)]["val_loss"])
        m = _mlp(seed).to(ctx.device)
        fit(m, (X, y), epochs=epochs, lr=best, batch_size=bs, seed=seed, device=ctx.device,
            early_stopping=_StopAtTarget(TRAIN_TARGET), stop_on="train_loss")
        best_model = m
    return {"test_acc": evaluate(best_model, (Xte, yte))["acc"], "train_loss": evaluate(best_model, (X, y))["loss"],
            "chosen_lr": best, "runs": runs}


def _toy(seed: int, chains: int, steps: int) -> dict[str, Any]:
    """Finite-sum double well: f_i(w) = f(w) + a_i w with sum a_i = 0, so the full gradient is f'(w)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, TOY_NOISE, size=1000)
    a -= a.mean()
    f = lambda w: (w * w - 1) ** 2 + TILT * w  # noqa: E731
    df = lambda w: 4 * w * (w * w - 1) + TILT  # noqa: E731
    w0 = 1.0 + rng.normal(0.0, 0.05, size=chains)  # every chain starts in the poor basin
    gd, sgd = w0.copy(), w0.copy()
    for _ in range(steps):
        gd -= TOY_LR * df(gd)
        sgd -= TOY_LR * (df(sgd) + a[rng.integers(0, a.size, size=chains)])
    return {"gd_good": float((gd < 0).mean()), "sgd_good": float((sgd < 0).mean()),
            "gd_f": float(f(gd).mean()), "sgd_f": float(f(sgd).mean())}


@experiment(
    9,
    "sgd-vs-gd",
    title={
        "en": "Full-batch GD vs mini-batch SGD on MNIST-1D: gradient evaluations to a validation loss, "
        "single steps, equal-step accuracy",
        "zh": "在 MNIST-1D 上比较全批量梯度下降与小批量 SGD:达到验证损失所需的梯度计算次数、单步变化、同步数精度",
    },
    description={
        "en": "An MLP on MNIST-1D trained with full-batch GD and SGD (B = 32), each at its learning rate "
        "chosen on validation, counted in per-example gradient evaluations until the validation loss reaches a "
        "target; the full training loss before every single SGD step; GD and SGD at the same rate for the same "
        "number of steps. Controls: logistic regression (convex, Bottou 2010) and a finite-sum double well "
        "(Kleinberg et al. 2018).",
        "zh": "在 MNIST-1D 上用全批量梯度下降和 SGD(B = 32)训练多层感知机,各自的学习率在验证集上选出,"
        "统计验证损失达到目标之前的逐样本梯度计算次数;记录每一步 SGD 之前的全训练集损失;并以相同学习率、"
        "相同步数比较 GD 与 SGD。对照:逻辑回归(凸问题,Bottou 2010)和有限和形式的双势阱(Kleinberg 等 2018)。",
    },
)
class SgdVsGd(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        out = []
        for s in ctx.seeds():
            for part in ("cost", "control", "escape"):
                for method in ("gd", "sgd"):
                    out.append(Unit(f"{part}/seed={s}/method={method}", {"part": part, "seed": s, "method": method}))
            out.append(Unit(f"track/seed={s}", {"part": "track", "seed": s}))
            out.append(Unit(f"track-linear/seed={s}", {"part": "track-linear", "seed": s}))
            out.append(Unit(f"toy/seed={s}", {"part": "toy", "seed": s}))
        return out

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        p, s = unit.params["part"], unit.seed
        if p == "toy":
            return _toy(s, ctx.pick(quick=200, full=400, smoke=50), ctx.pick(quick=2000, full=4000, smoke=300))
        split = _data(s)
        method = unit.params.get("method")
        linear = p == "control"
        lrs = _gd_lrs(ctx, linear) if method == "gd" else _sgd_lrs(ctx, linear)
        if p == "cost":
            return _evals_to_target(ctx, split, s, method, lrs, TARGET_VAL_LOSS, DEPTH)
        if p == "control":
            return _evals_to_target(ctx, split, s, method, lrs, TARGET_VAL_LOSS_LINEAR, 0)
        if p == "track":
            return _track(ctx, split, s, DEPTH, TRACK_LR)
        if p == "track-linear":
            return _track(ctx, split, s, 0, TRACK_LR)
        if p == "escape":
            return _escape_run(ctx, split, s, method)
        raise ValueError(f"unknown part {p!r}")

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        ev = Evidence()
        seeds = ctx.seeds()
        R = lambda key, s, m=None: results[f"{key}/seed={s}" + (f"/method={m}" if m else "")]  # noqa: E731
        _judge_cost(ev, ctx, seeds, R)
        _judge_descent(ev, seeds, R)
        _judge_escape(ev, ctx, seeds, R)
        _gd_sgd_figure(ev, seeds, R)
        ev.notes = (
            "Plain SGD without momentum; every run of a seed starts from the same initialization. A gradient "
            "evaluation is one example's forward and backward pass, so the counts are proportional to FLOPs for "
            "GD and SGD alike. A run that does not reach the target within its budget is charged the budget, "
            "which understates its cost. The tracked full-loss values come from a monitor passed to "
            "dlfaq.train.loop.fit, evaluated before every step."
        )
        return ev


def _log_ratio(seeds, R, part) -> stats.Effect:
    return stats.effect([math.log10(R(part, s, "gd")["evals"] / R(part, s, "sgd")["evals"]) for s in seeds], "log10")


def _judge_cost(ev: Evidence, ctx, seeds, R) -> None:
    rows = []
    for part, what in (("cost", f"MLP, target val loss {TARGET_VAL_LOSS:g}"),
                       ("control", f"logistic regression (control), target {TARGET_VAL_LOSS_LINEAR:g}")):
        for m in ("gd", "sgd"):
            ev_ = [R(part, s, m)["evals"] for s in seeds]
            reached = sum(R(part, s, m)["reached"] for s in seeds)
            rows.append([what, "full batch (GD)" if m == "gd" else f"SGD B={SGD_BATCH}",
                         f"{float(np.median(ev_)):.3g}", f"{reached}/{len(seeds)}"])
        ev.metrics[f"{part}_evals"] = {m: [R(part, s, m)["evals"] for s in seeds] for m in ("gd", "sgd")}
    ev.table("cost", ["setting", "method", "gradient evaluations to the target (median)", "seeds that reached it"],
             rows, title="Per-example gradient evaluations until the validation loss reaches the target, each "
                         "method at its fastest learning rate of the grid")
    effect = _log_ratio(seeds, R, "cost")
    ev.metrics["cost_ratio_gd_over_sgd"] = 10 ** effect.mean
    ctrl = stats.Control(
        name={"en": "logistic regression on MNIST-1D: SGD needs fewer gradient evaluations than GD "
                    "(log10 GD over SGD)",
              "zh": "MNIST-1D 上的逻辑回归:SGD 所需的梯度计算少于 GD(GD 与 SGD 之比的 log10)"},
        effect=_log_ratio(seeds, R, "control"), margin=MARGIN_LOG10_EVALS, source="Bottou 2010")
    ev.add(measured(
        "q09.full-batch-costly", effect, MARGIN_LOG10_EVALS, control=ctrl, evidence=["cost", "loss-curves"],
        rule={"en": "Effect: log10 of the per-example gradient evaluations (proportional to FLOPs) that full-batch "
                    f"GD needs to bring the validation loss to {TARGET_VAL_LOSS:g} nats over those SGD "
                    f"(B = {SGD_BATCH}) needs, each at the learning rate of its grid that gets there first; "
                    f"never wall time. Margin log10 2 = {MARGIN_LOG10_EVALS:.3f}: 'too costly' has to mean at "
                    "least twice the computation.",
              "zh": f"效应:全批量 GD 把验证损失降到 {TARGET_VAL_LOSS:g} 奈特所需的逐样本梯度计算次数(与 FLOPs 成正比)"
                    f"与 SGD(B = {SGD_BATCH})所需次数之比的 log10,两者都取各自网格中最快达到目标的学习率;"
                    f"不用墙钟时间。阈值 log10 2 = {MARGIN_LOG10_EVALS:.3f}:“代价太大”至少应是两倍的计算量。"},
        reason={"en": "Counted the gradient evaluations each method needs to reach the validation target, seed by seed.",
                "zh": "逐个种子统计了两种方法达到验证目标所需的梯度计算次数。"}))


def _judge_descent(ev: Evidence, seeds, R) -> None:
    up = [R("track", s)["uphill_percent"] for s in seeds]
    down = [R("track", s)["decrease_percent"] for s in seeds]
    ev.metrics["uphill_percent"] = up
    ev.metrics["decrease_percent"] = down
    ev.metrics["uphill_percent_linear"] = [R("track-linear", s)["uphill_percent"] for s in seeds]
    ev.table("single-steps", ["seed", "steps tracked", "steps that raised the full training loss",
                              "full loss fall over the window", "logistic regression: steps that raised it"],
             [[s, len(R("track", s)["losses"]) - 1, f"{u:.1f}%", f"{d:.1f}%",
               f"{R('track-linear', s)['uphill_percent']:.1f}%"] for s, u, d in zip(seeds, up, down, strict=True)],
             title=f"SGD B={SGD_BATCH}, lr {TRACK_LR:g} from initialization: the full training loss before every step")
    ctrl = stats.Control(
        name={"en": "logistic regression (convex): some single SGD steps raise the full loss (percent of steps)",
              "zh": "逻辑回归(凸问题):部分单步 SGD 会让全损失上升(步数百分比)"},
        effect=stats.effect(ev.metrics["uphill_percent_linear"], "%"), margin=MARGIN_UPHILL_PERCENT,
        source="Robbins & Monro 1951; Bottou 2010")
    parts = [
        stats.Part({"en": "single steps that raise the full training loss", "zh": "让全训练损失上升的单步"},
                   stats.effect(up, "%"), MARGIN_UPHILL_PERCENT),
        stats.Part({"en": "fall of the full training loss over the window", "zh": "整个窗口内全训练损失的下降"},
                   stats.effect(down, "%"), MARGIN_DECREASE_PERCENT),
    ]
    ev.add(measured(
        "q09.noisy-but-descends", parts=parts, control=ctrl, evidence=["single-steps", "loss-curves"],
        rule={"en": "Two parts over the first SGD steps from initialization, the full training loss measured "
                    "before every step: (a) the percentage of steps after which it is higher (beyond float "
                    f"rounding), margin {MARGIN_UPHILL_PERCENT:g} % (more than a stray step or two); (b) its fall "
                    f"from the first to the last tracked step in percent, margin {MARGIN_DECREASE_PERCENT:g} % "
                    "(a clear downward trend).",
              "zh": "两个部分,都在从初始化开始的前若干步 SGD 上测量,每步之前计算全训练损失:(a) 之后损失变高(超出浮点舍入)"
                    f"的步数百分比,阈值 {MARGIN_UPHILL_PERCENT:g}%(不只是偶然一两步);(b) 从第一步到最后一步损失下降的百分比,"
                    f"阈值 {MARGIN_DECREASE_PERCENT:g}%(明确的下降趋势)。"},
        reason={"en": "Followed the full training loss along single SGD steps.",
                "zh": "沿单步 SGD 跟踪了全训练损失。"}))


def _judge_escape(ev: Evidence, ctx, seeds, R) -> None:
    toy = {k: [R("toy", s)[k] for s in seeds] for k in ("gd_good", "sgd_good", "gd_f", "sgd_f")}
    ev.metrics["toy"] = toy
    ctrl = stats.Control(
        name={"en": "finite-sum double well: chains in the good basin, SGD minus GD (points)",
              "zh": "有限和双势阱:落在好极小值盆地中的链所占比例,SGD 减 GD(百分点)"},
        effect=stats.paired(toy["sgd_good"], toy["gd_good"], "points", scale=100), margin=MARGIN_ESCAPE_POINTS,
        source="Kleinberg, Li & Yuan 2018")
    sgd = [R("escape", s, "sgd")["test_acc"] for s in seeds]
    gd = [R("escape", s, "gd")["test_acc"] for s in seeds]
    ev.metrics["escape_test_acc"] = {"sgd": sgd, "gd": gd}
    ev.metrics["escape_train_loss"] = {m: [R("escape", s, m)["train_loss"] for s in seeds] for m in ("gd", "sgd")}
    ev.metrics["escape_chosen_lr"] = {m: [R("escape", s, m)["chosen_lr"] for s in seeds] for m in ("gd", "sgd")}
    ev.table("equal-fit", ["method", "test accuracy % (mean)", "min", "max", "train loss (mean)"],
             [[name, round(100 * float(np.mean(v)), 1), round(100 * min(v), 1), round(100 * max(v), 1),
               round(float(np.mean(ev.metrics["escape_train_loss"][m])), 4)]
              for name, m, v in (("full batch (GD)", "gd", gd), (f"SGD B={SGD_BATCH}", "sgd", sgd))]
             + [["control: double well, GD, % chains in the good basin", round(100 * float(np.mean(toy["gd_good"])), 1),
                 "", "", round(float(np.mean(toy["gd_f"])), 3)],
                ["control: double well, SGD, % chains in the good basin",
                 round(100 * float(np.mean(toy["sgd_good"])), 1), "", "", round(float(np.mean(toy["sgd_f"])), 3)]],
             title=f"MNIST-1D, each method stopped when its training loss first reaches {TRAIN_TARGET:g} nats, at the "
                   "rate of its grid with the lowest validation loss there; control: f(w) = (w² − 1)² + 0.3w, "
                   "mean final f in the last column")
    ev.add(measured(
        "q09.noise-escapes-minima", stats.paired(sgd, gd, "points", scale=100), MARGIN_POINTS, control=ctrl,
        evidence=["equal-fit"],
        rule={"en": f"Effect: test accuracy of SGD (B = {SGD_BATCH}) minus full-batch GD on MNIST-1D, same "
                    f"initialization, both stopped when the training loss first reaches {TRAIN_TARGET:g} nats (the "
                    "same fit of the training data, so what differs is where the noise led, not how far training "
                    "went), each at the rate of its grid with the lower validation loss there; in points. Margin "
                    f"{MARGIN_POINTS:g} point: the smallest gain worth choosing a method for.",
              "zh": f"效应:MNIST-1D 上 SGD(B = {SGD_BATCH})减全批量 GD 的测试精度(百分点)。初始化相同,两者都在训练损失"
                    f"第一次降到 {TRAIN_TARGET:g} 奈特时停止(对训练数据的拟合程度相同,差别只在噪声把解带到了哪里,而不在训练走了多远),"
                    f"各自取网格中在该点验证损失较低的学习率。阈值 {MARGIN_POINTS:g} 个百分点:值得为之换方法的最小收益。"},
        reason={"en": "Compared SGD and GD stopped at the same training loss.",
                "zh": "比较了在相同训练损失处停止的 SGD 与 GD。"}))


def _gd_sgd_figure(ev: Evidence, seeds, R) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 4))
    a1, a2, a3 = fig.subplots(1, 3)
    s0 = seeds[0]
    for m, color in (("gd", "tab:red"), ("sgd", "tab:blue")):
        r = R("cost", s0, m)
        for lr, run in r["runs"].items():
            vl = run["val_loss"]
            a1.plot(np.arange(1, len(vl) + 1) * r["N"], vl, color=color, alpha=0.4 + 0.2 * (lr == max(r["runs"], key=float)),
                    label=f"{'GD' if m == 'gd' else 'SGD'} lr {lr}")
    a1.axhline(TARGET_VAL_LOSS, color="grey", ls=":", lw=1)
    a1.set(xscale="log", xlabel="per-example gradient evaluations", ylabel="validation loss",
           title=f"to the target (dotted), seed {s0}")
    a1.legend(fontsize=7)
    L = R("track", s0)["losses"]
    a2.plot(L, lw=1)
    a2.set(xlabel="SGD step", ylabel="full training loss", title=f"before every step, B={SGD_BATCH}, seed {s0}")
    d = np.diff(L)
    a3.hist(d, bins=40, color="tab:blue")
    a3.axvline(0, color="k", lw=1)
    a3.set(xlabel="change of the full loss in one step", ylabel="steps", title="single steps: mostly down, some up")
    fig.tight_layout()
    ev.figure("loss-curves", fig, "Validation loss against gradient evaluations; the full training loss along "
              "single SGD steps and the distribution of its one-step changes.")
