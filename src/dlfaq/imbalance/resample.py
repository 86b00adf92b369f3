"""Resamplers with the imbalanced-learn contract: ``fit_resample(X, y) -> (X_res, y_res)``.

They take what imbalanced-learn takes (arrays, lists, pandas, sparse matrices,
one-hot targets; see :mod:`dlfaq.imbalance._compat`) and give it back in the same
form, plus torch tensors (CPU or CUDA), given back as tensors on the same device.
They are scikit-learn estimators (``get_params``, ``clone``, ``n_features_in_``,
``get_feature_names_out``) and steps of an ``imblearn.pipeline.Pipeline``, which
applies them to the training data only: resample *after* the split, never before
(otherwise copies or interpolations of training points leak into the evaluation).

Output order matches imbalanced-learn: over-samplers return the original
samples first, then the new ones class by class in sorted class order;
``RandomUnderSampler`` returns the kept samples class by class. With the same
integer ``random_state`` the random draws are imbalanced-learn's (same NumPy
``RandomState`` calls), so the random samplers select the same indices and the
SMOTE family makes the same samples, also with distance ties (a tied class is
searched the way imbalanced-learn searches it: :func:`~dlfaq.imbalance.neighbors.neighbours_as_sklearn`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin
from sklearn.preprocessing import label_binarize
from sklearn.utils import check_consistent_length
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_array, validate_data

from dlfaq._fast import smote as engine
from dlfaq.imbalance._compat import Containers, check_neighbors, check_target, sampler_tags
from dlfaq.imbalance.neighbors import DEFAULT_BLOCK_BYTES, neighbours_as_sklearn
from dlfaq.imbalance.sampling import (
    SamplingKind,
    SamplingStrategy,
    _back,
    _dense_float,
    _full,
    _is_torch,
    _labels_numpy,
    _stack,
    check_random_state,
    check_X_y,
    resolve_sampling_strategy,
    take_rows,
)

__all__ = ["ADASYN", "SMOTE", "BaseSampler", "BorderlineSMOTE", "RandomOverSampler", "RandomUnderSampler"]


# --------------------------------------------------------------------------- base


class BaseSampler(OneToOneFeatureMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn has no type information: its classes are Any to mypy
    """Shared ``fit`` / ``fit_resample``: checks, ``sampling_strategy_``, containers; subclasses do ``_fit_resample``."""

    _estimator_type = "sampler"
    _sampling_type: SamplingKind = "over-sampling"
    _random_sampler = False  # True: any dtype, NaN/inf passed through, rows only copied

    sampling_strategy: SamplingStrategy

    def _check(self, X: Any, y: Any) -> tuple[Any, Any, np.ndarray, Any]:
        if _is_torch(X) or _is_torch(y):
            X, y = check_X_y(X, y, numeric=not self._random_sampler, allow_nan=self._random_sampler)
            self.n_features_in_ = int(X.shape[1])
            if X.shape[1] == 0:
                raise ValueError(f"Found array with 0 feature(s) (shape={tuple(X.shape)}) while a minimum of 1 is required.")
            return X, y, _labels_numpy(y), lambda Xr, yr: (Xr, yr)
        box = Containers(X, y, output=getattr(self, "_sklearn_output_config", {}).get("transform"))
        y1, one_hot = check_target(y)
        if self._random_sampler:
            if not hasattr(X, "iloc"):
                X = check_array(X, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False)
            elif X.shape[1] == 0:
                raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
            validate_data(self, X=X, y=y1, reset=True, skip_check_array=True)
            check_consistent_length(X, y1)
        else:
            X, y1 = validate_data(self, X=X, y=y1, reset=True, accept_sparse=["csr", "csc"])
        classes = np.unique(y1)

        def restore(Xr: Any, yr: Any) -> tuple[Any, Any]:
            if one_hot:
                yr = label_binarize(yr, classes=classes)
            return box.restore(Xr, yr, feature_names=self.get_feature_names_out())

        return X, y1, y1, restore

    def fit(self, X: Any, y: Any) -> BaseSampler:
        """Check the inputs and resolve ``sampling_strategy_``; returns ``self`` (use ``fit_resample``)."""
        _, _, y_np, _ = self._check(X, y)
        self.sampling_strategy_ = resolve_sampling_strategy(self.sampling_strategy, y_np, self._sampling_type)
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Resample ``(X, y)``; see the class docstring for what comes back."""
        X, y, y_np, restore = self._check(X, y)
        self.sampling_strategy_ = resolve_sampling_strategy(self.sampling_strategy, y_np, self._sampling_type)
        return restore(*self._fit_resample(X, y, y_np))

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        raise NotImplementedError

    def set_output(self, *, transform: str | None = None) -> BaseSampler:
        """``transform='pandas'``: ``fit_resample`` returns a DataFrame (columns ``get_feature_names_out()``)."""
        if transform not in (None, "default", "pandas"):
            raise ValueError(f"transform must be 'default', 'pandas' or None, got {transform!r}")
        if transform is not None:
            self._sklearn_output_config = {"transform": transform}
        return self

    def __sklearn_tags__(self) -> Any:
        return sampler_tags(self, allow_nan=self._random_sampler, string=self._random_sampler,
                            sample_indices=self._random_sampler)


