"""Tests for dlfaq.nn.hsoftmax: the Huffman tree and the hierarchical softmax layer."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfaq.nn import HierarchicalSoftmax, HuffmanTree

counts_strategy = st.lists(
    st.integers(min_value=0, max_value=10_000), min_size=2, max_size=60
).filter(lambda c: sum(c) > 0)


def _reference_huffman_cost(counts: list[float]) -> float:
    """Σ count·length of an optimal prefix code = sum of all merged weights (textbook heapq Huffman)."""
    heap = [float(c) for c in counts]
    heapq.heapify(heap)
    cost = 0.0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    return cost


def _random_layer(counts, d=6, seed=0, **kw) -> HierarchicalSoftmax:
    torch.manual_seed(seed)
    hs = HierarchicalSoftmax(d, counts, dtype=torch.float64, **kw)
    # the default zero init would make every test trivially symmetric
    torch.nn.init.normal_(hs.weight)
    if hs.bias is not None:
        torch.nn.init.normal_(hs.bias)
    return hs


# ----------------------------------------------------------------------------- tree


@settings(max_examples=60, deadline=None)
@given(counts_strategy)
def test_codes_are_prefix_free_and_optimal(counts):
    tree = HuffmanTree(counts)
    codes = ["".join(map(str, tree.code(i))) for i in range(len(counts))]
    assert all(len(c) == d for c, d in zip(codes, tree.depths, strict=True))
    assert len(set(codes)) == len(codes)
    s = sorted(codes)
    # in sorted order a prefix sits right before some string it prefixes
    assert not any(b.startswith(a) for a, b in zip(s, s[1:], strict=False))
    # Kraft equality: a full binary tree uses the whole code space
    assert math.isclose(sum(2.0 ** -d for d in tree.depths), 1.0, rel_tol=1e-12)
    # optimal: same total weighted length as a textbook Huffman (integer sums, exact)
    assert float((np.asarray(counts) * tree.depths).sum()) == _reference_huffman_cost(counts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=2, max_size=60))
def test_average_code_length_within_entropy_plus_one(counts):
    # positive counts: with zero-count classes (e.g. [0, 1]) H can be 0 while every code has length 1
    tree = HuffmanTree(counts)
    H, Lbar = tree.entropy(), tree.average_code_length()
    # Shannon's source coding bound; 1e-9 absorbs float rounding of the entropy sum
    assert H - 1e-9 <= Lbar < H + 1
    # more frequent classes are never deeper
    c = np.asarray(counts)
    order = np.argsort(-c, kind="stable")
    d = tree.depths[order]
    cs = c[order]
    for i in range(len(c) - 1):
        if cs[i] > cs[i + 1]:
            assert d[i] <= d[i + 1]


def test_paths_structure_and_small_example():
    tree = HuffmanTree([5, 1, 1, 2, 10, 3])
    # hand-derived: merges (1,1)=2, (2,2)=4, (3,4)=7, (5,7)=12, (10,12)=22
    assert tree.depths.tolist() == [2, 5, 5, 4, 1, 3]
    assert tree.code(4) == [0] and tree.code(0) == [1, 0]
    assert all(tree.path(i)[0] == 0 for i in range(6))  # every path starts at the root
    assert tree.codes == [tree.code(i) for i in range(6)]
    assert tree.paths == [tree.path(i) for i in range(6)]
    # parents have smaller ids than children; levels are contiguous ranges
    assert all(tree.parent[n] < n for n in range(1, tree.num_nodes))
    assert tree.level_starts.tolist() == [0, 1, 2, 3, 4, 5]
    assert "HuffmanTree(num_classes=6" in repr(tree)


@pytest.mark.parametrize(
    "bad", [[1.0], [[1.0, 2.0]], [1.0, -1.0], [0.0, 0.0], [1.0, float("nan")]]
)
def test_tree_rejects_bad_counts(bad):
    with pytest.raises(ValueError):
        HuffmanTree(bad)


def test_zipf_vocabulary_build():
    V = 50_000
    tree = HuffmanTree(1.0 / np.arange(1, V + 1))
    assert tree.depths.shape == (V,)
    assert tree.entropy() <= tree.average_code_length() < tree.entropy() + 1
    assert tree.average_code_length() < math.log2(V)  # Huffman beats a balanced tree on Zipf data


# ----------------------------------------------------------------------------- layer


def test_log_prob_rows_sum_to_one_and_forward_matches():
    counts = np.random.default_rng(0).zipf(1.3, 300).astype(float)
    hs = _random_layer(counts, d=8, reduction="none")
    x = torch.randn(7, 8, dtype=torch.float64)
    lp = hs.log_prob(x)
    assert lp.shape == (7, 300)
    # float64: the only error is rounding in ~10-term sums
    torch.testing.assert_close(lp.exp().sum(1), torch.ones(7, dtype=torch.float64), rtol=0, atol=1e-12)
    y = torch.randint(0, 300, (7,))
    nll = hs(x, y)
    torch.testing.assert_close(nll, -lp.gather(1, y[:, None]).squeeze(1), rtol=0, atol=1e-12)
    assert torch.equal(hs.predict(x), lp.argmax(1))
    hs.reduction = "mean"
    torch.testing.assert_close(hs(x, y), nll.mean())
    hs.reduction = "sum"
    torch.testing.assert_close(hs(x, y), nll.sum())
    # unbatched input
    hs.reduction = "none"
    torch.testing.assert_close(hs(x[2], y[2]), nll[2])
    torch.testing.assert_close(hs.log_prob(x[2]), lp[2])


def test_zero_init_gives_huffman_prior():
    counts = [40, 30, 10, 10, 5, 5]
    hs = HierarchicalSoftmax(4, counts, dtype=torch.float64)
    p = hs.log_prob(torch.randn(3, 4, dtype=torch.float64)).exp()
    expected = torch.tensor(2.0 ** -hs.tree.depths, dtype=torch.float64)
    torch.testing.assert_close(p, expected.expand(3, -1))


def _brute_force_nll(hs: HierarchicalSoftmax, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Independent reference: walk each path in Python, P(branch 0) = σ(u·h + b)."""
    out = []
    for h, w in zip(x, y.tolist(), strict=True):
        total = h.new_zeros(())
        for node, bit in zip(hs.tree.path(w), hs.tree.code(w), strict=True):
            z = hs.weight[node] @ h + (hs.bias[node] if hs.bias is not None else 0.0)
            p0 = torch.sigmoid(z)
            total = total - torch.log(p0 if bit == 0 else 1 - p0)
        out.append(total)
    return torch.stack(out)


