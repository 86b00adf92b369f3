"""Q3: feature-map sizes by formula vs by running the layers, on real architectures and random sweeps.

The page gives (W − K + 2P)/S + 1. Every verdict is an exact ``check``: the
formula (with the floor that integer sizes need) either gives the size torch
produces on every layer configuration tested, or it does not. The random
sweeps draw (W, K, S, P) uniformly over ranges torch accepts; the networks are
LeNet-5, ResNet-18, a dilated context module and a U-Net decoder."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlfaq.experiments._core import Evidence, RunContext, check, experiment
from dlfaq.shapes import output_shape, trace

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
POOL_TYPES = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
FORMULA_TYPES = CONV_TYPES + POOL_TYPES + (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


# --------------------------------------------------------------------------- networks


def lenet5() -> nn.Module:
    """LeNet-5 (LeCun et al. 1998) on 32×32 inputs, average pooling and tanh."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),
    )  # fmt: skip


class BasicBlock(nn.Module):
    """The two-conv residual block of He et al. (2016), with a 1×1 projection when shapes change."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def resnet18(num_classes: int = 1000) -> nn.Module:
    """A ResNet-18-shaped network (He et al. 2016): 7×7/2 stem, 3×3/2 max pool, 4 stages of 2 blocks."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
    ]  # fmt: skip
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def dilated_context() -> nn.Module:
    """The context module of Yu & Koltun (2016): 3×3 convs with dilation 1,1,2,4,8,16,1 (padding = dilation)."""
    layers: list[nn.Module] = []
    for d in (1, 1, 2, 4, 8, 16, 1):
        layers += [nn.Conv2d(8, 8, 3, padding=d, dilation=d), nn.ReLU()]
    return nn.Sequential(*layers)


def small_unet_decoder() -> nn.Module:
    """A U-Net-style decoder path (Ronneberger et al. 2015): 2×2 stride-2 transposed convs."""
    return nn.Sequential(
        nn.ConvTranspose2d(64, 32, 2, stride=2), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 2, stride=2), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 2, stride=2), nn.Conv2d(8, 2, 1),
    )  # fmt: skip


NETWORKS = {
    "LeNet-5": (lenet5, (1, 1, 32, 32)),
    "ResNet-18": (resnet18, (1, 3, 224, 224)),
    "dilated context module": (dilated_context, (1, 8, 64, 64)),
    "U-Net decoder": (small_unet_decoder, (1, 64, 16, 16)),
}


# --------------------------------------------------------------------------- the page's formula


def _pair(v, i: int) -> int:
    return v if isinstance(v, int) else v[i]


def page_formula(layer: nn.Module, w: int, dim: int) -> float:
    """The page's (W − K + 2P) / S + 1, taken literally: no floor, no dilation, no transposition."""
    k = _pair(layer.kernel_size, dim)
    stride = getattr(layer, "stride", None) or layer.kernel_size
    s = _pair(stride, dim)
    pad = layer.padding
    if pad == "same":
        p = (k - 1) / 2  # the padding a reader would pick to keep the size
    elif pad == "valid":
        p = 0
    else:
        p = _pair(pad, dim)
    return (w - k + 2 * p) / s + 1



def page_floor(layer: nn.Module, w: int, dim: int) -> int:
    """The page's formula with the floor an integer size needs: floor((W − K + 2P)/S) + 1."""
    return int(np.floor(page_formula(layer, w, dim)))


def check_layers(tr, rows: list, net: str) -> dict[str, int]:
    """Compare every conv / pool / transposed-conv layer of a traced network with the formulas."""
    counts = {
        "layers": 0, "formula_ok": 0, "page_exact": 0, "page_floor": 0,
        "pool_layers": 0, "pool_floor": 0, "plain_conv_layers": 0, "plain_conv_floor": 0,
    }  # fmt: skip
    for info in tr.layers:
        mod = info.module
        if not isinstance(mod, FORMULA_TYPES):
            continue
        counts["layers"] += 1
        by_formula = output_shape(mod, info.input_shape)
        counts["formula_ok"] += by_formula == info.output_shape
        nd = len(info.output_shape) - 2
        page = [page_formula(mod, info.input_shape[2 + i], i) for i in range(nd)]
        actual = info.output_shape[2:]
        exact = all(float(a) == p for a, p in zip(actual, page, strict=True))
        floored = all(a == int(np.floor(p)) for a, p in zip(actual, page, strict=True))
        counts["page_exact"] += exact
        counts["page_floor"] += floored
        if isinstance(mod, POOL_TYPES):
            counts["pool_layers"] += 1
            counts["pool_floor"] += floored
        if isinstance(mod, CONV_TYPES) and max(np.atleast_1d(mod.dilation)) == 1:
            # the layers the page's formula is about: an undilated, not transposed convolution
            counts["plain_conv_layers"] += 1
            counts["plain_conv_floor"] += floored
        rows.append([
            net, info.name, info.type, "x".join(map(str, info.input_shape)), "x".join(map(str, by_formula)),
            "x".join(map(str, info.output_shape)), "x".join(f"{p:g}" for p in page),
            "global" if info.receptive_field is None else "x".join(map(str, info.receptive_field)),
        ])
    return counts


