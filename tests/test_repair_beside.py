"""The window repair's sub-MIP in a worker thread beside the main thread's LPs.

:func:`~ruimteverdeling.model.highs_backend.beside` runs HiGHS in a worker while the main
thread works; a Ctrl-C or an exception on either side must stop both, re-raise on the main
thread and leave no thread running. The solve runs the level window's repair that way
(``solve.REPAIR_BESIDE``) and solves meanwhile the LPs after it that do not need its
allocation (``solve._Ahead``): the result must be the one of the same work in sequence, and
the one of a solve that solves none of them ahead.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from typing import Any

import highspy
import numpy as np
import pytest

from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model import solve as solve_mod
from ruimteverdeling.model.options import SolverOptions
from tiny_models import brute_force, random_model, regions_only


@pytest.fixture(autouse=True)
def _threads_beside(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair beside in a thread whatever the machine's load (a test sets False for the
    serial path)."""
    monkeypatch.setattr(solve_mod, "REPAIR_BESIDE", True)


CASES = [(16, 0.001), (19, 0.001), (28, 0.01), (43, 0.03), (46, 0.01)]
"""Tiny models (seed, mip_rel_gap) whose window repair runs first and whose level-fixed LP
is the one solved ahead (the incumbent is at least the early curve's stand-in)."""
OTHER_CASES = [(1, 0.0), (7, 1e-4), (14, 1e-4), (24, 0.0)]
"""Tiny models (``random_model``) whose window repair runs first but whose level-fixed LP is
not the one solved ahead (the incumbent lies below the early curve's stand-in, so the step
uses a curve built for it)."""


