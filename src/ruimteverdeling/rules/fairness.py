"""Fairness (niet afwentelen): burdens spread fairly over regions.

A burden ``b`` counts, for the pair (c, u), the hectares of its use ``T`` that are

* ``new``:  a_c · max(0, p(u, T) − p(e_c, T))   (e.g. new energy or defence footprint)
* ``lost``: a_c · max(0, p(e_c, T) − p(u, T))   (e.g. agricultural land lost)

(:mod:`ruimteverdeling.domain.burdens`), and the burden of region r is
B_r = Σ_{c∈r} Σ_b w_b · burden_b(c, u) · x[c,u]; its intensity I_r = B_r / area_r. With
``mode: minimax`` a level z ≥ 0 and one row per region

    Σ_{c∈r} Σ_b w_b · burden_b(c,u) · x[c,u] − area_r · z ≤ 0

make z = max_r I_r, and the term ``fairness:<id>`` charges ``weight · A · z`` (A the study
area's hectares), so the most burdened region is pushed down. ``mode: cap`` instead bounds
every row by ``cap · area_r`` (no z). Both keep the rows separable over cells (one row per
region, each column in at most one row).

How tight the minimax is. The level z is already an explicit epigraph variable with one
row per region; no reformulation of max_r I_r in (x, z) is tighter for a single region's row.
The weakness is between regions: the LP optimum spreads the burdens so that every binding
region sits exactly at z, with a fractional cell or two per region, while whole cells move
a region's intensity in steps of ``burden/area_r``. At the optimum of the base scenario all
twelve provinces bind, and one cell of the most frequent burden size moves the term by
``weight · A · burden / area_r`` ≈ 410–1,180 points on the demo area (1 km cells) against a
decision tolerance of ≈ 26, and ≈ 25–70 against ≈ 0.1 on the 3 k-cell area
(``benchmarks/small.py --levels``). The solver therefore bounds the term by whole cells:
with the LP's duals on every other row, each region is an exact knapsack of its cells'
burdens under ``area_r · z``, maximised over z
(:func:`ruimteverdeling.model.strengthen.knapsack_level_bound`; on the demo area 120 points
below the LP bound with derived rows), besides integer counts of whole cells per region and a
branch and bound on the level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ruimteverdeling.domain.burdens import burden_ha
from ruimteverdeling.domain.regions import region_area_ha
from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting
from ruimteverdeling.rules.base import Aux, Contribution, PairRows
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Amount, Coefficient, RuleBase
from ruimteverdeling.strict import StrictModel, invalid


class Burden(StrictModel):
    """A burden counted per region: hectares of ``use`` that are ``new`` or ``lost``."""

    use: str
    basis: Literal["new", "lost"] = "new"
    weight: Coefficient = Field(default=1.0, ge=0)


class FairnessRule(RuleBase):
    """Spread burdens fairly over regions (niet afwentelen; see ``rules.fairness``).

    The burden intensity of region r is I_r = Σ_c∈r Σ_b w_b·burden_b(c,u)·x[c,u] / area_r
    (hectares of burden per hectare of region). ``mode: minimax`` adds a level z ≥ I_r for
    every region and charges ``weight`` · z · (study-area hectares); ``mode: cap`` requires
    I_r ≤ ``cap`` in every region.
    """

    type: Literal["fairness"] = "fairness"
    regions: str | None = None
    burdens: list[Burden]
    mode: Literal["minimax", "cap"] = "minimax"
    weight: Coefficient = Field(default=1.0, ge=0)
    cap: Amount | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _cap(self) -> FairnessRule:
        if self.mode == "cap" and self.cap is None:
            raise invalid("`mode: cap` needs `cap`",
                          "add e.g. `cap: 0.05` (at most 5 % of each region burdened)")
        return self


def check(rule: FairnessRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    problems = []
    for k, b in enumerate(rule.burdens):
        problems += checks.target_use(b.use, f"{field}.burdens[{k}].use", ctx)
    if rule.regions is not None:
        if not ctx.area.has_layer(rule.regions):
            problems.append(checks.missing_layer(rule.regions, f"{field}.regions", ctx.file,
                                                 ctx.area))
        elif ctx.area.layer(rule.regions).kind != "regions":
            problems.append(Problem(ctx.file, f"{field}.regions",
                                    f"layer '{rule.regions}' is not a regions layer",
                                    "name a layer of kind `regions`"))
    return problems


def burden_fn(burdens: list[Burden], ctx: Context
              ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """fn(land, use) -> burden hectares of the pair (Σ_b w_b · burden_b)."""
    parts = [(ctx.provides(b.use), b.basis, b.weight) for b in burdens]
    cur = ctx.land_use_idx
    a = ctx.cell_ha

    def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
        out = np.zeros(li.size)
        for p, basis, w in parts:
            out += burden_ha(p, cur[li], ui, basis, a, w)
        return out

    return fn


def compile(rule: FairnessRule, ctx: Context) -> Contribution:
    row_of_land, labels = ctx.region_rows(rule.regions)
    area_r = region_area_ha(row_of_land, len(labels), ctx.cell_ha)
    burden = burden_fn(rule.burdens, ctx)

    def fn(li: np.ndarray, ui: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = burden(li, ui)
        rows = np.where(v != 0, row_of_land[li], -1)
        return rows, v

    n = len(labels)
    lower = np.full(n, -np.inf)
    if rule.mode == "cap":
        upper = rule.cap * area_r
        aux = []
    else:
        upper = np.zeros(n)
        total = ctx.area.land_area_ha
        aux = [Aux(f"fairness_level:{rule.id}", -area_r, cost=rule.weight * total,
                   term=f"fairness:{rule.id}", lb=0.0, ub=np.inf)]
    return Contribution(rows=[PairRows(
        f"rule:{rule.id}", "rule", rule.id, labels, fn, lower, upper, aux=aux,
        meta={"area_ha": area_r, "status": rule.status, "source": rule.source.short(),
              "field": "rules", "file": ctx.file},
        hard_check=rule.mode == "cap")])


FAMILY = RuleFamily("fairness", FairnessRule, check, compile, reporting.block_rows)
