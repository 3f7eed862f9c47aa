"""Small and medium areas: time to a proven decision gap, beside HiGHS's MIP on the whole model.

    python benchmarks/small.py                          # 3 k, 10 k and the demo (36 k)
    python benchmarks/small.py --cases 3k --naive       # with HiGHS's MIP on the whole model
    python benchmarks/small.py --families               # what each derived-row family closes
    python benchmarks/small.py --levels                 # how lumpy each minimax level is
    python benchmarks/small.py --cases demo --scan 36   # the bound per level interval
    python benchmarks/small.py --cases demo --scan 24 --lagrange 6   # ... better multipliers
    python benchmarks/small.py --fairness deviation:0.5 # another fairness formulation
    python benchmarks/small.py --json results.json
    python benchmarks/small.py --cases demo --repeat 5  # median of five runs, with the range

Cases (synthetic areas, generated once into benchmarks/cache/):

* ``3k``   — ``make-area --cells 3000 --resolution 250 --seed 1``
* ``10k``  — ``make-area --cells 10000 --resolution 250 --seed 1``
* ``demo`` — the demo area (36 k cells of 1 km, seed 42)
* ``3k-coarse`` — ``make-area --cells 3000 --resolution 3000 --seed 7`` (not run by default):
  whole 900-ha cells, and a status quo whose value lies within 0.4 % of the optimum, so the
  decision tolerance (0.1 % of ``|z − z_sq|``, about 4 points) is far below what one cell
  moves. Measured (loaded): ``--cases 3k-coarse --naive --time-limit 120`` — the engine
  25.5 % decision gap at the limit (the branch and bound after reduced-cost fixing cut short;
  its bound is the level search's), HiGHS's MIP 45.0 %; with the default 300 s the engine
  ends at 1.4 % (that branch and bound spends its 500 checks in 232 s). On coarse areas of
  300, 600 and 1,200 cells the engine proves 0.1 % in 3.4 and 15 s and ends at 0.23 % in
  113 s; HiGHS's MIP proves the optimum in 1.1 and 52 s and ends at 0.65 % in 60 s

Each case compiles ``scenarios/base.yaml`` on the area and solves it as ``solve`` does, in a
fresh process. Columns: land cells, status, solve seconds, objective, bound, the total gap
``(bound − objective)/|objective|`` and the decision gap ``(bound − objective)/|objective −
z_sq|`` (``z_sq``: the status quo), method. ``--naive`` adds a row per case for HiGHS's MIP
on the plain model (default settings, stopped by the same decision-gap test), under the same
time limit. The columns ``fair term``, ``I max`` and ``I spread`` show the fairness rule's
objective term (weighted) and the largest and the spread (max − min) of the province burden
intensities ``I_r = B_r / area_r``; ``--fairness MODE[:WEIGHT[:NATIONAL]]`` solves with
``fair_burdens`` in another mode (see ``rules/fairness.py``). ``--repeat N`` solves
each case N times, each run in a fresh process and the cases in turn (so that a machine whose
speed drifts over minutes slows every case alike); the row is then the run with the median
solve time, its ``seconds`` that median, ``range`` the fastest and slowest run, and ``same``
whether every run ended with the same status, objective and bound (the solve's answer does not
depend on the machine's load, so anything but ``yes`` is a finding). ``--families`` prints, per
case, the LP bound with the derived rows of one family at a time, all of them, and the level
search.

``--levels`` prints, per minimax level (a fairness rule's most burdened region) and region
row ``Σ_j a_j x_j − c_r v ≤ u_r``: the burden columns, their most frequent sizes ``a_j``, whether
the row binds at the LP optimum, and the *step* ``|cost_v| · a / c_r`` — the objective points one
whole cell of the most frequent size moves the level term when that region is the most
burdened — beside the decision tolerance ``mip_rel_gap · |z_LP − z_sq|`` (from the LP bound,
so an estimate). The LP relaxation equalises the binding regions' intensities exactly with
fractional cells; whole cells cannot, so a step far above the tolerance is a gap that only
branching on the regions' loads (or a bound aware of the whole-cell sizes) closes.

``--scan N`` solves the case as ``solve`` does (for an incumbent), splits the level range
``[0.94 v_LP, 1.06 v_LP]`` (``v_LP``: the level of the LP with derived rows) into ``N`` equal
intervals and prints, per interval, the LP optimum with the level confined to it and the
whole-cell knapsack bound under *that* LP's duals
(:func:`~ruimteverdeling.model.strengthen.knapsack_level_bound`); the smaller of the two
bounds every allocation whose level lies in the interval. The largest over the intervals is
what a level search of that resolution can prove at best near the LP's level (levels outside
the range need their own intervals); the spread between neighbouring intervals shows how
lumpy whole cells make the level.

``--groups`` (with ``--scan``) adds, per interval, the whole-cell bound under that LP's duals
with every row over few units of one region (a deep polder's share, say) kept as a
constraint inside its region's knapsack instead of priced
(:mod:`~ruimteverdeling.model.row_groups`).

The scan ends with the levels outside the scanned range, each side bounded as an interval is
(its LP and the whole-cell bound under its duals, with ``--groups`` if given) or by the root's
curve: with every interval bounded, the largest of all is a valid bound over every level.

Without ``--scan`` the solve keeps the rows over few units in every whole-cell bound
(``strengthen.KEEP_ROW_GROUPS``, on by default; ``--no-groups`` leaves them priced);
``--stall N`` sets the level search's ``STALL_LPS`` (default 8) and ``--repair-units N`` the
option ``repair_units_per_fractional`` (the level window's repair frees
``level_window.REPAIR_UNITS_SCALE`` times as many). Measured (load ~4.6): the default
``--cases demo`` proves the demo within its tolerance (status optimal, 1,628,157.26, bound
1,628,182.46, decision gap 0.093 %) in 28.2 s (16.9 s CPU); ``--no-groups`` leaves it just
open (bound 1,628,184.83, 0.101 %, load 2.8), ``--stall 5`` stops the level search at
1,628,196.83 (0.145 %).

``--lagrange STEPS`` (with ``--scan``) adds, per interval, the whole-cell bound after
``STEPS`` subgradient steps on its multipliers from that LP's duals
(:func:`~ruimteverdeling.model.strengthen.lagrange_level_duals`). Measured (loaded):
``--cases demo --scan 24 --lagrange 4`` — the bound of one interval of the 24 fell, by
0.26 points (1,628,156.41 → 1,628,156.15); the largest stayed 1,628,193.53. Along single
multipliers the LP's duals sit at the bottom of a sharp V: moving any of the six that
price the peak interval's knapsack fill most by ±2 % or ±10 % raises its bound (by up to
2,227 points) or leaves it, never lowers it. So the solve does not run this search.

Timing goals (2 cores): 3 k and 10 k cells proven within 0.1 % of the decision value in 5 and
10 s, the demo in 10 s. Performance goals live here, not in the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CASES = {"3k": (3000, 250.0, 1), "10k": (10000, 250.0, 1), "demo": (36000, 1000.0, 42),
         "3k-coarse": (3000, 3000.0, 7)}
DEFAULT_CASES = ["3k", "10k", "demo"]
SCENARIO = {"3k": HERE / "base-small-area.yaml"}
"""Scenario per case (default ``scenarios/base.yaml``): the 3 k area holds no river
reservation zone, so its variant disables that rule by an override (the engine refuses a
decided rule that would apply nowhere)."""
HEADER = ("case", "fairness", "cells", "status", "seconds", "objective", "bound", "gap",
          "decision gap", "fair term", "I max", "I spread", "method")


def area_for(case: str) -> Path:
    from ruimteverdeling.synthetic import make_area

    cells, res, seed = CASES[case]
    folder = HERE / "cache" / f"small_{cells}_{int(res)}m_s{seed}"
    if not (folder / "area.yaml").exists():
        make_area(folder, cells=cells, resolution=res, seed=seed)
    return folder / "area.yaml"


FAIRNESS: str | None = None
"""``--fairness MODE[:WEIGHT[:NATIONAL_WEIGHT]]``: solve with the base's ``fair_burdens`` rule
set to this mode (weight, and for ``deviation`` the national weight, default 0) through an
override in a variant written next to the cached area."""


def scenario_for(case: str) -> Path:
    scenario = SCENARIO.get(case, REPO / "scenarios" / "base.yaml")
    if not FAIRNESS:
        return scenario
    mode, _, weights = FAIRNESS.partition(":")
    weight, _, national = weights.partition(":")
    change: dict = {"mode": mode}
    if weight:
        change["weight"] = float(weight)
    change["national_weight"] = float(national) if national else 0.0
    if mode != "deviation":
        change.pop("national_weight")
    variant = area_for(case).parent / f"fairness-{FAIRNESS.replace(':', '-')}.yaml"
    variant.write_text(json.dumps({
        "id": f"{case}-fairness-{mode}", "extends": str(scenario),
        "overrides": [{"rule": "fair_burdens", "action": "set", "set": change,
                       "justification": "benchmark of the fairness formulations"}]}))
    return variant


def compile_case(case: str, time_limit: float):
    from ruimteverdeling import api

    return api.compile(scenario_for(case), area=area_for(case), time_limit=time_limit)


GROUPS: bool | None = None
"""``--groups`` / ``--no-groups`` (without ``--scan``): whether the solve's whole-cell knapsack
bounds keep the rows over few units of one region as constraints
(``strengthen.KEEP_ROW_GROUPS``, on by default); None: the default."""
STALL: int | None = None
"""``--stall N``: the level search's ``STALL_LPS`` (LPs before it may judge itself stalled)."""
REPAIR_UNITS: int | None = None
"""``--repair-units N``: the solver option ``repair_units_per_fractional``."""


