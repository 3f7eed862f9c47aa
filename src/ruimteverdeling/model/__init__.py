"""The model: a solver-independent ModelSpec, the highspy and Pyomo backends, and the solve."""

from ruimteverdeling.model.solve import Solution, solve
from ruimteverdeling.model.spec import ModelSpec, RowBlock, SpecBuilder, Term

__all__ = ["ModelSpec", "RowBlock", "Solution", "SpecBuilder", "Term", "solve"]
