"""Solver options: how a ModelSpec is solved (backend, method, tolerances, limits).

Part of the model layer: they say nothing about the Nota Ruimte. A scenario's ``solver:``
section is validated against :class:`SolverOptions`.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, field_validator

from ruimteverdeling.strict import StrictModel, invalid

MAX_COUNT = 1_000_000_000
"""Largest count in the solver options (binaries, units, iterations)."""
MAX_THREADS = 256
"""Most HiGHS threads a scenario may ask for. A fixed bound (not this machine's core count),
so that a scenario valid on one machine is valid on every other; HiGHS starts every thread it
is given, and 100,000 of them hang the process. More threads than cores only slow it down."""
MAX_TIME_LIMIT = 10_000_000.0
"""Longest time limit in seconds (~116 days)."""


class SolverOptions(StrictModel):
    """How to solve. ``method``: ``auto`` (LP relaxation first, repair the few fractional cells
    with a small MIP), ``mip`` (hand the whole model to HiGHS's MIP — small models only) or
    ``lp`` (the relaxation only, reported as such)."""

    backend: Literal["highs", "pyomo"] = "highs"
    method: Literal["auto", "mip", "lp"] = "auto"
    lp_algorithm: Literal["auto", "ipm", "simplex", "pdlp"] = "auto"
    time_limit: float = Field(default=600.0, gt=0, le=MAX_TIME_LIMIT)
    mip_rel_gap: float = Field(default=1e-4, ge=0, le=1)
    threads: int = Field(default=2, ge=1)
    full_mip_max_binaries: int = Field(default=50_000, ge=0, le=MAX_COUNT)
    repair_units_per_fractional: int = Field(default=20, ge=1, le=MAX_COUNT)
    repair_min_units: int = Field(default=500, ge=1, le=MAX_COUNT)
    repair_columns_per_unit: int = Field(default=4, ge=0, le=MAX_COUNT)
    decompose_above: int = Field(default=1_500_000, ge=0, le=MAX_COUNT)
    decompose_sample: int = Field(default=12_000, ge=1, le=MAX_COUNT)
    decompose_free_min: int = Field(default=20_000, ge=1, le=MAX_COUNT)
    decompose_free_share: float = Field(default=0.01, ge=0, le=1)
    decompose_add: int = Field(default=30_000, ge=1, le=MAX_COUNT)
    decompose_lp_gap: float = Field(default=1e-5, ge=0, le=1)
    decompose_max_iterations: int = Field(default=60, ge=1, le=MAX_COUNT)
    pyomo_solver: str = "highs"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: int) -> int:
        if v > MAX_THREADS:
            raise invalid(f"{v:,} threads is more than the {MAX_THREADS} the engine allows",
                          f"give at most {MAX_THREADS}; this machine has {os.cpu_count()} "
                          "cores, and more threads than cores only slow HiGHS down")
        return v
