"""A synthetic, Netherlands-like study area (``ruimteverdeling make-area``).

:func:`make_area` writes a complete study area — GeoTIFF rasters, three GeoPackages and an
``area.yaml`` manifest — that looks and behaves like the Netherlands without any external
data. The demo, the tests and the benchmarks run on it. It is *not* real data: every shape is
hand-drawn or random, errors of several km are normal.

The landscape model
-------------------
*Geometry and scale.* Everything is defined in real RD New (EPSG:28992) coordinates, in
"world" metres (see :mod:`._nl_geography`): a hand-drawn outline of the country (Wadden
islands included; North Sea, Wadden Sea, Westerschelde, Oosterschelde, Belgium and Germany
outside, code 0), the IJsselmeer, Markermeer, Randmeren and delta lakes (inside, as water),
the big rivers (Rhine → Waal, Nederrijn/Lek and IJssel; Maas) with their mean water levels,
about 95 cities at their real positions sized by population, 650 random villages, deep
polders, Natura 2000 areas, training grounds, industrial clusters and airports. The study area
(outline incl. inland water) is about 38,300 km², i.e. 3.83 M cells of 100 m. The output grid
is the world scaled about SCALE_ORIGIN (Amersfoort) by the factor ``s`` that gives ``cells``
study-area cells; when ``cells × resolution²`` equals the real area, ``s = 1`` and the grid
lies on real RD coordinates (a multiple of the resolution). ``s`` is recorded in the manifest.

*Fields.* Random smooth fields (widths, patches, relief, the warping of zone borders) live on
fixed world lattices of 1 km and 250 m and are interpolated onto the grid, so a seed gives the
same landscape at every resolution; only sub-lattice detail differs. Vector features (rivers,
roads, railways, brooks, zones) are rasterised from their world geometry, so lines stay one
cell wide at any resolution. The grid-independent part (the "world") is cached per seed.

*Layers.* Soil zones (peat, marine clay, loess) are painted from hand-drawn polygons whose
borders are warped by noise; river clay lies within a noisy distance of the big rivers and
dune sand within a noisy distance of the dune coasts. Elevation follows from soil: deep polders
at their polder level (−3 to −6 m), peat just below NAP, clay around NAP, the river area just
above river level, sandy ground rising with distance from the lowlands plus hills (Veluwe to
~100 m, Utrechtse Heuvelrug, Sallandse Heuvelrug, Nijmegen moraine, Montferland, Twente) and
South Limburg rising to ~280 m. Floodplains (uiterwaarden) are 0.5–1.5 km bands along the big
rivers; primary dikes run along their outer edge and along coast and lakes where there are no
dunes. Flood depth 2100 is the depth below a reference level (sea/lake level decaying inland,
river design levels decaying away from the river); subsidence follows soil.

*Land use* is assigned in priority order with exact target shares (TARGET_SHARES): water
(geometry, topped up with peat lakes and pits), infrastructure (airports, then motorway,
railway and regional-road segments in priority order until the target), industrial clusters,
housing (the top cells of an urban potential made of warped city and village kernels plus
noise), industry at city edges, defence grounds, nature (Natura 2000, dunes, floodplains,
ridges and noise patches on sand), solar, wind and water buffers; agriculture is the rest.
Masks (Natura 2000, NNN, heritage, contours, ...) are derived from the same geometry.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml
from affine import Affine
from rasterio.features import rasterize, shapes
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from ruimteverdeling.area import _nl_geography as geo

GENERATOR_VERSION = "synthetic-nl 1.0"

#: The point the geometry is scaled about (Amersfoort, the origin of RD New).
SCALE_ORIGIN = (155_000.0, 463_000.0)

#: Land-use codes (see ``data/uses.yaml``).
USE_CODES: dict[int, str] = {
    1: "housing", 2: "nature", 3: "agriculture", 4: "solar", 5: "wind", 6: "water_buffer",
    7: "defence", 21: "industry", 22: "infrastructure", 23: "water",
}
HOUSING, NATURE, AGRICULTURE, SOLAR, WIND, WATER_BUFFER, DEFENCE = 1, 2, 3, 4, 5, 6, 7
INDUSTRY, INFRASTRUCTURE, WATER = 21, 22, 23

#: Target shares of the study-area cells (water is mostly geometry, agriculture the rest).
TARGET_SHARES: dict[str, float] = {
    "housing": 0.108, "industry": 0.025, "infrastructure": 0.034, "nature": 0.176,
    "defence": 0.008, "solar": 0.003, "wind": 0.002, "water_buffer": 0.002, "water": 0.084,
}

SOIL_CODES = {1: "sand", 2: "marine_clay", 3: "river_clay", 4: "peat", 5: "loess",
              6: "dune_sand"}
SAND, MARINE_CLAY, RIVER_CLAY, PEAT, LOESS, DUNE = 1, 2, 3, 4, 5, 6
LANDSCAPE_CODES = {1: "hogere_zandgronden", 2: "rivierengebied", 3: "zeekleigebied",
                   4: "veenweide", 5: "duinen_en_kust", 6: "heuvelland", 7: "stedelijk"}
AGRI_QUALITY_CODES = {1: "best", 2: "moderate", 3: "challenging"}

_FLOAT_NODATA = -9999.0
_KM = 1000.0


# ============================================================================================
# Lattices, grids and noise
# ============================================================================================


@dataclass(frozen=True)
class _Lattice:
    """A regular north-up lattice in world coordinates (cell centres at half steps)."""

    x0: float
    y1: float
    step: float
    nx: int
    ny: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def transform(self) -> Affine:
        return Affine(self.step, 0.0, self.x0, 0.0, -self.step, self.y1)

    @property
    def xs(self) -> np.ndarray:
        return (self.x0 + (np.arange(self.nx) + 0.5) * self.step).astype(np.float64)

    @property
    def ys(self) -> np.ndarray:
        return (self.y1 - (np.arange(self.ny) + 0.5) * self.step).astype(np.float64)


# The world window: x -20 .. 300 km, y 290 .. 630 km.
LAT_C = _Lattice(-20_000.0, 630_000.0, 1000.0, 320, 340)   # coarse noise, brooks
LAT_M = _Lattice(-20_000.0, 630_000.0, 250.0, 1280, 1360)  # zones, elevation, potentials
LAT_P = _Lattice(-20_000.0, 630_000.0, 500.0, 640, 680)    # province labels


@dataclass(frozen=True)
class _Grid:
    """The output grid; ``scale`` maps world to grid coordinates about SCALE_ORIGIN."""

    width: int
    height: int
    res: float
    left: float
    top: float
    scale: float

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.left, 0.0, -self.res, self.top)

    @property
    def cell_world(self) -> float:
        return self.res / self.scale

    @property
    def world_transform(self) -> Affine:
        ox, oy = SCALE_ORIGIN
        wl = ox + (self.left - ox) / self.scale
        wt = oy + (self.top - oy) / self.scale
        return Affine(self.cell_world, 0.0, wl, 0.0, -self.cell_world, wt)

    @property
    def xs(self) -> np.ndarray:
        t = self.world_transform
        return t.c + (np.arange(self.width) + 0.5) * t.a

    @property
    def ys(self) -> np.ndarray:
        t = self.world_transform
        return t.f + (np.arange(self.height) + 0.5) * t.e

    def to_grid(self, geom: Any) -> Any:
        """World geometry -> grid coordinates (the scaling about SCALE_ORIGIN)."""
        ox, oy = SCALE_ORIGIN
        s = self.scale
        return shapely.transform(geom, lambda c: np.column_stack(
            [ox + (c[:, 0] - ox) * s, oy + (c[:, 1] - oy) * s]))


class _Noise:
    """Seeded smooth random fields on the world lattices (normalised to mean 0, sd 1)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cache: dict[tuple[str, str, float], np.ndarray] = {}

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode("utf-8"))])

    def _field(self, lat: _Lattice, name: str, sigma: float) -> np.ndarray:
        key = (name, f"{lat.step}", sigma)
        if key not in self._cache:
            raw = self.rng(f"{name}@{lat.step}").standard_normal(lat.shape).astype(np.float32)
            f = ndimage.gaussian_filter(raw, sigma, mode="reflect")
            f -= f.mean()
            f /= max(float(f.std()), 1e-6)
            self._cache[key] = f
        return self._cache[key]

    def coarse(self, name: str, sigma_km: float) -> np.ndarray:
        """A field on the 1 km lattice with correlation length ~sigma_km."""
        return self._field(LAT_C, name, sigma_km)

    def medium(self, name: str, sigma_px: float = 1.5) -> np.ndarray:
        """A field on the 250 m lattice."""
        return self._field(LAT_M, name, sigma_px)

    def octaves(self, name: str, sigmas: Sequence[float], weights: Sequence[float]) -> np.ndarray:
        """Sum of coarse fields (1 km lattice), renormalised."""
        f = sum(w * self.coarse(f"{name}/{s}", s) for s, w in zip(sigmas, weights, strict=True))
        f = np.asarray(f, dtype=np.float32)
        return (f - f.mean()) / max(float(f.std()), 1e-6)


