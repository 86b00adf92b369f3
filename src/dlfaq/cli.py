"""The ``dlfaq`` command.

Every user mistake (bad id, bad option value, unreadable or unsuitable file) is
printed as one line on stderr with exit code 2, and every argument is checked
before any work starts. A bug in dlfaq prints one line too (exit 1), naming the
exception; ``dlfaq --traceback ...`` (or ``DLFAQ_TRACEBACK=1``) shows the full
traceback. Ctrl-C ends with one line and exit code 130. Sub-command groups live
in ``dlfaq.commands.*`` and are registered here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

# Newer typer releases vendor click as typer._click and raise its exceptions even when a
# separate click is installed too (Ray, for one, brings click along); older ones use click.
try:
    from typer._click.exceptions import ClickException
    from typer._click.exceptions import UsageError as ClickUsageError
except ModuleNotFoundError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import ClickException
    from click.exceptions import UsageError as ClickUsageError

from dlfaq.commands._common import (
    _STATE,
    HELP_SETTINGS,
    CacheOpt,
    ExecutorOpt,
    JobsOpt,
    JsonOpt,
    LangOpt,
    RayAddressOpt,
    UserError,
    WideGroup,
    check_cache,
    check_device,
    check_executor,
    check_jobs,
    check_lang,
    check_seed,
    console,
    first_line,
    print_json,
    print_table,
    results_dir,
    run_specs,
    short,
    want_traceback,
)

app = typer.Typer(
    name="dlfaq",
    help="An executable deep-learning FAQ: answers, tested components and reproducible evidence.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=WideGroup,
    context_settings=HELP_SETTINGS,
)

DEFAULT_OUT = Path("dlfaq-results")


def _version(value: bool) -> None:
    if value:
        from dlfaq import __version__

        print(f"dlfaq {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="Print dlfaq's version and exit."),
    traceback: bool = typer.Option(False, "--traceback", help="On an error, print the full Python traceback "
                                   "(also DLFAQ_TRACEBACK=1)."),
) -> None:
    """An executable deep-learning FAQ: answers, tested components and reproducible evidence."""
    _STATE["traceback"] = traceback


def _parse_id(value: str) -> int:
    try:
        qid = int(value)
    except ValueError:
        raise UserError(f"not a question id: {short(value, 40)!r} (expected a number from 1 to 18)") from None
    if not 1 <= qid <= 18:
        raise UserError(f"no question {short(qid, 30)}: ids run from 1 to 18")
    return qid


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
    entry = get_entry(_parse_id(qid))
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
    if sys.stdout.isatty():
        from rich.markdown import Markdown

        con.print(Markdown(view.answer[lang]))
    else:
        print(view.answer[lang])
    con.print("")
    rows = [[c.id, c.text[lang], LABELS[c.status][lang], _safe_effect_text(c.record, lang)] for c in view.claims]
    heads = ["论断编号", "论断", "结论", "效应 [95% 区间] (n) / 检验"] if lang == "zh" else \
        ["claim", "text", "verdict", "effect [95 % CI] (n) / check"]
    print_table(heads, rows)
    for r in shown:  # which evidence the verdicts come from, and whether a later run failed
        if r["status"] == "ok":
            line = (f"证据 {r['name']}:配置 {r['profile']},种子 {r['seed']},运行于 {r['started']}" if lang == "zh"
                    else f"evidence {r['name']}: profile {r['profile']}, seed {r['seed']}, ran {r['started']}")
        else:
            line = f"证据 {r['name']}:失败:{r['error']}" if lang == "zh" else f"evidence {r['name']}: failed: {r['error']}"
        lf = r["later_failure"]
        if lf:
            line += (f";之后 {lf['started']} 的运行失败({lf['error']}),显示的是之前的证据" if lang == "zh"
                     else f"; a later run ({lf['started']}) failed ({lf['error']}), so this earlier evidence is shown")
        print(line)
    if entry.api:
        con.print(("API: " + ", ".join(entry.api)), markup=False)


# --------------------------------------------------------------------------- run


def _select(target: str) -> list:
    qid = None if target == "all" else _parse_id(target)  # validate before importing torch
    from dlfaq.experiments import discover

    specs = list(discover().values())
    return specs if qid is None else [s for s in specs if s.question == qid]


def _safe_effect_text(v: dict | None, lang: str = "en") -> str:
    """:func:`_effect_text`, or "—" where a (schema-valid) record holds NaN/inf written as strings."""
    if not v:
        return ""
    try:
        return _effect_text(v, lang)
    except (TypeError, ValueError, KeyError):
        return "—"


def _effect_text(v: dict, lang: str = "en") -> str:
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
    out: str = typer.Option(str(DEFAULT_OUT), "--out", help="Results folder."),
    device: str = typer.Option(None, "--device", help="cpu, cuda or cuda:N (default: cuda when available)."),
    jobs: int | None = JobsOpt,
    rerun: bool = typer.Option(False, "--rerun", help="Compute every unit again (ignore cached unit results)."),
    executor: str = ExecutorOpt,
    ray_address: str = RayAddressOpt,
    cache: Path | None = CacheOpt,
    lang: str = LangOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run the experiments of one question (or all) and save their evidence (unchanged units come from the cache)."""
    lang = check_lang(lang)
    jobs = check_jobs(jobs)
    check_executor(executor, ray_address)
    if profile not in ("quick", "full"):
        raise UserError(f"--profile must be 'quick' or 'full', not {short(profile, 40)!r}")
    check_seed(seed)
    specs = _select(target)
    device = check_device(device)
    out = results_dir(out)
    cache = check_cache(cache)
    t0 = time.perf_counter()
    records = run_specs(specs, seed=seed, profile=profile, out=out, device=device, show_progress=True,
                        jobs=jobs, rerun=rerun, executor=executor, ray_address=ray_address,
                        cache=cache)
    if as_json:
        print_json({"target": target, "profile": profile, "seed": seed, "out": str(out), "experiments": records})
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
    print(f"evidence saved under {out} ({time.perf_counter() - t0:.1f}s)")
    if any(r["status"] != "ok" for r in records):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- sub-commands