def _market_split(rows: int = 5, cols: int = 40, seed: int = 0) -> highspy.Highs:
    """A market-split MIP (``Σ_j a_ij x_j = ⌊Σ_j a_ij / 2⌋`` over binaries, ``a`` in
    [0, 99]): a handful of rows that branch and bound needs far longer than a second for,
    so a test can cancel it while it runs."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(rows, cols)).astype(float)
    d = np.floor(a.sum(axis=1) / 2.0)
    h = hb.new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", 120.0)
    for _ in range(cols):
        h.addVar(0.0, 1.0)
    h.changeColsIntegrality(cols, np.arange(cols, dtype=np.int32),
                            np.full(cols, highspy.HighsVarType.kInteger))
    for i in range(rows):
        h.addRow(d[i], d[i], cols, np.arange(cols, dtype=np.int32), a[i])
    return h


SOLVER_THREADS = ("highs-beside", "level-prefetch", "level-search-early")
"""The names of the threads the solve starts to work beside the main thread."""


def _no_worker_left(within: float = 10.0) -> bool:
    """Whether, within ``within`` seconds, no worker thread of ``beside`` nor a thread
    solving the level search's LPs ahead is alive, and no cancelled HiGHS run is still
    stopping."""
    stop_by = time.monotonic() + within
    while True:
        if not any(t.name in SOLVER_THREADS and t.is_alive()
                   for t in threading.enumerate()) and not hb.solver_running():
            return True
        if time.monotonic() >= stop_by:
            return False
        time.sleep(0.02)


def test_beside_returns_the_workers_result_after_the_main_threads_work() -> None:
    seen: list[str] = []

    def work() -> int:
        time.sleep(0.2)
        seen.append("work")
        return 7

    assert hb.beside(work, lambda done: seen.append("meanwhile")) == 7
    assert seen == ["meanwhile", "work"]
    assert _no_worker_left(0.0)


def test_an_exception_in_the_worker_is_raised_on_the_main_thread() -> None:
    def work() -> None:
        raise ValueError("in the worker")

    done: list[bool] = []
    with pytest.raises(ValueError, match="in the worker"):
        hb.beside(work, lambda finished: done.append(True))
    assert done == [True]  # the main thread's work is not lost
    assert _no_worker_left(0.0)


@pytest.mark.parametrize("where", ["meanwhile", "waiting"])
def test_ctrl_c_stops_the_workers_highs_run_and_is_reraised(where: str) -> None:
    """A KeyboardInterrupt while the main thread works (``meanwhile``) or waits for the
    worker cancels the worker's HiGHS run (at its next interrupt check) and is re-raised
    within the grace; no thread is left, and HiGHS solves in this process as before."""
    h = _market_split()
    started = threading.Event()

    def work() -> Any:
        started.set()
        return hb.run_highs(h, time.perf_counter() + 60.0)

    def meanwhile(done: Any) -> None:
        started.wait(10)
        time.sleep(0.3)
        if where == "meanwhile":
            raise KeyboardInterrupt
        # Ctrl-C while the main thread waits for the worker
        threading.Timer(0.3, _thread.interrupt_main).start()

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        hb.beside(work, meanwhile)
    assert time.monotonic() - t0 < 5 * (1.0 + hb.CANCEL_GRACE)  # loose: a loaded machine
    assert _no_worker_left()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    spec = regions_only(16)
    assert solve_mod.solve(spec, SolverOptions(mip_rel_gap=0.0)).objective == \
        pytest.approx(brute_force(spec), abs=1e-9)


@pytest.mark.parametrize("own_deadline", [0.5, 60.0])
def test_past_the_deadline_the_workers_run_stops_as_at_a_time_limit(
        own_deadline: float) -> None:
    """At ``beside``'s deadline the worker's run ends and reads as the time limit: where the
    run's own deadline is the same, and where it is later (the engine's sub-MIP takes its own
    deadline after building its model, so a little later than the solve's deadline that
    ``beside`` keeps; cancelled there, the run reads as the time limit all the same, not as a
    user's interrupt, and the MIP's caller then keeps its start and records the time
    limit)."""
    h = _market_split()
    t0 = time.perf_counter()
    r = hb.beside(lambda: hb.run(h, integral=True, deadline=t0 + own_deadline),
                  lambda done: None, deadline=t0 + 0.5)
    assert r.status == "Time limit reached"
    assert time.perf_counter() - t0 < 0.5 + 5 * hb.CANCEL_GRACE
    assert _no_worker_left()


def test_two_highs_runs_overlap_in_beside() -> None:
    """The worker's run and a main-thread run through ``run_highs`` (highspy's
    ``startSolve``) are in progress at once: the worker does not take the class-wide lock
    of ``startSolve``."""
    h = _market_split(seed=1)
    lp = _market_split(seed=2)
    lp.changeColsIntegrality(40, np.arange(40, dtype=np.int32),
                             np.full(40, highspy.HighsVarType.kContinuous))
    running = threading.Event()

    def meanwhile(done: Any) -> None:
        running.wait(10)
        time.sleep(0.1)
        hb.run_highs(lp)  # would raise "Solver is already running" under one lock
        h.cancelSolve()

    def work() -> Any:
        h.HandleUserInterrupt = True
        running.set()
        # with a deadline, as the engine's MIPs run (off a worker, that is highspy's
        # startSolve)
        return hb.run_highs(h, time.perf_counter() + 60.0)

    hb.beside(work, meanwhile)
    assert lp.getModelStatus() in (highspy.HighsModelStatus.kOptimal,
                                   highspy.HighsModelStatus.kInfeasible)
    assert _no_worker_left(0.0)


def _count_beside(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets an entry per call of :func:`hb.beside` from now on."""
    calls: list[int] = []
    plain = hb.beside

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return plain(*args, **kwargs)

    monkeypatch.setattr(hb, "beside", counted)
    return calls


def _solve(spec: Any, gap: float) -> Any:
    return solve_mod.solve(spec, SolverOptions(mip_rel_gap=gap))


def _steps(sol: Any) -> Any:
    """What the steps after the repair found, without their seconds: per level-fixed LP its
    level, LP value and repair's objective; per level search its LPs and bound."""
    d = sol.details
    return ([(f.get("level"), f.get("lp"), f.get("lp_status"), f.get("objective"))
             for f in d.get("level_fixed_repair", [])],
            [(s["lps"], s["bound"], s["open"]) for s in d.get("level_search", [])])


def _same(a: Any, b: Any) -> None:
    assert a.status == b.status
    assert a.objective == b.objective
    assert a.bound == b.bound
    assert np.array_equal(a.x, b.x)
    assert _steps(a) == _steps(b)


