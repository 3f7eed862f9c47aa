"""GeoTIFF outputs on the study grid, with a colour table and class names QGIS shows.

* ``allocation.tif`` — uint8 use codes (0 = outside the study area), an embedded colour table,
  GDAL category names in the ``.aux.xml`` sidecar (what GDAL itself writes for category names
  of a GeoTIFF) and a ``.qml`` QGIS style with the Dutch/English labels, which QGIS loads
  automatically with the raster.
* ``change.tif`` — uint16 ``100 × from + to`` for every cell whose use changed (0 elsewhere),
  so ``301`` is agriculture (3) → housing (1); the summary lists every code with its hectares.

Rasters are tiled (256×256), DEFLATE-compressed, and get overviews when large, so national
rasters open quickly.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ruimteverdeling.area.grid import Grid
from ruimteverdeling.uses import UseCatalogue


def _profile(grid: Grid, dtype: str) -> dict:
    tiled = grid.width >= 256 and grid.height >= 256
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1, dtype=dtype,
                   crs=grid.crs, transform=grid.transform, nodata=0, compress="deflate")
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    return profile


def _overviews(dst, grid: Grid) -> None:
    from rasterio.enums import Resampling

    factors = [f for f in (2, 4, 8, 16, 32) if min(grid.width, grid.height) // f >= 256]
    if factors:
        dst.build_overviews(factors, Resampling.nearest)


def write_allocation(path: Path, grid: Grid, codes: np.ndarray, catalogue: UseCatalogue,
                     tags: dict[str, str] | None = None) -> Path:
    """Write the allocation raster, its colour table, category names and QGIS style."""
    import rasterio

    with rasterio.open(path, "w", **_profile(grid, "uint8")) as dst:
        dst.write(codes.astype(np.uint8), 1)
        cmap = {i: (255, 255, 255, 0) for i in range(256)}
        for u in catalogue:
            cmap[u.code] = (*u.rgb, 255)
        dst.write_colormap(1, cmap)
        dst.set_band_description(1, "land use (ruimteverdeling use code)")
        dst.update_tags(**(tags or {}))
        _overviews(dst, grid)
    present = set(np.unique(codes).tolist())
    entries = [(u.code, f"{u.label_nl} / {u.label_en}", u.colour) for u in catalogue
               if u.code in present]
    _write_category_names(path, {u.code: f"{u.label_nl} / {u.label_en}" for u in catalogue},
                          "allocation")
    _write_qml(path.with_suffix(".qml"), entries)
    return path


def change_codes(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """uint16 ``100·from + to`` where the use changed, 0 elsewhere."""
    changed = (before != after) & (before > 0) & (after > 0)
    out = np.zeros(before.shape, np.uint16)
    out[changed] = before[changed].astype(np.uint16) * 100 + after[changed].astype(np.uint16)
    return out


def write_change(path: Path, grid: Grid, before: np.ndarray, after: np.ndarray,
                 catalogue: UseCatalogue) -> tuple[Path, list[dict]]:
    """Write ``change.tif``; return the transitions present (code, from, to, cells)."""
    import rasterio

    change = change_codes(before, after)
    with rasterio.open(path, "w", **_profile(grid, "uint16")) as dst:
        dst.write(change, 1)
        dst.set_band_description(1, "use change: 100 x from-code + to-code (0 = unchanged)")
        _overviews(dst, grid)
    codes, counts = np.unique(change[change > 0], return_counts=True)
    transitions = []
    for code, n in zip(codes.tolist(), counts.tolist(), strict=True):
        src = catalogue.by_code(code // 100)
        dst_use = catalogue.by_code(code % 100)
        transitions.append({"code": int(code), "from": src.id, "to": dst_use.id,
                            "cells": int(n), "ha": n * grid.cell_area_ha,
                            "label": f"{src.label_nl} → {dst_use.label_nl} / "
                                     f"{src.label_en} → {dst_use.label_en}",
                            "colour": dst_use.colour})
    _write_qml(path.with_suffix(".qml"),
               [(t["code"], t["label"], t["colour"]) for t in transitions])
    return path, transitions


def _write_category_names(tif: Path, names: dict[int, str], description: str) -> None:
    top = max(names) if names else 0
    cats = "\n".join(f"      <Category>{escape(names.get(i, ''))}</Category>"
                     for i in range(top + 1))
    xml = (
        "<PAMDataset>\n"
        '  <PAMRasterBand band="1">\n'
        f"    <Description>{escape(description)}</Description>\n"
        "    <CategoryNames>\n"
        f"{cats}\n"
        "    </CategoryNames>\n"
        "  </PAMRasterBand>\n"
        "</PAMDataset>\n")
    Path(str(tif) + ".aux.xml").write_text(xml, encoding="utf-8")


def _write_qml(path: Path, entries: list[tuple[int, str, str]]) -> None:
    """A QGIS paletted-raster style: one class per code with its label and colour."""
    items = "\n".join(
        f'        <paletteEntry value="{code}" label="{escape(label, {chr(34): "&quot;"})}" '
        f'color="{colour}" alpha="255"/>'
        for code, label, colour in entries)
    qml = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.34" styleCategories="Symbology">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1">\n'
        "      <colorPalette>\n"
        f"{items}\n"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n")
    path.write_text(qml, encoding="utf-8")
