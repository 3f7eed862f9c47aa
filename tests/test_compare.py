"""Comparing alternatives: the scoring rule at its boundaries, province rows, grids, CLI."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ruimteverdeling import api
from ruimteverdeling.analysis import compare as cmp
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InputError
from ruimteverdeling.progress import Progress
from ruimteverdeling.results import indicators as ind

from areas import SRC, write_area, write_scenario

IDENT = [[0, 0], [1, 1]]


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# ------------------------------------------------------------------------------------------------
# the scoring rule
# ------------------------------------------------------------------------------------------------
T = (1.0, 5.0, 15.0)


@pytest.mark.parametrize(("x", "expected"), [
    (0.0, "0"), (0.999, "0"), (1.0, "0"), (1.001, "0/+"), (-1.0, "0"), (-1.001, "0/-"),
    (5.0, "0/+"), (5.001, "+"), (-5.0, "0/-"), (-5.001, "-"),
    (15.0, "+"), (15.001, "++"), (-15.0, "-"), (-15.001, "--"),
    (math.inf, "++"), (-math.inf, "--"), (None, "n/a"), (math.nan, "n/a"),
])
def test_score_at_and_around_every_threshold(x: float | None, expected: str) -> None:
    assert cmp.score(x, T) == expected


def test_score_with_equal_or_zero_thresholds() -> None:
    assert cmp.score(0.0, (0, 0, 0)) == "0"
    assert cmp.score(1e-6, (0, 0, 0)) == "++"
    assert cmp.score(-3, (0, 5, 5)) == "0/-"
    assert cmp.score(6, (0, 5, 5)) == "++"


def settings(better: str, mode: str, t=T) -> ind.CriterionSettings:
    return ind.CriterionSettings(better=better, mode=mode, thresholds=t)


def test_effect_modes_and_signs() -> None:
    # relative: percent of |reference|
    assert cmp.effect(1010, 1000, None, settings("higher", "relative")) == 1.0
    assert cmp.effect(1010, 1000, None, settings("lower", "relative")) == -1.0
    assert cmp.effect(-90, -100, None, settings("higher", "relative")) == 10.0
    # share: percent of the basis
    assert cmp.effect(30, 10, 400, settings("lower", "share")) == -5.0
    # absolute: in the criterion's unit
    assert cmp.effect(0.13, 0.1, None, settings("lower", "absolute")) == pytest.approx(-0.03)
    # zero denominators: 0 when nothing changes, infinite otherwise
    assert cmp.effect(0, 0, None, settings("higher", "relative")) == 0.0
    assert cmp.effect(2, 0, None, settings("higher", "relative")) == math.inf
    assert cmp.effect(2, 0, 0, settings("lower", "share")) == -math.inf
    assert cmp.effect(None, 1, 1, settings("higher", "share")) is None
    assert cmp.effect(1, 1, None, settings("higher", "share")) is None


def _table(values: dict[str, dict[str, float | None]],
           basis: dict[str, dict[str, float | None]]) -> ind.IndicatorTable:
    crit = [ind.CRITERIA[c] for c in values]
    return ind.IndicatorTable(crit, ["A", "B"], values, basis)


@pytest.mark.parametrize(("alt", "expected"), [
    (1005.0, "0"), (1010.0, "0"), (1010.5, "0/+"), (1050.0, "0/+"), (1050.5, "+"),
    (1150.0, "+"), (1151.0, "++"), (990.0, "0"), (989.0, "0/-"), (950.0, "0/-"),
    (949.0, "-"), (850.0, "-"), (849.0, "--"),
])
def test_assess_relative_boundaries(alt: float, expected: str) -> None:
    """nature_ha, relative, thresholds [1, 5, 15] %: the reference is 1000 ha."""
    cfg = ind.load_assessment()
    cfg.criteria["nature_ha"] = settings("higher", "relative")
    ref = _table({"nature_ha": {"national": 1000.0, "A": 600.0, "B": 400.0}},
                 {"nature_ha": {"national": 5000.0, "A": 3000.0, "B": 2000.0}})
    alt_t = _table({"nature_ha": {"national": alt, "A": 600.0, "B": alt - 600.0}},
                   {"nature_ha": {"national": 5000.0, "A": 3000.0, "B": 2000.0}})
    national, regional = cmp.assess(ref, alt_t, "alt", "ref", cfg)
    assert national[0]["score"] == expected
    assert national[0]["difference"] == pytest.approx(alt - 1000)
    by_region = {r["region"]: r for r in regional}
    assert by_region["A"]["score"] == "0"
    assert by_region["B"]["effect"] == pytest.approx((alt - 1000) / 400 * 100)


@pytest.mark.parametrize(("alt", "expected"), [
    (10.0, "0"), (10.2, "0"), (10.21, "0/-"), (11.0, "0/-"), (11.01, "-"), (12.0, "-"),
    (12.01, "--"), (9.8, "0"), (9.79, "0/+"), (8.0, "+"), (7.99, "++"),
])
def test_assess_share_boundaries_lower_is_better(alt: float, expected: str) -> None:
    """new housing in flood zones, share of a 400 ha zone, thresholds [0.05, 0.25, 0.5] %:
    0.2 ha, 1 ha and 2 ha."""
    cfg = ind.load_assessment()
    cfg.criteria["new_housing_flood_shallow_ha"] = settings("lower", "share", (0.05, 0.25, 0.5))
    cid = "new_housing_flood_shallow_ha"
    b = {cid: {"national": 400.0, "A": 400.0, "B": 0.0}}
    ref = _table({cid: {"national": 10.0, "A": 10.0, "B": 0.0}}, b)
    alt_t = _table({cid: {"national": alt, "A": alt, "B": 0.0}}, b)
    national, regional = cmp.assess(ref, alt_t, "alt", "ref", cfg)
    assert national[0]["score"] == expected
    assert {r["region"]: r["score"] for r in regional}["B"] == "0"  # empty zone, no change


def test_units_must_agree() -> None:
    """new homes in homes (reference) against hectares (no density): not scored."""
    cfg = ind.load_assessment()
    c = [ind.CRITERIA["new_homes"]]
    ref = ind.IndicatorTable(c, ["A"], {"new_homes": {"national": 100.0, "A": 100.0}},
                             {"new_homes": {"national": 9.0, "A": 9.0}})
    alt = ind.IndicatorTable(c, ["A"], {"new_homes": {"national": 3.0, "A": 3.0}}, ref.basis,
                             {"new_homes": "no housing density"}, {"new_homes": "ha"})
    national, regional = cmp.assess(ref, alt, "alt", "ref", cfg)
    assert national[0]["score"] == regional[0]["score"] == "n/a"
    assert "homes" in national[0]["note"] and "ha" in national[0]["note"]


def test_assess_na_and_absolute() -> None:
    cfg = ind.load_assessment()
    cid = "valuable_landscape_changed_ha"
    ref = ind.IndicatorTable([ind.CRITERIA["burden_gini"], ind.CRITERIA[cid]], ["A"],
                             {"burden_gini": {"national": 0.10},
                              cid: {"national": None, "A": None}},
                             {"burden_gini": {"national": 1.0},
                              cid: {"national": None, "A": None}},
                             {cid: "n/a: no layer 'valuable_landscape'"})
    alt = ind.IndicatorTable(ref.criteria, ["A"],
                             {"burden_gini": {"national": 0.13},
                              cid: {"national": None, "A": None}}, ref.basis, dict(ref.notes))
    national, regional = cmp.assess(ref, alt, "alt", "ref", cfg)
    rows = {r["criterion"]: r for r in national}
    assert rows["burden_gini"]["score"] == "0/-"        # +0.03 on [0.01, 0.03, 0.06]
    assert rows["burden_gini"]["effect"] == pytest.approx(-0.03)
    assert rows[cid]["score"] == "n/a" and "valuable_landscape" in rows[cid]["note"]
    assert [r["criterion"] for r in regional] == [cid]  # gini is national only


# ------------------------------------------------------------------------------------------------
# runs on tiny areas
# ------------------------------------------------------------------------------------------------
def tiny_area(folder: Path, width: int = 6) -> Path:
    """2 × width farmland with some nature; West = left half, East = right half."""
    lu = np.full((2, width), 3)
    lu[1, 0] = 2
    lu[0, width - 1] = 1
    regions = np.ones((2, width), np.int32)
    regions[:, width // 2:] = 2
    sh = np.tile(np.linspace(0.45, 0.05, width), (2, 1))  # below farmland (0.5) everywhere
    flood = np.zeros((2, width))
    flood[:, :2] = 1.0
    heritage = np.zeros((2, width), np.uint8)
    heritage[0, 1:3] = 1
    return write_area(folder, lu, regions, {1: "West", 2: "East"}, {
        "s_h": (sh, "continuous", {}), "flood_depth_2100": (flood, "continuous", {}),
        "heritage": (heritage, "mask", {})})


def tiny_scenario(path: Path, area: Path, sid: str, homes: float) -> Path:
    return write_scenario(path, {
        "id": sid, "title": f"tiny {sid}", "area": str(area),
        "housing_density": {"default": 10, "per_region": {"East": 20}, "source": SRC},
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}, "nature": {"base": 0.4}},
        "targets": [{"id": "homes", "use": "housing", "quantity": "homes", "basis": "new",
                     "min": homes, "source": SRC}],
        "rules": [{"id": "three_uses", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "nature", "agriculture"], "applies_to": "all",
                   "source": SRC}],
    })


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cmp")
    area = tiny_area(folder / "area")
    return {"area": area, "ref": tiny_scenario(folder / "ref.yaml", area, "ref", 20),
            "alt": tiny_scenario(folder / "alt.yaml", area, "alt", 60), "folder": folder}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_cli_end_to_end_on_two_scenario_files(tiny: dict[str, Path]) -> None:
    out = tiny["folder"] / "out"
    r = invoke("compare", tiny["ref"], tiny["alt"], "-o", out, "-q")
    assert r.exit_code == 0, r.output
    assert "assessment of alt against ref" in r.output and "New homes" in r.output
    for name in ("assessment.csv", "assessment_regions.csv", "assessment.md", "report.html",
                 "compare.json", "maps/alt.diff.tif", "maps/alt.diff.png",
                 "maps/alt.criteria.tif", "maps/alt.diff.qml", "runs/ref/manifest.json",
                 "runs/alt/report.html"):
        assert (out / name).is_file(), name
    national = {r["criterion"]: r for r in read_csv(out / "assessment.csv")}
    assert set(national) == set(ind.CRITERIA)
    homes = national["new_homes"]
    # housing is worth less than farmland everywhere: only the targets (20 / 60 homes) build
    assert float(homes["reference_value"]) >= 20 and float(homes["value"]) >= 60
    assert homes["score"] in ("+", "++") and homes["alternative"] == "alt"
    assert national["land_take_ha"]["score"] in ("-", "--", "0/-")
    # the difference raster is 100 x reference + alternative where they differ
    with rasterio.open(out / "runs/ref/allocation.tif") as a, \
            rasterio.open(out / "runs/alt/allocation.tif") as b, \
            rasterio.open(out / "maps/alt.diff.tif") as d:
        ra, rb, rd = a.read(1).astype(int), b.read(1).astype(int), d.read(1)
        assert d.crs == a.crs and d.transform == a.transform
    np.testing.assert_array_equal(rd, np.where(ra != rb, 100 * ra + rb, 0))
    assert (rd > 0).sum() >= 2
    with rasterio.open(out / "maps/alt.criteria.tif") as src:
        names = list(src.descriptions)
        band = src.read(names.index(next(n for n in names if n.startswith("new_homes"))) + 1)
    assert np.nansum(band) == pytest.approx(float(homes["value"]) - float(
        homes["reference_value"]))
    md = (out / "assessment.md").read_text()
    assert "| Thema | Criterium |" in md and "**" in md and "## Scores per provincie: alt" in md
    data = json.loads((out / "compare.json").read_text())
    assert data["reference"] == "ref" and data["alternatives"] == ["alt"]
    assert data["differing_ha"]["alt"] == float((rd > 0).sum())


def test_province_rows_add_up(tiny: dict[str, Path]) -> None:
    out = tiny["folder"] / "out"
    if not (out / "assessment.csv").exists():
        api.compare(tiny["ref"], [tiny["alt"]], out)
    national = {r["criterion"]: r for r in read_csv(out / "assessment.csv")}
    regional = read_csv(out / "assessment_regions.csv")
    assert {r["region"] for r in regional} == {"West", "East"}
    for cid, c in ind.CRITERIA.items():
        rows = [r for r in regional if r["criterion"] == cid]
        if not c.additive:
            assert not rows
            continue
        if national[cid]["value"] == "":
            continue
        for col in ("value", "reference_value", "difference"):
            assert sum(float(r[col]) for r in rows) == pytest.approx(
                float(national[cid][col]), abs=1e-9), (cid, col)


def test_second_run_reuses_solved_runs_and_keeps_them(tiny: dict[str, Path]) -> None:
    out = tiny["folder"] / "out2"
    api.compare(tiny["ref"], [tiny["alt"]], out)
    stamp = (out / "runs/alt/manifest.json").stat().st_mtime_ns
    stream = io.StringIO()
    api.compare(tiny["ref"], [tiny["alt"]], out, progress=Progress(stream=stream))
    messages = stream.getvalue().splitlines()
    assert any("up to date" in m for m in messages)
    assert (out / "runs/alt/manifest.json").stat().st_mtime_ns == stamp
    assert (out / "report.html").is_file() and not list(out.parent.glob(".out2.partial-*"))
    # run folders can be given directly as well
    res = api.compare(out / "runs/ref", [out / "runs/alt"], tiny["folder"] / "out3")
    assert res.reference == "ref" and res.alternatives == ["alt"]


def test_runs_on_different_grids_exit_2(tiny: dict[str, Path]) -> None:
    other_area = tiny_area(tiny["folder"] / "area8", width=8)
    other = tiny_scenario(tiny["folder"] / "wide.yaml", other_area, "wide", 20)
    ref_run = tiny["folder"] / "solo_ref"
    api.solve(tiny["ref"], ref_run)
    wide_run = tiny["folder"] / "solo_wide"
    api.solve(other, wide_run)
    r = invoke("compare", ref_run, wide_run, "-o", tiny["folder"] / "bad", "-q")
    assert r.exit_code == 2
    assert "solo_wide" in r.output and "solo_ref" in r.output and "grid" in r.output
    assert "8 x 2" in r.output and "6 x 2" in r.output
    assert not (tiny["folder"] / "bad").exists()


def test_input_errors_exit_2(tiny: dict[str, Path], tmp_path: Path) -> None:
    r = invoke("compare", tiny["ref"], tmp_path / "nothing", "-o", tmp_path / "o", "-q")
    assert r.exit_code == 2 and "neither a solved run folder" in r.output
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "summary.json").write_text("{}")
    r = invoke("compare", tmp_path / "half", tmp_path / "half", "-o", tmp_path / "o", "-q")
    assert r.exit_code == 2 and "manifest.json is missing" in r.output
    bad = tmp_path / "t.yaml"
    bad.write_text("criteria: {energy_twh: {better: more}}\n")
    r = invoke("compare", tiny["ref"], tiny["alt"], "-o", tmp_path / "o", "--thresholds", bad)
    assert r.exit_code == 2 and "criteria.energy_twh.better" in r.output
    assert not (tmp_path / "o").exists()  # nothing solved before the thresholds were checked


def test_output_folder_may_not_swallow_a_run(tiny: dict[str, Path]) -> None:
    run = tiny["folder"] / "nest" / "r"
    api.solve(tiny["ref"], run)
    with pytest.raises(InputError, match="would replace the run folder"):
        api.compare(run, [run], tiny["folder"] / "nest")
    assert (run / "manifest.json").is_file()


def test_custom_thresholds_change_the_scores(tiny: dict[str, Path], tmp_path: Path) -> None:
    out = tiny["folder"] / "out"
    if not (out / "runs/alt").exists():
        api.compare(tiny["ref"], [tiny["alt"]], out)
    f = tmp_path / "t.yaml"
    f.write_text("criteria:\n  new_homes: {mode: absolute, thresholds: [1000, 2000, 3000]}\n"
                 "  land_take_ha: {better: higher}\n")
    res = api.compare(out / "runs/ref", [out / "runs/alt"], tmp_path / "o", thresholds=f)
    rows = {r["criterion"]: r for r in res.national}
    assert rows["new_homes"]["score"] == "0" and rows["new_homes"]["mode"] == "absolute"
    assert rows["land_take_ha"]["score"] in ("0/+", "+", "++")
    assert rows["land_take_ha"]["thresholds"] == "0.01;0.05;0.2"  # the rest kept