def _register_subcommands() -> None:
    """Attach the command groups that live in their own modules (when present)."""
    import importlib

    for mod_name, attr in (
        ("dlfaq.commands.report", "register"),
        ("dlfaq.commands.ask", "register"),
        ("dlfaq.commands.shape", "register"),
        ("dlfaq.commands.doctor", "register"),
        ("dlfaq.commands.embeddings", "register"),
        ("dlfaq.commands.bench", "register"),
        ("dlfaq.commands.calibrate", "register"),
        ("dlfaq.commands.notebook", "register"),
    ):
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue
            raise
        getattr(mod, attr)(app)


_register_subcommands()
for _group in app.registered_groups:  # sub-groups list their commands without "..." too
    _group.cls = WideGroup
    _group.context_settings = {**HELP_SETTINGS, **(_group.context_settings or {})}


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


def main(argv: list[str] | None = None) -> None:  # noqa: C901 - one except clause per kind of failure the user must see as one line
    """Entry point: run the app, turning user mistakes into one-line errors (exit 2)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        args = ["--help"]
    _STATE["traceback"] = "--traceback" in args[: next((i for i, a in enumerate(args) if not a.startswith("-")),
                                                        len(args))]
    bad = next((i for i, a in enumerate(args) if "\0" in a), None)
    if bad is not None:  # only possible in-process: a real command line cannot carry NUL bytes
        print(f"dlfaq: error: argument {bad + 1} contains a NUL byte", file=sys.stderr)
        sys.exit(2)
    try:
        rv = app(args=args, prog_name="dlfaq", standalone_mode=False)
    except UserError as exc:
        if want_traceback() and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__)
        print(f"dlfaq: error: {_user_message(exc)}", file=sys.stderr)
        sys.exit(2)
    except ClickUsageError as exc:
        msg = " ".join(exc.format_message().split())
        print(f"dlfaq: error: {short(msg, 300)}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _interrupted()
    except ClickException as exc:
        print(f"dlfaq: error: {short(' '.join(exc.format_message().split()), 300)}", file=sys.stderr)
        sys.exit(2)
    except BrokenPipeError:  # e.g. `dlfaq list | head`
        _quiet_stdout()
        sys.exit(0)
    except OSError as exc:  # the file system said no (a path the user gave, a full disk, permissions)
        if want_traceback():
            raise
        where = f": {short(exc.filename)!r}" if getattr(exc, "filename", None) else ""
        print(f"dlfaq: error: {exc.strerror or first_line(exc)}{where}", file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        print("dlfaq: error: out of memory", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - a bug: one line unless the user asked for the traceback
        if want_traceback():
            raise
        print(_internal_error(exc), file=sys.stderr)
        sys.exit(1)
    if rv == 130:  # typer turns KeyboardInterrupt into exit code 130 without a word
        _interrupted()
    sys.exit(rv if isinstance(rv, int) else 0)


def _interrupted() -> None:
    """Ctrl-C: one line, exit 130 (128 + SIGINT), and no second traceback if Ctrl-C comes again."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        print("dlfaq: interrupted", file=sys.stderr, flush=True)
    except OSError:
        pass
    sys.exit(130)


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays silent."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
