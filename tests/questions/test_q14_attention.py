"""Q14 experiment: the alignment and faithfulness measurements on models whose answer is known.

An oracle copier whose attention sits on the copied token must score full alignment and full
faithfulness; the same copier with its weights pointing elsewhere must score none. So the
measurements behind q14.uninterpretable can come out both ways.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlfaq.experiments.q14_attention import (
    VOCAB,
    admissible,
    chance_alignment,
    measure_faithfulness,
    measure_lengths,
)


class OracleCopier:
    """Copies its input exactly; its 'attention' at step t is one-hot on position (t + shift) % n."""

    def __init__(self, shift: int = 0) -> None:
        self.shift = shift

    def _weights(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        eye = torch.eye(n).roll(self.shift, dims=1)
        return eye.expand(x.shape[0], n, n).clone()

    def greedy(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.clone(), self._weights(x)

    def teacher_forced(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.nn.functional.one_hot(x, VOCAB).float(), self._weights(x)


def test_admissible_positions_and_chance() -> None:
    m = admissible(4)
    assert m.tolist() == [[True, True, False, False], [False, True, True, False],
                          [False, False, True, True], [False, False, False, True]]
    for n in (1, 2, 8, 32):
        assert chance_alignment(n) == pytest.approx((2 * n - 1) / n**2)


def test_aligned_oracle_scores_full_alignment_and_faithfulness() -> None:
    res = measure_lengths(OracleCopier(0), [6, 12], 20, seed=0, dev="cpu")
    assert res["token_acc"] == [1.0, 1.0] and res["seq_acc"] == [1.0, 1.0]
    assert res["alignment"] == [1.0, 1.0] and res["alignment_exact"] == [1.0, 1.0]
    f = measure_faithfulness(OracleCopier(0), 12, 200, seed=0, dev="cpu")
    assert f == {"change_attended": 1.0, "change_other": 0.0}


def test_misaligned_oracle_scores_no_alignment_and_no_faithfulness() -> None:
    res = measure_lengths(OracleCopier(5), [12], 20, seed=0, dev="cpu")
    assert res["token_acc"] == [1.0]  # it still copies: accuracy says nothing about the weights
    assert res["alignment"] == [0.0] and res["alignment_exact"] == [0.0]
    f = measure_faithfulness(OracleCopier(5), 12, 2000, seed=0, dev="cpu")
    assert f["change_attended"] == 0.0
    # a random other position hits the copied one with probability 1/(n-1)
    assert f["change_other"] == pytest.approx(1 / 11, abs=0.03)


def test_replacement_token_always_differs() -> None:
    # measure_faithfulness replaces a token by (x - 1 + k) % (V - 1) + 1 with k in 1..V-2
    x = np.arange(1, VOCAB)
    for k in range(1, VOCAB - 1):
        y = (x - 1 + k) % (VOCAB - 1) + 1
        assert np.all(y != x) and y.min() >= 1 and y.max() <= VOCAB - 1
