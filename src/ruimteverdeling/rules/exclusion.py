"""Exclusion: close a zone to some uses (with a distance buffer).

For a zone ``Z`` — the cells of a layer (``where``, non-zero by default), grown by
``buffer_m`` (every cell whose centre lies within that distance of a zone cell's centre, a
Euclidean distance transform on the grid) — and closed uses ``V`` (the listed ``uses`` and
every combined use containing one of them, or every allocatable use not in ``allow``):

    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V            (applies_to: all)
    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V, u ≠ e_c   (applies_to: new, the default)

so with ``applies_to: new`` a cell keeps its current use even if that use is closed ("no *new*
building"). Not creating a column is the strongest form of ``x[c,u] = 0``: the model never
sees the pair, and the rule costs no rows. Softening, the report and whether the rule binds
are those of every zone rule (:mod:`ruimteverdeling.rules.zones`,
:mod:`ruimteverdeling.rules.reporting`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting, zones
from ruimteverdeling.rules.base import ClosedPairs, Contribution
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Distance, RuleBase, Where, Zone
from ruimteverdeling.strict import invalid


class ExclusionRule(RuleBase):
    """Close a zone to some uses (see :mod:`ruimteverdeling.rules.exclusion`).

    ``x[c,u]`` is not created for ``c`` in the zone and ``u`` in ``uses`` (or every allocatable
    use not in ``allow``); closing a single use also closes the combined uses that contain it.
    With ``applies_to: new`` (default) a cell keeps its current use even if that use is closed
    ("no *new* building"); with ``applies_to: all`` the current use is closed as well.
    ``buffer_m`` widens the zone by a distance (setbacks, bands along dikes, brook valleys).
    """

    type: Literal["exclusion"] = "exclusion"
    layer: str
    where: Where | None = None
    buffer_m: Distance = Field(default=0.0, ge=0)
    uses: list[str] | None = None
    allow: list[str] | None = None
    applies_to: Literal["new", "all"] = "new"

    @model_validator(mode="after")
    def _uses_or_allow(self) -> ExclusionRule:
        if (self.uses is None) == (self.allow is None):
            raise invalid("give exactly one of `uses` (closed uses) or `allow` (open uses)",
                          "`uses: [housing]` closes housing; `allow: [nature]` closes "
                          "everything but nature")
        return self

    @property
    def zone(self) -> Zone:
        return Zone(layer=self.layer, where=self.where, buffer_m=self.buffer_m)


def check(rule: ExclusionRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    return (checks.layer_where(rule.layer, rule.where, field, ctx)
            + checks.uses(rule.uses, f"{field}.uses", ctx)
            + checks.uses(rule.allow, f"{field}.allow", ctx))


def compile(rule: ExclusionRule, ctx: Context) -> Contribution:
    zone = ctx.zone_grid(rule.zone).ravel()[ctx.land_cells]
    return Contribution(closed=ClosedPairs(zone, zones.closed_uses(ctx, rule.uses, rule.allow),
                                           rule.applies_to))


FAMILY = RuleFamily("exclusion", ExclusionRule, check, compile, reporting.zone_rows, zone=True)
