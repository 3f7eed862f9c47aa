"""An incumbent from the level window where whole cells fit best: confine, strengthen, repair.

A minimax level ``v`` (a fairness rule's most burdened region) is where an LP vertex and
whole cells part: the LP fills every binding region to exactly ``v_LP`` with a fraction of a
cell, while an allocation of whole cells leaves its most burdened region a little above
``v_LP``. The repair MIP rounds the root LP's vertex, at ``v_LP``; the best allocations lie
at a slightly higher level, where the regions' capacities ``c_r v + u_r`` fit whole cells.

This step looks for that level and repairs there:

1. the level's range just above ``v_LP`` is cut into :data:`WINDOWS` windows
   ``W_k = [v_LP (1 + k w), v_LP (1 + (k + 1) w)]`` (``w`` = :data:`WIDTH`, and one window
   just below ``v_LP``); for each, the LP with the level confined to ``W_k`` (from the LP
   session's basis) bounds every allocation whose level lies in ``W_k`` by its optimum
   ``z_k``, and the whole-cell knapsack curve of the level (when there is one) by
   ``K(W_k)``; the window with the largest ``min(z_k, K(W_k))`` is chosen, if that exceeds
   the incumbent by more than the decision tolerance (else nothing there can beat it). The
   windows are visited by ``K(W_k)``, largest first, and the visit stops at the first whose
   ``K(W_k)`` is at most the best ``min(z, K)`` found: its LP, and every later one, cannot
   change the choice (on the demo one LP instead of five);
2. the derived rows (:func:`~ruimteverdeling.model.strengthen.candidates`) of the level's
   own blocks (:func:`level_blocks`) with the level confined to the window — each region row
   is then a knapsack row under the
   fixed capacity ``c_r b + u_r`` (``b``: the window's upper end), so its derived rows hold
   for every allocation in the window, and only there — that the window's LP vertex violates
   are added for the LPs of this step only, and the LP is solved again, up to :data:`ROUNDS`
   rounds;
3. the repair MIP runs at that vertex on the model with those rows and the level confined to
   the window; its allocation, its auxiliaries re-optimised, replaces the incumbent when it
   meets every row of the model and is better. What the repair needs of the window alone,
   not of its vertex (the solve's whole-cell knapsack fill at the window's top), is started
   by the ``ahead`` hook before the window's LPs (:data:`Ahead`; the solve runs it in a
   thread), so that it runs beside them instead of after them.

Every allocation with its level in a window is an allocation of the model (the level is only
restricted), so the incumbent stays valid; no bound is changed. The step's work is a count:
at most ``WINDOWS + 1 + ROUNDS`` LPs and one repair (itself stopped by a count), so it is
deterministic. Measured on the demo (36 k cells at 1 km, loaded): see the README. The
window's derived rows do not lower the bound there: with them the LP in the peak window
falls from 1,628,381 to 1,628,225, but the whole-cell knapsack bound under that LP's duals
rises from 1,628,193 to 1,628,219 (other prices), so the level search keeps its own. The
repair's result depends on which optimal vertex the window's LP lands on (the LP is
degenerate there), hence on the basis it starts from; the LPs run in a fixed order decided by
counts and values only, so the vertex is the same on every run. Measured on the demo (with
the repair freeing the knapsack fill's moved units too): all five windows' LPs in turn gave
1,628,152.96 from the window's repair, the peak window's LP alone 1,628,155.53.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.outcomes import abs_gap_target
from ruimteverdeling.model.spec import ModelSpec

WIDTH = 0.001
"""Width of a window, relative to the LP's level."""
WINDOWS = 4
"""Windows above the LP's level (one more just below it)."""
ROUNDS = 2
"""Rounds of derived rows at the chosen window's LP vertex. On the demo area the vertex of
the LP with the first round's 13 rows violates none of the other candidates, so the second
round costs one product of the candidates with that vertex and no LP (one round gives the
same rows, LP, allocation and bound)."""
REPAIR_UNITS_SCALE = 2
"""The window's repair frees this many times the solver option
``repair_units_per_fractional`` per fractional unit of the window's vertex: the window is
the last place the solve looks for a better allocation near the peak level, and its vertex
moves with every change to the derived rows. On the demo area 20 units per fractional unit
found 1,628,152.04, 40 found 1,628,157.26 (60: 1,628,143.13 at this vertex, 1,628,159.81 at
the vertex before the homes target rounded to its divisor)."""

