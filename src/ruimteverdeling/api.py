"""The public functions of the engine — the one door the CLI, batch runs and notebooks use.

    >>> from ruimteverdeling import api
    >>> run = api.solve("scenarios/base.yaml", "outputs/base")     # doctest: +SKIP
    >>> run.solution.status, run.solution.gap                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.domain.burdens import gini
from ruimteverdeling.errors import InfeasibleError, InputError, Problem
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.model.solve import solve as solve_spec
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.results import manifest as mf
from ruimteverdeling.results import rasters, tables
from ruimteverdeling.results import summary as sm
from ruimteverdeling.results import writer as wr
from ruimteverdeling.results.writer import AtomicOutputDir, write_json
from ruimteverdeling.rules import load_scenario
from ruimteverdeling.rules.compile import CompiledModel, catalogue_for, compile_model
from ruimteverdeling.scenario import Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunResult:
    """A finished solve: where its outputs are and what it found."""

    scenario: Scenario
    out_dir: Path | None
    solution: Solution
    compiled: CompiledModel
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    pricing: str = "lp"  # LP pricing shadow_prices.csv: lp | fixed [+moves] (analysis.duals)


@dataclass
class Loaded:
    scenario: Scenario
    area: StudyArea


def load(scenario_path: str | Path, progress: Progress | None = None,
         area: str | Path | None = None) -> Loaded:
    """Load a scenario (with ``extends``) and its study area (``area`` overrides the
    scenario's ``area:``)."""
    progress = progress or silent()
    with progress.phase("loading scenario", "load_scenario"):
        scenario = load_scenario(scenario_path)
        if area is not None:
            path, chain = scenario.path, scenario.chain
            scenario = scenario.model_copy(update={"area": str(Path(area).resolve())})
            scenario.path, scenario.chain = path, chain
    with progress.phase(f"reading study area {scenario.area_path}", "read_area"):
        if not scenario.area_path.exists():
            raise InputError.single(
                scenario.path, "area", f"study area not found: {scenario.area_path}",
                "generate it (`ruimteverdeling make-area <dir>` or `ruimteverdeling demo`) "
                "or fix the path (relative to the scenario file)")
        catalogue = catalogue_for(scenario)
        area = StudyArea.load(scenario.area_path, catalogue)
    return Loaded(scenario, area)


def compile(scenario_path: str | Path, progress: Progress | None = None,
            area: str | Path | None = None, **solver_overrides: Any) -> CompiledModel:
    """Load and compile a scenario into a model (raises InputError listing every problem)."""
    progress = progress or silent()
    loaded = load(scenario_path, progress, area)
    scenario = _with_solver_overrides(loaded.scenario, solver_overrides)
    check_model_memory(loaded.area)
    with progress.phase("compiling model", "compile"):
        cm = compile_model(scenario, loaded.area, loaded.area.catalogue)
    return cm


def validate(scenario_path: str | Path, progress: Progress | None = None,
             area: str | Path | None = None, out_dir: str | Path | None = None
             ) -> dict[str, Any]:
    """Check a scenario and its study area; return a short description of the model.

    Every problem is reported at once in the raised InputError: the layers of the study area
    (all of them, also those this scenario does not use, including their nodata share, value
    ranges, category codes and grids, see :mod:`ruimteverdeling.area.checks`) and the scenario
    against the area. ``layer_checks`` (one line per layer) and ``warnings`` are returned.

    The output folder a solve would write (``out_dir``, default ``outputs/<id>``) is checked
    too, after repairing what an interrupted run left there (said on stderr): a folder that
    ``solve`` would refuse is a problem when ``out_dir`` is given, a warning otherwise.
    """
    from ruimteverdeling.area.checks import check_area

    progress = progress or silent()
    loaded = load(scenario_path, progress, area)
    problems = loaded.area.check_layers()
    unreadable = {str(p.field).split(".")[1] for p in problems
                  if p.field and p.field.startswith("layers.") and p.field.count(".") >= 1}
    data = check_area(loaded.area, skip=unreadable)  # nodata, ranges, codes, grids
    problems += data.errors
    warnings = [w.format() for w in data.warnings]
    out = Path(out_dir) if out_dir is not None else default_out_dir(loaded.scenario)
    output = None
    try:
        output = f"{out} ({wr.describe(out, protect=wr.protected(loaded.scenario, area))})"
    except InputError as exc:
        if out_dir is not None:
            problems += exc.problems
        else:
            warnings += [f"the default output folder cannot be used: {p.format()}"
                         for p in exc.problems]
    check_model_memory(loaded.area)
    try:
        cm = compile_model(loaded.scenario, loaded.area, loaded.area.catalogue)
    except InputError as exc:  # a layer's data problem is reported once (by check_area)
        seen = {(str(p.file), p.field) for p in problems}
        raise InputError(problems + [p for p in exc.problems
                                     if (str(p.file), p.field) not in seen]) from None
    if problems:
        raise InputError(problems)
    spec = cm.spec
    return {
        "layer_checks": [c.line() for c in data.layers],
        "warnings": warnings,
        "scenario": cm.scenario.id,
        "area": str(cm.area.path),
        "grid": f"{cm.area.grid.width} x {cm.area.grid.height} cells of "
                f"{cm.area.grid.resolution:g} m ({cm.area.grid.crs})",
        "land_cells": int(cm.area.land.sum()),
        "changeable_cells": int(spec.n_units),
        "pinned_cells": int(cm.pinned_land.size),
        "columns": int(spec.n_cols),
        "rows": int(spec.n_rows),
        "targets": len(cm.scenario.targets),
        "rules_enabled": sum(1 for r in cm.scenario.rules if r.is_enabled),
        **({"output_folder": output} if output else {}),
    }


def _with_solver_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """The scenario with solver options from the command line (``time_limit=...``), checked
    like the scenario's own (``model_copy`` alone would let ``nan`` or 10**6 threads in)."""
    from pydantic import ValidationError

    from ruimteverdeling.model.options import SolverOptions
    from ruimteverdeling.strict import pydantic_problems

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


def default_out_dir(scenario: Scenario) -> Path:
    return Path("outputs") / scenario.id


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
          resolution: float | None = None) -> RunResult:
    """Load, compile, solve and write the outputs of one scenario.

    Outputs go to ``out_dir`` (default ``outputs/<scenario id>``), written atomically.
    ``threads`` overrides the scenario's ``solver.threads`` (HiGHS threads). ``resolution``
    (m, a whole multiple of the area's cell size) solves on a coarsened copy of the study
    area (see :mod:`ruimteverdeling.area.coarsen`); its regional area deviations go into
    the summary under ``coarsening``.

    The output folder is checked and locked before the scenario is compiled (see
    :func:`reserve_output`); a folder the engine did not write is never replaced.
    """
    if not write:
        return _solve(scenario_path, None, progress, area, backend, method, time_limit,
                      export_model, False, threads, resolution)
    with reserve_output(scenario_path, out_dir, area) as res:
        return _solve(scenario_path, res.shown, progress, area, backend, method, time_limit,
                      export_model, True, threads, resolution)


