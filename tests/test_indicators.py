"""Plan-MER indicators on a hand-made 3×4 area, every value computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InputError
from ruimteverdeling.results import indicators as ind

from areas import write_area

# 3 × 4 cells of 100 m (1 ha); columns 0-1 are province West (1), columns 2-3 East (2).
#   before                      after
#   agr  agr  nat  agr          housing  agri_pv  nat      ext_agr
#   agr  hous agr  wb           nat+wb   hous     agr+wind wb
#   nat  agr  water agr         nat      solar    water    housing
BEFORE = [[3, 3, 2, 3], [3, 1, 3, 6], [2, 3, 23, 3]]
AFTER = [[1, 13, 2, 15], [11, 1, 12, 6], [2, 4, 23, 1]]
REGIONS = [[1, 1, 2, 2]] * 3
NAN = float("nan")
LAYERS = {
    "flood_depth_2100": ([[1.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, NAN, 3.0]], "continuous",
                         {"unit": "m"}),
    "subsidence": ([[15.0, 5, 5, 5], [5, 5, 5, 5], [5, 5, 5, 5]], "continuous", {"unit": "cm"}),
    "soil": ([[1, 1, 1, 4], [1, 1, 4, 1], [1, 1, 1, 4]], "categorical",
             {"categories": {1: "sand", 4: "peat"}}),
    "agri_quality": ([[1, 1, 2, 2], [2, 2, 1, 2], [2, 2, 2, 2]], "categorical",
                     {"categories": {1: "best", 2: "moderate"}}),
    "nnn": ([[0, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]], "mask", {}),
    "natura2000": ([[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], "mask", {}),
    "heritage": ([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], "mask", {}),
    "airport_noise": ([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]], "mask", {}),
    # no valuable_landscape, defence_contour or industry_contour
}
DENSITY = ind.HomesPerHectare(30.0, {"East": 50.0})


@pytest.fixture(scope="module")
def area(tmp_path_factory: pytest.TempPathFactory) -> StudyArea:
    folder = tmp_path_factory.mktemp("ind")
    path = write_area(folder / "a", BEFORE, REGIONS, {1: "West", 2: "East"}, LAYERS)
    return StudyArea.load(path)


def table(area: StudyArea, after=AFTER, density=DENSITY, config=None) -> ind.IndicatorTable:
    x = ind.IndicatorInputs(area, area.catalogue, np.asarray(after, np.uint8),
                            housing_density=density, config=config)
    return ind.compute(x)


# by hand (every cell is 1 ha)
EXPECTED = {
    "nature_ha": 1 + 0.9 + 1,                         # nat, nature+water buffer 0.9, nat
    "nature_nnn_ha": 1 + 0.9 + 0,                     # (0,2) nat, (1,0) 0.9, (1,1) housing
    "nature_natura2000_ha": 1.0,                      # (2,0)
    "water_buffer_ha": 1 + 1,                         # nature+water buffer, water buffer
    "new_housing_flood_shallow_ha": 2.0,              # (0,0) at 1 m, (2,3) at 3 m
    "new_housing_flood_deep_ha": 1.0,                 # (2,3) only
    "new_built_subsiding_ha": 2.0,                    # (0,0) 15 cm, (2,3) peat
    "sealed_ha": 0.53 + 0.01 - 0.01 - 0.02 + 0.01 + 0.03 + 0.53,
    "heritage_changed_ha": 2.0,                       # (0,0), (0,1); (1,1) unchanged
    "new_housing_contours_ha": 1.0,                   # (2,3) in the airport contour
    "farmland_ha": 0.6 + 1 + 0.97,                    # agri-PV, extensive, farmland+wind
    "best_farmland_lost_ha": 1 + 0.4 + 0.03,          # (0,0), (0,1), (1,2)
    "peat_drained_ha": 1.0,                           # (1,2) farmland with wind
    "peat_rewetted_ha": 1.0,                          # (0,3) extensive farming
    "energy_twh": (950 * 0.6 + 170 + 950) / 1e6,      # agri-PV, farmland+wind, solar
    "new_homes": 30 + 50,                             # (0,0) West, (2,3) East
    "land_take_ha": 2.0,
    "multi_use_ha": 3.0,                              # nature+wb, agri-PV, farmland+wind
    "defence_ha": 0.0,
}


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_national_values_by_hand(area: StudyArea, cid: str) -> None:
    assert table(area).value(cid) == pytest.approx(EXPECTED[cid], abs=1e-9)


def test_provinces_add_up_and_match_by_hand(area: StudyArea) -> None:
    t = table(area)
    assert t.regions == ["West", "East"]
    for c in t.criteria:
        if not c.additive or t.value(c.id) is None:
            continue
        total = sum(t.value(c.id, r) for r in t.regions)
        assert total == pytest.approx(t.value(c.id), abs=1e-9), c.id
    assert t.value("new_homes", "West") == 30 and t.value("new_homes", "East") == 50
    assert t.value("nature_ha", "West") == pytest.approx(1.9)
    assert t.value("sealed_ha", "East") == pytest.approx(-0.01 + 0.01 + 0.53)


def test_bases_are_zone_or_development_hectares(area: StudyArea) -> None:
    t = table(area)
    # where development goes: measured against all new housing / newly built land
    assert t.basis["new_housing_flood_shallow_ha"] == {"national": 2, "West": 1, "East": 1}
    assert t.basis["new_housing_flood_deep_ha"]["national"] == 2
    assert t.basis["new_housing_contours_ha"]["national"] == 2
    assert t.basis["new_built_subsiding_ha"]["national"] == 2
    # zones
    assert t.basis["heritage_changed_ha"]["national"] == 3
    assert t.basis["peat_drained_ha"] == {"national": 3, "West": 0, "East": 3}
    assert t.basis["best_farmland_lost_ha"]["national"] == 3
    assert t.basis["sealed_ha"]["national"] == 12                     # all land


def test_burden_gini_by_hand(area: StudyArea) -> None:
    """West: burdens 2 + 1 + 1 + 2 = 6 ha on 6 ha -> 1.0; East: 1.03 + 2 on 6 ha -> 0.505.
    Gini of two values: (high - low) / (2 (high + low))."""
    hi, lo = 1.0, 3.03 / 6
    assert table(area).value("burden_gini") == pytest.approx((hi - lo) / (2 * (hi + lo)))
    assert "West" not in table(area).values["burden_gini"]  # national only


def test_missing_layers_and_density_are_na_not_errors(area: StudyArea) -> None:
    t = table(area, density=None)
    assert t.value("valuable_landscape_changed_ha") is None
    assert "valuable_landscape" in t.notes["valuable_landscape_changed_ha"]
    assert t.value("valuable_landscape_changed_ha", "West") is None
    rows = [r for r in t.rows() if r["criterion"] == "valuable_landscape_changed_ha"]
    assert [r["region"] for r in rows] == ["national", "West", "East"]
    assert all(r["value"] is None and r["note"].startswith("n/a") for r in rows)
    # without a housing density, new homes fall back to hectares of new housing
    assert t.value("new_homes") == 2 and t.unit("new_homes") == "ha"
    assert "density" in t.notes["new_homes"]
    assert {r["unit"] for r in t.rows() if r["criterion"] == "new_homes"} == {"ha"}
    assert table(area).unit("new_homes") == "homes"


def test_layer_roles_and_parameters_from_a_settings_file(area: StudyArea, tmp_path: Path
                                                         ) -> None:
    f = tmp_path / "t.yaml"
    f.write_text("layers: {valuable_landscape: heritage}\n"
                 "parameters: {flood_shallow_m: 2.5, peat_category: 1}\n")
    cfg = ind.load_assessment(f)
    t = table(area, config=cfg)
    assert t.value("valuable_landscape_changed_ha") == 2          # now reads the heritage mask
    assert t.value("new_housing_flood_shallow_ha") == 1           # only the 3 m cell
    assert t.basis["peat_drained_ha"]["national"] == 9            # "peat" is now code 1 (sand)
    assert cfg.criteria["nature_ha"].thresholds == (0.5, 2, 5)    # defaults kept


def test_unknown_category_is_na(area: StudyArea, tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text("parameters: {peat_category: veen}\n")
    t = table(area, config=ind.load_assessment(f))
    assert t.value("peat_drained_ha") is None and "veen" in t.notes["peat_drained_ha"]
    assert t.value("new_built_subsiding_ha") == 1  # subsidence alone still defines the zone


def test_unchanged_allocation_changes_nothing(area: StudyArea) -> None:
    t = table(area, after=BEFORE)
    for cid in ("new_homes", "land_take_ha", "sealed_ha", "heritage_changed_ha",
                "best_farmland_lost_ha", "new_housing_flood_shallow_ha", "burden_gini"):
        assert t.value(cid) == 0, cid


def test_bad_settings_files_name_file_and_field(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text("criteria:\n  natur_ha: {thresholds: [1, 2, 3]}\n"
                 "  energy_twh: {thresholds: [5, 1, 3]}\nlayer: {}\n")
    with pytest.raises(InputError) as e:
        ind.load_assessment(f)
    text = e.value.format()
    assert "criteria.natur_ha" in text and "nature_ha" in text  # did you mean
    assert "layer" in text and str(f) in text
    f.write_text("criteria:\n  energy_twh: {thresholds: [5, 1, 3]}\n")
    with pytest.raises(InputError, match="increasing"):
        ind.load_assessment(f)
    f.write_text("criteria:\n  energy_twh: {mode: percent}\n")
    with pytest.raises(InputError, match="mode"):
        ind.load_assessment(f)


def test_allocation_on_another_grid_is_an_input_error(area: StudyArea) -> None:
    with pytest.raises(InputError, match=r"4 x 4 cells, the study area 4 x 3"):
        ind.IndicatorInputs(area, area.catalogue, np.ones((4, 4), np.uint8))


def test_registry_is_data_driven() -> None:
    """Every registered criterion has shipped settings, a theme and a definition; a new one
    can be registered and is computed."""
    cfg = ind.load_assessment()
    for cid, c in ind.CRITERIA.items():
        assert cid in cfg.criteria and c.definition and c.theme in ind.THEMES
        assert cfg.criteria[cid].rationale.strip()
    with pytest.raises(ValueError, match="twice"):
        ind.register(ind.CRITERIA["nature_ha"])


def test_labels_follow_the_parameters(area: StudyArea, tmp_path: Path) -> None:
    assert table(area).label_nl("new_housing_flood_shallow_ha").endswith("> 0,5 m")
    f = tmp_path / "t.yaml"
    f.write_text("parameters: {flood_shallow_m: 1.25, subsidence_min_cm: 20}\n")
    t = table(area, config=ind.load_assessment(f))
    assert t.label_nl("new_housing_flood_shallow_ha").endswith("> 1,25 m")
    assert t.label_en("new_housing_flood_shallow_ha").endswith("exceed 1.25 m")
    assert "20 cm" in t.definition("new_built_subsiding_ha")
    assert {r["label_en"] for r in t.rows() if r["criterion"] == "new_housing_flood_shallow_ha"
            } == {"New housing where floods exceed 1.25 m"}


def test_burden_hectares_new_and_lost() -> None:
    """p(u, T) = [0, 1, 0.6]; 2-ha cells going 1→2, 1→0 and 0→1."""
    from ruimteverdeling.domain.burdens import burden_ha

    p, before, after = np.array([0.0, 1.0, 0.6]), np.array([1, 1, 0]), np.array([2, 0, 1])
    np.testing.assert_allclose(burden_ha(p, before, after, "new", 2.0), [0.0, 0.0, 2.0])
    np.testing.assert_allclose(burden_ha(p, before, after, "lost", 2.0, weight=0.5),
                               [0.4, 1.0, 0.0])