@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_brute_force(bias):
    counts = [7, 1, 3, 3, 12, 2, 2, 9]
    hs = _random_layer(counts, d=5, reduction="sum", bias=bias)
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 4, 5, 7, 1])
    params = [x, hs.weight] + ([hs.bias] if bias else [])
    g_ours = torch.autograd.grad(hs(x, y), params)
    g_ref = torch.autograd.grad(_brute_force_nll(hs, x, y).sum(), params)
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # and against finite differences
    assert torch.autograd.gradcheck(lambda inp: hs(inp, y), (x,))


def test_sparse_gradient_equals_dense():
    counts = np.arange(1, 41, dtype=float)
    dense = _random_layer(counts, d=4, seed=1)
    sparse = _random_layer(counts, d=4, seed=1, sparse=True)
    x = torch.randn(9, 4, dtype=torch.float64)
    y = torch.randint(0, 40, (9,))
    dense(x, y).backward()
    sparse(x, y).backward()
    assert sparse.weight.grad.is_sparse and not dense.weight.grad.is_sparse
    torch.testing.assert_close(sparse.weight.grad.to_dense(), dense.weight.grad)
    torch.testing.assert_close(sparse.bias.grad, dense.bias.grad)
    # a sparse-gradient optimizer step runs
    torch.optim.SGD(sparse.parameters(), lr=0.1).step()


