"""``ruimteverdeling bench``: the engine beside its peers, at one or several sizes.

For a synthetic Netherlands of ``cells`` land cells (generated once and cached) it solves a
scenario (default: ``benchmarks/national.yaml``, the base rules with provincial targets, for
one size; ``benchmarks/peers.yaml``, the base rules, for several) the
way ``ruimteverdeling solve`` does — read inputs, compile, solve, write the outputs — and
measures every phase and the peak memory of that process. Beside it, under a time limit, it
runs the **naive formulation**: one binary for every (changeable cell, allocatable use) pair —
pairs that a rule excludes are kept as binaries with upper bound 0 instead of being left out —
with every row explicit, solved to the same relative gap by each **peer** — the formulations
a user would otherwise write:

* ``highspy``: the arrays handed to HiGHS's MIP directly;
* ``pyomo``: a Pyomo model solved by HiGHS (the engine's Pyomo backend);
* ``linopy``: a linopy model (binary ``x[unit, use]`` with the excluded pairs' upper bound 0,
  the assignment rows as ``x.sum("use") == 1``, every other row as a linear expression of its
  columns), solved by HiGHS through linopy's direct interface;
* ``pulp``: a PuLP model (one ``LpVariable`` per column, one constraint per row) solved by
  CBC (the solver PuLP ships); CBC reports no dual bound through PuLP, so its gap is unknown.

linopy and PuLP are the optional extra ``peers`` (``pip install 'ruimteverdeling[peers]'``);
a peer that is not installed is reported as such, not skipped silently. The peer runs are
child processes (each in its own process group, with every process it starts, such as CBC)
killed when the limit passes (HiGHS's MIP setup does not look at its time limit), so their
time is ``> limit`` when they do not finish, or when together they hold more resident memory
than ``peer_memory_mb`` (``> mem``). Each peer is asked for the
engine's tolerance in objective points — ``mip_rel_gap`` times the engine's decision value
``|objective − status quo|`` — as an absolute gap (its relative gap set to 0), so that all stop
on the same test. Both sides are timed from the scenario files: the engine's build + solve
(reading, compiling, solving) against the peer's reading, compiling, model building and
solving; the ratio of each peer is its time over the engine's (``>=`` when the peer did not
finish). A peer's answer is checked against the engine's (:func:`compare`): an allocation
worth more than the engine's proven bound, or a proven peer bound under the engine's
allocation, is a warning — a finding, not a tolerance.

Every measurement runs in a fresh process; its peak resident memory is its own (``VmHWM``,
which, unlike ``ru_maxrss``, does not carry the peak of the process it was started from),
summed over its process tree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling import pipeline
from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.model.highs_backend import new_highs
from ruimteverdeling.model.outcomes import MipOutcome, decision_gap, norm_status
from ruimteverdeling.model.pyomo_backend import PyomoBackend
from ruimteverdeling.model.solve import HighsBackend, proven_gap, solve
from ruimteverdeling.model.spec import ModelSpec, RowBlock
from ruimteverdeling.paths import REPO_ROOT, cache_dir
from ruimteverdeling.progress import Progress
from ruimteverdeling.results.writer import AtomicOutputDir, note, reserve
from ruimteverdeling.rules import location
from ruimteverdeling.synthetic.codes import GENERATOR_VERSION

NL_LAND_M2 = 33_700e6  # land area of the Netherlands (CBS), for the whole-country resolution


def resolution_for(cells: int) -> float:
    """The cell size (m) at which the Netherlands' land area is ``cells`` cells."""
    return round((NL_LAND_M2 / cells) ** 0.5, 1)


def default_scenario(sizes: int = 1) -> Path:
    """The benchmark scenario of the source checkout (not part of an installed package: give
    ``--scenario`` there): ``benchmarks/national.yaml`` for one size (the national figures),
    ``benchmarks/peers.yaml`` for several — a scenario every size from 3 k cells on can meet
    (see that file)."""
    return REPO_ROOT / "benchmarks" / ("national.yaml" if sizes <= 1 else "peers.yaml")


def area_folder(cells: int, resolution: float | None = None, seed: int = 42) -> Path:
    """The cache folder of a synthetic benchmark area, keyed by size, cell size, seed and the
    generator version (an area of an earlier generator is never picked up)."""
    res = float(resolution) if resolution else resolution_for(cells)
    version = GENERATOR_VERSION.rsplit(" ", 1)[-1]
    return cache_dir() / f"nl_{cells}_{res:g}m_s{seed}_g{version}".replace(".", "_")


