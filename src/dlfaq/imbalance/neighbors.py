"""Exact k-nearest neighbours of a point set among itself, in bounded memory.

The squared Euclidean distance is expanded as

.. math::
    \\lVert a - b \\rVert^2 = \\lVert a \\rVert^2 - 2\\, a^\\top b + \\lVert b \\rVert^2,

so a block of rows against all points is one matrix product (``torch.addmm``)
followed by ``topk``. Only one block of distances exists at a time: with ``m``
points the block holds ``rows * m`` float32 values and ``rows`` is chosen so
that the block stays under ``max_block_bytes``. Extra memory is therefore
``max_block_bytes + O(m * (k + margin))`` whatever ``m`` is.

The expansion cancels catastrophically for near-ties, and float32 makes it
worse. The result is nevertheless exact (up to float64 rounding): the float32
pass only proposes ``k + margin`` candidates per row; their distances are then
recomputed as ``sum((a - b)**2)`` in float64 and sorted (ties broken by the
lower index). A row is trusted only if every point outside its candidate set is
provably farther than its k-th refined neighbour, using the float32 error bound
``|fl(d) - d| <= (n_features + 2) * eps32 * (||a||^2 + ||b||^2 + 2 |a.b|)``
applied to the centred data; rows that fail the test are redone in float64.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

__all__ = ["kneighbors", "kneighbors_self", "neighbours_as_sklearn"]

DEFAULT_BLOCK_BYTES = 16 * 2**20


def _block_rows(m: int, max_block_bytes: int, elem: int = 4) -> int:
    # The distance block dominates; the factor 1.25 leaves room for the group minima
    # and the gathered candidate groups.
    return max(1, min(m, int(max_block_bytes / (1.25 * elem * max(1, m)))))


_GROUP = 64
_THREADS_LOCK = threading.Lock()
_ACTIVE_WORKERS = 0


@contextmanager
def cpu_workers(device: torch.device) -> Iterator[int]:
    """Run CPU work as coarse blocks on ``torch.get_num_threads()`` Python threads.

    Each block is a handful of mid-sized tensor ops. Letting every op fork and
    join its own OpenMP team costs more than the op when cores are shared (a
    descheduled thread stalls the barrier), so while the context is open torch
    runs each op on one thread and the blocks themselves are spread over a
    thread pool (torch releases the GIL inside ops). The thread count is
    restored on exit. Yields the number of workers (1 on CUDA).
    """
    global _ACTIVE_WORKERS
    if device.type != "cpu":
        yield 1
        return
    if _ACTIVE_WORKERS:  # nested use: the outer context already set things up
        yield _ACTIVE_WORKERS
        return
    n = torch.get_num_threads()
    if n <= 1:
        yield 1
        return
    with _THREADS_LOCK:
        _ACTIVE_WORKERS = n
        torch.set_num_threads(1)
        try:
            yield n
        finally:
            torch.set_num_threads(n)
            _ACTIVE_WORKERS = 0


def run_blocks(fn: Callable[[Any], None], items: Iterable[Any], workers: int) -> None:
    """Call ``fn`` on every item, on ``workers`` threads; exceptions propagate."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        for it in items:
            fn(it)
        return
    # Grad mode is thread-local: carry the caller's into the workers.
    grad = torch.is_grad_enabled()

    def call(it: Any) -> None:
        with torch.set_grad_enabled(grad):
            fn(it)

    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as ex:
        for f in [ex.submit(call, it) for it in items]:
            f.result()


