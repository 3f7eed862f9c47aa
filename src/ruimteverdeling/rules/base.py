"""The shapes a rule compiles into.

Every rule family turns its parameters into one or more of:

:class:`ClosedPairs`
    (cell, use) pairs closed in a zone: their columns are never created. Applied to the
    allowed pairs before the columns exist, in the order the scenario lists the rules (water
    and soil first); a softened rule (an override) charges a cost per hectare instead.

:class:`PairTerm`
    an objective term whose coefficient for the pair (cell ``c``, use ``u``) is
    ``fn(c, u)``; evaluated for every column, for pinned cells (into the term's constant) and
    for hypothetical pairs (to price what a rule closes).
:class:`PairRows`
    rows whose coefficient for the pair (c, u) is given by ``fn(c, u) -> (row, value)`` —
    separable over cells, so fixed and pinned cells move into the bounds exactly, and any pair
    can be priced against the row duals. Targets, quotas, fairness rows and proximity shares
    have this shape; they may carry auxiliary columns (a minimax level, soft slacks).
:class:`ColumnRows`
    rows that couple columns of different cells (pairwise distance conflicts); built from the
    final column list.

A family's compile returns them in a :class:`Contribution`.

Cells are passed as *land indices* (positions in ``Context.land_cells``) and uses as catalogue
indices, both as numpy arrays, so every function is vectorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

PairFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
RowFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class PairTerm:
    """An objective term: value(x) = Σ_(c,u) fn(c, u) · x[c,u] (+ pinned cells)."""

    name: str
    sense: Literal["benefit", "cost"]
    fn: PairFn
    unit: str = "points"
    description: str = ""
    ref: str | None = None  # the rule that adds it


@dataclass
class Aux:
    """An auxiliary continuous column attached to a PairRows block."""

    name: str
    row_coef: np.ndarray  # coefficient in each row of the block
    cost: float = 0.0  # objective cost per unit (added to term `term`)
    term: str | None = None
    lb: float = 0.0
    ub: float = np.inf


@dataclass
class PairRows:
    """Rows ``lower ≤ Σ fn(c,u)·x + K ≤ upper`` (K = fixed and pinned cells) plus aux columns.

    ``penalty`` makes the rows soft: each unit of shortfall below ``lower`` (or excess above
    ``upper``) costs ``penalty`` in the term ``shortfall:<ref>``.
    """

    name: str
    kind: Literal["target", "rule"]
    ref: str
    labels: list[str]
    fn: RowFn
    lower: np.ndarray
    upper: np.ndarray
    penalty: float | None = None
    aux: list[Aux] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    hard_check: bool = True  # report rows no allocation can satisfy as input errors
    include_fixed: bool = True  # whether fixed context cells contribute (targets: yes)


@dataclass
class ColumnRows:
    """Rows built from the final columns (for rules that couple different cells)."""

    name: str
    ref: str
    build: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray,
                               np.ndarray]]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClosedPairs:
    """Pairs (cell, use) a rule closes: ``x[c,u]`` is not created for ``c`` in ``zone`` and
    ``u`` in ``uses``, except — with ``applies_to: new`` — for ``u`` the cell's current use.

    ``zone`` is a bool per land cell; ``uses`` are allocatable use ids (a family closing a
    single use lists the combined uses that contain it too).
    """

    zone: np.ndarray
    uses: list[str]
    applies_to: Literal["new", "all"] = "new"


@dataclass
class Contribution:
    """What one rule adds to the model: pairs it closes, objective terms, rows."""

    closed: ClosedPairs | None = None
    terms: list[PairTerm] = field(default_factory=list)
    rows: list[PairRows] = field(default_factory=list)
    column_rows: list[ColumnRows] = field(default_factory=list)

    @property
    def blocks(self) -> list[str]:
        """Names of the row blocks it adds (``rule:<id>``)."""
        return [r.name for r in self.rows] + [r.name for r in self.column_rows]
