"""The demo (base scenario on the demo area) honours every target and exclusion.

Checked from the written rasters and the input layers alone (read here with rasterio and
geopandas, not through the engine), with the numbers taken from the scenario YAML.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from rasterio.features import rasterize

from ruimteverdeling import api

from conftest import REPO

CODE = {"housing": 1, "nature": 2, "agriculture": 3, "solar": 4, "wind": 5, "water_buffer": 6,
        "defence": 7, "industry": 21, "infrastructure": 22, "water": 23}
YIELD_MWH = {"solar": 950.0, "wind": 170.0}


@pytest.fixture(scope="module")
def solved(demo_area: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("base") / "out"
    run = api.solve(REPO / "scenarios" / "base.yaml", out, area=demo_area)
    scenario = yaml.safe_load((REPO / "scenarios" / "base.yaml").read_text())
    manifest = yaml.safe_load(demo_area.read_text())
    folder = demo_area.parent

    def read(name: str) -> np.ndarray:
        with rasterio.open(folder / manifest["layers"][name]["file"]) as src:
            return src.read(1)

    with rasterio.open(out / "allocation.tif") as src:
        after = src.read(1)
        transform, shape = src.transform, src.shape
    prov = manifest["layers"]["regions"]
    gdf = gpd.read_file(folder / prov["file"], layer=prov.get("layer"))
    regions = rasterize(zip(gdf.geometry, gdf[prov["attribute"]], strict=True), out_shape=shape,
                        transform=transform, fill=0, dtype="int32")
    names = dict(zip(gdf[prov["attribute"]], gdf[prov["name_attribute"]], strict=True))
    return {"run": run, "out": out, "scenario": scenario, "read": read, "after": after,
            "before": read("landuse"), "regions": regions, "names": names,
            "cell_ha": manifest["grid"]["resolution"] ** 2 / 1e4}


def test_fixed_context_never_changes(solved: dict) -> None:
    before, after = solved["before"], solved["after"]
    for use in ("industry", "infrastructure", "water", "housing"):
        cells = before == CODE[use]
        assert (after[cells] == CODE[use]).all(), use
    assert ((before == 0) == (after == 0)).all()


def test_no_excluded_cell_used(solved: dict) -> None:
    before, after = solved["before"], solved["after"]
    n_checked = 0
    for rule in solved["scenario"]["rules"]:
        if rule.get("enabled") is False or rule.get("status") == "A":
            continue
        zone = solved["read"](rule["layer"]) != 0
        for use in rule["uses"]:
            newly = zone & (after == CODE[use]) & (before != CODE[use])
            assert not newly.any(), f"{rule['id']}: {int(newly.sum())} new {use} cells"
            n_checked += 1
    assert n_checked >= 5


def test_every_hard_target_met(solved: dict) -> None:
    before, after, regions = solved["before"], solved["after"], solved["regions"]
    ha = solved["cell_ha"]
    sc = solved["scenario"]
    land = before > 0
    share = land.sum() * ha / sc["scaling"]["national_area_ha"]
    targets = {t["id"]: t for t in sc["targets"]}

    # homes on new housing land, density per province
    dens = sc["housing_density"]
    density = np.full(after.shape, float(dens["default"]))
    for code, name in solved["names"].items():
        if name in dens["per_region"]:
            density[regions == code] = dens["per_region"][name]
    new_housing = (after == CODE["housing"]) & (before != CODE["housing"])
    homes = float((new_housing * density).sum() * ha)
    assert homes >= targets["homes_woondeals"]["min"] * share * (1 - 1e-9)

    twh = sum(float((after == CODE[u]).sum()) * ha * y for u, y in YIELD_MWH.items()) / 1e6
    assert twh >= targets["wind_solar_on_land"]["min"] * share * (1 - 1e-9)

    for tid, use in (("nature_expansion", "nature"), ("defence_training_space", "defence")):
        now = float((before == CODE[use]).sum())
        later = float((after == CODE[use]).sum())
        assert later >= targets[tid]["min"] * now - 1e-9, tid


def test_soft_targets_report_their_shortfall(solved: dict) -> None:
    with open(solved["out"] / "targets.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "targets.csv is empty"
    for r in rows:
        if r["hard"] == "True":
            assert r["met"] == "yes", r
        lo = float(r["min"]) if r["min"] else None
        achieved = float(r["achieved"])
        if lo is not None and r["met"] == "no":
            assert float(r["slack"]) > 0, r
            assert achieved + float(r["slack"]) == pytest.approx(lo, rel=1e-6, abs=1e-6), r
        assert r["source"], r


def test_tables_add_up_with_the_rasters(solved: dict) -> None:
    after, before, ha = solved["after"], solved["before"], solved["cell_ha"]
    with open(solved["out"] / "areas.csv", encoding="utf-8") as fh:
        areas = list(csv.DictReader(fh))
    national = {r["use"]: r for r in areas if r["region"] == "national"}
    for use, code in CODE.items():
        n_after = float((after == code).sum()) * ha
        n_before = float((before == code).sum()) * ha
        if n_after or n_before:
            assert float(national[use]["ha_after"]) == pytest.approx(n_after)
            assert float(national[use]["ha_before"]) == pytest.approx(n_before)
    # the regional rows add up to the national ones
    for use in national:
        regional = sum(float(r["ha_after"]) for r in areas
                       if r["use"] == use and r["region"] != "national")
        assert regional == pytest.approx(float(national[use]["ha_after"]))
    with rasterio.open(solved["out"] / "change.tif") as src:
        change = src.read(1)
    summary = json.loads((solved["out"] / "summary.json").read_text())
    for t in summary["transitions"]:
        n = int((change == t["code"]).sum())
        assert n == t["cells"]
        assert ((before == CODE[t["from"]]) & (after == CODE[t["to"]])).sum() == n
    assert int((change > 0).sum()) == int(((before != after) & (before > 0)).sum())


def test_manifest_records_the_run(solved: dict) -> None:
    m = json.loads((solved["out"] / "manifest.json").read_text())
    assert m["complete"] is True
    assert m["status"] in ("optimal", "feasible")
    assert m["bound"] >= m["objective"] - 1e-6
    assert m["gap"] == pytest.approx(
        max(0.0, m["bound"] - m["objective"]) / max(abs(m["objective"]), 1.0))
    assert "HiGHS" in m["versions"] and m["versions"]["highspy"]
    assert set(m["inputs"]["sha256"]) >= {"area.yaml", "landuse", "regions"}
    assert "base.yaml" in m["scenario_files"]
    assert m["scenario"]["targets"][0]["source"]["document"]
    for phase in ("load_scenario", "read_area", "compile", "solve", "write", "total"):
        assert phase in m["seconds"], phase
    summary = json.loads((solved["out"] / "summary.json").read_text())
    terms = {t["term"]: t for t in summary["objective_terms"]}
    assert {"suitability", "transition"} <= set(terms)
    total = sum(t["contribution"] for t in terms.values())
    assert total == pytest.approx(m["objective"], rel=1e-9, abs=1e-6)
