"""Q7's dropout experiment: the measurements it is built from, and that choices use validation only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlfaq.experiments import RunContext
from dlfaq.experiments.q07_dropout import (
    DropoutSweeps,
    _key,
    ablation_loss,
    budget,
    overfit_split,
    subnetwork_average,
    train_mlp,
)
from dlfaq.nn import MLP


def _tensors(n: int = 200, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"X_test": torch.randn(n, 40, generator=g), "y_test": torch.randint(0, 10, (n,), generator=g)}


def test_split_is_stratified_and_disjoint():
    d = overfit_split(seed=3, n=150, val_fraction=0.125)
    assert len(d["y_train"]) == 150 and len(d["y_val"]) == 500 and len(d["y_test"]) == 1000
    assert np.bincount(d["y_train"], minlength=10).min() >= 14  # stratified: 15 per class, +-1
    train_rows = {r.tobytes() for r in d["X_train"]}
    assert not any(r.tobytes() in train_rows for r in d["X_val"])
    assert not any(r.tobytes() in train_rows for r in d["X_test"])


def test_subnetwork_average_without_dropout_is_the_single_network():
    # with p = 0 every "sub-network" is the full network, so all three accuracies coincide exactly
    torch.manual_seed(0)
    net = MLP(40, 10, hidden=32, depth=2, dropout=0.0).eval()
    out = subnetwork_average(RunContext(profile="smoke"), net, _tensors(), seed=0, k=4)
    assert out["acc_average"] == out["acc_single"] == out["acc_weight_scaled"]
    assert out["agreement"] == 1.0 and len(out["k_curve"]) == 4


def test_subnetwork_average_samples_different_masks_with_dropout():
    torch.manual_seed(0)
    net = MLP(40, 10, hidden=32, depth=2, dropout=0.5).eval()
    out = subnetwork_average(RunContext(profile="smoke"), net, _tensors(), seed=0, k=8)
    assert len(set(out["k_curve"])) > 1 or out["agreement"] < 1.0
    assert not net.training  # left in eval mode


def test_ablation_removes_its_hooks_and_costs_accuracy_on_a_fitted_net():
    torch.manual_seed(0)
    t = _tensors(300)
    net = MLP(40, 10, hidden=64, depth=2)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(200):  # memorize the random labels, so that deleting units must cost accuracy
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(t["X_test"]), t["y_test"]).backward()
        opt.step()
    net.eval()
    before = net(t["X_test"]).detach().clone()
    lost = ablation_loss(RunContext(profile="smoke"), net, t, seed=0, repeats=3)
    assert lost > 0
    assert torch.equal(net(t["X_test"]).detach(), before)  # no hook left behind


def test_training_is_deterministic_for_a_seed():
    ctx = RunContext(profile="smoke")
    a = train_mlp(ctx, 1, 60, budget(ctx), p=0.5)[2]
    b = train_mlp(ctx, 1, 60, budget(ctx), p=0.5)[2]
    a.pop("cpu_s"), b.pop("cpu_s")
    assert a == b


def _fake_results(ctx: RunContext, study: DropoutSweeps) -> dict[str, dict]:
    """Synthetic unit results where validation prefers p = 0 and the test split prefers p = 0.5."""
    out = {}
    mid = study.mid(ctx)
    for s in ctx.seeds():
        for n in study.sizes(ctx):
            for p in study.rates(ctx):
                rec = {"train_acc": 1.0, "val_acc": 0.5 - 0.1 * p, "test_acc": 0.4 + 0.1 * p + 0.001 * s,
                       "steps_to_best": 100 * (1 + p), "capped": False, "val_curve": [0.3, 0.5],
                       "steps_per_epoch": 2, "cpu_s": 0.0}
                if n == mid and p in (0.0, 0.5):
                    rec["ablation_loss"] = 5.0 - 4 * p + 0.1 * s
                if n == mid and p == 0.5:
                    rec.update(acc_weight_scaled=0.45, acc_average=0.45, acc_single=0.4, agreement=0.9,
                               k_curve=[0.4, 0.45])
                out[_key(s, n, p)] = rec
    return out


def test_the_rate_is_chosen_on_validation_not_on_test():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    ctx = RunContext(profile="smoke")
    study = DropoutSweeps()
    ev = study.merge(ctx, _fake_results(ctx, study))
    plt.close("all")
    # validation picks p = 0, so the "chosen" accuracy is p = 0's although p = 0.5 tests better
    assert ev.metrics["gain_by_size"] == pytest.approx([0.0] * len(study.sizes(ctx)))
    assert ev.metrics["rate_half_minus_chosen_points"] == pytest.approx(5.0)
    by = {v.claim: v for v in ev.verdicts}
    assert by["q07.longer-training"].effect == pytest.approx(np.log2(1.5))
