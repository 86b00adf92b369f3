"""The analogy engine (dlfaq._fast.analogy) against its oracle, the reference loop.

Random vocabularies (sizes, dimensions, exact duplicate rows that tie, restricted
vocabularies), both methods, with and without excluding the question words,
random block and tile sizes, and both ways of folding a tile (the compiled scan
and the torch path): the engine's ranked answers must equal the reference's
(gensim's arithmetic one question at a time) exactly. The compiled scan itself
is checked against numpy's ranking of random tiles.
"""

from __future__ import annotations

import sys
from itertools import pairwise

import numpy as np
import pytest

import dlfaq._fast.analogy as engine
from dlfaq._fast.analogy import (
    compiled_scan,
    cosmul_bound,
    offset_bound,
    score_bound,
    top_candidates,
)
from dlfaq.embeddings.evaluate import (
    COSMUL_EPS,
    analogy_answers,
    analogy_candidates,
    evaluate_analogy,
)
from dlfaq.embeddings.io import Vectors

pytest.importorskip("torch")


@pytest.mark.parametrize("scan", ["auto", "torch"])
@pytest.mark.parametrize("seed", range(12))
def test_engine_equals_reference(seed, scan):
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
                block=int(rng.integers(1, 80)), tile=int(rng.integers(1, 700)), scan=scan)
            np.testing.assert_array_equal(got, ref, err_msg=f"{method} exclude={exclude} scan={scan}")


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


needs_numba = pytest.mark.skipif(compiled_scan() is None, reason="numba is not installed")


@needs_numba
@pytest.mark.parametrize("seed", range(6))
def test_compiled_scan_keeps_the_k_best_and_bounds_the_rest(seed):
    """Folding random word-cosine tiles (widths not multiples of the 64-column chunk, NaN,
    exact ties, repeated words, a per-question shift) into the running best keeps the k best
    of numpy's float32 scores ((b - a) + c) * inv, stores them as score + shift, and leaves
    every row not kept at most the last kept value."""
    scan = compiled_scan()
    rng = np.random.default_rng(seed)
    m, w, q, k = int(rng.integers(1, 12)), int(rng.integers(1, 900)), int(rng.integers(1, 40)), int(rng.integers(1, 25))
    sims = rng.uniform(-1, 1, (m, w)).astype(np.float32)
    sims[rng.random((m, w)) < 0.005] = np.nan
    sims[:, w // 2:w // 2 + 3] = sims[:, :1]  # ties
    ia, ib, ic = (rng.integers(0, m, q) for _ in range(3))
    inv = rng.uniform(0.5, 3, q).astype(np.float32)
    shift = rng.choice([0.0, 1e-6, 0.25], q)
    best_v = np.full((q, k), -np.inf, dtype=np.float32)
    best_i = np.zeros((q, k), dtype=np.int64)
    cuts = sorted(set(rng.integers(0, w, 3).tolist()) | {0, w})
    for a, b in pairwise(cuts):
        scan(np.ascontiguousarray(sims[:, a:b]), ia, ib, ic, inv, a, best_v, best_i, shift)
    scores = ((sims[ib] - sims[ia]) + sims[ic]) * inv[:, None]  # float32, as the kernel
    clean = np.nan_to_num(scores, nan=-np.inf).astype(np.float64)
    for r in range(q):
        want = np.sort(clean[r])[::-1][:k]
        kept = min(k, int(np.isfinite(clean[r]).sum()))
        got_cols = best_i[r, :kept]
        assert len(set(got_cols.tolist())) == kept
        np.testing.assert_array_equal(np.sort(clean[r, got_cols])[::-1], want[:kept])
        np.testing.assert_allclose(best_v[r, :kept], clean[r, got_cols] + shift[r], rtol=0, atol=1e-6)
        assert np.all(np.diff(best_v[r]) <= 0)
        rest = np.setdiff1d(np.arange(w), got_cols)
        finite = rest[np.isfinite(clean[r, rest])]
        if kept == k and len(finite):
            assert clean[r, finite].max() + shift[r] <= best_v[r, -1] + 1e-6


def test_offset_bound_holds_for_float32_word_cosines():
    """The compiled scan's score, from float32 word cosines, stays within offset_bound of the
    float64 score of the exact offset; and the bound is tight enough to prune (< 1e-4)."""
    import torch

    rng = np.random.default_rng(11)
    for dim in (8, 50, 300):
        v = rng.standard_normal((400, dim)).astype(np.float32) * rng.uniform(0.1, 10, (400, 1)).astype(np.float32)
        nrm = np.linalg.norm(v, axis=1).astype(np.float32)
        unit32 = v / nrm[:, None]
        quads = rng.integers(0, 400, (300, 3))
        words, inv_idx = np.unique(quads, return_inverse=True)
        ia, ib, ic = inv_idx.reshape(-1, 3).T
        u64 = unit32[words].astype(np.float64)
        qn = np.linalg.norm((u64[ib] - u64[ia]) + u64[ic], axis=1)
        keep = qn > 1e-3
        inv = (1 / np.where(keep, qn, 1)).astype(np.float32)
        sims = torch.mm(torch.from_numpy(unit32[words]), torch.from_numpy(unit32).T).numpy()
        approx = ((sims[ib] - sims[ia]) + sims[ic]) * inv[:, None]
        exact_units = v.astype(np.float64) / nrm.astype(np.float64)[:, None]
        off = (exact_units[quads[:, 1]] - exact_units[quads[:, 0]]) + exact_units[quads[:, 2]]
        off /= np.linalg.norm(off, axis=1, keepdims=True)
        exact = off @ exact_units.T
        err = np.abs(approx - exact)[keep]
        bound = offset_bound(dim, inv)[keep][:, None]
        assert np.all(err <= bound)
        assert bound.max() < 1e-4


def test_without_numba_the_torch_path_answers(monkeypatch):
    """With numba not importable the probe says so and ``scan="auto"`` takes the torch path
    (same answers); asking for the compiled scan then is an error, as it is for 3CosMul."""
    rng = np.random.default_rng(3)
    vec = Vectors([f"w{i}" for i in range(300)], rng.standard_normal((300, 8)).astype(np.float32))
    quads = rng.integers(0, 300, (50, 4))

    def run(**kw):
        return top_candidates(vec.matrix, vec.norms, quads, 300, 5, eps=COSMUL_EPS,
                              literal=lambda a, b, c: analogy_answers(vec, a, b, c, 300), **kw)

    with pytest.raises(RuntimeError, match="compiled scan"):
        run(method="3cosmul", exclude=True, scan="compiled")
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "dlfaq._fast._scan", raising=False)
    compiled_scan.cache_clear()
    try:
        assert compiled_scan() is None
        got, _ = run(method="3cosadd", exclude=True)
        with pytest.raises(RuntimeError, match="compiled scan"):
            run(method="3cosadd", exclude=True, scan="compiled")
    finally:
        compiled_scan.cache_clear()
    np.testing.assert_array_equal(got, analogy_candidates(vec, quads, 300))


