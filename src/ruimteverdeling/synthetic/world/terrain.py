"""Soil, river levels and elevation on the world lattices.

*Soil* (250 m lattice). Sand is the default; the peat, marine-clay and loess zones of the
geography are painted over it in that order, their borders warped by a noise displacement of
~1.8 km; deep polders are marine clay. River clay lies within a noisy distance w of the big
rivers (Rhine branches 3.5–6 km, IJssel 1.2–3.2 km, Maas 1.0–3.2 km, 0.3–0.9 km in South
Limburg): a cell is river clay when d < w outside the loess or d < w/2 anywhere. Dune sand lies
within a noisy distance of the sea along the dune coasts.

*River levels* (1 km lattice). Every lattice point takes the mean water level of the nearest
point on the big rivers (interpolated along each river between its vertices, smoothed); the
design level adds 2.5 m plus up to 2 m upstream. Both are later read by the floodplain, dike
and flood-depth layers.

*Elevation* (m NAP, 250 m lattice) follows soil: sand rises 0.55 m per km from the lowlands
(plus up to 14 m in the south) with hills and ridges added, peat lies just below NAP (deeper to
the west), clay around NAP, river clay just above river level, loess rises to ~300 m in South
Limburg, dunes reach ~25 m. The result is smoothed (σ = 1.5 cells) and roughened by noise of a
soil-dependent amplitude. ``relief`` is the elevation minus its 4 km Gaussian mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from ruimteverdeling.synthetic.codes import DUNE, KM, LOESS, MARINE_CLAY, PEAT, RIVER_CLAY, SAND
from ruimteverdeling.synthetic.fields import (
    LATTICE_1KM,
    LATTICE_250M,
    Noise,
    bilinear,
    distance_km,
    unit,
)
from ruimteverdeling.synthetic.geography import Geography
from ruimteverdeling.synthetic.geometry import burn, metres, polygon
from ruimteverdeling.synthetic.world.vectors import WorldVectors

#: The rivers whose water levels make the river-level field: those with floodplains and the
#: tidal Rhine branches below Dordrecht.
TIDAL_LEVEL_RIVERS = ("Noord en Nieuwe Maas", "Oude Maas")

#: River-clay bands: group -> (rivers, min width km, max width km).
RIVER_CLAY_GROUPS: dict[str, tuple[tuple[str, ...], float, float]] = {
    "rhine": (("Waal", "Nederrijn en Lek", "Nieuwe Merwede", "Noord en Nieuwe Maas",
               "Oude Maas"), 3.5, 6.0),
    "ijssel": (("IJssel",), 1.2, 3.2),
    "maas": (("Maas",), 1.0, 3.2),
}


@dataclass(frozen=True, eq=False)
class LatticeTerrain:
    """Masks and fields of the world on the lattices (250 m unless named ``_1km``)."""

    study: np.ndarray
    sea: np.ndarray
    big_lakes: np.ndarray
    #: Big lakes, small lakes and rivers, inside the study area.
    water: np.ndarray
    natura2000: np.ndarray
    #: South Limburg's loess zone, filled outwards like the soil.
    heuvelland: np.ndarray
    #: Soil codes, the labels filled outwards so that lookups near the coast find a soil.
    soil: np.ndarray
    river_level_1km: np.ndarray
    design_level_1km: np.ndarray
    river_distance_1km: np.ndarray
    #: Distance (km) to the sea, and to the sea or the big lakes.
    distance_to_sea: np.ndarray
    distance_to_open_water: np.ndarray
    elevation: np.ndarray
    relief: np.ndarray


def _river_levels(geo_vectors: WorldVectors) -> tuple[np.ndarray, np.ndarray]:
    """Mean water level (m NAP) and distance (m) of the nearest big-river point, 1 km lattice."""
    points, levels = [], []
    for r in geo_vectors.rivers:
        if r.floodplain is None and r.name not in TIDAL_LEVEL_RIVERS:
            continue
        coords = shapely.get_coordinates(shapely.segmentize(r.line, 250.0))
        # interpolate the vertex levels along the line
        vertex_at = np.array([r.line.project(Point(p)) for p in r.line.coords])
        coord_at = np.array([r.line.project(Point(p)) for p in coords])
        points.append(coords)
        levels.append(np.interp(coord_at, vertex_at, r.levels))
    all_points, all_levels = np.vstack(points), np.concatenate(levels)
    cx, cy = np.meshgrid(LATTICE_1KM.xs, LATTICE_1KM.ys)
    dist, idx = cKDTree(all_points).query(np.column_stack([cx.ravel(), cy.ravel()]))
    return all_levels[idx].reshape(LATTICE_1KM.shape).astype(np.float32), dist


def _nearest_line(lines: list[LineString], ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distance (km) to the nearest of ``lines`` and that line's id, on the 250 m lattice."""
    lattice = LATTICE_250M
    labels = burn(lines, lattice.shape, lattice.transform, values=ids, all_touched=True)
    dist, (ni, nj) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    return (dist * lattice.step / KM).astype(np.float32), labels[ni, nj]


