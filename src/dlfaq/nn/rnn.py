"""Recurrent cells and networks whose insides are visible, with the RNN regularizers.

Every class here subclasses its ``torch.nn`` counterpart, so constructor
arguments, parameter names, ``state_dict`` layout, ``flatten_parameters`` and the
``output, h_n`` / ``output, (h_n, c_n)`` contract are exactly torch's: a
``torch.nn.LSTM`` checkpoint loads into :class:`LSTM` unchanged, and with no
gates requested and no recurrent regularizer active the forward pass *is*
torch's fused kernel.

What is added:

* ``return_gates=True`` returns the gate activations (LSTM: i, f, g, o and the
  cell state c; GRU: r, z, n) of every layer, direction and time step;
* the regularizers of the RNN literature as keyword options, combinable:
  ``variational_dropout`` (Gal & Ghahramani, 2016), ``weight_drop``
  (DropConnect on W_hh; Wan et al., 2013; Merity et al., 2018),
  ``recurrent_dropout`` (Semeniuta et al., 2016) and ``zoneout``
  (Krueger et al., 2017). All are inactive in ``eval()`` (zoneout then uses its
  expectation, as in the paper) and cost nothing when set to 0.

Three execution paths, chosen per call:

1. nothing random inside the recurrence and no gates requested: torch's fused
   kernel (cuDNN / oneDNN), with ``weight_drop`` applied by handing it the
   dropped ``W_hh`` and input/output variational masks applied around it;
2. gates requested, nothing random inside the recurrence: the fused kernel
   again, then the gates of all steps recomputed from its output sequence
   (h_{t-1} is the previous output) in one batched matrix product with the
   sigmoid fused in, the LSTM's cell states by an elementwise scan; gradients
   through the gates are exact (a CPU float32 LSTM with batch * hidden >= 16384
   takes path 3 instead, which is then faster: the recomputation costs one more
   forward product);
3. a regularizer inside the recurrence (recurrent-state variational dropout,
   recurrent dropout, zoneout): a step loop. The input projection is one
   matrix product for all steps; for the LSTM the loop is a custom autograd
   function with a hand-written backward (the g rows doubled so one in-place
   sigmoid per step gives all four gates, tanh(a) = 2 sigmoid(2a) - 1; the
   weight gradient is one product after the loop); the GRU's loop uses autograd.

On CPU in float32 the matrix products of paths 2 and 3 go through oneDNN (the
library torch's own fused LSTM kernel uses), with W_hh reordered once per call
for the per-step products: MKL, where torch sends a plain float32 ``mm``,
measured 1.5-3x slower for these shapes on the AMD EPYC used for the benchmarks.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["GRU", "LSTM", "GRUCell", "GRUGates", "LSTMCell", "LSTMGates", "RNNCell"]


class LSTMGates(NamedTuple):
    """Gate activations of an LSTM.

    ``i`` input gate, ``f`` forget gate, ``g`` candidate (cell input),
    ``o`` output gate, ``c`` the new cell state. For a cell each is
    ``(N, H)``; for :class:`LSTM` each is ``(num_layers * num_directions, L, N, H)``
    (``(…, N, L, H)`` when ``batch_first``), zero at padded positions.
    """

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor
    c: Tensor


class GRUGates(NamedTuple):
    """Gate activations of a GRU: ``r`` reset gate, ``z`` update gate, ``n`` candidate.

    Shapes as for :class:`LSTMGates`.
    """

    r: Tensor
    z: Tensor
    n: Tensor


# --------------------------------------------------------------------------- cells


class RNNCell(nn.RNNCell):
    r"""Elman RNN cell, identical to :class:`torch.nn.RNNCell` (same parameters and kernel).

    .. math::
        h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})

    (``nonlinearity="relu"`` replaces tanh by ReLU). Kept here so that the
    three cells of the FAQ live in one namespace and share one docstring style.

    Shape:
        - input: ``(N, H_in)`` or ``(H_in)``
        - hx: ``(N, H)`` or ``(H)``; zeros when omitted
        - output: ``(N, H)`` or ``(H)``
    """


def _cell_inputs(cell: nn.Module, input: Tensor, hx: Any, n_states: int) -> tuple[bool, Tensor, list[Tensor]]:
    """Validate and normalise a cell's arguments exactly as torch's cells do.

    Same exceptions and messages as :class:`torch.nn.LSTMCell` / :class:`torch.nn.GRUCell`
    (their Python checks, then those of their C++ kernel), so a hidden state whose batch
    differs from the input's raises instead of broadcasting.
    """
    name = type(cell).__name__
    if input.dim() not in (1, 2):
        raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
    if hx is not None:
        given = [hx] if n_states == 1 else list(hx)
        for idx, value in enumerate(given):
            if value.dim() not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{idx}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {value.dim()}D instead")
        if len(given) != n_states:
            raise RuntimeError("lstm_cell expects two hidden states")
    batched = input.dim() == 2
    if not batched:
        input = input.unsqueeze(0)
    if hx is None:
        z = input.new_zeros(input.size(0), cell.hidden_size)
        states = [z] * n_states
    else:
        states = given if batched else [s.unsqueeze(0) for s in given]
    if input.size(1) != cell.input_size:
        raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected {cell.input_size}")
    for k, s in enumerate(states):
        if s.size(0) != input.size(0):
            raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{k} batch size {s.size(0)}")
        if s.size(1) != cell.hidden_size:
            raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.size(1)}, expected {cell.hidden_size}")
    return batched, input, states


def _scriptable_torch_cell(cell: nn.RNNCellBase, torch_cls: type) -> nn.RNNCellBase:
    """The torch cell that ``torch.jit.script`` compiles in place of ``cell``.

    TorchScript needs one return type per method, and ``return_gates`` changes it; the
    scripted module is therefore torch's own cell holding the *same* Parameter objects
    (training a scripted copy trains this one), computing exactly what the default path
    computes. The gates stay an eager-mode feature.
    """
    ref = torch_cls(cell.input_size, cell.hidden_size, cell.bias, device="meta")
    for name, param in cell.named_parameters(recurse=False):
        setattr(ref, name, param)
    return ref.train(cell.training)


class LSTMCell(nn.LSTMCell):
    r"""LSTM cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000).

    Same constructor, parameters and results as :class:`torch.nn.LSTMCell`; in
    addition ``forward(..., return_gates=True)`` returns the gate activations:

    .. math::
        i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}) \\
        f = \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}) \\
        g = \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}) \\
        o = \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho}) \\
        c' = f \odot c + i \odot g \\
        h' = o \odot \tanh(c')

    The rows of ``weight_ih``/``weight_hh`` are stacked in the order i, f, g, o,
    as in torch.

    Shape:
        - input: ``(N, H_in)`` or ``(H_in)``
        - hx: tuple ``(h, c)`` of ``(N, H)`` (or ``(H)``); zeros when omitted
        - output: ``(h', c')``; with ``return_gates=True``: ``((h', c'), LSTMGates)``
    """

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None, return_gates: bool = False
    ) -> Any:
        if not return_gates:
            return super().forward(input, hx)
        batched, x, (h, c) = _cell_inputs(self, input, hx, 2)
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        gi, gf, gg, go = gates.chunk(4, 1)
        i, f, o = gi.sigmoid(), gf.sigmoid(), go.sigmoid()
        g = gg.tanh()
        c1 = f * c + i * g
        h1 = o * c1.tanh()
        out = LSTMGates(i, f, g, o, c1)
        if not batched:
            h1, c1 = h1.squeeze(0), c1.squeeze(0)
            out = LSTMGates(*(t.squeeze(0) for t in out))
        return (h1, c1), out

    def __prepare_scriptable__(self) -> nn.Module:
        return _scriptable_torch_cell(self, nn.LSTMCell)


class GRUCell(nn.GRUCell):
    r"""GRU cell (Cho et al., 2014), as :class:`torch.nn.GRUCell`, able to return its gates.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})) \\
        h' = (1 - z) \odot n + z \odot h

    Shape:
        - input: ``(N, H_in)`` or ``(H_in)``; hx: ``(N, H)`` or ``(H)``
        - output: ``h'``; with ``return_gates=True``: ``(h', GRUGates)``
    """

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: Tensor | None = None, return_gates: bool = False
    ) -> Any:
        if not return_gates:
            return super().forward(input, hx)
        batched, x, (h,) = _cell_inputs(self, input, hx, 1)
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        gh = F.linear(h, self.weight_hh, self.bias_hh)
        hs = self.hidden_size
        rz = (gx[:, : 2 * hs] + gh[:, : 2 * hs]).sigmoid()
        r, z = rz[:, :hs], rz[:, hs:]
        n = (gx[:, 2 * hs :] + r * gh[:, 2 * hs :]).tanh()
        h1 = n + z * (h - n)
        out = GRUGates(r, z, n)
        if not batched:
            h1 = h1.squeeze(0)
            out = GRUGates(*(t.squeeze(0) for t in out))
        return h1, out

    def __prepare_scriptable__(self) -> nn.Module:
        return _scriptable_torch_cell(self, nn.GRUCell)


# --------------------------------------------------------------------------- helpers


def _prob(name: str, p: float) -> float:
    p = float(p)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {p}")
    return p


def _bernoulli(like: Tensor, shape: Sequence[int], q: float) -> Tensor:
    """A float 0/1 mask with P(1) = q. Thresholding uniforms measured ~3x faster than
    ``bernoulli_`` on CPU for the (T, B, H) masks drawn at every forward pass."""
    return like.new_empty(shape).uniform_().lt_(q)


def _locked_mask(like: Tensor, shape: Sequence[int], p: float) -> Tensor:
    """A Bernoulli(1 - p) mask scaled by 1/(1 - p) (inverted dropout)."""
    return _bernoulli(like, shape, 1.0 - p).div_(1.0 - p)


def _reverse_index(lengths: Tensor | None, steps: int, batch: int, device: torch.device) -> Tensor | None:
    """Time indices that reverse each sequence inside its own length (pads stay in place).

    The map is an involution, so the same gather turns the outputs back.
    """
    if lengths is None:
        return None
    t = torch.arange(steps, device=device).unsqueeze(1).expand(steps, batch)
    ln = lengths.to(device).unsqueeze(0)
    return torch.where(t < ln, ln - 1 - t, t)


def _gather_time(x: Tensor, index: Tensor | None) -> Tensor:
    if index is None:
        return x.flip(0)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


class _Regularized:
    """Options and the step-by-step engine shared by :class:`LSTM` and :class:`GRU`."""

    mode: str
    hidden_size: int
    num_layers: int
    bidirectional: bool
    batch_first: bool
    bias: bool
    dropout: float
    proj_size: int
    training: bool

    def _set_regularizers(
        self,
        variational_dropout: float | Sequence[float],
        weight_drop: float,
        recurrent_dropout: float,
        zoneout: float | Sequence[float],
    ) -> None:
        if isinstance(variational_dropout, (int, float)):
            v = (float(variational_dropout),) * 3
        else:
            v = tuple(float(p) for p in variational_dropout)
            if len(v) != 3:
                raise ValueError("variational_dropout must be a float or (input, hidden, output)")
        self.variational_dropout = tuple(_prob("variational_dropout", p) for p in v)
        self.weight_drop = _prob("weight_drop", weight_drop)
        self.recurrent_dropout = _prob("recurrent_dropout", recurrent_dropout)
        if isinstance(zoneout, (int, float)):
            z = (float(zoneout), float(zoneout))
        else:
            z = tuple(float(p) for p in zoneout)
            if len(z) != 2 or self.mode == "GRU":
                raise ValueError("zoneout must be a float, or (cell, hidden) for an LSTM")
        self.zoneout = tuple(_prob("zoneout", p) for p in z)

    def _regularizer_repr(self) -> str:
        s = ""
        if any(self.variational_dropout):
            s += f", variational_dropout={self.variational_dropout}"
        if self.weight_drop:
            s += f", weight_drop={self.weight_drop}"
        if self.recurrent_dropout:
            s += f", recurrent_dropout={self.recurrent_dropout}"
        if any(self.zoneout):
            s += f", zoneout={self.zoneout if self.mode == 'LSTM' else self.zoneout[0]}"
        return s

    def _needs_loop(self) -> bool:
        """True when a regularizer acts inside the recurrence (torch's kernel cannot do it).

        Zoneout acts in eval mode too (it uses its expectation there).
        """
        if any(self.zoneout):
            return True
        if not self.training:
            return False
        return bool(self.variational_dropout[1] or self.recurrent_dropout) or bool(
            self.variational_dropout[0] and self.num_layers > 1
        )

    def _layer_weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        w_ih = getattr(self, "weight_ih" + sfx)
        w_hh = getattr(self, "weight_hh" + sfx)
        b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
        b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
        w_hr = getattr(self, "weight_hr" + sfx) if self.proj_size > 0 else None
        return w_ih, w_hh, b_ih, b_hh, w_hr

    def _dropped_hh(self, w_hh: Tensor) -> Tensor:
        """DropConnect on the recurrent matrix: one mask per forward pass (Merity et al., 2018)."""
        if self.training and self.weight_drop:
            return w_hh * _locked_mask(w_hh, w_hh.shape, self.weight_drop)
        return w_hh

    # ------------------------------------------------------------------ gates from the fused kernel

    def _gates_from_fused_ok(self) -> bool:
        """Gates can be recomputed from torch's fused outputs when nothing random acts inside the
        recurrence (and no weight or input/output mask would have to be shared with the kernel)."""
        if self._needs_loop():
            return False
        return not (self.training and (self.weight_drop or any(self.variational_dropout)))

    # N * H from which the LSTM step loop beats "fused kernel + recomputed gates" for
    # return_gates. The recomputation costs one more forward product (about a third of a
    # forward+backward); the loop's per-step overhead is fixed and fades as the step grows.
    # Measured forward+backward / torch at 2 CPU threads, T=50 (loop vs recomputed):
    # N=32 H=256 1.74 vs 1.41; N=64 H=256 1.13 vs 1.28; N=32 H=512 1.05 vs 1.32;
    # N=64 H=1024 0.99 vs 1.5.
    _GATES_LOOP_MIN_NH = 16384

    def _gates_loop_cheaper(self, x: Tensor) -> bool:
        return (
            self.mode == "LSTM"
            and self.proj_size == 0
            and _use_dnn(x)
            and x.shape[1] * self.hidden_size >= self._GATES_LOOP_MIN_NH
        )

    def _run_fused_with_gates(
        self, x: Tensor, lengths: Tensor | None, h0: Tensor, c0: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None, list[list[Tensor]]]:
        """Run each layer with torch's fused kernel, then recompute the gates of all steps at once.

        Every gate depends only on x_t and h_{t-1}, and the kernel's output sequence *is*
        h_1..h_T, so one batched product over all steps gives the gates; the LSTM's cell
        states follow from an elementwise scan. Gradients through the gates flow into the
        kernel's outputs, so they are exact.
        """
        T, B = x.shape[0], x.shape[1]
        ndir = 2 if self.bidirectional else 1
        h_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        valid = None
        if lengths is not None:
            valid = (torch.arange(T, device=x.device).unsqueeze(1) < lengths.to(x.device).unsqueeze(0)).unsqueeze(-1)
        rev_index = _reverse_index(lengths, T, B, x.device) if self.bidirectional else None
        gates_all: list[list[Tensor]] = []
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        layer_in = x
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout:
                layer_in = F.dropout(layer_in, self.dropout, True)
            sl = slice(layer * ndir, (layer + 1) * ndir)
            weights: list[Tensor] = []
            per_dir = []
            for d in range(ndir):
                w = self._layer_weights(layer, d)
                per_dir.append(w)
                weights.extend(t for t in w if t is not None)
            hx = (h0[sl].contiguous(), c0[sl].contiguous()) if c0 is not None else h0[sl].contiguous()
            out, hid = self._vf_layer(layer_in, lengths, hx, weights)
            if isinstance(hid, tuple):
                h_n.append(hid[0])
                c_n.append(hid[1])
            else:
                h_n.append(hid)
            for d in range(ndir):
                w_ih, w_hh, b_ih, b_hh, w_hr = per_dir[d]
                o_d = out[..., d * h_out : (d + 1) * h_out]
                inp = layer_in
                if d == 1:
                    o_d = _gather_time(o_d, rev_index)
                    inp = _gather_time(layer_in, rev_index)
                h_prev = torch.cat([h0[layer * ndir + d].unsqueeze(0), o_d[:-1]])
                g = self._gates_from_states(inp, h_prev, None if c0 is None else c0[layer * ndir + d], valid, w_ih, w_hh, b_ih, b_hh)
                if d == 1:
                    g = [_gather_time(t, rev_index) for t in g]
                gates_all.append(g)
            layer_in = out
        return layer_in, torch.cat(h_n), (torch.cat(c_n) if c_n else None), gates_all

    def _vf_layer(self, x: Tensor, lengths: Tensor | None, hx: Any, weights: list[Tensor]) -> tuple[Tensor, Any]:
        """One layer (both directions) through torch's fused kernel, time-major, padded in and out."""
        if x.is_cuda:
            # One layer's weights are not cuDNN's flat buffer; the native CUDA kernel takes them
            # as they are instead of compacting them (and warning) at every call.
            with torch.backends.cudnn.flags(enabled=False):
                return self._vf_layer_impl(x, lengths, hx, weights)
        return self._vf_layer_impl(x, lengths, hx, weights)

    def _vf_layer_impl(self, x: Tensor, lengths: Tensor | None, hx: Any, weights: list[Tensor]) -> tuple[Tensor, Any]:
        fn = _VF.lstm if self.mode == "LSTM" else _VF.gru
        bidir = self.bidirectional
        if lengths is None:
            res = fn(x, hx, weights, self.bias, 1, 0.0, self.training, bidir, False)
            return res[0], (tuple(res[1:]) if self.mode == "LSTM" else res[1])
        packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        sort, unsort = packed.sorted_indices, packed.unsorted_indices

        def permute(h: Any, idx: Tensor) -> Any:
            return tuple(t.index_select(1, idx) for t in h) if isinstance(h, tuple) else h.index_select(1, idx)

        res = fn(packed.data, packed.batch_sizes, permute(hx, sort), weights, self.bias, 1, 0.0, self.training, bidir)
        out = PackedSequence(res[0], packed.batch_sizes, sort, unsort)
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])
        hid = tuple(res[1:]) if self.mode == "LSTM" else res[1]
        return out, permute(hid, unsort)

    def _gates_from_states(
        self, x: Tensor, h_prev: Tensor, c0: Tensor | None, valid: Tensor | None,
        w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
    ) -> list[Tensor]:
        raise NotImplementedError

    # ------------------------------------------------------------------ loop engine

    def _run_loop(
        self, x: Tensor, lengths: Tensor | None, h0: Tensor, c0: Tensor | None, want_gates: bool
    ) -> tuple[Tensor, Tensor, Tensor | None, list[list[Tensor]] | None]:
        """Time-major padded ``x`` (T, B, I) -> output (T, B, D*H_out), h_n, c_n, gates."""
        T, B = x.shape[0], x.shape[1]
        ndir = 2 if self.bidirectional else 1
        training = self.training
        p_in, p_hid, p_out = self.variational_dropout if training else (0.0, 0.0, 0.0)
        valid = None
        if lengths is not None:
            valid = (torch.arange(T, device=x.device).unsqueeze(1) < lengths.to(x.device).unsqueeze(0)).unsqueeze(-1)
        rev_index = _reverse_index(lengths, T, B, x.device) if self.bidirectional else None
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        gates_all: list[list[Tensor]] | None = [] if want_gates else None
        layer_in = x
        for layer in range(self.num_layers):
            if layer > 0 and training and self.dropout:
                layer_in = F.dropout(layer_in, self.dropout, True)
            if p_in:
                layer_in = layer_in * _locked_mask(layer_in, (1, B, layer_in.shape[-1]), p_in)
            outs = []
            for d in range(ndir):
                idx = layer * ndir + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(layer, d)
                w_hh = self._dropped_hh(w_hh)
                inp = layer_in if d == 0 else _gather_time(layer_in, rev_index)
                # After the per-sequence reversal the valid steps are still a prefix, so
                # the same validity mask applies to both directions.
                res = self._direction(
                    inp, valid, h0[idx], None if c0 is None else c0[idx], w_ih, w_hh, b_ih, b_hh, w_hr,
                    p_hid, want_gates,
                )
                out_d, hT, cT, g = res
                if d == 1:
                    out_d = _gather_time(out_d, rev_index)
                    if g is not None:
                        g = [_gather_time(t, rev_index) for t in g]
                outs.append(out_d)
                h_n.append(hT)
                if cT is not None:
                    c_n.append(cT)
                if gates_all is not None and g is not None:
                    gates_all.append(g)
            layer_in = outs[0] if ndir == 1 else torch.cat(outs, -1)
        out = layer_in
        if p_out:
            out = out * _locked_mask(out, (1, B, out.shape[-1]), p_out)
        return out, torch.stack(h_n), (torch.stack(c_n) if c_n else None), gates_all

    def _direction(
        self,
        x: Tensor,
        valid: Tensor | None,
        h: Tensor,
        c: Tensor | None,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        w_hr: Tensor | None,
        p_hid: float,
        want_gates: bool,
    ) -> tuple[Tensor, Tensor, Tensor | None, list[Tensor] | None]:
        raise NotImplementedError

    # ------------------------------------------------------------------ forward plumbing

    def _check_args(self, input: Any, hx: Any) -> None:
        """The argument checks of torch's ``forward``, same exceptions and messages, on every path.

        torch's kernel path checks again; the other paths (and ``lengths=``, whose packing
        would otherwise reorder a wrong-sized ``hx`` silently) rely on this one.
        """
        lstm = self.mode == "LSTM"
        if isinstance(input, PackedSequence):
            if hx is not None:
                hx = self.permute_hidden(hx, input.sorted_indices)  # type: ignore[attr-defined]
                self.check_forward_args(input.data, hx, input.batch_sizes)  # type: ignore[attr-defined]
            else:
                self.check_input(input.data, input.batch_sizes)  # type: ignore[attr-defined]
            return
        if input.dim() not in (2, 3):
            raise ValueError(f"{self.mode}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(0 if self.batch_first else 1)
        if hx is None:
            self.check_input(x, None)  # type: ignore[attr-defined]
            return
        want = 3 if batched else 2
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if lstm:
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(
                    f"For {kind} input, hx and cx should also be {want}-D but got "
                    f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors"
                )
            if not batched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        else:
            if hx.dim() != want:
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor")
            if not batched:
                hx = hx.unsqueeze(1)
        self.check_forward_args(x, hx, None)  # type: ignore[attr-defined]

    def _forward_impl(self, torch_forward: Any, input: Any, hx: Any, lengths: Any, return_gates: bool) -> Any:
        packed = isinstance(input, PackedSequence)
        if lengths is not None and packed:
            raise ValueError("give either a PackedSequence or lengths, not both")
        self._check_args(input, hx)
        loop = return_gates or self._needs_loop()
        p_in, _, p_out = self.variational_dropout if self.training else (0.0, 0.0, 0.0)
        if not loop and not p_in and not p_out:
            return self._fused(torch_forward, input, hx, lengths)

        # Normalise to a time-major padded tensor with lengths in the caller's batch order.
        batched = True
        if packed:
            sorted_indices = input.sorted_indices
            unsorted_indices = input.unsorted_indices
            batch_sizes = input.batch_sizes
            x, lens = pad_packed_sequence(input, batch_first=False)
            lens = lens.to(x.device)
        else:
            x = input
            if x.dim() not in (2, 3):
                raise ValueError(f"{self.mode}: expected input to be 2-D or 3-D, got {x.dim()}-D")
            batched = x.dim() == 3
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            lens = None
            if lengths is not None:
                lens = _check_lengths(lengths, x.shape[1], x.shape[0]).to(x.device)
        if not loop:
            # Only input/output variational dropout is active: locked masks around torch's kernel.
            B = x.shape[1]
            if p_in:
                x = x * _locked_mask(x, (1, B, x.shape[-1]), p_in)
            if packed:
                out, hid = self._call_torch(
                    torch_forward, pack_padded_sequence(x, lens.cpu(), enforce_sorted=False), hx
                )
                out, _ = pad_packed_sequence(out, total_length=x.shape[0])
            elif lens is not None:
                out, hid = self._fused(torch_forward, x, hx, lens, time_major=True)
            else:
                out, hid = self._call_torch(torch_forward, x, hx, time_major=True)
            if p_out:
                out = out * _locked_mask(out, (1, B, out.shape[-1]), p_out)
            gates = None
        else:
            B = x.shape[1]
            h0, c0 = self._initial_state(x, hx, batched)
            if return_gates and self._gates_from_fused_ok() and not self._gates_loop_cheaper(x):
                out, h_n, c_n, gates_list = self._run_fused_with_gates(x, lens, h0, c0)
            else:
                out, h_n, c_n, gates_list = self._run_loop(x, lens, h0, c0, return_gates)
            hid = (h_n, c_n) if self.mode == "LSTM" else h_n
            gates = self._pack_gates(gates_list) if return_gates else None

        if packed:
            out_sorted = out.index_select(1, sorted_indices) if sorted_indices is not None else out
            data = pack_padded_sequence(out_sorted, lens.index_select(0, sorted_indices.to(lens.device)).cpu()
                                        if sorted_indices is not None else lens.cpu()).data
            out = PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)
        elif not batched:
            out = out.squeeze(1)
            hid = tuple(t.squeeze(1) for t in hid) if isinstance(hid, tuple) else hid.squeeze(1)
            if gates is not None:
                gates = type(gates)(*(t.squeeze(2) for t in gates))
        elif self.batch_first:
            out = out.transpose(0, 1)
            if gates is not None:
                gates = type(gates)(*(t.transpose(1, 2) for t in gates))
        if return_gates:
            return out, hid, gates
        return out, hid

    def _initial_state(self, x: Tensor, hx: Any, batched: bool) -> tuple[Tensor, Tensor | None]:
        ndir = 2 if self.bidirectional else 1
        B = x.shape[1]
        h_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            h0 = x.new_zeros(self.num_layers * ndir, B, h_out)
            c0 = x.new_zeros(self.num_layers * ndir, B, self.hidden_size) if self.mode == "LSTM" else None
            return h0, c0
        if self.mode == "LSTM":
            h0, c0 = hx
        else:
            h0, c0 = hx, None
        if not batched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        exp_h = (self.num_layers * ndir, B, h_out)
        if tuple(h0.shape) != exp_h:
            raise RuntimeError(f"Expected hidden size {exp_h}, got {list(h0.shape)}")
        if c0 is not None and tuple(c0.shape) != (self.num_layers * ndir, B, self.hidden_size):
            raise RuntimeError(
                f"Expected hidden[1] size {(self.num_layers * ndir, B, self.hidden_size)}, got {list(c0.shape)}"
            )
        return h0, c0

    def _pack_gates(self, gates_list: list[list[Tensor]] | None) -> Any:
        assert gates_list is not None
        cls = LSTMGates if self.mode == "LSTM" else GRUGates
        if len(gates_list) == 1:
            # One layer and direction: views, no copy (i, f, o may be slices of one activation).
            return cls(*(g.unsqueeze(0) for g in gates_list[0]))
        return cls(*(torch.stack([g[k] for g in gates_list]) for k in range(len(cls._fields))))

    def _call_torch(self, torch_forward: Any, x: Any, hx: Any, time_major: bool = False) -> Any:
        """torch's fused kernel, with weight drop applied by swapping the W_hh entries it reads."""
        if time_major and self.batch_first:
            out, hid = self._call_torch(torch_forward, x.transpose(0, 1), hx)
            return out.transpose(0, 1), hid
        if not (self.training and self.weight_drop):
            return torch_forward(input=x, hx=hx)
        self._update_flat_weights()  # type: ignore[attr-defined]
        saved = list(self._flat_weights)  # type: ignore[has-type]
        names = self._flat_weights_names  # type: ignore[attr-defined]
        try:
            self._flat_weights = [  # type: ignore[misc]
                self._dropped_hh(w) if n.startswith("weight_hh") else w for n, w in zip(names, saved, strict=True)
            ]
            # The dropped matrices are fresh tensors, not views into cuDNN's flat buffer;
            # torch's native CUDA kernel takes them without the "non-contiguous weights" copy.
            if saved[0] is not None and saved[0].is_cuda:
                with torch.backends.cudnn.flags(enabled=False):
                    return torch_forward(input=x, hx=hx)
            return torch_forward(input=x, hx=hx)
        finally:
            self._flat_weights = saved  # type: ignore[misc]

    def _fused(self, torch_forward: Any, input: Any, hx: Any, lengths: Any, time_major: bool = False) -> Any:
        if lengths is None:
            return self._call_torch(torch_forward, input, hx)
        bf = self.batch_first and not time_major
        if input.dim() != 3:
            raise ValueError("lengths needs a batched 3-D input")
        T = input.shape[1] if bf else input.shape[0]
        lens = _check_lengths(lengths, input.shape[0] if bf else input.shape[1], T)
        packed = pack_padded_sequence(input, lens, batch_first=bf, enforce_sorted=False)
        out, hid = self._call_torch(torch_forward, packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=bf, total_length=T)
        return out, hid


