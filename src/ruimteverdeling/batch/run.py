"""Running a batch: plan the runs, submit each as a task to Dask, report the rows.

Every run is one task on a Dask distributed cluster: a ``LocalCluster`` of worker processes
(one thread each) by default, or any running scheduler (``Client(address)``), so the same batch
scales from a laptop to a cluster without code changes (the workers need this package installed
and the same file system paths); see :mod:`ruimteverdeling.parallel`. HiGHS gets ``threads``
threads per task (default 1: the parallelism comes from the workers).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruimteverdeling.batch.plan import POINTS_DIR, Run, plan
from ruimteverdeling.batch.report import (
    exit_code,
    format_table,
    progress_line,
    runs_text,
    write_report,
)
from ruimteverdeling.batch.task import run_task
from ruimteverdeling.errors import InputError
from ruimteverdeling.parallel import dask_client
from ruimteverdeling.results import writer as wr


def run_batch(runs: Sequence[Run], client: Any, *, area: str | Path | None = None,
              force: bool = False, threads: int | None = 1,
              on_result: Callable[[dict[str, Any], int, int], None] | None = None,
              ) -> list[dict[str, Any]]:
    """Submit every run as a task to ``client`` and collect the rows (in the order of
    ``runs``). A task that fails on the cluster itself (its worker died, it could not be
    unpickled) is an ``error`` row like any other failure. ``on_result(row, done, total)`` is
    called as each task finishes."""
    from distributed import as_completed  # deferred: Dask (see ruimteverdeling.parallel)

    area_str = str(Path(area).resolve()) if area is not None else None
    tag = uuid.uuid4().hex[:8]
    futures = {}
    for run in runs:
        fut = client.submit(run_task, run.id, run.scenario, run.out_dir, area_str, threads,
                            force, key=f"ruimteverdeling-batch-{tag}-{run.id}", pure=False)
        futures[fut.key] = (fut, run)
    rows: dict[str, dict[str, Any]] = {}
    try:
        for n, fut in enumerate(as_completed([f for f, _ in futures.values()]), 1):
            run = futures[fut.key][1]
            try:
                row = fut.result()
            except Exception as exc:
                row = {"id": run.id, "scenario": run.scenario, "out_dir": run.out_dir,
                       "status": "error", "seconds": None,
                       "message": f"the task failed on the cluster: {type(exc).__name__}: "
                                  f"{exc}"}
            rows[run.id] = row
            if on_result is not None:
                on_result(row, n, len(runs))
    except BaseException:
        client.cancel([f for f, _ in futures.values()])
        raise
    return [rows[run.id] for run in runs]


def main(scenarios: Sequence[str | Path], sweeps: Sequence[str | Path], out_dir: str | Path,
         *, workers: int | None = None, scheduler: str | None = None,
         area: str | Path | None = None, force: bool = False, threads: int = 1,
         echo: Callable[[str], None] = print, progress: Callable[[str], None] | None = None,
         client: Any = None) -> int:
    """The ``ruimteverdeling batch`` command: plan, run on Dask, report; returns the exit code.

    ``client`` runs on an existing Dask client instead of starting one (tests, notebooks).
    """
    if workers is not None and scheduler is not None:
        raise InputError.single(None, "--workers", "give either --workers (a local cluster) or "
                                "--scheduler (a running one), not both", "remove one of the two")
    if area is not None and not Path(area).is_file():
        raise InputError.single(area, "--area", "study area not found",
                                "give the path of an area.yaml")
    # the batch folder: new, empty or an earlier batch's, locked for the whole batch
    with wr.reserve(out_dir, "batch", protect=wr.protected(), claim=True):
        return _main(scenarios, sweeps, out_dir, workers=workers, scheduler=scheduler,
                     area=area, force=force, threads=threads, echo=echo, progress=progress,
                     client=client)


def _main(scenarios: Sequence[str | Path], sweeps: Sequence[str | Path], out_dir: str | Path,
          *, workers: int | None, scheduler: str | None, area: str | Path | None,
          force: bool, threads: int, echo: Callable[[str], None],
          progress: Callable[[str], None] | None, client: Any) -> int:
    started = _dt.datetime.now(_dt.UTC)
    runs = plan(scenarios, sweeps, out_dir)
    if sweeps:
        wr.register(out_dir, dirs=[POINTS_DIR])
    where = f"the scheduler at {scheduler}" if scheduler else \
        "the given client" if client is not None else f"a local cluster of {workers or 2} workers"
    if progress is not None:
        progress(f"batch: {runs_text(len(runs))} on {where}, outputs in {Path(out_dir).resolve()}")

    def report(row: dict[str, Any], done: int, total: int) -> None:
        if progress is not None:
            progress(progress_line(row, done, total))

    if client is not None:
        rows = run_batch(runs, client, area=area, force=force, threads=threads,
                         on_result=report)
    else:
        with dask_client(workers or 2, scheduler) as own:
            rows = run_batch(runs, own, area=area, force=force, threads=threads,
                             on_result=report)
    info = {"started": started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "cluster": where, "threads_per_run": threads, "force": force,
            "area": str(Path(area).resolve()) if area is not None else None,
            "scenarios": [str(Path(s).resolve()) for s in scenarios],
            "sweeps": [str(Path(s).resolve()) for s in sweeps]}
    csv_path, json_path = write_report(rows, out_dir, info)
    echo("")
    echo(format_table(rows).rstrip("\n"))
    echo(f"\n  table: {csv_path}  (all details: {json_path.name})")
    return exit_code(rows)
