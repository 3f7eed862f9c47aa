"""Tests for the synthetic study-area generator (``ruimteverdeling.synthetic``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import rasterize
from scipy import ndimage
from shapely.geometry import Polygon

from ruimteverdeling import synthetic
from ruimteverdeling.area.manifest import load_manifest
from ruimteverdeling.synthetic import codes
from ruimteverdeling.synthetic.geography import load_geography
from ruimteverdeling.synthetic.world import build_world

MID_CELLS, MID_RES = 40_000, 1000.0


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def _rasters(area_yaml: Path) -> dict[str, np.ndarray]:
    m = load_manifest(area_yaml)
    return {name: _read(area_yaml.parent / spec.file)
            for name, spec in m.layers.items() if spec.file.endswith(".tif")}


def _provinces_raster(area_yaml: Path) -> np.ndarray:
    m = load_manifest(area_yaml)
    g = m.grid
    prov = gpd.read_file(area_yaml.parent / "provinces.gpkg", layer="provinces")
    transform = rasterio.transform.from_origin(g.left, g.top, g.resolution, g.resolution)
    return rasterize(zip(prov.geometry, prov["code"], strict=True), out_shape=(g.height, g.width),
                     transform=transform, fill=0, dtype="int32")


def _to_grid_mask(area_yaml: Path, polygon_km: Sequence[tuple[float, float]]) -> np.ndarray:
    """Rasterise a geography polygon (km, world) onto the (possibly scaled) grid."""
    m = load_manifest(area_yaml)
    g, s = m.grid, m.generator["scale_factor"]
    ox, oy = m.generator["scale_origin"]
    poly = Polygon([(ox + (x * 1000 - ox) * s, oy + (y * 1000 - oy) * s) for x, y in polygon_km])
    transform = rasterio.transform.from_origin(g.left, g.top, g.resolution, g.resolution)
    return rasterize([poly], out_shape=(g.height, g.width), transform=transform).astype(bool)


@pytest.fixture(scope="module")
def mid_area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.make_area(tmp_path_factory.mktemp("mid"), MID_CELLS, MID_RES, seed=1)


def test_manifest_files_and_grid(mid_area: Path) -> None:
    m = load_manifest(mid_area)
    assert m.grid.crs == "EPSG:28992"
    assert m.current_use == "landuse" and m.layers["landuse"].kind == "categorical"
    assert m.layers["landuse"].categories == synthetic.USE_CODES
    assert m.layers["regions"].kind == "regions"
    for name, spec in m.layers.items():
        path = mid_area.parent / spec.file
        assert path.exists(), name
        assert spec.source == "synthetic (ruimteverdeling make-area, seed 1)"
        if spec.kind == "continuous":
            assert spec.unit
        if spec.kind in ("categorical",) or (spec.kind == "regions" and path.suffix == ".tif"):
            assert spec.categories, name
        if path.suffix != ".tif":
            continue
        with rasterio.open(path) as src:
            assert src.crs.to_epsg() == 28992, name
            assert (src.width, src.height) == (m.grid.width, m.grid.height), name
            assert src.transform.a == m.grid.resolution and src.transform.e == -m.grid.resolution
            assert (src.transform.c, src.transform.f) == (m.grid.left, m.grid.top), name
            assert src.profile["tiled"] and src.profile["compress"] == "deflate", name
    for gpkg, layer in (("provinces.gpkg", "provinces"), ("stations.gpkg", "stations"),
                        ("railways.gpkg", "railways")):
        df = gpd.read_file(mid_area.parent / gpkg, layer=layer)
        assert df.crs.to_epsg() == 28992 and len(df) > 0
    gen = m.generator
    assert gen["seed"] == 1 and gen["cells_requested"] == MID_CELLS
    assert abs(sum(gen["shares"].values()) - 1.0) < 1e-3


@pytest.mark.parametrize(("cells", "res"), [(MID_CELLS, MID_RES), (3_000, 2000.0),
                                            (15_000, 500.0), (60_000, 100.0), (400, 250.0)])
def test_cell_count_close_to_request(tmp_path: Path, mid_area: Path, cells: int,
                                     res: float) -> None:
    path = mid_area if (cells, res) == (MID_CELLS, MID_RES) else \
        synthetic.make_area(tmp_path, cells, res, seed=1)
    lu = _read(path.parent / "landuse.tif")
    n = int((lu > 0).sum())
    assert abs(n - cells) <= 0.03 * cells
    assert load_manifest(path).generator["cells_produced"] == n


def test_shares_in_range(mid_area: Path) -> None:
    lu = _read(mid_area.parent / "landuse.tif")
    n = (lu > 0).sum()
    share = {use: (lu == code).sum() / n for code, use in synthetic.USE_CODES.items()}
    ranges = {"agriculture": (0.50, 0.56), "housing": (0.09, 0.11), "industry": (0.015, 0.03),
              "infrastructure": (0.025, 0.04), "nature": (0.14, 0.18), "water": (0.06, 0.09),
              "defence": (0.005, 0.011), "solar": (0.001, 0.005), "wind": (0.001, 0.004),
              "water_buffer": (0.001, 0.004)}
    for use, (lo, hi) in ranges.items():
        assert lo <= share[use] <= hi, (use, share[use])
    assert set(np.unique(lu)) <= {0, *synthetic.USE_CODES}


def test_provinces_cover_every_study_cell(mid_area: Path) -> None:
    lu = _read(mid_area.parent / "landuse.tif")
    prov = _provinces_raster(mid_area)
    assert (prov[lu > 0] > 0).all()
    assert set(np.unique(prov[lu > 0])) == set(range(1, 13))
    df = gpd.read_file(mid_area.parent / "provinces.gpkg", layer="provinces")
    assert sorted(df["code"]) == list(range(1, 13))
    assert df.geometry.is_valid.all()
    # no overlaps: the areas of the parts add up to the area of the union
    assert abs(df.geometry.area.sum() - shapely.union_all(df.geometry).area) < 1e-6 * \
        df.geometry.area.sum()


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = synthetic.make_area(tmp_path / "a", 5_000, 1000.0, seed=1)
    build_world.cache_clear()  # rebuild the world model from scratch
    b = synthetic.make_area(tmp_path / "b", 5_000, 1000.0, seed=1)
    c = synthetic.make_area(tmp_path / "c", 5_000, 1000.0, seed=2)
    ra, rb, rc = _rasters(a), _rasters(b), _rasters(c)
    assert ra.keys() == rb.keys()
    for name in ra:
        assert np.array_equal(ra[name], rb[name]), name
    for gpkg, layer in (("provinces.gpkg", "provinces"), ("railways.gpkg", "railways"),
                        ("stations.gpkg", "stations")):
        ga = gpd.read_file(a.parent / gpkg, layer=layer)
        gb = gpd.read_file(b.parent / gpkg, layer=layer)
        assert ga.drop(columns="geometry").equals(gb.drop(columns="geometry"))
        assert all(x.equals_exact(y, 0.0) for x, y in zip(ga.geometry, gb.geometry, strict=True))
    for f in sorted(a.parent.iterdir()):
        assert f.read_bytes() == (b.parent / f.name).read_bytes(), f.name
    assert not np.array_equal(ra["landuse"], rc["landuse"])
    assert not np.array_equal(ra["elevation"], rc["elevation"])


def test_same_landscape_at_other_resolutions(tmp_path: Path) -> None:
    """At real scale (s = 1) a 1 km and a 500 m grid describe the same landscape."""
    area = build_world(1).vectors.study.area
    p1 = synthetic.make_area(tmp_path / "r1000", round(area / 1000.0**2), 1000.0, seed=1)
    p2 = synthetic.make_area(tmp_path / "r500", round(area / 500.0**2), 500.0, seed=1)
    m1, m2 = load_manifest(p1), load_manifest(p2)
    assert m1.generator["scale_factor"] == 1.0 == m2.generator["scale_factor"]
    assert m1.grid.left % 1000 == 0 and m1.grid.top % 1000 == 0
    s1, s2 = _read(p1.parent / "soil.tif"), _read(p2.parent / "soil.tif")
    e1, e2 = _read(p1.parent / "elevation.tif"), _read(p2.parent / "elevation.tif")
    # sample the 500 m rasters at the 1 km cell centres
    xs = m1.grid.left + (np.arange(m1.grid.width) + 0.5) * 1000.0
    ys = m1.grid.top - (np.arange(m1.grid.height) + 0.5) * 1000.0
    col = ((xs - m2.grid.left) // 500).astype(int)
    row = ((m2.grid.top - ys) // 500).astype(int)
    ok_c = (col >= 0) & (col < m2.grid.width)
    ok_r = (row >= 0) & (row < m2.grid.height)
    s2s = s2[np.ix_(row[ok_r], col[ok_c])]
    e2s = e2[np.ix_(row[ok_r], col[ok_c])]
    s1s, e1s = s1[np.ix_(ok_r, ok_c)], e1[np.ix_(ok_r, ok_c)]
    both = (s1s > 0) & (s2s > 0)
    assert both.sum() > 0.9 * (s1 > 0).sum()
    assert (s1s[both] == s2s[both]).mean() > 0.85
    assert np.median(np.abs(e1s[both] - e2s[both])) < 1.5


def test_landscape_is_plausible(mid_area: Path) -> None:
    r = _rasters(mid_area)
    lu, elev, soil = r["landuse"], r["elevation"], r["soil"]
    study = lu > 0
    land = study & (lu != synthetic.WATER)
    w = lu.shape[1]
    west, east = np.zeros_like(land), np.zeros_like(land)
    west[:, : w // 3], east[:, 2 * w // 3:] = True, True
    assert elev[land & west].mean() + 5.0 < elev[land & east].mean()
    peat = soil == synthetic.PEAT
    west[:, : w // 2], east[:, w // 2:] = True, True
    assert peat[land & west].mean() > 1.5 * peat[land & east].mean()
    # study cells carry data, outside cells nodata / zero
    assert (elev[study] > -20).all() and (elev[~study] == -9999.0).all()
    assert (soil[study] > 0).all() and (soil[~study] == 0).all()
    # the IJsselmeer is water only
    ijssel = _to_grid_mask(mid_area, load_geography().ijsselmeer) & study
    assert ijssel.sum() > 100 and (lu[ijssel] == synthetic.WATER).all()
    assert not np.isin(lu[lu == synthetic.WATER], (synthetic.HOUSING, synthetic.INDUSTRY)).any()
    # floodplains: land, next to the river water, mostly agriculture and nature
    uiter = r["uiterwaarden"] > 0
    assert uiter.sum() > 100 and not (lu[uiter] == synthetic.WATER).any()
    near_water = ndimage.binary_dilation(lu == synthetic.WATER, iterations=3)
    assert near_water[uiter].mean() > 0.95
    assert np.isin(lu[uiter], (synthetic.AGRICULTURE, synthetic.NATURE)).mean() > 0.8
    assert not np.isin(lu[uiter], (synthetic.HOUSING, synthetic.INDUSTRY)).any()
    # dikes are land, next to the floodplains, the sea or the lakes
    dikes = r["primary_dikes"] > 0
    assert dikes.sum() > 50 and not (lu[dikes] == synthetic.WATER).any()
    # Natura 2000 is mostly nature, NNN contains most of it
    n2000, nnn = r["natura2000"] > 0, r["nnn"] > 0
    assert (lu[n2000] == synthetic.NATURE).mean() > 0.6
    assert nnn[n2000].mean() > 0.95
    # deep polders are deep and flood deeply; high sand does not flood
    polders = r["deep_polders"] > 0
    flood = r["flood_depth_2100"]
    assert elev[polders].mean() < -2.5 and flood[polders].mean() > 3.0
    high_sand = land & (soil == synthetic.SAND) & (elev > 20)
    assert high_sand.sum() > 100 and flood[high_sand].mean() < 0.3
    assert flood[uiter].mean() > 1.0
    sub = r["subsidence"]
    assert sub[land & peat].mean() > 20 > 5 > sub[land & (soil == synthetic.SAND)].mean()
    m = load_manifest(mid_area)
    names = m.layers["deep_polders"].categories
    assert set(np.unique(r["deep_polders"][polders])) <= set(names) and len(names) >= 10
    # industry clusters and defence grounds have their contours
    assert (r["industry_contour"][lu == synthetic.INDUSTRY] > 0).mean() > 0.1
    assert (r["defence_contour"][lu == synthetic.DEFENCE] > 0).all()


def test_stations_and_railways(mid_area: Path) -> None:
    st = gpd.read_file(mid_area.parent / "stations.gpkg", layer="stations")
    rw = gpd.read_file(mid_area.parent / "railways.gpkg", layer="railways")
    assert set(st["kind"]) == {"intercity", "regional"}
    assert st["name"].is_unique and len(st) >= 35
    assert {"Amsterdam", "Rotterdam", "Utrecht", "Groningen", "Maastricht"} <= set(st["name"])
    # every station lies on the railway network
    net = shapely.union_all(rw.geometry)
    res = load_manifest(mid_area).grid.resolution
    assert (st.geometry.distance(net) < 0.01 * res).all()
    lu = _read(mid_area.parent / "landuse.tif")
    assert (lu == synthetic.INFRASTRUCTURE).sum() > 0


@pytest.mark.parametrize(("cells", "res"), [(25, 100.0), (30, 50_000.0)])
def test_tiny_areas_do_not_crash(tmp_path: Path, cells: int, res: float) -> None:
    path = synthetic.make_area(tmp_path, cells, res, seed=1)
    m = load_manifest(path)
    for spec in m.layers.values():
        assert (path.parent / spec.file).exists()
    lu = _read(path.parent / "landuse.tif")
    assert (lu > 0).sum() > 0
    prov = _provinces_raster(path)
    assert (prov[lu > 0] > 0).all()
    assert set(np.unique(prov[lu > 0])) <= set(range(1, 13))


def test_progress_messages(tmp_path: Path) -> None:
    messages: list[str] = []
    synthetic.make_area(tmp_path, 500, 1000.0, seed=1, progress=messages.append)
    assert messages and any(m.startswith("shares") for m in messages)


def test_river_reservations_stay_on_a_coarse_grid(small_area: Path) -> None:
    """At 3 km the reservation patches are thinner than a cell; each of the three rivers with
    a reservation (Waal, Lek, IJssel) keeps one unbuilt land cell, so the decided rule on the
    layer has land to act on."""
    r = _rasters(small_area)
    reserved = r["river_reservation"] == 1
    assert int(reserved.sum()) == 3
    built_or_not_land = [0, codes.HOUSING, codes.INDUSTRY, codes.INFRASTRUCTURE, codes.WATER]
    assert not np.isin(r["landuse"][reserved], built_or_not_land).any()
