"""Regions of a study area as rows: the row of every land cell and each region's area.

A region layer holds integer region ids (0 outside every region); its names come from the
study area (:meth:`StudyArea.region_names`). Rows are numbered in the order of the region
ids, so tables list regions in a stable order.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.area.studyarea import StudyArea


def region_rows(area: StudyArea, land_cells: np.ndarray, layer: str | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """Row index (−1 outside every region) of every land cell, and the region names.

    ``land_cells`` are flat grid indices; ``layer`` defaults to the study area's region layer.
    """
    name = layer or area.manifest.regions
    reg = area.layer(name).data.ravel()[land_cells]
    names = area.region_names(name)
    ids = np.array(sorted(names), dtype=np.int64)
    pos = np.searchsorted(ids, reg)
    found = (reg > 0) & (pos < ids.size)
    found[found] &= ids[pos[found]] == reg[found]
    rows = np.where(found, pos, -1).astype(np.int32)
    return rows, [names[int(i)] for i in ids]


def region_area_ha(rows: np.ndarray, n: int, cell_ha: float) -> np.ndarray:
    """Hectares of land in each of the ``n`` regions (``rows`` as from :func:`region_rows`)."""
    return np.bincount(rows[rows >= 0], minlength=n) * cell_ha


def sum_by_region(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """``Σ_{c ∈ r} values[c]`` for each of the ``n`` regions (cells outside every region
    are left out)."""
    sel = rows >= 0
    return np.bincount(rows[sel], weights=values[sel], minlength=n)
