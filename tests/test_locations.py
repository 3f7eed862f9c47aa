"""Location rules: minimum location sizes and counts, checked by brute force and on the raster."""

from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path

import numpy as np
import pytest
import rasterio
from tests.areas import IDENT, SRC, write_area, write_scenario

from ruimteverdeling import api

DENSITY = 10  # homes per hectare; a 100 m cell holds 10 homes


def patches(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """4-neighbour connected components of a boolean grid (written here, independently of
    the engine)."""
    seen = np.zeros(mask.shape, bool)
    out = []
    h, w = mask.shape
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        comp, todo = [], deque([(int(r0), int(c0))])
        seen[r0, c0] = True
        while todo:
            r, c = todo.popleft()
            comp.append((r, c))
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    todo.append((rr, cc))
        out.append(comp)
    return out


def case(tmp_path: Path, sh: list[list[float]], homes_min: float,
         location: dict | None, name: str = "s", use: str = "housing") -> Path:
    """Farmland (agriculture 0.5 everywhere), ``use`` suitability ``sh``, a target for it
    (homes for housing at 10 per cell, else hectares); only ``use`` and agriculture allowed."""
    lu = np.full(np.shape(sh), 3)
    area = write_area(tmp_path / f"area_{name}", lu, layers={"s_h": (sh, "continuous", {})})
    quantity = "homes" if use == "housing" else "area"
    rules = [{"id": "two_uses", "type": "exclusion", "layer": "landuse",
              "allow": [use, "agriculture"], "applies_to": "all", "source": SRC}]
    if location is not None:
        rules.append({"id": "loc", "type": "location", "use": use, "quantity": quantity,
                      "source": SRC, **location})
    extra = {"housing_density": {"default": DENSITY, "source": SRC}} if use == "housing" else {}
    return write_scenario(tmp_path / f"{name}.yaml", {
        "id": name, "area": str(area), **extra,
        "suitability": {use: {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "homes" if use == "housing" else f"{use}_ha", "use": use,
                     "quantity": quantity, "min": homes_min, "source": SRC}],
        "rules": rules,
    })


def _binding_case(tmp_path: Path):
    """Random 3×4 farmland, ≥ 40 homes, locations ≥ 30: its brute-force optimum,
    the compiled model and the cell model's solve (the relaxation)."""
    from ruimteverdeling.model.solve import solve

    rng = np.random.default_rng(1)
    sh = (0.2 + 0.8 * rng.random((3, 4))).round(3)
    sc = case(tmp_path, sh.tolist(), 40, {"min_size": 30})
    cm = api.compile(sc)
    return brute_force(sc, 30), cm, solve(cm.spec, cm.scenario.solver)


def brute_force(sc: Path, min_size: float, count: tuple[int, float] | None = None,
                use: str = "housing", per_cell: float = DENSITY) -> float:
    """The best objective over every ``use``/agriculture allocation that meets the model's
    rows and whose every ``use`` patch holds ≥ ``min_size`` (``per_cell`` a cell: homes, or
    hectares) (and ``count``: at least N patches of ≥ S)."""
    cm = api.compile(sc)
    spec, ids = cm.spec, cm.ctx.alloc_ids
    shape = cm.area.grid.shape
    cols = {(int(spec.unit_cells[spec.col_unit[j]]), ids[spec.col_use[j]]): j
            for j in range(spec.n_x)}
    cells = [int(c) for c in spec.unit_cells]
    best = -np.inf
    for choice in itertools.product([False, True], repeat=len(cells)):
        x = np.zeros(spec.n_cols)
        mask = np.zeros(shape[0] * shape[1], bool)
        for c, house in zip(cells, choice, strict=True):
            x[cols[(c, use if house else "agriculture")]] = 1.0
            mask[c] = house
        if spec.violations(x):
            continue
        sizes = [len(p) * per_cell for p in patches(mask.reshape(shape))]
        if any(s < min_size for s in sizes):
            continue
        if count is not None and sum(s >= count[1] for s in sizes) < count[0]:
            continue
        best = max(best, spec.objective_value(x))
    return best


SH = [[0.9, 0.5, 0.2],
      [0.6, 0.3, 0.9]]


def test_minimum_size_changes_the_optimum_to_the_brute_force_one(tmp_path: Path) -> None:
    """2×3 farmland; housing suits (0,0) and (1,2) best, then (1,0). Without the rule the
    optimum builds (0,0), (1,0) and the single cell (1,2) (gains 0.4 + 0.1 + 0.4). With every
    location ≥ 20 homes (two cells) the single cell must grow or go: the optimum (by brute
    force) grows it into (1,1), one L-shaped location of four cells (0.4 + 0.1 − 0.2 + 0.4)."""
    free = api.solve(case(tmp_path, SH, 20, None, "free"), write=False).solution
    sc = case(tmp_path, SH, 20, {"min_size": 20})
    run = api.solve(sc, write=False)
    sol = run.solution
    expected = brute_force(sc, 20)
    assert free.objective == pytest.approx(brute_force(sc, 0), abs=1e-6)
    assert free.objective > expected + 0.1  # the rule changes the optimum
    assert sol.objective == pytest.approx(expected, abs=1e-6)
    # the bound stays valid (never below the true optimum) and the patch cuts tighten it
    # below the relaxation's: the single cell (1,2) must bring a neighbour or go
    assert sol.bound >= expected - 1e-9
    assert sol.bound < free.objective - 0.1
    assert sol.details["locations"]["bound"]["lagrangian"] == pytest.approx(free.objective,
                                                                           abs=1e-6)
    assert sol.status == ("optimal" if sol.bound - sol.objective < 1e-6 else "feasible")
    assert sol.details["locations"]["status"] == "enforced"
    after = run.after
    housing = after == 1
    assert all(len(p) * DENSITY >= 20 for p in patches(housing))


def test_rule_already_met_leaves_the_optimum(tmp_path: Path) -> None:
    """With a 10-home minimum (one cell) the relaxation's optimum is location-feasible:
    nothing changes and the status stays optimal."""
    sc = case(tmp_path, SH, 20, {"min_size": 10})
    sol = api.solve(sc, write=False).solution
    assert sol.status == "optimal"
    assert sol.details["locations"]["status"] == "met"
    assert sol.objective == pytest.approx(brute_force(sc, 10), abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3, 6, 7])
