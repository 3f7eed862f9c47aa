"""The command line, ``ruimteverdeling COMMAND``:

* ``demo`` — generate the demo study area (when absent) and solve the base scenario;
* ``make-area`` — write a synthetic Netherlands-like study area;
* ``area init``, ``area uncovered`` — a starter area.yaml from real data files, and the land
  cells no region covers;
* ``validate`` — check a scenario, its study area and the output folder;
* ``solve`` — solve a scenario and write its run folder;
* ``batch`` — many scenario files and parameter sweeps as tasks on Dask;
* ``compare`` — the plan-MER beoordelingstabel of alternatives against a reference;
* ``shadow-prices``, ``rule-costs``, ``pareto``, ``alternatives`` — the trade-off analyses;
* ``bench`` — the engine beside its peers at one or several sizes;
* ``clean`` — repair what interrupted runs left in output folders.

Each command parses its options, calls :mod:`ruimteverdeling.api` (``batch``, ``bench`` and
``area`` their own modules) and prints with the one table printer of
:mod:`ruimteverdeling.formatting`.
Exit codes: 0 success, 2 a problem in the user's input (printed without a traceback) —
including an output folder that cannot be written or must not be replaced, a full disk while
writing, and a folder another process is writing —, 3 the hard targets and rules cannot all
hold, 4 the solver failed, 130 interrupted (``batch``: 1 when any run failed).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ruimteverdeling.errors import InfeasibleError, InputError, SolverError
from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.progress import Progress

if TYPE_CHECKING:
    from ruimteverdeling.api import RunResult

# The engine's modules (pydantic schemas, scipy, HiGHS, geopandas, Dask, the report's
# matplotlib) are imported inside the command that needs them: `--help`, `--version` and a
# mistyped option answer without loading them, and each command loads only its own.

EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_INTERRUPTED = 2, 3, 4, 130

# The engine's limits the options are checked against while the command line is parsed, and
# the peers `bench` knows: the values of ``model.options.MAX_TIME_LIMIT`` and ``MAX_THREADS``,
# ``scenario.schema.MAX_DISTANCE_M``, ``bench.PEERS`` and ``bench.PEER_MEMORY_MB``, repeated
# here so that parsing loads none of those modules (the CLI's tests check that they agree).
MAX_TIME_LIMIT = 10_000_000.0
MAX_THREADS = 256
MAX_DISTANCE_M = 1_000_000.0
PEERS = ("highspy", "pyomo", "linopy", "pulp")
PEER_MEMORY_MB = 4096.0
_HIGHS_BACKEND = "ruimteverdeling.model.highs_backend"


def leaving(code: int) -> None:
    """Record the exit code with the HiGHS backend (see
    :func:`ruimteverdeling.model.highs_backend.leaving`) when a command loaded it; a command
    that did not has started no solve."""
    backend = sys.modules.get(_HIGHS_BACKEND)
    if backend is not None:
        backend.leaving(code)


def solver_running() -> bool:
    """Whether a cancelled solve is still running (see
    :func:`ruimteverdeling.model.highs_backend.solver_running`); never when no command loaded
    the HiGHS backend."""
    backend = sys.modules.get(_HIGHS_BACKEND)
    return backend is not None and backend.solver_running()


class FiniteFloat(click.ParamType):
    """A finite number in ``[lo, hi]``. click's FloatRange lets ``nan`` through (every
    comparison with NaN is false) and accepts ``inf`` and ``1e308``."""

    name = "number"

    def __init__(self, lo: float, hi: float, unit: str = "") -> None:
        self.lo, self.hi, self.unit = lo, hi, unit

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, float):
            v = value
        else:
            try:
                v = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number; give {self._range()}", param, ctx)
        if not self.lo <= v <= self.hi:
            self.fail(f"{v:g} is not between {self.lo:g} and {self.hi:g}{self.unit}", param,
                      ctx)
        return v

    def _range(self) -> str:
        return f"a number from {self.lo:g} to {self.hi:g}{self.unit}"


SECONDS = FiniteFloat(1.0, MAX_TIME_LIMIT, " s")
METRES = FiniteFloat(1.0, MAX_DISTANCE_M, " m")


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the engine's deliberate errors into clear messages and exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _terminate_as_interrupt():
                result = fn(*args, **kwargs)
            leaving(0)
            return result
        except InputError as exc:
            click.echo(f"error: {exc.format()}", err=True)
            _leave(EXIT_INPUT)
        except InfeasibleError as exc:
            click.echo(f"infeasible: {exc}", err=True)
            _leave(EXIT_INFEASIBLE)
        except SolverError as exc:
            click.echo(f"solver failed: {exc}", err=True)
            _leave(EXIT_SOLVER)
        except KeyboardInterrupt:
            click.echo("\ninterrupted: no output folder was completed", err=True)
            _exit_interrupted()

    return wrapper


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a batch system's stop) is handled like Ctrl-C: the solver is
    cancelled and partial output removed, instead of the process vanishing mid-write."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _exit_interrupted() -> None:
    """Exit 130. When a cancelled solve has not reached HiGHS's next interrupt check yet
    (its MIP setup checks rarely), the process ends at once instead of waiting for it: the
    partial output is already removed and nothing of that solve is kept."""
    if solver_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    _leave(EXIT_INTERRUPTED)


def _leave(code: int) -> None:
    """Exit with ``code``, recorded so that a cancelled solve still running at interpreter
    exit (HiGHS's MIP setup and clique partition check the interrupt rarely, for minutes on
    a large model) does not hold the process: it ends after a short grace with this code
    (see :func:`ruimteverdeling.model.highs_backend.leaving`)."""
    leaving(code)
    sys.exit(code)


def _exit_without_collecting() -> None:
    """The last exit handler of the process (the first registered runs last): its heap —
    a solved model is millions of objects — is left to the operating system instead of
    being searched for reference cycles once more while the interpreter shuts down. Every
    file a command writes is closed before it returns and every other exit handler has run;
    the objects of a cycle still alive then are not finalised, which Python never promises
    at exit anyway."""
    gc.freeze()


atexit.register(_exit_without_collecting)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: the installed version, looked up only when asked."""
    if not value or ctx.resilient_parsing:
        return
    from ruimteverdeling import __version__

    click.echo(f"ruimteverdeling, version {__version__}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Show the version and exit.")
