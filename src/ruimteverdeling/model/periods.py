"""Several planning periods as one model: a column is a *trajectory* of a unit.

Given one ModelSpec per period ``p = 1..P`` (the same kind of unit, e.g. a cell, in every
period; a unit may have columns in one period and be fixed in another) and, for every
trajectory column ``j`` of the joint model, the column ``m_p(j)`` of period ``p``'s model
that the trajectory takes in that period (``-1`` when the unit is fixed in that period, its
contribution then being part of that model's constants), the joint model is

    maximise   Σ_p w_p · (c_p · M_p z + c_p^aux · y_p + offset_p)
    subject to Σ_{j ∈ unit k} z_j = 1                         for every unit k
               lo_p ≤ A_p [M_p z ; y_p] ≤ hi_p                 for every period p
               z_j ∈ {0, 1},  y_p the auxiliary columns of period p

with ``M_p`` the 0/1 matrix that sends trajectory ``j`` to column ``m_p(j)`` (one entry
per column at most). Because every trajectory column sits in exactly one assignment row, the
joint model keeps the semi-assignment structure of a single period: the LP-first strategy,
the Lagrangian bound and column generation of :mod:`ruimteverdeling.model.solve` apply
unchanged. When there are too many trajectories to store, they stay implicit
(:class:`Trajectories`) and are priced per unit from the periods' reduced costs
(:func:`price`, :func:`generate`).

For a trajectory solution ``z`` the solution of period ``p`` is ``x_p = [M_p z ; y_p]``: a
feasible solution of that period's model, so every single-period report can be made from it.

Row blocks and terms of period ``p`` get the suffix ``@<label>`` (``targets:homes@2030``);
the status quo of the joint model is ``Σ_p w_p · sq_p``. The weights ``w_p`` are given by the
caller (the length of each period in years, see :mod:`ruimteverdeling.rules.pathways`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.model.spec import ModelSpec, RowBlock, Term


@dataclass
class PeriodModel:
    """The joint model and how its columns map to each period's model."""

    spec: ModelSpec
    periods: list[ModelSpec]
    labels: list[str]
    weights: np.ndarray
    col_map: np.ndarray  # (P, n_x) column of period p's model, -1 where fixed in p
    aux_start: list[int]  # first joint column of each period's auxiliary columns
    block_period: dict[str, int]  # joint block name -> period index
    period_obj: list[np.ndarray]  # per period: its weighted objective over the joint columns
    period_offset: list[float]  # per period: its weighted objective offset

    def project(self, x: np.ndarray, p: int) -> np.ndarray:
        """The solution of period ``p``'s model that the joint solution ``x`` implies."""
        s = self.periods[p]
        out = np.zeros(s.n_cols)
        cols = self.col_map[p]
        ok = cols >= 0
        np.add.at(out, cols[ok], x[: self.spec.n_x][ok])
        n_aux = len(s.aux_names)
        out[s.n_x:] = x[self.aux_start[p]: self.aux_start[p] + n_aux]
        return out

    def period_value(self, x: np.ndarray, p: int) -> float:
        """Period ``p``'s weighted share of the joint objective at ``x``."""
        return float(self.period_obj[p] @ x) + self.period_offset[p]

    def up_to(self, k: int) -> ModelSpec:
        """The joint model seen from period ``k`` (0-based): the objective and rows of the
        periods after ``k`` are dropped and their auxiliary columns fixed at their lower
        bound (or 0) — what a planner who looks no further than period ``k`` optimises."""
        spec = self.spec
        obj = np.zeros(spec.n_cols)
        offset = 0.0
        for p in range(k + 1):
            obj += self.period_obj[p]
            offset += self.period_offset[p]
        lb, ub = spec.aux_lb.copy(), spec.aux_ub.copy()
        for p in range(k + 1, len(self.periods)):
            a = self.aux_start[p] - spec.n_x
            n = len(self.periods[p].aux_names)
            fix = np.where(np.isfinite(lb[a:a + n]), np.maximum(lb[a:a + n], 0.0), 0.0)
            fix = np.minimum(fix, ub[a:a + n])
            lb[a:a + n] = fix
            ub[a:a + n] = fix
        blocks = [b for b in spec.coupling if self.block_period.get(b.name, 0) <= k]
        terms = [t for t in spec.terms if _term_period(t.name, self.labels) <= k]
        sq = None
        if all(s.status_quo_value is not None for s in self.periods[: k + 1]):
            sq = float(sum(self.weights[p] * self.periods[p].status_quo_value
                           for p in range(k + 1)))
        return replace(spec, coupling=blocks, terms=terms, obj=obj, obj_offset=offset,
                       aux_lb=lb, aux_ub=ub, status_quo_value=sq)


def _term_period(name: str, labels: list[str]) -> int:
    label = name.rsplit("@", 1)[-1]
    return labels.index(label) if label in labels else 0


def stack(periods: list[ModelSpec], labels: list[str], weights: np.ndarray,
          col_unit: np.ndarray, unit_cells: np.ndarray, col_map: np.ndarray,
          col_use: np.ndarray) -> PeriodModel:
    """The joint model of ``periods`` over the trajectory columns (see the module docstring).

    ``col_unit`` (sorted) and ``col_map`` (shape ``(P, n_x)``) describe the trajectory
    columns; ``col_use`` is what the joint model reports as each column's use (the caller's
    choice, e.g. the use in the last period).
    """
    P = len(periods)
    weights = np.asarray(weights, float)
    col_map = np.asarray(col_map)
    n_x = int(col_unit.size)
    aux_names: list[str] = []
    aux_lb, aux_ub, aux_int = [], [], []
    aux_start = []
    for p, s in enumerate(periods):
        aux_start.append(n_x + len(aux_names))
        aux_names += [f"{n}@{labels[p]}" for n in s.aux_names]
        aux_lb.append(s.aux_lb)
        aux_ub.append(s.aux_ub)
        aux_int.append(np.zeros(len(s.aux_names), bool) if s.aux_integral is None
                       else np.asarray(s.aux_integral, bool))
    n_cols = n_x + len(aux_names)
    blocks: list[RowBlock] = []
    block_period: dict[str, int] = {}
    terms: list[Term] = []
    period_obj, period_offset = [], []
    for p, s in enumerate(periods):
        M = _selection(s, col_map[p], aux_start[p], n_cols)  # (s.n_cols, n_cols)
        for b in s.coupling:
            name = f"{b.name}@{labels[p]}"
            blocks.append(replace(b, name=name, A=(b.A @ M).tocsr(),
                                  meta={**b.meta, "period": labels[p]}))
            block_period[name] = p
        obj = np.asarray(M.T @ s.obj).ravel() * weights[p]
        period_obj.append(obj)
        period_offset.append(weights[p] * s.obj_offset)
        for t in s.terms:
            coef = None if t.coef is None else np.asarray(M.T @ t.coef).ravel()
            terms.append(Term(f"{t.name}@{labels[p]}", t.sense, t.weight * weights[p], coef,
                              t.constant, t.unit, t.description))
    obj = np.sum(period_obj, axis=0) if P else np.zeros(n_cols)
    sq = None
    if all(s.status_quo_value is not None for s in periods):
        sq = float(sum(weights[p] * s.status_quo_value for p, s in enumerate(periods)))
    ints = np.concatenate(aux_int) if aux_int else np.zeros(0, bool)
    spec = ModelSpec(n_x, np.asarray(col_unit, np.int32), np.asarray(col_use, np.int16),
                     np.asarray(unit_cells, np.int64), aux_names,
                     np.concatenate(aux_lb) if aux_lb else np.zeros(0),
                     np.concatenate(aux_ub) if aux_ub else np.zeros(0), blocks, terms, obj,
                     float(sum(period_offset)), status_quo_value=sq,
                     aux_integral=ints if ints.any() else None)
    return PeriodModel(spec, periods, list(labels), weights, col_map, aux_start, block_period,
                       period_obj, period_offset)


