"""Errors that reach the user.

Every mistake a user can make (a malformed scenario, an unknown layer, a target that no
allocation can meet) is raised as an :class:`InputError` that names the file, the field and
the fix. The command line prints these without a traceback and exits with code 2. Anything
else is a bug in the engine and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One problem in the user's input.

    ``file`` is the file the problem is in, ``field`` a dotted path inside it
    (``targets[2].min``), ``message`` what is wrong and ``fix`` what to do about it.
    """

    file: str | Path | None
    field: str | None
    message: str
    fix: str | None = None

    def format(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.field:
            where.append(self.field)
        head = ": ".join(where)
        text = f"{head}: {self.message}" if head else self.message
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


class RuimteError(Exception):
    """Base class of all errors the engine raises on purpose."""


class InputError(RuimteError):
    """One or more problems in the user's input (exit code 2 on the command line)."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.format())

    @classmethod
    def single(
        cls,
        file: str | Path | None,
        field: str | None,
        message: str,
        fix: str | None = None,
    ) -> InputError:
        return cls(Problem(file, field, message, fix))

    def format(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].format()
        lines = [f"{len(self.problems)} problems found:"]
        for i, p in enumerate(self.problems, 1):
            body = p.format().replace("\n", "\n   ")
            lines.append(f" {i}. {body}")
        return "\n".join(lines)


class SolverError(RuimteError):
    """The solver failed in a way that is not the user's input (numerical trouble, crash)."""


class InfeasibleError(RuimteError):
    """Hard targets and rules cannot all hold at once.

    ``details`` are the lines printed under the message; ``explanation`` is the diagnosis
    (:class:`ruimteverdeling.analysis.infeasibility.Explanation`) when one was computed, and
    ``diagnosis`` the folder it was written to (``<output>.infeasible``), if any.
    """

    def __init__(self, message: str, details: list[str] | None = None, *,
                 explanation: Any = None, diagnosis: Path | None = None):
        self.details: list[str] = details or []
        self.explanation: Any = explanation
        self.diagnosis: Path | None = diagnosis
        text = message
        if self.details:
            text += "\n" + "\n".join(f"  - {d}" for d in self.details)
        super().__init__(text)


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the closest candidate to ``name`` (for 'did you mean ...?' hints), or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A fix hint: 'did you mean X?' or the list of valid names."""
    candidates = sorted(set(candidates))
    best = suggest(name, candidates)
    if best is not None:
        return f"did you mean '{best}'? (valid: {', '.join(candidates)})"
    return f"use one of: {', '.join(candidates)}"