@needs_numba
def test_numba_with_its_jit_disabled_is_not_used(monkeypatch):
    """NUMBA_DISABLE_JIT=1 would run the scan as Python: the probe refuses it."""
    import numba

    monkeypatch.setattr(numba.config, "DISABLE_JIT", True)
    compiled_scan.cache_clear()
    try:
        assert compiled_scan() is None
    finally:
        compiled_scan.cache_clear()
        monkeypatch.undo()
    assert compiled_scan() is not None


@pytest.mark.parametrize("scan", ["auto", "torch"])
def test_a_vanishing_offset_goes_to_the_reference(scan):
    """b + c = a for unit vectors 60 degrees either side of a: the offset b - a + c is zero up to
    rounding, so its direction (and the answer) is set by rounding; the engine hands such a
    question to the reference on both paths."""
    rng = np.random.default_rng(2)
    m = rng.standard_normal((200, 3)).astype(np.float32)
    m[:3] = [[1, 0, 0], [0.5, np.sqrt(3) / 2, 0], [0.5, -np.sqrt(3) / 2, 0]]
    vec = Vectors([f"w{i}" for i in range(200)], m)
    quads = np.array([[0, 1, 2, 5], [3, 4, 5, 6]])
    calls = []

    def literal(a, b, c):
        calls.append((a, b, c))
        return analogy_answers(vec, a, b, c, 200)

    got, stats = top_candidates(vec.matrix, vec.norms, quads, 200, 5, method="3cosadd", exclude=True,
                                eps=COSMUL_EPS, literal=literal, scan=scan)
    assert (0, 1, 2) in calls and stats["handed_to_reference"] >= 1
    np.testing.assert_array_equal(got, analogy_candidates(vec, quads, 200))
    # the flag itself, on the path asked for (the end-to-end check alone would also pass when
    # the question happened to be handed over as a tie)
    unit = vec.matrix / vec.norms[:, None]
    import torch

    if scan == "torch" or compiled_scan() is None:
        _, odd = engine._queries(unit, quads, "3cosadd", torch.device("cpu"), torch.float32)
    else:
        odd = engine._fold_offsets(compiled_scan(), unit, torch.from_numpy(unit), quads, 19, None, 1e-6, 1)[2]
    assert odd.tolist() == [True, False]
