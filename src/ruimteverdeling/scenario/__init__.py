"""Scenario files: the document model (:mod:`.schema`) and its loader (:mod:`.loader`).

The rule entries of a scenario are validated by the rule families of the rules layer, which
this package does not import: :func:`load_scenario` takes them as a parameter, and
:func:`ruimteverdeling.rules.load_scenario` is the same with the engine's registry.
"""

from ruimteverdeling.model.options import MAX_COUNT, MAX_THREADS, MAX_TIME_LIMIT, SolverOptions
from ruimteverdeling.scenario.loader import load_raw, load_scenario, merge, read_yaml
from ruimteverdeling.scenario.schema import (
    MAX_AMOUNT,
    MAX_COEFFICIENT,
    MAX_DENSITY,
    MAX_DISTANCE_M,
    QUANTITY_UNITS,
    Amount,
    Bounds,
    Coefficient,
    Compatibility,
    Density,
    Distance,
    HousingDensity,
    Objective,
    Override,
    Quantity,
    RuleBase,
    RuleFamilies,
    Scaling,
    Scenario,
    Source,
    Status,
    SuitabilityRecipe,
    SuitabilityTerm,
    Target,
    TransitionCosts,
    UseOverride,
    Where,
    Zone,
    scenario_model,
)

__all__ = [
    "MAX_AMOUNT", "MAX_COEFFICIENT", "MAX_COUNT", "MAX_DENSITY", "MAX_DISTANCE_M",
    "MAX_THREADS", "MAX_TIME_LIMIT", "QUANTITY_UNITS", "Amount", "Bounds", "Coefficient",
    "Compatibility", "Density", "Distance", "HousingDensity", "Objective", "Override",
    "Quantity", "RuleBase", "RuleFamilies", "Scaling", "Scenario", "SolverOptions", "Source",
    "Status", "SuitabilityRecipe", "SuitabilityTerm", "Target", "TransitionCosts",
    "UseOverride", "Where", "Zone", "load_raw", "load_scenario", "merge", "read_yaml",
    "scenario_model",
]