def conv_sweep(seed: int, n: int) -> dict[str, int]:
    """Random undilated Conv1d/Conv2d configurations: does floor((W−K+2P)/S)+1 give torch's size?"""
    rng = np.random.default_rng(seed)
    out = {"configs": 0, "floor_ok": 0, "literal_integer": 0, "literal_ok": 0}
    for _ in range(n):
        nd = int(rng.integers(1, 3))
        ks = [int(rng.integers(1, 8)) for _ in range(nd)]
        ss = [int(rng.integers(1, 5)) for _ in range(nd)]
        ps = [int(rng.integers(0, k + 1)) for k in ks]
        ws = [int(rng.integers(max(1, k - 2 * p), 48)) for k, p in zip(ks, ps, strict=True)]
        conv = (nn.Conv1d if nd == 1 else nn.Conv2d)(1, 1, tuple(ks), tuple(ss), tuple(ps), bias=False)
        with torch.no_grad():
            real = conv(torch.zeros(1, 1, *ws)).shape[2:]
        lit = [(w - k + 2 * p) / s + 1 for w, k, p, s in zip(ws, ks, ps, ss, strict=True)]
        out["configs"] += 1
        out["floor_ok"] += all(int(np.floor(v)) == r for v, r in zip(lit, real, strict=True))
        integer = all(float(v).is_integer() for v in lit)
        out["literal_integer"] += integer
        out["literal_ok"] += integer and all(int(v) == r for v, r in zip(lit, real, strict=True))
    return out


def pool_sweep(seed: int, n: int) -> dict[str, int]:
    """Random MaxPool/AvgPool (1d, 2d) configurations, stride given or left to its default (= kernel),
    with ceil_mode off (the default) and on."""
    rng = np.random.default_rng(seed + 1)
    out = {"configs": 0, "floor_ok": 0, "ceil_configs": 0, "ceil_floor_ok": 0, "default_stride": 0}
    for _ in range(n):
        nd = int(rng.integers(1, 3))
        k = int(rng.integers(1, 6))
        stride = None if rng.random() < 0.3 else int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))  # torch: padding at most half the kernel
        w = int(rng.integers(max(1, k - 2 * p), 40))
        ceil = bool(rng.integers(0, 2))
        kind = ["max", "avg"][int(rng.integers(0, 2))]
        cls = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}
        layer = cls[kind, nd](k, stride, p, ceil_mode=ceil)
        real = layer(torch.zeros(1, 1, *([w] * nd))).shape[-1]
        s = k if stride is None else stride
        ok = real == (w - k + 2 * p) // s + 1
        if ceil:
            out["ceil_configs"] += 1
            out["ceil_floor_ok"] += ok
        else:
            out["configs"] += 1
            out["floor_ok"] += ok
            out["default_stride"] += stride is None
    return out


