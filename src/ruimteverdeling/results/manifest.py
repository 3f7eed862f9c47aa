"""The run manifest: what went in (scenario, input hashes, versions) and what came out."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from ruimteverdeling import __version__
from ruimteverdeling.area.studyarea import sha256_file

PACKAGES = ("numpy", "scipy", "highspy", "pyomo", "rasterio", "geopandas", "pyogrio",
            "shapely", "pydantic", "pyyaml", "click", "dask", "distributed")


def package_versions() -> dict[str, str]:
    out = {"ruimteverdeling": __version__, "python": sys.version.split()[0]}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    try:
        from ruimteverdeling.model.highs_backend import version

        out["HiGHS"] = version()
    except Exception:  # pragma: no cover
        pass
    try:
        import rasterio

        out["GDAL"] = rasterio.__gdal_version__
    except Exception:  # pragma: no cover
        pass
    return out


def scenario_hashes(chain: list[str]) -> dict[str, str]:
    return {str(Path(p).name): sha256_file(Path(p)) for p in chain}


def machine() -> dict[str, Any]:
    import os

    return {"platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count()}
