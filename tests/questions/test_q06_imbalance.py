"""Q6: the data cut, the pairs, and that resampling never touches validation or test rows."""

from __future__ import annotations

import numpy as np
import pytest

from dlfaq.experiments import q06_imbalance as q6

pytestmark = pytest.mark.usefixtures("one_thread")


def test_pairs_differ_across_seeds_and_minority_alternates():
    pairs = [q6.pair_for(s) for s in range(10)]
    assert len({frozenset(p) for p in pairs}) == 10
    assert all(a != b for a, b in pairs)


def test_training_minority_is_cut_and_test_is_untouched():
    d = q6.load_pair(0)
    n_maj, n_min = int((d["y"] == 0).sum()), int((d["y"] == 1).sum())
    assert n_min == round(n_maj / q6.RATIO)
    assert len(d["y_full"]) > len(d["y"])  # the control's balanced split keeps every minority row
    # the test split keeps the pair's natural, nearly even mix
    assert 0.35 < d["y_test"].mean() < 0.65


def test_resampling_happens_only_on_the_rows_given_for_training():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    y = (np.arange(120) < 12).astype(np.int64)
    Xte = rng.normal(size=(37, 6))
    for m in ("ros", "smote", "rus", "feature_selection"):
        setting = {"ros": 1.0, "smote": 3, "rus": 1.0, "feature_selection": 3}[m]
        pred = q6.fit_predict(m, setting, 1e-3, X, y, Xte, 0, "cpu")
        assert pred.shape == (37,)  # one prediction per test row: nothing added to or removed from it


def test_setting_choice_reads_no_test_data():
    d = q6.load_pair(1, n_majority=60)
    setting, cv = q6.choose("ros", 1e-3, d["X"], d["y"], 1, "cpu")
    assert setting in q6.GRIDS["ros"] and 0.0 <= cv <= 1.0
