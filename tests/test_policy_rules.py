"""Golden tests of the policy parameters on tiny grids: the use share row (organic farming as a
share of farmland), the share of a target met outside the land, and the target year."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ruimteverdeling import api
from ruimteverdeling.errors import InputError

from areas import SRC, write_area, write_scenario

ONLY_FARMING = {"id": "only", "type": "exclusion", "layer": "landuse", "applies_to": "all",
                "allow": ["agriculture", "extensive_agriculture"], "source": SRC}


def _scenario(tmp_path: Path, area: Path, **parts) -> Path:
    return write_scenario(tmp_path / "s.yaml", {"id": "t", "area": str(area), **parts})


def _row(cm, block: str) -> dict[tuple[int, str], float]:
    row = cm.spec.block(block).A.toarray()[0]
    ids = cm.ctx.alloc_ids
    return {(int(cm.spec.unit_cells[cm.spec.col_unit[j]]), ids[cm.spec.col_use[j]]): row[j]
            for j in range(cm.spec.n_x) if row[j]}


def test_use_share_row_and_optimum(tmp_path: Path) -> None:
    """Four 1-ha farm cells; conventional farming suits 0.5, extensive 0.3 (no transition
    costs). The row Σ a (p(u, extensive) − 0.5 · p(u, agriculture)) x ≥ 0 has −0.5 for
    conventional and +0.5 for extensive farming (which provides both), so two of the four
    cells must turn extensive: objective 2·0.5 + 2·0.3 = 1.6 (2.0 without the rule)."""
    area = write_area(tmp_path / "a", [[3, 3, 3, 3]])
    rule = {"id": "organic", "type": "use_share", "use": "extensive_agriculture",
            "of": "agriculture", "min_share": 0.5, "source": SRC}
    sc = _scenario(tmp_path, area, suitability={"agriculture": {"base": 0.5},
                                                "extensive_agriculture": {"base": 0.3}},
                   rules=[ONLY_FARMING, rule])
    cm = api.compile(sc)
    coef = _row(cm, "rule:organic")
    assert {k: round(v, 9) for k, v in coef.items()} == {
        **{(c, "agriculture"): -0.5 for c in range(4)},
        **{(c, "extensive_agriculture"): 0.5 for c in range(4)}}
    assert cm.spec.block("rule:organic").lower[0] == 0.0
    run = api.solve(sc, write=False)
    grid = run.compiled.allocation_grid(run.solution.x)
    assert int((grid == run.compiled.catalogue["extensive_agriculture"].code).sum()) == 2
    assert run.solution.objective == pytest.approx(1.6, abs=1e-6)
    # without the rule the conventional farming stays: the row is what moves it
    sc0 = _scenario(tmp_path, area, suitability={"agriculture": {"base": 0.5},
                                                 "extensive_agriculture": {"base": 0.3}},
                    rules=[ONLY_FARMING])
    assert api.solve(sc0, write=False).solution.objective == pytest.approx(2.0, abs=1e-6)


def test_use_share_refuses_nonsense(tmp_path: Path) -> None:
    area = write_area(tmp_path / "a", [[3, 3]])
    sc = _scenario(tmp_path, area, rules=[{"id": "x", "type": "use_share", "use": "agriculture",
                                           "of": "agriculture", "min_share": 0.1,
                                           "source": SRC}])
    with pytest.raises(InputError, match="`use` and `of` are the same use"):
        api.compile(sc)


def test_outside_land_share_lowers_the_row(tmp_path: Path) -> None:
    """A national target of 4 ha of solar with 50 % met outside the land asks 2 ha of the
    land: the row's lower bound is 2, and the optimum (solar suits 0.1, farming 0.5) builds
    exactly 2 solar cells."""
    area = write_area(tmp_path / "a", [[3, 3, 3, 3, 3, 3]])
    target = {"id": "pv", "use": "solar", "min": 4, "year": 2030,
              "outside_land": {"share": 0.5, "description": "roofs", "source": SRC},
              "source": SRC}
    sc = _scenario(tmp_path, area, suitability={"agriculture": {"base": 0.5},
                                                "solar": {"base": 0.1}},
                   targets=[target],
                   rules=[{**ONLY_FARMING, "allow": ["agriculture", "solar"]}])
    cm = api.compile(sc)
    assert cm.spec.block("target:pv").lower[0] == pytest.approx(2.0)
    run = api.solve(sc, write=False)
    grid = run.compiled.allocation_grid(run.solution.x)
    assert int((grid == run.compiled.catalogue["solar"].code).sum()) == 2
    row = next(r for r in run.summary["targets"] if r["target"] == "pv")
    assert (row["min"], row["year"], row["outside_land"]["share"]) == (2.0, 2030, 0.5)


def test_outside_land_applies_to_amounts_only(tmp_path: Path) -> None:
    area = write_area(tmp_path / "a", [[3, 3]])
    target = {"id": "n", "use": "nature", "min": 1.05, "relative_to": "current",
              "outside_land": {"share": 0.5, "description": "x", "source": SRC},
              "source": SRC}
    with pytest.raises(InputError, match="`outside_land` applies to national or regional"):
        api.compile(_scenario(tmp_path, area, targets=[target]))


def test_a_soft_decided_target_is_refused(tmp_path: Path) -> None:
    area = write_area(tmp_path / "a", [[3, 3]])
    target = {"id": "n", "use": "nature", "min": 1, "status": "G", "hard": False,
              "penalty": 1.0, "source": SRC}
    with pytest.raises(InputError, match=r"gemaakte keuze \(status G\) and cannot be made "
                       r"soft with `hard: false`"):
        api.compile(_scenario(tmp_path, area, targets=[target]))
    # the same target, softened through an override, loads
    target.pop("hard"), target.pop("penalty")
    ok = _scenario(tmp_path, area, targets=[target], overrides=[
        {"rule": "n", "action": "soften", "penalty": 1.0,
         "justification": "a test of comply or explain through an override"}])
    cm = api.compile(ok)
    assert np.isfinite(cm.spec.block("target:n").lower[0])


def _lex_case(tmp_path: Path, **objective) -> Path:
    """Two 1-ha farm cells, farming or nature only; farming suits 1.0, nature 0.2; cell 0 is
    peat, where farming costs 0.5 per hectare in term ``water_level`` (today's use too)."""
    area = write_area(tmp_path / "a", [[3, 3]], layers={"peat": ([[1, 0]], "mask", {})})
    return _scenario(
        tmp_path, area,
        suitability={"agriculture": {"base": 1.0}, "nature": {"base": 0.2}},
        rules=[{**ONLY_FARMING, "allow": ["agriculture", "nature"]},
               {"id": "wl", "type": "cost", "term": "water_level", "zone": {"layer": "peat"},
                "uses": ["agriculture"], "on": "any", "per_ha": 0.5, "source": SRC}],
        objective={"weights": {"suitability": 1.0, "water_level": 1.0}, **objective})


def test_lexicographic_mode_puts_water_first(tmp_path: Path) -> None:
    """Weighted: farming on both cells, 2·1.0 − 0.5 = 1.5. Lexicographic with tolerance 0:
    stage 1 makes the water cost 0 (nature on the peat cell), stage 2 farms the other cell:
    0.2 + 1.0 = 1.2. With tolerance 1 (the water cost may reach 1·max(|0|, 1) = 1) stage 2 is
    free to farm the peat cell again: 1.5."""
    weighted = api.solve(_lex_case(tmp_path), write=False)
    assert weighted.solution.objective == pytest.approx(1.5, abs=1e-6)
    assert "lexicographic" not in weighted.summary
    strict = api.solve(_lex_case(tmp_path, mode="lexicographic", first=["water_level"],
                                 tolerance=0.0), write=False)
    assert strict.solution.objective == pytest.approx(1.2, abs=1e-5)
    lex = strict.summary["lexicographic"]
    assert [s["first_value"] for s in lex["stages"]] == [pytest.approx(0.0, abs=1e-6)] * 2
    assert lex["first"] == ["water_level"] and lex["stages"][1]["status"] == "optimal"
    loose = api.solve(_lex_case(tmp_path, mode="lexicographic", first=["water_level"],
                                tolerance=1.0), write=False)
    assert loose.solution.objective == pytest.approx(1.5, abs=1e-5)


def test_lexicographic_mode_names_unknown_terms(tmp_path: Path) -> None:
    sc = _lex_case(tmp_path, mode="lexicographic", first=["water_levl"])
    with pytest.raises(InputError, match="stage-1 term 'water_levl' is not an objective term"):
        api.solve(sc, write=False)
