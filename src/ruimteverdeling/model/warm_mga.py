"""Near-optimal re-solves on one kept LP: the solves of modelling to generate alternatives.

An MGA sequence (:mod:`ruimteverdeling.analysis.alternatives`) solves the scenario's model
again and again with the same *objective floor* row ``c·x ≥ z_floor``, one more no-good row
per alternative found and a new objective each time. :class:`NearOptimalSession` keeps one
HiGHS LP for the whole sequence: the model is handed over once, each solve changes the
objective (``changeColsCost``) and appends its new rows (basic, as their slack), instead of a
model built anew. A solve with a floor row (an objective floor, an ε row) whose objective or
floor differs from the solve before starts from the *floor crash basis*
(:func:`floor_crash_basis`: the floor tight, its dual guessed by a parametric argmax); any
other solve starts from the basis the solve before ended with. On the demo area the floor
crash cut the dual simplex of the first alternative from 12.4 k to 7.4 k iterations, and of
a Pareto point at three quarters of the range to 3.1 k, where the optimal basis of the point
above it (still dual feasible: only the ε row's bound moved) needed 9.9 k. For the next
alternative the basis the solve before ended with looked better in isolation (8.7 k
iterations from the first alternative's optimal LP basis against 14.9 k), but in the
sequence — after that solve's rounds of margins — the third alternative's LP from it did not
finish within its 88 s, where from its floor crash it took 18 s. Restarting instead from the
last LP's optimal basis taken *before* its rounds of margins (the new no-good row basic) cut the
iterations of the second and third alternatives from 13.4 k and 18.1 k to 8.6 k and 6.2 k, but
each of those iterations cost about four times as much (relative to the first alternative's LP
in the same run, the machine loaded): 2.3 times the first alternative's LP time against 0.9
times from the floor crash. So each changed objective restarts from its floor crash.

Each solve maximises ``d·x`` (the MGA objective) over the variant's integer allocations:

* the bound ``z⁺``: the optimum of the variant's LP relaxation; every integer allocation is a
  point of it, so ``z* ≤ z⁺``;
* an allocation ``x⁻`` of the variant, so ``d·x⁻ ≤ z* ≤ z⁺``, proven, and called optimal only
  when the two meet within ``mip_rel_gap``.

The allocation comes from the LP vertex. Rounded unit by unit (each unit its largest column,
auxiliaries re-optimised for the binaries) it rarely meets every row: the LP optimum sits *on*
the floor (less overlap always costs objective) and on the targets it trades against it, and
the fractional units carry those rows exactly to their bounds. So every row the rounded
vertex breaks, by ``v``, is tightened in the kept LP by ``2·k·v`` (``k`` how often that
row was broken; margins accumulate; a two-sided row at most to its middle, an equality not at
all), the LP re-solved from its optimal basis — a change of row bounds keeps it dual
feasible, so a few dual simplex iterations — and its vertex rounded again, up to
:data:`RAISES` rounds; a round whose margins make the LP infeasible is undone and the
margins of later rounds halved. On the demo area
(27 k units, 43 coupling rows) this meets every row after 3–6 rounds of a few dozen
iterations each, where a repair MIP over the fractional units is infeasible (the rows need
other units to move) and one over a neighbourhood of 600–10,000 units does not finish its root
in 30 s. When the rounds find nothing, the *repair* frees the fractional units and those
whose cheapest other column costs least by the LP's reduced costs, every other unit fixed at
the rounded vertex, and HiGHS's MIP solves that small model — unless the caller handed over an
allocation that meets every row (a Pareto point's neighbour), which is then the answer.

The tightened rows are restored before the solve returns, and the bound is always the one of
the untightened LP: the margins change which allocation is found, never what is proven.
"""

from __future__ import annotations

import time
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from ruimteverdeling.errors import InfeasibleError, SolverError
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import (
    Solution,
    decision_gap,
    norm_status,
    proven_gap,
)
from ruimteverdeling.model.solve import numeric_gap
from ruimteverdeling.model.spec import ModelSpec, RowBlock
from ruimteverdeling.model.warm import mapped_basis, warm_start

