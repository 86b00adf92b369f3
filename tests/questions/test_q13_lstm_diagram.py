"""Q13 experiment: its two checks pass on dlfaq's LSTM cell and fail on a cell the diagram does not draw."""

from __future__ import annotations

import pytest
import torch

import dlfaq.nn
from dlfaq.experiments import RunContext, discover, run_experiment
from dlfaq.nn import LSTMCell


def _verdicts(tmp_path) -> dict[str, str]:
    rec = run_experiment(discover()["q13.lstm-diagram"], RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("traceback")
    return {v["claim"]: v["verdict"] for v in rec["verdicts"]}


class _MixedCellLine(LSTMCell):
    """An LSTM cell with a weight matrix on the cell-state line: c' = f*c + i*g + 0.1 * c @ M."""

    def forward(self, input, hx=None, return_gates=False):  # noqa: A002 - torch's argument name
        (h1, c1), gates = super().forward(input, hx, return_gates=True)
        mix = torch.ones(self.hidden_size, self.hidden_size, dtype=c1.dtype, device=c1.device)
        c1 = c1 + 0.1 * hx[1] @ mix
        gates = gates._replace(c=c1)
        h1 = gates.o * torch.tanh(c1)
        return ((h1, c1), gates) if return_gates else (h1, c1)


def test_checks_hold_for_the_real_cell(tmp_path, one_thread):
    got = _verdicts(tmp_path)
    assert got == {"q13.diagram-equations": "supported", "q13.cell-line-elementwise": "supported"}


def test_cell_line_check_fails_when_a_matrix_acts_on_the_cell_state(tmp_path, monkeypatch, one_thread):
    monkeypatch.setattr(dlfaq.nn, "LSTMCell", _MixedCellLine)
    got = _verdicts(tmp_path)
    assert got["q13.cell-line-elementwise"] != "supported"
    assert got["q13.diagram-equations"] == "supported"  # that check uses torch.nn.LSTM, not the cell


@pytest.mark.parametrize("claim", ["q13.diagram-equations", "q13.cell-line-elementwise"])
def test_claims_are_ones_the_answer_names(claim):
    from dlfaq.faq import get_entry

    assert claim in {c.id for c in get_entry(13).claims}


def test_diagram_step_with_two_gates_swapped_fails_against_torch(one_thread):
    """The harness's LSTM comparison can fail: the diagram's step with torch's i and f rows read in
    the wrong order is far from torch.nn.LSTM, while the right order is within the tolerance."""
    from dlfaq.experiments import RunContext
    from dlfaq.experiments import q13_lstm_diagram as q13
    from dlfaq.experiments._equations import against_torch

    class _Swapped(torch.nn.Module):  # the same weights with the i and f blocks exchanged
        def __init__(self, lstm):
            super().__init__()
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                i, f, g, o = getattr(lstm, name).chunk(4, 0)
                setattr(self, name, torch.cat([f, i, g, o]))

    rows, worst = against_torch(
        RunContext(profile="smoke"), torch.nn.LSTM, [(4, 8, 5, 2), (2, 6, 7, 3)],
        {"diagram": q13.diagram_step, "swapped": lambda lstm: q13.diagram_step(_Swapped(lstm))},
        state_size=2, gen=torch.Generator().manual_seed(0), desc="")
    assert all(r[4] <= q13.EQ_TOL for r in rows)
    assert all(r[5] > 1e-2 for r in rows) and worst == max(r[5] for r in rows)
