"""Tests for dlfaq.nn.attention: masks, formulas, the fused path and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfaq.nn.attention import (
    AdditiveAttention,
    MultiplicativeAttention,
    ScaledDotProductAttention,
    lengths_to_mask,
    masked_softmax,
)

D = 6  # query = key size, so every module (incl. dot and scaled dot) accepts the same inputs


def make_modules(dtype: torch.dtype = torch.float32) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        "additive": AdditiveAttention(D, D, 5, dtype=dtype),
        "dot": MultiplicativeAttention(D, score="dot", dtype=dtype),
        "general": MultiplicativeAttention(D, D, score="general", dtype=dtype),
        "concat": MultiplicativeAttention(D, D, score="concat", hidden_size=4, dtype=dtype),
        "scaled": ScaledDotProductAttention(),
    }


MODULE_NAMES = list(make_modules())


def test_lengths_to_mask() -> None:
    m = lengths_to_mask(torch.tensor([3, 0, 1]), 4)
    assert m.tolist() == [
        [True, True, True, False],
        [False, False, False, False],
        [True, False, False, False],
    ]
    assert lengths_to_mask(torch.tensor([2, 5])).shape == (2, 5)


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=4),
    m=st.integers(min_value=1, max_value=3),
    single=st.booleans(),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_weights_are_distribution_over_unmasked_keys(
    lengths: list[int], m: int, single: bool, seed: int
) -> None:
    mods = make_modules()
    g = torch.Generator().manual_seed(seed)
    b, n = len(lengths), 7
    q = torch.randn(b, D, generator=g) if single else torch.randn(b, m, D, generator=g)
    k = torch.randn(b, n, D, generator=g)
    v = torch.randn(b, n, 3, generator=g)
    mask = lengths_to_mask(torch.tensor(lengths), n)
    for name, mod in mods.items():
        out, w = mod(q, k, v, mask=mask, return_weights=True)
        expect_w = (b, n) if single else (b, m, n)
        assert w.shape == expect_w, name
        assert out.shape == ((b, 3) if single else (b, m, 3)), name
        wm = w if not single else w.unsqueeze(1)
        # masked keys: exactly zero, not merely tiny
        assert torch.all(wm.masked_select(~mask.unsqueeze(1).expand_as(wm)) == 0), name
        # float32 softmax sums are exact to a few ulps
        torch.testing.assert_close(wm.sum(-1), torch.ones(wm.shape[:-1]), atol=1e-6, rtol=0)
        assert torch.all(wm >= 0), name
        # the output is the weighted mean of the values
        torch.testing.assert_close(out.reshape(b, -1, 3), torch.bmm(wm, v), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_masked_keys_do_not_influence_output(name: str) -> None:
    mod = make_modules()[name]
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 3, D), torch.randn(2, 5, D), torch.randn(2, 5, 4)
    mask = lengths_to_mask(torch.tensor([3, 5]), 5)
    out1 = mod(q, k, v, mask=mask)
    k2, v2 = k.clone(), v.clone()
    k2[0, 3:] = 100.0 * torch.randn(2, D)
    v2[0, 3:] = 100.0
    out2 = mod(q, k2, v2, mask=mask)
    torch.testing.assert_close(out1, out2)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_per_query_mask_and_fully_masked_query(name: str) -> None:
    mod = make_modules()[name]
    torch.manual_seed(2)
    q = torch.randn(1, 3, D, requires_grad=True)
    k, v = torch.randn(1, 4, D), torch.randn(1, 4, 2)
    mask = torch.tensor(
        [[[True, False, True, False], [False, False, False, False], [True, True, True, True]]]
    )
    out, w = mod(q, k, v, mask=mask, return_weights=True)
    assert torch.all(w[0, 1] == 0) and torch.all(out[0, 1] == 0)
    assert w[0, 0, 1] == 0 and w[0, 0, 3] == 0
    out_fused = mod(q, k, v, mask=mask)
    torch.testing.assert_close(out, out_fused)
    out.sum().backward()
    assert torch.isfinite(q.grad).all()


def test_additive_matches_formula() -> None:
    torch.manual_seed(3)
    mod = AdditiveAttention(4, 3, 5)
    q, k, v = torch.randn(2, 4), torch.randn(2, 6, 3), torch.randn(2, 6, 2)
    out, w = mod(q, k, v, return_weights=True)
    wq, bq, wk, va = mod.w_query.weight, mod.w_query.bias, mod.w_key.weight, mod.v.weight[0]
    e = torch.tanh((q @ wq.T + bq)[:, None, :] + k @ wk.T) @ va
    torch.testing.assert_close(w, torch.softmax(e, -1))
    torch.testing.assert_close(out, torch.einsum("bn,bnd->bd", torch.softmax(e, -1), v))


def test_luong_scores_match_formulas() -> None:
    torch.manual_seed(4)
    q, k = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    dot = MultiplicativeAttention(4, score="dot")
    torch.testing.assert_close(dot.scores(q, k), q @ k.transpose(1, 2))
    gen = MultiplicativeAttention(4, 4, score="general")
    torch.testing.assert_close(gen.scores(q, k), q @ gen.w.weight @ k.transpose(1, 2))
    cat = MultiplicativeAttention(4, 4, score="concat", hidden_size=3)
    w_a = torch.cat([cat.w_query.weight, cat.w_key.weight], dim=1)  # W_a acting on [q; k]
    pairs = torch.cat(
        [q[:, :, None, :].expand(2, 3, 5, 4), k[:, None, :, :].expand(2, 3, 5, 4)], dim=-1
    )
    expect = torch.tanh(pairs @ w_a.T) @ cat.v.weight[0]
    torch.testing.assert_close(cat.scores(q, k), expect)
    with pytest.raises(ValueError):
        MultiplicativeAttention(4, 5, score="dot")
    with pytest.raises(ValueError):
        MultiplicativeAttention(4, score="bilinear")


@pytest.mark.parametrize("with_mask", [False, True])
def test_scaled_dot_matches_torch_fused(with_mask: bool) -> None:
    torch.manual_seed(5)
    q, k, v = torch.randn(3, 4, 8), torch.randn(3, 6, 8), torch.randn(3, 6, 5)
    mask = lengths_to_mask(torch.tensor([6, 2, 4]), 6) if with_mask else None
    mod = ScaledDotProductAttention()
    ref = F.scaled_dot_product_attention(
        q, k, v, attn_mask=None if mask is None else mask[:, None, :]
    )
    fused = mod(q, k, v, mask=mask)
    explicit, w = mod(q, k, v, mask=mask, return_weights=True)
    # both paths compute the same sum in a different order: float32 rounding only
    torch.testing.assert_close(fused, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(explicit, ref, atol=1e-6, rtol=1e-5)
    expect_w = torch.softmax(
        (q @ k.transpose(1, 2)) / 8**0.5 + (0 if mask is None else (~mask[:, None, :]) * -1e9), -1
    )
    torch.testing.assert_close(w, expect_w)
    # a custom scale is passed through
    mod2 = ScaledDotProductAttention(scale=0.1)
    torch.testing.assert_close(
        mod2(q, k, v), F.scaled_dot_product_attention(q, k, v, scale=0.1), atol=1e-6, rtol=1e-5
    )


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_gradcheck_float64(name: str) -> None:
    mod = make_modules(torch.float64)[name]
    torch.manual_seed(6)
    q = torch.randn(2, 2, D, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 4, D, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = lengths_to_mask(torch.tensor([4, 2]), 4)

    def f(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mod(q, k, v, mask=mask, return_weights=True)

    assert torch.autograd.gradcheck(f, (q, k, v))
    # and the fused path (weights not requested)
    assert torch.autograd.gradcheck(lambda q, k, v: mod(q, k, v, mask=mask), (q, k, v))
    # parameters too
    for p in mod.parameters():
        p.grad = None
    mod(q, k, v, mask=mask).sum().backward()
    for pname, p in mod.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_masked_softmax_all_masked_row_has_clean_gradient() -> None:
    s = torch.randn(2, 3, requires_grad=True)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    w = masked_softmax(s, mask)
    assert w[1].eq(0).all()
    (w * torch.arange(3.0)).sum().backward()
    assert torch.isfinite(s.grad).all() and s.grad[1].eq(0).all()


def test_shape_errors() -> None:
    mod = AdditiveAttention(3, 3, 4)
    with pytest.raises(ValueError):
        mod(torch.randn(3), torch.randn(1, 2, 3), torch.randn(1, 2, 3))
    with pytest.raises(ValueError):
        mod(torch.randn(1, 3), torch.randn(1, 2, 3), torch.randn(1, 4, 3))
    with pytest.raises(TypeError):
        mod(torch.randn(1, 3), torch.randn(1, 2, 3), torch.randn(1, 2, 3), mask=torch.ones(1, 2))
    with pytest.raises(ValueError):
        ScaledDotProductAttention()(torch.randn(1, 3), torch.randn(1, 2, 4), torch.randn(1, 2, 4))


def test_dropout_only_in_training() -> None:
    torch.manual_seed(7)
    mod = AdditiveAttention(D, D, 4, dropout=0.5)
    q, k, v = torch.randn(2, D), torch.randn(2, 5, D), torch.randn(2, 5, 3)
    mod.eval()
    torch.testing.assert_close(mod(q, k, v), mod(q, k, v))
    sd = ScaledDotProductAttention(dropout=0.5).eval()
    torch.testing.assert_close(
        sd(q, k, v), F.scaled_dot_product_attention(q[:, None], k, v).squeeze(1)
    )
    mod.train()
    assert not torch.allclose(mod(q, k, v), mod(q, k, v))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", MODULE_NAMES)
def test_cuda_matches_cpu(name: str) -> None:
    mod = make_modules()[name]
    q, k, v = torch.randn(2, 3, D), torch.randn(2, 5, D), torch.randn(2, 5, 4)
    mask = lengths_to_mask(torch.tensor([5, 2]), 5)
    ref = mod(q, k, v, mask=mask)
    out = mod.cuda()(q.cuda(), k.cuda(), v.cuda(), mask=mask.cuda())
    # GPU kernels (TF32 disabled by default for matmul in torch) differ only by rounding
    torch.testing.assert_close(out.cpu(), ref, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULE_NAMES)
def test_torch_compile(name: str) -> None:
    mod = make_modules()[name]
    q, k, v = torch.randn(2, 3, D), torch.randn(2, 5, D), torch.randn(2, 5, 4)
    mask = lengths_to_mask(torch.tensor([5, 2]), 5)
    compiled = torch.compile(mod)
    torch.testing.assert_close(
        compiled(q, k, v, mask=mask), mod(q, k, v, mask=mask), atol=1e-5, rtol=1e-5
    )
