"""Feature-map arithmetic for convolutions and pooling, and model tracing.

For each spatial dimension with input length ``W``, kernel ``K``, stride ``S``,
padding ``P`` (each side), dilation ``D`` and output padding ``OP``:

* convolution: ``W_out = floor((W + 2P - D(K-1) - 1) / S) + 1``
* transposed convolution: ``W_out = (W-1)S - 2P + D(K-1) + OP + 1``
* max / average pooling: the convolution formula (stride defaults to ``K``);
  with ``ceil_mode`` the division rounds up, and a last window that would start
  in the right padding is dropped
* adaptive pooling: the requested output size

References: Dumoulin & Visin (2016), "A guide to convolution arithmetic for
deep learning", arXiv:1603.07285; the shape sections of the PyTorch docs.
Receptive fields follow the recursion of Araujo et al. (2019, Distill):
``r_out = r_in + D(K-1) j_in`` and ``j_out = j_in S``.

:func:`output_shape` computes without running the layer and raises
``ValueError`` (naming the layer, the dimension and the sizes) wherever PyTorch
would reject the configuration. :func:`trace` runs a model on the ``meta``
device, so no memory is allocated for activations or weights.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = [
    "output_shape",
    "conv_out",
    "conv_transpose_out",
    "pool_out",
    "trace",
    "Trace",
    "LayerInfo",
    "parse_shape",
    "SUPPORTED_LAYERS",
]

Shape = tuple[int, ...]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONVT = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_MAXPOOL = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_AVGPOOL = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE = (
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
SUPPORTED_LAYERS: tuple[type[nn.Module], ...] = _CONV + _CONVT + _MAXPOOL + _AVGPOOL + _ADAPTIVE
# the same families as types, for the formulas' arguments (torch annotates their attributes)
_ConvLayer = nn.Conv1d | nn.Conv2d | nn.Conv3d
_ConvTransposeLayer = nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d
_PoolLayer = nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d | nn.AvgPool1d | nn.AvgPool2d | nn.AvgPool3d
_AdaptiveLayer = (nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool3d
                  | nn.AdaptiveMaxPool1d | nn.AdaptiveMaxPool2d | nn.AdaptiveMaxPool3d)


# --------------------------------------------------------------------------- scalar formulas


def conv_out(w: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output length of a convolution along one dimension (may be < 1 for invalid sizes)."""
    return (w + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_out(w: int, k: int, s: int = 1, p: int = 0, d: int = 1, op: int = 0) -> int:
    """Output length of a transposed convolution along one dimension."""
    return (w - 1) * s - 2 * p + d * (k - 1) + op + 1


def pool_out(w: int, k: int, s: int, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """Output length of max/avg pooling along one dimension, as PyTorch computes it.

    With ``ceil_mode`` the count rounds up, but the last window must start
    inside the input or the left padding (``(out - 1) * s < w + p``).
    """
    num = w + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        out = -(-num // s) + 1
        if (out - 1) * s >= w + p:
            out -= 1
    else:
        out = num // s + 1
    return out


# --------------------------------------------------------------------------- helpers


def _tuple(v: Any, n: int, what: str, layer: str) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    t = tuple(v)
    if len(t) == 1:
        t = t * n
    if len(t) != n or not all(isinstance(x, int) for x in t):
        raise ValueError(f"{layer}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    return t


def _fmt(t: Sequence[int]) -> str:
    return "x".join(str(x) for x in t)


def _split_input(layer: str, input_shape: Sequence[int], nd: int) -> tuple[Shape, int, Shape]:
    """Split into (batch prefix, channels, spatial); batched or unbatched input."""
    shape = tuple(int(x) for x in input_shape)
    if len(shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"{layer}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
            f"got {len(shape)}-D input of shape {_fmt(shape)}"
        )
    if any(x < 0 for x in shape):
        raise ValueError(f"{layer}: negative size in input shape {_fmt(shape)}")
    prefix = shape[:-nd - 1]
    return prefix, shape[-nd - 1], shape[-nd:]


def _spatial_dims(layer: nn.Module) -> int:
    name = type(layer).__name__
    return int(name[-2])  # "...1d" / "2d" / "3d"


def _check_positive(layer: str, what: str, values: Sequence[int]) -> None:
    for i, v in enumerate(values):
        if v <= 0:
            raise ValueError(f"{layer}: {what} must be positive, got {v} in dimension {i}")


def _sizes(layer: str, nd: int, **values: Any) -> tuple[tuple[int, ...], ...]:
    """Each of ``values`` as ``nd`` ints, converted in the order given; then ``kernel_size``,
    ``stride`` and ``dilation`` (which every windowed layer has) must be positive."""
    sizes = {what: _tuple(v, nd, what, layer) for what, v in values.items()}
    for what in ("kernel_size", "stride", "dilation"):
        _check_positive(layer, what, sizes[what])
    return tuple(sizes.values())


# --------------------------------------------------------------------------- per family


def _conv_shape(layer: _ConvLayer, input_shape: Sequence[int]) -> Shape:
    name = type(layer).__name__
    nd = _spatial_dims(layer)
    prefix, c, spatial = _split_input(name, input_shape, nd)
    if c != layer.in_channels:
        raise ValueError(f"{name}: expected {layer.in_channels} input channels, got {c}")
    k, s, d = _sizes(name, nd, kernel_size=layer.kernel_size, stride=layer.stride, dilation=layer.dilation)
    out = []
    if isinstance(layer.padding, str):
        if layer.padding == "same":
            if any(x != 1 for x in s):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride {_fmt(s)}")
            out = list(spatial)
            pads = [(di * (ki - 1)) for ki, di in zip(k, d, strict=True)]
            lefts = [pt // 2 for pt in pads]
            rights = [pt - pl for pt, pl in zip(pads, lefts, strict=True)]
        elif layer.padding == "valid":
            lefts = rights = [0] * nd
        else:
            raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {layer.padding!r}")
    else:
        p = _tuple(layer.padding, nd, "padding", name)
        if any(x < 0 for x in p):
            raise ValueError(f"{name}: padding must be non-negative, got {_fmt(p)}")
        lefts = rights = list(p)
    mode = getattr(layer, "padding_mode", "zeros")
    for i, w in enumerate(spatial):
        for pad in (lefts[i], rights[i]):
            if mode == "reflect" and pad >= w and pad > 0:
                raise ValueError(
                    f"{name}: reflect padding {pad} must be smaller than the input size {w} in dimension {i}"
                )
            if mode == "circular" and pad > w:
                raise ValueError(
                    f"{name}: circular padding {pad} must not exceed the input size {w} in dimension {i}"
                )
    if not out:
        for i, w in enumerate(spatial):
            padded = w + lefts[i] + rights[i]
            eff = d[i] * (k[i] - 1) + 1
            if padded < eff:
                raise ValueError(
                    f"{name}: padded input size {padded} (input {w} + padding {lefts[i] + rights[i]}) "
                    f"is smaller than the effective kernel size {eff} in dimension {i}"
                )
            out.append((padded - eff) // s[i] + 1)
    return (*prefix, layer.out_channels, *out)


def _conv_transpose_shape(layer: _ConvTransposeLayer, input_shape: Sequence[int]) -> Shape:
    name = type(layer).__name__
    nd = _spatial_dims(layer)
    prefix, c, spatial = _split_input(name, input_shape, nd)
    if c != layer.in_channels:
        raise ValueError(f"{name}: expected {layer.in_channels} input channels, got {c}")
    if isinstance(layer.padding, str) or (
        isinstance(layer.padding, tuple) and any(isinstance(x, str) for x in layer.padding)
    ):
        raise ValueError(f"{name}: string padding ({layer.padding!r}) is not supported for transposed convolutions")
    k, s, d, p, op = _sizes(name, nd, kernel_size=layer.kernel_size, stride=layer.stride, dilation=layer.dilation,
                            padding=layer.padding, output_padding=layer.output_padding)
    out = []
    for i, w in enumerate(spatial):
        if op[i] < 0 or not (op[i] < s[i] or op[i] < d[i]):
            raise ValueError(
                f"{name}: output_padding {op[i]} must be smaller than the stride ({s[i]}) "
                f"or the dilation ({d[i]}) in dimension {i}"
            )
        o = conv_transpose_out(w, k[i], s[i], p[i], d[i], op[i])
        if o < 1:
            raise ValueError(
                f"{name}: output size {o} is too small for input size {w} in dimension {i} "
                f"(kernel {k[i]}, stride {s[i]}, padding {p[i]}, dilation {d[i]})"
            )
        out.append(o)
    return (*prefix, layer.out_channels, *out)


def _pool_shape(layer: _PoolLayer, input_shape: Sequence[int]) -> Shape:
    name = type(layer).__name__
    nd = _spatial_dims(layer)
    prefix, c, spatial = _split_input(name, input_shape, nd)
    given: Any = layer.stride  # torch keeps an empty stride as given; pooling then steps by the kernel
    stride = given if given not in (None, (), []) else layer.kernel_size
    k, s, p, d = _sizes(name, nd, kernel_size=layer.kernel_size, stride=stride, padding=layer.padding,
                        dilation=getattr(layer, "dilation", 1))
    out = []
    for i, w in enumerate(spatial):
        if isinstance(layer, nn.AvgPool3d) and w < k[i]:
            # avg_pool3d checks the unpadded input against the kernel; the 1-D, 2-D and
            # max-pool kernels only check the padded size (through the output size).
            raise ValueError(f"{name}: input size {w} is smaller than the kernel size {k[i]} in dimension {i}")
        if p[i] < 0 or p[i] > k[i] // 2:
            raise ValueError(
                f"{name}: padding {p[i]} must be between 0 and half the kernel size ({k[i]} // 2 = {k[i] // 2}) "
                f"in dimension {i}"
            )
        o = pool_out(w, k[i], s[i], p[i], d[i], bool(layer.ceil_mode))
        if o < 1:
            raise ValueError(
                f"{name}: output size {o} is too small for input size {w} in dimension {i} "
                f"(kernel {k[i]}, stride {s[i]}, padding {p[i]}, dilation {d[i]})"
            )
        out.append(o)
    return (*prefix, c, *out)


def _adaptive_shape(layer: _AdaptiveLayer, input_shape: Sequence[int]) -> Shape:
    name = type(layer).__name__
    nd = _spatial_dims(layer)
    prefix, c, spatial = _split_input(name, input_shape, nd)
    size: Any = layer.output_size
    if nd == 1 and (size is None or (isinstance(size, tuple) and None in size)):
        raise ValueError(f"{name}: output_size None (keep the input size) is only accepted in 2-D and 3-D")
    if isinstance(size, int) or size is None:
        size = (size,) * nd
    size = tuple(size)
    if len(size) == 1:
        size = size * nd
    if len(size) != nd:
        raise ValueError(f"{name}: output_size must have {nd} entries, got {layer.output_size!r}")
    out = []
    for i, (w, o) in enumerate(zip(spatial, size, strict=True)):
        o = w if o is None else int(o)
        if w < 1:
            raise ValueError(f"{name}: input size must be positive, got {w} in dimension {i}")
        if o < 0:
            raise ValueError(f"{name}: output size must be non-negative, got {o} in dimension {i}")
        out.append(o)
    return (*prefix, c, *out)


# each family's formula takes the layers of its family (see the _*Layer types)
_SHAPE_OF: tuple[tuple[tuple[type[nn.Module], ...], Callable[[Any, Sequence[int]], Shape]], ...] = (
    (_CONV, _conv_shape),
    (_CONVT, _conv_transpose_shape),
    (_MAXPOOL + _AVGPOOL, _pool_shape),
    (_ADAPTIVE, _adaptive_shape),
)


def output_shape(layer: nn.Module, input_shape: Sequence[int]) -> Shape:
    """Output shape of ``layer`` for an input of ``input_shape``, from the formula.

    Supports ``nn.Conv{1,2,3}d``, ``nn.ConvTranspose{1,2,3}d``,
    ``nn.MaxPool{1,2,3}d``, ``nn.AvgPool{1,2,3}d`` and the adaptive max/avg
    pools, with batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``
    input. The layer is not run. Raises ``ValueError`` where PyTorch would
    reject the configuration, naming the layer, the dimension and the sizes.

    >>> output_shape(nn.Conv2d(3, 64, 7, stride=2, padding=3), (1, 3, 224, 224))
    (1, 64, 112, 112)
    """
    for family, shape_of in _SHAPE_OF:
        if isinstance(layer, family):
            return shape_of(layer, input_shape)
    raise TypeError(
        f"output_shape does not know {type(layer).__name__}; supported: "
        + ", ".join(sorted(t.__name__ for t in SUPPORTED_LAYERS))
    )


def parse_shape(text: str) -> Shape:
    """Parse ``"1x3x224x224"`` (or ``1,3,224,224``) into a tuple of ints."""
    parts = text.replace(",", "x").replace("×", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts if p.strip() != "")
    except ValueError:
        raise ValueError(f"bad shape {text!r}: expected sizes separated by 'x', like 1x3x224x224") from None
    if not shape or any(s < 0 for s in shape):
        raise ValueError(f"bad shape {text!r}: expected non-negative sizes separated by 'x'")
    return shape


# --------------------------------------------------------------------------- tracing


@dataclass
class LayerInfo:
    """One leaf module call: its output shape, parameters and receptive field.

    ``receptive_field`` and ``jump`` are per spatial dimension, in input pixels;
    they are ``None`` after a layer that mixes every position (Linear, adaptive
    pooling to size 1 and anything after them), where the field is the whole input.
    """

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    params: int
    receptive_field: tuple[int, ...] | None
    jump: tuple[int, ...] | None
    module: nn.Module | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "receptive_field": None if self.receptive_field is None else list(self.receptive_field),
            "jump": None if self.jump is None else list(self.jump),
        }


@dataclass
class Trace:
    input_shape: Shape
    output_shape: Shape | None
    layers: list[LayerInfo]
    total_params: int

    def to_json(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "total_params": self.total_params,
            "layers": [layer.to_json() for layer in self.layers],
        }


_RF = tuple[tuple[int, ...], tuple[int, ...]] | None  # (receptive field, jump) or None = global


def _rf_update(layer: nn.Module, rf: _RF, nd: int) -> _RF:
    """Receptive field after ``layer`` given the one of its input."""
    if rf is None:
        return None
    r, j = rf
    if isinstance(layer, _CONV + _CONVT + _MAXPOOL + _AVGPOOL):
        k = _tuple(layer.kernel_size, nd, "kernel_size", type(layer).__name__)
        stride = getattr(layer, "stride", None) or layer.kernel_size
        s = _tuple(stride, nd, "stride", type(layer).__name__)
        d = _tuple(getattr(layer, "dilation", 1), nd, "dilation", type(layer).__name__)
        if isinstance(layer, _CONVT):
            # A transposed conv upsamples: neighbouring outputs are 1/S input steps apart,
            # and each output depends on ceil(D(K-1)+1 / S) inputs.
            new_r = tuple(ri + (math.ceil((di * (ki - 1) + 1) / si) - 1) * ji for ri, ki, si, di, ji in zip(r, k, s, d, j, strict=True))
            new_j = tuple(max(1, ji // si) for ji, si in zip(j, s, strict=True))
            return new_r, new_j
        new_r = tuple(ri + di * (ki - 1) * ji for ri, ki, di, ji in zip(r, k, d, j, strict=True))
        new_j = tuple(ji * si for ji, si in zip(j, s, strict=True))
        return new_r, new_j
    if isinstance(layer, nn.Linear | nn.Bilinear | nn.MultiheadAttention) or isinstance(layer, _ADAPTIVE):
        return None
    return rf


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _merge(rfs: list[_RF]) -> _RF:
    """The element-wise largest field (and jump) of several tensors; None if any is global."""
    known: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    for rf in rfs:
        if rf is None:
            return None
        known.append(rf)
    return (
        tuple(max(vals) for vals in zip(*(r[0] for r in known), strict=True)),
        tuple(max(vals) for vals in zip(*(r[1] for r in known), strict=True)),
    )


class _Tracer:
    """Records one :class:`LayerInfo` per leaf module call and the receptive field of every tensor."""

    def __init__(self, model: nn.Module, x: torch.Tensor, nd: int) -> None:
        self.model = model
        self.nd = nd
        self.infos: list[LayerInfo] = []
        self.rf_of: dict[int, _RF] = {id(x): ((1,) * nd, (1,) * nd)}
        self.keep: list[torch.Tensor] = [x]  # keep tensors alive so their ids stay unique
        self.last_rf: _RF = self.rf_of[id(x)]  # for a module called without a tensor input
        self.names = {m: n for n, m in model.named_modules()}

    def run(self, x: torch.Tensor) -> Any:
        """``model(x)`` with every leaf module hooked and the other operations followed."""
        hooks = [m.register_forward_hook(self.hook) for m in self.model.modules() if not list(m.children())]
        try:
            with torch.no_grad(), _Propagate(self):
                return self.model(x)
        finally:
            for h in hooks:
                h.remove()

    def note(self, t: torch.Tensor, rf: _RF) -> None:
        self.rf_of[id(t)] = rf
        self.keep.append(t)

    def hook(self, mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        inp = next((t for t in inputs if isinstance(t, torch.Tensor)), None)
        rf_in = self.rf_of.get(id(inp), self.last_rf) if inp is not None else self.last_rf
        out_t = output[0] if isinstance(output, tuple) else output
        if not isinstance(out_t, torch.Tensor):
            return
        rf_out = _rf_update(mod, rf_in, self.nd)
        self.note(out_t, rf_out)
        self.last_rf = rf_out
        self.infos.append(
            LayerInfo(
                name=self.names.get(mod, "?"),
                type=type(mod).__name__,
                input_shape=tuple(inp.shape) if inp is not None else (),
                output_shape=tuple(out_t.shape),
                params=sum(p.numel() for p in mod.parameters(recurse=False)),
                receptive_field=None if rf_out is None else rf_out[0],
                jump=None if rf_out is None else rf_out[1],
                module=mod,
            )
        )


class _Propagate(TorchFunctionMode):
    """Gives a tensor made outside a leaf module (``x + y``, ``cat``, ``view``) the merged field of its inputs."""

    def __init__(self, tracer: _Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        result = func(*args, **(kwargs or {}))
        rf_of = self.tracer.rf_of
        ins = [t for t in _tensors((args, kwargs)) if id(t) in rf_of]
        if ins:
            rf = _merge([rf_of[id(t)] for t in ins])
            for t in _tensors(result):
                if id(t) not in rf_of:
                    self.tracer.note(t, rf)
        return result


def _on_meta(model: nn.Module | Callable[[], nn.Module]) -> nn.Module:
    """The model on the ``meta`` device: a factory is called there, a real module is deep-copied."""
    if not isinstance(model, nn.Module):
        with torch.device("meta"):
            model = model()
        if not isinstance(model, nn.Module):
            raise TypeError(f"the factory returned {type(model).__name__}, not an nn.Module")
    elif any(p.device.type != "meta" for p in model.parameters()) or any(
        b.device.type != "meta" for b in model.buffers()
    ):
        model = copy.deepcopy(model).to("meta")
    return model


def trace(
    model: nn.Module | Callable[[], nn.Module],
    input_shape: Sequence[int],
    dtype: torch.dtype = torch.float32,
) -> Trace:
    """Run ``model`` on a ``meta`` tensor of ``input_shape`` and record every leaf module.

    ``model`` may be a module or a zero-argument factory. A factory is called
    under ``torch.device("meta")``, so even a model too large for memory costs
    nothing; a module already on the meta device is used as is; any other
    module is deep-copied and the copy moved to ``meta`` (the original is left
    untouched).

    Receptive fields are propagated tensor by tensor: each leaf module's output
    gets the field computed from its own input, and a tensor made by any other
    operation (a residual ``x + y``, a concatenation, a reshape) gets the
    element-wise largest field of the tensors it was computed from. Functional
    convolutions called outside a module are treated like element-wise
    operations (their growth is not counted).
    """
    model = _on_meta(model)
    shape = tuple(int(s) for s in input_shape)
    x = torch.empty(shape, device="meta", dtype=dtype)
    tracer = _Tracer(model, x, nd=max(len(shape) - 2, 0))
    try:
        out = tracer.run(x)
    except RuntimeError as exc:
        raise ValueError(f"the model rejects input shape {_fmt(shape)}: {exc}".split("\n")[0]) from exc
    out_t = out[0] if isinstance(out, tuple) else out
    return Trace(
        input_shape=shape,
        output_shape=tuple(out_t.shape) if isinstance(out_t, torch.Tensor) else None,
        layers=tracer.infos,
        total_params=sum(p.numel() for p in model.parameters()),
    )
