"""Run imbalanced-learn's own tests against dlfaq's samplers (issue 16).

Copies imblearn's test files (from the installed package) into a temporary
folder, changes only their imports (after imblearn's imports, the names dlfaq
provides are re-imported from ``dlfaq.imbalance``), adds imblearn's and
scikit-learn's estimator checks over dlfaq's samplers, runs pytest there and
prints one line per test that did not pass, then the counts.

    python tests/peers/imblearn/run_suite.py [--json OUT] [-k EXPR]

Exit status 0 when >= 95 % of the applicable tests pass and every estimator
check passes, 1 otherwise. Needs ``imbalanced-learn`` and ``pandas``
(``pip install imbalanced-learn pandas``).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

# imblearn test files (relative to the installed package) whose subject dlfaq implements.
FILES = [
    "over_sampling/tests/test_random_over_sampler.py",
    "over_sampling/tests/test_adasyn.py",
    "over_sampling/tests/test_common.py",
    "over_sampling/_smote/tests/test_smote.py",
    "over_sampling/_smote/tests/test_borderline_smote.py",
    "under_sampling/_prototype_selection/tests/test_random_under_sampler.py",
    "ensemble/tests/test_easy_ensemble.py",
    "ensemble/tests/test_bagging.py",
    # dlfaq's SMOTE as the ``smote=`` of imblearn's combined samplers
    "combine/tests/test_smote_enn.py",
    "combine/tests/test_smote_tomek.py",
]

DLFAQ_NAMES = {
    "RandomOverSampler", "RandomUnderSampler", "SMOTE", "BorderlineSMOTE", "ADASYN",
    "EasyEnsembleClassifier", "BalancedBaggingClassifier",
}

# Tests that exercise imblearn classes dlfaq does not implement: they do not apply.
NOT_APPLICABLE = {
    "test_common.py::test_smote_m_neighbors[svm]": "SVMSMOTE is not implemented by dlfaq",
    "test_common.py::test_numerical_smote_custom_nn[kmeans]": "KMeansSMOTE is not implemented by dlfaq",
    "test_common.py::test_numerical_smote_custom_nn[svm]": "SVMSMOTE is not implemented by dlfaq",
    "test_common.py::test_categorical_smote_k_custom_nn": "SMOTEN is not implemented by dlfaq",
    "test_common.py::test_heterogeneous_smote_k_custom_nn": "SMOTENC is not implemented by dlfaq",
    "test_common.py::test_numerical_smote_extra_custom_nn[svm]": "SVMSMOTE is not implemented by dlfaq",
}

# Applicable tests that cannot pass, and why (listed in the output instead of the error).
KNOWN_FAILURES = {
    name: ("imblearn's SMOTEENN/SMOTETomek validate smote= with isinstance(smote, imblearn's own SMOTE class) "
           "(_parameter_constraints), so no other class is accepted; the same resampling is "
           "imblearn.pipeline.make_pipeline(dlfaq SMOTE, EditedNearestNeighbours(sampling_strategy='all') / "
           "TomekLinks(sampling_strategy='all')), checked bit-identical in tests/imbalance/test_imbalance_compat.py")
    for name in (
        "test_smote_enn.py::test_sample_regular_pass_smote_enn",
        "test_smote_enn.py::test_validate_estimator_init",
        "test_smote_tomek.py::test_validate_estimator_init",
    )
}

CHECKS = '''
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._testing import ignore_warnings
from sklearn.utils.estimator_checks import parametrize_with_checks as sk_checks

from imblearn.utils.estimator_checks import _set_checking_parameters, parametrize_with_checks

from dlfaq.imbalance import (
    ADASYN, SMOTE, BalancedBaggingClassifier, BorderlineSMOTE, EasyEnsembleClassifier,
    RandomOverSampler, RandomUnderSampler,
)

SAMPLERS = [
    RandomOverSampler(random_state=42), RandomUnderSampler(random_state=42), SMOTE(random_state=42),
    BorderlineSMOTE(random_state=42), ADASYN(random_state=42),
]
ENSEMBLES = [
    EasyEnsembleClassifier(random_state=42),
    EasyEnsembleClassifier(estimator=DecisionTreeClassifier(random_state=42), random_state=42),
    BalancedBaggingClassifier(random_state=42),
]


@parametrize_with_checks(SAMPLERS + ENSEMBLES)
def test_imblearn_estimator_checks(estimator, check):
    with ignore_warnings(category=(FutureWarning, ConvergenceWarning, UserWarning)):
        _set_checking_parameters(estimator)
        check(estimator)


@sk_checks(SAMPLERS + ENSEMBLES)
def test_sklearn_check_estimator(estimator, check):
    _set_checking_parameters(estimator)
    check(estimator)
'''


def swap_imports(src: str) -> str:
    """Re-import from dlfaq, right after the file's imports, every name it takes from imblearn that dlfaq has."""
    tree = ast.parse(src)
    names: list[str] = []
    last = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno or node.lineno
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("imblearn"):
                names += [a.asname or a.name for a in node.names if a.name in DLFAQ_NAMES]
    if not names:
        return src
    lines = src.splitlines(keepends=True)
    line = f"from dlfaq.imbalance import {', '.join(sorted(set(names)))}  # imports swapped to dlfaq\n"
    return "".join(lines[:last] + [line] + lines[last:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write per-test outcomes to this file")
    ap.add_argument("-k", help="pytest -k expression (subset)")
    args = ap.parse_args(argv)
    import imblearn

    root = Path(imblearn.__file__).parent
    with tempfile.TemporaryDirectory(prefix="dlfaq-imblearn-") as tmp:
        tmpd = Path(tmp)
        for rel in FILES:
            (tmpd / Path(rel).name).write_text(swap_imports((root / rel).read_text()))
        (tmpd / "test_estimator_checks.py").write_text(CHECKS)
        xml = tmpd / "report.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
               "-W", "ignore::DeprecationWarning", "--continue-on-collection-errors", f"--junitxml={xml}", "--rootdir", str(tmpd), str(tmpd)]
        if args.k:
            cmd += ["-k", args.k]
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        proc = subprocess.run(cmd, cwd=tmpd, env=env, capture_output=True, text=True)
        if not xml.exists():
            print(proc.stdout[-4000:], proc.stderr[-4000:])
            return 1
        outcomes = {}
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = f"{case.get('classname', '').split('.')[-1]}.py::{case.get('name')}"
            res, msg = "passed", ""
            for tag in ("failure", "error", "skipped"):
                el = case.find(tag)
                if el is not None:
                    res = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                    msg = (el.get("message") or "").splitlines()[0][:200] if el.get("message") else ""
                    if tag == "skipped" and "xfail" in (el.get("type") or "") + msg:
                        res = "xfailed"
            outcomes[name] = (res, msg)
    own = {n: o for n, o in outcomes.items() if not n.startswith("test_estimator_checks.py")}
    checks = {n: o for n, o in outcomes.items() if n.startswith("test_estimator_checks.py")}
    applicable = {n: o for n, o in own.items() if n not in NOT_APPLICABLE}
    passed = sum(o[0] == "passed" for o in applicable.values())
    for n, (res, msg) in sorted(outcomes.items()):
        if n in NOT_APPLICABLE:
            print(f"n/a      {n}: {NOT_APPLICABLE[n]}")
        elif res != "passed":
            print(f"{res:8s} {n}: {KNOWN_FAILURES.get(n, msg)}")
    c_bad = {n: o for n, o in checks.items() if o[0] in ("failed", "error")}
    c_pass = sum(o[0] == "passed" for o in checks.values())
    print(f"imblearn's own tests (imports swapped): {passed}/{len(applicable)} applicable passed "
          f"({len(own) - len(applicable)} not applicable)")
    print(f"estimator checks (imblearn + scikit-learn check_estimator): {c_pass}/{len(checks)} passed, "
          f"{len(c_bad)} failed, {len(checks) - c_pass - len(c_bad)} skipped")
    if args.json:
        Path(args.json).write_text(json.dumps({n: list(o) for n, o in outcomes.items()}, indent=1))
    ok = applicable and passed >= 0.95 * len(applicable) and not c_bad
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
