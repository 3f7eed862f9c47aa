"""Locations: new land of a use comes in connected patches of a minimum size, and enough large ones.

A *location* of use ``T`` is a connected patch (4-neighbour contiguity: cells sharing an
edge) of cells ``c`` with ``x[c,u] = 1`` for a use ``u`` that adds ``T``; its size is
``Q(P) = Σ_{c∈P} q_c`` with
``q_c = a_c · d_c · max(0, p(u_c, T) − p(e_c, T))`` new homes (``d_c`` the housing density,
:mod:`ruimteverdeling.domain.density`) or, with ``quantity: area``, without ``d_c`` (hectares).
A rule asks

* **minimum size** — every new patch ``P`` holds ``Q(P) ≥ m(P)`` with
  ``m(P) = max_{c∈P} m_c``, ``m_c`` the minimum of the settlement type of cell ``c``
  (``min_by_type``: a categorical layer giving each cell the type of the core it belongs to)
  or ``min_size``. Taking the largest minimum over the patch keeps the rule closed under
  union: two patches that each meet their minimum and touch form a patch that meets its own.
* **count** — at least ``N`` patches with ``Q(P) ≥ S`` (``count: {at_least: N, min_size:
  S}``; ``scale: area_share`` takes ``⌊N · share⌋`` for a study area that is a share of the
  country). Patches counted must not touch each other (else they are one location).

Why 4-neighbour: a patch joined only at a corner has no shared edge to run a street, a cable
or a path through; 8-neighbour contiguity would let a diagonal chain of single cells count as
one location, which is the scattering the rule is meant to prevent. ``contiguity: 8`` is
available where a corner is enough.

**Formulation.** These rows are not separable over cells and not linear in ``x``, so the rule
adds nothing to the cell model; the cell model without them is a *relaxation* of the model
with them (it keeps every location-feasible allocation), and its proven bound ``z̄`` (LP
optimum or MIP dual bound) stays an upper bound. After the solve (:func:`enforce`):

1. **a bound that sees the rule** (:mod:`ruimteverdeling.rules.location_bound`): the
   Lagrangian relaxation of the cell model's coupling rows at its LP duals, with *patch cuts*
   ``y_c ≤ Σ_{n∈∂S} y_n`` (a new cell whose set ``S`` cannot hold its minimum needs a new cell
   on the boundary of ``S``), separated over an LP in the located cells; the cuts then go back
   into the cell model's LP for new prices, a few rounds. Each figure is a valid bound ``z̃``
   (proof in that module); the reported bound is ``min(z̄, z̃)``;
2. the relaxation's allocation ``x̂`` gives the patches of new ``T``; each below its minimum
   is grown greedily over 4-neighbours that may take ``T`` and that the relaxation left at
   their current use (cells it changed serve other targets) — smallest loss of reduced
   profit (from step 1's prices, which charge what a change costs the targets and rules) per
   unit of ``Q`` first, absorbing any patch it touches — until it meets its minimum, or is
   left out when nothing is left to grow into. Every kept or grown patch also gets an
   extended version (grown to 1.5 times its size); the patches of step 1's LP solution
   (``y ≥ ½``: where the bound consolidates) are grown the same way; for the count the
   ``2N + 5`` largest candidates at distinct places are grown to ``S``. Each is a
   *candidate* ``k`` with a binary ``y_k``;
3. the *free* cells (new ``T`` in ``x̂`` or in a candidate) keep their columns of the cell
   model — the relaxation's, their best ``T`` column, and their four best other ones; every
   other cell is fixed at ``x̂`` (its row activity moves into the bounds). The rows of the
   cell model (targets, quotas, conflicts, soft slacks) stay as they are, and
   ``Σ_{u adds T} x[c,u] = Σ_{k∋c} y_k`` for every free cell ``c`` links cells to
   candidates (a free cell is ``T`` exactly when one chosen candidate covers it; set packing
   ``Σ_{k∋c} y_k ≤ 1`` across uses); the count adds ``Σ_{k: Q_k ≥ S} y_k + s ≥ N`` (the
   shortfall ``s`` priced at the relaxation's decision value per location, reported) and
   ``y_k + y_l ≤ 1`` for touching large candidates ``k, l``. HiGHS's branch and bound solves
   this restricted MIP to the decision-gap tolerance;
4. its solution meets every row of the cell model and the minimum of every patch: the
   *incumbent* ``z``. The reported gap is ``(min(z̄, z̃) − z) / (z − z_sq)`` on the decision
   value.

**Work, not time.** Each step stops at a count of its own work, so the same inputs give the
same allocation on an idle and on a loaded machine: the bound at its rounds of patch cuts
(``ROUNDS`` of :mod:`ruimteverdeling.rules.location_bound`, ended early once no cut is
violated) and its ``LP_ROUNDS`` re-solves (ended early once a round's prices separate no
new cut); the restricted MIP once its incumbent is within the
decision-gap tolerance of ``min(z̄, z̃)`` (no better incumbent could show a smaller gap), at its
own tolerance, or after ``RESTRICTED_MIP_CHECKS`` of HiGHS's interrupt checks with an
incumbent; the further round after ``INCUMBENT_ROUNDS``. The time share (:func:`enforce`,
``seconds``; by default half the solver's time limit, at most ``ENFORCE_SECONDS``) is only a cap
behind those counts: a step it stops is named in ``details['time_limit_cut']`` (as the cell
model's solve names its steps) and the status is then ``time_limit`` unless the gap is proven.
A step the cap cuts short returns what it has proven — every round of the bound is valid, so a
bound cut short is weaker, never wrong; the MIP its best location-feasible allocation (it always
gets ``MIN_MIP_SECONDS``). The bound's LP rounds may use at most ``BOUND_SHARE`` of the share,
so that the cap, when it binds, leaves the restricted MIP time for an allocation. Below
``MIN_BOUND_SECONDS`` of share the bound is left out (``z̄`` stands), below
``MIN_IMPROVE_SECONDS`` the further round: decided by the share, not the clock.

**Where it is weak.** The candidates are a heuristic set and the restricted MIP fixes every
other cell, so the incumbent can miss a better consolidation elsewhere. The bound ignores the
count of large locations (only the minimum sizes are cut), the prices are re-optimised only a
few rounds, and the LP over ``y`` may spread fractional support over several neighbours. When
the restricted MIP finds nothing (a hard target the patches can no longer meet), the
relaxation's allocation is reported with the rule marked *not met*, and never as optimal:
status ``time_limit`` when the cap cut a step short, else ``feasible``.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from ruimteverdeling.errors import Problem
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import abs_gap_target, decision_gap, proven_gap
from ruimteverdeling.model.spec import ModelSpec, RowBlock
from ruimteverdeling.model.stopping import PatientStop, has_incumbent
from ruimteverdeling.rules import checks
from ruimteverdeling.rules import location_bound as lb
from ruimteverdeling.rules.base import Contribution
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario.schema import Amount, RuleBase
from ruimteverdeling.strict import StrictModel

COUNT_SPARE = 5
"""Large candidates grown beyond the ``N`` the count asks (choice for the restricted MIP)."""
RESTRICTED_GAP_SHARE = 0.5
"""The restricted MIP stops within this share of the decision-gap tolerance (in objective
points) of its own bound: it is small, and what it leaves on the table is all gap."""


COUNT_DISTINCT = 2
"""For a count of ``N``: the ``2 N + COUNT_SPARE`` largest candidates at distinct places are
grown to the count's size."""
COUNT_PENALTY_SHARE = 1.0
"""Not used for the bound: the count's shortfall slack in the restricted MIP costs this share
of the decision value per location short (so the MIP meets the count whenever it can)."""


