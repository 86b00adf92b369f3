"""The statistics behind every ``experiment`` verdict: oriented effects, 95 % intervals, one rule.

An experiment measures an *effect* once per independent run (one seed of one
configuration), oriented so that a positive number is the direction the
page's claim states (for example "test accuracy with dropout minus without",
in points). :func:`effect` summarizes the runs as a mean with a 95 %
interval; :func:`decide` turns that into a verdict with the rule below, and a
``margin`` (the smallest effect that matters) that the experiment declares
in code before it runs.

The rule (:func:`decide`)::

    supported     if lo > 0 and mean >= margin
    contradicted  if hi < margin
    inconclusive  otherwise

That is: *supported* needs an interval that excludes zero and an effect at
least as large as the margin; *contradicted* needs the whole interval below
the margin, i.e. the data rule out an effect that matters; everything else,
including a wide interval that straddles the margin, is *inconclusive*.

A claim with several parts (each with its own effect and margin) is decided
by :func:`combine`: *supported* when every part is, *partly* when some but
not all are, *contradicted* when none is supported and at least one is
contradicted (a conjunction with a false part is false), *inconclusive*
otherwise.

A positive control (:func:`decide_with_control`) is the literature's effect
reproduced in a setting where it exists; when the control is not
*supported*, the claim is *inconclusive* (the setting could not have shown
the effect), never judged against.

Intervals: the default is Student's t interval of the mean over runs, which
is exact for normal errors and conservative for the small n used here; the
percentile bootstrap (:func:`bootstrap_ci`, with a fixed generator so the
interval is reproducible) is available and is reported beside it when asked.
With n = 5 the bootstrap interval is known to be too narrow (it ignores the
t quantile: Efron & Tibshirani 1993, ch. 13), which is why it is not the
default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Verdict words, in the order they are shown.
VERDICTS = ("supported", "partly", "contradicted", "inconclusive")
#: Words allowed for a ``check`` (an exact property: it holds or it does not).
CHECK_VERDICTS = ("supported", "contradicted")
#: Independent runs an ``experiment`` verdict needs, by profile (smoke is the test-only profile).
MIN_RUNS = {"smoke": 2, "quick": 5, "full": 10}
LEVEL = 0.95


@dataclass(frozen=True)
class Effect:
    """An oriented effect measured over ``n`` independent runs.

    ``mean`` is positive in the claim's direction; ``ci`` is the 95 % interval
    ``(lo, hi)``; ``values`` are the per-run effects (kept so that the
    evidence shows the spread, and so the interval can be recomputed).
    """

    mean: float
    ci: tuple[float, float]
    n: int
    unit: str
    values: tuple[float, ...] = ()
    method: str = "t"

    @property
    def lo(self) -> float:
        return self.ci[0]

    @property
    def hi(self) -> float:
        return self.ci[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "effect": self.mean,
            "ci": [self.lo, self.hi],
            "n": self.n,
            "unit": self.unit,
            "values": list(self.values),
            "method": self.method,
        }


def _finite(values: Sequence[float], what: str) -> np.ndarray:
    a = np.asarray([float(v) for v in values], dtype=np.float64)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"{what}: need at least 2 independent runs, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what}: runs must be finite numbers, got {a.tolist()}")
    return a


def t_ci(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t interval of the mean: ``(mean, lo, hi)``."""
    from scipy import stats as st

    a = _finite(values, "t_ci")
    m = float(a.mean())
    sd = float(a.std(ddof=1))
    if sd == 0.0:
        return m, m, m
    half = float(st.t.ppf(0.5 + level / 2, a.size - 1)) * sd / math.sqrt(a.size)
    return m, m - half, m + half


