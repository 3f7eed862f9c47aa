"""Hand-made tiny study areas for golden tests (real GeoTIFF files and area.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml
from affine import Affine

LANDUSE_CATEGORIES = {1: "housing", 2: "nature", 3: "agriculture", 4: "solar", 5: "wind",
                      6: "water_buffer", 7: "defence", 21: "industry", 22: "infrastructure",
                      23: "water"}
LEFT, TOP = 100_000.0, 500_000.0


def write_tif(path: Path, data: np.ndarray, resolution: float, crs: str = "EPSG:28992",
              left: float = LEFT, top: float = TOP, nodata: float | None = None) -> None:
    data = np.asarray(data)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype=data.dtype, crs=crs, nodata=nodata,
                       transform=Affine(resolution, 0, left, 0, -resolution, top)) as dst:
        dst.write(data, 1)


def write_area(folder: Path, landuse: Any, regions: Any | None = None,
               region_names: dict[int, str] | None = None,
               layers: dict[str, tuple[Any, str, dict[str, Any]]] | None = None,
               resolution: float = 100.0) -> Path:
    """Write ``area.yaml`` with a land-use raster, a region raster and extra layers.

    ``layers`` maps name -> (array, kind, extra manifest fields).
    """
    folder.mkdir(parents=True, exist_ok=True)
    landuse = np.asarray(landuse, np.uint8)
    h, w = landuse.shape
    if regions is None:
        regions = np.ones((h, w), np.int32)
    regions = np.asarray(regions, np.int32)
    region_names = region_names or {int(r): f"R{int(r)}" for r in np.unique(regions) if r > 0}
    write_tif(folder / "landuse.tif", landuse, resolution)
    write_tif(folder / "regions.tif", regions, resolution)
    manifest: dict[str, Any] = {
        "name": "tiny",
        "grid": {"crs": "EPSG:28992", "width": w, "height": h, "resolution": resolution,
                 "left": LEFT, "top": TOP},
        "current_use": "landuse",
        "regions": "regions",
        "layers": {
            "landuse": {"file": "landuse.tif", "kind": "categorical",
                        "categories": LANDUSE_CATEGORIES},
            "regions": {"file": "regions.tif", "kind": "regions", "categories": region_names},
        },
    }
    for name, (arr, kind, extra) in (layers or {}).items():
        arr = np.asarray(arr)
        if kind == "continuous":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind not in "iu":
            arr = arr.astype(np.int32)
        write_tif(folder / f"{name}.tif", arr, resolution)
        manifest["layers"][name] = {"file": f"{name}.tif", "kind": kind, **extra}
    (folder / "area.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder / "area.yaml"


def write_scenario(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


SRC = {"document": "test", "section": "n/a", "quote": "hand-made"}
