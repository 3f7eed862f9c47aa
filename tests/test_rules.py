"""Golden tests of every rule family on tiny grids: exact rows, exact coefficients, exact optima."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ruimteverdeling import api
from ruimteverdeling.errors import InputError

from areas import SRC, write_area, write_scenario

IDENT = [[0, 0], [1, 1]]


def allowed_pairs(cm) -> dict[int, set[str]]:
    """cell -> allowed uses (units from the columns, pinned cells from their use)."""
    ids = cm.ctx.alloc_ids
    out: dict[int, set[str]] = {}
    for j in range(cm.spec.n_x):
        out.setdefault(int(cm.spec.unit_cells[cm.spec.col_unit[j]]), set()).add(
            ids[cm.spec.col_use[j]])
    for land, use in zip(cm.pinned_land, cm.pinned_use_idx, strict=True):
        out[int(cm.ctx.land_cells[land])] = {cm.ctx.uses[use].id}
    return out


def scenario(tmp_path: Path, area: Path, **parts) -> Path:
    return write_scenario(tmp_path / "s.yaml", {"id": "t", "area": str(area), **parts})


def term_coef(cm, name: str) -> dict[tuple[int, str], float]:
    t = cm.spec.term(name)
    ids = cm.ctx.alloc_ids
    return {(int(cm.spec.unit_cells[cm.spec.col_unit[j]]), ids[cm.spec.col_use[j]]):
            float(t.coef[j]) for j in range(cm.spec.n_x) if t.coef[j] != 0}


# --- exclusions, buffers, combined uses -------------------------------------------------------
def test_exclusion_buffer_is_a_distance_transform(tmp_path: Path) -> None:
    """1×6 farmland, a dike in cell 0; a 150 m band (100 m cells) closes cells 0 and 1 only
    (centre distances 0 and 100 m; cell 2 is 200 m away)."""
    area = write_area(tmp_path / "a", [[3] * 6], layers={"dike": ([[1, 0, 0, 0, 0, 0]], "mask",
                                                                  {})})
    sc = scenario(tmp_path, area, rules=[
        {"id": "band", "type": "exclusion", "status": "G", "layer": "dike", "buffer_m": 150,
         "uses": ["housing"], "source": SRC}])
    cm = api.compile(sc)
    pairs = allowed_pairs(cm)
    assert ["housing" in pairs[c] for c in range(6)] == [False, False, True, True, True, True]
    assert cm.rule_reports[0]["zone_ha"] == 2.0


def test_closing_a_use_closes_its_combinations(tmp_path: Path) -> None:
    area = write_area(tmp_path / "a", [[3, 3]], layers={"z": ([[1, 0]], "mask", {})})
    sc = scenario(tmp_path, area, rules=[
        {"id": "no_farming", "type": "exclusion", "layer": "z", "uses": ["agriculture"],
         "applies_to": "all", "source": SRC}])
    pairs = allowed_pairs(api.compile(sc))
    for combo in ("agriculture", "agri_pv", "agriculture_wind"):
        assert combo not in pairs[0] and combo in pairs[1]
    assert "extensive_agriculture" in pairs[0]  # a different use, not a combination


def test_compatibility_matrix_closes_combinations(tmp_path: Path) -> None:
    area = write_area(tmp_path / "a", [[3, 2]])
    sc = scenario(tmp_path, area, compatibility={"allowed": [["agriculture", "wind"]],
                                                 "source": SRC})
    cm = api.compile(sc)
    pairs = allowed_pairs(cm)
    assert "agriculture_wind" in pairs[0]
    for closed in ("agri_pv", "nature_water_buffer", "defence_nature"):
        assert closed not in pairs[0] and closed not in pairs[1]
    assert set(cm.rule_reports[0]["closed_uses"]) >= {"agri_pv", "nature_water_buffer"}


def test_green_buffer_band(tmp_path: Path) -> None:
    """Two 2-cell cities in row 0 at columns 0-1 and 6-7 (100 m cells): cores 400 m apart.
    The separating line runs between columns 3 and 4. Where the cores are closer than 600 m
    across it (rows 0 and 1: 200 + 200 + 100 and 224 + 224 + 100 m; row 2: 283 + 283 + 100 m
    is too far) the cells touching it are closed: columns 3 and 4 of rows 0 and 1."""
    lu = np.full((3, 8), 3)
    lu[0, 0:2] = 1
    lu[0, 6:8] = 1
    area = write_area(tmp_path / "a", lu)
    sc = scenario(tmp_path, area, rules=[
        {"id": "green", "type": "green_buffer", "min_core_ha": 2, "gap_m": 600,
         "width_m": 200, "uses": ["housing"], "source": SRC}])
    cm = api.compile(sc)
    pairs = allowed_pairs(cm)
    closed = np.array([[c not in pairs or "housing" not in pairs.get(c, set())
                        for c in range(r * 8, r * 8 + 8)] for r in range(3)])
    fixed = lu == 1
    band = closed & ~fixed
    expected = np.zeros((3, 8), bool)
    expected[0:2, 3:5] = True
    np.testing.assert_array_equal(band, expected)
    # cities farther apart than gap_m are left alone
    sc2 = scenario(tmp_path, area, rules=[
        {"id": "green", "type": "green_buffer", "min_core_ha": 2, "gap_m": 300,
         "width_m": 200, "uses": ["housing"], "source": SRC}])
    assert all("housing" in p for c, p in allowed_pairs(api.compile(sc2)).items()
               if lu.ravel()[c] != 1)


# --- cost rules and ladders -------------------------------------------------------------------
def test_cost_rule_coefficients(tmp_path: Path) -> None:
    """future cost = per_ha · a · v(c) · min(lifetime, horizon)/horizon for new housing."""
    depth = [[0.0, 2.5, 5.0]]
    area = write_area(tmp_path / "a", [[3, 3, 1]], layers={"flood": (depth, "continuous", {})})
    sc = scenario(tmp_path, area, rules=[
        {"id": "fc", "type": "cost", "term": "future_cost", "uses": ["housing", "solar"],
         "value": [{"layer": "flood", "points": [[0, 0], [5, 1]]}], "per_ha": 2.0,
         "scale_by": "lifetime", "horizon_years": 50, "source": SRC},
        {"id": "seal", "type": "cost", "term": "sealing", "scale_by": "sealing",
         "uses": ["housing"], "per_ha": 1.0, "source": SRC}])
    cm = api.compile(sc)
    fc = term_coef(cm, "future_cost")
    # housing lifetime 100 -> factor 1; solar and agri-PV (it combines solar) lifetime 25
    # -> 0.5; cell 0 has depth 0
    assert fc == {(1, "housing"): pytest.approx(2.0 * 0.5 * 1.0),
                  (1, "solar"): pytest.approx(2.0 * 0.5 * 0.5),
                  (1, "agri_pv"): pytest.approx(2.0 * 0.5 * 0.5)}
    seal = term_coef(cm, "sealing")
    assert seal == {(0, "housing"): pytest.approx(0.55), (1, "housing"): pytest.approx(0.55)}
    assert cm.spec.term("future_cost").sense == "cost"


def test_ladder_to_and_from(tmp_path: Path) -> None:
    """Zonneladder (to): tier by zone, then by current use. Farmland ladder (from): the cost
    times the agricultural yield lost, p(current) − p(new)."""
    lu = [[3, 3, 2, 7]]
    quality = [[1, 3, 0, 0]]
    area = write_area(tmp_path / "a", lu, layers={"q": (quality, "categorical", {})})
    sc = scenario(tmp_path, area, rules=[
        {"id": "zon", "type": "ladder", "mode": "to", "uses": ["solar"], "tiers": [
            {"name": "poor farmland", "zone": {"layer": "q", "where": {"equals": [3]}},
             "cost": 0.1},
            {"name": "farmland", "current": ["agriculture"], "cost": 0.4},
            {"name": "nature", "current": ["nature"], "cost": 1.0}],
         "otherwise": 0.05, "source": SRC},
        {"id": "agri", "type": "ladder", "mode": "from", "uses": ["agriculture"], "tiers": [
            {"name": "best", "zone": {"layer": "q", "where": {"equals": [1]}}, "cost": 0.3}],
         "otherwise": 0.1, "source": SRC}])
    cm = api.compile(sc)
    zon = term_coef(cm, "zon")
    assert {k: v for k, v in zon.items() if k[1] == "solar"} == {
        (0, "solar"): 0.4, (1, "solar"): 0.1, (2, "solar"): 1.0, (3, "solar"): 0.05}
    agri = term_coef(cm, "agri")
    assert agri[(0, "housing")] == pytest.approx(0.3)
    assert agri[(0, "agri_pv")] == pytest.approx(0.3 * 0.4)  # agri-PV keeps 0.6 of farming
    assert agri[(1, "nature")] == pytest.approx(0.1)
    assert (0, "extensive_agriculture") not in agri  # extensive farming is still farmland
    assert not any(k[0] in (2, 3) for k in agri)  # no farmland there to lose


# --- row rules ----------------------------------------------------------------------------------
def test_fairness_minimax_rows_and_optimum(tmp_path: Path) -> None:
    """Two regions of 2 cells; 2 ha of solar must go somewhere (hard). Solar suits region A
    much better (0.9 vs 0.5), but a minimax fairness term on new energy land, weight w,
    costs w·A·z with z the largest share of a region given to new energy (A = 4 ha).
    Both in A: suitability 1.8 + 0.5·2 (farming in B) = 2.8 and z = 1 → 2.8 − 4w.
    One in each: 0.9 + 0.5 + 0.5 + 0.5 = 2.4 and z = 0.5 → 2.4 − 2w. With w = 0.3 the
    split (1.8) beats the concentration (1.6)."""
    lu = [[3, 3], [3, 3]]
    regions = [[1, 1], [2, 2]]
    ss = [[0.9, 0.9], [0.5, 0.5]]
    area = write_area(tmp_path / "a", lu, regions, {1: "A", 2: "B"},
                      layers={"ss": (ss, "continuous", {})})
    sc = scenario(tmp_path, area,
                  suitability={"solar": {"terms": [{"layer": "ss", "points": IDENT}]},
                               "agriculture": {"base": 0.5}},
                  targets=[{"id": "pv", "use": "solar", "min": 2, "max": 2, "source": SRC}],
                  rules=[{"id": "only", "type": "exclusion", "layer": "landuse",
                          "allow": ["solar", "agriculture"], "applies_to": "all",
                          "source": SRC},
                         {"id": "fair", "type": "fairness", "weight": 0.3,
                          "burdens": [{"use": "renewable_energy", "basis": "new"}],
                          "source": SRC}])
    cm = api.compile(sc)
    block = cm.spec.block("rule:fair")
    A = block.A.toarray()
    z = cm.spec.aux_names.index("fairness_level:fair") + cm.spec.n_x
    np.testing.assert_array_equal(A[:, z], [-2.0, -2.0])  # − area_r · z
    np.testing.assert_array_equal(block.upper, [0.0, 0.0])
    assert cm.spec.term("fairness:fair").coef[z] == pytest.approx(0.3 * 4)
    run = api.solve(sc, write=False)
    grid = run.compiled.allocation_grid(run.solution.x)
    assert (grid[0] == 4).sum() == 1 and (grid[1] == 4).sum() == 1
    assert run.solution.objective == pytest.approx(2.4 - 0.6, abs=1e-6)


def _deviation_case(tmp_path: Path, weight: float, national: float = 0.0) -> Path:
    """1×6 farmland (1 ha cells) in regions of 1, 2 and 3 cells; exactly 2 ha of solar."""
    ss = [[0.9, 0.8, 0.3, 0.6, 0.5, 0.4]]
    area = write_area(tmp_path / "a", [[3] * 6], [[1, 2, 2, 3, 3, 3]], {1: "A", 2: "B", 3: "C"},
                      layers={"ss": (ss, "continuous", {})})
    return scenario(tmp_path, area,
                    suitability={"solar": {"terms": [{"layer": "ss", "points": IDENT}]},
                                 "agriculture": {"base": 0.5}},
                    targets=[{"id": "pv", "use": "solar", "min": 2, "max": 2, "source": SRC}],
                    rules=[{"id": "only", "type": "exclusion", "layer": "landuse",
                            "allow": ["solar", "agriculture"], "applies_to": "all",
                            "source": SRC},
                           {"id": "fair", "type": "fairness", "mode": "deviation",
                            "weight": weight, "national_weight": national,
                            "burdens": [{"use": "renewable_energy", "basis": "new"}],
                            "source": SRC}])


def test_fairness_deviation_rows(tmp_path: Path) -> None:
    """Rows of ``mode: deviation`` on regions of 1, 2, 3 ha (shares 1/6, 2/6, 3/6): load rows
    ``Σ b x − L_r = 0`` and excess rows ``L_r − s_r Σ_q L_q − e_r ≤ 0``; each solar pair sits
    in its own region's load row only, with its 1 ha of new energy land."""
    cm = api.compile(_deviation_case(tmp_path, 0.5, 0.25))
    block = cm.spec.block("rule:fair")
    A = block.A.toarray()
    n_x = cm.spec.n_x
    names = cm.spec.aux_names
    L = [n_x + names.index(f"fairness_load:fair:{r}") for r in "ABC"]
    e = [n_x + names.index(f"fairness_excess:fair:{r}") for r in "ABC"]
    s = np.array([1, 2, 3]) / 6
    np.testing.assert_allclose(A[:3][:, L], -np.eye(3))
    np.testing.assert_allclose(A[3:][:, L], np.eye(3) - s[:, None] * np.ones((1, 3)))
    np.testing.assert_allclose(A[3:][:, e], -np.eye(3))
    np.testing.assert_allclose(A[:3][:, e], 0.0)
    np.testing.assert_array_equal(block.lower, [0, 0, 0, -np.inf, -np.inf, -np.inf])
    np.testing.assert_array_equal(block.upper, np.zeros(6))
    ids = cm.ctx.alloc_ids
    region = [0, 1, 1, 2, 2, 2]
    for j in range(n_x):
        c = int(cm.spec.unit_cells[cm.spec.col_unit[j]])
        want = np.zeros(3)
        if ids[cm.spec.col_use[j]] == "solar":
            want[region[c]] = 1.0
        np.testing.assert_allclose(A[:3, j], want)
        np.testing.assert_allclose(A[3:, j], 0.0)
    assert [cm.spec.term("fairness:fair").coef[j] for j in e] == pytest.approx([0.5] * 3)
    assert [cm.spec.term("fairness:fair").coef[j] for j in L] == pytest.approx([0.25] * 3)


