"""The cost of each rule: re-solve with the rule switched, report what it costs the others.

For a rule (or target) ``r`` let ``z_on`` be the optimum with ``r`` enabled and ``z_off`` the
optimum without it, every other item as in the scenario. The **cost** of the rule is

    cost(r) = z_off − z_on

(≥ 0 for a rule that only restricts: a constraint can never raise the optimum). One of the
two solves is the scenario itself; the other switches ``r`` (a T or G
item is switched off, an A item — off by default — is switched on). Because objective terms
carry the value of cells that are not variables, the two objectives are comparable even
though the rule changes which cells are pinned.

A cost or ladder rule *is* an objective term, so switching it off also removes its own value
from ``z``; ``cost_to_others`` therefore sums only the terms present in both solves:
``Σ_t∈both s_t w_t (v_t(x_off) − v_t(x_on))`` — what the rule costs the other claims.

**A cost is a difference of two optima, each known only within its solve's gap.** Both
solves maximise; each returns an allocation (the incumbent) with objective ``z⁻`` and a proven
upper bound ``z⁺`` (an LP optimum or a MIP dual bound), so its true optimum lies in
``[z⁻, z⁺]``. The true cost therefore lies in the bracket

    [cost_lo, cost_hi] = [z⁻_off − z⁺_on,  z⁺_off − z⁻_on]

(``off`` = without the rule, ``on`` = with it), which contains ``cost = z⁻_off − z⁻_on``, the
difference of the allocations found. ``cost`` alone can be negative for a restricting rule
when the two solves stop at different distances from their optima; it is never shown without
its bracket. ``lp_cost`` is the exact difference of the two LP relaxations' optima
``z_LP,off − z_LP,on`` (what the rule costs the relaxation; equal to the integer cost when both
relaxations are integral). A rule that only restricts — it closes pairs, adds hard rows or
adds nothing to the cell model (a location rule), with no objective term and no override
(:func:`only_restricts`) — is switched off into a relaxation of the scenario (and an A rule
of that kind, judged on the variant's model, is switched on into a restriction of it): every
allocation with the rule is one without it, worth the same, so ``z*_off ≥ z*_on`` and
its bracket is ``[max(0, z⁻_off − z⁺_on), z⁺_off − z⁻_on]`` (when ``cost ≥ 0``, so that the
bracket still holds it; ``z⁺_off`` bounds ``z*_on`` too, but ``z⁻_off − z⁺_off ≤ 0``, so it
cannot raise the lower end above 0). A bracket that contains 0 is marked
``within_gap = yes``: the sign of the cost is not proven (for a rule that only restricts:
that it is positive). With ``pair_tol`` (points) such a pair is re-solved, warm-started,
with the gap of each solve narrowed to ``pair_tol / 2`` in absolute terms, so that the bracket
is at most ``pair_tol`` wide (unless the time limit stops a solve first; the bracket then says
how far it got).

**Hectares moved**: the cells whose use differs between the two allocations, and per use the
hectares ``with − without`` (negative: the rule takes land from that use), nationally and per
region. A rule that does not bind at the optimum costs 0 and moves nothing.

**Re-solves reuse the scenario's solve.** Each variant recompiles the scenario on the already
loaded study area (zone rules change which columns exist, cost rules the objective) and is
re-solved *quickly* from the scenario's solve (:func:`ruimteverdeling.model.warm.resolve`):
one LP relaxation, dual simplex from the scenario's LP basis mapped by (cell, use) — its
optimum is the variant's bound and makes ``lp_cost`` exact — and as allocation the best of
the scenario's allocation (where it satisfies the variant: always when a rule is switched
off), the rounded LP vertex, and a small MIP over the units the variant's LP moves or leaves
fractional, every other unit kept at the scenario's allocation. A model whose LP needs column
generation (more columns than ``decompose_above``: national ones) is not re-solved at all for
a rule switched off: its allocation is the scenario's and its bound the Lagrangian bound at
the scenario's duals (see *A variant that stops before its own answer* below), a proven but
wider bracket in the time of one compile. So every cost has its proven bracket after about
one LP per variant; the full solve strategy
(:func:`ruimteverdeling.model.solve.solve`) runs only for a variant whose quick re-solve finds
no allocation, and when a pair is narrowed (``pair_tol``). ``quick=False`` gives every
variant the full solve.

**The scenario's stronger rows tighten every variant's bound.** The scenario's derived rows
(:mod:`ruimteverdeling.model.strengthen`: each follows from one of its rows) are derived once;
a variant over the same columns keeps those derived from a row block it holds unchanged (a
rule switched off loses the rows derived from its own). The quick re-solve adds them to the
variant's LP and lowers its bound by the whole-cell knapsack bound of a minimax level at that
LP's duals; a variant that needs no LP of its own takes the Lagrangian and knapsack bound at
the duals of the scenario's LP with its derived rows (any multipliers give a bound). ``lp_cost``
stays the difference of the plain LP relaxations.

**A rule switched off that only adds rows or objective terms is not compiled again.** When
the scenario's compiled rule closes no pairs, adds no objective term and its row blocks carry
no auxiliary columns (a location rule, which adds nothing to the cell model; a conflict or
fairness rule without a shortfall penalty), the variant's model is the scenario's with that
rule's row blocks ``rule:<id>`` removed — every column, bound and objective coefficient the
same — derived in the time of a list filter (:func:`derived_model`). A cost or ladder rule
adds only objective terms: the variant is the scenario's model with the rule's part
``s_t w_t f_p(c, u)`` of each term ``t`` subtracted from the objective (a term left without
parts dropped), the same columns and rows, in the time of one evaluation of ``f_p``. Any
other switch (a zone rule, a soft or minimax row, an override) is compiled as the scenario
is. On the demo area 12 of the 23 switchable rules are derived.

**A zone rule switched off is priced over the pairs it reopens.** A zone rule that only
closes pairs is not compiled again either: its variant allows at most the pairs it closes
more, so the scenario's model with those pairs added is a relaxation of the variant, and its
Lagrangian bound at the scenario's LP duals — the scenario's plus, per reopened cell, how
much its best reopened pair's reduced profit exceeds its best old one — bounds the variant
(:func:`reopened_bound`). The scenario's final allocation is an allocation of the variant
with the same value. On a model whose LP needs column generation that is the variant's
quick outcome; on a smaller one it is taken when the bound is the scenario's LP optimum
(the variant's own quick re-solve would give the same, see below), else the variant is
compiled and re-solved.

**A switch the scenario's duals price at zero needs no LP.** For a rule switched off that
keeps the scenario's columns and objective, the Lagrangian bound at the scenario's LP duals
is compared with the scenario's LP optimum first (one pass over the columns): when they are
equal (to ``UNPRICED_TOL``), the variant's LP optimum is the scenario's, its LP would not
move, and its quick re-solve is the scenario's allocation with that bound — returned without
handing a model to HiGHS (:func:`unpriced`). A cost switched off (an objective that no
column loses by) is compared with the scenario's LP optimum plus what the pinned cells gain,
the same way. On the demo area 12 of the 23 switchable rules are such rules, and so are two
of its cost rules (their LP and derived-row LP took 5–7 s each, loaded, for the same bracket).

**Both cores.** With ``workers > 1`` the re-solves run in that many worker processes forked
from this one (:func:`ruimteverdeling.parallel.fork_map_staged`): each inherits the compiled
model, the scenario's solution and its warm start without pickling them, and sends back only the
variant's :class:`Outcome`. Every variant is the same function of the scenario's solve
whichever worker runs it and whenever (each gets the same seconds, not a share of what is
left, and the quick re-solve's repair has a budget counted in the solver's checks, not in
seconds), so the table is the serial one, in the same order. The workers take the variants
longest expected first (:func:`longest_first`), so that no long one starts when the others are
done; on a model whose LP is solved directly, the zone rules that the pairs they reopen answer
(:func:`reopened_outcome`, a pass over those pairs) are answered before the workers start, so
that the others are known to need an LP of their own. The workers fork before this process
solves the scenario's LP with its derived rows and start on the variants that need none of its
duals (a rule switched on, a variant compiled anew); the others get those duals with their
task. A scenario with several periods,
and a platform without ``fork``, re-solve one variant at a time.

**Location rules hold in every solve of a pair.** When the scenario has location rules
(minimum sizes and counts of connected locations, :mod:`ruimteverdeling.rules.location`),
each variant's cell-model solution is made to meet them the same way as the scenario's own
solve; its bound stays the cell model's (a relaxation of the location rules), so the bracket
stays proven. When the variant's cell-model solution is no better than the scenario's (the
rule does not bind), the scenario's own location-rule allocation is the variant's allocation
if it meets the variant's rows (checked): enforcing the rules again would start from an
equally good map, and it is the slow step once the model has a fairness rule. A variant
whose location rules cannot be met has no cost.

**Work per variant, not seconds.** A quick re-solve stops by counts of the solver's work,
which fall at the same points of the search on an idle and on a loaded machine: its LPs run
to their optimum, its repair MIP stops at its budget of HiGHS's interrupt checks
(:data:`ruimteverdeling.model.warm.REPAIR_CHECKS`), the location rules' steps at theirs
(:mod:`ruimteverdeling.rules.location`). So the table is the same on any machine. Seconds are
only a safety net behind those counts: without ``variant_time_limit`` each re-solve may take
the scenario's time limit ``T`` (the user's ``--time-limit``), the repair at most
:data:`VARIANT_REPAIR_SECONDS`, the location steps their share of ``T``. A variant that a
net cut short has status ``time_limit`` (its bracket is still proven, only wider); a
``variant_time_limit`` well below the variant's work trades that sameness for time.
With ``budget`` (seconds for all the re-solves together) each re-solve gets its share of
what is left, at most that time (:mod:`ruimteverdeling.analysis.budget`).

**A variant that stops before its own answer.** A re-solve whose time runs out before it has
an allocation and a bound (its LP relaxation unfinished, or no allocation found) of a rule
*switched off* still has both: the scenario's final allocation is an allocation of the
variant (the variant only drops rows or allows more uses; cells the scenario pinned keep
their use), valued with the variant's objective, and the Lagrangian bound at the scenario's
LP duals ``π`` (each coupling row of the variant takes the dual of the scenario's row of the
same block, any other row 0):

    L(π) = Σ_units max_u (c − Aᵀπ)_u + Σ_aux max (c − Aᵀπ)_s s + Σ_r π_r·side_r + c₀ ≥ z*_off

(every multiplier on the side its sign prices, so ``π_r·(Ax)_r ≤ π_r·side_r`` for every
feasible ``x``). Its bracket is proven, only wider than a finished solve gives; its row is
``feasible`` and its note says so. A rule switched *on* has no such fallback (the scenario's
allocation may break it) and reports the failure.

**Gap per variant.** A variant is asked for no tighter a decision gap than the scenario's own
solve reached (when that is wider than ``mip_rel_gap``): a pair can be no better known than
its wider side, and the scenario's side is fixed. Its status is ``optimal`` only within the
scenario's ``mip_rel_gap``; the bracket says what is proven either way.

**Narrowing a pair** (``pair_tol``) stops as soon as the bracket no longer contains 0 or is at
most ``pair_tol`` wide: the gaps are narrowed in stages (to a quarter of the current gap, then
a sixteenth, then ``pair_tol / 2``), the scenario's side once for all pairs, and after each
stage a pair whose sign is proven is left alone. Two solves of the same model are combined:
the better allocation and the lower bound are both valid, so a stage never widens a bracket.

**Several periods** (a scenario with ``periods``, :mod:`ruimteverdeling.rules.pathways`): a
rule is switched in every period (a rule applies in every period) and each variant is the
whole pathway model solved with foresight; the objective, bound and LP difference are the
joint ones (summed over the periods, weighted by their length). Hectares moved and the
``ha:<use>`` columns are those of the last period; the note gives the hectares moved in every
period. The pathway solve has no warm start, and the re-solves run one after another.
"""

