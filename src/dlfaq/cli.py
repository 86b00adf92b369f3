"""The ``dlfaq`` command.

Every user mistake (bad id, bad option value, unreadable or unsuitable file) is
printed as one line on stderr with exit code 2, and every argument is checked
before any work starts. A bug in dlfaq prints one line too (exit 1), naming the
exception; ``dlfaq --traceback ...`` (or ``DLFAQ_TRACEBACK=1``) shows the full
traceback. Ctrl-C ends with one line and exit code 130. Sub-command groups live
in ``dlfaq.commands.*`` and are registered here.

The commands import dlfaq's parts (the FAQ, the experiments, the report) inside
their bodies, so that ``dlfaq --help`` loads typer and little else.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from dlfaq import __version__
from dlfaq.commands import ask, bench, calibrate, doctor, embeddings, notebook, report, shape
from dlfaq.commands._common import (
    _STATE,
    CacheOpt,
    DeviceOpt,
    ExecutorOpt,
    JobsOpt,
    JsonOpt,
    LangOpt,
    RayAddressOpt,
    UserError,
    check_cache,
    check_device,
    check_executor,
    check_jobs,
    check_lang,
    check_profile,
    check_seed,
    command_group,
    console,
    first_line,
    parse_id,
    parse_target,
    print_json,
    print_markdown,
    print_table,
    results_dir,
    run_specs,
    short,
    want_traceback,
)


def _click_exception() -> type[Exception]:
    """Click's base exception as the installed typer raises it.

    Newer typer releases vendor click as ``typer._click`` and raise its exceptions even when a
    separate click is installed too (Ray, for one, brings click along); older ones use click.
    Looked up by name, so that type checking does not depend on which of the two is installed.
    """
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            exc: type[Exception] = importlib.import_module(name).ClickException
            return exc
        except ModuleNotFoundError:  # pragma: no cover - depends on the installed typer
            continue
    raise ImportError("typer provides no click exceptions (neither typer._click nor click)")  # pragma: no cover


ClickException = _click_exception()

app = command_group(
    "dlfaq", "An executable deep-learning FAQ: answers, tested components and reproducible evidence.",
    pretty_exceptions_enable=False,
)

DEFAULT_OUT = Path("dlfaq-results")


def _version(value: bool) -> None:
    if value:
        print(f"dlfaq {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="Print dlfaq's version and exit."),
    show_traceback: bool = typer.Option(False, "--traceback", help="On an error, print the full Python traceback "
                                        "(also DLFAQ_TRACEBACK=1)."),
) -> None:
    """An executable deep-learning FAQ: answers, tested components and reproducible evidence."""
    _STATE["traceback"] = show_traceback


# --------------------------------------------------------------------------- list / show


@app.command("list")
def list_cmd(lang: str = LangOpt, as_json: bool = JsonOpt) -> None:
    """List the 18 questions with their claims."""
    from dlfaq.faq import load_all

    lang = check_lang(lang)
    entries = load_all()
    if as_json:
        print_json(
            [
                {
                    "id": e.id,
                    "slug": e.slug,
                    "question": e.question,
                    "claims": [{"id": c.id, "text": c.text, "tested_by": c.tested_by} for c in e.claims],
                    "experiments": e.experiments,
                }
                for e in entries
            ]
        )
        return
    rows = [
        [e.id, e.question[lang], len(e.claims), sum(1 for c in e.claims if c.tested_by)] for e in entries
    ]
    heads = ["#", "问题", "论断", "有实验"] if lang == "zh" else ["#", "question", "claims", "tested"]
    print_table(heads, rows)


@app.command("show")
def show_cmd(
    qid: str = typer.Argument(..., metavar="ID", help="Question id, 1-18."),
    lang: str = LangOpt,
    as_json: bool = JsonOpt,
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Results folder to read verdicts from."),
) -> None:
    """Show one question: the answer, its claims and their verdicts (if it was run)."""
    from dlfaq.experiments.stats import VERDICTS
    from dlfaq.faq import get_entry
    from dlfaq.report import LABELS, question_view

    lang = check_lang(lang)
    entry = get_entry(parse_id(qid))
    view = question_view(entry, out)  # every evidence file checked; a damaged one shows as failed
    for line in view.problems:
        print(f"warning: {line}", file=sys.stderr)
    shown = [{"name": r["name"], "status": r.get("status"), "profile": r.get("profile"), "seed": r.get("seed"),
              "started": r.get("started"), "error": r.get("error"), "later_failure": r.get("later_failure")}
             for r in view.records]
    if as_json:
        data = entry.to_json()
        data["answer"] = view.answer
        for c, cv in zip(data["claims"], view.claims, strict=True):
            c["status"] = cv.status
            c["verdict"] = cv.record if cv.status in VERDICTS else None
        data["evidence"] = shown
        data["problems"] = view.problems
        print_json(data)
        return
    con = console()
    con.print(f"Q{entry.id}. {entry.question[lang]}", style="bold", markup=False)
    con.print("")
    print_markdown(view.answer[lang])
    con.print("")
    rows = [[c.id, c.text[lang], LABELS[c.status][lang], _safe_effect_text(c.record, lang)] for c in view.claims]
    heads = ["论断编号", "论断", "结论", "效应 [95% 区间] (n) / 检验"] if lang == "zh" else \
        ["claim", "text", "verdict", "effect [95 % CI] (n) / check"]
    print_table(heads, rows)
    for r in shown:
        print(_evidence_line(r, lang))
    if entry.api:
        con.print(("API: " + ", ".join(entry.api)), markup=False)


def _evidence_line(r: dict[str, Any], lang: str) -> str:
    """Which evidence a question's verdicts come from, and whether a later run of it failed."""
    zh = lang == "zh"
    if r["status"] == "ok":
        line = (f"证据 {r['name']}:配置 {r['profile']},种子 {r['seed']},运行于 {r['started']}" if zh
                else f"evidence {r['name']}: profile {r['profile']}, seed {r['seed']}, ran {r['started']}")
    else:
        line = f"证据 {r['name']}:失败:{r['error']}" if zh else f"evidence {r['name']}: failed: {r['error']}"
    lf = r["later_failure"]
    if lf:
        line += (f";之后 {lf['started']} 的运行失败({lf['error']}),显示的是之前的证据" if zh
                 else f"; a later run ({lf['started']}) failed ({lf['error']}), so this earlier evidence is shown")
    return line


