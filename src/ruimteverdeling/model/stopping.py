"""Deterministic stop tests for HiGHS's MIP: budgets counted in interrupt checks.

HiGHS asks a callback, at points of its search that do not depend on the machine's load,
whether to stop. A budget counted in those checks (not in seconds) makes a cut-off run end
at the same incumbent on an idle and on a loaded machine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Test = Callable[[float, float], bool]
"""A test on (incumbent objective, dual bound) in the MIP's own sense (minimisation)."""


def has_incumbent(primal: float, dual: float) -> bool:
    """True once the MIP holds an incumbent (a finite primal objective)."""
    return bool(np.isfinite(primal))


class PatientStop:
    """A MIP stop test whose budget is ``budget`` interrupt checks.

    With ``k`` the number of checks asked so far (``checks``), the run stops at the check
    where

        proven(primal, dual)  or  k ≥ patience · budget  or  (k ≥ budget and fair(primal, dual)).

    ``proven`` is the run's own goal (a gap met); ``fair`` accepts an incumbent once the
    budget is spent (for instance one not poor against the run's dual bound, or just any
    incumbent: :func:`has_incumbent`); while ``fair`` refuses, the run goes on up to
    ``patience`` budgets and then stops with what it has."""

    def __init__(self, proven: Test, fair: Test, budget: int, patience: int) -> None:
        if budget < 1 or patience < 1:
            raise ValueError(f"budget and patience must be at least 1 (got {budget}, "
                             f"{patience})")
        self.proven, self.fair = proven, fair
        self.budget, self.patience = budget, patience
        self.checks = 0

    def __call__(self, primal: float, dual: float) -> bool:
        self.checks += 1
        if self.proven(primal, dual):
            return True
        if self.checks >= self.patience * self.budget:
            return True
        return self.checks >= self.budget and bool(self.fair(primal, dual))
