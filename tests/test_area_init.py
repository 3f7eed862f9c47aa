"""The starter for real Dutch data: the BBG and LGN code lists, the layer sources, and
`ruimteverdeling area init` on a planner's folder of real-format files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from shapely.geometry import Point, box

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.cli import main

from areas import geojson, quiet_layer, write_tif


def test_code_lists_map_to_known_uses_and_are_told_apart() -> None:
    from ruimteverdeling.area.codelists import codelist, detect, sources
    from ruimteverdeling.uses import UseCatalogue

    cat = UseCatalogue.default()
    bbg, lgn = codelist("bbg"), codelist("lgn")
    assert len(bbg.codes) == 38  # CBS: 38 categories in nine main groups
    assert len({c.group for c in bbg.codes.values()}) == 9
    assert len([c for c in lgn.codes.values() if c.verified]) == 48  # LGN2020's legend
    for cl in (bbg, lgn):
        assert all(c.use in cat or c.use == "outside" for c in cl.codes.values())
    assert bbg.codes[20].use == "housing" and bbg.codes[83].use == "outside"
    assert detect([20, 51, 60, 72]) is bbg and detect([1, 2, 18, 25, 333]) is lgn
    assert detect([20, 22, 24], "lgn2020.tif") is lgn and detect([999]) is None
    assert bbg.matches_column("BG2017") and not bbg.matches_column("bg")
    src = sources()
    assert {"landuse", "regions", "natura2000", "station_distance"} <= set(src)
    assert src["regions"].required and "provinciegebied" in src["regions"].where()


def dutch_folder(folder: Path) -> Path:
    """A planner's folder: BBG polygons (RD), provinces as GeoJSON in lon/lat without `crs`,
    Natura 2000, a station CSV with latitude/longitude and an unrelated water Shapefile."""
    folder.mkdir(parents=True)
    x0, y0 = 140_000.0, 450_000.0
    cells = [box(x0 + 1000 * i, y0 + 1000 * j, x0 + 1000 * (i + 1), y0 + 1000 * (j + 1))
             for i in range(4) for j in range(3)]
    codes = [20, 51, 60, 24, 11, 51, 51, 70, 51, 61, 51, 51]
    gpd.GeoDataFrame({"bg2015": codes}, geometry=cells, crs="EPSG:28992").to_file(
        folder / "BBG2015.gpkg", layer="bbg2015")
    prov = gpd.GeoDataFrame({"statcode": ["PV26", "PV25"], "statnaam": ["Utrecht", "Gelderland"]},
                            geometry=[box(x0, y0, x0 + 2000, y0 + 3000),
                                      box(x0 + 2000, y0, x0 + 4000, y0 + 3000)],
                            crs="EPSG:28992").to_crs("EPSG:4326")
    geojson(folder / "provincies.geojson", prov)
    gpd.GeoDataFrame({"naam_n2k": ["Site"]}, geometry=[box(x0, y0, x0 + 1000, y0 + 1000)],
                     crs="EPSG:28992").to_file(folder / "natura2000.gpkg")
    p = gpd.GeoSeries([Point(x0 + 2500, y0 + 1500)], crs="EPSG:28992").to_crs("EPSG:4326")[0]
    (folder / "treinstations.csv").write_text(f"code,Latitude,Longitude\nUT,{p.y},{p.x}\n")
    gpd.GeoDataFrame({"naam": ["meer"]}, geometry=[box(x0, y0, x0 + 500, y0 + 500)],
                     crs="EPSG:28992").to_file(folder / "grote_wateren.shp")
    return folder


def test_area_init_writes_a_loadable_area_and_lists_what_is_missing(tmp_path: Path) -> None:
    folder = dutch_folder(tmp_path / "data")
    r = CliRunner().invoke(main, ["area", "init", str(folder), "--resolution", "500"])
    assert r.exit_code == 0, r.output
    m = yaml.safe_load((folder / "area.yaml").read_text())
    assert m["grid"] == {"crs": "EPSG:28992", "width": 8, "height": 6, "resolution": 500.0,
                         "left": 140_000.0, "top": 453_000.0}
    layers = m["layers"]
    assert layers["landuse"]["attribute"] == "bg2015"
    assert layers["landuse"]["categories"][70] == "water"
    assert layers["regions"]["name_attribute"] == "statnaam"
    assert layers["natura2000"]["kind"] == "mask"
    assert layers["station_distance"]["file"] == "treinstations.csv"
    assert "municipalities" not in layers  # the water Shapefile is not taken for one
    assert "grote_wateren.shp" in r.output and "not used" in r.output
    assert "elevation" in r.output and "https://service.pdok.nl/rws/ahn/wms/v1_0" in r.output
    area = StudyArea.load(folder / "area.yaml")
    assert area.land.sum() == 48 and area.region_names() == {1: "Gelderland", 2: "Utrecht"}
    assert quiet_layer(area, "station_distance").data.min() == pytest.approx(np.hypot(250, 250),
                                                                       rel=1e-5)
    assert area.layer_coverage("natura2000").cells == 4
    # the unchanged starter is replaced; an edited one, or a user's own file, never
    r = CliRunner().invoke(main, ["area", "init", str(folder), "--resolution", "1000"])
    assert r.exit_code == 0 and "replacing the previous starter" in r.output
    edited = (folder / "area.yaml").read_text() + "# my note\n"
    (folder / "area.yaml").write_text(edited)
    r = CliRunner().invoke(main, ["area", "init", str(folder)])
    assert r.exit_code == 2 and "was not written by" in r.output
    assert (folder / "area.yaml").read_text() == edited


def test_area_init_states_the_crs_of_rd_geojson_and_takes_an_extent(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    write_tif(folder / "lgn2020.tif", np.array([[1, 18, 16], [11, 25, 1]], np.uint8), 250.0,
              left=150_000.0, top=460_000.0)
    geojson(folder / "provincie.geojson", gpd.GeoDataFrame(
        {"naam": ["Utrecht"]}, geometry=[box(150_000, 459_500, 150_750, 460_000)]))
    r = CliRunner().invoke(main, ["area", "init", str(folder), "--resolution", "250",
                                  "--extent", "150000,459500,150750,460000"])
    assert r.exit_code == 0, r.output
    m = yaml.safe_load((folder / "area.yaml").read_text())
    assert m["layers"]["regions"]["crs"] == "EPSG:28992"
    assert m["layers"]["landuse"]["categories"][18] == "housing"
    assert (m["grid"]["width"], m["grid"]["height"]) == (3, 2)
    area = StudyArea.load(folder / "area.yaml")
    assert area.land.sum() == 6 and area.region_names() == {1: "Utrecht"}
    r = CliRunner().invoke(main, ["area", "init", str(folder), "--extent", "1,2,3",
                                  "--output", str(tmp_path / "x.yaml")])
    assert r.exit_code == 2 and "--extent" in r.output and not (tmp_path / "x.yaml").exists()


def test_area_init_refuses_a_users_area_yaml(tmp_path: Path) -> None:
    folder = dutch_folder(tmp_path / "data")
    (folder / "area.yaml").write_text("name: mine\n")
    r = CliRunner().invoke(main, ["area", "init", str(folder)])
    assert r.exit_code == 2 and "left as it is" in r.output
    assert (folder / "area.yaml").read_text() == "name: mine\n"
    assert "Traceback" not in r.output


