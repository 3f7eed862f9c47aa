"""Utilities that condition where homes and energy parks can go: waste-water treatment,
drinking-water supply and the electricity grid.

*RWZI catchments* (zuiveringskringen): every city has one waste-water treatment plant (RWZI);
a cell drains to the plant of the nearest city, measured from the cell centre displaced by a
smooth noise field (±3 km, correlation ~5 km) so that borders are not straight Voronoi lines.
Region ids follow the city order of the geography; names are ``RWZI <city>``. Cells outside
the study area are 0.

*RWZI load* (% of the plant's design capacity in use today), painted on the catchment:
``clip(85 + 12·z + 4·log10(population / 50 000), 55, 120)`` with ``z`` a standard normal drawn
per plant in city order from the stream ``rwzi-load`` — most plants have some room, a few are
at or over capacity, bigger cities a little fuller. Nodata outside the study area.

*Drinking-water shortage*: the drawn supply areas (blobs, on land) where groundwater
abstraction is limited by drought-sensitive nature on the sandy uplands and the supplier has
no spare capacity for new connections (the Veluwe and Gelderse Vallei, the Achterhoek and
Twente, the east of Brabant and north of Limburg).

*Grid regions* (netgebieden): the areas served from the high-voltage substations of the
cities of 100,000 inhabitants or more, made like the RWZI catchments (own noise fields).
Congestion is drawn per region, in city order, from the stream ``grid-congestion``: *feed-in*
congestion (no room for new generation) with probability 0.85 in the north and east (region
seat at y ≥ 480 km or x ≥ 180 km) and 0.35 elsewhere; *offtake* congestion (no room for new
connections such as housing) with probability 0.75 in Flevoland, Gelderland, Utrecht,
Noord-Holland, Zuid-Holland and Noord-Brabant and 0.3 elsewhere — the pattern of the grid
operators' congestion maps around 2024, at the generator's level of detail.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ruimteverdeling.synthetic.codes import FLOAT_NODATA, KM
from ruimteverdeling.synthetic.geometry import blobs
from ruimteverdeling.synthetic.landscape import Landscape

#: Cities of at least this many thousand inhabitants seat a grid region.
GRID_SEAT_THOUSANDS = 100.0
#: Provinces (CBS codes) with widespread offtake congestion: Flevoland, Gelderland, Utrecht,
#: Noord-Holland, Zuid-Holland, Noord-Brabant.
OFFTAKE_CONGESTED_PROVINCES = (5, 6, 7, 8, 9, 11)


def _nearest(landscape: Landscape, seats: list[tuple[float, float]], name: str) -> np.ndarray:
    """Index (0-based) of the nearest seat for every cell of the study area, −1 outside it;
    distances from the cell centre displaced by smooth noise (world metres)."""
    sample, noise, grid = landscape.sample, landscape.world.noise, landscape.grid
    rows, cols = np.nonzero(landscape.study)
    dx = sample.from_1km(noise.field_1km(f"{name}-warp-x", 5.0))[rows, cols] * 3000.0
    dy = sample.from_1km(noise.field_1km(f"{name}-warp-y", 5.0))[rows, cols] * 3000.0
    points = np.column_stack([grid.xs[cols] + dx, grid.ys[rows] + dy])
    tree = cKDTree(np.asarray(seats, dtype=np.float64) * KM)
    _, idx = tree.query(points)
    out = np.full(grid.shape, -1, dtype=np.int32)
    out[rows, cols] = idx
    return out


def _city_seats(landscape: Landscape) -> list[tuple[float, float]]:
    return [(c.x, c.y) for c in landscape.world.geography.cities]


def rwzi_catchments(landscape: Landscape) -> np.ndarray:
    nearest = _nearest(landscape, _city_seats(landscape), "rwzi")
    return (nearest + 1).astype(np.uint16)


def rwzi_names(layer: np.ndarray, landscape: Landscape) -> dict[int, str]:
    """``RWZI <city>`` for the catchments that have cells in ``layer``."""
    present = set(np.unique(layer[layer > 0]).tolist())
    return {i + 1: f"RWZI {c.name}" for i, c in enumerate(landscape.world.geography.cities)
            if i + 1 in present}


def rwzi_load(landscape: Landscape) -> np.ndarray:
    cities = landscape.world.geography.cities
    rng = landscape.world.noise.rng("rwzi-load")
    z = rng.standard_normal(len(cities))
    pop = np.array([c.population for c in cities])
    load = np.clip(85.0 + 12.0 * z + 4.0 * np.log10(pop / 50.0), 55.0, 120.0)
    nearest = _nearest(landscape, _city_seats(landscape), "rwzi")
    out = np.where(nearest >= 0, load[np.maximum(nearest, 0)], 0.0).astype(np.float32)
    out[~landscape.study] = FLOAT_NODATA
    return out


def drinking_water_shortage(landscape: Landscape) -> np.ndarray:
    world = landscape.world
    return (landscape.sample.mask(blobs(world.noise, world.geography.drinking_water_shortage,
                                        rough=0.3))
            & landscape.water.land)


def _grid_seats(landscape: Landscape) -> list:
    return [c for c in landscape.world.geography.cities if c.population >= GRID_SEAT_THOUSANDS]


def grid_regions(landscape: Landscape) -> np.ndarray:
    seats = _grid_seats(landscape)
    nearest = _nearest(landscape, [(c.x, c.y) for c in seats], "grid-region")
    return (nearest + 1).astype(np.uint16)


def grid_region_names(layer: np.ndarray, landscape: Landscape) -> dict[int, str]:
    """``Netgebied <city>`` for the grid regions that have cells in ``layer``."""
    present = set(np.unique(layer[layer > 0]).tolist())
    return {i + 1: f"Netgebied {c.name}" for i, c in enumerate(_grid_seats(landscape))
            if i + 1 in present}


def _congestion(landscape: Landscape) -> tuple[np.ndarray, np.ndarray]:
    """Per grid region (seat order): feed-in congested, offtake congested."""
    seats = _grid_seats(landscape)
    rng = landscape.world.noise.rng("grid-congestion")
    draws = rng.uniform(size=(len(seats), 2))
    north_east = np.array([c.y >= 480.0 or c.x >= 180.0 for c in seats])
    busy = np.array([c.province in OFFTAKE_CONGESTED_PROVINCES for c in seats])
    feed_in = draws[:, 0] < np.where(north_east, 0.85, 0.35)
    offtake = draws[:, 1] < np.where(busy, 0.75, 0.3)
    return feed_in, offtake


def _congested(landscape: Landscape, which: int) -> np.ndarray:
    regions = grid_regions(landscape).astype(np.int64)
    flags = _congestion(landscape)[which]
    lut = np.concatenate([[False], flags])
    return lut[regions] & landscape.water.land


def grid_feed_in_congestion(landscape: Landscape) -> np.ndarray:
    return _congested(landscape, 0)


def grid_offtake_congestion(landscape: Landscape) -> np.ndarray:
    return _congested(landscape, 1)