def main() -> None:
    """Land-allocation trade-offs for the Netherlands (Nota Ruimte), solved with HiGHS."""


@main.command()
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@_friendly
def demo(quiet: bool) -> None:
    """Solve the shipped base scenario on the synthetic demo area, in the current folder.

    The area goes to inputs/demo (generated when absent, made again when an earlier version
    of the synthetic generator made it), the outputs to outputs/base."""
    from ruimteverdeling import api

    progress = Progress(enabled=not quiet)
    run = api.demo(progress=progress)
    _print_run(run)
    click.echo(f"  scenario: {run.scenario.path} (the variants lie beside it); to change "
               "them, copy that folder to ./scenarios and run `ruimteverdeling solve "
               "scenarios/base.yaml`")


@main.command("make-area")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cells", type=click.IntRange(min=4), default=36_000, show_default=True,
              help="Approximate number of study-area (land) cells.")
@click.option("--resolution", type=METRES, default=1000.0,
              show_default=True, help="Cell size in metres.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("-q", "--quiet", is_flag=True)
@_friendly
def make_area(out: Path, cells: int, resolution: float, seed: int, quiet: bool) -> None:
    """Write a synthetic Netherlands-like study area (GeoTIFF, GeoPackage, area.yaml) to OUT."""
    from ruimteverdeling import api

    path = api.make_area(out, cells, resolution, seed, Progress(enabled=not quiet))
    click.echo(f"study area written: {path}")


@main.group("area")
def area_group() -> None:
    """Study areas from real data: a starter area.yaml, and the land no region covers."""


@area_group.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--resolution", type=METRES, default=1000.0, show_default=True,
              help="Cell size in metres of the grid (EPSG:28992).")
@click.option("--extent", default=None, metavar="XMIN,YMIN,XMAX,YMAX",
              help="The grid's extent in RD New metres (default: the provinces' extent).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of FOLDER/area.yaml.")
