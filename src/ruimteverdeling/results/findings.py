"""The warnings and notes of a run, as the data ``summary.json`` carries.

A compiled model holds what the checks found that does not stop a run but changes what it
means (:attr:`CompiledModel.warnings <ruimteverdeling.rules.compile.CompiledModel.warnings>`:
an area share above 1, a target that asks nothing, a region value for a region outside the
study area, a T rule on an empty mask) and where the scenario's parts come from
(:attr:`~ruimteverdeling.rules.compile.CompiledModel.notes`: the file of each override in
effect). The study area adds what loading did on its own (land without a region assigned to
the nearest region or left out). Each becomes one row: ``file``, ``field``, ``message`` and
``fix``, as the command line prints them.
"""

from __future__ import annotations

from typing import Any

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules.compile import CompiledModel


def problem_row(problem: Problem) -> dict[str, Any]:
    """One warning or note as plain data."""
    return {"file": None if problem.file is None else str(problem.file),
            "field": problem.field, "message": problem.message, "fix": problem.fix}


def warnings_table(cm: CompiledModel) -> list[dict[str, Any]]:
    """Every warning of the run: the study area's (what loading did), then the scenario's."""
    seen: set[tuple[Any, ...]] = set()
    rows = []
    for p in [*cm.area.notes, *cm.warnings]:
        row = problem_row(p)
        key = tuple(row.values())
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def notes_table(cm: CompiledModel) -> list[dict[str, Any]]:
    """The notes of the run (which file each override comes from)."""
    return [problem_row(p) for p in cm.notes]


def summary_part(cm: CompiledModel) -> dict[str, list[dict[str, Any]]]:
    """``{"warnings": [...], "notes": [...]}`` for ``summary.json``."""
    return {"warnings": warnings_table(cm), "notes": notes_table(cm)}
