"""The study-area manifest (``area.yaml``): the grid and the layers that live on it.

A manifest names the grid (CRS, size, resolution, upper-left corner) and every layer the
rules may use. Each layer is a file:

* a raster (GeoTIFF or anything else GDAL reads), read with rasterio and, when its grid
  differs, resampled onto the study grid with a warning;
* a vector file — GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GML, KML — read with geopandas
  and rasterised onto the grid;
* a TopoJSON file (decoded by the engine itself: GDAL reads TopoJSON only when its ``"type"``
  member comes first);
* a CSV of points with coordinate columns ``x``/``y`` (also ``x_rd``, ``rd_x``, ``easting`` ...)
  or ``lon``/``lat`` (also ``lng``, ``longitude``, ``latitude``), recognised case-insensitively,
  or named with ``columns: [X, Y]``. Points make ``distance`` layers (the distance to the
  nearest point) and ``mask`` layers (the cells holding a point); other kinds need areas.

Coordinates. ``crs:`` on a layer states the CRS of the file's coordinates and overrides what
the file says (or does not say). Without it, GeoJSON and TopoJSON are longitude/latitude
(EPSG:4326, the GeoJSON default), a CSV with ``lon``/``lat`` columns too, and a CSV with
``x``/``y`` columns is in the study grid's CRS. Coordinates that cannot be what the CRS says
(|x| > 180 or |y| > 90 read as longitude/latitude; longitude/latitude read as metres;
latitude and longitude swapped) are an error that names the CRS they look like and the fix —
the engine never guesses a CRS silently, because a wrong guess moves a layer by kilometres
without a message.

Each layer has a *kind*:

``categorical``  integer classes; ``categories`` maps file codes to names. For the current
                 land-use layer the names are use ids from the use catalogue (or ``outside``:
                 not part of the study area, e.g. the North Sea or foreign land), so real data
                 (CBS Bestand Bodemgebruik or LGN codes, see ``data/codelists/``) is
                 reclassified on load.
``continuous``   a measured quantity with a ``unit`` (flood depth in m, subsidence in cm, ...).
``mask``         0/1 (a polygon layer is burnt in as 1, a point layer marks the cells holding a
                 point). Cells without data count as outside the mask.
``regions``      integer region ids; ``name_attribute`` (vector) or ``categories`` (raster)
                 gives their names. A vector layer without a numeric ``attribute`` numbers its
                 regions 1, 2, ... in the order of their names. Targets per region refer to
                 these names. ``uncovered:`` says what happens to land cells no region covers
                 (lakes and the Wadden Sea outside province polygons are the usual case):
                 ``error`` (default: the count, where they are and the options), ``nearest``
                 (assigned to the nearest region) or ``outside`` (left out of the study area).
``distance``     derived on load: the Euclidean distance in metres from every cell centre to
                 the nearest feature of a vector layer (stations, dikes, ...) or to the
                 non-zero cells of a raster (a 0/1 raster of stations becomes distances).

Every layer carries ``source`` and ``version`` so that a run's manifest records what it used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from ruimteverdeling import yamlio
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.strict import StrictModel, invalid, pydantic_problems

LayerKind = Literal["categorical", "continuous", "mask", "regions", "distance"]

MAX_GRID_CELLS = 400_000_000
"""Largest grid accepted (the whole of Europe at 100 m is ~1e9 cells; NL at 25 m ~1e8)."""


class GridSpec(StrictModel):
    """A regular north-up grid: ``width`` × ``height`` cells of ``resolution`` metres,
    whose upper-left corner is (``left``, ``top``) in ``crs``."""

    crs: str = "EPSG:28992"
    width: int = Field(gt=0, le=200_000)
    height: int = Field(gt=0, le=200_000)
    resolution: float = Field(gt=0)
    left: float
    top: float

    @field_validator("height")
    @classmethod
    def _not_huge(cls, v: int, info) -> int:
        w = info.data.get("width")
        if w is not None and w * v > MAX_GRID_CELLS:
            raise invalid(f"a grid of {w:,} x {v:,} cells is larger than the "
                          f"{MAX_GRID_CELLS:,} cells the engine accepts",
                          "use a coarser resolution or a smaller extent")
        return v


class LayerSpec(StrictModel):
    """One layer of the study area (see the module docstring for the kinds)."""

    file: str
    kind: LayerKind
    layer: str | None = None
    attribute: str | None = None
    name_attribute: str | None = None
    categories: dict[int, str] | None = None
    unit: str | None = None
    description: str | None = None
    source: str | None = None
    version: str | None = None
    resampling: Literal["nearest", "bilinear", "average", "mode", "max"] | None = None
    crs: str | None = None
    """The CRS of the file's coordinates (e.g. ``EPSG:28992``); overrides what the file says."""
    columns: tuple[str, str] | None = None
    """A CSV's x (longitude) and y (latitude) columns, when their names are not recognised."""
    uncovered: Literal["error", "nearest", "outside"] = "error"
    """Regions layer only: what happens to land cells no region covers (module docstring)."""
    valid_range: tuple[float | None, float | None] | None = None
    """[min, max] every value inside the study area must lie in (either may be null);
    checked by ``ruimteverdeling validate`` (see :mod:`ruimteverdeling.area.checks`)."""

    @field_validator("valid_range")
    @classmethod
    def _ordered(cls, v: tuple[float | None, float | None] | None
                 ) -> tuple[float | None, float | None] | None:
        if v is not None and v[0] is not None and v[1] is not None and v[0] > v[1]:
            raise invalid(f"the minimum {v[0]:g} is above the maximum {v[1]:g}",
                          "write it as [min, max]")
        return v

    @field_validator("file")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must name a file")
        return v


