"""``ruimteverdeling bench``: one measured row of the national-scale benchmark.

For a synthetic Netherlands of ``cells`` land cells (generated once and cached) it solves a
scenario (default: ``benchmarks/national.yaml``, the base rules with provincial targets) the
way ``ruimteverdeling solve`` does — read inputs, compile, solve, write the outputs — and
measures every phase and the peak memory of that process. Beside it, under a time limit, it
runs the **naive formulation**: one binary for every (changeable cell, allocatable use) pair —
pairs that a rule excludes are kept as binaries with upper bound 0 instead of being left out —
with every row explicit, built through highspy and through Pyomo, solved by HiGHS's MIP to
the same relative gap. The naive runs are child processes killed when the limit passes
(HiGHS's MIP setup does not look at its time limit), so their time is ``> limit`` when
they do not finish.

Every measurement runs in a fresh process, so the peak resident memory (``ru_maxrss``) is
that of one run only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling import pipeline
from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.model.pyomo_backend import PyomoBackend
from ruimteverdeling.model.solve import HighsBackend, proven_gap, solve
from ruimteverdeling.model.spec import ModelSpec, RowBlock
from ruimteverdeling.paths import REPO_ROOT, cache_dir
from ruimteverdeling.progress import Progress
from ruimteverdeling.results.writer import AtomicOutputDir, note, reserve
from ruimteverdeling.synthetic.codes import GENERATOR_VERSION

NL_LAND_M2 = 33_700e6  # land area of the Netherlands (CBS), for the whole-country resolution


def resolution_for(cells: int) -> float:
    """The cell size (m) at which the Netherlands' land area is ``cells`` cells."""
    return round((NL_LAND_M2 / cells) ** 0.5, 1)


def default_scenario() -> Path:
    """``benchmarks/national.yaml`` of the source checkout (the benchmark scenario is not
    part of an installed package: give ``--scenario`` there)."""
    return REPO_ROOT / "benchmarks" / "national.yaml"


def area_folder(cells: int, resolution: float | None = None, seed: int = 42) -> Path:
    """The cache folder of a synthetic benchmark area, keyed by size, cell size, seed and the
    generator version (an area of an earlier generator is never picked up)."""
    res = float(resolution) if resolution else resolution_for(cells)
    version = GENERATOR_VERSION.rsplit(" ", 1)[-1]
    return cache_dir() / f"nl_{cells}_{res:g}m_s{seed}_g{version}".replace(".", "_")


def ensure_area(cells: int, resolution: float | None = None, seed: int = 42,
                say: Any = None) -> Path:
    """The synthetic area of ``cells`` cells at ``resolution`` m (default: the whole
    Netherlands at that many cells), generated on first use and cached (in
    :func:`area_folder`, under :func:`ruimteverdeling.paths.cache_dir`). A folder there made
    by another generator version is regenerated when it is the engine's and refused otherwise
    (:func:`ruimteverdeling.pipeline.synthetic_area_state`)."""
    from ruimteverdeling.synthetic import make_area  # deferred: rasterio, shapely

    res = float(resolution) if resolution else resolution_for(cells)
    folder = area_folder(cells, res, seed)
    if pipeline.synthetic_area_state(folder) is not None:
        # written atomically; a second process waits for the first and then uses its area
        with reserve(folder, "area", wait=True):
            state = pipeline.synthetic_area_state(folder)
            if state is not None:
                pipeline.check_make_area(cells, res)  # beyond the grid or the memory: refused
                if state != "absent":
                    note(f"{folder} was made by {state}; regenerating it with "
                         f"{GENERATOR_VERSION}")
                if say:
                    say(f"generating a synthetic area of {cells:,} cells at {res:g} m (cached "
                        f"in {folder})")
                with AtomicOutputDir(folder, "area") as tmp:
                    make_area(tmp, cells=cells, resolution=res, seed=seed)
    return folder / "area.yaml"


