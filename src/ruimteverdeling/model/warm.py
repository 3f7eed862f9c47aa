"""Warm starts: what one solve hands to the next solve of a related model.

Analyses re-solve the same study area many times with small changes (a rule switched, a
criterion row added, an objective swapped). Each re-solve may start from the previous
solve's work instead of from nothing:

* its **allocation** ``x``: mapped onto the new model's columns by (cell, use) — a column of
  the new model takes the value of the old column for the same cell and use, 0 if there was
  none; auxiliary columns by name. If every unit keeps a chosen column and the mapped point
  meets every row of the new model (after its auxiliaries are re-optimised), it is a feasible
  allocation of the new model: an incumbent from the first second, and its objective a lower
  bound on the new optimum.
* its **LP basis** (the vertex of the first LP relaxation): the status of each x column by
  (cell, use), of each assignment row by cell, and of each coupling row by (block name, row)
  when the block has the same shape; new columns sit at a bound, new rows are basic. The
  dual simplex starts from it when it is a basis of the new model (as many basic variables
  as rows) and the new model has the same objective on the columns both share; otherwise
  the solve starts from its own crash basis. (A basis is dual feasible only for the objective
  it was optimal for: under another objective the crash basis, dual feasible by
  construction, is the better start — on the 3 k-cell area 77 dual simplex iterations against
  952 from the old basis.)

Neither changes what is proven: a mapped allocation is used only when it satisfies every row
of the new model, and every bound still comes from an LP or MIP of the new model.

**A quick re-solve** (:func:`resolve`) is what an analysis that re-solves many variants asks
for first: one warm-started LP relaxation of the variant and a cheap allocation, not the whole
solve strategy. Maximising ``z(x) = c·x + c₀`` over the variant's integer allocations:

* the bound ``z⁺ = z_LP``, the optimum of the variant's LP relaxation (dual simplex from the
  mapped basis): every integer allocation is a point of the relaxation, so ``z* ≤ z_LP``.
  When the caller hands over the warm start's model's derived rows (``WarmStart.cuts``, see
  :mod:`ruimteverdeling.model.strengthen`), those that still hold in the variant — derived
  from a row the variant keeps unchanged, over the same columns (:func:`valid_cuts`) — are
  added and the LP solved again in the same HiGHS instance: its optimum ``z_D ≤ z_LP`` bounds
  every integer allocation too, and with a minimax level the whole-cell knapsack bound at
  that LP's duals lowers it further (valid for any duals). ``z_LP`` itself stays the
  reported LP optimum (``details["lp_bound"]``), so LP differences stay exact;
* the allocation ``x⁻``: the best of (a) the warm start's allocation mapped onto the variant,
  when it meets every row (always when the variant only drops rows or allows more uses),
  (b) the LP vertex rounded unit by unit, when it meets every row, and (c) a *repair*: the
  units where the LP vertex is fractional or chooses otherwise than (a) are freed, every other
  unit is fixed at (a)'s choice, and HiGHS's MIP solves that small model from (a); without
  (a), or when the LP moves more than :data:`REPAIR_MAX_UNITS` units, only the fractional
  units are freed and every other unit is fixed at the rounded vertex. Its allocation is an
  allocation of the variant, so ``z(x⁻) ≤ z*``. The repair is skipped when the best of (a)
  and (b) is already within the decision tolerance of ``z_LP`` (nothing it finds could make
  the gap proven any tighter than the options ask), and it stops as soon as its incumbent is
  within that tolerance of ``z_LP`` or of its own dual bound (the best the neighbourhood can
  hold), or after a fixed amount of search (:data:`REPAIR_CHECKS`), so that its answer does
  not depend on the machine's load.

So ``z(x⁻) ≤ z* ≤ z_LP``, proven, in about the time of one LP. When the LP vertex is
integral it is the optimum (``z⁻ = z⁺``). The gap is whatever remains: a caller that needs
it smaller runs the full :func:`ruimteverdeling.model.solve.solve` from this solution.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ruimteverdeling.errors import InfeasibleError, SolverError
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import Solution, abs_gap_target, decision_gap, proven_gap
from ruimteverdeling.model.spec import ModelSpec

USE_SPAN = np.int64(1 << 16)
"""Keys are ``cell · USE_SPAN + use``: use indices stay below 2¹⁶."""
INT_TOL = 1e-6
REPAIR_MAX_UNITS = 5_000
"""Most units the quick re-solve's repair frees around the warm start (more: it frees only
the LP vertex's fractional units, the rest at the rounded vertex)."""
REPAIR_MAX_SECONDS = 10.0
"""Most seconds the quick re-solve's repair MIP takes (measured on the demo area, loaded: a
repair around the warm start of a Pareto point whose LP moved far from it ran 80 s). A cap
for safety: the repair's budget is :data:`REPAIR_CHECKS`."""
REPAIR_CHECKS = 80
"""The repair MIP's budget, in HiGHS's interrupt checks (the points of its search where it
asks whether to stop): past this many it stops with its best allocation. The checks fall at
the same points of the search whatever the machine's load, so the repair ends with the same
allocation on an idle and a loaded machine (a time limit does not). Measured on the demo
area's rule-cost variants: HiGHS spends the first ~40 checks on the root's cuts, and the
repairs found their first better allocation at checks 40–73 and their last at 62–102; on
an idle machine 80 checks take 2–5 s."""
REPAIR_SHARE = 0.5
"""Share of the time left after the LP that the quick re-solve's repair MIP may take."""
REPAIR_MIN_SECONDS = 0.5
BASIS_CHANGED_SHARE = 0.5
"""The quick re-solve starts from the warm start's basis when at most this share of the
shared columns has another objective coefficient (a cost rule switched off changes a zone's
columns only). Measured on the demo area, dual simplex, from the old basis against the crash
basis: housing grid-congestion cost switched off (2 % of the columns change) 86 against 2,010
iterations (1.5 s against 4.6 s); feed-in congestion cost switched off (19 %) 421 against
1,667 (1.1 s against 3.3 s). A wholly new objective (a Pareto criterion) starts from the
crash basis (see above)."""


