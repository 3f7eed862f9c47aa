"""Derived rows for a model solved by column generation, and the LP bound they give.

The cell path strengthens its LP by adding the derived rows of
:mod:`ruimteverdeling.model.strengthen` that the LP vertex violates and re-solving the LP from
its basis. A model solved by column generation has no LP of its own to add rows to; this
module does the same over the whole model:

1. the candidates are derived from the coupling blocks of at most
   :data:`MAX_BLOCK_ROWS` rows (targets, shares, quotas; the blocks of pair rows — a setback
   between two cells, tens of thousands of two-entry rows — derive nothing that a vertex of
   the semi-assignment LP violates, and cost most of the time);
2. those that column generation's point ``x`` violates are added to the model: every one is
   satisfied by every integer allocation (each derivation is a proof, see
   :mod:`ruimteverdeling.model.strengthen`), so the model ``spec + D`` has the same integer
   allocations and a smaller LP relaxation;
3. the LP over ``spec + D`` is solved on a restricted master — column generation's contested
   units free with their near-best columns, the units of the broken rows free with all of
   theirs, every other unit at its column — and every column of every unit is priced at its
   duals (:func:`restricted_proof`); when that leaves more than column generation's
   tolerance, column generation runs again over ``spec + D`` from those prices. Either way the
   bound is the Lagrangian bound of ``spec + D``,

       L_D(y, w) = Σ_k max_{j∈k} (c − Aᵀy − Dᵀw)_j + Σ_aux … + Σ_r h_r(y_r) + Σ_i w_i d_i,

   with every column of every unit priced — a bound on every allocation of ``spec + D``,
   hence on every integer allocation of ``spec``, for *any* prices, whether or not the
   rounds converged (:mod:`ruimteverdeling.model.decompose`). Its reduced costs satisfy
   ``c·x ≤ L_D + Σ_j col_dual_j x_j`` for every integer allocation, as reduced-cost fixing
   needs, and its duals price the derived rows too in the whole-cell knapsack bound.

Measured on the 200 k-cell area (250 m, seed 1, ``benchmarks/peers.yaml``): the ten violated
rows are mixed-integer roundings of the deep-polder water-storage shares (a share of a polder
of a few cells becomes whole cells, or a shortfall charged at its true price); the restricted
master (20,417 units, 50,412 columns) and its pricing prove the strengthened LP, 575,927.2 →
575,923.7, in 1.5 s, where a second column generation took 23 s (loaded); the candidates take
5 s. The whole-cell knapsack bound under its duals falls from 575,921.0 to 575,917.6.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ruimteverdeling.model import decompose
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import decision_gap
from ruimteverdeling.model.spec import ModelSpec

MAX_BLOCK_ROWS = 1_000
"""Coupling blocks with more rows than this derive no candidates (pair rows: see above)."""
MAX_ROW_NNZ = 2_000_000
"""Rows with more entries derive no candidates (a derived row is as dense as its source)."""
ROUNDS = 2
"""Rounds of adding violated rows and pricing again."""
BLOCK = "strengthen"
"""Name of the block of derived rows."""
FALLBACK_MIN_SECONDS = 5.0
"""Column generation over the strengthened model starts only with this many seconds left
before the deadline (with fewer it returns no point that meets every row)."""


def strengthened(spec: ModelSpec, x: np.ndarray, y: np.ndarray, col_dual: np.ndarray,
                 options: SolverOptions, backend: Any, say: Any, deadline: float
                 ) -> tuple[ModelSpec, dict[str, Any] | None, dict[str, Any]]:
    """``spec`` with the derived rows that ``x`` (column generation's point, with coupling
    prices ``y`` and reduced costs ``col_dual``) violates, and the LP over it, a few rounds:
    first over a restricted master (:func:`restricted_proof`), else by column generation
    started from the coupling prices;
    ``(spec, None, info)`` when no candidate is violated or no round finished. The result's
    ``bound`` is a bound on every integer allocation of ``spec`` (see the module docstring);
    its ``row_dual`` holds the assignment duals, then the coupling duals of ``spec``'s rows
    and of the derived rows, in the returned model's row order."""
    t0 = time.perf_counter()
    if deadline - t0 < FALLBACK_MIN_SECONDS:
        return spec, None, {"skipped": "time limit"}
    small = replace(spec, coupling=[b for b in spec.coupling if b.n_rows <= MAX_BLOCK_ROWS])
    cands = st.candidates(small, MAX_ROW_NNZ)
    info: dict[str, Any] = {"candidates": cands.n_rows,
                            "generate_seconds": round(time.perf_counter() - t0, 3),
                            "rounds": []}
    work, out = spec, None
    prices = np.asarray(y, float)
    added: list[Any] = []
    for _ in range(ROUNDS):
        if time.perf_counter() > deadline - 1.0:
            break
        viol = cands.violated(x[: spec.n_cols])
        if not viol.size:
            break
        block = cands.block(viol)
        cands = cands.take(viol)
        added.append(block)
        trial = spec.with_rows(st.stack_rows(added, BLOCK))
        prices = np.concatenate([prices, np.zeros(viol.size)])
        t1 = time.perf_counter()
        res = restricted_proof(trial, x, col_dual, options, backend, deadline)
        how = "restricted master"
        if (res is None or not res["converged"]) and \
                deadline - time.perf_counter() > FALLBACK_MIN_SECONDS:
            if res is not None:  # its prices are a better start
                prices = np.asarray(res["y"], float)
            res = decompose.lp(trial, options, backend, lambda msg: None, deadline,
                               y_init=prices, final_deadline=deadline)
            how = "column generation"
        if res is None:
            break
        info["rounds"].append({"rows": int(viol.size), "bound": float(res["bound"]),
                               "converged": bool(res["converged"]), "proof": how,
                               "seconds": round(time.perf_counter() - t1, 3)})
        if not np.isfinite(res["bound"]) or trial.violations(res["x"][: trial.n_cols]):
            break  # (out of time before a point that meets every row: nothing proven)
        work, out = trial, res
        prices = np.asarray(res["y"], float)
        x = res["x"]
        col_dual = res["col_dual"]
    info["seconds"] = round(time.perf_counter() - t0, 3)
    if out is not None:
        say(f"strengthened: {work.n_rows - spec.n_rows} derived rows, Lagrangian bound "
            f"{out['bound']:,.4f} ({time.perf_counter() - t0:.1f} s)")
    return work, out, info


