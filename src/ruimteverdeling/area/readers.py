"""Reading layer files as a planner brings them: formats, coordinate columns and CRS checks.

:func:`file_format` tells a raster from a vector file, a TopoJSON and a CSV of points (by
suffix, and by content where the suffix does not say: a ``.json`` may be GeoJSON or
TopoJSON). :func:`read_features` reads any vector form into a GeoDataFrame in the CRS of its
coordinates, and :func:`check_coordinates` refuses coordinates that cannot be in the CRS they
are read in, naming the CRS they look like:

* read as longitude/latitude (GeoJSON and TopoJSON without a CRS, ``lon``/``lat`` columns) but
  ``|x| > 180`` or ``|y| > 90``: the coordinates are metres; inside the RD New domain
  (x −7,000 … 300,000, y 289,000 … 629,000) they are RD New (EPSG:28992), inside the Dutch
  part of UTM zone 31N (x 450,000 … 800,000, y 5,550,000 … 5,980,000) ETRS89 / UTM 31N
  (EPSG:25831), inside the Dutch part of Web Mercator (x 300,000 … 850,000, y 6,500,000 …
  7,100,000) EPSG:3857;
* read in a projected CRS (metres) but every coordinate within ``|x| ≤ 180, |y| ≤ 90``: they
  are longitude/latitude (EPSG:4326);
* longitude/latitude whose features miss the study grid but would fall on it with x and y
  exchanged: latitude and longitude are swapped.

TopoJSON is decoded here (GDAL reads it only when ``"type"`` is the first member): every
object's arcs are turned back into coordinates — with a ``transform``, positions are
quantised and delta-encoded, so arc point ``k`` is
``(Σ_{j≤k} dx_j · sx + tx, Σ_{j≤k} dy_j · sy + ty)`` — and stitched into lines and rings
(arc ``~i`` is arc ``i`` reversed; consecutive arcs share their end point).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.errors import InputError, Problem, did_you_mean

RASTER = "raster"
VECTOR = "vector"
TOPOJSON = "topojson"
CSV = "csv"

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2"}
VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".sqlite"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
TOPOJSON_SUFFIXES = {".topojson"}

LONLAT = "EPSG:4326"
RD_NEW = "EPSG:28992"

X_NAMES = ("x", "x_rd", "rd_x", "xrd", "rdx", "x_coord", "xcoord", "x_coordinaat", "easting")
Y_NAMES = ("y", "y_rd", "rd_y", "yrd", "rdy", "y_coord", "ycoord", "y_coordinaat", "northing")
LON_NAMES = ("lon", "lng", "long", "longitude", "lengtegraad", "geo_lng")
LAT_NAMES = ("lat", "latitude", "breedtegraad", "geo_lat")

# where the Netherlands lies in the CRSs its data usually comes in: (xmin, ymin, xmax, ymax)
DOMAINS: tuple[tuple[str, str, tuple[float, float, float, float]], ...] = (
    ("RD New", RD_NEW, (-7_000.0, 289_000.0, 300_000.0, 629_000.0)),
    ("ETRS89 / UTM zone 31N", "EPSG:25831", (450_000.0, 5_550_000.0, 800_000.0, 5_980_000.0)),
    ("Web Mercator", "EPSG:3857", (300_000.0, 6_500_000.0, 850_000.0, 7_100_000.0)),
)


def file_format(file: Path) -> str:
    """``raster``, ``vector``, ``topojson`` or ``csv``, by suffix and, for ``.json``, content.

    An unknown suffix is taken as a raster when rasterio opens it, else as a vector file
    (the readers then report what fails with both)."""
    suffix = file.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return CSV
    if suffix in TOPOJSON_SUFFIXES:
        return TOPOJSON
    if suffix in (".json", ".geojson"):
        return TOPOJSON if _looks_like_topojson(file) else VECTOR
    if suffix in VECTOR_SUFFIXES:
        return VECTOR
    if suffix in RASTER_SUFFIXES:
        return RASTER
    try:
        import rasterio

        with rasterio.open(file):
            return RASTER
    except Exception:  # not a raster GDAL knows: let the vector reader say what it is
        return VECTOR


def _looks_like_topojson(file: Path) -> bool:
    try:
        with open(file, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", "ignore")
    except OSError:
        return False
    return re.search(r'"type"\s*:\s*"Topology"', head) is not None


def _head_has_crs_member(file: Path) -> bool:
    try:
        with open(file, "rb") as fh:
            head = fh.read(1 << 20).decode("utf-8", "ignore")
    except OSError:
        return True
    return re.search(r'"crs"\s*:', head) is not None


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
class Features:
    """Features read from a file: the GeoDataFrame and where its CRS came from."""

    def __init__(self, gdf: Any, crs_origin: str, fmt: str) -> None:
        self.gdf = gdf
        self.crs_origin = crs_origin
        """How the CRS was decided, for messages: 'the file', 'the layer's `crs:`', ..."""
        self.format = fmt


