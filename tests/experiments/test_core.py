"""The knowledge base, the experiment runner and the core commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dlfaq.experiments import (
    Evidence,
    RunContext,
    check,
    discover,
    experiment,
    load_evidence,
    run_experiment,
)
from dlfaq.experiments._core import _REGISTRY, ExperimentSpec
from dlfaq.experiments.stats import VERDICTS
from dlfaq.faq import KnowledgeBaseError, all_claims, load_all, parse_entry, validate_entry

# --------------------------------------------------------------------------- knowledge base


def test_all_18_entries_complete_in_both_languages():
    entries = load_all()
    assert [e.id for e in entries] == list(range(1, 19))
    problems = [p for e in entries for p in validate_entry(e)]
    assert problems == []


def test_claim_ids_unique_and_slugs_unique():
    ids = [c.id for e in load_all() for c in e.claims]
    assert len(ids) == len(set(ids))
    slugs = [e.slug for e in load_all()]
    assert len(slugs) == len(set(slugs))


def test_every_tested_by_names_a_registered_experiment_of_that_question():
    registry = discover()
    for claim in all_claims().values():
        if claim.tested_by is not None:
            assert claim.tested_by in registry, f"{claim.id}: unknown experiment {claim.tested_by}"
            assert registry[claim.tested_by].question == int(claim.id[1:3])
    # and every experiment judges at least one claim
    tested = {c.tested_by for c in all_claims().values()}
    assert set(registry) <= tested, set(registry) - tested


def test_parse_entry_rejects_malformed_files():
    with pytest.raises(KnowledgeBaseError, match="front matter"):
        parse_entry("no front matter")
    with pytest.raises(KnowledgeBaseError, match="TOML"):
        parse_entry("+++\nid = \n+++\n")
    with pytest.raises(KnowledgeBaseError, match="given twice"):
        parse_entry('+++\nid = 1\nslug = "x"\n[question]\nzh = "a"\nen = "b"\n+++\n<!-- en -->\nA\n<!-- en -->\nB\n')
    entry = parse_entry('+++\nid = 1\nslug = "x"\n[question]\nzh = "a"\nen = "b"\n+++\n<!-- zh -->\n短\n<!-- en -->\nshort\n')
    problems = validate_entry(entry)
    assert any("too short in zh" in p for p in problems) and any("no claims" in p for p in problems)


# --------------------------------------------------------------------------- runner

R = {"en": "a rule", "zh": "规则"}


@pytest.fixture
def toy_experiments(monkeypatch):
    """Register throw-away experiments against q03's claims and remove them afterwards."""
    added: list[str] = []

    def register(name, func):
        experiment(3, name, title="toy")(func)
        added.append(f"q03.{name}")
        return _REGISTRY[f"q03.{name}"]

    monkeypatch.setattr("dlfaq.experiments._core.expected_claims", lambda spec: ["q03.conv-output-formula"])
    yield register
    for n in added:
        _REGISTRY.pop(n, None)


def test_runner_records_failure_and_keeps_going(tmp_path, toy_experiments):
    def boom(ctx):
        raise RuntimeError("exploded on purpose")

    def fine(ctx):
        ev = Evidence(metrics={"x": 1.5})
        ev.add(check("q03.conv-output-formula", True, rule=R, reason={"en": "x=1.5", "zh": "x=1.5"}))
        return ev

    bad = toy_experiments("toy-boom", boom)
    good = toy_experiments("toy-fine", fine)
    r1 = run_experiment(bad, RunContext(out_dir=tmp_path))
    r2 = run_experiment(good, RunContext(out_dir=tmp_path))
    assert r1["status"] == "failed" and "exploded on purpose" in r1["error"]
    assert r2["status"] == "ok" and r2["verdicts"][0]["verdict"] == "supported"
    saved = load_evidence(tmp_path, "q03.toy-boom")
    assert saved is not None and saved["status"] == "failed"
    assert json.loads((tmp_path / "q03" / "toy-fine" / "evidence.json").read_text())["metrics"] == {"x": 1.5}


def test_runner_rejects_verdicts_for_claims_it_does_not_own(tmp_path, toy_experiments):
    def wrong(ctx):
        ev = Evidence()
        ev.add(check("q18.something-else", True, rule=R, reason=R))
        return ev

    rec = run_experiment(toy_experiments("toy-wrong", wrong), RunContext(out_dir=tmp_path))
    assert rec["status"] == "failed" and "not assigned" in rec["error"]


