"""The pipeline: load → compile → solve → write, the one place the steps are chained.

* **load** — the scenario (with ``extends``) and its study area (:func:`load`);
* **compile** — the rules into a model (:func:`compile_scenario`; :func:`validate` checks
  everything a solve would need without solving);
* **solve** — the model with the scenario's solver options (:func:`solve`, which reserves the
  output folder first and explains an infeasible model next to it);
* **write** — the run folder (:func:`write_run`): ``allocation.tif``, ``change.tif``, the CSV
  tables, ``shadow_prices.csv``, ``indicators.csv``, ``report.html``, ``summary.json`` and
  last ``manifest.json``, all in a partial folder swapped in when complete
  (:class:`~ruimteverdeling.results.writer.AtomicOutputDir`).

A solve gives a :class:`RunResult`: the compiled model, the solution, the summary (the
numbers of ``summary.json``) and the allocation itself (``after``, the use code per grid cell).

**Resume.** :func:`fingerprint` is what a run of a scenario would record as its inputs — the
engine version, the resolved scenario and the sha256 of every input file — computed without
compiling; :func:`is_up_to_date` compares it with a run folder's manifest. Batch runs and
``compare`` skip runs that are up to date.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import itertools
import math
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ruimteverdeling.analysis.duals import (
    PATHWAY_COLUMNS,
    Pricing,
    ShadowPriceWarning,
    pathway_price_rows,
    write_run_prices,
)
from ruimteverdeling.analysis.infeasibility import diagnosis_dir, infeasible_error
from ruimteverdeling.analysis.lexicographic import solve_lexicographic
from ruimteverdeling.area.checks import check_area
from ruimteverdeling.area.coarsen import coarsen
from ruimteverdeling.area.grid import available_memory, format_bytes, require_memory
from ruimteverdeling.area.manifest import MAX_GRID_CELLS, load_manifest
from ruimteverdeling.area.studyarea import StudyArea, sha256_file
from ruimteverdeling.errors import InfeasibleError, InputError, Problem, SolverError
from ruimteverdeling.heap import reusing_freed_memory
from ruimteverdeling.jsonio import write_json
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.pyomo_backend import write_model
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.model.solve import solve as solve_spec
from ruimteverdeling.parallel import ForkedCalls, default_workers, fork_map
from ruimteverdeling.paths import cache_dir
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.report import run as run_report
from ruimteverdeling.results import indicators as ind
from ruimteverdeling.results import locations as locs
from ruimteverdeling.results import manifest as mf
from ruimteverdeling.results import rasters, tables
from ruimteverdeling.results import summary as sm
from ruimteverdeling.results import writer as wr
from ruimteverdeling.results.runfolder import RunView, complete_manifest, read_pareto
from ruimteverdeling.rules import load_scenario as parse_scenario
from ruimteverdeling.rules import location, pathways
from ruimteverdeling.rules.compile import CompiledModel, catalogue_for, compile_model
from ruimteverdeling.rules.needs import LayerNeed, scenario_needs
from ruimteverdeling.scenario import Scenario
from ruimteverdeling.strict import pydantic_problems
from ruimteverdeling.synthetic import provenance
from ruimteverdeling.synthetic.codes import GENERATOR_VERSION

Extra = Callable[[Path], object]
"""Writes an analysis's files into a run folder being written (its working folder)."""

MODEL_BYTES_PER_LAND_CELL = 1_500.0
MODEL_BASE_BYTES = 300e6
"""Peak memory of compiling and solving: ~300 MB plus ~1.5 kB per land cell (the benchmark
table: 1.8 GB at 1.0 M cells, 5.1 GB at 3.3 M cells)."""
SCENARIO_SUFFIXES = (".yaml", ".yml")


@dataclass
class RunResult:
    """A finished solve: where its outputs are and what it found.

    ``summary`` holds the numbers written to ``summary.json``; ``after`` is the allocation,
    the use code of every grid cell (the pixels of ``allocation.tif``)."""

    scenario: Scenario
    out_dir: Path | None
    solution: Solution
    compiled: CompiledModel
    summary: dict[str, Any]
    after: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    pricing: Pricing = field(default_factory=Pricing)  # how shadow_prices.csv is priced
    locations: tuple[list[dict[str, Any]], np.ndarray] | None = None
    """The table of locations and the grid of their ids
    (:mod:`ruimteverdeling.results.locations`)."""
    pathway: PathwayRun | None = None
    """With several periods: the joint model and its solutions (``compiled`` and
    ``solution`` are then the last period's, with the joint objective, bound and gap)."""
    figures: dict[str, bytes | None] | None = None
    """The run report's charts that depend on the solve alone, drawn ahead
    (:func:`draw_report_figures`; drawn when the report is written otherwise)."""


@dataclass
class PathwayRun:
    """A solved multi-period scenario: the joint model, the reported pathway (``mode``
    foresight or myopic) and, with ``both``, the other one and the cost of myopia."""

    model: pathways.Pathway
    mode: str
    solution: Solution  # the reported pathway (foresight unless mode is myopic)
    foresight: Solution | None
    myopic: Solution | None
    periods: list[RunResult]  # per period: its own model, the projected solution
    summary: dict[str, Any]


@dataclass
class Loaded:
    scenario: Scenario
    area: StudyArea


class ReportWarning(UserWarning):
    """The report of a run could not be rendered; the run's other outputs are complete."""


# ------------------------------------------------------------------------------------------------
# load and compile
# ------------------------------------------------------------------------------------------------
_PARSED: dict[str, tuple[tuple[tuple[str, bytes], ...], Scenario]] = {}
"""The scenario :func:`load_scenario` parsed last: its path, its files' stamps, the scenario."""


def _stamps(files: Sequence[str | Path]) -> tuple[tuple[str, bytes], ...]:
    """(path, SHA-256 of its bytes) of each file (OSError when one is gone). The content,
    not the inode, modification time and size: a file rewritten with as many bytes within
    one tick of the file system's clock (a second on some) keeps all three."""
    return tuple((str(f), hashlib.sha256(Path(f).read_bytes()).digest()) for f in files)


