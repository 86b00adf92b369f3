"""``dlfaq notebook N [--out DIR]``: write question N's experiment as a Jupyter notebook."""

from __future__ import annotations

from pathlib import Path

import typer

from dlfaq.commands._common import UserError, writable_dir


def notebook_cmd(
    qid: str = typer.Argument(..., metavar="ID|all", help="Question id (1-18) or 'all'."),
    out: Path = typer.Option(Path("."), "--out", help="Folder to write qNN.ipynb into (created if missing)."),
    lang: str = typer.Option(None, "--lang", help="Markdown in zh or en only (default: zh, then en)."),
    force: bool = typer.Option(False, "--force", help="Overwrite a file of that name that dlfaq did not write."),
) -> None:
    """Write a notebook that reproduces the question's experiment step by step with the public API."""
    if lang is not None and lang not in ("zh", "en"):
        raise UserError(f"--lang must be 'zh' or 'en', not {lang!r}")
    if qid == "all":
        ids = list(range(1, 19))
    else:
        try:
            n = int(qid)
        except ValueError:
            raise UserError(f"not a question id: {qid!r} (expected a number from 1 to 18, or 'all')") from None
        if not 1 <= n <= 18:
            raise UserError(f"no question {n}: ids run from 1 to 18")
        ids = [n]
    writable_dir(out, "notebook")
    from dlfaq.notebooks import NotebookExists, write_notebook

    for n in ids:
        try:
            path = write_notebook(n, out, lang, force=force)
        except NotebookExists as exc:
            raise UserError(f"{exc}; pass --force to overwrite it") from None
        except OSError as exc:
            raise UserError(f"cannot write the notebook in {str(out)!r}: {exc.strerror or exc}") from None
        print(path)


def register(app: typer.Typer) -> None:
    app.command("notebook")(notebook_cmd)
