"""Q7: does dropout reduce overfitting, and how does the gain depend on data size and rate?

The setting is one where overfitting exists: an MLP much larger than its data (MNIST-1D,
Greydanus & Kobak 2024; a few hundred to a few thousand training examples for tens of
thousands of weights) trained with Adam until the accuracy on a held-out validation split
stops improving, with the best epoch's weights restored. Every run is one unit (seed x
training-set size x dropout rate); the rate is chosen per seed and size on the validation
split, and the test split is only measured.

The helpers :func:`overfit_split`, :func:`train_mlp` and :data:`Budget` are shared with Q15,
which compares the other remedies in the same setting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlfaq.experiments import stats
from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, experiment, measured

# ---- margins, fixed before any run
# The smallest test-accuracy change that matters. One run's accuracy on the 1,000 test examples
# has a sampling error of about 1.6 points at 50 % accuracy; the paired effect over seeds averages
# that away, and a point is the smallest gain a practitioner would switch on a regularizer for.
MARGIN_POINTS = 1.0
# Non-inferiority tolerance for "use 0.5": a rate within a point of the tuned one is as good a
# default as tuning, given the margin above.
TOLERANCE_POINTS = 1.0
# Training "takes longer" when it needs at least 25 % more optimizer steps to its early-stopping
# optimum; Srivastava et al. (2014) report 2-3 times, i.e. log2 of 1 to 1.6.
MARGIN_LOG2_STEPS = math.log2(1.25)
# Fraction of hidden units deleted at test time in the co-adaptation proxy (the rest rescaled by
# 1/(1-q)). Below the training rate 0.5, so the dropout net is not tested on exactly its own noise.
ABLATE_Q = 0.3

SRIVASTAVA = "Srivastava et al. 2014, JMLR 15"


# --------------------------------------------------------------------------- the shared setting


@dataclass(frozen=True)
class Budget:
    """Training settings of the overfitting setting (shared with Q15).

    The width is the same in every profile (the full profile adds seeds, grid points and patience),
    so quick and full measure the same network."""

    hidden: int
    max_steps: int  # cap on optimizer steps; early stopping usually ends a run long before
    patience_steps: int  # early-stopping patience, in optimizer steps (converted to epochs)
    batch: int = 100
    lr: float = 2e-3  # Adam; a pilot at 1e-3 reached the same optimum in about twice the steps
    val_fraction: float = 0.125  # 500 of the 4,000 MNIST-1D training examples


def budget(ctx: RunContext) -> Budget:
    return ctx.pick(
        quick=Budget(hidden=128, max_steps=4000, patience_steps=200),
        full=Budget(hidden=128, max_steps=6000, patience_steps=300),
        smoke=Budget(hidden=16, max_steps=60, patience_steps=10),
    )


def overfit_split(seed: int, n: int, val_fraction: float) -> dict[str, np.ndarray]:
    """MNIST-1D with a stratified validation split (drawn with ``seed``) and a stratified
    training subset of ``n`` examples from the rest; the test split is the standard one."""
    from sklearn.model_selection import train_test_split

    from dlfaq.data import mnist1d

    sp = mnist1d().with_validation(val_fraction, seed=seed)
    X, y = sp.X_train, sp.y_train
    if n < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=n, random_state=seed, stratify=y)
    return {"X_train": X, "y_train": y, "X_val": sp.X_val, "y_val": sp.y_val,
            "X_test": sp.X_test, "y_test": sp.y_test}


def train_mlp(
    ctx: RunContext, seed: int, n: int, b: Budget, *, hidden: int | None = None, p: float = 0.0,
    penalty: Any = None,
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Train a 2-hidden-layer ReLU MLP on ``n`` MNIST-1D examples until validation accuracy
    stops improving; return ``(model, tensors, record)`` with the best epoch's weights."""
    import time

    import torch

    from dlfaq.nn import MLP
    from dlfaq.train.loop import evaluate, fit
    from dlfaq.train.regularization import EarlyStopping

    t0 = time.process_time()
    d = overfit_split(seed, n, b.val_fraction)
    t = {k: torch.as_tensor(v, device=ctx.device) for k, v in d.items()}
    torch.manual_seed(seed)
    model = MLP(40, 10, hidden=hidden or b.hidden, depth=2, activation="relu", dropout=p)
    per_epoch = math.ceil(len(d["y_train"]) / b.batch)
    es = EarlyStopping(patience=max(5, math.ceil(b.patience_steps / per_epoch)), mode="max")
    h = fit(model, (t["X_train"], t["y_train"]), val=(t["X_val"], t["y_val"]),
            epochs=math.ceil(b.max_steps / per_epoch), lr=b.lr, optimizer="adam", batch_size=b.batch,
            penalty=penalty, early_stopping=es, stop_on="val_acc", eval_train=False, seed=seed,
            device=ctx.device)
    tr = evaluate(model, (t["X_train"], t["y_train"]))
    te = evaluate(model, (t["X_test"], t["y_test"]))
    best = int(h.best_epoch or len(h.epochs))
    rec = {
        "train_acc": tr["acc"], "train_loss": tr["loss"], "val_acc": float(es.best_value),
        "test_acc": te["acc"], "test_loss": te["loss"], "best_epoch": best,
        "steps_to_best": best * per_epoch, "steps": len(h.steps),
        # the run hit the step cap while still improving: its optimum is censored
        "capped": h.stopped_epoch is None and len(h.steps) >= b.max_steps,
        "diverged": h.diverged,
        "val_curve": [float(e["val_acc"]) for e in h.epochs],
        "steps_per_epoch": per_epoch,
        "cpu_s": time.process_time() - t0,  # information only (ev.timings); never in a verdict
    }
    return model, t, rec