def restricted_proof(spec: ModelSpec, x: np.ndarray, col_dual: np.ndarray,
                     options: SolverOptions, backend: Any, deadline: float
                     ) -> dict[str, Any] | None:
    """The LP of ``spec`` over a restricted master, with the full pricing as its proof.

    The master frees the units of ``x`` (a point of the model without the newest rows) that
    are fractional, that have a column in a row ``x`` breaks, or whose two best columns lie
    closest under the reduced costs ``col_dual`` (as many as column generation's first
    restricted LP frees), each with the columns within that margin of its best; every other
    unit keeps its column of ``x``. HiGHS solves that LP; with its coupling duals ``y'``
    every column of every unit is priced and ``L(y')`` — a bound on every allocation of
    ``spec`` for any prices (:class:`~ruimteverdeling.model.decompose.Pricing`) — is the
    bound. ``converged`` when it lies within column generation's tolerance of the master's
    optimum (then the master's point is an optimal LP point of the whole model to that
    tolerance). None when the master is infeasible or unsolved."""
    n_units, n_x = spec.n_units, spec.n_x
    unit = spec.col_unit
    d = np.asarray(col_dual[:n_x], float)
    # per unit the best reduced cost of a column other than its best: −(the margin)
    pricing = decompose.Pricing(spec)
    best, _, second = pricing.best(d)
    delta, free = decompose.contested(best - second, options)
    xs = x[:n_x]
    free[unit[(xs > 1e-9) & (xs < 1 - 1e-9)]] = True
    in_broken = np.zeros(n_units, bool)  # units with every column kept
    for b in spec.coupling:  # the units of every row ``x`` breaks (the newest rows)
        act = b.A @ x[: spec.n_cols]
        broken = np.flatnonzero((act < b.lower - 1e-6) | (act > b.upper + 1e-6))
        if broken.size:
            cols = b.A[broken].indices
            in_broken[unit[cols[cols < n_x]]] = True
    free |= in_broken
    keep = (d >= np.repeat(best, pricing.sizes) - max(delta, 0.0)) | (xs > 1e-9)
    x_fix = np.zeros(spec.n_cols)
    x_fix[:n_x] = np.rint(np.clip(xs, 0.0, 1.0))
    sub, cols = spec.restrict(free, x_fix,
                              np.concatenate([keep | in_broken[unit],
                                              np.ones(spec.n_cols - n_x, bool)]))
    left = deadline - time.perf_counter()
    if left <= 1.0:
        return None
    out = backend.lp(sub, options, left, want_basis=False)
    if out.status != "optimal" or out.x is None or out.row_dual is None or \
            out.objective is None:
        return None
    m = pricing.m
    y_new = pricing.clamp(np.asarray(out.row_dual[sub.n_units:sub.n_units + m], float))
    y_new = pricing.dual_feasible(y_new)
    r = pricing.reduced(y_new)
    bound = pricing.bound(y_new, r)
    x_new = x_fix.copy()
    x_new[cols] = out.x[: cols.size]
    z = spec.objective_value(x_new)
    best_b = pricing.best(r)[0]
    r[:n_x] -= np.repeat(best_b, pricing.sizes)
    tolerance = max(options.decompose_lp_gap, 0.25 * options.mip_rel_gap)
    converged = bool(np.isfinite(bound)) and \
        decision_gap(z, max(bound, z), spec.status_quo_value) <= tolerance
    return {"x": x_new, "objective": z, "bound": bound,
            "row_dual": np.concatenate([best_b, y_new]), "col_dual": r, "y": y_new,
            "converged": converged, "details": {"free_units": int(free.sum()),
                                                "columns": int(sub.n_x)}}