def _unit(f: np.ndarray) -> np.ndarray:
    """Map a standard-normal-ish field to (0, 1)."""
    return (1.0 / (1.0 + np.exp(-1.7 * f))).astype(np.float32)


def _bilinear(field: np.ndarray, lat: _Lattice, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Separable bilinear interpolation of a lattice field at the grid xs × ys (world)."""
    fx = np.clip((xs - lat.x0) / lat.step - 0.5, 0.0, lat.nx - 1.000001)
    fy = np.clip((lat.y1 - ys) / lat.step - 0.5, 0.0, lat.ny - 1.000001)
    ix = fx.astype(np.int64)
    iy = fy.astype(np.int64)
    wx = (fx - ix).astype(np.float32)
    wy = (fy - iy).astype(np.float32)[:, None]
    r0, r1 = int(iy.min()), int(iy.max()) + 2
    sub = field[r0:r1].astype(np.float32, copy=False)
    a = sub[:, ix] * (1.0 - wx) + sub[:, ix + 1] * wx
    out = a[iy - r0]
    out *= 1.0 - wy
    out += a[iy + 1 - r0] * wy
    return out


def _burn(geoms: Sequence[Any], shape: tuple[int, int], transform: Affine,
          values: Sequence[int] | None = None, dtype: Any = np.uint8,
          all_touched: bool = False) -> np.ndarray:
    """Rasterise geometries (later ones overwrite earlier ones)."""
    if values is None:
        values = [1] * len(geoms)
    pairs = [(g, int(v)) for g, v in zip(geoms, values, strict=True)
             if g is not None and not g.is_empty]
    if not pairs:
        return np.zeros(shape, dtype=dtype)
    return rasterize(pairs, out_shape=shape, transform=transform, fill=0, dtype=dtype,
                     all_touched=all_touched)


def _edt_km(mask: np.ndarray, lat: _Lattice) -> np.ndarray:
    """Distance (km) from every cell to the nearest True cell of ``mask``."""
    if not mask.any():
        return np.full(mask.shape, 1e4, dtype=np.float32)
    return (ndimage.distance_transform_edt(~mask) * lat.step / _KM).astype(np.float32)


def _m(points: Sequence[tuple[float, ...]]) -> list[tuple[float, float]]:
    """Kilometre vertices -> metre vertices (drops a third value)."""
    return [(p[0] * _KM, p[1] * _KM) for p in points]


def _blob(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float,
          angle: float, rough: float = 0.22, n: int = 64) -> Polygon:
    """An irregular ellipse (km input, metre output): a star-shaped polygon."""
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rough * rng.standard_normal() / k * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.35, None)
    a = math.radians(angle)
    ex, ey = rx * r * np.cos(theta), ry * r * np.sin(theta)
    x = cx + ex * math.cos(a) - ey * math.sin(a)
    y = cy + ex * math.sin(a) + ey * math.cos(a)
    return Polygon(np.column_stack([x, y]) * _KM)


def _blobs(noise: _Noise, blobs: Sequence[geo.Blob], rough: float = 0.22,
           scale: float = 1.0) -> list[Polygon]:
    return [_blob(noise.rng(f"blob:{b[0]}"), b[1], b[2], b[3] * scale, b[4] * scale, b[5],
                  rough) for b in blobs]


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float, n: int = 48) -> Polygon:
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    a = math.radians(angle)
    ex, ey = rx * np.cos(theta), ry * np.sin(theta)
    x = cx + ex * math.cos(a) - ey * math.sin(a)
    y = cy + ex * math.sin(a) + ey * math.cos(a)
    return Polygon(np.column_stack([x, y]) * _KM)


def _wobbly(points: Sequence[tuple[float, float]], rng: np.random.Generator,
            amount: float = 0.05) -> list[tuple[float, float]]:
    """Insert two jittered points between consecutive vertices (metres)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        if length > 0:
            nx, ny = -dy / length, dx / length
            for t in (1 / 3, 2 / 3):
                off = rng.normal(0.0, amount * length)
                out.append((x0 + t * dx + off * nx, y0 + t * dy + off * ny))
        out.append((x1, y1))
    return out


def _chaikin(pts: np.ndarray, iterations: int = 2) -> np.ndarray:
    for _ in range(iterations):
        if len(pts) < 3:
            break
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid, pts[-1:]])
    return pts


# ============================================================================================
# The world model (independent of the output grid)
# ============================================================================================


@dataclass
class _River:
    name: str
    line: LineString
    levels: np.ndarray
    half_width: float
    floodplain: tuple[float, float] | None


@dataclass
class _Settlement:
    name: str | None
    x: float
    y: float
    pop: float  # thousands
    province: int | None
    intercity: bool