@pytest.mark.parametrize(("seed", "gap"), CASES)
def test_the_repair_beside_gives_the_result_of_the_serial_solve(
        seed: int, gap: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """The threaded solve, the same work in sequence and a solve that solves no LP ahead
    give the same allocation, objective, bound and status; the threaded one did run the
    repair beside and took its level-fixed LP from what was solved ahead."""
    spec = regions_only(seed)
    calls = _count_beside(monkeypatch)
    threaded = _solve(spec, gap)
    assert calls == [1]
    assert threaded.details["lps_ahead"]["level_fixed"] == 1
    assert _no_worker_left(0.0)  # the solve returned: every thread it started has ended
    monkeypatch.setattr(solve_mod, "REPAIR_BESIDE", False)
    serial = _solve(spec, gap)
    assert calls == [1]
    _same(threaded, serial)
    monkeypatch.setattr(solve_mod, "_lps_ahead",
                        lambda *a, **k: solve_mod._Ahead([], None, -1))
    none_ahead = _solve(spec, gap)
    assert none_ahead.details["lps_ahead"]["level_fixed"] == 0
    _same(threaded, none_ahead)
    assert threaded.objective <= brute_force(spec) + 1e-9


def _record_floors(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, bool]]:
    """Every floor given to the search's LPs solved ahead from now on, with whether the
    search (:func:`_close_gap`) had started."""
    from ruimteverdeling.model import strengthen as st

    floors: list[tuple[float, bool]] = []
    searching = [False]
    plain_set, plain_close = st.LevelPrefetch.set_floor, solve_mod._close_gap

    def set_floor(self: Any, floor: float) -> None:
        floors.append((floor, searching[0]))
        plain_set(self, floor)

    def close_gap(*args: Any, **kwargs: Any) -> Any:
        searching[0] = True
        return plain_close(*args, **kwargs)

    monkeypatch.setattr(st.LevelPrefetch, "set_floor", set_floor)
    monkeypatch.setattr(solve_mod, "_close_gap", close_gap)
    return floors


def _floors_rise(floors: list[tuple[float, bool]], sol: Any, gap: float, spec: Any) -> None:
    """Floors were given before the search, finite and never falling, none above the floor
    of the solve's final incumbent (nor above the search's own, where it ran)."""
    from ruimteverdeling.model.outcomes import abs_gap_target

    before = [f for f, late in floors if not late]
    during = [f for f, late in floors if late]
    assert before and all(np.isfinite(before)) and before == sorted(before)
    final = sol.objective + abs_gap_target(gap, sol.objective, sol.bound,
                                           spec.status_quo_value)
    assert max(before) <= final + 1e-9
    if during:
        assert max(before) <= min(during)


