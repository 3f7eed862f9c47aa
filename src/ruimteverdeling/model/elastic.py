"""The elastic model of a ModelSpec: the least violation of its coupling rows, and which rows.

When the coupling rows of a model cannot all hold, the model is solved once more in *elastic*
mode. Every finite side of every coupling row gets a named non-negative slack (added by
:func:`ruimteverdeling.model.decompose.with_elastic`) and the original objective is replaced
by the total scaled violation:

    min  Σ_r w_r (s⁻_r + s⁺_r)
    s.t. lo_r − s⁻_r ≤ a_r·x ≤ hi_r + s⁺_r      for every coupling row r
         Σ_u x[k,u] = 1                         for every unit k (not relaxed)
         0 ≤ x ≤ 1,  s ≥ 0

with ``w_r = 1 / median_j |a_rj|`` over the row's x columns: one unit of weighted slack is
"one typical cell's worth" of the row, so rows in different units are comparable. Ties are
broken by the original objective ``c·x``: the solver maximises ``c·x − M Σ w_r s_r`` with
``M = 10⁴ · max_j |c_j|``, far more than one cell can gain, so the violation stays the least
possible (and the simplex method is spared the degeneracy of an all-zero objective). The LP
relaxation is solved first (the assignment rows are always satisfiable, so the elastic LP is
always feasible). Its optimum ``V = Σ w_r s_r`` is the least total violation of the
relaxation.

*Which rows conflict.* At an optimum with ``V > 0`` the row duals ``y / M`` are the
multipliers of the violation problem, which certify the infeasibility (Farkas): the rows
with ``|y_r| / M ≥ 0.005 · w_r`` are those whose relaxation lowers ``V`` — together with the
assignment rows they cannot all hold. Rows that merely bind for the objective have duals of
the objective's size, about ``M`` times smaller.

*By how much.* For every conflicting row ``r`` alone, the elastic LP is solved again with
every other slack fixed at 0 (only column bounds change, so the simplex method starts from
the previous basis): its optimum is the smallest relaxation of ``r`` that makes the
relaxation feasible while every other row holds, or none when relaxing ``r`` alone is not
enough.

*Integral conflicts.* When the LP relaxation is feasible (``V = 0``) the conflict comes from
the units being indivisible. The same elastic model is then solved as a MIP, and the rows it
violates are reported.

*IIS.* For small models HiGHS's irreducible infeasible subsystem of the LP relaxation
(``Highs.getIis``) is computed too; the coupling rows in it are flagged.

This module knows rows, not what they mean: :mod:`ruimteverdeling.analysis.infeasibility`
names them (targets, rules, regions, units) and writes the diagnosis.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.decompose import ELASTIC, with_elastic
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import HighsBackend
from ruimteverdeling.model.spec import ModelSpec

IIS_MAX_COLUMNS = 50_000
"""HiGHS's IIS is computed only for models up to this many columns (it re-solves many LPs)."""
MAX_SINGLE_ROW_SOLVES = 12
"""At most this many conflicting rows get their own "relax this one alone" LP."""
PENALTY = 1e4
"""M / max_j |c_j|: the price of one cell's worth of violation against the objective."""
DUAL_SHARE = 5e-3
"""A row is in the conflict when its dual is at least this share of M·w_r (a relaxation of
it lowers the least violation); ordinary binding rows have duals of the objective's size."""


def row_weights(spec: ModelSpec) -> dict[str, np.ndarray]:
    """``w_r = 1 / median_j |a_rj|`` over the x columns of every coupling row (1 if none)."""
    out = {}
    for b in spec.coupling:
        A = b.A.tocsr()
        w = np.ones(b.n_rows)
        for r in range(b.n_rows):
            s, e = A.indptr[r], A.indptr[r + 1]
            vals = A.data[s:e][A.indices[s:e] < spec.n_x]
            vals = np.abs(vals[vals != 0])
            if vals.size:
                w[r] = 1.0 / float(np.median(vals))
        out[b.name] = w
    return out


@dataclass
class ElasticModel:
    """The elastic model of a spec and where its slacks are."""

    spec: ModelSpec  # the elastic model with the violation objective
    slack_cols: np.ndarray  # column of every elastic slack
    slack_block: list[str]
    slack_row: np.ndarray
    slack_side: list[str]  # "lo" | "hi"
    weights: np.ndarray  # w of every slack
    penalty: float  # M: the objective coefficient of a slack is −M·w


