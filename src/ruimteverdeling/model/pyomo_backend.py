"""The Pyomo backend: the same ModelSpec rendered as a readable Pyomo model.

Use it to export the model (LP or MPS, with symbolic names: ``x[cell,use]``, one Pyomo block
per rule or target), to solve with any solver Pyomo knows, and to check that both backends
reach the same optimum. It builds Python objects per variable and per row, which costs
~45 µs and ~1.7 KB per binary (measured), so it is meant for small and regional models; the
highspy backend is the default.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.errors import SolverError
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import LpOutcome, MipOutcome
from ruimteverdeling.model.spec import ModelSpec


def _block_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def render(spec: ModelSpec, use_ids: list[str] | None = None):
    """A ``pyomo.environ.ConcreteModel`` equivalent to ``spec``.

    ``use_ids`` names the uses of ``spec.col_use`` (for readable variable names).
    """
    import pyomo.environ as pyo
    from pyomo.common.gc_manager import PauseGC
    from pyomo.core.expr.numeric_expr import LinearExpression

    with PauseGC():
        m = pyo.ConcreteModel(name="ruimteverdeling")
        keys = [(int(spec.unit_cells[spec.col_unit[j]]),
                 use_ids[spec.col_use[j]] if use_ids else int(spec.col_use[j]))
                for j in range(spec.n_x)]
        m.x = pyo.Var(keys, domain=pyo.Binary)
        aux_keys = [_block_name(n) for n in spec.aux_names]
        m.aux = pyo.Var(aux_keys, domain=pyo.Reals)
        cols = [m.x[k] for k in keys] + [m.aux[k] for k in aux_keys]
        lbs, ubs, integral = spec.lb, spec.ub, spec.integral  # properties: build once
        for j, v in enumerate(cols):
            lb = lbs[j]
            ub = ubs[j]
            v.setlb(None if not np.isfinite(lb) else float(lb))
            v.setub(None if not np.isfinite(ub) else float(ub))
            if not integral[j] and j < spec.n_x:
                v.domain = pyo.Reals
            elif integral[j] and j >= spec.n_x:
                v.domain = pyo.Integers
        for b in spec.blocks:
            blk = pyo.Block()
            m.add_component(_block_name(b.name), blk)
            A = b.A.tocsr()
            lower, upper = b.lower, b.upper

            def rule(_blk, r, A=A, lower=lower, upper=upper):
                s, e = A.indptr[r], A.indptr[r + 1]
                idx = A.indices[s:e]
                if idx.size == 0:
                    return pyo.Constraint.Skip
                expr = LinearExpression(constant=0.0,
                                        linear_coefs=[float(a) for a in A.data[s:e]],
                                        linear_vars=[cols[j] for j in idx])
                lo = float(lower[r]) if np.isfinite(lower[r]) else None
                hi = float(upper[r]) if np.isfinite(upper[r]) else None
                if lo is not None and hi is not None and lo == hi:
                    return expr == lo
                return (lo, expr, hi)

            blk.rows = pyo.Constraint(range(b.n_rows), rule=rule)
        c, offset = spec.objective()
        nz = np.flatnonzero(c)
        obj = LinearExpression(constant=float(offset), linear_coefs=[float(c[j]) for j in nz],
                               linear_vars=[cols[j] for j in nz])
        m.objective = pyo.Objective(expr=obj, sense=pyo.maximize)
        m._cols = cols
    return m


def write_model(spec: ModelSpec, path: str | Path, use_ids: list[str] | None = None) -> Path:
    """Write the model as LP or MPS (by the file suffix) with symbolic names."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("lp", "mps"):
        raise ValueError("export format must be .lp or .mps")
    m = render(spec, use_ids)
    m.write(str(path), io_options={"symbolic_solver_labels": True})
    return path


