"""Intrinsic evaluation of word vectors: relatedness, analogy, categorization.

Every function accepts a :class:`~dlfaq.embeddings.io.Vectors`, a gensim
``KeyedVectors``, a ``(words, matrix)`` pair, a file path or
``"glove-6b-50d"``, and returns a plain dict that records the settings that
change the score (``restrict_vocab``, case folding, the out-of-vocabulary
policy, whether the question words are excluded), because the same vectors can
score very differently under different settings and papers rarely say which
they used.

The defaults reproduce gensim 4's ``KeyedVectors.evaluate_word_pairs`` and
``evaluate_word_analogies`` exactly (same pairs kept, same questions answered
and skipped, same answers):

- only the first ``restrict_vocab`` rows (the most frequent words) are
  looked up; with ``case_insensitive=True`` words are compared upper-cased and
  a word with several case variants in the vocabulary takes the row of the
  first (most frequent) variant;
- a pair or question with a word outside that vocabulary is skipped
  (``dummy4unknown=False``) or scored as zero similarity / a wrong answer
  (``dummy4unknown=True``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from dlfaq.embeddings.benchmarks import (
    dataset_path,
    read_pairs,
)
from dlfaq.embeddings.io import Vectors, load

# 3CosMul's epsilon (Levy & Goldberg, 2014) keeps the division finite.
COSMUL_EPS = 1e-3
# A float32 cosine over <= 1000 dimensions is within ~1e-5 of the float64 value
# gensim computes; candidates closer than this are re-ranked in float64.
_TIE_TOL = 1e-4


def as_vectors(vectors: Any) -> Vectors:
    """Whatever the user passed, as :class:`Vectors` (see the module docstring)."""
    return load(vectors)


def _vocab_map(vec: Vectors, restrict_vocab: int | None, case_insensitive: bool) -> dict[str, int]:
    n = len(vec) if restrict_vocab is None else min(int(restrict_vocab), len(vec))
    key = ("vocab_map", n, case_insensitive)
    if key in vec._cache:
        return vec._cache[key]
    ok: dict[str, int] = {}
    words = vec.words
    if case_insensitive:
        for i in range(n):
            ok.setdefault(words[i].upper(), i)
    else:
        for i in range(n):
            ok.setdefault(words[i], i)
    vec._cache[key] = ok
    return ok


def _settings(restrict_vocab: int | None, case_insensitive: bool, dummy4unknown: bool,
              **extra: Any) -> dict[str, Any]:
    return {
        "restrict_vocab": restrict_vocab,
        "case_insensitive": case_insensitive,
        "oov": "scored as zero/wrong" if dummy4unknown else "skipped",
        **extra,
    }


# --------------------------------------------------------------------------- relatedness


def _unitvec32(v: np.ndarray) -> np.ndarray:
    # The norm and the scaling run in float64 BLAS and the result is rounded back to the
    # input dtype: the same operations as gensim's matutils.unitvec, so that cosines (and
    # therefore correlations) agree bit for bit.
    from scipy.linalg.blas import get_blas_funcs

    nrm2, scal = get_blas_funcs(("nrm2", "scal"), (np.empty(0, dtype=np.float64),))
    n = nrm2(v)
    if n > 0.0:
        return scal(1.0 / n, v).astype(v.dtype)
    return v


def evaluate_relatedness(
    vectors: Any,
    dataset: str | os.PathLike[str] = "wordsim353",
    *,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    delimiter: str = "\t",
) -> dict[str, Any]:
    r"""Correlation between cosine similarity and human judgements of word pairs.

    For each pair :math:`(a, b)` with human score :math:`h`, the model's score is
    :math:`\cos(a, b) = \frac{v_a \cdot v_b}{\lVert v_a\rVert\,\lVert v_b\rVert}`;
    the result is Pearson's :math:`r` and Spearman's :math:`\rho` between the two
    lists (Finkelstein et al., 2002; Hill et al., 2015).

    Args:
        vectors: word vectors (see the module docstring).
        dataset: ``"wordsim353"``, ``"simlex999"`` or a path to a
            ``word1<TAB>word2<TAB>score`` file.

    Returns:
        ``pearson``, ``spearman`` (with ``pearson_p``, ``spearman_p``);
        ``oov_ratio``: the percentage of pairs with an unknown word, as gensim
        reports it (``oov_fraction`` is the same number in [0, 1]); ``pairs``
        (read), ``used`` (scored), ``oov`` (count) and ``settings``.
    """
    from scipy import stats

    vec = as_vectors(vectors)
    path = dataset_path(dataset)
    ok = _vocab_map(vec, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[Any] = []
    oov = 0
    pairs = read_pairs(path, delimiter=delimiter)
    unit_cache: dict[int, np.ndarray] = {}

    def unit(i: int) -> np.ndarray:
        u = unit_cache.get(i)
        if u is None:
            u = unit_cache[i] = _unitvec32(vec.matrix[i])
        return u

    for a, b, sim in pairs:
        if case_insensitive:
            a, b = a.upper(), b.upper()
        if a not in ok or b not in ok:
            oov += 1
            if dummy4unknown:
                model.append(0.0)
                gold.append(sim)
            continue
        gold.append(sim)
        model.append(np.dot(unit(ok[a]), unit(ok[b])))
    if not gold:
        raise ValueError(f"no pair of {path} is in the vocabulary (or the file is not word pairs)")
    pr = stats.pearsonr(gold, model)
    sr = stats.spearmanr(gold, model)
    denom = len(gold) if dummy4unknown else len(gold) + oov
    return {
        "dataset": str(dataset) if not os.path.exists(str(dataset)) else str(path),
        "pearson": float(pr[0]),
        "pearson_p": float(pr[1]),
        "spearman": float(sr[0]),
        "spearman_p": float(sr[1]),
        "oov_ratio": float(oov) / denom * 100,
        "oov_fraction": oov / denom,
        "pairs": len(pairs),
        "used": len(gold) - (oov if dummy4unknown else 0),
        "oov": oov,
        "settings": _settings(restrict_vocab, case_insensitive, dummy4unknown),
    }


__all__ = ["as_vectors", "evaluate_relatedness"]
