"""``dlfaq shape layer ...`` and ``dlfaq shape model MODULE:FACTORY``."""

from __future__ import annotations

import importlib
import math
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

import typer

from dlfaq.commands._common import (
    JsonOpt,
    UserError,
    command_group,
    first_line,
    print_json,
    print_table,
    short,
    want_traceback,
)

if TYPE_CHECKING:
    from torch import nn

MAX_SIZE = 2**31 - 1  # larger sizes overflow torch's 32-bit kernel arguments; no real layer has them

shape_app = command_group("shape", "Feature-map sizes of conv / pool layers and whole models (Q3).")

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


def _ints(text: str | None, what: str, lo: int = 1) -> int | tuple[int, ...] | None:
    """An int or ``AxB`` / ``A,B`` ints for option ``--what``, each in ``lo .. MAX_SIZE``."""
    if text is None:
        return None
    parts = text.replace("x", ",").split(",")
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        raise UserError(f"--{what} must be an int or ints separated by x or comma, not {short(text, 40)!r}") from None
    for v in vals:
        if not lo <= v <= MAX_SIZE:
            raise UserError(f"--{what} must be {'positive' if lo == 1 else 'non-negative'} "
                            f"(at most {MAX_SIZE}), not {short(v, 30)}")
    return vals[0] if len(vals) == 1 else vals


def _input_shape(text: str) -> tuple[int, ...]:
    from dlfaq.shapes import parse_shape

    try:
        shape = parse_shape(text)
    except ValueError as exc:
        raise UserError(short(str(exc), 200)) from None
    if len(shape) > 8:
        raise UserError(f"--input has {len(shape)} dimensions; layers take at most 5 (batch, channels, 3 spatial)")
    if any(d > MAX_SIZE for d in shape) or math.prod(shape) >= 2**62:
        raise UserError(f"--input {short(text, 40)!r} is too large (each size at most {MAX_SIZE}, "
                        "the whole tensor under 2**62 elements)")
    return shape