class _World:
    """Geometry and lattice fields of the synthetic Netherlands for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.noise = _Noise(seed)
        self._geometry()
        self._soil_and_elevation()
        self._settlements()
        self._networks()
        self._brooks()

    # ---------------------------------------------------------------- vector geometry
    def _geometry(self) -> None:
        nz = self.noise
        mainland = shapely.make_valid(Polygon(_m(geo.COAST + geo.LAND_BORDER[1:])))
        islands = [Polygon(_m(v)) for v in geo.ISLANDS.values()]
        estuaries = unary_union([Polygon(_m(v)) for v in geo.ESTUARIES.values()])
        self.study = shapely.make_valid(unary_union([mainland, *islands]).difference(estuaries))
        foreign = shapely.make_valid(Polygon(_m(geo.LAND_BORDER + geo.FOREIGN_CLOSURE)))
        self.foreign = foreign.difference(mainland)

        self.ijsselmeer = Polygon(_m(geo.IJSSELMEER))
        self.markermeer = Polygon(_m(geo.MARKERMEER))
        self.randmeren = LineString(_m(geo.FLEVOLAND_SHORE)).buffer(450.0)
        self.delta_lakes = {k: Polygon(_m(v)) for k, v in geo.DELTA_LAKES.items()}
        ijssel_area = [self.ijsselmeer, self.markermeer, self.randmeren,
                       self.delta_lakes["Ketelmeer"], self.delta_lakes["Zwarte Meer"]]
        self.ijssel_lakes = unary_union(ijssel_area)
        self.big_lakes = unary_union([*ijssel_area, *self.delta_lakes.values()])
        self.small_lakes = _blobs(nz, geo.LAKES, rough=0.3)

        self.rivers: list[_River] = []
        for name, (hw, fp, verts) in geo.RIVERS.items():
            line = LineString(_m(verts))
            self.rivers.append(_River(name, line, np.array([v[2] for v in verts]),
                                      hw * _KM, fp))
        self.polders = [(i + 1, name, level, Polygon(_m(poly)))
                        for i, (name, level, poly) in enumerate(geo.DEEP_POLDERS)]
        self.flevoland = unary_union([p for _, n, _, p in self.polders
                                      if n in geo.IJSSELMEER_POLDERS[:3]])

        n2000 = [Polygon(_m(v)) for v in geo.NATURA2000_POLYGONS.values()]
        n2000 += _blobs(nz, geo.NATURA2000_BLOBS)
        line, hw = geo.HEUVELRUG
        n2000.append(LineString(_m(line)).buffer(hw * _KM))
        self.n2000 = n2000
        self.corridors = [LineString(_m(c)).buffer(700.0) for c in geo.NNN_CORRIDORS]
        self.defence = _blobs(nz, geo.DEFENCE_BLOBS, rough=0.18, scale=1.4)
        self.clusters = {k: _blobs(nz, v, rough=0.2) for k, v in geo.INDUSTRY_CLUSTERS.items()}
        self.airports = [_ellipse(x, y, a[0], a[1], ang) for _, x, y, ang, a, _ in geo.AIRPORTS]
        self.airport_noise = [_ellipse(x, y, c[0], c[1], ang)
                              for _, x, y, ang, _, c in geo.AIRPORTS]
        self.wind_zones = _blobs(nz, geo.WIND_ZONES, rough=0.25)
        self.solar_regions = [_ellipse(b[1], b[2], b[3], b[4], b[5]) for b in geo.SOLAR_REGIONS]
        wl, whw = geo.WATERLINIE
        cx, cy, rad, rhw = geo.STELLING_VAN_AMSTERDAM
        ring = Point(cx * _KM, cy * _KM).buffer((rad + rhw) * _KM).difference(
            Point(cx * _KM, cy * _KM).buffer((rad - rhw) * _KM))
        heritage = [LineString(_m(wl)).buffer(whw * _KM), ring]
        heritage += [p for _, n, _, p in self.polders if n in geo.HERITAGE_POLDERS]
        self.heritage = heritage
        self.valuable = [Polygon(_m(v)) for v in geo.VALUABLE_LANDSCAPE_POLYGONS.values()]
        self.valuable += _blobs(nz, geo.VALUABLE_LANDSCAPE_BLOBS, rough=0.3)

    # ---------------------------------------------------------------- lattice fields
    def _soil_and_elevation(self) -> None:
        M, nz = LAT_M, self.noise
        T = M.transform
        xs, ys = M.xs, M.ys
        X = (xs / _KM)[None, :].astype(np.float32)
        Y = (ys / _KM)[:, None].astype(np.float32)

        self.study_M = _burn([self.study], M.shape, T).astype(bool)
        foreign_M = _burn([self.foreign], M.shape, T).astype(bool)
        self.sea_M = ~self.study_M & ~foreign_M
        self.big_lakes_M = _burn([self.big_lakes], M.shape, T).astype(bool) & self.study_M
        water_geoms = [self.big_lakes, *self.small_lakes]
        water_geoms += [r.line.buffer(max(r.half_width, 60.0)) for r in self.rivers]
        self.water_M = _burn(water_geoms, M.shape, T).astype(bool) & self.study_M
        self.n2000_M = _burn(self.n2000, M.shape, T).astype(bool)

        # warp fields (1 km lattice) on the 250 m lattice: used to roughen zone borders
        wx = _bilinear(nz.octaves("warp-x", (6.0, 2.0), (1.0, 0.35)), LAT_C, xs, ys) * 1800.0
        wy = _bilinear(nz.octaves("warp-y", (6.0, 2.0), (1.0, 0.35)), LAT_C, xs, ys) * 1800.0
        jx = np.clip(((xs[None, :] + wx - M.x0) / M.step).astype(np.int32), 0, M.nx - 1)
        jy = np.clip(((M.y1 - (ys[:, None] + wy)) / M.step).astype(np.int32), 0, M.ny - 1)

        zones = _burn([Polygon(_m(p)) for p in geo.PEAT_ZONES]
                      + [Polygon(_m(p)) for p in geo.MARINE_CLAY_ZONES]
                      + [Polygon(_m(geo.LOESS_ZONE))], M.shape, T,
                      values=[PEAT] * len(geo.PEAT_ZONES)
                      + [MARINE_CLAY] * len(geo.MARINE_CLAY_ZONES) + [LOESS])
        zones = zones[jy, jx]
        soil = np.where(zones == 0, SAND, zones).astype(np.uint8)
        self.heuvelland_M = zones == LOESS
        polder_ids = _burn([p for _, _, _, p in self.polders], M.shape, T,
                           values=[i for i, _, _, _ in self.polders], dtype=np.uint16)
        soil[polder_ids > 0] = MARINE_CLAY

        # river geometry: nearest river point, its mean and design water level (1 km lattice)
        pts, lv = [], []
        for r in self.rivers:
            if r.floodplain is None and r.name not in ("Noord en Nieuwe Maas", "Oude Maas"):
                continue
            seg = shapely.segmentize(r.line, 250.0)
            c = shapely.get_coordinates(seg)
            # interpolate the vertex levels along the line
            vd = np.array([r.line.project(Point(p)) for p in r.line.coords])
            cd = np.array([r.line.project(Point(p)) for p in c])
            pts.append(c)
            lv.append(np.interp(cd, vd, r.levels))
        pts_a, lv_a = np.vstack(pts), np.concatenate(lv)
        tree = cKDTree(pts_a)
        cx, cy = np.meshgrid(LAT_C.xs, LAT_C.ys)
        dist, idx = tree.query(np.column_stack([cx.ravel(), cy.ravel()]))
        level_C = lv_a[idx].reshape(LAT_C.shape).astype(np.float32)
        self.river_level_C = ndimage.gaussian_filter(level_C, 1.0)
        self.design_level_C = (self.river_level_C + 2.5
                               + 2.0 * np.clip(self.river_level_C / 5.0, 0.0, 1.0))
        self.river_dist_C = (dist / _KM).reshape(LAT_C.shape).astype(np.float32)
        river_level_M = _bilinear(self.river_level_C, LAT_C, xs, ys)

        # river clay: a noisy band along the big rivers
        groups = {"rhine": (("Waal", "Nederrijn en Lek", "Nieuwe Merwede", "Noord en Nieuwe Maas",
                             "Oude Maas"), 3.5, 6.0),
                  "ijssel": (("IJssel",), 1.2, 3.2), "maas": (("Maas",), 1.0, 3.2)}
        # one distance transform for all groups; the nearest line tells the group
        glines = [(gi, r.line) for gi, (names, _, _) in enumerate(groups.values())
                  for r in self.rivers if r.name in names]
        gid = _burn([ln for _, ln in glines], M.shape, T, values=[g + 1 for g, _ in glines],
                    all_touched=True)
        dist, (ni, nj) = ndimage.distance_transform_edt(gid == 0, return_indices=True)
        d = (dist * M.step / _KM).astype(np.float32)
        nearest = gid[ni, nj]
        del dist, ni, nj
        u = _unit(_bilinear(nz.coarse("rclay", 4.0), LAT_C, xs, ys))
        w = np.zeros(M.shape, dtype=np.float32)
        for gi, (gname, (_, wmin, wmax)) in enumerate(groups.items()):
            wg = wmin + (wmax - wmin) * u
            if gname == "maas":  # narrow valley in South Limburg
                wg = np.where(Y < 345.0, 0.3 + 0.6 * u, wg)
            w = np.where(nearest == gi + 1, wg, w)
        soil[(d < w) & (soil != LOESS) | (d < 0.5 * w)] = RIVER_CLAY

        # dunes: within a noisy distance of the sea along dune coasts
        self.d_sea_M = _edt_km(self.sea_M, M)
        self.d_water_M = np.minimum(self.d_sea_M, _edt_km(self.big_lakes_M, M))
        dune_w = np.zeros(M.shape, dtype=np.float32)
        widths = [(1.2, 4.5), (0.4, 1.4), (0.5, 2.4), (0.4, 1.8), (0.4, 1.8), (0.3, 1.0),
                  (1.0, 3.0)]
        du = _unit(_bilinear(nz.coarse("dune-width", 5.0), LAT_C, xs, ys))
        for poly, (wmin, wmax) in zip(geo.DUNE_COASTS, widths, strict=True):
            z = _burn([Polygon(_m(poly))], M.shape, T).astype(bool)
            dune_w = np.where(z, np.maximum(dune_w, wmin + (wmax - wmin) * du), dune_w)
        dune = self.study_M & (self.d_sea_M < dune_w) & ~self.big_lakes_M
        soil[dune] = DUNE
        self.dune_w_M = dune_w

        # fill the labels outwards so that lookups near the coast never hit "no soil"
        idx = ndimage.distance_transform_edt(~self.study_M, return_distances=False,
                                             return_indices=True)
        soil = soil[idx[0], idx[1]]
        self.soil_M = soil
        self.heuvelland_M = self.heuvelland_M[idx[0], idx[1]]

        # ---- elevation (m NAP) on the 250 m lattice
        sandlike = (soil == SAND) | (soil == LOESS)
        d_low = _edt_km(~sandlike | self.sea_M, M)
        n1 = _unit(_bilinear(nz.coarse("elev-a", 3.0), LAT_C, xs, ys))
        n2 = _unit(nz.medium("elev-b", 2.0))
        e_sand = 2.0 + 0.55 * np.clip(d_low, 0.0, 60.0) + 12.0 * np.clip((388.0 - Y) / 20.0,
                                                                         0.0, 1.2)
        relief = np.zeros(M.shape, dtype=np.float32)
        for hx, hy, amp, sx, sy in geo.HILLS:
            relief += amp * np.exp(-0.5 * (((X - hx) / sx) ** 2 + ((Y - hy) / sy) ** 2))
        rid = _burn([LineString(_m(line)) for line, _, _ in geo.RIDGES], M.shape, T,
                    values=list(range(1, len(geo.RIDGES) + 1)), all_touched=True)
        dist, (ni, nj) = ndimage.distance_transform_edt(rid == 0, return_indices=True)
        d = (dist * M.step / _KM).astype(np.float32)
        nearest = rid[ni, nj]
        del dist, ni, nj
        for k, (_, amp, hw) in enumerate(geo.RIDGES):
            relief += np.where(nearest == k + 1, amp * np.exp(-0.5 * (d / hw) ** 2), 0.0)
        relief *= 0.75 + 0.5 * n1
        e_sand = e_sand + relief
        e_peat = -0.4 - 0.9 * np.clip((145.0 - X) / 50.0, 0.0, 1.0) - 0.5 * n1
        e_clay = (0.3 + 0.7 * n1 + 0.6 * (Y > 565.0)
                  - 1.0 * ((X < 140.0) & (Y > 425.0) & (Y < 530.0)))
        e_river = river_level_M + 0.5 + 1.2 * n1
        e_loess = (50.0 + 250.0 * np.clip((X - 176.0) / 28.0, 0.0, 1.0)
                   * np.clip((335.0 - Y) / 25.0, 0.0, 1.0) ** 0.7)
        prof = np.maximum(np.sin(np.pi * np.clip(self.d_sea_M / np.maximum(dune_w, 0.2), 0.0, 1.0)),
                          0.0) ** 0.6
        e_dune = 3.0 + 22.0 * n2 ** 1.5 * prof + 3.0 * n1
        elev = np.select([soil == SAND, soil == PEAT, soil == MARINE_CLAY, soil == RIVER_CLAY,
                          soil == LOESS, soil == DUNE],
                         [e_sand, e_peat, e_clay, e_river, e_loess, e_dune], 0.0)
        elev = np.where(self.sea_M, -4.0, elev).astype(np.float32)
        elev = ndimage.gaussian_filter(elev, 1.5)
        amp = np.select([soil == SAND, soil == LOESS, soil == DUNE, soil == PEAT],
                        [2.0, 18.0, 2.5, 0.15], 0.3).astype(np.float32)
        rough = (0.7 * _bilinear(nz.coarse("elev-c", 2.0), LAT_C, xs, ys)
                 + 0.3 * nz.medium("elev-d", 1.0))
        elev = np.where(soil == LOESS, np.maximum(elev + amp * rough, 40.0), elev + amp * rough)
        self.elev_M = elev.astype(np.float32)
        self.rel_M = self.elev_M - ndimage.gaussian_filter(self.elev_M, 16.0)

    # ---------------------------------------------------------------- cities and villages
    def _settlements(self) -> None:
        M, nz = LAT_M, self.noise
        cities = [_Settlement(n, x * _KM, y * _KM, p, prov,
                              p >= 65 or n in geo.EXTRA_INTERCITY)
                  for n, x, y, p, prov in geo.CITIES]
        self.cities = cities
        # villages: random places on land, away from water, nature cores and cities
        w = np.where(self.study_M & ~self.water_M & ~self.n2000_M & (self.soil_M != DUNE),
                     1.0, 0.0)
        w = np.where(self.soil_M == PEAT, 0.7 * w, w)
        w = np.where(_burn([self.flevoland], M.shape, M.transform).astype(bool), 0.3 * w, w)
        near = np.zeros(M.shape, dtype=bool)
        for c in cities:
            r = 2500.0 + 300.0 * math.sqrt(c.pop)
            i0, i1, j0, j1 = self._window(c.x, c.y, r)
            gx, gy = np.meshgrid(M.xs[j0:j1], M.ys[i0:i1])
            near[i0:i1, j0:j1] |= np.hypot(gx - c.x, gy - c.y) < r
        w[near] = 0.0
        rng = nz.rng("villages")
        flat = w.ravel()
        n = 650
        pick = rng.choice(flat.size, size=n, replace=False, p=flat / flat.sum())
        iy, ix = np.divmod(pick, M.nx)
        vx = M.xs[ix] + rng.uniform(-0.5, 0.5, n) * M.step
        vy = M.ys[iy] + rng.uniform(-0.5, 0.5, n) * M.step
        pops = np.clip(np.exp(rng.normal(math.log(2.6), 0.65, n)), 0.6, 25.0)
        order = np.lexsort((vy, vx))
        self.villages = [_Settlement(None, float(vx[i]), float(vy[i]), float(pops[i]), None,
                                     False) for i in order]

        # urban potential on the 250 m lattice: max over settlement kernels of 1 - d/R, with
        # domain-warped, elongated kernels so that footprints are irregular
        xs, ys = M.xs, M.ys
        ux = (_bilinear(nz.octaves("urban-warp-x", (1.5, 4.0), (0.6, 1.0)), LAT_C, xs, ys)
              * 1400.0 + nz.medium("urban-warp-x", 1.5) * 300.0)
        uy = (_bilinear(nz.octaves("urban-warp-y", (1.5, 4.0), (0.6, 1.0)), LAT_C, xs, ys)
              * 1400.0 + nz.medium("urban-warp-y", 1.5) * 300.0)
        shape_rng = nz.rng("settlement-shapes")
        P = np.full(M.shape, -1.0, dtype=np.float32)
        for s in [*cities, *self.villages]:
            area = s.pop * 0.30 * (max(s.pop, 1.0) / 50.0) ** -0.08   # km²
            R = 1.7 * math.sqrt(area / math.pi) * _KM
            elong = shape_rng.uniform(1.0, 1.45)
            ang = shape_rng.uniform(0.0, np.pi)
            i0, i1, j0, j1 = self._window(s.x, s.y, R * elong + 1500.0)
            if i1 <= i0 or j1 <= j0:
                continue
            gx = xs[None, j0:j1] + ux[i0:i1, j0:j1] - s.x
            gy = ys[i0:i1, None] + uy[i0:i1, j0:j1] - s.y
            a = (gx * math.cos(ang) + gy * math.sin(ang)) / elong
            b = (-gx * math.sin(ang) + gy * math.cos(ang)) * elong
            k = (1.0 - np.hypot(a, b) / R).astype(np.float32)
            np.maximum(P[i0:i1, j0:j1], k, out=P[i0:i1, j0:j1])
        self.urban_M = P

    @staticmethod
    def _window(x: float, y: float, r: float) -> tuple[int, int, int, int]:
        M = LAT_M
        j0 = max(int((x - r - M.x0) / M.step), 0)
        j1 = min(int((x + r - M.x0) / M.step) + 2, M.nx)
        i0 = max(int((M.y1 - (y + r)) / M.step), 0)
        i1 = min(int((M.y1 - (y - r)) / M.step) + 2, M.ny)
        return i0, i1, j0, j1

    # ---------------------------------------------------------------- railways and roads
    def _chain_points(self, chain: geo.Chain) -> list[tuple[float, float]]:
        by_name = {c.name: (c.x, c.y) for c in self.cities}
        return [by_name[p] if isinstance(p, str) else (p[0] * _KM, p[1] * _KM) for p in chain]

    def _networks(self) -> None:
        nz = self.noise
        self.railways: list[tuple[str, LineString]] = []
        rail_segments: list[LineString] = []
        for name, chain in geo.RAILWAYS.items():
            pts = self._chain_points(chain)
            rng = nz.rng(f"rail:{name}")
            full: list[tuple[float, float]] = [pts[0]]
            for a, b in itertools.pairwise(pts):
                seg = _wobbly([a, b], rng, 0.035)
                rail_segments.append(LineString(seg))
                full.extend(seg[1:])
            self.railways.append((name, LineString(full)))
        # every station must be on the network
        on_net = {n for chain in geo.RAILWAYS.values() for n in chain if isinstance(n, str)}
        for c in self.cities:
            if c.name not in on_net:
                others = [o for o in self.cities if o.name in on_net]
                o = min(others, key=lambda o, c=c: math.hypot(o.x - c.x, o.y - c.y))
                line = LineString(_wobbly([(c.x, c.y), (o.x, o.y)], nz.rng(f"rail:{c.name}")))
                self.railways.append((f"{c.name} - {o.name}", line))
                rail_segments.append(line)

        motor_segments: list[LineString] = []
        for name, chain in geo.MOTORWAYS.items():
            pts = self._chain_points(chain)
            rng = nz.rng(f"road:{name}")
            for a, b in itertools.pairwise(pts):
                motor_segments.append(LineString(_wobbly([a, b], rng, 0.04)))

        # regional roads: a Delaunay/MST network between all settlements
        sett = [*self.cities, *self.villages]
        xy = np.array([(s.x, s.y) for s in sett])
        tri = Delaunay(xy)
        e = np.vstack([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]],
                       tri.simplices[:, [0, 2]]])
        e = np.unique(np.sort(e, axis=1), axis=0)
        length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
        keep = length < 13_000.0
        # reject edges that cross the sea or big lakes (sampled on the 250 m lattice)
        t = np.linspace(0.0, 1.0, 12)[None, :]
        px = xy[e[:, 0], 0][:, None] * (1 - t) + xy[e[:, 1], 0][:, None] * t
        py = xy[e[:, 0], 1][:, None] * (1 - t) + xy[e[:, 1], 1][:, None] * t
        jx = np.clip(((px - LAT_M.x0) / LAT_M.step).astype(int), 0, LAT_M.nx - 1)
        jy = np.clip(((LAT_M.y1 - py) / LAT_M.step).astype(int), 0, LAT_M.ny - 1)
        ok = (self.study_M[jy, jx] & ~self.big_lakes_M[jy, jx]).all(axis=1)
        e, length = e[keep & ok], length[keep & ok]
        n = len(sett)
        g = coo_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
        mst = minimum_spanning_tree(g).tocoo()
        in_mst = {(min(a, b), max(a, b)) for a, b in zip(mst.row, mst.col, strict=True)}
        first = np.array([(int(a), int(b)) in in_mst for a, b in e])
        order = np.lexsort((length, ~first))
        rng = nz.rng("n-roads")
        road_segments = [LineString(_wobbly([tuple(xy[e[i, 0]]), tuple(xy[e[i, 1]])], rng, 0.05))
                         for i in order]
        # priority: motorway and railway segments interleaved, then regional roads
        main: list[LineString] = []
        for k in range(max(len(motor_segments), len(rail_segments))):
            if k < len(motor_segments):
                main.append(motor_segments[k])
            if k < len(rail_segments):
                main.append(rail_segments[k])
        self.infra_lines = main + road_segments

    # ---------------------------------------------------------------- brooks
    def _brooks(self) -> None:
        C, nz = LAT_C, self.noise
        rng = nz.rng("brooks")
        # 1 km versions of the lattice fields (centre samples)
        sub = (slice(2, None, 4), slice(2, None, 4))
        soil = self.soil_M[sub]
        study = self.study_M[sub]
        water = self.water_M[sub]
        elev = ndimage.gaussian_filter(self.elev_M[sub], 1.2)
        elev = elev + 0.3 * nz.coarse("brook-jitter", 1.0)
        upland = np.isin(soil, (SAND, LOESS)) & study & ~water
        cand = np.flatnonzero(upland & (elev > 5.0))
        starts = rng.choice(cand, size=min(320, cand.size), replace=False)
        visited = np.zeros(C.shape, dtype=bool)
        nb = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
        brooks: list[LineString] = []
        for s in starts:
            i, j = divmod(int(s), C.nx)
            if visited[i, j]:
                continue
            path = [(i, j)]
            for _ in range(45):
                best, bi, bj = elev[i, j], -1, -1
                for di, dj in nb:
                    a, b = i + di, j + dj
                    if 0 <= a < C.ny and 0 <= b < C.nx:
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
            p = np.array([(C.xs[b], C.ys[a]) for a, b in path], dtype=float)
            p[1:-1] += rng.uniform(-350.0, 350.0, size=(len(p) - 2, 2))
            brooks.append(LineString(_chaikin(p, 2)))
        self.brooks = brooks

    # ---------------------------------------------------------------- provinces
    def province_polygons(self, cell_world: float) -> list[tuple[int, str, Any]]:
        """The 12 provinces as (code, name, world geometry), covering the study area."""
        P, nz = LAT_P, self.noise
        xs, ys = P.xs, P.ys
        wx = _bilinear(nz.octaves("prov-x", (5.0, 1.5), (1.0, 0.4)), LAT_C, xs, ys) * 2500.0
        wy = _bilinear(nz.octaves("prov-y", (5.0, 1.5), (1.0, 0.4)), LAT_C, xs, ys) * 2500.0
        gx = xs[None, :] + wx
        gy = ys[:, None] + wy
        seeds = [(c.x, c.y, c.province) for c in self.cities]
        for code, pts in geo.PROVINCE_SEEDS.items():
            seeds += [(x * _KM, y * _KM, code) for x, y in pts]
        sxy = np.array([(x, y) for x, y, _ in seeds])
        scode = np.array([c for _, _, c in seeds], dtype=np.int32)
        q = np.column_stack([gx.ravel(), gy.ravel()])
        _, idx = cKDTree(sxy).query(q)
        labels = scode[idx].reshape(P.shape)
        # Flevoland is exactly its polders; elsewhere on land no Flevoland
        flevo = _burn([self.flevoland], P.shape, P.transform).astype(bool)
        land = _burn([self.study], P.shape, P.transform).astype(bool)
        lakes = _burn([self.big_lakes], P.shape, P.transform).astype(bool)
        wrong = (labels == 5) & ~flevo & land & ~lakes
        if wrong.any():
            keep = scode != 5
            _, idx2 = cKDTree(sxy[keep]).query(q.reshape(P.ny, P.nx, 2)[wrong])
            labels[wrong] = scode[keep][idx2]
        labels[flevo] = 5
        labels = labels.astype(np.int32)
        geoms: dict[int, list[Any]] = {}
        for g, v in shapes(labels, transform=P.transform, connectivity=4):
            geoms.setdefault(int(v), []).append(shapely.geometry.shape(g))
        codes = sorted(geoms)
        merged = [unary_union(geoms[c]) for c in codes]
        simple = shapely.coverage_simplify(np.array(merged, dtype=object), 350.0)
        clip = self.study.buffer(max(3000.0, 2.5 * cell_world))
        out = []
        for c, g in zip(codes, simple, strict=True):
            g = shapely.make_valid(g).intersection(clip)
            if not g.is_empty:
                out.append((c, geo.PROVINCES[c], g))
        return out


@functools.lru_cache(maxsize=2)
def _world(seed: int) -> _World:
    """The world model for a seed (cached: it does not depend on the grid)."""
    return _World(seed)


# ============================================================================================
# The grid
# ============================================================================================


def _grid_for_scale(world: _World, res: float, scale: float) -> _Grid:
    ox, oy = SCALE_ORIGIN
    minx, miny, maxx, maxy = world.study.bounds
    gx0, gx1 = ox + (minx - ox) * scale, ox + (maxx - ox) * scale
    gy0, gy1 = oy + (miny - oy) * scale, oy + (maxy - oy) * scale
    left = (math.floor(gx0 / res) - 2) * res
    right = (math.ceil(gx1 / res) + 2) * res
    bottom = (math.floor(gy0 / res) - 2) * res
    top = (math.ceil(gy1 / res) + 2) * res
    return _Grid(round((right - left) / res), round((top - bottom) / res), res, left, top, scale)


def _fit_grid(world: _World, cells: int, res: float) -> tuple[_Grid, np.ndarray]:
    """Find the scale factor whose grid holds ``cells`` study-area cells (±~1 %)."""
    area = world.study.area
    s0 = math.sqrt(cells * res * res / area)

    def attempt(s: float) -> tuple[_Grid, np.ndarray, float]:
        g = _grid_for_scale(world, res, s)
        m = _burn([world.study], g.shape, g.world_transform).astype(bool)
        return g, m, abs(int(m.sum()) - cells) / cells

    best = None
    if abs(s0 - 1.0) < 0.02:
        best = attempt(1.0)
        if best[2] <= 0.01:
            return best[0], best[1]
    s = s0
    for _ in range(10):
        g, m, err = attempt(s)
        if best is None or err < best[2]:
            best = (g, m, err)
        if err <= 0.002:
            break
        n = max(int(m.sum()), 1)
        s *= (cells / n) ** 0.5
    assert best is not None
    return best[0], best[1]


class _Sampler:
    """Interpolates world-lattice fields onto the output grid."""

    def __init__(self, world: _World, grid: _Grid) -> None:
        self.grid = grid
        self.xs, self.ys = grid.xs, grid.ys
        nz = world.noise
        # warped nearest lookups into the 250 m lattice
        dx = self.coarse(nz.octaves("fine-warp-x", (2.0,), (1.0,))) * 250.0
        dx += self.medium(nz.medium("fine-warp-x", 1.0)) * 200.0
        ix = (self.xs[None, :].astype(np.float32) + dx - LAT_M.x0) / LAT_M.step
        del dx
        self.ix = np.clip(ix, 0, LAT_M.nx - 1).astype(np.int16)
        del ix
        dy = self.coarse(nz.octaves("fine-warp-y", (2.0,), (1.0,))) * 250.0
        dy += self.medium(nz.medium("fine-warp-y", 1.0)) * 200.0
        iy = (LAT_M.y1 - (self.ys[:, None].astype(np.float32) + dy)) / LAT_M.step
        del dy
        self.iy = np.clip(iy, 0, LAT_M.ny - 1).astype(np.int16)

    def coarse(self, field: np.ndarray) -> np.ndarray:
        return _bilinear(field, LAT_C, self.xs, self.ys)

    def medium(self, field: np.ndarray) -> np.ndarray:
        return _bilinear(field, LAT_M, self.xs, self.ys)

    def lookup(self, labels: np.ndarray) -> np.ndarray:
        return labels[self.iy, self.ix]

    def burn(self, geoms: Sequence[Any], values: Sequence[int] | None = None,
             dtype: Any = np.uint8, all_touched: bool = False) -> np.ndarray:
        return _burn(geoms, self.grid.shape, self.grid.world_transform, values, dtype,
                     all_touched)


def _take_top(pot: np.ndarray, avail: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` available cells with the highest potential (exactly k, deterministic)."""
    out = np.zeros(avail.shape, dtype=bool)
    if k <= 0:
        return out
    idx = np.flatnonzero(avail)
    if k >= idx.size:
        out.ravel()[idx] = True
        return out
    vals = pot.ravel()[idx]
    top = np.argpartition(vals, idx.size - k)[idx.size - k:]
    out.ravel()[idx[top]] = True
    return out


