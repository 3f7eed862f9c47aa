"""Rule costs one variant at a time against the forked worker processes, on one scenario solve.

    python benchmarks/rule_costs_workers.py                      # the demo, 1 then 2 workers
    python benchmarks/rule_costs_workers.py --workers 2 1 2      # any sequence

The scenario (``scenarios/base.yaml`` on the demo area: 36 k cells of 1 km, seed 42, cached)
is solved once; then its rule costs (every T and A rule) are priced with each number of
workers in turn, from that same solve, so the runs differ only in how the re-solves are
spread over processes. Columns: workers, wall-clock seconds of the re-solves, CPU seconds
(this process and its worker processes together), and whether the table is the first run's
to the last digit (it must be: the re-solves do not depend on the load or on which worker ran
them). On a machine whose cores other jobs hold, the workers share the time the kernel gives
the command and the wall clock gains little; the CPU column shows the work itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ruimteverdeling import api, bench
from ruimteverdeling.analysis import rule_costs as rc
from ruimteverdeling.paths import CACHE_ENV

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
os.environ.setdefault(CACHE_ENV, str(HERE / "cache"))


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--time-limit", type=float, default=600.0)
    args = ap.parse_args(argv)
    area = bench.ensure_area(36000, 1000.0, 42, lambda m: print(m, file=sys.stderr))
    t0 = time.perf_counter()
    run = api.solve(REPO / "scenarios" / "base.yaml", write=False, area=area,
                    time_limit=args.time_limit)
    print(f"scenario solved in {time.perf_counter() - t0:.1f} s "
          f"(objective {run.solution.objective:,.4f})", file=sys.stderr)
    first = None
    lines = []
    for w in args.workers:
        c0, t0 = cpu_seconds(), time.perf_counter()
        rows = rc.rule_costs(run.compiled, run.solution, workers=w).rows
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        first = rows if first is None else first
        lines.append((w, f"{wall:.1f}", f"{cpu:.1f}", "yes" if rows == first else "NO"))
        print(f"  {w} worker(s): {wall:.1f} s", file=sys.stderr)
    head = ("workers", "seconds", "cpu seconds", "same table")
    widths = [max(len(h), *(len(str(x[i])) for x in lines)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(n) for h, n in zip(head, widths, strict=True)))
    for x in lines:
        print("  ".join(str(v).ljust(n) for v, n in zip(x, widths, strict=True)))
    print(f"({os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end)")
    return 0 if all(x[3] == "yes" for x in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
