"""Q3 experiment: the sweeps' exact outcomes and where the page's formula must fail."""

from __future__ import annotations

from torch import nn

from dlfaq.experiments import q03_shapes as q03


def test_floored_formula_matches_torch_on_undilated_convolutions():
    conv = q03.conv_sweep(0, 300)
    assert conv["floor_ok"] == conv["configs"] == 300
    assert conv["literal_integer"] < conv["configs"]  # the floor is needed somewhere


def test_pooling_default_matches_and_ceil_mode_differs():
    pool = q03.pool_sweep(0, 400)
    assert pool["floor_ok"] == pool["configs"] > 0
    assert pool["ceil_floor_ok"] < pool["ceil_configs"]


def test_page_formula_wrong_for_dilated_and_transposed():
    dil = nn.Conv1d(1, 1, 3, padding=4, dilation=4)
    assert q03.page_floor(dil, 32, 0) != 32  # torch keeps 32 (padding = dilation)
    up = nn.ConvTranspose1d(1, 1, 2, stride=2)
    assert q03.page_floor(up, 16, 0) != 32
