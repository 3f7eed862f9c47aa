"""Closed pairs: applying a zone rule to the allowed pairs, softening it, reporting it.

For a rule's :class:`~ruimteverdeling.rules.base.ClosedPairs` — a zone ``Z`` (land cells) and
closed uses ``V`` — the pairs

    (c, u)  with  c ∈ Z ∩ D,  u ∈ V                (applies_to: all)
    (c, u)  with  c ∈ Z ∩ D,  u ∈ V,  u ≠ e_c      (applies_to: new, the default)

lose their column: not creating ``x[c,u]`` is the strongest form of ``x[c,u] = 0``. The rule's
report gives the hectares it closes per use and region — gross, as if it were the only rule
— so a planner sees what each rule takes out of the map.

A *softened* rule (an override with ``action: soften``) keeps the columns and charges
``penalty`` per hectare of a closed use in the zone instead (term ``override:<id>``):

    k(c, u) = penalty · a_c · [c ∈ Z] · [u ∈ V] · [applies_to = all or u ≠ e_c]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ruimteverdeling.rules.base import ClosedPairs, PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario.schema import RuleBase


def closed_uses(ctx: Context, uses: list[str] | None, allow: list[str] | None = None
                ) -> list[str]:
    """Allocatable use ids closed by ``uses`` (with the combined uses containing one of
    them) or, when ``uses`` is None, by ``allow`` (every allocatable use not listed)."""
    if uses is not None:
        return [u for u in ctx.catalogue.containing(uses) if u in ctx.alloc_ids]
    keep = set(allow or [])
    return [u for u in ctx.alloc_ids if u not in keep]


def close(rule: RuleBase, closed: ClosedPairs, ctx: Context) -> dict[str, Any]:
    """Remove the closed pairs from ``ctx.allowed``; return the rule's report."""
    zone = closed.zone[ctx.domain]
    removed = removed_ha(closed, ctx, close=True)
    return {**_head(rule), "zone_ha": float(zone.sum()) * ctx.cell_ha, "removed_ha": removed}


def soften(rule: RuleBase, closed: ClosedPairs, penalty: float, ctx: Context
           ) -> tuple[PairTerm, dict[str, Any]]:
    """The closed pairs as a cost of ``penalty`` per hectare (see the module docstring)."""
    zone_land = closed.zone
    is_closed = ctx.uses_mask(closed.uses, containing=False)
    new_only = closed.applies_to == "new"
    cur = ctx.land_use_idx
    a = ctx.cell_ha

    def fn(land: np.ndarray, use: np.ndarray) -> np.ndarray:
        hit = zone_land[land] & is_closed[use]
        if new_only:
            hit &= use != cur[land]
        return np.where(hit, penalty * a, 0.0)

    term = PairTerm(f"override:{rule.id}", "cost", fn, "points",
                    f"softened rule {rule.id}: {penalty:g} per hectare it would have closed",
                    rule.id)
    zone = zone_land[ctx.domain]
    report = {**_head(rule), "zone_ha": float(zone.sum()) * ctx.cell_ha, "removed_ha": {},
              "softened": True, "would_remove_ha": removed_ha(closed, ctx, close=False)}
    return term, report


def removed_ha(closed: ClosedPairs, ctx: Context, close: bool) -> dict[str, dict[str, float]]:
    """Hectares of domain cells closed to each use, per region (gross); with ``close`` the
    pairs are also removed from ``ctx.allowed``."""
    rows, names = ctx.region_rows()
    dom_rows = rows[ctx.domain]
    cur = ctx.domain_use_idx
    zone = closed.zone[ctx.domain]
    removed: dict[str, dict[str, float]] = {}
    for uid in closed.uses:
        j = ctx.alloc_col(uid)
        mask = zone.copy()
        if closed.applies_to == "new":
            mask &= cur != ctx.alloc_idx[j]
        if close:
            ctx.allowed[mask, j] = False
        if mask.any():
            counts = np.bincount(dom_rows[mask], minlength=len(names))
            removed[uid] = {names[r]: float(n) * ctx.cell_ha
                            for r, n in enumerate(counts) if n}
    return removed


def _head(rule: RuleBase) -> dict[str, Any]:
    return {"rule": rule.id, "type": rule.type, "status": rule.status,
            "source": rule.source.short()}
