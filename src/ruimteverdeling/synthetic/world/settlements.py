"""Cities, villages and the urban potential.

The ~95 cities of the geography sit at their real positions. 650 villages are drawn at random
on land (weights: 1 on dry land, 0.7 on peat, 0.3 in Flevoland, 0 on water, Natura 2000, dunes
and within 2.5 km + 0.3 km·√population of a city), with log-normal populations (median 2,600,
0.6–25 thousand).

The *urban potential* on the 250 m lattice is the maximum over all settlements of the kernel
1 − d/R, where R = 1.7 √(A/π) is the radius of a disc of 1.7² times the settlement's built area
A = 0.30 km² per thousand inhabitants × (population / 50k)^−0.08, and d is measured in a
domain-warped, randomly elongated and rotated frame, so that footprints are irregular. Housing
takes the cells of highest potential.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ruimteverdeling.synthetic.codes import DUNE, KM, PEAT
from ruimteverdeling.synthetic.fields import LATTICE_1KM, LATTICE_250M, Noise, bilinear
from ruimteverdeling.synthetic.geography import Geography
from ruimteverdeling.synthetic.geometry import burn
from ruimteverdeling.synthetic.world.terrain import LatticeTerrain
from ruimteverdeling.synthetic.world.vectors import WorldVectors

#: Number of random villages.
VILLAGES = 650


@dataclass(frozen=True)
class Settlement:
    """A city (named, with a province) or a village: position (m), population (thousands)."""

    name: str | None
    x: float
    y: float
    pop: float
    province: int | None
    intercity: bool


@dataclass(frozen=True, eq=False)
class Settlements:
    cities: list[Settlement]
    villages: list[Settlement]
    #: The urban potential on the 250 m lattice (−1 far from any settlement).
    urban_potential: np.ndarray


def settlements(geo: Geography, vectors: WorldVectors, terrain: LatticeTerrain,
                noise: Noise) -> Settlements:
    """Place cities and villages and compute the urban potential (see the module docstring)."""
    cities = [Settlement(c.name, c.x * KM, c.y * KM, c.population, c.province, c.intercity)
              for c in geo.cities]
    villages = _villages(cities, vectors, terrain, noise)
    return Settlements(cities, villages, _urban_potential([*cities, *villages], noise))


def _villages(cities: list[Settlement], vectors: WorldVectors, terrain: LatticeTerrain,
              noise: Noise) -> list[Settlement]:
    lattice = LATTICE_250M
    weight = np.where(terrain.study & ~terrain.water & ~terrain.natura2000
                      & (terrain.soil != DUNE), 1.0, 0.0)
    weight = np.where(terrain.soil == PEAT, 0.7 * weight, weight)
    flevoland = burn([vectors.flevoland], lattice.shape, lattice.transform).astype(bool)
    weight = np.where(flevoland, 0.3 * weight, weight)
    near_city = np.zeros(lattice.shape, dtype=bool)
    for c in cities:
        r = 2500.0 + 300.0 * math.sqrt(c.pop)
        i0, i1, j0, j1 = lattice.window(c.x, c.y, r)
        gx, gy = np.meshgrid(lattice.xs[j0:j1], lattice.ys[i0:i1])
        near_city[i0:i1, j0:j1] |= np.hypot(gx - c.x, gy - c.y) < r
    weight[near_city] = 0.0
    rng = noise.rng("villages")
    flat = weight.ravel()
    n = VILLAGES
    pick = rng.choice(flat.size, size=n, replace=False, p=flat / flat.sum())
    iy, ix = np.divmod(pick, lattice.nx)
    vx = lattice.xs[ix] + rng.uniform(-0.5, 0.5, n) * lattice.step
    vy = lattice.ys[iy] + rng.uniform(-0.5, 0.5, n) * lattice.step
    pops = np.clip(np.exp(rng.normal(math.log(2.6), 0.65, n)), 0.6, 25.0)
    order = np.lexsort((vy, vx))
    return [Settlement(None, float(vx[i]), float(vy[i]), float(pops[i]), None, False)
            for i in order]


def _urban_potential(places: list[Settlement], noise: Noise) -> np.ndarray:
    lattice = LATTICE_250M
    xs, ys = lattice.xs, lattice.ys
    warp_x = (bilinear(noise.octaves_1km("urban-warp-x", (1.5, 4.0), (0.6, 1.0)),
                       LATTICE_1KM, xs, ys) * 1400.0
              + noise.field_250m("urban-warp-x", 1.5) * 300.0)
    warp_y = (bilinear(noise.octaves_1km("urban-warp-y", (1.5, 4.0), (0.6, 1.0)),
                       LATTICE_1KM, xs, ys) * 1400.0
              + noise.field_250m("urban-warp-y", 1.5) * 300.0)
    shape_rng = noise.rng("settlement-shapes")
    potential = np.full(lattice.shape, -1.0, dtype=np.float32)
    for s in places:
        area = s.pop * 0.30 * (max(s.pop, 1.0) / 50.0) ** -0.08   # km²
        R = 1.7 * math.sqrt(area / math.pi) * KM
        elongation = shape_rng.uniform(1.0, 1.45)
        angle = shape_rng.uniform(0.0, np.pi)
        i0, i1, j0, j1 = lattice.window(s.x, s.y, R * elongation + 1500.0)
        if i1 <= i0 or j1 <= j0:
            continue
        gx = xs[None, j0:j1] + warp_x[i0:i1, j0:j1] - s.x
        gy = ys[i0:i1, None] + warp_y[i0:i1, j0:j1] - s.y
        a = (gx * math.cos(angle) + gy * math.sin(angle)) / elongation
        b = (-gx * math.sin(angle) + gy * math.cos(angle)) * elongation
        kernel = (1.0 - np.hypot(a, b) / R).astype(np.float32)
        np.maximum(potential[i0:i1, j0:j1], kernel, out=potential[i0:i1, j0:j1])
    return potential