class SizeByType(StrictModel):
    """Minimum location size per category of a layer (the settlement type of each cell)."""

    layer: str
    sizes: dict[str, Amount]


class LocationCount(StrictModel):
    """At least ``at_least`` locations of at least ``min_size``."""

    at_least: int = Field(ge=1, le=100_000)
    min_size: Amount = Field(gt=0)
    scale: Literal["none", "area_share"] = "none"


class LocationRule(RuleBase):
    """New ``use`` comes in connected locations of a minimum size; optionally enough large ones.

    Patch P (4- or 8-neighbour connected cells of new ``use``): Q(P) ≥ max_{c∈P} m_c, with
    m_c from ``min_by_type`` (the cell's category) or ``min_size``; ``count``: at least N
    non-touching patches with Q(P) ≥ S. Enforced on the relaxation's allocation by a
    restricted MIP over candidate patches (see the module docstring).
    """

    type: Literal["location"] = "location"
    use: str = "housing"
    quantity: Literal["homes", "area"] = "homes"
    min_size: Amount | None = None
    min_by_type: SizeByType | None = None
    count: LocationCount | None = None
    contiguity: Literal[4, 8] = 4
    committed_layer: str | None = None
    """A layer of committed (decided) locations, ids > 0: a patch holding one is exempt
    from the minimum (it is decided, and may be extended); an exclusion rule realises it."""


def check(rule: LocationRule, index: int, ctx: Context) -> list[Problem]:
    field_ = f"rules[{index}]"
    problems = checks.target_use(rule.use, f"{field_}.use", ctx)
    if rule.quantity == "homes" and ctx.scenario.housing_density is None:
        problems.append(Problem(ctx.file, f"{field_}.quantity",
                                "counting homes needs `housing_density:` in the scenario",
                                "add `housing_density:` or use `quantity: area`"))
    if rule.min_size is None and rule.min_by_type is None and rule.count is None:
        problems.append(Problem(ctx.file, field_, "a location rule without `min_size`, "
                                "`min_by_type` or `count` asks nothing",
                                "give a minimum size or a count, or remove the rule"))
    if rule.committed_layer is not None and not ctx.area.has_layer(rule.committed_layer):
        problems.append(checks.missing_layer(rule.committed_layer, f"{field_}.committed_layer",
                                             ctx.file, ctx.area))
    problems += _capacity(rule, field_, ctx)
    if rule.min_by_type is not None:
        lay_name = rule.min_by_type.layer
        if not ctx.area.has_layer(lay_name):
            problems.append(checks.missing_layer(lay_name, f"{field_}.min_by_type.layer",
                                                 ctx.file, ctx.area))
        else:
            lay = ctx.area.layer(lay_name)
            for key in rule.min_by_type.sizes:
                try:
                    lay.code_of(key)
                except KeyError:
                    names = ", ".join(str(n) for n in (lay.categories or {}).values())
                    problems.append(Problem(
                        ctx.file, f"{field_}.min_by_type.sizes.{key}",
                        f"layer '{lay_name}' has no category '{key}'",
                        f"use one of: {names}" if names else "use the layer's integer codes"))
    return problems


def _capacity(rule: LocationRule, field_: str, ctx: Context) -> list[Problem]:
    """A minimum (or count size) larger than what the whole changeable land of every region
    could hold is an error: no location can ever meet it."""
    sizes = [("min_size", rule.min_size)] if rule.min_size else []
    if rule.count is not None:
        sizes.append(("count.min_size", rule.count.min_size))
    if rule.min_by_type is not None:
        sizes += [(f"min_by_type.sizes.{k}", v) for k, v in rule.min_by_type.sizes.items()]
    if not sizes or rule.use not in ctx.catalogue.target_uses:
        return []
    if rule.quantity == "homes" and ctx.scenario.housing_density is None:
        return []
    p = ctx.provides(rule.use)
    best = float(p[ctx.alloc_idx].max()) if ctx.alloc_idx.size else 0.0
    gain = np.maximum(0.0, best - p[ctx.land_use_idx]) * ctx.domain
    dens = ctx.housing_density() if rule.quantity == "homes" else 1.0
    q = ctx.cell_ha * dens * gain
    rows, names = ctx.region_rows()
    per_region = np.bincount(rows[rows >= 0], weights=q[rows >= 0], minlength=len(names))
    cap = float(per_region.max()) if per_region.size else float(q.sum())
    where = names[int(np.argmax(per_region))] if per_region.size else "the study area"
    unit = "homes" if rule.quantity == "homes" else "ha"
    return [Problem(ctx.file, f"{field_}.{name}",
                    f"location rule '{rule.id}': a location of {size:,.0f} {unit} does not fit "
                    f"in any region (the most any region's changeable land could hold is "
                    f"{cap:,.0f} {unit}, in {where})",
                    "lower the minimum, or use a larger study area or a finer density")
            for name, size in sizes if size > cap + 1e-9]


def committed_conflict(ctx: Context, land: np.ndarray) -> str:
    """For cells (land indices) left without an allowed use: the committed locations (of the
    enabled location rules' ``committed_layer``) they lie in, as a clause of the error."""
    names: dict[str, list[str]] = {}
    for rule in ctx.scenario.rules:
        if not (isinstance(rule, LocationRule) and rule.is_enabled and rule.committed_layer
                and ctx.area.has_layer(rule.committed_layer)):
            continue
        lay = ctx.area.layer(rule.committed_layer)
        flat = ctx.land_cells[land]
        flat = flat[lay.data.ravel()[flat] > 0]
        if not flat.size:
            continue
        if lay.kind == "regions":
            labels = ctx.area.region_names(rule.committed_layer)
            found = [str(labels.get(int(i), int(i)))
                     for i in np.unique(lay.data.ravel()[flat])]
        else:  # a mask: the cells' centres
            g = ctx.area.grid
            rows, cols = np.divmod(flat[:3], g.width)
            found = [f"the cell at x {g.left + (c + 0.5) * g.resolution:,.0f}, "
                     f"y {g.top - (r + 0.5) * g.resolution:,.0f}"
                     for r, c in zip(rows, cols, strict=True)]
            if flat.size > 3:
                found.append(f"{flat.size - 3:,} more cells")
        names[rule.committed_layer] = found
    if not names:
        return ""
    return ("; they lie in the committed location(s) " +
            "; ".join(f"{', '.join(v)} (layer {k})" for k, v in names.items()) +
            ", which another rule closes to the use that realises them")


def compile(rule: LocationRule, ctx: Context) -> Contribution:
    """Nothing in the cell model: it is the relaxation (see :func:`enforce`)."""
    return Contribution()


