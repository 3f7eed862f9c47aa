"""Coarsen a study area by an integer factor, for fast exploration (``solve --resolution``).

Every coarse cell covers ``f × f`` fine cells (blocks along the right and bottom edge reach
beyond the grid; those cells count as outside). With ``n_L`` the block's land cells:

* **study area**: a coarse cell is land when ``n_L > f²/2``; at exactly ``n_L = f²/2`` it is
  land on the cells with even ``row + column`` — a checkerboard, so ties neither grow nor
  shrink the total. The study area's extent is so kept up to the coast- and border-line cells
  (their errors cancel rather than add up, as they do when every partly covered cell counts);
* ``categorical``, ``regions`` and the current land use: the **most frequent code among the
  block's land cells with a code** (> 0); "outside" and "no class" do not compete as a class —
  they decide only whether the cell is land (ties go to the smaller code). So every coarse land
  cell has a region when every fine land cell has one;
* ``mask``: set when more than half of the block's land cells are set (exactly half: the same
  checkerboard);
* ``continuous`` and ``distance``: the mean over the block's land cells with data (a
  distance layer is written as the distances it holds: ``kind: continuous`` in metres).

Regional totals are then consistent up to the boundary cells: for every region ``r`` the
coarse area ``A'_r = f² · res² · #{coarse cells with majority r}`` differs from the fine area
``A_r`` by the cells along the region's border. :func:`coarsen` reports ``A_r``, ``A'_r`` and
their relative deviation for every region and for every current use, so a planner sees what
the exploration run rests on. Absolute targets (ha, homes, TWh) keep their values; targets
scaled by area share follow the coarse areas.

The coarse area is written as GeoTIFFs with its own ``area.yaml`` (its ``generator`` entry
names the source area and the factor), and is cached: a second call with the same source
files and factor reuses it, as long as the code that reads and coarsens areas (the modules of
this package) is the same; a copy made by another version of that code is made again.
"""

from __future__ import annotations

import functools
import hashlib
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ruimteverdeling import yamlio
from ruimteverdeling.area.manifest import load_manifest
from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InputError

GEOTIFF_OPTIONS = {"driver": "GTiff", "compress": "deflate"}


def factor_for(fine: float, coarse: float, path: Path | None = None) -> int:
    """The integer factor between two resolutions (error unless ``coarse`` is a multiple)."""
    if not math.isfinite(coarse) or coarse <= 0:
        raise InputError.single(path, "--resolution", f"{coarse!r} is not a cell size",
                                "give a positive number of metres, e.g. --resolution 1000")
    ratio = coarse / fine
    f = round(ratio)
    if f < 1 or abs(ratio - f) > 1e-6 * ratio:
        options = ", ".join(f"{fine * k:g}" for k in (2, 3, 4, 5, 10))
        raise InputError.single(path, "--resolution",
                                f"{coarse:g} m is not a whole multiple of the study area's "
                                f"{fine:g} m cells",
                                f"use a multiple, e.g. {options}")
    return f


def _blocks(a: np.ndarray, f: int, fill: Any) -> np.ndarray:
    """``a`` padded to multiples of f and reshaped to (H, W, f*f)."""
    h, w = a.shape
    H, W = -(-h // f), -(-w // f)
    padded = np.full((H * f, W * f), fill, dtype=a.dtype)
    padded[:h, :w] = a
    return padded.reshape(H, f, W, f).transpose(0, 2, 1, 3).reshape(H, W, f * f)


def more_than_half(count: np.ndarray, total: np.ndarray | int) -> np.ndarray:
    """``count > total/2``, and at exactly half the cells with even ``row + column``."""
    rows, cols = np.indices(np.shape(count))
    twice = 2 * np.asarray(count, np.int64)
    return (twice > total) | ((twice == total) & (np.asarray(total) > 0)
                              & ((rows + cols) % 2 == 0))


def land_blocks(land: np.ndarray, f: int) -> np.ndarray:
    """Coarse land: more than half of each f×f block is land (module docstring)."""
    n = _blocks(land.astype(np.uint8), f, 0).sum(axis=2, dtype=np.int32)
    return more_than_half(n, f * f)


def plurality(a: np.ndarray, f: int, valid: np.ndarray) -> np.ndarray:
    """Most frequent code > 0 of every f×f block among the cells where ``valid`` (ties: the
    smaller code); 0 where the block has no such cell."""
    blocks = _blocks(np.where(valid, a, 0), f, 0)
    codes = np.unique(blocks)
    codes = codes[codes > 0]
    best = np.zeros(blocks.shape[:2], a.dtype)
    best_count = np.zeros(blocks.shape[:2], np.int32)
    for c in codes:  # ascending, so a tie keeps the smaller code
        count = (blocks == c).sum(axis=2, dtype=np.int32)
        better = count > best_count
        best[better] = c
        best_count[better] = count[better]
    return best


def mean(a: np.ndarray, f: int) -> np.ndarray:
    """Mean of the finite values of every f×f block (NaN where none)."""
    blocks = _blocks(a.astype(np.float64), f, np.nan)
    n = np.isfinite(blocks).sum(axis=2)
    s = np.nansum(blocks, axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan).astype(np.float32)


@functools.cache
def _code_digest() -> bytes:
    """The source of the modules that read and coarsen areas (this package)."""
    h = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.name.encode() + b"\0" + module.read_bytes())
    return h.digest()


