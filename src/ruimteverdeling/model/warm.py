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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ruimteverdeling.model.spec import ModelSpec

USE_SPAN = np.int64(1 << 16)
"""Keys are ``cell · USE_SPAN + use``: use indices stay below 2¹⁶."""


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


def mapped_x(ws: WarmStart, spec: ModelSpec) -> np.ndarray | None:
    """``ws.x`` over ``spec``'s columns, or None when a unit of ``spec`` loses its chosen
    column (its cell's use in ``ws`` is not allowed in ``spec``) or is new."""
    pos = _positions(ws.x_keys, column_keys(spec))
    out = np.zeros(spec.n_cols)
    have = pos >= 0
    out[: spec.n_x][have] = ws.x[pos[have]]
    chosen = np.bincount(spec.col_unit, weights=out[: spec.n_x], minlength=spec.n_units)
    if spec.n_units and np.abs(chosen - 1.0).max() > 1e-6:
        return None
    names = {n: i for i, n in enumerate(ws.aux_names)}
    old_n_x = ws.x_keys.size
    for j, n in enumerate(spec.aux_names):
        i = names.get(n)
        value = ws.x[old_n_x + i] if i is not None else spec.aux_lb[j]
        if not np.isfinite(value):
            value = 0.0
        out[spec.n_x + j] = min(max(value, spec.aux_lb[j]), spec.aux_ub[j])
    return out


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
                 basic: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``ws.basis`` as (column status, row status) of ``spec`` (status codes ``lower`` ...
    ``basic`` of the backend), or None when it is not a basis of ``spec`` (the number of
    basic variables differs from the number of rows)."""
    if ws.basis is None:
        return None
    old_col, old_row = np.asarray(ws.basis.col), np.asarray(ws.basis.row)
    old_n_x = ws.x_keys.size
    col = np.full(spec.n_cols, lower, np.int8)
    pos = _positions(ws.x_keys, column_keys(spec))
    have = pos >= 0
    c_new, c_old = spec.obj[: spec.n_x][have], np.asarray(ws.obj)[pos[have]]
    scale = max(float(np.abs(c_old).max(initial=0.0)), 1.0)
    if c_new.size and float(np.abs(c_new - c_old).max()) > 1e-9 * scale:
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
