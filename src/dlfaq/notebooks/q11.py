"""Q11 notebook: what batch normalization buys, measured on MNIST-1D (Ioffe & Szegedy 2015)."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        有无 `BatchNorm1d` 的 6 层 ReLU 多层感知机(`dlfaq.nn.MLP(norm=...)`,宽 64),在 MNIST-1D 上用普通 SGD 训练,
        按验证集准确率早停(耐心 4 个 epoch)。每个学习率都在从训练集分出的验证集(20 %)上选,测试集只读一次。
        阳性对照是 Ioffe & Szegedy (2015) 发明批归一化要解决的问题:在学习率 1.0(常用值 0.1 的十倍)上,
        批归一化网络能训练而普通网络不能(最佳验证准确率之差,阈值 10 个百分点)。
        (完整实验还测收敛所需的 FLOPs、初始化尺度、sigmoid 和深度,见 `dlfaq run 11`。)
        """,
        """
        ## The design
        6-layer ReLU MLPs (width 64) with and without `BatchNorm1d` (`dlfaq.nn.MLP(norm=...)`) trained with plain
        SGD on MNIST-1D, early-stopped on validation accuracy (patience 4 epochs). Every learning rate is chosen
        on a validation split (20 %) carved out of the training set; the test split is read once. The positive
        control is what Ioffe & Szegedy (2015) built batch norm for: at learning rate 1.0 (ten times the usual
        0.1) the batch-norm network trains and the plain one does not (best validation accuracy, margin 10
        points). (The full experiment also measures FLOPs to a target, init scales, sigmoid and depth:
        `dlfaq run 11`.)
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], depth=6, width=64, epochs=12, lrs=[0.1, 0.3, 1.0, 3.0], control_lr=1.0),
          full=dict(seeds=list(range(10)), epochs=20, lrs=[0.03, 0.1, 0.3, 1.0, 3.0]),
          smoke=dict(seeds=[0, 1], depth=3, epochs=1, lrs=[0.1, 1.0])),
    Code(
        """
        from dlfaq.data import mnist1d
        from dlfaq.nn import MLP
        from dlfaq.train.loop import evaluate, fit
        from dlfaq.train.regularization import EarlyStopping

        def train(seed, norm, lr):
            sp = mnist1d().with_validation(0.2, seed=seed)
            Xtr, ytr, Xte, yte = sp.tensors()
            torch.manual_seed(seed)
            net = MLP(40, 10, hidden=width, depth=depth, activation="relu", norm=norm, init="scaled",
                      init_gain=math.sqrt(2))
            h = fit(net, (Xtr, ytr), val=sp.val_tensors(), epochs=epochs, lr=lr, batch_size=64, seed=seed,
                    drop_last=True, eval_train=False, early_stopping=EarlyStopping(patience=4, mode="max"),
                    stop_on="val_acc")
            curve = [e["val_acc"] for e in h.epochs]
            best = max(curve) if curve else 0.1
            return dict(diverged=h.diverged, best_val=best, trains=not h.diverged and best >= 0.30,
                        test_acc=evaluate(net, (Xte, yte))["acc"], curve=curve)

        runs = {(s, norm, lr): train(s, norm, lr) for s in seeds for norm in ("none", "batch") for lr in lrs}
        for (s, norm, lr), r in runs.items():
            print(f"seed {s} norm={norm:5s} lr={lr:<4} best val {r['best_val']:.3f} test {r['test_acc']:.3f}"
                  + ("  DIVERGED" if r["diverged"] else ""))
        """
    ),
    Md(
        """
        ## 效应与 95 % 区间
        - 阳性对照:学习率 1.0 上 BN − 普通的最佳验证准确率(百分点),阈值 10。
        - `q11.higher-learning-rate`:能训练(不发散且最佳验证准确率 ≥ 30 %)的最大学习率之比的 log10,阈值 0.5(网格的半个数量级)。
        - `q11.better-results`:各自在验证集上选出学习率后,BN − 普通的测试准确率,阈值 1 个百分点。
        """,
        """
        ## Effects and 95 % intervals
        - Positive control: BN minus plain best validation accuracy at learning rate 1.0 (points), margin 10.
        - `q11.higher-learning-rate`: log10 of the ratio of the largest learning rates that train (no divergence,
          best validation accuracy ≥ 30 %), margin 0.5 (half a decade, one step of the grid).
        - `q11.better-results`: test accuracy, BN minus plain, each at the learning rate chosen on validation,
          margin 1 point.
        """,
    ),
    Code(
        """
        control = stats.Control({"en": f"at lr {control_lr:g} BN trains and the plain net does not",
                                 "zh": f"学习率 {control_lr:g} 时批归一化网络能训练而普通网络不能"},
                                stats.paired([runs[s, "batch", control_lr]["best_val"] for s in seeds],
                                             [runs[s, "none", control_lr]["best_val"] for s in seeds], "points", scale=100),
                                10.0, source="Ioffe & Szegedy 2015")
        e = control.effect
        print(f"control at lr={control_lr}: BN - plain {e.mean:+.1f} points [{e.lo:+.1f}, {e.hi:+.1f}], reproduced {control.reproduced}")

        def largest(s, norm):
            ok = [lr for lr in lrs if runs[s, norm, lr]["trains"]]
            return max(ok) if ok else min(lrs) / 10 ** 0.5   # nothing trains: half a decade below the grid

        def chosen(s, norm):
            ok = [lr for lr in lrs if not runs[s, norm, lr]["diverged"]]
            return runs[s, norm, max(ok, key=lambda lr: runs[s, norm, lr]["best_val"])]

        lr_gain = stats.effect([math.log10(largest(s, "batch") / largest(s, "none")) for s in seeds], "log10")
        better = stats.paired([chosen(s, "batch")["test_acc"] for s in seeds], [chosen(s, "none")["test_acc"] for s in seeds],
                              "points", scale=100)
        for cid, eff, margin in (("q11.higher-learning-rate", lr_gain, 0.5), ("q11.better-results", better, 1.0)):
            print(f"{cid:26s} {eff.mean:+.2f} {eff.unit} [{eff.lo:+.2f}, {eff.hi:+.2f}] (n={eff.n}) -> "
                  f"{stats.decide_with_control(stats.decide(eff, margin), control)[0]}")

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for norm, color in (("none", "C0"), ("batch", "C1")):
            ax.plot(lrs, [np.mean([runs[s, norm, lr]["best_val"] for s in seeds]) for lr in lrs], "o-", color=color,
                    label="plain" if norm == "none" else "batch norm")
        ax.set_xscale("log"); ax.set_xlabel("learning rate"); ax.set_ylabel("best validation accuracy"); ax.legend()
        plt.show()
        """
    ),
]
