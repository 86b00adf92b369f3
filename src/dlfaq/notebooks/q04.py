"""Q4 notebook: an RNN's hidden state, checked against torch.nn.RNN, and gradient decay over time."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        两个精确检验(逐步公式对 torch 的融合 RNN;共享权重的梯度等于各时间步梯度之和)和一个测量:
        在若干独立的随机初始化下,h_T 上的损失的梯度传回 h_1 时缩小了多少个数量级。不做训练。
        """,
        """
        ## The design
        Two exact checks (the step formula against torch's fused RNN; the shared weights' gradient as the sum of
        per-step gradients) and one measurement over independent random initialisations: by how many decades
        the gradient of a loss on h_T shrinks on its way back to h_1. Nothing is trained.
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], steps=100, hidden=64), full=dict(seeds=list(range(10))),
          smoke=dict(seeds=[0, 1], steps=20)),
    Md(
        """
        ## 1. h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
        手写的公式和 dlfaq 的 `RNNCell` 都与 `torch.nn.RNN` 比较(float32,容差 1e-5:最多百步累加后的几个 ulp)。
        """,
        """
        ## 1. h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
        The hand-written formula and dlfaq's `RNNCell` against `torch.nn.RNN` (float32, tolerance 1e-5: a few
        ulps after up to a hundred steps of accumulation).
        """,
    ),
    Code(
        """
        from dlfaq.nn import RNNCell

        torch.manual_seed(0)
        rnn = torch.nn.RNN(8, hidden)
        x, h0 = torch.randn(30, 4, 8), torch.randn(1, 4, hidden)
        with torch.no_grad():
            ref, _ = rnn(x, h0)
            cell = RNNCell(8, hidden)
            cell.load_state_dict({k.replace("_l0", ""): v for k, v in rnn.state_dict().items()})
            h, hc, manual, via_cell = h0[0], h0[0], [], []
            for t in range(len(x)):
                h = torch.tanh(x[t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
                hc = cell(x[t], hc)
                manual.append(h); via_cell.append(hc)
        d1 = float((torch.stack(manual) - ref).abs().max()); d2 = float((torch.stack(via_cell) - ref).abs().max())
        print(f"max |formula - torch| = {d1:.1e}, max |RNNCell - torch| = {d2:.1e}")
        print("q04.hidden-state-formula:", "supported" if max(d1, d2) <= 1e-5 else "contradicted")
        """
    ),
    Md(
        """
        ## 2. 权重在时间上共享
        给每个时间步一份 W_hh 的副本,把副本的梯度相加,应当等于 torch 对共享 W_hh 的梯度(float64,容差 1e-9)。
        """,
        """
        ## 2. Weights shared over time
        Giving each time step its own copy of W_hh and summing the copies' gradients must reproduce torch's
        gradient of the shared W_hh (float64, tolerance 1e-9).
        """,
    ),
    Code(
        """
        torch.manual_seed(0)
        T, H = 30, 16
        rnn = torch.nn.RNN(5, H).double()
        x, target, hinit = torch.randn(T, 4, 5).double(), torch.randn(T, 4, H).double(), torch.randn(1, 4, H).double()
        out, _ = rnn(x, hinit)
        ((out - target) ** 2).sum().backward()
        copies = [rnn.weight_hh_l0.detach().clone().requires_grad_(True) for _ in range(T)]
        h, loss = hinit[0], 0.0
        for t in range(T):
            h = torch.tanh(x[t] @ rnn.weight_ih_l0.detach().T + rnn.bias_ih_l0.detach() + h @ copies[t].T
                           + rnn.bias_hh_l0.detach())
            loss = loss + ((h - target[t]) ** 2).sum()
        loss.backward()
        diff = float((torch.stack([c.grad for c in copies]).sum(0) - rnn.weight_hh_l0.grad).abs().max())
        print(f"max |sum of per-step gradients - torch's| = {diff:.1e}")
        print("q04.weights-shared-over-time:", "supported" if diff <= 1e-9 else "contradicted")
        """
    ),
    Md(
        """
        ## 3. 梯度随时间衰减
        每个种子一个随机初始化(torch 默认的 U(±1/√H));效应 = log10 ‖∂L/∂h_T‖ − log10 ‖∂L/∂h_1‖(数量级,正值表示往回变小),
        阈值 1 个数量级;远端那一半距离单独要求 0.5。谱半径放大到 1.5 的 W_hh 只作对照。
        """,
        """
        ## 3. The gradient over time
        One random initialisation per seed (torch's default U(±1/√H)); the effect is log10 ‖∂L/∂h_T‖ −
        log10 ‖∂L/∂h_1‖ in decades (positive = shrinking going back), margin one decade; the far half of the
        distance alone must lose 0.5. A W_hh rescaled to spectral radius 1.5 is shown for contrast only.
        """,
    ),
    Code(
        """
        def profile(seed, radius=None):
            torch.manual_seed(seed)
            cell = RNNCell(8, hidden).double()
            if radius is not None:
                with torch.no_grad():
                    cell.weight_hh.mul_(radius / torch.linalg.eigvals(cell.weight_hh).abs().max())
            g = torch.Generator().manual_seed(seed)
            xs = torch.randn(steps, 16, 8, generator=g, dtype=torch.float64)
            w = torch.randn(16, hidden, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
            h, hs = torch.zeros(16, hidden, dtype=torch.float64), []
            for t in range(steps):
                h = cell(xs[t], h); h.retain_grad(); hs.append(h)
            (hs[-1] * w).sum().backward()
            return np.array([float(hh.grad.norm()) for hh in hs])

        curves = {"default": [profile(s) for s in seeds], "radius 1.5": [profile(s, 1.5) for s in seeds]}
        half = steps // 2
        whole = stats.effect([math.log10(c[-1] / c[0]) for c in curves["default"]], "log10")
        far = stats.effect([math.log10(c[half] / c[0]) for c in curves["default"]], "log10")
        verdict = stats.combine([stats.decide(whole, 1.0), stats.decide(far, 0.5)])
        for name, e in (("whole span", whole), ("far half", far)):
            print(f"{name}: {e.mean:+.2f} decades, 95% CI [{e.lo:+.2f}, {e.hi:+.2f}] (n={e.n})")
        print("radius 1.5 (contrast):", np.mean([math.log10(c[-1] / c[0]) for c in curves["radius 1.5"]]).round(2), "decades")
        print("q04.gradient-shrinks-over-time:", verdict)

        fig, ax = plt.subplots(figsize=(6, 3.5))
        dist = steps - 1 - np.arange(steps)
        for label, color in (("default", "C0"), ("radius 1.5", "C3")):
            for j, c in enumerate(curves[label]):
                ax.semilogy(dist, c, color=color, alpha=0.5, label=label if j == 0 else None)
        ax.set_xlabel("distance T - t"); ax.set_ylabel("||dL/dh_t||"); ax.legend(); plt.show()
        """
    ),
]
