"""Railways, motorways, regional roads and brooks.

*Railways and motorways* run through their stops (city positions or waypoints); every segment
gets two jittered intermediate points (sd 3.5 % of its length for rails, 4 % for roads). A
city not on any railway gets a branch line to the nearest city that is, so every station lies
on the network.

*Regional roads* are the Delaunay triangulation of all settlements, without edges over 13 km or
over the sea and the big lakes: the edges of its minimum spanning tree first, then the others
by length. The infrastructure land use takes line segments in priority order — motorway and
railway segments interleaved, then regional roads — until its target share is met.

*Brooks* rise at up to 320 random points of the sandy uplands above 5 m and follow the
steepest descent on the (jittered) 1 km elevation for at most 45 steps, stopping where they
join an earlier brook or leave the uplands; each path is jittered and smoothed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay
from shapely.geometry import LineString

from ruimteverdeling.synthetic.codes import KM, LOESS, SAND
from ruimteverdeling.synthetic.fields import LATTICE_1KM, LATTICE_250M, Noise
from ruimteverdeling.synthetic.geography import Geography, Route
from ruimteverdeling.synthetic.geometry import chaikin, wobbly
from ruimteverdeling.synthetic.world.settlements import Settlement, Settlements
from ruimteverdeling.synthetic.world.terrain import LatticeTerrain


@dataclass(frozen=True, eq=False)
class Networks:
    #: Named railway lines (written to ``railways.gpkg``).
    railways: list[tuple[str, LineString]]
    #: Infrastructure segments in priority order (motorway and rail, then regional roads).
    infra_lines: list[LineString]


def _route_points(route: Route, cities: list[Settlement]) -> list[tuple[float, float]]:
    by_name = {c.name: (c.x, c.y) for c in cities}
    return [by_name[p] if isinstance(p, str) else (p[0] * KM, p[1] * KM) for p in route.stops]


def networks(geo: Geography, places: Settlements, terrain: LatticeTerrain,
             noise: Noise) -> Networks:
    """Lay out railways, motorways and regional roads (see the module docstring)."""
    cities = places.cities
    railways: list[tuple[str, LineString]] = []
    rail_segments: list[LineString] = []
    for route in geo.railways:
        pts = _route_points(route, cities)
        rng = noise.rng(f"rail:{route.name}")
        full: list[tuple[float, float]] = [pts[0]]
        for a, b in itertools.pairwise(pts):
            seg = wobbly([a, b], rng, 0.035)
            rail_segments.append(LineString(seg))
            full.extend(seg[1:])
        railways.append((route.name, LineString(full)))
    # every station must be on the network
    on_network = {s for route in geo.railways for s in route.stops if isinstance(s, str)}
    for c in cities:
        if c.name not in on_network:
            others = [o for o in cities if o.name in on_network]
            o = min(others, key=lambda o, c=c: math.hypot(o.x - c.x, o.y - c.y))
            line = LineString(wobbly([(c.x, c.y), (o.x, o.y)], noise.rng(f"rail:{c.name}")))
            railways.append((f"{c.name} - {o.name}", line))
            rail_segments.append(line)

    motor_segments: list[LineString] = []
    for route in geo.motorways:
        pts = _route_points(route, cities)
        rng = noise.rng(f"road:{route.name}")
        for a, b in itertools.pairwise(pts):
            motor_segments.append(LineString(wobbly([a, b], rng, 0.04)))

    # priority: motorway and railway segments interleaved, then regional roads
    main: list[LineString] = []
    for k in range(max(len(motor_segments), len(rail_segments))):
        if k < len(motor_segments):
            main.append(motor_segments[k])
        if k < len(rail_segments):
            main.append(rail_segments[k])
    roads = _regional_roads([*cities, *places.villages], terrain, noise)
    return Networks(railways, main + roads)


def _regional_roads(places: list[Settlement], terrain: LatticeTerrain,
                    noise: Noise) -> list[LineString]:
    """A Delaunay/MST road network between all settlements, MST edges first."""
    xy = np.array([(s.x, s.y) for s in places])
    tri = Delaunay(xy)
    edges = np.vstack([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]],
                       tri.simplices[:, [0, 2]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    length = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    short = length < 13_000.0
    # reject edges that cross the sea or big lakes (sampled on the 250 m lattice)
    lattice = LATTICE_250M
    t = np.linspace(0.0, 1.0, 12)[None, :]
    px = xy[edges[:, 0], 0][:, None] * (1 - t) + xy[edges[:, 1], 0][:, None] * t
    py = xy[edges[:, 0], 1][:, None] * (1 - t) + xy[edges[:, 1], 1][:, None] * t
    jx = np.clip(((px - lattice.x0) / lattice.step).astype(int), 0, lattice.nx - 1)
    jy = np.clip(((lattice.y1 - py) / lattice.step).astype(int), 0, lattice.ny - 1)
    on_land = (terrain.study[jy, jx] & ~terrain.big_lakes[jy, jx]).all(axis=1)
    edges, length = edges[short & on_land], length[short & on_land]
    n = len(places)
    graph = coo_matrix((length, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    mst = minimum_spanning_tree(graph).tocoo()
    in_mst = {(min(a, b), max(a, b)) for a, b in zip(mst.row, mst.col, strict=True)}
    first = np.array([(int(a), int(b)) in in_mst for a, b in edges])
    order = np.lexsort((length, ~first))
    rng = noise.rng("n-roads")
    return [LineString(wobbly([tuple(xy[edges[i, 0]]), tuple(xy[edges[i, 1]])], rng, 0.05))
            for i in order]


def brooks(terrain: LatticeTerrain, noise: Noise) -> list[LineString]:
    """Brooks of the sandy uplands by steepest descent (see the module docstring)."""
    lattice = LATTICE_1KM
    rng = noise.rng("brooks")
    # 1 km versions of the 250 m lattice fields (centre samples)
    centres = (slice(2, None, 4), slice(2, None, 4))
    soil = terrain.soil[centres]
    study = terrain.study[centres]
    water = terrain.water[centres]
    elev = ndimage.gaussian_filter(terrain.elevation[centres], 1.2)
    elev = elev + 0.3 * noise.field_1km("brook-jitter", 1.0)
    upland = np.isin(soil, (SAND, LOESS)) & study & ~water
    sources = np.flatnonzero(upland & (elev > 5.0))
    starts = rng.choice(sources, size=min(320, sources.size), replace=False)
    visited = np.zeros(lattice.shape, dtype=bool)
    neighbours = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    out: list[LineString] = []
    for s in starts:
        i, j = divmod(int(s), lattice.nx)
        if visited[i, j]:
            continue
        path = [(i, j)]
        for _ in range(45):
            best, bi, bj = elev[i, j], -1, -1
            for di, dj in neighbours:
                a, b = i + di, j + dj
                if 0 <= a < lattice.ny and 0 <= b < lattice.nx:
                    v = elev[a, b] + (0.0 if di == 0 or dj == 0 else 0.05)
                    if v < best:
                        best, bi, bj = v, a, b
            if bi < 0:
                break
            i, j = bi, bj
            path.append((i, j))
            if visited[i, j] or not upland[i, j]:
                break
        if len(path) < 4:
            continue
        for a, b in path[:-1]:
            visited[a, b] = True
        p = np.array([(lattice.xs[b], lattice.ys[a]) for a, b in path], dtype=float)
        p[1:-1] += rng.uniform(-350.0, 350.0, size=(len(p) - 2, 2))
        out.append(LineString(chaikin(p, 2)))
    return out