# ------------------------------------------------------------------------------------------
# the naive formulation
# ------------------------------------------------------------------------------------------
def naive_spec(spec: ModelSpec, n_uses: int) -> ModelSpec:
    """Every (unit, use) pair a binary: the pairs ``spec`` leaves out (excluded by a rule)
    come back as columns with upper bound 0, zero objective and no row coefficients.

    Returns a ModelSpec whose x columns are ``unit × n_uses`` in unit-major order; its optimum
    equals the optimum of ``spec`` (the extra columns can only be 0).
    """
    n_units = spec.n_units
    n_x = n_units * n_uses
    new_col = spec.col_unit.astype(np.int64) * n_uses + spec.col_use.astype(np.int64)
    mapping = np.concatenate([new_col, n_x + np.arange(len(spec.aux_names))])
    n_cols = n_x + len(spec.aux_names)
    blocks = []
    for b in spec.coupling:
        A = b.A.tocoo()
        A = sp.csr_matrix((A.data, (A.row, mapping[A.col])), shape=(b.n_rows, n_cols))
        blocks.append(RowBlock(b.name, b.kind, A, b.lower, b.upper, b.labels, b.ref, b.meta))
    obj = np.zeros(n_cols)
    obj[mapping] = spec.obj
    allowed = np.zeros(n_x, bool)
    allowed[new_col] = True
    out = _NaiveSpec(n_x, np.repeat(np.arange(n_units, dtype=np.int32), n_uses),
                     np.tile(np.arange(n_uses, dtype=np.int16), n_units), spec.unit_cells,
                     spec.aux_names, spec.aux_lb, spec.aux_ub, blocks, [], obj,
                     spec.obj_offset)
    out.allowed = allowed
    return out


class _NaiveSpec(ModelSpec):
    """A ModelSpec whose excluded pairs are binaries fixed to 0 by their upper bound."""

    allowed: np.ndarray

    @property
    def ub(self) -> np.ndarray:
        return np.concatenate([self.allowed.astype(float), self.aux_ub])


# ------------------------------------------------------------------------------------------
# measurements (each in its own process)
# ------------------------------------------------------------------------------------------
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_fast(scenario: Path, area: Path, out: Path, time_limit: float | None,
                 verbose: bool = False) -> dict[str, Any]:
    """Read, compile, solve and write as ``ruimteverdeling solve`` does; figures per phase."""
    progress = Progress(enabled=verbose)
    t0 = time.perf_counter()
    cm = pipeline.compile_scenario(scenario, progress, area=area, time_limit=time_limit)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solve(cm.spec, cm.scenario.solver, progress)
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = pipeline.result_of(cm, sol)
    pipeline.write_run(run, out, dt.datetime.now(dt.UTC), t0)
    t_write = time.perf_counter() - t0
    return {
        "cells": int(cm.area.land.sum()), "resolution_m": float(cm.area.grid.resolution),
        "units": int(cm.spec.n_units), "columns": int(cm.spec.n_cols),
        "coupling_rows": int(cm.spec.n_rows - cm.spec.n_units),
        "build_s": round(t_build, 2), "solve_s": round(t_solve, 2),
        "write_s": round(t_write, 2), "total_s": round(t_build + t_solve + t_write, 2),
        "peak_mb": round(_peak_mb()), "status": sol.status, "method": sol.method,
        "objective": sol.objective, "bound": sol.bound, "gap": sol.gap,
        "mip_rel_gap": cm.scenario.solver.mip_rel_gap,
    }


def measure_naive(scenario: Path, area: Path, builder: str, time_limit: float,
                  gap: float | None) -> dict[str, Any]:
    """Build the naive model (see :func:`naive_spec`) through ``builder`` (``highspy`` or
    ``pyomo``) and solve it with HiGHS's MIP to the scenario's gap."""
    cm = pipeline.compile_scenario(scenario, area=area)
    options = cm.scenario.solver.model_copy(update={"time_limit": time_limit})
    rel_gap = options.mip_rel_gap if gap is None else gap
    n_uses = int(cm.spec.col_use.max()) + 1 if cm.spec.n_x else 1
    t0 = time.perf_counter()
    naive = naive_spec(cm.spec, n_uses)
    backend = HighsBackend() if builder == "highspy" else PyomoBackend()
    r = backend.mip(naive, options, time_limit, rel_gap)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"builder": builder, "binaries": int(naive.n_x),
                           "build_s": round(r.seconds.get("build", 0.0), 2),
                           "seconds": round(seconds, 2), "status": r.status,
                           "peak_mb": round(_peak_mb())}
    if r.x is not None:
        obj = naive.objective_value(r.x)
        bound = r.bound if r.bound is not None else np.inf
        out.update(objective=obj, bound=bound, gap=proven_gap(obj, bound))
    return out


