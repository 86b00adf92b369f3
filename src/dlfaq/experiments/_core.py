"""The experiment runner: ``@experiment`` functions, their run context and ``Evidence``.

An experiment is a function ``f(ctx: RunContext) -> Evidence`` registered with
:func:`experiment`. It measures something, then turns the measurements into a
verdict per claim with :func:`check` (exact properties) or :func:`measured`
(noisy effects over independent runs, decided by :mod:`dlfaq.experiments.stats`),
whose ``rule`` argument states in words the rule that the code applied. Verdicts
are never typed in by hand: they are the outcome of a comparison in the
experiment's code.

Which claims an experiment must judge is written once, in the knowledge base
(``tested_by`` of each claim in ``dlfaq/faq/qNN.md``); the runner checks that
an experiment judges exactly those.

Evidence is saved as ``<out>/qNN/<name>/evidence.json`` plus one PNG per figure,
so a report can be re-rendered without running anything again.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import random
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from dlfaq.experiments import _plots, stats

#: The verdict words. ``check`` verdicts are supported / contradicted; ``experiment``
#: verdicts come from :func:`dlfaq.experiments.stats.decide` / ``combine``.
VERDICTS = stats.VERDICTS
KINDS = ("check", "experiment")
PROFILES = ("quick", "full")
# "smoke" is for the test suite only: tiny sizes that exercise every code path of
# an experiment in a few seconds. Its verdicts are computed but not meaningful.
ALL_PROFILES = ("smoke", "quick", "full")
SCHEMA_VERSION = 2

T = TypeVar("T")
Profile = Literal["smoke", "quick", "full"]
ProgressFn = Callable[[float, float, str], None]
Lang = Mapping[str, str]


# --------------------------------------------------------------------------- verdicts


def _lang(v: Lang | str, what: str) -> dict[str, str]:
    if isinstance(v, str):
        raise TypeError(f"{what} must be given in both languages as {{'en': ..., 'zh': ...}}, got a str")
    d = {k: str(v.get(k, "")).strip() for k in ("en", "zh")}
    if not d["en"] or not d["zh"]:
        raise ValueError(f"{what} needs non-empty 'en' and 'zh' text, got {dict(v)!r}")
    return d


@dataclass(frozen=True)
class Verdict:
    """The outcome for one claim.

    ``kind`` says what decided it:

    - ``"check"``: an identity, a theorem or a property of dlfaq's own code,
      decided exactly; ``verdict`` is ``supported`` or ``contradicted``.
    - ``"experiment"``: noisy measurements over ``n`` independent runs, an
      oriented ``effect`` (positive = the claim's direction) in ``unit``, its
      95 % interval ``ci`` and the ``margin`` declared before the run; the
      verdict is the one :mod:`dlfaq.experiments.stats` computes from them
      (checked here, so a record can never disagree with the rule). A claim
      with several ``parts`` carries one such record per part. ``control`` is
      the positive control; when it failed, the verdict is ``inconclusive``.

    ``rule`` says how the verdict was computed and ``reason`` what was
    measured, both as ``{"en": ..., "zh": ...}`` sentences. ``evidence`` names
    the figures and tables of the experiment that show it.
    """

    claim: str
    verdict: str
    kind: str
    reason: dict[str, str]
    rule: dict[str, str]
    n: int | None = None
    effect: float | None = None
    unit: str = ""
    ci: tuple[float, float] | None = None
    margin: float | None = None
    values: tuple[float, ...] = ()
    parts: tuple[dict[str, Any], ...] = ()
    control: dict[str, Any] | None = None
    control_failed: bool = False
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.kind == "check" and self.verdict not in stats.CHECK_VERDICTS:
            raise ValueError(f"a check is {stats.CHECK_VERDICTS}, got {self.verdict!r}")
        if self.kind == "experiment":
            if self.parts:
                expected = stats.combine([p["verdict"] for p in self.parts])
            else:
                if self.n is None or self.effect is None or self.ci is None or self.margin is None:
                    raise ValueError(f"{self.claim}: an experiment verdict needs n, effect, ci and margin")
                e = stats.Effect(self.effect, self.ci, self.n, self.unit, self.values)
                expected = stats.decide(e, self.margin)
            expected, failed = stats.decide_with_control(
                expected, None if self.control is None else _control_from_json(self.control))
            if (expected, failed) != (self.verdict, self.control_failed):
                raise ValueError(f"{self.claim}: verdict {self.verdict!r} disagrees with the rule ({expected!r})")

    @property
    def runs(self) -> list[int]:
        """Every ``n`` this verdict rests on (itself, its parts, its control)."""
        ns = [self.n] if self.n is not None else []
        ns += [int(p["n"]) for p in self.parts]
        if self.control is not None:
            ns.append(int(self.control["n"]))
        return ns

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"claim": self.claim, "verdict": self.verdict, "kind": self.kind,
                               "reason": dict(self.reason), "rule": dict(self.rule)}
        if self.kind == "experiment":
            out.update(n=self.n, effect=self.effect, unit=self.unit,
                       ci=None if self.ci is None else list(self.ci), margin=self.margin,
                       values=list(self.values), parts=[dict(p) for p in self.parts],
                       control=self.control, control_failed=self.control_failed)
        out["evidence"] = list(self.evidence)
        return _jsonable(out)


def _control_from_json(d: Mapping[str, Any]) -> stats.Control:
    e = stats.Effect(float(d["effect"]), (float(d["ci"][0]), float(d["ci"][1])), int(d["n"]), d.get("unit", ""))
    return stats.Control(d.get("name", {}), e, float(d["margin"]), d.get("source", ""))


def check(
    claim: str,
    holds: bool,
    *,
    rule: Lang,
    reason: Lang,
    evidence: Sequence[str] = (),
) -> Verdict:
    """A verdict decided exactly: ``supported`` when ``holds``, else ``contradicted``.

    For identities, theorems, and properties of dlfaq's own code (a formula
    matches torch to rounding, a function refuses NaN). ``rule`` states the
    property checked; ``reason`` what was found.
    """
    return Verdict(claim=claim, verdict="supported" if holds else "contradicted", kind="check",
                   reason=_lang(reason, "reason"), rule=_lang(rule, "rule"), evidence=tuple(evidence))


def measured(
    claim: str,
    effect: stats.Effect | None = None,
    margin: float | None = None,
    *,
    parts: Sequence[stats.Part] = (),
    control: stats.Control | None = None,
    rule: Lang,
    reason: Lang | None = None,
    evidence: Sequence[str] = (),
) -> Verdict:
    """A verdict decided by noisy measurements with :mod:`dlfaq.experiments.stats`.

    Give either one ``effect`` with its ``margin`` or several ``parts``.
    ``rule`` says what the effect is (what minus what, oriented how) and why the
    margin is what it is; the decision rule itself and the sentences with the
    numbers are added here, so every experiment words them the same way.
    """
    if (effect is None) == (not parts):
        raise ValueError(f"{claim}: give either effect+margin or parts")
    sent = stats._Sentences()
    sent.add(None if reason is None else _lang(reason, "reason"))
    if effect is not None:
        if margin is None:
            raise ValueError(f"{claim}: an effect needs its margin")
        base = stats.decide(effect, margin)
        sent.add({lg: stats.effect_sentence(effect, margin, lg) for lg in ("en", "zh")})
    else:
        base = stats.combine([p.verdict for p in parts])
        for p in parts:
            sent.add({lg: stats.effect_sentence(p.effect, p.margin, lg, what=p.name) for lg in ("en", "zh")})
    verdict, failed = stats.decide_with_control(base, control)
    if control is not None:
        sent.add({lg: stats.control_sentence(control, lg) for lg in ("en", "zh")})
    if failed:
        sent.add(stats.CONTROL_FAILED)
    r = _lang(rule, "rule")
    text = stats.PARTS_RULE_TEXT if parts else stats.RULE_TEXT
    rule_out = {"en": f"{r['en']} {text['en']}", "zh": f"{r['zh']}{text['zh']}"}
    return Verdict(
        claim=claim, verdict=verdict, kind="experiment", reason=sent.out(), rule=rule_out,
        n=None if effect is None else effect.n,
        effect=None if effect is None else effect.mean,
        unit=effect.unit if effect is not None else "",
        ci=None if effect is None else effect.ci,
        margin=margin if effect is not None else None,
        values=() if effect is None else effect.values,
        parts=tuple(p.to_json() for p in parts),
        control=None if control is None else control.to_json(),
        control_failed=failed, evidence=tuple(evidence),
    )


# --------------------------------------------------------------------------- evidence


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[list[Any]]
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [[_jsonable(v) for v in row] for row in self.rows],
        }


@dataclass
class FigureRef:
    name: str
    file: str
    caption: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "file": self.file, "caption": self.caption}


@dataclass
class Evidence:
    """What an experiment measured.

    ``metrics`` must be deterministic for a given seed on CPU (tests compare
    them across runs); anything that depends on the clock goes in ``timings``.
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: str = ""
    _figures: list[tuple[str, Any, str]] = field(default_factory=list, repr=False)

    def table(self, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> Table:
        t = Table(name=name, columns=list(columns), rows=[list(r) for r in rows], title=title)
        self.tables.append(t)
        return t

    def figure(self, name: str, fig: Any, caption: str = "") -> None:
        """Attach a matplotlib figure; it is written as ``<name>.png`` and closed on save."""
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"figure name must be alphanumeric with - or _: {name!r}")
        self._figures.append((name, fig, caption))

    def add(self, verdict: Verdict) -> Verdict:
        self.verdicts.append(verdict)
        return verdict