def report(rule: LocationRule, run: Any) -> list[dict[str, Any]]:
    """One row: the locations of the rule's use and whether enforcing the rule changed the
    relaxation's allocation (``binds``)."""
    info = (run.sol.details.get("locations") or {}).get("uses", {}).get(rule.use)
    if not info:
        return [{"use": rule.use, "binds": "unknown"}]
    return [{"use": rule.use, "binds": "yes" if info.get("changed") else "no",
             "value": float(info.get("locations", 0))}]


FAMILY = RuleFamily("location", LocationRule, check, compile, report)


# ---------------------------------------------------------------------------------------------
# patches on the grid
# ---------------------------------------------------------------------------------------------
def label_patches(mask: np.ndarray, contiguity: int = 4) -> tuple[np.ndarray, int]:
    """Connected components of a boolean grid (0 outside; 1..n the patches)."""
    from scipy.ndimage import label

    structure = np.ones((3, 3), int) if contiguity == 8 else None
    lab, n = label(mask, structure=structure)
    return lab, int(n)


@dataclass
class UseRules:
    """The location rules of one use, combined."""

    use: str
    quantity: str
    contiguity: int
    minimum: np.ndarray  # m_c per land cell (0: none)
    committed: np.ndarray  # bool per land cell: in a committed location
    counts: list[tuple[int, float]]  # (N, S)
    rules: list[LocationRule]


def combine(rules: list[LocationRule], ctx: Context) -> list[UseRules]:
    """Per use, the largest minimum per land cell and every count (N scaled as asked)."""
    out: dict[str, UseRules] = {}
    for rule in rules:
        m = np.zeros(ctx.land_cells.size)
        if rule.min_size is not None:
            m[:] = rule.min_size
        if rule.min_by_type is not None:
            lay = ctx.area.layer(rule.min_by_type.layer)
            v = lay.data.ravel()[ctx.land_cells]
            for key, size in rule.min_by_type.sizes.items():
                hit = v == lay.code_of(key)
                m[hit] = np.maximum(m[hit], size) if rule.min_size is not None else size
        ur = out.get(rule.use)
        if ur is None:
            ur = out[rule.use] = UseRules(rule.use, rule.quantity, rule.contiguity, m,
                                          np.zeros(m.size, bool), [], [])
        else:
            ur.minimum = np.maximum(ur.minimum, m)
            ur.contiguity = min(ur.contiguity, rule.contiguity)
        if rule.committed_layer is not None:
            ur.committed |= ctx.zone(rule.committed_layer)
        if rule.count is not None:
            n = rule.count.at_least
            if rule.count.scale == "area_share":
                n = math.floor(n * ctx.area_share + 1e-9)
            if n > 0:
                ur.counts.append((n, rule.count.min_size))
        ur.rules.append(rule)
    return list(out.values())


def new_quantity(ctx: Context, use: str, quantity: str, use_idx: np.ndarray) -> np.ndarray:
    """q per land cell for the catalogue uses ``use_idx`` (per land cell): new homes or ha."""
    p = ctx.provides(use)
    cur = ctx.land_use_idx
    gain = np.maximum(0.0, p[use_idx] - p[cur])
    dens = ctx.housing_density() if quantity == "homes" else 1.0
    return ctx.cell_ha * dens * gain


def patch_table(ctx: Context, after: np.ndarray, ur: UseRules) -> list[dict[str, Any]]:
    """Every patch of new ``ur.use`` in the allocation ``after`` (catalogue index per land
    cell): its cells (land indices), size Q, minimum m(P) and whether it meets it."""
    q = new_quantity(ctx, ur.use, ur.quantity, after)
    grid = np.zeros(ctx.area.grid.size, bool)
    grid[ctx.land_cells[q > 0]] = True
    lab, n = label_patches(grid.reshape(ctx.area.grid.shape), ur.contiguity)
    if n == 0:
        return []
    land_lab = lab.ravel()[ctx.land_cells]
    order = np.argsort(land_lab, kind="stable")
    bounds = np.searchsorted(land_lab[order], np.arange(1, n + 2))
    out = []
    for k in range(n):
        cells = order[bounds[k]:bounds[k + 1]]
        size = float(q[cells].sum())
        need = float(ur.minimum[cells].max())
        committed = bool(ur.committed[cells].any())
        out.append({"cells": cells, "size": size, "minimum": need, "committed": committed,
                    "meets": committed or size >= need - 1e-6})
    return out


# ---------------------------------------------------------------------------------------------
# enforcement: candidates and the restricted MIP
# ---------------------------------------------------------------------------------------------
@dataclass
class Candidate:
    use: str
    cells: np.ndarray  # land indices
    size: float
    large: bool = False


@dataclass
class _Cols:
    """Per unit: its best column with the use (−1: none); the new quantity of every column."""

    with_use: np.ndarray
    q_col: np.ndarray  # new quantity of every x column


def _best_per_unit(spec: ModelSpec, mask: np.ndarray, prefer: np.ndarray) -> np.ndarray:
    """Per unit the column in ``mask`` the relaxation chose (``prefer``) or else the one with
    the largest objective coefficient (−1 if the unit has none)."""
    out = np.full(spec.n_units, -1, np.int64)
    cols = np.flatnonzero(mask)
    if cols.size:
        score = spec.obj[cols] + np.where(prefer[cols], 1e30, 0.0)
        order = np.lexsort((-score, spec.col_unit[cols]))
        cols = cols[order]
        units = spec.col_unit[cols]
        _, first = np.unique(units, return_index=True)
        out[units[first]] = cols[first]
    return out


@dataclass
class Enforcement:
    """What :func:`enforce` did (``details['locations']`` of the solution)."""

    status: str  # "met" (already), "enforced", "not met"
    uses: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    candidates: int = 0
    message: str = ""
    bound: dict[str, Any] | None = None
    budget: dict[str, Any] | None = None
    """The time share and the seconds of each step (and the steps left out for want of it)."""

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "uses": self.uses, "seconds": round(self.seconds, 3),
                "candidates": self.candidates, **({"message": self.message}
                                                  if self.message else {}),
                **({"bound": self.bound} if self.bound else {}),
                **({"budget": self.budget} if self.budget else {})}


def location_rules(cm: Any) -> list[LocationRule]:
    return [r for r in cm.rules if isinstance(r, LocationRule) and r.is_enabled]


def rules_met(cm: Any, x: np.ndarray) -> bool:
    """Whether the allocation ``x`` of ``cm``'s cell model meets every location rule of
    ``cm``: every new location of each located use (a connected patch of its cells, pinned
    cells included) holds at least its minimum, and each count of large locations is met."""
    rules = location_rules(cm)
    if not rules:
        return True
    after = cm.land_use_after(x)
    return all(_satisfied(patch_table(cm.ctx, after, ur), ur)
               for ur in combine(rules, cm.ctx))


