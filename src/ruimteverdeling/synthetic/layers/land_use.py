"""Current land use: uses assigned in priority order with exact target shares.

Every study-area cell starts as agriculture; water is the water geometry. Then, each use
taking the k = round(share × study cells) free cells of highest potential (exactly k, see
:data:`~ruimteverdeling.synthetic.codes.TARGET_SHARES`), in this order:

1. *water* — extra lakes (peat lakes, sand and gravel pits) up to the water share, where
   noise + peat / river clay / low sand is highest, never on floodplains, rarely on dikes;
2. *infrastructure* — the airports, then whole line segments in priority order (motorway and
   railway segments interleaved, then regional roads) until the share is reached;
3. *industry* in the industrial clusters;
4. *housing* — the highest urban potential (settlement kernels + noise), kept off
   floodplains, Natura 2000, defence grounds and dunes by penalties;
5. *industry* up to its share at the edges of towns (urban potential + noise);
6. *defence* within the training grounds;
7. *nature* — Natura 2000 (except noisy enclaves), corridors, dunes, floodplains, ridges and
   higher sand, noise patches; less on clay, peat and in polders;
8. *solar* (noise + solar regions + near towns), *wind* (wind zones + noise + dikes) and
   *water buffers* (floodplains, brooks, polders + noise).

Agriculture is the rest.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.synthetic.codes import (
    AGRICULTURE,
    DEFENCE,
    DUNE,
    HOUSING,
    INDUSTRY,
    INFRASTRUCTURE,
    LOESS,
    MARINE_CLAY,
    NATURE,
    PEAT,
    RIVER_CLAY,
    SAND,
    SOLAR,
    TARGET_SHARES,
    WATER,
    WATER_BUFFER,
    WIND,
)
from ruimteverdeling.synthetic.grid import Sampler, dilate, take_top
from ruimteverdeling.synthetic.landscape import Landscape, LandUse, Shores, Terrain, Water, Zones
from ruimteverdeling.synthetic.world import World


class _Allocation:
    """The land-use raster being filled, and the cells still free (agriculture)."""

    def __init__(self, study: np.ndarray, water: np.ndarray) -> None:
        self.n_study = int(study.sum())
        self.codes = np.zeros(study.shape, dtype=np.uint8)
        self.codes[study] = AGRICULTURE
        self.codes[water] = WATER
        self.free = self.codes == AGRICULTURE

    def target(self, use: str) -> int:
        """The number of cells of ``use``'s target share."""
        return round(TARGET_SHARES[use] * self.n_study)

    def assign(self, cells: np.ndarray, code: int) -> None:
        self.codes[cells] = code
        self.free &= ~cells

    def top(self, potential: np.ndarray, k: int, code: int,
            where: np.ndarray | None = None) -> np.ndarray:
        """Give the k free cells (within ``where``) of highest potential to ``code``."""
        cells = take_top(potential, self.free if where is None else self.free & where, k)
        self.assign(cells, code)
        return cells


