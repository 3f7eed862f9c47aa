"""Fairness (niet afwentelen): burdens spread fairly over regions.

A burden ``b`` counts, for the pair (c, u), the hectares of its use ``T`` that are

* ``new``:  a_c · max(0, p(u, T) − p(e_c, T))   (e.g. new energy or defence footprint)
* ``lost``: a_c · max(0, p(e_c, T) − p(u, T))   (e.g. agricultural land lost)

(:mod:`ruimteverdeling.domain.burdens`), and the burden of region r is
B_r = Σ_{c∈r} Σ_b w_b · burden_b(c, u) · x[c,u]; its intensity I_r = B_r / area_r. The
documents ask for "een eerlijke verdeling van de lusten en lasten" without a measure; each mode
below is a labelled choice of one.

``mode: deviation`` — the burden above each region's fair share. With A = Σ_r area_r,
s_r = area_r / A and T = Σ_r B_r the national burden, region r's fair share is s_r · T (the
national intensity T/A applied to its area) and its excess

    e_r ≥ B_r − s_r · T,   e_r ≥ 0,        charged  weight · Σ_r e_r + national_weight · T

(hectares of burden carried above the fair share, summed: the L1 excess, half the L1 distance
between the regions' burdens and their area-proportional shares, since Σ_r (B_r − s_r T) = 0).
Compiled with a load column L_r per region so that every pair still sits in one row:
``Σ_{c∈r} b(c,u)·x[c,u] − L_r = 0`` and ``L_r − s_r Σ_q L_q − e_r ≤ 0``. With
``national_weight: 0`` only the *distribution* is charged: an even distribution costs nothing,
whatever the national burden.

Why its LP rounds well. Moving one cell's burden ``b`` (in region q) changes B_q and T by
``b`` and every fair share by ``s_r · b``, so Σ_r e_r changes by at most
``(1 − s_q)·b + Σ_{r≠q} s_r·b = 2(1 − s_q)·b ≤ 2b``: rounding a fractional cell costs at most
``2 · weight · b`` points (plus ``national_weight · b``), the order of the cell's own terms,
where the minimax's level moves by ``weight · A · b / area_r``. Regions below their fair
share have a slack row (e_r = 0), so the LP need not equalise anything exactly.

Measured (``benchmarks/small.py --cases <case> --time-limit 60 --fairness <mode>``, 2 shared
cores under load, decision gaps):

==================  ==================  ==================  ===================
case                minimax 0.5         deviation 0.5       deviation 0.5 + 0.5
==================  ==================  ==================  ===================
demo (36 k, 1 km)   12.4 s, 0.72 %      3.6 s, 0.16 %       5.6 s, 0.69 %
3 k (250 m)         1.0 s, optimal      limit, 0.13 %       13.6 s, optimal
10 k (250 m)        1.2 s, optimal      limit, 12 %         limit, 0.37 %
==================  ==================  ==================  ===================

On the demo the deviation keeps the provinces as even (intensity spread max − min 0.05 %
against 0.07 %), but without ``national_weight`` the national intensity rises from 1.45 % to
3.61 %: A·z = T + A·(z − T/A), so the minimax also prices the national burden T at ``weight``
per hectare, and that price kept its plan from the green-blue network target (shortfall
11,025 points under minimax, none under deviation). The same price is what makes the 3 k and
10 k areas easy for the minimax: it puts the plan's objective far from the status quo's
(z − z_sq ≈ −4,000 on 10 k), so the decision tolerance is large; without it the 10 k plan
beats the status quo by 24 points and a 0.1 % decision gap is 0.024 points. With
``national_weight: 0.5`` (the minimax's price of T made explicit) the LP bound on the demo
equals the minimax's to the point (1,628,542.07, after derived rows 1,628,381.08): the excess
is zero at the LP optimum of both, and the rest of the gap is elsewhere (the deep-polder
share rows and the incumbent). The base scenario therefore keeps ``minimax``.

``mode: minimax`` — a level z ≥ 0 and one row per region

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
branch and bound on the level whose nodes are bounded the same way over their level interval
(:func:`ruimteverdeling.model.strengthen.knapsack_level_curve`; on the demo area a further
21 points in 7 LPs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ruimteverdeling.domain.burdens import burden_ha
from ruimteverdeling.domain.regions import region_area_ha
from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting
from ruimteverdeling.rules.base import Aux, Contribution, PairRows, RowFn
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
    (hectares of burden per hectare of region). ``mode: deviation`` charges ``weight`` per
    hectare of burden a region carries above its area-proportional share of the national
    burden, ``Σ_r max(0, B_r − (area_r/A)·Σ_q B_q)``, and ``national_weight`` per hectare of
    the national burden ``Σ_q B_q`` (default 0); ``mode: minimax`` adds a level
    z ≥ I_r for every region and charges ``weight`` · z · (study-area hectares); ``mode: cap``
    requires I_r ≤ ``cap`` in every region.
    """

    type: Literal["fairness"] = "fairness"
    regions: str | None = None
    burdens: list[Burden]
    mode: Literal["minimax", "deviation", "cap"] = "minimax"
    weight: Coefficient = Field(default=1.0, ge=0)
    national_weight: Coefficient = Field(default=0.0, ge=0)
    cap: Amount | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _cap(self) -> FairnessRule:
        if self.mode == "cap" and self.cap is None:
            raise invalid("`mode: cap` needs `cap`",
                          "add e.g. `cap: 0.05` (at most 5 % of each region burdened)")
        if self.national_weight and self.mode != "deviation":
            raise invalid("`national_weight` belongs to `mode: deviation`",
                          "remove it, or set `mode: deviation`")
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
        before = cur[li]  # once for every burden, not a pass over the pairs for each
        for p, basis, w in parts:
            out += burden_ha(p, before, ui, basis, a, w)
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
    meta = {"area_ha": area_r, "status": rule.status, "source": rule.source.short(),
            "field": "rules", "file": ctx.file, "mode": rule.mode}
    if rule.mode == "deviation":
        return Contribution(rows=[_deviation_rows(rule, fn, labels, area_r, meta)])
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
        meta=meta, hard_check=rule.mode == "cap")])


