"""The rule-family registry and the scenario loader it feeds: a new family is one module."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from ruimteverdeling import api
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.results import tables
from ruimteverdeling.rules import FAMILIES, checks, load_scenario, registry, reporting
from ruimteverdeling.rules.base import Contribution, PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.exclusion import ExclusionRule
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario import RuleBase, Scenario, loader

from areas import SRC, write_area, write_scenario


# -- a family written the way docs/adding-a-rule-family.md says -------------------------------
class HectareBonusRule(RuleBase):
    """A benefit of ``per_ha`` points per hectare of ``use`` inside a mask layer."""

    type: Literal["hectare_bonus"] = "hectare_bonus"
    use: str
    layer: str
    per_ha: float


def _check(rule: HectareBonusRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    return checks.uses([rule.use], f"{field}.use", ctx) + \
        checks.layer_where(rule.layer, None, field, ctx)


def _compile(rule: HectareBonusRule, ctx: Context) -> Contribution:
    inside = ctx.zone(rule.layer, cells=ctx.land_cells)
    u = ctx.use_index(rule.use)

    def fn(li: np.ndarray, ui: np.ndarray) -> np.ndarray:
        return np.where(inside[li] & (ui == u), rule.per_ha * ctx.cell_ha, 0.0)

    return Contribution(terms=[PairTerm(f"bonus:{rule.id}", "benefit", fn, "points",
                                        "hectare bonus", rule.id)])


BONUS = RuleFamily("hectare_bonus", HectareBonusRule, _check, _compile, reporting.term_rows)


def _bonus_scenario(tmp_path: Path) -> Path:
    """Two farmland cells of 1 ha; the mask holds the first."""
    area = write_area(tmp_path / "a", [[3, 3]], layers={"m": ([[1, 0]], "mask", {})})
    return write_scenario(tmp_path / "s.yaml", {
        "id": "bonus", "area": str(area),
        "rules": [{"id": "b", "type": "hectare_bonus", "use": "nature", "layer": "m",
                   "per_ha": 5.0, "source": SRC}]})


def test_a_new_family_is_one_registration(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sc = _bonus_scenario(tmp_path)
    # not registered: the loader names the entry and the known types
    with pytest.raises(InputError) as info:
        load_scenario(sc)
    (p,) = info.value.problems
    assert p.field == "rules[0]" and "unknown type 'hectare_bonus'" in p.message
    assert "exclusion" in p.fix
    # the loader takes the families it is given
    families = {**FAMILIES, "hectare_bonus": BONUS}
    assert isinstance(loader.load_scenario(sc, families).rules[0], HectareBonusRule)
    # registered: loaded, checked, compiled, solved and reported like any other
    monkeypatch.setitem(FAMILIES, "hectare_bonus", BONUS)
    run = api.solve(sc, write=False)
    assert run.compiled.term_values(run.solution.x)["bonus:b"] == 5.0  # 5 points × 1 ha
    after = run.compiled.allocation_grid(run.solution.x)
    assert run.compiled.catalogue.by_code(int(after[0, 0])).id == "nature"
    (row,) = [r for r in tables.rules_table(run.compiled, run.solution) if r["rule"] == "b"]
    assert row["type"] == "hectare_bonus" and row["value"] == 5.0 and row["binds"] == "n/a"
    bad = write_scenario(tmp_path / "bad.yaml", {
        "id": "bad", "area": str(tmp_path / "a" / "area.yaml"),
        "rules": [{"id": "b", "type": "hectare_bonus", "use": "natur", "layer": "m",
                   "per_ha": 5.0, "source": SRC}]})
    with pytest.raises(InputError) as info:
        api.compile(bad)
    assert any(p.field == "rules[0].use" and "did you mean 'nature'" in p.fix
               for p in info.value.problems)


def test_registration_checks_the_schema_tag() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(FAMILIES["exclusion"])

    class Untagged(RuleBase):
        layer: str

    with pytest.raises(TypeError, match='type: Literal\\["untagged"\\]'):
        registry.register(RuleFamily("untagged", Untagged, _check, _compile,
                                     reporting.term_rows))
    assert "untagged" not in FAMILIES


@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
def test_every_family_states_its_mathematics(family: RuleFamily) -> None:
    doc = sys.modules[family.module].__doc__ or ""
    assert family.module == f"ruimteverdeling.rules.{family.type}"
    assert family.summary and "x[" in doc, f"{family.module}: state the rows or terms"
    assert family.schema.model_fields["type"].default == family.type


def test_unknown_key_is_answered_with_the_entry_s_own_keys(tmp_path: Path) -> None:
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "s", "area": "a/area.yaml",
        "rules": [{"id": "c", "type": "cost", "per_hectare": 1, "source": SRC}]})
    with pytest.raises(InputError) as info:
        load_scenario(sc)
    (p,) = info.value.problems
    assert p.field == "rules[0].cost.per_hectare" and "did you mean 'per_ha'" in p.fix


def test_scenarios_keep_their_families_through_copies_and_pickles(tmp_path: Path) -> None:
    sc = load_scenario(write_scenario(tmp_path / "s.yaml", {
        "id": "s", "area": "a/area.yaml",
        "rules": [{"id": "r", "type": "exclusion", "layer": "x", "uses": ["housing"],
                   "buffer_m": 50, "source": SRC}]}))
    assert sc.resolved()["rules"][0]["buffer_m"] == 50.0  # the family's fields are dumped
    copy = sc.model_copy(update={"id": "t"})
    assert isinstance(copy.rules[0], ExclusionRule) and copy.rules[0].buffer_m == 50.0
    back = pickle.loads(pickle.dumps(sc))
    assert type(back) is type(sc) and back.model_dump() == sc.model_dump()
    assert type(sc).model_validate(sc.model_dump()).model_dump() == sc.model_dump()
    # the bare document model does not validate rule entries itself
    with pytest.raises(TypeError, match="rule family"):
        Scenario.model_validate({"id": "s", "area": "a", "rules": [{"id": "r"}]})