def test_national_weight_needs_the_deviation_mode(tmp_path: Path) -> None:
    area = write_area(tmp_path / "a", [[3, 3]])
    sc = scenario(tmp_path, area, rules=[
        {"id": "fair", "type": "fairness", "mode": "minimax", "national_weight": 0.5,
         "burdens": [{"use": "renewable_energy", "basis": "new"}], "source": SRC}])
    with pytest.raises(InputError, match="national_weight"):
        api.compile(sc)


@pytest.mark.parametrize(("weight", "national"), [(0.0, 0.0), (0.3, 0.0), (1.0, 0.25)])
def test_fairness_deviation_optimum_by_brute_force(tmp_path: Path, weight: float,
                                                   national: float) -> None:
    """The solver's optimum equals the best of all 15 ways to place the 2 ha of solar, each
    valued by hand: Σ suitability + 0.5 per farmed cell − w · Σ_r max(0, B_r − s_r · 2)
    − w_national · 2 (the national burden is the 2 ha of new energy land)."""
    from itertools import combinations

    ss = [0.9, 0.8, 0.3, 0.6, 0.5, 0.4]
    region = [0, 1, 1, 2, 2, 2]
    share = np.array([1, 2, 3]) / 6

    def value(solar: tuple[int, ...]) -> float:
        b = np.bincount([region[c] for c in solar], minlength=3)
        excess = np.maximum(0.0, b - share * len(solar)).sum()
        return sum(ss[c] for c in solar) + 0.5 * (6 - len(solar)) - weight * excess \
            - national * len(solar)

    best = max(value(c) for c in combinations(range(6), 2))
    run = api.solve(_deviation_case(tmp_path, weight, national), write=False)
    assert run.solution.objective == pytest.approx(best, abs=1e-6)
    grid = run.compiled.allocation_grid(run.solution.x)
    solar = tuple(int(c) for c in np.flatnonzero(grid[0] == 4))
    assert value(solar) == pytest.approx(best, abs=1e-6)


