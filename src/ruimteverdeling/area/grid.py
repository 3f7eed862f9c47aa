"""The study grid: a regular, north-up raster in a projected CRS (EPSG:28992 by default)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine


@dataclass(frozen=True)
class Grid:
    """``width`` × ``height`` square cells of ``resolution`` metres, upper-left at (left, top)."""

    width: int
    height: int
    resolution: float
    left: float
    top: float
    crs: str = "EPSG:28992"

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def size(self) -> int:
        return self.width * self.height

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.left, 0.0, -self.resolution, self.top)

    @property
    def right(self) -> float:
        return self.left + self.width * self.resolution

    @property
    def bottom(self) -> float:
        return self.top - self.height * self.resolution

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.left, self.bottom, self.right, self.top)

    @property
    def cell_area_ha(self) -> float:
        """Area of one cell in hectares (1 ha = 10,000 m²)."""
        return self.resolution * self.resolution / 10_000.0

    def centres(self, flat_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """x and y of cell centres (all cells, or those with the given flat indices)."""
        if flat_index is None:
            rows, cols = np.indices(self.shape)
            rows, cols = rows.ravel(), cols.ravel()
        else:
            rows, cols = np.divmod(np.asarray(flat_index), self.width)
        x = self.left + (cols + 0.5) * self.resolution
        y = self.top - (rows + 0.5) * self.resolution
        return x, y

    def coarsened(self, factor: int) -> Grid:
        """The grid with cells ``factor`` times larger (same upper-left corner)."""
        return Grid(
            width=-(-self.width // factor),
            height=-(-self.height // factor),
            resolution=self.resolution * factor,
            left=self.left,
            top=self.top,
            crs=self.crs,
        )
