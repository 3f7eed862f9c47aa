"""The steps after column generation on tiny models forced through the decomposed path (a low
``decompose_above``): every allocation they return meets every row and the bound holds against
the enumerated optimum."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ruimteverdeling.model import solve as solve_module
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import solve
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from tiny_models import brute_force, feasible_values, random_model, regions_only

DECOMPOSED = {"decompose_above": 0, "decompose_sample": 2, "decompose_free_min": 2}


@pytest.mark.parametrize("make", [random_model, regions_only])
@pytest.mark.parametrize("seed", range(8))
def test_decomposed_solve_is_feasible_and_its_bound_holds(make, seed: int) -> None:
    """Column generation, then the repair and the level steps: the allocation meets every row
    and its objective is at most the enumerated optimum, which the reported bound is not
    below."""
    spec = make(seed)
    opt = brute_force(spec)
    sol = solve(spec, SolverOptions(method="auto", mip_rel_gap=0.0, **DECOMPOSED))
    assert sol.details.get("lp_algorithm") == "column generation"
    assert not spec.violations(sol.x)
    assert sol.objective <= opt + 1e-6
    assert sol.bound >= opt - 1e-6
    assert sol.objective == pytest.approx(spec.objective_value(sol.x), abs=1e-9)


def _incumbent(spec, backend, options, rank: int):
    """The feasible allocation of a tiny model ranked ``rank`` by value (0: the best; −1:
    the worst), its auxiliaries re-optimised, with the enumerated optimum."""
    ranked = sorted(feasible_values(spec), key=lambda t: -t[1])
    rank = min(rank, len(ranked) - 1)  # (a model with fewer allocations: the worst)
    x = np.concatenate([ranked[rank][0], np.zeros(spec.n_cols - spec.n_x)])
    return solve_module._polish(spec, backend, options, x, force=True), ranked[0][1]


def _exact_mip(backend, sub, options, time_limit, start, abs_gap, stop, settings=None):
    """The branch and bound run to the restricted model's optimum (no early stop, no start),
    so that its bound is as low as it can be and its allocation is its optimum."""
    return backend.mip(sub, options, time_limit, 0.0, None, abs_gap=0.0)


def _fix_and_search(spec, backend, options, x_inc, fixing=None):
    lp = backend.lp(spec, options, 10.0)
    z_inc = spec.objective_value(x_inc)
    reg = solve_module._Region(spec.aux_lb, spec.aux_ub, None, float(lp.objective),
                               [(float(lp.objective), lp.x, lp.col_dual)])
    return solve_module._region_mip(spec, spec, reg, backend, options, lambda msg: None,
                                    x_inc, x_inc, z_inc, float(lp.objective),
                                    time.perf_counter() + 30.0, fixing)


def _losses_of_the_optimum(spec, bound: float, x_opt: np.ndarray, x_inc: np.ndarray
                           ) -> np.ndarray:
    """A valid fixing input (every allocation with ``x_j = 1`` is worth at most ``bound −
    loss_j``, as the whole-cell knapsack's losses are): for the optimum's columns that the
    incumbent does not use, ``bound`` less the best allocation using them (by enumeration);
    0 (no information) for every other column."""
    best = np.full(spec.n_x, -np.inf)
    for x, value in feasible_values(spec):
        on = x > 0.5
        best[on] = np.maximum(best[on], value)
    loss = np.zeros(spec.n_x)
    own = (x_opt[: spec.n_x] > 0.5) & (x_inc[: spec.n_x] < 0.5)
    loss[own] = bound - best[own]
    return loss


def test_fixing_within_the_gap_keeps_every_better_allocation_bounded(monkeypatch) -> None:
    """Reduced-cost fixing that gives away part of the decision tolerance (columns whose every
    allocation is at most ``z_inc + slack`` are fixed too): the region's bound holds against
    the enumerated optimum, and the branch and bound's allocation meets every row and is no
    worse than the incumbent."""
    monkeypatch.setattr(solve_module, "_mip", _exact_mip)
    backend = HighsBackend()
    ran = 0
    for make in (random_model, regions_only):
        for seed in range(8):
            spec = make(seed)
            for rel_gap in (0.0, 0.05, 0.5):
                options = SolverOptions(mip_rel_gap=rel_gap)
                x_inc, opt = _incumbent(spec, backend, options, -1)
                assert not spec.violations(x_inc)
                x_new, reg_bound, info = _fix_and_search(spec, backend, options, x_inc)
                assert reg_bound >= opt - 1e-6, (make.__name__, seed, rel_gap, info)
                if info["status"] == "not run":
                    continue
                ran += 1
                assert x_new is not None
                assert not spec.violations(x_new)
                z_new = spec.objective_value(x_new)
                assert spec.objective_value(x_inc) - 1e-6 <= z_new <= opt + 1e-6
    assert ran >= 10


def test_fixing_within_the_gap_bounds_an_optimum_it_fixed_away(monkeypatch) -> None:
    """With losses that price the optimum's own columns exactly (by enumeration, against the
    LP bound), an incumbent within the tolerance of the optimum (the second best allocation,
    the tolerance 100 % of the total objective), the slack fixes a column of the optimum and
    nothing else: the restricted model's exact optimum lies below the optimum, and the
    region's bound — the incumbent plus the slack — still holds."""
    monkeypatch.setattr(solve_module, "_mip", _exact_mip)
    backend = HighsBackend()
    fixed_away = 0
    for make in (random_model, regions_only):
        for seed in range(8):
            spec = make(seed)
            options = SolverOptions(mip_rel_gap=1.0)
            x_inc, opt = _incumbent(spec, backend, options, 1)
            x_opt, _ = _incumbent(spec, backend, options, 0)
            z_lp = float(backend.lp(spec, options, 10.0).objective)
            fixing = [(z_lp, _losses_of_the_optimum(spec, z_lp, x_opt, x_inc))]
            x_new, reg_bound, info = _fix_and_search(spec, backend, options, x_inc, fixing)
            assert reg_bound >= opt - 1e-6, (make.__name__, seed, info)
            if info["status"] != "not run" and spec.objective_value(x_new) < opt - 1e-6:
                fixed_away += 1
                assert opt <= spec.objective_value(x_inc) + info["slack"] + 1e-6
    assert fixed_away >= 1


