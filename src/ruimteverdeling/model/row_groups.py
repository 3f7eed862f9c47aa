"""Rows over few units kept exactly inside the whole-cell knapsacks of a level.

The whole-cell knapsack bound (:func:`~ruimteverdeling.model.strengthen.knapsack_level_curve`)
keeps the assignment rows and a level's region rows ``Σ_j a_j x_j − c_r v ≤ u_r`` and moves
every other row into the objective with a multiplier (a Lagrangian relaxation). A row over a
handful of units — a share of a small polder, say — then costs its multiplier per unit of
activity, linearly, although whole cells meet it only in steps. This module keeps such rows as
constraints instead.

**Which rows.** A *group row* is a coupling row

    Σ_{j∈J} p_j x_j + g s ≥ b,      p_j ≥ 0,  g > 0,  s ∈ [l, u]  (or no ``s``),

whose binaries belong to at most :data:`MAX_UNITS` units, all in one region of the level (or in
none), whose auxiliary ``s`` (a shortfall, say) appears in no row outside the group, and whose
units are in no other group row. The row, and every derived row (one that every integer
solution of the model's own rows meets) whose columns lie within the group's units and
auxiliary, get multiplier zero.

**Why it is valid.** For multipliers ``y`` on the rows moved into the objective, the
Lagrangian function maximises ``(c − Aᵀy)·z`` over the kept constraints. Keeping more rows
shrinks the set it maximises over, and a multiplier of zero is a multiplier: the bound holds
for every integer allocation whatever ``y`` is. With the coverage exact (whole-number
coefficients, see below) it is never above the bound with the group's rows priced at any
``y_G`` of the right sign and the others at the same ``y``: the kept rows and the derived rows
within them hold for every choice the maximum is taken over, where a priced row only adds
``−y_r (A_r z − t_r) ≥ 0``.

**How a group is solved.** The group's units are taken as one unit of the region's
multiple-choice knapsack whose options are the group's total extra weight ``w`` (in the
region's grid steps, each column's weight rounded down as in the knapsack) with the value

    G(w) = max { Σ_j d_j x_j + d_s s : one column per unit, Σ steps = w,
                 Σ p_j x_j + g s ≥ b,  s ∈ [l, u] },

by dynamic programming over the units with the state (steps, coverage), the coverage
``Σ p_j x_j`` counted in steps of ``h`` each column's ``p_j`` rounded *up* (so a coverage is
never underestimated: a relaxation) and capped where the shortfall vanishes. With ``d_s ≤ 0``
the best ``s`` is ``max(l, (b − P)/g)`` (``−∞`` above ``u``); with ``d_s > 0`` it is ``u``.
Beyond the largest weight tabulated, ``W``, one option of weight ``W + 1`` carries the best
value over all weights (computed over the coverage alone), which bounds every heavier
choice.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

MAX_UNITS = 500
"""Most units a group row may cover."""
COVER_STEPS = 400
"""Most coverage steps of a group's table (the coverage step grows to keep within it)."""
WEIGHT_STEPS = 250
"""About the most weight steps of a group's table below the region's capacity: its step is a
multiple ``k ≤ ⌊capacity / WEIGHT_STEPS⌋`` of the region's grid step (weights rounded down: a
relaxation), see :func:`weight_step`. Measured on the demo area's peak level window
(``benchmarks/small.py --scan --groups``): with the step ``⌊capacity / 250⌋`` the bound is
the one at the region's own 1-ha step (1,628,189.21) in 1.4 s instead of 9 s; at 100 steps it
is 133 points weaker."""
FREQUENT_WEIGHTS = 2
"""The most frequent nonzero weights a group's step must divide (see :func:`weight_step`)."""
MAX_STATES = 2_000_000
"""Most (weight, coverage) states of a group's table (the weight range is cut to keep within
it; heavier choices get one bounding option)."""


@dataclass
class Group:
    """A group row: its stacked coupling-row index, units, auxiliary and the rows it zeroes."""

    row: int  # index in ``spec.coupling_matrix()``
    units: np.ndarray
    region: int  # the level's region of its units (−1: none)
    cols: np.ndarray  # every binary column of its units (sorted by unit)
    local: np.ndarray  # per column of ``cols``: its unit's position in ``units``
    p: np.ndarray  # per column of ``cols``: its coefficient in the row (0 if absent)
    b: float
    aux: int | None  # auxiliary column index (in the model's columns), or None
    g: float
    zeroed: np.ndarray  # stacked coupling-row indices whose multipliers become 0