# --------------------------------------------------------------------------- random samplers


class RandomOverSampler(BaseSampler):
    """Duplicate randomly chosen samples of the targeted classes (bootstrap, with replacement).

    Args:
        sampling_strategy: which classes and how many samples; see
            :func:`dlfaq.imbalance.resolve_sampling_strategy` (default ``'auto'``:
            every class but the majority is brought to the majority count).
        random_state: ``None``, an int or a ``numpy.random.RandomState``.
        shrinkage: ``None`` (plain bootstrap), a float >= 0, or ``{class: float}``:
            a *smoothed* bootstrap, each copy perturbed by Gaussian noise of
            standard deviation ``shrinkage * h * std(class feature)`` with the
            normal-reference bandwidth ``h = (4 / ((D + 2) N)) ** (1 / (D + 4))``
            (Silverman, 1986, eq. 4.14); numeric X only.

    Attributes:
        sampling_strategy_: ``{class: n_new}``; shrinkage_: ``{class: factor}`` or ``None``;
        sample_indices_: indices into the input of every output row.

    Any dtype is copied as it is (strings, datetimes, NaN, inf). Duplicates add no
    new information: a flexible model can memorise them, the over-fitting that
    SMOTE (Chawla et al., 2002) was designed to avoid.
    """

    _random_sampler = True

    def __init__(self, *, sampling_strategy: SamplingStrategy = "auto", random_state: Any = None, shrinkage: Any = None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.shrinkage = shrinkage

    def _check_shrinkage(self, X: Any) -> Any:
        s = self.shrinkage
        if isinstance(s, Real) and not isinstance(s, bool):
            s = {c: s for c in self.sampling_strategy_}
        elif s is not None and not isinstance(s, Mapping):
            raise ValueError(f"The 'shrinkage' parameter must be a float >= 0, a dict or None; got {s!r}")
        self.shrinkage_ = s
        if s is None:
            return X
        missing = self.sampling_strategy_.keys() - s.keys()
        if missing:
            raise ValueError(
                "`shrinkage` should contain a shrinkage factor for each class that will be resampled. "
                f"The missing classes are: {missing!r}"
            )
        for c, f in s.items():
            if f < 0:
                raise ValueError(f"The shrinkage factor needs to be >= 0. Got {f} for class {c}.")
        if _is_torch(X):
            return X
        try:
            return check_array(X, accept_sparse=["csr", "csc"], dtype="numeric")
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "When shrinkage is not None, X needs to contain only numerical data to later "
                "generate a smoothed bootstrap sample."
            ) from exc

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        X = self._check_shrinkage(X)
        rng = check_random_state(self.random_state)
        X_parts, y_parts, picks = [X], [y], [np.arange(len(y_np))]
        for cls, n_new in self.sampling_strategy_.items():
            members = np.flatnonzero(y_np == cls)
            boot = rng.choice(members, size=n_new, replace=True)
            picks.append(boot)
            X_parts.append(self._smoothed(X, members, boot, cls, rng) if self.shrinkage_ is not None else take_rows(X, boot))
            y_parts.append(take_rows(y, boot))
        self.sample_indices_ = np.concatenate(picks).astype(np.int64)
        return _stack(X_parts), _stack(y_parts)

    def _smoothed(self, X: Any, members: np.ndarray, boot: np.ndarray, cls: Any, rng: np.random.RandomState) -> Any:
        n, d = X.shape
        h = (4 / ((d + 2) * n)) ** (1 / (d + 4))
        Xc = take_rows(X, members)
        if _is_torch(X):
            scale = Xc.double().std(0, unbiased=False).cpu().numpy()
        elif sparse.issparse(X):
            scale = np.sqrt(mean_variance_axis(Xc, axis=0)[1])
        else:
            scale = np.std(Xc, axis=0)
        noise = rng.randn(len(boot), d) @ np.diagflat(self.shrinkage_[cls] * h * scale)
        if _is_torch(X):
            return (torch.from_numpy(noise).to(X.device) + take_rows(X, boot)).to(X.dtype)
        if sparse.issparse(X):
            return sparse.csr_matrix(noise + take_rows(X, boot), dtype=X.dtype)
        return noise + take_rows(X, boot)