def _solve(scenario_path: str | Path, out_dir: Path | None, progress: Progress | None,
           area: str | Path | None, backend: str | None, method: str | None,
           time_limit: float | None, export_model: str | Path | None, write: bool,
           threads: int | None, resolution: float | None) -> RunResult:
    progress = progress or silent()
    started = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    coarsening = None
    if resolution is not None:
        area, coarsening = coarsen_area(scenario_path, area, resolution, progress)
    cm = compile(scenario_path, progress, area, backend=backend, method=method,
                 time_limit=time_limit, threads=threads)
    scenario = cm.scenario
    spec = cm.spec
    progress(f"model: {spec.n_units:,} changeable cells, {spec.n_cols:,} columns, "
             f"{spec.n_rows:,} rows ({cm.pinned_land.size:,} cells pinned by the rules)")
    if export_model is not None:
        from ruimteverdeling.model.pyomo_backend import write_model

        with progress.phase(f"exporting model to {export_model}", "export"):
            try:
                write_model(spec, export_model, cm.ctx.alloc_ids)
            except OSError as exc:
                raise InputError.single(export_model, "--export-model", f"cannot write the "
                                        f"model file: {exc.strerror or exc}",
                                        "give a path in a folder you can write to") from None
    with progress.phase("solving", "solve"):
        try:
            sol = solve_spec(spec, scenario.solver, progress)
        except InfeasibleError as exc:  # explain why; the diagnosis goes next to the output
            from ruimteverdeling.analysis.infeasibility import infeasible_error

            target = (Path(out_dir) if out_dir is not None else default_out_dir(scenario)) \
                if write else None
            raise infeasible_error(cm, exc, target, progress) from exc
    progress(f"{sol.status}: objective {sol.objective:,.4f}, bound {sol.bound:,.4f}, "
             f"gap {sol.gap:.4%} ({sol.method})")
    timings = dict(progress.timings)
    summary = build_summary(cm, sol)
    if coarsening is not None:
        summary["coarsening"] = coarsening
    result = RunResult(scenario, None, sol, cm, summary, timings)
    if write:
        out = Path(out_dir) if out_dir is not None else default_out_dir(scenario)
        with progress.phase(f"writing outputs to {out}", "write"):
            result.out_dir = write_outputs(result, out, started, t_all)
        result.timings = dict(progress.timings)
    return result