Row = tuple[str, np.ndarray, float, float]
"""An extra row ``lo ≤ vec·x ≤ hi`` (name, dense coefficients over all columns, lo, hi)."""

INT_TOL = 1e-6
RAISES = 20
"""Most rounds of margins on the rows the rounded vertex breaks."""
RAISES_KNOWN = 5
"""Most rounds when the caller handed over an allocation that meets every row."""
REPAIR_SECONDS = 10.0
"""Most seconds the repair MIPs of one solve take together."""
GROWS = 2
"""How many times the repair's neighbourhood grows (fourfold) after HiGHS proves it empty."""


def closed(objective: float, bound: float, dgap: float | None, rel_gap: float) -> bool:
    """Whether a re-solve's gap counts as closed: its decision gap ``dgap`` is within
    ``rel_gap``, or ``bound − objective`` is the solvers' round-off
    (:func:`ruimteverdeling.model.solve.numeric_gap`: 10⁻⁶ + 10⁻⁹·|objective|), as for a full
    solve. An objective whose value at the allocation is (nearly) its status-quo value — a
    Pareto point whose criteria the status quo matches — has a decision value near zero, so
    its decision gap is measured against ε = 10⁻⁶·max(|objective|, 1); an open gap larger
    than round-off but below ε (up to 1.6 points on a 1.6 M objective) is still open."""
    return (dgap is not None and dgap <= rel_gap + 1e-12) or \
        bound - objective <= numeric_gap(objective)


def spec_with(spec: ModelSpec, obj: np.ndarray, offset: float, rows: list[Row],
              status_quo_x: np.ndarray | None = None) -> ModelSpec:
    """``spec`` with objective ``obj·x + offset`` and the extra rows ``lo ≤ vec·x ≤ hi``
    appended after its coupling rows, in order. ``status_quo_x``: the status quo as a point of
    ``spec``'s columns (the rows add none); the new model's status-quo value is then
    ``obj·x_sq + offset``, the anchor of its decision gap, else unknown (its gap is then the
    whole objective's)."""
    blocks = list(spec.coupling)
    for name, vec, lo, hi in rows:
        blocks.append(RowBlock(name, "rule", sp.csr_matrix(vec.reshape(1, -1)),
                               np.array([lo], float), np.array([hi], float), labels=[name],
                               ref=name))
    return ModelSpec(spec.n_x, spec.col_unit, spec.col_use, spec.unit_cells, spec.aux_names,
                     spec.aux_lb, spec.aux_ub, blocks, spec.terms, obj, offset,
                     status_quo_value=None if status_quo_x is None
                     else float(np.asarray(obj, float) @ status_quo_x) + offset)