from __future__ import annotations

import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.analysis.budget import BUDGET_FLOOR_SECONDS, Budget, floor_for
from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InfeasibleError, InputError, SolverError, did_you_mean
from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import Solution, decision_gap, proven_gap
from ruimteverdeling.model.solve import STRENGTHEN_MAX_ROW_NNZ
from ruimteverdeling.model.solve import solve as solve_spec
from ruimteverdeling.model.warm import (
    USE_SPAN,
    WarmStart,
    column_keys,
    mapped_basis,
    mapped_x,
    matching_blocks,
    repaired,
    resolve,
    valid_cut_rows,
    warm_start,
)
from ruimteverdeling.parallel import DeferredError, can_fork, fork_map_staged
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.results.summary import with_ha_columns, write_csv
from ruimteverdeling.rules import location, location_bound
from ruimteverdeling.rules import pathways as pwm
from ruimteverdeling.rules.compile import CompiledModel, catalogue_for, compile_model
from ruimteverdeling.rules.status_quo import status_quo_value
from ruimteverdeling.scenario import Scenario

VARIANT_MIN_SECONDS = 10.0
VARIANT_FACTOR = 2.0
"""The time of a re-solve that has no count of work to stop at (a Pareto point's full solve,
:func:`default_variant_time_limit`): ``min(T, max(VARIANT_MIN_SECONDS, VARIANT_FACTOR ·
t_base))``. Rule costs do not use it: their variants stop at counts of work, with ``T`` as
the safety net."""
VARIANT_REPAIR_SECONDS = 240.0
"""The cap on a quick re-solve's repair MIP (seconds; it also stops at half the variant's time
left). The repair stops by its budget of solver checks
(:data:`ruimteverdeling.model.warm.REPAIR_CHECKS`, 2–5 s idle on the demo area, 10 s for
``fair_burdens`` switched off), so that a variant's answer does not depend on the machine's
load or on which worker ran it; the general cap (10 s) was reached on a machine loaded to 10
and made the table depend on it, and so was a cap of 60 s at a load of 8–9 on two cores
(that repair took 61 s there and ended elsewhere)."""
LARGE_NOTE = ("quick: the scenario's allocation and a Lagrangian bound from its duals "
              "(a model this large is solved in full only when a pair is narrowed)")
"""The note of a quick rule cost on a model above ``decompose_above`` columns."""
TIGHTEN_STAGES = (0.25, 0.0625, 0.0)
"""Narrowing a pair: each solve's absolute gap to this share of its current gap (0: to
``pair_tol / 2``), never below ``pair_tol / 2``."""

BASE_COLUMNS = ["rule", "kind", "type", "status", "in_scenario", "switched", "region",
                "objective_on", "objective_off", "cost", "cost_lo", "cost_hi", "lp_cost",
                "cost_to_others", "within_gap", "ha_moved", "solve_status", "bound_on",
                "bound_off", "gap_on", "gap_off", "note"]
"""Leading columns of ``rule_costs.csv``; ``ha:<use>`` columns (hectares with − without the
rule, per use) follow. One ``national`` row per rule, then one per region where land moves
(objective columns only on the national row)."""


@dataclass
class Outcome:
    """A solve reduced to what the comparison needs (picklable: it comes back from a worker
    process)."""

    status: str
    objective: float | None = None
    gap: float | None = None
    after: np.ndarray | None = None  # catalogue index per land cell
    contributions: dict[str, float] = field(default_factory=dict)
    message: str = ""
    bound: float | None = None  # proven upper bound on the optimum
    lp_bound: float | None = None  # optimum of the LP relaxation (before derived rows)
    decision_value: float | None = None  # objective − status quo
    warm: Any = None  # the solve's warm start (for a re-solve of the same variant)
    periods: list[np.ndarray] | None = None  # several periods: land use per period
    years: list[int] | None = None
    method: str = ""  # how the solve ended (see :mod:`ruimteverdeling.model.solve`)
    seconds: dict[str, float] = field(default_factory=dict)  # per step, compile included
    restricts: bool = False  # a rule switched on that only restricts (see only_restricts)


def bracket(on: Outcome, off: Outcome) -> tuple[float, float]:
    """``[z⁻_off − z⁺_on, z⁺_off − z⁻_on]``: every value the true cost ``z*_off − z*_on`` can
    take, given each solve's incumbent ``z⁻`` and proven bound ``z⁺`` (maximisation, so
    ``z⁻ ≤ z* ≤ z⁺``)."""
    assert on.objective is not None and off.objective is not None
    on_ub = on.bound if on.bound is not None else np.inf
    off_ub = off.bound if off.bound is not None else np.inf
    return off.objective - max(on_ub, on.objective), max(off_ub, off.objective) - on.objective


def switch(scenario: Scenario, item_id: str) -> Scenario:
    """The scenario with rule or target ``item_id`` switched (on → off, off → on).

    A rule switched off takes its own objective term with it: the term's weight in
    ``objective.weights`` (and from the lexicographic stage-1 ``objective.first``) is dropped
    when no other enabled rule feeds that term (a weight of a term that no longer exists is an
    input error)."""
    rules = [r.model_copy(update={"enabled": not r.is_enabled}) if r.id == item_id else r
             for r in scenario.rules]
    targets = [t.model_copy(update={"enabled": not t.is_enabled}) if t.id == item_id else t
               for t in scenario.targets]
    update: dict[str, Any] = {"rules": rules, "targets": targets}
    off = next((r for r in rules if r.id == item_id and not r.is_enabled), None)
    term = getattr(off, "term", None) if off is not None else None
    if isinstance(term, str) and term in scenario.objective.weights and not any(
            r.is_enabled and getattr(r, "term", None) == term for r in rules):
        weights = {k: v for k, v in scenario.objective.weights.items() if k != term}
        first = [t for t in scenario.objective.first if t != term]  # lexicographic stage 1
        update["objective"] = scenario.objective.model_copy(update={"weights": weights,
                                                                    "first": first})
    new = scenario.model_copy(update=update)
    new.path, new.chain = scenario.path, scenario.chain
    return new


def _with_time_limit(scenario: Scenario, seconds: float, gap: float | None = None
                     ) -> Scenario:
    """``scenario`` with the solver's time limit ``seconds`` (and ``mip_rel_gap`` at least
    ``gap``, when given)."""
    update: dict[str, Any] = {"time_limit": float(seconds)}
    if gap is not None and gap > scenario.solver.mip_rel_gap:
        update["mip_rel_gap"] = float(gap)
    new = scenario.model_copy(update={"solver": scenario.solver.model_copy(update=update)})
    new.path, new.chain = scenario.path, scenario.chain
    return new


def _claimed(out: Outcome, tolerance: float) -> Outcome:
    """``out`` called optimal only when its decision gap is within the scenario's own
    ``tolerance`` (a variant may have been asked for less)."""
    if out.status != "optimal" or out.objective is None or out.bound is None:
        return out
    dv = abs(out.decision_value) if out.decision_value is not None else \
        max(abs(out.objective), 1e-9)
    if (out.bound - out.objective) / max(dv, 1e-9) <= tolerance + 1e-12:
        return out
    return replace(out, status="feasible")


def outcome_of(cm: CompiledModel, sol: Any) -> Outcome:
    values = cm.term_values(sol.x)
    contrib = {t.name: t.sign * t.weight * values[t.name] for t in cm.spec.terms}
    lp = sol.details.get("lp_bound")
    return Outcome(sol.status, float(sol.objective), float(sol.gap), cm.land_use_after(sol.x),
                   contrib, bound=float(sol.bound),
                   lp_bound=None if lp is None else float(lp),
                   decision_value=sol.decision_value, warm=getattr(sol, "warm", None),
                   method=str(getattr(sol, "method", "")),
                   seconds={k: float(v) for k, v in (getattr(sol, "seconds", None)
                                                     or {}).items()})


def breakdown(out: Outcome) -> str:
    """One line on where a re-solve's time went: status, method, seconds per step."""
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in out.seconds.items() if v >= 0.05)
    return f"{out.status}" + (f" ({out.method})" if out.method else "") + \
        (f": {steps}" if steps else "")


def stage_summary(outcomes: list[Outcome], workers: int) -> str:
    """One line on where the re-solves' time went: the seconds of each step summed over the
    variants (``resolve`` holds a quick re-solve's LP, derived rows, knapsack bound and repair;
    ``locations`` the location rules' step) and how many workers ran them (each variant's own
    line is logged as it finishes)."""
    totals: dict[str, float] = {}
    for out in outcomes:
        for k, v in out.seconds.items():
            totals[k] = totals.get(k, 0.0) + v
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in totals.items() if v >= 0.05) or "none"
    return (f"re-solve steps summed over {len(outcomes)} variants "
            f"({workers} worker{'s' if workers != 1 else ''}): {steps}")


