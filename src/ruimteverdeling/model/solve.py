"""Solve a ModelSpec: LP relaxation first, a small repair MIP when needed, a proven gap always.

Why not hand the model to HiGHS's MIP directly? Measured on this model family, HiGHS's MIP
setup (the clique partition of the objective) grows quadratically with the number of binaries
and does not honour ``time_limit`` (10 k cells ≈ 35 s, 20 k ≈ 120 s, all before branching),
while the LP relaxation of the semi-assignment core is integral, or nearly so: a basic optimal
solution has at most as many fractional units as there are coupling (non-assignment) rows.

The ``auto`` method therefore

1. solves the LP relaxation (dual simplex for small models, interior point + crossover for
   large ones, so that the answer is a vertex); its optimum ``z_LP`` is an upper bound on
   every integer allocation;
2. if every binary is integral, that vertex *is* an optimal integer allocation;
3. otherwise fixes every unit whose LP values are integral, except a neighbourhood of
   near-ties (units with a column of small reduced cost), and solves the remaining small MIP
   with HiGHS, starting from the rounded LP solution; if that sub-MIP is infeasible the free
   set grows, and as a last resort the full MIP runs under the time limit;
4. if the gap between that allocation and ``z_LP`` is still above ``mip_rel_gap``,
   reduced-cost fixing removes every column that cannot be part of a better allocation, and
   when what remains is small enough (``full_mip_max_binaries``) HiGHS's branch and bound
   works on it from the incumbent for at most a fifth of the time limit; its dual bound then
   tightens the reported bound, and whatever gap remains is reported as it is.

The reported bound is always ``z_LP`` (or HiGHS's MIP dual bound on the full model), so
``gap = (bound − objective) / max(|objective|, 1)`` is a true, proven gap. A solution is
called optimal only when that gap is within ``mip_rel_gap``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import highspy
import numpy as np

from ruimteverdeling.errors import InfeasibleError, SolverError
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.spec import ModelSpec
from ruimteverdeling.scenario import SolverOptions

INT_TOL = 1e-6


@dataclass
class Solution:
    """The result of a solve (maximisation)."""

    status: str  # "optimal" | "feasible" (gap open) | "time_limit" (best found when the time
    # ran out; gap open) | "relaxation" (LP only, method lp)
    x: np.ndarray
    objective: float
    bound: float
    gap: float
    method: str
    backend: str
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    row_dual: np.ndarray | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def proven_gap(objective: float, bound: float) -> float:
    """Relative gap of a maximisation: (bound − objective) / max(|objective|, 1), ≥ 0."""
    return max(0.0, bound - objective) / max(abs(objective), 1.0)


Progress = Callable[[str], None]


@dataclass
class LpOutcome:
    """A solved (or failed) LP relaxation."""

    status: str  # "optimal" | "infeasible" | "time_limit" | "other: ..."
    x: np.ndarray | None
    objective: float | None
    col_dual: np.ndarray | None
    row_dual: np.ndarray | None
    seconds: dict[str, float]
    details: dict[str, Any]


@dataclass
class MipOutcome:
    """A MIP run: the best solution found (if any) and the solver's dual bound."""

    status: str
    x: np.ndarray | None
    bound: float | None
    seconds: dict[str, float]
    details: dict[str, Any]


class Backend(Protocol):
    """What the solve strategy needs from a backend."""

    name: str

    def label(self) -> str: ...

    def lp(self, spec: ModelSpec, options: SolverOptions, time_limit: float) -> LpOutcome: ...

    def mip(self, spec: ModelSpec, options: SolverOptions, time_limit: float, gap: float,
            start: np.ndarray | None = None, abs_gap: float | None = None) -> MipOutcome: ...


class HighsBackend:
    """highspy, arrays in bulk (the default)."""

    name = "highs"

    def label(self) -> str:
        return f"HiGHS {hb.version()}"

    def lp(self, spec: ModelSpec, options: SolverOptions, time_limit: float) -> LpOutcome:
        opts = hb.lp_options(spec, options.lp_algorithm, options.threads, time_limit,
                             options.seed)
        t0 = time.perf_counter()
        h = hb.build(spec, integral=False, options=opts)
        t_build = time.perf_counter() - t0
        r = hb.run(h, integral=False, want_duals=True)
        return LpOutcome(_norm(r.status), r.x, r.objective, r.col_dual, r.row_dual,
                         {"build": t_build, "lp": r.seconds},
                         {"lp_algorithm": opts["solver"], "lp_iterations": r.iterations})

    def mip(self, spec: ModelSpec, options: SolverOptions, time_limit: float, gap: float,
            start: np.ndarray | None = None, abs_gap: float | None = None) -> MipOutcome:
        t0 = time.perf_counter()
        opts = hb.mip_options(options.threads, time_limit, gap, options.seed)
        if abs_gap is not None:
            opts["mip_abs_gap"] = float(abs_gap)
        h = hb.build(spec, integral=True, options=opts)
        if start is not None:
            _set_start(h, start)
        t_build = time.perf_counter() - t0
        r = hb.run(h, integral=True)
        return MipOutcome(_norm(r.status), r.x, r.bound, {"build": t_build, "mip": r.seconds},
                          {"nodes": r.mip_nodes})