@_friendly
def area_init(folder: Path, files: tuple[Path, ...], resolution: float, extent: str | None,
              output: Path | None) -> None:
    """Write FOLDER/area.yaml from the data files in FOLDER (or FILES).

    Recognises current land use (CBS Bestand Bodemgebruik, LGN) by its codes, provinces and
    municipalities by their names, and the other layers by file name, columns and geometry;
    lists every layer it could not fill with where to get it. Never replaces an area.yaml it
    did not write.
    """
    from ruimteverdeling.area.starter import init_area, parse_extent

    res = init_area(folder, files, resolution, parse_extent(extent) if extent else None, output)
    g = res.grid
    click.echo(f"{res.path} written{' (replacing the previous starter)' if res.replaced else ''}")
    click.echo(f"  grid: {g['width']:,} x {g['height']:,} cells of {g['resolution']:g} m "
               f"(EPSG:28992), from {res.grid_from}")
    listing = [Column(width=24), Column()]
    click.echo("  layers filled:")
    _echo(table(listing, [[f.layer, f"{f.candidate.label}: {f.why}"
                           + (f"; crs {f.spec['crs']} stated" if "crs" in f.spec else "")]
                          for f in res.filled], indent="    ", header=False))
    if res.missing:
        click.echo("  not found (add them when you have them):")
        _echo(table(listing, [row for s in res.missing for row in (
            [s.name, f"{'REQUIRED ' if s.required else ''}{s.kind}: {s.purpose}"],
            ["", f"get it from {s.where()}"])], indent="    ", header=False))
    for path, why in res.unrecognised:
        click.echo(f"  not used: {path} ({why})")
    if any(s.required for s in res.missing):
        click.echo("  next: add the REQUIRED layers, then "
                   f"`ruimteverdeling validate SCENARIO --area {res.path}`")
    else:
        click.echo(f"  next: ruimteverdeling validate SCENARIO --area {res.path}")


@area_group.command("uncovered")
@click.argument("area_file", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="GeoPackage to write (default uncovered_<regions>.gpkg beside area.yaml).")
@_friendly
def area_uncovered(area_file: Path, out: Path | None) -> None:
    """Write the land cells of AREA_FILE that no region covers, with their nearest region."""
    from ruimteverdeling.area.coverage import write_uncovered
    from ruimteverdeling.area.studyarea import StudyArea

    area = StudyArea.load(area_file, uncovered="keep")
    if area.uncovered is None:
        click.echo(f"{area.path}: every land cell has a region")
        return
    out = out or area.path.parent / f"uncovered_{area.manifest.regions}.gpkg"
    n = write_uncovered(area.uncovered, area.grid, out)
    click.echo(f"{area.path}: {area.uncovered.describe()}")
    click.echo(f"  written: {out} ({n:,} cells, layer uncovered_cells)")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--area", type=click.Path(path_type=Path), default=None,
              help="Use this area.yaml instead of the scenario's `area:`.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Also check this output folder (default outputs/<scenario id>).")
@click.option("--needs", is_flag=True,
              help="Only list the layers the scenario needs: present or missing in the study "
                   "area, what each is for and where to get it.")
@_friendly
def validate(scenario: Path, area: Path | None, out: Path | None, needs: bool) -> None:
    """Check SCENARIO and its study area; report every problem at once.

    Also checks the output folder a solve would write, after repairing what an interrupted
    run left there (said on stderr).
    """
    from ruimteverdeling import api

    if needs:
        rows, area_path, note = api.layer_needs(scenario, area)
        click.echo(f"{scenario}: the layers it needs (study area {area_path})")
        if note is not None:
            click.echo(f"  note: {note.format()}")
        for row in rows:
            for line in row.lines():
                click.echo(f"  {line}")
        return
    info = api.validate(scenario, Progress(enabled=False), area, out)
    layer_checks, warnings = info.pop("layer_checks", []), info.pop("warnings", [])
    notes = info.pop("notes", [])
    click.echo(f"{scenario}: OK")
    _echo(table([Column(width=18), Column()],
                [[key, number(value, ",") if isinstance(value, int) else str(value)]
                 for key, value in info.items()], header=False))
    if layer_checks:
        click.echo("  layers (inside the study area):")
        for line in layer_checks:
            click.echo(f"    {line}")
    for w in warnings:
        click.echo(f"  warning: {w}")
    for n in notes:
        click.echo(f"  note: {n}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default outputs/<scenario id>).")
@click.option("--area", type=click.Path(path_type=Path), default=None,
              help="Use this area.yaml instead of the scenario's `area:`.")
@click.option("--backend", type=click.Choice(["highs", "pyomo"]), default=None,
              help="highs (default, arrays in bulk) or pyomo (renders the model).")
@click.option("--method", type=click.Choice(["auto", "mip", "lp"]), default=None,
              help="auto: LP first + repair MIP; mip: HiGHS MIP on the whole model; "
                   "lp: relaxation only.")
@click.option("--time-limit", type=SECONDS, default=None,
              help="Seconds for the solve.")
@click.option("--export-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the model as .lp or .mps (via Pyomo; small models).")
@click.option("--resolution", type=METRES, default=None,
              help="Solve on the study area coarsened to this cell size in m (a whole "
                   "multiple of its cells) for fast exploration.")