def pathway_outcome(pw: pwm.Pathway, sol: Any) -> Outcome:
    """A pathway solve reduced to the comparison: the joint objective and bound; each term's
    contribution summed over the periods (``Σ_p w_p s_t w_t v_t,p``); the land use of every
    period (``after``: the last one's)."""
    contrib: dict[str, float] = {}
    uses = []
    for p, cm in enumerate(pw.compiled):
        x = pw.model.project(sol.x, p)
        values = cm.term_values(x)
        w = float(pw.model.weights[p])
        for t in cm.spec.terms:
            contrib[t.name] = contrib.get(t.name, 0.0) + w * t.sign * t.weight * values[t.name]
        uses.append(cm.land_use_after(x))
    lp = sol.details.get("lp_bound")
    return Outcome(sol.status, float(sol.objective), float(sol.gap), uses[-1], contrib,
                   bound=float(sol.bound), lp_bound=None if lp is None else float(lp),
                   decision_value=sol.decision_value, periods=uses, years=list(pw.years))


def _enforced(cm: CompiledModel, sol: Any, options: SolverOptions, basis: Any = None
              ) -> Any:
    """``sol`` with the scenario's location rules met (None when they cannot be).
    ``basis``: where the location bound's LP rounds start (see :func:`start_basis`)."""
    if not location.location_rules(cm):
        return sol
    out = location.enforce(cm, sol, options, basis=basis)
    if (out.details.get("locations") or {}).get("status") == "not met":
        return None
    return out


def start_basis(cm: CompiledModel, sol: Any, warm: Any) -> Any:
    """A simplex basis of the variant's LP for the location bound's LP rounds to start from,
    instead of the crash basis: the variant's own optimal LP basis when its solve kept one,
    else the scenario's LP basis mapped onto the variant's columns and rows by (cell, use)
    and block (:func:`ruimteverdeling.model.warm.mapped_basis`; rows the scenario lacks
    start basic), when it is a basis of the variant and the objective is the scenario's.
    Only where the LP starts changes: its optimum, and so every bound, is the same from any
    start. None when neither applies."""
    spec = cm.spec
    own = getattr(getattr(sol, "warm", None), "basis", None)
    if own is not None and own.col.size == spec.n_cols and own.row.size == spec.n_rows:
        return own
    if not isinstance(warm, WarmStart):
        return None
    mapped = mapped_basis(warm, spec, hb.LOWER, hb.UPPER, hb.ZERO, hb.BASIC)
    return None if mapped is None else hb.Basis(*mapped)


def _reuse_located(cm: CompiledModel, sol: Any, warm: Any, located: Any,
                   options: SolverOptions) -> Any:
    """The scenario's location-rule allocation ``located`` as the variant's allocation, when
    the variant's cell-model solution ``sol`` is no better than the scenario's cell-model
    allocation (``warm``) in the variant (the same map, or a tie: the rule does not bind) —
    enforcing the location rules again would start from an equally good map — and
    ``located`` meets every row of the variant and its location rules (both checked: the
    rules are the scenario's, since the caller passes ``located`` only when the switched item
    is not a location rule, but the map is the variant's, where a cell the variant pins to
    another use can split a location). The bound stays the variant's cell-model bound.
    None when it does not apply."""
    if located is None or warm is None or not location.location_rules(cm):
        return None
    spec = cm.spec
    same = mapped_x(warm, spec)
    if same is None:
        return None
    z_sol = float(sol.objective)
    if not np.array_equal(spec.unit_choice(same), spec.unit_choice(sol.x)) and \
            spec.objective_value(same) < z_sol - 1e-9 * max(1.0, abs(z_sol)):
        return None  # the variant's cell model found something better: enforce that
    x = mapped_x(located, spec)
    if x is None or spec.violations(x) or not location.rules_met(cm, x):
        return None
    z = spec.objective_value(x)
    bound = max(float(sol.bound), z)
    dgap = decision_gap(z, bound, spec.status_quo_value)
    status = "optimal" if sol.status == "optimal" and dgap <= options.mip_rel_gap + 1e-12 \
        else "time_limit" if sol.status == "time_limit" else "feasible"
    return replace(sol, status=status, x=x, objective=z, bound=bound,
                   gap=proven_gap(z, bound), decision_gap=dgap,
                   method=f"{sol.method}+scenario-locations",
                   details={**sol.details, "locations": {"status": "reused"}})


def default_variant_time_limit(scenario_limit: float, base_seconds: float) -> float:
    """``min(T, max(VARIANT_MIN_SECONDS, VARIANT_FACTOR · t_base))`` (see
    :data:`VARIANT_FACTOR`)."""
    return float(min(scenario_limit, max(VARIANT_MIN_SECONDS, VARIANT_FACTOR * base_seconds)))


def combined(a: Outcome, b: Outcome) -> Outcome:
    """Two solves of the same model as one: the better allocation, and the lower of the two
    proven bounds (both hold)."""
    if b.objective is None:
        return a
    if a.objective is None:
        return b
    best = b if b.objective >= a.objective else a
    bounds = [o.bound for o in (a, b) if o.bound is not None]
    bound = min(bounds) if bounds else None
    if bound is not None:
        bound = max(bound, best.objective)
    lps = [o.lp_bound for o in (a, b) if o.lp_bound is not None]
    gap = best.gap if bound is None else (bound - best.objective) / max(abs(best.objective),
                                                                        1e-9)
    return Outcome(best.status, best.objective, gap, best.after, best.contributions,
                   best.message, bound, min(lps) if lps else None, best.decision_value,
                   best.warm or a.warm or b.warm, best.periods, best.years,
                   restricts=a.restricts or b.restricts)


def narrowed(options: SolverOptions, out: Outcome, abs_gap: float) -> SolverOptions:
    """``options`` with ``mip_rel_gap`` such that the solve stops only when its absolute gap is
    at most ``abs_gap`` (the gap is relative to the decision value, see
    :mod:`ruimteverdeling.model.outcomes`)."""
    dv = abs(out.decision_value) if out.decision_value is not None else \
        max(abs(out.objective or 0.0), 1.0)
    rel = abs_gap / max(dv, 1e-9)
    return options.model_copy(update={"mip_rel_gap": min(options.mip_rel_gap, max(rel, 0.0))})


@dataclass
class Fallback:
    """What a variant with a rule switched off falls back on when its own solve stops before
    it has an allocation and a bound: the scenario's final allocation (``allocation``, a
    WarmStart; it meets every row and location rule the variant keeps) and the row duals of
    the scenario's LP relaxation (``row_dual``, over the rows of the model that ``allocation``
    was keyed on: assignment rows first, then the coupling blocks ``allocation.rows``)."""

    allocation: Any
    row_dual: np.ndarray
    reference: Reference | None = None
    derived_dual: np.ndarray | None = None
    """Row duals of the scenario's LP with every derived row of ``warm.cuts`` added (its
    rows, then the derived rows), for :func:`derived_bound`."""
    derived_same: float | None = None
    """:func:`derived_bound` of a variant whose every dropped row has a zero derived dual
    (the same relaxation as the scenario's own, computed once)."""
    derived_pending: bool = False
    """``derived_dual`` is being solved in the parent process (a worker forked before it has
    none yet): :func:`derived_bound` defers the variant
    (:class:`ruimteverdeling.parallel.DeferredError`) instead of answering without it."""


@dataclass
class Reference:
    """The scenario's LP relaxation, for a variant that it already answers (see
    :func:`unpriced`): its optimum ``lp_bound``, its allocation's objective ``objective``, and
    its objective coefficients keyed by (cell, use) (``keys``, ``obj``) and by auxiliary
    column name (``aux``)."""

    lp_bound: float
    objective: float
    keys: np.ndarray
    obj: np.ndarray
    aux: dict[str, float]
    offset: float = 0.0
    """The objective's constant (the pinned cells' value)."""


def reference_of(cm: CompiledModel, objective: float, lp_bound: float) -> Reference:
    """The :class:`Reference` of the scenario's model ``cm``."""
    spec = cm.spec
    return Reference(float(lp_bound), float(objective), column_keys(spec),
                     np.asarray(spec.obj[: spec.n_x], float).copy(),
                     {n: float(spec.obj[spec.n_x + j]) for j, n in enumerate(spec.aux_names)},
                     float(spec.obj_offset))


UNPRICED_TOL = 1e-7
"""Relative tolerance of :func:`unpriced`: ``L(π) ≤ z_LP + UNPRICED_TOL · max(|z_LP|, 1)``."""


