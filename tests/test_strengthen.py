"""Stronger rows keep every integer solution: checked by enumeration on tiny random models.

Each model has four units with three uses (81 allocations), rows of the shapes the rule
families compile to (covering rows with and without a shortfall slack, capacity rows, rows with
mixed signs, a minimax level over two regions) and coefficients like the engine's (whole and
fractional cells, yield factors). For every allocation the feasible values of the auxiliary
columns form an interval per column (each row holds at most one), so a derived row is valid
when it holds at the worst end of those intervals — for all 81 allocations.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import solve
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from tiny_models import (
    UNITS,
    USES,
    allocations,
    aux_intervals,
    brute_force,
    feasible_values,
    random_model,
    regions_only,
)

SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_derived_rows_keep_every_integer_solution(seed: int) -> None:
    spec = random_model(seed)
    cands = st.candidates(spec)
    assert cands.n_rows > 0
    A = cands.A.toarray()
    checked = 0
    for x in allocations(spec):
        iv = aux_intervals(spec, x)
        if iv is None:
            continue
        low, high = iv
        g = A[:, spec.n_x:]
        # the smallest left-hand side any feasible auxiliary value gives
        worst = A[:, : spec.n_x] @ x + np.where(g > 0, g * low, 0).sum(1) + \
            np.where(g < 0, g * np.where(np.isfinite(high), high, 0), 0).sum(1)
        unbounded = ((g < 0) & ~np.isfinite(high)).any(1)  # −inf: nothing to check there
        ok = unbounded | (worst >= cands.lower - 1e-9)
        assert ok.all(), [(cands.kind[i], cands.source[i]) for i in np.flatnonzero(~ok)]
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_strengthened_lp_bound_never_below_the_optimum(seed: int) -> None:
    spec = random_model(seed)
    opt = brute_force(spec)
    assert np.isfinite(opt)  # x0 is feasible
    options = SolverOptions()
    backend = HighsBackend()
    cands = st.candidates(spec)
    plain = backend.lp(spec, options, 30.0)
    strong = backend.lp(spec.with_rows(cands.block(np.arange(cands.n_rows))), options, 30.0)
    assert strong.objective <= plain.objective + 1e-7
    assert strong.objective >= opt - 1e-7
    # the counted model keeps the optimum, and the level search bound stays above it
    levels = st.find_levels(spec)
    assert len(levels) == 1
    counted = st.with_level_counts(spec, levels)
    mip = backend.mip(counted, options, 30.0, 0.0)
    assert mip.x is not None
    assert counted.objective_value(mip.x) == pytest.approx(opt, abs=1e-6)
    session = backend.session(counted, options)
    root = session.lp(time_limit=30.0)
    res = st.level_bounds(counted, levels[0],
                          lambda lb, ub, rows, basis: session.lp(lb, ub, rows, 30.0),
                          root, opt - 1.0, 0.0, np.inf, max_lps=30)
    assert res.bound >= opt - 1e-7


@pytest.mark.parametrize("seed", SEEDS)
def test_a_stalled_level_search_still_bounds_the_optimum(seed: int) -> None:
    """Told that only a bound far below the optimum would matter, the level search stops once
    it has solved STALL_LPS LPs (at most one more node's LPs after it), and the bound over its
    open nodes still holds for every integer solution."""
    spec = random_model(seed)
    opt = brute_force(spec)
    backend, options = HighsBackend(), SolverOptions()
    levels = st.find_levels(spec)
    counted = st.with_level_counts(spec, levels)
    session = backend.session(counted, options)
    root = session.lp(time_limit=30.0)
    res = st.level_bounds(counted, levels[0],
                          lambda lb, ub, rows, basis: session.lp(lb, ub, rows, 30.0),
                          root, opt - 1.0, 0.0, np.inf, max_lps=1000,
                          useful_below=opt - 1e6)
    assert res.bound >= opt - 1e-7
    assert res.lps <= st.STALL_LPS + 2 * 3  # two children of up to 1 + 2 cut-round LPs
    if res.lps >= st.STALL_LPS:
        assert res.nodes  # stopped with nodes left open, not closed


def test_whole_cell_node_bounds_keep_the_optimum_and_tighten_the_level_search() -> None:
    """With the knapsack bound of each node (the node's LP duals and the root's, over its
    level interval; nodes bisected), every node's bound stays above the best integer solution
    inside its interval, the search's bound above the optimum, and each node keeps its LP
    optimum apart (the one its reduced costs belong to); on some models the search ends lower
    than with LP bounds alone."""

    lower = 0
    for seed in range(10):
        spec = random_model(seed)
        opt = brute_force(spec)
        backend, options = HighsBackend(), SolverOptions()
        levels = st.find_levels(spec)
        counted = st.with_level_counts(spec, levels)
        j = levels[0].col - spec.n_x
        out = []
        _, y = _lp_duals(spec)  # the root's prices, over the model without the counts
        curve = st.knapsack_level_curve(spec, levels[0], y, opt - 1.0)
        for node_bound in (None, _node_bounds(counted, levels[0], opt - 1.0, curve)):
            session = backend.session(counted, options)
            root = session.lp(time_limit=30.0)
            res = st.level_bounds(counted, levels[0],
                                  lambda lb, ub, rows, basis, s=session: s.lp(lb, ub, rows,
                                                                              30.0),
                                  root, opt - 1.0, 0.0, np.inf, max_lps=30,
                                  node_bound=node_bound)
            assert res.bound >= opt - 1e-7
            for n in res.nodes:
                assert n.bound <= n.lp_bound + 1e-9
                inside = brute_force(_level_between(spec, j, n.lo, n.hi))
                assert n.bound >= inside - 1e-7
            out.append(res.bound)
        lower += out[1] < out[0] - 1e-7
    assert lower > 0


def _node_bounds(counted: ModelSpec, level: st.Level, incumbent: float, curve):
    """The level search's whole-cell node bounds: the root's ``curve`` over a node's interval
    and, for every node, its own bound under its LP's duals (built for ``incumbent``)."""
    from ruimteverdeling.model.solve import _node_knapsack, _own_knapsack

    return _node_knapsack(counted, level, curve, _own_knapsack(counted, level, incumbent))


def _level_between(spec: ModelSpec, j: int, lo: float, hi: float) -> ModelSpec:
    """``spec`` with auxiliary ``j`` (the level) confined to ``[lo, hi]``."""
    from dataclasses import replace

    lb, ub = spec.aux_lb.copy(), spec.aux_ub.copy()
    lb[j], ub[j] = max(lb[j], lo), min(ub[j], hi)
    return replace(spec, aux_lb=lb, aux_ub=ub)


@pytest.mark.parametrize("seed", SEEDS)
def test_solve_finds_the_enumerated_optimum(seed: int) -> None:
    spec = random_model(seed)
    opt = brute_force(spec)
    assert np.isfinite(opt)
    sol = solve(spec, SolverOptions(mip_rel_gap=1e-6))
    assert sol.objective == pytest.approx(opt, abs=1e-6)
    assert sol.bound >= opt - 1e-6
    assert sol.optimal


def test_mir_rounds_a_share_of_a_small_polder_to_whole_cells() -> None:
    """Σ 6.25 x ≥ 7.8 over binaries (a 5 % share of 156 ha, 6.25-ha cells): at least two
    cells; with a shortfall slack s, the missing part of the second cell is charged in full:
    s ≥ 6.25·f·(2 − Σ x) with f = frac(7.8/6.25) = 0.248."""
    c, scale, rhs = st.mir(np.full(5, 6.25), 7.8, 6.25)
    np.testing.assert_allclose(c, 1.0)
    assert rhs == 2.0
    assert scale == pytest.approx(1 / (6.25 * (7.8 / 6.25 - 1)))
    # one cell in: s must cover 7.8 − 6.25 = 1.55, exactly what the cut asks
    assert (rhs - 1.0) / scale == pytest.approx(1.55)


@pytest.mark.parametrize("seed", range(20))
def test_rows_of_whole_numbers_round_to_their_common_divisor(seed: int) -> None:
    """Σ a x ≥ b with homes per cell of 3,500 and 4,500 (a common divisor 500) and a target
    that is no multiple of it: every allocation reaches the next multiple, ⌈b/500⌉·500, and
    a derived row says so (its lower side at that multiple, over the row's coefficients / 500);
    every derived row holds for every allocation that meets the row."""
    rng = np.random.default_rng(seed)
    col_unit = np.repeat(np.arange(UNITS), USES)
    n = col_unit.size
    b = SpecBuilder(col_unit, np.tile(np.arange(USES), UNITS), np.arange(UNITS))
    a = rng.choice(np.array([0.0, 3500.0, 4500.0]), n)
    a[0], a[USES] = 3500.0, 4500.0  # (both sizes present: their common divisor is 500)
    b.add_term("value", "benefit", 1.0, rng.uniform(0, 3, n))
    top = float(np.sort(a.reshape(UNITS, USES).max(1)).sum())
    lo = float(rng.uniform(0.2, 0.9) * top)
    if lo % 500 == 0:
        lo += 1.0
    b.add_block("homes", "target", np.zeros(n, int), np.arange(n), a, 1, np.array([lo]),
                np.array([np.inf]))
    spec = b.build()
    cands = st.candidates(spec)
    A = cands.A.toarray()
    want = np.ceil(lo / 500.0)
    common = [i for i, k in enumerate(cands.kind) if k == "mir d=500"]
    assert len(common) == 1
    i = common[0]
    np.testing.assert_allclose(A[i] * 500.0, a)
    assert cands.lower[i] == pytest.approx(want, abs=1e-3)  # (less a round-off margin)
    met = 0
    for x in allocations(spec):
        if a @ x >= lo:
            met += 1
            assert np.all(A @ x >= cands.lower - 1e-9)
            assert a @ x >= 500.0 * want
    assert met > 0


def _one_row_model(a_per_unit: list[float], lo: float, hi: float) -> ModelSpec:
    """Four units; use 0 of unit k has coefficient a_per_unit[k], the other uses 0."""
    col_unit = np.repeat(np.arange(UNITS), USES)
    b = SpecBuilder(col_unit, np.tile(np.arange(USES), UNITS), np.arange(UNITS))
    a = np.zeros(col_unit.size)
    a[np.arange(UNITS) * USES] = a_per_unit
    b.add_term("value", "benefit", 1.0, np.ones(col_unit.size))
    b.add_block("row", "target", np.zeros(a.size, int), np.arange(a.size), a, 1,
                np.array([lo]), np.array([hi]))
    return b.build()


@pytest.mark.parametrize("a, lo, hi, rhs", [
    ([5.0, 3.0, 3.0, 1.0], 6.0, np.inf, 2.0),  # the two best reach 6: at least two units
    ([1.0, 2.0, 4.0, 8.0], -np.inf, 7.0, -3.0),  # the three smallest fit in 7: at most three
])
def test_cardinality_rows_are_exact(a: list[float], lo: float, hi: float, rhs: float) -> None:
    spec = _one_row_model(a, lo, hi)
    cands = st.candidates(spec)
    card = [i for i, k in enumerate(cands.kind) if k == "cardinality"]
    assert len(card) == 1
    assert cands.lower[card[0]] == pytest.approx(rhs)
    # valid for every allocation, and tight for one of them
    row = cands.A[card[0]].toarray()[0]
    acts = [row[: spec.n_x] @ x for x in allocations(spec) if aux_intervals(spec, x)]
    assert min(acts) == pytest.approx(rhs)


def _lp_duals(spec: ModelSpec) -> tuple[float, np.ndarray]:
    lp = HighsBackend().lp(spec, SolverOptions(), 30.0)
    assert lp.row_dual is not None
    return float(lp.objective), lp.row_dual


@pytest.mark.parametrize("seed", SEEDS)
def test_knapsack_level_bound_keeps_every_integer_solution(seed: int) -> None:
    """Valid for any multipliers (the LP's, none, random ones); with the LP's it is no
    weaker than the LP bound."""
    spec = random_model(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    z_lp, y = _lp_duals(spec)
    rng = np.random.default_rng(seed)
    for duals in (y, np.zeros_like(y), y + rng.normal(0.0, 1.0, y.size)):
        kb = st.knapsack_level_bound(spec, level, duals, opt - 1.0)
        if kb is not None:
            assert kb >= opt - 1e-7
    kb = st.knapsack_level_bound(spec, level, y, opt - 1.0)
    assert kb is not None
    assert kb <= z_lp + 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_knapsack_level_bound_is_exact_without_other_rows(seed: int) -> None:
    spec = regions_only(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    z_lp, y = _lp_duals(spec)
    kb = st.knapsack_level_bound(spec, level, y, opt - 1.0)
    assert kb == pytest.approx(opt, abs=1e-7)
    assert kb <= z_lp + 1e-7


@pytest.mark.parametrize("seed", SEEDS)
def test_knapsack_fill_attains_the_enumerated_optimum_at_its_level(seed: int) -> None:
    """Without other rows the fill at a level is the best allocation whose level rows hold
    there: at every level an allocation reaches, it meets those rows, and at the level of
    the enumerated optimum it is worth the optimum (a fill that ignored a unit's better
    column, or broke a region's capacity, would fail one of the two)."""
    spec = regions_only(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    _, y = _lp_duals(spec)
    best = -np.inf
    for xb in allocations(spec):
        full = _with_best_aux(spec, xb)
        if full is None:
            continue
        v = float(full[level.col])
        x = st.knapsack_fill(spec, level, y, v)
        assert x is not None
        assert set(np.unique(x)) <= {0.0, 1.0}
        np.testing.assert_array_equal(x.reshape(UNITS, USES).sum(1), np.ones(UNITS))
        for row in level.rows:
            assert row.a @ x[row.cols] <= row.c * v + row.u + 1e-9
        cand = np.r_[x, full[spec.n_x:]]
        assert not spec.violations(cand)
        z = spec.objective_value(cand)
        assert z >= spec.objective_value(full) - 1e-9  # the best at this level
        best = max(best, z)
    assert best == pytest.approx(opt, abs=1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_knapsack_fill_meets_the_level_rows_under_any_prices(seed: int) -> None:
    """With other rows priced in (the LP's duals, none, random ones) the fill still takes
    one column per unit and keeps every level row at the level asked for; a level below
    what the units' lightest columns need has no fill."""
    spec = random_model(seed)
    (level,) = st.find_levels(spec)
    _, y = _lp_duals(spec)
    rng = np.random.default_rng(seed)
    for duals in (y, np.zeros_like(y), y + rng.normal(0.0, 1.0, y.size)):
        for v in (0.05, 0.3, 1.0, 3.0):
            x = st.knapsack_fill(spec, level, duals, v)
            need = max((_lightest(spec, row) - row.u) / row.c for row in level.rows)
            if v < need - 1e-9:
                assert x is None
                continue
            assert x is not None
            np.testing.assert_array_equal(x.reshape(UNITS, USES).sum(1), np.ones(UNITS))
            for row in level.rows:
                assert row.a @ x[row.cols] <= row.c * v + row.u + 1e-9


def test_knapsack_fill_has_no_fill_at_an_unbounded_level() -> None:
    """A level the caller leaves without a finite top (another period's level, outside the
    window being repaired) has no fill to report: no region has a capacity to fill to."""
    spec = random_model(SEEDS[0])
    (level,) = st.find_levels(spec)
    _, y = _lp_duals(spec)
    assert st.knapsack_fill(spec, level, y, np.inf) is None
    assert st.knapsack_fill(spec, level, y, 3.0) is not None


def _lightest(spec: ModelSpec, row: st.LevelRow) -> float:
    """The least load a level row can hold: each of its units at its lightest column (a
    column outside the row weighs nothing)."""
    w = np.zeros(spec.n_x)
    w[row.cols] = row.a
    units = np.unique(spec.col_unit[row.cols])
    return float(sum(w[spec.col_unit == k].min() for k in units))


def _with_best_aux(spec: ModelSpec, x: np.ndarray) -> np.ndarray | None:
    """``x`` completed with every auxiliary at its best feasible end (None if infeasible)."""
    iv = aux_intervals(spec, x)
    if iv is None:
        return None
    low, high = iv
    aux = np.where(spec.obj[spec.n_x:] > 0, high, low)
    if not np.all(np.isfinite(aux)):
        return None
    return np.r_[x, aux]


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_level_swaps_keep_feasibility_and_never_pass_the_optimum(make) -> None:
    """From every feasible allocation of tiny models the local search returns a feasible
    allocation no worse than its start and no better than the enumerated optimum; on some
    starts it strictly improves (a search that never moves would fail this)."""
    improved = 0
    for seed in range(15):
        spec = make(seed)
        opt = brute_force(spec)
        (level,) = st.find_levels(spec)
        for xb in allocations(spec):
            x0 = _with_best_aux(spec, xb)
            if x0 is None:
                continue
            x1 = st.level_swaps(spec, level, x0, np.inf)
            assert not spec.violations(x1)
            assert np.all((x1[: spec.n_x] == 0) | (x1[: spec.n_x] == 1))
            np.testing.assert_allclose(x1[: spec.n_x].reshape(UNITS, USES).sum(1), 1.0)
            z0, z1 = spec.objective_value(x0), spec.objective_value(x1)
            assert z1 >= z0 - 1e-9
            assert z1 <= opt + 1e-7
            improved += z1 > z0 + 1e-9
            # no checks allowed: nothing moves (a budget never leaves a half-made move)
            np.testing.assert_array_equal(st.level_swaps(spec, level, x0, np.inf, max_checks=0),
                                          x0)
    assert improved > 0


@pytest.mark.parametrize("seed", range(10))
def test_the_engine_stays_exact_with_level_swaps(seed: int) -> None:
    spec = regions_only(seed)
    opt = brute_force(spec)
    sol = solve(spec, SolverOptions(mip_rel_gap=1e-6))
    assert sol.objective == pytest.approx(opt, abs=1e-6)
    assert sol.bound >= opt - 1e-6


def _improving_moves(spec: ModelSpec, x: np.ndarray) -> int:
    """Single-unit moves from ``x`` (auxiliaries held) that raise the objective and keep every
    row: counted by trying each one on a copy."""
    found = 0
    for k in range(UNITS):
        i = k * USES + int(np.argmax(x[k * USES:(k + 1) * USES]))
        for j in range(k * USES, (k + 1) * USES):
            if spec.obj[j] <= spec.obj[i] + 1e-9:
                continue
            y = x.copy()
            y[i], y[j] = 0.0, 1.0
            found += not spec.violations(y, tol=1e-9)
    return found


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_unit_moves_keep_feasibility_and_leave_no_improving_move(make) -> None:
    """From every feasible allocation of tiny models: feasible, no worse than the start, no
    better than the enumerated optimum, and no single improving move left (checked by trying
    every one); some starts strictly improve, and a zero budget moves nothing."""
    improved = 0
    for seed in range(15):
        spec = make(seed)
        opt = brute_force(spec)
        for xb in allocations(spec):
            x0 = _with_best_aux(spec, xb)
            if x0 is None:
                continue
            x1 = st.unit_moves(spec, x0, np.inf, max_rounds=50)
            assert not spec.violations(x1)
            np.testing.assert_allclose(x1[: spec.n_x].reshape(UNITS, USES).sum(1), 1.0)
            np.testing.assert_array_equal(x1[spec.n_x:], x0[spec.n_x:])
            z0, z1 = spec.objective_value(x0), spec.objective_value(x1)
            assert z0 - 1e-9 <= z1 <= opt + 1e-7
            assert _improving_moves(spec, x1) == 0
            improved += z1 > z0 + 1e-9
            np.testing.assert_array_equal(st.unit_moves(spec, x0, np.inf, max_checks=0), x0)
    assert improved > 0


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_knapsack_curve_bounds_every_level_interval(make) -> None:
    """``curve(lo, hi)`` stays above the best integer solution whose level lies in
    ``[lo, hi]``, for intervals around and away from the optimum's level, and over the whole
    range it is the knapsack bound itself."""
    for seed in range(12):
        spec = make(seed)
        (level,) = st.find_levels(spec)
        _, y = _lp_duals(spec)
        opt = brute_force(spec)
        curve = st.knapsack_level_curve(spec, level, y, opt - 1.0)
        assert curve is not None
        j = level.col - spec.n_x
        whole = curve(float(spec.aux_lb[j]), float(spec.aux_ub[j]))
        assert whole == st.knapsack_level_bound(spec, level, y, opt - 1.0)
        rng = np.random.default_rng(seed)
        for lo, hi in [(0.0, 0.05), (0.05, 0.2), (0.2, 1.0), (1.0, np.inf),
                       *np.sort(rng.uniform(0.0, 1.5, (4, 2)), axis=1)]:
            best = brute_force(_level_between(spec, j, float(lo), float(hi)))
            assert curve(float(lo), float(hi)) >= best - 1e-7


def test_rows_alike_are_derived_once_and_each_over_its_own_columns() -> None:
    """Two setback-like rows ``2·x_(k, 0) + x_(k+1, 1) + x_(k+2, 1) ≤ 2`` alike in coefficients,
    bounds and unit pattern, over different units: the candidates are those of each row derived
    on its own, and each lies over its own row's columns; every one holds for every allocation
    that meets the rows."""
    col_unit = np.repeat(np.arange(UNITS), USES)
    b = SpecBuilder(col_unit, np.tile(np.arange(USES), UNITS), np.arange(UNITS))
    b.add_term("value", "benefit", 1.0, np.ones(col_unit.size))
    rows, cols, vals = [], [], []
    for r, k in enumerate((0, 1)):
        for unit, use, v in ((k, 0, 2.0), (k + 1, 1, 1.0), (k + 2, 1, 1.0)):
            rows.append(r)
            cols.append(unit * USES + use)
            vals.append(v)
    b.add_block("setback", "rule", np.array(rows), np.array(cols), np.array(vals), 2,
                np.full(2, -np.inf), np.full(2, 2.0))
    spec = b.build()
    cands = st.candidates(spec)
    A = spec.block("setback").A.tocsr()
    expected = []
    for r in range(2):
        s, e = A.indptr[r], A.indptr[r + 1]
        expected += st.row_candidates(A.indices[s:e], A.data[s:e], -np.inf, 2.0, spec.n_x,
                                      spec.aux_lb, spec.aux_ub, spec.col_unit)
    assert cands.n_rows == len(expected) > 0
    got = cands.A.toarray()
    for i, (c, coef, lo, kind) in enumerate(expected):
        row = np.zeros(spec.n_cols)
        np.add.at(row, c, coef)
        np.testing.assert_allclose(got[i], row)
        assert cands.lower[i] == pytest.approx(lo) and cands.kind[i] == kind
    half = cands.n_rows // 2
    assert set(np.flatnonzero(got[0])) <= set(A.indices[: A.indptr[1]])
    assert set(np.flatnonzero(got[half])) <= set(A.indices[A.indptr[1]: A.indptr[2]])
    feasible = [x for x in allocations(spec) if aux_intervals(spec, x)]
    assert 0 < len(feasible) < 3 ** UNITS
    for x in feasible:
        assert np.all(got[:, : spec.n_x] @ x[: spec.n_x] >= cands.lower - 1e-9)


def test_unit_ranks_number_each_rows_units_from_zero() -> None:
    """Columns 0..5 of units 5, 3, 5, 2, 7, 2; row 0 over columns 0, 1, 2 (units 5, 3, 5), row 1
    over 3, 4, 5 (units 2, 7, 2), row 2 over column 4 and the auxiliary column 6."""
    import scipy.sparse as sp

    A = sp.csr_matrix((np.ones(8), [0, 1, 2, 3, 4, 5, 4, 6], [0, 3, 6, 8]), shape=(3, 7))
    ranks = st._unit_ranks(A, np.array([5, 3, 5, 2, 7, 2]), 6)
    assert ranks.tolist() == [1, 0, 1, 0, 1, 0, 0, 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_knapsack_moves_free_what_the_optimum_at_its_level_needs(seed: int) -> None:
    """The units the level-fixed repair frees for the knapsack fill: with every other unit
    kept at an arbitrary allocation (each unit's first use), enumerating only the moved units
    at the optimum's level reaches the enumerated optimum (without the regions' other rows
    the fill there is optimal, and it differs from the kept allocation in exactly those
    units); and no moved unit already holds the fill's column."""
    from ruimteverdeling.model.solve import _knapsack_moves

    spec = regions_only(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    _, y = _lp_duals(spec)
    best_x = max((f for xb in allocations(spec) if (f := _with_best_aux(spec, xb)) is not None),
                 key=spec.objective_value)
    v = float(best_x[level.col])
    x_keep = np.zeros(spec.n_cols)
    x_keep[np.arange(UNITS) * USES] = 1.0
    moved = _knapsack_moves(spec, level, (spec, y), v, x_keep)
    assert moved is not None
    fill = st.knapsack_fill(spec, level, y, v)
    assert fill is not None
    for k in moved:
        assert x_keep[k * USES] == 1.0 and fill[k * USES] == 0.0
    reached = -np.inf
    for choice in itertools.product(range(USES), repeat=int(moved.size)):
        xb = x_keep[: spec.n_x].copy()
        for k, c in zip(moved.tolist(), choice, strict=True):
            xb[k * USES:(k + 1) * USES] = 0.0
            xb[k * USES + c] = 1.0
        full = _with_best_aux(spec, xb)
        if full is not None and full[level.col] <= v + 1e-9:
            reached = max(reached, spec.objective_value(full))
    assert reached == pytest.approx(opt, abs=1e-7)


def _level_cases(make, seeds: int = 20):
    """Per seed: the model ``make(seed)``, its one level, its LP's duals and its enumerated
    optimum."""
    for seed in range(seeds):
        spec = make(seed)
        (level,) = st.find_levels(spec)
        _, y = _lp_duals(spec)
        yield seed, spec, level, y, brute_force(spec)


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_knapsack_losses_bound_every_allocation_using_the_column(
        make, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every feasible allocation is worth at most the knapsack bound less the largest loss of
    its columns (under the LP's prices, none, or random ones; for the capacity losses, or at
    most the incumbent the curve was built for), so fixing the columns whose loss exceeds
    ``bound − incumbent`` never removes the enumerated optimum; with the LP's prices it fixes
    columns on some of these models. The losses belong to the bound without the rows over
    few units kept (with them kept they are zero), so that is the bound here."""
    monkeypatch.setattr(st, "KEEP_ROW_GROUPS", False)
    fixed_any = 0
    for seed, spec, level, y, opt in _level_cases(make):
        rng = np.random.default_rng(seed)
        for k, duals in enumerate((y, np.zeros_like(y), y + rng.normal(0.0, 1.0, y.size))):
            kb = st.knapsack_level_bound(spec, level, duals, opt - 1.0)
            loss = st.knapsack_losses(spec, level, duals)
            if kb is None:
                continue
            assert loss is not None and loss.shape == (spec.n_x,)
            assert np.all(loss >= 0)
            for x, value in feasible_values(spec):
                assert value <= kb - loss[x > 0.5].max() + 1e-7
            # the capacity argument: at most the bound less the loss, or the incumbent the
            # curve was built for
            for cap in _capacity_losses_bound_every_allocation(spec, level, duals, kb, opt):
                if k == 0:
                    fixed_any += int(np.count_nonzero(cap > kb - opt + 1e-7))
            if k == 0:
                fixed_any += int(np.count_nonzero(loss > kb - opt + 1e-7))
    assert fixed_any > 0


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_fixing_with_the_rows_kept_pairs_the_losses_with_the_bound_without_them(
        make, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the rows over few units kept in the whole-cell bounds, the solve's reduced-cost
    fixing still fixes columns: its pairs are the losses with the knapsack bound *without*
    the kept rows, built when first asked for, and every feasible allocation is worth at most
    that bound less the largest loss of its columns, or the incumbent the curve was built
    for."""
    from ruimteverdeling.model import solve as so

    monkeypatch.setattr(st, "KEEP_ROW_GROUPS", True)
    fixed_any = 0
    for _seed, spec, level, y, opt in _level_cases(make):
        fixing: list = []
        so._knapsack_bound((spec, y), [level], opt - 1.0, np.inf, {}, {}, lambda _m: None,
                           {}, st.KNAPSACK_WORK, fixing)
        for item in fixing:
            assert callable(item)
            pair = item()
            assert item() is pair  # built once
            if pair is None:
                continue
            kb, loss = pair
            for x, value in feasible_values(spec):  # (the capacity losses: or the incumbent
                # the curve was built for)
                assert value <= max(kb - loss[x > 0.5].max(), opt - 1.0) + 1e-7
            fixed_any += int(np.count_nonzero(loss > kb - opt + 1e-7))
    assert fixed_any > 0


def test_capacity_losses_on_a_coarser_grid_bound_every_allocation(monkeypatch) -> None:
    """A region whose capacity needs more steps than ``KNAPSACK_GRID`` gets a coarser table
    (weights rounded down: still a bound); the capacity losses are worked out on that table
    and still bound every allocation using the column, or the incumbent."""
    monkeypatch.setattr(st, "KNAPSACK_GRID", 1)
    ran = 0
    for _seed, spec, level, y, opt in _level_cases(regions_only):
        kb = st.knapsack_level_bound(spec, level, y, opt - 1.0)
        if kb is None:
            continue
        assert kb >= opt - 1e-7
        ran += len(_capacity_losses_bound_every_allocation(spec, level, y, kb, opt))
    assert ran > 0


def _capacity_losses_bound_every_allocation(spec: ModelSpec, level: st.Level,
                                            duals: np.ndarray, kb: float, opt: float
                                            ) -> list[np.ndarray]:
    """For the knapsack curves built for the incumbents ``opt − 1`` and ``opt − 0.01``: the
    capacity losses are non-negative, one per binary, and every feasible allocation is worth
    at most the bound ``kb`` less the largest loss of its columns, or the incumbent. Returns
    the losses, one array per incumbent."""
    caps = []
    for inc in (opt - 1.0, opt - 0.01):
        curve = st.knapsack_level_curve(spec, level, duals, inc)
        assert curve is not None
        cap = curve.capacity_losses()
        assert cap.shape == (spec.n_x,) and np.all(cap >= 0)
        for x, value in feasible_values(spec):
            assert value <= max(kb - cap[x > 0.5].max(), inc) + 1e-7
        caps.append(cap)
    return caps


def _mck_loop(q: np.ndarray, g: np.ndarray, group: np.ndarray, k_max: int
              ) -> list[np.ndarray]:
    """The multiple-choice knapsack tables, one option at a time (the reference)."""
    f_tab = np.zeros(k_max + 1)
    steps = []
    for t in np.unique(group):
        choice = np.full(k_max + 1, -1, np.int32)
        new = f_tab.copy()
        for i in np.flatnonzero(group == t):
            for kap in range(int(q[i]), k_max + 1):
                val = f_tab[kap - int(q[i])] + g[i]
                if val > new[kap]:
                    new[kap], choice[kap] = val, i
        steps.append(choice)
        f_tab = new
    return steps


@pytest.mark.parametrize("seed", range(30))
def test_mck_choices_match_the_one_option_at_a_time_tables(seed: int) -> None:
    """The knapsack fill's tables, all options of a unit at once, are the loop's: the same
    choice at every capacity, ties (equal gains and weights) included."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    group = rng.integers(0, max(1, n // 2), n)
    q = rng.integers(1, 8, n)
    g = rng.choice([0.5, 1.0, 1.5, 2.0, 3.25], n) if seed % 2 else rng.uniform(0.01, 5, n)
    k_max = int(rng.integers(0, 25))
    got = st.mck_choices(q, g, group, k_max)
    want = _mck_loop(q, g, group, k_max)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_level_search_reuses_the_parents_optimum_only_where_the_lp_would_return_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A child node whose bounds lie inside its parent's and hold the parent's LP optimum takes
    that optimum without an LP; the search then ends with the same bound, the same nodes and
    the same node LP optima as when every node's LP is solved — and it does skip some.
    Searches of two LPs before the stall test (longer ones may part where a degenerate LP's
    duals differ between the parent's optimum and a fresh solve)."""
    monkeypatch.setattr(st, "STALL_LPS", 2)

    def search(spec: ModelSpec, opt: float) -> st.LevelSearch:
        backend, options = HighsBackend(), SolverOptions()
        levels = st.find_levels(spec)
        counted = st.with_level_counts(spec, levels)
        _, y = _lp_duals(spec)
        curve = st.knapsack_level_curve(spec, levels[0], y, opt - 1.0)
        session = backend.session(counted, options)
        root = session.lp(time_limit=30.0)
        return st.level_bounds(counted, levels[0],
                               lambda lb, ub, rows, basis: session.lp(lb, ub, rows, 30.0),
                               root, opt - 1.0, 0.0, np.inf, max_lps=30,
                               node_bound=_node_bounds(counted, levels[0], opt - 1.0, curve))

    reused = 0
    for seed in range(10):
        spec = random_model(seed)
        opt = brute_force(spec)
        fast = search(spec, opt)
        with monkeypatch.context() as m:
            m.setattr(st, "_parent_optimum", lambda *args: None)
            full = search(spec, opt)
        assert full.reused == 0
        reused += fast.reused
        assert fast.lps == full.lps
        assert fast.bound == pytest.approx(full.bound, rel=1e-9, abs=1e-9)
        assert [(n.lo, n.hi, n.count_ub) for n in fast.nodes] == \
            [(n.lo, n.hi, n.count_ub) for n in full.nodes]
        for a, b in zip(fast.nodes, full.nodes, strict=True):
            assert a.lp_bound == pytest.approx(b.lp_bound, rel=1e-9, abs=1e-9)
            assert a.bound == pytest.approx(b.bound, rel=1e-9, abs=1e-9)
    assert reused > 0


@pytest.mark.parametrize("seed", range(5))
def test_restricted_model_keeps_the_objective_and_every_term_at_the_combined_solution(
        seed: int) -> None:
    """With some units fixed, the restricted model's objective and each term's value at its
    own part of an allocation equal the full model's at the whole allocation."""
    spec = random_model(seed)
    rng = np.random.default_rng(seed)
    for x in list(allocations(spec))[::7]:
        x_full = np.concatenate([x, rng.random(spec.n_cols - spec.n_x)])
        free = rng.random(spec.n_units) < 0.5
        sub, cols = spec.restrict(free, x_full)
        assert sub.objective_value(x_full[cols]) == pytest.approx(
            spec.objective_value(x_full), abs=1e-9)
        full_terms = spec.term_values(x_full)
        for name, v in sub.term_values(x_full[cols]).items():
            assert v == pytest.approx(full_terms[name], abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_lagrange_duals_bound_every_integer_solution_below_the_lp_duals_bound(seed: int
                                                                                ) -> None:
    """Every step's bound stays above the enumerated optimum (whole range and an interval
    around the optimum's level); the best is never above the bound of the LP's duals it
    starts from, and its curve is the curve of the duals it returns."""
    spec = random_model(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    _, y = _lp_duals(spec)
    j = level.col - spec.n_x
    lo, hi = float(spec.aux_lb[j]), float(spec.aux_ub[j])
    res = st.lagrange_level_duals(spec, level, y, opt, lo, hi, steps=12)
    assert res is not None
    assert res.trace[0] == st.knapsack_level_bound(spec, level, y, opt)
    assert min(res.trace) == res.bound <= res.trace[0]
    assert res.bound >= opt - 1e-7
    again = st.knapsack_level_curve(spec, level, res.row_dual, opt)
    assert again is not None and again(lo, hi) == pytest.approx(res.bound, abs=1e-9)
    for a, b in [(0.0, 0.2), (0.2, np.inf)]:
        part = st.lagrange_level_duals(spec, level, y, opt - 1.0, a, b, steps=6)
        if part is not None:
            assert part.bound >= brute_force(_level_between(spec, j, a, b)) - 1e-7


def test_lagrange_duals_lower_the_bound_on_some_models() -> None:
    """The LP's duals are not the Lagrangian dual's minimiser with whole cells: on these tiny
    models the search lowers the bound (on seed 6 to the optimum itself)."""
    for seed in (4, 6, 8):
        spec = random_model(seed)
        opt = brute_force(spec)
        (level,) = st.find_levels(spec)
        _, y = _lp_duals(spec)
        j = level.col - spec.n_x
        res = st.lagrange_level_duals(spec, level, y, opt, float(spec.aux_lb[j]),
                                      float(spec.aux_ub[j]), steps=20)
        assert res is not None
        assert res.bound < res.trace[0] - 1e-6
        if seed == 6:
            assert res.trace[0] > opt + 0.2
            assert res.bound == pytest.approx(opt, abs=1e-7)


def test_nodes_the_root_curve_closes_cost_no_lp_and_keep_the_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked before a node's LP, the root's whole-cell curve closes nodes that hold nothing
    better than the incumbent: the search solves fewer LPs on some models, never more, its
    bound still holds for every integer solution, and no node it closed that way is left
    open. Searches of two LPs before the stall test (a longer one counts its LPs to the stall
    differently when nodes close without one, and may run longer)."""

    monkeypatch.setattr(st, "STALL_LPS", 2)

    saved = 0
    for _seed, spec, level, y, opt in _level_cases(random_model, 10):
        levels = [level]
        counted = st.with_level_counts(spec, levels)
        curve = st.knapsack_level_curve(spec, levels[0], y, opt)
        full = _node_bounds(counted, levels[0], opt, curve)

        def lp_only(lb, ub, lp, full=full):  # the node bound without the early answer
            return None if lp is None else full(lb, ub, lp)

        calls = []
        for node_bound in (lp_only, full):
            session = HighsBackend().session(counted, SolverOptions())
            root = session.lp(time_limit=30.0)
            n = [0]

            def solve_lp(lb, ub, rows, basis, s=session, n=n):
                n[0] += 1
                return s.lp(lb, ub, rows, 30.0)

            res = st.level_bounds(counted, levels[0], solve_lp, root, opt, 1e-6, np.inf,
                                  max_lps=30, node_bound=node_bound)
            assert res.bound >= opt - 1e-7
            assert all(node.lp is not None or node.x is not None or node.bound > opt + 1e-6
                       for node in res.nodes)
            calls.append(n[0])
        assert calls[1] <= calls[0]
        saved += calls[1] < calls[0]
    assert saved > 0


def test_the_level_search_bounds_what_lies_outside_its_open_nodes() -> None:
    """Every allocation whose level lies outside the open nodes' intervals is worth at most
    the closed nodes' bound, also when the tolerance closes nodes above the incumbent."""

    for seed in range(10):
        spec = random_model(seed)
        opt = brute_force(spec)
        levels = st.find_levels(spec)
        counted = st.with_level_counts(spec, levels)
        j = levels[0].col - spec.n_x
        _, y = _lp_duals(spec)
        inc, tol = opt - 0.5, 1.0  # the optimum's own node may close
        curve = st.knapsack_level_curve(spec, levels[0], y, inc)
        session = HighsBackend().session(counted, SolverOptions())
        root = session.lp(time_limit=30.0)
        res = st.level_bounds(counted, levels[0],
                              lambda lb, ub, rows, basis, s=session: s.lp(lb, ub, rows, 30.0),
                              root, inc, tol, np.inf, max_lps=30,
                              node_bound=_node_bounds(counted, levels[0], inc, curve))
        assert res.closed >= inc
        ends = [float(spec.aux_lb[j])]
        for n in sorted(res.nodes, key=lambda n: n.lo):
            ends += [n.lo, n.hi]
        ends.append(np.inf)
        for a, b in zip(ends[::2], ends[1::2], strict=True):
            if a < b:  # a gap between open nodes (their ends belong to both sides)
                assert brute_force(_level_between(spec, j, a, b)) <= res.closed + 1e-7


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_knapsack_window_alone_has_the_same_window_and_bounds_the_exact_curve(make) -> None:
    """``window_only`` returns the fractional knapsacks' function: the same exact window as
    the full curve, and on every interval a value no lower than the exact curve's (it
    relaxes it) and no lower than the best integer solution there."""
    checked = 0
    for seed, spec, level, y, opt in _level_cases(make, 12):
        full = st.knapsack_level_curve(spec, level, y, opt - 1.0, groups=False)
        alone = st.knapsack_level_curve(spec, level, y, opt - 1.0, groups=False,
                                        window_only=True)
        assert (full is None) == (alone is None)
        if full is None or not hasattr(full, "window"):
            continue
        assert alone.window == full.window
        j = level.col - spec.n_x
        rng = np.random.default_rng(seed)
        for lo, hi in [(float(spec.aux_lb[j]), float(spec.aux_ub[j])), (0.0, 0.05),
                       (0.05, 0.2), (0.2, 1.0), (1.0, np.inf),
                       *np.sort(rng.uniform(0.0, 1.5, (4, 2)), axis=1)]:
            best = brute_force(_level_between(spec, j, float(lo), float(hi)))
            assert alone(float(lo), float(hi)) >= full(float(lo), float(hi)) - 1e-7
            assert alone(float(lo), float(hi)) >= best - 1e-7
        checked += 1
    assert checked >= 6


def test_a_node_its_lp_closes_gets_no_cut_rounds() -> None:
    """A node whose LP bound is already within the tolerance of the incumbent is closed as it
    stands: no further LP with rounded load rows is solved for it (cut rounds still run on
    nodes their LP leaves open), and the bound still holds for every integer solution."""

    cut_lps = 0
    for _seed, spec, level, y, opt in _level_cases(random_model):
        levels = [level]
        counted = st.with_level_counts(spec, levels)
        inc, tol = opt, 1.0  # (closing at the optimum plus a tolerance: the case that arises)
        curve = st.knapsack_level_curve(spec, levels[0], y, inc)
        for node_bound in (None, _node_bounds(counted, levels[0], inc, curve)):
            session = HighsBackend().session(counted, SolverOptions())
            root = session.lp(time_limit=30.0)
            seen: list[tuple[np.ndarray, np.ndarray, int, float]] = []

            def solve_lp(lb, ub, rows, basis, s=session, seen=seen):
                out = s.lp(lb, ub, rows, 30.0)
                seen.append((lb.copy(), ub.copy(), len(rows),
                             np.inf if out.objective is None else float(out.objective)))
                return out

            res = st.level_bounds(counted, levels[0], solve_lp, root, inc, tol, np.inf,
                                  max_lps=30, node_bound=node_bound)
            assert res.bound >= opt - 1e-7
            for (lb0, ub0, k0, z0), (lb1, ub1, k1, _) in itertools.pairwise(seen):
                if k1 > k0 and np.array_equal(lb0, lb1) and np.array_equal(ub0, ub1):
                    cut_lps += 1  # a cut round of the node of the LP before
                    assert z0 > inc + tol
    assert cut_lps > 0


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_the_counted_root_lp_starts_at_its_optimum(make) -> None:
    """The strengthened LP's optimal basis, with every count column basic and its count row
    at its upper bound, is optimal for the model with the counts: the level search's root LP
    from it takes no simplex iteration and has the strengthened LP's optimum (from the basis
    as read, with the counts nonbasic at zero, it needs iterations on some models)."""
    import time

    from ruimteverdeling.model.solve import _counted_basis, _strengthen

    raised = 0
    for seed in range(12):
        spec = make(seed)
        options = SolverOptions()
        session = HighsBackend().session(spec, options)
        lp = session.lp(time_limit=30.0)
        work, lp_s, _, levels, _ = _strengthen(spec, session, options, lp,
                                               time.perf_counter() + 30.0, lambda m: None)
        assert levels and work.n_cols > spec.n_cols
        basis = session.basis_now()
        for start, counted in ((basis, False), (_counted_basis(work, levels, basis), True)):
            root = session.lp(work.aux_lb, work.aux_ub, None, 30.0, basis=start)
            assert root.status == "optimal"
            assert root.objective == pytest.approx(lp_s.objective, abs=1e-7)
            its = root.details["lp_iterations"]["simplex"]
            if counted:
                assert its == 0
            else:
                raised += its > 0
    assert raised > 0


def _search_outcome(res: st.LevelSearch) -> tuple:
    """Everything a level search returns, bit for bit (floats and arrays as bytes)."""
    nodes = [(n.lo, n.hi, sorted(n.count_ub.items()), n.bound, n.lp_bound,
              None if n.x is None else n.x.tobytes(),
              None if n.col_dual is None else n.col_dual.tobytes()) for n in res.nodes]
    return (res.bound, res.window, sorted(res.count_ub.items()), res.lps, res.reused,
            res.closed, nodes)


@pytest.mark.parametrize("make", [random_model, regions_only])
def test_lps_solved_ahead_leave_the_level_search_bit_for_bit_unchanged(make) -> None:
    """The level search answered from LPs and nodes' own whole-cell bounds solved ahead —
    none, all those planned (serially), or in a thread beside the search — returns the same
    bound, window, nodes (with their LP optima, solutions and reduced costs), LP count and
    closed bound, bit for bit, as a search that solves and computes each itself; each bound
    is computed once, and on some models the memo answers the search's LPs and bounds."""
    import time

    from ruimteverdeling.model.solve import _node_knapsack, _own_knapsack, level_prefetch

    hits = taken = 0
    for _seed, spec, level, y, opt in _level_cases(make, 12):
        counted = st.with_level_counts(spec, [level])
        inc, tol = opt - 0.5, 0.25
        curve = st.knapsack_level_curve(spec, level, y, inc)
        outcomes = []
        for mode in ("none", "ahead", "thread"):
            backend, options = HighsBackend(), SolverOptions()
            session = backend.session(counted, options)
            pf = level_prefetch(counted, [level], session, backend, options, None,
                                time.perf_counter() + 60.0, {level.col: curve},
                                {level.col: inc - 1.0})
            assert pf.bound_of is not None
            assert pf.bound_key == (inc - 1.0, float(pf.root.x[level.col]))
            calls: list[tuple[bytes, bytes, int]] = []
            plain = pf.bound_of

            def counted_bound(lb, ub, lp, plain=plain, calls=calls):
                calls.append((lb.tobytes(), ub.tobytes(), id(lp)))
                return plain(lb, ub, lp)

            pf.bound_of = counted_bound
            own = _own_knapsack(counted, level, *pf.bound_key)
            if mode == "ahead":
                pf.ahead(max_lps=50)
            elif mode == "thread":
                pf.start(max_lps=50)
            res = st.level_bounds(counted, level, pf.solve_lp, pf.root, inc, tol, np.inf,
                                  max_lps=30,
                                  node_bound=_node_knapsack(counted, level, curve,
                                                            own if mode == "none"
                                                            else pf.node_bound))
            pf.stop()
            assert res.bound >= opt - 1e-7
            assert len(calls) == len(set(calls))  # (each bound once)
            outcomes.append(_search_outcome(res))
            if mode == "ahead":
                assert pf.bound_hits <= pf.bounds_ahead <= len(calls)
                hits += pf.hits
                taken += pf.bound_hits
        assert outcomes[1] == outcomes[0]
        assert outcomes[2] == outcomes[0]
    assert hits > 0 and taken > 0


def _one_level_prefetch(**kwargs):
    """A level search's prefetch on a tiny model with its node bounds (window incumbent
    just below the optimum), made with ``kwargs``, and the model's LP curve."""
    import time

    from ruimteverdeling.model.solve import _own_key, _own_knapsack

    spec = regions_only(3)
    (level,) = st.find_levels(spec)
    _, y = _lp_duals(spec)
    opt = brute_force(spec)
    counted = st.with_level_counts(spec, [level])
    curve = st.knapsack_level_curve(spec, level, y, opt - 1.0)
    backend, options = HighsBackend(), SolverOptions()
    session = backend.session(counted, options)
    root = session.lp(counted.aux_lb, counted.aux_ub, None, 60.0)
    root.basis = session.basis_now()
    key = _own_key(level, root, True, opt - 1.0)
    search = backend.session(counted, options)

    def solve_lp(lb, ub, rows, start):
        if search.started:
            search.h.clearSolver()
        out = search.lp(lb, ub, rows, 60.0, basis=start)
        if out.status == "optimal":
            out.basis = search.basis_now()
        return out

    pf = st.LevelPrefetch(counted, level, solve_lp, root,
                          bound_of=_own_knapsack(counted, level, *key), bound_key=key,
                          bound_floor=-np.inf, **kwargs)
    return pf, counted, level, curve, time.perf_counter() + 60.0


def _until(test, within: float = 10.0) -> bool:
    import time

    stop_by = time.monotonic() + within
    while not test():
        if time.monotonic() > stop_by:
            return False
        time.sleep(0.01)
    return True


def test_a_prefetch_made_early_waits_for_its_rank_and_for_leave_to_compute_bounds() -> None:
    """Made with ``wait_rank`` and ``hold_bounds`` (before the curve that ranks its LPs
    exists, while the main thread still runs Python), the thread solves one LP and waits;
    ranked, it solves the rest but computes no node bound; let, it computes the bounds of
    the LPs it solved, best rank first. Stopped, it ends."""
    import time

    from ruimteverdeling.model.solve import _curve_rank

    pf, counted, level, curve, deadline = _one_level_prefetch(wait_rank=True,
                                                              hold_bounds=True)
    assert len(pf.plan()) >= 2
    pf.start(deadline)
    assert _until(lambda: pf.solved == 1)
    time.sleep(0.3)
    assert (pf.solved, pf.bounds_ahead) == (1, 0)
    pf.set_rank(_curve_rank(counted, level, curve))
    assert _until(lambda: pf.solved == min(len(pf.plan()), st.PREFETCH_LPS))
    time.sleep(0.3)
    assert pf.bounds_ahead == 0
    pf.allow_bounds()
    assert _until(lambda: pf.thread is not None and not pf.thread.is_alive())
    pf.stop()
    assert pf.thread is None
    assert pf.bounds_ahead >= 1


def test_a_floor_set_while_it_runs_skips_the_lps_the_search_closes_unsolved() -> None:
    """With the floor the search closes nodes at (:meth:`set_floor`) above every node's
    rank, the prefetch solves no LP and computes no bound."""
    from ruimteverdeling.model.solve import _curve_rank

    pf, counted, level, curve, deadline = _one_level_prefetch()
    pf.set_rank(_curve_rank(counted, level, curve))
    pf.set_floor(np.inf)
    assert pf.ahead(deadline=deadline) == 0
    assert (pf.solved, pf.bounds_ahead) == (0, 0)


def test_a_node_bound_in_progress_is_waited_for_and_one_that_failed_is_computed_again(
) -> None:
    """A node bound asked for while another thread computes it is that thread's value
    (computed once); where that computation fails, the one waiting computes it itself."""
    import threading
    import time

    pf, counted, _, _, _ = _one_level_prefetch()
    lp = pf.root
    entered, release = threading.Event(), threading.Event()
    outcomes: list[float | None] = []  # per call: a value, or None for a failure

    def slow(lb_, ub_, lp_):
        value = outcomes.pop(0)
        entered.set()
        assert release.wait(10)
        if value is None:
            raise RuntimeError("a bound that failed")
        return value

    pf.bound_of = slow

    def race(lb: np.ndarray, ub: np.ndarray) -> tuple[list[Any], list[Any]]:
        first: list[Any] = []
        second: list[Any] = []

        def ask(into: list[Any]) -> None:
            try:
                into.append(pf.node_bound(lb, ub, lp))
            except RuntimeError as e:
                into.append(e)

        entered.clear()
        release.clear()
        t = threading.Thread(target=ask, args=(first,))
        t.start()
        assert entered.wait(10)
        entered.clear()
        waiter = threading.Thread(target=ask, args=(second,))
        waiter.start()
        time.sleep(0.2)  # (the second call waits for the first)
        release.set()
        t.join(10)
        waiter.join(10)
        return first, second

    lb, ub = counted.aux_lb.copy(), counted.aux_ub.copy()
    outcomes[:] = [42.0]
    assert race(lb, ub) == ([42.0], [42.0])
    assert outcomes == [] and pf.bound_hits == 1  # (computed once, waited for)
    assert pf.node_bound(lb.copy(), ub.copy(), lp) == 42.0 and pf.bound_hits == 2
    ub2 = ub.copy()
    ub2[-1] = ub2[-1] - 0.5 if np.isfinite(ub2[-1]) else 1e6
    outcomes[:] = [None, 7.0]
    first, second = race(lb, ub2)
    assert isinstance(first[0], RuntimeError) and second == [7.0]
    assert outcomes == [] and pf.bound_hits == 2  # (the waiter computed it itself)
    other = type(lp)(lp.status, lp.x, lp.objective, lp.col_dual, lp.row_dual, {}, {})
    outcomes[:] = [5.0]
    release.set()
    assert pf.node_bound(lb, ub, other) == 5.0 and outcomes == []  # (another LP object)


def test_a_solve_with_the_level_search_lps_ahead_is_the_same_solve(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through :func:`solve`, the search in a session of its own: with the level search's
    likely LPs solved ahead (all planned ones before the search, or in a thread beside it)
    and without, the allocation,
    objective, bound and the level search's figures are the same; solved ahead first, the
    memo answers LPs of the search on some models (beside it, how many depends on timing)."""
    from ruimteverdeling.model import solve as solve_module

    def serial_start(self, deadline=np.inf, max_lps=st.PREFETCH_LPS, floor=None):
        self.ahead(deadline=deadline, max_lps=max_lps, floor=floor)

    answered = searched = 0
    for seed in range(12):
        spec = random_model(seed)
        sols = []
        for mode in ("none", "serial", "thread"):
            with monkeypatch.context() as m:
                m.setattr(solve_module, "LEVEL_PREFETCH", True)
                if mode == "none":
                    m.setattr(st.LevelPrefetch, "start", lambda self, *a, **k: None)
                elif mode == "serial":
                    m.setattr(st.LevelPrefetch, "start", serial_start)
                sols.append(solve(spec, SolverOptions(mip_rel_gap=1e-6)))
        keys = ("lps", "reused", "bound", "window", "open")
        runs = [[{k: s[k] for k in keys} for s in sol.details.get("level_search", [])]
                for sol in sols]
        for sol, run in zip(sols[1:], runs[1:], strict=True):
            assert sol.x.tobytes() == sols[0].x.tobytes()
            assert (sol.objective, sol.bound, sol.status) == \
                (sols[0].objective, sols[0].bound, sols[0].status)
            assert run == runs[0]
        searched += bool(runs[0])
        answered += sum(s["from_ahead"] for s in sols[1].details.get("level_search", []))
    assert searched > 0 and answered > 0

def _hull_by_points(units: np.ndarray, q: np.ndarray, g: np.ndarray
                    ) -> tuple[list[float], list[float]]:
    """Per unit in increasing order, the upper concave hull of its options and ``(0, 0)``
    by gift wrapping from the origin, one point at a time (the steepest next point, the
    first of equal slopes in ``(q, g)`` order, as long as it rises)."""
    seg_q: list[float] = []
    seg_g: list[float] = []
    for k in sorted(set(units.tolist())):
        pts = sorted(zip(q[units == k].astype(float).tolist(), g[units == k].tolist(),
                         strict=True))
        pq, pg = 0.0, 0.0
        while True:
            best, nxt = 0.0, None
            for qq, gg in pts:
                if qq > pq and (gg - pg) / (qq - pq) > best:
                    best, nxt = (gg - pg) / (qq - pq), (qq, gg)
            if nxt is None:
                break
            seg_q.append(nxt[0] - pq)
            seg_g.append(nxt[1] - pg)
            pq, pg = nxt
    return seg_q, seg_g


@pytest.mark.parametrize("seed", range(30))
def test_hull_segments_match_gift_wrapping_point_by_point(seed: int) -> None:
    """The relaxed knapsack's hull segments, units of one option taken all at once, are the
    point-by-point gift wrapping's: the same segments in the same order, bit for bit, units
    of one option with a zero weight or a gain of at most zero included (no segment)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    units = rng.integers(0, max(1, n // 2), n) * 3  # (gaps between unit numbers)
    q = rng.integers(0, 6, n)
    g = rng.choice([-1.0, 0.0, 0.5, 1.0, 1.5, 3.25], n) if seed % 2 else \
        rng.uniform(-1.0, 5.0, n)
    got_q, got_g = st._hull_segments(units, q, g)
    want_q, want_g = _hull_by_points(units, q, g)
    np.testing.assert_array_equal(np.asarray(got_q, float), np.asarray(want_q, float))
    np.testing.assert_array_equal(np.asarray(got_g, float), np.asarray(want_g, float))


def test_the_level_search_derives_a_top_s_load_rows_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rounded load rows of a level top are derived once per search: an upper child keeps
    its parent's top, and the second node with that top starts its cut rounds from the same
    rows (every one of them, not what a sibling's rounds left)."""

    derive = st.level_cap_rows
    tops: list[float] = []
    # id of the rows derived -> the rows (kept: an id is unique only while its object
    # lives, and a freed one's may be reused by rows a cut round takes) and their row count
    made: dict[int, tuple[st.Candidates, int]] = {}
    first_rounds: list[int] = []  # per first cut round, the row count of the rows asked

    def counting(spec, level, hi):
        tops.append(hi)
        cand = derive(spec, level, hi)
        made[id(cand)] = (cand, cand.n_rows)
        return cand

    def violated(self, x, tol=1e-6):
        if id(self) in made:
            assert self.n_rows == made[id(self)][1]
            first_rounds.append(self.n_rows)
        return plain(self, x, tol)

    plain = st.Candidates.violated
    monkeypatch.setattr(st, "level_cap_rows", counting)
    monkeypatch.setattr(st.Candidates, "violated", violated)
    repeats = 0
    for seed in range(10):
        spec = random_model(seed)
        opt = brute_force(spec)
        levels = st.find_levels(spec)
        counted = st.with_level_counts(spec, levels)
        _, y = _lp_duals(spec)
        curve = st.knapsack_level_curve(spec, levels[0], y, opt - 1.0)
        session = HighsBackend().session(counted, SolverOptions())
        root = session.lp(time_limit=30.0)
        tops.clear()
        first_rounds.clear()
        res = st.level_bounds(counted, levels[0],
                              lambda lb, ub, rows, basis, s=session: s.lp(lb, ub, rows, 30.0),
                              root, opt - 1.0, 0.0, np.inf, max_lps=30,
                              node_bound=_node_bounds(counted, levels[0], opt - 1.0, curve))
        assert res.bound >= opt - 1e-7
        assert len(tops) == len(set(tops))
        repeats += len(first_rounds) - len(tops)
    assert repeats > 0
