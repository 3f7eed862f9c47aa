"""Scenario files: schema, extends/overrides, and the messages users get for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruimteverdeling.errors import InputError
from ruimteverdeling.rules import load_scenario
from ruimteverdeling.scenario import merge

from areas import SRC, write_scenario

BASE = {
    "id": "b",
    "area": "area/area.yaml",
    "targets": [
        {"id": "h", "use": "housing", "min": 10, "source": SRC},
        {"id": "n", "use": "nature", "min": 5, "source": SRC},
    ],
    "rules": [{"id": "r", "type": "exclusion", "layer": "x", "uses": ["housing"],
               "status": "T", "source": SRC},
              {"id": "g", "type": "exclusion", "layer": "x", "uses": ["solar"],
               "status": "G", "source": SRC}],
}


def problems_of(path: Path) -> list:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value.problems


def test_loads_and_resolves_area_relative_to_file(tmp_path: Path) -> None:
    sc = load_scenario(write_scenario(tmp_path / "b.yaml", BASE))
    assert sc.id == "b"
    assert sc.area_path == (tmp_path / "area" / "area.yaml").resolve()
    assert [t.id for t in sc.targets] == ["h", "n"]
    assert sc.targets[0].effective_basis == "total"
    assert sc.rules[0].is_enabled


def test_extends_merges_items_by_id_and_removes(tmp_path: Path) -> None:
    write_scenario(tmp_path / "b.yaml", BASE)
    sub = tmp_path / "variants"
    sub.mkdir()
    variant = write_scenario(sub / "v.yaml", {
        "id": "v", "extends": "../b.yaml",
        "targets": [{"id": "h", "min": 20}, {"id": "n", "remove": True},
                    {"id": "w", "use": "wind", "min": 1, "source": SRC}],
        "rules": [{"id": "r", "enabled": False}],
    })
    sc = load_scenario(variant)
    assert sc.id == "v"
    assert {t.id: t.min for t in sc.targets} == {"h": 20, "w": 1}
    assert sc.targets[0].source.document == "test"  # inherited from the base
    assert not sc.rules[0].is_enabled and sc.rules[1].is_enabled
    # the base's area path stays relative to the base file, not the variant
    assert sc.area_path == (tmp_path / "area" / "area.yaml").resolve()
    assert [Path(c).name for c in sc.chain] == ["b.yaml", "v.yaml"]


def test_merge_is_deep_and_does_not_alias() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "items": [{"id": "x", "v": 1}]}
    out = merge(base, {"a": {"b": 2}, "items": [{"id": "x", "w": 3}]})
    assert out == {"a": {"b": 2, "c": [1, 2]}, "items": [{"id": "x", "v": 1, "w": 3}]}
    out["a"]["c"].append(3)
    assert base["a"]["c"] == [1, 2]


def test_circular_extends(tmp_path: Path) -> None:
    write_scenario(tmp_path / "a.yaml", {"id": "a", "extends": "b.yaml", "area": "x"})
    write_scenario(tmp_path / "b.yaml", {"id": "b", "extends": "a.yaml", "area": "x"})
    (p,) = problems_of(tmp_path / "a.yaml")
    assert "circular" in p.message


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("id: x\ntargets:\n  - id: a\n   use: housing\n")
    (p,) = problems_of(f)
    assert p.file == f.resolve() or Path(p.file) == f.resolve()
    assert "not valid YAML" in p.message
    assert p.field is not None and p.field.startswith("line ")


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    data = {**BASE, "targets": [{"id": "h", "use": "housing", "minimum": 10, "source": SRC}]}
    probs = problems_of(write_scenario(tmp_path / "s.yaml", data))
    unknown = [p for p in probs if "unknown key 'minimum'" in p.message]
    assert unknown, [p.format() for p in probs]
    assert unknown[0].field == "targets[0].minimum"
    assert "did you mean 'min'" in unknown[0].fix


def test_unknown_top_level_key(tmp_path: Path) -> None:
    probs = problems_of(write_scenario(tmp_path / "s.yaml", {**BASE, "targts": []}))
    assert any(p.field == "targts" and "did you mean 'targets'" in (p.fix or "") for p in probs)


@pytest.mark.parametrize("target, text", [
    ({"id": "h", "use": "housing", "min": -5, "source": SRC}, "must not be negative"),
    ({"id": "h", "use": "housing", "min": 10, "max": 5, "source": SRC}, "larger than `max`"),
    ({"id": "h", "use": "housing", "quantity": "share", "min": 1.5, "source": SRC}, "fraction"),
    ({"id": "h", "use": "housing", "source": SRC}, "needs `min`, `max`"),
    ({"id": "h", "use": "housing", "min": 1}, "required key is missing"),
    ({"id": "h", "use": "housing", "min": 1, "hard": False, "source": SRC}, "needs a `penalty`"),
])
def test_bad_targets(tmp_path: Path, target: dict, text: str) -> None:
    probs = problems_of(write_scenario(tmp_path / "s.yaml", {**BASE, "targets": [target]}))
    assert any(text in p.message for p in probs), [p.format() for p in probs]
    assert all(p.field and p.field.startswith("targets[0]") for p in probs)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    data = {**BASE, "targets": [{"id": "h", "use": "housing", "min": -1, "source": SRC},
                                {"id": "n", "use": "nature", "mni": 1, "source": SRC}],
            "colour": "red"}
    probs = problems_of(write_scenario(tmp_path / "s.yaml", data))
    fields = {p.field for p in probs}
    assert {"targets[0]", "targets[1].mni", "colour"} <= fields


def test_duplicate_ids(tmp_path: Path) -> None:
    data = {**BASE, "targets": [BASE["targets"][0], BASE["targets"][0]]}
    probs = problems_of(write_scenario(tmp_path / "s.yaml", data))
    assert any("duplicate id 'h'" in p.message for p in probs)


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("")
    assert "empty" in problems_of(tmp_path / "e.yaml")[0].message
    (tmp_path / "l.yaml").write_text("- 1\n- 2\n")
    assert "mapping" in problems_of(tmp_path / "l.yaml")[0].message
    assert "not found" in problems_of(tmp_path / "missing.yaml")[0].message


def test_source_shorthand_string(tmp_path: Path) -> None:
    data = {**BASE, "targets": [{"id": "h", "use": "housing", "min": 1, "source": "My note"}]}
    sc = load_scenario(write_scenario(tmp_path / "s.yaml", data))
    assert sc.targets[0].source.document == "My note"


def test_status_defaults() -> None:
    from ruimteverdeling.rules.exclusion import ExclusionRule

    def rule(**kw):
        return ExclusionRule(id="r", layer="l", uses=["housing"], source=SRC, **kw)

    assert rule(status="G").is_enabled
    assert rule(status="T").is_enabled
    assert not rule(status="A").is_enabled
    assert rule(status="A", enabled=True).is_enabled
    assert not rule(status="T", enabled=False).is_enabled


def test_variant_cannot_change_a_decided_rule(tmp_path: Path) -> None:
    write_scenario(tmp_path / "b.yaml", BASE)
    for change in ({"enabled": False}, {"buffer_m": 50}, {"remove": True}):
        v = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": "b.yaml",
                                                 "rules": [{"id": "g", **change}]})
        (p,) = problems_of(v)
        assert p.field == "rules[0]" and "gemaakte keuze (status G)" in p.message
        assert "overrides:" in p.fix and "justification" in p.fix
    # restating the description is fine
    v = write_scenario(tmp_path / "v.yaml", {"id": "v", "extends": "b.yaml",
                                             "rules": [{"id": "g", "description": "x"}]})
    assert load_scenario(v).rules[1].description == "x"


def test_g_rule_cannot_be_disabled_in_place(tmp_path: Path) -> None:
    data = {**BASE, "rules": [{**BASE["rules"][1], "enabled": False}]}
    (p,) = problems_of(write_scenario(tmp_path / "s.yaml", data))
    assert "cannot be switched off" in p.message and "overrides" in p.fix


@pytest.mark.parametrize("override, text", [
    ({"rule": "g", "action": "disable"}, "required key is missing"),
    ({"rule": "g", "action": "disable", "justification": "  "}, "must explain"),
    ({"rule": "g", "action": "soften", "justification": "because we need the land"},
     "needs a `penalty`"),
    ({"rule": "gg", "action": "disable", "justification": "because we need the land"},
     "unknown rule or target 'gg'"),
])
def test_override_needs_justification(tmp_path: Path, override: dict, text: str) -> None:
    data = {**BASE, "overrides": [override]}
    probs = problems_of(write_scenario(tmp_path / "s.yaml", data))
    assert any(text in p.message for p in probs), [p.format() for p in probs]
