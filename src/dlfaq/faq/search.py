"""Bilingual retrieval over the FAQ: which entries answer a question typed in one's own words.

The method is TF-IDF (Spärck Jones 1972; Salton & Buckley 1988) with cosine
similarity, over two views of each entry:

* character 1–3-grams, which need no word segmentation and so work for Chinese
  as well as for English morphology ("normalization" / "normalize");
* English words (lower-cased, stop words removed).

Each entry contributes a *question* document (its question in both languages,
its slug and its claims) and an *answer* document. A query's score for an entry
is a weighted mean of the four cosine similarities (2 views × 2 documents);
the question document weighs more because paraphrased questions resemble
questions more than answers. No network, no model download.

A query whose best score is below :data:`MIN_SCORE` is reported as matching
nothing: the threshold was set on the off-topic questions of
``paraphrases.toml`` (see :func:`evaluate`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from dlfaq.faq import Entry, load_all

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MIN_SCORE = 0.12
_WEIGHTS = {("char", "q"): 0.35, ("char", "a"): 0.15, ("word", "q"): 0.35, ("word", "a"): 0.15}


@dataclass(frozen=True)
class Hit:
    id: int
    score: float


def _question_doc(e: Entry) -> str:
    parts = [e.question.get("zh", ""), e.question.get("en", ""), e.slug.replace("-", " ")]
    parts += [c.text.get(lang, "") for c in e.claims for lang in ("zh", "en")]
    return "\n".join(parts)


def _answer_doc(e: Entry) -> str:
    return "\n".join(e.answer.get(lang, "") for lang in ("zh", "en"))


class Index:
    """A TF-IDF index over entries; build once, query many times."""

    def __init__(self, entries: tuple[Entry, ...] | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.entries = tuple(entries if entries is not None else load_all())
        self.ids = [e.id for e in self.entries]
        docs = {"q": [_question_doc(e) for e in self.entries], "a": [_answer_doc(e) for e in self.entries]}
        self._vec = {
            "char": TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=True, sublinear_tf=True),
            "word": TfidfVectorizer(
                analyzer="word", lowercase=True, stop_words="english", sublinear_tf=True,
                token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9_]+\b",
            ),
        }  # fmt: skip
        # Fit each view's vocabulary and idf on both documents of every entry.
        self._mats = {}
        for view, vec in self._vec.items():
            vec.fit(docs["q"] + docs["a"])
            for field, texts in docs.items():
                self._mats[(view, field)] = vec.transform(texts)

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(len(self.entries))
        for (view, field), w in _WEIGHTS.items():
            qv = self._vec[view].transform([query])
            if qv.nnz == 0:
                continue
            # rows are L2-normalized by TfidfVectorizer, so the dot product is the cosine
            total += w * (self._mats[(view, field)] @ qv.T).toarray().ravel()
        return total

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The ``k`` best entries, best first (scores in [0, 1])."""
        if not query.strip():
            return []
        s = self.scores(query)
        order = np.argsort(-s, kind="stable")[:k]
        return [Hit(self.ids[i], round(float(s[i]), 4)) for i in order]


@lru_cache(maxsize=1)
def default_index() -> Index:
    return Index()


def ask(query: str, k: int = 3) -> tuple[list[Hit], bool]:
    """Top-``k`` hits and whether the best one is a confident match (score ≥ MIN_SCORE)."""
    hits = default_index().search(query, k)
    return hits, bool(hits) and hits[0].score >= MIN_SCORE


def load_paraphrases() -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
    """(lang, question, expected id) triples, and the off-topic (lang, question) pairs."""
    raw = tomllib.loads(resources.files("dlfaq.faq").joinpath("paraphrases.toml").read_text(encoding="utf-8"))
    items = [(lang, text, int(q["id"])) for q in raw["q"] for lang in ("en", "zh") for text in q.get(lang, [])]
    none = [(lang, text) for lang in ("en", "zh") for text in raw.get("none", {}).get(lang, [])]
    return items, none


def evaluate(index: Index | None = None) -> dict:
    """Top-1 / top-3 accuracy on the paraphrase set, and how the off-topic questions fare."""
    index = index or default_index()
    items, none = load_paraphrases()
    top1 = {"en": [0, 0], "zh": [0, 0]}
    top3 = 0
    misses = []
    for lang, text, want in items:
        hits = index.search(text, 3)
        ok = bool(hits) and hits[0].id == want and hits[0].score >= MIN_SCORE
        top1[lang][0] += ok
        top1[lang][1] += 1
        top3 += any(h.id == want for h in hits)
        if not ok:
            misses.append({"question": text, "expected": want, "got": [(h.id, h.score) for h in hits]})
    rejected = sum(1 for _, text in none if index.search(text, 1)[0].score < MIN_SCORE)
    n = len(items)
    return {
        "n": n,
        "top1": (top1["en"][0] + top1["zh"][0]) / n,
        "top1_en": top1["en"][0] / top1["en"][1],
        "top1_zh": top1["zh"][0] / top1["zh"][1],
        "top3": top3 / n,
        "off_topic": len(none),
        "off_topic_rejected": rejected,
        "misses": misses,
    }
