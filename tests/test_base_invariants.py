"""The demo (base scenario on the demo area) honours every target and every hard rule.

Checked from the written rasters and the input layers alone (read here with rasterio,
geopandas and scipy, not through the engine), with the numbers taken from the scenario YAML
and the use catalogue YAML.
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
from scipy import ndimage

from ruimteverdeling import api

from areas import REPO

CATALOGUE = yaml.safe_load((REPO / "src" / "ruimteverdeling" / "data" / "uses.yaml").read_text())
USES = {u["id"]: u for u in CATALOGUE["uses"]}
CODE = {uid: u["code"] for uid, u in USES.items()}
ALLOCATABLE = [uid for uid, u in USES.items() if u["kind"] == "allocatable"]


def containing(use_ids: list[str]) -> set[str]:
    return {uid for uid, u in USES.items()
            if uid in use_ids or set(u.get("combines", [])) & set(use_ids)}


def provides(target: str) -> dict[int, float]:
    """code -> yield factor towards a target use."""
    return {u["code"]: u.get("provides", {}).get(target, 0.0) for u in USES.values()}


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
            "manifest": manifest, "res": manifest["grid"]["resolution"],
            "cell_ha": manifest["grid"]["resolution"] ** 2 / 1e4}


def zone_of(s: dict, layer: str, where: dict | None, buffer_m: float) -> np.ndarray:
    if layer == "current_use":
        data = s["before"]
        cats = {u["code"]: uid for uid, u in USES.items()}
    else:
        data = s["read"](layer)
        cats = s["manifest"]["layers"][layer].get("categories") or {}
    names = {str(v): int(k) for k, v in cats.items()}
    if not where:
        z = data != 0
    else:
        z = np.ones(data.shape, bool)
        if "equals" in where:
            eq = where["equals"] if isinstance(where["equals"], list) else [where["equals"]]
            z &= np.isin(data, [names.get(str(e), e) for e in eq])
        if "above" in where:
            z &= data > where["above"]
        if "below" in where:
            z &= data < where["below"]
    if buffer_m:
        z = ndimage.distance_transform_edt(~z) * s["res"] <= buffer_m + 1e-9
    return z


def test_fixed_context_never_changes(solved: dict) -> None:
    before, after = solved["before"], solved["after"]
    for use in ("industry", "infrastructure", "water", "housing"):
        cells = before == CODE[use]
        assert (after[cells] == CODE[use]).all(), use
    assert ((before == 0) == (after == 0)).all()


def active_rules(s: dict, rtype: str) -> list[dict]:
    return [r for r in s["scenario"]["rules"] if r["type"] == rtype
            and r.get("enabled", r["status"] in ("G", "T"))]


def test_no_excluded_cell_used(solved: dict) -> None:
    before, after = solved["before"], solved["after"]
    n_checked = 0
    for rule in active_rules(solved, "exclusion"):
        zone = zone_of(solved, rule["layer"], rule.get("where"), rule.get("buffer_m", 0))
        closed = containing(rule["uses"]) if "uses" in rule else \
            set(ALLOCATABLE) - set(rule["allow"])
        for use in closed:
            hit = zone & (after == CODE[use])
            if rule.get("applies_to", "new") == "new":
                hit &= before != CODE[use]
            assert not hit.any(), f"{rule['id']}: {int(hit.sum())} new {use} cells"
            n_checked += 1
    assert n_checked >= 30


def test_wind_setback_from_new_housing(solved: dict) -> None:
    before, after = solved["before"], solved["after"]
    for rule in active_rules(solved, "conflict"):
        near = np.isin(after, [CODE[u] for u in containing(rule["near"])])
        near &= ~np.isin(before, [CODE[u] for u in containing(rule["near"])])
        if not near.any():
            continue
        dist = ndimage.distance_transform_edt(~near) * solved["res"]
        conflict = np.isin(after, [CODE[u] for u in containing(rule["uses"])])
        bad = conflict & (dist <= rule["distance_m"]) & (dist > 0)
        assert not bad.any(), f"{rule['id']}: {int(bad.sum())} cells"


def test_green_buffer_kept(solved: dict) -> None:
    """Recompute the green band independently and check no new housing lies in it."""
    before, after, res = solved["before"], solved["after"], solved["res"]
    for rule in active_rules(solved, "green_buffer"):
        cores = before == CODE["housing"]
        labels, n = ndimage.label(cores, structure=np.ones((3, 3)))
        sizes = np.bincount(labels.ravel())
        big = [k for k in range(1, n + 1) if sizes[k] * solved["cell_ha"] >= rule["min_core_ha"]]
        keep = np.isin(labels, big)
        if len(big) < 2:
            continue
        dist, (iy, ix) = ndimage.distance_transform_edt(~keep, return_indices=True)
        nearest, dist = labels[iy, ix], dist * res
        line = np.zeros(before.shape, bool)
        dv = (nearest[:-1] != nearest[1:]) & (dist[:-1] + dist[1:] + res < rule["gap_m"])
        dh = (nearest[:, :-1] != nearest[:, 1:]) & \
            (dist[:, :-1] + dist[:, 1:] + res < rule["gap_m"])
        line[:-1] |= dv
        line[1:] |= dv
        line[:, :-1] |= dh
        line[:, 1:] |= dh
        band = line | (ndimage.distance_transform_edt(~line) * res
                       <= rule["width_m"] / 2 - res / 2 + 1e-9)
        bad = band & ~keep & (after == CODE["housing"]) & (before != CODE["housing"])
        assert not bad.any(), int(bad.sum())


def test_every_hard_target_met(solved: dict) -> None:
    before, after, regions = solved["before"], solved["after"], solved["regions"]
    ha = solved["cell_ha"]
    sc = solved["scenario"]
    counted = before > 0  # the study area's land cells ...
    if sc["scaling"].get("open_water", "include") == "exclude":
        counted &= before != CODE["water"]  # ... without today's open water, as CBS counts
    share = counted.sum() * ha / sc["scaling"]["national_area_ha"]
    targets = {t["id"]: t for t in sc["targets"]}

    def factor(target: str, grid: np.ndarray) -> np.ndarray:
        lut = np.zeros(256)
        for code, p in provides(target).items():
            lut[code] = p
        return lut[grid]

    dens = sc["housing_density"]
    density = np.full(after.shape, float(dens["default"]))
    for code, name in solved["names"].items():
        if name in dens["per_region"]:
            density[regions == code] = dens["per_region"][name]
    new_housing = factor("housing", after) * (factor("housing", before) == 0)
    homes = float((new_housing * density).sum() * ha)
    assert homes >= targets["homes_woondeals"]["min"] * share * (1 - 1e-9)

    energy = np.zeros(256)
    for u in USES.values():
        energy[u["code"]] = u.get("energy_mwh_per_ha_yr", 0) * \
            u.get("provides", {}).get("renewable_energy", 0)
    twh = float(energy[after].sum()) * ha / 1e6
    on_land = 1 - targets["wind_solar_on_land"].get("outside_land", {}).get("share", 0)
    assert twh >= targets["wind_solar_on_land"]["min"] * on_land * share * (1 - 1e-9)

    for tid, use in (("nature_expansion", "nature"), ("defence_training_space", "defence")):
        now = float(factor(use, before).sum())
        later = float(factor(use, after).sum())
        assert later >= targets[tid]["min"] * now - 1e-6, tid


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
    # multi-use accounting from the raster
    combined = [uid for uid, u in USES.items() if len(u.get("combines", [])) >= 2]
    combined_ha = sum(float((after == CODE[u]).sum()) * ha for u in combined)
    assert summary["multi_use"]["combined_ha"] == pytest.approx(combined_ha)


def test_rules_report(solved: dict) -> None:
    with open(solved["out"] / "rules.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = {r["rule"] for r in rows}
    assert {r["id"] for r in solved["scenario"]["rules"]} <= ids
    for r in rows:
        assert r["source"] and r["status"] in ("G", "T", "A")
        if r["type"] in ("exclusion", "green_buffer") and r["enabled"] == "yes" and r["use"]:
            assert float(r["ha_removed"]) > 0 and r["binds"] in ("yes", "no")
    a_rule = [r for r in rows if r["status"] == "A"]
    assert a_rule and all(r["enabled"] == "no" for r in a_rule)
    # uiterwaarden: the hectares closed add up to the zone's changeable non-housing cells
    uit = solved["read"]("uiterwaarden") != 0
    before = solved["before"]
    changeable = np.isin(before, [CODE[u] for u in ALLOCATABLE if u != "housing"])
    expected = float((uit & changeable).sum()) * solved["cell_ha"]
    got = sum(float(r["ha_removed"]) for r in rows
              if r["rule"] == "no_new_building_uiterwaarden" and r["use"] == "housing")
    assert got == pytest.approx(expected)


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
    assert {"suitability", "transition", "future_cost", "zonneladder"} <= set(terms)
    total = sum(t["contribution"] for t in terms.values())
    assert total == pytest.approx(m["objective"], rel=1e-9, abs=1e-6)


def test_regional_caps_and_nnn_share_hold(solved: dict) -> None:
    """Every fairness cap (new housing around Amsterdam and Utrecht) and the NNN share,
    recomputed from the rasters."""
    before, after = solved["before"], solved["after"]
    n_caps = 0
    for rule in active_rules(solved, "fairness"):
        if rule.get("mode") != "cap":
            continue
        regions = solved["read"](rule["regions"])
        burden = np.zeros(after.shape)
        for b in rule["burdens"]:
            p = np.zeros(256)
            for code, f in provides(b["use"]).items():
                p[code] = f
            diff = p[after] - p[before]
            burden += b.get("weight", 1.0) * (np.maximum(diff, 0) if b.get("basis", "new") == "new"
                                              else np.maximum(-diff, 0))
        for r in np.unique(regions[regions > 0]):
            zone = regions == r
            assert burden[zone].sum() <= rule["cap"] * zone.sum() + 1e-9, (rule["id"], r)
            n_caps += 1
    assert n_caps >= 2
    nnn = next(t for t in solved["scenario"]["targets"] if t["id"] == "nnn_completed")
    zone = solved["read"](nnn["within"]) > 0
    nature = np.zeros(256)
    for code, f in provides("nature").items():
        nature[code] = f
    assert nature[after][zone].sum() >= nnn["min"] * zone.sum() - 1e-6