def _candidates(
    Q: torch.Tensor,
    R: torch.Tensor,
    self_idx: torch.Tensor | None,
    n_cand: int,
    max_block_bytes: int,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Approximate (value, index) of the ``n_cand`` smallest distances from each row of Q to R.

    ``self_idx[i]`` (when >= 0) is the index of query i in R, which is excluded.

    A full ``topk`` over every row of the block costs more than the matrix
    product. Instead the columns are cut into groups of ``_GROUP``; the
    ``n_cand`` nearest columns of a row lie in the ``n_cand`` groups with the
    smallest group minimum (any other group's minimum is at least as large as
    all of those), so ``topk`` runs on the group minima and then on the
    ``n_cand * _GROUP`` values of the chosen groups only.
    """
    nq, nr = Q.shape[0], R.shape[0]
    B = R.to(dtype)
    A = B if Q is R else Q.to(dtype)
    sq_r = (B * B).sum(1)
    sq_q = sq_r if Q is R else (A * A).sum(1)
    BT = B.T.contiguous()
    g = _GROUP
    n_groups = -(-nr // g)
    rows = _block_rows(n_groups * g, max_block_bytes, A.element_size())
    vals = torch.empty(nq, n_cand, dtype=dtype, device=Q.device)
    idx = torch.empty(nq, n_cand, dtype=torch.long, device=Q.device)
    n_grp_cand = min(n_cand, n_groups)
    local = threading.local()

    def block(s: int) -> None:
        e = min(nq, s + rows)
        b = e - s
        buf = getattr(local, "buf", None)
        if buf is None:
            # One buffer per worker; padding columns stay +inf so they never win.
            buf = local.buf = torch.full((rows, n_groups * g), math.inf, dtype=dtype, device=Q.device)
        d = buf[:b]
        # ||b||^2 - 2 a.b; ||a||^2 is a per-row constant added afterwards.
        torch.addmm(sq_r.unsqueeze(0), A[s:e], BT, alpha=-2.0, out=d[:, :nr])
        if self_idx is not None:
            si = self_idx[s:e]
            keep = si >= 0
            d[torch.arange(b, device=Q.device)[keep], si[keep]] = math.inf
        dv = d.view(b, n_groups, g)
        gid = dv.amin(2).topk(n_grp_cand, dim=1, largest=False, sorted=False).indices
        sub = dv.gather(1, gid.unsqueeze(2).expand(b, n_grp_cand, g)).view(b, n_grp_cand * g)
        v, i = sub.topk(n_cand, dim=1, largest=False, sorted=True)
        vals[s:e] = v + sq_q[s:e, None]
        idx[s:e] = gid.gather(1, torch.div(i, g, rounding_mode="floor")) * g + i % g

    with cpu_workers(Q.device) as workers:
        # Each worker holds its own block: split the memory budget between them.
        rows = max(1, rows // workers) if workers > 1 else rows
        run_blocks(block, range(0, nq, rows), workers)
    return vals, idx


def _refine(
    Q64: torch.Tensor,
    R64: torch.Tensor,
    rows: torch.Tensor,
    cand: torch.Tensor,
    k: int,
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact float64 distances of candidates, sorted by (distance, index); first k kept."""
    cand, _ = cand.sort(dim=1)
    out_i = torch.empty(rows.shape[0], k, dtype=torch.long, device=cand.device)
    out_d = torch.empty(rows.shape[0], k, dtype=torch.float64, device=cand.device)
    # Three live (rows, n_cand, D) float64 temporaries per worker share the block budget.
    workers = max(1, torch.get_num_threads()) if cand.device.type == "cpu" else 1
    per_row = 3 * cand.shape[1] * R64.shape[1] * 8
    step = max(1, max_block_bytes // max(1, per_row * workers))

    def block(s: int) -> None:
        c = cand[s : s + step]
        diff = R64[c] - Q64[rows[s : s + step]].unsqueeze(1)
        d = (diff * diff).sum(-1)
        d, order = d.sort(dim=1, stable=True)
        out_d[s : s + step] = d[:, :k]
        out_i[s : s + step] = c.gather(1, order[:, :k])

    with cpu_workers(cand.device) as workers:
        run_blocks(block, range(0, rows.shape[0], step), workers)
    return out_d, out_i


@torch.no_grad()
def kneighbors(
    Q: Any,
    R: Any,
    k: int,
    *,
    self_index: Any = None,
    margin: int = 3,
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    return_distance: bool = False,
) -> Any:
    """Indices (n_Q, k) of the k nearest rows of ``R`` for each row of ``Q`` (Euclidean, exact).

    Args:
        Q: (n_Q, d) queries; R: (n_R, d) reference points. NumPy arrays or
            torch tensors (CPU or CUDA); the result lives where ``Q`` lives (a
            NumPy array for NumPy input).
        k: neighbours per query.
        self_index: optional (n_Q,) integer array: ``self_index[i]`` is the row
            of R that *is* query i (excluded from its neighbours), or -1.
        margin: extra float32 candidates per row that the float64 check re-ranks.
        max_block_bytes: bound on the memory of one block of float32 distances.
        return_distance: also return the (n_Q, k) float64 Euclidean distances.

    Neighbours are ordered by distance, ties by the lower index. Duplicates of
    a query count as neighbours at distance 0 (the excluded row itself never does).
    """
    is_np = not isinstance(Q, torch.Tensor)
    Qt = torch.as_tensor(Q)
    Rt = Qt if R is Q else torch.as_tensor(R, device=Qt.device)
    if Qt.ndim != 2 or Rt.ndim != 2 or Qt.shape[1] != Rt.shape[1]:
        raise ValueError(f"Q and R must be 2-D with the same width, got {tuple(Qt.shape)} and {tuple(Rt.shape)}")
    nq, nr = Qt.shape[0], Rt.shape[0]
    si = None
    if self_index is not None:
        si = torch.as_tensor(np.asarray(self_index) if not isinstance(self_index, torch.Tensor) else self_index)
        si = si.to(device=Qt.device, dtype=torch.long)
        if si.shape != (nq,) or bool((si >= nr).any()):
            raise ValueError("self_index must hold one row index of R (or -1) per query")
    excluded = 0 if si is None else 1
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if nr - excluded < k:
        raise ValueError(
            f"need at least k + {excluded} = {k + excluded} reference points for k = {k} neighbours, got {nr}"
        )
    # Centring leaves distances unchanged and shrinks the norms that the error bound scales with.
    R64 = Rt.to(torch.float64)
    mu = R64.mean(0, keepdim=True)
    R64 = R64 - mu
    Q64 = R64 if Rt is Qt else Qt.to(torch.float64) - mu
    n_cand = min(nr - excluded, k + max(0, margin))
    dt = torch.float32
    approx, cand = _candidates(Q64, R64, si, n_cand, max_block_bytes, dt)
    rows = torch.arange(nq, device=Q64.device)
    dist, nn = _refine(Q64, R64, rows, cand, k, max_block_bytes)
    if n_cand < nr - excluded:
        # Certificate: every non-candidate j has computed distance >= approx[:, -1];
        # its true distance is at least that minus the rounding bound.
        eps = torch.finfo(dt).eps
        sq_r = (R64 * R64).sum(1)
        sq_q = sq_r if Q64 is R64 else (Q64 * Q64).sum(1)
        # (d + 2) eps (|a|^2 + |b|^2 + 2|a.b|) <= 2 (d + 2) eps (|a|^2 + max|b|^2); a further
        # factor 2 covers rounding the inputs themselves to float32.
        bound = 4.0 * (R64.shape[1] + 2) * eps * (sq_q + sq_r.max())
        ok = approx[:, -1].to(torch.float64) - bound > dist[:, -1]
        bad = (~ok).nonzero().flatten()
        if bad.numel():
            # Exact float64 pass for the uncertified rows only, still blocked.
            per = _block_rows(nr, max_block_bytes, 8)
            cands = []
            for s in range(0, bad.numel(), per):
                rws = bad[s : s + per]
                d = torch.addmm(sq_r.unsqueeze(0), Q64[rws], R64.T, alpha=-2.0)
                if si is not None:
                    sj = si[rws]
                    keep = sj >= 0
                    d[torch.arange(d.shape[0], device=d.device)[keep], sj[keep]] = math.inf
                cands.append(d.topk(n_cand, dim=1, largest=False).indices)
            d2, n2 = _refine(Q64, R64, bad, torch.cat(cands), k, max_block_bytes)
            dist[bad] = d2
            nn[bad] = n2
    if is_np:
        nn_out: Any = nn.numpy()
        dist_out: Any = dist.sqrt().numpy()
    else:
        nn_out, dist_out = nn, dist.sqrt()
    return (nn_out, dist_out) if return_distance else nn_out


def kneighbors_self(
    X: Any,
    k: int,
    *,
    margin: int = 3,
    max_block_bytes: int = DEFAULT_BLOCK_BYTES,
    return_distance: bool = False,
) -> Any:
    """Indices (m, k) of each row's k nearest other rows of ``X``: :func:`kneighbors` of X among itself.

    Needs ``m >= k + 1``. A duplicate of a row counts as a neighbour at
    distance 0 (the row itself never does).
    """
    m = X.shape[0]
    self_index = torch.arange(m, device=X.device) if isinstance(X, torch.Tensor) else np.arange(m)
    return kneighbors(
        X, X, k, self_index=self_index, margin=margin, max_block_bytes=max_block_bytes,
        return_distance=return_distance,
    )


def neighbours_as_sklearn(Q: Any, R: Any, k: int, self_index: Any, *, max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Any:
    """:func:`kneighbors` with imbalanced-learn's answer when distances tie.

    Without ties the k nearest neighbours and their order are unique, and
    :func:`kneighbors` finds them. With a tie among the ``k + 1`` nearest (duplicate
    rows, lattice data) the order, and which of the tied points make the list,
    is a convention: dlfaq sorts by (distance, index), scikit-learn's tree search
    by its traversal. Those rows then decide which sample a SMOTE draw picks, so
    to give imbalanced-learn's samples a tied query set is answered by
    ``NearestNeighbors(n_neighbors=k + 1).fit(R).kneighbors(Q)[:, 1:]``, exactly
    what imbalanced-learn computes. Returns an (n_Q, k) index tensor on Q's device.
    """
    Qt = torch.as_tensor(Q)
    n_ref = R.shape[0] - 1
    kk = k + 1 if n_ref >= k + 1 else k
    nn, dist = kneighbors(Qt, R, kk, self_index=self_index, max_block_bytes=max_block_bytes, return_distance=True)
    if not bool((dist[:, 1:] == dist[:, :-1]).any()):
        return nn[:, :k].contiguous()
    from sklearn.neighbors import NearestNeighbors

    R_np = torch.as_tensor(R).cpu().numpy()
    Q_np = Qt.cpu().numpy()
    idx = NearestNeighbors(n_neighbors=k + 1).fit(R_np).kneighbors(Q_np, return_distance=False)[:, 1:]
    return torch.from_numpy(np.ascontiguousarray(idx)).to(Qt.device)