def coarsen_area(scenario_path: str | Path, area: str | Path | None, resolution: float,
                 progress: Progress | None = None) -> tuple[Path, dict[str, Any]]:
    """The scenario's study area (or ``area``) at ``resolution`` m, cached beside the
    benchmark areas; returns its area.yaml and the coarsening report."""
    from ruimteverdeling.area.coarsen import coarsen
    from ruimteverdeling.bench import cache_dir

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


def build_summary(cm: CompiledModel, sol: Solution) -> dict[str, Any]:
    after = cm.allocation_grid(sol.x)
    before = cm.area.current_use
    burdens = tables.burdens_table(cm, sol)
    return {
        "scenario": cm.scenario.id,
        "title": cm.scenario.title,
        "status": sol.status,
        "optimal": sol.optimal,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "method": sol.method,
        "objective_terms": sm.objective_table(cm, sol),
        "areas": sm.areas_table(cm, before, after),
        "targets": sm.targets_table(cm, sol),
        "rules": tables.rules_table(cm, sol),
        "overrides": tables.overrides_table(cm, sol),
        "multi_use": tables.multi_use(cm, sol),
        "burdens": burdens,
        "burden_gini": gini([b["burden per ha of region"] for b in burdens]),
        "model": {"changeable_cells": int(cm.spec.n_units), "columns": int(cm.spec.n_cols),
                  "rows": int(cm.spec.n_rows), "pinned_cells": int(cm.pinned_land.size),
                  "cell_area_ha": cm.area.cell_area_ha},
        "_after": after,
    }


def write_outputs(run: RunResult, out_dir: Path, started: _dt.datetime,
                  t_all: float) -> Path:
    t_write = time.perf_counter()
    cm, sol, summary = run.compiled, run.solution, run.summary
    after = summary.pop("_after")
    grid = cm.area.grid
    with AtomicOutputDir(out_dir, "run") as tmp:
        tags = {"scenario": cm.scenario.id, "status": sol.status,
                "objective": f"{sol.objective:.6f}", "gap": f"{sol.gap:.6g}"}
        rasters.write_allocation(tmp / "allocation.tif", grid, after, cm.catalogue, tags)
        _, transitions = rasters.write_change(tmp / "change.tif", grid, cm.area.current_use,
                                              after, cm.catalogue)
        summary["transitions"] = transitions
        sm.write_csv(tmp / "areas.csv", summary["areas"], sm.AREAS_COLUMNS)
        sm.write_csv(tmp / "targets.csv", summary["targets"], sm.TARGET_COLUMNS)
        sm.write_csv(tmp / "rules.csv", summary["rules"], tables.RULE_COLUMNS)
        sm.write_csv(tmp / "burdens.csv", summary["burdens"])
        from ruimteverdeling.analysis.duals import write_run_prices

        summary["shadow_prices"] = write_run_prices(cm, sol, tmp, run.pricing)
        write_report(run, tmp, after)  # indicators.csv, summary["indicators"], report.html
        write_json(tmp / "summary.json", summary)
        finished = _dt.datetime.now(_dt.UTC)
        timings = dict(run.timings)
        timings["write"] = time.perf_counter() - t_write  # up to the manifest itself
        timings["total"] = time.perf_counter() - t_all
        manifest = {
            "ruimteverdeling": mf.package_versions()["ruimteverdeling"],
            "scenario": cm.scenario.resolved(),
            "scenario_files": mf.scenario_hashes(cm.scenario.chain),
            "inputs": {"area": str(cm.area.path), "sha256": cm.area.file_hashes()},
            "versions": mf.package_versions(),
            "machine": mf.machine(),
            "solver": {"backend": sol.backend, "solver": sol.solver, "method": sol.method,
                       "options": cm.scenario.solver.model_dump(mode="json"),
                       "details": sol.details},
            "status": sol.status,
            "optimal": sol.optimal,
            "objective": sol.objective,
            "bound": sol.bound,
            "gap": sol.gap,
            "seconds": {**{k: round(v, 3) for k, v in timings.items()},
                        **{f"solver.{k}": round(v, 3) for k, v in sol.seconds.items()},
                        **{f"compile.{k}": round(v, 3) for k, v in cm.timings.items()}},
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "outputs": [*sorted(p.name for p in tmp.iterdir() if p.name != wr.MARKER),
                        "manifest.json"],
            "complete": True,
        }
        write_json(tmp / "manifest.json", manifest)
    summary["_after"] = after
    _drop_stale_diagnosis(out_dir)
    return out_dir


