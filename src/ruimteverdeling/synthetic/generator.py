"""``make_area``: world → grid → landscape → layer files and ``area.yaml``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling import __version__
from ruimteverdeling.synthetic.build import build_landscape
from ruimteverdeling.synthetic.catalogue import RASTERS, VECTORS, RasterLayer, VectorLayer
from ruimteverdeling.synthetic.codes import FLOAT_NODATA, GENERATOR_VERSION, USE_CODES
from ruimteverdeling.synthetic.grid import SCALE_ORIGIN, fit_grid
from ruimteverdeling.synthetic.landscape import Landscape
from ruimteverdeling.synthetic.world import build_world
from ruimteverdeling.synthetic.writer import write_gpkg, write_manifest, write_tif


def make_area(out_dir: str | Path, cells: int, resolution: float = 100.0, seed: int = 0,
              progress: Callable[[str], None] | None = None) -> Path:
    """Write a synthetic, Netherlands-like study area into ``out_dir``.

    ``cells`` is the approximate number of study-area cells (land-use code ≠ 0, within a
    few per cent), ``resolution`` the cell size in metres. The same arguments always give
    identical files. Returns the path of ``out_dir/area.yaml``.
    """
    if cells < 1:
        raise ValueError("cells must be positive")
    if not resolution > 0:
        raise ValueError("resolution must be positive")
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    # it writes every file anew and removes none, so it refuses a folder holding anything but
    # hidden entries (the engine's own ownership marker, which it never writes)
    if out.is_dir() and any(not e.name.startswith(".") for e in out.iterdir()):
        raise ValueError(f"{out} is not empty: make_area writes into a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)

    say("world geometry")
    world = build_world(int(seed))
    say("fitting the grid")
    grid, study = fit_grid(world, int(cells), float(resolution))
    landscape = build_landscape(world, grid, study, say)

    source = f"synthetic (ruimteverdeling make-area, seed {seed})"
    say("building and writing rasters")
    manifest_layers: dict[str, dict[str, Any]] = {}
    for raster in RASTERS:
        manifest_layers[raster.name] = _write_raster(out, raster, landscape, source)
    say("writing vectors")
    for vector in VECTORS:
        manifest_layers[vector.name] = _write_vector(out, vector, landscape, source)

    counts = np.bincount(landscape.land_use.codes.ravel(), minlength=256)
    n_study = int(counts[1:].sum())
    shares = {use: round(float(counts[code]) / max(n_study, 1), 5)
              for code, use in USE_CODES.items()}
    manifest = {
        "name": f"synthetic-nl-seed{seed}",
        "description": (
            f"Synthetic Netherlands-like study area (seed {seed}, {n_study} cells of "
            f"{resolution:g} m, scale {grid.scale:.6g} about RD {SCALE_ORIGIN}). Not real data."),
        "grid": {"crs": "EPSG:28992", "width": grid.width, "height": grid.height,
                 "resolution": float(resolution), "left": float(grid.left),
                 "top": float(grid.top)},
        "current_use": "landuse",
        "regions": "regions",
        "layers": manifest_layers,
        "generator": {
            "name": "ruimteverdeling make-area",
            "generator_version": GENERATOR_VERSION,
            "package_version": __version__,
            "seed": int(seed),
            "cells_requested": int(cells),
            "cells_produced": n_study,
            "resolution": float(resolution),
            "scale_factor": float(round(grid.scale, 9)),
            "scale_origin": [SCALE_ORIGIN[0], SCALE_ORIGIN[1]],
            "shares": shares,
        },
    }
    path = out / "area.yaml"
    write_manifest(path, manifest)
    say("shares: " + ", ".join(f"{u} {100 * s:.1f}%" for u, s in shares.items()))
    return path


def _write_raster(out: Path, layer: RasterLayer, landscape: Landscape,
                  source: str) -> dict[str, Any]:
    """Build and write one raster; return its manifest entry."""
    arr = layer.build(landscape)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    nodata: float | None = None
    if layer.kind == "continuous":
        nodata = FLOAT_NODATA
    elif layer.kind == "categorical":
        nodata = 0
    write_tif(out / f"{layer.name}.tif", arr, landscape.grid, nodata)
    entry: dict[str, Any] = {"file": f"{layer.name}.tif", "kind": layer.kind}
    if layer.unit is not None:
        entry["unit"] = layer.unit
    if layer.categories is not None:
        categories = (layer.categories(arr, landscape) if callable(layer.categories)
                      else layer.categories)
        entry["categories"] = dict(categories)
    entry.update(description=layer.description, source=source, version=GENERATOR_VERSION)
    return entry


def _write_vector(out: Path, layer: VectorLayer, landscape: Landscape,
                  source: str) -> dict[str, Any]:
    """Build and write one GeoPackage layer; return its manifest entry."""
    records, geoms = layer.build(landscape)
    write_gpkg(out / layer.file, layer.table, records, geoms)
    entry: dict[str, Any] = {"file": layer.file, "layer": layer.table, "kind": layer.kind}
    if layer.unit is not None:
        entry["unit"] = layer.unit
    if layer.attribute is not None:
        entry["attribute"] = layer.attribute
    if layer.name_attribute is not None:
        entry["name_attribute"] = layer.name_attribute
    entry.update(description=layer.description, source=source, version=GENERATOR_VERSION)
    return entry