def unpriced(cm: CompiledModel, fb: Fallback, options: SolverOptions, warm: Any = None
             ) -> Any:
    """The quick re-solve of a rule switched off that the scenario's own LP already answers,
    without an LP of the variant; None when it does not apply.

    The variant (a rule switched off) is a relaxation of the scenario: it drops rows or
    allows more uses. When it also keeps every column of the scenario with the same objective
    coefficient (and exactly the scenario's auxiliary columns, priced the same) and values
    the scenario's allocation ``x̄`` at the scenario's objective ``z̄``, the scenario's LP
    optimum ``x*`` (its pinned cells at their use) is a point of the variant's relaxation
    with the same value, so ``z_LP ≤ z_LP,var``. The Lagrangian bound at the scenario's LP duals
    (:func:`lagrangian_bound`) is an upper bound on the variant's LP optimum and its integer
    optimum: ``z_LP,var ≤ L(π)``. When ``L(π) ≤ z_LP`` up to :data:`UNPRICED_TOL`, the
    scenario's duals price the switch at zero: the variant's LP optimum is the scenario's (to
    that tolerance), so its LP would not move and its quick re-solve would return the
    scenario's cell-model allocation ``warm`` with the bound ``z_LP,var``. This returns the
    better of ``warm`` and ``x̄`` that meets every row of the variant (checked) — ``warm``
    comes before the location rules are enforced, so a location rule switched off gets the
    map the scenario's cell model found — with the bound ``max(L(π), z)`` — both proven — in
    the time of one pass over the columns, and ``lp_bound = L(π)`` (so
    ``lp_cost = L(π) − z_LP ≥ 0``, at most the tolerance above the exact LP difference).

    **A cost switched off** (the variant's model the scenario's over the same columns and
    rows, its objective ``c' = c + Δ`` with ``Δ_j ≥ 0`` on every column and the constant
    raised by ``Δ₀``, see :func:`derived_model`) is answered the same way when the duals
    price the change at zero: the scenario's LP optimum ``x*`` is a point of the variant's
    relaxation worth ``c'·x* ≥ z_LP + Δ₀``, so ``z_LP + Δ₀ ≤ z_LP,var ≤ L'(π)``; when
    ``L'(π) ≤ z_LP + Δ₀`` (to the tolerance) the variant's LP optimum is ``z_LP + Δ₀`` and
    the scenario's LP vertex one of its optima. Its allocation is the better of ``x̄`` and
    ``warm`` valued with ``c'``, its bound ``L'(π)`` lowered by :func:`derived_bound` at the
    scenario's derived duals (valid for any objective), and ``lp_cost = L'(π) − z_LP``."""
    ref, spec = fb.reference, cm.spec
    if ref is None or not np.isfinite(ref.lp_bound):
        return None
    keys = column_keys(spec)
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys[order], ref.keys)
    pos = np.minimum(pos, max(keys.size - 1, 0))
    if keys.size == 0 or not np.array_equal(keys[order][pos], ref.keys):
        return None  # a column of the scenario is gone: not a relaxation of this kind
    scale = max(float(np.abs(ref.obj).max(initial=0.0)), 1.0)
    delta = spec.obj[: spec.n_x][order[pos]] - ref.obj
    same_objective = bool(np.abs(delta).max(initial=0.0) <= 1e-9 * scale)
    shift = 0.0  # Δ₀: what the objective's constant gained
    if not same_objective:
        if keys.size != ref.keys.size or delta.min(initial=0.0) < -1e-9 * scale:
            return None  # another objective that some column loses by, or new columns
        shift = float(spec.obj_offset) - ref.offset
    aux = {n: float(spec.obj[spec.n_x + j]) for j, n in enumerate(spec.aux_names)}
    if set(aux) != set(ref.aux) or any(abs(aux[n] - c) > 1e-9 * scale
                                       for n, c in ref.aux.items()):
        return None  # auxiliary columns gone, new or priced otherwise
    x = mapped_x(fb.allocation, spec)
    if x is None or spec.violations(x):
        return None
    z = spec.objective_value(x)
    tol = UNPRICED_TOL * max(abs(ref.lp_bound), 1.0)
    if abs(z - ref.objective) > tol if same_objective else z < ref.objective + shift - tol:
        return None  # the allocation is valued otherwise: another objective
    bound = lagrangian_bound(spec, mapped_duals(fb, spec))
    if not np.isfinite(bound) or bound > ref.lp_bound + shift + tol:
        return None  # the switch is priced: the variant's LP may move
    x_cell = mapped_x(warm, spec) if warm is not None else None
    if x_cell is not None and not spec.violations(x_cell):
        z_cell = spec.objective_value(x_cell)
        if z_cell > z:
            x, z = x_cell, z_cell
    bound_z = max(min(bound, derived_bound(spec, fb, warm, z, same_objective)), z)
    dgap = decision_gap(z, bound_z, spec.status_quo_value)
    status = "optimal" if dgap <= options.mip_rel_gap + 1e-12 else "feasible"
    sol = Solution(status, x, z, bound_z, proven_gap(z, bound_z), "scenario-lp", "", "", {},
                   {"lp_bound": float(bound)}, None, spec.status_quo_value, dgap)
    sol.warm = warm_start(spec, x, None, z)
    return sol


def derived_duals(cm: CompiledModel, warm: Any, options: SolverOptions) -> np.ndarray | None:
    """The row duals of the scenario's LP relaxation with every derived row of ``warm.cuts``
    added (the scenario's rows first, then the derived rows), from the scenario's LP basis;
    None when that LP does not finish."""
    if not isinstance(warm, WarmStart) or warm.cuts is None or not warm.cuts[1].n_rows:
        return None
    session = hb.HighsBackend().session(cm.spec, options)
    session.lp(time_limit=options.time_limit,
               basis=warm.basis if isinstance(warm.basis, hb.Basis) else None)
    cands = warm.cuts[1]
    session.add_rows(cands.block(np.arange(cands.n_rows)))
    out = session.lp(time_limit=options.time_limit)
    if out.status != "optimal" or out.row_dual is None:
        return None
    return np.asarray(out.row_dual, float)


def derived_bound(spec: Any, fb: Fallback, warm: Any, incumbent: float,
                  same_objective: bool = False) -> float:
    """A proven upper bound on the optimum of ``spec`` (a variant over the scenario's
    columns) from the scenario's derived LP duals ``fb.derived_dual``: the Lagrangian bound
    (:func:`lagrangian_bound`) of ``spec`` with the derived rows that hold in it
    (:func:`ruimteverdeling.model.warm.valid_cut_rows`), each row at the scenario's dual of
    the row of the same name and place (any multipliers give a bound), then lowered by the
    whole-cell knapsack bound of every minimax level at those duals
    (:func:`ruimteverdeling.model.strengthen.knapsack_level_bound`, also valid for any
    duals), never below ``incumbent``. ``inf`` when it does not apply. ``same_objective``:
    ``spec`` has the scenario's objective; when it also drops only rows with a zero derived
    dual, its bound is the scenario's own at those duals, computed once (``fb.derived_same``:
    the relaxation is the same, so its maximum is too)."""
    if fb.derived_pending:
        raise DeferredError("the variant's bound needs the scenario's derived duals")
    y = fb.derived_dual
    rows = valid_cut_rows(warm, spec) if warm is not None and y is not None else None
    if rows is None or y is None:
        return float("inf")
    old, cands = warm.cuts
    work = spec.with_rows(cands.block(rows)) if rows.size else spec
    duals = np.zeros(work.n_rows)
    for new, at, n in matching_blocks(fb.allocation, spec):
        duals[new: new + n] = y[at: at + n]
    duals[spec.n_rows:] = y[old.n_rows + rows]
    kept = np.zeros(y.size, bool)
    kept[: old.n_units] = True
    for _, at, n in matching_blocks(fb.allocation, spec):
        kept[at: at + n] = True
    kept[old.n_rows + rows] = True
    # every row the variant drops has a zero dual: the relaxation is the scenario's own
    same = same_objective and not np.any(y[~kept])
    if same and fb.derived_same is not None:
        return max(fb.derived_same, incumbent)
    bound = lagrangian_bound(work, duals)
    duals[: spec.n_units] = y[: old.n_units]  # the same units: the knapsack keeps their rows
    for lv in st.find_levels(spec):
        kb = st.knapsack_level_bound(work, lv, duals, incumbent)
        if kb is not None and np.isfinite(kb):
            bound = min(bound, max(float(kb), incumbent))
    if same:
        fb.derived_same = bound
    return bound


def with_pinned(cm: CompiledModel, x: np.ndarray) -> WarmStart:
    """The allocation ``x`` of ``cm`` keyed by (cell, use) over its columns *and* its pinned
    cells (one allowed use, so no column): a variant that allows a pinned cell more uses (a
    zone rule switched off) has a unit there, and the scenario's allocation still says which
    use it holds. Without an LP basis."""
    spec = cm.spec
    x = np.asarray(x, float)
    j = np.searchsorted(cm.alloc_idx, cm.pinned_use_idx)
    keys = cm.ctx.land_cells[cm.pinned_land].astype(np.int64) * USE_SPAN + j
    out = WarmStart(spec, np.concatenate([x[: spec.n_x], np.ones(keys.size), x[spec.n_x:]]))
    out._x_keys = np.concatenate([column_keys(spec), keys])
    return out


def mapped_duals(fb: Fallback, spec: Any) -> np.ndarray:
    """The scenario's row duals over ``spec``'s rows: a coupling block of the same name and
    number of rows takes the scenario's duals, any other row (a new block, and the assignment
    rows, which the Lagrangian bound keeps as constraints) gets 0."""
    out = np.zeros(spec.n_rows)
    for new, old, n in matching_blocks(fb.allocation, spec):
        out[new: new + n] = fb.row_dual[old: old + n]
    return out


def lagrangian_bound(spec: Any, row_dual: np.ndarray) -> float:
    """``L(π) = max_x Σ_j (c − Aᵀπ)_j x_j + Σ_r π_r·side_r + c₀`` over the unit simplices
    (``Σ_u x_ku = 1``) and the auxiliary columns' bounds, the coupling rows relaxed with
    multipliers ``π`` (each on the side its sign prices: ``upper`` for ``π_r > 0``,
    ``lower`` for ``π_r < 0``; a multiplier whose side is infinite is dropped). For every
    feasible ``x``, ``π_r·(A x)_r ≤ π_r·side_r``, so ``c·x ≤ L(π)``: an upper bound on the
    model's optimum for any ``π`` (of both sign conventions the smaller is taken), and equal
    to the LP optimum at its optimal duals. ``inf`` when no convention is finite."""
    parts = location_bound.lagrangian_parts(spec, row_dual)
    if parts is None:
        return float("inf")
    const, d = parts
    best = np.full(spec.n_units, -np.inf)
    np.maximum.at(best, spec.col_unit, d[: spec.n_x])
    return float(const + best.sum())


