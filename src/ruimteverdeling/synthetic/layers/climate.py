"""Physical and climate layers: flood depth 2100, subsidence 2050, wind potential.

*Flood depth 2100* (m) is the depth of the ground below a reference water level, clipped to
0–6.5 m: the higher of a sea/lake level of 1.3 m NAP falling 0.02 m per km inland (at least
0.2 m, up to 60 km from the sea or a big lake) and the design level of the nearest big river
falling 0.15 m per km away from it (up to 25 km). Dunes and water do not flood.

*Subsidence until 2050* (cm) depends on soil and a noise field u in (0, 1): peat 20 + 40u,
marine clay 5 + 10u, river clay 5 + 8u, elsewhere 2u; 0 on water.

*Pathway horizons* (new layers beside the ones above, computed from them without random
draws, so the other layers stay as they are): *flood depth 2050* is the flood depth 2100
computed with the sea/lake reference 0.8 m lower (less sea-level rise by 2050; rivers as in
2100), *subsidence until 2100* is the subsidence until 2050 × 2.5 (peat keeps oxidising at
a similar rate, 50 more years), and *salinisation* (an index 0–1, verzilting) is
e^(−d/λ) for land below 0 m NAP at distance d from the sea, λ = 10 km in 2050 and 20 km in
2100, 0 elsewhere. All three are ruimteverdeling assumptions shaped like the Delta
scenarios, not data.

*Wind potential* is the mean wind speed at 100 m: 6.4 + 2.1·e^(−d/35 km) m/s for a distance d
to the sea, plus 0.15 × a noise field.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.synthetic.codes import FLOAT_NODATA, MARINE_CLAY, PEAT, RIVER_CLAY, WATER
from ruimteverdeling.synthetic.fields import unit
from ruimteverdeling.synthetic.landscape import Landscape


def flood_depth_2100(landscape: Landscape) -> np.ndarray:
    return _flood_depth(landscape, 0.0)


def flood_depth_2050(landscape: Landscape) -> np.ndarray:
    return _flood_depth(landscape, 0.8)


def _flood_depth(landscape: Landscape, sea_lower: float) -> np.ndarray:
    sample, world, terrain = landscape.sample, landscape.world, landscape.terrain
    d_open_water = sample.from_250m(world.terrain.distance_to_open_water)
    sea_reference = np.where(d_open_water < 60.0,
                             np.maximum(1.3 - 0.02 * d_open_water, 0.2) - sea_lower, -99.0)
    d_river = sample.from_1km(world.terrain.river_distance_1km)
    river_reference = np.where(d_river < 25.0, terrain.design_level - 0.15 * d_river, -99.0)
    reference = np.maximum(sea_reference, river_reference)
    flood = np.clip(reference - terrain.elevation, 0.0, 6.5).astype(np.float32)
    flood[landscape.shores.dunes | ~landscape.water.land] = 0.0
    flood[~landscape.study] = FLOAT_NODATA
    return flood


def subsidence(landscape: Landscape) -> np.ndarray:
    soil = landscape.terrain.soil
    u = unit(landscape.sample.from_1km(landscape.world.noise.field_1km("subsidence", 2.0)))
    out = np.select([soil == PEAT, soil == MARINE_CLAY, soil == RIVER_CLAY],
                    [20.0 + 40.0 * u, 5.0 + 10.0 * u, 5.0 + 8.0 * u], 2.0 * u)
    out = out.astype(np.float32)
    out[landscape.water.water | (landscape.land_use.codes == WATER)] = 0.0
    out[~landscape.study] = FLOAT_NODATA
    return out


def subsidence_2100(landscape: Landscape) -> np.ndarray:
    out = subsidence(landscape)
    out[landscape.study] *= 2.5
    return out


def salinisation_2050(landscape: Landscape) -> np.ndarray:
    return _salinisation(landscape, 10.0)


def salinisation_2100(landscape: Landscape) -> np.ndarray:
    return _salinisation(landscape, 20.0)


def _salinisation(landscape: Landscape, reach_km: float) -> np.ndarray:
    low = landscape.terrain.elevation < 0.0
    out = np.where(low, np.exp(-landscape.shores.distance_to_sea / reach_km), 0.0)
    out = out.astype(np.float32)
    out[~landscape.water.land] = 0.0
    out[~landscape.study] = FLOAT_NODATA
    return out


def wind_potential(landscape: Landscape) -> np.ndarray:
    speed = (6.4 + 2.1 * np.exp(-landscape.shores.distance_to_sea / 35.0)
             + 0.15 * landscape.sample.from_1km(landscape.world.noise.field_1km("wind-speed",
                                                                                4.0)))
    speed = speed.astype(np.float32)
    speed[~landscape.study] = FLOAT_NODATA
    return speed
