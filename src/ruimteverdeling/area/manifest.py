"""The study-area manifest (``area.yaml``): the grid and the layers that live on it.

A manifest names the grid (CRS, size, resolution, upper-left corner) and every layer the
rules may use. Each layer is a file — a GeoTIFF (read with rasterio and, when its grid differs,
resampled onto the study grid with a warning) or a GeoPackage/Shapefile (read with geopandas
and rasterised onto the grid) — with a *kind*:

``categorical``  integer classes; ``categories`` maps file codes to names. For the current
                 land-use layer the names are use ids from the use catalogue, so real data
                 (e.g. CBS Bestand Bodemgebruik codes) is reclassified on load.
``continuous``   a measured quantity with a ``unit`` (flood depth in m, subsidence in cm, ...).
``mask``         0/1 (a polygon layer is burnt in as 1).
``regions``      integer region ids; ``name_attribute`` (vector) or ``categories`` (raster)
                 gives their names. Targets per region refer to these names.
``distance``     derived on load: the Euclidean distance in metres from every cell centre to
                 the nearest feature of a vector layer (stations, dikes, ...) or to the
                 non-zero cells of a raster.

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
    if problems:
        raise InputError(problems)
    return manifest
