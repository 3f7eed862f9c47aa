"""Objective terms of the core model.

``suitability`` (benefit)
    Σ_c Σ_u a_c · S[c,u] · x[c,u] — see :mod:`ruimteverdeling.rules.suitability`.
``transition`` (cost)
    Σ_c Σ_{u ≠ e_c} a_c · T[e_c, u] · x[c,u] with ``T`` the scenario's transition-cost matrix
    (``default`` for pairs it does not list, a row's ``"*"`` for the other uses of that row;
    keeping the current use costs nothing).

Both are evaluated for every domain cell; for pinned cells (one allowed use) the value is
added to the term's constant, so that the objective counts the whole domain.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.errors import Problem, did_you_mean
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario import TransitionCosts

CORE_TERMS = ("suitability", "transition")


def transition_matrix(tc: TransitionCosts, ctx: Context) -> np.ndarray:
    """T[i, j]: cost per ha from catalogue use i to allocatable use j (0 on the diagonal)."""
    uses = list(ctx.catalogue)
    alloc = ctx.alloc_ids
    T = np.full((len(uses), len(alloc)), float(tc.default))
    index = {u.id: i for i, u in enumerate(uses)}
    for src, row in tc.matrix.items():
        if "*" in row:
            T[index[src], :] = row["*"]
        for dst, cost in row.items():
            if dst != "*":
                T[index[src], alloc.index(dst)] = cost
    for j, aid in enumerate(alloc):
        T[index[aid], j] = 0.0
    return T


def check_transitions(tc: TransitionCosts, ctx: Context) -> list[Problem]:
    problems = []
    ids = ctx.catalogue.ids
    for src, row in tc.matrix.items():
        if src not in ids:
            problems.append(Problem(ctx.file, f"transition_costs.matrix.{src}",
                                    f"unknown use '{src}'", did_you_mean(src, ids)))
        for dst in row:
            if dst != "*" and dst not in ctx.alloc_ids:
                problems.append(Problem(ctx.file, f"transition_costs.matrix.{src}.{dst}",
                                        f"unknown allocatable use '{dst}'",
                                        did_you_mean(dst, ctx.alloc_ids)))
    return problems


def check_weights(weights: dict[str, float], known: list[str], ctx: Context) -> list[Problem]:
    return [Problem(ctx.file, f"objective.weights.{name}", f"unknown objective term '{name}'",
                    did_you_mean(name, known))
            for name in weights if name not in known]
