"""Pathways: several planning periods (2030 → 2040 → 2050), one land use per cell and period.

Periods
    ``periods: [y_1, ..., y_P]`` (ascending years). Period ``p`` is compiled as the scenario
    on its own (:func:`ruimteverdeling.rules.compile.compile_model`) with the targets whose
    ``by`` is ``y_p`` (default: the last period) and every layer named in ``period_layers``
    read in its period's version; every rule applies in every period.

Trajectories
    A cell's column in the joint model is a *trajectory* ``τ = (u_1, ..., u_P)``, a use per
    period. The trajectories enumerated per cell ``c`` with current use ``e_c`` are

    * *stay*: ``u_p = e_c`` for every ``p``;
    * *one change*: ``u_p = e_c`` for ``p < k`` and ``u_p = u`` for ``p ≥ k`` (``u ≠ e_c``);
    * *reversion*: a temporary use ``u`` (``reverts_to: r`` in the use catalogue) from period
      ``k`` until period ``m`` with ``y_m − y_k ≥ lifetime_u``, then ``r``;

    each kept only where every ``u_p`` is allowed in period ``p`` (the rules of that period)
    and every change ``a → b`` is allowed by the catalogue's ``successors`` of ``a``. A use
    allocated by a trajectory never changes again except by reversion, so ``irreversible``
    uses (housing, designated nature, water storage) stay, and a temporary use may only
    return after its lifetime. A cell whose current use is irreversible keeps it (its
    successors are itself only). This is at most ``1 + P·(|U| − 1) + R`` trajectories per
    cell (``R`` reversion patterns), against ``|U|^P`` for every sequence.

Explicit or generated
    Up to ``solver.decompose_above / P`` trajectories in all, every one is a column and the
    joint model is solved as one model. Above that (national models: ~10 M trajectories at
    250 m, ~60 M at 100 m) the trajectories stay implicit
    (:class:`ruimteverdeling.model.periods.Trajectories`: the template list and a validity
    mask per cell) and the LP is solved by column generation
    (:func:`ruimteverdeling.model.periods.generate`), one level deep: start from the prices
    of a sample's LP; every round prices every trajectory of every cell at the duals ``y``
    — the reduced cost of a trajectory is the sum of its period columns' reduced costs
    ``ρ_p = w_p c_p − A_pᵀ y_p``, so pricing is a per-cell maximum over the templates
    (prefix and suffix sums: one addition per template), no column stored — fixes the
    cells with a clear best trajectory and solves the LP over the contested cells and their
    best trajectories, the fixed cells' rows moved into the row bounds; cells whose best
    trajectory beats their fixed one (or their assignment dual) enter. The Lagrangian bound
    ``L(y)`` over *every* trajectory is valid at every round; generation stops when the
    combined LP solution is within the LP tolerance of the smallest ``L(y)``. The integer
    pathway is then found over the generated columns (LP-first and repair) and its gap is
    proven against the smallest ``L(y)``, taken also at the final LP's duals (more columns
    and another solve while the gap is above the tolerance and trajectories still price
    out). Myopic steps price one trajectory per cell and use sequence up to their period
    (the others are the same column seen from there).

Objective and rows
    ``Σ_p w_p · z_p(u_p)`` with ``z_p`` period ``p``'s objective (suitability, costs,
    penalties, ... of its uses) and ``w_p`` the length of period ``p`` in years
    (``y_{p+1} − y_p``; the last period gets the length of the one before): the objective
    is value per year of land use, summed over the years. Period ``p``'s target and rule rows
    sum the trajectories by their use in ``p``
    (:func:`ruimteverdeling.model.periods.stack`). Since every trajectory is one column of
    its cell, ``Σ_τ x[c,τ] = 1`` keeps the semi-assignment structure.

Modes
    *foresight*: the joint model at once. *myopic*: period by period, each seeing only its
    own and earlier periods' objective and rows and keeping the uses fixed before; it chooses
    from the same trajectories, so its allocation is feasible in the joint model. The
    **cost of myopia** is ``z(foresight) − z(myopic)`` with both evaluated on the joint
    objective, reported with the hectares on which the two pathways differ per period.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InfeasibleError, InputError, Problem, did_you_mean
from ruimteverdeling.model import periods as mp
from ruimteverdeling.model.outcomes import Solution, decision_gap, proven_gap
from ruimteverdeling.model.solve import solve as solve_spec
from ruimteverdeling.model.spec import ModelSpec
from ruimteverdeling.rules import overrides
from ruimteverdeling.rules.compile import CompiledModel, compile_model
from ruimteverdeling.scenario.schema import Scenario
from ruimteverdeling.uses import UseCatalogue

KEEP = mp.KEEP
"""The symbol of a template for 'the cell's current use'."""


def years_of(scenario: Scenario) -> list[int]:
    """The scenario's periods (one period when it gives none)."""
    return list(scenario.periods) if scenario.periods else []


def is_pathway(scenario: Scenario) -> bool:
    """Whether the scenario has more than one period."""
    return len(years_of(scenario)) > 1


def period_weights(years: list[int]) -> np.ndarray:
    """``w_p``: the years until the next period; the last period as long as the one before."""
    gaps = np.diff(np.asarray(years, float))
    return np.append(gaps, gaps[-1]) if gaps.size else np.ones(len(years))


