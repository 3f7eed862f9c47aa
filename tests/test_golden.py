"""Golden formulation tests on tiny grids: exact rows, hand-computed and enumerated optima."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ruimteverdeling import api
from ruimteverdeling.errors import InputError
from ruimteverdeling.model.options import SolverOptions

from areas import CODES, IDENT, SRC, USES4, hand_case, random_case, write_area, write_scenario

A_HA = 1.0  # 100 m cells


def _solve(scenario: Path, **kw):
    return api.solve(scenario, write=False, **kw)


# ------------------------------------------------------------------------------------------
# 1. a hand-computed optimum
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["auto", "mip"])
def test_hand_computed_optimum(tmp_path: Path, method: str) -> None:
    run = _solve(hand_case(tmp_path), method=method)
    expected = np.array([[1, 2, 3], [2, 1, 1], [2, 3, 23]])
    np.testing.assert_array_equal(run.compiled.allocation_grid(run.solution.x), expected)
    # the layers are float32 GeoTIFFs, so 0.9 is stored as 0.899999976...
    assert run.solution.objective == pytest.approx(5.1, abs=1e-6)
    assert run.solution.bound == pytest.approx(run.solution.objective, abs=1e-9)
    assert run.solution.optimal and run.solution.gap == pytest.approx(0, abs=1e-12)


def test_hand_case_written_outputs(tmp_path: Path) -> None:
    run = api.solve(hand_case(tmp_path), tmp_path / "out")
    with rasterio.open(tmp_path / "out" / "allocation.tif") as src:
        np.testing.assert_array_equal(src.read(1), [[1, 2, 3], [2, 1, 1], [2, 3, 23]])
        assert src.crs.to_epsg() == 28992
    with rasterio.open(tmp_path / "out" / "change.tif") as src:
        np.testing.assert_array_equal(src.read(1), [[301, 302, 0], [302, 0, 301], [0, 0, 0]])
    rows = {(t["target"], t["region"]): t for t in run.summary["targets"]}
    assert rows[("h", "national")]["achieved"] == 2 and rows[("h", "national")]["met"] == "yes"
    assert rows[("n", "national")]["achieved"] == 3


# ------------------------------------------------------------------------------------------
# 2. exact rows of a compiled model
# ------------------------------------------------------------------------------------------
def test_exact_rows_with_fixed_contributions(tmp_path: Path) -> None:
    """2×2: [[housing(fixed), agriculture], [nature, agriculture]], two regions (columns).

    Homes target (density 10/ha in R1, 20/ha in R2, basis new) ≥ 15 and a nature target
    (total) ≥ 2 per region. Wind is closed everywhere; only housing, nature, agriculture open.
    """
    lu = [[1, 3], [2, 3]]
    regions = [[1, 2], [1, 2]]
    area = write_area(tmp_path / "a", lu, regions, {1: "R1", 2: "R2"})
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "rows", "area": str(area),
        "housing_density": {"default": 10, "per_region": {"R2": 20}, "source": SRC},
        "targets": [
            {"id": "homes", "use": "housing", "quantity": "homes", "min": 15, "source": SRC},
            {"id": "nat", "use": "nature", "per_region": True, "min": 2, "hard": False,
             "penalty": 3, "source": SRC},
        ],
        "rules": [{"id": "three", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "nature", "agriculture"], "applies_to": "all",
                   "source": SRC}],
    })
    cm = api.compile(sc)
    spec = cm.spec
    uses = cm.ctx.alloc_ids
    # units: the three non-housing cells (flat 1, 2, 3), each with 3 columns
    np.testing.assert_array_equal(spec.unit_cells, [1, 2, 3])
    assert spec.n_x == 9
    col_names = [(int(spec.unit_cells[spec.col_unit[j]]), uses[spec.col_use[j]])
                 for j in range(spec.n_x)]
    assert col_names == [(c, u) for c in (1, 2, 3) for u in ("housing", "nature", "agriculture")]
    assign = spec.block("assign")
    np.testing.assert_array_equal(assign.A.toarray()[:, :9], np.kron(np.eye(3), np.ones(3)))
    np.testing.assert_array_equal(assign.lower, 1)
    homes = spec.block("target:homes")
    expected = np.zeros(spec.n_cols)
    expected[[0, 3, 6]] = [20.0, 10.0, 20.0]  # housing columns × density of the cell's region
    np.testing.assert_array_equal(homes.A.toarray()[0], expected)
    assert homes.lower[0] == 15 and homes.upper[0] == np.inf
    nat = spec.block("target:nat")
    assert nat.labels == ["R1", "R2"]
    # R1: the current nature cell (flat 2) is a unit; R1 has no fixed nature
    A = nat.A.toarray()
    assert A[0, 4] == 1.0 and A[1, 1] == 1.0 and A[1, 7] == 1.0
    assert spec.aux_names == ["shortfall:nat:R1", "shortfall:nat:R2"]
    assert A[0, 9] == 1.0 and A[1, 10] == 1.0  # slack columns
    np.testing.assert_array_equal(nat.lower, [2.0, 2.0])
    pen = spec.term("shortfall:nat")
    np.testing.assert_array_equal(pen.coef[9:], [3.0, 3.0])
    # solve: R1 can have at most 1 ha of nature (the other cell is fixed housing); 15 homes
    # need one housing cell in R2 (density 20; R1's 10 is too few), so R2 has 1 ha of nature
    # too: both regions 1 ha short, objective -2 x 3 = -6
    run = _solve(sc)
    rows = {(t["target"], t["region"]): t for t in run.summary["targets"]}
    for region in ("R1", "R2"):
        assert rows[("nat", region)]["achieved"] == 1 and rows[("nat", region)]["slack"] == 1
        assert rows[("nat", region)]["met"] == "no"
    assert rows[("homes", "national")]["achieved"] == 20
    assert run.solution.objective == pytest.approx(-6.0, abs=1e-9)
    assert run.solution.optimal


def test_exclusion_new_keeps_current_use_and_pins(tmp_path: Path) -> None:
    lu = [[3, 2, 3]]
    zone = [[1, 1, 0]]
    area = write_area(tmp_path / "a", lu, layers={"zone": (zone, "mask", {})})
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "ex", "area": str(area),
        "rules": [{"id": "only_nature", "type": "exclusion", "layer": "zone",
                   "allow": ["nature"], "source": SRC}],
    })
    cm = api.compile(sc)
    allowed = {int(c): set() for c in cm.spec.unit_cells}
    for j in range(cm.spec.n_x):
        allowed[int(cm.spec.unit_cells[cm.spec.col_unit[j]])].add(
            cm.ctx.alloc_ids[cm.spec.col_use[j]])
    # cell 0 (agriculture in the zone) keeps agriculture or becomes nature
    assert allowed[0] == {"agriculture", "nature"}
    # cell 1 (nature in the zone) can only stay nature: pinned, not a variable
    assert 1 not in allowed and cm.pinned_land.tolist() == [1]
    # cell 2 is outside the zone: every allocatable use of the catalogue
    assert allowed[2] == set(cm.ctx.alloc_ids) and len(allowed[2]) >= 7
    report = cm.rule_reports[0]
    assert report["zone_ha"] == 2.0
    assert report["removed_ha"]["housing"] == {"R1": 2.0}  # both zone cells lose housing
    assert report["removed_ha"]["agriculture"] == {"R1": 1.0}  # only the nature cell


def test_impossible_target_is_a_clear_input_error(tmp_path: Path) -> None:
    lu = [[3, 3], [21, 23]]
    zone = [[1, 0], [0, 0]]
    area = write_area(tmp_path / "a", lu, layers={"n2k": (zone, "mask", {})})
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "imp", "area": str(area),
        "targets": [{"id": "solar_big", "use": "solar", "min": 3, "source": SRC}],
        "rules": [{"id": "no_solar_n2k", "type": "exclusion", "layer": "n2k",
                   "uses": ["solar"], "source": SRC}],
    })
    with pytest.raises(InputError) as info:
        api.compile(sc)
    (p,) = info.value.problems
    assert p.field == "targets[0].min"
    assert "asks at least 3 ha" in p.message and "more than 1 ha" in p.message


# ------------------------------------------------------------------------------------------
# 3. enumeration: the solver's optimum equals brute force on random tiny instances
# ------------------------------------------------------------------------------------------
def brute_force(case: dict) -> float:
    """Best objective over every assignment of the 4 uses to the 8 changeable cells."""
    lu, regions, suit, trans = case["lu"], case["regions"], case["suit"], case["trans"]
    cells = [(r, c) for r in range(3) for c in range(3) if lu[r, c] != 1]
    inv = {v: k for k, v in CODES.items()}
    best = -np.inf
    for combo in itertools.product(range(4), repeat=len(cells)):
        homes = nat_west = solar = 0.0
        agri = {1: 0.0, 2: 0.0}
        obj = 0.0
        for (r, c), k in zip(cells, combo, strict=True):
            u = USES4[k]
            cur = inv[int(lu[r, c])]
            obj += A_HA * suit[u][r, c]
            if u != cur:
                obj -= A_HA * trans.get(cur, {}).get(u, 0.0)
            if u == "housing":
                homes += A_HA * (20 if regions[r, c] == 1 else 30)
            if u == "nature" and regions[r, c] == 1:
                nat_west += A_HA
            if u == "solar":
                solar += A_HA
            if u == "agriculture":
                agri[int(regions[r, c])] += A_HA
        if homes < case["homes_min"] or nat_west < case["nature_min_west"]:
            continue
        if not case["solar_min"] <= solar <= case["solar_max"]:
            continue
        obj -= case["agri_pen"] * sum(max(0.0, case["agri_min"] - a) for a in agri.values())
        best = max(best, obj)
    return best


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_optimum_equals_enumeration(tmp_path: Path, seed: int) -> None:
    sc, case = random_case(tmp_path, seed)
    expected = brute_force(case)
    assert np.isfinite(expected)
    run = _solve(sc)
    assert run.solution.objective == pytest.approx(expected, abs=1e-6)
    assert run.solution.bound >= run.solution.objective - 1e-9
    assert run.solution.optimal
    # and the targets table agrees with the constraints
    for t in run.summary["targets"]:
        if t["target"] != "agri":
            assert t["met"] == "yes", t


def test_lp_method_reports_relaxation_not_optimum(tmp_path: Path) -> None:
    sc, _ = random_case(tmp_path, 1)
    cm = api.compile(sc)
    from ruimteverdeling.model.solve import solve

    sol = solve(cm.spec, SolverOptions(method="lp"))
    assert sol.status == "relaxation" and not sol.optimal


def test_5x5_greedy_optimum(tmp_path: Path) -> None:
    """5×5, all farmland; housing, nature or agriculture (0.5 everywhere) per cell, ≥ 8 ha of
    housing. With one binding claim the optimum is exact by an exchange argument: every cell
    takes its best use, then the cells that are not naturally housing and lose least by
    becoming housing are switched until the claim holds."""
    rng = np.random.default_rng(20)  # 6 cells are naturally housing: the claim binds
    sh = rng.random((5, 5)).astype(np.float32)
    sn = rng.random((5, 5)).astype(np.float32)
    agri = np.float32(0.5)
    area = write_area(tmp_path / "a", np.full((5, 5), 3),
                      layers={"s_h": (sh, "continuous", {}), "s_n": (sn, "continuous", {})})
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "g5", "area": str(area),
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "nature": {"terms": [{"layer": "s_n", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "h", "use": "housing", "min": 8, "source": SRC}],
        "rules": [{"id": "three", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "nature", "agriculture"], "applies_to": "all",
                   "source": SRC}],
    })
    s = np.stack([sh, sn, np.full((5, 5), agri)]).astype(float)  # float32 inputs, exact sums
    best = s.max(axis=0)
    natural = s.argmax(axis=0) == 0
    k = int(natural.sum())
    assert k < 8  # the claim binds for this seed
    loss = np.where(natural, np.inf, best - s[0])
    switch = np.argsort(loss, axis=None)[: 8 - k]
    expected_obj = best.sum() - loss.ravel()[switch].sum()
    expected = np.where(s.argmax(axis=0) == 0, 1, np.where(s.argmax(axis=0) == 1, 2, 3))
    expected.ravel()[switch] = 1
    run = _solve(sc)
    assert run.solution.objective == pytest.approx(expected_obj, abs=1e-9)
    np.testing.assert_array_equal(run.compiled.allocation_grid(run.solution.x), expected)
    assert run.solution.optimal and run.solution.method == "lp-integral"