def one(case: str, time_limit: float, naive: bool) -> dict:
    """Solve one case in this process (the engine, or HiGHS's MIP on the whole model)."""
    from ruimteverdeling.model import strengthen as st
    from ruimteverdeling.model.solve import solve

    if GROUPS is not None:
        st.KEEP_ROW_GROUPS = GROUPS
    if STALL is not None:
        st.STALL_LPS = STALL
    cm = compile_case(case, time_limit)
    spec, options = cm.spec, cm.scenario.solver
    if REPAIR_UNITS is not None:
        options = options.model_copy(update={"repair_units_per_fractional": REPAIR_UNITS})
    t0 = time.perf_counter()
    sol = _naive(spec, options) if naive else solve(spec, options)
    seconds = time.perf_counter() - t0
    fair = burden_spread(cm, sol.x)
    return {"case": case, "cells": int(cm.area.land.sum()), "status": sol.status,
            "seconds": round(seconds, 2), "objective": sol.objective, "bound": sol.bound,
            "gap": sol.gap, "decision gap": sol.decision_gap,
            "status_quo": spec.status_quo_value,
            "method": "naive HiGHS MIP" if naive else sol.method, "details": sol.details,
            "solver_seconds": sol.seconds, "fairness": FAIRNESS or "base", **fair,
            "terms": {t.name: t.weight * t.value(sol.x) for t in spec.terms}
            if sol.x is not None else {}}


