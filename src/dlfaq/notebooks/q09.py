"""Q9 notebook: what is stochastic in SGD, measured on MNIST-1D."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        初始化固定时,`dlfaq.train.loop.fit` 唯一的随机输入是它抽取样本的顺序:固定顺序,两次运行必须逐位相同;改变顺序,权重必须改变
        (精确检验,反驳页面"随机性不是随机抽样"的说法)。然后用逐样本梯度测小批量梯度围绕全梯度的方差,与抽样公式
        σ²/B · (N−B)/(N−1) 比较;最后看单步 SGD 的全训练损失:有噪声,但整体下降。
        """,
        """
        ## The design
        With the initialization fixed, the only random input of `dlfaq.train.loop.fit` is the order in which it
        samples the examples: fixing it must make two runs bit-identical, changing it must change the weights
        (an exact check against the page's "the randomness is not random sampling"). Then the variance of the
        mini-batch gradient around the full gradient, from per-example gradients, against the sampling formula
        σ²/B · (N−B)/(N−1); finally the full training loss along single SGD steps: noisy, yet descending.
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], n=1000, batch_sizes=[8, 32, 128], steps=300, lr=0.1),
          full=dict(seeds=list(range(10)), n=4000, steps=1000), smoke=dict(seeds=[0, 1], n=200, steps=20)),
    Code(
        """
        import torch.nn.functional as F
        from dlfaq.data import mnist1d
        from dlfaq.nn import MLP
        from dlfaq.train.loop import fit

        sp = mnist1d()
        X, y = torch.as_tensor(sp.X_train[:n]), torch.as_tensor(sp.y_train[:n])
        def net(init_seed=0):
            torch.manual_seed(init_seed)
            return MLP(40, 10, hidden=64, depth=2)
        flat = lambda m: torch.cat([p.detach().flatten() for p in m.parameters()])
        """
    ),
    Md(
        """
        ## 1. 随机性就是抽样顺序(精确检验)
        """,
        """
        ## 1. The randomness is the sampling order (exact check)
        """,
    ),
    Code(
        """
        a, b, c = net(), net(), net()
        for m, order_seed in ((a, 1), (b, 1), (c, 2)):
            fit(m, (X, y), epochs=2, lr=lr, batch_size=32, seed=order_seed)
        same, differ = torch.equal(flat(a), flat(b)), not torch.equal(flat(a), flat(c))
        print(f"same init, same order: bit-identical {same}; same init, other order: weights differ {differ}")
        print("q09.randomness-not-sampling:", "contradicted" if same and differ else "supported",
              "(the page's claim; the randomness is the sampling)")
        """
    ),
    Md(
        """
        ## 2. 小批量梯度的方差对抽样公式
        不放回抽取 B 个样本时,小批量梯度均值的方差是 σ²/B · (N−B)/(N−1),σ² 是逐样本梯度的方差(迹)。
        """,
        """
        ## 2. Mini-batch gradient variance against the sampling formula
        Drawing B examples without replacement, the variance of the mini-batch mean gradient is
        σ²/B · (N−B)/(N−1), σ² being the variance (trace) of the per-example gradients.
        """,
    ),
    Code(
        """
        from torch.func import functional_call, grad, vmap
        model = net()
        params = {k: v.detach() for k, v in model.named_parameters()}
        loss1 = lambda p, xi, yi: F.cross_entropy(functional_call(model, p, (xi[None],)), yi[None])
        G = vmap(grad(loss1), in_dims=(None, 0, 0))(params, X, y)
        G = torch.cat([g.flatten(1) for g in G.values()], 1)          # (n, n_params)
        full = G.mean(0); sigma2 = float(((G - full) ** 2).sum(1).mean())
        rng = np.random.default_rng(0)
        for B in batch_sizes:
            draws = [float(((G[rng.choice(n, B, replace=False)].mean(0) - full) ** 2).sum()) for _ in range(300)]
            formula = sigma2 / B * (n - B) / (n - 1)
            print(f"B={B:4d}: measured variance {np.mean(draws):.4g}, formula {formula:.4g}, ratio {np.mean(draws) / formula:.3f}")
        """
    ),
    Md(
        """
        ## 3. 有噪声但整体下降
        单步 SGD 后测全训练损失:一部分步是上升的,但多步之后下降。每个种子两部分:使全损失上升的步数百分比(阈值 1 %)和整段的下降百分比(阈值 10 %)。
        """,
        """
        ## 3. Noisy, yet descending
        The full training loss after every single SGD step: some steps go uphill, yet over many steps it falls.
        Two parts per seed: the percentage of steps that raise the full loss (margin 1 %) and its fall over the
        window in percent (margin 10 %).
        """,
    ),
    Code(
        """
        falls, uphill, curves = [], [], []
        for s in seeds:
            m = net(s); opt = torch.optim.SGD(m.parameters(), lr=lr)
            g = torch.Generator().manual_seed(s)
            with torch.no_grad():
                losses = [float(F.cross_entropy(m(X), y))]
            for _ in range(steps):
                idx = torch.randint(0, n, (32,), generator=g)
                opt.zero_grad(); F.cross_entropy(m(X[idx]), y[idx]).backward(); opt.step()
                with torch.no_grad():
                    losses.append(float(F.cross_entropy(m(X), y)))
            curves.append(losses)
            falls.append(100 * (losses[0] - losses[-1]) / losses[0])                    # percent
            uphill.append(100 * float(np.mean(np.diff(losses) > 1e-7 * losses[0])))  # percent, beyond rounding
        up, fall = stats.effect(uphill, "%"), stats.effect(falls, "%")
        print(f"steps that raised the full loss: {up.mean:.1f} % [{up.lo:.1f}, {up.hi:.1f}]; "
              f"fall over {steps} steps: {fall.mean:.1f} % [{fall.lo:.1f}, {fall.hi:.1f}] (n={up.n})")
        # the experiment's margins: more than a stray 1 % of steps uphill; a fall of at least a tenth
        print("q09.noisy-but-descends:", stats.combine([stats.decide(up, 1.0), stats.decide(fall, 10.0)]))
        fig, ax = plt.subplots(figsize=(6, 3))
        for c in curves:
            ax.plot(c, lw=0.8)
        ax.set_xlabel("SGD step (B=32)"); ax.set_ylabel("full training loss"); plt.show()
        """
    ),
]
