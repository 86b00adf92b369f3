"""Q17 notebook: knowledge distillation on MNIST-1D (Hinton, Vinyals & Dean 2015)."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        用 dropout 正则化的多层感知机作教师,一个不加正则化的小多层感知机作学生(Hinton et al. 2015 的设定:教师用了 dropout,
        学生没有)。学生单独训练的泛化不如教师;用 `dlfaq.train.distillation.distill`(α = 0.9,软项乘 T²)蒸馏,看软目标能否补上差距。
        页面"两个损失直接相加"由精确检验判定:不乘 T² 时软项的梯度按 1/T² 下降(Hinton et al. 2015 第 2 节)。
        (完整实验还有无标签迁移集和页面 T = 20 训练的教师,见 `dlfaq run 17`。)
        """,
        """
        ## The design
        An MLP teacher regularized with dropout and a small unregularized MLP student (the regime of Hinton et
        al. 2015: the teacher had dropout, the student not). The student alone generalizes worse than the
        teacher; distilling it with `dlfaq.train.distillation.distill` (α = 0.9, soft term times T²) should close
        much of the gap. The page's "simply add the two losses" is decided by an exact check: without T² the
        soft term's gradient falls as 1/T² (Hinton et al. 2015, section 2). (The full experiment also has an
        unlabelled transfer set and the page's teacher trained at T = 20: `dlfaq run 17`.)
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], n_train=1000, T=4.0, epochs=60, teacher_hidden=256, student_hidden=32),
          full=dict(seeds=list(range(10)), n_train=4000, epochs=200),
          smoke=dict(seeds=[0, 1], n_train=200, epochs=2, teacher_hidden=32, student_hidden=8)),
    Md(
        """
        ## 1. 精确检验:T² 因子
        软项 KL(softmax(z_t/T) ‖ softmax(z_s/T)) 对学生 logits 的梯度是 (softmax(z_s/T) − softmax(z_t/T))/T;
        logits 变化很小时约为 (z_s − z_t)/(C·T²)。乘 T² 才让软项的梯度与 T 无关。
        """,
        """
        ## 1. Exact check: the T² factor
        The soft term KL(softmax(z_t/T) ‖ softmax(z_s/T)) has gradient (softmax(z_s/T) − softmax(z_t/T))/T with
        respect to the student's logits, about (z_s − z_t)/(C·T²) for small logit differences. Only the T²
        factor makes the soft term's gradient independent of T.
        """,
    ),
    Code(
        """
        from dlfaq.train.distillation import DistillationLoss, distill

        torch.manual_seed(0)
        zt = torch.randn(64, 10) * 0.1
        norms = {}
        for T_ in (1.0, 2.0, 5.0, 20.0):
            for t_sq in (False, True):
                zs = (zt + torch.randn(64, 10) * 0.01).requires_grad_(True)
                DistillationLoss(T_, alpha=1.0, t_squared=t_sq)(zs, zt).backward()
                norms[T_, t_sq] = float(zs.grad.norm())
        for T_ in (1.0, 2.0, 5.0, 20.0):
            print(f"T={T_:4}: soft-term gradient without T^2 {norms[T_, False]:.2e}, with T^2 {norms[T_, True]:.2e}")
        falls = norms[20.0, False] / norms[1.0, False]
        print(f"without T^2 the gradient at T=20 is {falls:.2e} of T=1's (1/T^2 = {1 / 400:.2e})")
        # 1/T^2 holds exactly only as the logit differences go to 0; at differences of 0.01 the ratio is within 5 %
        print("q17.losses-simply-added:", "contradicted" if abs(falls * 400 - 1) < 0.05 else "supported")
        """
    ),
    Md(
        """
        ## 2. 教师、单独训练的学生、蒸馏的学生
        """,
        """
        ## 2. Teacher, student alone, distilled student
        """,
    ),
    Code(
        """
        from dlfaq.data import mnist1d
        from dlfaq.nn import MLP
        from dlfaq.train.loop import evaluate, fit
        from dlfaq.train.regularization import EarlyStopping

        acc = {}
        for s in seeds:
            sp = mnist1d(seed=s, n_train=n_train).with_validation(0.2, seed=s)
            Xtr, ytr, Xte, yte = sp.tensors(); val = sp.val_tensors()
            common = dict(val=val, epochs=epochs, lr=1e-3, optimizer="adam", batch_size=64, seed=s, stop_on="val_acc")
            torch.manual_seed(s)
            teacher = MLP(40, 10, hidden=teacher_hidden, depth=2, dropout=0.5)
            fit(teacher, (Xtr, ytr), early_stopping=EarlyStopping(patience=15, mode="max"), **common)
            torch.manual_seed(s)
            alone = MLP(40, 10, hidden=student_hidden, depth=2)
            fit(alone, (Xtr, ytr), early_stopping=EarlyStopping(patience=15, mode="max"), **common)
            torch.manual_seed(s)
            student = MLP(40, 10, hidden=student_hidden, depth=2)
            distill(teacher, student, (Xtr, ytr), temperature=T, alpha=0.9,
                    early_stopping=EarlyStopping(patience=15, mode="max"), **common)
            acc[s] = {k: evaluate(m, (Xte, yte))["acc"] for k, m in
                      (("teacher", teacher), ("alone", alone), ("distilled", student))}
            print(f"seed {s}: " + "  ".join(f"{k} {v:.3f}" for k, v in acc[s].items()))
        """
    ),
    Code(
        """
        MARGIN = 1.0
        control = stats.Control({"en": "the teacher beats the student alone", "zh": "教师优于单独训练的学生"},
                                stats.paired([acc[s]["teacher"] for s in seeds], [acc[s]["alone"] for s in seeds],
                                             "points", scale=100), MARGIN, source="Hinton et al. 2015")
        gain = stats.paired([acc[s]["distilled"] for s in seeds], [acc[s]["alone"] for s in seeds], "points", scale=100)
        for name, e in (("control: teacher - student alone", control.effect), (f"distilled (T={T}) - alone", gain)):
            print(f"{name:34s} {e.mean:+.2f} points, 95% CI [{e.lo:+.2f}, {e.hi:+.2f}] (n={e.n})")
        print("q17.soft-loss-at-temperature (soft targets at T help):",
              stats.decide_with_control(stats.decide(gain, MARGIN), control)[0])
        fig, ax = plt.subplots(figsize=(5, 3))
        for i, k in enumerate(("teacher", "alone", "distilled")):
            vals = [100 * acc[s][k] for s in seeds]
            ax.plot([i] * len(vals), vals, "o", alpha=0.6)
            ax.plot([i - 0.2, i + 0.2], [np.mean(vals)] * 2, "k-")
        ax.set_xticks(range(3), ["teacher", "student alone", "distilled"]); ax.set_ylabel("test accuracy (%)")
        plt.show()
        """
    ),
]
