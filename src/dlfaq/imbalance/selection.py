"""Feature selection for imbalanced data: a thin helper around scikit-learn's selectors.

Why selection can help: with few minority samples, every noisy feature adds
variance to the minority class's decision region (the classifier has more
ways to fit the handful of positives by chance), and distance-based methods
such as SMOTE and k-NN see the signal drowned in irrelevant dimensions. Keeping
the features that separate the classes reduces that variance (Wasikowski &
Chen, 2010, "Combating the small sample class imbalance problem using feature
selection").

Why it often does not: selection does not change the class prior, so a model
that is biased towards the majority stays biased; the scores are themselves
estimated from the few minority samples and can be wrong; and with informative,
low-dimensional features there is nothing to remove. Selection is a
complement to resampling or reweighting, not a substitute. Fit it on the
training split only (inside a ``Pipeline``), like any resampler.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from sklearn.feature_selection import SelectFromModel, SelectKBest, chi2, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

__all__ = ["make_selector"]


def make_selector(
    method: Literal["mutual_info", "chi2", "l1"] = "mutual_info",
    k: int = 10,
    *,
    C: float = 0.1,
    class_weight: Any = "balanced",
    random_state: int | None = None,
) -> Any:
    """A scikit-learn transformer that keeps ``k`` features, fitted on ``(X, y)``.

    Args:
        method: ``'mutual_info'`` (``SelectKBest(mutual_info_classif)``),
            ``'chi2'`` (features min-max scaled to be non-negative, then
            ``SelectKBest(chi2)``), or ``'l1'`` (``SelectFromModel`` of an
            L1-penalised logistic regression, keeping at most ``k`` features).
        k: number of features to keep.
        C: inverse regularisation strength of the L1 model.
        class_weight: class weights of the L1 model; ``'balanced'`` by default so
            that the minority class has a say in which coefficients survive.
        random_state: seed of the mutual-information estimator / L1 solver.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if method == "mutual_info":
        return SelectKBest(partial(mutual_info_classif, random_state=random_state), k=k)
    if method == "chi2":
        # chi2 needs non-negative features; MinMaxScaler keeps the selected columns' order.
        return make_pipeline(MinMaxScaler(), SelectKBest(chi2, k=k))
    if method == "l1":
        model = LogisticRegression(
            l1_ratio=1.0, solver="saga", C=C, class_weight=class_weight, max_iter=2000,
            random_state=random_state,
        )
        return SelectFromModel(model, max_features=k, threshold=-float("inf"))
    raise ValueError(f"method must be 'mutual_info', 'chi2' or 'l1', got {method!r}")
