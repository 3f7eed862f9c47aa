"""Tests for the hand-drawn geography data file and its loader (``synthetic.geography``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from ruimteverdeling.synthetic.geography import DATA_FILE, load_geography, parse_geography
from ruimteverdeling.synthetic.world.terrain import RIVER_CLAY_GROUPS, TIDAL_LEVEL_RIVERS


def _raw() -> dict[str, Any]:
    text = resources.files("ruimteverdeling.synthetic").joinpath(DATA_FILE).read_text("utf-8")
    return json.loads(text)


def _feature(doc: dict[str, Any], kind: str, name: str | None = None) -> dict[str, Any]:
    return next(f for f in doc["features"] if f["properties"]["kind"] == kind
                and (name is None or f["properties"]["name"] == name))


def test_data_file_declares_its_coordinates_and_kinds() -> None:
    doc = _raw()
    assert doc["type"] == "FeatureCollection"
    assert doc["coordinate_convention"]["crs"] == "EPSG:28992"
    assert doc["coordinate_convention"]["unit"] == "km"
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert kinds == set(doc["kinds"])  # every kind described, no description left over
    for f in doc["features"]:
        if f["geometry"]["type"] == "Polygon":
            ring = f["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1], f["properties"]


def test_packaged_geography_is_consistent() -> None:
    geo = load_geography()
    assert [p.code for p in geo.provinces] == list(range(1, 13))
    assert len({p.name for p in geo.provinces}) == 12
    names = [c.name for c in geo.cities]
    assert len(names) == len(set(names)) >= 90
    assert {c.province for c in geo.cities} <= set(range(1, 13))
    for route in (*geo.railways, *geo.motorways):
        assert {s for s in route.stops if isinstance(s, str)} <= set(names), route.name
    # the generator names these rivers and areas
    rivers = {r.name for r in geo.rivers}
    assert set(TIDAL_LEVEL_RIVERS) <= rivers
    assert {n for group, _, _ in RIVER_CLAY_GROUPS.values() for n in group} <= rivers
    assert {r.name for r in geo.rivers if r.reservation} == {"Waal", "Nederrijn en Lek", "IJssel"}
    assert "Groene Hart" in {a.name for a in geo.valuable_areas}
    assert [p.name for p in geo.deep_polders if p.flevoland] == [
        "Flevoland-Oost", "Zuidelijk Flevoland", "Noordoostpolder"]
    assert [p.name for p in geo.deep_polders if p.heritage] == ["Beemster"]
    for coast in geo.dune_coasts:
        assert 0 < coast.width[0] < coast.width[1], coast.name
    # river vertices carry their water level (m NAP) as the third value
    waal = geo.river("Waal")
    assert waal.vertices[0][2] == 11.0 and waal.vertices[-1][2] == 0.4


def _parse(doc: dict[str, Any]) -> None:
    parse_geography(json.dumps(doc))


def test_a_railway_vertex_must_lie_on_its_city() -> None:
    doc = _raw()
    line = _feature(doc, "railway", "Den Helder - Amsterdam")
    line["geometry"]["coordinates"][0] = [100.0, 500.0]
    with pytest.raises(ValueError, match=r"railway 'Den Helder - Amsterdam'.*stops.*'Den Helder'"):
        _parse(doc)
    line["properties"]["stops"][0] = "Atlantis"
    with pytest.raises(ValueError, match="'Atlantis' is not a city"):
        _parse(doc)


def test_broken_features_are_named() -> None:
    doc = _raw()
    del _feature(doc, "lake", "Naardermeer")["properties"]["semi_axes_km"]
    with pytest.raises(ValueError, match=r"lake 'Naardermeer'.*semi_axes_km must be a list of two"):
        _parse(doc)

    doc = _raw()
    ring = _feature(doc, "island", "Texel")["geometry"]["coordinates"][0]
    ring.pop()
    with pytest.raises(ValueError, match=r"island 'Texel'.*closed ring"):
        _parse(doc)

    doc = _raw()
    _feature(doc, "river", "Maas")["geometry"]["coordinates"][3] = [176.8, 318.0]
    with pytest.raises(ValueError, match=r"river 'Maas'.*positions of 3 numbers"):
        _parse(doc)

    doc = _raw()
    _feature(doc, "hill")["properties"]["kind"] = "volcano"
    with pytest.raises(ValueError, match=r"unknown feature kinds \['volcano'\]"):
        _parse(doc)

    doc = _raw()
    doc["features"] = [f for f in doc["features"] if f["properties"]["kind"] != "coast"]
    with pytest.raises(ValueError, match="exactly one 'coast' feature, found 0"):
        _parse(doc)

    doc = _raw()
    doc["coordinate_convention"]["unit"] = "m"
    with pytest.raises(ValueError, match="unit km"):
        _parse(doc)