def _deviation_rows(rule: FairnessRule, fn: RowFn, labels: list[str], area_r: np.ndarray,
                    meta: dict[str, Any]) -> PairRows:
    """The rows of ``mode: deviation`` (see the module docstring): 2n rows over n regions.

    Rows ``0..n−1`` (labelled by region): ``Σ_{c∈r} b(c,u)·x[c,u] − L_r = 0``;
    rows ``n..2n−1`` (``<region> (excess)``): ``L_r − s_r Σ_q L_q − e_r ≤ 0`` with
    ``s_r = area_r / Σ_q area_q``. Each load ``L_r ≥ 0`` costs ``national_weight`` (so the
    national burden T = Σ L_r costs that per hectare), each excess ``e_r ≥ 0`` ``weight``.
    Every pair sits in one row only (its region's load row), so fixed and pinned cells still
    move into the bounds exactly.
    """
    n = len(labels)
    total = float(area_r.sum())
    share = area_r / total if total > 0 else np.zeros(n)
    aux = []
    for q in range(n):
        coef = np.zeros(2 * n)
        coef[q] = -1.0
        coef[n:] = -share
        coef[n + q] += 1.0
        aux.append(Aux(f"fairness_load:{rule.id}:{labels[q]}", coef, cost=rule.national_weight,
                       term=f"fairness:{rule.id}", lb=0.0, ub=np.inf))
    for r in range(n):
        coef = np.zeros(2 * n)
        coef[n + r] = -1.0
        aux.append(Aux(f"fairness_excess:{rule.id}:{labels[r]}", coef, cost=rule.weight,
                       term=f"fairness:{rule.id}", lb=0.0, ub=np.inf))
    lower = np.r_[np.zeros(n), np.full(n, -np.inf)]
    upper = np.zeros(2 * n)
    return PairRows(f"rule:{rule.id}", "rule", rule.id,
                    [*labels, *(f"{lab} (excess)" for lab in labels)], fn, lower, upper,
                    aux=aux, meta=meta, hard_check=False)


FAMILY = RuleFamily("fairness", FairnessRule, check, compile, reporting.block_rows)
