"""Batch runs: many scenario files, or the points of a parameter sweep, as tasks on Dask.

The batch model
---------------
A batch is a list of *runs*. A run has an id, a scenario file and an output folder
``DIR/<id>``. Runs come from

* scenario files named on the command line (id: the scenario's ``id:``, or the file name when
  the file cannot be read — the run then fails with the input error and the others go on);
* sweep files (below): every point of a sweep is written as a real scenario file
  ``DIR/scenarios/<point id>.yaml`` that ``extends:`` the base scenario and sets only that
  point's overrides, so a point can be re-run on its own and its provenance is visible.

Every run is one task on a Dask distributed cluster (a local cluster of worker processes, or
a running scheduler), that never raises: a failure becomes the run's row and the other runs go
on. A run whose folder already holds a complete run of the same inputs is skipped
(``skipped (up to date)``) unless ``force`` is given.

Exit codes of ``ruimteverdeling batch``: 0 when every run finished (optimal, feasible,
relaxation) or was skipped; 1 when any run failed (infeasible or error); 2 for a problem in the
batch's own input (a sweep file, duplicate run ids, an unreachable scheduler) — reported before
any task starts; 130 when interrupted.

The package, one module per job:

* :mod:`~ruimteverdeling.batch.sweep` — the sweep file's schema and its path language;
* :mod:`~ruimteverdeling.batch.plan` — the runs of a batch, checked before anything runs;
* :mod:`~ruimteverdeling.batch.task` — the task of one run on a worker;
* :mod:`~ruimteverdeling.batch.resume` — skipping runs that are up to date;
* :mod:`~ruimteverdeling.batch.run` — submitting the tasks to Dask, the command's ``main``;
* :mod:`~ruimteverdeling.batch.report` — progress lines, the table, ``batch.csv`` and
  ``batch.json``.
"""

from ruimteverdeling.batch.plan import Run, plan
from ruimteverdeling.batch.report import exit_code, format_table, key_numbers, write_report
from ruimteverdeling.batch.run import main, run_batch
from ruimteverdeling.batch.sweep import Sweep, SweepPoint, load_sweep, parse_path
from ruimteverdeling.batch.task import run_task

__all__ = ["Run", "Sweep", "SweepPoint", "exit_code", "format_table",
           "key_numbers", "load_sweep", "main", "parse_path", "plan", "run_batch", "run_task",
           "write_report"]
