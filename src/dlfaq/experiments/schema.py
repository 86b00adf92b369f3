"""Reading evidence back from disk: every record is checked against a small schema first.

``evidence.json`` files (and ``calibration.json``) are data anyone can edit, copy
from another machine or damage. Before the report or ``dlfaq show`` uses one,
:func:`check_record` checks every field the readers rely on (types, the verdict
words, the record's name against the folder it lies in) and that each figure's
``file`` is a plain ``NAME.png`` that resolves to a file inside the evidence
folder (so ``"../../../x"`` or a link pointing out of the results folder is
refused). A problem is one line naming the file and the field
(``q03/feature-map-sizes/evidence.json: verdicts[0].claim: missing``); the
record is then shown as a failed one with that line, and the rest of the report
renders. A missing figure only drops that figure (also with one line).

The schema is what :func:`dlfaq.experiments._core.run_experiment` writes; it is
hand-written here (no schema library) because it is small and the messages
should read like the rest of dlfaq's.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlfaq.experiments.calibration import CALIBRATION_FILE
from dlfaq.experiments.stats import VERDICTS

KINDS = ("check", "experiment")
STATUSES = ("ok", "failed")
#: An experiment's name, ``qNN.short``; the short part names a folder.
NAME_RE = re.compile(r"^q\d\d\.[a-z0-9][a-z0-9-]{0,63}$")
FIGURE_FILE_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}\.png$")
#: The largest evidence file read (the largest written so far is well under 1 MB).
MAX_BYTES = 32 * 2**20
FAILED_FILE = "evidence.failed.json"
NONFINITE = ("nan", "inf", "-inf")


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (keys come from the file)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class Bad(Exception):
    """A schema violation: ``field`` is a dotted path inside the file. The message is one line
    whatever the file's keys and values contain."""

    def __init__(self, field: str, why: str) -> None:
        field, why = _one_line(field), _one_line(why)
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def _obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Bad(where or "(top level)", f"must be an object, not {_type_name(v)}")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise Bad(where, f"must be a list, not {_type_name(v)}")
    return v


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise Bad(where, f"must be a string, not {_type_name(v)}")
    return v


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise Bad(where, f"must be an integer, not {_type_name(v)}")
    return v


def _num(v: Any, where: str) -> float | str:
    """A JSON number, or one of the strings ``_jsonable`` writes for NaN and infinities."""
    if isinstance(v, str) and v in NONFINITE:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Bad(where, f"must be a number, not {_type_name(v)}")
    return v


def _text(v: Any, where: str) -> None:
    """A sentence: a string, or ``{"en": str, "zh": str}`` (either language may be missing)."""
    if isinstance(v, str):
        return
    d = _obj(v, where)
    for k, x in d.items():
        _str(x, f"{where}.{k}")


def _langs(v: Any, where: str) -> None:
    """``{"en": str, "zh": str}`` as run_experiment writes titles and names (a language may be missing)."""
    d = _obj(v, where)
    for k, x in d.items():
        _str(x, f"{where}.{k}")


def _opt(d: dict[str, Any], key: str, check: Callable[[Any, str], Any], where: str, null: bool = False) -> None:
    """Check ``d[key]`` when present; ``null``: run_experiment may write None there."""
    if key in d and not (null and d[key] is None):
        check(d[key], f"{where}{key}")


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise Bad(f"{where}{key}", "missing")
    return d[key]


def _ci(v: Any, where: str) -> None:
    lst = _list(v, where)
    if len(lst) != 2:
        raise Bad(where, f"must be two numbers [low, high], not {len(lst)}")
    for i, x in enumerate(lst):
        _num(x, f"{where}[{i}]")


def _effect_fields(d: dict[str, Any], where: str) -> None:
    """``effect``, ``ci``, ``n``, ``margin`` of a verdict, a part or a control."""
    _num(_need(d, "effect", where), f"{where}effect")
    _ci(_need(d, "ci", where), f"{where}ci")
    _int(_need(d, "n", where), f"{where}n")
    _num(_need(d, "margin", where), f"{where}margin")
    _opt(d, "unit", _str, where)
    if "values" in d:
        for i, x in enumerate(_list(d["values"], f"{where}values")):
            _num(x, f"{where}values[{i}]")


