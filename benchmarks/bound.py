"""What whole cells in regional rows add to the demo's bound (the regional bound by Lagrangian
decomposition, :mod:`ruimteverdeling.model.regional_bound`).

    python benchmarks/bound.py                          # the demo (36 k cells at 1 km)
    python benchmarks/bound.py --cases 3k demo --region-seconds 20
    python benchmarks/bound.py --json bound.json

Per case: compile ``scenarios/base.yaml`` on the area (as ``benchmarks/small.py`` does), solve
the LP with the derived rows (as ``solve`` does) and print, each from that LP's duals:

* ``LP`` — the LP bound with the derived rows;
* ``polders`` — the regional bound with every deep polder (each row of the water-storage
  target) as a region: its share rows and derived rows kept with whole cells, every other row
  (the provinces' minimax rows too) priced;
* ``knapsack@I`` — the whole-cell knapsack bound
  (:func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`) over the level interval
  ``I = [v (1 − w), v (1 + w)]`` around the LP's level ``v`` (its tables exact down to
  ``--below`` points under the LP bound);
* ``regions@I`` — the regional bound with the minimax level's regions (provinces, merged
  where a row joins two) as regions, the level confined to ``I``; a province with only its
  minimax row by dynamic programming
  (:func:`~ruimteverdeling.model.regional_bound.knapsack_solver`), one with more rows (deep
  polders) by HiGHS stopped after ``--region-seconds`` (its dual bound counts, so the figure
  is valid but only as strong as the proofs; the status column counts the proven regions).

Each bound holds for every allocation (the ``@I`` ones for those whose level lies in ``I``);
the seconds are those of the bound alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

POLDER_BLOCK = "target:water_storage_deep_polders"


def measure(case: str, width: float, region_seconds: float, below: float) -> list[dict]:

    from ruimteverdeling.model import regional_bound as rb
    from ruimteverdeling.model import strengthen as st
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.solve import _session, _strengthen
    from small import compile_case

    cm = compile_case(case, 300.0)
    spec, options = cm.spec, cm.scenario.solver
    session = _session(HighsBackend(), spec, options)
    t0 = time.perf_counter()
    lp = session.lp(time_limit=300.0)
    _, lp_s, _, _, (model, duals) = _strengthen(spec, session, options, lp,
                                                time.perf_counter() + 300.0, lambda m: None)
    rows = [{"case": case, "bound": "LP", "value": float(lp_s.objective), "status": "optimal",
             "seconds": time.perf_counter() - t0}]
    base = rb.highs_solver(options, abs_gap=1e-3)

    def capped(sub, limit):
        return base(sub, min(limit, region_seconds))

    names = [b.name for b in model.coupling]
    if POLDER_BLOCK in names:
        b = model.block(POLDER_BLOCK)
        group = rb.level_groups(model, [(b.name, r) for r in range(b.n_rows)])
        res = rb.regional_bound(model, duals, group, capped, 600.0)
        rows.append({"case": case, "bound": "polders", "value": res.bound,
                     "status": f"{sum(r['status'] == 'optimal' for r in res.regions)}/"
                               f"{len(res.regions)} proven", "seconds": res.seconds})
    levels = st.find_levels(model)
    for lv in levels:
        j = lv.col - model.n_x
        v = float(lp_s.x[lv.col])
        lb, ub = model.aux_lb.copy(), model.aux_ub.copy()
        lb[j], ub[j] = max(lb[j], v * (1 - width)), min(ub[j], v * (1 + width))
        tag = f"@[{lb[j]:.6g}, {ub[j]:.6g}]"
        t1 = time.perf_counter()
        # (the incumbent only sets the window of exact tables; outside it a relaxation)
        curve = st.knapsack_level_curve(model, lv, duals, float(lp_s.objective) - below)
        k = None if curve is None else curve(float(lb[j]), float(ub[j]))
        rows.append({"case": case, "bound": "knapsack" + tag, "value": k, "status": "exact",
                     "seconds": time.perf_counter() - t1})
        group = rb.merge_groups(model, rb.level_groups(model, [(r.block, r.row)
                                                               for r in lv.rows]))
        res = rb.regional_bound(model, duals, group, rb.knapsack_solver(capped), 3600.0, lb,
                                ub)
        rows.append({"case": case, "bound": "regions" + tag, "value": res.bound,
                     "status": f"{sum(r['status'] == 'optimal' for r in res.regions)}/"
                               f"{len(res.regions)} proven", "seconds": res.seconds,
                     "regions": res.regions})
        for r in res.regions:
            rows.append({"case": case, "bound": f"  region {r['region']} ({r['units']} units, "
                         f"{r['rows']} rows)", "value": r["bound"], "status": r["status"],
                         "seconds": r["seconds"]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["demo"], choices=["3k", "10k", "demo"])
    ap.add_argument("--width", type=float, default=0.001,
                    help="half-width of the level interval, relative to the LP's level")
    ap.add_argument("--region-seconds", type=float, default=10.0,
                    help="HiGHS's time per region's MIP")
    ap.add_argument("--below", type=float, default=1000.0,
                    help="the knapsack tables are exact down to this far below the LP bound")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = []
    print(f"{'case':6s} {'bound':34s} {'value':>16s} {'status':>14s} {'seconds':>8s}")
    for case in args.cases:
        for row in measure(case, args.width, args.region_seconds, args.below):
            value = "-" if row["value"] is None else f"{row['value']:,.2f}"
            print(f"{row['case']:6s} {row['bound']:34s} {value:>16s} {row['status']:>14s} "
                  f"{row['seconds']:8.1f}", flush=True)
            out.append(row)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
