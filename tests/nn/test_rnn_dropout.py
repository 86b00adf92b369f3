"""The RNN regularizers: mask rates, sharing across time, eval behaviour.

Rate bounds: a drop fraction estimated from n independent Bernoulli(p) draws
has standard deviation sqrt(p(1-p)/n); every bound below is 5 of those
(a false failure has probability < 1e-6 per check), computed from the actual n.
"""

from __future__ import annotations

import math

import pytest
import torch

from dlfaq.nn import GRU, LSTM, DropConnectLinear, LockedDropout, WeightDrop


def _rate_ok(fraction: float, p: float, n: int) -> bool:
    return abs(fraction - p) <= 5 * math.sqrt(p * (1 - p) / n)


def _logit(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p) - torch.log1p(-p)


# --------------------------------------------------------------------------- standalone


def test_locked_dropout_shares_mask_over_time() -> None:
    torch.manual_seed(0)
    p = 0.3
    m = LockedDropout(p)
    x = torch.ones(20, 64, 32)
    y = m(x)
    kept = y[0] != 0
    assert torch.equal(y != 0, kept.expand_as(y))  # same units silent at every step
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p)))
    assert _rate_ok(1 - kept.float().mean().item(), p, kept.numel())
    bf = LockedDropout(p, batch_first=True)(torch.ones(8, 10, 4))
    assert torch.equal(bf != 0, (bf[:, :1] != 0).expand_as(bf))
    m.eval()
    assert torch.equal(m(x), x)
    with pytest.raises(ValueError):
        LockedDropout(1.0)


def test_dropconnect_linear_mask_and_eval() -> None:
    torch.manual_seed(1)
    p = 0.4
    lin = DropConnectLinear(50, 60, bias=False, p=p)
    eye = torch.eye(50)
    w_eff = lin(eye).T  # rows of the identity read the dropped weight back
    ratio = w_eff / lin.weight
    dropped = ratio == 0
    assert torch.allclose(ratio[~dropped], torch.full_like(ratio[~dropped], 1 / (1 - p)), atol=1e-5)
    assert _rate_ok(dropped.float().mean().item(), p, dropped.numel())
    # One mask per forward pass: every example of the batch sees the same dropped matrix.
    y = lin(torch.ones(3, 50))
    assert torch.allclose(y[0], y[1]) and torch.allclose(y[1], y[2])
    lin.eval()
    assert torch.allclose(lin(eye).T, lin.weight)


def test_weight_drop_wraps_torch_lstm_without_patching() -> None:
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(4, 8)
    wd = WeightDrop(lstm, ["weight_hh_l0"], dropout=0.5)
    names_before = [n for n, _ in lstm.named_parameters()]
    x = torch.randn(5, 3, 4)
    out_train, _ = wd(x)
    out_plain, _ = lstm(x)
    assert not torch.allclose(out_train, out_plain)
    out_train.sum().backward()
    assert lstm.weight_hh_l0.grad is not None and lstm.weight_hh_l0.grad.abs().sum() > 0
    # The module still owns its parameters and works on its own afterwards.
    assert [n for n, _ in lstm.named_parameters()] == names_before
    assert torch.equal(lstm(x)[0], out_plain)
    wd.eval()
    assert torch.equal(wd(x)[0], out_plain)
    assert list(wd.state_dict()) == ["module." + n for n in lstm.state_dict()]
    with pytest.raises(ValueError):
        WeightDrop(lstm, ["nope"])


def test_weight_drop_mask_rate_on_linear() -> None:
    torch.manual_seed(3)
    p = 0.25
    lin = torch.nn.Linear(40, 40, bias=False)
    wd = WeightDrop(lin, "weight", dropout=p)
    ratio = wd(torch.eye(40)).T / lin.weight
    dropped = ratio == 0
    assert _rate_ok(dropped.float().mean().item(), p, dropped.numel())
    assert torch.allclose(ratio[~dropped], torch.full_like(ratio[~dropped], 1 / (1 - p)), atol=1e-5)


# --------------------------------------------------------------------------- LSTM options


def _identity_lstm(hidden: int, **kw: float) -> LSTM:
    """An LSTM whose gate pre-activations expose the masks: W_ih = 0, biases 0,
    and every W_hh block the identity, so a_t = h_{t-1} (masked) for each gate."""
    m = LSTM(1, hidden, **kw)
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.bias_ih_l0.zero_()
        m.bias_hh_l0.zero_()
        m.weight_hh_l0.copy_(torch.eye(hidden).repeat(4, 1))
    return m


def test_variational_hidden_mask_is_shared_across_time() -> None:
    torch.manual_seed(4)
    p, H, B, T = 0.3, 16, 128, 6
    m = _identity_lstm(H, variational_dropout=(0.0, p, 0.0))
    h0 = torch.rand(1, B, H) * 0.5 + 0.25
    c0 = torch.rand(1, B, H)
    out, _, g = m(torch.zeros(T, B, 1), (h0, c0), return_gates=True)
    h_prev = torch.cat([h0, out[:-1]])  # (T, B, H)
    implied = _logit(g.i[0]) / h_prev  # = the mask where h_prev != 0
    dropped = implied.abs() < 1e-3
    assert torch.equal(dropped, dropped[:1].expand_as(dropped))  # one mask per sequence
    kept = implied[~dropped]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-3)
    assert _rate_ok(dropped[0].float().mean().item(), p, B * H)
    m.eval()
    e1 = m(torch.zeros(T, B, 1), (h0, c0))[0]
    assert torch.equal(e1, m(torch.zeros(T, B, 1), (h0, c0))[0])