# --------------------------------------------------------------------------- context


@dataclass
class RunContext:
    """What an experiment gets: seed, profile, device, output folder, progress."""

    seed: int = 0
    profile: Profile = "quick"
    device: str = "cpu"
    out_dir: Path = field(default_factory=lambda: Path("dlfaq-results"))
    progress: ProgressFn | None = None
    #: Where unit results are cached (None: no cache). A unit whose key (code, profile, seed,
    #: parameters, library versions) is found there is not computed again.
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.profile not in ALL_PROFILES:
            raise ValueError(f"profile must be one of {ALL_PROFILES}, got {self.profile!r}")
        self.out_dir = Path(self.out_dir)

    @property
    def quick(self) -> bool:
        """True for the quick profile (and for the test-only smoke profile)."""
        return self.profile != "full"

    def pick(self, quick: T, full: T, smoke: T | None = None) -> T:
        """Return the value for the current profile (``smoke`` falls back to ``quick``)."""
        if self.profile == "full":
            return full
        if self.profile == "smoke" and smoke is not None:
            return smoke
        return quick

    def seeds(self, quick: int = 5, full: int = 10, smoke: int = 2) -> list[int]:
        """Consecutive seeds starting at ``self.seed``, as many as the profile asks for."""
        n = self.pick(quick, full, smoke)
        return [self.seed + i for i in range(n)]

    def report(self, done: float, total: float, desc: str = "") -> None:
        if self.progress is not None:
            self.progress(done, total, desc)

    def track(self, items: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
        """Iterate while reporting progress."""
        if total is None:
            try:
                total = len(items)  # type: ignore[arg-type]
            except TypeError:
                total = 0
        self.report(0, total, desc)
        for i, item in enumerate(items):
            yield item
            self.report(i + 1, total, desc)

    def torch_device(self) -> Any:
        import torch

        return torch.device(self.device)


def default_device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover - torch is a core dependency
        return "cpu"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except Exception:  # pragma: no cover
        pass


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Unit:
    """One independent piece of an experiment: typically one seed of one configuration.

    ``key`` is unique within the experiment and stable across runs (it names
    the unit in progress lines and in caches); ``params`` are JSON values and
    hold everything the unit depends on besides the run context, including
    its ``seed``.
    """

    key: str
    params: Mapping[str, Any]

    @property
    def seed(self) -> int:
        return int(self.params.get("seed", 0))


class Study:
    """An experiment split into independent units whose results merge deterministically.

    Subclass it and decorate the class with :func:`experiment`:

    - :meth:`units` lists the units for a run context (same list for the same
      profile and seed);
    - :meth:`run_unit` computes one unit and returns JSON values only (no
      models, no figures), so a unit can run in another process or on another
      machine and be cached; the runner seeds Python, NumPy and torch with the
      unit's seed before calling it;
    - :meth:`merge` receives every unit's result, keyed by unit key, and builds
      the :class:`Evidence`: tables, figures, statistics and verdicts. It is
      the only place verdicts are computed, and it must not depend on the
      order the units ran in.
    """

    def units(self, ctx: RunContext) -> list[Unit]:
        raise NotImplementedError

    def run_unit(self, ctx: RunContext, unit: Unit) -> dict[str, Any]:
        raise NotImplementedError

    def merge(self, ctx: RunContext, results: Mapping[str, Mapping[str, Any]]) -> Evidence:
        raise NotImplementedError


@dataclass(frozen=True)
class ExperimentSpec:
    name: str  # "q03.feature-map-sizes"
    question: int
    title: dict[str, str]
    func: Callable[[RunContext], Evidence]
    description: dict[str, str]
    study: Study | None = None

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[1]


_REGISTRY: dict[str, ExperimentSpec] = {}


def experiment(
    question: int,
    name: str,
    *,
    title: dict[str, str] | str,
    description: dict[str, str] | str = "",
) -> Callable[[Callable[[RunContext], Evidence]], Callable[[RunContext], Evidence]]:
    """Register ``func`` as experiment ``qNN.name`` of question ``question``.

    ``title``/``description`` are ``{"en": ..., "zh": ...}`` (a plain string is
    used for both languages).
    """
    if not 1 <= question <= 18:
        raise ValueError(f"question must be 1..18, got {question}")
    full = f"q{question:02d}.{name}"

    def as_lang(v: dict[str, str] | str) -> dict[str, str]:
        return dict(v) if isinstance(v, dict) else {"en": v, "zh": v}

    def deco(obj: Any) -> Any:
        study = obj() if isinstance(obj, type) and issubclass(obj, Study) else None
        func = obj if study is None else (lambda ctx: run_units(_REGISTRY[full], ctx))
        if full in _REGISTRY and _REGISTRY[full].func.__qualname__ != getattr(func, "__qualname__", "") \
                and study is None:
            raise ValueError(f"experiment {full} registered twice")
        _REGISTRY[full] = ExperimentSpec(full, question, as_lang(title), func, as_lang(description), study)
        return obj

    return deco


def discover() -> dict[str, ExperimentSpec]:
    """Import every ``dlfaq.experiments.qNN_*`` module and return the registry."""
    import importlib
    import pkgutil

    from dlfaq import experiments as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("q") and mod.name[1:3].isdigit():
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
    return dict(sorted(_REGISTRY.items()))


def experiments_for(question: int) -> list[ExperimentSpec]:
    return [s for s in discover().values() if s.question == question]


# --------------------------------------------------------------------------- running


def _jsonable(v: Any, nonfinite_as_str: bool = True) -> Any:
    """Convert numpy / torch scalars and arrays into JSON values (NaN/inf as strings,
    unless ``nonfinite_as_str`` is false: unit results keep them as floats)."""
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x, nonfinite_as_str) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, nonfinite_as_str) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not nonfinite_as_str:
            return f
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist(), nonfinite_as_str)
    if hasattr(v, "detach") and hasattr(v, "tolist"):  # torch tensor
        return _jsonable(v.detach().cpu().tolist(), nonfinite_as_str)
    if v is None or isinstance(v, str):
        return v
    return str(v)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for mod in ("numpy", "torch", "sklearn"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover
            pass
    return out


def expected_claims(spec: ExperimentSpec) -> list[str]:
    from dlfaq.faq import get_entry

    entry = get_entry(spec.question)
    return [c.id for c in entry.claims if c.tested_by == spec.name]


def plan(spec: ExperimentSpec, ctx: RunContext) -> list[Unit]:
    """The units of ``spec`` for ``ctx`` (one unit named ``all`` for a plain function experiment)."""
    if spec.study is None:
        return [Unit("all", {"seed": ctx.seed})]
    units = list(spec.study.units(ctx))
    keys = [u.key for u in units]
    if not units or len(set(keys)) != len(keys):
        raise ValueError(f"experiment {spec.name}: units must be a non-empty list with unique keys, got {keys}")
    return units


def cached_unit(spec: ExperimentSpec, ctx: RunContext, unit: Unit) -> dict[str, Any] | None:
    """The unit's cached result under ``ctx.cache_dir``, or None (no cache, no entry, damaged entry)."""
    if ctx.cache_dir is None:
        return None
    path = _unit_cache_path(spec, ctx, unit)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing, or damaged: recomputed and overwritten
    return data if isinstance(data, dict) else None


def store_unit(spec: ExperimentSpec, ctx: RunContext, unit: Unit, result: Mapping[str, Any]) -> None:
    """Save a unit's (JSON) result under ``ctx.cache_dir`` atomically; nothing without a cache."""
    if ctx.cache_dir is None:
        return
    path = _unit_cache_path(spec, ctx, unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".unit-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(result))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_unit(spec: ExperimentSpec, ctx: RunContext, unit: Unit) -> dict[str, Any]:
    """Run one unit of a :class:`Study` and return its result as plain JSON values.

    The result goes through a JSON round trip here, so :meth:`Study.merge`
    sees exactly what a cache or a worker on another machine would hand back.
    With ``ctx.cache_dir`` a cached result is returned instead of computing,
    and a computed one is saved.
    """
    if spec.study is None:
        raise TypeError(f"experiment {spec.name} is a plain function, not a Study")
    hit = cached_unit(spec, ctx, unit)
    if hit is not None:
        return hit
    seed_everything(unit.seed)
    sub = RunContext(seed=ctx.seed, profile=ctx.profile, device=ctx.device, out_dir=ctx.out_dir)
    result = spec.study.run_unit(sub, unit)
    if not isinstance(result, Mapping):
        raise TypeError(f"{spec.name} unit {unit.key}: run_unit must return a dict, got {type(result).__name__}")
    out = json.loads(json.dumps(_jsonable(result, nonfinite_as_str=False)))
    store_unit(spec, ctx, unit, out)
    return out


#: Modules that only run or show experiments; their code never changes what a unit computes.
_RUNNER_MODULES = ("dlfaq.experiments.executor", "dlfaq.commands", "dlfaq.report", "dlfaq.cli", "dlfaq.faq")
#: Modules that shape the merge (statistics, verdict rules, figures), not a unit's numbers.
_MERGE_MODULES = ("dlfaq.experiments._core", "dlfaq.experiments.stats", "dlfaq.experiments._plots")


def _under(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@functools.cache
def _dlfaq_imports(modname: str) -> tuple[str, ...]:
    """The dlfaq modules that ``modname`` imports anywhere in its source (functions included).

    ``from dlfaq.nn import LSTM`` counts as the module that defines ``LSTM``
    (``dlfaq.nn.rnn``), so the lazy package front-ends do not hide the code.
    """
    import ast
    import importlib
    import importlib.util
    import inspect

    mod = importlib.import_module(modname)
    try:
        tree = ast.parse(inspect.getsource(mod))
    except (OSError, TypeError, SyntaxError):
        return ()
    pkg = mod.__name__ if hasattr(mod, "__path__") else mod.__name__.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if _under(a.name, ("dlfaq",)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, pkg)
            if not _under(base, ("dlfaq",)):
                continue
            found.add(base)
            for a in node.names:
                full = f"{base}.{a.name}"
                try:
                    is_module = importlib.util.find_spec(full) is not None
                except (ImportError, ValueError):
                    is_module = False
                if is_module:
                    found.add(full)
                    continue
                obj = getattr(importlib.import_module(base), a.name, None)
                owner = inspect.getmodule(obj) if obj is not None else None
                if owner is not None and _under(owner.__name__, ("dlfaq",)):
                    found.add(owner.__name__)
    found.discard(modname)
    return tuple(sorted(found))


@functools.cache
def _closure_hash(root: str, units_only: bool) -> str:
    import hashlib
    import importlib
    import inspect

    skip = _RUNNER_MODULES + (_MERGE_MODULES if units_only else ())
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen or (name != root and _under(name, skip)):
            continue
        seen.add(name)
        todo.extend(_dlfaq_imports(name))
    h = hashlib.sha256()
    for name in sorted(seen):
        try:
            src = inspect.getsource(importlib.import_module(name))
        except (OSError, TypeError):
            src = ""
        h.update(name.encode() + b"\0" + src.encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


def code_version(spec: ExperimentSpec, units_only: bool = False) -> str:
    """A hash of the code behind ``spec``: its module and every dlfaq module it imports, transitively.

    Runner and report modules are left out (they do not change what is computed). With
    ``units_only`` the merge modules (statistics, rules, figures) are left out too: that is
    the version a unit's cached result depends on, so a new verdict rule re-merges cached
    units instead of training again. Source is read as it is on disk when first asked in
    this process.
    """
    import inspect

    obj = type(spec.study) if spec.study is not None else spec.func
    mod = inspect.getmodule(obj)
    if mod is None:
        import hashlib

        return hashlib.sha256(spec.name.encode("utf-8")).hexdigest()[:16]
    return _closure_hash(mod.__name__, units_only)


def unit_cache_key(spec: ExperimentSpec, ctx: RunContext, unit: Unit) -> str:
    """What a unit's result depends on: code version, profile, seed, parameters, device, versions."""
    import hashlib

    from dlfaq import __version__

    what = {"experiment": spec.name, "code": code_version(spec, units_only=True), "profile": ctx.profile, "seed": ctx.seed,
            "device": ctx.device, "unit": unit.key, "params": _jsonable(dict(unit.params)),
            "versions": {k: v for k, v in _versions().items() if k != "platform"}, "dlfaq": __version__}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode("utf-8")).hexdigest()[:24]


def _unit_cache_path(spec: ExperimentSpec, ctx: RunContext, unit: Unit) -> Path:
    assert ctx.cache_dir is not None
    return Path(ctx.cache_dir) / spec.name / f"{unit_cache_key(spec, ctx, unit)}.json"


def run_units(spec: ExperimentSpec, ctx: RunContext) -> Evidence:
    """Run every unit of ``spec`` in order, then merge (the sequential executor)."""
    assert spec.study is not None
    units = plan(spec, ctx)
    results: dict[str, dict[str, Any]] = {}
    ctx.report(0, len(units), "units")
    for i, u in enumerate(units):
        results[u.key] = run_unit(spec, ctx, u)
        ctx.report(i + 1, len(units), u.key)
    # the merge starts from the run's own seed, as it does when the units ran elsewhere
    seed_everything(ctx.seed)
    return spec.study.merge(ctx, {u.key: results[u.key] for u in units})


def run_experiment(
    spec: ExperimentSpec,
    ctx: RunContext,
    unit_results: Mapping[str, Mapping[str, Any]] | BaseException | None = None,
    unit_seconds: float = 0.0,
) -> dict[str, Any]:
    """Run one experiment, save its evidence under ``ctx.out_dir`` and return the JSON record.

    ``unit_results`` are the results of a :class:`Study`'s units computed elsewhere
    (another process or machine); then only the merge runs here, and
    ``unit_seconds`` (the units' time where they ran) is added to the record's
    ``duration_s``. An exception in their place records the experiment as failed.

    An exception inside the experiment is recorded (status ``failed`` with the
    error and traceback); it never propagates, so the other experiments still run.
    The evidence folder is written to a temporary sibling that then takes its
    place in one atomic exchange (:func:`dlfaq.publish.swap_in`), so an
    interrupted or killed run leaves the previous evidence intact (its leftovers
    are cleaned by the next run). Evidence is replaced only by a successful run:
    a failed run next to good evidence is saved beside it as
    ``evidence.failed.json``, which ``show`` and the report mention.
    """
    from dlfaq import publish

    out_root = Path(ctx.out_dir)
    qdir = out_root / f"q{spec.question:02d}"
    qdir.mkdir(parents=True, exist_ok=True)
    final = qdir / spec.short
    publish.recover(final)
    tmp = publish.make_temp_beside(final)
    try:
        record = _run_into(spec, ctx, tmp, unit_results, unit_seconds)
        if record["status"] != "ok" and _good_evidence(out_root, spec.name):
            _write_atomic(final / FAILED_EVIDENCE, record)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            _write_atomic(tmp / "evidence.json", record)
            publish.swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record


#: A failed run's record, kept beside the good evidence it did not replace.
FAILED_EVIDENCE = "evidence.failed.json"


def _good_evidence(out_dir: Path, name: str) -> bool:
    rec = load_evidence(out_dir, name)
    return rec is not None and rec.get("status") == "ok"


def _write_atomic(path: Path, record: Mapping[str, Any]) -> None:
    """Write a JSON file via a temporary file in the same folder and one ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(record, indent=1, ensure_ascii=False))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _run_into(
    spec: ExperimentSpec,
    ctx: RunContext,
    tmp: Path,
    unit_results: Mapping[str, Mapping[str, Any]] | BaseException | None,
    unit_seconds: float,
) -> dict[str, Any]:
    """Run (or merge) the experiment, writing its figures into ``tmp``; the evidence record."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt


    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "name": spec.name,
        "question": spec.question,
        "title": spec.title,
        "description": spec.description,
        "seed": ctx.seed,
        "profile": ctx.profile,
        "device": ctx.device,
        "versions": _versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "code": code_version(spec),
    }
    seed_everything(ctx.seed)
    # One intra-op thread on CPU: the experiments' models are small, where a second
    # thread mostly spins (10-40x slower steps were seen on a loaded 2-core machine),
    # and a fixed thread count keeps float reductions in the same order on every
    # machine, so metrics stay identical for a given seed.
    import torch

    threads = torch.get_num_threads()
    if not str(ctx.device).startswith("cuda"):
        torch.set_num_threads(1)
    t0 = time.perf_counter()
    try:
        if isinstance(unit_results, BaseException):
            raise unit_results
        if unit_results is not None:
            if spec.study is None:
                raise TypeError(f"experiment {spec.name} is a plain function; it has no units to merge")
            keys = [u.key for u in plan(spec, ctx)]
            missing_units = [k for k in keys if k not in unit_results]
            if missing_units:
                raise ValueError(f"experiment {spec.name}: no result for units {missing_units[:5]}")
            ev = spec.study.merge(ctx, {k: unit_results[k] for k in keys})
        else:
            ev = spec.func(ctx)
        if not isinstance(ev, Evidence):
            raise TypeError(f"experiment {spec.name} returned {type(ev).__name__}, not Evidence")
        expected = set(expected_claims(spec))
        got = [v.claim for v in ev.verdicts]
        extra = [c for c in got if c not in expected]
        if extra:
            raise ValueError(
                f"experiment {spec.name} judged claims not assigned to it in the knowledge base: {extra}"
            )
        if len(set(got)) != len(got):
            raise ValueError(f"experiment {spec.name} judged a claim twice: {got}")
        missing = sorted(expected - set(got))
        need = stats.MIN_RUNS[ctx.profile]
        for v in ev.verdicts:
            if v.kind == "experiment" and min(v.runs) < need:
                raise ValueError(f"{v.claim}: an experiment verdict needs at least {need} independent runs "
                                 f"in the {ctx.profile} profile, got {min(v.runs)}")
        figures = []
        for name, fig, caption in ev._figures:
            fname = f"{name}.png"
            fig.savefig(tmp / fname, dpi=110, bbox_inches="tight")
            # NAME.zh.png with the figure's texts in Chinese, when a Chinese font is installed
            # (the zh pages use it; without a font they show the English figure).
            _plots.save_zh(fig, tmp / fname)
            plt.close(fig)
            figures.append(FigureRef(name, fname, caption).to_json())
        record.update(
            status="ok",
            error=None,
            metrics=_jsonable(ev.metrics),
            timings=_jsonable(ev.timings),
            tables=[t.to_json() for t in ev.tables],
            figures=figures,
            verdicts=[v.to_json() for v in ev.verdicts],
            missing_verdicts=missing,
            notes=ev.notes,
        )
    except Exception as exc:  # noqa: BLE001 - an experiment failure must not stop the others
        plt.close("all")
        record.update(
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            metrics={},
            timings={},
            tables=[],
            figures=[],
            verdicts=[],
            missing_verdicts=[],
            notes="",
        )
    finally:
        torch.set_num_threads(threads)
    record["duration_s"] = round(time.perf_counter() - t0 + unit_seconds, 3)
    return record


def load_evidence(out_dir: Path | str, name: str) -> dict[str, Any] | None:
    """The saved evidence of experiment ``name`` (``qNN.short``), or None when there is none or it
    is damaged (checked by :func:`dlfaq.experiments.schema.read_evidence`, which also says what is wrong)."""
    from dlfaq.experiments.schema import read_evidence

    return read_evidence(out_dir, name).record


def evidence_dir(out_dir: Path | str, name: str) -> Path:
    q, short = name.split(".", 1)
    return Path(out_dir) / q / short
