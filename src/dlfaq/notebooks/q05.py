"""Q5 notebook: an LSTM's gates, checked against torch.nn.LSTM; memory measured on delayed recall."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        两类证据。精确检验(float64、随机权重):页面的方程(细胞状态更新、输入门 = sigmoid × tanh、输出门、门的个数)
        与 `torch.nn.LSTM` 逐步比较。测量:延迟回忆任务(先看一个记号,再看 T 个干扰记号,最后说出第一个记号);
        阳性对照是 Hochreiter & Schmidhuber (1997) 的结果,LSTM 能跨越延迟回忆而普通 RNN 不能;然后在训练好的 LSTM 上
        从延迟中段起把遗忘门强制为 0 或 1,看记忆是否在细胞状态里。
        """,
        """
        ## The design
        Two kinds of evidence. Exact checks (float64, random weights): the page's equations (cell update, input
        gate = sigmoid × tanh, output gate, number of gates) against `torch.nn.LSTM`, step by step.
        Measurements on delayed recall (see one token, then T distractors, then name the first token): the
        positive control is Hochreiter & Schmidhuber's (1997) result, the LSTM recalling across the delay where
        a vanilla RNN fails; then, on the trained LSTMs, the forget gate is forced to 0 or 1 from mid-delay on,
        to see whether the memory lives in the cell state.
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], delay=40, steps=400, lr=1e-2, hidden=32, n_test=1000),
          full=dict(seeds=list(range(10)), steps=800),
          smoke=dict(seeds=[0, 1], delay=6, steps=20, n_test=200)),
    Md(
        """
        ## 1. 方程对 torch.nn.LSTM
        i = σ(W_i[x,h] + b_i),f = σ(…),g = tanh(…),o = σ(…);c' = f ⊙ c + i ⊙ g;h' = o ⊙ tanh(c')。torch 的行顺序是 i, f, g, o。
        """,
        """
        ## 1. The equations against torch.nn.LSTM
        i = σ(W_i[x,h] + b_i), f = σ(…), g = tanh(…), o = σ(…); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c'). torch
        stacks the rows in the order i, f, g, o.
        """,
    ),
    Code(
        """
        from dlfaq.nn import LSTM, LSTMCell

        torch.manual_seed(0)
        H = 16
        ref = torch.nn.LSTM(5, H).double()
        x = torch.randn(25, 3, 5, dtype=torch.float64)
        with torch.no_grad():
            out, _ = ref(x)
            Wi, Wh, b = ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0 + ref.bias_hh_l0
            h = c = torch.zeros(3, H, dtype=torch.float64)
            hs = []
            for t in range(len(x)):
                z = x[t] @ Wi.T + h @ Wh.T + b
                i, f, g, o = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2*H]), torch.tanh(z[:, 2*H:3*H]), torch.sigmoid(z[:, 3*H:])
                c = f * c + i * g            # the cell-state update
                h = o * torch.tanh(c)        # the output gate
                hs.append(h)
        diff = float((torch.stack(hs) - out).abs().max())
        print(f"page equations vs torch.nn.LSTM: max abs diff {diff:.1e}; gates in weight_ih: {Wi.shape[0] // H}")
        for cid in ("q05.cell-state-update", "q05.input-gate-sigmoid-times-tanh", "q05.output-gate"):
            print(cid, "supported" if diff < 1e-10 else "contradicted")
        print("q05.three-gates:", "supported" if Wi.shape[0] // H == 4 else "contradicted",
              "(three sigmoid gates i, f, o plus the tanh candidate g)")
        """
    ),
    Md(
        """
        ## 2. 延迟回忆:LSTM 对普通 RNN(阳性对照)
        模型:嵌入 + 标记第一步的标志位 → LSTM(遗忘门偏置 5,一开始就"打开")或 tanh RNN → 读出最后状态。Adam,梯度范数裁剪 1,
        每步新生成的数据(没有可以过拟合的东西);测试批来自训练从未用过的种子。(完整实验在验证批上从 1e-2、3e-3 中选学习率;这里固定 1e-2。)
        """,
        """
        ## 2. Delayed recall: LSTM vs vanilla RNN (positive control)
        Model: embedding + a flag on the first step → an LSTM (forget bias 5, open from the start) or a tanh RNN
        → a read-out of the last state. Adam, gradient-norm clipping at 1, fresh data every step (nothing to
        overfit); the test batch comes from a seed training never uses. (The full experiment chooses the
        learning rate from 1e-2 and 3e-3 on a validation batch; here it is fixed at 1e-2.)
        """,
    ),
    Code(
        """
        from dlfaq.data import delayed_recall
        VOCAB = 8

        def batch(n, seed):
            x, y = delayed_recall(n, delay, vocab=VOCAB, seed=seed)
            return torch.as_tensor(x).T.contiguous(), torch.as_tensor(y)

        class Recaller(torch.nn.Module):
            def __init__(self, kind):
                super().__init__()
                self.emb = torch.nn.Embedding(VOCAB, 8)
                self.rnn = LSTM(9, hidden) if kind == "LSTM" else torch.nn.RNN(9, hidden)
                self.head = torch.nn.Linear(hidden, VOCAB)
                if kind == "LSTM":
                    with torch.no_grad():
                        self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(5.0); self.rnn.bias_hh_l0[hidden:2 * hidden].zero_()
            def inputs(self, tokens):
                flag = torch.zeros(*tokens.shape, 1); flag[0] = 1.0
                return torch.cat([self.emb(tokens), flag], -1)
            def forward(self, tokens):
                return self.head(self.rnn(self.inputs(tokens))[0][-1])

        def train(kind, seed):
            torch.manual_seed(seed)
            model = Recaller(kind)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            x, y = batch(32 * steps, seed)
            for s in range(steps):
                loss = torch.nn.functional.cross_entropy(model(x[:, 32 * s:32 * (s + 1)]), y[32 * s:32 * (s + 1)])
                opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
            return model

        xt, yt = batch(n_test, 10_000)
        models, acc = {}, {}
        for s in seeds:
            for kind in ("LSTM", "RNN"):
                models[kind, s] = train(kind, s)
                with torch.no_grad():
                    acc[kind, s] = float((models[kind, s](xt).argmax(-1) == yt).float().mean())
            print(f"seed {s}: LSTM {acc['LSTM', s]:.3f}  RNN {acc['RNN', s]:.3f}  (chance {1 / 7:.3f})")
        MARGIN = round(100 * (1 - 1 / 7) / 2, 1)   # half the way from chance to perfect, in points
        control = stats.Control({"en": "LSTM recalls where an RNN fails", "zh": "LSTM 能回忆而 RNN 不能"},
                                stats.paired([acc["LSTM", s] for s in seeds], [acc["RNN", s] for s in seeds],
                                             "points", scale=100), MARGIN, source="Hochreiter & Schmidhuber 1997")
        e = control.effect
        print(f"control: LSTM - RNN {e.mean:+.1f} points [{e.lo:+.1f}, {e.hi:+.1f}], reproduced {control.reproduced}")
        """
    ),
    Md(
        """
        ## 3. 干预遗忘门
        用 dlfaq 的 `LSTMCell(return_gates=True)` 逐步重放训练好的 LSTM,从延迟中段起令 f = 0(丢掉 c_{t−1})或 f = 1(全部保留)。
        若记忆在细胞状态里,f = 0 应当让准确率掉到接近随机,f = 1 则基本不掉。
        """,
        """
        ## 3. Intervening on the forget gate
        The trained LSTM is replayed step by step with dlfaq's `LSTMCell(return_gates=True)`; from mid-delay on
        f is forced to 0 (drop c_{t−1}) or 1 (keep all of it). If the memory lives in the cell state, f = 0
        should bring accuracy down to about chance and f = 1 should barely hurt.
        """,
    ),
    Code(
        """
        def intervene(model, tokens, mode, start):
            lstm = model.rnn
            cell = LSTMCell(lstm.input_size, lstm.hidden_size)
            cell.load_state_dict({k.replace("_l0", ""): v for k, v in lstm.state_dict().items()})
            x = model.inputs(tokens)
            h = x.new_zeros(x.shape[1], lstm.hidden_size); c = torch.zeros_like(h)
            for t in range(x.shape[0]):
                _, g = cell(x[t], (h, c), return_gates=True)
                f = g.f if t < start else (torch.zeros_like(g.f) if mode == "f=0" else torch.ones_like(g.f))
                c = f * c + g.i * g.g
                h = g.o * torch.tanh(c)
            return model.head(h)

        mid = (delay + 1) // 2
        with torch.no_grad():
            rows = {m: [float((intervene(models["LSTM", s], xt, m, mid).argmax(-1) == yt).float().mean()) for s in seeds]
                    for m in ("none", "f=0", "f=1")}
        drop_f0 = stats.paired(rows["none"], rows["f=0"], "points", scale=100)
        drop_f1 = stats.paired(rows["none"], rows["f=1"], "points", scale=100)
        print(f"accuracy lost with f=0 from step {mid}: {drop_f0.mean:+.1f} points [{drop_f0.lo:+.1f}, {drop_f0.hi:+.1f}]")
        print(f"accuracy lost with f=1 from step {mid}: {drop_f1.mean:+.1f} points [{drop_f1.lo:+.1f}, {drop_f1.hi:+.1f}]")
        keep_vs_drop = stats.paired(rows["f=1"], rows["f=0"], "points", scale=100)
        print(f"f=1 minus f=0: {keep_vs_drop.mean:+.1f} points [{keep_vs_drop.lo:+.1f}, {keep_vs_drop.hi:+.1f}]")
        verdict, failed = stats.decide_with_control(stats.decide(drop_f0, MARGIN), control)
        print("q05.cell-state-is-memory (f=0 destroys the recall):", verdict, "(control failed)" if failed else "")
        print("q05.forget-gate-keeps-or-drops (f=1 keeps, f=0 drops):",
              stats.decide_with_control(stats.decide(keep_vs_drop, MARGIN), control)[0])

        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(["intact", "f=0", "f=1"], [np.mean(rows[m]) for m in ("none", "f=0", "f=1")])
        ax.axhline(1 / 7, ls=":", color="k", label="chance"); ax.set_ylabel("test accuracy"); ax.legend(); plt.show()
        """
    ),
]
