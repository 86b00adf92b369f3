"""Q15's remedies experiment: the weight statistics it reports, and that strengths are chosen on validation."""

from __future__ import annotations

import pytest
import torch

from dlfaq.experiments import RunContext
from dlfaq.experiments.q15_overfitting import (
    SPARSE_THRESHOLD,
    OverfittingRemedies,
    configs,
    grids,
    weight_stats,
)
from dlfaq.nn import MLP


def test_weight_stats_on_known_weights():
    net = MLP(4, 2, hidden=5, depth=1)  # weights: 5x4 and 2x5 = 30 numbers; biases are not counted
    with torch.no_grad():
        net.layers[0].linear.weight.zero_()
        net.layers[0].linear.weight[0, :3] = torch.tensor([3.0, 4.0, 0.5 * SPARSE_THRESHOLD])
        net.head.weight.fill_(2 * SPARSE_THRESHOLD)
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):
                m.bias.fill_(100.0)
    st = weight_stats(net)
    assert st["sparsity"] == pytest.approx(18 / 30)  # 17 zeros + one weight below the threshold
    assert st["weight_norm"] == pytest.approx((25 + 10 * (2 * SPARSE_THRESHOLD) ** 2
                                               + (0.5 * SPARSE_THRESHOLD) ** 2) ** 0.5)
    total = 7 + 10 * 2 * SPARSE_THRESHOLD + 0.5 * SPARSE_THRESHOLD
    assert st["top10_share"] == pytest.approx((4 + 3 + 2 * SPARSE_THRESHOLD) / total)  # the 3 largest of 30


def _fake(ctx: RunContext) -> dict[str, dict]:
    """Validation prefers the first value of every grid, the test split the last."""
    g = grids(ctx)
    out = {}
    for s in ctx.seeds():
        for c in configs(ctx):
            kind, _, v = c.partition("=")
            i = g[kind].index(float(v)) if kind in g else 0
            out[f"seed={s}/{c}"] = {"train_acc": 1.0, "train_loss": 0.1 + 0.01 * i, "val_acc": 0.5 - 0.01 * i,
                                    "test_acc": 0.4 + 0.01 * i + 0.001 * s, "test_loss": 2.0, "steps_to_best": 10,
                                    "weight_norm": 10.0 - i, "sparsity": 0.1, "top10_share": 0.3, "cpu_s": 0.0}
    return out


def test_strengths_are_chosen_on_validation_not_on_test():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    ctx = RunContext(profile="quick")
    ev = OverfittingRemedies().merge(ctx, _fake(ctx))
    plt.close("all")
    for kind, values in grids(ctx).items():
        assert ev.metrics["chosen"][kind] == [values[0]] * len(ctx.seeds()), kind
    assert len({v.claim for v in ev.verdicts}) == 7
