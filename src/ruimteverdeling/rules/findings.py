"""What the scenario asks of this study area that the study area cannot give as meant.

The checks of the families and targets find what is *wrong* with a scenario against a study
area (an unknown use, a missing layer). This module finds what would make a run mean something
else than the scenario says, and decides whether that is an error or a warning:

* **An empty mask under a rule.** For every enabled rule or target and every mask or
  categorical layer ``ℓ`` it names, with coverage ``|C_ℓ|`` (land cells inside ``ℓ``, see
  :mod:`ruimteverdeling.area.coverage`): ``|C_ℓ| = 0`` with a gemaakte keuze (status G) is an
  **error** — a decided rule that protects nothing is almost always a layer in the wrong CRS or
  extent, and a run would present the protection as applied; with status T or A it is a
  warning. On a coarsened copy (``solve --resolution``) a thin mask can vanish under the
  majority rule; there it is a warning for every status.
* **A scaling share above 1.** ``s = A / national_area_ha`` (:attr:`Context.area_share`) with
  ``s > 1`` while an enabled target has ``scale: area_share`` is a loud **warning** that names
  both figures, the targets it raises and the fix: every such target asks ``s − 1`` more than
  its national value. Not an error, because the run is still an exact solve of what the
  scenario states, with the factor on record in ``summary.json``; because a grid of the whole
  country can exceed 1 by its coastline cells alone; and because the usual cause — the study
  area counted with its open water against CBS's land area without water — is a choice of the
  scenario (``scaling.open_water``), as in the synthetic demo country, not broken data.
* **Where things come from.** Problems name the file of an ``extends:`` chain that gives the
  field (:meth:`Origins.locate <ruimteverdeling.scenario.origins.Origins.locate>`) and the
  rule or target by its id; :func:`override_notes` says which file each override in effect
  comes from, and which base overrides a variant replaced or removed.

Targets that ask nothing are found when their rows are built
(:func:`ruimteverdeling.rules.targets.vanished`); region names without land in the study area
by :func:`ruimteverdeling.rules.checks.region_names`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ruimteverdeling.area.studyarea import CURRENT_USE
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.rules import checks
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.needs import item_references
from ruimteverdeling.scenario.schema import Scenario

EMPTY_MATTERS = ("mask", "categorical")
"""Kinds of layer whose emptiness inside the study area makes a rule on it act nowhere (a
continuous or distance layer has a value in every cell)."""


# ------------------------------------------------------------------------------------------------
# citing the file and the item
# ------------------------------------------------------------------------------------------------
def cite(problems: list[Problem], key: str, item: Any, index: int, scenario: Scenario
         ) -> list[Problem]:
    """The problems of one rule or target (fields ``{key}[{index}]...`` of the merged
    scenario) naming the file and position that give the field, and — for a missing layer —
    the item by its id and how to switch it off."""
    origins = scenario.origins
    prefix = f"{key}[{index}]"
    out = []
    for p in problems:
        file, field = p.file, p.field
        if field and field.startswith(prefix) and _is_scenario(file, scenario):
            rest = field[len(prefix):]
            first = rest.lstrip(".").split(".")[0].split("[")[0] or None
            touch = origins.item(key, item.id, first)
            if touch is not None:
                file, field = Path(touch.file), f"{key}[{touch.index}]{rest}"
        p = replace(p, file=file, field=field)
        if isinstance(p, checks.MissingLayer):
            p = checks.for_item(p, key, item)
        out.append(p)
    return out


def located(problems: list[Problem], scenario: Scenario) -> list[Problem]:
    """Problems of the merged scenario's other fields (suitability, densities, scaling ...)
    naming the file of the ``extends:`` chain that gives the field."""
    if len(scenario.chain) < 2:
        return problems
    out = []
    for p in problems:
        if p.field and _is_scenario(p.file, scenario) and \
                not p.field.startswith(("rules[", "targets[")):
            file, _ = scenario.origins.locate(p.field)
            if file is not None:
                p = replace(p, file=Path(file))
        out.append(p)
    return out


def _is_scenario(file: Any, scenario: Scenario) -> bool:
    return file is None or scenario.path is None or Path(file) == Path(scenario.path)


# ------------------------------------------------------------------------------------------------
# empty masks
# ------------------------------------------------------------------------------------------------
def empty_masks(key: str, items: list[Any], index: dict[str, int], ctx: Context
                ) -> list[Problem]:
    """Errors (returned) and warnings (``ctx.warn``) for enabled rules or targets on a mask
    or categorical layer that covers no land cell of the study area (module docstring)."""
    area = ctx.area
    coarse = (area.manifest.generator or {}).get("coarsened_from")
    outdated = checks.outdated_area(area)
    regenerate = "" if outdated is None else f"; {outdated}"
    errors = []
    for item in items:
        if not item.is_enabled:
            continue
        i = index.get(item.id, 0)
        seen = set()
        for ref in item_references(key, i, item, area.manifest.regions):
            name = ref.layer
            if name in seen or name == CURRENT_USE or name == area.manifest.current_use or \
                    not area.has_layer(name):
                continue
            seen.add(name)
            try:
                lay = area.layer(name)
            except InputError:
                continue  # the reader's own error is reported by the checks of the area
            if lay.kind not in EMPTY_MATTERS:
                continue
            cov = area.layer_coverage(name)
            if not cov.empty:
                continue
            features = "" if cov.features is None else \
                f"; {cov.features_on_grid:,} of its {cov.features:,} features touch the grid"
            acts = "protects nothing" if key == "rules" else "counts nothing"
            what = "rule" if key == "rules" else "target"
            text = (f"{what} '{item.id}' (status {item.status}) {acts}: layer '{name}' "
                    f"({lay.spec.file}) covers none of the study area's {cov.land_cells:,} "
                    f"land cells{features}")
            check_fix = ("check the layer's CRS (`crs:` on the layer in area.yaml), extent "
                         "and values")
            if coarse:
                ctx.warn(Problem(
                    ctx.file, ref.field,
                    f"{text}, at this resolution (a coarsened copy of {coarse}: a mask set in "
                    "fewer than half of a block's cells is not set)",
                    f"solve on the fine study area to apply it{regenerate}"))
            elif item.status == "G":
                errors.append(Problem(
                    ctx.file, ref.field, text + "; a gemaakte keuze cannot silently apply "
                    "nowhere",
                    f"{check_fix}; if the study area really holds none of it, say so: "
                    f"`overrides: [{{rule: {item.id}, action: disable, justification: "
                    f"'no {name} in this study area'}}]`{regenerate}"))
            else:
                ctx.warn(Problem(
                    ctx.file, ref.field, text,
                    f"{check_fix}; if the study area really holds none of it, nothing to do "
                    f"({checks.switch_off(key, item)} to silence this){regenerate}"))
    return errors


# ------------------------------------------------------------------------------------------------
# the scaling share
# ------------------------------------------------------------------------------------------------
def area_share(scenario: Scenario, targets: list[Any], ctx: Context) -> None:
    """The warning (``ctx.warn``) for an area share above 1 (module docstring), naming the
    figures."""
    sc = scenario.scaling
    scaled = [t.id for t in targets if t.is_enabled and t.scale == "area_share"]
    if sc is None or not scaled:
        return
    share = ctx.area_share
    if share <= 1.0 + 1e-9:
        return
    total, water = ctx.area.land_area_ha, ctx.open_water_ha
    if sc.open_water == "exclude":
        counted = (f"{ctx.scaled_area_ha:,.0f} ha (its land without the {water:,.0f} ha of open "
                   "water, `open_water: exclude`)")
    elif water > 0:
        counted = (f"{total:,.0f} ha (every cell inside it, including {water:,.0f} ha of open "
                   "water)")
    else:
        counted = f"{total:,.0f} ha (every cell inside it)"
    shown = ", ".join(scaled[:6]) + (f" and {len(scaled) - 6} more" if len(scaled) > 6 else "")
    message = (f"the area share is {share:.4f}, above 1: the study area counts {counted} "
               f"against national_area_ha {sc.national_area_ha:,.0f} ha, so the targets with "
               f"`scale: area_share` ({shown}) would ask {share - 1:.1%} more than their "
               "national values")
    dry = (total - water) / sc.national_area_ha
    fixes = ["national_area_ha must be the country's area counted as the study area is: CBS "
             "gives the land area without water (about 3,370,000 ha for the Netherlands)"]
    if sc.open_water == "include" and water > 0:
        fixes.append(f"count the study area the same way with `scaling: {{open_water: "
                     f"exclude}}` (the share is then {dry:.4f})")
    fixes.append("for a study area that is the whole country, set national_area_ha to its "
                 f"own figure ({ctx.scaled_area_ha:,.0f} ha) or more; land outside the "
                 "country belongs `outside` in the land-use layer's `categories:`")
    ctx.warn(Problem(scenario.path, "scaling.national_area_ha", message, "; ".join(fixes)))


# ------------------------------------------------------------------------------------------------
# overrides and their files
# ------------------------------------------------------------------------------------------------
def override_notes(scenario: Scenario) -> list[Problem]:
    """For a scenario that extends another: which file each override in effect comes from,
    which base override it replaced, and which base overrides were dropped."""
    if len(scenario.chain) < 2:
        return []
    origins = scenario.origins
    name = origins.name
    out = []
    for rule, o in origins.overrides.items():
        text = f"the override of '{rule}' ({o.action}) comes from {name(o.file)}"
        fix = None
        if o.replaced is not None:
            file, index, action = o.replaced
            text += (f"; it replaces the override of {name(file)} (overrides[{index}], "
                     f"{action})")
            fix = (f"to keep the base's override, remove overrides[{o.index}] from "
                   f"{name(o.file)}")
        out.append(Problem(Path(o.file), f"overrides[{o.index}]", text, fix))
    for rule, by, came in origins.removed_overrides:
        out.append(Problem(Path(by), "overrides",
                           f"the override of '{rule}' in {name(came)} is removed: the rule "
                           "applies as its base states it"))
    return out