def _three_items() -> ModelSpec:
    """Three units, each idle (value 0) or built; built: A and B worth 10 with weight 10, C
    worth 11 with weight 19; total weight at most 19. By hand: the LP takes A and 0.9 of B
    (z_LP = 19, capacity price 1), the integer optimum is C alone (11), A alone is worth 10;
    C's reduced cost is 11 − 19 = −8."""
    col_unit = np.repeat(np.arange(3), 2)
    b = SpecBuilder(col_unit, np.tile(np.arange(2), 3), np.arange(3))
    b.add_term("value", "benefit", 1.0, np.array([0.0, 10.0, 0.0, 10.0, 0.0, 11.0]))
    b.add_block("cap", "rule", np.zeros(6, int), np.arange(6),
                np.array([0.0, 10.0, 0.0, 10.0, 0.0, 19.0]), 1, np.array([-np.inf]),
                np.array([19.0]))
    return b.build()


def test_fixing_uses_the_value_of_its_duals_not_a_lower_bound(monkeypatch) -> None:
    """A bound lowered after the LP (here to the optimum itself, 11, a valid bound, as a
    knapsack or MIP bound would lower it) must not be paired with the reduced costs of the
    LP (or Lagrangian) bound 19: they bound an allocation using column ``j`` by
    ``19 − |d_j|`` only. With the incumbent A (10), pairing 11 with C's reduced cost 8 would
    fix C away (8 ≥ 11 − 10); told the value 19, fixing keeps C (8 < 19 − 10) and the branch
    and bound finds the optimum."""
    monkeypatch.setattr(solve_module, "_mip", _exact_mip)
    backend = HighsBackend()
    spec = _three_items()
    options = SolverOptions(mip_rel_gap=0.0)
    values = []
    for built in np.ndindex(2, 2, 2):  # every allocation, by enumeration
        x = np.zeros(6)
        x[2 * np.arange(3) + np.array(built)] = 1.0
        if not spec.violations(x):
            values.append(spec.objective_value(x))
    assert max(values) == pytest.approx(11.0)
    lp = backend.lp(spec, options, 10.0)
    assert lp.objective == pytest.approx(19.0)
    # the Lagrangian reduced costs at the capacity price 1, as column generation gives them
    # (each unit's best column at 0, so z(x) ≤ 19 + Σ d_j x_j for every feasible x)
    d = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -8.0])
    x_inc = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    x_best, objective, bound, _ = solve_module._close_gap(
        spec, spec, [], None, backend, options, lambda msg: None, lp.x, d, x_inc,
        x_inc, 10.0, 11.0, time.perf_counter() + 30.0, {}, {}, dual_bound=19.0)
    assert not spec.violations(x_best)
    assert objective == pytest.approx(11.0)
    assert bound >= 11.0 - 1e-6


