"""The registry of rule families: ``type:`` → :class:`~ruimteverdeling.rules.family.RuleFamily`.

Every family is one module under :mod:`ruimteverdeling.rules` declaring its schema, checks,
compilation, report rows and mathematics (see ``docs/adding-a-rule-family.md``); it is
registered below with one line. The compile loop (:mod:`ruimteverdeling.rules.compile`), the
overrides, the rules table and the scenario loader go through this registry, never through the
families by name.
"""

from __future__ import annotations

import typing
from pathlib import Path

from ruimteverdeling.rules import (
    conflict,
    cost,
    exclusion,
    fairness,
    green_buffer,
    ladder,
    location,
    proximity_share,
    reservation,
    use_share,
)
from ruimteverdeling.rules.family import RuleFamily
from ruimteverdeling.scenario import loader
from ruimteverdeling.scenario.schema import RuleBase, Scenario
from ruimteverdeling.scenario.schema import scenario_model as _scenario_model

FAMILIES: dict[str, RuleFamily] = {}
"""The registered families by ``type:``, in the order they were registered."""


def register(family: RuleFamily) -> RuleFamily:
    """Add ``family`` to the registry (its ``type`` must be new and be its schema's tag)."""
    if family.type in FAMILIES:
        raise ValueError(f"rule family '{family.type}' registered twice")
    if not (isinstance(family.schema, type) and issubclass(family.schema, RuleBase)):
        raise TypeError(f"rule family '{family.type}': the schema must derive from RuleBase")
    field = family.schema.model_fields.get("type")
    if field is None or typing.get_args(field.annotation) != (family.type,) or \
            field.default != family.type:
        raise TypeError(f"rule family '{family.type}': its schema needs "
                        f"`type: Literal[\"{family.type}\"] = \"{family.type}\"`")
    FAMILIES[family.type] = family
    return family


def family_of(rule: RuleBase) -> RuleFamily:
    """The family of a rule entry (by its ``type``)."""
    return FAMILIES[rule.type]  # every family's schema declares `type`


def scenario_model() -> type[Scenario]:
    """The scenario model whose rule entries are validated by the registered families."""
    return _scenario_model(FAMILIES)


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge (``extends:``) and validate a scenario file with the registered families
    (:func:`ruimteverdeling.scenario.loader.load_scenario`)."""
    return loader.load_scenario(path, FAMILIES)


register(exclusion.FAMILY)
register(green_buffer.FAMILY)
register(cost.FAMILY)
register(ladder.FAMILY)
register(fairness.FAMILY)
register(proximity_share.FAMILY)
register(conflict.FAMILY)
register(reservation.FAMILY)
register(location.FAMILY)
register(use_share.FAMILY)