def read_features(file: Path, spec: Any, where: Path, field: str, default_crs: str) -> Features:
    """Read a vector, TopoJSON or CSV layer (``spec`` is its LayerSpec; ``where``/``field``
    name area.yaml and the layer for messages; ``default_crs`` is the study grid's CRS, the
    default of ``x``/``y`` columns). The CRS is the layer's ``crs:`` when given."""
    fmt = file_format(file)
    if fmt == CSV:
        feats = _read_csv(file, spec, where, field, default_crs)
    elif fmt == TOPOJSON:
        feats = _read_topojson(file, spec, where, field)
    else:
        feats = _read_vector_file(file, spec, where, field)
    if spec.crs is not None:
        feats.gdf = feats.gdf.set_crs(spec.crs, allow_override=True)
        feats.crs_origin = "the layer's `crs:`"
    return feats


def _read_vector_file(file: Path, spec: Any, where: Path, field: str) -> Features:
    import geopandas as gpd
    import pyogrio

    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(file)]
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError.single(where, f"{field}.file", f"cannot read {file.name}: {exc}",
                                _unreadable_fix(file)) from None
    if spec.layer is None and len(layers) > 1:
        raise InputError.single(where, f"{field}.layer",
                                f"{file.name} holds {len(layers)} layers: {', '.join(layers)}",
                                f"name the one to use with `layer: {layers[0]}`")
    if spec.layer is not None and spec.layer not in layers:

        raise InputError.single(where, f"{field}.layer",
                                f"{file.name} has no layer '{spec.layer}'",
                                did_you_mean(spec.layer, layers))
    try:
        gdf = gpd.read_file(file, layer=spec.layer) if spec.layer else gpd.read_file(file)
    except Exception as exc:  # pyogrio raises several types for unreadable files/layers
        raise InputError.single(where, f"{field}.file",
                                f"cannot read vector layer {file.name}"
                                f"{'/' + spec.layer if spec.layer else ''}: {exc}",
                                _unreadable_fix(file)) from None
    origin = "the file"
    if file.suffix.lower() in (".json", ".geojson") and not _head_has_crs_member(file):
        origin = "GeoJSON without a `crs` member, which means longitude/latitude"
    return Features(gdf, origin, VECTOR)


def _unreadable_fix(file: Path) -> str:
    return (f"check that {file.name} is a complete GeoPackage, Shapefile (with its .shx and "
            ".dbf beside it), GeoJSON, TopoJSON or CSV of points, and the `layer:` name; "
            f"`ogrinfo {file}` lists what GDAL sees")


