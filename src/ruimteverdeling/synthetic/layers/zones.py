"""Protected, reserved and contoured zones on the grid.

*Natura 2000* is the drawn areas, most dunes (a noise field above −0.8), the salt marshes and
part of the floodplains (coarse noise above 0.3); as a layer, without built cells. *NNN*
(Natuurnetwerk Nederland) is Natura 2000, all current nature and the ecological corridors,
without built cells. *Brooks* are the brook lines of the sandy uplands.

*Groundwater protection* is the drawn dune abstractions plus 60 random blobs (1.5–3.5 km) on
sand away from settlements, on unbuilt land. *Infiltration* areas are sand that is high
(≥ 28 m, or ≥ 10 m and above its surroundings). *Heritage* is the Hollandse Waterlinies and the
Beemster. *Valuable landscapes* are the drawn areas without built cells, the Groene Hart
without its clay polders.

*Contours*: 3 km around the industrial clusters, 2 km around the defence training grounds (and
always their own cells), and the drawn aircraft-noise ellipses.
"""

from __future__ import annotations

import numpy as np
from shapely.ops import unary_union

from ruimteverdeling.synthetic.codes import DEFENCE, KM, MARINE_CLAY, NATURE, SAND
from ruimteverdeling.synthetic.fields import LATTICE_250M
from ruimteverdeling.synthetic.geometry import blobs, rough_ellipse
from ruimteverdeling.synthetic.grid import Sampler, dilate
from ruimteverdeling.synthetic.landscape import Landscape, Shores, Water, Zones
from ruimteverdeling.synthetic.world import World

#: Number of random groundwater-protection areas besides the drawn ones.
RANDOM_GROUNDWATER_AREAS = 60


def protected_zones(sample: Sampler, world: World, study: np.ndarray, water: Water,
                    shores: Shores) -> Zones:
    """The zones that steer the land use (see the module docstring)."""
    noise, vectors = world.noise, world.vectors
    natura2000 = sample.mask(vectors.natura2000) & study
    natura2000 |= shores.dunes & (sample.from_250m(noise.field_250m("n2000-dune", 3.0)) > -0.8)
    natura2000 |= shores.salt_marshes
    natura2000 |= shores.uiterwaarden & (
        sample.from_1km(noise.field_1km("n2000-uiter", 2.0)) > 0.3)
    return Zones(natura2000=natura2000,
                 defence=sample.mask(vectors.defence) & water.land,
                 nnn_corridors=sample.mask(vectors.nnn_corridors) & study,
                 brooks=sample.mask(world.brooks) & study)


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------


def natura2000(landscape: Landscape) -> np.ndarray:
    return landscape.zones.natura2000 & ~landscape.built


def nnn(landscape: Landscape) -> np.ndarray:
    zones = landscape.zones
    nature = landscape.land_use.codes == NATURE
    return (zones.natura2000 | nature | zones.nnn_corridors) & landscape.study & ~landscape.built


def brooks(landscape: Landscape) -> np.ndarray:
    return landscape.zones.brooks


def groundwater_protection(landscape: Landscape) -> np.ndarray:
    world = landscape.world
    areas = blobs(world.noise, world.geography.groundwater_protection)
    lattice_terrain = world.terrain
    rng = world.noise.rng("groundwater")
    candidates = np.flatnonzero((lattice_terrain.soil == SAND) & lattice_terrain.study
                                & ~lattice_terrain.water
                                & (world.settlements.urban_potential < 0.0))
    picks = rng.choice(candidates, size=min(RANDOM_GROUNDWATER_AREAS, candidates.size),
                       replace=False)
    lattice = LATTICE_250M
    for p in picks:
        i, j = divmod(int(p), lattice.nx)
        r = rng.uniform(1.5, 3.5)
        ry = r * rng.uniform(0.5, 0.9)
        angle = rng.uniform(0, 180)
        areas.append(rough_ellipse(rng, lattice.xs[j] / KM, lattice.ys[i] / KM, r, ry, angle,
                                   0.3))
    return landscape.sample.mask(areas) & landscape.water.land & ~landscape.built


def infiltration(landscape: Landscape) -> np.ndarray:
    lattice = landscape.world.terrain
    high_sand = (lattice.soil == SAND) & (((lattice.elevation >= 10.0) & (lattice.relief > 0.0))
                                          | (lattice.elevation >= 28.0))
    return (landscape.sample.labels(high_sand) & landscape.water.land
            & (landscape.terrain.soil == SAND))


def heritage(landscape: Landscape) -> np.ndarray:
    return landscape.sample.mask(landscape.world.vectors.heritage) & landscape.study


def valuable_landscape(landscape: Landscape) -> np.ndarray:
    sample, vectors = landscape.sample, landscape.world.vectors
    valuable = sample.mask(vectors.valuable) & landscape.study & ~landscape.built
    # the Groene Hart is valued for its peat meadows: drop its clay polders
    valuable &= ~((landscape.terrain.soil == MARINE_CLAY) & sample.mask([vectors.groene_hart]))
    return valuable


def industry_contour(landscape: Landscape) -> np.ndarray:
    contour = [unary_union(sites).buffer(3000.0)
               for sites in landscape.world.vectors.clusters.values()]
    return landscape.sample.mask(contour) & landscape.study


def defence_contour(landscape: Landscape) -> np.ndarray:
    grounds = [g.buffer(2000.0) for g in landscape.world.vectors.defence]
    return ((landscape.sample.mask(grounds) | dilate(landscape.land_use.codes == DEFENCE))
            & landscape.study)


def airport_noise(landscape: Landscape) -> np.ndarray:
    return landscape.sample.mask(landscape.world.vectors.airport_noise) & landscape.study
