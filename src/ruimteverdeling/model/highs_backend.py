"""The default backend: a ModelSpec handed to HiGHS (highspy) as arrays, in bulk.

No Python loop runs per variable or per row: the stacked block matrix is converted to CSC once
and passed with ``passModel``; integrality is set with one ``changeColsIntegrality`` call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from ruimteverdeling.model.spec import ModelSpec


@dataclass
class HighsResult:
    """What one HiGHS run returned (maximisation)."""

    status: str  # HiGHS model status as text ("Optimal", "Infeasible", "Time limit reached", ...)
    x: np.ndarray | None
    objective: float | None
    bound: float | None  # dual bound (MIP) or LP optimum (LP)
    row_dual: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    seconds: float = 0.0
    iterations: dict[str, int] = field(default_factory=dict)
    mip_nodes: int = 0
    primal_infeasibility: float = 0.0

    @property
    def optimal(self) -> bool:
        return self.status == "Optimal"

    @property
    def has_solution(self) -> bool:
        return self.x is not None


_banner_shown = False
_threads: int | None = None


def _use_threads(n: int) -> None:
    """HiGHS's task scheduler is global to the process and keeps the thread count of its first
    use; a solve asking for another count must reset it first."""
    global _threads
    if _threads is not None and n != _threads:
        highspy.Highs.resetGlobalScheduler(True)
    _threads = n


def new_highs() -> highspy.Highs:
    """A silent Highs instance (HiGHS prints a banner on stdout at its first construction in a
    process; it is swallowed so that command output stays clean)."""
    global _banner_shown
    if not _banner_shown:
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def version() -> str:
    """HiGHS version and git hash, e.g. '1.16.0 (f3f113d)'."""
    h = new_highs()
    return f"{h.version()} ({h.githash()})"


def build(spec: ModelSpec, integral: bool, options: dict[str, object] | None = None
          ) -> highspy.Highs:
    """A Highs instance holding ``spec`` (as an LP, or a MIP when ``integral``)."""
    A, lower, upper = spec.matrix()
    A = A.tocsc()
    c, offset = spec.objective()
    h = new_highs()
    options = dict(options or {})
    if "threads" in options:
        _use_threads(int(options["threads"]))
    for key, value in options.items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_ = spec.n_cols
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = c
    lp.col_lower_ = spec.lb.astype(float)
    lp.col_upper_ = spec.ub.astype(float)
    lp.row_lower_ = lower.astype(float)
    lp.row_upper_ = upper.astype(float)
    lp.offset_ = float(offset)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.a_matrix_.num_col_ = spec.n_cols
    lp.a_matrix_.num_row_ = A.shape[0]
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        from ruimteverdeling.errors import SolverError

        raise SolverError("HiGHS rejected the model (passModel returned an error): a bound or "
                          "coefficient is outside what it accepts; check the scenario's "
                          "numbers for extreme magnitudes")
    if integral:
        idx = np.flatnonzero(spec.integral).astype(np.int32)
        if idx.size:
            h.changeColsIntegrality(idx.size, idx,
                                    np.full(idx.size, int(highspy.HighsVarType.kInteger.value),
                                            np.uint8))
    return h


def run(h: highspy.Highs, integral: bool, want_duals: bool = False) -> HighsResult:
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    model_status = h.getModelStatus()
    status = h.modelStatusToString(model_status)
    info = h.getInfo()
    x = None
    row_dual = col_dual = None
    sol = h.getSolution()
    if info.primal_solution_status == 2 or (integral and sol.value_valid):  # 2 = feasible
        x = np.asarray(sol.col_value, dtype=float)
        if want_duals and sol.dual_valid:
            row_dual = np.asarray(sol.row_dual, dtype=float)
            col_dual = np.asarray(sol.col_dual, dtype=float)
    objective = float(info.objective_function_value) if x is not None else None
    if integral:
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound):
            bound = None
    else:
        bound = objective if status == "Optimal" else None
    return HighsResult(
        status=status, x=x, objective=objective, bound=bound, row_dual=row_dual,
        col_dual=col_dual, seconds=seconds,
        iterations={"simplex": int(info.simplex_iteration_count),
                    "ipm": int(info.ipm_iteration_count),
                    "crossover": int(info.crossover_iteration_count)},
        mip_nodes=int(info.mip_node_count) if integral else 0,
        primal_infeasibility=float(info.max_primal_infeasibility),
    )


def lp_options(spec: ModelSpec, algorithm: str, threads: int, time_limit: float,
               seed: int) -> dict[str, object]:
    """HiGHS options for the LP relaxation.

    Dual simplex is fastest up to a few hundred thousand columns (measured on the demo, 295k
    columns: 10.6 s against 29 s for the interior-point method); beyond that the interior-point
    method with crossover (to get a vertex, hence at most as many fractional cells as coupling
    rows) scales far better on this semi-assignment structure (probe: dual simplex > 600 s at
    1M cells, IPM + crossover 202 s).
    """
    if algorithm == "auto":
        algorithm = "simplex" if spec.n_cols < 500_000 else "ipm"
    opts: dict[str, object] = {"solver": algorithm, "threads": threads,
                               "time_limit": float(time_limit), "random_seed": seed}
    if algorithm == "ipm":
        opts["run_crossover"] = "on"
    return opts


def mip_options(threads: int, time_limit: float, gap: float, seed: int) -> dict[str, object]:
    return {"threads": threads, "time_limit": float(time_limit), "mip_rel_gap": float(gap),
            "random_seed": seed}
