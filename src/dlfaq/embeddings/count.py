"""A count-based embedding trained in seconds: PPMI + truncated SVD.

Levy, Goldberg & Dagan (2015), *Improving Distributional Similarity with
Lessons Learned from Word Embeddings* (TACL 3), show that this classic
pipeline, with two of word2vec's tricks carried over, is a strong baseline.
For words :math:`w` and contexts :math:`c` (words within ``window`` positions),
with co-occurrence counts :math:`\\#(w, c)`, :math:`\\#(w) = \\sum_c \\#(w, c)` and
total :math:`D`,

.. math::
    \\mathrm{PPMI}(w, c) = \\max\\Big(0,\\ \\log \\frac{\\#(w, c) / D}{(\\#(w) / D)\\, P_\\alpha(c)}\\Big),
    \\qquad P_\\alpha(c) = \\frac{\\#(c)^\\alpha}{\\sum_{c'} \\#(c')^\\alpha},

where :math:`\\alpha = 0.75` (context distribution smoothing) damps PMI's bias
towards rare contexts. The PPMI matrix is factorised by truncated SVD
:math:`M \\approx U_d \\Sigma_d V_d^\\top` and the word vectors are
:math:`U_d \\Sigma_d^{p}` with :math:`p = 0.5` (eigenvalue weighting).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from dlfaq.embeddings.io import Vectors


def ppmi_svd(
    sentences: Iterable[Sequence[str]],
    dim: int = 50,
    *,
    window: int = 5,
    min_count: int = 5,
    alpha: float = 0.75,
    eig: float = 0.5,
    seed: int = 0,
) -> Vectors:
    """Train PPMI-SVD word vectors on tokenised ``sentences`` (deterministic for a seed).

    Words seen fewer than ``min_count`` times are dropped before windows are
    taken. The vocabulary is in descending frequency order (ties broken
    alphabetically), as ``restrict_vocab`` settings expect.
    """
    from scipy import sparse
    from sklearn.utils.extmath import randomized_svd

    sents = [list(s) for s in sentences]
    counts = Counter(w for s in sents for w in s)
    vocab = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if len(vocab) <= dim:
        raise ValueError(f"only {len(vocab)} words occur {min_count}+ times; need more than dim={dim}")
    index = {w: i for i, w in enumerate(vocab)}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for s in sents:
        ids = np.fromiter((index[w] for w in s if w in index), dtype=np.int64)
        for off in range(1, window + 1):
            if ids.size <= off:
                break
            rows += [ids[:-off], ids[off:]]
            cols += [ids[off:], ids[:-off]]
    v = len(vocab)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    cooc = sparse.coo_matrix((np.ones(r.size), (r, c)), shape=(v, v)).tocsr()
    cooc.sum_duplicates()
    w_count = np.asarray(cooc.sum(axis=1)).ravel()
    c_count = np.asarray(cooc.sum(axis=0)).ravel() ** alpha
    p_c = c_count / c_count.sum()
    coo = cooc.tocoo()
    pmi = np.log(coo.data / (w_count[coo.row] * p_c[coo.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(v, v))
    from threadpoolctl import threadpool_limits

    # The dense steps act on (V, dim + 10) blocks: too small for BLAS threads to pay off,
    # and on a busy machine their spin-waiting made this ten times slower.
    with threadpool_limits(1):
        u, s, _ = randomized_svd(ppmi, n_components=dim, n_iter=7, random_state=seed)
    # randomized_svd fixes signs deterministically (svd_flip), so the output is reproducible.
    vecs = u * (s**eig)[None, :]
    return Vectors(vocab, vecs.astype(np.float32), source="ppmi-svd",
                   meta={"format": "ppmi-svd", "window": window, "min_count": min_count,
                         "alpha": alpha, "eig": eig, "tokens": int(sum(len(x) for x in sents))})


__all__ = ["ppmi_svd"]
