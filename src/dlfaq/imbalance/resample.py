"""Resamplers with the imbalanced-learn contract: ``fit_resample(X, y) -> (X_res, y_res)``.

All of them accept NumPy arrays and torch tensors (CPU or CUDA); the output has
the input's type and device. They are scikit-learn estimators (``get_params``,
``set_params``, ``clone``) and work as steps of an ``imblearn.pipeline.Pipeline``,
which applies them to the training data only: resample *after* the split, never
before (otherwise copies or interpolations of training points leak into the
evaluation data).

Output order matches imbalanced-learn: over-samplers return the original
samples first, then the new ones class by class in sorted class order;
``RandomUnderSampler`` returns the kept samples class by class in sorted class
order. With the same integer ``random_state`` the random draws are those of
imbalanced-learn (same NumPy ``RandomState`` calls), so the random samplers
select the same indices and ``SMOTE`` makes the same samples whenever the
neighbour lists agree.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from dlfaq.imbalance.neighbors import DEFAULT_BLOCK_BYTES, cpu_workers, kneighbors_self, run_blocks
from dlfaq.imbalance.sampling import (
    SamplingKind,
    SamplingStrategy,
    _is_torch,
    _labels_numpy,
    check_random_state,
    check_X_y,
    class_indices,
    resolve_sampling_strategy,
    take_rows,
)

__all__ = ["ADASYN", "SMOTE", "BaseSampler", "BorderlineSMOTE", "RandomOverSampler", "RandomUnderSampler"]


class BaseSampler(BaseEstimator):
    """Shared ``fit`` / ``fit_resample`` logic; subclasses implement ``_fit_resample``."""

    _sampling_type: SamplingKind = "over-sampling"
    _numeric_only = False

    sampling_strategy: SamplingStrategy
    sampling_strategy_: OrderedDict[Any, int]

    def fit(self, X: Any, y: Any) -> BaseSampler:
        """Check the inputs and resolve ``sampling_strategy_``; returns ``self``."""
        X, y = check_X_y(X, y, numeric=self._numeric_only)
        self.sampling_strategy_ = resolve_sampling_strategy(
            self.sampling_strategy, y, self._sampling_type
        )
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Resample ``(X, y)``; see the class docstring for what comes back."""
        X, y = check_X_y(X, y, numeric=self._numeric_only)
        self.sampling_strategy_ = resolve_sampling_strategy(
            self.sampling_strategy, y, self._sampling_type
        )
        return self._fit_resample(X, y, _labels_numpy(y))

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        raise NotImplementedError


def _concat_labels(y: Any, parts: list[Any]) -> Any:
    if _is_torch(y):
        import torch

        return torch.cat([y, *parts]) if parts else y.clone()
    return np.concatenate([y, *parts]) if parts else y.copy()


def _take_labels(y: Any, idx: np.ndarray) -> Any:
    return take_rows(y, idx)


class RandomOverSampler(BaseSampler):
    """Duplicate randomly chosen samples of the targeted classes (bootstrap, with replacement).

    Args:
        sampling_strategy: which classes and how many samples; see
            :func:`dlfaq.imbalance.resolve_sampling_strategy` (default ``'auto'``:
            every class but the majority is brought to the majority count).
        random_state: ``None``, an int or a ``numpy.random.RandomState``.

    Attributes:
        sampling_strategy_: ``{class: n_new}`` after resolution.
        sample_indices_: indices into the input of every output row.

    Duplicates add no new information: a flexible model can memorise them,
    which is the over-fitting that SMOTE (Chawla et al., 2002) was designed to avoid.
    """

    _sampling_type: SamplingKind = "over-sampling"

    def __init__(self, *, sampling_strategy: SamplingStrategy = "auto", random_state: Any = None):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        rng = check_random_state(self.random_state)
        picks = []
        for cls, n_new in self.sampling_strategy_.items():
            picks.append(rng.choice(class_indices(y_np, cls), size=n_new, replace=True))
        extra = np.concatenate(picks).astype(np.int64) if picks else np.empty(0, np.int64)
        self.sample_indices_ = np.concatenate([np.arange(len(y_np)), extra])
        if _is_torch(X):
            import torch

            X_res = torch.cat([X, take_rows(X, extra)])
        else:
            X_res = np.concatenate([X, X[extra]])
        return X_res, _concat_labels(y, [_take_labels(y, extra)])