def burden_spread(cm, x) -> dict:
    """The burden intensities ``I_r = B_r / area_r`` of ``fair_burdens`` in ``x``: the
    largest, the spread (largest − smallest) and the national ``Σ B / Σ area`` (in %)."""
    import numpy as np

    if x is None or "rule:fair_burdens" not in [b.name for b in cm.spec.coupling]:
        return {}
    b = cm.spec.block("rule:fair_burdens")
    area = np.asarray(b.meta["area_ha"], float)
    n = area.size
    info = cm.blocks["rule:fair_burdens"]
    load = b.A[:n, : cm.spec.n_x] @ x[: cm.spec.n_x] + info.constant[:n]
    inten = load / area
    return {"I max %": 100 * float(inten.max()), "I spread %": 100 * float(np.ptp(inten)),
            "I national %": 100 * float(load.sum() / area.sum())}


def _naive(spec, options):
    """HiGHS's MIP on the plain model, stopped when the decision gap is proven."""
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.outcomes import Solution, decision_gap, proven_gap
    from ruimteverdeling.model.solve import _stopper

    backend = HighsBackend()
    r = backend.mip(spec, options, options.time_limit, 0.0, stop=_stopper(
        spec, options.mip_rel_gap))
    if r.x is None:
        return Solution(r.status, spec.lb, float("nan"), r.bound or float("nan"),
                        float("nan"), "mip", "highs", "HiGHS", {}, {})
    z = spec.objective_value(r.x)
    b = max(r.bound, z) if r.bound is not None else float("inf")
    dg = decision_gap(z, b, spec.status_quo_value)
    status = "optimal" if r.status in ("optimal", "stopped") and dg <= options.mip_rel_gap \
        else r.status
    return Solution(status, r.x, z, b, proven_gap(z, b), "mip", "highs", "HiGHS", r.seconds,
                    r.details, None, spec.status_quo_value, dg)


