"""Q5: the hand-written LSTM, the intervention code and the learning-rate choice."""

from __future__ import annotations

import pytest
import torch

from dlfaq.experiments import q05_lstm_gates as q5

pytestmark = pytest.mark.usefixtures("one_thread")


def test_hand_lstm_is_torch_and_only_for_the_right_tanh_block():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 5).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    h0, c0 = torch.zeros(2, 5, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64)
    w = [ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0]
    with torch.no_grad():
        out, (_, c_n) = ref(x)
        for b in range(4):
            hh, cc, _ = q5.hand_lstm(x, h0, c0, *w, tanh_block=b)
            err = (hh - out).abs().max().item()
            assert (err <= q5.TOL) == (b == 2), (b, err)
        assert (cc[-1] - c_n[0]).abs().max().item() > 0  # last loop was b = 3: a wrong reading differs


def test_unchanged_intervention_is_the_model_itself():
    torch.manual_seed(1)
    model = q5.build_model("LSTM", "cpu")
    x, _ = q5.recall_data(16, 9, seed=0, device="cpu")
    with torch.no_grad():
        assert torch.allclose(q5.intervene(model, x, "none", 5), model(x), atol=1e-5)
        # forcing the forget gate to 0 from step 0 on is a different network
        assert not torch.allclose(q5.intervene(model, x, "f=0", 0), model(x), atol=1e-3)


def test_learning_rate_is_chosen_on_validation_not_test():
    res = {q5.unit_key("RNN", 40, lr, 0): {"val_acc": v, "test_acc": t}
           for lr, v, t in zip(q5.LRS, (0.3, 0.6), (0.9, 0.2), strict=True)}
    (best,) = q5.choose(res, "RNN", 40, [0])
    assert best["lr"] == q5.LRS[1] and best["test_acc"] == 0.2
