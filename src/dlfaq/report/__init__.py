"""Render the FAQ with its evidence as a static bilingual site and as Markdown.

The site is self-contained: one CSS file and a few lines of inline JavaScript
for the zh/en switch, images copied next to the pages, no fonts, scripts or
styles from the network, so it opens from disk. It is written to a temporary
folder and moved into place at the end, so an interrupted run leaves the last
good site untouched.
"""

from dlfaq.report.build import LABELS, build_site, collect, question_view

__all__ = ["LABELS", "build_site", "collect", "question_view"]
