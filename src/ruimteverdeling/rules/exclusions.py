"""Zone rules: exclusions (with distance buffers) and the green buffer between cities.

Exclusion — for a zone ``Z`` (cells of a layer, grown by ``buffer_m``) and closed uses ``V``
(the listed uses and every combined use containing one of them, or everything not in
``allow``):

    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V            (applies_to: all)
    x[c, u] is not created   for c ∈ Z ∩ D, u ∈ V, u ≠ e_c   (applies_to: new, the default)

Not creating a column is the strongest form of ``x[c,u] = 0``: the model never sees the pair.
The rule's report gives the hectares it closes per use and region — gross, as if it were the
only rule — so a planner sees what each rule takes out of the map.

A *softened* exclusion (an override with ``action: soften``) keeps the columns and charges
``penalty`` per hectare of a closed use in the zone instead (term ``override:<id>``).

Green buffer — cores are connected groups (8-neighbourhood) of the ``cores`` zone of at least
``min_core_ha``. A Euclidean distance transform gives every cell its nearest core ``k(c)`` and
the distance ``d(c)`` to it. Two neighbouring cells with different nearest cores lie on the
line that separates the cores; where the cores are closer than ``gap_m`` there
(``d(c) + d(c') + res < gap_m``) that line is kept open: the cells touching it, and every
cell whose centre lies within ``width_m / 2`` of it, are closed to ``uses``. It is an
exclusion over a computed zone, so it costs no rows.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks
from ruimteverdeling.rules.base import PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario import ExclusionRule, GreenBufferRule


def check(rule: ExclusionRule | GreenBufferRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    if isinstance(rule, GreenBufferRule):
        return checks.zone(rule.cores, f"{field}.cores", ctx) + \
            checks.uses(rule.uses, f"{field}.uses", ctx)
    return (checks.layer_where(rule.layer, rule.where, field, ctx)
            + checks.uses(rule.uses, f"{field}.uses", ctx)
            + checks.uses(rule.allow, f"{field}.allow", ctx))


def closed_uses(rule: ExclusionRule | GreenBufferRule, ctx: Context) -> list[str]:
    """Allocatable use ids the rule closes (combinations of a closed use included)."""
    if rule.uses is not None:
        return [u for u in ctx.catalogue.containing(rule.uses) if u in ctx.alloc_ids]
    allow = set(rule.allow or [])
    return [u for u in ctx.alloc_ids if u not in allow]


def zone_of(rule: ExclusionRule | GreenBufferRule, ctx: Context) -> np.ndarray:
    """Boolean grid of the cells the rule applies to."""
    if isinstance(rule, GreenBufferRule):
        return green_buffer_zone(rule, ctx)
    return ctx.zone_grid(rule.zone)


def apply(rule: ExclusionRule | GreenBufferRule, ctx: Context) -> dict:
    """Remove the closed (cell, use) pairs from ``ctx.allowed``; return the rule's report."""
    cells = ctx.domain_cells
    zone = zone_of(rule, ctx).ravel()[cells]
    applies_to = getattr(rule, "applies_to", "new")
    removed = _removed(rule, ctx, zone, applies_to, close=True)
    return {"rule": rule.id, "type": rule.type, "status": rule.status,
            "source": rule.source.short(), "zone_ha": float(zone.sum()) * ctx.cell_ha,
            "removed_ha": removed}


def _removed(rule, ctx: Context, zone: np.ndarray, applies_to: str, close: bool
             ) -> dict[str, dict[str, float]]:
    rows, names = ctx.region_rows()
    dom_rows = rows[ctx.domain]
    cur = ctx.domain_use_idx
    removed: dict[str, dict[str, float]] = {}
    for uid in closed_uses(rule, ctx):
        j = ctx.alloc_col(uid)
        mask = zone.copy()
        if applies_to == "new":
            mask &= cur != ctx.alloc_idx[j]
        if close:
            ctx.allowed[mask, j] = False
        if mask.any():
            counts = np.bincount(dom_rows[mask], minlength=len(names))
            removed[uid] = {names[r]: float(n) * ctx.cell_ha
                            for r, n in enumerate(counts) if n}
    return removed


def softened(rule: ExclusionRule | GreenBufferRule, penalty: float, ctx: Context
             ) -> tuple[PairTerm, dict]:
    """The exclusion as a cost of ``penalty`` per hectare of a closed use in the zone."""
    zone_land = zone_of(rule, ctx).ravel()[ctx.land_cells]
    closed = ctx.uses_mask(closed_uses(rule, ctx), containing=False)
    applies_to = getattr(rule, "applies_to", "new")
    cur = ctx.land_use_idx
    a = ctx.cell_ha

    def fn(land: np.ndarray, use: np.ndarray) -> np.ndarray:
        hit = zone_land[land] & closed[use]
        if applies_to == "new":
            hit &= use != cur[land]
        return np.where(hit, penalty * a, 0.0)

    term = PairTerm(f"override:{rule.id}", "cost", fn, "points",
                    f"softened rule {rule.id}: {penalty:g} per hectare it would have closed",
                    rule.id)
    zone = zone_land[ctx.domain]
    report = {"rule": rule.id, "type": rule.type, "status": rule.status,
              "source": rule.source.short(), "zone_ha": float(zone.sum()) * ctx.cell_ha,
              "removed_ha": {}, "softened": True,
              "would_remove_ha": _removed(rule, ctx, zone, applies_to, close=False)}
    return term, report


def green_buffer_zone(rule: GreenBufferRule, ctx: Context) -> np.ndarray:
    """Boolean grid of the green band between urban cores (see the module docstring)."""
    from scipy import ndimage

    res = ctx.area.grid.resolution
    cores = ctx.zone_grid(rule.cores)
    labels, n = ndimage.label(cores, structure=np.ones((3, 3), bool))
    if n < 2:
        return np.zeros(cores.shape, bool)
    sizes = np.bincount(labels.ravel())
    min_cells = rule.min_core_ha / ctx.cell_ha
    big = np.flatnonzero(sizes >= max(min_cells, 1))
    big = big[big > 0]
    if big.size < 2:
        return np.zeros(cores.shape, bool)
    keep = np.isin(labels, big)
    dist, (iy, ix) = ndimage.distance_transform_edt(~keep, return_indices=True)
    nearest = labels[iy, ix]
    dist = dist * res
    line = np.zeros(cores.shape, bool)
    for axis in (0, 1):
        a = nearest.take(range(nearest.shape[axis] - 1), axis=axis)
        b = nearest.take(range(1, nearest.shape[axis]), axis=axis)
        da = dist.take(range(dist.shape[axis] - 1), axis=axis)
        db = dist.take(range(1, dist.shape[axis]), axis=axis)
        close = (a != b) & (da + db + res < rule.gap_m)
        if axis == 0:
            line[:-1, :] |= close
            line[1:, :] |= close
        else:
            line[:, :-1] |= close
            line[:, 1:] |= close
    if not line.any():
        return line
    # the separating line lies half a cell from the centres of the cells that touch it
    band = ndimage.distance_transform_edt(~line) * res <= rule.width_m / 2 - res / 2 + 1e-9
    return (band | line) & ~keep
