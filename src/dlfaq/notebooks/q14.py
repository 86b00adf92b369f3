"""Q14 notebook: GRU encoder-decoders with and without attention on the copy task."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        普通模型只把编码器最后的状态(一个固定大小的向量)交给解码器;注意力模型(Luong et al. 2015 的 general 打分)
        能回看编码器的每个位置。复制任务对固定向量最难:第一个要输出的记号正是最早读入的那个。
        证据:阳性对照(Bahdanau et al. 2015 图 2)——在最长长度上注意力模型的记号准确率远高于普通模型;
        "长输入难" = 普通模型在最短与最长长度上的准确率之差;"固定长度向量是瓶颈" = 普通模型比注意力模型多掉了多少(差中之差);
        可解释性:第 t 个输出步的注意力最大值是否落在被复制的源位置 t 上。
        (本笔记本用教师强制下的记号准确率;完整实验见 `dlfaq run 14`。)
        """,
        """
        ## The design
        The plain model hands the decoder only the encoder's last state, a vector of fixed size; the attention
        model (Luong et al. 2015 "general" score) can look back at every encoder position. Copying is the hardest
        case for the fixed vector: the first token to emit is the one read longest ago. Evidence: a positive
        control (Bahdanau et al. 2015, Fig. 2) — at the longest length the attention model's token accuracy is
        far above the plain model's; "long inputs are hard" = the plain model's accuracy at the shortest minus
        at the longest length; "the fixed-length vector is the bottleneck" = how much more the plain model loses
        than the attention model (a difference of differences); interpretability: whether the attention argmax
        at output step t sits on source position t. (This notebook scores teacher-forced token accuracy; the
        full experiment is `dlfaq run 14`.)
        """,
    ),
    Sizes(quick=dict(seeds=[0, 1, 2, 3, 4], lengths=[4, 16], steps=300, hidden=64, vocab=10, batch=64),
          full=dict(seeds=list(range(10)), lengths=[4, 8, 16, 32], steps=1500),
          smoke=dict(seeds=[0, 1], lengths=[3, 6], steps=5, hidden=16)),
    Code(
        """
        import torch.nn.functional as F
        from torch import nn
        from dlfaq.data import copy_task
        from dlfaq.nn import MultiplicativeAttention

        class Seq2Seq(nn.Module):
            def __init__(self, attention):
                super().__init__()
                self.emb = nn.Embedding(vocab, 32)
                self.enc = nn.GRU(32, hidden, batch_first=True)
                self.dec = nn.GRU(32, hidden, batch_first=True)
                self.attn = MultiplicativeAttention(hidden, score="general") if attention else None
                self.head = nn.Linear(2 * hidden if attention else hidden, vocab)

            def forward(self, src, tgt_in, return_weights=False):
                keys, h = self.enc(self.emb(src))
                dec, _ = self.dec(self.emb(tgt_in), h)
                if self.attn is None:
                    return (self.head(dec), None) if return_weights else self.head(dec)
                ctx, w = self.attn(dec, keys, keys, return_weights=True)
                out = self.head(torch.cat([dec, ctx], -1))
                return (out, w) if return_weights else out

        def batch_at(length, n, seed):
            x, y = copy_task(n, length, vocab=vocab, seed=seed)
            x, y = torch.as_tensor(x), torch.as_tensor(y)
            return x, torch.cat([torch.zeros(n, 1, dtype=torch.long), y[:, :-1]], 1), y   # 0 = start token

        def train(attention, length, seed):
            torch.manual_seed(seed)
            m = Seq2Seq(attention)
            opt = torch.optim.Adam(m.parameters(), lr=3e-3)
            for step in range(steps):
                src, tin, tout = batch_at(length, batch, seed * 100_000 + step)
                loss = F.cross_entropy(m(src, tin).flatten(0, 1), tout.flatten())
                opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
            return m.eval()

        acc, align = {}, {}
        for s in seeds:
            for attention in (False, True):
                for L in lengths:
                    m = train(attention, L, s)
                    src, tin, tout = batch_at(L, 500, 10**9 + s)   # a seed range training never uses
                    with torch.no_grad():
                        out, w = m(src, tin, return_weights=True)
                    acc[s, attention, L] = float((out.argmax(-1) == tout).float().mean())
                    if attention:
                        align[s, L] = float((w.argmax(-1) == torch.arange(L)).float().mean())
            print(f"seed {s}: " + "  ".join(f"{'attn' if a else 'plain'} L={L}: {acc[s, a, L]:.3f}"
                                            for a in (False, True) for L in lengths))
        """
    ),
    Code(
        """
        short, long = lengths[0], lengths[-1]
        MARGIN = 10.0  # points: the experiment's margin for the drop and the bottleneck
        CONTROL_MARGIN, ALIGN_MARGIN = 20.0, 50.0
        control = stats.Control({"en": "attention beats plain at the longest length", "zh": "最长长度上注意力优于普通模型"},
                                stats.paired([acc[s, True, long] for s in seeds], [acc[s, False, long] for s in seeds],
                                             "points", scale=100), CONTROL_MARGIN, source="Bahdanau et al. 2015")
        hard = stats.paired([acc[s, False, short] for s in seeds], [acc[s, False, long] for s in seeds], "points", scale=100)
        bottleneck = stats.effect([100 * ((acc[s, False, short] - acc[s, False, long])
                                          - (acc[s, True, short] - acc[s, True, long])) for s in seeds], "points")
        # above a uniform guess (1/L), averaged over the lengths
        alignment = stats.effect([float(np.mean([100 * (align[s, L] - 1 / L) for L in lengths])) for s in seeds], "points")
        for name, e in (("control: attn - plain at L=%d" % long, control.effect), ("q14.long-inputs-hard", hard),
                        ("q14.fixed-length-bottleneck", bottleneck), ("attention argmax on copied position - chance", alignment)):
            print(f"{name:38s} {e.mean:+6.1f} points [{e.lo:+6.1f}, {e.hi:+6.1f}] (n={e.n})")
        print("q14.long-inputs-hard:", stats.decide_with_control(stats.decide(hard, MARGIN), control)[0])
        print("q14.fixed-length-bottleneck:", stats.decide_with_control(stats.decide(bottleneck, MARGIN), control)[0])
        print("q14.uninterpretable (its measurable half: attention shows the positions used):",
              stats.decide_with_control(stats.decide(alignment, ALIGN_MARGIN), control)[0],
              "(the full experiment adds an intervention test of faithfulness)")

        src, tin, tout = batch_at(long, 1, 12345)
        m = train(True, long, seeds[0])
        with torch.no_grad():
            _, w = m(src, tin, return_weights=True)
        plt.figure(figsize=(4, 4)); plt.imshow(w[0].numpy(), cmap="viridis")
        plt.xlabel("source position"); plt.ylabel("output step"); plt.title("attention weights (copy)"); plt.show()
        """
    ),
]