def _drop_stale_diagnosis(out_dir: Path) -> None:
    """A complete run replaces the diagnosis of an earlier infeasible attempt next to it
    (only a diagnosis folder the engine wrote, with nothing else in it)."""
    from ruimteverdeling.analysis.infeasibility import diagnosis_dir

    wr.remove_engine_folder(diagnosis_dir(out_dir), "diagnosis")


def make_area(out_dir: str | Path, cells: int, resolution: float, seed: int,
              progress: Progress | None = None) -> Path:
    """Generate the synthetic Netherlands-like study area (see ``ruimteverdeling.synthetic``).

    Written atomically like a run folder: ``out_dir`` must be new, empty or an area folder
    the engine wrote (see :mod:`ruimteverdeling.results.writer`)."""
    from ruimteverdeling.synthetic import make_area as _make

    check_make_area(cells, resolution)
    progress = progress or silent()
    with wr.reserve(out_dir, "area", option="OUT", protect=wr.protected()), \
            progress.phase(f"generating synthetic study area ({cells:,} cells at "
                           f"{resolution:g} m) in {out_dir}", "make_area"), \
            AtomicOutputDir(out_dir, "area", option="OUT") as tmp:
        _make(tmp, cells=cells, resolution=resolution, seed=seed, progress=progress)
    return Path(out_dir) / "area.yaml"


MAKE_AREA_GRID_PER_CELL = 2.2
"""Grid cells per study-area cell of the synthetic Netherlands (its bounding box; measured
2.13-2.19 from 36 k to 6.4 M cells)."""
MAKE_AREA_BYTES_PER_GRID_CELL = 200.0
MAKE_AREA_BASE_BYTES = 600e6
"""Peak memory of ``make-area``: ~600 MB plus ~200 bytes per grid cell (measured peak RSS:
1.07 GB at 1.6 M cells and 3.05 GB at 6.4 M cells at 100 m, i.e. 195 B per grid cell)."""
MODEL_BYTES_PER_LAND_CELL = 1_500.0
MODEL_BASE_BYTES = 300e6
"""Peak memory of compiling and solving: ~300 MB plus ~1.5 kB per land cell (the benchmark
table: 1.8 GB at 1.0 M cells, 5.1 GB at 3.3 M cells)."""


def check_make_area(cells: int, resolution: float) -> None:
    """Refuse a synthetic area that is beyond the largest grid or the available memory,
    before generating anything (see the constants above)."""
    import math

    from ruimteverdeling.area.grid import available_memory, format_bytes, require_memory
    from ruimteverdeling.area.manifest import MAX_GRID_CELLS

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


def check_model_memory(area: StudyArea) -> None:
    """Refuse to compile a model that would not fit in the available memory."""
    from ruimteverdeling.area.grid import require_memory

    land = int(area.land.sum())
    require_memory(MODEL_BASE_BYTES + land * MODEL_BYTES_PER_LAND_CELL,
                   f"a model of {land:,} land cells", area.path, "grid",
                   "solve at a coarser resolution (solve --resolution M), or use a smaller "
                   "area or a machine with more memory")


DEMO_CELLS = 36_000
DEMO_RESOLUTION = 1000.0
DEMO_SEED = 42


