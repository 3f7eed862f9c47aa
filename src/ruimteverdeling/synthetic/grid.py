"""The output grid: fitting it to the requested cell count, and sampling the world onto it.

The grid is the world scaled by a factor ``s`` about :data:`SCALE_ORIGIN` (Amersfoort, the
origin of RD New): a world point p lies at ``origin + s·(p − origin)`` on the grid. ``s`` is
chosen so that the study area covers the requested number of cells (within ~1 %); when
``cells × resolution²`` equals the real area, ``s = 1`` and the grid lies on real RD
coordinates (a multiple of the resolution). Vector features are rasterised from their world
geometry, lattice fields are interpolated at the world position of every cell centre.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from affine import Affine
from scipy import ndimage

from ruimteverdeling.synthetic.fields import LATTICE_1KM, LATTICE_250M, bilinear
from ruimteverdeling.synthetic.geometry import burn
from ruimteverdeling.synthetic.world import World

#: The point the geometry is scaled about (Amersfoort, the origin of RD New).
SCALE_ORIGIN = (155_000.0, 463_000.0)


@dataclass(frozen=True)
class Grid:
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
        """The cell size in world metres."""
        return self.res / self.scale

    @property
    def world_transform(self) -> Affine:
        """The grid's transform in world coordinates (for rasterising world geometry)."""
        ox, oy = SCALE_ORIGIN
        wl = ox + (self.left - ox) / self.scale
        wt = oy + (self.top - oy) / self.scale
        return Affine(self.cell_world, 0.0, wl, 0.0, -self.cell_world, wt)

    @property
    def xs(self) -> np.ndarray:
        """World x of the cell centres, per column."""
        t = self.world_transform
        return t.c + (np.arange(self.width) + 0.5) * t.a

    @property
    def ys(self) -> np.ndarray:
        """World y of the cell centres, per row."""
        t = self.world_transform
        return t.f + (np.arange(self.height) + 0.5) * t.e

    def to_grid(self, geom: Any) -> Any:
        """World geometry -> grid coordinates (the scaling about SCALE_ORIGIN)."""
        ox, oy = SCALE_ORIGIN
        s = self.scale
        return shapely.transform(geom, lambda c: np.column_stack(
            [ox + (c[:, 0] - ox) * s, oy + (c[:, 1] - oy) * s]))


def grid_for_scale(world: World, res: float, scale: float) -> Grid:
    """The grid of cell size ``res`` around the scaled study area, with a 2-cell margin."""
    ox, oy = SCALE_ORIGIN
    minx, miny, maxx, maxy = world.vectors.study.bounds
    gx0, gx1 = ox + (minx - ox) * scale, ox + (maxx - ox) * scale
    gy0, gy1 = oy + (miny - oy) * scale, oy + (maxy - oy) * scale
    left = (math.floor(gx0 / res) - 2) * res
    right = (math.ceil(gx1 / res) + 2) * res
    bottom = (math.floor(gy0 / res) - 2) * res
    top = (math.ceil(gy1 / res) + 2) * res
    return Grid(round((right - left) / res), round((top - bottom) / res), res, left, top, scale)


def fit_grid(world: World, cells: int, res: float) -> tuple[Grid, np.ndarray]:
    """The grid whose study area holds ``cells`` cells (±~1 %), and its study-area mask.

    Starting from s₀ = √(cells·res² / area), the scale is corrected by √(cells / n) until the
    count n is within 0.2 % (at most 10 tries; the best is kept). Near the real scale s = 1 is
    tried first and kept when within 1 %.
    """
    area = world.vectors.study.area
    s0 = math.sqrt(cells * res * res / area)

    def attempt(s: float) -> tuple[Grid, np.ndarray, float]:
        g = grid_for_scale(world, res, s)
        m = burn([world.vectors.study], g.shape, g.world_transform).astype(bool)
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


class Sampler:
    """Reads world-lattice fields and world geometry onto the output grid."""

    def __init__(self, world: World, grid: Grid) -> None:
        self.grid = grid
        self.xs, self.ys = grid.xs, grid.ys
        noise = world.noise
        # warped nearest lookups into the 250 m lattice
        dx = self.from_1km(noise.octaves_1km("fine-warp-x", (2.0,), (1.0,))) * 250.0
        dx += self.from_250m(noise.field_250m("fine-warp-x", 1.0)) * 200.0
        ix = (self.xs[None, :].astype(np.float32) + dx - LATTICE_250M.x0) / LATTICE_250M.step
        del dx
        self.ix = np.clip(ix, 0, LATTICE_250M.nx - 1).astype(np.int16)
        del ix
        dy = self.from_1km(noise.octaves_1km("fine-warp-y", (2.0,), (1.0,))) * 250.0
        dy += self.from_250m(noise.field_250m("fine-warp-y", 1.0)) * 200.0
        iy = (LATTICE_250M.y1 - (self.ys[:, None].astype(np.float32) + dy)) / LATTICE_250M.step
        del dy
        self.iy = np.clip(iy, 0, LATTICE_250M.ny - 1).astype(np.int16)

    def from_1km(self, field: np.ndarray) -> np.ndarray:
        """A 1 km lattice field, bilinearly interpolated at the cell centres."""
        return bilinear(field, LATTICE_1KM, self.xs, self.ys)

    def from_250m(self, field: np.ndarray) -> np.ndarray:
        """A 250 m lattice field, bilinearly interpolated at the cell centres."""
        return bilinear(field, LATTICE_250M, self.xs, self.ys)

    def labels(self, labels: np.ndarray) -> np.ndarray:
        """Labels of the 250 m lattice at the cell centres displaced by a few hundred metres of
        noise, so that zone borders do not show the lattice's blocks on fine grids."""
        return labels[self.iy, self.ix]

    def burn(self, geoms: Sequence[Any], values: Sequence[int] | None = None,
             dtype: Any = np.uint8, all_touched: bool = False) -> np.ndarray:
        """Rasterise world geometry onto the grid."""
        return burn(geoms, self.grid.shape, self.grid.world_transform, values, dtype,
                    all_touched)

    def mask(self, geoms: Sequence[Any]) -> np.ndarray:
        """The cells covered by any of ``geoms``."""
        return self.burn(geoms).astype(bool)


def take_top(potential: np.ndarray, available: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` available cells with the highest potential (exactly k, deterministic)."""
    out = np.zeros(available.shape, dtype=bool)
    if k <= 0:
        return out
    idx = np.flatnonzero(available)
    if k >= idx.size:
        out.ravel()[idx] = True
        return out
    vals = potential.ravel()[idx]
    top = np.argpartition(vals, idx.size - k)[idx.size - k:]
    out.ravel()[idx[top]] = True
    return out


def dilate(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """The mask grown by ``iterations`` cells (4-neighbourhood)."""
    cross = ndimage.generate_binary_structure(2, 1)
    return ndimage.binary_dilation(mask, structure=cross, iterations=iterations)