def _child(kind: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "ruimteverdeling.bench", kind, json.dumps(args)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return {"status": "killed", "seconds": round(time.perf_counter() - t0, 1),
                "timed_out": True}
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        lines = [ln for ln in (p.stderr or p.stdout).strip().splitlines()
                 if not ln.startswith("[")]  # progress lines
        return {"status": "error", "error": " / ".join(lines[-3:])[:400] or "no output"}
    return json.loads(lines[-1])


def bench(cells: int, resolution: float | None = None, naive_time_limit: float = 120.0,
          scenario: Path | None = None, time_limit: float | None = None,
          naive: tuple[str, ...] = ("highspy", "pyomo"), seed: int = 42,
          out: Path | None = None, say: Any = None) -> dict[str, Any]:
    """One benchmark row (see the module docstring); every run in a fresh process."""
    say = say or (lambda _m: None)
    scenario = Path(scenario or default_scenario()).resolve()
    area = ensure_area(cells, resolution, seed, say)
    out = Path(out) if out else cache_dir() / "runs" / area.parent.name
    say(f"solving {scenario.name} on {area.parent.name}")
    t0 = time.perf_counter()
    fast = _child("fast", {"scenario": str(scenario), "area": str(area), "out": str(out),
                           "time_limit": time_limit}, timeout=24 * 3600)
    fast["wall_s"] = round(time.perf_counter() - t0, 2)  # with process start and imports
    row: dict[str, Any] = {"requested_cells": cells, **fast,
                           "cores": os.cpu_count(), "naive": {}}
    if "total_s" not in fast:
        return row  # the fast run failed: its error is the result
    for builder in naive:
        say(f"naive formulation through {builder} (limit {naive_time_limit:g} s)")
        r = _child("naive", {"scenario": str(scenario), "area": str(area), "builder": builder,
                             "time_limit": naive_time_limit, "gap": fast.get("mip_rel_gap")},
                   timeout=naive_time_limit + 30)
        if r.get("timed_out") or r.get("status") not in ("optimal",):
            r["limit_s"] = naive_time_limit
        row["naive"][builder] = r
    if "total_s" in fast:
        times = [r["seconds"] for r in row["naive"].values()
                 if r.get("status") == "optimal" and "seconds" in r]
        if times:
            row["speedup"] = round(min(times) / max(fast["solve_s"] + fast["build_s"], 1e-9),
                                   1)
        elif row["naive"]:
            row["speedup_at_least"] = round(
                naive_time_limit / max(fast["solve_s"] + fast["build_s"], 1e-9), 1)
    return row


COLUMNS = [Column("cells", ">"), *(Column(h, ">", gap=2) for h in (
    "build s", "solve s", "write s", "peak MB", "gap", "naive highspy", "naive pyomo", "ratio"))]
"""The columns of the benchmark table."""


def _naive_text(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    if r.get("status") == "optimal":
        return f"{number(r['seconds'], '.1f')} s, {number(r.get('gap', float('nan')), '.3%')}"
    if r.get("timed_out") or r.get("status") in ("time_limit", "killed"):
        gap = r.get("gap")
        extra = f", gap {number(gap, '.2%')}" if gap is not None and np.isfinite(gap) \
            else ", no solution"
        return f"> {number(r.get('limit_s', r.get('seconds', 0)), 'g')} s{extra}"
    return str(r.get("status"))


def row_cells(row: dict[str, Any]) -> list[str]:
    """The table cells of one row (see :data:`COLUMNS`)."""
    if "total_s" not in row:
        return [number(row.get("requested_cells", 0), ","), row.get("status", "?"), "", "", "",
                "", "", "", ""]
    ratio = f"{number(row['speedup'], 'g')}x" if "speedup" in row else \
        (f">{number(row['speedup_at_least'], 'g')}x" if "speedup_at_least" in row else "-")
    gap = number(row["gap"], ".3%") + ("" if row["status"] == "optimal"
                                       else f" ({row['status']})")
    return [number(row["cells"], ","), number(row["build_s"], ".1f"),
            number(row["solve_s"], ".1f"), number(row["write_s"], ".1f"),
            number(row["peak_mb"], ","), gap, _naive_text(row["naive"].get("highspy")),
            _naive_text(row["naive"].get("pyomo")), ratio]


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table, failed runs' errors below it."""
    lines = table(COLUMNS, [row_cells(r) for r in rows], indent="")
    for r in rows:
        if "total_s" not in r:
            lines.append(f"{number(r.get('requested_cells', 0), ',')} cells: "
                         f"{r.get('error', '?')}")
    return "\n".join(lines)


def _main(argv: list[str]) -> None:
    kind, args = argv[0], json.loads(argv[1])
    if kind == "fast":
        res = measure_fast(Path(args["scenario"]), Path(args["area"]), Path(args["out"]),
                           args.get("time_limit"), verbose=bool(args.get("verbose")))
    else:
        res = measure_naive(Path(args["scenario"]), Path(args["area"]), args["builder"],
                            float(args["time_limit"]), args.get("gap"))
    print(json.dumps(res, default=float))


if __name__ == "__main__":
    _main(sys.argv[1:])
