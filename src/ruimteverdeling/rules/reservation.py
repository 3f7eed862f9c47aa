"""Reservation: keep a zone free of permanent uses in every period (options open for 2100).

For a zone ``Z`` (a layer, ``where``, ``buffer_m``, as for exclusions) and the *permanent*
uses ``V`` of the use catalogue — with ``closes: built`` (default) the uses that are
permanent building (``built``), with ``closes: irreversible`` also every use that a pathway
never gives up again (``irreversible``: designated nature, water storage) —

    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V, u ≠ e_c

in the model of every period (a scenario with several ``periods`` compiles every rule in
every period, :mod:`ruimteverdeling.rules.pathways`), so no pathway puts a permanent use in
the zone in any period; temporary uses (farming, solar and wind parks that may return to
farmland after their lifetime) stay allowed, and a cell keeps its current use. This is the
Voorontwerp's reservation: "gevrijwaard van permanente bebouwing, tijdelijke functies kunnen
onder voorwaarden wel toegestaan worden". Unlike an exclusion, the closed uses follow the
catalogue, so a use a scenario declares ``built`` or ``irreversible`` is closed too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting, zones
from ruimteverdeling.rules.base import ClosedPairs, Contribution
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Distance, RuleBase, Where, Zone


class ReservationRule(RuleBase):
    """Keep a zone free of permanent uses (see :mod:`ruimteverdeling.rules.reservation`)."""

    type: Literal["reservation"] = "reservation"
    layer: str
    where: Where | None = None
    buffer_m: Distance = Field(default=0.0, ge=0)
    closes: Literal["built", "irreversible"] = "built"

    @property
    def zone(self) -> Zone:
        return Zone(layer=self.layer, where=self.where, buffer_m=self.buffer_m)


def permanent_uses(ctx: Context, closes: str) -> list[str]:
    """The allocatable uses a reservation closes."""
    return [u.id for u in ctx.catalogue.allocatable
            if u.built or (closes == "irreversible" and u.irreversible)]


def check(rule: ReservationRule, index: int, ctx: Context) -> list[Problem]:
    return checks.layer_where(rule.layer, rule.where, f"rules[{index}]", ctx)


def compile(rule: ReservationRule, ctx: Context) -> Contribution:
    zone = ctx.zone_grid(rule.zone).ravel()[ctx.land_cells]
    uses = permanent_uses(ctx, rule.closes)
    return Contribution(closed=ClosedPairs(zone, zones.closed_uses(ctx, uses, None), "new"))


FAMILY = RuleFamily("reservation", ReservationRule, check, compile, reporting.zone_rows,
                    zone=True)
