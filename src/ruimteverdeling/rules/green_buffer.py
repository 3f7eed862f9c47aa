"""Green buffer: keep cities from growing together.

Cores are connected groups (8-neighbourhood) of the ``cores`` zone of at least
``min_core_ha``. A Euclidean distance transform gives every cell its nearest core ``k(c)`` and
the distance ``d(c)`` to it. Two neighbouring cells with different nearest cores lie on the
line that separates the cores; where the cores are closer than ``gap_m`` there
(``d(c) + d(c') + res < gap_m``) that line is kept open: the cells touching it, and every
cell whose centre lies within ``width_m / 2`` of it, form the band ``B`` (core cells
excluded), and

    x[c, u] is not created   for c ∈ B ∩ D, u ∈ V, u ≠ e_c

with ``V`` the ``uses`` (new housing by default) and every combined use containing one of
them. It is an exclusion over a computed zone, so it costs no rows (see
:mod:`ruimteverdeling.rules.zones`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ruimteverdeling.area.buffers import within_distance
from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting, zones
from ruimteverdeling.rules.base import ClosedPairs, Contribution
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Amount, Distance, RuleBase, Where, Zone


class GreenBufferRule(RuleBase):
    """Keep cities from growing together (see :mod:`ruimteverdeling.rules.green_buffer`).

    Urban cores are the connected groups of ``cores`` cells of at least ``min_core_ha``. Where
    two different cores come closer than ``gap_m``, a band of ``width_m`` around the line that
    separates them is closed to ``uses`` (new housing by default).
    """

    type: Literal["green_buffer"] = "green_buffer"
    cores: Zone = Field(default_factory=lambda: Zone(layer="current_use",
                                                     where=Where(equals=["housing"])))
    min_core_ha: Amount = Field(default=500.0, ge=0)
    gap_m: Distance = Field(default=3000.0, gt=0)
    width_m: Distance = Field(default=1000.0, gt=0)
    uses: list[str] = Field(default_factory=lambda: ["housing"])


def check(rule: GreenBufferRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    return checks.zone(rule.cores, f"{field}.cores", ctx) + \
        checks.uses(rule.uses, f"{field}.uses", ctx)


def compile(rule: GreenBufferRule, ctx: Context) -> Contribution:
    zone = green_buffer_zone(rule, ctx).ravel()[ctx.land_cells]
    return Contribution(closed=ClosedPairs(zone, zones.closed_uses(ctx, rule.uses)))


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
    band = within_distance(line, rule.width_m / 2 - res / 2 + 1e-9, res)
    return (band | line) & ~keep


FAMILY = RuleFamily("green_buffer", GreenBufferRule, check, compile, reporting.zone_rows,
                    zone=True)
