"""Shared pieces of the command line: language choice, output, errors, progress.

Command modules must stay cheap to import (no torch at module level), since
every ``dlfaq`` invocation imports them all.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer


class UserError(Exception):
    """A mistake of the user's: printed as one line, exit code 2."""


def default_lang() -> str:
    """``zh`` when the locale (LC_ALL, LC_MESSAGES or LANG, first one set) starts with ``zh``."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        val = os.environ.get(var)
        if val:
            return "zh" if val.lower().startswith("zh") else "en"
    return "en"


def check_lang(lang: str | None) -> str:
    if lang is None:
        return default_lang()
    if lang not in ("zh", "en"):
        raise UserError(f"--lang must be 'zh' or 'en', not {lang!r}")
    return lang


LangOpt = typer.Option(None, "--lang", help="Language: zh or en (default: from the locale).")
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")


def is_tty() -> bool:
    return sys.stdout.isatty()


def console() -> Any:
    from rich.console import Console

    # Piped output gets plain text: no colours, no boxes, no wrapping at 80 columns.
    if is_tty():
        return Console()
    return Console(no_color=True, highlight=False, width=10_000, soft_wrap=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A rich table in a terminal; tab-separated plain text when piped."""
    if not is_tty():
        if title:
            print(title)
        print("\t".join(columns))
        for r in rows:
            print("\t".join("" if v is None else str(v) for v in r))
        return
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console().print(t)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """Yield a ``progress(done, total, desc)`` callback drawing a rich progress bar on stderr.

    The bar appears only when stderr is a terminal and ``enabled``; otherwise the
    callback does nothing, so scripts and ``--json`` output stay clean.
    """
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total, desc="": None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as prog:
        task = prog.add_task("", total=1)

        def update(done: float, total: float, desc: str = "") -> None:
            prog.update(task, completed=done, total=max(total, 1), description=desc)

        yield update


def run_specs(
    specs: list, *, seed: int, profile: str, out: Path, device: str | None, show_progress: bool, jobs: int = 1,
    rerun: bool = False, executor: str = "local", ray_address: str | None = None,
) -> list[dict]:
    """Run experiments (their units in ``jobs`` worker processes) with a progress bar; return their records.

    Unit results are cached under ``OUT/.cache/units``; ``rerun`` clears the entries of these
    experiments first, so every unit is computed again.
    """
    import shutil

    from dlfaq.experiments import default_device
    from dlfaq.experiments.executor import run_all

    dev = device or default_device()
    cache = out / ".cache" / "units"
    if rerun:
        for spec in specs:
            shutil.rmtree(cache / spec.name, ignore_errors=True)
    with progress_bar(show_progress) as progress:
        return run_all(specs, seed=seed, profile=profile, out=out, device=dev, jobs=jobs, progress=progress,
                       cache=cache, executor=executor, ray_address=ray_address)


JobsOpt = typer.Option(None, "--jobs", "-j", help="Worker processes for the experiments' units (default: the "
                       "cores this process may use, or $DLFAQ_JOBS; 1: run in this process).")


ExecutorOpt = typer.Option("local", "--executor", help="local (worker processes) or ray (a Ray cluster; "
                           "pip install 'dlfaq[cluster]').")
RayAddressOpt = typer.Option(None, "--ray-address", help="Address of a running Ray cluster (default: start a "
                             "local one with --jobs CPUs).")


def check_executor(executor: str, ray_address: str | None) -> None:
    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be 'local' or 'ray', not {executor!r}")
    if ray_address is not None and executor != "ray":
        raise UserError("--ray-address needs --executor ray")
    if executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UserError("--executor ray needs Ray: pip install 'dlfaq[cluster]'")


def check_jobs(jobs: int | None) -> int:
    """``--jobs`` checked; None means $DLFAQ_JOBS when set, else the cores this process may use."""
    import os

    if jobs is None:
        env = os.environ.get("DLFAQ_JOBS", "").strip()
        if env:
            try:
                jobs = int(env)
            except ValueError:
                raise UserError(f"DLFAQ_JOBS must be a whole number, not {env!r}") from None
        else:
            from dlfaq.experiments.executor import default_jobs

            return min(default_jobs(), 256)
    if not 1 <= jobs <= 256:
        raise UserError(f"--jobs must be between 1 and 256, not {jobs}")
    return jobs


def writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and make sure files can be written there."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {what} folder {str(path)!r}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise UserError(f"{what} path {str(path)!r} is not a folder")
    probe = path / ".dlfaq-write-test"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to {what} folder {str(path)!r}: {exc.strerror or exc}") from None
    return path
