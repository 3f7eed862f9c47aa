"""A bound by regions: Lagrangian decomposition with an exact MIP per region.

The model's units are grouped into *regions* (for instance the provinces of a minimax level,
see :func:`level_groups`). A coupling row whose binary columns all belong to the units of one
region is *regional*; every other row is *national*. Rows over a few regions merge those
regions first (:func:`merge_groups`), so that a row over two provinces stays a constraint.

**The bound.** Let ``y`` be any row prices (normally the LP's row duals) and move every
national row ``lo_i ≤ a_i·x ≤ hi_i`` into the objective: for every feasible ``x``

    c·x = d·x + Σ_i y_i a_i·x ≤ d·x + Σ_i max(y_i lo_i, y_i hi_i),      d = c − A_Nᵀ y,

(a price on an infinite side is set to 0, so the maximum is finite). What remains is the
assignment rows and the regional rows, which separate by region except through auxiliary
columns that sit in the rows of several regions (the level ``v`` of a minimax: each region's
row ``load_r(x) ≤ c_r v + u_r``). Such a shared column gets a copy ``v_g`` per region, each in
the column's bounds ``[l, u]``, and its price is split: region ``g``'s copy earns
``μ_g = Σ_{i ∈ rows of g} y_i A_iv`` (what the prices charge ``v`` through that region's rows)
and the rest, ``ρ_v = d_v − Σ_g μ_g`` (the column's reduced cost), is taken once at its better
bound. Since ``d_v v = Σ_g μ_g v_g + ρ_v v`` whenever ``v_g = v``, dropping the copies'
equality only relaxes, so

    z* ≤ Σ_g Z_g + Σ_i max(y_i lo_i, y_i hi_i) + Σ_{v shared} max(ρ_v l_v, ρ_v u_v)
              + Σ_{aux in no regional row} max(d_j l_j, d_j u_j) + offset,

where ``Z_g`` bounds region ``g``'s problem ``max d·x_g`` over its units (whole cells, one
use each), its regional rows and its own auxiliaries — solved *exactly* as a small MIP (its
MIP dual bound is used, so a subproblem stopped early still gives a valid bound). Units in no
regional row take their best ``d`` without a solve. For shared columns with a wide range the
bound is weak; confining the level to an interval ``[lo, hi]`` (the level search's nodes)
gives the bound of every allocation whose level lies there, and the maximum over intervals
that cover the level's range bounds every allocation.

With the LP's optimal duals and the regional MIPs relaxed to LPs this is the LP bound (the
partial Lagrangian at optimal duals), so with whole cells it is at most the LP bound, lower
by what the LP gains from fractions of cells inside a region's rows. Against the whole-cell
knapsack bound (:func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`, which keeps
only the level's rows, exactly by dynamic programming) it also keeps every other regional row
(deep-polder shares, a province's own rows) with whole cells, but needs a level interval, not
a curve, and a MIP solver per region. Before the solve each unit's columns that another of
its columns dominates in ``d`` and in every regional row are dropped (:func:`_undominated`;
the region's optimum is unchanged).

Measured on the demo (36 k cells at 1 km, ``benchmarks/bound.py``, from the duals of the LP
with derived rows): with the deep polders as the regions (the provinces' minimax rows priced)
the 17 polder MIPs are proven in about a second in all, and the bound moves from the LP's
1,628,381.1 only to 1,628,375.9; on the level intervals where the knapsack bound peaks,
keeping the polder rows with whole cells in the provinces' regions lowers the bound by the
same 5.2–5.7 points (1,628,197.1 → 1,628,191.3 where every region is proven). The homes
target kept alone over all units (the other rows priced) is worth 13 points (1,628,368.1),
the organic-farming share 0.03, the nature target, the green-blue network target and the one
national derived row nothing (HiGHS proves each in 5–55 s); the wind and solar target alone
is not proven in 60 s. Against a gap of about 97 points between the best bound and the best
allocation, neither the regional rows' whole cells nor any one national row's hold the
demo's gap. HiGHS's branch and bound does not prove one province's multiple-choice knapsack
(1,834 units, one capacity row) in 120 s, where dynamic programming (:func:`knapsack_solver`)
is exact in milliseconds; a region of three provinces with 14 polders takes HiGHS 18–30 s
per level interval, and once not 60 s.

**An allocation.** The regions' optimal solutions, put together, are an allocation that meets
every regional row (and the level, when its copies agree) but usually breaks national rows;
``RegionalBound.x`` holds it (units solved by :func:`knapsack_solver` keep no choice there), as
a guide for a repair, not an incumbent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.spec import ModelSpec, RowBlock

DUAL_TOL = 1e-7
"""Prices below this (relative to the column's objective) count as 0."""

MERGE_MAX = 2
"""A row over at most this many regions merges them; over more it is national."""

DOMINANCE_MAX_ENTRIES = 20_000_000
"""A region whose rows times columns exceed this keeps every column: the dominance test
(:func:`_undominated`) compares columns row by row in dense arrays of that size, and a large
merged region (on the peers benchmark at 50 k cells of 250 m, with the provinces of the
minimax level merged by :func:`merge_groups`: one region of 21 k rows over 410 k columns)
asked for 65 GB. Keeping dominated columns leaves the region's optimum
as it is; only its MIP is larger."""


@dataclass
class RegionalBound:
    """What :func:`regional_bound` proved."""

    bound: float  # upper bound on every integer allocation (within the level interval)
    constant: float  # the priced national rows, shared and unused auxiliaries, offset
    regions: list[dict[str, Any]]  # per region: units, MIP columns/rows, status, bound
    x: np.ndarray  # the regions' solutions put together (over the model's columns)
    exact: bool  # every region's MIP proved optimal
    seconds: float
    national_rows: int
    regional_rows: int
    details: dict[str, Any] = field(default_factory=dict)


MipSolver = Callable[[ModelSpec, float], tuple[str, np.ndarray | None, float | None]]
"""``solve(sub, time_limit) -> (status, x, dual bound)`` for a maximisation ModelSpec."""


def level_groups(spec: ModelSpec, rows: list[tuple[str, int]]) -> np.ndarray:
    """Per unit its region: the index of the row (``(block, row)``) its columns sit in, −1
    for a unit in none. A unit whose columns sit in two of the rows gets the first."""
    group = np.full(spec.n_units, -1, np.int64)
    for g, (name, r) in reversed(list(enumerate(rows))):
        A = spec.block(name).A
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        cols = cols[cols < spec.n_x]
        group[spec.col_unit[cols]] = g
    return group


def _row_units(spec: ModelSpec, A: sp.csr_matrix) -> list[np.ndarray]:
    out = []
    for r in range(A.shape[0]):
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        out.append(np.unique(spec.col_unit[cols[cols < spec.n_x]]))
    return out


def merge_groups(spec: ModelSpec, group: np.ndarray, merge_max: int = MERGE_MAX
                 ) -> np.ndarray:
    """``group`` with the regions joined that a row over at most ``merge_max`` of them (units
    of no region count as their own) touches, renumbered 0..; a unit of no region that no
    such row joins to others stays a region of its own (it needs no solve unless a regional
    row holds it)."""
    n = spec.n_units
    # every unit without a region is a region of its own for the merging
    lab = group.copy()
    free = lab < 0
    base = int(lab.max(initial=-1)) + 1
    lab[free] = base + np.arange(int(free.sum()))
    parent = np.arange(int(lab.max(initial=-1)) + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    A, _, _ = spec.coupling_matrix()
    for units in _row_units(spec, A.tocsr()):
        roots = {find(int(g)) for g in np.unique(lab[units])}
        if 1 < len(roots) <= merge_max:
            first, *rest = sorted(roots)
            for r in rest:
                parent[r] = first
    roots = np.array([find(int(g)) for g in lab]) if n else np.empty(0, np.int64)
    _, out = np.unique(roots, return_inverse=True)
    return out.astype(np.int64)


def _priced(spec: ModelSpec, row_dual: np.ndarray, national: np.ndarray
            ) -> tuple[np.ndarray, float]:
    """Reduced objective ``d = c − A_Nᵀ y`` over all columns and the constant
    ``Σ max(y lo, y hi)`` of the national rows (prices on infinite sides dropped)."""
    A, lo, hi = spec.coupling_matrix()
    y = np.asarray(row_dual, float)[spec.n_units:].copy()
    if y.size != A.shape[0]:
        raise ValueError(f"{y.size} coupling duals for {A.shape[0]} coupling rows")
    y[~national] = 0.0
    y[(y > 0) & ~np.isfinite(hi)] = 0.0
    y[(y < 0) & ~np.isfinite(lo)] = 0.0
    const = float(np.where(y > 0, y * np.where(np.isfinite(hi), hi, 0.0),
                           y * np.where(np.isfinite(lo), lo, 0.0)).sum())
    return spec.obj - A.T @ y, const


def _at_better_bound(d: float, lb: float, ub: float) -> float:
    if d > 0:
        return d * ub
    if d < 0:
        return d * lb
    return 0.0


def regional_bound(spec: ModelSpec, row_dual: np.ndarray, group: np.ndarray,
                   solve_mip: MipSolver, time_limit: float = 60.0,
                   aux_lb: np.ndarray | None = None, aux_ub: np.ndarray | None = None,
                   priced: np.ndarray | None = None) -> RegionalBound:
    """The bound of the module docstring for the regions ``group`` (per unit, −1: none),
    prices ``row_dual`` (assignment rows first, over ``spec``'s rows) and the auxiliaries'
    bounds ``aux_lb``/``aux_ub`` (default the model's; narrower bounds on the level give the
    bound of the allocations whose level lies in them). ``solve_mip`` solves each region's
    MIP; its dual bound enters the sum. ``priced`` (bool over the coupling rows) names rows
    to price even where they are regional."""
    t0 = time.perf_counter()
    n_x = spec.n_x
    a_lb = spec.aux_lb if aux_lb is None else np.asarray(aux_lb, float)
    a_ub = spec.aux_ub if aux_ub is None else np.asarray(aux_ub, float)
    A, lo, hi = spec.coupling_matrix()
    A = A.tocsr()
    unit_group = np.asarray(group, np.int64)
    # regional rows: binary columns in one region
    row_units = _row_units(spec, A)
    row_group = np.full(A.shape[0], -2, np.int64)  # -2: national
    for r, units in enumerate(row_units):
        gs = np.unique(unit_group[units])
        if gs.size == 1 and gs[0] >= 0:
            row_group[r] = gs[0]
        elif gs.size == 0:
            row_group[r] = -3  # over auxiliaries only: national (priced) as well
    if priced is not None:
        row_group[np.asarray(priced, bool)] = -2
    national = row_group < 0
    d, const = _priced(spec, row_dual, national)
    const += spec.obj_offset
    # auxiliaries: regions whose rows hold them
    Acsc = A.tocsc()
    aux_regions: list[np.ndarray] = []
    for j in range(n_x, spec.n_cols):
        rows = Acsc.indices[Acsc.indptr[j]:Acsc.indptr[j + 1]]
        aux_regions.append(np.unique(row_group[rows][row_group[rows] >= 0]))
    details: dict[str, Any] = {"shared_aux": [], "unused_aux": 0}
    # a shared auxiliary's price split: region g gets μ_g = Σ_{i ∈ rows of g} y_i A_ik, the
    # rest (its reduced cost under all of y) is taken once at the better bound
    y_all = np.asarray(row_dual, float)[spec.n_units:]
    share: dict[tuple[int, int], float] = {}
    for k, regs in enumerate(aux_regions):
        if regs.size == 1:
            continue
        rest = float(d[n_x + k])
        rows = Acsc.indices[Acsc.indptr[n_x + k]:Acsc.indptr[n_x + k + 1]]
        vals = Acsc.data[Acsc.indptr[n_x + k]:Acsc.indptr[n_x + k + 1]]
        for g in regs:
            mine = row_group[rows] == g
            mu = float(y_all[rows[mine]] @ vals[mine])
            share[(int(g), k)] = mu
            rest -= mu
        if abs(rest) <= DUAL_TOL * max(1.0, abs(float(spec.obj[n_x + k]))):
            rest = 0.0
        if (rest > 0 and not np.isfinite(a_ub[k])) or (rest < 0 and not np.isfinite(a_lb[k])):
            return RegionalBound(np.inf, np.inf, [], np.zeros(spec.n_cols), False,
                                 time.perf_counter() - t0, int(national.sum()),
                                 int((~national).sum()),
                                 {"reason": f"auxiliary {spec.aux_names[k]} priced towards "
                                            "an infinite bound"})
        const += _at_better_bound(rest, float(a_lb[k]), float(a_ub[k]))
        if regs.size > 1:
            details["shared_aux"].append(spec.aux_names[k])
        else:
            details["unused_aux"] += 1
    # units in no regional row: their best reduced objective, no solve
    in_rows = np.zeros(spec.n_units, bool)
    for r in np.flatnonzero(~national):
        in_rows[row_units[r]] = True
    unit = spec.col_unit
    best = np.full(spec.n_units, -np.inf)
    np.maximum.at(best, unit, d[:n_x])
    x = np.zeros(spec.n_cols)
    easy = ~in_rows
    const += float(best[easy].sum())
    first = _first_best(unit, d[:n_x], best, spec.n_units)
    x[first[easy]] = 1.0
    total = const
    exact = True
    regions = []
    groups = np.unique(row_group[~national])
    deadline = t0 + time_limit
    for g in groups:
        units = np.flatnonzero((unit_group == g) & in_rows)
        rows = np.flatnonzero(row_group == g)
        aux = np.array([k for k, regs in enumerate(aux_regions) if g in regs], np.int64)
        price = np.array([share.get((int(g), int(k)), d[n_x + k]) for k in aux], float)
        sub, cols = _region_model(spec, A, lo, hi, d, units, rows, aux, price, a_lb, a_ub)
        t1 = time.perf_counter()
        status, xs, zb = solve_mip(sub, max(1.0, deadline - t1))
        if status == "infeasible":  # no allocation meets this region's rows
            return RegionalBound(-np.inf, const, regions, x, True, time.perf_counter() - t0,
                                 int(national.sum()), int((~national).sum()),
                                 {**details, "reason": f"region {int(g)}: infeasible"})
        if zb is None or not np.isfinite(zb):
            return RegionalBound(np.inf, const, regions, x, False, time.perf_counter() - t0,
                                 int(national.sum()), int((~national).sum()),
                                 {**details, "reason": f"region {int(g)}: {status}"})
        total += zb
        exact &= status == "optimal"
        if xs is not None:
            keep = cols < n_x
            x[cols[keep]] = np.round(xs[: sub.n_cols][keep])
        regions.append({"region": int(g), "units": int(units.size), "columns": sub.n_cols,
                        "rows": int(rows.size), "status": status, "bound": float(zb),
                        "seconds": round(time.perf_counter() - t1, 3)})
    return RegionalBound(float(total), float(const), regions, x, exact,
                         time.perf_counter() - t0, int(national.sum()),
                         int((~national).sum()), details)


def _first_best(unit: np.ndarray, d: np.ndarray, best: np.ndarray, n_units: int
                ) -> np.ndarray:
    """Per unit the first column with the unit's best ``d``."""
    is_best = d >= best[unit] - 1e-12 * np.maximum(1.0, np.abs(best[unit]))
    first = np.full(n_units, -1, np.int64)
    cols = np.flatnonzero(is_best)
    u, idx = np.unique(unit[cols], return_index=True)
    first[u] = cols[idx]
    return first


def _region_model(spec: ModelSpec, A: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray,
                  d: np.ndarray, units: np.ndarray, rows: np.ndarray, aux: np.ndarray,
                  price: np.ndarray, a_lb: np.ndarray, a_ub: np.ndarray
                  ) -> tuple[ModelSpec, np.ndarray]:
    """One region's MIP: its units' columns (objective ``d``) and its auxiliaries (objective
    ``price``, a copy of each shared one) under its rows. Returns the model and,
    per column, the column of ``spec``."""
    n_x = spec.n_x
    in_units = np.zeros(spec.n_units, bool)
    in_units[units] = True
    xcols = np.flatnonzero(in_units[spec.col_unit])
    if rows.size * xcols.size <= DOMINANCE_MAX_ENTRIES:
        xcols = xcols[_undominated(spec.col_unit[xcols], d[xcols],
                                   A[rows][:, xcols].toarray(), lo[rows], hi[rows])]
    cols = np.concatenate([xcols, n_x + aux]).astype(np.int64)
    sub_A = A[rows][:, cols].tocsr()
    # columns of other units in these rows cannot occur (regional rows); auxiliaries of the
    # rows outside ``aux`` cannot either (every auxiliary of a regional row is in ``aux``)
    obj = np.concatenate([d[xcols], price])
    _, new_unit = np.unique(spec.col_unit[xcols], return_inverse=True)
    block = RowBlock("region", "rule", sub_A, lo[rows], hi[rows])
    sub = ModelSpec(
        n_x=int(xcols.size), col_unit=new_unit.astype(np.int32),
        col_use=spec.col_use[xcols], unit_cells=spec.unit_cells[units],
        aux_names=[spec.aux_names[k] for k in aux],
        aux_lb=a_lb[aux].astype(float), aux_ub=a_ub[aux].astype(float),
        coupling=[block], terms=[], obj=obj, obj_offset=0.0,
        aux_integral=None if spec.aux_integral is None else
        np.asarray(spec.aux_integral, bool)[aux])
    return sub, cols



def _undominated(unit: np.ndarray, d: np.ndarray, a: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> np.ndarray:
    """Mask of the columns (sorted by ``unit``) that no other column of the same unit
    dominates. Column ``j'`` dominates ``j`` when it earns at least as much (``d_j' ≥ d_j``)
    and uses every row at least as well: no more of a row with only an upper side, no less
    of one with only a lower side, the same of a row with both (ties: the first column
    wins). Swapping ``j`` for ``j'`` in any solution keeps every row and does not lower the
    objective, so dropping ``j`` keeps the region's optimum."""
    n = unit.size
    if n == 0:
        return np.ones(0, bool)
    up = np.isfinite(hi) & ~np.isfinite(lo)
    down = np.isfinite(lo) & ~np.isfinite(hi)
    both = np.isfinite(lo) & np.isfinite(hi)
    key = np.where(down[:, None], -a, a)  # smaller is better on one-sided rows
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    sizes = np.diff(np.r_[starts, n])
    width = int(sizes.max())
    pos = np.arange(n) - np.repeat(starts, sizes)
    row_of = np.repeat(np.arange(starts.size), sizes)
    dd = np.full((starts.size, width), -np.inf)
    dd[row_of, pos] = d
    kk = np.full((key.shape[0], starts.size, width), np.inf)
    kk[:, row_of, pos] = key
    real = np.zeros((starts.size, width), bool)
    real[row_of, pos] = True
    # better[u, j, j']: j' (real) at least as good as j everywhere
    better = real[:, None, :] & (dd[:, None, :] >= dd[:, :, None])
    for i in range(key.shape[0]):
        ki = kk[i]
        if both[i]:
            better &= ki[:, None, :] == ki[:, :, None]
        elif up[i] or down[i]:
            better &= ki[:, None, :] <= ki[:, :, None]
    strict = dd[:, None, :] > dd[:, :, None]
    for i in range(key.shape[0]):
        if up[i] or down[i]:
            strict |= kk[i][:, None, :] < kk[i][:, :, None]
    idx = np.arange(width)
    first = idx[None, :] < idx[:, None]  # j' before j
    beats = better & (strict | first[None, :, :])
    beats[:, idx, idx] = False
    dominated = beats.any(axis=2)
    return ~dominated[row_of, pos]


def highs_solver(options: Any, abs_gap: float = 1e-6) -> MipSolver:
    """A :data:`MipSolver` by HiGHS's branch and bound with ``options`` (a
    :class:`~ruimteverdeling.model.options.SolverOptions`) at relative gap 0 and absolute gap
    ``abs_gap``."""
    from ruimteverdeling.model.highs_backend import HighsBackend

    backend = HighsBackend()

    def solve(sub: ModelSpec, time_limit: float) -> tuple[str, np.ndarray | None, float | None]:
        out = backend.mip(sub, options, time_limit, 0.0, abs_gap=abs_gap)
        return out.status, out.x, out.bound

    return solve


def knapsack_solver(fallback: MipSolver) -> MipSolver:
    """A :data:`MipSolver` that solves a region holding one row ``Σ_j a_j x_j − c v ≤ u``
    (``a_j ≥ 0``, ``c > 0``) and at most one auxiliary ``v ∈ [l, h]`` (finite) priced
    ``μ ≤ 0`` — a province under a minimax level — by dynamic programming, and hands every
    other region to ``fallback``.

    With ``m_k`` the lightest weight of unit ``k``, ``M = Σ_k m_k`` and the weights above it in
    grid steps ``s`` (rounded down: exact where the weights are whole steps, a relaxation
    otherwise), the table ``F(κ)`` of the best gain within ``κ`` steps
    (:func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`'s tables) gives

        Z = max_{v ∈ [l, h]}  F(⌊(c v + u − M) / s⌋) + μ v + Σ_k f_k,

    ``f_k`` the unit's best weightless gain; ``F`` steps up only where ``c v + u − M`` is a
    whole number of steps, and ``μ v`` falls, so the maximum is at ``l`` or at one of those
    steps. Returns the status ``optimal`` (exact weights) or ``relaxed`` (rounded) and no
    allocation."""

    def solve(sub: ModelSpec, time_limit: float) -> tuple[str, np.ndarray | None, float | None]:
        shape = _single_knapsack(sub)
        if shape is None:
            return fallback(sub, time_limit)
        a, c, u, lo_v, hi_v, mu = shape
        unit, d = sub.col_unit, sub.obj[: sub.n_x]
        m_unit = np.full(sub.n_units, np.inf)
        np.minimum.at(m_unit, unit, a)
        extra = np.maximum(a - m_unit[unit], 0.0)
        total_m = float(m_unit.sum())
        step = st._grid_step(extra, max(1.0, c * hi_v + u - total_m))
        exact = bool(np.all(np.abs(extra / step - np.rint(extra / step)) <= 1e-9))
        opts = st._region_options(unit, extra, d, step)
        k_hi = int(np.floor((c * hi_v + u - total_m) / step + 1e-9))
        if k_hi < 0:
            return "infeasible", None, None
        table = st._knapsack_table(opts["units"], opts["q"], opts["g"], k_hi)
        k_lo = max(0, int(np.floor((c * lo_v + u - total_m) / step + 1e-9)))
        ks = np.arange(k_lo, k_hi + 1)
        v = np.maximum(lo_v, (ks * step + total_m - u) / c)
        best = float(np.max(table[ks] + mu * v)) + opts["free"]
        return ("optimal" if exact else "relaxed"), None, best

    return solve


def _single_knapsack(sub: ModelSpec) -> tuple[np.ndarray, float, float, float, float,
                                              float] | None:
    """``(a, c, u, l, h, μ)`` when ``sub`` has the shape :func:`knapsack_solver` solves."""
    if len(sub.coupling) != 1 or sub.coupling[0].n_rows != 1 or len(sub.aux_names) > 1:
        return None
    b = sub.coupling[0]
    if np.isfinite(b.lower[0]) or not np.isfinite(b.upper[0]):
        return None
    row = b.A.toarray()[0]
    a = row[: sub.n_x]
    if np.any(a < 0):
        return None
    if not sub.aux_names:
        return a, 1.0, float(b.upper[0]), 0.0, 0.0, 0.0
    c, mu = -float(row[sub.n_x]), float(sub.obj[sub.n_x])
    lo_v, hi_v = float(sub.aux_lb[0]), float(sub.aux_ub[0])
    if c <= 0 or mu > 0 or not (np.isfinite(lo_v) and np.isfinite(hi_v)):
        return None
    return a, c, float(b.upper[0]), lo_v, hi_v, mu
