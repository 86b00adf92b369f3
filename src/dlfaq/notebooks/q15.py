"""Q15 notebook: remedies for overfitting on Q7's MLP that overfits MNIST-1D."""

from dlfaq.notebooks.cells import MLP_TRAIN, MNIST1D_SPLIT, Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        与 Q7 相同的过拟合设定:2×128 的 ReLU 多层感知机、500 个 MNIST-1D 训练样本,Adam 训练,按验证集准确率早停。
        每种手段(更多数据、更小的网络、L2、L1、dropout)的强度在验证集上选,然后和不加手段的同一网络逐种子比较两件事:
        测试准确率的提升,以及训练−测试准确率之差的缩小(百分点,阈值 1)。阳性对照:基础网络确实过拟合(差距 ≥ 10 点)。
        """,
        """
        ## The design
        Q7's overfitting setting: a 2×128 ReLU MLP on 500 MNIST-1D training examples, Adam, early-stopped on
        validation accuracy. Each remedy's strength (more data, a smaller net, L2, L1, dropout) is chosen on
        validation; it is then compared seed by seed with the plain net on two things: the test-accuracy
        gain and the shrinking of the train-minus-test gap (points, margin 1). Positive control: the plain
        net does overfit (a gap of at least 10 points).
        """,
    ),
    Sizes(
        quick=dict(seeds=[0, 1, 2, 3, 4], n_base=500, n_more=1500, max_steps=4000, patience_steps=200,
                   grids={"width": [16, 32], "l2": [1e-3, 1e-2], "l1": [1e-4, 1e-3], "dropout": [0.2, 0.5]}),
        full=dict(seeds=list(range(10)), max_steps=6000, patience_steps=300,
                  grids={"width": [8, 16, 32, 64], "l2": [1e-3, 3e-3, 1e-2, 3e-2],
                         "l1": [3e-5, 1e-4, 3e-4, 1e-3], "dropout": [0.2, 0.35, 0.5, 0.7]}),
        smoke=dict(seeds=[0, 1], n_base=100, n_more=300, max_steps=40, patience_steps=20,
                   grids={"width": [8], "l2": [1e-2], "l1": [1e-3], "dropout": [0.5]}),
    ),
    Md(
        """
        ## 1. 数据与训练函数
        验证集按种子分层抽取,训练集从剩下的样本中抽;`penalty` 是 `dlfaq.train.regularization` 的 L1/L2 罚项(不罚偏置)。
        """,
        """
        ## 1. Data and the training function
        A stratified validation split per seed, the training subset drawn from the rest; `penalty` is an L1/L2
        penalty from `dlfaq.train.regularization` (biases are not penalized).
        """,
    ),
    MNIST1D_SPLIT,
    MLP_TRAIN,
    Code(
        """
        import functools
        from dlfaq.train.regularization import l1_penalty, l2_penalty

        def remedy(kind, v):
            if kind == "width":
                return dict(hidden=int(v))
            if kind == "l2":
                return dict(penalty=functools.partial(l2_penalty, weight=v))
            if kind == "l1":
                return dict(penalty=functools.partial(l1_penalty, weight=v))
            return dict(p=v)
        """
    ),
    Md(
        """
        ## 2. 训练所有配置
        """,
        """
        ## 2. Train every configuration
        """,
    ),
    Code(
        """
        runs = {}
        for s in seeds:
            runs[s, "base"] = train(s, n_base)
            runs[s, "more-data"] = train(s, n_more)
            for kind, values in grids.items():
                for v in values:
                    runs[s, f"{kind}={v:g}"] = train(s, n_base, **remedy(kind, v))
        for (s, c), r in runs.items():
            print(f"seed {s} {c:14s} train {r['train_acc']:.3f} val {r['val_acc']:.3f} test {r['test_acc']:.3f}")
        """
    ),
    Md(
        """
        ## 3. 效应与 95 % 区间
        每种手段每个种子取验证集上最好的强度;`stats.paired` 给出相对基础网络的测试准确率提升(百分点)及其 t 区间。
        """,
        """
        ## 3. Effects and 95 % intervals
        For each remedy and seed the strength with the best validation accuracy is kept; `stats.paired` gives
        the test-accuracy gain over the plain net (points) with its t interval.
        """,
    ),
    Code(
        """
        MARGIN = 1.0
        gap = lambda r: 100 * (r["train_acc"] - r["test_acc"])
        control = stats.Control({"en": "the plain net overfits", "zh": "基础网络过拟合"},
                                stats.effect([gap(runs[s, "base"]) for s in seeds], "points"), 10.0)
        print(f"control: train-test gap of the plain net {control.effect.mean:.1f} points, "
              f"95% CI [{control.effect.lo:.1f}, {control.effect.hi:.1f}], reproduced: {control.reproduced}")

        def best(kind, s):
            if kind == "more-data":
                return runs[s, "more-data"]
            return max((runs[s, f"{kind}={v:g}"] for v in grids[kind]), key=lambda r: r["val_acc"])

        CLAIMS = {"more-data": "q15.more-data", "width": "q15.smaller-network", "l2": "q15.l2-regularization",
                  "l1": "q15.l1-regularization", "dropout": "q15.dropout"}
        results = {}
        for kind in ["more-data", *grids]:
            gain = stats.paired([best(kind, s)["test_acc"] for s in seeds],
                                [runs[s, "base"]["test_acc"] for s in seeds], "points", scale=100)
            shrink = stats.effect([gap(runs[s, "base"]) - gap(best(kind, s)) for s in seeds], "points")
            verdict, failed = stats.decide_with_control(
                stats.combine([stats.decide(gain, MARGIN), stats.decide(shrink, MARGIN)]), control)
            results[kind] = (gain, shrink)
            print(f"{CLAIMS[kind]:22s} {kind:10s} test gain {gain.mean:+5.2f} [{gain.lo:+5.2f}, {gain.hi:+5.2f}]   "
                  f"gap shrink {shrink.mean:+5.2f} [{shrink.lo:+5.2f}, {shrink.hi:+5.2f}] (n={gain.n}) -> {verdict}")
        """
    ),
    Code(
        """
        fig, ax = plt.subplots(figsize=(6, 3))
        names = list(results)
        for i, k in enumerate(names):
            for j, (e, lab) in enumerate(zip(results[k], ("test gain", "gap shrink"))):
                ax.errorbar(e.mean, i + 0.15 * (2 * j - 1), xerr=[[e.mean - e.lo], [e.hi - e.mean]], fmt="o",
                            color=f"C{j}", label=lab if i == 0 else None)
        ax.axvline(0, color="k", lw=0.8); ax.axvline(MARGIN, color="gray", ls=":")
        ax.set_yticks(range(len(names)), names); ax.set_xlabel("points (95% CI)"); ax.legend()
        plt.show()
        """
    ),
]