@click.option("--mode", type=click.Choice(["foresight", "myopic", "both"]), default=None,
              help="With several periods: foresight (one joint model), myopic (period by "
                   "period) or both (default: reports the cost of myopia).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@_friendly
def solve(scenario: Path, out: Path | None, area: Path | None, backend: str | None,
          method: str | None, time_limit: float | None, export_model: Path | None,
          resolution: float | None, mode: str | None, quiet: bool) -> None:
    """Build and solve SCENARIO; write rasters, tables, summary and manifest."""
    from ruimteverdeling import api

    if export_model is not None and export_model.suffix.lower() not in (".lp", ".mps"):
        raise InputError.single(None, "--export-model", "the file must end in .lp or .mps",
                                "e.g. --export-model model.lp")
    run = api.solve(scenario, out, progress=Progress(enabled=not quiet), area=area,
                    backend=backend, method=method, time_limit=time_limit,
                    export_model=export_model, resolution=resolution, mode=mode)
    _print_run(run)
    if run.pathway is not None:
        _print_pathway(run.summary["pathway"])
    c = run.summary.get("coarsening")
    if c:
        click.echo(f"  coarsened {c['factor']}x{c['factor']} to {c['coarse_resolution_m']:g} m: "
                   f"study area {c['study_area']['deviation']:+.2%}, largest regional "
                   f"deviation {c['max_region_deviation']:.2%} (summary.json: coarsening)")


def _print_pathway(block: dict) -> None:
    """The timeline (hectares per use per period) and the cost of myopia."""
    rows = block["timeline_ha"]
    uses = [u for u in rows[0] if u != "period" and any(r[u] for r in rows)]
    click.echo("")
    click.echo(f"pathway ({block['reported']}), hectares per period:")
    columns = [Column("use", "<", 26)] + [Column(str(r["period"]), ">", 12) for r in rows]
    _echo(table(columns, [[u[:26], *[number(r[u]) for r in rows]] for u in uses]))
    c = block.get("cost_of_myopia")
    if c is not None and c.get("points") is None:
        click.echo(f"cost of myopia: {c['note']}")
    elif c is not None:
        click.echo(f"cost of myopia: {c['points']:,.3f} points (foresight "
                   f"{c['foresight_objective']:,.3f} - myopic {c['myopic_objective']:,.3f}); "
                   "hectares that differ per period: " + ", ".join(
                       f"{r['period']}: {r['differing_ha']:,.0f}" for r in c["per_period"]))


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _print_run(run: RunResult) -> None:
    s = run.summary
    sol = run.solution
    if sol.optimal and sol.gap <= 1e-9:
        proven = "proven optimal"
    elif sol.optimal:
        proven = f"optimal within the gap tolerance {run.scenario.solver.mip_rel_gap:.2%}"
    elif sol.status == "time_limit":
        proven = "time limit reached: the best allocation found, NOT proven optimal"
    else:
        proven = "NOT proven optimal"
    click.echo("")
    # the gap that speaks of the decisions first; the gap on the whole objective, which land
    # that does not change dominates, only beside it
    gap = (f"decision gap {sol.decision_gap:.3%} (of the whole objective {sol.gap:.4%})"
           if sol.decision_gap is not None else f"gap {sol.gap:.4%}")
    click.echo(f"scenario {run.scenario.id}: {sol.status} ({proven}); objective "
               f"{sol.objective:,.3f}, bound {sol.bound:,.3f}, {gap} "
               f"[{sol.method}, {sol.solver}]")
    click.echo("")
    columns = [Column("use", "<", 26), Column("before ha", ">", 12),
               Column("after ha", ">", 12), Column("change ha", ">", 12)]
    _echo(table(columns, [[(r["label_en"] + " / " + r["label_nl"])[:26],
                           number(r["ha_before"]), number(r["ha_after"]),
                           number(r["change_ha"], "+,.0f")]
                          for r in s["areas"] if r["region"] == "national"]))
    targets = s["targets"]
    met = sum(1 for t in targets if t["met"] == "yes")
    hard = [t for t in targets if t["hard"]]
    hard_met = sum(1 for t in hard if t["met"] == "yes")
    click.echo("")
    click.echo(f"  targets met: {met} of {len(targets)} rows "
               f"(hard {hard_met}/{len(hard)}, soft {met - hard_met}/{len(targets) - len(hard)})")
    for t in targets:
        if t["met"] != "yes":
            click.echo(f"    not met: {t['target']} {t['region']}: achieved "
                       f"{number(t['achieved'], ',.4g')} (min {number(t['min'], ',.4g')}, "
                       f"max {number(t['max'], ',.4g')}) {t['unit']}")
    if run.out_dir is not None:
        click.echo(f"\n  outputs: {run.out_dir}")


@main.command("batch")
@click.argument("scenarios", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sweep", "sweeps", multiple=True, type=click.Path(path_type=Path),
              help="A sweep file: a base scenario and parameter lists (repeatable).")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Batch folder: one sub-folder per run, batch.csv and batch.json.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local Dask cluster (default 2).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a running Dask scheduler instead, e.g. tcp://10.0.0.5:8786.")
@click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=1, show_default=True,
              help="HiGHS threads per run.")
