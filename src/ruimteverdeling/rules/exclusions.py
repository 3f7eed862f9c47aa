"""Exclusions: hard "no use u in zone Z" rules, compiled as missing columns.

For an exclusion rule with zone ``Z`` (cells of a layer, see ``where``) and closed uses ``V``:

    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V            (applies_to: all)
    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V, u ≠ e_c   (applies_to: new, the default)

Not creating a column is the strongest possible form of ``x[c,u] = 0``: the model never sees
the pair. The rule's report gives the hectares it closes per use and region (gross: as if it
were the only rule), so a planner can see what each rule takes out of the map.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.errors import Problem, did_you_mean
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario import ExclusionRule


def check(rule: ExclusionRule, index: int, ctx: Context) -> list[Problem]:
    file = ctx.file
    field = f"rules[{index}]"
    problems = []
    if not ctx.area.has_layer(rule.layer):
        problems.append(Problem(file, f"{field}.layer", f"unknown layer '{rule.layer}'",
                                did_you_mean(rule.layer, ctx.area.layer_names)))
    elif rule.where is not None and rule.where.equals is not None:
        lay = ctx.area.layer(rule.layer)
        eq = rule.where.equals if isinstance(rule.where.equals, list) else [rule.where.equals]
        for e in eq:
            try:
                lay.code_of(e)
            except KeyError:
                problems.append(Problem(file, f"{field}.where.equals",
                                        f"layer '{rule.layer}' has no category '{e}'",
                                        did_you_mean(str(e), (lay.categories or {}).values())))
    for key in ("uses", "allow"):
        for u in getattr(rule, key) or []:
            if u not in ctx.alloc_ids:
                problems.append(Problem(file, f"{field}.{key}", f"unknown use '{u}'",
                                        did_you_mean(u, ctx.alloc_ids)))
    return problems


def closed_uses(rule: ExclusionRule, ctx: Context) -> list[str]:
    if rule.uses is not None:
        return [u for u in rule.uses if u in ctx.alloc_ids]
    allow = set(rule.allow or [])
    return [u for u in ctx.alloc_ids if u not in allow]


def apply(rule: ExclusionRule, ctx: Context) -> dict:
    """Remove the closed (cell, use) pairs from ``ctx.allowed``; return the rule's report."""
    cells = ctx.domain_cells
    zone = ctx.zone(rule.layer, rule.where, cells)
    regions = ctx.area.regions.data.ravel()[cells]
    names = ctx.area.region_names()
    cur = ctx.domain_use_idx
    removed: dict[str, dict[str, float]] = {}
    for uid in closed_uses(rule, ctx):
        j = ctx.alloc_col(uid)
        close = zone.copy()
        if rule.applies_to == "new":
            close &= cur != ctx.alloc_idx[j]
        ctx.allowed[close, j] = False
        if close.any():
            ids, counts = np.unique(regions[close], return_counts=True)
            removed[uid] = {names.get(int(i), str(int(i))): float(n) * ctx.cell_ha
                            for i, n in zip(ids, counts, strict=True)}
    return {
        "rule": rule.id, "type": rule.type, "status": rule.status, "source": rule.source.short(),
        "zone_ha": float(zone.sum()) * ctx.cell_ha,
        "removed_ha": removed,
    }