def demo(progress: Progress | None = None, root: Path = REPO_ROOT) -> RunResult:
    """Generate the demo area (``inputs/demo``) when absent and solve ``scenarios/base.yaml``
    on it into ``outputs/base``."""
    progress = progress or silent()
    area_dir = root / "inputs" / "demo"
    scenario = root / "scenarios" / "base.yaml"
    if not scenario.exists():
        raise InputError.single(scenario, None, "the shipped base scenario is missing",
                                "run the demo from a clone of the repository")
    if not (area_dir / "area.yaml").exists():
        make_area(area_dir, DEMO_CELLS, DEMO_RESOLUTION, DEMO_SEED, progress)
    else:
        progress(f"using the existing demo area in {area_dir}")
    return solve(scenario, root / "outputs" / "base", progress=progress,
                 area=area_dir / "area.yaml")


# ------------------------------------------------------------------------------------------------
# run fingerprints (for resuming batch runs)
# ------------------------------------------------------------------------------------------------
def fingerprint(scenario_path: str | Path, area: str | Path | None = None,
                **solver_overrides: Any) -> dict[str, Any]:
    """What a run of this scenario would record as its inputs, without compiling the model.

    Loads the scenario (with ``extends``, the ``area`` override and the solver overrides
    applied exactly as :func:`solve` does) and hashes ``area.yaml`` and every layer file it
    lists. Returns ``{"engine": <version>, "scenario": <resolved scenario>, "inputs": {"area":
    ..., "sha256": {...}}}`` in the JSON form :func:`write_outputs` records in
    ``manifest.json``, so :func:`is_up_to_date` can compare the two. Raises InputError when
    the scenario or the area manifest cannot be read, or a layer file is missing.
    """
    from ruimteverdeling import __version__
    from ruimteverdeling.area.manifest import load_manifest
    from ruimteverdeling.area.studyarea import sha256_file

    scenario = load_scenario(scenario_path)
    if area is not None:
        path, chain = scenario.path, scenario.chain
        scenario = scenario.model_copy(update={"area": str(Path(area).resolve())})
        scenario.path, scenario.chain = path, chain
    scenario = _with_solver_overrides(scenario, solver_overrides)
    area_path = scenario.area_path
    manifest = load_manifest(area_path)
    files = {"area.yaml": area_path}
    for name, spec in manifest.layers.items():
        files[name] = area_path.parent / spec.file
    hashes: dict[str, str] = {}
    for key, file in files.items():
        if not file.exists():
            raise InputError.single(area_path, f"layers.{key}.file",
                                    f"file not found: {file}",
                                    "correct the path (relative to area.yaml) or add the file")
        hashes[key] = sha256_file(file.resolve())
    return _json_normalised({"engine": __version__,
                             "scenario": scenario.resolved(),
                             "inputs": {"area": str(area_path), "sha256": hashes}})


