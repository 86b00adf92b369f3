"""The RNN engine: the computation of :mod:`dlfaq.nn.rnn`'s reference, faster.

Entry point: :func:`run` (the step recurrence of :class:`~dlfaq.nn.LSTM` /
:class:`~dlfaq.nn.GRU` when gates are requested or a regularizer acts inside it).
It returns ``None`` where it does not apply, and the caller then runs the
reference (:func:`dlfaq.nn.rnn._lstm_direction`, :func:`dlfaq.nn.rnn._gru_direction`);
``tests/_fast/test_rnn_engine.py`` checks the engine against the reference over random
configurations. Set ``DLFAQ_RNN_ENGINE=0`` to run the reference everywhere.

The tricks, each probed (a failed probe falls back to the public path) and what it
buys (forward + backward against ``torch.nn.LSTM``, 2 CPU threads, T = 50,
``benchmarks/bench_lstm.py``; measured on the AMD EPYC the benchmarks ran on):

* gates without a step loop: with nothing random in the recurrence, torch's fused
  kernel (``torch._VF``, one layer at a time) gives h_1..h_T, and the gates of all
  steps are one batched product over [x_t, h_{t-1}] plus an elementwise scan for c
  (``return_gates`` N=32 H=256: 1.41 x torch, against 1.74 for the loop);
* oneDNN's linear op (``torch.ops.mkldnn._linear_pointwise``) for the sequence-wide
  products, sigmoid fused in, and ``_reorder_linear_weight`` once per call for the
  per-step products: where torch sends float32 ``mm`` to MKL, measured 1.5-3x
  faster for these shapes (the weight gradients, which contract over T·N, stay on
  ``matmul``: see :func:`_weight_grad`);
* the LSTM's step loop as one autograd Function with a hand-written backward
  (:class:`_LSTMSequence`): ~10 autograd nodes per step avoided, activations
  written into preallocated buffers, the recurrent weight gradient one product
  after the loop (the regularized row goes from ~3x to <= 2x torch);
* tanh as 2 sigmoid(2a) - 1 with the g rows of the weights doubled, so one in-place
  sigmoid per step gives all four gates; torch's CPU tanh measured 3x slower than
  the identity's four passes on the (N, H) blocks of a step (loses <= 1e-7).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from dlfaq.nn import rnn as ref

__all__ = ["run"]


def run(
    m: Any, x: Tensor, lengths: Tensor | None, h0: Tensor, c0: Tensor | None, want_gates: bool
) -> tuple[Tensor, Tensor, Tensor | None, list[list[Tensor]] | None] | None:
    """The step recurrence of ``m`` (an :class:`~dlfaq.nn.LSTM` or :class:`~dlfaq.nn.GRU`) over
    time-major padded ``x`` (T, B, I): ``(output, h_n, c_n, gates per layer and direction)``,
    the reference's result; ``None`` where the engine does not apply."""
    if os.environ.get("DLFAQ_RNN_ENGINE", "1") == "0" or m.mode not in ("LSTM", "GRU"):
        return None
    if want_gates and _gates_from_fused_ok(m) and not _gates_loop_cheaper(m, x) and _vf_works():
        return _run_fused_with_gates(m, x, lengths, h0, c0)
    return m._run_layers(x, lengths, h0, c0, want_gates, lstm_direction if m.mode == "LSTM" else gru_direction)


@functools.lru_cache(maxsize=1)
def _vf_works() -> bool:
    """Whether torch's private fused RNN entry points exist with the signature used here."""
    try:
        x, w = torch.zeros(1, 1, 1), [torch.zeros(3, 1), torch.zeros(3, 1)]
        return bool(_VF.gru(x, torch.zeros(1, 1, 1), w, False, 1, 0.0, False, False, False)[0].shape == (1, 1, 1))
    except Exception:  # noqa: BLE001 - any failure means: use the step loop
        return False


def _gates_from_fused_ok(m: Any) -> bool:
    """Gates can be recomputed from torch's fused outputs when nothing random acts inside the
    recurrence (and no weight or input/output mask would have to be shared with the kernel)."""
    if m._needs_loop():
        return False
    return not (m.training and (m.weight_drop or any(m.variational_dropout)))


