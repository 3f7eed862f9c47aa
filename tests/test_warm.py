"""Warm-started re-solves and the proven bracket of a rule cost, against enumeration.

The tiny models (four units, three uses, covering, capacity, mixed and minimax rows) are
solved to optimality by enumerating every allocation (``tiny_models.brute_force``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from ruimteverdeling.analysis.rule_costs import Outcome, bracket
from ruimteverdeling.errors import SolverError
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import solve
from ruimteverdeling.model.spec import ModelSpec, RowBlock
from ruimteverdeling.model.warm import mapped_basis, mapped_x, warm_start
from tiny_models import allocations, aux_intervals, brute_force, feasible_values, random_model

EXACT = SolverOptions(mip_rel_gap=1e-6, time_limit=60)
SEEDS = range(8)


def _with_row(spec: ModelSpec, name: str, vec: np.ndarray, lo: float, hi: float) -> ModelSpec:
    return spec.with_rows(RowBlock(name, "rule", sp.csr_matrix(vec.reshape(1, -1)),
                                   np.array([lo]), np.array([hi])))


def _variants(spec: ModelSpec, seed: int) -> list[tuple[str, ModelSpec]]:
    """What the analyses change: a rule's rows dropped, an ε row added (a Pareto point), the
    objective replaced (a criterion), a column closed (a zone rule switched on)."""
    rng = np.random.default_rng(100 + seed)
    out = [("rule dropped", replace(spec, coupling=[b for b in spec.coupling
                                                   if b.name != "cap"]))]
    value = np.zeros(spec.n_cols)
    value[: spec.n_x] = spec.term("value").coef[: spec.n_x]
    best = brute_force(replace(spec, obj=value, obj_offset=0.0))
    out.append(("epsilon row", _with_row(spec, "eps", value, 0.8 * best, np.inf)))
    obj = spec.obj.copy()
    obj[: spec.n_x] = rng.uniform(0.0, 3.0, spec.n_x)
    out.append(("objective swapped", replace(spec, obj=obj)))
    closed = np.zeros(spec.n_cols)
    closed[int(rng.integers(0, spec.n_x))] = 1.0
    out.append(("column closed", _with_row(spec, "close", closed, -np.inf, 0.0)))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_warm_resolve_gives_the_same_optimum_as_a_cold_one(seed: int) -> None:
    """Every variant, solved cold and warm-started from the base model's solve, reaches the
    enumerated optimum; an infeasible variant is infeasible both ways."""
    spec = random_model(seed)
    base = solve(spec, EXACT)
    assert base.objective == pytest.approx(brute_force(spec), abs=1e-6)
    assert base.warm is not None and base.warm.basis is not None
    for what, var in _variants(spec, seed):
        opt = brute_force(var)
        if not np.isfinite(opt):
            continue
        cold = solve(var, EXACT)
        warm = solve(var, EXACT, warm=base.warm)
        assert cold.objective == pytest.approx(opt, abs=1e-6), what
        assert warm.objective == pytest.approx(opt, abs=1e-6), what
        assert warm.status == cold.status, what
        assert warm.bound >= opt - 1e-6 and cold.bound >= opt - 1e-6, what


@pytest.mark.parametrize("seed", SEEDS)
def test_warm_basis_of_the_same_model_needs_no_simplex_iteration(seed: int) -> None:
    spec = random_model(seed)
    first = solve(spec, EXACT)
    again = solve(spec, EXACT, warm=first.warm)
    assert again.details["start_basis"] == "warm"
    assert again.details["lp_iterations"]["simplex"] == 0
    assert again.details["lp_bound"] == pytest.approx(first.details["lp_bound"], abs=1e-9)


def test_mapped_allocation_follows_cells_and_uses() -> None:
    """Columns are matched by (cell, use): a model without one unused column takes the
    allocation over; a model without a chosen column cannot (that cell needs another use)."""
    spec = random_model(0)
    x = next(iter(allocations(spec)))  # every unit at its first use
    iv = aux_intervals(spec, x)
    full = np.r_[x, np.zeros(len(spec.aux_names)) if iv is None else
                 np.where(np.isfinite(iv[0]), iv[0], 0.0)]
    ws = warm_start(spec, full)
    same = mapped_x(ws, spec)
    assert same is not None and np.array_equal(same[: spec.n_x], x)
    for drop, kept in ((1, True), (0, False)):  # column 1: unused; column 0: chosen
        keep = np.ones(spec.n_x, bool)
        keep[drop] = False
        sub, _ = spec.restrict(np.ones(spec.n_units, bool), np.zeros(spec.n_cols),
                               np.r_[keep, np.ones(len(spec.aux_names), bool)])
        got = mapped_x(ws, sub)
        assert (got is not None) == kept
        if kept:
            assert np.array_equal(got[: sub.n_x], np.delete(x, drop))
    # a basis that lost a basic column is not a basis of the smaller model
    first = solve(spec, EXACT)
    b = first.warm.basis
    basic_x = int(np.flatnonzero(b.col[: spec.n_x] == 1)[0]) if (b.col[: spec.n_x] == 1).any() \
        else None
    from ruimteverdeling.model import highs_backend as hb

    codes = (hb.LOWER, hb.UPPER, hb.ZERO, hb.BASIC)
    assert mapped_basis(first.warm, spec, *codes) is not None
    if basic_x is not None:
        keep = np.ones(spec.n_x, bool)
        keep[np.flatnonzero(b.col[: spec.n_x] == hb.BASIC)[0]] = False
        sub, _ = spec.restrict(np.ones(spec.n_units, bool), np.zeros(spec.n_cols),
                               np.r_[keep, np.ones(len(spec.aux_names), bool)])
        assert mapped_basis(first.warm, sub, *codes) is None


def _feasible_values(spec: ModelSpec) -> list[float]:
    """The objective of every feasible allocation (auxiliaries at their best)."""
    return [value for _, value in feasible_values(spec)]


@pytest.mark.parametrize("seed", SEEDS)
def test_cost_bracket_contains_the_true_difference(seed: int) -> None:
    """The rule is the capacity row. For every incumbent either solve could stop at (any
    feasible allocation) and the LP relaxation's bound of each model, the bracket
    ``[z⁻_off − z⁺_on, z⁺_off − z⁻_on]`` contains the enumerated cost ``z*_off − z*_on``;
    at the optima (incumbent = bound) it is that cost exactly."""
    on_spec = random_model(seed)
    off_spec = replace(on_spec, coupling=[b for b in on_spec.coupling if b.name != "cap"])
    z_on, z_off = brute_force(on_spec), brute_force(off_spec)
    assert z_off >= z_on - 1e-9  # dropping a row never lowers the optimum
    true = z_off - z_on
    backend = HighsBackend()
    ub_on = backend.lp(on_spec, EXACT, 10).objective
    ub_off = backend.lp(off_spec, EXACT, 10).objective
    for inc_on in _feasible_values(on_spec)[:20]:
        for inc_off in _feasible_values(off_spec)[:20]:
            lo, hi = bracket(Outcome("feasible", inc_on, bound=ub_on),
                             Outcome("feasible", inc_off, bound=ub_off))
            assert lo - 1e-9 <= true <= hi + 1e-9
    lo, hi = bracket(Outcome("optimal", z_on, bound=z_on), Outcome("optimal", z_off,
                                                                    bound=z_off))
    assert lo == pytest.approx(true) and hi == pytest.approx(true)
    # the solves' own outcomes, stopped early with a loose gap, bracket it too
    loose = SolverOptions(mip_rel_gap=0.5, time_limit=60)
    s_on, s_off = solve(on_spec, loose), solve(off_spec, loose)
    lo, hi = bracket(Outcome(s_on.status, s_on.objective, bound=s_on.bound),
                     Outcome(s_off.status, s_off.objective, bound=s_off.bound))
    assert lo - 1e-9 <= true <= hi + 1e-9


def test_narrowed_gap_is_absolute_on_the_decision_value() -> None:
    """--pair-tol P asks each solve of a pair for an absolute gap of P/2: with a decision value
    of 200 points that is a relative (decision) gap of P/2/200, never looser than asked."""
    from ruimteverdeling.analysis.rule_costs import narrowed

    opts = SolverOptions(mip_rel_gap=0.01)
    out = Outcome("feasible", 1000.0, bound=1010.0, decision_value=200.0)
    assert narrowed(opts, out, 0.5).mip_rel_gap == pytest.approx(0.5 / 200.0)
    assert narrowed(opts, out, 50.0).mip_rel_gap == pytest.approx(0.01)  # already tighter
    no_sq = Outcome("feasible", -4000.0, bound=-3990.0)  # no status quo: the total gap
    assert narrowed(opts, no_sq, 2.0).mip_rel_gap == pytest.approx(2.0 / 4000.0)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_basis_is_not_reused_under_another_objective(seed: int) -> None:
    """Under a changed objective the old basis is not dual feasible: the solve starts from its
    crash basis, and reaches the enumerated optimum all the same."""
    spec = random_model(seed)
    first = solve(spec, EXACT)
    (_, swapped), = [(w, v) for w, v in _variants(spec, seed) if w == "objective swapped"]
    again = solve(swapped, EXACT, warm=first.warm)
    assert again.details["start_basis"] == "crash"
    assert again.objective == pytest.approx(brute_force(swapped), abs=1e-6)


def test_combined_solves_keep_the_better_allocation_and_the_lower_bound() -> None:
    from ruimteverdeling.analysis.rule_costs import combined

    a = Outcome("feasible", 100.0, bound=110.0, lp_bound=112.0)
    b = Outcome("feasible", 98.0, bound=104.0, lp_bound=112.0)
    c = combined(a, b)
    assert (c.objective, c.bound) == (100.0, 104.0)
    assert combined(b, a).objective == 100.0 and combined(b, a).bound == 104.0
    assert combined(a, Outcome("infeasible")).objective == 100.0


def test_narrowing_stops_as_soon_as_the_sign_is_proven(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """A pair with bracket [−1.5, 10] and --pair-tol 1: the variant's first narrowing gives
    [−0.5, 4] (still open), the second [0.5, 2.5] — the sign is proven, so the pair stops
    there although it is wider than 1; the scenario's side (gap 1, never the larger one) is
    not re-solved, and a stage that finds nothing better never widens the bracket."""
    from types import SimpleNamespace

    from ruimteverdeling.analysis import rule_costs as rc

    script = [Outcome("feasible", 100.5, bound=104.0), Outcome("feasible", 101.5, bound=102.5)]
    calls: list[float] = []

    def fake(scenario, area, catalogue=None, warm=None, options=None, located=None):
        calls.append(options.mip_rel_gap)
        return script[len(calls) - 1]

    monkeypatch.setattr(rc, "solve_variant", fake)
    item = SimpleNamespace(id="r", is_enabled=True)
    variant = SimpleNamespace(solver=SolverOptions(mip_rel_gap=0.01))
    base = Outcome("feasible", 100.0, bound=101.0)
    cm = SimpleNamespace(area=None, catalogue=None)
    new_base, out = rc._tighten(cm, variant, [("rule", item)], [variant], base,
                                [Outcome("feasible", 99.5, bound=110.0)], 1.0,
                                rc.silent())
    assert len(calls) == 2 and new_base is base
    lo, hi = bracket(new_base, out[0])
    assert (lo, hi) == pytest.approx((0.5, 2.5))
    # a stage whose solve is worse on both counts leaves the pair as it was
    script[:] = [Outcome("feasible", 99.0, bound=111.0)] * 3
    calls.clear()
    _, out = rc._tighten(cm, variant, [("rule", item)], [variant], base,
                         [Outcome("feasible", 99.5, bound=110.0)], 1.0, rc.silent())
    assert (out[0].objective, out[0].bound) == (99.5, 110.0) and len(calls) == 3


@pytest.mark.parametrize("seed", SEEDS)
def test_lagrangian_bound_from_the_scenarios_duals_bounds_the_variant(seed: int) -> None:
    """At the LP's own duals the Lagrangian bound is the LP optimum; mapped onto the variant
    without the capacity row (its dual dropped) it is still an upper bound on the variant's
    enumerated optimum, and the scenario's optimum is an allocation of the variant: the
    fallback bracket of a variant whose own solve stopped holds the true cost."""
    from ruimteverdeling.analysis.rule_costs import Fallback, lagrangian_bound, mapped_duals

    spec = random_model(seed)
    lp = HighsBackend().lp(spec, EXACT, 10)
    assert lagrangian_bound(spec, np.asarray(lp.row_dual)) == pytest.approx(lp.objective,
                                                                            abs=1e-6)
    first = solve(spec, EXACT)
    (_, dropped), = [(w, v) for w, v in _variants(spec, seed) if w == "rule dropped"]
    fb = Fallback(warm_start(spec, first.x), np.asarray(lp.row_dual, float))
    bound = lagrangian_bound(dropped, mapped_duals(fb, dropped))
    z_off = brute_force(dropped)
    assert bound >= z_off - 1e-6
    x = mapped_x(fb.allocation, dropped)
    assert x is not None and not dropped.violations(x)
    lo, hi = bracket(Outcome("optimal", first.objective, bound=first.bound),
                     Outcome("feasible", dropped.objective_value(x), bound=bound))
    assert lo - 1e-9 <= z_off - brute_force(spec) <= hi + 1e-9


def _quick_variants(spec: ModelSpec, seed: int, warm: Any
                    ) -> Iterator[tuple[str, ModelSpec, float, Any]]:
    """Each feasible variant of ``spec`` with its enumerated optimum and its quick re-solve
    from ``warm`` (a variant the quick re-solve finds no allocation for is left out: the
    caller runs the full solve there)."""
    from ruimteverdeling.model.warm import resolve

    for what, var in _variants(spec, seed):
        opt = brute_force(var)
        if not np.isfinite(opt):
            continue
        try:
            quick = resolve(var, EXACT, warm)
        except SolverError:
            continue
        yield what, var, opt, quick


@pytest.mark.parametrize("seed", SEEDS)
def test_quick_resolve_brackets_the_enumerated_optimum(seed: int) -> None:
    """The quick re-solve of every variant: its allocation meets every row, its objective is
    that allocation's, its bound is the variant's own LP optimum, and the enumerated optimum
    lies between the two; called optimal only when the two meet (within the gap asked)."""

    spec = random_model(seed)
    base = solve(spec, EXACT)
    backend = HighsBackend()
    for what, var, opt, quick in _quick_variants(spec, seed, base.warm):
        assert not var.violations(quick.x), what
        assert quick.objective == pytest.approx(var.objective_value(quick.x), abs=1e-9), what
        assert quick.bound == pytest.approx(max(backend.lp(var, EXACT, 10).objective,
                                                quick.objective), abs=1e-6), what
        assert quick.objective - 1e-6 <= opt <= quick.bound + 1e-6, what
        if quick.status == "optimal":
            assert quick.objective == pytest.approx(opt, abs=1e-5), what


@pytest.mark.parametrize("seed", SEEDS)
def test_quick_cost_bracket_contains_the_true_difference(seed: int) -> None:
    """The capacity row switched off, priced by the quick re-solve from the scenario's exact
    solve: the bracket holds the enumerated cost, and the LP cost is the exact difference of
    the two LP relaxations."""
    from ruimteverdeling.model.warm import resolve

    on_spec = random_model(seed)
    off_spec = replace(on_spec, coupling=[b for b in on_spec.coupling if b.name != "cap"])
    true = brute_force(off_spec) - brute_force(on_spec)
    base = solve(on_spec, EXACT)
    quick = resolve(off_spec, EXACT, base.warm, base.details["lp_bound"])
    lo, hi = bracket(Outcome(base.status, base.objective, bound=base.bound),
                     Outcome(quick.status, quick.objective, bound=quick.bound))
    assert lo - 1e-9 <= true <= hi + 1e-9
    backend = HighsBackend()
    lp_cost = backend.lp(off_spec, EXACT, 10).objective - backend.lp(on_spec, EXACT,
                                                                     10).objective
    assert quick.details["lp_bound"] - base.details["lp_bound"] == pytest.approx(lp_cost,
                                                                                abs=1e-6)
    # dropping a row keeps the scenario's allocation feasible: never worse than it
    assert quick.objective >= base.objective - 1e-9


def test_quick_resolve_of_an_integral_relaxation_is_exact() -> None:
    """Without coupling rows the LP vertex is integral (each unit takes its best use): the
    quick re-solve returns it as the proven optimum, bound = objective = enumeration."""
    from ruimteverdeling.model.warm import resolve

    spec = random_model(0)
    free = replace(spec, coupling=[], obj=np.r_[spec.obj[: spec.n_x],
                                                np.zeros(spec.n_cols - spec.n_x)],
                   aux_ub=np.zeros(spec.n_cols - spec.n_x))
    base = solve(spec, EXACT)
    quick = resolve(free, EXACT, base.warm)
    assert quick.status == "optimal"
    assert quick.objective == pytest.approx(brute_force(free), abs=1e-9)
    assert quick.bound == pytest.approx(quick.objective, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_a_basis_is_reused_when_few_costs_change(seed: int) -> None:
    """One column's cost changed (of 12): the quick re-solve may start from the old basis
    (a share of 1/12 ≤ the threshold); the whole objective swapped: it may not."""
    from ruimteverdeling.model import highs_backend as hb

    spec = random_model(seed)
    first = solve(spec, EXACT)
    obj = spec.obj.copy()
    obj[0] += 0.5
    one = replace(spec, obj=obj)
    codes = (hb.LOWER, hb.UPPER, hb.ZERO, hb.BASIC)
    assert mapped_basis(first.warm, one, *codes) is None  # the full solve's rule
    assert mapped_basis(first.warm, one, *codes, 0.5) is not None
    (_, swapped), = [(w, v) for w, v in _variants(spec, seed) if w == "objective swapped"]
    assert mapped_basis(first.warm, swapped, *codes, 0.5) is None


def test_quick_resolve_leaves_a_model_that_needs_column_generation_to_the_full_solve(
        ) -> None:
    """Above ``decompose_above`` columns the LP needs the full solve's column generation: the
    quick re-solve says so (SolverError, on which every caller runs the full solve)."""
    from ruimteverdeling.model.warm import resolve

    spec = random_model(0)
    base = solve(spec, EXACT)
    with pytest.raises(SolverError, match="column generation"):
        resolve(spec, EXACT.model_copy(update={"decompose_above": spec.n_x - 1}), base.warm)


def test_the_repair_stops_within_the_tolerance_or_at_its_budget_never_without_an_allocation(
) -> None:
    """The repair's stop test, on hand-set numbers (status quo 0, so the tolerance is
    ``rel_gap · z``): 1 % of 1,000 is 10 points."""
    from ruimteverdeling.model.warm import RepairStop

    stop = RepairStop(0.01, lp_bound=1_020.0, status_quo=0.0, budget=4)
    assert not stop(-np.inf, np.inf)  # no allocation yet
    assert not stop(1_000.0, 1_015.0)  # 15 points from its own bound, 20 from the LP's
    assert stop(1_000.0, 1_009.0)  # within 10 points of its own dual bound
    assert stop.checks == 3
    near = RepairStop(0.01, lp_bound=1_009.0, status_quo=0.0, budget=100)
    assert near(1_000.0, np.inf)  # within 10 points of the variant's LP bound
    late = RepairStop(0.01, lp_bound=2_000.0, status_quo=0.0, budget=2)
    assert not late(1_000.0, 1_500.0)
    assert late(1_000.0, 1_500.0)  # the budget reached, with an allocation
    empty = RepairStop(0.01, lp_bound=2_000.0, status_quo=0.0, budget=1)
    assert not empty(-np.inf, 1_500.0) and not empty(-np.inf, 1_500.0)  # runs on, capped


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_no_repair_when_the_warm_allocation_is_already_within_the_tolerance(seed: int
                                                                             ) -> None:
    """Under a decision tolerance wide enough to hold the variant's whole LP gap, the quick
    re-solve keeps the warm allocation without a repair MIP; the enumerated optimum still
    lies in its bracket."""
    from ruimteverdeling.model.warm import resolve

    on_spec = random_model(seed)
    off_spec = replace(on_spec, coupling=[b for b in on_spec.coupling if b.name != "cap"])
    base = solve(on_spec, EXACT)
    exact = resolve(off_spec, EXACT, base.warm)
    assert exact.details["repair_status"] == "optimal"  # the exact tolerance repairs
    loose = EXACT.model_copy(update={"mip_rel_gap": 10.0})
    quick = resolve(off_spec, loose, base.warm)
    assert quick.details["repair_status"] == "not needed"
    assert quick.objective - 1e-6 <= brute_force(off_spec) <= quick.bound + 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_a_repair_cut_by_its_cap_in_seconds_says_so(seed: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair stops by its budget of checks; its cap in seconds is only a safety net. When
    the net cuts it (HiGHS reports its time limit, here before any allocation), the re-solve
    says so — status ``time_limit``, the repair named in ``time_limit_cut`` — and keeps the
    warm allocation with its proven bracket; a repair that stops by itself is not so marked."""
    from ruimteverdeling.model.warm import resolve

    on_spec = random_model(seed)
    off_spec = replace(on_spec, coupling=[b for b in on_spec.coupling if b.name != "cap"])
    base = solve(on_spec, EXACT)
    free = resolve(off_spec, EXACT, base.warm)
    assert free.details["repair_status"] == "optimal"
    assert free.status != "time_limit" and "time_limit_cut" not in free.details
    real = HighsBackend.mip

    def clocked_out(self: Any, *args: Any, **kwargs: Any) -> Any:
        return replace(real(self, *args, **kwargs), status="time_limit", x=None)

    monkeypatch.setattr(HighsBackend, "mip", clocked_out)
    cut = resolve(off_spec, EXACT, base.warm)
    assert cut.status == "time_limit" and cut.details["time_limit_cut"] == ["repair"]
    assert cut.objective - 1e-6 <= brute_force(off_spec) <= cut.bound + 1e-6
    assert cut.objective <= free.objective + 1e-9


