"""dlfaq.imbalance reweighting, balanced batches, ensembles, selection, and the Q6 experiment."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import DataLoader, TensorDataset

from dlfaq.imbalance import (
    BalancedBaggingClassifier,
    BalancedBatchSampler,
    EasyEnsembleClassifier,
    FocalLoss,
    LogitAdjustedLoss,
    class_priors,
    class_weights,
    logit_adjust,
    make_selector,
)

# --------------------------------------------------------------------------- class weights


def test_balanced_weights_match_sklearn():
    y = np.array([0] * 90 + [1] * 9 + [2] * 3)
    ref = compute_class_weight("balanced", classes=np.arange(3), y=y)
    torch.testing.assert_close(class_weights(y), torch.tensor(ref, dtype=torch.float32))
    # Every class then carries the same total weight N / C.
    w = class_weights(torch.as_tensor(y))
    totals = torch.bincount(torch.as_tensor(y)).float() * w
    torch.testing.assert_close(totals, torch.full((3,), len(y) / 3))


def test_effective_number_weights_formula_and_limits():
    y = np.array([0] * 1000 + [1] * 10)
    beta = 0.99
    eff = (1 - beta ** np.array([1000.0, 10.0])) / (1 - beta)
    ref = (1 / eff) / (1 / eff).sum() * 2
    torch.testing.assert_close(class_weights(y, "effective", beta=beta), torch.tensor(ref, dtype=torch.float32))
    # beta = 0: every class counts as one sample -> equal weights.
    torch.testing.assert_close(class_weights(y, "effective", beta=0.0), torch.ones(2))
    # beta -> 1: approaches inverse frequency (ratio 100).
    w = class_weights(y, "effective", beta=0.999999)
    assert abs(float(w[1] / w[0]) - 100.0) < 0.1
    with pytest.raises(ValueError, match="beta"):
        class_weights(y, "effective", beta=1.0)
    with pytest.raises(ValueError, match="method"):
        class_weights(y, "median")
    with pytest.raises(ValueError, match="integer"):
        class_weights(np.array([0.5, 1.0]))


def test_priors_and_absent_class():
    y = np.array([0, 0, 0, 2])
    torch.testing.assert_close(class_priors(y), torch.tensor([0.75, 0.0, 0.25]))
    assert float(class_weights(y, num_classes=4)[1]) == 0.0


# --------------------------------------------------------------------------- focal loss


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 16), c=st.integers(2, 6), weighted=st.booleans(), seed=st.integers(0, 10_000))
def test_focal_gamma0_equals_cross_entropy(n, c, weighted, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=torch.float64)
    t = torch.randint(0, c, (n,), generator=g)
    w = torch.rand(c, generator=g, dtype=torch.float64) + 0.1 if weighted else None
    for red in ("mean", "sum", "none"):
        ours = FocalLoss(w, gamma=0.0, reduction=red)(x, t)
        ref = torch.nn.functional.cross_entropy(x, t, weight=None if w is None else w.float().double(), reduction=red)
        # FocalLoss keeps weights in float32: tolerance of float32 rounding of w.
        torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-7)


def test_focal_matches_formula_and_ignore_index_and_nd():
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    t = torch.tensor([0, 1, -100])
    p = torch.softmax(x, 1)
    pt = torch.stack([p[0, 0], p[1, 1]])
    ref = (-(1 - pt) ** 2 * pt.log()).mean()
    torch.testing.assert_close(FocalLoss(gamma=2.0)(x, t), ref)
    # Easy examples are damped more than hard ones.
    per = FocalLoss(gamma=2.0, reduction="none")(x[:2], t[:2])
    ce = torch.nn.functional.cross_entropy(x[:2], t[:2], reduction="none")
    assert (per < ce).all()
    # (N, C, d) input, gradient flows.
    xs = torch.randn(4, 3, 5, requires_grad=True)
    ts = torch.randint(0, 3, (4, 5))
    FocalLoss(gamma=0.0)(xs, ts).backward()
    torch.testing.assert_close(
        FocalLoss(gamma=0.0)(xs, ts), torch.nn.functional.cross_entropy(xs, ts)
    )
    assert xs.grad is not None
    with pytest.raises(ValueError):
        FocalLoss(gamma=-1)


# --------------------------------------------------------------------------- logit adjustment


def test_logit_adjusted_loss_equals_ce_of_shifted_logits():
    pri = torch.tensor([0.7, 0.2, 0.1])
    x = torch.randn(8, 3)
    t = torch.randint(0, 3, (8,))
    loss = LogitAdjustedLoss(pri * 100, tau=1.5)(x, t)  # counts are normalised
    ref = torch.nn.functional.cross_entropy(x + 1.5 * pri.log(), t)
    torch.testing.assert_close(loss, ref)
    # Post-hoc adjustment is the inverse shift.
    torch.testing.assert_close(logit_adjust(x + pri.log(), pri), x)
    with pytest.raises(ValueError):
        LogitAdjustedLoss(torch.tensor([0.5, 0.0]))


def test_logit_adjustment_raises_balanced_accuracy():
    # A plain model on 1:20 data, adjusted post hoc, recovers minority recall.
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    X, y = make_classification(n_samples=4000, n_features=5, weights=[0.95, 0.05], class_sep=0.7, random_state=0)
    m = LogisticRegression().fit(X[:2000], y[:2000])
    z = torch.as_tensor(m.predict_log_proba(X[2000:]))
    plain = balanced_accuracy_score(y[2000:], z.argmax(1).numpy())
    adj = logit_adjust(z, class_priors(y[:2000]))
    better = balanced_accuracy_score(y[2000:], adj.argmax(1).numpy())
    # A clear margin (several points) on 2,000 test points; a coin flip would not produce it.
    assert better > plain + 0.05


# --------------------------------------------------------------------------- balanced batches


@pytest.mark.parametrize("replacement", [False, True])
def test_balanced_batch_sampler_quotas(replacement):
    y = np.array([0] * 500 + [1] * 30 + [2] * 7)
    s = BalancedBatchSampler(y, 32, replacement=replacement, generator=torch.Generator().manual_seed(0))
    batches = list(s)
    assert len(batches) == len(s) == len(y) // 32
    for b in batches:
        counts = np.bincount(y[b], minlength=3)
        assert sorted(counts.tolist()) in ([10, 11, 11], [11, 11, 10], [10, 11, 11])
        assert counts.min() >= 32 // 3
    if not replacement:
        # Each class is consumed in whole passes: over the epoch, the draw counts of the
        # samples of a class differ by at most one.
        for c in (1, 2):
            drawn = np.bincount([i for b in batches for i in b if y[i] == c], minlength=len(y))
            per = drawn[y == c]
            assert per.max() - per.min() <= 1
        big = [i for b in batches for i in b if y[i] == 0]
        assert len(set(big)) == len(big)  # fewer than 500 drawn, no repeats
    # Reproducible with the same generator seed.
    again = list(BalancedBatchSampler(y, 32, replacement=replacement, generator=torch.Generator().manual_seed(0)))
    assert again == batches


def test_balanced_batch_sampler_in_dataloader_and_errors():
    y = torch.tensor([0] * 50 + [1] * 5)
    ds = TensorDataset(torch.arange(55), y)
    dl = DataLoader(ds, batch_sampler=BalancedBatchSampler(y, 10, num_batches=4, generator=torch.Generator().manual_seed(1)))
    seen = [yb for _, yb in dl]
    assert len(seen) == 4 and all(int(b.sum()) == 5 for b in seen)
    with pytest.raises(ValueError, match="2 classes"):
        BalancedBatchSampler([1, 1, 1], 2)
    with pytest.raises(ValueError, match="batch_size"):
        BalancedBatchSampler([0, 1, 2], 2)


# --------------------------------------------------------------------------- ensembles, selection


def _imbalanced_cancer(seed: int = 0):
    X, y = load_breast_cancer(return_X_y=True)
    y = 1 - y  # malignant = 1 (minority)
    rng = np.random.RandomState(seed)
    keep = np.concatenate([np.flatnonzero(y == 0), rng.choice(np.flatnonzero(y == 1), 20, replace=False)])
    X = (X - X.mean(0)) / X.std(0)
    return X[keep], y[keep], X, y


def test_easy_ensemble_beats_plain_model_on_minority_recall():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score

    Xtr, ytr, X, y = _imbalanced_cancer()
    test = np.setdiff1d(np.arange(len(y)), np.flatnonzero(np.isin(X, Xtr).all(1)))
    plain = LogisticRegression(max_iter=1000).fit(Xtr, ytr)
    ee = EasyEnsembleClassifier(n_estimators=5, estimator=LogisticRegression(max_iter=1000), random_state=0).fit(Xtr, ytr)
    r_plain = recall_score(y[test], plain.predict(X[test]))
    r_ee = recall_score(y[test], ee.predict(X[test]))
    # ~190 held-out malignant cases: a gain this large is far outside sampling noise.
    assert r_ee > r_plain + 0.05
    proba = ee.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # Members saw balanced subsets.
    assert len(ee.estimators_) == 5 and set(ee.get_params()) >= {"n_estimators", "estimator", "random_state"}


def test_balanced_bagging_default_and_determinism():
    Xtr, ytr, X, _ = _imbalanced_cancer()
    a = BalancedBaggingClassifier(n_estimators=4, random_state=3).fit(Xtr, ytr).predict_proba(X)
    b = BalancedBaggingClassifier(n_estimators=4, random_state=3).fit(Xtr, ytr).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="more than 1 class"):
        BalancedBaggingClassifier().fit(Xtr, np.zeros(len(ytr)))


@pytest.mark.parametrize("method", ["mutual_info", "chi2", "l1"])
def test_make_selector_keeps_informative_features(method):
    rng = np.random.RandomState(0)
    y = (rng.rand(600) < 0.1).astype(int)
    X = rng.randn(600, 20)
    X[:, :3] += 1.5 * y[:, None]  # columns 0..2 carry the signal, 17 are noise
    sel = make_selector(method, k=3, random_state=0).fit(X, y)
    support = sel[-1].get_support() if hasattr(sel, "steps") else sel.get_support()
    assert support.sum() == 3
    # A 1.5-sigma shift on ~60 minority rows is found by every scorer.
    assert support[:3].all()
    with pytest.raises(ValueError):
        make_selector("pca")