class RandomUnderSampler(BaseSampler):
    """Keep a random subset of the targeted classes.

    Args:
        sampling_strategy: default ``'auto'``: every class but the minority is cut
            to the minority count.
        random_state: ``None``, an int or a ``numpy.random.RandomState``.
        replacement: draw the kept samples with replacement.

    Attributes:
        sampling_strategy_: ``{class: n_kept}``.
        sample_indices_: indices into the input of the kept rows (output order).

    Under-sampling throws data away; it is cheap and often competitive when the
    majority class is redundant, and it is the building block of EasyEnsemble,
    which recovers the discarded data by training several models.
    """

    _sampling_type: SamplingKind = "under-sampling"

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        replacement: bool = False,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.replacement = replacement

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        rng = check_random_state(self.random_state)
        keep = []
        for cls in np.unique(y_np):
            where = class_indices(y_np, cls)
            key = cls.item() if isinstance(cls, np.generic) else cls
            if key in self.sampling_strategy_:
                sel = rng.choice(range(len(where)), size=self.sampling_strategy_[key], replace=self.replacement)
                keep.append(where[sel])
            else:
                keep.append(where)
        idx = np.concatenate(keep).astype(np.int64)
        self.sample_indices_ = idx
        return take_rows(X, idx), _take_labels(y, idx)


