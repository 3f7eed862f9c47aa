"""``ruimteverdeling area init``: a starter ``area.yaml`` from the files a planner has.

Each file (every layer of a GeoPackage) is inspected — its name, attribute columns, geometry
type, CRS and extent, and for land use its codes — and matched against the layers of
``data/sources.yaml``:

* **current land use** by its codes: a raster whose values, or a vector attribute named like
  ``bg2017``/``lgn`` whose values, all belong to the CBS Bestand Bodemgebruik or the LGN code
  list (:func:`ruimteverdeling.area.codelists.detect`); its ``categories:`` come from that list;
* **provinces** (the regions layer) and **municipalities** by a name column (``statnaam``,
  ``naam``, ``provincienaam``, ``gemeentenaam`` ...) and by their names: at most twelve
  features of which at least one is a province name are provinces; more are municipalities;
* every other layer by words in the file or layer name (``natura2000``, ``ahn``, ``liwo`` ...),
  attribute columns (``naam_n2k``, ``stationcode`` ...) and geometry (stations are points,
  railways lines), scored; each layer takes the best-scoring file, each file fills one layer.

The grid is EPSG:28992 at ``--resolution`` metres over the regions layer's extent (or
``--extent``, or the land use's), its edges moved outward to whole multiples of the resolution
— whole metres — so grids of different runs line up. A layer whose coordinates cannot be what
its file says (RD New metres in a GeoJSON without ``crs``) gets an explicit ``crs:``, with a
comment, so nothing is guessed silently.

The file starts with a line ``# written by ruimteverdeling area init <version>; sha256 <h>``,
``h`` the hash of the rest of the file. ``area init`` replaces an existing file only when that
line is there and the rest is unchanged; a user's own ``area.yaml``, or one edited since, is
never replaced.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import yaml

from ruimteverdeling import __version__
from ruimteverdeling.area import readers
from ruimteverdeling.area.codelists import CodeList, Source, codelist, detect, sources
from ruimteverdeling.area.manifest import MAX_GRID_CELLS
from ruimteverdeling.errors import InputError

WRITER = "ruimteverdeling area init"
_HEADER = re.compile(r"^# written by ruimteverdeling area init (\S+); sha256 ([0-9a-f]{64})$")
GRID_CRS = readers.RD_NEW
SIDECARS = {".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".qml", ".aux",
            ".ovr", ".lock", ".md", ".pdf", ".yaml", ".yml", ".zip"}
PROVINCES = {"groningen", "fryslân", "friesland", "drenthe", "overijssel", "flevoland",
             "gelderland", "utrecht", "noord-holland", "zuid-holland", "zeeland",
             "noord-brabant", "limburg"}
MIN_SCORE = 2


@dataclass
class Candidate:
    """One inspected file (or one layer of it)."""

    file: Path
    layer: str | None
    raster: bool
    columns: list[str] = field(default_factory=list)
    geometry: str | None = None  # point | line | polygon | raster
    features: int = 0
    bounds: tuple[float, float, float, float] | None = None  # in EPSG:28992
    crs: str | None = None
    crs_note: str | None = None
    codelist: CodeList | None = None
    code_column: str | None = None
    names: list[str] = field(default_factory=list)  # values of a name column (regions)
    resolution: float | None = None

    @property
    def label(self) -> str:
        return self.file.name + (f" (layer {self.layer})" if self.layer else "")

    @property
    def text(self) -> str:
        return f"{self.file.stem} {self.layer or ''}".lower()


@dataclass
class Found:
    """A layer filled from a file."""

    layer: str
    candidate: Candidate
    spec: dict[str, Any]
    why: str


@dataclass
class InitResult:
    """What ``area init`` wrote and what it could not fill."""

    path: Path
    grid: dict[str, Any]
    grid_from: str
    filled: list[Found]
    missing: list[Source]
    unrecognised: list[tuple[Path, str]]
    replaced: bool


# ---------------------------------------------------------------------------------------------
# inspecting files
# ---------------------------------------------------------------------------------------------
def candidate_files(folder: Path) -> list[Path]:
    """The data files in ``folder`` (not its sub-folders; no sidecars, hidden or YAML files)."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.suffix.lower() in SIDECARS:
            continue
        if p.name.endswith(".aux.xml"):
            continue
        out.append(p)
    return out


