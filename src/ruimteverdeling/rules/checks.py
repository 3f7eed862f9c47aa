"""Shared checks of the things rules refer to: layers, categories, uses."""

from __future__ import annotations

from typing import Any

from ruimteverdeling.errors import Problem, did_you_mean
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario.schema import SuitabilityTerm, Where, Zone


def zone(z: Zone | None, field: str, ctx: Context) -> list[Problem]:
    if z is None:
        return []
    return layer_where(z.layer, z.where, field, ctx)


def layer_where(layer: str, where: Where | None, field: str, ctx: Context) -> list[Problem]:
    if not ctx.area.has_layer(layer):
        return [Problem(ctx.file, f"{field}.layer", f"unknown layer '{layer}'",
                        did_you_mean(layer, ctx.area.layer_names))]
    problems = []
    if where is not None and where.equals is not None:
        lay = ctx.area.layer(layer)
        eq = where.equals if isinstance(where.equals, list) else [where.equals]
        problems += [p for e in eq
                     if (p := _unknown_category(lay, layer, e, f"{field}.where.equals", ctx,
                                                "use the integer codes of the layer"))]
    return problems


def uses(use_ids: list[str] | None, field: str, ctx: Context,
         allocatable: bool = True) -> list[Problem]:
    known = ctx.alloc_ids if allocatable else ctx.catalogue.ids
    return [Problem(ctx.file, field, f"unknown use '{u}'", did_you_mean(u, known))
            for u in use_ids or [] if u not in known]


def target_use(use_id: str, field: str, ctx: Context) -> list[Problem]:
    known = sorted(ctx.catalogue.target_uses)
    if use_id in known:
        return []
    return [Problem(ctx.file, field, f"unknown use '{use_id}'", did_you_mean(use_id, known))]


def value_terms(terms: list[SuitabilityTerm], field: str, ctx: Context) -> list[Problem]:
    problems = []
    for k, term in enumerate(terms):
        f = f"{field}[{k}]"
        if not ctx.area.has_layer(term.layer):
            problems.append(Problem(ctx.file, f"{f}.layer", f"unknown layer '{term.layer}'",
                                    did_you_mean(term.layer, ctx.area.layer_names)))
            continue
        lay = ctx.area.layer(term.layer)
        if term.points is not None and lay.kind not in ("continuous", "distance"):
            problems.append(Problem(ctx.file, f"{f}.points",
                                    f"layer '{term.layer}' is {lay.kind}, not continuous",
                                    "use `categories:` or `mask:` for this layer"))
        problems += [p for key in term.categories or {}
                     if (p := _unknown_category(lay, term.layer, key, f"{f}.categories.{key}",
                                                ctx, "use integer codes"))]
    return problems


def _unknown_category(lay: Any, layer: str, key: Any, field: str, ctx: Context,
                      fix_without_names: str) -> Problem | None:
    """The problem of naming a category ``key`` that ``lay`` does not have (None if it has)."""
    try:
        lay.code_of(key)
        return None
    except KeyError:
        names = [str(n) for n in (lay.categories or {}).values()]
        return Problem(ctx.file, field, f"layer '{layer}' has no category '{key}'",
                       did_you_mean(str(key), names) if names else fix_without_names)
