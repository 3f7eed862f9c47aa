"""Rows over few units kept inside the whole-cell knapsacks: valid, exact per group, stronger."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from ruimteverdeling.model import row_groups
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from tiny_models import COEFS, UNITS, USES, brute_force

SEEDS = range(30)


def grouped_model(seed: int, whole: bool = False) -> ModelSpec:
    """Four units, three uses, a minimax level over two regions (units 0-1, units 2-3), a
    share row over the units of each region (the first soft, with a shortfall, the second
    hard), a soft national cover row and a capacity row; ``whole``: whole-number
    coefficients in the share rows. The allocation ``x0`` meets every hard row."""
    rng = np.random.default_rng(seed)
    col_unit = np.repeat(np.arange(UNITS), USES)
    n = col_unit.size
    b = SpecBuilder(col_unit, np.tile(np.arange(USES), UNITS), np.arange(UNITS))
    x0 = np.zeros(n)
    x0[np.arange(UNITS) * USES + rng.integers(0, USES, UNITS)] = 1.0
    b.add_term("value", "benefit", 1.0, rng.uniform(0, 30, n))
    coefs = np.array([0.0, 1.0, 2.0, 3.0, 5.0]) if whole else COEFS
    for k, units in enumerate(((0, 1), (2, 3))):
        cols = np.flatnonzero(np.isin(col_unit, units))
        p = rng.choice(coefs, cols.size)
        lo = float(p @ x0[cols]) + (rng.uniform(0.5, 4.0) if k == 0 else 0.0)
        rows, cc, vals = [np.zeros(cols.size, int)], [cols], [p]
        if k == 0:
            s = b.add_aux("shortfall:share", 0.0, np.inf)
            rows.append(np.array([0]))
            cc.append(np.array([s]))
            vals.append(np.array([1.0]))
            b.add_term("penalty:share", "cost", 1.0, aux={s: float(rng.uniform(0.5, 8.0))})
        b.add_block(f"share:{k}", "target", np.concatenate(rows), np.concatenate(cc),
                    np.concatenate(vals), 1, np.array([lo]), np.array([np.inf]))
    a = rng.choice(COEFS, n)
    s = b.add_aux("shortfall:cover", 0.0, np.inf)
    b.add_block("cover", "target", np.r_[np.zeros(n, int), 0], np.r_[np.arange(n), s],
                np.r_[a, 1.0], 1, np.array([float(a @ x0 * rng.uniform(0.8, 1.1))]),
                np.array([np.inf]))
    b.add_term("penalty:cover", "cost", 1.0, aux={s: float(rng.uniform(0.1, 3.0))})
    a = rng.choice(COEFS, n)
    b.add_block("cap", "rule", np.zeros(n, int), np.arange(n), a, 1, np.array([-np.inf]),
                np.array([float(a @ x0 + rng.uniform(0.0, 3.0))]))
    region = (col_unit >= 2).astype(int)
    v = b.add_aux("level", 0.0, np.inf)
    load = rng.choice(COEFS, n)
    area = rng.uniform(5.0, 20.0, 2)
    b.add_block("fair", "rule", np.r_[region, 0, 1], np.r_[np.arange(n), v, v],
                np.r_[load, -area], 2, np.full(2, -np.inf), np.zeros(2))
    b.add_term("fairness", "cost", 1.0, aux={v: float(rng.uniform(10.0, 300.0))})
    return b.build()


def _duals(spec: ModelSpec) -> np.ndarray:
    lp = HighsBackend().lp(spec, SolverOptions(), 30.0)
    assert lp.row_dual is not None
    return np.asarray(lp.row_dual)


def _level_case(seed: int) -> tuple[ModelSpec, st.Level, np.ndarray, float,
                                    np.random.Generator, int]:
    """The grouped model of ``seed``, its one level, its LP's duals, its enumerated optimum,
    a generator seeded alike and the level's auxiliary index."""
    spec = grouped_model(seed)
    (level,) = st.find_levels(spec)
    return (spec, level, _duals(spec), brute_force(spec), np.random.default_rng(seed),
            level.col - spec.n_x)


def _level_between(spec: ModelSpec, j: int, lo: float, hi: float) -> ModelSpec:
    lb, ub = spec.aux_lb.copy(), spec.aux_ub.copy()
    lb[j], ub[j] = max(lb[j], lo), min(ub[j], hi)
    return replace(spec, aux_lb=lb, aux_ub=ub)


