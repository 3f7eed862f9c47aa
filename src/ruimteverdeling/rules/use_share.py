"""Use share: at least a share of the land providing one use provides another (organic farming
as a share of farmland).

With ``p(u, T)`` the yield factor of use ``u`` towards target use ``T`` (the catalogue's
``provides``), ``a_c`` the cell area and ``s`` the share, the row over all cells (or one row
per region of a regions layer) is

    Σ_c Σ_u a_c · (p(u, P) − s · p(u, B)) · x[c,u]  +  K  ≥  0

with ``P`` the part (``use``) and ``B`` the base (``of``): the hectares of ``P`` are at least
``s`` times the hectares of ``B``. ``K`` is the same sum over the cells that are not variables
(fixed context, pinned cells). One row per region, separable over cells, so it prices and
rescales like a target; soft with ``penalty`` per hectare of ``P`` missing (a gemaakte keuze
is softened only through ``overrides:``). ``max_share`` gives the mirror row ``≤ 0`` with
``(p(u, P) − s_max · p(u, B))``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting
from ruimteverdeling.rules.base import Contribution, PairRows
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Coefficient, RuleBase
from ruimteverdeling.strict import invalid


class UseShareRule(RuleBase):
    """At least ``min_share`` (at most ``max_share``) of the land providing ``of`` provides
    ``use``: Σ a_c (p(u, use) − s · p(u, of)) x[c,u] ≥ 0 (≤ 0 for the maximum)."""

    type: Literal["use_share"] = "use_share"
    use: str
    of: str
    min_share: float | None = Field(default=None, ge=0, le=1)
    max_share: float | None = Field(default=None, ge=0, le=1)
    per_region: bool = False
    regions: str | None = None
    penalty: Coefficient | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> UseShareRule:
        if self.min_share is None and self.max_share is None:
            raise invalid("a use share needs `min_share`, `max_share` or both",
                          "e.g. `min_share: 0.15`")
        if (self.min_share is not None and self.max_share is not None
                and self.min_share > self.max_share):
            raise invalid("`min_share` is larger than `max_share`", "swap them")
        if self.use == self.of:
            raise invalid("`use` and `of` are the same use", "name two different uses")
        return self


def check(rule: UseShareRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    problems = checks.target_use(rule.use, f"{field}.use", ctx)
    problems += checks.target_use(rule.of, f"{field}.of", ctx)
    if rule.regions is not None and not ctx.area.has_layer(rule.regions):
        problems.append(checks.missing_layer(rule.regions, f"{field}.regions", ctx.file,
                                             ctx.area))
    return problems


def compile(rule: UseShareRule, ctx: Context) -> Contribution:
    part, base = ctx.provides(rule.use), ctx.provides(rule.of)
    a = ctx.cell_ha
    if rule.per_region or rule.regions is not None:
        row_of_land, labels = ctx.region_rows(rule.regions or ctx.area.manifest.regions)
    else:
        row_of_land, labels = np.zeros(ctx.land_cells.size, np.int32), ["national"]
    n = len(labels)
    out = []
    for kind, share in (("min", rule.min_share), ("max", rule.max_share)):
        if share is None:
            continue
        coef = a * (part - share * base)

        def fn(li: np.ndarray, ui: np.ndarray, coef: np.ndarray = coef
               ) -> tuple[np.ndarray, np.ndarray]:
            v = coef[ui]
            return np.where(v != 0, row_of_land[li], -1), v

        lower, upper = ((np.zeros(n), np.full(n, np.inf)) if kind == "min"
                        else (np.full(n, -np.inf), np.zeros(n)))
        out.append(PairRows(
            f"rule:{rule.id}" + ("" if kind == "min" else ":max"), "rule", rule.id, labels, fn,
            lower, upper, penalty=rule.penalty,
            meta={"status": rule.status, "source": rule.source.short(), "field": "rules",
                  "file": ctx.file, "unit": "ha"}))
    return Contribution(rows=out)


FAMILY = RuleFamily("use_share", UseShareRule, check, compile, reporting.block_rows)