def test_variational_input_mask_is_shared_across_time() -> None:
    torch.manual_seed(5)
    p, B, T = 0.4, 400, 5
    m = LSTM(1, 3, num_layers=2, variational_dropout=(p, 0.0, 0.0))
    with torch.no_grad():
        m.weight_hh_l0.zero_()
    x = torch.ones(T, B, 1)
    _, _, g = m(x, return_gates=True)
    # Layer 0 sees x_t * m (m fixed per sequence) and no recurrence, so its gates are
    # either all "input kept" or all "input dropped" along a sequence.
    i0 = g.i[0, :, :, 0]  # (T, B)
    assert torch.allclose(i0, i0[:1].expand_as(i0))
    no_input = torch.sigmoid(m.bias_ih_l0[0] + m.bias_hh_l0[0])
    dropped = (i0[0] - no_input).abs() < 1e-6
    assert _rate_ok(dropped.float().mean().item(), p, B)


def test_recurrent_dropout_never_drops_the_memory() -> None:
    torch.manual_seed(6)
    p, B, H, T = 0.5, 64, 8, 10
    m = LSTM(3, H, recurrent_dropout=p)
    x = torch.randn(T, B, 3)
    c0 = torch.randn(1, B, H)
    _, _, g = m(x, (torch.zeros(1, B, H), c0), return_gates=True)
    c_prev = torch.cat([c0[0:1], g.c[0, :-1]])
    update = g.c[0] - g.f[0] * c_prev  # = i * d(g)
    d = update / (g.i[0] * g.g[0])
    dropped = update.abs() < 1e-7
    # Where the update is dropped the cell state is exactly f * c_{t-1}: the memory survives.
    assert torch.allclose(g.c[0][dropped], (g.f[0] * c_prev)[dropped], atol=1e-6)
    assert (g.c[0][dropped] != 0).float().mean() > 0.99
    assert torch.allclose(d[~dropped], torch.full_like(d[~dropped], 1 / (1 - p)), rtol=1e-3)
    assert _rate_ok(dropped.float().mean().item(), p, dropped.numel())
    # A fresh mask per step: the dropped pattern is not constant across time.
    assert not torch.equal(dropped, dropped[:1].expand_as(dropped))


@pytest.mark.parametrize("z_c,z_h", [(0.3, 0.0), (0.0, 0.2), (0.25, 0.15)])
def test_zoneout_keeps_previous_values(z_c: float, z_h: float) -> None:
    torch.manual_seed(7)
    B, H, T = 64, 8, 12
    m = LSTM(2, H, zoneout=(z_c, z_h))
    ref = torch.nn.LSTMCell(2, H)
    with torch.no_grad():
        ref.weight_ih.copy_(m.weight_ih_l0)
        ref.weight_hh.copy_(m.weight_hh_l0)
        ref.bias_ih.copy_(m.bias_ih_l0)
        ref.bias_hh.copy_(m.bias_hh_l0)
    x = torch.randn(T, B, 2)
    out, _, g = m(x, return_gates=True)
    h_prev = torch.cat([torch.zeros(1, B, H), out[:-1]])
    c_prev = torch.cat([torch.zeros(1, B, H), g.c[0, :-1]])
    kept_c = (g.c[0] == c_prev) & (c_prev != 0)
    kept_h = (out == h_prev) & (h_prev != 0)
    if z_c:
        n = int((c_prev != 0).sum())
        assert _rate_ok(kept_c.float().sum().item() / n, z_c, n)
    else:
        assert kept_c.sum() == 0
    if z_h:
        n = int((h_prev != 0).sum())
        assert _rate_ok(kept_h.float().sum().item() / n, z_h, n)
    # Units that were not zoned out follow the plain LSTM update from the previous state.
    # (A unit zoned out at every step since t = 0 is still at the initial 0, hence ==, not kept_c.)
    same_c = g.c[0] == c_prev
    for t in (3, 7):
        h_new, c_new = ref(x[t], (h_prev[t], c_prev[t]))
        assert torch.allclose(g.c[0, t][~same_c[t]], c_new[~same_c[t]], atol=1e-5)
    # Evaluation: the expectation z * previous + (1 - z) * new, deterministic.
    m.eval()
    out_e, _, g_e = m(x, return_gates=True)
    out_e2, _ = m(x)
    assert torch.equal(out_e, out_e2)
    hp = torch.cat([torch.zeros(1, B, H), out_e[:-1]])
    cp = torch.cat([torch.zeros(1, B, H), g_e.c[0, :-1]])
    t = 5
    h_new, c_new = ref(x[t], (hp[t], cp[t]))
    c_exp = z_c * cp[t] + (1 - z_c) * c_new
    assert torch.allclose(g_e.c[0, t], c_exp, atol=1e-5)
    h_exp = z_h * hp[t] + (1 - z_h) * (g_e.o[0, t] * torch.tanh(c_exp))
    assert torch.allclose(out_e[t], h_exp, atol=1e-5)