def ensure_area(cells: int, resolution: float | None = None, seed: int = 42,
                say: Any = None) -> Path:
    """The synthetic area of ``cells`` cells at ``resolution`` m (default: the whole
    Netherlands at that many cells), generated on first use and cached (in
    :func:`area_folder`, under :func:`ruimteverdeling.paths.cache_dir`). A folder there made
    by another generator version is regenerated when it is the engine's and refused otherwise
    (:func:`ruimteverdeling.pipeline.synthetic_area_state`)."""
    from ruimteverdeling.synthetic import make_area  # deferred: rasterio, shapely

    res = float(resolution) if resolution else resolution_for(cells)
    folder = area_folder(cells, res, seed)
    if pipeline.synthetic_area_state(folder) is not None:
        # written atomically; a second process waits for the first and then uses its area
        with reserve(folder, "area", wait=True):
            state = pipeline.synthetic_area_state(folder)
            if state is not None:
                pipeline.check_make_area(cells, res)  # beyond the grid or the memory: refused
                if state != "absent":
                    note(f"{folder} was made by {state}; regenerating it with "
                         f"{GENERATOR_VERSION}")
                if say:
                    say(f"generating a synthetic area of {cells:,} cells at {res:g} m (cached "
                        f"in {folder})")
                with AtomicOutputDir(folder, "area") as tmp:
                    make_area(tmp, cells=cells, resolution=res, seed=seed)
    return folder / "area.yaml"


# ------------------------------------------------------------------------------------------
# the naive formulation
# ------------------------------------------------------------------------------------------
def naive_spec(spec: ModelSpec, n_uses: int) -> ModelSpec:
    """Every (unit, use) pair a binary: the pairs ``spec`` leaves out (excluded by a rule)
    come back as columns with upper bound 0, zero objective and no row coefficients.

    Returns a ModelSpec whose x columns are ``unit × n_uses`` in unit-major order; its optimum
    equals the optimum of ``spec`` (the extra columns can only be 0).
    """
    n_units = spec.n_units
    n_x = n_units * n_uses
    new_col = spec.col_unit.astype(np.int64) * n_uses + spec.col_use.astype(np.int64)
    mapping = np.concatenate([new_col, n_x + np.arange(len(spec.aux_names))])
    n_cols = n_x + len(spec.aux_names)
    blocks = []
    for b in spec.coupling:
        A = b.A.tocoo()
        A = sp.csr_matrix((A.data, (A.row, mapping[A.col])), shape=(b.n_rows, n_cols))
        blocks.append(RowBlock(b.name, b.kind, A, b.lower, b.upper, b.labels, b.ref, b.meta))
    obj = np.zeros(n_cols)
    obj[mapping] = spec.obj
    allowed = np.zeros(n_x, bool)
    allowed[new_col] = True
    out = _NaiveSpec(n_x, np.repeat(np.arange(n_units, dtype=np.int32), n_uses),
                     np.tile(np.arange(n_uses, dtype=np.int16), n_units), spec.unit_cells,
                     spec.aux_names, spec.aux_lb, spec.aux_ub, blocks, [], obj,
                     spec.obj_offset)
    out.allowed = allowed
    return out


class _NaiveSpec(ModelSpec):
    """A ModelSpec whose excluded pairs are binaries fixed to 0 by their upper bound."""

    allowed: np.ndarray

    @property
    def ub(self) -> np.ndarray:
        return np.concatenate([self.allowed.astype(float), self.aux_ub])


# ------------------------------------------------------------------------------------------
# measurements (each in its own process)
# ------------------------------------------------------------------------------------------
def _hwm_mb(pid: int | str = "self") -> float | None:
    """The peak resident memory (MB) of process ``pid`` since it started its program
    (``VmHWM``; None where ``/proc`` does not tell). Unlike ``ru_maxrss`` it does not carry
    the peak of the parent a child was forked from."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _peak_mb() -> float:
    hwm = _hwm_mb()
    return hwm if hwm is not None else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_fast(scenario: Path, area: Path, out: Path, time_limit: float | None,
                 verbose: bool = False) -> dict[str, Any]:
    """Read, compile, solve and write as ``ruimteverdeling solve`` does; figures per phase."""
    progress = Progress(enabled=verbose)
    t0 = time.perf_counter()
    cm = pipeline.compile_scenario(scenario, progress, area=area, time_limit=time_limit)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solve(cm.spec, cm.scenario.solver, progress)
    relaxation = sol
    sol = location.enforce(cm, sol, cm.scenario.solver, progress)  # as the pipeline does
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = pipeline.result_of(cm, sol)
    pipeline.write_run(run, out, dt.datetime.now(dt.UTC), t0)
    t_write = time.perf_counter() - t0
    return {
        "cells": int(cm.area.land.sum()), "resolution_m": float(cm.area.grid.resolution),
        "units": int(cm.spec.n_units), "columns": int(cm.spec.n_cols),
        "coupling_rows": int(cm.spec.n_rows - cm.spec.n_units),
        "build_s": round(t_build, 2), "solve_s": round(t_solve, 2),
        "write_s": round(t_write, 2), "total_s": round(t_build + t_solve + t_write, 2),
        "peak_mb": round(_peak_mb()), "status": sol.status, "method": sol.method,
        "objective": sol.objective, "bound": sol.bound, "gap": sol.gap,
        "decision_gap": sol.decision_gap, "status_quo": sol.status_quo_value,
        "mip_rel_gap": cm.scenario.solver.mip_rel_gap,
        **({"locations": sol.details["locations"], "locations_s": sol.seconds.get("locations"),
            "relaxation_objective": relaxation.objective,
            "relaxation_bound": relaxation.bound,
            "relaxation_status": relaxation.status}
           if "locations" in sol.details else {}),
    }


PEERS = ("highspy", "pyomo", "linopy", "pulp")
"""Every peer formulation (see the module docstring)."""
PEER_MODULES = {"linopy": "linopy", "pulp": "pulp"}
"""The optional packages a peer needs (the extra ``peers``)."""


def peer_installed(builder: str) -> bool:
    """Whether the packages ``builder`` needs are importable."""
    import importlib.util

    mod = PEER_MODULES.get(builder)
    return mod is None or importlib.util.find_spec(mod) is not None


def _rows(spec: ModelSpec) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The coupling rows of ``spec`` stacked (CSR), with their lower and upper bounds."""
    return spec.coupling_matrix()


