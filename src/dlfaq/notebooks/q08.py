"""Q8 notebook: where vanishing and exploding gradients come from (gradient flow at initialization)."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        初始化时,20 层多层感知机在一批 MNIST-1D 上逐层反向传播的梯度。衰减量 A = log10(|∂L/∂h_L| / |∂L/∂h_1|)
        (最后一个和第一个隐藏层之间丢掉的数量级,正值 = 向输入方向消失),每个种子测一次(随机初始化就是噪声)。
        比较 sigmoid(默认初始化)、ReLU + He 初始化、加批归一化、加残差连接,以及过大的初始化(ReLU,g = 2.5)。另有精确检验:sigmoid 的导数不超过 1/4,tanh 的不超过 1。
        (完整实验还有梯度裁剪和 RNN 对 LSTM 两部分,见 `dlfaq run 8`。)
        """,
        """
        ## The design
        At initialization, the back-propagated gradient of 20-layer MLPs on an MNIST-1D batch, layer by layer.
        The attenuation A = log10(|∂L/∂h_L| / |∂L/∂h_1|) (decades lost between the last and the first hidden
        layer; positive = vanishing towards the input) is measured once per seed (the random initialization is
        the noise), for sigmoid (default init), ReLU + He init, with batch norm, with residual connections, and
        with too large an init (ReLU, g = 2.5).
        Exact checks: sigmoid's derivative is at most 1/4, tanh's at most 1. (The full experiment also has
        gradient clipping and RNN vs LSTM parts: `dlfaq run 8`.)
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], depth=20, width=64, batch=256), full=dict(seeds=list(range(10))),
          smoke=dict(seeds=[0, 1], depth=6, batch=32)),
    Md(
        """
        ## 1. 导数的上界(精确检验,float64 网格)
        """,
        """
        ## 1. Derivative bounds (exact check on a float64 grid)
        """,
    ),
    Code(
        """
        z = torch.linspace(-30, 30, 600_001, dtype=torch.float64)
        ds = torch.sigmoid(z) * (1 - torch.sigmoid(z)); dt = 1 - torch.tanh(z) ** 2
        print(f"max sigmoid'(z) = {float(ds.max()):.6f} (bound 0.25); max tanh'(z) = {float(dt.max()):.6f} (bound 1)")
        print("0.25 ** 20 =", 0.25 ** 20, "- the most a chain of 20 sigmoid derivatives can pass back")
        """
    ),
    Md(
        """
        ## 2. 初始化时的梯度流
        用前向钩子保留每个隐藏层输出 h_l 的梯度,一次反向传播就得到 |∂L/∂h_l|。
        """,
        """
        ## 2. Gradient flow at initialization
        A forward hook keeps the gradient of each hidden layer's output h_l, so one backward pass gives
        |∂L/∂h_l|.
        """,
    ),
    Code(
        """
        import torch.nn.functional as F
        from dlfaq.data import mnist1d
        from dlfaq.nn import MLP

        sp = mnist1d()
        X, y = torch.as_tensor(sp.X_train[:batch]), torch.as_tensor(sp.y_train[:batch])
        CONFIGS = {"sigmoid": dict(activation="sigmoid"),
                   "relu + He": dict(activation="relu", init="he"),
                   "sigmoid + batch norm": dict(activation="sigmoid", norm="batch"),
                   "sigmoid + residual": dict(activation="sigmoid", residual=True),
                   # weights N(0, g^2/fan_in) with g = 2.5, against He's g = sqrt(2): too large an init
                   "relu, g = 2.5": dict(activation="relu", init="scaled", init_gain=2.5)}

        def layer_grads(seed, **kw):
            torch.manual_seed(seed)
            net = MLP(40, 10, hidden=width, depth=depth, **kw)
            outs = []

            def keep(module, inputs, output):
                output.retain_grad()
                outs.append(output)

            hooks = [layer.register_forward_hook(keep) for layer in net.layers]
            F.cross_entropy(net(X), y).backward()
            for h in hooks:
                h.remove()
            return np.array([float(o.grad.norm()) for o in outs])

        profiles = {name: [layer_grads(s, **kw) for s in seeds] for name, kw in CONFIGS.items()}
        A = {name: stats.effect([math.log10(g[-1] / g[0]) for g in gs], "log10") for name, gs in profiles.items()}
        for name, e in A.items():
            print(f"{name:22s} A = {e.mean:+6.2f} decades, 95% CI [{e.lo:+6.2f}, {e.hi:+6.2f}] (n={e.n})")
        """
    ),
    Md(
        """
        ## 3. 效应与结论
        "sigmoid 使深层网络的梯度消失":A(sigmoid) 的区间在 0 之上且至少 1 个数量级。"ReLU/He 初始化、批归一化、残差能缓解":
        逐种子比较 A(sigmoid) − A(方法),阈值 1 个数量级。"初始化过大会爆炸":A(He) − A(g = 2.5)。这些只是完整实验中各论断的一部分(完整实验判为 partly 的论断还有别的部分)。
        """,
        """
        ## 3. Effects and verdicts
        "Sigmoid makes gradients vanish in deep nets": A(sigmoid) above 0 by at least one decade. "ReLU / He
        init, batch norm and residual connections help": A(sigmoid) − A(remedy) seed by seed, margin one decade.
        "Too large an init explodes": A(He) − A(g = 2.5). These are single parts of the full experiment's claims
        (which have further parts; several come out partly there).
        """,
    ),
    Code(
        """
        att = {name: [math.log10(g[-1] / g[0]) for g in gs] for name, gs in profiles.items()}
        print("sigmoid vanishes (A at least one decade):", stats.decide(A["sigmoid"], 1.0))
        print("q08.sigmoid-derivative-bound:", "supported" if float(ds.max()) <= 0.25 else "contradicted")
        for name, cid in (("relu + He", "q08.relu-family-fixes"), ("sigmoid + batch norm", "q08.batchnorm-fixes"),
                          ("sigmoid + residual", "q08.residual-fixes")):
            e = stats.paired(att["sigmoid"], att[name], "log10")
            print(f"{cid} (one of its parts): {name} removes {e.mean:+.2f} decades [{e.lo:+.2f}, {e.hi:+.2f}] -> "
                  f"{stats.decide(e, 1.0)}")
        grow = stats.paired(att["relu + He"], att["relu, g = 2.5"], "log10")   # growth = -A, big init minus He
        print(f"q08.exploding-large-init (one of its parts): g = 2.5 grows {grow.mean:+.2f} decades more than He "
              f"[{grow.lo:+.2f}, {grow.hi:+.2f}] -> {stats.decide(grow, 1.0)}")

        fig, ax = plt.subplots(figsize=(6, 3.5))
        for k, (name, gs) in enumerate(profiles.items()):
            for j, g in enumerate(gs):
                ax.semilogy(range(1, depth + 1), g, color=f"C{k}", alpha=0.6, label=name if j == 0 else None)
        ax.set_xlabel("hidden layer l"); ax.set_ylabel("|dL/dh_l|"); ax.legend(fontsize=8); plt.show()
        """
    ),
]
