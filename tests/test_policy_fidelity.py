"""The shipped rule pack is faithful to its sources: every item has a status the Voorontwerp
uses and a cited source, a decided item is relaxed only through `overrides:`, and the policy
layers of the synthetic area say what their builders promise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from ruimteverdeling.errors import InputError
from ruimteverdeling.rules import load_scenario, overrides

from areas import REPO

SCENARIOS = sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))


def source_problems(item: Any) -> list[str]:
    """What is missing from an item's status and source."""
    out = []
    if item.status not in ("G", "T", "A"):
        out.append(f"{item.id}: status {item.status!r} is not G, T or A")
    src = item.source
    for field in ("document", "section", "quote"):
        if not (getattr(src, field) or "").strip():
            out.append(f"{item.id}: source has no {field}")
    return out


def soft_decided(scenario: Any) -> list[str]:
    """G items that are soft without an override: a soft G target, or an override-free G
    item whose relaxation the scenario carries anyway."""
    relaxed = {o.rule for o in scenario.overrides if o.action in ("soften", "set", "disable")}
    out = []
    for t in scenario.targets:
        if t.status == "G" and not t.hard and t.id not in relaxed:
            out.append(f"target {t.id} is a gemaakte keuze but soft without an override")
    for r in scenario.rules:
        penalty = getattr(r, "penalty", None)
        if r.status == "G" and penalty is not None and r.id not in relaxed:
            out.append(f"rule {r.id} is a gemaakte keuze but soft without an override")
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_item_has_a_status_and_a_cited_source(name: str) -> None:
    sc = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    problems = [p for item in [*sc.targets, *sc.rules] for p in source_problems(item)]
    for o in sc.overrides:
        if o.source is not None:
            problems += [f"override {o.rule}: source has no {f}" for f in ("section", "quote")
                         if not (getattr(o.source, f) or "").strip()]
    assert not problems, problems


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_decided_item_is_soft_without_an_override(name: str) -> None:
    sc = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    assert not soft_decided(sc)


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "base"])
def test_variants_keep_the_base_overrides(name: str) -> None:
    """A variant's `overrides:` replaces the base's list; each base override must reappear."""
    base = load_scenario(REPO / "scenarios" / "base.yaml")
    sc = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    assert {o.rule for o in base.overrides} <= {o.rule for o in sc.overrides}


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A soft G target without an override and a source without a quote are caught."""
    text = (REPO / "scenarios" / "base.yaml").read_text(encoding="utf-8")
    text = text.replace("    min: 0.05\n    description: >\n      at least 5 % of every deep",
                        "    min: 0.05\n    hard: false\n    penalty: 5.0\n    description: >\n"
                        "      at least 5 % of every deep", 1)
    head, _, _ = text.partition("\noverrides:\n")
    text = head + "\n" + text[text.index("objective:\n"):]
    text = text.replace("      quote: Buitendijks bouwen of landaanwinning in het "
                        "IJsselmeergebied is niet toegestaan.\n", "", 1)
    text = text.replace("area: ../inputs/demo/area.yaml", f"area: {REPO}/inputs/demo/area.yaml")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    # the loader itself refuses a soft G item outside `overrides:` ...
    with pytest.raises(InputError, match=r"'water_storage_deep_polders' in `targets` is a "
                       r"gemaakte keuze \(status G\) and cannot be made soft"):
        load_scenario(path)
    # ... and the test's own check finds it on an item the loader did not see
    path.write_text(text.replace("    hard: false\n    penalty: 5.0\n", "", 1), encoding="utf-8")
    sc = load_scenario(path)
    soft = sc.model_copy(update={"targets": [
        t.model_copy(update={"hard": False, "penalty": 5.0})
        if t.id == "water_storage_deep_polders" else t for t in sc.targets]})
    assert soft_decided(soft) == ["target water_storage_deep_polders is a gemaakte keuze but "
                                  "soft without an override"]
    problems = [p for item in sc.rules for p in source_problems(item)]
    assert problems == ["no_building_outside_dikes_ijsselmeer: source has no quote"]


def test_a_decided_rule_is_soft_only_through_an_override(tmp_path: Path) -> None:
    """A G rule of rows with a `penalty` in the item is refused; the same softening through
    `overrides:` loads and makes the rule's rows soft."""
    text = (REPO / "scenarios" / "base.yaml").read_text(encoding="utf-8")
    text = text.replace("area: ../inputs/demo/area.yaml", f"area: {REPO}/inputs/demo/area.yaml")
    soft = text.replace("    min_share: 0.15\n", "    min_share: 0.15\n    penalty: 1.0\n", 1)
    assert soft != text
    path = tmp_path / "soft.yaml"
    path.write_text(soft, encoding="utf-8")
    with pytest.raises(InputError, match=r"'organic_farming_share' in `rules` is a gemaakte "
                       r"keuze \(status G\) and cannot be made soft with a `penalty`"):
        load_scenario(path)
    override = ("overrides:\n  - rule: organic_farming_share\n    action: soften\n"
                "    penalty: 1.0\n    justification: a test of comply or explain\n")
    path.write_text(text.replace("overrides:\n", override, 1), encoding="utf-8")
    sc = load_scenario(path)
    assert not soft_decided(sc)
    rule = next(r for r in overrides.apply(sc)[0] if r.id == "organic_farming_share")
    assert rule.penalty == 1.0