def test_strengthened_bound_never_below_the_brute_force_optimum(tmp_path: Path,
                                                                seed: int) -> None:
    """Random 3×4 farmland, at least 40 homes, every location ≥ 30 homes (three cells): the
    Lagrangian bound with patch cuts is a valid bound — never below the best location-feasible
    allocation found by brute force over all 4,096 allocations — and the incumbent is a
    location-feasible allocation, never above it."""
    rng = np.random.default_rng(seed)
    sh = (0.2 + 0.8 * rng.random((3, 4))).round(3)
    free = api.solve(case(tmp_path, sh.tolist(), 40, None, "free"), write=False).solution
    sc = case(tmp_path, sh.tolist(), 40, {"min_size": 30})
    sol = api.solve(sc, write=False).solution
    expected = brute_force(sc, 30)
    assert sol.bound >= expected - 1e-7
    assert sol.objective <= expected + 1e-7
    assert sol.bound <= free.bound + 1e-9
    info = sol.details["locations"]
    assert info["status"] == "enforced"  # these seeds scatter: the cuts must bite
    assert info["bound"]["bound"] < info["bound"]["lagrangian"] - 1e-6
    assert sol.bound < free.bound - 1e-6


def test_count_of_large_locations_by_brute_force(tmp_path: Path) -> None:
    """3×4 farmland, target 30 homes; at least one location of ≥ 40 homes (four cells)."""
    sh = [[0.9, 0.4, 0.45, 0.95],
          [0.3, 0.55, 0.2, 0.4],
          [0.8, 0.35, 0.6, 0.1]]
    sc = case(tmp_path, sh, 30, {"min_size": 10, "count": {"at_least": 1, "min_size": 40}})
    sol = api.solve(sc, write=False).solution
    expected = brute_force(sc, 10, (1, 40))
    assert sol.objective <= expected + 1e-6  # never better than the true optimum
    assert sol.objective == pytest.approx(expected, abs=1e-6)


