"""Settlement types and committed housing locations (for the location rules).

**Settlement type** (``settlement_type``): every land cell gets the type of the core it belongs
to — the city minimising ``d / √population`` (a multiplicatively weighted Voronoi diagram, so
that a large city claims a larger hinterland), unless a village lies nearer than that city
and within 3 km, when the cell belongs to the village. Types, after the categories of the
Kamerbrief on the BO Leefomgeving: a city of 300,000 or more is a *metropoolkern*; a city
of 50,000 or more in Noord-Holland, Zuid-Holland, Utrecht or Flevoland a *centrumstad in een
metropool*; another city of 50,000 or more a *centrumgemeente*; every other city and every village a
*regiokern*. The thresholds are assumptions of the generator (the letter lists the places,
not a population rule).

**Committed locations** (``committed_locations``, a mask: a mask coarsens by majority, so a
coarser copy keeps a location only where it fills most of a block and never closes the rest
of a block to every use): the 17 NOVEX housing locations of the
Voorontwerp, placed at the 17 largest cities of the study area (fewer when the area holds
fewer cities): each is a compact patch of current farmland next to the city (grown from the
farmland cell nearest the city centre, nearest cells first), avoiding the zones where the
decided rules close housing (floodplains, river reservations, dikes, outer-dike land, the
coastal foundation, brook valleys, Natura 2000, flood zones deeper than 1 m) and the contours
of industry, defence, munitions and airports, valuable landscapes, the vulnerable landscapes
where new housing is capped and the green buffer between large cities (so that no shipped
scenario closes or caps housing on them). Its
size is 288,000 homes / 17 ≈ 17,000 homes at 35 homes per hectare, ≈ 480 ha, rounded to
whole cells (at least one).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

from ruimteverdeling.synthetic.codes import AGRICULTURE, HOUSING, KM
from ruimteverdeling.synthetic.landscape import Landscape
from ruimteverdeling.synthetic.layers import (
    climate,
    defence,
    reservations,
    rural,
    water,
    zones,
)

REGIOKERN, CENTRUMGEMEENTE, CENTRUMSTAD_METROPOOL, METROPOOLKERN = 1, 2, 3, 4
SETTLEMENT_TYPES = {REGIOKERN: "regiokern", CENTRUMGEMEENTE: "centrumgemeente",
                    CENTRUMSTAD_METROPOOL: "centrumstad_metropool",
                    METROPOOLKERN: "metropoolkern"}
METROPOLITAN_PROVINCES = ("Noord-Holland", "Zuid-Holland", "Utrecht", "Flevoland")
"""The provinces of the metropolitan regions (Amsterdam with Almere, Rotterdam-Den Haag,
Utrecht)."""
VILLAGE_REACH_KM = 3.0
NOVEX_LOCATIONS = 17
NOVEX_HOMES = 288_000
HOMES_PER_HA = 35.0


def _city_type(pop_thousands: float, province: str | None) -> int:
    if pop_thousands >= 300:
        return METROPOOLKERN
    if pop_thousands >= 50:
        return CENTRUMSTAD_METROPOOL if province in METROPOLITAN_PROVINCES \
            else CENTRUMGEMEENTE
    return REGIOKERN


def settlement_type(landscape: Landscape) -> np.ndarray:
    grid = landscape.grid
    st = landscape.world.settlements
    xs, ys = grid.xs, grid.ys
    out = np.zeros(grid.shape, np.uint8)
    if not st.cities:
        return out
    names = landscape.world.geography.province_names
    types = np.array([_city_type(c.pop, names.get(c.province) if c.province else None)
                      for c in st.cities], np.uint8)
    best = np.full(grid.shape, np.inf)
    best_d = np.full(grid.shape, np.inf)
    owner = np.zeros(grid.shape, np.int32)
    for i, c in enumerate(st.cities):
        d = np.hypot(xs[None, :] - c.x, ys[:, None] - c.y)
        score = d / np.sqrt(max(c.pop, 1e-3))
        better = score < best
        best[better], best_d[better], owner[better] = score[better], d[better], i
    out[:] = types[owner]
    reach = VILLAGE_REACH_KM * KM
    near_village = np.full(grid.shape, np.inf)
    for v in st.villages:
        if not (xs[0] - reach <= v.x <= xs[-1] + reach and
                min(ys) - reach <= v.y <= max(ys) + reach):
            continue
        d = np.hypot(xs[None, :] - v.x, ys[:, None] - v.y)
        np.minimum(near_village, d, out=near_village)
    out[(near_village <= reach) & (near_village < best_d)] = REGIOKERN
    out[~(landscape.study & landscape.water.land)] = 0
    return out


def _closed_to_housing(landscape: Landscape) -> np.ndarray:
    """Cells where a rule of a shipped scenario closes new housing."""
    closed = np.zeros(landscape.grid.shape, bool)
    for build in (water.uiterwaarden, water.river_reservation, water.ijsselmeer_buitendijks,
                  reservations.coastal_foundation, reservations.river_city_water_space,
                  zones.natura2000, zones.industry_contour, zones.defence_contour,
                  zones.airport_noise, zones.valuable_landscape, defence.munitions_safety):
        closed |= np.asarray(build(landscape), bool)
    closed |= np.asarray(climate.flood_depth_2100(landscape)) > 1.0  # water-first's bound
    closed |= np.asarray(rural.limited_urban_growth(landscape)) > 0  # capped new housing
    res = landscape.grid.res
    for build, buffer_m in ((water.primary_dikes, 100.0), (zones.brooks, 150.0)):
        mask = np.asarray(build(landscape), bool)
        if mask.any():
            closed |= distance_transform_edt(~mask) * res <= buffer_m + 1e-9
    return closed


GREEN_BAND = (2000.0, 8000.0, 3000.0)
"""Cores of at least 2,000 ha closer than 8 km get a 3 km band kept free of new housing: the
widest green buffer of the shipped scenarios (compact-city's), which committed locations
avoid."""


def _green_band(landscape: Landscape) -> np.ndarray:
    """The band between urban cores that the shipped green buffer keeps open: cells next to
    the line between the nearest-core regions of two large cores that are closer than the
    gap, widened to the band's width."""
    from scipy import ndimage

    min_ha, gap, width = GREEN_BAND
    res = landscape.grid.res
    cores = landscape.land_use.codes == HOUSING
    labels, _ = ndimage.label(cores, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel())
    big = np.flatnonzero(sizes >= max(min_ha / (res * res / 1e4), 1))
    big = big[big > 0]
    if big.size < 2:
        return np.zeros(cores.shape, bool)
    keep = np.isin(labels, big)
    dist, (iy, ix) = ndimage.distance_transform_edt(~keep, return_indices=True)
    nearest, dist = labels[iy, ix], dist * res
    line = np.zeros(cores.shape, bool)
    close_v = (nearest[:-1] != nearest[1:]) & (dist[:-1] + dist[1:] + res < gap)
    close_h = (nearest[:, :-1] != nearest[:, 1:]) & (dist[:, :-1] + dist[:, 1:] + res < gap)
    line[:-1] |= close_v
    line[1:] |= close_v
    line[:, :-1] |= close_h
    line[:, 1:] |= close_h
    if not line.any():
        return line
    band = ndimage.distance_transform_edt(~line) * res <= width / 2 - res / 2 + 1e-9
    return (band | line) & ~keep


def committed_locations(landscape: Landscape) -> np.ndarray:
    grid = landscape.grid
    out = np.zeros(grid.shape, np.uint8)
    free = (landscape.study & landscape.water.land
            & (landscape.land_use.codes == AGRICULTURE) & ~_closed_to_housing(landscape)
            & ~_green_band(landscape))
    n_cells = max(1, round(NOVEX_HOMES / NOVEX_LOCATIONS / HOMES_PER_HA
                           / (grid.res * grid.res / 1e4)))
    rows, cols = np.indices(grid.shape)
    for c in _novex_cities(landscape):
        cand = np.flatnonzero(free.ravel() & (out.ravel() == 0))
        if cand.size == 0:
            break
        d = np.hypot(grid.xs[cols.ravel()[cand]] - c.x, grid.ys[rows.ravel()[cand]] - c.y)
        seed = int(cand[np.argmin(d)])
        patch = _grow(seed, free & (out == 0), n_cells, grid.shape)
        out.ravel()[patch] = 1
    return out


def _novex_cities(landscape: Landscape) -> list:
    grid = landscape.grid
    inside = []
    for c in landscape.world.settlements.cities:
        col = int(np.searchsorted(grid.xs, c.x))
        row = int(np.searchsorted(-grid.ys, -c.y))
        if 0 <= row < grid.height and 0 <= col < grid.width and landscape.study[row, col]:
            inside.append(c)
    inside.sort(key=lambda c: (-c.pop, c.name or ""))
    return inside[:NOVEX_LOCATIONS]


def _grow(seed: int, allowed: np.ndarray, n: int, shape: tuple[int, int]) -> np.ndarray:
    """Up to ``n`` cells of ``allowed`` 4-connected to ``seed``, nearest to it first."""
    import heapq

    h, w = shape
    r0, c0 = divmod(seed, w)
    flat = allowed.ravel()
    heap = [(0.0, seed)]
    seen = {seed}
    out = []
    while heap and len(out) < n:
        _, f = heapq.heappop(heap)
        out.append(f)
        r, c = divmod(f, w)
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            g = rr * w + cc
            if 0 <= rr < h and 0 <= cc < w and g not in seen and flat[g]:
                seen.add(g)
                heapq.heappush(heap, (float(np.hypot(rr - r0, cc - c0)), g))
    return np.array(out, np.int64)