def test_weight_drop_in_lstm_one_mask_per_forward() -> None:
    torch.manual_seed(8)
    p, H = 0.5, 32
    m = LSTM(1, H, weight_drop=p)
    with torch.no_grad():
        m.weight_ih_l0.zero_()
        m.bias_ih_l0.zero_()
        m.bias_hh_l0.zero_()
    # Batch of one-hot h0: the pre-activation of sample k is column k of the dropped W_hh.
    h0 = torch.eye(H).unsqueeze(0)
    c0 = torch.zeros(1, H, H)
    _, _, g = m(torch.zeros(1, H, 1), (h0, c0), return_gates=True)
    pre_i = _logit(g.i[0, 0])  # (B=H, H): entry [k, j] = W_hh_dropped[j, k]
    ratio = pre_i.T / m.weight_hh_l0[:H]
    dropped = pre_i.T.abs() < 1e-6
    assert _rate_ok(dropped.float().mean().item(), p, dropped.numel())
    assert torch.allclose(ratio[~dropped], torch.full_like(ratio[~dropped], 1 / (1 - p)), rtol=1e-3)
    # The fused (no gates) path uses a dropped matrix too, and eval uses the full one.
    x = torch.randn(6, 4, 1)
    m = LSTM(1, H, weight_drop=p)
    ref = torch.nn.LSTM(1, H)
    ref.load_state_dict(m.state_dict())
    assert not torch.allclose(m(x)[0], ref(x)[0])
    m.eval()
    assert torch.allclose(m(x)[0], ref(x)[0], atol=1e-6)


@pytest.mark.parametrize(
    "kw",
    [
        {"dropout": 0.3},
        {"variational_dropout": 0.3},
        {"variational_dropout": (0.3, 0.0, 0.2)},
        {"weight_drop": 0.3},
        {"recurrent_dropout": 0.3},
    ],
)
@pytest.mark.parametrize("cls,tcls", [(LSTM, torch.nn.LSTM), (GRU, torch.nn.GRU)])
def test_regularizers_off_in_eval_and_active_in_train(cls: type, tcls: type, kw: dict) -> None:
    torch.manual_seed(9)
    m = cls(3, 6, num_layers=2, **kw)
    ref = tcls(3, 6, num_layers=2)
    ref.load_state_dict(m.state_dict())
    x = torch.randn(7, 5, 3)
    assert not torch.allclose(m(x)[0], ref(x)[0])
    m.eval()
    ref.eval()
    assert torch.allclose(m(x)[0], ref(x)[0], atol=1e-6)
    assert torch.allclose(m(x, return_gates=True)[0], ref(x)[0], atol=1e-5)


def test_zero_probabilities_cost_nothing() -> None:
    m = LSTM(3, 4, variational_dropout=0.0, weight_drop=0.0, recurrent_dropout=0.0, zoneout=0.0)
    assert not m._needs_loop()
    ref = torch.nn.LSTM(3, 4)
    ref.load_state_dict(m.state_dict())
    x = torch.randn(5, 2, 3)
    assert torch.equal(m(x)[0], ref(x)[0])  # bit-identical: the same fused kernel


def test_gru_regularizers_combined_train_step() -> None:
    torch.manual_seed(10)
    m = GRU(3, 5, num_layers=2, bidirectional=True, zoneout=0.1, recurrent_dropout=0.2,
            variational_dropout=0.2, weight_drop=0.2)
    x = torch.randn(6, 4, 3)
    out, h, g = m(x, lengths=torch.tensor([6, 3, 2, 5]), return_gates=True)
    (out.sum() + h.sum()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    assert g.z.shape == (4, 6, 4, 5)


@pytest.mark.parametrize(
    "kw",
    [{}, {"zoneout": (0.3, 0.2), "recurrent_dropout": 0.3, "variational_dropout": 0.3}],
)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("variable", [True, False])
@pytest.mark.slow  # ~6-30 s each; the default tier checks the engine against the reference instead
def test_hand_written_backward_passes_gradcheck(kw: dict, training: bool, variable: bool) -> None:
    # The loop path has its own backward; gradcheck compares it with finite differences
    # (float64, default tolerances) for outputs, final states and every returned gate,
    # with variable lengths, both directions, and masks held fixed by reseeding.
    torch.manual_seed(11)
    m = LSTM(3, 4, bidirectional=True, **kw).double().train(training)
    x = torch.randn(4, 3, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 2, 3]) if variable else None

    def f(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, *params: torch.Tensor) -> tuple:
        torch.manual_seed(123)
        out, (h, c), g = m(x, (h0, c0), lengths=lengths, return_gates=True)
        return (out, h, c, *g)

    assert torch.autograd.gradcheck(f, (x, h0, c0, *m.parameters()))