@pytest.mark.parametrize("make", [random_model, regions_only])
@pytest.mark.parametrize("seed", range(8))
def test_decomposed_solve_within_a_positive_gap(make, seed: int) -> None:
    """With a positive decision tolerance a solve called optimal is within it of the
    enumerated optimum, and its bound holds."""
    spec = make(seed)
    opt = brute_force(spec)
    rel_gap = 0.05
    sol = solve(spec, SolverOptions(method="auto", mip_rel_gap=rel_gap, **DECOMPOSED))
    assert not spec.violations(sol.x)
    assert sol.bound >= opt - 1e-6
    assert sol.objective <= opt + 1e-6
    if sol.status == "optimal":
        gap = solve_module.decision_gap(sol.objective, opt, spec.status_quo_value)
        assert gap <= rel_gap + 1e-9


def _master_rows(spec):
    """Column generation over a tiny model, then its derived rows proven by pricing again."""
    from ruimteverdeling.model import decompose, master_rows

    options = SolverOptions(mip_rel_gap=0.0, **DECOMPOSED)
    backend = HighsBackend()
    res = decompose.lp(spec, options, backend, lambda msg: None, time.perf_counter() + 10.0)
    work, out, info = master_rows.strengthened(spec, res["x"], res["y"], res["col_dual"],
                                               options, backend, lambda msg: None,
                                               time.perf_counter() + 10.0)
    return res, work, out, info


@pytest.mark.parametrize("proof", ["restricted master", "column generation"])
@pytest.mark.parametrize("seed", range(12))
def test_derived_rows_of_the_master_keep_every_allocation_and_bound_it(
        seed: int, proof: str, monkeypatch) -> None:
    """The rows added after column generation keep every integer allocation with its value
    (enumerated), and the Lagrangian bound over the strengthened model lies between the
    enumerated optimum and column generation's bound — proven over a restricted master with
    the full pricing, or (the master refused) by column generation again."""
    from ruimteverdeling.model import master_rows

    if proof == "column generation":
        monkeypatch.setattr(master_rows, "restricted_proof", lambda *a, **k: None)
    spec = random_model(seed)
    res, work, out, _ = _master_rows(spec)
    if out is None:
        assert work is spec
        return
    assert work.n_rows > spec.n_rows
    before = {x.tobytes(): v for x, v in feasible_values(spec)}
    after = {x.tobytes(): v for x, v in feasible_values(work)}
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert after[key] == pytest.approx(value, abs=1e-9)
    opt = brute_force(spec)
    assert opt - 1e-6 <= out["bound"] <= res["bound"] + 1e-6
    # its reduced costs bound every allocation: c·x ≤ L + Σ_j d_j x_j (what fixing needs)
    for x, value in feasible_values(spec):
        assert value <= out["bound"] + float(out["col_dual"][: spec.n_x] @ x) + 1e-6


def test_derived_rows_of_the_master_tighten_the_bound() -> None:
    """On tiny models whose column-generation point breaks a derived row, the strengthened
    bound lies below column generation's on some of them (the rows are not idle)."""
    lowered = 0
    for seed in range(12):
        res, _, out, _ = _master_rows(random_model(seed))
        if out is not None and out["bound"] < res["bound"] - 1e-6:
            lowered += 1
    assert lowered >= 3


def test_derived_rows_of_the_master_without_time_change_nothing() -> None:
    """With too little time left the model and the bound stay as column generation left
    them (nothing half-proven is handed on)."""
    from ruimteverdeling.model import decompose, master_rows

    spec = random_model(1)
    options = SolverOptions(mip_rel_gap=0.0, **DECOMPOSED)
    backend = HighsBackend()
    res = decompose.lp(spec, options, backend, lambda msg: None, time.perf_counter() + 10.0)
    work, out, info = master_rows.strengthened(spec, res["x"], res["y"], res["col_dual"],
                                               options, backend, lambda msg: None,
                                               time.perf_counter() + 0.5)
    assert work is spec and out is None and info == {"skipped": "time limit"}
