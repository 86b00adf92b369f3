"""Q18 experiment: the exact facts it uses, and that its rules can come out either way."""

from __future__ import annotations

import math

from dlfaq.experiments import q18_logits as q18
from dlfaq.experiments._core import Evidence


def test_double_softmax_floor_is_exact():
    ds = q18.double_softmax_floor()
    assert ds["floor"] == math.log(math.e + 9) - 1
    assert ds["floor"] - 1e-9 <= ds["double_min"] <= ds["floor"] + 1e-6
    assert ds["ce_min"] < 1e-6


def test_textbook_formula_overflows_where_softmax_does_not():
    num, _ = q18.numerics(0)
    assert num["softmax_bad_rows"] == 0
    assert num["naive_first_failing_scale"]["torch.float32"] <= 89


def test_rules_come_out_both_ways():
    out, num, pred = q18.output_layer(0), q18.numerics(0)[0], q18.predictions(0)
    ev = Evidence()
    q18.judge_claims(ev, out, num, pred)
    assert [v.verdict for v in ev.verdicts] == ["supported"] * 3
    ev = Evidence()  # a model ending in a softmax; a softmax that reorders; a loss that is not -log p
    q18.judge_claims(ev, dict(out, rows_summing_to_one=5), dict(num, softmax_order_broken=1),
                     dict(pred, ce_vs_neg_log_softmax_max_diff=0.1))
    assert [v.verdict for v in ev.verdicts] == ["contradicted"] * 3
