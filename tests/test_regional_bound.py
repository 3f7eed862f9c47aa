"""The bound by regions (Lagrangian decomposition, an exact MIP per region) against brute force
on tiny models: four units, three uses, units 0-1 in region 0 and units 2-3 in region 1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ruimteverdeling.model import regional_bound as rb
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from tiny_models import UNITS, USES, brute_force, random_model, regions_only

OPTIONS = SolverOptions(time_limit=30.0, threads=1)
SOLVER = rb.highs_solver(OPTIONS)


def _lp(spec: ModelSpec) -> tuple[float, np.ndarray]:
    out = HighsBackend().lp(spec, OPTIONS, 30.0)
    assert out.status == "optimal"
    return float(out.objective), np.asarray(out.row_dual)[: spec.n_rows]


def _groups(spec: ModelSpec) -> np.ndarray:
    return rb.level_groups(spec, [("fair", 0), ("fair", 1)])


def _level_in(spec: ModelSpec, lo: float, hi: float) -> ModelSpec:
    j = spec.aux_names.index("level")
    lb, ub = spec.aux_lb.copy(), spec.aux_ub.copy()
    lb[j], ub[j] = lo, hi
    return replace(spec, aux_lb=lb, aux_ub=ub)


def test_level_groups_follow_the_rows() -> None:
    spec = random_model(0)
    assert _groups(spec).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("seed", range(12))
def test_bound_holds_every_allocation_and_is_at_most_the_lp(seed: int) -> None:
    """With the LP's duals: brute-force optimum ≤ regional bound ≤ LP bound (the national
    rows — covers, capacity, mixed — priced, each region's fairness row kept)."""
    spec = random_model(seed)
    opt = brute_force(spec)
    z_lp, y = _lp(spec)
    res = rb.regional_bound(spec, y, _groups(spec), SOLVER)
    assert res.exact
    assert res.national_rows >= 2 and res.regional_rows == 2
    assert res.bound >= opt - 1e-6
    assert res.bound <= z_lp + 1e-6 * max(1.0, abs(z_lp))


