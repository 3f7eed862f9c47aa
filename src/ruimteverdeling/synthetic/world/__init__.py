"""The world: everything about the synthetic Netherlands that does not depend on the grid.

For one seed, :func:`build_world` draws the geography in world metres (:mod:`.vectors`),
computes soil, river levels and elevation on the world lattices (:mod:`.terrain`), places
cities and villages and the urban potential (:mod:`.settlements`), lays out railways, roads and
brooks (:mod:`.networks`). Provinces (:mod:`.provinces`) are made on demand, as their clipping
depends on the cell size. The world is cached per seed: a second area of the same seed at
another size or resolution reuses it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from shapely.geometry import LineString

from ruimteverdeling.synthetic.fields import Noise
from ruimteverdeling.synthetic.geography import Geography, load_geography
from ruimteverdeling.synthetic.world.networks import Networks, brooks, networks
from ruimteverdeling.synthetic.world.provinces import province_polygons
from ruimteverdeling.synthetic.world.settlements import Settlements, settlements
from ruimteverdeling.synthetic.world.terrain import LatticeTerrain, lattice_terrain
from ruimteverdeling.synthetic.world.vectors import WorldVectors, world_vectors


@dataclass(frozen=True, eq=False)
class World:
    """Geometry and lattice fields of the synthetic Netherlands for one seed."""

    seed: int
    noise: Noise
    geography: Geography
    vectors: WorldVectors
    terrain: LatticeTerrain
    settlements: Settlements
    networks: Networks
    brooks: list[LineString]

    def province_polygons(self, cell_world: float) -> list[tuple[int, str, Any]]:
        """The 12 provinces as (code, name, world geometry), covering the study area."""
        return province_polygons(self.geography, self.vectors, self.settlements.cities,
                                 self.noise, cell_world)


@functools.lru_cache(maxsize=2)
def build_world(seed: int) -> World:
    """The world model for a seed (cached: it does not depend on the grid)."""
    noise = Noise(seed)
    geography = load_geography()
    vectors = world_vectors(geography, noise)
    terrain = lattice_terrain(geography, vectors, noise)
    places = settlements(geography, vectors, terrain, noise)
    return World(
        seed=seed, noise=noise, geography=geography, vectors=vectors, terrain=terrain,
        settlements=places, networks=networks(geography, places, terrain, noise),
        brooks=brooks(terrain, noise))


__all__ = ["World", "build_world"]
