"""Measured numbers in the answers: placeholders filled from the saved evidence.

An answer never types a measured number; it names it::

    {{dropout-sweeps.metrics.wide_gain}}            a value of experiment q07.dropout-sweeps
    {{dropout-sweeps.metrics.acc.3:.1%}}            with a Python format spec after ':'
    {{claim:q07.reduces-overfitting.effect:+.1f}}   a field of a claim's verdict record
    {{claim:q07.reduces-overfitting.ci.0:+.1f}}     (effect, ci.0, ci.1, n, margin, verdict)

The first form names an experiment of the same question by its short name and
then a dotted path into its ``evidence.json`` (``metrics``, ``timings``,
``tables``...; list items by index). Numbers are formatted with the spec
(default ``.3g``); strings are inserted as they are. When the evidence is
missing the placeholder renders as ``⟨not measured yet⟩`` / ``〔尚未测量〕`` (no square
brackets: next to a parenthesis they would make a Markdown link).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*(?P<body>[^{}]+?)\s*\}\}")
_CLAIM = re.compile(r"^claim:(?P<claim>q\d{2}\.[a-z0-9][a-z0-9-]*)\.(?P<path>[A-Za-z0-9_.-]+?)(?::(?P<fmt>[^:]+))?$")
_EXP = re.compile(r"^(?P<exp>[a-z0-9][a-z0-9-]*)\.(?P<path>[A-Za-z0-9_.-]+?)(?::(?P<fmt>[^:]+))?$")

MISSING = {"en": "⟨not measured yet⟩", "zh": "〔尚未测量〕"}
#: A verdict quoted into prose reads in the answer's language.
VERDICT_WORDS = {
    "supported": {"en": "supported", "zh": "成立"},
    "partly": {"en": "partly supported", "zh": "部分成立"},
    "contradicted": {"en": "contradicted", "zh": "不成立"},
    "inconclusive": {"en": "inconclusive", "zh": "无法判定"},
}


class QuoteError(ValueError):
    """A placeholder is malformed or names nothing in the evidence."""


@dataclass(frozen=True)
class Placeholder:
    text: str  # the whole "{{...}}"
    experiment: str | None  # short name, or None for a claim field
    claim: str | None
    path: tuple[str, ...]
    fmt: str


def parse(text: str) -> list[Placeholder]:
    """Every placeholder in ``text``; raise :class:`QuoteError` for a malformed one."""
    out = []
    for m in _PLACEHOLDER.finditer(text):
        body = m.group("body")
        c = _CLAIM.match(body)
        if c:
            out.append(Placeholder(m.group(0), None, c.group("claim"), tuple(c.group("path").split(".")),
                                   c.group("fmt") or ".3g"))
            continue
        e = _EXP.match(body)
        if e:
            out.append(Placeholder(m.group(0), e.group("exp"), None, tuple(e.group("path").split(".")),
                                   e.group("fmt") or ".3g"))
            continue
        raise QuoteError(f"malformed placeholder {m.group(0)!r}: expected {{{{experiment.path[:fmt]}}}} "
                         "or {{claim:CLAIM.field[:fmt]}}")
    return out


def strip(text: str) -> str:
    """``text`` with every placeholder removed (for checks on the typed prose)."""
    return _PLACEHOLDER.sub(" ", text)


# A typed measured number: a decimal, a number with thousands separators, or any number with
# a percent / times sign. Integers alone (layer counts, years, T = 20) are not flagged.
_TYPED = re.compile(
    r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+\.\d+|\d+)(?:\s*(?:%|×|倍|x(?![A-Za-z])))"
    r"|(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+\.\d+)(?![\w.])"
)


def typed_numbers(text: str) -> list[str]:
    """Numbers typed into prose (outside placeholders, code spans, maths and link targets).

    An answer may type a number only when it is cited from the literature or
    is a setting, not a measurement; such numbers are listed in the entry's
    ``cited_numbers`` front-matter key, and a test rejects any other.
    """
    t = strip(text)
    t = re.sub(r"`[^`]*`", " ", t)
    t = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", t, flags=re.S)
    t = re.sub(r"\]\([^)]*\)", "]", t)
    return [m.group(0).strip() for m in _TYPED.finditer(t)]


def _walk(obj: Any, path: tuple[str, ...], where: str) -> Any:
    for key in path:
        if isinstance(obj, Mapping):
            if key not in obj:
                raise QuoteError(f"{where}: no key {key!r} (have {sorted(obj)[:12]})")
            obj = obj[key]
        elif isinstance(obj, list):
            try:
                obj = obj[int(key)]
            except (ValueError, IndexError) as exc:
                raise QuoteError(f"{where}: bad list index {key!r} (length {len(obj)})") from exc
        else:
            raise QuoteError(f"{where}: cannot index {type(obj).__name__} with {key!r}")
    return obj


def value(p: Placeholder, question: int, records: Mapping[str, Mapping[str, Any]]) -> Any:
    """The raw value a placeholder names; ``records`` maps ``qNN.short`` to saved evidence."""
    if p.claim is not None:
        if int(p.claim[1:3]) != question:
            raise QuoteError(f"{p.text}: claim of another question")
        for rec in records.values():
            for v in rec.get("verdicts", []) or []:
                if isinstance(v, Mapping) and v.get("claim") == p.claim:
                    return _walk(v, p.path, p.text)
        raise QuoteError(f"{p.text}: no verdict for {p.claim} in the evidence")
    name = f"q{question:02d}.{p.experiment}"
    if name not in records:
        raise QuoteError(f"{p.text}: no evidence for experiment {name}")
    return _walk(records[name], p.path, p.text)


def format_value(v: Any, fmt: str) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, (int, float, str)):
            return str(v)
        raise QuoteError(f"placeholder names a {type(v).__name__}, not a number or a string")
    try:
        return format(v, fmt)
    except ValueError as exc:
        raise QuoteError(f"bad format spec {fmt!r}: {exc}") from exc


def render(text: str, question: int, records: Mapping[str, Mapping[str, Any]], lang: str = "en",
           strict: bool = False) -> str:
    """Fill every placeholder of ``text``; with ``strict`` a placeholder that names nothing raises."""
    def sub(m: re.Match[str]) -> str:
        (p,) = parse(m.group(0))
        try:
            v = value(p, question, records)
            if p.claim is not None and p.path[-1] == "verdict" and lang in VERDICT_WORDS.get(str(v), {}):
                return VERDICT_WORDS[str(v)][lang]
            return format_value(v, p.fmt)
        except QuoteError:
            if strict:
                raise
            return MISSING.get(lang, MISSING["en"])

    return _PLACEHOLDER.sub(sub, text)


def records_for(question: int, experiments: list[str], results_dir: Path | str) -> dict[str, dict[str, Any]]:
    """Saved evidence (status ok) of ``experiments`` under ``results_dir``, keyed by name."""
    from dlfaq.experiments import load_evidence

    out = {}
    for name in experiments:
        rec = load_evidence(results_dir, name)
        if isinstance(rec, dict) and rec.get("status") == "ok":
            out[name] = rec
    return out
