"""Ensembles of models trained on balanced subsets: EasyEnsemble and balanced bagging.

Under-sampling a majority class discards data; an ensemble gets it back by
training several members, each on a different balanced draw, and averaging
their probabilities. EasyEnsemble (Liu, Wu & Zhou, 2009, "Exploratory
Undersampling for Class-Imbalance Learning") draws independent random
under-samples and boosts a learner (AdaBoost) on each; balanced bagging
(Hido, Kashima & Takahashi, 2009, "Roughly balanced bagging") bags any
estimator on balanced resamples of bootstrap draws.

Both are scikit-learn's :class:`~sklearn.ensemble.BaggingClassifier` whose
member is a :class:`dlfaq.imbalance.pipeline.Pipeline` ``[("sampler", ...),
("classifier", ...)]``, as in imbalanced-learn: the row and feature draws,
``warm_start``, ``oob_score``, ``n_jobs`` and ``estimators_samples_`` are
scikit-learn's, and each member resamples its own draw before fitting.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.ensemble._bagging import BaseBagging
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from dlfaq.imbalance._compat import check_target
from dlfaq.imbalance.pipeline import Pipeline
from dlfaq.imbalance.resample import RandomUnderSampler
from dlfaq.imbalance.sampling import SamplingStrategy

__all__ = ["BalancedBaggingClassifier", "EasyEnsembleClassifier"]

_STRATEGY = [
    Interval(numbers.Real, 0, 1, closed="right"),
    StrOptions({"auto", "majority", "not minority", "not majority", "all"}),
    dict,
    callable,
]


# EasyEnsemble is balanced bagging with these bagging parameters fixed: every member sees all rows and features.
_EASY_FIXED: dict[str, Any] = {"max_samples": 1.0, "max_features": 1.0, "bootstrap": False,
                               "bootstrap_features": False, "oob_score": False}


class _BalancedBagging(BaggingClassifier):  # type: ignore[misc]  # scikit-learn has no type information: its classes are Any to mypy
    """Shared machinery: the sampler's parameters, the member pipeline, the strategy on encoded labels, the target check.

    ``_default_estimator`` is the member model when ``estimator`` is ``None``.
    """

    _default_estimator: type

    def __init__(self, *, sampling_strategy: SamplingStrategy, replacement: bool, **bagging: Any) -> None:
        super().__init__(**bagging)
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement

    def _make_sampler(self) -> Any:
        sampler = getattr(self, "sampler", None)  # only BalancedBaggingClassifier takes one
        return RandomUnderSampler(replacement=self.replacement) if sampler is None else clone(sampler)

    def _get_estimator(self) -> Any:
        return self._default_estimator() if self.estimator is None else self.estimator

    def _validate_y(self, y: Any) -> Any:
        encoded = super()._validate_y(y)  # sets classes_; members see labels 0..K-1
        kind = getattr(self.sampler_, "_sampling_type", None)
        self._sampling_strategy: SamplingStrategy
        if isinstance(self.sampling_strategy, dict) and kind != "bypass":
            self._sampling_strategy = {int(np.flatnonzero(self.classes_ == k)[0]): v
                                       for k, v in self.sampling_strategy.items()}
        else:
            self._sampling_strategy = self.sampling_strategy
        return encoded

    def _validate_estimator(self, default: Any = None) -> None:
        model = clone(self.estimator if self.estimator is not None else default)
        if getattr(self.sampler_, "_sampling_type", None) != "bypass":
            self.sampler_.set_params(sampling_strategy=self._sampling_strategy)
        self.estimator_ = Pipeline([("sampler", self.sampler_), ("classifier", model)])

    def _fit(self, X: Any, y: Any, max_samples: Any = None, max_depth: Any = None, check_input: bool = True,
             sample_weight: Any = None, **fit_params: Any) -> Any:
        check_target(y)  # imbalanced-learn's messages for continuous and multilabel targets
        self.sampler_ = self._make_sampler()
        return super()._fit(X, y, self.max_samples, max_depth=max_depth, check_input=check_input, **fit_params)

    def __sklearn_tags__(self) -> Any:
        try:
            return super().__sklearn_tags__()
        except AttributeError:  # a duck-typed member (fit/predict/get_params) without scikit-learn tags
            tags = super(BaseBagging, self).__sklearn_tags__()
            tags.estimator_type, tags.classifier_tags = "classifier", ClassifierTags()
            return tags

    def fit(self, X: Any, y: Any) -> Any:
        """Fit ``n_estimators`` pipelines (sampler + classifier), each on its own draw of (X, y).

        No ``sample_weight``: the samplers do not take weights (as in imbalanced-learn).
        """
        return super().fit(X, y)


class BalancedBaggingClassifier(_BalancedBagging):
    """Bagging in which every member resamples its bootstrap draw before fitting (Hido et al., 2009).

    Args:
        estimator: the member model (default ``DecisionTreeClassifier()``).
        n_estimators, max_samples, max_features, bootstrap, bootstrap_features,
            oob_score, warm_start, n_jobs, random_state, verbose: as scikit-learn's
            :class:`~sklearn.ensemble.BaggingClassifier`.
        sampling_strategy, replacement: of the default sampler,
            ``RandomUnderSampler``.
        sampler: any object with ``fit_resample`` (dlfaq's or imbalanced-learn's),
            cloned for every member.

    Attributes:
        estimator_: the member template, ``Pipeline([("sampler", sampler_), ("classifier", estimator)])``;
        estimators_: the fitted pipelines; sampler_; classes_; n_features_in_;
        estimators_samples_; oob_score_ (with ``oob_score=True``).
    """

    _default_estimator = DecisionTreeClassifier
    _parameter_constraints: dict[str, Any] = {
        **BaggingClassifier._parameter_constraints,
        "sampling_strategy": _STRATEGY,
        "replacement": ["boolean"],
        "sampler": [HasMethods(["fit_resample"]), None],
    }

    def __init__(
        self,
        estimator: Any = None,
        n_estimators: int = 10,
        *,
        max_samples: Any = 1.0,
        max_features: Any = 1.0,
        bootstrap: bool = True,
        bootstrap_features: bool = False,
        oob_score: bool = False,
        warm_start: bool = False,
        sampling_strategy: SamplingStrategy = "auto",
        replacement: bool = False,
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        sampler: Any = None,
    ) -> None:
        super().__init__(
            sampling_strategy=sampling_strategy, replacement=replacement, estimator=estimator,
            n_estimators=n_estimators, max_samples=max_samples, max_features=max_features, bootstrap=bootstrap,
            bootstrap_features=bootstrap_features, oob_score=oob_score, warm_start=warm_start, n_jobs=n_jobs,
            random_state=random_state, verbose=verbose,
        )
        self.sampler = sampler


class EasyEnsembleClassifier(_BalancedBagging):
    """EasyEnsemble (Liu et al., 2009): boosted members on independent random under-samples.

    Args:
        n_estimators: number of balanced subsets (the paper's T, default 10).
        estimator: the learner fitted on each subset (default ``AdaBoostClassifier()``);
            any classifier works.
        warm_start, n_jobs, random_state, verbose: as scikit-learn's ``BaggingClassifier``.
        sampling_strategy, replacement: of the random under-sampler (default ``'auto'``).

    Attributes:
        estimator_, estimators_ (pipelines ``sampler`` -> ``classifier``), classes_,
        n_features_in_: as :class:`BalancedBaggingClassifier`.

    Members are fitted on the whole training set (no bootstrap, all features), each
    under-sampled with its own seed.
    """

    _default_estimator = AdaBoostClassifier
    _parameter_constraints: dict[str, Any] = {
        **{k: v for k, v in BaggingClassifier._parameter_constraints.items() if k not in _EASY_FIXED},
        "sampling_strategy": _STRATEGY,
        "replacement": ["boolean"],
    }

    def __init__(
        self,
        n_estimators: int = 10,
        estimator: Any = None,
        *,
        warm_start: bool = False,
        sampling_strategy: SamplingStrategy = "auto",
        replacement: bool = False,
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            sampling_strategy=sampling_strategy, replacement=replacement, estimator=estimator,
            n_estimators=n_estimators, warm_start=warm_start, n_jobs=n_jobs, random_state=random_state,
            verbose=verbose, **_EASY_FIXED,
        )
