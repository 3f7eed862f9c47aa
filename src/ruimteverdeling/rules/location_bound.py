"""A bound for the location rules that stays valid: Lagrangian relaxation plus patch cuts.

The cell model without the location rules is a relaxation of the model with them, so its
bound ``z̄`` is valid but blind to the rules. This module computes a second valid bound that
sees them.

**Lagrangian relaxation.** Write the cell model as ``max c·x`` subject to one column per unit
(``Σ_{j∈u} x_j = 1``, ``x`` binary), the auxiliary columns within their bounds and the coupling
rows ``l ≤ A x ≤ u``. For any row prices ``π`` (here: the cell model's LP duals, either sign
convention — both give a valid bound and the smaller is kept) let ``π_i ≥ 0`` price the upper
side (``r_i = u_i``) and ``π_i < 0`` the lower side (``r_i = l_i``), and ``π_i = 0`` where that
side is infinite. Every ``x`` that meets the rows has ``π_i (r_i − A_i x) ≥ 0``, so

    c·x ≤ π·r + Σ_j d_j x_j,   d = c − Aᵀπ   (the reduced profits).

The right-hand side splits over units: unit ``u`` contributes ``b_u + Σ_T δ_u^T y_u^T`` with
``b_u`` the best ``d`` among its columns that add none of the located uses, ``a_u^T`` the best
among those that add use ``T``, ``δ_u^T = a_u^T − b_u`` and ``y_u^T ∈ {0, 1}`` whether the unit's
column adds ``T`` (``Σ_T y_u^T ≤ 1``; the located uses' column sets must be disjoint, else only
the first use is kept). The auxiliary columns add ``max(d_a·lb_a, d_a·ub_a)``. Maximising over
``y`` without the location rules gives ``L(π)``, equal to the LP optimum at optimal duals.

**Patch cuts (valid inequalities of the location rules).** Let ``Q̂_c`` be the most new
quantity cell ``c`` can hold (its best column; a pinned cell its fixed quantity) and ``m_c``
its minimum. Take a cell ``c`` and a set ``S ∋ c`` of cells with ``Σ_{s∈S} Q̂_s < m_c`` and no
cell of a committed location in ``S``, and let ``∂S`` be the cells outside ``S`` next to a
cell of ``S`` (4- or 8-neighbours as the rule says) that can take ``T``. Then

    y_c^T ≤ Σ_{n∈∂S} y_n^T.

*Proof.* If ``c`` is new ``T`` its patch ``P`` is connected and meets its minimum:
``Q(P) ≥ m(P) ≥ m_c`` unless ``P`` holds a committed cell. If ``P ⊆ S`` then
``Q(P) ≤ Σ_S Q̂ < m_c`` and ``P`` holds no committed cell — impossible. So ``P`` leaves ``S``;
a path inside ``P`` from ``c`` to a cell outside ``S`` crosses ``∂S`` at a cell of ``P``, which
is new ``T``: the right-hand side is ≥ 1. A cell of ``∂S`` pinned to new ``T`` makes the cut
trivial (it is not added). With ``∂S`` empty the cut fixes ``y_c^T = 0``: the cell's whole
reachable component cannot hold the minimum.

**The bound.** Every location-feasible allocation gives a ``y`` that meets every cut, so

    z* ≤ π·r + aux + Σ_u b_u + max { Σ_u Σ_T δ_u^T y_u^T : cuts, Σ_T y_u^T ≤ 1, 0 ≤ y ≤ 1 },

the last term an LP (relaxing ``y`` to ``[0, 1]`` only raises it). Its variables are the units
with ``δ > 0`` and those in a cut (a unit in no cut takes ``y = 1`` iff ``δ > 0``). The cuts
are separated from the LP solution ``y*`` a few rounds: for every ``c`` with ``y*_c > 0`` whose
``Q̂_c`` is below its minimum, ``S`` grows from ``{c}`` by the boundary cell of largest ``y*``
until the cut is violated or ``Σ_S Q̂`` reaches ``m_c``. Every round's LP optimum gives a valid
bound (the cuts are valid whether or not all violated ones were found); the smallest is kept,
and the reported bound is ``min(z̄, this)``.

**Where it is weak.** The prices ``π`` are the cell model's; the rules would move them (a
dearer homes target, say), and no step here re-optimises them. The LP over ``y`` may still
spread fractional support over several neighbours. The integrality gap of the cell model
itself (``z_LP`` against the MIP's dual bound) is not recovered here.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.model.spec import ModelSpec, RowBlock

ROUNDS = 200
"""Rounds of separating patch cuts and re-solving the LP over ``y``."""
EPS = 1e-7
LP_TOL = 1e-7
"""HiGHS's default dual feasibility tolerance (see :func:`_solve_lp`)."""


