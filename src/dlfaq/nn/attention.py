"""Attention for encoder–decoders: additive, multiplicative and scaled dot-product.

All three modules share one calling convention::

    out = attn(query, keys, values, mask=None)
    out, weights = attn(query, keys, values, mask=None, return_weights=True)

An attention layer scores every key against the query, turns the scores into a
probability distribution over the keys with a softmax, and returns the
weighted mean of the values:

.. math::
    \\alpha_{i} = \\frac{\\exp e(q, k_i)}{\\sum_{j\\,\\text{unmasked}} \\exp e(q, k_j)},
    \\qquad c = \\sum_i \\alpha_i v_i

The modules differ only in the score function :math:`e`:

* :class:`AdditiveAttention` (Bahdanau, Cho & Bengio 2015):
  :math:`e(q, k) = v_a^\\top \\tanh(W_q q + W_k k + b)`.
* :class:`MultiplicativeAttention` (Luong, Pham & Manning 2015):
  ``"dot"`` :math:`q^\\top k`, ``"general"`` :math:`q^\\top W_a k`,
  ``"concat"`` :math:`v_a^\\top \\tanh(W_a [q; k])`.
* :class:`ScaledDotProductAttention` (Vaswani et al. 2017):
  :math:`q^\\top k / \\sqrt{d}`; it calls
  :func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels) when
  the weights are not requested, since the fused kernels never return them.

Masks follow :func:`torch.nn.functional.scaled_dot_product_attention`: a boolean
``mask`` is **True where a key may be attended to** (use
:func:`lengths_to_mask` to build one from sequence lengths). Masked keys get a
weight of exactly zero. A query whose keys are all masked gets all-zero weights
and a zero output instead of the NaNs a bare softmax would produce.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "AdditiveAttention",
    "MultiplicativeAttention",
    "ScaledDotProductAttention",
    "lengths_to_mask",
    "masked_softmax",
]


def lengths_to_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """Boolean padding mask of shape ``(B, max_len)``: True for the first ``lengths[b]`` positions."""
    lengths = torch.as_tensor(lengths)
    if max_len is None:
        max_len = int(lengths.max().item()) if lengths.numel() else 0
    pos = torch.arange(max_len, device=lengths.device)
    return pos.unsqueeze(0) < lengths.unsqueeze(-1)


def masked_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax over the last dimension that gives exactly zero weight where ``mask`` is False.

    Rows whose entries are all masked come out as all zeros. ``mask`` must
    broadcast to ``scores``.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    mask = mask.expand_as(scores)
    # An all-masked row would be softmax(-inf, ..., -inf) = NaN, and the NaN would
    # leak into the gradients; unmask such rows for the softmax, zero them after.
    any_valid = mask.any(dim=-1, keepdim=True)
    safe = mask | ~any_valid
    w = torch.softmax(scores.masked_fill(~safe, float("-inf")), dim=-1)
    return w.masked_fill(~mask, 0.0)


def _as_batched_query(query: Tensor) -> tuple[Tensor, bool]:
    """(B, D) -> (B, 1, D) so that single and multiple queries share one code path."""
    if query.dim() == 2:
        return query.unsqueeze(1), True
    if query.dim() == 3:
        return query, False
    raise ValueError(f"query must have shape (B, D) or (B, M, D), got {tuple(query.shape)}")


def _check_kv(keys: Tensor, values: Tensor) -> None:
    if keys.dim() != 3 or values.dim() != 3:
        raise ValueError(
            f"keys and values must have shape (B, N, D), got {tuple(keys.shape)} and {tuple(values.shape)}"
        )
    if keys.shape[:2] != values.shape[:2]:
        raise ValueError(
            f"keys {tuple(keys.shape)} and values {tuple(values.shape)} differ in (B, N)"
        )


def _as_batched_mask(mask: Tensor | None) -> Tensor | None:
    """Bring a mask to (B, M, N) (or (B, 1, N)); accepts (B, N) padding masks and (B, M, N)."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be boolean (True = may attend), got {mask.dtype}")
    if mask.dim() == 2:
        return mask.unsqueeze(1)
    if mask.dim() == 3:
        return mask
    raise ValueError(f"mask must have shape (B, N) or (B, M, N), got {tuple(mask.shape)}")