def _norm(status: str) -> str:
    s = status.lower()
    if s == "optimal":
        return "optimal"
    if s == "infeasible":
        return "infeasible"
    if "time limit" in s:
        return "time_limit"
    return f"other: {status}"


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
          progress: Progress | None = None) -> Solution:
    """Solve ``spec`` with the backend and method in ``options`` (see the module docstring)."""
    options = options or SolverOptions()
    say = progress or (lambda msg: None)
    backend = backend_for(options)
    if options.method == "mip":
        sol = _solve_mip(spec, backend, options, say)
    else:
        sol = _solve_lp_first(spec, backend, options, say,
                              relaxation_only=options.method == "lp")
    return verified(spec, sol)


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


# ---------------------------------------------------------------------------------------------
def _solve_mip(spec: ModelSpec, backend: Backend, options: SolverOptions, say: Progress
               ) -> Solution:
    say(f"MIP: {spec.n_x:,} binaries, {spec.n_rows:,} rows ({backend.name} branch and bound)")
    r = backend.mip(spec, options, options.time_limit, options.mip_rel_gap)
    if r.x is None:
        if r.status == "infeasible":
            raise InfeasibleError("the hard targets and rules cannot all hold (infeasible)")
        if r.status == "time_limit":
            raise SolverError(no_incumbent_message(options, "the MIP found no allocation"))
        raise SolverError(f"no solution found ({r.status})")
    x = _clean_binaries(spec, r.x)
    objective = spec.objective_value(x)
    bound = r.bound if r.bound is not None else np.inf
    gap = proven_gap(objective, bound)
    status = "optimal" if r.status == "optimal" and gap <= options.mip_rel_gap + 1e-12 \
        else "time_limit" if r.status == "time_limit" else "feasible"
    return Solution(status, x, objective, bound, gap, "mip", backend.name, backend.label(),
                    dict(r.seconds), {"mip_status": r.status, **r.details})


