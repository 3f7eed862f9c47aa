"""Data checks of a study area's layers, for ``ruimteverdeling validate``.

Reading a layer (:mod:`ruimteverdeling.area.studyarea`) already fails on what makes it
unusable: a missing file, another CRS without ``resampling:``, an extent that does not cover
the grid, fractional class codes, a region layer with holes. These checks look at the values
inside the study area (the land cells ``L``) and report, for every layer at once:

* **nodata share** ``|{c ∈ L : v_c is nodata}| / |L|`` — NaN for continuous layers, the
  file's declared nodata value for rasters of the other kinds. Above
  :data:`NODATA_WARN` it is a warning, above :data:`NODATA_ERROR` ("mostly nodata") an error.
* **value ranges** — every finite value inside the study area must lie in the layer's range:
  ``valid_range: [lo, hi]`` from ``area.yaml`` (either side may be null), or a default from
  the kind and unit (distances ≥ 0; shares, fractions and suitabilities in [0, 1];
  percentages in [0, 100]; wind speeds ≥ 0). Masks should hold 0/1 only.
* **unknown category codes** — codes > 0 of a categorical or regions layer that its
  ``categories:`` do not name (the current land-use layer is checked when the area loads).
* **grid mismatches** — a raster on another resolution, shape or origin than the study grid
  is resampled on load; that is reported with the file's grid and the ``gdalwarp`` call that
  aligns it (unless the layer sets ``resampling:``, which accepts it).
* **coverage** — the share of the land cells each layer covers
  (:mod:`ruimteverdeling.area.coverage`); a mask or categorical layer that covers none or
  almost none of the study area, and a vector layer none of whose features touches the grid,
  is a warning that says what to check. :attr:`AreaReport.coverage` holds the facts per layer
  (``empty`` for a mask with nothing inside the study area) for the rules that depend on them.
* **what loading did** — land cells without a region assigned to the nearest region or left
  out of the study area (``uncovered:``) are repeated as warnings.

Each finding is a :class:`~ruimteverdeling.errors.Problem` that names area.yaml, the layer and
the fix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.area.coverage import ALMOST_EMPTY, LayerCoverage
from ruimteverdeling.area.studyarea import CURRENT_USE, StudyArea
from ruimteverdeling.errors import InputError, Problem

NODATA_WARN = 0.01
"""A layer with more than this share of nodata inside the study area gets a warning."""
NODATA_ERROR = 0.5
"""A layer with more than this share of nodata inside the study area is an error."""

UNIT_RANGES: dict[str, tuple[float | None, float | None]] = {
    "share": (0.0, 1.0), "fraction": (0.0, 1.0), "ratio": (0.0, 1.0), "0-1": (0.0, 1.0),
    "0..1": (0.0, 1.0), "suitability": (0.0, 1.0), "probability": (0.0, 1.0),
    "%": (0.0, 100.0), "percent": (0.0, 100.0), "m/s": (0.0, None), "ha": (0.0, None),
}
NAME_RANGES: dict[str, tuple[float | None, float | None]] = {
    "suitability": (0.0, 1.0), "share": (0.0, 1.0), "fraction": (0.0, 1.0),
    "distance": (0.0, None),
}


@dataclass
class LayerCheck:
    """What the checks found for one layer."""

    name: str
    kind: str
    file: str
    nodata_share: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    valid_range: tuple[float | None, float | None] | None = None
    coverage: LayerCoverage | None = None
    status: str = "ok"  # "ok" | "warning" | "error"

    def line(self) -> str:
        parts = [f"{self.name:24s} {self.kind:11s} {self.status:7s}"]
        if self.coverage is not None and self.kind in ("mask", "categorical", "regions"):
            parts.append(f"covers {self.coverage.share:6.1%}")
        if self.nodata_share is not None:
            parts.append(f"nodata {self.nodata_share:6.1%}")
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"values {_v(self.minimum)} .. {_v(self.maximum)}")
        if self.valid_range is not None:
            parts.append(f"expected {_range_text(self.valid_range)}")
        return "  ".join(parts)


@dataclass
class AreaReport:
    """Every layer's check, the errors and the warnings."""

    layers: list[LayerCheck] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    coverage: dict[str, LayerCoverage] = field(default_factory=dict)
    """Per readable layer: what it covers of the study area (``empty`` masks included)."""


def expected_range(name: str, spec: Any) -> tuple[float | None, float | None] | None:
    """The layer's declared ``valid_range``, else a default from its kind, unit or name."""
    declared = getattr(spec, "valid_range", None)
    if declared is not None:
        lo, hi = declared
        return (None if lo is None else float(lo), None if hi is None else float(hi))
    if spec.kind == "distance":
        return (0.0, None)
    if spec.kind != "continuous":
        return None
    unit = (spec.unit or "").strip().lower()
    if unit in UNIT_RANGES:
        return UNIT_RANGES[unit]
    lowered = name.lower()
    for key, rng in NAME_RANGES.items():
        if key in lowered:
            return rng
    return None


