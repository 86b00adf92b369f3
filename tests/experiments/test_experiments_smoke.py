"""Every experiment, in the test-only smoke profile: it runs, judges exactly its claims, and every
verdict record is one the evidence rules accept (kind, n, effect inside its interval, margin,
verdict equal to the rule's)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dlfaq.experiments import (
    RunContext,
    discover,
    expected_claims,
    plan,
    run_experiment,
    run_unit,
    stats,
)
from dlfaq.experiments._core import _jsonable

ALL = sorted(discover())



def _check_record(v: dict, names: set[str]) -> None:
    assert v["kind"] in ("check", "experiment"), v
    assert v["verdict"] in stats.VERDICTS
    for field in ("reason", "rule"):
        assert v[field]["en"].strip() and v[field]["zh"].strip(), (v["claim"], field)
    for ref in v.get("evidence", []):
        assert ref in names, f"{v['claim']}: evidence {ref!r} names no figure or table of the experiment"
    if v["kind"] == "check":
        assert v["verdict"] in stats.CHECK_VERDICTS
        return
    assert v["verdict"] != "partly" or v["parts"], "partly is only for claims with parts"
    items = v["parts"] or [v]
    decided = []
    for item in items:
        lo, hi = item["ci"]
        assert item["n"] >= stats.MIN_RUNS["smoke"]
        assert lo <= item["effect"] <= hi, item
        assert item["margin"] is not None and item["margin"] >= 0
        assert item["unit"] in stats.UNIT_ZH, f"unit {item['unit']!r} has no Chinese name in stats.UNIT_ZH"
        e = stats.Effect(item["effect"], (lo, hi), item["n"], item["unit"])
        decided.append(stats.decide(e, item["margin"]))
    verdict = stats.combine(decided) if v["parts"] else decided[0]
    if v["control"] is not None:
        c = v["control"]
        assert c["unit"] in stats.UNIT_ZH, f"unit {c['unit']!r} has no Chinese name in stats.UNIT_ZH"
        assert c["reproduced"] == (c["verdict"] == "supported")
        if not c["reproduced"]:
            verdict = "inconclusive"
    assert v["verdict"] == verdict, v["claim"]


@pytest.mark.parametrize("name", ALL)
def test_smoke_run(name: str, tmp_path: Path) -> None:
    spec = discover()[name]
    rec = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path))
    assert rec["status"] == "ok", rec.get("traceback")
    judged = [v["claim"] for v in rec["verdicts"]]
    assert sorted(judged) == sorted(expected_claims(spec)) and not rec["missing_verdicts"]
    names = {f["name"] for f in rec["figures"]} | {t["name"] for t in rec["tables"]}
    for v in rec["verdicts"]:
        _check_record(v, names)
    # every placeholder of the answers that names this experiment resolves against its evidence
    from dlfaq.faq import get_entry
    from dlfaq.report import quotes

    entry = get_entry(spec.question)
    mine = {c.id for c in entry.claims if c.tested_by == name}
    for lang in ("en", "zh"):
        for p in quotes.parse(entry.answer[lang]):
            if p.experiment == spec.short or p.claim in mine:
                quotes.format_value(quotes.value(p, spec.question, {name: rec}), p.fmt)
    folder = tmp_path / f"q{spec.question:02d}" / spec.short
    for fig in rec["figures"]:
        assert (folder / fig["file"]).is_file()


@pytest.mark.parametrize("name", [n for n in ALL if discover()[n].study is not None])
def test_merge_does_not_depend_on_unit_order(name: str, tmp_path: Path) -> None:
    """The units can run in any order or place: merging them shuffled gives the same evidence."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    spec = discover()[name]
    ctx = RunContext(profile="smoke", out_dir=tmp_path)
    units = plan(spec, ctx)
    results = {u.key: run_unit(spec, ctx, u) for u in reversed(units)}
    assert spec.study is not None
    a = spec.study.merge(ctx, {u.key: results[u.key] for u in units})
    keys = [u.key for u in units]
    random.Random(0).shuffle(keys)
    b = spec.study.merge(ctx, {k: results[k] for k in keys})
    plt.close("all")
    dump = lambda ev: json.dumps([_jsonable(ev.metrics), [v.to_json() for v in ev.verdicts],  # noqa: E731
                                  [t.to_json() for t in ev.tables]], sort_keys=True)
    assert dump(a) == dump(b)


@pytest.mark.parametrize("name", ALL)
def test_metrics_and_verdicts_are_deterministic(name: str, tmp_path: Path) -> None:
    spec = discover()[name]
    a = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "a"))
    b = run_experiment(spec, RunContext(profile="smoke", out_dir=tmp_path / "b"))
    assert a["metrics"] == b["metrics"]
    assert a["verdicts"] == b["verdicts"]
