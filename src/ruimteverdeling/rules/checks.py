"""Shared checks of the things rules refer to: layers, categories, uses, region names.

A layer the study area lacks is a :class:`MissingLayer` problem (:func:`missing_layer`) that
says what the layer is for and where to get it (``data/sources.yaml``); the compile step adds
how to switch off the rule or target that names it (:func:`switch_off`).

A region name (a key of ``per_region``, ``region_values`` or a target's ``region``) is judged
by :func:`region_name` against the region layer: a name with land in the study area is fine; a
name the layer knows (its ``categories``, or a name in its file) without land in the study
area is left out with a warning — a scenario for the whole country runs on one province; a
name the layer does not know is a misspelling, an error with "did you mean", when it is the
same up to case, spaces and hyphens as a name of the layer or close to one
(``difflib`` ratio ≥ :data:`MISSPELT`); any other name is left out with a warning naming the
layer's regions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruimteverdeling.area.codelists import sources
from ruimteverdeling.area.studyarea import CURRENT_USE
from ruimteverdeling.errors import Problem, did_you_mean, suggest
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario.schema import SuitabilityTerm, Where, Zone
from ruimteverdeling.synthetic.provenance import regenerate_hint

NEEDS_HINT = "`ruimteverdeling validate SCENARIO --needs` lists every layer the scenario needs"
MISSPELT = 0.75
"""A region name this close to a name of the layer (``difflib`` ratio) is taken for a
misspelling of it. Distinct Dutch provinces stay below it (Noord-Holland and Zuid-Holland:
0.72); ``Utrech`` (0.92), ``Gelderlnd`` (0.95) and ``Utrekt`` (0.77) are above."""


def zone(z: Zone | None, field: str, ctx: Context) -> list[Problem]:
    if z is None:
        return []
    return layer_where(z.layer, z.where, field, ctx)


def layer_where(layer: str, where: Where | None, field: str, ctx: Context) -> list[Problem]:
    if not ctx.area.has_layer(layer):
        return [missing_layer(layer, f"{field}.layer", ctx.file, ctx.area)]
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
            problems.append(missing_layer(term.layer, f"{f}.layer", ctx.file, ctx.area))
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


@dataclass(frozen=True)
class MissingLayer(Problem):
    """A layer the scenario names that the study area does not have (a :class:`Problem`
    that carries the layer's name, so that the item naming it can add how to switch it off)."""

    layer: str = ""


def missing_layer(layer: str, field_name: str, file: Any, area: Any) -> MissingLayer:
    """``field_name`` of ``file`` names ``layer``, which study area ``area`` lacks.

    The message says what the layer is for; the fix offers the close name the user may have
    meant, where to get the layer, and how to list every layer the scenario needs. The check
    of the rule or target adds how to switch it off (:func:`switch_off`). When the study area
    was made by an older synthetic generator, which did not write the layers of this engine's
    scenarios, the fix starts with regenerating it (:func:`outdated_area`).
    """
    src = sources().get(layer)
    what = f" ({src.kind}: {src.purpose})" if src else ""
    message = f"layer '{layer}'{what} is not in the study area ({Path(area.path).name})"
    close = suggest(layer, [n for n in area.layer_names if n != CURRENT_USE])
    fix = f"did you mean '{close}'? If not, add" if close is not None else "add"
    fix += f" it under `layers:` in {area.path}"
    if src is not None:
        fix += f" (kind: {src.kind}); get it from {src.where()}"
    hint = outdated_area(area)
    if hint is not None:
        fix = f"{hint}; otherwise {fix}"
    return MissingLayer(file, field_name, message, f"{fix}; {NEEDS_HINT}", layer)


def outdated_area(area: Any) -> str | None:
    """"made by synthetic-nl 1.0; regenerate with make-area (...)" for a study area made by
    another version of the synthetic generator, else None
    (:func:`ruimteverdeling.synthetic.provenance.regenerate_hint`)."""
    return regenerate_hint(area.manifest, Path(area.path).parent)


def for_item(problem: MissingLayer, key: str, item: Any) -> MissingLayer:
    """The problem naming the rule or target that needs the layer (by id and status), and
    how to do without it."""
    what = "rule" if key == "rules" else "target"
    message = problem.message.replace(
        f"layer '{problem.layer}'", f"{what} '{item.id}' (status {item.status}) needs layer "
        f"'{problem.layer}'", 1).replace(" is not in the study area", ", which is not in the "
                                         "study area", 1)
    fix = (problem.fix or "").replace(f"; {NEEDS_HINT}", f"; {switch_off(key, item)}; "
                                      f"{NEEDS_HINT}")
    return replace(problem, message=message, fix=fix)


def switch_off(key: str, item: Any) -> str:
    """How to do without a rule or target (comply or explain for a gemaakte keuze)."""
    if item.status == "G":
        return (f"or, if it cannot apply in this study area, relax it (a gemaakte keuze) "
                f"through `overrides: [{{rule: {item.id}, action: disable, justification: "
                "...}]`")
    return f"or switch it off in a variant: `{key}: [{{id: {item.id}, enabled: false}}]`"


# ------------------------------------------------------------------------------------------------
# region names
# ------------------------------------------------------------------------------------------------
def region_name(name: str, layer: str, area: Any) -> tuple[str, str | None]:
    """How region ``name`` stands in region layer ``layer`` of ``area`` (module docstring):
    ``("present", None)``, ``("absent", None)`` (the layer knows it, the study area has no land
    of it), ``("misspelt", meant)`` or ``("unknown", None)``."""
    present = list(area.region_names(layer).values())
    if name in present:
        return "present", None
    known = [str(n) for n in (area.layer(layer).categories or {}).values()]
    if name in known:
        return "absent", None
    candidates = sorted(set(present) | set(known))
    plain = _plain(name)
    for c in candidates:
        if _plain(c) == plain:
            return "misspelt", c
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=MISSPELT)
    if close:
        return "misspelt", close[0]
    return "unknown", None


def _plain(name: str) -> str:
    return re.sub(r"[\s\-_.'’]+", "", name).casefold()


def region_names(names: list[str], layer: str, field_of: Any, ctx: Context,
                 ignored: str) -> list[Problem]:
    """Judge region names given for ``layer`` (module docstring): misspellings are returned as
    problems; names without land in the study area are warned about (``ctx.warn``) with what
    happens to them (``ignored``, e.g. "its density is not used"). ``field_of(name)`` is the
    field that gives the name."""
    problems = []
    present = sorted(ctx.area.region_names(layer).values())
    shown = ", ".join(present[:12]) + (f" and {len(present) - 12} more" if len(present) > 12
                                       else "")
    for name in names:
        status, meant = region_name(name, layer, ctx.area)
        if status == "present":
            continue
        if status == "misspelt":
            problems.append(Problem(
                ctx.file, field_of(name), f"unknown region '{name}' (layer '{layer}')",
                f"did you mean '{meant}'? (regions of layer '{layer}' in the study area: "
                f"{shown})"))
        elif status == "absent":
            ctx.warn(Problem(
                ctx.file, field_of(name),
                f"region '{name}' of layer '{layer}' has no land in the study area; {ignored}",
                f"nothing to do if the study area leaves it out on purpose (a variant can drop "
                f"the value with `{name}: null`)"))
        else:
            ctx.warn(Problem(
                ctx.file, field_of(name),
                f"'{name}' is not a region of layer '{layer}' (its regions in the study area: "
                f"{shown}); {ignored}",
                f"if '{name}' is a region of another study area, nothing to do (a variant can "
                f"drop the value with `{name}: null`); otherwise correct the name"))
    return problems