# --------------------------------------------------------------------------- run


def _select(target: str) -> list[Any]:
    """The experiments of question ``target`` (or ``all``), the id checked before they are imported."""
    qid = parse_target(target)
    from dlfaq.experiments import discover

    specs = list(discover().values())
    return specs if qid is None else [s for s in specs if s.question == qid]


def _safe_effect_text(v: dict[str, Any] | None, lang: str = "en") -> str:
    """:func:`_effect_text`, or "—" where a (schema-valid) record holds NaN/inf written as strings."""
    if not v:
        return ""
    try:
        return _effect_text(v, lang)
    except (TypeError, ValueError, KeyError):
        return "—"


def _effect_text(v: dict[str, Any], lang: str = "en") -> str:
    """A verdict's statistic in a few characters: 'exact check', or 'effect [lo, hi] unit (n=5)'."""
    if v.get("kind") == "check":
        return "精确检验" if lang == "zh" else "exact check"
    if v.get("kind") != "experiment":
        return str(v.get("kind", ""))
    items = v.get("parts") or [v]
    out = []
    for it in items:
        lo, hi = it["ci"]
        out.append(f"{it['effect']:+.3g} [{lo:+.3g}, {hi:+.3g}] {it.get('unit', '')} (n={it['n']}, margin {it['margin']:.3g})")
    if v.get("control_failed"):
        out.append("阳性对照未复现" if lang == "zh" else "control failed")
    return "; ".join(out)


