"""Rules: the scenario compiled (with numpy only) into a ModelSpec.

One module per rule family (``exclusion``, ``green_buffer``, ``cost``, ``ladder``,
``fairness``, ``proximity_share``, ``conflict``), listed in :mod:`.registry`; targets,
overrides and the core objective terms beside them; :mod:`.compile` chains them.

:func:`load_scenario` reads a scenario file with the registered families (the scenario layer
below does not know them).
"""

from ruimteverdeling.rules.registry import FAMILIES, family_of, load_scenario, scenario_model

__all__ = ["FAMILIES", "family_of", "load_scenario", "scenario_model"]
