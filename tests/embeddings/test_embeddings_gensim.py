"""gensim's view of the evaluations, its tie order, its 3CosMul epsilon and its loader arguments.

The oracle is gensim itself (``KeyedVectors``), run on the same vectors.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gensim", reason="gensim is part of the 'embeddings' extra")

from gensim.models import KeyedVectors  # noqa: E402

from dlfaq.embeddings.evaluate import (  # noqa: E402
    COSMUL_EPS,
    evaluate_analogy,
    evaluate_word_analogies,
    evaluate_word_pairs,
)
from dlfaq.embeddings.io import LoadError, Vectors, load  # noqa: E402


@pytest.fixture(scope="module")
def tied() -> tuple[Vectors, object, list[tuple[str, ...]]]:
    """600 random words in 16 dimensions where groups of words share one vector exactly."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(600)]
    m = rng.standard_normal((600, 16)).astype(np.float32)
    for src, copies in ((5, (40, 41, 42)), (7, (90,)), (11, (12, 13, 300, 301))):
        for c in copies:
            m[c] = m[src]  # exact duplicates: their scores tie bit for bit
    # a few case variants, which gensim folds to the first (most frequent) row
    words[500], words[501] = "W5", "W7"
    vec = Vectors(words, m)
    questions = []
    for _ in range(300):
        a, b, c, d = rng.choice(120, size=4, replace=False)
        questions.append((words[a], words[b], words[c], words[d]))
    # questions whose answers are tied rows (b - a + c lands on a duplicated vector)
    questions += [("w1", "w5", "w1", "w40"), ("w2", "w11", "w2", "w12"), ("w3", "w7", "w3", "w90"),
                  ("w40", "w5", "w41", "w42"), ("W5", "w11", "w7", "w13")]
    return vec, vec.to_gensim(), questions


def _write_questions(path, questions) -> None:
    half = len(questions) // 2
    text = ": first\n" + "".join(" ".join(q) + "\n" for q in questions[:half])
    text += ": gram-second\n" + "".join(" ".join(q) + "\n" for q in questions[half:])
    text += "not four words\n"
    path.write_text(text)


@pytest.mark.parametrize("restrict_vocab,case_insensitive,dummy", [
    (300000, True, False), (100, True, True), (600, False, False), (50, False, True),
])
def test_analogy_view_is_gensims_result(tmp_path, tied, restrict_vocab, case_insensitive, dummy):
    vec, kv, questions = tied
    path = tmp_path / "q.txt"
    _write_questions(path, questions)
    want = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab,
                                      case_insensitive=case_insensitive, dummy4unknown=dummy)
    got = evaluate_word_analogies(vec, path, restrict_vocab=restrict_vocab,
                                  case_insensitive=case_insensitive, dummy4unknown=dummy)
    assert got[0] == want[0]
    assert got[1] == want[1]  # every question in the same list, in the same order
    assert got[1][-1]["section"] == "Total accuracy"
    # and dlfaq's own dict counts the same questions
    own = evaluate_analogy(vec, path, restrict_vocab=restrict_vocab,
                           case_insensitive=case_insensitive, dummy4unknown=dummy)
    assert own["correct"] == len(want[1][-1]["correct"])
    assert own["total"] == len(want[1][-1]["correct"]) + len(want[1][-1]["incorrect"])


def test_tied_neighbours_come_out_in_gensims_order(tied):
    vec, kv, _ = tied
    for word in ("w5", "w40", "w11", "w300", "w7", "w0"):
        for restrict in (None, 200, 45):
            want = kv.most_similar(word, topn=6, restrict_vocab=restrict)
            assert vec.most_similar(word, 6, restrict_vocab=restrict) == want, (word, restrict)
    q = vec["w11"] * 3
    assert vec.most_similar(q, 5) == kv.most_similar(positive=[q], topn=5)


def test_word_pairs_view_is_gensims_result(tmp_path, tied):
    vec, kv, _ = tied
    rng = np.random.default_rng(0)
    lines = ["# a comment line"]
    for _ in range(40):
        a, b = rng.choice(700, size=2, replace=False)  # some words are unknown (w600...)
        lines.append(f"w{a}\tw{b}\t{rng.uniform(0, 10):.2f}")
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    for dummy in (False, True):
        want = kv.evaluate_word_pairs(str(path), dummy4unknown=dummy)
        got = evaluate_word_pairs(vec, path, dummy4unknown=dummy)
        assert got[0] == want[0] and got[1] == want[1] and got[2] == want[2]


def test_cosmul_epsilon_is_gensims(tmp_path):
    assert COSMUL_EPS == 1e-6  # gensim's most_similar_cosmul divides by (prod + 0.000001)
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(300)]
    vec = Vectors(words, rng.standard_normal((300, 8)).astype(np.float32))
    kv = vec.to_gensim()
    qs = [tuple(words[i] for i in rng.choice(300, 4, replace=False)) for _ in range(60)]
    p = tmp_path / "q.txt"
    p.write_text(": s\n" + "".join(" ".join(q) + "\n" for q in qs))
    out = evaluate_analogy(vec, p, method="3cosmul", case_insensitive=False, return_questions=True)
    # each 3CosMul answer is gensim's most_similar_cosmul top answer (question words excluded)
    asked = out["items"][0]["questions"]
    assert len(asked) == len(qs)
    for a, b, c, d, ok in asked:
        top = kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=1)[0][0]
        assert ok == (top == d), (a, b, c, d, top)


def test_loader_arguments_like_gensims(tmp_path):
    data = "2 3\nab\u00e9 0.5 0.25 -1\ncd 1 2 3\n".encode("latin-1")
    p = tmp_path / "v.txt"
    p.write_bytes(data)
    with pytest.raises(UnicodeDecodeError):  # gensim's exception with unicode_errors="strict"
        load(p)
    with pytest.raises(LoadError, match=r"v.txt:2: invalid utf-8"):
        load(p)
    for errors in ("replace", "ignore"):
        want = KeyedVectors.load_word2vec_format(str(p), unicode_errors=errors)
        got = load(p, unicode_errors=errors)
        assert got.words == list(want.index_to_key)
        np.testing.assert_array_equal(got.matrix, want.vectors)
    assert load(p, encoding="latin-1").words == ["ab\u00e9", "cd"]
    for dt in (np.float16, np.float64):
        want = KeyedVectors.load_word2vec_format(str(p), datatype=dt, unicode_errors="ignore")
        got = load(p, datatype=dt, unicode_errors="ignore")
        assert got.matrix.dtype == dt
        np.testing.assert_array_equal(got.matrix, want.vectors)
    assert load(p, limit=1, unicode_errors="ignore").words == ["ab"]
    (tmp_path / "g.txt").write_bytes(b"x 1 2\ny 3 4\n")
    want = KeyedVectors.load_word2vec_format(str(tmp_path / "g.txt"), no_header=True)
    np.testing.assert_array_equal(load(tmp_path / "g.txt", no_header=True).matrix, want.vectors)
    (tmp_path / "o.txt").write_bytes(b"1 2\nx 1 70000\n")  # 70000 overflows float16
    with pytest.raises(LoadError, match=r"o.txt:2: value inf is not finite .*overflows float16"):
        load(tmp_path / "o.txt", datatype=np.float16)
