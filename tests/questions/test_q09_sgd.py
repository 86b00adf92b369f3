"""Q9 experiments: exact properties beyond the generic smoke run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlfaq.experiments import RunContext
from dlfaq.experiments import q09_sgd as q9


def test_mini_batch_noise_matches_the_sampling_formula(one_thread):
    """E||g_B - g||^2 = sigma^2/B (N-B)/(N-1) for batches drawn without replacement, on synthetic
    'per-example gradients'. 2,000 draws: the relative standard error of a mean of squared norms of
    5-dim Gaussians is ~sqrt(2/5/2000) ~ 1.4 %, so 8 % is ~5 SE."""
    G = torch.randn(200, 5, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 2, 3, 4, 5])
    r = q9._measure_noise(G, [1, 10, 50], draws=2000, seed=0)
    for v, t in zip(r["noise"], r["theory"], strict=True):
        assert v == pytest.approx(t, rel=0.08)
    assert r["slope"] == pytest.approx(-1.0, abs=0.1)  # (N-B)/(N-1) bends it slightly below 1/B


def test_the_sample_order_is_fits_only_randomness(one_thread):
    """What the check rests on: same order, bit-identical weights; another order, other weights."""
    r = q9._determinism_unit(RunContext(profile="smoke"), seed=0)
    assert r["same_order_identical"] and r["same_order_max_diff"] == 0.0
    assert r["other_order_max_diff"] > 1e-4
    assert r["gd_seed_max_diff"] < 1e-5  # full batch: the shuffling seed only reorders a float sum


def test_double_well_gd_stays_and_sgd_leaves():
    """The control's toy: f' vanishes at the poor minimum, so GD started in its basin never leaves;
    the centered perturbations keep the full gradient equal to f' exactly."""
    r = q9._toy(seed=0, chains=200, steps=2000)
    assert r["gd_good"] == 0.0
    assert r["sgd_good"] > 0.5
    assert r["sgd_f"] < r["gd_f"]


def test_stop_at_target_ends_fit_at_the_first_epoch_below_target(one_thread):
    from dlfaq.train.loop import fit

    torch.manual_seed(0)
    X = torch.randn(64, 3)
    y = (X[:, 0] > 0).long()
    model = torch.nn.Linear(3, 2)
    h = fit(model, (X, y), epochs=200, lr=0.5, batch_size=None, early_stopping=q9._StopAtTarget(0.3),
            stop_on="train_loss")
    losses = h.metric("train_loss")
    assert h.stopped_epoch == len(losses) and losses[-1] <= 0.3
    assert all(v > 0.3 for v in losses[:-1])


def test_gradient_evaluations_count_an_epoch_as_n_for_gd_and_sgd(one_thread):
    split = q9._data(0)
    ctx = RunContext(profile="smoke")
    gd = q9._evals_to_target(ctx, split, 0, "gd", [1.0], target=1e9, depth=0)  # reached after one epoch
    sgd = q9._evals_to_target(ctx, split, 0, "sgd", [0.1], target=1e9, depth=0)
    n = len(split.y_train)
    assert gd["evals"] == sgd["evals"] == n
    assert np.isfinite(gd["runs"]["1.0"]["val_loss"][0])