def _read_csv(file: Path, spec: Any, where: Path, field: str, default_crs: str) -> Features:
    import geopandas as gpd
    import pandas as pd

    try:
        df = pd.read_csv(file, sep=_delimiter(file), dtype=str, encoding="utf-8-sig",
                         skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError.single(where, f"{field}.file", f"cannot read {file.name} as CSV: {exc}",
                                "write it as text with a header row and one point per line, "
                                "separated by commas or semicolons") from None
    cols = {str(c).strip().lower(): str(c) for c in df.columns}
    xcol = ycol = None
    crs = default_crs
    origin = "x/y columns, read in the study grid's CRS"
    if spec.columns is not None:
        missing = [c for c in spec.columns if c not in df.columns]
        if missing:
            raise InputError.single(where, f"{field}.columns",
                                    f"{file.name} has no column {', '.join(map(repr, missing))}",
                                    f"use columns of the file: {', '.join(map(str, df.columns))}")
        xcol, ycol = spec.columns
        origin = "the layer's `columns:`, read in the study grid's CRS"
    else:
        lon = next((cols[n] for n in LON_NAMES if n in cols), None)
        lat = next((cols[n] for n in LAT_NAMES if n in cols), None)
        x = next((cols[n] for n in X_NAMES if n in cols), None)
        y = next((cols[n] for n in Y_NAMES if n in cols), None)
        if lon and lat:
            xcol, ycol, crs = lon, lat, LONLAT
            origin = f"columns '{lon}'/'{lat}', which mean longitude/latitude"
        elif x and y:
            xcol, ycol = x, y
            origin = f"columns '{x}'/'{y}', read in the study grid's CRS ({default_crs})"
    if xcol is None or ycol is None:
        raise InputError.single(
            where, f"{field}.columns",
            f"{file.name} has no coordinate columns I recognise (columns: "
            f"{', '.join(map(str, df.columns))})",
            "name them x and y (metres) or lon and lat (degrees), or say which they are with "
            "`columns: [X, Y]` and their CRS with `crs:`")
    if spec.kind not in ("distance", "mask"):
        raise InputError.single(
            where, f"{field}.kind",
            f"{file.name} holds points; a {spec.kind} layer needs areas",
            "use points for `kind: distance` (distance to the nearest point) or `kind: mask` "
            "(the cells holding a point)")
    xs = to_numbers(df[xcol])
    ys = to_numbers(df[ycol])
    bad = np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys)))
    if bad.size:
        rows = ", ".join(str(int(r) + 2) for r in bad[:5])  # +2: header line, 1-based
        raise InputError.single(
            where, f"{field}.file",
            f"{file.name}: {bad.size:,} line(s) have no usable coordinates in '{xcol}'/'{ycol}' "
            f"(line {rows}{' ...' if bad.size > 5 else ''})",
            "fill in or remove those lines (numbers with a decimal point or comma)")
    if not len(df):
        raise InputError.single(where, f"{field}.file", f"{file.name} has no points",
                                "add at least one line below the header")
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xs, ys), crs=crs)
    return Features(gdf, origin, CSV)