def test_statuses_as_the_voorontwerp_labels_them() -> None:
    """The items whose status the document settles (labelled choices and the Defence chapter's
    paragraph headings)."""
    sc = load_scenario(REPO / "scenarios" / "base.yaml")
    status = {i.id: i.status for i in [*sc.targets, *sc.rules]}
    expected = {
        "flood_risk_vulnerable_functions": "G",   # (Gemaakte keuze), Keuzes over water
        "defence_training_space": "G",            # Gemaakte keuzes: the NRD's minimum
        "defence_extend_existing_sites": "T",     # Te maken keuzes: where it goes
        "water_storage_deep_polders": "G",
        "homes_woondeals": "G",
        "nature_expansion": "G",                  # the NPLG area task per province
        "nnn_completed": "G",                     # conform de bestaande afspraken
        "green_blue_network_focus_areas": "T",    # (Te maken keuze), geen hard doel
        "peat_high_water_table": "G",
        "peat_limited_urban_growth": "T",
        "rwzi_capacity": "G",
        "drinking_water_precondition": "T",
        "water_space_river_cities": "T",
        "extra_landscape_protection": "A",
        "organic_farming_share": "G",             # (Gemaakte keuze), Perspectief voor de landbouw
        "defence_helicopter_reach": "T",          # Te maken keuzes: where it goes
        "energy_grid_feed_in_congestion": "T",    # (Te maken keuze) on grid congestion
    }
    assert {k: status[k] for k in expected} == expected
    wbb = next(t for t in sc.targets if t.id == "water_storage_deep_polders")
    assert wbb.hard  # soft only through the base's override
    assert [o.action for o in sc.overrides if o.rule == wbb.id] == ["soften"]


def test_bans_follow_the_documents() -> None:
    """Natura 2000 leaves the combinations the text names open, groundwater protection leaves
    defence open, and peat carries a water level as a cost instead of a ban."""
    sc = load_scenario(REPO / "scenarios" / "base.yaml")
    rules = {r.id: r for r in sc.rules}
    n2000 = rules["natura2000_protection"]
    assert n2000.uses is None and {"defence_nature", "extensive_agriculture"} <= set(n2000.allow)
    assert "defence" not in rules["groundwater_protection"].uses
    peat = rules["peat_high_water_table"]
    assert peat.type == "cost" and peat.on == "any"
    assert not {"nature", "extensive_agriculture", "water_buffer"} & set(peat.uses)
    cap = rules["peat_limited_urban_growth"]
    assert (cap.type, cap.mode, cap.regions) == ("fairness", "cap", "limited_urban_growth")
    # the rooftop share leaves the land 75 % of the 35 TWh; the woondeals' year is a parameter
    targets = {t.id: t for t in sc.targets}
    energy = targets["wind_solar_on_land"]
    assert (energy.min, energy.outside_land.share, energy.year) == (35, 0.25, 2030)
    assert "voorkeursvolgorde zon" in energy.outside_land.source.quote
    homes = targets["homes_woondeals"]
    assert homes.year == 2030 and "tot en met 2035" in homes.source.note
    dp = load_scenario(REPO / "scenarios" / "defence-priority.yaml")
    assert any(o.rule == "defence_training_space" and o.source is not None
               and "Te agenderen" in (o.source.section or "") for o in dp.overrides)


