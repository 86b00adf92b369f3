"""Looking at word vectors: k-means clusters and 2-D maps (PCA or t-SNE) drawn with labels.

A 2-D map is a sanity check, not a measurement: PCA keeps the two directions
of largest variance (often a few percent of it for 50+ dimensions), and t-SNE
(van der Maaten & Hinton, 2008) keeps neighbourhoods but not distances between
clusters, nor their sizes. :func:`project_2d` reports how much variance PCA
kept so that a plot can say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from dlfaq.embeddings.evaluate import as_vectors, lookup


def project_2d(
    x: np.ndarray,
    method: Literal["pca", "tsne"] = "pca",
    *,
    seed: int = 0,
    perplexity: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Project rows of ``x`` to 2-D; returns the ``(N, 2)`` points and facts about the projection.

    ``pca`` reports ``explained_variance`` (the share of variance the two axes
    keep); ``tsne`` uses cosine distances, PCA initialisation and a perplexity of
    ``min(30, (N - 1) / 3)`` unless given.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"need at least 3 points of shape (N, d), got {x.shape}")
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        pts = pca.fit_transform(x)
        return pts, {"method": "pca", "explained_variance": float(pca.explained_variance_ratio_.sum())}
    if method == "tsne":
        from sklearn.manifold import TSNE

        perp = perplexity if perplexity is not None else min(30.0, (x.shape[0] - 1) / 3)
        pts = TSNE(n_components=2, perplexity=perp, metric="cosine", init="pca",
                   random_state=seed).fit_transform(x)
        return pts, {"method": "tsne", "perplexity": perp}
    raise ValueError(f"method must be 'pca' or 'tsne', not {method!r}")


def cluster_words(vectors: Any, words: Sequence[str], k: int, *, seed: int = 0,
                  n_init: int = 10) -> dict[str, int]:
    """k-means on the unit vectors of ``words`` (those in the vocabulary): word -> cluster."""
    from sklearn.cluster import KMeans

    vec = as_vectors(vectors)
    found, rows = lookup(vec, list(words), restrict_vocab=None)
    if len(found) < k:
        raise ValueError(f"only {len(found)} of the words are in the vocabulary, fewer than k={k}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small inputs: threads only add overhead
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(
            vec.unit()[rows].astype(np.float64)
        )
    return {w: int(c) for w, c in zip(found, labels, strict=True)}


def plot_words(
    vectors: Any,
    words: Sequence[str],
    *,
    labels: dict[str, str] | Sequence[str] | None = None,
    method: Literal["pca", "tsne"] = "pca",
    seed: int = 0,
    title: str | None = None,
    ax: Any = None,
    annotate: bool = True,
) -> Any:
    """Scatter the words' unit vectors in 2-D, coloured by ``labels``, each point named.

    Words not in the vocabulary are left out. Returns the matplotlib ``Figure``
    (a new one unless ``ax`` is given). Built on ``matplotlib.figure.Figure``, so
    it works without a display and does not touch pyplot's global state.
    """
    from matplotlib.figure import Figure

    vec = as_vectors(vectors)
    found, rows = lookup(vec, list(words), restrict_vocab=None)
    if len(found) < 3:
        raise ValueError(f"only {len(found)} of the words are in the vocabulary; need at least 3")
    pts, info = project_2d(vec.unit()[rows], method, seed=seed)
    if labels is None:
        lab = ["" for _ in found]
    elif isinstance(labels, dict):
        lab = [str(labels.get(w, "")) for w in found]
    else:
        full = dict(zip(words, labels, strict=True))
        lab = [str(full[w]) for w in found]
    if ax is None:
        fig = Figure(figsize=(7.5, 6))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    groups = list(dict.fromkeys(lab))
    cmap = _palette(len(groups))
    for gi, g in enumerate(groups):
        sel = [i for i, lb in enumerate(lab) if lb == g]
        ax.scatter(pts[sel, 0], pts[sel, 1], s=18, color=cmap[gi], label=g or None, alpha=0.85)
    if annotate:
        for (px, py), w in zip(pts, found, strict=True):
            ax.annotate(w, (px, py), fontsize=7, xytext=(2, 2), textcoords="offset points")
    if any(groups):
        ax.legend(fontsize=7, loc="best", framealpha=0.7)
    axis = "PC" if method == "pca" else "t-SNE "
    ax.set_xlabel(f"{axis}1")
    ax.set_ylabel(f"{axis}2")
    sub = (f"PCA keeps {100 * info['explained_variance']:.0f}% of the variance"
           if method == "pca" else f"t-SNE, perplexity {info['perplexity']:.0f}")
    ax.set_title(f"{title}\n{sub}" if title else sub, fontsize=9)
    return fig


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


__all__ = ["cluster_words", "plot_words", "project_2d"]
