"""National-scale machinery on small instances: column generation, the Lagrangian bound, the
naive formulation, coarsening and the bench command give what the exact methods give."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ruimteverdeling import api, paths
from ruimteverdeling.area import coarsen as co
from ruimteverdeling.bench import naive_spec
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InputError
from ruimteverdeling.model import decompose
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import HighsBackend, solve
from ruimteverdeling.progress import Progress
from tiny_models import regions_only

from areas import BASE, random_case, write_area, write_scenario

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_model(small_area: Path):
    return api.compile(BASE, area=small_area)


def test_column_generation_reaches_the_lp_optimum(small_model) -> None:
    """Forced on a small model, column generation ends at the LP optimum, and its bound is
    the LP optimum (a valid, tight bound)."""
    spec = small_model.spec
    opts = small_model.scenario.solver.model_copy(update={
        "decompose_above": 0, "decompose_sample": 300, "decompose_free_min": 200,
        "decompose_lp_gap": 1e-9, "mip_rel_gap": 0.0, "time_limit": 120})
    direct = HighsBackend().lp(spec, opts, 120)
    res = decompose.lp(spec, opts, HighsBackend(), Progress(enabled=False),
                       deadline=float("inf"))
    assert res["converged"]
    z = direct.objective
    assert res["objective"] == pytest.approx(z, rel=1e-7)
    assert res["bound"] >= z - 1e-6 * abs(z)
    assert res["bound"] == pytest.approx(z, rel=1e-6)
    assert not spec.violations(res["x"])
    # Lagrangian reduced costs: non-positive on every x column, 0 on each unit's best
    d = res["col_dual"][: spec.n_x]
    assert d.max() <= 1e-9
    best = np.maximum.reduceat(d, np.flatnonzero(np.r_[True, np.diff(spec.col_unit) != 0]))
    assert np.allclose(best, 0.0)


def test_column_generation_out_of_time_still_returns_a_feasible_point(small_model) -> None:
    """Column generation whose rounds have no time left (the prices took it) still returns an
    LP point that meets every row — from rounds with elastic rows instead of the box, until
    the final deadline — with a valid bound, so that the repair has somewhere to start."""
    spec = small_model.spec
    opts = small_model.scenario.solver.model_copy(update={
        "decompose_above": 0, "decompose_sample": 300, "decompose_free_min": 200,
        "mip_rel_gap": 0.0, "time_limit": 120})
    z = HighsBackend().lp(spec, opts, 120).objective
    now = time.perf_counter()
    res = decompose.lp(spec, opts, HighsBackend(), Progress(enabled=False),
                       deadline=now - 1.0, final_deadline=now + 120.0)
    rounds = res["details"]["iterations"]
    assert rounds and all(r["rescue"] for r in rounds)  # no round with the box ran
    assert not spec.violations(res["x"])
    assert res["objective"] <= z + 1e-6 * abs(z)
    assert res["bound"] >= z - 1e-6 * abs(z)


def test_lagrangian_bound_is_valid_for_any_prices(small_model) -> None:
    """L(y) ≥ LP optimum for arbitrary duals y — the property the reported bound rests on."""
    spec = small_model.spec
    z = HighsBackend().lp(spec, small_model.scenario.solver, 120).objective
    pricing = decompose.Pricing(spec)
    rng = np.random.default_rng(0)
    for scale in (0.0, 1.0, 100.0, 1e4):
        y = rng.normal(size=pricing.m) * scale
        assert pricing.bound(y) >= z - 1e-6 * abs(z)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decomposed_solve_equals_exact_mip(tmp_path: Path, seed: int) -> None:
    """The fast path with column generation forced reaches HiGHS's exact MIP optimum."""
    sc, _ = random_case(tmp_path, seed)
    spec = api.compile(sc).spec
    exact = solve(spec, SolverOptions(method="mip", mip_rel_gap=0.0))
    fast = solve(spec, SolverOptions(method="auto", mip_rel_gap=0.0, decompose_above=0,
                                     decompose_sample=2, decompose_free_min=2))
    assert exact.optimal
    assert fast.objective == pytest.approx(exact.objective, abs=1e-6)
    assert fast.bound >= exact.objective - 1e-6
    assert not spec.violations(fast.x)