def _solve_lp_first(spec: ModelSpec, backend: Backend, options: SolverOptions, say: Progress,
                    relaxation_only: bool) -> Solution:
    deadline = time.perf_counter() + options.time_limit
    decomposed = spec.n_x > options.decompose_above and backend.name == "highs"
    if decomposed:
        from ruimteverdeling.model import decompose

        say(f"LP relaxation by column generation: {spec.n_x:,} columns, {spec.n_units:,} "
            f"units, {spec.n_rows - spec.n_units:,} coupling rows")
        t0 = time.perf_counter()
        res = decompose.lp(spec, options, backend, say, deadline)
        lp = LpOutcome("optimal" if res["converged"] else "not converged", res["x"],
                       res["objective"], res["col_dual"], res["row_dual"],
                       {"lp": time.perf_counter() - t0},
                       {"lp_algorithm": "column generation", "decomposition": res["details"]})
        if not res["converged"] and spec.violations(res["x"]):
            raise SolverError(no_incumbent_message(
                options, "column generation found no allocation that meets every target and "
                "rule (if the time limit was not reached, the scenario may be infeasible: "
                "check it at a coarser --resolution, where infeasibility is explained)"))
        lp_bound = float(res["bound"])
    else:
        say(f"LP relaxation: {spec.n_cols:,} columns, {spec.n_rows:,} rows ({backend.name})")
        lp = backend.lp(spec, options, options.time_limit)
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
    frac_cols = spec.integral & (x > INT_TOL) & (x < 1 - INT_TOL)
    frac_units = np.unique(spec.col_unit[frac_cols[: spec.n_x]])
    details: dict[str, Any] = {"lp_status": lp.status, **lp.details,
                               "fractional_units": int(frac_units.size)}
    label = backend.label()
    if relaxation_only:
        obj = spec.objective_value(x)
        return Solution("relaxation", x, obj, bound, 0.0, "lp", backend.name, label, seconds,
                        details, lp.row_dual)

    x_round = _round_units(spec, x)
    if frac_units.size == 0 and not spec.violations(x_round):
        say("LP optimum is integral: it is an optimal allocation")
        objective = spec.objective_value(x_round)
        gap = proven_gap(objective, bound)
        status = "optimal" if gap <= options.mip_rel_gap + 1e-9 else "feasible"
        return Solution(status, x_round, objective, bound, gap, "lp-integral", backend.name,
                        label, seconds, details, lp.row_dual)

    # repair: a small MIP on the fractional units and their near-ties
    say(f"{frac_units.size} fractional units: repairing with a small MIP")
    t0 = time.perf_counter()
    n_free = max(options.repair_units_per_fractional * max(frac_units.size, 1),
                 options.repair_min_units)
    x_best = None
    last_bound = None
    attempts = []
    while True:
        free = _neighbourhood(spec, x, lp.col_dual, frac_units, n_free)
        remaining = deadline - time.perf_counter()
        if remaining <= 1:
            break
        keep = _cheap_columns(spec, x, lp.col_dual, options.repair_columns_per_unit)
        sub, cols = spec.restrict(free, x_round, keep)
        sub = sub.without_constants()  # the gap is then relative to the free part only
        budget = min(remaining, max(10.0, 0.25 * options.time_limit))
        # good enough when it cannot cost more than half the requested overall gap
        r = backend.mip(sub, options, budget, 1e-9, x_round[cols],
                        abs_gap=0.5 * options.mip_rel_gap * max(abs(bound), 1.0))
        attempts.append({"free_units": int(free.sum()), "status": r.status, **r.details,
                         "seconds": round(sum(r.seconds.values()), 3)})
        if r.x is not None:
            x_best = x_round.copy()
            x_best[cols] = r.x
            if r.bound is not None:
                last_bound = r.bound + spec.objective_value(_with(x_round, cols, 0.0))
            # the LP bound can be loose by the integrality gap of lumpy rows (a 5 % share of
            # a polder of three cells), so half the tolerance spent in the repair may leave
            # the overall gap just above it: then search the same neighbourhood once more,
            # for a tenth of the tolerance, briefly (10k cells: 0.50 % -> 0.39 %, 0.1 s)
            z_try = spec.objective_value(_clean_binaries(spec, x_best))
            remaining = deadline - time.perf_counter()
            # (on small models only for 2 s: the branch and bound on the whole model below
            # uses longer time better)
            if proven_gap(z_try, bound) > options.mip_rel_gap and r.status == "optimal" \
                    and remaining > 1:
                t_tight = 5.0 + 0.02 * options.time_limit \
                    if spec.n_x > options.full_mip_max_binaries else 2.0
                r2 = backend.mip(sub, options, min(remaining, t_tight), 1e-9, r.x,
                                 abs_gap=0.1 * options.mip_rel_gap * max(abs(bound), 1.0))
                attempts.append({"free_units": int(free.sum()), "status": r2.status,
                                 "tightened": True, **r2.details,
                                 "seconds": round(sum(r2.seconds.values()), 3)})
                if r2.x is not None and sub.objective_value(r2.x) > sub.objective_value(r.x):
                    x_best[cols] = r2.x
            break
        if free.all() or n_free >= spec.n_units:
            break
        n_free *= 4
    seconds["repair"] = time.perf_counter() - t0
    details["repair_attempts"] = attempts
    if x_best is None:
        remaining = deadline - time.perf_counter()
        if remaining > 1:
            say("repair MIP found nothing: running the full MIP under the time limit")
            opts = options.model_copy(update={"time_limit": remaining})
            full = _solve_mip(spec, backend, opts, say)
            full.seconds = {**seconds, **full.seconds}
            full.details = {**details, **full.details}
            full.bound = min(full.bound, bound)
            full.gap = proven_gap(full.objective, full.bound)
            full.method = "lp+full-mip"
            return full
        raise SolverError(no_incumbent_message(
            options, f"the LP relaxation solved (bound {bound:,.4f}) but no integer allocation "
            "was found", lp_done=True))
    x_best = _clean_binaries(spec, x_best)
    objective = spec.objective_value(x_best)
    if attempts and attempts[-1]["free_units"] == spec.n_units and last_bound is not None:
        bound = min(bound, last_bound)  # the sub-MIP was the whole model: its bound is global
    method = "lp+repair-mip"
    gap = proven_gap(objective, bound)
    remaining = deadline - time.perf_counter()
    if gap > options.mip_rel_gap and remaining > 1 and lp.col_dual is not None:
        x_best, objective, bound, closed = _close_gap(
            spec, backend, options, say, x, lp.col_dual, x_round, x_best, objective, bound,
            remaining, details, seconds)
        if closed:
            method += "+rc-mip"
        gap = proven_gap(objective, bound)
    status = "optimal" if gap <= options.mip_rel_gap + 1e-12 else "feasible"
    if status == "feasible" and deadline - time.perf_counter() <= 1:
        status = "time_limit"  # the best allocation found when the time limit ran out
    return Solution(status, x_best, objective, bound, gap, method, backend.name, label,
                    seconds, details, lp.row_dual)


