"""Speed engine for :func:`dlfaq.embeddings.evaluate.evaluate_analogy` (issue 14).

One entry point, :func:`top_candidates`: for a batch of analogy questions it
returns the same ranked answer lists as the reference loop
(:func:`dlfaq.embeddings.evaluate.analogy_candidates`, gensim's arithmetic one
question at a time), or ``None`` when its probe fails (no torch, or the device
does not run a matrix product), and the caller then runs the reference.

How it stays exact while scoring approximately:

1. *Blocked score-and-select.* Questions go in blocks of ``block`` rows, the
   vocabulary in tiles of ``tile`` rows, so that only a ``block x tile`` score
   tile exists at a time and the ``(questions x vocabulary)`` matrix is never
   formed. Each tile's scores are one matrix product on unit vectors; only the
   ``k`` best per question are kept. Two ways to keep them:

   - the *compiled scan* (:mod:`dlfaq._fast._scan`, needs numba; 3CosAdd in
     float32 on the CPU): a 2048 x 512 tile (4 MiB) is written by the product
     and read once by one loop that tests 64 columns at a time with vector
     compares and walks only the chunks with an entry above the question's cut.
     Nothing but the product grows with the vocabulary, and a tile costs two
     calls. Measured on GloVe (19,544 questions, 300k rows, 2 cores), same
     process, interleaved: about 4 s against 7 s for the torch path while
     another job loaded the machine (CPU time 8 s against 13 s);
   - the *torch path* (any device, bfloat16, 3CosMul): chunk maxima, a gather
     of the chunks above the cut and a top-k merge, about a dozen tensor calls
     a tile; with 256-question blocks the fixed cost of each call (10-30 us)
     made the selection take over half of the time, so this path uses
     2048-question blocks and 32 MiB tiles (2048 x 4096).
2. *Proof that nothing was lost.* Every approximate score is within a proven
   bound of the exact one (:func:`score_bound` for 3CosAdd's cosines,
   :func:`cosmul_bound` for 3CosMul's quotient). The kept candidates are
   rescored in float64; if even the best discarded row could (within the
   bounds) reach the fifth answer, the question goes to the reference.
3. *Ties.* gensim ranks float32 scores, so two candidates whose exact scores
   are closer than the float32 error may come out in either order there
   (identical vectors tie exactly); such questions go to the reference too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

_U = 2.0**-24  # float32 unit roundoff
# Score tile of the compiled scan: 2048 questions x 512 rows of float32 (4 MiB), written by the
# product and read back by the scan while still in cache. Whole GloVe evaluations (2 cores, with
# another job running, interleaved): 256- and 512-row tiles at 2048 questions within noise of each
# other (4.3-6 s), 128-row tiles slower (8.0 s against 5.2 s: twice the tiles' fixed costs).
# Single-threaded profiles gave the product 4.1-4.9 s and the scan 1.2-1.6 s for every shape
# from 512 x 1024 to 4096 x 256.
_TILE_BYTES = 4 << 20


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
    """The compiled tile scan (:func:`dlfaq._fast._scan.scan_tile`), or ``None`` when numba is
    missing or its JIT is disabled, or the kernel does not give the ``k`` best of a small random
    tile as numpy ranks them."""
    try:
        import numba

        from dlfaq._fast._scan import scan_tile
    except Exception:  # noqa: BLE001 - no numba (or a broken one): the torch path
        return None
    if getattr(numba.config, "DISABLE_JIT", False):  # NUMBA_DISABLE_JIT=1 would run the scan as Python, ~1000x slower
        return None
    try:
        rng = np.random.default_rng(0)
        scores = rng.standard_normal((3, 200)).astype(np.float32)
        scores[1, 5] = np.nan
        best_v = np.full((3, 4), -np.inf, dtype=np.float32)
        best_i = np.zeros((3, 4), dtype=np.int64)
        scan_tile(scores[:, :130], 0, best_v, best_i, 0.0)
        scan_tile(np.ascontiguousarray(scores[:, 130:]), 130, best_v, best_i, 0.0)
        want = np.argsort(-np.nan_to_num(scores, nan=-np.inf), axis=1, kind="stable")[:, :4]
        if not np.array_equal(best_i, want):
            return None
    except Exception:  # noqa: BLE001
        return None
    return scan_tile


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
        block, tile: questions and vocabulary rows per score tile (``tile=None``: an
            L2-sized tile for the compiled scan, 4096 rows for the torch path).
        scan: how a tile is folded into the running best. ``"compiled"``: one pass of
            :func:`compiled_scan` (3CosAdd in float32 on the CPU, numba installed);
            ``"torch"``: tensor calls; ``"auto"``: the compiled scan where it applies.

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
    if tile is None:
        tile = max(64, _TILE_BYTES // (4 * max(1, min(block, len(quads))))) if fold else 4096
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

    def one_block(s0: int) -> int:
        """Answers of questions ``s0 : s0 + block`` into ``out``; returns how many went to ``literal``."""
        qb = quads[s0:s0 + block]
        ia, ib, ic = qb[:, 0], qb[:, 1], qb[:, 2]
        if method == "3cosadd":
            qn = (unit_np[ib] + unit_np[ic]) - unit_np[ia]
            qn /= np.maximum(np.linalg.norm(qn, axis=1, keepdims=True), 1e-30)
            terms = [torch.from_numpy(qn).to(dev, dtype)]
        else:
            terms = [torch.from_numpy(unit_np[x]).to(dev, dtype) for x in (ia, ib, ic)]
        if fold is not None:
            vals, cand = _fold_compiled(fold, terms[0], unit_t, k, tile, bound + lit_bound / 2)
        else:
            vals, cand = _select(terms, unit_t, len(qb), k, tile, method, eps, bound, lit_bound, dev)
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
        hard = np.nonzero(crowded | tied)[0]
        for j in hard:
            out[s0 + j] = literal(int(qb[j, 0]), int(qb[j, 1]), int(qb[j, 2]))
        return len(hard)

    starts = range(0, len(quads), block)
    workers = min(torch.get_num_threads(), len(starts)) if dev.type == "cpu" else 1
    if workers <= 1:
        handed = sum(one_block(s0) for s0 in starts)
    else:
        # One block per thread, each running single-threaded torch ops, instead of every op
        # split over all threads: the ~15 small ops a tile then pay no fork/join, and a busy
        # machine no longer stalls every op on its slowest thread. Measured on GloVe, 2 cores,
        # the two versions interleaved in one process, 3 runs each: 14.5-15.1 s against
        # 28.2-34.5 s while other jobs loaded the CPU; 6.6-7.7 s against 5.7-7.0 s when quiet.
        # torch's intra-op thread count is process-wide: it is 1 during this call, then restored.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers) as pool:
                handed = sum(pool.map(one_block, starts))
        finally:
            torch.set_num_threads(threads)
    return out, {"handed_to_reference": handed}


def _fold_compiled(fold: Callable[..., None], query: Any, unit_t: Any, k: int, tile: int,
                   shift: float) -> tuple[np.ndarray, np.ndarray]:
    """3CosAdd's running top-k with the compiled scan: per tile one product into a reused,
    L2-sized buffer and one :func:`dlfaq._fast._scan.scan_tile` call. Returns the upper bounds
    (``cosine + shift``, descending) and the rows of each question's ``k`` kept candidates."""
    import torch

    nq, n = query.shape[0], unit_t.shape[0]
    best_v = np.full((nq, k), -np.inf, dtype=np.float32)
    best_i = np.zeros((nq, k), dtype=np.int64)
    tile = min(tile, n)
    # one buffer and its numpy view for every full tile: the ~5,900 tiles of a GloVe run then
    # cost a product and a scan each, no new tensor objects
    scores = torch.empty((nq, tile), dtype=torch.float32)
    scores_np = scores.numpy()
    full = n - n % tile
    for t0 in range(0, full, tile):
        torch.mm(query, unit_t[t0:t0 + tile].T, out=scores)
        fold(scores_np, t0, best_v, best_i, shift)
    if full < n:
        fold(torch.mm(query, unit_t[full:].T).numpy(), full, best_v, best_i, shift)
    return best_v, best_i


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
