"""Q2 experiment: the scope of its rules and the behaviour they rest on."""

from __future__ import annotations

from dlfaq.experiments import q02_imports as q02
from dlfaq.experiments._core import Evidence


def test_failures_that_are_not_cannot_find_my_module_are_out_of_scope(tmp_path):
    for name in ("dependency-missing", "circular", "shadow-stdlib"):
        r = q02.run_project(name, tmp_path, False, [], {})
        assert not r.own_not_found and r.append_ok is None, name


def _r(name, expected, own, ok):
    return q02.ProjectResult(name, expected, 1, "", [], True, None, None, own, False, ok)


def test_rules_come_out_both_ways():
    variants = {k: True for k in (
        "append the package folder itself (/project_path/module read literally)",
        "root appended by absolute path, project moved", "root from __file__, project moved")}
    good = [_r("script-in-subfolder", q02.NOT_ON_PATH, True, True), _r("src-layout", q02.NOT_ON_PATH, True, True)]
    ev = Evidence()
    q02.judge_claims(ev, good, variants)
    assert [v.verdict for v in ev.verdicts] == ["supported", "supported"]
    ev = Evidence()
    q02.judge_claims(ev, [good[0], _r("src-layout", q02.NOT_ON_PATH, True, False)], variants)
    assert [v.verdict for v in ev.verdicts] == ["contradicted", "contradicted"]
