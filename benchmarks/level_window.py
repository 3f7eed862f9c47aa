"""The engine's solve with a minimax level confined to a window: allocations the default misses.

    python benchmarks/level_window.py                          # the demo, the windows below
    python benchmarks/level_window.py --window 0.014298 0.014312 --window 0.01427 0.01434
    python benchmarks/level_window.py --json window.json

Per window ``[lo, hi]`` the case's model is solved as ``solve`` does, with the level column
of ``fair_burdens`` bounded by ``lo ≤ v ≤ hi``. Every allocation of that model is one of the
whole model (the level is only restricted), so its objective is a valid incumbent for the
case; its bound holds only for allocations whose level lies in the window. The table prints,
per window, the objective, that window's bound, the level reached, the seconds and whether
the allocation meets every row of the unrestricted model, beside the default solve.

The default windows are the peak of ``benchmarks/small.py --cases demo --scan 24`` (where the
level search's bound is largest, 0.014298–0.014312), its neighbours, and a wider window.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

LEVEL = "fairness_level:fair_burdens"
WINDOWS = [(0.014298, 0.014312), (0.014312, 0.014326), (0.014284, 0.014298),
           (0.01427, 0.01434)]


def measure(case: str, windows: list[tuple[float, float]], default: bool) -> list[dict]:
    """``case`` solved with the level of ``fair_burdens`` bounded by each window
    (``max(lo, lb) ≤ v ≤ min(hi, ub)``), and unrestricted first with ``default``: one row per
    solve (objective, bound, level reached, seconds, whether every unrestricted row holds)."""
    from ruimteverdeling.model.solve import solve
    from small import compile_case

    cm = compile_case(case, 300.0)
    spec, options = cm.spec, cm.scenario.solver
    j = spec.aux_names.index(LEVEL)
    runs: list[tuple[str, object]] = [("default", spec)] if default else []
    for lo, hi in windows:
        lb, ub = spec.aux_lb.copy(), spec.aux_ub.copy()
        lb[j], ub[j] = max(lo, lb[j]), min(hi, ub[j])
        runs.append((f"{lo:.6f}–{hi:.6f}", replace(spec, aux_lb=lb, aux_ub=ub)))
    out = []
    for name, model in runs:
        t0 = time.perf_counter()
        sol = solve(model, options)
        out.append({"case": case, "window": name, "seconds": round(time.perf_counter() - t0, 1),
                    "objective": sol.objective, "bound": sol.bound,
                    "level": float(sol.x[spec.n_x + j]), "method": sol.method,
                    "meets_every_row": not spec.violations(sol.x),
                    "status_quo": spec.status_quo_value})
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=["demo"])
    ap.add_argument("--window", nargs=2, type=float, action="append", metavar=("LO", "HI"))
    ap.add_argument("--no-default", action="store_true", help="skip the unrestricted solve")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    windows = [tuple(w) for w in args.window] if args.window else WINDOWS
    rows = []
    for case in args.cases:
        rows += measure(case, windows, not args.no_default)
    print(f"{'case':>5} {'level window':>20} {'objective':>16} {'bound (window)':>16} "
          f"{'level':>9} {'s':>6}  rows kept  method")
    for r in rows:
        print(f"{r['case']:>5} {r['window']:>20} {r['objective']:>16,.3f} {r['bound']:>16,.3f} "
              f"{r['level']:9.6f} {r['seconds']:6.1f}  {'yes' if r['meets_every_row'] else 'NO':>9}"
              f"  {r['method']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
