"""Water, floodplains, dikes and river reservations on the grid.

*Water* is the rasterised geometry of the world: big and small lakes, and every river and
canal as its line buffered by half its width. Rivers with floodplains are always at least one
cell wide, and on grids of at most 300 m (in the world) every river and canal is, so the
network stays connected.

*Floodplains* (uiterwaarden) are bands along the rivers that have them, of a noisy width
between 0.45 and 1.5 km beyond the water (nested buffers of 0.3–1.5 km; a cell is floodplain
when its band is at most the wanted width), plus the land next to their water, never a big lake.

*Primary dikes* are the land cells just outside the floodplains that lie below the design
water level, along the sea and the salt marshes except at dunes, and along the big lakes and
the IJsselmeer's buitendijks land except at dunes. *Salt marshes* (kwelders) lie within a noisy
0.15–0.75 km of the sea along the Wadden coast; *buitendijks* land is the land next to the
IJsselmeer area where a noise field exceeds −0.3.

*River reservations* are noise patches (coarse noise > 0.35) within 2.9 km of Waal, Lek and
IJssel, on unbuilt land outside floodplains and dikes and below the design level + 1 m. On
grids whose cells are as coarse as the patches (about 1.5 km and more in the world) none may be
left; then each of the three rivers gets the one cell of its 2.9 km zone with the highest patch
noise, on unbuilt land outside the river bed (outside the dikes and below the design level
+ 1 m where its zone has such a cell), or, where its zone is all river bed or built, the unbuilt
land cell nearest to it. So the layer is empty only on a grid without unbuilt land, and a
decided rule on it has land to act on at every scale; on grids where patches remain nothing
changes.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.ops import unary_union

from ruimteverdeling.synthetic.codes import DUNE, KM
from ruimteverdeling.synthetic.fields import unit
from ruimteverdeling.synthetic.geometry import polygon
from ruimteverdeling.synthetic.grid import Sampler, dilate
from ruimteverdeling.synthetic.landscape import Landscape, Shores, Terrain, Water
from ruimteverdeling.synthetic.world import World

RESERVATION_ZONE_M = 2900.0
"""River reservations lie within this distance (world metres) of their river."""

# ------------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------------


def water_bodies(sample: Sampler, world: World, study: np.ndarray) -> Water:
    """Sea, lakes, rivers and canals on the grid (see the module docstring)."""
    vectors = world.vectors
    foreign = sample.mask([vectors.foreign]) & ~study
    sea = ~study & ~foreign
    water = sample.mask([vectors.big_lakes, *vectors.small_lakes])
    shape = sample.grid.shape
    river_water = np.zeros(shape, dtype=bool)        # big rivers (at the river level)
    canal_water = np.zeros(shape, dtype=bool)        # canals and small rivers
    floodplain_rivers = np.zeros(shape, dtype=bool)  # rivers with floodplains
    fine_grid = sample.grid.cell_world <= 300.0
    for r in vectors.rivers:
        w = sample.mask([r.line.buffer(r.half_width)])
        if r.floodplain is not None or fine_grid:  # the big rivers: at least one cell
            w |= sample.mask([r.line])
        if r.floodplain is not None or r.half_width >= 0.1 * KM:
            river_water |= w
        else:
            canal_water |= w
        if r.floodplain is not None:
            floodplain_rivers |= w
    water |= river_water | canal_water
    water &= study
    return Water(
        sea=sea, water=water, river_water=river_water,
        floodplain_rivers=floodplain_rivers & study,
        ijssel_lakes=sample.mask([vectors.ijssel_lakes]) & study,
        big_lakes=sample.mask([vectors.big_lakes]) & study,
        land=study & ~water)


def floodplains(sample: Sampler, world: World, water: Water) -> np.ndarray:
    """The floodplain (uiterwaarden) mask (see the module docstring)."""
    widths = np.arange(0.3, 1.61, 0.2) * KM
    rivers = [r for r in world.vectors.rivers if r.floodplain is not None]
    geoms, values = [], []
    for k in range(len(widths) - 1, -1, -1):  # widest first: narrower bands overwrite
        geoms.append(unary_union([r.line.buffer(r.half_width + widths[k]) for r in rivers]))
        values.append(k + 1)
    band = sample.burn(geoms, values)
    wanted = 0.45 + 1.05 * unit(sample.from_1km(world.noise.field_1km("floodplain-width", 3.0)))
    band_width = np.concatenate([[0.0], widths / KM]).astype(np.float32)[band]
    uiterwaarden = (band > 0) & (band_width <= wanted) & water.land
    uiterwaarden |= dilate(water.floodplain_rivers) & water.land
    uiterwaarden &= ~water.big_lakes
    return uiterwaarden


def shores_and_dikes(sample: Sampler, world: World, water: Water, terrain: Terrain,
                     uiterwaarden: np.ndarray) -> Shores:
    """Dunes, salt marshes, buitendijks land and primary dikes (see the module docstring).

    ``terrain`` is the terrain with the floodplains already raised.
    """
    noise, land = world.noise, water.land
    river_bed = uiterwaarden | water.floodplain_rivers
    dunes = terrain.soil == DUNE
    salt_marsh_zone = sample.mask([polygon(world.geography.salt_marsh_coast)])
    distance_to_sea = sample.from_250m(world.terrain.distance_to_sea)
    salt_marshes = (salt_marsh_zone & land & (distance_to_sea < 0.15 + 0.6 * unit(
        sample.from_1km(noise.field_1km("kwelder", 3.0)))) & ~dunes)
    buitendijks = (dilate(water.ijssel_lakes) & land
                   & (sample.from_250m(noise.field_250m("buitendijks", 2.0)) > -0.3))
    dike_river = dilate(river_bed) & land & ~river_bed & (terrain.elevation < terrain.design_level)
    dike_sea = dilate(water.sea | salt_marshes) & land & ~salt_marshes & ~dunes
    dike_lake = dilate(water.big_lakes | buitendijks) & land & ~buitendijks & ~dunes
    return Shores(uiterwaarden=uiterwaarden, river_bed=river_bed, dunes=dunes,
                  salt_marshes=salt_marshes, buitendijks=buitendijks,
                  dikes=dike_river | dike_sea | dike_lake, distance_to_sea=distance_to_sea)


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------


def uiterwaarden(landscape: Landscape) -> np.ndarray:
    return landscape.shores.uiterwaarden


def primary_dikes(landscape: Landscape) -> np.ndarray:
    return landscape.shores.dikes


def ijsselmeer_buitendijks(landscape: Landscape) -> np.ndarray:
    return landscape.shores.buitendijks


def river_reservation(landscape: Landscape) -> np.ndarray:
    world, sample, terrain = landscape.world, landscape.sample, landscape.terrain
    shores = landscape.shores
    lines = [r.line for r in world.vectors.rivers if r.reservation]
    zone = sample.mask([unary_union([ln.buffer(RESERVATION_ZONE_M) for ln in lines])])
    noise = sample.from_1km(world.noise.field_1km("reservation", 2.0))
    free = landscape.water.land & ~shores.river_bed & ~landscape.built
    low = ~shores.dikes & (terrain.elevation < terrain.design_level + 1.0)
    mask = zone & (noise > 0.35) & free & low
    if mask.any():
        return mask
    # patches narrower than a cell: one cell per river keeps the decided reservation on the map
    grid = landscape.grid
    for line in lines:
        near = sample.mask([line.buffer(RESERVATION_ZONE_M)])
        for candidates in (near & free & low, near & free):
            if candidates.any():
                cells = np.flatnonzero(candidates)
                mask.flat[cells[np.argmax(noise.flat[cells])]] = True
                break
        else:  # the zone is all river bed or built: the free cell nearest to the river
            cells = np.flatnonzero(free)
            if cells.size:
                rows, cols = np.divmod(cells, grid.width)
                dist = shapely.distance(shapely.points(grid.xs[cols], grid.ys[rows]), line)
                mask.flat[cells[np.argmin(dist)]] = True
    return mask
