"""Ensembles of models trained on balanced subsets: EasyEnsemble and balanced bagging.

Under-sampling a majority class discards data; an ensemble gets it back by
training several members, each on a different balanced draw, and averaging
their probabilities. EasyEnsemble (Liu, Wu & Zhou, 2009, "Exploratory
Undersampling for Class-Imbalance Learning") draws independent random
under-samples and boosts a learner (AdaBoost) on each; balanced bagging
(Hido, Kashima & Takahashi, 2009, "Roughly balanced bagging") bags any
estimator on balanced bootstrap samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from dlfaq.imbalance.resample import RandomUnderSampler
from dlfaq.imbalance.sampling import SamplingStrategy, check_random_state, check_X_y

__all__ = ["BalancedBaggingClassifier", "EasyEnsembleClassifier"]


class BalancedBaggingClassifier(ClassifierMixin, BaseEstimator):
    """Bag ``estimator`` on resampled draws of the training set; average the probabilities.

    Member ``i`` is fitted on ``sampler.fit_resample(X, y)`` (a clone of
    ``sampler`` with its own ``random_state``), optionally followed by a
    bootstrap of that balanced set.

    Args:
        estimator: any scikit-learn classifier with ``predict_proba``
            (default: ``DecisionTreeClassifier()``).
        n_estimators: number of members.
        sampler: a resampler with ``fit_resample`` (default
            ``RandomUnderSampler(sampling_strategy=sampling_strategy)``).
        sampling_strategy: used by the default sampler.
        bootstrap: draw a bootstrap sample of each balanced set.
        random_state: ``None``, an int or a ``numpy.random.RandomState``.

    Attributes:
        classes_: sorted class labels; estimators_: the fitted members.
    """

    def __init__(
        self,
        estimator: Any = None,
        n_estimators: int = 10,
        *,
        sampler: Any = None,
        sampling_strategy: SamplingStrategy = "auto",
        bootstrap: bool = True,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.sampler = sampler
        self.sampling_strategy = sampling_strategy
        self.bootstrap = bootstrap
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier()

    def _make_sampler(self) -> Any:
        if self.sampler is not None:
            return clone(self.sampler)
        return RandomUnderSampler(sampling_strategy=self.sampling_strategy)

    def fit(self, X: Any, y: Any) -> BalancedBaggingClassifier:
        X, y = check_X_y(X, y)
        X, y = np.asarray(X), np.asarray(y)
        if not isinstance(self.n_estimators, int) or self.n_estimators < 1:
            raise ValueError(f"n_estimators must be a positive int, got {self.n_estimators!r}")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"The target 'y' needs to have more than 1 class. Got {len(self.classes_)} class instead"
            )
        rng = check_random_state(self.random_state)
        base = self.estimator if self.estimator is not None else self._default_estimator()
        self.estimators_ = []
        for _ in range(self.n_estimators):
            seed = int(rng.randint(np.iinfo(np.int32).max))
            sampler = self._make_sampler()
            if "random_state" in sampler.get_params():
                sampler.set_params(random_state=seed)
            Xi, yi = sampler.fit_resample(X, y)
            if self.bootstrap:
                pick = np.random.RandomState(seed).randint(0, len(yi), len(yi))
                Xi, yi = Xi[pick], yi[pick]
            est = clone(base)
            if "random_state" in est.get_params():
                est.set_params(random_state=seed)
            self.estimators_.append(est.fit(Xi, yi))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        proba = np.zeros((X.shape[0], len(self.classes_)))
        for est in self.estimators_:
            cols = np.searchsorted(self.classes_, est.classes_)
            proba[:, cols] += est.predict_proba(X)
        return proba / len(self.estimators_)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EasyEnsembleClassifier(BalancedBaggingClassifier):
    """EasyEnsemble (Liu et al., 2009): AdaBoost members on independent random under-samples.

    Args:
        n_estimators: number of balanced subsets (the paper's T, default 10).
        estimator: the learner boosted on each subset (default
            ``AdaBoostClassifier(n_estimators=10)``); any classifier works.
        sampling_strategy: of the random under-sampler (default ``'auto'``).
        replacement: under-sample with replacement.
        random_state: ``None``, an int or a ``numpy.random.RandomState``.
    """

    def __init__(
        self,
        n_estimators: int = 10,
        estimator: Any = None,
        *,
        sampling_strategy: SamplingStrategy = "auto",
        replacement: bool = False,
        random_state: Any = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.estimator = estimator
        self.sampling_strategy = sampling_strategy
        self.replacement = replacement
        self.random_state = random_state
        self.sampler = None
        self.bootstrap = False

    def _default_estimator(self) -> Any:
        from sklearn.ensemble import AdaBoostClassifier

        return AdaBoostClassifier(n_estimators=10)

    def _make_sampler(self) -> Any:
        return RandomUnderSampler(sampling_strategy=self.sampling_strategy, replacement=self.replacement)