def build_layer(
    kind: str,
    in_channels: int,
    *,
    out_channels: int | None = None,
    kernel: str | None = None,
    stride: str | None = None,
    padding: str | None = None,
    dilation: str | None = None,
    output_padding: str | None = None,
    groups: int | None = None,
    ceil_mode: bool = False,
    output_size: str | None = None,
) -> nn.Module:
    """Build the torch layer named ``kind`` (e.g. ``conv2d``) on the meta device."""
    import torch
    from torch import nn

    fam, dim = _family(kind)
    cls = getattr(nn, f"{_FAMILIES[fam]}{dim}")
    name = cls.__name__
    conv, transposed = fam in _CONV, fam in _CONV and fam != "conv"
    given = {"--kernel": kernel is not None, "--stride": stride is not None, "--padding": padding is not None,
             "--dilation": dilation is not None, "--output-padding": output_padding is not None,
             "--groups": groups is not None, "--out-channels": out_channels is not None,
             "--ceil-mode": bool(ceil_mode), "--output-size": output_size is not None}
    extra = [opt for opt, on in given.items() if on and opt not in _options_of(fam)]
    if extra:  # an option the layer does not have is a mistake, not something to ignore silently
        raise UserError(f"{name} does not take {', '.join(extra)}")
    pad = _padding(padding, name, named_ok=conv and not transposed)
    for opt, count in (("--groups", groups), ("--out-channels", out_channels)):
        if count is not None and not 1 <= count <= MAX_SIZE:
            raise UserError(f"{opt} must be positive, not {short(count, 30)}")
    try:
        if fam.startswith("adaptive"):
            return cls(_output_size(kind, output_size))
        if kernel is None:
            raise UserError(f"{kind} needs --kernel")
        k = _ints(kernel, "kernel")
        if conv:
            kwargs: dict[str, Any] = dict(stride=_ints(stride, "stride") or 1, padding=pad,
                                          dilation=_ints(dilation or "1", "dilation"), groups=groups or 1)
            if transposed:
                kwargs["output_padding"] = _ints(output_padding or "0", "output-padding", lo=0)
            return cls(in_channels, out_channels or in_channels, k, device=torch.device("meta"), **kwargs)
        kwargs = dict(stride=_ints(stride, "stride"), padding=pad, ceil_mode=ceil_mode)
        if fam == "maxpool":
            kwargs["dilation"] = _ints(dilation or "1", "dilation")
        return cls(k, **kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:  # torch's own checks; only their first line
        raise UserError(f"{name}: {first_line(exc)}") from None


_CONV = ("conv", "convtranspose", "conv_transpose")


def _family(kind: str) -> tuple[str, str]:
    """``conv2d`` -> ``("conv", "2d")``; an unknown layer is a user error listing the known ones."""
    key = kind.lower().replace("-", "")
    fam, dim = key[:-2], key[-2:]
    if fam not in _FAMILIES or dim not in ("1d", "2d", "3d"):
        raise UserError(f"unknown layer {short(kind, 40)!r}; choose one of: {', '.join(LAYER_NAMES)}")
    return fam, dim


def _options_of(fam: str) -> set[str]:
    """The ``shape layer`` options that a layer family takes."""
    if fam.startswith("adaptive"):
        return {"--output-size"}
    options = {"--kernel", "--stride", "--padding"}
    if fam in _CONV:
        return options | {"--dilation", "--groups", "--out-channels"} | ({"--output-padding"} if fam != "conv" else set())
    return options | {"--ceil-mode"} | ({"--dilation"} if fam == "maxpool" else set())


def _padding(text: str | None, name: str, named_ok: bool) -> str | int | tuple[int, ...]:
    """``--padding``: ints (default 0), or ``same`` / ``valid`` where the layer (a plain convolution) takes them."""
    if text in ("same", "valid"):
        if not named_ok:
            raise UserError(f"{name} does not accept padding {text!r}; give an int")
        return text
    pad = _ints("0" if text is None else text, "padding", lo=0)
    assert pad is not None  # a string was given
    return pad


def _output_size(kind: str, text: str | None) -> Any:
    """``--output-size`` of adaptive pooling: ``7``, ``7x7``, or ``none`` for a size kept as it is."""
    if text is None:
        raise UserError(f"{kind} needs --output-size")
    size = tuple(None if p.strip().lower() == "none" else _ints(p, "output-size")
                 for p in text.replace("x", ",").split(","))
    return size[0] if len(size) == 1 else size


def layer_cmd(
    kind: str = typer.Argument(..., metavar="LAYER", help="conv2d, convtranspose2d, maxpool2d, avgpool1d, adaptiveavgpool2d, ..."),
    input: str = typer.Option(..., "--input", help="Input shape, e.g. 1x3x224x224 (batched) or 3x224x224."),
    kernel: str = typer.Option(None, "--kernel", help="Kernel size: 3 or 3x5."),
    stride: str = typer.Option(None, "--stride", help="Stride (pooling defaults to the kernel size)."),
    padding: str = typer.Option(None, "--padding", help="int, tuple (1x2), 'same' or 'valid' (default 0)."),
    dilation: str = typer.Option(None, "--dilation", help="Convolutions and max pooling (default 1)."),
    output_padding: str = typer.Option(None, "--output-padding", help="Transposed convolutions only (default 0)."),
    groups: int = typer.Option(None, "--groups", help="Convolutions only (default 1)."),
    out_channels: int = typer.Option(None, "--out-channels", help="Convolutions: number of filters (default: in channels)."),
    ceil_mode: bool = typer.Option(False, "--ceil-mode", help="Pooling: round the output size up."),
    output_size: str = typer.Option(None, "--output-size", help="Adaptive pooling: e.g. 7x7 or 1."),
    as_json: bool = JsonOpt,
) -> None:
    """Output shape of one layer, from the formula (the layer is not run)."""
    from dlfaq.shapes import output_shape

    shape = _input_shape(input)
    fam_dim = kind.lower()[-2:]
    nd = int(fam_dim[0]) if fam_dim in ("1d", "2d", "3d") else 2
    in_ch = shape[-nd - 1] if len(shape) >= nd + 1 else 1
    layer = build_layer(
        kind, in_ch, out_channels=out_channels, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
        output_padding=output_padding, groups=groups, ceil_mode=ceil_mode, output_size=output_size,
    )  # fmt: skip
    try:
        out = output_shape(layer, shape)
    except (ValueError, TypeError) as exc:
        raise UserError(first_line(exc)) from None
    if as_json:
        print_json({"layer": repr(layer), "input_shape": list(shape), "output_shape": list(out)})
    else:
        print(f"{layer!r}: {'x'.join(map(str, shape))} -> {'x'.join(map(str, out))}")


_NAME = r"[A-Za-z_]\w{0,254}(?:\.[A-Za-z_]\w{0,254})*"  # each part must fit in a file name
RUNS_CODE = ("imports MODULE and calls FACTORY: their code runs with your permissions "
             "(the current folder comes first on sys.path, as with `python -m`)")


def _user_frame(tb: TracebackType | None, module_file: str | None) -> tuple[str, int] | None:
    """The file and line of the innermost frame outside dlfaq, torch and importlib, if any.

    That is where the user's own code went wrong (their module, or a library it called);
    the module's own file wins when it is on the stack.
    """
    frames = traceback.extract_tb(tb)
    if module_file:
        mine = [f for f in frames if f.filename == module_file]
        if mine:
            return mine[-1].filename, mine[-1].lineno or 0
    import torch

    skip = (str(Path(__file__).resolve().parents[1]), str(Path(torch.__file__).resolve().parent), "<frozen ")
    outside = [f for f in frames if not f.filename.startswith(skip)]
    if outside:
        return outside[-1].filename, outside[-1].lineno or 0
    return None


def _user_error(exc: BaseException, module_file: str | None, doing: str) -> UserError:
    """``file:line: ExceptionType: message`` for an error raised by the user's code, as a UserError."""
    kind = type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename:
        where: tuple[str, int] | None = (exc.filename, exc.lineno or 0)
        msg = exc.msg
    elif isinstance(exc, ValueError) and exc.__cause__ is not None:  # trace(): "the model rejects ...: cause"
        where = _user_frame(exc.__cause__.__traceback__, module_file)
        kind, msg = type(exc.__cause__).__name__, first_line(exc, 200)
    else:
        where = _user_frame(exc.__traceback__, module_file)
        msg = first_line(exc, 200) if str(exc).strip() else ""
    loc = f"{short(where[0], 120)}:{where[1]}: " if where else ""
    err = UserError(f"{loc}{kind}{': ' + msg if msg else ''} ({doing}; --traceback shows all)")
    err.__cause__ = exc
    return err


def _load_factory(spec: str) -> tuple[Callable[..., Any], str | None]:
    """The callable ``FACTORY`` of ``MODULE:FACTORY``, imported, and the module's file."""
    if ":" not in spec:
        raise UserError(f"expected MODULE:FACTORY (e.g. mypkg.models:resnet18), got {short(spec, 60)!r}")
    mod_name, attr = spec.split(":", 1)
    if not re.fullmatch(_NAME, mod_name):
        raise UserError(f"not a module name: {short(mod_name, 60)!r} (absolute, dotted names only, "
                        "e.g. mypkg.models)")
    if not re.fullmatch(_NAME, attr):
        raise UserError(f"not a factory name: {short(attr, 60)!r} (a function or class in {mod_name}, "
                        "e.g. resnet18)")
    print(f"dlfaq: note: `shape model` {RUNS_CODE.replace('MODULE', mod_name).replace('FACTORY', attr)}",
          file=sys.stderr)
    mod = _import_user_module(mod_name)
    factory: Any = mod
    for part in attr.split("."):
        factory = getattr(factory, part, None)
    if factory is None or not callable(factory):
        raise UserError(f"{mod_name!r} has no callable {attr!r}")
    return factory, getattr(mod, "__file__", None)


def _import_user_module(mod_name: str) -> ModuleType:
    """The user's module, found as `python -m` finds it; a failure there is one line (a :class:`UserError`)."""
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # like `python -m`: the current folder is importable
    try:
        return importlib.import_module(mod_name)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's module failed: one line (SystemExit too)
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing and (mod_name == missing or mod_name.startswith(missing + ".")):
            raise UserError(f"cannot import {mod_name!r}: no module named {missing!r} "
                            f"(try `dlfaq doctor import {mod_name}`)") from None
        if want_traceback():
            raise
        raise _user_error(exc, None, f"while importing {mod_name}") from exc


def model_cmd(
    spec: str = typer.Argument(..., metavar="MODULE:FACTORY", help="A function returning an nn.Module."),
    input: str = typer.Option(..., "--input", help="Input shape, e.g. 1x3x224x224."),
    as_json: bool = JsonOpt,
) -> None:
    """Per-layer output shapes, parameters and receptive fields of a model (run on the meta device).

    Note: this imports MODULE and calls FACTORY, so their code runs with your permissions
    (the current folder comes first on sys.path, as with `python -m`). Errors raised by that
    code are shown as one line, file:line: ExceptionType: message; `dlfaq --traceback shape
    model ...` prints the whole traceback.
    """
    from dlfaq.shapes import trace

    shape = _input_shape(input)
    factory, module_file = _load_factory(spec)
    try:
        t = trace(factory, shape)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - raised by the user's factory or forward(): one line
        if want_traceback():
            raise
        if isinstance(exc, (ValueError, TypeError)) and exc.__cause__ is None and \
                _user_frame(exc.__traceback__, module_file) is None:
            raise UserError(first_line(exc)) from None  # dlfaq's own check (e.g. not an nn.Module)
        raise _user_error(exc, module_file, f"while running {spec}") from exc
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
