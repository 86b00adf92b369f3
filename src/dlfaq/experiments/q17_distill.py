"""Q17: how is a distilled model trained? Teacher, student alone, students distilled
at several temperatures with and without the T² factor, and the page's recipe."""

from __future__ import annotations

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge

TEMPS = (1, 2, 4, 8, 20)
ALPHA = 0.9


def _entropy(p: np.ndarray) -> float:
    return float(-(p * np.log(np.clip(p, 1e-30, None))).sum(1).mean())


@experiment(
    17,
    "distill-digits",
    title={
        "en": "Distilling a large MLP into a small one on digits: temperature, T² and the page's recipe",
        "zh": "在 digits 上把大 MLP 蒸馏进小 MLP:温度、T² 因子与页面的做法",
    },
    description={
        "en": "A teacher MLP (2×256, dropout) and a student MLP (2×64, no regularization) trained on "
        "300 of scikit-learn's digits and tested on 898. "
        "The student is trained alone, distilled with the Hinton et al. (2015) loss at "
        "T ∈ {1, 2, 4, 8, 20} with and without the T² factor, and with the page's recipe "
        "(teacher trained at T = 20, soft and hard losses simply added). Several seeds.",
        "zh": "教师 MLP(2×256,带 dropout)与学生 MLP(2×64,不加正则),在 scikit-learn 的 digits 中"
        "用 300 张图训练、898 张图测试。"
        "学生分别:单独训练;用 Hinton 等(2015)的损失在 T ∈ {1, 2, 4, 8, 20} 下蒸馏,"
        "分带与不带 T² 两种;按页面的做法(教师在 T = 20 下训练,软、硬损失直接相加)。多个随机种子。",
    },
)
def distill_digits(ctx: RunContext) -> Evidence:
    return _run(ctx)


