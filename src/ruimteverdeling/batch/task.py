"""The task of one run, as a Dask worker executes it: skip when up to date, else solve.

:func:`run_task` is an importable module-level function of plain arguments (paths as
strings), so any worker with this package installed can run it. It calls
:func:`ruimteverdeling.api.solve`, whose outputs are written atomically, and returns a small
row of plain data. It never raises: an input error, an infeasible model, a solver failure and
even an unexpected exception become the row's ``status`` and ``message``, and the other runs
of the batch go on.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import warnings
from typing import Any

from ruimteverdeling import api
from ruimteverdeling.batch.report import key_numbers
from ruimteverdeling.batch.resume import skipped_row
from ruimteverdeling.errors import InfeasibleError, InputError, SolverError


def run_task(run_id: str, scenario: str, out_dir: str, area: str | None = None,
             threads: int | None = None, force: bool = False) -> dict[str, Any]:
    """Solve one run (or skip it when up to date) and return its row; never raises.

    A pure function of its arguments (and the files they name), importable by Dask workers.
    """
    t0 = time.perf_counter()
    row: dict[str, Any] = {"id": run_id, "scenario": scenario, "out_dir": out_dir,
                           "status": "error", "message": ""}
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            row.update(_solve_or_skip(scenario, out_dir, area, threads, force))
    except Exception as exc:  # isolation: every failure becomes this run's row
        row.update(failure_row(exc))
    row["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["host"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def _solve_or_skip(scenario: str, out_dir: str, area: str | None, threads: int | None,
                   force: bool) -> dict[str, Any]:
    if not force:
        skipped = skipped_row(scenario, out_dir, area, threads)
        if skipped is not None:
            return skipped
    run = api.solve(scenario, out_dir, area=area, threads=threads)
    return {**key_numbers(run.summary), "message": ""}


def failure_row(exc: BaseException) -> dict[str, Any]:
    """The status and message of a run that failed with ``exc`` (with the traceback of an
    unexpected exception: an engine bug)."""
    if isinstance(exc, InputError):
        return {"status": "error", "message": f"input error: {exc.format()}"}
    if isinstance(exc, InfeasibleError):
        return {"status": "infeasible", "message": f"infeasible: {exc}"}
    if isinstance(exc, SolverError):
        return {"status": "error", "message": f"solver failed: {exc}"}
    return {"status": "error",
            "message": f"unexpected error: {type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc))}
