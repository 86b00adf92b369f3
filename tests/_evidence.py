"""Hand-made evidence records shaped exactly like ``run_experiment``'s, so tests of the readers
and of the site writer need no experiment to run (a real smoke run takes 2-20 s)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from dlfaq.faq import get_entry

NAMES = ("q03.feature-map-sizes", "q18.logits")
# A 1x1 PNG: the site copies figure files, it never decodes them.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


def _lang(s: str) -> dict[str, str]:
    return {"en": s, "zh": s}


def good_record(name: str) -> dict[str, Any]:
    """A valid schema-2 record for ``name`` judging every claim its question assigns to it."""
    q, short = name.split(".", 1)
    entry = get_entry(int(q[1:]))
    claims = [c.id for c in entry.claims if c.tested_by == name]
    verdicts: list[dict[str, Any]] = [{
        "claim": claims[0], "verdict": "supported", "kind": "check",
        "reason": _lang("228 of 228 agree"), "rule": _lang("every case agrees"), "evidence": ["fig"]}]
    control = {"name": _lang("the textbook effect"), "effect": 1.0, "ci": [0.8, 1.2], "n": 5, "unit": "pp",
               "values": [1.0, 0.9, 1.1, 1.0, 1.0], "method": "t", "margin": 0.1, "verdict": "supported",
               "reproduced": True, "source": "Somebody 2020"}
    verdicts.append({
        "claim": claims[1], "verdict": "supported", "kind": "experiment", "reason": _lang("+0.5 [0.3, 0.7]"),
        "rule": _lang("CI above the margin"), "n": 5, "effect": 0.5, "unit": "pp", "ci": [0.3, 0.7],
        "margin": 0.1, "values": [0.4, 0.5, 0.6, 0.5, 0.5], "parts": [], "control": control,
        "control_failed": False, "evidence": []})
    for c in claims[2:]:
        verdicts.append({
            "claim": c, "verdict": "partly", "kind": "experiment", "reason": _lang("two parts"),
            "rule": _lang("parts combined"), "n": None, "effect": None, "unit": "", "ci": None, "margin": None,
            "values": [], "parts": [
                {"name": _lang("part a"), "effect": 0.5, "ci": [0.3, 0.7], "n": 5, "unit": "", "values": [],
                 "method": "t", "margin": 0.1, "verdict": "supported"},
                {"name": _lang("part b"), "effect": 0.0, "ci": [-0.2, 0.2], "n": 5, "unit": "", "values": [],
                 "method": "t", "margin": 0.1, "verdict": "inconclusive"}],
            "control": None, "control_failed": False, "evidence": []})
    return {
        "schema": 2, "name": name, "question": int(q[1:]), "title": _lang(f"title of {name}"),
        "description": _lang("what it does"), "seed": 0, "profile": "quick", "device": "cpu",
        "versions": {"torch": "2"}, "started": "2026-01-01T00:00:00", "code": "abc",
        "status": "ok", "error": None, "metrics": {"x": 1.5, "bad": "nan"}, "timings": {"t": 0.1},
        "tables": [{"name": "t1", "title": "a table", "columns": ["a", "b"], "rows": [[1, 2.5], ["x", None]]}],
        "figures": [{"name": "fig", "file": "fig.png", "caption": "a figure"}],
        "verdicts": verdicts, "missing_verdicts": [], "notes": "some *notes*", "duration_s": 1.25,
    }


def write_record(results: Path, name: str, rec: Any | None = None, raw: bytes | None = None) -> Path:
    """Write ``rec`` (or ``raw`` bytes) as ``name``'s evidence.json, with its figure file; the path."""
    q, short = name.split(".", 1)
    folder = results / q / short
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fig.png").write_bytes(PNG)
    path = folder / "evidence.json"
    if raw is None:
        raw = json.dumps(good_record(name) if rec is None else rec, ensure_ascii=False).encode()
    path.write_bytes(raw)
    return path


def make_results(results: Path) -> Path:
    """A results folder holding valid evidence for :data:`NAMES`."""
    for n in NAMES:
        write_record(results, n)
    return results


def damaged(name: str, path: tuple, value: Any = None, delete: bool = False) -> dict[str, Any]:
    """``good_record(name)`` with the field at ``path`` set to ``value`` (or deleted)."""
    rec = copy.deepcopy(good_record(name))
    obj: Any = rec
    for k in path[:-1]:
        obj = obj[k]
    if delete:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return rec
