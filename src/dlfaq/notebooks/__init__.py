"""One Jupyter notebook per question: the question's experiment, step by step, with the public API.

``dlfaq notebook N`` (and the site, through :func:`write_notebook`) writes ``qNN.ipynb``: load the
data, build the model, train it with :func:`dlfaq.train.loop.fit`, measure, compute the oriented
effect and its 95 % interval with :mod:`dlfaq.experiments.stats`, plot. A reader can follow and
change each step; nothing calls the experiment runner. The exact checks (Q1-Q3, Q10, Q13, Q16's
tree, Q18) run those checks the same way.

Each question's cells live in ``dlfaq.notebooks.qNN`` as a list ``CELLS`` of
:class:`~dlfaq.notebooks.cells.Md` / :class:`~dlfaq.notebooks.cells.Code` /
:class:`~dlfaq.notebooks.cells.Sizes`; the title, the claims and the way to run it are added here
from the FAQ entry, so they never drift from ``dlfaq show N``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

__all__ = ["QUESTIONS", "NotebookExists", "build_notebook", "filename", "write_all", "write_notebook",
           "written_by_dlfaq"]

QUESTIONS = tuple(range(1, 19))
#: The metadata key that marks a notebook as written by dlfaq (such a file may be overwritten).
MARK = "dlfaq"


class NotebookExists(FileExistsError):
    """The target exists and was not written by dlfaq (pass ``force=True`` to overwrite it)."""


def filename(qid: int) -> str:
    return f"q{qid:02d}.ipynb"


def _cells(qid: int) -> list[Any]:
    if qid not in QUESTIONS:
        raise ValueError(f"no question {qid}: ids run from 1 to 18")
    return list(importlib.import_module(f"dlfaq.notebooks.q{qid:02d}").CELLS)


def _header(qid: int, lang: str | None) -> list[Any]:
    from dlfaq.faq import get_entry
    from dlfaq.notebooks.cells import Code, Md

    e = get_entry(qid)
    claims_zh = "\n".join(f"- `{c.id}`:{c.text['zh']}" for c in e.claims)
    claims_en = "\n".join(f"- `{c.id}`: {c.text['en']}" for c in e.claims)
    title = Md(
        f"# Q{qid}. {e.question['zh']}\n\n本笔记本一步步复现这个问题的实验,只用 dlfaq 的公开 API"
        f"(`dlfaq show {qid}` 是答案,`dlfaq run {qid}` 是完整实验)。要检验的论断:\n\n{claims_zh}",
        f"# Q{qid}. {e.question['en']}\n\nThis notebook reproduces the question's experiment step by step with "
        f"dlfaq's public API (`dlfaq show {qid}` prints the answer, `dlfaq run {qid}` runs the full experiment). "
        f"The claims under test:\n\n{claims_en}",
    )
    setup = Code(
        """
        import math
        import numpy as np
        import torch
        import matplotlib.pyplot as plt
        from dlfaq.experiments import stats  # oriented effects, 95 % intervals, the verdict rule
        torch.set_num_threads(1)  # the models are small: extra threads only add overhead (and spin on a busy machine)
        """
    )
    return [title, setup]


def build_notebook(qid: int, lang: str | None = None) -> Any:
    """The nbformat v4 notebook of question ``qid``; markdown in zh then en, or only ``lang``."""
    import nbformat
    from nbformat import v4

    from dlfaq.notebooks.cells import Md

    if lang not in (None, "zh", "en"):
        raise ValueError(f"lang must be 'zh', 'en' or None, got {lang!r}")
    cells = []
    for c in _header(qid, lang) + _cells(qid):
        text = c.text(lang)
        cells.append(v4.new_markdown_cell(text) if isinstance(c, Md) else v4.new_code_cell(text))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata[MARK] = {"question": qid, "lang": lang or "zh+en", "written_by": "dlfaq notebook"}
    nbformat.validate(nb)
    return nb


def written_by_dlfaq(path: Path) -> bool:
    """Is ``path`` a notebook that dlfaq wrote (its metadata carries the dlfaq mark)?"""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("metadata"), dict) and MARK in data["metadata"]


def write_notebook(qid: int, out_dir: Path, lang: str | None = None, *, force: bool = False) -> Path:
    """Write ``out_dir/qNN.ipynb`` and return its path.

    An existing file is overwritten only when dlfaq wrote it (or with ``force=True``); otherwise
    :class:`NotebookExists` is raised. ``out_dir`` is created when missing.
    """
    import nbformat

    nb = build_notebook(qid, lang)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename(qid)
    if path.exists() and not force and not written_by_dlfaq(path):
        raise NotebookExists(f"{path} exists and was not written by dlfaq")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh, version=4)
    tmp.replace(path)
    return path


def write_all(out_dir: Path, lang: str | None = None, *, force: bool = False) -> list[Path]:
    """Write the notebooks of all 18 questions into ``out_dir``; their paths in question order."""
    return [write_notebook(q, out_dir, lang, force=force) for q in QUESTIONS]
