"""A pipeline whose steps may be samplers: ``fit`` resamples, ``predict`` does not.

scikit-learn's ``Pipeline`` only knows transformers. A sampler changes the rows
(``fit_resample``), which is right while fitting and wrong while predicting: the
test data must be scored as they are. So, during ``fit``, every intermediate step
with ``fit_resample`` resamples ``(X, y)`` and the others ``fit_transform`` X;
during ``predict`` (and ``predict_proba``, ``decision_function``, ...) the
samplers are skipped. This is imbalanced-learn's ``Pipeline`` contract; it is what
the ensembles of :mod:`dlfaq.imbalance.ensemble` hold as their members, and it can
be used on its own (``make_pipeline(SMOTE(), LogisticRegression())``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sklearn.utils import Bunch, get_tags
from sklearn.utils.metaestimators import _BaseComposition, available_if

__all__ = ["Pipeline", "make_pipeline"]


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _final_has(method: str) -> Callable[[_Method], _Method]:
    """scikit-learn's ``available_if``: the decorated method exists when the final step has ``method``."""
    return available_if(lambda self: hasattr(self.steps[-1][1], method))


class Pipeline(_BaseComposition):  # type: ignore[misc]  # scikit-learn has no type information: its classes are Any to mypy
    """Chain of ``(name, step)`` pairs; intermediate steps are transformers or samplers.

    Args:
        steps: list of ``(name, estimator)``; the last one is the model.

    Attributes:
        named_steps: the steps by name; classes_: the final model's classes.
    """

    def __init__(self, steps: list[tuple[str, Any]]):
        self.steps = steps

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return self._get_params("steps", deep=deep)

    def set_params(self, **params: Any) -> Pipeline:
        self._set_params("steps", **params)
        return self

    @property
    def named_steps(self) -> Bunch:
        return Bunch(**dict(self.steps))

    @property
    def _final(self) -> Any:
        return self.steps[-1][1]

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, ind: Any) -> Any:
        if isinstance(ind, slice):
            return self.__class__(self.steps[ind])
        if isinstance(ind, str):
            return self.named_steps[ind]
        return self.steps[ind][1]

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> Pipeline:
        """Fit the steps in order, resampling with the sampler steps; ``fit_params`` go to the final model."""
        for _, step in self.steps[:-1]:
            if step is None or step == "passthrough":
                continue
            if hasattr(step, "fit_resample"):
                X, y = step.fit_resample(X, y)
            else:
                X = step.fit_transform(X, y)
        if self._final not in (None, "passthrough"):
            self._final.fit(X, y, **fit_params)
        return self

    def _transform(self, X: Any) -> Any:
        for _, step in self.steps[:-1]:
            if step is None or step == "passthrough" or hasattr(step, "fit_resample"):
                continue  # samplers only act while fitting
            X = step.transform(X)
        return X

    @_final_has("predict")
    def predict(self, X: Any, **params: Any) -> Any:
        return self._final.predict(self._transform(X), **params)

    @_final_has("predict_proba")
    def predict_proba(self, X: Any, **params: Any) -> Any:
        return self._final.predict_proba(self._transform(X), **params)

    @_final_has("predict_log_proba")
    def predict_log_proba(self, X: Any, **params: Any) -> Any:
        return self._final.predict_log_proba(self._transform(X), **params)

    @_final_has("decision_function")
    def decision_function(self, X: Any) -> Any:
        return self._final.decision_function(self._transform(X))

    @_final_has("score")
    def score(self, X: Any, y: Any = None, **params: Any) -> Any:
        return self._final.score(self._transform(X), y, **params)

    @property
    def classes_(self) -> Any:
        return self._final.classes_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        final = get_tags(self._final)
        tags.estimator_type = final.estimator_type
        tags.classifier_tags = final.classifier_tags
        return tags


def make_pipeline(*steps: Any) -> Pipeline:
    """A :class:`Pipeline` with the steps named after their lower-cased class names."""
    names = [type(s).__name__.lower() for s in steps]
    return Pipeline([(f"{n}-{i}" if names.count(n) > 1 else n, s) for i, (n, s) in enumerate(zip(names, steps, strict=True))])
