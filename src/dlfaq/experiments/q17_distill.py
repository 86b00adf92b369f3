"""Q17: how is a distilled model trained? An MLP teacher regularized with dropout and jitter and
a small unregularized MLP student on MNIST-1D, in the regime of Hinton et al. (2015), whose MNIST
teacher was trained with dropout and jitter of up to 2 pixels and whose student with neither:
the student alone generalizes worse than the teacher, and the soft targets close most of the gap.

The transfer set (Hinton et al. 2015, section 2; Ba & Caruana 2014) is the labelled training
split plus unlabelled MNIST-1D inputs drawn from the same generator with another data seed: the
teacher's soft targets are available on them, labels are not (the hard term skips them). On the
labelled split alone the soft targets closed only part of the gap in trial runs; the student
alone cannot use unlabelled inputs at all, which is the practical reason distillation helps.

Per seed (one unit each): the teacher trained normally and the page's teacher trained through
softmax(z / 20); the student alone; the student distilled with the Hinton loss (alpha = 0.9, T²)
at T in {2, 4, 20}, the temperature chosen on the validation split; the student with soft
targets only (alpha = 1) at the chosen T. Every model early-stops on validation accuracy; the
test split is read once per model.

The page's "loss1 + loss2" is decided by a check: without the T² factor the soft term's gradient
falls as 1/T² (Hinton et al. 2015, section 2), which is arithmetic, not something to measure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlfaq.experiments import stats
from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, check, experiment, measured

TEMPS = (2, 4, 20)  # candidate temperatures, chosen per seed on validation accuracy (three: CPU budget)
PAGE_T = 20  # the page's temperature (teacher training and loss1)
ALPHA = 0.9  # weight of the soft term: Hinton et al. give the hard term "a considerably lower weight"
TEACHER = {"hidden": 128, "depth": 2, "dropout": 0.3}
JITTER = 4  # teacher inputs shifted (circularly) by up to 4 of the 40 positions while it trains
STUDENT = {"hidden": 64, "depth": 2}
LR = 1e-2  # Adam for the teachers
BATCH = 250
# Students: larger batches and step size (they are small, and the transfer set is large); fixed.
STUDENT_LR = 1e-2
STUDENT_BATCH = 500
TRANSFER_DATA_SEED = 7  # MNIST-1D's standard set is data seed 42; the unlabelled inputs come from another

# Margins fixed before the run.
# Control: "closes most of the gap" = the distilled student ends above the midpoint between the
# student alone and the teacher; the effect is measured from that midpoint, so the margin is 0.
CONTROL_MARGIN_POINTS = 0.0
# Accuracy differences between two students: 1 point is ~ the standard error of one accuracy on
# the 1,000 test examples, the smallest difference worth a recipe step.
ACC_MARGIN_POINTS = 1.0
# Softness of the page teacher's targets: 0.5 nats is about a fifth of the way from a one-hot
# target (0) to the uniform distribution over 10 classes (ln 10 = 2.30 nats).
ENTROPY_MARGIN_NATS = 0.5
# The check: log-log slope of |d soft / d student logits| against T for the unscaled soft term.
# The simple sum keeps a soft term of comparable weight only if the slope is above -1 (the
# asymptotic theory says -2).
SLOPE_LIMIT = -1.0
CHECK_TEMPS = (1, 2, 4, 8, 16, 20)


def settings(ctx: RunContext) -> dict[str, Any]:
    return ctx.pick(
        quick={"n_train": None, "epochs": 80, "patience": 8, "n_transfer": 4000},
        full={"n_train": None, "epochs": 200, "patience": 20, "n_transfer": 8000},
        smoke={"n_train": 300, "epochs": 3, "patience": 2, "n_transfer": 200},
    )


# --------------------------------------------------------------------------- data and models


def data(seed: int, n_train: int | None) -> Any:
    """MNIST-1D's standard split; 20 % of the training split is held out for validation."""
    from dlfaq.data import mnist1d

    return mnist1d(seed=seed, n_train=n_train).with_validation(0.2, seed=seed)


