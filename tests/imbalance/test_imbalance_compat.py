"""dlfaq's samplers as drop-ins for imbalanced-learn's (issue 16) and SMOTE's engine vs its reference (issue 14).

Oracles: imbalanced-learn's own classes (same ``random_state`` -> same draws, so
outputs must be bit-identical) and, for the engine, the reference code in
``SMOTE._reference``. The full peer suite (imblearn's own test files with the
imports swapped, plus both libraries' estimator checks) is the slow test in
``tests/imbalance/test_imbalance_peers.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors

from dlfaq._fast import smote as engine
from dlfaq.imbalance import (
    ADASYN,
    SMOTE,
    BalancedBaggingClassifier,
    BorderlineSMOTE,
    EasyEnsembleClassifier,
    Pipeline,
    RandomOverSampler,
    RandomUnderSampler,
)

imblearn = pytest.importorskip("imblearn")
from imblearn import combine as imb_combine  # noqa: E402
from imblearn import ensemble as imb_ensemble  # noqa: E402
from imblearn import over_sampling as imb_over  # noqa: E402
from imblearn import under_sampling as imb_under  # noqa: E402

PAIRS = [
    (lambda **kw: SMOTE(**kw), lambda **kw: imb_over.SMOTE(**kw)),
    (lambda **kw: ADASYN(**kw), lambda **kw: imb_over.ADASYN(**kw)),
    (lambda **kw: BorderlineSMOTE(**kw), lambda **kw: imb_over.BorderlineSMOTE(**kw)),
    (lambda **kw: BorderlineSMOTE(kind="borderline-2", **kw), lambda **kw: imb_over.BorderlineSMOTE(kind="borderline-2", **kw)),
]
IDS = ["smote", "adasyn", "borderline1", "borderline2"]


def _data(n: int = 400, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=n, n_features=d, n_informative=3, n_redundant=0, weights=[0.8, 0.2],
                               random_state=seed)


def _lattice(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Integer points in a 4^3 cube: many exact distance ties and duplicate rows."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, 4, size=(n, 3)).astype(float), (rng.rand(n) < 0.25).astype(int)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", [_data, _lattice], ids=["continuous", "ties"])
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_bit_identical_to_imblearn_float32_and_ties(ours, theirs, data, dtype):
    # float32: imbalanced-learn takes the difference in float32 and steps in float64; ties: its tree order.
    X, y = data()
    X = X.astype(dtype)
    Xo, yo = ours(random_state=3).fit_resample(X, y)
    Xt, yt = theirs(random_state=3).fit_resample(X, y)
    assert Xo.dtype == Xt.dtype == dtype
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_array_equal(Xo, Xt)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=IDS)
def test_neighbour_estimator_objects(ours, theirs):
    X, y = _data(seed=1)
    name = "n_neighbors" if "ADASYN" in type(ours()).__name__ else "k_neighbors"
    extra = {"m_neighbors": NearestNeighbors(n_neighbors=11)} if isinstance(ours(), BorderlineSMOTE) else {}
    o = ours(random_state=0, **{name: NearestNeighbors(n_neighbors=6)}, **extra)
    Xo, yo = o.fit_resample(X, y)
    Xt, yt = theirs(random_state=0).fit_resample(X, y)  # int 5 == NearestNeighbors(6) in imbalanced-learn
    np.testing.assert_array_equal(Xo, Xt)
    assert (o.nn_ if name == "n_neighbors" else o.nn_k_).n_neighbors == 6


def test_engine_matches_reference_over_random_configurations():
    rng = np.random.RandomState(0)
    for trial in range(12):
        n, d, k = rng.randint(40, 300), rng.randint(1, 7), rng.randint(1, 6)
        dtype = [np.float64, np.float32, np.int64][trial % 3]
        X = (rng.randn(n, d) * 3).astype(dtype)
        y = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
        if trial % 4 == 0:
            X = torch.from_numpy(X)
        s = SMOTE(k_neighbors=int(k), random_state=trial, sampling_strategy=["auto", "all", "not majority"][trial % 3])
        if min(np.bincount(y)) < k + 1:
            continue
        s.fit(X, y)
        fast = engine.resample(X, y, s.sampling_strategy_, int(k), trial, 1 << 16)
        s.nn_k_ = NearestNeighbors(n_neighbors=int(k) + 1)
        ref = s._reference(X, y, True)
        a = fast.numpy() if isinstance(fast, torch.Tensor) else fast
        b = ref.numpy() if isinstance(ref, torch.Tensor) else ref
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # The probe: a neighbour object or sparse input is the reference's job.
    assert engine.resample(np.zeros((4, 2)), np.array([0, 0, 1, 1]), {}, NearestNeighbors(), 0, 1 << 16) is None


def test_containers_pandas_list_sparse_one_hot_set_output():
    pd = pytest.importorskip("pandas")
    from scipy import sparse

    X, y = _data()
    Xdf = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ys = pd.Series(y, name="target")
    Xr, yr = SMOTE(random_state=0).fit_resample(Xdf, ys)
    Xa, ya = SMOTE(random_state=0).fit_resample(X, y)
    assert list(Xr.columns) == list(Xdf.columns) and yr.name == "target"
    np.testing.assert_array_equal(Xr.to_numpy(), Xa)
    assert (Xr.index == yr.index).all()
    s = SMOTE(random_state=0).fit(Xdf, ys)
    assert list(s.feature_names_in_) == list(Xdf.columns) and s.n_features_in_ == X.shape[1]
    assert list(s.get_feature_names_out()) == list(Xdf.columns)
    # set_output: a DataFrame for an array input too.
    Xp, _ = SMOTE(random_state=0).set_output(transform="pandas").fit_resample(X, y)
    assert isinstance(Xp, pd.DataFrame) and list(Xp.columns) == [f"x{i}" for i in range(X.shape[1])]
    # lists in, lists out
    Xl, yl = RandomUnderSampler(random_state=0).fit_resample(X.tolist(), y.tolist())
    assert isinstance(Xl, list) and isinstance(yl, list)
    # CSR in -> CSR out, same values as dense
    Xs, ys2 = SMOTE(random_state=0).fit_resample(sparse.csr_matrix(X), y)
    assert sparse.issparse(Xs)
    np.testing.assert_array_equal(Xs.toarray(), Xa)
    # one-hot (multiclass) targets come back one-hot, rows as for the labels
    y3 = np.arange(len(y)) % 3 * (y == 0) + 2 * (y == 1)
    Y = np.eye(3, dtype=int)[y3]
    Xh, Yr = RandomOverSampler(random_state=0).fit_resample(X, Y)
    Xl3, yl3 = RandomOverSampler(random_state=0).fit_resample(X, y3)
    np.testing.assert_array_equal(Xh, Xl3)
    np.testing.assert_array_equal(Yr.argmax(1), yl3)
    assert Yr.shape[1] == 3 and (Yr.sum(1) == 1).all()


def test_refusals_and_pass_through_like_imblearn():
    X, y = _data()
    with pytest.raises(ValueError, match="Unknown label type"):
        SMOTE().fit_resample(X, np.linspace(0, 1, len(y)))
    with pytest.raises(ValueError, match="0 feature"):
        RandomOverSampler().fit_resample(np.empty((len(y), 0)), y)
    with pytest.raises(ValueError, match="Multilabel and multioutput targets are not supported"):
        SMOTE().fit_resample(X, np.ones((len(y), 3), dtype=int))
    Xn = X.copy()
    Xn[::7, 1] = np.nan
    Xn[::11, 0] = np.inf
    for ours, theirs in [(RandomOverSampler, imb_over.RandomOverSampler), (RandomUnderSampler, imb_under.RandomUnderSampler)]:
        Xo, yo = ours(random_state=2).fit_resample(Xn, y)
        Xt, yt = theirs(random_state=2).fit_resample(Xn, y)
        np.testing.assert_array_equal(Xo, Xt)  # NaN == NaN for assert_array_equal
        np.testing.assert_array_equal(yo, yt)


def test_smoothed_bootstrap_is_imblearns():
    X, y = _data(seed=2)
    for shrinkage in (0.5, {1: 2.0}):
        a = RandomOverSampler(shrinkage=shrinkage, random_state=0).fit_resample(X, y)
        b = imb_over.RandomOverSampler(shrinkage=shrinkage, random_state=0).fit_resample(X, y)
        np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="shrinkage factor needs to be >= 0"):
        RandomOverSampler(shrinkage={1: -1}).fit_resample(X, y)


def test_smote_enn_as_a_pipeline():
    # imbalanced-learn's SMOTEENN refuses a foreign smote= (isinstance check on its own SMOTE class);
    # the same resampling is dlfaq's SMOTE followed by ENN.
    X, y = _data(seed=3)
    Xt, yt = imb_combine.SMOTEENN(random_state=0).fit_resample(X, y)
    Xs, ys = SMOTE(random_state=0).fit_resample(X, y)
    Xo, yo = imb_under.EditedNearestNeighbours(sampling_strategy="all").fit_resample(Xs, ys)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)
    Xt, yt = imb_combine.SMOTETomek(random_state=0).fit_resample(X, y)
    Xo, yo = imb_under.TomekLinks(sampling_strategy="all").fit_resample(Xs, ys)
    np.testing.assert_array_equal(Xo, Xt)
    np.testing.assert_array_equal(yo, yt)


def test_ensembles_are_imblearns():
    X, y = _data(n=300, seed=4)
    ours = BalancedBaggingClassifier(n_estimators=4, random_state=0).fit(X, y)
    theirs = imb_ensemble.BalancedBaggingClassifier(n_estimators=4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    ee = EasyEnsembleClassifier(n_estimators=3, random_state=0).fit(X, y)
    ie = imb_ensemble.EasyEnsembleClassifier(n_estimators=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(ee.predict_proba(X), ie.predict_proba(X))
    assert isinstance(ee.estimator_, Pipeline) and all(isinstance(p, Pipeline) for p in ee.estimators_)
    assert set(ee.estimators_[0].named_steps) == {"sampler", "classifier"}
    # warm start adds members without refitting the old ones
    ws = EasyEnsembleClassifier(n_estimators=2, warm_start=True, random_state=0).fit(X, y)
    first = ws.estimators_[0]
    ws.set_params(n_estimators=3).fit(X, y)
    assert len(ws.estimators_) == 3 and ws.estimators_[0] is first


def test_knn_engine_matches_reference():
    from dlfaq._fast import knn
    from dlfaq.imbalance import kneighbors
    from dlfaq.imbalance.neighbors import _reference

    rng = np.random.RandomState(1)
    for trial in range(8):
        nq, nr, d, k = rng.randint(5, 120), rng.randint(20, 300), rng.randint(1, 9), rng.randint(1, 6)
        R = torch.from_numpy(rng.randn(nr, d) * 10 ** rng.uniform(-3, 3))
        if trial % 2:  # near-ties and exact duplicates: the certificate must send these rows to float64
            R = torch.round(R * 2) / 2
        R = R - R.mean(0, keepdim=True)
        own = trial % 3 == 0
        Q = R[:nq] if own else torch.from_numpy(rng.randn(nq, d)) * R.std()
        si = torch.arange(min(nq, nr)) if own else None
        Q = Q[: si.numel()] if own else Q
        # Odd trials: more exact ties than the float32 margin, answered by the float64 threshold pass.
        dist, nn = knn.kneighbors(Q, R, si, int(k), 3, 1 << 14)  # small blocks: several per call
        ref_d, ref_i = _reference(Q, R, si, int(k), 1 << 14)
        torch.testing.assert_close(dist, ref_d, rtol=0, atol=0)
        torch.testing.assert_close(nn, ref_i, rtol=0, atol=0)
    # The public function (its own centring) gives the reference's lists for raw duplicated data too.
    X = torch.from_numpy(np.random.RandomState(2).randint(0, 3, size=(200, 2)).astype(float))
    Xc = X - X.mean(0, keepdim=True)
    np.testing.assert_array_equal(kneighbors(X, X, 4, self_index=torch.arange(200)).numpy(),
                                  _reference(Xc, Xc, torch.arange(200), 4, 1 << 20)[1].numpy())


def test_tags_work_without_imbalanced_learn(monkeypatch):
    """Without imblearn installed (dlfaq does not require it) the samplers still have tags."""
    import builtins

    from sklearn.utils import get_tags

    from dlfaq.imbalance import SMOTE, RandomOverSampler

    real_import = builtins.__import__

    def no_imblearn(name, *args, **kwargs):
        if name == "imblearn" or name.startswith("imblearn."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_imblearn)
    for est in (SMOTE(), RandomOverSampler()):
        tags = get_tags(est)
        assert tags.estimator_type == "sampler" and tags.input_tags.sparse
    assert get_tags(RandomOverSampler()).input_tags.allow_nan


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(SMOTE, imb_over.SMOTE), (BorderlineSMOTE, imb_over.BorderlineSMOTE), (ADASYN, imb_over.ADASYN),
     (RandomOverSampler, imb_over.RandomOverSampler), (RandomUnderSampler, imb_under.RandomUnderSampler),
     (BalancedBaggingClassifier, imb_ensemble.BalancedBaggingClassifier),
     (EasyEnsembleClassifier, imb_ensemble.EasyEnsembleClassifier)],
    ids=lambda c: c.__name__,
)
def test_parameters_and_defaults_are_imblearns(ours, theirs):
    """Drop-ins: every parameter of imbalanced-learn's class exists with its default; dlfaq adds only
    max_block_bytes (and keeps n_jobs, which imbalanced-learn 0.14 dropped from the SMOTE family)."""
    mine, theirs_ = ours().get_params(deep=False), theirs().get_params(deep=False)
    assert set(mine) - set(theirs_) <= {"max_block_bytes", "n_jobs"}
    assert set(theirs_) <= set(mine), set(theirs_) - set(mine)
    for name, default in theirs_.items():
        assert mine[name] == default or (name == "sampler" and mine[name] is default), name
    # parameters set through a shared base survive clone and set_params
    changed = {name: 3 for name in ("k_neighbors", "n_neighbors", "m_neighbors") if name in mine}
    if changed:
        est = clone(ours(**changed).set_params(random_state=7))
        assert est.get_params(deep=False) == {**mine, **changed, "random_state": 7}


@pytest.mark.parametrize(("cls", "param"), [(SMOTE, "k_neighbors"), (BorderlineSMOTE, "k_neighbors"),
                                            (ADASYN, "n_neighbors")])
def test_smote_family_refuses_small_classes_and_a_bad_block_budget_alike(cls, param):
    X, y = _data(n=200, seed=5)
    small = np.r_[np.zeros(190, int), np.ones(10, int)]
    msg = rf"n_neighbors = 12, n_samples_fit = 10: {cls.__name__} with {param}=11 needs at least 12 .* class 1 has 10"
    with pytest.raises(ValueError, match=msg):
        cls(**{param: 11}).fit_resample(X, small)
    with pytest.raises(ValueError, match="max_block_bytes must be positive, got 0"):
        cls(max_block_bytes=0).fit_resample(X, y)
    # imbalanced-learn refuses the same small class (with scikit-learn's message, which ours starts with)
    theirs = {"SMOTE": imb_over.SMOTE, "BorderlineSMOTE": imb_over.BorderlineSMOTE, "ADASYN": imb_over.ADASYN}
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        theirs[cls.__name__](**{param: 11}).fit_resample(X, small)
