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
unchanged; pricing is still a per-unit argmax over the (explicit) trajectory columns.

For a trajectory solution ``z`` the solution of period ``p`` is ``x_p = [M_p z ; y_p]``: a
feasible solution of that period's model, so every single-period report can be made from it.

Row blocks and terms of period ``p`` get the suffix ``@<label>`` (``targets:homes@2030``);
the status quo of the joint model is ``Σ_p w_p · sq_p``. The weights ``w_p`` are given by the
caller (the length of each period in years, see :mod:`ruimteverdeling.rules.pathways`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