@pytest.mark.parametrize(("seed", "gap"), CASES)
def test_the_lps_ahead_learn_the_incumbent_before_the_search_starts(
        seed: int, gap: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the steps before the search have an incumbent, the search's LPs solved ahead are
    given its floor (the incumbent plus the tolerance), so they skip what the search will
    close unsolved (:meth:`~ruimteverdeling.model.strengthen.LevelPrefetch.set_floor`); the
    incumbent only rises, so no floor given early is above a later one, and the result is
    the serial solve's."""
    floors = _record_floors(monkeypatch)
    spec = regions_only(seed)
    threaded = _solve(spec, gap)
    _floors_rise(floors, threaded, gap, spec)
    monkeypatch.setattr(solve_mod, "REPAIR_BESIDE", False)
    _same(threaded, _solve(spec, gap))


@pytest.mark.parametrize("forced", ["1", "0"])
def test_the_measured_choice_is_recorded_and_gives_the_same_result(
        forced: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Left to the machine (``REPAIR_BESIDE = None``), the solve takes the choice of
    :class:`~ruimteverdeling.model.cores.IdleMeter` (here forced through its environment
    variable), runs the repair beside only with it, records why, and gives the result of
    the threaded solve either way."""
    from ruimteverdeling.model import cores

    seed, gap = CASES[0]
    spec = regions_only(seed)
    threaded = _solve(spec, gap)
    assert threaded.details["beside"] == {"threads": True, "why": "set"}
    calls = _count_beside(monkeypatch)
    monkeypatch.setattr(solve_mod, "REPAIR_BESIDE", None)
    monkeypatch.setenv(cores.ENV, forced)
    chosen = _solve(spec, gap)
    assert chosen.details["beside"] == {"threads": forced == "1",
                                        "why": f"{cores.ENV}={forced}"}
    assert calls == ([1] if forced == "1" else [])
    _same(threaded, chosen)
    assert _no_worker_left(0.0)


@pytest.mark.parametrize(("seed", "gap"), OTHER_CASES)
def test_an_lp_solved_ahead_for_other_inputs_is_not_taken(
        seed: int, gap: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the level-fixed step's curve is not the one its LP was solved ahead with, the
    step solves its own LP: the result and what each step found are those of the solve that
    solves none ahead."""
    spec = random_model(seed)
    threaded = _solve(spec, gap)
    assert threaded.details["lps_ahead"]["level_fixed"] == 0
    monkeypatch.setattr(solve_mod, "_lps_ahead",
                        lambda *a, **k: solve_mod._Ahead([], None, -1))
    _same(threaded, _solve(spec, gap))


AFTER_REPAIR_CASES = [(7, 0.0), (14, 0.0), (20, 0.0)]
"""Tiny models (``random_model``) whose window step runs after the root repair (the
knapsack bound let the root repair go first) and repairs in a window."""


@pytest.mark.parametrize(("seed", "gap"), AFTER_REPAIR_CASES)
def test_in_sequence_the_window_steps_knapsack_fill_starts_no_thread(
        seed: int, gap: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work beside in sequence (``REPAIR_BESIDE`` False, or a busy machine's choice): the
    knapsack fill at the top of the window repaired after the root repair runs on the main
    thread too, as the first incumbent's does; with threads it runs in one. The result is
    the same either way."""
    spec = random_model(seed)
    started: list[int] = []
    plain = solve_mod._beside

    def counted(*args: Any) -> Any:
        started.append(1)
        return plain(*args)

    monkeypatch.setattr(solve_mod, "_beside", counted)
    threaded = _solve(spec, gap)
    assert started  # (a window was repaired after the root repair, its fill in a thread)
    assert "level_window" in threaded.details
    started.clear()
    monkeypatch.setattr(solve_mod, "REPAIR_BESIDE", False)
    serial = _solve(spec, gap)
    assert started == []
    assert serial.details["beside"] == {"threads": False, "why": "set"}
    _same(threaded, serial)


@pytest.mark.parametrize("what", [KeyboardInterrupt, RuntimeError])
def test_an_interrupt_or_error_in_the_solves_repair_beside_leaves_no_thread(
        what: type[BaseException], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C on the main thread while the repair runs beside it, and an error in the
    worker's repair: the solve raises it, no thread is left running, and the next solve in
    the process gives the same result as before."""
    seed, gap = CASES[0]
    spec = regions_only(seed)
    before = _solve(spec, gap)
    plain_ahead, plain_repair = solve_mod._lps_ahead, solve_mod._repair
    if what is KeyboardInterrupt:
        def ahead(*args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt

        monkeypatch.setattr(solve_mod, "_lps_ahead", ahead)
    else:
        def repair(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == "highs-beside":
                raise RuntimeError("in the repair")
            return plain_repair(*args, **kwargs)

        monkeypatch.setattr(solve_mod, "_repair", repair)
    with pytest.raises(what):
        _solve(spec, gap)
    assert _no_worker_left()
    monkeypatch.setattr(solve_mod, "_lps_ahead", plain_ahead)
    monkeypatch.setattr(solve_mod, "_repair", plain_repair)
    _same(_solve(spec, gap), before)


def _slow_search_lps(monkeypatch: pytest.MonkeyPatch, before: Any) -> None:
    """Every LP of the level search's prefetch (ahead or passed on) calls ``before()``
    first."""
    plain_prefetch = solve_mod.level_prefetch

    def slow_prefetch(*args: Any, **kwargs: Any) -> Any:
        pre = plain_prefetch(*args, **kwargs)
        solve_lp = pre._solve

        def slow(*a: Any, **k: Any) -> Any:
            before()
            return solve_lp(*a, **k)

        pre._solve = slow
        return pre

    monkeypatch.setattr(solve_mod, "level_prefetch", slow_prefetch)


def test_a_ctrl_c_after_the_repair_ends_the_thread_solving_the_search_lps_ahead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The level search's LPs solved ahead go on in a thread after the repair; a Ctrl-C
    before the search stops them (the solve raises it after that thread has ended), and a
    solve that returns has ended it too."""
    seed, gap = CASES[0]
    spec = regions_only(seed)
    _slow_search_lps(monkeypatch, lambda: time.sleep(0.3))

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        assert any(t.name == "level-prefetch" and t.is_alive() for t in threading.enumerate())
        raise KeyboardInterrupt

    plain_swaps = solve_mod._level_swaps
    monkeypatch.setattr(solve_mod, "_level_swaps", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _solve(spec, gap)
    assert _no_worker_left(0.0)
    monkeypatch.setattr(solve_mod, "_level_swaps", plain_swaps)
    _solve(spec, gap)
    assert _no_worker_left(0.0)


def _ctrl_c_after(seconds: float) -> None:
    """A real SIGINT to the main thread after ``seconds``: it breaks a blocking wait there,
    as a Ctrl-C does (``_thread.interrupt_main`` only sets the flag a wait does not see)."""
    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT)).start()


def test_a_ctrl_c_while_stopping_the_lps_ahead_leaves_their_thread_seen() -> None:
    """A Ctrl-C while :meth:`~ruimteverdeling.model.strengthen.LevelPrefetch.stop` waits
    for the LP in progress (which HiGHS does not cut short) is raised at once; the thread,
    still solving, reads as alive until it ends (CPython's ``Thread.join`` interrupted can
    mark a running thread as ended, hiding it from the exit's wait for solver threads), and
    a later ``stop`` ends it."""
    from ruimteverdeling.model import strengthen as st

    spec = regions_only(16)
    (lv,) = st.find_levels(spec)
    pre = st.LevelPrefetch(spec, lv, lambda *a: None, None)
    release = threading.Event()
    pre.ahead = lambda **kw: release.wait(10)  # type: ignore[method-assign] # (an LP)
    pre.start()
    _ctrl_c_after(0.2)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pre.stop()
    assert time.monotonic() - t0 < 5.0
    assert any(t.name == "level-prefetch" and t.is_alive() for t in threading.enumerate())
    release.set()
    pre.stop()
    assert _no_worker_left(0.0)


def test_a_ctrl_c_while_the_solve_stops_its_lps_ahead_lists_their_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A second Ctrl-C while the solve, interrupted, waits for the level search's LP solved
    ahead: the thread still solving it is listed as a solver thread still running
    (:func:`~ruimteverdeling.model.highs_backend.solver_running`), so that the command line
    ends the process at once instead of leaving a HiGHS thread to the interpreter's exit."""
    seed, gap = CASES[0]
    spec = regions_only(seed)
    in_lp = threading.Event()
    release = threading.Event()

    def held() -> None:
        in_lp.set()
        release.wait(10)

    _slow_search_lps(monkeypatch, held)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        assert in_lp.wait(10)
        _ctrl_c_after(0.3)  # (the second Ctrl-C)
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_mod, "_level_swaps", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            _solve(spec, gap)
        assert hb.solver_running()
    finally:
        release.set()
    assert _no_worker_left()


@pytest.mark.slow
def test_the_demo_solve_beside_is_the_serial_solve(demo_area: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """On the demo area the level-fixed LP is taken from the LPs solved beside the repair and
    the level search takes node LPs and node bounds solved there, and the solve's
    allocation, objective, bound and status (and what those steps found) are those of the
    serial solve that solves none of them ahead."""
    from ruimteverdeling import api

    from areas import REPO

    cm = api.compile(REPO / "scenarios" / "base.yaml", area=demo_area)
    floors = _record_floors(monkeypatch)
    threaded = solve_mod.solve(cm.spec, cm.scenario.solver)
    assert _no_worker_left(0.0)
    _floors_rise(floors, threaded, cm.scenario.solver.mip_rel_gap, cm.spec)
    assert any(late for _, late in floors)  # (the search ran, and set its own)
    ahead = threaded.details["lps_ahead"]
    assert (ahead["level_fixed"], ahead["of"]) == (1, 1)
    assert threaded.details["level_search"][0]["from_ahead"] >= 1
    assert threaded.details["level_search"][0]["node_bounds_from_ahead"] >= 1
    monkeypatch.setattr(solve_mod, "REPAIR_BESIDE", False)
    monkeypatch.setattr(solve_mod, "_lps_ahead",
                        lambda *a, **k: solve_mod._Ahead([], None, -1))
    serial = solve_mod.solve(cm.spec, cm.scenario.solver)
    _same(threaded, serial)
