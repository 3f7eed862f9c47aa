"""The layers a scenario needs, what each is for and where to get it.

A scenario names layers of its study area under the keys ``layer`` (rules, zones, value and
suitability terms), ``within`` (targets counted inside a mask) and ``regions`` (targets and
fairness per region of another region layer, per-region densities); targets and rules per
region without ``regions:`` use the study area's region layer. A reference counts only when
the item is on: a rule or target that is off (status A, ``enabled: false``, or disabled by an
override) does not need its layer, and is listed apart. The study area itself always needs its
current land use and its regions.

For each layer :func:`layer_needs` gives its kind (from ``data/sources.yaml``, else from how
the scenario uses it: ``points:`` → continuous or distance, ``categories:`` or ``where.equals``
→ categorical, ``mask:`` or a zone without ``where`` → mask, ``regions:`` → regions), what it is
for and where to get it (``data/sources.yaml``), the items that need it, and whether the study
area has it. :func:`missing_layer` is the problem a check reports for a layer the study area
lacks, with the same facts (:mod:`ruimteverdeling.rules.checks`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruimteverdeling.area.codelists import Source, sources
from ruimteverdeling.area.manifest import load_manifest
from ruimteverdeling.area.studyarea import CURRENT_USE
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.rules import overrides
from ruimteverdeling.scenario.schema import Scenario

LAYER_KEYS = ("layer", "within", "regions")
"""Keys of the scenario schema whose text values name layers of the study area."""


@dataclass(frozen=True)
class Reference:
    """One place of a scenario that names a layer."""

    layer: str
    field: str
    """The field in the merged scenario (``rules[3].layer``)."""
    kind: str | None
    """The kind of layer this use implies (None when it does not tell)."""


@dataclass
class LayerNeed:
    """What a scenario needs of one layer (module docstring)."""

    name: str
    kind: str | None
    purpose: str
    get: list[str]
    unit: str | None = None
    required: bool = False
    needed_by: list[str] = field(default_factory=list)
    off_only: list[str] = field(default_factory=list)
    """Items that are off and name the layer (it is needed only when they are switched on)."""
    present: bool | None = None
    """Whether the study area has it (None when no study area was given)."""

    @property
    def optional(self) -> bool:
        """Only items that are off need it."""
        return not self.required and not self.needed_by

    @property
    def status(self) -> str:
        if self.present is None:
            return "optional" if self.optional else "needed"
        if self.present:
            return "present"
        return "not needed" if self.optional else "MISSING"

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.name, "kind": self.kind, "unit": self.unit,
                "status": self.status, "required": self.required,
                "needed_by": list(self.needed_by), "only_by_items_that_are_off":
                list(self.off_only), "for": self.purpose, "get": list(self.get)}

    def lines(self) -> list[str]:
        """The layer in a few lines of text (for ``validate --needs``)."""
        kind = self.kind or "?"
        if self.unit:
            kind += f" ({self.unit})"
        out = [f"{self.name:24s} {kind:16s} {self.status:10s} {self.purpose}"]
        pad = " " * 4
        users = (["the study area itself (required)"] if self.required else []) + \
            self.needed_by
        if users:
            out.append(f"{pad}needed by: {', '.join(users)}")
        if self.off_only:
            out.append(f"{pad}{'also named' if not self.optional else 'only named'} by items "
                       f"that are off: {', '.join(self.off_only)}")
        for where in self.get:
            out.append(f"{pad}get it from: {where}")
        return out


# ------------------------------------------------------------------------------------------------
# references
# ------------------------------------------------------------------------------------------------
def references(data: Any, prefix: str) -> Iterator[Reference]:
    """Every layer named in ``data`` (a model dump), with its field below ``prefix``."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in LAYER_KEYS and isinstance(value, str):
                yield Reference(value, f"{prefix}.{key}", _kind_of_use(key, data))
            elif isinstance(value, dict | list):
                yield from references(value, f"{prefix}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from references(value, f"{prefix}[{i}]")


def _kind_of_use(key: str, holder: dict[str, Any]) -> str | None:
    """The kind of layer a reference implies (module docstring)."""
    if key == "regions":
        return "regions"
    if key == "within":
        return "mask"
    if holder.get("points") is not None:
        return "continuous or distance"
    if holder.get("within_m") is not None:
        return "distance"
    if holder.get("categories") is not None:
        return "categorical"
    if holder.get("mask") is not None:
        return "mask"
    where = holder.get("where")
    if isinstance(where, dict):
        if where.get("equals") is not None:
            return "categorical"
        if where.get("above") is not None or where.get("below") is not None:
            return "continuous"
    return "mask" if "where" in holder else None


def item_label(key: str, item: Any) -> str:
    """``rule brook_valley_buffers (exclusion, G)`` or ``target homes (T)``."""
    if key == "rules":
        return f"rule {item.id} ({item.type}, {item.status})"
    return f"target {item.id} ({item.status})"


def item_references(key: str, index: int, item: Any, regions: str) -> list[Reference]:
    """The layers one rule or target names; per-region items without ``regions:`` name the
    study area's region layer ``regions``."""
    out = list(references(item.model_dump(), f"{key}[{index}]"))
    per_region = getattr(item, "per_region", False) is True or \
        getattr(item, "region", None) is not None or getattr(item, "type", None) == "fairness"
    if per_region and getattr(item, "regions", None) is None:
        out.append(Reference(regions, f"{key}[{index}].regions", "regions"))
    return out


# ------------------------------------------------------------------------------------------------
# the needs of a scenario
# ------------------------------------------------------------------------------------------------
def layer_needs(scenario: Scenario, available: Collection[str] | None = None,
                current_use: str = "landuse", regions: str = "regions") -> list[LayerNeed]:
    """Every layer ``scenario`` needs (module docstring), the study area's own first.

    ``available`` are the layer names of the study area (None: not known); ``current_use``
    and ``regions`` are the names of its land-use and region layers.
    """
    needs: dict[str, LayerNeed] = {}

    def need(name: str, kind: str | None) -> LayerNeed:
        if name not in needs:
            src = sources().get(name)
            needs[name] = LayerNeed(
                name, src.kind if src else kind, purpose_of(name, src), where_to_get(src),
                src.unit if src else None,
                present=None if available is None else name in available)
        elif needs[name].kind is None and kind is not None:
            needs[name].kind = kind
        return needs[name]

    for name, kind in ((current_use, "categorical"), (regions, "regions")):
        n = need(name, kind)
        n.required = True
        if n.purpose.startswith("not described"):
            n.purpose = ("current land use (required)" if kind == "categorical" else
                         "regions (provinces) of the study area (required)")
    eff_rules, eff_targets, _ = overrides.apply(scenario)
    on_ids = {i.id for i in [*eff_rules, *eff_targets] if i.is_enabled}
    for key, items in (("rules", scenario.rules), ("targets", scenario.targets)):
        effective = {i.id: i for i in (eff_rules if key == "rules" else eff_targets)}
        for index, item in enumerate(items):
            current = effective.get(item.id, item)
            label = item_label(key, current)
            for ref in item_references(key, index, current, regions):
                if ref.layer == CURRENT_USE:
                    continue
                n = need(ref.layer, ref.kind)
                target = n.needed_by if item.id in on_ids else n.off_only
                if label not in target:
                    target.append(label)
    for use, recipe in scenario.suitability.items():
        for ref in references(recipe.model_dump(), f"suitability.{use}"):
            if ref.layer != CURRENT_USE:
                n = need(ref.layer, ref.kind)
                label = f"suitability of {use}"
                if label not in n.needed_by:
                    n.needed_by.append(label)
    hd = scenario.housing_density
    if hd is not None and hd.per_region:
        n = need(hd.regions or regions, "regions")
        n.needed_by.append("housing_density.per_region")
    return list(needs.values())


def purpose_of(name: str, src: Source | None = None) -> str:
    """What a layer is for (``data/sources.yaml``)."""
    src = src if src is not None else sources().get(name)
    if src is None:
        return "not described in data/sources.yaml (a layer of this scenario's own)"
    return src.purpose


def where_to_get(src: Source | None) -> list[str]:
    """Every place ``data/sources.yaml`` names for a layer, one line each."""
    return src.places() if src is not None else []


def scenario_needs(scenario: Scenario, area: str | Path | None = None
                   ) -> tuple[list[LayerNeed], Path, Problem | None]:
    """The needs of a loaded scenario against its study area's ``area.yaml`` (``area``
    overrides the scenario's ``area:``), which need not exist yet: returns the needs, the
    area path, and a note when the area could not be read (then nothing is marked present)."""
    path = Path(area).resolve() if area is not None else scenario.area_path
    if not path.exists():
        return layer_needs(scenario), path, Problem(
            path, None, "the study area does not exist yet; every layer below is needed",
            "write it with `ruimteverdeling area init FOLDER` from the files you have")
    try:
        manifest = load_manifest(path)
    except InputError as exc:
        return layer_needs(scenario), path, exc.problems[0]
    return (layer_needs(scenario, set(manifest.layers), manifest.current_use,
                        manifest.regions), path, None)