def is_up_to_date(out_dir: str | Path, expected: dict[str, Any]) -> bool:
    """True when ``out_dir`` holds a complete run (every output it lists is present) whose
    manifest records the engine version, the resolved scenario and the input hashes of
    ``expected`` (a :func:`fingerprint`)."""
    import json

    path = Path(out_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("complete") is not True:
        return False
    outputs = manifest.get("outputs")
    if not isinstance(outputs, list) or \
            not all(isinstance(n, str) and (path.parent / n).is_file() for n in outputs):
        return False
    inputs = manifest.get("inputs")
    recorded = {"engine": manifest.get("ruimteverdeling"), "scenario": manifest.get("scenario"),
                "inputs": {"area": inputs.get("area"), "sha256": inputs.get("sha256")}
                if isinstance(inputs, dict) else None}
    return _json_normalised(recorded) == expected


def _json_normalised(data: Any) -> Any:
    """``data`` as it reads back from the JSON the manifest is written as (tuples become
    lists, keys strings, non-finite numbers null)."""
    import json
    import math

    def finite(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [finite(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    return finite(json.loads(json.dumps(data, default=str)))


# ------------------------------------------------------------------------------------------------
# indicators, reports and comparisons (plan-MER)
# ------------------------------------------------------------------------------------------------
class ReportWarning(UserWarning):
    """The report of a run could not be rendered; the run's other outputs are complete."""


def write_report(run: RunResult, folder: Path, after: Any) -> None:
    """Write the plan-MER indicators and ``report.html`` of a finished solve into ``folder``.

    Adds ``indicators`` (definitions and values, national and per province) to the run's
    summary, writes ``indicators.csv`` and the self-contained ``report.html`` (which shows a
    ``pareto.csv`` already in ``folder``). A failure here never loses a solved run: it is
    reported as a :class:`ReportWarning` and the report says what went wrong.
    """
    import html
    import traceback
    import warnings

    from ruimteverdeling.report import run as rp
    from ruimteverdeling.results import indicators as ind
    from ruimteverdeling.results.runfolder import RunView, read_pareto

    cm = run.compiled
    table = None
    try:
        x = ind.IndicatorInputs(cm.area, cm.catalogue, after, housing_density=ind.HomesPerHectare
                                .from_any(cm.scenario.housing_density))
        table = ind.compute(x)
        run.summary["indicators"] = table.to_json()
        sm.write_csv(folder / "indicators.csv", table.rows(), ind.COLUMNS)
        sol = run.solution
        view = RunView(
            summary=run.summary, scenario=cm.scenario.resolved(), grid=cm.area.grid,
            catalogue=cm.catalogue, before=cm.area.current_use, after=after,
            record={"scenario_files": mf.scenario_hashes(cm.scenario.chain),
                    "inputs": {"area": str(cm.area.path), "sha256": cm.area.file_hashes()},
                    "versions": mf.package_versions(),
                    "solver": {"backend": sol.backend, "solver": sol.solver,
                               "method": sol.method}},
            indicators=table, folder=folder, area=cm.area,
            pareto=read_pareto(folder / "pareto.csv"))
        rp.write_run_report(view, folder / "report.html")
    except OSError:  # a full disk or a size limit: the folder cannot be completed at all
        raise
    except Exception as exc:  # the solve is done; keep its outputs, say what failed
        warnings.warn(f"report.html could not be rendered: {exc!r}", ReportWarning,
                      stacklevel=2)
        (folder / "report.html").write_text(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>report failed</title>"
            "</head><body><h1>Rapport mislukt / report failed</h1><p>The run's other outputs "
            "are complete. Re-render with <code>api.render_report(folder)</code>.</p><pre>"
            f"{html.escape(traceback.format_exc())}</pre></body></html>\n", encoding="utf-8")


def render_report(run_dir: str | Path) -> Path:
    """(Re-)render ``report.html`` of a solved run folder from its files.

    Use it after adding a ``pareto.csv`` to a run folder, or after an engine update. Reads
    ``summary.json``, ``manifest.json``, ``allocation.tif`` and the run's study area; raises
    InputError when one is missing.
    """
    from ruimteverdeling.report import run as rp
    from ruimteverdeling.results import indicators as ind
    from ruimteverdeling.results.runfolder import load_run_view

    view = load_run_view(run_dir)
    assert view.area is not None
    x = ind.IndicatorInputs(view.area, view.catalogue, view.after,
                            housing_density=ind.HomesPerHectare.from_any(
                                view.scenario.get("housing_density")))
    view.indicators = ind.compute(x)
    return rp.write_run_report(view, Path(run_dir) / "report.html")


def compare(reference: str | Path, alternatives: list[str | Path], out_dir: str | Path, *,
            thresholds: str | Path | None = None, progress: Progress | None = None,
            area: str | Path | None = None) -> Any:
    """Assess alternatives against a reference (the plan-MER beoordelingstabel).

    ``reference`` and ``alternatives`` are solved run folders or scenario files (solved first
    into ``out_dir/runs/<id>``, reused when up to date). All must be on the same grid (else
    InputError). ``thresholds`` is a YAML file merged on top of ``data/assessment.yaml``;
    ``area`` solves the scenario files on that area.yaml instead of their own.
    Writes ``assessment.csv``, ``assessment_regions.csv``, ``assessment.md``, ``report.html``,
    ``compare.json`` and ``maps/`` atomically to ``out_dir``; returns a
    :class:`ruimteverdeling.analysis.compare.CompareResult`.
    """
    from ruimteverdeling.analysis import compare as cmp
    from ruimteverdeling.results import indicators as ind

    progress = progress or silent()
    config = ind.load_assessment(thresholds)  # check the thresholds before solving anything
    out = Path(out_dir)
    cmp._check_out_dir(out, [Path(p) for p in [reference, *alternatives] if Path(p).is_dir()])
    with wr.reserve(out, "compare", protect=wr.protected(), claim=True):
        folders = cmp.resolve_inputs([reference, *alternatives], out, progress, area)
        return cmp.compare_runs(folders[0], folders[1:], out, config, progress)


# ------------------------------------------------------------------------------------------------
# trade-off analysis: shadow prices, rule costs, Pareto fronts, alternatives (analysis/)
# ------------------------------------------------------------------------------------------------
def _solve_and_write(scenario_path: str | Path, out: Path, progress: Progress,
                     area: str | Path | None, time_limit: float | None,
                     pricing: str = "lp") -> RunResult:
    """Solve and write a run folder to ``out`` (reserved by the caller with
    :func:`reserve_output`; an analysis's default folder is ``outputs/<id><suffix>``, so it
    does not replace the scenario's plain run in ``outputs/<id>``)."""
    started = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    run = solve(scenario_path, progress=progress, area=area, time_limit=time_limit,
                write=False)
    run.pricing = pricing
    with progress.phase(f"writing outputs to {out}", "write"):
        run.out_dir = write_outputs(run, out, started, t_all)
    return run


def shadow_prices(scenario_path: str | Path, out_dir: str | Path | None = None, *,
                  method: str = "lp", progress: Progress | None = None,
                  area: str | Path | None = None, time_limit: float | None = None
                  ) -> RunResult:
    """Solve and write a run whose ``shadow_prices.csv`` is priced by ``method``.

    Every solve writes ``shadow_prices.csv`` with the LP relaxation's duals (``method="lp"``);
    ``method="fixed"`` prices the rows with the LP in which every cell is fixed at its integer
    allocation except a neighbourhood of near-ties. The dual of a row is ``∂z*/∂b``, the
    change of the optimum per unit of its binding bound (see
    :mod:`ruimteverdeling.analysis.duals`; for the integer allocation both are
    approximations). The rows are also in ``run.summary["shadow_prices"]``.
    """
    if method not in ("lp", "fixed"):
        raise InputError.single(None, "--method", f"unknown pricing method '{method}'",
                                "use lp (the relaxation) or fixed (integer decisions fixed)")
    with reserve_output(scenario_path, out_dir, area) as res:
        return _solve_and_write(scenario_path, res.shown, progress or silent(), area,
                                time_limit, f"{method}+moves")


def rule_costs(scenario_path: str | Path, out_dir: str | Path | None = None, *,
               which: str = "switchable", targets: bool = False,
               only: list[str] | None = None, workers: int = 1,
               progress: Progress | None = None, area: str | Path | None = None,
               time_limit: float | None = None) -> Any:
    """What each rule costs the other claims: ``z(without) − z(with)`` and hectares moved.

    Solves the scenario (written to ``out_dir``, default ``outputs/<id>-rule-costs``), then
    re-solves it
    once per candidate rule with that rule switched (``which``: ``switchable`` = status T/A,
    ``all`` = also G, for analysis; ``targets`` adds targets; ``only`` names the items) and
    writes ``rule_costs.csv`` into the run folder. Returns a
    :class:`ruimteverdeling.analysis.rule_costs.RuleCosts`. See that module for the maths.
    """
    from ruimteverdeling.analysis import rule_costs as rc

    progress = progress or silent()
    with reserve_output(scenario_path, out_dir, area, suffix="-rule-costs") as res:
        run = _solve_and_write(scenario_path, res.shown, progress, area, time_limit)
        result = rc.rule_costs(run.compiled, run.solution, which=which, targets=targets,
                               only=only, workers=workers, progress=progress)
        assert run.out_dir is not None
        result.out_path = rc.write(result.rows, Path(run.out_dir) / "rule_costs.csv")
        wr.register(run.out_dir, ["rule_costs.csv"])
        with progress.phase("re-rendering report.html with the rule costs", "report"):
            render_report(run.out_dir)
    return result


def pareto(scenario_path: str | Path, x: str, y: str, points: int = 5,
           out_dir: str | Path | None = None, *, tidy: bool = True,
           drop_dominated: bool = False, keep_allocations: bool = False,
           progress: Progress | None = None, area: str | Path | None = None,
           time_limit: float | None = None) -> Any:
    """The Pareto front between criteria ``x`` and ``y`` by the augmented ε-constraint method:
    ``max F_y + ρ·F_x s.t. F_x ≥ ε`` for ``points`` values of ε between the lexicographic
    optima (see :mod:`ruimteverdeling.analysis.pareto`).

    Solves the scenario into ``out_dir`` (default ``outputs/<id>-pareto``), writes
    ``pareto.csv``,
    ``pareto.png`` (and ``points/<P>.tif`` with ``keep_allocations``) there and re-renders its
    ``report.html`` with the front. Returns a :class:`ruimteverdeling.analysis.pareto.Front`
    (with ``out_dir`` set).
    """
    from ruimteverdeling.analysis import pareto as pf

    progress = progress or silent()
    with reserve_output(scenario_path, out_dir, area, suffix="-pareto") as res:
        run = _solve_and_write(scenario_path, res.shown, progress, area, time_limit)
        front = pf.pareto_front(run.compiled, x, y, points, tidy=tidy, progress=progress)
        assert run.out_dir is not None
        folder = Path(run.out_dir)
        pf.write_front(front, folder, drop_dominated, keep_allocations, run.compiled)
        wr.register(folder, ["pareto.csv", "pareto.png"], ["points"])
        with progress.phase("re-rendering report.html with the front", "report"):
            render_report(folder)
    front.out_dir = folder
    return front


def alternatives(scenario_path: str | Path, slack: str | float = 0.05, count: int = 3,
                 out_dir: str | Path | None = None, *, progress: Progress | None = None,
                 area: str | Path | None = None, time_limit: float | None = None) -> Any:
    """Near-optimal, maximally different allocations (Hop-Skip-Jump MGA): objective ≥
    ``(1 − slack)·z*``, then minimise the overlap with every allocation found so far (see
    :mod:`ruimteverdeling.analysis.alternatives`).

    Writes to ``out_dir`` (default ``outputs/<id>-alternatives``), atomically: ``optimum/``
    and ``alt-1/`` … ``alt-<count>/`` (each a complete run folder: rasters, tables, summary,
    report) and ``alternatives.csv``. Returns an
    :class:`ruimteverdeling.analysis.alternatives.Alternatives` (with ``out_dir`` set).
    """
    from ruimteverdeling.analysis import alternatives as mga

    progress = progress or silent()
    s = mga.parse_slack(slack)
    with reserve_output(scenario_path, out_dir, area, "alternatives",
                        suffix="-alternatives") as res:
        return _alternatives(scenario_path, s, count, res.shown, progress, area, time_limit)


def _alternatives(scenario_path: str | Path, s: float, count: int, out: Path,
                  progress: Progress, area: str | Path | None,
                  time_limit: float | None) -> Any:
    from ruimteverdeling.analysis import alternatives as mga
    from ruimteverdeling.model.solve import Solution as _Solution
    from ruimteverdeling.model.solve import proven_gap

    started = _dt.datetime.now(_dt.UTC)
    t_all = time.perf_counter()
    run = solve(scenario_path, progress=progress, area=area, time_limit=time_limit,
                write=False)
    cm, opt = run.compiled, run.solution
    result = mga.generate(cm, opt, s, count, progress=progress)
    with progress.phase(f"writing the alternatives to {out}", "write"), \
            AtomicOutputDir(out, "alternatives") as tmp:
        write_outputs(run, tmp / "optimum", started, t_all)
        for alt in result.items:
            assert alt.solution is not None
            sol = _Solution("feasible", alt.x, alt.objective, opt.bound,
                            proven_gap(alt.objective, opt.bound), "mga-hsj", opt.backend,
                            opt.solver, dict(alt.solution.seconds),
                            {"mga": {"slack": s, "objective_floor": result.floor,
                                     "overlap": alt.overlap, "status": alt.status,
                                     "gap": alt.gap}},
                            opt.row_dual)
            alt_run = RunResult(run.scenario, None, sol, cm, build_summary(cm, sol),
                                dict(run.timings))
            write_outputs(alt_run, tmp / alt.label, started, t_all)
        result.rows[0]["folder"] = "optimum"
        sm.write_csv(tmp / "alternatives.csv", result.rows, mga.columns(result.rows))
    result.out_dir = out
    return result