class NearOptimalSession:
    """One HiGHS LP of ``spec`` and the extra rows of a sequence of solves (see the module
    docstring). Each :meth:`solve` names its whole set of extra rows: a row seen before (by
    name; its coefficients must be the same) gets the new bounds, a new one is appended, and a
    row of an earlier solve that this one does not name is switched off (made free).
    ``start``: a :class:`ruimteverdeling.model.warm.WarmStart` whose LP basis starts the
    first LP (the caller chose it for this objective: a basis is dual feasible only for the
    objective it was optimal for), else the crash basis does. ``status_quo_x``: the status
    quo as a point of ``spec``'s columns; each solve's decision gap is then measured against
    ``obj·x_sq`` (see :func:`spec_with`), else its gap is the whole objective's."""

    def __init__(self, spec: ModelSpec, options: SolverOptions, start: Any = None,
                 status_quo_x: np.ndarray | None = None):
        self.spec = spec
        self.status_quo_x = status_quo_x
        self.options = options
        self.start = start
        self.rows: list[Row] = []  # in the LP's order, with the bounds it holds now
        self.index: dict[str, int] = {}
        self.h: Any = None
        self.obj: np.ndarray | None = None  # the objective of the last solve
        self.floor_at: tuple[str, float] | None = None  # its floor row and the row's bound
        self.started_from = "session"
        self.backend = hb.HighsBackend()

    def _set_rows(self, rows: list[Row]) -> None:
        """The session's rows made those of ``rows`` (see the class docstring)."""
        h, first = self.h, self.spec.n_rows
        wanted = {name: (vec, lo, hi) for name, vec, lo, hi in rows}
        for name, vec, lo, hi in rows:
            if name in self.index:
                continue
            self.index[name] = len(self.rows)
            self.rows.append((name, vec, lo, hi))
            if h is not None:
                idx = np.flatnonzero(vec).astype(np.int32)
                h.addRow(_finite(lo), _finite(hi), idx.size, idx, vec[idx].astype(float))
        for i, (name, vec, lo, hi) in enumerate(self.rows):
            new_lo, new_hi = wanted[name][1:] if name in wanted else (-np.inf, np.inf)
            if (new_lo, new_hi) != (lo, hi):
                self.rows[i] = (name, vec, new_lo, new_hi)
                if h is not None:
                    h.changeRowBounds(first + i, _finite(new_lo), _finite(new_hi))

    def _start(self, model: ModelSpec, time_limit: float, floor: str | None) -> None:
        opts = hb.lp_options(model, "simplex", self.options.threads, time_limit,
                             self.options.seed)
        self.h = hb.build(model, integral=False, options=opts)
        # the start's basis when it is one of this model (mapped by cell and use), else the
        # floor crash basis, else the semi-assignment crash basis (dual feasible for any
        # objective)
        mapped = None if self.start is None else mapped_basis(
            self.start, model, hb.LOWER, hb.UPPER, hb.ZERO, hb.BASIC, 1.0)
        if mapped is not None:
            self.started_from = "warm"
            hb.set_basis(self.h, hb.Basis(*mapped))
        else:
            self._crash(model, floor)

    def _crash(self, model: ModelSpec, floor: str | None) -> None:
        """The LP's basis made the floor crash basis of the row ``floor``
        (:func:`floor_crash_basis`), else the semi-assignment crash basis."""
        basis = None
        if floor is not None:
            i = self.index[floor]
            _, vec, lo, _ = self.rows[i]
            basis = floor_crash_basis(model, self.spec.n_rows + i, vec, lo)
        self.started_from = "crash" if basis is None else "floor crash"
        hb.set_basis(self.h, hb.crash_basis(model) if basis is None else basis)

    def _lp(self, deadline: float) -> hb.HighsResult:
        hb.allow_seconds(self.h, max(hb.MIN_RUN_SECONDS, deadline - time.perf_counter()))
        return hb.run(self.h, integral=False, want_duals=True, want_basis=False,
                      deadline=deadline)

    def solve(self, obj: np.ndarray, rows: list[Row],
              incumbents: list[np.ndarray] | None = None,
              rounds: int | None = None, floor: str | None = None,
              want_basis: bool = False) -> Solution:
        """Maximise ``obj·x`` over the scenario's allocations that meet the extra ``rows``,
        within ``options.time_limit``. ``incumbents``: allocations known beforehand (over the
        same columns); each that meets every row is a candidate beside the rounded vertex.
        ``rounds``: most rounds of margins (default :data:`RAISES`, :data:`RAISES_KNOWN` when
        an incumbent meets every row). ``floor``: the name of a row of ``rows`` that is
        ``g·x ≥ lo`` over (nearly) all columns and tight at the optimum (an objective floor,
        an ε row): a solve whose objective or floor bound differs from the one before
        starts from its floor crash basis (:func:`floor_crash_basis`) instead of the crash
        basis or the basis the solve before ended with (measured slower even where that one
        is still dual feasible). ``want_basis``: the solution's ``warm`` holds the LP's
        optimal basis, from before the rounds of margins (over the scenario's rows and every
        row of the session, in order), which a later LP of this model and rows may start
        from. ``details["lp_rows"]``: each extra row's activity at the LP optimum.

        Raises :class:`InfeasibleError` when the LP relaxation is infeasible (so is the
        model), :class:`SolverError` when the LP does not finish or no allocation is found
        (a caller then runs the full solve). ``optimal`` only when the decision gap (against
        ``obj·x_sq`` with ``status_quo_x``, else the whole objective's gap) is within
        ``options.mip_rel_gap``, or when ``bound − z`` is round-off (:func:`closed`)."""
        t_start = time.perf_counter()
        deadline = t_start + self.options.time_limit
        self._set_rows(rows)
        model = spec_with(self.spec, np.asarray(obj, float), 0.0, self.rows, self.status_quo_x)
        if self.h is None:
            self._start(model, self.options.time_limit, floor)
        else:
            self.started_from = "session"
            cols = np.arange(model.n_cols, dtype=np.int32)
            floor_at = None if floor is None else self.rows[self.index[floor]][2]
            if floor is not None and (self.floor_at != (floor, floor_at) or self.obj is None
                                      or not np.array_equal(self.obj, model.obj)):
                self._crash(model, floor)
            self.h.changeColsCost(cols.size, cols, model.obj.astype(float))
        self.obj = model.obj
        self.floor_at = None if floor is None else (floor, self.rows[self.index[floor]][2])
        seconds: dict[str, float] = {"build": time.perf_counter() - t_start}
        r = self._lp(deadline)
        seconds["lp"] = r.seconds
        iterations = int(r.iterations.get("simplex", 0))
        status = norm_status(r.status)
        if status == "infeasible":
            raise InfeasibleError("the hard targets, the rules and the rows of this re-solve "
                                  "cannot all hold (the LP relaxation is infeasible)")
        if status != "optimal" or r.x is None or r.objective is None:
            raise SolverError(f"the LP relaxation did not finish ({r.status})")
        bound = float(r.objective)
        x_lp = np.asarray(r.x, float)
        # the LP's optimal basis, before the rounds of margins move it: a later LP of this
        # model and rows (another ε, cuts added) starts from it
        lp_basis = hb.get_basis(self.h) if want_basis else None
        details: dict[str, Any] = {"lp_bound": bound, "start_basis": self.started_from,
                                   "first_lp_iterations": iterations,
                                   "lp_rows": {name: float(vec @ x_lp)
                                               for name, vec, *_ in rows}}
        t_rep = time.perf_counter()
        frac = self._fractional(model, x_lp)
        known = []
        for x_known in incumbents or []:
            x_known = self._polished(model, np.asarray(x_known, float))
            if not model.violations(x_known):
                known.append(("warm", x_known))
        if rounds is None:
            rounds = RAISES_KNOWN if known else RAISES
        found, margins = self._rounded(model, x_lp, deadline, details, rounds)
        if not found and not known:  # the repair MIP only when nothing else is at hand
            found = self._allocations(model, x_lp, r.col_dual, frac, deadline)
        found += known
        seconds["repair"] = time.perf_counter() - t_rep
        details.update({"fractional_units": int(frac.sum()), "rows_raised": margins,
                        "lp_iterations": {"simplex": iterations + details.pop("raise_it", 0)}})
        if not found:
            raise SolverError("the near-optimal re-solve found no allocation that meets every "
                              "row")
        how, x = max(found, key=lambda kx: model.objective_value(kx[1]))
        z = model.objective_value(x)
        bound = max(bound, z)
        dgap = decision_gap(z, bound, model.status_quo_value)
        status = "optimal" if closed(z, bound, dgap, self.options.mip_rel_gap) else "feasible"
        warm = warm_start(model, x, lp_basis, z) if want_basis else None
        seconds["resolve"] = time.perf_counter() - t_start
        method = f"lp+{how}"
        row_dual = None
        if r.row_dual is not None:  # over the scenario's rows and ``rows``, in their order
            n = self.spec.n_rows
            row_dual = np.concatenate([r.row_dual[:n], [r.row_dual[n + self.index[name]]
                                                        for name, *_ in rows]])
        return Solution(status, x, z, bound, proven_gap(z, bound), method, self.backend.name,
                        self.backend.label(), seconds, details, row_dual,
                        model.status_quo_value, dgap, warm)

    def _rounded(self, model: ModelSpec, x_lp: np.ndarray, deadline: float,
                 details: dict[str, Any], rounds: int = RAISES
                 ) -> tuple[list[tuple[str, np.ndarray]], int]:
        """The LP vertex rounded unit by unit (auxiliaries re-optimised) when it meets every
        row; else each row it breaks is tightened in the LP by ``2·k·v`` (``v`` what it
        misses by, ``k`` how often it was broken; accumulating, ``rounds`` rounds at most),
        the LP re-solved from its optimal basis and its vertex rounded again. Every row is
        restored before returning. Returns the allocation found (or none) and how
        many rows were tightened."""
        h = self.h
        offsets = np.cumsum([model.n_units] + [b.n_rows for b in model.coupling])
        changed: dict[int, tuple[float, float]] = {}  # row -> its true (lo, hi)
        tight: dict[int, tuple[float, float]] = {}
        times: dict[int, int] = {}  # how often each row was broken
        x = x_lp
        scale = 2.0  # margins are scale·k·v; halved after a round that overshoots
        try:
            for attempt in range(rounds + 1):
                cand = self._polished(model, rounded(model, x))
                broken = []
                for k, blk in enumerate(model.coupling):
                    act = blk.A @ cand
                    lo, hi = blk.lower, blk.upper
                    for i in np.flatnonzero((act < lo - 1e-6 * np.maximum(1, np.abs(lo))) |
                                            (act > hi + 1e-6 * np.maximum(1, np.abs(hi)))):
                        broken.append((int(offsets[k] + i), float(lo[i]), float(hi[i]),
                                       float(act[i])))
                if not broken and not model.violations(cand):
                    return [("lp-rounded" if not changed else "lp-margins", cand)], len(changed)
                if not broken or time.perf_counter() >= deadline:
                    details["margin_stop"] = "deadline" if broken else "other violations"
                    break
                if attempt == rounds:  # the last vertex is rounded: no LP whose isn't
                    details["margin_stop"] = "rounds"
                    break
                before = dict(tight)
                for row, lo, hi, act in broken:
                    changed.setdefault(row, (lo, hi))
                    times[row] = times.get(row, 0) + 1
                    t_lo, t_hi = tight.get(row, (lo, hi))
                    if act < lo < hi:
                        t_lo += scale * times[row] * (lo - act)
                        if np.isfinite(hi):
                            t_lo = min(t_lo, 0.5 * (lo + hi))
                    elif act > hi > lo:
                        t_hi -= scale * times[row] * (act - hi)
                        if np.isfinite(lo):
                            t_hi = max(t_hi, 0.5 * (lo + hi))
                    else:
                        continue  # an equality row: no room to tighten
                    tight[row] = (t_lo, t_hi)
                    h.changeRowBounds(row, _finite(t_lo), _finite(t_hi))
                rr = self._lp(deadline)
                details["margin_rounds"] = details.get("margin_rounds", 0) + 1
                details["raise_it"] = details.get("raise_it", 0) + int(
                    rr.iterations.get("simplex", 0))
                if norm_status(rr.status) == "infeasible":
                    # the margins overshot: back to the last round's, smaller steps from there
                    for row in set(tight) - set(before):
                        lo, hi = changed[row]
                        h.changeRowBounds(row, _finite(lo), _finite(hi))
                        del tight[row]
                    for row, (t_lo, t_hi) in before.items():
                        tight[row] = (t_lo, t_hi)
                        h.changeRowBounds(row, _finite(t_lo), _finite(t_hi))
                    scale *= 0.5
                    continue
                if norm_status(rr.status) != "optimal" or rr.x is None:
                    details["margin_stop"] = rr.status
                    break
                x = np.asarray(rr.x, float)
            else:
                details["margin_stop"] = "rounds"
        finally:
            for row, (lo, hi) in changed.items():
                h.changeRowBounds(row, _finite(lo), _finite(hi))
        return [], len(changed)

    def _polished(self, model: ModelSpec, x: np.ndarray) -> np.ndarray:
        """``x`` with its auxiliary columns re-optimised for its binaries (an LP over the
        auxiliaries alone); ``x`` unchanged when that LP does not solve."""
        if not model.aux_names:
            return x
        sub, cols = model.restrict(np.zeros(model.n_units, bool), x)
        out = self.backend.lp(sub, self.options, 10.0, want_basis=False)
        if out.status != "optimal" or out.x is None:
            return x
        cand = x.copy()
        cand[cols] = out.x
        return cand

    @staticmethod
    def _fractional(model: ModelSpec, x: np.ndarray) -> np.ndarray:
        xs = x[: model.n_x]
        frac = np.zeros(model.n_units, bool)
        frac[model.col_unit[(xs > INT_TOL) & (xs < 1 - INT_TOL)]] = True
        return frac

    def _allocations(self, model: ModelSpec, x_lp: np.ndarray, col_dual: np.ndarray | None,
                     frac: np.ndarray, deadline: float) -> list[tuple[str, np.ndarray]]:
        """The rounded vertex when it meets every row, else the repair's allocation (none
        when the repair finds nothing). Both are checked against the true rows.

        The repair frees the fractional units and the units whose cheapest other use costs
        least by the LP's reduced costs (``repair_units_per_fractional`` per fractional unit,
        at least ``repair_min_units``; four times as many after HiGHS proves a neighbourhood
        empty, :data:`GROWS` times at most), every other unit fixed at the rounded vertex."""
        x_round = rounded(model, x_lp)
        if not frac.any():
            return []
        opts = self.options
        n_free = max(opts.repair_units_per_fractional * int(frac.sum()), opts.repair_min_units)
        deadline = min(deadline, time.perf_counter() + REPAIR_SECONDS)
        for _ in range(GROWS + 1):
            free = neighbourhood(model, x_lp, col_dual, frac, n_free)
            sub, cols = model.restrict(free, x_round)
            left = deadline - time.perf_counter()
            if left <= 0:
                return []
            r = self.backend.mip(sub, opts, left, opts.mip_rel_gap)
            if r.x is not None:
                x = x_round.copy()
                x[cols] = r.x
                x[: model.n_x] = np.rint(np.clip(x[: model.n_x], 0.0, 1.0))
                return [] if model.violations(x) else [("repair", x)]
            if r.status != "infeasible" or free.all():
                return []
            n_free *= 4
        return []


