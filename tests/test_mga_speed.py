"""The near-optimal re-solves of an MGA sequence on one kept LP, against enumeration.

The tiny models (``tiny_models``: four units, three uses, covering, capacity, mixed and
minimax rows) are solved by enumerating every allocation. A sequence of Hop-Skip-Jump solves
(objective floor, least overlap, a no-good row per allocation found) runs on one
:class:`NearOptimalSession`; each must bracket the enumerated optimum of its own model, and
its bound must be the LP of that model — so the rows the rounding tightened were restored.
"""

from __future__ import annotations

import numpy as np
import pytest

from ruimteverdeling.errors import InfeasibleError, SolverError
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import decision_gap
from ruimteverdeling.model.solve import solve
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from ruimteverdeling.model.warm_mga import (
    NearOptimalSession,
    closed,
    floor_crash_basis,
    neighbourhood,
    spec_with,
)
from tiny_models import brute_force, random_model

EXACT = SolverOptions(mip_rel_gap=1e-6, time_limit=60)
SEEDS = range(8)


def _no_good(spec: ModelSpec, x: np.ndarray, name: str) -> tuple:
    vec = np.zeros(spec.n_cols)
    vec[spec.unit_choice(x)] = 1.0
    return (name, vec, -np.inf, spec.n_units - 1.0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("slack", [0.1, 0.4])
@pytest.mark.parametrize("floor_name", [None, "floor"])
def test_session_brackets_each_enumerated_optimum(seed: int, slack: float,
                                                  floor_name: str | None) -> None:
    spec = random_model(seed)
    value = np.zeros(spec.n_cols)
    value[: spec.n_x] = spec.obj[: spec.n_x]  # the floor over the binaries (one aux a row)
    x_star = solve(spec, EXACT).x
    lo = float(value @ x_star) - slack * abs(float(value @ x_star))
    floor = ("floor", value, lo, np.inf)
    session = NearOptimalSession(spec, EXACT)
    used = x_star[: spec.n_x] > 0.5
    rows = [floor, _no_good(spec, x_star, "not_0")]
    seen = [spec.unit_choice(x_star)]
    backend = HighsBackend()
    for k in range(1, 4):
        obj = 1e-3 * spec.obj.copy()
        obj[: spec.n_x] -= used
        model = spec_with(spec, obj, 0.0, rows)
        opt = brute_force(model)
        try:
            sol = session.solve(obj, rows, floor=floor_name)
        except InfeasibleError:
            assert not np.isfinite(opt), (k, "called infeasible but an allocation exists")
            return
        except SolverError:  # nothing found quickly: the caller runs the full solve
            return
        assert np.isfinite(opt)
        assert not model.violations(sol.x), k
        assert sol.objective == pytest.approx(model.objective_value(sol.x), abs=1e-9)
        lp = backend.lp(model, EXACT, 10).objective
        assert sol.bound == pytest.approx(max(lp, sol.objective), abs=1e-6), k
        assert sol.objective - 1e-6 <= opt <= sol.bound + 1e-6, k
        if sol.status == "optimal":
            assert sol.objective == pytest.approx(opt, abs=1e-5)
        choice = spec.unit_choice(sol.x)
        assert not any(np.array_equal(choice, s) for s in seen)  # a new allocation
        seen.append(choice)
        used |= sol.x[: spec.n_x] > 0.5
        rows = [*rows, _no_good(spec, sol.x, f"not_{k}")]


def test_neighbourhood_frees_the_fractional_units_and_the_cheapest_others() -> None:
    """Units 0..3 with three columns each; unit 1 is fractional; the LP solution's other
    columns have reduced costs 5, 4 | -, - | 0.5, 2 | 3, 1: with two units to free, unit 1 and
    unit 2 (cheapest other column 0.5); with three, unit 3 (1) too."""
    spec = random_model(0)
    x = np.zeros(spec.n_cols)
    x[[0, 3, 4, 6, 9]] = [1.0, 0.5, 0.5, 1.0, 1.0]
    d = np.zeros(spec.n_cols)
    d[[1, 2, 7, 8, 10, 11]] = [5.0, -4.0, 0.5, 2.0, -3.0, 1.0]
    frac = np.array([False, True, False, False])
    assert neighbourhood(spec, x, d, frac, 2).tolist() == [False, True, True, False]
    assert neighbourhood(spec, x, d, frac, 3).tolist() == [False, True, True, True]
    assert neighbourhood(spec, x, None, frac, 3).tolist() == frac.tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_session_switches_rows_between_solves(seed: int) -> None:
    """A Pareto-like sequence on one session: an ε row on the value at falling levels, each
    point followed by a solve under another objective with a second row; a row not named in
    a solve is off in it. Each solve's bound is its own model's LP, and the enumerated optimum
    lies between objective and bound; a known allocation that meets the rows is never lost."""
    spec = random_model(seed)
    rng = np.random.default_rng(7 + seed)
    value = np.zeros(spec.n_cols)
    value[: spec.n_x] = spec.term("value").coef[: spec.n_x]
    other = np.zeros(spec.n_cols)
    other[: spec.n_x] = rng.uniform(0.0, 2.0, spec.n_x)
    top = brute_force(spec_with(spec, value, 0.0, []))
    session = NearOptimalSession(spec, EXACT)
    backend = HighsBackend()
    prev = solve(spec, EXACT).x
    for share in (0.9, 0.7, 0.5):
        eps = ("eps", value, share * top, np.inf)
        for obj, rows in ((other, [eps]),
                          (spec.obj, [eps, ("other", other, float(other @ prev) - 1.0, np.inf)])):
            model = spec_with(spec, obj, 0.0, rows)
            opt = brute_force(model)
            try:
                sol = session.solve(obj, rows, incumbents=[prev])
            except InfeasibleError:
                assert not np.isfinite(opt)
                continue
            except SolverError:
                continue
            assert not model.violations(sol.x)
            assert sol.bound == pytest.approx(max(backend.lp(model, EXACT, 10).objective,
                                                  sol.objective), abs=1e-6)
            assert sol.objective - 1e-6 <= opt <= sol.bound + 1e-6
            if not model.violations(prev):
                assert sol.objective >= model.objective_value(prev) - 1e-6
            prev = sol.x


def test_session_duals_follow_the_rows_of_the_solve() -> None:
    """The duals returned are over the scenario's rows and the solve's own rows in the order
    given, those of a cold LP of the same model (a row switched off is not among them)."""
    spec = random_model(3)
    value = np.zeros(spec.n_cols)
    value[: spec.n_x] = spec.term("value").coef[: spec.n_x]
    top = brute_force(spec_with(spec, value, 0.0, []))
    a, b = ("a", value, 0.6 * top, np.inf), ("b", -value, -np.inf, -0.2 * top)
    session = NearOptimalSession(spec, EXACT)
    session.solve(spec.obj, [a, b])
    sol = session.solve(-value, [a])
    cold = HighsBackend().lp(spec_with(spec, -value, 0.0, [a]), EXACT, 10)
    assert sol.row_dual is not None and sol.row_dual.size == spec.n_rows + 1
    assert sol.bound == pytest.approx(cold.objective, abs=1e-6)
    assert abs(sol.row_dual[-1]) == pytest.approx(abs(cold.row_dual[-1]), abs=1e-6)


def test_session_started_from_its_own_optimal_basis_needs_no_iteration() -> None:
    """A session started from the warm start of a solve of the same model and objective
    begins at that solve's optimal basis: its LP takes no simplex iteration, and its bound
    is that LP's optimum."""
    spec = random_model(5)
    first = solve(spec, EXACT)
    session = NearOptimalSession(spec, EXACT, first.warm)
    sol = session.solve(spec.obj, [])
    assert sol.details["start_basis"] == "warm"
    assert sol.details["lp_iterations"]["simplex"] == 0
    assert sol.bound == pytest.approx(max(first.details["lp_bound"], sol.objective), abs=1e-9)
    again = session.solve(spec.obj, [])
    assert again.details["start_basis"] == "session"


def _two_use_model(d: list[tuple[float, float]]) -> ModelSpec:
    units = len(d)
    b = SpecBuilder(np.repeat(np.arange(units), 2), np.tile(np.arange(2), units),
                    np.arange(units))
    b.add_term("value", "benefit", 1.0, np.array(d, float).ravel())
    return b.build()


def test_floor_crash_basis_is_the_optimal_basis_of_a_single_floor() -> None:
    """Three units, columns (keep, change): keeping is worth 1, changing 0; the floor
    ``g·x ≥ 4`` counts the changed units with g = 2, 3, 5. ``x(λ)`` changes a unit once
    ``λ·g_u > 1``: unit 2 first (λ* = 0.2), which alone reaches the floor, so unit 2 holds both
    columns in the basis, the others keep, and the floor is tight. That basis is the LP
    optimum (unit 2 changed by 4/5, value 3 − 0.8 = 2.2): no simplex iteration."""
    spec = _two_use_model([(1.0, 0.0)] * 3)
    g = np.array([0.0, 2.0, 0.0, 3.0, 0.0, 5.0])
    floor = ("floor", g, 4.0, np.inf)
    model = spec_with(spec, spec.obj, 0.0, [floor])
    basis = floor_crash_basis(model, spec.n_rows, g, 4.0)
    assert basis is not None
    assert basis.col.tolist() == [hb.BASIC, hb.LOWER, hb.BASIC, hb.LOWER, hb.BASIC, hb.BASIC]
    assert basis.row[spec.n_rows] == hb.LOWER
    assert (basis.col == hb.BASIC).sum() + (basis.row == hb.BASIC).sum() == model.n_rows
    sol = NearOptimalSession(spec, EXACT).solve(spec.obj, [floor], floor="floor")
    assert sol.details["start_basis"] == "floor crash"
    assert sol.details["lp_iterations"]["simplex"] == 0
    assert sol.bound == pytest.approx(2.2, abs=1e-9)
    assert sol.objective == pytest.approx(2.0, abs=1e-9)  # units 0, 1 kept, unit 2 changed


def test_floor_crash_basis_none_when_the_crash_meets_the_floor() -> None:
    """The crash allocation (each unit's best column) already meets the floor: no floor
    crash basis, and a floor that no allocation reaches gives none either."""
    spec = _two_use_model([(1.0, 0.0)] * 3)
    g = np.array([2.0, 0.0, 3.0, 0.0, 5.0, 0.0])
    model = spec_with(spec, spec.obj, 0.0, [("floor", g, 4.0, np.inf)])
    assert floor_crash_basis(model, spec.n_rows, g, 4.0) is None
    assert floor_crash_basis(model, spec.n_rows, g, 11.0) is None


def test_a_moved_floor_starts_again_from_its_floor_crash_basis() -> None:
    """The model of the test above, the floor moved from 4 to 7 on the same session: units 2
    (λ = 0.2) and 1 (λ = 1/3) change in turn, 5 < 7 ≤ 8, so unit 1 holds both columns and unit
    2 is changed: the LP optimum again (3 − 1 − 2/3), reached with no iteration. The same
    solve once more keeps the session's basis."""
    spec = _two_use_model([(1.0, 0.0)] * 3)
    g = np.array([0.0, 2.0, 0.0, 3.0, 0.0, 5.0])
    session = NearOptimalSession(spec, EXACT)
    session.solve(spec.obj, [("floor", g, 4.0, np.inf)], floor="floor")
    moved = session.solve(spec.obj, [("floor", g, 7.0, np.inf)], floor="floor")
    assert moved.details["start_basis"] == "floor crash"
    assert moved.details["lp_iterations"]["simplex"] == 0
    assert moved.bound == pytest.approx(3.0 - 1.0 - 2.0 / 3.0, abs=1e-9)
    assert moved.objective == pytest.approx(1.0, abs=1e-9)  # unit 0 kept, 1 and 2 changed
    again = session.solve(spec.obj, [("floor", g, 7.0, np.inf)], floor="floor")
    assert again.details["start_basis"] == "session"
    assert again.bound == pytest.approx(moved.bound, abs=1e-9)
    # a new objective under the same floor starts from its floor crash basis: keeping units
    # 0 and 1 now worth 2, unit 2 changes and unit 1 by 2/3 (2 + 2/3), again no iteration
    other = spec.obj.copy()
    other[[0, 2]] = 2.0
    new = session.solve(other, [("floor", g, 7.0, np.inf)], floor="floor")
    assert new.details["start_basis"] == "floor crash"
    assert new.details["lp_iterations"]["simplex"] == 0
    assert new.bound == pytest.approx(2.0 + 2.0 / 3.0, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_location_bound_lp_from_the_points_basis_gives_the_cold_bound(seed: int) -> None:
    """The location bound's LP of a model with cut rows appended, started from an optimal
    basis of the model without them (a Pareto point's ε LP), has the optimum of the same LP
    started from the crash basis; the cut here is ``value·x ≤`` its LP value minus one, so
    the old basis is not optimal for it (how many iterations either start takes is the
    benchmark's business)."""
    import scipy.sparse as sp

    from ruimteverdeling.model.spec import RowBlock
    from ruimteverdeling.rules.location_bound import _cell_lp

    spec = random_model(seed)
    value = np.zeros(spec.n_cols)
    value[: spec.n_x] = spec.term("value").coef[: spec.n_x]
    top = brute_force(spec_with(spec, value, 0.0, []))
    model = spec_with(spec, spec.obj, 0.0, [("eps", value, 0.5 * top, np.inf)])
    first = HighsBackend().lp(model, EXACT, 10)
    assert first.status == "optimal" and first.basis is not None
    cut = RowBlock("cut", "cut", sp.csr_matrix(value.reshape(1, -1)), np.array([-np.inf]),
                   np.array([float(value @ first.x) - 1.0]))
    work = model.with_rows(cut)
    cold = _cell_lp(work, None, EXACT, 10)
    warm = _cell_lp(work, None, EXACT, 10, first.basis)
    assert (cold is None) == (warm is None)
    if cold is not None and warm is not None:
        assert warm[0] == pytest.approx(cold[0], abs=1e-6)
        assert warm[2] is not None and cold[2] is None  # a basis back only when one was given


def test_a_point_starts_at_the_lowest_points_lp_optimum_when_it_meets_the_points_row() -> None:
    """Three units, columns (keep, change): keeping units 0 and 1 is worth 1, changing unit 2
    is worth 0.5; the ε row ``g·x ≥ lo`` counts the changed units with g = 2, 3, 5. At lo = 4
    the LP optimum changes unit 2 alone (g·x = 5: the row is slack there, reported in
    ``lp_rows``). A point at lo = 5 started from that solve's basis (as the Pareto front
    starts the points whose ε row the lowest point's LP optimum meets) takes no simplex
    iteration and has the bound of the same LP solved cold, 2.5."""
    spec = _two_use_model([(1.0, 0.0), (1.0, 0.0), (0.0, 0.5)])
    g = np.array([0.0, 2.0, 0.0, 3.0, 0.0, 5.0])
    low = NearOptimalSession(spec, EXACT).solve(spec.obj, [("eps", g, 4.0, np.inf)],
                                                floor="eps", want_basis=True)
    assert low.details["lp_rows"] == {"eps": pytest.approx(5.0, abs=1e-9)}
    assert low.warm is not None and low.warm.basis is not None
    higher = [("eps", g, 5.0, np.inf)]
    warm = NearOptimalSession(spec, EXACT, low.warm).solve(spec.obj, higher, floor="eps")
    cold = NearOptimalSession(spec, EXACT).solve(spec.obj, higher, floor="eps")
    assert warm.details["start_basis"] == "warm"
    assert warm.details["first_lp_iterations"] == 0
    assert warm.bound == pytest.approx(cold.bound, abs=1e-9)
    assert warm.bound == pytest.approx(2.5, abs=1e-9)
    assert warm.objective == pytest.approx(2.5, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_every_lp_of_the_rounds_of_margins_is_rounded(seed: int) -> None:
    """Models whose LP vertex, rounded, breaks a row and whose rounds of margins find nothing
    (the repair finds the allocation): ``rounds`` rounds re-solve the LP ``rounds`` times,
    each vertex rounded — none re-solved only to be dropped, and none at all with 0 rounds."""
    spec = random_model(seed)
    for rounds in (0, 1, 3):
        sol = NearOptimalSession(spec, EXACT).solve(spec.obj, [], rounds=rounds)
        assert sol.method == "lp+repair"
        assert sol.details.get("margin_rounds", 0) == rounds
        assert sol.details["margin_stop"] == "rounds"


def test_a_re_solve_gap_counts_as_closed_only_within_round_off() -> None:
    # a Pareto point whose criteria the status quo matches: decision value 0, so its decision
    # gap is measured against ε = 1e-6 · 1.6 M = 1.6 and one point of gap reads 62.5 %
    z, sq = 1_600_000.0, 1_600_000.0
    for gap, expected in [(1.0, False), (0.5, False), (0.001, True), (0.0, True)]:
        dgap = decision_gap(z, z + gap, sq)
        assert closed(z, z + gap, dgap, 1e-3) is expected, gap
    # round-off is 1e-6 + 1e-9 · |z| = 0.0016 here: just above it the gap is open
    assert closed(z, z + 0.0016, decision_gap(z, z + 0.0016, sq), 1e-3)
    assert not closed(z, z + 0.0017, decision_gap(z, z + 0.0017, sq), 1e-3)
    # a decision value of 10 000: one point of gap is 0.01 %, within a 0.1 % tolerance
    assert closed(z, z + 1.0, decision_gap(z, z + 1.0, z - 10_000.0), 1e-3)
    assert not closed(z, z + 20.0, decision_gap(z, z + 20.0, z - 10_000.0), 1e-3)
    # without a status-quo value the total gap decides
    assert closed(z, z + 1.0, decision_gap(z, z + 1.0, None), 1e-6)
    assert not closed(z, z + 2.0, decision_gap(z, z + 2.0, None), 1e-6)