def find_groups(A: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray, n_x: int,
                col_unit: np.ndarray, u_reg: np.ndarray, aux_lb: np.ndarray,
                skip: np.ndarray, derived: np.ndarray, max_units: int | None = None
                ) -> list[Group]:
    """The group rows of the coupling rows ``lo ≤ A z ≤ hi`` (``skip``: rows never kept, e.g.
    the level's own; ``derived``: rows that every integer solution of the other rows meets,
    such as the strengthening's, zeroed when they lie within a group), see the module
    docstring. Columns must be sorted by unit."""
    max_units = MAX_UNITS if max_units is None else max_units
    A = A.tocsr()
    n_rows = A.shape[0]
    starts = np.searchsorted(col_unit, np.arange(int(col_unit.max()) + 2 if n_x else 1))
    Ac = A[:, n_x:].tocsc()
    taken = np.zeros(u_reg.size, bool)
    row_units: list[np.ndarray | None] = [None] * n_rows
    for r in range(n_rows):
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        row_units[r] = np.unique(col_unit[cols[cols < n_x]])
    groups: list[Group] = []
    for r in range(n_rows):
        if skip[r] or not np.isfinite(lo[r]) or np.isfinite(hi[r]):
            continue
        s, e = A.indptr[r], A.indptr[r + 1]
        cols, vals = A.indices[s:e], A.data[s:e]
        isx = cols < n_x
        units = row_units[r]
        assert units is not None
        if not units.size or units.size > max_units or np.any(vals[isx] < 0) or \
                np.any(taken[units]):
            continue
        regs = np.unique(u_reg[units])
        regs = regs[regs >= 0]
        if regs.size > 1:
            continue
        aux_cols = cols[~isx]
        if aux_cols.size > 1:
            continue
        aux = None
        g = 0.0
        if aux_cols.size:
            aux, g = int(aux_cols[0]), float(vals[~isx][0])
            if g <= 0 or not np.isfinite(aux_lb[aux - n_x]):
                continue
        in_group = np.zeros(u_reg.size, bool)
        in_group[units] = True
        zeroed = [r]
        for q in np.flatnonzero(derived).tolist():
            qc = A.indices[A.indptr[q]:A.indptr[q + 1]]
            qu = row_units[q]
            assert qu is not None
            qa = qc[qc >= n_x]
            if qc.size and in_group[qu].all() and (qa.size == 0 or np.all(qa == aux)) and \
                    (qu.size or qa.size):
                zeroed.append(q)
        if aux is not None:  # the auxiliary may appear in no row outside the group
            rows_of_aux = Ac.indices[Ac.indptr[aux - n_x]:Ac.indptr[aux - n_x + 1]]
            if not np.isin(rows_of_aux, zeroed).all():
                continue
        gcols = np.concatenate([np.arange(starts[k], starts[k + 1]) for k in units])
        local = np.repeat(np.arange(units.size), starts[units + 1] - starts[units])
        p = np.zeros(gcols.size)
        pos = np.searchsorted(gcols, cols[isx])
        p[pos] = vals[isx]
        taken[units] = True
        groups.append(Group(r, units, int(regs[0]) if regs.size else -1, gcols, local, p,
                            float(lo[r]), aux, g, np.asarray(zeroed, np.int64)))
    return groups


def weight_step(weights: np.ndarray, step: float, k_max: int) -> float:
    """A group table's weight step: the largest ``k·step`` (``1 ≤ k ≤ k_max``) that divides
    the :data:`FREQUENT_WEIGHTS` most frequent nonzero ``weights`` (so those are exact and
    only the rarer ones are rounded down), else ``step`` itself."""
    w = np.round(weights[weights > 0] / step, 9)
    if k_max <= 1 or not w.size:
        return step
    vals, counts = np.unique(w, return_counts=True)
    top = vals[np.argsort(-counts, kind="stable")][:FREQUENT_WEIGHTS]
    if np.any(np.abs(top - np.rint(top)) > 1e-9):
        return step
    g = math.gcd(*(int(v) for v in np.rint(top)))
    best = max((k for k in range(1, min(k_max, g) + 1) if g % k == 0), default=1)
    return step * best


def _cover_step(p: np.ndarray, need: float) -> float:
    """The coverage step: the greatest common divisor of the coefficients when they are
    whole numbers, made coarser (rounding up coarsens too: still a relaxation) to keep the
    table within :data:`COVER_STEPS` steps of ``need``."""
    pos = p[p > 0]
    h = 0.0
    if pos.size and np.all(np.abs(pos - np.rint(pos)) <= 1e-9 * np.maximum(1.0, pos)):
        h = float(math.gcd(*(int(v) for v in np.rint(pos))))
    return max(h, need / COVER_STEPS, 1e-12)


