"""Stronger rows before branching: valid inequalities derived from the model's own rows.

Every row added here is satisfied by *every* integer solution of the model (each derivation
below is a proof), so the optimum is unchanged while the LP relaxation — the bound the gap is
proven by — gets closer to it. Nothing here knows what a row means; it looks only at the
numbers. The original rows are always kept.

Notation: a coupling row ``lo ≤ Σ_j a_j x_j + Σ_k g_k s_k ≤ hi`` over binaries ``x_j`` (at most
one per unit can be 1: the assignment rows) and continuous auxiliaries ``s_k ∈ [l_k, u_k]``.

**Mixed-integer rounding (MIR).** Each finite side is written as ``Σ a_j x_j + s ≥ b`` with
``s ≥ 0`` continuous: the ``≤`` side is negated; every auxiliary with ``g_k > 0`` is measured
from its lower bound and every one with ``g_k < 0`` from its upper bound (``s = Σ_k |g_k| ·
distance``, the constant moves into ``b``; a row with an auxiliary unbounded on that side
yields nothing). Optionally the binaries with ``a_j < 0`` are complemented (``x̄_j = 1 − x_j``).
For a divisor ``d > 0`` let ``β = b/d``, ``f = β − ⌊β⌋ > 0``, ``α_j = a_j/d`` and
``f_j = α_j − ⌊α_j⌋``. Then

    Σ_j (⌊α_j⌋ + min(1, f_j / f)) x_j + s / (d f) ≥ ⌈β⌉

holds for every ``x ∈ ℤ₊ⁿ`` (Marchand and Wolsey's MIR inequality). With equal coefficients
``a_j = d`` and no ``s`` it is the Chvátal–Gomory rounding ``Σ x ≥ ⌈b/d⌉``: a 5 % share of a
polder of 3.9 cells becomes "at least one whole cell". With a shortfall slack it charges a
missed fraction of a cell at its true price, ``s ≥ d f (⌈β⌉ − Σ x)``. For ``≤`` rows with
positive coefficients (no complement) it is ``Σ ⌊a_j/d⌋ x_j ≤ ⌊hi/d⌋``-like rounding. The
divisors tried are the row's most frequent coefficient magnitudes (``MAX_DIVISORS``) and its
largest.

**Cardinality rows.** For ``Σ a_j x_j ≥ b`` with ``a_j ≥ 0`` and no auxiliary, a unit
contributes at most ``m_c = max_{j∈c} a_j``; if the ``k`` largest ``m_c`` are the fewest that
reach ``b``, at least ``k`` units must take a column of the row: ``Σ_{a_j>0} x_j ≥ k``.
Likewise ``Σ a_j x_j ≤ b``: at most the ``k`` units whose smallest positive contributions
still fit, ``Σ_{a_j>0} x_j ≤ k``.

**Level counts (minimax rows).** A *level* is an auxiliary ``v`` with an objective cost and
rows ``Σ_j a_j x_j − c_r v ≤ u_r`` (``a_j ≥ 0``, ``c_r > 0``: ``v ≥ load_r / c_r``, as in a
fairness rule's most burdened region). The LP spreads loads so that every binding region sits
exactly at the level, which whole cells cannot; no inequality in ``(x, v)`` of one row fixes
that, because the level is shared. Instead, for each such row and divisor ``d`` an integer
count ``m_{r,d}`` is added with

    Σ_j ⌊a_j/d⌋ x_j ≤ m_{r,d},      d · m_{r,d} ≤ c_r v + u_r,

valid because ``m = Σ ⌊a_j/d⌋ x_j`` is an integer with ``d·m ≤ Σ a_j x_j``. The LP bound is
unchanged, but a branch and bound can now branch on "region r holds at most k / at least k+1
whole cells of load", which moves the level in steps, and its rounding cuts apply to the
counts. :func:`level_bounds` uses the same counts for a small branch and bound on the level
itself (with LP bounds) that proves a tighter bound and a window for the level.

**Whole-cell knapsacks of a level.** The counts move the LP bound only through branching.
:func:`knapsack_level_bound` instead bounds the level's term directly: the LP duals move every
row but the level's own into the objective (a Lagrangian relaxation, valid for any
multipliers), after which each region is an exact multiple-choice knapsack of whole cells,
solved by dynamic programming for every capacity and maximised over the level. The LP's duals
are optimal for fractional knapsacks, not for whole ones: :func:`lagrange_level_duals` looks
for lower multipliers by subgradient steps (every bound it reports is computed from its own
multipliers, so valid whatever the steps do).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.model import row_groups
from ruimteverdeling.model.level_fix import curve_argmax
from ruimteverdeling.model.spec import ModelSpec, RowBlock

MAX_DIVISORS = 4
"""Divisors tried per row side: the most frequent coefficient magnitudes (and the largest)."""
MIN_FRACTION = 1e-4
"""MIR needs a fractional right-hand side; closer to an integer than this it is skipped (the
cut's slack coefficient 1/(d f) would be ill-conditioned)."""
SAFETY = 1e-9
"""Relative margin by which every derived right-hand side is relaxed (round-off)."""
BLOCK = "strengthen"
"""Name of the block of derived rows in a strengthened model."""


@dataclass
class Candidates:
    """Derived rows ``lower ≤ A x`` (all of ``≥`` form), not yet in the model."""

    A: sp.csr_matrix
    lower: np.ndarray
    source: list[str]  # "<block>:<row label>"
    kind: list[str]  # "mir d=<d>" | "cardinality"

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)

    def violated(self, x: np.ndarray, tol: float = 1e-6) -> np.ndarray:
        """Indices of the rows that ``x`` violates by more than ``tol`` (relative)."""
        if not self.n_rows:
            return np.empty(0, np.int64)
        act = self.A @ x
        return np.flatnonzero(act < self.lower - tol * np.maximum(1.0, np.abs(self.lower)))

    def block(self, rows: np.ndarray, name: str = BLOCK) -> RowBlock:
        rows = np.asarray(rows, np.int64)
        return RowBlock(name, "cut", self.A[rows].tocsr(), self.lower[rows].copy(),
                        np.full(rows.size, np.inf),
                        labels=[f"{self.kind[r]} from {self.source[r]}" for r in rows])

    def take(self, rows: np.ndarray) -> Candidates:
        """The candidates without ``rows`` (after they went into the model)."""
        keep = np.ones(self.n_rows, bool)
        keep[np.asarray(rows, np.int64)] = False
        idx = np.flatnonzero(keep)
        return Candidates(self.A[idx].tocsr(), self.lower[idx],
                          [self.source[i] for i in idx], [self.kind[i] for i in idx])


def mir(a: np.ndarray, b: float, d: float) -> tuple[np.ndarray, float, float] | None:
    """The MIR inequality of ``Σ a_j x_j + s ≥ b`` (``x ∈ ℤ₊``, ``s ≥ 0``) for divisor ``d``:
    ``Σ c_j x_j + scale · s ≥ rhs`` as (c, scale, rhs), or None when ``b/d`` is (nearly)
    integral."""
    beta = b / d
    f = beta - np.floor(beta)
    if f < MIN_FRACTION or f > 1.0 - MIN_FRACTION:
        return None
    alpha = a / d
    fl = np.floor(alpha)
    c = fl + np.minimum(1.0, (alpha - fl) / f)  # continuous and nondecreasing in alpha
    return c, 1.0 / (d * f), float(np.ceil(beta))


def _divisors(mag: np.ndarray, common: bool = False) -> list[float]:
    """The divisors tried for a row with coefficient magnitudes ``mag``: the most frequent
    ones and the largest; with ``common``, also their greatest common divisor when they are
    all whole numbers (above 1) — with it every ``α_j`` is whole and the MIR inequality is the
    row's own rounding ``Σ (a_j/g) x_j ≥ ⌈b/g⌉`` (homes per cell in thousands of 3,500 and
    4,500 reach a target only in steps of 500)."""
    mag = mag[mag > 0]
    if not mag.size:
        return []
    vals, counts = np.unique(np.round(mag, 12), return_counts=True)
    out = [float(v) for v in vals[np.argsort(-counts, kind="stable")][:MAX_DIVISORS]]
    if float(vals[-1]) not in out:
        out.append(float(vals[-1]))
    if common and np.all(np.abs(vals - np.rint(vals)) <= 1e-9 * np.maximum(1.0, vals)):
        g = math.gcd(*(int(v) for v in np.rint(vals)))
        if g > 1 and float(g) not in out:
            out.append(float(g))
    return out


def row_candidates(cols: np.ndarray, vals: np.ndarray, lo: float, hi: float, n_x: int,
                   aux_lb: np.ndarray, aux_ub: np.ndarray, col_unit: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray, float, str]]:
    """Derived rows of one row ``lo ≤ Σ vals·col ≤ hi``: (columns, coefficients, lower, kind),
    each meaning ``Σ coef · col ≥ lower``."""
    out: list[tuple[np.ndarray, np.ndarray, float, str]] = []
    isx = cols < n_x
    xc, xa = cols[isx], vals[isx]
    sc, sa = cols[~isx], vals[~isx]
    if not xc.size:
        return out
    for side, bound in ((1.0, lo), (-1.0, hi)):
        if not np.isfinite(bound):
            continue
        a, g, b = side * xa, side * sa, side * bound
        # the continuous part, measured from the bound that keeps it ≥ 0
        k = sc - n_x
        lo_s, hi_s = aux_lb[k], aux_ub[k]
        if np.any((g > 0) & ~np.isfinite(lo_s)) or np.any((g < 0) & ~np.isfinite(hi_s)):
            continue  # unbounded in the useful direction: no integrality to exploit
        const = float(np.sum(np.where(g > 0, g * np.where(np.isfinite(lo_s), lo_s, 0.0),
                                      g * np.where(np.isfinite(hi_s), hi_s, 0.0))))
        b_s = b - const  # Σ a x + s ≥ b_s, with s = Σ g s_k − const ≥ 0
        margin = SAFETY * max(1.0, abs(b_s), float(np.abs(a).sum()))
        divisors = _divisors(np.abs(a), common=not sc.size)
        for complement in (False, True):
            neg = a < 0
            if complement and not neg.any():
                continue
            abar = np.where(neg, -a, a) if complement else a
            bb = b_s - (float(a[neg].sum()) if complement else 0.0)
            for d in divisors:
                res = mir(abar, bb, d)
                if res is None:
                    continue
                c, scale, rhs = res
                if complement:  # c·x̄ = c − c·x
                    rhs -= float(c[neg].sum())
                    c = np.where(neg, -c, c)
                # scale · s = Σ scale·g_k s_k − scale·const
                rhs += scale * const
                keep = c != 0
                out.append((np.concatenate([xc[keep], sc]), np.concatenate([c[keep], scale * g]),
                            rhs - margin, f"mir d={d:g}"))
        if not sc.size and a.size:
            out += _cardinality(xc, a, b, col_unit, margin)
    return out


def _cardinality(xc: np.ndarray, a: np.ndarray, b: float, col_unit: np.ndarray,
                 margin: float) -> list[tuple[np.ndarray, np.ndarray, float, str]]:
    """Cardinality rows of ``Σ a_j x_j ≥ b`` (see the module docstring)."""
    out = []
    units = col_unit[xc]
    pos = a > 0
    # per unit of the row (numbered within the row: arrays as long as the row, not as the
    # model's units, which made this quadratic in the size of the area)
    if np.all(a >= 0) and b > margin:
        _, inv = np.unique(units[pos], return_inverse=True)
        m = np.zeros(int(inv.max()) + 1 if inv.size else 0)
        np.maximum.at(m, inv, a[pos])
        best = np.sort(m[m > 0])[::-1]
        reach = np.cumsum(best)
        if reach.size and reach[-1] >= b - margin:
            k = int(np.searchsorted(reach, b - margin)) + 1
            if k > 1:
                out.append((xc[pos], np.ones(int(pos.sum())), float(k), "cardinality"))
    neg = a < 0
    if np.all(a <= 0) and neg.any():  # −Σ |a| x ≥ b: Σ |a| x ≤ −b
        cap = -b
        _, inv = np.unique(units[neg], return_inverse=True)
        m = np.full(int(inv.max()) + 1, np.inf)
        np.minimum.at(m, inv, -a[neg])
        small = np.sort(m[np.isfinite(m)])
        fit = np.cumsum(small)
        k = int(np.searchsorted(fit, cap + margin, side="right"))
        if k < small.size:
            out.append((xc[neg], -np.ones(int(neg.sum())), float(-k), "cardinality"))
    return out


def candidates(spec: ModelSpec, max_row_nnz: int | None = None) -> Candidates:
    """Every derived row of every coupling row of ``spec`` (rows with more than
    ``max_row_nnz`` entries are skipped)."""
    rows_c: list[np.ndarray] = []
    rows_v: list[np.ndarray] = []
    lower: list[float] = []
    source: list[str] = []
    kind: list[str] = []
    # A row over binaries alone derives rows that depend only on its coefficients, its bounds
    # and which of its entries share a unit: rows alike in those (tens of thousands of
    # setback rows around every cell, say) are derived once, over positions in the row.
    alike: dict[tuple[bytes, bytes, float, float], list[Any]] = {}
    for b in spec.coupling:
        A = b.A.tocsr()
        ranks = _unit_ranks(A, spec.col_unit, spec.n_x)
        for r in range(b.n_rows):
            s, e = A.indptr[r], A.indptr[r + 1]
            if e == s or (max_row_nnz is not None and e - s > max_row_nnz):
                continue
            label = b.labels[r] if b.labels is not None and r < len(b.labels) else str(r)
            row_cols, row_vals = A.indices[s:e], A.data[s:e]
            lo_r, hi_r = float(b.lower[r]), float(b.upper[r])
            if int(row_cols.max()) < spec.n_x:
                pattern = ranks[s:e]
                key = (row_vals.tobytes(), pattern.tobytes(), lo_r, hi_r)
                if key not in alike:
                    alike[key] = row_candidates(np.arange(e - s), row_vals, lo_r, hi_r, e - s,
                                                spec.aux_lb, spec.aux_ub, pattern)
                derived = [(row_cols[at], coef, lo, k) for at, coef, lo, k in alike[key]]
            else:
                derived = row_candidates(row_cols, row_vals, lo_r, hi_r, spec.n_x,
                                         spec.aux_lb, spec.aux_ub, spec.col_unit)
            for cols, coef, lo, k in derived:
                rows_c.append(cols)
                rows_v.append(coef)
                lower.append(lo)
                source.append(f"{b.name}:{label}")
                kind.append(k)
    n = len(lower)
    if not n:
        return Candidates(sp.csr_matrix((0, spec.n_cols)), np.empty(0), [], [])
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum([c.size for c in rows_c], out=indptr[1:])
    A = sp.csr_matrix((np.concatenate(rows_v), np.concatenate(rows_c, dtype=np.int64),
                       indptr), shape=(n, spec.n_cols))
    A.sum_duplicates()
    return Candidates(A, np.asarray(lower, float), source, kind)