def inspect(file: Path) -> list[Candidate]:
    """One candidate per raster or vector layer of ``file`` (empty when unreadable)."""
    fmt = readers.file_format(file)
    if fmt == readers.RASTER:
        c = _inspect_raster(file)
        return [c] if c is not None else []
    if fmt == readers.VECTOR:
        try:
            import pyogrio

            names = [str(n) for n, _ in pyogrio.list_layers(file)]
        except Exception:  # unreadable: reported as not recognised
            return []
        return [c for n in names if (c := _inspect_vector(file, n if len(names) > 1 else None))]
    c = _inspect_vector(file, None)
    return [c] if c is not None else []


def _inspect_raster(file: Path) -> Candidate | None:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.warp import transform_bounds

    try:
        with rasterio.open(file) as src:
            crs = src.crs.to_string() if src.crs else None
            bounds = tuple(src.bounds)
            c = Candidate(file, None, True, geometry="raster", crs=crs,
                          resolution=float(abs(src.res[0])))
            if crs is None:
                guess = readers.looks_like(bounds)
                if guess is not None:
                    c.crs = guess[1]
                    c.crs_note = f"the file has no CRS; its coordinates look like {guess[0]}"
            if c.crs is not None:
                c.bounds = tuple(transform_bounds(c.crs, GRID_CRS, *bounds))
            if np.dtype(src.dtypes[0]).kind in "iu":
                h, w = min(src.height, 1024), min(src.width, 1024)
                sample = src.read(1, out_shape=(h, w), resampling=Resampling.nearest)
                vals = np.unique(sample)
                if src.nodata is not None:
                    vals = vals[vals != src.nodata]
                c.codelist = detect(vals.tolist(), c.text)
            return c
    except Exception:  # unreadable: reported as not recognised
        return None


def _inspect_vector(file: Path, layer: str | None) -> Candidate | None:
    spec = SimpleNamespace(layer=layer, crs=None, columns=None, kind="distance")
    try:
        feats = readers.read_features(file, spec, file, "file", GRID_CRS)
    except InputError:
        return None
    gdf = feats.gdf
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    c = Candidate(file, layer, False, columns=cols, features=len(gdf))
    kinds = set(gdf.geometry.geom_type.str.replace("Multi", "").str.lower())
    c.geometry = ("point" if kinds == {"point"} else "line" if kinds == {"linestring"}
                  else "polygon" if kinds == {"polygon"} else None)
    if gdf.empty:
        return c
    bounds = tuple(float(v) for v in gdf.total_bounds)
    crs = gdf.crs
    if crs is None or (crs.is_geographic and max(abs(v) for v in bounds) > 180):
        guess = readers.looks_like(bounds)
        if guess is None:
            return c
        crs = guess[1]
        gdf = gdf.set_crs(crs, allow_override=True)
        c.crs_note = (f"the file does not say its CRS (or says longitude/latitude), but its "
                      f"coordinates look like {guess[0]}")
        c.crs = crs
    else:
        c.crs = crs.to_string()
    c.bounds = tuple(float(v) for v in gdf.to_crs(GRID_CRS).total_bounds)
    for col in cols:  # a land-use code column
        for lid in ("bbg", "lgn"):
            cl = codelist(lid)
            if cl.matches_column(col):
                vals = readers.to_numbers(gdf[col].astype(str))
                vals = vals[np.isfinite(vals)]
                if vals.size and np.all(vals == np.rint(vals)):
                    found = detect(np.unique(vals).astype(int).tolist(), f"{col} {c.text}")
                    if found is not None:
                        c.codelist, c.code_column = found, col
        if c.codelist is not None:
            break
    low = {x.lower(): x for x in cols}
    for key in ("provincienaam", "gemeentenaam", "statnaam", "naam", "name", "provincie"):
        if key in low:
            c.names = [str(v) for v in gdf[low[key]].tolist()]
            break
    return c


