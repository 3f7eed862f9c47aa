"""How much of the study area a layer covers, and the land cells no region covers.

**Coverage.** For a layer on the grid and the land cells ``L``, the covered cells are
``C = {c ∈ L : v_c set}`` — non-zero for masks, a class > 0 for categorical and regions
layers, a finite value for continuous and distance layers — and the coverage share is
``|C| / |L|``. A vector layer also records how many of its features touch the study grid's
extent. What the engine does with it (:mod:`ruimteverdeling.area.checks`):

* a mask or categorical layer that covers **no** land cell (``|C| = 0``) is a warning: every
  rule or term on it acts nowhere. It is not an error here, because an empty layer can be
  true (no airport noise in Zeeland); whether it matters depends on the rules that use it —
  an empty mask that a G rule (gemaakte keuze) depends on makes that rule protect nothing,
  which the rules layer turns into an error using :attr:`LayerCoverage.empty`;
* a mask or categorical layer that covers almost none (``0 < |C|/|L| <`` :data:`ALMOST_EMPTY`)
  is a warning that shows where its features are, since a shifted or swapped CRS usually
  leaves a few cells;
* a vector layer none of whose features touches the grid is a warning for distance layers
  (the distance to something outside the area can be meant) and the masks above; it is an
  error when the features would lie on the grid with x and y exchanged
  (:mod:`ruimteverdeling.area.readers`).

**Uncovered land.** With the regions layer ``R`` (0 = no region), the uncovered cells are
``U = {c ∈ L : R_c = 0}``. For each ``c ∈ U`` its nearest region is the region of the nearest
covered cell (centre to centre, the Euclidean distance transform of ``R > 0``), and
:class:`Uncovered` counts ``U`` per nearest region, with hectares, the bounding box and a few
example cells. ``uncovered: nearest`` on the regions layer sets ``R_c`` to that region;
``uncovered: outside`` removes ``U`` from the study area; ``error`` (default) reports them.
:func:`write_uncovered` writes ``U`` as a GeoPackage of cell squares (row, column, centre,
nearest region, distance) to open in QGIS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.errors import InputError

ALMOST_EMPTY = 0.001
"""A mask or categorical layer covering less than this share of the land (0.1 %) is warned
about as covering "almost none" of the study area."""

UNCOVERED_WRITER = "ruimteverdeling area uncovered"


@dataclass(frozen=True)
class LayerCoverage:
    """What a layer covers of the study area (see the module docstring)."""

    name: str
    kind: str
    land_cells: int
    cells: int
    """Land cells the layer covers (mask set, class > 0, finite value)."""
    features: int | None = None
    """Vector layers: features in the file (after dropping empty geometries)."""
    features_on_grid: int | None = None
    """Vector layers: features that touch the study grid's extent."""

    @property
    def share(self) -> float:
        return self.cells / self.land_cells if self.land_cells else 0.0

    @property
    def empty(self) -> bool:
        """No land cell is covered (a mask with nothing set inside the study area)."""
        return self.cells == 0

    @property
    def almost_empty(self) -> bool:
        return 0 < self.share < ALMOST_EMPTY

    def text(self) -> str:
        """``covers 12.3% of land (1,234 cells)`` (and the features on the grid)."""
        out = f"covers {self.share:.1%} of land ({self.cells:,} cells)"
        if self.features is not None:
            out += f"; {self.features_on_grid:,} of {self.features:,} features on the grid"
        return out


def coverage_of(name: str, kind: str, data: np.ndarray, land: np.ndarray,
                features: int | None = None, features_on_grid: int | None = None
                ) -> LayerCoverage:
    """The :class:`LayerCoverage` of layer data on the grid."""
    values = data[land]
    if kind in ("continuous", "distance"):
        covered = np.isfinite(values) if values.dtype.kind == "f" else \
            np.ones(values.shape, bool)
    elif kind == "mask":
        covered = (values != 0) & (~np.isnan(values) if values.dtype.kind == "f" else True)
    else:
        covered = values > 0
    return LayerCoverage(name, kind, int(land.sum()), int(np.count_nonzero(covered)),
                         features, features_on_grid)