def points(a: float, b: float) -> float:
    return 100.0 * (float(a) - float(b))


# --------------------------------------------------------------------------- measurements


def ablation_loss(ctx: RunContext, model: Any, t: Mapping[str, Any], seed: int, repeats: int) -> float:
    """Test accuracy lost (points) when a random ``ABLATE_Q`` of every hidden layer's units is
    deleted at test time, the survivors rescaled by 1/(1-q); mean over ``repeats`` masks."""
    import torch

    from dlfaq.train.loop import evaluate

    data = (t["X_test"], t["y_test"])
    full = evaluate(model, data)["acc"]
    gen = torch.Generator(device="cpu").manual_seed(2000 + seed)
    accs = []
    for _ in range(repeats):
        handles = []
        for layer in model.layers:
            keep = (torch.rand(layer.out_features, generator=gen) >= ABLATE_Q).float().to(ctx.device)
            handles.append(layer.register_forward_hook(
                lambda _m, _i, out, keep=keep: out * keep / (1 - ABLATE_Q)))
        try:
            accs.append(evaluate(model, data)["acc"])
        finally:
            for hd in handles:
                hd.remove()
    return points(full, float(np.mean(accs)))


def subnetwork_average(ctx: RunContext, model: Any, t: Mapping[str, Any], seed: int, k: int) -> dict[str, Any]:
    """Weight-scaled inference against the explicit average of ``k`` sampled sub-networks."""
    import torch

    X, y = t["X_test"], t["y_test"]
    acc = lambda prob: float((prob.argmax(1) == y).float().mean())  # noqa: E731
    with torch.no_grad():
        model.eval()
        p_ws = torch.softmax(model(X), 1)
        model.train()  # no batch norm in this MLP: train mode only switches dropout on
        total = torch.zeros_like(p_ws)
        single, curve = [], []
        fork = [torch.device(ctx.device).index or 0] if str(ctx.device).startswith("cuda") else []
        with torch.random.fork_rng(devices=fork):
            torch.manual_seed(1000 + seed)  # the dropout masks of the sampled sub-networks
            for i in range(1, k + 1):
                pk = torch.softmax(model(X), 1)
                total += pk
                single.append(acc(pk))
                curve.append(acc(total / i))
        model.eval()
    p_avg = total / k
    return {"acc_weight_scaled": acc(p_ws), "acc_average": acc(p_avg), "acc_single": float(np.mean(single)),
            "agreement": float((p_avg.argmax(1) == p_ws.argmax(1)).float().mean()), "k_curve": curve}


