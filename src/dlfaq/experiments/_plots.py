"""Figure helpers shared by several experiments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def yes_no_grid(cols: Sequence[str], vals: Sequence[Sequence[bool | None]], row_names: Sequence[str],
                title: str) -> Any:
    """A table of yes / no / n.a. cells drawn as a green-red grid (None is grey, "n/a")."""
    import matplotlib.pyplot as plt
    import numpy as np

    grid = np.array([[np.nan if v is None else float(bool(v)) for v in row] for row in vals])
    fig, ax = plt.subplots(figsize=(6.5, 0.42 * len(row_names) + 1.3))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), list(cols), fontsize=8)
    ax.set_yticks(range(len(row_names)), list(row_names), fontsize=8)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else ("yes" if v else "no"), ha="center", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


# --------------------------------------------------------------------------- Chinese figures

#: Font families that cover Chinese, tried in order (Debian's fonts-noto-cjk, macOS, Windows, others).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
                "Microsoft YaHei", "SimHei", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "AR PL UMing CN")
_NO_FONT_SAID = False


def cjk_font() -> str | None:
    """A Chinese-capable font family matplotlib can use here, or None (said once on stderr)."""
    global _NO_FONT_SAID
    from matplotlib import font_manager

    for attempt in range(2):
        have = {f.name for f in font_manager.fontManager.ttflist}
        for fam in CJK_FAMILIES:
            if fam in have:
                return fam
        if attempt == 0:  # a font installed after matplotlib built its cache: add the system's CJK files
            for path in font_manager.findSystemFonts():
                if any(k in Path(path).name.lower() for k in ("cjk", "wqy", "droidsansfallback", "simhei", "msyh")):
                    try:
                        font_manager.fontManager.addfont(path)
                    except (OSError, RuntimeError, ValueError):
                        continue
    if not _NO_FONT_SAID:
        import sys

        print("dlfaq: no Chinese-capable font found (e.g. apt-get install fonts-noto-cjk); "
              "figures keep their English labels in the Chinese pages", file=sys.stderr)
        _NO_FONT_SAID = True
    return None


def zh_path(png: Any) -> Any:
    """Where the Chinese version of figure ``NAME.png`` is written: ``NAME.zh.png`` beside it."""
    p = Path(png)
    return p.with_name(p.stem + ".zh.png")


def save_zh(fig: Any, png: Any, dpi: int = 110) -> bool:
    """Save a Chinese copy of an already saved figure (``NAME.zh.png`` next to ``png``).

    Every text of the figure (titles, axis labels, tick labels, legend entries, annotations) is
    looked up in the report's translations (:func:`dlfaq.experiments.zh.zh`, numbers kept) and drawn
    with a Chinese-capable font. Returns False, writing nothing, when no such font is installed or
    when nothing in the figure has a translation. Call it after the English ``savefig`` (it edits
    the figure's texts in place).
    """
    from matplotlib.text import Text

    from dlfaq.experiments.zh import zh

    fam = cjk_font()
    if fam is None:
        return False
    changed = False
    for t in fig.findobj(Text):
        text = t.get_text()
        new = zh(text) if text else text
        if new != text:
            t.set_text(new)
            changed = True
        if new:
            t.set_fontfamily([fam, "DejaVu Sans"])
    if not changed:
        return False
    fig.savefig(zh_path(png), dpi=dpi, bbox_inches="tight")
    return True