def reopened_bound(cm: CompiledModel, item: Any, row_dual: np.ndarray) -> float | None:
    """A proven upper bound on the optimum of the scenario with the zone rule ``item``
    switched off, from the scenario's model ``cm`` and its LP row duals, without compiling
    the variant; None when it does not apply.

    The rule (enabled, no override on it) closes pairs and adds nothing else: switching it
    off reopens at most the pairs ``P`` it closes (a cell in its zone and the domain, a use it
    closes; with ``applies_to: new`` not the cell's current use) — fewer where another rule
    also closes them — and changes no objective coefficient or row. A model with *more*
    columns than the variant is a relaxation of it, so the Lagrangian bound of the scenario's
    model with every pair of ``P`` added bounds the variant. At multipliers ``π`` (the
    scenario's row duals, on the side each sign prices, as in :func:`lagrangian_bound`) the
    reduced profit of a pair is ``d(c, u) = c(c, u) − Σ_r π_r a_r(c, u)``, computed for any
    pair by the pair-wise objective and rows; each cell's share of ``L(π)`` is its largest
    ``d`` over its columns (over its one use for a pinned cell), so

        L_var(π) = L(π) + Σ_cells max(0, max_(c,u)∈P d(c, u) − max_old d(c, ·))

    is such a bound; the smaller over both sign conventions of ``π`` is returned. Not
    applicable (None) when a row block that is not pair-wise (a conflict rule's
    neighbourhood rows) carries a nonzero multiplier: a reopened pair's coefficients there
    are not known without compiling."""
    if not getattr(item, "is_enabled", False):
        return None
    if any(a.override.rule == item.id for a in cm.overrides):
        return None
    c = cm.contributions.get(item.id)
    if c is None or c.closed is None or c.terms or c.rows or c.column_rows:
        return None
    spec, ctx = cm.spec, cm.ctx
    duals = np.asarray(row_dual, float)
    if duals.size != spec.n_rows:
        return None
    closed = c.closed
    land = np.flatnonzero(np.asarray(closed.zone, bool) & np.asarray(ctx.domain, bool))
    is_closed = ctx.uses_mask(closed.uses, containing=False)
    uses = np.asarray(ctx.alloc_idx)[is_closed[np.asarray(ctx.alloc_idx)]]
    best: float | None = None
    for sign in (1.0, -1.0):
        parts = location_bound.lagrangian_parts(spec, duals, (sign,))
        if parts is None:
            continue
        const, d = parts
        pi = np.zeros(spec.n_rows)
        r0, ok = spec.n_units, True
        for b in spec.coupling:
            p = sign * duals[r0: r0 + b.n_rows]
            p = np.where((p > 0) & ~np.isfinite(b.upper), 0.0, p)
            p = np.where((p < 0) & ~np.isfinite(b.lower), 0.0, p)
            if b.name not in cm.blocks and np.any(p != 0):
                ok = False
                break
            pi[r0: r0 + b.n_rows] = p
            r0 += b.n_rows
        if not ok:
            return None
        unit_best = np.full(spec.n_units, -np.inf)
        np.maximum.at(unit_best, spec.col_unit, d[: spec.n_x])
        old = np.full(ctx.land_cells.size, -np.inf)
        old[cm.unit_land] = unit_best
        if cm.pinned_land.size:
            old[cm.pinned_land] = cm.pair_objective(cm.pinned_land, cm.pinned_use_idx) - \
                cm.pair_row_price(cm.pinned_land, cm.pinned_use_idx, pi)
        gain = 0.0
        if land.size and uses.size:
            pl = np.repeat(land, uses.size)
            pu = np.tile(uses, land.size)
            if closed.applies_to == "new":
                keep = pu != ctx.land_use_idx[pl]
                pl, pu = pl[keep], pu[keep]
            if pl.size:
                dn = cm.pair_objective(pl, pu) - cm.pair_row_price(pl, pu, pi)
                new = np.full(ctx.land_cells.size, -np.inf)
                np.maximum.at(new, pl, dn)
                cells = np.unique(pl)
                up = new[cells] - old[cells]
                if not np.all(np.isfinite(old[cells])):
                    return None  # a reopened cell the scenario's model does not hold
                gain = float(np.maximum(up, 0.0).sum())
        total = const + float(unit_best.sum()) + gain
        if np.isfinite(total) and (best is None or total < best):
            best = total
    return best


def reopened_outcome(cm: CompiledModel, item: Any, fb: Fallback, base: Outcome,
                     options: SolverOptions, large: bool) -> Outcome | None:
    """The quick outcome of a zone rule switched off, without compiling the variant: the
    scenario's final allocation (an allocation of the variant, which only allows more pairs;
    valued the same, the rule having no objective term; its location rules met) and
    :func:`reopened_bound`. For a model whose LP needs column generation (``large``) always
    (as :func:`fallback_outcome` would give after a compile, with a bound at least as
    tight as the variant's own Lagrangian bound at these duals, or looser where other rules
    close some of the reopened pairs too); otherwise only when that bound is the scenario's
    LP optimum (to :data:`UNPRICED_TOL`): the variant's quick re-solve would then return
    this allocation with that bound (see :func:`unpriced`), and ``lp_cost`` is that bound
    less the scenario's LP optimum. None when the bound does not apply."""
    if base.objective is None:
        return None
    bound = reopened_bound(cm, item, fb.row_dual)
    if bound is None or not np.isfinite(bound):
        return None
    lp_bound = None
    if not large:
        ref = fb.reference
        if ref is None or bound > ref.lp_bound + UNPRICED_TOL * max(abs(ref.lp_bound), 1.0):
            return None
        lp_bound = bound
    bound = max(bound, base.objective)
    dgap = decision_gap(base.objective, bound, cm.spec.status_quo_value)
    status = "optimal" if not large and dgap <= options.mip_rel_gap + 1e-12 else "feasible"
    return replace(base, status=status, bound=bound, gap=proven_gap(base.objective, bound),
                   lp_bound=lp_bound, warm=None, message=LARGE_NOTE if large else "",
                   method="scenario allocation+lagrangian bound over the reopened pairs",
                   seconds={})


def fallback_outcome(cm: CompiledModel, fb: Fallback, message: str,
                     note: str | None = None) -> Outcome | None:
    """The variant's outcome without its own solve: the scenario's allocation where it is an
    allocation of the variant (every unit keeps its use, every row holds — always for a rule
    switched off), valued with the variant's objective, and the Lagrangian bound at the
    scenario's LP duals (:func:`lagrangian_bound`; both proven, so the bracket holds, only
    wider than a solve would give). None when the allocation does not fit or no bound is
    finite. ``note``: the row's note (default: that the variant's own solve stopped first,
    with ``message``)."""
    spec = cm.spec
    x = mapped_x(fb.allocation, spec)
    if x is None or spec.violations(x):
        return None
    z = spec.objective_value(x)
    bound = lagrangian_bound(spec, mapped_duals(fb, spec))
    if not np.isfinite(bound):
        return None
    bound = max(bound, z)
    out = outcome_of(cm, replace_solution(spec, x, z, bound))
    out.message = note or ("its own solve stopped first (" + message.split(";")[0] +
                           "): the scenario's allocation and a Lagrangian bound from its LP "
                           "duals")
    out.method = "scenario allocation+lagrangian bound"
    return out


def replace_solution(spec: Any, x: np.ndarray, z: float, bound: float) -> Any:
    """A feasible (not proven) Solution of ``spec`` at ``x`` with ``bound``."""
    return Solution("feasible", x, z, bound, proven_gap(z, bound), "fallback", "", "", {},
                    {}, None, spec.status_quo_value,
                    decision_gap(z, bound, spec.status_quo_value))


def derived_model(cm: CompiledModel, variant: Scenario, item: Any) -> CompiledModel | None:
    """The compiled model of ``variant`` (the scenario with ``item`` switched off) derived
    from the scenario's ``cm`` without compiling, or None when that is not exact.

    Exact when the rule is enabled in ``cm``, no override touches it, its compiled
    contribution closes no pairs and adds no objective term, and each of its row blocks is
    its own (a name no other rule or target uses) and adds no auxiliary column (no shortfall
    penalty, no minimax level): then compiling ``variant`` gives the same columns, bounds,
    objective and status-quo value, and the same row blocks in the same order less the
    rule's. So the variant is ``cm`` with those blocks dropped, the rule marked off and the
    variant's scenario. (A location rule adds nothing to the cell model: the same spec, with
    the rule off for the location step.)"""
    if not getattr(item, "is_enabled", False):
        return None
    if any(a.override.rule == item.id for a in cm.overrides):
        return None
    c = cm.contributions.get(item.id)
    if c is None or c.closed is not None:
        return None
    if c.terms:
        return _without_terms(cm, variant, item, c)
    if variant.objective != cm.scenario.objective:
        return None
    if any(r.aux or r.penalty is not None for r in c.rows):
        return None
    mine = set(c.blocks)
    others = [n for rid, o in cm.contributions.items() if rid != item.id for n in o.blocks]
    if mine & set(others) or mine & set(cm.target_compilers):
        return None
    coupling = [b for b in cm.spec.coupling if b.name not in mine]
    if len(cm.spec.coupling) - len(coupling) != len(mine):
        return None  # a block of the rule is not where its name says: compile instead
    spec = replace(cm.spec, coupling=coupling) if mine else cm.spec
    rules = [r.model_copy(update={"enabled": False}) if r.id == item.id else r
             for r in cm.rules]
    contributions = {k: v for k, v in cm.contributions.items() if k != item.id}
    blocks = {k: v for k, v in cm.blocks.items() if k not in mine}
    return replace(cm, scenario=variant, spec=spec, rules=rules, blocks=blocks,
                   contributions=contributions)


def _without_terms(cm: CompiledModel, variant: Scenario, item: Any, c: Any
                   ) -> CompiledModel | None:
    """The variant of a rule whose only contribution is objective terms (a cost or ladder
    rule) switched off, derived from ``cm``: each of the rule's parts ``f_p`` leaves its
    term ``t``, so the objective loses ``s_t w_t f_p(c, u)`` on every column (c, u) and
    ``s_t w_t Σ f_p`` over the pinned cells from its constant; a term left without parts is
    dropped (and its weight with it, as :func:`switch` does). Columns, bounds and rows stay.
    None (compile instead) when the rule adds rows too, the objective is lexicographic, a
    term has an auxiliary part, or any weight the variant keeps differs from the
    scenario's."""
    if c.rows or c.column_rows or cm.scenario.objective.mode == "lexicographic":
        return None
    spec = cm.spec
    parts = {k: list(v) for k, v in cm.terms.items()}
    for p in c.terms:
        if p.name in cm.aux_terms or p.name not in parts or not any(q is p for q in
                                                                    parts[p.name]):
            return None
        parts[p.name] = [q for q in parts[p.name] if q is not p]
    gone = {n for n, v in parts.items() if not v}
    for t in spec.terms:
        if t.name not in gone and variant.objective.weights.get(t.name, 1.0) != t.weight:
            return None
    if any(n in variant.objective.weights for n in gone) or \
            variant.objective.model_copy(update={"weights": {}, "first": []}) != \
            cm.scenario.objective.model_copy(update={"weights": {}, "first": []}):
        return None
    col_land = cm.unit_land[spec.col_unit]
    col_use = cm.alloc_idx[spec.col_use]
    obj = spec.obj.copy()
    offset = float(spec.obj_offset)
    terms = {t.name: t for t in spec.terms}
    for p in c.terms:
        t = terms[p.name]
        coef = np.asarray(p.fn(col_land, col_use), float)
        const = float(np.asarray(p.fn(cm.pinned_land, cm.pinned_use_idx), float).sum())
        sw = t.sign * t.weight
        if sw:
            obj[: spec.n_x] -= sw * coef
        offset -= sw * const
        if p.name in gone:
            continue
        new_coef = None
        if t.coef is not None:
            new_coef = t.coef.copy()
            new_coef[: spec.n_x] -= coef
        terms[p.name] = replace(t, coef=new_coef, constant=t.constant - const)
    new_spec = replace(spec, obj=obj, obj_offset=offset,
                       terms=[terms[t.name] for t in spec.terms if t.name not in gone])
    rules = [r.model_copy(update={"enabled": False}) if r.id == item.id else r
             for r in cm.rules]
    out = replace(cm, scenario=variant, spec=new_spec, rules=rules,
                  terms={k: v for k, v in parts.items() if v},
                  contributions={k: v for k, v in cm.contributions.items() if k != item.id})
    new_spec.status_quo_value = status_quo_value(out)
    return out