def _unit_ranks(A: sp.csr_matrix, col_unit: np.ndarray, n_x: int) -> np.ndarray:
    """Per entry of ``A`` (CSR order), the rank of its column's unit among the distinct units of
    its row (0 = the row's smallest unit number; entries of auxiliary columns count as their
    own unit, ``n_x`` + column). Rows with equal ranks share units in the same way."""
    nnz = A.indices.size
    if not nnz:
        return np.empty(0, np.int64)
    row = np.repeat(np.arange(A.shape[0], dtype=np.int64), np.diff(A.indptr))
    cols = A.indices.astype(np.int64)
    unit = np.where(cols < n_x, col_unit[np.minimum(cols, max(n_x - 1, 0))], n_x + cols)
    order = np.lexsort((unit, row))
    r_s, u_s = row[order], unit[order]
    new_row = np.r_[True, r_s[1:] != r_s[:-1]]
    new_unit = new_row | np.r_[True, u_s[1:] != u_s[:-1]]
    dense = np.cumsum(new_unit) - 1
    first = np.maximum.accumulate(np.where(new_row, dense, 0))
    out = np.empty(nnz, np.int64)
    out[order] = dense - first
    return out


# ---------------------------------------------------------------------------------------------
# levels (minimax rows)
# ---------------------------------------------------------------------------------------------
@dataclass
class LevelRow:
    """One row ``Σ a_j x_j − c v ≤ u`` of a level ``v``."""

    block: str
    row: int
    cols: np.ndarray
    a: np.ndarray
    c: float
    u: float


@dataclass
class Level:
    """A level column with its rows and, once counted, its count columns."""

    col: int
    cost: float  # objective coefficient of the level (negative: a cost)
    rows: list[LevelRow]
    counts: list[tuple[int, int, float]] = field(default_factory=list)  # (count col, row, d)
    # what the whole-cell bounds need of a model's rows that no dual changes (see
    # :func:`_structure`), per model rows; lives as long as the level
    cache: list[tuple[tuple[Any, ...], tuple[Any, ...], dict[Any, Any]]] = field(
        default_factory=list, repr=False, compare=False)


def find_levels(spec: ModelSpec) -> list[Level]:
    """Auxiliary columns that act as a level (see the module docstring)."""
    n_x = spec.n_x
    cand = [j for j in range(n_x, spec.n_cols)
            if spec.obj[j] < 0 and np.isfinite(spec.aux_lb[j - n_x])]
    if not cand:
        return []
    levels = {j: Level(j, float(spec.obj[j]), []) for j in cand}
    spoiled: set[int] = set()
    for b in spec.coupling:
        A = b.A.tocsr()
        for r in range(b.n_rows):
            s, e = A.indptr[r], A.indptr[r + 1]
            cols, vals = A.indices[s:e], A.data[s:e]
            aux = cols >= n_x
            hits = [j for j in cols[aux] if j in levels]
            if not hits:
                continue
            j = hits[0]
            c = -float(vals[cols == j][0])
            ok = (aux.sum() == 1 and c > 0 and np.isneginf(b.lower[r])
                  and np.isfinite(b.upper[r]) and np.all(vals[~aux] >= 0))
            if not ok:
                spoiled.add(j)  # the level appears in a row of another shape: leave it
                continue
            levels[j].rows.append(LevelRow(b.name, r, cols[~aux], vals[~aux], c,
                                           float(b.upper[r])))
    return [lv for j, lv in levels.items() if j not in spoiled and lv.rows]


def with_level_counts(spec: ModelSpec, levels: list[Level]) -> ModelSpec:
    """``spec`` with the integer counts of every level row (see the module docstring);
    ``levels`` record their count columns."""
    names, ub = [], []
    plan = []
    for lv in levels:
        lv.counts = []
        for k, row in enumerate(lv.rows):
            for d in _divisors(row.a):
                w = np.floor(row.a / d + 1e-12)
                if not np.any(w > 0):
                    continue
                plan.append((lv, k, d, w))
                names.append(f"count:{spec.aux_names[lv.col - spec.n_x]}:{row.block}:"
                             f"{row.row}:d={d:g}")
                # at most one column per unit: the count is at most Σ_units max w
                units = spec.col_unit[row.cols]
                per = np.zeros(int(units.max()) + 1)
                np.maximum.at(per, units, w)
                ub.append(float(per.sum()))
    if not plan:
        return spec
    n0 = spec.n_cols
    out = spec.with_columns(names, np.zeros(len(names)), np.asarray(ub),
                            np.zeros(len(names)), np.ones(len(names), bool))
    rr, cc, vv, lo, hi = [], [], [], [], []
    for i, (lv, k, d, w) in enumerate(plan):
        row = lv.rows[k]
        m = n0 + i
        lv.counts.append((m, k, d))
        nz = w > 0
        r1 = 2 * i
        rr += [np.full(int(nz.sum()) + 1, r1)]
        cc += [np.r_[row.cols[nz], m]]
        vv += [np.r_[w[nz], -1.0]]
        lo.append(-np.inf)
        hi.append(0.0)
        rr += [np.full(2, r1 + 1)]
        cc += [np.array([m, lv.col])]
        vv += [np.array([d, -row.c])]
        lo.append(-np.inf)
        hi.append(row.u)
    A = sp.csr_matrix((np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))),
                      shape=(len(lo), out.n_cols))
    labels = [f"{p}:{names[i]}" for i in range(len(plan)) for p in ("count", "level")]
    return out.with_rows(RowBlock("level_counts", "cut", A, np.asarray(lo),
                                  np.asarray(hi), labels=labels))


# ---------------------------------------------------------------------------------------------
# a branch and bound on the level
# ---------------------------------------------------------------------------------------------
@dataclass
class LevelNode:
    lo: float
    hi: float
    count_ub: dict[int, float]
    bound: float
    basis: Any = None
    x: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    cuts: tuple[RowBlock, ...] = ()  # rows valid in this node only (level at most hi)
    lp_bound: float = np.inf  # the node's own LP optimum (``bound`` may be lower, see below)
    lp: Any = None  # the outcome of the node's own (last) LP, which ``x`` and the duals are of


@dataclass
class LevelSearch:
    """What :func:`level_bounds` proved."""

    bound: float  # valid upper bound on every integer solution
    window: tuple[float, float]  # the level of every solution better than the incumbent
    count_ub: dict[int, float]  # count column -> upper bound (same condition)
    nodes: list[LevelNode]  # the open nodes (their LPs)
    lps: int  # node LPs answered, including the ``reused`` ones
    seconds: float
    reused: int = 0  # node LPs answered with the parent's optimum, without solving them
    closed: float = -np.inf  # the closed nodes' largest bound (at least the incumbent):
    # every solution outside the open nodes is worth at most this


def _count_caps(lv: Level, hi: float) -> dict[int, float]:
    """Upper bounds of the counts when the level is at most ``hi``: ⌊(c·hi + u)/d⌋."""
    out = {}
    for m, k, d in lv.counts:
        row = lv.rows[k]
        out[m] = float(np.floor((row.c * hi + row.u) / d * (1 + 1e-12) + 1e-9))
    return out


def level_cap_rows(spec: ModelSpec, level: Level, hi: float) -> Candidates:
    """Derived rows of the loads when the level is at most ``hi``: every row
    ``Σ a_j x_j ≤ c·hi + u`` (the level replaced by its upper bound) rounded as in
    :func:`row_candidates`. Valid for every integer solution whose level is at most ``hi``."""
    rows_c, rows_v, lower, source, kind = [], [], [], [], []
    for row in level.rows:
        cap = row.c * hi + row.u
        if not np.isfinite(cap):
            continue
        for cols, coef, lo, k in row_candidates(row.cols, row.a, -np.inf, cap, spec.n_x,
                                                spec.aux_lb, spec.aux_ub, spec.col_unit):
            rows_c.append(cols)
            rows_v.append(coef)
            lower.append(lo)
            source.append(f"{row.block}:{row.row}:level<={hi:.6g}")
            kind.append(k)
    if not lower:
        return Candidates(sp.csr_matrix((0, spec.n_cols)), np.empty(0), [], [])
    indptr = np.zeros(len(lower) + 1, np.int64)
    np.cumsum([c.size for c in rows_c], out=indptr[1:])
    A = sp.csr_matrix((np.concatenate(rows_v), np.concatenate(rows_c, dtype=np.int64),
                       indptr), shape=(len(lower), spec.n_cols))
    return Candidates(A, np.asarray(lower, float), source, kind)


def stack_rows(blocks: list[RowBlock | None], name: str) -> RowBlock | None:
    """One block holding the rows of ``blocks`` (None entries skipped)."""
    blocks = [b for b in blocks if b is not None and b.n_rows]
    if not blocks:
        return None
    if len(blocks) == 1:
        return replace(blocks[0], name=name)
    return RowBlock(name, "cut", sp.vstack([b.A for b in blocks], format="csr"),
                    np.concatenate([b.lower for b in blocks]),
                    np.concatenate([b.upper for b in blocks]),
                    labels=[lab for b in blocks for lab in (b.labels or [])])


STALL_LPS = 8
"""LPs the level search solves before it may judge itself stalled (see :func:`level_bounds`).
On the demo area, with the rows over few units kept in the whole-cell node bounds
(:data:`KEEP_ROW_GROUPS`), its bound stays flat for a few LPs and then falls as the bisected
intervals narrow onto the peak level window: at 2 and at 5 the search stops at 1,628,196.83
(decision gap 0.145 %), at 8 it closes every node at 1,628,182.46 (0.093 %) after 9 LPs, 5
of them answered by their parent's optimum."""


def level_bounds(spec: ModelSpec, level: Level, solve_lp: Callable[..., Any],
                 root: Any, incumbent: float, target_gap: float, deadline: float,
                 max_lps: int = 60, cut_rounds: int = 2,
                 useful_below: float = np.inf,
                 node_bound: Callable[[np.ndarray, np.ndarray, Any], float | None] | None = None
                 ) -> LevelSearch:
    """Branch and bound on the level ``v`` of a counted model ``spec``, with LP bounds.

    A node is an interval ``[lo, hi]`` of ``v``; its LP has ``v ∈ [lo, hi]``, every count
    ``m_{r,d} ≤ ⌊(c_r hi + u_r)/d⌋`` and the rounded load rows of :func:`level_cap_rows` at
    ``hi`` that its LP solution violates (``cut_rounds`` rounds, only while its LP bound is
    above ``incumbent + target_gap``: a node that bound closes needs no tighter LP) — all valid
    for every integer solution with its level in the interval, so the node's LP optimum bounds
    them all.

    A node is split at a level ``t`` above its LP level ``v*``: preferably where a count whose
    LP value ``m*`` is fractional must step up, ``t = (d ⌈m*⌉ − u_r)/c_r`` (below ``t`` that
    count is at most ``⌊m*⌋``, so both children cut off the LP solution); otherwise at the next
    level at which any count's cap steps up (the upper child cuts off the LP solution, the
    lower one gets tighter rounded rows). Nodes whose bound is within ``target_gap`` of
    ``incumbent`` are closed. Returns the largest bound (a valid bound for the whole model),
    the hull of the open intervals and the open nodes.

    Stalling: with ``node_bound``, the search also stops when its bound has not fallen over the
    last :data:`STALL_LPS` LPs (on the demo area the whole-cell bound reaches its plateau within
    the first two LPs and stays there). Its bound matters only below ``useful_below`` (the
    best bound already proven otherwise, e.g. the whole-cell knapsack bound). After
    :data:`STALL_LPS` LPs, with ``g`` the largest bound of the unresolved nodes and ``ρ =
    (z_root − g) / LPs`` the progress per LP so far, the search stops when ``(g − useful_below)
    / ρ`` exceeds the LPs it has left: at its own pace it would not reach a useful bound.
    Stopping early leaves nodes open; the returned bound (the largest over them) is as valid as
    after a full search.

    Whole cells per node: ``node_bound(aux_lb, aux_ub, lp)`` (optional; nodes are then
    bisected, :func:`_bisect`, since that bound falls as the interval narrows) returns another
    bound valid for every integer solution with those auxiliary bounds (``lp`` None: what it
    knows without the node's LP, asked first — a node it closes costs no LP) — e.g. the whole-cell
    knapsack bound of :func:`knapsack_level_bound` restricted to the node's interval, with the
    node's LP duals, which away from the LP's own level are the right prices where the root's
    are not — or None; a node's bound is the smaller of the two (its ``lp_bound`` keeps the LP
    optimum, which its reduced costs belong to).

    ``solve_lp(aux_lb, aux_ub, rows, basis)`` solves the LP of ``spec`` with those auxiliary
    bounds and the RowBlocks ``rows`` appended (from ``basis`` where it can use one) and
    returns an :class:`LpOutcome`; ``root`` is the outcome of the LP of ``spec`` itself (the
    whole range of ``v``).
    """
    t0 = time.perf_counter()
    n_x = spec.n_x
    j = level.col - n_x
    lo0, hi0 = float(spec.aux_lb[j]), float(spec.aux_ub[j])
    open_nodes: list[LevelNode] = []
    closed_bound = incumbent
    lps = 0
    reused = 0
    # a node's load rows at its top, per top: an upper child keeps its parent's top, so on
    # the demo area 6 of the search's 7 nodes with cut rounds ask for the same rows (kept
    # whole: a node takes the violated ones into a block of its own and leaves them alone)
    cap_rows: dict[float, Candidates] = {}

    def node_bounds(lo: float, hi: float, caps: dict[int, float]
                    ) -> tuple[np.ndarray, np.ndarray]:
        return _node_box(spec, level, lo, hi, caps)

    def make(lo: float, hi: float, caps: dict[int, float], parent: LevelNode
             ) -> LevelNode | None:
        nonlocal lps, reused
        lb, ub = node_bounds(lo, hi, caps)
        if np.any(lb > ub + 1e-12):
            return None
        cuts = parent.cuts
        out = _parent_optimum(parent, n_x, lb, ub,
                              *node_bounds(parent.lo, parent.hi, parent.count_ub))
        if out is None and node_bound is not None:
            # a whole-cell bound that needs no LP (e.g. a lookup in the root's curve) may
            # close the node before its LP is solved
            early = node_bound(lb, ub, None)
            if early is not None and early <= incumbent + target_gap:
                return LevelNode(lo, hi, caps, min(parent.bound, early), cuts=cuts)
        if out is None:
            out = solve_lp(lb, ub, list(cuts), parent.basis)
        else:
            reused += 1
        lps += 1
        if out.status == "infeasible":
            return None
        if out.status != "optimal" or out.objective is None:  # keep the parent's bound
            return LevelNode(lo, hi, caps, parent.bound, cuts=cuts)
        if np.isfinite(hi) and float(out.objective) > incumbent + target_gap:
            cand = cap_rows.get(hi)
            if cand is None:
                cand = cap_rows[hi] = level_cap_rows(spec, level, hi)
            for _ in range(cut_rounds):
                if float(out.objective) <= incumbent + target_gap:
                    break  # (its LP closes the node: more rows could only lower its bound)
                viol = cand.violated(out.x[: spec.n_cols])
                if not viol.size or lps >= max_lps:
                    break
                more = (*cuts, cand.block(viol, "level_node"))
                cand = cand.take(viol)
                nxt = solve_lp(lb, ub, list(more), out.basis)
                lps += 1
                if nxt.status != "optimal" or nxt.objective is None:
                    break
                out, cuts = nxt, more
        bound = min(parent.bound, float(out.objective))
        if node_bound is not None and bound > incumbent + target_gap:
            nb = node_bound(lb, ub, out)
            if nb is not None:
                bound = min(bound, nb)
        return LevelNode(lo, hi, caps, bound, out.basis, out.x, out.col_dual, cuts,
                         float(out.objective), out)

    z_root = float(root.objective)
    todo = [LevelNode(lo0, hi0, {}, z_root, root.basis, root.x, root.col_dual,
                      lp_bound=z_root, lp=root)]
    seen: list[tuple[int, float]] = []  # (LPs so far, largest open bound) per expansion
    while todo:
        todo.sort(key=lambda n: -n.bound)
        g = max([n.bound for n in todo] + [n.bound for n in open_nodes] + [closed_bound])
        seen.append((lps, g))
        if lps >= STALL_LPS and np.isfinite(useful_below):
            rate = (z_root - g) / lps
            if g > useful_below and (rate <= 0 or (g - useful_below) / rate > max_lps - lps):
                left, closed_bound = _left_open(todo, incumbent + target_gap, closed_bound)
                open_nodes += left  # stalled: what is left stays open
                break
        if node_bound is not None and _flat(seen, g):
            # no progress over the last STALL_LPS LPs
            left, closed_bound = _left_open(todo, incumbent + target_gap, closed_bound)
            open_nodes += left
            break
        node = todo.pop(0)
        if node.bound <= incumbent + target_gap:
            closed_bound = max(closed_bound, node.bound)
            continue
        # (whole-cell node bounds shrink with the interval: nodes are bisected)
        boxes = _child_boxes(level, node, node_bound is not None)
        if boxes is None or lps >= max_lps or time.perf_counter() > deadline:
            open_nodes.append(node)
            continue
        for lo, hi, caps in boxes:
            child = make(lo, hi, caps, node)
            if child is not None:
                todo.append(child)
    bound = max([n.bound for n in open_nodes] + [closed_bound])
    if open_nodes:
        window = (min(n.lo for n in open_nodes), max(n.hi for n in open_nodes))
        caps: dict[int, float] = {}
        for m, _, _ in level.counts:
            caps[m] = max(n.count_ub.get(m, np.inf) for n in open_nodes)
    else:
        window = (lo0, lo0)
        caps = {}
    return LevelSearch(bound, window, caps, open_nodes, lps, time.perf_counter() - t0,
                       reused, closed_bound)


