"""The public functions of the engine: what users, notebooks and the command line call.

    >>> from ruimteverdeling import api
    >>> run = api.solve("scenarios/base.yaml", "outputs/base")     # doctest: +SKIP
    >>> run.solution.status, run.solution.gap                        # doctest: +SKIP

Each function is a few lines over :mod:`ruimteverdeling.pipeline` (load → compile → solve →
write) and the analyses of :mod:`ruimteverdeling.analysis`. Batch runs over many scenario
files are :mod:`ruimteverdeling.batch`.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from pathlib import Path
from typing import Any

from ruimteverdeling import parallel, pipeline
from ruimteverdeling.analysis import alternatives as mga
from ruimteverdeling.analysis import compare as cmp
from ruimteverdeling.analysis import pareto as pf
from ruimteverdeling.analysis import rule_costs as rc
from ruimteverdeling.analysis.duals import Pricing
from ruimteverdeling.errors import InputError
from ruimteverdeling.paths import shipped_scenarios
from ruimteverdeling.pipeline import Loaded, ReportWarning, RunResult
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.report import run as run_report
from ruimteverdeling.results import indicators as ind
from ruimteverdeling.results import writer as wr
from ruimteverdeling.results.runfolder import load_run_view
from ruimteverdeling.rules import pathways
from ruimteverdeling.rules.compile import CompiledModel
from ruimteverdeling.synthetic.codes import GENERATOR_VERSION

__all__ = ["DEMO_CELLS", "DEMO_RESOLUTION", "DEMO_SEED", "Loaded", "ReportWarning",
           "RunResult", "alternatives", "compare", "compile", "demo", "fingerprint",
           "is_up_to_date", "load", "make_area", "pareto", "render_report", "rule_costs",
           "shadow_prices", "solve", "validate"]

DEMO_CELLS = 36_000
DEMO_RESOLUTION = 1000.0
DEMO_SEED = 42


# ------------------------------------------------------------------------------------------------
# one run
# ------------------------------------------------------------------------------------------------
def load(scenario_path: str | Path, progress: Progress | None = None,
         area: str | Path | None = None) -> Loaded:
    """Load a scenario (with ``extends``) and its study area (``area`` overrides the
    scenario's ``area:``)."""
    return pipeline.load(scenario_path, progress, area)


def compile(scenario_path: str | Path, progress: Progress | None = None,
            area: str | Path | None = None, **solver_overrides: Any) -> CompiledModel:
    """Load and compile a scenario into a model (raises InputError listing every problem);
    ``solver_overrides`` (``time_limit=...``) replace the scenario's solver options."""
    return pipeline.compile_scenario(scenario_path, progress, area, **solver_overrides)


def layer_needs(scenario_path: str | Path, area: str | Path | None = None
                ) -> tuple[list[Any], Path, Any]:
    """The layers a scenario needs, present or missing in its study area, with what each is
    for and where to get it (:func:`ruimteverdeling.rules.needs.scenario_needs`)."""
    return pipeline.layer_needs(scenario_path, area)


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
    return pipeline.validate(scenario_path, progress, area, out_dir)


def solve(scenario_path: str | Path, out_dir: str | Path | None = None, *,
          progress: Progress | None = None, area: str | Path | None = None,
          backend: str | None = None, method: str | None = None,
          time_limit: float | None = None, export_model: str | Path | None = None,
          write: bool = True, threads: int | None = None,
          resolution: float | None = None, mode: str | None = None) -> RunResult:
    """Load, compile, solve and write the outputs of one scenario.

    A scenario with several ``periods`` is solved as pathways in ``mode`` foresight, myopic
    or both (default; see :mod:`ruimteverdeling.rules.pathways`).

    Outputs go to ``out_dir`` (default ``outputs/<scenario id>``), written atomically.
    ``threads`` overrides the scenario's ``solver.threads`` (HiGHS threads). ``resolution``
    (m, a whole multiple of the area's cell size) solves on a coarsened copy of the study
    area (see :mod:`ruimteverdeling.area.coarsen`); its regional area deviations go into
    the summary under ``coarsening``. ``write=False`` solves without writing anything.

    The output folder is checked and locked before the scenario is compiled; a folder the
    engine did not write is never replaced (see :mod:`ruimteverdeling.results.writer`).
    """
    return pipeline.solve(scenario_path, out_dir, progress=progress, area=area,
                          backend=backend, method=method, time_limit=time_limit,
                          export_model=export_model, write=write, threads=threads,
                          resolution=resolution, mode=mode)


def make_area(out_dir: str | Path, cells: int, resolution: float, seed: int,
              progress: Progress | None = None) -> Path:
    """Generate the synthetic Netherlands-like study area (see ``ruimteverdeling.synthetic``).

    Written atomically like a run folder: ``out_dir`` must be new, empty or an area folder
    the engine wrote (see :mod:`ruimteverdeling.results.writer`). A size beyond the largest
    grid or the available memory is refused before anything is generated."""
    return pipeline.make_area(out_dir, cells, resolution, seed, progress)


def demo(progress: Progress | None = None, root: str | Path = ".") -> RunResult:
    """Solve the shipped base scenario (:func:`ruimteverdeling.paths.shipped_scenarios`) on
    the synthetic demo area, under ``root`` (default: the current folder): the area in
    ``inputs/demo`` — generated when absent, made again (and said so on stderr) when another
    version of the synthetic generator made it and the folder is the engine's, refused when it
    is not — and the outputs in ``outputs/base``."""
    progress = progress or silent()
    root = Path(root)
    area_dir = root / "inputs" / "demo"
    scenario = shipped_scenarios() / "base.yaml"
    if not scenario.is_file():
        raise InputError.single(scenario, None, "the base scenario shipped with the package is "
                                "missing", "reinstall ruimteverdeling")
    state = pipeline.synthetic_area_state(area_dir)
    if state is None:
        progress(f"using the existing demo area in {area_dir}")
    else:
        if state != "absent":
            wr.note(f"{area_dir} was made by {state}; regenerating it with "
                    f"{GENERATOR_VERSION}")
        make_area(area_dir, DEMO_CELLS, DEMO_RESOLUTION, DEMO_SEED, progress)
    return solve(scenario, root / "outputs" / "base", progress=progress,
                 area=area_dir / "area.yaml")


def fingerprint(scenario_path: str | Path, area: str | Path | None = None,
                **solver_overrides: Any) -> dict[str, Any]:
    """What a run of this scenario would record as its inputs (engine version, resolved
    scenario, sha256 of every input file), without compiling; see :func:`is_up_to_date`."""
    return pipeline.fingerprint(scenario_path, area, **solver_overrides)


def is_up_to_date(out_dir: str | Path, expected: dict[str, Any]) -> bool:
    """True when ``out_dir`` holds a complete run whose manifest records ``expected`` (a
    :func:`fingerprint`)."""
    return pipeline.is_up_to_date(out_dir, expected)


# ------------------------------------------------------------------------------------------------
# reports and comparisons (plan-MER)
# ------------------------------------------------------------------------------------------------
def render_report(run_dir: str | Path) -> Path:
    """(Re-)render ``report.html`` of a solved run folder from its files.

    Use it after adding a ``pareto.csv`` to a run folder, or after an engine update. Reads
    ``summary.json``, ``manifest.json``, ``allocation.tif`` and the run's study area; raises
    InputError when one is missing.
    """
    view = load_run_view(run_dir)
    assert view.area is not None
    view.indicators = ind.compute(ind.IndicatorInputs(
        view.area, view.catalogue, view.after,
        housing_density=ind.HomesPerHectare.from_any(view.scenario.get("housing_density"))))
    return run_report.write_run_report(view, Path(run_dir) / "report.html")


def compare(reference: str | Path, alternatives: list[str | Path], out_dir: str | Path, *,
            thresholds: str | Path | None = None, progress: Progress | None = None,
            area: str | Path | None = None) -> cmp.CompareResult:
    """Assess alternatives against a reference (the plan-MER beoordelingstabel).

    ``reference`` and ``alternatives`` are solved run folders or scenario files (solved first
    into ``out_dir/runs/<id>``, reused when up to date). All must be on the same grid (else
    InputError). ``thresholds`` is a YAML file merged on top of ``data/assessment.yaml``;
    ``area`` solves the scenario files on that area.yaml instead of their own.
    Writes ``assessment.csv``, ``assessment_regions.csv``, ``assessment.md``, ``report.html``,
    ``compare.json`` and ``maps/`` atomically to ``out_dir``; returns a
    :class:`ruimteverdeling.analysis.compare.CompareResult`.
    """
    progress = progress or silent()
    config = ind.load_assessment(thresholds)  # check the thresholds before solving anything
    out = Path(out_dir)
    cmp.check_out_dir(out, [Path(p) for p in [reference, *alternatives] if Path(p).is_dir()])
    with wr.reserve(out, "compare", protect=wr.protected(), claim=True):
        folders = pipeline.run_folders([reference, *alternatives], out, progress, area)
        return cmp.compare_runs(folders[0], folders[1:], out, config, progress)


# ------------------------------------------------------------------------------------------------
# trade-off analysis: shadow prices, rule costs, Pareto fronts, alternatives (analysis/)
# ------------------------------------------------------------------------------------------------
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
    if method == "fixed" and _has_periods(scenario_path):
        raise InputError.single(scenario_path, "--method", "a scenario with several periods "
                                "is priced by the joint LP's duals only (per period)",
                                "use --method lp (the default)")
    with pipeline.reserve_output(scenario_path, out_dir, area) as res:
        return pipeline.solve_and_write(scenario_path, res.shown, progress or silent(), area,
                                        time_limit, Pricing(method, moves=True))


def _has_periods(scenario_path: str | Path) -> bool:
    path = Path(scenario_path)
    return path.is_file() and pathways.is_pathway(pipeline.load_scenario(path))


def rule_costs(scenario_path: str | Path, out_dir: str | Path | None = None, *,
               which: str = "switchable", targets: bool = False,
               only: list[str] | None = None, workers: int | None = None,
               progress: Progress | None = None, area: str | Path | None = None,
               time_limit: float | None = None, pair_tol: float | None = None,
               variant_time_limit: float | None = None,
               budget: float | None = None) -> rc.RuleCosts:
    """What each rule costs the other claims: ``z(without) − z(with)`` and hectares moved.

    Solves the scenario (written to ``out_dir``, default ``outputs/<id>-rule-costs``), then
    re-solves it once per candidate rule with that rule switched (``which``: ``switchable`` =
    status T/A, ``all`` = also G, for analysis; ``targets`` adds targets; ``only`` names the
    items) and writes ``rule_costs.csv`` into the run folder. Each cost comes with its proven
    bracket; ``pair_tol`` (objective points) narrows the pairs whose bracket contains 0 until
    the sign is proven or the bracket is that narrow; ``variant_time_limit`` (seconds) bounds
    each re-solve, ``budget`` (seconds) all of them together (each its share of what is left,
    see :mod:`ruimteverdeling.analysis.budget`). A scenario with several periods is priced
    on its pathway model, the rule switched in every period (foresight; the run folder holds
    both modes). Returns a :class:`ruimteverdeling.analysis.rule_costs.RuleCosts`. See that
    module for the maths. ``workers``: re-solve in that many forked worker processes
    (default :func:`ruimteverdeling.parallel.default_workers`: one per idle core,
    at most two); the table is the same with any number.
    """
    if workers is None:
        workers = parallel.default_workers()
    if pair_tol is not None and not (math.isfinite(pair_tol) and pair_tol > 0):
        raise InputError.single(None, "--pair-tol", f"must be a positive number of objective "
                                f"points, got {pair_tol!r}", "e.g. --pair-tol 1")
    progress = progress or silent()
    with pipeline.reserve_output(scenario_path, out_dir, area, suffix="-rule-costs") as res:
        found: list[rc.RuleCosts] = []

        def costs_of(run: RunResult) -> pipeline.Extra:
            # priced on the solved scenario before its folder is written: the report is
            # drawn once, with the costs, and a failing pricing leaves no folder
            pathway = run.pathway.model if run.pathway is not None else None
            base = run.pathway.foresight if run.pathway is not None else run.solution
            found.append(rc.rule_costs(run.compiled, base, which=which, targets=targets,
                                       only=only, workers=workers, progress=progress,
                                       pair_tol=pair_tol,
                                       variant_time_limit=variant_time_limit,
                                       pathway=pathway, budget=budget,
                                       # the report's charts while the workers re-solve
                                       meanwhile=lambda: pipeline.draw_report_figures(run)))
            return lambda tmp: rc.write(found[0].rows, tmp / "rule_costs.csv")

        pipeline.solve_and_write(scenario_path, res.shown, progress, area, time_limit,
                                 analysis=costs_of)
        result = found[0]
        result.out_path = res.shown / "rule_costs.csv"
    return result


def pareto(scenario_path: str | Path, x: str, y: str, points: int = 5,
           out_dir: str | Path | None = None, *, tidy: bool = False,
           drop_dominated: bool = False, keep_allocations: bool = False,
           progress: Progress | None = None, area: str | Path | None = None,
           time_limit: float | None = None, budget: float | None = None,
           workers: int | None = None) -> pf.Front:
    """The Pareto front between criteria ``x`` and ``y`` by the augmented ε-constraint method:
    ``max F_y + ρ·F_x s.t. F_x ≥ ε`` for ``points`` values of ε between the lexicographic
    optima (see :mod:`ruimteverdeling.analysis.pareto`).

    A scenario with several periods is solved as one pathway model in every point, each
    criterion summed over the periods (see the module).

    ``budget``: seconds for all the re-solves together (each its share of what is left, see
    :mod:`ruimteverdeling.analysis.budget`). ``workers``: solve the two end points, then the
    points, in that many forked worker processes (default
    :func:`ruimteverdeling.parallel.default_workers`); the front is the same with
    any number.

    Solves the scenario and its front, then writes the run folder to ``out_dir`` (default
    ``outputs/<id>-pareto``) with ``pareto.csv``, ``pareto.png`` (and ``points/<P>.tif`` with
    ``keep_allocations``) in it and its ``report.html`` drawn once, with the front. Returns a
    :class:`ruimteverdeling.analysis.pareto.Front` (with ``out_dir`` set).
    """
    progress = progress or silent()
    with pipeline.reserve_output(scenario_path, out_dir, area, suffix="-pareto") as res:
        found: list[pf.Front] = []

        def front_of(run: RunResult) -> pipeline.Extra:
            model: Any = run.compiled if run.pathway is None else run.pathway.model
            start = run.solution if run.pathway is None else run.pathway.solution
            found.append(pf.pareto_front(model, x, y, points, tidy=tidy, progress=progress,
                                         start=start, budget=budget, workers=workers))
            return lambda tmp: pf.write_front(found[0], tmp, drop_dominated,
                                              keep_allocations, model)

        pipeline.solve_and_write(scenario_path, res.shown, progress, area, time_limit,
                                 analysis=front_of)
        front = found[0]
    front.out_dir = res.shown
    return front


def alternatives(scenario_path: str | Path, slack: str | float = 0.05, count: int = 3,
                 out_dir: str | Path | None = None, *, progress: Progress | None = None,
                 area: str | Path | None = None, time_limit: float | None = None,
                 budget: float | None = None, workers: int | None = None
                 ) -> mga.Alternatives:
    """Near-optimal, maximally different allocations (Hop-Skip-Jump MGA): objective ≥
    ``(1 − slack)·z*``, then minimise the overlap with every allocation found so far (see
    :mod:`ruimteverdeling.analysis.alternatives`).

    A scenario with several periods is solved with foresight and its alternatives differ
    over all periods together (see the module). ``budget``: seconds for all the re-solves
    together (each its share of what is left, see :mod:`ruimteverdeling.analysis.budget`).

    Writes to ``out_dir`` (default ``outputs/<id>-alternatives``), atomically: ``optimum/``
    and ``alt-1/`` … ``alt-<count>/`` (each a complete run folder: rasters, tables, summary,
    report) and ``alternatives.csv``. ``workers``: processes that write the run folders
    (default :func:`ruimteverdeling.parallel.default_workers`): with 2 or more, each folder
    is written by a forked process as soon as its allocation is known, while the next
    alternative is solved (:class:`ruimteverdeling.pipeline.AlternativesWriter`); with 1, all
    at the end. The folders are the same with any number. Returns an
    :class:`ruimteverdeling.analysis.alternatives.Alternatives` (with ``out_dir`` set).
    """
    progress = progress or silent()
    s = mga.parse_slack(slack)
    with pipeline.reserve_output(scenario_path, out_dir, area, "alternatives",
                                 suffix="-alternatives") as res:
        started, t_all = _dt.datetime.now(_dt.UTC), time.perf_counter()
        run = solve(scenario_path, progress=progress, area=area, time_limit=time_limit,
                    write=False, mode="foresight" if _has_periods(scenario_path) else None)
        model: Any = run.compiled if run.pathway is None else run.pathway.model
        optimum = run.solution if run.pathway is None else run.pathway.solution
        with pipeline.AlternativesWriter(run, res.shown, started, t_all, workers) as writer:
            result = mga.generate(model, optimum, s, count, progress=progress, budget=budget,
                                  found_one=writer.add)
            result.rows[0]["folder"] = "optimum"
            with progress.phase(f"writing the alternatives to {res.shown}", "write"):
                writer.finish(result.rows, mga.columns(result.rows))
    result.out_dir = res.shown
    return result