def _finish(
    scores: Tensor,
    values: Tensor,
    mask: Tensor | None,
    single: bool,
    dropout: Callable[[Tensor], Tensor] | None,
    return_weights: bool,
) -> Tensor | tuple[Tensor, Tensor]:
    """Masked softmax of ``scores``, (dropout,) weighted sum of ``values``: the tail every
    attention here shares."""
    weights = masked_softmax(scores, mask)
    w_used = dropout(weights) if dropout is not None else weights
    out = torch.bmm(w_used, values)
    if single:
        out, weights = out.squeeze(1), weights.squeeze(1)
    return (out, weights) if return_weights else out


class _ScoredAttention(nn.Module):
    """Shared forward of the attentions defined by a score function ``scores(query, keys)``.

    ``forward(query, keys, values, mask=None, return_weights=False)``: query (B, D_q)
    or (B, M, D_q), keys (B, N, D_k), values (B, N, D_v), mask (B, N) or (B, M, N),
    True where a key may be attended to. Returns the context (B, [M,] D_v) and, with
    ``return_weights``, the attention weights (B, [M,] N).
    """

    dropout: nn.Module | None

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        mask: Tensor | None = None,
        return_weights: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        query, single = _as_batched_query(query)
        _check_kv(keys, values)
        return _finish(
            self.scores(query, keys),
            values,
            _as_batched_mask(mask),
            single,
            self.dropout,
            return_weights,
        )