PREFETCH_LPS = 8
"""Most LPs :meth:`LevelPrefetch.ahead` solves unless told otherwise."""
STOP_POLL = 0.05
"""Seconds between :meth:`LevelPrefetch.stop`'s looks at the thread it waits for (a Ctrl-C
there is raised within this)."""


@dataclass
class _Solved:
    """One LP of the memo: its inputs as compared, and its outcome."""

    lb: bytes
    ub: bytes
    rows: tuple[Any, ...]
    basis: Any  # the start basis object itself (compared by identity)
    state: Any
    out: Any


@dataclass
class _Bound:
    """One node bound of the memo: its inputs (the LP outcome object itself, compared by
    identity and kept alive here, and the node's auxiliary bounds), its value once
    ``done`` is set, and whether its computation failed (then it is computed again)."""

    lp: Any
    lb: bytes
    ub: bytes
    done: threading.Event = field(default_factory=threading.Event)
    value: float | None = None
    failed: bool = False


def _rows_key(rows: list[RowBlock] | None) -> tuple[Any, ...]:
    """The content of appended RowBlocks, comparable with ``==`` (matrix, sides)."""
    key = []
    for b in rows or []:
        A = b.A.tocsr()
        key.append((A.shape, A.indptr.tobytes(), A.indices.tobytes(), A.data.tobytes(),
                    np.asarray(b.lower, float).tobytes(), np.asarray(b.upper, float).tobytes()))
    return tuple(key)


class LevelPrefetch:
    """The LPs of :func:`level_bounds` solved ahead of the search, and the memo it takes them
    from (pass :meth:`solve_lp` to :func:`level_bounds` in place of the plain ``solve_lp``).

    The search uses the incumbent only to decide which nodes it closes (a node's bound at most
    ``incumbent + target_gap``, before or after its LP) and whether a node gets cut rounds and
    a whole-cell bound; a node's LP itself — its auxiliary bounds, rows and start basis — does
    not depend on it. From the root, with node bounds (``bisect``: nodes are bisected,
    :func:`_bisect`) or without (:func:`_split`), the nodes on the path of the root's optimum
    take their parent's optimum (:func:`_parent_optimum`) and cost no LP; every sibling off
    that path needs one, from its parent's basis, and the search, best bound first, expands
    that path first. :meth:`plan` lists those LPs in that order and :meth:`ahead` solves them,
    skipping a node whose ``rank(aux_lb, aux_ub)`` (the search's bound before the node's LP,
    e.g. the root's whole-cell curve over its interval) is at most a ``floor`` (the
    incumbent plus the tolerance, where known: the search closes such a node unsolved).
    Cut rounds are not solved ahead (their rows depend on the node's LP solution and on
    whether it stays open).

    Exact: a call ``solve_lp(aux_lb, aux_ub, rows, basis)`` is answered from the memo only when
    an LP solved ahead had identical inputs — the same bound arrays bit for bit, rows of the
    same content, the same start basis object — and ``state()`` (what else the LP solver's
    answer depends on, e.g. its number of rows) is unchanged since; every other call is
    passed on. ``solve_lp`` must answer as a function of those inputs alone (e.g. restart
    the solver from the given basis each time), so the search returns bit for bit what it
    would without the memo, whatever was solved ahead and in which order.

    Node bounds too (``bound_of``, optional): the search's own bound of a node from its LP
    (``bound_of(aux_lb, aux_ub, lp)``, e.g. the whole-cell knapsack bound under the node's
    duals, a function of those inputs alone, not of the incumbent) is computed by
    :meth:`ahead` right after each LP it solves whose optimum is above ``bound_floor``, and
    :meth:`node_bound` answers the search from it: the same LP outcome object, the same
    bound arrays bit for bit. A bound being computed in the other thread is waited for, not
    computed twice. ``bound_key`` says what ``bound_of`` was made with (its caller compares
    it before using :meth:`node_bound` in its place).

    Threads: every LP (ahead or passed on) runs under one lock, so the solver is used by one
    thread at a time; :meth:`ahead` checks ``stop`` and ``deadline`` between LPs and node
    bounds, so it may run in another thread (:meth:`start`) and is abandoned within one LP
    or bound (:meth:`stop`). Made with ``wait_rank``, it solves one LP and then waits for
    :meth:`set_rank`; with ``hold_bounds``, it computes no node bound until
    :meth:`allow_bounds` (then first those of the LPs it solved meanwhile): for a thread
    started while the main thread still runs Python that a node bound, also Python, would
    slow down (an LP runs outside the interpreter lock).
    """

    def __init__(self, spec: ModelSpec, level: Level, solve_lp: Callable[..., Any], root: Any,
                 bisect: bool = True, rank: Callable[[np.ndarray, np.ndarray], float | None]
                 | None = None, state: Callable[[], Any] | None = None,
                 bound_of: Callable[[np.ndarray, np.ndarray, Any], float | None] | None = None,
                 bound_key: Any = None, bound_floor: float = -np.inf,
                 wait_rank: bool = False, hold_bounds: bool = False):
        self.spec, self.level, self.root = spec, level, root
        self.bisect, self.rank = bisect, rank
        self.bound_of, self.bound_key, self.bound_floor = bound_of, bound_key, bound_floor
        self._bounds: list[_Bound] = []
        self._bounds_lock = threading.Lock()
        self._floor: float | None = None  # see :meth:`set_floor`
        self._ranked = threading.Event()  # see :meth:`set_rank`
        self._bounds_ok = threading.Event()  # see :meth:`allow_bounds`
        if not wait_rank:
            self._ranked.set()
        if not hold_bounds:
            self._bounds_ok.set()
        self.bounds_ahead = 0  # node bounds computed by :meth:`ahead`
        self.bound_hits = 0  # node bounds the search took from the memo
        self._solve = solve_lp
        self.state = state or (lambda: None)
        self._memo: list[_Solved] = []
        self._lock = threading.Lock()  # held while the solver runs
        self._memo_lock = threading.Lock()
        self._state_now = self.state()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._ended = threading.Event()  # set when the thread of :meth:`start` is done
        self.solved = 0  # LPs solved ahead
        self.hits = 0  # calls of the search answered from the memo

    def _find(self, lbb: bytes, ubb: bytes, rkey: tuple[Any, ...], basis: Any) -> Any:
        """The remembered outcome of an LP with these inputs in the solver's present state, or
        None."""
        with self._memo_lock:
            for e in self._memo:
                if e.basis is basis and e.lb == lbb and e.ub == ubb and e.rows == rkey and \
                        e.state == self._state_now:
                    return e.out
        return None

    def _lp(self, lb: np.ndarray, ub: np.ndarray, rows: list[RowBlock] | None, basis: Any,
            rkey: tuple[Any, ...]) -> tuple[Any, bool]:
        """The LP's outcome from the memo (True) or solved now and remembered (False). The memo
        is read without waiting for an LP being solved in another thread."""
        lbb, ubb = np.asarray(lb, float).tobytes(), np.asarray(ub, float).tobytes()
        if (out := self._find(lbb, ubb, rkey, basis)) is not None:
            return out, True
        with self._lock:
            if (out := self._find(lbb, ubb, rkey, basis)) is not None:
                return out, True  # solved meanwhile
            state = self._state_now
            out = self._solve(lb, ub, rows, basis)
            with self._memo_lock:
                self._memo.append(_Solved(lbb, ubb, rkey, basis, state, out))
                self._state_now = self.state()  # (rows the LP added change it)
            return out, False

    def solve_lp(self, aux_lb: np.ndarray, aux_ub: np.ndarray, rows: list[RowBlock] | None,
                 basis: Any) -> Any:
        """``solve_lp`` of :func:`level_bounds`: from the memo where an identical LP was solved
        ahead, else solved (and remembered)."""
        out, hit = self._lp(aux_lb, aux_ub, rows, basis, _rows_key(rows))
        self.hits += hit
        return out

    def set_rank(self, rank: Callable[[np.ndarray, np.ndarray], float | None] | None) -> None:
        """Rank the LPs :meth:`ahead` has still to solve by ``rank`` (see :meth:`ahead`)."""
        self.rank = rank
        self._ranked.set()

    def set_floor(self, floor: float) -> None:
        """The incumbent plus the tolerance, once known: :meth:`ahead` (running or not) skips
        the LPs and bounds below it from now on, as for its own ``floor``."""
        self._floor = floor

    def allow_bounds(self) -> None:
        """Let :meth:`ahead` compute node bounds from now on."""
        self._bounds_ok.set()

    def node_bound(self, aux_lb: np.ndarray, aux_ub: np.ndarray, lp: Any) -> float | None:
        """``bound_of(aux_lb, aux_ub, lp)``: from the memo where it was computed for the same
        LP outcome object and bounds (waiting for it while another thread computes it), else
        computed now (and remembered)."""
        value, hit = self._bound(aux_lb, aux_ub, lp)
        self.bound_hits += hit
        return value

    def _bound(self, aux_lb: np.ndarray, aux_ub: np.ndarray, lp: Any) -> tuple[float | None,
                                                                                bool]:
        """The node bound and whether it came from the memo (computed, or being computed, by
        another call)."""
        assert self.bound_of is not None
        lbb, ubb = np.asarray(aux_lb, float).tobytes(), np.asarray(aux_ub, float).tobytes()
        while True:
            with self._bounds_lock:
                found = next((e for e in self._bounds if e.lp is lp and e.lb == lbb and
                              e.ub == ubb and not e.failed), None)
                mine = found is None
                if mine:
                    found = _Bound(lp, lbb, ubb)
                    self._bounds.append(found)
            if mine:
                try:
                    found.value = self.bound_of(aux_lb, aux_ub, lp)
                except BaseException:
                    found.failed = True
                    raise
                finally:
                    found.done.set()
                return found.value, False
            while not found.done.wait(STOP_POLL):  # (a Ctrl-C is raised within a slice)
                pass
            if not found.failed:
                return found.value, True

    def plan(self) -> list[tuple[np.ndarray, np.ndarray, LevelNode]]:
        """The node LPs the search would solve first, in its order, as ``(aux_lb, aux_ub,
        parent)``: down the path of the root's optimum (each node's child that holds its
        parent's optimum costs no LP), the sibling off the path at each depth, and both
        children where the path ends (no child holds the optimum). No LP is solved."""
        spec, level, root = self.spec, self.level, self.root
        if root is None or root.status != "optimal" or root.x is None:
            return []
        n_x = spec.n_x
        j = level.col - n_x
        z = float(root.objective)
        path: LevelNode | None = LevelNode(float(spec.aux_lb[j]), float(spec.aux_ub[j]), {}, z,
                                           root.basis, root.x, root.col_dual, lp_bound=z,
                                           lp=root)
        out: list[tuple[np.ndarray, np.ndarray, LevelNode]] = []
        while path is not None:
            parent = path
            parent_box = _node_box(spec, level, parent.lo, parent.hi, parent.count_ub)
            path = None
            for lo, hi, caps in _child_boxes(level, parent, self.bisect) or []:
                lb, ub = _node_box(spec, level, lo, hi, caps)
                if np.any(lb > ub + 1e-12):
                    continue
                lp = _parent_optimum(parent, n_x, lb, ub, *parent_box)
                if lp is None:
                    out.append((lb, ub, parent))
                elif path is None:
                    obj = float(lp.objective)
                    path = LevelNode(lo, hi, caps, obj, lp.basis, lp.x, lp.col_dual,
                                     parent.cuts, obj, lp)
        return out

    def ahead(self, stop: Callable[[], bool] | None = None, deadline: float = np.inf,
              max_lps: int = PREFETCH_LPS, floor: float | None = None) -> int:
        """Solve up to ``max_lps`` LPs of :meth:`plan` until ``stop()`` is true or ``deadline``
        (a ``time.perf_counter()`` value) passes. With a ``floor`` (the incumbent plus the
        tolerance) in the plan's order, skipping a node whose ``rank`` is at most ``floor`` (the
        search closes it without its LP); without one (no incumbent yet) best ``rank`` first
        (the lowest are the likeliest to be closed unsolved). ``rank`` is read before each
        LP: set while this runs (e.g. once the curve that ranks is built), it orders the LPs
        still to solve. With ``bound_of``, each LP is followed by its node bound where its
        optimum is above ``floor`` and ``bound_floor`` (below, its LP closes the node: the
        search asks for no bound). The floor of :meth:`set_floor`, once set, counts as well.
        Returns how many LPs were solved."""
        todo = list(enumerate(self.plan()))
        done = 0
        given = floor
        due: list[tuple[np.ndarray, np.ndarray, Any]] = []  # solved, its bound not yet

        def halted() -> bool:
            return self._halt.is_set() or (stop is not None and stop()) or \
                time.perf_counter() > deadline

        while not halted():
            floor = given if self._floor is None else \
                self._floor if given is None else max(given, self._floor)
            low = max(self.bound_floor, -np.inf if floor is None else floor)
            due = [d for d in due if float(d[2].objective) > low]
            if due and self._bounds_ok.is_set():
                lb, ub, out = due.pop(0)
                _, known = self._bound(lb, ub, out)
                self.bounds_ahead += not known
                continue
            if not todo or done >= max_lps:
                if not due:
                    break
                self._bounds_ok.wait(STOP_POLL)  # (the LPs are done; their bounds wait)
                continue
            if done and not self._ranked.is_set():
                self._ranked.wait(STOP_POLL)
                continue
            rank, keyed = self.rank, []
            for i, (k, (lb, ub, _)) in enumerate(todo):
                r = rank(lb, ub) if rank is not None else None
                if floor is not None and r is not None and r <= floor:
                    continue
                keyed.append((0.0 if floor is not None or r is None else -r, k, i))
            if not keyed:
                todo = []
                continue
            i = min(keyed)[2]
            _, (lb, ub, parent) = todo.pop(i)
            rows = list(parent.cuts)
            out, hit = self._lp(lb, ub, rows, parent.basis, _rows_key(rows))
            done += not hit
            self.solved += not hit
            if self.bound_of is not None and getattr(out, "status", None) == "optimal" and \
                    out.objective is not None and float(out.objective) > low:
                due.append((lb, ub, out))
        return done

    def start(self, deadline: float = np.inf, max_lps: int = PREFETCH_LPS,
              floor: float | None = None) -> None:
        """Run :meth:`ahead` in a thread of its own (daemon) until :meth:`stop`."""
        if self._thread is not None:
            return
        self._halt.clear()
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._ahead_then_end,
                                        kwargs={"deadline": deadline, "max_lps": max_lps,
                                                "floor": floor},
                                        name="level-prefetch", daemon=True)
        self._thread.start()

    def _ahead_then_end(self, **kwargs: Any) -> None:
        try:
            self.ahead(**kwargs)
        finally:
            self._ended.set()

    @property
    def thread(self) -> threading.Thread | None:
        """The thread of :meth:`start` until :meth:`stop` has seen it end (else None)."""
        return self._thread

    def halt(self) -> None:
        """Ask :meth:`ahead` to stop after the LP or node bound in progress, without waiting
        (:meth:`stop` waits, and lets a later :meth:`start` run again)."""
        self._halt.set()

    def stop(self) -> None:
        """Stop :meth:`ahead` after the LP it is solving, and wait for that LP. The wait is
        on an event, in slices, not in ``Thread.join``: a Ctrl-C there is raised at once,
        and CPython's join, interrupted, can mark a thread that still runs as ended. Raised
        so, the thread (still solving) stays in :attr:`thread`, alive until its LP ends; a
        later ``stop`` waits for it again."""
        self._halt.set()
        if self._thread is not None:
            while not self._ended.wait(STOP_POLL):
                pass
            self._thread.join()  # past its last statement: at once
            self._thread = None
        self._halt.clear()


