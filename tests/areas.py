"""Shared test helpers: hand-made tiny study areas and scenarios (real GeoTIFF files and
area.yaml), and the hand-computed and random cases that several test modules solve."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml
from affine import Affine
from shapely.geometry import mapping

LANDUSE_CATEGORIES = {1: "housing", 2: "nature", 3: "agriculture", 4: "solar", 5: "wind",
                      6: "water_buffer", 7: "defence", 21: "industry", 22: "infrastructure",
                      23: "water"}
LEFT, TOP = 100_000.0, 500_000.0
REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "scenarios" / "base.yaml"
IDENT = [[0, 0], [1, 1]]  # suitability term f(v) = v on [0, 1]


def write_tif(path: Path, data: np.ndarray, resolution: float, crs: str = "EPSG:28992",
              left: float = LEFT, top: float = TOP, nodata: float | None = None) -> None:
    data = np.asarray(data)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype=data.dtype, crs=crs, nodata=nodata,
                       transform=Affine(resolution, 0, left, 0, -resolution, top)) as dst:
        dst.write(data, 1)


def write_area(folder: Path, landuse: Any, regions: Any | None = None,
               region_names: dict[int, str] | None = None,
               layers: dict[str, tuple[Any, str, dict[str, Any]]] | None = None,
               resolution: float = 100.0) -> Path:
    """Write ``area.yaml`` with a land-use raster, a region raster and extra layers.

    ``layers`` maps name -> (array, kind, extra manifest fields).
    """
    folder.mkdir(parents=True, exist_ok=True)
    landuse = np.asarray(landuse, np.uint8)
    h, w = landuse.shape
    if regions is None:
        regions = np.ones((h, w), np.int32)
    regions = np.asarray(regions, np.int32)
    region_names = region_names or {int(r): f"R{int(r)}" for r in np.unique(regions) if r > 0}
    write_tif(folder / "landuse.tif", landuse, resolution)
    write_tif(folder / "regions.tif", regions, resolution)
    manifest: dict[str, Any] = {
        "name": "tiny",
        "grid": {"crs": "EPSG:28992", "width": w, "height": h, "resolution": resolution,
                 "left": LEFT, "top": TOP},
        "current_use": "landuse",
        "regions": "regions",
        "layers": {
            "landuse": {"file": "landuse.tif", "kind": "categorical",
                        "categories": LANDUSE_CATEGORIES},
            "regions": {"file": "regions.tif", "kind": "regions", "categories": region_names},
        },
    }
    for name, (arr, kind, extra) in (layers or {}).items():
        arr = np.asarray(arr)
        if kind == "continuous":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind not in "iu":
            arr = arr.astype(np.int32)
        write_tif(folder / f"{name}.tif", arr, resolution)
        manifest["layers"][name] = {"file": f"{name}.tif", "kind": kind, **extra}
    (folder / "area.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder / "area.yaml"


def write_scenario(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


SRC = {"document": "test", "section": "n/a", "quote": "hand-made"}


def quiet_layer(area: Any, name: str) -> Any:
    """``area.layer(name)`` of a StudyArea without its warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return area.layer(name)


def geojson(path: Path, gdf: Any) -> Path:
    """A GeoJSON FeatureCollection written as text, *without* a `crs` member, whatever the
    coordinates are (as many tools write RD New data)."""
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {k: (v.item() if hasattr(v, "item") else v)
                                           for k, v in row.items() if k != "geometry"},
         "geometry": mapping(row["geometry"])} for _, row in gdf.iterrows()]}
    path.write_text(json.dumps(fc))
    return path


