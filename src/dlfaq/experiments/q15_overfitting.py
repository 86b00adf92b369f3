"""Q15: the page's remedies for overfitting, each measured against the same MLP that overfits.

The setting is Q7's (:func:`dlfaq.experiments.q07_dropout.train_mlp`): a two-hidden-layer
ReLU MLP on a 500-example MNIST-1D subset, trained with Adam until validation accuracy stops
improving, best weights restored. Each remedy's strength (width, penalty, rate) is chosen per
seed on the validation split; the test split is only measured. Each remedy is judged in two
parts: the test-accuracy gain and the shrinking of the train-minus-test accuracy gap.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlfaq.experiments import stats
from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, experiment, measured
from dlfaq.experiments.q07_dropout import budget, points, train_mlp

# ---- margins, fixed before any run
# Test accuracy and train-test gap: one point, the smallest change worth adopting a remedy for
# (a single run's accuracy on the 1,000 test examples has a sampling error of ~1.6 points; the
# paired effect over seeds averages it away).
MARGIN_POINTS = 1.0
# The positive control: the unregularized net must overfit clearly, i.e. train accuracy at least
# ten points above test accuracy at its early-stopping point; a smaller gap leaves the remedies
# little to remove.
MARGIN_OVERFIT_POINTS = 10.0
# Lambda trade-off: the strongest L2 must raise the training data loss by at least 0.1 nats (a tenth
# of the loss of a net that is right only two times in three) and cut the weight norm by a quarter.
MARGIN_LOSS_NATS = 0.1
MARGIN_LOG2_NORM = math.log2(1.25)
# L1 sparsity: at least ten more percentage points of the weights near zero than with L2, and five
# more points of the total |w| in the largest tenth of the weights; less would not make a network
# noticeably sparser or more concentrated.
MARGIN_SPARSE_POINTS = 10.0
MARGIN_TOP_SHARE_POINTS = 5.0
SPARSE_THRESHOLD = 1e-3  # "near zero": below 1/30 of the initial weight scale 1/sqrt(fan_in) ~ 0.03-0.16

N_BASE = 500  # the overfitting setting of Q7's control
N_MORE = 1500  # three times the data (Q7's largest training set)


def sizes(ctx: RunContext) -> tuple[int, int]:
    """(base, more-data) training-set sizes; the smoke profile only exercises the code."""
    return ctx.pick(quick=(N_BASE, N_MORE), full=(N_BASE, N_MORE), smoke=(100, 300))


def grids(ctx: RunContext) -> dict[str, list[float]]:
    return {
        "width": ctx.pick(quick=[16, 32], full=[8, 16, 32, 64], smoke=[4]),
        "l2": ctx.pick(quick=[1e-3, 1e-2], full=[1e-3, 3e-3, 1e-2, 3e-2], smoke=[1e-2]),
        "l1": ctx.pick(quick=[1e-4, 1e-3], full=[3e-5, 1e-4, 3e-4, 1e-3], smoke=[1e-3]),
        "dropout": ctx.pick(quick=[0.2, 0.5], full=[0.2, 0.35, 0.5, 0.7], smoke=[0.5]),
    }


def configs(ctx: RunContext) -> list[str]:
    out = ["base", "more-data"]
    for kind, values in grids(ctx).items():
        out += [f"{kind}={v:g}" for v in values]
    return out


def weight_stats(model: Any) -> dict[str, float]:
    """Norm, near-zero fraction and concentration of the penalized weights (biases excluded)."""
    import torch

    from dlfaq.train.regularization import penalized_parameters, weight_sparsity

    with torch.no_grad():
        w = torch.cat([p.detach().abs().flatten() for _, p in penalized_parameters(model)]).cpu()
        top = w.sort(descending=True).values
        share = float(top[: max(1, len(top) // 10)].sum() / top.sum())
        return {"weight_norm": float(w.pow(2).sum().sqrt()), "sparsity": weight_sparsity(model, SPARSE_THRESHOLD),
                "top10_share": share}


def run_config(ctx: RunContext, seed: int, config: str) -> dict[str, Any]:
    from dlfaq.train.regularization import l1_penalty, l2_penalty

    b = budget(ctx)
    kind, _, value = config.partition("=")
    (n, n_more), hidden, p, penalty = sizes(ctx), None, 0.0, None
    if kind == "more-data":
        n = n_more
    elif kind == "width":
        hidden = int(float(value))
    elif kind == "l2":
        penalty = functools.partial(l2_penalty, weight=float(value))
    elif kind == "l1":
        penalty = functools.partial(l1_penalty, weight=float(value))
    elif kind == "dropout":
        p = float(value)
    model, _, rec = train_mlp(ctx, seed, n, b, hidden=hidden, p=p, penalty=penalty)
    rec.update(weight_stats(model), n_train=n)
    rec.pop("val_curve")
    return rec


@experiment(
    15,
    "overfitting-remedies",
    title={
        "en": "Overfitting remedies on an MLP that overfits MNIST-1D: more data, smaller net, L2, L1, dropout",
        "zh": "在过拟合 MNIST-1D 的多层感知机上比较防止过拟合的手段:更多数据、更小的网络、L2、L1、Dropout",
    },
    description={
        "en": f"A two-hidden-layer ReLU MLP on {N_BASE} MNIST-1D examples, early-stopped on validation accuracy, "
        f"then the same run with one remedy at a time (its strength chosen on validation): {N_MORE} examples, "
        "narrower layers, L2 and L1 penalties, dropout. Test accuracy, train-test gap, the L2 strength "
        "trade-off, and the sparsity of L1 against L2.",
        "zh": f"在 {N_BASE} 个 MNIST-1D 样本上训练两层隐藏层的 ReLU 多层感知机,按验证集准确率早停;再每次只加一种手段"
        f"重跑(强度在验证集上选择):{N_MORE} 个样本、更窄的隐藏层、L2 与 L1 惩罚、Dropout。比较测试准确率、"
        "训练与测试的差距、L2 强度的取舍,以及 L1 与 L2 的稀疏程度。",
    },
)
class OverfittingRemedies(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        return [Unit(f"seed={s}/{c}", {"seed": s, "config": c}) for s in ctx.seeds() for c in configs(ctx)]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        return run_config(ctx, unit.seed, str(unit.params["config"]))

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        seeds, g = ctx.seeds(), grids(ctx)
        n_base, n_more = sizes(ctx)
        r = lambda s, c: results[f"seed={s}/{c}"]  # noqa: E731
        # per seed, the strength of each remedy with the best validation accuracy (ties: first in the grid)
        chosen = {(s, kind): max(vals, key=lambda v, s=s, kind=kind: (r(s, f"{kind}={v:g}")["val_acc"],
                                                                    -vals.index(v)))
                  for s in seeds for kind, vals in g.items()}
        pick = lambda s, kind: r(s, f"{kind}={chosen[(s, kind)]:g}") if kind in g else r(s, kind)  # noqa: E731
        gap = lambda x: points(x["train_acc"], x["test_acc"])  # noqa: E731

        ev = Evidence()
        control = self._control(ev, seeds, r, gap, n_base)
        remedies = {"more-data": f"{n_more} training examples instead of {n_base}",
                    "width": "narrower hidden layers (width chosen on validation)",
                    "l2": "L2 penalty (strength chosen on validation)",
                    "l1": "L1 penalty (strength chosen on validation)",
                    "dropout": "dropout (rate chosen on validation)"}
        remedies_zh = {"more-data": f"用 {n_more} 个训练样本代替 {n_base} 个",
                       "width": "更窄的隐藏层(宽度在验证集上选)", "l2": "L2 惩罚(强度在验证集上选)",
                       "l1": "L1 惩罚(强度在验证集上选)", "dropout": "dropout(丢弃率在验证集上选)"}
        self._tables(ev, seeds, g, r, pick, chosen, gap, remedies)
        ev.metrics.update(n_base=n_base, n_more=n_more)

        claims = {"more-data": "q15.more-data", "width": "q15.smaller-network", "l2": "q15.l2-regularization",
                  "l1": "q15.l1-regularization", "dropout": "q15.dropout"}
        for kind, claim in claims.items():
            tests = [points(pick(s, kind)["test_acc"], r(s, "base")["test_acc"]) for s in seeds]
            gaps = [gap(r(s, "base")) - gap(pick(s, kind)) for s in seeds]
            ev.add(measured(
                claim,
                parts=[
                    stats.Part({"en": "test-accuracy gain", "zh": "测试准确率的提升"},
                               stats.effect(tests, "points"), MARGIN_POINTS),
                    stats.Part({"en": "train-minus-test gap removed", "zh": "训练与测试准确率之差的缩小"},
                               stats.effect(gaps, "points"), MARGIN_POINTS),
                ],
                control=control,
                rule={"en": f"Remedy: {remedies[kind]}. Against the same unregularized MLP on the same {n_base} "
                            "examples, seed by seed, both early-stopped on validation accuracy: part 1 is the test "
                            "accuracy with the remedy minus without, part 2 the train-minus-test gap without minus "
                            "with, in points; positive = less overfitting. Margin: 1 point, the smallest change "
                            "worth adopting a remedy for.",
                      "zh": f"手段:{remedies_zh[kind]}。与同样 {n_base} 个样本上不加正则的同一网络按种子逐一比较,两者都按"
                            "验证集准确率早停:第一部分是加了手段的测试准确率减去不加的,第二部分是不加时的训练-测试"
                            "准确率差减去加了之后的,单位百分点;正值表示过拟合更少。阈值 1 个百分点,即值得采用"
                            "一种手段的最小变化。"},
                evidence=["remedies", "control", "remedies_figure"],
            ))

        lam_max = max(g["l2"])
        ev.metrics["l2_lam_max"] = lam_max
        ev.metrics["l2_norm_ratio_geomean"] = float(np.exp(np.mean(
            [math.log(r(s, "base")["weight_norm"] / r(s, f"l2={lam_max:g}")["weight_norm"]) for s in seeds])))
        ev.add(measured(
            "q15.l2-lambda-tradeoff",
            parts=[
                stats.Part({"en": f"training data loss rises from lambda = 0 to {lam_max:g}",
                            "zh": f"从 lambda = 0 到 {lam_max:g},训练集上的原始损失上升"},
                           stats.effect([r(s, f"l2={lam_max:g}")["train_loss"] - r(s, "base")["train_loss"]
                                         for s in seeds], "nats"), MARGIN_LOSS_NATS),
                stats.Part({"en": f"weight norm falls from lambda = 0 to {lam_max:g}",
                            "zh": f"从 lambda = 0 到 {lam_max:g},权重范数下降"},
                           stats.effect([math.log2(r(s, "base")["weight_norm"] / r(s, f"l2={lam_max:g}")["weight_norm"])
                                         for s in seeds], "log2"), MARGIN_LOG2_NORM),
            ],
            control=control,
            rule={"en": f"Per seed, the unpenalized net against the strongest L2 penalty of the grid (lambda = "
                        f"{lam_max:g} times the sum of squared weights): part 1, the training cross-entropy with "
                        f"the penalty minus without, in nats (margin {MARGIN_LOSS_NATS:g}); part 2, log2 of the weight "
                        f"norm without over with (margin log2 1.25, a quarter smaller); positive = the page's "
                        f"trade-off.",
                  "zh": f"按种子比较不加惩罚的网络与网格中最强的 L2 惩罚(lambda = {lam_max:g} 乘以权重平方和):第一部分是"
                        f"加惩罚后训练集交叉熵减去不加的,单位奈特(阈值 {MARGIN_LOSS_NATS:g});第二部分是不加与加惩罚时权重"
                        f"范数之比的 log2(阈值 log2 1.25,即小四分之一);正值表示页面所说的取舍。"},
            evidence=["l2_sweep", "remedies_figure"],
        ))

        ev.add(measured(
            "q15.l1-sparsity",
            parts=[
                stats.Part({"en": f"more weights below {SPARSE_THRESHOLD:g} with L1 than with L2",
                            "zh": f"L1 比 L2 留下更多绝对值小于 {SPARSE_THRESHOLD:g} 的权重"},
                           stats.effect([100 * (pick(s, "l1")["sparsity"] - pick(s, "l2")["sparsity"]) for s in seeds],
                                        "points"), MARGIN_SPARSE_POINTS),
                stats.Part({"en": "a larger share of the total |w| in the largest tenth of the weights with L1",
                            "zh": "L1 下最大的十分之一权重占 |w| 总和的比例更高"},
                           stats.effect([100 * (pick(s, "l1")["top10_share"] - pick(s, "l2")["top10_share"])
                                         for s in seeds], "points"), MARGIN_TOP_SHARE_POINTS),
            ],
            control=control,
            rule={"en": "Per seed, the L1 and the L2 nets at their validation-chosen strengths: part 1, the "
                        f"percentage of weights with |w| < {SPARSE_THRESHOLD:g}, L1 minus L2 (margin "
                        f"{MARGIN_SPARSE_POINTS:g} points); part 2, the percentage of the total |w| held by the largest "
                        f"10 % of the weights, L1 minus L2 (margin {MARGIN_TOP_SHARE_POINTS:g} points); positive = "
                        "L1 is sparser / more concentrated.",
                  "zh": f"按种子比较各自在验证集上选出强度的 L1 与 L2 网络:第一部分是 |w| < {SPARSE_THRESHOLD:g} 的权重所占百分比,"
                        f"L1 减 L2(阈值 {MARGIN_SPARSE_POINTS:g} 个百分点);第二部分是最大的 10% 权重占 |w| 总和的百分比,"
                        f"L1 减 L2(阈值 {MARGIN_TOP_SHARE_POINTS:g} 个百分点);正值表示 L1 更稀疏、更集中。"},
            evidence=["sparsity", "remedies_figure"],
        ))

        self._figure(ev, seeds, g, r, pick, gap, n_base)
        ev.timings = {f"cpu_s[{c}]": float(sum(r(s, c)["cpu_s"] for s in seeds)) for c in configs(ctx)}
        ev.notes = (
            f"All runs: Adam, lr {budget(ctx).lr:g}, batch {budget(ctx).batch}, early stopping on validation accuracy "
            "(patience counted in optimizer steps), best weights restored; the validation split is 500 examples "
            "carved out of the MNIST-1D training split, disjoint from the training subset and from the test split. "
            "Penalties are lambda * sum(w^2) and lambda * sum(|w|) over the weights (not the biases), added to the "
            "loss; with Adam this is L2 regularization, not decoupled weight decay. Early stopping is used by every "
            "run, so it is the baseline here rather than a remedy with a verdict."
        )
        return ev

    # ---- named steps of the merge
    @staticmethod
    def _control(ev: Evidence, seeds: Sequence[int], r: Any, gap: Any, n_base: int) -> stats.Control:
        vals = [gap(r(s, "base")) for s in seeds]
        ctrl = stats.Control({"en": f"the unregularized MLP overfits {n_base} MNIST-1D examples "
                                    "(train minus test accuracy)",
                              "zh": f"不加正则的多层感知机过拟合 {n_base} 个 MNIST-1D 样本(训练减测试准确率)"},
                             stats.effect(vals, "points"), MARGIN_OVERFIT_POINTS,
                             source="Zhang et al. 2017, ICLR; Greydanus & Kobak 2024, ICML")
        rows = [[s, round(r(s, "base")["train_acc"], 4), round(r(s, "base")["test_acc"], 4), round(v, 2)]
                for s, v in zip(seeds, vals, strict=True)]
        e = ctrl.effect
        rows.append(["mean [95% CI]", "", "", f"{e.mean:.2f} [{e.lo:.2f}, {e.hi:.2f}]"])
        ev.table("control", ["seed", "train acc", "test acc", "gap (points)"], rows,
                 title=f"Positive control: the setting overfits (margin {MARGIN_OVERFIT_POINTS:g} points); "
                 f"reproduced: {ctrl.reproduced}")
        ev.metrics["control"] = ctrl.to_json()
        return ctrl

    @staticmethod
    def _tables(ev: Evidence, seeds: Sequence[int], g: Mapping[str, list[float]], r: Any, pick: Any,
                chosen: Mapping[tuple[int, str], float], gap: Any, remedies: Mapping[str, str]) -> None:
        m = lambda v: round(float(np.mean(v)), 4)  # noqa: E731
        rows = []
        for kind in ("base", *remedies):
            xs = [pick(s, kind) for s in seeds]
            rows.append([kind, m([x["train_acc"] for x in xs]), m([x["test_acc"] for x in xs]),
                         round(float(np.mean([gap(x) for x in xs])), 2), m([x["test_loss"] for x in xs]),
                         round(float(np.mean([x["steps_to_best"] for x in xs])), 1),
                         ", ".join(f"{chosen[(s, kind)]:g}" for s in seeds) if kind in g else ""])
            ev.metrics[f"test_acc_mean[{kind}]"] = float(np.mean([x["test_acc"] for x in xs]))
            ev.metrics[f"gap_mean[{kind}]"] = float(np.mean([gap(x) for x in xs]))
        ev.table("remedies", ["remedy", "train acc", "test acc", "gap (points)", "test loss", "steps to optimum",
                              "chosen strength by seed"], rows,
                 title=f"Mean over {len(seeds)} seeds; strengths chosen on the validation split")
        ev.metrics["chosen"] = {kind: [chosen[(s, kind)] for s in seeds] for kind in g}

        l2rows = []
        for lam in [0.0, *g["l2"]]:
            xs = [r(s, "base" if lam == 0 else f"l2={lam:g}") for s in seeds]
            l2rows.append([lam, round(float(np.mean([x["weight_norm"] for x in xs])), 3),
                           m([x["train_loss"] for x in xs]), m([x["val_acc"] for x in xs]),
                           m([x["test_acc"] for x in xs])])
        ev.table("l2_sweep", ["lambda", "weight norm", "train loss", "val acc", "test acc"], l2rows,
                 title="L2 penalty lambda * sum of squared weights")

        srows = []
        for label, get in (("none", lambda s: r(s, "base")), ("L2 (chosen)", lambda s: pick(s, "l2")),
                           ("L1 (chosen)", lambda s: pick(s, "l1")),
                           *[(f"L1 {lam:g}", lambda s, lam=lam: r(s, f"l1={lam:g}")) for lam in g["l1"]]):
            xs = [get(s) for s in seeds]
            srows.append([label, round(100 * float(np.mean([x["sparsity"] for x in xs])), 2),
                          round(100 * float(np.mean([x["top10_share"] for x in xs])), 2),
                          m([x["test_acc"] for x in xs])])
        ev.table("sparsity", ["penalty", f"% of weights with |w| < {SPARSE_THRESHOLD:g}",
                              "% of total |w| in the largest 10 %", "test acc"], srows)
        ev.metrics["sparsity_pct"] = {"none": srows[0][1], "l2": srows[1][1], "l1": srows[2][1]}

    @staticmethod
    def _figure(ev: Evidence, seeds: Sequence[int], g: Mapping[str, list[float]], r: Any, pick: Any,
                gap: Any, n_base: int) -> None:
        import matplotlib.pyplot as plt

        kinds = ["base", "more-data", "width", "l2", "l1", "dropout"]
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
        ax = axes[0, 0]
        y = np.arange(len(kinds))
        for i, kind in enumerate(kinds):
            te = [pick(s, kind)["test_acc"] for s in seeds]
            tr = [pick(s, kind)["train_acc"] for s in seeds]
            ax.plot([np.mean(te)], [i], "o", color="tab:blue", label="test" if i == 0 else None)
            ax.plot([min(te), max(te)], [i, i], color="tab:blue", lw=3, alpha=0.4)
            ax.plot([np.mean(tr)], [i], "|", color="tab:red", ms=14, mew=2, label="train" if i == 0 else None)
        ax.set_yticks(y, kinds)
        ax.invert_yaxis()
        ax.set_xlabel("accuracy")
        ax.set_title("train vs test accuracy (bar = min-max over seeds)")
        ax.legend()
        ax = axes[0, 1]
        ax.barh(y, [np.mean([gap(pick(s, k)) for s in seeds]) for k in kinds], color="tab:orange")
        ax.set_yticks(y, kinds)
        ax.invert_yaxis()
        ax.set_xlabel("train - test accuracy (points)")
        ax.set_title("overfitting gap")
        ax = axes[1, 0]
        lams = [0.0, *g["l2"]]
        xs = [[r(s, "base" if lam == 0 else f"l2={lam:g}") for s in seeds] for lam in lams]
        pos = np.arange(len(lams))
        ax.plot(pos, [np.mean([x["train_loss"] for x in c]) for c in xs], "o-", color="tab:red", label="train loss")
        ax.set_ylabel("training cross-entropy (nats)")
        ax2 = ax.twinx()
        ax2.plot(pos, [np.mean([x["weight_norm"] for x in c]) for c in xs], "s--", color="tab:purple",
                 label="weight norm")
        ax2.set_ylabel("weight norm")
        ax.set_xticks(pos, [f"{lam:g}" for lam in lams])
        ax.set_xlabel("L2 lambda")
        ax.set_title("the lambda trade-off")
        ax.legend(loc="upper left")
        ax2.legend(loc="upper right")
        ax = axes[1, 1]
        labels = ["none", "L2 (chosen)", "L1 (chosen)"]
        vals = [np.mean([x["sparsity"] for x in (r(s, "base") for s in seeds)]),
                np.mean([pick(s, "l2")["sparsity"] for s in seeds]), np.mean([pick(s, "l1")["sparsity"] for s in seeds])]
        ax.bar(labels, vals, color=["grey", "tab:purple", "tab:green"])
        ax.set_ylabel(f"fraction of |w| < {SPARSE_THRESHOLD:g}")
        ax.set_title("sparsity")
        for a in axes.flat:
            a.grid(alpha=0.3)
        fig.tight_layout()
        ev.figure("remedies_figure", fig, caption=f"MNIST-1D, {n_base} training examples; {len(seeds)} seeds.")
