"""Conflict: no use within a distance of newly allocated other uses (a pairwise rule).

E.g. a wind setback from newly allocated housing.

The exact pairwise form ``x[c,u] + x[d,v] ≤ 1`` for every pair of cells within distance R
needs one row per pair — at 100 m and R = 500 m about 80 rows per candidate cell. Instead,
for every cell c that may take one of ``uses`` and whose neighbourhood

    N(c) = { d ≠ c : |c − d| ≤ R, d may newly take one of ``near`` }

is not empty, one aggregated row

    |N(c)| · Σ_{u ∈ uses} x[c,u]  +  Σ_{d ∈ N(c)} Σ_{v ∈ near} x[d,v]  ≤  |N(c)|

says the same for binary x: if c takes a conflicting use no neighbour may take a ``near`` use,
and otherwise the row is slack. It costs one row per candidate cell and |N(c)| + 1 non-zeros
per pair of uses, against |N(c)| rows for the pairwise form; its LP relaxation is weaker,
which the solve's repair MIP absorbs (the rows involve only the cells in conflict).
Rows are built for cells on whichever side (``uses`` or ``near``) has fewer candidates; the
mirrored row is equally exact.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules import checks, reporting
from ruimteverdeling.rules.base import ColumnRows, Contribution
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Distance, RuleBase


class ConflictRule(RuleBase):
    """No ``uses`` within ``distance_m`` of newly allocated ``near`` uses (a pairwise rule).

    For every cell c that may take one of ``uses`` and whose neighbourhood N(c) (cells within
    ``distance_m``, c itself excluded) holds cells that may newly take one of ``near``:

        |N(c)| · Σ_{u∈uses} x[c,u] + Σ_{d∈N(c)} Σ_{v∈near} x[d,v] ≤ |N(c)|

    — one row per candidate cell instead of one per pair (see ``rules.conflict``).
    Existing ``near`` uses are a plain exclusion with a buffer.
    """

    type: Literal["conflict"] = "conflict"
    uses: list[str]
    near: list[str]
    distance_m: Distance = Field(gt=0)


MAX_NEIGHBOURS = 20_000
"""Most cells a conflict neighbourhood N(c) may hold (a radius of ~80 cells): every
candidate cell's row has |N(c)| + 1 entries, so beyond this the rows alone outgrow memory
(the shipped setbacks cover 8 .. 80 cells)."""


def check(rule: ConflictRule, index: int, ctx: Context) -> list[Problem]:
    field = f"rules[{index}]"
    problems = checks.uses(rule.uses, f"{field}.uses", ctx) + \
        checks.uses(rule.near, f"{field}.near", ctx)
    res = ctx.area.grid.resolution
    cells = np.pi * (rule.distance_m / res) ** 2
    if cells > MAX_NEIGHBOURS:
        problems.append(Problem(
            ctx.file, f"{field}.distance_m",
            f"{rule.distance_m:g} m covers about {cells:,.0f} cells of {res:g} m around every "
            f"cell; a conflict rule handles at most {MAX_NEIGHBOURS:,} (one row per candidate "
            "cell holds them all)",
            f"use at most {res * np.sqrt(MAX_NEIGHBOURS / np.pi):,.0f} m at this resolution, "
            "solve at a coarser one (--resolution), or keep the uses apart from existing "
            "land with an exclusion rule and `buffer_m`"))
    return problems


def offsets(distance_m: float, res: float) -> list[tuple[int, int]]:
    """Grid offsets (dr, dc) ≠ (0, 0) whose centre distance is at most ``distance_m``."""
    k = int(np.floor(distance_m / res))
    out = []
    for dr in range(-k, k + 1):
        for dc in range(-k, k + 1):
            if (dr or dc) and (dr * dr + dc * dc) * res * res <= distance_m ** 2 + 1e-9:
                out.append((dr, dc))
    return out


def compile(rule: ConflictRule, ctx: Context) -> Contribution:
    def build(col_cell: np.ndarray, col_use_idx: np.ndarray, n_x: int, width: int,
              height: int) -> tuple:
        a_mask = ctx.uses_mask(rule.uses, containing=True)[col_use_idx]
        cur = np.full(width * height, -1, np.int32)
        cur[ctx.land_cells] = ctx.land_use_idx
        b_mask = ctx.uses_mask(rule.near, containing=True)[col_use_idx] & \
            (cur[col_cell] != col_use_idx)
        a_cols, b_cols = np.flatnonzero(a_mask), np.flatnonzero(b_mask)
        if a_cols.size == 0 or b_cols.size == 0:
            return _empty(n_x)
        # build rows around the side with fewer candidate cells
        if np.unique(col_cell[b_cols]).size < np.unique(col_cell[a_cols]).size:
            a_cols, b_cols = b_cols, a_cols
        a_cells = np.unique(col_cell[a_cols])
        b_cells = np.unique(col_cell[b_cols])
        # for every candidate cell: the neighbour cells that hold b columns
        rr, cc = np.divmod(a_cells, width)
        is_b = np.zeros(width * height, bool)
        is_b[b_cells] = True
        pair_a, pair_b = [], []
        for dr, dc in offsets(rule.distance_m, ctx.area.grid.resolution):
            r2, c2 = rr + dr, cc + dc
            ok = (r2 >= 0) & (r2 < height) & (c2 >= 0) & (c2 < width)
            nb = r2[ok] * width + c2[ok]
            hit = is_b[nb]
            pair_a.append(a_cells[ok][hit])
            pair_b.append(nb[hit])
        if not pair_a:
            return _empty(n_x)
        pa = np.concatenate(pair_a)
        pb = np.concatenate(pair_b)
        if pa.size == 0:
            return _empty(n_x)
        rows_cells, row_of_pair = np.unique(pa, return_inverse=True)
        n_nb = np.bincount(row_of_pair).astype(float)  # |N(c)| per row
        # a-side entries: |N(c)| on every conflicting column of the row's cell
        a_row = np.searchsorted(rows_cells, col_cell[a_cols])
        a_in = (a_row < rows_cells.size) & (rows_cells[np.minimum(a_row, rows_cells.size - 1)]
                                            == col_cell[a_cols])
        r_a = a_row[a_in]
        c_a = a_cols[a_in]
        v_a = n_nb[r_a]
        # b-side entries: 1 on every near column of each neighbour cell of the row
        b_by_cell = sp.csr_matrix((np.ones(b_cols.size), (col_cell[b_cols], b_cols)),
                                  shape=(width * height, n_x))
        pairs = sp.csr_matrix((np.ones(pa.size), (row_of_pair, pb)),
                              shape=(rows_cells.size, width * height))
        B = (pairs @ b_by_cell).tocoo()
        rows = np.concatenate([r_a, B.row])
        cols = np.concatenate([c_a, B.col])
        vals = np.concatenate([v_a, B.data])
        return rows, cols, vals, rows_cells.size, np.full(rows_cells.size, -np.inf), n_nb

    return Contribution(column_rows=[ColumnRows(
        f"rule:{rule.id}", rule.id, build,
        meta={"status": rule.status, "source": rule.source.short()})])


def _empty(n_x: int) -> tuple:
    e = np.zeros(0)
    return e.astype(np.int64), e.astype(np.int64), e, 0, e, e


FAMILY = RuleFamily("conflict", ConflictRule, check, compile, reporting.block_rows)
