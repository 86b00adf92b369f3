"""Word embeddings: loading, benchmark data sets, evaluation, visualization.

Submodules: ``io`` (:class:`Vectors`, :func:`load` for word2vec text/binary,
GloVe, fastText ``.vec``, ``.npy`` + vocabulary, gensim ``KeyedVectors`` and
``"glove-6b-50d"``), ``benchmarks`` (WordSim353, SimLex-999, the Google analogy
set, categories derived from it), ``evaluate`` (:func:`evaluate_relatedness`,
:func:`evaluate_analogy`, :func:`evaluate_categorization`,
:func:`evaluate_all`), ``visualize`` (k-means, PCA / t-SNE scatter plots) and
``count`` (:func:`ppmi_svd`, a count-based embedding trained in seconds).

Names are resolved lazily, so ``from dlfaq.embeddings import load`` does not
import matplotlib or scikit-learn.
"""

from dlfaq._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__, ("io", "benchmarks", "evaluate", "visualize", "count"), globals()
)