def load_scenario(scenario_path: str | Path) -> Scenario:
    """The scenario file parsed and validated (:func:`ruimteverdeling.rules.load_scenario`),
    once while its files stay as they are: a command reads it to reserve its output folder,
    to tell a pathway from one period and to compile it, and each parse with its
    ``extends:`` chain and validation took 0.1–0.3 s. The last one parsed is kept with the
    SHA-256 of every file of its chain (the shipped ``base.yaml``, 53 kB: 0.1 ms); a
    call for the same path whose files all still hold those bytes gets a deep copy of it
    (each caller may change its own), any other parses anew (a file changed or gone)."""
    key = str(Path(scenario_path).resolve())
    hit = _PARSED.get(key)
    if hit is not None:
        try:
            fresh = _stamps([stamp[0] for stamp in hit[0]]) == hit[0]
        except OSError:
            fresh = False
        if fresh:
            return _copied(hit[1])
    scenario = parse_scenario(scenario_path)
    _PARSED.clear()
    with contextlib.suppress(OSError):  # a file went away meanwhile: not kept
        _PARSED[key] = (_stamps(scenario.chain), scenario)
    return _copied(scenario)


def _copied(scenario: Scenario) -> Scenario:
    out = scenario.model_copy(deep=True)
    out.path, out.chain = scenario.path, list(scenario.chain)
    out.origins = scenario.origins
    return out


def _on_area(scenario: Scenario, area: str | Path | None) -> Scenario:
    """``scenario`` with its ``area:`` replaced by ``area`` (when given)."""
    if area is None:
        return scenario
    path, chain = scenario.path, scenario.chain
    scenario = scenario.model_copy(update={"area": str(Path(area).resolve())})
    scenario.path, scenario.chain = path, chain
    return scenario


def with_solver_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """The scenario with solver options from the command line (``time_limit=...``), checked
    like the scenario's own (``model_copy`` alone would let ``nan`` or 10**6 threads in)."""
    updates = {k: v for k, v in overrides.items() if v is not None}
    if not updates:
        return scenario
    try:
        solver = SolverOptions.model_validate({**scenario.solver.model_dump(), **updates})
    except ValidationError as exc:
        raise InputError([Problem(None, "--" + (p.field or "").replace("_", "-"), p.message,
                                  p.fix) for p in pydantic_problems(exc, None)]) from None
    new = scenario.model_copy(update={"solver": solver})
    new.path, new.chain = scenario.path, scenario.chain
    return new


def load(scenario_path: str | Path, progress: Progress | None = None,
         area: str | Path | None = None) -> Loaded:
    """Load a scenario (with ``extends``) and its study area (``area`` overrides the
    scenario's ``area:``)."""
    progress = progress or silent()
    with progress.phase("loading scenario", "load_scenario"):
        scenario = _on_area(load_scenario(scenario_path), area)
    with progress.phase(f"reading study area {scenario.area_path}", "read_area"):
        if not scenario.area_path.exists():
            raise InputError.single(
                scenario.path, "area", f"study area not found: {scenario.area_path}",
                "generate it (`ruimteverdeling make-area <dir>` or `ruimteverdeling demo`) "
                "or fix the path (relative to the scenario file)")
        with reusing_freed_memory():
            study_area = StudyArea.load(scenario.area_path, catalogue_for(scenario))
    return Loaded(scenario, study_area)


def check_model_memory(area: StudyArea) -> None:
    """Refuse to compile a model that would not fit in the available memory."""
    land = int(area.land.sum())
    require_memory(MODEL_BASE_BYTES + land * MODEL_BYTES_PER_LAND_CELL,
                   f"a model of {land:,} land cells", area.path, "grid",
                   "solve at a coarser resolution (solve --resolution M), or use a smaller "
                   "area or a machine with more memory")


def compile_scenario(scenario_path: str | Path, progress: Progress | None = None,
                     area: str | Path | None = None, **solver_overrides: Any) -> CompiledModel:
    """Load and compile a scenario into a model (raises InputError listing every problem)."""
    progress = progress or silent()
    loaded = load(scenario_path, progress, area)
    scenario = with_solver_overrides(loaded.scenario, solver_overrides)
    check_model_memory(loaded.area)
    with progress.phase("compiling model", "compile"):
        return compile_model(scenario, _one_period(scenario, loaded.area),
                             loaded.area.catalogue)


def _one_period(scenario: Scenario, area: StudyArea) -> StudyArea:
    """A scenario of at most one period: its period fields checked (a target `by` another
    year, an incomplete `period_layers`) and its period's layers read."""
    if not (scenario.periods or scenario.period_layers
            or any(t.by is not None for t in scenario.targets)):
        return area
    problems = pathways.check(scenario, area, area.catalogue)
    if problems:
        raise InputError(problems)
    years = pathways.years_of(scenario)
    return pathways.period_area(area, scenario, years[0]) if years else area


def default_out_dir(scenario: Scenario) -> Path:
    return Path("outputs") / scenario.id


def validate(scenario_path: str | Path, progress: Progress | None = None,
             area: str | Path | None = None, out_dir: str | Path | None = None
             ) -> dict[str, Any]:
    """Check a scenario, its study area and the output folder; describe the model (see
    :func:`ruimteverdeling.api.validate`)."""
    progress = progress or silent()
    loaded = load(scenario_path, progress, area)
    problems = loaded.area.check_layers()
    unreadable = {str(p.field).split(".")[1] for p in problems
                  if p.field and p.field.startswith("layers.") and p.field.count(".") >= 1}
    data = check_area(loaded.area, skip=unreadable)  # nodata, ranges, codes, grids
    problems += data.errors
    warns = [w.format() for w in data.warnings]
    out = Path(out_dir) if out_dir is not None else default_out_dir(loaded.scenario)
    output = None
    try:
        output = f"{out} ({wr.describe(out, protect=wr.protected(loaded.scenario, area))})"
    except InputError as exc:
        if out_dir is not None:
            problems += exc.problems
        else:
            warns += [f"the default output folder cannot be used: {p.format()}"
                      for p in exc.problems]
    check_model_memory(loaded.area)
    pw = None
    try:
        if pathways.is_pathway(loaded.scenario):  # every period compiled, and the pathways
            pw = pathways.compile_pathway(loaded.scenario, loaded.area, loaded.area.catalogue)
            cm = pw.last
        else:
            cm = compile_model(loaded.scenario, _one_period(loaded.scenario, loaded.area),
                               loaded.area.catalogue)
    except InputError as exc:  # a layer's data problem is reported once (by check_area)
        seen = {(str(p.file), p.field) for p in problems}
        raise InputError(problems + [p for p in exc.problems
                                     if (str(p.file), p.field) not in seen]) from None
    if problems:
        raise InputError(problems)
    warns += [w.format() for w in cm.warnings]
    spec, grid = (cm.spec if pw is None else pw.spec), cm.area.grid
    return {
        **({"periods": pw.years} if pw is not None else {}),
        "layer_checks": [c.line() for c in data.layers],
        "warnings": warns,
        "notes": [n.format() for n in cm.notes],
        "scenario": cm.scenario.id,
        "area": str(cm.area.path),
        "grid": f"{grid.width} x {grid.height} cells of {grid.resolution:g} m ({grid.crs})",
        "land_cells": int(cm.area.land.sum()),
        "changeable_cells": int(spec.n_units),
        "pinned_cells": int(cm.pinned_land.size),
        "columns": int(spec.n_cols),
        "rows": int(spec.n_rows),
        "targets": len(cm.scenario.targets),
        "rules_enabled": sum(1 for r in cm.scenario.rules if r.is_enabled),
        **({"output_folder": output} if output else {}),
    }


