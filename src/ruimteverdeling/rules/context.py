"""What every rule compiler needs: the area, the uses, the domain of changeable cells.

Notation used in the rule docstrings:

* ``c`` a cell with area ``a_c`` (ha); ``e_c`` its current use;
* the *domain* ``D`` = land cells whose current use is allocatable and not built
  (existing built-up land, industry, infrastructure and open water are fixed context);
* ``U`` the allocatable uses; ``A_c ⊆ U`` the uses still allowed in ``c`` after the rules;
* a domain cell with ``|A_c| = 1`` is *pinned* (no variable; its use is known), with
  ``|A_c| ≥ 2`` it is a *unit* with binaries ``x[c,u]``, ``u ∈ A_c``, ``Σ_u x[c,u] = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.scenario import Scenario, Where
from ruimteverdeling.uses import UseCatalogue


@dataclass
class Context:
    """Shared, precomputed arrays for the rule compilers."""

    scenario: Scenario
    area: StudyArea
    catalogue: UseCatalogue
    land_cells: np.ndarray  # flat indices of all land cells
    land_use_idx: np.ndarray  # catalogue index of the current use of each land cell
    domain: np.ndarray  # bool over land cells: changeable
    alloc_idx: np.ndarray  # catalogue indices of the allocatable uses (columns of `allowed`)
    allowed: np.ndarray  # bool (n_domain, n_alloc)
    reports: list[dict] = field(default_factory=list)

    @classmethod
    def create(cls, scenario: Scenario, area: StudyArea, catalogue: UseCatalogue) -> Context:
        land_cells = np.flatnonzero(area.land.ravel())
        lut = catalogue.code_lut()
        land_use_idx = lut[area.current_use.ravel()[land_cells]].astype(np.int16)
        uses = list(catalogue)
        allocatable = np.array([u.kind == "allocatable" for u in uses])
        built = np.array([u.built for u in uses])
        domain = allocatable[land_use_idx] & ~built[land_use_idx]
        alloc_idx = np.flatnonzero(allocatable).astype(np.int16)
        allowed = np.ones((int(domain.sum()), alloc_idx.size), dtype=bool)
        return cls(scenario, area, catalogue, land_cells, land_use_idx, domain, alloc_idx,
                   allowed)

    # -- convenience ---------------------------------------------------------------------------
    @property
    def file(self) -> Path | None:
        return self.scenario.path

    @property
    def cell_ha(self) -> float:
        return self.area.cell_area_ha

    @property
    def domain_cells(self) -> np.ndarray:
        return self.land_cells[self.domain]

    @property
    def domain_use_idx(self) -> np.ndarray:
        return self.land_use_idx[self.domain]

    @property
    def alloc_ids(self) -> list[str]:
        uses = list(self.catalogue)
        return [uses[i].id for i in self.alloc_idx]

    def alloc_col(self, use_id: str) -> int:
        return self.alloc_ids.index(use_id)

    def layer_values(self, name: str, cells: np.ndarray) -> np.ndarray:
        return self.area.layer(name).data.ravel()[cells]

    def zone(self, layer: str, where: Where | None, cells: np.ndarray) -> np.ndarray:
        """Boolean: which of ``cells`` lie in the zone ``where`` of ``layer``.

        Without ``where`` the zone is every cell where the layer is non-zero (and not NaN).
        """
        lay = self.area.layer(layer)
        v = lay.data.ravel()[cells]
        if where is None or (where.equals is None and where.above is None and where.below is None):
            with np.errstate(invalid="ignore"):
                return (v != 0) & ~_isnan(v)
        z = np.ones(cells.size, bool)
        if where.equals is not None:
            eq = where.equals if isinstance(where.equals, list) else [where.equals]
            codes = [lay.code_of(e) for e in eq]
            z &= np.isin(v, codes)
        with np.errstate(invalid="ignore"):
            if where.above is not None:
                z &= v > where.above
            if where.below is not None:
                z &= v < where.below
        return z & ~_isnan(v)

    @property
    def area_share(self) -> float:
        """Study-area land / national area, for targets with ``scale: area_share``."""
        sc = self.scenario.scaling
        if sc is None:
            return 1.0
        return self.area.land_area_ha / sc.national_area_ha


def _isnan(v: np.ndarray) -> np.ndarray:
    if np.issubdtype(v.dtype, np.floating):
        return np.isnan(v)
    return np.zeros(v.shape, bool)
