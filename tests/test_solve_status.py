"""The solve's status: optimal exactly when the allocation is proven optimal, with the
solvers' round-off in the bound not mistaken for an open gap."""

from __future__ import annotations

import numpy as np
import pytest

from ruimteverdeling.model import solve as solve_mod
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from tiny_models import brute_force, random_model


@pytest.mark.parametrize("seed", range(12))
def test_a_proven_optimum_is_called_optimal_at_zero_gap(seed: int) -> None:
    """With ``mip_rel_gap = 0`` the engine finds the brute-force optimum of every tiny
    model; a bound that exceeds it only by the LP's round-off must not leave it 'feasible'."""
    spec = random_model(seed)
    sol = solve_mod.solve(spec, SolverOptions(mip_rel_gap=0.0))
    best = brute_force(spec)
    assert sol.objective == pytest.approx(best, abs=1e-9)
    assert sol.bound >= best - 1e-9
    assert sol.status == "optimal"


def test_a_gap_beyond_round_off_is_not_called_optimal() -> None:
    """The round-off allowance closes nothing larger than itself."""
    spec = random_model(0)
    best = brute_force(spec)
    sol = solve_mod.solve(spec, SolverOptions(mip_rel_gap=0.0))
    x = sol.x
    assert x is not None
    options = SolverOptions(mip_rel_gap=0.0)
    backend = HighsBackend()
    tol = solve_mod.numeric_gap(best)
    for extra, status in ((0.5 * tol, "optimal"), (3.0 * tol, "feasible"),
                          (1e-3, "feasible")):
        out = solve_mod._finish(spec, options, np.array(x), best, best + extra, "probe",
                                backend, {}, {}, None)
        assert out.status == status, extra


@pytest.mark.parametrize("seed", range(12))
def test_the_window_first_step_runs_only_on_a_knapsack_bound_below_round_off(seed: int) -> None:
    """At a zero gap the stand-in incumbent is the strengthened LP bound itself; the level
    window is repaired before the root vertex only where the whole-cell knapsack bound lies
    below that bound by more than round-off (a curve equal to it must not count as below
    because it reads a few 1e-16 lower)."""
    spec = random_model(seed)
    sol = solve_mod.solve(spec, SolverOptions(mip_rel_gap=0.0))
    first = sol.details.get("window_first")
    if first is None:
        return  # no level, or no knapsack curve
    lp_bound, kb = first["stand_in"], float(first["knapsack_bound"])
    assert first["run"] == (kb < lp_bound - solve_mod.numeric_gap(lp_bound))