@click.option("--area", type=click.Path(path_type=Path), default=None,
              help="Use this area.yaml for every run instead of the scenarios' `area:`.")
@click.option("--force", is_flag=True, help="Re-run runs whose outputs are up to date.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@_friendly
def batch(scenarios: tuple[Path, ...], sweeps: tuple[Path, ...], out: Path,
          workers: int | None, scheduler: str | None, threads: int, area: Path | None,
          force: bool, quiet: bool) -> None:
    """Solve every SCENARIO and every point of each --sweep as tasks on Dask.

    Runs whose outputs are up to date (same resolved scenario and input files) are skipped.
    Exit code 0 when every run finished or was skipped, 1 when any run failed (the others
    still run), 2 for a problem in the batch's own input (nothing is run).
    """
    from ruimteverdeling import batch as batch_runs

    code = batch_runs.main(scenarios, sweeps, out, workers=workers, scheduler=scheduler, area=area,
                       force=force, threads=threads, echo=click.echo,
                       progress=None if quiet else lambda m: click.echo(m, err=True))
    if code:
        sys.exit(code)


@main.command("compare")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("alternatives", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: assessment tables, report.html, maps/, runs/.")
@click.option("--thresholds", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML with thresholds, modes, layer roles or parameters, merged on top of "
                   "the shipped data/assessment.yaml.")
@click.option("--area", type=click.Path(path_type=Path), default=None,
              help="Solve the scenario files on this area.yaml instead of their `area:`.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@_friendly
def compare(reference: Path, alternatives: tuple[Path, ...], out: Path,
            thresholds: Path | None, area: Path | None, quiet: bool) -> None:
    """Assess ALTERNATIVES against REFERENCE (plan-MER beoordelingstabel).

    Each is a solved run folder or a scenario file (solved into OUT/runs/<id> first). All
    must be on the same study-area grid. Scores use the seven-point scale --, -, 0/-, 0, 0/+,
    +, ++ with the thresholds of data/assessment.yaml (or --thresholds).
    """
    from ruimteverdeling import api
    from ruimteverdeling.analysis import compare as cmp

    result = api.compare(reference, list(alternatives), out, thresholds=thresholds,
                         progress=Progress(enabled=not quiet), area=area)
    click.echo("")
    click.echo(f"assessment of {', '.join(result.alternatives)} against {result.reference}:")
    _echo(cmp.text_table(result))
    for note in result.notes:
        click.echo(f"  note: {note}")
    click.echo(f"\n  outputs: {result.out_dir} (report.html, assessment.md, assessment.csv)")


# ------------------------------------------------------------------------------------------------
# trade-off analysis: shadow prices, rule costs, Pareto fronts, alternatives
# ------------------------------------------------------------------------------------------------
_OUT = click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
                    default=None, help="Output folder (default outputs/<scenario id>, "
                                       "with -rule-costs / -pareto for those analyses).")
_AREA = click.option("--area", type=click.Path(path_type=Path), default=None,
                     help="Use this area.yaml instead of the scenario's `area:`.")
_TIME = click.option("--time-limit", type=SECONDS, default=None,
                     help="Seconds for each solve.")
_QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress messages.")


@main.command("shadow-prices")
@click.argument("scenario", type=click.Path(path_type=Path))
@_OUT
@_AREA
@click.option("--method", type=click.Choice(["lp", "fixed"]), default="lp", show_default=True,
              help="lp: duals of the LP relaxation; fixed: of the LP with the integer "
                   "allocation fixed except a neighbourhood of near-ties.")
@click.option("--all", "show_all", is_flag=True, help="Print non-binding rows too.")
@_TIME
@_QUIET
@_friendly
def shadow_prices(scenario: Path, out: Path | None, area: Path | None, method: str,
                  show_all: bool, time_limit: float | None, quiet: bool) -> None:
    """Solve SCENARIO and price every target and rule row (shadow_prices.csv).

    The dual of a row is dz*/db: the change of the optimum per unit of its binding min or
    max. LP duals of an integer allocation are an approximation (see the README).
    """
    from ruimteverdeling import api

    run = api.shadow_prices(scenario, out, method=method, progress=Progress(enabled=not quiet),
                            area=area, time_limit=time_limit)
    rows = run.summary.get("shadow_prices") or []
    shown = [r for r in rows if show_all or r["binding"] == "yes"]
    shown.sort(key=lambda r: -abs(r["dual"]))
    click.echo(f"\nscenario {run.scenario.id}: {run.solution.status}, objective "
               f"{run.solution.objective:,.4f}, gap {run.solution.gap:.4%}; "
               f"{sum(r['binding'] == 'yes' for r in rows)} of {len(rows)} rows bind "
               f"(prices from the {'LP relaxation' if method == 'lp' else 'fixed LP'})")
    _echo(table([Column(align=">", width=12), Column(gap=2)],
                [[number(r["dual"], "+.4g"), r["sentence"]] for r in shown], header=False))
    click.echo(f"\n  outputs: {run.out_dir} (shadow_prices.csv)")


@main.command("rule-costs")
@click.argument("scenario", type=click.Path(path_type=Path))
@_OUT
@_AREA
@click.option("--all-rules", is_flag=True,
              help="Also price G rules (gemaakte keuzes), for analysis only.")
@click.option("--targets", is_flag=True, help="Also price the targets.")
@click.option("--rule", "only", multiple=True, metavar="ID",
              help="Only this rule or target (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Re-solve in this many worker processes (default: one per idle core, "
                   "at most 2); the table is the same with any number.")
@click.option("--pair-tol", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="POINTS",
              help="Re-solve each pair whose proven bracket contains 0 until the bracket is "
                   "at most this many objective points wide.")
@click.option("--variant-time-limit", type=SECONDS, default=None,
              help="Seconds for each re-solve (default: --time-limit or the scenario's); "
                   "shorter gives every cost sooner, with a wider proven bracket.")
@click.option("--budget", type=SECONDS, default=None,
              help="Seconds for all the re-solves together (after the scenario's own "
                   "solve): each gets its share of what is left; a smaller budget gives "
                   "every answer sooner, with wider proven gaps.")
@_TIME
@_QUIET
@_friendly
def rule_costs(scenario: Path, out: Path | None, area: Path | None, all_rules: bool,
               targets: bool, only: tuple[str, ...], workers: int | None,
               pair_tol: float | None,
               variant_time_limit: float | None, budget: float | None,
               time_limit: float | None, quiet: bool) -> None:
    """What each rule costs the other claims: re-solve SCENARIO with each T/A rule switched.

    Cost = objective without the rule − objective with it, with its proven bracket (from both
    solves' objectives and bounds) and the exact LP difference; hectares moved per use and
    region are in rule_costs.csv (in the run folder).
    """
    from ruimteverdeling import api
    from ruimteverdeling.analysis import rule_costs as rc

    result = api.rule_costs(scenario, out, which="all" if all_rules else "switchable",
                            targets=targets, only=list(only) or None, workers=workers,
                            progress=Progress(enabled=not quiet), area=area,
                            time_limit=time_limit, pair_tol=pair_tol,
                            variant_time_limit=variant_time_limit, budget=budget)
    click.echo(f"\nrule costs (objective {result.base.objective:,.4f} with the scenario as "
               "given; cost = without − with the rule):")
    _echo(rc.text_table(result.rows))
    click.echo(f"\n  outputs: {result.out_path}")


@main.command("pareto")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--x", "x_term", required=True, metavar="TERM",
              help="Criterion kept at least epsilon: an objective term (suitability, "
                   "transition, ...), target:<id>[@region], area:<use> or objective; prefix "
                   "min: or max: to set the sense.")
@click.option("--y", "y_term", required=True, metavar="TERM", help="Criterion optimised.")
@click.option("--points", type=click.IntRange(min=2), default=5, show_default=True)
@_OUT
@_AREA
@click.option("--tidy/--no-tidy", default=False, show_default=True,
              help="Re-solve each point for the scenario objective at its two criteria "
                   "values (slower; without it the maps of the points are arbitrary where "
                   "neither criterion counts; the values on the front are the same).")
@click.option("--drop-dominated", is_flag=True, help="Leave dominated points out of the CSV.")
@click.option("--keep-allocations", is_flag=True, help="Write points/<P>.tif per point.")
@click.option("--budget", type=SECONDS, default=None,
              help="Seconds for all the re-solves together (after the scenario's own "
                   "solve): each gets its share of what is left; a smaller budget gives "
                   "every answer sooner, with wider proven gaps.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Solve the end points, then the points, in this many worker processes "
                   "(default: one per idle core, at most 2); the front is the same with any "
                   "number.")
@_TIME
@_QUIET
@_friendly
def pareto(scenario: Path, x_term: str, y_term: str, points: int, out: Path | None,
           area: Path | None, tidy: bool, drop_dominated: bool, keep_allocations: bool,
           budget: float | None, workers: int | None, time_limit: float | None,
           quiet: bool) -> None:
    """Pareto front between two criteria of SCENARIO (epsilon-constraint method).

    Writes pareto.csv and pareto.png into the run folder and adds the chart to report.html.
    """
    from ruimteverdeling import api
    from ruimteverdeling.analysis import pareto as pf

    front = api.pareto(scenario, x_term, y_term, points, out, tidy=tidy,
                       drop_dominated=drop_dominated, keep_allocations=keep_allocations,
                       progress=Progress(enabled=not quiet), area=area, time_limit=time_limit,
                       budget=budget, workers=workers)
    click.echo(f"\nPareto front: max {front.y.name} subject to {front.x.name} >= epsilon")
    _echo(pf.text_table(front, drop_dominated))
    for note in front.notes:
        click.echo(f"  note: {note}")
    click.echo(f"\n  outputs: {front.out_dir} (pareto.csv, pareto.png, report.html)")


@main.command("alternatives")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--slack", default="5%", show_default=True,
              help="Objective at least (1 - slack) x optimum: 5% or 0.05.")