def hand_case(tmp_path: Path) -> Path:
    """3×3 grid; centre is existing housing (fixed), bottom-right open water (fixed).

    Suitability (housing / nature; agriculture is 0.5 everywhere, no transition costs):

        0.9/0.1  0.2/0.9  .45/0.3
        0.4/0.6    --     0.8/0.2
        0.1/0.9  0.3/0.4    --

    Targets: ≥ 2 ha *new* housing, ≥ 3 ha nature (total). Only housing, nature and
    agriculture are allowed. By hand: housing goes to the two cells with the largest gain over
    agriculture, (0,0) +0.4 and (1,2) +0.3; nature to (2,0) 0.9 (already nature), (0,1) +0.4 and
    (1,0) +0.1; the rest stays agriculture. Objective = 0.9+0.9+0.5+0.6+0.8+0.9+0.5 = 5.1.
    """
    lu = np.array([[3, 3, 3], [3, 1, 3], [2, 3, 23]])
    sh = np.array([[0.9, 0.2, 0.45], [0.4, 0, 0.8], [0.1, 0.3, 0]])
    sn = np.array([[0.1, 0.9, 0.3], [0.6, 0, 0.2], [0.9, 0.4, 0]])
    area = write_area(tmp_path / "area", lu, layers={"s_h": (sh, "continuous", {}),
                                                     "s_n": (sn, "continuous", {})})
    return write_scenario(tmp_path / "hand.yaml", {
        "id": "hand", "area": str(area),
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "nature": {"terms": [{"layer": "s_n", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "h", "use": "housing", "basis": "new", "min": 2, "source": SRC},
                    {"id": "n", "use": "nature", "min": 3, "source": SRC}],
        "rules": [{"id": "three_uses", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "nature", "agriculture"], "applies_to": "all",
                   "source": SRC}],
    })


USES4 = ["housing", "nature", "agriculture", "solar"]
CODES = {"housing": 1, "nature": 2, "agriculture": 3, "solar": 4}


def random_case(tmp_path: Path, seed: int) -> tuple[Path, dict]:
    rng = np.random.default_rng(seed)
    lu = rng.choice([2, 3, 3, 3], size=(3, 3))
    lu[1, 1] = 1  # fixed housing in the middle
    regions = np.array([[1, 1, 2], [1, 1, 2], [1, 2, 2]])
    suit = {u: rng.random((3, 3)).round(3) for u in USES4}
    layers = {f"s_{u}": (suit[u], "continuous", {}) for u in USES4}
    area = write_area(tmp_path / f"a{seed}", lu, regions, {1: "West", 2: "Oost"}, layers)
    trans = {"agriculture": {"housing": 0.3, "nature": 0.1, "solar": 0.2},
             "nature": {"housing": 0.8, "agriculture": 0.5, "solar": 0.6}}
    params = {
        "homes_min": float(rng.integers(20, 60)),
        "nature_min_west": float(rng.integers(1, 3)),
        "solar_max": float(rng.integers(1, 3)),
        "solar_min": 1.0,
        "agri_min": float(rng.integers(1, 3)),
        "agri_pen": 0.7,
    }
    sc = write_scenario(tmp_path / f"s{seed}.yaml", {
        "id": f"enum{seed}", "area": str(area),
        "housing_density": {"default": 20, "per_region": {"Oost": 30}, "source": SRC},
        "suitability": {u: {"terms": [{"layer": f"s_{u}", "points": IDENT}]} for u in USES4},
        "transition_costs": {"default": 0.0, "matrix": trans},
        "targets": [
            {"id": "homes", "use": "housing", "quantity": "homes", "min": params["homes_min"],
             "source": SRC},
            {"id": "nat_west", "use": "nature", "region": "West",
             "min": params["nature_min_west"], "source": SRC},
            {"id": "solar", "use": "solar", "min": params["solar_min"],
             "max": params["solar_max"], "source": SRC},
            {"id": "agri", "use": "agriculture", "per_region": True, "min": params["agri_min"],
             "hard": False, "penalty": params["agri_pen"], "source": SRC},
        ],
        "rules": [{"id": "four", "type": "exclusion", "layer": "landuse", "allow": USES4,
                   "applies_to": "all", "source": SRC}],
    })
    return sc, {"lu": lu, "regions": regions, "suit": suit, "trans": trans, **params}
