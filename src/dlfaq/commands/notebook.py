"""``dlfaq notebook N [--out DIR]``: write question N's experiment as a Jupyter notebook."""

from __future__ import annotations

from pathlib import Path

import typer

from dlfaq.commands._common import (
    QUESTIONS,
    UserError,
    check_lang,
    parse_target,
    short,
    writable_dir,
)


def notebook_cmd(
    qid: str = typer.Argument(..., metavar="ID|all", help="Question id (1-18) or 'all'."),
    out: Path = typer.Option(Path("."), "--out", help="Folder to write qNN.ipynb into (created if missing)."),
    lang: str | None = typer.Option(None, "--lang", help="Markdown in zh or en only (default: zh, then en)."),
    force: bool = typer.Option(False, "--force", help="Overwrite a file of that name that dlfaq did not write."),
) -> None:
    """Write a notebook that reproduces the question's experiment step by step with the public API."""
    from dlfaq.notebooks import NotebookExists, write_notebook

    if lang is not None:  # None: both languages
        lang = check_lang(lang)
    target = parse_target(qid)
    ids = list(QUESTIONS) if target is None else [target]
    writable_dir(out, "notebook")
    for n in ids:
        try:
            path = write_notebook(n, out, lang, force=force)
        except NotebookExists as exc:
            raise UserError(f"{exc}; pass --force to overwrite it") from None
        except OSError as exc:
            raise UserError(f"cannot write the notebook in {short(out)!r}: {exc.strerror or exc}") from None
        print(path)


def register(app: typer.Typer) -> None:
    app.command("notebook")(notebook_cmd)