# ------------------------------------------------------------------------------------------------
# solve
# ------------------------------------------------------------------------------------------------
def reserve_output(scenario_path: str | Path, out_dir: str | Path | None,
                   area: str | Path | None = None, kind: str = "run", suffix: str = "",
                   claim: bool = False) -> wr.Reservation:
    """Check and lock the output folder of a scenario's run before any work is done.

    ``out_dir`` defaults to ``outputs/<scenario id><suffix>``. The folder must be new, empty
    or an earlier folder of the engine with nothing else in it, and must not be (or contain)
    the working folder, the scenario's folder or the study area's folder; see
    :mod:`ruimteverdeling.results.writer`. Raises InputError (the scenario) or
    :class:`~ruimteverdeling.results.writer.OutputError` (the folder).
    """
    scenario = load_scenario(scenario_path)
    if out_dir is not None:
        out, hint = Path(out_dir), ""
    else:
        out = default_out_dir(scenario).with_name(scenario.id + suffix)
        hint = (f" (by default the folder is named after the scenario id, "
                f"{len(scenario.id)} characters here)")
    area_path = Path(area) if area is not None else None
    return wr.reserve(out, kind, protect=wr.protected(scenario, area_path), claim=claim,
                      default_hint=hint)


def solve(scenario_path: str | Path, out_dir: str | Path | None = None, *,
          progress: Progress | None = None, area: str | Path | None = None,
          backend: str | None = None, method: str | None = None,
          time_limit: float | None = None, export_model: str | Path | None = None,
          write: bool = True, threads: int | None = None,
          resolution: float | None = None, mode: str | None = None) -> RunResult:
    """Load, compile, solve and (``write``) write the run folder of one scenario; the folder
    is reserved first (see :func:`reserve_output`). ``mode`` (foresight, myopic, both;
    default both) applies to scenarios with several ``periods`` (:func:`solve_pathway`)."""
    args = (progress or silent(), area, backend, method, time_limit, export_model, threads,
            resolution)
    if mode is not None and mode not in pathways.MODES:
        raise InputError.single(None, "--mode", f"unknown mode '{mode}'",
                                f"use one of {', '.join(pathways.MODES)}")
    loaded = load_scenario(scenario_path)
    if pathways.is_pathway(loaded):
        if loaded.objective.mode == "lexicographic":
            raise InputError.single(
                loaded.path, "objective.mode", "`mode: lexicographic` is not available for "
                "scenarios with several `periods` yet", "use `mode: weighted` (the default) "
                "for a pathway, or solve one period with `periods:` removed")
        if not write:
            return solve_pathway(scenario_path, None, *args, mode=mode or "both")
        with reserve_output(scenario_path, out_dir, area) as res:
            return solve_pathway(scenario_path, res.shown, *args, mode=mode or "both")
    if not write:
        return _solve(scenario_path, None, *args)
    with reserve_output(scenario_path, out_dir, area) as res:
        return _solve(scenario_path, res.shown, *args)


def _solve(scenario_path: str | Path, out_dir: Path | None, progress: Progress,
           area: str | Path | None, backend: str | None, method: str | None,
           time_limit: float | None, export_model: str | Path | None,
           threads: int | None, resolution: float | None) -> RunResult:
    started = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    coarsening = None
    if resolution is not None:
        area, coarsening = coarsen_area(scenario_path, area, resolution, progress)
    cm = compile_scenario(scenario_path, progress, area, backend=backend, method=method,
                          time_limit=time_limit, threads=threads)
    spec = cm.spec
    progress(f"model: {spec.n_units:,} changeable cells, {spec.n_cols:,} columns, "
             f"{spec.n_rows:,} rows ({cm.pinned_land.size:,} cells pinned by the rules)")
    if export_model is not None:
        _export(cm, export_model, progress)
    lex = None
    with progress.phase("solving", "solve"):
        try:
            if cm.scenario.objective.mode == "lexicographic":
                sol, lex = solve_lexicographic(cm, cm.scenario.solver, progress)
            else:
                sol = solve_spec(spec, cm.scenario.solver, progress)
        except InfeasibleError as exc:  # explain why; the diagnosis goes next to the output
            raise infeasible_error(cm, exc, out_dir, progress) from exc
    if location.location_rules(cm):  # the cell model was their relaxation
        with progress.phase("enforcing location rules", "locations"):
            sol = location.enforce(cm, sol, cm.scenario.solver, progress)
    progress(f"{sol.status}: objective {sol.objective:,.4f}, bound {sol.bound:,.4f}, "
             f"gap {sol.gap:.4%} ({sol.method})")
    run = result_of(cm, sol, dict(progress.timings))
    if lex is not None:
        run.summary["lexicographic"] = lex
    if coarsening is not None:
        run.summary["coarsening"] = coarsening
    if out_dir is not None:
        with progress.phase(f"writing outputs to {out_dir}", "write"):
            run.out_dir = write_run(run, out_dir, started, t_all)
        run.timings = dict(progress.timings)
    return run


