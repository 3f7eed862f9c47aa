"""The vector geometry of the world: outline, water, rivers, polders and zones (RD metres).

The hand-drawn shapes of the geography (km) are turned into shapely geometry in world metres.
Blobs are roughened with the random stream named after them, so every seed draws slightly
different zones around the same centres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from ruimteverdeling.synthetic.codes import KM
from ruimteverdeling.synthetic.fields import Noise
from ruimteverdeling.synthetic.geography import Geography
from ruimteverdeling.synthetic.geometry import band, blobs, ellipse, metres, polygon


@dataclass(frozen=True, eq=False)
class RiverLine:
    """A river in world metres: its centre line, the mean water level (m NAP) at each vertex,
    half the width of its water (m), its floodplain half-width range (km, None for none) and
    whether river-widening reservations lie along it."""

    name: str
    line: LineString
    levels: np.ndarray
    half_width: float
    floodplain: tuple[float, float] | None
    reservation: bool


@dataclass(frozen=True, eq=False)
class PolderShape:
    """A deep polder: region id (1-based, file order), name, polder level (m NAP), outline."""

    id: int
    name: str
    level: float
    polygon: Polygon


@dataclass(frozen=True, eq=False)
class WorldVectors:
    """Vector geometry of the synthetic Netherlands in world metres."""

    #: The study area: mainland and islands without the open estuaries.
    study: Any
    #: Belgium and Germany (outside the study area, but not sea).
    foreign: Any
    #: IJsselmeer, Markermeer, Randmeren and the lakes of the IJssel mouth.
    ijssel_lakes: Any
    #: All large lakes: the IJsselmeer area and the delta lakes.
    big_lakes: Any
    small_lakes: list[Polygon]
    rivers: list[RiverLine]
    polders: list[PolderShape]
    #: The polders of the province of Flevoland.
    flevoland: Any
    natura2000: list[Any]
    nnn_corridors: list[Any]
    defence: list[Polygon]
    #: Industrial sites per energy-intensive cluster.
    clusters: dict[str, list[Polygon]]
    airports: list[Polygon]
    airport_noise: list[Polygon]
    wind_zones: list[Polygon]
    solar_regions: list[Polygon]
    heritage: list[Any]
    valuable: list[Polygon]
    #: The Groene Hart, valued for its peat meadows (its clay polders are left out).
    groene_hart: Polygon


def world_vectors(geo: Geography, noise: Noise) -> WorldVectors:
    """Draw the geography in world metres (see the module docstring)."""
    mainland = shapely.make_valid(Polygon(metres([*geo.coast, *geo.land_border[1:]])))
    islands = [polygon(a.outline) for a in geo.islands]
    estuaries = unary_union([polygon(a.outline) for a in geo.estuaries])
    study = shapely.make_valid(unary_union([mainland, *islands]).difference(estuaries))
    foreign = shapely.make_valid(Polygon(metres([*geo.land_border, *geo.foreign_closure])))

    ijssel_area = [polygon(geo.ijsselmeer), polygon(geo.markermeer), band(geo.randmeren)]
    ijssel_area += [polygon(lake.outline) for lake in geo.delta_lakes if lake.ijsselmeer_area]
    delta_lakes = [polygon(lake.outline) for lake in geo.delta_lakes]

    rivers = [RiverLine(r.name, LineString(metres(r.vertices)),
                        np.array([v[2] for v in r.vertices]), r.half_width * KM, r.floodplain,
                        r.reservation)
              for r in geo.rivers]
    polders = [PolderShape(i + 1, p.name, p.level, polygon(p.outline))
               for i, p in enumerate(geo.deep_polders)]

    natura2000 = [polygon(a.outline) for a in geo.natura2000_areas]
    natura2000 += blobs(noise, geo.natura2000_blobs)
    natura2000 += [band(b) for b in geo.natura2000_bands]

    heritage = [band(b) for b in geo.heritage_bands]
    for ring in geo.heritage_rings:
        centre = Point(ring.x * KM, ring.y * KM)
        heritage.append(centre.buffer((ring.radius + ring.half_width) * KM).difference(
            centre.buffer((ring.radius - ring.half_width) * KM)))
    heritage += [p.polygon for p, drawn in zip(polders, geo.deep_polders, strict=True)
                 if drawn.heritage]

    valuable = [polygon(a.outline) for a in geo.valuable_areas]
    groene_hart = valuable[[a.name for a in geo.valuable_areas].index("Groene Hart")]
    valuable += blobs(noise, geo.valuable_blobs, rough=0.3)

    return WorldVectors(
        study=study,
        foreign=foreign.difference(mainland),
        ijssel_lakes=unary_union(ijssel_area),
        big_lakes=unary_union([*ijssel_area, *delta_lakes]),
        small_lakes=blobs(noise, geo.lakes, rough=0.3),
        rivers=rivers,
        polders=polders,
        flevoland=unary_union([p.polygon for p, drawn in zip(polders, geo.deep_polders,
                                                               strict=True) if drawn.flevoland]),
        natura2000=natura2000,
        nnn_corridors=[band(c) for c in geo.nnn_corridors],
        defence=blobs(noise, geo.defence_grounds, rough=0.18, scale=1.4),
        clusters={name: blobs(noise, sites, rough=0.2)
                  for name, sites in geo.industrial_clusters.items()},
        airports=[ellipse(a.x, a.y, a.site[0], a.site[1], a.angle) for a in geo.airports],
        airport_noise=[ellipse(a.x, a.y, a.noise[0], a.noise[1], a.angle)
                       for a in geo.airports],
        wind_zones=blobs(noise, geo.wind_zones, rough=0.25),
        solar_regions=[ellipse(b.x, b.y, b.rx, b.ry, b.angle) for b in geo.solar_regions],
        heritage=heritage,
        valuable=valuable,
        groene_hart=groene_hart,
    )
