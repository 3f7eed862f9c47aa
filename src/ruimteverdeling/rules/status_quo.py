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

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ruimteverdeling.rules.compile import CompiledModel


def status_quo_value(cm: CompiledModel) -> float:
    """``z_sq`` of a compiled model (see the module docstring)."""
    ctx = cm.ctx
    dom = np.flatnonzero(ctx.domain)
    value = float(cm.pair_objective(dom, ctx.land_use_idx[dom]).sum()) if dom.size else 0.0
    weights = cm.scenario.objective.weights
    for _col, aux, level in _levels(cm):
        value -= weights.get(aux.term, 1.0) * aux.cost * level
    return value


def status_quo_columns(cm: CompiledModel) -> np.ndarray | None:
    """The status quo as a point ``x_sq`` of the model's columns, so that any objective
    ``d·x + d₀`` over them has the status-quo value ``d·x_sq + d₀`` (the anchor of the decision
    gap of a solve whose objective is not the scenario's: a Pareto point's, an alternative's).

    ``x_sq`` is 1 on the column of every unit's current use and 0 on its other columns; a
    minimax level takes ``v_sq`` (see the module docstring); every other auxiliary column
    (the slacks of soft targets and rules, whose penalties the status quo does not count) 0.
    Pinned cells are not columns: they sit in the objective's constant at their pinned use,
    so against the scenario's objective ``obj·x_sq + offset`` differs from
    :func:`status_quo_value` by the pinned cells' change alone. None when some unit has no
    column for its current use (a rule closes it there): the status quo is then no point of
    the model and an objective given by its columns does not price it."""
    spec = cm.spec
    land, use = cm.column_pairs(np.arange(spec.n_x))
    keep = use == cm.ctx.land_use_idx[land]
    if (np.bincount(spec.col_unit[keep], minlength=spec.n_units) != 1).any():
        return None
    x = np.zeros(spec.n_cols)
    x[: spec.n_x][keep] = 1.0
    for col, _aux, level in _levels(cm):
        x[col] = level
    return x


def _levels(cm: CompiledModel) -> list[tuple[int, Any, float]]:
    """(column, aux, ``v_sq``) of every costed minimax level (see the module docstring)."""
    ctx = cm.ctx
    every = np.arange(ctx.land_cells.size)
    out = []
    for info in cm.blocks.values():
        pr = info.rows
        if not pr.aux:
            continue
        rows, vals = pr.fn(every, ctx.land_use_idx)
        ok = rows >= 0
        load = np.bincount(rows[ok], weights=vals[ok], minlength=len(pr.labels))
        for aux, col in zip(pr.aux, info.aux_cols, strict=True):
            if not aux.cost or not aux.term:
                continue
            out.append((col, aux,
                        max(aux.lb, _smallest_level(aux.row_coef, load, pr.lower, pr.upper))))
    return out


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