class AreaManifest(StrictModel):
    """The whole ``area.yaml``."""

    name: str
    description: str | None = None
    grid: GridSpec
    current_use: str = "landuse"
    regions: str = "regions"
    layers: dict[str, LayerSpec]
    generator: dict[str, Any] | None = None


def load_manifest(path: str | Path) -> AreaManifest:
    """Read and validate ``area.yaml``; every schema problem is reported at once."""
    path = Path(path)
    if not path.exists():
        raise InputError.single(
            path, None, "study-area manifest not found",
            "check the path, or create a synthetic area with `ruimteverdeling make-area`",
        )
    if path.is_dir():
        raise InputError.single(path, None, "is a folder, not a study-area manifest",
                                f"give the path of its area.yaml ({path / 'area.yaml'})")
    raw = yamlio.load_file(path, "study-area manifest")
    if not isinstance(raw, dict):
        raise InputError.single(path, None, "expected a mapping at the top level",
                                "start the file with keys such as `name:`, `grid:`, `layers:`")
    try:
        manifest = AreaManifest.model_validate(raw)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, path, AreaManifest)) from None
    problems = []
    for key in (manifest.current_use, manifest.regions):
        if key not in manifest.layers:
            problems.append(Problem(path, "layers", f"layer '{key}' is required but not listed",
                                    f"add a layer named '{key}' to `layers:`"))
    if manifest.current_use in manifest.layers and \
            manifest.layers[manifest.current_use].kind != "categorical":
        problems.append(Problem(path, f"layers.{manifest.current_use}.kind",
                                "the current land-use layer must be categorical",
                                "set `kind: categorical` and map its codes to use ids"))
    if manifest.regions in manifest.layers and \
            manifest.layers[manifest.regions].kind != "regions":
        problems.append(Problem(path, f"layers.{manifest.regions}.kind",
                                "the region layer must have kind 'regions'", "set `kind: regions`"))
    for name, spec in manifest.layers.items():
        if spec.uncovered != "error" and name != manifest.regions:
            problems.append(Problem(
                path, f"layers.{name}.uncovered",
                f"`uncovered:` applies to the regions layer ('{manifest.regions}') only",
                f"move it to `layers.{manifest.regions}`, or remove it"))
        if spec.crs is not None:
            problems += _crs_problems(path, f"layers.{name}.crs", spec.crs)
    if problems:
        raise InputError(problems)
    return manifest


def _crs_problems(path: Path, field: str, crs: str) -> list[Problem]:
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        CRS.from_user_input(crs)
    except CRSError:
        return [Problem(path, field, f"unknown CRS '{crs}'",
                        "write an EPSG code: EPSG:28992 (RD New), EPSG:4326 (longitude/latitude)"
                        ", EPSG:25831 (ETRS89 / UTM 31N)")]
    return []
