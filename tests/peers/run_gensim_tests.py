"""Run gensim's own loader and evaluation tests against dlfaq (imports changed, nothing else).

    python tests/peers/run_gensim_tests.py [--source installed|sdist] [--against dlfaq|gensim]

What it does:

1. takes gensim's test files and ``test_data`` from the installed wheel (which
   ships them), or with ``--source sdist`` from the source distribution of the
   installed version (``pip download gensim==V --no-binary :all: --no-deps``);
2. copies them into a temporary folder (the tests write files next to their
   data) and changes only imports and qualified names: ``KeyedVectors`` and
   ``_load_word2vec_format`` come from :mod:`dlfaq.embeddings.gensim_compat`
   (gensim's class with dlfaq's loader and evaluations), and the
   ``KeyedVectors`` that ``gensim.models.word2vec`` imports (the class of a
   trained model's ``.wv``) is that class too (gensim's class with dlfaq's
   loader, evaluations and ``most_similar`` ranking);
3. installs gensim's test dependency ``testfixtures`` if it is missing
   (``--no-install`` to refuse), runs the selected tests with pytest, and prints
   the pass counts: *evaluation* (the tests of gensim's suite that call
   ``evaluate_word_analogies`` / ``evaluate_word_pairs``) and *loaders*
   (``test_keyedvectors.py`` and ``test_datatype.py``, whose every test loads
   through ``load_word2vec_format`` — its nine ``most_similar`` tests
   included, which then rank with dlfaq's ``most_similar`` — and the tests of
   ``test_word2vec.py`` that call it) and *similarity* (the other tests of
   ``test_word2vec.py`` that call ``most_similar`` on a trained model's ``.wv``).

``--against gensim`` runs the same selection unchanged, as the baseline. The
exit status is 0 when every selected test passes. The slow test tier runs it
(``tests/embeddings/test_embeddings_peers.py``).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

EVALUATION = {
    "test_word2vec.py": ["test_evaluate_word_analogies", "test_evaluate_word_pairs",
                         "test_evaluate_word_pairs_from_file"],
}
LOADER_FILES = ("test_keyedvectors.py", "test_datatype.py")
LOADER_SCAN = ("test_word2vec.py",)  # tests here that call load_word2vec_format
SIMILARITY_SCAN = ("test_word2vec.py",)  # tests here that call most_similar (on a trained .wv)

CONFTEST = '''"""Written by dlfaq's run_gensim_tests.py: gensim's data from this folder{swap_doc}."""
import os

import gensim.test.utils as _utils

_utils.module_path = os.path.dirname(os.path.abspath(__file__))  # datapath() -> ./test_data
{swap}
'''
SWAP = '''
import gensim.models.word2vec as _w2v
from dlfaq.embeddings import gensim_compat as _compat

_w2v.KeyedVectors = _compat.KeyedVectors  # the class of a trained model's .wv
'''


def gensim_test_dir(source: str, work: Path) -> Path:
    import gensim

    if source == "installed":
        d = Path(gensim.__file__).parent / "test"
        if not (d / "test_data").is_dir():
            raise SystemExit(f"{d} has no test_data; use --source sdist")
        return d
    dl = work / "sdist"
    dl.mkdir()
    cmd = [sys.executable, "-m", "pip", "download", f"gensim=={gensim.__version__}", "--no-binary",
           ":all:", "--no-deps", "--no-build-isolation", "-d", str(dl)]
    subprocess.run(cmd, check=True)
    archive = next(dl.glob("gensim-*.tar.gz"))
    with tarfile.open(archive) as tf:
        tf.extractall(dl, filter="data")
    return next(dl.glob("gensim-*/gensim/test"))


def rewrite(text: str) -> str:
    """Only imports and qualified names change."""
    out = text

    def split_import(m: re.Match[str]) -> str:
        names = [n.strip() for n in m.group(1).split(",")]
        rest = [n for n in names if n != "KeyedVectors"]
        lines = ["from dlfaq.embeddings.gensim_compat import KeyedVectors"]
        if rest:
            lines.insert(0, f"from gensim.models.keyedvectors import {', '.join(rest)}")
        return "\n".join(lines)

    out = re.sub(r"^from gensim\.models\.keyedvectors import ([\w, ]*KeyedVectors[\w, ]*)$",
                 split_import, out, flags=re.M)
    out = re.sub(r"^from gensim\.models import KeyedVectors$",
                 "from dlfaq.embeddings.gensim_compat import KeyedVectors", out, flags=re.M)
    out = out.replace("gensim.models.keyedvectors._load_word2vec_format",
                      "dlfaq.embeddings.gensim_compat._load_word2vec_format")
    out = out.replace("gensim.models.KeyedVectors", "dlfaq.embeddings.gensim_compat.KeyedVectors")
    out = re.sub(r"(?<![\w.])keyedvectors\.KeyedVectors", "gensim_compat.KeyedVectors", out)
    header = "import dlfaq.embeddings.gensim_compat\nfrom dlfaq.embeddings import gensim_compat\n"
    return header + out


def tests_calling(path: Path, name: str) -> list[str]:
    """``Class::test`` ids of the test methods whose source mentions ``name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ids = []
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test") and \
                        name in ast.unparse(fn):
                    ids.append(f"{cls.name}::{fn.name}")
    return ids


