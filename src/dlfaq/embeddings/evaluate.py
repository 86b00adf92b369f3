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


def _score_bound(dtype: Any, dim: int) -> float:
    """Error bound of the engine's approximate cosines (see :func:`dlfaq._fast.analogy.score_bound`)."""
    import torch

    from dlfaq._fast.analogy import score_bound

    return score_bound(8 if dtype == torch.bfloat16 else 24, dim)


def _gensim_order(scores: np.ndarray, want: int) -> np.ndarray:
    """The first ``want`` rows by descending score, as gensim's ``matutils.argsort`` orders them."""
    neg = -scores
    if want >= neg.size:
        return np.argsort(neg)[:want]
    part = np.argpartition(neg, want)[:want]
    return part.take(np.argsort(neg.take(part)))


def analogy_answers(vec: Vectors, a: int, b: int, c: int, n: int, *, method: str = "3cosadd",
                    exclude_question_words: bool = True, top: int = 5) -> np.ndarray:
    r"""The reference: the ``top`` ranked answers (rows) of one question "a : b :: c : ?".

    ``3cosadd`` is gensim's ``most_similar(positive=[b, c], negative=[a], topn=top,
    restrict_vocab=n)``, operation for operation (:func:`~dlfaq.embeddings.io.gensim_rank`).
    ``3cosmul`` scores every row :math:`x` by
    :math:`\tilde c(x,b)\,\tilde c(x,c) / (\tilde c(x,a) + \varepsilon)` in float32 with
    gensim's ``most_similar_cosmul`` arithmetic. Question rows are left out unless
    ``exclude_question_words`` is False (then the plain top rows, stably ordered).
    """
    m, norms = vec.matrix, vec.norms
    if method == "3cosadd":
        if exclude_question_words:
            return np.asarray(gensim_rank(m, norms, [b, c], [a], n, top)[0], dtype=np.int64)
        _, scores = gensim_rank(m, norms, [b, c], [a], n, 0)
    else:
        def shifted(row: int) -> np.ndarray:
            return (1 + np.dot(m[:n], m[row] / norms[row]) / norms[:n]) / 2

        scores = (shifted(b) * shifted(c)) / (shifted(a) + COSMUL_EPS)
        if exclude_question_words:
            keys = {a, b, c}
            best = _gensim_order(scores, top + len(keys))
            return np.asarray([i for i in best if i not in keys][:top], dtype=np.int64)
    return np.argsort(-scores, kind="stable")[:top].astype(np.int64)


def analogy_candidates(vec: Vectors, quads: np.ndarray, n: int, *, method: str = "3cosadd",
                       exclude_question_words: bool = True, top: int = 5) -> np.ndarray:
    """The reference loop: :func:`analogy_answers` for every question, as gensim asks them."""
    out = np.empty((len(quads), top), dtype=np.int64)
    for j, (a, b, c) in enumerate(quads[:, :3]):
        out[j] = analogy_answers(vec, int(a), int(b), int(c), n, method=method,
                                 exclude_question_words=exclude_question_words, top=top)
    return out