def _part(v: Any, where: str) -> None:
    d = _obj(v, where)
    _langs(_need(d, "name", f"{where}."), f"{where}.name")
    _effect_fields(d, f"{where}.")
    if "verdict" in d and d["verdict"] not in VERDICTS:
        raise Bad(f"{where}.verdict", f"unknown verdict word {d['verdict']!r}")


def _control(v: Any, where: str) -> None:
    d = _obj(v, where)
    _langs(_need(d, "name", f"{where}."), f"{where}.name")
    _effect_fields(d, f"{where}.")
    _opt(d, "source", _str, f"{where}.")
    if "reproduced" in d and not isinstance(d["reproduced"], bool):
        raise Bad(f"{where}.reproduced", f"must be true/false, not {_type_name(d['reproduced'])}")


def _verdict(v: Any, where: str) -> str:
    d = _obj(v, where)
    claim = _str(_need(d, "claim", f"{where}."), f"{where}.claim")
    word = _need(d, "verdict", f"{where}.")
    if word not in VERDICTS:
        raise Bad(f"{where}.verdict", f"unknown verdict word {word!r} (one of {', '.join(VERDICTS)})")
    kind = _need(d, "kind", f"{where}.")
    if kind not in KINDS:
        raise Bad(f"{where}.kind", f"must be 'check' or 'experiment', not {kind!r}")
    _opt(d, "reason", _text, f"{where}.")
    _opt(d, "rule", _text, f"{where}.")
    parts = _list(d.get("parts", []), f"{where}.parts")
    for i, p in enumerate(parts):
        _part(p, f"{where}.parts[{i}]")
    if kind == "experiment" and not parts:
        _effect_fields(d, f"{where}.")
    else:  # a check, or an effect made of parts: the single-effect fields are null or absent
        for key, check in (("effect", _num), ("ci", _ci), ("n", _int), ("margin", _num)):
            _opt(d, key, check, f"{where}.", null=True)
        _opt(d, "unit", _str, f"{where}.")
        if "values" in d:
            for i, x in enumerate(_list(d["values"], f"{where}.values")):
                _num(x, f"{where}.values[{i}]")
    _opt(d, "control", _control, f"{where}.", null=True)
    if "control_failed" in d and not isinstance(d["control_failed"], bool):
        raise Bad(f"{where}.control_failed", f"must be true/false, not {_type_name(d['control_failed'])}")
    if "evidence" in d:
        for i, x in enumerate(_list(d["evidence"], f"{where}.evidence")):
            _str(x, f"{where}.evidence[{i}]")
    return claim


def _table(v: Any, where: str) -> None:
    d = _obj(v, where)
    _str(_need(d, "name", f"{where}."), f"{where}.name")
    _opt(d, "title", _str, f"{where}.")
    cols = _list(_need(d, "columns", f"{where}."), f"{where}.columns")
    for i, row in enumerate(_list(_need(d, "rows", f"{where}."), f"{where}.rows")):
        r = _list(row, f"{where}.rows[{i}]")
        if len(r) != len(cols):
            raise Bad(f"{where}.rows[{i}]", f"has {len(r)} cells for {len(cols)} columns")