def group_table(group: Group, steps: np.ndarray, d: np.ndarray, d_s: float, aux_lb: float,
                aux_ub: float, w_cap: int) -> tuple[np.ndarray, float] | None:
    """The group's values ``G(w)`` for ``w = 0..W`` (``−∞`` where none) and the best value over
    every weight (see the module docstring). ``steps``/``d``: per column of ``group.cols`` its
    extra weight in whole grid steps (rounded down) and its price; ``d_s``: the auxiliary's
    price. None when the group has no finite value (it is then left priced) or its auxiliary
    is unbounded where its price pulls."""
    b, g = group.b, group.g
    if group.aux is not None:
        if d_s > 0 and not np.isfinite(aux_ub):
            return None
        # coverage beyond which the auxiliary can sit at its best bound
        need = b - g * (aux_ub if d_s > 0 else aux_lb)
    else:
        need = b
    need = max(need, 0.0)
    h = _cover_step(group.p, need) if need > 0 else 1.0
    n_cov = math.ceil(need / h - 1e-9) if need > 0 else 0
    cov = np.minimum(np.ceil(group.p / h - 1e-9), n_cov).astype(np.int64)
    # the value of the auxiliary at each coverage step c (coverage at most h·c, rounded up)
    c_arr = np.arange(n_cov + 1) * h
    if group.aux is None:
        pen = np.where(c_arr >= b - 1e-9 * max(1.0, abs(b)), 0.0, -np.inf)
    elif d_s > 0:
        pen = np.where(b - c_arr <= g * aux_ub + 1e-9 * max(1.0, abs(b)), d_s * aux_ub, -np.inf)
    else:
        s_need = np.maximum(aux_lb, (b - c_arr) / g)
        pen = np.where(s_need <= aux_ub + 1e-12 * max(1.0, abs(aux_ub)), d_s * s_need, -np.inf)
    pen[-1] = max(pen[-1], d_s * (aux_ub if d_s > 0 else aux_lb)) if group.aux is not None \
        else 0.0
    unit = group.local
    bounds = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1], True])
    w_tot = int(np.maximum.reduceat(steps, bounds[:-1]).sum()) if steps.size else 0
    w_max = max(0, min(w_tot, w_cap, MAX_STATES // (n_cov + 1) - 1))
    # (weight, coverage) table, and the coverage table alone (every weight)
    f = np.full((w_max + 1, n_cov + 1), -np.inf)
    f[0, 0] = 0.0
    f1 = np.full(n_cov + 1, -np.inf)
    f1[0] = 0.0
    reach = 0  # the heaviest weight reached so far (rows above it are −∞)
    new = np.full_like(f, -np.inf)
    for a, e in itertools.pairwise(bounds.tolist()):
        # per (steps, coverage) pair the best price; dominated pairs add nothing
        seen: dict[tuple[int, int], float] = {}
        for qi, ci, vi in zip(steps[a:e].tolist(), cov[a:e].tolist(), d[a:e].tolist(),
                              strict=True):
            if seen.get((qi, ci), -np.inf) < vi:
                seen[(qi, ci)] = vi
        by_cover: dict[int, list[tuple[int, float]]] = {}
        for (qi, ci), vi in seen.items():
            if qi <= w_max and not any(q2 <= qi and c2 >= ci and v2 >= vi and
                                       (q2, c2) != (qi, ci) for (q2, c2), v2 in seen.items()):
                by_cover.setdefault(ci, []).append((qi, vi))
        # (a unit without a choice within the range leaves every entry −∞)
        top = min(w_max, reach + max((q for lst in by_cover.values() for q, _ in lst),
                                     default=0))
        new[: top + 1] = -np.inf
        for ci, lst in by_cover.items():
            sh = _shift_cover(f[: reach + 1], ci)
            for qi, vi in lst:
                n = min(reach, w_max - qi) + 1
                np.maximum(new[qi:qi + n], sh[:n] + vi, out=new[qi:qi + n])
        f, new = new, f
        reach = top
        best_c: dict[int, float] = {}
        for (_qi, ci), vi in seen.items():
            best_c[ci] = max(best_c.get(ci, -np.inf), vi)
        new1 = np.full_like(f1, -np.inf)
        for ci, vi in best_c.items():
            np.maximum(new1, _shift_cover(f1[None, :], ci)[0] + vi, out=new1)
        f1 = new1
    f[reach + 1:] = -np.inf
    vals = (f + pen[None, :]).max(axis=1)
    best = float((f1 + pen).max())
    if not np.isfinite(best):
        return None
    if w_max < w_tot:  # heavier choices: one option of weight W + 1 bounds them all
        vals = np.r_[vals, best]
    return vals, best


def _shift_cover(f: np.ndarray, c: int) -> np.ndarray:
    """``f`` with every coverage raised by ``c`` steps, saturating at the last step."""
    if c == 0:
        return f
    out = np.full_like(f, -np.inf)
    n = f.shape[1]
    if c < n:
        out[:, c:] = f[:, : n - c]
    out[:, -1] = np.maximum(out[:, -1], f[:, max(0, n - 1 - c):].max(axis=1))
    return out
