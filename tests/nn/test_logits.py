"""dlfaq.nn.functional against torch's own softmax family, including extreme logits."""

from __future__ import annotations

import pytest
import torch

from dlfaq.nn.functional import log_softmax, logit, logsumexp, naive_softmax, softmax


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_matches_torch(dtype, scale):
    torch.manual_seed(0)
    z = (torch.randn(64, 17, dtype=torch.float64) * scale).to(dtype)
    # float32 results are compared with a tolerance of a few ulps of the largest value
    # involved (|logsumexp| ~ scale), float64 with a much tighter one.
    eps = torch.finfo(dtype).eps
    assert torch.allclose(softmax(z), torch.softmax(z, -1), atol=8 * eps, rtol=0)
    assert torch.allclose(log_softmax(z), torch.log_softmax(z, -1), atol=8 * eps * scale, rtol=8 * eps)
    assert torch.allclose(logsumexp(z, -1), torch.logsumexp(z, -1), atol=8 * eps * scale, rtol=8 * eps)
    assert torch.isfinite(log_softmax(z)).all()


def test_other_dims_keepdim_and_gradients():
    z = torch.randn(3, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(softmax(z, dim=1), torch.softmax(z, 1))
    assert logsumexp(z, dim=2, keepdim=True).shape == (3, 5, 1)
    assert torch.autograd.gradcheck(lambda t: log_softmax(t, dim=1), (z,))


def test_naive_overflows_where_stable_does_not():
    z = torch.tensor([[100.0, 0.0, -100.0]])  # exp(100) is inf in float32
    assert not torch.isfinite(naive_softmax(z)).all()
    assert torch.allclose(softmax(z), torch.tensor([[1.0, 0.0, 0.0]]))
    # log of a probability that underflowed is -inf; log_softmax is exact: -200
    assert torch.isneginf(torch.log(torch.softmax(z, -1))[0, 2])
    assert log_softmax(z)[0, 2].item() == pytest.approx(-200.0)


def test_all_masked_row_is_nan_not_silently_uniform():
    z = torch.full((1, 3), float("-inf"))
    assert torch.isnan(softmax(z)).all()  # 0/0, as torch.softmax gives
    assert torch.isnan(torch.softmax(z, -1)).all()


def test_logit_inverts_sigmoid():
    z = torch.linspace(-15, 15, 101, dtype=torch.float64)
    assert torch.allclose(logit(torch.sigmoid(z)), z, atol=1e-6)
    assert torch.isfinite(logit(torch.tensor([0.0, 1.0]), eps=1e-6)).all()