def _run(ctx: RunContext) -> Evidence:
    import torch
    import torch.nn.functional as F
    from matplotlib.figure import Figure

    from dlfaq.data import digits
    from dlfaq.nn.blocks import MLP
    from dlfaq.train.distillation import DistillationLoss, distill
    from dlfaq.train.loop import evaluate, fit

    dev = ctx.device
    seeds = ctx.seeds(quick=3, full=5, smoke=1)
    t_epochs = ctx.pick(quick=30, full=60, smoke=2)
    s_steps = ctx.pick(quick=200, full=400, smoke=3)
    # Hinton et al.'s regime: a student with enough capacity to overfit a small training set,
    # and a teacher that generalizes better thanks to its size and dropout.
    hidden_t, hidden_s, depth_s = 256, 64, 2
    n_train, test_size = 300, 0.5
    temps = TEMPS

    def student(seed: int) -> torch.nn.Module:
        torch.manual_seed(10_000 + seed)
        return MLP(64, 10, hidden=hidden_s, depth=depth_s)

    def teacher(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        return MLP(64, 10, hidden=hidden_t, depth=2, dropout=0.2)

    t_kw = dict(
        epochs=t_epochs, lr=1e-3, optimizer="adam", batch_size=128, eval_train=False, device=dev
    )
    # The page's teacher must learn logits about 20x larger to fit labels through softmax(z/20);
    # at lr=1e-3 it is still far from there after t_epochs, so it gets a 10x larger step size.
    # Otherwise the page's recipe would be judged on an undertrained teacher.
    t20_kw = {**t_kw, "lr": 1e-2}
    # Students: full-batch SGD with momentum, as in Hinton et al. Plain SGD is sensitive to the
    # scale of each loss term (Adam largely is not), which is what the T² factor is about.
    # Full batch: every student gets the same update schedule, so only the loss differs.
    s_kw = dict(
        epochs=s_steps,
        lr=0.1,
        momentum=0.9,
        optimizer="sgd",
        batch_size=None,
        eval_train=False,
        device=dev,
    )

    rows: dict[str, list[float]] = {}
    ent: dict[str, list[float]] = {"teacher@1": [], "teacher@20": [], "teacherT20@20": []}
    grad_rows: list[list[float]] = []
    total = len(seeds) * (6 + 2 * len(temps))
    done = 0

    def tick(desc: str) -> None:
        nonlocal done
        done += 1
        ctx.report(done, total, desc)

    def err(model: torch.nn.Module, test: tuple) -> float:
        return 1.0 - evaluate(model, test)["acc"]

    page_loss = DistillationLoss(temperature=20, alpha=0.5, t_squared=False)

    for seed in seeds:
        sp = digits(seed=seed, n_train=n_train, test_size=test_size)
        Xtr, ytr, Xte, yte = sp.tensors()
        n_test = len(yte)
        test = (Xte.to(dev), yte.to(dev))
        rec = rows.setdefault

        tea = teacher(seed)
        fit(tea, (Xtr, ytr), seed=seed, **t_kw)
        rec("teacher", []).append(err(tea, test))
        tick("teacher")
        # The page's teacher: cross-entropy of softmax(z / 20) against the labels.
        tea20 = teacher(seed)
        fit(
            tea20,
            (Xtr, ytr),
            seed=seed,
            loss_fn=lambda o, y: F.cross_entropy(o / 20.0, y),
            **t20_kw,
        )
        rec("teacher trained at T=20", []).append(err(tea20, test))
        tick("teacher at T=20")
        with torch.no_grad():
            z = tea(Xte.to(dev)).cpu()
            z20 = tea20(Xte.to(dev)).cpu()
        ent["teacher@1"].append(_entropy(torch.softmax(z, 1).numpy()))
        ent["teacher@20"].append(_entropy(torch.softmax(z / 20, 1).numpy()))
        ent["teacherT20@20"].append(_entropy(torch.softmax(z20 / 20, 1).numpy()))

        alone = student(seed)
        fit(alone, (Xtr, ytr), seed=seed, **s_kw)
        rec("student alone", []).append(err(alone, test))
        tick("student alone")
        for T in temps:
            for sq in (True, False):
                s = student(seed)
                distill(
                    tea, s, (Xtr, ytr), temperature=T, alpha=ALPHA, t_squared=sq, seed=seed, **s_kw
                )
                rec(f"T={T}" + (" with T²" if sq else " no T²"), []).append(err(s, test))
                tick(f"distill T={T}")
        # Soft targets only (alpha = 1) at T = 4: is the hard-label term useful?
        s = student(seed)
        distill(tea, s, (Xtr, ytr), temperature=4, alpha=1.0, seed=seed, **s_kw)
        rec("T=4 with T², soft only", []).append(err(s, test))
        tick("soft only")
        # The page's recipe: loss = KL at T=20 (no T²) + CE at T=1, from the T=20 teacher.
        s = student(seed)
        distill(
            tea20,
            s,
            (Xtr, ytr),
            loss=lambda zs, zt, y: 2.0 * page_loss(zs, zt, y),
            seed=seed,
            **s_kw,
        )
        rec("page recipe", []).append(err(s, test))
        tick("page recipe")
        # The page's loss (simple sum, no T²) from an ordinarily trained teacher: isolates the
        # loss combination from the teacher's training temperature.
        s = student(seed)
        distill(
            tea,
            s,
            (Xtr, ytr),
            loss=lambda zs, zt, y: 2.0 * page_loss(zs, zt, y),
            seed=seed,
            **s_kw,
        )
        rec("T=20 simple sum (page's loss), ordinary teacher", []).append(err(s, test))
        tick("simple sum")

        # Gradient of the soft term with respect to the student's logits, per temperature.
        with torch.no_grad():
            zt = tea(Xtr.to(dev))
        # Measured at initialisation, where training starts: a trained student fits the
        # training set almost perfectly and every gradient is near zero.
        with torch.no_grad():
            zs0 = student(seed).to(dev)(Xtr.to(dev))
        for T in temps:
            g = []
            for sq in (True, False):
                zs = zs0.clone().requires_grad_(True)
                DistillationLoss(T, alpha=1.0, t_squared=sq)(zs, zt).backward()
                g.append(float(zs.grad.norm()))
            zs = zs0.clone().requires_grad_(True)
            F.cross_entropy(zs, ytr.to(dev)).backward()
            grad_rows.append([seed, T, g[0], g[1], float(zs.grad.norm())])

    def stats(v: list[float]) -> tuple[float, float, float, float]:
        a = np.asarray(v) * 100
        return float(a.mean()), float(a.std()), float(a.min()), float(a.max())

    tbl = []
    for name, v in rows.items():
        m, sd, lo, hi = stats(v)
        tbl.append([name, round(m, 2), round(sd, 2), round(lo, 2), round(hi, 2), len(v)])
    ev = Evidence()
    ev.table(
        "test-error",
        ["model", "test error % (mean)", "std", "min", "max", "seeds"],
        tbl,
        title=f"Test error on digits ({n_test} test images per seed, {n_train} training images)",
    )
    teach = np.asarray(rows["teacher"])
    alone_e = np.asarray(rows["student alone"])
    gap = alone_e - teach

    def closed(name: str) -> np.ndarray:
        # Share of the teacher-student gap that distillation closes, per seed.
        return np.where(
            gap > 0, (alone_e - np.asarray(rows[name])) / np.where(gap > 0, gap, 1), np.nan
        )

    closed_rows = []
    for name in rows:
        if name.startswith("T=") or name == "page recipe":
            c = closed(name)
            closed_rows.append(
                [
                    name,
                    round(float(np.nanmean(c)) * 100, 1),
                    round(float(np.nanmin(c)) * 100, 1),
                    round(float(np.nanmax(c)) * 100, 1),
                ]
            )
            ev.metrics[f"gap_closed[{name}]"] = float(np.nanmean(c))
    ev.table(
        "gap-closed",
        ["student", "gap closed % (mean)", "min", "max"],
        closed_rows,
        title="Share of the teacher–student gap closed by distillation",
    )
    for name, v in rows.items():
        ev.metrics[f"test_error[{name}]"] = float(np.mean(v))
    ev.metrics["teacher_student_gap_points"] = float(gap.mean() * 100)
    for k, v in ent.items():
        ev.metrics[f"entropy[{k}]"] = float(np.mean(v))
    ev.table(
        "soft-gradient",
        ["seed", "T", "|grad| soft, with T²", "|grad| soft, no T²", "|grad| hard CE"],
        [[int(r[0]), int(r[1])] + [float(f"{x:.4g}") for x in r[2:]] for r in grad_rows],
        title="Norm of the gradient w.r.t. the student's logits (freshly initialised student, training set)",
    )
    ev.table(
        "teacher-entropy",
        ["teacher softmax", "mean entropy (nats)"],
        [
            ["teacher trained at T=1, read at T=1", round(float(np.mean(ent["teacher@1"])), 4)],
            ["teacher trained at T=1, read at T=20", round(float(np.mean(ent["teacher@20"])), 4)],
            [
                "teacher trained at T=20, read at T=20 (page)",
                round(float(np.mean(ent["teacherT20@20"])), 4),
            ],
        ],
        title="How soft are the teacher's targets? (uniform over 10 classes = 2.3026 nats)",
    )

    # ---- figures
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    for sq, style, label, shift in (
        (True, "o-", "distilled, with T²", 0.96),
        (False, "s--", "distilled, no T² (bug)", 1.04),
    ):
        means, lo, hi = [], [], []
        for T in temps:
            m, _, a, b = stats(rows[f"T={T}" + (" with T²" if sq else " no T²")])
            means.append(m)
            lo.append(m - a)
            hi.append(b - m)
        # Shift the two series apart a little so their error bars do not hide each other.
        xs = [t * shift for t in temps]
        ax.errorbar(xs, means, yerr=[lo, hi], fmt=style, capsize=3, label=label)
    for name, color in (
        ("teacher", "k"),
        ("student alone", "tab:red"),
        ("page recipe", "tab:purple"),
    ):
        ax.axhline(stats(rows[name])[0], color=color, ls=":", label=f"{name} (mean)")
    ax.set_xscale("log")
    ax.set_xticks(list(temps), [str(t) for t in temps])
    ax.set_xlabel("temperature T")
    ax.set_ylabel("test error (%)")
    ax.set_title(
        f"Student {depth_s}×{hidden_s} distilled from teacher 2×{hidden_t} (alpha={ALPHA}); bars: min–max over seeds"
    )
    ax.legend(fontsize=8)
    ev.figure(
        "error-vs-temperature", fig, "Student test error against the distillation temperature."
    )

    g = np.asarray(grad_rows)
    fig2 = Figure(figsize=(6, 4))
    ax2 = fig2.add_subplot(1, 1, 1)
    gm_sq = [g[g[:, 1] == T, 2].mean() for T in temps]
    gm_no = [g[g[:, 1] == T, 3].mean() for T in temps]
    gm_hard = g[:, 4].mean()
    ax2.loglog(temps, gm_sq, "o-", label="soft term × T²")
    ax2.loglog(temps, gm_no, "s--", label="soft term, no T²")
    ax2.axhline(gm_hard, color="tab:red", ls=":", label="hard-label cross-entropy")
    ax2.set_xlabel("temperature T")
    ax2.set_ylabel("‖∂loss/∂student logits‖")
    ax2.set_xticks(list(temps), [str(t) for t in temps])
    ax2.legend(fontsize=8)
    ax2.set_title("Soft-term gradient against temperature (mean over seeds)")
    ev.figure("soft-gradient-vs-temperature", fig2, "Gradient norm of the soft loss against T.")

    # ---- verdicts
    e1, e20, e20p = (float(np.mean(ent[k])) for k in ("teacher@1", "teacher@20", "teacherT20@20"))
    ev.add(
        judge(
            "q17.teacher-trained-at-high-t",
            supported=e20p >= 0.5 * e20,
            partly=e20p >= 0.2 * e20,
            rule="supported if the T=20-trained teacher's softmax(z/20) is at least half as soft (entropy) "
            "as an ordinary teacher's softmax(z/20), i.e. training at T=20 really gives soft targets; "
            "partly if at least a fifth as soft; otherwise not supported "
            "(the temperature is undone: the teacher just learns 20× larger logits)",
            reason=f"mean entropy: ordinary teacher at T=1 {e1:.3f}, at T=20 {e20:.3f}; "
            f"T=20-trained teacher at T=20 {e20p:.3f} nats",
        )
    )
    best_T = max(temps[1:], key=lambda T: float(np.nanmean(closed(f"T={T} with T²"))))
    c_best = closed(f"T={best_T} with T²")
    c_best_mean = float(np.nanmean(c_best))
    ev.metrics["best_temperature"] = best_T
    n_better = int((np.asarray(rows[f"T={best_T} with T²"]) < alone_e).sum())
    ev.add(
        judge(
            "q17.soft-loss-at-temperature",
            supported=c_best_mean >= 0.25 and n_better >= len(seeds) - 1 and float(gap.mean()) > 0,
            partly=c_best_mean > 0,
            rule="supported if the best T>1 (with T²) closes on average at least 25% of the teacher–student "
            "gap and beats the student alone on all seeds but at most one; partly if it closes a positive "
            "share on average; otherwise not supported",
            reason=f"gap {gap.mean() * 100:.2f} points; best T={best_T} closes {c_best_mean * 100:.0f}% "
            f"(min {np.nanmin(c_best) * 100:.0f}%, max {np.nanmax(c_best) * 100:.0f}%), "
            f"beats alone on {n_better}/{len(seeds)} seeds",
        )
    )
    hard = np.asarray(rows["T=4 with T²"])
    soft_only = np.asarray(rows["T=4 with T², soft only"])
    d_hard = float((soft_only - hard).mean() * 100)
    ev.add(
        judge(
            "q17.hard-loss-at-t1",
            supported=d_hard >= 0.0,
            partly=d_hard > -0.5,
            rule="supported if adding the T=1 cross-entropy on the labels (alpha=0.9) gives a mean test "
            "error no higher than soft targets alone (alpha=1) at T=4; partly if it is at most 0.5 point "
            "higher; otherwise not supported",
            reason=f"T=4: with hard term {hard.mean() * 100:.2f}%, soft only {soft_only.mean() * 100:.2f}% "
            f"(difference {d_hard:+.2f} points)",
        )
    )
    page = np.asarray(rows["page recipe"])
    right20 = np.asarray(rows["T=20 with T²"])
    rightbest = np.asarray(rows[f"T={best_T} with T²"])
    share20_no = float(np.mean(g[g[:, 1] == 20, 3] / g[g[:, 1] == 20, 4]))
    share20_sq = float(np.mean(g[g[:, 1] == 20, 2] / g[g[:, 1] == 20, 4]))
    ev.metrics["soft_to_hard_grad_ratio_T20_noT2"] = share20_no
    ev.metrics["soft_to_hard_grad_ratio_T20_T2"] = share20_sq
    simple = np.asarray(rows["T=20 simple sum (page's loss), ordinary teacher"])
    simple_worse = float((simple - right20).mean() * 100)
    ev.metrics["simple_sum_minus_hinton_T20_points"] = simple_worse
    ev.add(
        judge(
            "q17.losses-simply-added",
            supported=share20_no >= 0.1 and simple_worse <= 0.0,
            partly=simple_worse <= 0.0,
            rule="with the same (ordinarily trained) teacher at T=20: supported if, without T², the soft "
            "term's gradient is still at least 10% of the hard term's at the start of training AND the "
            "simple sum's mean test error is no higher than the Hinton loss (alpha=0.9, T²); partly if "
            "only the error condition holds; otherwise not supported",
            reason=f"at T=20 soft/hard gradient ratio {share20_no:.3f} without T², {share20_sq:.2f} with T²; "
            f"test error: simple sum {simple.mean() * 100:.2f}% vs Hinton loss {right20.mean() * 100:.2f}% "
            f"(best T={best_T}: {rightbest.mean() * 100:.2f}%); whole page recipe {page.mean() * 100:.2f}%",
        )
    )
    ev.notes = (
        f"Teacher {teach.mean() * 100:.2f}% test error, student alone {alone_e.mean() * 100:.2f}%, "
        f"gap {gap.mean() * 100:.2f} points (mean over {len(seeds)} seeds). Distillation with T² at the best "
        f"temperature (T={best_T}) closed {c_best_mean * 100:.0f}% of the gap on average "
        f"(range {np.nanmin(c_best) * 100:.0f}% to {np.nanmax(c_best) * 100:.0f}%); Hinton et al. (2015) "
        "report about 90% on MNIST (146 -> 74 errors, teacher 67). The page's recipe "
        f"(teacher trained at T=20, losses added without T²) reached {page.mean() * 100:.2f}%; its T=20 "
        f"teacher's soft targets have an entropy of {e20p:.3f} nats against {e1:.3f} for an ordinary "
        "teacher at T=1, so its temperature is undone. The page's simple sum with an ordinary teacher "
        f"reached {simple.mean() * 100:.2f}% and alpha=0.9 at T=20 without T² "
        f"{np.mean(rows['T=20 no T²']) * 100:.2f}%: without T² the balance between the two terms "
        "shifts by a factor T², which here happens to suit the unweighted sum and hurts alpha=0.9. "
        f"With {n_test} test images per split one image is {100 / n_test:.2f} points: differences below "
        "about half a point are within seed noise."
    )
    return ev
