"""ModelSpec: the optimisation model as named sparse blocks, independent of any solver.

Columns
    The first ``n_x`` columns are the decision variables ``x[k, u]`` for *units* ``k`` (a
    changeable cell) and allowed uses ``u``; excluded pairs are never created. Columns are
    sorted by unit; every x column is binary in [0, 1]. After them come continuous auxiliary
    columns (slacks of soft targets and rules, minimax levels), each with a name and bounds.

Rows
    Named blocks. Block ``assign`` holds ``Σ_u x[k,u] = 1`` for every unit; it is implicit (built
    from ``col_unit`` only when a solver needs it), so a national model does not store tens of
    millions of ones. Target and rule blocks hold their own rows with lower and upper bounds
    (±inf where open). Every block knows the target or rule it comes from.

Integral auxiliaries
    ``aux_integral`` (optional) marks auxiliary columns that must take integer values (the
    strengthening step adds such counts, see :mod:`ruimteverdeling.model.strengthen`).

Status quo
    ``status_quo_value`` is the objective of the status quo — every changeable cell keeping
    its current use, evaluated with the same objective terms — set by whoever builds the
    model (the rules layer); the solve measures its decision gap against it
    (:mod:`ruimteverdeling.model.outcomes`). ``None`` when unknown: the gap is then relative
    to the whole objective.

Objective
    Maximise ``Σ_t s_t · w_t · (coef_t · x + constant_t)`` over named terms ``t`` with weight
    ``w_t ≥ 0`` and sign ``s_t = +1`` for benefits, ``-1`` for costs. ``constant_t`` is the
    term's value on cells that are not variables (cells with a single allowed use), so that
    objectives of different scenarios on the same area are comparable. The combined vector
    ``obj`` and ``obj_offset`` are always stored; the per-term coefficient vectors only for
    models small enough (``Term.coef`` is ``None`` otherwise and term values are evaluated from
    the rule functions, see ``CompiledModel.term_values``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

INF = np.inf


@dataclass
class RowBlock:
    """A named group of rows ``lower ≤ A x ≤ upper``."""

    name: str
    kind: Literal["assignment", "target", "rule", "cut"]
    A: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray
    labels: list[str] | None = None
    ref: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


ACTIVITY_CHUNK = 1 << 21
"""Columns the assignment rows' activity sums at a time (see :meth:`AssignBlock.activity`)."""


class AssignBlock:
    """``Σ_u x[k,u] = 1`` for every unit, built from ``col_unit`` on demand."""

    name = "assign"
    kind = "assignment"
    labels = None
    ref = None

    def __init__(self, col_unit: np.ndarray, n_units: int, n_cols: int):
        self.col_unit = col_unit
        self._n_units = n_units
        self._n_cols = n_cols
        self.meta: dict[str, Any] = {}

    @property
    def n_rows(self) -> int:
        return self._n_units

    @property
    def lower(self) -> np.ndarray:
        return np.ones(self._n_units)

    @property
    def upper(self) -> np.ndarray:
        return np.ones(self._n_units)

    @cached_property
    def A(self) -> sp.csr_matrix:  # noqa: N802 (the matrix is A in every formula)
        n_x = self.col_unit.size
        indptr = np.zeros(self._n_units + 1, np.int64)
        np.cumsum(np.bincount(self.col_unit, minlength=self._n_units), out=indptr[1:])
        return sp.csr_matrix((np.ones(n_x), np.arange(n_x, dtype=np.int64), indptr),
                             shape=(self._n_units, self._n_cols))

    def activity(self, x: np.ndarray) -> np.ndarray:
        """``Σ_{j∈k} x_j`` for every unit ``k``, summed in column order.

        The columns are sorted by unit, so the sums are taken over stretches of about
        :data:`ACTIVITY_CHUNK` columns cut at unit boundaries (each unit's sum whole, the
        same numbers): a count over every column at once would first cast the 32-bit unit
        numbers to 64 bits (a quarter of a gigabyte at ~100 m)."""
        cu = self.col_unit
        n = cu.size
        xs = x[:n]
        if n <= ACTIVITY_CHUNK:
            return np.bincount(cu, weights=xs, minlength=self._n_units)
        out = np.zeros(self._n_units)
        s = 0
        while s < n:
            e = min(n, s + ACTIVITY_CHUNK)
            if e < n:  # end at the start of the unit the stretch would cut
                cut = int(np.searchsorted(cu[s:e], cu[e - 1], side="left"))
                e = s + cut if cut > 0 else e
            part = cu[s:e]
            u0, u1 = int(part[0]), int(part[-1])
            if np.any(part[1:] < part[:-1]) or (e < n and cu[e] <= u1):  # not sorted
                return np.bincount(cu, weights=xs, minlength=self._n_units)
            out[u0:u1 + 1] += np.bincount(part - u0, weights=xs[s:e], minlength=u1 - u0 + 1)
            s = e
        return out


