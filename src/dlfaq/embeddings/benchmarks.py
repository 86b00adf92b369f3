"""Word-embedding benchmark data sets, read from the files shipped in gensim's wheel.

The research suites' original download links have mostly rotted; gensim's
wheel still carries three standard files under ``gensim/test/test_data``:

- ``questions-words.txt``: the Google analogy set of Mikolov et al. (2013),
  *Efficient Estimation of Word Representations in Vector Space*: 19,544
  questions ``a b c d`` ("a is to b as c is to d") in 14 sections, the first five
  semantic, the ``gram*`` ones syntactic.
- ``wordsim353.tsv``: WordSim-353 (Finkelstein et al., 2002), relatedness
  judgements 0-10 for 353 word pairs.
- ``simlex999.txt``: SimLex-999 (Hill, Reichart & Korhonen, 2015), similarity
  (not relatedness) judgements 0-10 for 999 pairs.

Categorization sets are not shipped anywhere offline, so :func:`categories`
derives them from the analogy sections: every column of a section holds words
of one kind (countries, capitals, currencies, US states, US cities, family
words, adverbs, nationality adjectives, past-tense verbs, plural nouns). A word
that falls in two categories (Georgia is a country and a US state) is dropped
from both, so every word has exactly one gold label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ANALOGY = "google-analogy"
RELATEDNESS = ("wordsim353", "simlex999")
_FILES = {
    ANALOGY: "questions-words.txt",
    "questions-words": "questions-words.txt",
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
}
SEMANTIC_SECTIONS = (
    "capital-common-countries",
    "capital-world",
    "currency",
    "city-in-state",
    "family",
)

# category name -> (analogy section, columns holding that kind of word)
CATEGORY_SOURCES: dict[str, tuple[str, tuple[int, ...]]] = {
    "country": ("capital-world", (1, 3)),
    "capital": ("capital-world", (0, 2)),
    "currency": ("currency", (1, 3)),
    "us-state": ("city-in-state", (1, 3)),
    "us-city": ("city-in-state", (0, 2)),
    "family": ("family", (0, 1, 2, 3)),
    "adverb": ("gram1-adjective-to-adverb", (1, 3)),
    "nationality": ("gram6-nationality-adjective", (1, 3)),
    "past-tense": ("gram7-past-tense", (1, 3)),
    "plural-noun": ("gram8-plural", (1, 3)),
}


def data_dir() -> Path:
    """gensim's ``test/test_data`` folder (needs the ``embeddings`` extra)."""
    try:
        import gensim
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the benchmark files ship with gensim; install them with: pip install 'dlfaq[embeddings]'"
        ) from exc
    return Path(os.path.dirname(gensim.__file__)) / "test" / "test_data"


def dataset_path(name: str | os.PathLike[str]) -> Path:
    """Resolve ``"google-analogy"``, ``"wordsim353"``, ``"simlex999"`` or a path."""
    key = str(name).lower()
    if key in _FILES and not os.path.exists(str(name)):
        return data_dir() / _FILES[key]
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"no data set {str(name)!r}: give a file or one of {sorted(_FILES)}"
        )
    return path


@dataclass
class AnalogySection:
    name: str
    questions: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def semantic(self) -> bool:
        return not self.name.startswith("gram")


def read_analogies(path: str | os.PathLike[str] | None = None) -> list[AnalogySection]:
    """Sections of an analogy file in gensim's format (``: name`` lines start a section).

    Lines that do not hold exactly four words are skipped, as gensim does; a
    question before the first section header is an error.
    """
    p = dataset_path(path if path is not None else ANALOGY)
    sections: list[AnalogySection] = []
    with open(p, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.decode("utf-8", errors="replace")
            if line.startswith(": "):
                sections.append(AnalogySection(line.lstrip(": ").strip()))
                continue
            if not sections:
                raise ValueError(f"{p}:{lineno}: question before the first ': section' line")
            parts = line.split()
            if len(parts) == 4:
                sections[-1].questions.append((parts[0], parts[1], parts[2], parts[3]))
    return sections


def read_pairs(
    path: str | os.PathLike[str], delimiter: str = "\t"
) -> list[tuple[str, str, float]]:
    """Word pairs with a human score, one ``word1<TAB>word2<TAB>score`` per line.

    ``#`` comment lines and lines that do not parse are skipped, as in gensim's
    ``evaluate_word_pairs``.
    """
    p = dataset_path(path)
    pairs: list[tuple[str, str, float]] = []
    with open(p, encoding="utf-8") as fh:
        for line in fh:
            if not line or line.startswith("#"):
                continue
            parts = line.split(delimiter)
            if len(parts) != 3:
                continue
            try:
                score = float(parts[2])
            except ValueError:
                continue
            pairs.append((parts[0], parts[1], score))
    return pairs


def categories(
    path: str | os.PathLike[str] | None = None,
    *,
    names: tuple[str, ...] | None = None,
    lower: bool = True,
) -> dict[str, list[str]]:
    """Word categories derived from the analogy sections (see the module docstring).

    Returns ``{category: words}`` with words in first-seen order, lower-cased
    by default; words claimed by two categories are removed from both.
    """
    sections = {s.name: s for s in read_analogies(path)}
    chosen = names or tuple(CATEGORY_SOURCES)
    raw: dict[str, list[str]] = {}
    for cat in chosen:
        if cat not in CATEGORY_SOURCES:
            raise ValueError(f"unknown category {cat!r}; known: {sorted(CATEGORY_SOURCES)}")
        sec_name, cols = CATEGORY_SOURCES[cat]
        if sec_name not in sections:
            raise ValueError(f"the analogy file has no section {sec_name!r}")
        seen: dict[str, None] = {}
        for q in sections[sec_name].questions:
            for c in cols:
                w = q[c].lower() if lower else q[c]
                seen.setdefault(w, None)
        raw[cat] = list(seen)
    owner: dict[str, set[str]] = {}
    for cat, words in raw.items():
        for w in words:
            owner.setdefault(w, set()).add(cat)
    return {cat: [w for w in words if len(owner[w]) == 1] for cat, words in raw.items()}


__all__ = [
    "ANALOGY",
    "CATEGORY_SOURCES",
    "RELATEDNESS",
    "SEMANTIC_SECTIONS",
    "AnalogySection",
    "categories",
    "data_dir",
    "dataset_path",
    "read_analogies",
    "read_pairs",
]