def solve_variant(scenario: Scenario, area: Any, catalogue: Any = None, warm: Any = None,
                  options: SolverOptions | None = None, located: Any = None,
                  fallback: Fallback | None = None, quick: bool = False,
                  compiled: CompiledModel | None = None,
                  restricted: Fallback | None = None,
                  switched_on: str | None = None) -> Outcome:
    """Compile and solve ``scenario`` on ``area`` (a StudyArea, or the path of an area.yaml
    loaded here), warm-started from ``warm`` (see
    :mod:`ruimteverdeling.model.warm`) with ``options`` (default: the scenario's); never
    raises for infeasible models or solver failures. ``located``: the scenario's allocation
    that meets its location rules (a WarmStart), reused when the variant's cell-model
    allocation is the scenario's (see :func:`_reuse_located`). ``fallback``: when the solve
    stops without an allocation or a bound (its time ran out first), the scenario's allocation
    and a Lagrangian bound from the scenario's LP duals (:func:`fallback_outcome`), when the
    rule is switched off. ``quick``: the quick re-solve
    (:func:`ruimteverdeling.model.warm.resolve`: one warm-started LP and a repaired
    allocation) instead of the full solve, which runs only when the quick one finds no
    allocation. ``compiled``: the variant's model when the caller has it (see
    :func:`derived_model`), instead of compiling ``scenario``. ``restricted``: for a rule
    switched on, the scenario's final allocation and LP duals; on a model whose LP needs
    column generation the quick re-solve is then that allocation repaired where the rule
    breaks it (:func:`ruimteverdeling.model.warm.repaired`) under the Lagrangian bound at
    those duals, instead of the full solve. ``switched_on``: the id of the rule this variant
    switches on; the outcome says whether that rule only restricts (:func:`only_restricts`
    on the variant's model, where it is enabled)."""
    options = options or scenario.solver
    cm = None
    try:
        if isinstance(area, str | Path):
            catalogue = catalogue_for(scenario)
            area = StudyArea.load(Path(area), catalogue)
        if pwm.is_pathway(scenario):
            return _solve_pathway_variant(scenario, area, catalogue, options)
        t0 = time.perf_counter()
        cm = compiled if compiled is not None else compile_model(scenario, area, catalogue)
        t_compile = time.perf_counter() - t0
        if quick and fallback is not None and cm.spec.n_x > options.decompose_above:
            out = fallback_outcome(cm, fallback, "", LARGE_NOTE)
            if out is not None:
                out.seconds = {"compile": t_compile}
                return out
        sol = None
        if quick and restricted is not None and cm.spec.n_x > options.decompose_above:
            sol = _repaired(cm, restricted, options)
        if sol is None and quick and fallback is not None:
            t0 = time.perf_counter()
            sol = unpriced(cm, fallback, options, warm)
            if sol is not None:
                sol.seconds = {"resolve": time.perf_counter() - t0}
        if sol is None and quick and warm is not None:
            sol, options = _quick(cm, options, warm)
        if sol is None:
            sol = solve_spec(cm.spec, options, warm=warm)
        enforced = _reuse_located(cm, sol, warm, located, options)
        if enforced is None:
            t0 = time.perf_counter()
            enforced = _enforced(cm, sol, options, start_basis(cm, sol, warm))
            if enforced is not None and enforced is not sol:
                enforced = replace(enforced, seconds={**enforced.seconds,
                                                      "locations": time.perf_counter() - t0})
    except InfeasibleError as exc:
        return Outcome("infeasible", message=str(exc))
    except SolverError as exc:
        out = fallback_outcome(cm, fallback, str(exc)) if cm is not None and \
            fallback is not None else None
        return out if out is not None else Outcome("solver failed", message=str(exc))
    except InputError as exc:
        return Outcome("input error", message=exc.format())
    if enforced is None:
        return Outcome("location rules not met", message="the location rules cannot be met "
                       "in this variant within its time")
    out = outcome_of(cm, enforced)
    out.seconds = {"compile": t_compile, **out.seconds}
    if switched_on is not None:
        rule = next((r for r in cm.scenario.rules if r.id == switched_on), None)
        out.restricts = rule is not None and only_restricts(cm, rule)
    return out


def _repaired(cm: CompiledModel, start: Fallback, options: SolverOptions) -> Any:
    """The scenario's allocation ``start`` repaired for the variant ``cm`` (a rule switched
    on), under the Lagrangian bound of ``cm`` at the scenario's duals — a bound for any
    multipliers, so for the variant's optimum; None when either is not found."""
    t0 = time.perf_counter()
    bound = lagrangian_bound(cm.spec, mapped_duals(start, cm.spec))
    if not np.isfinite(bound):
        return None
    try:
        sol = repaired(cm.spec, options, start.allocation, bound)
    except SolverError:
        return None
    sol.seconds = {"resolve": time.perf_counter() - t0}
    return sol


def _quick(cm: CompiledModel, options: SolverOptions, warm: Any
           ) -> tuple[Any, SolverOptions]:
    """The quick re-solve of ``cm`` from ``warm`` (None when it finds no allocation), and the
    options for the full solve that then runs: the time that is left, at least what the
    budget's floor gives (:data:`ruimteverdeling.analysis.budget.BUDGET_FLOOR_SECONDS`)."""
    t0 = time.perf_counter()
    try:
        return resolve(cm.spec, options, warm, warm.lp_bound,
                       repair_seconds=VARIANT_REPAIR_SECONDS), options
    except SolverError:
        left = max(BUDGET_FLOOR_SECONDS, options.time_limit - (time.perf_counter() - t0))
        return None, options.model_copy(update={"time_limit": left})


def _solve_pathway_variant(scenario: Scenario, area: StudyArea, catalogue: Any,
                           options: SolverOptions) -> Outcome:
    """The variant's pathway model solved with foresight under ``options``."""
    path, chain = scenario.path, scenario.chain
    scenario = scenario.model_copy(update={"solver": options})
    scenario.path, scenario.chain = path, chain
    pw = pwm.compile_pathway(scenario, base_area(area), catalogue)
    return pathway_outcome(pw, pwm.solve_foresight(pw))


def base_area(area: StudyArea) -> StudyArea:
    """The study area itself when ``area`` is one period's view of it (a period's model
    reads some layers in that period's version)."""
    if isinstance(area, pwm.PeriodArea):
        out = StudyArea.__new__(StudyArea)
        out.__dict__.update({k: v for k, v in area.__dict__.items() if k != "_alias"})
        return out
    return area


def candidates(scenario: Scenario, which: str = "switchable", targets: bool = False,
               only: list[str] | None = None) -> list[tuple[str, Any]]:
    """The items to price: ``("rule"|"target", item)``.

    ``which``: ``switchable`` (status T or A: the choices still open), or ``all`` (G items
    too — for analysis only; a variant can relax those only through an override). ``only``
    restricts to the given ids (an unknown id is an InputError). Items an override disables
    are skipped (they are off whatever their own setting).
    """
    disabled = {o.rule for o in scenario.overrides if o.action == "disable"}
    pool: list[tuple[str, Any]] = [("rule", r) for r in scenario.rules]
    if targets or only:
        pool += [("target", t) for t in scenario.targets]
    if only:
        known = {item.id for _, item in pool}
        bad = [i for i in only if i not in known]
        if bad:
            raise InputError.single(scenario.path, "--rule",
                                    f"unknown rule or target '{bad[0]}'",
                                    did_you_mean(bad[0], sorted(known)))
        return [(k, item) for k, item in pool if item.id in only and item.id not in disabled]
    out = []
    for kind, item in pool:
        if item.id in disabled:
            continue
        if which == "all" or item.status in ("T", "A"):
            out.append((kind, item))
    return out


@dataclass
class RuleCosts:
    rows: list[dict[str, Any]]  # national and regional rows, as written to rule_costs.csv
    base: Outcome
    out_path: Path | None = None


