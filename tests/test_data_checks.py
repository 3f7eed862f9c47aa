"""What a scenario asks of a real study area that the area cannot give as meant.

Empty masks under decided rules, an area share above 1, targets that ask nothing, region
values for regions outside the area, missing layers, variants that drop keys and merge
overrides, and the list of layers a scenario needs — each on a tiny hand-made area of real
GeoTIFFs whose answer is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from ruimteverdeling import api
from ruimteverdeling.errors import InputError
from ruimteverdeling.results import findings as result_findings
from ruimteverdeling.rules import load_scenario, overrides
from ruimteverdeling.rules.needs import layer_needs, scenario_needs

from areas import REPO, SRC, write_area, write_scenario

# 4 × 4 cells of 1 ha: agriculture, a column of nature, a corner of open water (4 ha)
LANDUSE = np.array([[3, 3, 2, 23],
                    [3, 3, 2, 23],
                    [3, 3, 2, 23],
                    [3, 1, 2, 23]])
EMPTY = np.zeros((4, 4), np.uint8)
HALF = np.array([[1, 1, 0, 0]] * 4, np.uint8)


def area(tmp_path: Path, landuse: np.ndarray = LANDUSE, **layers: Any) -> Path:
    return write_area(tmp_path / "area", landuse,
                      region_names={1: "Utrecht", 2: "Noord-Holland"},
                      layers={name: spec for name, spec in layers.items()})


def scenario(tmp_path: Path, area_path: Path, name: str = "s.yaml", **doc: Any) -> Path:
    return write_scenario(tmp_path / name, {"id": "s", "area": str(area_path), **doc})


def exclusion(rid: str, layer: str, status: str = "G", **extra: Any) -> dict[str, Any]:
    return {"id": rid, "type": "exclusion", "status": status, "layer": layer,
            "uses": ["housing"], "source": SRC, **extra}


def problems(path: Path) -> list:
    with pytest.raises(InputError) as info:
        api.compile(path)
    return info.value.problems


def warnings_of(path: Path) -> list[str]:
    return [w.format() for w in api.compile(path).warnings]


# ------------------------------------------------------------------------------------------
# empty masks under rules
# ------------------------------------------------------------------------------------------
def test_a_decided_rule_on_an_empty_mask_is_an_error(tmp_path: Path) -> None:
    a = area(tmp_path, natura2000=(EMPTY, "mask", {}))
    (p,) = problems(scenario(tmp_path, a, rules=[exclusion("n2k", "natura2000")]))
    assert p.field == "rules[0].layer"
    assert "rule 'n2k' (status G) protects nothing" in p.message
    assert "covers none of the study area's 16 land cells" in p.message
    assert "crs:" in p.fix and "overrides: [{rule: n2k, action: disable" in p.fix


def test_a_t_rule_on_an_empty_mask_is_a_warning_and_an_off_rule_is_silent(tmp_path: Path
                                                                          ) -> None:
    a = area(tmp_path, natura2000=(EMPTY, "mask", {}), nnn=(HALF, "mask", {}))
    path = scenario(tmp_path, a, rules=[exclusion("t", "natura2000", "T"),
                                        exclusion("a", "natura2000", "A"),
                                        exclusion("g_full", "nnn", "G")])
    (w,) = warnings_of(path)
    assert "rules[0].layer: rule 't' (status T) protects nothing" in w
    assert "enabled: false" in w


def test_on_a_coarsened_copy_an_empty_mask_is_a_warning(tmp_path: Path) -> None:
    a = area(tmp_path, natura2000=(EMPTY, "mask", {}))
    manifest = yaml.safe_load(a.read_text())
    manifest["generator"] = {"coarsened_from": "/data/fine/area.yaml", "factor": 4}
    a.write_text(yaml.safe_dump(manifest))
    (w,) = warnings_of(scenario(tmp_path, a, rules=[exclusion("n2k", "natura2000")]))
    assert "(status G) protects nothing" in w and "coarsened copy of /data/fine" in w


# ------------------------------------------------------------------------------------------
# the area share
# ------------------------------------------------------------------------------------------
def _scaled(tmp_path: Path, open_water: str | None, national: float) -> Path:
    scaling: dict[str, Any] = {"national_area_ha": national, "source": SRC}
    if open_water is not None:
        scaling["open_water"] = open_water
    return scenario(tmp_path, area(tmp_path), scaling=scaling,
                    targets=[{"id": "nat", "use": "nature", "min": 7, "scale": "area_share",
                              "source": SRC}])


def test_an_area_share_above_one_is_a_loud_warning_with_the_figures(tmp_path: Path) -> None:
    # 16 ha inside the study area, 4 ha of them open water, against a country of 14 ha
    cm = api.compile(_scaled(tmp_path, None, 14))
    (w,) = cm.warnings
    assert w.field == "scaling.national_area_ha"
    assert "the area share is 1.1429, above 1" in w.message
    assert "16 ha (every cell inside it, including 4 ha of open water)" in w.message
    assert "national_area_ha 14 ha" in w.message and "(nat)" in w.message
    assert "`scaling: {open_water: exclude}` (the share is then 0.8571)" in w.fix
    assert "land area without water" in w.fix
    # the bound is what the scenario says, with the factor on record
    assert cm.blocks["target:nat"].rows.lower[0] == pytest.approx(7 * 16 / 14)
    rows = result_findings.warnings_table(cm)
    assert rows[0]["field"] == "scaling.national_area_ha" and "1.1429" in rows[0]["message"]


def test_summary_json_lists_the_warnings_and_notes_of_a_run(tmp_path: Path) -> None:
    import json

    base = _scaled(tmp_path, None, 14)
    doc = yaml.safe_load(base.read_text())
    doc["rules"] = [exclusion("keep_nature", "landuse", "T", where={"equals": [2]})]
    doc["overrides"] = [{"rule": "keep_nature", "action": "disable",
                         "justification": "The base lets nature change in this test."}]
    base.write_text(yaml.safe_dump(doc))
    variant = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": base.name})
    out = tmp_path / "run"
    api.solve(variant, out)
    summary = json.loads((out / "summary.json").read_text())
    (w,) = summary["warnings"]
    assert w["field"] == "scaling.national_area_ha" and Path(w["file"]).name == "s.yaml"
    assert "the area share is 1.1429" in w["message"] and "open_water: exclude" in w["fix"]
    (n,) = summary["notes"]
    assert n["message"] == "the override of 'keep_nature' (disable) comes from s.yaml"


def test_counting_the_area_without_open_water_scales_by_land_only(tmp_path: Path) -> None:
    cm = api.compile(_scaled(tmp_path, "exclude", 14))
    assert cm.warnings == []
    assert cm.blocks["target:nat"].rows.lower[0] == pytest.approx(7 * 12 / 14)  # 6 ha


def test_a_share_at_most_one_says_nothing(tmp_path: Path) -> None:
    assert api.compile(_scaled(tmp_path, None, 16)).warnings == []


# ------------------------------------------------------------------------------------------
# targets that ask nothing
# ------------------------------------------------------------------------------------------
def test_a_target_relative_to_a_use_the_area_lacks_is_reported(tmp_path: Path) -> None:
    a = area(tmp_path)
    manifest = yaml.safe_load(a.read_text())  # a land-use code list without defence ground
    del manifest["layers"]["landuse"]["categories"][7]
    a.write_text(yaml.safe_dump(manifest))
    path = scenario(tmp_path, a, targets=[
        {"id": "defence_more", "use": "defence", "min": 1.15, "relative_to": "current",
         "source": SRC},
        {"id": "nature_kept", "use": "nature", "min": 0.9, "max": 2, "relative_to": "current",
         "source": SRC}])
    cm = api.compile(path)
    (w,) = cm.warnings
    assert w.field == "targets[0].min"
    assert ("target 'defence_more' asks 1.15 × the current area of 'defence', but the study "
            "area has none today") in w.message
    assert "is read as 'defence'" in w.message
    assert "CBS Bestand Bodemgebruik has no class for it" in w.message
    assert "it asks 0 ha there and has no effect" in w.message
    assert cm.blocks["target:defence_more"].rows.lower[0] == 0.0
    assert cm.blocks["target:nature_kept"].rows.lower[0] == pytest.approx(0.9 * 4)


def test_a_relative_maximum_of_a_missing_use_forbids_it_and_says_so(tmp_path: Path) -> None:
    path = scenario(tmp_path, area(tmp_path), targets=[
        {"id": "solar_cap", "use": "solar", "max": 1.5, "relative_to": "current",
         "source": SRC}])
    (w,) = warnings_of(path)
    assert "targets[0].max" in w and "no new 'solar' is allowed there" in w


def test_a_per_region_target_without_regions_in_the_area_is_reported(tmp_path: Path) -> None:
    a = area(tmp_path, deep_polders=(EMPTY, "regions", {"categories": {1: "Haarlemmermeer"}}))
    path = scenario(tmp_path, a, targets=[
        {"id": "polder_storage", "use": "water_buffer", "quantity": "share", "per_region": True,
         "regions": "deep_polders", "min": 0.05, "source": SRC}])
    cm = api.compile(path)
    assert cm.target_compilers["polder_storage"].labels == []
    (w,) = cm.warnings
    assert ("target 'polder_storage' is per region of layer 'deep_polders', but no region of it "
            "has land in the study area: it adds no row and asks nothing") in w.message
    assert w.field == "targets[0]"


# ------------------------------------------------------------------------------------------
# region values on one province
# ------------------------------------------------------------------------------------------
def _density(tmp_path: Path, per_region: dict[str, float], **doc: Any) -> Path:
    return scenario(tmp_path, area(tmp_path), housing_density={
        "default": 35, "per_region": per_region, "source": SRC}, **doc)


def test_region_values_for_regions_outside_the_area_are_warnings(tmp_path: Path) -> None:
    path = _density(tmp_path, {"Utrecht": 45, "Noord-Holland": 45, "Friesland": 30},
                    targets=[{"id": "nh_homes", "use": "housing", "region": "Noord-Holland",
                              "min": 1, "source": SRC}])
    cm = api.compile(path)
    text = [w.format() for w in cm.warnings]
    assert len(text) == 3, text
    assert ("housing_density.per_region.Noord-Holland: region 'Noord-Holland' of layer "
            "'regions' has no land in the study area; its density is not used") in text[0]
    assert ("housing_density.per_region.Friesland: 'Friesland' is not a region of layer "
            "'regions' (its regions in the study area: Utrecht)") in text[1]
    assert "target 'nh_homes' is for region 'Noord-Holland'" in text[2]
    assert cm.target_compilers["nh_homes"].labels == []
    # Utrecht's density is used
    assert cm.ctx.housing_density().max() == 45


@pytest.mark.parametrize("name, meant", [("Utrech", "Utrecht"),
                                         ("noord holland", "Noord-Holland")])
def test_a_misspelt_region_is_still_an_error(tmp_path: Path, name: str, meant: str) -> None:
    (p,) = problems(_density(tmp_path, {name: 45}))
    assert p.field == f"housing_density.per_region.{name}"
    assert f"unknown region '{name}'" in p.message and f"did you mean '{meant}'?" in p.fix


def test_base_scenario_runs_on_one_province(tmp_path: Path, demo_area: Path) -> None:
    """The shipped base scenario names three provinces' densities; on a study area of one
    province those outside it are warnings. The decided rules whose masks are empty there (no
    IJsselmeer dikes, no coast in Utrecht) are errors until a variant explains them; then the
    base scenario runs."""
    one = _one_province(tmp_path, demo_area, "Utrecht")
    with pytest.raises(InputError) as info:
        api.compile(REPO / "scenarios" / "base.yaml", area=one)
    assert [(p.field, p.message.split(" (status")[0]) for p in info.value.problems] == [
        ("rules[3].layer", "rule 'no_building_outside_dikes_ijsselmeer'"),
        ("rules[4].layer", "rule 'coastal_foundation_free'")]
    variant = write_scenario(tmp_path / "utrecht.yaml", {
        "id": "utrecht", "extends": str(REPO / "scenarios" / "base.yaml"), "area": str(one),
        "overrides": [{"rule": "no_building_outside_dikes_ijsselmeer", "action": "disable",
                       "justification": "Utrecht has no land outside the IJsselmeer dikes."},
                      {"rule": "coastal_foundation_free", "action": "disable",
                       "justification": "Utrecht has no coast, so no coastal foundation."}]})
    cm = api.compile(variant)
    assert set(cm.area.region_names().values()) == {"Utrecht"}
    texts = [w.message for w in cm.warnings]
    assert any("region 'Noord-Holland' of layer 'regions' has no land" in t for t in texts)
    assert any("region 'Zuid-Holland' of layer 'regions' has no land" in t for t in texts)
    assert cm.ctx.housing_density().max() == 45


def _one_province(tmp_path: Path, source: Path, name: str) -> Path:
    """A copy of a study area cut to one province: its land use 0 (outside) elsewhere."""
    import rasterio

    from ruimteverdeling.area.studyarea import StudyArea

    whole = StudyArea.load(source)
    code = next(c for c, n in whole.region_names().items() if n == name)
    manifest = yaml.safe_load(source.read_text())
    for spec in manifest["layers"].values():
        spec["file"] = str(source.parent / spec["file"])
    landuse_file = manifest["layers"][manifest["current_use"]]["file"]
    with rasterio.open(landuse_file) as src:
        profile, landuse = src.profile, src.read(1)
    landuse[whole.regions.data != code] = 0
    out = tmp_path / "one"
    out.mkdir()
    with rasterio.open(out / "landuse.tif", "w", **profile) as dst:
        dst.write(landuse, 1)
    manifest["layers"][manifest["current_use"]]["file"] = "landuse.tif"
    (out / "area.yaml").write_text(yaml.safe_dump(manifest))
    return out / "area.yaml"


# ------------------------------------------------------------------------------------------
# extends: dropping keys, merging overrides
# ------------------------------------------------------------------------------------------
def test_null_in_a_variant_removes_a_key_of_its_base(tmp_path: Path) -> None:
    base = _density(tmp_path, {"Utrecht": 45, "Noord-Holland": 45},
                    scaling={"national_area_ha": 100, "source": SRC},
                    rules=[exclusion("r", "landuse", "T", where={"equals": [3]})])
    variant = write_scenario(tmp_path / "v.yaml", {
        "id": "v", "extends": base.name,
        "housing_density": {"per_region": {"Noord-Holland": None}},
        "scaling": None, "rules": [{"id": "r", "where": None, "buffer_m": None}]})
    sc = load_scenario(variant)
    assert sc.housing_density.per_region == {"Utrecht": 45}
    assert sc.scaling is None
    assert sc.rules[0].where is None and sc.rules[0].layer == "landuse"
    assert api.compile(variant).warnings == []  # Noord-Holland is gone, nothing to say


def _with_overrides(tmp_path: Path) -> Path:
    return scenario(tmp_path, area(tmp_path, brooks=(HALF, "mask", {})), name="b.yaml", rules=[
        exclusion("brook", "brooks", buffer_m=0), exclusion("dike", "brooks", buffer_m=0),
        exclusion("other", "brooks")], overrides=[
        {"rule": "brook", "action": "set", "set": {"buffer_m": 250},
         "justification": "The base variant takes the upper end of the brook buffer range."},
        {"rule": "dike", "action": "set", "set": {"buffer_m": 250},
         "justification": "The base variant keeps wide bands free along the dikes."}])


def test_a_variant_merges_overrides_by_rule_and_notes_their_files(tmp_path: Path) -> None:
    _with_overrides(tmp_path)
    variant = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": "b.yaml", "overrides": [
        {"rule": "dike", "action": "set", "set": {"buffer_m": 150},
         "justification": "This variant keeps narrower bands along the dikes."},
        {"rule": "other", "action": "disable",
         "justification": "This variant drops the other protection for a test."}]})
    sc = load_scenario(variant)
    assert [(o.rule, o.set) for o in sc.overrides] == [
        ("brook", {"buffer_m": 250}), ("dike", {"buffer_m": 150}), ("other", None)]
    rules, _, _ = overrides.apply(sc)
    assert {r.id: r.buffer_m for r in rules} == {"brook": 250, "dike": 150}
    notes = [n.format() for n in api.compile(variant).notes]
    assert len(notes) == 3
    assert "b.yaml: overrides[0]: the override of 'brook' (set) comes from b.yaml" in notes[0]
    assert ("v.yaml: overrides[0]: the override of 'dike' (set) comes from v.yaml; it replaces "
            "the override of b.yaml (overrides[1], set)") in notes[1]
    assert "comes from v.yaml" in notes[2]


def test_a_variant_can_drop_an_override_of_its_base(tmp_path: Path) -> None:
    _with_overrides(tmp_path)
    variant = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": "b.yaml", "overrides": [
        {"rule": "brook", "remove": True}]})
    sc = load_scenario(variant)
    assert [o.rule for o in sc.overrides] == ["dike"]
    notes = [n.message for n in api.compile(variant).notes]
    assert "the override of 'brook' in b.yaml is removed" in notes[-1]
    bad = write_scenario(tmp_path / "w.yaml", {"id": "w", "extends": "b.yaml", "overrides": [
        {"rule": "nothing", "remove": True}]})
    with pytest.raises(InputError, match="no scenario this file extends overrides it"):
        load_scenario(bad)


def test_two_overrides_of_one_rule_in_one_file_are_an_error(tmp_path: Path) -> None:
    _with_overrides(tmp_path)
    o = {"rule": "dike", "action": "disable", "justification": "Twice in one file is a slip."}
    variant = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": "b.yaml",
                                                   "overrides": [o, o]})
    with pytest.raises(InputError) as info:
        load_scenario(variant)
    (p,) = info.value.problems
    assert p.field == "overrides[1].rule" and "'dike' is overridden twice" in p.message


def test_a_variant_of_water_first_keeps_its_brook_buffers(tmp_path: Path) -> None:
    variant = write_scenario(tmp_path / "wf.yaml", {
        "id": "wf-variant", "extends": str(REPO / "scenarios" / "water-first.yaml"),
        "overrides": [{"rule": "dike_reinforcement_reservation", "action": "set",
                       "set": {"buffer_m": 150},
                       "justification": "A narrower dike band is enough in this variant."}]})
    rules, _, _ = overrides.apply(load_scenario(variant))
    by_id = {r.id: r for r in rules}
    assert by_id["brook_valley_buffers"].buffer_m == 250
    assert by_id["dike_reinforcement_reservation"].buffer_m == 150


# ------------------------------------------------------------------------------------------
# missing layers and what a scenario needs
# ------------------------------------------------------------------------------------------
def test_a_missing_layer_names_the_rule_its_file_and_where_to_get_it(tmp_path: Path) -> None:
    base = scenario(tmp_path, area(tmp_path), name="b.yaml",
                    rules=[exclusion("keep", "landuse", "T", where={"equals": [2]}),
                           exclusion("no_new_building_uiterwaarden", "uiterwaarden")])
    variant = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": base.name,
                                                   "rules": [exclusion("new", "landuse", "T")]})
    (p,) = problems(variant)
    assert Path(p.file).name == "b.yaml" and p.field == "rules[1].layer"
    assert ("rule 'no_new_building_uiterwaarden' (status G) needs layer 'uiterwaarden' (mask: "
            "floodplains between the river dikes") in p.message
    assert "which is not in the study area (area.yaml)" in p.message
    assert "add it under `layers:`" in p.fix and "Beleidslijn grote rivieren" in p.fix
    assert "overrides: [{rule: no_new_building_uiterwaarden, action: disable" in p.fix
    assert p.fix.endswith("`ruimteverdeling validate SCENARIO --needs` lists every layer the "
                          "scenario needs")


def test_a_rule_that_is_off_needs_no_layer(tmp_path: Path) -> None:
    path = scenario(tmp_path, area(tmp_path), rules=[
        exclusion("agenda", "heritage", "A"),
        exclusion("off", "heritage", "T", enabled=False)])
    cm = api.compile(path)
    assert [r["enabled"] for r in cm.rule_reports] == [False, False]


def test_layer_needs_lists_kind_purpose_source_and_users(tmp_path: Path) -> None:
    path = scenario(tmp_path, area(tmp_path), rules=[
        exclusion("uw", "uiterwaarden"),
        exclusion("agenda", "heritage", "A"),
        exclusion("mine", "my_zones", "T", where={"equals": [2]}),
        {"id": "flood", "type": "cost", "term": "future_cost", "uses": ["housing"],
         "value": [{"layer": "flood_depth_2100", "points": [[0, 0], [2, 1]]}], "source": SRC}],
        suitability={"nature": {"terms": [{"layer": "natura2000", "mask": 0.3}]}},
        targets=[{"id": "storage", "use": "water_buffer", "quantity": "share",
                  "per_region": True, "regions": "deep_polders", "min": 0.05, "source": SRC},
                 {"id": "nnn_nature", "use": "nature", "within": "nnn", "min": 1,
                  "source": SRC}])
    sc = load_scenario(path)
    needs = {n.name: n for n in layer_needs(sc, available={"landuse", "regions", "nnn"})}
    assert list(needs)[:2] == ["landuse", "regions"]
    assert needs["landuse"].required and needs["landuse"].status == "present"
    uw = needs["uiterwaarden"]
    assert (uw.kind, uw.status) == ("mask", "MISSING")
    assert uw.needed_by == ["rule uw (exclusion, G)"]
    assert "floodplains" in uw.purpose and "Beleidslijn grote rivieren" in uw.get[0]
    assert needs["heritage"].status == "not needed"
    assert needs["heritage"].off_only == ["rule agenda (exclusion, A)"]
    assert needs["my_zones"].kind == "categorical"
    assert needs["my_zones"].purpose.startswith("not described in data/sources.yaml")
    assert needs["flood_depth_2100"].kind == "continuous" and \
        needs["flood_depth_2100"].unit == "m"
    assert needs["natura2000"].needed_by == ["suitability of nature"]
    assert needs["deep_polders"].needed_by == ["target storage (T)"]
    assert needs["nnn"].status == "present" and needs["nnn"].needed_by == [
        "target nnn_nature (T)"]
    lines = "\n".join(uw.lines())
    assert "needed by: rule uw (exclusion, G)" in lines and "get it from:" in lines


def test_needs_of_a_scenario_whose_area_does_not_exist_yet(tmp_path: Path) -> None:
    sc = load_scenario(REPO / "scenarios" / "base.yaml")
    needs, path, note = scenario_needs(sc, tmp_path / "nowhere" / "area.yaml")
    assert path == (tmp_path / "nowhere" / "area.yaml").resolve()
    assert note is not None and "does not exist yet" in note.message
    names = [n.name for n in needs]
    assert {"landuse", "regions", "uiterwaarden", "natura2000", "deep_polders",
            "station_distance"} <= set(names)
    assert all(n.present is None for n in needs)
    assert all(n.get for n in needs), [n.name for n in needs if not n.get]
