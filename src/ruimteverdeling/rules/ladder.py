"""Ladders (voorkeursvolgorde): tiered costs per hectare, an objective term.

Every cell belongs to the first tier it matches — its ``zone`` and/or a current use in
``current`` — or to ``otherwise`` if none, and pays that tier's cost per hectare:

* ``mode: to`` (the zonneladder): k(c, u) = cost(tier(c)) · a_c · [u ∈ V] · [u ≠ e_c], with
  ``V`` the ``uses`` and every combined use containing one of them — each hectare newly given
  to one of them pays;
* ``mode: from`` (the agricultural-land ladder): k(c, u) = cost(tier(c)) · a_c ·
  max(0, p(e_c, T) − p(u, T)) with T = ``uses[0]`` — the share of the use that is lost pays.

The term (``term``, default the rule's id) adds ``Σ_c Σ_u k(c, u) · x[c,u]`` as a cost.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting
from ruimteverdeling.rules.base import Contribution, PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Coefficient, RuleBase, Zone
from ruimteverdeling.strict import StrictModel


class LadderTier(StrictModel):
    """One step of a ladder: the cells in ``zone`` and/or with a current use in ``current``."""

    name: str
    zone: Zone | None = None
    current: list[str] | None = None
    cost: Coefficient = Field(ge=0)


class LadderRule(RuleBase):
    """A ladder (voorkeursvolgorde) as tiered costs (see ``rules.ladder``).

    Each cell belongs to the first tier it matches (``otherwise`` if none). ``mode: to`` (the
    zonneladder) charges the tier's cost per hectare newly given to one of ``uses``;
    ``mode: from`` (the agricultural-land ladder) charges it per hectare of ``uses`` lost,
    i.e. cost · max(0, p(current, U) − p(new, U)) with p the yield factor towards ``uses[0]``.
    """

    type: Literal["ladder"] = "ladder"
    term: str | None = None
    mode: Literal["to", "from"] = "to"
    uses: list[str]
    tiers: list[LadderTier]
    otherwise: Coefficient = Field(default=0.0, ge=0)


def check(rule: LadderRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
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


def tier_costs(rule: LadderRule, ctx: Context) -> np.ndarray:
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


def compile(rule: LadderRule, ctx: Context) -> Contribution:
    tier_cost = tier_costs(rule, ctx) * ctx.cell_ha
    cur = ctx.land_use_idx
    if rule.mode == "to":
        target = ctx.uses_mask(rule.uses, containing=True)

        def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
            return np.where(target[ui] & (ui != cur[li]), tier_cost[li], 0.0)
    else:
        p = ctx.provides(rule.uses[0])

        def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
            return tier_cost[li] * np.maximum(0.0, p[cur[li]] - p[ui])

    return Contribution(terms=[PairTerm(rule.term or rule.id, "cost", fn, "points",
                                        rule.description or f"ladder {rule.id}", rule.id)])


FAMILY = RuleFamily("ladder", LadderRule, check, compile, reporting.term_rows)