@app.command("run")
def run_cmd(
    target: str = typer.Argument(..., metavar="ID|all", help="Question id (1-18) or 'all'."),
    profile: str = typer.Option("quick", "--profile", help="quick (about a minute each) or full."),
    seed: int = typer.Option(0, "--seed", help="Base random seed."),
    out: str = typer.Option(str(DEFAULT_OUT), "--out", help="Results folder."),  # str: typer reads "" as "."
    device: str | None = DeviceOpt,
    jobs: int | None = JobsOpt,
    rerun: bool = typer.Option(False, "--rerun", help="Compute every unit again (ignore cached unit results)."),
    executor: str = ExecutorOpt,
    ray_address: str | None = RayAddressOpt,
    cache: Path | None = CacheOpt,
    lang: str = LangOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run the experiments of one question (or all) and save their evidence (unchanged units come from the cache)."""
    lang = check_lang(lang)
    jobs = check_jobs(jobs)
    check_executor(executor, ray_address)
    check_profile(profile)
    check_seed(seed)
    specs = _select(target)
    device = check_device(device)
    out_dir = results_dir(out)
    cache = check_cache(cache)
    t0 = time.perf_counter()
    records = run_specs(specs, seed=seed, profile=profile, out=out_dir, device=device, show_progress=True,
                        jobs=jobs, rerun=rerun, executor=executor, ray_address=ray_address,
                        cache=cache)
    if as_json:
        print_json({"target": target, "profile": profile, "seed": seed, "out": str(out_dir), "experiments": records})
        return
    if not specs:
        msg = "这个问题还没有实验。" if lang == "zh" else "This question has no experiments yet."
        print(msg)
        return
    rows = []
    for r in records:
        if r["status"] != "ok":
            rows.append([r["name"], "FAILED", "", r["error"]])
            continue
        for v in r["verdicts"]:
            rows.append([r["name"], f"{r['duration_s']:.1f}s", v["claim"], v["verdict"], _effect_text(v, lang)])
    print_table(["experiment", "time", "claim", "verdict", "effect [95 % CI] (n) / check"], rows)
    print(f"evidence saved under {out_dir} ({time.perf_counter() - t0:.1f}s)")
    if any(r["status"] != "ok" for r in records):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- sub-commands


for _module in (report, ask, shape, doctor, embeddings, bench, calibrate, notebook):
    _module.register(app)


# --------------------------------------------------------------------------- the entry point


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user mistakes into one-line errors (exit 2)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        args = ["--help"]
    _STATE["traceback"] = "--traceback" in _root_options(args)
    try:
        _refuse_nul_bytes(args)
        rv = app(args=args, prog_name="dlfaq", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as exc:  # SystemExit passes through
        code = _exit_code(exc)
        if code is None:
            raise
        sys.exit(code)
    if rv == 130:  # typer turns KeyboardInterrupt into exit code 130 without a word
        sys.exit(_interrupted())
    sys.exit(rv if isinstance(rv, int) else 0)


def _root_options(args: list[str]) -> list[str]:
    """The options before the sub-command (``dlfaq --traceback run 3``: ``["--traceback"]``)."""
    first = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    return args[:first]


def _refuse_nul_bytes(args: list[str]) -> None:
    bad = next((i for i, a in enumerate(args) if "\0" in a), None)
    if bad is not None:  # only possible in-process: a real command line cannot carry NUL bytes
        raise UserError(f"argument {bad + 1} contains a NUL byte")


# What the user sees for each kind of failure, the first matching row deciding. A handler
# prints at most a few lines on stderr and returns the exit code, or None where the user
# asked for the traceback and the exception should go on as it is.
_Handler = Callable[[Any], int | None]


def _exit_code(exc: BaseException) -> int | None:
    for kinds, handler in _HANDLERS:
        if isinstance(exc, kinds):
            return handler(exc)
    return None  # pragma: no cover - the last row takes every Exception


def _error(message: str, code: int = 2) -> int:
    print(f"dlfaq: error: {message}", file=sys.stderr)
    return code


def _on_user_error(exc: UserError) -> int:
    if want_traceback() and exc.__cause__ is not None:  # e.g. the user's module that `shape model` ran
        traceback.print_exception(exc.__cause__)
    return _error(_user_message(exc))


def _on_click_error(exc: Any) -> int:  # a ClickException
    """Click's own checks (usage, bad values, missing files): its message on one line."""
    return _error(short(" ".join(exc.format_message().split()), 300))


def _on_broken_pipe(exc: BrokenPipeError) -> int:
    """`dlfaq list | head`: the reader has gone; say nothing and succeed."""
    _quiet_stdout()
    return 0


def _on_os_error(exc: OSError) -> int | None:
    """The file system said no (a path the user gave, a full disk, permissions)."""
    if want_traceback():
        return None
    where = f": {short(exc.filename)!r}" if getattr(exc, "filename", None) else ""
    return _error(f"{exc.strerror or first_line(exc)}{where}")


def _on_bug(exc: Exception) -> int | None:
    """A bug in dlfaq or a library it calls: one line unless the user asked for the traceback."""
    if want_traceback():
        return None
    print(_internal_error(exc), file=sys.stderr)
    return 1


_HANDLERS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], _Handler], ...] = (
    (UserError, _on_user_error),
    (typer.Exit, lambda exc: exc.exit_code),
    ((typer.Abort, KeyboardInterrupt), lambda exc: _interrupted()),
    (ClickException, _on_click_error),
    (BrokenPipeError, _on_broken_pipe),
    (OSError, _on_os_error),
    (MemoryError, lambda exc: _error("out of memory", code=1)),
    (Exception, _on_bug),
)


def _user_message(exc: BaseException) -> str:
    """A user error's text in at most 3 lines of at most 400 characters, without C++ backtraces.

    Messages built from a library's exception (torch appends "Exception raised from ...",
    then dozens of "frame #N" lines) keep only what comes before that.
    """
    lines = []
    for line in str(exc).splitlines():
        if line.lstrip().startswith(("Exception raised from", "frame #")):
            break
        if line.strip():
            lines.append(short(line.rstrip(), 400))
    return "\n".join(lines[:3]) or type(exc).__name__


def _internal_error(exc: BaseException) -> str:
    """One line for a bug in dlfaq (or in a library it calls): what broke, where to look next."""
    return (f"dlfaq: internal error: {type(exc).__name__}: {first_line(exc, 200)} "
            "(run again with --traceback for details, and please report it)")


def _interrupted() -> int:
    """Ctrl-C: one line, exit 130 (128 + SIGINT), and no second traceback if Ctrl-C comes again."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        print("dlfaq: interrupted", file=sys.stderr, flush=True)
    except OSError:
        pass
    return 130


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
