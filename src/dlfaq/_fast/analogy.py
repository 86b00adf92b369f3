r"""Speed engine for :func:`dlfaq.embeddings.evaluate.evaluate_analogy` (issue 14).

One entry point, :func:`top_candidates`: for a batch of analogy questions it
returns the same ranked answer lists as the reference loop
(:func:`dlfaq.embeddings.evaluate.analogy_candidates`, gensim's arithmetic one
question at a time), or ``None`` when its probe fails (no torch, or the device
does not run a matrix product), and the caller then runs the reference.

How it stays exact while scoring approximately:

1. *Blocked score-and-select.* The vocabulary goes in tiles of ``tile`` rows,
   so that the ``(questions x vocabulary)`` score matrix is never formed. Each
   tile costs one matrix product on unit vectors, and only the ``k`` best per
   question are kept. Two ways to do it:

   - the *compiled scan* (:mod:`dlfaq._fast._scan`, needs numba; 3CosAdd in
     float32 on the CPU, :func:`_fold_offsets`): the tile is not a score per
     question but the cosines of the questions' distinct words (904 for the
     Google set's 19,486 answerable questions on GloVe) with the tile's 2048
     rows, and one loop per tile adds three of its rows per question, tests 64
     columns at a time with vector compares and walks only the chunks above the
     question's cut. The product that grows with the vocabulary is 22 times
     smaller. Measured on GloVe (300k rows, 2 cores, same process): 2.2 s
     against 5.4 s for the torch path (CPU time 3.9 s against 10.6 s);
   - the *torch path* (any device, bfloat16, 3CosMul): chunk maxima, a gather
     of the chunks above the cut and a top-k merge, about a dozen tensor calls
     a tile; with 256-question blocks the fixed cost of each call (10-30 us)
     made the selection take over half of the time, so this path uses
     2048-question blocks and 32 MiB tiles (2048 x 4096).
2. *Proof that nothing was lost.* Every approximate score is within a proven
   bound of the exact one (:func:`score_bound` for 3CosAdd's cosines,
   :func:`offset_bound` for the compiled scan's sums of word cosines,
   :func:`cosmul_bound` for 3CosMul's quotient). The kept candidates are
   rescored in float64; if even the best discarded row could (within the
   bounds) reach the fifth answer, the question goes to the reference, as does
   one whose offset :math:`\hat b - \hat a + \hat c` is shorter than 1e-3
   (its direction, hence its answer, is then set by rounding).
3. *Ties.* gensim ranks float32 scores, so two candidates whose exact scores
   are closer than the float32 error may come out in either order there
   (identical vectors tie exactly); such questions go to the reference too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

_U = 2.0**-24  # float32 unit roundoff
# Vocabulary rows per tile of the compiled scan (a 904-word tile of 2048 rows is 7 MiB of float32,
# read three rows per question from cache). Whole GloVe evaluations, 2 cores, same process,
# interleaved (seconds, native / AVX2 kernels): 256 rows 2.3 / 1.8, 576 rows 2.8 / 2.2, 1024 rows
# 2.1 / 1.4, 2048 rows 1.8-2.2 / 1.2-2.1, 4096 rows 1.8 / 1.8, 8192 rows 2.2 / 1.9: small tiles
# pay the per-question setup of each tile more often.
_WORD_TILE_ROWS = 2048


def score_bound(bits: int, dim: int) -> float:
    r"""Bound on :math:`|\hat s - s|` for a cosine of unit vectors computed with inputs rounded to
    ``bits`` of precision and float32 accumulation.

    Rounding each factor perturbs each product by at most :math:`(2u + u^2)|u_i q_i|` with
    :math:`u = 2^{-\text{bits}}`, and :math:`\sum_i |u_i q_i| \le 1` (Cauchy-Schwarz);
    float32 accumulation adds at most :math:`d\,2^{-24}` and rounding the result
    :math:`u`. Doubled for safety.
    """
    u = 2.0**-bits
    return 2.0 * ((2 * u + u * u) + dim * _U + u)


def cosmul_bound(xa: np.ndarray, xb: np.ndarray, xc: np.ndarray, delta: float, eps: float) -> np.ndarray:
    r"""Bound on the error of :math:`S = x_b x_c / (x_a + \varepsilon)` when each
    :math:`x = (1 + \cos)/2` is known to within ``delta`` (plus float32 rounding of the
    product and the quotient). Infinite where the denominator may reach zero. Doubled.
    """
    q = xa + eps
    dq = delta + 2 * _U * np.abs(q)
    p = xb * xc
    dp = delta * (np.abs(xb) + np.abs(xc) + 2 * delta) + delta * delta + 2 * _U * np.abs(p)
    den = q - dq
    s = np.abs(p) / np.maximum(np.abs(q), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(den > 0, (dp + s * dq) / den + 2 * _U * s, np.inf)
    return 2.0 * b


def _probe(device: str | None) -> Any:
    try:
        import torch

        dev = torch.device(device or "cpu")
        a = torch.ones((2, 3), device=dev)
        if float(torch.mm(a, a.T)[0, 0]) != 3.0:
            return None
        return dev
    except Exception:  # noqa: BLE001 - any failure means: use the reference
        return None


@functools.cache
def compiled_scan() -> Callable[..., None] | None:
    """The compiled 3CosAdd tile scan (:func:`dlfaq._fast._scan.scan_offsets`), or ``None`` when
    numba is missing or its JIT is disabled, or the kernel does not give the ``k`` best of a
    small random case as numpy ranks the same float32 scores."""
    try:
        import numba

        from dlfaq._fast._scan import scan_offsets
    except Exception:  # noqa: BLE001 - no numba (or a broken one): the torch path
        return None
    if getattr(numba.config, "DISABLE_JIT", False):  # NUMBA_DISABLE_JIT=1 would run it as Python
        return None
    try:
        rng = np.random.default_rng(0)
        sims = rng.standard_normal((5, 200)).astype(np.float32)
        sims[1, 5] = np.nan
        ia, ib, ic = np.array([0, 1, 2]), np.array([3, 4, 1]), np.array([4, 0, 3])
        inv = np.array([0.5, 1.0, 2.0], dtype=np.float32)
        best_v = np.full((3, 4), -np.inf, dtype=np.float32)
        best_i = np.zeros((3, 4), dtype=np.int64)
        for t0, t1 in ((0, 130), (130, 200)):
            scan_offsets(np.ascontiguousarray(sims[:, t0:t1]), ia, ib, ic, inv, t0, best_v, best_i,
                         np.zeros(3))
        scores = ((sims[ib] - sims[ia]) + sims[ic]) * inv[:, None]
        want = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")[:, :4]
        if not np.array_equal(best_i, want):
            return None
    except Exception:  # noqa: BLE001
        return None
    return scan_offsets


def offset_bound(dim: int, inv_norm: np.ndarray) -> np.ndarray:
    r"""Bound on the error of 3CosAdd's score computed from word cosines, as the compiled scan
    computes it: :math:`\hat s = ((\hat s_b - \hat s_a) + \hat s_c)\,\hat r` in float32, with
    :math:`\hat s_x` the float32 cosine of word :math:`x` with the row and
    :math:`\hat r = 1/\lVert \hat b - \hat a + \hat c \rVert` (``inv_norm``).

    The exact score is :math:`(c_b - c_a + c_c)\,r` with exact cosines :math:`c_x` and
    :math:`r` from exact unit vectors. Each :math:`|\hat s_x - c_x| \le e` =
    :func:`score_bound` (24 bits); the two float32 sums of terms at most 3 in size add at most
    :math:`6u`; the unit vectors' rounding moves the norm by at most :math:`6u`, which moves
    :math:`r\,(c_b - c_a + c_c)` (at most 1 in size) by at most :math:`6u\,r`; rounding
    :math:`\hat r` and the product add :math:`u\,r` and :math:`2u`. So
    :math:`|\hat s - s| \le (3e + 13u)\,r + 2u`; the bound returned is
    :math:`(3e + 16u)\,r\,(1 + 4u) + 4u`.
    """
    e = score_bound(24, dim)
    return (3 * e + 16 * _U) * inv_norm.astype(np.float64) * (1 + 4 * _U) + 4 * _U


def top_candidates(
    matrix: np.ndarray,
    norms: np.ndarray,
    quads: np.ndarray,
    n: int,
    top: int,
    *,
    method: str,
    exclude: bool,
    eps: float,
    literal: Callable[[int, int, int], np.ndarray],
    precision: str = "float32",
    device: str | None = None,
    block: int = 2048,
    tile: int | None = None,
    scan: Literal["auto", "compiled", "torch"] = "auto",
) -> tuple[np.ndarray, dict[str, int]] | None:
    """The ranked ``top`` answers of each question ``(a, b, c, d)`` over rows ``:n``.

    Args:
        matrix, norms: the vectors (float32) and their norms.
        quads: ``(Q, 4)`` row indices of the questions (only a, b, c are used).
        literal: the reference for one question ``(a, b, c) -> top rows``; the
            engine hands it the questions it cannot prove (near-ties, crowded tops).
        precision: ``"float32"`` or ``"bfloat16"`` for the approximate pass.
        block, tile: questions per block (the torch path's score tile, and the unit of the
            rescoring) and vocabulary rows per tile (``tile=None``: 2048 for the compiled
            scan's word tile, 4096 for the torch path).
        scan: how a tile is folded into the running best. ``"compiled"``: one pass of
            :func:`compiled_scan` over the words' cosines (3CosAdd in float32 on the CPU,
            numba installed); ``"torch"``: tensor calls on per-question scores;
            ``"auto"``: the compiled scan where it applies.

    Returns:
        ``(cand, stats)`` with ``cand`` of shape ``(Q, top)`` and ``stats`` counting
        the questions handed to ``literal``; ``None`` when the probe fails.
    """
    dev = _probe(device)
    if dev is None:
        return None
    import torch

    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    fold = None
    if scan != "torch" and method == "3cosadd" and dtype == torch.float32 and dev.type == "cpu":
        fold = compiled_scan()
    if scan == "compiled" and fold is None:
        raise RuntimeError("the compiled scan needs numba, 3CosAdd, float32 and the CPU")
    bits = 8 if dtype == torch.bfloat16 else 24
    dim = matrix.shape[1]
    bound = score_bound(bits, dim)  # approximate pass vs exact cosine
    lit_bound = 4.0 * (dim + 4) * _U  # gensim's float32 scores vs exact (ties)
    v32 = matrix[:n]
    nrm = norms[:n]
    unit_np = v32 / nrm[:, None]
    unit_np[nrm == 0] = 0.0
    unit_t = torch.from_numpy(np.ascontiguousarray(unit_np)).to(dev, dtype)
    # slots per question: enough for every row within the bounds of the fifth answer nearly
    # always, plus 3 for the question words (masked only at the rescoring)
    k = min((64 if dtype == torch.bfloat16 else 16) + (3 if exclude else 0), n)
    out = np.empty((len(quads), top), dtype=np.int64)
    threads = torch.get_num_threads() if dev.type == "cpu" else 1
    workers = min(threads, -(-len(quads) // block))
    pre = None
    if fold is not None:
        with _one_torch_thread(torch):
            pre = _fold_offsets(fold, unit_np, unit_t, quads, k, tile, lit_bound, threads)

    def one_block(s0: int) -> int:
        """Answers of questions ``s0 : s0 + block`` into ``out``; returns how many went to ``literal``."""
        qb = quads[s0:s0 + block]
        if pre is not None:
            vals, cand, odd = (x[s0:s0 + block] for x in pre)
        else:
            terms, odd = _queries(unit_np, qb, method, dev, dtype)
            vals, cand = _select(terms, unit_t, len(qb), k, tile or 4096, method, eps, bound, lit_bound, dev)
        key_k = vals[:, -1].astype(np.float64)  # upper bound of the discarded
        exact, lit = _rescore(v32, nrm, qb, cand, method, eps, lit_bound)
        if exclude:
            exact[(cand == qb[:, 0:1]) | (cand == qb[:, 1:2]) | (cand == qb[:, 2:3])] = -np.inf
        order = np.argsort(-exact, axis=1, kind="stable")[:, :top + 1]
        ranked = np.take_along_axis(exact, order, axis=1)
        rlit = np.take_along_axis(lit, order, axis=1)
        fifth = ranked[:, top - 1]
        crowded = (k < n) & ~(key_k + rlit[:, top - 1] < fifth)
        gaps = ranked[:, :-1] - ranked[:, 1:]
        tied = (np.isfinite(ranked[:, 1:]) & (gaps <= rlit[:, :-1] + rlit[:, 1:])).any(axis=1)
        out[s0:s0 + len(qb)] = np.take_along_axis(cand, order[:, :top], axis=1)
        hard = np.nonzero(crowded | tied | odd)[0]
        for j in hard:
            out[s0 + j] = literal(int(qb[j, 0]), int(qb[j, 1]), int(qb[j, 2]))
        return len(hard)

    starts = range(0, len(quads), block)
    if workers <= 1:
        handed = sum(one_block(s0) for s0 in starts)
    else:
        # One block per thread, each running single-threaded torch ops, instead of every op
        # split over all threads: the ~15 small ops a tile then pay no fork/join, and a busy
        # machine no longer stalls every op on its slowest thread. Measured on GloVe, 2 cores,
        # the two versions interleaved in one process, 3 runs each: 14.5-15.1 s against
        # 28.2-34.5 s while other jobs loaded the CPU; 6.6-7.7 s against 5.7-7.0 s when quiet.
        with _one_torch_thread(torch), ThreadPoolExecutor(workers) as pool:
            handed = sum(pool.map(one_block, starts))
    return out, {"handed_to_reference": handed}


@contextlib.contextmanager
def _one_torch_thread(torch: Any) -> Iterator[None]:
    """torch's intra-op thread count is process-wide: 1 inside (the engine's own threads each
    run single-threaded ops), then restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _queries(unit_np: np.ndarray, qb: np.ndarray, method: str, dev: Any, dtype: Any
             ) -> tuple[list[Any], np.ndarray]:
    """The torch path's query vectors (3CosAdd's unit offset, or 3CosMul's three unit vectors),
    and a flag for the 3CosAdd questions whose offset is too short to have a stable direction
    (they go to the reference, as on the compiled path)."""
    import torch

    ia, ib, ic = qb[:, 0], qb[:, 1], qb[:, 2]
    if method == "3cosadd":
        qn = (unit_np[ib] + unit_np[ic]) - unit_np[ia]
        norm = np.linalg.norm(qn, axis=1, keepdims=True)
        qn /= np.maximum(norm, 1e-30)
        return [torch.from_numpy(qn).to(dev, dtype)], ~(norm[:, 0] > 1e-3)
    return [torch.from_numpy(unit_np[x]).to(dev, dtype) for x in (ia, ib, ic)], np.zeros(len(qb), dtype=bool)