def solve_pathway(scenario_path: str | Path, out_dir: Path | None, progress: Progress,
                  area: str | Path | None, backend: str | None, method: str | None,
                  time_limit: float | None, export_model: str | Path | None,
                  threads: int | None, resolution: float | None, mode: str = "both"
                  ) -> RunResult:
    """Solve a scenario with several ``periods`` (:mod:`ruimteverdeling.rules.pathways`) in
    ``mode`` foresight, myopic or both, and write its run folder (:func:`write_pathway_run`).
    """
    started = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    coarsening = None
    if resolution is not None:
        area, coarsening = coarsen_area(scenario_path, area, resolution, progress)
    if export_model is not None:
        raise InputError.single(None, "--export-model", "a scenario with several periods "
                                "cannot be exported yet", "export one period's scenario")
    loaded = load(scenario_path, progress, area)
    scenario = with_solver_overrides(loaded.scenario, dict(
        backend=backend, method=method, time_limit=time_limit, threads=threads))
    if scenario.solver.backend == "pyomo":
        raise InputError.single(scenario.path, "solver.backend", "a scenario with several "
                                "periods is solved with the highs backend only",
                                "use `--backend highs` (the default)")
    check_model_memory(loaded.area)
    years = pathways.years_of(scenario)
    with progress.phase(f"compiling {len(years)} periods and their pathways", "compile"):
        pw = pathways.compile_pathway(scenario, loaded.area, loaded.area.catalogue)
    unenforced = pathways.unenforced_location_rules(pw.compiled)
    if unenforced:
        progress(f"warning: the location rules {', '.join(unenforced)} are not enforced in a "
                 "run with several periods (summary.json, warnings)")
    spec = pw.spec
    how = "all of them columns" if pw.explicit else \
        f"generated as needed from {spec.n_x:,} columns"
    progress(f"model: {spec.n_units:,} changeable cells, {pw.count():,} pathways "
             f"({pw.count() / max(spec.n_units, 1):.1f} per cell; {how}), {spec.n_rows:,} "
             f"rows over periods {', '.join(map(str, years))}")
    del spec  # the first model over the start columns: the solve replaces it (pw.use)
    foresight = myopic = None
    myopic_failed = None
    if mode in ("foresight", "both"):
        with progress.phase("solving with foresight (all periods at once)", "solve"):
            foresight = pathways.solve_foresight(pw, progress)
        progress(f"foresight {foresight.status}: objective {foresight.objective:,.4f}, "
                 f"bound {foresight.bound:,.4f}, gap {foresight.gap:.4%}")
    if mode in ("myopic", "both"):
        with progress.phase("solving myopically (period by period)", "solve_myopic"):
            try:
                myopic = pathways.solve_myopic(pw, progress)
            except InfeasibleError as exc:
                if foresight is None:
                    raise
                myopic_failed = str(exc)  # a finding, not a failure: foresight is reported
                progress(f"myopic planning fails: {myopic_failed}")
        if myopic is not None:
            progress(f"myopic: objective {myopic.objective:,.4f} on the joint objective")
    chosen = foresight if foresight is not None else myopic
    assert chosen is not None
    period_runs = []
    for p in range(len(years)):
        cm = pw.compiled[p]
        psol = pw.period_solution(chosen, p)
        period_runs.append(result_of(cm, psol))
    last = period_runs[-1]
    head = replace(last.solution, status=chosen.status, objective=chosen.objective,
                   bound=chosen.bound, gap=chosen.gap, method=chosen.method,
                   status_quo_value=chosen.status_quo_value,
                   decision_gap=chosen.decision_gap, seconds=chosen.seconds,
                   details=chosen.details)
    summary = _pathway_summary(pw, period_runs, head, mode, foresight, myopic)
    if myopic_failed is not None:
        summary["pathway"]["myopic"] = {"infeasible": myopic_failed}
        summary["pathway"]["cost_of_myopia"] = {
            "points": None, "note": "period-by-period planning reaches no feasible "
            "allocation: " + myopic_failed}
    run = RunResult(scenario, None, head, pw.last, summary, last.after,
                    dict(progress.timings))
    run.pathway = PathwayRun(pw, mode, chosen, foresight, myopic, period_runs, summary)
    if coarsening is not None:
        run.summary["coarsening"] = coarsening
    if out_dir is not None:
        with progress.phase(f"writing outputs to {out_dir}", "write"):
            run.out_dir = write_pathway_run(run, out_dir, started, t_all)
        run.timings = dict(progress.timings)
    return run


def _pathway_summary(pw: pathways.Pathway, runs: list[RunResult], head: Solution, mode: str,
                     foresight: Solution | None, myopic: Solution | None) -> dict[str, Any]:
    """The last period's summary with the joint figures, per-period tables (``period``
    first) and the pathway block (periods, weights, timeline, cost of myopia)."""
    # the last period's tables are those of ``head`` (the same allocation): only the
    # joint figures differ, so its summary is reused rather than built again
    summary = {k: v for k, v in runs[-1].summary.items() if k != "locations"}
    summary.update(status=head.status, optimal=head.optimal, objective=head.objective,
                   bound=head.bound, gap=head.gap, decision_gap=head.decision_gap,
                   status_quo_value=head.status_quo_value, method=head.method)
    for key in ("areas", "targets", "rules", "burdens", "objective_terms"):
        summary[key] = [{"period": y, **row} for y, r in zip(pw.years, runs, strict=True)
                        for row in r.summary[key]]
    cat = pw.last.catalogue
    ha = pw.last.ctx.cell_ha
    timeline = []
    for y, r in zip(pw.years, runs, strict=True):
        after = r.after.ravel()[pw.last.area.land.ravel()]
        timeline.append({"period": y, **{u.id: float((after == u.code).sum()) * ha
                                          for u in cat}})
    block: dict[str, Any] = {
        "periods": pw.years,
        "weights": [float(w) for w in pw.model.weights],
        "weights_meaning": "years each period stands for (to the next period; the last "
                           "as long as the one before)",
        "mode": mode,
        "reported": "myopic" if foresight is None else "foresight",
        "columns": int(pw.spec.n_x),
        "columns_per_cell": float(pw.spec.n_x / max(pw.spec.n_units, 1)),
        "trajectories": pw.count(),
        "trajectories_note": "columns: the trajectories the model was solved over (all of "
                             "them, or those column generation priced in); trajectories: "
                             "every pathway the rules and the transitions allow",
        "timeline_ha": timeline,
        "period_objective": [{"period": y, "value": pw.model.period_value(
            (foresight or myopic).x, p)} for p, y in enumerate(pw.years)],
    }
    if foresight is not None:
        block["foresight"] = {"objective": foresight.objective, "bound": foresight.bound,
                              "gap": foresight.gap, "decision_gap": foresight.decision_gap,
                              "status": foresight.status}
    if myopic is not None:
        block["myopic"] = {"objective": myopic.objective, "status": myopic.status,
                           "note": "the last step's allocation evaluated on the joint "
                                   "objective; each step optimal within mip_rel_gap"}
    if foresight is not None and myopic is not None:
        block["cost_of_myopia"] = pathways.cost_of_myopia(pw, foresight, myopic)
    if foresight is not None and foresight.row_dual is not None \
            and foresight.row_dual.size == pw.spec.n_rows:
        # "one more unit of this target by 2030 costs ..., by 2050 ...": the joint LP's row
        # duals (objective points per unit of the target's quantity; HiGHS's sign)
        offsets = pw.spec.row_offsets()
        block["target_duals"] = [
            {"period": b.meta.get("period"), "block": b.name, "row": label,
             "row_dual": float(foresight.row_dual[offsets[b.name][0] + r])}
            for b in pw.spec.coupling if b.kind == "target"
            for r, label in enumerate(b.labels or [])]
    summary["pathway"] = block
    return summary


