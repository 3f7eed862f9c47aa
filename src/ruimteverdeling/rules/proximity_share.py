"""Proximity share: at least a share of the new homes close to a layer's features (stations).

For the new homes (or hectares) q(c, u) of the pairs that count, at least a share s must lie
within distance R of the layer's features (d(c) from a ``distance`` layer):

    Σ_c Σ_u (1[d(c) ≤ R] − s) · q(c, u) · x[c,u] ≥ 0

with q(c, u) = a_c · d_c · max(0, p(u, T) − p(e_c, T)) for ``quantity: homes`` (``d_c`` the
housing density, :mod:`ruimteverdeling.domain.density`) and without ``d_c`` for ``area``.
One row, separable over cells, so it prices and rescales like a target; soft with a
``penalty`` per home (or hectare) missing. Cells in the ``exclude`` zone (decided locations,
whose homes are not the plan's choice) count neither way: their weight is 0, so a decided
location far from a station does not make the plan build extra homes near one. (The term
form — a benefit per hectare near stations — is a ``cost`` rule with ``sense: benefit``.)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting
from ruimteverdeling.rules.base import Contribution, PairRows
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Coefficient, Distance, RuleBase, Zone


class ProximityShareRule(RuleBase):
    """At least ``min_share`` of the new ``use`` lies within ``within_m`` of a layer's features.

    Row: Σ_c (1[d(c) ≤ within_m] − min_share) · q(c,u) · x[c,u] ≥ 0, with q the homes (or
    hectares) of the pair; soft with ``penalty`` per unit of q missing.
    """

    type: Literal["proximity_share"] = "proximity_share"
    use: str = "housing"
    quantity: Literal["homes", "area"] = "homes"
    layer: str = "station_distance"
    within_m: Distance = Field(gt=0)
    min_share: float = Field(ge=0, le=1)
    penalty: Coefficient | None = Field(default=None, gt=0)
    exclude: Zone | None = None


def check(rule: ProximityShareRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    problems = checks.target_use(rule.use, f"{field}.use", ctx)
    problems += checks.layer_where(rule.layer, None, field, ctx)
    problems += checks.zone(rule.exclude, f"{field}.exclude", ctx)
    if rule.quantity == "homes" and ctx.scenario.housing_density is None:
        problems.append(Problem(ctx.file, f"{field}.quantity",
                                "counting homes needs `housing_density:` in the scenario",
                                "add `housing_density:` or use `quantity: area`"))
    return problems


def compile(rule: ProximityShareRule, ctx: Context) -> Contribution:
    d = ctx.layer_values(rule.layer, ctx.land_cells).astype(float)
    near = np.where(np.isnan(d), False, d <= rule.within_m)
    weight = near.astype(float) - rule.min_share
    if rule.exclude is not None:
        weight[ctx.zone(rule.exclude)] = 0.0
    p = ctx.provides(rule.use)
    cur = ctx.land_use_idx
    dens = ctx.housing_density() if rule.quantity == "homes" else \
        np.ones(ctx.land_cells.size)
    a = ctx.cell_ha

    def fn(li: np.ndarray, ui: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = a * dens[li] * np.maximum(0.0, p[ui] - p[cur[li]])  # new homes of the pair
        v = weight[li] * q
        return np.where(v != 0, 0, -1), v

    return Contribution(rows=[PairRows(
        f"rule:{rule.id}", "rule", rule.id, ["national"], fn, np.zeros(1),
        np.full(1, np.inf), penalty=rule.penalty,
        meta={"status": rule.status, "source": rule.source.short(),
              "field": "rules", "file": ctx.file, "unit": rule.quantity})])


FAMILY = RuleFamily("proximity_share", ProximityShareRule, check, compile,
                    reporting.block_rows)
