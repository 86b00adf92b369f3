"""Categorization, 2-D views, PPMI-SVD, the `dlfaq embeddings` commands and the Q12 experiment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlfaq.embeddings import (
    Vectors,
    evaluate_categorization,
    plot_words,
    ppmi_svd,
    project_2d,
    purity,
)


def _clustered(n_per: int = 20, k: int = 4, dim: int = 16, spread: float = 0.05, seed: int = 0):
    """k tight, well separated groups of words: any sane clustering recovers them."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, dim)) * 3
    words, rows, cats = [], [], {}
    for c in range(k):
        cats[f"cat{c}"] = []
        for i in range(n_per):
            w = f"c{c}w{i}"
            words.append(w)
            cats[f"cat{c}"].append(w)
            rows.append(centers[c] + spread * rng.standard_normal(dim))
    return Vectors(words, np.asarray(rows, dtype=np.float32)), cats


def test_purity_definition():
    # clusters {0,0,1 | 1,1,2}: majority counts 2 + 2 = 4 of 6
    assert purity([0, 0, 1, 1, 1, 2], [5, 5, 5, 7, 7, 7]) == pytest.approx(4 / 6)
    assert purity([0, 1, 2], [0, 1, 2]) == 1.0
    assert purity([0, 0, 0], [1, 2, 3]) == 1.0  # singletons are trivially pure
    with pytest.raises(ValueError):
        purity([0, 1], [0])


def test_categorization_recovers_separated_groups_and_not_random_ones():
    vec, cats = _clustered()
    good = evaluate_categorization(vec, cats, seed=0)
    assert good["purity"] == 1.0 and good["nmi"] == pytest.approx(1.0)
    assert good["words"] == 80 and good["oov"] == 0
    rng = np.random.default_rng(1)
    rand = Vectors(vec.words, rng.standard_normal(vec.matrix.shape).astype(np.float32))
    bad = evaluate_categorization(rand, cats, seed=0)
    # 4 equal classes: random clusters score near 1/4; 0.6 is far above that for 80 words
    assert bad["purity"] < 0.6
    cats_oov = {**cats, "cat0": cats["cat0"] + ["notaword"]}
    assert evaluate_categorization(vec, cats_oov)["oov"] == 1


def test_derived_categories_are_disjoint():
    pytest.importorskip("gensim", reason="the analogy file ships with gensim ('embeddings' extra)")
    from dlfaq.embeddings.benchmarks import categories

    cats = categories()
    assert len(cats) == 10
    seen: dict[str, str] = {}
    for name, words in cats.items():
        assert len(words) >= 20, name
        for w in words:
            assert w not in seen, (w, name, seen.get(w))
            seen[w] = name
    assert "georgia" not in seen  # a country and a US state: dropped from both
    assert "paris" in cats["capital"] and "france" in cats["country"]


