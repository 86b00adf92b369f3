"""What the doctor reports: findings ranked by severity, each with the commands that fix it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    """``error``: something is broken; ``warning``: works now but is fragile or wrong;
    ``info``: a fact worth knowing. Errors and warnings make the exit code 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One diagnosis.

    ``code`` is stable (scripts and tests key on it); ``fix`` holds shell
    command lines to copy and paste, in order; ``fix_note`` says what to do
    when no command can (edit a file at a given line, for instance).
    """

    code: str
    severity: Severity
    title: str
    detail: str = ""
    fix: tuple[str, ...] = ()
    fix_note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    alternatives: bool = False  # True: ``fix`` lists alternatives, best first, not steps

    @property
    def is_problem(self) -> bool:
        return self.severity is not Severity.INFO

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "fix": list(self.fix),
            "fix_note": self.fix_note,
            "fix_is_alternatives": self.alternatives,
            "data": self.data,
        }


def cmd(*argv: str, sudo: bool = False) -> str:
    """A command line quoted for a POSIX shell (``sudo`` prepended when asked)."""
    return shlex.join((["sudo"] if sudo else []) + list(argv))


@dataclass
class Report:
    """Facts gathered plus findings; ``exit_code`` is 0 when healthy, 1 when a problem was found."""

    kind: str
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: f.severity.rank)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.sorted() if f.is_problem]

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def codes(self) -> list[str]:
        return [f.code for f in self.problems]

    def fix_commands(self) -> list[str]:
        """The commands to run for every problem, in report order, each once.

        For a finding whose fixes are alternatives, only the preferred (first) one.
        """
        out: list[str] = []
        for c in (c for f in self.problems for c in (f.fix[:1] if f.alternatives else f.fix)):
            if c not in out:
                out.append(c)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "healthy": self.healthy,
            "exit_code": self.exit_code,
            "facts": self.facts,
            "findings": [f.to_json() for f in self.sorted()],
        }

    def render(self, fact_lines: Sequence[tuple[str, str]] = ()) -> str:
        """Plain text: facts, then findings by severity with their fixes, then a verdict line."""
        out = []
        width = max((len(k) for k, _ in fact_lines), default=0)
        for k, v in fact_lines:
            out.append(f"{k.ljust(width)}  {v}")
        if fact_lines:
            out.append("")
        for f in self.sorted():
            out.append(f"[{f.severity.value}] {f.title}")
            for line in f.detail.splitlines():
                out.append(f"    {line}")
            if f.fix:
                out.append("    fix (any one, best first):" if f.alternatives else "    fix:")
                out.extend(f"      {c}" for c in f.fix)
            if f.fix_note:
                out.append(f"    {f.fix_note}")
            out.append("")
        n = len(self.problems)
        out.append("healthy: no problem found" if n == 0 else f"{n} problem{'s' if n > 1 else ''} found")
        return "\n".join(out)
