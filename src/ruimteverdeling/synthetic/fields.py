"""World lattices and seeded smooth random fields.

Random fields (widths, patches, relief, the warping of zone borders) live on fixed lattices in
world coordinates (RD New metres), not on the output grid, so that a seed gives the same
landscape at every resolution. Three lattices cover the same window, x −20 .. 300 km and
y 290 .. 630 km:

* :data:`LATTICE_1KM` — coarse noise, river levels and distances, brooks;
* :data:`LATTICE_250M` — soil zones, elevation, urban potential;
* :data:`LATTICE_500M` — province labels.

A field of correlation length σ is white noise smoothed by a Gaussian of σ lattice cells and
normalised to mean 0 and standard deviation 1. Each field draws from its own random stream,
seeded by ``(seed, crc32(name))``, so fields do not depend on the order they are made in.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from affine import Affine
from scipy import ndimage

from ruimteverdeling.synthetic.codes import KM


@dataclass(frozen=True)
class Lattice:
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

    def window(self, x: float, y: float, r: float) -> tuple[int, int, int, int]:
        """Row and column bounds (i0, i1, j0, j1) of the cells within ``r`` of (x, y)."""
        j0 = max(int((x - r - self.x0) / self.step), 0)
        j1 = min(int((x + r - self.x0) / self.step) + 2, self.nx)
        i0 = max(int((self.y1 - (y + r)) / self.step), 0)
        i1 = min(int((self.y1 - (y - r)) / self.step) + 2, self.ny)
        return i0, i1, j0, j1


# The world window: x -20 .. 300 km, y 290 .. 630 km.
LATTICE_1KM = Lattice(-20_000.0, 630_000.0, 1000.0, 320, 340)
LATTICE_250M = Lattice(-20_000.0, 630_000.0, 250.0, 1280, 1360)
LATTICE_500M = Lattice(-20_000.0, 630_000.0, 500.0, 640, 680)


class Noise:
    """Seeded smooth random fields on the world lattices (normalised to mean 0, sd 1)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cache: dict[tuple[str, str, float], np.ndarray] = {}

    def rng(self, name: str) -> np.random.Generator:
        """The random stream called ``name`` (independent of every other name)."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode("utf-8"))])

    def _field(self, lattice: Lattice, name: str, sigma: float) -> np.ndarray:
        key = (name, f"{lattice.step}", sigma)
        if key not in self._cache:
            raw = self.rng(f"{name}@{lattice.step}").standard_normal(lattice.shape)
            field = ndimage.gaussian_filter(raw.astype(np.float32), sigma, mode="reflect")
            field -= field.mean()
            field /= max(float(field.std()), 1e-6)
            self._cache[key] = field
        return self._cache[key]

    def field_1km(self, name: str, sigma_km: float) -> np.ndarray:
        """A field on the 1 km lattice with correlation length ~``sigma_km``."""
        return self._field(LATTICE_1KM, name, sigma_km)

    def field_250m(self, name: str, sigma_cells: float = 1.5) -> np.ndarray:
        """A field on the 250 m lattice with correlation length ~``sigma_cells`` × 250 m."""
        return self._field(LATTICE_250M, name, sigma_cells)

    def octaves_1km(self, name: str, sigmas: Sequence[float],
                    weights: Sequence[float]) -> np.ndarray:
        """A weighted sum of 1 km fields of several correlation lengths, renormalised."""
        total = sum(w * self.field_1km(f"{name}/{s}", s)
                    for s, w in zip(sigmas, weights, strict=True))
        total = np.asarray(total, dtype=np.float32)
        return (total - total.mean()) / max(float(total.std()), 1e-6)


def unit(field: np.ndarray) -> np.ndarray:
    """Map a standard-normal-ish field to (0, 1) with the logistic 1 / (1 + e^(−1.7 f))."""
    return (1.0 / (1.0 + np.exp(-1.7 * field))).astype(np.float32)


def bilinear(field: np.ndarray, lattice: Lattice, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Separable bilinear interpolation of a lattice field at the points xs × ys (world)."""
    fx = np.clip((xs - lattice.x0) / lattice.step - 0.5, 0.0, lattice.nx - 1.000001)
    fy = np.clip((lattice.y1 - ys) / lattice.step - 0.5, 0.0, lattice.ny - 1.000001)
    ix = fx.astype(np.int64)
    iy = fy.astype(np.int64)
    wx = (fx - ix).astype(np.float32)
    wy = (fy - iy).astype(np.float32)[:, None]
    r0, r1 = int(iy.min()), int(iy.max()) + 2
    rows = field[r0:r1].astype(np.float32, copy=False)
    along_x = rows[:, ix] * (1.0 - wx) + rows[:, ix + 1] * wx
    out = along_x[iy - r0]
    out *= 1.0 - wy
    out += along_x[iy + 1 - r0] * wy
    return out


def distance_km(mask: np.ndarray, lattice: Lattice) -> np.ndarray:
    """Distance (km) from every cell to the nearest True cell of ``mask``."""
    if not mask.any():
        return np.full(mask.shape, 1e4, dtype=np.float32)
    return (ndimage.distance_transform_edt(~mask) * lattice.step / KM).astype(np.float32)