@dataclass
class Uncovered:
    """The land cells no region covers, each with its nearest region (module docstring)."""

    mask: np.ndarray
    nearest: np.ndarray
    """Region id of the nearest covered cell, per grid cell (meaningful where ``mask``)."""
    distance_m: np.ndarray
    names: dict[int, str]
    cell_ha: float
    centres: tuple[np.ndarray, np.ndarray] = field(repr=False, default=(np.zeros(0),
                                                                          np.zeros(0)))

    @property
    def count(self) -> int:
        return int(self.mask.sum())

    def per_region(self) -> list[tuple[str, int]]:
        """(nearest region name, cells), largest first."""
        ids, counts = np.unique(self.nearest[self.mask], return_counts=True)
        rows = [(self.names.get(int(i), str(int(i))), int(n)) for i, n in zip(ids, counts,
                                                                              strict=True)]
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    def describe(self) -> str:
        """``9 land cells (56 ha) have no region; nearest region: Noord-Holland 5 (31 ha),
        ...; they lie within x ... y ...; e.g. the cell at (x, y)``."""
        n = self.count
        regions = ", ".join(f"{name} {k:,} ({k * self.cell_ha:,.0f} ha)"
                            for name, k in self.per_region()[:8])
        more = len(self.per_region()) - 8
        if more > 0:
            regions += f" and {more} more"
        xs, ys = self.centres
        where = ""
        if xs.size:
            where = (f"; they lie within x {xs.min():,.0f} … {xs.max():,.0f}, y {ys.min():,.0f} "
                     f"… {ys.max():,.0f}; e.g. the cell centred at ({xs[0]:,.0f}, {ys[0]:,.0f})")
        far = float(self.distance_m[self.mask].max()) if n else 0.0
        return (f"{n:,} land cells ({n * self.cell_ha:,.0f} ha) have no region; by nearest "
                f"region: {regions}{where}; the farthest is {far:,.0f} m from a region")


def find_uncovered(regions: np.ndarray, land: np.ndarray, grid: Any,
                   names: dict[int, str]) -> Uncovered | None:
    """The land cells without a region (None when every land cell has one, or when no cell
    of the grid has a region at all — then there is no nearest region)."""
    from scipy.ndimage import distance_transform_edt

    missing = land & (regions <= 0)
    covered = regions > 0
    if not missing.any() or not covered.any():
        return None
    dist, (ri, ci) = distance_transform_edt(~covered, return_indices=True)
    nearest = regions[ri, ci].astype(np.int32)
    flat = np.flatnonzero(missing.ravel())
    return Uncovered(missing, nearest, dist * grid.resolution, names, grid.cell_area_ha,
                     grid.centres(flat))


def write_uncovered(unc: Uncovered, grid: Any, path: Path) -> int:
    """Write the uncovered cells as a GeoPackage of cell squares; return how many.

    Refuses (InputError) to replace a file this function did not write."""
    import geopandas as gpd
    from shapely import box

    path = Path(path)
    if path.exists() and not _written_by_us(path):
        raise InputError.single(path, "-o", "the file exists and was not written by "
                                f"`{UNCOVERED_WRITER}`; it is left as it is",
                                "give another file with -o, or move that file away")
    rows, cols = np.nonzero(unc.mask)
    flat = rows * grid.width + cols
    xs, ys = grid.centres(flat)
    h = grid.resolution / 2
    nearest = unc.nearest[rows, cols]
    gdf = gpd.GeoDataFrame({
        "row": rows.astype(np.int64), "col": cols.astype(np.int64), "x": xs, "y": ys,
        "nearest_region": [unc.names.get(int(i), str(int(i))) for i in nearest],
        "nearest_region_id": nearest.astype(np.int64),
        "distance_m": unc.distance_m[rows, cols].astype(float),
        "ha": np.full(rows.size, unc.cell_ha),
    }, geometry=box(xs - h, ys - h, xs + h, ys + h), crs=grid.crs)
    # a name only this process uses, so the file removed on failure is the one it began
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial.gpkg")
    try:
        gdf.to_file(tmp, layer="uncovered_cells", driver="GPKG",
                    dataset_metadata={"writer": UNCOVERED_WRITER})
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return int(rows.size)


def _written_by_us(path: Path) -> bool:
    try:
        import pyogrio

        meta = pyogrio.read_info(path).get("dataset_metadata") or {}
    except Exception:  # not a GeoPackage we can read: certainly not ours
        return False
    return meta.get("writer") == UNCOVERED_WRITER
