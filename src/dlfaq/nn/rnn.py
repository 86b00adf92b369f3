"""Recurrent cells and networks whose insides are visible, with the RNN regularizers.

Every class here subclasses its ``torch.nn`` counterpart, so constructor
arguments, parameter names, ``state_dict`` layout, argument checks and the
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

This file is the reference: the cells' math and, for the sequence modules,
:func:`_lstm_direction` / :func:`_gru_direction`, one time step after another
with autograd. When gates are requested or a regularizer acts inside the
recurrence, the same computation runs in :mod:`dlfaq._fast.rnn` (fused and
oneDNN products, a hand-written backward), which the tests check against this
reference; where that engine does not apply, the reference runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from dlfaq._fast import rnn as _engine
from dlfaq.nn.dropout import (
    bernoulli_mask,
    check_probability,
    drop_connect,
    drop_connect_call,
    inverted_mask,
)

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


def _cell_inputs(cell: nn.RNNCellBase, input: Tensor, hx: Any, n_states: int) -> tuple[bool, Tensor, list[Tensor]]:
    """Validate and normalise a cell's arguments exactly as torch's cells do.

    Same exceptions and messages as :class:`torch.nn.LSTMCell` / :class:`torch.nn.GRUCell`
    (their Python checks, then those of their C++ kernel), so a hidden state whose batch
    differs from the input's raises instead of broadcasting.
    """
    name = type(cell).__name__
    if input.dim() not in (1, 2):
        raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
    given = None if hx is None else ([hx] if n_states == 1 else list(hx))
    for idx, value in enumerate(given or []):
        if value.dim() not in (1, 2):
            what = "hidden" if n_states == 1 else f"hx[{idx}]"
            raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {value.dim()}D instead")
    if given is not None and len(given) != n_states:
        raise RuntimeError("lstm_cell expects two hidden states")
    batched = input.dim() == 2
    x = input if batched else input.unsqueeze(0)
    if given is None:
        states = [x.new_zeros(x.size(0), cell.hidden_size)] * n_states
    else:
        states = given if batched else [s.unsqueeze(0) for s in given]
    _check_cell_sizes(cell, x, states)
    return batched, x, states


def _check_cell_sizes(cell: nn.RNNCellBase, x: Tensor, states: list[Tensor]) -> None:
    """The size checks of torch's cell kernels (``check_rnn_cell_forward_*``), same messages."""
    if x.size(1) != cell.input_size:
        raise RuntimeError(f"input has inconsistent input_size: got {x.size(1)} expected {cell.input_size}")
    for k, s in enumerate(states):
        if s.size(0) != x.size(0):
            raise RuntimeError(f"Input batch size {x.size(0)} doesn't match hidden{k} batch size {s.size(0)}")
        if s.size(1) != cell.hidden_size:
            raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.size(1)}, expected {cell.hidden_size}")


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

    def forward(
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

    def forward(
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

class _Weights(NamedTuple):
    """One direction of one layer: torch's parameters (``w_hr`` only with ``proj_size``)."""

    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    w_hr: Tensor | None


class _Layout(NamedTuple):
    batched: bool
    packed: PackedSequence | None


# output (T, B, H_out), h_T, c_T (LSTM) or None, the gates of every step (or None)
_DirectionResult = tuple[Tensor, Tensor, "Tensor | None", "list[Tensor] | None"]


# --------------------------------------------------------------------------- sequences: helpers


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


def _valid_mask(lengths: Tensor | None, steps: int, device: torch.device) -> Tensor | None:
    """(T, B, 1) booleans, True where step t lies inside sequence b."""
    if lengths is None:
        return None
    return (torch.arange(steps, device=device).unsqueeze(1) < lengths.to(device).unsqueeze(0)).unsqueeze(-1)


def _check_lengths(lengths: Any, batch: int, steps: int) -> Tensor:
    lens = torch.as_tensor(lengths, dtype=torch.long).cpu()
    if lens.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},), got {tuple(lens.shape)}")
    if int(lens.max()) > steps or int(lens.min()) < 1:
        raise ValueError(f"lengths must be between 1 and the sequence length {steps}")
    return lens