def write_pathway_run(run: RunResult, out_dir: Path, started: _dt.datetime, t_all: float,
                      extra: Extra | None = None) -> Path:
    """Write the run folder of a multi-period run atomically: ``allocation_<year>.tif`` per
    period (and ``allocation.tif`` = the last period), ``change_<from>_<to>.tif`` between
    periods (``change.tif``: today to the last period), the tables with a ``period`` column,
    ``report.html`` (the last period, with the timeline and a map per period),
    ``summary.json`` and ``manifest.json``; with mode both also the myopic pathway's
    ``myopic_allocation_<year>.tif``. ``extra`` as in :func:`write_run`."""
    t_write = time.perf_counter()
    pr = run.pathway
    assert pr is not None
    pw, cm, sol, summary = pr.model, run.compiled, run.solution, run.summary
    grid, cat = cm.area.grid, cm.catalogue
    with wr.AtomicOutputDir(out_dir, "run") as tmp:
        tags = {"scenario": cm.scenario.id, "status": sol.status,
                "objective": f"{sol.objective:.6f}", "gap": f"{sol.gap:.6g}"}
        grids = [r.after for r in pr.periods]
        for y, g in zip(pw.years, grids, strict=True):
            rasters.write_allocation(tmp / f"allocation_{y}.tif", grid, g, cat,
                                     {**tags, "period": str(y)})
        rasters.write_allocation(tmp / "allocation.tif", grid, grids[-1], cat, tags)
        _, summary["transitions"] = rasters.write_change(
            tmp / "change.tif", grid, cm.area.current_use, grids[-1], cat)
        summary["pathway"]["transitions"] = {}
        for (y0, g0), (y1, g1) in itertools.pairwise(zip(pw.years, grids, strict=True)):
            _, summary["pathway"]["transitions"][f"{y0}-{y1}"] = rasters.write_change(
                tmp / f"change_{y0}_{y1}.tif", grid, g0, g1, cat)
        if pr.foresight is not None and pr.myopic is not None:
            for p, y in enumerate(pw.years):
                rasters.write_allocation(tmp / f"myopic_allocation_{y}.tif", grid,
                                         pw.allocation_grid(pr.myopic, p), cat,
                                         {**tags, "period": str(y), "mode": "myopic"})
        sm.write_csv(tmp / "areas.csv", summary["areas"], ["period", *sm.AREAS_COLUMNS])
        sm.write_csv(tmp / "targets.csv", summary["targets"], ["period", *sm.TARGET_COLUMNS])
        sm.write_csv(tmp / "rules.csv", summary["rules"], ["period", *tables.RULE_COLUMNS])
        sm.write_csv(tmp / "burdens.csv", summary["burdens"])
        sm.write_csv(tmp / "timeline.csv", summary["pathway"]["timeline_ha"])
        summary["shadow_prices"] = _pathway_prices(pr)
        sm.write_csv(tmp / "shadow_prices.csv", summary["shadow_prices"], PATHWAY_COLUMNS)
        last = pr.periods[-1]
        year = pw.years[-1]
        last.summary = {**summary, "areas": [{k: v for k, v in r.items() if k != "period"}
                                             for r in summary["areas"]
                                             if r["period"] == year]}
        if extra is not None:
            extra(tmp)
        write_report(last, tmp, pathway=pr)
        summary["indicators"] = last.summary.get("indicators")
        write_json(tmp / "summary.json", summary)
        timings = dict(run.timings)
        timings["write"] = time.perf_counter() - t_write
        timings["total"] = time.perf_counter() - t_all
        outputs = [*sorted(p.name for p in tmp.iterdir() if p.name != wr.MARKER),
                   "manifest.json"]
        manifest = mf.run_manifest(cm, sol, timings, started, _dt.datetime.now(_dt.UTC),
                                   outputs)
        manifest["periods"] = pw.years
        write_json(tmp / "manifest.json", manifest)
    wr.remove_engine_folder(diagnosis_dir(out_dir), "diagnosis")
    return out_dir


def _pathway_prices(pr: PathwayRun) -> list[dict[str, Any]]:
    """The per-period shadow prices of the foresight pathway (none for myopic planning
    only); never fails the run."""
    if pr.foresight is None:
        return []
    try:
        return pathway_price_rows(pr.model, pr.foresight)
    except Exception as exc:  # the solve is done; keep its outputs, say what failed
        warnings.warn(f"shadow prices could not be computed: {exc!r}", ShadowPriceWarning,
                      stacklevel=2)
        return []


def result_of(cm: CompiledModel, sol: Solution, timings: dict[str, float] | None = None
              ) -> RunResult:
    """The :class:`RunResult` of a solution (its summary and allocation), not yet written."""
    after = cm.allocation_grid(sol.x)
    summary = sm.build_summary(cm, sol, after)
    rows, ids = locs.location_rows(cm, after)
    summary["locations"] = locs.summary(cm, sol, rows)
    return RunResult(cm.scenario, None, sol, cm, summary, after, dict(timings or {}),
                     locations=(rows, ids))


def _export(cm: CompiledModel, path: str | Path, progress: Progress) -> None:
    with progress.phase(f"exporting model to {path}", "export"):
        try:
            write_model(cm.spec, path, cm.ctx.alloc_ids)
        except OSError as exc:
            raise InputError.single(path, "--export-model", f"cannot write the model file: "
                                    f"{exc.strerror or exc}",
                                    "give a path in a folder you can write to") from None


def coarsen_area(scenario_path: str | Path, area: str | Path | None, resolution: float,
                 progress: Progress | None = None) -> tuple[Path, dict[str, Any]]:
    """The scenario's study area (or ``area``) at ``resolution`` m, cached under
    ``coarse/`` in :func:`ruimteverdeling.paths.cache_dir` (the user's cache folder, never the
    source checkout; keyed by the source area's path and files); returns its area.yaml and
    the coarsening report."""
    progress = progress or silent()
    source = Path(area) if area is not None else load_scenario(scenario_path).area_path
    if not source.exists():
        raise InputError.single(scenario_path, "area", f"study area not found: {source}",
                                "generate it or fix the path")
    with progress.phase(f"coarsening the study area to {resolution:g} m", "coarsen"):
        path, report = coarsen(source, resolution, cache_dir() / "coarse")
    progress(f"coarse area: {report['study_area']['coarse_ha']:,.0f} ha "
             f"({report['study_area']['deviation']:+.2%} against the fine area); largest "
             f"regional deviation {report['max_region_deviation']:.2%}")
    return path, report


