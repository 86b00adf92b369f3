"""The verdict rules of dlfaq.experiments.stats, at their boundaries, on synthetic numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from dlfaq.experiments import measured
from dlfaq.experiments.stats import (
    Control,
    Effect,
    Part,
    bootstrap_ci,
    combine,
    decide,
    decide_with_control,
    effect,
    paired,
    t_ci,
)


def E(mean: float, lo: float, hi: float, n: int = 5) -> Effect:
    return Effect(mean, (lo, hi), n, "points")


# --------------------------------------------------------------------------- intervals


def test_t_interval_matches_the_textbook_formula():
    x = [1.0, 2.0, 4.0, 3.0, 5.0]
    m, lo, hi = t_ci(x)
    half = st.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5)
    assert m == pytest.approx(3.0)
    assert (lo, hi) == pytest.approx((3.0 - half, 3.0 + half), rel=1e-12)
    # scipy's own interval for the mean, computed independently
    ref = st.t.interval(0.95, 4, loc=np.mean(x), scale=st.sem(x))
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)


def test_constant_runs_give_a_zero_width_interval():
    assert t_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def test_bootstrap_is_reproducible_and_contains_the_mean():
    x = [0.1, -0.3, 0.5, 0.2, 0.9, 0.4]
    a = bootstrap_ci(x, seed=3)
    assert a == bootstrap_ci(x, seed=3)
    assert a[1] <= a[0] <= a[2]
    # the percentile bootstrap is narrower than t at this n (why t is the default)
    _, tlo, thi = t_ci(x)
    assert a[2] - a[1] < thi - tlo


def test_intervals_refuse_too_few_or_non_finite_runs():
    with pytest.raises(ValueError, match="at least 2"):
        t_ci([1.0])
    with pytest.raises(ValueError, match="finite"):
        t_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="method"):
        effect([1.0, 2.0], "x", method="magic")


def test_paired_orients_and_scales_run_by_run():
    e = paired([0.9, 0.8, 0.85], [0.8, 0.8, 0.80], "points", scale=100)
    assert e.values == pytest.approx((10.0, 0.0, 5.0))
    assert e.mean == pytest.approx(5.0) and e.n == 3
    with pytest.raises(ValueError, match="paired"):
        paired([1.0, 2.0], [1.0], "x")


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("mean", "lo", "hi", "margin", "want"),
    [
        (2.0, 0.5, 3.5, 1.0, "supported"),  # interval above 0, mean above margin
        (1.0, 0.001, 2.0, 1.0, "supported"),  # mean exactly at the margin counts
        (1.0, 0.0, 2.0, 1.0, "inconclusive"),  # lo must be strictly above 0
        (0.99, 0.5, 1.5, 1.0, "inconclusive"),  # significant but smaller than what matters
        (0.5, 0.2, 0.999, 1.0, "contradicted"),  # the whole interval below the margin
        (0.5, 0.2, 1.0, 1.0, "inconclusive"),  # hi exactly at the margin is not below it
        (-1.0, -2.0, -0.5, 0.0, "contradicted"),  # margin 0: an effect in the wrong direction
        (0.0, 0.0, 0.0, 0.0, "inconclusive"),  # no spread, no effect: not above 0
    ],
)
def test_decide_boundaries(mean, lo, hi, margin, want):
    assert decide(E(mean, lo, hi), margin) == want


def test_decide_refuses_a_bad_margin():
    with pytest.raises(ValueError, match="margin"):
        decide(E(1, 0, 2), -0.1)
    with pytest.raises(ValueError, match="margin"):
        decide(E(1, 0, 2), float("nan"))


@pytest.mark.parametrize(
    ("parts", "want"),
    [
        (["supported", "supported"], "supported"),
        (["supported", "inconclusive"], "partly"),
        (["supported", "contradicted"], "partly"),
        (["inconclusive", "contradicted"], "contradicted"),
        (["contradicted", "contradicted"], "contradicted"),
        (["inconclusive", "inconclusive"], "inconclusive"),
    ],
)
def test_combine(parts, want):
    assert combine(parts) == want


def test_combine_refuses_nothing_or_undecided_words():
    with pytest.raises(ValueError):
        combine([])
    with pytest.raises(ValueError):
        combine(["partly"])


def test_a_failed_control_makes_the_claim_inconclusive():
    good = Control({"en": "c", "zh": "c"}, E(3, 1, 5), 1.0)
    bad = Control({"en": "c", "zh": "c"}, E(0.2, -1, 1.4), 1.0)
    assert good.reproduced and not bad.reproduced
    assert decide_with_control("contradicted", good) == ("contradicted", False)
    assert decide_with_control("contradicted", bad) == ("inconclusive", True)
    assert decide_with_control("supported", None) == ("supported", False)


# --------------------------------------------------------------------------- the record


RULE = {"en": "effect = A minus B; margin 1 point because ...", "zh": "效应 = A 减 B;阈值 1 个百分点,因为……"}


def test_measured_builds_a_consistent_record():
    e = effect([1.5, 2.0, 2.5, 1.8, 2.2], "points")
    v = measured("q07.x", e, 1.0, rule=RULE, evidence=["fig"])
    rec = v.to_json()
    assert rec["kind"] == "experiment" and rec["verdict"] == "supported"
    assert rec["n"] == 5 and rec["ci"][0] <= rec["effect"] <= rec["ci"][1] and rec["margin"] == 1.0
    assert "95 %" in rec["reason"]["en"] and "95%" in rec["reason"]["zh"]
    assert rec["rule"]["en"].startswith("effect = A minus B")


def test_measured_with_a_failed_control_says_so():
    e = effect([1.5, 2.0, 2.5, 1.8, 2.2], "points")
    ctrl = Control({"en": "wide MLP", "zh": "宽网络"}, effect([0.1, -0.2, 0.3, 0.0, 0.1], "points"), 1.0)
    v = measured("q07.x", e, 1.0, control=ctrl, rule=RULE)
    assert v.verdict == "inconclusive" and v.control_failed
    assert "did not reproduce" in v.reason["en"]


def test_measured_parts_make_partly():
    p1 = Part({"en": "a", "zh": "甲"}, effect([2.0, 2.5, 3.0], "points"), 1.0)
    p2 = Part({"en": "b", "zh": "乙"}, effect([-1.0, 1.0, 0.5], "points"), 1.0)
    v = measured("q07.x", parts=[p1, p2], rule=RULE)
    assert v.verdict == "partly" and [p["verdict"] for p in v.to_json()["parts"]] == ["supported", "inconclusive"]


def test_a_record_cannot_disagree_with_the_rule():
    from dlfaq.experiments import Verdict

    with pytest.raises(ValueError, match="disagrees"):
        Verdict("q07.x", "supported", "experiment", RULE, RULE, n=5, effect=0.1, unit="points",
                ci=(-1.0, 1.2), margin=1.0)
    with pytest.raises(ValueError, match="needs n"):
        Verdict("q07.x", "inconclusive", "experiment", RULE, RULE)
    with pytest.raises(ValueError, match="either"):
        measured("q07.x", rule=RULE)