# N * H from which the LSTM step loop beats "fused kernel + recomputed gates" for
# return_gates. The recomputation costs one more forward product (about a third of a
# forward+backward); the loop's per-step overhead is fixed and fades as the step grows.
# Measured forward+backward / torch at 2 CPU threads, T=50 (loop vs recomputed):
# N=32 H=256 1.74 vs 1.41; N=64 H=256 1.13 vs 1.28; N=32 H=512 1.05 vs 1.32;
# N=64 H=1024 0.99 vs 1.5.

_GATES_LOOP_MIN_NH = 16384


def _gates_loop_cheaper(m: Any, x: Tensor) -> bool:
    return (
        m.mode == "LSTM"
        and m.proj_size == 0
        and _use_dnn(x)
        and x.shape[1] * m.hidden_size >= _GATES_LOOP_MIN_NH
    )


def _run_fused_with_gates(m: Any, x: Tensor, lengths: Tensor | None, h0: Tensor, c0: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None, list[list[Tensor]]]:
    """Run each layer with torch's fused kernel, then recompute the gates of all steps at once.

    Every gate depends only on x_t and h_{t-1}, and the kernel's output sequence *is*
    h_1..h_T, so one batched product over all steps gives the gates; the LSTM's cell
    states follow from an elementwise scan. Gradients through the gates flow into the
    kernel's outputs, so they are exact.
    """
    T, B = x.shape[0], x.shape[1]
    ndir = 2 if m.bidirectional else 1
    h_out = m.proj_size if m.proj_size > 0 else m.hidden_size
    valid = ref._valid_mask(lengths, T, x.device)
    rev_index = ref._reverse_index(lengths, T, B, x.device) if m.bidirectional else None
    gates_all: list[list[Tensor]] = []
    h_n: list[Tensor] = []
    c_n: list[Tensor] = []
    layer_in = x
    for layer in range(m.num_layers):
        if layer > 0 and m.training and m.dropout:
            layer_in = F.dropout(layer_in, m.dropout, True)
        sl = slice(layer * ndir, (layer + 1) * ndir)
        per_dir = [m._layer_weights(layer, d) for d in range(ndir)]
        weights = [t for w in per_dir for t in w if t is not None]
        hx = (h0[sl].contiguous(), c0[sl].contiguous()) if c0 is not None else h0[sl].contiguous()
        out, hid = _vf_layer(m, layer_in, lengths, hx, weights)
        if isinstance(hid, tuple):
            h_n.append(hid[0])
            c_n.append(hid[1])
        else:
            h_n.append(hid)
        for d, w in enumerate(per_dir):
            idx = layer * ndir + d
            inp, h_seq = layer_in, out[..., d * h_out : (d + 1) * h_out]
            if d == 1:
                inp, h_seq = ref._gather_time(inp, rev_index), ref._gather_time(h_seq, rev_index)
            h_prev = torch.cat([h0[idx].unsqueeze(0), h_seq[:-1]])
            if m.mode == "LSTM":
                assert c0 is not None  # an LSTM always carries c
                g = _lstm_gates_from_states(m.hidden_size, inp, h_prev, c0[idx], valid, w)
            else:
                g = _gru_gates_from_states(m.hidden_size, inp, h_prev, w)
            if valid is not None:  # reported gates are zero at padded steps
                g = [t * valid for t in g]
            gates_all.append(g if d == 0 else [ref._gather_time(t, rev_index) for t in g])
        layer_in = out
    return layer_in, torch.cat(h_n), (torch.cat(c_n) if c_n else None), gates_all


def _vf_layer(m: Any, x: Tensor, lengths: Tensor | None, hx: Any, weights: list[Tensor]) -> tuple[Tensor, Any]:
    """One layer (both directions) through torch's fused kernel, time-major, padded in and out."""
    if x.is_cuda:
        # One layer's weights are not cuDNN's flat buffer; the native CUDA kernel takes them
        # as they are instead of compacting them (and warning) at every call.
        with torch.backends.cudnn.flags(enabled=False):
            return _vf_layer_impl(m, x, lengths, hx, weights)
    return _vf_layer_impl(m, x, lengths, hx, weights)


