"""Q3 notebook: feature-map sizes by the page's formula vs by running the layers."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        页面给的公式是 (W − K + 2P)/S + 1。这里的每个结论都是精确检验:在随机抽取的卷积、池化配置上,
        以及在真实网络的每一层上,比较公式(加上整数尺寸需要的向下取整)和 torch 实际输出的尺寸。
        """,
        """
        ## The design
        The page gives (W − K + 2P)/S + 1. Every verdict here is an exact check: on random convolution and
        pooling configurations, and on every layer of real networks, the formula (with the floor integer
        sizes need) is compared with the size torch actually produces.
        """,
    ),
    Sizes(quick=dict(n_sweep=2000, seed=0), full=dict(n_sweep=10000), smoke=dict(n_sweep=100)),
    Md(
        """
        ## 1. 页面公式
        """,
        """
        ## 1. The page's formula
        """,
    ),
    Code(
        """
        from torch import nn

        def page_literal(W, K, S, P):
            return (W - K + 2 * P) / S + 1          # as the page writes it

        def page_floor(W, K, S, P):
            return (W - K + 2 * P) // S + 1         # with the floor integer sizes need

        print("ResNet-18's 7x7/2 stem on 224 pixels, padding 3:", page_literal(224, 7, 2, 3),
              "literal vs", page_floor(224, 7, 2, 3), "floored")
        """
    ),
    Md(
        """
        ## 2. 随机卷积与池化配置
        K 取 1–7、S 取 1–4、P 取 0–⌊K/2⌋(torch 对池化的上限)、W 取 torch 接受的小于 48 的值,在 meta 设备上运行层,读出尺寸。
        池化未给步幅时 S 取核大小(PyTorch 的默认值)。
        """,
        """
        ## 2. Random convolution and pooling configurations
        K in 1–7, S in 1–4, P in 0–⌊K/2⌋ (torch's limit for pooling), W any size torch accepts below 48; the
        layer runs on the meta device and its size is read. Pooling without a stride uses S = K (PyTorch's
        default).
        """,
    ),
    Code(
        """
        rng = np.random.default_rng(seed)
        counts = dict(conv=0, conv_ok=0, conv_integer=0, pool=0, pool_ok=0, ceil=0, ceil_ok=0)
        for _ in range(n_sweep):
            K, S = int(rng.integers(1, 8)), int(rng.integers(1, 5))
            P = int(rng.integers(0, K // 2 + 1))
            W = int(rng.integers(max(1, K - 2 * P), 48))
            kind = rng.choice(["conv", "max", "avg"])
            x = torch.empty(1, 1, W, device="meta")
            if kind == "conv":
                out = nn.Conv1d(1, 1, K, stride=S, padding=P, device="meta")(x).shape[-1]
                counts["conv"] += 1
                counts["conv_ok"] += page_floor(W, K, S, P) == out
                counts["conv_integer"] += float(page_literal(W, K, S, P)).is_integer()
                continue
            ceil_mode = bool(rng.random() < 0.2)
            stride = None if rng.random() < 0.3 else S
            Pool = nn.MaxPool1d if kind == "max" else nn.AvgPool1d
            out = Pool(K, stride=stride, padding=P, ceil_mode=ceil_mode)(x).shape[-1]
            key = "ceil" if ceil_mode else "pool"
            counts[key] += 1
            counts[key + "_ok"] += page_floor(W, K, stride or K, P) == out
        print(counts)
        print("q03.conv-output-formula (floored):", "supported" if counts["conv_ok"] == counts["conv"] else "contradicted")
        print("q03.pooling-same-formula:", "supported" if counts["pool_ok"] == counts["pool"] else "contradicted",
              f"(ceil_mode=True, reported only: right on {counts['ceil_ok']} of {counts['ceil']})")
        """
    ),
    Md(
        """
        ## 3. 整个网络:`dlfaq.shapes.trace`
        `trace` 在 meta 设备上跑一遍模型并记录每一层;`output_shape` 用完整的公式(含膨胀、转置卷积)算尺寸。
        页面公式不含膨胀 D 和转置卷积,在这些层上会出错。
        """,
        """
        ## 3. Whole networks: `dlfaq.shapes.trace`
        `trace` runs a model on the meta device and records every layer; `output_shape` computes sizes with the
        complete formulas (dilation, transposed convolutions). The page's formula has no dilation D and no
        transposed convolution, and fails on those layers.
        """,
    ),
    Code(
        """
        from dlfaq.shapes import output_shape, trace

        def lenet5():
            return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5),
                                 nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
                                 nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))

        def dilated_context(c=8):  # Yu & Koltun 2016: 3x3 convolutions with dilation 1, 1, 2, 4, 8, 16, 1
            layers = []
            for d in (1, 1, 2, 4, 8, 16, 1):
                layers += [nn.Conv2d(c, c, 3, padding=d, dilation=d), nn.ReLU()]
            return nn.Sequential(*layers)

        def unet_decoder():  # Ronneberger et al. 2015: 2x2 up-convolutions, stride 2
            return nn.Sequential(nn.ConvTranspose2d(64, 32, 2, stride=2), nn.ReLU(),
                                 nn.ConvTranspose2d(32, 16, 2, stride=2), nn.ReLU(), nn.Conv2d(16, 1, 1))

        NETWORKS = {"LeNet-5": (lenet5, (1, 1, 28, 28)), "dilated context": (dilated_context, (1, 8, 64, 64)),
                    "U-Net decoder": (unet_decoder, (1, 64, 16, 16))}
        layer_types = (nn.Conv2d, nn.ConvTranspose2d, nn.AvgPool2d, nn.MaxPool2d)
        rows, page_right, total, formula_right = [], 0, 0, 0
        for net, (factory, shape) in NETWORKS.items():
            for info in trace(factory, shape).layers:
                m = info.module
                if not isinstance(m, layer_types):
                    continue
                W = info.input_shape[-1]
                K = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[-1]
                S = m.stride if isinstance(m.stride, int) else m.stride[-1]
                P = m.padding if isinstance(m.padding, int) else m.padding[-1]
                page = page_floor(W, K, S, P)
                real = info.output_shape[-1]
                total += 1
                page_right += page == real
                formula_right += tuple(output_shape(m, info.input_shape)) == tuple(info.output_shape)
                rows.append((net, info.name, info.type, W, page, real))
        for r in rows:
            print(f"{r[0]:16s} {r[1]:4s} {r[2]:16s} W={r[3]:3d}  page {r[4]:4d}  torch {r[5]:4d}"
                  + ("" if r[4] == r[5] else "   <- page formula wrong"))
        print(f"page formula right on {page_right} of {total} layers; dlfaq.shapes.output_shape on {formula_right} of {total}")
        print("q03.formula-is-complete:", "supported" if page_right == total else "contradicted")
        """
    ),
    Md(
        """
        ## 4. 命令行
        同样的计算:`dlfaq shape layer conv2d --in 1x28x28 --kernel 5 --padding 2` 与 `dlfaq shape model MODULE:FACTORY`。
        """,
        """
        ## 4. On the command line
        The same computation: `dlfaq shape layer conv2d --in 1x28x28 --kernel 5 --padding 2` and
        `dlfaq shape model MODULE:FACTORY`.
        """,
    ),
]
