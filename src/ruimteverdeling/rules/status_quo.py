"""The value of the status quo: the objective if every changeable cell kept its current use.

It anchors the *decision gap* of a solve (``model/outcomes.py``): the gap relative to
``z − z_sq``, the value of what the allocation changes, rather than to ``z``, which is mostly
the value of land that keeps its use.

With ``D`` the domain (units and pinned cells), ``e_c`` the current use of cell ``c`` and
``f_t`` the pair functions of objective term ``t`` (sign ``s_t``, weight ``w_t``),

    z_sq = Σ_t s_t w_t Σ_{c∈D} f_t(c, e_c)  −  Σ_v w_v · cost_v · v_sq

* every pair term counts (suitability, transition — zero for keeping a use —, cost rules,
  ladders, future cost, softened exclusions), also where a rule closes ``e_c`` in ``c``: the
  functions price any pair, allowed or not;
* every level ``v`` of a minimax row block (a fairness rule's most burdened region) takes its
  status-quo value: the smallest ``v ≥ lb`` that its rows allow at the status-quo loads,
  ``v_sq = max(lb, max_r (load_r − hi_r) / |c_r|)`` for the rows ``load_r + c_r v ≤ hi_r``
  (``c_r < 0``) — zero for burdens counted relative to the current use;
* the penalties of soft targets and rules (``shortfall:*``) do **not** count. The status quo
  misses most targets by far (it builds no homes and no wind parks), so its penalties would
  dwarf every other term and make ``|z − z_sq|`` so large that any gap relative to it would
  again say nothing about the decisions; the status quo here is a reference point for the
  value of the land-use change, not a candidate plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ruimteverdeling.rules.compile import CompiledModel


def status_quo_value(cm: CompiledModel) -> float:
    """``z_sq`` of a compiled model (see the module docstring)."""
    ctx = cm.ctx
    dom = np.flatnonzero(ctx.domain)
    value = float(cm.pair_objective(dom, ctx.land_use_idx[dom]).sum()) if dom.size else 0.0
    weights = cm.scenario.objective.weights
    every = np.arange(ctx.land_cells.size)
    for info in cm.blocks.values():
        pr = info.rows
        if not pr.aux:
            continue
        rows, vals = pr.fn(every, ctx.land_use_idx)
        ok = rows >= 0
        load = np.bincount(rows[ok], weights=vals[ok], minlength=len(pr.labels))
        for aux in pr.aux:
            if not aux.cost or not aux.term:
                continue
            level = max(aux.lb, _smallest_level(aux.row_coef, load, pr.lower, pr.upper))
            value -= weights.get(aux.term, 1.0) * aux.cost * level
    return value


def _smallest_level(coef: np.ndarray, load: np.ndarray, lower: np.ndarray,
                    upper: np.ndarray) -> float:
    """The smallest v with ``lower ≤ load + coef·v ≤ upper`` on every row that holds v
    (−inf if no row bounds it from below)."""
    need = [-np.inf]
    neg = (coef < 0) & np.isfinite(upper)
    need += list((load[neg] - upper[neg]) / -coef[neg])
    pos = (coef > 0) & np.isfinite(lower)
    need += list((lower[pos] - load[pos]) / coef[pos])
    return float(max(need))
