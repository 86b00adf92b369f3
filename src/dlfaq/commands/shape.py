"""``dlfaq shape layer ...`` and ``dlfaq shape model MODULE:FACTORY``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from dlfaq.commands._common import JsonOpt, UserError, print_json, print_table

shape_app = typer.Typer(help="Feature-map sizes of conv / pool layers and whole models (Q3).", no_args_is_help=True)

_FAMILIES = {
    "conv": "Conv",
    "convtranspose": "ConvTranspose",
    "conv_transpose": "ConvTranspose",
    "maxpool": "MaxPool",
    "avgpool": "AvgPool",
    "adaptiveavgpool": "AdaptiveAvgPool",
    "adaptivemaxpool": "AdaptiveMaxPool",
}
LAYER_NAMES = sorted(f"{fam}{d}d" for fam in _FAMILIES if fam != "conv_transpose" for d in (1, 2, 3))


def _ints(text: str | None, what: str) -> int | tuple[int, ...] | None:
    if text is None:
        return None
    parts = text.replace("x", ",").split(",")
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        raise UserError(f"--{what} must be an int or ints separated by x or comma, not {text!r}") from None
    return vals[0] if len(vals) == 1 else vals


def build_layer(
    kind: str,
    in_channels: int,
    *,
    out_channels: int | None = None,
    kernel: str | None = None,
    stride: str | None = None,
    padding: str = "0",
    dilation: str = "1",
    output_padding: str = "0",
    groups: int = 1,
    ceil_mode: bool = False,
    output_size: str | None = None,
):  # -> nn.Module
    """Build the torch layer named ``kind`` (e.g. ``conv2d``) on the meta device."""
    import torch
    from torch import nn

    key = kind.lower().replace("-", "")
    fam, dim = key[:-2], key[-2:]
    if fam not in _FAMILIES or dim not in ("1d", "2d", "3d"):
        raise UserError(f"unknown layer {kind!r}; choose one of: {', '.join(LAYER_NAMES)}")
    cls = getattr(nn, f"{_FAMILIES[fam]}{dim}")
    pad = padding if padding in ("same", "valid") else _ints(padding, "padding")
    try:
        if fam.startswith("adaptive"):
            if output_size is None:
                raise UserError(f"{kind} needs --output-size")
            size = tuple(None if p.strip().lower() == "none" else int(p) for p in output_size.replace("x", ",").split(","))
            return cls(size[0] if len(size) == 1 else size)
        if kernel is None:
            raise UserError(f"{kind} needs --kernel")
        k = _ints(kernel, "kernel")
        if fam in ("conv", "convtranspose", "conv_transpose"):
            kwargs = dict(stride=_ints(stride, "stride") or 1, padding=pad, dilation=_ints(dilation, "dilation"), groups=groups)
            if fam != "conv":
                kwargs["output_padding"] = _ints(output_padding, "output-padding")
            return cls(in_channels, out_channels or in_channels, k, device=torch.device("meta"), **kwargs)
        if isinstance(pad, str):
            raise UserError(f"{kind} does not accept padding {pad!r}; give an int")
        kwargs = dict(stride=_ints(stride, "stride"), padding=pad, ceil_mode=ceil_mode)
        if fam == "maxpool":
            kwargs["dilation"] = _ints(dilation, "dilation")
        return cls(k, **kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{cls.__name__}: {exc}") from None


def layer_cmd(
    kind: str = typer.Argument(..., metavar="LAYER", help="conv2d, convtranspose2d, maxpool2d, avgpool1d, adaptiveavgpool2d, ..."),
    input: str = typer.Option(..., "--input", help="Input shape, e.g. 1x3x224x224 (batched) or 3x224x224."),
    kernel: str = typer.Option(None, "--kernel", help="Kernel size: 3 or 3x5."),
    stride: str = typer.Option(None, "--stride", help="Stride (pooling defaults to the kernel size)."),
    padding: str = typer.Option("0", "--padding", help="int, tuple (1x2), 'same' or 'valid'."),
    dilation: str = typer.Option("1", "--dilation"),
    output_padding: str = typer.Option("0", "--output-padding", help="Transposed convolutions only."),
    groups: int = typer.Option(1, "--groups"),
    out_channels: int = typer.Option(None, "--out-channels", help="Convolutions: number of filters (default: in channels)."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Pooling: round the output size up."),
    output_size: str = typer.Option(None, "--output-size", help="Adaptive pooling: e.g. 7x7 or 1."),
    as_json: bool = JsonOpt,
) -> None:
    """Output shape of one layer, from the formula (the layer is not run)."""
    from dlfaq.shapes import output_shape, parse_shape

    try:
        shape = parse_shape(input)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    fam_dim = kind.lower()[-2:]
    nd = int(fam_dim[0]) if fam_dim in ("1d", "2d", "3d") else 2
    in_ch = shape[-nd - 1] if len(shape) >= nd + 1 else 1
    layer = build_layer(
        kind, in_ch, out_channels=out_channels, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
        output_padding=output_padding, groups=groups, ceil_mode=ceil_mode, output_size=output_size,
    )  # fmt: skip
    try:
        out = output_shape(layer, shape)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print_json({"layer": repr(layer), "input_shape": list(shape), "output_shape": list(out)})
    else:
        print(f"{layer!r}: {'x'.join(map(str, shape))} -> {'x'.join(map(str, out))}")


def _load_factory(spec: str):
    if ":" not in spec:
        raise UserError(f"expected MODULE:FACTORY (e.g. mypkg.models:resnet18), got {spec!r}")
    mod_name, attr = spec.split(":", 1)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # like `python -m`: the current folder is importable
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:
        raise UserError(f"cannot import {mod_name!r}: {exc} (try `dlfaq doctor import {mod_name}`)") from None
    factory = getattr(mod, attr, None)
    if factory is None or not callable(factory):
        raise UserError(f"{mod_name!r} has no callable {attr!r}")
    return factory


def model_cmd(
    spec: str = typer.Argument(..., metavar="MODULE:FACTORY", help="A function returning an nn.Module."),
    input: str = typer.Option(..., "--input", help="Input shape, e.g. 1x3x224x224."),
    as_json: bool = JsonOpt,
) -> None:
    """Per-layer output shapes, parameters and receptive fields of a model (run on the meta device)."""
    from dlfaq.shapes import parse_shape, trace

    try:
        shape = parse_shape(input)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    factory = _load_factory(spec)
    try:
        t = trace(factory, shape)
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print_json(t.to_json())
        return
    rows = [
        [
            layer.name,
            layer.type,
            "x".join(map(str, layer.output_shape)),
            f"{layer.params:,}",
            "global" if layer.receptive_field is None else "x".join(map(str, layer.receptive_field)),
        ]
        for layer in t.layers
    ]
    print_table(["layer", "type", "output", "params", "receptive field"], rows)
    print(f"total parameters: {t.total_params:,}")


shape_app.command("layer")(layer_cmd)
shape_app.command("model")(model_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(shape_app, name="shape")
