"""Study areas: reading layers onto the grid, and clear errors for layers that do not fit."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import yaml
from shapely.geometry import Point, box

from ruimteverdeling import api
from ruimteverdeling.area.studyarea import LayerWarning, StudyArea
from ruimteverdeling.errors import InputError

from areas import LEFT, SRC, TOP, write_area, write_scenario, write_tif

LU = np.array([[3, 3, 2], [3, 1, 3], [23, 3, 3]])


def add_layer(area_yaml: Path, name: str, spec: dict) -> None:
    m = yaml.safe_load(area_yaml.read_text())
    m["layers"][name] = spec
    area_yaml.write_text(yaml.safe_dump(m, sort_keys=False))


def error_of(fn) -> InputError:
    with pytest.raises(InputError) as info:
        fn()
    return info.value


def test_missing_file_names_field(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    add_layer(a, "flood", {"file": "nope.tif", "kind": "continuous"})
    (p,) = error_of(lambda: StudyArea.load(a)).problems
    assert p.field == "layers.flood.file" and "not found" in p.message


def test_other_crs_is_an_error_with_a_fix(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    write_tif(tmp_path / "wgs.tif", np.ones((3, 3), np.float32), 0.001, crs="EPSG:4326",
              left=5.0, top=52.0)
    add_layer(a, "flood", {"file": "wgs.tif", "kind": "continuous"})
    area = StudyArea.load(a)
    (p,) = error_of(lambda: area.layer("flood")).problems
    assert "EPSG:4326" in p.message and "gdalwarp" in p.fix


def test_extent_not_covering_is_an_error(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    write_tif(tmp_path / "small.tif", np.ones((2, 2), np.float32), 100.0)
    add_layer(a, "flood", {"file": "small.tif", "kind": "continuous"})
    area = StudyArea.load(a)
    (p,) = error_of(lambda: area.layer("flood")).problems
    assert "covers" in p.message and p.field == "layers.flood.file"


def test_finer_raster_is_resampled_with_warning(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    fine = np.repeat(np.repeat(np.arange(9, dtype=np.float32).reshape(3, 3), 2, 0), 2, 1)
    write_tif(tmp_path / "fine.tif", fine, 50.0)
    add_layer(a, "v", {"file": "fine.tif", "kind": "continuous", "resampling": "average"})
    area = StudyArea.load(a)
    with pytest.warns(LayerWarning, match="resampled"):
        data = area.layer("v").data
    np.testing.assert_allclose(data, np.arange(9).reshape(3, 3))


def test_unknown_landuse_code(tmp_path: Path) -> None:
    lu = LU.copy()
    lu[0, 0] = 99
    a = write_area(tmp_path, lu)
    (p,) = error_of(lambda: StudyArea.load(a)).problems
    assert "99" in p.message and p.field == "layers.landuse.categories"


def test_regions_must_cover_land(tmp_path: Path) -> None:
    regions = np.ones((3, 3), np.int32)
    regions[2, 2] = 0
    a = write_area(tmp_path, LU, regions)
    (p,) = error_of(lambda: StudyArea.load(a)).problems
    assert "does not cover" in p.message and "1 land cells" in p.message


def test_vector_regions_and_point_distance(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    res = 100.0
    left_half = box(LEFT, TOP - 300, LEFT + 150, TOP)
    right_half = box(LEFT + 150, TOP - 300, LEFT + 300, TOP)
    gpd.GeoDataFrame({"code": [1, 2], "name": ["West", "Oost"]},
                     geometry=[left_half, right_half], crs="EPSG:28992").to_file(
        tmp_path / "prov.gpkg", layer="provinces")
    # a station at the centre of cell (0, 0)
    gpd.GeoDataFrame({"name": ["S"]}, geometry=[Point(LEFT + 50, TOP - 50)],
                     crs="EPSG:28992").to_file(tmp_path / "st.gpkg", layer="stations")
    m = yaml.safe_load(a.read_text())
    m["layers"]["regions"] = {"file": "prov.gpkg", "layer": "provinces", "kind": "regions",
                              "attribute": "code", "name_attribute": "name"}
    m["layers"]["station_distance"] = {"file": "st.gpkg", "layer": "stations",
                                       "kind": "distance", "unit": "m"}
    a.write_text(yaml.safe_dump(m))
    area = StudyArea.load(a)
    np.testing.assert_array_equal(area.regions.data, [[1, 1, 2]] * 3)
    assert area.region_names() == {1: "West", 2: "Oost"}
    d = area.layer("station_distance").data
    expected = np.hypot(*np.meshgrid(np.arange(3) * res, np.arange(3) * res))
    np.testing.assert_allclose(d, expected, rtol=1e-6)


def test_vector_in_other_crs_is_reprojected(tmp_path: Path) -> None:
    a = write_area(tmp_path, LU)
    pts = gpd.GeoDataFrame({"name": ["S"]}, geometry=[Point(LEFT + 50, TOP - 50)],
                           crs="EPSG:28992").to_crs("EPSG:4326")
    pts.to_file(tmp_path / "st.gpkg", layer="stations")
    add_layer(a, "d", {"file": "st.gpkg", "kind": "distance", "unit": "m"})
    area = StudyArea.load(a)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        d = area.layer("d").data
    assert any(issubclass(w.category, LayerWarning) for w in rec)
    assert d[0, 0] == pytest.approx(0.0, abs=0.05)


def test_scenario_with_unknown_layer_and_use(tmp_path: Path) -> None:
    a = write_area(tmp_path / "a", LU, layers={"natura2000": ([[1, 0, 0]] * 3, "mask", {})})
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "bad", "area": str(a),
        "suitability": {"housing": {"terms": [{"layer": "natura200", "mask": 1}]}},
        "targets": [{"id": "t", "use": "houses", "min": 1, "source": SRC}],
        "rules": [{"id": "r", "type": "exclusion", "layer": "natura2000",
                   "uses": ["sollar"], "source": SRC}],
    })
    probs = error_of(lambda: api.validate(sc)).problems
    text = {p.field: p for p in probs}
    assert "did you mean 'natura2000'" in text["suitability.housing.terms[0].layer"].fix
    assert "did you mean 'housing'" in text["targets[0].use"].fix
    assert "did you mean 'solar'" in text["rules[0].uses"].fix


# ------------------------------------------------------------------------------------------
# zone buffers: cells within a distance of a mask
# ------------------------------------------------------------------------------------------
def _within_brute(mask: np.ndarray, limit: float, res: float) -> np.ndarray:
    """Every cell against every cell of the mask, distance res·√(dy² + dx²)."""
    ys, xs = np.nonzero(mask)
    out = np.zeros(mask.shape, bool)
    for y in range(mask.shape[0]):
        for x in range(mask.shape[1]):
            d2 = (ys - y) ** 2 + (xs - x) ** 2
            out[y, x] = bool((np.sqrt(d2.astype(np.float64)) * res <= limit).any())
    return out


@pytest.mark.parametrize("seed", range(4))
def test_within_distance_is_the_thresholded_distance_transform(seed: int) -> None:
    from scipy.ndimage import distance_transform_edt

    from ruimteverdeling.area.buffers import within_distance

    rng = np.random.default_rng(seed)
    mask = rng.random((23, 31)) < (0.004, 0.02, 0.1, 0.4)[seed]
    mask[rng.integers(23), rng.integers(31)] = True
    res = (100.0, 250.0, 1000.0, 33.3)[seed]
    # on the boundaries the float test decides: √2, √5, 3 cells exactly, and just off them
    limits = [0.0, 0.5 * res, res, res * np.sqrt(2.0), res * np.sqrt(5.0) + 1e-9,
              3 * res - 1e-9, 3 * res, 3 * res + 1e-9, 7.3 * res, 40 * res]
    for limit in limits:
        got = within_distance(mask, limit, res)
        np.testing.assert_array_equal(got, distance_transform_edt(~mask) * res <= limit,
                                      err_msg=f"limit {limit}")
        np.testing.assert_array_equal(got, _within_brute(mask, limit, res),
                                      err_msg=f"limit {limit}")


def test_within_distance_large_radius_and_empty_mask() -> None:
    from ruimteverdeling.area.buffers import MAX_RADIUS_CELLS, within_distance

    mask = np.zeros((5, 200), bool)
    assert not within_distance(mask, 1e6, 1.0).any()
    mask[2, 3] = True
    far = within_distance(mask, MAX_RADIUS_CELLS + 10.5, 1.0)  # the transform's branch
    np.testing.assert_array_equal(far, _within_brute(mask, MAX_RADIUS_CELLS + 10.5, 1.0))
    assert far[2, 3 + MAX_RADIUS_CELLS + 10] and not far[2, 3 + MAX_RADIUS_CELLS + 11]