def _node_box(spec: ModelSpec, level: Level, lo: float, hi: float, caps: dict[int, float]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The auxiliary bounds of a level-search node: the level in ``[lo, hi]``, each count
    column ``m`` at most ``caps[m]``, every other auxiliary at its bounds in ``spec``."""
    n_x = spec.n_x
    lb = spec.aux_lb.copy()
    ub = spec.aux_ub.copy()
    j = level.col - n_x
    lb[j], ub[j] = lo, hi
    for m, cap in caps.items():
        ub[m - n_x] = min(ub[m - n_x], cap)
    return lb, ub


def _child_boxes(level: Level, node: LevelNode, bisect: bool
                 ) -> list[tuple[float, float, dict[int, float]]] | None:
    """The children ``(lo, hi, count caps)`` of ``node`` in :func:`level_bounds`, lower first,
    or None where it is not split: at ``t`` of :func:`_bisect` (``bisect``: the search has
    whole-cell node bounds) or else of :func:`_split`; below ``t`` every count is capped at
    ``⌊(c·t + u)/d⌋`` (and a crossing count at its floor), above it keeps the node's caps.
    A child with an empty interval is left out."""
    split = _bisect(level, node) if bisect else None
    if split is None and node.x is not None:
        split = _split(level, node)
    if split is None:
        return None
    t, crossing = split
    left_caps = {**node.count_ub}
    for m, cap in _count_caps(level, t).items():
        left_caps[m] = min(left_caps.get(m, np.inf), cap)
    if crossing is not None:  # strictly below t that count is one lower
        left_caps[crossing[0]] = min(left_caps.get(crossing[0], np.inf), crossing[1])
    return [(lo, hi, caps) for lo, hi, caps in ((node.lo, t, left_caps),
                                                (t, node.hi, dict(node.count_ub)))
            if hi >= lo]


def _left_open(nodes: list[LevelNode], closed_at: float, closed_bound: float
               ) -> tuple[list[LevelNode], float]:
    """The nodes a stopped search leaves open, and its closed bound: a node closed before its
    LP (its whole-cell bound at most ``closed_at``, no LP solution) is closed as the search
    would have closed it on reaching it (its bound raises ``closed_bound``); every other node
    stays open."""
    early = [n for n in nodes if n.x is None and n.lp is None and n.bound <= closed_at]
    left = [n for n in nodes if not any(n is e for e in early)]
    return left, max([closed_bound, *(n.bound for n in early)])


def _parent_optimum(parent: LevelNode, n_x: int, lb: np.ndarray, ub: np.ndarray,
                    parent_lb: np.ndarray, parent_ub: np.ndarray) -> Any:
    """The parent's LP outcome when it answers a child's LP exactly, else None.

    The child's LP is the parent's (same columns, the same rows: the parent's ``cuts``) with
    auxiliary bounds ``lb ≤ y ≤ ub``. When ``parent_lb ≤ lb`` and ``ub ≤ parent_ub`` its
    feasible set ``P_c`` lies in the parent's ``P_p``, so ``max_{P_c} c·x ≤ max_{P_p} c·x =
    c·x*``; when the parent's optimum ``x*`` also meets ``lb ≤ y* ≤ ub`` it lies in ``P_c`` and
    attains that maximum. Its basis stays optimal too: a nonbasic column sits at a parent bound
    ``y*_k = parent_lb_k`` with ``parent_lb_k ≤ lb_k ≤ y*_k``, so at the same (child) bound,
    and the reduced costs and row duals depend only on the basis and the objective — the
    parent's primal and dual solution is the child's, as a warm-started LP (0 iterations)
    would return it. The comparisons are exact, so a parent optimum a tolerance outside the
    child's bounds is re-solved."""
    out = parent.lp
    if out is None or out.status != "optimal" or out.objective is None or out.x is None:
        return None
    if np.any(lb < parent_lb) or np.any(ub > parent_ub):
        return None
    y = np.asarray(out.x)[n_x: n_x + len(lb)]  # the auxiliary columns (x, then auxiliaries)
    if np.any(y < lb) or np.any(y > ub):
        return None
    return out


def _flat(seen: list[tuple[int, float]], g: float) -> bool:
    """Whether the search's bound ``g`` is no lower than it was :data:`STALL_LPS` LPs ago."""
    lps_now = seen[-1][0]
    before = [b for n, b in seen if n <= lps_now - STALL_LPS]
    return bool(before) and g >= before[-1] - 1e-9 * max(1.0, abs(g))


BISECT_MIN_WIDTH = 1e-6
"""Relative width below which a level interval is no longer bisected."""


def _bisect(level: Level, node: LevelNode) -> tuple[float, None] | None:
    """Where to split a node when its bound knows whole cells: the middle of a finite
    interval; of ``[lo, ∞)`` the level ``v*·17/16`` just above its LP level ``v*`` (the LP
    prefers the lowest level it can have, so a wide finite part would hold it and keep the
    LP's bound). None when the interval is too narrow."""
    lo, hi = node.lo, node.hi
    if np.isfinite(hi):
        t = 0.5 * (lo + hi)
    else:
        if node.x is None:
            return None
        v = max(float(node.x[level.col]), lo)
        t = v + max(abs(v) / 16.0, 1e-9)
    if not lo < t < hi or t - lo <= BISECT_MIN_WIDTH * max(1e-12, abs(t)):
        return None
    return float(t), None


def _split(level: Level, node: LevelNode) -> tuple[float, tuple[int, float] | None] | None:
    """Where to split a node: the smallest level above the LP level ``v*`` at which a count
    with a fractional LP value steps up (with that count and its bound below the split);
    else the smallest level in (v*, hi) at which any count's cap steps up; else None."""
    x = node.x
    assert x is not None
    v = float(x[level.col])
    above = v + 1e-9 * max(1.0, abs(v))
    frac, step = None, None
    for m, k, d in level.counts:
        row = level.rows[k]
        mv = x[m]
        if mv - np.floor(mv) > 1e-6 and np.ceil(mv) - mv > 1e-6:
            t = (d * np.ceil(mv) - row.u) / row.c
            if node.lo < t <= node.hi and t > above and (frac is None or t < frac[0]):
                frac = (float(t), (m, float(np.floor(mv))))
        k_next = np.floor((row.c * v + row.u) / d + 1e-9) + 1
        t = (d * k_next - row.u) / row.c
        if node.lo < t < node.hi and t > above and (step is None or t < step):
            step = float(t)
    if frac is not None:
        return frac
    if step is not None:
        return step, None
    return None




KNAPSACK_GRID = 100_000
"""Most capacity steps a region's knapsack table may have (see :func:`knapsack_level_bound`)."""
KNAPSACK_WORK = 5e9
"""Most table entries times options the dynamic programming may visit (≈ seconds / 1e9)."""
KEEP_ROW_GROUPS = True
"""Whether the whole-cell knapsack bounds keep the rows over few units of one region as
constraints (``groups`` of :func:`knapsack_level_curve`) when their caller does not say; with
it, :func:`knapsack_losses` fixes nothing (its losses belong to the bound without groups).
On by default: on the demo area it lowers the bound by about 4 points (the peak level
window's 1,628,186.73 -> 1,628,182.46, below the allocation plus its decision tolerance) for
about 1 s more per curve (``benchmarks/small.py --no-groups`` leaves them out)."""
KNAPSACK_DUAL_TOL = 1e-7
"""Reduced costs of auxiliaries this small count as zero (the LP's dual feasibility
tolerance; the LP bound itself holds only to it)."""


def _grid_step(weights: np.ndarray, total: float) -> float:
    """The coarsest step ``2^-k`` (k = 0..6) all ``weights`` are whole multiples of, made
    coarser if the table would exceed :data:`KNAPSACK_GRID` steps."""
    step = 1.0 / 64
    for k in range(7):
        s = 2.0 ** -k
        q = weights / s
        if np.all(np.abs(q - np.rint(q)) <= 1e-9 * np.maximum(1.0, q)):
            step = s
            break
    return max(step, total / KNAPSACK_GRID)


def _unit_groups(units: np.ndarray, *arrays: np.ndarray) -> tuple[list[int], list[list[Any]]]:
    """``arrays`` sorted by unit (stable), as Python lists, with the start of every unit's run
    (and the end): the options of one unit are ``lists[k][starts[i]:starts[i + 1]]``."""
    order = np.argsort(units, kind="stable")
    u = units[order]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]]) if u.size else np.empty(0, np.int64)
    return [*starts.tolist(), int(u.size)], [a[order].tolist() for a in arrays]


