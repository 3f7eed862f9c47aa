"""The locations of a run: one row (and polygon) per connected patch of new land of a use.

A location is a 4-neighbour connected patch of cells whose use after the run adds the use
(:mod:`ruimteverdeling.rules.location`); for each: its size (new homes, or hectares), its
hectares, the region and settlement type most of its cells lie in, whether it holds a
committed location, its minimum and whether it meets it, and the mean suitability of its
cells for their use. Runs without location rules still list the locations of new housing
(without minimum), so that alternatives can be compared on how compact they build.

``summary.json`` gets ``locations``: per use the number of locations, their mean size, the
share of the new quantity in locations that meet their minimum (the compactness figure) and
the counts the rules ask; plus what enforcing the rules did.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.rules import location as loc

#: The timestamp written into ``locations.gpkg`` (instead of the time of writing).
GPKG_DATE = "2000-01-01T00:00:00Z"

COLUMNS = ["id", "use", "kind", "size", "unit", "hectares", "cells", "region",
           "settlement_type", "minimum", "meets_minimum", "mean_suitability"]


def _groups(cm: Any) -> list[loc.UseRules]:
    rules = loc.location_rules(cm)
    if rules:
        return loc.combine(rules, cm.ctx)
    if "housing" not in cm.catalogue.target_uses:
        return []
    quantity = "homes" if cm.scenario.housing_density is not None else "area"
    return [loc.UseRules("housing", quantity, 4, np.zeros(cm.ctx.land_cells.size),
                         np.zeros(cm.ctx.land_cells.size, bool), [], [])]


def after_index(cm: Any, after: np.ndarray) -> np.ndarray:
    """Catalogue index of every land cell's use in the allocation grid ``after``."""
    lut = cm.catalogue.code_lut()
    return lut[after.ravel()[cm.ctx.land_cells]].astype(np.int64)


def location_rows(cm: Any, after: np.ndarray) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The table of locations and a grid of their ids (0 elsewhere)."""
    ctx = cm.ctx
    idx = after_index(cm, after)
    regions, names = ctx.region_rows()
    types = type_names = None
    for rule in loc.location_rules(cm):
        if rule.min_by_type is not None:
            lay = ctx.area.layer(rule.min_by_type.layer)
            types = lay.data.ravel()[ctx.land_cells]
            type_names = lay.categories or {}
            break
    suit_terms = cm.terms.get("suitability", [])
    ids = np.zeros(ctx.area.grid.size, np.int32)
    rows: list[dict[str, Any]] = []
    for ur in _groups(cm):
        for row in loc.patch_table(ctx, idx, ur):
            cells = row["cells"]
            k = len(rows) + 1
            ids[ctx.land_cells[cells]] = k
            reg = Counter(int(r) for r in regions[cells] if r >= 0).most_common(1)
            st = ""
            if types is not None:
                common = Counter(int(t) for t in types[cells]).most_common(1)
                st = str((type_names or {}).get(common[0][0], common[0][0])) if common else ""
            suit = None
            if suit_terms:
                val = sum(float(t.fn(cells, idx[cells]).sum()) for t in suit_terms)
                suit = val / (cells.size * ctx.cell_ha)
            rows.append({
                "id": k, "use": ur.use, "kind": "committed" if row["committed"] else "new",
                "size": round(row["size"], 3),
                "unit": "homes" if ur.quantity == "homes" else "ha",
                "hectares": round(cells.size * ctx.cell_ha, 3), "cells": int(cells.size),
                "region": names[reg[0][0]] if reg else "",
                "settlement_type": st, "minimum": row["minimum"],
                "meets_minimum": bool(row["meets"]),
                "mean_suitability": None if suit is None else round(suit, 4)})
    return rows, ids.reshape(ctx.area.grid.shape)


def summary(cm: Any, sol: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``locations`` block of ``summary.json`` (see the module docstring)."""
    per_use: dict[str, Any] = {}
    for ur in _groups(cm):
        mine = [r for r in rows if r["use"] == ur.use]
        total = sum(r["size"] for r in mine)
        ok = sum(r["size"] for r in mine if r["meets_minimum"])
        per_use[ur.use] = {
            "unit": "homes" if ur.quantity == "homes" else "ha",
            "locations": len(mine),
            "committed": sum(1 for r in mine if r["kind"] == "committed"),
            "mean_size": total / len(mine) if mine else 0.0,
            "largest": max((r["size"] for r in mine), default=0.0),
            "below_minimum": sum(1 for r in mine if not r["meets_minimum"]),
            "share_in_locations_meeting_minimum": ok / total if total else None,
            "counts": [{"at_least": n, "min_size": s,
                        "found": sum(1 for r in mine if r["size"] >= s - 1e-6)}
                       for n, s in ur.counts],
        }
    out: dict[str, Any] = {"per_use": per_use, "contiguity": "4-neighbour"}
    enforcement = sol.details.get("locations")
    if enforcement is not None:
        out["enforcement"] = enforcement
    return out


def write(folder: Path, cm: Any, rows: list[dict[str, Any]], ids: np.ndarray) -> None:
    """``locations.csv`` and ``locations.gpkg`` (one polygon per location, RD New)."""
    from ruimteverdeling.results import summary as sm

    sm.write_csv(folder / "locations.csv", rows, COLUMNS)
    import geopandas as gpd
    from rasterio.features import shapes
    from shapely.geometry import shape
    from shapely.ops import unary_union

    grid = cm.area.grid
    polys: dict[int, list[Any]] = {}
    if rows:
        for geom, value in shapes(ids, mask=ids > 0, transform=grid.transform,
                                  connectivity=4):
            polys.setdefault(int(value), []).append(shape(geom))
    records = [{**r, "geometry": unary_union(polys.get(r["id"], []))} for r in rows]
    gdf = gpd.GeoDataFrame(records, columns=[*COLUMNS, "geometry"], geometry="geometry",
                           crs=grid.crs)
    # built in memory, written by Python: a full disk or a file-size limit is then an OSError
    # with its own reason, which the output folder reports (the driver would hide it)
    # GDAL stamps the time of writing into a GeoPackage's metadata tables; pinned, reruns are
    # identical byte for byte like every other output
    import pyogrio  # deferred with geopandas

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        buf = io.BytesIO()
        gdf.to_file(buf, layer="locations", driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    (folder / "locations.gpkg").write_bytes(buf.getvalue())
