"""The default backend: a ModelSpec handed to HiGHS (highspy) as arrays, in bulk.

No Python loop runs per variable or per row: the stacked block matrix is converted to CSC once
and passed with ``passModel``'s array form, each column's integrality with it.

**Starting basis.** An LP without a basis from an earlier solve starts from the *crash basis*
of the semi-assignment structure: in every unit the column of largest objective coefficient
is basic (in its assignment row), every other column sits at a bound, and every coupling
row's slack is basic. That basis is nonsingular (block triangular), primal feasible for the
assignment rows and dual feasible (all reduced costs of x columns ≤ 0 at coupling duals 0),
so the dual simplex only has to repair the few coupling rows: on the 36 k-cell demo model
(293 k columns) 2.8 k iterations and 2.7 s instead of 42 k iterations and 14 s.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

from ruimteverdeling.errors import SolverError
from ruimteverdeling.model.outcomes import LpOutcome, MipOutcome, norm_status
from ruimteverdeling.model.spec import ModelSpec

if TYPE_CHECKING:
    from ruimteverdeling.model.options import SolverOptions


@dataclass
class HighsResult:
    """What one HiGHS run returned (maximisation)."""

    status: str  # HiGHS model status as text ("Optimal", "Infeasible", "Time limit reached", ...)
    x: np.ndarray | None
    objective: float | None
    bound: float | None  # dual bound (MIP) or LP optimum (LP)
    row_dual: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    seconds: float = 0.0
    iterations: dict[str, int] = field(default_factory=dict)
    mip_nodes: int = 0
    primal_infeasibility: float = 0.0
    basis: Basis | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "Optimal"

    @property
    def has_solution(self) -> bool:
        return self.x is not None


_banner_shown = False
_threads: int | None = None


def _use_threads(n: int) -> None:
    """HiGHS's task scheduler is global to the process and keeps the thread count of its first
    use; a solve asking for another count must reset it first."""
    global _threads
    if _threads is not None and n != _threads:
        highspy.Highs.resetGlobalScheduler(True)
    _threads = n


def new_highs(threads: int | None = None) -> highspy.Highs:
    """A silent Highs instance (HiGHS prints a banner on stdout at its first construction in a
    process; it is swallowed so that command output stays clean). ``threads`` sets its thread
    count through :func:`_use_threads`: every Highs of the engine is made here or in
    :func:`build`, so the global scheduler is reset whenever the count changes (a Highs asking
    for another count than the scheduler's refuses to run)."""
    global _banner_shown
    if not _banner_shown:
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if threads is not None:
        _use_threads(threads)
        h.setOptionValue("threads", threads)
    return h


def version() -> str:
    """HiGHS version and git hash, e.g. '1.16.0 (f3f113d)'."""
    h = new_highs()
    return f"{h.version()} ({h.githash()})"


def build(spec: ModelSpec, integral: bool, options: dict[str, object] | None = None
          ) -> highspy.Highs:
    """A Highs instance holding ``spec`` (as an LP, or a MIP when ``integral``)."""
    A, lower, upper = spec.matrix()
    A = A.tocsc()
    c, offset = spec.objective()
    _join_abandoned()  # a cancelled solve still running would share the thread scheduler
    h = new_highs()
    options = dict(options or {})
    if "threads" in options:
        _use_threads(int(options["threads"]))
    for key, value in options.items():
        h.setOptionValue(key, value)
    # the array overload of passModel takes the numpy arrays as they are; filling a HighsLp's
    # fields converts every entry to a Python object first (about 0.5 s of a 0.6 s build on a
    # 300 k column model). Every column is passed with its integrality (all continuous for an
    # LP: HiGHS then solves an LP, as without the array).
    integrality = (np.asarray(spec.integral, np.int32) if integral
                   else np.zeros(spec.n_cols, np.int32))
    status = h.passModel(int(spec.n_cols), int(A.shape[0]), int(A.nnz),
                         int(highspy.MatrixFormat.kColwise.value),
                         int(highspy.ObjSense.kMaximize.value), float(offset),
                         np.ascontiguousarray(c, float), np.ascontiguousarray(spec.lb, float),
                         np.ascontiguousarray(spec.ub, float),
                         np.ascontiguousarray(lower, float), np.ascontiguousarray(upper, float),
                         A.indptr.astype(np.int32), A.indices.astype(np.int32),
                         np.ascontiguousarray(A.data, float), integrality)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel returned an error): a bound or "
                          "coefficient is outside what it accepts; check the scenario's "
                          "numbers for extreme magnitudes")
    return h