class AdditiveAttention(_ScoredAttention):
    r"""Additive (Bahdanau) attention.

    .. math::
        e_{mi} = v_a^\top \tanh(W_q\, q_m + W_k\, k_i + b), \qquad
        \alpha_{m\cdot} = \operatorname{softmax}(e_{m\cdot}), \qquad
        c_m = \sum_i \alpha_{mi}\, v_i

    Bahdanau, Cho & Bengio (2015), *Neural machine translation by jointly
    learning to align and translate*, ICLR. The score is a one-hidden-layer
    network of query and key, so query and key sizes may differ.

    Args:
        query_size: features of a query :math:`q`.
        key_size: features of a key :math:`k`.
        hidden_size: width of the scoring layer (the size of :math:`v_a`).
        bias: add the bias :math:`b` inside the tanh.
        dropout: dropout applied to the attention weights in training.

    Shape:
        - query: :math:`(B, D_q)` (one query) or :math:`(B, M, D_q)` (M queries).
        - keys: :math:`(B, N, D_k)`; values: :math:`(B, N, D_v)`.
        - mask: optional bool :math:`(B, N)` or :math:`(B, M, N)`, True = may attend.
        - output: :math:`(B, D_v)` or :math:`(B, M, D_v)`; weights :math:`(B, N)` or
          :math:`(B, M, N)` when ``return_weights=True``.
    """

    def __init__(
        self,
        query_size: int,
        key_size: int,
        hidden_size: int,
        bias: bool = True,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.query_size = query_size
        self.key_size = key_size
        self.hidden_size = hidden_size
        self.w_query = nn.Linear(query_size, hidden_size, bias=bias, **kw)
        # One bias is enough: W_q q + W_k k + b.
        self.w_key = nn.Linear(key_size, hidden_size, bias=False, **kw)
        self.v = nn.Linear(hidden_size, 1, bias=False, **kw)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores :math:`e`, shape (B, M, N), for batched queries (B, M, D_q)."""
        q = self.w_query(query).unsqueeze(2)  # (B, M, 1, H)
        k = self.w_key(keys).unsqueeze(1)  # (B, 1, N, H)
        return self.v(torch.tanh(q + k)).squeeze(-1)

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, hidden_size={self.hidden_size}"


class MultiplicativeAttention(_ScoredAttention):
    r"""Luong-style global attention with the ``dot``, ``general`` or ``concat`` score.

    .. math::
        e(q, k) = \begin{cases}
            q^\top k & \text{dot} \\
            q^\top W_a k & \text{general} \\
            v_a^\top \tanh(W_a [q; k]) & \text{concat}
        \end{cases}

    followed by a masked softmax over the keys and a weighted mean of the
    values. Luong, Pham & Manning (2015), *Effective approaches to
    attention-based neural machine translation*, EMNLP. ``dot`` has no
    parameters and needs ``query_size == key_size``. ``concat`` is computed as
    :math:`W_{a,q} q + W_{a,k} k`, which equals :math:`W_a [q; k]` without
    materialising the concatenation for every (query, key) pair.

    Args:
        query_size: features of a query.
        key_size: features of a key (defaults to ``query_size``).
        score: ``"dot"``, ``"general"`` or ``"concat"``.
        hidden_size: width of the ``concat`` scoring layer (defaults to ``key_size``).
        dropout: dropout applied to the attention weights in training.

    Shape:
        Same as :class:`AdditiveAttention`.
    """

    SCORES = ("dot", "general", "concat")

    def __init__(
        self,
        query_size: int,
        key_size: int | None = None,
        score: str = "general",
        hidden_size: int | None = None,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if score not in self.SCORES:
            raise ValueError(f"score must be one of {self.SCORES}, got {score!r}")
        key_size = query_size if key_size is None else key_size
        if score == "dot" and key_size != query_size:
            raise ValueError(f"'dot' needs query_size == key_size, got {query_size} and {key_size}")
        kw = {"device": device, "dtype": dtype}
        self.query_size = query_size
        self.key_size = key_size
        self.score = score
        self.hidden_size = None
        if score == "general":
            self.w = nn.Linear(key_size, query_size, bias=False, **kw)
        elif score == "concat":
            self.hidden_size = key_size if hidden_size is None else hidden_size
            self.w_query = nn.Linear(query_size, self.hidden_size, bias=False, **kw)
            self.w_key = nn.Linear(key_size, self.hidden_size, bias=False, **kw)
            self.v = nn.Linear(self.hidden_size, 1, bias=False, **kw)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores, shape (B, M, N), for batched queries (B, M, D_q)."""
        if self.score == "dot":
            return torch.bmm(query, keys.transpose(1, 2))
        if self.score == "general":
            return torch.bmm(query, self.w(keys).transpose(1, 2))
        q = self.w_query(query).unsqueeze(2)
        k = self.w_key(keys).unsqueeze(1)
        return self.v(torch.tanh(q + k)).squeeze(-1)

    def extra_repr(self) -> str:
        s = f"query_size={self.query_size}, key_size={self.key_size}, score={self.score!r}"
        if self.hidden_size is not None:
            s += f", hidden_size={self.hidden_size}"
        return s


class ScaledDotProductAttention(nn.Module):
    r"""Scaled dot-product attention, :math:`\operatorname{softmax}(Q K^\top / \sqrt{d})\, V`.

    Vaswani et al. (2017), *Attention is all you need*, NeurIPS. Dividing by
    :math:`\sqrt{d}` keeps the score variance near 1 when query and key entries
    have unit variance, so the softmax does not saturate as :math:`d` grows.

    With ``return_weights=False`` (the default) this calls
    :func:`torch.nn.functional.scaled_dot_product_attention`, which picks a fused
    kernel (flash / memory-efficient attention on CUDA); with
    ``return_weights=True`` it computes the same thing explicitly so the weights
    can be returned. Both paths agree to floating-point rounding.

    Args:
        scale: score scale; ``None`` means :math:`1/\sqrt{d}` with d the key size.
        dropout: dropout on the attention weights in training (as ``dropout_p``).

    Shape:
        Same as :class:`AdditiveAttention`, with ``D_q == D_k``.
    """

    def __init__(self, scale: float | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        self.scale = scale
        self.p = dropout

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        mask: Tensor | None = None,
        return_weights: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        query, single = _as_batched_query(query)
        _check_kv(keys, values)
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(f"query size {query.shape[-1]} differs from key size {keys.shape[-1]}")
        bmask = _as_batched_mask(mask)
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(query.shape[-1])
        p = self.p if self.training else 0.0
        if not return_weights:
            if bmask is not None:
                # The fused kernel returns NaN for a query with no unmasked key; give
                # such queries every key for the kernel and zero their output after.
                any_valid = bmask.any(dim=-1, keepdim=True)
                out = F.scaled_dot_product_attention(
                    query, keys, values, attn_mask=bmask | ~any_valid, dropout_p=p, scale=scale
                )
                out = out.masked_fill(~any_valid, 0.0)
            else:
                out = F.scaled_dot_product_attention(query, keys, values, dropout_p=p, scale=scale)
            return out.squeeze(1) if single else out
        scores = torch.bmm(query, keys.transpose(1, 2)) * scale
        drop = (lambda w: F.dropout(w, p)) if p > 0 else None
        return _finish(scores, values, bmask, single, drop, True)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, dropout={self.p}"