def _check_lengths(lengths: Any, batch: int, steps: int) -> Tensor:
    lens = torch.as_tensor(lengths, dtype=torch.long).cpu()
    if lens.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},), got {tuple(lens.shape)}")
    if int(lens.max()) > steps or int(lens.min()) < 1:
        raise ValueError(f"lengths must be between 1 and the sequence length {steps}")
    return lens


def _tanh_into(x: Tensor, out: Tensor) -> Tensor:
    """tanh(x) written into ``out``, as 2 sigmoid(2x) - 1.

    On CPU torch's tanh goes through MKL's vector math and measured 3x slower than
    this identity's four passes on the (N, H) blocks of a step loop (60x on a strided
    slice); it loses at most ~1e-7 absolute accuracy.
    """
    return torch.mul(x, 2.0, out=out).sigmoid_().mul_(2.0).sub_(1.0)


def _lstm_scale(w: Tensor, hidden: int) -> Tensor:
    """The (4H,) row scale 1, 1, 2, 1 for the gate blocks i, f, g, o.

    With the g rows doubled one sigmoid covers all four gates of a step in place,
    because tanh(a) = 2 sigmoid(2a) - 1.
    """
    scale = w.new_ones(4, hidden)
    scale[2] = 2.0
    return scale.reshape(-1)