def check_area(area: StudyArea, skip: set[str] | None = None) -> AreaReport:
    """Run every check on every layer of ``area`` (except those in ``skip``, e.g. layers that
    could not be read at all). Never raises for a layer's content: findings are returned."""
    report = AreaReport()
    report.warnings += area.notes
    skip = skip or set()
    land = area.land
    n_land = int(land.sum())
    for name, spec in area.manifest.layers.items():
        if name in skip or name == CURRENT_USE:
            continue
        file = area.path.parent / spec.file
        check = LayerCheck(name, spec.kind, spec.file)
        errors: list[Problem] = []
        warns: list[Problem] = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                layer = area.layer(name)
        except InputError:
            continue  # already reported by StudyArea.check_layers
        raw = _raw_on_grid(area, file)
        if raw is not None and spec.resampling is None:
            warns += _grid_problems(area, name, file, raw["header"], spec)
        cov = area.layer_coverage(name)
        check.coverage = report.coverage[name] = cov
        warns += _coverage_problems(area, name, spec, cov, layer)
        values = layer.data[land]
        # nodata share
        if spec.kind == "continuous":
            nodata = ~np.isfinite(values)
        elif raw is not None and raw["mask"] is not None:
            nodata = raw["mask"][land]
        else:
            nodata = None
        if nodata is not None and n_land:
            share = float(nodata.sum()) / n_land
            check.nodata_share = share
            if share > NODATA_ERROR:
                errors.append(Problem(
                    area.path, f"layers.{name}",
                    f"{spec.file} is mostly nodata inside the study area: {share:.1%} of the "
                    f"{n_land:,} land cells ({int(nodata.sum()):,}) have no value",
                    "use a file that covers the study area, or check its nodata value "
                    "(gdalinfo); cells outside a class should hold 0, not nodata"))
            elif share > NODATA_WARN:
                warns.append(Problem(
                    area.path, f"layers.{name}",
                    f"{spec.file} has no value in {share:.1%} of the land cells "
                    f"({int(nodata.sum()):,}); rules treat those cells as outside the layer",
                    "fill the gaps, or accept them"))
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        if finite.size:
            check.minimum, check.maximum = float(finite.min()), float(finite.max())
        # value ranges
        rng = expected_range(name, spec)
        check.valid_range = rng
        if rng is not None and finite.size:
            lo, hi = rng
            bad = np.zeros(finite.size, bool)
            if lo is not None:
                bad |= finite < lo
            if hi is not None:
                bad |= finite > hi
            if bad.any():
                declared = getattr(spec, "valid_range", None) is not None
                errors.append(Problem(
                    area.path, f"layers.{name}",
                    f"{spec.file} has {int(bad.sum()):,} land cells outside the range "
                    f"{_range_text(rng)} of a {_what(spec)} layer (found "
                    f"{float(finite[bad].min()):,.4g} .. {float(finite[bad].max()):,.4g})",
                    "correct the values" + ("" if declared else
                                            ", or declare the real range in area.yaml with "
                                            "`valid_range: [min, max]` on the layer")))
        if spec.kind == "mask" and raw is not None and raw["values"] is not None:
            other = sorted(set(raw["values"]) - {0, 1})
            if other:
                warns.append(Problem(
                    area.path, f"layers.{name}",
                    f"{spec.file} is a mask but holds the values {_codes(other)}; every "
                    "non-zero value counts as inside the zone",
                    "write the mask as 0/1, or declare the file's nodata value"))
        # unknown category codes
        if spec.kind in ("categorical", "regions") and layer.categories and \
                name != area.manifest.current_use:
            present, counts = np.unique(values[values > 0], return_counts=True)
            unknown = {int(c): int(n) for c, n in zip(present, counts, strict=True)
                       if int(c) not in layer.categories}
            if unknown:
                shown = dict(list(unknown.items())[:10])
                errors.append(Problem(
                    area.path, f"layers.{name}.categories",
                    f"{spec.file} has codes that `categories:` does not name: {shown} "
                    "(code: land cells)",
                    f"add {_codes(list(unknown))} under `layers.{name}.categories` in "
                    "area.yaml, or set those cells to 0 (or nodata) in the file"))
        check.status = "error" if errors else "warning" if warns else "ok"
        report.errors += errors
        report.warnings += warns
        report.layers.append(check)
    return report


def _coverage_problems(area: StudyArea, name: str, spec: Any, cov: LayerCoverage,
                       layer: Any) -> list[Problem]:
    """Warnings for a layer that covers none or almost none of the study area (see
    :mod:`ruimteverdeling.area.coverage` for why these are warnings, not errors)."""
    field_ = f"layers.{name}"
    out = []
    where = _where_features(area, layer)
    if spec.kind == "distance" and cov.features is not None and cov.features_on_grid == 0:
        d = layer.data[area.land]
        out.append(Problem(
            area.path, field_,
            f"none of the {cov.features:,} features of {spec.file} lies on the study grid; "
            f"the nearest is {float(d.min()):,.0f} m from the study area",
            "if they should lie inside, check the file's CRS (`crs:` on the layer) and "
            "extent; otherwise accept it"))
        return out
    if spec.kind not in ("mask", "categorical") or name == area.manifest.current_use:
        return out
    if cov.empty:
        out.append(Problem(
            area.path, field_,
            f"{spec.file} covers none of the study area ({cov.land_cells:,} land cells)"
            f"{where}: every rule or term on layer '{name}' acts nowhere, and a G rule on it "
            "protects nothing",
            "check the file's CRS (`crs:` on the layer), extent and values; if the layer is "
            "really empty here, remove the rules that use it from the scenario"))
    elif cov.almost_empty:
        out.append(Problem(
            area.path, field_,
            f"{spec.file} covers almost none of the study area: {cov.cells:,} of "
            f"{cov.land_cells:,} land cells ({cov.share:.2%} < {ALMOST_EMPTY:.1%}){where}",
            "check the file's CRS (`crs:` on the layer) and extent if you expected more; "
            "otherwise accept it"))
    return out


