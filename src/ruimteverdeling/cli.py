"""Command line: ``ruimteverdeling demo | make-area | validate | solve``.

Each command calls one function of :mod:`ruimteverdeling.api`. Exit codes: 0 success,
2 a problem in the user's input (printed without a traceback), 3 the hard targets and rules
cannot all hold, 4 the solver failed, 130 interrupted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ruimteverdeling import __version__, api
from ruimteverdeling.errors import InfeasibleError, InputError, SolverError
from ruimteverdeling.progress import Progress

EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_INTERRUPTED = 2, 3, 4, 130


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the engine's deliberate errors into clear messages and exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc.format()}", err=True)
            sys.exit(EXIT_INPUT)
        except InfeasibleError as exc:
            click.echo(f"infeasible: {exc}", err=True)
            sys.exit(EXIT_INFEASIBLE)
        except SolverError as exc:
            click.echo(f"solver failed: {exc}", err=True)
            sys.exit(EXIT_SOLVER)
        except KeyboardInterrupt:
            click.echo("\ninterrupted: no output folder was completed", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ruimteverdeling")
def main() -> None:
    """Land-allocation trade-offs for the Netherlands (Nota Ruimte), solved with HiGHS."""


@main.command()
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@_friendly
def demo(quiet: bool) -> None:
    """Generate the synthetic study area (when absent) and solve the base scenario."""
    progress = Progress(enabled=not quiet)
    run = api.demo(progress=progress)
    _print_run(run)


@main.command("make-area")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cells", type=click.IntRange(min=4), default=36_000, show_default=True,
              help="Approximate number of study-area (land) cells.")
@click.option("--resolution", type=click.FloatRange(min=1.0), default=1000.0,
              show_default=True, help="Cell size in metres.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("-q", "--quiet", is_flag=True)
@_friendly
def make_area(out: Path, cells: int, resolution: float, seed: int, quiet: bool) -> None:
    """Write a synthetic Netherlands-like study area (GeoTIFF, GeoPackage, area.yaml) to OUT."""
    path = api.make_area(out, cells, resolution, seed, Progress(enabled=not quiet))
    click.echo(f"study area written: {path}")


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--area", type=click.Path(path_type=Path), default=None,
              help="Use this area.yaml instead of the scenario's `area:`.")
@_friendly
def validate(scenario: Path, area: Path | None) -> None:
    """Check SCENARIO and its study area; report every problem at once."""
    info = api.validate(scenario, Progress(enabled=False), area)
    click.echo(f"{scenario}: OK")
    for key, value in info.items():
        click.echo(f"  {key:18s} {value:,}" if isinstance(value, int) else
                   f"  {key:18s} {value}")


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
@click.option("--time-limit", type=click.FloatRange(min=1.0), default=None,
              help="Seconds for the solve.")
@click.option("--export-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the model as .lp or .mps (via Pyomo; small models).")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@_friendly
def solve(scenario: Path, out: Path | None, area: Path | None, backend: str | None,
          method: str | None, time_limit: float | None, export_model: Path | None,
          quiet: bool) -> None:
    """Build and solve SCENARIO; write rasters, tables, summary and manifest."""
    if export_model is not None and export_model.suffix.lower() not in (".lp", ".mps"):
        raise InputError.single(None, "--export-model", "the file must end in .lp or .mps",
                                "e.g. --export-model model.lp")
    run = api.solve(scenario, out, progress=Progress(enabled=not quiet), area=area,
                    backend=backend, method=method, time_limit=time_limit,
                    export_model=export_model)
    _print_run(run)


def _print_run(run: api.RunResult) -> None:
    s = run.summary
    sol = run.solution
    if sol.optimal and sol.gap <= 1e-9:
        proven = "proven optimal"
    elif sol.optimal:
        proven = f"optimal within the gap tolerance {run.scenario.solver.mip_rel_gap:.2%}"
    else:
        proven = "NOT proven optimal"
    click.echo("")
    click.echo(f"scenario {run.scenario.id}: {sol.status} ({proven}); objective "
               f"{sol.objective:,.3f}, bound {sol.bound:,.3f}, gap {sol.gap:.4%} "
               f"[{sol.method}, {sol.solver}]")
    click.echo("")
    click.echo(f"  {'use':26s} {'before ha':>12s} {'after ha':>12s} {'change ha':>12s}")
    for r in s["areas"]:
        if r["region"] != "national":
            continue
        click.echo(f"  {r['label_en'] + ' / ' + r['label_nl']:26.26s} {r['ha_before']:12,.0f} "
                   f"{r['ha_after']:12,.0f} {r['change_ha']:+12,.0f}")
    targets = s["targets"]
    met = sum(1 for t in targets if t["met"] == "yes")
    hard = [t for t in targets if t["hard"]]
    hard_met = sum(1 for t in hard if t["met"] == "yes")
    click.echo("")
    click.echo(f"  targets met: {met} of {len(targets)} rows "
               f"(hard {hard_met}/{len(hard)}, soft {met - hard_met}/{len(targets) - len(hard)})")
    for t in targets:
        if t["met"] != "yes":
            click.echo(f"    not met: {t['target']} {t['region']}: achieved {t['achieved']:,.4g}"
                       f" (min {_num(t['min'])}, max {_num(t['max'])}) {t['unit']}")
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
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
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
    from ruimteverdeling import batch as _batch

    code = _batch.main(scenarios, sweeps, out, workers=workers, scheduler=scheduler, area=area,
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
    from ruimteverdeling.analysis.compare import text_table

    result = api.compare(reference, list(alternatives), out, thresholds=thresholds,
                         progress=Progress(enabled=not quiet), area=area)
    click.echo("")
    click.echo(f"assessment of {', '.join(result.alternatives)} against {result.reference}:")
    for line in text_table(result):
        click.echo(line)
    for note in result.notes:
        click.echo(f"  note: {note}")
    click.echo(f"\n  outputs: {result.out_dir} (report.html, assessment.md, assessment.csv)")


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:,.4g}"


if __name__ == "__main__":  # pragma: no cover
    main()
