"""Bilingual retrieval over the FAQ: which entries answer a question typed in one's own words.

The method is TF-IDF (Spärck Jones 1972; Salton & Buckley 1988) with cosine
similarity, with one index per language; a query containing Chinese
characters is matched against the Chinese texts, any other query against the
English ones (a Chinese question that mentions "LSTM" or "dropout" still
matches, since the Chinese answers use those terms too).

* Chinese: character 1–3-grams, which need no word segmentation.
* English: character 3–5-grams within words (robust to "normalize" /
  "normalization") plus whole words without stop words.

Each entry contributes a *question* document (its question and its claims) and
an *answer* document; the question document weighs more, because a paraphrased
question resembles questions more than answers. No network, no model download.

A query whose best score is below the language's threshold in
:data:`MIN_SCORE` is reported as matching nothing. The thresholds were chosen
on the paraphrase set (``paraphrases.toml``) between the scores of on-topic and
off-topic questions; :func:`evaluate` measures both sides.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from dlfaq.faq import Entry, load_all

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MIN_SCORE = {"zh": 0.06, "en": 0.09}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = r"(?u)\b[a-zA-Z][a-zA-Z0-9_]+\b"
# (vectorizer settings, weight of the question document, weight of the answer document)
_VIEWS: dict[str, list[tuple[dict, float, float]]] = {
    "zh": [(dict(analyzer="char", ngram_range=(1, 3)), 0.7, 0.3)],
    "en": [
        (dict(analyzer="char_wb", ngram_range=(3, 5)), 0.35, 0.15),
        (dict(analyzer="word", stop_words="english", token_pattern=_WORD), 0.35, 0.15),
    ],
}


_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")


def query_lang(text: str) -> str:
    """``zh`` when the text contains a CJK character, else ``en``."""
    return "zh" if _CJK.search(text) else "en"


@dataclass(frozen=True)
class Hit:
    id: int
    score: float


def _question_doc(e: Entry, lang: str) -> str:
    return "\n".join([e.question.get(lang, "")] + [c.text.get(lang, "") for c in e.claims])


def _answer_doc(e: Entry, lang: str) -> str:
    # measured-number placeholders ({{experiment.metrics.x}}) are paths, not words of the answer
    return _PLACEHOLDER.sub(" ", e.answer.get(lang, ""))


class Index:
    """TF-IDF indexes over the entries, one per language; build once, query many times."""

    def __init__(self, entries: tuple[Entry, ...] | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.entries = tuple(entries if entries is not None else load_all())
        self.ids = [e.id for e in self.entries]
        self._views: dict[str, list[tuple[Any, Any, Any, float, float]]] = {}
        for lang, views in _VIEWS.items():
            qdocs = [_question_doc(e, lang) for e in self.entries]
            adocs = [_answer_doc(e, lang) for e in self.entries]
            built = []
            for kwargs, wq, wa in views:
                vec = TfidfVectorizer(lowercase=True, sublinear_tf=True, **kwargs).fit(qdocs + adocs)
                built.append((vec, vec.transform(qdocs), vec.transform(adocs), wq, wa))
            self._views[lang] = built

    def scores(self, query: str, lang: str | None = None) -> np.ndarray:
        total = np.zeros(len(self.entries))
        for vec, qmat, amat, wq, wa in self._views[lang or query_lang(query)]:
            qv = vec.transform([query])
            if qv.nnz == 0:
                continue
            # rows are L2-normalized by TfidfVectorizer, so the dot product is the cosine
            total += wq * (qmat @ qv.T).toarray().ravel() + wa * (amat @ qv.T).toarray().ravel()
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


def is_match(query: str, hit: Hit) -> bool:
    """Whether ``hit`` scores at least the threshold of the query's language."""
    return hit.score >= MIN_SCORE[query_lang(query)]


def ask(query: str, k: int = 3) -> tuple[list[Hit], bool]:
    """Top-``k`` hits and whether the best one is a confident match."""
    hits = default_index().search(query, k)
    return hits, bool(hits) and is_match(query, hits[0])


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
        ok = bool(hits) and hits[0].id == want and is_match(text, hits[0])
        top1[lang][0] += ok
        top1[lang][1] += 1
        top3 += any(h.id == want for h in hits)
        if not ok:
            misses.append({"question": text, "expected": want, "got": [(h.id, h.score) for h in hits]})
    rejected = sum(1 for _, text in none if not is_match(text, index.search(text, 1)[0]))
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