def test_proximity_share_row(tmp_path: Path) -> None:
    """Row Σ (1[d ≤ R] − s) · homes · x ≥ 0, homes = density · a."""
    dist = [[100.0, 900.0, 3000.0]]
    area = write_area(tmp_path / "a", [[3, 3, 3]], layers={"d": (dist, "continuous", {})})
    sc = scenario(tmp_path, area, housing_density={"default": 20, "source": SRC}, rules=[
        {"id": "near", "type": "proximity_share", "use": "housing", "quantity": "homes",
         "layer": "d", "within_m": 1000, "min_share": 0.75, "source": SRC}])
    cm = api.compile(sc)
    row = cm.spec.block("rule:near").A.toarray()[0]
    ids = cm.ctx.alloc_ids
    coef = {(int(cm.spec.unit_cells[cm.spec.col_unit[j]]), ids[cm.spec.col_use[j]]): row[j]
            for j in range(cm.spec.n_x) if row[j]}
    assert coef[(0, "housing")] == pytest.approx(20 * 0.25)
    assert coef[(1, "housing")] == pytest.approx(20 * 0.25)
    assert coef[(2, "housing")] == pytest.approx(20 * -0.75)
    assert cm.spec.block("rule:near").lower[0] == 0.0


def test_conflict_rows_and_optimum(tmp_path: Path) -> None:
    """1×3 farmland, 100 m cells, no wind within 150 m of new housing. Wind suits the middle
    cell (0.9) and housing the outer cells (0.8) best; both must hold one cell each (targets).
    Rows: for the cell with fewer candidates (here: any), |N| · x[c,wind] + Σ x[d,housing] ≤ |N|.
    The optimum puts housing and wind at the two ends (not adjacent): e.g. housing 0, wind 2."""
    sw = [[0.2, 0.9, 0.3]]
    sh = [[0.8, 0.1, 0.8]]
    area = write_area(tmp_path / "a", [[3, 3, 3]], layers={"sw": (sw, "continuous", {}),
                                                           "sh": (sh, "continuous", {})})
    sc = scenario(
        tmp_path, area,
        suitability={"wind": {"terms": [{"layer": "sw", "points": IDENT}]},
                     "housing": {"terms": [{"layer": "sh", "points": IDENT}]}},
        targets=[{"id": "w", "use": "wind", "min": 1, "max": 1, "source": SRC},
                 {"id": "h", "use": "housing", "min": 1, "max": 1, "source": SRC}],
        rules=[{"id": "only", "type": "exclusion", "layer": "landuse",
                "allow": ["wind", "housing", "agriculture"], "applies_to": "all",
                "source": SRC},
               {"id": "setback", "type": "conflict", "uses": ["wind"], "near": ["housing"],
                "distance_m": 150, "source": SRC}])
    cm = api.compile(sc)
    block = cm.spec.block("rule:setback")
    assert block.n_rows == 3  # every cell has a neighbour that could take the other use
    A = block.A.toarray()[:, : cm.spec.n_x]
    ids = cm.ctx.alloc_ids
    names = [(int(cm.spec.unit_cells[cm.spec.col_unit[j]]), ids[cm.spec.col_use[j]])
             for j in range(cm.spec.n_x)]
    rows = [{names[j]: A[r, j] for j in np.flatnonzero(A[r])} for r in range(3)]
    middle = next(r for r, d in zip(rows, block.upper, strict=True) if d == 2)
    assert set(middle.values()) == {1.0, 2.0} and len(middle) == 3
    run = api.solve(sc, write=False)
    grid = run.compiled.allocation_grid(run.solution.x)[0]
    wind, house = np.flatnonzero(grid == 5), np.flatnonzero(grid == 1)
    assert wind.size == 1 and house.size == 1 and abs(int(wind[0]) - int(house[0])) > 1
    # without the rule, wind takes the middle cell (0.9) next to housing
    sc_free = scenario(tmp_path, area, **{**_parts(sc), "rules": _parts(sc)["rules"][:1]})
    free = api.solve(sc_free, write=False)
    assert free.compiled.allocation_grid(free.solution.x)[0][1] == 5
    assert free.solution.objective > run.solution.objective


