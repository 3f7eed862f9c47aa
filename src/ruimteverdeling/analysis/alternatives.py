"""Reasonable alternatives (redelijke alternatieven) by Hop-Skip-Jump MGA.

Modelling to generate alternatives (MGA) looks for allocations that are *nearly* as good as
the optimum but as different from it, and from each other, as possible — what a plan-MER calls
reasonable alternatives. This module uses the Hop-Skip-Jump (HSJ) variant:

1. Solve the scenario: optimum ``x⁰`` with objective ``z* = c·x⁰ + c₀``.
2. Keep every alternative near-optimal with one extra row, the *objective floor*:

       c·x + c₀ ≥ z* − S·|z*|          (= (1 − S)·z* when z* > 0)

   with the slack ``S`` (``--slack 5%`` → 0.05). Every hard target and rule still holds.
3. Let ``w_j = 1`` for every column (a cell–use pair) chosen in any allocation found so far
   (``x⁰`` and the earlier alternatives), ``w_j = 0`` otherwise. Alternative ``k`` solves

       min  Σ_j w_j x_j  −  δ·(c·x)        s.t.  objective floor, scenario constraints

   i.e. it keeps as few of the cell–use choices already made as the floor allows. The tiny
   ``δ = 0.5 / (1 + Σ_units (max_u c − min_u c))`` only breaks ties between equally
   different allocations in favour of the better objective (it is worth less than one cell).
   To guarantee that every alternative is new — once every column has been used, the
   weights no longer tell allocations apart — each earlier allocation ``y`` (with chosen
   columns ``S_y``, one per changeable cell) is excluded by a *no-good cut*
   ``Σ_{j∈S_y} x_j ≤ |S_y| − 1``: at least one cell must take another use.
4. Add the new allocation's columns to the weights and repeat ``count`` times; stop early
   (with a note) when no further allocation satisfies the floor.

**Several periods** (a scenario with ``periods``, :mod:`ruimteverdeling.rules.pathways`): the
columns are the cells' pathways (a use per period), so the overlap counts the pathways
already chosen and an alternative differs from the others over all periods together; the
objective floor is on the joint objective. The shares and hectares of differing land count
cell-periods (a cell whose use differs in two of three periods counts twice), the hectares
per use are those of the last period. When the pathway model's pathways are generated
(national models), the alternatives choose among those generated for the optimum.

Each MGA solve gets at most ``max(10 s, 2 × the scenario's own solve)`` (never more than the
time limit); its status and gap are reported. Its status is decided on its *decision gap*
against the status quo under the MGA objective ``d``: ``(bound − d·x) / |d·x − d·x_sq|``
(``x_sq`` every unit keeping its current use, :func:`ruimteverdeling.analysis.pareto.status_quo_x`),
the same anchor as the scenario's own solve and the Pareto points. ``d·x − d·x_sq`` is how
many fewer of the earlier allocations' choices the alternative keeps than the status quo
keeps (plus the δ tie-break): what the alternative changes. The whole overlap objective
(``gap``, kept for comparison) counts every unit the floor holds in place as well.
By default (``quick``) the solves of a cell model
share one kept LP (:class:`ruimteverdeling.model.warm_mga.NearOptimalSession`): the floor is
added once, each solve changes the objective and appends its no-good row, the dual simplex
starts from the floor crash basis (the objective floor tight, its dual guessed by a parametric
argmax; :func:`ruimteverdeling.model.warm_mga.floor_crash_basis`), and the allocation is the
LP vertex rounded with
margins on the rows it breaks (or repaired); its gap is against that LP's bound. The full
solve runs when that finds no allocation. A pathway model gets the quick re-solve of
:func:`ruimteverdeling.model.warm.resolve` from the solve before it.

**Location rules** (minimum sizes and counts of connected locations) are not rows of the cell
model: like the scenario's own solve, each alternative's allocation is made to meet them
afterwards (:mod:`ruimteverdeling.rules.location`), which may cost objective points, so an
alternative can end just below the floor (``within_slack = no``) or closer to an earlier one.

Each alternative is within the slack by construction (checked) and differs from the optimum
and from every earlier alternative in at least one cell. The table
reports for each: the objective and its loss against ``z*``, the share of land cells whose use
differs from the optimum and the smallest share against any earlier allocation, the overlap
``Σ w·x`` it reached, the solver's status and gap of the MGA solve, and hectares per use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling import formatting
from ruimteverdeling.analysis.budget import Budget, floor_for
from ruimteverdeling.analysis.pareto import resolve_options, status_quo_x, within_share
from ruimteverdeling.errors import InfeasibleError, InputError, SolverError
from ruimteverdeling.formatting import Column, number
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import decision_gap
from ruimteverdeling.model.solve import Solution, proven_gap
from ruimteverdeling.model.warm_mga import NearOptimalSession
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.results.summary import with_ha_columns
from ruimteverdeling.rules import location
from ruimteverdeling.rules import pathways as pwm
from ruimteverdeling.rules.compile import CompiledModel

BASE_COLUMNS = ["alternative", "objective", "objective_loss", "within_slack",
                "share_cells_differing", "ha_differing", "min_share_vs_earlier", "overlap",
                "mga_status", "mga_gap", "mga_decision_gap", "folder"]
"""Leading columns of ``alternatives.csv``; ``ha:<use>`` (hectares after, national) follow."""


@dataclass
class Alternative:
    label: str
    x: np.ndarray
    objective: float
    overlap: float
    status: str
    gap: float
    solution: Solution | None = None


@dataclass
class Alternatives:
    optimum: Alternative
    items: list[Alternative]
    floor: float
    slack: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    out_dir: Path | None = None
    notes: list[str] = field(default_factory=list)


def parse_slack(value: str | float) -> float:
    """``"5%"``, ``"0.05"`` or ``0.05`` → 0.05 (InputError outside [0, 1))."""
    text = str(value).strip()
    try:
        s = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise InputError.single(None, "--slack", f"not a number: {value!r}",
                                "e.g. --slack 5% or --slack 0.05") from None
    if not 0.0 <= s < 1.0:
        raise InputError.single(None, "--slack", f"the slack must be in [0, 1), got {s:g}",
                                "e.g. --slack 5% (objective at least 95 % of the optimum)")
    return s


def objective_floor(z_star: float, slack: float) -> float:
    """``z* − S·|z*|``: ``(1 − S)·z*`` for a positive optimum."""
    return z_star - slack * abs(z_star)


def generate(cm: CompiledModel | pwm.Pathway, optimum: Solution, slack: float, count: int,
             options: SolverOptions | None = None, progress: Progress | None = None,
             budget: float | None = None, quick: bool = True,
             found_one: Callable[[str, Solution], None] | None = None) -> Alternatives:
    """``count`` HSJ alternatives around ``optimum`` (see the module docstring).
    ``budget``: seconds for all the solves together (each MGA solve and its location-rule
    step), each its share of what is left (:mod:`ruimteverdeling.analysis.budget`), at most
    the per-solve time limit. ``quick`` (default): each MGA solve is first a re-solve on the
    kept LP (:class:`ruimteverdeling.model.warm_mga.NearOptimalSession`: one warm LP and its
    vertex rounded, the gap what they prove; for a pathway model the quick re-solve of
    :func:`ruimteverdeling.model.warm.resolve`), the full solve only when that finds no
    allocation. ``found_one(label, solution)``: called with each alternative's run-folder
    solution (:func:`solutions`) as soon as it is found (to write its folder while the next
    one is solved)."""
    say = progress or silent()
    if options is None:
        options = resolve_options(pwm.solver_options(cm) if isinstance(cm, pwm.Pathway)
                                  else cm.scenario.solver, optimum)
    if count < 1:
        raise InputError.single(None, "--count", "ask for at least one alternative",
                                "e.g. --count 3")
    spec = cm.spec
    n_x = spec.n_x
    c, c0 = spec.obj, spec.obj_offset
    z_star = float(optimum.objective)
    floor = objective_floor(z_star, slack)
    # δ: the whole objective spread over units is worth less than half a cell of overlap
    cx = c[:n_x]
    starts = np.flatnonzero(np.r_[True, spec.col_unit[1:] != spec.col_unit[:-1]]) \
        if n_x else np.zeros(0, np.int64)
    spread = float((np.maximum.reduceat(cx, starts) - np.minimum.reduceat(cx, starts)).sum()) \
        if n_x else 0.0
    delta = 0.5 / (1.0 + spread)
    used = optimum.x[:n_x] > 0.5
    floor_row = ("mga:objective_floor", c, floor - c0 - 1e-9 * max(1.0, abs(floor)), np.inf)
    opt = Alternative("optimum", optimum.x, z_star, float(used.sum()), optimum.status,
                      optimum.gap, optimum)
    found: list[Alternative] = []
    width = len(str(count))
    cuts = [_no_good(spec, optimum.x, "mga:not_optimum")]
    notes = []
    if isinstance(cm, pwm.Pathway) and not cm.explicit:
        notes.append(f"the alternatives choose among the {spec.n_x:,} pathways generated for "
                     f"the optimum (of {cm.count():,})")
    warm = optimum.warm  # each solve starts from the one before it (same compiled model)
    located = not isinstance(cm, pwm.Pathway) and bool(location.location_rules(cm))
    shares = Budget(budget, count * (1 + int(located)), options.time_limit,
                    floor_for(optimum))

    def share() -> SolverOptions:
        return options.model_copy(update={"time_limit": shares.share()})

    # the quick solves share one kept LP (the scenario's rows, the floor, the no-good rows
    # as they come), each from the basis the one before it ended with
    session = NearOptimalSession(spec, options, status_quo_x=status_quo_x(cm)) \
        if quick and not isinstance(cm, pwm.Pathway) else None

    for k in range(1, count + 1):
        w = np.zeros(spec.n_cols)
        w[:n_x] = used
        obj = -w + delta * c
        try:
            with say.phase(f"alternative {k}/{count}: least overlap with {k} allocation(s), "
                           f"objective ≥ {floor:,.4f}"):
                sol = None
                if session is not None:
                    try:
                        sol = session.solve(obj, [floor_row, *cuts], floor=floor_row[0])
                        say(f"  near-optimal re-solve ({sol.method}, {sol.status}): "
                            + ", ".join(f"{step} {v:.1f} s" for step, v in sol.seconds.items()
                                        if v >= 0.05))
                    except SolverError as exc:
                        say(f"  {exc}: the full solve with {options.time_limit:.0f} s")
                if sol is None:
                    sol = within_share(cm, obj, [floor_row, *cuts], share(), options, warm,
                                       say, quick=quick and session is None)
        except InfeasibleError:
            notes.append(f"only {k - 1} alternative(s) exist within a slack of {slack:.2%}")
            break
        label = f"alt-{k:0{width}d}"
        with say.phase(f"alternative {k}: location rules"):
            x, note = with_location_rules(cm, sol, share() if located else options)
        if note:
            notes.append(f"{label}: {note}")
        choice = spec.unit_choice(x)
        same = next((a.label for a in [opt, *found]
                     if np.array_equal(spec.unit_choice(a.x), choice)), None)
        if same is not None:
            notes.append(f"{label}: meeting the location rules made it the same allocation as "
                         f"{same}")
        overlap = float(w @ x)
        found.append(Alternative(label, x, spec.objective_value(x), overlap, sol.status,
                                 sol.gap, sol))
        if found_one is not None:
            found_one(label, folder_solution(found[-1], slack, floor, optimum))
        used |= x[:n_x] > 0.5
        warm = sol.warm
        cuts.append(_no_good(spec, x, f"mga:not_{label}"))
    result = Alternatives(opt, found, floor, slack, notes=notes)
    result.rows = table(cm, result)
    return result


def with_location_rules(cm: Any, sol: Solution, options: SolverOptions
                        ) -> tuple[np.ndarray, str]:
    """The allocation of ``sol`` (a solve of the cell model ``cm`` under another objective)
    made to meet the scenario's location rules the way the scenario's own solve does
    (:func:`ruimteverdeling.rules.location.enforce`), and a note when they cannot be met (the
    allocation is then the cell model's). A pathway model has no location rules."""
    if isinstance(cm, pwm.Pathway) or not location.location_rules(cm):
        return sol.x, ""
    out = location.enforce(cm, sol, options)
    info = out.details.get("locations") or {}
    if info.get("status") == "not met":
        return sol.x, f"the location rules are not met ({info.get('message', '')})"
    return out.x, ""


def _no_good(spec: Any, x: np.ndarray, name: str) -> tuple[str, np.ndarray, float, float]:
    """``Σ_{j chosen in x} x_j ≤ n_units − 1``: some changeable cell must differ from ``x``."""
    vec = np.zeros(spec.n_cols)
    vec[spec.unit_choice(x)] = 1.0
    return (name, vec, -np.inf, spec.n_units - 1.0)


def _uses(cm: CompiledModel | pwm.Pathway, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the use of every land cell in every period, stacked; in the last period)."""
    if isinstance(cm, pwm.Pathway):
        per = [pcm.land_use_after(cm.model.project(x, p)) for p, pcm in enumerate(cm.compiled)]
        return np.concatenate(per), per[-1]
    after = cm.land_use_after(x)
    return after, after


def table(cm: CompiledModel | pwm.Pathway, alts: Alternatives) -> list[dict[str, Any]]:
    """One row for the optimum and one per alternative (see :data:`BASE_COLUMNS`)."""
    last = cm.last if isinstance(cm, pwm.Pathway) else cm
    n_periods = len(cm.years) if isinstance(cm, pwm.Pathway) else 1
    ha = last.area.cell_area_ha
    uses = last.catalogue.ids
    n_land = max(last.ctx.land_cells.size * n_periods, 1)
    z_star = alts.optimum.objective
    after0 = _uses(cm, alts.optimum.x)[0]
    seen = [after0]
    rows = []
    present = np.zeros(len(uses), bool)
    for a in [alts.optimum, *alts.items]:
        present[np.unique(_uses(cm, a.x)[1])] = True
    for a in [alts.optimum, *alts.items]:
        after, end = _uses(cm, a.x)
        diff = after != after0
        if a is alts.optimum:
            min_share = None
        else:
            min_share = min(float((after != s).sum()) / n_land for s in seen)
            seen.append(after)
        counts = np.bincount(end, minlength=len(uses)) * ha
        row = {"alternative": a.label, "objective": a.objective,
               "objective_loss": (z_star - a.objective) / max(abs(z_star), 1.0),
               "within_slack": "yes" if a.objective >= alts.floor - 1e-7 * max(1.0,
                                                                               abs(alts.floor))
               else "no",
               "share_cells_differing": float(diff.sum()) / n_land,
               "ha_differing": float(diff.sum() * ha),
               "min_share_vs_earlier": min_share, "overlap": a.overlap,
               "mga_status": a.status, "mga_gap": a.gap,
               "mga_decision_gap": getattr(a.solution, "decision_gap", None),
               "folder": a.label}
        for j, u in enumerate(uses):
            if present[j]:
                row[f"ha:{u}"] = float(counts[j])
        rows.append(row)
    return rows


def columns(rows: list[dict[str, Any]]) -> list[str]:
    return with_ha_columns(BASE_COLUMNS, rows)


def text_table(rows: list[dict[str, Any]]) -> list[str]:
    """The optimum and the alternatives as a fixed-width table."""
    columns = [Column("alternative", "<", 12), Column("objective", ">", 16),
               Column("loss", ">", 8), Column("differs", ">", 8), Column("vs earlier", ">", 10),
               Column("gap", ">", 8),
               Column("largest areas changed vs optimum (ha)", gap=2)]
    base = rows[0]
    lines = []
    for r in rows:
        shifts = sorted(((k[3:], r[k] - base.get(k, 0.0)) for k in r if k.startswith("ha:")),
                        key=lambda kv: -abs(kv[1]))[:3]
        shift = ", ".join(f"{u} {number(v, '+,.0f')}" for u, v in shifts if v) or "-"
        lines.append([r["alternative"], number(r["objective"], ",.4f"),
                      number(r["objective_loss"], ".2%"),
                      number(r["share_cells_differing"], ".1%"),
                      number(r["min_share_vs_earlier"], ".1%"), number(r["mga_gap"], ".3%"),
                      shift])
    return formatting.table(columns, lines)


def solutions(result: Alternatives, optimum: Solution) -> list[tuple[str, Solution]]:
    """Each alternative as ``(label, Solution)`` for its run folder
    (:func:`folder_solution`)."""
    return [(alt.label, folder_solution(alt, result.slack, result.floor, optimum))
            for alt in result.items]


def folder_solution(alt: Alternative, slack: float, floor: float, optimum: Solution
                    ) -> Solution:
    """The alternative ``alt`` as a Solution for its run folder: status ``feasible``, the
    optimum's bound (so its gap is measured against what is proven for the scenario; its
    decision gap too, against the scenario's status-quo value), method ``mga-hsj`` and the
    MGA solve (slack, floor, overlap, status, gap, decision gap) in its details."""
    assert alt.solution is not None
    return Solution(
        "feasible", alt.x, alt.objective, optimum.bound,
        proven_gap(alt.objective, optimum.bound), "mga-hsj", optimum.backend,
        optimum.solver, dict(alt.solution.seconds),
        {"mga": {"slack": slack, "objective_floor": floor,
                 "overlap": alt.overlap, "status": alt.status, "gap": alt.gap,
                 "decision_gap": alt.solution.decision_gap}},
        optimum.row_dual, optimum.status_quo_value,
        decision_gap(alt.objective, optimum.bound, optimum.status_quo_value))
