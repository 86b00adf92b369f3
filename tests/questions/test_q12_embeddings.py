"""Q12's design pieces: the folds are a partition of the benchmark items, and the worse embedding
is a real principal-component reduction of GloVe with the same vocabulary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlfaq.experiments.q12_embeddings import fold_ids, low_dim, write_analogy_fold


@pytest.mark.parametrize("n,k", [(353, 5), (999, 10), (7, 2)])
def test_folds_partition_items_into_equal_sizes(n, k):
    f = fold_ids(n, k, seed=0)
    sizes = np.bincount(f, minlength=k)
    assert sizes.sum() == n and sizes.max() - sizes.min() <= 1
    assert np.array_equal(f, fold_ids(n, k, seed=0))  # a fixed generator: same folds every run
    if n > 50:  # another seed gives other folds (tiny n may coincide by chance)
        assert not np.array_equal(f, fold_ids(n, k, seed=1))


def test_stratified_folds_spread_every_category():
    strata = np.repeat(np.arange(4), [40, 25, 10, 3])
    f = fold_ids(strata.size, 5, seed=0, strata=strata)
    for s in range(3):  # categories with at least 5 words reach every fold
        assert set(f[strata == s]) == set(range(5))
    assert np.bincount(f).max() - np.bincount(f).min() <= 1


def test_analogy_folds_cover_every_question_once(tmp_path: Path):
    from dlfaq.embeddings import read_analogies

    total = sum(len(s.questions) for s in read_analogies())
    seen = []
    for k in range(3):
        p = tmp_path / f"f{k}.txt"
        n = write_analogy_fold(p, k, 3, seed=0)
        qs = [q for s in read_analogies(p) for q in s.questions]
        assert len(qs) == n
        seen += qs
    assert len(seen) == total and len(set(seen)) == len(set(q for s in read_analogies() for q in s.questions))


def test_low_dim_is_a_principal_component_reduction():
    from dlfaq.embeddings import load

    g, low = load("glove-6b-50d"), low_dim(10)
    assert low.words == g.words and low.dim == 10
    x = low.matrix.astype(np.float64)
    cov = np.cov(x.T)
    var = np.diag(cov)
    # leading components first, and uncorrelated (up to float32 rounding of the stored vectors)
    assert np.all(np.diff(var) <= 1e-6)
    assert np.abs(cov - np.diag(var)).max() < 1e-4 * var.max()
