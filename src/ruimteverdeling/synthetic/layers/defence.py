"""Defence: its existing training grounds, the four defence main structures, the radar and
low-flying zones, the munitions safety circles and the flight time from the helicopter bases.

The Voorontwerp Nota Ruimte (Thema Defensie) describes the space defence needs as a
*ruimtelijke hoofdstructuur* of four overlapping structures; each is a mask here, drawn from
the geography's defence features (``data/nl_geography.geojson``) at the generator's level of
detail (positions within a few km, sizes rounded):

1. *aviation* (infrastructuur voor militaire luchtvaart): the airbases (defence grounds with
   ``function: airbase``) grown by 1.5 km for their runways and approaches, and a 1 km circle
   round every radar post;
2. *training and basing* (oefenen en legering): the training grounds and the barracks, grown
   by 4 km (exercise areas and facilities near the units), and the low-flying areas, which
   the Voorontwerp places in this structure;
3. *transport and storage* (militaire transportroutes en opslagcapaciteit): the military
   transport corridors (bands along the A15/Betuweroute, A12, A58/A67 and A1 to Germany) and
   the munitions depots with their safety circles;
4. *North Sea* (ruimte op de Noordzee): its land and shore part only (naval base Den Helder,
   the ranges of the Vliehors, the Marnewaard and the Breezanddijk); the rest is sea, outside
   the study area.

*Existing training grounds* are the defence grounds with ``function: training`` (not the
airbases and the naval base), on land: the sites whose extension the Voorontwerp prefers to
new locations.

*Radar zone*: a circle of the post's ``radius_km`` (15 km for the two long-range posts, 8–10
km for the airfield radars) — where radar and take-off and landing routes restrict wind
turbines. The real assessment zones reach further with height limits that grow with the
distance; the circle stands for the part where the limit binds for modern turbines (a
generator assumption).

*Low-flying areas* are the drawn blobs (roughened, like every blob, by the random stream
named after them). *Munitions safety* is the union of the depots' safety circles.

*Helicopter flight time* (minutes) is the straight-line distance from the cell centre to the
nearest helicopter base at an assumed cruising speed of 220 km/h:
``t(c) = 60 · min_b ‖c − b‖ / 220 000`` (world metres); nodata outside the study area.
Half an hour of flight, the Voorontwerp's condition between helicopter basing and low-flying
areas, is 110 km.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from shapely.geometry import Point

from ruimteverdeling.synthetic.codes import FLOAT_NODATA, KM
from ruimteverdeling.synthetic.geometry import band, blobs
from ruimteverdeling.synthetic.landscape import Landscape

#: Assumed cruising speed of military helicopters (km/h) for the flight-time layer.
HELICOPTER_SPEED_KMH = 220.0
#: How far the training grounds and barracks are grown for the training structure (m).
TRAINING_REACH_M = 4000.0
#: How far the airbases are grown for their runways and approaches (m).
AIRBASE_REACH_M = 1500.0


def _grounds(landscape: Landscape, function: str) -> list[Any]:
    """The drawn defence grounds (world polygons) with the given function."""
    geo = landscape.world.geography
    return [poly for poly, ground in zip(landscape.world.vectors.defence, geo.defence_grounds,
                                         strict=True)
            if geo.defence_functions.get(ground.name, "training") == function]


def _circle(x_km: float, y_km: float, r_km: float) -> Any:
    return Point(x_km * KM, y_km * KM).buffer(r_km * KM, 32)


def defence_training_grounds(landscape: Landscape) -> np.ndarray:
    return landscape.sample.mask(_grounds(landscape, "training")) & landscape.water.land


def defence_structure_aviation(landscape: Landscape) -> np.ndarray:
    geo = landscape.world.geography
    shapes = [g.buffer(AIRBASE_REACH_M) for g in _grounds(landscape, "airbase")]
    shapes += [_circle(r.x, r.y, 1.0) for r in geo.defence_radars]
    return landscape.sample.mask(shapes) & landscape.study


def defence_structure_training(landscape: Landscape) -> np.ndarray:
    geo, noise = landscape.world.geography, landscape.world.noise
    shapes = [g.buffer(TRAINING_REACH_M) for g in _grounds(landscape, "training")]
    shapes += [Point(b.x * KM, b.y * KM).buffer(TRAINING_REACH_M, 32) for b in geo.barracks]
    shapes += blobs(noise, geo.low_flying_areas)
    return landscape.sample.mask(shapes) & landscape.study


def defence_structure_transport(landscape: Landscape) -> np.ndarray:
    geo = landscape.world.geography
    shapes = [band(r) for r in geo.military_routes]
    shapes += [_circle(d.x, d.y, d.radius) for d in geo.munitions_depots]
    return landscape.sample.mask(shapes) & landscape.study


def defence_structure_north_sea(landscape: Landscape) -> np.ndarray:
    geo, noise = landscape.world.geography, landscape.world.noise
    shapes = blobs(noise, geo.north_sea_defence_sites) + _grounds(landscape, "naval")
    return landscape.sample.mask(shapes) & landscape.study


def defence_radar_zone(landscape: Landscape) -> np.ndarray:
    geo = landscape.world.geography
    return (landscape.sample.mask([_circle(r.x, r.y, r.radius) for r in geo.defence_radars])
            & landscape.study)


def defence_low_flying(landscape: Landscape) -> np.ndarray:
    geo, noise = landscape.world.geography, landscape.world.noise
    return landscape.sample.mask(blobs(noise, geo.low_flying_areas)) & landscape.study


def munitions_safety(landscape: Landscape) -> np.ndarray:
    geo = landscape.world.geography
    return (landscape.sample.mask([_circle(d.x, d.y, d.radius) for d in geo.munitions_depots])
            & landscape.study)


def helicopter_flight_minutes(landscape: Landscape) -> np.ndarray:
    grid, geo = landscape.grid, landscape.world.geography
    xs, ys = grid.xs[None, :], grid.ys[:, None]
    best = np.full(grid.shape, np.inf)
    for b in geo.helicopter_bases:
        best = np.minimum(best, np.hypot(xs - b.x * KM, ys - b.y * KM))
    minutes = (60.0 * best / (HELICOPTER_SPEED_KMH * KM)).astype(np.float32)
    minutes[~landscape.study] = FLOAT_NODATA
    return minutes