def _delimiter(file: Path) -> str:
    """The CSV's delimiter: comma, semicolon (Dutch spreadsheets) or tab, from its header."""
    try:
        with open(file, encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return ","
    counts = {d: header.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def to_numbers(col: Any) -> np.ndarray:
    import pandas as pd

    text = col.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


def _read_topojson(file: Path, spec: Any, where: Path, field: str) -> Features:
    import geopandas as gpd

    try:
        with open(file, encoding="utf-8") as fh:
            topo = json.load(fh)
    except (OSError, ValueError) as exc:
        raise InputError.single(where, f"{field}.file", f"cannot read {file.name}: {exc}",
                                "check that the file is complete TopoJSON") from None
    if not isinstance(topo, dict) or topo.get("type") != "Topology" or \
            not isinstance(topo.get("objects"), dict):
        raise InputError.single(where, f"{field}.file",
                                f"{file.name} is not TopoJSON (no top-level \"type\": "
                                "\"Topology\" with \"objects\")",
                                "give a TopoJSON or GeoJSON file")
    objects = topo["objects"]
    names = list(objects)
    if spec.layer is not None:
        if spec.layer not in objects:

            raise InputError.single(where, f"{field}.layer",
                                    f"{file.name} has no object '{spec.layer}'",
                                    did_you_mean(spec.layer, names))
        obj = objects[spec.layer]
    elif len(names) == 1:
        obj = objects[names[0]]
    else:
        raise InputError.single(where, f"{field}.layer",
                                f"{file.name} holds {len(names)} objects: {', '.join(names)}",
                                f"name the one to use with `layer: {names[0] if names else '?'}`")
    try:
        records, geoms = decode_topojson(topo, obj)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputError.single(where, f"{field}.file",
                                f"{file.name}: the TopoJSON cannot be decoded ({exc!r})",
                                "check the file (arcs, transform) or convert it to GeoJSON "
                                "(e.g. with topo2geo)") from None
    gdf = gpd.GeoDataFrame(records, geometry=geoms, crs=LONLAT)
    return Features(gdf, "TopoJSON, which has no CRS member and means longitude/latitude",
                    TOPOJSON)


def decode_topojson(topo: dict[str, Any], obj: dict[str, Any]
                    ) -> tuple[list[dict[str, Any]], list[Any]]:
    """The features of one TopoJSON object: attribute records (``properties`` and ``id``) and
    shapely geometries (see the module docstring for the decoding)."""
    from shapely.geometry import (
        LineString,
        MultiLineString,
        MultiPoint,
        MultiPolygon,
        Point,
        Polygon,
    )

    tr = topo.get("transform")
    if tr is not None:
        sx, sy = (float(v) for v in tr["scale"])
        tx, ty = (float(v) for v in tr["translate"])
    raw_arcs = topo.get("arcs") or []
    decoded: list[np.ndarray] = []
    for arc in raw_arcs:
        a = np.asarray(arc, dtype=float).reshape(-1, len(arc[0]) if arc else 2)[:, :2]
        if tr is not None:
            a = np.cumsum(a, axis=0) * (sx, sy) + (tx, ty)
        decoded.append(a)

    def position(p: list[float]) -> tuple[float, float]:
        if tr is None:
            return float(p[0]), float(p[1])
        return float(p[0]) * sx + tx, float(p[1]) * sy + ty

    def line(arc_ids: list[int]) -> np.ndarray:
        parts = []
        for k, i in enumerate(arc_ids):
            a = decoded[i] if i >= 0 else decoded[~i][::-1]
            parts.append(a if k == 0 else a[1:])
        return np.concatenate(parts) if parts else np.zeros((0, 2))

    def polygon(rings: list[list[int]]) -> Any:
        coords = [line(r) for r in rings]
        return Polygon(coords[0], coords[1:])

    records: list[dict[str, Any]] = []
    geoms: list[Any] = []

    def visit(g: dict[str, Any]) -> None:
        kind = g.get("type")
        if kind == "GeometryCollection":
            for sub in g.get("geometries") or []:
                visit(sub)
            return
        if kind == "Point":
            geom = Point(position(g["coordinates"]))
        elif kind == "MultiPoint":
            geom = MultiPoint([position(p) for p in g["coordinates"]])
        elif kind == "LineString":
            geom = LineString(line(g["arcs"]))
        elif kind == "MultiLineString":
            geom = MultiLineString([line(a) for a in g["arcs"]])
        elif kind == "Polygon":
            geom = polygon(g["arcs"])
        elif kind == "MultiPolygon":
            geom = MultiPolygon([polygon(p) for p in g["arcs"]])
        elif kind is None:
            return  # a null geometry: a feature without shape
        else:
            raise ValueError(f"unknown geometry type {kind!r}")
        rec = dict(g.get("properties") or {})
        if "id" in g and "id" not in rec:
            rec["id"] = g["id"]
        records.append(rec)
        geoms.append(geom)

    visit(obj)
    return records, geoms


# ---------------------------------------------------------------------------------------------
# coordinates that cannot be what they are read as
# ---------------------------------------------------------------------------------------------
def looks_like(bounds: tuple[float, float, float, float]) -> tuple[str, str] | None:
    """(name, EPSG code) of the CRS whose Dutch domain holds ``bounds``, or None."""
    x0, y0, x1, y1 = bounds
    for name, code, (a, b, c, d) in DOMAINS:
        if x0 >= a and y0 >= b and x1 <= c and y1 <= d:
            return name, code
    return None


def check_coordinates(feats: Features, file: Path, where: Path, field: str) -> None:
    """Raise when the features' coordinates cannot be in the CRS they are read in."""
    gdf = feats.gdf
    if gdf.crs is None or gdf.empty:
        return
    check_bounds(tuple(float(v) for v in gdf.total_bounds), gdf.crs, feats.crs_origin, file,
                 where, field)


def check_bounds(bounds: tuple[float, ...], crs: Any, origin: str, file: Path, where: Path,
                 field: str) -> None:
    """Raise when ``bounds`` cannot be coordinates of ``crs`` (see the module docstring);
    ``origin`` says where the CRS came from (for the message)."""
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    x0, y0, x1, y1 = bounds
    if not all(np.isfinite([x0, y0, x1, y1])):
        return
    shown = f"x {x0:,.6g} … {x1:,.6g}, y {y0:,.6g} … {y1:,.6g}"
    if crs.is_geographic:
        if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90:
            guess = looks_like((x0, y0, x1, y1))
            if guess is not None:
                what = f"these look like {guess[0]} ({guess[1]}) coordinates"
                fix = (f"add `crs: {guess[1]}` to the layer in area.yaml (or give the file its "
                       f"CRS, e.g. ogr2ogr -a_srs {guess[1]} out.gpkg {file.name})")
            else:
                what = "they are metres of a projected CRS I do not recognise"
                fix = ("find the file's CRS in its documentation and add `crs: EPSG:<code>` to "
                       "the layer in area.yaml")
            raise InputError.single(
                where, field,
                f"{file.name} is read as longitude/latitude ({origin}), but its coordinates "
                f"({shown}) cannot be degrees; {what}", fix)
    elif max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90:
        raise InputError.single(
            where, field,
            f"{file.name} is read in {crs.to_string()} (metres; {origin}), but its coordinates "
            f"({shown}) are all within ±180/±90: they look like longitude/latitude",
            f"add `crs: {LONLAT}` to the layer in area.yaml (or give the file its CRS, e.g. "
            f"ogr2ogr -a_srs {LONLAT} out.gpkg {file.name})")


def swapped_axes(gdf: Any, grid_bounds: tuple[float, float, float, float],
                 grid_crs: str) -> bool:
    """Whether longitude/latitude features that miss the grid would hit it with x and y
    exchanged (latitude written first)."""
    if gdf.crs is None or not gdf.crs.is_geographic or gdf.empty:
        return False
    from pyproj import Transformer

    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    if max(abs(y0), abs(y1)) > 180 or max(abs(x0), abs(x1)) > 90:
        return False
    t = Transformer.from_crs(gdf.crs, grid_crs, always_xy=True)
    try:
        bx0, by0, bx1, by1 = t.transform_bounds(y0, x0, y1, x1)
    except Exception:  # outside the projection's domain: not a swap onto this grid
        return False
    gx0, gy0, gx1, gy1 = grid_bounds
    return bool(bx0 < gx1 and bx1 > gx0 and by0 < gy1 and by1 > gy0)


def problem_for_swapped(file: Path, where: Path, field: str) -> Problem:
    return Problem(
        where, field,
        f"{file.name}: no feature lies on the study grid, but every one would with x and y "
        "exchanged: the file holds latitude, longitude where x = longitude, y = latitude is "
        "expected",
        "write the coordinates as longitude first (GeoJSON requires [lon, lat]); for a CSV, "
        "check which column is lon and which is lat (or set `columns: [LON, LAT]`)")
