"""dlfaq's RNNs checked the way torch's own ``test/test_nn.py`` checks torch's (issue 16).

Each case below restates one of torch's RNN test cases (argument checks, broadcasting
of the hidden state, initial states, packed and variable-length sequences, dropout
state, projections, unbatched input, TorchScript), written for this project, and runs
it on both execution paths of dlfaq's modules: ``default`` (no gates requested: torch's
kernel where it applies) and ``gates`` (``return_gates=True``: dlfaq's own code). An
error must be torch's, same exception type and same message; a result must be torch's
to 1e-5 in float32 (both sides compute the same formulas with different summation
orders; observed differences are ~1e-7 for these sizes, see ``test_rnn.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlfaq.nn import GRU, LSTM, GRUCell, LSTMCell, RNNCell

ATOL = 1e-5
PATHS = ["default", "gates"]
CELLS = [(LSTMCell, torch.nn.LSTMCell), (GRUCell, torch.nn.GRUCell)]
MODULES = [(LSTM, torch.nn.LSTM), (GRU, torch.nn.GRU)]


def _call(module: torch.nn.Module, path: str, *args: Any, **kw: Any) -> Any:
    """The module's result without the gates, computed on the requested path."""
    if path == "default":
        return module(*args, **kw)
    res = module(*args, return_gates=True, **kw)
    if isinstance(module, torch.nn.RNNCellBase):
        return res[0]
    return res[0], res[1]


def _error(fn: Callable[[], Any]) -> tuple[type, str] | None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
        return type(e), str(e)
    return None


def _same_error(ours: Callable[[], Any], theirs: Callable[[], Any]) -> None:
    ref = _error(theirs)
    assert ref is not None, "the case must make torch raise"
    assert _error(ours) == ref


def _flat(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, torch.nn.utils.rnn.PackedSequence):
        return [x.data]
    return [t for item in x for t in _flat(item)]


def _close(a: Any, b: Any, atol: float = ATOL) -> None:
    fa, fb = _flat(a), _flat(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb, strict=True):
        assert x.shape == y.shape
        assert (x - y).abs().max().item() <= atol


def _pair(ours_cls: type, torch_cls: type, *args: Any, **kw: Any) -> tuple[torch.nn.Module, torch.nn.Module]:
    ref = torch_cls(*args, **kw)
    ours = ours_cls(*args, **kw)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _cell_hx(lstm: bool, *shape: int) -> Any:
    return (torch.randn(*shape), torch.randn(*shape)) if lstm else torch.randn(*shape)


def _rnn_hx(lstm: bool, shape: tuple[int, ...], cshape: tuple[int, ...] | None = None) -> Any:
    return (torch.randn(*shape), torch.randn(*(cshape or shape))) if lstm else torch.randn(*shape)


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), CELLS)
def test_cell_does_not_broadcast_hidden_state(path: str, cls: type, tcls: type) -> None:
    # torch: test_RNN_cell_no_broadcasting. A hidden state of batch 1 against an input of
    # batch 3 must raise, not broadcast.
    torch.manual_seed(0)
    ours, ref = _pair(cls, tcls, 10, 20)
    lstm = cls is LSTMCell
    x = torch.randn(3, 10)
    for hx in (_cell_hx(lstm, 1, 20), _cell_hx(lstm, 4, 20)):
        _same_error(lambda hx=hx: _call(ours, path, x, hx), lambda hx=hx: ref(x, hx))
    if lstm:  # only the cell state of batch 1
        hx = (torch.randn(3, 20), torch.randn(1, 20))
        _same_error(lambda: _call(ours, path, x, hx), lambda: ref(x, hx))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), CELLS)
def test_cell_input_and_hidden_size_checks(path: str, cls: type, tcls: type) -> None:
    # torch: test_RNN_cell_forward_input_size / _hidden_size, and the dimension checks.
    torch.manual_seed(1)
    ours, ref = _pair(cls, tcls, 10, 20)
    lstm = cls is LSTMCell
    cases = [
        (torch.randn(3, 11), _cell_hx(lstm, 3, 20)),  # input size
        (torch.randn(3, 10), _cell_hx(lstm, 3, 21)),  # hidden size
        (torch.randn(2, 3, 10), None),  # 3-D input
        (torch.randn(3, 10), _cell_hx(lstm, 1, 3, 20)),  # 3-D hidden
        (torch.randn(10), _cell_hx(lstm, 3, 20)),  # unbatched input, batched hidden
        (torch.randn(3, 10, dtype=torch.float64), None),  # dtype
    ]
    for x, hx in cases:
        _same_error(lambda x=x, hx=hx: _call(ours, path, x, hx), lambda x=x, hx=hx: ref(x, hx))