def solve_linopy(spec: ModelSpec, n_uses: int, time_limit: float, gap: float, threads: int,
                 seed: int, abs_gap: float | None = None
                 ) -> tuple[str, np.ndarray | None, float | None, float]:
    """The naive model written in linopy and solved by HiGHS: (status, x, dual bound, build
    seconds)."""
    import linopy
    import xarray as xr

    new_highs()  # swallows HiGHS's banner (stdout carries the result)
    t0 = time.perf_counter()
    m = linopy.Model()
    n_units = spec.n_units
    ub = xr.DataArray(np.asarray(spec.ub[: spec.n_x]).reshape(n_units, n_uses),
                      dims=["unit", "use"])
    x = m.add_variables(lower=0, upper=ub, binary=False, integer=True,
                        coords=[np.arange(n_units), np.arange(n_uses)], dims=["unit", "use"],
                        name="x")
    labels = [x.labels.values.ravel()]
    if spec.aux_names:
        aux = m.add_variables(lower=xr.DataArray(spec.aux_lb, dims=["aux"]),
                              upper=xr.DataArray(spec.aux_ub, dims=["aux"]),
                              coords=[np.arange(len(spec.aux_names))], dims=["aux"],
                              name="aux")
        labels.append(aux.labels.values.ravel())
    col_label = np.concatenate(labels)
    m.add_constraints(x.sum("use") == 1, name="assign")
    for b in spec.coupling:  # one padded (row, term) expression per block
        A = b.A.tocsr()
        if not b.n_rows:
            continue
        nnz = np.diff(A.indptr)
        width = max(int(nnz.max()), 1)
        coeffs = np.zeros((b.n_rows, width))
        vars_ = np.full((b.n_rows, width), -1, np.int64)
        pos = np.arange(A.nnz) - np.repeat(A.indptr[:-1], nnz)
        rows = np.repeat(np.arange(b.n_rows), nnz)
        coeffs[rows, pos] = A.data
        vars_[rows, pos] = col_label[A.indices]
        data = xr.Dataset({"coeffs": (("row_" + b.name, "_term"), coeffs),
                           "vars": (("row_" + b.name, "_term"), vars_)})
        expr = linopy.LinearExpression(data, m)
        dim = "row_" + b.name
        lo, hi = np.asarray(b.lower, float), np.asarray(b.upper, float)
        if np.isfinite(lo).any():
            keep = np.flatnonzero(np.isfinite(lo))
            m.add_constraints(expr.isel({dim: keep}) >= xr.DataArray(lo[keep], dims=[dim]),
                              name=f"{b.name}:lo")
        if np.isfinite(hi).any():
            keep = np.flatnonzero(np.isfinite(hi))
            m.add_constraints(expr.isel({dim: keep}) <= xr.DataArray(hi[keep], dims=[dim]),
                              name=f"{b.name}:hi")
    nz = np.flatnonzero(spec.obj)
    obj = linopy.LinearExpression(xr.Dataset({"coeffs": (("_term",), spec.obj[nz]),
                                              "vars": (("_term",), col_label[nz])}), m)
    m.add_objective(obj, sense="max")
    t_build = time.perf_counter() - t0
    m.solve(solver_name="highs", io_api="direct", time_limit=float(time_limit),
            mip_rel_gap=float(gap), threads=int(threads), random_seed=int(seed),
            output_flag=False,
            **({"mip_abs_gap": float(abs_gap)} if abs_gap is not None else {}))
    h = m.solver_model
    info = h.getInfo()
    sol = h.getSolution()
    xs = None
    if sol.value_valid:
        # linopy numbers the columns by label: x first (unit-major), then aux
        values = np.asarray(sol.col_value, float)
        xs = values[col_label] if values.size > col_label.max() else None
    bound = float(info.mip_dual_bound)
    bound = bound + spec.obj_offset if np.isfinite(bound) else None
    return h.modelStatusToString(h.getModelStatus()), xs, bound, t_build