# ------------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------------
def check(scenario: Scenario, area: StudyArea, catalogue: UseCatalogue) -> list[Problem]:
    """Problems of the period axis: target years, per-period layers, the transition table."""
    years = years_of(scenario)
    file = scenario.path
    problems: list[Problem] = []
    due = due_years(scenario)
    for i, t in enumerate(scenario.targets):
        if t.id in due and due[t.id] not in years:
            problems.append(Problem(
                file, f"targets[{i}].by", f"target '{t.id}' is due by {due[t.id]}, which is not a "
                f"period of the scenario ({', '.join(map(str, years)) or 'none given'})",
                "give one of the `periods` (or add the year to `periods:`)"))
    for name, per in (scenario.period_layers or {}).items():
        missing = [y for y in years if y not in per]
        if missing:
            problems.append(Problem(
                file, f"period_layers.{name}", f"per-period layer '{name}' gives no layer for "
                f"{', '.join(map(str, missing))}", "name a layer for every period (the same "
                f"layer as another period's where it does not change, e.g. {missing[0]}: "
                f"{name})"))
        for y, layer in per.items():
            if not area.has_layer(layer):
                problems.append(Problem(file, f"period_layers.{name}.{y}",
                                        f"unknown layer '{layer}'",
                                        did_you_mean(layer, area.layer_names)))
    problems += check_transitions(catalogue, area, file)
    return problems


def check_transitions(catalogue: UseCatalogue, area: StudyArea | None = None,
                      file: Any = None) -> list[Problem]:
    """The transition table: known uses, and every current use with a successor."""
    problems = []
    alloc = {u.id for u in catalogue.allocatable}
    present: set[str] = set()
    if area is not None:
        codes = np.unique(area.current_use[area.land])
        present = {catalogue.by_code(c).id for c in codes if catalogue.has_code(c)}
    for u in catalogue.allocatable:
        for s in u.successors or ():
            if s not in alloc:
                problems.append(Problem(file, f"uses.{u.id}.successors",
                                        f"unknown use '{s}'", did_you_mean(s, sorted(alloc))))
        if u.reverts_to is not None and u.reverts_to not in alloc:
            problems.append(Problem(file, f"uses.{u.id}.reverts_to",
                                    f"unknown use '{u.reverts_to}'",
                                    did_you_mean(u.reverts_to, sorted(alloc))))
        if u.successors is not None and not u.successors and u.id in present:
            problems.append(Problem(
                file, f"uses.{u.id}.successors", f"the transition table leaves '{u.id}', a "
                "current use in the study area, without a successor (not even itself)",
                f"list at least `{u.id}` (to stay) in its `successors`"))
    return problems


# ------------------------------------------------------------------------------------------------
# one period
# ------------------------------------------------------------------------------------------------
class PeriodArea(StudyArea):
    """A study area that reads some layers in their version for one period."""

    _alias: dict[str, str]

    def layer(self, name: str):  # type: ignore[override]
        return super().layer(self._alias.get(name, name))

    def has_layer(self, name: str) -> bool:
        return super().has_layer(self._alias.get(name, name))


def period_area(area: StudyArea, scenario: Scenario, year: int) -> StudyArea:
    """``area`` with the layers of ``period_layers`` read in their ``year`` version (the same
    object when nothing changes); layers are read once and shared."""
    alias = {name: per[year] for name, per in (scenario.period_layers or {}).items()
             if year in per and per[year] != name}
    if not alias:
        return area
    view = copy.copy(area)
    view.__class__ = PeriodArea
    view._alias = alias  # type: ignore[attr-defined]
    return view


def due_years(scenario: Scenario) -> dict[str, int]:
    """The year by which each target is due (``by`` after the overrides; else the target's
    ``year`` when it is a period; else the last period)."""
    years = years_of(scenario)
    _, effective, _ = overrides.apply(scenario)
    last = years[-1] if years else 0
    return {t.id: t.by if t.by is not None else t.year if t.year in years else last
            for t in effective}


def period_scenario(scenario: Scenario, year: int, last: int) -> Scenario:
    """The scenario as seen in one period: the targets due by another period are off."""
    due = due_years(scenario)
    targets = [t if due.get(t.id, last) == year else t.model_copy(update={"enabled": False})
               for t in scenario.targets]
    out = scenario.model_copy(update={"targets": targets})
    out.path, out.chain, out.origins = scenario.path, scenario.chain, scenario.origins
    return out