def test_output_raster_meets_every_minimum(tmp_path: Path) -> None:
    """On a random 12×12 area with a minimum of 50 homes per location, every housing patch
    of new housing in allocation.tif (read back from disk) holds ≥ 50 homes."""
    rng = np.random.default_rng(3)
    sh = rng.random((12, 12)).round(3)
    sc = case(tmp_path, sh.tolist(), 200, {"min_size": 50})
    run = api.solve(sc, tmp_path / "out")
    with rasterio.open(tmp_path / "out" / "allocation.tif") as src:
        alloc = src.read(1)
    sizes = [len(p) * DENSITY for p in patches(alloc == 1)]
    assert sizes and min(sizes) >= 50
    assert sum(sizes) >= 200
    assert run.solution.bound >= run.solution.objective - 1e-9
    block = run.summary["locations"]["per_use"]["housing"]
    assert block["locations"] == len(sizes) and block["below_minimum"] == 0
    assert block["share_in_locations_meeting_minimum"] == 1.0
    assert block["mean_size"] == pytest.approx(np.mean(sizes))


def test_location_rule_needs_a_minimum_or_count(tmp_path: Path) -> None:
    from ruimteverdeling.errors import InputError

    sc = case(tmp_path, SH, 20, {})
    with pytest.raises(InputError) as exc:
        api.compile(sc)
    assert "rules[1]" in str(exc.value)


def test_locations_table_and_polygons(tmp_path: Path) -> None:
    """locations.csv lists one row per patch of new housing in the raster, and
    locations.gpkg one polygon each with the same hectares."""
    import csv

    import geopandas as gpd

    rng = np.random.default_rng(5)
    sh = rng.random((8, 8)).round(3)
    sc = case(tmp_path, sh.tolist(), 100, {"min_size": 30})
    api.solve(sc, tmp_path / "out")
    with rasterio.open(tmp_path / "out" / "allocation.tif") as src:
        alloc = src.read(1)
    comps = patches(alloc == 1)
    with open(tmp_path / "out" / "locations.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["cells"]) for r in rows) == sorted(len(p) for p in comps)
    assert all(r["meets_minimum"] == "True" for r in rows)
    gdf = gpd.read_file(tmp_path / "out" / "locations.gpkg")
    assert len(gdf) == len(rows)
    assert sorted(gdf.geometry.area.round() / 1e4) == sorted(float(r["hectares"])
                                                             for r in rows)


def test_committed_location_is_realised_and_exempt(tmp_path: Path) -> None:
    """A committed location of one cell (10 homes) below the 20-home minimum: an exclusion
    realises it (housing only), the location rule exempts it, and the run lists it as
    committed."""
    lu = np.full((2, 3), 3)
    committed = np.array([[0, 0, 1], [0, 0, 0]])
    area = write_area(tmp_path / "area", lu, layers={
        "s_h": (SH, "continuous", {}),
        "committed": (committed, "regions", {"categories": {1: "NOVEX test"}})})
    sc = write_scenario(tmp_path / "c.yaml", {
        "id": "c", "area": str(area),
        "housing_density": {"default": DENSITY, "source": SRC},
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "homes", "use": "housing", "quantity": "homes", "min": 30,
                     "source": SRC}],
        "rules": [
            {"id": "two_uses", "type": "exclusion", "layer": "landuse",
             "allow": ["housing", "agriculture"], "applies_to": "all", "source": SRC},
            {"id": "realise", "type": "exclusion", "layer": "committed",
             "allow": ["housing"], "applies_to": "all", "source": SRC},
            {"id": "loc", "type": "location", "min_size": 20, "committed_layer": "committed",
             "source": SRC}]})
    run = api.solve(sc, tmp_path / "out")
    with rasterio.open(tmp_path / "out" / "allocation.tif") as src:
        alloc = src.read(1)
    assert alloc[0, 2] == 1  # realised
    for p in patches(alloc == 1):
        assert (0, 2) in p or len(p) * DENSITY >= 20
    kinds = {r["kind"] for r in run.locations[0]}
    assert "committed" in kinds


