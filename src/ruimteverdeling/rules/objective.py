"""Objective terms of the core model.

``suitability`` (benefit)
    Σ_c Σ_u a_c · S[c,u] · x[c,u] — see :mod:`ruimteverdeling.rules.suitability`.
``transition`` (cost)
    Σ_c Σ_{u ≠ e_c} a_c · T[e_c, u] · x[c,u] with ``T`` the scenario's transition-cost matrix
    (``default`` for pairs it does not list, a row's ``"*"`` for the other uses of that row;
    keeping the current use costs nothing).

Both are evaluated for every domain cell; for pinned cells (one allowed use) the value is
added to the term's constant, so that the objective counts the whole domain.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.errors import Problem, did_you_mean
from ruimteverdeling.rules import suitability
from ruimteverdeling.rules.base import PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario.schema import Scenario, TransitionCosts


def transition_matrix(tc: TransitionCosts, ctx: Context) -> np.ndarray:
    """T[i, j]: cost per ha from catalogue use i to allocatable use j (0 on the diagonal)."""
    uses = list(ctx.catalogue)
    alloc = ctx.alloc_ids
    T = np.full((len(uses), len(alloc)), float(tc.default))
    index = {u.id: i for i, u in enumerate(uses)}
    for src, row in tc.matrix.items():
        if "*" in row:
            T[index[src], :] = row["*"]
        for dst, cost in row.items():
            if dst != "*":
                T[index[src], alloc.index(dst)] = cost
    for j, aid in enumerate(alloc):
        T[index[aid], j] = 0.0
    return T


def check_transitions(tc: TransitionCosts, ctx: Context) -> list[Problem]:
    problems = []
    ids = ctx.catalogue.ids
    for src, row in tc.matrix.items():
        if src not in ids:
            problems.append(Problem(ctx.file, f"transition_costs.matrix.{src}",
                                    f"unknown use '{src}'", did_you_mean(src, ids)))
        for dst in row:
            if dst != "*" and dst not in ctx.alloc_ids:
                problems.append(Problem(ctx.file, f"transition_costs.matrix.{src}.{dst}",
                                        f"unknown allocatable use '{dst}'",
                                        did_you_mean(dst, ctx.alloc_ids)))
    return problems


def core_terms(scenario: Scenario, ctx: Context) -> list[PairTerm]:
    """The ``suitability`` (benefit) and ``transition`` (cost) terms."""
    a = ctx.cell_ha
    dom = ctx.domain_cells
    S = suitability.suitability_matrix(scenario.suitability, ctx.area, dom, ctx.alloc_ids)
    dom_pos = np.full(ctx.land_cells.size, -1, np.int64)
    dom_pos[np.flatnonzero(ctx.domain)] = np.arange(dom.size)
    alloc_pos = np.full(len(ctx.uses), -1, np.int64)
    alloc_pos[ctx.alloc_idx] = np.arange(ctx.alloc_idx.size)
    T = transition_matrix(scenario.transition_costs, ctx)
    cur = ctx.land_use_idx

    # S and T are read through flat positions (``take``): numpy's two-index gather costs
    # about three times as much at national size
    S_flat = S.ravel()
    n_s = S.shape[1]
    T_flat = T.ravel()
    n_t = T.shape[1]

    def suit(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
        pos, j = dom_pos.take(li), alloc_pos.take(ui)
        if pos.min(initial=0) >= 0 and j.min(initial=0) >= 0:
            # every pair in the domain with an allocatable use (the model's columns): no
            # masks, which would copy each array again
            pos *= n_s
            pos += j
            del j
            out = S_flat.take(pos)
            out *= a
            return out
        ok = (pos >= 0) & (j >= 0)
        out = np.zeros(li.size)
        out[ok] = a * S_flat.take(pos[ok] * n_s + j[ok])
        return out

    def trans(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
        j = alloc_pos.take(ui)
        if j.min(initial=0) >= 0:
            flat = cur.take(li).astype(np.int64)
            flat *= n_t
            flat += j
            del j
            out = T_flat.take(flat)
            out *= a
            return out
        ok = j >= 0
        out = np.zeros(li.size)
        out[ok] = a * T_flat.take(cur.take(li[ok]).astype(np.int64) * n_t + j[ok])
        return out

    return [
        PairTerm("suitability", "benefit", suit, "suitability·ha",
                 "how well each use fits each cell (gebiedskenmerken centraal)"),
        PairTerm("transition", "cost", trans, "points", "cost of changing a cell's current use"),
    ]
