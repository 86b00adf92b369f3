"""The analogy engine (dlfaq._fast.analogy) against its oracle, the reference loop.

Random vocabularies (sizes, dimensions, exact duplicate rows that tie, restricted
vocabularies), both methods, with and without excluding the question words, and
random block and tile sizes: the engine's ranked answers must equal the
reference's (gensim's arithmetic one question at a time) exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlfaq._fast.analogy import cosmul_bound, score_bound, top_candidates
from dlfaq.embeddings.evaluate import (
    COSMUL_EPS,
    analogy_answers,
    analogy_candidates,
    evaluate_analogy,
)
from dlfaq.embeddings.io import Vectors

pytest.importorskip("torch")


@pytest.mark.parametrize("seed", range(12))
def test_engine_equals_reference(seed):
    rng = np.random.default_rng(seed)
    size, dim = int(rng.integers(8, 1500)), int(rng.integers(2, 40))
    m = rng.standard_normal((size, dim)).astype(np.float32)
    for _ in range(int(rng.integers(0, 6))):  # identical vectors: exact ties
        i, j = rng.integers(0, size, 2)
        m[j] = m[i]
    vec = Vectors([f"w{i}" for i in range(size)], m)
    n = int(rng.integers(4, size + 1))
    quads = rng.integers(0, n, (120, 4))
    quads[:10, 1] = quads[:10, 0]  # repeated question words
    top = min(5, n - 3)
    for method in ("3cosadd", "3cosmul"):
        for exclude in (True, False):
            ref = analogy_candidates(vec, quads, n, method=method, exclude_question_words=exclude, top=top)
            got, _ = top_candidates(
                vec.matrix, vec.norms, quads, n, top, method=method, exclude=exclude, eps=COSMUL_EPS,
                literal=lambda a, b, c, m_=method, x_=exclude: analogy_answers(
                    vec, a, b, c, n, method=m_, top=top, exclude_question_words=x_),
                block=int(rng.integers(1, 80)), tile=int(rng.integers(1, 700)))
            np.testing.assert_array_equal(got, ref, err_msg=f"{method} exclude={exclude}")


def test_evaluate_analogy_engine_and_reference_agree(tmp_path):
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(400)] + ["W3", "W9"]
    vec = Vectors(words, rng.standard_normal((402, 12)).astype(np.float32))
    path = tmp_path / "q.txt"
    lines = [": s"] + [" ".join(rng.choice(words[:60] + ["unk"], 4, replace=False)) for _ in range(200)]
    path.write_text("\n".join(lines) + "\n")
    for kw in ({}, {"method": "3cosmul"}, {"restrict_vocab": 50}, {"case_insensitive": False},
               {"exclude_question_words": False}, {"dummy4unknown": True}):
        fast = evaluate_analogy(vec, path, return_questions=True, **kw)
        slow = evaluate_analogy(vec, path, return_questions=True, engine=False, **kw)
        assert fast["items"] == slow["items"] and fast["sections"] == slow["sections"], kw


def test_bounds_hold():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (3, 1000))
    b = cosmul_bound(x[0], x[1], x[2], 1e-4, COSMUL_EPS)
    s = x[1] * x[2] / (x[0] + COSMUL_EPS)
    for _ in range(20):  # perturb every x by at most delta: the quotient stays within the bound
        p = x + rng.uniform(-1e-4, 1e-4, x.shape)
        sp = p[1] * p[2] / (p[0] + COSMUL_EPS)
        finite = np.isfinite(b)
        assert np.all(np.abs(sp - s)[finite] <= b[finite])
    assert score_bound(24, 50) < 1e-5 and score_bound(8, 50) < 0.05


def test_threaded_blocks_equal_one_thread_and_restore_the_thread_count():
    """Blocks run one per thread (single-threaded torch ops) when torch has several threads;
    the answers are those of the one-thread run, and torch's thread count is restored."""
    import torch

    rng = np.random.default_rng(7)
    vec = Vectors([f"w{i}" for i in range(900)], rng.standard_normal((900, 16)).astype(np.float32))
    quads = rng.integers(0, 900, (300, 4))

    def run():
        return top_candidates(
            vec.matrix, vec.norms, quads, 900, 5, method="3cosadd", exclude=True, eps=COSMUL_EPS,
            literal=lambda a, b, c: analogy_answers(vec, a, b, c, 900), block=37, tile=128)[0]

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run()
        torch.set_num_threads(2)
        two = run()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, analogy_candidates(vec, quads, 900))