def families(case: str) -> list[dict]:
    """LP bound with the derived rows of one row family at a time, all, and the level search."""
    import numpy as np

    from ruimteverdeling.model import strengthen as st
    from ruimteverdeling.model.highs_backend import HighsBackend

    cm = compile_case(case, 300.0)
    spec, options = cm.spec, cm.scenario.solver
    backend = HighsBackend()
    lp = backend.lp(spec, options, 300.0)
    cands = st.candidates(spec)
    out = [{"case": case, "family": "(LP relaxation)", "rows": 0, "bound": lp.objective}]

    def with_rows(mask: np.ndarray) -> tuple[int, float, object]:
        x, best, n = lp.x, lp, 0
        pool = cands
        keep = np.flatnonzero(mask)
        pool = pool.take(np.setdiff1d(np.arange(pool.n_rows), keep))
        blocks = []
        for _ in range(4):
            viol = pool.violated(x[: spec.n_cols])
            if not viol.size:
                break
            blocks.append(pool.block(viol))
            n += viol.size
            pool = pool.take(viol)
            best = backend.lp(spec.with_rows(st.stack_rows(blocks, st.BLOCK)), options, 300.0,
                              basis=best.basis)
            x = best.x
        return n, best.objective, best

    names = sorted({s.rsplit(":", 1)[0] for s in cands.source})
    for name in names:
        mask = np.array([s.rsplit(":", 1)[0] == name for s in cands.source])
        n, b, _ = with_rows(mask)
        out.append({"case": case, "family": name, "rows": n, "bound": b})
    n, b, _ = with_rows(np.ones(cands.n_rows, bool))
    out.append({"case": case, "family": "all derived rows", "rows": n, "bound": b})
    levels = st.find_levels(spec)
    if levels:
        from ruimteverdeling.model.solve import solve

        sol = solve(spec, options)
        for info in sol.details.get("level_search", []):
            out.append({"case": case, "family": f"level search ({info['level']})",
                        "rows": info["lps"], "bound": info["bound"]})
        out.append({"case": case, "family": "(best allocation found)", "rows": 0,
                    "bound": sol.objective})
    return out


def levels(case: str) -> list[dict]:
    """Per minimax level row: burden sizes, binding at the LP, and its step vs the tolerance."""
    import numpy as np

    from ruimteverdeling.model import strengthen as st
    from ruimteverdeling.model.highs_backend import HighsBackend

    cm = compile_case(case, 300.0)
    spec, options = cm.spec, cm.scenario.solver
    lp = HighsBackend().lp(spec, options, 300.0)
    sq = spec.status_quo_value
    tol = options.mip_rel_gap * abs(lp.objective - sq) if sq is not None else float("nan")
    out = []
    for lv in st.find_levels(spec):
        v = float(lp.x[lv.col])
        name = spec.aux_names[lv.col - spec.n_x]
        labels = spec.block(lv.rows[0].block).labels if lv.rows else None
        for row in lv.rows:
            sizes, counts = np.unique(np.round(row.a, 6), return_counts=True)
            top = sizes[np.argsort(-counts)[:4]]
            load = float(row.a @ lp.x[row.cols])
            binding = load >= row.c * v + row.u - 1e-6 * max(1.0, abs(load))
            out.append({"case": case, "level": name,
                        "row": labels[row.row] if labels else str(row.row),
                        "columns": int(row.a.size), "sizes": ", ".join(f"{a:g}" for a in top),
                        "binding": "yes" if binding else "no",
                        "step": abs(lv.cost) * float(top[0]) / row.c, "tolerance": tol})
    return out


