"""The time limit is a wall-clock promise: a MIP returns by its limit even when HiGHS does not
reach an interrupt check (its setup phase checks rarely)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import SpecBuilder


class _DeafSolve:
    """Stands in for a HiGHS instance whose solve ignores cancelSolve for ``busy`` seconds,
    like a MIP setup between two interrupt checks."""

    def __init__(self, busy: float):
        self.busy = busy
        self.cancelled = False
        self.HandleUserInterrupt = False
        self._done = threading.Event()

    def startSolve(self) -> threading.Thread:  # noqa: N802 (highspy's name)
        t = threading.Thread(target=lambda: (time.sleep(self.busy), self._done.set()))
        t.start()
        return t

    def wait(self, timeout: float) -> tuple[bool, object]:
        return self._done.wait(timeout), "finished"

    def cancelSolve(self) -> None:  # noqa: N802
        self.cancelled = True


def test_a_solve_deaf_to_cancelling_is_abandoned_at_its_deadline() -> None:
    fake = _DeafSolve(busy=4.0)
    t0 = time.perf_counter()
    out = hb.run_highs(fake, deadline=t0 + 0.3)  # type: ignore[arg-type]
    waited = time.perf_counter() - t0
    assert out == hb.ABANDONED
    assert fake.cancelled
    assert 0.3 <= waited <= 0.3 + hb.CANCEL_GRACE + 0.5
    assert hb.solver_running()  # said, so that the command line can exit at once
    hb._join_abandoned()
    assert not hb.solver_running()


def test_a_solve_that_stops_when_cancelled_returns_its_status() -> None:
    fake = _DeafSolve(busy=0.6)  # stops within the grace period
    t0 = time.perf_counter()
    out = hb.run_highs(fake, deadline=t0 + 0.2)  # type: ignore[arg-type]
    assert out == "finished"
    assert time.perf_counter() - t0 <= 0.6 + 0.5


def _hard_mip(units: int = 3000, uses: int = 5, rows: int = 4, seed: int = 3):
    """A random assignment model with dense knapsack rows of awkward coefficients: HiGHS
    does not prove it optimal (gap 0) in a fraction of a second. Use 4 is in no row."""
    rng = np.random.default_rng(seed)
    col_unit = np.repeat(np.arange(units), uses)
    col_use = np.tile(np.arange(uses), units)
    b = SpecBuilder(col_unit, col_use, np.arange(units))
    n = col_unit.size
    b.add_term("value", "benefit", 1.0, rng.uniform(0, 10, n))
    for k in range(rows):
        a = rng.uniform(1, 7, n) * (col_use == k % uses)
        b.add_block(f"cap:{k}", "rule", np.zeros(n, int), np.arange(n), a, 1,
                    np.array([-np.inf]), np.array([0.37 * a.sum() / 2 + 0.5]))
    return b.build()


def test_a_tiny_mip_time_limit_is_respected() -> None:
    spec = _hard_mip()
    limit = 0.3
    t0 = time.perf_counter()
    r = hb.HighsBackend().mip(spec, SolverOptions(threads=1), limit, 0.0)
    wall = time.perf_counter() - t0
    assert wall <= limit + hb.CANCEL_GRACE + 0.5, wall
    assert r.status in ("time_limit", "optimal")
    hb._join_abandoned()


def test_a_mip_stopped_at_its_limit_keeps_a_feasible_start() -> None:
    """Stopped before HiGHS took the start, the start (an integer allocation within every row)
    is still returned as the incumbent; an infeasible start is not."""
    spec = _hard_mip()
    start = np.zeros(spec.n_cols)
    start[np.arange(spec.n_units) * 5 + 4] = 1.0  # use 4: in no capacity row
    backend = hb.HighsBackend()
    r = backend.mip(spec, SolverOptions(threads=1), 0.05, 0.0, start)
    hb._join_abandoned()
    assert r.x is not None and hb._feasible(spec, r.x)
    assert spec.objective_value(r.x) >= spec.objective_value(start) - 1e-9
    bad = start.copy()
    bad[4] = 0.0  # unit 0 unassigned
    assert not hb._feasible(spec, bad)


def test_a_highs_with_its_own_thread_count_does_not_break_the_next_solve() -> None:
    """HiGHS's scheduler is global and refuses a solve asking for another thread count; a
    Highs made with ``new_highs(threads=…)`` (as the location bound makes its small LPs) is
    counted, so the next solve at another count resets the scheduler and runs."""
    spec = _hard_mip(units=50, rows=1)
    for first, then in ((1, 2), (2, 1)):
        h = hb.new_highs(threads=first)
        h.passModel(hb.build(spec, integral=False).getLp())
        h.run()
        assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
        r = hb.run(hb.build(spec, integral=False, options={"threads": then}), integral=False)
        assert r.status == "Optimal", r.status


def test_a_repair_out_of_budget_retries_with_more_budget_not_only_more_units(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair's first sub-MIP may end at its budget without an allocation (not proven
    empty). The next attempt gets four times the budget (interrupt checks) and twice the
    units — not four times the units in the same budget, which grew the sub-MIP into one it
    could finish even less — and the solve still ends with an allocation."""
    from ruimteverdeling.model import solve as solve_mod

    budgets: list[int] = []
    real = solve_mod._mip

    def first_runs_out_of_budget(backend, spec, options, time_limit, start, abs_gap, stop,
                                 settings=None):
        budgets.append(stop.budget)
        r = real(backend, spec, options, time_limit, start, abs_gap, stop, settings)
        if len(budgets) == 1:  # as if the budget had run out before an allocation
            return solve_mod.MipOutcome("stopped", None, None, r.seconds, r.details)
        return r

    monkeypatch.setattr(solve_mod, "_mip", first_runs_out_of_budget)
    spec = _hard_mip(units=3000, rows=4)
    sol = solve_mod.solve(spec, SolverOptions(threads=1, time_limit=100, repair_min_units=100,
                                              repair_units_per_fractional=1))
    hb._join_abandoned()
    assert sol.x is not None and hb._feasible(spec, sol.x)
    attempts = sol.details["repair_attempts"]
    assert attempts[0]["status"] == "stopped" and len(attempts) == 2, attempts
    assert budgets == [solve_mod.REPAIR_CHECKS, 4 * solve_mod.REPAIR_CHECKS]
    u1, u2 = attempts[0]["free_units"], attempts[1]["free_units"]
    assert u2 == 2 * u1, (u1, u2)