@pytest.mark.parametrize("seed", [1, 2])
def test_naive_formulation_has_the_same_optimum(tmp_path: Path, seed: int) -> None:
    sc, _ = random_case(tmp_path, seed)
    spec = api.compile(sc).spec
    n_uses = int(spec.col_use.max()) + 1
    naive = naive_spec(spec, n_uses)
    assert naive.n_x == spec.n_units * n_uses >= spec.n_x
    opts = SolverOptions(method="mip", mip_rel_gap=0.0)
    a = HighsBackend().mip(spec, opts, 60, 0.0)
    b = HighsBackend().mip(naive, opts, 60, 0.0)
    assert spec.objective_value(a.x) == pytest.approx(naive.objective_value(b.x), abs=1e-6)
    # excluded pairs stay at zero
    assert np.all(b.x[: naive.n_x][~naive.allowed] < 0.5)


def test_coarse_area_reaches_the_gap_highs_mip_proves(tmp_path_factory) -> None:
    """On a coarse area (whole 900-ha cells, a minimax fairness level and share targets over
    few cells, a status quo that misses the targets) the engine ends within its decision gap of
    the optimum HiGHS's MIP proves on the whole model: its objective is at most the decision
    tolerance ``mip_rel_gap · |z* − z_sq|`` below ``z*``, and its reported bound is not below
    ``z*`` (a proven bound)."""
    from ruimteverdeling.model.outcomes import decision_gap
    from ruimteverdeling.synthetic import make_area

    out = make_area(tmp_path_factory.mktemp("coarse_area"), cells=300, resolution=3000.0,
                    seed=7)
    model = api.compile(BASE, area=out)
    spec = model.spec
    opts = model.scenario.solver
    sol = solve(spec, opts)
    exact = HighsBackend().mip(spec, SolverOptions(method="mip", mip_rel_gap=0.0), 120, 0.0)
    assert exact.status == "optimal"
    z_star = spec.objective_value(exact.x)
    tol = opts.mip_rel_gap * abs(z_star - spec.status_quo_value)
    assert not spec.violations(sol.x)
    assert sol.objective == pytest.approx(spec.objective_value(sol.x), abs=1e-6)
    assert sol.objective >= z_star - tol - 1e-6
    assert sol.bound >= z_star - 1e-6
    assert decision_gap(sol.objective, sol.bound, spec.status_quo_value) <= opts.mip_rel_gap
    assert sol.status == "optimal"


def test_term_values_without_stored_coefficients(small_model, monkeypatch) -> None:
    """Large models keep no per-term coefficient vectors; term values recomputed from the
    rules equal the stored-coefficient ones."""
    from ruimteverdeling.rules import compile as cmod

    sol = solve(small_model.spec, small_model.scenario.solver.model_copy(
        update={"mip_rel_gap": 1e-2}))  # any allocation will do
    with_coefs = small_model.term_values(sol.x)
    monkeypatch.setattr(cmod, "KEEP_TERM_COEFS_UP_TO", 0)
    lean = api.compile(small_model.scenario.path, area=small_model.area.path)
    assert all(t.coef is None for t in lean.spec.terms)
    without = lean.term_values(sol.x)
    assert with_coefs.keys() == without.keys()
    for k, v in with_coefs.items():
        assert without[k] == pytest.approx(v, rel=1e-9, abs=1e-6)


# -- coarsening -------------------------------------------------------------------------------
def test_mean_by_hand() -> None:
    # land blocks and the most frequent class: tests/test_area_io.py
    v = np.array([[1.0, 3.0, np.nan], [5.0, np.nan, np.nan]], np.float32)
    m = co.mean(v, 2)
    assert m[0, 0] == pytest.approx(3.0) and np.isnan(m[0, 1])