class RandomUnderSampler(BaseSampler):
    """Keep a random subset of the targeted classes.

    Args:
        sampling_strategy: default ``'auto'``: every class but the minority is cut
            to the minority count.
        random_state: ``None``, an int or a ``numpy.random.RandomState``.
        replacement: draw the kept samples with replacement.

    Attributes:
        sampling_strategy_: ``{class: n_kept}``; sample_indices_: indices into the input
        of the kept rows (output order).

    Under-sampling throws data away; it is cheap and often competitive when the
    majority class is redundant, and it is the building block of EasyEnsemble,
    which recovers the discarded data by training several models.
    """

    _sampling_type: SamplingKind = "under-sampling"
    _random_sampler = True

    def __init__(self, *, sampling_strategy: SamplingStrategy = "auto", random_state: Any = None, replacement: bool = False):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.replacement = replacement

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        rng = check_random_state(self.random_state)
        keep = []
        for cls in np.unique(y_np):
            where = np.flatnonzero(y_np == cls)
            key = cls.item() if isinstance(cls, np.generic) else cls
            if key in self.sampling_strategy_:
                where = where[rng.choice(range(len(where)), size=self.sampling_strategy_[key], replace=self.replacement)]
            keep.append(where)
        self.sample_indices_ = np.concatenate(keep).astype(np.int64)
        return take_rows(X, self.sample_indices_), take_rows(y, self.sample_indices_)


# --------------------------------------------------------------------------- SMOTE family


