"""Training tools: gradient monitoring and clipping, regularization, distillation, a small loop.

Submodules: ``gradients`` (GradientMonitor, clipping), ``regularization`` (L1/L2
penalties, EarlyStopping), ``distillation`` (DistillationLoss, distill), ``loop``
(fit, evaluate).

Names are resolved lazily, so ``from dlfaq.train import GradientMonitor`` imports
only the submodule that defines it (each submodule lists its public names in ``__all__``).
"""

from dlfaq._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, ("gradients", "regularization", "distillation", "loop"), globals())
