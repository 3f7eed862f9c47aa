"""Planning a batch: the runs of the scenario files and sweep points, checked before any runs.

A run has an id, a scenario file and an output folder ``DIR/<id>``. Every problem of the
batch's own input (a bad sweep file, two runs with one id, an empty batch, a scenario file
beyond the YAML limits) is reported at once, before anything is written or run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruimteverdeling.batch.sweep import ID_PATTERN, Sweep, load_sweep, point_yaml, unique
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.results import writer as wr
from ruimteverdeling.scenario import load_raw
from ruimteverdeling.yamlio import YamlGuardError

POINTS_DIR = "scenarios"
"""The batch folder's sub-folder holding the sweep points' scenario files."""


@dataclass(frozen=True)
class Run:
    """One task of a batch: solve ``scenario`` (an absolute path) into ``out_dir``."""

    id: str
    scenario: str
    out_dir: str
    origin: str  # the scenario file named on the command line, or the sweep file


def scenario_run_id(path: Path) -> str:
    """The id of a scenario file's run: its ``id:`` (after ``extends``), else its file name."""
    try:
        raw, _ = load_raw(path)
    except YamlGuardError:
        raise  # a document built to exhaust memory: refused before anything runs
    except InputError:
        raw = {}
    rid = raw.get("id")
    if isinstance(rid, str) and ID_PATTERN.match(rid):
        return rid
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem).lstrip("_.-") or "scenario"


def plan(scenarios: Sequence[str | Path], sweeps: Sequence[str | Path],
         out_dir: str | Path) -> list[Run]:
    """Check the batch's input and return its runs; writes the sweep points' scenario files.

    Raises InputError (before anything is written) for a bad sweep file, duplicate run ids,
    an empty batch or a scenario file beyond the YAML limits (an alias bomb, see
    :mod:`ruimteverdeling.yamlio`). Any other scenario file that cannot be read is not an
    error here: its run fails with that error and the other runs go on.
    """
    out = Path(out_dir).resolve()
    if not scenarios and not sweeps:
        raise InputError.single(None, "SCENARIO", "nothing to run",
                                "give one or more scenario files and/or --sweep SWEEP.yaml")
    problems: list[Problem] = []
    loaded: list[Sweep] = []
    for s in sweeps:
        try:
            loaded.append(load_sweep(s))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    planned: list[tuple[str, str, str]] = []  # id, scenario, origin
    for s in scenarios:
        p = Path(s).resolve()
        try:
            planned.append((scenario_run_id(p), str(p), str(p)))
        except InputError as exc:  # beyond the YAML limits (yamlio): nothing runs
            problems += exc.problems
    if problems:
        raise InputError(unique(problems))
    for sw in loaded:
        planned += [(pt.id, str(out / POINTS_DIR / f"{pt.id}.yaml"), str(sw.path))
                    for pt in sw.points]
    seen: dict[str, str] = {}
    for rid, scenario, origin in planned:
        if rid == POINTS_DIR:
            problems.append(Problem(origin, "id", f"the run id '{rid}' is reserved for the "
                                    "sweep points' scenario files", "give the scenario another id"))
        elif rid in seen:
            what = "is listed twice" if seen[rid] == scenario else \
                f"has the same id as {seen[rid]}"
            problems.append(Problem(origin, "id", f"run '{rid}' {what}; both would write to "
                                    f"{out / rid}", "give every scenario its own `id:` "
                                    "(or list a file once)"))
        else:
            seen[rid] = scenario
    if problems:
        raise InputError(unique(problems))
    runs = [Run(rid, scenario, str(out / rid), origin)
            for rid, scenario, origin in planned[:len(scenarios)]]
    for sw in loaded:
        runs += write_points(sw, out)
    return runs



def write_points(sweep: Sweep, out_dir: Path) -> list[Run]:
    """Write every point's scenario file to ``out_dir/scenarios/`` (only when its text changed,
    atomically) and return the runs."""
    folder = out_dir / POINTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    runs = []
    for point in sweep.points:
        target = folder / f"{point.id}.yaml"
        text = point_yaml(sweep, point)
        if not (target.exists() and target.read_text(encoding="utf-8") == text):
            wr.write_text_atomic(target, text)
        runs.append(Run(point.id, str(target), str(out_dir / point.id), str(sweep.path)))
    return runs