def solve_pulp(spec: ModelSpec, time_limit: float, gap: float, threads: int,
               abs_gap: float | None = None
               ) -> tuple[str, np.ndarray | None, float | None, float]:
    """The naive model written in PuLP and solved by CBC: (status, x, None, build seconds)
    — CBC's dual bound does not come back through PuLP."""
    import warnings

    import pulp

    t0 = time.perf_counter()
    prob = pulp.LpProblem("naive", pulp.LpMaximize)
    var = prob.add_variable  # the PuLP 3.3+ way (variables belong to their model)
    ub = spec.ub
    cols = [var(f"x{j}", 0, float(ub[j]), cat="Binary" if ub[j] else "Continuous")
            for j in range(spec.n_x)]
    cols += [var(f"a{j}", None if not np.isfinite(lo) else float(lo),
                 None if not np.isfinite(hi) else float(hi))
             for j, (lo, hi) in enumerate(zip(spec.aux_lb, spec.aux_ub, strict=True))]
    nz = np.flatnonzero(spec.obj)
    prob += pulp.LpAffineExpression([(cols[j], float(spec.obj[j])) for j in nz])
    starts = np.flatnonzero(np.r_[True, spec.col_unit[1:] != spec.col_unit[:-1]])
    ends = np.r_[starts[1:], spec.n_x]
    for k, (a, e) in enumerate(zip(starts, ends, strict=True)):
        prob += pulp.lpSum(cols[a:e]) == 1, f"assign_{k}"
    A, lower, upper = _rows(spec)
    for r in range(A.shape[0]):
        s, e = A.indptr[r], A.indptr[r + 1]
        expr = pulp.LpAffineExpression([(cols[j], float(v)) for j, v in
                                        zip(A.indices[s:e], A.data[s:e], strict=True)])
        if np.isfinite(lower[r]) and np.isfinite(upper[r]) and lower[r] == upper[r]:
            prob += expr == float(lower[r]), f"r{r}"
            continue
        if np.isfinite(lower[r]):
            prob += expr >= float(lower[r]), f"r{r}_lo"
        if np.isfinite(upper[r]):
            prob += expr <= float(upper[r]), f"r{r}_hi"
    t_build = time.perf_counter() - t0
    with warnings.catch_warnings():  # PuLP 3.3 announces that 4.0 (Python ≥ 3.12) unbundles CBC
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(time_limit), gapRel=float(gap),
                                threads=int(threads),
                                gapAbs=None if abs_gap is None else float(abs_gap))
    prob.solve(cbc)
    status = pulp.LpStatus[prob.status]
    xs = None
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        xs = np.array([v.varValue or 0.0 for v in cols], float)
        if status == "Optimal" and prob.sol_status == pulp.LpSolutionIntegerFeasible:
            status = "time limit reached"
    return status, xs, None, t_build


def measure_naive(scenario: Path, area: Path, builder: str, time_limit: float,
                  gap: float | None, abs_gap: float | None = None) -> dict[str, Any]:
    """Build the naive model (see :func:`naive_spec`) through ``builder`` (one of
    :data:`PEERS`) and solve it (HiGHS; CBC for PuLP) to the relative gap ``gap`` or, when
    given, to the absolute gap ``abs_gap`` alone (the engine's decision-gap tolerance in
    objective points)."""
    t0 = time.perf_counter()  # from the scenario files, as the engine's build
    cm = pipeline.compile_scenario(scenario, area=area)
    options = cm.scenario.solver.model_copy(update={"time_limit": time_limit})
    rel_gap = options.mip_rel_gap if gap is None else gap
    if abs_gap is not None:
        rel_gap = 0.0
    n_uses = int(cm.spec.col_use.max()) + 1 if cm.spec.n_x else 1
    naive = naive_spec(cm.spec, n_uses)
    t_prepare = time.perf_counter() - t0  # reading, compiling, the naive columns
    if builder in ("linopy", "pulp"):
        if builder == "linopy":
            st, xs, bnd, t_b = solve_linopy(naive, n_uses, time_limit, rel_gap,
                                            options.threads, options.seed, abs_gap)
        else:
            st, xs, bnd, t_b = solve_pulp(naive, time_limit, rel_gap, options.threads,
                                          abs_gap)
        r = MipOutcome(norm_status(st), xs, bnd, {"build": t_b}, {})  # bound with offset
    else:
        backend = HighsBackend() if builder == "highspy" else PyomoBackend()
        r = backend.mip(naive, options, time_limit, rel_gap, abs_gap=abs_gap)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"builder": builder, "binaries": int(naive.n_x),
                           "build_s": round(t_prepare + r.seconds.get("build", 0.0), 2),
                           "seconds": round(seconds, 2), "status": r.status,
                           "peak_mb": round(_peak_mb())}
    if r.x is not None:
        obj = naive.objective_value(r.x)
        out.update(objective=obj)
        if r.bound is not None:
            out.update(bound=r.bound, gap=proven_gap(obj, r.bound))
        else:
            out.update(bound=None, gap=None)
    return out


