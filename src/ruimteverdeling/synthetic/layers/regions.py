"""Regions: the deep polders (a raster of region ids) and the provinces (polygons).

The provinces are the warped Voronoi regions of :mod:`ruimteverdeling.synthetic.world.provinces`,
clipped near the study area; should the clipped polygons miss a study cell on a very coarse
grid, the unclipped ones are written instead, so that every study cell has a province.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.synthetic.geometry import burn
from ruimteverdeling.synthetic.landscape import Landscape


def deep_polders(landscape: Landscape) -> np.ndarray:
    return np.where(landscape.water.land, landscape.terrain.polder_ids, 0).astype(np.uint16)


def deep_polder_names(layer: np.ndarray, landscape: Landscape) -> dict[int, str]:
    """The names of the polders that have cells in ``layer`` (its categories)."""
    return {p.id: p.name for p in landscape.world.vectors.polders if (layer == p.id).any()}


def provinces(landscape: Landscape) -> tuple[list[dict[str, object]], list[object]]:
    """Province records (code, name) and polygons in grid coordinates."""
    world, grid = landscape.world, landscape.grid
    polygons = world.province_polygons(grid.cell_world)
    cover = burn([g for _, _, g in polygons], grid.shape, grid.world_transform,
                 [c for c, _, _ in polygons], dtype=np.int32)
    if (landscape.study & (cover == 0)).any():  # fall back to the unclipped polygons
        polygons = world.province_polygons(1e9)
    return ([{"code": c, "name": n} for c, n, _ in polygons],
            [grid.to_grid(g) for _, _, g in polygons])
