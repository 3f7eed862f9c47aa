"""Three periods against one: the pathway model's size, time and memory beside the end state.

    python benchmarks/periods.py                         # demo scale and ~250 m national
    python benchmarks/periods.py --cells 36000 530000 3300000
    python benchmarks/periods.py --json results/periods.json
    python benchmarks/periods.py --cells 530000 --myopic --verbose   # rounds on stderr

For each size a synthetic Netherlands (generated once and cached, as for
``benchmarks/national.py``) is solved twice, each in a fresh process (so the peak memory is
its own), the way ``ruimteverdeling solve`` does it (read, compile, solve, write). At the demo
size (36 k cells of 1 km, the demo's seed) ``scenarios/base.yaml`` against
``scenarios/pathways.yaml`` (``national.yaml``'s provincial rows do not fit 1 km cells); from
there on ``benchmarks/national.yaml`` (one end state) and
``benchmarks/national-periods.yaml`` (the same
rules and targets over 2030, 2040, 2050 with foresight, ``--mode foresight``; and with
``--myopic`` also the period-by-period pathway and the cost of myopia). Both at the gap of
``national.yaml`` (0.5 % of the decision value).

``trajectories`` counts every pathway the rules and transitions allow (the columns of an
explicit model); ``columns`` those the model was solved over — all of them for a small model,
otherwise the ones column generation priced in (:mod:`ruimteverdeling.rules.pathways`); the
bound behind ``dec. gap`` holds for every trajectory. ``bound side`` and ``repair side`` split
that gap (three periods, generated): bound minus master LP value (prices not yet optimal, or
trajectories missing) and master LP value minus the allocation (rounding).

``peak MB`` is the process's peak resident set (``ru_maxrss``) in MiB (2²⁰ bytes); with
``--verbose`` every progress line ends with the resident memory then and the peak so far
(``VmRSS``, ``VmHWM``), which locates the peak among the stages.

Wall times depend on what else runs on the machine; ``CPU s`` (user + system time of the
process) is printed beside them. Goals (three periods): ~250 m (530 k cells) ≤ 2 min;
~100 m (3.3 M cells) ≤ 10 min and ≤ 12 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ruimteverdeling import api, bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SIZES = [36_000, 530_000]
CHILD = """
import json, resource, sys, time, tempfile
from ruimteverdeling import pipeline
from ruimteverdeling.progress import Progress
def _mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    return -1


class MemoryProgress(Progress):
    # each progress line with the resident memory now and its peak so far (MiB)

    def __call__(self, message):
        super().__call__(f"{message}  [rss {_mib('VmRSS'):,} MiB, peak {_mib('VmHWM'):,} MiB]")


t0 = time.perf_counter()
with tempfile.TemporaryDirectory() as tmp:
    run = pipeline.solve(sys.argv[1], tmp + "/out", area=sys.argv[2], mode=sys.argv[3],
                         time_limit=float(sys.argv[4]),
                         progress=MemoryProgress(enabled=sys.argv[5] == "1"))
total = time.perf_counter() - t0
s, sol = run.summary, run.solution
p = s.get("pathway") or {}
cost = (p.get("cost_of_myopia") or {}).get("points")
print(json.dumps({
    "cells": int(run.compiled.area.land.sum()),
    "resolution_m": float(run.compiled.area.grid.resolution),
    "units": int(run.pathway.model.spec.n_units if run.pathway else run.compiled.spec.n_units),
    "columns": int(p.get("columns") or run.compiled.spec.n_x),
    "trajectories": int(p.get("trajectories") or p.get("columns") or run.compiled.spec.n_x),
    "compile_s": round(run.timings.get("compile", 0.0), 1),
    "solve_s": round(run.timings.get("solve", 0.0) + run.timings.get("solve_myopic", 0.0), 1),
    "total_s": round(total, 1),
    "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
    "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "status": sol.status, "decision_gap": sol.decision_gap, "gap": sol.gap,
    "cost_of_myopia": cost,
    "gap_split": {k: v for k, v in (sol.details.get("gap_split") or {}).items()
                  if k in ("bound_side", "repair_side")}}))
"""


def measure(scenario: Path, area: Path, mode: str, time_limit: float,
            verbose: bool = False) -> dict:
    cmd = [sys.executable, "-c", CHILD, str(scenario), str(area), mode, str(time_limit),
           "1" if verbose else "0"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if verbose else subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        return {"error": (p.stderr or p.stdout).strip().splitlines()[-1:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=SIZES)
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--myopic", action="store_true",
                    help="solve the periods with --mode both (foresight and myopic)")
    ap.add_argument("--models", nargs="+", choices=["1", "3"], default=["1", "3"],
                    help="which rows to run, in this order: 1 (one period), 3 (three "
                    "periods)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--verbose", action="store_true",
                    help="show each solve's progress (round by round) on stderr")
    args = ap.parse_args()
    head = (f"{'cells':>10} {'model':>9} {'trajectories':>12} {'columns':>12} {'col/cell':>8} "
            f"{'compile s':>9} "
            f"{'solve s':>8} {'total s':>8} {'CPU s':>7} {'peak MB':>8} {'dec. gap':>9} "
            f"{'status':>9} {'myopia':>10} {'bound side':>10} {'repair side':>11}")
    print(head, flush=True)
    rows = []
    for cells in args.cells:
        demo = cells == api.DEMO_CELLS  # the demo area and the shipped scenarios
        area = bench.ensure_area(cells, api.DEMO_RESOLUTION if demo else None,
                                 seed=api.DEMO_SEED if demo else 42,
                                 say=lambda m: print(m, file=sys.stderr))
        single, periods = ((REPO / "scenarios" / "base.yaml", REPO / "scenarios" /
                            "pathways.yaml") if demo else
                           (HERE / "national.yaml", HERE / "national-periods.yaml"))
        models = {"1": ("1 period", single, "foresight"),
                  "3": ("3 periods", periods, "both" if args.myopic else "foresight")}
        for label, scenario, mode in (models[m] for m in dict.fromkeys(args.models)):
            print(f"  {cells:,} cells, {label} ...", file=sys.stderr, flush=True)
            r = {"size": cells, "model": label, "mode": mode,
                 **measure(scenario, area, mode, args.time_limit, args.verbose)}
            rows.append(r)
            print(_row(r), flush=True)  # each row as soon as it is measured
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(rows, indent=2))


def _row(r: dict) -> str:
    if "error" in r:
        return f"{r['size']:>10,} {r['model']:>9} error: {r['error']}"
    cost = "" if r.get("cost_of_myopia") is None else f"{r['cost_of_myopia']:,.0f}"
    gap = "" if r["decision_gap"] is None else f"{r['decision_gap']:.3%}"
    split = r.get("gap_split") or {}
    sides = [("" if split.get(k) is None else f"{split[k]:.3%}")
             for k in ("bound_side", "repair_side")]
    return (f"{r['cells']:>10,} {r['model']:>9} {r.get('trajectories', 0):>12,} "
            f"{r['columns']:>12,} "
            f"{r['columns'] / max(r['units'], 1):>8.1f} {r['compile_s']:>9.1f} "
            f"{r['solve_s']:>8.1f} {r['total_s']:>8.1f} {r.get('cpu_s', 0):>7.1f} "
            f"{r['peak_mb']:>8,} {gap:>9} "
            f"{r['status']:>9} {cost:>10} {sides[0]:>10} {sides[1]:>11}")

if __name__ == "__main__":
    main()
