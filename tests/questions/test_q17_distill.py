"""Q17 experiment: the T² check, the transfer set and the choice of temperature on validation."""

from __future__ import annotations

import pytest
import torch

from dlfaq.experiments import RunContext
from dlfaq.experiments.q17_distill import (
    SLOPE_LIMIT,
    TEMPS,
    DistillMnist1d,
    gradient_scaling,
    run_seed,
    settings,
)
from dlfaq.train import DistillationLoss


def test_soft_gradient_falls_as_one_over_t_squared_and_t2_undoes_it() -> None:
    g = gradient_scaling()
    assert g["slope_plain"] == pytest.approx(-2.0, abs=0.1)
    assert g["slope_t2"] == pytest.approx(0.0, abs=0.1)
    # the check's rule separates the two losses: the page's sum fails it, the T²-scaled one passes
    assert g["slope_plain"] <= SLOPE_LIMIT < g["slope_t2"]
    assert g["soft_to_hard_T20_plain"] < 0.01 < g["soft_to_hard_T20_t2"]


def test_unlabelled_rows_enter_only_the_soft_term() -> None:
    g = torch.Generator().manual_seed(0)
    zs, zt = torch.randn(6, 10, generator=g), torch.randn(6, 10, generator=g)
    y = torch.tensor([1, 2, 3, -100, -100, -100])
    loss = DistillationLoss(4.0, alpha=0.9)
    both = loss(zs, zt, y)
    soft = DistillationLoss(4.0, alpha=1.0)(zs, zt)
    hard_labelled = torch.nn.functional.cross_entropy(zs[:3], y[:3])
    assert torch.isfinite(both)
    assert both == pytest.approx(float(0.9 * soft + 0.1 * hard_labelled), rel=1e-6)


def test_temperature_is_chosen_on_validation() -> None:
    ctx = RunContext(profile="smoke")
    out = run_seed(0, settings(ctx), torch.device("cpu"))
    best = max(out["by_T"][str(T)]["val"] for T in TEMPS)
    assert out["by_T"][str(out["chosen_T"])]["val"] == best
    assert out["chosen_T"] == min(T for T in TEMPS if out["by_T"][str(T)]["val"] == best)


def test_units_are_one_check_and_one_per_seed() -> None:
    ctx = RunContext(profile="smoke")
    keys = [u.key for u in DistillMnist1d().units(ctx)]
    assert keys == ["gradient-check"] + [f"seed={s}" for s in ctx.seeds()]
