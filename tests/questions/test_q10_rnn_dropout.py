"""Q10 checks: each judge can come out both ways, and the measurements read the masks right."""

from __future__ import annotations

import math

import pytest
import torch

from dlfaq.experiments import q10_rnn_dropout as q10


def test_rate_bound_is_five_binomial_sd():
    n, p = 10_000, 0.3
    sd = math.sqrt(p * (1 - p) / n)
    assert q10.rate_ok(p + 4.9 * sd, p, n)
    assert not q10.rate_ok(p + 5.1 * sd, p, n)


def test_recurrent_judge_supports_a_method_that_drops_gates_too():
    # The page's reading (gates and update dropped) must be able to come out supported.
    r = {"update_dropped_fraction": 0.3, "n": 10_000, "update_dropped_or_rescaled": True,
         "gate_recompute_err": 0.2, "gate_values_zeroed": 0.0, "memory_zeroed": 0.0}
    assert q10.judge_recurrent(r).verdict == "supported"
    r["gate_recompute_err"] = 1e-8
    assert q10.judge_recurrent(r).verdict == "contradicted"


def test_zoneout_judge_rejects_zeroing():
    r = {"kept_c": 0.3, "kept_h": 0.3, "n_c": 10_000, "n_h": 10_000, "zeroed": 0.0}
    assert q10.judge_zoneout(r).verdict == "supported"
    r["zeroed"] = 0.3  # dropout-like behaviour
    assert q10.judge_zoneout(r).verdict == "contradicted"


@pytest.mark.usefixtures("one_thread")
def test_recurrent_dropout_touches_only_the_update():
    torch.manual_seed(0)
    r = q10.measure_recurrent("cpu")
    assert r["update_dropped_or_rescaled"]
    assert r["gate_recompute_err"] < q10.EXACT
    assert q10.rate_ok(r["update_dropped_fraction"], q10.P, r["n"])


@pytest.mark.usefixtures("one_thread")
def test_variational_reads_the_recurrent_mask():
    torch.manual_seed(0)
    r = q10.measure_variational("cpu")
    assert r["io_mask_same_every_step"] and r["rec_mask_same_every_step"]
    assert q10.rate_ok(r["rec_rate"], q10.P, r["n"])
