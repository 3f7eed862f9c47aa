"""Solve a ModelSpec: LP relaxation first, stronger rows, a small MIP, a proven gap always.

Why not hand the model to HiGHS's MIP directly? Measured on this model family, HiGHS's MIP
setup (the clique partition of the objective) grows quadratically with the number of binaries
and does not honour ``time_limit`` (10 k cells ≈ 35 s, 20 k ≈ 120 s, all before branching),
while the LP relaxation of the semi-assignment core is integral, or nearly so: a basic optimal
solution has at most as many fractional units as there are coupling (non-assignment) rows.

The ``auto`` method therefore

1. solves the LP relaxation (dual simplex from the semi-assignment crash basis for small and
   medium models, interior point + crossover for large ones, column generation for national
   ones); its optimum ``z_LP`` is an upper bound on every integer allocation, and its row
   duals are the prices the reports use;
2. if every binary is integral, that vertex *is* an optimal integer allocation;
3. otherwise strengthens the model (:mod:`ruimteverdeling.model.strengthen`): derived rows
   that the LP vertex violates are added and the LP is solved again from its basis, a few
   rounds; the strengthened LP optimum is the bound from then on. Levels of minimax rows get
   integer counts. A model solved by column generation (up to ``DECOMPOSED_SEARCH_MAX_COLUMNS``
   columns) gets the derived rows its point violates too, proven over a restricted master and
   one pricing of every column (or a second column generation) on the whole strengthened
   model (:mod:`ruimteverdeling.model.master_rows`);
4. repairs the fractional units with a small MIP over them and their near-ties (starting from
   the rounded LP solution) for an incumbent — unless the model has a minimax level whose
   whole-cell knapsack bound lies more than the decision tolerance below the strengthened LP
   bound: that repair then cannot end the solve, and the repair in the level's best window
   (step 5) runs first and gives the incumbent (:data:`WINDOW_FIRST_TOLERANCES`; the root
   repair runs only when it finds none); if that sub-MIP is infeasible the free set grows,
   and as a last resort the full MIP runs under the time limit. A re-solve with a warm start
   (:mod:`ruimteverdeling.model.warm`) whose allocation is feasible ends as soon as the LP
   bound, or the strengthened one, proves that allocation within the decision gap, and
   repairs one neighbourhood only (it has an incumbent already);
5. while the decision gap is open and the model has a minimax level: the whole-cell knapsack
   bound of each level (:func:`ruimteverdeling.model.strengthen.knapsack_level_bound`, from
   the duals of the strengthened LP, or of column generation) replaces the bound where it is
   lower; a local search that trades burden between the level's regions
   (:func:`ruimteverdeling.model.strengthen.level_swaps`) improves the incumbent, after a
   repair with the level confined to the best of a few narrow windows just above the LP's
   level, with that window's own derived rows (:mod:`ruimteverdeling.model.level_window`);
   then single-unit moves that keep every row
   (:func:`ruimteverdeling.model.strengthen.unit_moves`) polish it (a model solved by column
   generation gets this step only up to ``DECOMPOSED_SEARCH_MAX_COLUMNS`` columns);
6. while the decision gap is open: a branch and bound on each minimax level with LP bounds
   (:func:`ruimteverdeling.model.strengthen.level_bounds`) tightens the bound and confines the
   level to a window (it stops early when at its pace it would not get below the knapsack
   bound, or when its bound has not fallen over the last ``STALL_LPS`` LPs: on the demo area
   9 LPs, 5 of them answered by their parent's LP, from 1,628,218 to 1,628,182, which proves
   the window's allocation within the decision gap); reduced-cost fixing (from every open
   level node's LP, and from each level's whole-cell knapsack bound under its prices:
   :func:`ruimteverdeling.model.strengthen.knapsack_losses` and the curve's capacity losses)
   removes every column that cannot be part of a better allocation, and
   when what remains is small enough (``full_mip_max_binaries``) HiGHS's branch and bound
   works on it — strengthened rows, counts and level window included — from the incumbent
   until the decision gap is proven or ``RC_MIP_CHECKS`` interrupt checks are spent; its dual
   bound then tightens the reported bound.

Without column generation every step stops at a count of its work (interrupt checks, LPs,
moves checked), never at the clock, so the same model and options give the same allocation,
objective and bound on an idle and on a loaded machine (column generation's rounds still
share out the time limit). The time limit is a cap behind those budgets: a run that reaches it
lists the steps it cut short (``time_limit_cut`` in the details, with a note) and may differ.

The reported bound is always an LP optimum or a MIP dual bound of a model that keeps every
integer allocation, so the gaps are proven. ``mip_rel_gap`` refers to the *decision gap*
(:mod:`ruimteverdeling.model.outcomes`); a solution is called optimal only when that gap is
within it.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ruimteverdeling.errors import InfeasibleError, SolverError
from ruimteverdeling.model import cores, decompose, level_fix, level_window, master_rows
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import (
    Backend,
    LpOutcome,
    MipOutcome,
    Solution,
    abs_gap_target,
    decision_gap,
    proven_gap,
)
from ruimteverdeling.model.spec import ModelSpec
from ruimteverdeling.model.stopping import PatientStop
from ruimteverdeling.model.warm import WarmStart, mapped_basis, mapped_x, warm_start

__all__ = ["Backend", "HighsBackend", "LpOutcome", "MipOutcome", "Solution", "backend_for",
           "decision_gap", "proven_gap", "solve", "verified"]

INT_TOL = 1e-6
STRENGTHEN_ROUNDS = 4
"""Rounds of adding violated derived rows and re-solving the LP."""
STRENGTHEN_MAX_ROW_NNZ = 2_000_000
"""Rows with more entries are not strengthened (a derived row is as dense as its source)."""
LEVEL_PREFETCH = False
"""Whether the level search's likely node LPs are solved in a thread of their own while the
search computes its whole-cell node bounds (see :func:`level_prefetch`; the search gets a
session of its own, and its result is the same whatever the thread solves). Off (the
search's LPs one after the other in the main session, unless a caller hands
:func:`_close_gap` LPs solved ahead): on the demo area on a machine whose two cores were taken by
other work (load 3.5-4.5) the search's process time stayed below its wall time with the
thread (4.4-4.7 s of CPU in 6.5-7.5 s) and the whole solve was no faster (wall ratio on/off
median 1.07, range 0.73-1.49, three pairs); LPs solved ahead while another step runs are
where the time is (the search 2.4-3.1 s instead of 4.6-5.3 s with its four node LPs ready)."""
LEVEL_SEARCH_LPS = 60
"""Most LPs the branch and bound on a minimax level may solve (its budget: the time limit is
only a cap behind it)."""
REPAIR_SHARE = 0.02
"""Share of the time limit a repair attempt gets (at least ``REPAIR_MIN_SECONDS``) where the
backend cannot count interrupt checks (its MIP then stops by the clock), and the share column
generation leaves for the repair."""
REPAIR_MIN_SECONDS = 2.0
REPAIR_CHECKS = 80
"""The repair MIP's budget in HiGHS's interrupt checks (the points of its search where it
asks whether to stop; they fall at the same points whatever the machine's load, so the repair
ends with the same allocation on an idle and a loaded machine, where a budget in seconds did
not). Past it the repair stops at its first incumbent that is not poor (see
``REPAIR_POOR_GAP``). Measured on the demo area (the solve's objective after every later
step): HiGHS spends about 35 checks on the root; a budget of 40 or 60 checks ends at
1,628,039.3, 80 or 100 at 1,628,060.7 (its incumbent improves at check 72); on the 3 k-cell
area the repair proves its gap at check 63, on the 10 k-cell one at check 3."""
REPAIR_PATIENCE = 4
"""Most multiples of ``REPAIR_CHECKS`` the repair MIP may run while its incumbent is still
poor; past them it stops with what it has (without an allocation the neighbourhood grows)."""
REPAIR_POOR_GAP = 10.0
"""A repair incumbent is *poor* while it lies more than this many decision tolerances
``mip_rel_gap · |z − z_sq|`` below the repair MIP's own dual bound. Past its budget the repair
MIP stops at the first incumbent that is not poor, and runs on (up to ``REPAIR_PATIENCE``
budgets) while it is: on the 3 k-cell area the first incumbents are poor (89 tolerances)
and a cut-off run used to fall through to branch and bound on the whole model."""
RC_MIP_CHECKS = 500
"""The branch and bound after reduced-cost fixing stops after this many interrupt checks
unless it has proven the decision gap first (a deterministic budget; the time limit is a cap
behind it)."""
FIX_TOLERANCE_SHARE = 0.9
"""Share of the decision tolerance ``t`` (at the incumbent ``z_inc``) that reduced-cost fixing
gives away: a column whose every allocation is worth at most ``z_inc + 0.9 t`` is fixed too
(its allocations are within the gap already), and the region's bound is then the larger of the
branch and bound's and ``z_inc + 0.9 t``. Below 1 so that a region closed this way leaves a
margin to the tolerance that round-off cannot eat. Measured on the 50 k-cell area (250 m):
with the incumbent 1.45 below the knapsack bound and 1.23 allowed, fixing at the whole gap
kept 99,680 binaries (more than ``full_mip_max_binaries``: no branch and bound); at the gap
less ``0.9 t`` 29,467, whose branch and bound proves the region in three nodes."""
PROVE_SETTINGS: dict[str, object] = {
    "mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False, "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False}
"""HiGHS options of the branch and bound after reduced-cost fixing when it starts from the
incumbent and that incumbent lies less than 1.5 fixing slacks below the region's bound (a near
tie): what is left to do is lowering the bound, and HiGHS's primal heuristics (their sub-MIPs
above all) spend the time its branching needs. Measured on the 50 k-cell area (250 m, 29,467
binaries left, loaded): 89 s to a proven bound with the heuristics, 46 s without; the same
three nodes prove it."""
REPAIR_SETTINGS: dict[str, object] = {"threads": 1}
"""HiGHS options of the repair sub-MIPs of a model solved without column generation: one
thread. On one thread HiGHS's MIP asks the interrupt callback more often per node, so the
budget of ``REPAIR_CHECKS`` checks ends after less search (the budget is still a count, so
the allocation still does not depend on the machine's load). Measured on the demo area (the
level-window repair: 768 free units, 80 checks; loaded, three runs each): one thread 3 nodes
in 4.0 s, two threads 121 nodes in 5.3–5.7 s, the same incumbent (and the same search on
every run with either count); the solve's objective and bound are the same on the demo,
3 k and 10 k areas."""
DECOMPOSED_RESERVE_SHARE = 0.2
"""Share of the time limit that column generation's rounds leave for the repair and what
follows it, so that a national solve whose LP is slow still ends with an integer allocation.
Without a point that meets every row by then, column generation may use this reserve (less
one repair attempt's budget) to find one: without it there is nothing to repair."""
LEVEL_SWAP_CHECKS = 500
"""Feasibility checks the local search that lowers a minimax level may make (a deterministic
budget; the time limit is only a cap behind it). On the demo area, loaded, 500 checks take
1.0 s (3.0 s before a move's partners were found once per pair of uses and its row changes
read from the column slices)."""
UNIT_MOVE_CHECKS = 20_000
"""Moves the single-unit search that polishes the incumbent may check (a deterministic
budget: ≈ 8,500 on the demo, ≈ 1 s; the time limit is only a cap behind it)."""
DECOMPOSED_SEARCH_MAX_COLUMNS = 3_000_000
"""A model solved by column generation up to this many columns gets the whole-cell knapsack
bound of its levels and the local searches too (at 200 k cells, 1.7 M columns: ≈ 13 s for
the knapsack tables and 5 s for the searches, loaded); a larger one would spend its time on
them that its LP needs."""
WINDOW_FIRST_TOLERANCES = 10.0
"""Before the root repair of a model with a minimax level, the whole-cell knapsack curve of
each level is built for a stand-in incumbent this many decision tolerances ``t`` (at the
strengthened LP bound) below that bound: a curve holds for any incumbent value (outside the
window of levels it tabulates exactly it uses the relaxed knapsacks, which only loosens it),
so the stand-in changes how wide the exact window is, not the bound's validity. When its
bound lies more than ``t`` below the LP bound, the LP's level cannot be met by whole cells and
the repair at the root vertex cannot end the solve: the level-window repair runs first and
its allocation is the first incumbent (the root repair runs only when it finds none).
Measured on the demo area: with 10 tolerances (the root repair's incumbent lay 11.7 below)
the curve, its bound 1,628,229.0 and the chosen window are those of the real incumbent's
curve; with 0 the exact window is empty and the curve is the LP bound."""
REPAIR_BESIDE: bool | None = None
"""The level window's repair sub-MIP (on the demo area the first incumbent, 2.5–3 s of HiGHS
on one thread) runs in a worker thread
(:func:`~ruimteverdeling.model.highs_backend.beside`) while the main thread solves the LPs of
the steps after it that do not need its allocation (:class:`_Ahead`). False: the same work in
sequence on one thread. Both give the same result: the sub-MIP stops at a count of interrupt
checks, whatever the other thread does, and the LP session sees the same LPs in the same
order either way. None (the default): in a thread where a second core looks free while the
root LP is solved (:class:`~ruimteverdeling.model.cores.IdleMeter`), in sequence where it
does not (two threads on one busy core are slower than one); the same decision governs the
knapsack fills solved beside the window's LP and the level search's LPs and node bounds
started before the window step (:class:`_EarlySearch`). The derived rows' candidates are
made beside the root LP unless this is False (the measurement ends after that LP; their CPU
time is credited to it). Recorded in the solution's ``beside``."""
KNAPSACK_SECOND_WORK = 1e9
"""Knapsack table entries times options per second (see
:data:`~ruimteverdeling.model.strengthen.KNAPSACK_WORK`): a decomposed model's knapsack
tables may take ``KNAPSACK_TIME_SHARE`` of the time left."""
KNAPSACK_TIME_SHARE = 0.5
"""Share of the time left that a decomposed model's knapsack tables may take. After the repair
they are the one step that lowers its bound (the local searches after them take seconds).
Measured on the 200 k-cell area (250 m, loaded): its tables are about 1.5e10 entries times
options, 12–17 s, and lower the bound by 6; with a quarter of the time left (about 14 s at a
120 s limit once the derived rows are in) they were skipped."""

Progress = Callable[[str], None]


def no_incumbent_message(options: SolverOptions, what: str, lp_done: bool = False) -> str:
    """What to change when the time limit ran out before any allocation was found."""
    advice = [f"raise the time limit (--time-limit, now {options.time_limit:g} s)"]
    if options.method == "mip":
        advice.append("use --method auto (the LP relaxation first: far faster on large models)")
    if lp_done:
        advice.append("use --method lp for the LP relaxation only (a bound and a fractional "
                      "allocation)")
    advice.append("explore at a coarser resolution first (solve --resolution M) or use a "
                  "smaller area")
    return f"time limit reached: {what}; " + ", or ".join(advice)


def backend_for(options: SolverOptions) -> Backend:
    if options.backend == "pyomo":
        from ruimteverdeling.model.pyomo_backend import PyomoBackend

        return PyomoBackend()
    return HighsBackend()


def solve(spec: ModelSpec, options: SolverOptions | None = None,
          progress: Progress | None = None, warm: WarmStart | None = None,
          prices: np.ndarray | None = None) -> Solution:
    """Solve ``spec`` with the backend and method in ``options`` (see the module docstring).

    ``warm``: the :attr:`Solution.warm` of an earlier solve of a related model (see
    :mod:`ruimteverdeling.model.warm`): its LP basis starts the first LP where it is a basis of
    ``spec``, and its allocation, where feasible for ``spec``, is an incumbent from the start.
    What is proven does not change. The returned solution carries its own warm start.

    ``prices``: coupling duals to start the decomposed LP from (instead of a sample's; e.g.
    those of a column generation over the same rows)."""
    options = options or SolverOptions()
    say = progress or (lambda msg: None)
    backend = backend_for(options)
    if options.method == "mip":
        sol = _solve_mip(spec, backend, options, say, warm)
    else:
        sol = _solve_lp_first(spec, backend, options, say,
                              relaxation_only=options.method == "lp", warm=warm,
                              prices=prices)
    sol = verified(spec, sol)
    basis = sol.details.pop("_lp_basis", None)
    sol.warm = warm_start(spec, sol.x, basis, sol.objective)
    return sol


def _warm_incumbent(spec: ModelSpec, backend: Backend, options: SolverOptions,
                    warm: WarmStart | None, details: dict[str, Any]) -> np.ndarray | None:
    """The warm start's allocation mapped onto ``spec``, its auxiliaries re-optimised, if it
    meets every row of ``spec`` (else None)."""
    if warm is None:
        return None
    x = mapped_x(warm, spec)
    if x is None:
        details["warm_incumbent"] = "a cell's use is not allowed here"
        return None
    x = _polish(spec, backend, options, x, force=True)
    bad = spec.violations(x)
    details["warm_incumbent"] = "feasible" if not bad else \
        "breaks " + ", ".join(sorted(bad)[:3])
    return None if bad else x


def _warm_basis(spec: ModelSpec, warm: WarmStart | None) -> Any:
    """The warm start's basis for ``spec`` (a highspy Basis) or None."""
    if warm is None or warm.basis is None:
        return None
    out = mapped_basis(warm, spec, hb.LOWER, hb.UPPER, hb.ZERO, hb.BASIC)
    return None if out is None else hb.Basis(*out)


def verified(spec: ModelSpec, sol: Solution, tol: float = 1e-6) -> Solution:
    """``sol`` after checking its allocation against every row and bound of ``spec``.

    Whatever the solver reported, an allocation that breaks a hard row (beyond the relative
    tolerance of :meth:`ModelSpec.violations`), or whose objective or bound is not a finite
    number, is never passed on as a solution — let alone an optimal one: that is a
    numerical failure (:class:`SolverError`), reported with the rows it breaks.
    """
    bad = spec.violations(sol.x, tol=tol)
    if not np.isfinite(sol.objective):
        bad["objective"] = float("inf")
    if bad:
        worst = ", ".join(f"{name} (by {v:.4g})" for name, v in
                          sorted(bad.items(), key=lambda kv: -kv[1])[:5])
        raise SolverError(
            f"the solver returned an allocation that breaks hard rows: {worst}; this is "
            "numerical trouble, not a solution (solver status "
            f"'{sol.details.get('mip_status') or sol.details.get('lp_status') or sol.status}')"
            ". Check the scenario's numbers for extreme magnitudes (targets, penalties, "
            "weights), or try `solver.lp_algorithm: simplex`")
    return sol


def _polish(spec: ModelSpec, backend: Backend, options: SolverOptions, x: np.ndarray,
            force: bool = False) -> np.ndarray:
    """``x`` with its auxiliary columns (slacks, levels) re-optimised for its binaries: an LP
    over the auxiliaries alone, whose vertex gives exact values (a MIP returns them only to
    its feasibility tolerance, which derived rows with fractional coefficients make visible).
    Kept if it is feasible and not worse beyond that tolerance (``force``: whenever the LP
    solves, for a point whose auxiliaries come from another model)."""
    if not spec.aux_names or hb.solver_running():
        return x  # (a MIP abandoned at the time limit is still stopping: do not wait for it)
    sub, cols = spec.restrict(np.zeros(spec.n_units, bool), x)
    try:
        out = backend.lp(sub, options, 10.0)
    except Exception:  # a polish that fails changes nothing
        return x
    if out.status != "optimal" or out.x is None:
        return x
    cand = x.copy()
    cand[cols] = out.x
    if force:
        return cand
    z_old, z_new = spec.objective_value(x), spec.objective_value(cand)
    if spec.violations(cand) or z_new < z_old - 1e-6 * max(1.0, abs(z_old)):
        return x  # (lower only by the tolerance the MIP's auxiliaries leaned on)
    return cand


def _finish(spec: ModelSpec, options: SolverOptions, x: np.ndarray, objective: float,
            bound: float, method: str, backend: Backend, seconds: dict[str, float],
            details: dict[str, Any], row_dual: np.ndarray | None, proven: bool = True,
            timed_out: bool = False, status: str | None = None,
            aux_polished: bool = False) -> Solution:
    """A Solution with both gaps; optimal only when the decision gap is within the tolerance,
    or the gap is round-off (:func:`numeric_gap`), and the run that produced the bound
    claims it (``proven``). ``aux_polished``: ``x``'s auxiliaries are already re-optimised
    for its binaries (no :func:`_polish`)."""
    sq = spec.status_quo_value
    if status != "relaxation" and not aux_polished:
        t0 = time.perf_counter()
        polished = _polish(spec, backend, options, x)
        seconds["polish"] = time.perf_counter() - t0
        if polished is not x:
            x, objective = polished, spec.objective_value(polished)
            bound = max(bound, objective)
    gap = proven_gap(objective, bound)
    dgap = decision_gap(objective, bound, sq)
    cut = details.get("time_limit_cut") or (details.get("strengthen") or {}).get(
        "time_limit_cut")
    if cut:
        timed_out = True
        details["time_limit_note"] = CAPPED_NOTE.format(steps=", ".join(cut))
    if status is None:
        if proven and (dgap <= options.mip_rel_gap + 1e-12
                       or bound - objective <= numeric_gap(objective)):
            status = "optimal"
        else:
            status = "time_limit" if timed_out else "feasible"
    return Solution(status, x, objective, bound, gap, method, backend.name, backend.label(),
                    seconds, details, row_dual, sq, dgap)


NUMERIC_ABS_GAP = 1e-6
"""The absolute gap below which bound and objective are equal to the solvers' accuracy
(HiGHS's own ``mip_abs_gap`` default, at which it calls a MIP optimal)."""
NUMERIC_REL_GAP = 1e-9
"""The part of that accuracy that grows with the objective's size."""


def numeric_gap(objective: float) -> float:
    """The gap ``bound − objective`` that is round-off, not an open question: a bound read
    from an LP (or a MIP's dual bound) is exact only to the solver's feasibility and
    optimality tolerances, so an LP optimum that is integral reports a bound a few units of
    ``1e-7`` above the objective of that very allocation. A gap within
    ``NUMERIC_ABS_GAP + NUMERIC_REL_GAP · |objective|`` is taken as closed, as HiGHS takes it."""
    return NUMERIC_ABS_GAP + NUMERIC_REL_GAP * abs(objective)


CAPPED_NOTE = ("the time limit was reached before these steps had spent their budgets: "
               "{steps}; they were cut short by the clock, so a run on an idler machine or "
               "with a longer time limit may give another allocation (without the time limit "
               "every step stops at a count of its work, and the same inputs give the same "
               "allocation)")
"""The note a run cut short by the clock carries in its details."""


def _secs(t0: float) -> str:
    """The seconds since ``t0``, for a step's progress line."""
    return f"{time.perf_counter() - t0:.1f} s"


def _took(parts: dict[str, float]) -> str:
    """The seconds of a step timed in parts (build, solve), for its progress line."""
    return f"{sum(parts.values()):.1f} s"


def _capped(details: dict[str, Any], step: str) -> None:
    """Record that ``step`` was cut short by the time limit (see :data:`CAPPED_NOTE`)."""
    steps = details.setdefault("time_limit_cut", [])
    if step not in steps:
        steps.append(step)


def _stopper(spec: ModelSpec, rel_gap: float, offset: float = 0.0,
             bound_cap: float = np.inf) -> Callable[[float, float], bool]:
    """A MIP stop test on (incumbent, dual bound) of a (sub-)model whose objective plus
    ``offset`` is the full model's: stop once the full model's decision gap is proven within
    ``rel_gap`` (``bound_cap``: a bound already proven for the full model)."""
    sq = spec.status_quo_value

    def stop(primal: float, dual: float) -> bool:
        if not (np.isfinite(primal) and np.isfinite(dual)):
            return False
        z = primal + offset
        b = min(dual + offset, bound_cap)
        b = max(b, z)
        return b - z <= abs_gap_target(rel_gap, z, b, sq)

    return stop


def _repair_stop(spec: ModelSpec, rel_gap: float, offset: float, bound: float,
                 budget: int = REPAIR_CHECKS, whole_after: int | None = None) -> PatientStop:
    """The stop test of a repair sub-MIP whose objective plus ``offset`` is the full model's,
    under the full model's proven ``bound``, with a budget of ``budget`` interrupt checks.

    It is done when its incumbent cannot cost more than half the decision gap ``rel_gap``
    against its own dual bound (capped by ``bound``: the neighbourhood holds nothing much
    better), or when it is within the whole ``rel_gap`` of ``bound`` (the solve then ends
    proven: nothing after the repair could change its answer). Past its budget it also
    stops at an incumbent that is not poor (within ``REPAIR_POOR_GAP`` decision gaps of its
    own dual bound; see :class:`~ruimteverdeling.model.stopping.PatientStop`). With
    ``whole_after``, from that many checks on the whole ``rel_gap`` against its own dual
    bound is enough as well."""
    half = _stopper(spec, 0.5 * rel_gap, offset, bound)
    whole = _stopper(spec, rel_gap, offset, bound)

    def done(primal: float, dual: float) -> bool:
        if half(primal, dual) or whole(primal, bound - offset):
            return True
        return whole_after is not None and stop.checks >= whole_after and \
            whole(primal, dual)

    stop = PatientStop(done, _stopper(spec, REPAIR_POOR_GAP * rel_gap, offset), budget,
                       REPAIR_PATIENCE)
    return stop


class _Rebuild:
    """An LP session for a backend without one (see
    :class:`~ruimteverdeling.model.highs_backend.LpSession`): the same operations, but every
    re-solve hands over the whole model."""

    def __init__(self, backend: Backend, spec: ModelSpec, options: SolverOptions):
        self.backend, self.model, self.options = backend, spec, options

    def add_columns(self, lb: np.ndarray, ub: np.ndarray, cost: np.ndarray) -> None:
        k = int(np.asarray(lb).size)
        self.model = self.model.with_columns([f"aux:{self.model.n_cols + i}"
                                              for i in range(k)], lb, ub, cost)

    def add_rows(self, block: Any, permanent: bool = True) -> None:
        """Append a RowBlock; rows that are not ``permanent`` are only in the re-solves
        that name them (as in the HiGHS session: rows valid only in a window of a level
        must not stay in the model's later LPs)."""
        if permanent:
            self.model = self.model.with_rows(block)

    def lp(self, aux_lb: np.ndarray | None = None, aux_ub: np.ndarray | None = None,
           rows: list[Any] | None = None, time_limit: float = 600.0,
           basis: Any = None) -> LpOutcome:
        from dataclasses import replace

        model = self.model
        if aux_lb is not None and aux_ub is not None:
            model = replace(model, aux_lb=aux_lb, aux_ub=aux_ub)
        for b in rows or []:
            model = model.with_rows(b)
        return self.backend.lp(model, self.options, time_limit,
                               **({"basis": basis} if basis is not None else {}))


def _session(backend: Backend, spec: ModelSpec, options: SolverOptions) -> Any:
    """A persistent LP of ``spec`` (see :class:`~ruimteverdeling.model.highs_backend.LpSession`)
    where the backend offers one and the LP is solved by the simplex method."""
    algorithm = options.lp_algorithm
    simplex = algorithm == "simplex" or (algorithm == "auto" and spec.n_cols < 500_000)
    if hasattr(backend, "session") and simplex:
        return backend.session(spec, options)  # type: ignore[attr-defined]
    return _Rebuild(backend, spec, options)


def _mip(backend: Backend, spec: ModelSpec, options: SolverOptions, time_limit: float,
         start: np.ndarray | None, abs_gap: float,
         stop: Callable[[float, float], bool] | None,
         settings: dict[str, object] | None = None) -> MipOutcome:
    """A MIP run that stops at ``abs_gap`` and, where the backend can, at ``stop``
    (``settings``: further options of a backend that can stop, e.g. HiGHS's)."""
    if stop is not None and getattr(backend, "supports_stop", False):
        more = {"settings": settings} if settings else {}
        return backend.mip(spec, options, time_limit, 0.0, start, abs_gap=abs_gap,
                           stop=stop, **more)  # type: ignore[call-arg]
    return backend.mip(spec, options, time_limit, 0.0, start, abs_gap=abs_gap)


# ---------------------------------------------------------------------------------------------
def _solve_mip(spec: ModelSpec, backend: Backend, options: SolverOptions, say: Progress,
               warm: WarmStart | None = None) -> Solution:
    say(f"MIP: {spec.n_x:,} binaries, {spec.n_rows:,} rows ({backend.name} branch and bound)")
    sq = spec.status_quo_value
    # without a bound yet, the only safe absolute target is the one for the smallest decision
    # value; the stop test relaxes it as the search proves more
    abs_gap = abs_gap_target(options.mip_rel_gap, None, np.inf if sq is None else sq, sq)
    start = _warm_incumbent(spec, backend, options, warm, {})
    r = _mip(backend, spec, options, options.time_limit, start, abs_gap,
             _stopper(spec, options.mip_rel_gap))
    if r.x is None:
        if r.status == "infeasible":
            raise InfeasibleError("the hard targets and rules cannot all hold (infeasible)")
        if r.status == "time_limit":
            raise SolverError(no_incumbent_message(options, "the MIP found no allocation"))
        raise SolverError(f"no solution found ({r.status})")
    x = _clean_binaries(spec, r.x)
    objective = spec.objective_value(x)
    bound = r.bound if r.bound is not None else np.inf
    bound = max(bound, objective)
    proven = r.status in ("optimal", "stopped")
    return _finish(spec, options, x, objective, bound, "mip", backend, dict(r.seconds),
                   {"mip_status": r.status, **r.details}, None, proven=proven,
                   timed_out=r.status == "time_limit")


def _solve_lp_first(spec: ModelSpec, backend: Backend, options: SolverOptions, say: Progress,
                    relaxation_only: bool, warm: WarmStart | None = None,
                    prices: np.ndarray | None = None) -> Solution:
    """The LP relaxation first, then an incumbent and the steps that close the gap
    (:func:`_lp_first`); the level search's LPs still being solved ahead in a thread of
    their own (:class:`_Ahead`, :class:`_EarlySearch`) are stopped, and their thread ended,
    before this returns or raises (a Ctrl-C included). A second Ctrl-C while that thread
    finishes its LP is raised at once, and the thread, still solving, is listed with the
    cancelled solves still running (:func:`~ruimteverdeling.model.highs_backend.solver_running`)."""
    ahead: list[_Ahead] = []
    early: list[_EarlySearch] = []
    try:
        return _lp_first(spec, backend, options, say, relaxation_only, warm, prices, ahead,
                         early)
    finally:
        for a in [*early, *(a.search for a in ahead)]:
            if a is not None:
                try:
                    a.stop()
                except BaseException:
                    if a.thread is not None:
                        hb.still_running(a.thread)
                    raise


def _lp_first(spec: ModelSpec, backend: Backend, options: SolverOptions, say: Progress,
              relaxation_only: bool, warm: WarmStart | None, prices: np.ndarray | None,
              ahead: list[_Ahead], early_search: list[_EarlySearch]) -> Solution:
    deadline = time.perf_counter() + options.time_limit
    meter = cores.IdleMeter()  # (whether a second core is free while the root LP runs)
    decomposed = spec.n_x > options.decompose_above and backend.name == "highs"
    candidates: Future | None = None  # (the derived rows' candidates, made beside the LP)
    if decomposed:
        say(f"LP relaxation by column generation: {spec.n_x:,} columns, {spec.n_units:,} "
            f"units, {spec.n_rows - spec.n_units:,} coupling rows")
        t0 = time.perf_counter()
        reserve = max(REPAIR_MIN_SECONDS, DECOMPOSED_RESERVE_SHARE * options.time_limit)
        res = decompose.lp(spec, options, backend, say, deadline - reserve, y_init=prices,
                           final_deadline=deadline - max(REPAIR_MIN_SECONDS,
                                                         REPAIR_SHARE * options.time_limit),
                           incumbent_stop=not relaxation_only)
        lp = LpOutcome("optimal" if res["converged"] else "not converged", res["x"],
                       res["objective"], res["col_dual"], res["row_dual"],
                       {"lp": time.perf_counter() - t0},
                       {"lp_algorithm": "column generation", "decomposition": res["details"]})
        if res["incumbent"] is not None:
            # a round's restricted LP, rounded, is proven within the tolerance by the
            # Lagrangian bound: nothing after the LP could change the answer
            x_inc, z_inc = res["incumbent"]
            say(f"LP relaxation: bound {float(res['bound']):,.4f}; the rounded point of its "
                f"last round is within the tolerance ({_took(lp.seconds)})")
            return _finish(spec, options, x_inc, z_inc, max(float(res["bound"]), z_inc),
                           "column generation+rounding", backend, dict(lp.seconds),
                           {"lp_status": lp.status, **lp.details,
                            "lp_bound": float(res["bound"])}, lp.row_dual,
                           aux_polished=res["incumbent_polished"])
        if not res["converged"] and spec.violations(res["x"]):
            raise SolverError(no_incumbent_message(
                options, "column generation found no allocation that meets every target and "
                "rule (if the time limit was not reached, the scenario may be infeasible: "
                "check it at a coarser --resolution, where infeasibility is explained)"))
        lp_bound = float(res["bound"])
    else:
        say(f"LP relaxation: {spec.n_cols:,} columns, {spec.n_rows:,} rows ({backend.name})")
        if not relaxation_only and REPAIR_BESIDE is not False:
            # the derived rows' candidates need the model alone: made beside the root LP
            # (HiGHS releases the interpreter lock while it solves; about 0.3 s on the demo
            # area), its CPU time credited to the meter that judges the other core's load
            candidates = _beside(_timed_candidates, spec)
        session = _session(backend, spec, options)
        start_basis = _warm_basis(spec, warm)
        if isinstance(session, _Rebuild):
            lp = backend.lp(spec, options, options.time_limit,
                            **({"basis": start_basis} if start_basis is not None else {}))
            lp_basis = lp.basis
        else:
            if start_basis is not None:
                session.basis = start_basis
            lp = session.lp(time_limit=options.time_limit)
            lp.details["start_basis"] = "warm" if start_basis is not None else "crash"
            lp_basis = session.basis_now() if lp.status == "optimal" else None
        lp.details["_lp_basis"] = lp_basis
        lp_bound = float(lp.objective) if lp.objective is not None else np.inf
    seconds = dict(lp.seconds)
    if lp.status == "infeasible":
        raise InfeasibleError("the hard targets and rules cannot all hold "
                              "(the LP relaxation is infeasible)")
    if not decomposed and lp.status == "time_limit":
        raise SolverError(no_incumbent_message(options, "the LP relaxation did not finish"))
    if not decomposed and (lp.status != "optimal" or lp.x is None or lp.objective is None):
        raise SolverError(f"the LP relaxation did not solve to optimality ({lp.status}); "
                          "raise `solver.time_limit` or try `solver.lp_algorithm: simplex`")
    bound = lp_bound
    x = lp.x
    frac_units = _fractional_units(spec, x)
    say(f"LP relaxation: bound {lp_bound:,.4f}, {frac_units.size} fractional units "
        f"({_took(lp.seconds)})")
    details: dict[str, Any] = {"lp_status": lp.status, **lp.details,
                               "fractional_units": int(frac_units.size), "lp_bound": lp_bound}
    if relaxation_only:
        obj = spec.objective_value(x)
        return _finish(spec, options, x, obj, bound, "lp", backend, seconds, details,
                       lp.row_dual, status="relaxation")

    x_round = _round_units(spec, x)
    if frac_units.size == 0 and not spec.violations(x_round):
        say("LP optimum is integral: it is an optimal allocation")
        objective = spec.objective_value(x_round)
        return _finish(spec, options, x_round, objective, max(bound, objective),
                       "lp-integral", backend, seconds, details, lp.row_dual)

    # a warm start's allocation that the bound already proves within the gap ends the solve
    x_warm = _warm_incumbent(spec, backend, options, warm, details)

    def warm_finish(bound: float, method: str, which: str) -> Solution | None:
        if x_warm is None:
            return None
        z = spec.objective_value(x_warm)
        if decision_gap(z, max(bound, z), spec.status_quo_value) > options.mip_rel_gap:
            return None
        say(f"the warm start's allocation is within the gap of the {which}")
        return _finish(spec, options, x_warm, z, max(bound, z), method, backend, seconds,
                       details, lp.row_dual)

    if (done := warm_finish(bound, "lp+warm", "LP bound")) is not None:
        return done

    # stronger rows: the model every MIP below works on
    work = spec
    col_dual = lp.col_dual
    method = "lp"
    levels: list[st.Level] = []
    derived: tuple[ModelSpec, np.ndarray | None] = (spec, None)
    root_basis: Any = None
    curves: dict[int, Callable[[float, float], float]] = {}
    fixing: list[Fixing] = []  # (knapsack bound, column losses) per level
    if not decomposed:
        t0 = time.perf_counter()
        cands, cpu = candidates.result() if candidates is not None else (None, 0.0)
        meter.credit(cpu)  # (this process's own work beside the LP is not another's load)
        if isinstance(session, _Rebuild) and lp.basis is not None and \
                hasattr(backend, "session") and spec.n_cols < 2_000_000:
            # the LP ran by interior point: re-solves warm-start from its vertex
            session = backend.session(spec, options)  # type: ignore[attr-defined]
            session.basis = lp.basis
        work, lp_s, info, levels, derived = _strengthen(spec, session, options, lp, deadline,
                                                        say, cands)
        seconds["strengthen"] = time.perf_counter() - t0
        details["strengthen"] = info
        if lp_s is not lp and lp_s.x is not None and lp_s.objective is not None:
            bound = min(bound, float(lp_s.objective))
            x = lp_s.x[: spec.n_cols]
            col_dual = None if lp_s.col_dual is None else lp_s.col_dual[: spec.n_cols]
            method += "+cuts"
            frac_units = _fractional_units(spec, x)
            x_round = _round_units(spec, x)
            if frac_units.size == 0 and not spec.violations(x_round):
                say("strengthened LP optimum is integral: it is an optimal allocation")
                objective = spec.objective_value(x_round)
                return _finish(spec, options, x_round, objective, max(bound, objective),
                               method + "-integral", backend, seconds, details, lp.row_dual)

    cg_duals = lp.row_dual  # the duals the decomposed path's knapsack bound prices rows at
    col_dual_bound = lp_bound  # the Lagrangian bound whose reduced costs ``col_dual`` are
    if decomposed and spec.n_cols <= DECOMPOSED_SEARCH_MAX_COLUMNS:
        # derived rows over the whole model, proven by pricing every column again (up to the
        # size whose knapsack bound and searches run too: the national models keep their
        # time for their LP)
        t0 = time.perf_counter()
        work, res_d, info = master_rows.strengthened(
            spec, x, lp.row_dual[spec.n_units:], col_dual, options, backend, say,
            deadline - max(REPAIR_MIN_SECONDS, DECOMPOSED_RESERVE_SHARE * options.time_limit))
        seconds["strengthen"] = time.perf_counter() - t0
        details["strengthen"] = info
        if res_d is not None and not spec.violations(res_d["x"][: spec.n_cols]):
            bound = min(bound, float(res_d["bound"]))
            x = res_d["x"][: spec.n_cols]
            col_dual = res_d["col_dual"][: spec.n_cols]
            cg_duals = res_d["row_dual"]
            method += "+cuts"
            frac_units = _fractional_units(spec, x)
            x_round = _round_units(spec, x)
            if frac_units.size == 0 and not spec.violations(x_round):
                # integral over the restricted master; whether it is optimal for the whole
                # model is what its gap to the priced bound says (``_finish`` decides)
                objective = spec.objective_value(x_round)
                say(f"strengthened master point is integral: objective {objective:,.3f}, "
                    f"bound {max(bound, objective):,.3f}")
                return _finish(spec, options, x_round, objective, max(bound, objective),
                               method + "-integral", backend, seconds, details, lp.row_dual)
            col_dual_bound = float(res_d["bound"])
        else:
            work = spec

    if (done := warm_finish(bound, method + "+warm", "strengthened LP bound")) is not None:
        return done
    dual_bound = bound  # the value of the LP whose reduced costs ``col_dual`` are
    if decomposed:
        dual_bound = max(dual_bound, col_dual_bound)
    repair_settings = None if decomposed else REPAIR_SETTINGS

    # ``ahead``: the LPs solved beside the first window repair of the root
    beside_ok = [False]  # whether the next window repair may have LPs solved beside it
    threaded = [False]  # whether work beside runs in a thread of its own (else in sequence)

    def window_repair(model: ModelSpec, out: LpOutcome, info: dict[str, Any]
                      ) -> np.ndarray | None:
        # the repair at a level window's LP vertex; besides the fractional units and their
        # near-ties it frees the units the whole-cell knapsack fill at the window's top moves
        x_w = out.x[: spec.n_cols]
        x_w_round = _round_units(spec, x_w)
        fills_future = info.pop("ahead", None)
        fills = fills_future.result() if fills_future is not None else \
            _knapsack_fills(levels, derived, model.aux_ub)
        moved = [m for lv, fill in zip(levels, fills, strict=True)
                 if (m := _fill_moves(spec, lv, fill, x_w_round)) is not None]
        wide = options.model_copy(update={"repair_units_per_fractional": (
            level_window.REPAIR_UNITS_SCALE * options.repair_units_per_fractional)})
        own: dict[str, Any] = {}  # the repair's record, merged once it is done

        def repair_here() -> np.ndarray | None:
            return _repair(spec, model, backend, wide, say, x_w, out.col_dual[: spec.n_cols],
                           x_w_round, _fractional_units(spec, x_w), bound, deadline, own, {},
                           grow=False,
                           extra=np.unique(np.concatenate(moved)) if moved else None,
                           settings=repair_settings,
                           whole_after=int(level_window.REPAIR_WHOLE_GAP_AFTER *
                                           REPAIR_CHECKS))[0]

        if not beside_ok[0]:
            cand = repair_here()
        else:
            beside_ok[0] = False

            def meanwhile(done: Callable[[], bool]) -> None:
                ahead.append(_lps_ahead(work, levels, session, backend, options, early, x,
                                        root_basis, deadline, threaded[0],
                                        early_search[0].result() if early_search else None))

            if threaded[0]:
                cand = hb.beside(repair_here, meanwhile, deadline, late=_LATE)
            else:
                cand = repair_here()
                meanwhile(lambda: True)
        if cand is _LATE:  # the sub-MIP did not stop at the deadline: left to its thread
            _capped(info, "repair")
            return None
        for key, value in own.items():
            if key == "time_limit_cut":
                for step in value:
                    _capped(info, step)
            else:
                info[key] = value
        return cand

    def fills_ahead(aux_lb: np.ndarray, aux_ub: np.ndarray) -> Future:
        # the fills at the window's top depend on the window and the duals of ``derived``
        # alone, not on the window's LP vertex: computed beside its derived-row LPs
        return _beside(_knapsack_fills, levels, derived, aux_ub)

    def polish_any(y: np.ndarray) -> np.ndarray:
        return _polish(spec, backend, options, y, force=True)

    def floor_ahead(z: float) -> None:
        # with an incumbent ``z`` known, the level search's LPs and node bounds solved ahead
        # skip the nodes the search will close unsolved: those whose curve bound is within the
        # tolerance of ``z`` (the search's own floor, set when it starts, is as high or
        # higher where the status quo lies below ``z``: the incumbent only rises; a node
        # skipped that the search still asks for, it solves itself, to the same result)
        if ahead and ahead[0].search is not None and np.isfinite(z):
            ahead[0].search.set_floor(z + abs_gap_target(options.mip_rel_gap, z, bound,
                                                         spec.status_quo_value))

    x_best: np.ndarray | None = None
    repair_bound = None
    early: dict[int, tuple[Callable[[float, float], float], float]] = {}
    windowed = False
    if not decomposed and levels:
        # (for every window step: the first incumbent's and the one after the root repair)
        threaded[0], why = (REPAIR_BESIDE, "set") if REPAIR_BESIDE is not None \
            else meter.spare()
        details["beside"] = {"threads": threaded[0], "why": why}
    if not decomposed and levels and x_warm is None and hasattr(session, "basis_now"):
        # the strengthened LP's optimal basis: the level search's root starts there (the
        # window and level-fixed LPs move the session's basis away from it)
        root_basis = session.basis_now()
        beside_ok[0] = hasattr(session, "changes")
        if threaded[0] and beside_ok[0] and hasattr(session, "h") and \
                hasattr(backend, "session"):
            # the level search's root LP and likely node LPs, with their node bounds, in
            # threads of their own from now on (see :class:`_EarlySearch`)
            w = _stand_in(spec, options, bound)
            early_search.append(_EarlySearch(work, levels, session, backend, options,
                                             root_basis, deadline,
                                             {lv.col: w for lv in levels}))
        x_best, objective = _window_first(spec, work, levels, session, derived, x, bound,
                                          options, deadline, details, seconds, say,
                                          window_repair, polish_any, early,
                                          fills_ahead if threaded[0] else None,
                                          (lambda: early_search[0].rank_by(early))
                                          if early_search else None)
        beside_ok[0] = False
        windowed = "level_window" in details
        floor_ahead(objective)
        if early_search and not ahead:
            # no window repair took it: stopped (the search then solves its LPs in the main
            # session, as it does in sequence)
            early_search[0].stop()
            early_search.clear()
    if x_best is None:
        # repair: a small MIP on the fractional units and their near-ties (one neighbourhood
        # only when a warm start already gives an allocation)
        x_best, repair_bound = _repair(spec, work, backend, options, say, x, col_dual,
                                       x_round, frac_units, bound, deadline, details,
                                       seconds, grow=x_warm is None,
                                       settings=repair_settings)
    if x_warm is not None and (x_best is None or spec.objective_value(x_warm)
                               > spec.objective_value(x_best)):
        x_best = x_warm
        method += "+warm"
    if x_best is None:
        remaining = deadline - time.perf_counter()
        if remaining > 1:
            say("repair MIP found nothing: running the full MIP under the time limit")
            opts = options.model_copy(update={"time_limit": remaining})
            full = _solve_mip(spec, backend, opts, say)
            full.seconds = {**seconds, **full.seconds}
            full.details = {**details, **full.details}
            return _finish(spec, options, full.x, full.objective, min(full.bound, bound),
                           "lp+full-mip", backend, full.seconds, full.details, lp.row_dual,
                           proven=full.details.get("mip_status") in ("optimal", "stopped"),
                           timed_out=deadline - time.perf_counter() <= 1)
        raise SolverError(no_incumbent_message(
            options, f"the LP relaxation solved (bound {bound:,.4f}) but no integer allocation "
            "was found", lp_done=True))
    objective = spec.objective_value(x_best)
    if repair_bound is not None:
        bound = min(bound, max(repair_bound, objective))
    method += "+repair-mip"
    searched = not decomposed or spec.n_cols <= DECOMPOSED_SEARCH_MAX_COLUMNS
    max_work = st.KNAPSACK_WORK
    if decomposed and searched:
        # column generation's duals are those of the whole model: the knapsack bound holds
        # for any duals, and is tight for optimal ones
        levels, derived = st.find_levels(spec), (work, cg_duals)
        max_work = max(max_work, KNAPSACK_SECOND_WORK * KNAPSACK_TIME_SHARE *
                       max(0.0, deadline - time.perf_counter()))
    if levels and searched and decision_gap(objective, bound, spec.status_quo_value) \
            > options.mip_rel_gap:
        bound = _knapsack_bound(derived, levels, objective, bound, details, seconds, say,
                                curves, max_work, fixing, early)
        if not decomposed:
            if root_basis is None and hasattr(session, "basis_now"):
                # the strengthened LP's optimal basis: the level search's root starts there
                # (the level-fixed LP moves the session's basis away from it)
                root_basis = session.basis_now()
            x_best, objective = _level_fixed_repair(spec, work, levels, session, curves, backend,
                                                    options, say, x_best, objective, bound,
                                                    deadline, details, seconds, derived,
                                                    root_basis if windowed else None,
                                                    ahead[0] if ahead else None)
            if not windowed:
                x_best, objective = level_window.improve(
                    spec, work, levels, session, curves, x, x_best, objective, bound,
                    options.mip_rel_gap, deadline, details, seconds, say,
                    repair=window_repair, polish=polish_any,
                    max_row_nnz=STRENGTHEN_MAX_ROW_NNZ,
                    ahead=fills_ahead if threaded[0] else None)
        floor_ahead(objective)
        x_best, objective = _level_swaps(spec, levels, x_best, objective, deadline, details,
                                         seconds, say)
    if searched and decision_gap(objective, bound, spec.status_quo_value) \
            > options.mip_rel_gap:
        x_best, objective = _unit_moves(spec, backend, options, x_best, objective, deadline,
                                        details, seconds, say)
    sq = spec.status_quo_value
    if decision_gap(objective, bound, sq) > options.mip_rel_gap and col_dual is not None \
            and deadline - time.perf_counter() > 1:
        x_best, objective, bound, closed = _close_gap(
            spec, work, levels, session if not decomposed else None, backend, options, say, x,
            col_dual, x_round, x_best, objective, bound, deadline, details, seconds, curves,
            root_basis, fixing, dual_bound,
            ahead[0].search if ahead else None, {c: w for c, (_, w) in early.items()})
        if closed:
            method += "+rc-mip"
    timed_out = deadline - time.perf_counter() <= 1
    if timed_out and not details.get("time_limit_cut"):
        _capped(details, "the steps after the repair")
    return _finish(spec, options, x_best, objective, max(bound, objective), method, backend,
                   seconds, details, lp.row_dual, timed_out=timed_out)


def _window_first(spec: ModelSpec, work: ModelSpec, levels: list[st.Level], session: Any,
                  derived: tuple[ModelSpec, np.ndarray | None], x_lp: np.ndarray,
                  bound: float, options: SolverOptions, deadline: float,
                  details: dict[str, Any], seconds: dict[str, float], say: Progress,
                  repair: level_window.Repair, polish: Callable[[np.ndarray], np.ndarray],
                  early: dict[int, tuple[Callable[[float, float], float], float]],
                  ahead: level_window.Ahead | None = None,
                  curves_made: Callable[[], None] | None = None
                  ) -> tuple[np.ndarray | None, float]:
    """The level-window repair as the first incumbent, where the whole-cell knapsack bound
    shows that the root repair cannot end the solve (see :data:`WINDOW_FIRST_TOLERANCES`).

    With ``t`` the decision tolerance at the strengthened LP bound ``z_LP``, each level's
    knapsack curve is built for the stand-in incumbent ``z_LP − WINDOW_FIRST_TOLERANCES · t``
    (into ``early``, with that value). An allocation found by the root repair at the LP's
    vertex is worth at most ``K = min`` over the levels of their curves' bounds; when
    ``K < z_LP − max(t, r)`` (``r``: round-off, :func:`numeric_gap`) the gap to the LP bound
    stays open whatever that repair finds, so the
    step that repairs where whole cells fit (:func:`ruimteverdeling.model.level_window.improve`,
    with no incumbent yet) runs instead. Returns its allocation and objective, or
    ``(None, −∞)`` when it did not run or found none (the root repair then runs).
    ``curves_made`` is called once ``early`` holds them all."""
    t0 = time.perf_counter()
    model, duals = derived
    if duals is None:
        return None, -np.inf
    tol = abs_gap_target(options.mip_rel_gap, bound, bound, spec.status_quo_value)
    stand_in = _stand_in(spec, options, bound)
    found = []
    for lv in levels:
        curve = st.knapsack_level_curve(model, lv, duals, stand_in)
        if curve is None:
            return None, -np.inf
        early[lv.col] = (curve, stand_in)
        j = lv.col - model.n_x
        found.append(curve(float(model.aux_lb[j]), float(model.aux_ub[j])))
    seconds["knapsack_first"] = time.perf_counter() - t0
    if curves_made is not None:
        curves_made()
    k_bound = min(found)
    # below the LP bound by more than the tolerance, and by more than round-off (at a zero
    # tolerance a curve equal to the LP bound reads a few 1e-16 below it)
    below = bool(k_bound < bound - max(tol, numeric_gap(bound)))
    details["window_first"] = {"stand_in": stand_in, "knapsack_bound": k_bound, "run": below}
    if not below:
        say(f"whole-cell knapsacks per region of the level: {k_bound:,.4f}, within the "
            f"tolerance of the LP bound: repair at the LP vertex ({_secs(t0)})")
        return None, -np.inf
    say(f"whole-cell knapsacks per region of the level: {k_bound:,.4f}, below the LP bound "
        f"by more than the tolerance: repair in the level's best window first ({_secs(t0)})")
    x, z = level_window.improve(spec, work, levels, session, {c: cv for c, (cv, _) in
                                                             early.items()},
                                x_lp, None, -np.inf, bound, options.mip_rel_gap, deadline,
                                details, seconds, say, repair=repair, polish=polish,
                                max_row_nnz=STRENGTHEN_MAX_ROW_NNZ, ahead=ahead)
    return x, z


def _stand_in(spec: ModelSpec, options: SolverOptions, bound: float) -> float:
    """The stand-in incumbent of :func:`_window_first`'s curves: ``z_LP − k · t``, ``k`` =
    :data:`WINDOW_FIRST_TOLERANCES`, ``t`` the decision tolerance at the LP bound ``z_LP``."""
    tol = abs_gap_target(options.mip_rel_gap, bound, bound, spec.status_quo_value)
    return bound - WINDOW_FIRST_TOLERANCES * tol


class _EarlySearch:
    """The level search's LPs solved from the moment the strengthened LP is known: in a
    thread of its own, :func:`level_prefetch` (the search's own HiGHS session, its root LP)
    and then its thread solving the likely node LPs, each followed by the node's own
    whole-cell bound for the window incumbent ``window`` (the early curves' stand-in,
    computed as :func:`_window_first` will). On the demo area this overlaps the early
    curves (numpy, one core) and the window step with the search's root LP and first node
    LPs, which otherwise waited for the window's repair. After its first node LP the thread
    waits for the early curve to rank the others (:meth:`rank_by`), and it computes node
    bounds (Python, as the curves and the window step are) only from the window's repair
    on (:func:`_lps_ahead`), while the main thread waits for HiGHS. Everything it computes
    is taken through exact memos: the solve's result is the same without it.

    ``result()`` waits for the root LP and returns the
    :class:`~ruimteverdeling.model.strengthen.LevelPrefetch` (or raises what making it
    raised); ``stop()`` stops both threads (a Ctrl-C while waiting is raised, and the thread
    still solving stays in ``thread``)."""

    def __init__(self, work: ModelSpec, levels: list[st.Level], session: Any,
                 backend: Backend, options: SolverOptions, root_basis: Any, deadline: float,
                 window: dict[int, float]):
        self._lock = threading.Lock()
        self._halted = False
        self._made = threading.Event()
        self._prefetch: st.LevelPrefetch | None = None
        self._error: BaseException | None = None
        self._rank: Callable[[np.ndarray, np.ndarray], float | None] | None = None
        self._work, self._level = work, levels[0]

        def run() -> None:
            try:
                found = level_prefetch(work, levels, session, backend, options, root_basis,
                                       deadline, None, window, root_curve=True, early=True)
                with self._lock:
                    self._prefetch = found
                    rank, go = self._rank, not self._halted
                if rank is not None:
                    found.set_rank(rank)
                if go:  # (a stop from now on halts it: see stop)
                    found.start(deadline - 1.0)
            except BaseException as e:  # (handed to the caller of result)
                self._error = e
            finally:
                self._made.set()

        self._thread = threading.Thread(target=run, name="level-search-early", daemon=True)
        self._thread.start()

    def rank_by(self, early: dict[int, tuple[Callable[[float, float], float], float]]
                ) -> None:
        """Rank the node LPs still to solve by the first level's early curve (in ``early``;
        at once, or as soon as the root LP is solved)."""
        if self._level.col not in early:
            return
        rank = _curve_rank(self._work, self._level, early[self._level.col][0])
        with self._lock:
            self._rank = rank
            if self._prefetch is not None:
                self._prefetch.set_rank(rank)

    def _wait(self) -> None:
        while not self._made.wait(st.STOP_POLL):  # (a Ctrl-C is raised within a slice)
            pass
        self._thread.join()  # past its last statement: at once

    def result(self) -> st.LevelPrefetch:
        """The level search's prefetch, once its root LP is solved."""
        self._wait()
        if self._error is not None:
            raise self._error
        assert self._prefetch is not None
        return self._prefetch

    @property
    def thread(self) -> threading.Thread | None:
        """The thread still solving, if any: the root LP's, then the node LPs'."""
        if not self._made.is_set():
            return self._thread
        return None if self._prefetch is None else self._prefetch.thread

    def stop(self) -> None:
        """Stop the node LPs after the one being solved (and the root LP first, if it is
        still being solved), and wait for them."""
        with self._lock:
            self._halted = True
            found = self._prefetch
        if found is not None:
            found.halt()  # (were its node LPs solved in this thread, they end too)
        self._wait()
        if self._prefetch is not None:
            self._prefetch.stop()


_LATE = object()
"""What a window repair run beside the main thread gives when its sub-MIP did not stop at the
deadline (see :func:`~ruimteverdeling.model.highs_backend.beside`)."""


@dataclass
class _Ahead:
    """LPs of the steps after the root's window repair, solved on the main thread while the
    repair's sub-MIP runs (see :data:`REPAIR_BESIDE`), from inputs that do not depend on its
    allocation: per level, the LP with the level fixed at the maximiser of its early
    whole-cell curve (``fixed``: level column, curve, level, outcome; see
    :func:`_level_fixed_repair`), on the LP session; then the level search's LPs
    (``search``: :func:`level_prefetch`, its root LP, and its likely node LPs solved in a
    thread of its own from then until the search stops it, on a session of its own).

    A level-fixed step takes an LP from here only when it is the very LP the step would
    solve: the same level column, the same curve object (the step's curve is the early one
    when the incumbent is at least the curve's stand-in), the same level value, the same
    starting basis, every LP before it taken from here as well, and the session unchanged
    since (``changes``, see :attr:`~ruimteverdeling.model.highs_backend.LpSession.changes`:
    no row, column or LP since these LPs). HiGHS then started each from the same model and
    basis as the step would have. Otherwise the step solves its own, and the decisions that
    need the incumbent (skip or repair) are taken as before; the first LP is handed its
    basis, but an own LP after some taken ones starts where the last LP solved here left
    HiGHS, which is not where the last one taken did when more were solved here than taken:
    with several levels the result can then differ from a solve that solves none ahead (it
    is the same whether the repair runs beside or in sequence, both solving these LPs in the
    same order). The level search takes its LPs from ``search`` by an exact memo
    (:class:`~ruimteverdeling.model.strengthen.LevelPrefetch`): its result is the same
    whatever was solved ahead."""

    fixed: list[tuple[int, Callable[[float, float], float], float, LpOutcome]]
    first_basis: Any
    changes: int
    search: st.LevelPrefetch | None = None
    taken: int = 0
    intact: bool = True

    def fixed_lp(self, session: Any, col: int, curve: Any, v: float, basis: Any
                 ) -> LpOutcome | None:
        """The next level-fixed LP, if it is the one the step would solve (else None, and
        nothing after it is taken either)."""
        k = self.taken
        ok = self.intact and k < len(self.fixed) and \
            getattr(session, "changes", None) == self.changes and \
            (k > 0 or basis is self.first_basis)
        if ok:
            c, cv, vv, _ = self.fixed[k]
            ok = c == col and cv is curve and vv == v
        if not ok:
            self.intact = False
            return None
        self.taken += 1
        return self.fixed[k][3]


def _lps_ahead(work: ModelSpec, levels: list[st.Level], session: Any, backend: Backend,
               options: SolverOptions,
               early: dict[int, tuple[Callable[[float, float], float], float]],
               x_lp: np.ndarray, root_basis: Any, deadline: float, threaded: bool,
               search: st.LevelPrefetch | None = None) -> _Ahead:
    """The LPs of :class:`_Ahead`, solved now: per level with an early curve (in
    ``early``), the LP with the level fixed where that curve is largest (the maximiser
    searched from the LP's level in ``x_lp``: on the demo area the search ends at the same
    level from any start around it) on ``session``, the first from ``root_basis``; then the
    level search's root LP, and its likely node LPs, best early curve first, started in a
    thread when ``threaded`` (see :data:`REPAIR_BESIDE`; else the search solves them itself).
    ``search``: those already made (:class:`_EarlySearch`), then ranked by the early curves
    from here on."""
    fixed: list[tuple[int, Callable[[float, float], float], float, LpOutcome]] = []
    basis = root_basis
    for lv in levels:
        if lv.col not in early or deadline - time.perf_counter() <= 1:
            break
        curve = early[lv.col][0]
        j = lv.col - work.n_x
        v = level_fix.curve_argmax(curve, float(work.aux_lb[j]), float(work.aux_ub[j]),
                                   float(x_lp[lv.col]))
        lims = None if v is None else level_fix.fixed_level(work.aux_lb, work.aux_ub, j, v)
        if lims is None:
            break
        out = session.lp(*lims, None, max(1.0, deadline - time.perf_counter()), basis=basis)
        basis = None
        fixed.append((lv.col, curve, v, out))
    ahead = _Ahead(fixed, root_basis, session.changes)
    if search is not None:
        ahead.search = search
        lv = levels[0]
        if search.rank is None:
            search.set_rank(_curve_rank(work, lv, early[lv.col][0]) if lv.col in early
                            else None)
        search.allow_bounds()
    elif levels and deadline - time.perf_counter() > 1:
        ahead.search = level_prefetch(work, levels, session, backend, options, root_basis,
                                      deadline, {c: cv for c, (cv, _) in early.items()},
                                      {c: w for c, (_, w) in early.items()})
    if ahead.search is not None and threaded:
        # in a thread of its own, which goes on after the repair (while the main thread
        # takes the steps before the search), rather than here, where the repair's end
        # would wait for the LP in progress; stopped by the search or the solve's end
        ahead.search.start(deadline - 1.0)
    return ahead


Fixing = tuple[float, np.ndarray] | Callable[[], tuple[float, np.ndarray] | None]
"""A level's reduced-cost fixing pair ``(K*, ℓ)``, or a function that makes it when first
asked (None where it does not apply); see :func:`_knapsack_bound`."""


def _knapsack_bound(derived: tuple[ModelSpec, np.ndarray | None], levels: list[st.Level],
                    objective: float, bound: float, details: dict[str, Any],
                    seconds: dict[str, float], say: Progress,
                    curves: dict[int, Callable[[float, float], float]] | None = None,
                    max_work: float = st.KNAPSACK_WORK,
                    fixing: list[Fixing] | None = None,
                    built: dict[int, tuple[Callable[[float, float], float], float]] | None = None
                    ) -> float:
    """``bound`` lowered by the whole-cell knapsack bound of every level
    (:func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`) from the LP duals of the
    model with its derived rows; each level's curve goes into ``curves`` (by level column),
    for the level search's nodes, and its bound over the level's whole range with the
    columns' losses under the same prices
    (:func:`~ruimteverdeling.model.strengthen.knapsack_losses`) into ``fixing``, for
    reduced-cost fixing. Where the curves keep the rows over few units
    (:data:`~ruimteverdeling.model.strengthen.KEEP_ROW_GROUPS`) the losses hold only against
    the bound without them, so the pair is that curve's, built when the fixing first runs
    (:func:`_plain_fixing`).

    ``built``: curves already built from the same duals, each with the incumbent value it was
    built for (see :data:`WINDOW_FIRST_TOLERANCES`); one built for a value at most
    ``objective`` is used as it is (its exact window only wider, its capacity losses valid for
    the better incumbent)."""
    model, duals = derived
    if duals is None:
        return bound
    t0 = time.perf_counter()
    found = []
    for lv in levels:
        ready = (built or {}).get(lv.col)
        if ready is not None and ready[1] <= objective:
            curve: Callable[[float, float], float] | None = ready[0]
        else:
            curve = st.knapsack_level_curve(model, lv, duals, objective, max_work)
        j = lv.col - model.n_x
        kb = None if curve is None else curve(float(model.aux_lb[j]), float(model.aux_ub[j]))
        found.append(kb)
        if curve is not None and curves is not None:
            curves[lv.col] = curve
        if kb is not None and np.isfinite(kb) and fixing is not None:
            if st.KEEP_ROW_GROUPS:
                # the losses belong to the bound without the kept rows: that curve is built
                # only if the branch and bound after reduced-cost fixing runs
                fixing.append(functools.cache(functools.partial(
                    _plain_fixing, model, lv, duals, objective, max_work)))
            elif (pair := _fixing_pair(model, lv, duals, curve, kb)) is not None:
                fixing.append(pair)
        if kb is not None and kb < bound:
            say(f"whole-cell knapsacks per region of the level: bound {bound:,.4f} -> "
                f"{max(kb, objective):,.4f} ({_secs(t0)})")
            bound = max(kb, objective)
        else:
            say(f"whole-cell knapsacks per region of the level: no lower bound ({_secs(t0)})")
    details["knapsack_bounds"] = found
    seconds["knapsack_bound"] = time.perf_counter() - t0
    return bound


def _fixing_pair(model: ModelSpec, lv: st.Level, duals: np.ndarray,
                 curve: Callable[[float, float], float], kb: float
                 ) -> tuple[float, np.ndarray] | None:
    """``(K*, ℓ)`` for reduced-cost fixing: the knapsack bound ``kb`` of a curve built without
    kept rows and each column's loss under the same prices (the largest of
    :func:`~ruimteverdeling.model.strengthen.knapsack_losses` and the curve's capacity
    losses)."""
    loss = st.knapsack_losses(model, lv, duals, groups=False)
    more = getattr(curve, "capacity_losses", None)
    if loss is not None and more is not None:
        loss = np.maximum(loss, more())
    if loss is None or loss.size != model.n_x:
        return None
    return float(kb), loss


def _plain_fixing(model: ModelSpec, lv: st.Level, duals: np.ndarray, incumbent: float,
                  max_work: float) -> tuple[float, np.ndarray] | None:
    """The fixing pair of a level whose bound kept the rows over few units
    (:data:`~ruimteverdeling.model.strengthen.KEEP_ROW_GROUPS`): the column losses hold
    against the knapsack bound *without* the kept rows (``ℓ_j > K* − z_inc`` with ``K*`` that
    bound), so that curve is built here (once: see :func:`_knapsack_bound`)."""
    curve = st.knapsack_level_curve(model, lv, duals, incumbent, max_work, groups=False)
    j = lv.col - model.n_x
    kb = None if curve is None else curve(float(model.aux_lb[j]), float(model.aux_ub[j]))
    if kb is None or not np.isfinite(kb):
        return None
    return _fixing_pair(model, lv, duals, curve, kb)


def _level_fixed_repair(spec: ModelSpec, work: ModelSpec, levels: list[st.Level], session: Any,
                        curves: dict[int, Callable[[float, float], float]],
                        backend: Backend, options: SolverOptions, say: Progress,
                        x_best: np.ndarray, objective: float, bound: float, deadline: float,
                        details: dict[str, Any], seconds: dict[str, float],
                        derived: tuple[ModelSpec, np.ndarray | None] | None = None,
                        basis: Any = None, ahead: _Ahead | None = None
                        ) -> tuple[np.ndarray, float]:
    """The incumbent, or the repair of the LP with each level fixed where its whole-cell
    knapsack bound is largest, whichever is better (:mod:`ruimteverdeling.model.level_fix`).
    ``basis``: where the first of those LPs starts (None: the session's current basis);
    ``ahead``: LPs solved beside the window's repair, each taken where it is the LP solved
    here (see :class:`_Ahead`).

    The LP optimum ``z_v`` with the level fixed at ``v`` bounds every allocation whose level
    is ``v``, so the repair there runs only when ``z_v > z_inc + t`` (``t``: the absolute
    tolerance of the decision gap at the incumbent ``z_inc``); otherwise nothing it could find
    would beat the incumbent by more than the tolerance."""
    t0 = time.perf_counter()
    found: list[dict[str, Any]] = []
    x = x_best
    for lv in levels:
        curve = curves.get(lv.col)
        j = lv.col - work.n_x
        v = None if curve is None else level_fix.curve_argmax(
            curve, float(work.aux_lb[j]), float(work.aux_ub[j]), float(x[lv.col]))
        fixed = None if v is None else level_fix.fixed_level(work.aux_lb, work.aux_ub, j, v)
        if fixed is None:
            continue
        if deadline - time.perf_counter() <= 1:
            _capped(details, "repair with the level fixed")
            continue
        out = None if ahead is None else ahead.fixed_lp(session, lv.col, curve, v, basis)
        if out is None:
            out = session.lp(*fixed, None, max(1.0, deadline - time.perf_counter()),
                             basis=basis)
        basis = None
        if out.status != "optimal" or out.x is None or out.col_dual is None:
            found.append({"level": v, "lp_status": out.status})
            continue
        target = abs_gap_target(options.mip_rel_gap, objective, bound, spec.status_quo_value)
        if out.objective is not None and out.objective <= objective + target:
            # the LP at the level bounds every allocation at that level: none beats the
            # incumbent by more than the tolerance, so no repair there
            found.append({"level": v, "lp": out.objective, "repair": "skipped"})
            say(f"level fixed at its knapsack maximiser: LP {out.objective:,.4f} cannot beat "
                f"the incumbent, no repair ({_secs(t0)})")
            continue
        x_lp = out.x[: spec.n_cols]
        x_lp_round = _round_units(spec, x_lp)
        moved = _knapsack_moves(spec, lv, derived, v, x_lp_round)
        info: dict[str, Any] = {}
        cand, _ = _repair(spec, replace(work, aux_lb=fixed[0], aux_ub=fixed[1]), backend,
                          options, say, x_lp, out.col_dual[: spec.n_cols],
                          x_lp_round, _fractional_units(spec, x_lp), bound,
                          deadline, info, {}, grow=False, extra=moved,
                          settings=REPAIR_SETTINGS)
        z_cand = None
        if cand is not None:
            cand = _polish(spec, backend, options, cand, force=True)
            z_cand = spec.objective_value(cand)
        found.append({"level": v, "lp": out.objective, "repair": info.get("repair_attempts"),
                      "knapsack_moves": None if moved is None else int(moved.size),
                      "objective": z_cand})
        for step in info.get("time_limit_cut", []):
            _capped(details, step)
        if z_cand is not None and z_cand > spec.objective_value(x) and not spec.violations(cand):
            x = cand
    details["level_fixed_repair"] = found
    if ahead is not None:
        details["lps_ahead"] = {"level_fixed": ahead.taken, "of": len(ahead.fixed),
                                "search": ahead.search is not None}
    return _keep_if_better(spec, "level_fixed", "repair with the level fixed at its knapsack "
                           "maximiser", x, x_best, objective, t0, details, seconds, say)


def _knapsack_moves(spec: ModelSpec, level: st.Level,
                    derived: tuple[ModelSpec, np.ndarray | None] | None, v: float,
                    x_round: np.ndarray) -> np.ndarray | None:
    """The units of the level's regions whose column in the whole-cell knapsack fill at
    the level ``v`` (:func:`~ruimteverdeling.model.strengthen.knapsack_fill`, under the
    duals of ``derived``) differs from their column in ``x_round``: the whole cells that
    the knapsack bound moves to fill every region to ``v``; None without duals or without a
    finite ``v`` (a level the window leaves unbounded, such as another period's)."""
    if derived is None or derived[1] is None or not math.isfinite(v):
        return None
    model, duals = derived
    return _fill_moves(spec, level, st.knapsack_fill(model, level, duals, v), x_round)


def _knapsack_fills(levels: list[st.Level],
                    derived: tuple[ModelSpec, np.ndarray | None], aux_ub: np.ndarray
                    ) -> list[np.ndarray | None]:
    """Per level, the whole-cell knapsack fill under the duals of ``derived`` at the level's
    upper bound in ``aux_ub`` (None without duals or a finite bound there): what
    :func:`_knapsack_moves` compares with a rounded vertex."""
    model, duals = derived
    out: list[np.ndarray | None] = []
    for lv in levels:
        v = float(aux_ub[lv.col - model.n_x])
        out.append(None if duals is None or not math.isfinite(v)
                   else st.knapsack_fill(model, lv, duals, v))
    return out


def _beside(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` started in a thread of its own (HiGHS releases the interpreter lock
    while it solves, so the two overlap); its result, or its exception, is the future's."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # (the submitted call still runs to its end)


def _fill_moves(spec: ModelSpec, level: st.Level, fill: np.ndarray | None,
                x_round: np.ndarray) -> np.ndarray | None:
    """The units of ``level``'s regions whose column in ``fill`` differs from their column in
    ``x_round`` (see :func:`_knapsack_moves`); None without a fill."""
    if fill is None:
        return None
    in_rows = np.zeros(spec.n_units, bool)
    for row in level.rows:
        in_rows[spec.col_unit[row.cols]] = True
    a, b = spec.unit_choice(fill), spec.unit_choice(x_round)
    return np.flatnonzero(in_rows & (a != b))


def _level_swaps(spec: ModelSpec, levels: list[st.Level], x_best: np.ndarray,
                 objective: float, deadline: float, details: dict[str, Any],
                 seconds: dict[str, float], say: Progress) -> tuple[np.ndarray, float]:
    """The incumbent improved by :func:`~ruimteverdeling.model.strengthen.level_swaps` on every
    level (kept only when it meets every row and raises the objective)."""
    t0 = time.perf_counter()
    x = x_best
    for lv in levels:
        x = st.level_swaps(spec, lv, x, deadline - 1.0, max_checks=LEVEL_SWAP_CHECKS)
    if time.perf_counter() > deadline - 1.0:
        _capped(details, "level swaps")
    return _keep_if_better(spec, "level_swaps", "level swaps between regions", x, x_best,
                           objective, t0, details, seconds, say)


def _keep_if_better(spec: ModelSpec, key: str, what: str, x: np.ndarray, x_best: np.ndarray,
                    objective: float, t0: float, details: dict[str, Any],
                    seconds: dict[str, float], say: Progress) -> tuple[np.ndarray, float]:
    """``x`` (a local search's result) when it meets every row and raises the objective,
    else ``x_best``; recorded under ``key`` in ``details`` and ``seconds`` (since ``t0``)."""
    z = spec.objective_value(x)
    kept = z > objective and not spec.violations(x)
    if kept:
        say(f"{what}: objective {objective:,.4f} -> {z:,.4f} ({_secs(t0)})")
        x_best, objective = x, z
    else:
        say(f"{what}: no better allocation ({_secs(t0)})")
    details[key] = {"objective": z, "kept": kept}
    seconds[key] = time.perf_counter() - t0
    return x_best, objective


def _unit_moves(spec: ModelSpec, backend: Backend, options: SolverOptions, x_best: np.ndarray,
                objective: float, deadline: float, details: dict[str, Any],
                seconds: dict[str, float], say: Progress) -> tuple[np.ndarray, float]:
    """The incumbent improved by single-unit moves
    (:func:`~ruimteverdeling.model.strengthen.unit_moves`), its auxiliaries re-optimised; kept
    only when it meets every row and raises the objective."""
    t0 = time.perf_counter()
    x = st.unit_moves(spec, x_best, deadline - 1.0, max_checks=UNIT_MOVE_CHECKS)
    if time.perf_counter() > deadline - 1.0:
        _capped(details, "unit moves")
    x = _polish(spec, backend, options, x)
    return _keep_if_better(spec, "unit_moves", "single-unit moves", x, x_best, objective, t0,
                           details, seconds, say)


def _fractional_units(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    xs = x[: spec.n_x]
    frac_cols = (xs > INT_TOL) & (xs < 1 - INT_TOL)
    return np.unique(spec.col_unit[frac_cols])


def _timed_candidates(spec: ModelSpec) -> tuple[st.Candidates, float]:
    """The derived rows' candidates of ``spec`` (:func:`~ruimteverdeling.model.strengthen.
    candidates`) and the seconds of CPU this thread spent making them."""
    c0 = time.thread_time()
    cands = st.candidates(spec, STRENGTHEN_MAX_ROW_NNZ)
    return cands, time.thread_time() - c0


def _strengthen(spec: ModelSpec, session: Any, options: SolverOptions, lp: LpOutcome,
                deadline: float, say: Progress, cands: st.Candidates | None = None
                ) -> tuple[ModelSpec, LpOutcome, dict[str, Any], list[st.Level],
                           tuple[ModelSpec, np.ndarray | None]]:
    """Add violated derived rows to the LP ``session`` and re-solve, a few rounds; then give
    every level its counts (columns and rows appended to the session too). ``cands``: the
    candidates of ``spec``, made already (else made here).

    Returns the model the MIPs work on (``spec`` + derived rows + level counts, in the order
    the session holds them), the last LP over ``spec`` + derived rows (or ``lp`` itself),
    what was done, the levels, and ``spec`` + derived rows with that LP's row duals.
    """
    t0 = time.perf_counter()
    if cands is None:
        cands = st.candidates(spec, STRENGTHEN_MAX_ROW_NNZ)
    info: dict[str, Any] = {"candidates": cands.n_rows, "rounds": [],
                            "generate_seconds": round(time.perf_counter() - t0, 3)}
    block_rows: list[Any] = []
    best = lp
    x = lp.x
    for _ in range(STRENGTHEN_ROUNDS):
        if x is None:
            break
        if time.perf_counter() > deadline - 1:
            _capped(info, "derived rows")
            break
        viol = cands.violated(x[: spec.n_cols])
        if not viol.size:
            break
        block = cands.block(viol)
        by_source: dict[str, int] = {}
        for r in viol:
            key = cands.source[r].rsplit(":", 1)[0]
            by_source[key] = by_source.get(key, 0) + 1
        cands = cands.take(viol)
        session.add_rows(block)
        out = session.lp(time_limit=max(1.0, deadline - time.perf_counter()))
        info["rounds"].append({"rows": int(viol.size), "by_block": by_source,
                               "status": out.status, "bound": out.objective,
                               "seconds": round(sum(out.seconds.values()), 3)})
        block_rows.append(block)
        if out.status != "optimal" or out.x is None or out.objective is None:
            break  # the rows stay (they are valid); the bound is the last good LP's
        best, x = out, out.x
    work = spec.with_rows(st.stack_rows(block_rows, st.BLOCK)) if block_rows else spec
    if best is not lp:
        say(f"strengthened: {sum(r['rows'] for r in info['rounds'])} derived rows, LP bound "
            f"{lp.objective:,.4f} -> {best.objective:,.4f} ({_secs(t0)})")
    derived = (work, best.row_dual)
    levels = st.find_levels(spec)
    if levels:
        counted = st.with_level_counts(work, levels)
        k = counted.n_cols - work.n_cols
        session.add_columns(counted.aux_lb[-k:], counted.aux_ub[-k:], counted.obj[-k:])
        session.add_rows(counted.coupling[-1])
        work = counted
        info["levels"] = [{"column": spec.aux_names[lv.col - spec.n_x], "rows": len(lv.rows),
                           "counts": len(lv.counts)} for lv in levels]
    return work, best, info, levels, derived


def _repair(spec: ModelSpec, work: ModelSpec, backend: Backend, options: SolverOptions,
            say: Progress, x: np.ndarray, col_dual: np.ndarray | None, x_round: np.ndarray,
            frac_units: np.ndarray, bound: float, deadline: float, details: dict[str, Any],
            seconds: dict[str, float], grow: bool = True, extra: np.ndarray | None = None,
            settings: dict[str, object] | None = None, whole_after: int | None = None
            ) -> tuple[np.ndarray | None, float | None]:
    """An integer allocation near the LP vertex: a MIP over the fractional units and their
    near-ties (the rest fixed at the rounded LP solution). Returns it (over ``spec``'s
    columns) and, when the sub-MIP was the whole model, its dual bound. When the first
    neighbourhood has no allocation it is grown, again and again (``grow``; without it — the
    caller has an allocation already, e.g. a warm start — one neighbourhood only): fourfold
    when HiGHS proved it infeasible; when it merely ran out of its budget, twofold with four
    times the budget, so that the repair still reaches an allocation instead of growing a
    sub-MIP it cannot finish into the whole model. Each attempt's budget is a count of HiGHS's
    interrupt checks (``REPAIR_CHECKS``; see
    :class:`~ruimteverdeling.model.stopping.PatientStop`), so that the allocation does not
    depend on the machine's load; the time limit is only a cap behind it (a backend that
    cannot count checks gets a share of the time limit instead). ``settings``: further
    options of the sub-MIPs (e.g. :data:`REPAIR_SETTINGS`); ``whole_after``: see
    :func:`_repair_stop`."""
    say(f"{frac_units.size} fractional units: repairing with a small MIP")
    t0 = time.perf_counter()
    n_free = max(options.repair_units_per_fractional * max(frac_units.size, 1),
                 options.repair_min_units)
    if extra is not None and extra.size:
        frac_units = np.union1d(frac_units, extra)
        n_free += int(extra.size)
    x_best = None
    last_bound = None
    attempts = []
    start_full = _extend(work, x_round)
    counts = getattr(backend, "supports_stop", False)
    checks = REPAIR_CHECKS
    share = max(REPAIR_MIN_SECONDS, REPAIR_SHARE * options.time_limit)
    while True:
        free = _neighbourhood(spec, x, col_dual, frac_units, n_free)
        remaining = deadline - time.perf_counter()
        if remaining <= 1:
            _capped(details, "repair")
            break
        keep = _cheap_columns(spec, x, col_dual, options.repair_columns_per_unit)
        keep_w = None if keep is None else np.concatenate(
            [keep, np.ones(work.n_cols - spec.n_cols, bool)])
        sub, cols = work.restrict(free, start_full, keep_w)
        offset = sub.obj_offset  # the fixed part: full objective = sub objective + offset
        sub = sub.without_constants()  # the gap is then relative to the free part only
        # good enough when it cannot cost more than half the requested decision gap
        target = 0.5 * abs_gap_target(options.mip_rel_gap, None, bound,
                                      spec.status_quo_value)
        stop = _repair_stop(spec, options.mip_rel_gap, offset, bound, checks,
                            None if whole_after is None else min(whole_after, checks))
        cap = remaining if counts else min(remaining, share)
        r = _mip(backend, sub, options, cap, start_full[cols], target, stop, settings)
        attempts.append({"free_units": int(free.sum()), "status": r.status, **r.details,
                         "checks": stop.checks, "seconds": round(sum(r.seconds.values()), 3)})
        if r.status == "time_limit" and counts:
            _capped(details, "repair")
        if r.x is not None:
            cand = start_full.copy()
            cand[cols] = r.x
            x_best = _clean_binaries(spec, cand[: spec.n_cols])
            if r.bound is not None and np.isfinite(r.bound) and free.all() and \
                    (keep is None or bool(keep.all())):
                last_bound = r.bound + offset  # the sub-MIP was the whole model
            break
        if not grow:
            break
        if r.status in ("time_limit", "stopped"):  # out of budget, not proven empty
            checks *= 4
            share *= 4
            n_free = min(2 * n_free, spec.n_units)
            continue
        if free.all() or n_free >= spec.n_units:
            break
        n_free *= 4
    seconds["repair"] = time.perf_counter() - t0
    details["repair_attempts"] = attempts
    found = "no allocation" if x_best is None else \
        f"objective {spec.objective_value(x_best):,.4f}"
    say(f"repair: {found} ({len(attempts)} sub-MIP(s), "
        f"{sum(a['checks'] for a in attempts)} checks, {_secs(t0)})")
    return x_best, last_bound


def _extend(work: ModelSpec, x: np.ndarray) -> np.ndarray:
    """``x`` (over the original columns) completed for ``work``'s extra columns: every level
    count at its smallest value ``Σ ⌊a/d⌋ x``; derived rows add no columns."""
    n = x.size
    if work.n_cols == n:
        return x
    out = np.zeros(work.n_cols)
    out[:n] = x
    for b in work.coupling:
        if b.name != "level_counts":
            continue
        A = b.A.tocsr()
        for r in range(0, b.n_rows, 2):  # count rows: Σ w x − m ≤ 0
            s, e = A.indptr[r], A.indptr[r + 1]
            cols, vals = A.indices[s:e], A.data[s:e]
            m = cols[vals == -1.0]
            rest = cols < n
            if m.size:
                out[m[0]] = np.ceil(vals[rest] @ out[cols[rest]] - 1e-9)
    return out


@dataclass
class _Region:
    """A part of the search space every better allocation lies in one of: the model with
    auxiliary bounds ``lb``/``ub`` and extra rows, its LP bound and LP solution."""

    lb: np.ndarray
    ub: np.ndarray
    rows: Any
    bound: float
    lps: list[tuple[float, np.ndarray, np.ndarray]]  # (LP bound, x, reduced costs) covering it


def _close_gap(spec: ModelSpec, work: ModelSpec, levels: list[st.Level], session: Any,
               backend: Backend, options: SolverOptions, say: Progress, x_lp: np.ndarray,
               col_dual: np.ndarray, x_round: np.ndarray,
               x_best: np.ndarray, objective: float, bound: float, deadline: float,
               details: dict[str, Any], seconds: dict[str, float],
               curves: dict[int, Callable[[float, float], float]] | None = None,
               root_basis: Any = None, fixing: list[Fixing] | None = None,
               dual_bound: float | None = None, prefetch: st.LevelPrefetch | None = None,
               window: dict[int, float] | None = None
               ) -> tuple[np.ndarray, float, float, bool]:
    """The level search, then reduced-cost fixing and branch and bound per region.

    ``prefetch``: the first level's search LPs (:func:`level_prefetch`), possibly with some
    solved ahead; made here when None and :data:`LEVEL_PREFETCH` is on. Without one the
    search's LPs run in ``session`` one after the other, each from the HiGHS state the last
    left where it starts from that LP's basis (no restart, no session of their own: the
    cheaper way when nothing is solved ahead).

    ``dual_bound``: the value of the LP (or Lagrangian, for column generation) whose reduced
    costs ``col_dual`` are, where ``bound`` may have been lowered since (by a knapsack or a
    MIP bound): the reduced costs bound an allocation by ``dual_bound − |d_j|``, not by the
    lower ``bound`` (None: ``bound`` is that value).

    ``root_basis``: the optimal basis of the strengthened LP (``session``'s model with every
    auxiliary at its bounds), where the level search's root LP starts; each node's LP starts
    from its parent's optimal basis.

    ``curves``: per level column, the whole-cell knapsack bound over a level interval under
    the root's prices, for the level search's node bounds besides each node's own.

    ``window``: per level column, the incumbent each node's own whole-cell bound is built
    for (:func:`_own_knapsack`; the early curves' stand-in), fixed before the search so that
    those bounds can be computed ahead; the incumbent where a level has none.

    Without levels the only region is the whole (strengthened) model with its LP. With a
    level, the open nodes of :func:`~ruimteverdeling.model.strengthen.level_bounds` are the
    regions (a level interval with its count caps and rounded rows): every allocation better
    than the incumbent lies in one of them. Regions are searched best bound first.

    In a region with LP optimum ``z_LP`` and reduced costs ``d``, every feasible ``x``
    satisfies ``c·x ≤ z_LP − Σ_j |d_j| · |x_j − x*_j|``. An allocation better than the
    incumbent ``z_inc`` therefore keeps every column with ``x*_j = 0`` and
    ``|d_j| ≥ Δ = z_LP − z_inc`` at zero. An allocation worth at most ``z_inc + σ`` needs no
    search either (``σ = FIX_TOLERANCE_SHARE · t``, ``t`` the decision tolerance at the
    incumbent): columns with ``|d_j| ≥ Δ − σ`` are fixed too. Fixing those leaves a smaller MIP,
    solved by the backend from the incumbent until the decision gap is proven or its budget of
    interrupt checks (``RC_MIP_CHECKS``) is spent; the larger of its dual bound (plus the fixed
    part) and ``z_inc + σ`` replaces the region's LP bound. The bound reported is the
    largest region bound, at least the incumbent, and — where the regions are the level
    search's open nodes — at least the bound of the nodes it closed (up to the incumbent plus
    the tolerance: they lie outside every region, and ``σ`` is below the tolerance). A
    region's MIP runs only when it has at most ``full_mip_max_binaries`` binaries (HiGHS's
    MIP setup is quadratic in them).

    ``fixing``: per level, its whole-cell knapsack bound ``K*`` over the level's whole range
    and each column's loss ``ℓ_j`` under the knapsack's prices
    (:func:`~ruimteverdeling.model.strengthen.knapsack_losses`): every allocation with
    ``x_j = 1`` is worth at most ``K* − ℓ_j``, so a column with ``ℓ_j > K* − z_inc`` is fixed
    at zero in every region too (a threshold the LP's ``Δ`` is usually far above; less ``σ``
    as well).
    """
    sq = spec.status_quo_value
    outside = -np.inf  # the bound of what lies outside the regions (the level search's closed)
    z_d = bound if dual_bound is None else max(bound, dual_bound)
    regions = [_Region(work.aux_lb, work.aux_ub, None, bound,
                       [(z_d, x_lp[: spec.n_cols], col_dual[: spec.n_cols])])]
    if levels and session is not None:
        t0 = time.perf_counter()
        if prefetch is None and LEVEL_PREFETCH:
            prefetch = level_prefetch(work, levels, session, backend, options, root_basis,
                                      deadline, curves, window)
        plain = None
        if prefetch is None:  # the search's LPs in the main session, one after the other
            plain = _session_lp(session, deadline)
            root = plain(work.aux_lb, work.aux_ub, None,
                         _counted_basis(work, levels, root_basis))
        else:
            root = prefetch.root
        search_info = []
        if root.status == "optimal" and root.x is not None and root.col_dual is not None:
            regions = [_Region(work.aux_lb, work.aux_ub, None, min(bound, root.objective),
                               [(root.objective, root.x[: work.n_cols],
                                 root.col_dual[: work.n_cols])])]
            for i, lv in enumerate(levels):
                target = abs_gap_target(options.mip_rel_gap, objective, bound, sq)
                if prefetch is None:
                    memo = st.LevelPrefetch(work, lv, plain, root)  # (only passes them on)
                    solve_lp = plain
                elif i == 0:
                    memo = prefetch
                    solve_lp = memo.solve_lp
                else:
                    memo = st.LevelPrefetch(work, lv, prefetch.solve_lp, root,
                                            state=prefetch.state)
                    solve_lp = memo.solve_lp
                if i == 0 and prefetch is not None:
                    prefetch.set_floor(objective + target)  # (the search closes those below)
                if i == 0 and LEVEL_PREFETCH and prefetch is not None:
                    # the likely node LPs in a thread while the search computes node bounds,
                    # ranked by the curve the search closes nodes with before their LP
                    if curves and lv.col in curves:
                        prefetch.rank = _curve_rank(work, lv, curves[lv.col])
                    prefetch.start(deadline - 1.0, floor=objective + target)
                curve = (curves or {}).get(lv.col)
                key = _own_key(lv, root, curve is not None,
                               (window or {}).get(lv.col, objective))
                own = memo.node_bound if memo.bound_of is not None and \
                    memo.bound_key == key else _own_knapsack(work, lv, *key)
                try:
                    res = st.level_bounds(work, lv, solve_lp, root, objective, target,
                                          deadline - 1.0, LEVEL_SEARCH_LPS,
                                          useful_below=bound,
                                          node_bound=_node_knapsack(work, lv, curve, own))
                finally:
                    if prefetch is not None:
                        prefetch.stop()
                if time.perf_counter() > deadline - 1.0:
                    _capped(details, "level search")
                search_info.append({"level": work.aux_names[lv.col - work.n_x],
                                    "lps": res.lps, "reused": res.reused,
                                    "ahead": prefetch.solved if i == 0 and prefetch
                                    else 0,
                                    "from_ahead": memo.hits,
                                    "node_bounds_ahead": memo.bounds_ahead,
                                    "node_bounds_from_ahead": memo.bound_hits,
                                    "bound": res.bound,
                                    "window": list(res.window), "open": len(res.nodes),
                                    "seconds": round(res.seconds, 3)})
                bound = min(bound, max(objective, res.bound))
                usable = [n for n in res.nodes if n.x is not None and n.col_dual is not None]
                if i == 0 and len(levels) == 1 and res.nodes and \
                        len(usable) == len(res.nodes):
                    regions = [_hull_region(work, lv, res.nodes)]
                    outside = res.closed
        details["level_search"] = search_info
        seconds["level_search"] = time.perf_counter() - t0
        say(f"level search: {sum(s['lps'] for s in search_info)} LPs, bound "
            f"{bound:,.4f} ({_secs(t0)})")
    if decision_gap(objective, bound, sq) <= options.mip_rel_gap or not regions:
        return x_best, objective, max(objective, bound), False
    t0 = time.perf_counter()
    regions.sort(key=lambda r: -r.bound)
    ran, done = [], []
    for k, reg in enumerate(regions):
        b_est = max([objective, *done, *(r.bound for r in regions[k:])])
        target = abs_gap_target(options.mip_rel_gap, objective, min(bound, b_est), sq)
        if reg.bound <= objective + target:
            done.append(min(reg.bound, bound))
            continue
        if deadline - time.perf_counter() <= 1:
            _capped(details, "branch and bound after reduced-cost fixing")
            done.append(min(reg.bound, bound))
            continue
        x_new, reg_bound, info = _region_mip(spec, work, reg, backend, options, say, x_best,
                                             x_round, objective, min(bound, b_est), deadline,
                                             fixing)
        ran.append(info)
        if x_new is not None:
            obj = spec.objective_value(x_new)
            if obj > objective:
                x_best, objective = x_new, obj
        done.append(min(reg_bound, bound))
    bound = min(bound, max([objective, outside, *done]))
    seconds["rc_mip"] = time.perf_counter() - t0
    details["rc_mip"] = ran
    n_run = sum(1 for r in ran if r.get("status") != "not run")
    say(f"branch and bound after reduced-cost fixing: {n_run} of {len(regions)} region(s) "
        f"searched, bound "
        f"{bound:,.4f} ({_secs(t0)})")
    return x_best, objective, max(bound, objective), bool(ran)


def _session_lp(session: Any, deadline: float) -> Callable[..., LpOutcome]:
    """The level search's ``solve_lp`` in the main ``session``, without a memo: each node LP
    from its parent node's optimal basis (still dual feasible after the bound changes, where
    the last LP's — a sibling's, possibly infeasible — may be far off); handed to HiGHS only
    when it is not the basis HiGHS holds already (the last LP's)."""
    has_basis = hasattr(session, "basis_now")
    last: list[Any] = [None]  # the basis HiGHS holds now (from the latest LP)

    def solve_lp(lb: np.ndarray, ub: np.ndarray, rows: Any, start: Any) -> LpOutcome:
        given = start if has_basis and start is not last[0] else None
        out = session.lp(lb, ub, rows, max(1.0, deadline - time.perf_counter()), basis=given)
        last[0] = None
        if has_basis and out.status == "optimal":
            out.basis = last[0] = session.basis_now()
        return out

    return solve_lp


def level_prefetch(work: ModelSpec, levels: list[st.Level], session: Any, backend: Backend,
                   options: SolverOptions, root_basis: Any, deadline: float,
                   curves: dict[int, Callable[[float, float], float]] | None = None,
                   window: dict[int, float] | None = None, root_curve: bool | None = None,
                   early: bool = False) -> st.LevelPrefetch:
    """The level search's LPs (of ``levels[0]``), with its root LP solved: a
    :class:`~ruimteverdeling.model.strengthen.LevelPrefetch` whose ``ahead``/``start`` solve
    the likely node LPs before the search asks for them (e.g. while another step runs) and
    whose ``solve_lp`` the search calls; ``root`` is the counted model's LP from the
    strengthened LP's optimal basis ``root_basis`` (see :func:`_counted_basis`).

    With a HiGHS session the search gets one of its own, on the counted model ``work``: the
    main session's other users are not moved by LPs solved ahead, and every node LP restarts
    the solver from its start basis (the parent node's optimal basis, still dual feasible
    after the bound changes) with nothing kept from the LP before — the answer is a function
    of the LP's bounds, rows, start basis and the session's rows, as the memo needs. Its
    ``state`` is the session's row count. ``curves`` (per level column, the whole-cell bound
    over a level interval) rank the LPs solved ahead: best first. Other backends keep
    ``session`` (each re-solve hands over the whole model from the given basis). Where
    ``window`` holds the level's window incumbent (see :func:`_close_gap`), each LP solved
    ahead whose optimum is above it is followed by the node's own whole-cell bound
    (:func:`_own_knapsack`; below, its LP closes the node at any incumbent at least that
    high), for a search with a root curve for the level (``root_curve``; None: where
    ``curves`` has one) — a search that differs takes none of them. ``early``: made before
    the curves (:class:`_EarlySearch`): its thread waits for a rank after its first LP and
    for leave to compute node bounds (see
    :class:`~ruimteverdeling.model.strengthen.LevelPrefetch`).

    Use: made once ``work``, ``levels`` and ``root_basis`` are known; ``start(deadline,
    floor=...)`` while the main thread does something else (its LPs run in a thread of their
    own, through ``Highs.run``, not highspy's ``startSolve``, which allows one solve at a time
    in the whole process), ``stop()`` before the search, then ``_close_gap(...,
    prefetch=...)``, which starts it again beside the search."""
    lv = levels[0]
    search = session
    if hasattr(session, "h") and hasattr(backend, "session"):
        search = backend.session(work, options)  # type: ignore[attr-defined]
    fresh = search is not session

    def solve_lp(lb: np.ndarray, ub: np.ndarray, rows: Any, start: Any) -> LpOutcome:
        if fresh and search.started:
            search.h.clearSolver()  # from ``start`` alone (None: HiGHS's own start)
        has_basis = hasattr(search, "basis_now")
        out = search.lp(lb, ub, rows, max(1.0, deadline - time.perf_counter()),
                        basis=start if has_basis else None)
        if has_basis and out.status == "optimal":
            out.basis = search.basis_now()
        return out

    def state() -> Any:
        return search.h.getNumRow() if fresh else None

    root = solve_lp(work.aux_lb, work.aux_ub, None, _counted_basis(work, levels, root_basis))
    curve = (curves or {}).get(lv.col)
    own: dict[str, Any] = {}
    if window is not None and lv.col in window and root.status == "optimal" and \
            root.x is not None:
        key = _own_key(lv, root, curve is not None if root_curve is None else root_curve,
                       window[lv.col])
        own = {"bound_of": _own_knapsack(work, lv, *key), "bound_key": key,
               "bound_floor": window[lv.col]}
    return st.LevelPrefetch(work, lv, solve_lp, root, state=state,
                            rank=None if curve is None else _curve_rank(work, lv, curve),
                            wait_rank=early, hold_bounds=early, **own)


def _own_key(level: st.Level, root: LpOutcome, curve: bool, window_incumbent: float
             ) -> tuple[float, float | None]:
    """The arguments of :func:`_own_knapsack` after ``work`` and ``level``: the window
    incumbent, and the root LP's level where a root curve (``curve``) bounds the nodes
    around it (None without one: every node gets its own bound)."""
    return float(window_incumbent), float(root.x[level.col]) if curve else None


def _curve_rank(work: ModelSpec, level: st.Level, curve: Callable[[float, float], float]
                ) -> Callable[[np.ndarray, np.ndarray], float | None]:
    """A level-search node's rank for :class:`~ruimteverdeling.model.strengthen.LevelPrefetch`:
    the whole-cell ``curve`` over the node's level interval (the bound the search closes it
    with before its LP)."""
    j = level.col - work.n_x

    def rank(lb: np.ndarray, ub: np.ndarray) -> float | None:
        return curve(float(lb[j]), float(ub[j]))

    return rank


def _counted_basis(work: ModelSpec, levels: list[st.Level], basis: Any) -> Any:
    """The strengthened LP's optimal ``basis`` made optimal for the counted model ``work``.

    Read from the session after the counts were appended, ``basis`` has every count column
    ``m`` nonbasic at zero and both of its rows ``Σ_j w_j x_j − m ≤ 0`` and ``d m − c v ≤ u``
    basic, so the first row is violated by ``Σ_j w_j x*_j`` and the root LP of the level
    search spends its iterations (40 on the demo area) raising the counts. With ``m`` basic
    and the count row nonbasic at its upper bound instead, ``m = Σ_j w_j x*_j``: the count
    row holds with equality, the level row holds (``d m ≤ Σ_j a_j x*_j ≤ c v* + u``, as
    ``w_j = ⌊a_j/d⌋``), the objective is unchanged (``m`` costs nothing) and both rows' duals
    are zero (``m`` basic at cost zero), so the basis is primal and dual feasible: the
    strengthened LP's optimum extended — the counted LP's optimum, as it can be no larger.
    (Still square and regular: the basis matrix is block triangular with the old basis, the
    ``−1`` of ``m`` and the level row's slack on its diagonal.) None or a basis of another
    shape is returned as it is."""
    if basis is None or not levels or not hasattr(basis, "col") or not hasattr(basis, "row"):
        return basis
    offsets = work.row_offsets()
    if "level_counts" not in offsets:
        return basis
    first, end = offsets["level_counts"]
    counts = [m for lv in levels for m, _, _ in lv.counts]
    k = len(counts)
    if end - first != 2 * k or basis.row.size < end or basis.col.size < work.n_cols or \
            not k or max(counts) >= basis.col.size:
        return basis
    col, row = basis.col.copy(), basis.row.copy()
    col[np.asarray(counts)] = hb.BASIC
    row[first:end:2] = hb.UPPER
    row[first + 1:end:2] = hb.BASIC
    return type(basis)(col, row)


def _node_knapsack(work: ModelSpec, level: st.Level,
                   root: Callable[[float, float], float] | None = None,
                   own: Callable[[np.ndarray, np.ndarray, LpOutcome], float | None] | None = None
                   ) -> Callable[[np.ndarray, np.ndarray, Any], float | None]:
    """The whole-cell knapsack bound of a level-search node: ``root(lo, hi)``, the bound under
    the root's prices over the node's interval (see
    :func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`; a lookup), and ``own``'s
    bound from the node's LP (:func:`_own_knapsack`, or a memo of it); the smaller. Without
    ``lp`` (asked before the node's LP) only the root's lookup."""
    j = level.col - work.n_x

    def bound(aux_lb: np.ndarray, aux_ub: np.ndarray, lp: LpOutcome | None
              ) -> float | None:
        found = []
        if root is not None:
            found.append(root(float(aux_lb[j]), float(aux_ub[j])))
        if own is not None and lp is not None:
            found.append(own(aux_lb, aux_ub, lp))
        found = [b for b in found if b is not None]
        return min(found) if found else None

    return bound


def _own_knapsack(work: ModelSpec, level: st.Level, window_incumbent: float,
                  root_level: float | None = None
                  ) -> Callable[[np.ndarray, np.ndarray, LpOutcome], float | None]:
    """A level-search node's whole-cell knapsack bound under its own LP's duals: ``work``
    with the node's auxiliary bounds (its level interval and count caps), for a node whose
    interval excludes the root LP's level ``root_level`` (None: every node), where the
    root's duals are the wrong prices; None for the others. (Measured on the demo area: for
    intervals around the root's level the root's prices gave the lower bound every time, and
    the tables of the node's own cost about a second.) The node's own rounded rows get
    multiplier zero — the bound holds for any multipliers — so the node model need not carry
    them.

    ``window_incumbent`` only shapes the curve's exact window (widened until the fractional
    bound falls to it; outside, the fractional bound holds): any value gives a valid bound.
    Fixed before the search — the early curves' stand-in incumbent, where there is one —
    the bound is a function of the node's bounds and LP alone, so it can be computed ahead
    (:class:`~ruimteverdeling.model.strengthen.LevelPrefetch`)."""
    j = level.col - work.n_x

    def bound(aux_lb: np.ndarray, aux_ub: np.ndarray, lp: LpOutcome) -> float | None:
        lo, hi = float(aux_lb[j]), float(aux_ub[j])
        if root_level is not None and lo <= root_level <= hi:
            return None
        if lp.row_dual is None or np.asarray(lp.row_dual).size < work.n_rows:
            return None
        node = replace(work, aux_lb=aux_lb, aux_ub=aux_ub)
        return st.knapsack_level_bound(node, level, np.asarray(lp.row_dual)[: work.n_rows],
                                       window_incumbent)

    return bound


def _hull_region(work: ModelSpec, level: st.Level, nodes: list[st.LevelNode]) -> _Region:
    """One region holding every open level node: the hull of their intervals, the largest of
    their count caps, and the rounded load rows at the hull's top that one of their LP
    solutions violates (valid for every level up to that top)."""
    lb, ub = work.aux_lb.copy(), work.aux_ub.copy()
    j = level.col - work.n_x
    top = max(n.hi for n in nodes)
    lb[j] = max(lb[j], min(n.lo for n in nodes))
    ub[j] = min(ub[j], top)
    for m, _, _ in level.counts:
        ub[m - work.n_x] = min(ub[m - work.n_x],
                               max(n.count_ub.get(m, np.inf) for n in nodes))
    rows = None
    if np.isfinite(top):
        caps = st.level_cap_rows(work, level, top)
        hit = np.unique(np.concatenate([caps.violated(n.x[: work.n_cols]) for n in nodes
                                        if n.x is not None] + [np.empty(0, np.int64)]))
        if hit.size:
            rows = caps.block(hit, "level_cap")
    lps = [(n.lp_bound, n.x[: work.n_cols], n.col_dual[: work.n_cols]) for n in nodes
           if n.x is not None and n.col_dual is not None]
    return _Region(lb, ub, rows, max(n.bound for n in nodes), lps)


def _region_mip(spec: ModelSpec, work: ModelSpec, reg: _Region, backend: Backend,
                options: SolverOptions, say: Progress, x_best: np.ndarray,
                x_round: np.ndarray, objective: float, bound: float, deadline: float,
                fixing: list[Fixing] | None = None
                ) -> tuple[np.ndarray | None, float, dict[str, Any]]:
    """Reduced-cost fixing and branch and bound in one region (see :func:`_close_gap`).
    Returns a better allocation (or None), the region's proven bound and what was done."""
    from dataclasses import replace

    sq = spec.status_quo_value
    delta = reg.bound - objective
    # an allocation worth at most ``objective + slack`` is within the decision gap already:
    # a column that caps every allocation using it there is fixed as well
    slack = FIX_TOLERANCE_SHARE * abs_gap_target(options.mip_rel_gap, objective, bound, sq)
    keep = np.zeros(spec.n_x, bool)
    for z_lp, xs, d in reg.lps:  # fixed only if useless in the LP of every part
        keep |= (xs[: spec.n_x] > INT_TOL) | \
            (np.abs(d[: spec.n_x]) < _fix_threshold(z_lp - objective - slack))
    n_lp = int(np.count_nonzero(keep))
    for item in fixing or []:  # or useless under a level's knapsack prices
        pair = item() if callable(item) else item
        if pair is not None:
            kb, loss = pair
            keep &= loss < _fix_threshold(kb - objective - slack)
    keep |= (x_best[: spec.n_x] > 0.5) | (x_round[: spec.n_x] > 0.5)
    kept_per_unit = np.bincount(spec.col_unit[keep], minlength=spec.n_units)
    free = kept_per_unit >= 2
    n_bin = int(np.count_nonzero(keep & free[spec.col_unit]))
    info: dict[str, Any] = {"region_bound": reg.bound, "delta": delta, "slack": slack,
                            "free_units": int(free.sum()), "binaries": n_bin,
                            "kept_by_lp": n_lp}
    if n_bin == 0 or n_bin > options.full_mip_max_binaries:
        info["status"] = "not run"
        return None, reg.bound, info
    say(f"decision gap {decision_gap(objective, bound, sq):.4%} above tolerance: "
        f"reduced-cost fixing leaves {int(free.sum()):,} units ({n_bin:,} binaries) for "
        "branch and bound")
    region = replace(work, aux_lb=reg.lb, aux_ub=reg.ub)
    if reg.rows is not None:
        region = region.with_rows(reg.rows)
    # fixed units keep the incumbent's columns (kept columns of free units may move)
    start_full = _extend(work, x_best)
    keep_all = np.concatenate([keep, np.ones(region.n_cols - spec.n_x, bool)])
    sub, cols = region.restrict(free, start_full, keep_all)
    offset = sub.obj_offset  # the fixed part: full objective = sub objective + offset
    sub = sub.without_constants()
    start = start_full[cols]
    inside = bool(np.all((start[sub.n_x:] >= sub.aux_lb - 1e-9)
                         & (start[sub.n_x:] <= sub.aux_ub + 1e-9)))
    target = abs_gap_target(options.mip_rel_gap, objective, bound, sq)

    def stop(primal: float, dual: float) -> bool:
        # the region is done once it cannot beat the incumbent by more than the target
        z = max(objective, primal + offset) if np.isfinite(primal) else objective
        return np.isfinite(dual) and dual + offset <= z + abs_gap_target(
            options.mip_rel_gap, z, max(z, min(bound, dual + offset)), sq)

    counted = PatientStop(stop, lambda primal, dual: False, RC_MIP_CHECKS, patience=1)
    r = _mip(backend, sub, options, max(1.0, deadline - time.perf_counter()),
             start if inside else None, target, counted,
             PROVE_SETTINGS if inside and 2 * delta < 3 * slack else None)
    info.update({"status": r.status, **r.details, "checks": counted.checks})
    x_new = None
    if r.x is not None:
        cand = start_full.copy()
        cand[cols] = r.x
        cand = _clean_binaries(spec, cand[: spec.n_cols])
        if not spec.violations(cand, tol=1e-6):
            x_new = cand
    reg_bound = reg.bound
    if r.bound is not None and np.isfinite(r.bound):
        # the sub-model has no constants: its bound plus the fixed part bounds the
        # allocations it holds; those it lacks are worth at most ``objective + slack``
        reg_bound = min(reg_bound, max(r.bound + offset, objective + slack))
    return x_new, reg_bound, info


def _fix_threshold(room: float) -> float:
    """The reduced cost (or knapsack loss) from which a column is fixed at zero, for a part
    whose bound lies ``room`` above the value an allocation must beat: ``room`` itself, raised
    by the solvers' accuracy (a column is kept when in doubt)."""
    return room + 1e-9 * (1.0 + abs(room))


def _with(x: np.ndarray, cols: np.ndarray, value: float) -> np.ndarray:
    out = x.copy()
    out[cols] = value
    return out


def _cheap_columns(spec: ModelSpec, x: np.ndarray, col_dual: np.ndarray | None, k: int
                   ) -> np.ndarray | None:
    """Per unit, its LP support and its ``k`` columns of smallest |reduced cost| (a mask over
    all columns; auxiliaries always kept). Fewer binaries keep HiGHS's MIP setup cheap."""
    if col_dual is None or k <= 0:
        return None
    rank = _rank_in_unit(spec.col_unit, np.abs(col_dual[: spec.n_x]))
    keep = (rank < k) | (x[: spec.n_x] > INT_TOL)
    return np.concatenate([keep, np.ones(len(spec.aux_names), bool)])


def _rank_in_unit(col_unit: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Each column's rank within its unit by ``d`` (0 = smallest; ties: the earlier column
    first), for columns sorted by unit. A unit has few columns (one per allowed use), so the
    rank is counted by comparing each column with its neighbours at every offset below the
    largest unit size: linear in the columns, where a sort of millions is not."""
    n = d.size
    rank = np.zeros(n, np.int32)
    if n == 0:
        return rank
    starts = np.flatnonzero(np.r_[True, col_unit[1:] != col_unit[:-1]])
    widest = int(np.diff(np.r_[starts, n]).max())
    for s in range(1, widest):
        same = col_unit[:-s] == col_unit[s:]
        a, b = d[:-s], d[s:]
        rank[:-s] += same & (b < a)   # the later column is strictly smaller
        rank[s:] += same & (a <= b)   # the earlier column is smaller or ties
    return rank


def _round_units(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Each unit takes its largest column (ties: the first); auxiliaries keep their values."""
    out = x.copy()
    out[: spec.n_x] = 0.0
    out[spec.unit_choice(x)] = 1.0
    return out


def _clean_binaries(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[: spec.n_x] = np.rint(np.clip(out[: spec.n_x], 0.0, 1.0))
    return out


def _neighbourhood(spec: ModelSpec, x: np.ndarray, col_dual: np.ndarray | None,
                   frac_units: np.ndarray, n_free: int) -> np.ndarray:
    """Units to free in the repair MIP: the fractional ones plus those with the cheapest
    alternative (smallest |reduced cost| of a column at zero)."""
    free = np.zeros(spec.n_units, bool)
    free[frac_units] = True
    extra = n_free - int(free.sum())
    if extra > 0 and col_dual is not None:
        d = np.abs(col_dual[: spec.n_x])
        at_zero = x[: spec.n_x] <= INT_TOL
        cand = np.flatnonzero(at_zero)
        if cand.size:
            k = min(cand.size, extra * 2)
            best = cand[np.argpartition(d[cand], k - 1)[:k]] if k < cand.size else cand
            best = best[np.argsort(d[best], kind="stable")]
            units = spec.col_unit[best]
            _, first = np.unique(units, return_index=True)
            ordered = units[np.sort(first)]  # units by their cheapest alternative
            ordered = ordered[~free[ordered]][:extra]
            free[ordered] = True
    return free
