"""Writing an area: GeoTIFF rasters, GeoPackage vectors and the ``area.yaml`` manifest.

Files are reproducible byte for byte: the rasters carry no timestamp, and the GeoPackages are
written with GDAL's ``OGR_CURRENT_DATE`` pinned, which GDAL otherwise stamps into their
metadata tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml

from ruimteverdeling.synthetic.grid import Grid

#: The timestamp written into GeoPackages (instead of the time of writing).
GPKG_DATE = "2024-01-01T00:00:00Z"


def write_tif(path: Path, arr: np.ndarray, grid: Grid, nodata: float | None) -> None:
    """A tiled, deflate-compressed single-band GeoTIFF in EPSG:28992."""
    predictor = 3 if np.issubdtype(arr.dtype, np.floating) else 2
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1,
                   dtype=arr.dtype.name, crs="EPSG:28992", transform=grid.transform,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                   predictor=predictor, zlevel=6, num_threads="ALL_CPUS")
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)


def write_gpkg(path: Path, layer: str, records: list[dict[str, Any]], geoms: list[Any]) -> None:
    """A GeoPackage with one layer in EPSG:28992, in the new folder :func:`make_area` writes."""
    # deferred: both import pandas, which only writing the GeoPackages needs
    import geopandas as gpd
    import pyogrio

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        gdf = gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:28992")
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """``area.yaml``, keys in the given order."""
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
