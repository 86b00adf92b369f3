"""Q11 experiment: the learning rate is chosen on validation, the test split read once; FLOP counts."""

from __future__ import annotations

from types import SimpleNamespace

from dlfaq.experiments import RunContext
from dlfaq.experiments import q11_batchnorm as q11


def test_flops_per_step_counts_linear_maps_and_bn():
    # 40 -> 64 -> 64 -> 10 with two hidden layers: 40*64 + 64*64 + 64*10 multiply-accumulates
    macs = 40 * 64 + 64 * 64 + 64 * 10
    assert q11.flops_per_step("none", depth=2, batch=1) == 6 * macs
    assert q11.flops_per_step("batch", depth=2, batch=1) == 6 * macs + q11.BN_FLOPS_PER_ELEMENT * 2 * 64
    assert q11.flops_per_step("none", depth=2, batch=64) == 64 * 6 * macs


def _hist(curve, diverged=False):
    return SimpleNamespace(epochs=[{"val_acc": a} for a in curve], diverged=diverged)


def test_summary_steps_to_target_and_trains():
    s = q11._summary(_hist([0.2, 0.5, 0.6]), n_train=3200)
    assert s["steps_to_target"] == 2 * (3200 // q11.BATCH) and s["trains"] and s["best_val_acc"] == 0.6
    s = q11._summary(_hist([0.2], diverged=True), n_train=3200)
    assert s["steps_to_target"] is None and not s["trains"]


def test_grid_chooses_on_validation_and_reads_test_once(monkeypatch):
    """The best validation accuracy wins, a diverged rate is never chosen even with a high
    pre-divergence accuracy, and the test split is read exactly once, for the chosen model."""
    curves = {0.1: ([0.3, 0.4], False), 0.3: ([0.5, 0.6], False), 1.0: ([0.9], True)}
    monkeypatch.setattr(q11, "_train", lambda model, split, lr, *a, **k: _hist(*curves[lr]))
    reads = []
    monkeypatch.setattr(q11, "_read", lambda model, split, device: reads.append(model) or
                        {"test_acc": 0.55, "train_acc": 0.7})
    split = SimpleNamespace(y_train=[0] * 3200)
    out = q11._grid(RunContext(profile="smoke"), split, 0, "batch", [0.1, 0.3, 1.0], epochs=2)
    assert out["chosen_lr"] == 0.3 and len(reads) == 1 and out["test_acc"] == 0.55
