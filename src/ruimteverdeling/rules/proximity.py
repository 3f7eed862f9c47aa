"""Housing close to stations as a share (the term form is a ``cost`` rule with a benefit).

For the new homes (or hectares) q(c, u) of the pairs that count, at least a share s must lie
within distance R of the layer's features (d(c) from a ``distance`` layer):

    Σ_c Σ_u (1[d(c) ≤ R] − s) · q(c, u) · x[c,u] ≥ 0

One row, separable over cells, so it prices and rescales like a target; soft with a
``penalty`` per home (or hectare) missing.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks
from ruimteverdeling.rules.base import PairRows
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario import ProximityShareRule


def check(rule: ProximityShareRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    problems = checks.target_use(rule.use, f"{field}.use", ctx)
    problems += checks.layer_where(rule.layer, None, field, ctx)
    if rule.quantity == "homes" and ctx.scenario.housing_density is None:
        problems.append(Problem(ctx.file, f"{field}.quantity",
                                "counting homes needs `housing_density:` in the scenario",
                                "add `housing_density:` or use `quantity: area`"))
    return problems


def pair_rows(rule: ProximityShareRule, ctx: Context) -> PairRows:
    d = ctx.layer_values(rule.layer, ctx.land_cells).astype(float)
    near = np.where(np.isnan(d), False, d <= rule.within_m)
    weight = near.astype(float) - rule.min_share
    p = ctx.provides(rule.use)
    cur = ctx.land_use_idx
    dens = ctx.housing_density() if rule.quantity == "homes" else \
        np.ones(ctx.land_cells.size)
    a = ctx.cell_ha

    def fn(li: np.ndarray, ui: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = a * dens[li] * np.maximum(0.0, p[ui] - p[cur[li]])  # new homes of the pair
        v = weight[li] * q
        return np.where(v != 0, 0, -1), v

    return PairRows(f"rule:{rule.id}", "rule", rule.id, ["national"], fn, np.zeros(1),
                    np.full(1, np.inf), penalty=rule.penalty,
                    meta={"status": rule.status, "source": rule.source.short(),
                          "field": "rules", "file": ctx.file, "unit": rule.quantity})
