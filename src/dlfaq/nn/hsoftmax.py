"""Huffman trees and the hierarchical softmax output layer.

A softmax over V classes costs O(V·d) per example. The hierarchical softmax of
Morin & Bengio (2005), in the form used by word2vec (Mikolov et al., 2013),
places the V classes at the leaves of a binary tree with V − 1 internal nodes,
each carrying a vector :math:`u_n \\in \\mathbb{R}^d` (and optionally a bias
:math:`b_n`). The probability of class :math:`w` given a hidden vector
:math:`h` is the probability of the walk from the root to its leaf:

.. math::
    P(w \\mid h) = \\prod_{j=1}^{l(w)} \\sigma\\big(s_j(w)\\,(u_{n_j(w)}^\\top h + b_{n_j(w)})\\big),

where :math:`n_1(w), \\dots, n_{l(w)}(w)` are the internal nodes on the path
(root first), :math:`c_j(w) \\in \\{0, 1\\}` is the branch taken at node
:math:`n_j` (the word's Huffman code) and :math:`s_j = 1 - 2c_j`. Because
:math:`\\sigma(z) + \\sigma(-z) = 1` at every node, the leaf probabilities sum
to one without normalising over V; training and scoring one class cost
O(l(w)·d).

With a Huffman tree (Huffman, 1952) built from class frequencies
:math:`p_w`, the code lengths satisfy :math:`H(p) \\le \\sum_w p_w l(w) < H(p) + 1`
bits, where :math:`H` is the entropy: frequent classes are near the root, rare
ones deep, and the *average* cost per training example is close to the entropy,
usually well below :math:`\\log_2 V`.

References:
    Huffman, D. A. (1952). A method for the construction of minimum-redundancy codes.
    Morin, F. & Bengio, Y. (2005). Hierarchical probabilistic neural network language model. AISTATS.
    Mikolov, T., Sutskever, I., Chen, K., Corrado, G. & Dean, J. (2013). Distributed
    representations of words and phrases and their compositionality. NeurIPS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["HuffmanTree", "HierarchicalSoftmax"]


class HuffmanTree:
    """A binary Huffman tree over ``len(counts)`` classes.

    Args:
        counts: non-negative weight (frequency) of every class, at least two of
            them, not all zero. Class ``i`` is leaf ``i``.

    Internal nodes are numbered ``0 .. V − 2`` in breadth-first order, so the
    root is node 0 and every parent has a smaller id than its children; the
    nodes of one depth form a contiguous range of ids. At each internal node the
    child with the smaller weight is branch 0, the other branch 1 (word2vec's
    convention).

    The construction sorts the counts once (O(V log V)) and then merges with two
    queues, the sorted leaves and the internal nodes in creation order, which
    is linear; on equal weights a leaf is taken before an internal node, which
    keeps the tree as shallow as Huffman's algorithm allows.

    Attributes:
        depths: ``(V,)`` int64, code length (number of internal nodes on the path) of every class.
        path_matrix: ``(V, max_depth)`` int64, internal node ids root first, padded with ``-1``.
        code_matrix: ``(V, max_depth)`` int8, branch bits, padded with ``-1``.
        parent: ``(V − 1,)`` int64, parent id of every internal node (``-1`` for the root).
        parent_bit: ``(V − 1,)`` int8, branch from the parent to every internal node.
        leaf_parent, leaf_bit: ``(V,)`` parent node and branch of every leaf.
        level_starts: ``(max_depth + 1,)`` first internal node id of each depth (last entry V − 1).
    """

    def __init__(self, counts: Sequence[float] | np.ndarray | Tensor) -> None:
        if isinstance(counts, Tensor):
            counts = counts.detach().cpu().numpy()
        c = np.asarray(counts, dtype=np.float64)
        if c.ndim != 1:
            raise ValueError(f"counts must be one-dimensional, got shape {c.shape}")
        if c.shape[0] < 2:
            raise ValueError(f"a Huffman tree needs at least 2 classes, got {c.shape[0]}")
        if not np.all(np.isfinite(c)) or np.any(c < 0):
            raise ValueError("counts must be finite and non-negative")
        if c.sum() <= 0:
            raise ValueError("counts must not all be zero")
        self.counts = c
        V = c.shape[0]
        self.num_classes = V
        self.num_nodes = V - 1
        left, right = self._merge(c)
        self._layout(left, right)

    # ------------------------------------------------------------------ build

    @staticmethod
    def _merge(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Huffman merges; node ``k`` (creation order) has children ``left[k]`` (branch 0), ``right[k]``.

        Children are encoded as ``leaf id`` (``< V``) or ``V + k`` for internal node ``k``.
        """
        V = c.shape[0]
        order = np.argsort(c, kind="stable").tolist()
        leaf_w = c[order].tolist()
        node_w = [0.0] * (V - 1)
        left = [0] * (V - 1)
        right = [0] * (V - 1)
        i = 0  # next leaf in ascending order
        j = 0  # next internal node not yet merged (internal weights are created non-decreasing)
        for k in range(V - 1):
            picked = []
            for _ in range(2):
                if i < V and (j >= k or leaf_w[i] <= node_w[j]):
                    picked.append((leaf_w[i], order[i]))
                    i += 1
                else:
                    picked.append((node_w[j], V + j))
                    j += 1
            (w0, a), (w1, b) = picked
            left[k], right[k] = a, b
            node_w[k] = w0 + w1
        return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)

    def _layout(self, left: np.ndarray, right: np.ndarray) -> None:
        """Renumber internal nodes breadth-first and derive paths, codes and depths."""
        V, N = self.num_classes, self.num_nodes
        new_id = np.empty(N, dtype=np.int64)  # creation index -> BFS id
        parent = np.full(N, -1, dtype=np.int64)
        parent_bit = np.full(N, -1, dtype=np.int8)
        leaf_parent = np.empty(V, dtype=np.int64)
        leaf_bit = np.empty(V, dtype=np.int8)
        depths = np.empty(V, dtype=np.int64)
        level_starts = [0, 1]
        frontier = np.array([N - 1], dtype=np.int64)  # creation index of the root
        new_id[N - 1] = 0
        next_id = 1
        depth = 0
        while frontier.size:
            pids = new_id[frontier]
            kids = np.stack([left[frontier], right[frontier]], axis=1).reshape(-1)
            kid_parent = np.repeat(pids, 2)
            kid_bit = np.tile(np.array([0, 1], dtype=np.int8), frontier.size)
            is_leaf = kids < V
            leaves = kids[is_leaf]
            leaf_parent[leaves] = kid_parent[is_leaf]
            leaf_bit[leaves] = kid_bit[is_leaf]
            depths[leaves] = depth + 1
            nxt = kids[~is_leaf] - V
            ids = np.arange(next_id, next_id + nxt.size, dtype=np.int64)
            new_id[nxt] = ids
            parent[ids] = kid_parent[~is_leaf]
            parent_bit[ids] = kid_bit[~is_leaf]
            next_id += nxt.size
            level_starts.append(next_id)
            frontier = nxt
            depth += 1
        # the last append repeats N (the empty level below the deepest internal nodes)
        self.level_starts = np.asarray(level_starts[:-1], dtype=np.int64)
        self.parent, self.parent_bit = parent, parent_bit
        self.leaf_parent, self.leaf_bit = leaf_parent, leaf_bit
        self.depths = depths
        L = int(depths.max())
        self.max_depth = L
        paths = np.full((V, L), -1, dtype=np.int64)
        codes = np.full((V, L), -1, dtype=np.int8)
        # Walk all leaves up together, one level per step, writing from the deepest slot.
        rows = np.arange(V)
        pos = depths - 1
        node, bit = leaf_parent.copy(), leaf_bit.copy()
        active = np.ones(V, dtype=bool)
        while active.any():
            r = rows[active]
            paths[r, pos[r]] = node[r]
            codes[r, pos[r]] = bit[r]
            bit[r] = parent_bit[node[r]]
            node[r] = parent[node[r]]
            pos[r] -= 1
            active[r] = pos[r] >= 0
        self.path_matrix, self.code_matrix = paths, codes

    # ------------------------------------------------------------------ queries

    def code(self, i: int) -> list[int]:
        """Huffman code (branch bits, root first) of class ``i``."""
        return self.code_matrix[i, : self.depths[i]].astype(int).tolist()

    def path(self, i: int) -> list[int]:
        """Internal node ids from the root to class ``i``'s parent."""
        return self.path_matrix[i, : self.depths[i]].tolist()

    @property
    def codes(self) -> list[list[int]]:
        """Huffman codes of all classes, in the order of ``counts`` (built on each access)."""
        return [row[:d].astype(int).tolist() for row, d in zip(self.code_matrix, self.depths, strict=True)]

    @property
    def paths(self) -> list[list[int]]:
        """Root-first internal node ids of all classes, in the order of ``counts`` (built on each access)."""
        return [row[:d].tolist() for row, d in zip(self.path_matrix, self.depths, strict=True)]

    @property
    def probabilities(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    def entropy(self) -> float:
        """Entropy H (bits) of the class distribution ``counts / counts.sum()``."""
        p = self.probabilities
        p = p[p > 0]
        return float(-(p * np.log2(p)).sum())

    def average_code_length(self, weights: Sequence[float] | np.ndarray | None = None) -> float:
        """Mean code length under ``weights`` (default: the counts), i.e. node evaluations per example."""
        w = self.counts if weights is None else np.asarray(weights, dtype=np.float64)
        return float((w * self.depths).sum() / w.sum())

    def __len__(self) -> int:
        return self.num_classes

    def __repr__(self) -> str:
        return (
            f"HuffmanTree(num_classes={self.num_classes}, max_depth={self.max_depth}, "
            f"average_code_length={self.average_code_length():.3f}, entropy={self.entropy():.3f})"
        )


class HierarchicalSoftmax(nn.Module):
    r"""Hierarchical softmax over a Huffman tree: exact class log-likelihoods in O(log V).

    .. math::
        \log P(w \mid h) = \sum_{j=1}^{l(w)} \log \sigma\big(s_j(w)\,(u_{n_j(w)}^\top h + b_{n_j(w)})\big),
        \qquad s_j = 1 - 2 c_j(w),

    with the Huffman code :math:`c(w)` and path :math:`n(w)` of class :math:`w`
    (see :class:`HuffmanTree`). :meth:`forward` returns the negative
    log-likelihood of the targets and touches only the :math:`l(w)` node vectors
    of each target, gathered with one embedding lookup and scored with one
    batched matrix product; :meth:`log_prob` returns the full distribution.

    Args:
        in_features: size of each input sample (d).
        counts: class frequencies used to build the tree (sequence, array or
            tensor of length V ≥ 2), or a ready :class:`HuffmanTree`.
        bias: if ``True``, every internal node has a learnable bias. Default: ``True``.
        sparse: if ``True``, the gradient of ``weight`` is a sparse tensor holding
            only the rows on the batch's paths (as ``nn.Embedding(sparse=True)``);
            use an optimizer that accepts sparse gradients (``SGD``, ``SparseAdam``,
            ``Adagrad``). Otherwise every backward pass materialises a dense
            (V − 1) × d gradient, which for large V costs more than the tree walk
            itself. ``bias`` always gets a dense gradient (V − 1 numbers).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``, as in ``nn.NLLLoss``. Default: ``'mean'``.

    Attributes:
        weight: ``(V − 1, in_features)`` node vectors, initialised to zero as in
            word2vec, so the initial model gives class ``w`` probability
            :math:`2^{-l(w)}`, already close to its frequency.
        bias: ``(V − 1,)`` node biases, initialised to zero.
        tree: the :class:`HuffmanTree`.

    The tree is derived from ``counts`` and is not part of the ``state_dict``
    (only ``weight`` and ``bias`` are): build the module with the same counts
    before loading saved parameters.

    Shape:
        - input: :math:`(B, d)` or :math:`(d)`.
        - target: :math:`(B)` or :math:`()`, class indices in :math:`[0, V)`.
        - output of ``forward``: :math:`(B)` with ``reduction='none'``, else a scalar.
        - output of ``log_prob``: :math:`(B, V)` (or :math:`(V)`); ``exp`` of every row sums to 1.

    Examples::

        >>> hs = HierarchicalSoftmax(64, counts=word_counts)
        >>> loss = hs(hidden, target_ids)          # mean NLL, O(log V) per example
        >>> logp = hs.log_prob(hidden)             # (B, V), for evaluation
    """

    # buffers registered in __init__ (typed here for readers and type checkers)
    paths: Tensor
    signs: Tensor
    depths: Tensor
    _node_edge: Tensor
    _leaf_edge: Tensor

    def __init__(
        self,
        in_features: int,
        counts: Sequence[float] | np.ndarray | Tensor | HuffmanTree,
        bias: bool = True,
        sparse: bool = False,
        reduction: str = "mean",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if reduction not in ("none", "mean", "sum"):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        if in_features <= 0:
            raise ValueError(f"in_features must be positive, got {in_features}")
        factory = {"device": device, "dtype": dtype}
        tree = counts if isinstance(counts, HuffmanTree) else HuffmanTree(counts)
        self.tree = tree
        self.in_features = in_features
        self.num_classes = tree.num_classes
        self.sparse = sparse
        self.reduction = reduction
        N = tree.num_nodes
        self.weight = nn.Parameter(torch.empty(N, in_features, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(N, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

        # Padded root-first paths; padding points at the root and is cancelled by a zero sign.
        paths = torch.from_numpy(np.where(tree.path_matrix < 0, 0, tree.path_matrix))
        signs = torch.from_numpy(np.where(tree.code_matrix < 0, 0, 1 - 2 * tree.code_matrix.astype(np.int16)).astype(np.int8))
        self.register_buffer("paths", paths.to(device), persistent=False)
        self.register_buffer("signs", signs.to(device), persistent=False)
        self.register_buffer("depths", torch.from_numpy(tree.depths).to(device), persistent=False)
        # For log_prob: edge 2n + b is "branch b of node n"; a node's log-probability is that of
        # the edge leading to it, so the distribution unrolls level by level.
        pe = np.where(tree.parent < 0, 0, 2 * tree.parent + tree.parent_bit.astype(np.int64))
        self.register_buffer("_node_edge", torch.from_numpy(pe).to(device), persistent=False)
        le = 2 * tree.leaf_parent + tree.leaf_bit.astype(np.int64)
        self.register_buffer("_leaf_edge", torch.from_numpy(le).to(device), persistent=False)
        self._levels = [int(s) for s in tree.level_starts]

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"max_depth={self.tree.max_depth}, bias={self.bias is not None}, "
            f"sparse={self.sparse}, reduction={self.reduction!r}"
        )

    # ------------------------------------------------------------------ training

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """Negative log-likelihood of ``target`` given ``input`` (see class docstring for shapes)."""
        unbatched = input.dim() == 1
        if unbatched:
            input, target = input.unsqueeze(0), target.reshape(1)
        if input.dim() != 2 or input.size(1) != self.in_features:
            raise ValueError(f"input must be (B, {self.in_features}) or ({self.in_features},), got {tuple(input.shape)}")
        if target.shape != input.shape[:1]:
            raise ValueError(f"target must have shape ({input.size(0)},), got {tuple(target.shape)}")
        nodes = self.paths[target]  # (B, L)
        signs = self.signs[target]
        if not torch.compiler.is_compiling() and nodes.size(0) > 0:
            # Trim the padding common to the whole batch (one host sync; skipped under compile,
            # where the fixed max_depth keeps shapes static).
            width = int(self.depths[target].max())
            nodes, signs = nodes[:, :width], signs[:, :width]
        u = F.embedding(nodes, self.weight, sparse=self.sparse)  # (B, L, d)
        z = torch.bmm(u, input.unsqueeze(2)).squeeze(2)  # (B, L)
        if self.bias is not None:
            z = z + self.bias[nodes]
        s = signs.to(z.dtype)
        nll = -(F.logsigmoid(s * z) * s.abs()).sum(1)
        if unbatched and self.reduction == "none":
            return nll.squeeze(0)
        if self.reduction == "mean":
            return nll.mean()
        if self.reduction == "sum":
            return nll.sum()
        return nll

    # ------------------------------------------------------------------ full distribution

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of all V classes, O(V·d) per example (for evaluation and sampling)."""
        unbatched = input.dim() == 1
        if unbatched:
            input = input.unsqueeze(0)
        z = F.linear(input, self.weight, self.bias)  # (B, N)
        # edge_lp[:, 2n + b] = log P(reach node n) + log P(branch b at n)
        branch = torch.stack((F.logsigmoid(z), F.logsigmoid(-z)), dim=2)  # (B, N, 2)
        levels = self._levels
        B = input.size(0)
        pieces = [branch[:, levels[0] : levels[1]].reshape(B, -1)]
        for d in range(1, len(levels) - 1):
            a, b = levels[d], levels[d + 1]
            # parents of depth-d nodes are at depth d - 1, whose edges are the previous piece
            offset = 2 * levels[d - 1]
            reach = pieces[-1].index_select(1, self._node_edge[a:b] - offset)  # (B, b - a)
            pieces.append((branch[:, a:b] + reach.unsqueeze(2)).reshape(B, -1))
        edge_lp = torch.cat(pieces, dim=1)
        out = edge_lp.index_select(1, self._leaf_edge)
        return out.squeeze(0) if unbatched else out

    def predict(self, input: Tensor) -> Tensor:
        """Most probable class for each input (exact argmax of :meth:`log_prob`)."""
        return self.log_prob(input).argmax(dim=-1)

