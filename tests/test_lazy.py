"""The package front-ends are truly lazy: importing a package imports no submodule, and a name
imports only the submodule that exports it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlfaq._lazy import lazy_exports, static_all

_PROBE = r"""
import json, sys
import dlfaq.imbalance, dlfaq.nn, dlfaq.train, dlfaq.embeddings
bare = "torch" in sys.modules, sorted(m for m in sys.modules if m.startswith("dlfaq."))
from dlfaq.nn import LSTM
nn_mods = sorted(m for m in sys.modules if m.startswith("dlfaq.nn."))
print(json.dumps({"torch": bare[0], "bare": bare[1], "nn": nn_mods}))
"""


def test_importing_packages_loads_nothing_and_a_name_loads_one_module():
    r = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["torch"] is False, "importing the packages must not import torch"
    assert got["bare"] == ["dlfaq._lazy", "dlfaq.embeddings", "dlfaq.imbalance", "dlfaq.nn", "dlfaq.train"]
    assert "dlfaq.nn.rnn" in got["nn"]
    assert "dlfaq.nn.attention" not in got["nn"] and "dlfaq.nn.hsoftmax" not in got["nn"]


def test_static_all_reads_the_literal_and_lookups_match_the_modules(tmp_path, monkeypatch):
    import dlfaq.nn
    import dlfaq.nn.rnn

    assert static_all("dlfaq.nn.rnn") == tuple(dlfaq.nn.rnn.__all__)
    assert static_all("dlfaq.nn.no_such_module") == ()
    assert dlfaq.nn.LSTM is dlfaq.nn.rnn.LSTM
    assert set(dlfaq.nn.rnn.__all__) <= set(dir(dlfaq.nn))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        dlfaq.nn.Nope  # noqa: B018
    # a module whose __all__ is computed is imported to read it; the first module listed wins a clash
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("__all__ = ['x']\nx = 'from a'\n")
    (pkg / "b.py").write_text("__all__ = [n for n in ('x', 'y')]\nx = 'from b'\ny = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert static_all("lazypkg.a") == ("x",) and static_all("lazypkg.b") is None
    ns: dict = {}
    getattr_, dir_ = lazy_exports("lazypkg", ("a", "b", "missing"), ns)
    assert getattr_("x") == "from a" and getattr_("y") == 2 and ns["y"] == 2
    assert dir_() == ["x", "y"]