# ---------------------------------------------------------------------------------------------
# bases
# ---------------------------------------------------------------------------------------------
_STATUS = list(highspy.HighsBasisStatus.__members__.values())
_BY_VALUE = {int(v.value): v for v in _STATUS}
_MEMBERS = np.empty(max(_BY_VALUE) + 1, dtype=object)
"""The status members indexed by their codes: ``_MEMBERS[codes].tolist()`` maps a whole
array in C, where a dictionary look-up per status costs a Python step each."""
for _code, _member in _BY_VALUE.items():
    _MEMBERS[_code] = _member
del _code, _member
LOWER = int(highspy.HighsBasisStatus.kLower.value)
UPPER = int(highspy.HighsBasisStatus.kUpper.value)
ZERO = int(highspy.HighsBasisStatus.kZero.value)
BASIC = int(highspy.HighsBasisStatus.kBasic.value)


@dataclass
class Basis:
    """A simplex basis as status codes per column and per row (HiGHS's numbering)."""

    col: np.ndarray
    row: np.ndarray

    def extended(self, n_cols: int, n_rows: int, col_lb: np.ndarray,
                 col_ub: np.ndarray) -> Basis:
        """This basis for a model with columns and rows appended: new rows basic (their
        slack), new columns nonbasic at a finite bound (at zero when free)."""
        k = n_cols - self.col.size
        new_cols = np.where(np.isfinite(col_lb[self.col.size:]), LOWER,
                            np.where(np.isfinite(col_ub[self.col.size:]), UPPER, ZERO))
        return Basis(np.concatenate([self.col, new_cols.astype(np.int8)[:k]]),
                     np.concatenate([self.row, np.full(n_rows - self.row.size, BASIC,
                                                       np.int8)]))


def get_basis(h: highspy.Highs) -> Basis:
    """HiGHS's current basis as two int8 arrays (column and row status codes).

    highspy hands the statuses over as a list of enum objects; ``int`` on each, mapped in C
    by ``map``, is about twice as fast as reading each one's ``value`` in a generator."""
    b = h.getBasis()
    return Basis(np.array(list(map(int, b.col_status)), np.int8),
                 np.array(list(map(int, b.row_status)), np.int8))


def set_basis(h: highspy.Highs, basis: Basis) -> bool:
    """Hand ``basis`` to ``h``; False if HiGHS refuses it (it then starts from its own)."""
    b = highspy.HighsBasis()
    b.col_status = _MEMBERS[basis.col].tolist()
    b.row_status = _MEMBERS[basis.row].tolist()
    b.valid = True
    return h.setBasis(b) == highspy.HighsStatus.kOk


def crash_basis(spec: ModelSpec) -> Basis:
    """The semi-assignment crash basis (see the module docstring)."""
    col = np.full(spec.n_cols, LOWER, np.int8)
    if spec.n_x:
        c = spec.obj[: spec.n_x]
        cu = spec.col_unit
        starts = np.flatnonzero(np.r_[True, cu[1:] != cu[:-1]])
        best = np.maximum.reduceat(c, starts)
        idx = np.where(c >= np.repeat(best, np.diff(np.r_[starts, spec.n_x])),
                       np.arange(spec.n_x), spec.n_x)
        col[np.minimum.reduceat(idx, starts)] = BASIC
    lb, ub = spec.aux_lb, spec.aux_ub
    col[spec.n_x:] = np.where(np.isfinite(lb), LOWER, np.where(np.isfinite(ub), UPPER, ZERO))
    row = np.full(spec.n_rows, BASIC, np.int8)
    row[: spec.n_units] = LOWER  # the assignment rows (equalities) are tight
    return Basis(col, row)


# ---------------------------------------------------------------------------------------------
# interruptible runs
# ---------------------------------------------------------------------------------------------
CANCEL_GRACE = 1.0
"""Seconds an interrupted solve is given to stop at HiGHS's next interrupt check."""
MIN_RUN_SECONDS = 0.01
"""Shortest time limit handed to HiGHS (a limit of 0 is refused)."""

_abandoned: list[tuple[highspy.Highs | None, threading.Thread]] = []


ABANDONED = "Abandoned at the time limit"
"""Status text of a run that passed its wall-clock deadline and did not stop when cancelled
(see :func:`run_highs`)."""