def class_of(path: Path, test: str) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef) and any(
                isinstance(f, ast.FunctionDef) and f.name == test for f in cls.body):
            return cls.name
    raise SystemExit(f"{path.name} has no test {test}: gensim's suite changed, update the selection")


def ensure_deps(install: bool) -> None:
    if importlib.util.find_spec("testfixtures") is None:
        if not install:
            raise SystemExit("gensim's tests need testfixtures: pip install testfixtures")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "testfixtures"], check=True)


def run(args: argparse.Namespace) -> int:
    ensure_deps(not args.no_install)
    with tempfile.TemporaryDirectory(prefix="dlfaq-gensim-") as tmp:
        work = Path(tmp)
        src = gensim_test_dir(args.source, work)
        dest = work / "peer"
        dest.mkdir()
        shutil.copytree(src / "test_data", dest / "test_data")
        swap = args.against == "dlfaq"
        (dest / "conftest.py").write_text(CONFTEST.format(
            swap=SWAP if swap else "", swap_doc=", KeyedVectors swapped for dlfaq's" if swap else ""))
        files = sorted({*EVALUATION, *LOADER_FILES, *LOADER_SCAN})
        for f in files:
            text = (src / f).read_text(encoding="utf-8")
            (dest / f).write_text(rewrite(text) if swap else text, encoding="utf-8")
        groups: dict[str, list[str]] = {"evaluation": [], "loaders": [], "similarity": []}
        for f, tests in EVALUATION.items():
            groups["evaluation"] += [f"{f}::{class_of(src / f, t)}::{t}" for t in tests]
        groups["loaders"] += list(LOADER_FILES)
        for f in LOADER_SCAN:
            groups["loaders"] += [f"{f}::{t}" for t in tests_calling(src / f, "load_word2vec_format")]
        taken = set(groups["evaluation"]) | set(groups["loaders"])
        for f in SIMILARITY_SCAN:
            groups["similarity"] += [i for t in tests_calling(src / f, "most_similar")
                                     if (i := f"{f}::{t}") not in taken]
        totals: dict[str, tuple[int, int, list[str]]] = {}
        for group, ids in groups.items():
            xml = work / f"{group}.xml"
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                   "-W", "ignore::DeprecationWarning", f"--junitxml={xml}", *ids]
            subprocess.run(cmd, cwd=dest, check=False,
                           stdout=None if args.verbose else subprocess.DEVNULL)
            totals[group] = _count(xml)
    against = "dlfaq (imports swapped)" if swap else "gensim (unchanged)"
    ok = True
    for group, (passed, total, failed) in totals.items():
        print(f"gensim {group} tests against {against}: {passed}/{total} pass")
        for f in failed:
            print(f"  FAILED {f}")
        ok &= passed == total and total > 0
    return 0 if ok else 1


def _count(xml: Path) -> tuple[int, int, list[str]]:
    if not xml.is_file():
        return 0, 0, ["(pytest wrote no report)"]
    root = ET.parse(xml).getroot()
    total, failed = 0, []
    for case in root.iter("testcase"):
        total += 1
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None or case.find("skipped") is not None:
            msg = (bad.get("message") if bad is not None else "skipped") or ""
            failed.append(f"{case.get('classname')}::{case.get('name')}: {msg.splitlines()[0][:160] if msg else ''}")
    return total - len(failed), total, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=("installed", "sdist"), default="installed")
    ap.add_argument("--against", choices=("dlfaq", "gensim"), default="dlfaq")
    ap.add_argument("--no-install", action="store_true", help="do not pip install testfixtures")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