def allocate_land_use(sample: Sampler, world: World, study: np.ndarray, water: Water,
                      terrain: Terrain, shores: Shores, zones: Zones) -> LandUse:
    """Assign the current land use (see the module docstring)."""
    noise, vectors = world.noise, world.vectors
    soil, uiter = terrain.soil, shores.uiterwaarden
    alloc = _Allocation(study, water.water)

    # 1. extra small lakes (peat lakes, sand and gravel pits) up to the water target
    dug_lakes = np.zeros(alloc.codes.shape, dtype=bool)
    extra_water = alloc.target("water") - int(water.water.sum())
    if extra_water > 0:
        lake_potential = (sample.from_1km(noise.field_1km("lakes", 1.2))
                          + 0.5 * sample.from_250m(noise.field_250m("lakes", 2.0))
                          + 1.0 * (soil == PEAT) + 0.6 * (soil == RIVER_CLAY)
                          + 0.3 * ((soil == SAND) & (terrain.elevation < 15)) - 3.0 * shores.dikes)
        dug_lakes = alloc.top(lake_potential, extra_water, WATER, where=~uiter)

    # 2. infrastructure: airports, then line segments in priority order up to the target
    airports = sample.mask(vectors.airports) & alloc.free
    alloc.assign(airports, INFRASTRUCTURE)
    need = alloc.target("infrastructure") - int(airports.sum())
    if need > 0:
        alloc.assign(_line_segments(sample, world, alloc.free, need), INFRASTRUCTURE)

    # 3. industrial clusters
    clusters = sample.mask([g for sites in vectors.clusters.values() for g in sites]) & alloc.free
    alloc.assign(clusters, INDUSTRY)

    # 4. housing: the top cells of the urban potential
    urban = sample.from_250m(world.settlements.urban_potential)
    urban += 0.16 * sample.from_1km(noise.octaves_1km("urban", (1.5, 4.0), (1.0, 0.6)))
    urban += 0.08 * sample.from_250m(noise.field_250m("urban-fine", 1.0))
    urban -= (2.0 * uiter + 1.2 * (zones.natura2000 & ~shores.salt_marshes)
              + 1.5 * zones.defence + 1.0 * (soil == DUNE))
    alloc.top(urban, alloc.target("housing"), HOUSING)

    # 5. industry at town edges, up to its share
    industry_potential = urban + 0.35 * sample.from_1km(noise.field_1km("industry", 1.5))
    alloc.top(industry_potential, alloc.target("industry") - int(clusters.sum()), INDUSTRY,
              where=~uiter)

    # 6. defence training grounds
    defence_potential = np.where(
        zones.defence, 1.0 + 0.3 * sample.from_250m(noise.field_250m("defence", 2.0)), -9.0)
    alloc.top(defence_potential, alloc.target("defence"), DEFENCE, where=zones.defence)

    # 7. nature
    alloc.top(_nature_potential(sample, world, terrain, shores, zones), alloc.target("nature"),
              NATURE)

    # 8. solar, wind, water buffers
    solar_potential = (sample.from_250m(noise.field_250m("solar", 1.2))
                       + 0.9 * sample.burn(vectors.solar_regions).astype(np.float32)
                       + 0.6 * (urban > -0.2) - 1.5 * uiter)
    alloc.top(solar_potential, alloc.target("solar"), SOLAR)
    wind_potential = (2.0 * sample.burn(vectors.wind_zones).astype(np.float32)
                      + sample.from_250m(noise.field_250m("wind", 0.5)) + 0.8 * shores.dikes)
    alloc.top(wind_potential, alloc.target("wind"), WIND)
    buffer_potential = (1.5 * uiter + 1.2 * dilate(zones.brooks) + 0.8 * terrain.in_polder
                        + sample.from_250m(noise.field_250m("buffer", 1.5)))
    alloc.top(buffer_potential, alloc.target("water_buffer"), WATER_BUFFER)
    return LandUse(codes=alloc.codes, dug_lakes=dug_lakes)


def _line_segments(sample: Sampler, world: World, free: np.ndarray, need: int) -> np.ndarray:
    """The free cells of the first infrastructure lines that together cover ``need`` cells.

    Each line is burnt with its priority rank (earlier lines win where they cross); the cut is
    the first rank at which the cumulative count of free cells reaches ``need``.
    """
    lines = world.networks.infra_lines
    n_lines = len(lines)
    rank = sample.burn(lines[::-1], list(range(n_lines, 0, -1)), dtype=np.int32)
    rank[~free] = 0
    counts = np.bincount(rank.ravel(), minlength=n_lines + 1)
    counts[0] = 0
    cumulative = np.cumsum(counts)
    cut = int(np.searchsorted(cumulative, need)) if cumulative[-1] >= need else n_lines
    return (rank > 0) & (rank <= cut)


def _nature_potential(sample: Sampler, world: World, terrain: Terrain, shores: Shores,
                      zones: Zones) -> np.ndarray:
    noise, soil = world.noise, terrain.soil
    potential = 0.3 * sample.from_1km(noise.octaves_1km("nature", (1.0, 3.0), (1.0, 0.5)))
    potential += 0.7 * sample.from_250m(noise.field_250m("nature-fine", 1.5))
    enclave = sample.from_1km(noise.field_1km("n2000-enclave", 1.5)) > 1.1
    potential += (3.0 * (zones.natura2000 & ~enclave) + 1.2 * zones.nnn_corridors
                  + 2.0 * shores.dunes + 0.6 * shores.uiterwaarden)
    relief = sample.from_250m(world.terrain.relief)
    sand = soil == SAND
    potential += 1.0 * (sand & (relief > 4.0)) + 0.4 * (sand & (relief > 0.0)) + 0.3 * sand
    potential += 0.2 * (soil == LOESS)
    potential -= (0.9 * (soil == MARINE_CLAY) + 0.5 * (soil == RIVER_CLAY)
                  + 0.2 * (soil == PEAT) + 1.0 * (terrain.in_polder & ~zones.natura2000))
    return potential


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------


def landuse(landscape: Landscape) -> np.ndarray:
    return landscape.land_use.codes