# --------------------------------------------------------------------------- the study


def _key(seed: int, n: int, p: float) -> str:
    return f"seed={seed}/n={n}/p={p:g}"


@experiment(
    7,
    "dropout-sweeps",
    title={
        "en": "Dropout on an MLP that overfits MNIST-1D: rate chosen on validation, data-size sweep, "
        "model averaging, unit ablation",
        "zh": "在过拟合 MNIST-1D 的多层感知机上测 Dropout:在验证集上选丢弃率、训练集规模扫描、模型平均与神经元消融",
    },
    description={
        "en": "Two-hidden-layer ReLU MLPs trained with Adam on stratified MNIST-1D subsets of several sizes "
        "until validation accuracy stops improving (best weights restored), for a grid of dropout rates; "
        "the rate is chosen on the validation split. Weight-scaled inference is compared with averaging "
        "sampled sub-networks, and robustness to deleting hidden units is measured.",
        "zh": "在不同规模的分层抽样 MNIST-1D 子集上,用 Adam 训练两层隐藏层的 ReLU 多层感知机,直到验证集准确率"
        "不再提高(恢复最好的权重),对一组丢弃率各训练一次;丢弃率在验证集上选择。比较权重缩放推断与"
        "对采样子网络取平均,并测量删除隐藏单元后的稳健性。",
    },
)
class DropoutSweeps(Study):
    def sizes(self, ctx: RunContext) -> list[int]:
        return ctx.pick(quick=[150, 500, 1500], full=[150, 500, 1500], smoke=[60, 120])

    def rates(self, ctx: RunContext) -> list[float]:
        return ctx.pick(quick=[0.0, 0.2, 0.5], full=[0.0, 0.2, 0.35, 0.5, 0.7], smoke=[0.0, 0.5])

    def mid(self, ctx: RunContext) -> int:
        s = self.sizes(ctx)
        return s[len(s) // 2]

    def units(self, ctx: RunContext) -> list[Unit]:
        return [Unit(_key(s, n, p), {"seed": s, "n": n, "p": p})
                for s in ctx.seeds() for n in self.sizes(ctx) for p in self.rates(ctx)]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        seed, n, p = unit.seed, int(unit.params["n"]), float(unit.params["p"])
        model, t, rec = train_mlp(ctx, seed, n, budget(ctx), p=p)
        if n == self.mid(ctx) and p in (0.0, 0.5):
            rec["ablation_loss"] = ablation_loss(ctx, model, t, seed, ctx.pick(quick=20, full=50, smoke=3))
            if p == 0.5:
                rec.update(subnetwork_average(ctx, model, t, seed, ctx.pick(quick=50, full=100, smoke=5)))
        return rec

    # ---- merge: choose on validation, then judge
    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        seeds, sizes, rates, mid = ctx.seeds(), self.sizes(ctx), self.rates(ctx), self.mid(ctx)
        r = lambda s, n, p: results[_key(s, n, p)]  # noqa: E731
        # the rate with the best validation accuracy; ties go to the smaller rate
        chosen = {(s, n): max(rates, key=lambda p: (r(s, n, p)["val_acc"], -p)) for s in seeds for n in sizes}
        tuned = lambda s, n: r(s, n, chosen[(s, n)])  # noqa: E731
        gap = lambda x: points(x["train_acc"], x["test_acc"])  # noqa: E731

        ev = Evidence()
        control = self._control(ev, seeds, mid, r)
        self._tables(ev, seeds, sizes, rates, mid, r, chosen, tuned, gap)
        mean_over = lambda f: [float(np.mean([f(s, n) for n in sizes])) for s in seeds]  # noqa: E731

        ev.add(measured(
            "q07.reduces-overfitting",
            parts=[
                stats.Part({"en": "test-accuracy gain of the validation-chosen rate over no dropout, mean over "
                                  "training-set sizes",
                            "zh": "在验证集上选出的丢弃率相对不用 dropout 的测试准确率提升(各训练集规模的平均)"},
                           stats.effect(mean_over(lambda s, n: points(tuned(s, n)["test_acc"],
                                                                      r(s, n, 0.0)["test_acc"])), "points"),
                           MARGIN_POINTS),
                stats.Part({"en": "train-minus-test accuracy gap removed by the validation-chosen rate, mean over "
                                  "training-set sizes",
                            "zh": "在验证集上选出的丢弃率使训练与测试准确率之差缩小的量(各训练集规模的平均)"},
                           stats.effect(mean_over(lambda s, n: gap(r(s, n, 0.0)) - gap(tuned(s, n))), "points"),
                           MARGIN_POINTS),
            ],
            control=control,
            rule={"en": "Both parts compare, seed by seed, the dropout rate chosen on the validation split with the "
                        "same MLP without dropout (both early-stopped on validation accuracy), in test-accuracy "
                        "points; positive = dropout generalizes better / overfits less. Margin: 1 point, the "
                        "smallest accuracy change worth a regularizer.",
                  "zh": "两部分都按种子逐一比较在验证集上选出的丢弃率与不用 dropout 的同一网络(都按验证集准确率早停),"
                        "单位是测试准确率的百分点;正值表示 dropout 泛化更好、过拟合更少。阈值 1 个百分点,"
                        "即值得加一个正则化手段的最小准确率变化。"},
            evidence=["size_sweep", "control", "dropout_sweeps"],
        ))

        ev.add(measured(
            "q07.prevents-co-adaptation",
            stats.effect([r(s, mid, 0.0)["ablation_loss"] - r(s, mid, 0.5)["ablation_loss"] for s in seeds],
                         "points"),
            MARGIN_POINTS,
            control=control,
            rule={"en": f"Proxy for co-adaptation: test accuracy lost when a random {ABLATE_Q:.0%} of the hidden "
                        f"units are deleted at test time (survivors rescaled), for a net trained without dropout "
                        f"minus for one trained with p = 0.5 (n_train = {mid}), in points; positive = the dropout "
                        f"net depends less on particular units. Margin: 1 point, as for accuracy.",
                  "zh": f"协同适应的代理指标:测试时随机删掉 {ABLATE_Q:.0%} 的隐藏单元(其余按比例放大)所损失的测试准确率,"
                        f"不用 dropout 训练的网络减去用 p = 0.5 训练的网络(n_train = {mid}),单位百分点;正值表示"
                        f"用 dropout 训练的网络更不依赖特定的单元。阈值与准确率相同,为 1 个百分点。"},
            evidence=["unit_ablation"],
        ))

        avg = [r(s, mid, 0.5) for s in seeds]
        ev.add(measured(
            "q07.model-averaging",
            parts=[
                stats.Part({"en": "averaging sampled sub-networks beats one sub-network",
                            "zh": "对采样子网络取平均优于单个子网络"},
                           stats.effect([points(a["acc_average"], a["acc_single"]) for a in avg], "points"),
                           MARGIN_POINTS),
                stats.Part({"en": "the weight-scaled network gets that gain without sampling",
                            "zh": "权重缩放后的完整网络不采样也得到这份提升"},
                           stats.effect([points(a["acc_weight_scaled"], a["acc_single"]) for a in avg], "points"),
                           MARGIN_POINTS),
            ],
            control=control,
            rule={"en": f"On the p = 0.5 nets (n_train = {mid}), test accuracy of the average of the sampled "
                        f"sub-networks' probabilities, and of the deterministic weight-scaled net, each minus the "
                        f"mean accuracy of a single sampled sub-network, in points; positive = the many thinned "
                        f"networks act as an ensemble that inference averages. Margin: 1 point.",
                  "zh": f"在 p = 0.5 的网络上(n_train = {mid}),分别用采样子网络概率的平均和确定性的权重缩放网络的"
                        f"测试准确率,减去单个采样子网络的平均准确率,单位百分点;正值表示这些被稀疏化的网络像一个"
                        f"集成,而推断时对它们取了平均。阈值 1 个百分点。"},
            evidence=["model_averaging", "dropout_sweeps"],
        ))

        ev.add(measured(
            "q07.longer-training",
            stats.effect(mean_over(lambda s, n: math.log2(r(s, n, 0.5)["steps_to_best"]
                                                          / r(s, n, 0.0)["steps_to_best"])), "log2"),
            MARGIN_LOG2_STEPS,
            control=control,
            rule={"en": "log2 of the optimizer steps to the early-stopping optimum (best validation accuracy) with "
                        "p = 0.5 over those without dropout, mean over training-set sizes; positive = dropout needs "
                        "more steps. Steps are counted, not timed. Margin: log2(1.25), a quarter more steps.",
                  "zh": "p = 0.5 与不用 dropout 到达早停最优点(验证集准确率最高)所需优化步数之比的 log2,"
                        "在各训练集规模上取平均;正值表示 dropout 需要更多步。这里数步数而不计时。阈值 log2(1.25),"
                        "即多四分之一的步数。"},
            evidence=["size_sweep", "dropout_sweeps"],
        ))

        small, large = sizes[0], sizes[-1]
        gain = lambda s, n: points(tuned(s, n)["test_acc"], r(s, n, 0.0)["test_acc"])  # noqa: E731
        ev.add(measured(
            "q07.not-for-small-data",
            parts=[
                stats.Part({"en": f"dropout gains less at n_train = {small} than at {large}",
                            "zh": f"n_train = {small} 时 dropout 的收益小于 {large} 时"},
                           stats.effect([gain(s, large) - gain(s, small) for s in seeds], "points"),
                           MARGIN_POINTS),
                stats.Part({"en": f"dropout lowers test accuracy at n_train = {small} (not recommended)",
                            "zh": f"n_train = {small} 时 dropout 降低测试准确率(不建议使用)"},
                           stats.effect([-gain(s, small) for s in seeds], "points"), 0.0),
            ],
            control=control,
            rule={"en": "Gain = test accuracy with the validation-chosen rate minus without dropout, per seed. Part 1: "
                        "the gain at the largest size minus the gain at the smallest, margin 1 point (the accuracy "
                        "margin). Part 2: minus the gain at the smallest size, margin 0, because any reliable loss "
                        "would make dropout not recommended there; positive = the page's direction in both.",
                  "zh": "收益 = 验证集选出的丢弃率的测试准确率减去不用 dropout 的,按种子计算。第一部分:最大规模的收益减去最小规模"
                        "的收益,阈值 1 个百分点(与准确率阈值相同)。第二部分:最小规模收益的相反数,阈值 0,因为只要可靠地"
                        "变差就说明那里不该用 dropout;两部分的正值都是页面所说的方向。"},
            evidence=["size_sweep", "dropout_sweeps"],
        ))

        ev.add(measured(
            "q07.rate-half",
            parts=[
                stats.Part({"en": "p = 0.5 beats no dropout (mean over sizes)",
                            "zh": "p = 0.5 优于不用 dropout(各规模平均)"},
                           stats.effect(mean_over(lambda s, n: points(r(s, n, 0.5)["test_acc"],
                                                                      r(s, n, 0.0)["test_acc"])), "points"),
                           MARGIN_POINTS),
                stats.Part({"en": f"p = 0.5 is within {TOLERANCE_POINTS:g} point of the validation-chosen rate "
                                  "(non-inferiority, tolerance added)",
                            "zh": f"p = 0.5 与验证集选出的丢弃率相差不超过 {TOLERANCE_POINTS:g} 个百分点"
                                  "(非劣效,已加上容差)"},
                           stats.effect(mean_over(lambda s, n: points(r(s, n, 0.5)["test_acc"],
                                                                      tuned(s, n)["test_acc"]) + TOLERANCE_POINTS),
                                        "points"),
                           0.0),
            ],
            control=control,
            rule={"en": f"Part 1: test accuracy at p = 0.5 minus without dropout, margin 1 point. Part 2 (non-"
                        f"inferiority): test accuracy at p = 0.5 minus at the rate chosen on validation from "
                        f"{rates}, plus a tolerance of {TOLERANCE_POINTS:g} point, margin 0: positive = 0.5 is no "
                        f"more than a point worse than tuning. Both are per seed, averaged over training-set sizes.",
                  "zh": f"第一部分:p = 0.5 的测试准确率减去不用 dropout 的,阈值 1 个百分点。第二部分(非劣效):p = 0.5 的"
                        f"测试准确率减去在验证集上从 {rates} 中选出的丢弃率的,再加上 {TOLERANCE_POINTS:g} 个百分点的容差,"
                        f"阈值 0:正值表示 0.5 比调参的结果差不到一个百分点。两者都按种子计算并在各训练集规模上取平均。"},
            evidence=["rate_sweep", "size_sweep"],
        ))

        self._figure(ev, seeds, sizes, rates, mid, r, tuned)
        ev.timings = {f"cpu_s_n={n}": float(sum(r(s, n, p)["cpu_s"] for s in seeds for p in rates)) for n in sizes}
        ev.notes = (
            "Every run trains until validation accuracy has not improved for the patience (counted in optimizer "
            "steps) and keeps the best epoch's weights; the step cap is far above the optimum ('capped' counts the "
            "runs that hit it). Dropout is inverted dropout after both hidden activations, none on the inputs. "
            "The dropout rate is chosen per seed and training-set size on the validation split; the test split is "
            "only measured. The unit-ablation test is a proxy for co-adaptation: it measures how much the network "
            "relies on particular units being present, which dropout training rewards by construction."
        )
        return ev

    # ---- named steps of the merge
    @staticmethod
    def _control(ev: Evidence, seeds: Sequence[int], mid: int, r: Any) -> stats.Control:
        vals = [points(r(s, mid, 0.5)["test_acc"], r(s, mid, 0.0)["test_acc"]) for s in seeds]
        ctrl = stats.Control({"en": f"dropout p = 0.5 raises the test accuracy of an MLP that overfits "
                                    f"{mid} MNIST-1D examples",
                              "zh": f"dropout p = 0.5 提高一个过拟合 {mid} 个 MNIST-1D 样本的多层感知机的测试准确率"},
                             stats.effect(vals, "points"), MARGIN_POINTS, source=SRIVASTAVA)
        rows = [[s, round(r(s, mid, 0.0)["train_acc"], 4), round(r(s, mid, 0.0)["test_acc"], 4),
                 round(r(s, mid, 0.5)["train_acc"], 4), round(r(s, mid, 0.5)["test_acc"], 4), round(v, 2)]
                for s, v in zip(seeds, vals, strict=True)]
        e = ctrl.effect
        rows.append(["mean [95% CI]", "", "", "", "", f"{e.mean:+.2f} [{e.lo:+.2f}, {e.hi:+.2f}]"])
        ev.table("control", ["seed", "train acc p=0", "test acc p=0", "train acc p=0.5", "test acc p=0.5",
                             "gain (points)"], rows,
                 title=f"Positive control ({SRIVASTAVA}): n_train = {mid}; reproduced: {ctrl.reproduced}")
        ev.metrics["control"] = ctrl.to_json()
        return ctrl

    @staticmethod
    def _tables(ev: Evidence, seeds: Sequence[int], sizes: Sequence[int], rates: Sequence[float], mid: int,
                r: Any, chosen: Mapping[tuple[int, int], float], tuned: Any, gap: Any) -> None:
        m = lambda v: round(float(np.mean(v)), 4)  # noqa: E731
        rows = []
        gains: list[float] = []
        for n in sizes:
            g = [points(tuned(s, n)["test_acc"], r(s, n, 0.0)["test_acc"]) for s in seeds]
            gains.append(float(np.mean(g)))
            rows.append([n, m([r(s, n, 0.0)["test_acc"] for s in seeds]), m([r(s, n, 0.5)["test_acc"] for s in seeds]),
                         m([tuned(s, n)["test_acc"] for s in seeds]), round(gains[-1], 2),
                         m([gap(r(s, n, 0.0)) for s in seeds]), m([gap(tuned(s, n)) for s in seeds]),
                         ", ".join(f"{chosen[(s, n)]:g}" for s in seeds)])
        ev.table("size_sweep", ["n_train", "test acc p=0", "test acc p=0.5", "test acc chosen p",
                                "gain of chosen p (points)", "gap p=0 (points)", "gap chosen p (points)",
                                "chosen p by seed"], rows,
                 title="Early-stopped on validation accuracy; p chosen on the validation split per seed and size")
        # by position in the size list (smallest first), so the answer's placeholders fit every profile
        ev.metrics["gain_by_size"] = gains
        ev.metrics["sizes"] = list(sizes)
        ev.metrics["test_acc_p0_by_size"] = [float(np.mean([r(s, n, 0.0)["test_acc"] for s in seeds])) for n in sizes]
        ev.metrics["test_acc_chosen_by_size"] = [float(np.mean([tuned(s, n)["test_acc"] for s in seeds]))
                                                 for n in sizes]
        ev.metrics["n_mid"] = mid
        ev.metrics.update(n_small=sizes[0], n_large=sizes[-1], gain_small=gains[0], gain_large=gains[-1])
        ev.metrics["rate_half_minus_chosen_points"] = float(np.mean(
            [points(r(s, n, 0.5)["test_acc"], tuned(s, n)["test_acc"]) for s in seeds for n in sizes]))

        rrows = []
        for p in rates:
            xs = [r(s, mid, p) for s in seeds]
            rrows.append([p, m([x["val_acc"] for x in xs]), m([x["test_acc"] for x in xs]),
                          m([x["train_acc"] for x in xs]), round(float(np.mean([gap(x) for x in xs])), 2),
                          round(float(np.mean([x["steps_to_best"] for x in xs])), 1),
                          sum(bool(x["capped"]) for x in xs)])
        ev.table("rate_sweep", ["dropout p", "val acc", "test acc", "train acc", "gap (points)",
                                "steps to optimum", "runs capped"], rrows, title=f"n_train = {mid}")
        ev.metrics["capped_runs"] = sum(bool(results_x["capped"]) for results_x in
                                        (r(s, n, p) for s in seeds for n in sizes for p in rates))

        avg = [r(s, mid, 0.5) for s in seeds]
        ev.table("model_averaging", ["seed", "acc weight-scaled", "acc average of sampled sub-nets",
                                     "acc one sub-net (mean)", "argmax agreement"],
                 [[s, round(a["acc_weight_scaled"], 4), round(a["acc_average"], 4), round(a["acc_single"], 4),
                   round(a["agreement"], 4)] for s, a in zip(seeds, avg, strict=True)],
                 title=f"p = 0.5, n_train = {mid}, test set")
        ev.metrics["model_averaging"] = {
            "agreement": float(np.mean([a["agreement"] for a in avg])),
            "ws_minus_average_points": float(np.mean([points(a["acc_weight_scaled"], a["acc_average"]) for a in avg])),
            "average_minus_single_points": float(np.mean([points(a["acc_average"], a["acc_single"]) for a in avg])),
        }
        abl = {p: [r(s, mid, p)["ablation_loss"] for s in seeds] for p in (0.0, 0.5)}
        ev.table("unit_ablation", ["trained with", f"test accuracy lost when {ABLATE_Q:.0%} of hidden units are "
                                   "deleted (points, mean)", "min", "max"],
                 [[f"p={p:g}", round(float(np.mean(v)), 2), round(min(v), 2), round(max(v), 2)]
                  for p, v in abl.items()], title=f"n_train = {mid}")
        ev.metrics["ablation_loss"] = {"p0": float(np.mean(abl[0.0])), "p05": float(np.mean(abl[0.5]))}
        ratio = [r(s, n, 0.5)["steps_to_best"] / r(s, n, 0.0)["steps_to_best"] for s in seeds for n in sizes]
        ev.metrics["steps_ratio_geomean"] = float(np.exp(np.mean(np.log(ratio))))

    @staticmethod
    def _figure(ev: Evidence, seeds: Sequence[int], sizes: Sequence[int], rates: Sequence[float], mid: int,
                r: Any, tuned: Any) -> None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 2, figsize=(10.5, 7.5))
        ax = axes[0, 0]
        for label, get, color in (("p = 0", lambda s, n: r(s, n, 0.0), "tab:red"),
                                  ("p = 0.5", lambda s, n: r(s, n, 0.5), "tab:blue"),
                                  ("p chosen on validation", tuned, "tab:green")):
            a = np.array([[get(s, n)["test_acc"] for s in seeds] for n in sizes])
            ax.errorbar(sizes, a.mean(1), yerr=a.std(1, ddof=1) if len(seeds) > 1 else None, fmt="o-",
                        color=color, capsize=3, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("training examples")
        ax.set_ylabel("test accuracy")
        ax.set_title("test accuracy vs data size (bar = 1 sd over seeds)")
        ax.legend()
        ax = axes[0, 1]
        for key, style in (("val_acc", "o-"), ("test_acc", "s--")):
            a = np.array([[r(s, mid, p)[key] for s in seeds] for p in rates])
            ax.plot(rates, a.mean(1), style, label=key.replace("_", " "))
        a = np.array([[r(s, mid, p)["train_acc"] for s in seeds] for p in rates])
        ax.plot(rates, a.mean(1), "^:", label="train acc")
        ax.set_xlabel("dropout rate p")
        ax.set_title(f"rate sweep, n_train = {mid}")
        ax.legend()
        ax = axes[1, 0]
        for i, s in enumerate(seeds):
            c = r(s, mid, 0.5)["k_curve"]
            ax.plot(range(1, len(c) + 1), c, color="tab:green", alpha=0.6,
                    label="average of k sampled sub-nets" if i == 0 else None)
            ax.axhline(r(s, mid, 0.5)["acc_weight_scaled"], color="tab:purple", ls="--", alpha=0.6,
                       label="weight-scaled net" if i == 0 else None)
        ax.set_xscale("log")
        ax.set_xlabel("number of sampled sub-networks k")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"dropout as model averaging (p = 0.5, n_train = {mid})")
        ax.legend()
        ax = axes[1, 1]
        for p, color in ((0.0, "tab:red"), (0.5, "tab:blue")):
            for i, s in enumerate(seeds):
                x = r(s, mid, p)
                spe = x["steps_per_epoch"]
                ax.plot([spe * (j + 1) for j in range(len(x["val_curve"]))], x["val_curve"], color=color,
                        alpha=0.5, label=f"p = {p:g}" if i == 0 else None)
                ax.plot([x["steps_to_best"]], [x["val_acc"]], "o", color=color, ms=4)
        ax.set_xlabel("optimizer steps")
        ax.set_ylabel("validation accuracy")
        ax.set_title(f"learning curves and early-stopping optima, n_train = {mid}")
        ax.legend()
        for a in axes.flat:
            a.grid(alpha=0.3)
        fig.tight_layout()
        ev.figure("dropout_sweeps", fig, caption=f"MNIST-1D, 2-hidden-layer ReLU MLP, {len(seeds)} seeds.")