def _selection(s: ModelSpec, cols: np.ndarray, aux_start: int, n_cols: int) -> sp.csr_matrix:
    """The 0/1 matrix sending joint columns to period columns (rows: period columns)."""
    ok = np.flatnonzero(cols >= 0)
    n_aux = len(s.aux_names)
    rows = np.concatenate([cols[ok], s.n_x + np.arange(n_aux)])
    jcols = np.concatenate([ok, aux_start + np.arange(n_aux)])
    return sp.csr_matrix((np.ones(rows.size), (rows, jcols)), shape=(s.n_cols, n_cols))


def unique_keys(*arrays: np.ndarray) -> np.ndarray:
    """The sorted distinct values of the integer ``arrays`` together: by one sort and a
    neighbour comparison (numpy's ``unique``/``union1d`` hash instead, tens of times slower
    on the millions of trajectory keys of a national model)."""
    a = np.sort(np.concatenate([np.asarray(x, np.int64).ravel() for x in arrays]))
    if a.size < 2:
        return a
    keep = np.empty(a.size, bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


# ------------------------------------------------------------------------------------------------
# trajectories kept implicit: pricing and column generation
# ------------------------------------------------------------------------------------------------
KEEP = -1
"""A template's symbol for 'the unit's current use'."""

CHUNK = 200_000
"""Units priced at once (bounds the pricing's working memory to a few hundred MB: the
suffix sums are ``P × |U|`` values per unit)."""


@dataclass
class Trajectories:
    """Every trajectory of every unit, held implicitly: a template list and a validity mask.

    Template ``t`` gives a use per period (``KEEP`` for the unit's current use ``e_k``); unit
    ``k`` may take template ``t`` when ``valid[t, k]``. Column ``(k, t)`` has the key
    ``k·T + t``; sorted keys are sorted by unit, as a ModelSpec's columns must be. In period
    ``p`` the column is period model ``p``'s column ``col_of[p][k, u_p]`` (``-1``: the pair is
    fixed in that period and its value is in the period's constants).

    With per-period reduced costs ``ρ_p`` (over period ``p``'s columns) the reduced cost of
    trajectory ``(k, t)`` in the joint model is ``Σ_p ρ_p[col_of[p][k, u_p(t, k)]]`` (0 where
    the column is ``-1``), because the joint column's objective and row entries are the sums
    of its period columns' (:func:`stack`). Pricing is the argmax of that sum over the valid
    templates of each unit (:meth:`best`).
    """

    templates: np.ndarray  # (T, P) use per period, KEEP for the current use
    current: np.ndarray  # (n_units,) current use of every unit
    valid: np.ndarray  # (T, n_units) bool
    col_of: list[np.ndarray]  # per period (n_units, n_uses) int32, -1 where no column
    unit_cells: np.ndarray  # (n_units,) cell of every unit

    @property
    def n_templates(self) -> int:
        return int(self.templates.shape[0])

    @property
    def n_units(self) -> int:
        return int(self.current.size)

    def count(self) -> int:
        """The number of trajectories (columns of the explicit model)."""
        return int(self.valid.sum())

    def all_keys(self) -> np.ndarray:
        unit, tpl = np.nonzero(self.valid.T)
        return unit.astype(np.int64) * self.n_templates + tpl

    def uses(self, keys: np.ndarray) -> np.ndarray:
        """(P, n) the use of every keyed trajectory in every period."""
        keys = np.asarray(keys, np.int64)
        unit, tpl = np.divmod(keys, self.n_templates)
        sym = self.templates[tpl].T  # (P, n)
        return np.where(sym == KEEP, self.current[unit][None, :], sym).astype(np.int16)

    def model(self, periods: list[ModelSpec], labels: list[str], weights: np.ndarray,
              keys: np.ndarray) -> tuple[PeriodModel, np.ndarray]:
        """The joint model over the trajectories ``keys`` (sorted; every unit at least once)
        and the use of each of its columns per period."""
        keys = np.asarray(keys, np.int64)
        unit = keys // self.n_templates
        if unit.size == 0 or unit[0] != 0 or unit[-1] != self.n_units - 1 or \
                np.any(np.diff(unit) > 1):  # sorted: every unit at least once
            raise ValueError("every unit needs at least one trajectory column")
        uses = self.uses(keys)
        col_map = np.stack([self.col_of[p][unit, uses[p]] for p in range(len(periods))])
        pm = stack(periods, labels, weights, unit.astype(np.int32), self.unit_cells,
                   col_map, uses[-1])
        return pm, uses

    def subset(self, units: np.ndarray) -> Trajectories:
        """The trajectories of the units ``units`` (an index array) alone."""
        return Trajectories(self.templates, self.current[units], self.valid[:, units],
                            rows_of(self.col_of, units), self.unit_cells[units])

    def values(self, rho: list[np.ndarray | None], units: np.ndarray,
               mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per unit in ``units`` (an index array): the largest ``Σ_p ρ_p`` over its valid
        trajectories (``ρ_p = None``: period ``p`` contributes nothing) and that
        trajectory's key (``mask``, shape (T, n_units), restricts the valid ones further)."""
        best, key, _ = self._scan(rho, units, mask)
        return best, key

    def _scan(self, rho: list[np.ndarray | None], units: np.ndarray | slice,
              mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`values` and, per unit, the second largest value (−inf with one
        trajectory); ``units`` an index array or a slice.

        With ``K_k = Σ_{p<k} ρ_p(e)`` (the current use ``e`` kept before ``k``) and
        ``S_k(u) = Σ_{p≥k} ρ_p(u)``, a template that keeps the current use before period
        ``k`` and takes ``u`` from ``k`` on is worth ``K_k + S_k(u)``: one addition per
        template and unit; other templates (reversions) add their periods one by one."""
        T = self.n_templates
        ids = np.arange(self.n_units)[units]
        n = ids.size
        P = len(rho)
        cur = self.current[units]
        rows = np.arange(n)
        per = []  # per period: (n_uses, n) reduced costs of every (use, unit) pair
        for p, r in enumerate(rho):
            if r is None:
                per.append(None)
                continue
            co = self.col_of[p][units]
            per.append(np.ascontiguousarray(np.where(co >= 0, r[np.maximum(co, 0)], 0.0).T))
        n_uses = next((q.shape[0] for q in per if q is not None), 0)
        keep = np.zeros((P + 1, n))  # K_k
        for p, q in enumerate(per):
            keep[p + 1] = keep[p] + (0.0 if q is None else q[cur, rows])
        suffix = np.zeros((P + 1, n_uses, n))  # S_k
        for p in range(P - 1, -1, -1):
            suffix[p] = suffix[p + 1] + (0.0 if per[p] is None else per[p])
        best = np.full(n, -np.inf)
        second = np.full(n, -np.inf)
        arg = np.zeros(n, np.int64)
        for t in range(T):
            ok = self.valid[t, units] if mask is None else mask[t, units]
            if not ok.any():
                continue
            sym = self.templates[t]
            k = int(np.argmax(sym != KEEP)) if (sym != KEEP).any() else P
            if k == P:
                v = keep[P].copy()
            elif (sym[k:] == sym[k]).all():
                v = keep[k] + suffix[k][int(sym[k])]
            else:
                v = keep[k].copy()
                for p in range(k, P):
                    if per[p] is not None:
                        v += per[p][int(sym[p])]
            v[~ok] = -np.inf
            better = v > best
            np.maximum(second, np.minimum(v, best), out=second)
            np.maximum(best, v, out=best)
            arg[better] = t
        return best, ids.astype(np.int64) * T + arg, second

    def best(self, rho: list[np.ndarray | None], mask: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`values` for every unit, in chunks of :data:`CHUNK` units."""
        best, key, _ = self.best2(rho, mask)
        return best, key

    def best2(self, rho: list[np.ndarray | None], mask: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit: the best value, its key and the second best value (:meth:`_scan`), in
        chunks of :data:`CHUNK` units."""
        out: list[list[np.ndarray]] = [[], [], []]
        for s in range(0, self.n_units, CHUNK):
            for o, a in zip(out, self._scan(rho, slice(s, min(s + CHUNK, self.n_units)),
                                            mask), strict=True):
                o.append(a)
        if not out[0]:
            return np.zeros(0), np.zeros(0, np.int64), np.zeros(0)
        return (np.concatenate(out[0]), np.concatenate(out[1]), np.concatenate(out[2]))

    def value_of(self, rho: list[np.ndarray | None], keys: np.ndarray) -> np.ndarray:
        """``Σ_p ρ_p`` of the trajectories ``keys`` (one per unit or any)."""
        keys = np.asarray(keys, np.int64)
        unit = keys // self.n_templates
        uses = self.uses(keys)
        v = np.zeros(keys.size)
        for p, r in enumerate(rho):
            if r is None:
                continue
            co = self.col_of[p][unit, uses[p]]
            v += np.where(co >= 0, r[np.maximum(co, 0)], 0.0)
        return v

    def period_columns(self, keys: np.ndarray, p: int) -> np.ndarray:
        """The column of period ``p``'s model that each trajectory ``keys`` takes (−1:
        the unit is fixed in ``p``)."""
        keys = np.asarray(keys, np.int64)
        unit = keys // self.n_templates
        return self.col_of[p][unit, self.uses(keys)[p]]


def rows_of(arrays: list[np.ndarray], rows: np.ndarray) -> list[np.ndarray]:
    """``[a[rows] for a in arrays]``, with one copy for arrays that are the same object
    (the periods whose column maps are equal share one)."""
    done: dict[int, np.ndarray] = {}
    for a in arrays:
        if id(a) not in done:
            done[id(a)] = a[rows]
    return [done[id(a)] for a in arrays]


def period_reduced_costs(periods: list[ModelSpec], weights: np.ndarray, y: np.ndarray,
                         upto: int | None = None) -> list[np.ndarray | None]:
    """``ρ_p = w_p c_p − A_pᵀ y_p`` over period ``p``'s x columns, for the joint coupling
    duals ``y`` (blocks in the order of :func:`stack`; with ``upto = k`` only the periods up
    to ``k`` have rows and objective, as in :meth:`PeriodModel.up_to`)."""
    out: list[np.ndarray | None] = []
    r0 = 0
    for p, s in enumerate(periods):
        if upto is not None and p > upto:
            out.append(None)
            continue
        rho = weights[p] * s.obj[: s.n_x]
        for b in s.coupling:
            ys = y[r0:r0 + b.n_rows]
            r0 += b.n_rows
            if ys.any():  # Aᵀy by one pass over the block's entries, no copy of them
                rho -= (b.A.T @ ys)[: s.n_x]
        out.append(rho)
    return out


def lagrangian_rest(spec: ModelSpec, y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    aux_reduced: np.ndarray) -> float:
    """The part of the Lagrangian bound ``L(y)`` that is not the units' best reduced costs:
    ``Σ_aux max_{lb≤s≤ub} r_s s + Σ_r h_r(y_r) + offset`` with ``h_r = y_r·hi_r`` for
    ``y_r ≥ 0`` and ``y_r·lo_r`` otherwise (+inf when a side it needs is unbounded)."""
    total = spec.obj_offset
    for k, rk in enumerate(aux_reduced):
        side = spec.aux_ub[k] if rk > 0 else spec.aux_lb[k] if rk < 0 else 0.0
        if rk != 0 and not np.isfinite(side):
            return float("inf")
        total += rk * side
    with np.errstate(invalid="ignore"):
        rows = np.where(y > 0, y * np.where(np.isfinite(hi), hi, 0.0),
                        y * np.where(np.isfinite(lo), lo, 0.0))
    return float(total + rows.sum())


def sample_prices(traj: Trajectories, periods: list[ModelSpec], labels: list[str],
                  weights: np.ndarray, options: Any, deadline: float,
                  upto: int | None = None, mask: np.ndarray | None = None) -> np.ndarray:
    """First coupling duals: the LP of every trajectory of a random sample ``S`` of units,
    each coupling row's bounds scaled by the sample's share ``f_r`` of the row,

        f_r = Σ_p |A_p|_r · 1[S's period columns]  /  Σ_p |A_p|_r · 1,

    so that the sample's objective and rows are about ``f`` times the full model's and its
    duals estimate the full model's (the scaled-sample start of
    :mod:`ruimteverdeling.model.decompose`, here over trajectories; rows a sample does not
    touch are left open). Elastic slacks keep it solvable."""
    import time

    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.solve import backend_for

    rng = np.random.default_rng(options.seed)
    n = traj.n_units
    n_s = min(n, options.decompose_sample)  # above ~500 k columns HiGHS turns to IPM: slow
    sample = np.sort(rng.choice(n, n_s, replace=False))
    sub, scaled = scaled_periods(traj, periods, sample)
    if mask is not None:
        sub.valid = mask[:, sample]
    pm, _ = sub.model(scaled, labels, weights, sub.all_keys())
    spec = pm.spec if upto is None else pm.up_to(upto)
    spec = replace(spec, terms=[], obj_offset=0.0, status_quo_value=None)
    scale = max(1.0, float(np.abs(spec.obj[: spec.n_x]).max(initial=1.0)))
    sub_e, _ = decompose.with_elastic(spec, 1e4 * scale)
    out = backend_for(options).lp(sub_e, options, max(1.0, deadline - time.perf_counter()))
    m = sum(b.n_rows for b in spec.coupling)
    if out.row_dual is None:
        return np.zeros(m)
    return np.asarray(out.row_dual[sub_e.n_units:sub_e.n_units + m], float)


def scaled_periods(traj: Trajectories, periods: list[ModelSpec], sample: np.ndarray
                   ) -> tuple[Trajectories, list[ModelSpec]]:
    """The trajectories of a sample ``S`` of the units and the period models as ``S`` sees
    them: every coupling row's bounds scaled by the sample's share of the row,

        f_r = |A_p|_r · 1[S's period columns]  /  |A_p|_r · 1,

    so that the sample's rows are about ``f`` times the full model's and its duals estimate
    the full model's (rows the sample does not touch are left open); no objective constant
    and, as status quo, the sample's units kept at their current use over every period
    (where the transitions allow it). Each period model keeps only the columns ``S``'s
    trajectories take (and its auxiliary columns), the sample's ``col_of`` renumbered to
    them: a pricing or a restricted model of the sample then costs the sample's share of
    the full model's, not all of it."""
    out = []
    sub = traj.subset(sample)
    stay = traj.valid[0, sample]  # template 0 keeps the current use throughout
    col_of = []
    for p, s in enumerate(periods):
        cols = sub.col_of[p]
        used = np.zeros(s.n_x, bool)
        used[cols[cols >= 0]] = True
        ind = np.zeros(s.n_cols)
        ind[: s.n_x] = used
        ones = np.zeros(s.n_cols)
        ones[: s.n_x] = 1.0
        kept = cols[stay, sub.current[stay]]
        sq = float(s.obj[kept[kept >= 0]].sum())
        keep = np.concatenate([np.flatnonzero(used), np.arange(s.n_x, s.n_cols)])
        n_keep = int(used.sum())
        # the kept columns by one product with a 0/1 selection matrix (a sparse product is
        # several times faster than scipy's column indexing of a wide matrix)
        sel = sp.csr_matrix((np.ones(keep.size), (keep, np.arange(keep.size))),
                            shape=(s.n_cols, keep.size))
        blocks = []
        for b in s.coupling:
            A = abs(b.A)
            num, den = A @ ind, A @ ones
            del A
            with np.errstate(invalid="ignore", divide="ignore"):
                f = np.where(den > 0, num / den, 0.0)
                lower = np.where(f > 0, b.lower * f, -np.inf)
                upper = np.where(f > 0, b.upper * f, np.inf)
            blocks.append(replace(b, A=(b.A @ sel).tocsr(), lower=lower, upper=upper))
        units = np.zeros(s.n_units, bool)
        units[s.col_unit[used]] = True
        col_unit = (np.cumsum(units) - 1)[s.col_unit[used]]
        out.append(replace(s, n_x=n_keep, col_unit=col_unit.astype(np.int32),
                           col_use=s.col_use[used], unit_cells=s.unit_cells[units],
                           aux_names=list(s.aux_names), coupling=blocks, terms=[],
                           obj=s.obj[keep], obj_offset=0.0, status_quo_value=sq))
        renum = np.full(s.n_x, -1, np.int32)
        renum[keep[:n_keep]] = np.arange(n_keep, dtype=np.int32)
        col_of.append(np.where(cols >= 0, renum[np.maximum(cols, 0)], -1).astype(np.int32))
    sub.col_of = col_of
    return sub, out


SAMPLE_SHARE = 0.25
"""Share of the units in the sample whose generated LP gives :func:`nested_prices`."""
SAMPLE_MIN_UNITS = 200_000
"""Models with fewer units start from the small sample's prices alone."""
SAMPLE_ROUNDS = 12
"""Rounds of column generation on the sample at most."""


def nested_prices(traj: Trajectories, periods: list[ModelSpec], labels: list[str],
                  weights: np.ndarray, options: Any, say: Any, deadline: float,
                  y_init: np.ndarray, start: Any) -> np.ndarray:
    """Better first prices for a large model: the LP over every trajectory of a random
    :data:`SAMPLE_SHARE` of the units (rows scaled as in :func:`scaled_periods`), solved by
    :func:`generate` itself from the small sample's prices ``y_init`` to a loose tolerance
    (a decision gap of 1e-3, at most :data:`SAMPLE_ROUNDS` rounds). Each of its rounds costs
    about a quarter of a full round, and the full model then starts near its optimal
    prices (the nested start of :mod:`ruimteverdeling.model.decompose`). ``start(traj,
    periods, y)`` gives the sample's first columns. Returns the sample's best prices
    (``y_init`` when the model is small or the sample fails)."""
    n = traj.n_units
    if n < SAMPLE_MIN_UNITS:
        return y_init
    rng = np.random.default_rng(options.seed + 1)
    sample = np.sort(rng.choice(n, int(SAMPLE_SHARE * n), replace=False))
    sub, scaled = scaled_periods(traj, periods, sample)
    opts = options.model_copy(update={"decompose_lp_gap": max(options.decompose_lp_gap,
                                                              1e-3)})
    gen = generate(sub, scaled, labels, weights, start(sub, scaled, y_init), opts,
                   lambda m: say("  sample" + m[1:]), deadline,
                   max_rounds=SAMPLE_ROUNDS, y_init=y_init, final_keys=False)
    return y_init if gen.y is None else gen.y


@dataclass
class Generated:
    """The outcome of :func:`generate`: the trajectory columns kept and what they prove."""

    keys: np.ndarray
    model: PeriodModel
    uses: np.ndarray
    bound: float  # min over the rounds of L(y) over *every* trajectory: a valid upper bound
    y: np.ndarray | None
    objective: float | None  # the last restricted LP's value (None if it used slack)
    converged: bool
    rounds: list[dict]


@dataclass
class Priced:
    """Every trajectory priced at one set of coupling duals (:func:`price`)."""

    bound: float  # L(y) over every trajectory
    y: np.ndarray  # the duals used (made dual feasible)
    new_keys: np.ndarray  # per unit whose best trajectory beats its kept ones: that one
    best: np.ndarray  # per unit: its best reduced cost over every trajectory


def price(traj: Trajectories, periods: list[ModelSpec], weights: np.ndarray,
          spec: ModelSpec, y: np.ndarray, upto: int | None = None,
          mask: np.ndarray | None = None) -> Priced:
    """Price every trajectory at the coupling duals ``y`` of ``spec`` (a joint model over
    some of the trajectories, or its view :meth:`PeriodModel.up_to`): the Lagrangian bound

        L(y) = Σ_k max_t Σ_p ρ_p(k, u_p(t))  +  Σ_aux max_{lb≤s≤ub} r_s·s  +  Σ_r h_r(y_r)
               + offset

    over *every* trajectory — an upper bound on every feasible (even fractional) pathway for
    any ``y`` — and the units whose best trajectory beats the best of their columns in
    ``spec`` by more than a relative 1e-7."""
    from ruimteverdeling.model import decompose

    pricing = decompose.Pricing(spec)
    y2 = pricing.dual_feasible(np.asarray(y, float))
    r = pricing.reduced(y2)
    kept_best = pricing.best(r)[0]
    full_best, full_key = traj.best(period_reduced_costs(periods, weights, y2, upto), mask)
    value = float(full_best.sum()) + lagrangian_rest(spec, y2, pricing.lo, pricing.hi,
                                                     r[spec.n_x:])
    scale = max(1.0, float(np.abs(spec.obj[: spec.n_x]).max(initial=1.0)))
    new = full_best > kept_best + 1e-7 * scale
    return Priced(value, y2, full_key[new], full_best)


def _round_times(t_build: float, t_lp: float, t_pricing: float, seconds: float, start: Any,
                 out: Any) -> dict[str, Any]:
    """The timing fields of a generation round's record."""
    return {"build_seconds": round(t_build, 2), "lp_seconds": round(t_lp, 2),
            "pricing_seconds": round(t_pricing, 2),
            "seconds": round(seconds, 2),
            "start_basis": "warm" if start is not None else "crash",
            "lp_iterations": out.details.get("lp_iterations")}


def generate(traj: Trajectories, periods: list[ModelSpec], labels: list[str],
             weights: np.ndarray, keys: np.ndarray, options: Any, say: Any, deadline: float,
             upto: int | None = None, mask: np.ndarray | None = None,
             max_rounds: int | None = None, y_init: np.ndarray | None = None,
             warm: bool = True, final_keys: bool = True,
             partial_rounds: int | None = None) -> Generated:
    """The LP relaxation of the joint model over every trajectory, by one level of column
    generation straight over the implicit trajectories (the method of
    :mod:`ruimteverdeling.model.decompose`, with its column pricing replaced by the
    per-unit maximum over the templates of :meth:`Trajectories.best2`).

    With coupling duals ``y`` (first ``y_init``, the prices of a sample) every unit ``k``
    prices all its trajectories, ``v_k(τ) = Σ_p ρ_p(k, u_p(τ))``. The contested units (the
    smallest margin between their best and second-best trajectory) are *free*, each with
    its best trajectories as columns; every other unit is fixed at its best trajectory, its
    rows' activity and objective moved into the row bounds and constants. Round ``i``
    solves that restricted LP with box slacks that keep ``y`` within a box around the
    best-bound prices so far (boxstep; the slacks keep it solvable while the columns cannot
    meet the rows), prices every trajectory of every unit at its duals and

    * computes the Lagrangian bound ``L(y) = Σ_k max_τ v_k(τ) + Σ_aux max r_s s + Σ_r
      h_r(y_r) + offset``, valid for the model over *every* trajectory whatever ``y``;
      the smallest over the rounds is returned;
    * frees the units whose best trajectory beats their fixed one (or, for a free unit,
      its assignment dual), with that trajectory as a new column (the most violated
      :data:`ADD_SHARE` of the units per round at most);
    * re-fixes free units the LP gives wholly to their best trajectory with a clear
      margin, so the restricted LP stays small as the prices settle.

    It stops when the combined solution (feasible for the full model: a lower bound) is
    within the LP tolerance of the bound, or nothing prices out. The columns returned are
    every unit's fixed or free trajectories, its best at the bound's prices and ``keys``.
    ``upto``/``mask``: the model seen from period ``upto`` (:meth:`PeriodModel.up_to`) over
    the trajectories ``mask`` allows (myopic planning).

    ``warm``: each restricted LP after the first starts from the last one's optimal basis,
    carried over column by column and row by row (:func:`_carry_basis`); the LP optimum is
    the same, only the simplex's path to it is shorter. ``final_keys=False``: only the
    bound and the prices are wanted (no final columns, no model).

    ``partial_rounds`` (default :data:`PARTIAL_ROUNDS` when the units a partial round would
    price are at most :data:`PARTIAL_SHARE` of all, else none): after a full pricing, up to
    that many *partial* rounds re-solve the restricted LP and price only the *pool* — the
    units that priced out most at the last full pricing but did not enter (at most ``add``
    enter a round; the pool holds :data:`POOL_SIZE` times that) and the free units. Such
    a round costs the restricted LP and a pricing of the
    pool's trajectories, not of every unit's; it adds the pool's most violated trajectories
    as a full round would. It proves nothing (the bound needs every trajectory), so the
    bound and the stopping test come from the full rounds alone; a partial round whose
    pool prices nothing out is followed at once by a full pricing at the same duals. The
    LP optimum over every trajectory is unchanged: generation still stops only when a full
    pricing finds nothing or the combined solution meets the bound.
    """
    import time

    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.outcomes import decision_gap
    from ruimteverdeling.model.solve import backend_for

    backend = backend_for(options)
    weights = np.asarray(weights, float)
    T = traj.n_templates
    n = traj.n_units
    max_rounds = max_rounds or options.decompose_max_iterations
    last = len(periods) - 1 if upto is None else upto

    def view(pm: PeriodModel) -> ModelSpec:
        return pm.spec if upto is None else pm.up_to(upto)

    if y_init is None:
        y_init = np.zeros(sum(b.n_rows for s in periods[: last + 1] for b in s.coupling))
    if last < len(periods) - 1:  # seen from an earlier period: one trajectory per prefix
        mask = _representatives(traj, last, traj.valid if mask is None else mask)
    # a model with one column a unit (its first valid trajectory) gives the rows and the
    # auxiliary columns of the joint model
    valid = traj.valid if mask is None else mask
    first = np.arange(n, dtype=np.int64) * T + np.argmax(valid, axis=0)
    base = view(traj.model(periods, labels, weights, first)[0])
    pricing = decompose.Pricing(base)
    m = pricing.m
    a_aux = pricing.aux_matrix()
    scale = max(1.0, float(np.abs(base.obj[: base.n_x]).max(initial=1.0)))
    tol = 1e-7 * scale
    sq = base.status_quo_value
    tolerance = max(options.decompose_lp_gap, 0.25 * options.mip_rel_gap)
    add = max(options.decompose_add, int(ADD_SHARE * n))
    target = int(min(n, max(options.decompose_free_min, options.decompose_free_share * n)))

    def price_all(y: np.ndarray) -> tuple[float, np.ndarray, list, tuple]:
        y2 = pricing.dual_feasible(y)
        r = period_reduced_costs(periods, weights, y2, upto)
        top = traj.best2(r, mask)
        r_aux = base.obj[base.n_x:] - a_aux.T @ y2
        value = float(top[0].sum()) + lagrangian_rest(base, y2, pricing.lo, pricing.hi,
                                                       r_aux)
        return value, y2, r, top

    y = pricing.clamp(np.asarray(y_init, float))
    bound, best_y, rho, (best_v, best_k, second_v) = price_all(y)
    # the first restricted set: the contested units with their two best trajectories
    margin = best_v - second_v
    free = np.zeros(n, bool)
    free[np.argpartition(margin, target)[:target] if target < n else slice(None)] = True
    chosen = best_k.copy()
    active = _second_keys(traj, rho, np.flatnonzero(free), best_k, mask)
    del rho  # every column's reduced costs (P dense vectors): not held between pricings
    center, center_bound = best_y.copy(), bound
    floor = scale / np.maximum(decompose._typical_coefficients(pricing), 1e-12)
    width = np.maximum(0.5 * np.abs(center), floor)
    rounds: list[dict] = []
    z = None
    converged = False
    prev: tuple[np.ndarray, np.ndarray, Any] | None = None  # keys, units, basis
    warm = warm and backend.name == "highs"
    n_partial = PARTIAL_ROUNDS if partial_rounds is None else int(partial_rounds)
    pool = np.zeros(0, np.int64)  # units priced out at the last full pricing, not yet in
    partial_left = 0
    band = np.inf  # the margin above which a settled free unit is fixed again
    full_rounds = 0
    it = -1
    while full_rounds < max_rounds:
        it += 1
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        sub, free_idx, sub_keys = _restricted(traj, periods, labels, weights, upto, free,
                                              chosen, active)
        sub_b, n_aux0 = decompose.with_box(sub, center - width, center + width)
        start = None if prev is None or not warm else \
            _carry_basis(*prev, sub_b, sub_keys, free_idx, chosen)
        t_build = time.perf_counter() - t0
        out = backend.lp(sub_b, options, max(1.0, deadline - time.perf_counter()),
                         **({"basis": start} if start is not None else {}))
        t_lp = time.perf_counter() - t0 - t_build
        if out.x is None or out.row_dual is None:
            rounds.append({"round": it + 1, "status": out.status})
            break
        prev = (sub_keys, free_idx, out.basis) if out.basis is not None else None
        n_sub = sub_b.n_units
        y = pricing.clamp(out.row_dual[n_sub:n_sub + m])
        slack = out.x[sub_b.n_x + n_aux0:]
        feasible = float(np.abs(slack).sum()) <= 1e-9 * scale
        xs = out.x[: sub.n_x]
        z = sub.objective_value(out.x[: sub.n_cols]) if feasible else None
        if partial_left > 0 and pool.size:
            partial_left -= 1
            t_p = time.perf_counter()
            whole = xs > 1 - 1e-9
            on_key = np.full(free_idx.size, -1, np.int64)
            on_key[sub.col_unit[whole]] = sub_keys[whole]
            added = _partial_round(traj, pricing, periods, weights, upto, mask, y, pool,
                                   free, free_idx, chosen, out.row_dual[:n_sub], tol, add,
                                   on_key, band, active)
            if added is not None:
                units, keys_in, back, back_keys = added
                if back.size:  # free units settled on their best trajectory: fixed again
                    chosen[back] = back_keys
                    free[back] = False
                    active = active[free[active // T]]
                newly = np.zeros(n, bool)
                newly[units] = True
                newly &= ~free
                active = unique_keys(active, keys_in, chosen[newly])
                free[units] = True
                pool = pool[~free[pool]]
                seconds = time.perf_counter() - t0
                rounds.append({"round": it + 1, "pricing": "partial",
                               "free_units": int(free_idx.size), "columns": int(sub.n_x),
                               "new": int(units.size), "refixed": int(back.size),
                               "pool": int(pool.size), "objective": z,
                               **_round_times(t_build, t_lp, time.perf_counter() - t_p, seconds,
                                             start, out)})
                say(f"  trajectories round {it + 1} (partial): {free_idx.size:,} of {n:,} "
                    f"units free, {sub.n_x:,} columns, {units.size:,} of the pool price "
                    f"out, {back.size:,} fixed again, LP {'—' if z is None else f'{z:,.2f}'} "
                    f"({seconds:.1f} s: build {t_build:.1f}, LP {t_lp:.1f}, pricing "
                    f"{time.perf_counter() - t_p:.1f})")
                continue
            partial_left = 0  # the pool is clean: price everything at these duals
        t_full = time.perf_counter()
        full_rounds += 1
        this_bound, y2, rho, (best_v, best_k, second_v) = price_all(y)
        if this_bound < bound:
            bound, best_y = this_bound, y2
        # violations: a fixed unit's best against its fixed trajectory, a free unit's
        # against its assignment dual
        ref = traj.value_of(rho, chosen)
        del rho
        ref[free_idx] = out.row_dual[:n_sub]
        viol = best_v - ref
        bad = viol > tol
        n_bad = int(bad.sum())
        gap = decision_gap(z, bound, sq) if z is not None else None
        seconds = time.perf_counter() - t0
        rounds.append({"round": it + 1, "pricing": "full", "free_units": int(free_idx.size),
                       "columns": int(sub.n_x), "new": n_bad, "bound": bound,
                       "objective": z, "lp_gap": gap,
                       **_round_times(t_build, t_lp, time.perf_counter() - t_full, seconds,
                                     start, out)})
        say(f"  trajectories round {it + 1}: {free_idx.size:,} of {n:,} units free, "
            f"{sub.n_x:,} columns, {n_bad:,} price out, LP gap "
            f"{'—' if gap is None else f'{gap:.2e}'}, LP {'—' if z is None else f'{z:,.2f}'}"
            f", bound {bound:,.2f} ({seconds:.1f} s: build {t_build:.1f}, LP {t_lp:.1f}"
            f"{', warm' if start is not None else ''}, pricing "
            f"{time.perf_counter() - t_full:.1f})")
        if z is not None and (n_bad == 0 or gap <= tolerance):
            converged = True
            break
        # box management as in the decomposed LP: move the centre on a better bound, widen
        # the sides that bind
        if this_bound < center_bound - 1e-12 * max(1.0, abs(center_bound)):
            center, center_bound = y2.copy(), this_bound
        if not feasible:
            binding = np.zeros(m, bool)
            binding[decompose._box_rows(sub_b, n_aux0, slack)] = True
            width = np.where(binding, 2.0 * width, width)
        # re-fix free units wholly on their best trajectory with a clear margin
        whole = xs > 1 - 1e-9
        on_key = np.full(n, -1, np.int64)
        on_key[free_idx[sub.col_unit[whole]]] = sub_keys[whole]
        margin = best_v - second_v
        band = np.partition(margin, min(target, n - 1))[min(target, n - 1)]
        refix = free & (on_key == best_k) & (margin > band) & ~bad
        if refix.any():
            chosen[refix] = best_k[refix]
            free &= ~refix
            active = active[free[active // T]]
        # the most violated units enter with their best trajectory; the others wait in the
        # pool for the partial rounds
        pool = np.zeros(0, np.int64)
        if n_bad > add:
            idx = np.flatnonzero(bad)
            top = idx[np.argpartition(-viol[idx], add)[:add]]
            bad = np.zeros(n, bool)
            bad[top] = True
            wait = idx[~bad[idx]]
            k = POOL_SIZE * add
            pool = wait if wait.size <= k else \
                np.sort(wait[np.argpartition(-viol[wait], k)[:k]])
        # partial rounds save pricing: by default only when they price a small share of
        # the units (a count, not a timing, so that a run repeats exactly)
        priced = pool.size + int(free.sum()) + int(bad.sum())
        partial_left = n_partial if partial_rounds is not None or \
            priced <= PARTIAL_SHARE * n else 0
        newly = bad & ~free
        active = unique_keys(active, best_k[bad], chosen[newly])
        free |= bad
    if not final_keys:  # only the prices are wanted
        return Generated(np.asarray(keys, np.int64), None, None,  # type: ignore[arg-type]
                         float(bound), best_y, z, converged, rounds)
    keys = unique_keys(keys, chosen[~free], active,
                       traj.best(period_reduced_costs(periods, weights, best_y, upto), mask)[1])
    pm, uses = traj.model(periods, labels, weights, keys)
    return Generated(keys, pm, uses, float(bound), best_y, z, converged, rounds)


ADD_SHARE = 0.02
"""Share of the units whose best trajectory may enter the restricted LP in one round (at
least ``solver.decompose_add``)."""
PARTIAL_ROUNDS = 3
"""Partial rounds (the restricted LP, then a pricing of the pool alone) after each full
pricing of every trajectory (:func:`generate`)."""
PARTIAL_SHARE = 0.25
"""By default partial rounds follow a full pricing only when the units they would price
(the pool and the free units) are at most this share of all units: otherwise a partial
pricing costs nearly a full one (measured at ~250 m, where they are 40 % of the units, a
partial round raised the master LP more slowly per second than a full one; at ~100 m they
are about 11 %)."""
POOL_SIZE = 4
"""The pool of a partial round: the units most violated at the last full pricing that did
not enter, at most this many times the units that may enter a round."""


def _partial_round(traj: Trajectories, pricing: Any, periods: list[ModelSpec],
                   weights: np.ndarray, upto: int | None, mask: np.ndarray | None,
                   y: np.ndarray, pool: np.ndarray, free: np.ndarray, free_idx: np.ndarray,
                   chosen: np.ndarray, unit_dual: np.ndarray, tol: float, add: int,
                   on_key: np.ndarray, band: float, active: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """One partial pricing of :func:`generate`: at the restricted LP's coupling duals ``y``
    (made dual feasible), the best trajectory ``τ*_k = argmax_τ Σ_p ρ_p(k, u_p(τ))`` of
    every unit ``k`` of ``pool`` and of the free units, and its violation against the
    unit's reference — its fixed trajectory's value for a fixed unit, its assignment dual
    ``unit_dual`` for a free one (``free_idx`` in order). Returns the (at most ``add``) most
    violated units (violation > ``tol``; for a free unit only with a best trajectory not
    yet among its columns ``active`` (sorted keys): re-adding one changes nothing) and their
    best keys, or None when none is; and,
    as a full round re-fixes them, the free units the LP puts wholly on (``on_key``, per
    free unit, −1 if none) their best trajectory with a margin over the second best above
    ``band``, with that trajectory."""
    units = np.union1d(pool, free_idx).astype(np.int64)
    if not units.size:
        return None
    y2 = pricing.dual_feasible(y)
    rho = period_reduced_costs(periods, weights, y2, upto)
    best_v, best_k, second_v = traj._scan(rho, units, mask)
    ref = np.empty(units.size)
    fixed = ~free[units]
    ref[fixed] = traj.value_of(rho, chosen[units[fixed]])
    ref[~fixed] = unit_dual[np.searchsorted(free_idx, units[~fixed])]
    viol = best_v - ref
    at = np.minimum(np.searchsorted(active, best_k), max(active.size - 1, 0))
    known = ~fixed & (active[at] == best_k) if active.size else np.zeros(units.size, bool)
    idx = np.flatnonzero((viol > tol) & ~known)
    if not idx.size:
        return None
    if idx.size > add:
        idx = idx[np.argpartition(-viol[idx], add)[:add]]
    pos = np.searchsorted(free_idx, units[~fixed])
    fr = np.flatnonzero(~fixed)
    back = fr[(on_key[pos] == best_k[fr]) & (best_v[fr] - second_v[fr] > band)
              & (viol[fr] <= tol)]
    return units[idx], best_k[idx], units[back], best_k[back]


def _carry_basis(old_keys: np.ndarray, old_units: np.ndarray, old: Any, spec: ModelSpec,
                 keys: np.ndarray, units: np.ndarray, chosen: np.ndarray) -> Any:
    """The optimal basis ``old`` of the last restricted LP (columns ``old_keys``, free units
    ``old_units``) as a starting basis of the next one, ``spec`` (columns ``keys``, free
    units ``units``, the same coupling rows and trailing auxiliary/box columns):

    * a trajectory column or assignment row of both keeps its status, a new column starts
      nonbasic at 0;
    * a unit freed now (fixed before, at ``chosen``) gets its assignment row nonbasic and its
      ``chosen`` column basic — the point the last LP had, with one more basic column for
      one more row;
    * the coupling rows and the auxiliary and box columns keep theirs.

    A unit fixed again drops its row and columns; if that leaves the count of basic
    variables off by ``d``, ``d`` coupling-row slacks are made basic (or, with too many,
    basic assignment rows nonbasic). None when the shapes differ or the count cannot be
    mended: the LP then starts from the crash basis."""
    from ruimteverdeling.model.highs_backend import BASIC, LOWER, Basis

    n_x, n_units = keys.size, units.size
    n_rows = spec.n_rows
    n_tail = spec.n_cols - n_x
    n_old_x = old_keys.size
    if old.col.size - n_old_x != n_tail or old.row.size - old_units.size != n_rows - n_units:
        return None
    col = np.full(spec.n_cols, LOWER, np.int8)
    pos = np.minimum(np.searchsorted(old_keys, keys), max(n_old_x - 1, 0))
    hit = old_keys[pos] == keys if n_old_x else np.zeros(n_x, bool)
    col[:n_x][hit] = old.col[pos[hit]]
    col[n_x:] = old.col[n_old_x:]
    row = np.full(n_rows, LOWER, np.int8)
    upos = np.minimum(np.searchsorted(old_units, units), max(old_units.size - 1, 0))
    uhit = old_units[upos] == units if old_units.size else np.zeros(n_units, bool)
    row[:n_units][uhit] = old.row[upos[uhit]]
    row[n_units:] = old.row[old_units.size:]
    new_keys = chosen[units[~uhit]]
    at = np.searchsorted(keys, new_keys)
    if np.any(at >= n_x) or not np.array_equal(keys[np.minimum(at, n_x - 1)], new_keys):
        return None
    col[at] = BASIC
    d = n_rows - int((col == BASIC).sum() + (row == BASIC).sum())
    if d > 0:  # too few: coupling-row slacks become basic
        idx = n_units + np.flatnonzero(row[n_units:] != BASIC)[:d]
        if idx.size < d:
            return None
        row[idx] = BASIC
    elif d < 0:  # too many: basic assignment rows (degenerate, at their bound) leave
        idx = np.flatnonzero(row[:n_units] == BASIC)[: -d]
        if idx.size < -d:
            return None
        row[idx] = LOWER
    return Basis(col, row)


def _representatives(traj: Trajectories, k: int, mask: np.ndarray) -> np.ndarray:
    """``mask`` keeping, per unit, only the first of the trajectories that take the same
    uses up to period ``k``: seen from ``k`` they are one column (the same value and rows),
    and ties would make every unit look contested."""
    out = np.zeros_like(mask)
    seen: dict[tuple, np.ndarray] = {}
    for t in range(traj.n_templates):
        g = tuple(traj.templates[t, : k + 1].tolist())
        s = seen.setdefault(g, np.zeros(mask.shape[1], bool))
        out[t] = mask[t] & ~s
        s |= mask[t]
    return out


def _second_keys(traj: Trajectories, rho: list[np.ndarray | None], units: np.ndarray,
                 best_k: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The best and second-best trajectory of each unit in ``units`` (sorted keys)."""
    if not units.size:
        return np.zeros(0, np.int64)
    m2 = (traj.valid if mask is None else mask).copy()
    m2[best_k[units] % traj.n_templates, units] = False
    v2, k2 = traj.values(rho, units, m2)
    return unique_keys(best_k[units], k2[np.isfinite(v2)])


def _restricted(traj: Trajectories, periods: list[ModelSpec], labels: list[str],
                weights: np.ndarray, upto: int | None, free: np.ndarray, chosen: np.ndarray,
                active: np.ndarray) -> tuple[ModelSpec, np.ndarray, np.ndarray]:
    """The joint model over the free units and their ``active`` trajectories, every other
    unit fixed at its ``chosen`` trajectory: the fixed units' activity ``A_p x_p`` moves
    into each period's row bounds and their objective ``Σ_p w_p c_p x_p`` into the
    constant, so the restricted objective is the full one at the combined solution.
    Returns the model, the free units (index array) and the keys of its columns."""
    T = traj.n_templates
    free_idx = np.flatnonzero(free)
    pos = np.full(free.size, -1, np.int64)
    pos[free_idx] = np.arange(free_idx.size)
    unit = active // T
    sub_keys = pos[unit] * T + active % T
    order = np.argsort(sub_keys, kind="stable")
    sub_keys, active = sub_keys[order], active[order]
    sub_traj = traj.subset(free_idx)
    pm, _ = sub_traj.model(periods, labels, weights, sub_keys)
    spec = pm.spec if upto is None else pm.up_to(upto)
    fixed = chosen[~free]
    fixed_unit = fixed // T
    fixed_uses = traj.uses(fixed)  # once for every period
    blocks = []
    fixed_obj = 0.0
    it = iter(spec.coupling)
    for p, s in enumerate(periods):
        if upto is not None and p > upto:
            break
        cols = traj.col_of[p][fixed_unit, fixed_uses[p]]
        xp = np.bincount(cols[cols >= 0], minlength=s.n_cols).astype(float)
        fixed_obj += float(weights[p] * (s.obj @ xp))
        for b in s.coupling:
            jb = next(it)
            act = b.A @ xp
            blocks.append(replace(jb, lower=jb.lower - act, upper=jb.upper - act))
    spec = replace(spec, coupling=blocks, terms=[], obj_offset=spec.obj_offset + fixed_obj,
                   status_quo_value=None)
    return spec, free_idx, active


def _feasible(spec: ModelSpec, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``x`` meets every coupling row (to ``tol`` relative to the row's scale)."""
    for b in spec.coupling:
        act = b.A @ x
        slack = np.maximum(b.lower - act, act - b.upper)
        if np.any(slack > tol * np.maximum(1.0, np.abs(act))):
            return False
    return True
