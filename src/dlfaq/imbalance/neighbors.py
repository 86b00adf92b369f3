"""Exact k-nearest neighbours of a point set, public entry points and the reference version.

:func:`kneighbors` answers with the k nearest rows of ``R`` for each row of ``Q``,
ordered by (Euclidean distance, index). The reference, :func:`_reference`, is the
definition: every squared distance ``sum((q - r)**2)`` in float64, block by block,
sorted stably. The fast, memory-bounded version (a float32 matrix product that
only proposes candidates, a float64 re-ranking and a certificate; blocks on a
thread pool) is the engine :mod:`dlfaq._fast.knn`, used whenever its probe passes;
both see the data centred on R's mean (distances do not change, rounding does,
equally for both), so they give the same bits.

:func:`neighbours_as_sklearn` is what imbalanced-learn's samplers see: the same
lists, except that a query set with distance ties is answered by scikit-learn's
search, whose order among tied points is a convention of its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from dlfaq._fast import knn as _engine
from dlfaq._fast.knn import DEFAULT_BLOCK_BYTES

__all__ = ["DEFAULT_BLOCK_BYTES", "kneighbors", "kneighbors_self", "neighbours_as_sklearn"]


def _reference(
    Q64: torch.Tensor, R64: torch.Tensor, si: torch.Tensor | None, k: int, max_block_bytes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(squared distances, indices) of the k nearest rows: every distance, sorted by (distance, index)."""
    rows = max(1, max_block_bytes // max(1, R64.shape[0] * R64.shape[1] * 8))
    dists, idx = [], []
    for s in range(0, Q64.shape[0], rows):
        diff = R64.unsqueeze(0) - Q64[s : s + rows].unsqueeze(1)
        d = (diff * diff).sum(-1)
        if si is not None:
            sj = si[s : s + rows]
            keep = sj >= 0
            d[torch.arange(d.shape[0], device=d.device)[keep], sj[keep]] = math.inf
        d, order = d.sort(dim=1, stable=True)
        dists.append(d[:, :k])
        idx.append(order[:, :k])
    return torch.cat(dists), torch.cat(idx)


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
    found = _engine.kneighbors(Q64, R64, si, k, margin, max_block_bytes)
    dist, nn = found if found is not None else _reference(Q64, R64, si, k, max_block_bytes)
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
    # dlfaq's distances are of centred data, so an exact tie can come out a few ulps apart:
    # anything within 1e-9 (relative) counts as a tie and goes to scikit-learn's search.
    if not bool(torch.isclose(dist[:, 1:], dist[:, :-1], rtol=1e-9, atol=0.0).any()):
        return nn[:, :k].contiguous()
    # Only tied queries need scikit-learn's search; kneighbors itself does not import scikit-learn.
    from sklearn.neighbors import NearestNeighbors

    R_np = torch.as_tensor(R).cpu().numpy()
    Q_np = Qt.cpu().numpy()
    idx = NearestNeighbors(n_neighbors=k + 1).fit(R_np).kneighbors(Q_np, return_distance=False)[:, 1:]
    return torch.from_numpy(np.ascontiguousarray(idx)).to(Qt.device)
