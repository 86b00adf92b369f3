"""Damaged embedding files: each is read exactly as gensim reads it, or refused with LoadError.

Property-based (hypothesis): a valid word2vec text, GloVe or word2vec binary
file is generated and then damaged (truncated, a value replaced by a bad token,
the header's count or dimension changed or made huge, garbage bytes written
over it, values added or dropped, blank lines inserted, the binary byte order
swapped ...) or given one of the valid variations gensim accepts (a UTF-8 BOM,
CRLF line ends, trailing blank lines, gzip). For every file dlfaq either raises
:class:`LoadError` (a refusal, one line) or returns exactly the words and the
float32 matrix that ``gensim.models.KeyedVectors.load_word2vec_format`` returns
for it. Accepting a file gensim refuses, returning something else, or raising
any other exception fails the test.

dlfaq tolerates two things gensim does not: a UTF-8 byte-order mark (gensim
fails on the header) and trailing blank lines in a file without a header; for
those the reference is gensim on the file without them.

``python -m pytest -q -s tests/embeddings/test_embeddings_damaged.py -p no:xdist`` prints
the tally (files tried, refused, read as gensim, accepted silently, tracebacks);
``-m slow`` runs a ten times larger sample.
"""

from __future__ import annotations

import gzip
import math
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
pytest.importorskip("gensim", reason="gensim is part of the 'embeddings' extra")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dlfaq.embeddings.io import LoadError, load  # noqa: E402

BAD_TOKENS = [b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"1e39", b"-3.5e38", b"1_0",
              b"0x1", b"", b"\xd9\xa1", b"abc", b"1e", b"--1", b"1.2.3", b"+", b".", b"1e400",
              b"\t1", b"1\xc2\xa0"]
WORDS = st.text(alphabet="abcdefghijXYZ\u00e9\u4e2d_-.'", min_size=1, max_size=6)


def _fmt_value(x: float, style: int) -> bytes:
    if style == 0:
        return repr(x).encode()
    if style == 1:
        return f"{x:.6f}".encode()
    if style == 2:
        return f"{x:+.3e}".encode()
    return f"{x:g}".encode()


@st.composite
def valid_files(draw):
    kind = draw(st.sampled_from(["text", "glove", "binary"]))
    n = draw(st.integers(1, 6))
    dim = draw(st.integers(1, 5))
    words = draw(st.lists(WORDS, min_size=n, max_size=n, unique=True))
    # values of trained vectors: finite, |x| <= 100, no subnormals (see io._first_bad_row)
    value = st.floats(-100, 100, allow_nan=False, width=32).filter(lambda x: x == 0 or abs(x) > 1e-30)
    vals = draw(st.lists(value, min_size=n * dim, max_size=n * dim))
    mat = np.asarray(vals, dtype=np.float32).reshape(n, dim)
    style = draw(st.integers(0, 3))
    if kind == "binary":
        out = f"{n} {dim}\n".encode()
        for w, row in zip(words, mat, strict=True):
            out += w.encode() + b" " + row.astype("<f4").tobytes() + b"\n"
        return kind, out
    lines = [w.encode() + b" " + b" ".join(_fmt_value(float(x), style) for x in row)
             for w, row in zip(words, mat, strict=True)]
    if kind == "text":
        lines.insert(0, f"{n} {dim}".encode())
    return kind, b"\n".join(lines) + b"\n"


def _replace_token(data: bytes, draw) -> bytes:
    tokens = data.split(b" ")
    if len(tokens) < 2:
        return data
    i = draw(st.integers(1, len(tokens) - 1))
    bad = draw(st.sampled_from(BAD_TOKENS))
    tail = b"\n" + tokens[i].split(b"\n", 1)[1] if b"\n" in tokens[i] else b""
    tokens[i] = bad + tail
    return b" ".join(tokens)


