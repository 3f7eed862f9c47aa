"""The hand-drawn geography of the Netherlands, read from ``data/nl_geography.geojson``.

The data file is a GeoJSON FeatureCollection shipped with the package. It is not survey data:
outlines, rivers, cities and zones were drawn by hand and are approximate (errors of a few km
are normal). Its coordinates are RD New (EPSG:28992) easting and northing in **kilometres**,
as its ``coordinate_convention`` member says; the generator multiplies them by 1000. River
vertices carry a third value, the mean water level in m NAP.

Every feature has a ``kind`` property saying what it is (the file's ``kinds`` member describes
each). :func:`load_geography` groups the features by kind into the frozen dataclasses below, in
file order (the order matters: deep-polder region ids follow it, and later zones are painted
over earlier ones), and checks every field it reads, so that a broken edit is reported with the
feature and the field rather than as a ``KeyError`` deep inside the generator.

Two shapes recur. A *blob* is a Point with ``semi_axes_km`` [rx, ry] and ``angle_deg``: an
ellipse around the point, its rx axis rotated anticlockwise from east, whose outline the
generator roughens. A *band* is a LineString with ``half_width_km``: everything within that
distance of the line. A *site* is a named Point, for some kinds with a radius (a radar's
restriction zone, a munitions depot's safety circle, the reach of a policy around a city).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

#: The data file, inside this package.
DATA_FILE = "data/nl_geography.geojson"
#: What a defence ground is used for (its ``function`` property; training when absent).
DEFENCE_FUNCTIONS = ("training", "airbase", "naval")

Point = tuple[float, float]
#: A polygon's exterior ring, without the closing vertex.
Ring = tuple[Point, ...]
#: A stop of a railway or motorway: a city name or a waypoint.
Stop = str | Point


@dataclass(frozen=True)
class Area:
    """A named polygon."""

    name: str
    outline: Ring


@dataclass(frozen=True)
class Lake:
    """A large lake; ``ijsselmeer_area`` marks the lakes of the IJssel mouth."""

    name: str
    outline: Ring
    ijsselmeer_area: bool


@dataclass(frozen=True)
class Blob:
    """An ellipse around (x, y) with semi-axes rx, ry (km), rotated ``angle`` degrees."""

    name: str
    x: float
    y: float
    rx: float
    ry: float
    angle: float


@dataclass(frozen=True)
class Band:
    """Everything within ``half_width`` km of a polyline."""

    name: str
    line: tuple[Point, ...]
    half_width: float


@dataclass(frozen=True)
class River:
    """A river or canal: vertices (x, y, mean water level m NAP), half the width of its water
    (km), the half-width range of its floodplains (km, None for none) and whether river-widening
    reservations lie along it."""

    name: str
    vertices: tuple[tuple[float, float, float], ...]
    half_width: float
    floodplain: tuple[float, float] | None
    reservation: bool


@dataclass(frozen=True)
class DeepPolder:
    """A deep polder at polder level ``level`` (m NAP)."""

    name: str
    level: float
    outline: Ring
    flevoland: bool
    heritage: bool


@dataclass(frozen=True)
class DuneCoast:
    """A dune coast: dune sand lies within ``width`` = (min, max) km of the sea."""

    name: str
    outline: Ring
    width: tuple[float, float]


@dataclass(frozen=True)
class Hill:
    """A Gaussian hill of ``amplitude`` m with standard deviations sx, sy (km)."""

    name: str
    x: float
    y: float
    amplitude: float
    sx: float
    sy: float


@dataclass(frozen=True)
class Ridge:
    """A ridge of ``amplitude`` m with a Gaussian cross-section of ``half_width`` km."""

    name: str
    line: tuple[Point, ...]
    amplitude: float
    half_width: float


@dataclass(frozen=True)
class City:
    """A city: population in thousands, CBS province code, intercity station or not."""

    name: str
    x: float
    y: float
    population: float
    province: int
    intercity: bool


@dataclass(frozen=True)
class Province:
    """A province (CBS code and name) and its extra Voronoi seed points."""

    code: int
    name: str
    seeds: tuple[Point, ...]


@dataclass(frozen=True)
class Route:
    """A railway or motorway through its stops (city names or waypoints)."""

    name: str
    stops: tuple[Stop, ...]


@dataclass(frozen=True)
class Airport:
    """An airport: runway direction (degrees from east), semi-axes (km) of site and noise."""

    name: str
    x: float
    y: float
    angle: float
    site: tuple[float, float]
    noise: tuple[float, float]


@dataclass(frozen=True)
class HeritageRing:
    """A ring of ``radius`` km around (x, y), ``half_width`` km wide on either side."""

    name: str
    x: float
    y: float
    radius: float
    half_width: float


@dataclass(frozen=True)
class Site:
    """A named point (km) with a radius (km; 0 when the kind has none)."""

    name: str
    x: float
    y: float
    radius: float = 0.0


@dataclass(frozen=True)
class Geography:
    """The whole hand-drawn Netherlands (km, RD New), grouped by kind in file order."""

    coast: tuple[Point, ...]
    land_border: tuple[Point, ...]
    foreign_closure: tuple[Point, ...]
    islands: tuple[Area, ...]
    estuaries: tuple[Area, ...]
    ijsselmeer: Ring
    markermeer: Ring
    randmeren: Band
    delta_lakes: tuple[Lake, ...]
    lakes: tuple[Blob, ...]
    rivers: tuple[River, ...]
    deep_polders: tuple[DeepPolder, ...]
    peat_zones: tuple[Area, ...]
    marine_clay_zones: tuple[Area, ...]
    loess_zone: Ring
    dune_coasts: tuple[DuneCoast, ...]
    salt_marsh_coast: Ring
    hills: tuple[Hill, ...]
    ridges: tuple[Ridge, ...]
    cities: tuple[City, ...]
    provinces: tuple[Province, ...]
    railways: tuple[Route, ...]
    motorways: tuple[Route, ...]
    natura2000_areas: tuple[Area, ...]
    natura2000_blobs: tuple[Blob, ...]
    natura2000_bands: tuple[Band, ...]
    nnn_corridors: tuple[Band, ...]
    groundwater_protection: tuple[Blob, ...]
    defence_grounds: tuple[Blob, ...]
    industrial_clusters: dict[str, tuple[Blob, ...]]
    airports: tuple[Airport, ...]
    wind_zones: tuple[Blob, ...]
    heritage_bands: tuple[Band, ...]
    heritage_rings: tuple[HeritageRing, ...]
    valuable_areas: tuple[Area, ...]
    valuable_blobs: tuple[Blob, ...]
    solar_regions: tuple[Blob, ...]
    #: The function of each defence ground (by name): training, airbase or naval.
    defence_functions: dict[str, str] = field(default_factory=dict)
    defence_radars: tuple[Site, ...] = ()
    helicopter_bases: tuple[Site, ...] = ()
    low_flying_areas: tuple[Blob, ...] = ()
    barracks: tuple[Site, ...] = ()
    munitions_depots: tuple[Site, ...] = ()
    military_routes: tuple[Band, ...] = ()
    north_sea_defence_sites: tuple[Blob, ...] = ()
    drinking_water_shortage: tuple[Blob, ...] = ()
    water_space_cities: tuple[Site, ...] = ()
    limited_growth_cities: tuple[Site, ...] = ()

    @property
    def province_names(self) -> dict[int, str]:
        return {p.code: p.name for p in self.provinces}

    def river(self, name: str) -> River:
        for r in self.rivers:
            if r.name == name:
                return r
        raise ValueError(f"{DATA_FILE}: no river named {name!r} (the generator needs it)")


# ------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------


class _Feature:
    """One feature, with typed access to its properties and coordinates."""

    def __init__(self, index: int, raw: Any) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("properties"), dict):
            raise ValueError(f"{DATA_FILE}: features[{index}] is not a GeoJSON Feature with "
                             "properties")
        self.props: dict[str, Any] = raw["properties"]
        self.kind = str(self.props.get("kind"))
        self.where = f"{DATA_FILE}: features[{index}] ({self.kind} {self.props.get('name')!r})"
        geometry = raw.get("geometry")
        if not isinstance(geometry, dict):
            raise ValueError(f"{self.where}: has no geometry")
        self.geometry_type = geometry.get("type")
        self.coordinates = geometry.get("coordinates")

    def fail(self, field: str, expected: str) -> ValueError:
        return ValueError(f"{self.where}: {field} must be {expected}")

    def text(self, key: str) -> str:
        value = self.props.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a non-empty string")
        return value

    def number(self, key: str) -> float:
        value = self.props.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number")
        return value

    def flag(self, key: str) -> bool:
        value = self.props.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def pair(self, key: str) -> tuple[float, float]:
        value = self.props.get(key)
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in value)):
            raise self.fail(key, "a list of two numbers")
        return (value[0], value[1])

    def _geometry(self, expected: str) -> Any:
        if self.geometry_type != expected:
            raise self.fail("geometry", f"a {expected} (not {self.geometry_type})")
        return self.coordinates

    def _positions(self, raw: Any, size: int, field: str) -> list[tuple[float, ...]]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(field, "a non-empty list of positions")
        out = []
        for p in raw:
            if (not isinstance(p, list) or len(p) != size
                    or not all(isinstance(v, int | float) and not isinstance(v, bool)
                               for v in p)):
                raise self.fail(field, f"a list of positions of {size} numbers")
            out.append(tuple(p))
        return out

    def point(self) -> Point:
        (p,) = self._positions([self._geometry("Point")], 2, "geometry.coordinates")
        return (p[0], p[1])

    def line(self) -> tuple[Point, ...]:
        pts = self._positions(self._geometry("LineString"), 2, "geometry.coordinates")
        return tuple((p[0], p[1]) for p in pts)

    def line3(self) -> tuple[tuple[float, float, float], ...]:
        pts = self._positions(self._geometry("LineString"), 3, "geometry.coordinates")
        return tuple((p[0], p[1], p[2]) for p in pts)

    def multipoint(self) -> tuple[Point, ...]:
        pts = self._positions(self._geometry("MultiPoint"), 2, "geometry.coordinates")
        return tuple((p[0], p[1]) for p in pts)

    def ring(self) -> Ring:
        rings = self._geometry("Polygon")
        if not isinstance(rings, list) or len(rings) != 1:
            raise self.fail("geometry.coordinates", "one exterior ring (no holes)")
        pts = self._positions(rings[0], 2, "geometry.coordinates[0]")
        if len(pts) < 4 or pts[0] != pts[-1]:
            raise self.fail("geometry.coordinates[0]", "a closed ring of at least 3 vertices")
        return tuple((p[0], p[1]) for p in pts[:-1])

    # ---- the recurring shapes
    def area(self) -> Area:
        return Area(self.text("name"), self.ring())

    def blob(self) -> Blob:
        x, y = self.point()
        rx, ry = self.pair("semi_axes_km")
        return Blob(self.text("name"), x, y, rx, ry, self.number("angle_deg"))

    def site(self, radius_key: str | None = None) -> Site:
        x, y = self.point()
        return Site(self.text("name"), x, y,
                    0.0 if radius_key is None else self.number(radius_key))

    def band(self) -> Band:
        return Band(self.text("name"), self.line(), self.number("half_width_km"))

    def route(self) -> Route:
        line = self.line()
        names = self.props.get("stops")
        if not isinstance(names, list) or len(names) != len(line):
            raise self.fail("stops", "a list with a city name or null for every vertex")
        stops: list[Stop] = []
        for name, vertex in zip(names, line, strict=True):
            if name is not None and not isinstance(name, str):
                raise self.fail("stops", "city names or null")
            stops.append(vertex if name is None else name)
        return Route(self.text("name"), tuple(stops))


def _check_routes(routes: list[tuple[_Feature, Route]], cities: dict[str, Point]) -> None:
    """A named stop must be a known city, and its vertex must lie on the city."""
    for feature, route in routes:
        for stop, vertex in zip(route.stops, feature.line(), strict=True):
            if isinstance(stop, str) and cities.get(stop) != vertex:
                found = "not a city" if stop not in cities else f"at {cities[stop]}"
                raise feature.fail("stops", f"city names whose position is the vertex: "
                                   f"{stop!r} is {found}, the vertex is {vertex}")


def parse_geography(text: str) -> Geography:
    """Parse the GeoJSON text of the geography (see the module docstring)."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValueError(f"{DATA_FILE}: not a GeoJSON FeatureCollection")
    convention = doc.get("coordinate_convention") or {}
    if convention.get("crs") != "EPSG:28992" or convention.get("unit") != "km":
        raise ValueError(f"{DATA_FILE}: coordinate_convention must say crs EPSG:28992, unit km")
    features = [_Feature(i, raw) for i, raw in enumerate(doc.get("features") or [])]
    by_kind: dict[str, list[_Feature]] = {}
    for f in features:
        by_kind.setdefault(f.kind, []).append(f)
    known = doc.get("kinds") or {}
    unknown = sorted(set(by_kind) - set(known))
    if unknown:
        raise ValueError(f"{DATA_FILE}: unknown feature kinds {unknown}; describe each kind in "
                         "the file's 'kinds' member and read it in geography.py")

    def of(kind: str) -> list[_Feature]:
        return by_kind.get(kind, [])

    def one(kind: str) -> _Feature:
        found = of(kind)
        if len(found) != 1:
            raise ValueError(f"{DATA_FILE}: expected exactly one {kind!r} feature, "
                             f"found {len(found)}")
        return found[0]

    def by_geometry(kind: str) -> dict[str, list[_Feature]]:
        groups: dict[str, list[_Feature]] = {"Polygon": [], "Point": [], "LineString": []}
        for f in of(kind):
            if f.geometry_type not in groups:
                raise f.fail("geometry", "a Polygon, a Point (blob) or a LineString (band)")
            groups[f.geometry_type].append(f)
        return groups

    rivers = []
    for f in of("river"):
        floodplain = None if f.props.get("floodplain_half_width_km") is None \
            else f.pair("floodplain_half_width_km")
        rivers.append(River(f.text("name"), f.line3(), f.number("half_width_km"), floodplain,
                            f.flag("river_reservation")))
    cities = []
    for f in of("city"):
        x, y = f.point()
        province = f.number("province")
        if not isinstance(province, int):
            raise f.fail("province", "an integer CBS province code")
        cities.append(City(f.text("name"), x, y, f.number("population_thousands"), province,
                           f.flag("intercity")))
    city_xy = {c.name: (c.x, c.y) for c in cities}
    routes = {kind: [(f, f.route()) for f in of(kind)] for kind in ("railway", "motorway")}
    for pairs in routes.values():
        _check_routes(pairs, city_xy)
    provinces = []
    for f in of("province"):
        code = f.number("code")
        if not isinstance(code, int):
            raise f.fail("code", "an integer CBS province code")
        provinces.append(Province(code, f.text("name"), f.multipoint()))
    clusters: dict[str, tuple[Blob, ...]] = {}
    for f in of("industrial_site"):
        cluster = f.text("cluster")
        clusters[cluster] = (*clusters.get(cluster, ()), f.blob())
    heritage = by_geometry("heritage")
    if heritage["Polygon"]:
        raise heritage["Polygon"][0].fail("geometry", "a LineString (band) or a Point (ring)")
    rings = []
    for f in heritage["Point"]:
        x, y = f.point()
        rings.append(HeritageRing(f.text("name"), x, y, f.number("ring_radius_km"),
                                  f.number("half_width_km")))
    natura2000 = by_geometry("natura2000")
    valuable = by_geometry("valuable_landscape")
    if valuable["LineString"]:
        raise valuable["LineString"][0].fail("geometry", "a Polygon or a Point (blob)")

    functions = {}
    for f in of("defence_ground"):
        function = f.props.get("function", "training")
        if function not in DEFENCE_FUNCTIONS:
            raise f.fail("function", f"one of {', '.join(DEFENCE_FUNCTIONS)}")
        functions[f.text("name")] = function

    return Geography(
        coast=one("coast").line(),
        land_border=one("land_border").line(),
        foreign_closure=one("foreign_closure").line(),
        islands=tuple(f.area() for f in of("island")),
        estuaries=tuple(f.area() for f in of("estuary")),
        ijsselmeer=one("ijsselmeer").ring(),
        markermeer=one("markermeer").ring(),
        randmeren=one("randmeren").band(),
        delta_lakes=tuple(Lake(f.text("name"), f.ring(), f.flag("ijsselmeer_area"))
                          for f in of("delta_lake")),
        lakes=tuple(f.blob() for f in of("lake")),
        rivers=tuple(rivers),
        deep_polders=tuple(DeepPolder(f.text("name"), f.number("level_m_nap"), f.ring(),
                                      f.flag("flevoland"), f.flag("unesco_heritage"))
                           for f in of("deep_polder")),
        peat_zones=tuple(f.area() for f in of("peat_zone")),
        marine_clay_zones=tuple(f.area() for f in of("marine_clay_zone")),
        loess_zone=one("loess_zone").ring(),
        dune_coasts=tuple(DuneCoast(f.text("name"), f.ring(), f.pair("dune_width_km"))
                          for f in of("dune_coast")),
        salt_marsh_coast=one("salt_marsh_coast").ring(),
        hills=tuple(Hill(f.text("name"), *f.point(), f.number("amplitude_m"),
                         *f.pair("sigma_km")) for f in of("hill")),
        ridges=tuple(Ridge(f.text("name"), f.line(), f.number("amplitude_m"),
                           f.number("half_width_km")) for f in of("ridge")),
        cities=tuple(cities),
        provinces=tuple(provinces),
        railways=tuple(r for _, r in routes["railway"]),
        motorways=tuple(r for _, r in routes["motorway"]),
        natura2000_areas=tuple(f.area() for f in natura2000["Polygon"]),
        natura2000_blobs=tuple(f.blob() for f in natura2000["Point"]),
        natura2000_bands=tuple(f.band() for f in natura2000["LineString"]),
        nnn_corridors=tuple(f.band() for f in of("nnn_corridor")),
        groundwater_protection=tuple(f.blob() for f in of("groundwater_protection")),
        defence_grounds=tuple(f.blob() for f in of("defence_ground")),
        industrial_clusters=clusters,
        airports=tuple(Airport(f.text("name"), *f.point(), f.number("runway_angle_deg"),
                               f.pair("site_semi_axes_km"), f.pair("noise_semi_axes_km"))
                       for f in of("airport")),
        wind_zones=tuple(f.blob() for f in of("wind_zone")),
        heritage_bands=tuple(f.band() for f in heritage["LineString"]),
        heritage_rings=tuple(rings),
        valuable_areas=tuple(f.area() for f in valuable["Polygon"]),
        valuable_blobs=tuple(f.blob() for f in valuable["Point"]),
        solar_regions=tuple(f.blob() for f in of("solar_region")),
        defence_functions=functions,
        defence_radars=tuple(f.site("radius_km") for f in of("defence_radar")),
        helicopter_bases=tuple(f.site() for f in of("helicopter_base")),
        low_flying_areas=tuple(f.blob() for f in of("low_flying_area")),
        barracks=tuple(f.site() for f in of("barracks")),
        munitions_depots=tuple(f.site("safety_radius_km") for f in of("munitions_depot")),
        military_routes=tuple(f.band() for f in of("military_route")),
        north_sea_defence_sites=tuple(f.blob() for f in of("north_sea_defence_site")),
        drinking_water_shortage=tuple(f.blob() for f in of("drinking_water_shortage")),
        water_space_cities=tuple(f.site("radius_km") for f in of("water_space_city")),
        limited_growth_cities=tuple(f.site("radius_km") for f in of("limited_growth_city")),
    )


@functools.cache
def load_geography() -> Geography:
    """The geography shipped with the package (read once)."""
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_geography(text)


__all__ = ["DATA_FILE", "DEFENCE_FUNCTIONS", "Geography", "Site", "load_geography",
           "parse_geography"]
