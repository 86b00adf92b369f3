"""The verdict snapshot of the quick profile (seed 0) and the README table made from it.

A change that flips a verdict must be seen in review: ``tests/snapshots/quick-seed0.json``
holds every claim's verdict and kind from a quick run, a slow test re-runs the quick
profile and compares, and the README's table of verdict counts is generated from the
snapshot (a fast test compares them). To update both on purpose after a run::

    dlfaq run all --out dlfaq-results          # quick profile, seed 0
    python -m dlfaq.report.snapshot --results dlfaq-results --write

The snapshot is never rewritten by a test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from dlfaq.experiments import load_evidence
from dlfaq.faq import load_all

ROOT = Path(__file__).resolve().parents[3]
SNAPSHOT = ROOT / "tests" / "snapshots" / "quick-seed0.json"
README = ROOT / "README.md"
BEGIN, END = "<!-- verdict-table:begin -->", "<!-- verdict-table:end -->"
COLUMNS = ("supported", "partly", "contradicted", "inconclusive")
SYMBOLS = {"supported": "✓", "partly": "~", "contradicted": "✗", "inconclusive": "?"}


def take(results_dir: Path | str) -> dict[str, Any]:
    """The snapshot of the evidence under ``results_dir``; every tested claim must have a verdict."""
    verdicts: dict[str, dict[str, str]] = {}
    profiles, seeds, problems = set(), set(), []
    for entry in load_all():
        for name in entry.experiments:
            rec = load_evidence(results_dir, name)
            if not isinstance(rec, dict) or rec.get("status") != "ok":
                problems.append(f"{name}: no successful evidence")
                continue
            profiles.add(rec.get("profile"))
            seeds.add(rec.get("seed"))
            for v in rec.get("verdicts", []):
                verdicts[v["claim"]] = {"verdict": v["verdict"], "kind": v.get("kind", "")}
        for c in entry.claims:
            if c.tested_by and c.id not in verdicts and not any(p.startswith(c.tested_by) for p in problems):
                problems.append(f"{c.id}: no verdict")
    if problems:
        raise ValueError("cannot take a snapshot: " + "; ".join(problems))
    if len(profiles) != 1 or len(seeds) != 1:
        raise ValueError(f"evidence mixes profiles {sorted(map(str, profiles))} or seeds {sorted(map(str, seeds))}")
    return {"profile": profiles.pop(), "seed": seeds.pop(), "verdicts": dict(sorted(verdicts.items()))}


def counts(snapshot: dict[str, Any]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for entry in load_all():
        row = {k: 0 for k in (*COLUMNS, "untested", "check", "experiment")}
        for c in entry.claims:
            v = snapshot["verdicts"].get(c.id)
            if v is None:
                row["untested"] += 1
                continue
            row[v["verdict"]] += 1
            if v["kind"] in ("check", "experiment"):
                row[v["kind"]] += 1
        out[entry.id] = row
    return out


def readme_table(snapshot: dict[str, Any]) -> str:
    """The Markdown table of verdict counts per question, as the README shows it."""
    lines = [
        "| # | Question | ✓ supported | ~ partly | ✗ contradicted | ? inconclusive | · not tested | exact checks "
        "| experiments |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    cols = (*COLUMNS, "untested", "check", "experiment")
    total = dict.fromkeys(cols, 0)
    by_id = {e.id: e for e in load_all()}
    for qid, row in counts(snapshot).items():
        for k in total:
            total[k] += row[k]
        lines.append(f"| {qid} | {by_id[qid].question['en']} | " + " | ".join(str(row[k]) for k in cols) + " |")
    lines.append("| | **all** | " + " | ".join(f"**{total[k]}**" for k in cols) + " |")
    return "\n".join(lines)


def readme_block(text: str) -> str:
    """The generated table currently in the README text (between the markers)."""
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    if not m:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    return m.group(1).rstrip("\n")


def write(results_dir: Path | str, snapshot_path: Path = SNAPSHOT, readme: Path = README) -> dict[str, Any]:
    snap = take(results_dir)
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot_path.write_text(json.dumps(snap, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = readme.read_text(encoding="utf-8")
    readme_block(text)  # refuse a README without the markers
    new = re.sub(re.escape(BEGIN) + r"\n.*?" + re.escape(END),
                 lambda _m: f"{BEGIN}\n{readme_table(snap)}\n{END}", text, flags=re.S)
    readme.write_text(new, encoding="utf-8")
    return snap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dlfaq.report.snapshot", description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=Path("dlfaq-results"))
    ap.add_argument("--write", action="store_true", help="rewrite the snapshot file and the README table")
    args = ap.parse_args(argv)
    try:
        snap = take(args.results) if not args.write else write(args.results)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    old = json.loads(SNAPSHOT.read_text(encoding="utf-8")) if SNAPSHOT.is_file() and not args.write else None
    if old is not None:
        flips = {c: (old["verdicts"].get(c), v) for c, v in snap["verdicts"].items() if old["verdicts"].get(c) != v}
        for c, (a, b) in sorted(flips.items()):
            print(f"{c}: {a} -> {b}")
        print(f"{len(flips)} verdicts differ from the snapshot")
    else:
        print(readme_table(snap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