def enforce(cm: Any, sol: Any, options: SolverOptions | None = None,
            say: Any = None, seconds: float | None = None, basis: Any = None) -> Any:
    """The solution with the location rules of ``cm`` enforced (see the module docstring).

    ``sol`` is the cell model's (the relaxation's) solution; the result keeps its bound and
    carries the incumbent, its gaps and ``details['locations']``. Without location rules, or
    for an LP-only solve, ``sol`` is returned unchanged.

    ``seconds``: the time share (default :func:`enforcement_seconds`), a cap behind the
    steps' counts of work (see the module docstring): the location bound is left out when
    the share is under ``MIN_BOUND_SECONDS`` (the relaxation's bound stands), the further
    round when it is under ``MIN_IMPROVE_SECONDS``; the bound's LP rounds get at most
    ``BOUND_SHARE`` of the share, the rest is kept for the restricted MIP. A step the cap
    cuts short returns what it has proven (the bound its rounds so far, each valid; the MIP
    its best location-feasible allocation) and is named in ``details['time_limit_cut']``;
    the status is then ``time_limit`` unless the decision gap is proven. When no allocation
    meeting the rules is found, the relaxation's allocation is returned with
    ``details['locations']['status']`` ``"not met"`` and never as ``optimal``:
    ``time_limit`` when a step was cut short (or the relaxation's solve was), else
    ``feasible``. ``details['locations']['budget']`` says where the time went.
    ``basis``: an optimal simplex basis of ``cm.spec``'s LP, where the
    location bound's LP rounds start (see
    :func:`ruimteverdeling.rules.location_bound.strengthened_bound`)."""
    from dataclasses import replace

    from ruimteverdeling.model.solve import CAPPED_NOTE

    rules = location_rules(cm)
    if not rules or sol.status == "relaxation":
        return sol
    say = say or (lambda msg: None)
    options = options or cm.scenario.solver
    t0 = time.perf_counter()
    share = enforcement_seconds(options) if seconds is None else max(0.0, float(seconds))
    spent: dict[str, float] = {}
    skipped: list[str] = []
    ctx, spec = cm.ctx, cm.spec
    groups = combine(rules, ctx)
    after = cm.land_use_after(sol.x)
    info = Enforcement("met")
    tables = {ur.use: patch_table(ctx, after, ur) for ur in groups}
    for ur in groups:
        info.uses[ur.use] = _use_summary(tables[ur.use], ur, changed=False)
    if all(_satisfied(tables[ur.use], ur) for ur in groups):
        info.seconds = time.perf_counter() - t0
        return replace(sol, details={**sol.details, "locations": info.to_json()})
    waited = _wait_for_cancelled_solve(say)
    t_share = time.perf_counter()  # the share starts when HiGHS is free
    say("location rules: building candidate locations from the relaxation")
    unit_of_land = np.full(ctx.land_cells.size, -1, np.int64)
    unit_of_land[cm.unit_land] = np.arange(spec.n_units)
    chosen = np.zeros(spec.n_x, bool)
    chosen[spec.unit_choice(sol.x)] = True
    col_land = cm.unit_land[spec.col_unit]
    col_cat = ctx.alloc_idx[spec.col_use]
    cols_of: dict[str, _Cols] = {}
    for ur in groups:
        q_col = _col_quantity(ctx, ur, col_land, col_cat)
        cols_of[ur.use] = _Cols(_best_per_unit(spec, q_col > 0, chosen), q_col)
    deadline = t_share + share  # a cap: every step stops at a count of its own work
    cut: list[str] = []
    spent["prepare"] = time.perf_counter() - t_share
    t1 = time.perf_counter()
    if share >= MIN_BOUND_SECONDS:
        # the LP rounds may take at most BOUND_SHARE of the share: the rest is kept for the
        # restricted MIP, so a loaded machine still gets an allocation attempt
        lagr = _location_bound(cm, sol, groups, cols_of, after, options, say,
                               max(0.0, min(deadline - t1, BOUND_SHARE * share)), basis)
        if lagr is not None and lagr.time_limit_cut:
            cut.append("location bound")
    else:
        lagr = None
        skipped.append("bound")
        say("location rules: no time for the location bound; the relaxation's bound stands")
    spent["bound"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    # growth is priced by the reduced profits where the bound has them (what a cell's change
    # costs the targets and rules too), else by the objective
    price = lagr.d if lagr is not None and lagr.d is not None else spec.obj[: spec.n_x]
    cands: list[Candidate] = []
    free_land: set[int] = set()
    for ur in groups:
        q_land = new_quantity(ctx, ur.use, ur.quantity, after)
        guide = lagr.y.get(ur.use) if lagr is not None else None
        cands += _candidates(ctx, ur, tables[ur.use], q_land, unit_of_land,
                             cols_of[ur.use], price, after, spec.unit_choice(sol.x), guide)
        for row in tables[ur.use]:
            free_land.update(int(c) for c in row["cells"])
    for k in cands:
        free_land.update(int(c) for c in k.cells)
    info.candidates = len(cands)
    spent["candidates"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    # the best bound proven so far: the MIP may stop once its incumbent is within the
    # decision-gap tolerance of it (nothing better could be proven)
    known = min(sol.bound, lagr.bound) if lagr is not None else sol.bound
    mip_s = max(MIN_MIP_SECONDS, deadline - t1)
    x_new, msg, capped = _restricted_mip(cm, sol, groups, cands, free_land, unit_of_land,
                                         cols_of, options, say, mip_s, known=known)
    if capped:
        cut.append("location restricted MIP")
    spent["mip"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    if x_new is not None:
        done = decision_gap(spec.objective_value(x_new), known, spec.status_quo_value) \
            <= options.mip_rel_gap
        if share >= MIN_IMPROVE_SECONDS and not done:
            if deadline - t1 > 0.0:
                x_new, capped = _improve(cm, sol, groups, x_new, unit_of_land, cols_of,
                                         price, lagr, options, say, deadline - t1, known)
                if capped:
                    cut.append("location improve rounds")
                spent["improve"] = time.perf_counter() - t1
            else:
                cut.append("location improve rounds")
        elif not done:
            skipped.append("improve")
    if x_new is not None:  # never report an allocation whose locations break a minimum
        after_x = cm.land_use_after(x_new)
        if not all(r["meets"] for ur in groups for r in patch_table(ctx, after_x, ur)):
            x_new, msg = None, ("the restricted MIP stopped before it found an allocation "
                                "whose locations all meet their minimum sizes; the "
                                "relaxation's allocation is kept")
    info.budget = {"seconds": round(share, 3),
                   "spent": {k: round(v, 3) for k, v in spent.items()},
                   **({"waited": round(waited, 3)} if waited > 0 else {}),
                   **({"skipped": skipped} if skipped else {}),
                   **({"time_limit_cut": cut} if cut else {})}
    if x_new is None:
        info.status, info.message = "not met", msg
        info.seconds = time.perf_counter() - t0
        say(f"location rules not met: {msg}")
        cm.warnings.append(Problem(
            cm.scenario.path, "rules", f"the location rules ({', '.join(r.id for r in rules)}) "
            f"are not met: {msg}",
            "lower the minimum sizes or counts, soften the targets the locations must meet, or "
            "raise the time limit; the allocation reported is the relaxation's"))
        # the relaxation's allocation breaks a location rule: never "optimal", whatever the
        # relaxation's own status; "time_limit" when the cap cut a step short
        status = "time_limit" if cut or sol.status == "time_limit" else "feasible"
        return replace(sol, status=status,
                       details={**sol.details, "locations": info.to_json(),
                                "relaxation": {"objective": sol.objective, "bound": sol.bound,
                                               "status": sol.status},
                                **_cut_details(sol.details, cut, CAPPED_NOTE)})
    after_new = cm.land_use_after(x_new)
    info.status = "enforced"
    for ur in groups:
        info.uses[ur.use] = _use_summary(patch_table(ctx, after_new, ur), ur,
                                         changed=bool(np.any(after_new != after)))
    objective = spec.objective_value(x_new)
    bound = max(sol.bound, objective)
    if lagr is not None:
        info.bound = lagr.to_json()
        if lagr.bound < objective - 1e-6 * max(1.0, abs(objective)):  # never trust a bug
            say(f"location bound {lagr.bound:,.4f} below the incumbent: ignored")
        else:
            bound = max(min(bound, lagr.bound), objective)
    info.seconds = time.perf_counter() - t0
    sq = spec.status_quo_value
    dgap = decision_gap(objective, bound, sq)
    proven = dgap <= options.mip_rel_gap + 1e-12
    status = "optimal" if sol.status == "optimal" and proven else \
        "time_limit" if (cut or sol.status == "time_limit") and not proven else "feasible"
    details = {**sol.details, "locations": info.to_json(),
               "relaxation": {"objective": sol.objective, "bound": sol.bound,
                              "status": sol.status}}
    details.update(_cut_details(sol.details, cut, CAPPED_NOTE))
    seconds = {**sol.seconds, "locations": info.seconds}
    say(f"location rules enforced: objective {objective:,.4f} (relaxation bound "
        f"{bound:,.4f}, decision gap {dgap:.4%})")
    return replace(sol, status=status, x=x_new, objective=objective, bound=bound,
                   gap=proven_gap(objective, bound), decision_gap=dgap,
                   method=f"{sol.method}+locations", details=details, seconds=seconds)


def _cut_details(details: dict[str, Any], cut: list[str], note: str) -> dict[str, Any]:
    """The solve's ``time_limit_cut`` and its note with the location steps ``cut`` (stopped
    by the share's cap before their counts) added; nothing when none was."""
    if not cut:
        return {}
    steps = list(details.get("time_limit_cut", []))
    steps += [s for s in cut if s not in steps]
    return {"time_limit_cut": steps, "time_limit_note": note.format(steps=", ".join(steps))}


def _wait_for_cancelled_solve(say: Any) -> float:
    """Seconds spent waiting for a solve that an earlier step cancelled at its deadline and
    that has not stopped yet (HiGHS's MIP setup reaches its interrupt checks rarely). HiGHS
    runs one solve at a time, so the restricted MIP would wait for it anyway, but inside its
    own time limit: it then started after its deadline and found nothing."""
    from ruimteverdeling.model import highs_backend as hb

    if not hb.solver_running():
        return 0.0
    t0 = time.perf_counter()
    say("location rules: waiting for a cancelled solve to stop")
    while hb.solver_running():
        time.sleep(0.05)
    return time.perf_counter() - t0


def _location_bound(cm: Any, sol: Any, groups: list[UseRules], cols_of: dict[str, _Cols],
                    after: np.ndarray, options: SolverOptions, say: Any, seconds: float,
                    basis: Any = None) -> Any:
    """The Lagrangian bound with patch cuts (:mod:`ruimteverdeling.rules.location_bound`),
    or None (no duals, or it failed: the relaxation's bound stands)."""
    ctx = cm.ctx
    is_unit = np.zeros(ctx.land_cells.size, bool)
    is_unit[cm.unit_land] = True
    uses = []
    for ur in groups:
        q = cols_of[ur.use].q_col
        pinned_q = np.where(is_unit, 0.0, new_quantity(ctx, ur.use, ur.quantity, after))
        uses.append(lb.LocatedUse(ur.use, ur.contiguity, ur.minimum, ur.committed, q > 0, q,
                                  pinned_q))
    try:
        return lb.strengthened_bound(cm.spec, sol.row_dual, uses, ctx.land_cells,
                                     cm.unit_land, ctx.area.grid.shape, options, seconds,
                                     say, basis)
    except Exception as exc:  # never lose the run over the bound
        say(f"location bound failed ({exc}); the relaxation's bound stands")
        return None


def _col_quantity(ctx: Context, ur: UseRules, col_land: np.ndarray,
                  col_cat: np.ndarray) -> np.ndarray:
    p = ctx.provides(ur.use)
    gain = np.maximum(0.0, p[col_cat] - p[ctx.land_use_idx[col_land]])
    dens = ctx.housing_density()[col_land] if ur.quantity == "homes" else 1.0
    return ctx.cell_ha * dens * gain


def _satisfied(table: list[dict[str, Any]], ur: UseRules) -> bool:
    if not all(r["meets"] for r in table):
        return False
    return all(_count_large(table, s) >= n for n, s in ur.counts)


def _count_large(table: list[dict[str, Any]], s: float) -> int:
    return sum(1 for r in table if r["size"] >= s - 1e-6)


def _use_summary(table: list[dict[str, Any]], ur: UseRules, changed: bool) -> dict[str, Any]:
    sizes = [r["size"] for r in table]
    return {"locations": len(table), "below_minimum": sum(1 for r in table if not r["meets"]),
            "mean_size": float(np.mean(sizes)) if sizes else 0.0,
            "counts": [{"at_least": n, "min_size": s, "found": _count_large(table, s)}
                       for n, s in ur.counts],
            "changed": changed}


EXTEND = 1.5
"""Besides growing a patch to its minimum, a candidate grown to 1.5 times the larger of its
size and its minimum (so the restricted MIP can move homes between locations)."""


def _candidates(ctx: Context, ur: UseRules, table: list[dict[str, Any]], q_land: np.ndarray,
                unit_of_land: np.ndarray, cols: _Cols, price: np.ndarray, after: np.ndarray,
                chosen: np.ndarray, guide: np.ndarray | None = None) -> list[Candidate]:
    """Kept, grown and extended patches (see the module docstring, step 1). Growth goes over
    cells the relaxation left at their current use (cells it changed serve other targets),
    cheapest loss of ``price`` (reduced profit, or objective) per unit of size first.
    ``guide`` (per land cell, the location bound's LP solution ``y``): its patches of
    ``y ≥ ½``, grown to their minimum, are candidates too (patches the bound prices as
    worth building)."""
    shape = ctx.area.grid.shape
    land_of_flat = np.full(ctx.area.grid.size, -1, np.int64)
    land_of_flat[ctx.land_cells] = np.arange(ctx.land_cells.size)
    patch_of = np.full(ctx.land_cells.size, -1, np.int64)
    for k, row in enumerate(table):
        patch_of[row["cells"]] = k
    # what adding a land cell that is not yet new costs and yields
    unit_q = np.zeros(ctx.land_cells.size)
    loss = np.full(ctx.land_cells.size, np.inf)
    units = np.flatnonzero((unit_of_land >= 0) & (after == ctx.land_use_idx))
    u = unit_of_land[units]
    h = cols.with_use[u]
    ok = h >= 0
    unit_q[units[ok]] = cols.q_col[h[ok]]
    loss[units[ok]] = np.maximum(price[chosen[u[ok]]] - price[h[ok]], 0.0)

    def size_of(cells: np.ndarray) -> float:
        return float(np.where(patch_of[cells] >= 0, q_land[cells], unit_q[cells]).sum())

    def grow(start: np.ndarray, target: float) -> np.ndarray | None:
        """``start`` grown until it holds ``target`` and its minimum (or cannot grow); None
        if it cannot reach its minimum."""
        members = set(int(c) for c in start)
        size = size_of(start)
        need = 0.0 if ur.committed[start].any() else float(ur.minimum[start].max())
        heap: list[tuple[float, int]] = []
        seen = set(members)

        def push_neighbours(land_idx: int) -> None:
            for nb in lb.neighbours(int(ctx.land_cells[land_idx]), shape, ur.contiguity):
                li = int(land_of_flat[nb])
                if li < 0 or li in seen:
                    continue
                seen.add(li)
                if patch_of[li] >= 0:
                    heapq.heappush(heap, (-np.inf, li))  # touching patch: joins for free
                elif unit_q[li] > 0 and np.isfinite(loss[li]):
                    heapq.heappush(heap, (loss[li] / unit_q[li], li))

        for c in list(members):
            push_neighbours(c)
        limit = 50_000
        while size < max(need, target) - 1e-6 and heap and len(members) < limit:
            _, li = heapq.heappop(heap)
            add = [li] if patch_of[li] < 0 else [int(c) for c in table[patch_of[li]]["cells"]]
            for c in add:
                if c in members:
                    continue
                members.add(c)
                seen.add(c)
                size += float(q_land[c]) if patch_of[c] >= 0 else float(unit_q[c])
                if ur.committed[c]:  # a committed location is exempt from the minimum
                    need = 0.0
                elif need > 0:
                    need = max(need, float(ur.minimum[c]))
                push_neighbours(c)
        if size < need - 1e-6:
            return None
        return np.array(sorted(members), np.int64)

    out: list[Candidate] = []
    seen_sets: set[tuple[int, ...]] = set()

    def add(cells: np.ndarray | None) -> Candidate | None:
        if cells is None:
            return None
        key = tuple(cells.tolist())
        if key in seen_sets:
            return None
        seen_sets.add(key)
        cand = Candidate(ur.use, cells, size_of(cells))
        out.append(cand)
        return cand

    for row in table:
        base = row["cells"] if row["meets"] else grow(row["cells"], 0.0)
        add(base)
        if base is not None:
            add(grow(base, EXTEND * max(row["size"], row["minimum"])))
    if guide is not None:
        for cells in _guided_patches(ctx, guide, ur.contiguity):
            base = grow(cells, 0.0)
            add(base)
            if base is not None:
                add(grow(base, EXTEND * size_of(base)))
    for n, s in ur.counts:
        # the largest candidates at distinct places (overlapping versions of one patch
        # would fill the list with one location)
        big: list[Candidate] = []
        used: set[int] = set()
        for k in sorted(out, key=lambda k: -k.size):
            cells = set(int(c) for c in k.cells)
            if cells & used:
                continue
            used |= cells
            big.append(k)
            if len(big) >= COUNT_DISTINCT * n + COUNT_SPARE:
                break
        for k in big:
            if k.size < s - 1e-6:
                add(grow(k.cells, s))
    for k in out:
        k.large = any(k.size >= s - 1e-6 for _, s in ur.counts)
    return out


INCUMBENT_ROUNDS = 1
"""Further rounds of the restricted MIP around its own allocation (new candidates grown from
its locations, started from it)."""

ENFORCE_SHARE = 0.5
ENFORCE_SECONDS = 95.0
"""The enforcement's time share when the caller names none: half the solver's time limit,
at most 95 s (enforcing the rules must not double the run; at ~250 m, on the national benchmark,
60 s left a 1.05 % decision gap, 95 s 0.99 %, within two minutes in all)."""
BOUND_SHARE = 0.6
"""The location bound's LP rounds stop at their count of rounds, or at this fraction of the
share, whichever comes first (a cap only: when it does not bind, nothing changes); the rest
of the share is the restricted MIP's, which on a loaded machine would otherwise start after
the share had run out and stop before its first allocation."""
MIN_BOUND_SECONDS = 1.0
MIN_IMPROVE_SECONDS = 3.0
"""With a share below these the location bound (the relaxation's bound stands) or the further
round is left out (a property of the share asked for, not of the clock)."""
MIN_MIP_SECONDS = 2.0
"""The restricted MIP runs at least this long, even when the share is spent: without it there
is no location-feasible allocation to report. The enforcement can overrun its share by this
much plus the candidates' growth (a few seconds at ~100 m)."""


def enforcement_seconds(options: SolverOptions) -> float:
    """The default time share of :func:`enforce`: ``min(ENFORCE_SHARE · T, ENFORCE_SECONDS)``
    with ``T`` the solver's time limit."""
    return float(min(ENFORCE_SHARE * options.time_limit, ENFORCE_SECONDS))


def _count_short(ctx: Context, groups: list[UseRules], after: np.ndarray) -> int:
    """Locations the counts are short of in the allocation ``after``."""
    out = 0
    for ur in groups:
        if ur.counts:
            table = patch_table(ctx, after, ur)
            out += sum(max(0, n - _count_large(table, s)) for n, s in ur.counts)
    return out


def _improve(cm: Any, sol: Any, groups: list[UseRules], x: np.ndarray,
             unit_of_land: np.ndarray, cols_of: dict[str, _Cols], price: np.ndarray,
             lagr: Any, options: SolverOptions, say: Any, seconds: float,
             known: float) -> tuple[np.ndarray, bool]:
    """Restricted master ↔ candidates, ``INCUMBENT_ROUNDS`` more times: candidates grown and
    extended from the incumbent's own locations (and the bound's patches), the restricted
    MIP around the incumbent started from it; a better allocation that is no further from
    the counts replaces it. ``seconds`` is a cap behind the count of rounds and the MIP's
    count of checks; whether it cut a round short is returned with the allocation."""
    from dataclasses import replace

    ctx, spec = cm.ctx, cm.spec
    best, best_obj = x, spec.objective_value(x)
    deadline = time.perf_counter() + seconds
    capped = False
    for _ in range(INCUMBENT_ROUNDS):
        if deadline - time.perf_counter() <= 0.0:  # the cap, not the count of rounds
            capped = True
            break
        after = cm.land_use_after(best)
        short = _count_short(ctx, groups, after)
        cands: list[Candidate] = []
        free_land: set[int] = set()
        chosen = spec.unit_choice(best)
        for ur in groups:
            table = patch_table(ctx, after, ur)
            q_land = new_quantity(ctx, ur.use, ur.quantity, after)
            guide = lagr.y.get(ur.use) if lagr is not None else None
            cands += _candidates(ctx, ur, table, q_land, unit_of_land, cols_of[ur.use],
                                 price, after, chosen, guide)
            for row in table:
                free_land.update(int(c) for c in row["cells"])
        for k in cands:
            free_land.update(int(c) for c in k.cells)
        base = replace(sol, x=best)
        x2, _, cut = _restricted_mip(cm, base, groups, cands, free_land, unit_of_land,
                                     cols_of, options, say,
                                     max(MIN_MIP_SECONDS, deadline - time.perf_counter()),
                                     start=best, gap_share=0.1 * RESTRICTED_GAP_SHARE,
                                     known=known)
        capped = capped or cut
        if x2 is None:
            break
        obj2 = spec.objective_value(x2)
        if obj2 <= best_obj + 1e-9 or \
                _count_short(ctx, groups, cm.land_use_after(x2)) > short:
            break
        say(f"location rules: the restricted MIP around the incumbent improves it to "
            f"{obj2:,.4f}")
        best, best_obj = x2, obj2
    return best, capped


def _guided_patches(ctx: Context, guide: np.ndarray, contiguity: int) -> list[np.ndarray]:
    """The patches (land indices) of cells with ``guide ≥ ½``."""
    grid = np.zeros(ctx.area.grid.size, bool)
    grid[ctx.land_cells[guide >= 0.5]] = True
    lab, n = label_patches(grid.reshape(ctx.area.grid.shape), contiguity)
    if n == 0:
        return []
    land_lab = lab.ravel()[ctx.land_cells]
    order = np.argsort(land_lab, kind="stable")
    bounds = np.searchsorted(land_lab[order], np.arange(1, n + 2))
    return [order[bounds[k]:bounds[k + 1]] for k in range(n)]


def _restricted_mip(cm: Any, sol: Any, groups: list[UseRules], cands: list[Candidate],
                    free_land: set[int], unit_of_land: np.ndarray, cols_of: dict[str, _Cols],
                    options: SolverOptions, say: Any, limit: float,
                    start: np.ndarray | None = None, gap_share: float = RESTRICTED_GAP_SHARE,
                    known: float = np.inf) -> tuple[np.ndarray | None, str, bool]:
    """The restricted MIP over the candidates (see the module docstring, step 2); the
    allocation it gives over the cell model's columns, or None and why. It stops within
    ``limit`` seconds, within ``gap_share`` of the decision-gap tolerance of its own bound,
    or once its incumbent is within the tolerance of ``known`` (a bound proven for the whole
    model: no better incumbent could show a smaller gap), or after ``RESTRICTED_MIP_CHECKS``
    of HiGHS's interrupt checks with an incumbent (a count of its work: the same point of
    the search on an idle and a loaded machine; without an incumbent it runs on, up to
    ``RESTRICTED_MIP_PATIENCE`` budgets). ``limit`` is a cap behind the count; the third
    value says whether it stopped the MIP."""
    from ruimteverdeling.model.solve import backend_for

    t_end = time.perf_counter() + limit  # building the sub-model counts too
    spec = cm.spec
    free = np.array(sorted(free_land), np.int64)
    free_u = unit_of_land[free]
    free_units = np.zeros(spec.n_units, bool)
    free_units[free_u[free_u >= 0]] = True
    keep = _kept_columns(spec, sol, free_units, cols_of)
    sub, cols = spec.restrict(free_units, sol.x, np.concatenate(
        [keep, np.ones(len(spec.aux_names), bool)]))
    n_c = len(cands)
    n_cols0 = sub.n_cols
    # the candidates' y (integral) and the counts' shortfalls (continuous, priced)
    sq = spec.status_quo_value
    scale = max(abs(sol.objective - sq) if sq is not None else abs(sol.objective), 1.0)
    count_defs = [(ur, n, s) for ur in groups for n, s in ur.counts]
    names = [f"location:{k}" for k in range(n_c)] + \
        [f"location_count_short:{ur.use}:{s:g}" for ur, _, s in count_defs]
    sub = sub.with_columns(
        names, np.zeros(len(names)),
        np.concatenate([np.ones(n_c), np.full(len(count_defs), np.inf)]),
        np.concatenate([np.zeros(n_c), np.full(len(count_defs), -COUNT_PENALTY_SHARE * scale)]),
        np.concatenate([np.ones(n_c, bool), np.zeros(len(count_defs), bool)]))
    y0 = n_cols0  # the column of y_0
    land_pos = {int(c): i for i, c in enumerate(free)}
    cand_pos = [np.array([land_pos[int(c)] for c in k.cells], np.int64) for k in cands]
    sub_land = cm.unit_land[spec.col_unit[cols[: sub.n_x]]]
    pos_of_col = np.array([land_pos.get(int(c), -1) for c in sub_land], np.int64)
    # link rows, per free cell and located use: Σ x[c, u adding the use] − Σ_{k∋c} y_k = 0;
    # a pinned cell of new use has no x, so its row reads −Σ y = −1
    r_idx, c_idx, vals, bounds = [], [], [], []
    n_rows = 0
    for ur in groups:
        q = cols_of[ur.use].q_col[cols[: sub.n_x]]
        mine = [k for k, c in enumerate(cands) if c.use == ur.use]
        j = np.flatnonzero((q > 0) & (pos_of_col >= 0))
        touched = np.zeros(free.size, bool)
        touched[pos_of_col[j]] = True
        for k in mine:
            touched[cand_pos[k]] = True
        here = np.flatnonzero(touched)
        row_of = np.full(free.size, -1, np.int64)
        row_of[here] = n_rows + np.arange(here.size)
        bounds.append(np.where(free_u[here] < 0, -1.0, 0.0))
        n_rows += here.size
        r_idx.append(row_of[pos_of_col[j]])
        c_idx.append(j)
        vals.append(np.ones(j.size))
        for k in mine:
            r_idx.append(row_of[cand_pos[k]])
            c_idx.append(np.full(cand_pos[k].size, y0 + k))
            vals.append(-np.ones(cand_pos[k].size))
    b = np.concatenate(bounds) if bounds else np.empty(0)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))),
                      shape=(n_rows, sub.n_cols))
    blocks = [RowBlock("location_link", "rule", A, b, b.copy())]
    # set packing across uses: Σ_{k∋c} y_k ≤ 1
    if cands:
        memb_r = np.concatenate(cand_pos)
        memb_c = np.concatenate([np.full(p.size, y0 + k) for k, p in enumerate(cand_pos)])
        M = sp.csr_matrix((np.ones(memb_r.size), (memb_r, memb_c)),
                          shape=(free.size, sub.n_cols))
        multi = np.flatnonzero(np.diff(M.indptr) >= 2)
        if multi.size:
            blocks.append(RowBlock("location_packing", "rule", M[multi],
                                   np.full(multi.size, -np.inf), np.ones(multi.size)))
    # the counts: Σ_{large} y_k + short ≥ N; touching large candidates kept apart
    for i, (ur, n, size) in enumerate(count_defs):
        large = [k for k, c in enumerate(cands) if c.use == ur.use and c.size >= size - 1e-6]
        Ac = sp.csr_matrix((np.ones(len(large) + 1),
                            (np.zeros(len(large) + 1, np.int64),
                             np.array([y0 + k for k in large] + [y0 + n_c + i], np.int64))),
                           shape=(1, sub.n_cols))
        blocks.append(RowBlock(f"location_count:{i}", "rule", Ac, np.array([float(n)]),
                               np.array([np.inf])))
        touching = _touching_pairs(cm.ctx, [cands[k] for k in large], ur.contiguity)
        if touching:
            r = np.repeat(np.arange(len(touching)), 2)
            c = np.array([y0 + large[t] for pair in touching for t in pair])
            blocks.append(RowBlock(f"location_apart:{i}", "rule",
                                   sp.csr_matrix((np.ones(r.size), (r, c)),
                                                 shape=(len(touching), sub.n_cols)),
                                   np.full(len(touching), -np.inf), np.ones(len(touching))))
    for blk in blocks:
        sub = sub.with_rows(blk)
    offset = sub.obj_offset  # the sub-model's objective + offset = the whole model's
    sub = sub.without_constants()
    say(f"location rules: restricted MIP over {n_c:,} candidate locations and "
        f"{free.size:,} cells ({sub.n_x:,} cell columns)")
    backend = backend_for(options)
    x0 = None
    if start is not None:  # the start's locations are candidates: choose exactly those
        after0 = cm.land_use_after(start)
        y = np.zeros(n_c)
        patch_sets = {ur.use: {tuple(row["cells"].tolist())
                               for row in patch_table(cm.ctx, after0, ur)} for ur in groups}
        for k, c in enumerate(cands):
            y[k] = float(tuple(c.cells.tolist()) in patch_sets[c.use])
        shorts = []
        for ur, n, size in count_defs:
            large = sum(y[k] for k, c in enumerate(cands)
                        if c.use == ur.use and c.size >= size - 1e-6)
            shorts.append(max(0.0, n - large))
        x0 = np.concatenate([start[cols], y, np.asarray(shorts, float)])
    try:
        # within the decision-gap tolerance of the sub-model's own bound: a better incumbent
        # could not be proven against the relaxation's bound anyway
        counted = PatientStop(_within(known, offset, options.mip_rel_gap, sq), has_incumbent,
                              RESTRICTED_MIP_CHECKS, RESTRICTED_MIP_PATIENCE)
        r = backend.mip(sub, options, max(MIN_MIP_SECONDS, t_end - time.perf_counter()),
                        0.0, x0,
                        abs_gap=gap_share * options.mip_rel_gap * scale,
                        stop=counted)
    except Exception as exc:  # never lose the relaxation's run over the locations
        return None, f"the restricted MIP failed ({exc})", False
    capped = r.status == "time_limit"  # the count would have stopped it otherwise
    say(f"location rules: restricted MIP {r.status} after {counted.checks} interrupt checks")
    if r.x is None:
        return None, (f"no allocation of the candidate locations meets the targets and rules "
                      f"(restricted MIP: {r.status}); the relaxation's allocation is kept"), \
            capped
    x = sol.x.copy()
    x[cols] = r.x[:n_cols0]
    x[: spec.n_x] = np.rint(np.clip(x[: spec.n_x], 0, 1))
    tol = 1e-6 * max(1.0, abs(sol.bound))
    same_objective = abs(spec.objective_value(sol.x) - sol.objective) <= tol
    if same_objective and spec.objective_value(x) > sol.bound + tol:
        # above the cell model's own bound: not an incumbent (HiGHS stopped at its cap
        # before it had one and handed back a relaxation's values). Only where ``sol``
        # was solved under the model's own objective: an alternative's or a Pareto point's
        # bound is on another objective and says nothing about this one.
        return None, (f"the restricted MIP stopped ({r.status}) before it found an "
                      f"allocation; the relaxation's allocation is kept"), capped
    short = float(r.x[y0 + n_c:].sum()) if count_defs else 0.0
    if short > 0.5:
        say(f"location counts short by {short:.0f} (the allocation is reported with it)")
    bad = spec.violations(x)
    if bad:
        return None, "the restricted MIP's allocation breaks " + ", ".join(sorted(bad)), \
            capped
    return x, "", capped


