"""The steps after column generation on tiny models forced through the decomposed path (a low
``decompose_above``): every allocation they return meets every row and the bound holds against
the enumerated optimum."""

from __future__ import annotations

import pytest

from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import solve
from tiny_models import brute_force, random_model, regions_only

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