def _fold_offsets(fold: Callable[..., None], unit_np: np.ndarray, unit_t: Any, quads: np.ndarray, k: int,
                  tile: int | None, lit_bound: float, workers: int) -> tuple[np.ndarray, ...]:
    r"""3CosAdd's running top-k for all questions with the compiled scan (``unit_t``: the unit
    vectors ``unit_np`` as a CPU float32 tensor, sharing its memory).

    The Google set's 19,486 questions answerable on GloVe use 904 distinct words, and
    :math:`\cos(\hat b - \hat a + \hat c, w)` is a sum of three word cosines over the
    offset's norm. So each vocabulary tile costs one product of the *words* with the tile (a
    22nd of the flops of one product per question) and one :func:`~dlfaq._fast._scan.scan_offsets`
    pass that adds three rows of it per question and keeps the best. Tiles are dealt to
    ``workers`` threads in turn (each keeps its own best, merged at the end; the merged k-th
    value is at least each thread's, so the invariant holds). Measured on GloVe (2 cores,
    AVX2 kernels): the product of one query per question took 7.5 s of CPU by itself; the
    whole evaluation with this fold takes 2.4-3.9 s of CPU.

    Returns the upper bounds (descending), the rows of each question's ``k`` kept candidates,
    and a flag for questions whose offset is (nearly) zero, which go to the reference.
    """
    import torch

    words, inverse = np.unique(quads[:, :3], return_inverse=True)
    ia, ib, ic = (np.ascontiguousarray(inverse.reshape(-1, 3)[:, j]) for j in range(3))
    u = unit_np[words].astype(np.float64)
    qnorm = np.linalg.norm((u[ib] - u[ia]) + u[ic], axis=1)
    odd = ~(qnorm > 1e-3)  # an offset this short has no stable direction (and NaN goes here)
    inv = (1.0 / np.where(odd, 1.0, qnorm)).astype(np.float32)
    shift = offset_bound(unit_np.shape[1], inv) + lit_bound / 2
    words_t = unit_t[torch.from_numpy(words)]
    n, nq = len(unit_np), len(quads)
    tile = tile or _WORD_TILE_ROWS
    starts = list(range(0, n, tile))

    def part(p: int) -> tuple[np.ndarray, np.ndarray]:
        best_v = np.full((nq, k), -np.inf, dtype=np.float32)
        best_i = np.zeros((nq, k), dtype=np.int64)
        sims = torch.empty((len(words), tile), dtype=torch.float32)
        sims_np = sims.numpy()
        for t0 in starts[p::workers]:
            rows = unit_t[t0:t0 + tile]
            if len(rows) == tile:
                torch.mm(words_t, rows.T, out=sims)
                fold(sims_np, ia, ib, ic, inv, t0, best_v, best_i, shift)
            else:
                fold(torch.mm(words_t, rows.T).numpy(), ia, ib, ic, inv, t0, best_v, best_i, shift)
        return best_v, best_i

    workers = max(1, min(workers, len(starts)))
    if workers == 1:
        best_v, best_i = part(0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(part, range(workers)))
        vals = np.concatenate([v for v, _ in parts], axis=1)
        rows_ = np.concatenate([i for _, i in parts], axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
        best_v = np.take_along_axis(vals, order, axis=1)
        best_i = np.take_along_axis(rows_, order, axis=1)
    return best_v, best_i, odd


def _select(terms: list[Any], unit_t: Any, nq: int, k: int, tile: int, method: str,
            eps: float, bound: float, lit_bound: float, dev: Any) -> tuple[np.ndarray, np.ndarray]:
    """Running top-k over vocabulary tiles of an upper bound on each row's score as gensim's
    float32 arithmetic may compute it (approximation error plus float32 error).

    What it keeps: after every tile, ``best_v[:, -1]`` bounds from above every row not kept,
    which is all the rescoring needs. Question words are not masked here: they take at most
    3 of the k slots (k has room for them) and are dropped at the rescoring.
    """
    import torch

    n = unit_t.shape[0]
    best_v = torch.full((nq, k), -torch.inf, device=dev)
    best_i = torch.zeros((nq, k), dtype=torch.int64, device=dev)
    delta = (bound + lit_bound) / 2  # error of (1 + cos) / 2, approximate pass and gensim's
    thr = best_v[:, -1].clone()  # the k-th best so far: a row must beat it to enter
    # 3CosAdd: the tile holds the approximate cosines; their upper bound is cosine + shift,
    # added only to the few values kept (a pass over the tile less). 3CosMul: the tile
    # already holds the upper bounds.
    shift = bound + lit_bound / 2 if method == "3cosadd" else 0.0
    # One buffer for all score tiles: glibc serves a 32 MiB request with a fresh mmap, whose
    # 8192 pages then fault on first write; allocating each tile anew made the whole
    # GloVe evaluation take ~11 s instead of ~6 s (measured, 2 cores).
    buf = torch.empty(nq * min(tile, n), device=dev, dtype=terms[0].dtype)
    for t0 in range(0, n, tile):
        block = unit_t[t0:t0 + tile]
        if method == "3cosadd":
            ub = torch.mm(terms[0], block.T, out=buf[:nq * len(block)].view(nq, len(block))).float()
        else:
            xa, xb, xc = (torch.mm(t, block.T).float().add_(1).mul_(0.5) for t in terms)
            s = xb * xc / (xa + eps)
            xa_np, xb_np, xc_np = xa.cpu().numpy(), xb.cpu().numpy(), xc.cpu().numpy()
            ub = s + torch.from_numpy(cosmul_bound(xa_np, xb_np, xc_np, delta, eps).astype(np.float32)).to(dev)
            ub = torch.nan_to_num(ub, nan=torch.inf)
        cut = thr - shift
        tv, ti, hit = _tile_candidates(ub, cut, k)
        if hit is None:
            continue
        cv = torch.cat([best_v[hit], tv.add_(shift)], dim=1)
        ci = torch.cat([best_i[hit], ti.add_(t0)], dim=1)
        nv, pos = cv.topk(k, dim=1)
        best_v[hit] = nv
        best_i[hit] = torch.gather(ci, 1, pos)
        thr[hit] = nv[:, -1]
    return best_v.float().cpu().numpy(), best_i.cpu().numpy()


def _tile_candidates(ub: Any, cut: Any, k: int, chunk: int = 256) -> tuple[Any, Any, Any]:
    """The rows of the score tile ``ub`` with an entry above their ``cut`` (``hit``), and
    for each such row candidates (values and column indices, padded with -inf) that include
    its ``k`` largest entries above the cut; ``(None, None, None)`` when no row has one.

    Measured on a 2-core CPU, 2048 x 4096 float32 tile: a top-k costs about 2 ns an entry
    and 1 us a row; a maximum over rows, or over chunks of 256 columns, about 0.1 ns an
    entry; each torch call 10-30 us. So the chunk maxima are taken once for the whole tile,
    and only the chunks that beat their row's cut (after the first tiles, a few in a
    thousand; GloVe is sorted by frequency, so most answers come early) are read again:
    their entries above the cut are gathered with no per-row work. Rows with many such
    chunks (the first tiles, while the cuts are still low) take one top-k instead.
    """
    import torch

    h, w = ub.shape
    nc = -(-w // chunk)
    padded = ub if nc * chunk == w else torch.nn.functional.pad(ub, (0, nc * chunk - w), value=-torch.inf)
    view = padded.view(h, nc, chunk)
    r, ch = (view.amax(dim=2) > cut[:, None]).nonzero(as_tuple=True)
    if len(r) == 0:
        return None, None, None
    hit = torch.unique_consecutive(r)  # nonzero is row-major: r is sorted
    if len(r) > 2 * len(hit):  # crowded: more than two chunks a row
        sub = ub if len(hit) == h else ub.index_select(0, hit)
        tv, ti = sub.topk(min(k, w), dim=1)
        return tv, ti, hit
    vals = view[r, ch]  # (chunks, chunk)
    p, col = (vals > cut[r][:, None]).nonzero(as_tuple=True)
    row = r[p]
    counts = torch.bincount(row, minlength=h)
    slot = torch.arange(len(row), device=ub.device) - (torch.cumsum(counts, 0) - counts)[row]
    m = int(counts.max())
    out_v = torch.full((h, m), -torch.inf, device=ub.device)
    out_i = torch.zeros((h, m), dtype=torch.int64, device=ub.device)
    out_v[row, slot] = vals[p, col]
    out_i[row, slot] = ch[p] * chunk + col
    return out_v[hit], out_i[hit], hit


def _rescore(v32: np.ndarray, nrm: np.ndarray, qb: np.ndarray, cand: np.ndarray, method: str,
             eps: float, lit_bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (float64) scores of the candidates, and how far gensim's float32 scores may be from them."""
    rows = v32[cand].astype(np.float64)  # (B, k, d)
    rn = nrm[cand].astype(np.float64)
    unit = [v32[qb[:, j]].astype(np.float64) / nrm[qb[:, j], None] for j in range(3)]
    if method == "3cosadd":
        mean = (unit[1] + unit[2]) - unit[0]
        mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-300)
        exact = np.einsum("bkd,bd->bk", rows, mean) / rn
        return exact, np.full(exact.shape, lit_bound / 2)
    xa, xb, xc = ((1 + np.einsum("bkd,bd->bk", rows, u) / rn) / 2 for u in unit)
    exact = xb * xc / (xa + eps)
    return exact, cosmul_bound(xa, xb, xc, lit_bound / 2, eps)
