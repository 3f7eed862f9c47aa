"""Reading a solved run folder back: the one place that knows what a run folder holds.

A run folder (written by ``solve``) holds ``manifest.json`` (the run record: resolved scenario,
input hashes, versions, status, the list of ``outputs`` and ``complete: true`` once every output
is written), ``summary.json`` (the numbers), ``allocation.tif`` (the chosen use per cell) and
optionally ``pareto.csv`` and ``rule_costs.csv`` written by the analyses.

* :func:`read_manifest`, :func:`read_summary` — one JSON document, or InputError naming the
  folder, the file and the fix;
* :func:`complete_manifest` — the manifest when the folder holds a complete run (marked
  complete, every output it lists present), else None: the first half of a resume check;
* :func:`read_run_folder` — manifest, summary, allocation and its grid, checked;
* :func:`load_run_view` — all of it as a :class:`RunView` (with the study area, for the current
  land use and the indicators), what the report and the comparison work from;
* :func:`catalogue_from_resolved` — the use catalogue a run used, from its resolved scenario;
* :func:`read_pareto` — the front in ``pareto.csv`` with its two objective axes;
* :func:`read_rule_costs` — the rows of ``rule_costs.csv``.

**The ``pareto.csv`` contract.** One row per point of a trade-off front. The two objectives
are the first two numeric columns whose names are not bookkeeping (``point``, ``id``,
``index``, ``status``, ``gap``, ``seconds``, ``weight``, ...: :data:`AXIS_EXCLUDE`); a
``label`` (or ``point``/``id``) column names the points, and a ``selected`` (or ``current``)
column with ``yes``/``true``/``1`` marks the point of this run.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.area.grid import Grid
from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InputError
from ruimteverdeling.results.indicators import IndicatorTable
from ruimteverdeling.uses import Use, UseCatalogue

AXIS_EXCLUDE = {"point", "id", "index", "i", "k", "n", "step", "rank", "status", "gap",
                "seconds", "time", "weight", "weights", "alpha", "lambda", "epsilon", "eps",
                "selected", "current", "label", "bound"}


@dataclass
class RunView:
    """A run as the report and the comparison see it, from a finished solve or a run folder."""

    summary: dict[str, Any]
    scenario: dict[str, Any]
    grid: Grid
    catalogue: UseCatalogue
    before: np.ndarray
    after: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)
    indicators: IndicatorTable | None = None
    folder: Path | None = None
    area: StudyArea | None = None
    pareto: dict[str, Any] | None = None
    pathway: dict[str, Any] | None = None  # with several periods: {"grids": [(year, codes)]}
    locations: tuple[list[dict[str, Any]], np.ndarray] | None = None
    """The locations table and the grid of their ids (:mod:`ruimteverdeling.results.locations`)."""

    @property
    def id(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.get("id") or "run")

    @property
    def title(self) -> str:
        return str(self.summary.get("title") or self.scenario.get("title") or self.id)


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    p = folder / name
    if not p.is_file():
        raise InputError.single(folder, name, f"{name} is missing: not a complete run folder",
                                "solve the scenario first (`ruimteverdeling solve`), or give "
                                "the scenario file so that compare solves it")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError.single(p, None, f"not valid JSON: {exc}",
                                "re-run the scenario to rewrite the folder") from None


def _folder(folder: str | Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError.single(folder, None, "not a folder",
                                "give a solved run folder or a scenario file")
    return folder


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """``manifest.json`` of a run folder; InputError when the folder or the file is missing
    or the file is not JSON."""
    return _read_json(_folder(folder), "manifest.json")


def read_summary(folder: str | Path) -> dict[str, Any]:
    """``summary.json`` of a run folder; InputError as :func:`read_manifest`."""
    return _read_json(_folder(folder), "summary.json")


def complete_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of ``folder`` when it holds a complete run — ``complete: true`` and every
    file in its ``outputs`` present — else None (missing, unreadable, interrupted)."""
    path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("complete") is not True:
        return None
    outputs = manifest.get("outputs")
    if not isinstance(outputs, list) or \
            not all(isinstance(n, str) and (path.parent / n).is_file() for n in outputs):
        return None
    return manifest


def read_run_folder(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any], np.ndarray,
                                                  Grid]:
    """``manifest.json``, ``summary.json``, the allocation and its grid from a run folder.

    Raises InputError naming the folder and the missing or unreadable file.
    """
    import rasterio

    folder = _folder(folder)
    manifest = _read_json(folder, "manifest.json")
    summary = _read_json(folder, "summary.json")
    tif = folder / "allocation.tif"
    if not tif.is_file():
        raise InputError.single(folder, "allocation.tif", "allocation.tif is missing",
                                "re-run the scenario to rewrite the folder")
    with rasterio.open(tif) as src:
        after = src.read(1)
        t = src.transform
        if abs(t.a + t.e) > 1e-9 * max(1.0, abs(t.a)) or t.b or t.d:
            raise InputError.single(tif, None, "the raster is not a north-up square grid",
                                    "give a run folder written by ruimteverdeling")
        crs = src.crs.to_string() if src.crs else ""
        grid = Grid(src.width, src.height, float(t.a), float(t.c), float(t.f), crs)
    return manifest, summary, after, grid


