"""dlfaq.imbalance resamplers: properties, agreement with imbalanced-learn, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_classification

from dlfaq.imbalance import (
    ADASYN,
    SMOTE,
    BorderlineSMOTE,
    RandomOverSampler,
    RandomUnderSampler,
    kneighbors,
    kneighbors_self,
    resolve_sampling_strategy,
)

imblearn = pytest.importorskip("imblearn")
from imblearn import over_sampling as imb_over  # noqa: E402
from imblearn import under_sampling as imb_under  # noqa: E402
from imblearn.utils import check_sampling_strategy  # noqa: E402


def _data(n: int = 600, n_classes: int = 3, seed: int = 0, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    weights = {2: [0.85, 0.15], 3: [0.7, 0.2, 0.1]}[n_classes]
    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=4, n_classes=n_classes, weights=weights, random_state=seed
    )
    return X, y


def _counts(y) -> dict:
    y = y.cpu().numpy() if isinstance(y, torch.Tensor) else y
    u, c = np.unique(y, return_counts=True)
    return dict(zip(u.tolist(), c.tolist(), strict=True))


# --------------------------------------------------------------------------- sampling_strategy

OVER_STRATEGIES = ["auto", "minority", "not minority", "not majority", "all", {1: 300, 2: 250}, lambda y: {2: 200}]
UNDER_STRATEGIES = ["auto", "majority", "not minority", "not majority", "all", {0: 100, 1: 80}, lambda y: {0: 90}]


@pytest.mark.parametrize("strategy", OVER_STRATEGIES)
def test_over_strategy_matches_imblearn(strategy):
    _, y = _data()
    assert dict(resolve_sampling_strategy(strategy, y, "over-sampling")) == dict(
        check_sampling_strategy(strategy, y, "over-sampling")
    )


@pytest.mark.parametrize("strategy", UNDER_STRATEGIES)
def test_under_strategy_matches_imblearn(strategy):
    _, y = _data()
    assert dict(resolve_sampling_strategy(strategy, y, "under-sampling")) == dict(
        check_sampling_strategy(strategy, y, "under-sampling")
    )


@pytest.mark.parametrize("ratio", [0.2, 0.5, 1.0])
@pytest.mark.parametrize("kind", ["over-sampling", "under-sampling"])
def test_float_strategy_matches_imblearn(ratio, kind):
    _, y = _data(n_classes=2)
    assert dict(resolve_sampling_strategy(ratio, y, kind)) == dict(check_sampling_strategy(ratio, y, kind))


@pytest.mark.parametrize(
    ("strategy", "kind", "n_classes"),
    [
        (0.05, "over-sampling", 2),  # would remove minority samples
        (1.5, "over-sampling", 2),
        (0.5, "over-sampling", 3),  # float needs a binary target
        ({0: 10}, "over-sampling", 3),  # fewer than present
        ({0: 10_000}, "under-sampling", 3),  # more than present
        ({7: 10}, "over-sampling", 3),  # unknown class
        ({1: -1}, "under-sampling", 3),
        ("majority", "over-sampling", 3),
        ("minority", "under-sampling", 3),
    ],
)
def test_impossible_strategy_same_error_as_imblearn(strategy, kind, n_classes):
    _, y = _data(n_classes=n_classes)
    with pytest.raises(ValueError) as ours:
        resolve_sampling_strategy(strategy, y, kind)
    with pytest.raises(ValueError) as theirs:
        check_sampling_strategy(strategy, y, kind)
    # Same message, up to whitespace (imbalanced-learn's string literals wrap differently).
    assert " ".join(str(ours.value).split()) == " ".join(str(theirs.value).split())


def test_unknown_string_strategy():
    # imbalanced-learn prints its internal function table here; we list the names.
    _, y = _data()
    with pytest.raises(ValueError, match="needs to be one of .*'not minority'.*Got 'bogus'"):
        resolve_sampling_strategy("bogus", y, "over-sampling")


def test_float_under_too_small_ratio_error():
    _, y = _data(n_classes=2)
    with pytest.raises(ValueError, match="generate new sample in the majority"):
        resolve_sampling_strategy(0.01, y, "under-sampling")


# --------------------------------------------------------------------------- agreement with imblearn


@pytest.mark.parametrize("strategy", OVER_STRATEGIES[:6])
def test_random_over_sampler_same_indices_as_imblearn(strategy):
    X, y = _data()
    ours = RandomOverSampler(sampling_strategy=strategy, random_state=7)
    theirs = imb_over.RandomOverSampler(sampling_strategy=strategy, random_state=7)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


@pytest.mark.parametrize("replacement", [False, True])
@pytest.mark.parametrize("strategy", UNDER_STRATEGIES[:6])
def test_random_under_sampler_same_indices_as_imblearn(strategy, replacement):
    X, y = _data()
    ours = RandomUnderSampler(sampling_strategy=strategy, random_state=3, replacement=replacement)
    theirs = imb_under.RandomUnderSampler(sampling_strategy=strategy, random_state=3, replacement=replacement)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


@pytest.mark.parametrize("strategy", OVER_STRATEGIES)
def test_smote_same_output_as_imblearn(strategy):
    # Same random stream and (exact, tie-free data) same neighbour lists -> the same samples.
    X, y = _data()
    Xo, yo = SMOTE(sampling_strategy=strategy, random_state=11).fit_resample(X, y)
    Xt, yt = imb_over.SMOTE(sampling_strategy=strategy, random_state=11).fit_resample(X, y)
    np.testing.assert_array_equal(yo, yt)
    # Identical float64 operations in the same order; allow 1e-12 for BLAS-free reordering.
    np.testing.assert_allclose(Xo, Xt, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["borderline-1", "borderline-2"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_borderline_smote_same_output_as_imblearn(kind, n_classes):
    X, y = _data(n=900, n_classes=n_classes, seed=1)
    ours = BorderlineSMOTE(random_state=4, kind=kind)
    theirs = imb_over.BorderlineSMOTE(random_state=4, kind=kind)
    Xo, yo = ours.fit_resample(X, y)
    Xt, yt = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_allclose(Xo, Xt, rtol=0, atol=1e-12)
    assert ours.in_danger_indices_.keys() == theirs.in_danger_indices.keys()
    for c, idx in ours.in_danger_indices_.items():
        np.testing.assert_array_equal(idx, theirs.in_danger_indices[c])
    # torch input gives the same rows.
    Xq, yq = BorderlineSMOTE(random_state=4, kind=kind).fit_resample(torch.from_numpy(X), torch.from_numpy(y))
    np.testing.assert_allclose(Xq.numpy(), Xo, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="kind"):
        BorderlineSMOTE(kind="borderline-3").fit_resample(X, y)
    with pytest.raises(ValueError, match="m_neighbors"):
        BorderlineSMOTE(m_neighbors=0).fit_resample(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_adasyn_same_output_as_imblearn(n_classes):
    X, y = _data(n=900, n_classes=n_classes, seed=1)
    Xo, yo = ADASYN(random_state=4).fit_resample(X, y)
    Xt, yt = imb_over.ADASYN(random_state=4).fit_resample(X, y)
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_allclose(Xo, Xt, rtol=0, atol=1e-12)
    # Separated classes: no minority sample has a majority neighbour -> clear error.
    Xs = np.r_[np.zeros((20, 2)), np.full((8, 2), 100.0)] + np.random.RandomState(0).rand(28, 2)
    with pytest.raises(RuntimeError, match="Not any neigbours belong to the majority class"):
        ADASYN().fit_resample(Xs, np.r_[np.zeros(20), np.ones(8)])


def test_kneighbors_queries_against_reference():
    rng = np.random.RandomState(3)
    R, Q = rng.randn(700, 5), rng.randn(50, 5)
    D = ((Q[:, None] - R[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(kneighbors(Q, R, 4), np.argsort(D, 1, kind="stable")[:, :4])
    idx = rng.choice(700, 30, replace=False)
    D = ((R[idx][:, None] - R[None]) ** 2).sum(-1)
    D[np.arange(30), idx] = np.inf
    np.testing.assert_array_equal(kneighbors(R[idx], R, 4, self_index=idx), np.argsort(D, 1, kind="stable")[:, :4])
    with pytest.raises(ValueError, match="reference points"):
        kneighbors(Q, R[:3], 4)


def test_smote_float32_and_torch_agree_with_imblearn():
    X, y = _data(seed=2)
    X32 = X.astype(np.float32)
    Xt, yt = imb_over.SMOTE(random_state=5).fit_resample(X32, y)
    Xo, yo = SMOTE(random_state=5).fit_resample(torch.from_numpy(X32), torch.from_numpy(y))
    assert isinstance(Xo, torch.Tensor) and Xo.dtype == torch.float32
    np.testing.assert_array_equal(yo.numpy(), yt)
    # Both compute in float64 and round to float32 once: at most 1 ulp apart.
    np.testing.assert_allclose(Xo.numpy(), Xt, rtol=2e-7, atol=1e-6)


def test_smote_in_imblearn_pipeline():
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    X, y = _data(n_classes=2)
    pipe = Pipeline([("smote", SMOTE(random_state=0)), ("clf", LogisticRegression(max_iter=500))])
    scores = cross_val_score(pipe, X, y, cv=3, scoring="balanced_accuracy")
    assert scores.shape == (3,) and np.all(scores > 0.6)
    c = clone(SMOTE(k_neighbors=3, random_state=1))
    assert c.get_params()["k_neighbors"] == 3
    assert c.set_params(k_neighbors=4).k_neighbors == 4


# --------------------------------------------------------------------------- SMOTE properties


@settings(max_examples=25, deadline=None)
@given(
    n_min=st.integers(6, 40),
    n_maj=st.integers(41, 120),
    d=st.integers(1, 6),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_smote_properties(n_min, n_maj, d, k, seed):
    rng = np.random.RandomState(seed % 1000)
    X = rng.randn(n_min + n_maj, d)
    y = np.array([1] * n_min + [0] * n_maj)
    Xr, yr = SMOTE(random_state=seed, k_neighbors=k).fit_resample(X, y)
    # Counts follow 'auto': minority brought to the majority count; originals come first, unchanged.
    assert _counts(yr) == {0: n_maj, 1: n_maj}
    np.testing.assert_array_equal(Xr[: len(X)], X)
    np.testing.assert_array_equal(yr[: len(y)], y)
    # Every synthetic point lies on a segment x_i -> x_nn, x_nn among x_i's k nearest minority neighbours.
    Xm = X[y == 1]
    kth = np.sort(((Xm[:, None] - Xm[None]) ** 2).sum(-1), 1)[:, k]  # k-th neighbour distance (col 0 = self)
    for s in Xr[len(X):]:
        ok = False
        for i in range(len(Xm)):
            diff = Xm - Xm[i]
            dist2 = (diff**2).sum(1)
            cand = np.flatnonzero((dist2 <= kth[i] * (1 + 1e-9)) & (np.arange(len(Xm)) != i))
            for j in cand:
                v = Xm[j] - Xm[i]
                t = float(np.dot(s - Xm[i], v) / max(np.dot(v, v), 1e-300))
                if -1e-9 <= t <= 1 + 1e-9 and np.allclose(Xm[i] + t * v, s, atol=1e-9):
                    ok = True
                    break
            if ok:
                break
        assert ok, "synthetic sample not on a neighbour segment"
    # Same random_state -> same output.
    Xr2, yr2 = SMOTE(random_state=seed, k_neighbors=k).fit_resample(X, y)
    np.testing.assert_array_equal(Xr, Xr2)
    np.testing.assert_array_equal(yr, yr2)


@settings(max_examples=15, deadline=None)
@given(m=st.integers(2, 200), d=st.integers(1, 40), k=st.integers(1, 8), seed=st.integers(0, 10_000), rounded=st.booleans())
def test_kneighbors_exact(m, d, k, seed, rounded):
    k = min(k, m - 1)
    rng = np.random.RandomState(seed)
    X = rng.randn(m, d) * rng.choice([1e-3, 1.0, 1e3])
    if rounded:  # many exact ties and duplicates
        X = np.round(X / X.std(), 0)
    nn, dist = kneighbors_self(X, k, return_distance=True, max_block_bytes=16_384)  # several blocks even for small m
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    ref = np.sort(D, 1)[:, :k]
    # Distances are the exact k smallest (float64 rounding only).
    np.testing.assert_allclose(dist**2, ref, rtol=1e-9, atol=1e-12 * max(1.0, float(np.abs(X).max()) ** 2))
    assert not np.any(nn == np.arange(m)[:, None])
    np.testing.assert_allclose(D[np.arange(m)[:, None], nn], ref, rtol=1e-9, atol=1e-12 * max(1.0, float(np.abs(X).max()) ** 2))


def test_random_samplers_counts_and_torch_device_kept():
    X, y = _data()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Xo, yo = RandomOverSampler(random_state=0).fit_resample(Xt, yt)
    assert isinstance(Xo, torch.Tensor) and Xo.device == Xt.device
    assert set(_counts(yo).values()) == {max(_counts(y).values())}
    Xu, yu = RandomUnderSampler(random_state=0).fit_resample(Xt, yt)
    assert set(_counts(yu).values()) == {min(_counts(y).values())}
    # The torch path selects the same rows as the NumPy path.
    Xn, _ = RandomUnderSampler(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xu.numpy(), Xn)


def test_smote_on_tensor_that_requires_grad():
    X, y = _data()
    Xt = torch.from_numpy(X).requires_grad_(True)
    Xo, _ = SMOTE(random_state=0).fit_resample(Xt, torch.from_numpy(y))
    assert not Xo.requires_grad
    Xn, _ = SMOTE(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(Xo.numpy(), Xn)


def test_string_labels_and_integer_features():
    X, y = _data(n_classes=2)
    labels = np.where(y == 1, "rare", "common")
    Xo, yo = SMOTE(random_state=0).fit_resample(X.round().astype(np.int64), labels)
    assert Xo.dtype == np.float64 and yo.dtype == labels.dtype
    assert _counts(yo) == {"common": int((y == 0).sum()), "rare": int((y == 0).sum())}
    Xr, yr = RandomOverSampler(random_state=0).fit_resample(X, labels)
    assert _counts(yr)["rare"] == _counts(yr)["common"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_smote_cuda_matches_cpu():
    X, y = _data()
    Xc, yc = SMOTE(random_state=0).fit_resample(torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda())
    assert Xc.is_cuda and yc.is_cuda
    Xn, yn = SMOTE(random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(Xc.cpu().numpy(), Xn, atol=1e-9)
    np.testing.assert_array_equal(yc.cpu().numpy(), yn)


# --------------------------------------------------------------------------- bad input


def test_bad_inputs():
    X, y = _data()
    with pytest.raises(ValueError, match="more than 1 class"):
        SMOTE().fit_resample(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SMOTE().fit_resample(X, y[:-1])
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):  # scikit-learn's check, as imbalanced-learn
        SMOTE().fit_resample(Xn, y)
    Xn[3, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        SMOTE().fit_resample(torch.from_numpy(Xn), y)
    # The random samplers copy rows and pass NaN/inf through, as imbalanced-learn does.
    Xr, _ = RandomOverSampler(random_state=0).fit_resample(torch.from_numpy(Xn), y)  # keeps every original row
    assert torch.isinf(Xr).any()
    with pytest.raises(ValueError, match="Expected 2D array"):
        SMOTE().fit_resample(X[:, 0], y)
    small = np.array([0] * 30 + [1] * 4)
    with pytest.raises(ValueError, match=r"k_neighbors=5 needs at least 6 samples.*class 1 has 4"):
        SMOTE().fit_resample(np.random.RandomState(0).randn(34, 2), small)
    with pytest.raises(ValueError, match="k_neighbors' parameter must be an int"):
        SMOTE(k_neighbors=0).fit_resample(X, y)
    with pytest.raises(ValueError, match="impossible|remove samples"):
        SMOTE(sampling_strategy=0.01).fit_resample(*_data(n_classes=2))
