"""What every resampler shares: input checks, ``sampling_strategy`` resolution, array plumbing.

The resolution rules follow imbalanced-learn's ``check_sampling_strategy`` (same
targets, same error messages for impossible requests), so that a model selected
with imbalanced-learn keeps its meaning here:

* ``'auto'``: ``'not majority'`` for over-samplers, ``'not minority'`` for under-samplers;
* ``'minority'``, ``'majority'``, ``'not minority'``, ``'not majority'``, ``'all'``:
  which classes are resampled; over-samplers bring them to the majority count,
  under-samplers down to the minority count;
* a float ``r`` in (0, 1] (binary targets only): over-sampling asks for
  ``N_minority_after = r * N_majority``, under-sampling for
  ``N_majority_after = N_minority / r``;
* a dict ``{class: wanted_count}``, or a callable ``f(y) -> dict``.

The resolved value, ``sampling_strategy_``, maps each targeted class (sorted) to
the number of samples to *add* (over-sampling) or to *keep* (under-sampling).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np

__all__ = ["SamplingStrategy", "check_X_y", "class_counts", "resolve_sampling_strategy"]

SamplingKind = Literal["over-sampling", "under-sampling"]
SamplingStrategy = float | str | Mapping[Any, int] | Callable[..., Mapping[Any, int]]

_STRING_TARGETS = ("minority", "majority", "not minority", "not majority", "all", "auto")


def class_counts(y: Any) -> dict[Any, int]:
    """Number of samples per class, classes in sorted order (NumPy or torch labels)."""
    labels = _labels_numpy(y)
    unique, counts = np.unique(labels, return_counts=True)
    return {_py(k): int(v) for k, v in zip(unique, counts, strict=True)}


def _py(v: Any) -> Any:
    """NumPy scalar -> Python scalar, so dict keys compare and print naturally."""
    return v.item() if isinstance(v, np.generic) else v


def _majority(stats: dict[Any, int]) -> Any:
    return max(stats, key=stats.__getitem__)


def _minority(stats: dict[Any, int]) -> Any:
    return min(stats, key=stats.__getitem__)


def _from_string(name: str, stats: dict[Any, int], kind: SamplingKind) -> dict[Any, int]:
    if name == "auto":
        name = "not majority" if kind == "over-sampling" else "not minority"
    n_max, n_min = max(stats.values()), min(stats.values())
    if name == "majority" and kind == "over-sampling":
        raise ValueError("'sampling_strategy'='majority' cannot be used with over-sampler.")
    if name == "minority" and kind == "under-sampling":
        raise ValueError(
            "'sampling_strategy'='minority' cannot be used with under-sampler and clean-sampler."
        )
    if name == "all":
        targets = list(stats)
    elif name == "majority":
        targets = [_majority(stats)]
    elif name == "minority":
        targets = [_minority(stats)]
    elif name == "not majority":
        targets = [c for c in stats if c != _majority(stats)]
    else:  # "not minority"
        targets = [c for c in stats if c != _minority(stats)]
    if kind == "over-sampling":
        return {c: n_max - stats[c] for c in targets}
    return {c: n_min for c in targets}


def _from_dict(wanted: Mapping[Any, int], stats: dict[Any, int], kind: SamplingKind) -> dict[Any, int]:
    wanted = {_py(k): v for k, v in wanted.items()}
    unknown = set(wanted) - set(stats)
    if unknown:
        raise ValueError(f"The {unknown} target class is/are not present in the data.")
    if any(n < 0 for n in wanted.values()):
        raise ValueError(
            "The number of samples in a class cannot be negative."
            f"'sampling_strategy' contains some negative value: {dict(wanted)}"
        )
    out = {}
    for c, n in wanted.items():
        if kind == "over-sampling":
            if n < stats[c]:
                raise ValueError(
                    "With over-sampling methods, the number of samples in a class should be "
                    f"greater or equal to the original number of samples. Originally, there is "
                    f"{stats[c]} samples and {n} samples are asked."
                )
            out[c] = int(n) - stats[c]
        else:
            if n > stats[c]:
                raise ValueError(
                    "With under-sampling methods, the number of samples in a class should be "
                    f"less or equal to the original number of samples. Originally, there is "
                    f"{stats[c]} samples and {n} samples are asked."
                )
            out[c] = int(n)
    return out


def _from_float(ratio: float, stats: dict[Any, int], kind: SamplingKind) -> dict[Any, int]:
    if len(stats) != 2:
        raise ValueError(
            '"sampling_strategy" can be a float only when the type of target is binary. '
            "For multi-class, use a dict."
        )
    if ratio <= 0 or ratio > 1:
        raise ValueError(
            f"When 'sampling_strategy' is a float, it should be in the range (0, 1]. "
            f"Got {ratio} instead."
        )
    if kind == "over-sampling":
        n_max, c_max = max(stats.values()), _majority(stats)
        out = {c: int(n_max * ratio - n) for c, n in stats.items() if c != c_max}
        if any(n <= 0 for n in out.values()):
            raise ValueError(
                "The specified ratio required to remove samples from the minority class while "
                "trying to generate new samples. Please increase the ratio."
            )
        return out
    n_min, c_min = min(stats.values()), _minority(stats)
    out = {c: int(n_min / ratio) for c in stats if c != c_min}
    if any(n > stats[c] for c, n in out.items()):
        raise ValueError(
            "The specified ratio required to generate new sample in the majority class while "
            "trying to remove samples. Please increase the ratio."
        )
    return out


def resolve_sampling_strategy(
    sampling_strategy: SamplingStrategy, y: Any, kind: SamplingKind, **kwargs: Any
) -> OrderedDict[Any, int]:
    """Turn ``sampling_strategy`` into ``{class: n}`` (sorted by class).

    For ``kind='over-sampling'`` ``n`` is the number of samples to generate; for
    ``'under-sampling'`` it is the number of samples to keep. ``kwargs`` are passed
    to a callable strategy. Raises ``ValueError`` for a single-class target or an
    impossible request, with imbalanced-learn's messages.
    """
    if kind not in ("over-sampling", "under-sampling"):
        raise ValueError(f"kind must be 'over-sampling' or 'under-sampling', got {kind!r}")
    stats = class_counts(y)
    if len(stats) <= 1:
        raise ValueError(
            f"The target 'y' needs to have more than 1 class. Got {len(stats)} class instead"
        )
    if isinstance(sampling_strategy, str):
        if sampling_strategy not in _STRING_TARGETS:
            raise ValueError(
                "When 'sampling_strategy' is a string, it needs to be one of "
                f"{_STRING_TARGETS}. Got '{sampling_strategy}' instead."
            )
        out = _from_string(sampling_strategy, stats, kind)
    elif isinstance(sampling_strategy, Mapping):
        out = _from_dict(sampling_strategy, stats, kind)
    elif isinstance(sampling_strategy, Real) and not isinstance(sampling_strategy, bool):
        out = _from_float(float(sampling_strategy), stats, kind)
    elif callable(sampling_strategy):
        out = _from_dict(sampling_strategy(_labels_numpy(y), **kwargs), stats, kind)
    else:
        raise ValueError(
            "sampling_strategy must be a float, a string, a dict or a callable; "
            f"got {type(sampling_strategy).__name__}"
        )
    return OrderedDict(sorted(out.items()))


# --------------------------------------------------------------------------- arrays


def _is_torch(a: Any) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "detach")


def _labels_numpy(y: Any) -> np.ndarray:
    if _is_torch(y):
        return y.detach().cpu().numpy()
    return np.asarray(y)


def _all_finite(X: Any, rows: int = 65536) -> bool:
    """NaN/inf check in row chunks: a full boolean mask would cost N*D bytes at millions of rows."""
    for s in range(0, X.shape[0], rows):
        part = X[s : s + rows]
        if _is_torch(part):
            if not bool(part.isfinite().all()):
                return False
        elif not np.isfinite(part).all():
            return False
    return True


def check_X_y(X: Any, y: Any, *, numeric: bool = True, allow_nan: bool = False) -> tuple[Any, Any]:
    """Validate a feature matrix and a label vector for resampling.

    NumPy arrays (anything ``np.asarray`` accepts) and torch tensors are allowed;
    torch inputs are returned as they are (same device). Raises ``ValueError`` when
    X is not 2-D, y is not 1-D, their lengths differ, X is empty, a floating X
    holds NaN or inf (unless ``allow_nan``), or (with ``numeric=True``) X is not numeric.
    """
    if _is_torch(X):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}")
        if numeric and X.dtype.is_complex:
            raise ValueError("X must be real-valued")
        if X.is_floating_point() and not allow_nan and not _all_finite(X):
            raise ValueError("X contains NaN or inf; impute or drop those rows before resampling")
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if numeric and X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        if X.dtype.kind == "f" and not allow_nan and not _all_finite(X):
            raise ValueError("X contains NaN or inf; impute or drop those rows before resampling")
    if _is_torch(y):
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {tuple(y.shape)}")
    else:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y have different lengths: {X.shape[0]} samples in X, {y.shape[0]} in y"
        )
    if X.shape[0] == 0:
        raise ValueError("X and y are empty")
    return X, y


def check_random_state(seed: Any) -> np.random.RandomState:
    """``None`` -> NumPy's global RandomState, int -> a new one, RandomState -> itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {seed!r}")


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """``X[idx]`` for NumPy, sparse, pandas (by position) or torch (indices moved to X's device)."""
    if _is_torch(X):
        import torch

        return X.index_select(0, torch.as_tensor(idx, dtype=torch.long, device=X.device))
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return X[idx]