@pytest.mark.parametrize("seed", range(8))
def test_region_too_large_for_the_dominance_test_keeps_the_same_bound(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A region above the size of the dense dominance test keeps all its columns: the same
    bound (every region's MIP is exact on a tiny model), with more columns in its MIP."""
    spec = random_model(seed)
    _, y = _lp(spec)
    filtered = rb.regional_bound(spec, y, _groups(spec), SOLVER)
    monkeypatch.setattr(rb, "DOMINANCE_MAX_ENTRIES", 0)
    whole = rb.regional_bound(spec, y, _groups(spec), SOLVER)
    assert filtered.exact and whole.exact
    assert whole.bound == pytest.approx(filtered.bound, abs=1e-6 * max(1.0, abs(whole.bound)))
    assert sum(r["columns"] for r in whole.regions) >= sum(r["columns"] for r in
                                                           filtered.regions)


@pytest.mark.parametrize("seed", range(6))
def test_bound_holds_for_any_prices_and_level_interval(seed: int) -> None:
    """Random prices (a valid bound needs no optimal duals) and the level confined to an
    interval: the bound is at least the brute-force optimum of the allocations whose level
    lies in it."""
    spec = random_model(seed)
    rng = np.random.default_rng(100 + seed)
    y = np.concatenate([np.zeros(spec.n_units),
                        rng.normal(0.0, 1.0, spec.n_rows - spec.n_units)])
    for lo, hi in [(0.0, np.inf), (0.0, 0.1), (0.1, 0.4), (0.4, 2.0)]:
        part = _level_in(spec, lo, hi)
        opt = brute_force(part)
        res = rb.regional_bound(spec, y, _groups(spec), SOLVER, aux_lb=part.aux_lb,
                                aux_ub=part.aux_ub)
        assert res.bound >= opt - 1e-6, (lo, hi)


def _two_regions(seed: int) -> ModelSpec:
    """Units 0-1 and 2-3, each pair with its own covering row with a priced shortfall and its
    own capacity row: nothing couples the regions."""
    rng = np.random.default_rng(seed)
    col_unit = np.repeat(np.arange(UNITS), USES)
    n = col_unit.size
    b = SpecBuilder(col_unit, np.tile(np.arange(USES), UNITS), np.arange(UNITS))
    b.add_term("value", "benefit", 1.0, rng.uniform(0, 10, n))
    region = (col_unit >= 2).astype(int)
    for g in (0, 1):
        cols = np.flatnonzero(region == g)
        a = rng.choice(np.array([0.0, 1.0, 2.5, 3.75]), cols.size)
        s = b.add_aux(f"short:{g}", 0.0, np.inf)
        b.add_term(f"penalty:{g}", "cost", 1.0, aux={s: float(rng.uniform(1.0, 8.0))})
        b.add_block(f"cover:{g}", "target", np.zeros(cols.size + 1, int),
                    np.r_[cols, s], np.r_[a, 1.0], 1, np.array([float(rng.uniform(1, 6))]),
                    np.array([np.inf]))
        a = rng.choice(np.array([0.0, 1.0, 2.5]), cols.size)
        least = float(a.reshape(-1, USES).min(axis=1).sum())  # (feasible)
        b.add_block(f"cap:{g}", "rule", np.zeros(cols.size, int), cols, a, 1,
                    np.array([-np.inf]), np.array([least + float(rng.uniform(0, 3))]))
    return b.build()


@pytest.mark.parametrize("seed", range(8))
def test_bound_is_the_optimum_where_regions_are_uncoupled(seed: int) -> None:
    """No national row: the regions' MIPs are the whole model, so the bound is the optimum,
    whatever the prices; and their solutions together are an optimal allocation."""
    spec = _two_regions(seed)
    opt = brute_force(spec)
    group = np.array([0, 0, 1, 1])
    _, y = _lp(spec)
    for prices in (y, np.random.default_rng(seed).normal(0.0, 5.0, y.size)):
        res = rb.regional_bound(spec, prices, group, SOLVER)
        assert res.national_rows == 0
        assert res.bound == pytest.approx(opt, abs=1e-6)
    x = res.x[: spec.n_x]
    assert np.bincount(spec.col_unit, weights=x).tolist() == [1.0] * UNITS


@pytest.mark.parametrize("seed", range(6))
def test_bound_is_the_optimum_at_a_fixed_level(seed: int) -> None:
    """Regions coupled only through a minimax level: with the level fixed, the regions
    separate and the bound is the optimum at that level."""
    spec = regions_only(seed)
    _, y = _lp(spec)
    for v in (0.05, 0.2, 0.6):
        part = _level_in(spec, v, v)
        opt = brute_force(part)
        res = rb.regional_bound(spec, y, _groups(spec), SOLVER, aux_lb=part.aux_lb,
                                aux_ub=part.aux_ub)
        if np.isfinite(opt):
            assert res.bound == pytest.approx(opt, abs=1e-6 * max(1.0, abs(opt)))
        else:
            assert res.bound == -np.inf


def test_merge_joins_regions_a_row_spans() -> None:
    """A row over units 1 and 2 (regions 0 and 1) merges them; units outside a region stay
    alone unless a row joins them."""
    col_unit = np.repeat(np.arange(5), 2)
    b = SpecBuilder(col_unit, np.tile(np.arange(2), 5), np.arange(5))
    b.add_term("value", "benefit", 1.0, np.ones(10))
    b.add_block("pair", "rule", np.zeros(2, int), np.array([2, 4]), np.ones(2), 1,
                np.array([-np.inf]), np.array([1.0]))
    spec = b.build()
    merged = rb.merge_groups(spec, np.array([0, 0, 1, 1, -1]))
    assert merged[0] == merged[1] == merged[2] == merged[3] != merged[4]
    apart = rb.merge_groups(spec, np.array([0, 0, 1, 1, -1]), merge_max=1)
    assert apart[0] == apart[1] != apart[2] == apart[3]


@pytest.mark.parametrize("seed", range(6))
def test_knapsack_solver_matches_the_mip_per_region(seed: int) -> None:
    """A province under a minimax level solved by dynamic programming gives the bound HiGHS's
    MIP gives (the tiny loads are whole sixteenths: exact), for a fixed level and for
    intervals; regions of another shape go to the fallback."""
    spec = regions_only(seed)
    _, y = _lp(spec)
    calls = []

    def fallback(sub: ModelSpec, limit: float):  # type: ignore[no-untyped-def]
        calls.append(sub.n_x)
        return SOLVER(sub, limit)

    dp = rb.knapsack_solver(fallback)
    for lo, hi in [(0.05, 0.05), (0.2, 0.2), (0.0, 0.1), (0.1, 0.5), (0.3, 3.0)]:
        part = _level_in(spec, lo, hi)
        mip = rb.regional_bound(spec, y, _groups(spec), SOLVER, aux_lb=part.aux_lb,
                                aux_ub=part.aux_ub)
        fast = rb.regional_bound(spec, y, _groups(spec), dp, aux_lb=part.aux_lb,
                                 aux_ub=part.aux_ub)
        assert fast.bound == pytest.approx(mip.bound, abs=1e-6 * max(1.0, abs(mip.bound)))
        assert fast.bound >= brute_force(part) - 1e-6
    assert not calls
    spec2 = _two_regions(seed)  # a covering row with a shortfall: not a knapsack
    res = rb.regional_bound(spec2, _lp(spec2)[1], np.array([0, 0, 1, 1]), dp)
    assert res.bound == pytest.approx(brute_force(spec2), abs=1e-6)
    assert len(calls) == 2


def test_undominated_keeps_what_a_row_may_need() -> None:
    """Unit 0: column 1 earns more than column 0 and uses less of the ≤ row: column 0 goes;
    column 2 earns less but uses less: it stays. Unit 1: equal columns (the first stays), and
    one earning more but with another value in the two-sided row: both stay. Unit 2: on the
    ≥ row more is better."""
    unit = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    d = np.array([1.0, 2.0, 0.5, 3.0, 3.0, 4.0, 1.0, 1.0])
    a = np.array([[2.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0],    # ≤ 5
                  [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 0.0, 0.0],    # = 1 (two-sided)
                  [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 3.0]])   # ≥ 2
    lo = np.array([-np.inf, 1.0, 2.0])
    hi = np.array([5.0, 1.0, np.inf])
    keep = rb._undominated(unit, d, a, lo, hi)
    assert keep.tolist() == [False, True, True, True, False, True, False, True]