def test_the_share_rows_of_one_region_are_found_as_groups() -> None:
    spec = grouped_model(0)
    (level,) = st.find_levels(spec)
    A, lo, hi = spec.coupling_matrix()
    _, u_reg = st._level_regions(spec, level)
    skip = np.zeros(A.shape[0], bool)
    skip[[spec.row_offsets()[r.block][0] - spec.n_units + r.row for r in level.rows]] = True
    found = row_groups.find_groups(A, lo, hi, spec.n_x, spec.col_unit, u_reg, spec.aux_lb,
                                   skip, np.zeros(A.shape[0], bool))
    assert [(g.row, g.units.tolist(), g.region, g.aux is not None) for g in found] == [
        (0, [0, 1], 0, True), (1, [2, 3], 1, False)]
    # a unit limit below the groups' size keeps none
    assert row_groups.find_groups(A, lo, hi, spec.n_x, spec.col_unit, u_reg, spec.aux_lb,
                                  skip, np.zeros(A.shape[0], bool), max_units=1) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_kept_rows_bound_every_integer_solution(seed: int) -> None:
    """With the share rows kept the bound still holds for every integer allocation, under
    the LP's multipliers, none and perturbed ones, over the whole range of the level and over
    intervals of it."""
    spec, level, y, opt, rng, j = _level_case(seed)
    for duals in (y, np.zeros_like(y), y + rng.normal(0.0, 1.0, y.size)):
        curve = st.knapsack_level_curve(spec, level, duals, opt - 1.0, groups=True)
        if curve is None:
            continue
        assert curve(float(spec.aux_lb[j]), float(spec.aux_ub[j])) >= opt - 1e-7
        for lo, hi in [(0.0, 0.1), (0.1, 0.4), (0.4, 1.5), (1.5, np.inf),
                       *np.sort(rng.uniform(0.0, 2.0, (3, 2)), axis=1)]:
            best = brute_force(_level_between(spec, j, float(lo), float(hi)))
            assert curve(float(lo), float(hi)) >= best - 1e-7


def test_kept_rows_tighten_the_bound_and_never_loosen_it_with_whole_coefficients() -> None:
    """Under the LP's multipliers, with whole-number coefficients (exact coverage), keeping
    the share rows never raises the bound and lowers it on some models."""
    lower = 0
    for seed in SEEDS:
        spec = grouped_model(seed, whole=True)
        (level,) = st.find_levels(spec)
        y = _duals(spec)
        opt = brute_force(spec)
        plain = st.knapsack_level_bound(spec, level, y, opt - 1.0, groups=False)
        curve = st.knapsack_level_curve(spec, level, y, opt - 1.0, groups=True)
        assert plain is not None and curve is not None
        j = level.col - spec.n_x
        kept = curve(float(spec.aux_lb[j]), float(spec.aux_ub[j]))
        assert opt - 1e-7 <= kept <= plain + 1e-7
        lower += kept < plain - 1e-6
    assert lower >= 3


@pytest.mark.parametrize("seed", range(8))
def test_group_table_is_the_enumerated_best_per_weight(seed: int) -> None:
    """``G(w)``: the best price of a group's choices with total weight at most ``w`` that meet
    its row with the shortfall at its best value — by enumeration of every choice of three
    units."""
    rng = np.random.default_rng(seed)
    units, per = 3, 3
    cols = np.arange(units * per)
    local = np.repeat(np.arange(units), per)
    p = rng.choice(np.array([0.0, 2.0, 3.0, 4.0]), cols.size)
    b = float(rng.integers(3, 10))
    steps = rng.integers(0, 4, cols.size)
    d = rng.uniform(-5.0, 5.0, cols.size)
    d_s = -float(rng.uniform(0.2, 2.0))
    g = float(rng.choice([1.0, 2.0]))
    grp = row_groups.Group(0, np.arange(units), 0, cols, local, p, b, 99, g,
                           np.array([0]))
    vals, best = row_groups.group_table(grp, steps, d, d_s, 0.0, np.inf, 10**6)
    want = np.full(int(steps.reshape(units, per).max(axis=1).sum()) + 1, -np.inf)
    for choice in itertools.product(range(per), repeat=units):
        js = np.arange(units) * per + np.array(choice)
        short = max(0.0, (b - p[js].sum()) / g)
        w = int(steps[js].sum())
        want[w] = max(want[w], d[js].sum() + d_s * short)
    # (a choice another of no more weight, coverage and price dominates may be left out:
    # the knapsack asks for the best of weight at most its capacity)
    np.testing.assert_allclose(np.maximum.accumulate(vals), np.maximum.accumulate(want),
                               atol=1e-9)
    assert best == pytest.approx(want.max())
    # a cut weight range: one more option of the next weight bounds every heavier choice
    vals_c, _ = row_groups.group_table(grp, steps, d, d_s, 0.0, np.inf, 2)
    assert vals_c.size == min(want.size, 4)
    np.testing.assert_allclose(np.maximum.accumulate(vals_c[:3]),
                               np.maximum.accumulate(want[:3]), atol=1e-9)
    if want.size > 3:
        assert vals_c[3] == pytest.approx(want.max())