def _close_gap(spec: ModelSpec, backend: Backend, options: SolverOptions, say: Progress,
               x_lp: np.ndarray, col_dual: np.ndarray, x_round: np.ndarray,
               x_best: np.ndarray, objective: float, bound: float, remaining: float,
               details: dict[str, Any], seconds: dict[str, float]
               ) -> tuple[np.ndarray, float, float, bool]:
    """Reduced-cost fixing, then branch and bound on what is left.

    With LP optimum ``z_LP`` and reduced costs ``d``, every feasible ``x`` satisfies
    ``c·x ≤ z_LP − Σ_j |d_j| · |x_j − x*_j|``. An allocation better than the incumbent
    ``z_inc`` therefore keeps every column with ``x*_j = 0`` and ``|d_j| ≥ Δ = z_LP − z_inc``
    at zero. Fixing those leaves a smaller MIP; its dual bound ``b`` proves ``max(z_inc, b)``
    as a bound for the whole model. Runs only when that MIP has at most
    ``full_mip_max_binaries`` binaries (HiGHS's MIP setup is quadratic in the binaries).
    """
    delta = bound - objective
    d = np.abs(col_dual[: spec.n_x])
    keep = (x_lp[: spec.n_x] > INT_TOL) | (d < delta * (1 + 1e-9) + 1e-9)
    kept_per_unit = np.bincount(spec.col_unit[keep], minlength=spec.n_units)
    free = kept_per_unit >= 2
    n_bin = int(np.count_nonzero(keep & free[spec.col_unit]))
    details["rc_fixing"] = {"delta": delta, "free_units": int(free.sum()), "binaries": n_bin}
    if n_bin == 0 or n_bin > options.full_mip_max_binaries:
        return x_best, objective, bound, False
    say(f"gap {proven_gap(objective, bound):.4%} above tolerance: reduced-cost fixing leaves "
        f"{int(free.sum()):,} units ({n_bin:,} binaries) for branch and bound")
    t0 = time.perf_counter()
    # fixed units take their LP values (integral for them), kept columns may move
    keep_all = np.concatenate([keep, np.ones(len(spec.aux_names), bool)])
    sub, cols = spec.restrict(free, x_round, keep_all)
    sub = sub.without_constants()
    outside = np.ones(spec.n_cols, bool)
    outside[cols] = False
    start = x_best[cols] if np.allclose(x_best[outside], x_round[outside]) else None
    budget = min(remaining, max(10.0, 0.2 * options.time_limit))
    r = backend.mip(sub, options, budget, 1e-9, start,
                    abs_gap=options.mip_rel_gap * max(abs(bound), 1.0) * 0.5)
    seconds["rc_mip"] = time.perf_counter() - t0
    details["rc_mip"] = {"status": r.status, **r.details}
    if r.x is not None:
        cand = x_round.copy()
        cand[cols] = r.x
        cand = _clean_binaries(spec, cand)
        obj = spec.objective_value(cand)
        if obj > objective and not spec.violations(cand, tol=1e-6):
            x_best, objective = cand, obj
    if r.bound is not None and np.isfinite(r.bound):
        # the sub-model has no constants: its bound plus the fixed part bounds the whole
        fixed_part = spec.objective_value(_with(x_round, cols, 0.0))
        bound = min(bound, max(objective, r.bound + fixed_part))
    return x_best, objective, bound, True


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
    d = np.abs(col_dual[: spec.n_x])
    # rank columns within their unit by |d| (columns are sorted by unit)
    order = np.lexsort((d, spec.col_unit))
    starts = np.flatnonzero(np.r_[True, spec.col_unit[order][1:] != spec.col_unit[order][:-1]])
    rank = np.empty(spec.n_x, np.int64)
    rank[order] = np.arange(spec.n_x) - np.repeat(starts, np.diff(np.r_[starts, spec.n_x]))
    keep = (rank < k) | (x[: spec.n_x] > INT_TOL)
    return np.concatenate([keep, np.ones(len(spec.aux_names), bool)])


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


def _set_start(h: highspy.Highs, x0: np.ndarray) -> None:
    sol = highspy.HighsSolution()
    sol.col_value = x0.tolist()
    sol.value_valid = True
    h.setSolution(sol)
