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

import math
import os
from typing import Any, Literal

import numpy as np

from dlfaq.embeddings.benchmarks import (
    ANALOGY,
    dataset_path,
    read_analogies,
    read_pairs,
)
from dlfaq.embeddings.benchmarks import categories as derived_categories
from dlfaq.embeddings.io import Vectors, gensim_rank, load

# 3CosMul's epsilon keeps the division finite: 1e-6, the value of gensim's
# ``most_similar_cosmul`` (Levy & Goldberg, 2014, suggest 0.001).
COSMUL_EPS = 1e-6


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
    return_items: bool = False,
    _gensim_view: bool = False,
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
        (read), ``used`` (scored), ``oov`` (count) and ``settings``; with
        ``return_items``, ``items``: the scored ``(word1, word2, human, cosine)``.
    """
    from scipy import stats

    vec = as_vectors(vectors)
    path = dataset_path(dataset)
    ok = _vocab_map(vec, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[Any] = []
    items: list[tuple[str, str, float, float]] = []
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
                items.append((a, b, sim, 0.0))
            continue
        gold.append(sim)
        model.append(np.dot(unit(ok[a]), unit(ok[b])))
        items.append((a, b, sim, float(model[-1])))
    if len(gold) < 2:
        raise ValueError(
            f"too few benchmark words ({len(gold)} of {len(pairs)} pairs of {path.name} are in the "
            "vocabulary; a correlation needs at least 2): the vectors cover too few common words, "
            "or the file is not word pairs"
        )
    pr = stats.pearsonr(gold, model)
    sr = stats.spearmanr(gold, model)
    denom = len(gold) if dummy4unknown else len(gold) + oov
    if _gensim_view:
        return pr, sr, float(oov) / denom * 100  # type: ignore[return-value]
    extra = {"items": items} if return_items else {}
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
        **extra,
    }


# --------------------------------------------------------------------------- analogy


def _bf16_is_fast(device: Any) -> bool:
    """bfloat16 matrix products beat float32 on GPUs and on CPUs with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = line.split()
                    return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        pass
    return False


def _score_bound(dtype: Any, dim: int) -> float:
    r"""An upper bound on :math:`|\hat s - s|` for a cosine :math:`s = u \cdot q` of unit vectors
    computed with inputs and output rounded to ``dtype`` and float32 accumulation.

    Rounding each factor to precision :math:`p` (unit roundoff :math:`2^{-p}`) perturbs
    each product by at most :math:`(2\cdot 2^{-p} + 2^{-2p})|u_i q_i|`, and
    :math:`\sum_i |u_i q_i| \le \lVert u\rVert\,\lVert q\rVert = 1` (Cauchy-Schwarz);
    float32 accumulation adds at most :math:`d \cdot 2^{-24}` and rounding the
    result adds :math:`2^{-p}`. The bound is doubled for safety.
    """
    import torch

    p = 8 if dtype == torch.bfloat16 else 24
    u = 2.0**-p
    return 2.0 * ((2 * u + u * u) + dim * 2.0**-24 + u)


def _gensim_mean(v32: np.ndarray, norms: np.ndarray, ia: np.ndarray, ib: np.ndarray,
                 ic: np.ndarray) -> np.ndarray:
    """gensim's query vector for ``most_similar(positive=[b, c], negative=[a])``, batched.

    Unit vectors (float32 row / float32 norm) are summed in float32 in the order
    b, c, a; the mean is taken in float64 and scaled to unit length.
    """
    ub = v32[ib] / norms[ib, None]
    uc = v32[ic] / norms[ic, None]
    ua = v32[ia] / norms[ia, None]
    mean = ((ub + uc) - ua).astype(np.float64) / 3.0
    nrm = np.sqrt(np.einsum("bd,bd->b", mean, mean))
    nrm[nrm == 0] = 1.0
    return mean * (1.0 / nrm)[:, None]


