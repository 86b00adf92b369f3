"""Shared pieces of the command line: language choice, output, errors, progress.

Command modules must stay cheap to import, since every ``dlfaq`` invocation
imports them all: torch, rich's renderers and dlfaq's own parts (the FAQ, the
experiments, the report, the library) are imported inside the functions that
use them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup


class UserError(Exception):
    """A mistake of the user's: printed as one line, exit code 2."""


# --------------------------------------------------------------------------- validation helpers
#
# Every command checks all its arguments with these before it does any work (creates a
# folder, imports torch for real, runs an experiment), so a bad value never leaves a trace.

SEED_LIMIT = 2**32  # numpy's and torch's seeds must fit 32 bits for every backend dlfaq uses
MiB = 1024 * 1024


def short(text: object, limit: int = 80) -> str:
    """``text`` for an error message: at most ``limit`` characters (the middle elided), one line."""
    s = str(text).replace("\n", "\\n").replace("\r", "\\r")
    if len(s) <= limit:
        return s
    keep = (limit - 1) // 2
    return f"{s[:keep]}…{s[-keep:]}"


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-empty line of an exception's message (torch appends C++ backtraces)."""
    for line in str(exc).splitlines():
        if line.strip():
            return short(line.strip(), limit)
    return type(exc).__name__


def want_traceback() -> bool:
    """True when the user asked for full tracebacks (``dlfaq --traceback`` or ``DLFAQ_TRACEBACK=1``)."""
    return _STATE["traceback"] or os.environ.get("DLFAQ_TRACEBACK", "").strip() not in ("", "0")


_STATE = {"traceback": False}


def check_int(value: int | None, opt: str, lo: int | None = None, hi: int | None = None) -> int | None:
    """``value`` of option ``opt`` checked against ``lo <= value <= hi`` (None passes through)."""
    if value is None:
        return None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            rng = f"between {lo} and {hi}"
        elif lo is not None:
            rng = f"at least {lo}"
        else:
            rng = f"at most {hi}"
        raise UserError(f"{opt} must be {rng}, not {short(value, 30)}")
    return value


def check_seed(seed: int, opt: str = "--seed") -> int:
    """A seed in ``0 <= seed < 2**32`` (what numpy and torch accept on every platform)."""
    if not 0 <= seed < SEED_LIMIT:
        raise UserError(f"{opt} must be between 0 and {SEED_LIMIT - 1}, not {short(seed, 30)}")
    return seed


QUESTIONS = range(1, 19)  # the seed page's numbering


def parse_id(value: str) -> int:
    """A question id, 1 to 18, from the command line."""
    return _question_id(value, "")


def parse_target(value: str) -> int | None:
    """A question id, or None for ``all`` (commands that act on one question or every one)."""
    return None if value == "all" else _question_id(value, ", or 'all'")


def _question_id(value: str, alternatives: str) -> int:
    try:
        qid = int(value)
    except ValueError:
        raise UserError(f"not a question id: {short(value, 40)!r} "
                        f"(expected a number from 1 to 18{alternatives})") from None
    if qid not in QUESTIONS:
        raise UserError(f"no question {short(qid, 30)}: ids run from 1 to 18")
    return qid


def check_profile(profile: str) -> str:
    """``--profile``: ``quick`` (about a minute) or ``full``."""
    if profile not in ("quick", "full"):
        raise UserError(f"--profile must be 'quick' or 'full', not {short(profile, 40)!r}")
    return profile


_DEVICE_RE = re.compile(r"(cpu|cuda)(?::(\d{1,6}))?")


