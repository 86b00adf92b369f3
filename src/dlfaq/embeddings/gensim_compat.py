"""A gensim ``KeyedVectors`` whose loading and evaluation are dlfaq's.

:class:`KeyedVectors` subclasses ``gensim.models.KeyedVectors`` (so everything
else — ``most_similar``, saving, training containers — is gensim's own) and
replaces four methods with dlfaq's implementations behind gensim's
signatures and return values:

- :meth:`KeyedVectors.load_word2vec_format`: :func:`dlfaq.embeddings.io.load`
  (stricter: damaged files are refused with a :class:`~dlfaq.embeddings.io.LoadError`
  naming the line; gensim's arguments ``fvocab``, ``binary``, ``encoding``,
  ``unicode_errors``, ``limit``, ``datatype``, ``no_header``);
- :meth:`KeyedVectors.evaluate_word_analogies`:
  :func:`dlfaq.embeddings.evaluate.evaluate_word_analogies`;
- :meth:`KeyedVectors.evaluate_word_pairs`:
  :func:`dlfaq.embeddings.evaluate.evaluate_word_pairs`;
- :meth:`KeyedVectors.most_similar`: the ranking of
  :func:`dlfaq.embeddings.io.gensim_rank_weighted` (gensim's scores and tie order).

It exists so that gensim's own test files can run against dlfaq with only
their imports changed (``tests/peers/run_gensim_tests.py``), and for users who
want dlfaq's loaders in gensim code. Needs gensim (the ``embeddings`` extra).
"""

from __future__ import annotations

import os
import sys
from numbers import Integral
from typing import Any

import numpy as np
from gensim.models import keyedvectors as _gkv

from dlfaq.embeddings import evaluate as _ev
from dlfaq.embeddings.io import LoadDecodeError, LoadError, Vectors, gensim_rank_weighted, load

REAL = np.float32
_EXTENDED_KEYS = (str, int, np.integer, np.ndarray)


def _as_list(value: Any) -> list[Any]:
    """gensim's reading of ``positive`` / ``negative``: None, one key or vector, or a list."""
    if value is None:
        return []
    if isinstance(value, (str, int, np.integer)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    return list(value)


def _read_counts(fvocab: str | os.PathLike[str], encoding: str, unicode_errors: str) -> dict[str, int]:
    """The ``word count`` lines of word2vec's ``-save-vocab`` file."""
    counts: dict[str, int] = {}
    with open(fvocab, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                text = raw.decode(encoding, errors=unicode_errors)
            except UnicodeDecodeError as exc:
                raise LoadDecodeError(f"{fvocab}:{lineno}: invalid {encoding} in the vocabulary file",
                                      exc) from None
            parts = text.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit():
                raise LoadError(f"{fvocab}:{lineno}: expected 'word count', got {text.strip()[:60]!r}")
            counts[parts[0]] = int(parts[1])
    return counts


def _load_word2vec_format(
    cls: Any,
    fname: str | os.PathLike[str],
    fvocab: str | os.PathLike[str] | None = None,
    binary: bool = False,
    encoding: str = "utf8",
    unicode_errors: str = "strict",
    limit: int | None = sys.maxsize,
    datatype: Any = REAL,
    no_header: bool = False,
    binary_chunk_size: int = 100 * 1024,
) -> Any:
    """gensim's ``_load_word2vec_format`` with dlfaq's reader (``binary_chunk_size`` has no effect)."""
    del binary_chunk_size  # dlfaq's binary reader picks its own buffer size
    counts = _read_counts(fvocab, encoding, unicode_errors) if fvocab is not None else None
    if no_header and binary:
        raise NotImplementedError("no_header only available for text-format files")
    vec: Vectors = load(fname, binary=bool(binary), no_header=no_header, encoding=encoding,
                        unicode_errors=unicode_errors, limit=limit or None, datatype=datatype)
    kv = cls(vec.dim, 0, dtype=datatype)
    kv.add_vectors(vec.words, vec.matrix)
    n = len(vec.words)
    declared = vec.meta.get("declared") or n
    size = min(declared, limit) if limit else declared
    if counts is None:
        # like gensim: made-up counts in descending order
        values = np.arange(size, size - n, -1, dtype=np.int64)
    else:
        values = np.asarray([counts.get(w, 0) for w in vec.words], dtype=np.int64)
    kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
    kv.expandos["count"][:n] = values
    return kv


class KeyedVectors(_gkv.KeyedVectors):
    """gensim's ``KeyedVectors`` with dlfaq's loader and evaluations (see the module docstring)."""

    @classmethod
    def load_word2vec_format(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return _load_word2vec_format(cls, *args, **kwargs)

    def most_similar(  # type: ignore[override]
        self,
        positive: Any = None,
        negative: Any = None,
        topn: int | None = 10,
        clip_start: int = 0,
        clip_end: int | None = None,
        restrict_vocab: int | None = None,
        indexer: Any = None,
    ) -> Any:
        """gensim's ``most_similar`` with the ranking computed by
        :func:`dlfaq.embeddings.io.gensim_rank_weighted` (keys resolved by gensim)."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        positive = _as_list(positive)
        negative = _as_list(negative)
        self.fill_norms()
        clip_end = clip_end or len(self.vectors)
        if restrict_vocab:
            clip_start, clip_end = 0, restrict_vocab
        terms: list[tuple[Any, float]] = []
        for sign, items in ((1.0, positive), (-1.0, negative)):
            for item in items:
                key, weight = (item, sign) if isinstance(item, _EXTENDED_KEYS) else (item[0], item[1])
                if isinstance(key, np.ndarray):
                    terms.append((key, weight))
                elif self.__contains__(key):
                    terms.append((self.get_index(key), weight))
                else:
                    raise KeyError(f"Key '{key}' not present in vocabulary")
        if indexer is not None and isinstance(topn, int):
            return super().most_similar(positive, negative, topn, clip_start, clip_end,
                                        restrict_vocab, indexer)
        order, dists = gensim_rank_weighted(self.vectors, self.norms, terms, clip_start, clip_end,
                                            topn if topn else None)
        if not topn:
            return dists
        return [(self.index_to_key[i], float(dists[i - clip_start])) for i in order]

    def _as_vectors(self) -> Vectors:
        return Vectors(list(self.index_to_key), self.vectors, dtype=self.vectors.dtype,
                       meta={"format": "gensim"})

    def evaluate_word_analogies(  # type: ignore[override]
        self,
        analogies: str | os.PathLike[str],
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
        similarity_function: str = "most_similar",
    ) -> tuple[float, list[dict[str, Any]]]:
        return _ev.evaluate_word_analogies(self._as_vectors(), analogies, restrict_vocab=restrict_vocab,
                                           case_insensitive=case_insensitive,
                                           dummy4unknown=dummy4unknown,
                                           similarity_function=similarity_function)

    def evaluate_word_pairs(  # type: ignore[override]
        self,
        pairs: str | os.PathLike[str],
        delimiter: str = "\t",
        encoding: str = "utf8",
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[Any, Any, float]:
        return _ev.evaluate_word_pairs(self._as_vectors(), pairs, delimiter=delimiter, encoding=encoding,
                                       restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
                                       dummy4unknown=dummy4unknown)


def load_word2vec_format(*args: Any, **kwargs: Any) -> Any:
    """Alias of :meth:`KeyedVectors.load_word2vec_format`, as gensim has one."""
    return KeyedVectors.load_word2vec_format(*args, **kwargs)


__all__ = ["KeyedVectors", "load_word2vec_format"]
