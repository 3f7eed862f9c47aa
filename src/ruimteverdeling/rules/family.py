"""What a rule family declares: its schema, its checks, its compilation and its report rows.

A family is one module under :mod:`ruimteverdeling.rules` (``exclusion``, ``cost``, ...) that
ends with ``FAMILY = RuleFamily(...)``; :mod:`ruimteverdeling.rules.registry` lists the
families. The module docstring states the family's mathematics.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ruimteverdeling.errors import Problem
from ruimteverdeling.rules.base import Contribution
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario.schema import RuleBase

if TYPE_CHECKING:
    from ruimteverdeling.rules.reporting import RuleRun

CheckFn = Callable[[Any, int, Context], list[Problem]]
"""``check(rule, index, ctx)``: every problem of the rule against the study area and the use
catalogue (unknown layers, categories, uses), fields named ``rules[index]...``."""
CompileFn = Callable[[Any, Context], Contribution]
"""``compile(rule, ctx)``: the rule's shapes (:mod:`ruimteverdeling.rules.base`); it must not
change ``ctx`` (the compile loop applies closed pairs)."""
ReportFn = Callable[[Any, "RuleRun"], list[dict[str, Any]]]
"""``report(rule, run)``: the rule's rows of ``rules.csv`` after a solve — the columns
``use``, ``region``, ``ha_removed``, ``binds``, ``max_reduced_cost``, ``value`` (the common
columns are filled in by the table); see :mod:`ruimteverdeling.rules.reporting`."""


@dataclass(frozen=True)
class RuleFamily:
    """One rule family.

    ``type``
        the ``type:`` of its entries in a scenario's ``rules:``;
    ``schema``
        the pydantic model of an entry, a subclass of :class:`RuleBase` with
        ``type: Literal["<type>"] = "<type>"``;
    ``check``, ``compile``, ``report``
        see :data:`CheckFn`, :data:`CompileFn`, :data:`ReportFn`;
    ``zone``
        the family closes pairs (:class:`~ruimteverdeling.rules.base.ClosedPairs`): its rules
        are compiled first, before the columns exist, in the order the scenario lists them,
        and an override may soften them into a cost per hectare.
    """

    type: str
    schema: type[RuleBase]
    check: CheckFn
    compile: CompileFn
    report: ReportFn
    zone: bool = False

    @property
    def module(self) -> str:
        """The module that declares the family (its docstring states the mathematics)."""
        return self.compile.__module__

    @property
    def summary(self) -> str:
        """The first line of the family module's docstring."""
        doc = sys.modules[self.module].__doc__ or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""
