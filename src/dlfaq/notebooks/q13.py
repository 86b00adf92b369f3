"""Q13 notebook: the LSTM cell diagram as equations, checked against torch.nn.LSTM."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        图中的每个门都是一个作用在拼接 [h_{t−1}, x_t] 上的权重矩阵加 sigmoid(或 tanh)。两个精确检验:
        按图写出的方程复现 `torch.nn.LSTM`;细胞状态那条线上只有逐元素运算,即 ∂c_t/∂c_{t−1} = diag(f_t)。
        """,
        """
        ## The design
        In the diagram each gate is one weight matrix acting on the concatenation [h_{t−1}, x_t], followed by a
        sigmoid (or tanh). Two exact checks: the diagram's equations reproduce `torch.nn.LSTM`; the cell-state
        line has only elementwise operations, i.e. ∂c_t/∂c_{t−1} = diag(f_t).
        """,
    ),
    Sizes(quick=dict(configs=[(4, 8, 10, 3), (16, 32, 40, 8), (1, 3, 5, 1), (32, 64, 25, 16)], H=16),
          full=dict(configs=[(4, 8, 10, 3), (16, 32, 40, 8), (1, 3, 5, 1), (32, 64, 25, 16), (64, 128, 60, 32)], H=32),
          smoke=dict(configs=[(4, 8, 5, 2)], H=6)),
    Md(
        """
        ## 1. 图中的方程对 torch.nn.LSTM(float32,容差 1e-5)
        """,
        """
        ## 1. The diagram's equations against torch.nn.LSTM (float32, tolerance 1e-5)
        """,
    ),
    Code(
        """
        gen = torch.Generator().manual_seed(0)
        worst = 0.0
        for n_in, Hc, T, B in configs:
            torch.manual_seed(Hc)
            lstm = torch.nn.LSTM(n_in, Hc)
            x = torch.randn(T, B, n_in, generator=gen)
            h0, c0 = torch.randn(1, B, Hc, generator=gen), torch.randn(1, B, Hc, generator=gen)
            with torch.no_grad():
                ref, (_, c_ref) = lstm(x, (h0, c0))
                Wcat = torch.cat([lstm.weight_hh_l0, lstm.weight_ih_l0], dim=1)   # W_gate = [W_h | W_x]
                W = dict(zip("ifgo", Wcat.chunk(4, 0)))
                bb = dict(zip("ifgo", (lstm.bias_ih_l0 + lstm.bias_hh_l0).chunk(4, 0)))
                h, c, outs = h0[0], c0[0], []
                for t in range(T):
                    hx = torch.cat([h, x[t]], dim=1)
                    i, f = torch.sigmoid(hx @ W["i"].T + bb["i"]), torch.sigmoid(hx @ W["f"].T + bb["f"])
                    g, o = torch.tanh(hx @ W["g"].T + bb["g"]), torch.sigmoid(hx @ W["o"].T + bb["o"])
                    c = f * c + i * g
                    h = o * torch.tanh(c)
                    outs.append(h)
            d = max(float((torch.stack(outs) - ref).abs().max()), float((c - c_ref[0]).abs().max()))
            worst = max(worst, d)
            print(f"input {n_in:2d} hidden {Hc:3d} steps {T:2d} batch {B:2d}: max |diagram - torch| = {d:.1e}")
        print("q13.diagram-equations:", "supported" if worst <= 1e-5 else "contradicted")
        """
    ),
    Md(
        """
        ## 2. 细胞状态线是逐元素的
        用 `torch.autograd.functional.jacobian` 求一步的雅可比:∂c_t/∂c_{t−1} 应当正好是 diag(f_t)(float64),
        而 ∂h_t/∂h_{t−1} 是满矩阵(对照)。
        """,
        """
        ## 2. The cell-state line is elementwise
        The one-step Jacobians by `torch.autograd.functional.jacobian`: ∂c_t/∂c_{t−1} must be exactly diag(f_t)
        (float64), while ∂h_t/∂h_{t−1} is a full matrix (for contrast).
        """,
    ),
    Code(
        """
        from dlfaq.nn import LSTMCell

        torch.manual_seed(0)
        cell = LSTMCell(5, H).double()
        x = torch.randn(1, 5, dtype=torch.float64)
        h_prev, c_prev = torch.randn(1, H, dtype=torch.float64), torch.randn(1, H, dtype=torch.float64)
        _, gates = cell(x, (h_prev, c_prev), return_gates=True)
        jac_c = torch.autograd.functional.jacobian(lambda cc: cell(x, (h_prev, cc))[1], c_prev).reshape(H, H)
        jac_h = torch.autograd.functional.jacobian(lambda hh: cell(x, (hh, c_prev))[0], h_prev).reshape(H, H)
        diag_err = float((jac_c - torch.diag(gates.f[0].detach())).abs().max())
        off_h = float((jac_h - torch.diag(torch.diagonal(jac_h))).abs().sum() / jac_h.abs().sum())
        print(f"max |dc_t/dc_(t-1) - diag(f_t)| = {diag_err:.1e}; off-diagonal share of dh_t/dh_(t-1) = {off_h:.2f}")
        print("q13.cell-line-elementwise:", "supported" if diag_err <= 1e-12 else "contradicted")

        fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
        for ax, m, t in zip(axes, (jac_c, jac_h), ("dc_t/dc_(t-1)", "dh_t/dh_(t-1)")):
            ax.imshow(m.abs().detach().numpy(), cmap="viridis"); ax.set_title(t); ax.set_xticks([]); ax.set_yticks([])
        plt.show()
        """
    ),
]