def test_weight_step_divides_the_most_frequent_weights() -> None:
    """The step is the largest multiple (up to the limit) of the grid step that divides the
    most frequent weights, so that those stay exact and only rarer ones round down."""
    w = np.array([0.0] * 9 + [100.0] * 5 + [200.0] * 3 + [103.0, 60.0])
    assert row_groups.weight_step(w, 1.0, 10) == 10.0
    assert row_groups.weight_step(w, 1.0, 3) == 2.0
    assert row_groups.weight_step(w, 1.0, 1) == 1.0
    assert row_groups.weight_step(w, 0.5, 40) == 0.5 * 40  # 200 half-steps divide 400 too
    assert row_groups.weight_step(np.array([1.25, 1.25, 2.5]), 1.0, 10) == 1.0


@pytest.mark.parametrize("seed", range(12))
def test_the_solve_with_groups_kept_finds_the_enumerated_optimum(seed: int, monkeypatch
                                                                 ) -> None:
    """With every whole-cell bound keeping the groups (and the knapsack losses then fixing
    nothing), the solve still ends at the enumerated optimum with a bound above it."""
    from ruimteverdeling.model.solve import solve

    monkeypatch.setattr(st, "KEEP_ROW_GROUPS", True)
    spec = grouped_model(seed)
    opt = brute_force(spec)
    (level,) = st.find_levels(spec)
    assert not st.knapsack_losses(spec, level, _duals(spec)).any()
    sol = solve(spec, SolverOptions(mip_rel_gap=1e-6))
    assert sol.objective == pytest.approx(opt, abs=1e-6)
    assert sol.bound >= opt - 1e-6


def _enumerated_group(p: np.ndarray, steps: np.ndarray, d: np.ndarray, b: float, g: float,
                      d_s: float, lb: float, ub: float, aux: bool, units: int, per: int
                      ) -> np.ndarray:
    """Per total weight the best price of a group's choices meeting ``Σ p x + g s ≥ b`` with
    ``s ∈ [lb, ub]`` at its best value (or with no ``s``), by enumeration."""
    want = np.full(int(steps.reshape(units, per).max(axis=1).sum()) + 1, -np.inf)
    for choice in itertools.product(range(per), repeat=units):
        js = np.arange(units) * per + np.array(choice)
        cover = float(p[js].sum())
        if not aux:
            if cover < b:
                continue
            extra = 0.0
        else:
            s_min = max(lb, (b - cover) / g)
            if s_min > ub:
                continue
            extra = d_s * (ub if d_s > 0 else s_min)
        w = int(steps[js].sum())
        want[w] = max(want[w], float(d[js].sum()) + extra)
    return want


@pytest.mark.parametrize(("lb", "ub", "sign", "aux"), [
    (0.0, 4.0, -1.0, True), (0.0, 4.0, 1.0, True), (-10.0, -2.0, -1.0, True),
    (-10.0, -2.0, 1.0, True), (2.0, 2.0, -1.0, True), (0.0, 0.0, 0.0, False)])
@pytest.mark.parametrize("seed", range(12))
def test_group_table_holds_with_every_kind_of_auxiliary(seed: int, lb: float, ub: float,
                                                        sign: float, aux: bool) -> None:
    """With whole coefficients the table is the enumerated best per weight whatever the
    auxiliary's bounds (finite, negative, fixed) and the sign of its price, or with none —
    never below it, which would cut off allocations the model allows."""
    rng = np.random.default_rng(seed)
    units, per = 3, 3
    cols = np.arange(units * per)
    local = np.repeat(np.arange(units), per)
    p = rng.choice(np.array([0.0, 2.0, 3.0, 5.0]), cols.size)
    g = float(rng.choice([1.0, 2.0]))
    b = float(rng.integers(3, 10)) + (g * ub if aux else 0.0)
    steps = rng.integers(0, 4, cols.size)
    d = rng.uniform(-5.0, 5.0, cols.size)
    d_s = sign * float(rng.uniform(0.2, 2.0))
    grp = row_groups.Group(0, np.arange(units), 0, cols, local, p, b, 99 if aux else None,
                           g if aux else 0.0, np.array([0]))
    want = _enumerated_group(p, steps, d, b, g, d_s, lb, ub, aux, units, per)
    res = row_groups.group_table(grp, steps, d, d_s, lb, ub, 10**6)
    if not np.isfinite(want).any():
        assert res is None
        return
    assert res is not None
    vals, best = res
    np.testing.assert_allclose(np.maximum.accumulate(vals), np.maximum.accumulate(want),
                               atol=1e-9)
    assert best == pytest.approx(want.max())