def run_highs(h: highspy.Highs, deadline: float | None = None
              ) -> highspy.HighsStatus | str | None:
    """``h.run()``, cancelled promptly by Ctrl-C (SIGINT) or SIGTERM.

    Python runs signal handlers in the main thread only, between bytecodes, so a solve that
    blocks the main thread inside HiGHS hears Ctrl-C only when it returns (minutes later).
    Here HiGHS runs in a worker thread (highspy's ``startSolve``) with its interrupt
    callbacks on (``HandleUserInterrupt``: the simplex, interior-point and MIP interrupt
    callbacks set ``user_interrupt`` once ``cancelSolve`` is called), while the main thread
    waits in short slices, where the KeyboardInterrupt is raised at once. It then cancels
    the solve and gives HiGHS :data:`CANCEL_GRACE` seconds to reach an interrupt check
    (the LP stops within milliseconds; the MIP's setup phase checks rarely) before it
    re-raises; a solve that has not stopped by then is left to finish in its thread (it
    stops at the next check) and :func:`solver_running` says so, so that the command line
    can exit at once instead of waiting for it.

    Off the main thread (Dask workers, notebooks' executors) no signal can arrive and
    ``h.run()`` is called directly, unless a ``deadline`` is given. In the worker thread of
    :func:`beside` ``h.run()`` is called directly whatever the deadline: the thread that
    started the worker hears Ctrl-C and keeps the deadline for it.

    ``deadline`` (a ``time.perf_counter()`` value) makes the time limit a wall-clock promise:
    HiGHS checks its own ``time_limit`` only at its interrupt checks, which its MIP setup
    (presolve, the clique table) reaches rarely — a 300 s limit once ran 538 s. Past the
    deadline the solve is cancelled like an interrupt; if it has not stopped after
    :data:`CANCEL_GRACE` seconds it is abandoned to its thread and :data:`ABANDONED` is
    returned (the caller then has no result from it; the next solve waits for it to stop).
    """
    worker = getattr(_local, "beside", None)
    if worker is not None:
        return worker.run(h)
    if threading.current_thread() is not threading.main_thread() and deadline is None:
        return h.run()
    _join_abandoned()
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    stopped = True
    try:
        while True:
            done, status = h.wait(0.05)
            if done:
                return status
            if deadline is not None and time.perf_counter() > deadline:
                if not _cancel(h, thread):
                    stopped = False
                    return ABANDONED
                done, status = h.wait(0.05)
                return status
    except BaseException:
        # not known to have stopped until the cancel says so: an interrupt during the cancel's
        # grace wait must leave the handler on, or the running solve could not be cancelled
        stopped = False
        stopped = _cancel(h, thread)
        raise
    finally:
        if stopped:
            _release(h)


def _release(h: highspy.Highs) -> None:
    """Switch off the interrupt callbacks of a solve that has stopped.

    highspy subscribes its interrupt handler, a bound method of the instance, to the
    instance's own callback lists, so while ``HandleUserInterrupt`` is on the instance refers
    to itself and is freed only by Python's cycle collector, with its model and factors
    (at ~100 m about 100 MB per restricted LP of the column generation). Switching it off
    unsubscribes the handler and breaks the cycle: the instance is freed as soon as its last
    reference goes. A solve abandoned to its thread keeps its handler, which must still hear
    the cancel; that rare instance is left to the cycle collector."""
    h.HandleUserInterrupt = False


def _cancel(h: highspy.Highs, thread: threading.Thread) -> bool:
    """Cancel the solve running in ``thread`` and give it :data:`CANCEL_GRACE` seconds to
    stop; whether it stopped (if not, it is left to its thread and joined before the next
    solve, see :func:`_join_abandoned`)."""
    h.cancelSolve()
    end = time.perf_counter() + CANCEL_GRACE
    while thread.is_alive() and time.perf_counter() < end:
        thread.join(0.02)
    if thread.is_alive():
        _abandoned.append((h, thread))
        return False
    return True


_local = threading.local()
"""Per thread: the :class:`_BesideRun` of a worker started by :func:`beside` (else unset)."""