def rule_costs(cm: CompiledModel, base_sol: Any, *, which: str = "switchable",
               targets: bool = False, only: list[str] | None = None, workers: int = 1,
               progress: Progress | None = None, pair_tol: float | None = None,
               variant_time_limit: float | None = None,
               pathway: pwm.Pathway | None = None, budget: float | None = None,
               quick: bool = True, meanwhile: Any = None) -> RuleCosts:
    """Price every candidate item (see :func:`candidates`) against the solved scenario.

    ``pair_tol`` (objective points): narrow every pair whose bracket contains 0 until its
    sign is proven or the bracket is at most this wide (see the module docstring).
    ``variant_time_limit``: the safety net in seconds for each re-solve (default: the
    scenario's time limit; the re-solves stop at counts of the solver's work, see the module
    docstring); a shorter one that cuts a re-solve gives its cost sooner, with a wider —
    still proven — bracket and status ``time_limit``. ``pathway``: the scenario's pathway
    model when it has several periods (``cm`` is then its last period's model and
    ``base_sol`` the joint solution).
    ``budget``: seconds for all the re-solves together (:mod:`ruimteverdeling.analysis.budget`):
    each gets its share of what is left, at most ``variant_time_limit``; with ``workers``
    worker processes each gets ``budget · workers / n`` (at least the budget's floor).
    ``workers``: re-solve in that many forked worker processes (see the module docstring;
    the same table as one). ``quick`` (default): each variant by
    the quick re-solve (one warm-started LP and a repaired allocation,
    :func:`ruimteverdeling.model.warm.resolve`), the full solve only where that finds no
    allocation and when narrowing a pair; False: the full solve for every variant.
    ``meanwhile``: a call with no arguments that this process makes while worker processes
    re-solve the variants (work the table does not depend on, such as drawing the run
    report's charts); not made when the variants are re-solved here."""
    say = progress or silent()
    scenario = pathway.scenario if pathway is not None else cm.scenario
    base = pathway_outcome(pathway, base_sol) if pathway is not None else \
        outcome_of(cm, base_sol)
    warm = base.warm
    if isinstance(warm, WarmStart):
        warm.lp_bound = base.lp_bound
        if quick and pathway is None and cm.spec.n_x <= scenario.solver.decompose_above:
            # the scenario's derived rows, once: each quick re-solve adds those still valid
            with say.phase("deriving the scenario's stronger rows for the re-solves"):
                warm.cuts = (cm.spec, st.candidates(cm.spec, STRENGTHEN_MAX_ROW_NNZ))
    items = candidates(scenario, which, targets, only)
    variants = [switch(scenario, item.id) for _, item in items]
    if variant_time_limit is None:
        # a safety net, not a budget: each step stops at its count of the solver's work
        variant_time_limit = float(scenario.solver.time_limit)
    # a variant is asked for no tighter a decision gap than the scenario's own solve reached
    # (its bracket says what it proves); it is called optimal only within the scenario's own
    reached = getattr(base_sol, "decision_gap", None)
    capped = [_with_time_limit(v, variant_time_limit, reached) for v in variants]
    area = base_area(cm.area)
    located = None
    if pathway is None and location.location_rules(cm):
        located = warm_start(cm.spec, base_sol.x)  # the scenario's allocation, rules met

    def located_for(item: Any) -> Any:
        return None if getattr(item, "type", None) == "location" else located

    # a variant whose own solve stops before it has an allocation and a bound falls back on
    # the scenario's allocation and a Lagrangian bound (a rule switched off only: the
    # scenario's allocation is then an allocation of the variant)
    fb = None
    duals = getattr(base_sol, "row_dual", None)
    if pathway is None and duals is not None and np.asarray(duals).size == cm.spec.n_rows:
        fb = Fallback(with_pinned(cm, base_sol.x), np.asarray(duals, float))
        if base.lp_bound is not None and base.objective is not None:
            fb.reference = reference_of(cm, base.objective, base.lp_bound)
    derive_rows = fb is not None and isinstance(warm, WarmStart) and warm.cuts is not None

    def derive() -> tuple[np.ndarray | None, float | None] | None:
        """The scenario's LP with its derived rows, here (its duals bound the variants that
        call :func:`derived_bound`), and the bound of every variant that keeps its
        relaxation, once (each would otherwise work it out again, and it is the same
        whichever variant asks first); what a worker forked before needs of them."""
        if not derive_rows:
            return None
        assert fb is not None
        with say.phase("the scenario's LP with its derived rows, for the variants' bounds"):
            fb.derived_dual = derived_duals(cm, warm, scenario.solver)
            fb.derived_pending = False
            if fb.derived_dual is not None and base.objective is not None:
                derived_bound(cm.spec, fb, warm, base.objective, same_objective=True)
        return fb.derived_dual, fb.derived_same

    def fallback_for(item: Any) -> Fallback | None:
        return fb if item.is_enabled else None

    def reopened_for(k: int, seconds: float) -> Outcome | None:
        """Variant ``k``'s outcome from the pairs its zone rule reopens
        (:func:`reopened_outcome`), when that answers it; None otherwise."""
        item = items[k][1]
        if not (quick and fb is not None and item.is_enabled):
            return None
        v = _with_time_limit(variants[k], seconds, reached)
        t0 = time.perf_counter()
        out = reopened_outcome(cm, item, fb, base, v.solver,
                               cm.spec.n_x > v.solver.decompose_above)
        if out is not None:
            out.seconds = {"resolve": time.perf_counter() - t0}
        return out

    def resolve_one(k: int, seconds: float, reopened: bool = True) -> Outcome:
        """The quick (or full) re-solve of variant ``k`` within ``seconds``; ``reopened``:
        try :func:`reopened_for` first (False when it was tried already)."""
        item = items[k][1]
        v = _with_time_limit(variants[k], seconds, reached)
        out = reopened_for(k, seconds) if reopened else None
        if out is not None:
            return out
        return solve_variant(v, area, cm.catalogue, warm, located=located_for(item),
                             fallback=fallback_for(item), quick=quick,
                             compiled=derived_model(cm, v, item)
                             if pathway is None else None,
                             restricted=None if item.is_enabled else fb,
                             switched_on=None if item.is_enabled or items[k][0] != "rule"
                             else item.id)

    def label(k: int) -> str:
        item = items[k][1]
        return f"{item.id} switched {'off' if item.is_enabled else 'on'}"

    outcomes: list[Outcome]
    n_workers = min(workers, len(variants))
    if n_workers > 1 and pathway is None and can_fork():
        # every variant gets the same seconds (no share of what is left: which worker is
        # ahead depends on the machine's load, and the answers must not)
        each = variant_time_limit if budget is None else Budget(
            budget * n_workers / len(variants), 1, variant_time_limit,
            floor_for(base_sol)).share()
        say(f"re-solving {len(variants)} variants in {n_workers} worker processes "
            f"({each:.0f} s each at most)")
        t_start = time.perf_counter()
        # on a model whose LP is solved directly, the zone rules answered by the pairs they
        # reopen, here (a pass over those pairs each): the others are then known to need
        # their own LP, and go out early. (A model whose LP needs column generation answers
        # every zone rule that way, in the workers: its passes are long.)
        answered: dict[int, Outcome] = {}
        large = cm.spec.n_x > scenario.solver.decompose_above
        for k in range(len(variants)) if not large else ():
            if (out := reopened_for(k, each)) is not None:
                answered[k] = out
                say(f"  {label(k)}: {breakdown(out)}")
        anew = {k for k, (_, item) in enumerate(items) if compiled_anew(cm, item)}
        order = longest_first(items, None if large else set(answered), anew)
        # the variants that need no derived duals (a rule switched on has no fallback; a
        # variant compiled anew drops or changes columns, so unpriced() leaves it before the
        # derived bound) start while this process solves the derived-row LP; one that needs
        # them after all defers and is handed out again with them
        first = [j for j, k in enumerate(order)
                 if not items[k][1].is_enabled or k in anew] if derive_rows else []
        if derive_rows:
            assert fb is not None
            fb.derived_pending = True  # in the workers forked before derive()

        def task(j: int, payload: tuple[np.ndarray | None, float | None] | None) -> Outcome:
            if payload is not None and fb is not None:
                fb.derived_dual, fb.derived_same = payload
                fb.derived_pending = False
            return resolve_one(order[j], each, reopened=large)

        def done(j: int, out: Outcome) -> None:
            say(f"  {label(order[j])} after {time.perf_counter() - t_start:.1f} s: "
                f"{breakdown(out)}")

        try:
            # the variants the pass above could not answer are not passed over again
            ran = fork_map_staged(task, len(order), n_workers, first, derive, done,
                                  meanwhile)
            by_index = {**answered, **dict(zip(order, ran, strict=True))}
            outcomes = [by_index[k] for k in range(len(variants))]
        except BrokenProcessPool:
            raise SolverError("a worker process re-solving the variants died (killed for "
                              "memory?); run with --workers 1 to re-solve them one at a "
                              "time in this process") from None
    else:
        if workers > 1 and pathway is not None:
            say("a scenario with several periods is re-solved one variant at a time")
        elif workers > 1 and len(variants) > 1 and not can_fork():
            say("no worker processes can be forked on this platform: re-solving one "
                "variant at a time")
        derive()
        outcomes = []
        shares = Budget(budget, len(variants), variant_time_limit, floor_for(base_sol))
        for k in range(len(variants)):
            seconds = shares.share()
            with say.phase(f"re-solving with {label(k)} ({seconds:.0f} s at most)"):
                outcomes.append(resolve_one(k, seconds))
            say(f"  {breakdown(outcomes[-1])}")
    say(stage_summary(outcomes, n_workers if n_workers > 1 and pathway is None
                      and can_fork() else 1))
    outcomes = [_claimed(o, scenario.solver.mip_rel_gap) for o in outcomes]
    if pair_tol is not None:
        base, outcomes = _tighten(cm, _with_time_limit(scenario, variant_time_limit), items,
                                  capped, base, outcomes, pair_tol, say, located_for)
    rows: list[dict[str, Any]] = []
    for (kind, item), out in zip(items, outcomes, strict=True):
        rows += _rows_for(cm, kind, item, base, out,
                          kind == "rule" and (only_restricts(cm, item) or out.restricts))
    return RuleCosts(rows, base)


def compiled_anew(cm: CompiledModel, item: Any) -> bool:
    """Whether the variant that switches the enabled rule ``item`` off is compiled as the
    scenario is, for want of a model derived from ``cm`` (see :func:`derived_model`): an
    override touches the rule, or it adds no objective term and one of its row blocks carries
    auxiliary columns or a shortfall penalty. (A zone rule is priced by its reopened pairs
    first; a rule switched on is always compiled.)"""
    if not getattr(item, "is_enabled", False):
        return False
    c = cm.contributions.get(item.id)
    if c is None or c.closed is not None:
        return False
    if any(a.override.rule == item.id for a in cm.overrides):
        return True
    return not c.terms and any(r.aux or r.penalty is not None for r in c.rows)


def expected_effort(item: Any, zone_priced: bool = False, compiled: bool = False) -> int:
    """How much work re-solving the variant that switches ``item`` is expected to take, as a
    rank (higher: longer), from what the switch changes:

    * 3 — a rule switched on (compiled anew, its location step run afresh: the scenario's
      allocation may break it), or a fairness rule with a level or deviation columns switched
      off (the level moves across every region: the repair frees many cells);
    * 2 — a cost or ladder rule switched off (the objective changes: an LP that moves and a
      repair around it), an exclusion rule whose reopened pairs the scenario's duals
      price (``zone_priced``: it is compiled and re-solved, not answered by
      :func:`reopened_outcome`), or any rule whose variant is compiled anew (``compiled``,
      see :func:`compiled_anew`: a compile of the national ~250 m area takes 11–34 s);
    * 1 — any other rule or target (rows or closed pairs: often priced at the scenario's
      duals without an LP);
    * 0 — a location rule switched off (the cell model is the scenario's).

    Measured on the demo area (2 workers, loaded; compile, re-solve and location step): the
    rank-3 variants took 33–45 s, the rank-2 ones 6–25 s (the priced exclusion rule 22 s),
    the rank-1 ones 0.1–5 s, the rank-0 ones under 0.5 s."""
    if not item.is_enabled:
        return 3
    kind = getattr(item, "type", None)
    if kind == "fairness" and getattr(item, "mode", None) != "cap":
        return 3
    if kind in ("cost", "ladder") or (kind == "exclusion" and zone_priced) or compiled:
        return 2
    return 0 if kind == "location" else 1