PEER_MEMORY_MB = 4096.0
"""A peer whose processes together hold more resident memory than this is stopped (``> mem``)."""


def _tree_memory(pid: int, peaks: dict[int, float]) -> float:
    """The resident memory (MB) of process ``pid`` and all its descendants now (Linux
    ``/proc``; 0 where that is not readable), recording each one's peak (``VmHWM``) in
    ``peaks``. PuLP runs CBC as a child process, so the tree counts."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo, seen = 0.0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page / 2**20
            hwm = _hwm_mb(p)
            if hwm is not None:
                peaks[p] = max(peaks.get(p, 0.0), hwm)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_limited(cmd: list[str], timeout: float, memory_mb: float | None = None
                ) -> tuple[int | None, str, str, str, float, float]:
    """Run ``cmd`` in a fresh process group; the whole group is killed when ``timeout``
    seconds pass or, with ``memory_mb``, when its processes together hold more resident
    memory than that (sampled every 0.2 s). Returns (exit code or None when killed, stdout,
    stderr, what stopped it: ``""``, ``"time"`` or ``"memory"``, wall seconds, peak MB: the
    sum of the sampled peaks of every process of the tree)."""
    import signal
    import tempfile

    t0 = time.perf_counter()
    peaks: dict[int, float] = {}
    stopped = ""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, start_new_session=True,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
        try:
            while True:
                pid, status, _ = os.wait4(p.pid, os.WNOHANG)
                if pid == p.pid:
                    break
                now = _tree_memory(p.pid, peaks)
                if time.perf_counter() - t0 > timeout:
                    stopped = "time"
                elif memory_mb is not None and now > memory_mb:
                    stopped = "memory"
                if stopped:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, signal.SIGKILL)
                    _, status, _ = os.wait4(p.pid, 0)
                    break
                time.sleep(0.2)
        finally:  # also on an interrupt: leave no measurement running
            with contextlib.suppress(ProcessLookupError):  # orphans of the group (CBC)
                os.killpg(p.pid, signal.SIGKILL)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    code = None if stopped else p.returncode
    return code, stdout, stderr, stopped, time.perf_counter() - t0, sum(peaks.values())


def _child(kind: str, args: dict[str, Any], timeout: float,
           memory_mb: float | None = None) -> dict[str, Any]:
    """One measurement (``python -m ruimteverdeling.bench KIND ARGS``) under
    :func:`run_limited`. ``peak_mb`` is the larger of the child's own peak and the sampled
    peaks of its process tree (a killed child reports nothing)."""
    cmd = [sys.executable, "-m", "ruimteverdeling.bench", kind, json.dumps(args)]
    code, stdout, stderr, stopped, seconds, peak = run_limited(cmd, timeout, memory_mb)
    if stopped:
        return {"status": "killed", "seconds": round(seconds, 1), "peak_mb": round(peak),
                **({"timed_out": True} if stopped == "time" else
                   {"memory_out": True, "memory_limit_mb": memory_mb})}
    lines = stdout.strip().splitlines()
    if code != 0 or not lines:
        lines = [ln for ln in (stderr or stdout).strip().splitlines()
                 if not ln.startswith("[")]  # progress lines
        how = (f"killed by signal {-code}" if code is not None and code < 0
               else f"exit code {code}")
        said = " / ".join(lines[-3:])[-400:] or "no output"
        return {"status": "error", "error": f"{how}: {said}", "exit_code": code,
                "peak_mb": round(peak)}
    res = json.loads(lines[-1])
    res["peak_mb"] = round(max(float(res.get("peak_mb", 0)), peak))
    return res


def compare(fast: dict[str, Any], peer: dict[str, Any],
            abs_gap: float | None) -> list[str]:
    """Whether a peer's answer agrees with the engine's within both gaps (maximisation).

    With the engine's allocation worth ``z_e`` under its proven bound ``B_e`` and the peer's
    worth ``z_p`` (the same objective: the naive model is the engine's model with the excluded
    pairs fixed to 0, so every allocation of one is an allocation of the other) both hold:

    * ``z_p ≤ B_e`` — no allocation is worth more than the engine's bound;
    * ``z_e ≤ B_p`` where the peer proves a bound ``B_p``; a peer that reports its search
      finished without a bound (CBC through PuLP) claims ``B_p = z_p + abs_gap`` (its
      absolute gap).

    Together they are ``|z_p − z_e|`` within the two gaps. Each violated test (beyond a
    tolerance of 1e-6 of the objective, for the solvers' feasibility tolerances) is a finding,
    returned as a warning; an empty list is agreement (or nothing to compare)."""
    z_e, b_e, z_p = fast.get("objective"), fast.get("bound"), peer.get("objective")
    if z_e is None or z_p is None:
        return []
    tol = 1e-6 * max(abs(float(z_e)), 1.0)
    out = []
    if b_e is not None and z_p > b_e + tol:
        out.append(f"the peer's allocation ({z_p:,.2f}) is worth more than the engine's "
                   f"proven bound ({b_e:,.2f})")
    b_p = peer.get("bound")
    if b_p is None and peer.get("status") == "optimal" and abs_gap is not None:
        b_p = z_p + abs_gap
    if b_p is not None and z_e > b_p + tol:
        out.append(f"the engine's allocation ({z_e:,.2f}) is worth more than the peer's "
                   f"bound ({b_p:,.2f})")
    return out


def bench(cells: int, resolution: float | None = None, naive_time_limit: float = 120.0,
          scenario: Path | None = None, time_limit: float | None = None,
          naive: tuple[str, ...] = PEERS, seed: int = 42,
          out: Path | None = None, say: Any = None, naive_grace: float = 30.0,
          peer_memory_mb: float | None = PEER_MEMORY_MB) -> dict[str, Any]:
    """One benchmark row (see the module docstring); every run in a fresh process, a peer's
    killed ``naive_grace`` seconds after its limit (for its start-up and model build) or when
    its processes hold more than ``peer_memory_mb`` MB.

    Per peer: ``ratio`` (peer seconds / engine build + solve seconds) when it finished,
    ``ratio_at_least`` (its limit / engine seconds) when it did not; ``decision_gap`` where
    it proves a bound; ``warnings`` from :func:`compare`; ``engine_gap_wider`` when the
    engine stopped at a wider decision gap than the peer proved (the ratio then compares
    unequal answers); ``engine_not_proven`` when the engine did not prove its tolerance."""
    say = say or (lambda _m: None)
    scenario = Path(scenario or default_scenario()).resolve()
    area = ensure_area(cells, resolution, seed, say)
    out = Path(out) if out else cache_dir() / "runs" / area.parent.name
    say(f"solving {scenario.name} on {area.parent.name}")
    t0 = time.perf_counter()
    fast = _child("fast", {"scenario": str(scenario), "area": str(area), "out": str(out),
                           "time_limit": time_limit}, timeout=24 * 3600)
    fast["wall_s"] = round(time.perf_counter() - t0, 2)  # with process start and imports
    row: dict[str, Any] = {"requested_cells": cells, "scenario": scenario.name, **fast,
                           "cores": os.cpu_count(), "naive": {}}
    if "total_s" not in fast:
        return row  # the fast run failed: its error is the result
    engine_s = max(fast["solve_s"] + fast["build_s"], 1e-9)
    # the peers stop at the engine's tolerance in points: mip_rel_gap of the decision value
    sq = fast.get("status_quo")
    abs_gap = None if sq is None or fast.get("objective") is None else \
        float(fast["mip_rel_gap"]) * max(abs(float(fast["objective"]) - float(sq)), 1e-9)
    row["peer_abs_gap"] = abs_gap
    for builder in naive:
        if not peer_installed(builder):
            row["naive"][builder] = {"status": "not installed", "builder": builder}
            say(f"peer {builder}: not installed (pip install 'ruimteverdeling[peers]')")
            continue
        say(f"naive formulation through {builder} (limit {naive_time_limit:g} s)")
        r = _child("naive", {"scenario": str(scenario), "area": str(area), "builder": builder,
                             "time_limit": naive_time_limit, "gap": fast.get("mip_rel_gap"),
                             "abs_gap": abs_gap},
                   timeout=naive_time_limit + naive_grace, memory_mb=peer_memory_mb)
        if r.get("timed_out") or r.get("status") not in ("optimal",):
            r["limit_s"] = naive_time_limit
        if r.get("status") == "optimal" and "seconds" in r:
            r["ratio"] = round(r["seconds"] / engine_s, 1)
        elif r.get("memory_out"):  # stopped before its time limit: it ran this long at least
            r["ratio_at_least"] = round(r["seconds"] / engine_s, 1)
        elif r.get("status") != "error":
            r["ratio_at_least"] = round(naive_time_limit / engine_s, 1)
        if r.get("objective") is not None and r.get("bound") is not None:
            r["decision_gap"] = decision_gap(r["objective"], r["bound"], sq)
            if r.get("status") == "optimal" and fast.get("decision_gap") is not None and \
                    fast["decision_gap"] > r["decision_gap"] + 1e-9:
                r["engine_gap_wider"] = True
        if fast.get("status") != "optimal":
            r["engine_not_proven"] = True
        warnings = compare(fast, r, abs_gap)
        if warnings:
            r["warnings"] = warnings
            for w in warnings:
                say(f"warning, {builder} at {fast['cells']:,} cells: {w}")
        row["naive"][builder] = r
    if "total_s" in fast:
        times = [r["seconds"] for r in row["naive"].values()
                 if r.get("status") == "optimal" and "seconds" in r]
        if times:
            row["speedup"] = round(min(times) / max(fast["solve_s"] + fast["build_s"], 1e-9),
                                   1)
        elif row["naive"]:
            row["speedup_at_least"] = round(
                naive_time_limit / max(fast["solve_s"] + fast["build_s"], 1e-9), 1)
    return row


def bench_sizes(sizes: list[int] | tuple[int, ...], say: Any = None,
                **kwargs: Any) -> list[dict[str, Any]]:
    """:func:`bench` at every size in ``sizes`` (same arguments otherwise), one row each; the
    areas are all generated first, so that generation is never inside a measurement."""
    for cells in sizes:
        ensure_area(cells, kwargs.get("resolution"), kwargs.get("seed", 42), say)
    return [bench(cells, say=say, **kwargs) for cells in sizes]


PEER_LABELS = {"highspy": "naive highspy", "pyomo": "naive pyomo",
               "linopy": "linopy+HiGHS", "pulp": "PuLP+CBC"}


def columns(peers: tuple[str, ...] = ("highspy", "pyomo")) -> list[Column]:
    """The columns of the benchmark table: the engine's figures, then one per peer (its time
    and gap, and the ratio peer time / engine time), then the best peer's ratio."""
    return [Column("cells", ">"), *(Column(h, ">", gap=2) for h in (
        "build s", "solve s", "write s", "peak MB", "gap",
        *(PEER_LABELS.get(p, p) for p in peers), "ratio"))]


