"""Lazy re-export of names from a package's submodules (PEP 562 ``__getattr__``).

Truly lazy: the package learns which submodule exports a name by reading the
submodules' ``__all__`` from their source (``ast``, nothing executed), and on
first use imports only that one submodule. ``import dlfaq.imbalance`` therefore
imports no submodule (and no torch), and ``from dlfaq.nn import LSTM`` loads
``dlfaq.nn.rnn`` and what it needs, not the other five modules of ``dlfaq.nn``.
A submodule whose ``__all__`` is not a literal list or tuple of strings is
imported to read it (a fallback; none of dlfaq's are like that).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable, Sequence
from typing import Any


def static_all(module: str) -> tuple[str, ...] | None:
    """``module.__all__`` read from its source without importing it; None when it cannot be read.

    A module that does not exist gives ``()`` (a package may list modules that land later).
    """
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return ()
    if spec is None:
        return ()
    if spec.origin is None or not spec.origin.endswith(".py"):
        return None
    try:
        with open(spec.origin, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=spec.origin)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, rhs = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, rhs = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            try:
                value = ast.literal_eval(rhs)
            except ValueError:
                return None
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return tuple(value)
            return None
    return ()


def lazy_exports(package: str, submodules: Sequence[str], namespace: dict[str, Any]) -> tuple[
    Callable[[str], Any], Callable[[], list[str]]
]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    A name is looked up in each submodule's ``__all__`` in the order given,
    only the submodule that exports it is imported (on first use), and the
    value is cached in the package namespace.
    """
    index: dict[str, str] = {}
    indexed = False

    def _index() -> dict[str, str]:
        nonlocal indexed
        if not indexed:
            for sub in submodules:
                full = f"{package}.{sub}"
                names = static_all(full)
                if names is None:  # not readable statically: import it to ask
                    names = tuple(getattr(importlib.import_module(full), "__all__", ()))
                for name in names:
                    index.setdefault(name, full)
            indexed = True
        return index

    def __getattr__(name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        owner = _index().get(name)
        if owner is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(owner), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(_index()))

    return __getattr__, __dir__
