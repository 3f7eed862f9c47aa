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
* per sub-interval ``J`` of the level interval ``I`` (``--split`` parts of
  ``[v (1 − w), v (1 + w)]`` around the LP's level ``v``, or ``--interval LO HI``):

  - ``knapsack@J`` — the whole-cell knapsack bound
    (:func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`, its tables exact down to
    ``--below`` points under the LP bound);
  - ``regions, other rows priced@J`` — the regional bound with the provinces of the minimax
    level as regions and only their minimax rows kept, each by dynamic programming
    (:func:`~ruimteverdeling.model.regional_bound.knapsack_solver`): the same relaxation as
    the knapsack bound except that each province has its own copy of the level within
    ``J``, so it tends to the knapsack bound from above as ``J`` narrows (a check);
  - ``regions, regional rows kept@J`` — the provinces merged where a row joins two, every
    regional row (deep polders, derived rows) kept with whole cells: a province with only its
    minimax row by dynamic programming, a merged one by HiGHS stopped after
    ``--region-seconds`` (its dual bound counts: valid, but only as strong as the proof; the
    status column counts the proven regions);

  and the largest of each over ``I``;
* with ``--national``, per priced row over several regions (organic share, homes, nature …):
  the regional bound with that row alone kept over all units (one region, HiGHS stopped
  after ``--region-seconds``), every other row priced — what that row's whole cells are
  worth against the LP.

Each bound holds for every allocation (the ``@I`` ones for those whose level lies in ``I``);
the seconds are those of the bound alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

POLDER_BLOCK = "target:water_storage_deep_polders"


def measure(case: str, width: float, region_seconds: float, below: float, split: int,
            interval: tuple[float, float] | None, national: bool) -> list[dict]:
    import numpy as np

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
        lo, hi = interval if interval else (v * (1 - width), v * (1 + width))
        lo, hi = max(float(model.aux_lb[j]), lo), min(float(model.aux_ub[j]), hi)
        # (the incumbent only sets the window of exact tables; outside it a relaxation)
        curve = st.knapsack_level_curve(model, lv, duals, float(lp_s.objective) - below)
        provinces = rb.level_groups(model, [(r.block, r.row) for r in lv.rows])
        merged = rb.merge_groups(model, provinces)
        level_rows = np.concatenate([np.full(b.n_rows, b.name == lv.rows[0].block)
                                     for b in model.coupling])
        solver = rb.knapsack_solver(capped)
        if national:
            # each priced row over several regions kept alone over every unit, all else priced
            A = model.coupling_matrix()[0].tocsr()
            y = np.asarray(duals, float)[model.n_units:]
            names = [f"{b.name}:{r}" for b in model.coupling for r in range(b.n_rows)]
            for i in np.flatnonzero(np.abs(y) > 1e-9):
                cols = A.indices[A.indptr[i]:A.indptr[i + 1]]
                if np.unique(merged[model.col_unit[cols[cols < model.n_x]]]).size <= 1:
                    continue
                priced = np.ones(A.shape[0], bool)
                priced[i] = False
                res = rb.regional_bound(model, duals, np.zeros(model.n_units, np.int64),
                                        capped, 3600.0, priced=priced)
                rows.append({"case": case, "bound": f"{names[i]} kept alone", "value": res.bound,
                             "status": res.regions[0]["status"] if res.regions else "-",
                             "seconds": res.seconds})
        edges = np.linspace(lo, hi, split + 1)
        best: dict[str, float] = {}
        for a, b in itertools.pairwise(edges):
            lb, ub = model.aux_lb.copy(), model.aux_ub.copy()
            lb[j], ub[j] = a, b
            tag = f"@[{a:.7g}, {b:.7g}]"
            t1 = time.perf_counter()
            k = None if curve is None else curve(float(a), float(b))
            found = [("knapsack", k, "exact", time.perf_counter() - t1)]
            for what, group, priced in (("regions, other rows priced", provinces,
                                         ~level_rows),
                                        ("regions, regional rows kept", merged, None)):
                res = rb.regional_bound(model, duals, group, solver, 3600.0, lb, ub,
                                        priced=priced)
                found.append((what, res.bound,
                              f"{sum(r['status'] == 'optimal' for r in res.regions)}/"
                              f"{len(res.regions)} proven", res.seconds))
            for what, value, status, sec in found:
                rows.append({"case": case, "bound": f"{what}{tag}", "value": value,
                             "status": status, "seconds": sec})
                if value is not None:
                    best[what] = max(best.get(what, -np.inf), value)
        for what, value in best.items():
            rows.append({"case": case, "bound": f"{what}, max over [{lo:.7g}, {hi:.7g}]",
                         "value": value, "status": "", "seconds": 0.0})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["demo"], choices=["3k", "10k", "demo"])
    ap.add_argument("--width", type=float, default=0.001,
                    help="half-width of the level interval, relative to the LP's level")
    ap.add_argument("--interval", type=float, nargs=2, metavar=("LO", "HI"),
                    help="the level interval itself (instead of --width)")
    ap.add_argument("--split", type=int, default=4,
                    help="sub-intervals of the level interval, each bounded on its own")
    ap.add_argument("--region-seconds", type=float, default=30.0,
                    help="HiGHS's time per region's MIP")
    ap.add_argument("--below", type=float, default=1000.0,
                    help="the knapsack tables are exact down to this far below the LP bound")
    ap.add_argument("--national", action="store_true",
                    help="also each priced row over several regions kept alone")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = []
    print(f"{'case':6s} {'bound':60s} {'value':>16s} {'status':>14s} {'seconds':>8s}")
    for case in args.cases:
        for row in measure(case, args.width, args.region_seconds, args.below, args.split,
                           tuple(args.interval) if args.interval else None, args.national):
            value = "-" if row["value"] is None else f"{row['value']:,.2f}"
            print(f"{row['case']:6s} {row['bound']:60s} {value:>16s} {row['status']:>14s} "
                  f"{row['seconds']:8.1f}", flush=True)
            out.append(row)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