@dataclass
class Term:
    """A named objective term; its value is ``coef · x + constant`` in natural units."""

    name: str
    sense: Literal["benefit", "cost"]
    weight: float
    coef: np.ndarray | None
    constant: float = 0.0
    unit: str = "points"
    description: str = ""

    @property
    def sign(self) -> float:
        return 1.0 if self.sense == "benefit" else -1.0

    def value(self, x: np.ndarray) -> float:
        if self.coef is None:
            raise ValueError(f"term {self.name} keeps no coefficients (large model); use "
                             "CompiledModel.term_values")
        return float(self.coef @ x) + self.constant


@dataclass
class ModelSpec:
    """The whole model; see the module docstring."""

    n_x: int
    col_unit: np.ndarray  # int32, unit of each x column
    col_use: np.ndarray  # int16, index (into the allocatable uses) of each x column
    unit_cells: np.ndarray  # int64, flat grid index of each unit
    aux_names: list[str]
    aux_lb: np.ndarray
    aux_ub: np.ndarray
    coupling: list[RowBlock]  # every block but the assignment rows
    terms: list[Term]
    obj: np.ndarray  # combined objective over all columns (maximise)
    obj_offset: float
    status_quo_value: float | None = None  # objective of the status quo (see the docstring)
    aux_integral: np.ndarray | None = None  # bool per auxiliary column (None: all continuous)

    # ---------------------------------------------------------------------------------------
    @property
    def n_cols(self) -> int:
        return self.n_x + len(self.aux_names)

    @property
    def n_units(self) -> int:
        return int(self.unit_cells.size)

    @cached_property
    def assign(self) -> AssignBlock:
        return AssignBlock(self.col_unit, self.n_units, self.n_cols)

    @property
    def blocks(self) -> list[Any]:
        """The assignment block followed by the coupling blocks."""
        return [self.assign, *self.coupling]

    @property
    def n_rows(self) -> int:
        return self.n_units + sum(b.n_rows for b in self.coupling)

    @property
    def lb(self) -> np.ndarray:
        return np.concatenate([np.zeros(self.n_x), self.aux_lb])

    @property
    def ub(self) -> np.ndarray:
        return np.concatenate([np.ones(self.n_x), self.aux_ub])

    @property
    def integral(self) -> np.ndarray:
        aux = np.zeros(len(self.aux_names), bool) if self.aux_integral is None else \
            np.asarray(self.aux_integral, bool)
        return np.concatenate([np.ones(self.n_x, bool), aux])

    def block(self, name: str) -> Any:
        if name == "assign":
            return self.assign
        for b in self.coupling:
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
        return self.obj, self.obj_offset

    def coupling_matrix(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """The coupling blocks stacked: ``A`` (CSR), ``lower``, ``upper``."""
        if not self.coupling:
            return sp.csr_matrix((0, self.n_cols)), np.empty(0), np.empty(0)
        A = sp.vstack([b.A for b in self.coupling], format="csr")
        lower = np.concatenate([b.lower for b in self.coupling])
        upper = np.concatenate([b.upper for b in self.coupling])
        return A, lower, upper

    def matrix(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """All blocks stacked (assignment first): ``A`` (CSR), ``lower``, ``upper``."""
        A, lower, upper = self.coupling_matrix()
        A = sp.vstack([self.assign.A, A], format="csr")
        return A, np.concatenate([self.assign.lower, lower]), \
            np.concatenate([self.assign.upper, upper])

    def row_offsets(self) -> dict[str, tuple[int, int]]:
        """Block name -> (first row, end row) in the stacked matrix (assignment first)."""
        out = {"assign": (0, self.n_units)}
        r = self.n_units
        for b in self.coupling:
            out[b.name] = (r, r + b.n_rows)
            r += b.n_rows
        return out

    def objective_value(self, x: np.ndarray) -> float:
        return float(self.obj @ x) + self.obj_offset

    def term_values(self, x: np.ndarray) -> dict[str, float]:
        return {t.name: t.value(x) for t in self.terms}

    def unit_choice(self, x: np.ndarray) -> np.ndarray:
        """Index (into the columns) of the chosen column of every unit: argmax of x per unit
        (ties: the first)."""
        xs = x[: self.n_x]
        starts = np.flatnonzero(np.r_[True, self.col_unit[1:] != self.col_unit[:-1]])
        best = np.maximum.reduceat(xs, starts)
        is_best = xs >= np.repeat(best, np.diff(np.r_[starts, xs.size])) - 1e-12
        first = np.full(self.n_units, -1, np.int64)
        cols = np.flatnonzero(is_best)
        units = self.col_unit[cols]
        order = np.unique(units, return_index=True)[1]
        first[units[order]] = cols[order]
        return first

    def violations(self, x: np.ndarray, tol: float = 1e-6) -> dict[str, float]:
        """Largest bound violation per block (only blocks with a violation above ``tol``)."""
        out = {}
        act = self.assign.activity(x)
        if act.size and np.abs(act - 1.0).max() > tol:
            out["assign"] = float(np.abs(act - 1.0).max())
        for b in self.coupling:
            act = b.A @ x
            v = np.maximum(b.lower - act, act - b.upper)
            # -inf: a free row; +inf: a bound of +inf below (or -inf above) that nothing
            # meets; NaN: a corrupt row — both are violations, never skipped
            v = np.where(np.isnan(v), np.inf, v)
            v = v[v > -np.inf]
            if v.size and v.max() > tol * max(1.0, float(np.abs(act).max(initial=0))):
                out[b.name] = float(v.max())
        xs = x[: self.n_x]
        bad = max(float(-xs.min(initial=0.0)), float(xs.max(initial=0.0)) - 1.0)
        aux = x[self.n_x:]
        if aux.size:
            bad = max(bad, float(np.max(np.maximum(self.aux_lb - aux, aux - self.aux_ub))))
        if bad > tol:
            out["bounds"] = bad
        return out

    def without_constants(self) -> ModelSpec:
        """The same model with the objective's constant part set to 0 (a pure shift).

        Used for sub-models: a relative MIP gap then refers to the part of the objective that
        can still change, not to the fixed cells' share of it.
        """
        sq = self.status_quo_value
        return replace(self, terms=[replace(t, constant=0.0) for t in self.terms],
                       obj_offset=0.0, status_quo_value=None if sq is None
                       else sq - self.obj_offset)

    # ---------------------------------------------------------------------------------------
    def restrict(self, free_units: np.ndarray, x_fixed: np.ndarray,
                 keep_cols: np.ndarray | None = None) -> tuple[ModelSpec, np.ndarray]:
        """The model with every unit outside ``free_units`` fixed at ``x_fixed``.

        ``keep_cols`` (bool over the x columns) may drop further columns of free units; they
        are fixed at ``x_fixed`` too (normally 0). Returns the sub-model and, for each of its
        columns, the column of this model. The fixed columns' row activity moves into the row
        bounds and their objective contribution into the constants, so the sub-model's
        objective equals this model's objective at the combined solution.
        """
        free_units = np.asarray(free_units, dtype=bool)
        keep_x = free_units[self.col_unit]
        if keep_cols is not None:
            keep_x &= np.asarray(keep_cols[: self.n_x], dtype=bool)
        keep = np.concatenate([keep_x, np.ones(len(self.aux_names), bool)])
        cols = np.flatnonzero(keep)
        # the fixed part: ``x_fixed`` with the kept columns at 0 (no copy over every column
        # when they are 0 already, as when only free units' columns are kept)
        fixed = np.where(keep, 0.0, x_fixed) if np.any(x_fixed[cols]) else x_fixed
        nz_fixed = np.flatnonzero(fixed)
        rank = _column_ranks(keep, cols, sum(b.A.nnz for b in self.coupling))
        blocks = []
        for b in self.coupling:
            act = b.A @ fixed if nz_fixed.size else np.zeros(b.n_rows)
            A = _kept_columns(b.A, keep, cols, rank)
            blocks.append(replace(b, A=A, lower=b.lower - act, upper=b.upper - act))
        fixed_vals = fixed[nz_fixed]
        fixed_obj = _fixed_sum(self.obj[nz_fixed], fixed_vals)
        terms = [t if t.coef is None else
                 replace(t, coef=t.coef[cols],
                         constant=t.constant + _fixed_sum(t.coef[nz_fixed], fixed_vals))
                 for t in self.terms]
        new_unit_index = np.cumsum(free_units) - 1
        # the sub-model's objective equals this model's at the combined solution, so the
        # status quo keeps its value
        sub = replace(
            self,
            n_x=int(keep_x.sum()),
            col_unit=new_unit_index[self.col_unit[keep_x]].astype(np.int32),
            col_use=self.col_use[keep_x],
            unit_cells=self.unit_cells[free_units],
            aux_names=list(self.aux_names),
            coupling=blocks, terms=terms, obj=self.obj[cols],
            obj_offset=self.obj_offset + fixed_obj,
        )
        return sub, cols

    def with_rows(self, block: RowBlock) -> ModelSpec:
        """The same model with one more coupling block (over the same columns)."""
        A = block.A
        if A.shape[1] != self.n_cols:
            A = A.tocsr(copy=True)
            A.resize((A.shape[0], self.n_cols))
        return replace(self, coupling=[*self.coupling, replace(block, A=A)])

    def with_columns(self, names: list[str], lb: np.ndarray, ub: np.ndarray,
                     obj: np.ndarray, integral: np.ndarray | None = None) -> ModelSpec:
        """The same model with auxiliary columns appended (no entries in existing rows;
        zero in every term)."""
        n_new = len(names)
        aux_int = np.zeros(len(self.aux_names), bool) if self.aux_integral is None else \
            np.asarray(self.aux_integral, bool)
        new_int = np.zeros(n_new, bool) if integral is None else np.asarray(integral, bool)
        blocks = []
        for b in self.coupling:
            A = b.A.tocsr(copy=True)
            A.resize((b.n_rows, self.n_cols + n_new))
            blocks.append(replace(b, A=A))
        terms = [t if t.coef is None else replace(t, coef=np.concatenate([t.coef,
                                                                           np.zeros(n_new)]))
                 for t in self.terms]
        return replace(self, aux_names=[*self.aux_names, *names],
                       aux_lb=np.concatenate([self.aux_lb, np.asarray(lb, float)]),
                       aux_ub=np.concatenate([self.aux_ub, np.asarray(ub, float)]),
                       coupling=blocks, terms=terms,
                       obj=np.concatenate([self.obj, np.asarray(obj, float)]),
                       aux_integral=np.concatenate([aux_int, new_int])
                       if (aux_int.any() or new_int.any()) else None)


def _fixed_sum(coef: np.ndarray, values: np.ndarray) -> float:
    """``Σ_j coef_j · values_j`` by numpy's own (pairwise) summation rather than a BLAS dot
    product: above ~10 k entries the BLAS library splits a dot product over its threads, which
    on a machine busy with the solver's threads costs milliseconds per product (about 0.2 s per
    restricted model over its terms) and makes the last bits depend on the thread count."""
    return float(np.multiply(coef, values).sum())


RANK_MAP_ABOVE = 1_000_000
"""Kept columns above which a restricted model numbers the kept columns by one map over
every column (:func:`_column_ranks`) instead of a binary search per kept non-zero."""


def _column_ranks(keep: np.ndarray, cols: np.ndarray, nnz: int) -> np.ndarray | None:
    """The rank of every column among the kept ones (``cumsum(keep) − 1``; a kept column's
    entry is its position in ``cols``), or None where a binary search is cheaper.

    A binary search costs ``log₂ |cols|`` probes per kept non-zero; the map one pass over
    every column and one read per kept non-zero. At ~100 m the sample model of the column
    generation keeps 7.2 M of 29 M columns and ~24 M non-zeros: the searches took 3.7 s of
    its 7.3 s (a restricted LP of a round keeps under 0.5 M columns and searches)."""
    if cols.size <= RANK_MAP_ABOVE or nnz <= 0:
        return None
    dtype = np.int32 if keep.size < 2**31 else np.int64
    rank = np.cumsum(keep, dtype=dtype)
    rank -= 1
    return rank


def _kept_columns(A: sp.csr_matrix, keep: np.ndarray, cols: np.ndarray,
                  rank: np.ndarray | None = None) -> sp.csr_matrix:
    """``A[:, cols]`` for the sorted columns ``cols = flatnonzero(keep)`` of a CSR block with
    sorted indices, in time proportional to ``A``'s non-zeros and the kept ones: scipy's
    column indexing builds a map over every column for each block, which at national size
    (tens of millions of columns, a restricted model every round) is most of the work.
    ``rank`` (:func:`_column_ranks`, optional) numbers the kept columns by a look-up instead
    of a binary search in ``cols``: the same numbers."""
    if not A.has_sorted_indices:
        return A[:, cols].tocsr()
    # the kept non-zeros' positions; row ``i`` keeps those in ``[indptr_i, indptr_{i+1})``, so
    # its new ``indptr`` is the count of kept positions before ``indptr_i`` (a binary search
    # per row: no loop over the rows, and no 8-byte count per non-zero — a sum over a mask
    # of every non-zero casts the whole mask to 64-bit integers first, 150 MB for a row
    # block over every column at ~100 m)
    pos = np.flatnonzero(keep[A.indices])
    idx = A.indices[pos]
    indptr = np.searchsorted(pos, A.indptr).astype(np.int64, copy=False)
    # the kept columns' new numbers: their ranks among ``cols`` (order kept, so sorted)
    new = np.searchsorted(cols, idx) if rank is None else rank[idx]
    out = sp.csr_matrix((A.data[pos], new, indptr), shape=(A.shape[0], cols.size))
    out.has_sorted_indices = True
    return out


class SpecBuilder:
    """Collects columns, row blocks (as COO triplets) and terms, then builds a ModelSpec.

    ``keep_term_coefs=False`` stores only the combined objective (large models).
    """

    def __init__(self, col_unit: np.ndarray, col_use: np.ndarray, unit_cells: np.ndarray,
                 keep_term_coefs: bool = True):
        self.col_unit = np.asarray(col_unit, np.int32)
        self.col_use = np.asarray(col_use, np.int16)
        self.unit_cells = np.asarray(unit_cells, np.int64)
        self.n_x = int(self.col_unit.size)
        self.keep_term_coefs = keep_term_coefs
        self.aux_names: list[str] = []
        self.aux_lb: list[float] = []
        self.aux_ub: list[float] = []
        self._blocks: list[dict[str, Any]] = []
        self._terms: list[dict[str, Any]] = []
        self._obj_x: np.ndarray | None = None

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
        """Add a block; its triplets become a CSR matrix at once (the columns may only refer
        to x columns and to auxiliary columns added so far)."""
        if any(b["name"] == name for b in self._blocks):
            raise ValueError(f"duplicate block name {name}")
        n_cols_now = self.n_x + len(self.aux_names)
        A = sp.csr_matrix((np.asarray(vals, np.float64),
                           (np.asarray(rows, np.int32), np.asarray(cols, np.int32))),
                          shape=(int(n_rows), n_cols_now))
        A.sum_duplicates()
        self._blocks.append(dict(name=name, kind=kind, A=A, lower=np.asarray(lower, float),
                                 upper=np.asarray(upper, float), labels=labels, ref=ref,
                                 meta=meta or {}))

    def add_term(self, name: str, sense: str, weight: float, coef_x: np.ndarray | None = None,
                 constant: float = 0.0, unit: str = "points", description: str = "",
                 aux: dict[int, float] | None = None) -> None:
        """A term with dense coefficients over the x columns and/or sparse ones on aux
        columns (column index -> coefficient). Without ``keep_term_coefs`` the coefficients
        go straight into the combined objective and are not kept."""
        sign = 1.0 if sense == "benefit" else -1.0
        w = float(weight)
        if coef_x is not None and w:
            if self._obj_x is None:
                self._obj_x = np.zeros(self.n_x)
            self._obj_x += sign * w * coef_x
        self._terms.append(dict(name=name, sense=sense, weight=w,
                                coef_x=coef_x if self.keep_term_coefs else None,
                                aux=dict(aux or {}), constant=float(constant), unit=unit,
                                description=description))

    def build(self) -> ModelSpec:
        n_cols = self.n_x + len(self.aux_names)
        blocks = []
        for b in self._blocks:
            A = b.pop("A")
            A.resize((A.shape[0], n_cols))
            blocks.append(RowBlock(b["name"], b["kind"], A, b["lower"], b["upper"], b["labels"],
                                   b["ref"], b["meta"]))
        obj = np.zeros(n_cols)
        if self._obj_x is not None:
            obj[: self.n_x] = self._obj_x
            self._obj_x = None
        offset = 0.0
        terms = []
        for t in self._terms:
            sign = 1.0 if t["sense"] == "benefit" else -1.0
            w = t["weight"]
            for j, v in t["aux"].items():
                obj[j] += sign * w * v
            offset += sign * w * t["constant"]
            coef = None
            if self.keep_term_coefs:
                coef = np.zeros(n_cols)
                if t["coef_x"] is not None:
                    coef[: self.n_x] = t["coef_x"]
                for j, v in t["aux"].items():
                    coef[j] += v
            terms.append(Term(t["name"], t["sense"], w, coef, t["constant"], t["unit"],
                              t["description"]))
            t["coef_x"] = None
        return ModelSpec(self.n_x, self.col_unit, self.col_use, self.unit_cells,
                         list(self.aux_names), np.asarray(self.aux_lb, float),
                         np.asarray(self.aux_ub, float), blocks, terms, obj, offset)