# ------------------------------------------------------------------------------------------------
# the joint model
# ------------------------------------------------------------------------------------------------
@dataclass
class Pathway:
    """A compiled multi-period model: one CompiledModel per period and the joint model."""

    scenario: Scenario
    years: list[int]
    compiled: list[CompiledModel]
    model: mp.PeriodModel
    traj_use: np.ndarray  # (P, n_x) allocatable-use column of every trajectory per period
    unit_domain: np.ndarray  # domain index of every joint unit
    timings: dict[str, float] = field(default_factory=dict)
    traj: mp.Trajectories | None = None  # every trajectory, implicitly
    keys: np.ndarray | None = None  # the trajectories that are columns of ``model``
    explicit: bool = True  # ``model`` holds every trajectory (else: column generation)
    solutions: list[Solution] = field(default_factory=list)  # expressed over ``model``

    def use(self, keys: np.ndarray, model: mp.PeriodModel | None = None,
            uses: np.ndarray | None = None) -> None:
        """Make the trajectories ``keys`` the model's columns; every solution in
        :attr:`solutions` is carried over (the columns it uses must be among ``keys``)."""
        assert self.traj is not None and self.keys is not None
        keys = np.asarray(keys, np.int64)
        if model is None or uses is None:
            model, uses = self.traj.model([cm.spec for cm in self.compiled],
                                          [str(y) for y in self.years], self.model.weights,
                                          keys)
        for sol in self.solutions:
            sol.x = remap(sol.x, self.keys, keys)
            sol.warm = None
        self.keys, self.model, self.traj_use = keys, model, uses

    def count(self) -> int:
        """The number of trajectories (what an explicit model would have as columns)."""
        return self.traj.count() if self.traj is not None else int(self.spec.n_x)

    @property
    def spec(self):
        return self.model.spec

    @property
    def last(self) -> CompiledModel:
        return self.compiled[-1]

    def period_solution(self, sol: Solution, p: int) -> Solution:
        """``sol`` as a solution of period ``p``'s own model."""
        x = self.model.project(sol.x, p)
        s = self.model.periods[p]
        z = s.objective_value(x)
        return Solution(sol.status, x, z, z, 0.0, sol.method, sol.backend, sol.solver,
                        status_quo_value=s.status_quo_value)

    def land_use(self, sol: Solution, p: int) -> np.ndarray:
        """Catalogue index of the use of every land cell in period ``p``."""
        return self.compiled[p].land_use_after(self.model.project(sol.x, p))

    def allocation_grid(self, sol: Solution, p: int) -> np.ndarray:
        return self.compiled[p].allocation_grid(self.model.project(sol.x, p))


def unenforced_location_rules(compiled: list[CompiledModel]) -> list[str]:
    """The ids of the enabled location rules of any period: a pathway solves their cell-model
    relaxation (targets and row rules per period) without the location step that a
    one-period solve runs after it."""
    from ruimteverdeling.rules.location import location_rules

    return sorted({r.id for cm in compiled for r in location_rules(cm)})


def compile_pathway(scenario: Scenario, area: StudyArea,
                    catalogue: UseCatalogue | None = None,
                    explicit_max: int | None = None) -> Pathway:
    """Compile every period and build the joint trajectory model (see the module docstring).

    Raises InputError with every problem of the period axis, then of each period's model.
    """
    import time

    from ruimteverdeling.rules.compile import catalogue_for

    catalogue = catalogue or catalogue_for(scenario)
    years = years_of(scenario)
    problems = check(scenario, area, catalogue)
    if problems:
        raise InputError(problems)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    compiled: list[CompiledModel] = []
    for y in years:
        cm = compile_model(period_scenario(scenario, y, years[-1]),
                           period_area(area, scenario, y), catalogue)
        for earlier in compiled:  # before the next period is compiled, so that its
            share_equal_arrays(earlier, cm)  # peak meets one copy of what does not change
        compiled.append(cm)
    timings["compile_periods"] = time.perf_counter() - t0
    unenforced = unenforced_location_rules(compiled)
    if unenforced:
        compiled[-1].warnings.append(Problem(
            scenario.path, "rules",
            f"the location rules {', '.join(unenforced)} are not enforced in a run with "
            "several periods: each period meets their cell-model relaxation only (the "
            "minimum sizes and counts of connected locations are not checked)",
            "solve one period's scenario to have them enforced, or disable them "
            "(`enabled: false`) to say so in the scenario"))
    t0 = time.perf_counter()
    pathway = _joint(scenario, years, compiled, catalogue, explicit_max)
    timings["trajectories"] = time.perf_counter() - t0
    pathway.timings = timings
    return pathway


_NOT_SHARED = frozenset({"area", "scenario", "catalogue"})
"""Attributes :func:`share_equal_arrays` does not descend into (the study area, the scenario
and the use catalogue are the run's, not one period model's)."""


def share_equal_arrays(ref: Any, other: Any) -> Any:
    """``other`` (a period's compiled model, or any part of it) with every numpy array that
    equals the array at the same place in ``ref`` (another period's) replaced by ``ref``'s
    array itself, and returned.

    Most of a period model does not depend on the period — the columns of the cells
    (``col_unit``, ``col_use``), the rows of every rule whose layers and targets are the
    same, the zones, the suitability of the layers that do not change — and each period
    compiled on its own holds a copy of it: sharing one array instead of ``P`` equal ones
    keeps a pathway's memory near one period's for those parts. ``other``'s values are
    unchanged (only equal arrays are replaced, element for element and of the same dtype
    and shape). A shared array is made read-only: a later in-place change of one period's
    array would change every period's, so it raises instead.

    The walk follows attributes of the engine's own objects, dicts, lists, tuples, the
    arrays of sparse matrices and the variables that functions close over (the objective
    terms and rows keep their arrays there), where ``ref`` has the same structure."""
    return _share_into(ref, other, set())