# ---------------------------------------------------------------------------------------------
# recognising
# ---------------------------------------------------------------------------------------------
def _fits(src: Source, c: Candidate) -> bool:
    want = src.geometry
    if want == "raster":
        return c.raster
    if want in ("point", "line", "polygon"):
        return c.geometry == want or (want == "polygon" and c.raster and src.kind == "mask")
    if src.kind == "distance":
        return True
    if src.kind in ("mask", "regions", "categorical"):
        return c.raster or c.geometry == "polygon"
    return c.raster  # continuous


def score(src: Source, c: Candidate) -> tuple[int, str]:
    """How well candidate ``c`` fits layer ``src`` (0: not at all) and why."""
    if src.codelists:
        if c.codelist is not None and c.codelist.id in src.codelists:
            where = f"column '{c.code_column}'" if c.code_column else "its values"
            return 10, f"{c.codelist.title} codes in {where}"
        return 0, ""
    if not _fits(src, c):
        return 0, ""
    points, why = 0, []
    hits = [n for n in src.names if n in c.text]
    if hits:
        points += 2
        why.append(f"'{hits[0]}' in the name")
    cols = [x for x in c.columns if x.lower() in src.columns]
    if cols:
        points += 2
        why.append(f"column '{cols[0]}'")
    if src.kind == "regions" and c.names:
        provinces = sum(1 for n in c.names if n.strip().lower() in PROVINCES)
        municipal = any(x.lower() == "gemeentenaam" for x in c.columns) or any(
            str(n).upper().startswith("GM") for n in c.names[:1])
        if src.name == "regions":
            if provinces and len(set(c.names)) <= 12 and not municipal:
                points += 3
                why.append(f"{len(set(c.names))} province name(s)")
            else:
                points = 0
        elif src.name == "municipalities":
            if len(set(c.names)) > 12 or municipal:
                points += 3
                why.append(f"{len(set(c.names))} names")
            else:
                points = 0
    elif src.kind == "regions":
        points = 0
    return points, ", ".join(why)


def recognise(cands: list[Candidate]) -> tuple[dict[str, tuple[Candidate, str]],
                                                  list[Candidate]]:
    """Assign candidates to layers, best scores first; return the filled layers and the
    candidates left over."""
    table = sources()
    scored = []
    for i, c in enumerate(cands):
        for name, src in table.items():
            s, why = score(src, c)
            if s >= MIN_SCORE:
                scored.append((-s, i, name, why))
    scored.sort()
    filled: dict[str, tuple[Candidate, str]] = {}
    used: set[int] = set()
    for _, i, name, why in scored:
        if name in filled or i in used:
            continue
        filled[name] = (cands[i], why)
        used.add(i)
    return filled, [c for i, c in enumerate(cands) if i not in used]


