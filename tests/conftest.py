"""Shared test fixtures."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny-model tests, restored afterwards.

    Tiny matrices run faster on one thread, and extra threads only contend on a
    shared 2-core CI machine (where pytest -n 2 already uses both cores).
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