REPAIR_WHOLE_GAP_AFTER = 0.5
"""From this share of its budget of interrupt checks on, the window's repair MIP also stops
at an incumbent within the whole decision tolerance of the sub-MIP's own dual bound (before
it, and in the root repair, half the tolerance). The window's allocation is not the solve's
last word (unit moves and the level search follow). On the demo area the repair's incumbent
(1,628,156.85) comes at about its 45th check, 14.4 points below its own dual bound with the
tolerance about 27, and checks 45 to 80 found nothing better; stopping on the whole
tolerance from the first check on ended a 600-unit test model's repair at check 3 with a
worse allocation (4,938.80 instead of 4,939.10)."""

Repair = Callable[[ModelSpec, Any, dict[str, Any]], np.ndarray | None]
"""``repair(model, lp, info)``: an allocation (over the original columns) near ``lp``'s vertex
of ``model``, or None; ``info`` collects what it did (and holds under ``"ahead"`` what the
``ahead`` hook of :func:`improve` started for this window, if any)."""

Ahead = Callable[[np.ndarray, np.ndarray], Any]
"""``ahead(aux_lb, aux_ub)``: work that depends on a window's auxiliary bounds alone (not on
its LP vertex), started before the chosen window's derived-row LPs so that it runs beside
them; what it returned for the chosen window reaches the repair as ``info["ahead"]``. Without
an incumbent it is started for the first window visited, before that window's LP (the
likeliest choice: on the demo area the only LP), and again only if another window is
chosen."""


def windows(v: float, lo: float, hi: float) -> list[tuple[float, float]]:
    """The windows around a level whose LP value is ``v``, clipped to ``[lo, hi]``; empty
    ones dropped."""
    edges = [v * (1 + k * WIDTH) for k in range(-1, WINDOWS + 1)]
    out = []
    for a, b in itertools.pairwise(edges):
        a, b = max(a, lo), min(b, hi)
        if a < b:
            out.append((a, b))
    return out


def level_blocks(spec: ModelSpec, col: int) -> list[Any]:
    """The coupling blocks of ``spec`` with an entry in column ``col`` (a level's own rows).

    Confining the level changes the derived rows of these blocks only: a row without the
    level's column derives the rows it derived at the root (the same coefficients and
    bounds), and the root's strengthening offered those already. On the demo area the full
    set is 163 candidates in 0.21–0.35 s, the level's block alone 65 in 0.04 s (loaded), and
    every row the window added came from that block either way."""
    out = []
    for b in spec.coupling:
        A = b.A.tocsr()
        if A.nnz and bool(np.any(A.indices == col)):
            out.append(b)
    return out


