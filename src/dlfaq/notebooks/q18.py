"""Q18 notebook: what logits are, what softmax does to them, and the numerics."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        页面的三句话都是恒等式或代码的性质,所以每个结论都是精确检验:logits 是输出层的 `XW + b`;softmax 把它们归一化成
        概率且保持顺序;预测 `softmax(logits)` 的 argmax 就是 logits 的 argmax。不用训练,一个随机初始化的 `dlfaq.nn.MLP` 足够。
        """,
        """
        ## The design
        The page's three statements are identities or properties of code, so each verdict is an exact check:
        logits are the output layer's `XW + b`; softmax turns them into probabilities that keep their order;
        the argmax of `softmax(logits)` is the argmax of the logits. Nothing is trained; a randomly initialized
        `dlfaq.nn.MLP` is enough.
        """,
    ),
    Sizes(quick=dict(n=512, scales=[1e-3, 1.0, 1e2, 1e4]), full=dict(n=4096), smoke=dict(n=64)),
    Code(
        """
        from dlfaq import data
        from dlfaq.nn import MLP
        from dlfaq.nn.functional import log_softmax, logsumexp, naive_softmax, softmax

        sp = data.digits(seed=0)
        X = torch.as_tensor(sp.X_test[:n], dtype=torch.float64)
        torch.manual_seed(0)
        net = MLP(sp.n_features, sp.n_classes, hidden=32, depth=1).double().eval()
        with torch.no_grad():
            logits = net(X)
            hidden = net.layers[0](X)            # the last hidden layer's output
            head = net.head                      # the output layer: a plain Linear
            xw_b = hidden @ head.weight.T + head.bias
        print("logits == XW + b (max abs diff):", float((logits - xw_b).abs().max()))
        print("logits sum to 1? row sums:", logits.sum(1)[:3].tolist())
        # log-probabilities differ from logits by one constant per example: log p = z - logsumexp(z)
        shift = logits - log_softmax(logits)
        print("logits - log p is constant per row (max spread):", float((shift.max(1).values - shift.min(1).values).max()))
        print("... and equals logsumexp:", float((shift[:, 0] - logsumexp(logits)).abs().max()))
        raw = bool(torch.allclose(logits, xw_b) and not torch.allclose(logits.sum(1), torch.ones(len(X), dtype=X.dtype)))
        print("q18.logits-are-raw-scores:", "supported" if raw else "contradicted")
        """
    ),
    Md(
        """
        ## 2. softmax 在各种尺度上的数值
        框架(如 `tf.nn.softmax`)先减去最大值再取指数;教科书的未平移公式 `naive_softmax` 在大 logits 上溢出。
        """,
        """
        ## 2. Softmax numerics at every scale
        Frameworks (`tf.nn.softmax` among them) subtract the max before exponentiating; the unshifted textbook
        formula (`naive_softmax`) overflows on large logits.
        """,
    ),
    Code(
        """
        ok_all = True
        for scale in scales:
            z = (logits * scale).float()
            p, q = softmax(z), naive_softmax(z)
            is_prob = bool(torch.isfinite(p).all() and (p >= 0).all() and torch.allclose(p.sum(1), torch.ones(len(p))))
            ok_all &= is_prob and bool((p.argmax(1) == z.argmax(1)).all())
            print(f"scale {scale:8g}: shifted softmax is a distribution {is_prob}, argmax kept "
                  f"{bool((p.argmax(1) == z.argmax(1)).all())}; naive formula finite {bool(torch.isfinite(q).all())}")
        print("q18.softmax-normalizes-logits:", "supported" if ok_all else "contradicted")
        """
    ),
    Md(
        """
        ## 3. 预测与交叉熵
        `F.cross_entropy(logits, y)` 就是 `-log softmax(logits)[y]`:训练拟合的正是 `softmax(logits)`,它的 argmax 与 logits 的一致。
        把 softmax 之后的概率再喂给期望 logits 的损失是常见错误,这里只作信息展示。
        """,
        """
        ## 3. Predictions and cross-entropy
        `F.cross_entropy(logits, y)` is `-log softmax(logits)[y]`: training fits `softmax(logits)`, whose argmax
        is the logits' argmax. Feeding probabilities into a loss that expects logits is a common mistake, shown
        as information only.
        """,
    ),
    Code(
        """
        import torch.nn.functional as F
        y = torch.as_tensor(sp.y_test[:n])
        ce = F.cross_entropy(logits, y)
        manual = -log_softmax(logits)[torch.arange(len(y)), y].mean()
        same_argmax = bool((softmax(logits).argmax(1) == logits.argmax(1)).all())
        print("cross_entropy == -mean log softmax[y]:", float(ce), float(manual))
        print("q18.predictions-via-softmax:", "supported" if torch.allclose(ce, manual) and same_argmax else "contradicted")
        print("mistake (info): cross_entropy(softmax(logits)) =", float(F.cross_entropy(softmax(logits), y)),
              "vs", float(ce))

        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(range(sp.n_classes), softmax(logits[0]).numpy()); ax.set_xlabel("class"); ax.set_ylabel("softmax(logits)")
        ax.set_title("one digit: probabilities from logits"); plt.show()
        """
    ),
]