def _share_into(a: Any, b: Any, seen: set[int]) -> Any:
    import scipy.sparse as sp

    if a is b or a is None or b is None:
        return b
    if isinstance(b, np.ndarray):
        if isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
                a.dtype != object and \
                np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            a.flags.writeable = False
            return a
        return b
    if id(b) in seen:
        return b
    seen.add(id(b))
    if sp.issparse(b):
        if type(a) is type(b) and a.nnz == b.nnz:  # the shapes may differ in aux columns
            for name in ("data", "indices", "indptr", "row", "col"):
                if hasattr(b, name) and isinstance(getattr(b, name), np.ndarray):
                    setattr(b, name, _share_into(getattr(a, name), getattr(b, name), seen))
        return b
    if isinstance(b, dict):
        if isinstance(a, dict):
            for k, v in b.items():
                if k in a:
                    b[k] = _share_into(a[k], v, seen)
        return b
    if isinstance(b, list):
        if isinstance(a, list | tuple):
            names = [getattr(x, "name", None) for x in a]
            named = dict(zip(names, a, strict=True)) if len(set(names)) == len(a) and \
                all(isinstance(n, str) for n in names) else None
            for i, x in enumerate(b):  # items with distinct names (row blocks) by name
                ax = named.get(getattr(x, "name", None)) if named is not None else \
                    a[i] if i < len(a) else None
                b[i] = _share_into(ax, x, seen)
        return b
    if isinstance(b, tuple):
        if not isinstance(a, list | tuple) or len(a) != len(b) or hasattr(b, "_fields"):
            return b
        new = tuple(_share_into(x, y, seen) for x, y in zip(a, b, strict=True))
        return b if all(x is y for x, y in zip(new, b, strict=True)) else new
    closure = getattr(b, "__closure__", None)
    if closure is not None:
        if getattr(a, "__code__", None) is b.__code__ and a.__closure__ is not None:
            for ca, cb in zip(a.__closure__, closure, strict=True):
                try:
                    va, vb = ca.cell_contents, cb.cell_contents
                except ValueError:  # an empty cell
                    continue
                nv = _share_into(va, vb, seen)
                if nv is not vb:
                    cb.cell_contents = nv
        return b
    if type(a) is type(b) and type(b).__module__.startswith("ruimteverdeling.") and \
            hasattr(b, "__dict__"):
        da, db = vars(a), vars(b)
        for k, v in list(db.items()):
            if k in _NOT_SHARED or k not in da:
                continue
            nv = _share_into(da[k], v, seen)
            if nv is not v:
                db[k] = nv
    return b


def _templates(years: list[int], catalogue: UseCatalogue, alloc_ids: list[str]
               ) -> list[tuple[int, ...]]:
    """Use-level patterns (allocatable-use columns, KEEP for the current use)."""
    P = len(years)
    n = len(alloc_ids)
    out: list[tuple[int, ...]] = [(KEEP,) * P]
    for k in range(P):
        for u in range(n):
            out.append((KEEP,) * k + (u,) * (P - k))
    for u, uid in enumerate(alloc_ids):
        use = catalogue[uid]
        if use.reverts_to is None or use.irreversible or use.reverts_to not in alloc_ids:
            continue
        r = alloc_ids.index(use.reverts_to)
        if r == u:
            continue
        for k in range(P):
            for m in range(k + 1, P):
                if years[m] - years[k] >= use.lifetime_years:
                    out.append((KEEP,) * k + (u,) * (m - k) + (r,) * (P - m))
    return out


def _successors(catalogue: UseCatalogue, alloc_ids: list[str]) -> np.ndarray:
    """succ[a, b]: use b may follow use a (allocatable-use columns)."""
    n = len(alloc_ids)
    succ = np.ones((n, n), bool)
    for a, uid in enumerate(alloc_ids):
        s = catalogue[uid].successors
        if s is not None:
            succ[a] = [b in s for b in alloc_ids]
        if catalogue[uid].irreversible:
            succ[a] = False
            succ[a, a] = True
    return succ


def _joint(scenario: Scenario, years: list[int], compiled: list[CompiledModel],
           catalogue: UseCatalogue, explicit_max: int | None = None) -> Pathway:
    P = len(years)
    ctx = compiled[0].ctx
    alloc_ids = ctx.alloc_ids
    n_alloc = len(alloc_ids)
    dom_land = np.flatnonzero(ctx.domain)
    n_dom = dom_land.size
    dom_pos = np.full(ctx.land_cells.size, -1, np.int64)
    dom_pos[dom_land] = np.arange(n_dom)
    alloc_col_of_use = np.full(len(catalogue), -1, np.int64)
    alloc_col_of_use[ctx.alloc_idx] = np.arange(n_alloc)
    current = alloc_col_of_use[ctx.domain_use_idx]
    # per period: the column of (domain cell, use) in that period's model (-1: none), and
    # which pairs are allowed (a column, or the pinned use)
    col_of = []
    allowed = []
    for cm in compiled:
        s = cm.spec
        co = np.full((n_dom, n_alloc), -1, np.int32)
        co[dom_pos[cm.unit_land[s.col_unit]], s.col_use] = np.arange(s.n_x, dtype=np.int32)
        al = co >= 0
        al[dom_pos[cm.pinned_land], alloc_col_of_use[cm.pinned_use_idx]] = True
        # the periods whose columns are the same (most of them) share one map
        co = next((c for c in col_of if np.array_equal(c, co)), co)
        col_of.append(co)
        allowed.append(al)
    succ = _successors(catalogue, alloc_ids)
    templates = _templates(years, catalogue, alloc_ids)
    rows = np.arange(n_dom)
    valid = np.zeros((len(templates), n_dom), bool)
    # per cell: the current use allowed in period p, and the uses that may follow it
    allowed_cur = [al[rows, current] for al in allowed]
    succ_cur = succ[current]
    for i, tpl in enumerate(templates):
        ok = np.ones(n_dom, bool)
        prev = KEEP  # the use before the first period is the current one
        for p, sym in enumerate(tpl):
            if sym == KEEP:
                ok &= allowed_cur[p]
                if prev != KEEP:  # back to the current use: a change where it differs
                    ok &= (current == prev) | succ[prev][current]
            else:
                ok &= allowed[p][:, sym]
                if prev == KEEP:
                    ok &= (current == sym) | succ_cur[:, sym]
                elif prev != sym and not succ[prev, sym]:
                    ok[:] = False
            prev = sym
        first = next((sym for sym in tpl if sym != KEEP), None)
        if first is not None:
            ok &= current != first  # a change to the current use is no change
        valid[i] = ok
    del allowed, allowed_cur, succ_cur
    n_valid = valid.sum(axis=0)
    if (n_valid == 0).any():
        bad = int((n_valid == 0).sum())
        raise InputError.single(
            scenario.path, "periods", f"{bad:,} cells ({bad * ctx.cell_ha:,.0f} ha) have no "
            "pathway that the rules of every period and the transition table allow",
            "relax the per-period rules or the use catalogue's `successors`/`irreversible` "
            "for them")
    fixed_everywhere = np.all([~(co >= 0).any(axis=1) for co in col_of], axis=0)
    unit_domain = np.flatnonzero(~((n_valid == 1) & fixed_everywhere))
    traj = mp.Trajectories(np.asarray(templates, np.int64), current[unit_domain],
                           valid[:, unit_domain], mp.rows_of(col_of, unit_domain),
                           ctx.land_cells[dom_land[unit_domain]])
    del valid, col_of
    if explicit_max is None:
        explicit_max = scenario.solver.decompose_above // P
    explicit = traj.count() <= explicit_max
    specs = [cm.spec for cm in compiled]
    weights = period_weights(years)
    keys = traj.all_keys() if explicit else _start_keys(traj, specs, weights)
    model, uses = traj.model(specs, [str(y) for y in years], weights, keys)
    return Pathway(scenario, years, compiled, model, uses, unit_domain, traj=traj, keys=keys,
                   explicit=explicit)


