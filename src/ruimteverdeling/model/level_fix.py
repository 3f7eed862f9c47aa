"""An incumbent for a minimax level from its whole-cell knapsack bound: fix the level where
that bound is largest, then repair.

The whole-cell knapsack bound of a level (:func:`ruimteverdeling.model.strengthen.
knapsack_level_curve`) is a function ``K(v)`` of the level ``v``: with the LP's duals on the
other rows, each region ``r`` is an exact multiple-choice knapsack of its cells' burdens under
the capacity ``c_r v + u_r``. Its maximiser ``v*`` is the level at which whole cells fill the
regions best. The LP relaxation, in contrast, fills every binding region to its own level
``v_LP`` with a fraction of a cell; rounding that vertex leaves the most burdened region above
``v_LP`` and pays ``|cost_v|`` per unit of level for it.

Fixing the level column at ``v*`` (``lb = ub = v*``) turns every region row into a plain
capacity row ``Σ_j a_j x_j ≤ c_r v* + u_r``. Its LP vertex again has few fractional units (at
most the number of binding coupling rows), and rounding a fractional unit to a lighter column
keeps every region row; the repair MIP over those units and their near-ties then finds an
allocation whose level is at most ``v*`` and whose objective is close to ``K(v*)``. The
repair's neighbourhood holds, besides the fractional units and their near-ties, every unit
of the level's regions whose column in the knapsack's own packing at ``v*``
(:func:`~ruimteverdeling.model.strengthen.knapsack_fill`) differs from the rounded vertex:
the whole cells the bound ``K(v*)`` moves to fill each region, which the LP's reduced costs
need not rank among the near-ties. Any
allocation found this way is feasible for the model with the level free (the level is one of
its values), so it is a valid incumbent; the bound is not touched.

Measured on the peers benchmark at 50 k cells (250 m, loaded): the rounded LP vertex
repaired with the level free reached 139,648.99; with the level fixed at ``v*`` 139,654.09
in 1.5 s, and 139,654.36 with the knapsack's 328 moved units freed too (the sub-MIP over
828 units then proven optimal, 3 s), against a knapsack bound of 139,655.80 (decision
tolerance 1.23). A neighbourhood of 3,000 units without them reached the same 139,654.36
only after 88 s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BISECTIONS = 60
"""Halvings of the level interval when locating the knapsack bound's maximiser."""


def curve_argmax(curve: Callable[[float, float], float], lo: float, hi: float,
                 around: float) -> float | None:
    """The level ``v`` in ``[lo, hi]`` at which ``curve`` (the largest value of a function
    over an interval, as :func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`
    returns) is largest, to :data:`BISECTIONS` halvings: of the two halves of the interval the
    one with the larger supremum is kept (the left one on ties). Returns the right end of the
    last interval: the knapsack tables only gain capacity as the level rises, so a packing
    that fits at the maximiser fits there. An infinite ``hi`` is first replaced by a finite
    end beyond which the curve is no larger, doubling from ``around`` (the LP's level). None
    where the curve has no finite value."""
    if not np.isfinite(lo):
        return None
    b = hi
    if not np.isfinite(b):
        b = max(lo, abs(around), 1e-9) * 2.0
        for _ in range(60):
            if curve(b, np.inf) < curve(lo, b):
                break
            b *= 2.0
        else:
            return None
    a = lo
    if not np.isfinite(curve(a, b)):
        return None
    for _ in range(BISECTIONS):
        m = 0.5 * (a + b)
        if curve(a, m) >= curve(m, b):
            b = m
        else:
            a = m
    return float(b)


def fixed_level(aux_lb: np.ndarray, aux_ub: np.ndarray, j: int, v: float
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """Auxiliary bounds with auxiliary ``j`` (the level) fixed at ``v``; None when ``v`` lies
    outside its bounds."""
    if not aux_lb[j] - 1e-12 <= v <= aux_ub[j] + 1e-12:
        return None
    lb, ub = aux_lb.copy(), aux_ub.copy()
    lb[j] = ub[j] = min(max(v, aux_lb[j]), aux_ub[j])
    return lb, ub
