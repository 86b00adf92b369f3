"""Speed of dlfaq's attention modules and distillation against their PyTorch anchors.

Run: ``python benchmarks/bench_attention_distill.py [--json]``. Ratios are ours / anchor
(median of interleaved repeats, same process); below 1 means faster.

- ``sdpa-fused``: ``ScaledDotProductAttention`` (weights not requested) vs calling
  ``torch.nn.functional.scaled_dot_product_attention`` directly: the wrapper's overhead.
- ``sdpa-with-weights``: the explicit path that returns the weights vs the fused call:
  what asking for the weights costs.
- ``additive``: ``AdditiveAttention`` vs the same formula written inline in torch.
- ``distill-cached``: ``distill()`` with the teacher's logits computed once vs
  ``cache_teacher=False`` (teacher run on every batch, the usual hand-written loop).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import compare, report  # noqa: E402

from dlfaq.nn.attention import AdditiveAttention, ScaledDotProductAttention  # noqa: E402
from dlfaq.train.distillation import distill  # noqa: E402


def main() -> None:
    torch.manual_seed(0)
    rows = []
    B, M, N, D = 32, 64, 64, 64
    q, k, v = torch.randn(B, M, D), torch.randn(B, N, D), torch.randn(B, N, D)
    mask = torch.rand(B, N) > 0.2
    mask[:, 0] = True
    sdpa = ScaledDotProductAttention()

    def loop(fn, n: int = 20):  # noqa: ANN001, ANN202
        def run() -> None:
            with torch.no_grad():
                for _ in range(n):
                    fn()

        return run

    rows.append(
        {
            "case": "sdpa-fused",
            **compare(
                loop(lambda: sdpa(q, k, v, mask=mask)),
                loop(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, :])),
                repeats=7,
            ),
        }
    )
    rows.append(
        {
            "case": "sdpa-with-weights",
            **compare(
                loop(lambda: sdpa(q, k, v, mask=mask, return_weights=True)),
                loop(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, :])),
                repeats=7,
            ),
        }
    )
    add = AdditiveAttention(D, D, 32)
    wq, bq, wk, va = add.w_query.weight, add.w_query.bias, add.w_key.weight, add.v.weight[0]

    def inline_additive() -> torch.Tensor:
        e = torch.tanh((q @ wq.T + bq)[:, :, None, :] + (k @ wk.T)[:, None, :, :]) @ va
        e = e.masked_fill(~mask[:, None, :], float("-inf"))
        return torch.softmax(e, -1) @ v

    rows.append(
        {
            "case": "additive",
            **compare(
                loop(lambda: add(q, k, v, mask=mask), 5), loop(inline_additive, 5), repeats=7
            ),
        }
    )

    from dlfaq.data import digits
    from dlfaq.nn.blocks import MLP

    Xtr, ytr, _, _ = digits(seed=0).tensors()
    teacher = MLP(64, 10, hidden=512, depth=2)
    teacher.eval()

    def run_distill(cache: bool):  # noqa: ANN202
        def run() -> None:
            torch.manual_seed(1)
            distill(
                teacher,
                MLP(64, 10, hidden=16, depth=1),
                (Xtr, ytr),
                epochs=5,
                lr=1e-2,
                optimizer="adam",
                batch_size=64,
                eval_train=False,
                cache_teacher=cache,
            )

        return run

    rows.append(
        {"case": "distill-cached", **compare(run_distill(True), run_distill(False), repeats=5)}
    )
    report(
        "attention and distillation (ours / anchor)",
        rows,
        target="sdpa-fused and additive ≈ 1; distill-cached < 1",
    )


if __name__ == "__main__":
    main()
