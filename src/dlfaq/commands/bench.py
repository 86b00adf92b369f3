"""``dlfaq bench``: list and run the benchmark scripts of a source checkout.

Benchmarks time a dlfaq component against its anchor library in the same run
and print the ratio (ours / anchor). They live in ``benchmarks/`` next to
``src/`` and are not installed with the package.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from dlfaq.commands._common import JsonOpt, UserError, print_json, print_table

bench_app = typer.Typer(help="Speed and memory against the anchor libraries (source checkout only).", no_args_is_help=True)


def _bench_dir() -> Path:
    import dlfaq

    d = Path(dlfaq.__file__).resolve().parents[2] / "benchmarks"
    if not d.is_dir():
        raise UserError("no benchmarks/ folder: benchmarks ship with the source checkout (git clone, pip install -e .)")
    return d


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


@bench_app.command("run")
def run_cmd(
    name: str = typer.Argument(..., help="A name from `dlfaq bench list`."),
    args: list[str] = typer.Argument(None, help="Extra arguments passed to the script."),
) -> None:
    """Run one benchmark script with this interpreter."""
    scripts = _scripts()
    if name not in scripts:
        raise UserError(f"unknown benchmark {name!r}; choose one of: {', '.join(scripts)}")
    rc = subprocess.call([sys.executable, str(scripts[name]), *(args or [])])
    raise typer.Exit(rc)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