def test_a_shortfall_needed_exactly_at_a_negative_upper_bound_keeps_its_value() -> None:
    """``11 x_A + 22 x_B + s ≥ 6``, ``s ∈ [−10, −5]``, price of ``s`` −0.1: column A (price
    10) needs ``s = −5``, its upper bound, worth 10 + 0.5 = 10.5; column B (price 0) lets
    ``s = −10``, worth 1. The group's best is 10.5 (by hand); taking A as out of bounds would
    give 1, a bound below an allocation the row allows."""
    grp = row_groups.Group(0, np.arange(1), 0, np.arange(2), np.zeros(2, int),
                           np.array([11.0, 22.0]), 6.0, 99, 1.0, np.array([0]))
    res = row_groups.group_table(grp, np.zeros(2, np.int64), np.array([10.0, 0.0]), -0.1,
                                 -10.0, -5.0, 10)
    assert res is not None
    vals, best = res
    assert vals.tolist() == pytest.approx([10.5])
    assert best == pytest.approx(10.5)


def test_a_unit_with_every_choice_beyond_the_weight_range_leaves_only_the_heavier_option(
) -> None:
    """One unit whose columns weigh 3 and 5 steps (prices 2 and 4, both meeting the row),
    tabulated up to 2 steps: no choice weighs 0-2, and the option of weight 3 bounds both
    with the better price, 4 (by hand)."""
    grp = row_groups.Group(0, np.arange(1), 0, np.arange(2), np.zeros(2, int),
                           np.array([1.0, 1.0]), 1.0, None, 0.0, np.array([0]))
    res = row_groups.group_table(grp, np.array([3, 5]), np.array([2.0, 4.0]), 0.0, 0.0, 0.0,
                                 2)
    assert res is not None
    vals, best = res
    assert vals.tolist() == [-np.inf, -np.inf, -np.inf, 4.0]
    assert best == 4.0


def test_a_levels_kept_structure_gives_the_bounds_of_a_fresh_level() -> None:
    """The rows, regions and groups a level keeps per model (the same for every node and every
    price vector) give exactly the curves a level without them computes: under several duals,
    over the level's nodes, with a group's auxiliary unbounded below (then no group), on a
    model with one more row (its own entry) and back; each curve above the best integer
    solution of its interval; the kept arrays read-only and at most STRUCTURE_CACHE_SIZE
    models kept."""
    from ruimteverdeling.model.spec import RowBlock

    for seed in range(8):
        spec, level, y, opt, rng, j = _level_case(seed)
        loose = spec.aux_lb.copy()
        loose[spec.aux_names.index("shortfall:share")] = -np.inf
        a = rng.choice(COEFS, spec.n_x)
        extra = RowBlock("extra", "rule", sp.csr_matrix(np.r_[a, np.zeros(spec.n_cols
                                                                           - spec.n_x)]),
                         np.array([-np.inf]), np.array([float(a.sum())]))
        more = spec.with_rows(extra)
        models = [spec, _level_between(spec, j, 0.0, 0.4), _level_between(spec, j, 0.4, 2.0),
                  replace(spec, aux_lb=loose), more, _level_between(more, j, 0.1, 0.5), spec]
        for model in models:
            y_m = np.r_[y, np.zeros(model.n_rows - y.size)]
            for duals in (y_m, np.zeros_like(y_m), y_m + rng.normal(0.0, 1.0, y_m.size)):
                for groups in (True, False):
                    kept = st.knapsack_level_curve(model, level, duals, opt - 1.0,
                                                   groups=groups)
                    fresh = st.knapsack_level_curve(model, replace(level, cache=[]), duals,
                                                    opt - 1.0, groups=groups)
                    assert (kept is None) == (fresh is None)
                    if kept is None:
                        continue
                    for lo, hi in [(float(model.aux_lb[j]), float(model.aux_ub[j])),
                                   (0.0, 0.1), (0.1, 0.4), (0.4, 1.5), (1.5, np.inf)]:
                        assert kept(lo, hi) == fresh(lo, hi)
                        best = brute_force(_level_between(model, j, lo, hi))
                        assert kept(lo, hi) >= best - 1e-7
        assert 1 <= len(level.cache) <= st.STRUCTURE_CACHE_SIZE
        weight, _ = st._level_regions(spec, level)
        with pytest.raises(ValueError):
            weight[0] = 1.0