def evaluate_analogy(
    vectors: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    dummy4unknown: bool = False,
    batch_size: int = 512,
    device: str | None = None,
    precision: Literal["auto", "bfloat16", "float32"] = "auto",
    exclude_question_words: bool = True,
    return_questions: bool = False,
) -> dict[str, Any]:
    r"""Accuracy on word analogies "a is to b as c is to d" (Mikolov et al., 2013).

    The answer is the vocabulary word :math:`x \notin \{a, b, c\}` that maximises

    - ``"3cosadd"``: :math:`\cos(x,\; \hat b - \hat a + \hat c)` with :math:`\hat w`
      the unit vector of :math:`w` (the vector offset method of Mikolov, Yih &
      Zweig, 2013; gensim's ``evaluate_word_analogies``), or
    - ``"3cosmul"``: :math:`\frac{\tilde c(x,b)\,\tilde c(x,c)}{\tilde c(x,a) + \varepsilon}`
      with :math:`\tilde c = (1 + \cos)/2` and :math:`\varepsilon = 10^{-6}` (gensim's
      ``most_similar_cosmul``)
      (Levy & Goldberg, 2014, *Linguistic Regularities in Sparse and Explicit Word
      Representations*).

    Candidates are the first ``restrict_vocab`` rows (the most frequent words).
    With the defaults the questions answered, skipped and solved are exactly
    those of gensim's ``KeyedVectors.evaluate_word_analogies``, computed in two
    stages. First, the scores of a block of ``batch_size`` questions against all
    candidates come from one matrix product (bfloat16 where the hardware has
    fast bfloat16, else float32; on ``device``), with the question words masked.
    Every candidate whose approximate score lies within a proven error bound
    (:func:`_score_bound`) of the fifth-best is then re-scored with gensim's
    float64 arithmetic, and the top five are walked as gensim walks them: the
    first one whose case-folded word is not a question word is the answer. A
    question whose near-best candidates do not fit in the first pass is scored
    exactly against every row. ``3cosmul`` has no gensim counterpart and is
    ranked in float32.

    Args:
        vectors: word vectors (see the module docstring).
        path: an analogy file in the ``: section`` format; default the Google set.
        method: ``"3cosadd"`` (gensim's) or ``"3cosmul"``.
        dummy4unknown: count questions with unknown words as wrong instead of
            skipping them.
        precision: the first pass's dtype; the answers do not depend on it.
        exclude_question_words: gensim and every published number exclude a, b
            and c from the answers; ``False`` takes the plain nearest neighbour
            of the offset vector, which is often b or c itself (Linzen, 2016).
        return_questions: add ``items``: per section, every question as
            ``(a, b, c, d, outcome)`` in file order (words case-folded as gensim
            folds them; outcome True, False, or None for a skipped question);
            :func:`evaluate_word_analogies` builds gensim's view from it.

    Returns:
        ``correct``, ``total`` (questions answered), ``skipped`` (questions with a
        word outside the vocabulary), ``accuracy``, ``questions`` (all valid
        questions), ``sections`` (a list of ``{"name", "correct", "total",
        "skipped", "accuracy"}`` in file order), ``semantic`` and ``syntactic``
        aggregates, ``oov_ratio`` (percent of questions with an unknown word, as
        gensim logs it), ``float32_redos`` and ``exact_fallbacks`` (questions the
        bfloat16 pass handed to float32, and to the full float64 scan) and ``settings``.
    """
    import torch

    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method must be '3cosadd' or '3cosmul', not {method!r}")
    if precision not in ("auto", "bfloat16", "float32"):
        raise ValueError(f"precision must be 'auto', 'bfloat16' or 'float32', not {precision!r}")
    vec = as_vectors(vectors)
    ok = _vocab_map(vec, restrict_vocab, case_insensitive)
    n = len(vec) if restrict_vocab is None else min(int(restrict_vocab), len(vec))
    sections = read_analogies(path)

    # canon[i]: the row that row i's (case-folded) word resolves to; two rows name the
    # same answer exactly when their canon agree.
    ckey = ("canon", n, case_insensitive)
    canon = vec._cache.get(ckey)
    if canon is None:
        fold = str.upper if case_insensitive else str
        canon = vec._cache[ckey] = np.fromiter(
            (ok[fold(w)] for w in vec.words[:n]), dtype=np.int64, count=n
        )

    quads: list[tuple[int, ...]] = []
    sec_of: list[int] = []
    sec_stats: list[dict[str, Any]] = []
    asked: list[list[tuple[tuple[str, ...], int]]] = []  # per section: (words, index in quads or -1)
    n_questions = 0
    for si, sec in enumerate(sections):
        skipped = 0
        asked.append([])
        for q in sec.questions:
            n_questions += 1
            words = [w.upper() for w in q] if case_insensitive else list(q)
            if all(w in ok for w in words):
                asked[si].append((tuple(words), len(quads)))
                quads.append(tuple(ok[w] for w in words))
                sec_of.append(si)
            else:
                asked[si].append((tuple(words), -1))
                skipped += 1
        sec_stats.append({"name": sec.name, "correct": 0, "total": 0, "skipped": skipped})

    correct = np.zeros(len(quads), dtype=bool)
    fallbacks: list[int] = []
    dev = torch.device(device or "cpu")
    if method == "3cosmul" or precision == "float32":
        dtype = torch.float32
    elif precision == "bfloat16":
        dtype = torch.bfloat16
    else:
        dtype = torch.bfloat16 if _bf16_is_fast(dev) else torch.float32
    if quads and n > 3:
        q_idx = np.asarray(quads, dtype=np.int64)
        v32 = vec.matrix[:n]
        norms = vec.norms[:n]
        unit_np = vec.unit()[:n]
        unit32 = torch.from_numpy(unit_np).to(dev)
        # (d, n) copies of the candidate rows, and one reusable (batch, n) score buffer per
        # dtype: allocating a fresh few-hundred-MB result per block cost more than the product.
        unit_t = {dtype: unit32.to(dtype).T.contiguous(), torch.float32: unit32.T.contiguous()}
        buffers: dict[Any, Any] = {}
        top = min(5, n - 3)
        # candidates kept per question: enough to hold every row within the error bound of
        # the fifth-best nearly always (bfloat16's bound is ~0.05, float32's ~1e-5)
        k_of = {torch.bfloat16: min(64, n - 3), torch.float32: min(16, n - 3)}
        redo_count = [0]
        # gensim's float32 scores are within (d + 3) * 2**-24 of the exact ones (Cauchy-Schwarz
        # for the dot product of unit vectors, plus the roundings of the mean and the norm)
        tie_eps = 4.0 * (vec.dim + 4) * 2.0**-24

        def rank_block(qb: np.ndarray, dt: Any) -> tuple[np.ndarray, np.ndarray]:
            """The exact top five (gensim's order) of a block, and which rows overflowed."""
            # the float32 sum gensim forms, b + c first, then - a
            qn = (unit_np[qb[:, 1]] + unit_np[qb[:, 2]]) - unit_np[qb[:, 0]]
            qn /= np.maximum(np.linalg.norm(qn, axis=1, keepdims=True), 1e-30)
            buf = buffers.get(dt)
            if buf is None or buf.shape[0] < len(qb):
                buf = buffers[dt] = torch.empty((max(len(qb), min(batch_size, len(quads))), n),
                                                dtype=dt, device=dev)
            scores = torch.mm(torch.from_numpy(qn).to(dev, dt), unit_t[dt], out=buf[:len(qb)])
            rows = torch.arange(len(qb), device=dev)
            if exclude_question_words:
                for col in torch.from_numpy(qb[:, :3].T.copy()).to(dev):
                    scores[rows, col] = -math.inf
            k = k_of[dt]
            vals, cand_t = scores.topk(k, dim=1)
            vals_np = vals.float().cpu().numpy()
            cand_np = cand_t.cpu().numpy()
            # Any row whose true score reaches the true fifth-best has an approximate
            # score within 2 * bound of the approximate fifth-best.
            thr = vals_np[:, top - 1] - 2 * _score_bound(dt, vec.dim)
            keep = vals_np >= thr[:, None]
            overflow = keep[:, -1] & (k < n - 3)
            mean64 = _gensim_mean(v32, norms, qb[:, 0], qb[:, 1], qb[:, 2])
            exact = np.einsum("bkd,bd->bk", v32[cand_np].astype(np.float64), mean64)
            exact = exact / norms[cand_np]
            exact[~keep] = -np.inf
            order_np = np.argsort(-exact, axis=1, kind="stable")[:, :top + 1]
            # Near-ties among the top five (and the sixth): gensim ranks float32 scores, so
            # scores this close may come out in either order there (identical vectors tie
            # exactly); those questions are redone with gensim's own procedure.
            ranked = np.take_along_axis(exact, order_np, axis=1)
            gaps = ranked[:, :-1] - ranked[:, 1:]
            tied = (np.isfinite(ranked[:, 1:]) & (gaps <= tie_eps)).any(axis=1)
            overflow = overflow | tied
            return np.take_along_axis(cand_np, order_np[:, :top], axis=1), overflow

        step = batch_size if method == "3cosadd" else max(1, batch_size // 2)
        for start in range(0, len(quads), step):
            qb = q_idx[start:start + step]
            if method == "3cosmul":
                blk = torch.from_numpy(qb.T.copy()).to(dev)
                ia, ib, ic, _ = blk.unbind(0)
                rows = torch.arange(len(qb), device=dev)
                # two (block, n) buffers instead of four: each is hundreds of MB at n = 300000
                scores = torch.mm(unit32[ib], unit32.T).add_(1).mul_(0.5)
                tmp = torch.mm(unit32[ic], unit32.T).add_(1).mul_(0.5)
                scores.mul_(tmp)
                torch.mm(unit32[ia], unit32.T, out=tmp).add_(1).mul_(0.5).add_(COSMUL_EPS)
                scores.div_(tmp)
                del tmp
                if exclude_question_words:
                    for col in (ia, ib, ic):
                        scores[rows, col] = -math.inf
                cand = scores.topk(top, dim=1)[1].cpu().numpy()
            else:
                cand, overflow = rank_block(qb, dtype)
                redo_count[0] += int(overflow.sum())
                if overflow.any() and dtype != torch.float32:
                    # too many near-best rows for the bfloat16 bound: redo those in float32
                    cand2, of2 = rank_block(qb[overflow], torch.float32)
                    cand[overflow] = cand2
                    overflow[overflow] = of2
                for j in np.nonzero(overflow)[0]:
                    if exclude_question_words:
                        # gensim's most_similar(positive=[b, c], negative=[a], topn=5), literally
                        order, _ = gensim_rank(v32, norms, [qb[j, 1], qb[j, 2]], [qb[j, 0]], n, top)
                        cand[j] = order[:top]
                    else:
                        mean64 = _gensim_mean(v32, norms, qb[j:j + 1, 0], qb[j:j + 1, 1],
                                              qb[j:j + 1, 2])[0]
                        dists = (v32.astype(np.float64) @ mean64) / norms
                        cand[j] = np.argsort(-dists, kind="stable")[:top]
                    fallbacks.append(start + int(j))
            cc = canon[cand]
            free = (cc != qb[:, 0:1]) & (cc != qb[:, 1:2]) & (cc != qb[:, 2:3])
            if not exclude_question_words:
                free[:] = True
            # gensim walks its top five and answers with the first candidate that is not
            # a question word; if all five are, the fifth stands (and is wrong).
            pos = np.where(free.any(1), free.argmax(1), cc.shape[1] - 1)
            pred = np.take_along_axis(cc, pos[:, None], axis=1)[:, 0]
            correct[start:start + len(qb)] = pred == qb[:, 3]

    for qi, si in enumerate(sec_of):
        sec_stats[si]["total"] += 1
        sec_stats[si]["correct"] += int(correct[qi])
    if dummy4unknown:
        for st in sec_stats:
            st["total"] += st["skipped"]
            st["skipped"] = 0
    for st in sec_stats:
        st["accuracy"] = st["correct"] / st["total"] if st["total"] else None

    def agg(pred: Any) -> dict[str, Any]:
        cs = [st for st in sec_stats if pred(st["name"])]
        c = sum(st["correct"] for st in cs)
        t = sum(st["total"] for st in cs)
        return {"correct": c, "total": t, "skipped": sum(st["skipped"] for st in cs),
                "accuracy": c / t if t else None}

    total = agg(lambda name: True)
    oov = n_questions - len(quads)
    extra: dict[str, Any] = {}
    if return_questions:
        extra["items"] = [
            {"name": sec.name,
             "questions": [(*w, bool(correct[i]) if i >= 0 else None) for w, i in asked[si]]}
            for si, sec in enumerate(sections)
        ]
    return {
        "dataset": str(dataset_path(path if path is not None else ANALOGY)),
        "method": method,
        **total,
        "questions": n_questions,
        "oov_ratio": float(oov) / n_questions * 100 if n_questions else 0.0,
        "sections": sec_stats,
        "semantic": agg(lambda name: not name.startswith("gram")),
        "syntactic": agg(lambda name: name.startswith("gram")),
        "exact_fallbacks": len(fallbacks),
        "float32_redos": redo_count[0] if quads and n > 3 and method == "3cosadd" else 0,
        "settings": _settings(restrict_vocab, case_insensitive, dummy4unknown, method=method,
                              exclude_question_words=exclude_question_words, first_pass=str(dtype).replace("torch.", "")),
        **extra,
    }


# --------------------------------------------------------------------------- categorization


def lookup(vec: Vectors, words: list[str], *, restrict_vocab: int | None = 300000,
           case_insensitive: bool = True) -> tuple[list[str], np.ndarray]:
    """The words found (with the same folding rules as the other evaluations) and their rows."""
    ok = _vocab_map(vec, restrict_vocab, case_insensitive)
    found, rows = [], []
    for w in words:
        key = w.upper() if case_insensitive else w
        if key in ok:
            found.append(w)
            rows.append(ok[key])
    return found, np.asarray(rows, dtype=np.int64)


def purity(labels_true: Any, labels_pred: Any) -> float:
    r"""Cluster purity: :math:`\frac{1}{N}\sum_k \max_c |\omega_k \cap c|`.

    Each cluster is credited with its most frequent gold class (Manning, Raghavan &
    Schütze, 2008, *Introduction to Information Retrieval*, ch. 16). 1 is perfect;
    with :math:`K` equal-sized classes, random clusters score about :math:`1/K`.
    """
    t = np.asarray(labels_true)
    p = np.asarray(labels_pred)
    if t.shape != p.shape or t.size == 0:
        raise ValueError("labels must be two non-empty sequences of the same length")
    total = 0
    for k in np.unique(p):
        _, counts = np.unique(t[p == k], return_counts=True)
        total += int(counts.max())
    return total / t.size


def evaluate_categorization(
    vectors: Any,
    categories: dict[str, list[str]] | None = None,
    *,
    n_clusters: int | None = None,
    seed: int = 0,
    n_init: int = 10,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
) -> dict[str, Any]:
    r"""How well k-means on the word vectors recovers known word categories.

    The unit-length vectors of the category words (by default the categories
    derived from the Google analogy set, :func:`dlfaq.embeddings.benchmarks.categories`)
    are clustered by k-means into as many clusters as categories, and the
    clusters are compared with the categories by purity, normalised mutual
    information and the adjusted Rand index (the categorization protocol of
    Baroni, Dinu & Kruszewski, 2014, *Don't count, predict!*). Words outside the
    vocabulary are left out and counted.

    Returns:
        ``purity``, ``nmi``, ``ari``, ``words`` (clustered), ``oov``, ``categories``
        (per category: size and the share of its words in its majority cluster),
        ``assignments`` (word -> cluster) and ``settings``.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    vec = as_vectors(vectors)
    cats = categories if categories is not None else derived_categories()
    words: list[str] = []
    gold: list[int] = []
    oov = 0
    names = list(cats)
    for ci, name in enumerate(names):
        found, _ = lookup(vec, cats[name], restrict_vocab=restrict_vocab,
                          case_insensitive=case_insensitive)
        oov += len(cats[name]) - len(found)
        words += found
        gold += [ci] * len(found)
    k = n_clusters or len(names)
    if len(words) < max(k, 2):
        n_all = sum(len(v) for v in cats.values())
        raise ValueError(
            f"too few benchmark words ({len(words)} of {n_all} category words are in the vocabulary; "
            f"k-means into {k} categories needs at least {max(k, 2)})"
        )
    _, rows = lookup(vec, words, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    x = vec.unit()[rows].astype(np.float64)
    from threadpoolctl import threadpool_limits

    # a few hundred points: threads cost more than they save (and much more on a busy machine)
    with threadpool_limits(1):
        pred = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(x)
    g = np.asarray(gold)
    per_cat = []
    for ci, name in enumerate(names):
        mine = pred[g == ci]
        if mine.size == 0:
            per_cat.append({"name": name, "size": 0, "majority_share": None})
            continue
        per_cat.append({"name": name, "size": int(mine.size),
                        "majority_share": float(np.bincount(mine).max() / mine.size)})
    return {
        "purity": purity(g, pred),
        "nmi": float(normalized_mutual_info_score(g, pred)),
        "ari": float(adjusted_rand_score(g, pred)),
        "words": len(words),
        "oov": oov,
        "n_clusters": k,
        "categories": per_cat,
        "assignments": {w: int(c) for w, c in zip(words, pred, strict=True)},
        "gold": {w: names[c] for w, c in zip(words, gold, strict=True)},
        "settings": _settings(restrict_vocab, case_insensitive, False, clustering="k-means on unit vectors",
                              seed=seed, n_init=n_init),
    }


# --------------------------------------------------------------------------- gensim's view


def evaluate_word_analogies(
    vectors: Any,
    analogies: str | os.PathLike[str] | None = None,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    similarity_function: str = "most_similar",
) -> tuple[float, list[dict[str, Any]]]:
    """:func:`evaluate_analogy` as gensim's ``KeyedVectors.evaluate_word_analogies`` returns it.

    Same arguments (``vectors`` first) and the same ``(score, sections)``:
    ``sections`` lists, per section of the file, ``{"section": name, "correct":
    [...], "incorrect": [...]}`` with the questions as 4-tuples of words
    (upper-cased when ``case_insensitive``), and last a ``"Total accuracy"``
    section; ``score`` is the total's correct / (correct + incorrect), 0.0
    when nothing was asked. With ``dummy4unknown`` a question with an unknown
    word is listed as incorrect. gensim 4 accepts ``similarity_function`` but
    always answers with 3CosAdd (``most_similar``); so does this view, and the
    name is checked.
    """
    if similarity_function not in ("most_similar", "most_similar_cosmul"):
        raise ValueError(
            f"similarity_function must be 'most_similar' or 'most_similar_cosmul', not {similarity_function!r}"
        )
    res = evaluate_analogy(vectors, analogies, restrict_vocab=restrict_vocab,
                           case_insensitive=case_insensitive, dummy4unknown=dummy4unknown,
                           return_questions=True)
    sections: list[dict[str, Any]] = []
    for sec in res["items"]:
        qs = sec["questions"]
        sections.append({
            "section": sec["name"],
            "correct": [q[:4] for q in qs if q[4] is True],
            "incorrect": [q[:4] for q in qs if q[4] is False or (q[4] is None and dummy4unknown)],
        })
    total = {
        "section": "Total accuracy",
        "correct": [q for s in sections for q in s["correct"]],
        "incorrect": [q for s in sections for q in s["incorrect"]],
    }
    asked = len(total["correct"]) + len(total["incorrect"])
    score = len(total["correct"]) / asked if asked else 0.0
    sections.append(total)
    return score, sections


def evaluate_word_pairs(
    vectors: Any,
    pairs: str | os.PathLike[str],
    delimiter: str = "\t",
    encoding: str = "utf8",
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
) -> tuple[Any, Any, float]:
    """:func:`evaluate_relatedness` as gensim's ``KeyedVectors.evaluate_word_pairs`` returns it.

    ``(pearson, spearman, oov_ratio)``: SciPy's ``pearsonr`` and ``spearmanr``
    results (statistic and p-value) and the percentage of pairs with an unknown
    word, computed from the same pairs and cosines as gensim.
    """
    if encoding.replace("-", "").lower() != "utf8":
        raise ValueError(f"benchmark files are read as UTF-8; encoding={encoding!r} is not supported")
    return evaluate_relatedness(vectors, pairs, restrict_vocab=restrict_vocab,  # type: ignore[return-value]
                                case_insensitive=case_insensitive, dummy4unknown=dummy4unknown,
                                delimiter=delimiter, _gensim_view=True)


# --------------------------------------------------------------------------- everything


def evaluate_all(
    vectors: Any,
    *,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    analogy_method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    device: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Relatedness (WordSim353, SimLex-999), analogy (Google) and categorization at once.

    ``progress(done, total, desc)`` is called between the benchmarks.
    """
    vec = as_vectors(vectors)
    steps = 4
    out: dict[str, Any] = {"vectors": vec.source or repr(vec), "size": len(vec), "dim": vec.dim}

    def tick(i: int, desc: str) -> None:
        if progress is not None:
            progress(i, steps, desc)

    tick(0, "wordsim353")
    out["wordsim353"] = evaluate_relatedness(vec, "wordsim353", restrict_vocab=restrict_vocab,
                                             case_insensitive=case_insensitive)
    tick(1, "simlex999")
    out["simlex999"] = evaluate_relatedness(vec, "simlex999", restrict_vocab=restrict_vocab,
                                            case_insensitive=case_insensitive)
    tick(2, "google analogy")
    out["analogy"] = evaluate_analogy(vec, restrict_vocab=restrict_vocab,
                                      case_insensitive=case_insensitive, method=analogy_method,
                                      device=device)
    tick(3, "categorization")
    cat = evaluate_categorization(vec, restrict_vocab=restrict_vocab,
                                  case_insensitive=case_insensitive)
    cat.pop("assignments")
    cat.pop("gold")
    out["categorization"] = cat
    tick(4, "done")
    return out


__all__ = [
    "COSMUL_EPS",
    "as_vectors",
    "evaluate_all",
    "evaluate_analogy",
    "evaluate_categorization",
    "evaluate_relatedness",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
    "lookup",
    "purity",
]