def _start_keys(traj: mp.Trajectories, specs: list[ModelSpec], weights: np.ndarray,
                upto: int | None = None, mask: np.ndarray | None = None) -> np.ndarray:
    """The first trajectory columns of column generation: every unit's status quo (where
    allowed) and its best trajectory for the objective alone (coupling duals 0)."""
    valid = traj.valid if mask is None else mask
    stay = np.flatnonzero(valid[0]).astype(np.int64) * traj.n_templates
    m = sum(b.n_rows for s in specs for b in s.coupling)
    _, best = traj.best(mp.period_reduced_costs(specs, weights, np.zeros(m), upto), mask)
    return mp.unique_keys(stay, best)


# ------------------------------------------------------------------------------------------------
# solving: foresight and myopic
# ------------------------------------------------------------------------------------------------
MODES = ("foresight", "myopic", "both")
GENERATION_SHARE = 0.6
"""Share of the time limit after which column generation stops adding trajectories."""
FINAL_SHARE = 0.25
"""Share of the time limit the integer solve over the generated trajectories gets at least
(so the time limit can be overrun by this much when generation took all of its share)."""
NESTED_SHARE = 0.5
"""Share of the generation's time left that the prices from a quarter of the units may take
at most: they are only a start, and the bound comes from the rounds over every unit (as the
nested samples of :mod:`ruimteverdeling.model.decompose` get half the time left)."""


