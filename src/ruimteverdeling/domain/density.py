"""Homes per hectare of new housing, per cell.

A scenario's ``housing_density`` gives a ``default`` and values ``per_region`` (names of the
regions of a region layer, the study area's by default). The density of land cell ``c`` is

    d_c = per_region[name(region(c))]   when the scenario gives one for c's region,
    d_c = default                        otherwise,

and the homes of a hectare of new housing on ``c`` are ``d_c`` (homes targets, proximity
shares and the ``new_homes`` indicator all count with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ruimteverdeling.area.studyarea import StudyArea


@dataclass(frozen=True)
class HomesPerHectare:
    """The density settings as numbers: a default and values per region name."""

    default: float
    per_region: dict[str, float] = field(default_factory=dict)
    regions: str | None = None  # the region layer of ``per_region`` (None: the area's)

    @classmethod
    def from_any(cls, value: Any) -> HomesPerHectare | None:
        """From a scenario's ``housing_density`` (the model, or its resolved dict in a run's
        manifest), or None when the scenario has none."""
        if value is None:
            return None
        if not isinstance(value, dict):
            value = value.model_dump()
        if value.get("default") is None:
            return None
        return cls(float(value["default"]),
                   {str(k): float(v) for k, v in (value.get("per_region") or {}).items()},
                   value.get("regions"))

    def layer(self, area: StudyArea) -> str:
        """The region layer the per-region values refer to."""
        return self.regions or area.manifest.regions

    def cells(self, area: StudyArea, land_cells: np.ndarray) -> np.ndarray:
        """``d_c`` for every cell of ``land_cells`` (flat grid indices).

        With values per region, the study area must have their region layer (the rules check
        it before compiling; the indicators call the criterion n/a without it).
        """
        dens = np.full(land_cells.size, self.default, float)
        if self.per_region:
            layer = self.layer(area)
            reg = area.layer(layer).data.ravel()[land_cells]
            for rid, name in area.region_names(layer).items():
                if name in self.per_region:
                    dens[reg == rid] = self.per_region[name]
        return dens
