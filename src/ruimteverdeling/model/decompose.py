"""The LP relaxation of national models by column generation over cells.

The model is a semi-assignment problem: one row ``Σ_u x[k,u] = 1`` per unit (millions) and a
few coupling rows ``lo ≤ A x ≤ hi`` (targets, quotas, fairness: about a hundred). For
coupling duals ``y`` every unit's best use is an argmax of its reduced costs
``r_j = c_j − (Aᵀy)_j`` — one vectorised pass over all columns — and

    L(y) = Σ_k max_{j∈k} r_j  +  Σ_aux max_{lb≤s≤ub} r_s·s  +  Σ_r h_r(y_r)  +  offset,
    h_r(y_r) = y_r·hi_r if y_r ≥ 0 else y_r·lo_r,

is an upper bound on every feasible allocation for *any* y (Lagrangian relaxation of the
coupling rows); at the LP-optimal duals it equals the LP optimum. The method:

1. **Initial prices** from the LP of a random sample of units, with each coupling row's
   bounds (and the auxiliary columns in it) scaled by the sample's share of that row.
2. **Restricted LP**: units whose best and second-best reduced costs are close (the contested
   ones) stay free with their cheapest columns; every other unit is fixed at its best column,
   its contribution moved into the row bounds. The restricted LP, with elastic slacks on the
   coupling rows at a large penalty so that it is always feasible, is solved by HiGHS.
3. **Pricing**: with its duals, every column of every unit is priced. A fixed unit whose best
   column is no longer its fixed one, or a free unit with a pruned column better than its
   assignment dual, is freed with those columns; repeat until nothing is violated and no
   elastic slack is used. Then the combined solution is an optimal LP vertex of the whole
   model: every column has a non-positive reduced cost at the final prices.

The bound reported is ``L(y)`` at the final prices — valid whatever happened — so the gap
against the repaired integer allocation is proven.

4. **Stopping at the tolerance** (``incumbent_stop``): the integer tolerance ``t`` asks only for
   an allocation ``x`` with ``L(y) − z(x) ≤ t·(z(x) − z_sq)``. Whenever a round's restricted LP
   meets every row and its own gap is within ``t`` (necessary: ``z(x) ≤ z_LP``), its few
   fractional units and the units nearest a tie are rounded by a small MIP over the restricted
   columns (:func:`integer_point`); an allocation that meets every row of the whole model and
   whose decision gap against ``L(y)`` is within ``t`` ends the method. The gap is then proven
   by ``L(y)`` (a bound on every allocation), whether or not the rounds converged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.heap import release_freed, reusing_freed_memory
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import decision_gap
from ruimteverdeling.model.spec import ModelSpec
from ruimteverdeling.model.stopping import PatientStop, has_incumbent

try:  # the kernel behind scipy's CSC products, which accumulates into its output
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
except ImportError:  # pragma: no cover - another scipy layout: the public product
    _csc_matvec = None

ELASTIC = "elastic:"
SAMPLE_SHARE = 0.5
"""Most of the time left that the initial prices (the sample's LP or its own column
generation) may take."""

CHUNK = 1 << 21
"""Columns a pass that needs a temporary per column takes at a time (16 MB of floats)."""

SAMPLE_DIVISOR = 4
"""Each level's initial prices come from a sample of one in this many of its units. Fewer,
smaller levels do not pay: at ~250 m a divisor of 8 or 16 took 1.5-1.6 and 1.1-1.3 times
the CPU (the whole model then needs 6 and 4 rounds instead of 2)."""


RESTRICTED_MAX = 300_000
"""Columns a round may grow the restricted LP to by the violated columns it takes in (at
least ``decompose_add`` enter whatever its size). The simplex's time grows faster than the
columns: at ~100 m a restricted LP of 400 k columns took 13.5 s, one of 800 k more than 296 s."""


ROUND_CHECKS = 100
"""Interrupt checks the rounding MIP of a restricted LP's point may take (a count, not
seconds: the same allocation on any load)."""

ROUND_UNITS_PER_FRACTIONAL = 20
"""Units nearest a tie the rounding MIP frees per fractional unit (at least
:data:`ROUND_MIN_UNITS`)."""

ROUND_MIN_UNITS = 500

INT_TOL = 1e-6


def free_count(n_units: int, options: SolverOptions) -> int:
    """How many units a restricted LP frees first: ``k = min(n, max(decompose_free_min,
    decompose_free_share · n))`` of the ``n`` units."""
    return int(min(n_units, max(options.decompose_free_min,
                                options.decompose_free_share * n_units)))


def contested(margin: np.ndarray, options: SolverOptions) -> tuple[float, np.ndarray]:
    """The contested units: those whose margin (best minus second-best reduced cost) is at
    most ``δ``, the ``k``-th smallest margin (``k`` = :func:`free_count`; ``δ = ∞`` when
    ``k`` is every unit). Returns ``(δ, free)``, ``free`` a boolean mask over the units."""
    target = free_count(margin.size, options)
    delta = float(np.partition(margin, target)[target]) if target < margin.size else np.inf
    return delta, margin <= delta


def _stretches(n: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the consecutive stretches of at most :data:`CHUNK` of ``n``
    columns."""
    return ((s, min(n, s + CHUNK)) for s in range(0, n, CHUNK))


