"""The library parts never import the experiments, the report or the command line
(DESIGN.md), so `from dlfaq.nn import LSTM` stays light and usable on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import dlfaq

SRC = Path(dlfaq.__file__).parent
LIBRARY = ["nn", "train", "imbalance", "embeddings", "doctor", "shapes.py", "data.py"]
FORBIDDEN = ("dlfaq.experiments", "dlfaq.report", "dlfaq.cli", "dlfaq.commands")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_library_never_imports_experiments_report_or_cli():
    files = []
    for part in LIBRARY:
        p = SRC / part
        files += [p] if p.is_file() else sorted(p.rglob("*.py"))
    assert len(files) > 10
    bad = [
        f"{f.relative_to(SRC)} imports {m}"
        for f in files
        for m in imported_modules(f)
        if m.startswith(FORBIDDEN)
    ]
    assert bad == []


def test_experiments_do_not_import_cli_or_report():
    bad = [
        f"{f.name} imports {m}"
        for f in sorted((SRC / "experiments").glob("*.py"))
        for m in imported_modules(f)
        if m.startswith(("dlfaq.cli", "dlfaq.commands", "dlfaq.report"))
    ]
    assert bad == []