SCAN_WIDTH = 0.06
"""Half-width of the ``--scan`` range relative to the LP's level."""


def scan(case: str, n: int, steps: int = 0, groups: bool = False) -> list[dict]:
    """Per level interval near the LP's level: the LP optimum with the level confined to it
    and the whole-cell knapsack bound under that LP's own duals (see ``--scan``); with
    ``steps``, also that bound after as many subgradient steps on its multipliers
    (:func:`~ruimteverdeling.model.strengthen.lagrange_level_duals`, see ``--lagrange``);
    with ``groups``, also the whole-cell bound with the rows over few units kept (see
    ``--groups``)."""
    from dataclasses import replace

    import numpy as np

    from ruimteverdeling.model import strengthen as st
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.solve import _session, _strengthen, solve

    cm = compile_case(case, 300.0)
    spec, options = cm.spec, cm.scenario.solver
    sol = solve(spec, options)  # the incumbent that ends each knapsack table's window
    session = _session(HighsBackend(), spec, options)
    lp = session.lp(time_limit=300.0)
    work, lp_s, _, levels, derived = _strengthen(spec, session, options, lp,
                                                 time.perf_counter() + 300.0, lambda msg: None)
    out = []
    for lv in levels:
        j = lv.col - work.n_x
        v_lp = float(lp_s.x[lv.col])
        edges = np.linspace((1 - SCAN_WIDTH) * v_lp, (1 + SCAN_WIDTH) * v_lp, n + 1)
        # outside the scanned range, each side: its LP and the whole-cell bound under its
        # duals, or the root's curve (under the strengthened LP's duals), the smallest
        root_model, root_duals = derived
        root = None if root_duals is None else st.knapsack_level_curve(
            root_model, lv, root_duals, sol.objective, groups=groups)
        sides = []
        for lo, hi in ((float(work.aux_lb[j]), float(edges[0])),
                       (float(edges[-1]), float(work.aux_ub[j]))):
            lb, ub = work.aux_lb.copy(), work.aux_ub.copy()
            lb[j], ub[j] = max(lo, lb[j]), min(hi, ub[j])
            node = session.lp(lb, ub, None, 300.0)
            if node.status == "infeasible":
                sides.append(-np.inf)
                continue
            found = [] if root is None else [root(lo, hi)]
            if node.status == "optimal" and node.objective is not None:
                found.append(float(node.objective))
                duals = np.asarray(node.row_dual)[: work.n_rows]
                k = st.knapsack_level_bound(replace(work, aux_lb=lb, aux_ub=ub), lv, duals,
                                            sol.objective, groups=groups)
                if k is not None:
                    found.append(k)
            sides.append(min(found) if found else np.inf)
        outside = max(sides)
        for lo, hi in itertools.pairwise(edges):
            lb, ub = work.aux_lb.copy(), work.aux_ub.copy()
            lb[j], ub[j] = max(lo, lb[j]), min(hi, ub[j])
            t0 = time.perf_counter()
            node = session.lp(lb, ub, None, 300.0)
            k = lag = kept = None
            t_lag = t_kept = 0.0
            if node.status == "optimal" and node.row_dual is not None:
                boxed = replace(work, aux_lb=lb, aux_ub=ub)
                duals = np.asarray(node.row_dual)[: work.n_rows]
                k = st.knapsack_level_bound(boxed, lv, duals, sol.objective)
                if steps and k is not None:
                    t1 = time.perf_counter()
                    res = st.lagrange_level_duals(boxed, lv, duals, sol.objective,
                                                  float(lb[j]), float(ub[j]), steps)
                    lag = None if res is None else res.bound
                    t_lag = time.perf_counter() - t1
                if groups:
                    t1 = time.perf_counter()
                    kept = st.knapsack_level_bound(boxed, lv, duals, sol.objective, groups=True)
                    t_kept = time.perf_counter() - t1
            lp_z = node.objective if node.status == "optimal" else None
            both = [b for b in (lp_z, k, lag, kept) if b is not None]
            out.append({"case": case, "level": spec.aux_names[lv.col - spec.n_x],
                        "incumbent": sol.objective, "engine_bound": sol.bound,
                        "lo": float(lo), "hi": float(hi), "lp": lp_z, "knapsack": k,
                        "multipliers": lag, "multiplier_seconds": t_lag,
                        "groups": kept, "groups_seconds": t_kept,
                        "bound": min(both) if both else None, "outside": outside,
                        "seconds": time.perf_counter() - t0})
    return out