def _vf_layer_impl(m: Any, x: Tensor, lengths: Tensor | None, hx: Any, weights: list[Tensor]) -> tuple[Tensor, Any]:
    fn = _VF.lstm if m.mode == "LSTM" else _VF.gru
    bidir = m.bidirectional
    if lengths is None:
        res = fn(x, hx, weights, m.bias, 1, 0.0, m.training, bidir, False)
        return res[0], (tuple(res[1:]) if m.mode == "LSTM" else res[1])
    packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    sort, unsort = packed.sorted_indices, packed.unsorted_indices
    assert sort is not None and unsort is not None  # enforce_sorted=False always sets them

    def permute(h: Any, idx: Tensor) -> Any:
        return tuple(t.index_select(1, idx) for t in h) if isinstance(h, tuple) else h.index_select(1, idx)

    res = fn(packed.data, packed.batch_sizes, permute(hx, sort), weights, m.bias, 1, 0.0, m.training, bidir)
    out, _ = pad_packed_sequence(PackedSequence(res[0], packed.batch_sizes, sort, unsort), total_length=x.shape[0])
    hid = tuple(res[1:]) if m.mode == "LSTM" else res[1]
    return out, permute(hid, unsort)


def _tanh_into(x: Tensor, out: Tensor, minus_one: Tensor) -> Tensor:
    """tanh(x) written into ``out``, as 2 sigmoid(2x) - 1 (``minus_one``: a (1, 1) tensor of -1).

    On CPU torch's tanh goes through MKL's vector math and measured 3x slower than
    this identity on the (N, H) blocks of a step loop on the AMD EPYC (60x on a strided
    slice); it loses at most ~1e-7 absolute accuracy.
    """
    return _twice_minus_one(torch.mul(x, 2.0, out=out).sigmoid_(), minus_one, out)


def _twice_minus_one(s: Tensor, minus_one: Tensor, out: Tensor) -> Tensor:
    """2 s - 1 into ``out`` in one pass, bit for bit what ``s * 2 - 1`` gives (2 s is exact).

    One elementwise op instead of two: at N=32, H=256 the step's tanh went from ~20 to
    ~12.5 us (Xeon, 1 thread), ~0.4 ms of a regularized forward.
    """
    return torch.add(minus_one, s, alpha=2.0, out=out)


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
    return bool(
        t.device.type == "cpu"
        and t.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and not torch.compiler.is_compiling()
        and _dnn_works()
    )