def _stack(parts: list[Any]) -> Any:
    first = parts[0]
    if _is_torch(first):
        import torch

        return torch.cat(parts)
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    from scipy import sparse

    if sparse.issparse(first):
        return sparse.vstack([sparse.csr_matrix(p) if not sparse.issparse(p) else p for p in parts], format=first.format)
    return np.concatenate(parts) if first.ndim == 1 else np.vstack(parts)


def _full(y: Any, n: int, cls: Any) -> Any:
    if _is_torch(y):
        import torch

        return torch.full((n,), cls, dtype=y.dtype, device=y.device)
    return np.full(n, cls, dtype=y.dtype)


def _dense_float(X: Any) -> Any:
    """The float rows that the SMOTE family interpolates (torch tensor, float64 for integer X)."""
    import torch
    from scipy import sparse

    if sparse.issparse(X):
        X = X.toarray()
    Xt = X if _is_torch(X) else torch.from_numpy(np.ascontiguousarray(X))
    return Xt if Xt.is_floating_point() else Xt.to(torch.float64)


def _back(X_in: Any, Xt: Any) -> Any:
    """A result tensor in the input's kind: tensor, NumPy array, or sparse matrix."""
    from scipy import sparse

    if _is_torch(X_in):
        return Xt
    arr = Xt.cpu().numpy()
    return sparse.csr_matrix(arr) if sparse.issparse(X_in) else arr