class WarmStart:
    """An allocation and (optionally) an LP basis of one model, keyed for another.

    ``x_keys``: the (cell, use) key of each x column; ``unit_keys``: the cell of each unit;
    ``rows``: (block name, number of rows) of each coupling block in order; ``basis``: a
    backend basis with ``col``/``row`` status arrays over the model's columns and rows (the
    assignment rows first), or None.

    Every solve returns one, so it costs nothing until it is used: it holds the model and the
    allocation by reference and computes the keys on first use (a national model has tens of
    millions of columns). Pickled (for a Dask worker) it carries the keys, not the model.
    """

    def __init__(self, spec: ModelSpec, x: np.ndarray, basis: Any = None,
                 objective: float | None = None):
        self._spec: ModelSpec | None = spec
        self.x = x
        self.basis = basis
        self.objective = objective
        self.lp_bound: float | None = None
        """The LP optimum of the model, when the caller knows it (see :func:`resolve`)."""
        self.cuts: tuple[ModelSpec, Any] | None = None
        """A model and its derived rows (:class:`ruimteverdeling.model.strengthen.Candidates`,
        over its columns), when the caller computed them: a re-solve adds those still valid
        for its variant (see :func:`valid_cuts`)."""
        self.aux_names = list(spec.aux_names)
        self.rows = [(b.name, b.n_rows) for b in spec.coupling]
        self.obj = spec.obj
        self._x_keys: np.ndarray | None = None
        self._unit_keys: np.ndarray | None = None

    @property
    def x_keys(self) -> np.ndarray:
        if self._x_keys is None:
            assert self._spec is not None
            self._x_keys = column_keys(self._spec)
        return self._x_keys

    @property
    def unit_keys(self) -> np.ndarray:
        if self._unit_keys is None:
            assert self._spec is not None
            self._unit_keys = self._spec.unit_cells.astype(np.int64)
        return self._unit_keys

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_x_keys"], state["_unit_keys"] = self.x_keys, self.unit_keys
        state["_spec"] = None
        state["cuts"] = None  # checked against the model, which is not carried
        return state