def test_the_repair_sub_mips_of_a_small_model_run_on_one_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every repair sub-MIP is handed to HiGHS with ``threads = 1`` (its interrupt checks then
    come at points that one thread's search fixes), while the LPs keep the solve's threads."""
    from ruimteverdeling.model import solve as solve_mod

    built: list[tuple[bool, object]] = []
    real = hb.build

    def spy(spec, integral, options=None):
        built.append((integral, (options or {}).get("threads")))
        return real(spec, integral, options)

    monkeypatch.setattr(hb, "build", spy)
    spec = _hard_mip(units=600, rows=4)
    sol = solve_mod.solve(spec, SolverOptions(threads=2, time_limit=100))
    hb._join_abandoned()
    assert sol.x is not None and hb._feasible(spec, sol.x)
    assert sol.details["repair_attempts"]
    mips = [threads for integral, threads in built if integral]
    assert mips and all(t == 1 for t in mips), built
    assert all(t == 2 for integral, t in built if not integral and t is not None), built


def test_a_repair_past_its_budget_runs_on_only_while_its_incumbent_is_poor() -> None:
    """The repair MIP's budget (interrupt checks) is soft: before it, only a proven gap stops
    the run; after it, an incumbent that is not poor stops it too, while a poor or missing one
    runs on, up to ``patience`` budgets, where it stops with whatever it has."""
    from ruimteverdeling.model.stopping import PatientStop

    def proven(primal: float, dual: float) -> bool:
        return dual - primal <= 1.0

    def fair(primal: float, dual: float) -> bool:
        return np.isfinite(primal) and dual - primal <= 10.0

    stop = PatientStop(proven, fair, budget=3, patience=2)
    assert stop(0.0, 0.5)            # check 1: proven
    assert not stop(0.0, 5.0)        # check 2: fair, but within the budget
    assert stop(0.0, 5.0)            # check 3: fair, at the budget
    assert not stop(0.0, 50.0)       # check 4: poor
    assert not stop(-np.inf, 50.0)   # check 5: none
    assert stop(-np.inf, 50.0)       # check 6: past the patience
    assert stop.checks == 6


def test_the_repair_stops_at_half_the_gap_in_its_neighbourhood_or_the_whole_gap_overall(
        ) -> None:
    """Decision gaps against a status quo of 0 (so the tolerance is ``rel_gap · z``), the
    full model's bound 1000, a sub-MIP whose objective is the full model's (offset 0)."""
    from types import SimpleNamespace

    from ruimteverdeling.model.solve import _repair_stop

    spec = SimpleNamespace(status_quo_value=0.0)
    within = _repair_stop(spec, 0.01, 0.0, 1000.0, budget=1000)
    assert within(995.0, 2000.0)      # 5 below the full bound: within 1 % of 995
    assert not within(900.0, 2000.0)  # 100 below it, and its own bound is loose
    assert within(900.0, 903.0)       # 3 below its own bound: within half of 1 % of 900
    assert not within(900.0, 950.0)   # not proven yet, and the budget is not spent
    past = _repair_stop(spec, 0.01, 0.0, 1000.0, budget=1)
    assert past(900.0, 950.0)         # not poor: 50 within ten times 1 % of 900
    assert not past(900.0, 1500.0)    # poor: runs on
    assert not past(-np.inf, 1500.0)  # no incumbent yet
    # an offset: the sub-MIP's objective is the full one less 100
    shifted = _repair_stop(spec, 0.01, 100.0, 1000.0, budget=1000)
    assert shifted(895.0, 1900.0) and not shifted(800.0, 1900.0)


def test_the_window_repair_takes_the_whole_gap_in_its_neighbourhood_only_after_some_checks(
        ) -> None:
    """With ``whole_after`` checks, an incumbent within the whole decision tolerance of the
    sub-MIP's own dual bound (but not within half of it) stops the run from that check on,
    not before; without it only half the tolerance (or the budget) stops it. Status quo 0,
    so the tolerance at 900 is 9 points at 1 %."""
    from types import SimpleNamespace

    from ruimteverdeling.model.solve import _repair_stop

    spec = SimpleNamespace(status_quo_value=0.0)
    late = _repair_stop(spec, 0.01, 0.0, 2000.0, budget=1000, whole_after=3)
    assert not late(900.0, 908.0)     # check 1: 8 points, more than half the tolerance
    assert not late(900.0, 908.0)     # check 2
    assert late(900.0, 908.0)         # check 3: within the whole tolerance
    late = _repair_stop(spec, 0.01, 0.0, 2000.0, budget=1000, whole_after=1)
    assert not late(900.0, 920.0)     # 20 points: beyond the whole tolerance
    assert late(900.0, 904.0)         # within half of it: stops as ever
    never = _repair_stop(spec, 0.01, 0.0, 2000.0, budget=1000)
    assert not any(never(900.0, 908.0) for _ in range(10))