# ------------------------------------------------------------------------------------------
# the policy layers of the synthetic area
# ------------------------------------------------------------------------------------------
def _read(area_yaml: Path, name: str) -> np.ndarray:
    with rasterio.open(area_yaml.parent / f"{name}.tif") as src:
        return src.read(1)


def test_policy_layers_are_consistent(small_area: Path) -> None:
    from ruimteverdeling.area.manifest import load_manifest
    from ruimteverdeling.synthetic.geography import load_geography
    from ruimteverdeling.synthetic.layers.defence import HELICOPTER_SPEED_KMH

    m = load_manifest(small_area)
    study = _read(small_area, "landuse") > 0
    # training grounds lie in the training structure; low-flying areas too
    grounds = _read(small_area, "defence_training_grounds") > 0
    training = _read(small_area, "defence_structure_training") > 0
    assert grounds.any() and not (grounds & ~training).any()
    assert not ((_read(small_area, "defence_low_flying") > 0) & ~training).any()
    # flight time: 0 min at a base, growing 60 / 220 minutes per km (within a cell)
    minutes = _read(small_area, "helicopter_flight_minutes")
    assert minutes[study].min() >= 0 and minutes[~study].max() == -9999.0
    g = m.grid
    s, (ox, oy) = m.generator["scale_factor"], m.generator["scale_origin"]
    base = load_geography().helicopter_bases[0]
    col = int(((ox + (base.x * 1000 - ox) * s) - g.left) // g.resolution)
    row = int((g.top - (oy + (base.y * 1000 - oy) * s)) // g.resolution)
    cell_km = g.resolution / s / 1000
    assert minutes[row, col] <= 60 * cell_km / HELICOPTER_SPEED_KMH
    # congestion is a property of a whole grid region
    regions = _read(small_area, "grid_regions")
    for name in ("grid_feed_in_congestion", "grid_offtake_congestion"):
        mask = _read(small_area, name) > 0
        for r in np.unique(regions[mask]):
            land = (regions == r) & (_read(small_area, "landuse") != 23)
            assert mask[land].all(), (name, r)
    # limited growth: only on vulnerable landscapes, named after the two cities
    lug = _read(small_area, "limited_urban_growth")
    assert set(m.layers["limited_urban_growth"].categories.values()) <= {"rond Amsterdam",
                                                                         "rond Utrecht"}
    vulnerable = ((_read(small_area, "soil") == 4) | (_read(small_area, "heritage") > 0)
                  | (_read(small_area, "deep_polders") > 0))
    assert lug.any() and not ((lug > 0) & ~vulnerable).any()
    # the sand-extraction reservation lies at sea, outside the study area
    assert not ((_read(small_area, "sand_extraction_reservation") > 0) & study).any()
    # RWZI load is a percentage of capacity on every study cell
    load = _read(small_area, "rwzi_load")
    assert load[study].min() >= 55 and load[study].max() <= 120


def test_a_defence_ground_function_must_be_known() -> None:
    import json
    from importlib import resources

    from ruimteverdeling.synthetic.geography import DATA_FILE, parse_geography

    text = resources.files("ruimteverdeling.synthetic").joinpath(DATA_FILE).read_text("utf-8")
    geo = parse_geography(text)
    assert geo.defence_functions["Vliegbasis Volkel"] == "airbase"
    assert geo.defence_functions["Oirschotse heide"] == "training"
    assert {s.name for s in geo.limited_growth_cities} == {"Amsterdam", "Utrecht"}
    doc = json.loads(text)
    ground = next(f for f in doc["features"] if f["properties"]["kind"] == "defence_ground")
    ground["properties"]["function"] = "parking"
    with pytest.raises(ValueError, match=r"defence_ground .*function must be one of training"):
        parse_geography(json.dumps(doc))