def column_keys(spec: ModelSpec) -> np.ndarray:
    """The (cell, use) key of every x column of ``spec``."""
    return spec.unit_cells[spec.col_unit].astype(np.int64) * USE_SPAN + \
        spec.col_use.astype(np.int64)


def warm_start(spec: ModelSpec, x: np.ndarray, basis: Any = None,
               objective: float | None = None) -> WarmStart:
    """The warm start of ``spec`` at allocation ``x`` (and LP ``basis``, if any)."""
    return WarmStart(spec, np.asarray(x, float), basis, objective)


def _positions(old_keys: np.ndarray, new_keys: np.ndarray) -> np.ndarray:
    """For every new key, its position among ``old_keys`` (−1 when absent)."""
    order = np.argsort(old_keys, kind="stable")
    srt = old_keys[order]
    pos = np.searchsorted(srt, new_keys)
    pos = np.minimum(pos, max(srt.size - 1, 0))
    hit = srt.size > 0
    found = (srt[pos] == new_keys) if hit else np.zeros(new_keys.size, bool)
    return np.where(found, order[pos] if hit else -1, -1)


def _same_block(a: Any, b: Any) -> bool:
    """Whether two row blocks are the same rows (entries and both sides)."""
    if a is b:  # a variant derived from the scenario's model keeps its blocks
        return True
    if a.n_rows != b.n_rows or a.A.shape != b.A.shape or a.A.nnz != b.A.nnz:
        return False
    A, B = a.A.tocsr(), b.A.tocsr()
    return bool(np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)
                and np.array_equal(A.data, B.data) and np.array_equal(a.lower, b.lower)
                and np.array_equal(a.upper, b.upper))


def valid_cuts(ws: WarmStart, spec: ModelSpec) -> Any:
    """The derived rows of ``ws.cuts`` (a model and rows derived from it) that hold in
    ``spec``. Each derived row is a consequence of one coupling row of that model, of the
    binaries' assignment rows and of the auxiliaries' bounds (see
    :mod:`ruimteverdeling.model.strengthen`), so it holds for every integer allocation of any
    model that has that row unchanged over the same columns. Kept: the rows derived from a
    block that ``spec`` holds unchanged, when ``spec`` has the same columns (cells, uses,
    auxiliaries and their bounds) — a rule switched off drops its blocks and with them every
    row derived from them; its objective plays no part. None when nothing is kept (or the
    columns differ)."""
    rows = valid_cut_rows(ws, spec)
    if ws.cuts is None or rows is None or not rows.size:
        return None
    cands = ws.cuts[1]
    return cands if rows.size == cands.n_rows else \
        cands.take(np.setdiff1d(np.arange(cands.n_rows), rows))


def valid_cut_rows(ws: WarmStart, spec: ModelSpec) -> np.ndarray | None:
    """The indices, among ``ws.cuts``'s derived rows, of those that hold in ``spec`` (see
    :func:`valid_cuts`); None when ``spec`` has other columns."""
    if ws.cuts is None:
        return None
    old, cands = ws.cuts
    if (spec.n_cols != old.n_cols or spec.n_x != old.n_x
            or list(spec.aux_names) != list(old.aux_names)
            or not np.array_equal(spec.aux_lb, old.aux_lb)
            or not np.array_equal(spec.aux_ub, old.aux_ub)
            or not np.array_equal(spec.col_unit, old.col_unit)
            or not np.array_equal(spec.col_use, old.col_use)
            or not np.array_equal(spec.unit_cells, old.unit_cells)):
        return None
    mine = {b.name: b for b in spec.coupling}
    kept = {b.name for b in old.coupling if b.name in mine and _same_block(b, mine[b.name])}
    names = sorted({b.name for b in old.coupling}, key=len, reverse=True)

    def block_of(source: str) -> str | None:
        return next((n for n in names if source.startswith(n + ":")), None)

    return np.flatnonzero(np.array([block_of(src) in kept for src in cands.source], bool))


