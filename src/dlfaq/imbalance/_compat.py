"""The imbalanced-learn contract around a sampler: targets, containers, tags, neighbour objects.

What a caller of imbalanced-learn relies on besides the numbers, written down here
once for every dlfaq sampler:

* targets: binary, multiclass, or one-hot (one-vs-all) encoded multiclass
  (given back one-hot); continuous targets are refused with scikit-learn's
  ``Unknown label type`` message, multilabel ones with imbalanced-learn's;
* containers: a list comes back as a list, a pandas ``DataFrame``/``Series``
  as one with the same columns, name and dtypes (``set_output(transform='pandas')``
  asks for a DataFrame whatever came in), a sparse matrix as a sparse matrix;
* tags: ``__sklearn_tags__`` as imbalanced-learn declares them (its ``Tags``
  with ``sampler_tags`` when imbalanced-learn is installed, scikit-learn's
  otherwise), so both libraries' estimator checks treat the class as a sampler;
* neighbour arguments: an int ``k`` or an object with ``fit``/``kneighbors``
  (e.g. ``sklearn.neighbors.NearestNeighbors``), whose ``n_neighbors`` counts
  the sample itself, as in imbalanced-learn.

No import of imbalanced-learn is needed: it is only used, when present, for its
tag classes. scikit-learn's pieces are imported with the module, not at the first
call, so that the first ``fit_resample`` does not pay (in time and resident memory) for
loading ``sklearn.neighbors``.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import InputTags as SklearnInputTags
from sklearn.utils import Tags, TargetTags, column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target

__all__ = ["Containers", "check_neighbors", "check_target", "sampler_tags"]


def check_target(y: Any) -> tuple[np.ndarray, bool]:
    """(1-D labels, was_one_hot): imbalanced-learn's accepted target kinds and messages."""
    check_classification_targets(y)  # "Unknown label type: continuous ..." for regression targets
    kind = type_of_target(y)
    if kind == "multilabel-indicator":
        y = np.asarray(y)
        if np.any(y.sum(axis=1) > 1):
            raise ValueError(
                "Imbalanced-learn currently supports binary, multiclass and binarized encoded "
                "multiclasss targets. Multilabel and multioutput targets are not supported."
            )
        return y.argmax(axis=1), True
    return column_or_1d(y), False


class Containers:
    """Remember what X and y came as, and give the resampled arrays back in the same form."""

    def __init__(self, X: Any, y: Any, output: str | None = None):
        self.x = self._props(X)
        self.y = self._props(y)
        self.output = output

    @staticmethod
    def _props(a: Any) -> dict[str, Any]:
        return {
            "type": type(a).__name__.lower(),
            "columns": getattr(a, "columns", None),
            "name": getattr(a, "name", None),
            "dtypes": getattr(a, "dtypes", None),
        }

    def restore(self, X: Any, y: Any, feature_names: Any = None) -> tuple[Any, Any]:
        want_pandas = self.output == "pandas"
        X = self._one(X, self.x, pandas=want_pandas, names=feature_names)
        y = self._one(y, self.y)
        if hasattr(X, "iloc") and hasattr(y, "iloc"):
            y.index = X.index  # rows were regenerated: align y on X's fresh index
        return X, y

    @staticmethod
    def _one(a: Any, props: dict[str, Any], *, pandas: bool = False, names: Any = None) -> Any:
        kind = props["type"]
        if hasattr(a, "columns") or hasattr(a, "name") and hasattr(a, "index"):
            return a  # already a pandas object (the random samplers index frames directly)
        if kind == "list":
            return a.tolist()
        if kind == "dataframe" or pandas:
            import pandas as pd  # an optional dependency: only for pandas input

            cols = props["columns"] if kind == "dataframe" else names
            if sparse.issparse(a):
                out = pd.DataFrame.sparse.from_spmatrix(a, columns=cols)
            else:
                out = pd.DataFrame(a, columns=cols)
            if props["dtypes"] is not None:
                try:
                    out = out.astype(props["dtypes"])
                except (TypeError, ValueError):
                    pass  # e.g. an all-NaT column stacked as float: keep what stacking gave
            return out
        if kind == "series":
            import pandas as pd  # an optional dependency: only for pandas input

            return pd.Series(a, name=props["name"], dtype=props["dtypes"])
        return a


def check_neighbors(name: str, value: Any, extra: int = 1) -> Any:
    """An int ``k`` -> ``NearestNeighbors(n_neighbors=k + extra)``; an object -> its clone.

    The object must have ``kneighbors`` and ``fit``; its ``n_neighbors`` includes the
    query sample itself (imbalanced-learn's convention).
    """
    if isinstance(value, Integral) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"The '{name}' parameter must be an int in the range [1, inf) "
                             f"or an object with kneighbors; got {value!r}")
        return NearestNeighbors(n_neighbors=int(value) + extra)
    if hasattr(value, "kneighbors") and hasattr(value, "fit"):
        return clone(value)
    raise ValueError(
        f"The '{name}' parameter must be an int in the range [1, inf) or an object "
        f"implementing 'kneighbors' and 'fit' (e.g. NearestNeighbors); got {value!r} instead."
    )


def sampler_tags(est: Any, *, allow_nan: bool = False, string: bool = False, sample_indices: bool = False) -> Any:
    """Tags of a sampler, in imbalanced-learn's classes when it is installed."""
    try:  # imbalanced-learn is optional
        from imblearn.utils._tags import InputTags, SamplerTags
        from imblearn.utils._tags import Tags as ImbTags
    except ImportError:  # scikit-learn's own tags only
        InputTags = SklearnInputTags
        tags = Tags(estimator_type="sampler", target_tags=TargetTags(required=True))
    else:
        tags = ImbTags(
            estimator_type="sampler", target_tags=TargetTags(required=True), transformer_tags=None,
            regressor_tags=None, classifier_tags=None, sampler_tags=SamplerTags(sample_indices=sample_indices),
        )
    tags.input_tags = InputTags(two_d_array=True, sparse=True, allow_nan=allow_nan, string=string)
    if hasattr(tags.input_tags, "dataframe"):  # imblearn's InputTags has the field; scikit-learn's has not
        tags.input_tags.dataframe = True
    return tags
