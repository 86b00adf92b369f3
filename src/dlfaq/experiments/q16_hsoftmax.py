"""Q16: how much do rare words cost in a hierarchical softmax, and what does HS buy?

Every verdict of this question is an exact property of a Huffman tree built on
a given corpus, or an operation count: no clock decides anything (timings stay
in ``ev.timings`` as information).

``huffman-depth``
    Huffman trees over two real vocabularies: the Lee background corpus (its
    own word counts) and the 400k GloVe 6B vocabulary (rows in frequency order;
    the file has no counts, so counts follow a Zipf model, count ∝ 1/rank).
    Code length against frequency, the frequency-weighted average code length
    against the entropy bound, a balanced tree and negative sampling's k + 1
    dot products, and the share of all node visits spent on rare words.

``skipgram-output-layers``
    A small skip-gram on the Lee corpus trained with hierarchical softmax,
    negative sampling (k = 5) and the full softmax: the dot products each
    training pair needed, counted over the pairs actually trained on; the
    held-out loss and the relatedness scores of the vectors are information
    (word2vec's default learning rate, not tuned; the corpus is tiny).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from dlfaq.experiments._core import Evidence, RunContext, Study, Unit, check, experiment

#: HS must need at most this fraction of the full softmax's dot products per pair to count as
#: "more efficient": the tree walk pays per-example gathers and scattered updates that a dense
#: V x d product does not, a few-fold constant, so a saving below 10x could vanish in practice.
SPEEDUP_FACTOR = 10.0
#: negative-sampling sizes compared with: Mikolov et al. (2013b) recommend k = 5-20 for small
#: data and 2-5 for large data; k = 5 is gensim's and word2vec's default.
NEGATIVES = (5, 15)
#: "rare" for the drawback check: the rarest half of the vocabulary types by count.
RARE_HALF = 0.5


# ---------------------------------------------------------------------------- data and trees


def lee_vocab(docs: list[list[str]], min_count: int = 1) -> tuple[list[str], np.ndarray]:
    """Words of ``docs`` seen at least ``min_count`` times, most frequent first, and their counts."""
    cnt = Counter(w for d in docs for w in d)
    words = [w for w, c in sorted(cnt.items(), key=lambda t: (-t[1], t[0])) if c >= min_count]
    return words, np.array([cnt[w] for w in words], dtype=np.float64)


def order_violations(counts: np.ndarray, depths: np.ndarray) -> int:
    """Words that sit deeper than some strictly rarer word (an optimal prefix code has none)."""
    order = np.argsort(-counts, kind="stable")
    c, d = counts[order], depths[order]
    violations = 0
    deepest_more_frequent = -1  # max depth among words with a strictly larger count
    i = 0
    while i < len(c):
        j = i
        while j < len(c) and c[j] == c[i]:
            j += 1
        violations += int(np.sum(d[i:j] < deepest_more_frequent))
        deepest_more_frequent = max(deepest_more_frequent, int(d[i:j].max()))
        i = j
    return violations


def balanced_average(counts: np.ndarray) -> float:
    """Frequency-weighted depth of the best balanced (complete) binary tree over these words.

    A complete tree over V leaves puts 2(V - 2^L) of them at depth L + 1 and the rest at
    L = floor(log2 V); the most frequent words get the shallow leaves.
    """
    v = counts.size
    level = int(math.floor(math.log2(v)))
    deep = 0 if v == 2**level else 2 * (v - 2**level)
    c = np.sort(counts)[::-1]
    return float((c[: v - deep].sum() * level + c[v - deep :].sum() * (level + 1)) / c.sum())


def rare_half_share(counts: np.ndarray, depths: np.ndarray) -> tuple[float, float]:
    """(share of all node visits, share of tokens) of the rarest half of the word types."""
    rare = np.argsort(counts, kind="stable")[: int(counts.size * RARE_HALF)]
    walk = counts * depths
    return float(walk[rare].sum() / walk.sum()), float(counts[rare].sum() / counts.sum())


def measure_lee_tree() -> dict[str, Any]:
    """The Huffman tree over the Lee corpus's own word counts."""
    from scipy import stats as st

    from dlfaq.data import lee_corpus
    from dlfaq.nn import HuffmanTree

    words, counts = lee_vocab(lee_corpus())
    tree = HuffmanTree(counts)
    depths = tree.depths.astype(np.int64)
    top10, hapax = np.arange(10), np.flatnonzero(counts == 1)
    walk_share, token_share = rare_half_share(counts, depths)
    n2 = int(np.sum(counts >= 2))
    bands = [("top 10", 0, 10), ("rank 11-100", 10, 100), ("rank 101-1000", 100, 1000),
             ("rank > 1000, count ≥ 2", 1000, n2), ("count = 1 (hapax)", n2, counts.size)]
    walk = counts * depths
    return {
        "vocab": len(words), "tokens": int(counts.sum()),
        "entropy_bits": tree.entropy(), "avg_code_length": tree.average_code_length(),
        "balanced_avg": balanced_average(counts), "log2_v": math.log2(len(words)),
        "min_depth": int(depths.min()), "max_depth": int(depths.max()),
        "spearman_count_depth": float(st.spearmanr(counts, depths).statistic),
        "order_violations": order_violations(counts, depths),
        "top10_mean_depth": float(depths[top10].mean()), "top10_max_depth": int(depths[top10].max()),
        "hapax_mean_depth": float(depths[hapax].mean()), "hapax_min_depth": int(depths[hapax].min()),
        "hapax_types": int(hapax.size),
        "rare_half_walk_share": walk_share, "rare_half_token_share": token_share,
        "bands": [[name, b - a, float(counts[a:b].sum() / counts.sum()), float(depths[a:b].mean()),
                   f"{int(depths[a:b].min())}-{int(depths[a:b].max())}", float(walk[a:b].sum() / walk.sum())]
                  for name, a, b in bands],
        "counts": counts.astype(np.int64).tolist(), "depths": depths.tolist(),
    }


