"""Q11 notebook: what batch normalization buys, measured on MNIST-1D (Ioffe & Szegedy 2015)."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        有无 `BatchNorm1d` 的深层 ReLU 多层感知机(`dlfaq.nn.MLP(norm=...)`),在 MNIST-1D 上用普通 SGD 训练。
        每个学习率都在从训练集分出的验证集上选,测试集只读一次。阳性对照是 Ioffe & Szegedy (2015) 发明批归一化要解决的问题:
        在让普通网络发散的学习率上,批归一化网络仍能训练。
        """,
        """
        ## The design
        Deep ReLU MLPs with and without `BatchNorm1d` (`dlfaq.nn.MLP(norm=...)`) trained with plain SGD on
        MNIST-1D. Every learning rate is chosen on a validation split carved out of the training set; the test
        split is read once. The positive control is what Ioffe & Szegedy (2015) built batch norm for: at a
        learning rate where the plain network diverges, the batch-norm network trains.
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], depth=6, width=64, epochs=8, lrs=[0.03, 0.1, 0.3], high_lr=3.0),
          full=dict(seeds=list(range(10)), epochs=30, lrs=[0.01, 0.03, 0.1, 0.3, 1.0]),
          smoke=dict(seeds=[0, 1], depth=3, epochs=1, lrs=[0.1])),
    Code(
        """
        from dlfaq.data import mnist1d
        from dlfaq.nn import MLP
        from dlfaq.train.loop import evaluate, fit

        def train(seed, norm, lr):
            sp = mnist1d().with_validation(0.2, seed=seed)
            Xtr, ytr, Xte, yte = sp.tensors()
            val = sp.val_tensors()
            torch.manual_seed(seed)
            net = MLP(40, 10, hidden=width, depth=depth, activation="relu", norm=norm, init="he")
            h = fit(net, (Xtr, ytr), val=val, epochs=epochs, lr=lr, momentum=0.0, batch_size=64, seed=seed, drop_last=True)
            return dict(diverged=h.diverged, val_acc=h.epochs[-1]["val_acc"] if h.epochs and not h.diverged else 0.0,
                        test_acc=evaluate(net, (Xte, yte))["acc"] if not h.diverged else 0.0,
                        curve=[e["val_acc"] for e in h.epochs])

        runs = {(s, norm, lr): train(s, norm, lr) for s in seeds for norm in ("none", "batch") for lr in lrs}
        for (s, norm, lr), r in runs.items():
            print(f"seed {s} norm={norm:5s} lr={lr:<5} val {r['val_acc']:.3f} test {r['test_acc']:.3f}"
                  + ("  DIVERGED" if r["diverged"] else ""))
        """
    ),
    Md(
        """
        ## 阳性对照:大学习率
        """,
        """
        ## Positive control: a large learning rate
        """,
    ),
    Code(
        """
        high = {(s, norm): train(s, norm, high_lr) for s in seeds for norm in ("none", "batch")}
        control = stats.Control({"en": f"at lr={high_lr} BN trains where the plain net does not",
                                 "zh": f"学习率 {high_lr} 时批归一化网络能训练而普通网络不能"},
                                stats.paired([high[s, "batch"]["test_acc"] for s in seeds],
                                             [high[s, "none"]["test_acc"] for s in seeds], "points", scale=100),
                                10.0, source="Ioffe & Szegedy 2015")
        e = control.effect
        print(f"q11.higher-learning-rate (the control): BN - plain at lr={high_lr}: {e.mean:+.1f} points [{e.lo:+.1f}, {e.hi:+.1f}], "
              f"plain diverged in {sum(high[s, 'none']['diverged'] for s in seeds)} of {len(seeds)} seeds; "
              f"reproduced {control.reproduced}")
        """
    ),
    Md(
        """
        ## 效应:各自学习率调好之后,批归一化是否提高测试准确率
        每个种子、每种网络取验证集上最好的学习率;效应 = BN − 普通(百分点),阈值 1。
        """,
        """
        ## Effect: with each network's learning rate tuned, does batch norm raise test accuracy?
        Per seed and network the learning rate with the best validation accuracy is kept; effect = BN − plain
        (points), margin 1.
        """,
    ),
    Code(
        """
        best = lambda s, norm: max((runs[s, norm, lr] for lr in lrs), key=lambda r: r["val_acc"])
        gain = stats.paired([best(s, "batch")["test_acc"] for s in seeds], [best(s, "none")["test_acc"] for s in seeds],
                            "points", scale=100)
        verdict, failed = stats.decide_with_control(stats.decide(gain, 1.0), control)
        print(f"q11.better-results: BN - plain, tuned: {gain.mean:+.2f} points, 95% CI [{gain.lo:+.2f}, {gain.hi:+.2f}] (n={gain.n}) -> {verdict}")

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for s in seeds:
            ax.plot(best(s, "none")["curve"], color="C0", alpha=0.6, label="plain" if s == seeds[0] else None)
            ax.plot(best(s, "batch")["curve"], color="C1", alpha=0.6, label="batch norm" if s == seeds[0] else None)
        ax.set_xlabel("epoch"); ax.set_ylabel("validation accuracy"); ax.legend(); plt.show()
        """
    ),
]