@click.option("--count", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default outputs/<scenario id>-alternatives).")
@_AREA
@click.option("--budget", type=SECONDS, default=None,
              help="Seconds for all the re-solves together (after the scenario's own "
                   "solve): each gets its share of what is left; a smaller budget gives "
                   "every answer sooner, with wider proven gaps.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes that write the run folders (default: one per idle core, at "
                   "most 2); with 2 or more, each is written as soon as its alternative is "
                   "found, with 1 all at the end. The folders are the same with any number.")
@_TIME
@_QUIET
@_friendly
def alternatives(scenario: Path, slack: str, count: int, out: Path | None, area: Path | None,
                 budget: float | None, workers: int | None, time_limit: float | None,
                 quiet: bool) -> None:
    """Reasonable alternatives: near-optimal, maximally different allocations (HSJ MGA)."""
    from ruimteverdeling import api
    from ruimteverdeling.analysis import alternatives as mga

    result = api.alternatives(scenario, slack, count, out, progress=Progress(enabled=not quiet),
                              area=area, time_limit=time_limit, budget=budget,
                              workers=workers)
    click.echo(f"\n{len(result.items)} alternatives within {result.slack:.1%} of the optimum "
               f"(objective >= {result.floor:,.4f}):")
    _echo(mga.text_table(result.rows))
    for note in result.notes:
        click.echo(f"  note: {note}")
    click.echo(f"\n  outputs: {result.out_dir} (alternatives.csv, optimum/, alt-*/)")


