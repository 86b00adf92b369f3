"""Q7 notebook: dropout on an MLP that overfits MNIST-1D (Srivastava et al. 2014, JMLR 15)."""

from dlfaq.notebooks.cells import MLP_TRAIN, MNIST1D_SPLIT, Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        只有存在过拟合时才谈得上"缓解过拟合":这里用一个比数据大得多的多层感知机(2 个隐藏层、每层 128 个单元,
        约 2.3 万个权重)去拟合几百个 MNIST-1D 样本(Greydanus & Kobak 2024),用 Adam 训练,按验证集准确率早停并恢复最好的权重。
        每个种子都比较不用 dropout 和用 dropout 的同一网络;丢弃率在验证集上选,测试集只读一次。
        (`dlfaq run 7` 还扫描 150 和 1500 个训练样本,并测协同适应与模型平均;改 `n_train` 即可看其他规模。)
        """,
        """
        ## The design
        "Reducing overfitting" needs a setting that overfits: an MLP much larger than its data (2 hidden
        layers of 128 units, about 23 k weights) fitted to a few hundred MNIST-1D examples (Greydanus &
        Kobak 2024), trained with Adam, early-stopped on validation accuracy with the best weights restored.
        Each seed compares the same network without and with dropout; the rate is chosen on the validation
        split and the test split is only measured. (`dlfaq run 7` also sweeps 150 and 1,500 training examples and
        measures co-adaptation and model averaging; change `n_train` to see other sizes.)
        """,
    ),
    Sizes(
        quick=dict(seeds=[0, 1, 2, 3, 4], n_train=500, rates=[0.0, 0.2, 0.5], max_steps=4000,
                   patience_steps=200, hidden=128),
        full=dict(seeds=list(range(10)), n_train=500, rates=[0.0, 0.2, 0.35, 0.5, 0.7], max_steps=6000,
                  patience_steps=300),
        smoke=dict(seeds=[0, 1], n_train=150, max_steps=60, patience_steps=20, hidden=32),
    ),
    Md(
        """
        ## 1. 数据
        标准 MNIST-1D(4000 个训练样本、1000 个测试样本)。先按种子分出 12.5 % 的分层验证集,再从剩下的样本中抽 `n_train` 个作训练集。
        """,
        """
        ## 1. Data
        Standard MNIST-1D (4,000 training and 1,000 test examples). A stratified 12.5 % validation split is
        carved out per seed, then `n_train` training examples are drawn from the rest.
        """,
    ),
    MNIST1D_SPLIT,
    Code(
        """
        d = split(0, n_train)
        print({k: tuple(v.shape) for k, v in d.items()})
        """
    ),
    Md(
        """
        ## 2. 模型与训练
        `dlfaq.nn.MLP(dropout=p)` 在每个隐藏层的激活之后做(反向缩放的)dropout;`dlfaq.train.loop.fit` 训练,
        `EarlyStopping(mode="max")` 盯着验证集准确率,停下时恢复最好的权重。
        """,
        """
        ## 2. Model and training
        `dlfaq.nn.MLP(dropout=p)` applies (inverted) dropout after each hidden activation;
        `dlfaq.train.loop.fit` trains it and `EarlyStopping(mode="max")` watches validation accuracy,
        restoring the best weights when it stops.
        """,
    ),
    MLP_TRAIN,
    Code(
        """
        runs = {(s, p): train(s, n_train, hidden=hidden, p=p) for s in seeds for p in rates}
        for (s, p), r in runs.items():
            print(f"seed {s}  p={p:<4}  train {r['train_acc']:.3f}  val {r['val_acc']:.3f}  "
                  f"test {r['test_acc']:.3f}  steps to best {r['steps_to_best']}")
        """
    ),
    Md(
        """
        ## 3. 效应与 95 % 区间
        每个种子在验证集上选丢弃率(并列时取较小的),效应 = 选出的丢弃率的测试准确率 − 不用 dropout 的测试准确率(百分点);
        第二部分是训练−测试准确率之差缩小了多少。`stats.effect` 给出均值和 t 区间,`stats.decide` 按事先定的 1 个百分点阈值下结论。
        阳性对照(Srivastava et al. 2014):p = 0.5 本身应当提高测试准确率。
        """,
        """
        ## 3. Effect and 95 % interval
        Each seed picks its rate on validation (ties go to the smaller rate); the effect is the chosen rate's
        test accuracy minus no dropout's, in points; the second part is how much of the train-minus-test gap
        it removes. `stats.effect` gives the mean and t interval, `stats.decide` the verdict against the
        1-point margin fixed beforehand. Positive control (Srivastava et al. 2014): p = 0.5 itself should
        raise test accuracy.
        """,
    ),
    Code(
        """
        MARGIN = 1.0  # points: the smallest accuracy change worth adding a regularizer for
        chosen = {s: max(rates, key=lambda p: (runs[s, p]["val_acc"], -p)) for s in seeds}
        gap = lambda r: 100 * (r["train_acc"] - r["test_acc"])

        gain = stats.paired([runs[s, chosen[s]]["test_acc"] for s in seeds],
                            [runs[s, 0.0]["test_acc"] for s in seeds], "points", scale=100)
        gap_removed = stats.effect([gap(runs[s, 0.0]) - gap(runs[s, chosen[s]]) for s in seeds], "points")
        control = stats.Control({"en": "p = 0.5 raises test accuracy", "zh": "p = 0.5 提高测试准确率"},
                                stats.paired([runs[s, 0.5]["test_acc"] for s in seeds],
                                             [runs[s, 0.0]["test_acc"] for s in seeds], "points", scale=100),
                                MARGIN, source="Srivastava et al. 2014")
        parts = [stats.decide(gain, MARGIN), stats.decide(gap_removed, MARGIN)]
        verdict, control_failed = stats.decide_with_control(stats.combine(parts), control)

        print("chosen rates:", chosen)
        for name, e in [("control: p=0.5 gain", control.effect), ("test-accuracy gain", gain),
                        ("gap removed", gap_removed)]:
            print(f"{name:22s} effect {e.mean:+.2f} points, 95% CI [{e.lo:+.2f}, {e.hi:+.2f}] (n={e.n})")
        print("q07.reduces-overfitting:", verdict, "(control failed)" if control_failed else "")
        """
    ),
    Md(
        """
        ## 4. 训练是否更久
        论断"用 dropout 训练更久":p = 0.5 与 p = 0 到达早停最优点所需步数之比的 log2(数步数,不计时),阈值 log2(1.25)。
        """,
        """
        ## 4. Does training take longer?
        The claim "dropout makes training take longer": log2 of the optimizer steps to the early-stopping
        optimum with p = 0.5 over p = 0 (steps are counted, never timed); margin log2(1.25).
        """,
    ),
    Code(
        """
        longer = stats.effect([math.log2(runs[s, 0.5]["steps_to_best"] / runs[s, 0.0]["steps_to_best"])
                               for s in seeds], "log2")
        print(f"log2 steps ratio {longer.mean:+.2f}, 95% CI [{longer.lo:+.2f}, {longer.hi:+.2f}] ->",
              stats.decide(longer, math.log2(1.25)))
        """
    ),
    Md(
        """
        ## 5. 图
        各种子的验证准确率曲线(实线 p = 0,虚线 p = 0.5)。
        """,
        """
        ## 5. Plot
        Validation-accuracy curves per seed (solid p = 0, dashed p = 0.5).
        """,
    ),
    Code(
        """
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for s in seeds:
            for p, ls in ((0.0, "-"), (0.5, "--")):
                c = runs[s, p]["curve"]
                ax.plot(np.arange(1, len(c) + 1) * math.ceil(n_train / 100), c, ls, color=f"C{s % 10}", lw=1)
        ax.set_xlabel("optimizer steps"); ax.set_ylabel("validation accuracy")
        ax.set_title(f"MLP on {n_train} MNIST-1D examples: p=0 (solid) vs p=0.5 (dashed)")
        plt.show()
        """
    ),
]
