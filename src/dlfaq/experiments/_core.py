"""The experiment runner: ``@experiment`` functions, their run context and ``Evidence``.

An experiment is a function ``f(ctx: RunContext) -> Evidence`` registered with
:func:`experiment`. It measures something, then turns the measurements into a
verdict per claim with :func:`judge`, whose ``rule`` argument states in words
the rule that the code applied. Verdicts are never typed in by hand: they are
the outcome of a comparison in the experiment's code.

Which claims an experiment must judge is written once, in the knowledge base
(``tested_by`` of each claim in ``dlfaq/faq/qNN.md``); the runner checks that
an experiment judges exactly those.

Evidence is saved as ``<out>/qNN/<name>/evidence.json`` plus one PNG per figure,
so a report can be re-rendered without running anything again.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

VERDICTS = ("supported", "partly", "not supported")
PROFILES = ("quick", "full")
# "smoke" is for the test suite only: tiny sizes that exercise every code path of
# an experiment in a few seconds. Its verdicts are computed but not meaningful.
ALL_PROFILES = ("smoke", "quick", "full")
SCHEMA_VERSION = 1

T = TypeVar("T")
Profile = Literal["smoke", "quick", "full"]
ProgressFn = Callable[[float, float, str], None]


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """The outcome for one claim: ``verdict`` is one of :data:`VERDICTS`.

    ``rule`` says how the verdict was computed; ``reason`` gives the measured
    numbers that the rule was applied to.
    """

    claim: str
    verdict: str
    reason: str
    rule: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_json(self) -> dict[str, str]:
        return {"claim": self.claim, "verdict": self.verdict, "reason": self.reason, "rule": self.rule}


def judge(
    claim: str,
    *,
    supported: bool,
    partly: bool = False,
    rule: str,
    reason: str,
) -> Verdict:
    """Turn measured conditions into a verdict.

    ``supported`` wins over ``partly``; if neither holds the claim is
    ``not supported``. ``rule`` is the sentence stating the rule the booleans
    implement (for example "supported if every seed gains at least 1 point").
    """
    if supported:
        v = "supported"
    elif partly:
        v = "partly"
    else:
        v = "not supported"
    return Verdict(claim=claim, verdict=v, reason=reason, rule=rule)


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

    def seeds(self, quick: int = 3, full: int = 5, smoke: int = 2) -> list[int]:
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
class ExperimentSpec:
    name: str  # "q03.feature-map-sizes"
    question: int
    title: dict[str, str]
    func: Callable[[RunContext], Evidence]
    description: dict[str, str]

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

    def deco(func: Callable[[RunContext], Evidence]) -> Callable[[RunContext], Evidence]:
        if full in _REGISTRY and _REGISTRY[full].func.__qualname__ != func.__qualname__:
            raise ValueError(f"experiment {full} registered twice")
        _REGISTRY[full] = ExperimentSpec(full, question, as_lang(title), func, as_lang(description))
        return func

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


def _jsonable(v: Any) -> Any:
    """Convert numpy / torch scalars and arrays into JSON values (NaN/inf as strings)."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if hasattr(v, "detach") and hasattr(v, "tolist"):  # torch tensor
        return _jsonable(v.detach().cpu().tolist())
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


def run_experiment(spec: ExperimentSpec, ctx: RunContext) -> dict[str, Any]:
    """Run one experiment, save its evidence under ``ctx.out_dir`` and return the JSON record.

    An exception inside the experiment is recorded (status ``failed`` with the
    error and traceback); it never propagates, so the other experiments still run.
    The evidence folder is written to a temporary sibling and renamed into place,
    so an interrupted run leaves the previous evidence intact.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out_root = Path(ctx.out_dir)
    qdir = out_root / f"q{spec.question:02d}"
    qdir.mkdir(parents=True, exist_ok=True)
    final = qdir / spec.short
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.short}-", dir=qdir))

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
        figures = []
        for name, fig, caption in ev._figures:
            fname = f"{name}.png"
            fig.savefig(tmp / fname, dpi=110, bbox_inches="tight")
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
    record["duration_s"] = round(time.perf_counter() - t0, 3)
    (tmp / "evidence.json").write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    old = None
    if final.exists():
        old = qdir / f".{spec.short}-old-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return record


def load_evidence(out_dir: Path | str, name: str) -> dict[str, Any] | None:
    """Read the saved evidence of experiment ``name`` (``qNN.short``), or None."""
    q, short = name.split(".", 1)
    path = Path(out_dir) / q / short / "evidence.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def evidence_dir(out_dir: Path | str, name: str) -> Path:
    q, short = name.split(".", 1)
    return Path(out_dir) / q / short