class Pricing:
    """Reduced costs, per-unit best columns and the Lagrangian bound for coupling duals y."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.blocks = spec.coupling  # kept per block: stacking would copy every non-zero
        self.offsets = np.cumsum([0] + [b.n_rows for b in self.blocks])
        self.m = int(self.offsets[-1])
        self.lo = np.concatenate([b.lower for b in self.blocks]) if self.blocks else \
            np.empty(0)
        self.hi = np.concatenate([b.upper for b in self.blocks]) if self.blocks else \
            np.empty(0)
        self.c = spec.obj
        self.n_x = spec.n_x
        cu = spec.col_unit
        self.starts = np.flatnonzero(np.r_[True, cu[1:] != cu[:-1]]).astype(np.int64)
        self.sizes = np.diff(np.r_[self.starts, self.n_x])
        # the units are numbered by their stretches of columns (0, 1, 2, ...): a value per
        # unit then reaches its columns by a look-up (``take``) instead of ``np.repeat``
        self.consecutive = bool(np.array_equal(cu[self.starts],
                                               np.arange(self.starts.size)))

    def aty(self, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Aᵀy over all columns (block by block; Bᵀ of a CSR block is a CSC view, no copy).

        Each block adds its products into one vector: a block touches only its non-zeros,
        not a vector over every column (most blocks hold one use's columns). ``out`` (float64
        over every column) is that vector, overwritten, instead of a new one."""
        if out is None:
            out = np.zeros(self.spec.n_cols)
        else:
            out[:] = 0.0
        for b, s in zip(self.blocks, self.offsets, strict=False):
            ys = y[s:s + b.n_rows]
            if np.any(ys):
                _add_at_y(b.A, np.ascontiguousarray(ys, dtype=np.float64), out)
        return out

    def abs_a_times(self, v: np.ndarray) -> np.ndarray:
        """|A| v (per row; ``v`` a vector over every column, or a matrix of such columns,
        whose products come from one pass over each block). |A| shares A's index arrays:
        only the values are made anew, not a copy of every block's indices."""
        return _abs_times(self.blocks, v)

    def aux_matrix(self) -> sp.csc_matrix:
        """The coupling rows restricted to the auxiliary columns (CSC, small)."""
        cached = self.__dict__.get("_aux")
        if cached is None:
            n_x = self.n_x
            parts = [b.A[:, n_x:] for b in self.blocks]
            cached = sp.vstack(parts, format="csc") if parts else \
                sp.csc_matrix((0, len(self.spec.aux_names)))
            self.__dict__["_aux"] = cached
        return cached

    def reduced(self, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """c − Aᵀy (computed in the vector Aᵀy is accumulated in: ``out`` if given)."""
        out = self.aty(y, out)
        np.subtract(self.c, out, out=out)
        return out

    def best(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit: best reduced cost, its column, and the second best (−inf if none)."""
        rx = r[: self.n_x]
        best = np.maximum.reduceat(rx, self.starts)
        # first column reaching the maximum (columns are sorted by unit): the first of the
        # unit's hits; every unit has one unless a reduced cost is NaN
        hits = self._reaching(rx, best)
        u = self.spec.col_unit[hits]
        first = hits[np.r_[True, u[1:] != u[:-1]]] if hits.size else hits
        del u
        if first.size != best.size:
            idx = np.where(rx >= np.repeat(best, self.sizes),
                           np.arange(self.n_x, dtype=np.int64), self.n_x)
            first = np.minimum.reduceat(idx, self.starts)
        del hits
        # the second best: the best with each unit's first maximum set aside (in place, and
        # put back: no copy of every reduced cost)
        kept = rx[first].copy()
        rx[first] = -np.inf
        try:
            second = np.maximum.reduceat(rx, self.starts)
        finally:
            rx[first] = kept
        return best, first, second

    def _reaching(self, rx: np.ndarray, best: np.ndarray) -> np.ndarray:
        """The columns ``j`` with ``rx_j ≥ best`` of their unit, in order: a stretch of
        :data:`CHUNK` columns at a time (no vector of every column's unit best)."""
        if not self.consecutive:
            return np.flatnonzero(rx >= np.repeat(best, self.sizes))
        cu = self.spec.col_unit
        parts = []
        for s, e in _stretches(self.n_x):
            hit = np.flatnonzero(rx[s:e] >= best.take(cu[s:e]))
            hit += s
            parts.append(hit)
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def less_unit_values(self, r: np.ndarray, per_unit: np.ndarray) -> None:
        """``r_j −= v_{unit(j)}`` in place over the x columns, :data:`CHUNK` columns at a
        time: no vector of every column's unit value (a quarter of a gigabyte at ~100 m)."""
        if not self.consecutive:
            r[: self.n_x] -= np.repeat(per_unit, self.sizes)
            return
        cu = self.spec.col_unit
        for s, e in _stretches(self.n_x):
            r[s:e] -= per_unit.take(cu[s:e])

    def clamp(self, y: np.ndarray) -> np.ndarray:
        """Duals whose bound is infinite on their side are set to 0 (keeps L(y) finite)."""
        y = y.copy()
        y[(y > 0) & ~np.isfinite(self.hi)] = 0.0
        y[(y < 0) & ~np.isfinite(self.lo)] = 0.0
        return y

    def dual_feasible(self, y: np.ndarray) -> np.ndarray:
        """``y`` adjusted so that no unbounded auxiliary column has a reduced cost of the wrong
        sign (solver tolerances leave ~1e-9 there, which would make L(y) infinite).

        For such a column k, the row r with the largest |a_rk · y_r| absorbs the excess:
        y_r += r_k / a_rk sets r_k to exactly 0. Any y gives a valid bound; this keeps it
        finite.
        """
        y = self.clamp(y)
        n_aux = len(self.spec.aux_names)
        if not n_aux:
            return y
        A_aux = self.aux_matrix()
        for _ in range(3):
            r = self.c[self.n_x:] - A_aux.T @ y
            changed = False
            for k in range(n_aux):
                up = r[k] > 0 and not np.isfinite(self.spec.aux_ub[k])
                down = r[k] < 0 and not np.isfinite(self.spec.aux_lb[k])
                if not (up or down):
                    continue
                s, e = A_aux.indptr[k], A_aux.indptr[k + 1]
                rows, vals = A_aux.indices[s:e], A_aux.data[s:e]
                if rows.size == 0:
                    continue
                i = int(np.argmax(np.abs(vals * y[rows]) + np.abs(vals) * 1e-12))
                y[rows[i]] += r[k] / vals[i]
                changed = True
            y = self.clamp(y)
            if not changed:
                break
        return y

    def bound(self, y: np.ndarray, r: np.ndarray | None = None) -> float:
        """L(y), an upper bound on the objective of every feasible (even fractional) x.

        ``r`` (optional) holds the reduced costs at ``y`` as :meth:`reduced` gives them. Where
        :meth:`dual_feasible` moves the prices, the reduced costs at the moved prices are
        computed in ``r`` itself and ``r`` is put back after (the same computation at ``y``,
        so the same numbers): two passes over the non-zeros instead of a second vector over
        every column (a quarter of a gigabyte at ~100 m, on top of the rounds' own)."""
        y2 = self.dual_feasible(y)
        restore = None
        if r is None:
            r = self.reduced(y2)
        elif not np.array_equal(y2, y):
            restore = y
            r = self.reduced(y2, out=r)
        try:
            return self._bound_at(y2, r)
        finally:
            if restore is not None:
                self.reduced(restore, out=r)

    def _bound_at(self, y: np.ndarray, r: np.ndarray) -> float:
        """L(y) from the reduced costs ``r`` at ``y`` (``y`` already dual feasible)."""
        total = float(np.maximum.reduceat(r[: self.n_x], self.starts).sum())
        ra = r[self.n_x:]
        for k, rk in enumerate(ra):
            hi, lo = self.spec.aux_ub[k], self.spec.aux_lb[k]
            if rk > 0:
                if not np.isfinite(hi):
                    return float("inf")
                total += rk * hi
            elif rk < 0:
                if not np.isfinite(lo):
                    return float("inf")
                total += rk * lo
        rows = np.where(y > 0, y * np.where(np.isfinite(self.hi), self.hi, 0.0),
                        y * np.where(np.isfinite(self.lo), self.lo, 0.0))
        return total + float(rows.sum()) + self.spec.obj_offset


def _near_best(pricing: Pricing, r: np.ndarray, best: np.ndarray, delta: float,
               free: np.ndarray) -> np.ndarray:
    """The x columns ``j`` of the ``free`` units with ``r_j ≥ best_{unit(j)} − δ`` (a mask
    over the x columns), :data:`CHUNK` columns at a time: no vector of every column's unit
    best (with the difference, two float vectors over every column, 460 MB at ~100 m)."""
    cu = pricing.spec.col_unit
    n_x = pricing.n_x
    if not pricing.consecutive:
        return (r[:n_x] >= np.repeat(best, pricing.sizes) - delta) & free[cu]
    out = np.empty(n_x, bool)
    for s, e in _stretches(n_x):
        u = cu[s:e]
        threshold = best.take(u)
        threshold -= delta
        np.greater_equal(r[s:e], threshold, out=out[s:e])
        out[s:e] &= free[u]
    return out


def _violated(r: np.ndarray, pi: np.ndarray, col_unit: np.ndarray, active: np.ndarray,
              tol: float) -> tuple[np.ndarray, np.ndarray]:
    """The x columns ``j`` outside ``active`` with ``r_j − π_{unit(j)} > tol``, in order, and
    those differences, :data:`CHUNK` columns at a time."""
    idx, val = [], []
    for s, e in _stretches(col_unit.size):
        v = pi.take(col_unit[s:e])
        np.subtract(r[s:e], v, out=v)
        hit = np.flatnonzero((v > tol) & ~active[s:e])
        val.append(v[hit])
        hit += s
        idx.append(hit)
    if not idx:
        return np.empty(0, np.int64), np.empty(0)
    return np.concatenate(idx), np.concatenate(val)


def _abs_times(blocks: list[Any], v: np.ndarray) -> np.ndarray:
    """|A| v over the stacked rows of ``blocks`` (see :meth:`Pricing.abs_a_times`)."""
    if not blocks:
        return np.empty((0, *v.shape[1:]))
    return np.concatenate([
        sp.csr_matrix((np.abs(b.A.data), b.A.indices, b.A.indptr), shape=b.A.shape) @ v
        for b in blocks])


def _add_at_y(A: sp.csr_matrix, ys: np.ndarray, out: np.ndarray) -> None:
    """``out += Aᵀ ys`` for a CSR block ``A`` without a temporary of ``out``'s size: Aᵀ is the
    CSC matrix of the same arrays, whose product scipy accumulates into ``out``."""
    if _csc_matvec is not None and A.data.dtype == np.float64 and \
            A.indptr.dtype == A.indices.dtype and out.dtype == np.float64:
        _csc_matvec(A.shape[1], A.shape[0], A.indptr, A.indices, A.data, ys, out)
    else:
        out += A.T @ ys


def with_elastic(sub: ModelSpec, penalty: float) -> tuple[ModelSpec, int]:
    """``sub`` with a slack on every finite side of every coupling row, costing ``penalty``."""
    names, lbs, ubs, cols_by_block = [], [], [], []
    n_aux0 = len(sub.aux_names)
    k = 0
    for b in sub.coupling:
        entries = []
        for r in range(b.n_rows):
            for side, sign in (("lo", 1.0), ("hi", -1.0)):
                bound = b.lower[r] if side == "lo" else b.upper[r]
                if np.isfinite(bound):
                    names.append(f"{ELASTIC}{b.name}:{r}:{side}")
                    lbs.append(0.0)
                    ubs.append(np.inf)
                    entries.append((r, k, sign))
                    k += 1
        cols_by_block.append(entries)
    n_new = len(names)
    out = sub.with_columns(names, np.asarray(lbs, float), np.asarray(ubs, float),
                           np.full(n_new, -penalty))
    blocks = []
    for b, entries in zip(out.coupling, cols_by_block, strict=True):
        if entries:
            rr = np.array([e[0] for e in entries])
            cc = np.array([sub.n_cols + e[1] for e in entries])
            vv = np.array([e[2] for e in entries])
            b = replace(b, A=(b.A + sp.csr_matrix((vv, (rr, cc)), shape=b.A.shape)).tocsr())
        blocks.append(b)
    out = replace(out, coupling=blocks, terms=[], status_quo_value=None)
    return out, n_aux0


def with_box(sub: ModelSpec, y_lo: np.ndarray, y_hi: np.ndarray) -> tuple[ModelSpec, int]:
    """``sub`` with two slacks per coupling row that keep its dual y_r in [y_lo_r, y_hi_r].

    For a maximisation with reduced costs c − Aᵀy, a column with coefficient +1 in row r and
    cost y_lo_r prices out only if y_r ≥ y_lo_r; one with −1 and cost −y_hi_r only if
    y_r ≤ y_hi_r. A slack that is used means the box binds (boxstep stabilisation of
    column generation; du Merle et al.). Infinite box sides get no slack.
    """
    names, costs, entries = [], [], []
    row = 0
    for b in sub.coupling:
        for r in range(b.n_rows):
            for sign, cost in ((1.0, y_lo[row]), (-1.0, -y_hi[row])):
                if np.isfinite(cost):
                    entries.append((b.name, r, len(names), sign))
                    names.append(f"{ELASTIC}{b.name}:{r}:{'lo' if sign > 0 else 'hi'}")
                    costs.append(cost)
            row += 1
    n_new = len(names)
    out = sub.with_columns(names, np.zeros(n_new), np.full(n_new, np.inf),
                           np.asarray(costs, float))
    by_block: dict[str, list] = {}
    for name, r, k, sign in entries:
        by_block.setdefault(name, []).append((r, k, sign))
    blocks = []
    for b in out.coupling:
        e = by_block.get(b.name, [])
        if e:
            rr = np.array([t[0] for t in e])
            cc = np.array([sub.n_cols + t[1] for t in e])
            vv = np.array([t[2] for t in e])
            b = replace(b, A=(b.A + sp.csr_matrix((vv, (rr, cc)), shape=b.A.shape)).tocsr())
        blocks.append(b)
    out = replace(out, coupling=blocks, terms=[], status_quo_value=None)
    return out, len(sub.aux_names)


def _x_weights(model: ModelSpec) -> np.ndarray:
    """``Σ_{j<n_x} |a_rj|`` for every coupling row ``r`` of ``model``: |A| times the indicator
    of the x columns (per row, a sum over its entries in column order)."""
    xs = np.zeros(model.n_cols)
    xs[: model.n_x] = 1.0
    return _abs_times(model.coupling, xs)


def _scaled_sample(spec: ModelSpec, sample: np.ndarray) -> ModelSpec:
    """The sample units' model with each coupling row's bounds scaled to the sample's share
    f_r of the row. The sample's objective is then about f times the full one, and its duals
    estimate the full model's duals (both numerator and denominator scale with f).

    ``f_r = Σ_{j∈S} |a_rj| / Σ_{j<n_x} |a_rj|`` over the sample's x columns ``S``. The
    numerator is the sub-model's own x weight: its rows hold the sample's entries in the same
    order, so each row's sum is the whole row's with the other entries' zeros left out (the
    same sum), from one pass over the sample's non-zeros instead of every one."""
    zero = np.zeros(spec.n_cols)
    sub, _ = spec.restrict(sample, zero)
    del zero
    share_num = _x_weights(sub)
    share_den = _x_weights(spec)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(share_den > 0, share_num / share_den, 0.0)
    blocks = []
    r0 = 0
    for b in sub.coupling:
        fr = f[r0:r0 + b.n_rows]
        r0 += b.n_rows
        with np.errstate(invalid="ignore"):
            lower = np.where(fr > 0, b.lower * fr, -np.inf)
            upper = np.where(fr > 0, b.upper * fr, np.inf)
        # auxiliary columns (slacks, minimax levels) keep their coefficients and costs: their
        # values shrink with the rows, so they scale like the rest of the objective
        blocks.append(replace(b, lower=lower, upper=upper))
    return replace(sub, coupling=blocks, terms=[], obj_offset=0.0, status_quo_value=None)


class _Point:
    """An LP point of the rounds, kept by its parts: the fixed units' columns (at 1) and the
    restricted model's columns with their values — not a vector over every column, which
    at ~100 m is a quarter of a gigabyte held through all later rounds. :meth:`full` gives
    the fixed vector with the restricted columns set to their values."""

    def __init__(self, n_cols: int, ones: np.ndarray, cols: np.ndarray, values: np.ndarray):
        self.n_cols = n_cols
        self.ones = ones
        self.cols = cols.copy()
        self.values = values[: cols.size].copy()

    def full(self) -> np.ndarray:
        x = np.zeros(self.n_cols)
        x[self.ones] = 1.0
        x[self.cols] = self.values
        return x


def integer_point(spec: ModelSpec, sub: ModelSpec, cols: np.ndarray, sub_x: np.ndarray,
                  sub_dual: np.ndarray | None, x_fix: np.ndarray, options: SolverOptions,
                  backend: Any, bound: float, time_limit: float, in_place: bool = False
                  ) -> tuple[np.ndarray, float, dict[str, Any]] | None:
    """An integer allocation near a restricted LP's point, or None.

    ``sub`` is the restricted model (its units the free ones; its columns ``cols`` of
    ``spec``), ``sub_x`` its LP solution (over ``sub``'s columns at least), ``sub_dual`` its
    reduced costs, and every other unit sits at its column in ``x_fix``. At a vertex at most
    one unit per coupling row is fractional. Those units, and the ``ROUND_UNITS_PER_FRACTIONAL``
    times as many (at least ``ROUND_MIN_UNITS``) restricted units nearest a tie (smallest
    second-smallest ``|d_j|`` over the unit's restricted columns ``j``), become a MIP over their
    restricted columns with every other unit fixed at its (integral) LP column and the
    auxiliary columns free. It stops at the first incumbent ``z`` with
    ``(bound − z) ≤ t·(z − z_sq)`` (``t = options.mip_rel_gap``; ``bound`` a proven bound of
    ``spec``), or after ``ROUND_CHECKS`` interrupt checks with what it has.

    The auxiliary columns are then re-optimised for the binaries (an LP over them alone;
    ``info["auxiliaries"]`` says whether it solved). Returns ``(x, z, info)`` — ``x`` over
    every column of ``spec`` — when ``x`` meets every row of ``spec``; the caller decides what
    its gap proves. With ``in_place`` ``x`` is assembled in ``x_fix`` itself (no second vector
    over every column), whose restricted columns ``cols`` then hold the rounded values whether
    or not an allocation is returned."""
    v = sub_x[: sub.n_x]
    cu = sub.col_unit
    info: dict[str, Any] = {}
    frac_cols = (v > INT_TOL) & (v < 1.0 - INT_TOL)
    frac = np.unique(cu[frac_cols])
    info["fractional_units"] = int(frac.size)
    x_sub = np.array(sub_x[: sub.n_cols], float)
    x_sub[: sub.n_x] = np.where(v > 0.5, 1.0, 0.0)
    if frac.size:
        # units nearest a tie: the second-smallest |reduced cost| of each unit's columns
        # (the smallest is 0 at its basic column)
        n_units = sub.n_units
        if sub_dual is not None:
            # the second best of −|d| per unit is minus the second-smallest |d| (−inf: none)
            _, _, second = Pricing(sub).best(-np.abs(np.asarray(sub_dual[: sub.n_x], float)))
            margin = -second
        else:
            margin = np.zeros(n_units)
        margin[frac] = -np.inf
        n_free = min(n_units, max(ROUND_MIN_UNITS,
                                  ROUND_UNITS_PER_FRACTIONAL * frac.size) + frac.size)
        pick = np.argsort(margin, kind="stable")[:n_free]
        free = np.zeros(n_units, bool)
        free[pick] = True
        msub, mcols = sub.restrict(free, x_sub)
        offset = msub.obj_offset
        msub = msub.without_constants()
        sq = spec.status_quo_value
        rel = options.mip_rel_gap

        def proven(primal: float, dual: float) -> bool:
            return bool(np.isfinite(primal)) and \
                decision_gap(primal + offset, bound, sq) <= rel

        stop = PatientStop(proven, has_incumbent, ROUND_CHECKS, 1)
        out = backend.mip(msub, options, max(1.0, time_limit), 0.0, x_sub[mcols],
                          stop=stop)
        info.update(free_units=int(free.sum()), status=out.status, checks=stop.checks)
        if out.x is None:
            return None
        x_sub[mcols] = out.x
        x_sub[: sub.n_x] = np.where(x_sub[: sub.n_x] > 0.5, 1.0, 0.0)
    if sub.aux_names:
        # the auxiliary columns (slacks, levels) re-optimised for these binaries: the LP over
        # the auxiliaries alone, whose vertex gives exact values (a MIP returns them only to
        # its feasibility tolerance). The auxiliaries appear only in coupling rows, so this
        # small model's LP is the whole model's with every binary fixed.
        aux_sub, aux_cols = sub.restrict(np.zeros(sub.n_units, bool), x_sub)
        out_aux = backend.lp(aux_sub, options, max(1.0, time_limit), want_basis=False)
        info["auxiliaries"] = "as rounded"
        if out_aux.status == "optimal" and out_aux.x is not None:
            x_sub[aux_cols] = out_aux.x
            info["auxiliaries"] = "re-optimised"
    else:
        info["auxiliaries"] = "none"
    x = x_fix if in_place else x_fix.copy()
    x[cols] = x_sub
    if spec.violations(x):
        info["violations"] = True
        return None
    return x, spec.objective_value(x), info


def lp(spec: ModelSpec, options: SolverOptions, backend: Any, say: Any,
       deadline: float, y_init: np.ndarray | None = None, level: int = 0,
       final_deadline: float | None = None, incumbent_stop: bool = False) -> dict[str, Any]:
    """Solve the LP relaxation of ``spec`` by column generation: :func:`_lp`, with the large
    temporaries of its rounds (reduced costs, masks, restricted models over tens of millions
    of columns) served from memory the previous ones freed instead of faulted in afresh
    (:func:`ruimteverdeling.heap.reusing_freed_memory`)."""
    with reusing_freed_memory():
        return _lp(spec, options, backend, say, deadline, y_init, level, final_deadline,
                   incumbent_stop)


def _lp(spec: ModelSpec, options: SolverOptions, backend: Any, say: Any,
        deadline: float, y_init: np.ndarray | None = None, level: int = 0,
        final_deadline: float | None = None, incumbent_stop: bool = False
        ) -> dict[str, Any]:
    """Solve the LP relaxation of ``spec`` by column generation (see the module docstring).

    Rounds start until ``deadline``. When no round has given an LP-feasible point by then
    (every restricted LP leaned on its box slacks, or the prices took the time), rounds go on
    until ``final_deadline`` (default ``deadline``) with elastic rows at a prohibitive price
    instead of the box — a phase one whose prices lead towards feasibility — and stop at the
    first point that meets every row, so that a repair can start from it.

    Initial prices come from a nested sample: the model restricted to a random quarter of
    its units (rows scaled to the sample's share) is solved by this same method, recursively,
    down to a sample small enough for HiGHS directly; every level starts from the prices of
    the level below, so the full model needs only a few rounds of pricing.

    With ``incumbent_stop`` (the top level only), a round whose restricted LP meets every row
    within the integer tolerance of the bound is rounded (:func:`integer_point`); an
    allocation proven within that tolerance by the bound ends the rounds and is returned as
    ``incumbent`` (``(x, objective)``).

    Returns a dict with ``x`` (full; None with an ``incumbent``: its allocation is the
    answer, and the LP point would be a second vector over every column), ``objective`` (LP
    value of x; None without x), ``bound`` (L(y)),
    ``row_dual`` (assignment duals, then coupling duals), ``col_dual`` (reduced costs),
    ``y``, ``converged``, ``incumbent`` (None unless stopped at the tolerance),
    ``incumbent_polished`` (its auxiliary columns are at their best for its binaries) and
    ``details``.
    """
    t_start = time.perf_counter()
    pricing = Pricing(spec)
    n_units = spec.n_units
    rng = np.random.default_rng(options.seed + level)
    scale = max(1.0, float(np.abs(spec.obj[: spec.n_x]).max(initial=1.0)))
    penalty = 1e4 * scale
    details: dict[str, Any] = {"level": level, "units": n_units, "iterations": []}
    m = pricing.m
    indent = "  " * level

    # 1. initial prices: from the level below (a scaled sample of this model)
    if y_init is None:
        t0 = time.perf_counter()
        n_sub = max(options.decompose_sample, n_units // SAMPLE_DIVISOR)
        # the prices get at most half the time left: the rounds over this model need the rest
        price_deadline = t_start + SAMPLE_SHARE * (deadline - t_start)
        sample = np.zeros(n_units, bool)
        sample[rng.choice(n_units, min(n_units, n_sub), replace=False)] = True
        sub0 = _scaled_sample(spec, sample)
        if n_sub >= n_units // 2 or n_sub <= 2 * options.decompose_sample:
            sub0e, _ = with_elastic(sub0, penalty)
            out0 = backend.lp(sub0e, options, max(1.0, price_deadline - time.perf_counter()),
                              want_basis=False)
            y = np.zeros(m) if out0.row_dual is None else \
                out0.row_dual[sub0e.n_units:sub0e.n_units + m]
            say(f"{indent}prices from the LP of a sample of {sub0.n_units:,} units "
                f"({time.perf_counter() - t0:.1f} s)")
            details["sample"] = {"units": int(sub0.n_units), "status": out0.status}
        else:
            say(f"{indent}prices from a sample of {sub0.n_units:,} units:")
            below = _lp(sub0, options, backend, say, price_deadline, None, level + 1)
            y = np.asarray(below["y"])
            details["below"] = below["details"]
            del below  # its point and reduced costs (a vector over its columns each)
        del sub0
        if level == 0:
            # the sample's model and its levels' arrays (a quarter of this level's size and
            # less) leave holes that this level's vectors over every column do not fit:
            # given back, they are not resident under the top level's rounds, which hold
            # the solve's peak (at ~100 m ~1.2 GB). The levels below keep theirs for reuse
            # (pages handed back are faulted in again: kernel time)
            release_freed()
    else:
        y = np.asarray(y_init, float)

    # 2. the first restricted set: contested units with their near-best columns
    r = pricing.reduced(pricing.clamp(y))
    best, best_col, second = pricing.best(r)
    margin = best - second
    target = free_count(n_units, options)
    delta, free = contested(margin, options)
    active = _near_best(pricing, r, best, max(delta, 0.0), free)
    # the rounds keep none of these (a vector over every unit each): not alive under them
    del best, second, margin
    active[best_col[free]] = True
    chosen = best_col
    x_fix = np.zeros(spec.n_cols)
    y = pricing.clamp(y)
    bound = pricing.bound(y, r)
    best_y = pricing.dual_feasible(y)  # the prices of the best (lowest) Lagrangian bound so far
    center, center_bound = y.copy(), bound
    # box half-widths: half the dual, and at least the price that moves a typical column's
    # reduced cost by the largest objective coefficient
    typical = _typical_coefficients(pricing)
    floor = scale / np.maximum(typical, 1e-12)
    width = np.maximum(0.5 * np.abs(center), floor)
    converged = False
    incumbent: tuple[np.ndarray, float] | None = None
    incumbent_polished = False
    sub_out = None
    sub = None
    cols = np.empty(0, np.int64)
    pi = np.zeros(n_units)
    # the best LP-feasible point seen (no box slack in use): what is returned when the time
    # runs out in a round whose box binds, so that the repair starts from a feasible point
    x_keep: _Point | None = None
    z_keep = -np.inf
    end = deadline if final_deadline is None else max(deadline, final_deadline)
    t_round, t_last = 0.0, None
    # the last restricted LP's columns, free units and optimal basis: the next one starts
    # from it (see _carried_basis)
    carried: tuple[np.ndarray, np.ndarray, Any] | None = None
    warm_rounds = backend.name == "highs"
    entered = 0  # the columns the last round's pricing took in
    for it in range(options.decompose_max_iterations):
        now = time.perf_counter()
        if t_last is not None:
            t_round = now - t_last  # the last round, with its pricing
        t_last = now
        if now > deadline and (x_keep is not None or now > end):
            break
        # with a point that meets every row in hand, a round the last one's time says would
        # end past the deadline is not started: what follows keeps its share of the time
        if x_keep is not None and now + t_round > deadline:
            break
        # while no point met every row, rounds near or past the deadline (until ``end``) use
        # elastic rows instead of the box: a phase one that prices towards feasibility
        rescue = x_keep is None and (now > deadline or now + 2.0 * t_round > deadline)
        t0 = time.perf_counter()
        x_fix[:] = 0.0
        x_fix[chosen[~free]] = 1.0
        sub, cols = spec.restrict(free, x_fix, np.concatenate(
            [active, np.ones(len(spec.aux_names), bool)]))
        if rescue:
            sub_b, n_aux0 = with_elastic(sub, penalty)
        else:
            sub_b, n_aux0 = with_box(sub, center - width, center + width)
        units_now = np.flatnonzero(free)
        start = None if rescue or carried is None or not warm_rounds or \
            not _carry_basis(entered, int(sub.n_x)) else \
            _carried_basis(carried, cols, units_now, chosen, sub_b)
        t_build = time.perf_counter() - t0
        if level == 0:
            # the solver's arrays come on top of this level's: what the last round freed
            # (the last LP's, the pricing's temporaries) is handed back rather than kept
            # resident under them
            release_freed()
        sub_out = backend.lp(sub_b, options,
                             max(1.0, (end if rescue else deadline) - time.perf_counter()),
                             **({"basis": start} if start is not None else {}),
                             want_basis=warm_rounds and not rescue)
        t_lp = time.perf_counter() - t0 - t_build
        carried = None if rescue or sub_out.basis is None else \
            (cols, units_now, sub_out.basis)
        if sub_out.x is None or sub_out.row_dual is None:
            details["iterations"].append({"free_units": int(free.sum()),
                                          "status": sub_out.status, "rescue": rescue})
            say(f"{indent}  restricted LP {it + 1}{' (elastic rows)' if rescue else ''}: "
                f"{sub_out.status} ({t_lp:.1f} s)")
            break
        n_sub_units = sub_b.n_units
        y = pricing.clamp(sub_out.row_dual[n_sub_units:n_sub_units + m])
        slack = sub_out.x[sub_b.n_x + n_aux0:]
        box_used = float(np.abs(slack).sum())
        # the last round's reduced costs are not needed any more: their vector takes these
        # (no vector over every column faulted in afresh each round)
        r = pricing.reduced(y, out=r)
        this_bound = pricing.bound(y, r)
        if this_bound < bound:
            bound, best_y = this_bound, pricing.dual_feasible(y)
        pi[~free] = r[chosen[~free]]
        pi[free] = sub_out.row_dual[:n_sub_units]
        tol = 1e-7 * scale
        # the violated columns and their violations (r_j − π_unit), a stretch at a time: no
        # vector over every column
        bad_idx, bad_viol = _violated(r, pi, spec.col_unit, active, tol)
        bad_cols = np.zeros(spec.n_x, bool)
        bad_cols[bad_idx] = True
        n_bad = int(bad_idx.size)
        # a point meets every row only when its restricted LP was solved: one stopped by its
        # time limit hands over the simplex's last iterate, which may break rows with its
        # box slacks at 0 (its prices still give a valid bound)
        feasible = sub_out.status == "optimal" and box_used <= 1e-9 * max(1.0, scale)
        z = -np.inf
        if feasible:
            # the combined point's objective, the point put together in x_fix itself (its
            # restricted columns are 0 outside this step): no vector over every column more
            x_fix[cols] = sub_out.x[: cols.size]
            z = spec.objective_value(x_fix)
            x_fix[cols] = 0.0
            if z > z_keep:
                x_keep, z_keep = _Point(spec.n_cols, chosen[~free], cols, sub_out.x), z
        # against the decision value (objective minus status quo), as the integer gap is:
        # relative to the whole objective a 'small' LP gap can be most of the decision
        lp_gap = decision_gap(z, bound, spec.status_quo_value) if feasible else np.inf
        details["iterations"].append({
            "free_units": int(free.sum()), "columns": int(sub.n_x),
            "build_seconds": round(t_build, 3), "lp_seconds": round(t_lp, 3),
            "violations": n_bad, "box_slack": box_used, "bound": bound,
            "objective": z, "lp_gap": lp_gap, "rescue": rescue,
            "start_basis": sub_out.details.get("start_basis"),
            "lp_iterations": sub_out.details.get("lp_iterations")})
        say(f"{indent}  restricted LP {it + 1}{' (elastic rows)' if rescue else ''}: "
            f"{int(free.sum()):,} of {n_units:,} units free, "
            f"{sub.n_x:,} columns, {n_bad:,} price out, LP gap {lp_gap:.2e} ({t_lp:.1f} s)")
        # the LP only has to be as exact as the integer gap asked for (a quarter of it is
        # left for the repair); a sample only has to give good prices
        tolerance = max(options.decompose_lp_gap, 0.25 * options.mip_rel_gap)
        if level > 0:
            tolerance = max(tolerance, 1e-3)
        if incumbent_stop and level == 0 and feasible and lp_gap <= options.mip_rel_gap and \
                time.perf_counter() < end:
            t1 = time.perf_counter()
            # assembled in x_fix: every later use of it rewrites the restricted columns (the
            # next round's fixing, the LP point below), and an allocation ends the rounds
            got = integer_point(spec, sub, cols, sub_out.x, sub_out.col_dual, x_fix, options,
                                backend, bound, end - t1, in_place=True)
            attempt = {"seconds": round(time.perf_counter() - t1, 3),
                       **({} if got is None else got[2])}
            if got is not None:
                attempt["objective"] = got[1]
                attempt["gap"] = float(decision_gap(got[1], max(bound, got[1]),
                                                    spec.status_quo_value))
            details["iterations"][-1]["rounding"] = attempt
            if got is not None and attempt["gap"] <= options.mip_rel_gap:
                incumbent = (got[0], got[1])
                incumbent_polished = got[2]["auxiliaries"] != "as rounded"
                say(f"{indent}  rounded: objective {got[1]:,.4f}, decision gap "
                    f"{attempt['gap']:.3%} against the bound, within the tolerance "
                    f"({attempt['seconds']:.1f} s)")
                converged = bool(n_bad == 0 or lp_gap <= tolerance)
                break
        if feasible and (n_bad == 0 or lp_gap <= tolerance):
            # every column prices out (an optimal vertex), or the Lagrangian bound is within
            # tolerance of this feasible LP solution: its bound is what the gap is proven by
            converged = True
            break
        # box management (boxstep): move the centre on a better bound, widen binding sides
        if this_bound < center_bound - 1e-12 * max(1.0, abs(center_bound)):
            center, center_bound = y.copy(), this_bound
        if not feasible:
            # slacks in use: the box binds at those rows; widen it there
            binding = np.zeros(m, bool)
            binding[_box_rows(sub_b, n_aux0, slack)] = True
            width = np.where(binding, 2.0 * width, width)
        # re-fix free units that the restricted LP gives wholly to their best column with a
        # clear margin at the new prices: the current solution stays optimal for the smaller
        # LP, so nothing is lost, and the restricted LP stays small as prices converge
        # (a free unit's columns are all in the restricted LP or at 0: the columns at 1 are
        # those of the restricted LP's solution, no combined vector over every column)
        at_one = cols[: sub.n_x][sub_out.x[: sub.n_x] > 1 - 1e-9]
        best_now, best_col_now, second_now = pricing.best(r)
        margin_now = best_now - second_now
        whole = np.zeros(n_units, bool)
        whole[spec.col_unit[at_one]] = True
        one = np.zeros(spec.n_x, bool)
        one[at_one] = True
        band = np.partition(margin_now, min(target, n_units - 1))[min(target, n_units - 1)]
        refix = free & whole & (margin_now > band) & one[best_col_now]
        del one, at_one
        if refix.any():
            chosen = np.where(refix, best_col_now, chosen)
            free &= ~refix
            active &= ~refix[spec.col_unit]
        # not kept into the next round, whose restricted LP is the level's peak
        del best_now, best_col_now, second_now, margin_now, whole, refix
        # partial pricing: only the most violated columns enter, at most as many as the
        # restricted LP holds now (and at least decompose_add), so a round at most doubles
        # it: while many columns still price out, the rounds take them in proportion
        # instead of a fixed number each (fewer rounds, each a pass over every column)
        add = _columns_to_add(n_bad, int(sub.n_x), options.decompose_add, RESTRICTED_MAX)
        if n_bad > add:
            top = bad_idx[np.argpartition(-bad_viol, add)[: add]]
            bad_cols = np.zeros(spec.n_x, bool)
            bad_cols[top] = True
        del bad_idx, bad_viol
        newly = np.zeros(n_units, bool)
        newly[spec.col_unit[bad_cols]] = True
        grow = newly & ~free
        entered = int(bad_cols.sum())
        active |= bad_cols
        active[chosen[grow]] = True
        free |= newly
        del bad_cols, newly, grow

    # assemble the full solution: the converged one, else the best feasible point seen (the
    # last restricted LP's point may lean on its box slacks and break a coupling row); with
    # an allocation within the tolerance, that allocation (x_fix holds it) and no LP point
    x: np.ndarray | None
    if incumbent is not None:
        x = None
    elif converged or x_keep is None:
        x = x_fix  # not needed any more: the solution is assembled in it
        if sub_out is not None and sub_out.x is not None and sub is not None:
            x[cols] = sub_out.x[: cols.size]
    else:
        x = x_keep.full()
    del x_keep
    # Lagrangian duals at the best prices: every unit's best reduced cost is its assignment
    # dual, so col_dual ≤ 0 on x columns and z(x) ≤ L(y) + Σ_j col_dual_j x_j for every
    # feasible x (what reduced-cost fixing needs), whether or not the method converged
    # (in the rounds' vector: these reduced costs become the returned duals, no copy)
    r = pricing.reduced(best_y, out=r)
    best_b = pricing.best(r)[0]
    col_dual = r
    pricing.less_unit_values(col_dual, best_b)
    details["seconds"] = round(time.perf_counter() - t_start, 3)
    details["converged"] = converged
    details["stopped_at_tolerance"] = incumbent is not None
    details["y"] = y.tolist()
    return {"x": x, "objective": None if x is None else spec.objective_value(x),
            "bound": bound,
            "row_dual": np.concatenate([best_b, best_y]), "col_dual": col_dual, "y": best_y,
            "converged": converged, "incumbent": incumbent,
            "incumbent_polished": incumbent_polished, "details": details}


WARM_SHARE = 0.1
"""A restricted LP starts from the last one's basis only when the columns that entered are
at most this share of its columns. That basis is primal feasible but every entered column
prices out against it, which HiGHS's dual simplex must first repair: at ~250 m a round with
~87 k entered columns of 151 k took 1,023 iterations from the carried basis against 2,208
from the crash basis, yet more seconds; with 641 entered of 40 k, 440 iterations against
1,789 and fewer seconds."""


def _carry_basis(entered: int, columns: int) -> bool:
    """Whether a restricted LP of ``columns`` columns, ``entered`` of them new since the
    last one, starts from the last one's basis (``entered ≤ WARM_SHARE · columns``)."""
    return entered <= WARM_SHARE * columns


def _carried_basis(carried: tuple[np.ndarray, np.ndarray, Any], cols: np.ndarray,
                   units: np.ndarray, chosen: np.ndarray, sub_b: ModelSpec) -> Any:
    """The last restricted LP's optimal basis mapped onto the next one, or None.

    ``carried`` holds the last restricted LP's columns (columns of the whole model, sorted),
    its free units (sorted) and its basis (its columns, then the box's two slacks per
    coupling row; its units' assignment rows, then the coupling rows). A column or unit in
    both keeps its status, and the box slacks and coupling rows keep theirs (the box keeps
    its shape: only its prices move). A column that entered is nonbasic at 0; a unit freed
    since was fixed at its ``chosen`` column, which becomes basic with its assignment row
    nonbasic — so the last optimal point, extended by the fixed units' columns at 1, is
    this basis's primal solution, and the simplex starts from it with only the entered
    columns to price in. A unit re-fixed since leaves with its row and columns; the result
    is returned only when it still has exactly one basic variable per row (else the solver
    starts from its own crash basis)."""
    from ruimteverdeling.model.highs_backend import BASIC, LOWER, Basis

    p_cols, p_units, p_basis = carried
    n_main = cols.size
    n_slack = sub_b.n_cols - n_main
    n_sub_units = units.size
    if p_basis.col.size - p_cols.size != n_slack or \
            p_basis.row.size - p_units.size != sub_b.n_rows - n_sub_units or not p_cols.size:
        return None
    col = np.full(sub_b.n_cols, LOWER, np.int8)
    idx = np.minimum(np.searchsorted(p_cols, cols), p_cols.size - 1)
    hit = p_cols[idx] == cols
    col[:n_main][hit] = p_basis.col[idx[hit]]
    col[n_main:] = p_basis.col[p_cols.size:]
    row = np.full(sub_b.n_rows, LOWER, np.int8)
    if p_units.size:
        uidx = np.minimum(np.searchsorted(p_units, units), p_units.size - 1)
        uhit = p_units[uidx] == units
    else:
        uhit = np.zeros(n_sub_units, bool)
        uidx = np.zeros(n_sub_units, np.int64)
    row[:n_sub_units][uhit] = p_basis.row[uidx[uhit]]
    row[n_sub_units:] = p_basis.row[p_units.size:]
    freed = chosen[units[~uhit]]
    at = np.searchsorted(cols, freed)
    if freed.size and (at.max() >= n_main or not np.array_equal(cols[at], freed)):
        return None
    col[at] = BASIC
    # a unit re-fixed and freed again in the same round lost its columns (its basic one
    # with them) and came back with its chosen column and the entered ones: with no basic
    # variable left among its row and columns, its chosen column becomes basic again
    n_x = sub_b.n_x
    per_unit = np.bincount(sub_b.col_unit[col[:n_x] == BASIC], minlength=n_sub_units) + \
        (row[:n_sub_units] == BASIC)
    lost = np.flatnonzero(per_unit == 0)
    if lost.size:
        back = np.searchsorted(cols, chosen[units[lost]])
        if back.max() >= n_main or not np.array_equal(cols[back], chosen[units[lost]]):
            return None
        col[back] = BASIC
    if int((col == BASIC).sum()) + int((row == BASIC).sum()) != sub_b.n_rows:
        return None
    return Basis(col, row)


def _columns_to_add(violated: int, restricted: int, least: int, most: int) -> int:
    """How many of the ``violated`` columns (positive reduced cost against the assignment
    duals) enter the next restricted LP: ``min(violated, max(least, min(restricted,
    most − restricted)))`` — all of them when they are fewer than the restricted LP's
    ``restricted`` columns, else as many as it has, but no more than brings it to ``most``
    columns (and never fewer than ``least``). A count, not a time: the same rounds on any
    load."""
    return int(min(violated, max(least, min(restricted, most - restricted))))


def _typical_coefficients(pricing: Pricing) -> np.ndarray:
    """Median |A_rj| over the x columns of every coupling row (1 for empty rows).

    One copy of a row's x values, made absolute and partitioned in place: a row of a
    target over every column holds tens of millions of entries (150 MB at ~100 m), and the
    mask, the absolute values and the median's own copy were three such arrays at once."""
    out = []
    for b in pricing.blocks:
        A = b.A
        for r in range(b.n_rows):
            s, e = A.indptr[r], A.indptr[r + 1]
            vals = A.data[s:e][A.indices[s:e] < pricing.n_x]
            np.abs(vals, out=vals)
            out.append(float(np.median(vals, overwrite_input=True)) if vals.size else 1.0)
    return np.asarray(out)


def _box_rows(sub_b: ModelSpec, n_aux0: int, slack: np.ndarray) -> np.ndarray:
    """Coupling rows (stacked index) whose box slack is in use."""
    rows = []
    offsets = {}
    r0 = 0
    for b in sub_b.coupling:
        offsets[b.name] = r0
        r0 += b.n_rows
    for k, value in enumerate(slack):
        if value > 1e-12:
            name = sub_b.aux_names[n_aux0 + k][len(ELASTIC):]
            block, row, _ = name.rsplit(":", 2)
            rows.append(offsets[block] + int(row))
    return np.asarray(rows, dtype=np.int64)
