"""Reading the built site as a reader sees it: visible text outside code, maths and the bibliography."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: English function words (and the evidence words the issue names) that betray untranslated text.
FUNCTION_WORDS = frozenset("""
a an the of and or to in on at by for with from into over under per than then that this these those
is are was were be been being it its their there which who whose when where while if not no every each
all both only also but as seed seeds supported contradicted inconclusive partly
""".split())
_SKIP = {"code", "pre", "math", "script", "style", "head"}


class VisibleText(HTMLParser):
    """Text of a page outside code, pre, maths, scripts and ``class="refs"`` sections."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "meta", "link", "input", "hr", "mspace"):
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in _SKIP or "refs" in classes
        self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if not any(skip for _, skip in self.stack):
            self.chunks.append(data)


def visible_text(page_html: str) -> str:
    p = VisibleText()
    p.feed(page_html)
    return " ".join(p.chunks)


def english_function_words(page_html: str) -> list[str]:
    """English function words in the visible text. Identifiers (``fan_in``, ``not-on-sys-path``) are one token, and a
    single letter is a variable or a label (``A``, ``(a)``), not the article."""
    words = re.findall(r"[A-Za-z_]+(?:-[A-Za-z_]+)*", visible_text(page_html))
    return [w for w in words if len(w) > 1 and w.lower() in FUNCTION_WORDS]