@functools.lru_cache(maxsize=1)
def _dnn_works() -> bool:
    """Whether this torch build has oneDNN's linear op and it computes ``F.linear``.

    ``torch.ops.mkldnn._linear_pointwise`` is an internal op (the one torch's own
    CPU kernels use); probing it once, against ``F.linear``, keeps a torch release
    that renamed or changed it on the plain, public path instead of failing.
    """
    try:
        a = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7
        w = torch.arange(12, dtype=torch.float32).reshape(4, 3) / 11
        y = torch.ops.mkldnn._linear_pointwise(a, w, None, "none", [], "")
        return bool(torch.allclose(y, F.linear(a, w), atol=1e-6))
    except Exception:  # noqa: BLE001 - any failure means: do not use it
        return False


def _use_dnn(t: Tensor) -> bool:
    """Whether oneDNN's matrix products apply: float32 on a CPU build with oneDNN, eager mode."""
    return (
        t.device.type == "cpu"
        and t.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and not torch.compiler.is_compiling()
        and _dnn_works()
    )


def _dnn_mm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` through oneDNN (``b.t()`` is passed as a linear layer's weight)."""
    return torch.ops.mkldnn._linear_pointwise(a, b.t(), None, "none", [], "")


class _DnnLinear(torch.autograd.Function):
    """``F.linear`` (optionally followed by a sigmoid) with forward and backward through oneDNN.

    torch sends float32 ``mm`` on CPU to MKL; on the AMD EPYC this was tuned on,
    oneDNN (which torch's own fused LSTM kernel uses) measured ~1.5-3x faster for
    the (T·N, H) x (H, 4H) products of a whole sequence and their gradients. With
    ``sigmoid=True`` the activation is fused into the product (one pass less over
    the (T, N, 4H) result) and its derivative s(1-s) is applied in the backward.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Tensor | None, sigmoid: bool) -> Tensor:  # type: ignore[override]
        x2 = x.reshape(-1, x.shape[-1])
        y = torch.ops.mkldnn._linear_pointwise(x2, w, b, "sigmoid" if sigmoid else "none", [], "")
        ctx.save_for_backward(x2, w, y if sigmoid else None)
        ctx.shape = x.shape
        return y.reshape(*x.shape[:-1], w.shape[0])

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> Any:  # type: ignore[override]
        x2, w, y = ctx.saved_tensors
        dy2 = dy.reshape(-1, w.shape[0])
        if y is not None:
            dy2 = dy2 * y
            dy2.addcmul_(dy2, y, value=-1.0)  # dy * s(1 - s)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = _dnn_mm(dy2, w).reshape(ctx.shape)
        if ctx.needs_input_grad[1]:
            dw = _dnn_mm(dy2.t(), x2)
        if ctx.needs_input_grad[2]:
            db = dy2.sum(0)
        return dx, dw, db, None


def _linear(x: Tensor, w: Tensor, b: Tensor | None, sigmoid: bool = False) -> Tensor:
    if _use_dnn(x) and w.dtype == x.dtype and (b is None or b.dtype == x.dtype):
        return _DnnLinear.apply(x, w, b, sigmoid)
    y = F.linear(x, w, b)
    return y.sigmoid() if sigmoid else y


def _step_linear(weight: Tensor, batch: int) -> Any:
    """``x -> x @ weight.T`` for the many small per-step products against one fixed matrix.

    On a CPU with oneDNN the matrix is reordered once into oneDNN's blocked layout, the
    way torch's own fused LSTM kernel does; the (N, H) x (H, 4H) step products then
    measured 2-3x faster than ``addmm`` at 2 threads and far less sensitive to a busy
    machine. Elsewhere (CUDA, float64 for gradcheck, no oneDNN, inside ``torch.compile``)
    it is a plain ``matmul``.
    """
    if _use_dnn(weight):
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, batch)
            return lambda x: torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")
        except (AttributeError, RuntimeError):
            pass
    w_t = weight.t()
    return lambda x: x.matmul(w_t)


class _LSTMSequence(torch.autograd.Function):
    """One LSTM direction over a whole sequence with a hand-written backward pass.

    Autograd would record ~10 nodes per time step; here the forward loop runs
    without recording and writes the activations the backward needs straight
    into preallocated (T, B, ·) buffers. The backward precomputes every
    activation derivative for all steps in a few bulk operations, so its loop
    is a handful of elementwise products and one matrix product per step, and
    the recurrent weight gradient is a single (H × T·B)·(T·B × 4H) product.
    Gate rows are torch's order i, f, g, o, with the g rows of ``xw`` and
    ``w_hh_t`` already doubled (see :func:`_lstm_scale`): one in-place sigmoid
    per step gives i, f, o and sigma(2a_g), and g = 2 sigma(2a_g) - 1 = tanh(a_g).
    Masks are constants (no gradient): ``hmask`` (B, H) variational mask on
    h_{t-1}; ``gmask`` (T, B, H) recurrent dropout on g; ``zc``/``zh`` zoneout
    weights, (T, B, H) in training or a float in eval; ``valid`` (T, B, 1) for
    variable lengths.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        xw: Tensor,
        w_hh_t: Tensor,
        h0: Tensor,
        c0: Tensor,
        hmask: Tensor | None,
        gmask: Tensor | None,
        zc: Any,
        zh: Any,
        valid: Tensor | None,
        want_gates: bool,
    ) -> tuple[Tensor, ...]:
        T, B, H4 = xw.shape
        H = H4 // 4
        S = xw.new_empty(T, B, H4)
        G = xw.new_empty(T, B, H)
        CN = xw.new_empty(T, B, H)
        TC = xw.new_empty(T, B, H)
        out = xw.new_empty(T, B, H)
        # Without padding the states are the buffers themselves (h_t = out[t], c_t = CN[t]);
        # with padding the carried state can differ from them, so it is recorded.
        HP = xw.new_empty(T, B, H) if valid is not None else None
        CP = xw.new_empty(T, B, H) if valid is not None else None
        # The masked h_{t-1} that met W_hh, kept for the weight gradient (no bulk product later).
        HIN = xw.new_empty(T, B, H) if hmask is not None else None
        h, c = h0, c0
        rec = _step_linear(w_hh_t.t(), B)
        # Recurrent dropout without reported gates: d(g) = m (2 s - 1) is one addcmul with the
        # bulk constants 2m and -m, and G holds the dropped g (all the backward needs).
        fuse_mask = gmask is not None and not want_gates
        if fuse_mask:
            # The mask is drawn for this call alone (see LSTM._direction), so it is rescaled in place.
            gm2 = gmask.mul_(2.0)
            gmn = gm2 * -0.5
        # tanh' = 1 - tanh^2 of the cell, written per step while it is in cache, if a backward
        # can follow.
        TD = xw.new_empty(T, B, H) if any(ctx.needs_input_grad) else None
        ones = xw.new_ones(B, H) if TD is not None else None
        for t in range(T):
            if HP is not None and CP is not None:
                HP[t] = h
                CP[t] = c
            hin = h if HIN is None else torch.mul(h, hmask, out=HIN[t])
            s = torch.add(xw[t], rec(hin), out=S[t]).sigmoid_()
            if fuse_mask:
                gd = torch.addcmul(gmn[t], s[:, 2 * H : 3 * H], gm2[t], out=G[t])
            else:
                g = torch.mul(s[:, 2 * H : 3 * H], 2.0, out=G[t]).sub_(1.0)
                gd = g if gmask is None else g * gmask[t]
            cn = torch.mul(s[:, H : 2 * H], c, out=CN[t]).addcmul_(s[:, :H], gd)
            if zc is not None:
                cn.lerp_(c, zc if isinstance(zc, float) else zc[t])
            tc = _tanh_into(cn, TC[t])
            if TD is not None:
                torch.addcmul(ones, tc, tc, value=-1.0, out=TD[t])
            if valid is None:
                hn = torch.mul(s[:, 3 * H :], tc, out=out[t])
                if zh is not None:
                    hn.lerp_(h, zh if isinstance(zh, float) else zh[t])
                h, c = hn, cn
            else:
                hn = s[:, 3 * H :] * tc
                if zh is not None:
                    hn = torch.lerp(hn, h, zh if isinstance(zh, float) else zh[t])
                v = valid[t]
                torch.mul(hn, v, out=out[t])
                h = torch.where(v, hn, h)
                c = torch.where(v, cn, c)
        if HP is None or CP is None:
            ctx.save_for_backward(w_hh_t, S, G, CN, TC, TD, HIN, out, h0, c0)
        else:
            ctx.save_for_backward(w_hh_t, S, G, CN, TC, TD, HIN, HP, CP)
        ctx.masks = (hmask, gmask, zc, zh, valid)
        ctx.want_gates = want_gates
        ctx.gm2 = gm2 if fuse_mask else None
        if want_gates:
            vf = 1.0 if valid is None else valid.to(xw.dtype)
            gi, gf, go = S[..., :H], S[..., H : 2 * H], S[..., 3 * H :]
            return out, h, c, gi * vf, gf * vf, G * vf, go * vf, CN * vf
        return out, h, c

    @staticmethod
    def backward(ctx: Any, dout: Tensor, dhT: Tensor, dcT: Tensor, *dgates: Tensor | None) -> Any:  # type: ignore[override]
        hmask, gmask, zc, zh, valid = ctx.masks
        HP = CP = None
        if valid is None:
            w_hh_t, S, G, CN, TC, TD, HIN, out, h0, c0 = ctx.saved_tensors
        else:
            w_hh_t, S, G, CN, TC, TD, HIN, HP, CP = ctx.saved_tensors
            h0, c0 = HP[0], CP[0]
        T, B, H = G.shape
        # Bulk derivatives where one pass over all steps is cheaper than one per step. The
        # sigmoid' = s(1-s) of the four blocks is taken per step (cache-resident); the g block's
        # pre-activation was doubled, so d g / d a'_g = 2 s(1-s) and the 2 goes into GI2.
        if ctx.gm2 is not None:
            GI2 = S[..., :H] * ctx.gm2  # 2 d(c)/d(g); G already holds the dropped g
            GDm = G
        else:
            GI2 = S[..., :H] * 2.0 if gmask is None else S[..., :H] * gmask * 2.0
            GDm = G if gmask is None else G * gmask  # the g that was written
        zc_t, zh_t = zc, zh
        dA = S.new_empty(T, B, 4 * H)
        D4 = S.new_empty(B, 4 * H)
        dh = torch.zeros_like(h0) if dhT is None else dhT.clone()
        dc = torch.zeros_like(c0) if dcT is None else dcT.clone()
        has_gate_grads = ctx.want_gates and any(d is not None for d in dgates)
        back = _step_linear(w_hh_t.contiguous(), B)  # da -> da @ W_hh
        for t in range(T - 1, -1, -1):
            s = S[t]
            f, o = s[:, H : 2 * H], s[:, 3 * H :]
            if has_gate_grads:
                # Reported gates are masked by validity; their gradients join the chain below.
                vf = 1.0 if valid is None else valid[t].to(S.dtype)
                gi_, gf_, gg_, go_, gc_ = (None if d is None else d[t] * vf for d in dgates)
            else:
                gi_ = gf_ = gg_ = go_ = gc_ = None
            dhn = dh if dout is None else dh + dout[t]
            dcn = dc
            if valid is not None:
                v = valid[t].to(S.dtype)
                dh_carry = dh * (1 - v)
                dc_carry = dc * (1 - v)
                dhn = dhn * v
                dcn = dcn * v
            if gc_ is not None:
                dcn = dcn + gc_
            if zh_t is not None:
                z = zh_t if isinstance(zh_t, float) else zh_t[t]
                dhp = dhn * z
                dh_hat = dhn - dhp  # dhn * (1 - z)
            else:
                dh_hat = dhn
                dhp = None
            torch.mul(dh_hat, TC[t], out=D4[:, 3 * H :])  # d o
            dcn = torch.addcmul(dcn, dh_hat * o, TD[t])
            if zc_t is not None:
                z = zc_t if isinstance(zc_t, float) else zc_t[t]
                dcz = dcn * z
                dc_hat = dcn - dcz
                dcp = torch.addcmul(dcz, dc_hat, f)
            else:
                dc_hat = dcn
                dcp = dc_hat * f
            torch.mul(dc_hat, GDm[t], out=D4[:, :H])  # d i
            c_prev = CP[t] if CP is not None else (c0 if t == 0 else CN[t - 1])
            torch.mul(dc_hat, c_prev, out=D4[:, H : 2 * H])  # d f
            torch.mul(dc_hat, GI2[t], out=D4[:, 2 * H : 3 * H])  # 2 d g
            if gi_ is not None:
                D4[:, :H] += gi_
            if gf_ is not None:
                D4[:, H : 2 * H] += gf_
            if gg_ is not None:
                D4[:, 2 * H : 3 * H].add_(gg_, alpha=2.0)
            if go_ is not None:
                D4[:, 3 * H :] += go_
            da = torch.mul(D4, s, out=dA[t])
            da.addcmul_(da, s, value=-1.0)  # D4 * s(1 - s)
            dhin = back(da)
            if hmask is not None:
                dhin.mul_(hmask)
            dh = dhin if dhp is None else dhin.add_(dhp)
            dc = dcp
            if valid is not None:
                dh = dh + dh_carry
                dc = dc + dc_carry
        if HIN is not None:
            hin_all = HIN
        elif HP is not None:
            hin_all = HP
        else:
            hin_all = torch.cat([h0.unsqueeze(0), out[:-1]])
        hin2, dA2 = hin_all.reshape(T * B, H).t(), dA.reshape(T * B, 4 * H)
        dw = _dnn_mm(hin2, dA2) if _use_dnn(dA2) else hin2.matmul(dA2)
        return dA, dw, dh, dc, None, None, None, None, None, None


class LSTM(_Regularized, nn.LSTM):
    r"""Multi-layer LSTM with visible gates and the RNN regularizers.

    A drop-in replacement for :class:`torch.nn.LSTM`: same constructor (plus
    keyword-only regularizers), same parameters (``weight_ih_l0``, …,
    ``weight_hr_l0`` with ``proj_size``) and the same ``output, (h_n, c_n)``
    result, so ``LSTM(...).load_state_dict(torch_lstm.state_dict())`` works.
    Each layer computes, for every time step (Hochreiter & Schmidhuber, 1997;
    Gers et al., 2000):

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t = o_t \odot \tanh(c_t)

    Regularizers (all off in ``eval()``, free when 0; combinable):

    * ``dropout``: ordinary dropout on the outputs of every layer but the
      last, a fresh mask per element and time step, exactly as torch.
    * ``variational_dropout`` = ``p`` or ``(p_input, p_hidden, p_output)``
      (Gal & Ghahramani, 2016, "A theoretically grounded application of
      dropout in recurrent neural networks"): one Bernoulli mask per sequence,
      reused at every time step, on the input of every layer, on
      :math:`h_{t-1}` where it enters :math:`W_{h\cdot}` (the state itself is
      not changed), and on the last layer's output sequence.
    * ``weight_drop`` (DropConnect, Wan et al., 2013, on the hidden-to-hidden
      matrices, as in AWD-LSTM, Merity et al., 2018): every ``weight_hh`` is
      multiplied by one Bernoulli(1-p)/(1-p) mask per forward pass, shared by
      all time steps and sequences of the batch. Runs on torch's fused kernel.
    * ``recurrent_dropout`` (Semeniuta, Severyn & Barth, 2016, "Recurrent
      dropout without memory loss"): dropout on the candidate update only,
      :math:`c_t = f_t \odot c_{t-1} + i_t \odot d(g_t)`, with a fresh mask
      per step; the memory :math:`c_{t-1}` is never dropped.
    * ``zoneout`` = ``z`` or ``(z_c, z_h)`` (Krueger et al., 2017): in training
      each unit of c (resp. h) keeps its previous value with probability z,
      :math:`c_t = d \odot c_{t-1} + (1-d) \odot \tilde c_t`; in evaluation the
      expectation :math:`c_t = z c_{t-1} + (1-z) \tilde c_t` is used, as in the
      paper (so zoneout, unlike the others, changes the eval-mode network).

    With only ``dropout``/``weight_drop`` (or input/output variational
    dropout on a one-layer model) active, the forward pass runs torch's fused
    kernel; with ``return_gates`` and no random recurrence, the fused kernel
    plus a batched recomputation of the gates (or, for large batch * hidden on
    CPU, the step loop below, measured faster there); otherwise a step loop with a
    hand-written backward (see the module docstring).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout,
        bidirectional, proj_size, device, dtype: as :class:`torch.nn.LSTM`.
        variational_dropout, weight_drop, recurrent_dropout, zoneout: see above.

    Forward:
        ``forward(input, hx=None, *, lengths=None, return_gates=False)``.
        ``input`` may be a :class:`~torch.nn.utils.rnn.PackedSequence`, or a
        padded tensor together with ``lengths`` (positions past a sequence's
        length are ignored and give zero output, as after
        ``pad_packed_sequence``).

    Shape:
        - input: ``(L, N, H_in)`` (``(N, L, H_in)`` if ``batch_first``) or ``(L, H_in)``
        - hx: ``(h_0, c_0)``, each ``(D * num_layers, N, H)``; zeros when omitted
        - output: ``(L, N, D * H_out)``; ``h_n``: ``(D * num_layers, N, H_out)``;
          ``c_n``: ``(D * num_layers, N, H)``; with ``return_gates=True`` a third
          item :class:`LSTMGates`, each ``(D * num_layers, L, N, H)``
          (``(D * num_layers, N, L, H)`` if ``batch_first``).
    """

    mode = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
        *,
        variational_dropout: float | Sequence[float] = 0.0,
        weight_drop: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float | Sequence[float] = 0.0,
    ) -> None:
        nn.LSTM.__init__(
            self, input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=batch_first,
            dropout=dropout, bidirectional=bidirectional, proj_size=proj_size, device=device, dtype=dtype,
        )
        self._set_regularizers(variational_dropout, weight_drop, recurrent_dropout, zoneout)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._regularizer_repr()

    def forward(  # type: ignore[override]
        self, input: Any, hx: tuple[Tensor, Tensor] | None = None, *, lengths: Any = None, return_gates: bool = False
    ) -> Any:
        return self._forward_impl(super().forward, input, hx, lengths, return_gates)

    def _gates_from_states(self, x, h_prev, c0, valid, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
        H = self.hidden_size
        # One product over [x_t, h_{t-1}] for all steps, the g rows doubled so that one sigmoid
        # over the contiguous (T, B, 4H) result gives every gate (tanh(a) = 2 sigmoid(2a) - 1).
        scale = _lstm_scale(w_ih, H)
        w = torch.cat([w_ih, w_hh], 1) * scale.unsqueeze(1)
        b = None if b_ih is None else (b_ih + b_hh) * scale
        sig = _linear(torch.cat([x, h_prev], -1), w, b, sigmoid=True)
        i, f, o = sig[..., :H], sig[..., H : 2 * H], sig[..., 3 * H :]
        g = sig[..., 2 * H : 3 * H].mul(2.0).sub_(1.0)
        # The cell states are not returned by the kernel: an elementwise scan rebuilds them.
        ig = i * g
        c = c0
        cs = []
        for t in range(x.shape[0]):
            c_new = torch.addcmul(ig[t], f[t], c)
            c = c_new if valid is None else torch.where(valid[t], c_new, c)
            cs.append(c_new)
        cs_t = torch.stack(cs)
        out = [i, f, g, o, cs_t]
        if valid is not None:
            out = [t * valid for t in out]
        return out

    def _direction(self, x, valid, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, p_hid, want_gates):  # type: ignore[no-untyped-def]
        T, B = x.shape[0], x.shape[1]
        H = self.hidden_size
        # g rows doubled: one sigmoid per step covers all four gates (see _LSTMSequence).
        scale = _lstm_scale(w_ih, H)
        # A transposed view of the (4H, H) matrix: measured faster for the per-step GEMM than a
        # row-major (H, 4H) copy (the layout torch's own Linear uses).
        w_hh_t = (w_hh * scale.unsqueeze(1)).t()
        bias = None
        if b_ih is not None:
            bias = (b_ih + b_hh) * scale
        # (T, B, 4H): the input projection of all steps in one product.
        xw = _linear(x, w_ih * scale.unsqueeze(1), bias)
        training = self.training
        z_c, z_h = self.zoneout
        hmask = _locked_mask(h, (B, h.shape[-1]), p_hid) if (training and p_hid) else None
        p_rec = self.recurrent_dropout if training else 0.0
        gmask = _locked_mask(x, (T, B, H), p_rec) if p_rec else None
        # Zoneout: Bernoulli keep-previous masks in training, the constant expectation in eval.
        zc_mask: Any = None
        zh_mask: Any = None
        if z_c:
            zc_mask = _bernoulli(x, (T, B, H), z_c) if training else z_c
        if z_h:
            zh_mask = _bernoulli(x, (T, B, h.shape[-1]), z_h) if training else z_h
        if w_hr is None:
            res = _LSTMSequence.apply(xw, w_hh_t, h, c, hmask, gmask, zc_mask, zh_mask, valid, want_gates)
            if want_gates:
                return res[0], res[1], res[2], list(res[3:])
            return res[0], res[1], res[2], None
        # With a projection (proj_size > 0) the step is left to autograd.
        outs: list[Tensor] = []
        gi_l: list[Tensor] = []
        gf_l: list[Tensor] = []
        gg_l: list[Tensor] = []
        go_l: list[Tensor] = []
        gc_l: list[Tensor] = []
        for t in range(T):
            hin = h if hmask is None else h * hmask
            s = torch.addmm(xw[t], hin, w_hh_t).sigmoid()
            i, f, o = s[:, :H], s[:, H : 2 * H], s[:, 3 * H :]
            g = s[:, 2 * H : 3 * H] * 2.0 - 1.0
            gd = g if gmask is None else g * gmask[t]
            c_new = torch.addcmul(f * c, i, gd)
            if zc_mask is not None:
                c_new = torch.lerp(c_new, c, zc_mask if isinstance(zc_mask, float) else zc_mask[t])
            h_new = o * c_new.tanh()
            if w_hr is not None:
                h_new = h_new.matmul(w_hr.t())
            if zh_mask is not None:
                h_new = torch.lerp(h_new, h, zh_mask if isinstance(zh_mask, float) else zh_mask[t])
            if valid is not None:
                v = valid[t]
                h = torch.where(v, h_new, h)
                c = torch.where(v, c_new, c)
                outs.append(h_new * v)
            else:
                h, c = h_new, c_new
                outs.append(h_new)
            if want_gates:
                if valid is not None:
                    v = valid[t]
                    i, f, g, o, c_new = (i * v, f * v, g * v, o * v, c_new * v)
                gi_l.append(i)
                gf_l.append(f)
                gg_l.append(g)
                go_l.append(o)
                gc_l.append(c_new)
        out = torch.stack(outs)
        gates_out = None
        if want_gates:
            gates_out = [torch.stack(gi_l), torch.stack(gf_l), torch.stack(gg_l), torch.stack(go_l), torch.stack(gc_l)]
        return out, h, c, gates_out


class GRU(_Regularized, nn.GRU):
    r"""Multi-layer GRU with visible gates and the RNN regularizers.

    A drop-in replacement for :class:`torch.nn.GRU` (same constructor,
    parameters, ``output, h_n`` result). Each layer computes (Cho et al., 2014):

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    The regularizers are those of :class:`LSTM`, adapted: ``recurrent_dropout``
    drops the candidate, :math:`h_t = (1-z_t) \odot d(n_t) + z_t \odot h_{t-1}`
    (Semeniuta et al., 2016); ``zoneout`` is one probability for h.

    Shape:
        - input: as :class:`LSTM`; hx: ``(D * num_layers, N, H)``
        - output: ``(L, N, D * H)``, ``h_n``; with ``return_gates=True`` also
          :class:`GRUGates`, each ``(D * num_layers, L, N, H)``.
    """

    mode = "GRU"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        variational_dropout: float | Sequence[float] = 0.0,
        weight_drop: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        nn.GRU.__init__(
            self, input_size, hidden_size, num_layers=num_layers, bias=bias, batch_first=batch_first,
            dropout=dropout, bidirectional=bidirectional, device=device, dtype=dtype,
        )
        self._set_regularizers(variational_dropout, weight_drop, recurrent_dropout, zoneout)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._regularizer_repr()

    def forward(  # type: ignore[override]
        self, input: Any, hx: Tensor | None = None, *, lengths: Any = None, return_gates: bool = False
    ) -> Any:
        return self._forward_impl(super().forward, input, hx, lengths, return_gates)

    def _gates_from_states(self, x, h_prev, c0, valid, w_ih, w_hh, b_ih, b_hh):  # type: ignore[no-untyped-def]
        H = self.hidden_size
        gx = _linear(x, w_ih, b_ih)
        gh = _linear(h_prev, w_hh, b_hh)
        rz = (gx[..., : 2 * H] + gh[..., : 2 * H]).sigmoid()
        r, z = rz[..., :H], rz[..., H:]
        n = torch.addcmul(gx[..., 2 * H :], r, gh[..., 2 * H :]).tanh()
        out = [r, z, n]
        if valid is not None:
            out = [t * valid for t in out]
        return out

    def _direction(self, x, valid, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, p_hid, want_gates):  # type: ignore[no-untyped-def]
        T, B = x.shape[0], x.shape[1]
        H = self.hidden_size
        xw = _linear(x, w_ih, b_ih)
        w_hh_t = w_hh.t()
        if b_hh is None:
            b_hh = x.new_zeros(3 * H)
        training = self.training
        hmask = _locked_mask(h, (B, H), p_hid) if (training and p_hid) else None
        p_rec = self.recurrent_dropout if training else 0.0
        nmask = _locked_mask(x, (T, B, H), p_rec) if p_rec else None
        z_h = self.zoneout[0]
        zh_mask: Any = None
        if z_h:
            zh_mask = _bernoulli(x, (T, B, H), z_h) if training else z_h
        outs: list[Tensor] = []
        gr: list[Tensor] = []
        gz: list[Tensor] = []
        gn: list[Tensor] = []
        H2 = 2 * H
        for t in range(T):
            hin = h if hmask is None else h * hmask
            gh = torch.addmm(b_hh, hin, w_hh_t)
            xt = xw[t]
            rz = (xt[:, :H2] + gh[:, :H2]).sigmoid()
            r, z = rz[:, :H], rz[:, H:]
            n = torch.addcmul(xt[:, H2:], r, gh[:, H2:]).tanh()
            nd = n if nmask is None else n * nmask[t]
            h_new = torch.lerp(nd, h, z)  # (1 - z) * n + z * h
            if zh_mask is not None:
                h_new = torch.lerp(h_new, h, zh_mask if isinstance(zh_mask, float) else zh_mask[t])
            if valid is not None:
                v = valid[t]
                h = torch.where(v, h_new, h)
                outs.append(h_new * v)
            else:
                h = h_new
                outs.append(h_new)
            if want_gates:
                if valid is not None:
                    v = valid[t]
                    r, z, n = r * v, z * v, n * v
                gr.append(r)
                gz.append(z)
                gn.append(n)
        out = torch.stack(outs)
        gates_out = [torch.stack(gr), torch.stack(gz), torch.stack(gn)] if want_gates else None
        return out, h, None, gates_out
