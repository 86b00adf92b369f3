"""Q10 notebook: what each member of the RNN dropout family drops, checked exactly on dlfaq.nn."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        页面的每个论断都是一个定义(丢掉什么、哪个掩码在时间上共享、保留什么),所以每个结论都是检验:在训练模式下运行正则化器,
        输入构造得能把掩码读回来,再判断性质是否成立。掩码比例是随机的:比例落在 p 的 5 个二项标准差以内就算"等于 p"
        (对正确的实现,误判概率低于 1e-6);抽样有种子,每次结果相同。
        """,
        """
        ## The design
        Every claim of the page is a definition (what is zeroed, which mask is shared over time, what is kept),
        so every verdict is a check: the regularizer runs in training mode on inputs built so that its mask can
        be read back, and the property is decided from what comes out. Mask rates are random: a rate "matches
        p" when it lies within 5 binomial standard deviations of p (a false failure has probability below 1e-6
        for a correct implementation); the draws are seeded, so every run gives the same outcome.
        """,
    ),
    Sizes(quick=dict(p=0.3, T=20, B=64, H=32), full=dict(B=256), smoke=dict(B=16)),
    Code(
        """
        from dlfaq.nn import LSTM, DropConnectLinear, LockedDropout
        torch.manual_seed(0)

        def rate_ok(fraction, p, n, sigmas=5):
            return abs(fraction - p) <= sigmas * math.sqrt(p * (1 - p) / n)

        verdict = lambda ok: "supported" if ok else "contradicted"
        """
    ),
    Md(
        """
        ## 1. Dropout 去掉单元;DropConnect 去掉权重
        """,
        """
        ## 1. Dropout removes units; DropConnect removes weights
        """,
    ),
    Code(
        """
        drop = torch.nn.Dropout(p)
        x = torch.ones(64, 256)
        y = drop(x)
        zero = float((y == 0).float().mean())
        scaled = bool(torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p))))
        drop.eval()
        print(f"dropout: zeroed {zero:.3f} of units (p={p}), survivors x1/(1-p): {scaled}, eval is identity: "
              f"{torch.equal(drop(x), x)}")
        print("q10.dropout-removes-units:", verdict(rate_ok(zero, p, x.numel()) and scaled and torch.equal(drop(x), x)))

        lin = DropConnectLinear(64, 64, bias=False, p=p)
        w_eff = lin(torch.eye(64)).T                 # the weights this call used, read through the identity
        out = lin(torch.ones(256, 64))
        wz = float((w_eff == 0).float().mean()); dead = float((out == 0).all(0).float().mean())
        print(f"dropconnect: zeroed {wz:.3f} of weights; output units that were all zero: {dead:.3f}")
        print("q10.dropconnect-drops-weights:", verdict(rate_ok(wz, p, w_eff.numel()) and dead == 0.0))
        """
    ),
    Md(
        """
        ## 2. 变分 dropout:每个序列一个掩码,所有时间步共用
        """,
        """
        ## 2. Variational dropout: one mask per sequence, shared by every time step
        """,
    ),
    Code(
        """
        yl = LockedDropout(p)(torch.ones(T, B, H))
        shared = bool(torch.equal(yl != 0, (yl[0] != 0).expand_as(yl)))
        distinct = sum(not torch.equal(yl[0, b] != 0, yl[0, b + 1] != 0) for b in range(B - 1)) / (B - 1)
        rate = float((yl[0] == 0).float().mean())
        print(f"same mask at all {T} steps: {shared}; sequences with different masks: {distinct:.2f}; rate {rate:.3f}")
        print("q10.variational-same-mask:", verdict(shared and distinct > 0.5 and rate_ok(rate, p, B * H)))
        """
    ),
    Md(
        """
        ## 3. 循环 dropout(Semeniuta et al. 2016):页面说它作用于计算门值和细胞更新的子网络
        按字面检验:门值和更新都要被丢弃才成立。用层自己的权重、不加 dropout 重算门:若 dropout 碰了门,重算的值会不同。
        更新 c_t − f ⊙ c_{t−1} 要么正好是 0,要么是 i ⊙ g/(1−p)。
        """,
        """
        ## 3. Recurrent dropout (Semeniuta et al. 2016): the page says it acts on the sub-network computing the gates and the update
        Read as the page words it, both the gate values and the update must be dropped. The gates are recomputed
        with the layer's own weights and no dropout: if dropout touched them they would differ. The update
        c_t − f ⊙ c_{t−1} is either exactly 0 or i ⊙ g/(1−p).
        """,
    ),
    Code(
        """
        m = LSTM(3, H, recurrent_dropout=p)
        x = torch.randn(T, B, 3); h0 = torch.randn(1, B, H) * 0.5; c0 = torch.randn(1, B, H)
        with torch.no_grad():
            out, _, g = m(x, (h0, c0), return_gates=True)
            h_prev = torch.cat([h0, out[:-1]])
            a = x @ m.weight_ih_l0.T + m.bias_ih_l0 + h_prev @ m.weight_hh_l0.T + m.bias_hh_l0
            ai, af, ag, ao = a.chunk(4, -1)
        gate_err = max(float((ai.sigmoid() - g.i[0]).abs().max()), float((af.sigmoid() - g.f[0]).abs().max()),
                       float((ag.tanh() - g.g[0]).abs().max()), float((ao.sigmoid() - g.o[0]).abs().max()))
        c_prev = torch.cat([c0, g.c[0, :-1]])
        update = g.c[0] - g.f[0] * c_prev
        full = g.i[0] * g.g[0] / (1 - p)
        tol = 1e-6 * (1 + full.abs())
        dropped = update.abs() <= tol
        either = bool((dropped | ((update - full).abs() <= tol)).all())
        rate = float(dropped.float().mean())
        print(f"gates recomputed without dropout differ by {gate_err:.1e}; update dropped {rate:.3f}; "
              f"every update dropped or rescaled: {either}")
        # the page says dropout acts on the sub-network computing the gates AND the update: both must be dropped
        update_dropped = either and rate_ok(rate, p, update.numel())
        gates_dropped = gate_err > 1e-6 or max(float((t == 0).float().mean()) for t in (g.i, g.f, g.o)) > 0
        print(f"update dropped: {update_dropped}; gates dropped: {gates_dropped} (only the candidate update is)")
        print("q10.recurrent-dropout-gates-and-update:", verdict(update_dropped and gates_dropped))
        """
    ),
    Md(
        """
        ## 4. Zoneout(Krueger et al. 2017):被选中的单元保留上一步的值,而不是置零
        """,
        """
        ## 4. Zoneout (Krueger et al. 2017): a chosen unit keeps its previous value instead of being zeroed
        """,
    ),
    Code(
        """
        m = LSTM(3, H, zoneout=(p, p))
        with torch.no_grad():
            out, _, g = m(torch.randn(T, B, 3), return_gates=True)
        c_prev = torch.cat([torch.zeros(1, B, H), g.c[0, :-1]]); h_prev = torch.cat([torch.zeros(1, B, H), out[:-1]])
        live_c, live_h = c_prev != 0, h_prev != 0
        kept_c = float(((g.c[0] == c_prev) & live_c).sum() / live_c.sum())
        kept_h = float(((out == h_prev) & live_h).sum() / live_h.sum())
        zeroed = max(float((g.c[0][live_c] == 0).float().mean()), float((out[live_h] == 0).float().mean()))
        print(f"zoneout: c kept {kept_c:.3f}, h kept {kept_h:.3f} (p={p}); values zeroed {zeroed:.4f}")
        print("q10.zoneout-keeps-previous:", verdict(rate_ok(kept_c, p, int(live_c.sum())) and
                                                     rate_ok(kept_h, p, int(live_h.sum())) and zeroed == 0.0))
        fig, ax = plt.subplots(figsize=(5, 2.5))
        ax.imshow((yl[:, :16, 0] != 0).numpy().T, aspect="auto", cmap="gray")
        ax.set_xlabel("time step"); ax.set_ylabel("sequence"); ax.set_title("LockedDropout: one mask per sequence")
        plt.show()
        """
    ),
]