def lattice_terrain(geo: Geography, vectors: WorldVectors, noise: Noise) -> LatticeTerrain:
    """Soil, river levels and elevation of the world (see the module docstring)."""
    for name in (*TIDAL_LEVEL_RIVERS, *(n for g in RIVER_CLAY_GROUPS.values() for n in g[0])):
        geo.river(name)  # the names above must be rivers of the geography
    lattice = LATTICE_250M
    transform = lattice.transform
    xs, ys = lattice.xs, lattice.ys
    X = (xs / KM)[None, :].astype(np.float32)
    Y = (ys / KM)[:, None].astype(np.float32)

    study = burn([vectors.study], lattice.shape, transform).astype(bool)
    foreign = burn([vectors.foreign], lattice.shape, transform).astype(bool)
    sea = ~study & ~foreign
    big_lakes = burn([vectors.big_lakes], lattice.shape, transform).astype(bool) & study
    water_geoms = [vectors.big_lakes, *vectors.small_lakes]
    water_geoms += [r.line.buffer(max(r.half_width, 60.0)) for r in vectors.rivers]
    water = burn(water_geoms, lattice.shape, transform).astype(bool) & study
    natura2000 = burn(vectors.natura2000, lattice.shape, transform).astype(bool)

    # ---- soil zones, their borders warped by ~1.8 km of noise
    warp_x = bilinear(noise.octaves_1km("warp-x", (6.0, 2.0), (1.0, 0.35)),
                      LATTICE_1KM, xs, ys) * 1800.0
    warp_y = bilinear(noise.octaves_1km("warp-y", (6.0, 2.0), (1.0, 0.35)),
                      LATTICE_1KM, xs, ys) * 1800.0
    jx = np.clip(((xs[None, :] + warp_x - lattice.x0) / lattice.step).astype(np.int32),
                 0, lattice.nx - 1)
    jy = np.clip(((lattice.y1 - (ys[:, None] + warp_y)) / lattice.step).astype(np.int32),
                 0, lattice.ny - 1)
    zones = burn([polygon(a.outline) for a in geo.peat_zones]
                 + [polygon(a.outline) for a in geo.marine_clay_zones]
                 + [polygon(geo.loess_zone)], lattice.shape, transform,
                 values=[PEAT] * len(geo.peat_zones)
                 + [MARINE_CLAY] * len(geo.marine_clay_zones) + [LOESS])
    zones = zones[jy, jx]
    soil = np.where(zones == 0, SAND, zones).astype(np.uint8)
    heuvelland = zones == LOESS
    polder_ids = burn([p.polygon for p in vectors.polders], lattice.shape, transform,
                      values=[p.id for p in vectors.polders], dtype=np.uint16)
    soil[polder_ids > 0] = MARINE_CLAY

    # ---- river levels (1 km lattice)
    level_1km, river_dist = _river_levels(vectors)
    river_level_1km = ndimage.gaussian_filter(level_1km, 1.0)
    design_level_1km = (river_level_1km + 2.5
                        + 2.0 * np.clip(river_level_1km / 5.0, 0.0, 1.0))
    river_distance_1km = (river_dist / KM).reshape(LATTICE_1KM.shape).astype(np.float32)
    river_level = bilinear(river_level_1km, LATTICE_1KM, xs, ys)

    # ---- river clay: a noisy band along the big rivers; the nearest line tells the group
    group_lines = [(gi, r.line) for gi, (names, _, _) in enumerate(RIVER_CLAY_GROUPS.values())
                   for r in vectors.rivers if r.name in names]
    dist_river, nearest = _nearest_line([ln for _, ln in group_lines],
                                        [g + 1 for g, _ in group_lines])
    u = unit(bilinear(noise.field_1km("rclay", 4.0), LATTICE_1KM, xs, ys))
    clay_width = np.zeros(lattice.shape, dtype=np.float32)
    for gi, (group, (_, wmin, wmax)) in enumerate(RIVER_CLAY_GROUPS.items()):
        group_width = wmin + (wmax - wmin) * u
        if group == "maas":  # narrow valley in South Limburg
            group_width = np.where(Y < 345.0, 0.3 + 0.6 * u, group_width)
        clay_width = np.where(nearest == gi + 1, group_width, clay_width)
    soil[(dist_river < clay_width) & (soil != LOESS) | (dist_river < 0.5 * clay_width)] = \
        RIVER_CLAY
    del dist_river, nearest

    # ---- dunes: within a noisy distance of the sea along dune coasts
    distance_to_sea = distance_km(sea, lattice)
    distance_to_open_water = np.minimum(distance_to_sea, distance_km(big_lakes, lattice))
    dune_width = np.zeros(lattice.shape, dtype=np.float32)
    du = unit(bilinear(noise.field_1km("dune-width", 5.0), LATTICE_1KM, xs, ys))
    for coast in geo.dune_coasts:
        wmin, wmax = coast.width
        zone = burn([polygon(coast.outline)], lattice.shape, transform).astype(bool)
        dune_width = np.where(zone, np.maximum(dune_width, wmin + (wmax - wmin) * du),
                              dune_width)
    soil[study & (distance_to_sea < dune_width) & ~big_lakes] = DUNE

    # fill the labels outwards so that lookups near the coast never hit "no soil"
    idx = ndimage.distance_transform_edt(~study, return_distances=False, return_indices=True)
    soil = soil[idx[0], idx[1]]
    heuvelland = heuvelland[idx[0], idx[1]]

    elevation = _elevation(geo, noise, soil, sea, river_level, distance_to_sea, dune_width,
                           X, Y)
    return LatticeTerrain(
        study=study, sea=sea, big_lakes=big_lakes, water=water, natura2000=natura2000,
        heuvelland=heuvelland, soil=soil, river_level_1km=river_level_1km,
        design_level_1km=design_level_1km, river_distance_1km=river_distance_1km,
        distance_to_sea=distance_to_sea, distance_to_open_water=distance_to_open_water,
        elevation=elevation, relief=elevation - ndimage.gaussian_filter(elevation, 16.0))


