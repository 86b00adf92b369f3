"""The three kinds of cell a question's notebook is written in.

A notebook is a list of cells: :class:`Md` (prose in both languages), :class:`Code` (a step a
reader would type, using only dlfaq's public API) and :class:`Sizes` (the one cell that sets
the experiment's sizes, quick or full). :func:`dlfaq.notebooks.build_notebook` turns the list
into an nbformat v4 notebook.
"""

from __future__ import annotations

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
        profiles = {"quick": self.quick, "full": {**self.quick, **self.full}, "smoke": {**self.quick, **self.smoke}}
        lines = [
            "# ===================== SIZES / 规模: the one cell to edit =====================",
            '# PROFILE = "quick": about a minute on a laptop CPU (fewer seeds / smaller grids);',
            '# PROFILE = "full": the sizes of `dlfaq run N --profile full` (minutes to an hour);',
            '# PROFILE = "smoke": a few seconds, only to check that the notebook runs (dlfaq\'s tests).',
            "# quick 约一分钟(笔记本 CPU);full 与 `dlfaq run N --profile full` 规模相同;smoke 只用于测试。",
            'PROFILE = "quick"',
            "SIZES = {",
        ]
        for name, values in profiles.items():
            lines.append(f'    "{name}": dict(')
            lines += [f"        {k}={v!r}," for k, v in values.items()]
            lines.append("    ),")
        lines.append("}[PROFILE]")
        lines += [f'{k} = SIZES["{k}"]' for k in self.quick]
        lines.append('print(PROFILE, SIZES)')
        return "\n".join(lines)


Cell = Md | Code | Sizes