def test_rnn_cell_checks_are_torch() -> None:
    # RNNCell is torch's own cell: the same checks, trivially, but part of the drop-in claim.
    torch.manual_seed(2)
    ours, ref = _pair(RNNCell, torch.nn.RNNCell, 10, 20)
    x = torch.randn(3, 10)
    _same_error(lambda: ours(x, torch.randn(1, 20)), lambda: ref(x, torch.randn(1, 20)))
    assert torch.equal(ours(x), ref(x))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), CELLS)
def test_cell_forward_backward_and_unbatched(path: str, cls: type, tcls: type) -> None:
    # torch: test_LSTM_cell / test_GRU_cell (forward and backward over a few steps, with and
    # without bias) and the unbatched-input cases of its module tests.
    lstm = cls is LSTMCell
    for bias in (True, False):
        torch.manual_seed(3)
        ours, ref = _pair(cls, tcls, 10, 20, bias=bias)
        x = torch.randn(6, 3, 10)
        hx_o = hx_r = _cell_hx(lstm, 3, 20)
        outs_o, outs_r = [], []
        for t in range(6):
            hx_o = _call(ours, path, x[t], hx_o)
            hx_r = ref(x[t], hx_r)
            outs_o.append(hx_o[0] if lstm else hx_o)
            outs_r.append(hx_r[0] if lstm else hx_r)
        _close(outs_o, outs_r)
        torch.stack(outs_o).pow(2).sum().backward()
        torch.stack(outs_r).pow(2).sum().backward()
        _close([p.grad for p in ours.parameters()], [p.grad for p in ref.parameters()])
        # Unbatched: 1-D input and hidden give the batched result without the batch dimension.
        x1, h1 = torch.randn(10), _cell_hx(lstm, 20)
        _close(_call(ours, path, x1, h1), ref(x1, h1))


@pytest.mark.parametrize("path", PATHS)
def test_lstm_cell_backward_through_one_output(path: str) -> None:
    # torch: test_lstmcell_backward_only_one_output_grad. Gradient through h alone, or c alone.
    torch.manual_seed(4)
    ours, ref = _pair(LSTMCell, torch.nn.LSTMCell, 2, 3)
    x = torch.randn(1, 2)
    for k in (0, 1):
        ours.zero_grad()
        ref.zero_grad()
        _call(ours, path, x)[k].sum().backward()
        ref(x)[k].sum().backward()
        _close([p.grad for p in ours.parameters()], [p.grad for p in ref.parameters()])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), CELLS)
def test_cell_zero_hidden_equals_no_hidden(path: str, cls: type, tcls: type) -> None:
    # torch: test_rnn_initial_hidden_state, for cells.
    torch.manual_seed(5)
    ours = cls(4, 6)
    x = torch.randn(5, 4)
    hx = _cell_hx(cls is LSTMCell, 5, 6)
    zeros = tuple(torch.zeros_like(h) for h in hx) if isinstance(hx, tuple) else torch.zeros_like(hx)
    _close(_call(ours, path, x), _call(ours, path, x, zeros), atol=0.0)


@pytest.mark.parametrize(("cls", "tcls"), [*CELLS, (RNNCell, torch.nn.RNNCell)])
def test_cells_script_with_torchscript(cls: type, tcls: type) -> None:
    # torch's cells compile with torch.jit.script; so must dlfaq's (the scripted module shares
    # the Parameters, so training it trains the eager cell).
    torch.manual_seed(6)
    ours, ref = _pair(cls, tcls, 4, 6)
    scripted = torch.jit.script(ours)
    x = torch.randn(3, 4)
    _close(scripted(x), ref(x), atol=0.0)
    _close(scripted(x), ours(x), atol=0.0)
    scripted(x)[0].sum().backward()
    assert ours.weight_ih.grad is not None and ours.weight_ih.grad.abs().sum() > 0


