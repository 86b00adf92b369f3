"""Q16 notebook: what rare words cost in a hierarchical softmax (exact properties of a Huffman tree)."""

from dlfaq.notebooks.cells import Code, Md, Sizes

CELLS = [
    Md(
        """
        ## 实验设计
        这个问题的结论都是给定语料上 Huffman 树的精确性质或运算次数,不用计时:在 Lee 语料的真实词频上建 `dlfaq.nn.HuffmanTree`,
        看编码长度与词频的关系、按词频加权的平均编码长度与熵下界、平衡树(log2 V)和负采样(k + 1 次点积)的对比,以及稀有词占了多少节点访问。
        (完整实验还有 GloVe 40 万词表和一个小 skip-gram,见 `dlfaq run 16`。)
        """,
        """
        ## The design
        Every verdict here is an exact property of a Huffman tree on a given corpus, or an operation count; no
        clock decides anything. A `dlfaq.nn.HuffmanTree` on the Lee corpus's real word counts: code length
        against frequency, the frequency-weighted average code length against the entropy bound, a balanced
        tree (log2 V) and negative sampling's k + 1 dot products, and the share of node visits spent on rare
        words. (The full experiment adds the 400k GloVe vocabulary and a small skip-gram: `dlfaq run 16`.)
        """,
    ),
    Sizes(quick=dict(k_negative=5), full=dict(), smoke=dict()),
    Code(
        """
        from collections import Counter
        from dlfaq.data import lee_corpus
        from dlfaq.nn import HuffmanTree

        counts = Counter(w for sentence in lee_corpus() for w in sentence)
        words, freq = zip(*counts.most_common())
        freq = np.array(freq, dtype=np.float64)
        tree = HuffmanTree(freq)
        depths = np.asarray(tree.depths)
        V = len(words)
        print(f"V = {V} words; code length {depths.min()}..{depths.max()}")
        # rare words deeper: along the frequency order the code length never decreases
        violations = int(sum(depths[i + 1] < depths[i] and freq[i + 1] < freq[i] for i in range(V - 1)))
        print("rarer word with a shorter code:", violations, "times")
        print("q16.rare-words-deeper:", "supported" if violations == 0 and depths[-1] > depths[0] else "contradicted")
        """
    ),
    Code(
        """
        avg = tree.average_code_length()
        print(f"average code length per training token {avg:.2f} nodes; entropy bound {tree.entropy():.2f} bits; "
              f"balanced tree {math.ceil(math.log2(V))}; negative sampling k+1 = {k_negative + 1} dot products; "
              f"full softmax {V}")
        rare = freq <= np.median(freq)
        share = float((freq[rare] * depths[rare]).sum() / (freq * depths).sum())
        print(f"rare half of the vocabulary ({int(rare.sum())} words): {100 * float(freq[rare].sum() / freq.sum()):.1f} % of tokens, "
              f"{100 * share:.1f} % of node visits")
        SPEEDUP = 10  # the experiment's factor: the tree walk pays gathers and scattered updates a dense product does not
        print(f"q16.huffman-speeds-training (at most 1/{SPEEDUP} of the full softmax's dot products per token):",
              "supported" if avg <= V / SPEEDUP else "contradicted")
        print("q16.rare-words-cost-more (per occurrence):", "supported" if depths[rare].mean() > depths[~rare].mean() else "contradicted")
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        ax.semilogx(freq, depths, ".", ms=3); ax.set_xlabel("word count in the Lee corpus"); ax.set_ylabel("Huffman code length")
        plt.show()
        """
    ),
]