def transfer_inputs(n: int) -> Any:
    """``n`` unlabelled MNIST-1D inputs from another data seed (same generator, same statistics)."""
    import torch

    from dlfaq.data import mnist1d

    extra = mnist1d(data_seed=TRANSFER_DATA_SEED, num_samples=int(np.ceil(n / 0.8))).X_train[:n]
    return torch.as_tensor(extra)


def make_mlp(spec: Mapping[str, Any], seed: int, jitter: int = 0) -> Any:
    """An MLP on the 40 inputs; with ``jitter`` > 0, preceded by a random circular shift of up to
    ``jitter`` positions in training mode (identity in eval mode), the 1-D analogue of Hinton et
    al.'s jittered teacher."""
    import torch
    from torch import nn

    from dlfaq.nn import MLP

    class Jitter(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training:
                return x
            n, length = x.shape
            k = torch.randint(-jitter, jitter + 1, (n, 1), device=x.device)
            return x.gather(1, (torch.arange(length, device=x.device)[None, :] - k) % length)

    torch.manual_seed(seed)
    net = MLP(40, 10, **spec)
    return nn.Sequential(Jitter(), net) if jitter > 0 else net


def _early(patience: int) -> Any:
    from dlfaq.train.regularization import EarlyStopping

    return EarlyStopping(patience=patience, mode="max")


def train_teacher(split: Any, seed: int, cfg: Mapping[str, Any], dev: Any, temperature: float = 1.0) -> Any:
    """The teacher; ``temperature`` = 20 is the page's recipe: cross-entropy of softmax(z / 20)."""
    import torch.nn.functional as F

    from dlfaq.train import fit

    Xtr, ytr, _, _ = split.tensors()
    model = make_mlp(TEACHER, seed, jitter=JITTER)
    fit(model, (Xtr, ytr), val=split.val_tensors(), loss_fn=lambda o, y: F.cross_entropy(o / temperature, y),
        epochs=cfg["epochs"], lr=LR, optimizer="adam", batch_size=BATCH, eval_train=False,
        early_stopping=_early(cfg["patience"]), stop_on="val_acc", seed=seed, device=dev)
    return model


def train_student(split: Any, seed: int, cfg: Mapping[str, Any], dev: Any, teacher: Any = None,
                  temperature: float = 4.0, alpha: float = ALPHA, extra: Any = None) -> tuple[Any, float]:
    """A student, alone on the labelled split (``teacher=None``) or distilled on the transfer set
    (labelled split + ``extra`` unlabelled inputs, whose label -100 the hard term ignores);
    returns it and its best validation accuracy."""
    import torch

    from dlfaq.train import distill, fit

    Xtr, ytr, _, _ = split.tensors()
    model = make_mlp(STUDENT, 10_000 + seed)
    kw = dict(val=split.val_tensors(), epochs=cfg["epochs"], lr=STUDENT_LR, optimizer="adam",
              batch_size=STUDENT_BATCH, eval_train=False, early_stopping=_early(cfg["patience"]),
              stop_on="val_acc", seed=seed, device=dev)
    if teacher is None:
        hist = fit(model, (Xtr, ytr), **kw)
    else:
        if extra is not None:
            Xtr = torch.cat([Xtr, extra])
            ytr = torch.cat([ytr, torch.full((len(extra),), -100, dtype=ytr.dtype)])
        hist = distill(teacher, model, (Xtr, ytr), temperature=temperature, alpha=alpha, t_squared=True, **kw)
    return model, max(hist.metric("val_acc"))


def test_acc(model: Any, split: Any, dev: Any) -> float:
    from dlfaq.train.loop import evaluate

    _, _, Xte, yte = split.tensors(str(dev))
    return float(evaluate(model, (Xte, yte))["acc"])


def entropies(teacher: Any, page_teacher: Any, split: Any, dev: Any) -> dict[str, float]:
    """Mean entropy (nats) of the targets each teacher hands the student on the training inputs."""
    import torch

    X = split.tensors(str(dev))[0]
    with torch.no_grad():
        z, z20 = teacher(X), page_teacher(X)

    def h(logits: Any) -> float:
        logp = torch.log_softmax(logits, 1)
        return float(-(logp.exp() * logp).sum(1).mean())

    return {"ordinary_T1": h(z), "ordinary_T20": h(z / PAGE_T), "page_T20": h(z20 / PAGE_T)}


# --------------------------------------------------------------------------- the check


def gradient_scaling(seed: int = 0) -> dict[str, Any]:
    """Norm of the soft term's gradient with respect to the student's logits against T, with and
    without the T² factor, and the hard term's for comparison (synthetic logits: a confident
    teacher, a student at initialization)."""
    import torch
    import torch.nn.functional as F

    from dlfaq.train import DistillationLoss

    g = torch.Generator().manual_seed(seed)
    zt = 3.0 * torch.randn(512, 10, generator=g, dtype=torch.float64)
    zs0 = 0.3 * torch.randn(512, 10, generator=g, dtype=torch.float64)
    y = zt.argmax(1)
    rows = []
    for T in CHECK_TEMPS:
        norms = []
        for sq in (False, True):
            zs = zs0.clone().requires_grad_(True)
            DistillationLoss(T, alpha=1.0, t_squared=sq)(zs, zt).backward()
            norms.append(float(zs.grad.norm()))
        zs = zs0.clone().requires_grad_(True)
        F.cross_entropy(zs, y).backward()
        rows.append([T, norms[0], norms[1], float(zs.grad.norm())])
    a = np.array(rows)
    hi = a[:, 0] >= 4  # the large-T regime where the 1/T² law is claimed
    slope_plain = float(np.polyfit(np.log(a[hi, 0]), np.log(a[hi, 1]), 1)[0])
    slope_sq = float(np.polyfit(np.log(a[hi, 0]), np.log(a[hi, 2]), 1)[0])
    return {"rows": rows, "slope_plain": slope_plain, "slope_t2": slope_sq,
            "soft_to_hard_T20_plain": float(a[-1, 1] / a[-1, 3]), "soft_to_hard_T20_t2": float(a[-1, 2] / a[-1, 3])}


# --------------------------------------------------------------------------- one seed


def run_seed(seed: int, cfg: Mapping[str, Any], dev: Any) -> dict[str, Any]:
    split = data(seed, cfg["n_train"])
    extra = transfer_inputs(cfg["n_transfer"])
    teacher = train_teacher(split, seed, cfg, dev)
    page_teacher = train_teacher(split, seed, cfg, dev, temperature=PAGE_T)
    out: dict[str, Any] = {"teacher": test_acc(teacher, split, dev),
                           "page_teacher": test_acc(page_teacher, split, dev),
                           "entropy": entropies(teacher, page_teacher, split, dev)}
    alone, out["alone_val"] = train_student(split, seed, cfg, dev)
    out["alone"] = test_acc(alone, split, dev)
    out["by_T"] = {}
    for T in TEMPS:
        s, v = train_student(split, seed, cfg, dev, teacher, temperature=T, extra=extra)
        out["by_T"][str(T)] = {"val": v, "test": test_acc(s, split, dev)}
    # highest validation accuracy; ties go to the lower temperature
    chosen = max(TEMPS, key=lambda T: (out["by_T"][str(T)]["val"], -T))
    out["chosen_T"] = chosen
    s, _ = train_student(split, seed, cfg, dev, teacher, temperature=chosen, alpha=1.0, extra=extra)
    out["soft_only"] = test_acc(s, split, dev)
    return out


# --------------------------------------------------------------------------- study


@experiment(
    17,
    "distill-mnist1d",
    title={
        "en": "Distilling a dropout MLP into a small MLP on MNIST-1D: temperature, the hard term and the page's recipe",
        "zh": "在 MNIST-1D 上把带 dropout 的 MLP 蒸馏进小 MLP:温度、硬标签项与页面的做法",
    },
    description={
        "en": "A teacher MLP (2×128, dropout and jitter) and a student MLP (2×64, no regularization) on MNIST-1D. "
        "The student is trained alone on the labelled split, and distilled with the Hinton et al. (2015) loss "
        "on a transfer set (the labelled split plus unlabelled MNIST-1D inputs) at T ∈ {2, 4, 20}, T chosen "
        "on validation, and with soft targets only. A second teacher is trained at T = 20 as the page says. "
        "Every model early-stops on a validation split. The T² factor is checked on the gradients directly.",
        "zh": "在 MNIST-1D 上,教师 MLP(2×128,带 dropout 与输入平移抖动)与学生 MLP(2×64,不加正则)。学生分别:只在有标签的"
        "训练集上单独训练;在迁移集(有标签的训练集加上无标签的 MNIST-1D 输入)上用 Hinton 等(2015)的损失在 "
        "T ∈ {2, 4, 20} 下蒸馏(T 在验证集上选);只用软目标。另按页面的做法在 T = 20 下训练第二个教师。"
        "所有模型都在验证集上早停。T² 因子直接在梯度上检查。",
    },
)
class DistillMnist1d(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        return [Unit("gradient-check", {"seed": 0, "what": "check"})] + [
            Unit(f"seed={s}", {"seed": s, "what": "train"}) for s in ctx.seeds()]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        if unit.params["what"] == "check":
            return gradient_scaling()
        return run_seed(unit.seed, settings(ctx), ctx.torch_device())

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        seeds = ctx.seeds()
        runs = [results[f"seed={s}"] for s in seeds]
        ev = Evidence()
        acc = collect(runs)
        record_tables(ev, runs, acc, seeds)
        figures(ev, acc, results["gradient-check"])
        judge_claims(ev, runs, acc, results["gradient-check"])
        return ev


def collect(runs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Test accuracy per model, one entry per seed."""
    acc = {k: np.array([r[k] for r in runs]) for k in ("teacher", "page_teacher", "alone", "soft_only")}
    for T in TEMPS:
        acc[f"T={T}"] = np.array([r["by_T"][str(T)]["test"] for r in runs])
    acc["chosen"] = np.array([r["by_T"][str(r["chosen_T"])]["test"] for r in runs])
    return acc


LABELS = {
    "teacher": "teacher (2×128, dropout, jitter, trained at T = 1)",
    "page_teacher": "page's teacher (trained through softmax(z/20))",
    "alone": "student alone",
    **{f"T={T}": f"student distilled, T = {T} (alpha {ALPHA}, T²)" for T in TEMPS},
    "chosen": "student distilled, T chosen on validation",
    "soft_only": "student, soft targets only (alpha 1) at the chosen T",
}


def record_tables(ev: Evidence, runs: Sequence[Mapping[str, Any]], acc: Mapping[str, np.ndarray],
                  seeds: Sequence[int]) -> None:
    gap = acc["teacher"] - acc["alone"]
    share = np.where(np.abs(gap) > 1e-9, (acc["chosen"] - acc["alone"]) / np.where(np.abs(gap) > 1e-9, gap, 1), 0.0)
    ev.table("test-accuracy", ["model", "test acc (mean)", "min", "max"],
             [[LABELS[k], float(v.mean()), float(v.min()), float(v.max())] for k, v in acc.items()],
             title=f"MNIST-1D test accuracy (1,000 examples), {len(seeds)} seeds")
    ev.table("per-seed", ["seed", "teacher", "student alone", "chosen T", "val acc at T = " + " / ".join(str(T) for T in TEMPS),
                          "distilled (chosen T)", "share of the gap closed"],
             [[s, r["teacher"], r["alone"], r["chosen_T"],
               " / ".join(f"{r['by_T'][str(T)]['val']:.3f}" for T in TEMPS),
               r["by_T"][str(r["chosen_T"])]["test"], float(sh)]
              for s, r, sh in zip(seeds, runs, share, strict=True)],
             title="Temperature chosen per seed on validation accuracy; the test split read once per model")
    ent = {k: float(np.mean([r["entropy"][k] for r in runs])) for k in ("ordinary_T1", "ordinary_T20", "page_T20")}
    ev.table("teacher-entropy", ["targets handed to the student", "mean entropy (nats)"],
             [["ordinary teacher, read at T = 1", ent["ordinary_T1"]],
              [f"ordinary teacher, read at T = {PAGE_T}", ent["ordinary_T20"]],
              [f"page's teacher (trained at T = {PAGE_T}), read at T = {PAGE_T}", ent["page_T20"]]],
             title="How soft are the targets? (uniform over 10 classes = ln 10 ≈ 2.303 nats; training inputs)")
    for k, v in acc.items():
        ev.metrics[f"acc_{k.replace('=', '')}"] = float(v.mean())
    ev.metrics["gap_points"] = float(100 * gap.mean())
    ev.metrics["gap_closed_share"] = float(share.mean())
    ev.metrics["chosen_T"] = [int(r["chosen_T"]) for r in runs]
    ev.metrics["entropy"] = ent


def figures(ev: Evidence, acc: Mapping[str, np.ndarray], grad: Mapping[str, Any]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    m = [100 * acc[f"T={T}"].mean() for T in TEMPS]
    lo = [100 * (acc[f"T={T}"].mean() - acc[f"T={T}"].min()) for T in TEMPS]
    hi = [100 * (acc[f"T={T}"].max() - acc[f"T={T}"].mean()) for T in TEMPS]
    ax.errorbar(TEMPS, m, yerr=[lo, hi], fmt="o-", capsize=3, label=f"distilled (alpha {ALPHA}, T²)")
    for k, color in (("teacher", "k"), ("alone", "tab:red"), ("page_teacher", "tab:purple")):
        ax.axhline(100 * acc[k].mean(), color=color, ls=":", label=LABELS[k])
    ax.set_xscale("log")
    ax.set_xticks(list(TEMPS), [str(t) for t in TEMPS])
    ax.set_xlabel("temperature T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Student 2×64 distilled from teacher 2×128 (jitter) on MNIST-1D; bars: min–max over seeds")
    ax.legend(fontsize=7)
    ev.figure("accuracy-vs-temperature", fig, "Student test accuracy against the distillation temperature.")

    g = np.asarray(grad["rows"])
    fig2 = Figure(figsize=(6, 4))
    ax2 = fig2.add_subplot(1, 1, 1)
    ax2.loglog(g[:, 0], g[:, 1], "s--", label="soft term, no T² (the page's sum)")
    ax2.loglog(g[:, 0], g[:, 2], "o-", label="soft term × T² (Hinton et al.)")
    ax2.loglog(g[:, 0], g[:, 3], ":", color="tab:red", label="hard-label cross-entropy")
    ax2.set_xlabel("temperature T")
    ax2.set_ylabel("‖∂loss / ∂student logits‖")
    ax2.set_xticks(list(CHECK_TEMPS), [str(t) for t in CHECK_TEMPS])
    ax2.legend(fontsize=8)
    ax2.set_title("Gradient of each term against T (synthetic logits)")
    ev.figure("soft-gradient-vs-temperature", fig2, "Gradient norm of the soft term against T, with and without T².")
    ev.table("soft-gradient", ["T", "|grad| soft, no T²", "|grad| soft, with T²", "|grad| hard CE"],
             [list(r) for r in grad["rows"]],
             title="Gradient norm with respect to the student's logits (512 synthetic examples, 10 classes)")


def judge_claims(ev: Evidence, runs: Sequence[Mapping[str, Any]], acc: Mapping[str, np.ndarray],
                 grad: Mapping[str, Any]) -> None:
    mid = (acc["teacher"] + acc["alone"]) / 2
    control = stats.Control(
        {"en": "distillation closes most of the teacher–student gap: the distilled student (T chosen on "
               "validation) ends above the midpoint between the student alone and the teacher (Hinton et al. 2015)",
         "zh": "蒸馏缩小了教师与学生之间的大部分差距:蒸馏后的学生(T 在验证集上选)高于单独训练的学生与教师的"
               "中点(Hinton 等,2015)"},
        stats.paired(acc["chosen"], mid, "points", scale=100), CONTROL_MARGIN_POINTS, source="Hinton et al. 2015")
    ev.metrics["control_effect"] = control.effect.mean
    teacher_gap = stats.paired(acc["teacher"], acc["alone"], "points", scale=100)
    ev.metrics["teacher_gap_ci"] = list(teacher_gap.ci)

    ent_page = np.array([r["entropy"]["page_T20"] for r in runs])
    ent_ord = np.array([r["entropy"]["ordinary_T1"] for r in runs])
    ev.add(measured(
        "q17.teacher-trained-at-high-t",
        parts=[
            stats.Part({"en": f"the page's teacher read at T = {PAGE_T} is softer than an ordinary teacher at T = 1",
                        "zh": f"页面的教师在 T = {PAGE_T} 下读出的分布比普通教师在 T = 1 下更软"},
                       stats.paired(ent_page, ent_ord, "nats"), ENTROPY_MARGIN_NATS),
            stats.Part({"en": f"the teacher trained at T = {PAGE_T} is more accurate than one trained at T = 1",
                        "zh": f"在 T = {PAGE_T} 下训练的教师比在 T = 1 下训练的更准确"},
                       stats.paired(acc["page_teacher"], acc["teacher"], "points", scale=100),
                       ACC_MARGIN_POINTS),
        ],
        control=control,
        rule={"en": f"Part 1: mean entropy of the page's teacher's softmax(z/{PAGE_T}) minus that of an ordinary "
                    "teacher's softmax(z), on the training inputs, in nats, per seed (positive = training at "
                    f"T = {PAGE_T} gives softer targets, the point of the step); margin {ENTROPY_MARGIN_NATS:g} nats, "
                    "about a fifth of the way from one-hot to uniform. Part 2: test accuracy of the teacher trained at "
                    f"T = {PAGE_T} minus the teacher trained at T = 1, in points, per seed (positive = the page's "
                    f"teacher is better); margin {ACC_MARGIN_POINTS:g} point, about the standard error of one "
                    "accuracy on 1,000 test examples.",
              "zh": f"第一部分:页面的教师的 softmax(z/{PAGE_T}) 的平均熵减去普通教师 softmax(z) 的平均熵,在训练输入上计算,"
                    f"单位为奈特,逐种子计算(正值表示在 T = {PAGE_T} 下训练确实给出更软的目标,这正是这一步的用意);"
                    f"阈值 {ENTROPY_MARGIN_NATS:g} 奈特,约为从独热分布到均匀分布的五分之一。第二部分:在 T = {PAGE_T} 下训练的"
                    "教师的测试准确率减去在 T = 1 下训练的教师,单位为百分点,逐种子计算(正值表示页面的教师更好);阈值 "
                    f"{ACC_MARGIN_POINTS:g} 个百分点,约为 1000 个测试样本上一个准确率的标准误。"},
        reason={"en": "Both teachers have the same architecture, data, optimizer and early stopping; only the "
                      "temperature inside their training loss differs.",
                "zh": "两个教师的结构、数据、优化器和早停都相同,只有训练损失里的温度不同。"},
        evidence=["teacher-entropy", "test-accuracy"]))

    ev.add(measured(
        "q17.soft-loss-at-temperature", stats.paired(acc[f"T={PAGE_T}"], acc["alone"], "points", scale=100),
        ACC_MARGIN_POINTS, control=control,
        rule={"en": f"Effect: test accuracy of the student distilled with the soft term at T = {PAGE_T} (alpha "
                    f"{ALPHA}, T²) minus the student trained alone, in points, per seed (positive = matching the "
                    f"teacher's T = {PAGE_T} softmax helps). Margin {ACC_MARGIN_POINTS:g} point, about the standard "
                    "error of one accuracy on 1,000 test examples.",
              "zh": f"效应:用 T = {PAGE_T} 的软目标项(alpha {ALPHA},乘 T²)蒸馏的学生的测试准确率减去单独训练的学生,"
                    f"单位为百分点,逐种子计算(正值表示拟合教师在 T = {PAGE_T} 下的 softmax 有帮助)。阈值 "
                    f"{ACC_MARGIN_POINTS:g} 个百分点,约为 1000 个测试样本上一个准确率的标准误。"},
        reason={"en": "Same student architecture, initialization, data and early stopping; only the loss differs.",
                "zh": "学生的结构、初始化、数据和早停都相同,只有损失不同。"},
        evidence=["test-accuracy", "accuracy-vs-temperature"]))

    ev.add(measured(
        "q17.hard-loss-at-t1", stats.paired(acc["chosen"], acc["soft_only"], "points", scale=100),
        ACC_MARGIN_POINTS, control=control,
        rule={"en": f"Effect: at the temperature chosen on validation, test accuracy of the student trained on "
                    f"soft targets plus the T = 1 cross-entropy on the labels (alpha {ALPHA}) minus the student "
                    "trained on soft targets only (alpha 1), in points, per seed (positive = loss2 helps). Margin "
                    f"{ACC_MARGIN_POINTS:g} point, about the standard error of one accuracy on 1,000 test examples.",
              "zh": f"效应:在验证集选出的温度下,用软目标加 T = 1 标签交叉熵(alpha {ALPHA})训练的学生的测试准确率,"
                    "减去只用软目标(alpha 1)训练的学生,单位为百分点,逐种子计算(正值表示 loss2 有帮助)。阈值 "
                    f"{ACC_MARGIN_POINTS:g} 个百分点,约为 1000 个测试样本上一个准确率的标准误。"},
        evidence=["test-accuracy", "per-seed"]))

    slope, slope_sq = grad["slope_plain"], grad["slope_t2"]
    ev.metrics["slope_plain"] = slope
    ev.metrics["slope_t2"] = slope_sq
    ev.metrics["soft_to_hard_T20_plain"] = grad["soft_to_hard_T20_plain"]
    ev.metrics["soft_to_hard_T20_t2"] = grad["soft_to_hard_T20_t2"]
    ev.add(check(
        "q17.losses-simply-added", slope > SLOPE_LIMIT,
        rule={"en": "An unweighted sum loss1 + loss2 gives the soft term a fixed share of the gradient only if that "
                    "term's gradient does not shrink with T. Checked: the log-log slope of ‖∂ KL(p_T ‖ q_T) / ∂ "
                    f"student logits‖ against T over T = {', '.join(str(t) for t in CHECK_TEMPS if t >= 4)}; the "
                    f"simple sum holds if the slope is above {SLOPE_LIMIT:g}, and is contradicted if it falls like "
                    "1/T² (slope near −2), in which case the soft term needs the T² factor of Hinton et al. (2015).",
              "zh": "只有当软目标项的梯度不随 T 变小时,不加权的 loss1 + loss2 才能让软项在梯度中占固定的份额。检查:"
                    f"‖∂ KL(p_T ‖ q_T) / ∂ 学生 logits‖ 对 T 的双对数斜率,T = "
                    f"{', '.join(str(t) for t in CHECK_TEMPS if t >= 4)};斜率高于 {SLOPE_LIMIT:g} 则直接相加成立,"
                    "若像 1/T² 那样下降(斜率接近 −2)则被否定,此时软项需要乘上 Hinton 等(2015)的 T² 因子。"},
        reason={"en": f"Slope without T²: {slope:.3f}; with dlfaq's DistillationLoss (× T²): {slope_sq:.3f}. At "
                      f"T = 20 the soft term's gradient is {grad['soft_to_hard_T20_plain']:.2g} times the hard "
                      f"term's without T² and {grad['soft_to_hard_T20_t2']:.2g} times with it.",
                "zh": f"不乘 T² 的斜率:{slope:.3f};dlfaq 的 DistillationLoss(乘 T²):{slope_sq:.3f}。T = 20 时,"
                      f"软项梯度是硬项的 {grad['soft_to_hard_T20_plain']:.2g} 倍(不乘 T²),乘 T² 后为 "
                      f"{grad['soft_to_hard_T20_t2']:.2g} 倍。"},
        evidence=["soft-gradient", "soft-gradient-vs-temperature"]))