def layer_spec(name: str, src: Source, c: Candidate, folder: Path, resolution: float
               ) -> dict[str, Any]:
    """The area.yaml entry of layer ``name`` read from candidate ``c``."""
    rel = os.path.relpath(c.file, folder)
    spec: dict[str, Any] = {"file": rel}
    if c.layer:
        spec["layer"] = c.layer
    spec["kind"] = src.kind
    if src.unit:
        spec["unit"] = src.unit
    if c.crs_note and c.crs:
        spec["crs"] = c.crs
    if c.codelist is not None and src.codelists:
        if c.code_column:
            spec["attribute"] = c.code_column
        spec["categories"] = _Flow(c.codelist.categories())
        spec["source"] = c.codelist.title
    elif src.kind == "regions":
        low = {x.lower(): x for x in c.columns}
        col = next((low[k] for k in src.columns if k in low), None)
        if col is not None:
            spec["name_attribute"] = col
        spec["uncovered"] = "error"
    if c.raster:
        different = c.crs != GRID_CRS or not math.isclose(c.resolution or 0.0, resolution)
        if src.kind in ("categorical", "regions") and different:
            spec["resampling"] = "mode"
        elif src.kind == "continuous":
            spec["resampling"] = "average"
        elif src.kind == "mask" and different:
            spec["resampling"] = "nearest"
        elif src.kind == "distance" and different:
            spec["resampling"] = "max"
    spec.setdefault("source", src.get[0].get("dataset") if src.get else None)
    spec["description"] = src.purpose
    return {k: v for k, v in spec.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# the grid
# ---------------------------------------------------------------------------------------------
def snap_grid(bounds: tuple[float, float, float, float], resolution: float,
              where: str = "--extent") -> dict[str, Any]:
    """The grid over ``bounds`` (EPSG:28992): edges moved outward to whole multiples of the
    resolution and to whole metres."""
    x0, y0, x1, y1 = bounds
    if not (x1 > x0 and y1 > y0) or not all(map(math.isfinite, bounds)):
        raise InputError.single(None, where, f"the extent {bounds} is empty or not finite",
                                "give XMIN,YMIN,XMAX,YMAX in RD New metres, XMIN < XMAX")
    tol = 0.01  # a centimetre: coordinates that went through longitude/latitude and back
    left = math.floor(math.floor((x0 + tol) / resolution) * resolution)
    top = math.ceil(math.ceil((y1 - tol) / resolution) * resolution)
    width = max(1, math.ceil((x1 - tol - left) / resolution))
    height = max(1, math.ceil((top - y0 - tol) / resolution))
    if width * height > MAX_GRID_CELLS:
        raise InputError.single(None, "--resolution",
                                f"{resolution:g} m cells over this extent make a grid of "
                                f"{width:,} x {height:,} cells, more than the {MAX_GRID_CELLS:,} "
                                "the engine accepts", "use a coarser --resolution")
    return {"crs": GRID_CRS, "width": int(width), "height": int(height),
            "resolution": float(resolution), "left": float(left), "top": float(top)}


def parse_extent(text: str) -> tuple[float, float, float, float]:
    """``XMIN,YMIN,XMAX,YMAX`` (RD New metres) as four numbers."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        vals = ()
    if len(vals) != 4:
        raise InputError.single(None, "--extent", f"'{text}' is not four numbers",
                                "give XMIN,YMIN,XMAX,YMAX in RD New metres, e.g. "
                                "--extent 120000,430000,170000,480000")
    return vals  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def replaceable(path: Path) -> bool:
    """Whether ``path`` is an area.yaml this command wrote and nobody edited since."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    first, _, body = text.partition("\n")
    m = _HEADER.match(first)
    return m is not None and hashlib.sha256(body.encode("utf-8")).hexdigest() == m.group(2)


def init_area(folder: str | Path, files: list[str | Path] | tuple[str | Path, ...] = (),
              resolution: float = 1000.0,
              extent: tuple[float, float, float, float] | None = None,
              out: str | Path | None = None) -> InitResult:
    """Write a starter area.yaml in ``folder`` from ``files`` (default: the files in it);
    see the module docstring."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError.single(folder, "DIR", "is a file, not a folder",
                                "give the folder to write area.yaml into")
    paths = [Path(f) for f in files]
    if not paths:
        if not folder.is_dir():
            raise InputError.single(folder, "DIR", "folder not found",
                                    "give the folder that holds your data files, or list them")
        paths = candidate_files(folder)
    missing_files = [p for p in paths if not p.exists()]
    if missing_files:
        raise InputError.single(missing_files[0], "FILES", "file not found",
                                "check the path")
    if not paths:
        raise InputError.single(folder, "DIR", "holds no data files",
                                "put the files you have in it (GeoPackage, Shapefile, GeoJSON, "
                                "TopoJSON, CSV, GeoTIFF) or list them after DIR")
    target = Path(out) if out is not None else folder / "area.yaml"
    if target.is_symlink() or target.is_dir() or (target.exists() and not replaceable(target)):
        raise InputError.single(
            target, None, f"exists and was not written by `{WRITER}` (or was edited since); it "
            "is left as it is", "move it aside, or write the starter to another file with "
            "--output area-init.yaml")
    replaced = target.exists()
    folder.mkdir(parents=True, exist_ok=True)

    cands, unrecognised = [], []
    for p in paths:
        found = inspect(p.resolve())
        if not found:
            unrecognised.append((p, "not readable as a raster or vector layer"))
        cands += found
    filled, left = recognise(cands)
    table = sources()
    unrecognised += [(c.file, f"{c.label}: matches no layer the scenarios use") for c in left]

    if extent is not None:
        grid, grid_from = snap_grid(extent, resolution), "--extent"
    else:
        base = filled.get("regions") or filled.get("landuse")
        if base is None or base[0].bounds is None:
            raise InputError.single(
                folder, "--extent", "no regions or land-use layer with a known CRS to take the "
                "grid's extent from", "give --extent XMIN,YMIN,XMAX,YMAX in RD New metres, or "
                "add the province polygons (PDOK Bestuurlijke Gebieden, provinciegebied)")
        key = "regions" if "regions" in filled else "landuse"
        grid = snap_grid(base[0].bounds, resolution, "--resolution")
        grid_from = f"the extent of layer '{key}' ({base[0].label})"
    base_dir = target.parent.resolve()
    found_layers = [Found(name, c, layer_spec(name, table[name], c, base_dir, resolution), why)
                    for name, (c, why) in filled.items()]
    order = list(table)
    found_layers.sort(key=lambda f: order.index(f.layer))
    missing = [s for name, s in table.items() if name not in filled]
    body = _render(folder, grid, grid_from, found_layers, missing)
    text = (f"# written by {WRITER} {__version__}; sha256 "
            f"{hashlib.sha256(body.encode('utf-8')).hexdigest()}\n{body}")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError.single(target, None, f"cannot write the file: {exc.strerror or exc}",
                                "give a folder you can write to") from None
    return InitResult(target, grid, grid_from, found_layers, missing, unrecognised, replaced)


def _render(folder: Path, grid: dict[str, Any], grid_from: str, found: list[Found],
            missing: list[Source]) -> str:
    def dump(obj: Any, indent: int) -> str:
        text = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96,
                         default_flow_style=False)
        return "".join(" " * indent + ln + "\n" for ln in text.splitlines())

    names = {f.layer for f in found}
    lines = [
        "# A starter study area: check each layer (the comment above it says what was found",
        "# and why), then run `ruimteverdeling validate SCENARIO --area <this file>`.",
        "# Replaced by the next `area init` only while this file is unchanged.",
        dump({"name": folder.resolve().name or "area"}, 0).rstrip("\n"),
        dump({"description": "starter written by `ruimteverdeling area init` from the files "
              "in this folder"}, 0).rstrip("\n"),
        f"# grid: EPSG:28992 over {grid_from}, edges on whole multiples of "
        f"{grid['resolution']:g} m",
        dump({"grid": _Flow(grid)}, 0).rstrip("\n"),
        "current_use: landuse",
        "regions: regions",
        "layers:",
    ]
    for f in found:
        lines.append(f"  # {f.layer}: from {f.candidate.label}, recognised by {f.why}")
        if f.candidate.crs_note:
            lines.append(f"  # crs: stated here because {f.candidate.crs_note}")
        if f.layer == "regions":
            lines.append("  # uncovered: error | nearest | outside -- what happens to land "
                         "cells no region covers")
        lines.append(dump({f.layer: f.spec}, 2).rstrip("\n"))
    lines.append(dump({"generator": {"name": WRITER, "version": __version__}}, 0).rstrip("\n"))
    if missing:
        lines.append("")
        lines.append("# Not found in the files given (add them to `layers:` when you have them):")
        for s in missing:
            req = " REQUIRED:" if s.required and s.name not in names else ""
            lines.append(f"#  {req} {s.name} (kind: {s.kind}"
                         f"{', unit: ' + s.unit if s.unit else ''}) -- {s.purpose}")
            lines.append(f"#     get it from: {s.where()}")
    return "\n".join(lines) + "\n"


class _Flow(dict):  # type: ignore[type-arg]
    """A mapping written on one line (`{10: infrastructure, 11: ...}`) in area.yaml."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))
