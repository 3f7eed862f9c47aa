"""Cost surfaces: a cost (or benefit) per hectare for some uses in a zone, an objective term.

For the pair (c, u):

    k(c, u) = per_ha · a_c · v(c) · g(u) · [c ∈ Z] · [u ∈ V] · [on = any or u ≠ e_c]

with ``Z`` the ``zone`` (everywhere if absent), ``V`` the ``uses`` and every combined use
containing one of them (every allocatable use if absent), ``v(c) = Σ_k weight_k ·
f_k(layer_k[c])`` over the ``value`` terms (1 when there are none; the terms of
:func:`~ruimteverdeling.rules.suitability.evaluate_term`, so a mask term counts a cell without
data as outside the mask), and ``g(u) = 1``, the use's sealed share (``scale_by: sealing``) or
``min(lifetime_u, horizon) / horizon`` (``scale_by: lifetime``). The term adds
``Σ_c Σ_u k(c, u) · x[c,u]`` as a cost (or, with ``sense: benefit``, a benefit).

This one shape covers the water-and-soil costs (flood-prone, subsiding and soft-soil locations
for built uses; sealing of infiltration areas), the future-cost term of *niet afwentelen*
(flood depth in 2100 and subsidence scaled by the use's lifetime), heritage and landscape
change costs (*gebiedskenmerken centraal*), and benefits such as building near stations
(``sense: benefit``). Rules with the same ``term`` add up into one named objective term.
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
from ruimteverdeling.rules.suitability import evaluate_term
from ruimteverdeling.scenario.schema import (
    Amount,
    Coefficient,
    RuleBase,
    SuitabilityTerm,
    Zone,
)


class CostRule(RuleBase):
    """A cost (or benefit) per hectare in a zone, for some uses (see ``rules.cost``).

    coefficient(c, u) = per_ha · v(c) · g(u) · a_c  for c in ``zone`` (everywhere if absent),
    u in ``uses`` or a combination containing one of them (all allocatable uses if absent),
    and — with ``on: new`` — u ≠ current use;
    v(c) = Σ weight·f(layer) over ``value`` (1 if empty); g(u) = 1, the use's sealed share
    (``scale_by: sealing``) or min(lifetime, horizon)/horizon (``scale_by: lifetime``).
    Rules with the same ``term`` add up into one named objective term.
    """

    type: Literal["cost"] = "cost"
    term: str | None = None
    sense: Literal["cost", "benefit"] = "cost"
    zone: Zone | None = None
    value: list[SuitabilityTerm] = Field(default_factory=list)
    per_ha: Coefficient = Field(default=1.0, ge=0)
    uses: list[str] | None = None
    on: Literal["new", "any"] = "new"
    scale_by: Literal["none", "sealing", "lifetime"] = "none"
    horizon_years: Amount = Field(default=75.0, gt=0)


def check(rule: CostRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    return (checks.zone(rule.zone, f"{field}.zone", ctx)
            + checks.value_terms(rule.value, f"{field}.value", ctx)
            + checks.uses(rule.uses, f"{field}.uses", ctx))


def compile(rule: CostRule, ctx: Context) -> Contribution:
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
    cv = coef * v  # per land cell: the same products as coef · v[li], once per cell
    cur = ctx.land_use_idx
    new_only = rule.on == "new"

    def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
        out = cv.take(li)
        out *= g.take(ui)
        if new_only:
            out[ui == cur.take(li)] = 0.0
        return out

    return Contribution(terms=[PairTerm(rule.term or rule.id, rule.sense, fn, "points",
                                        rule.description or f"{rule.sense} rule {rule.id}",
                                        rule.id)])


FAMILY = RuleFamily("cost", CostRule, check, compile, reporting.term_rows)