def improve(spec: ModelSpec, work: ModelSpec, levels: list[st.Level], session: Any,
            curves: dict[int, Callable[[float, float], float]], x_lp: np.ndarray,
            x_best: np.ndarray | None, objective: float, bound: float, rel_gap: float,
            deadline: float, details: dict[str, Any], seconds: dict[str, float],
            say: Callable[[str], None], repair: Repair,
            polish: Callable[[np.ndarray], np.ndarray], max_row_nnz: int | None = None,
            ahead: Ahead | None = None) -> tuple[np.ndarray | None, float]:
    """The incumbent ``x_best`` (objective ``objective``), or the repair in the best level
    window of each level (see the module docstring), whichever is better. Without an
    incumbent yet (``x_best`` None, ``objective`` −∞) every window is worth trying, and the
    result is None when the repair finds nothing.

    ``work``: the model the LP ``session`` holds (``spec`` + derived rows + level counts);
    ``curves``: each level's whole-cell knapsack curve by level column; ``x_lp``: the
    strengthened root LP's solution; ``polish``: an allocation with its auxiliaries
    re-optimised; ``max_row_nnz``: as for the root's derived rows; ``ahead``: see
    :data:`Ahead` (called for the window that is repaired before its derived rows at the
    latest, and without an incumbent for the first window visited, before its LP)."""
    if spec.n_x < 1 or session is None or not hasattr(session, "add_rows"):
        return x_best, objective
    t0 = time.perf_counter()
    found: list[dict[str, Any]] = []
    x = x_best

    def value(y: np.ndarray | None) -> float:
        return -np.inf if y is None else spec.objective_value(y)

    for lv in levels:
        if deadline - time.perf_counter() <= 1:
            _cut(details, "repair in the level's best window")
            break
        j = lv.col - work.n_x
        v = float(x_lp[lv.col])
        if not v > 0:
            continue
        curve = curves.get(lv.col)
        z_x = value(x)
        target = abs_gap_target(rel_gap, z_x if np.isfinite(z_x) else None, bound,
                                spec.status_quo_value)
        best = None
        spans = windows(v, float(work.aux_lb[j]), float(work.aux_ub[j]))
        # windows by their knapsack bound, largest first (ties: the lower window); an LP
        # only where that bound exceeds the best window's value so far
        cap = [np.inf if curve is None else float(curve(a, b)) for a, b in spans]
        solved = 0
        started: dict[int, Any] = {}  # what ``ahead`` started, by window
        for i in sorted(range(len(spans)), key=lambda k: -cap[k]):
            if best is not None and cap[i] <= best[0]:
                break
            a, b = spans[i]
            lb, ub = work.aux_lb.copy(), work.aux_ub.copy()
            lb[j], ub[j] = a, b
            if ahead is not None and x is None and not started:
                # no incumbent yet: the chosen window is repaired whatever its value, and
                # the first visited (the largest knapsack bound) is the likeliest choice, so
                # its work starts now, beside the windows' LPs
                started[i] = ahead(lb.copy(), ub.copy())
            out = session.lp(lb, ub, None, max(1.0, deadline - time.perf_counter()))
            solved += 1
            if out.status != "optimal" or out.objective is None:
                continue
            z = min(float(out.objective), cap[i])
            if best is None or z > best[0]:
                best = (z, a, b, lb, ub, out, i)
        say(f"level windows: {solved} of {len(spans)} LPs, best bound "
            f"{'none' if best is None else format(best[0], ',.4f')} "
            f"({time.perf_counter() - t0:.1f} s)")
        if best is None or best[0] <= value(x) + target:
            found.append({"level": spec.aux_names[j],
                          "window": None if best is None else [best[1], best[2]],
                          "bound": None if best is None else best[0], "repair": "skipped"})
            continue
        z_w, a, b, lb, ub, out, chosen = best
        info: dict[str, Any] = {}
        if ahead is not None:
            info["ahead"] = started[chosen] if chosen in started else ahead(lb, ub)
        # the derived rows of the model with the level confined: a region's row is then a
        # knapsack row under the capacity c_r b + u_r, and its derived rows hold in the window
        k = len(spec.aux_names)
        cands = st.candidates(replace(spec, aux_lb=lb[:k], aux_ub=ub[:k],
                                      coupling=level_blocks(spec, lv.col)), max_row_nnz)
        blocks: list[Any] = []
        for _ in range(ROUNDS):
            if out.x is None:
                break
            viol = cands.violated(out.x[: spec.n_cols])
            if not viol.size:
                break
            block = cands.block(viol)
            cands = cands.take(viol)
            session.add_rows(block, permanent=False)
            blocks.append(block)
            nxt = session.lp(lb, ub, blocks, max(1.0, deadline - time.perf_counter()))
            if nxt.status != "optimal" or nxt.x is None or nxt.col_dual is None:
                break
            out = nxt
        model = work
        if blocks:
            model = work.with_rows(st.stack_rows(blocks, st.BLOCK + ":window"))
        model = replace(model, aux_lb=lb, aux_ub=ub)
        cand = None
        if out.x is not None and out.col_dual is not None:
            cand = repair(model, out, info)
        z_cand = None
        if cand is not None:
            cand = polish(cand)
            z_cand = spec.objective_value(cand)
        for step in info.get("time_limit_cut", []):
            _cut(details, step)
        found.append({"level": spec.aux_names[j], "window": [a, b], "bound": z_w,
                      "lp": out.objective, "rows": int(sum(bk.n_rows for bk in blocks)),
                      "repair": info.get("repair_attempts"), "objective": z_cand})
        if z_cand is not None and z_cand > value(x) and \
                not spec.violations(cand):
            x = cand
    details["level_window_repair"] = found
    z = value(x)
    kept = x is not None and z > objective and not spec.violations(x)
    took = f"{time.perf_counter() - t0:.1f} s"
    if kept:
        before = "none" if not np.isfinite(objective) else f"{objective:,.4f}"
        say(f"repair in the level's best window: objective {before} -> {z:,.4f} "
            f"({took})")
        x_best, objective = x, z
    else:
        say(f"repair in the level's best window: no better allocation ({took})")
    details["level_window"] = {"objective": z, "kept": kept}
    seconds["level_window"] = time.perf_counter() - t0
    return x_best, objective


def _cut(details: dict[str, Any], step: str) -> None:
    """Record that ``step`` was cut short by the time limit (``time_limit_cut``, as the
    solve's other steps do)."""
    steps = details.setdefault("time_limit_cut", [])
    if step not in steps:
        steps.append(step)
