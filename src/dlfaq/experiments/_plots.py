"""Figure helpers shared by several experiments."""

from __future__ import annotations

from collections.abc import Sequence
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
