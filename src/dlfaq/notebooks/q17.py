"""Q17 notebook: knowledge distillation on MNIST-1D (Hinton, Vinyals & Dean 2015)."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        Hinton et al. (2015) 的设定:教师用 dropout 和输入抖动正则化(这里是 MLP 128×2、dropout 0.3、最多 4 个位置的循环平移),
        学生是不加正则化的小 MLP(64×2)。迁移集 = 有标签的训练集 + 同一生成器、另一个数据种子生成的无标签 MNIST-1D 输入
        (教师能给它们软目标,硬项跳过它们)。学生用 `dlfaq.train.distillation.distill`(α = 0.9,软项乘 T²)蒸馏,
        T 在验证集上从 {2, 4, 20} 中选;每个模型都按验证集准确率早停,测试集每个模型只读一次。
        阳性对照:蒸馏后的学生高于"单独训练的学生"与教师的中点(蒸馏补上大部分差距)。
        页面"两个损失直接相加"由精确检验判定:不乘 T² 时软项的梯度按 1/T² 下降(Hinton et al. 2015 第 2 节)。
        """,
        """
        ## The design
        The regime of Hinton et al. (2015): a teacher regularized with dropout and input jitter (here an MLP
        128×2, dropout 0.3, circular shifts of up to 4 positions) and a small unregularized student (MLP 64×2).
        The transfer set is the labelled training split plus unlabelled MNIST-1D inputs from the same generator
        with another data seed (the teacher gives them soft targets; the hard term skips them). The student is
        distilled with `dlfaq.train.distillation.distill` (α = 0.9, soft term times T²), T chosen on validation
        from {2, 4, 20}; every model early-stops on validation accuracy and the test split is read once per
        model. Positive control: the distilled student ends above the midpoint between the student alone and
        the teacher (distillation closes most of the gap). The page's "simply add the two losses" is decided by
        an exact check: without T² the soft term's gradient falls as 1/T² (Hinton et al. 2015, section 2).
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], n_train=None, epochs=80, patience=8, n_transfer=4000, temps=[2, 4, 20]),
          full=dict(seeds=list(range(10)), epochs=200, patience=20, n_transfer=8000),
          smoke=dict(seeds=[0, 1], n_train=300, epochs=3, patience=2, n_transfer=200, temps=[4])),
    Md(
        """
        ## 1. 精确检验:T² 因子
        软项 KL(softmax(z_t/T) ‖ softmax(z_s/T)) 对学生 logits 的梯度是 (softmax(z_s/T) − softmax(z_t/T))/T;
        logits 差很小时约为 (z_s − z_t)/(C·T²)。只有乘上 T²,软项的梯度才与 T 无关。
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
        zs0 = zt + torch.randn(64, 10) * 0.01
        norms = {}
        for T_ in (1.0, 2.0, 5.0, 20.0):
            for t_sq in (False, True):
                zs = zs0.clone().requires_grad_(True)
                DistillationLoss(T_, alpha=1.0, t_squared=t_sq)(zs, zt).backward()
                norms[T_, t_sq] = float(zs.grad.norm())
            print(f"T={T_:4}: soft-term gradient without T^2 {norms[T_, False]:.2e}, with T^2 {norms[T_, True]:.2e}")
        falls = norms[20.0, False] / norms[1.0, False]
        print(f"without T^2 the gradient at T=20 is {falls:.2e} of T=1's (1/T^2 = {1 / 400:.2e})")
        # 1/T^2 is exact only as the logit differences go to 0; at differences of 0.01 it holds within 5 %
        print("q17.losses-simply-added:", "contradicted" if abs(falls * 400 - 1) < 0.05 else "supported")
        """
    ),
    Md(
        """
        ## 2. 数据、模型与训练
        """,
        """
        ## 2. Data, models and training
        """,
    ),
    Code(
        """
        from torch import nn
        from dlfaq.data import mnist1d
        from dlfaq.nn import MLP
        from dlfaq.train.loop import evaluate, fit
        from dlfaq.train.regularization import EarlyStopping

        class Jitter(nn.Module):
            \"\"\"Circular shift of each training input by up to `k` positions (identity in eval mode).\"\"\"
            def __init__(self, k):
                super().__init__(); self.k = k
            def forward(self, x):
                if not self.training:
                    return x
                shift = torch.randint(-self.k, self.k + 1, (len(x), 1))
                return x.gather(1, (torch.arange(x.shape[1])[None, :] - shift) % x.shape[1])

        extra = torch.as_tensor(mnist1d(data_seed=7, num_samples=int(np.ceil(n_transfer / 0.8))).X_train[:n_transfer])

        def student(seed):
            torch.manual_seed(10_000 + seed)
            return MLP(40, 10, hidden=64, depth=2)

        def run_seed(s):
            sp = mnist1d(seed=s, n_train=n_train).with_validation(0.2, seed=s)
            Xtr, ytr, Xte, yte = sp.tensors()
            val = sp.val_tensors()
            early = lambda: EarlyStopping(patience=patience, mode="max")
            torch.manual_seed(s)
            teacher = nn.Sequential(Jitter(4), MLP(40, 10, hidden=128, depth=2, dropout=0.3))
            fit(teacher, (Xtr, ytr), val=val, epochs=epochs, lr=1e-2, optimizer="adam", batch_size=250,
                eval_train=False, early_stopping=early(), stop_on="val_acc", seed=s)
            kw = dict(val=val, epochs=epochs, lr=1e-2, optimizer="adam", batch_size=500, eval_train=False,
                      stop_on="val_acc", seed=s)
            alone = student(s)
            fit(alone, (Xtr, ytr), early_stopping=early(), **kw)
            # the transfer set: labelled split + unlabelled inputs (label -100: the hard term skips them)
            Xt = torch.cat([Xtr, extra]); yt = torch.cat([ytr, torch.full((len(extra),), -100, dtype=ytr.dtype)])
            distilled = {}
            for T in temps:
                m = student(s)
                h = distill(teacher, m, (Xt, yt), temperature=T, alpha=0.9, early_stopping=early(), **kw)
                distilled[T] = (max(h.metric("val_acc")), m)
            T_best = max(temps, key=lambda T: distilled[T][0])
            test = lambda m: evaluate(m, (Xte, yte))["acc"]
            return dict(teacher=test(teacher), alone=test(alone), chosen=test(distilled[T_best][1]), T=T_best,
                        **{f"T={T}": test(distilled[T][1]) for T in temps})

        acc = {}
        for s in seeds:
            acc[s] = run_seed(s)
            print(f"seed {s}: " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in acc[s].items()))
        """
    ),
    Md(
        """
        ## 3. 效应与 95 % 区间
        """,
        """
        ## 3. Effects and 95 % intervals
        """,
    ),
    Code(
        """
        mid = [(acc[s]["teacher"] + acc[s]["alone"]) / 2 for s in seeds]
        control = stats.Control({"en": "distillation closes most of the teacher-student gap", "zh": "蒸馏补上大部分师生差距"},
                                stats.paired([acc[s]["chosen"] for s in seeds], mid, "points", scale=100), 0.0,
                                source="Hinton et al. 2015")
        e = control.effect
        print(f"control: distilled (T chosen) - midpoint {e.mean:+.2f} points [{e.lo:+.2f}, {e.hi:+.2f}], "
              f"reproduced {control.reproduced}")
        T_page = max(temps)  # the page's T = 20 (the largest candidate)
        gain = stats.paired([acc[s][f"T={T_page}"] for s in seeds], [acc[s]["alone"] for s in seeds], "points", scale=100)
        print(f"q17.soft-loss-at-temperature: distilled at T={T_page} - alone {gain.mean:+.2f} points "
              f"[{gain.lo:+.2f}, {gain.hi:+.2f}] (n={gain.n}) -> {stats.decide_with_control(stats.decide(gain, 1.0), control)[0]}")

        fig, ax = plt.subplots(figsize=(5.5, 3))
        names = ["teacher", "alone", *[f"T={T}" for T in temps]]
        for i, k in enumerate(names):
            vals = [100 * acc[s][k] for s in seeds]
            ax.plot([i] * len(vals), vals, "o", alpha=0.6)
            ax.plot([i - 0.2, i + 0.2], [np.mean(vals)] * 2, "k-")
        ax.set_xticks(range(len(names)), names); ax.set_ylabel("test accuracy (%)")
        plt.show()
        """
    ),
]