def _sizes(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int]:
    """``--sizes 3000,10000``: land-cell counts, each at least 100."""
    if value is None:
        return []
    try:
        sizes = [int(v.replace("_", "")) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of whole numbers, "
                                 "e.g. 3000,10000,50000", ctx, param) from None
    if not sizes or min(sizes) < 100:
        raise click.BadParameter("give one or more sizes of at least 100 cells, e.g. "
                                 "3000,10000", ctx, param)
    return sizes


@main.command("bench")
@click.option("--cells", type=click.IntRange(min=100), multiple=True,
              help="Land cells of the synthetic area (generated once, cached); repeat for "
                   "several sizes in one table.")
@click.option("--sizes", callback=_sizes, default=None,
              help="Several sizes at once, comma-separated (e.g. 3000,10000,50000,200000).")
@click.option("--resolution", type=METRES, default=None,
              help="Cell size in m (default: the whole Netherlands at --cells cells).")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True,
              help="Seed of the synthetic areas.")
@click.option("--naive-time-limit", type=SECONDS, default=120.0,
              show_default=True, help="Seconds for each naive run (killed after it).")
@click.option("--peer-memory", type=FiniteFloat(100.0, 1e6, " MB"),
              default=PEER_MEMORY_MB, show_default=True,
              help="MB of resident memory a peer may hold (its processes together; "
                   "stopped above it).")
