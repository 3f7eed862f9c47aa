"""The model: a solver-independent ModelSpec, the highspy and Pyomo backends, and the solve.

``solve`` is imported on first use, so that importing the model layer (for a ModelSpec or a
Solution) does not load HiGHS.
"""

from __future__ import annotations

from typing import Any

from ruimteverdeling.model.outcomes import Solution
from ruimteverdeling.model.spec import ModelSpec, RowBlock, SpecBuilder, Term

__all__ = ["ModelSpec", "RowBlock", "Solution", "SpecBuilder", "Term", "solve"]


def __getattr__(name: str) -> Any:
    if name == "solve":
        from ruimteverdeling.model.solve import solve

        return solve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