# --------------------------------------------------------------------------- modules


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), MODULES)
def test_rnn_args_check(path: str, cls: type, tcls: type) -> None:
    # torch: test_rnn_args_check. Wrong input size, hidden batch, layer count, hidden size,
    # input dimension and dtype each raise torch's error.
    torch.manual_seed(7)
    lstm = cls is LSTM
    for bidir in (False, True):
        ours, ref = _pair(cls, tcls, 3, 4, num_layers=2, bidirectional=bidir)
        d = 2 if bidir else 1
        good = (2 * d, 5, 4)
        cases = [
            (torch.randn(7, 5, 2), _rnn_hx(lstm, good)),  # input size
            (torch.randn(7, 5, 3), _rnn_hx(lstm, (2 * d, 4, 4))),  # hidden batch
            (torch.randn(7, 5, 3), _rnn_hx(lstm, (d, 5, 4))),  # layer count
            (torch.randn(7, 5, 3), _rnn_hx(lstm, (2 * d, 5, 5))),  # hidden size
            (torch.randn(7, 5, 3, 1), None),  # 4-D input
            (torch.randn(7, 5, 3), _rnn_hx(lstm, (5, 4))),  # 2-D hidden for 3-D input
            (torch.randn(7, 3), _rnn_hx(lstm, good)),  # 3-D hidden for 2-D input
            (torch.randn(7, 5, 3, dtype=torch.float64), None),  # dtype
        ]
        if lstm:
            cases.append((torch.randn(7, 5, 3), (torch.randn(*good), torch.randn(2 * d, 5, 5))))  # cell size
        for x, hx in cases:
            _same_error(lambda x=x, hx=hx, o=ours: _call(o, path, x, hx), lambda x=x, hx=hx, r=ref: r(x, hx))


@pytest.mark.parametrize("path", PATHS)
def test_bidirectional_lstm_given_a_tensor_hx(path: str) -> None:
    # A bidirectional LSTM given one tensor instead of (h, c): torch's error, not an unpacking one.
    torch.manual_seed(8)
    ours, ref = _pair(LSTM, torch.nn.LSTM, 3, 4, bidirectional=True)
    x, hx = torch.randn(5, 2, 3), torch.randn(2, 2, 4)
    _same_error(lambda: _call(ours, path, x, hx), lambda: ref(x, hx))


@pytest.mark.parametrize("path", PATHS)
def test_projections_lstm_args_check(path: str) -> None:
    # torch: test_projections_lstm_args_check. With proj_size the hidden state has H_out = proj_size
    # and the cell state H = hidden_size.
    torch.manual_seed(9)
    ours, ref = _pair(LSTM, torch.nn.LSTM, 3, 5, num_layers=2, proj_size=2)
    x = torch.randn(4, 6, 3)
    for h, c in [((2, 6, 5), (2, 6, 5)), ((2, 6, 2), (2, 6, 2)), ((1, 6, 2), (1, 6, 5)), ((2, 5, 2), (2, 6, 5))]:
        hx = (torch.randn(*h), torch.randn(*c))
        _same_error(lambda hx=hx: _call(ours, path, x, hx), lambda hx=hx: ref(x, hx))
    hx = (torch.randn(2, 6, 2), torch.randn(2, 6, 5))
    _close(_call(ours, path, x, hx), ref(x, hx))


def test_gru_refuses_proj_size_like_torch() -> None:
    _same_error(lambda: GRU(3, 4, proj_size=2), lambda: torch.nn.GRU(3, 4, proj_size=2))
    _same_error(lambda: GRU(3, 4, proj_size=0), lambda: torch.nn.GRU(3, 4, proj_size=0))
    _same_error(lambda: LSTM(3, 4, proj_size=4), lambda: torch.nn.LSTM(3, 4, proj_size=4))
    _same_error(lambda: LSTM(3, 4, proj_size=-1), lambda: torch.nn.LSTM(3, 4, proj_size=-1))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), MODULES)
def test_rnn_initial_hidden_state(path: str, cls: type, tcls: type) -> None:
    # torch: test_rnn_initial_hidden_state (and its projection variant for the LSTM): zeros
    # given explicitly equal hx=None.
    torch.manual_seed(10)
    kws: list[dict[str, Any]] = [{}, {"bidirectional": True}]
    if cls is LSTM:
        kws.append({"proj_size": 2})
    for kw in kws:
        ours = cls(3, 4, num_layers=2, **kw)
        x = torch.randn(5, 6, 3)
        d = 2 if kw.get("bidirectional") else 1
        h_out = kw.get("proj_size", 4)
        zeros: Any = torch.zeros(2 * d, 6, h_out)
        if cls is LSTM:
            zeros = (zeros, torch.zeros(2 * d, 6, 4))
        _close(_call(ours, path, x), _call(ours, path, x, zeros), atol=0.0)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), MODULES)