def bootstrap_ci(
    values: Sequence[float], level: float = LEVEL, n_boot: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval of the mean, with a fixed generator."""
    a = _finite(values, "bootstrap_ci")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    means = a[idx].mean(axis=1)
    lo, hi = np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])
    m = float(a.mean())
    # the percentile interval of a mean always contains it except for float rounding
    return m, min(float(lo), m), max(float(hi), m)


def effect(values: Sequence[float], unit: str, *, method: str = "t") -> Effect:
    """Summarize per-run oriented effects as an :class:`Effect` (mean and 95 % interval)."""
    if method == "t":
        m, lo, hi = t_ci(values)
    elif method == "bootstrap":
        m, lo, hi = bootstrap_ci(values)
    else:
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    return Effect(m, (lo, hi), len(values), unit, tuple(float(v) for v in values), method)


def paired(
    treatment: Sequence[float],
    baseline: Sequence[float],
    unit: str,
    *,
    scale: float = 1.0,
    method: str = "t",
) -> Effect:
    """The paired effect ``scale * (treatment - baseline)`` run by run.

    Runs are paired by position (same seed, same data); use ``scale=100`` to
    turn accuracies into points, and swap the arguments when the claim says
    the treatment makes a number *smaller*.
    """
    if len(treatment) != len(baseline):
        raise ValueError(f"paired: {len(treatment)} treatment runs vs {len(baseline)} baseline runs")
    return effect([scale * (float(t) - float(b)) for t, b in zip(treatment, baseline, strict=True)],
                  unit, method=method)


def decide(e: Effect, margin: float) -> str:
    """The default rule: supported / contradicted / inconclusive (see the module docstring)."""
    if not math.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
    if e.lo > 0 and e.mean >= margin:
        return "supported"
    if e.hi < margin:
        return "contradicted"
    return "inconclusive"


def combine(parts: Sequence[str]) -> str:
    """The verdict of a claim with several parts, from the parts' verdicts."""
    if not parts:
        raise ValueError("combine: no parts")
    bad = [p for p in parts if p not in ("supported", "contradicted", "inconclusive")]
    if bad:
        raise ValueError(f"combine: parts must be decided by decide(), got {bad}")
    n_sup = sum(p == "supported" for p in parts)
    if n_sup == len(parts):
        return "supported"
    if n_sup:
        return "partly"
    if any(p == "contradicted" for p in parts):
        return "contradicted"
    return "inconclusive"


@dataclass(frozen=True)
class Part:
    """One part of a claim: a name (both languages), its effect and its margin."""

    name: Mapping[str, str]
    effect: Effect
    margin: float

    @property
    def verdict(self) -> str:
        return decide(self.effect, self.margin)

    def to_json(self) -> dict[str, Any]:
        return {"name": dict(self.name), **self.effect.to_json(), "margin": self.margin,
                "verdict": self.verdict}


@dataclass(frozen=True)
class Control:
    """A positive control: the literature's effect in a setting where it is known to exist.

    ``name`` says what was reproduced (both languages); the control is
    *reproduced* when :func:`decide` says *supported* for its effect and margin.
    """

    name: Mapping[str, str]
    effect: Effect
    margin: float
    source: str = ""  # the paper whose effect is reproduced

    @property
    def reproduced(self) -> bool:
        return decide(self.effect, self.margin) == "supported"

    def to_json(self) -> dict[str, Any]:
        return {"name": dict(self.name), **self.effect.to_json(), "margin": self.margin,
                "verdict": decide(self.effect, self.margin), "reproduced": self.reproduced,
                "source": self.source}


def decide_with_control(verdict: str, control: Control | None) -> tuple[str, bool]:
    """``(verdict, control_failed)``: a failed control turns any verdict into inconclusive."""
    if control is None or control.reproduced:
        return verdict, False
    return "inconclusive", True


# --------------------------------------------------------------------------- sentences


def _fmt(x: float) -> str:
    return f"{x:+.3g}" if abs(x) < 1e4 else f"{x:+.3e}"


UNIT_ZH = {
    "points": "个百分点",
    "pp": "个百分点",
    "percentage points": "个百分点",
    "%": "%",
    "ratio": "倍",
    "nats": "奈特",
    "bits": "比特",
    "log10": "(log10)",
    "log2": "(log2)",
    "decades": "个数量级",
    "decades of headroom": "个数量级的余量",
    "share of sigmoid's decades": "(占 sigmoid 数量级的比例)",
    "Spearman ρ": "(Spearman ρ)",
    "": "",
}


def unit_zh(unit: str) -> str:
    return UNIT_ZH.get(unit, unit)


def effect_sentence(e: Effect, margin: float, lang: str, *, what: Mapping[str, str] | None = None) -> str:
    """One sentence with the effect, its interval, n and the margin, in ``lang``."""
    lo, hi = _fmt(e.lo), _fmt(e.hi)
    if lang == "zh":
        u = unit_zh(e.unit)
        head = f"{what['zh']}:" if what else "效应:"
        return (f"{head}平均 {_fmt(e.mean)} {u}(95% 区间 [{lo}, {hi}],n = {e.n}),"
                f"预设的最小有意义效应 {margin:.3g} {u}。")
    head = f"{what['en']}: " if what else "Effect: "
    return (f"{head}mean {_fmt(e.mean)} {e.unit} (95 % CI [{lo}, {hi}], n = {e.n}); "
            f"the margin fixed before the run is {margin:.3g} {e.unit}.")


RULE_TEXT = {
    "en": "Supported if the 95 % interval of the effect excludes 0 and its mean reaches the margin; "
    "contradicted if the whole interval lies below the margin; inconclusive otherwise.",
    "zh": "若效应的 95% 区间不含 0 且均值达到预设阈值,则成立;若整个区间都低于阈值,则被否定;否则无法判定。",
}
PARTS_RULE_TEXT = {
    "en": "Each part is decided by the default rule; the claim is supported if every part is, partly if "
    "some are, contradicted if none is and one is contradicted, inconclusive otherwise.",
    "zh": "每个部分按默认规则判定;全部成立则成立,部分成立则部分成立,没有部分成立且有部分被否定则被否定,否则无法判定。",
}
CONTROL_FAILED = {
    "en": "The positive control did not reproduce the literature's effect, so this setting cannot judge the claim.",
    "zh": "阳性对照没有复现文献中的效应,这个设置无法用来判断该论断。",
}


def control_sentence(c: Control, lang: str) -> str:
    ok = c.reproduced
    if lang == "zh":
        state = "已复现" if ok else "未复现"
        return f"阳性对照({c.name['zh']}){state}:" + effect_sentence(c.effect, c.margin, "zh")
    state = "reproduced" if ok else "not reproduced"
    return f"Positive control ({c.name['en']}) {state}. " + effect_sentence(c.effect, c.margin, "en")


@dataclass
class _Sentences:
    en: list[str] = field(default_factory=list)
    zh: list[str] = field(default_factory=list)

    def add(self, d: Mapping[str, str] | None) -> None:
        if d:
            self.en.append(d["en"])
            self.zh.append(d["zh"])

    def out(self) -> dict[str, str]:
        return {"en": " ".join(s for s in self.en if s), "zh": "".join(s for s in self.zh if s)}
