"""StudyArea: the grid, the land mask and the named layers, aligned as numpy arrays.

Built from an ``area.yaml`` manifest (see :mod:`ruimteverdeling.area.manifest`). Layers are
read lazily — a rule that needs a layer asks for it by name, so a national run does not hold
thirty full-resolution rasters it never uses.

Alignment rules:

* a GeoTIFF on exactly the study grid is read as is;
* a GeoTIFF in the same CRS on another grid that covers the study area is resampled onto it
  (nearest for classes and masks, max for distance features, bilinear for continuous values,
  or the layer's ``resampling``) with a warning;
* a GeoTIFF in another CRS is an error unless the layer sets ``resampling:`` explicitly, in
  which case it is reprojected with a warning;
* a raster layer that does not cover the study area is an error;
* a vector layer (GeoPackage, Shapefile, GeoJSON, TopoJSON, CSV of points; see
  :mod:`ruimteverdeling.area.readers`) in another CRS is reprojected (exact for vectors) with a
  warning; a layer without a CRS is an error unless the layer states it with ``crs:``, and
  coordinates that cannot be in their CRS are an error naming the CRS they look like.

Categorical resampling (``resampling: mode``) onto coarser cells decides two things apart: a
cell is inside the data when more than half of its area holds data (exactly half: inside on
the cells with even ``row + column``, so ties do not bias the total), and its class is the most
frequent class among the source cells *with data* — nodata (or 0, "no class") is not a class
that competes, and it is not ignored either. The area with data is so kept up to the boundary
cells, where GDAL's mode alone (nodata ignored) grows it by every partly covered cell.

``distance`` rasters are features: every non-zero cell is one, and the layer becomes the
Euclidean distance in metres from each cell centre to the nearest feature cell, computed on the
grid (``scipy.ndimage.distance_transform_edt`` with the cell size).

Coverage facts per layer (:meth:`StudyArea.layer_coverage`) and the land cells no region covers
(``uncovered:`` on the regions layer) are described in :mod:`ruimteverdeling.area.coverage`.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.area.coverage import LayerCoverage, Uncovered, coverage_of, find_uncovered
from ruimteverdeling.area.grid import Grid, require_memory
from ruimteverdeling.area.manifest import AreaManifest, LayerSpec, load_manifest
from ruimteverdeling.area.readers import (
    RASTER,
    check_bounds,
    check_coordinates,
    file_format,
    problem_for_swapped,
    read_features,
    swapped_axes,
)
from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.uses import UseCatalogue

CURRENT_USE = "current_use"
OUTSIDE = "outside"
"""A current land-use category that is not part of the study area (sea, foreign land)."""


class LayerWarning(UserWarning):
    """A layer was resampled or reprojected onto the study grid."""


@dataclass
class Layer:
    """One layer on the study grid."""

    name: str
    spec: LayerSpec
    data: np.ndarray
    categories: dict[int, str] | None = None
    land_missing: int | None = None
    """Land cells without a value (NaN, or the file's nodata value), when known."""
    features: int | None = None
    """Vector layers: features read from the file."""
    features_on_grid: int | None = None
    """Vector layers: features that touch the study grid's extent."""

    @property
    def kind(self) -> str:
        return self.spec.kind

    def code_of(self, category: int | str) -> int:
        """The integer code of a category given by code or by name."""
        if isinstance(category, int | np.integer):
            return int(category)
        cats = self.categories or {}
        for code, name in cats.items():
            if name == category:
                return int(code)
        raise KeyError(category)


@dataclass
class StudyArea:
    """The grid, the current land use, the regions and every other layer of a study area."""

    path: Path
    manifest: AreaManifest
    grid: Grid
    catalogue: UseCatalogue
    current_use: np.ndarray  # uint8 catalogue codes on the grid, 0 outside the study area
    land: np.ndarray  # bool, inside the study area
    uncovered: Uncovered | None = None
    """Land cells no region covered, when ``uncovered: nearest|outside`` handled them."""
    notes: list[Problem] = field(default_factory=list)
    """What loading did on its own that a user should hear of (``validate`` prints them)."""
    _layers: dict[str, Layer] = field(default_factory=dict, repr=False)
    _hashes: dict[str, str] = field(default_factory=dict, repr=False)
    _region_ids: dict[tuple[int, int, int], tuple] = field(default_factory=dict, repr=False)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, catalogue: UseCatalogue | None = None,
             uncovered: str | None = None) -> StudyArea:
        """Read ``area.yaml`` and its current land-use and region layers.

        ``uncovered`` overrides the regions layer's ``uncovered:`` policy; ``"keep"`` leaves
        land cells without a region as they are (region 0) and records them in
        :attr:`uncovered`, for writing them out.

        Raises :class:`InputError` naming the file and field for every problem found.
        """
        path = Path(path).resolve()
        manifest = load_manifest(path)
        catalogue = catalogue or UseCatalogue.default()
        g = manifest.grid
        grid = Grid(g.width, g.height, g.resolution, g.left, g.top, g.crs)
        _check_crs_string(path, grid.crs)
        problems: list[Problem] = []
        for name, spec in manifest.layers.items():
            f = (path.parent / spec.file)
            if not f.exists():
                problems.append(Problem(path, f"layers.{name}.file",
                                        f"file not found: {f}",
                                        "correct the path (relative to area.yaml) or add the file"))
        if problems:
            raise InputError(problems)
        require_memory(
            grid.size * read_bytes_per_cell(path.parent / manifest.layers[
                manifest.current_use].file, path.parent / manifest.layers[manifest.regions].file),
            f"reading the land-use and region layers of a grid of {grid.width:,} x "
            f"{grid.height:,} = {grid.size:,} cells", path, "grid",
            "use a coarser resolution or a smaller extent (the grid in area.yaml), or a "
            "machine with more memory")

        area = cls(path=path, manifest=manifest, grid=grid, catalogue=catalogue,
                   current_use=np.zeros((0, 0), np.uint8), land=np.zeros((0, 0), bool))
        lu_layer = area.layer(manifest.current_use)
        area.current_use, area.land = area._reclassify_current_use(lu_layer)
        regions = area.layer(manifest.regions)
        area._apply_uncovered(regions, uncovered or manifest.layers[manifest.regions].uncovered)
        return area

    def _apply_uncovered(self, regions: Layer, policy: str) -> None:
        """Handle the land cells no region covers (see :mod:`ruimteverdeling.area.coverage`)."""
        missing = self.land & (regions.data <= 0)
        if not missing.any():
            return
        name = self.manifest.regions
        field_ = f"layers.{name}"
        unc = find_uncovered(regions.data, self.land, self.grid, regions.categories or {})
        if unc is None:
            raise InputError.single(
                self.path, field_,
                f"the region layer ({regions.spec.file}) covers no cell of the study grid, so "
                f"none of the {int(self.land.sum()):,} land cells has a region",
                "check the file's CRS and extent (`ruimteverdeling validate` names coordinates "
                "that cannot be what they are read as); or set `crs:` on the layer")
        if policy == "keep":
            self.uncovered = unc
            return
        if policy == "error":
            raise InputError.single(
                self.path, field_, "the region layer does not cover the study area: "
                + unc.describe(),
                f"set `uncovered: nearest` on layers.{name} in area.yaml to assign them to the "
                "nearest region, or `uncovered: outside` to leave them out of the study area "
                "(lakes and the Wadden Sea outside province polygons are the usual case); "
                f"`ruimteverdeling area uncovered {self.path}` writes them to a GeoPackage to "
                "look at; or extend the region polygons/raster")
        self.uncovered = unc
        if policy == "nearest":
            data = regions.data.copy()
            data[missing] = unc.nearest[missing]
            regions.data = data
            what = "were assigned to the nearest region (`uncovered: nearest`)"
        else:
            self.land = self.land & ~missing
            self.current_use = np.where(missing, 0, self.current_use).astype(np.uint8)
            what = "were left out of the study area (`uncovered: outside`)"
        text = unc.describe().replace(" have no region;", f" had no region and {what};", 1)
        self.notes.append(Problem(self.path, field_, text))
        warnings.warn(f"{self.path}: {field_}: {text}", LayerWarning, stacklevel=3)

    def _reclassify_current_use(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
        spec = layer.spec
        data = layer.data
        cats = spec.categories
        file = self.path
        field_ = f"layers.{self.manifest.current_use}"
        if not cats:
            raise InputError.single(file, f"{field_}.categories",
                                    "the current land-use layer must map its codes to use ids",
                                    "add `categories: {1: housing, 2: nature, ...}`")
        problems = []
        mapping: dict[int, int] = {}
        for code, use_id in cats.items():
            if use_id == OUTSIDE and code > 0:
                mapping[int(code)] = 0  # a class that is not part of the study area
                continue
            if use_id not in self.catalogue:
                problems.append(Problem(file, f"{field_}.categories.{code}",
                                        f"unknown use '{use_id}'",
                                        did_you_mean(use_id, [*self.catalogue.ids, OUTSIDE])))
                continue
            if code <= 0:
                problems.append(Problem(file, f"{field_}.categories.{code}",
                                        "code 0 and negative codes mean 'outside the study area'",
                                        "use positive codes for land uses"))
                continue
            mapping[int(code)] = self.catalogue[use_id].code
        if problems:
            raise InputError(problems)
        valid = data > 0
        present, inverse = np.unique(data[valid], return_inverse=True)
        unknown = [int(c) for c in present if int(c) not in mapping]
        if unknown:
            counts = {c: int((data == c).sum()) for c in unknown[:10]}
            raise InputError.single(
                file, f"{field_}.categories",
                f"the land-use raster has codes that are not mapped: {counts} (code: cells)",
                "map every code to a use id under `categories:`, or set those cells to 0 "
                "(outside the study area)")
        lut = np.array([mapping[int(c)] for c in present], np.uint8)
        codes = np.zeros(data.shape, np.uint8)
        codes[valid] = lut[inverse]
        land = codes > 0
        if not land.any():
            raise InputError.single(file, field_, "the study area has no land cells",
                                    "check the land-use layer (all cells are 0, nodata or "
                                    f"'{OUTSIDE}'), its CRS and its extent")
        return codes, land

    # -- layers --------------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        return [*self.manifest.layers, CURRENT_USE]

    def has_layer(self, name: str) -> bool:
        return name in self.manifest.layers or name == CURRENT_USE

    def layer(self, name: str) -> Layer:
        """The layer ``name`` on the study grid (read on first use).

        ``current_use`` is a virtual layer: today's land use as catalogue codes, with the use
        ids as category names (whatever codes the land-use file itself uses).
        """
        if name == CURRENT_USE and name not in self.manifest.layers:
            if name not in self._layers:
                spec = LayerSpec(file="<current land use>", kind="categorical",
                                 description="current land use by use id (virtual layer)")
                cats = {u.code: u.id for u in self.catalogue}
                self._layers[name] = Layer(name, spec, self.current_use, cats)
            return self._layers[name]
        if name not in self.manifest.layers:
            raise InputError.single(self.path, "layers", f"unknown layer '{name}'",
                                    did_you_mean(name, self.manifest.layers))
        if name not in self._layers:
            spec = self.manifest.layers[name]
            self._layers[name] = _read_layer(self, name, spec)
        return self._layers[name]

    @property
    def regions(self) -> Layer:
        return self.layer(self.manifest.regions)

    def region_names(self, layer: str | None = None) -> dict[int, str]:
        """Region id -> name for a regions layer (the default region layer if None)."""
        lay = self.layer(layer or self.manifest.regions)
        key = (id(lay), id(lay.data), id(self.land))
        hit = self._region_ids.get(key)
        if hit is None or hit[0] is not lay or hit[1] is not lay.data or hit[2] is not self.land:
            # once per layer: every target and fairness rule of a model asks again
            ids = np.unique(lay.data[self.land & (lay.data > 0)])
            hit = self._region_ids[key] = (lay, lay.data, self.land, [int(i) for i in ids])
        cats = lay.categories or {}
        return {i: cats.get(i, str(i)) for i in hit[3]}

    def layer_coverage(self, name: str) -> LayerCoverage:
        """How much of the study area layer ``name`` covers (see
        :mod:`ruimteverdeling.area.coverage`): a mask with ``empty`` set is one that no land
        cell is inside of."""
        lay = self.layer(name)
        return coverage_of(name, lay.kind, lay.data, self.land, lay.features,
                           lay.features_on_grid)

    @property
    def cell_area_ha(self) -> float:
        return self.grid.cell_area_ha

    @property
    def land_area_ha(self) -> float:
        return float(self.land.sum()) * self.grid.cell_area_ha

    def without_data(self, names: list[str] | set[str]) -> list[Problem]:
        """A problem for each layer of ``names`` that holds no value at all inside the study
        area (every land cell NaN or nodata): a rule or target on it would act nowhere.
        Layers that cannot be read are left to the reader's own error."""
        problems = []
        n_land = int(self.land.sum())
        for name in sorted(names):
            if name == CURRENT_USE or name not in self.manifest.layers:
                continue
            try:
                layer = self.layer(name)
            except InputError:
                continue
            if n_land and layer.land_missing == n_land:
                file = self.path.parent / layer.spec.file
                problems.append(Problem(
                    self.path, f"layers.{name}",
                    f"{layer.spec.file} has no value anywhere inside the study area (all "
                    f"{n_land:,} land cells are nodata or NaN), so what the scenario asks of "
                    f"layer '{name}' would apply nowhere",
                    f"use a file with values inside the study area, or check its nodata value "
                    f"and extent (gdalinfo {file})"))
        return problems

    def check_layers(self) -> list[Problem]:
        """Read every layer of the manifest; return the problems (all of them)."""
        problems: list[Problem] = []
        for name in self.manifest.layers:
            if name == CURRENT_USE:
                continue
            try:
                self.layer(name)
            except InputError as exc:
                problems += exc.problems
        return problems

    def file_hashes(self) -> dict[str, str]:
        """sha256 of area.yaml and every layer file (for the run manifest)."""
        if not self._hashes:
            files = {"area.yaml": self.path}
            for name, spec in self.manifest.layers.items():
                files[name] = self.path.parent / spec.file
            seen: dict[Path, str] = {}
            for key, f in files.items():
                f = f.resolve()
                if f not in seen:
                    seen[f] = sha256_file(f)
                self._hashes[key] = seen[f]
        return dict(self._hashes)


def read_bytes_per_cell(landuse_file: Path, regions_file: Path) -> float:
    """Peak bytes per grid cell of :meth:`StudyArea.load`, from the arrays it makes.

    The land use as stored (item size ``a``), its non-zero mask and values (``1 + a``),
    ``np.unique``'s sorted copy, sort order and inverse (``a + 16``), the codes, land mask and
    lookup result (3); the regions as stored (``b``) and as int32 (4) with two masks (2):
    ``2a + (a + 16) + 4 + b + 6``. Temporaries of rasterio and numpy add about 40 %:
    measured 45 B per cell on a 3.4 M-cell grid (uint8 land use, regions from a GeoPackage),
    where the sum gives 33. Unreadable headers count as 4-byte values (their read fails
    with its own error).
    """
    def itemsize(file: Path) -> int:
        if file_format(file) != RASTER:
            return 4  # rasterised as int32
        try:
            import rasterio

            with rasterio.open(file) as src:
                return int(np.dtype(src.dtypes[0]).itemsize)
        except Exception:  # any failure to read the header is reported by the read itself
            return 4

    a, b = itemsize(landuse_file), itemsize(regions_file)
    return 1.4 * (2 * a + (a + 16) + 4 + b + 6)


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _check_crs_string(file: Path, crs: str) -> None:
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        c = CRS.from_user_input(crs)
    except CRSError:
        raise InputError.single(file, "grid.crs", f"unknown CRS '{crs}'",
                                "use an EPSG code such as EPSG:28992 (RD New)") from None
    if not c.is_projected:
        raise InputError.single(file, "grid.crs", f"CRS '{crs}' is not projected (metres)",
                                "use a projected CRS such as EPSG:28992 (RD New)")


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
def _read_layer(area: StudyArea, name: str, spec: LayerSpec) -> Layer:
    file = (area.path.parent / spec.file).resolve()
    if file_format(file) != RASTER:
        return _read_vector(area, name, spec, file)
    return _read_raster(area, name, spec, file)


def _read_raster(area: StudyArea, name: str, spec: LayerSpec, file: Path) -> Layer:
    """Read a raster layer onto the study grid; any GDAL error while reading is an
    InputError naming the layer and the file."""
    import rasterio
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError, RasterioIOError

    field_ = f"layers.{name}"
    try:
        src = rasterio.open(file)
    except RasterioIOError as exc:
        raise InputError.single(area.path, f"{field_}.file",
                                f"cannot read raster {file}: {exc}",
                                "check that the file is a complete GeoTIFF (`gdalinfo` shows "
                                "what GDAL sees); vector layers are GeoPackage, Shapefile, "
                                "GeoJSON, TopoJSON or a CSV of points") from None
    try:
        return _read_open_raster(area, name, spec, file, src)
    except (RasterioError, CPLE_BaseError, OSError) as exc:  # a damaged file: the header
        # opened, a block did not (a truncated copy, a disk error)
        detail = exc.__cause__ or exc.__context__ or exc  # GDAL's own message
        raise InputError.single(
            area.path, f"{field_}.file",
            f"cannot read the data of layer '{name}' from {file}: {detail}",
            "the file is damaged or incomplete (an interrupted copy or download?): copy or "
            f"export it again; `gdalinfo -checksum {file}` reads every block and shows where "
            "it fails") from None


def _read_open_raster(area: StudyArea, name: str, spec: LayerSpec, file: Path,
                      src: Any) -> Layer:
    from rasterio.crs import CRS

    grid = area.grid
    field_ = f"layers.{name}"
    with src:
        src_crs = CRS.from_user_input(spec.crs) if spec.crs is not None else src.crs
        if src_crs is None:
            raise InputError.single(
                area.path, f"{field_}.crs", f"{file.name} has no CRS",
                f"add `crs: {grid.crs}` to the layer in area.yaml when the raster is on "
                f"{grid.crs} (or assign it to the file: gdal_edit.py -a_srs {grid.crs} "
                f"{file.name})")
        origin = "the layer's `crs:`" if spec.crs is not None else "the file"
        check_bounds(tuple(src.bounds), src_crs, origin, file, area.path, f"{field_}.crs")
        same_crs = src_crs == CRS.from_user_input(grid.crs)
        aligned = (
            same_crs
            and src.width == grid.width
            and src.height == grid.height
            and np.allclose(tuple(src.transform)[:6], tuple(grid.transform)[:6], atol=1e-6)
        )
        nodata = src.nodata
        if aligned:
            data = src.read(1)
        else:
            if not same_crs and spec.resampling is None:
                raise InputError.single(
                    area.path, f"{field_}.file",
                    f"{file.name} is in {src_crs.to_string()}, the study area in {grid.crs}",
                    f"reproject it to {grid.crs} (gdalwarp -t_srs {grid.crs}), or set "
                    "`resampling: nearest|bilinear|...` on the layer to let the engine do it")
            if same_crs:
                _check_covers(area, name, file, src.bounds)
            data, nodata, method = _resample(area, spec, src, src_crs)
            if not same_crs:
                missing = area.land & (np.isnan(data) if spec.kind == "continuous" else False)
                if np.any(missing):
                    raise InputError.single(
                        area.path, f"{field_}.file",
                        f"{file.name} does not cover the study area after reprojection "
                        f"({int(np.sum(missing)):,} land cells without data)",
                        "use a raster that covers the whole study-area extent")
            warnings.warn(
                f"layer '{name}' ({file.name}) is not on the study grid; "
                f"{'reprojected' if not same_crs else 'resampled'} with '{method}'",
                LayerWarning, stacklevel=3)
    if spec.kind in ("categorical", "regions") and np.issubdtype(data.dtype, np.floating):
        vals = data[np.isfinite(data)]
        if nodata is not None:
            vals = vals[vals != nodata]
        if vals.size and np.any(vals != np.rint(vals)):
            raise InputError.single(
                area.path, f"layers.{name}.file",
                f"{file.name} holds fractional values (e.g. {vals[vals != np.rint(vals)][0]:g})"
                f" but a {spec.kind} layer needs integer codes",
                "write the layer with integer codes, or declare it `kind: continuous`")
    if spec.kind == "distance":
        return Layer(name, spec, _raster_distance(area, name, file, data, nodata))
    return Layer(name, spec, _clean(data, spec, nodata), spec.categories,
                 _land_missing(area, data, nodata))


def _resample(area: StudyArea, spec: LayerSpec, src: Any, src_crs: Any
              ) -> tuple[np.ndarray, float | None, str]:
    """The raster's band 1 on the study grid; returns the data, its nodata and the method.

    ``mode`` on a class layer keeps the area with data (see the module docstring): the class
    is GDAL's mode over the source cells with data, and a cell is outside where less than half
    of it (exactly half: on odd ``row + column``) holds data — the share being the average of
    the source's 0/1 data mask."""
    import rasterio
    from rasterio.warp import Resampling, reproject

    grid = area.grid
    method = spec.resampling or (
        "bilinear" if spec.kind == "continuous" else "max" if spec.kind == "distance"
        else "nearest")
    dtype = np.float32 if spec.kind == "continuous" else src.dtypes[0]
    fill = np.nan if spec.kind == "continuous" else 0
    data = np.full(grid.shape, fill, dtype=dtype)
    nodata = src.nodata
    classes = spec.kind in ("categorical", "regions", "mask") and method == "mode"
    if classes:
        require_memory(
            src.width * src.height * (2 * np.dtype(src.dtypes[0]).itemsize + 2),
            f"resampling layer '{spec.file}' ({src.width:,} x {src.height:,} cells) with "
            "`resampling: mode`", area.path, "layers",
            "aggregate the raster to a cell size nearer the study grid's first (gdalwarp -tr "
            f"{grid.resolution:g} {grid.resolution:g} -r mode), or use a machine with more "
            "memory")
        band = src.read(1)
        if nodata is not None and not np.isnan(nodata):
            no_class = band == nodata
        elif band.dtype.kind == "f":
            no_class = np.isnan(band)
        else:
            no_class = np.zeros(band.shape, bool)
        no_class |= band == 0  # 0 is "no class" for the engine
        has_class = (~no_class).view(np.uint8)
        del no_class
        reproject(source=band, destination=data, src_transform=src.transform,
                  src_crs=src_crs, src_nodata=nodata if nodata is not None else 0,
                  dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=fill,
                  resampling=Resampling.mode)
        share = np.zeros(grid.shape, np.float32)
        reproject(source=has_class, destination=share,
                  src_transform=src.transform, src_crs=src_crs, dst_transform=grid.transform,
                  dst_crs=grid.crs, resampling=Resampling.average)
        rows, cols = np.indices(grid.shape)
        inside = (share > 0.5 + 1e-6) | ((np.abs(share - 0.5) <= 1e-6) & ((rows + cols) % 2 == 0))
        data[~inside] = fill
    else:
        reproject(
            source=rasterio.band(src, 1), destination=data,
            src_transform=src.transform, src_crs=src_crs, src_nodata=nodata,
            dst_transform=grid.transform, dst_crs=grid.crs, dst_nodata=fill,
            resampling=getattr(Resampling, method),
        )
    return data, fill, method


def _raster_distance(area: StudyArea, name: str, file: Path, data: np.ndarray,
                     nodata: float | None) -> np.ndarray:
    """Distance in metres from each cell centre to the nearest non-zero cell (module
    docstring); a raster that already holds distances is refused with the fix."""
    from scipy.ndimage import distance_transform_edt

    field_ = f"layers.{name}"
    has = np.isfinite(data) if data.dtype.kind == "f" else np.ones(data.shape, bool)
    if nodata is not None and not np.isnan(nodata):
        has &= data != nodata
    feature = has & (data != 0)
    vals = data[feature]
    looks_measured = vals.size and (
        (data.dtype.kind == "f" and np.any(vals != np.rint(vals)))
        or (feature.sum() > 0.5 * feature.size and np.unique(vals[:100_000]).size > 2))
    if looks_measured:
        raise InputError.single(
            area.path, f"{field_}.kind",
            f"{file.name} holds measured values ({float(vals.min()):,.4g} … "
            f"{float(vals.max()):,.4g}) in {int(feature.sum()):,} cells; a `kind: distance` "
            "raster holds features (non-zero cells) whose distance the engine computes",
            "if the raster already holds distances in metres, declare `kind: continuous` with "
            "`unit: m`; otherwise write the features as 1 and everything else as 0")
    if not feature.any():
        raise InputError.single(
            area.path, field_,
            f"{file.name} has no non-zero cell on the study grid, so there is nothing to "
            "measure distances to",
            "check the file (features are non-zero cells), its extent and its nodata value")
    return (distance_transform_edt(~feature) * area.grid.resolution).astype(np.float32)


def _land_missing(area: StudyArea, data: np.ndarray, nodata: float | None) -> int | None:
    """Land cells of ``data`` (as read, before cleaning) that hold no value: NaN, or the
    declared nodata value — except 0 in an integer layer, which is "no class" for the engine
    too. None while the land mask is not known yet (the land-use and region layers)."""
    if area.land.shape != data.shape:
        return None
    values = data[area.land]
    missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
    if nodata is not None and not np.isnan(nodata) and \
            not (nodata == 0 and values.dtype.kind in "iub"):
        missing |= values == nodata
    return int(missing.sum())


def _clean(data: np.ndarray, spec: LayerSpec, nodata: float | None) -> np.ndarray:
    """Continuous layers as float32 with NaN for nodata; others as integers with 0 for nodata."""
    if spec.kind == "continuous":
        out = data.astype(np.float32, copy=False)
        if nodata is not None and not np.isnan(nodata):
            out = np.where(data == nodata, np.float32(np.nan), out).astype(np.float32)
        return out
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        data = np.where(data == nodata, 0, data)
    if np.issubdtype(data.dtype, np.floating):
        data = np.nan_to_num(data, nan=0.0)
        data = np.rint(data)
    if spec.kind == "mask":
        return (data != 0).astype(np.uint8)
    if spec.kind == "regions" or data.dtype.kind not in "iu":
        return data.astype(np.int32)
    return data


def _check_covers(area: StudyArea, name: str, file: Path, bounds) -> None:
    g = area.grid
    tol = g.resolution * 0.5
    left, bottom, right, top = bounds
    if left > g.left + tol or right < g.right - tol or bottom > g.bottom + tol or top < g.top - tol:
        raise InputError.single(
            area.path, f"layers.{name}.file",
            f"{file.name} covers ({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}) but the "
            f"study area is ({g.left:.0f}, {g.bottom:.0f}, {g.right:.0f}, {g.top:.0f})",
            "use a raster whose extent covers the study grid in area.yaml")


def _read_vector(area: StudyArea, name: str, spec: LayerSpec, file: Path) -> Layer:
    """Read a vector, TopoJSON or CSV layer, check its coordinates and rasterise it."""
    from rasterio.features import rasterize
    from shapely import box

    grid = area.grid
    field_ = f"layers.{name}"
    feats = read_features(file, spec, area.path, field_, grid.crs)
    gdf = feats.gdf
    if gdf.crs is None:
        raise InputError.single(area.path, f"{field_}.crs", f"{file.name} has no CRS",
                                f"add `crs: {grid.crs}` to the layer in area.yaml when its "
                                "coordinates are RD New metres (EPSG:4326 for "
                                "longitude/latitude)")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty:
        raise InputError.single(area.path, f"{field_}.file", f"{file.name} has no features",
                                "use a layer with at least one feature")
    feats.gdf = gdf
    check_coordinates(feats, file, area.path, f"{field_}.crs")
    source = gdf
    if gdf.crs != grid.crs:
        warnings.warn(f"layer '{name}' ({file.name}) reprojected from {gdf.crs} to {grid.crs}",
                      LayerWarning, stacklevel=3)
        gdf = gdf.to_crs(grid.crs)
    hits = gdf.sindex.query(box(*grid.bounds), predicate="intersects")
    on_grid = int(np.unique(hits).size)
    if on_grid == 0 and swapped_axes(source, grid.bounds, grid.crs):
        raise InputError(problem_for_swapped(file, area.path, f"{field_}.crs"))
    counts = {"features": len(gdf), "features_on_grid": on_grid}
    categories = spec.categories
    if spec.kind == "distance":
        data = _distance_to_features(grid, gdf)
        return Layer(name, spec, data, categories, **counts)
    if spec.kind in ("regions", "categorical"):
        columns = [c for c in gdf.columns if c != gdf.geometry.name]
        if spec.attribute is None and spec.name_attribute and spec.kind == "regions":
            if spec.name_attribute not in gdf.columns:
                raise InputError.single(
                    area.path, f"{field_}.name_attribute",
                    f"attribute '{spec.name_attribute}' not in {file.name}",
                    did_you_mean(spec.name_attribute, columns))
            names = gdf[spec.name_attribute].astype(str)
            ids = {n: i + 1 for i, n in enumerate(sorted(set(names)))}
            values = names.map(ids).to_numpy(dtype=np.int64)
            categories = {i: n for n, i in ids.items()}
        else:
            if not spec.attribute or spec.attribute not in gdf.columns:
                fix = did_you_mean(str(spec.attribute), columns)
                if spec.kind == "regions":
                    fix += ("; or leave `attribute:` out and set `name_attribute:` to number "
                            "the regions 1, 2, ... by name")
                raise InputError.single(area.path, f"{field_}.attribute",
                                        f"attribute '{spec.attribute}' not in {file.name}", fix)
            values = _positive_integers(gdf[spec.attribute])
            if values is None:
                shown = ", ".join(map(repr, gdf[spec.attribute].head(3).tolist()))
                raise InputError.single(
                    area.path, f"{field_}.attribute",
                    f"attribute '{spec.attribute}' must hold positive integers (found "
                    f"{shown} ...)",
                    "number the regions/classes 1, 2, 3, ..." + (
                        "; or leave `attribute:` out and set `name_attribute:` to number the "
                        "regions by name" if spec.kind == "regions" else ""))
            if spec.name_attribute:
                if spec.name_attribute not in gdf.columns:
                    raise InputError.single(
                        area.path, f"{field_}.name_attribute",
                        f"attribute '{spec.name_attribute}' not in {file.name}",
                        did_you_mean(spec.name_attribute, columns))
                categories = {int(v): str(n) for v, n in
                              zip(values, gdf[spec.name_attribute], strict=True)}
        data = rasterize(
            ((geom, int(v)) for geom, v in zip(gdf.geometry, values, strict=True)),
            out_shape=grid.shape, transform=grid.transform, fill=0, dtype=np.int32)
    elif spec.kind == "mask":
        data = rasterize(((geom, 1) for geom in gdf.geometry), out_shape=grid.shape,
                         transform=grid.transform, fill=0, dtype=np.uint8)
    else:  # continuous from vector
        if not spec.attribute or spec.attribute not in gdf.columns:
            raise InputError.single(area.path, f"{field_}.attribute",
                                    "a continuous vector layer needs a numeric `attribute`",
                                    "name the attribute to burn in")
        data = rasterize(
            ((g, float(v)) for g, v in zip(gdf.geometry, gdf[spec.attribute], strict=True)),
            out_shape=grid.shape, transform=grid.transform, fill=np.nan, dtype=np.float32)
        return Layer(name, spec, data, categories, _land_missing(area, data, None), **counts)
    return Layer(name, spec, data, categories, **counts)


def _positive_integers(column: Any) -> np.ndarray | None:
    """The column as int64 when every value is a positive whole number (also numbers written
    as text, as CSV and some GeoJSON files hold them), else None."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    if not values.size or not np.all(np.isfinite(values)) or np.any(values <= 0) or \
            np.any(values != np.rint(values)):
        return None
    return values.astype(np.int64)


def _distance_to_features(grid: Grid, gdf) -> np.ndarray:
    """Distance (m) from each cell centre to the nearest feature.

    Points: exact Euclidean distance from the cell centre to the nearest point (k-d tree).
    Lines and polygons: the features are burnt in (all touched cells) and the Euclidean
    distance transform gives centre-to-centre distances, exact to within one cell.
    """
    from rasterio.features import rasterize
    from scipy.ndimage import distance_transform_edt
    from scipy.spatial import cKDTree

    geoms = gdf.geometry
    if (geoms.geom_type == "Point").all():
        pts = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
        tree = cKDTree(pts)
        out = np.empty(grid.size, np.float32)
        step = 1 << 21
        for start in range(0, grid.size, step):
            idx = np.arange(start, min(start + step, grid.size))
            x, y = grid.centres(idx)
            d, _ = tree.query(np.column_stack([x, y]), workers=-1)
            out[start:start + idx.size] = d
        return out.reshape(grid.shape)
    burnt = rasterize(((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform,
                      fill=0, dtype=np.uint8, all_touched=True)
    if not burnt.any():
        # features outside the grid: fall back to exact distances to their vertices
        import shapely

        coords = shapely.get_coordinates(geoms.to_numpy())
        tree = cKDTree(coords)
        x, y = grid.centres()
        d, _ = tree.query(np.column_stack([x, y]))
        return d.astype(np.float32).reshape(grid.shape)
    return (distance_transform_edt(burnt == 0) * grid.resolution).astype(np.float32)