def test_variable_sequence(path: str, cls: type, tcls: type) -> None:
    # torch: test_variable_sequence. A packed batch of different lengths gives, per sequence, the
    # output of running that sequence alone; output and gradients equal torch's packed run.
    torch.manual_seed(11)
    lengths = [6, 2, 4, 5]
    for bidir in (False, True):
        ours, ref = _pair(cls, tcls, 3, 4, num_layers=2, bidirectional=bidir)
        x = torch.randn(6, 4, 3)
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out_o, _ = pad_packed_sequence(_call(ours, path, packed)[0])
        out_r, _ = pad_packed_sequence(ref(packed)[0])
        _close(out_o, out_r)
        for b, n in enumerate(lengths):
            alone = _call(ours, path, x[:n, b : b + 1])[0]
            _close(out_o[:n, b : b + 1], alone)
            assert out_o[n:, b].abs().max().item() == 0.0 if n < 6 else True
        out_o.sum().backward()
        out_r.sum().backward()
        _close([p.grad for p in ours.parameters()], [p.grad for p in ref.parameters()])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), MODULES)
def test_lengths_checks_hx_before_packing(path: str, cls: type, tcls: type) -> None:
    # lengths= is dlfaq's shorthand for packing: a hidden state of the wrong batch or layer
    # count raises torch's message for the padded input (packing would reorder it silently).
    torch.manual_seed(12)
    lstm = cls is LSTM
    ours, ref = _pair(cls, tcls, 3, 4, bidirectional=True)
    x = torch.randn(5, 2, 3)
    for shape in [(2, 3, 4), (1, 2, 4), (2, 1, 4)]:
        hx = _rnn_hx(lstm, shape)
        _same_error(lambda hx=hx: _call(ours, path, x, hx, lengths=[5, 3]), lambda hx=hx: ref(x, hx))
    hx = _rnn_hx(lstm, (2, 2, 4))
    packed = pack_padded_sequence(x, torch.tensor([5, 3]), enforce_sorted=False)
    out_r, hid_r = ref(packed, hx)
    out_o, hid_o = _call(ours, path, x, hx, lengths=[5, 3])
    _close(out_o, pad_packed_sequence(out_r, total_length=5)[0])
    _close(hid_o, hid_r)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), MODULES)
def test_rnn_dropout_state_and_change(path: str, cls: type, tcls: type) -> None:
    # torch: test_RNN_dropout_state / test_RNN_change_dropout. Inter-layer dropout acts in
    # train() (two calls differ; p=1 zeroes the next layer's input) and not in eval(), where
    # the result is torch's; changing .dropout after construction takes effect.
    torch.manual_seed(13)
    ours, ref = _pair(cls, tcls, 3, 4, num_layers=2, dropout=0.5)
    x = torch.randn(5, 2, 3)
    a, b = _call(ours, path, x)[0], _call(ours, path, x)[0]
    assert not torch.allclose(a, b)
    ours.eval()
    ref.eval()
    _close(_call(ours, path, x), ref(x))
    ours.train()
    ref.train()
    ours.dropout = ref.dropout = 1.0
    # With every first-layer output dropped, the second layer sees zeros: torch's result then
    # is deterministic and both must agree.
    _close(_call(ours, path, x), ref(x))
    ours.dropout = 0.0
    ref.dropout = 0.0
    _close(_call(ours, path, x), ref(x))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("cls", "tcls"), MODULES)
def test_unbatched_and_batch_first(path: str, cls: type, tcls: type) -> None:
    # torch's module tests for unbatched (L, H_in) input and batch_first layout.
    torch.manual_seed(14)
    lstm = cls is LSTM
    ours, ref = _pair(cls, tcls, 3, 4, num_layers=2, bidirectional=True)
    x, hx = torch.randn(5, 3), _rnn_hx(lstm, (4, 4))
    _close(_call(ours, path, x, hx), ref(x, hx))
    _close(_call(ours, path, x), ref(x))
    ours_bf, ref_bf = _pair(cls, tcls, 3, 4, batch_first=True)
    xb = torch.randn(2, 5, 3)
    _close(_call(ours_bf, path, xb), ref_bf(xb))
