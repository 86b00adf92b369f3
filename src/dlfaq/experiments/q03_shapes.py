"""Q3: feature-map sizes by formula vs by running the layers, on real architectures."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dlfaq.experiments._core import Evidence, RunContext, experiment, judge
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


def _check_layers(tr, ctx_rows: list, net: str) -> dict[str, int]:
    counts = {
        "layers": 0, "formula_ok": 0, "page_exact": 0, "page_floor": 0,
        "pool_layers": 0, "pool_floor": 0, "plain_layers": 0, "plain_floor": 0,
    }  # fmt: skip
    for info in tr.layers:
        mod = info.module
        if not isinstance(mod, FORMULA_TYPES):
            continue
        counts["layers"] += 1
        by_formula = output_shape(mod, info.input_shape)
        ok = by_formula == info.output_shape
        counts["formula_ok"] += ok
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
        dilation = getattr(mod, "dilation", 1)
        if isinstance(mod, CONV_TYPES + POOL_TYPES) and max(np.atleast_1d(dilation)) == 1:
            # the layers the page's formula is meant for: no dilation, not transposed
            counts["plain_layers"] += 1
            counts["plain_floor"] += floored
        ctx_rows.append(
            [
                net,
                info.name,
                info.type,
                "x".join(map(str, info.input_shape)),
                "x".join(map(str, by_formula)),
                "x".join(map(str, info.output_shape)),
                "x".join(f"{p:g}" for p in page),
                "global" if info.receptive_field is None else "x".join(map(str, info.receptive_field)),
            ]
        )
    return counts


def _random_pool_agreement(seed: int, n: int) -> dict[str, float]:
    """Share of random pooling configurations where floor((W−K+2P)/S)+1 is the real size."""
    rng = np.random.default_rng(seed)
    hits = {False: [0, 0], True: [0, 0]}
    for _ in range(n):
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        w = int(rng.integers(k, 40))
        ceil = bool(rng.integers(0, 2))
        layer = nn.MaxPool1d(k, s, p, ceil_mode=ceil)
        real = layer(torch.zeros(1, 1, w)).shape[-1]
        hits[ceil][0] += real == (w - k + 2 * p) // s + 1
        hits[ceil][1] += 1
    return {
        "floor_rate_ceil_off": hits[False][0] / max(hits[False][1], 1),
        "floor_rate_ceil_on": hits[True][0] / max(hits[True][1], 1),
    }


@experiment(
    3,
    "feature-map-sizes",
    title={"en": "Feature-map sizes: formula vs running the layers", "zh": "特征图尺寸:公式与实际运行对比"},
    description={
        "en": "Per-layer sizes of LeNet-5, ResNet-18, a dilated context module and a U-Net decoder, computed by "
        "dlfaq.shapes.output_shape and by tracing on the meta device; the page's formula taken literally; "
        "receptive-field growth.",
        "zh": "对 LeNet-5、ResNet-18、膨胀卷积上下文模块和 U-Net 解码器逐层计算尺寸:用 dlfaq.shapes.output_shape 公式计算,"
        "并在 meta 设备上实际追踪;按字面套用页面公式;感受野随深度的增长。",
    },
)
def feature_map_sizes(ctx: RunContext) -> Evidence:
    ev = Evidence()
    rows: list[list] = []
    per_net: dict[str, dict[str, int]] = {}
    traces = {}
    for net, (factory, shape) in ctx.track(list(NETWORKS.items()), desc="tracing"):
        tr = trace(factory, shape)
        traces[net] = tr
        per_net[net] = _check_layers(tr, rows, net)

    total = {k: sum(c[k] for c in per_net.values()) for k in next(iter(per_net.values()))}
    pool = _random_pool_agreement(ctx.seed, ctx.pick(quick=2000, full=10000, smoke=200))
    rn = traces["ResNet-18"]
    last_conv = [i for i in rn.layers if i.type == "Conv2d"][-1]
    ev.metrics.update(
        layers_checked=total["layers"],
        formula_vs_trace_agree=total["formula_ok"],
        page_formula_exact=total["page_exact"],
        page_formula_with_floor=total["page_floor"],
        page_formula_with_floor_rate=total["page_floor"] / total["layers"],
        per_network={k: dict(v) for k, v in per_net.items()},
        resnet18_final_receptive_field=last_conv.receptive_field[0],
        resnet18_params=rn.total_params,
        lenet5_params=traces["LeNet-5"].total_params,
        **pool,
    )
    ev.table(
        "layers",
        ["network", "layer", "type", "input", "dlfaq formula", "traced", "page formula", "receptive field"],
        rows,
        title="Every conv / pool / transposed-conv layer: formula vs trace vs the page's formula",
    )

    # Figure: receptive field and spatial size by depth.
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
    ev.figure("receptive-field", fig, "Receptive field (left, log scale) and feature-map width (right) by depth, main path only.")

    n = total["layers"]
    ev.add(
        judge(
            "q03.conv-output-formula",
            supported=total["page_exact"] == n,
            partly=total["plain_floor"] == total["plain_layers"],
            rule="supported if the page's (W−K+2P)/S+1, taken literally, gives every conv/pool layer's size; "
            "partly if it does once floored, on every layer without dilation or transposition",
            reason=f"literal formula exact on {total['page_exact']}/{n} layers; floored, right on "
            f"{total['plain_floor']}/{total['plain_layers']} undilated conv/pool layers; dlfaq's complete formulas "
            f"agree with tracing on {total['formula_ok']}/{n}",
        )
    )
    ev.add(
        judge(
            "q03.pooling-same-formula",
            supported=pool["floor_rate_ceil_off"] == 1.0 and pool["floor_rate_ceil_on"] == 1.0,
            partly=pool["floor_rate_ceil_off"] == 1.0,
            rule="supported if floor((W−K+2P)/S)+1 matches MaxPool1d on every random configuration, with and "
            "without ceil_mode; partly if only with ceil_mode=False",
            reason=f"floored formula right on {pool['floor_rate_ceil_off']:.1%} of configurations without ceil_mode "
            f"and {pool['floor_rate_ceil_on']:.1%} with ceil_mode=True; pooling layers in the networks: "
            f"{total['pool_floor']}/{total['pool_layers']}",
        )
    )
    rate = total["page_floor"] / n
    ev.add(
        judge(
            "q03.formula-is-complete",
            supported=rate == 1.0,
            partly=rate >= 0.9,
            rule="supported if the (floored) page formula gives every conv/pool/transposed-conv layer of the four "
            "networks; partly if at least 90% of them (a few edge cases); not supported below that, since the "
            "claim is about every layer",
            reason=f"right on {total['page_floor']}/{n} layers ({rate:.0%}); it fails on dilated convolutions "
            f"({per_net['dilated context module']['page_floor']}/{per_net['dilated context module']['layers']} right) "
            f"and transposed convolutions ({per_net['U-Net decoder']['page_floor']}/{per_net['U-Net decoder']['layers']} right)",
        )
    )
    ev.notes = (
        "The page gives (W − K + 2P)/S + 1. ResNet-18's 7×7/2 stem on 224 pixels gives 112.5 by that formula: "
        "the real size, 112, needs the floor. Dilated and transposed convolutions need formulas of their own."
    )
    return ev

