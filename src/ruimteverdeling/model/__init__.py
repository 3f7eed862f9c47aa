"""The model: a solver-independent ModelSpec, the highspy and Pyomo backends, and the solve.

Importing the package loads no solver: the solve is ``ruimteverdeling.model.solve.solve``
(HiGHS is imported with that module).
"""

from ruimteverdeling.model.outcomes import Solution
from ruimteverdeling.model.spec import ModelSpec, RowBlock, SpecBuilder, Term

__all__ = ["ModelSpec", "RowBlock", "Solution", "SpecBuilder", "Term"]