def test_coarsened_area_keeps_regional_totals(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUIMTEVERDELING_CACHE", str(tmp_path / "cache"))
    land = np.full((6, 6), 3, np.uint8)
    land[:, :2] = 2
    land[0, 5] = 0  # one cell outside the study area
    regions = np.ones((6, 6), np.int32)
    regions[3:, :] = 2
    area = write_area(tmp_path / "fine", land, regions, {1: "Noord", 2: "Zuid"},
                      resolution=100.0)
    path, report = co.coarsen(area, 300.0, tmp_path / "cache")
    coarse = api.load(write_scenario(tmp_path / "s.yaml", {
        "id": "s", "area": str(path), "targets": []}), area=path).area
    assert coarse.grid.resolution == 300.0 and coarse.grid.shape == (2, 2)
    by_id = {r["id"]: r for r in report["regions"]}
    assert by_id["Noord"]["fine_ha"] == pytest.approx(17 * 1.0)
    assert by_id["Noord"]["coarse_ha"] == pytest.approx(2 * 9.0)
    assert by_id["Zuid"]["deviation"] == pytest.approx(0.0)
    assert report["max_region_deviation"] == pytest.approx(1 / 17, abs=1e-4)
    # a second call reuses the cached area
    again, _ = co.coarsen(area, 300.0, tmp_path / "cache")
    assert again == path
    # ... unless the code that reads and coarsens areas is another version: made again
    monkeypatch.setattr(co, "_code_digest", lambda: b"another version of the area package")
    remade, _ = co.coarsen(area, 300.0, tmp_path / "cache")
    assert remade != path and remade.is_file() and path.is_file()
    with pytest.raises(InputError, match="whole multiple"):
        co.coarsen(area, 250.0, tmp_path / "cache")


def test_solve_at_a_coarser_resolution(small_area: Path, tmp_path: Path, monkeypatch) -> None:
    """The coarse copy goes to the user's cache folder (here $XDG_CACHE_HOME), never into the
    source checkout; the run records the deviations."""
    monkeypatch.delenv("RUIMTEVERDELING_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if not sys.platform.startswith("linux"):  # only Linux's user cache folder follows XDG
        monkeypatch.setenv("RUIMTEVERDELING_CACHE", str(tmp_path / "xdg" / "ruimteverdeling"))
    cache = paths.cache_dir()
    assert not cache.is_relative_to(REPO)
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["solve", str(REPO / "scenarios" / "base.yaml"),
                                  "--area", str(small_area), "--resolution", "6000",
                                  "--time-limit", "8", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert "coarsened 2x2 to 6000 m" in r.output
    summary = json.loads((out / "summary.json").read_text())
    c = summary["coarsening"]
    assert c["factor"] == 2
    (copy,) = (cache / "coarse").iterdir()
    manifest = json.loads((out / "manifest.json").read_text())
    assert str(copy) in json.dumps(manifest)  # the run was solved on the cached copy
    assert abs(c["study_area"]["deviation"]) < 0.05
    r = CliRunner().invoke(main, ["solve", str(REPO / "scenarios" / "base.yaml"),
                                  "--area", str(small_area), "--resolution", "4000", "-q",
                                  "-o", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "whole multiple" in r.output
    assert not (tmp_path / "bad").exists()


def test_bench_command_prints_one_row(small_area: Path, tmp_path: Path,
                                     monkeypatch) -> None:
    """`bench` on a tiny area: one table row with the fast path and every peer (highspy,
    Pyomo, linopy + HiGHS, PuLP + CBC), each with its ratio to the engine."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RUIMTEVERDELING_CACHE", str(cache))
    # pre-place the tiny area where bench looks for it (generation is not what is tested)
    from ruimteverdeling.bench import area_folder, ensure_area

    cells, res = 3000, 3000.0
    target = area_folder(cells, res, seed=7)
    assert target.parent == cache and "_g" in target.name  # keyed by the generator version
    import shutil

    shutil.copytree(small_area.parent, target)
    assert ensure_area(cells, res, seed=7) == target / "area.yaml"
    out_json = tmp_path / "row.json"
    from ruimteverdeling import bench

    row = bench.bench(cells, res, naive_time_limit=2, scenario=BASE,
                      time_limit=15, seed=7, out=tmp_path / "run", naive_grace=8)
    out_json.write_text(json.dumps(row, default=float))
    assert 2500 < row["cells"] < 3500 and row["total_s"] > 0 and row["peak_mb"] > 0
    assert row["gap"] <= row["mip_rel_gap"] + 1e-9 or row["status"] != "optimal"
    assert set(row["naive"]) == set(bench.PEERS)
    for name, r in row["naive"].items():
        if r.get("status") == "not installed":
            assert not bench.peer_installed(name)
            continue
        assert "ratio" in r or "ratio_at_least" in r or r.get("status") == "error", r
        if r.get("status") == "optimal":
            assert r["objective"] == pytest.approx(row["objective"],
                                                   rel=2 * row["mip_rel_gap"] + 1e-6)
    table = bench.format_table([row])
    head = table.splitlines()[0]
    assert "naive highspy" in head and "linopy+HiGHS" in head and "PuLP+CBC" in head
    assert len(table.splitlines()) == 2


def test_rank_within_unit_matches_a_sort() -> None:
    """The repair's per-unit rank of columns by |reduced cost| equals the rank a stable sort
    by (unit, value) gives, ties included."""
    from ruimteverdeling.model.solve import _rank_in_unit

    rng = np.random.default_rng(3)
    for _ in range(100):
        sizes = rng.integers(1, 9, rng.integers(1, 25))
        unit = np.repeat(np.arange(sizes.size), sizes)
        d = rng.integers(0, 4, unit.size).astype(float)  # many ties
        expected = np.empty(unit.size, np.int64)
        for u in range(sizes.size):
            idx = np.flatnonzero(unit == u)
            expected[idx[np.argsort(d[idx], kind="stable")]] = np.arange(idx.size)
        assert np.array_equal(_rank_in_unit(unit, d), expected)


def test_undominated_options_keep_every_knapsack_table() -> None:
    """Dropping the options another option of the same unit dominates (no more steps, at
    least the gain) changes no entry of the multiple-choice knapsack table, and does drop
    some (a pruning that kept everything would pass the first check trivially)."""
    from ruimteverdeling.model import strengthen as st

    rng = np.random.default_rng(3)
    dropped = 0
    for _ in range(30):
        n = int(rng.integers(5, 40))
        units = np.sort(rng.integers(0, 8, n))
        q = rng.integers(1, 6, n)
        g = np.round(rng.uniform(0.0, 10.0, n), 1)
        keep = st._undominated(units, q, g)
        dropped += n - keep.size
        k_max = int(q.sum())
        full = st._knapsack_table(units, q, g, k_max)
        pruned = st._knapsack_table(units[keep], q[keep], g[keep], k_max)
        np.testing.assert_array_equal(pruned, full)
    assert dropped > 0
    # by hand: unit 0's (2 steps, gain 1) is dominated by its (1 step, gain 3)
    kept = st._undominated(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([3.0, 1.0, 1.0]))
    assert kept.tolist() == [0, 2]


@pytest.mark.parametrize("seed", range(12))
def test_knapsack_bound_on_a_coarser_grid_keeps_every_integer_solution(seed: int,
                                                                       monkeypatch) -> None:
    """With tables too long for the grid, the weights are rounded down to a coarser step and
    options lighter than it become free choices: still a bound on every integer allocation
    (checked against enumeration), and a bound rather than none."""
    from ruimteverdeling.model import strengthen as st
    from tiny_models import brute_force, random_model

    spec = random_model(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    lp = HighsBackend().lp(spec, SolverOptions(), 30.0)
    exact = st.knapsack_level_bound(spec, level, lp.row_dual, opt - 1.0)
    monkeypatch.setattr(st, "KNAPSACK_GRID", 2)
    coarse = st.knapsack_level_bound(spec, level, lp.row_dual, opt - 1.0)
    assert coarse is not None
    assert coarse >= opt - 1e-7
    if exact is not None:
        assert coarse >= exact - 1e-7  # rounding down only relaxes


@pytest.mark.parametrize("seed", range(12))
def test_level_fixed_at_the_knapsack_maximiser_keeps_the_optimum(seed: int) -> None:
    """Where the regions are the whole model the knapsack bound is exact, so the MIP with the
    level fixed at the bound's maximiser (the right end of its last interval) reaches the
    enumerated optimum: the level is located where whole cells fit, not below it."""
    from dataclasses import replace

    from ruimteverdeling.model import level_fix
    from ruimteverdeling.model import strengthen as st
    from tiny_models import brute_force

    spec = regions_only(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    lp = HighsBackend().lp(spec, SolverOptions(), 30.0)
    curve = st.knapsack_level_curve(spec, level, lp.row_dual, opt - 1.0)
    j = level.col - spec.n_x
    v = level_fix.curve_argmax(curve, float(spec.aux_lb[j]), float(spec.aux_ub[j]),
                               float(lp.x[level.col]))
    assert v is not None
    lb, ub = level_fix.fixed_level(spec.aux_lb, spec.aux_ub, j, v)
    assert lb[j] == ub[j] == v
    fixed = replace(spec, aux_lb=lb, aux_ub=ub)
    r = HighsBackend().mip(fixed, SolverOptions(), 30.0, 0.0)
    assert r.x is not None
    assert spec.objective_value(r.x) == pytest.approx(opt, abs=1e-6)


def test_curve_argmax_by_hand() -> None:
    """A staircase minus a slope, as the knapsack bound is: 10 − v below 1, 12 − v from 1
    to 3, 11 − v from 3 on; its supremum over an interval by hand. The maximiser is the step
    at 1 (value 11), found from an infinite upper end too."""
    from ruimteverdeling.model import level_fix

    def f(v: float) -> float:
        return (10.0 if v < 1 else 12.0 if v < 3 else 11.0) - v

    def curve(lo: float, hi: float) -> float:
        pts = [p for p in (lo, 1.0, 3.0) if lo <= p <= hi]
        return max(f(p) for p in pts)

    v = level_fix.curve_argmax(curve, 0.0, np.inf, 0.5)
    assert v == pytest.approx(1.0, abs=1e-12)
    assert v >= 1.0  # the right end: the step is reached
    assert f(v) == pytest.approx(11.0)
    assert level_fix.fixed_level(np.zeros(1), np.ones(1), 0, 2.0) is None