class PyomoBackend:
    """Renders each (sub-)model with :func:`render` and solves it through Pyomo.

    With ``pyomo_solver: highs`` (default) the solver is HiGHS through Pyomo's ``highs``
    interface, which also returns reduced costs for the LP-first strategy; any other name goes
    through ``pyomo.environ.SolverFactory`` (the solver must be installed).
    """

    name = "pyomo"

    def __init__(self) -> None:
        self._label = "Pyomo"

    def label(self) -> str:
        return self._label

    def lp(self, spec: ModelSpec, options: SolverOptions, time_limit: float,
           basis: Any = None) -> LpOutcome:
        t0 = time.perf_counter()
        m = render(spec)
        relax(m, spec)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        status, x, _bound, rc = self._run(m, spec, options, time_limit, None, relaxed=True)
        obj = spec.objective_value(x) if x is not None else None
        return LpOutcome(status, x, obj, rc, None, {"build": t_build, "lp": time.perf_counter()
                                                    - t0}, {})

    def mip(self, spec: ModelSpec, options: SolverOptions, time_limit: float, gap: float,
            start: np.ndarray | None = None, abs_gap: float | None = None) -> MipOutcome:
        t0 = time.perf_counter()
        m = render(spec)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        status, x, bound, _ = self._run(m, spec, options, time_limit, gap, relaxed=False,
                                        abs_gap=abs_gap)
        return MipOutcome(status, x, bound, {"build": t_build, "mip": time.perf_counter() - t0},
                          {})

    def _run(self, m, spec: ModelSpec, options: SolverOptions, time_limit: float,
             gap: float | None, relaxed: bool, abs_gap: float | None = None):
        """Solve; return (status, x, bound, reduced costs)."""
        name = options.pyomo_solver
        rc = None
        if name == "highs":
            from pyomo.contrib.solver.common.factory import SolverFactory

            opt = SolverFactory("highs")
            kwargs: dict = {"time_limit": time_limit, "threads": options.threads}
            if gap is not None:
                kwargs["rel_gap"] = gap
            if abs_gap is not None:
                kwargs["abs_gap"] = abs_gap
            res = _interruptible(lambda: opt.solve(
                m, load_solutions=False, raise_exception_on_nonoptimal_result=False, **kwargs),
                opt)
            term = str(res.termination_condition)
            self._label = f"HiGHS {res.solver_version} via Pyomo"
            status = ("optimal" if "convergenceCriteriaSatisfied" in term else
                      "infeasible" if "infeasible" in term.lower() else
                      "time_limit" if "maxTimeLimit" in term else f"other: {term}")
            if res.incumbent_objective is None:
                return status, None, None, None
            res.solution_loader.load_vars()
            if relaxed:
                bound = float(res.incumbent_objective)
                rcs = res.solution_loader.get_reduced_costs()
                rc = np.array([rcs.get(v, 0.0) for v in m._cols], float)
            else:
                bound = float(res.objective_bound) if res.objective_bound is not None \
                    else None
        else:
            import pyomo.environ as pyo

            opt = pyo.SolverFactory(name)
            if not opt.available(exception_flag=False):
                raise SolverError(f"Pyomo solver '{name}' is not available on this machine")
            res = _interruptible(lambda: opt.solve(m, load_solutions=True), opt)
            self._label = f"{name} via Pyomo"
            tc = str(res.solver.termination_condition)
            status = "optimal" if tc == "optimal" else \
                "infeasible" if "infeasible" in tc.lower() else f"other: {tc}"
            if status == "infeasible":
                return status, None, None, None
            ub = res.problem.upper_bound
            bound = float(ub) if ub is not None and np.isfinite(float(ub)) else None
        x = np.array([v.value if v.value is not None else 0.0 for v in m._cols], float)
        return status, x, bound, rc


def _interruptible(call: Callable[[], Any], opt: Any) -> Any:
    """``call()`` (a Pyomo solve) in a worker thread, so that Ctrl-C and SIGTERM reach the
    main thread at once (see :func:`ruimteverdeling.model.highs_backend.run_highs`). On an
    interrupt the HiGHS instance Pyomo solves with (``opt._solver_model``; Pyomo switches on
    its interrupt callbacks) is cancelled and given a moment to stop; another solver keeps
    running in its thread until the process exits."""
    if threading.current_thread() is not threading.main_thread():
        return call()
    hb._join_abandoned()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="pyomo-solve", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.05)
    except BaseException:
        model = getattr(opt, "_solver_model", None)
        if hasattr(model, "cancelSolve"):
            model.cancelSolve()
        thread.join(hb.CANCEL_GRACE)
        if thread.is_alive():
            hb._abandoned.append((model, thread))
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def relax(m, spec: ModelSpec) -> None:
    """Relax the binaries of a rendered model to [0, 1]."""
    import pyomo.environ as pyo

    integral = spec.integral
    for j, v in enumerate(m._cols):
        if integral[j]:
            v.domain = pyo.Reals