def evaluate_analogy(
    vectors: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    method: Literal["3cosadd", "3cosmul"] = "3cosadd",
    dummy4unknown: bool = False,
    batch_size: int = 2048,
    device: str | None = None,
    precision: Literal["auto", "bfloat16", "float32"] = "auto",
    exclude_question_words: bool = True,
    return_questions: bool = False,
    engine: bool = True,
) -> dict[str, Any]:
    r"""Accuracy on word analogies "a is to b as c is to d" (Mikolov et al., 2013).

    The answer is the vocabulary word :math:`x \notin \{a, b, c\}` that maximises

    - ``"3cosadd"``: :math:`\cos(x,\; \hat b - \hat a + \hat c)` with :math:`\hat w`
      the unit vector of :math:`w` (the vector offset method of Mikolov, Yih &
      Zweig, 2013; gensim's ``evaluate_word_analogies``), or
    - ``"3cosmul"``: :math:`\frac{\tilde c(x,b)\,\tilde c(x,c)}{\tilde c(x,a) + \varepsilon}`
      with :math:`\tilde c = (1 + \cos)/2` and :math:`\varepsilon = 10^{-6}` (gensim's
      ``most_similar_cosmul``; Levy & Goldberg, 2014, *Linguistic Regularities in
      Sparse and Explicit Word Representations*).

    Candidates are the first ``restrict_vocab`` rows (the most frequent words).
    Each question's five best rows are walked as gensim walks them: the first
    whose case-folded word is not a question word is the answer. The reference
    is :func:`analogy_candidates` (gensim's arithmetic, one question at a time);
    by default the engine :func:`dlfaq._fast.analogy.top_candidates` computes the
    same lists in blocks and hands it the questions it cannot prove exact
    (``engine=False`` runs the reference alone). With the defaults the questions
    answered, skipped and solved are exactly gensim's.

    Args:
        vectors: word vectors (see the module docstring).
        path: an analogy file in the ``: section`` format; default the Google set.
        method: ``"3cosadd"`` (gensim's) or ``"3cosmul"``.
        dummy4unknown: count questions with unknown words as wrong instead of
            skipping them.
        batch_size, device, precision: the engine's question block, torch device
            and approximate-pass dtype (``"auto"``: bfloat16 on CUDA, float32
            otherwise); the answers do not depend on them. With numba installed,
            3CosAdd in float32 on the CPU scores from the cosines of the
            questions' distinct words (see :mod:`dlfaq._fast._scan`) and
            ``batch_size`` only groups the rescoring; otherwise the engine's
            score tile is ``batch_size x 4096`` float32 (32 MiB at the default;
            2048 ran GloVe's 19,544 questions twice as fast as 256 on 2 cores, as
            the fixed cost of each torch call is spread over more questions).
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
        gensim logs it), ``exact_fallbacks`` (questions the engine handed to the
        reference) and ``settings``.
    """
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method must be '3cosadd' or '3cosmul', not {method!r}")
    if precision not in ("auto", "bfloat16", "float32"):
        raise ValueError(f"precision must be 'auto', 'bfloat16' or 'float32', not {precision!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    vec = as_vectors(vectors)
    ok = _vocab_map(vec, restrict_vocab, case_insensitive)
    n = len(vec) if restrict_vocab is None else min(int(restrict_vocab), len(vec))
    sections = read_analogies(path)
    fold = str.upper if case_insensitive else str
    # canon[i]: the row that row i's (case-folded) word resolves to
    canon = np.fromiter((ok[fold(w)] for w in vec.words[:n]), dtype=np.int64, count=n)

    quads: list[tuple[int, ...]] = []
    asked: list[list[tuple[tuple[str, ...], int]]] = []  # per section: (words, index in quads or -1)
    for sec in sections:
        asked.append([])
        for q in sec.questions:
            words = tuple(fold(w) for w in q)
            known = all(w in ok for w in words)
            asked[-1].append((words, len(quads) if known else -1))
            if known:
                quads.append(tuple(ok[w] for w in words))
    q_idx = np.asarray(quads, dtype=np.int64).reshape(-1, 4)

    if precision == "auto":
        precision = "bfloat16" if (device or "cpu").startswith("cuda") and method == "3cosadd" else "float32"
    if method == "3cosmul":
        precision = "float32"
    correct = np.zeros(len(q_idx), dtype=bool)
    handed = 0
    if len(q_idx) and n > 3:
        top = min(5, n - 3)
        found = None
        if engine:
            from dlfaq._fast.analogy import top_candidates

            found = top_candidates(
                vec.matrix, vec.norms, q_idx, n, top, method=method, exclude=exclude_question_words,
                eps=COSMUL_EPS, precision=precision, device=device, block=batch_size,
                literal=lambda a, b, c: analogy_answers(vec, a, b, c, n, method=method, top=top,
                                                        exclude_question_words=exclude_question_words))
        if found is not None:
            cand, info = found
            handed = info["handed_to_reference"]
        else:
            cand = analogy_candidates(vec, q_idx, n, method=method, top=top,
                                      exclude_question_words=exclude_question_words)
        correct = _walk(canon[cand], q_idx, exclude_question_words) == q_idx[:, 3]
    return _analogy_result(sections, asked, correct, dummy4unknown, return_questions, path, method, {
        "exact_fallbacks": handed,
        "settings": _settings(restrict_vocab, case_insensitive, dummy4unknown, method=method,
                              exclude_question_words=exclude_question_words, first_pass=precision),
    })


def _walk(cc: np.ndarray, q_idx: np.ndarray, exclude: bool) -> np.ndarray:
    """gensim's walk down the ranked answers: the first not a question word (else the last)."""
    if not exclude:
        return cc[:, 0]
    free = (cc != q_idx[:, 0:1]) & (cc != q_idx[:, 1:2]) & (cc != q_idx[:, 2:3])
    pos = np.where(free.any(1), free.argmax(1), cc.shape[1] - 1)
    return np.take_along_axis(cc, pos[:, None], axis=1)[:, 0]


def _analogy_result(sections: list[Any], asked: list[list[tuple[tuple[str, ...], int]]],
                    correct: np.ndarray, dummy4unknown: bool, return_questions: bool,
                    path: Any, method: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Counts per section and overall, in gensim's accounting."""
    sec_stats = []
    for sec, qs in zip(sections, asked, strict=True):
        hits = sum(bool(correct[i]) for _, i in qs if i >= 0)
        answered = sum(i >= 0 for _, i in qs)
        skipped = len(qs) - answered
        total = answered + (skipped if dummy4unknown else 0)
        sec_stats.append({"name": sec.name, "correct": hits, "total": total,
                          "skipped": 0 if dummy4unknown else skipped,
                          "accuracy": hits / total if total else None})

    def agg(pred: Any) -> dict[str, Any]:
        cs = [st for st in sec_stats if pred(st["name"])]
        c = sum(st["correct"] for st in cs)
        t = sum(st["total"] for st in cs)
        return {"correct": c, "total": t, "skipped": sum(st["skipped"] for st in cs),
                "accuracy": c / t if t else None}

    n_questions = sum(len(qs) for qs in asked)
    oov = sum(i < 0 for qs in asked for _, i in qs)
    out = {
        "dataset": str(dataset_path(path if path is not None else ANALOGY)),
        "method": method,
        **agg(lambda name: True),
        "questions": n_questions,
        "oov_ratio": float(oov) / n_questions * 100 if n_questions else 0.0,
        "sections": sec_stats,
        "semantic": agg(lambda name: not name.startswith("gram")),
        "syntactic": agg(lambda name: name.startswith("gram")),
        **extra,
    }
    if return_questions:
        out["items"] = [
            {"name": sec.name,
             "questions": [(*w, bool(correct[i]) if i >= 0 else None) for w, i in qs]}
            for sec, qs in zip(sections, asked, strict=True)
        ]
    return out


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
    "analogy_answers",
    "analogy_candidates",
    "evaluate_all",
    "evaluate_analogy",
    "evaluate_categorization",
    "evaluate_relatedness",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
    "lookup",
    "purity",
]
