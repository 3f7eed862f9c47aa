"""A MIP start must never cost the better solution HiGHS found.

With a start solution and presolve on, HiGHS maps the start into the presolved model; when
presolve has fixed columns by dominance, the mapped start can be a *better* allocation than the
start itself. HiGHS then reports that better objective (and optimality) but returns the start's
columns. The instance below shows it (HiGHS 1.16): 5 cells, 3 uses, at most 2 cells of use 0 and
at least 1 cell of use 2; the start is worth 48.12, the optimum 57.54, and HiGHS with the start
returns the start while reporting 57.54. The backend must return an allocation worth the optimum.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.model.highs_backend import HighsBackend, HighsResult, build
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import ModelSpec, RowBlock

CELLS, USES = 5, 3
GAIN = np.array([[20.4, 12.46, 9.91],
                 [6.02, -14.95, 5.9],
                 [15.94, -2.23, 8.23],
                 [21.18, 8.89, -3.38],
                 [-23.44, -7.59, 1.83]])
START_USES = (0, 2, 2, 0, 1)  # feasible: use 0 twice, use 2 twice


def _spec() -> ModelSpec:
    """x[k, u] = 1 when cell k takes use u; Σ_u x[k,u] = 1; Σ_k x[k,0] ≤ 2; Σ_k x[k,2] ≥ 1;
    maximise Σ GAIN[k,u]·x[k,u]."""
    n = CELLS * USES
    col_unit = np.repeat(np.arange(CELLS), USES).astype(np.int32)
    col_use = np.tile(np.arange(USES), CELLS).astype(np.int16)
    rows = np.zeros((2, n))
    rows[0, col_use == 0] = 1.0
    rows[1, col_use == 2] = 1.0
    share = RowBlock("share", "target", sp.csr_matrix(rows), np.array([0.0, 1.0]),
                     np.array([2.0, np.inf]))
    return ModelSpec(n, col_unit, col_use, np.arange(CELLS, dtype=np.int64), [],
                     np.zeros(0), np.zeros(0), [share], [], GAIN.ravel().copy(), 0.0)


def _allocation(uses: tuple[int, ...]) -> np.ndarray:
    x = np.zeros(CELLS * USES)
    x[np.arange(CELLS) * USES + np.asarray(uses)] = 1.0
    return x


def _brute_force_optimum() -> float:
    best = -np.inf
    for uses in itertools.product(range(USES), repeat=CELLS):
        if uses.count(0) <= 2 and uses.count(2) >= 1:
            best = max(best, float(GAIN[np.arange(CELLS), uses].sum()))
    return best


def test_instance_is_the_hand_solved_one():
    assert _brute_force_optimum() == 57.54
    spec = _spec()
    start = _allocation(START_USES)
    assert not spec.violations(start, 1e-9)
    assert abs(spec.objective_value(start) - 48.12) < 1e-9


def test_start_does_not_lose_the_better_solution():
    spec = _spec()
    out = HighsBackend().mip(spec, SolverOptions(threads=1), 30.0, 0.0,
                             start=_allocation(START_USES))
    assert out.status == "optimal"
    assert out.x is not None
    assert not spec.violations(out.x, 1e-6)
    assert abs(spec.objective_value(out.x) - _brute_force_optimum()) < 1e-9
    assert out.bound is not None and abs(out.bound - 57.54) < 1e-6


def test_feasible_starts_give_the_optimum():
    """Whatever the start (every fourth feasible allocation, in lexicographic order, and the
    one above), the returned allocation is worth the brute-force optimum."""
    spec = _spec()
    best = _brute_force_optimum()
    feasible = [u for u in itertools.product(range(USES), repeat=CELLS)
                if u.count(0) <= 2 and u.count(2) >= 1]
    for uses in [*feasible[::4], START_USES]:
        out = HighsBackend().mip(spec, SolverOptions(threads=1), 30.0, 0.0,
                                 start=_allocation(uses))
        assert out.x is not None, uses
        assert abs(spec.objective_value(out.x) - best) < 1e-9, uses


def test_no_time_left_keeps_the_start_with_an_open_gap():
    """Without time for the second run the start stands, not called optimal, and the first
    run's bound is kept."""
    spec = _spec()
    x0 = _allocation(START_USES)
    first = HighsResult(status="Optimal", x=x0, objective=57.54, bound=57.54)
    status, x, bound, extra = HighsBackend._without_start(
        build(spec, integral=True), spec, first, deadline=time.perf_counter() - 1.0,
        stopped=[])
    assert status == "time_limit"
    assert x is x0
    assert bound == 57.54
    assert extra["resolved"] is False