def test_training_learns_a_conditional_distribution():
    # 3 input clusters, each mapped to one class; the layer alone must learn the mapping
    torch.manual_seed(0)
    counts = [100, 50, 20, 10, 5, 2, 1]
    hs = HierarchicalSoftmax(3, counts)
    x = torch.eye(3).repeat(30, 1)
    y = torch.tensor([0, 4, 6]).repeat(30)
    opt = torch.optim.SGD(hs.parameters(), lr=1.0)
    for _ in range(200):
        opt.zero_grad()
        hs(x, y).backward()
        opt.step()
    assert torch.equal(hs.predict(torch.eye(3)), torch.tensor([0, 4, 6]))
    assert hs(x, y).item() < 0.05  # near-deterministic targets: NLL → 0


def test_module_habits():
    hs = HierarchicalSoftmax(4, [3, 2, 1, 1], bias=False, reduction="sum")
    assert "num_classes=4" in repr(hs) and "bias=False" in repr(hs)
    assert [n for n, _ in hs.named_parameters()] == ["weight"]
    assert hs.state_dict().keys() == {"weight"}  # tree buffers are derived, not saved
    hs64 = hs.to(torch.float64)
    assert hs64.weight.dtype == torch.float64 and hs64.paths.dtype == torch.int64
    with pytest.raises(ValueError):
        HierarchicalSoftmax(4, [1, 2], reduction="avg")
    with pytest.raises(ValueError):
        hs(torch.randn(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        hs(torch.randn(2, 4), torch.tensor([0, 1, 2]))
    tree = HuffmanTree([3, 2, 1, 1])
    assert HierarchicalSoftmax(4, tree).tree is tree


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    counts = np.arange(1, 101, dtype=float)
    hs = _random_layer(counts, d=8)
    x = torch.randn(5, 8, dtype=torch.float64)
    y = torch.randint(0, 100, (5,))
    gpu = _random_layer(counts, d=8).cuda()
    torch.testing.assert_close(gpu(x.cuda(), y.cuda()).cpu(), hs(x, y))
    torch.testing.assert_close(gpu.log_prob(x.cuda()).cpu(), hs.log_prob(x))


@pytest.mark.slow
def test_torch_compile_matches_eager():
    counts = np.arange(1, 101, dtype=float)
    hs = _random_layer(counts, d=8, reduction="none").float()
    x = torch.randn(6, 8)
    y = torch.randint(0, 100, (6,))
    torch.testing.assert_close(torch.compile(hs)(x, y), hs(x, y))
    torch.testing.assert_close(torch.compile(hs.log_prob)(x), hs.log_prob(x))


# ----------------------------------------------------------------------------- experiments


def test_q16_experiments_smoke(tmp_path):
    pytest.importorskip("gensim", reason="the Lee corpus and the benchmarks ship with gensim (embeddings extra)")
    import dlfaq.experiments.q16_hsoftmax  # noqa: F401 - registers the experiments
    from dlfaq.experiments import RunContext, run_experiment
    from dlfaq.experiments._core import _REGISTRY, expected_claims

    # the registry directly: discover() would import every question's experiments (seconds)
    specs = [s for s in _REGISTRY.values() if s.question == 16]
    assert {s.short for s in specs} == {"huffman-depth", "skipgram-output-layers"}
    for spec in specs:
        rec = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path))
        assert rec["status"] == "ok", rec.get("traceback")
        assert sorted(v["claim"] for v in rec["verdicts"]) == sorted(expected_claims(spec))
        assert rec["figures"] and rec["tables"]
        if spec.short == "huffman-depth":
            m = rec["metrics"]
            # exact facts about the Lee vocabulary that the smoke profile still computes in full
            assert m["lee_order_violations"] == 0
            assert m["lee_entropy_bits"] <= m["lee_avg_code_length"] < m["lee_entropy_bits"] + 1
