"""A total time budget shared by the re-solves of an analysis.

An analysis (rule costs, a Pareto front, alternatives) solves ``n`` related models after the
scenario's own solve. Given a budget of ``B`` seconds for all of them, the ``i``-th re-solve
(``i = 0 … n−1``) started at ``t_i`` seconds into the budget gets

    share_i = min(cap, max(floor, (B − t_i) / (n − i)))

seconds: what is left, spread evenly over the re-solves still to run, never more than the
per-solve ``cap`` (the default re-solve time) and never less than ``floor`` (so every
re-solve still returns its allocation and proven bound): the larger of
:data:`BUDGET_FLOOR_SECONDS` and what the scenario's own first LP took to build and solve
(:func:`floor_for`) — a re-solve stopped before its LP relaxation finishes has no bound of
its own (a rule cost then falls back on a Lagrangian bound, a Pareto or MGA solve runs once
more with its whole time). A re-solve that finishes early leaves its time to the ones after
it. The budget is a target, not a hard stop: when it is spent, each remaining re-solve still
gets ``floor`` seconds, and a re-solve can overrun its share by what a step that does not
check the clock takes. A re-solve stopped by its share
reports its proven gap (a cost its proven bracket), so a smaller budget gives every answer
sooner with wider brackets, never a wrong one.
"""

from __future__ import annotations

import time
from typing import Any

BUDGET_FLOOR_SECONDS = 2.0
"""The least a re-solve gets, whatever is left of the budget (see :func:`floor_for`)."""


def floor_for(solution: Any) -> float:
    """The least time a re-solve of ``solution``'s model gets: the seconds its first LP
    relaxation took to build and solve (a warm-started re-solve usually needs less), at
    least :data:`BUDGET_FLOOR_SECONDS`."""
    seconds = getattr(solution, "seconds", None) or {}
    t = float(seconds.get("build", 0.0)) + float(seconds.get("lp", 0.0))
    return max(BUDGET_FLOOR_SECONDS, t)


class Budget:
    """``total`` seconds (None: unlimited) for ``count`` re-solves of at most ``cap`` seconds
    each; the clock starts when the budget is made."""

    def __init__(self, total: float | None, count: int, cap: float,
                 floor: float = BUDGET_FLOOR_SECONDS):
        self.total = total
        self.left = max(int(count), 0)
        self.cap = float(cap)
        self.floor = float(min(floor, cap))
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def share(self) -> float:
        """Seconds for the next re-solve (and counts it as started)."""
        if self.total is None:
            self.left = max(self.left - 1, 0)
            return self.cap
        remaining = self.total - self.elapsed()
        per = remaining / max(self.left, 1)
        self.left = max(self.left - 1, 0)
        return float(min(self.cap, max(self.floor, per)))
