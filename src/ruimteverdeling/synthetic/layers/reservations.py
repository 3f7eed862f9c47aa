"""Reservations for water and soil: the coastal foundation, sand extraction at sea, space for
water around four river cities, and drinking-water reserves.

*Coastal foundation* (kustfundament, its land part): the dunes, the salt marshes and all land
within 0.5 km of the sea — the zone where sand must be able to move freely along and across
the coast.

*Sand extraction reservation* (zandwinning Noordzee): sea cells 3 to 20 km from the nearest
cell that is not sea, roughly between the −20 m depth line and the 12-mile zone. It lies
outside the study area (and is cut off where the grid ends two cells beyond the coast); a land
model cannot act on it — it is written for maps and for a future sea domain.

*Water space around river cities*: for each drawn city (Zwolle, Arnhem, Nijmegen, Den Bosch)
the unbuilt land within its ``radius_km`` (7 km) that is low — a 2100 flood depth of at least
0.5 m — or lies in the floodplains: where room for storing and discharging river water is kept.

*Drinking-water reserves* (aanvullende strategische voorraden and search areas for new
abstraction): 30 irregular ellipses of 1.5–3 km on sand away from settlements, drawn from
the stream ``drinking-water-reserves`` like the random groundwater-protection areas, on
unbuilt land.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from shapely.geometry import Point

from ruimteverdeling.synthetic.codes import KM, SAND
from ruimteverdeling.synthetic.fields import LATTICE_250M
from ruimteverdeling.synthetic.geometry import rough_ellipse
from ruimteverdeling.synthetic.landscape import Landscape
from ruimteverdeling.synthetic.layers.climate import flood_depth_2100

#: Number of drinking-water reserve areas.
DRINKING_WATER_RESERVES = 30


def coastal_foundation(landscape: Landscape) -> np.ndarray:
    shores = landscape.shores
    return ((shores.dunes | shores.salt_marshes | (shores.distance_to_sea <= 0.5))
            & landscape.water.land)


def sand_extraction_reservation(landscape: Landscape) -> np.ndarray:
    sea = landscape.water.sea
    if not sea.any():
        return np.zeros(sea.shape, bool)
    km = ndimage.distance_transform_edt(sea) * landscape.grid.cell_world / KM
    return sea & (km >= 3.0) & (km <= 20.0)


def river_city_water_space(landscape: Landscape) -> np.ndarray:
    geo = landscape.world.geography
    near = landscape.sample.mask([Point(c.x * KM, c.y * KM).buffer(c.radius * KM, 32)
                                  for c in geo.water_space_cities])
    low = (flood_depth_2100(landscape) >= 0.5) | landscape.shores.uiterwaarden
    return near & low & landscape.water.land & ~landscape.built


def drinking_water_reserves(landscape: Landscape) -> np.ndarray:
    world = landscape.world
    lattice_terrain = world.terrain
    rng = world.noise.rng("drinking-water-reserves")
    candidates = np.flatnonzero((lattice_terrain.soil == SAND) & lattice_terrain.study
                                & ~lattice_terrain.water
                                & (world.settlements.urban_potential < 0.0))
    picks = rng.choice(candidates, size=min(DRINKING_WATER_RESERVES, candidates.size),
                       replace=False)
    lattice = LATTICE_250M
    areas = []
    for p in picks:
        i, j = divmod(int(p), lattice.nx)
        r = rng.uniform(1.5, 3.0)
        areas.append(rough_ellipse(rng, lattice.xs[j] / KM, lattice.ys[i] / KM, r,
                                   r * rng.uniform(0.5, 0.9), rng.uniform(0, 180), 0.3))
    return landscape.sample.mask(areas) & landscape.water.land & ~landscape.built