def catalogue_from_resolved(scenario: dict[str, Any]) -> UseCatalogue:
    """The use catalogue of a run, from the resolved scenario in its manifest."""
    fields = {f.name for f in dataclasses.fields(Use)}
    items = [{k: v for k, v in u.items() if k in fields} for u in scenario.get("uses") or []]
    return UseCatalogue.default().with_overrides(items)


def load_run_view(folder: str | Path, with_area: bool = True,
                  areas: dict[tuple[str, tuple], Any] | None = None) -> RunView:
    """A :class:`RunView` from a solved run folder.

    With ``with_area`` its study area is read (for the current land use and the indicators);
    ``areas`` caches study areas across calls, keyed by area file and catalogue.
    """
    folder = Path(folder)
    manifest, summary, after, grid = read_run_folder(folder)
    scenario = manifest.get("scenario") or {}
    catalogue = catalogue_from_resolved(scenario)
    area = None
    before = np.zeros_like(after)
    if with_area:
        area_path = Path((manifest.get("inputs") or {}).get("area") or "")
        if not area_path.is_file():
            raise InputError.single(folder / "manifest.json", "inputs.area",
                                    f"the run's study area is not found: {area_path}",
                                    "restore the study area (area.yaml and its layers) at that "
                                    "path, or re-run the scenario")
        key = (str(area_path.resolve()), tuple((u.id, u.code) for u in catalogue))
        cache = areas if areas is not None else {}
        if key not in cache:
            cache[key] = StudyArea.load(area_path, catalogue)
        area = cache[key]
        if area.grid.shape != after.shape:
            raise InputError.single(folder / "allocation.tif", None,
                                    f"the allocation ({after.shape[1]} x {after.shape[0]}) is "
                                    f"not on the grid of its study area {area_path}",
                                    "re-run the scenario: the study area changed after the run")
        before = area.current_use
    record = {k: manifest.get(k) for k in ("scenario_files", "inputs", "versions", "solver")}
    return RunView(summary=summary, scenario=scenario, grid=grid, catalogue=catalogue,
                   before=before, after=after, record=record, folder=folder, area=area,
                   pareto=read_pareto(folder / "pareto.csv"),
                   locations=read_locations(folder, grid))


def read_locations(folder: Path, grid: Grid) -> tuple[list[dict[str, Any]], np.ndarray] | None:
    """The locations of a run folder (``locations.csv``) and the grid of their ids, burnt
    from ``locations.gpkg``; None for a folder without them (or with unreadable ones)."""
    table, shapes = folder / "locations.csv", folder / "locations.gpkg"
    if not (table.is_file() and shapes.is_file()):
        return None
    try:
        import geopandas as gpd
        from rasterio.features import rasterize

        with table.open(encoding="utf-8", newline="") as f:
            rows: list[dict[str, Any]] = []
            for r in csv.DictReader(f):
                rows.append({**r, "id": int(r["id"]), "size": float(r["size"]),
                             "meets_minimum": r["meets_minimum"] == "True"})
        gdf = gpd.read_file(shapes)
        ids = rasterize(((g, int(i)) for g, i in zip(gdf.geometry, gdf["id"], strict=True)
                         if g is not None and not g.is_empty),
                        out_shape=(grid.height, grid.width), transform=grid.transform,
                        fill=0, dtype="int32") if len(gdf) else \
            np.zeros((grid.height, grid.width), np.int32)
    except (OSError, ValueError, KeyError):  # damaged: the report shows no location map
        return None
    return rows, ids


def read_pareto(path: Path) -> dict[str, Any] | None:
    """The front in ``pareto.csv`` (the contract is in the module docstring), or None when the
    file is absent or empty.

    Returns ``rows`` and ``columns`` as read, the axes ``x`` and ``y``, the ``label`` and
    ``selected`` columns (or None) and ``problem``: None, or why the file cannot be charted.
    """
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None
    cols = list(rows[0])

    def numeric(col: str) -> bool:
        vals = [r.get(col) for r in rows if r.get(col) not in (None, "")]
        try:
            [float(v) for v in vals]  # type: ignore[arg-type]
        except ValueError:
            return False
        return bool(vals)

    axes = [c for c in cols if c.strip().lower() not in AXIS_EXCLUDE and numeric(c)]
    if len(axes) < 2:
        return {"rows": rows, "columns": cols, "x": None, "y": None,
                "problem": "pareto.csv needs two numeric objective columns"}
    label_col = next((c for c in ("label", "point", "id") if c in cols), None)
    sel_col = next((c for c in ("selected", "current") if c in cols), None)
    return {"rows": rows, "columns": cols, "x": axes[0], "y": axes[1], "label": label_col,
            "selected": sel_col, "problem": None}


def read_rule_costs(folder: str | Path | None) -> list[dict[str, str]]:
    """The rows of ``rule_costs.csv`` in ``folder`` (as text), or [] when there is none."""
    if folder is None:
        return []
    path = Path(folder) / "rule_costs.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