class _BesideRun:
    """The HiGHS runs of a :func:`beside` worker: each calls ``Highs.run()`` directly, with
    highspy's interrupt callbacks on, so that the starting thread can cancel it.

    highspy's ``startSolve`` (what :func:`run_highs` uses on the main thread) guards every
    ``Highs`` object with one lock held by the class: a second solve started that way while
    the first runs raises ``Solver is already running``. ``Highs.run()`` takes no such lock
    and releases the GIL while HiGHS works, and HiGHS's task scheduler is kept per thread,
    so a run here and the main thread's runs proceed side by side."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.h: highspy.Highs | None = None
        self.cancelled = False
        self.expired = False  # cancelled at the deadline of :func:`beside`

    def cancel(self) -> None:
        """Stop the run now in progress at its next interrupt check, and every later one at
        its first."""
        with self.lock:
            self.cancelled = True
            if self.h is not None:
                self.h.cancelSolve()

    def run(self, h: highspy.Highs) -> highspy.HighsStatus:
        h.HandleUserInterrupt = True
        with self.lock:
            self.h = h
            if self.cancelled:
                h.cancelSolve()
        try:
            return h.run()
        finally:
            with self.lock:
                self.h = None
            _release(h)


BESIDE_POLL = 0.05
"""Seconds between the starting thread's looks at a :func:`beside` worker (a Ctrl-C or the
deadline is acted on within this)."""


def beside(work: Callable[[], Any], meanwhile: Callable[[Callable[[], bool]], None],
           deadline: float | None = None, late: Any = None) -> Any:
    """``work()`` in a worker thread while this thread runs ``meanwhile(done)``; returns
    what ``work`` returned, after both are done. ``done()`` tells ``meanwhile`` whether
    ``work`` has finished (e.g. to stop work that only pays while it runs).

    Every HiGHS run that ``work`` starts through :func:`run_highs` calls ``Highs.run()``
    in the worker (see :class:`_BesideRun`); this thread waits for the worker in slices of
    :data:`BESIDE_POLL` seconds, so that a Ctrl-C (or SIGTERM made one) is heard here:

    * an exception in ``meanwhile`` or while waiting (a KeyboardInterrupt) cancels the
      worker's HiGHS run, gives it :data:`CANCEL_GRACE` seconds to stop, and is re-raised;
      a worker that has not stopped by then is left to finish in its thread and
      :func:`solver_running` says so (as for a cancelled :func:`run_highs`);
    * an exception in ``work`` is re-raised here once ``meanwhile`` is done;
    * past ``deadline`` (a ``time.perf_counter()`` value) the worker's run is cancelled
      (HiGHS then reports an interrupt, which :func:`run` reads as the time limit, even
      where the run's own deadline lies later);
      a worker that has not stopped :data:`CANCEL_GRACE` seconds later is abandoned to its
      thread and ``late`` is returned instead.

    Otherwise no thread is left running when this returns. ``work`` must not touch what
    ``meanwhile`` changes (each its own HiGHS instance), and its result must not depend on
    timing (e.g. a MIP stopped by a count of interrupt checks): then the result is what
    ``work(); meanwhile(lambda: True)`` in sequence gives, as far as what ``meanwhile``
    computes does not depend on ``done``."""
    run = _BesideRun()
    got: dict[str, Any] = {}
    # waited on instead of the thread itself: a Ctrl-C inside ``Thread.join`` can leave the
    # thread reading as ended while it still runs (CPython's join is not safe to interrupt)
    finished = threading.Event()

    def target() -> None:
        _local.beside = run
        try:
            got["value"] = work()
        except BaseException as e:  # handed to the starting thread
            got["error"] = e
        finally:
            _local.beside = None
            # as highspy's own solve threads do: release this thread's task scheduler
            highspy.Highs.resetThreadScheduler(False)
            finished.set()

    thread = threading.Thread(target=target, name="highs-beside", daemon=True)
    thread.start()
    try:
        meanwhile(finished.is_set)
        while not finished.wait(BESIDE_POLL):
            if deadline is not None and time.perf_counter() > deadline:
                run.expired = True  # (before the cancel: read when the run returns)
                run.cancel()
                if not finished.wait(CANCEL_GRACE):
                    _abandoned.append((run.h, thread))
                    return late
    except BaseException:
        run.cancel()
        # listed before the grace wait: a second Ctrl-C there must not lose the worker
        _abandoned.append((run.h, thread))
        finished.wait(CANCEL_GRACE)
        raise
    thread.join()  # past its last statement: at once
    if "error" in got:
        raise got["error"]
    return got["value"]


def still_running(thread: threading.Thread) -> None:
    """List ``thread``, which runs HiGHS and was asked to stop but has not yet, with the
    cancelled solves still running: :func:`solver_running` then says so, the next solve
    waits for it, and the interpreter's exit waits for it :data:`EXIT_GRACE` seconds."""
    _abandoned.append((None, thread))


def solver_running() -> bool:
    """Whether a cancelled solve is still running in its thread (see :func:`run_highs`)."""
    _abandoned[:] = [(h, t) for h, t in _abandoned if t.is_alive()]
    return bool(_abandoned)


def _join_abandoned() -> None:
    """Wait for cancelled solves to stop before the next one starts (HiGHS's thread
    scheduler is shared by the whole process), and before the interpreter exits (a solver
    thread still running then would abort the process)."""
    for _, t in _abandoned:
        t.join()
    _abandoned.clear()


EXIT_GRACE = 5.0
"""Seconds the interpreter's exit waits for cancelled solves that are still running."""
_exit_code = 1


def leaving(code: int) -> None:
    """Record the exit code the process is about to leave with (see :func:`_at_exit`)."""
    global _exit_code
    _exit_code = code


def _at_exit() -> None:
    """At interpreter exit, wait :data:`EXIT_GRACE` seconds for cancelled solves. One still
    running then (HiGHS's MIP setup and clique partition do not check the interrupt, for
    minutes on a large model) would hold the process, or abort it at finalisation: the
    process ends at once with the code recorded by :func:`leaving` (1 when none was: an
    unexpected exit must not look like success). Nothing of that solve is kept."""
    end = time.perf_counter() + EXIT_GRACE
    for _, t in _abandoned:
        t.join(max(0.0, end - time.perf_counter()))
    if solver_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_code)