RESTRICTED_MIP_CHECKS = 400
RESTRICTED_MIP_PATIENCE = 4
"""The restricted MIP's budget in HiGHS's interrupt checks: past it, it stops at its best
incumbent; with none yet it runs on, up to ``RESTRICTED_MIP_PATIENCE`` budgets (it has to
find a location-feasible allocation to report anything)."""


def _within(known: float, offset: float, rel_gap: float, status_quo: float | None
            ) -> Any:
    """A stop test on the restricted MIP's (incumbent, dual bound): its incumbent (plus
    ``offset``, the fixed cells' objective) is within ``rel_gap`` of the decision value from
    ``known``, a bound of the whole model. The count shortfall's penalty only lowers the
    incumbent, so a stop never hides a missed count."""

    def stop(primal: float, dual: float) -> bool:
        if not (np.isfinite(primal) and np.isfinite(known)):
            return False
        z = primal + offset
        return known - z <= abs_gap_target(rel_gap, z, max(known, z), status_quo)

    return stop


KEEP_OTHER_COLUMNS = 4
"""Per free cell, the restricted MIP keeps the relaxation's column, its best column for every
located use and this many of its best other columns (by objective coefficient)."""


def _kept_columns(spec: ModelSpec, sol: Any, free_units: np.ndarray,
                  cols_of: dict[str, _Cols]) -> np.ndarray:
    """Bool over the x columns: what the restricted MIP keeps of the free units (the rest of
    theirs is fixed at 0; see KEEP_OTHER_COLUMNS)."""
    keep = np.zeros(spec.n_x, bool)
    keep[spec.unit_choice(sol.x)] = True
    located = np.zeros(spec.n_x, bool)
    for c in cols_of.values():
        w = c.with_use[free_units]
        keep[w[w >= 0]] = True
        located |= c.q_col > 0
    in_free = free_units[spec.col_unit]
    other = np.flatnonzero(in_free & ~located)
    if other.size:
        other = other[np.lexsort((-spec.obj[other], spec.col_unit[other]))]
        u = spec.col_unit[other]
        starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
        rank = np.arange(other.size) - np.repeat(starts, np.diff(np.r_[starts, other.size]))
        keep[other[rank < KEEP_OTHER_COLUMNS]] = True
    return keep


def _touching_pairs(ctx: Context, cands: list[Candidate], contiguity: int
                    ) -> list[tuple[int, int]]:
    """Pairs of disjoint candidates with a cell of one next to a cell of the other."""
    shape = ctx.area.grid.shape
    sets = [set(int(f) for f in ctx.land_cells[c.cells]) for c in cands]
    owner: dict[int, list[int]] = {}
    for i, cells in enumerate(sets):
        for flat in cells:
            owner.setdefault(flat, []).append(i)
    pairs: set[tuple[int, int]] = set()
    checked: set[tuple[int, int]] = set()
    for i, cells in enumerate(sets):
        for flat in cells:
            for nb in lb.neighbours(flat, shape, contiguity):
                if nb in cells:
                    continue
                for j in owner.get(nb, []):
                    key = (min(i, j), max(i, j))
                    if j == i or key in checked:
                        continue
                    checked.add(key)
                    if sets[key[0]].isdisjoint(sets[key[1]]):
                        pairs.add(key)
    return sorted(pairs)