def _step_masks(m: Any, x: Tensor, h: Tensor, p_hid: float) -> tuple[Any, Any, Any, Any]:
    """The masks one direction of one layer uses, drawn in a fixed order (the engine draws
    the same, so both give the same network for the same seed).

    ``hmask`` (B, H_out): variational mask on h_{t-1}; ``dmask`` (T, B, H): recurrent dropout
    on the candidate; ``zc``/``zh``: zoneout keep-previous masks in training, the
    probability itself (the expectation) in eval; None when inactive.
    """
    T, B, H = x.shape[0], x.shape[1], m.hidden_size
    training = m.training
    hmask = inverted_mask(h, (B, h.shape[-1]), p_hid) if (training and p_hid) else None
    p_rec = m.recurrent_dropout if training else 0.0
    dmask = inverted_mask(x, (T, B, H), p_rec) if p_rec else None
    z_c, z_h = m.zoneout if m.mode == "LSTM" else (0.0, m.zoneout[0])
    zc: Any = None
    zh: Any = None
    if z_c:
        zc = bernoulli_mask(x, (T, B, H), z_c) if training else z_c
    if z_h:
        zh = bernoulli_mask(x, (T, B, h.shape[-1]), z_h) if training else z_h
    return hmask, dmask, zc, zh


def _at(mask: Any, t: int) -> Any:
    return mask if isinstance(mask, float) else mask[t]


# --------------------------------------------------------------------------- sequences: reference steps


def _lstm_direction(m: Any, x: Tensor, valid: Tensor | None, h: Tensor, c: Tensor | None, w: _Weights,
                    p_hid: float, want_gates: bool) -> _DirectionResult:
    """One direction of one LSTM layer over time-major ``x`` (T, B, I), step by step.

    The reference the engine is tested against: the formulas of :class:`LSTM`, with
    autograd for the gradients. Padded steps (``valid`` False) leave h and c unchanged
    and give zeros.
    """
    assert c is not None
    hmask, dmask, zc, zh = _step_masks(m, x, h, p_hid)
    xw = F.linear(x, w.w_ih, w.b_ih)  # the input projection of all steps at once
    outs, gates = [], []
    for t in range(x.shape[0]):
        a = xw[t] + F.linear(h if hmask is None else h * hmask, w.w_hh, w.b_hh)
        ai, af, ag, ao = a.chunk(4, -1)
        i, f, g, o = ai.sigmoid(), af.sigmoid(), ag.tanh(), ao.sigmoid()
        c_new = f * c + i * (g if dmask is None else g * dmask[t])
        if zc is not None:
            c_new = torch.lerp(c_new, c, _at(zc, t))
        h_new = o * c_new.tanh()
        if w.w_hr is not None:
            h_new = F.linear(h_new, w.w_hr)
        if zh is not None:
            h_new = torch.lerp(h_new, h, _at(zh, t))
        step = [i, f, g, o, c_new]
        if valid is not None:
            v = valid[t]
            h, c = torch.where(v, h_new, h), torch.where(v, c_new, c)
            h_new, step = h_new * v, [s * v for s in step]
        else:
            h, c = h_new, c_new
        outs.append(h_new)
        gates.append(step)
    return _stack(outs, h, c, gates if want_gates else None)


