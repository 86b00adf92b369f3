"""The knowledge base: one Markdown file per question with a TOML front matter.

File layout (``qNN.md``)::

    +++
    id = 3
    slug = "cnn-feature-map-size"
    api = ["dlfaq.shapes.output_shape"]
    references = ["Dumoulin & Visin (2016), A guide to convolution arithmetic"]

    [question]
    zh = "..."
    en = "..."

    [[claims]]
    id = "q03.conv-output-formula"
    tested_by = "q03.feature-map-sizes"     # optional: the experiment that judges it
    [claims.text]
    zh = "..."
    en = "..."
    +++
    <!-- zh -->
    Chinese answer, Markdown.
    <!-- en -->
    English answer, Markdown.

A claim is one checkable statement of the seed page's answer, paraphrased.
``tested_by`` names the experiment (``qNN.name``) that computes its verdict; a
claim without it is shown as "not yet tested".
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LANGS = ("zh", "en")
_FRONT = re.compile(r"\A\+\+\+\s*\n(.*?)\n\+\+\+\s*\n(.*)\Z", re.S)
_LANG_MARK = re.compile(r"^<!--\s*(zh|en)\s*-->\s*$", re.M)
_CLAIM_ID = re.compile(r"^q(\d{2})\.[a-z0-9][a-z0-9-]*$")


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is malformed."""


@dataclass(frozen=True)
class Claim:
    id: str
    text: dict[str, str]
    tested_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": dict(self.text), "tested_by": self.tested_by}


@dataclass(frozen=True)
class Entry:
    id: int
    slug: str
    question: dict[str, str]
    answer: dict[str, str]
    claims: tuple[Claim, ...]
    api: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def experiments(self) -> list[str]:
        """Experiments that test this entry's claims, in order of first mention."""
        seen: list[str] = []
        for c in self.claims:
            if c.tested_by and c.tested_by not in seen:
                seen.append(c.tested_by)
        return seen

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "question": dict(self.question),
            "answer": dict(self.answer),
            "claims": [c.to_json() for c in self.claims],
            "experiments": self.experiments,
            "api": list(self.api),
            "references": list(self.references),
        }


def _split_answer(body: str, where: str) -> dict[str, str]:
    parts = _LANG_MARK.split(body)
    # parts = [before, lang1, text1, lang2, text2, ...]
    if parts[0].strip():
        raise KnowledgeBaseError(f"{where}: text before the first <!-- zh --> / <!-- en --> marker")
    out: dict[str, str] = {}
    for lang, text in zip(parts[1::2], parts[2::2], strict=True):
        if lang in out:
            raise KnowledgeBaseError(f"{where}: answer for {lang!r} given twice")
        out[lang] = text.strip()
    return out


def parse_entry(text: str, where: str = "<string>") -> Entry:
    """Parse one knowledge-base file; raise :class:`KnowledgeBaseError` when malformed."""
    m = _FRONT.match(text)
    if not m:
        raise KnowledgeBaseError(f"{where}: missing +++ TOML front matter +++")
    try:
        meta = tomllib.loads(m.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeBaseError(f"{where}: bad TOML front matter: {exc}") from exc
    try:
        qid = int(meta["id"])
        slug = str(meta["slug"])
        question = {k: str(v) for k, v in meta["question"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise KnowledgeBaseError(f"{where}: front matter needs id, slug and [question]: {exc}") from exc
    claims = []
    for c in meta.get("claims", []):
        try:
            claims.append(
                Claim(id=str(c["id"]), text={k: str(v) for k, v in c["text"].items()}, tested_by=c.get("tested_by"))
            )
        except (KeyError, TypeError) as exc:
            raise KnowledgeBaseError(f"{where}: a claim needs id and [claims.text]: {exc}") from exc
    known = {"id", "slug", "question", "claims", "api", "references"}
    return Entry(
        id=qid,
        slug=slug,
        question=question,
        answer=_split_answer(m.group(2), where),
        claims=tuple(claims),
        api=tuple(meta.get("api", [])),
        references=tuple(meta.get("references", [])),
        extra={k: v for k, v in meta.items() if k not in known},
    )


def validate_entry(entry: Entry) -> list[str]:
    """Problems with one entry (empty list when complete in both languages)."""
    problems = []
    where = f"q{entry.id:02d}"
    if not 1 <= entry.id <= 18:
        problems.append(f"{where}: id out of range")
    for lang in LANGS:
        if not entry.question.get(lang, "").strip():
            problems.append(f"{where}: question missing in {lang}")
        if len(entry.answer.get(lang, "").strip()) < 80:
            problems.append(f"{where}: answer missing or too short in {lang}")
    if not entry.claims:
        problems.append(f"{where}: no claims")
    for c in entry.claims:
        m = _CLAIM_ID.match(c.id)
        if not m or int(m.group(1)) != entry.id:
            problems.append(f"{where}: bad claim id {c.id!r} (expected q{entry.id:02d}.kebab-case)")
        for lang in LANGS:
            if not c.text.get(lang, "").strip():
                problems.append(f"{where}: claim {c.id} missing text in {lang}")
        if c.tested_by is not None and not c.tested_by.startswith(f"q{entry.id:02d}."):
            problems.append(f"{where}: claim {c.id} tested_by {c.tested_by!r} is not an experiment of this question")
    return problems


@lru_cache(maxsize=1)
def load_all() -> tuple[Entry, ...]:
    """All entries, sorted by id."""
    entries = []
    root = resources.files(__name__)
    for item in sorted(root.iterdir(), key=lambda p: p.name):
        if re.fullmatch(r"q\d{2}\.md", item.name):
            entries.append(parse_entry(item.read_text(encoding="utf-8"), where=item.name))
    return tuple(sorted(entries, key=lambda e: e.id))


def get_entry(qid: int) -> Entry:
    for e in load_all():
        if e.id == qid:
            return e
    raise KeyError(f"no FAQ entry with id {qid} (valid ids: 1-18)")


def all_claims() -> dict[str, Claim]:
    return {c.id: c for e in load_all() for c in e.claims}