def check_device(device: str | None, opt: str = "--device") -> str | None:
    """``cpu``, ``cuda`` or ``cuda:N`` that this machine can use; None (the default) passes through.

    Checked before any work: a CUDA device needs a CUDA build of torch, a visible GPU and
    N below the device count. Only torch is imported (no CUDA context is created).
    """
    if device is None:
        return None
    m = _DEVICE_RE.fullmatch(device.strip())
    if m is None or (m.group(1) == "cpu" and m.group(2) is not None and m.group(2) != "0"):
        raise UserError(f"{opt} must be cpu, cuda or cuda:N, not {short(device, 40)!r}")
    if m.group(1) == "cpu":
        return "cpu"
    import torch

    if torch.version.cuda is None:
        raise UserError(f"{opt} {m.group(0)}: this torch build ({torch.__version__}) has no CUDA; use --device cpu")
    n = torch.cuda.device_count()
    if n == 0:
        raise UserError(f"{opt} {m.group(0)}: no CUDA device is visible (see `dlfaq doctor`); use --device cpu")
    if m.group(2) is not None and int(m.group(2)) >= n:
        raise UserError(f"{opt} {m.group(0)}: there {'is' if n == 1 else 'are'} {n} CUDA device(s), "
                        f"cuda:0 to cuda:{n - 1}")
    return m.group(0)


def check_path(path: Path | str, opt: str) -> Path:
    """A path the OS can take at all (no NUL byte, no component or total over the system's limits)."""
    s = os.fspath(path)
    if "\0" in s:
        raise UserError(f"{opt}: the path contains a NUL byte")
    if s == "":
        raise UserError(f"{opt}: the path is empty")
    try:
        os.stat(s)
    except FileNotFoundError:
        pass  # may be created later
    except OSError as exc:
        if exc.errno not in (20,):  # ENOTDIR: reported by the command with more context
            raise UserError(f"{opt} {short(s)!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{opt} {short(s)!r}: {exc}") from None
    return Path(s)