atexit.register(_at_exit)


def allow_seconds(h: highspy.Highs, seconds: float) -> None:
    """Give the next run of a kept instance ``seconds`` of its own: HiGHS compares
    ``time_limit`` with the run time the instance has summed over all its runs, so the limit
    is that sum plus the allowance (a plain ``seconds`` would stop a late re-solve at once)."""
    h.setOptionValue("time_limit", h.getRunTime() + float(seconds))


def run(h: highspy.Highs, integral: bool, want_duals: bool = False,
        want_basis: bool = True, deadline: float | None = None) -> HighsResult:
    t0 = time.perf_counter()
    outcome = run_highs(h, deadline)
    seconds = time.perf_counter() - t0
    if outcome == ABANDONED:  # still running in its thread: nothing of it may be read
        return HighsResult(status="Time limit reached", x=None, objective=None, bound=None,
                           seconds=seconds)
    late = deadline is not None and time.perf_counter() >= deadline
    worker = getattr(_local, "beside", None)
    if worker is not None and worker.expired:  # (cancelled at the deadline of :func:`beside`)
        late = True
    model_status = h.getModelStatus()
    status = h.modelStatusToString(model_status)
    if late and "interrupt" in status.lower():  # cancelled at the deadline: the time limit
        status = "Time limit reached"
    info = h.getInfo()
    x = None
    row_dual = col_dual = None
    sol = h.getSolution()
    if info.primal_solution_status == 2 or (integral and sol.value_valid):  # 2 = feasible
        x = _floats(sol.col_value)
        if want_duals and sol.dual_valid:
            row_dual = _floats(sol.row_dual)
            col_dual = _floats(sol.col_dual)
    objective = float(info.objective_function_value) if x is not None else None
    basis = None
    if want_basis and not integral and status == "Optimal" and info.basis_validity == 1:
        basis = get_basis(h)
    if integral:
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound):
            bound = None
    else:
        bound = objective if status == "Optimal" else None
    return HighsResult(
        status=status, x=x, objective=objective, bound=bound, row_dual=row_dual,
        col_dual=col_dual, seconds=seconds,
        iterations={"simplex": int(info.simplex_iteration_count),
                    "ipm": int(info.ipm_iteration_count),
                    "crossover": int(info.crossover_iteration_count)},
        mip_nodes=int(info.mip_node_count) if integral else 0,
        primal_infeasibility=float(info.max_primal_infeasibility),
        basis=basis,
    )


def _floats(values: list[float]) -> np.ndarray:
    """A solution vector (highspy hands it over as a list) as a float array: ``fromiter``
    with the length known skips the per-element type discovery of ``asarray``, about a
    third of the conversion of a ~300 k column vector."""
    return np.fromiter(values, dtype=float, count=len(values))


def lp_options(spec: ModelSpec, algorithm: str, threads: int, time_limit: float,
               seed: int) -> dict[str, object]:
    """HiGHS options for the LP relaxation.

    Dual simplex is fastest up to a few hundred thousand columns (measured on the demo, 295k
    columns: 10.6 s against 29 s for the interior-point method); beyond that the interior-point
    method with crossover (to get a vertex, hence at most as many fractional cells as coupling
    rows) scales far better on this semi-assignment structure (probe: dual simplex > 600 s at
    1M cells, IPM + crossover 202 s).
    """
    if algorithm == "auto":
        algorithm = "simplex" if spec.n_cols < 500_000 else "ipm"
    opts: dict[str, object] = {"solver": algorithm, "threads": threads,
                               "time_limit": float(time_limit), "random_seed": seed}
    if algorithm == "ipm":
        opts["run_crossover"] = "on"
    return opts


def mip_options(threads: int, time_limit: float, gap: float, seed: int) -> dict[str, object]:
    return {"threads": threads, "time_limit": float(time_limit), "mip_rel_gap": float(gap),
            "random_seed": seed}