def run_case(case: str, time_limit: float, naive: bool) -> dict:
    cmd = [sys.executable, __file__, "--one", case, "--time-limit", str(time_limit)]
    if FAIRNESS:
        cmd += ["--fairness", FAIRNESS]
    if GROUPS is not None:
        cmd.append("--groups" if GROUPS else "--no-groups")
    if STALL is not None:
        cmd += ["--stall", str(STALL)]
    if REPAIR_UNITS is not None:
        cmd += ["--repair-units", str(REPAIR_UNITS)]
    if naive:
        cmd.append("--naive-one")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"case": case, "status": f"failed: {r.stderr.strip()[-300:]}",
                "method": "naive HiGHS MIP" if naive else "engine"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    """The row of repeated runs of one case: the run with the median solve time (the lower of
    the two middle ones for an even count), with ``range`` (fastest, slowest seconds), ``runs``
    and ``same`` (whether every run ended with the same status, objective and bound) added.
    Failed runs (no seconds) are left out of the median and make ``same`` false."""
    timed = sorted((r for r in runs if r.get("seconds") is not None),
                   key=lambda r: r["seconds"])
    if not timed:
        return {**runs[0], "runs": len(runs), "range": None, "same": False}
    mid = timed[(len(timed) - 1) // 2]
    answers = {(r.get("status"), r.get("objective"), r.get("bound")) for r in runs}
    return {**mid, "runs": len(runs), "range": (timed[0]["seconds"], timed[-1]["seconds"]),
            "every_seconds": [r.get("seconds") for r in runs],
            "same": len(answers) == 1 and len(timed) == len(runs)}


def fmt(row: dict) -> list[str]:
    def num(v: object, spec: str) -> str:
        return "-" if v is None or v != v else format(v, spec)  # v != v: NaN

    return [row["case"], row.get("fairness", "base"), num(row.get("cells"), ","),
            row["status"], num(row.get("seconds"), ".1f"), num(row.get("objective"), ",.3f"),
            num(row.get("bound"), ",.3f"), num(row.get("gap"), ".4%"),
            num(row.get("decision gap"), ".3%"),
            num(row.get("terms", {}).get("fairness:fair_burdens"), ",.1f"),
            num(row.get("I max %"), ".2f") + "%", num(row.get("I spread %"), ".2f") + "%",
            row.get("method", "")] + ([] if "runs" not in row else [
                str(row["runs"]), "-" if row["range"] is None else
                f"{row['range'][0]:.1f}–{row['range'][1]:.1f}", "yes" if row["same"] else "NO"])


def table(rows: list[list[str]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [list(header), *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(header, widths, strict=True))]
    lines += ["  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=list(CASES))
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--naive", action="store_true", help="also HiGHS's MIP on the whole model")
    ap.add_argument("--families", action="store_true",
                    help="LP bound per derived-row family instead of the solve table")
    ap.add_argument("--levels", action="store_true",
                    help="per minimax level row: burden sizes and the step of one cell")
    ap.add_argument("--fairness", metavar="MODE[:WEIGHT[:NATIONAL]]",
                    help="set the base's fair_burdens rule to this mode (minimax, deviation)")
    ap.add_argument("--scan", type=int, metavar="N",
                    help="LP and own-dual whole-cell bound on N level intervals near the LP's")
    ap.add_argument("--lagrange", type=int, default=0, metavar="STEPS",
                    help="with --scan: also the whole-cell bound after STEPS subgradient "
                         "steps on its multipliers")
    ap.add_argument("--groups", action=argparse.BooleanOptionalAction, default=None,
                    help="keep (--no-groups: do not keep) the rows over few units of one "
                         "region as constraints in the whole-cell bounds (default: "
                         "strengthen.KEEP_ROW_GROUPS; with --scan: one more column)")
    ap.add_argument("--stall", type=int, metavar="N",
                    help="the level search's LPs before it may judge itself stalled")
    ap.add_argument("--repair-units", type=int, metavar="N",
                    help="the solver option repair_units_per_fractional")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="solve each case N times (in turn) and show the median run")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--naive-one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global FAIRNESS, GROUPS, STALL, REPAIR_UNITS
    FAIRNESS = args.fairness
    GROUPS, STALL, REPAIR_UNITS = args.groups, args.stall, args.repair_units
    if args.one:
        print(json.dumps(one(args.one, args.time_limit, args.naive_one), default=str))
        return
    if args.levels:
        rows = [r for case in args.cases for r in levels(case)]
        print(table([[r["case"], r["level"], r["row"], str(r["columns"]), r["sizes"],
                      r["binding"], f"{r['step']:,.1f}", f"{r['tolerance']:,.2f}"]
                     for r in rows], ("case", "level", "row", "columns", "sizes (most frequent)",
                                      "binds at LP", "step (points)", "tolerance")))
    elif args.scan:
        rows = [r for case in args.cases
                for r in scan(case, args.scan, args.lagrange, bool(args.groups))]

        def pts(v: float | None) -> str:
            return "-" if v is None else f"{v:,.2f}"

        print(table([[r["case"], r["level"], f"{r['lo']:.6f}", f"{r['hi']:.6f}", pts(r["lp"]),
                      pts(r["knapsack"]), pts(r["multipliers"]), pts(r["groups"]),
                      pts(r["bound"]), f"{r['seconds']:.1f}"]
                     for r in rows], ("case", "level", "from", "to", "LP", "whole-cell",
                                      "multipliers", "groups kept", "bound", "seconds")))
        for case in args.cases:
            found = [r["bound"] for r in rows if r["case"] == case and r["bound"] is not None]
            if found:
                first = next(r for r in rows if r["case"] == case)
                print(f"{case}: largest bound over the scanned intervals {max(found):,.2f}; "
                      f"the engine's solve: objective {first['incumbent']:,.2f}, bound "
                      f"{first['engine_bound']:,.2f}")
                if first.get("outside") is not None and len(found) == len(
                        [r for r in rows if r["case"] == case]):
                    whole = max(max(found), first["outside"])
                    print(f"{case}: outside the scanned range "
                          f"{first['outside']:,.2f}: a bound over every level {whole:,.2f}")
    elif args.families:
        rows = [r for case in args.cases for r in families(case)]
        print(table([[r["case"], r["family"], str(r["rows"]), f"{r['bound']:,.3f}"]
                     for r in rows], ("case", "rows of", "rows/LPs", "LP bound")))
    else:
        for case in args.cases:
            area_for(case)  # generate outside the timed process
        if args.repeat < 1:
            ap.error(f"--repeat {args.repeat}: give at least 1 run per case")
        kinds = [(case, naive) for case in args.cases
                 for naive in ([False, True] if args.naive else [False])]
        runs: dict[tuple[str, bool], list[dict]] = {k: [] for k in kinds}
        for _ in range(args.repeat):
            for case, naive in kinds:  # (in turn: a drifting machine slows each alike)
                runs[(case, naive)].append(run_case(case, args.time_limit, naive))
        if args.repeat == 1:
            rows = [runs[k][0] for k in kinds]
            print(table([fmt(r) for r in rows], HEADER))
        else:
            rows = [median_run(runs[k]) for k in kinds]
            print(table([fmt(r) for r in rows], (*HEADER, "runs", "range (s)", "same")))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
