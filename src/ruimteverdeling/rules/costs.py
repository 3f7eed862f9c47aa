"""Cost surfaces and ladders: objective terms per (cell, use).

Cost rule — for the pair (c, u):

    k(c, u) = per_ha · a_c · v(c) · g(u) · [c ∈ Z] · [u ∈ V] · [on = any or u ≠ e_c]

with ``v(c) = Σ_k weight_k · f_k(layer_k[c])`` (1 when no ``value`` terms; the terms of
:func:`~ruimteverdeling.rules.suitability.evaluate_term`, so a mask term counts a cell without
data as outside the mask), ``g(u) = 1``,
the use's sealed share (``scale_by: sealing``) or ``min(lifetime_u, horizon) / horizon``
(``scale_by: lifetime``). This one shape covers the water-and-soil costs (flood-prone,
subsiding and soft-soil locations for built uses; sealing of infiltration areas), the
future-cost term of *niet afwentelen* (flood depth in 2100 and subsidence scaled by the use's
lifetime), heritage and landscape change costs (*gebiedskenmerken centraal*), and benefits
such as building near stations (``sense: benefit``). Rules with the same ``term`` share one
named objective term.

Ladder rule (voorkeursvolgorde) — every cell belongs to the first tier it matches
(``otherwise`` if none) and pays that tier's cost per hectare:

* ``mode: to`` (zonneladder): k(c, u) = cost(tier(c)) · a_c · [u ∈ uses] · [u ≠ e_c]
* ``mode: from`` (agricultural-land ladder): k(c, u) = cost(tier(c)) · a_c ·
  max(0, p(e_c, T) − p(u, T)) with T = ``uses[0]``: the share of the use lost.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks
from ruimteverdeling.rules.base import PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.suitability import evaluate_term
from ruimteverdeling.scenario import CostRule, LadderRule


def check(rule: CostRule | LadderRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    if isinstance(rule, LadderRule):
        problems = checks.uses(rule.uses, f"{field}.uses", ctx, allocatable=False)
        for k, tier in enumerate(rule.tiers):
            problems += checks.zone(tier.zone, f"{field}.tiers[{k}].zone", ctx)
            problems += checks.uses(tier.current, f"{field}.tiers[{k}].current", ctx,
                                    allocatable=False)
            if tier.zone is None and tier.current is None:
                problems.append(Problem(ctx.file, f"{field}.tiers[{k}]",
                                        "a tier needs `zone` and/or `current`",
                                        "say which cells the tier covers"))
        return problems
    return (checks.zone(rule.zone, f"{field}.zone", ctx)
            + checks.value_terms(rule.value, f"{field}.value", ctx)
            + checks.uses(rule.uses, f"{field}.uses", ctx))


def term_name(rule: CostRule | LadderRule) -> str:
    return rule.term or rule.id


def cost_term(rule: CostRule, ctx: Context) -> PairTerm:
    land = ctx.land_cells
    v = np.full(land.size, 1.0)
    if rule.value:
        v = np.zeros(land.size)
        for t in rule.value:
            v += t.weight * evaluate_term(t, ctx.area.layer(t.layer), land)
    if rule.zone is not None:
        v = np.where(ctx.zone(rule.zone, cells=land), v, 0.0)
    g = np.ones(len(ctx.uses))
    if rule.scale_by == "sealing":
        g = ctx.attribute("sealing")
    elif rule.scale_by == "lifetime":
        g = np.minimum(ctx.attribute("lifetime_years"), rule.horizon_years) / rule.horizon_years
    g = g * ctx.uses_mask(rule.uses, containing=True)
    coef = rule.per_ha * ctx.cell_ha
    cur = ctx.land_use_idx
    new_only = rule.on == "new"

    def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
        out = coef * v[li] * g[ui]
        if new_only:
            out = np.where(ui == cur[li], 0.0, out)
        return out

    return PairTerm(term_name(rule), rule.sense, fn, "points",
                    rule.description or f"{rule.sense} rule {rule.id}", rule.id)


def ladder_tiers(rule: LadderRule, ctx: Context) -> np.ndarray:
    """Cost per hectare of every land cell's tier."""
    land = ctx.land_cells
    cost = np.full(land.size, rule.otherwise, float)
    assigned = np.zeros(land.size, bool)
    for tier in rule.tiers:
        match = np.ones(land.size, bool)
        if tier.zone is not None:
            match &= ctx.zone(tier.zone, cells=land)
        if tier.current is not None:
            match &= ctx.uses_mask(tier.current, containing=False)[ctx.land_use_idx]
        new = match & ~assigned
        cost[new] = tier.cost
        assigned |= match
    return cost


def ladder_term(rule: LadderRule, ctx: Context) -> PairTerm:
    tier_cost = ladder_tiers(rule, ctx) * ctx.cell_ha
    cur = ctx.land_use_idx
    if rule.mode == "to":
        target = ctx.uses_mask(rule.uses, containing=True)

        def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
            return np.where(target[ui] & (ui != cur[li]), tier_cost[li], 0.0)
    else:
        p = ctx.provides(rule.uses[0])

        def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
            return tier_cost[li] * np.maximum(0.0, p[cur[li]] - p[ui])

    return PairTerm(term_name(rule), "cost", fn, "points",
                    rule.description or f"ladder {rule.id}", rule.id)