def _where_features(area: StudyArea, layer: Any) -> str:
    """``; 3 of 120 features touch the grid`` for vector layers (else empty)."""
    if layer.features is None:
        return ""
    return f"; {layer.features_on_grid:,} of its {layer.features:,} features touch the study grid"


def _v(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:,.4g}"


def _what(spec: Any) -> str:
    if getattr(spec, "valid_range", None) is not None:
        return "declared"
    if spec.kind == "distance":
        return "distance"
    return f"'{spec.unit}'" if spec.unit else spec.kind


def _range_text(rng: tuple[float | None, float | None]) -> str:
    lo, hi = rng
    if hi is None:
        return f"≥ {lo:g}"
    if lo is None:
        return f"≤ {hi:g}"
    return f"[{lo:g}, {hi:g}]"


def _codes(codes: list[Any]) -> str:
    return ", ".join(str(int(c)) if float(c).is_integer() else f"{c:g}" for c in codes[:10])


def _raw_on_grid(area: StudyArea, file: Path) -> dict[str, Any] | None:
    """For a raster: its header, and — when it is on the study grid — its nodata mask and
    the distinct values (small layers) of the file as stored. None for vector layers or
    unreadable files."""
    import rasterio
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    if file.suffix.lower() not in (".tif", ".tiff", ".vrt", ".img", ".asc"):
        return None
    try:
        with rasterio.open(file) as src:
            header = {"crs": src.crs, "width": src.width, "height": src.height,
                      "transform": src.transform, "res": src.res, "nodata": src.nodata}
            g = area.grid
            aligned = (src.width == g.width and src.height == g.height and np.allclose(
                tuple(src.transform)[:6], tuple(g.transform)[:6], atol=1e-6))
            mask = values = None
            if aligned:
                data = src.read(1)
                if src.nodata is not None:
                    nd = src.nodata
                    mask = np.isnan(data) if np.isnan(nd) else data == nd
                    if nd == 0 and data.dtype.kind in "iub":
                        mask = np.zeros(data.shape, bool)  # 0 is "no class" for the engine too
                elif data.dtype.kind == "f":
                    mask = np.isnan(data)
                inside = data[area.land & ~mask] if mask is not None else data[area.land]
                if inside.size and inside.dtype.kind in "iub":
                    values = np.unique(inside).tolist()
                elif inside.size:
                    vals = inside[np.isfinite(inside)]
                    values = np.unique(vals).tolist() if vals.size else []
    except (RasterioError, CPLE_BaseError, OSError):
        return None
    return {"header": header, "mask": mask, "values": values}


def _grid_problems(area: StudyArea, name: str, file: Path, header: dict[str, Any],
                   spec: Any) -> list[Problem]:
    """A raster not on the study grid (same CRS: it is resampled on load)."""
    from rasterio.crs import CRS

    g = area.grid
    try:
        same_crs = header["crs"] is not None and header["crs"] == CRS.from_user_input(g.crs)
    except Exception:
        same_crs = False
    if not same_crs:
        return []  # another CRS without `resampling:` is an error when the layer is read
    rx, ry = header["res"]
    t = header["transform"]
    what = []
    if not (np.isclose(rx, g.resolution) and np.isclose(ry, g.resolution)):
        what.append(f"resolution {rx:g} × {ry:g} m (study grid {g.resolution:g} m)")
    if header["width"] != g.width or header["height"] != g.height:
        what.append(f"shape {header['width']} × {header['height']} cells (study grid "
                    f"{g.width} × {g.height})")
    if not (np.isclose(t.c, g.left) and np.isclose(t.f, g.top)):
        what.append(f"origin ({t.c:.0f}, {t.f:.0f}) (study grid ({g.left:.0f}, {g.top:.0f}))")
    if not what:
        return []
    method = "bilinear" if spec.kind == "continuous" else "max" if spec.kind == "distance" \
        else "near"
    return [Problem(
        area.path, f"layers.{name}.file",
        f"{file.name} is not on the study grid: {'; '.join(what)}; it is resampled on load",
        f"align it: gdalwarp -tr {g.resolution:g} {g.resolution:g} -te {g.left:.0f} "
        f"{g.bottom:.0f} {g.right:.0f} {g.top:.0f} -r {method} {file.name} aligned.tif; or "
        "set `resampling:` on the layer to accept the resampling")]