def measure_glove_tree(n: int) -> dict[str, Any]:
    """A Huffman tree over the first ``n`` GloVe 6B words under a Zipf count model (count ∝ 1/rank)."""
    from dlfaq.nn import HuffmanTree

    try:
        from dlfaq.embeddings import load

        words = list(load("glove-6b-50d").words[:n])
    except Exception:  # noqa: BLE001 - the vocabulary only labels the examples
        words = [f"#{i + 1}" for i in range(n)]
    zipf = 1.0 / np.arange(1, n + 1)
    tree = HuffmanTree(zipf)
    d = tree.depths.astype(np.int64)
    walk_share, token_share = rare_half_share(zipf, d)
    ranks = [r for r in (1, 10, 100, 1_000, 10_000, 100_000, 400_000) if r <= n]
    sample = np.unique(np.geomspace(1, n, 200).astype(np.int64))
    p = zipf / zipf.sum()
    return {
        "vocab": n, "entropy_bits": tree.entropy(), "avg_code_length": tree.average_code_length(),
        "balanced_avg": balanced_average(zipf), "log2_v": math.log2(n), "max_depth": int(d.max()),
        "depth_nondecreasing_in_rank": bool(np.all(np.diff(d) >= 0)),
        "order_violations": order_violations(zipf, d),
        "rare_half_walk_share": walk_share, "rare_half_token_share": token_share,
        "examples": [[r, words[r - 1], float(p[r - 1]), float(-math.log2(p[r - 1])), int(d[r - 1])] for r in ranks],
        "sample_ranks": sample.tolist(), "sample_depths": d[sample - 1].tolist(),
        "sample_ideal": (-np.log2(p[sample - 1])).tolist(),
    }


# ---------------------------------------------------------------------------- huffman-depth


