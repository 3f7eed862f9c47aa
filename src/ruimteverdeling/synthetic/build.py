"""Building the landscape on the grid: the named steps, in order.

Each step reads the world (grid-independent, cached per seed) through the
:class:`~ruimteverdeling.synthetic.grid.Sampler` and the products of the steps before it, and
returns a new frozen record; nothing is modified in place. The layers of the area are then
built from the finished :class:`~ruimteverdeling.synthetic.landscape.Landscape` (see
:mod:`ruimteverdeling.synthetic.catalogue`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ruimteverdeling.synthetic.grid import Grid, Sampler
from ruimteverdeling.synthetic.landscape import Landscape
from ruimteverdeling.synthetic.layers.land_use import allocate_land_use
from ruimteverdeling.synthetic.layers.terrain import dig_lakes, raise_floodplains, terrain_on_grid
from ruimteverdeling.synthetic.layers.water import floodplains, shores_and_dikes, water_bodies
from ruimteverdeling.synthetic.layers.zones import protected_zones
from ruimteverdeling.synthetic.world import World


def build_landscape(world: World, grid: Grid, study: np.ndarray,
                    progress: Callable[[str], None]) -> Landscape:
    """Water, terrain, floodplains and shores, protected zones and land use on ``grid``."""
    sample = Sampler(world, grid)
    progress("water and rivers")
    water = water_bodies(sample, world, study)
    progress("soil and elevation")
    terrain = terrain_on_grid(sample, world, study, water)
    progress("floodplains and dikes")
    uiterwaarden = floodplains(sample, world, water)
    terrain = raise_floodplains(terrain, uiterwaarden)
    shores = shores_and_dikes(sample, world, water, terrain, uiterwaarden)
    progress("protected zones")
    zones = protected_zones(sample, world, study, water, shores)
    progress("land use")
    land_use = allocate_land_use(sample, world, study, water, terrain, shores, zones)
    terrain = dig_lakes(terrain, land_use.dug_lakes)
    return Landscape(world=world, grid=grid, sample=sample, study=study, water=water,
                     terrain=terrain, shores=shores, zones=zones, land_use=land_use,
                     built=land_use.built)