COLUMNS = columns()
"""The columns of the benchmark table with the two built-in peers."""


def _naive_text(r: dict[str, Any] | None) -> str:
    if not r:
        return "-"
    if r.get("status") == "not installed":
        return "not installed"
    ratio = f" ({number(r['ratio'], 'g')}x)" if "ratio" in r else \
        (f" (>{number(r['ratio_at_least'], 'g')}x)" if "ratio_at_least" in r else "")
    if r.get("status") == "optimal":
        gap = r.get("gap")
        g = number(gap, ".3%") if gap is not None else "gap unknown"
        return f"{number(r['seconds'], '.1f')} s, {g}{ratio}"
    if r.get("timed_out") or r.get("status") in ("time_limit", "killed"):
        gap = r.get("gap")
        extra = f", gap {number(gap, '.2%')}" if gap is not None and np.isfinite(gap) \
            else (", gap unknown" if r.get("objective") is not None else ", no solution")
        return f"> {number(r.get('limit_s', r.get('seconds', 0)), 'g')} s{extra}{ratio}"
    return str(r.get("status"))


def _peers_of(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    seen = [p for r in rows for p in r.get("naive", {})]
    ordered = [p for p in PEERS if p in seen] + [p for p in dict.fromkeys(seen)
                                                  if p not in PEERS]
    return tuple(ordered) or ("highspy", "pyomo")


def row_cells(row: dict[str, Any], peers: tuple[str, ...] = ("highspy", "pyomo")
              ) -> list[str]:
    """The table cells of one row (see :func:`columns`)."""
    if "total_s" not in row:
        return [number(row.get("requested_cells", 0), ","), row.get("status", "?"), "", "", "",
                "", *("" for _ in peers), ""]
    ratio = f"{number(row['speedup'], 'g')}x" if "speedup" in row else \
        (f">{number(row['speedup_at_least'], 'g')}x" if "speedup_at_least" in row else "-")
    gap = number(row["gap"], ".3%") + ("" if row["status"] == "optimal"
                                       else f" ({row['status']})")
    return [number(row["cells"], ","), number(row["build_s"], ".1f"),
            number(row["solve_s"], ".1f"), number(row["write_s"], ".1f"),
            number(row["peak_mb"], ","), gap,
            *(_naive_text(row["naive"].get(p)) for p in peers), ratio]


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table, failed runs' errors below it."""
    peers = _peers_of(rows)
    lines = table(columns(peers), [row_cells(r, peers) for r in rows], indent="")
    for r in rows:
        if "total_s" not in r:
            lines.append(f"{number(r.get('requested_cells', 0), ',')} cells: "
                         f"{r.get('error', '?')}")
    return "\n".join(lines)


PEERS_COLUMNS = [Column("cells", ">"), Column("solver", "<", gap=2),
                 *(Column(h, ">", gap=2) for h in ("build s", "solve s", "total s")),
                 Column("result", "<", gap=2),
                 *(Column(h, ">", gap=2) for h in ("dec. gap", "objective", "peak MB",
                                                   "ratio")),
                 Column("note", "<", gap=2)]
"""The columns of the side-by-side table (:func:`format_peers_table`)."""


def _peer_result(r: dict[str, Any]) -> str:
    """What a peer ended with: ``optimal`` (its tolerance met), ``> 60 s, no solution``,
    ``> 60 s, gap 1.2 %`` (decision gap of its allocation at the limit), ``> 4,096 MB``..."""
    status = r.get("status")
    if status == "optimal":
        return "optimal"
    if r.get("memory_out"):
        return f"> {number(r.get('memory_limit_mb', 0), ',.0f')} MB"
    if r.get("timed_out") or status in ("time_limit", "killed"):
        gap = r.get("decision_gap")
        what = f"gap {number(gap, '.2%')}" if gap is not None and np.isfinite(gap) else \
            ("gap unknown" if r.get("objective") is not None else "no solution")
        return f"> {number(r.get('limit_s', r.get('seconds', 0)), 'g')} s, {what}"
    return str(status)


def _peer_line(name: str, r: dict[str, Any]) -> list[str]:
    label = PEER_LABELS.get(name, name)
    if r.get("status") == "not installed":
        return ["", label, "", "", "", "not installed", "", "", "", "",
                "pip install 'ruimteverdeling[peers]'"]
    if r.get("status") == "error":
        return ["", label, "", "", "", "error", "", "", number(r.get("peak_mb"), ","), "",
                str(r.get("error", ""))[:60]]
    finished = r.get("status") == "optimal"
    build = r.get("build_s")
    total = r.get("seconds")
    solve_s = number(total - build, ".1f") if finished and build is not None else ""
    ratio = f"{number(r['ratio'], 'g')}x" if "ratio" in r else \
        (f">= {number(r['ratio_at_least'], 'g')}x" if "ratio_at_least" in r else "-")
    notes = []
    if r.get("warnings"):
        notes.append("DISAGREES with the engine (see warnings)")
    if r.get("engine_gap_wider"):
        notes.append("engine gap wider")
    if r.get("engine_not_proven"):
        notes.append("engine not proven")
    if finished and r.get("bound") is None:
        notes.append("bound not reported")
    return ["", label, number(build, ".1f") if build is not None else "", solve_s,
            number(total, ".1f") if finished else "", _peer_result(r),
            number(r.get("decision_gap"), ".3%") if r.get("decision_gap") is not None else "",
            number(r["objective"], ",.1f") if r.get("objective") is not None else "",
            number(r.get("peak_mb"), ",") if r.get("peak_mb") is not None else "",
            ratio, "; ".join(notes)]


def _engine_note(row: dict[str, Any]) -> str:
    """Location rules the engine enforced after its cell model: the naive formulation does
    not hold them, so the engine then answers a more constrained model than the peers."""
    loc = row.get("locations")
    if isinstance(loc, dict) and loc.get("status") not in (None, "met"):
        return "; location rules enforced (not in the peers' model)"
    return ""


def format_peers_table(rows: list[dict[str, Any]]) -> str:
    """The engine and every peer side by side, one line per solver and size: seconds (build,
    solve, total), what it ended with, the proven decision gap, the objective, the peak
    memory of its process(es) and the ratio peer seconds / engine build + solve seconds
    (``>=`` for a peer stopped at its limit). Failed engine runs' errors and the peers'
    disagreements with the engine follow the table."""
    lines: list[list[str]] = []
    after: list[str] = []
    for row in rows:
        cells = number(row.get("cells", row.get("requested_cells", 0)), ",")
        if "total_s" not in row:
            lines.append([cells, "engine", "", "", "", str(row.get("status", "?")), "", "",
                          number(row.get("peak_mb"), ",") if row.get("peak_mb") else "",
                          "", ""])
            after.append(f"{cells} cells: {row.get('error', '?')}")
            continue
        gap = row.get("decision_gap")
        lines.append([cells, "engine", number(row["build_s"], ".1f"),
                      number(row["solve_s"], ".1f"), number(row["total_s"], ".1f"),
                      str(row["status"]), number(gap, ".3%") if gap is not None else "",
                      number(row["objective"], ",.1f") if row.get("objective") is not None
                      else "", number(row["peak_mb"], ","), "",
                      f"{row.get('scenario', '')}, tolerance {number(row['mip_rel_gap'], 'g')}"
                      f" of the decision value" + _engine_note(row)])
        for name, r in row.get("naive", {}).items():
            lines.append(_peer_line(name, r))
            after.extend(f"warning: {PEER_LABELS.get(name, name)} at {cells} cells: {w}"
                         for w in r.get("warnings", ()))
    return "\n".join([*table(PEERS_COLUMNS, lines, indent=""), *after])


def _main(argv: list[str]) -> None:
    kind, args = argv[0], json.loads(argv[1])
    if kind == "fast":
        res = measure_fast(Path(args["scenario"]), Path(args["area"]), Path(args["out"]),
                           args.get("time_limit"), verbose=bool(args.get("verbose")))
    else:
        res = measure_naive(Path(args["scenario"]), Path(args["area"]), args["builder"],
                            float(args["time_limit"]), args.get("gap"), args.get("abs_gap"))
    report(res)


def report(res: dict[str, Any]) -> None:
    """Print a measurement's result line and mark the process as a success.

    A step that passed its deadline may leave a cancelled HiGHS solve running in its thread;
    at exit the process then ends with the code it recorded
    (:func:`~ruimteverdeling.model.highs_backend.leaving`, 1 when none was). The result
    printed here is complete (nothing of an abandoned solve is in it), so the code is 0."""
    from ruimteverdeling.model.highs_backend import leaving

    print(json.dumps(res, default=float), flush=True)
    leaving(0)


if __name__ == "__main__":
    _main(sys.argv[1:])