@experiment(
    16,
    "huffman-depth",
    title={
        "en": "Huffman code length vs word frequency, the entropy bound, a balanced tree and negative sampling",
        "zh": "霍夫曼编码长度与词频、熵下界、平衡树和负采样的比较",
    },
    description={
        "en": "Huffman trees over the Lee corpus vocabulary (real counts) and the 400k GloVe 6B vocabulary "
        "(Zipf count model): per-word depth, dot products per training example against the entropy, a balanced "
        "tree, negative sampling (k + 1) and the full softmax, and the share of node visits spent on rare words.",
        "zh": "在 Lee 语料词表(真实词频)和 GloVe 6B 的 40 万词表(齐普夫词频模型)上建霍夫曼树:每个词的深度,"
        "每个训练样本所需点积次数与熵、平衡树、负采样(k + 1)和完整 softmax 的比较,以及生僻词在全部节点访问中的占比。",
    },
)
class HuffmanDepth(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        return [Unit("trees", {"seed": ctx.seed, "glove_words": ctx.pick(quick=400_000, full=400_000,
                                                                           smoke=20_000)})]

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        return {"lee": measure_lee_tree(), "glove": measure_glove_tree(int(unit.params["glove_words"]))}

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        r = results["trees"]
        lee, glove = r["lee"], r["glove"]
        ev = Evidence()
        ev.metrics.update({f"lee_{k}": v for k, v in lee.items() if k not in ("counts", "depths", "bands")})
        ev.metrics.update({f"glove_{k}": v for k, v in glove.items()
                           if k not in ("examples", "sample_ranks", "sample_depths", "sample_ideal")})
        ev.metrics["lee_hapax_vs_top10_ratio"] = lee["hapax_mean_depth"] / lee["top10_mean_depth"]
        for k in NEGATIVES:
            ev.metrics[f"lee_hs_vs_ns{k}_ratio"] = lee["avg_code_length"] / (k + 1)
            ev.metrics[f"glove_hs_vs_ns{k}_ratio"] = glove["avg_code_length"] / (k + 1)
        ev.table("lee-bands", ["band", "types", "share of tokens", "mean depth", "depth range",
                               "share of node visits"],
                 [[b[0], b[1], round(b[2], 4), round(b[3], 2), b[4], round(b[5], 4)] for b in lee["bands"]],
                 title="Lee corpus vocabulary: code length (tree depth) by frequency band")
        ev.table("glove-examples", ["rank", "word", "Zipf probability", "-log2 p", "code length"],
                 [[e[0], e[1], f"{e[2]:.2e}", round(e[3], 2), e[4]] for e in glove["examples"]],
                 title="GloVe 6B vocabulary under a Zipf count model: code length of words at several ranks")
        cost_rows = []
        for name, t in (("Lee corpus (real counts)", lee), ("GloVe 6B (Zipf model)", glove)):
            cost_rows.append([name, t["vocab"], round(t["entropy_bits"], 3), round(t["avg_code_length"], 3),
                              round(t["balanced_avg"], 3), NEGATIVES[0] + 1, NEGATIVES[1] + 1, t["vocab"],
                              t["max_depth"]])
        ev.table("average-cost",
                 ["vocabulary", "V", "entropy H (bits)", "HS, Huffman tree", "HS, balanced tree",
                  f"negative sampling k={NEGATIVES[0]}", f"negative sampling k={NEGATIVES[1]}", "full softmax",
                  "deepest word (Huffman)"],
                 cost_rows,
                 title="Dot products per training example (frequency-weighted average over tokens); "
                       "each is d multiply-adds forward and about 2d backward")
        plot_trees(ev, lee, glove)
        judge_trees(ev, lee, glove)
        ev.notes = ("The GloVe file has no counts; its tree uses a Zipf model (count ∝ 1/rank) and shows the "
                    "shape of a large vocabulary, not word2vec's exact tree. Every verdict is an exact property "
                    "of the trees dlfaq.nn.HuffmanTree builds on these counts.")
        return ev


def plot_trees(ev: Evidence, lee: Mapping[str, Any], glove: Mapping[str, Any]) -> None:
    from matplotlib.figure import Figure

    counts, depths = np.asarray(lee["counts"], float), np.asarray(lee["depths"])
    v = counts.size
    fig = Figure(figsize=(11, 4.2))
    ax1, ax2 = fig.subplots(1, 2)
    jitter = np.random.default_rng(0).uniform(-0.18, 0.18, v)
    ax1.scatter(counts, depths + jitter, s=4, alpha=0.35, label="words (depth, jittered)")
    cc = np.geomspace(1, counts.max(), 100)
    ax1.plot(cc, -np.log2(cc / counts.sum()), "k--", lw=1, label="−log2 p (ideal code length)")
    ax1.axhline(lee["avg_code_length"], color="C2", lw=1.2, label=f"average code length {lee['avg_code_length']:.2f}")
    ax1.axhline(lee["balanced_avg"], color="C3", lw=1.2, ls=":", label=f"balanced tree {lee['balanced_avg']:.2f}")
    ax1.axhline(NEGATIVES[0] + 1, color="C4", lw=1.2, ls="-.", label=f"negative sampling k={NEGATIVES[0]}")
    ax1.set_xscale("log")
    ax1.set_xlabel("word count in the Lee corpus")
    ax1.set_ylabel("code length = dot products per example")
    ax1.set_title(f"Lee corpus, V = {v}: rare words sit deeper")
    ax1.legend(fontsize=7)
    rr = np.asarray(glove["sample_ranks"])
    ax2.plot(rr, glove["sample_depths"], lw=1.2, label="Huffman code length")
    ax2.plot(rr, glove["sample_ideal"], "k--", lw=1, label="−log2 p")
    ax2.axhline(glove["avg_code_length"], color="C2", lw=1.2, label=f"average code length {glove['avg_code_length']:.2f}")
    ax2.axhline(glove["balanced_avg"], color="C3", lw=1.2, ls=":", label=f"balanced tree {glove['balanced_avg']:.2f}")
    ax2.axhline(NEGATIVES[0] + 1, color="C4", lw=1.2, ls="-.", label=f"negative sampling k={NEGATIVES[0]}")
    for e in glove["examples"]:
        ax2.annotate(e[1], (e[0], e[4]), fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax2.set_xscale("log")
    ax2.set_xlabel("frequency rank in GloVe 6B (Zipf count model)")
    ax2.set_ylabel("code length")
    ax2.set_title(f"GloVe 6B vocabulary, V = {glove['vocab']}")
    ax2.legend(fontsize=7)
    ev.figure("code-length-vs-frequency", fig,
              "Code length of every word against its frequency: deep for rare words, but the frequency-weighted "
              "average (green) is close to the entropy and below a balanced tree's (red); negative sampling "
              "(purple) needs k + 1 dot products for every example.")

    fig2 = Figure(figsize=(5.5, 4))
    bx = fig2.subplots(1, 1)
    order = np.argsort(-counts, kind="stable")
    walk = counts * depths
    bx.plot(np.arange(1, v + 1) / v, np.cumsum(walk[order]) / walk.sum(), label="share of node visits")
    bx.plot(np.arange(1, v + 1) / v, np.cumsum(counts[order]) / counts.sum(), "--", label="share of tokens")
    bx.axvline(1 - RARE_HALF, color="grey", lw=0.8)
    bx.set_xlabel("fraction of vocabulary types, most frequent first")
    bx.set_ylabel("cumulative share")
    bx.set_title(f"Lee corpus: the rarest half of the types takes {lee['rare_half_walk_share']:.1%} of the walk",
                 fontsize=9)
    bx.legend(fontsize=8)
    ev.figure("rare-word-share", fig2, "Cumulative share of all node visits (Σ count · depth) and of tokens, "
              "word types sorted from most to least frequent.")


def judge_trees(ev: Evidence, lee: Mapping[str, Any], glove: Mapping[str, Any]) -> None:
    deeper = lee["order_violations"] == 0 and glove["order_violations"] == 0
    ev.add(check(
        "q16.rare-words-deeper", deeper,
        rule={"en": "Exact property of the Huffman trees dlfaq.nn.HuffmanTree builds on the Lee corpus counts and on "
                    "the Zipf model of the GloVe 6B vocabulary: supported if no word sits deeper than a strictly "
                    "rarer word (words with nearly equal counts may share a depth, so 'farther' is read as 'at least "
                    "as far'), contradicted if one does.",
              "zh": "对 dlfaq.nn.HuffmanTree 在 Lee 语料词频和 GloVe 6B 词表齐普夫模型上所建霍夫曼树的精确检查:若没有任何"
                    "一个词比严格更生僻的词更深,则成立(词频相近的词可以同深,所以“更远”按“不更近”理解);只要有一个词违反,"
                    "则被否定。"},
        reason={"en": f"Lee corpus, {lee['vocab']} words: {lee['order_violations']} words deeper than a rarer word, "
                      f"Spearman correlation of count and depth {lee['spearman_count_depth']:.3f}, depth from "
                      f"{lee['top10_mean_depth']:.1f} (10 most frequent words, mean) to {lee['hapax_mean_depth']:.1f} "
                      f"(words seen once); GloVe Zipf model, {glove['vocab']} words: "
                      f"{glove['order_violations']} such words.",
                "zh": f"Lee 语料 {lee['vocab']} 个词中,比更生僻的词还深的词有 {lee['order_violations']} 个,词频与深度的 "
                      f"Spearman 相关为 {lee['spearman_count_depth']:.3f},深度从 {lee['top10_mean_depth']:.1f}(最常见的 "
                      f"10 个词的平均)到 {lee['hapax_mean_depth']:.1f}(只出现一次的词);GloVe 齐普夫模型 "
                      f"{glove['vocab']} 个词中这样的词有 {glove['order_violations']} 个。"},
        evidence=["code-length-vs-frequency", "lee-bands"]))

    costs_more = lee["hapax_min_depth"] > lee["top10_max_depth"]
    ratio = lee["hapax_mean_depth"] / lee["top10_mean_depth"]
    ev.add(check(
        "q16.rare-words-cost-more", costs_more,
        rule={"en": "A skip-gram example walks the path of its centre word (word2vec's implementation): it costs "
                    "depth(w) dot products with node vectors plus as many node updates, a count, not a timing. "
                    "Supported if on the Lee tree every word seen once costs more dot products than each of the 10 "
                    "most frequent words (smallest hapax depth > largest top-10 depth), contradicted otherwise.",
              "zh": "skip-gram 的一个样本沿中心词的路径走(word2vec 的实现):它需要 depth(w) 次与节点向量的点积,外加同样"
                    "多次节点更新——这是计数,不是计时。若在 Lee 语料的树上,每个只出现一次的词都比最常见的 10 个词中的任何"
                    "一个需要更多点积(只出现一次的词的最小深度大于前 10 个词的最大深度),则成立;否则被否定。"},
        reason={"en": f"Words seen once need {lee['hapax_min_depth']}-{lee['max_depth']} dot products per example, "
                      f"the 10 most frequent words at most {lee['top10_max_depth']}: on average {ratio:.2f} times "
                      "as many.",
                "zh": f"只出现一次的词每个样本需要 {lee['hapax_min_depth']}-{lee['max_depth']} 次点积,最常见的 10 个词"
                      f"至多 {lee['top10_max_depth']} 次:平均多 {ratio:.2f} 倍。"},
        evidence=["lee-bands", "code-length-vs-frequency"]))

    drawback = lee["rare_half_walk_share"] >= 0.5 or lee["avg_code_length"] > lee["balanced_avg"]
    k0, k1 = NEGATIVES
    ev.add(check(
        "q16.rare-depth-is-the-drawback", drawback,
        rule={"en": "Rare words' long paths would be the drawback if they made the tree walk costlier than another "
                    "tree over the same words, or if they carried most of its cost. Supported if, on the Lee corpus, "
                    "the Huffman tree's frequency-weighted average path (dot products per training example) exceeds "
                    "the best balanced tree's, or the rarest half of the word types accounts for at least half of all "
                    "node visits; contradicted otherwise. Negative sampling's k + 1 dot products are reported beside "
                    "it: HS's cost relative to them is set by the average path, which no binary tree brings below "
                    "the entropy of the word distribution.",
              "zh": "只有当生僻词的长路径让树上的计算比同一批词上的另一棵树更贵,或者承担了大部分计算时,它才是缺点。若在 "
                    "Lee 语料上,霍夫曼树按词频加权的平均路径长度(每个训练样本的点积次数)超过最优平衡树,或者最生僻的一半"
                    "词型占全部节点访问的一半以上,则成立;否则被否定。负采样的 k + 1 次点积一并列出:层次 softmax 相对它的"
                    "代价由平均路径长度决定,而任何二叉树的平均路径都不可能低于词频分布的熵。"},
        reason={"en": f"Lee corpus: the Huffman tree needs {lee['avg_code_length']:.2f} dot products per example on "
                      f"average (entropy {lee['entropy_bits']:.2f} bits), a balanced tree {lee['balanced_avg']:.2f}; "
                      f"the rarest half of the word types takes {100 * lee['rare_half_walk_share']:.1f} % of all node "
                      f"visits. Negative sampling needs {k0 + 1} (k = {k0}) or {k1 + 1} (k = {k1}); GloVe's Zipf tree "
                      f"{glove['avg_code_length']:.2f}.",
                "zh": f"Lee 语料:霍夫曼树平均每个样本需要 {lee['avg_code_length']:.2f} 次点积(熵 "
                      f"{lee['entropy_bits']:.2f} 比特),平衡树需要 {lee['balanced_avg']:.2f} 次;最生僻的一半词型只占全部"
                      f"节点访问的 {100 * lee['rare_half_walk_share']:.1f}%。负采样需要 {k0 + 1} 次(k = {k0})或 "
                      f"{k1 + 1} 次(k = {k1});GloVe 齐普夫模型的树平均 {glove['avg_code_length']:.2f} 次。"},
        evidence=["average-cost", "rare-word-share"]))


# ---------------------------------------------------------------------------- skip-gram

KINDS = ("hierarchical softmax", "negative sampling", "full softmax")
WINDOW = 3
BATCH = 512
LR = 0.025  # word2vec's default starting rate, linearly decayed; a setting, not tuned here
SUBSAMPLE = 1e-3  # word2vec's subsampling threshold for small corpora


def skipgram_pairs(ids: list[np.ndarray], keep: np.ndarray, window: int, rng: np.random.Generator,
                   shrink: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """word2vec-style (center, context) pairs: frequent-word subsampling and a random window per center."""
    centers, contexts = [], []
    for a in ids:
        a = a[rng.random(a.size) < keep[a]]
        n = a.size
        b = rng.integers(1, window + 1, n) if shrink else np.full(n, window)
        for off in range(1, window + 1):
            if off >= n:
                break
            m = b[: n - off] >= off  # center i, context i + off
            centers.append(a[: n - off][m])
            contexts.append(a[off:][m])
            m = b[off:] >= off  # center i + off, context i
            centers.append(a[off:][m])
            contexts.append(a[: n - off][m])
    c, o = np.concatenate(centers), np.concatenate(contexts)
    perm = rng.permutation(c.size)
    return c[perm], o[perm]


def corpus(n_docs: int | None, min_count: int) -> dict[str, Any]:
    """Lee documents split into training (9 in 10) and held-out (every 10th) documents, as word ids."""
    from dlfaq.data import lee_corpus

    docs = lee_corpus()
    if n_docs is not None:
        docs = docs[:n_docs]
    train = [d for i, d in enumerate(docs) if i % 10 != 9]
    held = [d for i, d in enumerate(docs) if i % 10 == 9]
    words, counts = lee_vocab(train, min_count)
    index = {w: i for i, w in enumerate(words)}
    as_ids = lambda ds: [np.array([index[w] for w in d if w in index], dtype=np.int64) for d in ds]  # noqa: E731
    f = counts / counts.sum()
    keep = np.minimum(1.0, (np.sqrt(f / SUBSAMPLE) + 1) * SUBSAMPLE / f)
    # held-out pairs: the full window, subsampled like training, from a fixed generator so every
    # seed and every output layer is scored on the same pairs
    hc, ho = skipgram_pairs(as_ids(held), keep, WINDOW, np.random.default_rng(12345), shrink=False)
    marginal = counts * keep  # the target distribution training sees after subsampling
    unigram_nll = float(-np.log(marginal[ho] / marginal.sum()).mean())
    return {"words": words, "counts": counts, "ids": as_ids(train), "keep": keep,
            "held": (hc, ho), "unigram_nll": unigram_nll}


def train_skipgram(kind: str, data: Mapping[str, Any], *, dim: int, epochs: int, negatives: int, seed: int,
                   device: Any) -> dict[str, Any]:
    """Train one skip-gram and count the dot products its output layer needed on the pairs trained on."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from dlfaq.nn import HierarchicalSoftmax

    counts = data["counts"]
    V = counts.size
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    # word2vec's initialisation: small uniform input vectors, zero output parameters
    emb = nn.Embedding(V, dim, sparse=True).to(device)
    nn.init.uniform_(emb.weight, -0.5 / dim, 0.5 / dim)
    if kind == "hierarchical softmax":
        out: nn.Module = HierarchicalSoftmax(dim, counts, bias=False, sparse=True, reduction="sum").to(device)
        depths = out.tree.depths
    elif kind == "negative sampling":
        out = nn.Embedding(V, dim, sparse=True).to(device)
        nn.init.zeros_(out.weight)
        noise = torch.from_numpy(counts**0.75 / (counts**0.75).sum()).to(device)
    else:
        out = nn.Linear(dim, V, bias=False).to(device)
        nn.init.zeros_(out.weight)
    opt = torch.optim.SGD(list(emb.parameters()) + list(out.parameters()), lr=LR)
    epoch_s, losses, n_pairs, dots = [], [], 0, 0.0

    def loss_of(cb: Any, ob: Any) -> Any:
        h = emb(cb)
        if kind == "hierarchical softmax":
            return out(h, ob)
        if kind == "negative sampling":
            neg = torch.multinomial(noise, cb.numel() * negatives, replacement=True).view(-1, negatives)
            z = torch.bmm(out(torch.cat([ob[:, None], neg], 1)), h.unsqueeze(2)).squeeze(2)
            return -(F.logsigmoid(z[:, 0]).sum() + F.logsigmoid(-z[:, 1:]).sum())
        return F.cross_entropy(out(h), ob, reduction="sum")

    for ep in range(epochs):
        c_np, o_np = skipgram_pairs(data["ids"], data["keep"], WINDOW, rng)
        if kind == "hierarchical softmax":
            dots += float(depths[o_np].sum())  # one dot product per node on the target's path
        elif kind == "negative sampling":
            dots += float(o_np.size * (negatives + 1))  # the target and k noise words
        else:
            dots += float(o_np.size * V)  # every word's score
        n_pairs += o_np.size
        c, o = torch.from_numpy(c_np).to(device), torch.from_numpy(o_np).to(device)
        nb = (c.numel() + BATCH - 1) // BATCH
        total = 0.0
        t0 = time.perf_counter()
        for bi in range(nb):
            for g in opt.param_groups:  # word2vec's linearly decaying learning rate
                g["lr"] = LR * max(1e-4, 1 - (ep * nb + bi) / (epochs * nb))
            loss = loss_of(c[bi * BATCH : (bi + 1) * BATCH], o[bi * BATCH : (bi + 1) * BATCH])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_s.append(time.perf_counter() - t0)
        losses.append(total / c.numel())
    held_nll = None
    if kind != "negative sampling":  # negative sampling's scores are not a normalised distribution
        hc, ho = (torch.from_numpy(a).to(device) for a in data["held"])
        with torch.no_grad():
            h = emb(hc)
            nll = out(h, ho) if kind == "hierarchical softmax" else F.cross_entropy(out(h), ho, reduction="sum")
        held_nll = float(nll) / ho.numel()
    return {"vectors": emb.weight.detach().cpu().numpy(), "epoch_s": epoch_s, "loss_per_pair": losses,
            "pairs_per_epoch": n_pairs / epochs, "dots_per_pair": dots / n_pairs, "held_nll": held_nll}


@experiment(
    16,
    "skipgram-output-layers",
    title={
        "en": "Skip-gram on the Lee corpus: hierarchical softmax vs negative sampling vs full softmax",
        "zh": "Lee 语料上的 skip-gram:层次 softmax、负采样与完整 softmax 对比",
    },
    description={
        "en": "Same pairs, epochs and optimizer for the three output layers: dot products per training pair counted "
        "over the pairs trained on (the verdict), and as information the held-out loss, the time per epoch and "
        "WordSim353 / SimLex-999 scores of the learned vectors (low coverage, noisy).",
        "zh": "三种输出层使用相同的训练对、轮数和优化器:在实际训练的训练对上统计每个训练对所需的点积次数(据此判定);"
        "留出集损失、每轮耗时以及所得词向量在 WordSim353 / SimLex-999 上的得分(覆盖率低、噪声大)仅作参考。",
    },
)
class SkipgramOutputLayers(Study):
    def units(self, ctx: RunContext) -> list[Unit]:
        return [Unit(f"seed={s}/{k.replace(' ', '-')}", {"seed": s, "kind": k})
                for s in ctx.seeds(quick=2, full=5, smoke=1) for k in KINDS]

    @staticmethod
    def settings(ctx: RunContext) -> dict[str, Any]:
        return {"n_docs": ctx.pick(quick=None, full=None, smoke=40), "min_count": ctx.pick(quick=3, full=2, smoke=2),
                "dim": ctx.pick(quick=32, full=50, smoke=16), "epochs": ctx.pick(quick=2, full=5, smoke=1),
                "negatives": NEGATIVES[0]}

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        from dlfaq.embeddings import evaluate_relatedness

        s = self.settings(ctx)
        data = corpus(s["n_docs"], s["min_count"])
        r = train_skipgram(unit.params["kind"], data, dim=s["dim"], epochs=s["epochs"], negatives=s["negatives"],
                           seed=unit.seed, device=ctx.torch_device())
        vectors = r.pop("vectors")
        for bench in ("wordsim353", "simlex999"):
            e = evaluate_relatedness((data["words"], vectors), bench)
            r[bench] = {"spearman": e["spearman"], "oov_ratio": e["oov_ratio"]}
        r.update(kind=unit.params["kind"], seed=unit.seed, vocab=len(data["words"]),
                 tokens=int(data["counts"].sum()), unigram_nll=data["unigram_nll"],
                 held_pairs=int(data["held"][1].size))
        return r

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        ev = Evidence()
        s = self.settings(ctx)
        by_kind = {k: sorted((r for r in results.values() if r["kind"] == k), key=lambda r: r["seed"])
                   for k in KINDS}
        any_r = by_kind[KINDS[0]][0]
        V, dim = any_r["vocab"], s["dim"]
        ev.metrics.update(vocab=V, tokens=any_r["tokens"], dim=dim, epochs=s["epochs"], window=WINDOW,
                          batch=BATCH, negatives=s["negatives"], seeds=len(by_kind[KINDS[0]]),
                          min_count=s["min_count"], held_pairs=any_r["held_pairs"],
                          unigram_held_nll=any_r["unigram_nll"], pairs_per_epoch=any_r["pairs_per_epoch"])
        rows = []
        summary: dict[str, dict[str, float]] = {}
        for kind in KINDS:
            rs = by_kind[kind]
            key = kind.split()[0]
            dots = [r["dots_per_pair"] for r in rs]
            ws = [r["wordsim353"]["spearman"] for r in rs]
            sl = [r["simlex999"]["spearman"] for r in rs]
            nll = [r["held_nll"] for r in rs if r["held_nll"] is not None]
            summary[kind] = {"dots": float(np.mean(dots)), "dots_max": float(max(dots)),
                             "nll": float(np.mean(nll)) if nll else float("nan")}
            ev.metrics[f"{key}_dots_per_pair"] = float(np.mean(dots))
            ev.metrics[f"{key}_wordsim_spearman_mean"] = float(np.mean(ws))
            ev.metrics[f"{key}_simlex_spearman_mean"] = float(np.mean(sl))
            ev.metrics[f"{key}_final_loss_per_pair"] = float(np.mean([r["loss_per_pair"][-1] for r in rs]))
            if nll:
                ev.metrics[f"{key}_held_nll"] = float(np.mean(nll))
            ev.timings[f"{key}_epoch_s"] = statistics.median(t for r in rs for t in r["epoch_s"])
            rows.append([kind, round(float(np.mean(dots)), 2), round(float(np.mean(dots)) * dim),
                         "-" if not nll else round(float(np.mean(nll)), 3),
                         round(float(np.mean(ws)), 3), round(float(np.mean(sl)), 3)])
        hs, ns, full = (summary[k] for k in KINDS)
        ev.metrics["full_vs_hs_dots_ratio"] = full["dots"] / hs["dots"]
        ev.metrics["hs_vs_ns_dots_ratio"] = hs["dots"] / ns["dots"]
        ev.metrics.update(wordsim_oov_percent=any_r["wordsim353"]["oov_ratio"],
                          simlex_oov_percent=any_r["simlex999"]["oov_ratio"])
        ev.table(
            "output-layers",
            ["output layer", "dot products per pair", "multiply-adds per pair (forward)",
             "held-out NLL per pair (nats)", "WordSim353 Spearman", "SimLex-999 Spearman"],
            rows + [["unigram distribution (no model)", "-", "-", round(any_r["unigram_nll"], 3), "-", "-"]],
            title=f"Skip-gram on the Lee corpus (V = {V}, d = {dim}, {s['epochs']} epochs, "
                  f"{len(by_kind[KINDS[0]])} seed(s), means over seeds; relatedness OOV: WordSim "
                  f"{any_r['wordsim353']['oov_ratio']:.0f} %, SimLex {any_r['simlex999']['oov_ratio']:.0f} %)",
        )
        plot_output_layers(ev, summary, V, any_r["unigram_nll"])
        fewer = hs["dots_max"] * SPEEDUP_FACTOR <= V
        ev.add(check(
            "q16.huffman-speeds-training", fewer,
            rule={"en": "An operation count over the pairs each model was trained on, not a timing: supported if "
                        f"hierarchical softmax needed at most 1/{SPEEDUP_FACTOR:g} of the full softmax's dot products "
                        f"per training pair (the full softmax scores all V words) in every seed, contradicted "
                        f"otherwise. {SPEEDUP_FACTOR:g}x because the tree walk pays per-example gathers and "
                        "scattered updates that one dense product does not, a few-fold constant.",
                  "zh": "在每个模型实际训练过的训练对上统计运算次数,而不是计时:若每个种子中层次 softmax 每个训练对所需的点积"
                        f"都不超过完整 softmax(要为全部 V 个词打分)的 1/{SPEEDUP_FACTOR:g},则成立;否则被否定。取 "
                        f"{SPEEDUP_FACTOR:g} 倍,是因为走树要按样本收集节点向量、分散地更新,这些是一次稠密矩阵乘法没有的"
                        "常数倍开销。"},
            reason={"en": f"Hierarchical softmax {hs['dots']:.2f} dot products per pair against {V} for the full "
                          f"softmax ({full['dots'] / hs['dots']:.0f} times fewer); negative sampling with "
                          f"k = {s['negatives']} needs {ns['dots']:.0f}, so the tree costs "
                          f"{hs['dots'] / ns['dots']:.2f} times negative sampling's dot products.",
                    "zh": f"层次 softmax 每个训练对 {hs['dots']:.2f} 次点积,完整 softmax {V} 次(少 "
                          f"{full['dots'] / hs['dots']:.0f} 倍);k = {s['negatives']} 的负采样需要 {ns['dots']:.0f} 次,"
                          f"层次 softmax 的点积是负采样的 {hs['dots'] / ns['dots']:.2f} 倍。"},
            evidence=["output-layers", "skipgram-output-layers"]))
        ev.notes = (
            f"Lee background corpus, every 10th document held out, words with count ≥ {s['min_count']} in the "
            f"training documents, window {WINDOW} (random shrink per center), subsampling t = {SUBSAMPLE:g}, SGD "
            f"with word2vec's linearly decaying rate from {LR}, batch {BATCH}. The held-out loss and relatedness "
            "are information only: the learning rate is word2vec's default, not tuned for any of the three output "
            "layers, and most benchmark pairs are outside this tiny vocabulary. Negative sampling is implemented "
            "in the experiment as a baseline (unigram^0.75 noise)."
        )
        return ev


def plot_output_layers(ev: Evidence, summary: Mapping[str, Mapping[str, float]], V: int, unigram: float) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    a1, a2 = fig.subplots(1, 2)
    x = np.arange(len(KINDS))
    labels = ["hierarchical\nsoftmax", "negative\nsampling (k=5)", "full\nsoftmax"]
    dots = [summary[k]["dots"] for k in KINDS]
    a1.bar(x, dots, color=["C0", "C1", "C2"])
    for i, d in enumerate(dots):
        a1.annotate(f"{d:.1f}", (i, d), ha="center", va="bottom", fontsize=8)
    a1.set_yscale("log")
    a1.set_xticks(x, labels)
    a1.set_ylabel("dot products per training pair (log)")
    a1.set_title(f"Output-layer work per pair (V = {V})")
    kinds = [k for k in KINDS if math.isfinite(summary[k]["nll"])]
    a2.bar(np.arange(len(kinds)), [summary[k]["nll"] for k in kinds], color=["C0", "C2"][: len(kinds)])
    a2.axhline(unigram, color="k", ls="--", lw=1, label="unigram distribution")
    a2.set_xticks(np.arange(len(kinds)), [labels[KINDS.index(k)] for k in kinds])
    a2.set_ylabel("held-out NLL per pair (nats)")
    lo = min([summary[k]["nll"] for k in kinds] + [unigram])
    a2.set_ylim(lo - 0.5, None)
    a2.set_title("Held-out loss (information; untuned learning rate)", fontsize=9)
    a2.legend(fontsize=8)
    ev.figure("skipgram-output-layers", fig,
              "Left: dot products each training pair needed, counted over the pairs trained on. Right: held-out "
              "negative log-likelihood of the context word for the two normalised output layers, against the "
              "unigram distribution.")