def test_minimum_no_region_can_hold_is_an_input_error(tmp_path: Path) -> None:
    """Six cells of 10 homes: a minimum of 100 homes fits nowhere; the CLI exits 2 naming the
    rule, the field and the region."""
    from click.testing import CliRunner

    from ruimteverdeling.cli import main

    sc = case(tmp_path, SH, 20, {"min_size": 100})
    r = CliRunner().invoke(main, ["solve", str(sc), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "rules[1].min_size" in r.output and "'loc'" in r.output and "R1" in r.output
    assert not (tmp_path / "out").exists()


def test_unmeetable_locations_are_reported_not_crashed(tmp_path: Path) -> None:
    """Exactly 10 homes (one cell) but locations of ≥ 20 homes: no allocation meets both.
    The run finishes with the relaxation's allocation, marks the rule not met and warns."""
    sc = case(tmp_path, SH, 10, {"min_size": 20})
    data = __import__("yaml").safe_load(sc.read_text())
    data["targets"][0]["max"] = 10
    write_scenario(sc, data)
    run = api.solve(sc, tmp_path / "out")
    assert run.solution.details["locations"]["status"] == "not met"
    assert any("location rules" in w["message"] for w in run.summary["warnings"])


def test_committed_location_on_an_excluded_zone_names_it(tmp_path: Path) -> None:
    """A committed location on a zone a G rule closes to housing: exit 2, naming the
    location and its layer, and no output folder."""
    from click.testing import CliRunner

    from ruimteverdeling.cli import main

    lu = np.full((2, 3), 3)
    committed = np.array([[0, 0, 1], [0, 0, 0]])
    flood = np.array([[0, 0, 1], [0, 0, 0]])
    area = write_area(tmp_path / "area", lu, layers={
        "s_h": (SH, "continuous", {}), "flood": (flood, "mask", {}),
        "committed": (committed, "regions", {"categories": {1: "NOVEX Polder"}})})
    sc = write_scenario(tmp_path / "c.yaml", {
        "id": "c", "area": str(area),
        "housing_density": {"default": DENSITY, "source": SRC},
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "rules": [
            {"id": "no_housing_flood", "type": "exclusion", "status": "G", "layer": "flood",
             "uses": ["housing"], "source": SRC},
            {"id": "realise", "type": "exclusion", "status": "G", "layer": "committed",
             "allow": ["housing"], "applies_to": "all", "source": SRC},
            {"id": "loc", "type": "location", "min_size": 20, "committed_layer": "committed",
             "source": SRC}]})
    r = CliRunner().invoke(main, ["solve", str(sc), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "NOVEX Polder" in r.output and "committed" in r.output
    assert not (tmp_path / "out").exists()


def test_proximity_share_leaves_committed_locations_out(tmp_path: Path) -> None:
    """Row Σ (1[d ≤ R] − s) · homes · x ≥ 0 over the cells outside ``exclude``: a committed
    (excluded) cell far from the station gets coefficient 0 instead of −s · homes."""
    dist = [[100.0, 3000.0, 3000.0]]
    committed = [[0, 0, 1]]
    area = write_area(tmp_path / "a", [[3, 3, 3]], layers={
        "d": (dist, "continuous", {}), "committed": (committed, "mask", {})})
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "t", "area": str(area), "housing_density": {"default": 20, "source": SRC},
        "rules": [{"id": "near", "type": "proximity_share", "use": "housing",
                   "quantity": "homes", "layer": "d", "within_m": 1000, "min_share": 0.75,
                   "exclude": {"layer": "committed"}, "source": SRC}]})
    cm = api.compile(sc)
    row = cm.spec.block("rule:near").A.toarray()[0]
    ids = cm.ctx.alloc_ids
    coef = {(int(cm.spec.unit_cells[cm.spec.col_unit[j]]), ids[cm.spec.col_use[j]]): row[j]
            for j in range(cm.spec.n_x)}
    assert coef[(0, "housing")] == pytest.approx(20 * 0.25)
    assert coef[(1, "housing")] == pytest.approx(20 * -0.75)
    assert coef[(2, "housing")] == 0.0


@pytest.mark.parametrize("committed_cell", [None, 5])
def test_patch_cuts_hold_for_every_location_feasible_allocation(committed_cell: int | None
                                                                ) -> None:
    """The patch cuts y_c ≤ Σ_{n∈∂S} y_n found from random LP points on a 3×4 grid (cells
    holding 10 or 20 homes, every location ≥ 30 homes, one cell that cannot take housing,
    optionally one committed cell) hold for every allocation — all 2^11 — whose every
    4-neighbour patch meets the minimum or holds the committed cell."""
    from ruimteverdeling.rules import location_bound as lb

    rng = np.random.default_rng(5)
    shape = (3, 4)
    n = 12
    qmax = rng.choice([10.0, 20.0], n)
    can = np.ones(n, bool)
    can[7] = False
    committed = np.zeros(n, bool)
    if committed_cell is not None:
        committed[committed_cell] = True
    lu = lb.LocatedUse("housing", 4, np.full(n, 30.0), committed, np.zeros(0, bool),
                       np.zeros(0), np.zeros(n))
    pu = {"qmax": qmax, "can": can, "pinned": np.zeros(n, bool)}
    land = np.arange(n)
    cuts: list = []
    seen: set = set()
    for _ in range(40):
        y = rng.random(n) * (rng.random(n) < 0.6)
        lb._separate(0, lu, pu, y, land, land, shape, cuts, seen)
    assert len(cuts) >= 10
    free = np.flatnonzero(can)
    feasible = 0
    for choice in itertools.product([0, 1], repeat=free.size):
        y = np.zeros(n)
        y[free] = choice
        ok = all(sum(qmax[r * 4 + c] for r, c in p) >= 30
                 or any(committed[r * 4 + c] for r, c in p)
                 for p in patches(y.reshape(shape) > 0))
        if not ok:
            continue
        feasible += 1
        for _, c, bnd in cuts:
            assert y[c] <= y[bnd].sum() + 1e-12, (c, bnd, y)
    assert feasible > 100


@pytest.mark.parametrize("seconds", [0.0, None])
def test_enforcement_honours_its_time_share(tmp_path: Path, seconds: float | None) -> None:
    """With no time at all the enforcement leaves out the location bound (the relaxation's
    bound stands) and the further round, and still returns a location-feasible allocation
    that meets every row, with a bound no lower than the brute-force optimum; with its
    default share it runs the bound too. Random 3×4 farmland, ≥ 40 homes, locations ≥ 30."""
    from ruimteverdeling.rules import location

    expected, cm, relaxation = _binding_case(tmp_path)
    assert relaxation.objective > expected + 1e-6  # the rule binds
    sol = location.enforce(cm, relaxation, seconds=seconds)
    info = sol.details["locations"]
    assert info["status"] == "enforced"
    assert not cm.spec.violations(sol.x)
    assert sol.objective <= expected + 1e-7
    assert sol.bound >= expected - 1e-7
    assert sol.decision_gap >= 0.0
    ctx = cm.ctx
    mask = np.zeros(ctx.area.grid.size, bool)
    mask[ctx.land_cells] = ctx.provides("housing")[cm.land_use_after(sol.x)] > 0
    sizes = [len(p) * DENSITY for p in patches(mask.reshape(ctx.area.grid.shape))]
    assert sizes and min(sizes) >= 30
    if seconds == 0.0:
        assert "bound" in info["budget"]["skipped"]
        assert "bound" not in info
        assert sol.bound == pytest.approx(relaxation.bound)
    else:
        assert "skipped" not in info["budget"]
        assert sol.bound < relaxation.bound - 1e-6  # the patch cuts bite here


def test_wind_park_minimum_binds_by_brute_force(tmp_path: Path) -> None:
    """The park rule is the same rule in hectares: 2×3 farmland of 1 ha cells, at least 3 ha
    of new wind, wind suiting (0,0) and (1,2) best, then (1,0). Without the rule the optimum
    builds (0,0), (1,0) and the single cell (1,2); with parks of ≥ 2 ha the single turbine
    cell must grow or go, and the engine's optimum is the brute-force one."""
    def scenario(name: str, rule: dict | None) -> Path:
        return case(tmp_path, SH, 3, rule, name, use="wind")

    free = api.solve(scenario("free", None), write=False).solution
    sc = scenario("parks", {"min_size": 2})
    run = api.solve(sc, write=False)
    expected = brute_force(sc, 2, use="wind", per_cell=1.0)
    assert free.objective == pytest.approx(brute_force(sc, 0, use="wind", per_cell=1.0),
                                           abs=1e-6)
    assert free.objective > expected + 0.1  # the park rule binds here
    assert run.solution.objective == pytest.approx(expected, abs=1e-6)
    assert run.solution.bound >= expected - 1e-9
    parks = patches(run.after == 5)  # wind's land-use code
    assert parks and all(len(p) >= 2 for p in parks)
    assert sum(len(p) for p in parks) >= 3


def test_enforcement_waits_for_a_cancelled_solve_outside_its_share(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """A solve cancelled at its deadline may still run in its thread (HiGHS runs one at a
    time): the enforcement waits for it before its share starts and records the wait apart
    from the share; the allocation is still enforced (a stand-in reports the solve running
    for four checks)."""
    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.rules import location

    expected, cm, relaxation = _binding_case(tmp_path)
    busy = iter([True] * 4)
    monkeypatch.setattr(hb, "solver_running", lambda: next(busy, False))
    sol = location.enforce(cm, relaxation, seconds=0.0)
    info = sol.details["locations"]
    assert info["status"] == "enforced"
    assert info["budget"]["waited"] > 0.0
    assert sol.objective <= expected + 1e-7 and sol.bound >= expected - 1e-7


@pytest.mark.parametrize("seed", [1, 7])
def test_bound_rounds_stop_when_no_new_cut_with_the_same_bound(tmp_path: Path, monkeypatch,
                                                              seed: int) -> None:
    """The LP rounds of the strengthened location bound stop once a round's prices separate
    no new patch cut: the rounds run anyway re-solve the same LP and give the same bound,
    the same cuts and the same prices; the early stop only skips them (fewer rounds)."""
    from ruimteverdeling.rules import location_bound as lb

    calls: list[tuple[tuple, dict]] = []
    original = lb.strengthened_bound

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(lb, "strengthened_bound", record)
    rng = np.random.default_rng(seed)
    sh = (0.2 + 0.8 * rng.random((3, 4))).round(3)
    sc = case(tmp_path, sh.tolist(), 40, {"min_size": 30})
    expected = brute_force(sc, 30)
    api.solve(sc, write=False)
    assert calls, "the location step did not take the strengthened bound"
    for args, kwargs in calls:
        quick = original(*args, **{**kwargs, "stop_without_new_cuts": True})
        full = original(*args, **{**kwargs, "stop_without_new_cuts": False})
        assert quick is not None and full is not None
        assert len(quick.rounds) < len(full.rounds)  # the stop did skip rounds
        assert quick.bound == full.bound
        assert quick.bound >= expected - 1e-7  # and it stays a valid bound
        assert quick.cuts == full.cuts
        for use in full.y:
            np.testing.assert_array_equal(quick.y[use], full.y[use])
        np.testing.assert_array_equal(quick.d, full.d)


def test_unmet_locations_are_never_reported_optimal(tmp_path: Path) -> None:
    """The unmeetable case above (exactly one cell of homes, locations of ≥ 20 homes): the
    relaxation is solved to optimality, but its allocation breaks the location rule, so the
    run's status is ``feasible`` (no step was cut short) in the solution, ``summary.json``,
    ``manifest.json`` and the console line, and the exit code stays 0 (a finished run)."""
    import json

    from click.testing import CliRunner

    from ruimteverdeling.cli import main

    sc = case(tmp_path, SH, 10, {"min_size": 20})
    data = __import__("yaml").safe_load(sc.read_text())
    data["targets"][0]["max"] = 10
    write_scenario(sc, data)
    run = api.solve(sc, write=False)
    sol = run.solution
    assert sol.status == "feasible" and not sol.optimal
    assert sol.details["locations"]["status"] == "not met"
    assert sol.details["relaxation"]["status"] == "optimal"  # what was reported before
    assert "time_limit_cut" not in sol.details
    r = CliRunner().invoke(main, ["solve", str(sc), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert f"scenario {data['id']}: feasible (NOT proven optimal)" in r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "feasible" and summary["optimal"] is False
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "feasible" and manifest["optimal"] is False


def test_locations_cut_by_the_cap_report_time_limit(tmp_path: Path, monkeypatch) -> None:
    """When the share's cap stops the restricted MIP before it finds an allocation whose
    locations meet their minimum (a stand-in returns nothing, capped), the relaxation's
    allocation is kept with status ``time_limit``, the MIP named in ``time_limit_cut``; the
    relaxation itself was optimal."""
    from ruimteverdeling.rules import location

    _, cm, relaxation = _binding_case(tmp_path)
    assert relaxation.status == "optimal"
    monkeypatch.setattr(location, "_restricted_mip",
                        lambda *a, **k: (None, "stopped by the cap", True))
    sol = location.enforce(cm, relaxation, seconds=0.0)
    assert sol.details["locations"]["status"] == "not met"
    assert sol.status == "time_limit" and not sol.optimal
    assert "location restricted MIP" in sol.details["time_limit_cut"]
    assert sol.bound == pytest.approx(relaxation.bound)  # the relaxation's bound stands


def test_bound_rounds_leave_part_of_the_share_to_the_restricted_mip(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """The location bound's LP rounds are capped at ``BOUND_SHARE`` of the share (the rest is
    kept for the restricted MIP), and the result is the same as with the uncapped call when
    the cap does not bind: the enforced allocation is the brute-force optimum either way."""
    from ruimteverdeling.rules import location
    from ruimteverdeling.rules import location_bound as lb

    expected, cm, relaxation = _binding_case(tmp_path)
    caps: list[float] = []
    original = lb.strengthened_bound

    def record(*args, **kwargs):
        caps.append(float(args[7]))
        return original(*args, **kwargs)

    monkeypatch.setattr(lb, "strengthened_bound", record)
    share = 20.0
    sol = location.enforce(cm, relaxation, seconds=share)
    assert caps and caps[0] <= location.BOUND_SHARE * share + 1e-9
    assert caps[0] > 0.0
    assert 0.0 < location.BOUND_SHARE < 1.0
    assert sol.details["locations"]["status"] == "enforced"
    assert sol.objective == pytest.approx(expected, abs=1e-6)
    assert "time_limit_cut" not in sol.details