def _dilate(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    cross = ndimage.generate_binary_structure(2, 1)
    return ndimage.binary_dilation(mask, structure=cross, iterations=iterations)


# ============================================================================================
# Building the layers on the grid
# ============================================================================================


def _build(world: _World, grid: _Grid, study: np.ndarray,
           progress: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    nz = world.noise
    S = _Sampler(world, grid)
    cw = grid.cell_world
    n_study = int(study.sum())
    L: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {}

    def k_of(use: str) -> int:
        return round(TARGET_SHARES[use] * n_study)

    # ---------------------------------------------------------------- water
    progress("water and rivers")
    foreign = S.burn([world.foreign]).astype(bool) & ~study
    sea = ~study & ~foreign
    water = S.burn([world.big_lakes, *world.small_lakes]).astype(bool)
    river_water = np.zeros(grid.shape, dtype=bool)   # big rivers (at the river level)
    canal_water = np.zeros(grid.shape, dtype=bool)   # canals and small rivers
    fp_water = np.zeros(grid.shape, dtype=bool)      # rivers with floodplains
    for r in world.rivers:
        w = S.burn([r.line.buffer(r.half_width)]).astype(bool)
        if r.floodplain is not None or cw <= 300.0:  # the big rivers: at least one cell
            w |= S.burn([r.line]).astype(bool)
        if r.floodplain is not None or r.half_width >= 0.1 * _KM:
            river_water |= w
        else:
            canal_water |= w
        if r.floodplain is not None:
            fp_water |= w
    water |= river_water | canal_water
    water &= study
    fp_water &= study
    ijssel_lakes = S.burn([world.ijssel_lakes]).astype(bool) & study
    big_lakes = S.burn([world.big_lakes]).astype(bool) & study
    land = study & ~water

    # ---------------------------------------------------------------- soil, elevation
    progress("soil and elevation")
    soil = S.lookup(world.soil_M)
    soil[~study] = 0
    polder_ids = S.burn([p for _, _, _, p in world.polders],
                        [i for i, _, _, _ in world.polders], dtype=np.uint16)
    polder_ids[~study] = 0
    soil[(polder_ids > 0) & study] = MARINE_CLAY
    elev = S.medium(world.elev_M)
    fine = S.medium(nz.medium("elev-fine", 0.7))
    elev += fine * np.where(soil == SAND, 0.6, np.where(soil == DUNE, 1.5, 0.08))
    levels = np.array([lv for _, _, lv, _ in world.polders], dtype=np.float32)
    pl = polder_ids > 0
    elev[pl] = levels[polder_ids[pl] - 1] + 0.35 * fine[pl]
    river_level = S.coarse(world.river_level_C)
    design = S.coarse(world.design_level_C)

    # ---------------------------------------------------------------- floodplains and dikes
    progress("floodplains and dikes")
    widths = np.arange(0.3, 1.61, 0.2) * _KM
    fp_rivers = [r for r in world.rivers if r.floodplain is not None]
    geoms, vals = [], []
    for k in range(len(widths) - 1, -1, -1):
        geoms.append(unary_union([r.line.buffer(r.half_width + widths[k]) for r in fp_rivers]))
        vals.append(k + 1)
    band = S.burn(geoms, vals)
    want = 0.45 + 1.05 * _unit(S.coarse(nz.coarse("floodplain-width", 3.0)))
    band_w = np.concatenate([[0.0], widths / _KM]).astype(np.float32)[band]
    uiter = (band > 0) & (band_w <= want) & land
    uiter |= _dilate(fp_water) & land
    uiter &= ~big_lakes
    elev[uiter] = river_level[uiter] + 1.0 + 0.8 * _unit(fine[uiter])
    soil[uiter] = RIVER_CLAY
    # water surfaces
    elev[river_water & study] = river_level[river_water & study]
    elev[big_lakes & ~river_water] = -0.2
    elev[water & ~big_lakes & ~river_water] -= 1.0

    fp_all = uiter | fp_water
    dunes = soil == DUNE
    kwelder_zone = S.burn([Polygon(_m(geo.WADDEN_COAST))]).astype(bool)
    d_sea = S.medium(world.d_sea_M)
    kwelder = (kwelder_zone & land & (d_sea < 0.15 + 0.6 * _unit(S.coarse(
        nz.coarse("kwelder", 3.0)))) & ~dunes)
    buitendijks = (_dilate(ijssel_lakes) & land
                   & (S.medium(nz.medium("buitendijks", 2.0)) > -0.3))
    dike_river = _dilate(fp_all) & land & ~fp_all & (elev < design)
    dike_sea = _dilate(sea | kwelder) & land & ~kwelder & ~dunes
    dike_lake = _dilate(big_lakes | buitendijks) & land & ~buitendijks & ~dunes
    dikes = dike_river | dike_sea | dike_lake
    L["uiterwaarden"] = uiter
    L["primary_dikes"] = dikes
    L["ijsselmeer_buitendijks"] = buitendijks

    # ---------------------------------------------------------------- zones
    progress("protected zones")
    n2000 = S.burn(world.n2000).astype(bool) & study
    n2000 |= dunes & (S.medium(nz.medium("n2000-dune", 3.0)) > -0.8)
    n2000 |= kwelder
    n2000 |= uiter & (S.coarse(nz.coarse("n2000-uiter", 2.0)) > 0.3)
    defence_zone = S.burn(world.defence).astype(bool) & land
    corridors = S.burn(world.corridors).astype(bool) & study
    brooks = S.burn(world.brooks).astype(bool) & study

    # ---------------------------------------------------------------- land use
    progress("land use")
    lu = np.zeros(grid.shape, dtype=np.uint8)
    lu[study] = AGRICULTURE
    lu[water] = WATER
    free = lu == AGRICULTURE

    # extra small lakes (peat lakes, sand and gravel pits) up to the water target
    k_extra = k_of("water") - int(water.sum())
    info["water_geometry_share"] = float(water.sum()) / max(n_study, 1)
    if k_extra > 0:
        lake_pot = (S.coarse(nz.coarse("lakes", 1.2)) + 0.5 * S.medium(nz.medium("lakes", 2.0))
                    + 1.0 * (soil == PEAT) + 0.6 * (soil == RIVER_CLAY)
                    + 0.3 * ((soil == SAND) & (elev < 15)) - 3.0 * dikes)
        extra = _take_top(lake_pot, free & ~uiter, k_extra)
        lu[extra] = WATER
        elev[extra] -= 0.6
        free &= ~extra

    # infrastructure: airports, then line segments in priority order up to the target
    airports = S.burn(world.airports).astype(bool) & free
    lu[airports] = INFRASTRUCTURE
    free &= ~airports
    need = k_of("infrastructure") - int(airports.sum())
    if need > 0:
        n_lines = len(world.infra_lines)
        rank = S.burn(world.infra_lines[::-1], list(range(n_lines, 0, -1)), dtype=np.int32)
        rank[~free] = 0
        counts = np.bincount(rank.ravel(), minlength=n_lines + 1)
        counts[0] = 0
        cum = np.cumsum(counts)
        cut = int(np.searchsorted(cum, need)) if cum[-1] >= need else n_lines
        infra = (rank > 0) & (rank <= cut)
        lu[infra] = INFRASTRUCTURE
        free &= ~infra
        del rank

    # industrial clusters
    cluster_geoms = [g for gs in world.clusters.values() for g in gs]
    clusters = S.burn(cluster_geoms).astype(bool) & free
    lu[clusters] = INDUSTRY
    free &= ~clusters

    # housing: the top cells of the urban potential
    P = S.medium(world.urban_M)
    P += 0.16 * S.coarse(nz.octaves("urban", (1.5, 4.0), (1.0, 0.6)))
    P += 0.08 * S.medium(nz.medium("urban-fine", 1.0))
    P -= 2.0 * uiter + 1.2 * (n2000 & ~kwelder) + 1.5 * defence_zone + 1.0 * (soil == DUNE)
    housing = _take_top(P, free, k_of("housing"))
    lu[housing] = HOUSING
    free &= ~housing

    ind_pot = P + 0.35 * S.coarse(nz.coarse("industry", 1.5))
    industry = _take_top(ind_pot, free & ~uiter, k_of("industry") - int(clusters.sum()))
    lu[industry] = INDUSTRY
    free &= ~industry

    # defence training grounds
    def_pot = np.where(defence_zone, 1.0 + 0.3 * S.medium(nz.medium("defence", 2.0)), -9.0)
    defence = _take_top(def_pot, free & defence_zone, k_of("defence"))
    lu[defence] = DEFENCE
    free &= ~defence

    # nature
    nat = 0.3 * S.coarse(nz.octaves("nature", (1.0, 3.0), (1.0, 0.5)))
    nat += 0.7 * S.medium(nz.medium("nature-fine", 1.5))
    enclave = S.coarse(nz.coarse("n2000-enclave", 1.5)) > 1.1
    nat += 3.0 * (n2000 & ~enclave) + 1.2 * corridors + 2.0 * dunes + 0.6 * uiter
    rel = S.medium(world.rel_M)
    sand = soil == SAND
    nat += 1.0 * (sand & (rel > 4.0)) + 0.4 * (sand & (rel > 0.0)) + 0.3 * sand
    nat += 0.2 * (soil == LOESS)
    nat -= (0.9 * (soil == MARINE_CLAY) + 0.5 * (soil == RIVER_CLAY) + 0.2 * (soil == PEAT)
            + 1.0 * (pl & ~n2000))
    nature = _take_top(nat, free, k_of("nature"))
    lu[nature] = NATURE
    free &= ~nature
    del nat

    # solar, wind, water buffers
    solar_pot = (S.medium(nz.medium("solar", 1.2))
                 + 0.9 * S.burn(world.solar_regions).astype(np.float32)
                 + 0.6 * (P > -0.2) - 1.5 * uiter)
    solar = _take_top(solar_pot, free, k_of("solar"))
    lu[solar] = SOLAR
    free &= ~solar
    wind_pot = (2.0 * S.burn(world.wind_zones).astype(np.float32)
                + S.medium(nz.medium("wind", 0.5)) + 0.8 * dikes)
    wind = _take_top(wind_pot, free, k_of("wind"))
    lu[wind] = WIND
    free &= ~wind
    wb_pot = (1.5 * uiter + 1.2 * _dilate(brooks) + 0.8 * pl
              + S.medium(nz.medium("buffer", 1.5)))
    wb = _take_top(wb_pot, free, k_of("water_buffer"))
    lu[wb] = WATER_BUFFER
    free &= ~wb
    L["landuse"] = lu
    built = np.isin(lu, (HOUSING, INDUSTRY, INFRASTRUCTURE))

    # ---------------------------------------------------------------- derived masks
    progress("derived layers")
    L["natura2000"] = n2000 & ~built
    L["nnn"] = (n2000 | (lu == NATURE) | corridors) & study & ~built
    L["brooks"] = brooks
    # river reservations: binnendijkse patches just outside the dikes of Waal, Lek and IJssel
    resv_lines = [r.line for r in world.rivers if r.name in geo.RESERVATION_RIVERS]
    zone = S.burn([unary_union([ln.buffer(2900.0) for ln in resv_lines])]).astype(bool)
    patches = S.coarse(nz.coarse("reservation", 2.0)) > 0.35
    L["river_reservation"] = (zone & patches & land & ~fp_all & ~dikes & ~built
                              & (elev < design + 1.0))

    gw = [*_blobs(nz, geo.GROUNDWATER_BLOBS)]
    rng = nz.rng("groundwater")
    cand = np.flatnonzero((world.soil_M == SAND) & world.study_M & ~world.water_M
                          & (world.urban_M < 0.0))
    picks = rng.choice(cand, size=min(60, cand.size), replace=False)
    for p in picks:
        i, j = divmod(int(p), LAT_M.nx)
        r = rng.uniform(1.5, 3.5)
        gw.append(_blob(rng, LAT_M.xs[j] / _KM, LAT_M.ys[i] / _KM, r, r * rng.uniform(0.5, 0.9),
                        rng.uniform(0, 180), 0.3))
    L["groundwater_protection"] = S.burn(gw).astype(bool) & land & ~built

    infil_M = (world.soil_M == SAND) & (((world.elev_M >= 10.0) & (world.rel_M > 0.0))
                                        | (world.elev_M >= 28.0))
    L["infiltration"] = S.lookup(infil_M) & land & (soil == SAND)
    L["heritage"] = S.burn(world.heritage).astype(bool) & study
    valuable = S.burn(world.valuable).astype(bool) & study & ~built
    # the Groene Hart is valued for its peat meadows: drop its clay polders
    valuable &= ~((soil == MARINE_CLAY) & S.burn([world.valuable[0]]).astype(bool))
    L["valuable_landscape"] = valuable
    contour = [unary_union(gs).buffer(3000.0) for gs in world.clusters.values()]
    L["industry_contour"] = S.burn(contour).astype(bool) & study
    # a 2 km noise/safety buffer around the training grounds (always covering their cells)
    L["defence_contour"] = (S.burn([g.buffer(2000.0) for g in world.defence]).astype(bool)
                            | _dilate(lu == DEFENCE)) & study
    L["airport_noise"] = S.burn(world.airport_noise).astype(bool) & study
    L["deep_polders"] = np.where(land, polder_ids, 0).astype(np.uint16)

    # landscape types
    lt_of_soil = np.array([0, 1, 3, 2, 4, 6, 5], dtype=np.uint8)
    lt = lt_of_soil[soil]
    lt[S.lookup(world.heuvelland_M) & study] = 6
    lt[kwelder] = 5
    size = max(3, round(1500.0 / cw) | 1)
    dens = ndimage.uniform_filter(built.astype(np.float32), size=size, mode="constant")
    lt[(dens >= 0.5) & study & (built | (lu == NATURE) | (lu == WATER))] = 7
    lt[~study] = 0
    L["landscape_type"] = lt

    # agricultural quality
    q = S.coarse(nz.coarse("agri-quality", 2.0))
    aq = np.full(grid.shape, 2, dtype=np.uint8)
    aq[(soil == MARINE_CLAY) & (q > -0.7)] = 1
    aq[(soil == RIVER_CLAY) & (S.coarse(world.river_dist_C) < 1.8) & (q > -0.5)] = 1
    aq[(soil == LOESS) & (q > -0.3)] = 1
    aq[(soil == PEAT) | (soil == DUNE)] = 3
    aq[(soil == SAND) & ((elev > 25.0) | (q < -0.9) | _dilate(brooks, 2))] = 3
    aq[~land] = 0
    L["agri_quality"] = aq

    # flood depth 2100: potential depth below the reference level of sea, lakes and rivers
    d_big = S.medium(world.d_water_M)
    sea_ref = np.where(d_big < 60.0, np.maximum(1.3 - 0.02 * d_big, 0.2), -99.0)
    rd = S.coarse(world.river_dist_C)
    river_ref = np.where(rd < 25.0, design - 0.15 * rd, -99.0)
    ref = np.maximum(sea_ref, river_ref)
    flood = np.clip(ref - elev, 0.0, 6.5).astype(np.float32)
    flood[dunes | ~land] = 0.0
    flood[~study] = _FLOAT_NODATA
    L["flood_depth_2100"] = flood

    # subsidence by 2050 (cm)
    u = _unit(S.coarse(nz.coarse("subsidence", 2.0)))
    sub = np.select([soil == PEAT, soil == MARINE_CLAY, soil == RIVER_CLAY],
                    [20.0 + 40.0 * u, 5.0 + 10.0 * u, 5.0 + 8.0 * u], 2.0 * u)
    sub = sub.astype(np.float32)
    sub[water | (lu == WATER)] = 0.0
    sub[~study] = _FLOAT_NODATA
    L["subsidence"] = sub

    wind_speed = (6.4 + 2.1 * np.exp(-d_sea / 35.0)
                  + 0.15 * S.coarse(nz.coarse("wind-speed", 4.0))).astype(np.float32)
    wind_speed[~study] = _FLOAT_NODATA
    L["wind_potential"] = wind_speed

    elev = elev.astype(np.float32)
    elev[~study] = _FLOAT_NODATA
    L["elevation"] = elev
    soil[~study] = 0
    L["soil"] = soil

    info["polder_names"] = {i: name for i, name, _, _ in world.polders
                            if (L["deep_polders"] == i).any()}
    return L, info


# ============================================================================================
# Writing
# ============================================================================================

_LAYERS: dict[str, dict[str, Any]] = {
    "landuse": dict(kind="categorical", categories=USE_CODES, description=(
        "Current land use (huidig ruimtegebruik, cf. CBS Bestand Bodemgebruik); codes are the "
        "use ids of the use catalogue, 0 = outside the study area")),
    "elevation": dict(kind="continuous", unit="m", description=(
        "Surface elevation in m NAP (maaiveldhoogte, cf. AHN): polders below NAP, dunes and "
        "sandy uplands above")),
    "soil": dict(kind="categorical", categories=SOIL_CODES, description=(
        "Soil type (bodemsoort): zand, zeeklei, rivierklei, veen, löss, duinzand")),
    "landscape_type": dict(kind="categorical", categories=LANDSCAPE_CODES, description=(
        "Landscape type (landschapstype): hogere zandgronden, rivierengebied, zeekleigebied, "
        "veenweide, duinen en kust, heuvelland, stedelijk")),
    "uiterwaarden": dict(kind="mask", description=(
        "Floodplains between the big rivers and their primary dikes (uiterwaarden, "
        "Beleidslijn Grote Rivieren)")),
    "primary_dikes": dict(kind="mask", description=(
        "Primary flood defences (primaire waterkeringen) along rivers, coast and lakes")),
    "river_reservation": dict(kind="mask", description=(
        "Inland zones reserved for future river widening (binnendijkse "
        "rivierreserveringen) along Waal, Lek and IJssel")),
    "ijsselmeer_buitendijks": dict(kind="mask", description=(
        "Land outside the dikes along IJsselmeer, Markermeer and Randmeren "
        "(buitendijks IJsselmeergebied)")),
    "flood_depth_2100": dict(kind="continuous", unit="m", description=(
        "Potential flood depth under a high 2100 scenario (overstromingsdiepte), "
        "0 on high ground")),
    "subsidence": dict(kind="continuous", unit="cm", description=(
        "Expected land subsidence until 2050 (bodemdaling)")),
    "deep_polders": dict(kind="regions", description=(
        "Deep polders (diepe polders, droogmakerijen) below about -2 m NAP; 0 elsewhere")),
    "brooks": dict(kind="mask", description=(
        "Small brooks of the higher sandy soils (beken, beekdalen)")),
    "natura2000": dict(kind="mask", description="Natura 2000 areas (VHR-gebieden)"),
    "nnn": dict(kind="mask", description="Natuurnetwerk Nederland (NNN)"),
    "groundwater_protection": dict(kind="mask", description=(
        "Drinking-water abstraction and protection areas (grondwaterbeschermingsgebieden, "
        "waterwingebieden)")),
    "infiltration": dict(kind="mask", description=(
        "Sandy uplands with deep groundwater, suitable for infiltration "
        "(infiltratiegebieden)")),
    "heritage": dict(kind="mask", description=(
        "UNESCO heritage: Hollandse Waterlinies (Nieuwe Hollandse Waterlinie, Stelling van "
        "Amsterdam) and the Beemster")),
    "valuable_landscape": dict(kind="mask", description=(
        "Valuable landscapes (waardevolle landschappen): Groene Hart, Zuid-Limburg, "
        "Drentsche Aa and others")),
    "agri_quality": dict(kind="categorical", categories=AGRI_QUALITY_CODES, description=(
        "Suitability for agriculture (landbouwkundige geschiktheid): 1 best, 2 moderate, "
        "3 challenging (peat, wet or dry sand)")),
    "industry_contour": dict(kind="mask", description=(
        "Environmental contour (milieucontour) around the five energy-intensive industrial "
        "clusters")),
    "defence_contour": dict(kind="mask", description=(
        "Noise and safety contour around defence training grounds (defensie "
        "geluids- en veiligheidscontour)")),
    "airport_noise": dict(kind="mask", description=(
        "Aircraft noise contours (geluidscontouren) around Schiphol and the regional "
        "airports")),
    "wind_potential": dict(kind="continuous", unit="m/s", description=(
        "Mean wind speed at 100 m height (windsnelheid), high at the coast")),
}


def _write_tif(path: Path, arr: np.ndarray, grid: _Grid, nodata: float | None) -> None:
    import rasterio

    dtype = arr.dtype
    predictor = 3 if np.issubdtype(dtype, np.floating) else 2
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1,
                   dtype=dtype.name, crs="EPSG:28992", transform=grid.transform,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                   predictor=predictor, zlevel=6, num_threads="ALL_CPUS")
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)