def _hull_segments(units: np.ndarray, q: np.ndarray, g: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the segments of the upper concave hull of its options ``(q, g)`` and
    ``(0, 0)`` (gift wrapping from the origin: the steepest next point, as long as it rises),
    unit after unit in increasing order. A unit of one option ``(q, g)`` has the one segment
    ``(q, g)`` where ``q > 0`` and ``g / q > 0``, and none otherwise (taken all at once)."""
    qf = q.astype(float)
    order = np.argsort(units, kind="stable")
    u = units[order]
    if not u.size:
        return np.empty(0), np.empty(0)
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    count = np.diff(np.r_[starts, u.size])
    one = order[starts[count == 1]]
    keep = (qf[one] > 0) & ((g[one] - 0.0) / np.where(qf[one] > 0, qf[one], 1.0) > 0.0)
    pos = [np.flatnonzero(count == 1)[keep].astype(float)]  # (the unit's rank: the order)
    parts_q, parts_g = [qf[one][keep]], [np.asarray(g, float)[one][keep]]
    seg_q, seg_g, seg_pos = _hull_segments_loop(order, qf, g, starts, count)
    pos.append(seg_pos)
    parts_q.append(seg_q)
    parts_g.append(seg_g)
    at = np.concatenate(pos)
    o = np.argsort(at, kind="stable")  # (a unit's own segments keep their order)
    return np.concatenate(parts_q)[o], np.concatenate(parts_g)[o]


def _hull_segments_loop(order: np.ndarray, qf: np.ndarray, g: np.ndarray, starts: np.ndarray,
                        count: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_hull_segments` of the units of several options, one at a time, with each
    segment's unit rank."""
    seg_q: list[float] = []
    seg_g: list[float] = []
    seg_pos: list[float] = []
    qs, gs = qf[order].tolist(), np.asarray(g, float)[order].tolist()
    for rank in np.flatnonzero(count > 1).tolist():
        a = int(starts[rank])
        b = a + int(count[rank])
        pts = sorted(zip(qs[a:b], gs[a:b], strict=True))
        pq, pg = 0.0, 0.0
        while True:
            best, nxt = 0.0, None
            for qq, gg in pts:
                if qq > pq:
                    slope = (gg - pg) / (qq - pq)
                    if slope > best:
                        best, nxt = slope, (qq, gg)
            if nxt is None:
                break
            seg_q.append(nxt[0] - pq)
            seg_g.append(nxt[1] - pg)
            seg_pos.append(rank)
            pq, pg = nxt
    return np.asarray(seg_q, float), np.asarray(seg_g, float), np.asarray(seg_pos, float)


def _region_options(units: np.ndarray, w: np.ndarray, d: np.ndarray, s: float
                    ) -> dict[str, Any]:
    """One region's knapsack options at grid step ``s``: column ``j`` of unit ``k`` uses
    ``q_j = ⌊w_j / s⌋`` steps (rounded down: a relaxation). Each unit's free choice is its
    best column of no whole step, ``f_k = max {d_j : q_j = 0}``, summed into ``free``; the
    options are the columns with ``q_j > 0`` that gain ``g_j = d_j − f_k > 0`` over it
    (``all_*``: every column, for a coarser step)."""
    q = np.floor(w / s + 1e-9).astype(np.int64)
    rs, inv = np.unique(units, return_inverse=True)
    f = np.full(rs.size, -np.inf)
    zero = q == 0
    np.maximum.at(f, inv[zero], d[zero])
    g = d - f[inv]
    opt = np.flatnonzero((q > 0) & (g > 0))
    opt = opt[_undominated(units[opt], q[opt], g[opt])]
    return {"s": s, "units": units[opt], "q": q[opt], "g": g[opt], "w": w[opt],
            "free": float(f.sum()), "all_units": units, "all_w": w, "all_d": d}


def _undominated(units: np.ndarray, q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Indices of the options no other option of the same unit dominates (one with no more
    steps and at least the gain; of equal ones the first): a multiple-choice knapsack never
    needs a dominated option, so its table is the same without them."""
    o = np.lexsort((-g, q, units))
    u, gs = units[o], g[o]
    best_before = np.full(o.size, -np.inf)  # the best gain of the unit's lighter options
    if o.size > 1:
        best_before[1:] = np.where(u[1:] == u[:-1], _prefix_max(u, gs)[:-1], -np.inf)
    return np.sort(o[gs > best_before])


def _knapsack_table(units: np.ndarray, q: np.ndarray, g: np.ndarray, k_max: int) -> np.ndarray:
    """``F(κ)``, κ = 0..k_max: the best total gain of options ``(q, g)`` (whole steps, gain)
    with total steps at most κ and at most one option per unit (a multiple-choice knapsack,
    by dynamic programming over the units)."""
    f_tab = np.zeros(k_max + 1)
    bounds, (qs, gs) = _unit_groups(units, q, g)
    for a, b in pairwise(bounds):
        if b - a == 1:  # one option: the right side is evaluated before the write
            qi = qs[a]
            if qi <= k_max:
                np.maximum(f_tab[qi:], f_tab[: k_max + 1 - qi] + gs[a], out=f_tab[qi:])
            continue
        new = f_tab.copy()
        for qi, gi in zip(qs[a:b], gs[a:b], strict=True):
            if qi <= k_max:
                np.maximum(new[qi:], f_tab[: k_max + 1 - qi] + gi, out=new[qi:])
        f_tab = new
    return f_tab


def knapsack_level_bound(spec: ModelSpec, level: Level, row_dual: np.ndarray,
                         incumbent: float, groups: bool | None = None) -> float | None:
    """An upper bound on every integer allocation of ``spec`` that knows whole cells: each
    of the level's regions is an exact knapsack (see :func:`knapsack_level_curve`), the
    bound maximised over the level's whole range. None where the structure does not hold."""
    curve = knapsack_level_curve(spec, level, row_dual, incumbent, groups=groups)
    if curve is None:
        return None
    j = level.col - spec.n_x
    return curve(float(spec.aux_lb[j]), float(spec.aux_ub[j]))


STRUCTURE_CACHE_SIZE = 4
"""Models (by their rows) whose structure a level keeps (see :func:`_structure`)."""


def _structure(spec: ModelSpec, level: Level) -> dict[Any, Any]:
    """What the whole-cell bounds of ``level`` need of ``spec`` that no dual and no bound of
    the level changes: the stacked coupling rows, the level's rows among them, its regions and
    its groups — the same for every node of the level search (whose models differ from the
    root's in their auxiliary bounds alone) and every price vector. Kept on the level per
    model rows (the identity of ``spec``'s coupling blocks, its unit of each column and its
    sizes; the entry holds those objects, so no other can take their identities while it is
    kept), the latest :data:`STRUCTURE_CACHE_SIZE` of them; filled as first asked. Its arrays
    are read-only: a caller that changed one would change every later bound. Safe to call from
    several threads (:data:`_STRUCTURE_LOCK`)."""
    key = (tuple(id(b) for b in spec.coupling), id(spec.col_unit), spec.n_x, spec.n_cols,
           spec.n_units)
    with _STRUCTURE_LOCK:
        for i, (k, _, found) in enumerate(level.cache):
            if k == key:
                if i:
                    level.cache.insert(0, level.cache.pop(i))
                return found
        found = {}
        level.cache.insert(0, (key, (tuple(spec.coupling), spec.col_unit), found))
        del level.cache[STRUCTURE_CACHE_SIZE:]
        return found


_STRUCTURE_LOCK = threading.Lock()
"""Held while :func:`_structure` reads or reorders a level's kept entries (bounds of one level
may be computed in two threads, e.g. :meth:`LevelPrefetch.ahead` beside the solve's own
steps). The entries are filled outside it: two threads that fill the same one compute equal
values, and either is kept."""


def _frozen(*arrays: Any) -> None:
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.setflags(write=False)


def _coupling(spec: ModelSpec, level: Level) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray,
                                                         np.ndarray]:
    """``spec.coupling_matrix()`` and the level's rows in it (see :func:`_structure`)."""
    found = _structure(spec, level)
    if "coupling" not in found:
        A, lo, hi = spec.coupling_matrix()
        offsets = spec.row_offsets()
        level_rows = np.array([offsets[r.block][0] - spec.n_units + r.row
                               for r in level.rows], np.int64)
        _frozen(lo, hi, level_rows)
        found["coupling"] = (A, lo, hi, level_rows)
    return found["coupling"]


def _level_duals(spec: ModelSpec, level: Level, row_dual: np.ndarray
                 ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray] | None:
    """The coupling rows ``A``, their bounds ``lo``/``hi`` and the duals ``y`` that price them
    in a whole-cell knapsack bound: ``row_dual``'s coupling part with the level's own rows set
    to 0 (they become the knapsacks) and a dual on a row's infinite side set to 0 (it would
    price a bound that does not exist). None when the duals do not match the rows. (``A``,
    ``lo`` and ``hi`` are the level's kept ones: not to be changed.)"""
    A, lo, hi, level_rows = _coupling(spec, level)
    y = np.asarray(row_dual, float)[spec.n_units:].copy()
    if y.size != A.shape[0]:
        return None
    y[level_rows] = 0.0
    y[(y > 0) & ~np.isfinite(hi)] = 0.0
    y[(y < 0) & ~np.isfinite(lo)] = 0.0
    return A, lo, hi, y


def _level_regions(spec: ModelSpec, level: Level
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """Per binary column its weight ``a_j`` (in the level row it sits in, 0 in none), and per
    unit its region (that row's index, −1 for none): ``(weight, unit_region)``. None when a
    column sits in two level rows or a unit's weighted columns lie in different regions (no
    separate knapsack per region). Kept on the level (see :func:`_structure`): read-only."""
    found = _structure(spec, level)
    if "regions" not in found:
        found["regions"] = _regions(spec, level)
        if found["regions"] is not None:
            _frozen(*found["regions"])
    return found["regions"]


def _regions(spec: ModelSpec, level: Level) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_level_regions`, computed."""
    n_x = spec.n_x
    unit = spec.col_unit
    weight = np.zeros(n_x)
    region = np.full(n_x, -1, np.int64)
    for r, row in enumerate(level.rows):
        if np.any(region[row.cols] >= 0):
            return None
        region[row.cols] = r
        weight[row.cols] = row.a
    u_reg = np.full(spec.n_units, -1, np.int64)
    has = region >= 0
    np.maximum.at(u_reg, unit[has], region[has])
    chk = np.full(spec.n_units, np.iinfo(np.int64).max)
    np.minimum.at(chk, unit[has], region[has])
    if np.any((u_reg >= 0) & (chk != u_reg)):
        return None
    return weight, u_reg


def knapsack_level_curve(spec: ModelSpec, level: Level, row_dual: np.ndarray,
                         incumbent: float, max_work: float = KNAPSACK_WORK,
                         groups: bool | None = None, window_only: bool = False
                         ) -> Callable[[float, float], float] | None:
    """The whole-cell knapsack bound as a function of an interval of the level:
    ``curve(lo, hi)`` bounds every integer allocation of ``spec`` whose level lies in
    ``[lo, hi]`` (the tables are built once; an interval costs a lookup).

    Let ``y`` be the LP's row duals (``row_dual``, assignment rows first, over ``spec``'s rows)
    and keep the assignment rows and the level's own rows ``Σ_j a_j x_j − c_r v ≤ u_r`` as
    constraints; every other row ``lo ≤ A x ≤ hi`` is moved into the objective (Lagrangian
    relaxation): for every feasible ``x`` with ``t = A x ∈ [lo, hi]``

        c·x = (c − Aᵀy)·x + y·t ≤ d·x + Σ_r max(y_r lo_r, y_r hi_r),    d = c − Aᵀy,

    for *any* ``y`` (a side that is infinite gets ``y_r = 0``). What remains separates: each
    auxiliary other than the level takes the better of its bounds under ``d``; each unit
    outside the level's rows its best ``d``; and for a level value ``v`` each region ``r``
    is a multiple-choice knapsack over its units — unit ``k`` takes one column, column ``j``
    uses ``a_j`` of the capacity ``c_r v + u_r`` and earns ``d_j``. Measured from each unit's
    lightest column (``m_k = min_j a_j``, capacity less ``M_r = Σ_k m_k``) and in whole grid
    steps ``s`` (weights rounded *down*, which only relaxes), dynamic programming gives the
    exact value ``F_r(κ)`` of every capacity ``κ``. Then

        bound = max_v  Σ_r F_r(⌊(c_r v + u_r − M_r)/s⌋) + d_v v + constant.

    ``F_r`` steps up only at whole steps, so the maximum is at the lower end of a window or
    at one of those steps. Outside the window ``[v_lo, v_hi]`` the fractional knapsacks
    (each column a separate item — a further relaxation, concave in ``v``) bound the
    function, and the window is widened until they fall to the incumbent there.

    With the LP's optimal duals and fractional knapsacks this is the LP bound; with whole
    cells it is lower by what the LP gains by filling every binding region to the level with
    a fraction of a cell (the gap of a minimax over whole cells). Returns None where the
    structure does not hold (a unit in two of the level's rows, an auxiliary with a positive
    reduced cost and no bound) or the tables would take too long (``max_work``, by default
    :data:`KNAPSACK_WORK`). A table longer than :data:`KNAPSACK_GRID` steps is built at a
    coarser step instead (weights rounded down, options lighter than the step free: a
    relaxation), and options another option of the same unit dominates are left out (which
    changes no table entry).

    ``groups`` (default :data:`KEEP_ROW_GROUPS`): keep the rows over few units of one region
    as constraints too (their
    multipliers zero), each such row's units one unit of its region's knapsack whose options
    are the group's best values per total weight (:mod:`~ruimteverdeling.model.row_groups`).
    Still a bound for any multipliers; the curve's ``capacity_losses`` are then zero, and
    :func:`knapsack_losses` (relative to the bound *without* groups) must not be paired with
    this lower bound. With the level unbounded above, the groups are kept only up to the top
    of the exact window of the curve without them (:func:`_grouped_below_window`): a group's
    table would otherwise span every weight up to
    :data:`~ruimteverdeling.model.row_groups.MAX_STATES` states at the region's own step (on
    the demo area's root curve 23 s instead of about 2 s).

    ``window_only``: stop before the exact tables and return the fractional knapsacks'
    function alone (a weaker bound, the same ``window``): its supremum over ``[lo, hi]``
    is at the point of the interval nearest its maximiser ``v_0`` (concave).

    For an interval ``[lo, hi]``: the steps of the tables inside it and its two ends (the
    function is a constant plus ``d_v v`` between steps, so these hold its supremum); the
    parts outside the window, where the relaxed function is monotone (concave, its maximiser
    inside the window), at their end nearest the window.
    """
    n_x = spec.n_x
    j_level = level.col - n_x
    groups = KEEP_ROW_GROUPS if groups is None else groups
    if groups and not np.isfinite(spec.aux_ub[j_level]):
        return _grouped_below_window(spec, level, row_dual, incumbent, max_work)
    priced = _level_duals(spec, level, row_dual)
    if priced is None:
        return None
    A, lo, hi, y = priced
    # columns of the level's rows: weight and region per column
    regions = _level_regions(spec, level)
    if regions is None:
        return None
    weight, u_reg = regions
    kept: list[row_groups.Group] = []
    if groups:  # rows over few units kept as constraints (their multipliers zero)
        kept = _level_groups(spec, level, A, lo, hi, u_reg)
        for gr in kept:
            y[gr.zeroed] = 0.0
    group_aux = {gr.aux for gr in kept if gr.aux is not None}
    const = spec.obj_offset + float(np.where(y > 0, y * np.where(np.isfinite(hi), hi, 0.0),
                                             y * np.where(np.isfinite(lo), lo, 0.0)).sum())
    d = spec.obj - A.T @ y
    # auxiliaries other than the level (and the kept rows'): each at its better bound
    for k in range(n_x, spec.n_cols):
        if k == level.col or k in group_aux:
            continue
        dk, lb, ub = d[k], spec.aux_lb[k - n_x], spec.aux_ub[k - n_x]
        if abs(dk) <= KNAPSACK_DUAL_TOL * max(1.0, abs(spec.obj[k])):
            dk = 0.0
        if dk > 0:
            if not np.isfinite(ub):
                return None
            const += dk * ub
        elif dk < 0:
            if not np.isfinite(lb):
                return None
            const += dk * lb
    d_v = float(d[level.col])
    unit = spec.col_unit
    n_units = spec.n_units
    in_reg = u_reg[unit] >= 0
    grouped = np.zeros(n_units, bool)
    for gr in kept:
        grouped[gr.units] = True
    # units outside every row (and every kept row): their best column
    best_any = np.full(n_units, -np.inf)
    np.maximum.at(best_any, unit, d[:n_x])
    const += float(best_any[(u_reg < 0) & ~grouped].sum())
    # units in a region: weights above the unit's lightest column, in grid steps
    m_unit = np.full(n_units, np.inf)
    np.minimum.at(m_unit, unit[in_reg], weight[in_reg])
    extra = np.where(in_reg, weight - m_unit[unit], 0.0)
    extra = np.maximum(extra, 0.0)
    n_r = len(level.rows)
    cap_c = np.array([row.c for row in level.rows])
    cap_u = np.array([row.u for row in level.rows])
    m_r = np.zeros(n_r)
    np.add.at(m_r, u_reg[u_reg >= 0], m_unit[u_reg >= 0])
    # the level's range to cover: its bounds
    v_lb = float(spec.aux_lb[level.col - n_x])
    v_ub = float(spec.aux_ub[level.col - n_x])
    tables = []
    for r in range(n_r):
        cols = np.flatnonzero(in_reg & (u_reg[unit] == r))
        step = _grid_step(extra[cols], 1.0)  # exact where the weights allow
        units_r, w_r, d_r = unit[cols], extra[cols], d[cols]
        mine = [(i, gr) for i, gr in enumerate(kept) if gr.region == r]
        if mine:
            loose = ~grouped[units_r]
            parts_u, parts_w, parts_d = [units_r[loose]], [w_r[loose]], [d_r[loose]]
            cap = (cap_c[r] * v_ub + cap_u[r] - m_r[r]) / step
            w_cap = int(np.floor(cap + 1e-9)) if np.isfinite(cap) else np.iinfo(np.int64).max
            # a group's weights in coarser whole steps (rounded down: a relaxation)
            g_step = step
            if w_cap < np.iinfo(np.int64).max:
                g_cols = np.concatenate([gr.cols for _, gr in mine])
                g_step = row_groups.weight_step(extra[g_cols], step,
                                                int(w_cap // row_groups.WEIGHT_STEPS))
            for i, gr in mine:
                vals = _group_values(spec, gr, extra, d, g_step,
                                     int(w_cap * step // g_step) if g_step > step else w_cap)
                if vals is None:
                    return None
                ok = np.flatnonzero(np.isfinite(vals))
                # measured from its lightest choice, as every unit is (the region's fixed
                # load grows by that choice's weight)
                m_r[r] += ok[0] * g_step
                parts_u.append(np.full(ok.size, n_units + i))
                parts_w.append((ok - ok[0]) * g_step)
                parts_d.append(vals[ok])
            units_r, w_r, d_r = (np.concatenate(parts_u), np.concatenate(parts_w),
                                 np.concatenate(parts_d))
        t = _region_options(units_r, w_r, d_r, step)
        const += t["free"]
        t["cols"] = cols
        tables.append(t)
    for gr in kept:
        if gr.region < 0:  # a group outside every region: its best choice
            vals = _group_values(spec, gr, extra, d, 1.0, 0)
            if vals is None:
                return None
            const += float(np.max(vals))

    def capacity(r: int, v: np.ndarray) -> np.ndarray:
        return (cap_c[r] * v + cap_u[r] - m_r[r]) / tables[r]["s"]

    def relaxed(r: int, kappa: float) -> float:
        """The LP relaxation of region r's knapsack (≥ the exact one): per unit the upper
        concave hull of its options and (0, 0), its segments taken by slope."""
        t = tables[r]
        if kappa < 0:
            return -np.inf
        if "cq" not in t:
            seg_q, seg_g = _hull_segments(t["units"], t["q"], t["g"])
            sq_, sg_ = np.asarray(seg_q), np.asarray(seg_g)
            o = np.argsort(-sg_ / np.maximum(sq_, 1e-300), kind="stable")
            t["sq"], t["sg"] = sq_[o], sg_[o]
            t["cq"], t["cg"] = np.cumsum(t["sq"]), np.cumsum(t["sg"])
        cq, cg = t["cq"], t["cg"]
        i = int(np.searchsorted(cq, kappa, side="right"))
        val = float(cg[i - 1]) if i > 0 else 0.0
        if i < cq.size:
            val += float(t["sg"][i]) * (kappa - (cq[i - 1] if i > 0 else 0.0)) / \
                float(t["sq"][i])
        return val

    def l_relaxed(v: float) -> float:
        return sum(relaxed(r, float(capacity(r, np.array(v)))) for r in range(n_r)) + \
            d_v * v + const

    # the relaxed function is concave in v: its maximiser by ternary search, up to the level
    # at which every region's options all fit (beyond it the function is linear in v)
    sat = max([float((t["q"].sum() * t["s"] + m_r[r] - cap_u[r]) / cap_c[r])
               for r, t in enumerate(tables)] + [v_lb])
    if d_v >= 0 and not np.isfinite(v_ub):
        return None
    # below v_min some region cannot hold its units' lightest columns: no allocation there
    v_lb = max(v_lb, max(float((m_r[r] - cap_u[r]) / cap_c[r]) for r in range(n_r)))
    if v_lb > v_ub:
        return lambda lo, hi: -np.inf
    a_, b_ = v_lb, min(v_ub, max(sat, v_lb))
    for _ in range(200):
        if b_ - a_ <= 1e-12 * max(1.0, abs(b_)):
            break
        m1, m2 = a_ + (b_ - a_) / 3, b_ - (b_ - a_) / 3
        if l_relaxed(m1) < l_relaxed(m2):
            a_ = m1
        else:
            b_ = m2
    v0 = a_
    if d_v >= 0:
        v0 = v_ub  # (finite) the function does not decrease beyond saturation
    width = max(abs(v0), 1e-6) * 1e-3
    v_lo, v_hi = v0, v0
    for _ in range(40):
        if v_lo <= v_lb or l_relaxed(v_lo) <= incumbent:
            break
        v_lo = max(v_lb, v_lo - width)
        width *= 2
    width = max(abs(v0), 1e-6) * 1e-3
    for _ in range(40):
        if v_hi >= v_ub or l_relaxed(v_hi) <= incumbent:
            break
        v_hi = min(v_ub, v_hi + width)
        width *= 2
    if not np.isfinite(v_hi):
        return None
    # exact tables F_r(κ) for κ up to the window's top (unless they would take too long)
    work = sum(t["q"].size * (max(0.0, float(capacity(r, np.array(v_hi)))) + 1.0)
               for r, t in enumerate(tables))
    if work > max_work:
        return None
    if window_only:
        def relaxed_curve(lo: float, hi: float) -> float:
            a, b = max(lo, v_lb), min(hi, v_ub)
            return l_relaxed(min(max(v0, a), b)) if a <= b else -np.inf

        relaxed_curve.window = (v_lo, v_hi)  # type: ignore[attr-defined]
        return relaxed_curve
    values = []
    for r in range(n_r):
        t = tables[r]
        k_max = int(np.floor(float(capacity(r, np.array(v_hi))) + 1e-9))
        if k_max < 0:
            values.append(np.full(1, -np.inf))
            continue
        if k_max > KNAPSACK_GRID:  # a coarser step: weights rounded down, still a bound
            # (options lighter than the new step become free choices: relaxing too)
            const -= t["free"]
            t = tables[r] = {**_region_options(t["all_units"], t["all_w"], t["all_d"],
                                               t["s"] * (k_max + 1.0) / KNAPSACK_GRID),
                             "cols": t["cols"]}
            const += t["free"]
            k_max = int(np.floor(float(capacity(r, np.array(v_hi))) + 1e-9))
        f_tab = _knapsack_table(t["units"], t["q"], t["g"], k_max)
        values.append(f_tab)
    # candidate levels: the window's ends and every step of every table inside it
    pts = [np.array([v_lo, v_hi])]
    for r in range(n_r):
        k_lo = int(np.ceil(float(capacity(r, np.array(v_lo))) - 1e-9))
        k_hi = values[r].size - 1
        if k_hi >= max(k_lo, 0):
            ks = np.arange(max(k_lo, 0), k_hi + 1, dtype=float)
            pts.append((ks * tables[r]["s"] + m_r[r] - cap_u[r]) / cap_c[r])
    v_all = np.unique(np.concatenate(pts))
    v_all = v_all[(v_all >= v_lo) & (v_all <= v_hi)]

    def exact(v: np.ndarray) -> np.ndarray:
        total = d_v * v + const
        for r in range(n_r):
            idx = np.floor(capacity(r, v) + 1e-9).astype(np.int64)
            tab = values[r]
            total = total + np.where(idx < 0, -np.inf, tab[np.clip(idx, 0, tab.size - 1)])
        return total

    at_steps = exact(v_all)

    def curve(lo: float, hi: float) -> float:
        best = -np.inf
        a, b = max(lo, v_lo), min(hi, v_hi)
        if a <= b:
            best = float(exact(np.array([a, b])).max())
            inside = (v_all > a) & (v_all < b)
            if inside.any():
                best = max(best, float(at_steps[inside].max()))
        if lo < v_lo and v_lo > v_lb and hi >= v_lb:  # (below v_lb: no allocation)
            best = max(best, l_relaxed(max(min(hi, v_lo), v_lb)))
        if hi > v_hi and v_hi < v_ub:
            best = max(best, l_relaxed(max(lo, v_hi)))
        return best

    def capacity_losses() -> np.ndarray:
        """Per binary column ``j`` of a region ``r``, a loss ``ℓ_j`` with every allocation
        using ``j`` worth at most ``curve``'s bound over the level's bounds less ``ℓ_j``, or at
        most the incumbent the curve was built for (0 outside the regions, and everywhere
        unless ``d_v < 0`` and the relaxed bound is finite and at most that incumbent at
        each end of the window that is not the level's own bound). With ``j``
        of unit ``k`` taking ``q_j`` steps and gaining ``g_j = d_j − f_k`` over the unit's
        free choice, region ``r``'s knapsack with ``x_j = 1`` at capacity ``κ`` is worth
        ``g_j + F_r^{−k}(κ − q_j) ≤ g_j + F_r(κ − q_j)`` (the other units' best packing
        without ``k``; with ``k`` at its free choice it is a packing of ``F_r``). So inside
        the window the allocations using ``j`` are worth at most
        ``g_j + max_v [K(v) − F_r(κ_r(v)) + F_r(κ_r(v) − q_j)]``: the curve with region
        ``r``'s table shifted by ``q_j`` steps, a constant plus ``d_v v`` between the same
        steps, hence largest at a step or the window's lower end (``d_v < 0``). Outside the
        window the bound is at most the incumbent."""
        loss = np.zeros(n_x)
        if kept:
            return loss  # (the tables hold groups of units: no per-column argument here)

        def reached(v: float) -> bool:  # (−∞ at a window's end: rounding at v_lb, unproven)
            f_v = l_relaxed(v)
            return bool(np.isfinite(f_v) and f_v <= incumbent)

        if d_v >= 0 or (v_lo > v_lb and not reached(v_lo)) or \
                (v_hi < v_ub and not reached(v_hi)):
            return loss  # the window did not reach the incumbent: no capacity argument
        jl = level.col - n_x
        top = curve(float(spec.aux_lb[jl]), float(spec.aux_ub[jl]))
        base = exact(v_all)
        for r in range(n_r):
            t, tab = tables[r], values[r]
            if tab.size == 0 or not np.isfinite(tab).all():
                continue
            q = np.floor(t["all_w"] / t["s"] + 1e-9).astype(np.int64)
            _, inv = np.unique(t["all_units"], return_inverse=True)
            f = np.full(int(inv.max()) + 1 if inv.size else 0, -np.inf)
            zero = q == 0
            np.maximum.at(f, inv[zero], t["all_d"][zero])
            g = t["all_d"] - f[inv]
            idx = np.floor(capacity(r, v_all) + 1e-9).astype(np.int64)
            ok = idx >= 0
            own = np.where(ok, tab[np.clip(idx, 0, tab.size - 1)], 0.0)
            for qv in np.unique(q[q > 0]):
                fit = ok & (idx - qv >= 0)
                if not fit.any():
                    best = -np.inf
                else:
                    shifted = tab[np.clip(idx[fit] - qv, 0, tab.size - 1)]
                    best = float((base[fit] - own[fit] + shifted).max())
                sel = q == qv
                loss[t["cols"][sel]] = np.maximum(0.0, top - best - g[sel])
        return loss

    curve.capacity_losses = capacity_losses  # type: ignore[attr-defined]
    curve.window = (v_lo, v_hi)  # type: ignore[attr-defined]
    return curve


def _level_groups(spec: ModelSpec, level: Level, A: sp.csr_matrix, lo: np.ndarray,
                  hi: np.ndarray, u_reg: np.ndarray) -> list[row_groups.Group]:
    """The rows over few units a whole-cell bound of ``level`` keeps
    (:func:`~ruimteverdeling.model.row_groups.find_groups`; the level's rows never, derived
    rows zeroed within a group). Kept on the level (see :func:`_structure`) per which
    auxiliaries have a finite lower bound, the one bound a group's test reads."""
    found = _structure(spec, level)
    key = ("groups", np.isfinite(spec.aux_lb).tobytes())
    if key not in found:
        skip = np.zeros(A.shape[0], bool)
        skip[_coupling(spec, level)[3]] = True
        derived = np.concatenate([np.full(b.n_rows, b.kind == "cut") for b in spec.coupling]
                                 + [np.zeros(0, bool)])
        found[key] = row_groups.find_groups(A, lo, hi, spec.n_x, spec.col_unit, u_reg,
                                            spec.aux_lb, skip, derived)
        for gr in found[key]:
            _frozen(gr.units, gr.cols, gr.local, gr.p, gr.zeroed)
    return list(found[key])


def _grouped_below_window(spec: ModelSpec, level: Level, row_dual: np.ndarray,
                          incumbent: float, max_work: float
                          ) -> Callable[[float, float], float] | None:
    """The curve with groups for a level unbounded above: the curve without groups, ``P``,
    whose exact window ends at ``V``, and the curve with groups of the model with the level
    at most ``V``, ``G`` (its groups' tables then end at the regions' capacities at ``V``).
    An allocation with its level in ``[lo, hi]`` has it in ``[lo, min(hi, V)]``, where both
    bound it, or in ``[V, hi]``, where ``P`` does: the curve is
    ``max(G(lo, min(hi, V)), P(max(lo, V), hi))``. Its capacity losses are zero.

    ``P`` here is the fractional knapsacks' function alone (``window_only``: the window is
    found before the exact tables, which on the demo area cost about as much as ``G``'s):
    it bounds the exact one, and above ``V`` it is at most the incumbent (the window's
    end) wherever the window search reached it."""
    j = level.col - spec.n_x

    def plain_curve() -> Callable[[float, float], float] | None:
        return knapsack_level_curve(spec, level, row_dual, incumbent, max_work, groups=False)

    plain = knapsack_level_curve(spec, level, row_dual, incumbent, max_work, groups=False,
                                 window_only=True)
    if plain is None:
        return None
    top = float(getattr(plain, "window", (np.nan, np.nan))[1])
    if not (np.isfinite(top) and top >= spec.aux_lb[j]):
        return plain_curve()
    ub = spec.aux_ub.copy()
    ub[j] = top
    grouped = knapsack_level_curve(replace(spec, aux_ub=ub), level, row_dual, incumbent,
                                   max_work, groups=True)
    if grouped is None:
        return plain_curve()

    def curve(lo: float, hi: float) -> float:
        parts = []
        if lo <= min(hi, top):
            parts.append(grouped(lo, min(hi, top)))
        if hi > top:
            parts.append(plain(max(lo, top), hi))
        return max(parts) if parts else -np.inf

    curve.capacity_losses = lambda: np.zeros(spec.n_x)  # type: ignore[attr-defined]
    curve.window = plain.window  # type: ignore[attr-defined]
    return curve


def _group_values(spec: ModelSpec, gr: row_groups.Group, extra: np.ndarray, d: np.ndarray,
                  step: float, w_cap: int) -> np.ndarray | None:
    """A kept row's group as the options of one unit: its value per total extra weight in
    whole ``step`` s (see :mod:`~ruimteverdeling.model.row_groups`), or None."""
    steps = np.floor(extra[gr.cols] / step + 1e-9).astype(np.int64)
    n_x = spec.n_x
    d_s, lb, ub = 0.0, 0.0, 0.0
    if gr.aux is not None:
        d_s = float(d[gr.aux])
        lb, ub = float(spec.aux_lb[gr.aux - n_x]), float(spec.aux_ub[gr.aux - n_x])
    res = row_groups.group_table(gr, steps, d[gr.cols], d_s, lb, ub, w_cap)
    return None if res is None else res[0]


def _prefix_max(units: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Running maximum of ``vals`` within each run of equal ``units`` (sorted by unit)."""
    out = vals.copy()
    s = 1
    while s < out.size:
        same = units[s:] == units[:-s]
        if not same.any():
            break
        np.maximum(out[s:], np.where(same, vals[:-s], -np.inf), out=out[s:])
        s += 1
    return out


def knapsack_losses(spec: ModelSpec, level: Level, row_dual: np.ndarray,
                    groups: bool | None = None) -> np.ndarray | None:
    """Per binary column ``j``, how much less than the whole-cell knapsack bound ``K*`` of
    :func:`knapsack_level_curve` (same ``spec``, ``level`` and ``row_dual``, over the level's
    whole range) every allocation with ``x_j = 1`` is worth at most. With ``d = c − Aᵀy`` its
    prices, ``d_v`` the level's, ``a_j`` the column's weight in its region's level row
    ``Σ a x − c_r v ≤ u_r`` (0 outside the level's rows) and ``p_r = max(0, −d_v)/c_r`` the
    price of one unit of that region's load (∞ when the level has a finite upper bound or
    ``c_r ≤ 0``),

        ℓ_j = max over b in j's unit of  d_b − d_j − p_r · max(0, a_b − a_j)   ≥ 0.

    Exchange argument on the Lagrangian function ``L(v)`` (the best ``d·x + d_v v`` + constant
    over whole cells meeting the level's rows at ``v``, which every allocation at level ``v``
    is worth at most and ``K* ≥ max_v L(v)``): in an allocation with ``x_j = 1`` at level ``v``,
    move ``j``'s unit to ``b``. A lighter ``b`` keeps every row at ``v``; a heavier one adds
    ``a_b − a_j`` to region ``r``'s load, which the level ``v' = v + (a_b − a_j)/c_r`` holds
    (other regions' rows only loosen). The value changes by ``d_b − d_j + d_v (v' − v)``, so
    ``L_j(v) ≤ L(v') − (d_b − d_j) + max(0, −d_v)(v' − v) ≤ K* − ℓ_j``. Hence a column with
    ``ℓ_j > K* − z_inc`` is in no allocation better than the incumbent ``z_inc``: reduced-cost
    fixing priced by the knapsack bound instead of the LP. None where
    :func:`knapsack_level_curve` would not apply (duals not matching the rows, or a unit in
    two of the level's rows). With ``groups`` (default :data:`KEEP_ROW_GROUPS`) zero for
    every column: ``K*`` is then the lower bound with the groups kept, which this argument
    does not cover."""
    n_x = spec.n_x
    if KEEP_ROW_GROUPS if groups is None else groups:
        return np.zeros(n_x)  # (the bound they would be paired with is the one with groups)
    priced = _level_duals(spec, level, row_dual)
    if priced is None:
        return None
    A, _, _, y = priced
    regions = _level_regions(spec, level)
    if regions is None:
        return None
    weight, u_reg = regions
    dual = spec.obj - A.T @ y
    d = np.asarray(dual[:n_x], float)
    d_v = float(dual[level.col])
    unit = spec.col_unit[:n_x]
    price_r = np.full(len(level.rows) + 1, np.inf)  # the last: outside every row (no load)
    if not np.isfinite(spec.aux_ub[level.col - n_x]):
        for r, row in enumerate(level.rows):
            if row.c > 0:
                price_r[r] = max(0.0, -d_v) / row.c
    price_r[-1] = 0.0
    price = price_r[u_reg[unit]]  # (index −1: outside)
    # lighter (or as heavy) b: per unit by weight, the best price first among equals
    o = np.lexsort((-d, weight, unit))
    lighter = np.empty(n_x)
    lighter[o] = _prefix_max(unit[o], d[o]) - d[o]
    # heavier b: d_b − p a_b − (d_j − p a_j), by weight downwards
    e = d - np.where(np.isfinite(price), price * weight, 0.0)
    o = np.lexsort((-e, -weight, unit))
    heavier = np.empty(n_x)
    heavier[o] = _prefix_max(unit[o], e[o]) - e[o]
    heavier[~np.isfinite(price)] = 0.0
    return np.maximum(lighter, heavier)


def knapsack_fill(spec: ModelSpec, level: Level, row_dual: np.ndarray, v: float,
                  max_work: float = KNAPSACK_WORK) -> np.ndarray | None:
    """The allocation (over ``spec``'s binaries) that attains the whole-cell knapsack bound
    of :func:`knapsack_level_curve` at the level ``v``: with ``y`` the duals ``row_dual``
    (zero on the level's own rows and on a row's infinite side) and ``d = c − Aᵀy``, every
    unit outside the level's rows takes its best column under ``d``, and the units of each
    region ``r`` solve the multiple-choice knapsack

        max Σ_j d_j x_j   s.t.   Σ_j a_j x_j ≤ c_r v + u_r,   one column per unit,

    exactly, by dynamic programming with the choices kept (capacity measured from each
    unit's lightest column, in grid steps ``s``; weights rounded *up* to whole steps, so the
    allocation meets every level row at ``v`` even where a coarser step is needed).

    The rows moved into the objective are not enforced: the allocation is a guide (which
    units whole cells would change), not an incumbent. None where the structure does not
    hold (see :func:`knapsack_level_curve`), a region cannot hold its lightest columns at
    ``v``, ``v`` is not finite, or the tables would exceed ``max_work``."""
    n_x = spec.n_x
    if not math.isfinite(v):
        return None  # no level to fill every region to
    priced = _level_duals(spec, level, row_dual)
    if priced is None:
        return None
    A, _, _, y = priced
    d = np.asarray(spec.obj[:n_x] - A[:, :n_x].T @ y, float)
    unit = spec.col_unit
    regions = _level_regions(spec, level)
    if regions is None:
        return None
    weight, u_reg = regions
    # every unit first takes its best column under d (the first of equals)
    order = np.lexsort((-d, unit))
    first = order[np.r_[True, unit[order][1:] != unit[order][:-1]]]
    x = np.zeros(n_x)
    x[first] = 1.0
    starts = np.searchsorted(unit, np.arange(spec.n_units + 1))
    if np.any(np.diff(unit) < 0):
        return None  # (columns are grouped by unit in every compiled model)
    plans = []
    work = 0.0
    for r, row in enumerate(level.rows):
        cols = np.flatnonzero(u_reg[unit] == r)
        if not cols.size:
            continue
        cu = unit[cols]
        m_unit = np.full(spec.n_units, np.inf)
        np.minimum.at(m_unit, cu, weight[cols])
        extra = np.maximum(weight[cols] - m_unit[cu], 0.0)
        room = row.c * v + row.u - float(m_unit[np.unique(cu)].sum())
        if room < -1e-9 * max(1.0, abs(row.c * v + row.u)):
            return None
        step = _grid_step(extra, max(room, 0.0))
        q = np.ceil(extra / step - 1e-9).astype(np.int64)
        k_max = int(np.floor(max(room, 0.0) / step + 1e-9))
        # each unit's best column of no whole step, and its options with a gain over it
        rs, inv = np.unique(cu, return_inverse=True)
        base_val = np.full(rs.size, -np.inf)
        zero = q == 0
        np.maximum.at(base_val, inv[zero], d[cols][zero])
        base = np.full(rs.size, -1, np.int64)
        hit = zero & (d[cols] >= base_val[inv])
        base[inv[hit][::-1]] = cols[hit][::-1]  # the first column attaining the best
        g = d[cols] - base_val[inv]
        opt = np.flatnonzero((q > 0) & (g > 0) & (q <= k_max))
        opt = opt[_undominated(inv[opt], q[opt], g[opt])]  # (changes no table entry)
        plans.append((rs, base, cols[opt], q[opt], g[opt], inv[opt], k_max))
        work += float(opt.size) * (k_max + 1.0)
    if work > max_work:
        return None
    in_plan = np.zeros(spec.n_units, bool)
    for rs, base, o_cols, o_q, o_g, o_inv, k_max in plans:
        # the region's units at their base columns (a unit's columns are one run of x)
        in_plan[:] = False
        in_plan[rs] = True
        x[in_plan[unit]] = 0.0
        x[base] = 1.0
        steps = mck_choices(o_q, o_g, o_inv, k_max)
        kappa = k_max
        for choice in reversed(steps):  # back from the full capacity
            i = int(choice[kappa])
            if i >= 0:
                k = int(rs[o_inv[i]])
                x[starts[k]:starts[k + 1]] = 0.0
                x[o_cols[i]] = 1.0
                kappa -= int(o_q[i])
    return x


def mck_choices(q: np.ndarray, g: np.ndarray, group: np.ndarray, k_max: int
                ) -> list[np.ndarray]:
    """The tables of a multiple-choice knapsack by dynamic programming: options ``i`` of
    integer weight ``q_i ≥ 1`` and gain ``g_i``, at most one per group (or none: weight and
    gain 0), capacity ``k_max``. With ``f_0 ≡ 0`` and the groups taken in increasing order,

        f_t(κ) = max(f_{t−1}(κ), max_{i in group t, q_i ≤ κ} f_{t−1}(κ − q_i) + g_i),

    and the returned list holds, per group, the option attaining the maximum at each
    capacity ``κ`` (−1 where none beats ``f_{t−1}(κ)``; among equal options the first in
    ``q``'s order), from which the choices are read back from ``κ = k_max``. Each option
    updates the whole table at once; the groups are taken in turn (each table needs the
    last)."""
    f_tab = np.zeros(k_max + 1)
    steps: list[np.ndarray] = []
    if not group.size:
        return steps
    o = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[o][1:] != group[o][:-1], True])
    qs, gs = q.tolist(), g.tolist()
    for a, b in pairwise(bounds.tolist()):
        choice = np.full(k_max + 1, -1, np.int32)
        new = f_tab.copy() if b - a > 1 else f_tab  # (one option: read before written)
        for i in o[a:b].tolist():
            qi = qs[i]
            if qi > k_max:
                continue
            val = f_tab[: k_max + 1 - qi] + gs[i]
            better = val > new[qi:]
            new[qi:][better] = val[better]
            choice[qi:][better] = i
        steps.append(choice)
        f_tab = new
    return steps


SWAP_PARTNERS = 40
"""Compensating moves tried per move out of a region (best column gain first)."""
TARGETS = 4
"""Lower levels tried per round: the next distinct region intensities below the level."""


def level_swaps(spec: ModelSpec, level: Level, x: np.ndarray, deadline: float,
                max_rounds: int = 200, max_checks: int | None = None) -> np.ndarray:
    """An allocation at least as good as ``x`` (feasible when ``x`` is), found by moves that
    lower the level: a local search that trades burden between regions.

    With ``I_r = (Σ_j a_j x_j − u_r)/c_r`` the level rows' intensities, the level is
    ``v = max(v_lb, max_r I_r)`` and costs ``|cost_v| · v``. One move takes a unit of the
    most burdened region ``r*`` from its column ``j`` to a lighter one ``j'`` (``a_j' < a_j``,
    or not in the row) and, optionally, a unit ``k`` outside ``r*`` from its column ``i`` to
    ``i'`` with the two uses swapped (``use(i) = use(j')``, ``use(i') = use(j)``), so
    that national totals of those uses stay as they were. A move is accepted when every
    coupling row stays within its bounds at the current level and

        Δ = c_j' − c_j + c_i' − c_i + cost_v · (v_new − v) > 0,

    with ``v_new`` the level after the move (the other auxiliaries unchanged). The best move
    of a round is taken; rounds repeat until none improves, ``max_rounds``, ``max_checks``
    feasibility checks (a deterministic budget: a round cut short by it is undone) or
    ``deadline``.
    Every accepted move keeps feasibility and raises the objective, so the result is never
    worse than ``x``.
    """
    n_x = spec.n_x
    x = np.array(x, float)
    A, lo, hi = spec.coupling_matrix()
    A = A.tocsc()
    act = A @ x
    tol_lo = lo - 1e-7 * np.maximum(1.0, np.abs(lo))
    tol_hi = hi + 1e-7 * np.maximum(1.0, np.abs(hi))
    c = spec.obj
    unit, use = spec.col_unit, spec.col_use.astype(np.int64)
    weight = np.zeros(n_x)
    region = np.full(n_x, -1, np.int64)
    for r, row in enumerate(level.rows):
        region[row.cols] = r
        weight[row.cols] = row.a
    cap_c = np.array([row.c for row in level.rows])
    cap_u = np.array([row.u for row in level.rows])
    order = np.argsort(unit, kind="stable")
    starts = np.searchsorted(unit[order], np.arange(spec.n_units + 1))
    cur = np.full(spec.n_units, -1, np.int64)
    on = np.flatnonzero(x[:n_x] > 0.5)
    cur[unit[on]] = on
    u_reg = np.full(spec.n_units, -1, np.int64)
    np.maximum.at(u_reg, unit, region)
    v_lb = float(spec.aux_lb[level.col - n_x])
    by_use = {int(k): np.flatnonzero(use == k) for k in np.unique(use)}

    def loads() -> np.ndarray:
        out = np.zeros(len(level.rows))
        np.add.at(out, region[on_cols()], weight[on_cols()])
        return out

    def on_cols() -> np.ndarray:
        return cur[cur >= 0]

    checks = [0]

    def spent() -> bool:
        return time.perf_counter() > deadline or (max_checks is not None and
                                                  checks[0] >= max_checks)

    a_ptr, a_row, a_val = A.indptr, A.indices, A.data

    def change(cols_from: list[int], cols_to: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The rows a move touches and their activity change ``Σ_to A_j − Σ_from A_j``,
        read from the column slices (a move has two to four columns: slicing the sparse
        matrix cost more than the check itself)."""
        cols = [*cols_to, *cols_from]
        rows = np.concatenate([a_row[a_ptr[j]:a_ptr[j + 1]] for j in cols])
        vals = np.concatenate([a_val[a_ptr[j]:a_ptr[j + 1]] * (1.0 if k < len(cols_to)
                                                               else -1.0)
                               for k, j in enumerate(cols)])
        touched, at = np.unique(rows, return_inverse=True)
        delta = np.bincount(at, weights=vals, minlength=touched.size)
        moved = delta != 0.0
        return touched[moved], delta[moved]

    def feasible(cols_from: list[int], cols_to: list[int]) -> bool:
        checks[0] += 1
        rows, delta = change(cols_from, cols_to)
        if rows.size == 0:
            return True
        new = act[rows] + delta
        return bool(np.all(new >= tol_lo[rows]) and np.all(new <= tol_hi[rows]))

    def best_partners(r: int, use_j: int, use_jn: int, inten: np.ndarray, limit: float
                      ) -> np.ndarray:
        """The ``SWAP_PARTNERS`` columns ``i'`` of best gain for a move ``j → j'`` out of
        region ``r`` with ``use(j) = use_j``, ``use(j') = use_jn``: units outside ``r``, now
        of use ``use_jn``, offered ``use_j``, that leave their regions at most ``limit``."""
        part = by_use[use_j]
        part = part[u_reg[unit[part]] != r]
        part = part[cur[unit[part]] >= 0]
        part = part[use[cur[unit[part]]] == use_jn]
        i_cols = cur[unit[part]]
        rp = np.maximum(region[part], 0)
        after = inten[rp] + np.where(region[part] >= 0, weight[part] / cap_c[rp], 0.0)
        after -= np.where((region[i_cols] >= 0) & (region[i_cols] == region[part]),
                          weight[i_cols] / cap_c[rp], 0.0)
        part = part[(region[part] < 0) | (after <= limit + 1e-12)]
        gains = c[part] - c[cur[unit[part]]]
        return part[np.argsort(-gains)[:SWAP_PARTNERS]]

    def best_move(r: int, inten: np.ndarray, limit: float
                  ) -> tuple[float, list[int], list[int], np.ndarray] | None:
        """The move out of region ``r`` with the best column gain that leaves every region it
        touches at most ``limit`` (``r`` included) and every coupling row within bounds."""
        found: tuple[float, list[int], list[int], np.ndarray] | None = None
        # the best partners of a move depend only on its pair of uses (outside ``r`` the
        # intensities are those of ``inten``, and nothing moves during the search)
        partners: dict[tuple[int, int], np.ndarray] = {}
        for u in np.flatnonzero((u_reg == r) & (cur >= 0)):
            if spent():
                return None
            j = int(cur[u])
            if weight[j] <= 0 or region[j] != r:
                continue
            cols = order[starts[u]:starts[u + 1]]
            for jn in cols[weight[cols] < weight[j]]:
                jn = int(jn)
                inten_new = inten.copy()
                inten_new[r] -= (weight[j] - weight[jn]) / cap_c[r]
                if inten_new[r] > limit + 1e-12:
                    continue
                options_: list[tuple[float, list[int], list[int], np.ndarray]] = [
                    (c[jn] - c[j], [j], [jn], inten_new)]
                key = (int(use[j]), int(use[jn]))
                if key not in partners:
                    partners[key] = best_partners(r, *key, inten, limit)
                for p in partners[key]:
                    i = int(cur[unit[p]])
                    inten_p = inten_new.copy()
                    if region[i] >= 0:
                        inten_p[region[i]] -= weight[i] / cap_c[region[i]]
                    if region[p] >= 0:
                        inten_p[region[p]] += weight[p] / cap_c[region[p]]
                    options_.append((c[jn] - c[j] + c[p] - c[i], [j, i], [jn, int(p)],
                                     inten_p))
                for opt in sorted(options_, key=lambda o: -o[0]):
                    if found is not None and opt[0] <= found[0]:
                        break
                    if feasible(opt[1], opt[2]):
                        found = opt
                        break
        return found

    def apply(fr: list[int], to: list[int]) -> None:
        rows, delta = change(fr, to)
        act[rows] += delta
        x[fr] = 0.0
        x[to] = 1.0
        cur[unit[to]] = to

    for _ in range(max_rounds):
        if spent():
            break
        inten = (loads() - cap_u) / cap_c
        v = float(x[level.col])
        improved = False
        # targets: the next few distinct intensities below the level (and v_lb)
        targets = sorted({float(t) for t in inten if t < v - 1e-12} | {v_lb}, reverse=True)
        for t in targets[:TARGETS]:
            saved = (x.copy(), act.copy(), cur.copy())
            # cost_v < 0: lowering the level to t gains |cost_v| (v − t)
            total, ok, inten_t = level.cost * (max(t, v_lb) - v), True, inten.copy()
            for _k in range(4 * len(level.rows)):
                above = np.flatnonzero(inten_t > t + 1e-12)
                if above.size == 0:
                    break
                r = int(above[np.argmax(inten_t[above])])
                mv = best_move(r, inten_t, t)
                if mv is None:
                    ok = False
                    break
                total += mv[0]
                apply(mv[1], mv[2])
                inten_t = mv[3]
            else:
                ok = False
            if ok and total > 1e-9 and not spent():
                improved = True
                break
            x[:], act[:], cur[:] = saved
        if not improved:
            break
        inten = (loads() - cap_u) / cap_c
        v_new = max(v_lb, float(inten.max()))
        act += A[:, [level.col]].toarray().ravel() * (v_new - x[level.col])
        x[level.col] = v_new
    return x


def unit_moves(spec: ModelSpec, x: np.ndarray, deadline: float, max_rounds: int = 5,
               max_checks: int | None = None, tol: float = 1e-9) -> np.ndarray:
    """An allocation at least as good as ``x`` (feasible when ``x`` is), by single-unit moves.

    With the auxiliaries held at their values in ``x``, moving unit ``k`` from its column
    ``i`` to ``j`` changes the coupling activities by ``A_{·j} − A_{·i}`` and the objective by
    ``c_j − c_i``. Moves with ``c_j > c_i`` are tried in order of that gain and taken when every
    coupling row stays within its bounds (relative tolerance ``tol``); a unit moves at most once
    per round, and rounds repeat until none is taken, ``max_rounds``, ``max_checks`` moves
    checked (a deterministic budget) or ``deadline`` (a safety net). Every
    move keeps feasibility and raises the objective, so the result is never worse than ``x``
    (the auxiliaries are re-optimised afterwards by the caller, which can only gain).
    """
    n_x = spec.n_x
    x = np.array(x, float)
    A, lo, hi = spec.coupling_matrix()
    A = A.tocsc()
    indptr, indices, data = A.indptr, A.indices, A.data
    # the coupling rows as Python floats: a move touches a handful of them, where numpy's
    # cost per call would be most of each check (the sums are the same, in the same order)
    act = (A @ x).tolist()
    lo_t = (lo - tol * np.maximum(1.0, np.abs(lo))).tolist()
    hi_t = (hi + tol * np.maximum(1.0, np.abs(hi))).tolist()
    unit, c = spec.col_unit, spec.obj
    cur = np.full(spec.n_units, -1, np.int64)
    on = np.flatnonzero(x[:n_x] > 0.5)
    cur[unit[on]] = on
    checks = 0
    for _ in range(max_rounds):
        gain = c[:n_x] - c[cur[unit]]
        cand = np.flatnonzero(gain > tol * np.maximum(1.0, np.abs(c[:n_x])))
        cand = cand[np.argsort(-gain[cand], kind="stable")]
        moved: set[int] = set()
        taken = 0
        for j, k in zip(cand.tolist(), unit[cand].tolist(), strict=True):
            if k in moved:
                continue
            if (max_checks is not None and checks >= max_checks) or \
                    time.perf_counter() > deadline:
                break
            checks += 1
            i = int(cur[k])
            if not _move_fits(j, i, indptr, indices, data, act, lo_t, hi_t):
                continue
            x[i], x[j] = 0.0, 1.0
            cur[k] = j
            moved.add(k)
            taken += 1
        if not taken or time.perf_counter() > deadline or \
                (max_checks is not None and checks >= max_checks):
            break
    return x


def _move_fits(j: int, i: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
               act: list[float], lo: list[float], hi: list[float]) -> bool:
    """Whether moving a unit from column ``i`` to column ``j`` keeps every coupling row
    within ``[lo, hi]``: each row ``r`` either column touches gets the activity
    ``act_r + (A_rj − A_ri)``. When it does, ``act`` takes those activities."""
    sj, ej, si, ei = int(indptr[j]), int(indptr[j + 1]), int(indptr[i]), int(indptr[i + 1])
    delta: dict[int, float] = {}
    for r, v in zip(indices[sj:ej].tolist(), data[sj:ej].tolist(), strict=True):
        delta[r] = delta.get(r, 0.0) + v
    for r, v in zip(indices[si:ei].tolist(), data[si:ei].tolist(), strict=True):
        delta[r] = delta.get(r, 0.0) - v
    new = {r: act[r] + d for r, d in delta.items()}
    for r, a in new.items():
        if a < lo[r] or a > hi[r]:
            return False
    for r, a in new.items():
        act[r] = a
    return True


# ---------------------------------------------------------------------------------------------
# better multipliers for the whole-cell knapsack bound
# ---------------------------------------------------------------------------------------------
LAGRANGE_STEPS = 12
"""Subgradient steps of :func:`lagrange_level_duals` (each one knapsack curve and one fill)."""
LAGRANGE_THETA = 1.0
"""The first step's share of the Polyak step ``(K − target)/‖g‖²``; halved after
:data:`LAGRANGE_PATIENCE` steps without a lower bound."""
LAGRANGE_PATIENCE = 2
"""Steps without a lower bound after which the step share ``θ`` halves."""
LAGRANGE_PROJECTIONS = 5
"""Rounds of projecting the multipliers onto the signs of their rows' finite sides and of the
reduced costs of the auxiliaries unbounded on a side (alternating, one constraint at a time)."""


@dataclass
class LagrangeResult:
    """What :func:`lagrange_level_duals` found: the best duals (over all the model's rows, as
    ``row_dual``), their curve and bound over ``[lo, hi]``, and every step's bound."""

    row_dual: np.ndarray
    curve: Callable[[float, float], float] | None
    bound: float
    trace: list[float]


def _aux_at_best(spec: ModelSpec, level: Level, d: np.ndarray, v: float, A: sp.csr_matrix,
                 x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The auxiliaries of a maximiser of the Lagrangian beside the binaries ``x``: the level
    at ``v``, every one with a reduced cost ``d_k ≠ 0`` at its better bound, and every one
    with ``d_k = 0`` (any value is a maximiser, e.g. a shortfall priced at its penalty) where
    it meets its rows best — one at a time, within its bounds, so that the subgradient does
    not report a violation the auxiliary absorbs at no cost."""
    n_x = spec.n_x
    lb, ub = spec.aux_lb, spec.aux_ub
    dk = d[n_x:].copy()
    dk[np.abs(dk) <= KNAPSACK_DUAL_TOL * np.maximum(1.0, np.abs(spec.obj[n_x:]))] = 0.0
    at_ub = (dk > 0) | ((dk == 0) & ~np.isfinite(lb))
    s = np.where(at_ub, ub, lb)
    s = np.where(np.isfinite(s), s, 0.0)
    j_level = level.col - n_x
    s[j_level] = v
    free = np.flatnonzero(dk == 0)
    free = free[free != j_level]
    if free.size:
        act = A[:, :n_x] @ x + A[:, n_x:] @ s
        Ac = A[:, n_x:].tocsc()
        for k in free:
            sl = slice(Ac.indptr[k], Ac.indptr[k + 1])
            rows, a = Ac.indices[sl], Ac.data[sl]
            if not rows.size:
                continue
            rest = act[rows] - a * s[k]
            with np.errstate(divide="ignore", invalid="ignore"):
                need_lo = np.where(a > 0, (lo[rows] - rest) / a, (hi[rows] - rest) / a)
                need_hi = np.where(a > 0, (hi[rows] - rest) / a, (lo[rows] - rest) / a)
            want = float(np.nanmax(np.r_[need_lo, lb[k]]))
            want = min(want, float(np.nanmin(np.r_[need_hi, ub[k]])))
            new = min(max(want, lb[k]), ub[k])
            if np.isfinite(new):
                act[rows] += a * (new - s[k])
                s[k] = new
    return s


def lagrange_level_duals(spec: ModelSpec, level: Level, row_dual: np.ndarray,
                         incumbent: float, lo: float, hi: float,
                         steps: int = LAGRANGE_STEPS, deadline: float = np.inf,
                         max_work: float = KNAPSACK_WORK) -> LagrangeResult | None:
    """Multipliers that lower the whole-cell knapsack bound of ``level`` over the level
    interval ``[lo, hi]``, by projected subgradient steps from ``row_dual`` (the LP's).

    The bound of :func:`knapsack_level_curve` is, for multipliers ``y`` on the rows moved into
    the objective, ``L(y) = max_{z ∈ Z, t ∈ [lo_r, hi_r]} c·z − y·(A z − t)`` with ``Z`` the
    allocations that meet the assignment rows and the level's own rows for a level in
    ``[lo, hi]``. It bounds every integer allocation for *any* ``y`` (with ``y_r = 0`` on an
    infinite side), and it is convex in ``y`` (a maximum of affine functions), so the LP's
    duals — optimal for the fractional knapsacks — are in general not its minimiser: whole
    cells make ``min_y L(y)`` (the Lagrangian dual) lower. At a maximiser ``(z*, t*)``
    ``g = t* − A z*`` is a subgradient (``t*_r = hi_r`` for ``y_r > 0``, ``lo_r`` for
    ``y_r < 0`` and ``A z*`` clipped to ``[lo_r, hi_r]`` at ``y_r = 0``), and the step

        y ← P(y − θ (L(y) − target) / ‖g‖² · g),    target = ``incumbent``,

    with ``P`` the projection on the signs the row's finite sides allow (a level row keeps
    ``y_r = 0``: it stays a knapsack) moves towards the minimiser (Polyak's step; ``θ`` halves
    when :data:`LAGRANGE_PATIENCE` steps bring no lower bound). ``z*`` is the knapsack fill
    (:func:`knapsack_fill`, weights rounded up — at worst an approximate subgradient, which
    only slows the search) at the level where the curve is largest. Every step's bound is
    computed afresh from its own ``y``, so whatever the steps do, the smallest one is a valid
    bound; it is never above the bound of ``row_dual`` itself (the first one evaluated).

    Returns None where the curve does not exist for ``row_dual``."""
    y = np.asarray(row_dual, float).copy()
    priced = _level_duals(spec, level, y)
    if priced is None:
        return None
    A, r_lo, r_hi, _ = priced
    nu, n_x = spec.n_units, spec.n_x
    offsets = spec.row_offsets()
    frozen = np.zeros(A.shape[0], bool)
    frozen[[offsets[r.block][0] - nu + r.row for r in level.rows]] = True
    can_up = np.isfinite(r_hi) & ~frozen   # y_r > 0 prices the upper side
    can_dn = np.isfinite(r_lo) & ~frozen
    # auxiliaries unbounded on a side (shortfalls): their reduced cost must keep its sign
    Ac = A[:, n_x:].tocsc()
    aux_ub_inf = ~np.isfinite(spec.aux_ub)
    aux_lb_inf = ~np.isfinite(spec.aux_lb)
    aux_ub_inf[level.col - n_x] = aux_lb_inf[level.col - n_x] = False  # (its rows are frozen)

    def project(yc: np.ndarray) -> None:
        for _ in range(LAGRANGE_PROJECTIONS):
            yc[(yc > 0) & ~can_up] = 0.0
            yc[(yc < 0) & ~can_dn] = 0.0
            dk = spec.obj[n_x:] - Ac.T @ yc
            bad = np.flatnonzero((aux_ub_inf & (dk > 0)) | (aux_lb_inf & (dk < 0)))
            if not bad.size:
                return
            for k in bad:
                rows = Ac.indices[Ac.indptr[k]:Ac.indptr[k + 1]]
                a = Ac.data[Ac.indptr[k]:Ac.indptr[k + 1]]
                a = np.where(frozen[rows], 0.0, a)
                nrm = float(a @ a)
                if nrm > 0:
                    yc[rows] += float(dk[k]) * a / nrm  # onto d_k = 0

    best: LagrangeResult | None = None
    theta = LAGRANGE_THETA
    stall = 0
    trace: list[float] = []
    for it in range(max(1, steps + 1)):
        if it and time.perf_counter() > deadline:
            break
        curve = knapsack_level_curve(spec, level, y, incumbent, max_work)
        if curve is None:
            break
        k = float(curve(lo, hi))
        trace.append(k)
        if best is None or k < best.bound:
            best = LagrangeResult(y.copy(), curve, k, trace)
            stall = 0
        else:
            stall += 1
            if stall >= LAGRANGE_PATIENCE:
                theta *= 0.5
                stall = 0
        if it == steps or not np.isfinite(k) or k <= incumbent:
            break
        v = curve_argmax(curve, lo, hi, lo if np.isfinite(lo) else 0.0)
        x = None if v is None else knapsack_fill(spec, level, y, v, max_work)
        if x is None:
            break
        d = spec.obj - A.T @ y[nu:]
        z = np.concatenate([x, _aux_at_best(spec, level, d, v, A, x, r_lo, r_hi)])
        act = A @ z
        yc = y[nu:]
        t = np.where(yc > 0, r_hi, np.where(yc < 0, r_lo, np.clip(act, r_lo, r_hi)))
        g = np.where(np.isfinite(t), t - act, 0.0)
        g[frozen] = 0.0
        g[(yc == 0) & ~can_up & (g < 0)] = 0.0  # a step that the projection would undo
        g[(yc == 0) & ~can_dn & (g > 0)] = 0.0
        norm = float(g @ g)
        if norm <= 0.0:
            break  # 0 is a subgradient: y minimises L
        yc -= theta * (k - incumbent) / norm * g
        project(yc)
    if best is not None:
        best.trace = trace
    return best