def _feasible(spec: ModelSpec, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``x`` is an integer allocation of ``spec`` within its rows and bounds."""
    x = np.asarray(x, float)
    if x.size != spec.n_cols:
        return False
    xi = x[spec.integral]
    return bool(np.all(np.abs(xi - np.round(xi)) <= tol)
                and np.all(x >= spec.lb - tol) and np.all(x <= spec.ub + tol)
                and not spec.violations(x, tol))


class HighsBackend:
    """highspy, arrays in bulk (the default)."""

    name = "highs"
    supports_stop = True

    def label(self) -> str:
        return f"HiGHS {version()}"

    def lp(self, spec: ModelSpec, options: SolverOptions, time_limit: float,
           basis: Any = None, want_basis: bool = True) -> LpOutcome:
        """The LP relaxation of ``spec`` (``want_basis``: also read back the optimal basis,
        which costs a pass in Python over every column and row)."""
        opts = lp_options(spec, options.lp_algorithm, options.threads, time_limit,
                          options.seed)
        t0 = time.perf_counter()
        h = build(spec, integral=False, options=opts)
        started = "none"
        if opts["solver"] == "simplex":
            if isinstance(basis, Basis):
                if basis.col.size != spec.n_cols or basis.row.size != spec.n_rows:
                    basis = basis.extended(spec.n_cols, spec.n_rows, spec.lb, spec.ub)
                started = "given" if set_basis(h, basis) else "refused"
            elif spec.n_x:
                started = "crash" if set_basis(h, crash_basis(spec)) else "refused"
        t_build = time.perf_counter() - t0
        r = run(h, integral=False, want_duals=True, want_basis=want_basis)
        return LpOutcome(norm_status(r.status), r.x, r.objective, r.col_dual, r.row_dual,
                         {"build": t_build, "lp": r.seconds},
                         {"lp_algorithm": opts["solver"], "lp_iterations": r.iterations,
                          "start_basis": started}, r.basis)

    def mip(self, spec: ModelSpec, options: SolverOptions, time_limit: float, gap: float,
            start: np.ndarray | None = None, abs_gap: float | None = None,
            stop: Callable[[float, float], bool] | None = None,
            settings: dict[str, object] | None = None) -> MipOutcome:
        """HiGHS's branch and bound. ``stop(incumbent, dual bound)`` is asked at HiGHS's
        interrupt checks; when it says so the run ends with status ``stopped``, which proves
        only what ``stop`` tested: like ``optimal`` when ``stop`` tests a gap against the dual
        bound, nothing when it also ends on a budget of checks (a
        :class:`~ruimteverdeling.model.stopping.PatientStop`); the bound is what proves the
        gap. ``settings``: further HiGHS options."""
        t0 = time.perf_counter()
        deadline = t0 + time_limit
        opts = mip_options(options.threads, time_limit, gap, options.seed)
        if abs_gap is not None:
            opts["mip_abs_gap"] = float(abs_gap)
        opts.update(settings or {})
        h = build(spec, integral=True, options=opts)
        if start is not None:
            set_start(h, start)
        stopped = []
        if stop is not None:
            def check(event: Any) -> None:
                out = event.data_out
                if not stopped and stop(float(out.mip_primal_bound),
                                        float(out.mip_dual_bound)):
                    stopped.append(True)
                    event.interrupt()

            h.cbMipInterrupt += check
        t_build = time.perf_counter() - t0
        # HiGHS's clock starts at run(): give it what the build left of the limit
        h.setOptionValue("time_limit", max(MIN_RUN_SECONDS, time_limit - t_build))
        r = run(h, integral=True, deadline=deadline)
        status = "stopped" if stopped else norm_status(r.status)
        x = r.x
        seconds = r.seconds
        details: dict[str, Any] = {"nodes": r.mip_nodes}
        if start is not None and x is not None and r.objective is not None:
            lost = r.objective - spec.objective_value(x)
            if lost > HighsBackend._tolerance(r.objective):
                status, x, bound, extra = self._without_start(h, spec, r, deadline, stopped)
                seconds += extra.pop("seconds")
                details.update(extra, start_kept=lost)
                return MipOutcome(status, x, bound, {"build": t_build, "mip": seconds}, details)
        if x is None and status == "time_limit" and start is not None and _feasible(spec, start):
            x = np.asarray(start, float)  # stopped before HiGHS took the start: it still holds
        return MipOutcome(status, x, r.bound, {"build": t_build, "mip": seconds}, details)

    @staticmethod
    def _without_start(h: highspy.Highs, spec: ModelSpec, first: HighsResult,
                       deadline: float, stopped: list[bool]
                       ) -> tuple[str, np.ndarray, float | None, dict[str, Any]]:
        """Re-solve after HiGHS handed back its start in place of a better solution.

        When presolve fixes columns by dominance, the start mapped into the reduced model
        can be a *better* allocation than the start itself; HiGHS then reports that better
        objective ``z*`` (and, when nothing beats it, optimality) but returns the start
        ``x₀`` with ``c·x₀ < z*``. The reported ``z*`` is a real allocation's value, so
        the optimum is ``z*``, but its columns are lost. The same instance is solved again
        without the start (``clearSolver`` drops it, the model and options stay) in what
        is left of the time limit. The outcome is the better of the two solutions; both
        runs bound the same model, so the bound is the smaller (tighter) of the two. When
        the second run cannot return a solution at least as good as ``x₀``, ``x₀`` stands
        with status ``time_limit``: the gap between ``c·x₀`` and the bound is open.
        """
        x0 = first.x
        assert x0 is not None
        bounds = [b for b in (first.bound,) if b is not None]
        left = deadline - time.perf_counter()
        extra: dict[str, Any] = {"seconds": 0.0, "resolved": False}
        if left > MIN_RUN_SECONDS:
            h.clearSolver()
            allow_seconds(h, left)
            stopped.clear()
            r = run(h, integral=True, deadline=deadline)
            extra.update(seconds=r.seconds, resolved=True, nodes_again=r.mip_nodes)
            if r.bound is not None:
                bounds.append(r.bound)
            if (r.x is not None and spec.objective_value(r.x)
                    >= spec.objective_value(x0) - HighsBackend._tolerance(r.objective or 0.0)):
                status = "stopped" if stopped else norm_status(r.status)
                return status, r.x, min(bounds) if bounds else None, extra
        return "time_limit", x0, min(bounds) if bounds else None, extra

    @staticmethod
    def _tolerance(value: float) -> float:
        """Round-off allowed between HiGHS's objective and ``c·x`` recomputed from its columns."""
        return 1e-6 + 1e-9 * abs(value)

    def session(self, spec: ModelSpec, options: SolverOptions) -> LpSession:
        """A persistent LP of ``spec`` for many re-solves (see :class:`LpSession`)."""
        return LpSession(spec, options)


class LpSession:
    """One HiGHS instance holding the LP relaxation of a model that grows: derived rows and
    auxiliary columns are appended once, and every re-solve only changes bounds — of the
    auxiliary columns, and of appended rows, which are switched off (made free) in the
    re-solves that do not use them. Changing bounds keeps HiGHS's current basis dual feasible,
    so each re-solve is a warm dual simplex that costs the iterations it needs, not a new
    hand-over of the model. The rows and columns of the base model are never changed."""

    def __init__(self, spec: ModelSpec, options: SolverOptions):
        self.spec = spec
        self.options = options
        self.h = build(spec, integral=False,
                       options={"solver": "simplex", "threads": options.threads,
                                "random_seed": options.seed})
        self.n_cols = spec.n_cols
        self.aux_lb = spec.aux_lb.copy()
        self.aux_ub = spec.aux_ub.copy()
        self.blocks: dict[int, tuple[int, Any, bool]] = {}  # id -> (first row, block, kept)
        self.on: set[int] = set()
        self.started = False
        self.basis = crash_basis(spec)
        self.solved_x: np.ndarray | None = None  # the last optimal LP's columns (see basis_now)
        self.changes = 0
        """Columns or rows appended and LPs solved so far: equal counts at two moments say
        that HiGHS holds the same model and the same basis at both."""

    def add_columns(self, lb: np.ndarray, ub: np.ndarray, cost: np.ndarray) -> None:
        """Append auxiliary columns (no entries in existing rows)."""
        k = int(np.asarray(lb).size)
        self.h.addCols(k, np.asarray(cost, float), np.asarray(lb, float),
                       np.asarray(ub, float), 0, np.zeros(0, np.int32),
                       np.zeros(0, np.int32), np.zeros(0))
        self.aux_lb = np.concatenate([self.aux_lb, lb])
        self.aux_ub = np.concatenate([self.aux_ub, ub])
        self.n_cols += k
        self.changes += 1

    def add_rows(self, block: Any, permanent: bool = True) -> None:
        """Append a RowBlock over the current columns; ``permanent`` rows are always on,
        others only in the re-solves that name them."""
        key = id(block)
        if key in self.blocks:
            return
        A = block.A.tocsr()
        first = self.h.getNumRow()
        if block.n_rows:
            self.h.addRows(block.n_rows, block.lower.astype(float), block.upper.astype(float),
                           A.nnz, A.indptr[:-1].astype(np.int32), A.indices.astype(np.int32),
                           A.data.astype(float))
        self.blocks[key] = (first, block, permanent)
        self.on.add(key)
        self.changes += 1

    def lp(self, aux_lb: np.ndarray | None = None, aux_ub: np.ndarray | None = None,
           rows: list[Any] | None = None, time_limit: float = 600.0,
           basis: Basis | None = None) -> LpOutcome:
        """The LP with auxiliary bounds ``aux_lb``/``aux_ub`` (all auxiliary columns, the
        appended ones included; None: unchanged) and, besides the permanent rows, the rows of
        the blocks in ``rows`` (added now if new). The first solve starts from ``basis`` (or
        the crash basis), later ones from HiGHS's current basis unless ``basis`` is given."""
        h = self.h
        t0 = time.perf_counter()
        if aux_lb is not None and aux_ub is not None:
            n_x = self.spec.n_x
            changed = np.flatnonzero((aux_lb != self.aux_lb) | (aux_ub != self.aux_ub))
            if changed.size:
                h.changeColsBounds(changed.size, (changed + n_x).astype(np.int32),
                                   aux_lb[changed].astype(float),
                                   aux_ub[changed].astype(float))
                self.aux_lb, self.aux_ub = aux_lb.copy(), aux_ub.copy()
        wanted = {id(b) for b in rows or []}
        for b in rows or []:
            self.add_rows(b, permanent=False)
        for key, (first, block, permanent) in self.blocks.items():
            active = permanent or key in wanted
            if active == (key in self.on) or not block.n_rows:
                continue
            idx = np.arange(first, first + block.n_rows, dtype=np.int32)
            if active:
                h.changeRowsBounds(idx.size, idx, block.lower.astype(float),
                                   block.upper.astype(float))
                self.on.add(key)
            else:
                h.changeRowsBounds(idx.size, idx, np.full(idx.size, -highspy.kHighsInf),
                                   np.full(idx.size, highspy.kHighsInf))
                self.on.discard(key)
        if basis is not None or not self.started:
            start = basis if basis is not None else self.basis
            n_rows = h.getNumRow()
            if start.col.size <= self.n_cols and start.row.size <= n_rows:
                set_basis(h, start.extended(self.n_cols, n_rows, *self._col_bounds()))
            self.started = True
        allow_seconds(h, max(time_limit, 0.1))
        t_build = time.perf_counter() - t0
        self.changes += 1
        r = run(h, integral=False, want_duals=True, want_basis=False)
        x = None if r.x is None else r.x
        # a copy (a millisecond): callers may change the outcome's array in place
        self.solved_x = x.copy() if x is not None and r.status == "Optimal" else None
        return LpOutcome(norm_status(r.status), x, r.objective, r.col_dual, r.row_dual,
                         {"build": t_build, "lp": r.seconds},
                         {"lp_algorithm": "simplex", "lp_iterations": r.iterations,
                          "start_basis": "session"}, None)

    def _col_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The columns' bounds now: the binaries' [0, 1], then the auxiliaries'."""
        return (np.r_[np.zeros(self.spec.n_x), self.aux_lb],
                np.r_[np.ones(self.spec.n_x), self.aux_ub])

    def basis_now(self) -> Basis:
        """HiGHS's current basis (for another model over a prefix of these rows/columns).

        Read as the rows' statuses and, for the columns, which are basic
        (``getBasicVariables``) and, for a nonbasic one, the bound its value sits at: highspy
        hands each status over as a Python object, and the columns are ten times as many as
        the rows (on the demo area 0.3 s per basis).

        The columns' values are those of the last optimal LP, kept by :meth:`lp` (no second
        copy of the solution out of HiGHS). Columns appended since then are padded with the
        value HiGHS gives a new column — its lower bound if finite, else its upper, else 0 —
        so they read as nonbasic at that bound, as HiGHS makes them (appended rows are basic
        in ``getBasicVariables``). Falls back to reading every status only where that value
        is missing (no optimal LP yet) or does not match the model."""
        h = self.h
        x = self.solved_x
        status, basic = h.getBasicVariables()
        basic = np.asarray(basic)
        if status != highspy.HighsStatus.kOk or x is None or x.size > self.n_cols or \
                basic.size != h.getNumRow():
            return get_basis(h)
        lb, ub = self._col_bounds()
        if x.size < self.n_cols:
            tail = slice(x.size, None)
            x = np.r_[x, np.where(np.isfinite(lb[tail]), lb[tail],
                                  np.where(np.isfinite(ub[tail]), ub[tail], 0.0))]
        with np.errstate(invalid="ignore"):
            at_upper = np.isfinite(ub) & (np.abs(x - ub) < np.abs(x - lb))
        col = np.where(at_upper, UPPER, np.where(np.isfinite(lb), LOWER,
                                                 np.where(np.isfinite(ub), UPPER, ZERO)))
        col = col.astype(np.int8)
        col[basic[basic >= 0]] = BASIC
        row = np.array(list(map(int, h.getBasis().row_status)), np.int8)
        return Basis(col, row)


def set_start(h: highspy.Highs, x0: np.ndarray) -> None:
    """A starting solution for HiGHS's MIP."""
    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(x0, float).tolist()
    sol.value_valid = True
    h.setSolution(sol)