def _write_gpkg(path: Path, layer: str, records: list[dict[str, Any]], geoms: list[Any]) -> None:
    import geopandas as gpd
    import pyogrio

    if path.exists():
        path.unlink()
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-01-01T00:00:00Z"})
    try:
        gdf = gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:28992")
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _package_version() -> str:
    try:
        import ruimteverdeling

        return str(getattr(ruimteverdeling, "__version__", "0.1.0"))
    except ImportError:  # pragma: no cover - the package is always importable here
        return "0.1.0"


def make_area(out_dir: str | Path, cells: int, resolution: float = 100.0, seed: int = 0,
              progress: Callable[[str], None] | None = None) -> Path:
    """Write a synthetic, Netherlands-like study area into ``out_dir``.

    ``cells`` is the approximate number of study-area cells (land-use code ≠ 0, within a
    few per cent), ``resolution`` the cell size in metres. The same arguments always give
    identical files. Returns the path of ``out_dir/area.yaml``.
    """
    if cells < 1:
        raise ValueError("cells must be positive")
    if not resolution > 0:
        raise ValueError("resolution must be positive")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    say("world geometry")
    world = _world(int(seed))
    say("fitting the grid")
    grid, study = _fit_grid(world, int(cells), float(resolution))
    layers, info = _build(world, grid, study, say)

    say("writing rasters")
    source = f"synthetic (ruimteverdeling make-area, seed {seed})"
    manifest_layers: dict[str, dict[str, Any]] = {}
    for name, meta in _LAYERS.items():
        arr = layers[name]
        if arr.dtype == bool:
            arr = arr.astype(np.uint8)
        kind = meta["kind"]
        nodata: float | None = None
        if kind == "continuous":
            nodata = _FLOAT_NODATA
        elif kind == "categorical":
            nodata = 0
        _write_tif(out / f"{name}.tif", arr, grid, nodata)
        entry: dict[str, Any] = {"file": f"{name}.tif", "kind": kind}
        if "unit" in meta:
            entry["unit"] = meta["unit"]
        if "categories" in meta:
            entry["categories"] = dict(meta["categories"])
        if name == "deep_polders":
            entry["categories"] = dict(info["polder_names"])
        entry["description"] = meta["description"]
        entry["source"] = source
        entry["version"] = GENERATOR_VERSION
        manifest_layers[name] = entry

    say("writing vectors")
    provinces = world.province_polygons(grid.cell_world)
    prov_geoms = [g for _, _, g in provinces]
    cover = _burn(prov_geoms, grid.shape, grid.world_transform,
                  [c for c, _, _ in provinces], dtype=np.int32)
    if (study & (cover == 0)).any():  # fall back to the unclipped polygons
        provinces = world.province_polygons(1e9)
    _write_gpkg(out / "provinces.gpkg", "provinces",
                [{"code": c, "name": n} for c, n, _ in provinces],
                [grid.to_grid(g) for _, _, g in provinces])
    _write_gpkg(out / "stations.gpkg", "stations",
                [{"name": c.name, "kind": "intercity" if c.intercity else "regional"}
                 for c in world.cities],
                [grid.to_grid(Point(c.x, c.y)) for c in world.cities])
    _write_gpkg(out / "railways.gpkg", "railways", [{"name": n} for n, _ in world.railways],
                [grid.to_grid(g) for _, g in world.railways])
    manifest_layers["regions"] = {
        "file": "provinces.gpkg", "layer": "provinces", "kind": "regions", "attribute": "code",
        "name_attribute": "name", "description": "Provinces (provincies)", "source": source,
        "version": GENERATOR_VERSION}
    manifest_layers["station_distance"] = {
        "file": "stations.gpkg", "layer": "stations", "kind": "distance", "unit": "m",
        "description": "Distance to the nearest railway station (treinstation)",
        "source": source, "version": GENERATOR_VERSION}
    manifest_layers["railway_distance"] = {
        "file": "railways.gpkg", "layer": "railways", "kind": "distance", "unit": "m",
        "description": "Distance to the nearest railway line (spoorlijn)", "source": source,
        "version": GENERATOR_VERSION}

    lu = layers["landuse"]
    counts = np.bincount(lu.ravel(), minlength=256)
    n_study = int(counts[1:].sum())
    shares = {use: round(float(counts[code]) / max(n_study, 1), 5)
              for code, use in USE_CODES.items()}
    manifest = {
        "name": f"synthetic-nl-seed{seed}",
        "description": (
            f"Synthetic Netherlands-like study area (seed {seed}, {n_study} cells of "
            f"{resolution:g} m, scale {grid.scale:.6g} about RD {SCALE_ORIGIN}). Not real data."),
        "grid": {"crs": "EPSG:28992", "width": grid.width, "height": grid.height,
                 "resolution": float(resolution), "left": float(grid.left),
                 "top": float(grid.top)},
        "current_use": "landuse",
        "regions": "regions",
        "layers": manifest_layers,
        "generator": {
            "name": "ruimteverdeling make-area",
            "generator_version": GENERATOR_VERSION,
            "package_version": _package_version(),
            "seed": int(seed),
            "cells_requested": int(cells),
            "cells_produced": n_study,
            "resolution": float(resolution),
            "scale_factor": float(round(grid.scale, 9)),
            "scale_origin": [SCALE_ORIGIN[0], SCALE_ORIGIN[1]],
            "shares": shares,
        },
    }
    path = out / "area.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    say("shares: " + ", ".join(f"{u} {100 * s:.1f}%" for u, s in shares.items()))
    return path


__all__ = ["GENERATOR_VERSION", "USE_CODES", "make_area"]
