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