@st.composite
def damaged_files(draw):
    kind, data = draw(valid_files())
    damage = draw(st.sampled_from([
        "none", "truncate", "bad-token", "count", "huge-count", "dim", "garbage", "drop-value",
        "extra-value", "blank-middle", "byteswap", "append-garbage", "extra-line",
        "bom", "crlf", "trailing-blank", "gzip", "double-space", "leading-space",
    ]))
    if damage == "truncate":
        data = data[:draw(st.integers(0, max(0, len(data) - 1)))]
    elif damage == "bad-token":
        data = _replace_token(data, draw) if kind != "binary" else data
    elif damage in ("count", "huge-count", "dim") and kind != "glove":
        head, _, rest = data.partition(b"\n")
        n, d = (int(x) for x in head.split())
        if damage == "count":
            n = max(0, n + draw(st.integers(-3, 3)))
        elif damage == "huge-count":
            n = draw(st.sampled_from([10**11, 2**63 - 1, 10**30]))
        else:
            d = max(0, d + draw(st.integers(-2, 2)))
        data = f"{n} {d}\n".encode() + rest
    elif damage == "garbage" and data:
        at = draw(st.integers(0, len(data) - 1))
        junk = draw(st.binary(min_size=1, max_size=8))
        data = data[:at] + junk + data[at + len(junk):]
    elif damage == "drop-value" and kind != "binary":
        data = data.replace(b" ", b"", 1) if draw(st.booleans()) else _drop_last_value(data)
    elif damage == "extra-value" and kind != "binary":
        data = data.replace(b"\n", b" 0.5\n", 2 if kind == "text" else 1)
    elif damage == "blank-middle":
        cut = data.find(b"\n") + 1
        data = data[:cut] + b"\n" + data[cut:]
    elif damage == "byteswap" and kind == "binary":
        data = _byteswap_binary(data)
    elif damage == "append-garbage":
        data = data + draw(st.binary(min_size=1, max_size=12))
    elif damage == "extra-line":
        data = data + b"zz 1" + b" 2" * draw(st.integers(0, 5)) + b"\n"
    elif damage == "double-space" and kind != "binary":
        data = data.replace(b" ", b"  ", 1)
    elif damage == "leading-space" and kind != "binary":
        data = b" " + data if kind == "glove" else data.replace(b"\n", b"\n ", 1)
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "crlf" and kind != "binary":
        data = data.replace(b"\n", b"\r\n")
    elif damage == "trailing-blank":
        data = data + b"\n" * draw(st.integers(1, 3))
    return kind, damage, data


def _drop_last_value(data: bytes) -> bytes:
    lines = data.split(b"\n")
    i = len(lines) - 2 if len(lines) >= 2 else 0
    lines[i] = lines[i].rsplit(b" ", 1)[0]
    return b"\n".join(lines)


def _byteswap_binary(data: bytes) -> bytes:
    head, _, rest = data.partition(b"\n")
    n, d = (int(x) for x in head.split())
    out = head + b"\n"
    pos = 0
    for _ in range(n):
        sp = rest.index(b" ", pos)
        vec = np.frombuffer(rest[sp + 1: sp + 1 + 4 * d], dtype="<f4").astype(">f4")
        out += rest[pos:sp + 1] + vec.tobytes() + b"\n"
        pos = sp + 1 + 4 * d + 1
    return out


