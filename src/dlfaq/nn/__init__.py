"""PyTorch modules for the FAQ's techniques.

Submodules: ``rnn`` (cells and multi-layer RNNs with visible gates and the RNN
regularizers), ``dropout`` (LockedDropout, WeightDrop, DropConnectLinear),
``attention`` (additive, multiplicative, scaled dot-product), ``hsoftmax``
(Huffman tree and hierarchical softmax), ``blocks`` (MLP builders),
``functional`` (stable softmax, log-softmax, log-sum-exp).

Names are resolved lazily, so ``from dlfaq.nn import LSTM`` imports only the
submodule that defines it (each submodule lists its public names in ``__all__``).
"""

from dlfaq._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, ("rnn", "dropout", "attention", "hsoftmax", "blocks", "functional"), globals())
