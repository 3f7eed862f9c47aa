"""Scaling benchmark: build time, solve time, peak memory and gap by size and backend.

    python benchmarks/scaling.py                       # 10k, 50k, 200k cells, both backends
    python benchmarks/scaling.py --cells 10000 50000 --backends highs
    python benchmarks/scaling.py --json results.json

For each size a synthetic Netherlands is generated (cached in benchmarks/cache/ unless
$RUIMTEVERDELING_CACHE names another folder) at the
resolution that gives that many land cells over the real land area (33,700 km²), and the
shipped base scenario is solved on it. Every measurement runs in a fresh process, so the
peak memory (``ru_maxrss``) is that of one run. Timings are wall-clock seconds:

* build  = loading the scenario and area + compiling the ModelSpec + handing it to the
           solver (for Pyomo: rendering the Pyomo model);
* solve  = the solver run(s), including the repair MIP when needed;
* write  = GeoTIFFs, CSVs, summary and manifest.

Performance goals live here, not in the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from ruimteverdeling import pipeline
from ruimteverdeling.bench import ensure_area
from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.model.solve import solve
from ruimteverdeling.paths import CACHE_ENV
from ruimteverdeling.progress import Progress

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# the areas these scripts generate stay beside them (git-ignored), where their users look for
# them; `ruimteverdeling bench` itself caches in the user's cache folder
os.environ.setdefault(CACHE_ENV, str(HERE / "cache"))


def one(cells: int, backend: str, time_limit: float) -> dict:
    """Run one measurement in this process and return its figures."""
    area = ensure_area(cells)
    t0 = time.perf_counter()
    cm = pipeline.compile_scenario(REPO / "scenarios" / "base.yaml", area=area,
                                   backend=backend, time_limit=time_limit)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solve(cm.spec, cm.scenario.solver, Progress(enabled=False))
    t_solve_total = time.perf_counter() - t0
    handover = sol.seconds.get("build", 0.0)
    out = HERE / "results" / f"out_{cells}_{backend}"
    t0 = time.perf_counter()
    pipeline.write_run(pipeline.result_of(cm, sol), out, dt.datetime.now(dt.UTC), t0)
    t_write = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "cells": int(cm.area.land.sum()), "requested_cells": cells,
        "resolution_m": cm.area.grid.resolution, "backend": backend,
        "changeable": int(cm.spec.n_units), "columns": int(cm.spec.n_cols),
        "rows": int(cm.spec.n_rows),
        "build_s": round(t_compile + handover, 2),
        "solve_s": round(t_solve_total - handover, 2),
        "write_s": round(t_write, 2), "peak_mb": round(peak_mb),
        "status": sol.status, "method": sol.method, "objective": sol.objective,
        "bound": sol.bound, "gap": sol.gap,
    }


def run_child(cells: int, backend: str, time_limit: float, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(cells), backend,
           "--time-limit", str(time_limit)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return {"cells": cells, "backend": backend, "status": f"timeout {timeout:.0f}s",
                "wall_s": round(time.perf_counter() - t0, 1)}
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["?"]
        return {"cells": cells, "backend": backend, "status": f"error: {tail[0][:60]}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


COLUMNS = [("cells", 9, ","), ("backend", 7, ""), ("columns", 10, ","),
           ("build_s", 8, ".2f"), ("solve_s", 8, ".2f"), ("write_s", 8, ".2f"),
           ("peak_mb", 8, ","), ("gap", 8, ".3%"), ("status", 9, ""), ("method", 22, "")]


def print_table(rows: list[dict]) -> None:
    def cell(v: object, spec: str) -> str:
        try:
            return number(v, spec)
        except (ValueError, TypeError):
            return str(v)

    columns = [Column(name, ">", width, gap=2) for name, width, _ in COLUMNS]
    for line in table(columns, [[cell(r.get(name), spec) for name, _, spec in COLUMNS]
                                for r in rows], indent=""):
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    ap.add_argument("--backends", nargs="+", default=["highs", "pyomo"])
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="wall-clock limit per measurement (process killed after it)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", nargs=2, metavar=("CELLS", "BACKEND"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(int(args.child[0]), args.child[1], args.time_limit)))
        return
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    rows = []
    for cells in args.cells:
        ensure_area(cells)  # generation is not part of the measurement
        for backend in args.backends:
            rows.append(run_child(cells, backend, args.time_limit, args.timeout))
            print(f"  done: {cells:,} cells, {backend}: {rows[-1].get('status')}",
                  file=sys.stderr, flush=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
