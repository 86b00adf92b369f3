"""LaTeX in the answers, typeset as MathML when the site is built (no maths JavaScript).

An answer writes inline maths as ``$...$`` and display maths as ``$$...$$``
(outside code spans and fenced code). :func:`render_markdown` renders the
Markdown with every formula replaced by the MathML ``latex2mathml`` makes of it;
the ``alttext`` attribute keeps the LaTeX, so a reader or a browser without
MathML still gets readable text. :func:`plain` gives the same text with the
dollar signs dropped, for search and Markdown output.
"""

from __future__ import annotations

import html
import re

# Code first (so a `$` inside code is left alone), then display, then inline maths.
_TOKENS = re.compile(
    r"(?P<fence>^```.*?^```[ \t]*$)"
    r"|(?P<code>`[^`\n]+`)"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$\w])\$(?P<inline>[^$\n]+?)\$(?![\w$])",
    re.S | re.M,
)
_MARK = "DLFAQMATH{}X"
_UNKNOWN = re.compile(r"<m[ion]>\\[A-Za-z]")


def spans(text: str) -> list[tuple[str, bool]]:
    """The formulas of ``text`` as ``(latex, display)`` in order (code is skipped)."""
    out = []
    for m in _TOKENS.finditer(text):
        if m.group("display") is not None:
            out.append((m.group("display").strip(), True))
        elif m.group("inline") is not None:
            out.append((m.group("inline").strip(), False))
    return out


def to_mathml(latex: str, display: bool = False) -> str:
    """One formula as a ``<math>`` element; a formula latex2mathml cannot parse stays as escaped text."""
    from latex2mathml.converter import convert

    try:
        out = convert(latex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises plain exceptions on malformed input
        return f'<code class="tex">{html.escape(latex)}</code>'
    if _UNKNOWN.search(out):  # an unknown command comes through as the literal "\\name"
        return f'<code class="tex">{html.escape(latex)}</code>'
    return out.replace("<math ", f'<math alttext="{html.escape(latex, quote=True)}" ', 1)


def protect(text: str) -> tuple[str, list[str]]:
    """``text`` with each formula replaced by a marker, and the MathML of each marker."""
    rendered: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group("display") is None and m.group("inline") is None:
            return m.group(0)
        display = m.group("display") is not None
        rendered.append(to_mathml((m.group("display") or m.group("inline")).strip(), display))
        return _MARK.format(len(rendered) - 1)

    return _TOKENS.sub(sub, text), rendered


def restore(html_text: str, rendered: list[str]) -> str:
    for i in range(len(rendered) - 1, -1, -1):  # DLFAQMATH1X before DLFAQMATH10X cannot clash: X ends it
        html_text = html_text.replace(_MARK.format(i), rendered[i])
    return html_text


def plain(text: str) -> str:
    """The text with ``$``/``$$`` delimiters dropped (the LaTeX itself stays, readable as it is)."""
    def sub(m: re.Match[str]) -> str:
        if m.group("display") is not None:
            return m.group("display").strip()
        if m.group("inline") is not None:
            return m.group("inline").strip()
        return m.group(0)

    return _TOKENS.sub(sub, text)