def test_rerun_replaces_evidence_atomically(tmp_path, toy_experiments):
    calls = []

    def counting(ctx):
        calls.append(1)
        ev = Evidence(metrics={"n": len(calls)})
        ev.add(check("q03.conv-output-formula", False, rule=R, reason=R))
        return ev

    spec = toy_experiments("toy-count", counting)
    run_experiment(spec, RunContext(out_dir=tmp_path))
    run_experiment(spec, RunContext(out_dir=tmp_path))
    assert load_evidence(tmp_path, "q03.toy-count")["metrics"] == {"n": 2}
    leftovers = [p.name for p in (tmp_path / "q03").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_verdict_must_be_known():
    from dlfaq.experiments import Verdict

    with pytest.raises(ValueError):
        Verdict("q03.x", "maybe", "check", R, R)
    with pytest.raises(ValueError, match="a check is"):
        Verdict("q03.x", "inconclusive", "check", R, R)
    with pytest.raises(ValueError, match="kind"):
        Verdict("q03.x", "supported", "guess", R, R)
    assert check("c", False, rule=R, reason=R).verdict == "contradicted"
    with pytest.raises(TypeError, match="both languages"):
        check("c", True, rule="english only", reason=R)


def _spec(name: str) -> ExperimentSpec:
    return discover()[name]


@pytest.mark.parametrize("name", ["q03.feature-map-sizes", "q18.logits"])
def test_same_seed_gives_identical_metrics(tmp_path, name):
    a = run_experiment(_spec(name), RunContext(seed=7, profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(_spec(name), RunContext(seed=7, profile="smoke", out_dir=tmp_path / "b"))
    assert a["status"] == b["status"] == "ok", (a.get("error"), b.get("error"))
    assert a["metrics"] == b["metrics"]
    assert [v["verdict"] for v in a["verdicts"]] == [v["verdict"] for v in b["verdicts"]]


def test_q03_experiment_verdicts_and_numbers(tmp_path):
    rec = run_experiment(_spec("q03.feature-map-sizes"), RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("error")
    m = rec["metrics"]
    assert m["formula_vs_trace_agree"] == m["layers_checked"]
    # Published figures: ResNet-18 has 11,689,512 parameters and a 435-pixel receptive field
    # at its last conv layer; LeNet-5 as built here has 61,706 parameters.
    assert m["resnet18_params"] == 11_689_512
    assert m["resnet18_final_receptive_field"] == 435
    assert m["lenet5_params"] == 61_706
    assert {v["claim"] for v in rec["verdicts"]} == {
        "q03.conv-output-formula",
        "q03.pooling-same-formula",
        "q03.formula-is-complete",
    }
    assert (tmp_path / "q03" / "feature-map-sizes" / "receptive-field.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- command line


def dlfaq(*args: str, cwd: Path | None = None, env_lang: str = "en_US.UTF-8") -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "LANG": env_lang, "LC_ALL": "", "LC_MESSAGES": ""}
    return subprocess.run(
        [sys.executable, "-m", "dlfaq", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_cli_list_json_schema():
    r = dlfaq("list", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data) == 18
    for item in data:
        assert {"id", "slug", "question", "claims"} <= set(item)
        assert set(item["question"]) == {"zh", "en"}
        for c in item["claims"]:
            assert set(c["text"]) == {"zh", "en"} and c["id"].startswith(f"q{item['id']:02d}.")


def test_cli_run_json(tmp_path):
    r = dlfaq("run", "3", "--json", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    (exp,) = data["experiments"]
    assert exp["name"] == "q03.feature-map-sizes" and exp["status"] == "ok"
    assert exp["metrics"]["layers_checked"] > 30
    for v in exp["verdicts"]:
        assert v["verdict"] in VERDICTS and v["reason"]


@pytest.mark.parametrize(
    "args",
    [
        ("show", "19"),
        ("show", "abc"),
        ("run", "0"),
        ("run", "3", "--profile", "fast"),
        ("run", "3", "--seed", "x"),
        ("list", "--lang", "fr"),
        ("nonsense",),
    ],
)
def test_cli_user_errors_are_one_line_exit_2(args):
    r = dlfaq(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cli_unwritable_out_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = dlfaq("run", "3", "--out", str(blocker / "sub"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_language_from_locale():
    zh = dlfaq("show", "3", env_lang="zh_CN.UTF-8")
    en = dlfaq("show", "3", env_lang="en_US.UTF-8")
    assert "特征图" in zh.stdout.splitlines()[0]
    assert "feature map" in en.stdout.splitlines()[0]
    forced = dlfaq("show", "3", "--lang", "en", env_lang="zh_CN.UTF-8")
    assert "feature map" in forced.stdout.splitlines()[0]


def test_every_api_pointer_resolves():
    """The knowledge base's `api` entries name real objects (and real sub-commands)."""
    import importlib

    from dlfaq.cli import app

    commands = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    for entry in load_all():
        for api in entry.api:
            if api.startswith("dlfaq "):
                assert api.split()[1] in commands, f"q{entry.id:02d}: no command {api!r}"
                continue
            path = api.split("(")[0]
            parts = path.split(".")
            obj, i = None, len(parts)
            while i > 0:  # longest importable module prefix, then attributes
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                    break
                except ModuleNotFoundError:
                    i -= 1
            for name in parts[i:]:
                obj = getattr(obj, name, None)
                assert obj is not None, f"q{entry.id:02d}: {api!r} does not resolve"
