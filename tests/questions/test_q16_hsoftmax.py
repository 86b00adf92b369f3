"""Q16's exact helpers: the balanced-tree cost, the order check, and the Huffman properties the verdicts rest on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlfaq.experiments.q16_hsoftmax import (
    balanced_average,
    order_violations,
    rare_half_share,
    skipgram_pairs,
)
from dlfaq.nn import HuffmanTree


def test_balanced_average_small_trees():
    assert balanced_average(np.ones(4)) == 2.0  # a perfect tree: every leaf at depth 2
    # V = 3: one leaf at depth 1 (the most frequent word), two at depth 2
    assert balanced_average(np.array([3.0, 2.0, 1.0])) == pytest.approx((3 * 1 + 3 * 2) / 6)
    assert balanced_average(np.ones(5)) == pytest.approx((3 * 2 + 2 * 3) / 5)  # depths 2, 2, 2, 3, 3


def test_order_violations_counts_words_deeper_than_rarer_ones():
    counts = np.array([10.0, 5.0, 5.0, 1.0])
    assert order_violations(counts, np.array([1, 2, 3, 3])) == 0
    assert order_violations(counts, np.array([1, 3, 2, 2])) == 1  # the 1-count word is shallower than a 5
    assert order_violations(counts, np.array([3, 1, 2, 3])) == 2  # the word seen 10 times is deeper than both 5s


@pytest.mark.parametrize("seed", range(5))
def test_huffman_is_ordered_and_beats_a_balanced_tree(seed):
    # the theorem the drawback check relies on: Huffman's average is the least of any binary tree,
    # within [H, H + 1), and no word is deeper than a strictly rarer one
    rng = np.random.default_rng(seed)
    counts = np.floor(rng.pareto(1.2, 500) * 10) + 1
    tree = HuffmanTree(counts)
    h, avg = tree.entropy(), tree.average_code_length()
    assert h - 1e-9 <= avg < h + 1
    assert avg <= balanced_average(counts) + 1e-12
    assert order_violations(counts, tree.depths) == 0


def test_rare_half_share_of_uniform_counts_is_a_half():
    counts = np.ones(8)
    walk, tokens = rare_half_share(counts, np.full(8, 3))
    assert walk == pytest.approx(0.5) and tokens == pytest.approx(0.5)


def test_skipgram_pairs_are_symmetric_and_inside_the_window():
    ids = [np.arange(20)]
    c, o = skipgram_pairs(ids, np.ones(20), 3, np.random.default_rng(0), shrink=False)
    assert c.size == o.size == 2 * (19 + 18 + 17)
    assert np.all(np.abs(c - o) <= 3) and np.all(c != o)
    pairs = set(zip(c.tolist(), o.tolist(), strict=True))
    assert all((b, a) in pairs for a, b in pairs)
    assert math.isclose(np.mean(np.abs(c - o)), (19 + 2 * 18 + 3 * 17) / (19 + 18 + 17))