def _cache_key(area_path: Path, factor: int) -> str:
    """The source area's path, manifest and files (size, time), the factor and the code."""
    m = load_manifest(area_path)
    h = hashlib.sha256(f"{factor}|{area_path.resolve()}".encode())
    h.update(_code_digest())
    h.update(area_path.read_bytes())
    for spec in m.layers.values():
        f = (area_path.parent / spec.file).resolve()
        st = f.stat() if f.exists() else None
        h.update(f"{f}|{st.st_size if st else 0}|{st.st_mtime_ns if st else 0}".encode())
    return h.hexdigest()[:12]


def coarsen(area_path: str | Path, resolution: float, out_root: str | Path
            ) -> tuple[Path, dict[str, Any]]:
    """Write (or reuse) the study area at ``resolution`` m; return its area.yaml and a report
    with the regional and per-use area deviations (see the module docstring)."""
    import rasterio
    from rasterio.transform import from_origin

    area_path = Path(area_path).resolve()
    fine = StudyArea.load(area_path)
    grid = fine.grid
    f = factor_for(grid.resolution, float(resolution), area_path)
    if f > max(grid.width, grid.height):
        raise InputError.single(area_path, "--resolution",
                                f"{resolution:g} m cells are larger than the whole study area "
                                f"({grid.width} x {grid.height} cells of {grid.resolution:g} m)",
                                f"use at most {grid.resolution * max(grid.width, grid.height):g}"
                                " m; a few hundred cells or more make a useful model")
    out_root = Path(out_root)
    folder = out_root / f"{area_path.parent.name}_{resolution:g}m_{_cache_key(area_path, f)}"
    report_file = folder / "coarsening.yaml"
    if (folder / "area.yaml").exists() and report_file.exists():
        return folder / "area.yaml", yamlio.load_file(report_file, "coarsening report")

    out_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=out_root))  # ours alone
    manifest = fine.manifest
    res = grid.resolution * f
    H, W = -(-grid.height // f), -(-grid.width // f)
    transform = from_origin(manifest.grid.left, manifest.grid.top, res, res)
    land_fine = fine.land
    coarse_land = land_blocks(land_fine, f)
    n_land = _blocks(land_fine.astype(np.uint8), f, 0).sum(axis=2, dtype=np.int32)
    layers_out: dict[str, Any] = {}
    for name, spec in manifest.layers.items():
        layer = fine.layer(name)
        data = layer.data
        if spec.kind in ("continuous", "distance"):
            arr = mean(np.where(land_fine, data.astype(np.float32), np.nan), f)
            arr[~coarse_land] = np.nan
            dtype, nodata = "float32", float("nan")
        else:
            if spec.kind == "mask":
                n_set = _blocks((land_fine & (data != 0)).astype(np.uint8), f, 0).sum(
                    axis=2, dtype=np.int32)
                arr = more_than_half(n_set, n_land).astype(np.int32)
            else:
                arr = plurality(data.astype(np.int32), f, land_fine)
            arr[~coarse_land] = 0
            dtype, nodata = ("uint8" if arr.max(initial=0) < 256 else "int32"), 0
            arr = arr.astype(dtype)
        file = f"{name}.tif"
        with rasterio.open(tmp / file, "w", width=W, height=H, count=1, dtype=dtype,
                           crs=grid.crs, transform=transform, nodata=nodata,
                           **GEOTIFF_OPTIONS) as dst:
            dst.write(arr, 1)
        entry = spec.model_dump(exclude_none=True)
        entry.update(file=file)
        for key in ("layer", "attribute", "name_attribute", "resampling", "crs", "columns",
                    "uncovered"):
            entry.pop(key, None)
        if spec.kind in ("categorical", "regions") and layer.categories:
            # names of vector-read regions live in the layer, not in the manifest
            entry["categories"] = {int(k): str(v) for k, v in layer.categories.items()}
        if spec.kind == "distance":
            # the distances themselves, no longer features: a continuous layer in metres
            entry.update(kind="continuous", unit="m", description=(
                spec.description or name) + f" (distance in m, block mean over {f}x{f} cells)")
        layers_out[name] = entry
    report = _deviations(fine, folder, manifest, f, coarse_land, tmp)
    new_manifest = {
        "name": f"{manifest.name}-{res:g}m",
        "description": f"{manifest.name} coarsened {f}x{f} to {res:g} m (land where more "
                       "than half the block is land; the most frequent class among its land "
                       "cells; means for continuous layers) for exploration",
        "grid": {"crs": grid.crs, "width": W, "height": H, "resolution": res,
                 "left": manifest.grid.left, "top": manifest.grid.top},
        "current_use": manifest.current_use, "regions": manifest.regions,
        "layers": layers_out,
        "generator": {"coarsened_from": str(area_path), "factor": f,
                      "max_region_deviation": report["max_region_deviation"]},
    }
    (tmp / "area.yaml").write_text(yaml.safe_dump(new_manifest, sort_keys=False,
                                                  allow_unicode=True), encoding="utf-8")
    (tmp / "coarsening.yaml").write_text(yaml.safe_dump(report, sort_keys=False),
                                         encoding="utf-8")
    if folder.exists():  # never replaced: a complete copy returned above, anything else kept
        shutil.rmtree(tmp)  # the temporary folder this call made
        if (folder / "area.yaml").exists() and report_file.exists():  # made meanwhile
            return folder / "area.yaml", yamlio.load_file(report_file, "coarsening report")
        raise InputError.single(folder, "--resolution", "the cache folder exists but was not "
                                "written by the coarsener; it is left as it is",
                                "move it away, or set RUIMTEVERDELING_CACHE to another folder")
    tmp.replace(folder)
    return folder / "area.yaml", report


def _deviations(fine: StudyArea, folder: Path, manifest: Any, f: int,
                coarse_land: np.ndarray, tmp: Path) -> dict[str, Any]:
    """Fine and coarse hectares per region and per current use."""
    import rasterio

    ha_fine = fine.grid.cell_area_ha
    ha_coarse = ha_fine * f * f

    def read(name: str) -> np.ndarray:
        with rasterio.open(tmp / f"{name}.tif") as src:
            return src.read(1)

    def table(fine_codes: np.ndarray, coarse_codes: np.ndarray, names: dict[int, str]
              ) -> list[dict[str, Any]]:
        rows = []
        for code in sorted(set(np.unique(fine_codes[fine.land]).tolist()) - {0}):
            a = float((fine_codes[fine.land] == code).sum()) * ha_fine
            b = float((coarse_codes[coarse_land] == code).sum()) * ha_coarse
            rows.append({"id": names.get(int(code), str(code)), "fine_ha": round(a, 1),
                         "coarse_ha": round(b, 1),
                         "deviation": round((b - a) / a, 5) if a else None})
        return rows

    regions = table(fine.regions.data, read(manifest.regions),
                    fine.regions.categories or {})
    landuse = fine.layer(manifest.current_use)
    uses = table(landuse.data, read(manifest.current_use), landuse.categories or {})
    total_fine = float(fine.land.sum()) * ha_fine
    total_coarse = float(coarse_land.sum()) * ha_coarse
    devs = [abs(r["deviation"]) for r in regions if r["deviation"] is not None]
    return {
        "factor": f, "fine_resolution_m": fine.grid.resolution,
        "coarse_resolution_m": fine.grid.resolution * f,
        "study_area": {"fine_ha": round(total_fine, 1), "coarse_ha": round(total_coarse, 1),
                       "deviation": round((total_coarse - total_fine) / total_fine, 5)},
        "max_region_deviation": round(max(devs, default=0.0), 5),
        "regions": regions, "current_use": uses,
    }