def elastic_model(spec: ModelSpec, tie_break: bool = True) -> ElasticModel:
    """The elastic model of ``spec`` (see the module docstring), maximising

        −M · Σ_r w_r s_r  +  c·x        (with ``tie_break``; M = 10⁴ · max_j |c_j|)
        −Σ_r w_r s_r                    (without)

    The penalty M is so large that one cell's worth of violation outweighs anything the
    objective could gain from it, so the violation is the least possible; the original
    objective only picks, among the least-violation solutions, a sensible allocation. It also
    keeps the LP from the massive degeneracy of a pure violation objective (every x column
    would cost 0), which stalls the simplex method on large models.
    """
    es, n_aux0 = with_elastic(spec, 1.0)
    weights = row_weights(spec)
    first = es.n_x + n_aux0
    names = es.aux_names[n_aux0:]
    blocks, rows, sides, w = [], [], [], []
    for name in names:
        block, row, side = name[len(ELASTIC):].rsplit(":", 2)
        blocks.append(block)
        rows.append(int(row))
        sides.append(side)
        w.append(weights[block][int(row)])
    cols = np.arange(first, first + len(names), dtype=np.int64)
    penalty = 1.0
    obj = np.zeros(es.n_cols)
    if tie_break:
        penalty = PENALTY * max(1.0, float(np.abs(spec.obj[: spec.n_x]).max(initial=1.0)))
        obj[: spec.n_cols] = spec.obj
    obj[cols] = -penalty * np.asarray(w, float)
    es = dataclasses.replace(es, obj=obj, obj_offset=0.0, terms=[])
    return ElasticModel(es, cols, blocks, np.asarray(rows, np.int64), sides,
                        np.asarray(w, float), penalty)


@dataclass
class ViolatedRow:
    """A coupling row in the conflict, in the row's own units (fixed cells moved out)."""

    block: str
    row: int
    side: str  # "min" | "max": the bound that is (or would be) violated
    bound: float  # that bound of the row
    activity: float  # a_r·x of the least-violation solution (without the slacks)
    violation: float  # how far that solution misses the bound (≥ 0)
    weighted: float  # violation × w_r (cell equivalents)
    relax_alone: float | None = None  # smallest relaxation of this row alone; None: not enough
    relax_alone_tried: bool = False
    in_iis: bool | None = None


@dataclass
class LeastViolation:
    """The least-violation solution of an elastic model and the rows in the conflict."""

    relaxation: str  # "lp" | "mip": which elastic problem found the conflict
    solved: bool  # whether that problem gave a solution (else: raise the time limit)
    lp_status: str  # HiGHS's status of the elastic LP
    mip_status: str | None  # the elastic MIP's status ("optimal", "time_limit", ...), if solved
    total: float  # Σ w_r s_r of the least-violation solution (cell equivalents)
    rows: list[ViolatedRow]  # largest weighted violation first
    iis: dict[str, Any] | None = None
    out_of_time: bool = False  # no time left to relax every row alone


def least_violation(spec: ModelSpec, options: SolverOptions,
                    time_limit: float) -> LeastViolation:
    """Solve the elastic LP (and, when that is feasible, the elastic MIP) of ``spec``; find
    the rows in the conflict, the smallest relaxation of each alone, and HiGHS's IIS for small
    models (see the module docstring), within ``time_limit`` seconds."""
    deadline = time.perf_counter() + time_limit
    el = elastic_model(spec)
    lp_opts = hb.lp_options(el.spec, "auto", options.threads,
                            max(1.0, deadline - time.perf_counter()), options.seed)
    h = hb.build(el.spec, integral=False, options=lp_opts)
    lp = hb.run(h, integral=False, want_duals=True)
    if lp.x is None or lp.status != "Optimal":
        return LeastViolation("lp", False, lp.status, None, float("nan"), [])
    x = lp.x
    slack = np.maximum(x[el.slack_cols], 0.0)
    total = float(el.weights @ slack)
    tol = 1e-7
    m = spec.n_rows - spec.n_units
    dual = np.zeros(m) if lp.row_dual is None else \
        np.abs(lp.row_dual[spec.n_units:spec.n_units + m]) / el.penalty
    offsets = _block_starts(spec)
    weights = row_weights(spec)
    in_conflict: dict[tuple[str, int], None] = {}
    relaxation, mip_status = "lp", None
    if total > tol:
        for k in np.flatnonzero(slack > tol):
            in_conflict[(el.slack_block[k], int(el.slack_row[k]))] = None
        for b in spec.coupling:
            o = offsets[b.name]
            for r in np.flatnonzero(dual[o:o + b.n_rows] > DUAL_SHARE * weights[b.name]):
                in_conflict[(b.name, int(r))] = None
    else:
        relaxation = "mip"
        mip = HighsBackend().mip(el.spec, options, max(1.0, deadline - time.perf_counter()),
                                 1e-9)
        mip_status = mip.status
        if mip.x is None:
            return LeastViolation("mip", False, lp.status, mip_status, 0.0, [])
        x = mip.x
        slack = np.maximum(x[el.slack_cols], 0.0)
        total = float(el.weights @ slack)
        for k in np.flatnonzero(slack > tol):
            in_conflict[(el.slack_block[k], int(el.slack_row[k]))] = None
    rows = [_violated_row(spec, el, x, slack, block, r) for block, r in in_conflict]
    rows.sort(key=lambda c: (-c.weighted, c.block, c.row))
    out = LeastViolation(relaxation, True, lp.status, mip_status, total, rows)
    # the smallest relaxation of each row alone (warm-started from the elastic LP's basis)
    if relaxation == "lp":
        h.setOptionValue("solver", "simplex")
    for c in rows[:MAX_SINGLE_ROW_SOLVES]:
        remaining = deadline - time.perf_counter()
        if remaining <= 1:
            out.out_of_time = True
            break
        c.relax_alone_tried = True
        c.relax_alone = _relax_alone(el, c, h if relaxation == "lp" else None, options,
                                     remaining)
    if relaxation == "lp" and spec.n_cols <= IIS_MAX_COLUMNS and \
            deadline - time.perf_counter() > 1:
        iis = _iis(spec, options, deadline - time.perf_counter())
        if iis is not None:
            keys = {(b, r) for b, r in iis.pop("keys")}
            for c in rows:
                c.in_iis = (c.block, c.row) in keys
        out.iis = iis
    return out