def test_project_2d_pca_matches_sklearn_and_plot(tmp_path):
    from sklearn.decomposition import PCA

    vec, cats = _clustered()
    pts, info = project_2d(vec.matrix, "pca")
    ref = PCA(n_components=2, random_state=0).fit(vec.matrix.astype(np.float64))
    assert info["explained_variance"] == pytest.approx(ref.explained_variance_ratio_.sum(), rel=1e-9)
    assert pts.shape == (80, 2)
    labels = {w: c for c, ws in cats.items() for w in ws}
    fig = plot_words(vec, vec.words + ["missing"], labels=labels, title="t")
    fig.savefig(tmp_path / "w.png")
    assert (tmp_path / "w.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert len(ax.collections) == 4  # one scatter per category
    with pytest.raises(ValueError, match="pca"):
        project_2d(vec.matrix, "umap")  # type: ignore[arg-type]


def test_ppmi_svd_is_deterministic_and_learns_cooccurrence():
    # two "topics" whose words only co-occur within their topic
    rng = np.random.default_rng(0)
    a = [f"a{i}" for i in range(30)]
    b = [f"b{i}" for i in range(30)]
    sents = [list(rng.choice(a if s % 2 else b, size=12)) for s in range(400)]
    v1 = ppmi_svd(sents, dim=8, window=3, min_count=2, seed=0)
    v2 = ppmi_svd(sents, dim=8, window=3, min_count=2, seed=0)
    np.testing.assert_array_equal(v1.matrix, v2.matrix)
    assert len(v1) == 60
    within = np.mean([v1.similarity("a0", w) for w in a[1:]])
    across = np.mean([v1.similarity("a0", w) for w in b])
    assert within > across + 0.3
    with pytest.raises(ValueError, match="need more than dim"):
        ppmi_svd([["x", "y"]] * 10, dim=8, min_count=1)


def test_ppmi_svd_matches_the_ppmi_formula():
    """With alpha = 1 and eig = 1 the vectors are U_d S_d of the textbook PPMI matrix."""
    sents = [["x", "y", "z", "x", "w", "y", "x", "z", "w", "w"]] * 3
    v = ppmi_svd(sents, dim=3, window=2, min_count=1, alpha=1.0, eig=1.0)
    vocab = v.words
    idx = {w: i for i, w in enumerate(vocab)}
    n = len(vocab)
    c = np.zeros((n, n))
    for s in sents:
        for i, w in enumerate(s):
            for j in range(max(0, i - 2), min(len(s), i + 3)):
                if j != i:
                    c[idx[w], idx[s[j]]] += 1
    total = c.sum()
    with np.errstate(divide="ignore"):  # log(0) for pairs never seen; masked below
        pmi = np.log(c * total / (c.sum(1, keepdims=True) * c.sum(0, keepdims=True)))
    ppmi = np.where(c > 0, np.maximum(pmi, 0), 0)
    # the embedding is U_3 S_3 of the PPMI matrix, up to the sign of each column
    u, s_, _ = np.linalg.svd(ppmi)
    np.testing.assert_allclose(np.abs(v.matrix), np.abs(u[:, :3] * s_[:3]), atol=1e-4)


# --------------------------------------------------------------------------- CLI


def _cli(args, capsys):
    from dlfaq.cli import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_cli_neighbors_and_errors(tmp_path, capsys):
    vec, _ = _clustered(n_per=5, k=3)
    path = tmp_path / "v.txt"
    vec.save(path, "word2vec")
    code, out, _ = _cli(["embeddings", "neighbors", "c0w0", "--vectors", str(path), "-k", "3",
                         "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert [n["word"][:2] for n in res["neighbors"]] == ["c0", "c0", "c0"]
    code, _, err = _cli(["embeddings", "neighbors", "nope", "--vectors", str(path)], capsys)
    assert code == 2 and "not in the vocabulary" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 2\nb 1\n")
    code, _, err = _cli(["embeddings", "neighbors", "a", "--vectors", str(bad)], capsys)
    assert code == 2 and "bad.txt:2: expected 2 values" in err and "Traceback" not in err
    code, _, err = _cli(["embeddings", "evaluate", str(tmp_path / "missing.txt")], capsys)
    assert code == 2 and "no such vectors file" in err
    code, _, err = _cli(["embeddings", "neighbors", "a", "--vectors", str(path), "--format", "xml"], capsys)
    assert code == 2 and "--format" in err


@pytest.mark.parametrize("bad", ["0", "-1"])
def test_cli_neighbors_refuses_restrict_vocab_below_one(tmp_path, capsys, bad):
    vec, _ = _clustered(n_per=5, k=3)
    path = tmp_path / "v.txt"
    vec.save(path, "word2vec")
    code, _, err = _cli(["embeddings", "neighbors", "c0w0", "--vectors", str(path),
                         "--restrict-vocab", bad], capsys)
    assert code == 2 and "--restrict-vocab must be at least 1" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_refuses_files_that_are_not_regular(tmp_path, capsys):
    import os

    fifo = tmp_path / "v.txt"
    os.mkfifo(fifo)
    for target, what in ((fifo, "a FIFO"), ("/dev/zero", "a device"), (tmp_path, "a folder")):
        code, _, err = _cli(["embeddings", "neighbors", "a", "--vectors", str(target)], capsys)
        assert code == 2 and what in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1


def test_cli_plot_writes_png(tmp_path, capsys):
    vec, _ = _clustered(n_per=5, k=3)
    path = tmp_path / "v.txt"
    vec.save(path, "glove")
    out_png = tmp_path / "map.png"
    code, out, _ = _cli(["embeddings", "plot", "c0w0", "c0w1", "c1w0", "c1w1", "c2w0", "zzz",
                         "--vectors", str(path), "-k", "3", "-o", str(out_png), "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["missing"] == ["zzz"] and out_png.stat().st_size > 1000
    code, _, err = _cli(["embeddings", "plot", "c0w0", "zzz", "--vectors", str(path)], capsys)
    assert code == 2 and "at least 3 words" in err


def test_cli_evaluate_json_on_small_vectors(tmp_path, capsys):
    pytest.importorskip("gensim", reason="the benchmark files ship with gensim ('embeddings' extra)")
    from dlfaq.embeddings.benchmarks import categories, read_pairs

    words = sorted({w.lower() for ds in ("wordsim353", "simlex999") for a, b, _ in read_pairs(ds)
                    for w in (a, b)} | {w for ws in categories().values() for w in ws})
    rng = np.random.default_rng(0)
    path = tmp_path / "r.npy"
    Vectors(words, rng.standard_normal((len(words), 10))).save(path, "npy")
    code, out, _ = _cli(["embeddings", "evaluate", str(path), "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert set(res) >= {"wordsim353", "simlex999", "analogy", "categorization"}
    assert res["wordsim353"]["oov"] == 0
    assert res["analogy"]["settings"]["restrict_vocab"] == 300000