def check_record(rec: Any, name: str, folder: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """Check one evidence record; returns it (figures that are missing dropped) and the minor problems.

    Raises :class:`Bad` for anything that makes the record unusable. ``folder``
    is the evidence folder the figures must lie in (not checked when None).
    """
    d = _obj(rec, "")
    _identity(d, name)
    _run_fields(d)
    for i, t in enumerate(_list(d.get("tables", []), "tables")):
        _table(t, f"tables[{i}]")
    _verdicts(d)
    figures, problems = _figures(d, folder)
    if len(figures) != len(d.get("figures", [])):
        d = {**d, "figures": figures}
    return d, problems


def _identity(d: dict[str, Any], name: str) -> None:
    """``name``, ``status`` and ``question``: the record is the one its folder says it is."""
    got = _str(_need(d, "name", ""), "name")
    if got != name:
        raise Bad("name", f"is {got!r} but the file lies in the folder of {name!r}")
    status = _need(d, "status", "")
    if status not in STATUSES:
        raise Bad("status", f"must be 'ok' or 'failed', not {status!r}")
    _opt(d, "question", _int, "")
    if "question" in d and d["question"] != int(name[1:3]):
        raise Bad("question", f"is {d['question']} but the record is {name!r}")


def _run_fields(d: dict[str, Any]) -> None:
    """What run_experiment writes about the run: titles, profile, device, seed, timings ..."""
    for key in ("title", "description"):
        _opt(d, key, _langs, "")
    for key in ("profile", "device", "started", "code", "traceback", "notes"):
        _opt(d, key, _str, "")
    _opt(d, "error", _str, "", null=True)
    _opt(d, "seed", _int, "")
    _opt(d, "duration_s", _num, "")
    if isinstance(d.get("duration_s"), str):
        raise Bad("duration_s", "must be a finite number")
    for key in ("metrics", "timings", "versions"):
        _opt(d, key, _obj, "")


def _verdicts(d: dict[str, Any]) -> None:
    """Every verdict (each claim judged once) and the names of the missing ones."""
    claims: set[str] = set()
    for i, v in enumerate(_list(d.get("verdicts", []), "verdicts")):
        c = _verdict(v, f"verdicts[{i}]")
        if c in claims:
            raise Bad(f"verdicts[{i}].claim", f"{c!r} is judged twice")
        claims.add(c)
    for i, x in enumerate(_list(d.get("missing_verdicts", []), "missing_verdicts")):
        _str(x, f"missing_verdicts[{i}]")


def _figures(d: dict[str, Any], folder: Path | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The figures whose file is there, and one line for each that is missing."""
    problems: list[str] = []
    figures = []
    for i, f in enumerate(_list(d.get("figures", []), "figures")):
        where = f"figures[{i}]"
        fd = _figure(f, where, folder)
        if fd is None:
            problems.append(f"{where}.file: {f['file']!r} is missing; the figure is left out")
        else:
            figures.append(fd)
    return figures, problems


def _figure(v: Any, where: str, folder: Path | None) -> dict[str, Any] | None:
    """One figure entry; None when its file is missing from ``folder``."""
    fd = _obj(v, where)
    _str(_need(fd, "name", f"{where}."), f"{where}.name")
    _opt(fd, "caption", _str, f"{where}.")
    fname = _str(_need(fd, "file", f"{where}."), f"{where}.file")
    if not FIGURE_FILE_RE.match(fname):
        raise Bad(f"{where}.file", f"{fname!r} is not a plain NAME.png inside the evidence folder")
    if folder is not None:
        real = Path(os.path.realpath(folder / fname))
        if Path(os.path.realpath(folder)) not in real.parents:
            raise Bad(f"{where}.file", f"{fname!r} resolves outside the evidence folder")
        if not real.is_file():
            return None
    return fd


@dataclass
class Loaded:
    """What is on disk for one experiment."""

    name: str
    path: Path
    record: dict[str, Any] | None = None  # None: no evidence, or unusable (then ``problem`` says why)
    problem: str | None = None  # one line naming the file and the field
    minor: list[str] = field(default_factory=list)  # lines about parts left out (missing figures)
    later_failure: dict[str, Any] | None = None  # a run after this evidence that failed

    @property
    def problems(self) -> list[str]:
        return ([self.problem] if self.problem else []) + self.minor

    def shown(self) -> dict[str, Any] | None:
        """The record to display: the evidence, or a failed record carrying the problem line."""
        if self.record is not None:
            if self.later_failure is not None:
                lf = self.later_failure
                note = (f"**A later run of this experiment failed** (started {lf['started'] or '?'}: "
                        f"`{lf['error'] or '?'}`); this is the evidence of the run started "
                        f"{self.record.get('started') or '?'}, which it did not replace.")
                notes = self.record.get("notes") or ""
                return {**self.record, "later_failure": lf, "notes": f"{note}\n\n{notes}" if notes else note}
            return self.record
        if self.problem is not None:
            return {"name": self.name, "status": "failed", "error": f"unreadable evidence: {self.problem}"}
        return None


def _read_json(path: Path) -> Any:
    """Parse a regular file of bounded size; raises :class:`Bad` with ``field`` "(file)"."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Bad("(file)", f"cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise Bad("(file)", "is not a regular file")
    if st.st_size > MAX_BYTES:
        raise Bad("(file)", f"is {st.st_size} bytes, more than the {MAX_BYTES} an evidence file may have")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Bad("(file)", f"is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise Bad("(file)", f"cannot be read: {exc.strerror or exc}") from None
    try:
        return json.loads(text, parse_constant=lambda c: c.lower().replace("infinity", "inf"))
    except json.JSONDecodeError as exc:
        raise Bad("(file)", f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise Bad("(file)", f"is not usable JSON: {exc}") from None
    except RecursionError:
        raise Bad("(file)", "is nested too deeply") from None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def read_evidence(out_dir: Path | str, name: str) -> Loaded:
    """The evidence of experiment ``name`` under ``out_dir``, checked (never raises for bad files)."""
    root = Path(out_dir)
    if not NAME_RE.match(name):
        return Loaded(name, root, problem=f"{name!r}: not an experiment name (qNN.name)")
    q, short = name.split(".", 1)
    folder = root / q / short
    path = folder / "evidence.json"
    loaded = Loaded(name, path)
    real_root = Path(os.path.realpath(root))
    if real_root not in Path(os.path.realpath(folder)).parents:
        loaded.problem = f"{_rel(folder, root)}: resolves outside the results folder"
        return loaded
    if os.path.lexists(path):
        try:
            rec, loaded.minor = check_record(_read_json(path), name, folder)
            loaded.record = rec
        except Bad as exc:
            loaded.problem = f"{_rel(path, root)}: {exc}"
        loaded.minor = [f"{_rel(path, root)}: {m}" for m in loaded.minor]
    failed = folder / FAILED_FILE
    if loaded.record is not None and loaded.record.get("status") == "ok" and os.path.lexists(failed):
        try:
            f = _obj(_read_json(failed), "")
            loaded.later_failure = {"error": _str(f.get("error", ""), "error"),
                                    "started": _str(f.get("started", ""), "started")}
        except Bad as exc:
            loaded.minor.append(f"{_rel(failed, root)}: {exc}")
    return loaded


def check_calibration(out_dir: Path | str) -> tuple[dict[str, Any] | None, str | None]:
    """The saved calibration, checked: ``(data, None)``, ``(None, None)`` when absent, or ``(None, problem)``."""
    root = Path(out_dir)
    path = root / CALIBRATION_FILE
    if not os.path.lexists(path):
        return None, None
    try:
        d = _obj(_read_json(path), "")
        acc = _obj(_need(d, "mnist1d", ""), "mnist1d")
        for m, x in acc.items():
            _num(x, f"mnist1d.{m}")
        for key in ("paper", "calibrated", "targets"):
            _opt(d, key, _obj, "")
        for m, x in (d.get("paper") or {}).items():
            _num(x, f"paper.{m}")
        for m, x in (d.get("calibrated") or {}).items():
            if x is not None and not isinstance(x, bool):
                raise Bad(f"calibrated.{m}", f"must be true/false/null, not {_type_name(x)}")
        for m, x in (d.get("targets") or {}).items():
            _ci(x, f"targets.{m}")
        _opt(d, "profile", _str, "")
        _opt(d, "seeds", _int, "", null=True)
    except Bad as exc:
        return None, f"{_rel(path, root)}: {exc}"
    return d, None