def receptive_field_figure(traces: dict) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for net in ("LeNet-5", "ResNet-18", "dilated context module"):
        # main path only: a ResNet shortcut's 1×1 projection would show as a dip
        infos = [
            i for i in traces[net].layers
            if isinstance(i.module, CONV_TYPES + POOL_TYPES) and "downsample" not in i.name
        ]  # fmt: skip
        rf = [i.receptive_field[0] for i in infos if i.receptive_field is not None]
        size = [i.output_shape[-1] for i in infos]
        axes[0].plot(range(1, len(rf) + 1), rf, marker="o", ms=3, label=net)
        axes[1].plot(range(1, len(size) + 1), size, marker="o", ms=3, label=net)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("conv / pool layer (depth)")
    axes[0].set_ylabel("receptive field (input pixels)")
    axes[0].set_title("Receptive field growth")
    axes[1].set_yscale("log", base=2)
    axes[1].set_xlabel("conv / pool layer (depth)")
    axes[1].set_ylabel("feature-map width")
    axes[1].set_title("Feature-map size")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def judge_claims(ev: Evidence, per_net: dict[str, dict[str, int]], total: dict[str, int],
                 conv: dict[str, int], pool: dict[str, int]) -> None:
    n_conv = conv["configs"] + total["plain_conv_layers"]
    ok_conv = conv["floor_ok"] + total["plain_conv_floor"]
    ev.add(check(
        "q03.conv-output-formula", ok_conv == n_conv,
        rule={"en": f"The claim holds if floor((W − K + 2P)/S) + 1 equals the size torch's convolution produces on "
                    f"every one of the {conv['configs']} random undilated Conv1d/Conv2d configurations "
                    f"(K 1–7, S 1–4, P 0–K, every W torch accepts below 48) and on every undilated convolution of "
                    "the four networks. The floor is part of the test: without it the formula gives fractions.",
              "zh": f"如果 floor((W − K + 2P)/S) + 1 在 {conv['configs']} 个随机的无膨胀 Conv1d/Conv2d 配置"
                    "(K 取 1–7、S 取 1–4、P 取 0–K、W 取 torch 接受的小于 48 的任意值)上,以及四个网络中每个无膨胀卷积上,"
                    "都等于 torch 卷积实际输出的尺寸,则命题成立。检验包含向下取整:不取整时公式会给出小数。"},
        reason={"en": f"The floored formula gave torch's size on {ok_conv} of {n_conv} convolutions "
                      f"({conv['floor_ok']} of {conv['configs']} random ones, {total['plain_conv_floor']} of "
                      f"{total['plain_conv_layers']} in the networks). Read literally, without the floor, it is an "
                      f"integer on only {conv['literal_integer']} of the random configurations (and then right on "
                      f"{conv['literal_ok']}); ResNet-18's 7×7/2 stem on 224 pixels is one where it gives 112.5.",
                "zh": f"取整后的公式在 {n_conv} 个卷积中的 {ok_conv} 个上给出了 torch 的尺寸(随机配置 "
                      f"{conv['configs']} 个中 {conv['floor_ok']} 个,网络中 {total['plain_conv_layers']} 个中 "
                      f"{total['plain_conv_floor']} 个)。若按字面不取整,只有 {conv['literal_integer']} 个随机配置的结果是整数"
                      f"(其中 {conv['literal_ok']} 个正确);ResNet-18 在 224 像素上的 7×7/2 起始卷积就会得到 112.5。"},
        evidence=["sweeps", "layers"],
    ))
    n_pool = pool["configs"] + total["pool_layers"]
    ok_pool = pool["floor_ok"] + total["pool_floor"]
    ev.add(check(
        "q03.pooling-same-formula", ok_pool == n_pool,
        rule={"en": f"The claim holds if floor((W − K + 2P)/S) + 1, with S the kernel size when no stride is given "
                    f"(PyTorch's default), equals the size of every one of the {pool['configs']} random "
                    "MaxPool/AvgPool 1d/2d layers with the default ceil_mode=False, and of every pooling layer of the "
                    "four networks. ceil_mode=True, an opt-in that rounds up, is reported, not judged.",
              "zh": f"如果 floor((W − K + 2P)/S) + 1(未给步幅时 S 取核大小,即 PyTorch 的默认值)在 {pool['configs']} 个"
                    "默认 ceil_mode=False 的随机 MaxPool/AvgPool 1d/2d 层上,以及四个网络中的每个池化层上,都等于实际尺寸,"
                    "则命题成立。ceil_mode=True 是需要显式打开的向上取整选项,只作报告,不参与判定。"},
        reason={"en": f"Right on {ok_pool} of {n_pool} pooling layers ({pool['floor_ok']} of {pool['configs']} random, "
                      f"{pool['default_stride']} of them with the default stride; {total['pool_floor']} of "
                      f"{total['pool_layers']} in the networks). With ceil_mode=True the floored formula is right on "
                      f"{pool['ceil_floor_ok']} of {pool['ceil_configs']}: there the division rounds up.",
                "zh": f"在 {n_pool} 个池化层中 {ok_pool} 个正确(随机配置 {pool['configs']} 个中 {pool['floor_ok']} 个,"
                      f"其中 {pool['default_stride']} 个用默认步幅;网络中 {total['pool_layers']} 个中 {total['pool_floor']} 个)。"
                      f"ceil_mode=True 时取整公式在 {pool['ceil_configs']} 个中只对 {pool['ceil_floor_ok']} 个:那时除法向上取整。"},
        evidence=["sweeps", "layers"],
    ))
    n = total["layers"]
    dil, unet = per_net["dilated context module"], per_net["U-Net decoder"]
    ev.add(check(
        "q03.formula-is-complete", total["page_floor"] == n,
        rule={"en": f"The claim holds if the floored page formula gives the size of every one of the {n} "
                    "convolution, pooling and transposed-convolution layers of LeNet-5, ResNet-18, a dilated "
                    "context module (Yu & Koltun 2016) and a U-Net decoder (Ronneberger et al. 2015).",
              "zh": f"如果取整后的页面公式能给出 LeNet-5、ResNet-18、膨胀卷积上下文模块(Yu & Koltun 2016)和 U-Net 解码器"
                    f"(Ronneberger 等 2015)中全部 {n} 个卷积、池化和转置卷积层的尺寸,则命题成立。"},
        reason={"en": f"Right on {total['page_floor']} of {n} layers: it fails on the dilated convolutions "
                      f"({dil['page_floor']} of {dil['layers']} right) and the transposed convolutions "
                      f"({unet['page_floor']} of {unet['layers']} right in the decoder), which need formulas of their "
                      f"own; dlfaq.shapes.output_shape's complete formulas agree with tracing on {total['formula_ok']} of {n}.",
                "zh": f"在 {n} 层中只对 {total['page_floor']} 层:膨胀卷积({dil['layers']} 层中对 {dil['page_floor']} 层)"
                      f"和转置卷积(解码器 {unet['layers']} 层中对 {unet['page_floor']} 层)上出错,它们需要各自的公式;"
                      f"dlfaq.shapes.output_shape 的完整公式在 {n} 层中有 {total['formula_ok']} 层与实际追踪一致。"},
        evidence=["layers", "receptive-field"],
    ))