def _gensim_reading(path: Path, kind: str, data: bytes):
    """What gensim returns for the file (BOM and, without a header, trailing blank lines removed)."""
    from gensim.models import KeyedVectors

    ref = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if kind == "glove":
        ref = ref.rstrip(b"\r\n") + b"\n" if ref.strip(b"\r\n") else ref
    ref_path = path.with_name("ref-" + path.name)
    if path.name.endswith(".gz"):
        with gzip.open(ref_path, "wb") as fh:
            fh.write(ref)
    else:
        ref_path.write_bytes(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kv = KeyedVectors.load_word2vec_format(str(ref_path), binary=kind == "binary",
                                               no_header=kind == "glove")
    keys = list(kv.index_to_key)
    keep = [i for i, k in enumerate(keys) if k is not None]
    return [keys[i] for i in keep], np.asarray(kv.vectors)[keep]


def classify(tmp: Path, kind: str, damage: str, data: bytes) -> str:
    """``refused``, ``as-gensim``, ``accepted-silently`` or ``traceback``."""
    name = {"text": "v.txt", "glove": "v.txt", "binary": "v.bin"}[kind]
    path = tmp / name
    if damage == "gzip":
        path = tmp / (name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    kw = {"binary": True} if kind == "binary" else {"no_header": True} if kind == "glove" else {"binary": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning while reading is a defect too
            got = load(path, **kw)
    except LoadError as exc:
        msg = str(exc)
        return "refused" if msg and "\n" not in msg else "traceback"
    except Exception:  # noqa: BLE001 - any other exception is what this test hunts
        return "traceback"
    try:
        words, matrix = _gensim_reading(path, kind, data)
    except Exception:  # noqa: BLE001 - gensim refused what dlfaq accepted
        return "accepted-silently"
    if got.words != words or got.matrix.shape != matrix.shape or got.matrix.dtype != matrix.dtype:
        return "accepted-silently"
    if not np.array_equal(got.matrix, matrix):
        return "accepted-silently"
    return "as-gensim"


TALLY: Counter[str] = Counter()
EDGE: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_tally():
    yield
    if TALLY:
        tried = sum(TALLY.values())
        print(f"\ndamaged embedding files tried: {tried}; refused (LoadError): {TALLY['refused']}; "
              f"read as gensim reads them: {TALLY['as-gensim']}; accepted silently: "
              f"{TALLY['accepted-silently']}; tracebacks: {TALLY['traceback']}")
        print("valid edge cases read like gensim: "
              + ", ".join(f"{k} {v}" for k, v in sorted(EDGE.items())))


def _check(tmp_path_factory, case) -> None:
    kind, damage, data = case
    tmp = tmp_path_factory.mktemp("d")
    outcome = classify(tmp, kind, damage, data)
    TALLY[outcome] += 1
    assert outcome in ("refused", "as-gensim"), (outcome, kind, damage, data)
    if damage in ("none", "bom", "crlf", "trailing-blank", "gzip"):
        # the valid variations must be read, not refused
        assert outcome == "as-gensim", (kind, damage, data)
        EDGE[f"{kind}/{damage}"] += 1


_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@settings(max_examples=400, **_COMMON)
@given(case=damaged_files())
def test_damaged_files_are_read_as_gensim_or_refused(tmp_path_factory, case):
    _check(tmp_path_factory, case)


@pytest.mark.slow
@settings(max_examples=4000, **_COMMON)
@given(case=damaged_files())
def test_damaged_files_many(tmp_path_factory, case):
    _check(tmp_path_factory, case)


# --------------------------------------------------------------------------- named cases


@pytest.mark.parametrize(
    "content,name,pattern",
    [
        (b"2 2\na nan 2\nb 3 4\n", "v.txt", r"v.txt:2: value b'nan' is not a finite decimal number"),
        (b"2 2\na 1 2\nb -inf 4\n", "v.txt", r"v.txt:3: value b'-inf'"),
        (b"2 2\na 1e39 2\nb 3 4\n", "v.txt", r"v.txt:2: value inf is not finite .*overflows float32"),
        (b"2 2\na 1_0 2\nb 3 4\n", "v.txt", r"v.txt:2: value b'1_0' is not a finite decimal number"),
        (b"100000000000 300\na 1 2\n", "v.txt", r"v.txt:1: the header declares 100000000000 vectors"),
        (b"a 1 2\n\nb 3 4\n", "v.txt", r"v.txt:2: empty line"),
    ],
)
def test_named_refusals(tmp_path, content, name, pattern):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LoadError, match=pattern):
        load(p)


def test_binary_false_needs_a_header_as_in_gensim(tmp_path):
    # gensim's binary=False (no_header=False) reads the first line as "count dim"; a file whose
    # first line is not one is refused there, so it must not be read as GloVe here
    from gensim.models import KeyedVectors

    p = tmp_path / "v.txt"
    p.write_bytes(b"1 1 0.5\nX 0.0 0.5\n")
    with pytest.raises(ValueError):
        KeyedVectors.load_word2vec_format(str(p), binary=False)
    with pytest.raises(LoadError, match=r"v.txt:1: expected a header 'count dim', got b'1 1 0.5"):
        load(p, binary=False)
    assert load(p).meta["format"] == "glove"  # guessed from the content when binary is not given
    assert load(p, binary=False, no_header=True).words == ["1", "X"]
    p.write_bytes(b"1 2\nX 0.0 0.5\n")
    assert load(p, binary=False).meta["format"] == "word2vec"


def test_binary_nonfinite_big_endian_and_huge_header(tmp_path):
    def entry(w: bytes, vals, dt="<f4") -> bytes:
        return w + b" " + np.asarray(vals, dtype=dt).tobytes() + b"\n"

    p = tmp_path / "v.bin"
    p.write_bytes(b"2 2\n" + entry(b"a", [1, 2]) + entry(b"b", [math.nan, 4]))
    with pytest.raises(LoadError, match=r"entry 2 \(byte offset 15\): value nan is not a number"):
        load(p)
    p.write_bytes(b"2 2\n" + entry(b"a", [0.25, -0.5], ">f4") + entry(b"b", [0.125, 3], ">f4"))
    with pytest.raises(LoadError, match=r"entry 1 \(byte offset 4\): value .* is absurd.*big-endian"):
        load(p)
    p.write_bytes(b"100000000000 300\n" + entry(b"a", [1] * 300))
    with pytest.raises(LoadError, match=r"declares 100000000000 vectors of 300 float32 values"):
        load(p)  # refused from the file size, before any allocation
    # +inf and -inf in one row sum to nan: refused with the value, and no RuntimeWarning on the way
    p.write_bytes(b"2 2\n" + entry(b"a", [1, 2]) + entry(b"b", [math.inf, -math.inf]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(LoadError, match=r"entry 2 \(byte offset 15\): value inf is not finite"):
            load(p)
        # a signalling nan (bytes 42 03 89 7f, as a byte-swapped file can hold) raises numpy's
        # "invalid" flag when it is converted; it is refused like any nan
        p.write_bytes(b"1 1\nX " + b"\x42\x03\x89\x7f" + b"\n")
        with pytest.raises(LoadError, match=r"entry 1 \(byte offset 4\): value nan is not a number"):
            load(p)
        snan = np.frombuffer(b"\x42\x03\x89\x7f", dtype="<f4").reshape(1, 1)
        np.save(tmp_path / "v.npy", snan)
        (tmp_path / "v.npy.vocab").write_text("X\n", encoding="utf-8")
        with pytest.raises(LoadError, match=r"v.npy: row 0: value nan is not a number"):
            load(tmp_path / "v.npy", datatype=np.float64)


def test_valid_variations_read_like_gensim(tmp_path):
    from gensim.models import KeyedVectors

    plain = b"2 3\nfoo 1 2 3\nbar 4 5 6.5\n"
    (tmp_path / "plain.txt").write_bytes(plain)
    ref = KeyedVectors.load_word2vec_format(str(tmp_path / "plain.txt"))
    variants = {
        "bom.txt": b"\xef\xbb\xbf" + plain,
        "crlf.txt": plain.replace(b"\n", b"\r\n"),
        "trailing.txt": plain + b"\n\n",
        "nonl.txt": plain.rstrip(b"\n"),
    }
    with gzip.open(tmp_path / "z.txt.gz", "wb") as fh:
        fh.write(plain)
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
    for name in [*variants, "z.txt.gz"]:
        v = load(tmp_path / name)
        assert v.words == list(ref.index_to_key), name
        np.testing.assert_array_equal(v.matrix, ref.vectors)
    # GloVe (no header) with a BOM and a trailing blank line
    (tmp_path / "g.txt").write_bytes(b"\xef\xbb\xbf" + plain.split(b"\n", 1)[1] + b"\n")
    g = load(tmp_path / "g.txt")
    assert g.words == ["foo", "bar"] and g.meta["format"] == "glove"
    np.testing.assert_array_equal(g.matrix, ref.vectors)


def test_binary_detected_by_content_and_gzip(tmp_path):
    from gensim.models import KeyedVectors

    m = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    data = b"2 3\n" + b"".join(w + b" " + r.astype("<f4").tobytes() + b"\n"
                               for w, r in zip([b"x", b"y"], m, strict=True))
    (tmp_path / "vectors.w2v").write_bytes(data)  # not named .bin
    v = load(tmp_path / "vectors.w2v")
    assert v.meta["format"] == "word2vec-bin"
    np.testing.assert_array_equal(v.matrix, m)
    with gzip.open(tmp_path / "v.bin.gz", "wb") as fh:
        fh.write(data)
    ref = KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin.gz"), binary=True)
    np.testing.assert_array_equal(load(tmp_path / "v.bin.gz").matrix, ref.vectors)


def test_not_a_regular_file(tmp_path):
    import os

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(LoadError, match="is a FIFO, not a regular file"):
        load(fifo)  # refused without opening it (opening a FIFO would block)
    with pytest.raises(LoadError, match="is a device"):
        load("/dev/zero")