def _elevation(geo: Geography, noise: Noise, soil: np.ndarray, sea: np.ndarray,
               river_level: np.ndarray, distance_to_sea: np.ndarray, dune_width: np.ndarray,
               X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Elevation (m NAP) on the 250 m lattice by soil (see the module docstring)."""
    lattice = LATTICE_250M
    xs, ys = lattice.xs, lattice.ys
    sandlike = (soil == SAND) | (soil == LOESS)
    d_low = distance_km(~sandlike | sea, lattice)
    n1 = unit(bilinear(noise.field_1km("elev-a", 3.0), LATTICE_1KM, xs, ys))
    n2 = unit(noise.field_250m("elev-b", 2.0))
    e_sand = 2.0 + 0.55 * np.clip(d_low, 0.0, 60.0) + 12.0 * np.clip((388.0 - Y) / 20.0,
                                                                     0.0, 1.2)
    relief = np.zeros(lattice.shape, dtype=np.float32)
    for h in geo.hills:
        relief += h.amplitude * np.exp(-0.5 * (((X - h.x) / h.sx) ** 2 + ((Y - h.y) / h.sy) ** 2))
    dist, nearest = _nearest_line([LineString(metres(r.line)) for r in geo.ridges],
                                  list(range(1, len(geo.ridges) + 1)))
    for k, ridge in enumerate(geo.ridges):
        relief += np.where(nearest == k + 1,
                           ridge.amplitude * np.exp(-0.5 * (dist / ridge.half_width) ** 2), 0.0)
    del dist, nearest
    relief *= 0.75 + 0.5 * n1
    e_sand = e_sand + relief
    e_peat = -0.4 - 0.9 * np.clip((145.0 - X) / 50.0, 0.0, 1.0) - 0.5 * n1
    e_clay = (0.3 + 0.7 * n1 + 0.6 * (Y > 565.0)
              - 1.0 * ((X < 140.0) & (Y > 425.0) & (Y < 530.0)))
    e_river = river_level + 0.5 + 1.2 * n1
    e_loess = (50.0 + 250.0 * np.clip((X - 176.0) / 28.0, 0.0, 1.0)
               * np.clip((335.0 - Y) / 25.0, 0.0, 1.0) ** 0.7)
    profile = np.maximum(np.sin(np.pi * np.clip(distance_to_sea / np.maximum(dune_width, 0.2),
                                                0.0, 1.0)), 0.0) ** 0.6
    e_dune = 3.0 + 22.0 * n2 ** 1.5 * profile + 3.0 * n1
    elev = np.select([soil == SAND, soil == PEAT, soil == MARINE_CLAY, soil == RIVER_CLAY,
                      soil == LOESS, soil == DUNE],
                     [e_sand, e_peat, e_clay, e_river, e_loess, e_dune], 0.0)
    elev = np.where(sea, -4.0, elev).astype(np.float32)
    elev = ndimage.gaussian_filter(elev, 1.5)
    amplitude = np.select([soil == SAND, soil == LOESS, soil == DUNE, soil == PEAT],
                          [2.0, 18.0, 2.5, 0.15], 0.3).astype(np.float32)
    rough = (0.7 * bilinear(noise.field_1km("elev-c", 2.0), LATTICE_1KM, xs, ys)
             + 0.3 * noise.field_250m("elev-d", 1.0))
    elev = np.where(soil == LOESS, np.maximum(elev + amplitude * rough, 40.0),
                    elev + amplitude * rough)
    return elev.astype(np.float32)
