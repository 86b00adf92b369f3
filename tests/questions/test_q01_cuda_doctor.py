"""Q1 experiment: the exact behaviour its checks rest on, and that each rule can come out either way."""

from __future__ import annotations

from dlfaq.doctor import fixtures
from dlfaq.doctor.sandbox import Sandbox
from dlfaq.experiments import q01_cuda_doctor as q01
from dlfaq.experiments._core import Evidence


def test_ldconfig_dir_registers_until_the_next_plain_ldconfig(tmp_path):
    ld = q01.ldconfig_dir_case(tmp_path)
    assert not ld["served_before"] and ld["served_now"] and ld["healthy_now"]
    assert not ld["served_later"]  # a plain ldconfig rebuilds the cache without the folder


def test_symlink_removes_the_warning_and_verbatim_version_dangles(tmp_path):
    ln = q01.symlink_case(tmp_path)
    assert ln["warnings_before"] > 0 and ln["warnings_after"] == 0 and ln["healthy_after"]
    assert "broken-symlink" in ln["verbatim_codes"]


def test_page_commands_name_the_cases_own_files(tmp_path):
    sb = Sandbox(fixtures.build("cudnn-copied", tmp_path / "c"))
    cmds = q01.page_commands(sb)
    assert cmds[0].startswith("sudo ldconfig -r ")
    assert any(" ln -sf " in f" {c} " and c.endswith("libcudnn.so.7") for c in cmds)


def _row(name, expected, doctor_now, page_now):
    return q01.CaseResult(name, expected, [expected] if expected else [], True, 1, doctor_now, doctor_now,
                          page_now, page_now)


def test_rules_come_out_both_ways():
    ld_ok = {"served_before": False, "served_now": True, "healthy_now": True, "served_later": False,
             "healthy_later": False, "healthy_before": False}
    ln_ok = {"healthy_before": False, "warnings_before": 1, "warnings_after": 0, "healthy_after": True,
             "verbatim_codes": ["broken-symlink"]}
    all_fixed = [_row("a", "x", True, True), _row("b", "y", True, True)]
    ev = Evidence()
    q01.judge_claims(ev, all_fixed, ld_ok, ln_ok, "model")
    assert [v.verdict for v in ev.verdicts] == ["supported"] * 3
    ev = Evidence()
    q01.judge_claims(ev, [*all_fixed, _row("c", "z", True, False)], dict(ld_ok, served_now=False),
                     dict(ln_ok, warnings_after=1), "model")
    assert [v.verdict for v in ev.verdicts] == ["contradicted"] * 3