def _finite(v: float) -> float:
    """A row bound for HiGHS (its infinity for ±inf)."""
    return float(np.clip(v, -highspy.kHighsInf, highspy.kHighsInf))


def rounded(model: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Each unit takes its largest column (ties: the first); auxiliaries keep their values."""
    out = x.copy()
    out[: model.n_x] = 0.0
    out[model.unit_choice(x)] = 1.0
    return out


def neighbourhood(model: ModelSpec, x: np.ndarray, col_dual: np.ndarray | None,
                  frac: np.ndarray, n_free: int) -> np.ndarray:
    """The fractional units and, up to ``n_free`` units in all, those whose cheapest column
    not in the LP solution has the smallest |reduced cost| (bool per unit)."""
    free = frac.copy()
    extra = n_free - int(free.sum())
    if extra <= 0 or col_dual is None or not model.n_x:
        return free
    d = np.where(x[: model.n_x] <= INT_TOL, np.abs(col_dual[: model.n_x]), np.inf)
    starts = np.flatnonzero(np.r_[True, model.col_unit[1:] != model.col_unit[:-1]])
    cheapest = np.minimum.reduceat(d, starts)
    cheapest[free] = np.inf
    k = min(extra, int(np.isfinite(cheapest).sum()))
    if k > 0:
        free[np.argpartition(cheapest, k - 1)[:k]] = True
    return free


def _choice(d: np.ndarray, starts: np.ndarray, sizes: np.ndarray, n_x: int) -> np.ndarray:
    """Per unit the first column of largest ``d`` (``starts``/``sizes``: the units' column
    ranges, units contiguous)."""
    best = np.maximum.reduceat(d, starts)
    idx = np.where(d >= np.repeat(best, sizes), np.arange(n_x), n_x)
    return np.minimum.reduceat(idx, starts)


def floor_crash_basis(model: ModelSpec, row: int, g: np.ndarray, lo: float) -> hb.Basis | None:
    """A dual feasible starting basis for ``max d·x`` (``d = model.obj``) whose row ``row`` is
    ``g·x ≥ lo`` with ``g`` dense (an objective floor, an ε row), the row *tight*.

    The crash basis (:func:`ruimteverdeling.model.highs_backend.crash_basis`) takes in each
    unit the column of largest ``d`` and leaves such a row's slack basic: dual feasible, but
    the allocation is usually far below the floor (least overlap gives up objective), and
    the dual simplex then walks unit by unit up to it, every pivot through the dense row
    (12 k iterations on the demo's first alternative). Here the row's dual ``λ ≥ 0`` is
    guessed first: the allocation ``x(λ)`` taking in each unit the column of largest
    ``d + λ·g`` has ``G(λ) = g·x(λ)`` nondecreasing in ``λ`` (parametric argmax), so bisection
    finds the breakpoint ``λ*`` where ``G`` crosses ``lo``: below it ``x(λ⁻)``, above it
    ``x(λ⁺)``, differing in a unit ``u*`` (two columns ``j₁``, ``j₂`` of equal ``d + λ*·g``).
    The basis: in every other unit its column of ``x(λ⁻)``, in ``u*`` both ``j₁`` and ``j₂``,
    the row nonbasic at ``lo``, every other coupling row's slack basic, auxiliaries at their
    bounds. It is nonsingular (block triangular; ``u*``'s 2×2 block ``[[1, 1], [g_j₁, g_j₂]]``
    with ``g_j₁ ≠ g_j₂``), dual feasible with the row's dual ``λ*`` (every unit's column is a
    maximiser of ``d + λ*·g``, up to the bisection's width) and primal feasible for the
    assignment rows and the row when only ``u*`` switches at ``λ*``; the dual simplex then only
    repairs the other coupling rows. None when the crash basis already meets the row
    (``G(0) ≥ lo``) or no ``λ`` reaches it (the caller then uses the crash basis)."""
    n_x = model.n_x
    if not n_x:
        return None
    d = np.asarray(model.obj[:n_x], float)
    gx = np.asarray(g[:n_x], float)
    cu = model.col_unit
    starts = np.flatnonzero(np.r_[True, cu[1:] != cu[:-1]])
    sizes = np.diff(np.r_[starts, n_x])
    base = hb.crash_basis(model)
    aux = np.arange(n_x, model.n_cols)
    at = np.where(base.col[aux] == hb.UPPER, model.aux_ub, np.where(base.col[aux] == hb.LOWER,
                                                                     model.aux_lb, 0.0))
    lo = lo - float(np.asarray(g[n_x:], float) @ at) if aux.size else lo

    def reach(lam: float) -> tuple[np.ndarray, float]:
        ch = _choice(d + lam * gx, starts, sizes, n_x)
        return ch, float(gx[ch].sum())

    ch_lo, g_lo = reach(0.0)
    if g_lo >= lo:
        return None
    scale = max(float(np.abs(d).max()), 1e-12) / max(float(np.abs(gx).max()), 1e-12)
    hi = scale
    for _ in range(60):
        ch_hi, g_hi = reach(hi)
        if g_hi >= lo:
            break
        hi *= 4.0
    else:
        return None
    low = 0.0
    for _ in range(100):
        mid = 0.5 * (low + hi)
        if not low < mid < hi:
            break
        ch, gm = reach(mid)
        if gm >= lo:
            hi, ch_hi = mid, ch
        else:
            low, ch_lo = mid, ch
    differ = np.flatnonzero(ch_lo != ch_hi)
    if not differ.size:
        return None
    # the switching unit whose move crosses lo, taking the units before it along
    moved = np.cumsum(gx[ch_hi[differ]] - gx[ch_lo[differ]])
    k = int(np.searchsorted(moved, lo - float(gx[ch_lo].sum())))
    k = min(k, differ.size - 1)
    chosen = ch_lo.copy()
    chosen[differ[:k]] = ch_hi[differ[:k]]
    u = differ[k]
    if gx[ch_lo[u]] == gx[ch_hi[u]]:
        return None
    col = base.col.copy()
    col[:n_x] = hb.LOWER
    col[chosen] = hb.BASIC
    col[ch_hi[u]] = hb.BASIC
    rows = base.row.copy()
    rows[row] = hb.LOWER
    return hb.Basis(col, rows)