@dataclass
class LocatedUse:
    """What the bound needs of one located use, per land cell."""

    use: str
    contiguity: int
    minimum: np.ndarray  # m_c per land cell
    committed: np.ndarray  # bool per land cell
    col_in: np.ndarray  # bool per x column: the column adds the use
    q_col: np.ndarray  # new quantity per x column
    pinned_q: np.ndarray  # new quantity of pinned (non-unit) land cells (0 for units)


@dataclass
class LagrangeBound:
    """The result: the bound, the plain Lagrangian value and what the LP did."""

    bound: float
    lagrangian: float
    rounds: list[dict[str, float]] = field(default_factory=list)
    cuts: int = 0
    seconds: float = 0.0
    y: dict[str, np.ndarray] = field(default_factory=dict)
    """Per use, per land cell: the last LP's ``y`` (guides new candidate locations)."""
    cut_list: list[tuple[str, int, list[int]]] = field(default_factory=list)
    """The patch cuts found: (use, land cell c, land cells of ∂S)."""
    d: np.ndarray | None = None
    """The reduced profits ``d = c − Aᵀπ`` of the x columns (guide the growth of candidates)."""
    time_limit_cut: bool = False
    """Whether the time cap stopped the rounds before their count (the bound is still valid,
    only weaker, and may differ on a machine under another load)."""

    def to_json(self) -> dict[str, Any]:
        return {"bound": self.bound, "lagrangian": self.lagrangian, "cuts": self.cuts,
                "rounds": self.rounds, "seconds": round(self.seconds, 3)}


def lagrangian_parts(spec: ModelSpec, row_dual: np.ndarray,
                     signs: tuple[float, ...] = (1.0, -1.0)
                     ) -> tuple[float, np.ndarray] | None:
    """``(π·r + aux + offset, d)`` for the sign convention of ``row_dual`` giving the smaller
    ``L(π)`` (of ``signs``); None when neither is finite. ``row_dual`` covers every row
    (assignment first)."""
    if row_dual is None or row_dual.size != spec.n_rows:
        return None
    pi_all = np.asarray(row_dual, float)[spec.n_units:]
    best: tuple[float, float, np.ndarray] | None = None
    for sign in signs:
        const = spec.obj_offset
        d = spec.obj.astype(float).copy()
        r0 = 0
        for b in spec.coupling:
            pi = sign * pi_all[r0: r0 + b.n_rows]
            r0 += b.n_rows
            pi = np.where((pi > 0) & ~np.isfinite(b.upper), 0.0, pi)
            pi = np.where((pi < 0) & ~np.isfinite(b.lower), 0.0, pi)
            nz = pi != 0
            if not nz.any():
                continue
            side = np.where(pi > 0, b.upper, b.lower)
            const += float(pi[nz] @ side[nz])
            d -= b.A.T @ pi
        da = d[spec.n_x:]
        pos, neg = da > 0, da < 0
        aux = float(spec.aux_ub[pos] @ da[pos]) + float(spec.aux_lb[neg] @ da[neg])
        if not np.isfinite(aux):
            continue
        units = _unit_max(spec, d[: spec.n_x], np.ones(spec.n_x, bool))
        total = const + aux + float(units.sum())
        if not np.isfinite(total):
            continue
        if best is None or total < best[0]:
            best = (total, const + aux, d)
    if best is None:
        return None
    return best[1], best[2]


