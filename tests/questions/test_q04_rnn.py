"""Q4 experiment: the gradient profile it measures, on one seed."""

from __future__ import annotations

import torch

from dlfaq.experiments import q04_rnn as q04


def test_default_init_decays_geometrically_and_radius_15_does_not(one_thread):
    p = q04.gradient_profile(0, 30, None, torch.device("cpu"))
    assert p["decades"] > 3 and p["far_half_decades"] > 1 and p["r2"] > 0.99 and p["bound_holds"]
    big = q04.gradient_profile(0, 30, 1.5, torch.device("cpu"))
    assert big["decades"] < 1 and big["bound_holds"]