class _DnnLinear(torch.autograd.Function):
    """``F.linear`` (optionally followed by a sigmoid) through oneDNN, its gradients through ``matmul``.

    torch sends float32 ``mm`` on CPU to MKL; on the AMD EPYC this was tuned on,
    oneDNN (which torch's own fused LSTM kernel uses) measured ~1.5-3x faster for
    the (T·N, H) x (H, 4H) product of a whole sequence. With ``sigmoid=True`` the
    activation is fused into the product (one pass less over the (T, N, 4H) result)
    and its derivative s(1-s) is applied in the backward. The gradients contract over
    T·N, the outer dimension of both operands, which oneDNN's linear op can only take
    after copying them transposed; ``matmul`` reads them as they are (see
    :func:`_weight_grad`).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Tensor | None, sigmoid: bool) -> Tensor:
        x2 = x.reshape(-1, x.shape[-1])
        y = torch.ops.mkldnn._linear_pointwise(x2, w, b, "sigmoid" if sigmoid else "none", [], "")
        ctx.save_for_backward(x2, w, y if sigmoid else None)
        ctx.shape = x.shape
        return y.reshape(*x.shape[:-1], w.shape[0])

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> Any:
        x2, w, y = ctx.saved_tensors
        dy2 = dy.reshape(-1, w.shape[0])
        if y is not None:
            dy2 = dy2 * y
            dy2.addcmul_(dy2, y, value=-1.0)  # dy * s(1 - s)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = dy2.matmul(w).reshape(ctx.shape)
        if ctx.needs_input_grad[1]:
            dw = _weight_grad(dy2, x2)
        if ctx.needs_input_grad[2]:
            db = dy2.sum(0)
        return dx, dw, db, None


def _weight_grad(dy: Tensor, x: Tensor) -> Tensor:
    """``dy.T @ x`` for (M, N) and (M, K) row-major operands, M = T·N summed over.

    Through ``matmul`` (MKL reads the transposed operand in place): on the Xeon these
    numbers come from (AVX-512, 1 thread, T·N = 1600, H = 256) it measured 4.9 ms for
    the input-weight gradient against 7.9 ms through oneDNN's linear op, which copies
    both operands transposed first; the whole regularized forward + backward went
    from 59.6 to 56.0 ms (1.61 -> 1.51 x torch).
    """
    return dy.t().matmul(x)


def _project(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """``F.linear(x, w, b)`` without autograd, through oneDNN where :func:`_linear` would be."""
    if _use_dnn(x) and w.dtype == x.dtype and (b is None or b.dtype == x.dtype):
        y = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, x.shape[-1]), w, b, "none", [], "")
        return y.reshape(*x.shape[:-1], w.shape[0])
    return F.linear(x, w, b)


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
            # The overload itself: ~3.5 us less per call than the packet's overload resolution.
            linear = torch.ops.mkldnn._linear_pointwise.default
            return lambda x: linear(x, packed, None, "none", [], "")
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
    The input projection of all steps is one product, computed here into the buffer
    that then holds the gates (each step adds W_hh h_{t-1} to its block and squashes
    it in place: no separate (T, B, 4H) projection is written and read back), and
    its gradients are the backward's own. Gate rows are torch's order i, f, g, o,
    with the g rows of ``w_ih``, ``bias`` and ``w_hh_t`` already doubled (see
    :func:`_lstm_scale`): one in-place sigmoid per step gives i, f, o and
    sigma(2a_g), and g = 2 sigma(2a_g) - 1 = tanh(a_g).
    Masks are constants (no gradient): ``hmask`` (B, H) variational mask on
    h_{t-1}; ``gmask`` (T, B, H) recurrent dropout on g; ``zc``/``zh`` zoneout
    weights, (T, B, H) in training or a float in eval; ``valid`` (T, B, 1) for
    variable lengths.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        w_ih: Tensor,
        bias: Tensor | None,
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
        S = _project(x, w_ih, bias)  # (T, B, 4H): W_ih x_t + b for every step, gates once squashed
        T, B, H4 = S.shape
        H = H4 // 4
        G, CN, TC, out = (S.new_empty(T, B, H) for _ in range(4))
        # Without padding the states are the buffers themselves (h_t = out[t], c_t = CN[t]);
        # with padding the carried state can differ from them, so it is recorded.
        HP = S.new_empty(T, B, H) if valid is not None else None
        CP = S.new_empty(T, B, H) if valid is not None else None
        # The masked h_{t-1} that met W_hh, kept for the weight gradient (no bulk product later).
        HIN = S.new_empty(T, B, H) if hmask is not None else None
        # Recurrent dropout without reported gates: G holds the dropped g, negated (see _forward_loop).
        fused = gmask is not None and not want_gates
        rec = _step_linear(w_hh_t.t(), B)
        h, c = _forward_loop(S, h0, c0, rec, (G, CN, TC, out, HIN, HP, CP), (hmask, gmask, fused, zc, zh, valid))
        if HP is None or CP is None:
            ctx.save_for_backward(x, w_ih, bias, w_hh_t, S, G, CN, TC, HIN, out, h0, c0)
        else:
            ctx.save_for_backward(x, w_ih, bias, w_hh_t, S, G, CN, TC, HIN, HP, CP)
        ctx.masks = (hmask, gmask, zc, zh, valid)
        ctx.want_gates = want_gates
        ctx.fused = fused
        if want_gates:
            vf = 1.0 if valid is None else valid.to(S.dtype)
            gi, gf, go = S[..., :H], S[..., H : 2 * H], S[..., 3 * H :]
            return out, h, c, gi * vf, gf * vf, G * vf, go * vf, CN * vf
        return out, h, c

    @staticmethod
    def backward(ctx: Any, dout: Tensor | None, dhT: Tensor | None, dcT: Tensor | None, *dgates: Tensor | None) -> Any:
        bptt = _BPTT(ctx, dout, dgates)
        dh = torch.zeros_like(bptt.c0) if dhT is None else dhT.clone()
        dc = torch.zeros_like(bptt.c0) if dcT is None else dcT.clone()
        for t in range(bptt.T - 1, -1, -1):
            dh, dc = bptt.step(t, dh, dc)
        dx, dw_ih, dbias = bptt.input_grads(ctx.needs_input_grad[:3])
        return dx, dw_ih, dbias, bptt.recurrent_weight_grad(), dh, dc, None, None, None, None, None, None


def _per_step(v: Any, steps: int) -> tuple[Any, ...]:
    """``v[t]`` for every step t of a (T, ...) tensor, else ``v`` itself (a float or None) at every step.

    All views at once: one ``unbind`` of a (50, 32, 256) buffer measured 47 us against 64 us for
    50 indexings (Xeon), and the two loops read about 14 (forward) and 12 (backward) buffers
    per step.
    """
    return v.unbind(0) if isinstance(v, Tensor) else (v,) * steps


def _gate_steps(S: Tensor) -> tuple[tuple[Tensor, ...], ...]:
    """The per-step views of the (T, B, 4H) gate buffer: whole rows, then the i, f, g, o blocks."""
    H = S.shape[-1] // 4
    return (S.unbind(0), *(S[..., k * H : (k + 1) * H].unbind(0) for k in range(4)))


def _forward_loop(S: Tensor, h: Tensor, c: Tensor, rec: Any, bufs: tuple[Tensor | None, ...], masks: tuple[Any, ...]
                  ) -> tuple[Tensor, Tensor]:
    """The forward recurrence of :class:`_LSTMSequence`, writing into its buffers; returns (h_T, c_T)."""
    T = S.shape[0]
    hmask, gmask, fused, zc, zh, valid = masks
    G, CN, TC, out, HIN, HP, CP = (_per_step(b, T) for b in bufs)
    s_all, s_i, s_f, s_g, s_o = _gate_steps(S)
    gmask_t = _per_step(gmask, T)
    zc_t, zh_t, valid_t = _per_step(zc, T), _per_step(zh, T), _per_step(valid, T)
    minus_one = S.new_full((1, 1), -1.0)
    for t in range(T):
        if valid is not None:
            HP[t].copy_(h)
            CP[t].copy_(c)
        hin = h if hmask is None else torch.mul(h, hmask, out=HIN[t])
        s_all[t].add_(rec(hin)).sigmoid_()
        cn = torch.mul(s_f[t], c, out=CN[t])
        if fused:
            # Recurrent dropout, d(g) = m (2 s - 1), as m - 2 m s = -d(g) in one addcmul of the
            # drawn mask (the same numbers negated) and c~ = f c - i (-d(g)): the 2m and -m
            # buffers are no longer made per call, two (T, B, H) passes of ~0.17 ms each (Xeon,
            # 1 thread, N=32 H=256 T=50) and one buffer less.
            m = gmask_t[t]
            cn.addcmul_(s_i[t], torch.addcmul(m, m, s_g[t], value=-2.0, out=G[t]), value=-1.0)
        else:
            gd = _twice_minus_one(s_g[t], minus_one, G[t])
            cn.addcmul_(s_i[t], gd if gmask is None else gd * gmask_t[t])
        if zc is not None:
            cn.lerp_(c, zc_t[t])
        tc = _tanh_into(cn, TC[t], minus_one)
        if valid is None:
            hn = torch.mul(s_o[t], tc, out=out[t])
            if zh is not None:
                hn.lerp_(h, zh_t[t])
            h, c = hn, cn
        else:
            hn = s_o[t] * tc
            if zh is not None:
                hn = torch.lerp(hn, h, zh_t[t])
            v = valid_t[t]
            torch.mul(hn, v, out=out[t])
            h = torch.where(v, hn, h)
            c = torch.where(v, cn, c)
    return h, c


_NO_GATES: tuple[None, ...] = (None,) * 5


class _BPTT:
    """The backward pass of :class:`_LSTMSequence`: backpropagation through time, one step
    (:meth:`step`) from the last to the first.

    Notation as in the forward: s = sigmoid of the step's pre-activations (g rows doubled),
    c~ the new cell before zoneout, h~ the new hidden state before zoneout. The gradient
    w.r.t. the pre-activations of every step is written into ``dA`` (T, B, 4H); the weight
    gradients and dL/dx are products of it after the loop.

    c~ = f c_{t-1} + i d(g) sends dL/dc~ to i, f and g' through three factors, laid side by
    side before the loop (:meth:`_factors`), so one broadcast product per step gives all
    three; the step loop reads per-step views made once (:func:`_per_step`). Together with
    the step written out in one method these took the regularized N=32, H=256 forward +
    backward from ~60 to ~56 ms of CPU time (Xeon, 1 thread, interleaved). Folding more into
    bulk factors (zoneout's 1 - z, tanh'(c~)) measured no faster: each is one more pass over
    a (T, B, H) buffer, and the per-step ops it saves read data that is in cache anyway.
    """

    def __init__(self, ctx: Any, dout: Tensor | None, dgates: tuple[Tensor | None, ...]) -> None:
        self.hmask, gmask, self.zc, self.zh, self.valid = ctx.masks
        self.HP: Tensor | None = None
        self.CP: Tensor | None = None
        self.x, self.w_ih, self.bias, *states = ctx.saved_tensors
        if self.valid is None:
            self.w_hh_t, S, G, self.CN, self.TC, self.HIN, self.out, self.h0, self.c0 = states
        else:
            self.w_hh_t, S, G, self.CN, self.TC, self.HIN, self.HP, self.CP = states
            self.h0, self.c0 = self.HP[0], self.CP[0]
        self.S, self.dout = S, dout
        self.T, B, H = G.shape
        self.H = H
        self.dA = S.new_empty(self.T, B, 4 * H)
        self.D4 = S.new_empty(B, 4 * H)  # dL/d(i, f, g', o) of one step, before sigmoid'
        self.D4o = self.D4[:, 3 * H :]
        self.D4ifg = self.D4[:, : 3 * H].view(B, 3, H)
        self.dgates = dgates if ctx.want_gates and any(d is not None for d in dgates) else None
        # da -> da @ W_hh; oneDNN reorders the transposed view itself (no contiguous copy first:
        # ~0.2 ms less per call, same products); matmul keeps the layout it was measured with.
        self.back = _step_linear(self.w_hh_t if _use_dnn(self.w_hh_t) else self.w_hh_t.contiguous(), B)
        self._factors(G, gmask, ctx.fused)

    def _factors(self, G: Tensor, gmask: Tensor | None, fused: bool) -> None:
        """The per-step views of the loop, and ``P`` (T, B, 3, H): dL/d(i, f, g') = dc~ P[t] with
        P[t] = (d(g), c_{t-1}, 2 m i) (m the recurrent-dropout mask, 2 from the doubled g rows)."""
        T, H, S = self.T, self.H, self.S
        s_i, s_f, s_o = S[..., :H], S[..., H : 2 * H], S[..., 3 * H :]
        self.ones, self.td = S.new_ones(S.shape[1], H), S.new_empty(S.shape[1], H)
        P = S.new_empty(T, S.shape[1], 3, H)
        if fused:  # G holds -d(g)
            torch.neg(G, out=P[:, :, 0])
        elif gmask is not None:  # reported gates: G holds the undropped g
            torch.mul(G, gmask, out=P[:, :, 0])
        else:
            P[:, :, 0].copy_(G)
        if self.CP is not None:
            P[:, :, 1].copy_(self.CP)
        else:
            P[0, :, 1].copy_(self.c0)
            P[1:, :, 1].copy_(self.CN[:-1])
        if gmask is None:
            torch.mul(s_i, 2.0, out=P[:, :, 2])
        else:  # (i m) 2 is i (2m) exactly
            torch.mul(s_i, gmask, out=P[:, :, 2]).mul_(2.0)
        self.TC_t, self.SO_t = self.TC.unbind(0), s_o.unbind(0)
        self.P_t, self.F_t, self.S_t, self.dA_t = P.unbind(0), s_f.unbind(0), S.unbind(0), self.dA.unbind(0)
        self.zh_t, self.zc_t, self.dout_t = _per_step(self.zh, T), _per_step(self.zc, T), _per_step(self.dout, T)

    def step(self, t: int, dh: Tensor, dc: Tensor) -> tuple[Tensor, Tensor]:
        """(dL/dh_t, dL/dc_t) -> (dL/dh_{t-1}, dL/dc_{t-1})."""
        gates = _NO_GATES if self.dgates is None else self._reported_gate_grads(t)
        if self.valid is None and gates[4] is None:
            dhn, dcn, carry = (dh if self.dout is None else dh + self.dout_t[t]), dc, None
        else:
            dhn, dcn, carry = self._incoming(t, dh, dc, gates[4])
        kept: Tensor | None = None
        if self.zh is not None:  # h_t = lerp(h~, h_{t-1}, z): part of dL/dh_t goes straight to h_{t-1}
            dhn, kept = _zoneout_split(dhn, self.zh_t[t])
        # h~ = o tanh(c~): dL/do into D4, and dL/dc~ += dL/dh~ o tanh'(c~)
        tc = self.TC_t[t]
        torch.mul(dhn, tc, out=self.D4o)
        td = torch.addcmul(self.ones, tc, tc, value=-1.0, out=self.td)  # tanh'(c~) = 1 - tanh(c~)^2
        dcn = torch.addcmul(dcn, dhn * self.SO_t[t], td)
        # c~ = f c_{t-1} + i d(g): dL/d(i, f, g') into D4, and dL/dc_{t-1}
        if self.zc is None:
            torch.mul(self.P_t[t], dcn.unsqueeze(1), out=self.D4ifg)
            dcp = dcn * self.F_t[t]
        else:
            dcn, dcz = _zoneout_split(dcn, self.zc_t[t])
            torch.mul(self.P_t[t], dcn.unsqueeze(1), out=self.D4ifg)
            dcp = torch.addcmul(dcz, dcn, self.F_t[t])
        if self.dgates is not None:
            self._add_gate_grads(gates)
        dh = self._through_recurrence(t, kept)
        if carry is not None:  # padded steps pass the state's gradient on unchanged
            return dh + carry[0], dcp + carry[1]
        return dh, dcp

    def _reported_gate_grads(self, t: int) -> tuple[Tensor | None, ...]:
        """Gradients of the returned i, f, g, o, c at step t (zero where padded)."""
        assert self.dgates is not None
        vf = 1.0 if self.valid is None else self.valid[t].to(self.S.dtype)
        return tuple(None if d is None else d[t] * vf for d in self.dgates)

    def _incoming(self, t: int, dh: Tensor, dc: Tensor, dc_gate: Tensor | None
                  ) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]:
        """Gradients of the step's new h and c (output and state), and at padded steps the
        parts that skip the step."""
        dhn = dh if self.dout is None else dh + self.dout[t]
        dcn = dc
        carry = None
        if self.valid is not None:
            v = self.valid[t].to(self.S.dtype)
            carry = (dh * (1 - v), dc * (1 - v))
            dhn = dhn * v
            dcn = dcn * v
        if dc_gate is not None:
            dcn = dcn + dc_gate
        return dhn, dcn, carry

    def _add_gate_grads(self, gates: tuple[Tensor | None, ...]) -> None:
        """Adds the returned gates' gradients to dL/d(i, f, g', o)."""
        H, D4 = self.H, self.D4
        gi, gf, gg, go, _ = gates
        if gi is not None:
            D4[:, :H] += gi
        if gf is not None:
            D4[:, H : 2 * H] += gf
        if gg is not None:
            D4[:, 2 * H : 3 * H].add_(gg, alpha=2.0)
        if go is not None:
            D4[:, 3 * H :] += go

    def _through_recurrence(self, t: int, kept: Tensor | None) -> Tensor:
        """Through the sigmoids into dA[t], then W_hh (and the variational mask) to h_{t-1}."""
        s = self.S_t[t]
        da = torch.mul(self.D4, s, out=self.dA_t[t])
        da.addcmul_(da, s, value=-1.0)  # D4 * s(1 - s)
        dhin = self.back(da)
        if self.hmask is not None:
            dhin.mul_(self.hmask)
        return dhin if kept is None else dhin.add_(kept)

    def input_grads(self, needed: tuple[bool, ...]) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """Gradients of x, W_ih and the bias: the input projection's, from dA."""
        dA2 = self.dA.reshape(-1, self.dA.shape[-1])
        dx = dA2.matmul(self.w_ih).reshape(self.x.shape) if needed[0] else None
        dw = _weight_grad(dA2, self.x.reshape(-1, self.x.shape[-1])) if needed[1] else None
        db = dA2.sum(0) if needed[2] and self.bias is not None else None
        return dx, dw, db

    def recurrent_weight_grad(self) -> Tensor:
        """dL/dW_hh^T = sum_t h_in(t)^T dA[t], one (H x T·B)(T·B x 4H) product."""
        if self.HIN is not None:
            hin_all = self.HIN
        elif self.HP is not None:
            hin_all = self.HP
        else:
            hin_all = torch.cat([self.h0.unsqueeze(0), self.out[:-1]])
        T, B, H = hin_all.shape
        return _weight_grad(hin_all.reshape(T * B, H), self.dA.reshape(T * B, 4 * H))