def _parts(path: Path) -> dict:
    import yaml

    data = yaml.safe_load(path.read_text())
    data.pop("id")
    data.pop("area")
    return data


# --- overrides, reports -------------------------------------------------------------------------
def _override_case(tmp_path: Path, overrides: list | None = None) -> Path:
    """1×4 farmland; a G rule closes housing in cells 0-1 (where housing suits best); 2 ha of
    housing are required."""
    sh = [[0.9, 0.8, 0.3, 0.2]]
    area = write_area(tmp_path / "a", [[3, 3, 3, 3]],
                      layers={"sh": (sh, "continuous", {}), "z": ([[1, 1, 0, 0]], "mask", {})})
    return write_scenario(tmp_path / "o.yaml", {
        "id": "ov", "area": str(area),
        "suitability": {"housing": {"terms": [{"layer": "sh", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "h", "use": "housing", "min": 2, "source": SRC}],
        "rules": [{"id": "g_zone", "type": "exclusion", "status": "G", "layer": "z",
                   "uses": ["housing"], "source": SRC},
                  {"id": "only", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "agriculture"], "applies_to": "all", "source": SRC}],
        "overrides": overrides or []})


def test_g_rule_binds_and_disable_override_is_reported(tmp_path: Path) -> None:
    base = api.solve(_override_case(tmp_path), write=False)
    grid = base.compiled.allocation_grid(base.solution.x)[0]
    assert list(grid) == [3, 3, 1, 1]
    rules = {r["rule"]: r for r in base.summary["rules"] if r["use"] == "housing"}
    assert rules["g_zone"]["binds"] == "yes" and rules["g_zone"]["ha_removed"] == 2.0
    just = "The regional housing deal needs these two hectares; flooding risk is handled."
    run = api.solve(_override_case(tmp_path, [{"rule": "g_zone", "action": "disable",
                                                "justification": just}]), write=False)
    grid = run.compiled.allocation_grid(run.solution.x)[0]
    assert list(grid) == [1, 1, 3, 3]
    (o,) = run.summary["overrides"]
    assert o["rule"] == "g_zone" and o["justification"] == just and o["changed_ha"] == 2.0
    assert run.solution.objective > base.solution.objective


def test_soften_override_becomes_a_cost(tmp_path: Path) -> None:
    """Softened with penalty 0.1/ha: housing in the zone gains 0.4+0.3 over cells 2-3 and
    pays 0.2, so it moves into the zone. With penalty 1.0 it stays out."""
    just = "Testing what the rule costs when it can be bought off per hectare."
    low = api.solve(_override_case(tmp_path, [{"rule": "g_zone", "action": "soften",
                                               "penalty": 0.1, "justification": just}]),
                    write=False)
    assert list(low.compiled.allocation_grid(low.solution.x)[0]) == [1, 1, 3, 3]
    assert low.compiled.spec.term("override:g_zone").value(low.solution.x) == pytest.approx(0.2)
    high = api.solve(_override_case(tmp_path, [{"rule": "g_zone", "action": "soften",
                                                "penalty": 1.0, "justification": just}]),
                     write=False)
    assert list(high.compiled.allocation_grid(high.solution.x)[0]) == [3, 3, 1, 1]


def test_set_override_changes_parameters(tmp_path: Path) -> None:
    just = "Only the first cell is really in the zone after the new survey of the area."
    run = api.solve(_override_case(tmp_path, [
        {"rule": "g_zone", "action": "set", "set": {"where": {"above": 5}},
         "justification": just}]), write=False)
    # nothing is above 5 in a 0/1 mask: the zone is empty
    assert list(run.compiled.allocation_grid(run.solution.x)[0]) == [1, 1, 3, 3]
    with pytest.raises(InputError) as info:
        api.compile(_override_case(tmp_path, [
            {"rule": "g_zone", "action": "set", "set": {"buffer_m": -5},
             "justification": just}]))
    assert info.value.problems[0].field.startswith("overrides[0].set")


def test_non_binding_rule_is_reported_as_such(tmp_path: Path) -> None:
    """A zone rule closing housing where housing is poor anyway does not bind."""
    sh = [[0.1, 0.9, 0.8, 0.3]]
    area = write_area(tmp_path / "a", [[3, 3, 3, 3]],
                      layers={"sh": (sh, "continuous", {}), "z": ([[1, 0, 0, 0]], "mask", {})})
    sc = write_scenario(tmp_path / "nb.yaml", {
        "id": "nb", "area": str(area),
        "suitability": {"housing": {"terms": [{"layer": "sh", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "h", "use": "housing", "min": 2, "source": SRC}],
        "rules": [{"id": "z_rule", "type": "exclusion", "layer": "z", "uses": ["housing"],
                   "source": SRC},
                  {"id": "only", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "agriculture"], "applies_to": "all", "source": SRC}]})
    run = api.solve(sc, write=False)
    row = next(r for r in run.summary["rules"] if r["rule"] == "z_rule" and r["use"] == "housing")
    assert row["binds"] == "no" and row["max_reduced_cost"] < 0


def test_multi_use_land_saved(tmp_path: Path) -> None:
    """Two farmland cells that must deliver 2 ha of farming and 1 ha of wind: only a
    farmland+wind cell does both, and it saves p(agri) + p(wind) − 1 = 0.97 ha."""
    area = write_area(tmp_path / "a", [[3, 3]])
    sc = scenario(tmp_path, area,
                  targets=[{"id": "a", "use": "agriculture", "min": 1.9, "source": SRC},
                           {"id": "w", "use": "wind", "min": 1, "source": SRC}],
                  rules=[{"id": "only", "type": "exclusion", "layer": "landuse",
                          "allow": ["agriculture", "wind", "agriculture_wind"],
                          "applies_to": "all", "source": SRC}])
    run = api.solve(sc, write=False)
    mu = run.summary["multi_use"]
    assert mu["combined_ha"] == 1.0
    assert mu["land_saved_ha"] == pytest.approx(0.97)
    assert mu["by_use"]["agriculture_wind"]["ha"] == 1.0