def mapped_x(ws: WarmStart, spec: ModelSpec) -> np.ndarray | None:
    """``ws.x`` over ``spec``'s columns, or None when a unit of ``spec`` loses its chosen
    column (its cell's use in ``ws`` is not allowed in ``spec``) or is new."""
    out, lost = _mapped(ws, spec)
    return None if lost.any() else out


def repaired(spec: ModelSpec, options: SolverOptions, ws: WarmStart, bound: float
             ) -> Solution:
    """An allocation of ``spec`` near the allocation ``ws`` of a model that ``spec``
    restricts (a rule switched on), under the proven upper bound ``bound`` of ``spec``: the
    units whose use in ``ws`` ``spec`` no longer allows, and those in a row ``ws`` breaks,
    are freed, every other unit keeps its use, and HiGHS's MIP solves that small model
    (budget and stop as the quick re-solve's repair, :class:`RepairStop`; at most
    ``options.time_limit``, a safety net: when it cuts the repair the status is
    ``time_limit``). ``z ≤ z* ≤ bound``; ``optimal`` only when the decision gap is within
    ``options.mip_rel_gap``. Raises :class:`SolverError` when more than
    :data:`REPAIR_MAX_UNITS` units would be freed or nothing feasible is found."""
    t0 = time.perf_counter()
    x, lost = _mapped(ws, spec)
    free = lost.copy()
    for b in spec.coupling:
        act = b.A @ x
        tol = 1e-6 * max(1.0, float(np.abs(act).max(initial=0.0)))
        bad = np.flatnonzero((b.lower - act > tol) | (act - b.upper > tol))
        if bad.size:
            cols = b.A[bad].indices
            free[spec.col_unit[cols[cols < spec.n_x]]] = True
    details: dict[str, Any] = {"repair_units": int(free.sum())}
    if free.sum() > REPAIR_MAX_UNITS:
        raise SolverError(f"the repair would free {int(free.sum()):,} units")
    sq = spec.status_quo_value
    if free.any():
        sub, cols = spec.restrict(free, x)
        stop = repair_stop(options.mip_rel_gap, bound, sq)
        backend = hb.HighsBackend()
        r = backend.mip(sub, options, max(REPAIR_MIN_SECONDS, options.time_limit), 0.0,
                        abs_gap=abs_gap_target(options.mip_rel_gap, None, bound, sq),
                        stop=stop)
        details.update(repair_status=r.status, repair_checks=stop.checks)
        if r.x is None:
            raise SolverError(f"the repair found no allocation ({r.status})")
        x = x.copy()
        x[cols] = r.x
        x[: spec.n_x] = np.rint(np.clip(x[: spec.n_x], 0.0, 1.0))
    if spec.violations(x):
        raise SolverError("the repaired allocation breaks a row")
    z = spec.objective_value(x)
    bound = max(float(bound), z)
    dgap = decision_gap(z, bound, sq)
    status = _repaired_status(dgap, options, details)
    seconds = {"repair": time.perf_counter() - t0}
    sol = Solution(status, x, z, bound, proven_gap(z, bound), "scenario+repair", "highs", "",
                   seconds, details, None, sq, dgap)
    sol.warm = warm_start(spec, x, None, z)
    return sol


