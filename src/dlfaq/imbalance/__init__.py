"""Class-imbalance toolkit (FAQ question 6).

* Resampling with the imbalanced-learn contract (``fit_resample``):
  :class:`RandomOverSampler`, :class:`RandomUnderSampler`, :class:`SMOTE`,
  :class:`BorderlineSMOTE`, :class:`ADASYN` (exact, blocked k-NN in torch: :func:`kneighbors`;
  NumPy or torch input, CPU or CUDA).
* Reweighting for ``torch.nn``: :func:`class_weights` (inverse frequency,
  effective number), :class:`FocalLoss`, :class:`LogitAdjustedLoss`, :func:`logit_adjust`.
* :class:`BalancedBatchSampler`: per-class quotas for a ``DataLoader``.
* Ensembles: :class:`EasyEnsembleClassifier`, :class:`BalancedBaggingClassifier`, whose
  members are :class:`Pipeline` s (sampler, then model; samplers act only while fitting).
* Feature selection: :func:`make_selector`.

Names are resolved lazily, so importing the package does not import torch.
"""

from dlfaq._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    ("sampling", "resample", "neighbors", "weights", "batching", "ensemble", "pipeline", "selection"),
    globals(),
)
