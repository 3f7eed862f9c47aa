"""Soil, elevation, landscape type and agricultural quality on the grid.

*Soil* is the world's soil label at each cell centre (displaced by a few hundred metres of
noise); deep polders are marine clay, floodplains river clay.

*Elevation* (m NAP) is the world's elevation interpolated at the cell centre plus fine noise of
sd 0.6 m on sand, 1.5 m on dunes and 0.08 m elsewhere. Deep polders lie at their polder level
(± 0.35 m), floodplains at river level + 1 to 1.8 m, river water at river level, big lakes at
−0.2 m, other water 1 m below the ground, dug lakes 0.6 m below it.

*Landscape type* follows soil (sand → hogere zandgronden, marine clay → zeekleigebied, river
clay → rivierengebied, peat → veenweide, dune sand → duinen en kust, loess → heuvelland), with
South Limburg heuvelland, salt marshes duinen en kust, and *stedelijk* wherever at least half
of a ~1.5 km window is built and the cell is built, nature or water.

*Agricultural quality* is 1 (best) on marine clay, river clay within 1.8 km of a big river and
loess where a noise field allows, 3 (challenging) on peat, dunes and sand above 25 m, next to
brooks or where the noise is low; 2 elsewhere on land.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from ruimteverdeling.synthetic.codes import (
    DUNE,
    FLOAT_NODATA,
    LOESS,
    MARINE_CLAY,
    NATURE,
    PEAT,
    RIVER_CLAY,
    SAND,
    WATER,
)
from ruimteverdeling.synthetic.fields import unit
from ruimteverdeling.synthetic.grid import Sampler, dilate
from ruimteverdeling.synthetic.landscape import Landscape, Terrain, Water
from ruimteverdeling.synthetic.world import World

# ------------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------------


def terrain_on_grid(sample: Sampler, world: World, study: np.ndarray, water: Water) -> Terrain:
    """Soil, polders and elevation with the water surfaces (see the module docstring)."""
    soil = sample.labels(world.terrain.soil)
    soil[~study] = 0
    polders = world.vectors.polders
    polder_ids = sample.burn([p.polygon for p in polders], [p.id for p in polders],
                             dtype=np.uint16)
    polder_ids[~study] = 0
    soil[(polder_ids > 0) & study] = MARINE_CLAY
    elevation = sample.from_250m(world.terrain.elevation)
    fine_noise = sample.from_250m(world.noise.field_250m("elev-fine", 0.7))
    elevation += fine_noise * np.where(soil == SAND, 0.6, np.where(soil == DUNE, 1.5, 0.08))
    levels = np.array([p.level for p in polders], dtype=np.float32)
    in_polder = polder_ids > 0
    elevation[in_polder] = levels[polder_ids[in_polder] - 1] + 0.35 * fine_noise[in_polder]
    river_level = sample.from_1km(world.terrain.river_level_1km)
    # water surfaces
    river_surface = water.river_water & study
    elevation[river_surface] = river_level[river_surface]
    elevation[water.big_lakes & ~water.river_water] = -0.2
    elevation[water.water & ~water.big_lakes & ~water.river_water] -= 1.0
    return Terrain(soil=soil, polder_ids=polder_ids, elevation=elevation,
                   fine_noise=fine_noise, river_level=river_level,
                   design_level=sample.from_1km(world.terrain.design_level_1km))


def raise_floodplains(terrain: Terrain, uiterwaarden: np.ndarray) -> Terrain:
    """Floodplains become river clay at river level + 1 to 1.8 m."""
    elevation = terrain.elevation.copy()
    elevation[uiterwaarden] = (terrain.river_level[uiterwaarden] + 1.0
                               + 0.8 * unit(terrain.fine_noise[uiterwaarden]))
    soil = terrain.soil.copy()
    soil[uiterwaarden] = RIVER_CLAY
    return dataclasses.replace(terrain, elevation=elevation, soil=soil)


def dig_lakes(terrain: Terrain, dug_lakes: np.ndarray) -> Terrain:
    """The ground of dug lakes lies 0.6 m lower."""
    elevation = terrain.elevation.copy()
    elevation[dug_lakes] -= 0.6
    return dataclasses.replace(terrain, elevation=elevation)


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------


def elevation(landscape: Landscape) -> np.ndarray:
    out = landscape.terrain.elevation.astype(np.float32)
    out[~landscape.study] = FLOAT_NODATA
    return out


def soil(landscape: Landscape) -> np.ndarray:
    out = landscape.terrain.soil.copy()
    out[~landscape.study] = 0
    return out


#: Landscape type of each soil code (0 none, sand, marine clay, river clay, peat, loess, dune).
_LANDSCAPE_OF_SOIL = np.array([0, 1, 3, 2, 4, 6, 5], dtype=np.uint8)


def landscape_type(landscape: Landscape) -> np.ndarray:
    study, built = landscape.study, landscape.built
    use = landscape.land_use.codes
    out = _LANDSCAPE_OF_SOIL[landscape.terrain.soil]
    out[landscape.sample.labels(landscape.world.terrain.heuvelland) & study] = 6
    out[landscape.shores.salt_marshes] = 5
    size = max(3, round(1500.0 / landscape.grid.cell_world) | 1)
    density = ndimage.uniform_filter(built.astype(np.float32), size=size, mode="constant")
    out[(density >= 0.5) & study & (built | (use == NATURE) | (use == WATER))] = 7
    out[~study] = 0
    return out


def agri_quality(landscape: Landscape) -> np.ndarray:
    sample, world = landscape.sample, landscape.world
    soil, elev = landscape.terrain.soil, landscape.terrain.elevation
    q = sample.from_1km(world.noise.field_1km("agri-quality", 2.0))
    near_river = sample.from_1km(world.terrain.river_distance_1km) < 1.8
    out = np.full(landscape.grid.shape, 2, dtype=np.uint8)
    out[(soil == MARINE_CLAY) & (q > -0.7)] = 1
    out[(soil == RIVER_CLAY) & near_river & (q > -0.5)] = 1
    out[(soil == LOESS) & (q > -0.3)] = 1
    out[(soil == PEAT) | (soil == DUNE)] = 3
    out[(soil == SAND) & ((elev > 25.0) | (q < -0.9) | dilate(landscape.zones.brooks, 2))] = 3
    out[~landscape.water.land] = 0
    return out
