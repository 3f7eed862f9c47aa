"""Comply or explain: the only way to relax a gemaakte keuze (status G).

The Voorontwerp Nota Ruimte (Water en bodem sturend, uitgangspunt 7): "Comply or explain: De
structurerende keuzes uit de brief zijn leidend en afwijken vraagt om zorgvuldige
onderbouwing." A scenario may therefore not switch off or change a G rule or target directly
(the loader rejects that); it lists an ``overrides:`` entry with a ``justification`` instead:

* ``disable`` — the rule or target is not applied;
* ``soften`` — a rule that closes pairs (exclusion, green buffer) becomes a cost of
  ``penalty`` per hectare it would have closed; a hard target, or a rule of rows with a
  ``penalty`` field (proximity share, use share), becomes soft with ``penalty`` per unit
  missed;
* ``set`` — parameters change (e.g. a narrower buffer).

Every override is reported with the hectares it changes (see ``report``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.rules.registry import family_of
from ruimteverdeling.scenario.schema import Override, RuleBase, Scenario, Target
from ruimteverdeling.strict import pydantic_problems


@dataclass
class Applied:
    """An override, and the rule or target before and after it."""

    override: Override
    kind: str  # "rule" | "target"
    original: Any
    effective: Any | None  # None when disabled
    soften_penalty: float | None = None


def apply(scenario: Scenario) -> tuple[list[RuleBase], list[Target], list[Applied]]:
    """Effective rules and targets after the overrides, and what was applied."""
    rules = {r.id: r for r in scenario.rules}
    targets = {t.id: t for t in scenario.targets}
    applied: list[Applied] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, o in enumerate(scenario.overrides):
        field = f"overrides[{i}]"
        if o.rule in seen:
            problems.append(Problem(scenario.path, field,
                                    f"'{o.rule}' is overridden twice",
                                    "combine the changes in one override"))
            continue
        seen.add(o.rule)
        kind = "rule" if o.rule in rules else "target"
        item = rules[o.rule] if kind == "rule" else targets[o.rule]
        if o.action == "disable":
            eff = None
        elif o.action == "soften":
            if kind == "target":
                eff = item.model_copy(update={"hard": False, "penalty": o.penalty})
            elif not family_of(item).zone and "penalty" in type(item).model_fields:
                eff = item.model_copy(update={"penalty": o.penalty})
            elif not family_of(item).zone:
                problems.append(Problem(scenario.path, f"{field}.action",
                                        f"a {item.type} rule cannot be softened",
                                        "use `disable` or `set` for it"))
                continue
            else:
                eff = item
        else:
            data = item.model_dump()
            data.update(o.set or {})
            for key in ("id", "type", "status", "source"):
                if key in (o.set or {}):
                    problems.append(Problem(scenario.path, f"{field}.set.{key}",
                                            f"`{key}` cannot be changed by an override",
                                            "change parameters only"))
            try:
                eff = type(item).model_validate(data)
            except ValidationError as exc:
                for p in pydantic_problems(exc, scenario.path, type(item)):
                    problems.append(Problem(p.file, f"{field}.set" + (
                        f".{p.field}" if p.field else ""), p.message, p.fix))
                continue
        applied.append(Applied(o, kind, item, eff,
                               o.penalty if o.action == "soften" and kind == "rule" else None))
    if problems:
        raise InputError(problems)
    by_id = {a.override.rule: a for a in applied}

    def effective(items: list[Any]) -> list[Any]:
        """Each item as overridden (dropped when its override removes it)."""
        out = []
        for item in items:
            a = by_id.get(item.id)
            if a is None:
                out.append(item)
            elif a.effective is not None:
                out.append(a.effective)
        return out

    return effective(scenario.rules), effective(scenario.targets), applied
