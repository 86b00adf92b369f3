"""Q12: how to evaluate word embeddings, measured on the real GloVe 6B 50d vectors.

The question is whether the standard intrinsic evaluations tell a good
embedding from a worse one. The good one is Stanford's GloVe 6B 50d; the
worse one is the same vectors reduced to their :data:`LOW_DIM` leading
principal components (a real, lower-dimensional embedding of the same
vocabulary, so both are scored on exactly the same benchmark items). Random
vectors serve only as the positive control (an evaluation that cannot tell
GloVe from noise could not judge anything); a PPMI-SVD model trained here on
the Lee corpus is shown as information, with its coverage.

Unit of independence: a benchmark item. The word pairs of WordSim-353 and
SimLex-999, the questions of the Google analogy set and the category words are
each split, with a fixed generator, into disjoint folds (category words
stratified by category); each fold is scored on its own, and the effect is the
mean over folds of the per-fold difference with a t interval. Each fold is one
unit; a last unit measures the settings that move the scores (information).
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dlfaq.experiments import stats
from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, experiment, measured

#: the worse embedding: GloVe 6B 50d projected on its LOW_DIM leading principal components
LOW_DIM = 10
#: a gap in Spearman's rho below 0.05 does not rank two models: it is about one standard error
#: of rho on WordSim-353 ((1 - rho^2) / sqrt(n - 1) ~ 0.04 at rho = 0.5, n = 353)
RHO_MARGIN = 0.05
#: analogy accuracy gaps below 5 points are the size that silent settings (candidate vocabulary,
#: case folding) move one model by (Levy, Goldberg & Dagan 2015; Linzen 2016)
ANALOGY_MARGIN = 5.0
#: purity gaps below 5 points are what k-means restarts alone move purity by on a few hundred words
PURITY_MARGIN = 5.0
#: a 2-D view "keeps" the category structure when k-means on it keeps at least 90 % of the
#: purity of k-means on the full vectors (the threshold is the page's informal "look at the clusters")
VIEW_KEEP = 0.9
RELATEDNESS = ("wordsim353", "simlex999")


# --------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def glove() -> Any:
    from dlfaq.embeddings import load

    return load("glove-6b-50d")


@functools.lru_cache(maxsize=4)
def low_dim(dim: int) -> Any:
    """GloVe 6B 50d on its ``dim`` leading principal components (same words, same rows)."""
    from dlfaq.embeddings import Vectors

    g = glove()
    x = g.matrix.astype(np.float64)
    x -= x.mean(0)
    # the covariance is 50 x 50: an exact eigendecomposition, no randomness
    w, v = np.linalg.eigh(x.T @ x)
    comps = v[:, np.argsort(w)[::-1][:dim]]
    comps *= np.sign(comps[np.abs(comps).argmax(0), np.arange(dim)])  # fixed signs
    return Vectors(g.words, (x @ comps).astype(np.float32), source=f"glove-6b-50d-pca{dim}")


def fold_ids(n: int, folds: int, seed: int, strata: np.ndarray | None = None) -> np.ndarray:
    """A fold number for each of ``n`` items: disjoint folds of equal size, from a fixed generator."""
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.int64)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    start = 0
    for g in groups:
        perm = rng.permutation(g)
        out[perm] = (np.arange(perm.size) + start) % folds
        start += perm.size
    return out


def spearman(a: list[float], b: list[float]) -> float:
    from scipy import stats as st

    return float(st.spearmanr(a, b).statistic)


def settings(ctx: RunContext) -> dict[str, Any]:
    return {
        "folds": ctx.pick(quick=5, full=10, smoke=2),
        # analogy answers are searched among the first R words; gensim's default is 300000
        "restrict_vocab": ctx.pick(quick=30000, full=300000, smoke=3000),
        "sweep": ctx.pick(quick=[1000, 3000, 10000], full=[1000, 3000, 10000, 30000, 100000], smoke=[1000]),
        "n_init": ctx.pick(quick=10, full=10, smoke=2),
        "dims": ctx.pick(quick=[2, 5, 10, 20, 50], full=[2, 5, 10, 20, 30, 40, 50], smoke=[LOW_DIM, 50]),
        # smoke only: at most this many words per category, and a slice of the Lee corpus
        "category_cap": ctx.pick(quick=None, full=None, smoke=12),
        "lee_docs": ctx.pick(quick=None, full=None, smoke=100),
    }


# --------------------------------------------------------------------------- measurements


def measure_relatedness(fold: int, folds: int, seed: int) -> dict[str, Any]:
    """Per-fold Spearman rho of GloVe, its low-dimensional version and random vectors (the control)."""
    from dlfaq.embeddings import Vectors, evaluate_relatedness

    out = {}
    for ds in RELATEDNESS:
        items = evaluate_relatedness(glove(), ds, return_items=True)["items"]
        low = {(a, b): c for a, b, _, c in evaluate_relatedness(low_dim(LOW_DIM), ds, return_items=True)["items"]}
        words = sorted({w for it in items for w in it[:2]})
        rnd = Vectors(words, np.random.default_rng(seed + 1000).standard_normal((len(words), 50)), source="random")
        rand = {(a, b): c for a, b, _, c in evaluate_relatedness(rnd, ds, return_items=True)["items"]}
        mine = [it for it, f in zip(items, fold_ids(len(items), folds, seed), strict=True) if f == fold]
        human = [it[2] for it in mine]
        out[ds] = {"n": len(mine), "glove": spearman(human, [it[3] for it in mine]),
                   "low": spearman(human, [low[it[0], it[1]] for it in mine]),
                   "random": spearman(human, [rand[it[0], it[1]] for it in mine])}
    return out


def write_analogy_fold(path: Path, fold: int, folds: int, seed: int) -> int:
    """Write the questions of one fold (section headers kept) and return how many there are."""
    from dlfaq.embeddings import read_analogies

    sections = read_analogies()
    n = sum(len(s.questions) for s in sections)
    ids = iter(fold_ids(n, folds, seed))
    lines, kept = [], 0
    for s in sections:
        lines.append(f": {s.name}")
        for q in s.questions:
            if next(ids) == fold:
                lines.append(" ".join(q))
                kept += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return kept


def measure_analogy(fold: int, folds: int, seed: int, restrict_vocab: int, device: str) -> dict[str, Any]:
    from dlfaq.embeddings import evaluate_analogy

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fold.txt"
        n = write_analogy_fold(path, fold, folds, seed)
        res = {name: evaluate_analogy(vec, path, restrict_vocab=restrict_vocab, device=device)
               for name, vec in (("glove", glove()), ("low", low_dim(LOW_DIM)))}
    return {"questions": n, **{k: {"correct": r["correct"], "total": r["total"], "accuracy": r["accuracy"]}
                               for k, r in res.items()}}


def category_words(vec: Any) -> tuple[list[str], np.ndarray, list[str]]:
    from dlfaq.embeddings import categories, lookup

    cats = categories()
    words, gold = [], []
    for ci, name in enumerate(cats):
        found, _ = lookup(vec, cats[name])
        words += found
        gold += [ci] * len(found)
    return words, np.asarray(gold), list(cats)


def kmeans_purity(x: np.ndarray, gold: np.ndarray, k: int, seed: int, n_init: int) -> tuple[float, np.ndarray]:
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    from dlfaq.embeddings import purity

    with threadpool_limits(1):  # ~100 points: threads only add overhead
        pred = KMeans(k, n_init=n_init, random_state=seed).fit_predict(x)
    return purity(gold, pred), pred


def measure_categories(fold: int, folds: int, seed: int, n_init: int, cap: int | None) -> dict[str, Any]:
    """k-means purity of one stratified fold of category words: GloVe, low-dimensional, and 2-D views."""
    from sklearn.manifold import trustworthiness
    from threadpoolctl import threadpool_limits

    from dlfaq.embeddings import lookup, project_2d

    g = glove()
    words, gold, names = category_words(g)
    if cap is not None:
        first = np.concatenate([np.flatnonzero(gold == c)[:cap] for c in np.unique(gold)])
        words, gold = [words[i] for i in np.sort(first)], gold[np.sort(first)]
    sel = fold_ids(len(words), folds, seed, strata=gold) == fold
    words = [w for w, s in zip(words, sel, strict=True) if s]
    gold = gold[sel]
    k = len(names)
    _, rows = lookup(g, words)
    x = g.unit()[rows].astype(np.float64)
    xl = low_dim(LOW_DIM).unit()[rows].astype(np.float64)
    out: dict[str, Any] = {"words": len(words), "categories": k}
    out["glove"], pred = kmeans_purity(x, gold, k, seed, n_init)
    out["low"], _ = kmeans_purity(xl, gold, k, seed, n_init)
    views = {"pca": project_2d(x, "pca", seed=seed)}
    with threadpool_limits(1):
        views["tsne"] = project_2d(x, "tsne", seed=seed)
    for name, (pts, info) in views.items():
        out[f"{name}2d"], _ = kmeans_purity(pts, gold, k, seed, n_init)
        out[f"trust_{name}"] = float(trustworthiness(x, pts, n_neighbors=10, metric="cosine"))
        if name == "pca":
            out["pca_explained_variance"] = info["explained_variance"]
        if fold == 0:
            out[f"points_{name}"] = np.round(pts, 3).tolist()
    if fold == 0:
        out.update(gold=gold.tolist(), pred=pred.tolist(), names=names)
    return out


def measure_settings(ctx: RunContext, s: Mapping[str, Any]) -> dict[str, Any]:
    """Information: what silent settings and the model change, on the whole benchmarks."""
    from dlfaq.data import lee_corpus
    from dlfaq.embeddings import (
        evaluate_analogy,
        evaluate_categorization,
        evaluate_relatedness,
        ppmi_svd,
    )

    g, R, dev = glove(), s["restrict_vocab"], ctx.device
    out: dict[str, Any] = {}
    for ds in RELATEDNESS:
        a = evaluate_relatedness(g, ds)
        b = evaluate_relatedness(g, ds, case_insensitive=False)
        out[ds] = {"glove": a["spearman"], "glove_oov": a["oov_ratio"], "case_sensitive": b["spearman"],
                   "case_sensitive_oov": b["oov_ratio"]}
    out["sweep"] = [[r, *(lambda e: [e["accuracy"], e["total"]])(evaluate_analogy(g, restrict_vocab=r, device=dev))]
                    for r in s["sweep"]]
    noex = evaluate_analogy(g, restrict_vocab=R, exclude_question_words=False, device=dev)
    out["no_exclusion"] = {"accuracy": noex["accuracy"], "total": noex["total"]}
    dims = []
    for d in s["dims"]:
        vec = g if d == 50 else low_dim(d)
        dims.append([d, *(evaluate_relatedness(vec, ds)["spearman"] for ds in RELATEDNESS),
                     evaluate_categorization(vec, seed=ctx.seed, n_init=s["n_init"])["purity"]])
    out["dims"] = dims
    lee = ppmi_svd(lee_corpus()[: s["lee_docs"]], dim=50, min_count=3, seed=ctx.seed)
    ppmi: dict[str, Any] = {"vocab": len(lee), "tokens": lee.meta["tokens"]}
    for ds in RELATEDNESS:
        e = evaluate_relatedness(lee, ds)
        ppmi[ds] = {"spearman": e["spearman"], "oov": e["oov_ratio"]}
    a = evaluate_analogy(lee, device=dev)
    ppmi["analogy"] = {"accuracy": a["accuracy"] or 0.0, "total": a["total"], "skipped": a["skipped"]}
    c = evaluate_categorization(lee, seed=ctx.seed, n_init=s["n_init"])
    ppmi["categorization"] = {"purity": c["purity"], "words": c["words"]}
    out["ppmi"] = ppmi
    return out


# --------------------------------------------------------------------------- the study


@experiment(
    12,
    "intrinsic-evaluation",
    title={
        "en": f"Do intrinsic evaluations tell GloVe 6B 50d from its {LOW_DIM}-dimensional version? "
              "Relatedness, analogy, categorization, clustering and 2-D views",
        "zh": f"内部评价能否区分 GloVe 6B 50d 与它的 {LOW_DIM} 维版本?相关性、类比、分类、聚类与二维可视化",
    },
    description={
        "en": "Every intrinsic evaluation the page lists, run on disjoint folds of the benchmark items for GloVe "
              f"6B 50d and the same vectors on {LOW_DIM} principal components; random vectors as the positive "
              "control; what 2-D views keep; how silent settings and a small count-based model move the scores.",
        "zh": f"在基准数据互不相交的若干份上,对 GloVe 6B 50d 与其 {LOW_DIM} 个主成分版本运行页面列出的全部内部评价;"
              "随机向量作阳性对照;检查二维图保留了什么;以及静默设置和小型计数模型如何改变分数。",
    },
)
class IntrinsicEvaluation(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        k = settings(ctx)["folds"]
        return [Unit(f"fold={f}", {"seed": ctx.seed, "fold": f}) for f in range(k)] + \
            [Unit("settings", {"seed": ctx.seed, "fold": -1})]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        s = settings(ctx)
        f = int(unit.params["fold"])
        if f < 0:
            return measure_settings(ctx, s)
        return {"relatedness": measure_relatedness(f, s["folds"], ctx.seed),
                "analogy": measure_analogy(f, s["folds"], ctx.seed, s["restrict_vocab"], ctx.device),
                "categories": measure_categories(f, s["folds"], ctx.seed, s["n_init"], s["category_cap"])}

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        s = settings(ctx)
        folds = [results[f"fold={f}"] for f in range(s["folds"])]
        info = results["settings"]
        ev = Evidence()
        m = collect(folds, info, s)
        ev.metrics.update(m)
        tables(ev, folds, info, m, s)
        figures(ev, folds, info, m, s)
        verdicts(ev, folds)
        ev.notes = (
            f"Unit of independence: a benchmark item; the items are split into {s['folds']} disjoint folds with a "
            f"fixed generator (category words stratified by category) and every effect is the mean per-fold "
            f"difference with a t interval. The worse embedding is GloVe 6B 50d on its {LOW_DIM} leading principal "
            f"components, so both are scored on the same items. The quick profile searches analogy answers among "
            f"the first {s['restrict_vocab']} words; gensim's default (and the full profile) is 300000."
        )
        return ev


def collect(folds: list[Mapping[str, Any]], info: Mapping[str, Any], s: Mapping[str, Any]) -> dict[str, Any]:
    m: dict[str, Any] = {"folds": len(folds), "low_dim": LOW_DIM, "analogy_restrict_vocab": s["restrict_vocab"]}
    for ds in RELATEDNESS:
        for k in ("glove", "low", "random"):
            m[f"{ds}_{k}_fold_mean"] = float(np.mean([f["relatedness"][ds][k] for f in folds]))
        m[f"{ds}_glove_spearman"] = info[ds]["glove"]
        m[f"{ds}_glove_oov_percent"] = info[ds]["glove_oov"]
        m[f"{ds}_glove_case_sensitive_spearman"] = info[ds]["case_sensitive"]
    for k in ("glove", "low"):
        c = sum(f["analogy"][k]["correct"] for f in folds)
        t = sum(f["analogy"][k]["total"] for f in folds)
        m[f"analogy_{k}_correct"], m[f"analogy_{k}_answered"], m[f"analogy_{k}"] = c, t, c / t
        m[f"purity_{k}_fold_mean"] = float(np.mean([f["categories"][k] for f in folds]))
    m["analogy_questions"] = sum(f["analogy"]["questions"] for f in folds)
    m["analogy_skipped"] = m["analogy_questions"] - m["analogy_glove_answered"]
    m["analogy_no_exclusion"] = info["no_exclusion"]["accuracy"]
    m["analogy_exclusion_drop_points"] = 100 * (m["analogy_glove"] - m["analogy_no_exclusion"])
    m["analogy_sweep"] = info["sweep"] + [[s["restrict_vocab"], m["analogy_glove"], m["analogy_glove_answered"]]]
    m["categorization_words"] = sum(f["categories"]["words"] for f in folds)
    for v in ("pca", "tsne"):
        m[f"purity_{v}2d_fold_mean"] = float(np.mean([f["categories"][f"{v}2d"] for f in folds]))
        m[f"trustworthiness_{v}2d"] = float(np.mean([f["categories"][f"trust_{v}"] for f in folds]))
    m["pca_explained_variance"] = float(np.mean([f["categories"]["pca_explained_variance"] for f in folds]))
    m["relatedness_case_shift"] = max(abs(info[ds]["glove"] - info[ds]["case_sensitive"]) for ds in RELATEDNESS)
    m["dims"] = info["dims"]
    p = info["ppmi"]
    m.update(ppmi_vocab=p["vocab"], ppmi_tokens=p["tokens"], ppmi_analogy=p["analogy"]["accuracy"],
             ppmi_analogy_answered=p["analogy"]["total"], ppmi_purity=p["categorization"]["purity"],
             ppmi_purity_words=p["categorization"]["words"])
    for ds in RELATEDNESS:
        m[f"{ds}_ppmi_spearman"] = p[ds]["spearman"]
        m[f"{ds}_ppmi_oov_percent"] = p[ds]["oov"]
    return m


def tables(ev: Evidence, folds: list[Mapping[str, Any]], info: Mapping[str, Any], m: Mapping[str, Any],
           s: Mapping[str, Any]) -> None:
    k = len(folds)
    rows = []
    for ds in RELATEDNESS:
        rows += [[ds, "GloVe 6B 50d", round(m[f"{ds}_glove_fold_mean"], 4), round(m[f"{ds}_glove_spearman"], 4),
                  round(m[f"{ds}_glove_oov_percent"], 1)],
                 [ds, f"GloVe on {LOW_DIM} principal components", round(m[f"{ds}_low_fold_mean"], 4), "", ""],
                 [ds, "random vectors (control)", round(m[f"{ds}_random_fold_mean"], 4), "", ""],
                 [ds, "GloVe, case-sensitive lookup", "", round(m[f"{ds}_glove_case_sensitive_spearman"], 4),
                  round(info[ds]["case_sensitive_oov"], 1)],
                 [ds, "PPMI-SVD (Lee corpus), its covered pairs only", "", round(m[f"{ds}_ppmi_spearman"], 4),
                  round(m[f"{ds}_ppmi_oov_percent"], 1)]]
    ev.table("relatedness", ["data set", "vectors", f"Spearman, mean of {k} folds", "Spearman, whole set", "OOV %"],
             rows, title="Relatedness: Spearman correlation of cosine similarity with human scores")
    ev.table("analogy", ["vectors / setting", "accuracy", "answered"],
             [[f"GloVe 6B 50d, 3CosAdd, restrict_vocab={s['restrict_vocab']}", round(m["analogy_glove"], 4),
               m["analogy_glove_answered"]],
              [f"GloVe on {LOW_DIM} principal components, same setting", round(m["analogy_low"], 4),
               m["analogy_low_answered"]],
              ["GloVe, question words NOT excluded", round(m["analogy_no_exclusion"], 4),
               info["no_exclusion"]["total"]]]
             + [[f"GloVe, restrict_vocab={r}", round(a, 4), t] for r, a, t in info["sweep"]]
             + [["PPMI-SVD (Lee corpus), its covered questions only", round(m["ppmi_analogy"], 4),
                 m["ppmi_analogy_answered"]]],
             title=f"Google analogy set ({m['analogy_questions']} questions)")
    ev.table("categorization",
             ["vectors / view", f"k-means purity, mean of {k} folds", "trustworthiness (10-NN)"],
             [["GloVe 6B 50d, all 50 dimensions", round(m["purity_glove_fold_mean"], 4), 1.0],
              [f"GloVe on {LOW_DIM} principal components", round(m["purity_low_fold_mean"], 4), ""],
              ["GloVe, 2-D PCA view", round(m["purity_pca2d_fold_mean"], 4), round(m["trustworthiness_pca2d"], 4)],
              ["GloVe, 2-D t-SNE view", round(m["purity_tsne2d_fold_mean"], 4), round(m["trustworthiness_tsne2d"], 4)],
              [f"PPMI-SVD (Lee corpus), {m['ppmi_purity_words']} covered words, whole set",
               round(m["ppmi_purity"], 4), ""]],
             title=f"Categorization: k-means (k = {folds[0]['categories']['categories']}) on "
                   f"{m['categorization_words']} category words from the analogy set, in {k} stratified folds")
    ev.table("dimensions", ["principal components kept", "WordSim353 Spearman", "SimLex-999 Spearman",
                            "k-means purity (all category words)"],
             [[d, round(a, 4), round(b, 4), round(c, 4)] for d, a, b, c in info["dims"]],
             title="GloVe 6B 50d reduced to its leading principal components (whole benchmarks; information)")


def figures(ev: Evidence, folds: list[Mapping[str, Any]], info: Mapping[str, Any], m: Mapping[str, Any],
            s: Mapping[str, Any]) -> None:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4))
    axs = fig.subplots(1, 3)
    panels = [("WordSim353 ρ", [f["relatedness"]["wordsim353"] for f in folds]),
              ("SimLex-999 ρ", [f["relatedness"]["simlex999"] for f in folds]),
              ("analogy accuracy", [{k: f["analogy"][k]["accuracy"] for k in ("glove", "low")} for f in folds])]
    for ax, (title, per_fold) in zip(axs[:2], panels[:2], strict=True):
        for j, k in enumerate(("glove", "low", "random")):
            ax.plot([j] * len(per_fold), [p[k] for p in per_fold], "o", alpha=0.7)
        for p in per_fold:
            ax.plot([0, 1], [p["glove"], p["low"]], color="grey", lw=0.6)
        ax.set_xticks([0, 1, 2], ["GloVe 50d", f"{LOW_DIM}-d", "random"])
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"{title}, one point per fold", fontsize=9)
    ax = axs[2]
    dims = np.array(info["dims"], dtype=float)
    ax.plot(dims[:, 0], dims[:, 1], "o-", label="WordSim353 ρ")
    ax.plot(dims[:, 0], dims[:, 2], "s-", label="SimLex-999 ρ")
    ax.plot(dims[:, 0], dims[:, 3], "^-", label="k-means purity")
    ax.set_xlabel("principal components of GloVe 6B 50d kept")
    ax.set_title("Scores against dimension (whole benchmarks)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    ev.figure("scores-by-fold", fig, f"Relatedness per fold for GloVe 6B 50d, its {LOW_DIM}-d version and random "
              "vectors (lines pair the same fold), and the scores as principal components are removed.")

    c0 = folds[0]["categories"]
    gold, pred, names = np.array(c0["gold"]), np.array(c0["pred"]), c0["names"]
    views = [("PCA", np.array(c0["points_pca"])), ("t-SNE", np.array(c0["points_tsne"]))]
    fig2 = Figure(figsize=(15, 4.8))
    axs2 = fig2.subplots(1, 3)
    for axk, (title, pts, lab, is_gold) in zip(
            axs2, [(f"{views[0][0]}, gold categories", views[0][1], gold, True),
                   (f"{views[1][0]}, gold categories", views[1][1], gold, True),
                   ("t-SNE, k-means clusters found in 50-d", views[1][1], pred, False)], strict=True):
        cmap = colormaps["tab10" if is_gold else "tab20b"]
        for c in np.unique(lab):
            sel = lab == c
            axk.scatter(pts[sel, 0], pts[sel, 1], s=10, color=cmap(int(c) * (1 if is_gold else 2) % cmap.N),
                        label=names[c] if is_gold else f"cluster {c}")
        axk.set_title(title, fontsize=9)
        if is_gold and title.startswith("PCA"):
            axk.legend(fontsize=6, markerscale=1.5, loc="best")
    fig2.tight_layout()
    ev.figure("categories-2d", fig2, f"{len(gold)} category words of fold 0 in 2-D: gold categories on PCA and "
              "t-SNE maps, and the k-means clusters found in the full 50-d space drawn on the t-SNE map.")


def verdicts(ev: Evidence, folds: list[Mapping[str, Any]]) -> None:
    rel = {ds: ([f["relatedness"][ds]["glove"] for f in folds], [f["relatedness"][ds]["low"] for f in folds])
           for ds in RELATEDNESS}
    ana = ([f["analogy"]["glove"]["accuracy"] for f in folds], [f["analogy"]["low"]["accuracy"] for f in folds])
    cat = ([f["categories"]["glove"] for f in folds], [f["categories"]["low"] for f in folds])
    rho = "Spearman ρ"
    gaps = {
        "wordsim353": (stats.paired(*rel["wordsim353"], rho), RHO_MARGIN),
        "simlex999": (stats.paired(*rel["simlex999"], rho), RHO_MARGIN),
        "analogy": (stats.paired(*ana, "points", scale=100), ANALOGY_MARGIN),
        "categorization": (stats.paired(*cat, "points", scale=100), PURITY_MARGIN),
    }
    control = stats.Control(
        {"en": "WordSim353 tells GloVe 6B 50d from random vectors", "zh": "WordSim353 能区分 GloVe 6B 50d 与随机向量"},
        stats.paired(rel["wordsim353"][0], [f["relatedness"]["wordsim353"]["random"] for f in folds], rho),
        RHO_MARGIN, source="Pennington et al. 2014")
    worse = f"GloVe 6B 50d on its {LOW_DIM} leading principal components"
    worse_zh = f"GloVe 6B 50d 的前 {LOW_DIM} 个主成分"
    fold_en = "per fold of benchmark items (disjoint folds from a fixed generator; the fold is the unit of independence)"
    fold_zh = "按基准条目的互不相交的份计算(份由固定的随机数生成器划分,每一份是一次独立测量)"

    name = {"wordsim353": ({"en": "WordSim353", "zh": "WordSim353"}),
            "simlex999": ({"en": "SimLex-999", "zh": "SimLex-999"})}
    ev.add(measured(
        "q12.relatedness",
        parts=[stats.Part(name[ds], *gaps[ds]) for ds in RELATEDNESS], control=control,
        rule={"en": f"Effect: Spearman ρ of GloVe 6B 50d minus that of {worse}, {fold_en}; positive means the "
                    f"relatedness score ranks the better embedding higher. Margin {RHO_MARGIN} ρ: about one standard "
                    "error of ρ on WordSim353's 353 pairs, so a smaller gap would not rank two models.",
              "zh": f"效应:GloVe 6B 50d 的 Spearman ρ 减去{worse_zh}的 ρ,{fold_zh};为正表示相关性评价把更好的词向量排在前面。"
                    f"阈值 {RHO_MARGIN}:约为 WordSim353 的 353 个词对上 ρ 的一个标准误,更小的差距不足以给两个模型排序。"},
        reason={"en": f"Both embeddings are scored on the same word pairs; {len(folds)} folds per data set.",
                "zh": f"两组词向量在完全相同的词对上评分;每个数据集 {len(folds)} 份。"},
        evidence=["relatedness", "scores-by-fold"]))
    ev.add(measured(
        "q12.analogy", *gaps["analogy"],
        rule={"en": f"Effect: 3CosAdd accuracy of GloVe 6B 50d minus that of {worse} on the Google analogy set, in "
                    f"points, {fold_en}. Margin {ANALOGY_MARGIN:g} points: silent settings (candidate vocabulary, "
                    "case folding) move one model's accuracy by about that much.",
              "zh": f"效应:在 Google 类比集上,GloVe 6B 50d 的 3CosAdd 准确率减去{worse_zh}的准确率(百分点),{fold_zh}。"
                    f"阈值 {ANALOGY_MARGIN:g} 个百分点:静默设置(候选词表大小、大小写)本身就能让同一个模型的准确率变化这么多。"},
        evidence=["analogy"]))
    ev.add(measured(
        "q12.categorization", *gaps["categorization"],
        rule={"en": f"Effect: k-means purity of GloVe 6B 50d minus that of {worse} on the category words derived "
                    f"from the analogy set, in purity points, {fold_en}, folds stratified by category. Margin "
                    f"{PURITY_MARGIN:g} points: k-means restarts alone move purity by a few points.",
              "zh": f"效应:在由类比集导出的类别词上,GloVe 6B 50d 的 k-means 纯度减去{worse_zh}的纯度(百分点),{fold_zh},"
                    f"按类别分层。阈值 {PURITY_MARGIN:g} 个百分点:仅 k-means 的不同初始化就能让纯度变化几个百分点。"},
        evidence=["categorization"]))
    views = []
    for v, label in (("tsne", "t-SNE"), ("pca", "PCA")):
        vals = [100 * (f["categories"][f"{v}2d"] - VIEW_KEEP * f["categories"]["glove"]) for f in folds]
        views.append(stats.Part({"en": f"2-D {label} view", "zh": f"二维 {label} 图"}, stats.effect(vals, "points"), 0.0))
    ev.add(measured(
        "q12.clustering-visualization", parts=views,
        rule={"en": f"For each 2-D view of the GloVe category words: effect = k-means purity on the 2-D points minus "
                    f"{VIEW_KEEP:g} × the purity of k-means on the full 50-d vectors of the same words, in purity "
                    f"points, {fold_en}; positive means the picture keeps at least {VIEW_KEEP:.0%} of the structure "
                    "that clustering the vectors finds. Margin 0.",
              "zh": f"对类别词的每一种二维图:效应 = 在二维点上做 k-means 的纯度减去同一批词在完整 50 维向量上做 k-means 的纯度"
                    f"的 {VIEW_KEEP:g} 倍(百分点),{fold_zh};为正表示二维图至少保留了聚类所发现结构的 {VIEW_KEEP:.0%}。阈值 0。"},
        evidence=["categorization", "categories-2d"]))
    shortfall = []
    labels = {"wordsim353": ("relatedness (WordSim353)", "相关性(WordSim353)"),
              "simlex999": ("similarity (SimLex-999)", "相似度(SimLex-999)"),
              "analogy": ("analogy", "类比"), "categorization": ("categorization", "分类")}
    for key, (eff, margin) in gaps.items():
        vals = [margin - x for x in eff.values]
        shortfall.append(stats.Part({"en": labels[key][0], "zh": labels[key][1]}, stats.effect(vals, eff.unit), 0.0))
    ev.add(measured(
        "q12.no-good-evaluation", parts=shortfall, control=control,
        rule={"en": f"The page says no evaluation can tell good embeddings from worse ones. For each benchmark: "
                    f"effect = its margin (the smallest gap that matters: {RHO_MARGIN} ρ, {ANALOGY_MARGIN:g} or "
                    f"{PURITY_MARGIN:g} points) minus the gap between GloVe 6B 50d and {worse}, {fold_en}; positive "
                    "means the benchmark fails to separate them by a gap that matters (the page's direction). "
                    "Margin 0.",
              "zh": f"页面说没有评价方法能区分好的词向量和差的词向量。对每个基准:效应 = 该基准的阈值(最小有意义差距:"
                    f"{RHO_MARGIN} 的 ρ、{ANALOGY_MARGIN:g} 或 {PURITY_MARGIN:g} 个百分点)减去 GloVe 6B 50d 与{worse_zh}"
                    f"之间的差距,{fold_zh};为正表示该基准不能以有意义的差距把两者分开(页面的方向)。阈值 0。"},
        evidence=["relatedness", "analogy", "categorization"]))
