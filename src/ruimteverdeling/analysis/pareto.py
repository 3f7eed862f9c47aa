"""Pareto fronts between two criteria by the (augmented) ε-constraint method.

Criteria
--------
A criterion is a linear function ``f(x) = g·x + g₀`` of the allocation, named as

* an objective term: ``suitability``, ``transition``, ``future_cost``, ``shortfall:<id>``, …
  (its value in natural units, before its weight);
* ``target:<id>`` — the quantity a target counts (all its rows summed), or
  ``target:<id>@<region>`` for one row (hectares for a share target);
* ``area:<use>`` — hectares providing a use, yield-weighted as ``area`` targets count them;
* ``objective`` — the scenario's whole weighted objective.

Benefit terms, targets, areas and the objective are maximised, cost terms minimised; a prefix
``max:`` or ``min:`` sets the sense (``min:area:agriculture``). Below, ``F = σ f`` with
``σ = ±1`` is the criterion oriented for maximisation.

Method (ε-constraint, augmented)
--------------------------------
Every solve keeps the whole scenario's rules and hard targets as constraints.

1. **End points (lexicographic optima).** ``F₁* = max F₁``; ``F₂* = max F₂`` and then
   ``F₁⁻ = max F₁ s.t. F₂ ≥ F₂*``. The front spans ``F₁ ∈ [F₁⁻, F₁*]``. The last is a
   re-solve of the first two's model with the floor row ``F₂ ≥ F₂*`` (like an ε row) and
   the best-F₂ allocation as its first incumbent: by default the quick re-solve on a kept LP
   from that row's floor crash basis, its bound its LP's (so ``F₁⁻`` is a proven bracket,
   not a claimed optimum).
2. **ε-constraint.** For ``N`` values ``ε_k = F₁⁻ + k/(N−1)·(F₁* − F₁⁻)``:

       max  F₂(x) + ρ·(r₂/r₁)·F₁(x)   s.t.  F₁(x) ≥ ε_k,  x feasible for the scenario

   with ``r₁`` and ``r₂`` the ranges of ``F₁`` and ``F₂`` between the two end points'
   cell-model solves (known before their location steps) and a small ``ρ`` (1e-4). The
   small ``F₁`` term (the *augmentation*) makes each optimum non-dominated: among
   allocations with the best ``F₂`` it takes the one with the best ``F₁``. At ``ε = F₁*``
   the point is the lexicographic optimum (max F₁, then max F₂); at ``ε = F₁⁻`` it is (max
   F₂, then max F₁) — the end points equal the single-criterion optima.
3. **Tidy (optional, off unless asked for).** Cells that neither criterion counts are
   arbitrary in that optimum; with ``tidy`` the point's allocation is then re-solved
   maximising the scenario's own objective subject to ``F₁ ≥ F₁(x_k)`` and
   ``F₂ ≥ F₂(x_k)`` (both kept within 1e-7 relative), so the maps of the points are
   reasonable plans. It changes neither criterion's value, only the map, and costs an LP per
   point as large as the point's own (two dense rows over every column); on the demo area
   the quick tidy re-solve kept the point's own allocation at every point it was measured
   at, so it is not run by default.

Location rules (minimum sizes and counts of connected locations) are not rows of the cell
model: like the scenario's own solve, an allocation is made to meet them afterwards
(:mod:`ruimteverdeling.rules.location`), and here on the model of the solve it follows — its
objective and its extra rows. So a point's restricted MIP keeps the point's ε row ``F₁ ≥
ε_k`` and maximises ``F₂ + ρ·(r₂/r₁)·F₁`` over the cells it frees (starting from the tidy
allocation, whose other cells stay as they are); the point's status and gap are those of
that step (its bound the ε-solve's, strengthened by the location bound). The end points are
enforced the same way (objective ``F₁``, resp. ``F₂``): the best-F₁ one sets ``F₁*`` and the
best-F₂ one ``F₁⁻``, so the front spans what allocations meeting the location rules reach,
not what the cell model reaches (the cell model's lexicographic optimum ``max F₁ s.t. F₂ ≥
F₂*`` is then not solved at all, unless one of the two steps fails). The step is a heuristic
around each solve's allocation, so every allocation made to meet the rules is kept: a point
whose step finds nothing that meets its ε row, or less (by the ε objective) than a kept
allocation that meets it, takes the best such kept allocation — from the largest ε down the
top point always has one, the best-F₁ end point's — is marked not proven optimal (its gap
against the ε-solve's bound) and names it in ``tidy_status`` (with none, the point keeps the
cell model's allocation, with ``location rules not met``). Every step keeps the ε row; a
point whose ``F₁`` were below its ε anyway would say so in ``tidy_status`` and be marked not
proven optimal: never silently. The top point's ε row asks for the F₁ of the best-F₁ end
point's allocation that meets the rules, found by a location step that maximised F₁ alone; a
step near the point's own cell-model optimum would have to match that (on the demo area it
took 21-30 s, loaded, and found nothing in each of three runs), so the top point takes
that allocation without a step of its own, with its ε-solve's bound and not proven optimal
(``tidy_status`` says so).

The solves run in three rounds of two independent tasks each, in forked worker processes
(:func:`ruimteverdeling.parallel.fork_map`, ``workers``; each task with its own warm starts
and kept LPs, so that no result depends on which task ran before it in a process, nor on how
many workers there are):

1. the two end points' full solves (best F₁, best F₂);
2. the best-F₁ end point's location step, beside the best-F₂ end point's location step (and,
   when needed, the best F₁ at that F₂) followed by the *lowest point*: its ε row at the F₁
   of that allocation, where the front starts unless the best-F₁ location step ends below it
   or fails (the point is then solved again in the next round with the front's ε);
3. the other points, the longest first (those with a location step, from the top down).
   Each point's ε LP starts from its own floor crash basis — or from the lowest point's
   optimal LP basis, when that LP's optimum meets the point's ε row (it is then the point's
   LP optimum too) — and its first incumbents are the end points' allocations that meet its
   ε row (the best-F₁ one meets every row).

The location rules' choice among the kept allocations (below) is made afterwards, from the
largest ε down. The verbose log ends with each point's seconds per stage. Each solve gets at
most ``max(10 s, 2 × the scenario's own solve)`` (never more than the time limit,
:func:`resolve_options`); one that needs more stops with its proven gap and is marked not
optimal. Under a ``budget`` the lowest point, solved beside the location steps, gets its
share of what the end points' cell-model solves left (times the workers), and every other
point the same time, its share of what was left after the end points' location steps.

Each point reports the status and proven gap of its ε-constraint solve (with location rules,
of the location step on it) and its *decision gap*: the gap relative to what the allocation
changes under the point's own objective ``d`` (the ε objective), ``(bound − d·x) /
|d·x − d·x_sq|`` with ``x_sq`` the status quo as a point of the columns (every unit keeps
its current use; :func:`status_quo_x`) — the scenario's status-quo value is the anchor of
the scenario's objective, not of ``d``; ``optimal = no`` marks a point not proven optimal (within
``mip_rel_gap``); ``tidy_status`` is the status of the tidy re-solve (its gap concerns only
the scenario objective, not the front), followed by any note on the point. A point that
another point beats on one criterion without losing on the other is flagged
``dominated = yes`` (possible only for points not solved to optimality), and dropped with
``drop_dominated``; a repeated point (integer fronts are steps) has ``kind = same as P…``.

Several periods
---------------
On a scenario with ``periods`` (:mod:`ruimteverdeling.rules.pathways`) every solve is a solve
of the joint pathway model (every period's rules and targets, the transitions between them).
A criterion is then summed over the periods as the joint objective sums them: an objective
term ``Σ_p w_p f_p(x_p)`` (``w_p`` the period's length in years, so in unit·years) and
``objective`` the joint objective; ``target:<id>`` counts its rows in the period it is due;
``area:<use>`` counts the last period (the end state). A suffix ``@<year>`` takes one period
alone (``suitability@2030``, ``area:nature@2030``). The points are optimal over every
pathway when the pathway model holds them all as columns; when its pathways are generated
(national models), the front is solved over the pathways generated for the scenario's own
optimum, and its points are marked not proven optimal.

``pareto.csv`` follows the contract of :mod:`ruimteverdeling.results.runfolder`: ``point`` (the
label), then the two criteria (the first two numeric columns, in their natural units and
sense), then bookkeeping columns the report ignores as axes.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.analysis.budget import Budget, floor_for
from ruimteverdeling.errors import InfeasibleError, InputError, SolverError, did_you_mean
from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import decision_gap, proven_gap
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.model.solve import solve as solve_spec
from ruimteverdeling.model.spec import ModelSpec
from ruimteverdeling.model.warm import BASIS_CHANGED_SHARE, resolve
from ruimteverdeling.model.warm_mga import NearOptimalSession, closed, spec_with
from ruimteverdeling.parallel import can_fork, default_workers, fork_map
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.report.figures import pareto_png
from ruimteverdeling.results import rasters
from ruimteverdeling.results import summary as sm
from ruimteverdeling.results.runfolder import read_pareto
from ruimteverdeling.rules import location
from ruimteverdeling.rules import pathways as pwm
from ruimteverdeling.rules.compile import CompiledModel

RHO = 1e-4
KEEP = 1e-7
TIDY_ROUNDS = 1
"""Rounds of margins a tidy re-solve tries on its LP vertex before it keeps the point's own
allocation, which meets its rows by construction (on the demo area the point's allocation was
kept at all five points after 2-38 s of rounds)."""


@dataclass
class LinearCriterion:
    """A criterion of a front: ``f(x) = vec·x + const``; ``sense`` +1 maximise, −1 minimise
    (distinct from the plan-MER criteria of :mod:`ruimteverdeling.results.indicators`)."""

    name: str
    vec: np.ndarray
    const: float
    sense: float
    unit: str

    def value(self, x: np.ndarray) -> float:
        return float(self.vec @ x) + self.const

    @property
    def column(self) -> str:
        return f"{self.name} [{self.unit}]" if self.unit else self.name


def criterion(cm: CompiledModel, name: str) -> LinearCriterion:
    """Parse a criterion name (see the module docstring); InputError when unknown."""
    raw = name.strip()
    sense: float | None = None
    for prefix, s in (("max:", 1.0), ("min:", -1.0)):
        if raw.startswith(prefix):
            raw, sense = raw[len(prefix):], s
    spec = cm.spec
    n = spec.n_cols
    if raw == "objective":
        return LinearCriterion(name, spec.obj.copy(), spec.obj_offset, sense or 1.0, "points")
    if raw.startswith("target:"):
        tid, _, region = raw[len("target:"):].partition("@")
        block_name = f"target:{tid}"
        names = [b.name for b in spec.coupling if b.kind == "target"]
        if block_name not in names:
            raise InputError.single(None, "--x/--y", f"unknown target '{tid}' (or it is not "
                                    "enabled)", did_you_mean(block_name, names))
        b = spec.block(block_name)
        labels = list(b.labels or [])
        rows = list(range(b.n_rows))
        if region:
            if region not in labels:
                raise InputError.single(None, "--x/--y", f"target '{tid}' has no row "
                                        f"'{region}'", did_you_mean(region, labels))
            rows = [labels.index(region)]
        vec = np.asarray(b.A[rows].sum(axis=0)).ravel()
        vec[spec.n_x:] = 0.0  # the quantity itself, not the soft target's slacks
        const = float(np.asarray(cm.blocks[block_name].constant)[rows].sum())
        unit = (b.meta or {}).get("unit", "")
        return LinearCriterion(name, vec, const, sense or 1.0, "ha" if unit == "share" else unit)
    if raw.startswith("area:"):
        use = raw[len("area:"):]
        known = sorted(cm.catalogue.target_uses)
        if use not in known:
            raise InputError.single(None, "--x/--y", f"unknown use '{use}'",
                                    did_you_mean(use, known))
        p = cm.ctx.provides(use)
        ha = cm.area.cell_area_ha
        vec = np.zeros(n)
        land, uidx = cm.column_pairs(np.arange(spec.n_x))
        vec[: spec.n_x] = ha * p[uidx]
        fixed = cm.ctx.land_use_idx[~cm.ctx.domain]
        const = ha * (float(p[fixed].sum()) + float(p[cm.pinned_use_idx].sum()))
        return LinearCriterion(name, vec, const, sense or 1.0, "ha")
    try:
        t = spec.term(raw)
    except KeyError:
        options = [t.name for t in spec.terms] + ["objective", "target:<id>", "area:<use>"]
        raise InputError.single(None, "--x/--y", f"unknown criterion '{raw}'",
                                did_you_mean(raw, options)) from None
    if t.coef is not None:
        vec = np.asarray(t.coef, float).copy()
    else:
        vec = np.zeros(n)
        land, uidx = cm.column_pairs(np.arange(spec.n_x))
        for part in cm.terms.get(raw, []):
            vec[: spec.n_x] += part.fn(land, uidx)
        if raw in cm.aux_terms:
            cols, vals = cm.aux_terms[raw]
            np.add.at(vec, cols, vals)
    default = 1.0 if t.sense == "benefit" else -1.0
    return LinearCriterion(name, vec, t.constant, sense or default, t.unit)


def pathway_criterion(pw: pwm.Pathway, name: str) -> LinearCriterion:
    """A criterion of the pathway model ``pw`` (see "Several periods" in the module
    docstring): each period's criterion lifted onto the trajectory columns
    (``g = Σ_p s_p M_pᵀ g_p``, ``M_p`` the map from trajectory to period columns) with
    ``s_p = w_p`` for objective terms, 1 for a target and for ``area:``; InputError when no
    period knows it."""
    raw = name.strip()
    sense_prefix = ""
    for prefix in ("max:", "min:"):
        if raw.startswith(prefix):
            sense_prefix, raw = prefix, raw[len(prefix):]
    labels = [str(y) for y in pw.years]
    base, _, year = raw.rpartition("@") if "@" in raw else (raw, "", "")
    periods = list(range(len(pw.years)))
    if year and not base.startswith("target:"):
        if year not in labels:
            raise InputError.single(None, "--x/--y", f"'{year}' is not a period of the "
                                    "scenario", did_you_mean(year, labels))
        periods, raw = [labels.index(year)], base
    if raw == "objective":
        spec = pw.spec
        return LinearCriterion(name, spec.obj.copy(), spec.obj_offset,
                               -1.0 if sense_prefix == "min:" else 1.0, "points")
    kind = "target" if raw.startswith("target:") else "area" if raw.startswith("area:") \
        else "term"
    if kind == "area" and len(periods) > 1:
        periods = periods[-1:]
    m = pw.model
    vec = np.zeros(pw.spec.n_cols)
    const = 0.0
    found: LinearCriterion | None = None
    first_error: InputError | None = None
    for p in periods:
        try:
            c = criterion(pw.compiled[p], sense_prefix + raw)
        except InputError as exc:
            first_error = first_error or exc
            continue
        scale = float(m.weights[p]) if kind == "term" else 1.0
        s_p = m.periods[p]
        cols = m.col_map[p]
        ok = cols >= 0
        vec[: pw.spec.n_x][ok] += scale * c.vec[cols[ok]]
        n_aux = len(s_p.aux_names)
        vec[m.aux_start[p]: m.aux_start[p] + n_aux] += scale * c.vec[s_p.n_x:]
        const += scale * c.const
        found = c
    if found is None:
        assert first_error is not None
        raise first_error
    unit = found.unit
    if kind == "term" and len(periods) > 1 and unit:
        unit = f"{unit}·years"
    return LinearCriterion(name, vec, const, found.sense, unit)


def solve_with(cm: CompiledModel | pwm.Pathway, obj: np.ndarray, offset: float,
               rows: list[tuple[str, np.ndarray, float, float]],
               options: SolverOptions, warm: Any = None) -> Solution:
    """Solve the scenario's model with objective ``obj·x + offset`` and extra rows
    ``lo ≤ vec·x ≤ hi`` (named), warm-started from ``warm`` (the ``warm`` of an earlier
    solve on the same compiled model: its LP basis and, where it meets the rows, its
    allocation; see :mod:`ruimteverdeling.model.warm`). ``cm`` may be a pathway model
    (:class:`ruimteverdeling.rules.pathways.Pathway`): its joint model is solved, without
    the warm start (its columns are trajectories, not (cell, use) pairs)."""
    if isinstance(cm, pwm.Pathway):
        warm = None
    return solve_spec(_spec_with(cm.spec, obj, offset, rows, cm), options, warm=warm)


def _spec_with(spec: ModelSpec, obj: np.ndarray, offset: float,
               rows: list[tuple[str, np.ndarray, float, float]],
               cm: CompiledModel | pwm.Pathway | None = None) -> ModelSpec:
    """``spec`` with objective ``obj·x + offset`` and the extra rows ``lo ≤ vec·x ≤ hi``;
    its status-quo value ``obj·x_sq + offset`` when ``cm``'s status quo is a point of its
    columns (:func:`status_quo_x`), so that its solve reports a decision gap."""
    return spec_with(spec, obj, offset, rows,
                     None if cm is None or cm.spec is not spec else status_quo_x(cm))


def status_quo_x(cm: CompiledModel | pwm.Pathway) -> np.ndarray | None:
    """The status quo of ``cm`` as a point of its columns
    (:attr:`ruimteverdeling.rules.compile.CompiledModel.status_quo_point`, worked out once per
    model); None for a pathway model (its columns are trajectories) or when it is no such
    point.

    A point's solve maximises ``d·x`` (the ε objective), not the scenario's objective, so
    the scenario's status-quo value is no anchor for it; ``d·x_sq`` is: its decision gap is
    ``(bound − d·x) / |d·x − d·x_sq|``, relative to what the point's allocation changes
    under its own objective."""
    return None if isinstance(cm, pwm.Pathway) else cm.status_quo_point


def enforce_locations(cm: CompiledModel, sol: Solution, obj: np.ndarray,
                      rows: list[tuple[str, np.ndarray, float, float]],
                      options: SolverOptions, say: Any = None) -> Solution | None:
    """The location rules (:func:`ruimteverdeling.rules.location.enforce`) enforced on
    ``sol``, a solve of the scenario's model with objective ``obj`` and the extra ``rows``
    (:func:`solve_with`), on that same model: the restricted MIP keeps the rows (an ε row
    among them) and maximises ``obj``, and ``sol``'s bound and duals are of that model.
    None when no allocation of the candidate locations meets them (the scenario's warnings
    are left alone: the caller decides what the point reports)."""
    view = replace(cm, spec=_spec_with(cm.spec, obj, 0.0, rows, cm), warnings=[])
    # the LP basis of ``sol`` when it is one of this very model (the ε re-solve's), where the
    # location bound's LP rounds start instead of the crash basis
    basis = getattr(getattr(sol, "warm", None), "basis", None)
    if basis is not None and (basis.col.size != view.spec.n_cols or
                              basis.row.size != view.spec.n_rows):
        basis = None
    out = location.enforce(view, sol, options, say, basis=basis)
    if (out.details.get("locations") or {}).get("status") == "not met":
        return None
    return out


def within_share(cm: CompiledModel | pwm.Pathway, obj: np.ndarray,
                 rows: list[tuple[str, np.ndarray, float, float]], share: SolverOptions,
                 options: SolverOptions, warm: Any, say: Any, quick: bool = False,
                 same_objective: bool = False) -> Solution:
    """:func:`solve_with` under a budget's ``share``; a solve that stops before it has an
    allocation (its share ran out first: a budget is a target, see
    :mod:`ruimteverdeling.analysis.budget`) is run once more with the whole per-solve time of
    ``options``, so that a budget never costs an analysis its answer. ``quick``: the quick
    re-solve from ``warm`` (:func:`ruimteverdeling.model.warm.resolve`: one LP and a repaired
    allocation, its gap what they prove) with the whole per-solve time — it takes what its LP
    needs, and an LP stopped by a share has nothing to report (measured on the demo area: an
    MGA LP from its crash basis 25 s, loaded, where the share was 10 s) —; when it finds no
    allocation the full solve runs with the whole per-solve time. ``same_objective``: ``warm``
    comes from a solve with (nearly) this objective, so its basis starts the quick LP even
    where coefficients differ."""
    if quick and warm is not None and not isinstance(cm, pwm.Pathway):
        try:
            sol = resolve(_spec_with(cm.spec, obj, 0.0, rows, cm), options, warm,
                          keep_basis=True, changed_share=1.0 if same_objective else
                          BASIS_CHANGED_SHARE)
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in sol.seconds.items() if v >= 0.05)
            iters = (sol.details.get("lp_iterations") or {}).get("simplex")
            say(f"  quick re-solve ({sol.method}, {sol.status}): {steps}"
                + (f"; {iters:,} simplex iterations" if iters is not None else ""))
            return sol
        except SolverError:
            say(f"  the quick re-solve found no allocation: the full solve with "
                f"{options.time_limit:.0f} s")
            return solve_with(cm, obj, 0.0, rows, options, warm=warm)
    try:
        return solve_with(cm, obj, 0.0, rows, share, warm=warm)
    except SolverError:
        if share.time_limit >= options.time_limit:
            raise
        say(f"  its share ({share.time_limit:.0f} s) ran out before an allocation: again "
            f"with {options.time_limit:.0f} s")
        return solve_with(cm, obj, 0.0, rows, options, warm=warm)


def _at_least(c: LinearCriterion, level: float) -> tuple[str, np.ndarray, float, float]:
    """The row ``σ f(x) ≥ level`` (slightly relaxed against round-off)."""
    lo = level - c.sense * c.const - KEEP * max(1.0, abs(level))
    return (f"pareto:{c.name}", c.sense * c.vec, lo, np.inf)


@dataclass
class Point:
    label: str
    epsilon: float | None
    x: np.ndarray
    f1: float
    f2: float
    objective: float
    status: str
    gap: float
    optimal: bool
    dominated: bool = False
    kind: str = "ε"
    tidy_status: str = ""
    decision_gap: float | None = None


@dataclass
class Front:
    x: LinearCriterion
    y: LinearCriterion
    points: list[Point]
    notes: list[str] = field(default_factory=list)
    out_dir: Path | None = None

    def rows(self, drop_dominated: bool = False) -> list[dict[str, Any]]:
        out = []
        for p in self.points:
            if drop_dominated and p.dominated:
                continue
            out.append({"point": p.label, self.x.column: p.f1, self.y.column: p.f2,
                        "epsilon": p.epsilon, "objective": p.objective, "status": p.status,
                        "gap": p.gap, "decision_gap": p.decision_gap,
                        "optimal": "yes" if p.optimal else "no",
                        "dominated": "yes" if p.dominated else "no", "kind": p.kind,
                        "tidy_status": p.tidy_status})
        return out

    def columns(self) -> list[str]:
        return ["point", self.x.column, self.y.column, "epsilon", "objective", "status", "gap",
                "decision_gap", "optimal", "dominated", "kind", "tidy_status"]


def pareto_front(cm: CompiledModel | pwm.Pathway, x_name: str, y_name: str, points: int = 5,
                 tidy: bool = False, options: SolverOptions | None = None,
                 progress: Progress | None = None, start: Solution | None = None,
                 budget: float | None = None, quick: bool = True,
                 workers: int | None = None) -> Front:
    """The front between criteria ``x_name`` and ``y_name`` (see the module docstring).

    Every solve is warm-started (see :mod:`ruimteverdeling.model.warm`) from the last one with
    the same objective, else the last one (the first from ``start``, the scenario's own solve,
    when given): the model is compiled once and each solve changes only the objective and the
    ε rows. ``budget``: seconds for all the solves together: the three end points (and their
    location-rule steps), which span the front, get their whole per-solve time, and every
    point's ε-constraint and tidy solves and its location-rule step get the same share of
    what is left of the budget (:mod:`ruimteverdeling.analysis.budget`; times the workers),
    each at most the per-solve time limit.
    ``quick`` (default): the points' ε-constraint and tidy solves are re-solves on a kept LP
    per objective (:class:`ruimteverdeling.model.warm_mga.NearOptimalSession`: each ε solve
    from the floor crash basis of its ε row, the tidy solve from the ε solve's optimal basis;
    its vertex rounded, the end points' allocations that meet its rows kept when better — a
    point optimal only when they meet within the gap); a pathway model gets the quick
    re-solve of :func:`ruimteverdeling.model.warm.resolve`. The best-F₁ and best-F₂ end
    points are full solves; the best F₁ at the best F₂ is a quick re-solve too (its floor
    row ``F₂ ≥ F₂*`` an ε row).
    ``workers``: the end points, then the points, are solved in that many forked worker
    processes (default :func:`ruimteverdeling.parallel.default_workers`; one for a
    pathway model); the front is the same with any number."""
    say = progress or silent()
    pathway = cm if isinstance(cm, pwm.Pathway) else None
    if options is None:
        options = resolve_options(
            pwm.solver_options(pathway) if pathway is not None else cm.scenario.solver, start)
    if points < 2:
        raise InputError.single(None, "--points", "a front needs at least 2 points",
                                "e.g. --points 5")
    parse = (lambda n: pathway_criterion(pathway, n)) if pathway is not None else \
        (lambda n: criterion(cm, n))
    c1, c2 = parse(x_name), parse(y_name)
    if c1.name == c2.name:
        raise InputError.single(None, "--y", "the two criteria are the same",
                                "give two different terms")

    def F(c: LinearCriterion, x: np.ndarray) -> float:  # noqa: N802 (F = σ f, as in the docstring)
        return c.sense * c.value(x)

    # each solve starts from the LP basis of the last one with the same objective (its basis
    # stays dual feasible), else of the last one of any; its first incumbent is an earlier
    # allocation that meets the new rows by construction (``feasible``), so the solve never
    # depends on a repair around the LP vertex finding one
    last: dict[Any, Any] = {"any": getattr(start, "warm", None)}
    if pathway is None and getattr(start, "warm", None) is not None:
        last[hash(np.asarray(cm.spec.obj, float).tobytes())] = start.warm  # the tidy solves
    located = pathway is None and bool(location.location_rules(cm))
    # the end points span the front, so they get their whole time; the budget is shared by
    # the points' solves (what the end points took is already spent from it)
    shares = Budget(budget, points * (1 + int(tidy) + int(located)), options.time_limit,
                    floor_for(start))
    if workers is None:
        workers = default_workers()
    workers = max(1, int(workers)) if pathway is None and can_fork() else 1

    def runner(last: dict[Any, Any]) -> Any:
        """The solve of one task (an end point's, a point's) with its own warm starts
        ``last`` and its own kept LPs: a task never sees what another task left behind, so
        that no result depends on which task ran before it in the same process."""
        # the points' quick solves keep one LP per objective (the ε solve's, the tidy
        # solve's): the ε LP starts from its ε row's floor crash basis, the tidy LP from the
        # optimal basis of the ε LP's allocation
        sessions: dict[int, NearOptimalSession] = {}

        def run(label: str, obj: np.ndarray, rows: list, per_solve: SolverOptions,
                feasible: Solution | None = None, whole: bool = False,
                rounds: int | None = None, floor: str | None = None,
                known: tuple[np.ndarray, ...] = (), start: Any = None) -> Solution:
            key = hash(np.asarray(obj, float).tobytes())
            incumbents = ([] if feasible is None else [feasible.x]) + list(known)
            with say.phase(label):
                if quick and pathway is None and not whole:
                    # its first LP from the floor crash basis of the row ``floor`` (the ε
                    # row), else from the last basis with this objective
                    if key not in sessions:
                        sessions[key] = NearOptimalSession(
                            cm.spec, options, start if start is not None else
                            None if floor else last.get(key), status_quo_x(cm))
                    session = sessions[key]
                    try:
                        sol = session.solve(obj, rows, incumbents, rounds, floor=floor,
                                            want_basis=floor is not None)
                        iters = sol.details.get("first_lp_iterations")
                        say(f"  near-optimal re-solve ({sol.method}, {sol.status}): "
                            + ", ".join(f"{step} {v:.1f} s" for step, v in sol.seconds.items()
                                        if v >= 0.05)
                            + f"; LP from the {sol.details.get('start_basis')} basis"
                            + (f", {iters:,} simplex iterations" if iters is not None else ""))
                        return sol
                    except SolverError as exc:
                        say(f"  {exc}: a re-solve of its own")
                warm = _combined(last.get(key, last["any"]), feasible)
                sol = within_share(cm, obj, rows, options if whole else per_solve, options,
                                   warm, say, quick=quick and not whole,
                                   same_objective=key in last)
            if sol.warm is not None:
                last[key] = last["any"] = sol.warm
            return sol

        return run

    def lexicographic(run: Any, s_b: Solution) -> Solution:
        """The best F₁ among the allocations at the best F₂ (``s_b``'s)."""
        # it needs the best F₁ only among the allocations at the best F₂: the quick re-solve
        # with the floor row F₂ ≥ F₂* (as the ε points keep theirs), from that row's floor
        # crash basis and with the best-F₂ allocation as its incumbent, not a cold full
        # solve; its bound is its LP's, so its gap is proven
        at_b = _at_least(c2, F(c2, s_b.x))
        return run(f"end point: best {c1.name} with {c2.name} at its best", c1.sense * c1.vec,
                   [at_b], options, feasible=s_b, floor=at_b[0])

    def end_point(i: int) -> Solution:
        """The cell model's best-F₁ (``i`` 0) or best-F₂ (``i`` 1) end point, a full solve."""
        c = c1 if i == 0 else c2
        return runner(dict(last))(f"end point: best {c.name}", c.sense * c.vec, [], options,
                                  whole=True)

    if workers > 1:
        say(f"solving the two end points in {min(workers, 2)} worker processes")
    s_a, s_b = _forked(end_point, 2, workers)  # with their warm starts: they start the rest
    assert s_a is not None and s_b is not None
    # the augmentation's scale, from the two cell-model end points (known before their
    # location steps, so the lowest point can be solved beside the best-F₁ location step)
    r1_cells = F(c1, s_a.x) - F(c1, s_b.x)
    r2_cells = max(abs(F(c2, s_b.x) - F(c2, s_a.x)), 1e-9)
    aug = RHO * r2_cells / r1_cells if r1_cells > KEEP * max(1.0, abs(F(c1, s_a.x))) else RHO
    obj = c2.sense * c2.vec + aug * c1.sense * c1.vec
    key_b = hash(np.asarray(c2.sense * c2.vec, float).tobytes())
    if s_b.warm is not None:
        last[key_b] = last["any"] = s_b.warm
    # the ε objective is F₂ plus a tiny multiple of F₁: the best-F₂ end point's basis is
    # nearly dual feasible for it, a better start than a crash basis for a full solve; the
    # quick re-solves start from the floor crash basis of the ε row instead (the row tight,
    # its dual guessed: on the demo area the top point's LP took 6.7 k dual simplex
    # iterations from it against 21 k from the best-F₂ end point's basis; each later point
    # too: 3.1 k at three quarters of the range, 9.9 k from the optimal basis of the point
    # above it)
    last.setdefault(hash(np.asarray(obj, float).tobytes()), s_b.warm)

    def polished_point(sol: Solution, at_eps: tuple, each: SolverOptions) -> Solution:
        """``sol``, a point's quick solve on a kept LP with its gap open, or the quick
        re-solve (:func:`ruimteverdeling.model.warm.resolve`) of the same model from its
        optimal LP basis when that finds a better allocation: the same LP (no simplex
        iteration), its repair MIP around the vertex instead of rounds of margins (on the
        demo area the lowest point's decision gap 0.212 % instead of 0.251 %, in 2 s). The
        bound is the smaller of the two (both the LP's); the basis and details of ``sol``
        are kept (later points start from them)."""
        basis = getattr(sol.warm, "basis", None)
        if not quick or pathway is not None or basis is None:
            return sol
        try:
            alt = resolve(_spec_with(cm.spec, obj, 0.0, [at_eps], cm), each, sol.warm,
                          keep_basis=False, changed_share=1.0)
        except (SolverError, InfeasibleError):  # it found nothing: the point keeps its own
            return sol
        say(f"  quick re-solve from its LP basis ({alt.method}): objective "
            f"{sol.objective:,.4f} -> {alt.objective:,.4f}")
        return improved_point(sol, alt, options.mip_rel_gap)

    def solve_point(k: int, n: int, eps: float, ends: list[Solution], each: SolverOptions,
                    top: bool, start: Any = None) -> tuple[Any, ...]:
        """Point ``k`` of ``n`` (ε row ``F₁ ≥ eps``): its ε solve (its LP from the basis
        ``start`` when given, else from its ε row's floor crash basis), its tidy solve (with
        ``tidy``) and its location step (none for the ``top`` point); the end points'
        allocations ``ends`` that meet the ε row its first incumbents. Returns the ε solve,
        the allocation, the tidy status, the location step's solve (None without one) and
        the seconds of each stage."""
        run = runner(dict(last))
        at_eps = _at_least(c1, eps)
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        # the end points' allocations that meet the ε row (the best-F₁ one always does),
        # the best of them by the ε objective the first incumbent of a full solve
        meet = [s for s in ends if float(at_eps[1] @ s.x) >= at_eps[2]]
        first = max(meet, key=lambda s: float(obj @ s.x), default=s_a)
        # the top point under location rules takes the best-F₁ end point's allocation (see
        # the module docstring): its solve is there for its bound, so no rounds of margins
        sol = run(f"point {k}/{n}: {c1.name} ≥ {c1.sense * eps:,.6g}", obj, [at_eps], each,
                  feasible=first, floor=at_eps[0], known=tuple(s.x for s in meet
                                                               if s is not first),
                  start=start, rounds=0 if top and located else None)
        # the bottom points, whose ε row is slack at their LP optimum, with their gap open:
        # the quick re-solve from their LP basis (on the demo area it improved both such
        # points in each of three runs, and never a point whose ε row binds, 2-7 s loaded)
        slack = (sol.details or {}).get("lp_rows", {}).get(at_eps[0], -np.inf) > \
            at_eps[2] + 1e-6 * max(1.0, abs(at_eps[2]))
        if not top and not sol.optimal and slack:
            sol = polished_point(sol, at_eps, each)
        seconds["ε solve"] = time.perf_counter() - t0
        x, tidy_status = sol.x, ""
        if tidy:
            t0 = time.perf_counter()
            t = run(f"point {k}: tidy (scenario objective at these criteria)", cm.spec.obj,
                    [_at_least(c1, F(c1, x)), _at_least(c2, F(c2, x))], each, feasible=sol,
                    rounds=TIDY_ROUNDS)
            x, tidy_status = t.x, t.status
            seconds["tidy"] = time.perf_counter() - t0
        enforced = None
        if located and not top:
            t0 = time.perf_counter()
            with say.phase(f"point {k}: location rules"):
                enforced = enforce_locations(cm, replace(sol, x=x), obj, [at_eps], each, say)
            seconds["location step"] = time.perf_counter() - t0
        return sol, x, tidy_status, _sent(enforced), seconds

    def located_end(i: int) -> tuple[Any, ...]:
        """The best-F₁ end point's location step (``i`` 0); or (``i`` 1) the best-F₂ one's
        and, when that finds no allocation meeting the rules (or there are none), the best
        F₁ at that F₂, then the lowest point of the front, its ε row at that allocation's
        F₁ (used when the front starts there, see below)."""
        t0 = time.perf_counter()
        if i == 0:
            a_loc = None
            if located:
                with say.phase(f"end point: best {c1.name}: location rules"):
                    a_loc = enforce_locations(cm, s_a, c1.sense * c1.vec, [], options, say)
            return a_loc, {"location step": time.perf_counter() - t0}  # its warm kept
        b_loc = None
        if located:
            with say.phase(f"end point: best {c2.name}: location rules"):
                b_loc = enforce_locations(cm, s_b, c2.sense * c2.vec, [], options, say)
        # with the location rules met there, the front starts at that allocation's F₁, not
        # at the cell model's lexicographic optimum: that one is solved only when needed
        s_b2 = lexicographic(runner(dict(last)), s_b) if b_loc is None else None
        low = b_loc if b_loc is not None else s_b2
        assert low is not None
        low_eps = F(c1, low.x)
        sol, x, tidy_status, enforced, seconds = solve_point(
            1, points, low_eps, [s for s in (s_a, b_loc, s_b2) if s is not None], each_low,
            top=False)
        seconds["end point's location step"] = time.perf_counter() - t0 - sum(seconds.values())
        return b_loc, s_b2, low_eps, (_sent(sol, keep_basis=True), x, tidy_status, enforced,
                                      seconds)

    # the lowest point's time, counted here (a worker's count of the budget stays there)
    each_low = options.model_copy(update={
        "time_limit": min(options.time_limit, shares.share() * min(workers, points))})
    if workers > 1:
        say(f"the location steps of the end points (and the lowest point) in "
            f"{min(workers, 2)} worker processes" if located else
            f"the best {c1.name} at the best {c2.name} and the lowest point")
    (a_loc, a_seconds), (b_loc, s_b2, low_eps, low_point) = _forked(located_end, 2,
                                                                     workers)
    f1_max = F(c1, s_a.x)
    notes = []
    # with location rules the front spans what location-feasible allocations reach: the
    # best-F₁ end point with the rules enforced sets F₁*, and its allocation meets the top
    # point's ε row; every allocation that meets the rules is kept (label, allocation) for
    # the points below it (see the loop)
    located_x: np.ndarray | None = None
    pool: list[tuple[str, np.ndarray]] = []
    if located:
        if a_loc is not None:
            located_x = a_loc.x
            f1_max = F(c1, a_loc.x)
            pool.append((f"the best-{c1.name} end point", a_loc.x))
        else:
            notes.append(f"the location rules could not be enforced on the best-{c1.name} end "
                         f"point: the front spans the cell model's range of {c1.name}, which "
                         "allocations that meet the location rules may not reach")
    if located_x is not None and b_loc is not None:
        # the other end too: F₁ of the best-F₂ allocation that meets the location rules
        f1_min = min(F(c1, b_loc.x), f1_max)
        pool.append((f"the best-{c2.name} end point", b_loc.x))
    else:
        if located_x is not None:
            notes.append(f"the location rules could not be enforced on the best-{c2.name} end "
                         f"point: the front starts at the cell model's {c1.name} there")
        b_loc = None
        if s_b2 is None:  # the best-F₁ end point's location step failed: the cell model's
            s_b2 = lexicographic(runner(dict(last)), s_b)
        f1_min = min(F(c1, s_b2.x), f1_max)
    r1 = f1_max - f1_min
    if r1 <= KEEP * max(1.0, abs(f1_max)):
        if b_loc is not None:
            notes.append(f"with the location rules enforced, the best-{c2.name} end point "
                         f"reaches the {c1.name} of the best-{c1.name} one: the front is a "
                         "single point here, which does not prove that the criteria do not "
                         "conflict (the location step is a heuristic around each solve)")
        elif all(s.optimal for s in (s_a, s_b, s_b2) if s is not None):
            notes.append(f"{c1.name} and {c2.name} do not conflict: one allocation is best "
                         "for both (the front is a single point)")
        else:
            notes.append(f"the end points' solves stopped before their optima, at the same "
                         f"{c1.name}: the front is a single point here, which does not prove "
                         "that the criteria do not conflict (give the solves more time)")
        eps_list = [f1_max]
    else:
        eps_list = [f1_min + k / (points - 1) * r1 for k in range(points)]
    # every point is independent of the others: its ε LP starts from its own floor crash
    # basis (or from the lowest point's optimal basis, below) and its first incumbents are
    # the end points' allocations that meet its ε row (the best-F₁ one meets every row), so
    # the points are solved in worker processes, each with the same time (a share of what
    # is left is no use: which point is ahead depends on the machine's load, and the
    # answers must not)
    each = options.model_copy(update={
        "time_limit": min(options.time_limit, shares.share() * min(workers, len(eps_list)))})
    ends_made = [s for s in (s_a, a_loc, b_loc, s_b2) if s is not None]
    width = len(str(len(eps_list)))

    def top_takes_end(k: int) -> bool:
        """Whether point ``k`` is the top one under location rules with the best-F₁ end
        point's allocation meeting them: its ε row asks for that allocation's F₁, which a
        location step maximising F₁ alone found; a step near the point's cell-model
        optimum would have to match it (on the demo area its restricted MIP ran out of time
        every time), so the point takes that allocation without one."""
        return located and located_x is not None and k == len(eps_list)

    # the lowest point was solved beside the best-F₁ location step; it is the front's when
    # the front starts at the F₁ its ε row asked for (it does unless the best-F₁ end point's
    # location step ends below it, fails, or the front is a single point)
    lowest_done = len(eps_list) > 1 and eps_list[0] == low_eps
    low_basis = getattr(low_point[0].warm, "basis", None) if lowest_done else None
    low_lp_rows = (low_point[0].details or {}).get("lp_rows", {}) if lowest_done else {}

    def point(i: int) -> tuple[Any, ...]:
        """Point ``i + 1`` (see :func:`solve_point`). Its ε LP starts from the lowest
        point's optimal basis when that LP's optimum meets this point's ε row too: it is
        then this point's LP optimum as well (the same objective, a row it meets), and the
        simplex has nothing to do (on the demo area 0 iterations where the floor crash basis
        took 4.2 k); else from its ε row's floor crash basis (from the lowest point's basis
        the LPs higher up took 3-5 times its iterations: 9.1 k against 2.0 k, 8.2 k against
        2.9 k)."""
        k, eps = i + 1, eps_list[i]
        start = low_point[0].warm if from_low(i) else None
        sol, x, tidy_status, enforced, seconds = solve_point(
            k, len(eps_list), eps, ends_made, each, top_takes_end(k), start)
        return _sent(sol), x, tidy_status, enforced, seconds

    todo = list(range(1 if lowest_done else 0, len(eps_list)))
    # the longest first, so that the last to finish is a short one: the points with a
    # location step from the top down (a higher ε asks more of the location rules), then
    # the top point, which has none, then those whose LP starts at the lowest point's optimum
    def from_low(i: int) -> bool:
        at_eps = _at_least(c1, eps_list[i])
        return low_basis is not None and low_lp_rows.get(at_eps[0], -np.inf) >= at_eps[2]

    order = sorted(todo, key=lambda i: (from_low(i), top_takes_end(i + 1), -i))
    if workers > 1 and len(todo) > 1:
        say(f"solving {'the other' if lowest_done else 'the'} {len(todo)} points in "
            f"{min(workers, len(todo))} worker processes ({each.time_limit:.0f} s each at most)")
    done = _forked(lambda j: point(order[j]), len(order), workers)
    solved: list[Any] = [None] * len(eps_list)
    for i, result in zip(order, done, strict=True):
        solved[i] = result
    if lowest_done:
        solved[0] = low_point
    for k, (*_, seconds) in enumerate(solved, 1):
        say(f"point {k} took " + ", ".join(f"{what} {v:.1f} s" for what, v in seconds.items())
            + (" (beside the best-" + c1.name + " end point's location step, "
               f"{a_seconds['location step']:.1f} s)" if k == 1 and lowest_done else ""))
    pts: list[Point] = []
    # from the largest ε down: every allocation made to meet the location rules at a point
    # above meets the lower ε rows below it
    for k, eps in reversed(list(enumerate(eps_list, 1))):
        sol, x, tidy_status, enforced, _ = solved[k - 1]
        status, gap, proven, dgap = sol.status, sol.gap, sol.optimal, sol.decision_gap
        if located:
            eps_row = [_at_least(c1, eps)]
            # the best (by the ε objective) of the location step's allocation and the
            # allocations already made to meet the rules that meet this ε row: from the
            # largest ε down, the top point always has one (the best-F₁ end point)
            bound = sol.bound if enforced is None else enforced.bound
            lo = eps_row[0][2]
            known = [(lbl, xk) for lbl, xk in pool if F(c1, xk) - c1.sense * c1.const >= lo]
            best = max(known, key=lambda item: float(obj @ item[1]), default=None)
            if enforced is not None and (best is None or
                                         float(obj @ enforced.x) >= float(obj @ best[1])):
                x, status, gap, proven, dgap = enforced.x, enforced.status, enforced.gap, \
                    enforced.optimal, enforced.decision_gap
            elif best is not None:
                x, proven = best[1], False
                status, gap = "feasible", proven_gap(float(obj @ x), bound)
                sq_x = status_quo_x(cm)
                dgap = None if sq_x is None else \
                    decision_gap(float(obj @ x), bound, float(obj @ sq_x))
                why = "the top point, without a location step of its own" \
                    if top_takes_end(k) else \
                    "location rules not met near this point's optimum" if enforced is None \
                    else "better than the location step near this point's optimum"
                tidy_status = _joined(tidy_status, f"{why}: the allocation of {best[0]}")
            else:
                tidy_status = _joined(tidy_status, "location rules not met")
            if enforced is not None or best is not None:
                pool.append((f"P{k:0{width}d}", x))
        if F(c1, x) < eps - KEEP * max(1.0, abs(eps)) - 1e-9:  # never silently below ε
            tidy_status = _joined(tidy_status, f"below its ε ({c1.name} "
                                  f"{c1.value(x):,.6g} against {c1.sense * eps:,.6g})")
            proven = False
        proven = proven and (pathway is None or pathway.explicit)
        pts.append(Point(f"P{k:0{width}d}", c1.sense * eps, x, c1.value(x), c2.value(x),
                         cm.spec.objective_value(x), status, gap, proven,
                         tidy_status=tidy_status, decision_gap=dgap))
    pts.reverse()  # solved from the largest ε down; listed from the smallest up
    _flag_dominated(pts, c1, c2)
    for i, p in enumerate(pts):  # integer fronts repeat points when ε falls between steps
        same = next((q for q in pts[:i] if abs(q.f1 - p.f1) <= 1e-7 * max(1.0, abs(p.f1))
                     and abs(q.f2 - p.f2) <= 1e-7 * max(1.0, abs(p.f2))), None)
        if same is not None:
            p.kind = f"same as {same.label}"
    if pathway is not None and not pathway.explicit:
        notes.append(f"the front is solved over the {pathway.spec.n_x:,} pathways generated for "
                     f"the scenario's optimum (of {pathway.count():,}); its points are not "
                     "proven optimal over the others")
    if pts:  # a repeated end point keeps its "same as" note
        pts[0].kind = _joined(f"best {c2.name}", "" if pts[0].kind == "ε" else pts[0].kind)
        pts[-1].kind = _joined(f"best {c1.name}", "" if pts[-1].kind == "ε" else pts[-1].kind)
    return Front(c1, c2, pts, notes)


def _sent(sol: Solution | None, keep_basis: bool = False) -> Solution | None:
    """``sol`` as a point's task hands it back (from a worker process, pickled): without its
    warm start (the end points' keep theirs: they start the points' solves), or
    (``keep_basis``, the lowest point's: it may start the other points' LPs) with it."""
    return sol if sol is None or keep_basis else replace(sol, warm=None)


def _forked(task: Any, n: int, workers: int) -> list[Any]:
    """``[task(0), …, task(n − 1)]`` in ``workers`` forked worker processes
    (:func:`ruimteverdeling.parallel.fork_map`; here, one after another, with one);
    SolverError when a worker dies."""
    try:
        return fork_map(task, n, workers)
    except BrokenProcessPool:
        raise SolverError("a worker process solving the front died (killed for memory?); run "
                          "with --workers 1 to solve the points one at a time in this "
                          "process") from None


def _joined(first: str, more: str) -> str:
    """Two notes as one ("a, b"), either possibly empty."""
    return ", ".join(t for t in (first, more) if t)


def resolve_options(options: SolverOptions, start: Solution | None) -> SolverOptions:
    """``options`` for the re-solves of an analysis that starts from the scenario's solve
    ``start``: each gets ``min(T, max(10 s, 2 · t_start))`` seconds
    (:func:`ruimteverdeling.analysis.rule_costs.default_variant_time_limit`; ``t_start`` the
    scenario's solve of its cell model), so that one hard re-solve — or the location rules'
    step after it, which takes half of it — stops with its proven gap instead of holding up
    the rest."""
    from ruimteverdeling.analysis.rule_costs import default_variant_time_limit

    if start is None or not start.seconds:
        return options
    t = float(sum(v for k, v in start.seconds.items() if k != "locations"))
    return options.model_copy(update={
        "time_limit": default_variant_time_limit(options.time_limit, t)})


def improved_point(sol: Solution, alt: Solution, rel_gap: float) -> Solution:
    """``sol`` with the allocation of ``alt``, a re-solve of the same model, when that is
    better (else ``sol`` itself): objective ``z`` of ``alt``, bound ``min`` of the two (both
    valid), both gaps recomputed from them. ``optimal`` when the gap is closed
    (:func:`ruimteverdeling.model.warm_mga.closed`); otherwise ``time_limit`` stays
    ``time_limit`` (the clock cut the point's solve short, whatever the re-solve found), else
    ``feasible``. The details of ``sol`` are kept (what the clock cut, the LP's rows), with the
    re-solve's own note on what the clock cut when it has one."""
    if alt.objective <= sol.objective:
        return sol
    z, bound = alt.objective, min(sol.bound, alt.bound)
    dgap = decision_gap(z, bound, sol.status_quo_value)
    if closed(z, bound, dgap, rel_gap):
        status = "optimal"
    elif "time_limit" in (sol.status, alt.status):
        status = "time_limit"
    else:
        status = "feasible"
    details = dict(sol.details)
    for key in ("time_limit_cut", "time_limit_note"):
        if key in (alt.details or {}) and key not in details:
            details[key] = alt.details[key]
    return replace(sol, x=alt.x, objective=z, bound=bound, gap=proven_gap(z, bound),
                   decision_gap=dgap, status=status, method=f"{sol.method}+{alt.method}",
                   details=details,
                   warm=_combined(sol.warm, alt) if alt.warm is not None else sol.warm)


def _combined(basis_from: Any, x_from: Solution | None) -> Any:
    """A warm start with the LP basis of ``basis_from`` (a WarmStart or None) and the
    allocation of the solve ``x_from`` (all on the same compiled model, so the columns are
    the same)."""
    if x_from is None or getattr(x_from, "warm", None) is None:
        return basis_from
    if basis_from is None:
        return x_from.warm
    out = copy.copy(basis_from)
    out.x, out.objective = x_from.warm.x, x_from.warm.objective
    return out


def _flag_dominated(pts: list[Point], c1: LinearCriterion, c2: LinearCriterion) -> None:
    """Flag every point another point beats on one criterion without losing on the other
    (senses applied; tolerance 1e-7 relative)."""
    def tol(v: float) -> float:
        return 1e-7 * max(1.0, abs(v))

    for p in pts:
        a1, a2 = c1.sense * p.f1, c2.sense * p.f2
        for q in pts:
            if q is p:
                continue
            b1, b2 = c1.sense * q.f1, c2.sense * q.f2
            if b1 >= a1 - tol(a1) and b2 >= a2 - tol(a2) and \
                    (b1 > a1 + tol(a1) or b2 > a2 + tol(a2)):
                p.dominated = True
                break


def write_front(front: Front, folder: Path, drop_dominated: bool = False,
                keep_allocations: bool = False, cm: CompiledModel | pwm.Pathway | None = None
                ) -> Path:
    """Write ``pareto.csv``, ``pareto.png`` and (``keep_allocations``) ``points/<P>.tif``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pareto.csv"
    sm.write_csv(path, front.rows(drop_dominated), front.columns())
    parsed = read_pareto(path)
    if parsed is not None and not parsed.get("problem"):
        (folder / "pareto.png").write_bytes(pareto_png(parsed))
    if keep_allocations and cm is not None:
        (folder / "points").mkdir(exist_ok=True)
        for p in front.points:
            if drop_dominated and p.dominated:
                continue
            tags = {"scenario": cm.scenario.id, "pareto_point": p.label}
            if isinstance(cm, pwm.Pathway):  # one map per period
                for k, (y, pcm) in enumerate(zip(cm.years, cm.compiled, strict=True)):
                    rasters.write_allocation(
                        folder / "points" / f"{p.label}_{y}.tif", pcm.area.grid,
                        pcm.allocation_grid(cm.model.project(p.x, k)), pcm.catalogue,
                        {**tags, "period": str(y)})
                continue
            rasters.write_allocation(folder / "points" / f"{p.label}.tif", cm.area.grid,
                                     cm.allocation_grid(p.x), cm.catalogue, tags)
    return path


def text_table(front: Front, drop_dominated: bool = False) -> list[str]:
    """The points of the front as a fixed-width table."""
    cx, cy = front.x.column, front.y.column
    w = max(14, len(cx), len(cy))
    columns = [Column("point", "<", 6), Column(cx, ">", w), Column(cy, ">", w),
               Column("objective", ">", 14), Column("gap", ">", 9),
               Column("decision gap", ">", 12), Column("note", gap=2)]
    rows = []
    for r in front.rows(drop_dominated):
        note = []
        if r["optimal"] != "yes":
            note.append("not proven optimal")
        if r["dominated"] == "yes":
            note.append("dominated")
        if r["kind"] != "ε":
            note.append(r["kind"])
        rows.append([r["point"], _value(r[cx]), _value(r[cy]), number(r["objective"], ",.4f"),
                     number(r["gap"], ".3%"), number(r["decision_gap"], ".3%"),
                     ", ".join(note)])
    return table(columns, rows)


def _value(v: float) -> str:
    """A criterion's value: one decimal from 1,000 up, else six significant digits."""
    return number(v, ",.1f" if abs(v) >= 1000 else ".6g")