def solve_and_write(scenario_path: str | Path, out: Path, progress: Progress,
                    area: str | Path | None, time_limit: float | None,
                    pricing: Pricing | None = None,
                    analysis: Callable[[RunResult], Extra] | None = None) -> RunResult:
    """Solve and write a run folder to ``out`` (reserved by the caller with
    :func:`reserve_output`; an analysis's default folder is ``outputs/<id><suffix>``, so it
    does not replace the scenario's plain run in ``outputs/<id>``).

    ``analysis``: run on the solved scenario before anything is written; the writer it returns
    adds its files to the run folder before ``report.html`` is drawn, so the report shows them
    (drawn once) and the folder appears complete or not at all."""
    started = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    run = solve(scenario_path, progress=progress, area=area, time_limit=time_limit,
                write=False)
    run.pricing = pricing or Pricing()
    extra = analysis(run) if analysis is not None else None
    with progress.phase(f"writing outputs to {out}", "write"):
        if run.pathway is not None:  # the periods' folder, priced by the joint LP's duals
            run.out_dir = write_pathway_run(run, out, started, t_all, extra)
        else:
            run.out_dir = write_run(run, out, started, t_all, extra)
    return run


# ------------------------------------------------------------------------------------------------
# write
# ------------------------------------------------------------------------------------------------
def write_run(run: RunResult, out_dir: Path, started: _dt.datetime, t_all: float,
              extra: Extra | None = None) -> Path:
    """Write the run folder of ``run`` to ``out_dir`` atomically (see the module docstring);
    adds ``transitions``, ``shadow_prices`` and ``indicators`` to ``run.summary``. ``extra``
    writes an analysis's files into the folder before ``report.html`` is drawn."""
    t_write = time.perf_counter()
    cm, sol, summary, after = run.compiled, run.solution, run.summary, run.after
    with wr.AtomicOutputDir(out_dir, "run") as tmp:
        tags = {"scenario": cm.scenario.id, "status": sol.status,
                "objective": f"{sol.objective:.6f}", "gap": f"{sol.gap:.6g}"}
        rasters.write_allocation(tmp / "allocation.tif", cm.area.grid, after, cm.catalogue,
                                 tags)
        _, summary["transitions"] = rasters.write_change(
            tmp / "change.tif", cm.area.grid, cm.area.current_use, after, cm.catalogue)
        sm.write_csv(tmp / "areas.csv", summary["areas"], sm.AREAS_COLUMNS)
        sm.write_csv(tmp / "targets.csv", summary["targets"], sm.TARGET_COLUMNS)
        sm.write_csv(tmp / "rules.csv", summary["rules"], tables.RULE_COLUMNS)
        sm.write_csv(tmp / "burdens.csv", summary["burdens"])
        if run.locations is not None:
            locs.write(tmp, cm, *run.locations)
        summary["shadow_prices"] = write_run_prices(cm, sol, tmp, run.pricing)
        if extra is not None:
            extra(tmp)
        write_report(run, tmp)  # indicators.csv, summary["indicators"], report.html
        write_json(tmp / "summary.json", summary)
        timings = dict(run.timings)
        timings["write"] = time.perf_counter() - t_write  # up to the manifest itself
        timings["total"] = time.perf_counter() - t_all
        outputs = [*sorted(p.name for p in tmp.iterdir() if p.name != wr.MARKER),
                   "manifest.json"]
        write_json(tmp / "manifest.json",
                   mf.run_manifest(cm, sol, timings, started, _dt.datetime.now(_dt.UTC),
                                   outputs))
    # a complete run replaces the diagnosis of an earlier infeasible attempt next to it (only
    # a diagnosis folder the engine wrote, with nothing else in it)
    wr.remove_engine_folder(diagnosis_dir(out_dir), "diagnosis")
    return out_dir


def draw_report_figures(run: RunResult) -> None:
    """Draw the run report's charts that depend on the solve alone (maps, burdens,
    locations; :func:`ruimteverdeling.report.run.run_figures`) into ``run.figures``, so that
    an analysis can draw them while its workers re-solve and the report at the end only
    renders (its templates are compiled here too, once: the environment keeps them). The same
    bytes as drawn at the end; a chart that fails here is left to the report's own draw
    (which says what failed)."""
    from ruimteverdeling.report.environment import environment

    cm = run.compiled
    view = RunView(summary=run.summary, scenario={}, grid=cm.area.grid,
                   catalogue=cm.catalogue, before=cm.area.current_use, after=run.after,
                   locations=run.locations)
    try:
        run.figures = run_report.run_figures(view)
    except Exception:  # drawn again, and reported, when the report is written
        run.figures = None
    try:
        env = environment()
        for name in env.list_templates(filter_func=lambda n: n.startswith(("run", "base",
                                                                             "macros"))):
            env.get_template(name)
    except Exception:  # compiled, or reported, when the report is written
        pass


def write_report(run: RunResult, folder: Path, pathway: PathwayRun | None = None) -> None:
    """Write the plan-MER indicators and ``report.html`` of a finished solve into ``folder``.

    Adds ``indicators`` (definitions and values, national and per province) to the run's
    summary, writes ``indicators.csv`` and the self-contained ``report.html`` (which shows a
    ``pareto.csv`` already in ``folder``). A failure here never loses a solved run: it is
    reported as a :class:`ReportWarning` and ``report.html`` says what went wrong.
    """
    cm, sol = run.compiled, run.solution
    try:
        table = ind.compute(ind.IndicatorInputs(
            cm.area, cm.catalogue, run.after,
            housing_density=ind.HomesPerHectare.from_any(cm.scenario.housing_density)))
        run.summary["indicators"] = table.to_json()
        sm.write_csv(folder / "indicators.csv", table.rows(), ind.COLUMNS)
        view = RunView(
            summary=run.summary, scenario=cm.scenario.resolved(), grid=cm.area.grid,
            catalogue=cm.catalogue, before=cm.area.current_use, after=run.after,
            record={"scenario_files": mf.scenario_hashes(cm.scenario.chain),
                    "inputs": {"area": str(cm.area.path), "sha256": cm.area.file_hashes()},
                    "versions": mf.package_versions(),
                    "solver": {"backend": sol.backend, "solver": sol.solver,
                               "method": sol.method}},
            indicators=table, folder=folder, area=cm.area,
            pareto=read_pareto(folder / "pareto.csv"),
            locations=run.locations,
            pathway=None if pathway is None else {"grids": [
                (y, r.after) for y, r in zip(pathway.model.years, pathway.periods,
                                             strict=True)]})
        run_report.write_run_report(view, folder / "report.html", run.figures)
    except OSError:  # a full disk or a size limit: the folder cannot be completed at all
        raise
    except Exception as exc:  # the solve is done; keep its outputs, say what failed
        warnings.warn(f"report.html could not be rendered: {exc!r}", ReportWarning,
                      stacklevel=2)
        run_report.write_failure_page(folder / "report.html", traceback.format_exc())


