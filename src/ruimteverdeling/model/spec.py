"""ModelSpec: the optimisation model as named sparse blocks, independent of any solver.

Columns
    The first ``n_x`` columns are the decision variables ``x[k, u]`` for *units* ``k`` (a
    changeable cell) and allowed uses ``u``; excluded pairs are never created. Columns are
    sorted by unit. After them come continuous auxiliary columns (slacks of soft targets and
    rules), each with a name.

Rows
    Named blocks. Block ``assign`` holds ``Σ_u x[k,u] = 1`` for every unit; target and rule
    blocks hold their own rows with lower and upper bounds (±inf where open). Every block
    knows the target or rule it comes from, so results and analyses can name it.

Objective
    Maximise ``Σ_t s_t · w_t · (coef_t · x + constant_t)`` over named terms ``t`` with weight
    ``w_t ≥ 0`` and sign ``s_t = +1`` for benefits, ``-1`` for costs. ``constant_t`` is the
    term's value on cells that are not variables (cells with a single allowed use), so that
    objectives of different scenarios on the same area are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

INF = np.inf


@dataclass
class RowBlock:
    """A named group of rows ``lower ≤ A x ≤ upper``."""

    name: str
    kind: Literal["assignment", "target", "rule"]
    A: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray
    labels: list[str] | None = None
    ref: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


@dataclass
class Term:
    """A named objective term; its value is ``coef · x + constant`` in natural units."""

    name: str
    sense: Literal["benefit", "cost"]
    weight: float
    coef: np.ndarray
    constant: float = 0.0
    unit: str = "points"
    description: str = ""

    @property
    def sign(self) -> float:
        return 1.0 if self.sense == "benefit" else -1.0

    def value(self, x: np.ndarray) -> float:
        return float(self.coef @ x) + self.constant


@dataclass
class ModelSpec:
    """The whole model; see the module docstring."""

    n_x: int
    col_unit: np.ndarray  # int32, unit of each x column
    col_use: np.ndarray  # int16, catalogue index of each x column
    unit_cells: np.ndarray  # int64, flat grid index of each unit
    aux_names: list[str]
    lb: np.ndarray
    ub: np.ndarray
    integral: np.ndarray  # bool per column
    blocks: list[RowBlock]
    terms: list[Term]

    # ---------------------------------------------------------------------------------------
    @property
    def n_cols(self) -> int:
        return self.n_x + len(self.aux_names)

    @property
    def n_units(self) -> int:
        return int(self.unit_cells.size)

    @property
    def n_rows(self) -> int:
        return sum(b.n_rows for b in self.blocks)

    def block(self, name: str) -> RowBlock:
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(name)

    def term(self, name: str) -> Term:
        for t in self.terms:
            if t.name == name:
                return t
        raise KeyError(name)

    def objective(self) -> tuple[np.ndarray, float]:
        """Objective vector ``c`` and offset for *maximisation*: c·x + offset."""
        c = np.zeros(self.n_cols)
        offset = 0.0
        for t in self.terms:
            if t.weight == 0:
                continue
            c += t.sign * t.weight * t.coef
            offset += t.sign * t.weight * t.constant
        return c, offset

    def matrix(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """All blocks stacked: ``A`` (CSR), ``lower``, ``upper``."""
        if not self.blocks:
            return sp.csr_matrix((0, self.n_cols)), np.empty(0), np.empty(0)
        A = sp.vstack([b.A for b in self.blocks], format="csr")
        lower = np.concatenate([b.lower for b in self.blocks])
        upper = np.concatenate([b.upper for b in self.blocks])
        return A, lower, upper

    def row_offsets(self) -> dict[str, tuple[int, int]]:
        """Block name -> (first row, end row) in the stacked matrix."""
        out = {}
        r = 0
        for b in self.blocks:
            out[b.name] = (r, r + b.n_rows)
            r += b.n_rows
        return out

    def objective_value(self, x: np.ndarray) -> float:
        c, offset = self.objective()
        return float(c @ x) + offset

    def term_values(self, x: np.ndarray) -> dict[str, float]:
        return {t.name: t.value(x) for t in self.terms}

    def unit_choice(self, x: np.ndarray) -> np.ndarray:
        """Index (into col_use) of the chosen column for every unit: argmax of x per unit."""
        xs = x[: self.n_x]
        # columns are sorted by unit: reduceat over unit starts finds each unit's maximum
        starts = np.flatnonzero(np.r_[True, self.col_unit[1:] != self.col_unit[:-1]])
        best = np.maximum.reduceat(xs, starts)
        is_best = xs >= np.repeat(best, np.diff(np.r_[starts, xs.size])) - 1e-12
        # first best column per unit
        first = np.full(self.n_units, -1, np.int64)
        cols = np.flatnonzero(is_best)
        units = self.col_unit[cols]
        order = np.unique(units, return_index=True)[1]
        first[units[order]] = cols[order]
        return first

    def violations(self, x: np.ndarray, tol: float = 1e-6) -> dict[str, float]:
        """Largest bound violation per block (only blocks with a violation above ``tol``)."""
        out = {}
        for b in self.blocks:
            act = b.A @ x
            v = np.maximum(b.lower - act, act - b.upper)
            v = v[np.isfinite(v)]
            if v.size and v.max() > tol * max(1.0, float(np.abs(act).max(initial=0))):
                out[b.name] = float(v.max())
        lo = np.maximum(self.lb - x, x - self.ub)
        if lo.size and lo.max() > tol:
            out["bounds"] = float(lo.max())
        return out

    def without_constants(self) -> ModelSpec:
        """The same model with every term's constant set to 0 (a pure shift of the objective).

        Used for sub-models: a relative MIP gap then refers to the part of the objective that
        can still change, not to the fixed cells' share of it.
        """
        terms = [Term(t.name, t.sense, t.weight, t.coef, 0.0, t.unit, t.description)
                 for t in self.terms]
        return ModelSpec(self.n_x, self.col_unit, self.col_use, self.unit_cells,
                         self.aux_names, self.lb, self.ub, self.integral, self.blocks, terms)

    # ---------------------------------------------------------------------------------------
    def restrict(self, free_units: np.ndarray, x_fixed: np.ndarray,
                 keep_cols: np.ndarray | None = None) -> tuple[ModelSpec, np.ndarray]:
        """The model with every unit outside ``free_units`` fixed at ``x_fixed``.

        ``keep_cols`` (bool over the x columns) may drop further columns of free units; they
        are fixed at ``x_fixed`` too (normally 0). Returns the sub-model and, for each of its
        columns, the column of this model. The fixed columns' row activity moves into the row
        bounds and their objective contribution into the terms' constants, so the sub-model's
        objective equals this model's objective at the combined solution.
        """
        free_units = np.asarray(free_units, dtype=bool)
        keep_x = free_units[self.col_unit]
        if keep_cols is not None:
            keep_x &= np.asarray(keep_cols[: self.n_x], dtype=bool)
        keep = np.concatenate([keep_x, np.ones(len(self.aux_names), bool)])
        cols = np.flatnonzero(keep)
        fixed = np.where(keep, 0.0, x_fixed)
        new_unit_index = np.cumsum(free_units) - 1
        blocks = []
        for b in self.blocks:
            act = b.A @ fixed
            A = b.A[:, cols]
            if b.kind == "assignment":
                rows = np.flatnonzero(free_units)
                A = A[rows]
                blocks.append(RowBlock(b.name, b.kind, A.tocsr(), b.lower[rows] - act[rows],
                                       b.upper[rows] - act[rows], None, b.ref, b.meta))
            else:
                blocks.append(RowBlock(b.name, b.kind, A.tocsr(), b.lower - act, b.upper - act,
                                       b.labels, b.ref, b.meta))
        terms = [Term(t.name, t.sense, t.weight, t.coef[cols], t.constant + float(t.coef @ fixed),
                      t.unit, t.description) for t in self.terms]
        sub = ModelSpec(
            n_x=int(keep_x.sum()),
            col_unit=new_unit_index[self.col_unit[keep_x]].astype(np.int32),
            col_use=self.col_use[keep_x],
            unit_cells=self.unit_cells[free_units],
            aux_names=list(self.aux_names),
            lb=self.lb[cols], ub=self.ub[cols], integral=self.integral[cols],
            blocks=blocks, terms=terms,
        )
        return sub, cols


class SpecBuilder:
    """Collects columns, row blocks (as COO triplets) and terms, then builds a ModelSpec."""

    def __init__(self, col_unit: np.ndarray, col_use: np.ndarray, unit_cells: np.ndarray):
        self.col_unit = np.asarray(col_unit, np.int32)
        self.col_use = np.asarray(col_use, np.int16)
        self.unit_cells = np.asarray(unit_cells, np.int64)
        self.n_x = int(self.col_unit.size)
        self.aux_names: list[str] = []
        self.aux_lb: list[float] = []
        self.aux_ub: list[float] = []
        self._blocks: list[dict[str, Any]] = []
        self._terms: list[dict[str, Any]] = []

    def add_aux(self, name: str, lb: float = 0.0, ub: float = INF) -> int:
        """Add a continuous column; return its index."""
        self.aux_names.append(name)
        self.aux_lb.append(lb)
        self.aux_ub.append(ub)
        return self.n_x + len(self.aux_names) - 1

    def add_block(self, name: str, kind: str, rows: np.ndarray, cols: np.ndarray,
                  vals: np.ndarray, n_rows: int, lower: np.ndarray, upper: np.ndarray,
                  labels: list[str] | None = None, ref: str | None = None,
                  meta: dict[str, Any] | None = None) -> None:
        if any(b["name"] == name for b in self._blocks):
            raise ValueError(f"duplicate block name {name}")
        self._blocks.append(dict(name=name, kind=kind, rows=np.asarray(rows, np.int64),
                                 cols=np.asarray(cols, np.int64),
                                 vals=np.asarray(vals, np.float64), n_rows=int(n_rows),
                                 lower=np.asarray(lower, float), upper=np.asarray(upper, float),
                                 labels=labels, ref=ref, meta=meta or {}))

    def add_term(self, name: str, sense: str, weight: float, cols: np.ndarray,
                 vals: np.ndarray, constant: float = 0.0, unit: str = "points",
                 description: str = "") -> None:
        self._terms.append(dict(name=name, sense=sense, weight=float(weight),
                                cols=np.asarray(cols, np.int64), vals=np.asarray(vals, float),
                                constant=float(constant), unit=unit, description=description))

    def build(self) -> ModelSpec:
        n_cols = self.n_x + len(self.aux_names)
        blocks = []
        for b in self._blocks:
            A = sp.csr_matrix((b["vals"], (b["rows"], b["cols"])), shape=(b["n_rows"], n_cols))
            A.sum_duplicates()
            blocks.append(RowBlock(b["name"], b["kind"], A, b["lower"], b["upper"], b["labels"],
                                   b["ref"], b["meta"]))
        terms = []
        for t in self._terms:
            coef = np.bincount(t["cols"], weights=t["vals"], minlength=n_cols).astype(float)
            terms.append(Term(t["name"], t["sense"], t["weight"], coef, t["constant"], t["unit"],
                              t["description"]))
        lb = np.concatenate([np.zeros(self.n_x), np.asarray(self.aux_lb, float)])
        ub = np.concatenate([np.ones(self.n_x), np.asarray(self.aux_ub, float)])
        integral = np.concatenate([np.ones(self.n_x, bool), np.zeros(len(self.aux_names), bool)])
        return ModelSpec(self.n_x, self.col_unit, self.col_use, self.unit_cells,
                         list(self.aux_names), lb, ub, integral, blocks, terms)
