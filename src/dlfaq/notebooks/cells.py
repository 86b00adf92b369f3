"""The three kinds of cell a question's notebook is written in.

A notebook is a list of cells: :class:`Md` (prose in both languages), :class:`Code` (a step a
reader would type, using only dlfaq's public API) and :class:`Sizes` (the one cell that sets
the experiment's sizes, quick or full). :func:`dlfaq.notebooks.build_notebook` turns the list
into an nbformat v4 notebook.
"""

from __future__ import annotations

import pprint
from dataclasses import dataclass, field
from textwrap import dedent
from typing import Any


@dataclass(frozen=True)
class Md:
    """A markdown cell: the same text in Chinese and English."""

    zh: str
    en: str

    def text(self, lang: str | None) -> str:
        zh, en = dedent(self.zh).strip(), dedent(self.en).strip()
        if lang == "zh":
            return zh
        if lang == "en":
            return en
        return f"{zh}\n\n{en}"


@dataclass(frozen=True)
class Code:
    """A code cell (dedented)."""

    source: str

    def text(self, lang: str | None = None) -> str:
        return dedent(self.source).strip("\n")


@dataclass(frozen=True)
class Sizes:
    """The marked cell that picks the quick or the full sizes.

    ``quick`` must run the whole notebook in about a minute on a laptop CPU; ``full`` follows the
    experiment's full profile (``dlfaq run N --profile full``).
    """

    quick: dict[str, Any]
    full: dict[str, Any] = field(default_factory=dict)
    #: tiny sizes for dlfaq's own tests (seconds); only the keys that differ from quick
    smoke: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        full = {**self.quick, **self.full}
        smoke = {**self.quick, **self.smoke}
        width = 88

        def block(d: dict[str, Any]) -> str:
            return pprint.pformat(d, width=width - 4, sort_dicts=False).replace("\n", "\n    ")

        return (
            "# ===================== SIZES / 规模: the one cell to edit =====================\n"
            '# PROFILE = "quick": about a minute on a laptop CPU (fewer seeds / smaller grids);\n'
            '# PROFILE = "full": the sizes of `dlfaq run N --profile full` (minutes to an hour).\n'
            '# PROFILE = "smoke": a few seconds, only to check the notebook runs (dlfaq\'s tests).\n'
            "# quick 约一分钟(笔记本 CPU);full 与 `dlfaq run N --profile full` 规模相同。\n"
            'PROFILE = "quick"\n'
            "SIZES = {\n"
            f'    "quick": {block(self.quick)},\n'
            f'    "full": {block(full)},\n'
            f'    "smoke": {block(smoke)},\n'
            "}[PROFILE]\n"
            "globals().update(SIZES)  # every size below is a plain variable\n"
            "print(PROFILE, SIZES)"
        )


Cell = Md | Code | Sizes
