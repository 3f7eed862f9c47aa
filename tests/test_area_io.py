"""Real Dutch data as planners bring it: formats, CRS, coverage, uncovered land, categorical
resampling, distance rasters and masks with nodata — each on a small file of the real format."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import yaml
from affine import Affine
from click.testing import CliRunner
from rasterio.warp import Resampling, reproject
from shapely.geometry import Point, box

from ruimteverdeling.area.checks import check_area
from ruimteverdeling.area.coarsen import coarsen, land_blocks, plurality
from ruimteverdeling.area.readers import decode_topojson
from ruimteverdeling.area.studyarea import Layer, StudyArea
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InputError
from ruimteverdeling.rules.suitability import evaluate_term
from ruimteverdeling.scenario import SuitabilityTerm

from areas import LEFT, TOP, geojson, quiet_layer, write_area, write_tif

LU = np.full((3, 3), 3, np.uint8)


def set_layer(area_yaml: Path, name: str, spec: dict) -> None:
    m = yaml.safe_load(area_yaml.read_text())
    m["layers"][name] = spec
    area_yaml.write_text(yaml.safe_dump(m, sort_keys=False))


def problem(fn) -> object:
    with pytest.raises(InputError) as info:
        fn()
    assert len(info.value.problems) == 1, info.value.format()
    return info.value.problems[0]


HALVES = gpd.GeoDataFrame({"code": [1, 2], "name": ["West", "Oost"]},
                          geometry=[box(LEFT, TOP - 300, LEFT + 200, TOP),
                                    box(LEFT + 200, TOP - 300, LEFT + 300, TOP)],
                          crs="EPSG:28992")  # the edge between cells, not on a cell centre


# -- 2. a GeoJSON in RD New without a `crs` member -------------------------------------------
def test_geojson_in_rd_without_crs_names_rd_and_the_override_reads_it(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    geojson(tmp_path / "prov.geojson", HALVES)
    set_layer(a, "regions", {"file": "prov.geojson", "kind": "regions", "attribute": "code",
                             "name_attribute": "name"})
    p = problem(lambda: StudyArea.load(a))
    assert p.field == "layers.regions.crs" and "prov.geojson" in p.message
    assert "RD New (EPSG:28992)" in p.message and "cannot be degrees" in p.message
    assert "`crs: EPSG:28992`" in p.fix
    set_layer(a, "regions", {"file": "prov.geojson", "kind": "regions", "attribute": "code",
                             "name_attribute": "name", "crs": "EPSG:28992"})
    area = StudyArea.load(a)
    np.testing.assert_array_equal(area.regions.data, [[1, 1, 2]] * 3)
    assert area.region_names() == {1: "West", 2: "Oost"}


def test_geojson_in_lonlat_is_reprojected_and_regions_numbered_by_name(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    geojson(tmp_path / "prov.geojson", HALVES[["name", "geometry"]].to_crs("EPSG:4326"))
    set_layer(a, "regions", {"file": "prov.geojson", "kind": "regions",
                             "name_attribute": "name"})  # no numeric attribute: by name
    with pytest.warns(UserWarning, match="reprojected"):
        area = StudyArea.load(a)
    # numbered in the order of their names: Oost 1, West 2
    np.testing.assert_array_equal(area.regions.data, [[2, 2, 1]] * 3)
    assert area.region_names() == {1: "Oost", 2: "West"}


def test_bad_crs_override_and_projected_file_holding_lonlat(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    set_layer(a, "regions", {"file": "regions.tif", "kind": "regions", "crs": "EPSG:999999"})
    p = problem(lambda: StudyArea.load(a))
    assert p.field == "layers.regions.crs" and "unknown CRS" in p.message
    HALVES.to_crs("EPSG:4326").set_crs("EPSG:28992", allow_override=True).to_file(
        tmp_path / "wrong.gpkg")
    set_layer(a, "regions", {"file": "wrong.gpkg", "kind": "regions", "attribute": "code"})
    p = problem(lambda: StudyArea.load(a))
    assert "look like longitude/latitude" in p.message and "crs: EPSG:4326" in p.fix


# -- 1. CSV points and TopoJSON -----------------------------------------------------------------
def stations_lonlat() -> gpd.GeoSeries:
    """Two stations at the centres of cells (0, 0) and (2, 2), in longitude/latitude."""
    return gpd.GeoSeries([Point(LEFT + 50, TOP - 50), Point(LEFT + 250, TOP - 250)],
                         crs="EPSG:28992").to_crs("EPSG:4326")


def test_csv_of_stations_with_latitude_longitude_columns(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    st = stations_lonlat()
    # semicolons, decimal commas and mixed-case names, as a Dutch spreadsheet writes them
    rows = "".join(f"S{i};{str(p.y).replace('.', ',')};{str(p.x).replace('.', ',')}\n"
                   for i, p in enumerate(st))
    (tmp_path / "stations.csv").write_text("Naam;Latitude;LONGITUDE\n" + rows)
    set_layer(a, "d", {"file": "stations.csv", "kind": "distance", "unit": "m"})
    set_layer(a, "m", {"file": "stations.csv", "kind": "mask"})
    area = StudyArea.load(a)
    d = quiet_layer(area, "d").data
    r, c = np.indices((3, 3))
    expected = np.minimum(np.hypot(r, c), np.hypot(r - 2, c - 2)) * 100.0
    np.testing.assert_allclose(d, expected, atol=0.05)
    np.testing.assert_array_equal(quiet_layer(area, "m").data, np.eye(3, dtype=np.uint8)
                                  * [[1, 0, 0], [0, 0, 0], [0, 0, 1]])
    assert area.layer_coverage("m").cells == 2


def test_csv_x_y_in_the_grid_crs_and_its_mistakes(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    (tmp_path / "rd.csv").write_text(f"x,y\n{LEFT + 150},{TOP - 150}\n")
    set_layer(a, "d", {"file": "rd.csv", "kind": "distance"})
    area = StudyArea.load(a)
    assert area.layer("d").data[1, 1] == pytest.approx(0.0)
    # x/y columns holding degrees
    p0 = stations_lonlat()[0]
    (tmp_path / "deg.csv").write_text(f"X,Y\n{p0.x},{p0.y}\n")
    set_layer(a, "d", {"file": "deg.csv", "kind": "distance"})
    p = problem(lambda: StudyArea.load(a).layer("d"))
    assert "look like longitude/latitude" in p.message and p.field == "layers.d.crs"
    # latitude and longitude swapped
    (tmp_path / "swap.csv").write_text(f"lon,lat\n{p0.y},{p0.x}\n")
    set_layer(a, "d", {"file": "swap.csv", "kind": "distance"})
    p = problem(lambda: quiet_layer(StudyArea.load(a), "d"))
    assert "x and y exchanged" in p.message and "longitude first" in p.fix
    # points cannot make regions; a line without coordinates is named
    (tmp_path / "gap.csv").write_text(f"x,y\n{LEFT},{TOP}\n,\n")
    set_layer(a, "d", {"file": "gap.csv", "kind": "distance"})
    p = problem(lambda: StudyArea.load(a).layer("d"))
    assert "line 3" in p.message and "gap.csv" in p.message
    set_layer(a, "d", {"file": "rd.csv", "kind": "regions", "attribute": "x"})
    p = problem(lambda: StudyArea.load(a).layer("d"))
    assert p.field == "layers.d.kind" and "kind: distance" in p.fix
    # no coordinate columns: the columns are listed and `columns:` offered
    (tmp_path / "odd.csv").write_text(f"oost,noord\n{LEFT},{TOP}\n")
    set_layer(a, "d", {"file": "odd.csv", "kind": "distance"})
    p = problem(lambda: StudyArea.load(a).layer("d"))
    assert "oost, noord" in p.message and "columns: [X, Y]" in p.fix
    set_layer(a, "d", {"file": "odd.csv", "kind": "distance", "columns": ["oost", "noord"]})
    assert StudyArea.load(a).layer("d").data[0, 0] == pytest.approx(np.hypot(50, 50))


def topology(lonlat: bool) -> dict:
    """Two regions sharing their middle edge as one arc, quantised and delta-encoded, with
    "type" written LAST (the order GDAL cannot read)."""
    corners = {"tl": (LEFT, TOP), "tm": (LEFT + 200, TOP), "tr": (LEFT + 300, TOP),
               "bl": (LEFT, TOP - 300), "bm": (LEFT + 200, TOP - 300),
               "br": (LEFT + 300, TOP - 300)}
    if lonlat:
        pts = gpd.GeoSeries([Point(v) for v in corners.values()], crs="EPSG:28992").to_crs(
            "EPSG:4326")
        corners = {k: (p.x, p.y) for k, p in zip(corners, pts, strict=True)}
    xs = [v[0] for v in corners.values()]
    ys = [v[1] for v in corners.values()]
    n = 100_000
    sx, sy = (max(xs) - min(xs)) / (n - 1), (max(ys) - min(ys)) / (n - 1)
    tx, ty = min(xs), min(ys)

    def q(key: str) -> list[int]:
        x, y = corners[key]
        return [round((x - tx) / sx), round((y - ty) / sy)]

    def arc(*keys: str) -> list[list[int]]:
        pts = [q(k) for k in keys]
        return [pts[0]] + [[b[0] - a[0], b[1] - a[1]] for a, b in pairwise(pts)]

    return {
        "arcs": [arc("tm", "bm"), arc("bm", "bl", "tl", "tm"), arc("tm", "tr", "br", "bm")],
        "objects": {"provincies": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1]], "properties": {"code": 1, "naam": "West"}},
            {"type": "Polygon", "arcs": [[2, -1]], "properties": {"code": 2, "naam": "Oost"}},
        ]}},
        "transform": {"scale": [sx, sy], "translate": [tx, ty]},
        "type": "Topology",
    }


def test_topojson_regions_decoded_with_lonlat_default(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    (tmp_path / "prov.json").write_text(json.dumps(topology(lonlat=True)))
    set_layer(a, "regions", {"file": "prov.json", "kind": "regions", "attribute": "code",
                             "name_attribute": "naam"})
    with pytest.warns(UserWarning, match="reprojected from EPSG:4326"):
        area = StudyArea.load(a)
    np.testing.assert_array_equal(area.regions.data, [[1, 1, 2]] * 3)
    assert area.region_names() == {1: "West", 2: "Oost"}
    # the same topology in RD New metres: advice names RD New, not "assign a CRS"
    (tmp_path / "prov_rd.topojson").write_text(json.dumps(topology(lonlat=False)))
    set_layer(a, "regions", {"file": "prov_rd.topojson", "kind": "regions",
                             "attribute": "code"})
    p = problem(lambda: StudyArea.load(a))
    assert "TopoJSON" in p.message and "RD New (EPSG:28992)" in p.message
    set_layer(a, "regions", {"file": "prov_rd.topojson", "kind": "regions",
                             "attribute": "code", "crs": "EPSG:28992"})
    np.testing.assert_array_equal(StudyArea.load(a).regions.data, [[1, 1, 2]] * 3)


def test_topojson_decoding_by_hand() -> None:
    topo = {"type": "Topology", "arcs": [[[0, 0], [2, 0]], [[2, 0], [2, 3]]]}
    obj = {"type": "GeometryCollection", "geometries": [
        {"type": "LineString", "arcs": [0, 1], "id": "a"},
        {"type": "LineString", "arcs": [-2], "properties": {"k": 1}},
        {"type": "Point", "coordinates": [5, 6]},
        {"type": None}]}
    recs, geoms = decode_topojson(topo, obj)
    assert [list(g.coords) for g in geoms] == [[(0, 0), (2, 0), (2, 3)], [(2, 3), (2, 0)],
                                              [(5, 6)]]
    assert recs == [{"id": "a"}, {"k": 1}, {}]
    # quantised: positions are delta-encoded; points are not
    topo = {"type": "Topology", "transform": {"scale": [10, 100], "translate": [1, 2]},
            "arcs": [[[0, 0], [1, 0], [0, 2]]]}
    _, geoms = decode_topojson(topo, {"type": "LineString", "arcs": [0]})
    assert list(geoms[0].coords) == [(1, 2), (11, 2), (11, 202)]
    _, geoms = decode_topojson(topo, {"type": "Point", "coordinates": [3, 4]})
    assert list(geoms[0].coords) == [(31, 402)]


def test_unreadable_layer_is_one_problem_naming_the_formats(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    (tmp_path / "junk.dat").write_bytes(b"\x00\x01 not a geodata file")
    set_layer(a, "x", {"file": "junk.dat", "kind": "mask"})
    area = StudyArea.load(a)
    probs = area.check_layers()
    assert len(probs) == 1 and probs[0].field == "layers.x.file"
    assert "GeoPackage" in probs[0].fix and "CSV" in probs[0].fix


# -- 3. coverage: empty and almost empty layers, swapped coordinates --------------------------
def test_empty_mask_and_off_grid_layers_are_loud(tmp_path: Path) -> None:
    lu = np.full((10, 10), 3, np.uint8)
    tiny = np.zeros((10, 10), np.uint8)
    tiny[0, 0] = 1
    a = write_area(tmp_path, lu, layers={"n2k": (np.zeros((10, 10)), "mask", {}),
                                         "small": (tiny, "mask", {})})
    area = StudyArea.load(a)
    cov = area.layer_coverage("n2k")
    assert cov.empty and cov.cells == 0 and cov.land_cells == 100
    report = check_area(area)
    assert report.coverage["n2k"].empty and not report.coverage["small"].empty
    text = "\n".join(w.format() for w in report.warnings)
    assert "n2k.tif covers none of the study area" in text and "G rule" in text
    assert "covers almost none" not in text  # 1 of 100 cells is 1 %, not "almost none"
    # stations far away: a warning with the distance, not an error
    gpd.GeoDataFrame(geometry=[Point(LEFT + 50_000, TOP)], crs="EPSG:28992").to_file(
        tmp_path / "far.gpkg")
    set_layer(a, "far", {"file": "far.gpkg", "kind": "distance"})
    report = check_area(StudyArea.load(a))
    far = [w for w in report.warnings if w.field == "layers.far"]
    assert len(far) == 1 and "none of the 1 features" in far[0].message
    assert "[covers" not in far[0].message
    lines = [c.line() for c in report.layers]
    assert any(ln.startswith("n2k") and "covers   0.0%" in ln for ln in lines)


def test_natura2000_with_swapped_lonlat_is_an_error(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    site = gpd.GeoSeries([box(LEFT, TOP - 200, LEFT + 200, TOP)], crs="EPSG:28992").to_crs(
        "EPSG:4326")
    flipped = gpd.GeoDataFrame({"naam": ["site"]},
                               geometry=[shapely.transform(site[0], lambda xy: xy[:, ::-1])])
    geojson(tmp_path / "n2k.geojson", flipped)
    set_layer(a, "natura2000", {"file": "n2k.geojson", "kind": "mask"})
    p = problem(lambda: quiet_layer(StudyArea.load(a), "natura2000"))
    assert "x and y exchanged" in p.message and p.field == "layers.natura2000.crs"


def test_vector_mask_covering_almost_none_is_warned(tmp_path: Path) -> None:
    lu = np.full((40, 40), 3, np.uint8)  # 1,600 land cells; one covered is 0.06 %
    a = write_area(tmp_path, lu)
    gpd.GeoDataFrame(geometry=[box(LEFT + 10, TOP - 90, LEFT + 90, TOP - 10),
                               box(LEFT - 9000, TOP, LEFT - 8000, TOP + 1000)],
                     crs="EPSG:28992").to_file(tmp_path / "n.gpkg")
    set_layer(a, "nnn", {"file": "n.gpkg", "kind": "mask"})
    area = StudyArea.load(a)
    cov = area.layer_coverage("nnn")
    assert (cov.cells, cov.features, cov.features_on_grid) == (1, 2, 1) and cov.almost_empty
    w = [w for w in check_area(area).warnings if w.field == "layers.nnn"]
    assert len(w) == 1 and "almost none" in w[0].message and "1 of its 2 features" in w[0].message


# -- 4. land no region covers -------------------------------------------------------------------
LAKE = box(LEFT + 200, TOP - 300, LEFT + 400, TOP - 200)  # cells (2, 2) and (2, 3)


def lake_area(tmp_path: Path, uncovered: str | None = None) -> Path:
    lu = np.full((5, 6), 3, np.uint8)
    lu[2, 2:4] = 23  # water: part of the study area
    a = write_area(tmp_path, lu)
    west = box(LEFT, TOP - 500, LEFT + 300, TOP).difference(LAKE)
    east = box(LEFT + 300, TOP - 500, LEFT + 600, TOP).difference(LAKE)
    gpd.GeoDataFrame({"naam": ["West", "Oost"]}, geometry=[west, east],
                     crs="EPSG:28992").to_file(tmp_path / "prov.gpkg")
    spec = {"file": "prov.gpkg", "kind": "regions", "name_attribute": "naam"}
    if uncovered:
        spec["uncovered"] = uncovered
    set_layer(a, "regions", spec)
    return a


def test_uncovered_lake_error_names_count_nearest_region_and_options(tmp_path: Path) -> None:
    a = lake_area(tmp_path)
    p = problem(lambda: StudyArea.load(a))
    assert p.field == "layers.regions"
    assert "2 land cells (2 ha) have no region" in p.message
    assert "West 1 (1 ha)" in p.message and "Oost 1 (1 ha)" in p.message
    assert "uncovered: nearest" in p.fix and "uncovered: outside" in p.fix
    assert "area uncovered" in p.fix
    r = CliRunner().invoke(main, ["area", "uncovered", str(a)])
    assert r.exit_code == 0, r.output
    cells = gpd.read_file(tmp_path / "uncovered_regions.gpkg")
    assert sorted(zip(cells["row"], cells["col"], cells["nearest_region"], strict=True)) == [
        (2, 2, "West"), (2, 3, "Oost")]
    assert cells["distance_m"].tolist() == [100.0, 100.0]
    # a file of the user's own at that place is never replaced
    (tmp_path / "mine.gpkg").write_text("my notes")
    r = CliRunner().invoke(main, ["area", "uncovered", str(a), "-o",
                                  str(tmp_path / "mine.gpkg")])
    assert r.exit_code == 2 and (tmp_path / "mine.gpkg").read_text() == "my notes"


def test_uncovered_nearest_and_outside(tmp_path: Path) -> None:
    a = lake_area(tmp_path / "n", "nearest")
    with pytest.warns(UserWarning, match="assigned to the nearest region"):
        area = StudyArea.load(a)
    names = area.region_names()
    ids = {v: k for k, v in names.items()}
    assert area.regions.data[2, 2] == ids["West"] and area.regions.data[2, 3] == ids["Oost"]
    assert area.land.sum() == 30
    assert any("uncovered: nearest" in w.message for w in check_area(area).warnings)
    a = lake_area(tmp_path / "o", "outside")
    with pytest.warns(UserWarning, match="left out of the study area"):
        area = StudyArea.load(a)
    assert area.land.sum() == 28 and not area.land[2, 2:4].any()
    assert area.land_area_ha == pytest.approx(28.0)
    assert (area.current_use[2, 2:4] == 0).all()
    set_layer(a, "landuse", {"file": "landuse.tif", "kind": "categorical",
                             "categories": {3: "agriculture", 23: "water"},
                             "uncovered": "nearest"})
    p = problem(lambda: StudyArea.load(a))
    assert p.field == "layers.landuse.uncovered"


def test_outside_category_leaves_the_sea_out(tmp_path: Path) -> None:
    lu = np.array([[3, 3, 83], [3, 3, 83], [3, 3, 83]], np.uint8)
    a = write_area(tmp_path, lu)
    set_layer(a, "landuse", {"file": "landuse.tif", "kind": "categorical",
                             "categories": {3: "agriculture", 83: "outside"}})
    area = StudyArea.load(a)
    assert area.land.sum() == 6 and not area.land[:, 2].any()


# -- 5. categorical resampling keeps the area with data ------------------------------------------
def coast_and_rivers(n: int = 96) -> np.ndarray:
    """A 25 m land-use raster: land (3) below a wavy coast, nodata 0 (sea) above it, with
    one-cell-wide rivers of water (23) through the land."""
    r, c = np.indices((n, n))
    coast = 30 + 9 * np.sin(c / 5.0) + 4 * np.sin(c / 1.7)
    lu = np.where(r > coast, 3, 0).astype(np.uint8)
    lu[(lu == 3) & ((c % 13 == 5) | (r % 17 == 3))] = 23
    return lu


def test_mode_resampling_keeps_the_land_area(tmp_path: Path) -> None:
    fine = coast_and_rivers()
    n = fine.shape[0]
    write_tif(tmp_path / "lu25.tif", fine, 25.0, nodata=0)
    a = write_area(tmp_path, np.full((n // 4, n // 4), 3, np.uint8))
    set_layer(a, "landuse", {"file": "lu25.tif", "kind": "categorical", "resampling": "mode",
                             "categories": {3: "agriculture", 23: "water"}})
    with pytest.warns(UserWarning, match="resampled with 'mode'"):
        area = StudyArea.load(a)
    fine_ha = float((fine > 0).sum()) * 0.0625
    dev = (area.land_area_ha - fine_ha) / fine_ha
    assert abs(dev) < 0.01, dev
    # GDAL's mode alone (nodata ignored) grows the land by every partly covered cell:
    # the test would fail on it
    naive = np.zeros((n // 4, n // 4), np.uint8)
    reproject(fine, naive, src_transform=Affine(25, 0, LEFT, 0, -25, TOP), src_crs="EPSG:28992",
              src_nodata=0, dst_transform=Affine(100, 0, LEFT, 0, -100, TOP),
              dst_crs="EPSG:28992", dst_nodata=0, resampling=Resampling.mode)
    assert (float((naive > 0).sum()) - fine_ha) / fine_ha > 0.03
    # exactly: land where more than half of the 4 x 4 block has data (ties on the
    # checkerboard), and the most frequent class among the cells with data, wherever the
    # block has no tie between classes
    np.testing.assert_array_equal(area.land, land_blocks(fine > 0, 4))
    blocks = fine.reshape(n // 4, 4, n // 4, 4).transpose(0, 2, 1, 3).reshape(n // 4, n // 4, 16)
    counts = np.stack([(blocks == 3).sum(2), (blocks == 23).sum(2)])
    clear = area.land & (counts[0] != counts[1])
    expected = np.where(counts[0] > counts[1], area.catalogue["agriculture"].code,
                        area.catalogue["water"].code)
    np.testing.assert_array_equal(area.current_use[clear], expected[clear])


def test_coarsening_keeps_land_and_gives_every_land_cell_a_region(tmp_path: Path,
                                                                  monkeypatch) -> None:
    monkeypatch.setenv("RUIMTEVERDELING_CACHE", str(tmp_path / "cache"))
    fine = coast_and_rivers()
    regions = np.where(fine > 0, 1 + (np.indices(fine.shape)[1] % 3), 0).astype(np.int32)
    a = write_area(tmp_path / "fine", fine, regions, {1: "A", 2: "B", 3: "C"}, resolution=25.0)
    m = yaml.safe_load(a.read_text())
    m["layers"]["landuse"]["categories"] = {3: "agriculture", 23: "water"}
    a.write_text(yaml.safe_dump(m))
    path, report = coarsen(a, 100.0, tmp_path / "cache")
    assert abs(report["study_area"]["deviation"]) < 0.01
    coarse = StudyArea.load(path)  # would fail if a coarse land cell had no region
    assert (coarse.regions.data[coarse.land] > 0).all()
    np.testing.assert_array_equal(coarse.land, land_blocks(fine > 0, 4))


def test_land_blocks_and_plurality_by_hand() -> None:
    a = np.array([[1, 1, 2, 2],
                  [1, 3, 2, 0],
                  [0, 0, 5, 5],
                  [0, 4, 5, 6]], np.int32)
    land = a > 0
    assert land_blocks(land, 2).tolist() == [[True, True], [False, True]]
    assert plurality(a, 2, land).tolist() == [[1, 2], [4, 5]]
    # exactly half: inside on even row + column (a checkerboard), outside on odd
    half = np.array([[1, 0, 1, 0], [1, 0, 1, 0]], bool)
    assert land_blocks(half, 2).tolist() == [[True, False]]
    # padding beyond the edge counts as outside; ties go to the smaller code
    row = np.array([[7, 8, 9]], np.int32)
    assert land_blocks(row > 0, 2).tolist() == [[True, False]]
    assert plurality(row, 2, row > 0).tolist() == [[7, 9]]


# -- 10. distance rasters and masks with nodata ----------------------------------------------------
def test_zero_one_raster_becomes_distances(tmp_path: Path) -> None:
    st = np.zeros((4, 5), np.uint8)
    st[1, 3] = 1
    a = write_area(tmp_path, np.full((4, 5), 3, np.uint8),
                   layers={"station_distance": (st, "distance", {"unit": "m"})})
    d = StudyArea.load(a).layer("station_distance").data
    r, c = np.indices((4, 5))
    np.testing.assert_allclose(d, np.hypot(r - 1, c - 3) * 100.0, rtol=1e-6)
    assert d[1, 3] == 0.0 and d[3, 0] == pytest.approx(np.hypot(2, 3) * 100)
    # a finer 0/1 raster: a feature anywhere in a cell makes it a feature cell (max)
    fine = np.zeros((8, 10), np.uint8)
    fine[3, 7] = 1  # inside coarse cell (1, 3)
    write_tif(tmp_path / "fine.tif", fine, 50.0)
    set_layer(a, "station_distance", {"file": "fine.tif", "kind": "distance"})
    d2 = quiet_layer(StudyArea.load(a), "station_distance").data
    np.testing.assert_allclose(d2, d, rtol=1e-6)


def test_distance_raster_mistakes(tmp_path: Path) -> None:
    measured = np.random.default_rng(0).uniform(10, 5000, (3, 3)).astype(np.float32)
    a = write_area(tmp_path, LU, layers={"d": (measured, "distance", {}),
                                         "z": (np.zeros((3, 3)), "distance", {})})
    area = StudyArea.load(a)
    p = problem(lambda: area.layer("d"))
    assert "kind: continuous" in p.fix and p.field == "layers.d.kind"
    p = problem(lambda: area.layer("z"))
    assert "no non-zero cell" in p.message


def test_mask_term_counts_nodata_as_outside(tmp_path: Path) -> None:
    v = np.array([[1.0, 0.0, -9999.0], [2.0, -9999.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    a = write_area(tmp_path, LU)
    write_tif(tmp_path / "zone.tif", v, 100.0, nodata=-9999.0)
    set_layer(a, "zone", {"file": "zone.tif", "kind": "continuous"})
    area = StudyArea.load(a)
    layer = area.layer("zone")
    assert np.isnan(layer.data[0, 2]) and np.isnan(layer.data[1, 1])
    term = SuitabilityTerm(layer="zone", mask=1.0, other=-0.5)
    got = evaluate_term(term, layer, np.arange(9))
    np.testing.assert_array_equal(got.reshape(3, 3), [[1, -0.5, -0.5], [1, -0.5, 1],
                                                      [-0.5, -0.5, -0.5]])
    # the same through a layer built in memory (NaN, no file)
    mem = Layer("m", layer.spec, np.array([np.nan, 0.0, 3.0], np.float32))
    assert evaluate_term(term, mem, np.arange(3)).tolist() == [-0.5, -0.5, 1.0]


def test_rasterio_reads_what_the_tests_write(tmp_path: Path) -> None:
    """The helper writes real GeoTIFFs with the declared nodata (guards the tests above)."""
    write_tif(tmp_path / "t.tif", np.zeros((2, 2), np.uint8), 25.0, nodata=0)
    with rasterio.open(tmp_path / "t.tif") as src:
        assert src.nodata == 0 and src.res == (25.0, 25.0)


def test_validate_prints_coverage_and_the_empty_mask_warning(tmp_path: Path) -> None:
    from areas import write_scenario

    a = write_area(tmp_path / "a", np.full((4, 4), 3, np.uint8),
                   layers={"natura2000": (np.zeros((4, 4)), "mask", {})})
    sc = write_scenario(tmp_path / "s.yaml", {"id": "s", "area": str(a), "targets": []})
    r = CliRunner().invoke(main, ["validate", str(sc), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.strip().startswith("natura2000"))
    assert "covers   0.0%" in line
    assert "warning:" in r.output and "natura2000.tif covers none of the study area" in r.output
