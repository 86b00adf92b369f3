"""The per-question notebooks: one per question, valid nbformat v4, code that compiles and uses only
dlfaq's public API (no private module or name, no experiment runner); the CLI writes them; one
notebook executes headlessly in the slow tier."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest

from dlfaq.cli import main
from dlfaq.notebooks import QUESTIONS, build_notebook, write_all, write_notebook, written_by_dlfaq

RUNNERS = {"run_experiment", "run_unit", "Study", "experiment", "discover", "run_specs"}


def _code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("qid", QUESTIONS)
def test_notebook_valid_compiles_and_public(qid):
    nb = build_notebook(qid)
    nbformat.validate(nb)
    assert nb.metadata["dlfaq"]["question"] == qid
    code = _code(nb)
    assert sum("PROFILE = \"quick\"" in c for c in code) == 1  # exactly one marked sizes cell
    dlfaq_names: set[str] = set()
    for i, src in enumerate(code):
        tree = ast.parse(compile(src, f"q{qid:02d}-cell{i}", "exec", ast.PyCF_ONLY_AST))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlfaq"):
                parts = node.module.split(".")
                assert not any(p.startswith("_") for p in parts), node.module
                assert parts[:2] != ["dlfaq", "experiments"] or node.module == "dlfaq.experiments" and \
                    all(a.name == "stats" for a in node.names), f"Q{qid}: experiment module {node.module}"
                for a in node.names:
                    assert not a.name.startswith("_"), f"Q{qid}: private name {a.name}"
                    assert a.name not in RUNNERS, f"Q{qid}: runner {a.name}"
                    dlfaq_names.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    assert not a.name.startswith("dlfaq") or not any(p.startswith("_") for p in a.name.split("."))
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in dlfaq_names:
                assert not node.attr.startswith("_"), f"Q{qid}: private {node.value.id}.{node.attr}"
    assert "stats" in dlfaq_names or qid in (1, 2, 3, 10, 13, 16, 18)  # measured questions compute effects


@pytest.mark.parametrize("qid", QUESTIONS)
def test_sizes_profiles_share_their_names(qid):
    """Every size the full or smoke profile sets is a variable the quick profile defines too."""
    import importlib

    from dlfaq.notebooks.cells import Sizes

    sizes = [c for c in importlib.import_module(f"dlfaq.notebooks.q{qid:02d}").CELLS if isinstance(c, Sizes)]
    assert len(sizes) == 1
    assert set(sizes[0].full) | set(sizes[0].smoke) <= set(sizes[0].quick)
    assert all(k.isidentifier() for k in sizes[0].quick)


def test_q07_and_q15_run_one_data_and_training_cell():
    from dlfaq.notebooks.cells import MLP_TRAIN, MNIST1D_SPLIT

    for qid in (7, 15):
        code = _code(build_notebook(qid, "en"))
        assert [c for c in code if "def train(" in c or "def split(" in c] == \
            [MNIST1D_SPLIT.text(), MLP_TRAIN.text()], f"Q{qid}"


def test_shared_training_cell_trains_and_reports(one_thread):
    """The shared cells run as a reader's kernel would (setup names, SIZES variables), at tiny
    sizes: deterministic per seed, accuracies in [0, 1], the penalty and dropout reach fit."""
    import math

    import numpy as np
    import torch

    from dlfaq.notebooks.cells import MLP_TRAIN, MNIST1D_SPLIT
    from dlfaq.train.regularization import l2_penalty

    ns = {"math": math, "np": np, "torch": torch, "max_steps": 12, "patience_steps": 4}
    for cell in (MNIST1D_SPLIT, MLP_TRAIN):
        exec(compile(cell.text(), "shared-cell", "exec"), ns)  # dlfaq's own cell text, not input
    calls = []

    def penalty(model):
        calls.append(1)
        return l2_penalty(model, weight=1e-3)

    a = ns["train"](0, 60, hidden=8, p=0.5, penalty=penalty, batch=20)
    b = ns["train"](0, 60, hidden=8, p=0.5, penalty=penalty, batch=20)
    c = ns["train"](0, 60, hidden=8, batch=20)
    assert a == b and a != c  # seeded; dropout and the penalty change the run
    assert len(calls) == 2 * 12  # the penalty is evaluated once per optimizer step: 12 steps a run
    for r in (a, c):
        assert all(0.0 <= r[k] <= 1.0 for k in ("val_acc", "train_acc", "test_acc"))
        assert r["steps_to_best"] % 3 == 0 and len(r["curve"]) == 4  # 60 / 20 = 3 steps an epoch
        assert r["val_acc"] == max(r["curve"])  # early stopping restored its best epoch


def test_markdown_language():
    both, zh, en = (build_notebook(9, lang) for lang in (None, "zh", "en"))
    md = lambda nb: "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")  # noqa: E731
    assert re.search(r"[\u4e00-\u9fff]", md(zh)) and not re.search(r"[\u4e00-\u9fff]", md(en))
    assert md(both).index("随机") < md(both).index("randomness")  # zh first, then en
    assert _code(zh) == _code(en)


def test_write_all_and_overwrite_rules(tmp_path):
    paths = write_all(tmp_path)
    assert [p.name for p in paths] == [f"q{q:02d}.ipynb" for q in QUESTIONS]
    assert all(written_by_dlfaq(p) for p in paths)
    write_notebook(7, tmp_path)  # a file dlfaq wrote is overwritten
    mine = tmp_path / "other" / "q07.ipynb"
    mine.parent.mkdir()
    mine.write_text(json.dumps({"cells": [], "metadata": {}}))
    with pytest.raises(FileExistsError):
        write_notebook(7, mine.parent)
    assert json.loads(mine.read_text())["cells"] == []
    write_notebook(7, mine.parent, force=True)
    assert written_by_dlfaq(mine)


def _cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_cli_writes_and_errors(tmp_path, capsys):
    rc, out, _ = _cli(["notebook", "15", "--out", str(tmp_path), "--lang", "en"], capsys)
    assert rc == 0 and out.strip() == str(tmp_path / "q15.ipynb")
    nb = nbformat.read(tmp_path / "q15.ipynb", as_version=4)
    assert nb.metadata["dlfaq"]["lang"] == "en"
    rc, _, err = _cli(["notebook", "19", "--out", str(tmp_path)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "no question 19" in err
    rc, _, err = _cli(["notebook", "x", "--out", str(tmp_path)], capsys)
    assert rc == 2 and "not a question id" in err
    foreign = tmp_path / "q03.ipynb"
    foreign.write_text("{}")
    rc, _, err = _cli(["notebook", "3", "--out", str(tmp_path)], capsys)
    assert rc == 2 and "--force" in err and foreign.read_text() == "{}"
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc, _, err = _cli(["notebook", "3", "--out", str(blocker)], capsys)
    assert rc == 2 and err.count("\n") == 1


@pytest.mark.slow
def test_q07_notebook_executes(tmp_path):
    """Execute Q7's notebook headlessly at its smoke sizes; its outputs carry the effect and interval."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient

    nb = build_notebook(7, "en")
    for c in nb.cells:
        if c.cell_type == "code" and 'PROFILE = "quick"' in c.source:
            c.source = c.source.replace('PROFILE = "quick"', 'PROFILE = "smoke"')
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    m = re.search(r"test-accuracy gain\s+effect ([+-]\d+\.\d+) points, 95% CI \[([+-]\d+\.\d+), ([+-]\d+\.\d+)\]", text)
    assert m, text
    mean, lo, hi = map(float, m.groups())
    assert lo <= mean <= hi
    assert re.search(r"q07.reduces-overfitting: (supported|partly|contradicted|inconclusive)", text)
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
