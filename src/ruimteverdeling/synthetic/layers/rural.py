"""The rural area as policy sees it: grassland on peat, the agricultural focus areas, and the
vulnerable landscapes around Amsterdam and Utrecht where growth is limited.

*Grassland on peat* (grasland op veen): farmland on peat soil where a smooth noise field (250
m lattice, correlation ~500 m) exceeds −1, about 84 % of it — the peat meadows kept as
grassland, the rest arable or bulb land.

*Agricultural focus areas* (landbouw aandachtsgebieden): the groundwater-protection areas and
the priority areas of the national rural programme — peat soils (veenweidegebieden), a
250 m buffer round the brooks (bufferzones rond beekdalen) and a 1 km transition zone round
Natura 2000 (overgangsgebieden) — on today's farmland: the farmland of these areas, where
the 10 % green-blue network is asked for. Buffer distances are measured on the grid (grid
metres).

*Limited urban growth* (regions): the vulnerable landscapes — peat soil, the Hollandse
Waterlinies and the deep polders (not the young IJsselmeer polders of Flevoland) — on unbuilt
land within the drawn radius (world km from the cell centre) of Amsterdam (25 km) and Utrecht
(20 km), each cell given to the nearest city whose radius reaches it. Region ids follow the
drawn order; names are ``rond <city>``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ruimteverdeling.synthetic.codes import AGRICULTURE, KM, PEAT
from ruimteverdeling.synthetic.landscape import Landscape
from ruimteverdeling.synthetic.layers.zones import groundwater_protection, heritage

#: Buffer round brooks and transition zone round Natura 2000 (metres on the grid).
BROOK_BUFFER_M = 250.0
NATURA2000_TRANSITION_M = 1000.0


def grassland_peat(landscape: Landscape) -> np.ndarray:
    field = landscape.sample.from_250m(landscape.world.noise.field_250m("grassland-peat", 2.0))
    return ((landscape.terrain.soil == PEAT) & (landscape.land_use.codes == AGRICULTURE)
            & (field > -1.0))


def _within(mask: np.ndarray, metres: float, res: float) -> np.ndarray:
    if not mask.any():
        return mask.copy()
    return ndimage.distance_transform_edt(~mask) * res <= metres + 1e-9


def agri_focus_areas(landscape: Landscape) -> np.ndarray:
    res = landscape.grid.res
    zones = landscape.zones
    natura = zones.natura2000 & landscape.study
    focus = (groundwater_protection(landscape) | (landscape.terrain.soil == PEAT)
             | _within(zones.brooks, BROOK_BUFFER_M, res)
             | (_within(natura, NATURA2000_TRANSITION_M, res) & ~natura))
    return focus & (landscape.land_use.codes == AGRICULTURE)


def limited_urban_growth(landscape: Landscape) -> np.ndarray:
    geo, grid = landscape.world.geography, landscape.grid
    sites = geo.limited_growth_cities
    out = np.zeros(grid.shape, dtype=np.uint16)
    if not sites:
        return out
    # the deep polders, without the young IJsselmeer polders of Flevoland
    old_polder = np.array([False, *(not p.flevoland for p in geo.deep_polders)])
    polder = old_polder[np.minimum(landscape.terrain.polder_ids, len(geo.deep_polders))]
    vulnerable = (landscape.terrain.soil == PEAT) | heritage(landscape) | polder
    vulnerable &= landscape.water.land & ~landscape.built
    xs, ys = grid.xs[None, :], grid.ys[:, None]
    dist = []
    for s in sites:
        d = np.hypot(xs - s.x * KM, ys - s.y * KM)
        dist.append(np.where(d <= s.radius * KM, d, np.inf))
    dist = np.stack(dist)
    nearest = np.argmin(dist, axis=0)
    inside = vulnerable & np.isfinite(dist.min(axis=0))
    out[inside] = (nearest[inside] + 1).astype(np.uint16)
    return out


def limited_urban_growth_names(layer: np.ndarray, landscape: Landscape) -> dict[int, str]:
    present = set(np.unique(layer[layer > 0]).tolist())
    return {i + 1: f"rond {s.name}"
            for i, s in enumerate(landscape.world.geography.limited_growth_cities)
            if i + 1 in present}
