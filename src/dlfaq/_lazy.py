"""Lazy re-export of names from a package's submodules (PEP 562 ``__getattr__``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any


def lazy_exports(package: str, submodules: Sequence[str], namespace: dict[str, Any]) -> tuple[
    Callable[[str], Any], Callable[[], list[str]]
]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    A name is looked up in each submodule's ``__all__`` in order, imported on
    first use and cached in the package namespace. Submodules that do not
    exist are skipped, so a package can list modules that later land.
    """

    def _modules() -> list[Any]:
        mods = []
        for sub in submodules:
            full = f"{package}.{sub}"
            try:
                mods.append(importlib.import_module(full))
            except ModuleNotFoundError as exc:
                if exc.name != full:
                    raise
        return mods

    def __getattr__(name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        for mod in _modules():
            if name in getattr(mod, "__all__", ()):
                value = getattr(mod, name)
                namespace[name] = value
                return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        names = set(namespace)
        for mod in _modules():
            names.update(getattr(mod, "__all__", ()))
        return sorted(names)

    return __getattr__, __dir__