@click.option("--no-naive", is_flag=True, help="Skip the naive formulation.")
@click.option("--peer", "peers", multiple=True, type=click.Choice(list(PEERS)),
              help="Run only these peers (repeatable; default all: highspy, pyomo, linopy, "
                   "pulp; linopy and pulp need `pip install 'ruimteverdeling[peers]'`).")
@click.option("--scenario", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Scenario to solve (default benchmarks/national.yaml of a source checkout "
                   "for one size, benchmarks/peers.yaml for several).")
@click.option("--time-limit", type=SECONDS, default=None,
              help="Time limit of the fast solve (default: the scenario's).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write all figures as JSON (a list: one row per size).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@_friendly
def bench_cmd(cells: tuple[int, ...], sizes: list[int], resolution: float | None,
              seed: int, naive_time_limit: float, peer_memory: float, no_naive: bool,
              peers: tuple[str, ...], scenario: Path | None, time_limit: float | None,
              json_path: Path | None, quiet: bool) -> None:
    """Measure the engine beside the naive every-pair-binary MIP written in each peer
    (highspy, Pyomo, linopy + HiGHS, PuLP + CBC), each in its own process, killed at its
    time or memory limit, at one or several sizes, in one table with the ratios."""
    from ruimteverdeling import bench
    from ruimteverdeling.jsonio import dumps
    from ruimteverdeling.paths import shipped_scenarios

    all_sizes = list(dict.fromkeys([*cells, *sizes]))
    if not all_sizes:
        raise InputError.single(None, "--cells", "no size given",
                                "give --cells N (repeatable) or --sizes N,M,...")
    if scenario is not None and not scenario.exists():
        raise InputError.single(scenario, None, "scenario file not found",
                                "give an existing scenario YAML or leave --scenario out")
    default = bench.default_scenario(len(all_sizes))
    if scenario is None and not default.exists():
        raise InputError.single(None, "--scenario", f"the default benchmark scenario "
                                f"(benchmarks/{default.name}) is part of the source "
                                "checkout, not of the installed package",
                                "give a scenario, e.g. --scenario "
                                f"{shipped_scenarios() / 'base.yaml'}, or run from a checkout")
    if json_path is not None and not json_path.parent.is_dir():  # before the long run
        raise InputError.single(json_path, "--json", "its folder does not exist",
                                "give a path in an existing folder")
    say = Progress(enabled=not quiet)
    rows = bench.bench_sizes(all_sizes, say=say, resolution=resolution, seed=seed,
                             naive_time_limit=naive_time_limit, scenario=scenario or default,
                             time_limit=time_limit,
                             naive=() if no_naive else (peers or bench.PEERS),
                             peer_memory_mb=peer_memory)
    click.echo(f"machine: {rows[0].get('cores')} cores; peers limited to "
               f"{naive_time_limit:g} s and {peer_memory:,.0f} MB each")
    click.echo(bench.format_peers_table(rows))
    if json_path is not None:
        try:
            json_path.write_text(dumps(rows if len(rows) > 1 else rows[0]) + "\n",
                                 encoding="utf-8")
        except OSError as exc:
            raise InputError.single(json_path, "--json", f"cannot write the file: "
                                    f"{exc.strerror or exc}",
                                    "give a path in a folder you can write to") from None
    if any("total_s" not in row for row in rows):  # a measured run failed (printed above)
        sys.exit(EXIT_SOLVER)


@main.command("clean")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@_friendly
def clean(folders: tuple[Path, ...]) -> None:
    """Repair what interrupted runs left in or beside FOLDERS (default: outputs).

    Every writer does this for its own output folder before it writes, and `validate` for the
    folder a solve would write; `clean` does it for every output folder in FOLDERS at once: a
    run killed while swapping its folder in is rolled back to the previous complete folder,
    the old folder of a finished swap and the partial folders of dead processes are removed
    (only folders carrying the engine's marker), stale lock files are removed. Folders another
    process is writing are left alone.
    """
    from ruimteverdeling.results.writer import clean as clean_folders

    folders = folders or (Path("outputs"),)
    done = clean_folders(folders, say=click.echo)
    if not done:
        click.echo(f"nothing to clean in {', '.join(str(f) for f in folders)}")


if __name__ == "__main__":  # pragma: no cover
    main()