class SMOTE(BaseSampler):
    r"""Synthetic Minority Over-sampling TEchnique (Chawla et al., 2002).

    For every sample to create, pick a sample :math:`x_i` of the class uniformly
    at random, one of its ``k_neighbors`` nearest neighbours :math:`x_{nn}`
    *within the same class* uniformly at random, and a step
    :math:`u \sim U[0, 1)`:

    .. math::
        x_{new} = x_i + u \, (x_{nn} - x_i)

    so every synthetic point lies on the segment between two close members of
    the class. Classes are processed independently; only the class's own rows
    enter the neighbour search (as in imbalanced-learn).

    Args:
        sampling_strategy: which classes and how many samples (default ``'auto'``).
        random_state: ``None``, an int or a ``numpy.random.RandomState``. With an
            int, each class restarts the stream, as imbalanced-learn does.
        k_neighbors: neighbours per sample (an int; each over-sampled class needs
            at least ``k_neighbors + 1`` samples).
        max_block_bytes: memory bound of the neighbour search (see below).

    Memory: besides the input and the output (allocated once, the input copied
    into its head), SMOTE needs at most, for a class of ``m`` rows, ``D``
    features, ``n_new`` new rows and ``T = torch.get_num_threads()`` workers::

        24 m D          the class's rows (float64, centred float64, float32 and its transpose)
      + 104 m           neighbour candidates, refined lists, norms
      + 40 n_new        random draws (sample, step, row, neighbour) and the new labels
      + max_block_bytes one block of float32 distances (or of float64 re-ranking
                        buffers), split between the workers
      + 2 * 16384 D * 8 * T   generation buffers
      + ~32 MiB         torch runtime (thread pool, BLAS workspaces)
      + 5 % of output   allocator slack: freed buffers that the C allocator keeps
                        mapped in per-thread arenas (an allowance from measurements,
                        not a derived quantity)

    independent of ``m**2``: the distance matrix is never materialised
    (default ``max_block_bytes`` is 16 MiB). ``benchmarks/bench_smote.py --large``
    checks this bound on 2,000,000 rows. The exact neighbour search is
    :func:`dlfaq.imbalance.neighbors.kneighbors_self`.

    Integer X gives a float64 output (imbalanced-learn truncates the synthetic
    samples back to integers instead). Duplicated rows are neighbours of each
    other at distance 0; a row is never its own neighbour.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N,)`
        - output: :math:`(N + N_{new}, D)` and :math:`(N + N_{new},)`
    """

    _sampling_type: SamplingKind = "over-sampling"
    _numeric_only = True
    _chunk = 16384

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        k_neighbors: int = 5,
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.max_block_bytes = max_block_bytes

    def _check_params(self, y_np: np.ndarray) -> int:
        k = self.k_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k_neighbors must be an int >= 1, got {k!r}")
        if int(self.max_block_bytes) < 1:
            raise ValueError(f"max_block_bytes must be positive, got {self.max_block_bytes!r}")
        for cls, n_new in self.sampling_strategy_.items():
            n = int((y_np == cls).sum())
            if n_new > 0 and n < k + 1:
                raise ValueError(
                    f"SMOTE with k_neighbors={k} needs at least {k + 1} samples in every class it "
                    f"over-samples; class {cls!r} has {n}. Lower k_neighbors or use "
                    "RandomOverSampler for that class."
                )
        return int(k)

    def _generate(self, Xt: Any, y: Any, y_np: np.ndarray, out_t: Any, k: int, workers: int) -> None:
        import torch

        n = Xt.shape[0]
        # Row slices of the output: a contiguous copy in a few parallel pieces.
        piece = max(1, -(-n // workers))
        run_blocks(lambda s: out_t[s : min(n, s + piece)].copy_(Xt[s : s + piece]), range(0, n, piece), workers)
        # imbalanced-learn multiplies in float64 (its steps are float64) and casts back.
        work = torch.float64
        pos = n
        for cls, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            idx = class_indices(y_np, cls)
            Xc = take_rows(Xt, idx).to(work)
            nn = kneighbors_self(Xc, k, max_block_bytes=int(self.max_block_bytes))
            # The random stream is imbalanced-learn's: a fresh RandomState per class for an int seed.
            rng = check_random_state(self.random_state)
            flat = rng.randint(low=0, high=nn.numel(), size=n_new)
            steps = rng.uniform(size=n_new)
            flat_t = torch.from_numpy(flat).to(Xc.device)
            steps_t = torch.from_numpy(steps).to(device=Xc.device, dtype=work)
            rows_all = torch.div(flat_t, k, rounding_mode="floor")
            nbrs_all = nn.view(-1)[flat_t]
            del flat, flat_t, nn
            chunk = self._chunk if workers <= 1 else max(4096, -(-n_new // workers))
            chunk = min(chunk, self._chunk)

            def gen(s: int, Xc: Any = Xc, rows_all: Any = rows_all, nbrs_all: Any = nbrs_all,
                    steps_t: Any = steps_t, pos: int = pos, chunk: int = chunk) -> None:
                rows = rows_all[s : s + chunk]
                dst = out_t[pos + s : pos + s + rows.shape[0]]
                a = Xc.index_select(0, rows)
                if dst.dtype == work:  # write straight into the output, no second buffer
                    torch.index_select(Xc, 0, nbrs_all[s : s + chunk], out=dst)
                    dst.sub_(a).mul_(steps_t[s : s + chunk, None]).add_(a)
                else:
                    b = Xc.index_select(0, nbrs_all[s : s + chunk])
                    dst.copy_(b.sub_(a).mul_(steps_t[s : s + chunk, None]).add_(a))

            run_blocks(gen, range(0, n_new, chunk), workers)
            pos += n_new

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        import torch

        k = self._check_params(y_np)
        total = int(sum(self.sampling_strategy_.values()))
        n, d = X.shape
        if _is_torch(X):
            Xt = X
            out_dtype = X.dtype if X.is_floating_point() else torch.float64
            out_t = torch.empty(n + total, d, dtype=out_dtype, device=X.device)
            out: Any = out_t
        else:
            Xt = torch.from_numpy(np.ascontiguousarray(X))
            out_np_dtype = X.dtype if X.dtype.kind == "f" else np.float64
            out = np.empty((n + total, d), dtype=out_np_dtype)
            out_t = torch.from_numpy(out)
        device = out_t.device
        # Resampling is data preparation: never part of an autograd graph.
        with torch.no_grad(), cpu_workers(device) as workers:
            self._generate(Xt, y, y_np, out_t, k, workers)
        labels = []
        for cls, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            if _is_torch(y):
                labels.append(torch.full((n_new,), cls, dtype=y.dtype, device=y.device))
            else:
                labels.append(np.full(n_new, cls, dtype=y.dtype))
        return out, _concat_labels(y, labels)


class BorderlineSMOTE(SMOTE):
    r"""Borderline-SMOTE (Han, Wang & Mao, 2005): SMOTE from the samples on the class border only.

    A sample of the over-sampled class is *in danger* when, among its
    ``m_neighbors`` nearest neighbours in the whole data set, at least half
    but not all belong to other classes (all of them: noise, skipped; fewer
    than half: safe, skipped). New samples are made from the danger samples
    only:

    * ``kind='borderline-1'``: :math:`x_{new} = x_i + u\,(x_{nn} - x_i)` with
      :math:`x_{nn}` among the ``k_neighbors`` nearest samples of the same class;
    * ``kind='borderline-2'``: :math:`x_{nn}` among the ``k_neighbors`` nearest
      samples of any class; towards a sample of another class the step is
      further multiplied by :math:`U[0, 0.5)`, so the new point stays on the
      class's side.

    A class without danger samples gets no new samples (as in imbalanced-learn),
    so the output can have fewer rows than ``sampling_strategy`` asks for.
    Random draws and output order are imbalanced-learn's.

    Args:
        sampling_strategy, random_state, k_neighbors, max_block_bytes: as :class:`SMOTE`.
        m_neighbors: neighbours that decide whether a sample is in danger.
        kind: ``'borderline-1'`` or ``'borderline-2'``.

    Attributes:
        in_danger_indices_: ``{class: indices of its danger samples}``.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N,)`
        - output: :math:`(N + N_{new}, D)` and :math:`(N + N_{new},)`
    """

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        k_neighbors: int = 5,
        m_neighbors: int = 10,
        kind: str = "borderline-1",
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    ):
        super().__init__(
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            k_neighbors=k_neighbors,
            max_block_bytes=max_block_bytes,
        )
        self.m_neighbors = m_neighbors
        self.kind = kind

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        import torch

        from dlfaq.imbalance.neighbors import kneighbors

        if self.kind not in ("borderline-1", "borderline-2"):
            raise ValueError(f"kind must be 'borderline-1' or 'borderline-2', got {self.kind!r}")
        m = self.m_neighbors
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1 or m >= len(y_np):
            raise ValueError(f"m_neighbors must be an int in [1, n_samples - 1], got {m!r}")
        k = self._check_params(y_np) if self.kind == "borderline-1" else int(self.k_neighbors)
        Xt = X if _is_torch(X) else torch.from_numpy(np.ascontiguousarray(X))
        work = torch.float64
        budget = int(self.max_block_bytes)
        self.in_danger_indices_: dict[Any, np.ndarray] = {}
        new_X, new_y = [], []
        with torch.no_grad():
            X64 = Xt.to(work)
            for cls, n_new in self.sampling_strategy_.items():
                if n_new == 0:
                    continue
                idx = class_indices(y_np, cls)
                nn_m = kneighbors(X64[idx], X64, int(m), self_index=idx, max_block_bytes=budget)
                n_other = (y_np[np.asarray(nn_m.cpu())] != cls).sum(1)
                danger = (n_other >= m / 2) & (n_other < m)
                if not danger.any():
                    continue
                self.in_danger_indices_[cls] = idx[danger]
                Xd = X64[idx[danger]]
                if self.kind == "borderline-1":
                    ref, ref_y, self_idx = X64[idx], None, np.flatnonzero(danger)
                else:
                    ref, ref_y, self_idx = X64, y_np, idx[danger]
                nn = kneighbors(Xd, ref, k, self_index=self_idx, max_block_bytes=budget)
                rng = check_random_state(self.random_state)
                flat = torch.from_numpy(rng.randint(low=0, high=nn.numel(), size=n_new)).to(Xd.device)
                steps = torch.from_numpy(rng.uniform(size=n_new)).to(Xd.device, work)[:, None]
                rows = torch.div(flat, k, rounding_mode="floor")
                nbrs = nn.reshape(-1)[flat]
                base = Xd.index_select(0, rows)
                diffs = ref.index_select(0, nbrs) - base
                if ref_y is not None:
                    # Same fresh stream as imbalanced-learn for the half-steps towards other classes.
                    other = ref_y[nbrs.cpu().numpy()] != cls
                    shrink = check_random_state(self.random_state).uniform(0.0, 0.5, size=(int(other.sum()), 1))
                    o = torch.from_numpy(np.flatnonzero(other)).to(Xd.device)
                    diffs[o] = diffs[o] * torch.from_numpy(shrink).to(Xd.device, work)
                new_X.append(base + steps * diffs)
                new_y.append(n_new)
        out_dtype = Xt.dtype if Xt.is_floating_point() else torch.float64
        X_res_t = torch.cat([Xt.to(out_dtype), *[a.to(out_dtype) for a in new_X]])
        classes = [c for c in self.sampling_strategy_ if c in self.in_danger_indices_]
        if _is_torch(y):
            labels = [torch.full((n,), c, dtype=y.dtype, device=y.device) for c, n in zip(classes, new_y, strict=True)]
        else:
            labels = [np.full(n, c, dtype=y.dtype) for c, n in zip(classes, new_y, strict=True)]
        X_res: Any = X_res_t if _is_torch(X) else X_res_t.numpy()
        return X_res, _concat_labels(y, labels)


class ADASYN(BaseSampler):
    r"""ADASYN, adaptive synthetic sampling (He, Bai, Garcia & Li, 2008).

    Like SMOTE, but the number of new samples made from each sample :math:`x_i`
    of the over-sampled class grows with the share :math:`r_i` of other classes
    among its ``n_neighbors`` nearest neighbours in the whole data set:
    :math:`g_i = \mathrm{rint}(G\, r_i / \sum_j r_j)`, so hard, border samples
    get more synthetic neighbours. Each new sample is
    :math:`x_i + u\,(x_{nn} - x_i)` with :math:`x_{nn}` one of the
    ``n_neighbors`` nearest samples of the same class. Because of the rounding,
    the number of new samples can differ slightly from ``sampling_strategy``.
    Random draws and output order are imbalanced-learn's.

    Raises ``RuntimeError`` when no sample of a class has a neighbour of
    another class (the weights would be 0/0), as imbalanced-learn does.

    Shape:
        - X: :math:`(N, D)`, y: :math:`(N,)`
        - output: :math:`(N + N_{new}, D)` and :math:`(N + N_{new},)`
    """

    _sampling_type: SamplingKind = "over-sampling"
    _numeric_only = True

    def __init__(
        self,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        random_state: Any = None,
        n_neighbors: int = 5,
        max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.max_block_bytes = max_block_bytes

    def _fit_resample(self, X: Any, y: Any, y_np: np.ndarray) -> tuple[Any, Any]:
        import torch

        from dlfaq.imbalance.neighbors import kneighbors

        k = self.n_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_neighbors must be an int >= 1, got {k!r}")
        k = int(k)
        for cls, n_new in self.sampling_strategy_.items():
            n = int((y_np == cls).sum())
            if n_new > 0 and n < k + 1:
                raise ValueError(
                    f"ADASYN with n_neighbors={k} needs at least {k + 1} samples in every class it "
                    f"over-samples; class {cls!r} has {n}."
                )
        Xt = X if _is_torch(X) else torch.from_numpy(np.ascontiguousarray(X))
        budget = int(self.max_block_bytes)
        rng = check_random_state(self.random_state)
        new_X, labels = [], []
        with torch.no_grad():
            X64 = Xt.to(torch.float64)
            for cls, n_new in self.sampling_strategy_.items():
                if n_new == 0:
                    continue
                idx = class_indices(y_np, cls)
                nn_all = np.asarray(kneighbors(X64[idx], X64, k, self_index=idx, max_block_bytes=budget).cpu())
                ratio = (y_np[nn_all] != cls).sum(1) / k
                if not ratio.sum():
                    raise RuntimeError(
                        f"No sample of class {cls!r} has a neighbour of another class, so ADASYN's "
                        "weights are undefined (0/0). Use SMOTE instead."
                    )
                ratio = ratio / ratio.sum()
                per_sample = np.rint(ratio * n_new).astype(int)
                total = int(per_sample.sum())
                if not total:
                    raise ValueError("No samples will be generated with the provided ratio settings.")
                Xc = X64[idx]
                nn = kneighbors(Xc, Xc, k, self_index=np.arange(len(idx)), max_block_bytes=budget)
                rows = np.repeat(np.arange(len(idx)), per_sample)
                cols = rng.choice(k, size=total)
                steps = torch.from_numpy(rng.uniform(size=(total, 1))).to(Xc.device)
                rows_t = torch.from_numpy(rows).to(Xc.device)
                nbrs = nn[rows_t, torch.from_numpy(cols).to(Xc.device)]
                base = Xc.index_select(0, rows_t)
                new_X.append(base + steps * (Xc.index_select(0, nbrs) - base))
                if _is_torch(y):
                    labels.append(torch.full((total,), cls, dtype=y.dtype, device=y.device))
                else:
                    labels.append(np.full(total, cls, dtype=y.dtype))
        out_dtype = Xt.dtype if Xt.is_floating_point() else torch.float64
        X_res_t = torch.cat([Xt.to(out_dtype), *[a.to(out_dtype) for a in new_X]])
        X_res: Any = X_res_t if _is_torch(X) else X_res_t.numpy()
        return X_res, _concat_labels(y, labels)