def _mapped(ws: WarmStart, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """``ws.x`` over ``spec``'s columns, and which units of ``spec`` have no chosen column
    in it (their cell's use in ``ws`` is not allowed in ``spec``, or the unit is new)."""
    pos = _positions(ws.x_keys, column_keys(spec))
    out = np.zeros(spec.n_cols)
    have = pos >= 0
    out[: spec.n_x][have] = ws.x[pos[have]]
    chosen = np.bincount(spec.col_unit, weights=out[: spec.n_x], minlength=spec.n_units)
    lost = np.abs(chosen - 1.0) > 1e-6
    names = {n: i for i, n in enumerate(ws.aux_names)}
    old_n_x = ws.x_keys.size
    for j, n in enumerate(spec.aux_names):
        i = names.get(n)
        value = ws.x[old_n_x + i] if i is not None else spec.aux_lb[j]
        if not np.isfinite(value):
            value = 0.0
        out[spec.n_x + j] = min(max(value, spec.aux_lb[j]), spec.aux_ub[j])
    return out, lost


def matching_blocks(ws: WarmStart, spec: ModelSpec) -> list[tuple[int, int, int]]:
    """The coupling row blocks ``spec`` shares with the solve ``ws`` came from (same name,
    same number of rows), as ``(first row in spec, first row in ws, rows)``: the rows whose
    basis status or dual carries over. Assignment rows come first in both, one per unit."""
    starts, r = {}, ws.unit_keys.size
    for name, n in ws.rows:
        starts[name] = (r, n)
        r += n
    out, r = [], spec.n_units
    for b in spec.coupling:
        old = starts.get(b.name)
        if old is not None and old[1] == b.n_rows:
            out.append((r, old[0], b.n_rows))
        r += b.n_rows
    return out


def mapped_basis(ws: WarmStart, spec: ModelSpec, lower: int, upper: int, zero: int,
                 basic: int, changed_share: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """``ws.basis`` as (column status, row status) of ``spec`` (status codes ``lower`` ...
    ``basic`` of the backend), or None when it is not a basis of ``spec`` (the number of
    basic variables differs from the number of rows) or when more than ``changed_share`` of
    the columns both models share have another objective coefficient in ``spec``."""
    if ws.basis is None:
        return None
    old_col, old_row = np.asarray(ws.basis.col), np.asarray(ws.basis.row)
    old_n_x = ws.x_keys.size
    col = np.full(spec.n_cols, lower, np.int8)
    pos = _positions(ws.x_keys, column_keys(spec))
    have = pos >= 0
    c_new, c_old = spec.obj[: spec.n_x][have], np.asarray(ws.obj)[pos[have]]
    scale = max(float(np.abs(c_old).max(initial=0.0)), 1.0)
    changed = np.abs(c_new - c_old) > 1e-9 * scale
    if c_new.size and changed.any() and changed.mean() > changed_share:
        return None  # another objective: the old basis is not dual feasible for it
    col[: spec.n_x][have] = old_col[pos[have]]
    names = {n: i for i, n in enumerate(ws.aux_names)}
    for j, n in enumerate(spec.aux_names):
        i = names.get(n)
        if i is not None:
            col[spec.n_x + j] = old_col[old_n_x + i]
        else:
            lb, ub = spec.aux_lb[j], spec.aux_ub[j]
            col[spec.n_x + j] = lower if np.isfinite(lb) else upper if np.isfinite(ub) \
                else zero
    row = np.full(spec.n_rows, basic, np.int8)
    upos = _positions(ws.unit_keys, spec.unit_cells.astype(np.int64))
    have = upos >= 0
    row[: spec.n_units][have] = old_row[upos[have]]
    row[: spec.n_units][~have] = lower
    for new, old, n in matching_blocks(ws, spec):
        row[new: new + n] = old_row[old: old + n]
    if int((col == basic).sum() + (row == basic).sum()) != spec.n_rows:
        return None
    return col, row


def resolve(spec: ModelSpec, options: SolverOptions, warm: WarmStart,
            lp_reference: float | None = None, keep_basis: bool = False,
            changed_share: float = BASIS_CHANGED_SHARE,
            repair_seconds: float = REPAIR_MAX_SECONDS) -> Solution:
    """A quick re-solve of ``spec`` from the solve ``warm`` came from (see the module
    docstring): its LP bound and the best of the mapped allocation, the rounded LP vertex
    and a repair of the units that the LP moves, within ``options.time_limit``.

    Raises :class:`InfeasibleError` when the LP relaxation is infeasible (so is the model),
    :class:`SolverError` when the LP does not finish, no allocation is found, or the model has
    more columns than ``options.decompose_above`` (its LP needs the full solve's column
    generation): a caller then runs the full solve. ``optimal`` only when the decision gap is within
    ``options.mip_rel_gap``; ``time_limit`` (and ``details["time_limit_cut"]`` names the
    repair) when the repair MIP's cap in seconds, not its budget of checks, stopped it. The
    returned warm start carries the LP's optimal basis only with ``keep_basis`` (reading it
    back costs a pass in Python over every column; worth it when the next re-solve keeps the
    objective, as the points of a Pareto front do).

    ``lp_reference``: the LP optimum of the model the warm start comes from. When the
    variant's LP optimum is not above it (the variant's relaxation gains nothing) and the warm
    start's allocation is feasible, the repair is skipped: that allocation was already
    repaired against the same relaxation. (This only chooses which allocation to report; the
    bound is the variant's LP either way.) ``changed_share``: the warm start's basis is used
    when at most this share of the columns has another objective coefficient (1: whenever it
    is a basis of ``spec``, for a caller that chose the warm start for its objective).
    ``repair_seconds``: the repair MIP's cap in seconds (a safety net: its budget is
    :data:`REPAIR_CHECKS`; a caller whose answers must not depend on the machine's load
    gives a wider one)."""
    if spec.n_x > options.decompose_above:
        raise SolverError("a model this large needs column generation for its LP: the full "
                          "solve re-solves it")
    t_start = time.perf_counter()
    deadline = t_start + options.time_limit
    backend = hb.HighsBackend()
    mapped = mapped_basis(warm, spec, hb.LOWER, hb.UPPER, hb.ZERO, hb.BASIC, changed_share)
    cuts = None if keep_basis else valid_cuts(warm, spec)
    start = None if mapped is None else hb.Basis(*mapped)
    session = None
    if cuts is not None and hasattr(backend, "session"):
        session = backend.session(spec, options)
        lp = session.lp(time_limit=options.time_limit, basis=start)
    else:
        lp = backend.lp(spec, options, options.time_limit, basis=start, want_basis=keep_basis)
    seconds = dict(lp.seconds)
    if lp.status == "infeasible":
        raise InfeasibleError("the hard targets and rules cannot all hold "
                              "(the LP relaxation is infeasible)")
    if lp.status != "optimal" or lp.x is None or lp.objective is None:
        raise SolverError(f"the LP relaxation did not finish ({lp.status})")
    lp_bound = float(lp.objective)
    x_lp = np.asarray(lp.x, float)[: spec.n_cols]
    top = lp_bound  # the proven bound: the LP's, then the LP's with the derived rows
    derived_info: dict[str, Any] = {}
    derived = None
    if session is not None:
        t0 = time.perf_counter()
        top, x_lp, derived_info, derived = _with_derived(spec, session, cuts, x_lp, lp_bound,
                                                         deadline)
        seconds["derived_rows"] = time.perf_counter() - t0
    xs = x_lp[: spec.n_x]
    frac = np.zeros(spec.n_units, bool)
    frac[spec.col_unit[(xs > INT_TOL) & (xs < 1 - INT_TOL)]] = True
    x_round = x_lp.copy()
    x_round[: spec.n_x] = 0.0
    choice_lp = spec.unit_choice(x_lp)
    x_round[choice_lp] = 1.0
    x_warm, lost = _mapped(warm, spec)
    warm_ok = not lost.any() and not spec.violations(x_warm)
    found: list[tuple[str, np.ndarray]] = []
    if warm_ok:
        found.append(("warm", x_warm))
    if not spec.violations(x_round):
        found.append(("lp-rounded", x_round))
    details: dict[str, Any] = {"lp_status": lp.status, "lp_bound": lp_bound,
                               "fractional_units": int(frac.sum()), **lp.details,
                               **derived_info,
                               "warm_incumbent": "feasible" if warm_ok else "infeasible"}
    gains = lp_reference is None or lp_bound > lp_reference + 1e-9 * max(1.0, abs(lp_bound))
    levels = st.find_levels(spec) if derived is not None and found else []
    if levels:  # whole-cell knapsacks of the minimax levels, before the repair that stops by it
        t0 = time.perf_counter()
        top = _knapsack(derived, levels, max(spec.objective_value(x) for _, x in found), top,
                        details)
        seconds["knapsack_bound"] = time.perf_counter() - t0
    if frac.any() and (gains or not warm_ok):
        t0 = time.perf_counter()
        x_rep = _repair(spec, backend, options, x_warm, warm_ok, x_round, choice_lp, frac,
                        top, found, deadline, details, repair_seconds)
        seconds["repair"] = time.perf_counter() - t0
        if x_rep is not None:
            found.append(("repair", x_rep))
    if not found:
        raise SolverError("the quick re-solve found no allocation that meets every row")
    how, x_best = max(found, key=lambda kx: spec.objective_value(kx[1]))
    z = spec.objective_value(x_best)
    bound = max(top, z)
    sq = spec.status_quo_value
    dgap = decision_gap(z, bound, sq)
    status = _repaired_status(dgap, options, details)
    seconds["resolve"] = time.perf_counter() - t_start
    sol = Solution(status, x_best, z, bound, proven_gap(z, bound), f"lp+{how}", backend.name,
                   backend.label(), seconds, details, lp.row_dual, sq, dgap)
    sol.warm = warm_start(spec, x_best, lp.basis if keep_basis else None, z)
    return sol


def _repaired_status(dgap: float, options: SolverOptions, details: dict[str, Any]) -> str:
    """The status of a re-solve whose last step was a repair MIP: ``optimal`` when the
    decision gap ``dgap`` is within ``options.mip_rel_gap``; else ``time_limit`` when the
    repair's cap in seconds (a safety net behind its budget of checks) cut it short — its
    allocation then depends on the machine's speed, so ``details["time_limit_cut"]`` names the
    repair — or when another step was cut; else ``feasible``."""
    if details.get("repair_status") == "time_limit":
        details["time_limit_cut"] = ["repair"]
    if dgap <= options.mip_rel_gap + 1e-12:
        return "optimal"
    return "time_limit" if details.get("time_limit_cut") else "feasible"


def _with_derived(spec: ModelSpec, session: Any, cuts: Any, x_lp: np.ndarray,
                  lp_bound: float, deadline: float
                  ) -> tuple[float, np.ndarray, dict[str, Any], Any]:
    """The LP of ``spec`` in ``session`` (solved once, at ``x_lp`` with optimum
    ``lp_bound``) with every derived row of ``cuts`` added when its vertex violates one: the
    optimum is a bound on every integer allocation (the rows hold for all of them), at most
    ``lp_bound``. All are added at once (one more LP instead of a round per batch of violated
    rows: the rows are few, the re-solve is what costs). Returns the bound, its vertex, what
    was done, and (when the LP finished) ``spec`` with the rows and that LP's row duals."""
    info: dict[str, Any] = {"derived_rows": 0}
    if time.perf_counter() > deadline - 1 or not cuts.violated(x_lp).size:
        return lp_bound, x_lp, info, None
    block = cuts.block(np.arange(cuts.n_rows))
    session.add_rows(block)
    out = session.lp(time_limit=max(1.0, deadline - time.perf_counter()))
    info["derived_rows"] = int(cuts.n_rows)
    if out.status != "optimal" or out.x is None or out.objective is None:
        return lp_bound, x_lp, info, None  # the rows hold; the bound stays the LP's
    top = min(lp_bound, float(out.objective))
    info["derived_bound"] = top
    derived = None
    if out.row_dual is not None:
        derived = (spec.with_rows(block), np.asarray(out.row_dual, float))
    return top, np.asarray(out.x, float)[: spec.n_cols], info, derived


def _knapsack(derived: Any, levels: list[Any], incumbent: float, top: float,
              details: dict[str, Any]) -> float:
    """``top`` lowered by the whole-cell knapsack bound of every minimax level
    (:func:`ruimteverdeling.model.strengthen.knapsack_level_bound`: a Lagrangian relaxation
    at the derived LP's row duals, valid for any duals, with each region an exact knapsack of
    whole cells), never below ``incumbent``."""
    model, duals = derived
    found = []
    for lv in levels:
        kb = st.knapsack_level_bound(model, lv, duals, incumbent)
        found.append(kb)
        if kb is not None and np.isfinite(kb):
            top = min(top, max(float(kb), incumbent))
    details["knapsack_bounds"] = found
    return top


class RepairStop:
    """The stop test of the repair MIP (asked at HiGHS's interrupt checks with its incumbent
    and dual bound; the sub-model's objective is the variant's, constants included): stop
    when the incumbent ``z`` is within the decision tolerance ``rel_gap`` of the variant's LP
    bound ``lp_bound`` (the variant's gap is then proven within it) or of the MIP's own dual
    bound (the neighbourhood holds nothing much better), or once ``checks`` reaches
    ``budget`` with an incumbent (see :data:`REPAIR_CHECKS`)."""

    def __init__(self, rel_gap: float, lp_bound: float, status_quo: float | None,
                 budget: int = REPAIR_CHECKS):
        self.rel_gap, self.lp_bound, self.status_quo = rel_gap, lp_bound, status_quo
        self.budget = budget
        self.checks = 0

    def __call__(self, primal: float, dual: float) -> bool:
        self.checks += 1
        if not np.isfinite(primal):
            return False
        top = min(dual, self.lp_bound) if np.isfinite(dual) else self.lp_bound
        top = max(top, primal)
        if top - primal <= abs_gap_target(self.rel_gap, primal, top, self.status_quo):
            return True
        return self.checks >= self.budget


def repair_stop(rel_gap: float, lp_bound: float, status_quo: float | None) -> RepairStop:
    """The :class:`RepairStop` of a repair under the variant's LP bound ``lp_bound``."""
    return RepairStop(rel_gap, lp_bound, status_quo)


def _repair(spec: ModelSpec, backend: Any, options: SolverOptions, x_warm: np.ndarray,
            warm_ok: bool, x_round: np.ndarray, choice_lp: np.ndarray,
            frac: np.ndarray, lp_bound: float, found: list[tuple[str, np.ndarray]],
            deadline: float, details: dict[str, Any],
            max_seconds: float = REPAIR_MAX_SECONDS) -> np.ndarray | None:
    """The repair of :func:`resolve`. With a feasible warm start: the units that are
    fractional in the LP vertex or that it moves away from the warm start's allocation are
    freed, every other unit is fixed at the warm start's allocation, and HiGHS's MIP solves
    that small model from the warm start. Without one, or when that frees more than
    :data:`REPAIR_MAX_UNITS` units: the fractional units are freed, every other unit is fixed
    at the rounded vertex (where the LP moved it). None when nothing feasible is found or too
    many units would be freed."""
    x_fix = x_warm
    free = frac | (spec.unit_choice(x_warm) != choice_lp) if warm_ok else frac
    if not warm_ok or free.sum() > REPAIR_MAX_UNITS:
        x_fix, free, warm_ok = x_round, frac, False
    details["repair_units"] = int(free.sum())
    if not free.any() or free.sum() > REPAIR_MAX_UNITS:
        return None
    best = max((spec.objective_value(x) for _, x in found), default=None)
    sq = spec.status_quo_value
    abs_gap = abs_gap_target(options.mip_rel_gap, best, lp_bound, sq)
    if best is not None and lp_bound - best <= abs_gap:
        details["repair_status"] = "not needed"
        return None  # already proven within the tolerance: a repair could not tighten it
    sub, cols = spec.restrict(free, x_fix)
    seconds = max(REPAIR_MIN_SECONDS, min(max_seconds,
                                          REPAIR_SHARE * (deadline - time.perf_counter())))
    stop = repair_stop(options.mip_rel_gap, lp_bound, sq)
    r = backend.mip(sub, options, seconds, 0.0, x_fix[cols] if warm_ok else None,
                    abs_gap=abs_gap, stop=stop if getattr(backend, "supports_stop", False)
                    else None)
    details["repair_status"] = r.status
    details["repair_checks"] = stop.checks
    if r.x is None:
        return None
    x = x_fix.copy()
    x[cols] = r.x
    x[: spec.n_x] = np.rint(np.clip(x[: spec.n_x], 0.0, 1.0))
    return None if spec.violations(x) else x