def _interpolate(base: torch.Tensor, diffs: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """imbalanced-learn's ``X[rows] + steps * diffs``: the difference in the data's dtype, float64 steps."""
    return base + steps * diffs


def _draw(nn: torch.Tensor, n_new: int, random_state: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SMOTE's random choice: ``n_new`` (sample, neighbour) pairs among the (m, k) lists ``nn``, and a step each.

    A fresh stream per class, as imbalanced-learn's ``_make_samples``: one ``randint``
    over the ``m * k`` pairs, then ``n_new`` steps in [0, 1). Returns the rows
    (positions in the class), their neighbours (what ``nn`` holds) and the (n_new, 1)
    float64 steps.
    """
    rng = check_random_state(random_state)
    flat = rng.randint(low=0, high=nn.numel(), size=n_new)
    steps = torch.from_numpy(rng.uniform(size=n_new)[:, None]).to(nn.device)
    rows, cols = (torch.from_numpy(a).to(nn.device) for a in np.divmod(flat, nn.shape[1]))
    return rows, nn[rows, cols], steps


class _SMOTEFamily(BaseSampler):
    """What SMOTE, BorderlineSMOTE and ADASYN share: parameters, the neighbour search, the targets.

    Each subclass keeps its own ``__init__`` with imbalanced-learn's signature
    (scikit-learn reads the parameters from it) and adds its neighbour parameters.
    """

    def __init__(
        self, *, sampling_strategy: SamplingStrategy, random_state: Any, n_jobs: int | None, max_block_bytes: int
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.max_block_bytes = max_block_bytes

    def _neighbour_param(self, name: str, y_np: np.ndarray | None = None) -> tuple[Any, bool]:
        """The checked estimator of parameter ``name``, and whether an int was given (dlfaq's search runs).

        With ``y_np`` the search is within each class: every class that gets new
        samples must hold ``n_neighbors`` of them (the sample itself included).
        """
        value = getattr(self, name)
        est = check_neighbors(name, value, extra=1)
        if int(self.max_block_bytes) < 1:
            raise ValueError(f"max_block_bytes must be positive, got {self.max_block_bytes!r}")
        own = isinstance(value, Integral)
        if y_np is None:
            return est, own
        need = est.n_neighbors
        for cls, n_new in self.sampling_strategy_.items():
            n = int((y_np == cls).sum())
            if n_new > 0 and n < need:
                raise ValueError(
                    f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {need}, n_samples_fit = {n}: "
                    f"{type(self).__name__} with {name}={need - 1} needs at least {need} samples in every class "
                    f"it over-samples; class {cls!r} has {n}. Lower {name} or use RandomOverSampler."
                )
        return est, own

    def _search(self, est: Any, own: bool, Q: torch.Tensor, R: torch.Tensor, self_idx: np.ndarray) -> torch.Tensor:
        """Indices into ``R`` of the nearest rows of each row of ``Q`` (the query itself, ``R[self_idx]``, excluded).

        ``own``: dlfaq's exact search, ``est.n_neighbors - 1`` neighbours; otherwise
        the user's estimator, fitted on ``R``, its first column (the query) dropped.
        """
        if own:
            k = est.n_neighbors - 1
            return neighbours_as_sklearn(Q, R, k, self_idx, max_block_bytes=int(self.max_block_bytes))
        est.fit(R.cpu().numpy())
        return torch.from_numpy(est.kneighbors(Q.cpu().numpy(), return_distance=False)[:, 1:]).to(Q.device)

    def _targets(self, y_np: np.ndarray) -> Iterator[tuple[Any, int, np.ndarray]]:
        """(class, number of new samples, the class's row indices) for each class that gets new samples."""
        for cls, n_new in self.sampling_strategy_.items():
            if n_new:
                yield cls, n_new, np.flatnonzero(y_np == cls)

    def __sklearn_tags__(self) -> Any:
        return sampler_tags(self)


class SMOTE(_SMOTEFamily):
    r"""Synthetic Minority Over-sampling TEchnique (Chawla et al., 2002).

    For every sample to create, pick a sample :math:`x_i` of the class uniformly
    at random, one of its ``k_neighbors`` nearest neighbours :math:`x_{nn}`
    *within the same class* uniformly at random, and a step :math:`u \sim U[0, 1)`:

    .. math::
        x_{new} = x_i + u \, (x_{nn} - x_i)

    so every synthetic point lies on the segment between two close members of
    the class. Classes are processed independently; only the class's own rows
    enter the neighbour search (as in imbalanced-learn).

    Args:
        sampling_strategy: which classes and how many samples (default ``'auto'``).
        random_state: ``None``, an int or a ``numpy.random.RandomState``. With an
            int, each class restarts the stream, as imbalanced-learn does.
        k_neighbors: an int (each over-sampled class needs ``k_neighbors + 1``
            samples; dlfaq's exact search :func:`~dlfaq.imbalance.kneighbors_self`)
            or a neighbour estimator with ``fit``/``kneighbors`` whose
            ``n_neighbors`` counts the sample itself (imbalanced-learn's convention).
        n_jobs: accepted for imbalanced-learn compatibility; dlfaq uses
            ``torch.get_num_threads()`` threads.
        max_block_bytes: memory bound of the neighbour search.

    Attributes:
        sampling_strategy_, nn_k_ (the neighbour estimator; with an int ``k_neighbors``
        a description, ``NearestNeighbors(n_neighbors=k + 1)``, not fitted: dlfaq's own
        search runs instead), n_features_in_, feature_names_in_.

    Float input keeps its dtype, with imbalanced-learn's arithmetic (difference in
    that dtype, step and sum in float64); integer X gives a float64 output
    (imbalanced-learn truncates the synthetic samples back to integers). Sparse X
    (CSR/CSC) is densified one class at a time and the output is CSR. Memory and
    speed: the engine :mod:`dlfaq._fast.smote` (same bits, bounded memory,
    independent of ``m**2``) runs whenever it applies; this class holds the
    reference, :meth:`_reference`.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N,)`; output: :math:`(N + N_{new}, D)` and :math:`(N + N_{new},)`
    """

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        n_jobs: int | None = None,
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    ):
        super().__init__(sampling_strategy=sampling_strategy, random_state=random_state, n_jobs=n_jobs,
                         max_block_bytes=max_block_bytes)
        self.k_neighbors = k_neighbors

    def _reference(self, X: Any, y_np: np.ndarray, own: bool) -> Any:
        """X followed by the new rows: neighbours within the class, then ``a + u (b - a)``, class by class."""
        Xf = _dense_float(X)
        new = []
        for _, n_new, idx in self._targets(y_np):
            Xc = Xf[idx]
            nn = self._search(self.nn_k_, own, Xc, Xc, np.arange(len(idx)))  # (m, k): neighbours within the class
            rows, nbrs, steps = _draw(nn, n_new, self.random_state)
            new.append(_interpolate(Xc[rows], Xc[nbrs] - Xc[rows], steps).to(Xf.dtype))
        return _back(X, torch.cat([Xf, *new]))

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        self.nn_k_, own = self._neighbour_param("k_neighbors", y_np)
        X_res = engine.resample(X, y_np, self.sampling_strategy_, self.k_neighbors, self.random_state,
                                int(self.max_block_bytes)) if own else None
        if X_res is None:  # the engine's probe failed: sparse input or a neighbour estimator
            X_res = self._reference(X, y_np, own)
        labels = [_full(y, n, c) for c, n in self.sampling_strategy_.items() if n]
        return X_res, _stack([y, *labels])


class BorderlineSMOTE(_SMOTEFamily):
    r"""Borderline-SMOTE (Han, Wang & Mao, 2005): SMOTE from the samples on the class border only.

    A sample of the over-sampled class is *in danger* when, among its
    ``m_neighbors`` nearest neighbours in the whole data set, at least half but
    not all belong to other classes (all of them: noise, skipped; fewer than
    half: safe, skipped). New samples are made from the danger samples only:

    * ``kind='borderline-1'``: :math:`x_{new} = x_i + u\,(x_{nn} - x_i)` with
      :math:`x_{nn}` among the ``k_neighbors`` nearest samples of the same class;
    * ``kind='borderline-2'``: :math:`x_{nn}` among the ``k_neighbors`` nearest
      samples of any class; towards a sample of another class the step is
      further multiplied by :math:`U[0, 0.5)`, so the new point stays on the class's side.

    A class without danger samples gets no new samples (as in imbalanced-learn),
    so the output can have fewer rows than ``sampling_strategy`` asks for.

    Args:
        sampling_strategy, random_state, k_neighbors, n_jobs, max_block_bytes: as :class:`SMOTE`.
        m_neighbors: an int or a neighbour estimator (``n_neighbors`` counting the sample).
        kind: ``'borderline-1'`` or ``'borderline-2'``.

    Attributes:
        in_danger_indices: ``{class: indices of its danger samples}`` (imbalanced-learn's
        name; ``in_danger_indices_`` is the same dict); nn_k_, nn_m_: the neighbour estimators.
    """

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        n_jobs: int | None = None,
        m_neighbors: Any = 10,
        kind: str = "borderline-1",
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    ):
        super().__init__(sampling_strategy=sampling_strategy, random_state=random_state, n_jobs=n_jobs,
                         max_block_bytes=max_block_bytes)
        self.k_neighbors = k_neighbors
        self.m_neighbors = m_neighbors
        self.kind = kind

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        if self.kind not in ("borderline-1", "borderline-2"):
            raise ValueError(f"The 'kind' parameter must be 'borderline-1' or 'borderline-2'; got {self.kind!r}")
        self.nn_m_, m_own = self._neighbour_param("m_neighbors")
        if m_own and self.nn_m_.n_neighbors > len(y_np):
            raise ValueError(f"m_neighbors must be at most n_samples - 1 = {len(y_np) - 1}, got {self.m_neighbors!r}")
        within = self.kind == "borderline-1"  # borderline-2 searches the k neighbours in the whole data set
        self.nn_k_, k_own = self._neighbour_param("k_neighbors", y_np if within else None)
        Xf = _dense_float(X)
        self.in_danger_indices: dict[Any, np.ndarray] = {}
        new, labels = [], []
        for cls, n_new, idx in self._targets(y_np):
            nn_m = self._search(self.nn_m_, m_own, Xf[idx], Xf, idx).cpu().numpy()
            n_other, m = (y_np[nn_m] != cls).sum(1), nn_m.shape[1]
            danger = (n_other >= m / 2) & (n_other < m)
            if not danger.any():
                continue
            self.in_danger_indices[cls] = idx[danger]
            Xd = Xf[idx[danger]]
            ref, self_idx = (Xf[idx], np.flatnonzero(danger)) if within else (Xf, idx[danger])
            rows, nbrs, steps = _draw(self._search(self.nn_k_, k_own, Xd, ref, self_idx), n_new, self.random_state)
            diffs = ref[nbrs] - Xd[rows]
            if not within:
                # Same fresh stream as imbalanced-learn for the half-steps towards other classes.
                other = torch.from_numpy(np.flatnonzero(y_np[nbrs.cpu().numpy()] != cls)).to(Xf.device)
                shrink = check_random_state(self.random_state).uniform(0.0, 0.5, size=(len(other), 1))
                diffs[other] = (diffs[other] * torch.from_numpy(shrink).to(Xf.device)).to(diffs.dtype)
            new.append(_interpolate(Xd[rows], diffs, steps).to(Xf.dtype))
            labels.append(_full(y, n_new, cls))
        self.in_danger_indices_ = self.in_danger_indices
        return _back(X, torch.cat([Xf, *new])), _stack([y, *labels])


class ADASYN(_SMOTEFamily):
    r"""ADASYN, adaptive synthetic sampling (He, Bai, Garcia & Li, 2008).

    Like SMOTE, but the number of new samples made from each sample :math:`x_i`
    of the over-sampled class grows with the share :math:`r_i` of other classes
    among its ``n_neighbors`` nearest neighbours in the whole data set:
    :math:`g_i = \mathrm{rint}(G\, r_i / \sum_j r_j)`, so hard, border samples
    get more synthetic neighbours. Each new sample is :math:`x_i + u\,(x_{nn} - x_i)`
    with :math:`x_{nn}` one of the ``n_neighbors`` nearest samples of the same
    class. Because of the rounding, the number of new samples can differ slightly
    from ``sampling_strategy``. Random draws and output order are imbalanced-learn's.

    Args:
        sampling_strategy, random_state, n_jobs, max_block_bytes: as :class:`SMOTE`.
        n_neighbors: an int or a neighbour estimator (``n_neighbors`` counting the sample).

    Attributes:
        nn_: the neighbour estimator (as :attr:`SMOTE.nn_k_`).

    Raises ``RuntimeError`` when no sample of a class has a neighbour of another
    class (the weights would be 0/0), as imbalanced-learn does.
    """

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        n_neighbors: Any = 5,
        n_jobs: int | None = None,
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    ):
        super().__init__(sampling_strategy=sampling_strategy, random_state=random_state, n_jobs=n_jobs,
                         max_block_bytes=max_block_bytes)
        self.n_neighbors = n_neighbors

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        self.nn_, own = self._neighbour_param("n_neighbors", y_np)
        Xf = _dense_float(X)
        rng = check_random_state(self.random_state)  # one stream for all classes, as imbalanced-learn's ADASYN
        new, labels = [], []
        for cls, n_new, idx in self._targets(y_np):
            Xc = Xf[idx]
            ratio = (y_np[self._search(self.nn_, own, Xc, Xf, idx).cpu().numpy()] != cls).mean(1)
            if not ratio.sum():
                raise RuntimeError(
                    "Not any neigbours belong to the majority class. This case will induce a NaN case "
                    "with a division by zero. ADASYN is not suited for this specific dataset. Use SMOTE instead."
                )
            per_sample = np.rint(ratio / ratio.sum() * n_new).astype(int)
            total = int(per_sample.sum())
            if not total:
                raise ValueError("No samples will be generated with the provided ratio settings.")
            nn = self._search(self.nn_, own, Xc, Xc, np.arange(len(idx)))
            rows = torch.from_numpy(np.repeat(np.arange(len(idx)), per_sample)).to(Xf.device)
            cols = torch.from_numpy(rng.choice(nn.shape[1], size=total)).to(Xf.device)
            steps = torch.from_numpy(rng.uniform(size=(total, 1))).to(Xf.device)
            new.append(_interpolate(Xc[rows], Xc[nn[rows, cols]] - Xc[rows], steps).to(Xf.dtype))
            labels.append(_full(y, total, cls))
        return _back(X, torch.cat([Xf, *new])), _stack([y, *labels])
