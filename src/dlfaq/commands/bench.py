"""``dlfaq bench``: list and run the benchmark scripts.

Benchmarks time a dlfaq component against its anchor library in the same run
and print the ratio (ours / anchor). They live in ``benchmarks/`` next to
``src/``; the wheel installs the same scripts as data files under
``PREFIX/share/dlfaq/benchmarks`` (``pyproject.toml``, ``[tool.setuptools.data-files]``),
so ``dlfaq bench`` works from a source checkout and after ``pip install .`` alike.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import typer

import dlfaq
from dlfaq.commands._common import (
    JsonOpt,
    UserError,
    command_group,
    is_dir,
    print_json,
    print_table,
    short,
)

bench_app = command_group("bench", "Speed and memory against the anchor libraries.")

SHARE = Path("share") / "dlfaq" / "benchmarks"


def bench_dirs() -> list[Path]:
    """Where benchmark scripts may be, in order: $DLFAQ_BENCHMARKS, the source checkout, the install prefixes."""
    pkg = Path(dlfaq.__file__).resolve().parent
    cands = []
    if os.environ.get("DLFAQ_BENCHMARKS"):
        cands.append(Path(os.environ["DLFAQ_BENCHMARKS"]))
    cands.append(pkg.parents[1] / "benchmarks")  # src/dlfaq -> the checkout's benchmarks/
    # PREFIX/lib/pythonX.Y/site-packages/dlfaq -> PREFIX/share/... (venv, --prefix, --user, system)
    prefixes = [pkg.parents[3], Path(sys.prefix), Path(sysconfig.get_paths()["data"])]
    if site.USER_BASE:
        prefixes.append(Path(site.USER_BASE))
    cands += [p / SHARE for p in prefixes]
    seen: list[Path] = []
    for c in cands:
        if c not in seen:
            seen.append(c)
    return seen


def _bench_dir() -> Path:
    for d in bench_dirs():
        if is_dir(d) and any(d.glob("bench_*.py")):
            return d
    raise UserError("no benchmark scripts found: reinstall dlfaq from its source (pip install . puts them in "
                    f"{Path(sys.prefix) / SHARE}), run from a git checkout, or set DLFAQ_BENCHMARKS=DIR")


def _scripts() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(_bench_dir().glob("bench_*.py"))}


def _summary(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().strip('"').strip()
        if line and not line.startswith(("#", "from", "import")):
            return line
    return ""


@bench_app.command("list")
def list_cmd(as_json: bool = JsonOpt) -> None:
    """The available benchmarks."""
    scripts = _scripts()
    if as_json:
        print_json([{"name": n, "path": str(p), "summary": _summary(p)} for n, p in scripts.items()])
        return
    print_table(["name", "what"], [[n, _summary(p)] for n, p in scripts.items()])


@bench_app.command("run", context_settings={"ignore_unknown_options": True})
def run_cmd(
    name: str = typer.Argument(..., help="A name from `dlfaq bench list`."),
    args: list[str] = typer.Argument(None, help="Extra arguments passed to the script (e.g. --json)."),
) -> None:
    """Run one benchmark script with this interpreter."""
    scripts = _scripts()
    if name not in scripts:
        raise UserError(f"unknown benchmark {short(name, 40)!r}; choose one of: {', '.join(scripts)}")
    rc = subprocess.call([sys.executable, str(scripts[name]), *(args or [])])
    raise typer.Exit(rc)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