def test_a_switched_on_repair_cut_by_its_cap_in_seconds_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for the repair of the scenario's allocation under a rule switched on (a column
    the scenario chose closed): cut by its cap in seconds after it found an allocation, it
    is ``time_limit`` unless its gap is proven; its bracket holds the enumerated optimum.
    (Over every chosen column of every seed's model whose repair neighbourhood is feasible.)"""
    from ruimteverdeling.model.warm import repaired

    real = HighsBackend.mip

    def clocked_out(self: Any, *args: Any, **kwargs: Any) -> Any:
        return replace(real(self, *args, **kwargs), status="time_limit")

    loose = 1e9  # a valid bound that no allocation proves: the gap stays open
    checked = 0
    for seed in SEEDS:
        spec = random_model(seed)
        base = solve(spec, EXACT)
        for col in np.flatnonzero(np.asarray(base.x[: spec.n_x]) > 0.5):
            closed = np.zeros(spec.n_cols)
            closed[int(col)] = 1.0
            variant = _with_row(spec, "close", closed, -np.inf, 0.0)
            try:
                free = repaired(variant, EXACT, base.warm, loose)
            except SolverError:
                continue  # the neighbourhood holds no allocation: nothing to cut
            assert free.status == "feasible" and "time_limit_cut" not in free.details
            with monkeypatch.context() as m:
                m.setattr(HighsBackend, "mip", clocked_out)
                cut = repaired(variant, EXACT, base.warm, loose)
            assert cut.status == "time_limit" and cut.details["time_limit_cut"] == ["repair"]
            assert cut.objective - 1e-6 <= brute_force(variant) <= cut.bound
            checked += 1
    assert checked >= 3


def _derived(spec: ModelSpec) -> object:
    from ruimteverdeling.model import strengthen as st

    return (spec, st.candidates(spec))


@pytest.mark.parametrize("seed", SEEDS)
def test_derived_rows_of_a_rule_switched_off_or_changed_are_not_kept(seed: int) -> None:
    """A variant keeps the scenario's derived rows only from the blocks it holds unchanged:
    none from the dropped or changed capacity row, all from the others."""
    from ruimteverdeling.model.warm import valid_cuts

    spec = random_model(seed)
    ws = warm_start(spec, np.zeros(spec.n_cols))
    ws.cuts = _derived(spec)  # type: ignore[assignment]
    cands = ws.cuts[1]  # type: ignore[index]
    from_cap = [s for s in cands.source if s.startswith("cap:")]
    others = cands.n_rows - len(from_cap)
    dropped = replace(spec, coupling=[b for b in spec.coupling if b.name != "cap"])
    changed = replace(spec, coupling=[replace(b, upper=b.upper + 1.0) if b.name == "cap"
                                      else b for b in spec.coupling])
    for var in (dropped, changed):
        kept = valid_cuts(ws, var)
        if others == 0:
            assert kept is None
            continue
        assert kept.n_rows == others
        assert not any(s.startswith("cap:") for s in kept.source)
    same = valid_cuts(ws, replace(spec, obj=spec.obj * 2.0))  # the objective plays no part
    assert (same is None) == (cands.n_rows == 0)
    if same is not None:
        assert same.n_rows == cands.n_rows
    wider = replace(spec, aux_lb=spec.aux_lb - 1.0)  # other auxiliary bounds
    assert np.isfinite(spec.aux_lb).any()
    assert valid_cuts(ws, wider) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_quick_resolve_with_derived_rows_still_brackets_the_enumerated_optimum(
        seed: int) -> None:
    """With the scenario's still-valid derived rows the quick re-solve's bound lies between
    the enumerated optimum and the variant's own LP optimum, which stays its ``lp_bound``;
    on every one of these models some variant's bound is narrower than its LP's."""

    spec = random_model(seed)
    base = solve(spec, EXACT)
    base.warm.cuts = _derived(spec)
    backend = HighsBackend()
    narrowed = False
    for what, var, opt, quick in _quick_variants(spec, seed, base.warm):
        lp = backend.lp(var, EXACT, 10).objective
        assert not var.violations(quick.x), what
        assert quick.objective - 1e-6 <= opt <= quick.bound + 1e-6, what
        assert quick.bound <= max(lp, quick.objective) + 1e-6, what
        assert quick.details["lp_bound"] == pytest.approx(lp, abs=1e-6), what
        narrowed |= quick.bound < lp - 1e-6
    assert narrowed


@pytest.mark.parametrize("seed", SEEDS)
def test_derived_bound_from_the_scenarios_derived_duals_bounds_every_variant(seed: int
                                                                            ) -> None:
    """The Lagrangian and whole-cell knapsack bound at the duals of the scenario's LP with its
    derived rows, taken over to each variant with the derived rows that hold there, bounds
    the variant's enumerated optimum; on the scenario itself it is at most its LP optimum."""
    from types import SimpleNamespace

    from ruimteverdeling.analysis.rule_costs import Fallback, derived_bound, derived_duals

    spec = random_model(seed)
    base = solve(spec, EXACT)
    ws = base.warm
    ws.cuts = _derived(spec)
    fb = Fallback(warm_start(spec, base.x), np.asarray(base.row_dual, float))
    fb.derived_dual = derived_duals(SimpleNamespace(spec=spec), ws, EXACT)
    assert fb.derived_dual is not None
    lp = HighsBackend().lp(spec, EXACT, 10).objective
    assert derived_bound(spec, fb, ws, base.objective) <= lp + 1e-6
    for what, var in [("scenario", spec), *_variants(spec, seed)]:
        values = _feasible_values(var)
        if not values:
            continue
        bound = derived_bound(var, fb, ws, min(values))
        assert np.isfinite(bound), what
        assert bound >= max(values) - 1e-6, what
    # the rule dropped keeps the objective: with a zero derived dual on its row the bound is
    # the scenario's own, computed once and reused
    (_, dropped), = [(w, v) for w, v in _variants(spec, seed) if w == "rule dropped"]
    values = _feasible_values(dropped)
    first = derived_bound(dropped, fb, ws, min(values), same_objective=True)
    again = derived_bound(dropped, fb, ws, min(values), same_objective=True)
    assert first >= max(values) - 1e-6
    assert again == pytest.approx(first)
