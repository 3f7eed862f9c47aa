"""The twelve provinces as polygons covering the study area.

Every point of the 500 m lattice, displaced by ~2.5 km of noise, takes the province of its
nearest seed — the cities (by their province) and the extra seeds of the geography — a warped
Voronoi partition. Flevoland is exactly its polders, and no other land is Flevoland. The label
regions are polygonised, simplified as a coverage (350 m, no gaps or overlaps) and clipped to
the study area buffered by max(3 km, 2.5 cells).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from rasterio.features import shapes
from scipy.spatial import cKDTree
from shapely.geometry import shape
from shapely.ops import unary_union

from ruimteverdeling.synthetic.codes import KM
from ruimteverdeling.synthetic.fields import LATTICE_1KM, LATTICE_500M, Noise, bilinear
from ruimteverdeling.synthetic.geography import Geography
from ruimteverdeling.synthetic.geometry import burn
from ruimteverdeling.synthetic.world.settlements import Settlement
from ruimteverdeling.synthetic.world.vectors import WorldVectors

#: The CBS code of Flevoland.
FLEVOLAND = 5


def province_polygons(geo: Geography, vectors: WorldVectors, cities: list[Settlement],
                      noise: Noise, cell_world: float) -> list[tuple[int, str, Any]]:
    """The provinces as (code, name, world geometry), covering the study area."""
    lattice = LATTICE_500M
    xs, ys = lattice.xs, lattice.ys
    wx = bilinear(noise.octaves_1km("prov-x", (5.0, 1.5), (1.0, 0.4)),
                  LATTICE_1KM, xs, ys) * 2500.0
    wy = bilinear(noise.octaves_1km("prov-y", (5.0, 1.5), (1.0, 0.4)),
                  LATTICE_1KM, xs, ys) * 2500.0
    gx = xs[None, :] + wx
    gy = ys[:, None] + wy
    seeds = [(c.x, c.y, c.province) for c in cities]
    for province in geo.provinces:
        seeds += [(x * KM, y * KM, province.code) for x, y in province.seeds]
    seed_xy = np.array([(x, y) for x, y, _ in seeds])
    seed_code = np.array([c for _, _, c in seeds], dtype=np.int32)
    queries = np.column_stack([gx.ravel(), gy.ravel()])
    _, idx = cKDTree(seed_xy).query(queries)
    labels = seed_code[idx].reshape(lattice.shape)
    # Flevoland is exactly its polders; elsewhere on land no Flevoland
    flevo = burn([vectors.flevoland], lattice.shape, lattice.transform).astype(bool)
    land = burn([vectors.study], lattice.shape, lattice.transform).astype(bool)
    lakes = burn([vectors.big_lakes], lattice.shape, lattice.transform).astype(bool)
    wrong = (labels == FLEVOLAND) & ~flevo & land & ~lakes
    if wrong.any():
        keep = seed_code != FLEVOLAND
        _, idx2 = cKDTree(seed_xy[keep]).query(queries.reshape(lattice.ny, lattice.nx, 2)[wrong])
        labels[wrong] = seed_code[keep][idx2]
    labels[flevo] = FLEVOLAND
    labels = labels.astype(np.int32)
    geoms: dict[int, list[Any]] = {}
    for g, v in shapes(labels, transform=lattice.transform, connectivity=4):
        geoms.setdefault(int(v), []).append(shape(g))
    codes = sorted(geoms)
    merged = [unary_union(geoms[c]) for c in codes]
    simple = shapely.coverage_simplify(np.array(merged, dtype=object), 350.0)
    clip = vectors.study.buffer(max(3000.0, 2.5 * cell_world))
    names = geo.province_names
    out = []
    for c, g in zip(codes, simple, strict=True):
        g = shapely.make_valid(g).intersection(clip)
        if not g.is_empty:
            out.append((c, names[c], g))
    return out