class AlternativesWriter:
    """``with AlternativesWriter(run, out, started, t_all) as w: w.add(label, sol) …;
    w.finish(rows, columns)`` writes ``out`` atomically: the optimum's run folder
    (``optimum/``, handed in when the writer opens), one run folder per alternative
    (``(label, solution)``) and ``alternatives.csv`` (``rows``); of a multi-period run each
    folder is a pathway run folder.

    Each folder depends on its own solution alone, so it is written as soon as that is
    known, by one process forked when the optimum's is handed in
    (:class:`ruimteverdeling.parallel.ForkedCalls`; with ``workers`` > 1, default
    :func:`ruimteverdeling.parallel.default_workers`), while this process solves the next
    alternative on the other core. :meth:`finish` writes those that child has not started
    (and any it could not finish: here, where an error can be reported) in ``workers``
    forked processes. The folders are the same with
    any count; only each manifest's ``total`` seconds say when it was written. Leaving the
    block by an exception stops the children and leaves no folder."""

    def __init__(self, run: RunResult, out: Path, started: _dt.datetime, t_all: float,
                 workers: int | None = None) -> None:
        self.run, self.out, self.started, self.t_all = run, out, started, t_all
        self.workers = default_workers() if workers is None else workers
        self.folders: list[tuple[str, Solution | None]] = []
        self._atomic = wr.AtomicOutputDir(out, "alternatives")
        self._calls = ForkedCalls(self._write, 1 if self.workers > 1 else 0)
        self.tmp = Path()

    def __enter__(self) -> AlternativesWriter:
        self.tmp = self._atomic.__enter__()
        try:
            if self.workers > 1:  # the report's figures: imported once here, not in every child
                import matplotlib.backends.backend_agg
                import matplotlib.figure  # noqa: F401
            self.add("optimum", None)
        except BaseException as exc:  # a Ctrl-C here, say: no working folder stays behind
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is not None:
                self._calls.cancel()
        finally:  # a second Ctrl-C while the children stop: the working folder goes all the same
            self._atomic.__exit__(exc_type, exc, tb)

    def _write(self, label: str, sol: Solution | None) -> None:
        run = self.run
        write = write_run if run.pathway is None else write_pathway_run
        if sol is not None:
            run = result_of(run.compiled, sol, run.timings) if run.pathway is None else \
                pathway_result(run, sol)
        write(run, self.tmp / label, self.started, self.t_all)

    def add(self, label: str, sol: Solution | None) -> None:
        """Hand in the folder ``label`` of ``sol`` (None: the optimum, the run's own)."""
        self.folders.append((label, sol))
        self._calls.submit(len(self.folders) - 1, label, sol)

    def finish(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        """Write every folder not written yet, then ``alternatives.csv``."""
        # (a child that failed leaves at most a partial folder of a dead process, which the
        # folder's own atomic writer clears when it writes it again here)
        left = self._calls.wait()
        try:
            fork_map(lambda j: self._write(*self.folders[left[j]]), len(left), self.workers)
        except BrokenProcessPool:
            raise SolverError("a worker process writing the alternatives' run folders died "
                              "(killed for memory?); nothing was written to "
                              f"{self.out}: free memory, or solve at a coarser --resolution, "
                              "and run again") from None
        sm.write_csv(self.tmp / "alternatives.csv", rows, columns)


def pathway_result(run: RunResult, sol: Solution) -> RunResult:
    """``run`` (a multi-period run) with ``sol``, another solution of its pathway model, as
    its foresight pathway (for the run folder of an alternative)."""
    pr = run.pathway
    assert pr is not None
    pw = pr.model
    period_runs = [result_of(cm, pw.period_solution(sol, p)) for p, cm in enumerate(pw.compiled)]
    last = period_runs[-1]
    head = replace(last.solution, status=sol.status, objective=sol.objective, bound=sol.bound,
                   gap=sol.gap, method=sol.method, status_quo_value=sol.status_quo_value,
                   decision_gap=sol.decision_gap, seconds=sol.seconds, details=sol.details)
    summary = _pathway_summary(pw, period_runs, head, "foresight", sol, None)
    out = RunResult(run.scenario, None, head, pw.last, summary, last.after, dict(run.timings))
    out.pathway = PathwayRun(pw, "foresight", sol, sol, None, period_runs, summary)
    return out


# ------------------------------------------------------------------------------------------------
# inputs: the synthetic study area
# ------------------------------------------------------------------------------------------------
MAKE_AREA_GRID_PER_CELL = 2.2
"""Grid cells per study-area cell of the synthetic Netherlands (its bounding box; measured
2.13-2.19 from 36 k to 6.4 M cells)."""
MAKE_AREA_BYTES_PER_GRID_CELL = 200.0
MAKE_AREA_BASE_BYTES = 600e6
"""Peak memory of ``make-area``: ~600 MB plus ~200 bytes per grid cell (measured peak RSS:
1.07 GB at 1.6 M cells and 3.05 GB at 6.4 M cells at 100 m, i.e. 195 B per grid cell)."""


def check_make_area(cells: int, resolution: float) -> None:
    """Refuse a synthetic area that is beyond the largest grid or the available memory,
    before generating anything (see the constants above)."""
    if not math.isfinite(resolution) or resolution <= 0:
        raise InputError.single(None, "--resolution", f"{resolution!r} is not a cell size",
                                "give a positive number of metres, e.g. --resolution 100")
    grid = cells * MAKE_AREA_GRID_PER_CELL
    need = MAKE_AREA_BASE_BYTES + grid * MAKE_AREA_BYTES_PER_GRID_CELL
    have = available_memory()
    fit = MAX_GRID_CELLS / MAKE_AREA_GRID_PER_CELL
    if have is not None:
        fit = min(fit, max(have - MAKE_AREA_BASE_BYTES, 0)
                  / (MAKE_AREA_BYTES_PER_GRID_CELL * MAKE_AREA_GRID_PER_CELL))
    fix = (f"ask for at most {int(fit):,} cells here (the whole Netherlands at 100 m is "
           "about 3,300,000), or use a machine with more memory")
    if grid > MAX_GRID_CELLS:
        raise InputError.single(None, "--cells", f"{cells:,} cells make a grid of about "
                                f"{grid:,.0f} cells, more than the {MAX_GRID_CELLS:,} the "
                                "engine reads; generating it would need about "
                                f"{format_bytes(need)} of memory", fix)
    require_memory(need, f"a synthetic area of {cells:,} cells (a grid of about {grid:,.0f} "
                   "cells)", None, "--cells", fix)


def make_area(out_dir: str | Path, cells: int, resolution: float, seed: int,
              progress: Progress | None = None) -> Path:
    """Generate the synthetic study area into ``out_dir`` (reserved and written atomically,
    like a run folder); returns its area.yaml."""
    from ruimteverdeling.synthetic import make_area as generate  # deferred: rasterio, shapely

    check_make_area(cells, resolution)
    progress = progress or silent()
    with wr.reserve(out_dir, "area", option="OUT", protect=wr.protected()), \
            progress.phase(f"generating synthetic study area ({cells:,} cells at "
                           f"{resolution:g} m) in {out_dir}", "make_area"), \
            wr.AtomicOutputDir(out_dir, "area", option="OUT") as tmp:
        generate(tmp, cells=cells, resolution=resolution, seed=seed, progress=progress)
    return Path(out_dir) / "area.yaml"


def synthetic_area_state(folder: str | Path) -> str | None:
    """Whether the engine may use the study area in ``folder`` as its own synthetic area
    (the demo's ``inputs/demo``, a benchmark area in the cache): ``"absent"`` (no
    ``area.yaml``: generate it), ``None`` (use it: made by this engine's generator, or not by
    the synthetic generator at all), or the version of the generator that made it when that is
    another version and the folder is the engine's (it carries the engine's marker and nothing
    else, see :mod:`ruimteverdeling.results.writer`): regenerate it. An outdated folder that
    is not the engine's is refused (InputError naming the make-area command), never
    replaced."""
    folder = Path(folder)
    area = folder / "area.yaml"
    if not area.is_file():
        return "absent"
    manifest = load_manifest(area)
    version = provenance.of_manifest(manifest)
    if version is None:
        return None
    own = wr.owner_of(folder)
    if own is None or own.kind != "area" or wr.foreign_files(folder, own):
        command = provenance.make_area_command(folder, manifest.generator)
        raise InputError.single(
            area, "generator", f"made by {version}, while this engine's scenarios need the "
            f"layers of {GENERATOR_VERSION}; the folder is not the engine's to replace (no "
            "marker of the engine, or files the engine did not write)",
            f"regenerate with make-area: `{command}` (after moving your own files out of "
            f"{folder}), or into another folder")
    return version


# ------------------------------------------------------------------------------------------------
# run folders: resume and reuse
# ------------------------------------------------------------------------------------------------
def fingerprint(scenario_path: str | Path, area: str | Path | None = None,
                **solver_overrides: Any) -> dict[str, Any]:
    """What a run of this scenario would record as its inputs, without compiling the model.

    Loads the scenario (with ``extends``, the ``area`` override and the solver overrides
    applied exactly as :func:`solve` does) and hashes ``area.yaml`` and every layer file it
    lists. Returns the record in the form :func:`~ruimteverdeling.results.manifest.recorded`
    reads from a ``manifest.json``, so :func:`is_up_to_date` can compare the two. Raises
    InputError when the scenario or the area manifest cannot be read, or a layer file is
    missing.
    """
    scenario = with_solver_overrides(_on_area(load_scenario(scenario_path), area),
                                     solver_overrides)
    area_path = scenario.area_path
    files = {"area.yaml": area_path}
    for name, spec in load_manifest(area_path).layers.items():
        files[name] = area_path.parent / spec.file
    hashes: dict[str, str] = {}
    for key, file in files.items():
        if not file.exists():
            raise InputError.single(area_path, f"layers.{key}.file",
                                    f"file not found: {file}",
                                    "correct the path (relative to area.yaml) or add the file")
        hashes[key] = sha256_file(file.resolve())
    return mf.fingerprint_record(scenario.resolved(), area_path, hashes)


def is_up_to_date(out_dir: str | Path, expected: dict[str, Any]) -> bool:
    """True when ``out_dir`` holds a complete run (every output it lists is present) whose
    manifest records the engine version, the resolved scenario and the input hashes of
    ``expected`` (a :func:`fingerprint`)."""
    manifest = complete_manifest(out_dir)
    return manifest is not None and mf.recorded(manifest) == expected


def run_folders(items: Sequence[str | Path], out_dir: Path, progress: Progress | None = None,
                area: str | Path | None = None) -> list[Path]:
    """Run folders for ``items``: folders as given; scenario files solved into
    ``out_dir/runs/<id>`` (or reused when that folder is up to date with the scenario), on
    ``area`` instead of their own ``area:`` when given. InputError for anything else, and for
    two scenario files with one id."""
    progress = progress or silent()
    problems: list[Problem] = []
    kinds: list[tuple[Path, str | None]] = []  # (path, scenario id or None for a folder)
    ids: dict[str, Path] = {}
    for item in items:
        p = Path(item)
        if p.is_dir():
            kinds.append((p, None))
        elif p.is_file() and p.suffix.lower() in SCENARIO_SUFFIXES:
            sid = load_scenario(p).id
            if sid in ids and ids[sid].resolve() != p.resolve():
                problems.append(Problem(p, "id", f"scenario id '{sid}' is also the id of "
                                        f"{ids[sid]}; both would be solved into runs/{sid}",
                                        "give the scenarios different ids"))
            ids[sid] = p
            kinds.append((p, sid))
        else:
            problems.append(Problem(p, None, "neither a solved run folder nor a scenario file"
                                    + ("" if p.exists() else " (it does not exist)"),
                                    "give a folder written by `ruimteverdeling solve` or a "
                                    "scenario .yaml"))
    if problems:
        raise InputError(problems)
    folders: list[Path] = []
    for p, sid in kinds:
        if sid is None:
            folders.append(p)
            continue
        run_dir = out_dir / "runs" / sid
        if is_up_to_date(run_dir, fingerprint(p, area=area)):
            progress(f"{p}: {run_dir} is up to date, not solved again")
        else:
            progress(f"solving {p} into {run_dir}")
            solve(p, run_dir, progress=progress, area=area)
        folders.append(run_dir)
    return folders


def layer_needs(scenario_path: str | Path, area: str | Path | None = None
                ) -> tuple[list[LayerNeed], Path, Problem | None]:
    """The layers a scenario needs (``validate --needs``): see
    :func:`ruimteverdeling.rules.needs.scenario_needs`."""
    return scenario_needs(load_scenario(scenario_path), area)
