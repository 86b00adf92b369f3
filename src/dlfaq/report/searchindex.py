"""The site's offline search: an inverted index built here, queried by ``search.js``.

The index is written as ``search-index.js`` (``window.DLFAQ_INDEX = {...}``), not as
JSON, because a page opened from ``file://`` may not ``fetch()`` a file next to it.
Words of Latin script are lower-cased tokens (the query matches them by prefix);
Chinese has no spaces, so runs of CJK characters are cut into overlapping
character bigrams (and a lone character is its own token), the usual way to
index CJK text without a dictionary (e.g. Lucene's CJKAnalyzer). ``search.js``
tokenizes the query with the same rules; :func:`search` is the same ranking in
Python, used by the tests.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass

_RUN = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9]")
#: Weight of a token in a document's title against its body.
TITLE_WEIGHT = 3


def tokens(text: str) -> list[str]:
    """Search tokens of ``text``: Latin words, CJK character bigrams (a single CJK character alone)."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        if _LATIN.match(run):
            out.append(run)
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


@dataclass
class Doc:
    url: str
    title: str
    lang: str
    body: str
    kind: str = "question"  # or "claim"


def build(docs: list[Doc]) -> dict:
    """The index: documents (url, title, language, snippet) and, per token, ``[[doc, weight], ...]``."""
    terms: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    out_docs = []
    for i, d in enumerate(docs):
        for t in tokens(d.title):
            terms[t][i] += TITLE_WEIGHT
        for t in tokens(d.body):
            terms[t][i] += 1
        snippet = re.sub(r"\s+", " ", d.body).strip()
        out_docs.append({"u": d.url, "t": d.title, "l": d.lang, "k": d.kind, "s": snippet[:160]})
    return {"docs": out_docs, "terms": {t: sorted(ds.items()) for t, ds in sorted(terms.items())}}


def to_js(index: dict) -> str:
    return "window.DLFAQ_INDEX = " + json.dumps(index, ensure_ascii=False, separators=(",", ":")) + ";\n"


def search(index: dict, query: str, lang: str | None = None, limit: int = 10) -> list[dict]:
    """Documents holding every query token (Latin tokens by prefix), best first; as ``search.js`` does."""
    qt = tokens(query)
    if not qt:
        return []
    scores: dict[int, int] | None = None
    for t in dict.fromkeys(qt):
        keys = [k for k in index["terms"] if k.startswith(t)] if _LATIN.match(t) else [t]
        hit: dict[int, int] = defaultdict(int)
        for k in keys:
            for doc, w in index["terms"].get(k, []):
                hit[doc] += w
        scores = dict(hit) if scores is None else {d: s + hit[d] for d, s in scores.items() if d in hit}
    ranked = sorted((scores or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    docs = [index["docs"][d] for d, _ in ranked]
    if lang is not None:
        docs = [d for d in docs if d["l"] == lang]
    return docs[:limit]