def solver_options(pw: Pathway) -> Any:
    """The scenario's solver options for a joint model of ``P`` periods: the decomposed LP
    from ``decompose_above / P`` columns on. A trajectory model has ~``P`` times the columns
    of one period, many of them near-ties (the same use from a later period on), which makes
    the simplex slow where the per-unit argmax pricing is not (measured on the demo area,
    three periods, 0.7 M columns: 237 s by dual simplex, 11 s by column generation, both
    ending with a decision gap of 1-1.5 %)."""
    opts = pw.scenario.solver
    return opts.model_copy(update={"decompose_above": opts.decompose_above // len(pw.years)})


def solve_foresight(pw: Pathway, progress: Any = None) -> Solution:
    """The joint model at once. When it is infeasible although every period alone is
    feasible, the transitions are the cause: the error names the first period whose targets
    cannot be met after the earlier ones (:func:`diagnose`)."""
    if not pw.explicit:
        return _foresight_generated(pw, progress)
    try:
        sol = solve_spec(pw.spec, solver_options(pw), progress)
    except InfeasibleError as exc:
        raise diagnose(pw, exc) from exc
    pw.solutions.append(sol)
    return sol


def remap(x: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """A solution over the trajectory columns ``old`` as one over ``new`` (a superset; the
    auxiliary columns, the same in both, follow the x columns)."""
    n_old = old.size
    out = np.zeros(new.size + x.size - n_old)
    pos = np.searchsorted(new, old)
    used = x[:n_old] != 0
    if not np.array_equal(new[pos[used]], old[used]):
        raise ValueError("a solution uses a trajectory that is no longer a column")
    out[pos[used]] = x[:n_old][used]
    out[new.size:] = x[n_old:]
    return out


def _proven(sol: Solution, bound: float, options: Any, details: dict) -> Solution:
    """``sol`` (of a model over some of the trajectories) with the bound over *all* of them:
    its own bound holds only for the columns it had."""
    bound = max(bound, sol.objective)
    dgap = decision_gap(sol.objective, bound, sol.status_quo_value)
    if dgap <= options.mip_rel_gap + 1e-12:
        status = "optimal"  # proven by the bound over every trajectory
    else:
        status = "feasible" if sol.status == "optimal" else sol.status
    return replace(sol, bound=bound, gap=proven_gap(sol.objective, bound), status=status,
                   decision_gap=dgap, details={**sol.details, **details})


def _foresight_generated(pw: Pathway, progress: Any = None) -> Solution:
    """Foresight by column generation over the trajectories (:func:`mp.generate`), then the
    integer solve (LP-first and repair) of the model over the trajectories generated; the
    bound is the Lagrangian bound over every trajectory, so the gap holds for the full
    model."""
    import time

    assert pw.traj is not None and pw.keys is not None
    say = progress or (lambda m: None)
    opts = solver_options(pw)
    t0 = time.perf_counter()
    specs = [cm.spec for cm in pw.compiled]
    labels = [str(y) for y in pw.years]
    deadline = t0 + GENERATION_SHARE * opts.time_limit
    y0 = mp.sample_prices(pw.traj, specs, labels, pw.model.weights, opts, deadline)
    say(f"  prices from the trajectories of a sample of units "
        f"({time.perf_counter() - t0:.1f} s)")
    t1 = time.perf_counter()
    w = pw.model.weights
    y1 = mp.nested_prices(pw.traj, specs, labels, w, opts, say,
                          t1 + NESTED_SHARE * max(0.0, deadline - t1), y0,
                          lambda tr, sp, y: _around(tr, sp, w, _start_keys(tr, sp, w), y))
    if y1 is not y0:
        say(f"  prices from the trajectories of {mp.SAMPLE_SHARE:.0%} of the units "
            f"({time.perf_counter() - t1:.1f} s)")
        y0 = y1
    gen = mp.generate(pw.traj, specs, labels, pw.model.weights,
                      _around(pw.traj, specs, pw.model.weights, pw.keys, y0), opts, say,
                      deadline, y_init=y0)
    pw.use(gen.keys, gen.model, gen.uses)
    bound = gen.bound
    y_start = gen.y
    for attempt in range(3):
        rest = max(FINAL_SHARE * opts.time_limit, opts.time_limit - (time.perf_counter() - t0))
        try:
            sol = solve_spec(pw.spec, opts.model_copy(update={"time_limit": rest}), progress,
                             prices=y_start)
        except InfeasibleError as exc:
            raise diagnose(pw, exc) from exc
        # the bound over every trajectory at the final LP's duals (tighter than the rounds')
        priced = None
        for y in _final_prices(pw, sol):
            p = mp.price(pw.traj, specs, pw.model.weights, pw.spec, y)
            if priced is None or p.bound < priced.bound:
                priced = p
        if priced is not None:
            bound = min(bound, priced.bound)
            y_start = priced.y
        dgap = decision_gap(sol.objective, max(bound, sol.objective), sol.status_quo_value)
        # the last attempt keeps its columns: ``sol`` must stay a solution over ``pw.keys``
        if dgap <= opts.mip_rel_gap or priced is None or not priced.new_keys.size \
                or time.perf_counter() - t0 > GENERATION_SHARE * opts.time_limit \
                or attempt == 2:
            break
        say(f"  decision gap {dgap:.3%} over every trajectory: "
            f"{priced.new_keys.size:,} more price out, solving again")
        pw.use(mp.unique_keys(pw.keys, priced.new_keys))
    split = gap_split(sol, bound, gen)
    say("  gap split (decision value): bound − master LP "
        f"{_pct(split['bound_side'])}, master LP − allocation {_pct(split['repair_side'])} "
        f"(bound {split['bound']:,.4f}, master LP {_num(split['master_lp'])}, allocation "
        f"{split['objective']:,.4f})")
    sol = _proven(sol, bound, opts, {"generation": _generation_details(pw, gen),
                                     "gap_split": split})
    pw.solutions.append(sol)
    return sol


def _final_prices(pw: Pathway, sol: Solution) -> list[np.ndarray]:
    """The coupling duals of the final LP over the generated trajectories at which every
    trajectory is priced for the bound: those of its best Lagrangian bound over the
    generated columns and, when it was solved by column generation, its last restricted
    LP's (the master's own duals: where nothing outside the generated columns prices out,
    ``L(y)`` at them equals the master's value, while the best-bound duals over the
    generated columns may lie anywhere on a flat stretch of ``L`` that trajectories not
    generated see as a slope). ``L(y)`` bounds the full model for every ``y``, so the
    smaller of the two is the bound."""
    m = pw.spec.n_rows - pw.spec.n_units
    out = []
    if sol.row_dual is not None and sol.row_dual.size == pw.spec.n_rows:
        out.append(np.asarray(sol.row_dual[pw.spec.n_units:], float))
    last = (sol.details.get("decomposition") or {}).get("y")
    if last is not None and len(last) == m:
        last = np.asarray(last, float)
        if not out or not np.array_equal(last, out[0]):
            out.append(last)
    return out


def gap_split(sol: Solution, bound: float, gen: mp.Generated) -> dict[str, Any]:
    """Where the decision gap ``(B − z) / (B − sq)`` of a generated solve lies: between the
    bound ``B`` over every trajectory and the master LP value ``z_LP`` over the generated
    trajectories (the bound side: the prices are not yet optimal, or trajectories that
    matter were never generated), and between ``z_LP`` and the allocation ``z`` (the
    repair side: rounding the LP to whole cells loses). The two shares add up to the
    decision gap; ``z_LP`` is the final LP's value (or the last restricted LP's of the
    generation when the final solve reports none)."""
    dec = sol.details.get("decomposition") or {}
    its = [i for i in dec.get("iterations", []) if i.get("objective") is not None
           and np.isfinite(i["objective"])]
    if its:
        z_lp = its[-1]["objective"]
    elif dec:
        z_lp = gen.objective
    else:  # the final LP solved whole: its value is its bound
        z_lp = sol.details.get("lp_bound")
    b = max(bound, sol.objective)
    sq = sol.status_quo_value
    scale = max(abs(b - sq), 1e-12) if sq is not None else max(abs(b), 1e-12)
    out: dict[str, Any] = {"bound": float(b), "objective": float(sol.objective),
                           "master_lp": None if z_lp is None else float(z_lp),
                           "generation_bound": float(gen.bound),
                           "generation_lp": gen.objective, "bound_side": None,
                           "repair_side": None}
    if z_lp is not None:
        z_lp = min(float(z_lp), b)
        out["bound_side"] = (b - z_lp) / scale
        out["repair_side"] = (z_lp - sol.objective) / scale
    return out


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.3%}"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:,.4f}"


def _around(traj: mp.Trajectories, specs: list[ModelSpec], weights: np.ndarray,
            keys: np.ndarray, y0: np.ndarray, upto: int | None = None,
            mask: np.ndarray | None = None) -> np.ndarray:
    """``keys`` with every unit's best trajectory at half and one and a half times the first
    prices ``y0``: the estimate is rough, and the columns near it save rounds."""
    out = [np.asarray(keys, np.int64)]
    for f in (0.5, 1.5):
        out.append(traj.best(mp.period_reduced_costs(specs, weights, f * y0, upto), mask)[1])
    return mp.unique_keys(*out)


def _generation_details(pw: Pathway, gen: mp.Generated) -> dict[str, Any]:
    return {"trajectories": pw.count(), "columns": int(gen.keys.size),
            "converged": gen.converged, "lagrangian_bound": gen.bound,
            "rounds": gen.rounds}


def diagnose(pw: Pathway, cause: InfeasibleError) -> InfeasibleError:
    """Which period first makes the joint model infeasible: the joint model up to period
    ``k`` (:meth:`~ruimteverdeling.model.periods.PeriodModel.up_to`) for ``k = 1, 2, ...``;
    the first infeasible one names the period, its targets and their regions."""
    for k in range(len(pw.years)):
        try:
            solve_spec(pw.model.up_to(k), solver_options(pw).model_copy(
                update={"method": "lp"}))
        except InfeasibleError:
            return _period_infeasible(pw, k, cause, "foresight")
    return InfeasibleError(f"the pathway model is infeasible: {cause}")


def _period_infeasible(pw: Pathway, k: int, cause: InfeasibleError, mode: str
                       ) -> InfeasibleError:
    year = pw.years[k]
    details = []
    due = due_years(pw.scenario)
    cm = pw.compiled[k]
    for t in cm.targets:
        if not t.is_enabled or due.get(t.id) != year:
            continue
        tc = cm.target_compilers.get(t.id)
        regions = ", ".join(tc.labels) if tc is not None else "national"
        bounds = " and ".join(f"{n} {v:g}" for n, v in (("min", t.min), ("max", t.max))
                              if v is not None)
        details.append(f"target '{t.id}' ({t.use}, {bounds}) due by {year}, region(s): "
                       f"{regions}")
    if k == 0:
        what = f"the targets and rules of period {year} cannot all hold"
    elif mode == "foresight":
        what = (f"period {year} cannot be reached from the earlier periods: uses allocated "
                f"before {year} stay (irreversible uses, at most one change per cell) and "
                f"leave no allocation that meets the targets due by {year}")
    else:
        what = (f"myopic planning fails in period {year}: the choices of the earlier "
                f"periods, which stay (irreversible uses, at most one change per cell), "
                f"leave no allocation that meets the targets due by {year}")
    details.append("fix: relax those targets (or make them soft with a penalty), move them "
                   "to another period (`by:`), or allow the uses to change (the use "
                   "catalogue's `irreversible`, `reverts_to`, `successors`)")
    return InfeasibleError(f"{what} ({cause.args[0].splitlines()[0] if cause.args else ''})",
                           details)


def solve_myopic(pw: Pathway, progress: Any = None) -> Solution:
    """Period by period, each seeing no further than itself and keeping earlier choices.

    Step ``k`` solves the joint model seen from period ``k``
    (:meth:`~ruimteverdeling.model.periods.PeriodModel.up_to`) over one representative
    trajectory per cell and distinct use sequence up to ``k`` among those that agree with
    the uses fixed before. The last step's solution is a joint solution; its objective is the
    joint objective.
    """
    if not pw.explicit:
        return _myopic_generated(pw, progress)
    m = pw.model
    spec = m.spec
    P = len(pw.years)
    units = spec.col_unit
    agree = np.ones(spec.n_x, bool)
    x = None
    for k in range(P):
        view = m.up_to(k)
        key = np.stack([units.astype(np.int64), *pw.traj_use[: k + 1]], axis=1)
        cand = np.flatnonzero(agree)
        _, first = np.unique(key[cand], axis=0, return_index=True)
        keep = np.zeros(spec.n_x, bool)
        keep[cand[first]] = True
        sub, cols = view.restrict(np.ones(spec.n_units, bool), np.zeros(spec.n_cols),
                                  keep_cols=np.concatenate([keep, np.ones(
                                      len(spec.aux_names), bool)]))
        try:
            sol = solve_spec(sub, solver_options(pw), progress)
        except InfeasibleError as exc:
            raise _myopic_infeasible(pw, k, exc) from exc
        x = np.zeros(spec.n_cols)
        x[cols] = sol.x
        chosen = spec.unit_choice(x)
        fixed = pw.traj_use[: k + 1, chosen]  # (k+1, n_units)
        agree = np.all(pw.traj_use[: k + 1] == fixed[:, units], axis=0)
        last_sol = sol
    assert x is not None
    z = spec.objective_value(x)
    sol = Solution(last_sol.status, x, z, z, 0.0, "myopic:" + last_sol.method,
                   last_sol.backend, last_sol.solver,
                   details={"myopic": True, "last_step_bound": float(last_sol.bound)},
                   status_quo_value=spec.status_quo_value,
                   decision_gap=None)
    pw.solutions.append(sol)
    return sol


def _myopic_generated(pw: Pathway, progress: Any = None) -> Solution:
    """Myopic planning by column generation: step ``k`` generates the trajectories of the
    model seen from period ``k`` among those that keep the uses fixed before
    (:func:`mp.generate` with ``upto`` and a mask), solves it and fixes its uses up to ``k``.
    The last step's solution is carried onto the pathway's columns (with the foresight
    solution's, if any)."""
    import time

    traj = pw.traj
    assert traj is not None and pw.keys is not None
    say = progress or (lambda m: None)
    opts = solver_options(pw)
    specs = [cm.spec for cm in pw.compiled]
    labels = [str(y) for y in pw.years]
    weights = pw.model.weights
    P = len(pw.years)
    mask = traj.valid
    chosen = np.zeros(0, np.int64)
    for k in range(P):
        t0 = time.perf_counter()
        keys = mp.unique_keys(chosen, _start_keys(traj, specs, weights, k, mask))
        deadline = t0 + GENERATION_SHARE * opts.time_limit
        y0 = mp.sample_prices(traj, specs, labels, weights, opts, deadline, k, mask)
        gen = mp.generate(traj, specs, labels, weights,
                          _around(traj, specs, weights, keys, y0, k, mask), opts, say,
                          deadline, upto=k, mask=mask, y_init=y0)
        view = gen.model.up_to(k)
        rest = max(FINAL_SHARE * opts.time_limit, opts.time_limit - (time.perf_counter() - t0))
        try:
            sol = solve_spec(view, opts.model_copy(update={"time_limit": rest}), progress,
                             prices=gen.y)
        except InfeasibleError as exc:
            raise _myopic_infeasible(pw, k, exc) from exc
        chosen = gen.keys[view.unit_choice(sol.x)]
        if k + 1 < P:
            mask = mask & _agree(traj, traj.uses(chosen)[: k + 1])
    spec = gen.model.spec
    keys = mp.unique_keys(pw.keys, gen.keys)
    pw.use(keys)
    x = remap(sol.x, gen.keys, keys)
    z = pw.spec.objective_value(x)
    out = Solution(sol.status, x, z, z, 0.0, "myopic:" + sol.method, sol.backend, sol.solver,
                   details={"myopic": True, "last_step_bound": float(sol.bound)},
                   status_quo_value=spec.status_quo_value, decision_gap=None)
    pw.solutions.append(out)
    return out


def _agree(traj: mp.Trajectories, fixed: np.ndarray) -> np.ndarray:
    """(T, n_units): the templates whose uses in the first ``len(fixed)`` periods are the
    fixed ones (``fixed``: (k+1, n_units))."""
    out = np.ones(traj.valid.shape, bool)
    for t in range(traj.n_templates):
        for p in range(fixed.shape[0]):
            sym = int(traj.templates[t, p])
            use = traj.current if sym == mp.KEEP else sym
            out[t] &= use == fixed[p]
    return out


def _myopic_infeasible(pw: Pathway, k: int, exc: InfeasibleError) -> InfeasibleError:
    return _period_infeasible(pw, k, exc, "myopic")


def cost_of_myopia(pw: Pathway, foresight: Solution, myopic: Solution) -> dict[str, Any]:
    """The headline figure: objective points lost by planning period by period, and where
    the two pathways differ (hectares per period, and irreversible land the myopic pathway
    locked in that foresight does not use)."""
    m = pw.model
    ha = pw.last.ctx.cell_ha
    cat = list(pw.last.catalogue)
    irreversible = np.array([u.irreversible or u.built for u in cat])
    per_period = []
    for p, y in enumerate(pw.years):
        a, b = pw.land_use(foresight, p), pw.land_use(myopic, p)
        diff = a != b
        per_period.append({
            "period": y,
            "foresight_value": m.period_value(foresight.x, p),
            "myopic_value": m.period_value(myopic.x, p),
            "differing_ha": float(diff.sum()) * ha,
            "locked_in_ha": float((diff & irreversible[b]).sum()) * ha,
        })
    return {
        "points": float(foresight.objective - myopic.objective),
        "foresight_objective": float(foresight.objective),
        "foresight_bound": float(foresight.bound),
        "myopic_objective": float(myopic.objective),
        "share_of_decision_value": _share(foresight, myopic, m.spec.status_quo_value),
        "per_period": per_period,
        "note": "foresight minus myopic on the joint objective; a negative value can only "
                "come from the foresight gap (see foresight_bound)",
    }


def _share(foresight: Solution, myopic: Solution, sq: float | None) -> float | None:
    if sq is None or foresight.objective - sq == 0:
        return None
    return float((foresight.objective - myopic.objective) / abs(foresight.objective - sq))
