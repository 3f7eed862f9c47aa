"""Lexicographic mode: the water-and-soil terms first, then everything else within a tolerance.

The lagenbenadering of the Voorontwerp Nota Ruimte (water en bodem sturend) as an order of
optimisation instead of a weighting (``objective: {mode: lexicographic}``).

With ``f_t(x) = g_t·x + g_t⁰`` the value of objective term ``t`` in its natural units, ``w_t``
its weight and ``σ_t`` = +1 for a benefit, −1 for a cost, stage 1 maximises the weighted sum of
the ``first`` terms alone, under every rule and hard target of the scenario (soft targets keep
their penalties in stage 2 only):

    F(x) = Σ_{t ∈ first} σ_t · w_t · f_t(x)            (for costs: −(the water-and-soil cost))
    stage 1:  x¹ = argmax F(x) + ρ · z(x)   s.t.  x feasible for the scenario

with ``z`` the scenario's whole weighted objective and ``ρ = 1e-7``: a tie-break (stage 1
gives up a point of ``F`` only for 10⁷ points of ``z``, more than the whole objective of the
demo area, 1.6·10⁶), which makes the stage-1 LP far less degenerate (6 s instead of 200 s on
the demo) and its allocation a sensible plan from which stage 2 starts. Stage 1's objective,
bound and gap are those of ``F + ρ·z``; ``F(x¹)`` is reported beside them.

Stage 2 maximises the scenario's whole weighted objective ``z(x)`` with one more row, which
keeps ``F`` within the tolerance ``τ`` of what stage 1 reached:

    stage 2:  max z(x)   s.t.  x feasible,  F(x) ≥ F(x¹) − τ · max(|F(x¹)|, 1)

(less a round-off margin of 1e-7 of the level). ``τ = 0`` is the strict lexicographic order;
with ``τ > 0`` stage 2 may give up that fraction of the water-and-soil value for the rest.
Stage 1's allocation meets the stage-2 row, so stage 2 starts from it and is always feasible.

What is proven: each stage reports its own status, objective, bound and gap (and the
absolute gap, bound − objective). Stage 1's gap is relative to ``|F + ρ·z|`` (there is no
status-quo anchor for a part of the objective); stage 2's are the scenario objective's total
and decision gaps, as in a weighted solve — of the model *with* the stage-2 row, so they say
how far stage 2 is from the best plan that keeps water and soil first, not from the weighted
optimum. When stage 1 is not proven optimal, the stage-2 row is relative to the stage-1
*incumbent* ``F(x¹)``, not to the unknown optimum, and the summary says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ruimteverdeling.analysis.pareto import criterion
from ruimteverdeling.errors import InputError, did_you_mean
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.model.solve import solve as solve_spec
from ruimteverdeling.model.spec import RowBlock
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.rules.compile import CompiledModel

KEEP = 1e-7
RHO = 1e-7
"""Weight of the whole objective in stage 1: it only breaks ties between allocations of
(almost) the same stage-1 value (see the module docstring)."""
ROW = "lexicographic:first"


def stage_one(cm: CompiledModel) -> tuple[np.ndarray, float, list[str]]:
    """The stage-1 criterion ``F(x) = vec·x + const`` (maximised) and its terms."""
    spec = cm.spec
    names = list(cm.scenario.objective.first)
    if not names:
        raise InputError.single(cm.scenario.path, "objective.first",
                                "`mode: lexicographic` has no stage-1 term left",
                                "name at least one objective term under `objective.first`")
    known = [t.name for t in spec.terms]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError.single(
            cm.scenario.path, "objective.first",
            f"stage-1 term '{unknown[0]}' is not an objective term of this scenario (no rule "
            "adds it, or it is misspelt)", did_you_mean(unknown[0], known))
    vec = np.zeros(spec.n_cols)
    const = 0.0
    for name in names:
        c = criterion(cm, name)  # sense: +1 benefit, −1 cost
        w = spec.term(name).weight
        vec += c.sense * w * c.vec
        const += c.sense * w * c.const
    return vec, const, names


def _stage(label: str, sol: Solution, value: float | None = None) -> dict[str, Any]:
    return {"stage": label, "status": sol.status, "objective": sol.objective,
            "bound": sol.bound, "gap": sol.gap, "decision_gap": sol.decision_gap,
            "abs_gap": abs(sol.bound - sol.objective), "method": sol.method,
            **({"first_value": value} if value is not None else {})}


def solve_lexicographic(cm: CompiledModel, options: SolverOptions | None = None,
                        progress: Progress | None = None) -> tuple[Solution, dict[str, Any]]:
    """Both stages (see the module docstring): stage 2's solution, and a report of both."""
    say = progress or silent()
    options = options or cm.scenario.solver
    spec = cm.spec
    tol = cm.scenario.objective.tolerance
    vec, const, names = stage_one(cm)
    s1_spec = replace(spec, obj=vec + RHO * spec.obj, obj_offset=const + RHO * spec.obj_offset,
                      status_quo_value=None)
    with say.phase(f"stage 1: {' + '.join(names)} alone"):
        s1 = solve_spec(s1_spec, options, say)
    f1 = float(vec @ s1.x) + const
    say(f"stage 1 {s1.status}: {' + '.join(names)} = {f1:,.4f} (with the tie-break: "
        f"objective {s1.objective:,.4f}, bound {s1.bound:,.4f}, gap {s1.gap:.4%})")
    level = f1 - tol * max(abs(f1), 1.0)
    lo = level - const - KEEP * max(1.0, abs(level))
    row = RowBlock(ROW, "rule", sp.csr_matrix(vec.reshape(1, -1)), np.array([lo]),
                   np.array([np.inf]), labels=["stage 1"], ref="lexicographic")
    with say.phase(f"stage 2: the whole objective, stage 1 within {tol:g}"):
        s2 = solve_spec(spec.with_rows(row), options, say, warm=s1.warm)
    f2 = float(vec @ s2.x) + const
    report = {
        "mode": "lexicographic", "first": names, "tolerance": tol,
        "first_level": level,
        "stages": [_stage("1: " + " + ".join(names), s1, f1),
                   _stage("2: whole objective", s2, f2)],
        "tie_break": RHO,
        "note": ("stage 1's objective, bound and gap are those of F + "
                 f"{RHO:g}·(whole objective); its value of F alone is first_value. " +
                 ("Stage 1 is proven optimal within the solver's gap: the stage-2 row is "
                  "relative to that optimum." if s1.optimal else
                  "Stage 1 is NOT proven optimal: the stage-2 row is relative to its "
                  "incumbent, and a better stage-1 allocation may exist.")),
    }
    return s2, report