def is_dir(path: Path | str) -> bool:
    """``Path.is_dir`` that says False instead of raising (name too long, NUL byte, no access)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def read_user_bytes(path: Path | str, what: str, max_bytes: int = 64 * MiB) -> bytes:
    """The bytes of a regular file the user named, at most ``max_bytes`` of them.

    Anything else is refused with a :class:`UserError` before reading: folders, FIFOs (which
    would block for a writer), sockets and devices (``/dev/zero`` never ends). The file is
    opened non-blocking and checked with ``fstat`` on the open descriptor, so a path that
    changes between check and read cannot slip through.
    """
    s = os.fspath(path)
    check_path(s, what)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(s, flags)
    except OSError as exc:
        raise UserError(f"cannot read {what} {short(s)!r}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{what} {short(s)!r} is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{what} {short(s)!r} is not a regular file (a FIFO, socket or device)")
        too_big = UserError(f"{what} {short(s)!r} is larger than {max_bytes / MiB:.3g} MiB; refusing to read it")
        if st.st_size > max_bytes:
            raise too_big
        os.set_blocking(fd, True)
        chunks, got = [], 0
        while got <= max_bytes:
            chunk = os.read(fd, min(1 * MiB, max_bytes + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > max_bytes:  # grew while reading, or a /proc-style file reporting size 0
            raise too_big
        return b"".join(chunks)
    except OSError as exc:
        raise UserError(f"cannot read {what} {short(s)!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_user_file(path: Path | str, what: str, max_bytes: int = 64 * MiB, encoding: str = "utf-8",
                   errors: str = "replace") -> str:
    """:func:`read_user_bytes` decoded as text (undecodable bytes replaced by default)."""
    return read_user_bytes(path, what, max_bytes).decode(encoding, errors=errors)


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
        raise UserError(f"--lang must be 'zh' or 'en', not {short(lang, 40)!r}")
    return lang


class WideGroup(TyperGroup):
    """A command group whose command list shows each command's whole first sentence.

    Click cuts short help to what fits the terminal and appends "..."; here the text is
    wrapped onto more lines instead, so no description is ever truncated.
    """

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


HELP_SETTINGS = {"max_content_width": 120}


def command_group(name: str, help: str, **settings: Any) -> typer.Typer:
    """A command group laid out as every dlfaq group is.

    Its command list is never cut short (:class:`WideGroup`), help is wrapped at up to
    120 columns, the text is plain (no rich markup), there are no shell-completion
    options, and no arguments print the help; ``settings`` override or add
    ``typer.Typer`` arguments.
    """
    options: dict[str, Any] = {"cls": WideGroup, "context_settings": dict(HELP_SETTINGS), "add_completion": False,
                               "rich_markup_mode": None, "no_args_is_help": True}
    return typer.Typer(name=name, help=help, **{**options, **settings})


LangOpt = typer.Option(None, "--lang", help="Language: zh or en (default: from the locale).")
JsonOpt = typer.Option(False, "--json", help="Print JSON for scripts.")
DeviceOpt = typer.Option(None, "--device", help="cpu, cuda or cuda:N (default: cuda when available).")


def is_tty() -> bool:
    return sys.stdout.isatty()


def console() -> Any:
    from rich.console import Console

    # Piped output gets plain text: no colours, no boxes, no wrapping at 80 columns.
    if is_tty():
        return Console()
    return Console(no_color=True, highlight=False, width=10_000, soft_wrap=True)


def print_markdown(text: str) -> None:
    """Markdown rendered in a terminal; the text as it is when piped."""
    if not is_tty():
        print(text)
        return
    from rich.markdown import Markdown  # ~0.1 s to import

    console().print(Markdown(text))


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


class LineProgress:
    """A ``progress(done, total, desc)`` callback printing one line per finished unit of work.

    For logs and pipes, where a redrawn bar would be noise: each call that reports more work
    done (``done`` grew, or a new ``desc`` at the same count) prints
    ``[ 3/41] 12.3s q07.dropout-sweeps seed=2 done`` with the seconds since the start.
    Calls with ``done == 0`` (something started) print nothing.
    """

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self.t0 = time.perf_counter()
        self.last: tuple[float, float, str] | None = None

    def __call__(self, done: float, total: float, desc: str = "") -> None:
        if done <= 0 or (done, total, desc) == self.last:
            return
        self.last = (done, total, desc)
        width = len(f"{total:.0f}")
        count = f"{done:.0f}" if float(done).is_integer() else f"{done:.1f}"
        line = f"[{count:>{width}}/{total:.0f}] {time.perf_counter() - self.t0:.1f}s {desc}".rstrip() + " done"
        stream = self.stream or sys.stderr
        try:
            print(line, file=stream, flush=True)
        except (OSError, ValueError):  # stderr closed or a broken pipe: progress is optional
            pass


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """Yield a ``progress(done, total, desc)`` callback reporting on stderr.

    On a terminal it draws a rich progress bar; otherwise (a pipe, a log file, CI) it prints
    one line per finished unit of work with the elapsed time (:class:`LineProgress`), so
    ``dlfaq run 7 | cat`` shows that work goes on. Stdout stays clean either way (``--json``).
    ``enabled=False`` or ``DLFAQ_PROGRESS=0`` silences both.
    """
    if not enabled or os.environ.get("DLFAQ_PROGRESS", "").strip() == "0":
        yield lambda done, total, desc="": None
        return
    if not sys.stderr.isatty():
        yield LineProgress()
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
    specs: list[Any], *, seed: int, profile: str, out: Path, device: str | None, show_progress: bool, jobs: int = 1,
    rerun: bool = False, executor: str = "local", ray_address: str | None = None, cache: Path | None = None,
) -> list[dict[str, Any]]:
    """Run experiments (their units in ``jobs`` worker processes) with a progress bar; return their records.

    Unit results are cached under ``cache`` (default ``OUT/.cache/units``; a folder on shared
    storage lets several machines share it); ``rerun`` clears the entries of these
    experiments first, so every unit is computed again.
    """
    from dlfaq.experiments import default_device
    from dlfaq.experiments.executor import run_all

    check_seed(seed)  # commands check it first; this is the last line before any work
    dev = check_device(device) or default_device()
    cache = out / ".cache" / "units" if cache is None else cache
    if rerun:
        for spec in specs:
            shutil.rmtree(cache / spec.name, ignore_errors=True)
    with progress_bar(show_progress) as progress:
        report = _ExperimentEnds(progress)
        records = run_all(specs, seed=seed, profile=profile, out=out, device=dev, jobs=jobs, progress=report,
                          cache=cache, executor=executor, ray_address=ray_address)
        report.finish()
        return records


class _ExperimentEnds:
    """Pass progress on, and report each finished experiment when they run one after another.

    The sequential executor prefixes its descriptions with ``[i/n] NAME``; a new prefix means
    the previous experiment is done, and :meth:`finish` reports the last one.
    """

    _PREFIX = re.compile(r"\[(\d+)/(\d+)\] (\S+)")

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.current: tuple[int, int, str] | None = None

    def __call__(self, done: float, total: float, desc: str = "") -> None:
        m = self._PREFIX.match(desc)
        if m is not None:
            key = (int(m.group(1)), int(m.group(2)), m.group(3))
            if self.current is not None and key != self.current:
                self.finish()
            self.current = key
        self.progress(done, total, desc)

    def finish(self) -> None:
        if self.current is not None:
            i, n, name = self.current
            self.progress(i, n, f"{name} (experiment)")
            self.current = None


JobsOpt = typer.Option(None, "--jobs", "-j", help="Worker processes for the experiments' units (default: the "
                       "cores this process may use, or $DLFAQ_JOBS; 1: run in this process).")


CacheOpt = typer.Option(None, "--cache", envvar="DLFAQ_CACHE", show_envvar=True,
                        help="Folder of cached unit results (default: OUT/.cache/units); a folder on shared "
                             "storage is shared by every machine that uses it.")


def check_cache(cache: Path | None) -> Path | None:
    """``--cache`` checked and created (None: the default under OUT)."""
    if cache is None:
        return None
    return writable_dir(check_path(cache, "--cache"), "cache")


ExecutorOpt = typer.Option("local", "--executor", help="local (worker processes) or ray (a Ray cluster; "
                           "pip install 'dlfaq[cluster]').")
RayAddressOpt = typer.Option(None, "--ray-address", help="Address of a running Ray cluster (default: start a "
                             "local one with --jobs CPUs).")


def check_executor(executor: str, ray_address: str | None) -> None:
    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be 'local' or 'ray', not {short(executor, 40)!r}")
    if ray_address is not None and executor != "ray":
        raise UserError("--ray-address needs --executor ray")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise UserError("--executor ray needs Ray: pip install 'dlfaq[cluster]'")


def check_jobs(jobs: int | None) -> int:
    """``--jobs`` checked; None means $DLFAQ_JOBS when set, else the cores this process may use."""
    if jobs is None:
        env = os.environ.get("DLFAQ_JOBS", "").strip()
        if env:
            try:
                jobs = int(env)
            except ValueError:
                raise UserError(f"DLFAQ_JOBS must be a whole number, not {short(env, 40)!r}") from None
        else:
            from dlfaq.experiments.executor import default_jobs

            return min(default_jobs(), 256)
    if not 1 <= jobs <= 256:
        raise UserError(f"--jobs must be between 1 and 256, not {short(jobs, 30)}")
    return jobs


@contextmanager
def output_rule() -> Iterator[None]:
    """A refusal of the output-folder rule (:class:`dlfaq.publish.UnsafeOutput`) becomes a :class:`UserError`."""
    from dlfaq.publish import UnsafeOutput

    try:
        yield
    except UnsafeOutput as exc:
        raise UserError(str(exc)) from None


def results_dir(out: Path | str) -> Path:
    """``--out`` as a results folder under the output-folder rule (:func:`dlfaq.publish.ensure_results_dir`):
    created or adopted and marked, never a user's unrelated folder; then checked writable."""
    from dlfaq.publish import ensure_results_dir

    path = check_path(out, "--out")
    with output_rule():
        ensure_results_dir(path)
    return writable_dir(path, "results")


def writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and make sure files can be written there."""
    check_path(path, f"{what} folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {what} folder {short(path)!r}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise UserError(f"{what} path {short(path)!r} is not a folder")
    probe = path / ".dlfaq-write-test"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to {what} folder {short(path)!r}: {exc.strerror or exc}") from None
    return path