def longest_first(items: list[tuple[str, Any]], answered: set[int] | None = None,
                  compiled: set[int] | None = None) -> list[int]:
    """The order in which worker processes take the variants: largest
    :func:`expected_effort` first, in the scenario's order within a rank. With the workers
    taking the next variant as they come free, a long variant handed out last would run on
    alone while the other worker idles; handed out first, the short ones fill in around it.
    Only the order of the work changes: each variant's answer depends on itself alone.
    ``answered``: the variants already answered by the pairs their zone rule reopens (left
    out; every other enabled exclusion rule is then known to be priced); ``compiled``: the
    variants compiled anew (:func:`compiled_anew`)."""
    done = answered if answered is not None else set()
    anew = compiled or set()
    return sorted((k for k in range(len(items)) if k not in done),
                  key=lambda k: (-expected_effort(items[k][1], answered is not None,
                                                  k in anew), k))


def only_restricts(cm: CompiledModel, item: Any) -> bool:
    """Whether switching the enabled rule ``item`` off can only relax the scenario, so that its
    cost is never negative: ``z*_off ≥ z*_on``.

    True when no override touches the rule and its compiled contribution adds no objective
    term and no row with a penalty or an auxiliary column: it closes pairs (the variant allows
    more), adds hard rows (the variant drops them) or adds nothing to the cell model (a
    location rule, which the variant no longer enforces). Every allocation of the scenario is
    then an allocation of the variant with the same objective value, so the variant's optimum
    is at least the scenario's and ``0`` is a proven lower end of the cost's bracket. A rule
    with an objective term, a soft or minimax row (its auxiliary columns carry objective
    coefficients), or an override is not judged (False)."""
    if not getattr(item, "is_enabled", False):
        return False
    if any(a.override.rule == item.id for a in cm.overrides):
        return False
    c = cm.contributions.get(item.id)
    if c is None or c.terms:
        return False
    return all(r.penalty is None and not r.aux for r in c.rows)


def _pair(item: Any, base: Outcome, var: Outcome) -> tuple[Outcome, Outcome]:
    """(with the rule, without it)."""
    return (base, var) if item.is_enabled else (var, base)


def _open(item: Any, base: Outcome, var: Outcome, tol: float) -> bool:
    """Whether the pair's bracket still contains 0 and is wider than ``tol``."""
    if var.objective is None or base.objective is None:
        return False
    lo, hi = bracket(*_pair(item, base, var))
    return lo < 0.0 < hi and hi - lo > tol


def _abs_gap(out: Outcome) -> float:
    if out.objective is None:
        return 0.0
    return np.inf if out.bound is None else max(out.bound - out.objective, 0.0)


def _tighten(cm: CompiledModel, base_scenario: Scenario, items: list[tuple[str, Any]],
             variants: list[Scenario], base: Outcome, outcomes: list[Outcome], tol: float,
             say: Progress, located_for: Any = lambda item: None
             ) -> tuple[Outcome, list[Outcome]]:
    """Narrow the pairs whose bracket contains 0 and is wider than ``tol`` in the stages of
    :data:`TIGHTEN_STAGES`, each solve warm-started from the last solve of its model and
    combined with it (:func:`combined`); a pair leaves as soon as its sign is proven or its
    bracket is at most ``tol`` wide. ``base_scenario``: the scenario as given, with the
    variants' time limit."""
    half = tol / 2
    area = base_area(cm.area)
    out = list(outcomes)
    for share in TIGHTEN_STAGES:
        todo = [i for i, (_, item) in enumerate(items) if _open(item, base, out[i], tol)]
        if not todo:
            break
        g = _abs_gap(base)
        if g > half and any(g >= _abs_gap(out[i]) or _abs_gap(out[i]) <= half for i in todo):
            target = max(half, share * g)
            with say.phase(f"narrowing the scenario's gap to {target:,.4g} points"):
                tight = solve_variant(base_scenario, area, cm.catalogue, base.warm,
                                      narrowed(base_scenario.solver, base, target),
                                      located_for(None))
            base = combined(base, tight)
        for i in todo:
            item = items[i][1]
            g = _abs_gap(out[i])
            if not _open(item, base, out[i], tol) or g <= half:
                continue
            target = max(half, share * g)
            with say.phase(f"narrowing the gap of the variant without/with {item.id} to "
                           f"{target:,.4g} points"):
                tight = solve_variant(variants[i], area, cm.catalogue,
                                      out[i].warm or base.warm,
                                      narrowed(variants[i].solver, out[i], target),
                                      located_for(item))
            out[i] = combined(out[i], tight)
    return base, out


def _rows_for(cm: CompiledModel, kind: str, item: Any, base: Outcome, var: Outcome,
              restricts: bool = False) -> list[dict[str, Any]]:
    """The rule's national row and one per region where land moves. ``restricts``: the rule
    only restricts (:func:`only_restricts`), so its cost is at least 0 and the bracket's lower
    end is raised to 0 (when the allocations found differ by no less)."""
    on, off = (base, var) if item.is_enabled else (var, base)
    head = {"rule": item.id, "kind": kind, "type": getattr(item, "type", "target"),
            "status": item.status, "in_scenario": "on" if item.is_enabled else "off",
            "switched": "off" if item.is_enabled else "on", "region": "national",
            "solve_status": var.status, "gap_on": on.gap, "gap_off": off.gap, "note": ""}
    if item.status == "G":
        head["note"] = "gemaakte keuze: for analysis only (relax through an override)"
    if var.after is None or on.objective is None or off.objective is None:
        head["note"] = (f"{var.status}: {var.message}" if var.message else var.status)
        return [head]
    if var.message:  # e.g. a variant that fell back on the scenario's allocation
        head["note"] = "; ".join(n for n in (head["note"], var.message) if n)
    cost = off.objective - on.objective
    lo, hi = bracket(on, off)
    if restricts and cost >= 0.0:
        lo = max(lo, 0.0)
    lp_cost = None if on.lp_bound is None or off.lp_bound is None else \
        off.lp_bound - on.lp_bound
    common = set(on.contributions) & set(off.contributions)
    to_others = sum(off.contributions[t] - on.contributions[t] for t in common)
    eps = 1e-9 * max(abs(on.objective), 1.0)
    assert on.after is not None and off.after is not None
    ha = cm.area.cell_area_ha
    diff = on.after != off.after
    uses = cm.catalogue.ids
    n_u = len(uses)

    present = np.zeros(n_u, bool)
    present[np.unique(on.after)] = True
    present[np.unique(off.after)] = True

    def per_use(sel: np.ndarray) -> dict[str, float]:
        d = (np.bincount(on.after[sel], minlength=n_u)
             - np.bincount(off.after[sel], minlength=n_u)) * ha
        return {f"ha:{u}": float(d[j]) for j, u in enumerate(uses)
                if (present[j] and cm.catalogue[u].kind == "allocatable") or d[j] != 0}

    national = {**head, "objective_on": on.objective, "objective_off": off.objective,
                "cost": cost, "cost_lo": lo, "cost_hi": hi, "lp_cost": lp_cost,
                "cost_to_others": to_others, "bound_on": on.bound, "bound_off": off.bound,
                "within_gap": "yes" if lo <= eps and hi >= -eps else "no",
                "ha_moved": float(diff.sum() * ha), **per_use(np.ones(diff.size, bool))}
    if on.periods is not None and off.periods is not None and on.years is not None:
        moved = ", ".join(f"{y}: {float((a != b).sum() * ha):,.0f} ha"
                          for y, a, b in zip(on.years, on.periods, off.periods, strict=True))
        national["note"] = "; ".join(n for n in (national["note"],
                                                 f"hectares moved per period: {moved}") if n)
    out = [national]
    rix, names = cm.ctx.region_rows()
    for r, name in enumerate(names):
        sel = rix == r
        moved = float((diff & sel).sum() * ha)
        if moved == 0:
            continue
        out.append({"rule": item.id, "kind": kind, "type": head["type"],
                    "status": item.status, "in_scenario": head["in_scenario"],
                    "switched": head["switched"], "region": name, "ha_moved": moved,
                    **per_use(sel)})
    return out


def columns(rows: list[dict[str, Any]]) -> list[str]:
    return with_ha_columns(BASE_COLUMNS, rows)


def write(rows: list[dict[str, Any]], path: Path) -> Path:
    write_csv(path, rows, columns(rows))
    return path


def text_table(rows: list[dict[str, Any]]) -> list[str]:
    """The national rows as a fixed-width table, largest cost first."""
    nat = [r for r in rows if r.get("region") == "national"]
    nat.sort(key=lambda r: -(r.get("cost") or 0.0) if r.get("cost") is not None else 1e300)
    columns = [Column("rule", "<", 34), Column("st", "<", 2), Column("switched", "<", 8),
               Column("cost", ">", 12), Column("proven bracket", ">", 25),
               Column("LP cost", ">", 12), Column("ha moved", ">", 9),
               Column("largest shifts (ha with − without the rule)", gap=2)]
    lines = []
    for r in nat:
        head = [r["rule"][:34], r["status"], r["switched"]]
        if r.get("cost") is None:
            lines.append([*head, "-", "-", "-", "-", r.get("note", "")])
            continue
        shifts = sorted(((k[3:], v) for k, v in r.items() if k.startswith("ha:") and v),
                        key=lambda kv: -abs(kv[1]))[:3]
        shift = ", ".join(f"{u} {number(v, '+,.0f')}" for u, v in shifts) or "none"
        mark = " (sign not proven)" if r.get("within_gap") == "yes" and r["cost"] != 0 else ""
        lo, hi = r.get("cost_lo"), r.get("cost_hi")
        brk = "-" if lo is None or hi is None else \
            f"[{number(lo, ',.2f')}, {number(hi, ',.2f')}]"
        lp = r.get("lp_cost")
        lines.append([*head, number(r["cost"], ",.4f"), brk,
                      "-" if lp is None else number(lp, ",.4f"),
                      number(r["ha_moved"], ",.0f"), shift + mark])
    return table(columns, lines)