def _gru_direction(m: Any, x: Tensor, valid: Tensor | None, h: Tensor, c: Tensor | None, w: _Weights,
                   p_hid: float, want_gates: bool) -> _DirectionResult:
    """One direction of one GRU layer, step by step (the reference; see :func:`_lstm_direction`)."""
    hmask, dmask, _, zh = _step_masks(m, x, h, p_hid)
    xw = F.linear(x, w.w_ih, w.b_ih)
    outs, gates = [], []
    for t in range(x.shape[0]):
        xr, xz, xn = xw[t].chunk(3, -1)
        hr, hz, hn = F.linear(h if hmask is None else h * hmask, w.w_hh, w.b_hh).chunk(3, -1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        h_new = (1 - z) * (n if dmask is None else n * dmask[t]) + z * h
        if zh is not None:
            h_new = torch.lerp(h_new, h, _at(zh, t))
        step = [r, z, n]
        if valid is not None:
            v = valid[t]
            h = torch.where(v, h_new, h)
            h_new, step = h_new * v, [s * v for s in step]
        else:
            h = h_new
        outs.append(h_new)
        gates.append(step)
    return _stack(outs, h, None, gates if want_gates else None)


def _stack(outs: list[Tensor], h: Tensor, c: Tensor | None, gates: list[list[Tensor]] | None) -> _DirectionResult:
    stacked = None if gates is None else [torch.stack(g) for g in zip(*gates, strict=True)]
    return torch.stack(outs), h, c, stacked


# --------------------------------------------------------------------------- LSTM and GRU


class _Recurrent(nn.RNNBase):
    """What :class:`LSTM` and :class:`GRU` share: the constructor, the regularizer options,
    torch's argument checks, the layer/direction loop and the choice of execution path."""

    mode: str

    def __init__(
        self,
        *args: Any,
        variational_dropout: float | Sequence[float] = 0.0,
        weight_drop: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float | Sequence[float] = 0.0,
        **kwargs: Any,
    ) -> None:
        """torch's constructor as it is (``torch.nn.LSTM`` or ``torch.nn.GRU``, next in the
        method resolution order: its arguments, checks and messages), then the regularizers."""
        super().__init__(*args, **kwargs)
        v: tuple[float, ...]
        if isinstance(variational_dropout, (int, float)):
            v = (float(variational_dropout),) * 3
        else:
            v = tuple(float(p) for p in variational_dropout)
            if len(v) != 3:
                raise ValueError("variational_dropout must be a float or (input, hidden, output)")
        self.variational_dropout = tuple(check_probability(p, "variational_dropout") for p in v)
        self.weight_drop = check_probability(weight_drop, "weight_drop")
        self.recurrent_dropout = check_probability(recurrent_dropout, "recurrent_dropout")
        z: tuple[float, ...]
        if isinstance(zoneout, (int, float)):
            z = (float(zoneout), float(zoneout))
        else:
            z = tuple(float(p) for p in zoneout)
            if len(z) != 2 or self.mode == "GRU":
                raise ValueError("zoneout must be a float, or (cell, hidden) for an LSTM")
        self.zoneout = tuple(check_probability(p, "zoneout") for p in z)

    def extra_repr(self) -> str:
        s = super().extra_repr()
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

    def _layer_weights(self, layer: int, direction: int) -> _Weights:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        return _Weights(
            getattr(self, "weight_ih" + sfx),
            getattr(self, "weight_hh" + sfx),
            getattr(self, "bias_ih" + sfx) if self.bias else None,
            getattr(self, "bias_hh" + sfx) if self.bias else None,
            getattr(self, "weight_hr" + sfx) if self.proj_size > 0 else None,
        )

    def _dropped_hh(self, w_hh: Tensor) -> Tensor:
        """DropConnect on the recurrent matrix: one mask per forward pass (Merity et al., 2018)."""
        if self.training and self.weight_drop:
            return drop_connect(w_hh, self.weight_drop)
        return w_hh

    # ------------------------------------------------------------------ torch's checks

    def _check_args(self, input: Any, hx: Any) -> None:
        """The argument checks of torch's ``forward``, same exceptions and messages, on every path.

        torch's kernel path checks again; the other paths (and ``lengths=``, whose packing
        would otherwise reorder a wrong-sized ``hx`` silently) rely on this one.
        """
        if isinstance(input, PackedSequence):
            if hx is not None:
                hx = self.permute_hidden(hx, input.sorted_indices)
                self.check_forward_args(input.data, hx, input.batch_sizes)
            else:
                self.check_input(input.data, input.batch_sizes)
            return
        if input.dim() not in (2, 3):
            raise ValueError(f"{self.mode}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(0 if self.batch_first else 1)
        if hx is None:
            self.check_input(x, None)
            return
        want = 3 if batched else 2
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
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
        self.check_forward_args(x, hx, None)

    # ------------------------------------------------------------------ forward

    def _forward_impl(self, torch_forward: Any, input: Any, hx: Any, lengths: Any, return_gates: bool) -> Any:
        """Three paths: torch's kernel as it is; torch's kernel between input/output locked
        masks; the step recurrence (gates requested, or a regularizer inside it)."""
        if lengths is not None and isinstance(input, PackedSequence):
            raise ValueError("give either a PackedSequence or lengths, not both")
        self._check_args(input, hx)
        p_in, _, p_out = self.variational_dropout if self.training else (0.0, 0.0, 0.0)
        inside = return_gates or self._needs_loop()
        if not inside and not p_in and not p_out:
            return self._kernel(torch_forward, input, hx, lengths)
        x, lens, layout = self._time_major(input, lengths)
        gates = None
        if inside:
            h0, c0 = self._initial_state(x, hx, layout.batched)
            res = _engine.run(self, x, lens, h0, c0, return_gates)
            if res is None:  # the engine does not apply here: the reference recurrence
                res = self._run_layers(x, lens, h0, c0, return_gates, _DIRECTIONS[self.mode])
            out, h_n, c_n, gates_list = res
            hid = (h_n, c_n) if self.mode == "LSTM" else h_n
            if return_gates:
                gates = self._pack_gates(gates_list)
        else:
            # Only input/output variational dropout: locked masks around torch's kernel.
            x = x * inverted_mask(x, (1, x.shape[1], x.shape[-1]), p_in) if p_in else x
            out, hid = self._kernel(torch_forward, x, hx, lens, time_major=True)
            out = out * inverted_mask(out, (1, out.shape[1], out.shape[-1]), p_out) if p_out else out
        out, hid, gates = self._caller_layout(out, hid, gates, lens, layout)
        return (out, hid, gates) if return_gates else (out, hid)

    def _time_major(self, input: Any, lengths: Any) -> tuple[Tensor, Tensor | None, _Layout]:
        """A time-major padded (T, B, I) tensor, lengths in the caller's batch order, and what
        is needed to give the result back in the caller's layout."""
        if isinstance(input, PackedSequence):
            x, lens = pad_packed_sequence(input, batch_first=False)
            return x, lens.to(x.device), _Layout(True, input)
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if lengths is None:
            return x, None, _Layout(batched, None)
        return x, _check_lengths(lengths, x.shape[1], x.shape[0]).to(x.device), _Layout(batched, None)

    def _caller_layout(self, out: Tensor, hid: Any, gates: Any, lens: Tensor | None, layout: _Layout) -> Any:
        if layout.packed is not None:
            p = layout.packed
            assert lens is not None  # a PackedSequence always comes with its lengths
            order = p.sorted_indices
            out_sorted = out if order is None else out.index_select(1, order)
            lens_sorted = lens if order is None else lens.index_select(0, order.to(lens.device))
            data = pack_padded_sequence(out_sorted, lens_sorted.cpu()).data
            return PackedSequence(data, p.batch_sizes, p.sorted_indices, p.unsorted_indices), hid, gates
        if not layout.batched:
            hid = tuple(t.squeeze(1) for t in hid) if isinstance(hid, tuple) else hid.squeeze(1)
            gates = None if gates is None else type(gates)(*(t.squeeze(2) for t in gates))
            return out.squeeze(1), hid, gates
        if self.batch_first:
            gates = None if gates is None else type(gates)(*(t.transpose(1, 2) for t in gates))
            return out.transpose(0, 1), hid, gates
        return out, hid, gates

    def _initial_state(self, x: Tensor, hx: Any, batched: bool) -> tuple[Tensor, Tensor | None]:
        """h_0 and c_0 as (D * num_layers, B, ·), zeros when ``hx`` is None (already checked)."""
        B = x.shape[1]
        n = self.num_layers * (2 if self.bidirectional else 1)
        if hx is None:
            h0 = x.new_zeros(n, B, self.proj_size if self.proj_size > 0 else self.hidden_size)
            return h0, (x.new_zeros(n, B, self.hidden_size) if self.mode == "LSTM" else None)
        h0, c0 = hx if self.mode == "LSTM" else (hx, None)
        if not batched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        return h0, c0

    def _run_layers(self, x: Tensor, lengths: Tensor | None, h0: Tensor, c0: Tensor | None,
                    want_gates: bool, direction: Any) -> tuple[Tensor, Tensor, Tensor | None, list[list[Tensor]] | None]:
        """Time-major padded ``x`` (T, B, I) through every layer and direction.

        ``direction`` computes one direction of one layer (:func:`_lstm_direction` or
        :func:`_gru_direction`, or the engine's); the reverse direction sees each sequence
        reversed inside its own length, so the valid steps stay a prefix.
        """
        T, B = x.shape[0], x.shape[1]
        ndir = 2 if self.bidirectional else 1
        p_in, p_hid, p_out = self.variational_dropout if self.training else (0.0, 0.0, 0.0)
        valid = _valid_mask(lengths, T, x.device)
        rev_index = _reverse_index(lengths, T, B, x.device) if self.bidirectional else None
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        gates_all: list[list[Tensor]] = []
        layer_in = x
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout:
                layer_in = F.dropout(layer_in, self.dropout, True)
            if p_in:
                layer_in = layer_in * inverted_mask(layer_in, (1, B, layer_in.shape[-1]), p_in)
            outs = []
            for d in range(ndir):
                idx = layer * ndir + d
                w = self._layer_weights(layer, d)
                w = w._replace(w_hh=self._dropped_hh(w.w_hh))
                inp = layer_in if d == 0 else _gather_time(layer_in, rev_index)
                out_d, hT, cT, g = direction(self, inp, valid, h0[idx], None if c0 is None else c0[idx], w, p_hid, want_gates)
                if d == 1:
                    out_d = _gather_time(out_d, rev_index)
                    g = None if g is None else [_gather_time(t, rev_index) for t in g]
                outs.append(out_d)
                h_n.append(hT)
                if cT is not None:
                    c_n.append(cT)
                if g is not None:
                    gates_all.append(g)
            layer_in = outs[0] if ndir == 1 else torch.cat(outs, -1)
        out = layer_in
        if p_out:
            out = out * inverted_mask(out, (1, B, out.shape[-1]), p_out)
        return out, torch.stack(h_n), (torch.stack(c_n) if c_n else None), (gates_all if want_gates else None)

    def _pack_gates(self, gates_list: list[list[Tensor]] | None) -> Any:
        assert gates_list is not None
        cls = LSTMGates if self.mode == "LSTM" else GRUGates
        if len(gates_list) == 1:
            # One layer and direction: views, no copy (i, f, o may be slices of one activation).
            return cls(*(g.unsqueeze(0) for g in gates_list[0]))
        return cls(*(torch.stack([g[k] for g in gates_list]) for k in range(len(cls._fields))))

    def _kernel(self, torch_forward: Any, x: Any, hx: Any, lengths: Any, time_major: bool = False) -> Any:
        """torch's fused kernel (``torch.nn.LSTM.forward``), padded ``x`` packed by ``lengths``,
        with ``weight_drop`` applied by handing it the dropped ``W_hh``."""
        if time_major and self.batch_first:
            out, hid = self._kernel(torch_forward, x.transpose(0, 1), hx, lengths)
            return out.transpose(0, 1), hid
        if lengths is None:
            return self._call_kernel(torch_forward, x, hx)
        if x.dim() != 3:
            raise ValueError("lengths needs a batched 3-D input")
        bf = self.batch_first
        T = x.shape[1] if bf else x.shape[0]
        lens = _check_lengths(lengths, x.shape[0] if bf else x.shape[1], T)
        packed = pack_padded_sequence(x, lens, batch_first=bf, enforce_sorted=False)
        out, hid = self._call_kernel(torch_forward, packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=bf, total_length=T)
        return out, hid

    def _call_kernel(self, torch_forward: Any, x: Any, hx: Any) -> Any:
        if not (self.training and self.weight_drop):
            return torch_forward(input=x, hx=hx)
        names = [n for n, _ in self.named_parameters() if n.startswith("weight_hh")]
        return drop_connect_call(self, names, self.weight_drop, _torch_kernel(torch_forward), x, hx)


def _torch_kernel(torch_forward: Any) -> Any:
    def call(module: nn.Module, x: Any, hx: Any) -> Any:
        return torch_forward(input=x, hx=hx)

    return call


_DIRECTIONS = {"LSTM": _lstm_direction, "GRU": _gru_direction}


class LSTM(_Recurrent, nn.LSTM):
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
    kernel; with ``return_gates`` or a regularizer inside the recurrence, the
    step recurrence of :func:`_lstm_direction` (computed by the engine,
    :mod:`dlfaq._fast.rnn`, where it applies).

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

    def forward(
        self, input: Any, hx: tuple[Tensor, Tensor] | None = None, *, lengths: Any = None, return_gates: bool = False
    ) -> Any:
        return self._forward_impl(super().forward, input, hx, lengths, return_gates)


class GRU(_Recurrent, nn.GRU):
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

    def forward(
        self, input: Any, hx: Tensor | None = None, *, lengths: Any = None, return_gates: bool = False
    ) -> Any:
        return self._forward_impl(super().forward, input, hx, lengths, return_gates)
