"""What a solve returns, what a backend must offer, and how gaps are measured.

Shared by the solve strategy (:mod:`ruimteverdeling.model.solve`) and every backend, so that
backends import only this module and the strategy imports the backends (no cycle).

Two gaps (maximisation, objective ``z``, proven upper bound ``z̄``):

* the **total gap** ``(z̄ − z) / max(|z|, 1)``: relative to the whole objective. Most of the
  objective is the value of land that keeps its use, so this figure is small even when the
  allocation that changes is far from optimal; it is kept for comparison.
* the **decision gap** ``(z̄ − z) / max(|z − z_sq|, ε)``: relative to the *decision value*,
  the distance between the objective and the value ``z_sq`` of the status quo (every
  changeable cell keeps its current use; see :attr:`ModelSpec.status_quo_value`).
  ``ε = 10⁻⁶ · max(|z|, 1)`` only matters when the status quo itself is (nearly) optimal.
  ``mip_rel_gap`` refers to this gap whenever the model carries a status-quo value.

The solver is given an absolute target: ``mip_rel_gap × D``, where ``D`` is a *proven* lower
bound on ``|z − z_sq|`` for whatever objective the search still ends with —
the distance from ``z_sq`` to the interval [incumbent, bound] (:func:`abs_gap_target`). A run
is called optimal only when the final decision gap, computed from the final objective and
bound, is within ``mip_rel_gap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # typing only: the options import pydantic, the spec numpy/scipy
    from ruimteverdeling.model.options import SolverOptions
    from ruimteverdeling.model.spec import ModelSpec

DECISION_EPS = 1e-6
"""ε of the decision gap, relative to the objective: ``ε = DECISION_EPS · max(|z|, 1)``."""


def proven_gap(objective: float, bound: float) -> float:
    """Total gap of a maximisation: (bound − objective) / max(|objective|, 1), ≥ 0."""
    return max(0.0, bound - objective) / max(abs(objective), 1.0)


def decision_floor(objective: float) -> float:
    """ε: the smallest decision value a gap is measured against."""
    return DECISION_EPS * max(abs(objective), 1.0)


def decision_gap(objective: float, bound: float, status_quo: float | None) -> float:
    """(bound − objective) / max(|objective − status_quo|, ε), ≥ 0; the total gap when the
    model has no status-quo value."""
    if status_quo is None or not np.isfinite(status_quo):
        return proven_gap(objective, bound)
    return max(0.0, bound - objective) / max(abs(objective - status_quo),
                                             decision_floor(objective))


def abs_gap_target(rel_gap: float, incumbent: float | None, bound: float,
                   status_quo: float | None) -> float:
    """The absolute gap a search may stop at so that the decision gap is within ``rel_gap``.

    Whatever objective ``z`` the search ends with lies in [incumbent, bound] (−∞ without an
    incumbent), so ``|z − z_sq| ≥ D`` = the distance from ``z_sq`` to that interval, and
    stopping at ``bound − z ≤ rel_gap · max(D, ε)`` proves a decision gap within ``rel_gap``.
    Without a status-quo value: ``rel_gap · max(|z|, 1)`` (the total gap), with ``|z|`` at its
    smallest over the interval.
    """
    lo = -np.inf if incumbent is None else float(incumbent)
    hi = float(bound)
    smallest = 0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi))
    if status_quo is None or not np.isfinite(status_quo):
        return rel_gap * max(smallest, 1.0)
    if status_quo > hi:
        dist = status_quo - hi
    elif status_quo < lo:
        dist = lo - status_quo
    else:
        dist = 0.0
    return rel_gap * max(dist, decision_floor(smallest))


@dataclass
class Solution:
    """The result of a solve (maximisation).

    ``gap`` is the total gap, ``decision_gap`` the gap relative to the decision value
    ``objective − status_quo_value`` (see the module docstring); ``status`` is ``optimal`` only
    when the decision gap (the total gap if the model has no status-quo value) is proven
    within ``mip_rel_gap``.
    """

    status: str  # "optimal" | "feasible" (gap open) | "time_limit" (best found when the time
    # ran out; gap open) | "relaxation" (LP only, method lp)
    x: np.ndarray
    objective: float
    bound: float
    gap: float
    method: str
    backend: str
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    row_dual: np.ndarray | None = None
    status_quo_value: float | None = None
    decision_gap: float | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    @property
    def decision_value(self) -> float | None:
        """objective − status-quo value (None without a status-quo value)."""
        if self.status_quo_value is None:
            return None
        return self.objective - self.status_quo_value


@dataclass
class LpOutcome:
    """A solved (or failed) LP relaxation. ``basis`` (backend-specific, may be None) lets the
    next LP on the same columns start from this one's vertex."""

    status: str  # "optimal" | "infeasible" | "time_limit" | "other: ..."
    x: np.ndarray | None
    objective: float | None
    col_dual: np.ndarray | None
    row_dual: np.ndarray | None
    seconds: dict[str, float]
    details: dict[str, Any]
    basis: Any = None


@dataclass
class MipOutcome:
    """A MIP run: the best solution found (if any) and the solver's dual bound."""

    status: str
    x: np.ndarray | None
    bound: float | None
    seconds: dict[str, float]
    details: dict[str, Any]


class Backend(Protocol):
    """What the solve strategy needs from a backend.

    ``lp`` may be given the ``basis`` of an earlier LP over the same columns (with rows
    appended after it, or bounds changed); a backend that cannot use it ignores it.
    ``mip`` solves with every column marked integral in ``spec.integral`` integral.
    """

    name: str

    def label(self) -> str: ...

    def lp(self, spec: ModelSpec, options: SolverOptions, time_limit: float,
           basis: Any = None) -> LpOutcome: ...

    def mip(self, spec: ModelSpec, options: SolverOptions, time_limit: float, gap: float,
            start: np.ndarray | None = None, abs_gap: float | None = None) -> MipOutcome: ...


def norm_status(status: str) -> str:
    """A backend's status text as one of optimal | infeasible | time_limit | other: ..."""
    s = status.lower()
    if s == "optimal":
        return "optimal"
    if s == "infeasible":
        return "infeasible"
    if "time limit" in s:
        return "time_limit"
    return f"other: {status}"