def _unit_max(spec: ModelSpec, d: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per unit, the largest ``d`` among its columns in ``mask`` (−inf if none)."""
    cu = spec.col_unit
    if cu.size == 0:
        return np.full(spec.n_units, -np.inf)
    if np.all(cu[1:] >= cu[:-1]):  # columns grouped by unit (as the builder makes them)
        starts = np.flatnonzero(np.r_[True, cu[1:] != cu[:-1]])
        out = np.full(spec.n_units, -np.inf)
        out[cu[starts]] = np.maximum.reduceat(np.where(mask, d, -np.inf), starts)
        return out
    out = np.full(spec.n_units, -np.inf)
    cols = np.flatnonzero(mask)
    if cols.size:
        np.maximum.at(out, cu[cols], d[cols])
    return out


def location_bound(spec: ModelSpec, row_dual: np.ndarray | None, uses: list[LocatedUse],
                   land_cells: np.ndarray, unit_land: np.ndarray, shape: tuple[int, int],
                   time_limit: float = 60.0, say: Any = None) -> LagrangeBound | None:
    """The Lagrangian bound with patch cuts (see the module docstring); None without duals.

    ``land_cells`` are the flat grid indices of the land cells, ``unit_land`` the land index
    of every unit. The rounds stop when no cut is violated or after ``ROUNDS`` (a count of
    work: the same bound at any load); ``time_limit`` is a cap behind them, and the result's
    ``time_limit_cut`` says whether it stopped them."""
    say = say or (lambda m: None)
    t0 = time.perf_counter()
    parts = lagrangian_parts(spec, row_dual) if row_dual is not None else None
    if parts is None:
        return None
    const, d = parts
    dx = d[: spec.n_x]
    # keep located uses whose column sets are disjoint
    taken = np.zeros(spec.n_x, bool)
    kept: list[LocatedUse] = []
    for lu in uses:
        if (lu.col_in & taken).any():
            continue
        taken |= lu.col_in
        kept.append(lu)
    b = _unit_max(spec, dx, ~taken)
    a = [_unit_max(spec, dx, lu.col_in) for lu in kept]
    lagr = const + float(np.maximum(b, np.max(a, axis=0) if a else -np.inf).sum())
    n_land = land_cells.size
    unit_of_land = np.full(n_land, -1, np.int64)
    unit_of_land[unit_land] = np.arange(spec.n_units)
    land_of_flat = np.full(shape[0] * shape[1], -1, np.int64)
    land_of_flat[land_cells] = np.arange(n_land)
    # per use: δ per unit, Q̂ per land cell, whether a land cell can take the use
    per_use = []
    for lu, a_t in zip(kept, a, strict=True):
        qmax = np.zeros(n_land)
        qu = np.zeros(spec.n_units)
        cols = np.flatnonzero(lu.col_in)
        np.maximum.at(qu, spec.col_unit[cols], lu.q_col[cols])
        qmax[unit_land] = qu
        pinned = lu.pinned_q > 0
        qmax[pinned] = lu.pinned_q[pinned]
        can = np.isfinite(a_t)
        can_land = np.zeros(n_land, bool)
        can_land[unit_land] = can
        delta = a_t - np.where(np.isfinite(b), b, 0.0)  # b = −inf: the unit must take a use
        per_use.append({"delta": delta, "qmax": qmax, "can": can_land, "pinned": pinned})
    # variables: (use index, unit) pairs; start with δ > 0 and units that must take a use
    var_of: list[dict[int, int]] = [dict() for _ in kept]
    var_use: list[int] = []
    var_unit: list[int] = []

    def var(t: int, unit: int) -> int:
        v = var_of[t].get(unit)
        if v is None:
            v = var_of[t][unit] = len(var_use)
            var_use.append(t)
            var_unit.append(unit)
        return v

    must = ~np.isfinite(b)  # a unit with only located columns takes one of them
    for t, pu in enumerate(per_use):
        for unit in np.flatnonzero((pu["delta"] > 0) | (must & np.isfinite(pu["delta"]))):
            var(t, int(unit))
    cuts: list[tuple[int, int, list[int]]] = []  # (use, land cell c, land cells of ∂S)
    seen_cuts: set[tuple[int, int, tuple[int, ...]]] = set()
    # round 0: y* = 1 where δ is the unit's best positive choice
    y_land = [np.zeros(n_land) for _ in kept]
    best_t = np.argmax(np.stack([pu["delta"] for pu in per_use]), axis=0) if kept else None
    for t, pu in enumerate(per_use):
        on = (pu["delta"] > 0) & (best_t == t)
        y_land[t][unit_land[on]] = 1.0
        y_land[t][pu["pinned"]] = 1.0
    result = LagrangeBound(bound=np.inf, lagrangian=lagr)
    deadline = t0 + time_limit
    for rnd in range(ROUNDS):
        new = 0
        for t, (lu, pu) in enumerate(zip(kept, per_use, strict=True)):
            new += _separate(t, lu, pu, y_land[t], land_cells, land_of_flat, shape,
                             cuts, seen_cuts, deadline)
        if new == 0 and rnd > 0:
            break
        for t, c, bnd in cuts[-new:] if new else []:
            var(t, int(unit_of_land[c]))
            for n in bnd:
                var(t, int(unit_of_land[n]))
        value, y = _solve_lp(spec, kept, per_use, var_use, var_unit, cuts, var_of,
                             unit_of_land, must)
        if value is None:
            break
        # every unit with δ > 0 (or that must take a located use) has a variable; the
        # rest take y = 0 and contribute b only
        bound = const + float(np.where(must, 0.0, b).sum()) + value
        result.bound = min(result.bound, bound)
        result.rounds.append({"round": rnd, "cuts": len(cuts), "variables": len(var_use),
                              "bound": bound})
        say(f"location bound round {rnd}: {len(cuts):,} patch cuts over {len(var_use):,} "
            f"cells, bound {bound:,.4f} (Lagrangian without cuts {lagr:,.4f})")
        for t in range(len(kept)):
            y_land[t][:] = 0.0
            y_land[t][per_use[t]["pinned"]] = 1.0
        for v, (t, unit) in enumerate(zip(var_use, var_unit, strict=True)):
            y_land[t][unit_land[unit]] = y[v]
        if time.perf_counter() > deadline:  # the cap, not the budget: say so
            result.time_limit_cut = rnd + 1 < ROUNDS
            break
    if not np.isfinite(result.bound):
        return None
    result.cuts = len(cuts)
    result.cut_list = [(kept[t].use, c, bnd) for t, c, bnd in cuts]
    result.y = {lu.use: y_land[t] for t, lu in enumerate(kept)}
    result.d = dx
    result.seconds = time.perf_counter() - t0
    return result


def _separate(t: int, lu: LocatedUse, pu: dict[str, np.ndarray], y: np.ndarray,
              land_cells: np.ndarray, land_of_flat: np.ndarray, shape: tuple[int, int],
              cuts: list[tuple[int, int, list[int]]],
              seen: set[tuple[int, int, tuple[int, ...]]], deadline: float = np.inf) -> int:
    """Add the violated patch cuts found by growing ``S`` from every cell with ``y* > 0``
    below its minimum (until ``deadline``: the cuts found so far are as valid); returns how
    many were added."""
    qmax, can, pinned = pu["qmax"], pu["can"], pu["pinned"]
    cand = np.flatnonzero((y > EPS) & can & ~pinned & (lu.minimum > qmax + 1e-9)
                          & ~lu.committed)
    added = 0
    for i, c in enumerate(cand):
        if i % 256 == 255 and time.perf_counter() > deadline:
            break
        bnd = _violated_boundary(int(c), lu, pu, y, land_cells, land_of_flat, shape)
        if bnd is None:
            continue
        key = (t, int(c), tuple(bnd))
        if key not in seen:
            seen.add(key)
            cuts.append((t, int(c), bnd))
            added += 1
    return added


def neighbours(flat: int, shape: tuple[int, int], contiguity: int) -> list[int]:
    """Flat indices of the 4- (or 8-) neighbours of a grid cell."""
    h, w = shape
    r, c = divmod(flat, w)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if contiguity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    return [(r + dr) * w + (c + dc) for dr, dc in steps
            if 0 <= r + dr < h and 0 <= c + dc < w]


def _violated_boundary(c: int, lu: LocatedUse, pu: dict[str, np.ndarray], y: np.ndarray,
                       land_cells: np.ndarray, land_of_flat: np.ndarray,
                       shape: tuple[int, int]) -> list[int] | None:
    """``∂S`` (sorted land cells) of a set ``S ∋ c`` with ``Σ_S Q̂ < m_c``, no committed
    cell and ``y*_c > Σ_{∂S} y*``, grown from ``{c}`` by the boundary cell of largest
    ``y*``; None if none is found (or a pinned new cell borders ``S``)."""
    qmax, can, pinned = pu["qmax"], pu["can"], pu["pinned"]
    m_c = float(lu.minimum[c])
    in_s = {c}
    q_s = float(qmax[c])
    bnd: dict[int, float] = {}
    heap: list[tuple[float, int]] = []
    total = 0.0
    cell = c
    while True:
        for nb in neighbours(int(land_cells[cell]), shape, lu.contiguity):
            li = int(land_of_flat[nb])
            if li < 0 or li in in_s or li in bnd:
                continue
            if pinned[li]:
                return None  # a pinned new cell next to S: the cut is trivial
            if can[li]:
                bnd[li] = float(y[li])
                total += bnd[li]
                heapq.heappush(heap, (-bnd[li], li))
        if y[c] - total > 1e-6:
            return sorted(bnd)
        nxt = -1
        while heap:
            _, li = heapq.heappop(heap)
            if li in bnd:
                nxt = li
                break
        if nxt < 0 or y[nxt] <= EPS or lu.committed[nxt] \
                or q_s + qmax[nxt] >= m_c - 1e-9:
            return None
        total -= bnd.pop(nxt)
        in_s.add(nxt)
        q_s += float(qmax[nxt])
        cell = nxt


def _solve_lp(spec: ModelSpec, kept: list[LocatedUse], per_use: list[dict[str, np.ndarray]],
              var_use: list[int], var_unit: list[int], cuts: list[tuple[int, int, list[int]]],
              var_of: list[dict[int, int]], unit_of_land: np.ndarray, must: np.ndarray
              ) -> tuple[float | None, np.ndarray]:
    """``max Σ δ y`` over the variables subject to the cuts, ``Σ_T y_u^T ≤ 1`` (``= 1`` for
    a unit with only located columns, whose δ is its ``a``), ``0 ≤ y ≤ 1``."""
    import highspy

    from ruimteverdeling.model import highs_backend as hb

    n = len(var_use)
    vu = np.asarray(var_use, np.int64)
    vn = np.asarray(var_unit, np.int64)
    delta = np.array([per_use[t]["delta"][u] for t, u in zip(vu, vn, strict=True)]) \
        if n else np.empty(0)
    # a unit that must take a located use: its b is −inf; count a (via δ = a − 0)
    mb = must[vn] if n else np.zeros(0, bool)
    rows, cols, vals, lo, up = [], [], [], [], []
    r = 0
    for t, c, bnd in cuts:
        vc = var_of[t][int(unit_of_land[c])]
        rows.append(r)
        cols.append(vc)
        vals.append(1.0)
        for nb in bnd:
            rows.append(r)
            cols.append(var_of[t][int(unit_of_land[nb])])
            vals.append(-1.0)
        lo.append(-np.inf)
        up.append(0.0)
        r += 1
    # one located use per unit
    if len(kept) > 1 and n:
        order = np.argsort(vn, kind="stable")
        su = vn[order]
        starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]])
        ends = np.r_[starts[1:], su.size]
        for s, e in zip(starts, ends, strict=True):
            if e - s < 2 and not must[su[s]]:
                continue
            for k in range(s, e):
                rows.append(r)
                cols.append(int(order[k]))
                vals.append(1.0)
            lo.append(1.0 if must[su[s]] else -np.inf)
            up.append(1.0)
            r += 1
    lb = np.zeros(n)
    if len(kept) == 1 and n:
        lb[mb] = 1.0
    if n == 0:
        return 0.0, np.empty(0)
    A = sp.csr_matrix((vals, (rows, cols)), shape=(r, n)) if r else sp.csr_matrix((0, n))
    h = hb.new_highs(threads=1)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = r
    lp.col_cost_ = np.asarray(delta, float)
    lp.col_lower_ = lb
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.asarray(lo, float)
    lp.row_upper_ = np.asarray(up, float)
    lp.sense_ = highspy.ObjSense.kMaximize
    csc = A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr
    lp.a_matrix_.index_ = csc.indices
    lp.a_matrix_.value_ = csc.data
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = r
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, np.zeros(n)
    sol = h.getSolution()
    # its optimal value, raised by what HiGHS's dual feasibility tolerance could hide (every
    # reduced cost within LP_TOL of its sign, every y within [0, 1]) so the figure stays an
    # upper bound of the LP
    value = float(h.getInfo().objective_function_value) + LP_TOL * (n + float(np.abs(
        delta).sum()))
    return value, np.clip(np.asarray(sol.col_value), 0.0, 1.0)


def cut_block(spec: ModelSpec, uses: list[LocatedUse], cuts: list[tuple[str, int, list[int]]],
              unit_of_land: np.ndarray) -> Any:
    """The patch cuts as rows over the x columns, ``Σ_{j∈T(c)} x_j − Σ_{n∈∂S} Σ_{j∈T(n)} x_j
    ≤ 0`` with ``T(c)`` the columns of cell ``c`` that add the use (a RowBlock)."""
    by_use = {lu.use: lu for lu in uses}
    rows, cols, vals = [], [], []
    for use, lu in by_use.items():
        cs = np.flatnonzero(lu.col_in)
        order = np.argsort(spec.col_unit[cs], kind="stable")
        cs = cs[order]
        cu = spec.col_unit[cs]
        start = np.searchsorted(cu, np.arange(spec.n_units))
        end = np.searchsorted(cu, np.arange(spec.n_units), side="right")
        for r, (u2, c, bnd) in enumerate(cuts):
            if u2 != use:
                continue
            for cell, sign in [(c, 1.0)] + [(n, -1.0) for n in bnd]:
                unit = int(unit_of_land[cell])
                js = cs[start[unit]:end[unit]]
                rows += [r] * js.size
                cols += js.tolist()
                vals += [sign] * js.size
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(cuts), spec.n_cols))
    return RowBlock("location_patch_cuts", "cut", A, np.full(len(cuts), -np.inf),
                    np.zeros(len(cuts)))


def strengthened_bound(spec: ModelSpec, row_dual: np.ndarray | None, uses: list[LocatedUse],
                       land_cells: np.ndarray, unit_land: np.ndarray,
                       shape: tuple[int, int], options: Any, time_limit: float,
                       say: Any = None, basis: Any = None,
                       stop_without_new_cuts: bool = True) -> LagrangeBound | None:
    """:func:`location_bound`, then rounds of: add its patch cuts to the cell model as rows
    (valid inequalities, so the model stays a relaxation of the location rules), solve that
    LP for new prices (column generation from the old prices on national models), and take
    :func:`location_bound` again at them. Every round's figure is a valid bound; the smallest
    is returned (with the last round's ``y`` and ``d``). ``basis``: an optimal simplex basis
    of ``spec``'s LP (its columns and rows): the first round's LP starts from it (the cuts
    basic, as their slack: still dual feasible), each later one from the round before, where
    the crash basis would start far from the answer (a Pareto point's ε row, over every
    column, is tight at the optimum). It runs ``LP_ROUNDS`` rounds, fewer when a round's
    prices separate no new cut (the next round would re-solve the same LP from its optimal
    basis: the same prices, the same bound); ``time_limit`` is only a cap behind that count
    (``time_limit_cut`` on the result when it stopped a round). ``stop_without_new_cuts``
    False runs those repeated rounds anyway (to check that they change nothing)."""
    say = say or (lambda m: None)
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    lp_rounds = LP_ROUNDS if spec.n_x <= LP_ROUNDS_MAX_COLUMNS and (
        spec.n_x <= LP_ROUNDS_QUICK_COLUMNS or time_limit >= LP_ROUNDS_MIN_SECONDS) else 0
    first = location_bound(spec, row_dual, uses, land_cells, unit_land, shape,
                           time_limit, say)
    if first is None:
        return None
    best = first
    unit_of_land = np.full(land_cells.size, -1, np.int64)
    unit_of_land[unit_land] = np.arange(spec.n_units)
    all_cuts = list(first.cut_list)
    dual = row_dual
    for _ in range(lp_rounds):
        left = deadline - time.perf_counter()
        if not all_cuts:
            break
        if left <= 0.0:  # the cap, not the count of rounds
            best.time_limit_cut = True
            break
        block = cut_block(spec, uses, all_cuts, unit_of_land)
        work = spec.with_rows(block)
        lp = _cell_lp(work, dual, options, left, basis)
        if lp is None:
            best.time_limit_cut = time.perf_counter() >= deadline
            break
        lp_bound, dual, basis = lp
        say(f"location bound: cell model with {len(all_cuts):,} patch cuts, LP bound "
            f"{lp_bound:,.4f}")
        nxt = location_bound(work, dual, uses, land_cells, unit_land, shape,
                             max(0.0, deadline - time.perf_counter()), say)
        if nxt is not None and nxt.time_limit_cut:
            best.time_limit_cut = True
        cand = min(lp_bound, nxt.bound) if nxt is not None else lp_bound
        best.rounds.append({"round": f"lp {len(best.rounds)}", "cuts": len(all_cuts),
                            "bound": cand})
        if cand < best.bound:
            best.bound = cand
            if nxt is not None:
                best.y, best.d = nxt.y, nxt.d
        if nxt is None:
            break
        known = {(u, c, tuple(b)) for u, c, b in all_cuts}
        fresh = [k for k in nxt.cut_list if (k[0], k[1], tuple(k[2])) not in known]
        if not fresh and stop_without_new_cuts:
            # the next round's LP would be this one again (same rows, started from its
            # optimal basis): the same prices, the same bound; stop here
            break
        all_cuts += fresh
    best.cuts = len(all_cuts)
    best.seconds = time.perf_counter() - t0
    return best


LP_ROUNDS = 3
"""Rounds of re-solving the cell model's LP with the patch cuts for new prices."""
LP_ROUNDS_QUICK_COLUMNS = 1_000_000
LP_ROUNDS_MIN_SECONDS = 60.0
"""Above ``LP_ROUNDS_QUICK_COLUMNS`` x columns and below this share the LP rounds are skipped
too: at ~250 m (4.7 M columns, loaded machine)
one round took 25-28 s, and one cut short at its deadline returned a bound weaker than the
rounds of cuts at fixed prices had already proven (1,567,598 against 1,567,530)."""
LP_ROUNDS_MAX_COLUMNS = 10_000_000
"""Above this many x columns the LP rounds are skipped: at ~100 m (29 M columns) one round of
column generation from the old prices with the cuts did not move the bound in 140 s, while
the rounds of cuts at fixed prices take about a second each."""


def _cell_lp(work: ModelSpec, row_dual: np.ndarray | None, options: Any, time_limit: float,
             basis: Any = None) -> tuple[float, np.ndarray, Any] | None:
    """(a valid LP bound, row duals, the optimal basis or None) of the cell model with the
    cuts, its simplex from ``basis`` (a basis of ``work`` less some of its last rows) when
    given; None if unsolved."""
    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.solve import backend_for

    backend = backend_for(options)
    if work.n_x > options.decompose_above and backend.name == "highs":
        n_old = 0 if row_dual is None else row_dual.size - work.n_units
        y0 = None
        if row_dual is not None:
            y0 = np.concatenate([row_dual[work.n_units:],
                                 np.zeros(work.n_rows - work.n_units - n_old)])
        res = decompose.lp(work, options, backend, lambda m: None,
                           time.perf_counter() + time_limit, y_init=y0)
        return float(res["bound"]), np.asarray(res["row_dual"], float), None
    fits = basis is not None and basis.col.size == work.n_cols and \
        basis.row.size <= work.n_rows
    lp = backend.lp(work, options, time_limit, basis=basis if fits else None,
                    want_basis=basis is not None)
    if lp.status != "optimal" or lp.objective is None or lp.row_dual is None:
        return None
    return float(lp.objective), np.asarray(lp.row_dual, float), lp.basis