def _zoneout_split(d: Tensor, z: Tensor | float) -> tuple[Tensor, Tensor]:
    """x_t = lerp(x~, x_{t-1}, z) = (1 - z) x~ + z x_{t-1}: dL/dx~ and the part z dL/dx_t that goes
    straight to x_{t-1}."""
    kept = d * z
    return d - kept, kept


def _lstm_gates_from_states(H: int, x: Tensor, h_prev: Tensor, c0: Tensor, valid: Tensor | None, w: Any) -> list[Tensor]:
    """i, f, g, o and c of every step from the inputs ``x`` and the states ``h_prev`` (T, B, ·)."""
    # One product over [x_t, h_{t-1}] for all steps, the g rows doubled so that one sigmoid
    # over the contiguous (T, B, 4H) result gives every gate (tanh(a) = 2 sigmoid(2a) - 1).
    scale = _lstm_scale(w.w_ih, H)
    weight = torch.cat([w.w_ih, w.w_hh], 1) * scale.unsqueeze(1)
    b = None if w.b_ih is None or w.b_hh is None else (w.b_ih + w.b_hh) * scale
    sig = _linear(torch.cat([x, h_prev], -1), weight, b, sigmoid=True)
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
    return [i, f, g, o, torch.stack(cs)]


def lstm_direction(
    m: Any, x: Tensor, valid: Tensor | None, h: Tensor, c: Tensor | None, w: Any, p_hid: float, want_gates: bool
) -> Any:
    """One LSTM direction: the reference's :func:`dlfaq.nn.rnn._lstm_direction`, faster."""
    w_ih, w_hh, b_ih, b_hh, w_hr = w
    if w_hr is not None:
        # With a projection the step is left to autograd: the reference's own loop.
        return ref._lstm_direction(m, x, valid, h, c, w, p_hid, want_gates)
    H = m.hidden_size
    # g rows doubled: one sigmoid per step covers all four gates (see _LSTMSequence).
    scale = _lstm_scale(w_ih, H)
    # A transposed view of the (4H, H) matrix: measured faster for the per-step GEMM than a
    # row-major (H, 4H) copy (the layout torch's own Linear uses).
    w_hh_t = (w_hh * scale.unsqueeze(1)).t()
    bias = None
    if b_ih is not None:
        bias = (b_ih + b_hh) * scale
    # The reference's masks, drawn in its order (same seed, same network).
    hmask, gmask, zc_mask, zh_mask = ref._step_masks(m, x, h, p_hid)
    res = _LSTMSequence.apply(x, w_ih * scale.unsqueeze(1), bias, w_hh_t, h, c, hmask, gmask, zc_mask, zh_mask,
                              valid, want_gates)
    if want_gates:
        return res[0], res[1], res[2], list(res[3:])
    return res[0], res[1], res[2], None


def _gru_gates_from_states(H: int, x: Tensor, h_prev: Tensor, w: Any) -> list[Tensor]:
    """r, z and n of every step from the inputs ``x`` and the states ``h_prev`` (T, B, ·)."""
    gx = _linear(x, w.w_ih, w.b_ih)
    gh = _linear(h_prev, w.w_hh, w.b_hh)
    rz = (gx[..., : 2 * H] + gh[..., : 2 * H]).sigmoid()
    r, z = rz[..., :H], rz[..., H:]
    n = torch.addcmul(gx[..., 2 * H :], r, gh[..., 2 * H :]).tanh()
    return [r, z, n]


def gru_direction(
    m: Any, x: Tensor, valid: Tensor | None, h: Tensor, c: Tensor | None, w: Any, p_hid: float, want_gates: bool
) -> Any:
    """One GRU direction: the reference's :func:`dlfaq.nn.rnn._gru_direction`, faster (oneDNN products)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = w
    T = x.shape[0]
    H = m.hidden_size
    xw = _linear(x, w_ih, b_ih)
    w_hh_t = w_hh.t()
    if b_hh is None:
        b_hh = x.new_zeros(3 * H)
    hmask, nmask, _, zh_mask = ref._step_masks(m, x, h, p_hid)
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