def _violated_row(spec: ModelSpec, el: ElasticModel, x: np.ndarray, slack: np.ndarray,
                  block_name: str, r: int) -> ViolatedRow:
    b = spec.block(block_name)
    act = float((b.A.getrow(r) @ x[: spec.n_cols])[0])  # the original row, without slacks
    mine = [k for k in range(el.slack_cols.size)
            if el.slack_block[k] == block_name and el.slack_row[k] == r]
    s_lo = sum(slack[k] for k in mine if el.slack_side[k] == "lo")
    s_hi = sum(slack[k] for k in mine if el.slack_side[k] == "hi")
    w = float(el.weights[mine[0]]) if mine else 1.0
    lo, hi = float(b.lower[r]), float(b.upper[r])
    if s_lo > 0 or (s_hi <= 0 and np.isfinite(lo) and
                    (not np.isfinite(hi) or abs(act - lo) <= abs(act - hi))):
        side, bound, violation = "min", lo, s_lo
    else:
        side, bound, violation = "max", hi, s_hi
    return ViolatedRow(block_name, r, side, bound, act, violation, violation * w)


def _block_starts(spec: ModelSpec) -> dict[str, int]:
    """First row of every coupling block, counted without the assignment rows."""
    out, r = {}, 0
    for b in spec.coupling:
        out[b.name] = r
        r += b.n_rows
    return out


def _relax_alone(el: ElasticModel, c: ViolatedRow, h: Any, options: SolverOptions,
                 time_limit: float) -> float | None:
    """The least relaxation of row ``c`` that makes the model feasible with every other row
    held (every other elastic slack fixed at 0); None when that is not enough.

    ``h`` is the solved elastic LP (a Highs instance): only the slacks' bounds change, so the
    simplex method starts from its basis. Without ``h`` (the integral case) the elastic MIP
    is solved again.
    """
    mine = np.array([el.slack_block[k] == c.block and el.slack_row[k] == c.row
                     for k in range(el.slack_cols.size)])
    upper = np.where(mine, np.inf, 0.0)
    if h is not None:
        cols = el.slack_cols.astype(np.int32)
        h.changeColsBounds(cols.size, cols, np.zeros(cols.size), upper)
        hb.allow_seconds(h, time_limit)  # a kept instance: its own allowance
        out = hb.run(h, integral=False)
        if out.status != "Optimal" or out.x is None:
            return None
        x = out.x
    else:
        n_aux0 = len(el.spec.aux_names) - el.slack_cols.size
        ub = el.spec.aux_ub.copy()
        ub[n_aux0:] = upper
        res = HighsBackend().mip(dataclasses.replace(el.spec, aux_ub=ub), options, time_limit,
                                 1e-9)
        if res.x is None or res.status != "optimal":
            return None
        x = res.x
    return float(np.maximum(x[el.slack_cols[mine]], 0.0).sum())


def _iis(spec: ModelSpec, options: SolverOptions, time_limit: float) -> dict[str, Any] | None:
    """HiGHS's IIS of the LP relaxation: the coupling rows in it (as "block[label]")."""
    try:
        h = hb.build(spec, integral=False, options={"time_limit": float(time_limit),
                                                     "threads": options.threads})
        # from the LP's infeasibility, then made irreducible (the default finds only trivial
        # bound conflicts)
        strategy = int(highspy.IisStrategy.kIisStrategyFromLp.value) | \
            int(highspy.IisStrategy.kIisStrategyIrreducible.value)
        h.setOptionValue("iis_strategy", strategy)
        hb.run_highs(h)
        status, iis = h.getIis()
        if status == highspy.HighsStatus.kError or not iis.valid_:
            return None
        starts = _block_starts(spec)
        rows, keys = [], []
        n_assign = 0
        for i in iis.row_index_:
            i = int(i)
            if i < spec.n_units:
                n_assign += 1
                continue
            j = i - spec.n_units
            for b in spec.coupling:
                s = starts[b.name]
                if s <= j < s + b.n_rows:
                    r = j - s
                    label = b.labels[r] if b.labels is not None else f"row {r}"
                    rows.append(f"{b.name}[{label}]")
                    keys.append((b.name, r))
                    break
        return {"rows": rows, "keys": keys, "assignment_rows": n_assign,
                "columns": len(iis.col_index_)}
    except Exception:  # the IIS is a bonus: never let it break the explanation
        return None