@experiment(
    3,
    "feature-map-sizes",
    title={"en": "Feature-map sizes: formula vs running the layers", "zh": "特征图尺寸:公式与实际运行对比"},
    description={
        "en": "Per-layer sizes of LeNet-5, ResNet-18, a dilated context module and a U-Net decoder, computed by "
        "dlfaq.shapes.output_shape and by tracing on the meta device; the page's formula on random convolution "
        "and pooling configurations; receptive-field growth.",
        "zh": "对 LeNet-5、ResNet-18、膨胀卷积上下文模块和 U-Net 解码器逐层计算尺寸:用 dlfaq.shapes.output_shape 公式计算,"
        "并在 meta 设备上实际追踪;在随机的卷积和池化配置上检验页面公式;感受野随深度的增长。",
    },
)
def feature_map_sizes(ctx: RunContext) -> Evidence:
    ev = Evidence()
    rows: list[list] = []
    per_net: dict[str, dict[str, int]] = {}
    traces = {}
    for net, (factory, shape) in ctx.track(list(NETWORKS.items()), desc="tracing"):
        traces[net] = trace(factory, shape)
        per_net[net] = check_layers(traces[net], rows, net)
    total = {k: sum(c[k] for c in per_net.values()) for k in next(iter(per_net.values()))}
    n_sweep = ctx.pick(quick=2000, full=10000, smoke=200)
    conv = conv_sweep(ctx.seed, n_sweep)
    pool = pool_sweep(ctx.seed, n_sweep)
    rn = traces["ResNet-18"]
    last_conv = [i for i in rn.layers if i.type == "Conv2d"][-1]
    ev.metrics.update(
        layers_checked=total["layers"],
        formula_vs_trace_agree=total["formula_ok"],
        page_formula_exact=total["page_exact"],
        page_formula_with_floor=total["page_floor"],
        per_network={k: dict(v) for k, v in per_net.items()},
        conv_sweep=conv,
        pool_sweep=pool,
        resnet18_final_receptive_field=last_conv.receptive_field[0],
        resnet18_params=rn.total_params,
        lenet5_params=traces["LeNet-5"].total_params,
    )
    ev.table(
        "layers",
        ["network", "layer", "type", "input", "dlfaq formula", "traced", "page formula", "receptive field"],
        rows,
        title="Every conv / pool / transposed-conv layer: formula vs trace vs the page's formula",
    )
    ev.table(
        "sweeps",
        ["sweep", "configurations", "floor((W−K+2P)/S)+1 right", "note"],
        [["Conv1d/Conv2d, dilation 1", conv["configs"], conv["floor_ok"],
          f"literal value an integer on {conv['literal_integer']}"],
         ["Max/AvgPool 1d/2d, ceil_mode=False", pool["configs"], pool["floor_ok"],
          f"{pool['default_stride']} with the default stride (= kernel)"],
         ["Max/AvgPool 1d/2d, ceil_mode=True", pool["ceil_configs"], pool["ceil_floor_ok"], "rounds up instead"]],
        title="Random layer configurations, output size from torch vs the floored page formula",
    )
    ev.figure("receptive-field", receptive_field_figure(traces),
              "Receptive field (left, log scale) and feature-map width (right) by depth, main path only.")
    judge_claims(ev, per_net, total, conv, pool)
    ev.notes = (
        "The page gives (W − K + 2P)/S + 1; integer sizes need the floor. Dilated and transposed convolutions "
        "need formulas of their own; adaptive pooling takes its output size as an argument."
    )
    return ev
