"""The national-scale curve: synthetic Netherlands from 10k to 3.3M land cells.

    python benchmarks/national.py                        # the whole curve, naive up to 50k
    python benchmarks/national.py --cells 10000 530000   # some sizes only
    python benchmarks/national.py --naive-up-to 0        # no naive runs
    python benchmarks/national.py --json results/national.json
    python benchmarks/national.py --scenario benchmarks/national-nolocations.yaml

Each row is what ``ruimteverdeling bench --cells N`` prints: the scenario
``benchmarks/national.yaml`` (base rules + ~90 provincial, polder and national coupling
rows, gap 0.5 % of the decision value) solved the way ``ruimteverdeling solve`` does —
read, compile, solve, write — in a fresh process, with its peak memory; beside it the naive
formulation (every (cell, use) pair a binary, through highspy and through Pyomo, HiGHS MIP
to the same gap) under a time limit,
killed when the limit passes. Areas are generated once and cached in benchmarks/cache/ (unless
$RUIMTEVERDELING_CACHE names another folder; ``ruimteverdeling bench`` alone caches in the
user's cache folder).

Goals: 3.3M cells ≤ 300 s wall and ≤ 8 GB with gap ≤ 0.5 %; 530k cells ≤ 60 s;
time close to linear in the number of cells. The last lines print the time per 100k cells.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ruimteverdeling import bench
from ruimteverdeling.paths import CACHE_ENV

HERE = Path(__file__).resolve().parent
# the areas these scripts generate stay beside them (git-ignored), where their users look for
# them; `ruimteverdeling bench` itself caches in the user's cache folder
os.environ.setdefault(CACHE_ENV, str(HERE / "cache"))

SIZES = [10_000, 50_000, 200_000, 530_000, 1_000_000, 3_300_000]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs="+", default=SIZES)
    ap.add_argument("--naive-time-limit", type=float, default=120.0)
    ap.add_argument("--naive-up-to", type=int, default=50_000,
                    help="run the naive formulation only up to this many cells")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--scenario", type=Path, default=None,
                    help="scenario to solve (default benchmarks/national.yaml; "
                         "benchmarks/national-nolocations.yaml: without the location rules)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="time limit of the engine's solve (default: the scenario's)")
    args = ap.parse_args()
    rows = []
    for cells in args.cells:
        naive = ("highspy", "pyomo") if cells <= args.naive_up_to else ()
        print(f"  {cells:,} cells ...", file=sys.stderr, flush=True)
        rows.append(bench.bench(cells, naive_time_limit=args.naive_time_limit, naive=naive,
                                scenario=args.scenario, time_limit=args.time_limit))
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(bench.format_table(rows))
    ok = [r for r in rows if "total_s" in r]
    if ok:
        print("\nseconds per 100k cells (read + compile + solve + write):")
        for r in ok:
            print(f"  {r['cells']:>10,}  {100_000 * r['total_s'] / r['cells']:6.2f} s"
                  f"   ({r['total_s']:.0f} s total, {r['units']:,} changeable cells, "
                  f"{r['columns']:,} columns, {r['coupling_rows']} coupling rows)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
