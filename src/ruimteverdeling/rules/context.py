"""What every rule compiler needs: the area, the uses, the domain of changeable cells.

Notation used in the rule docstrings:

* ``c`` a cell with area ``a_c`` (ha); ``e_c`` its current use;
* the *domain* ``D`` = land cells whose current use is allocatable and not built
  (existing built-up land, industry, infrastructure and open water are fixed context);
* ``U`` the allocatable uses; ``A_c ⊆ U`` the uses still allowed in ``c`` after the rules;
* a domain cell with ``|A_c| = 1`` is *pinned* (no variable; its use is known), with
  ``|A_c| ≥ 2`` it is a *unit* with binaries ``x[c,u]``, ``u ∈ A_c``, ``Σ_u x[c,u] = 1``;
* ``p(u, T)`` the yield factor of use ``u`` towards target use ``T`` (the catalogue's
  ``provides``; 1 for ``T`` itself, less for a combination that shares the cell).

Cells are handled as *land indices* (positions in ``land_cells``) and uses as catalogue
indices, so every rule is a vectorised numpy function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ruimteverdeling.area.buffers import within_distance
from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.domain.density import HomesPerHectare
from ruimteverdeling.domain.regions import region_rows
from ruimteverdeling.errors import Problem
from ruimteverdeling.scenario.schema import Scenario, Where, Zone
from ruimteverdeling.uses import UseCatalogue

OPEN_WATER = "water"
"""The use id of open water (lakes, rivers, canals): fixed context, and not land as CBS
counts the land area of the country."""


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
    warnings: list[Problem] = field(default_factory=list)
    """What the checks found that does not stop a run but changes what it means (a region
    value for a region outside the study area, a rule on an empty mask, ...): ``validate``
    prints them and ``summary.json`` lists them."""
    _zones: dict = field(default_factory=dict, repr=False)
    _region_rows: dict = field(default_factory=dict, repr=False)

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

    def warn(self, problem: Problem) -> None:
        """Record a warning (once)."""
        if problem not in self.warnings:
            self.warnings.append(problem)

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
    def uses(self) -> list:
        return list(self.catalogue)

    @property
    def alloc_ids(self) -> list[str]:
        uses = self.uses
        return [uses[i].id for i in self.alloc_idx]

    def alloc_col(self, use_id: str) -> int:
        return self.alloc_ids.index(use_id)

    def use_index(self, use_id: str) -> int:
        return self.catalogue.ids.index(use_id)

    def uses_mask(self, use_ids: list[str] | None, containing: bool = True) -> np.ndarray:
        """Bool over catalogue indices: the uses listed (all allocatable if None), and with
        ``containing`` also the combined uses that contain one of them."""
        if use_ids is None:
            return np.array([u.kind == "allocatable" for u in self.uses])
        ids = self.catalogue.containing(use_ids) if containing else list(use_ids)
        return np.array([u.id in ids for u in self.uses])

    def provides(self, target_use: str) -> np.ndarray:
        """p(u, target_use) for every catalogue use."""
        return np.array([u.provides.get(target_use, 0.0) for u in self.uses])

    def attribute(self, name: str) -> np.ndarray:
        """A numeric catalogue attribute (sealing, lifetime_years, ...) by catalogue index."""
        return np.array([float(getattr(u, name)) for u in self.uses])

    def layer_values(self, name: str, cells: np.ndarray) -> np.ndarray:
        return self.area.layer(name).data.ravel()[cells]

    def region_rows(self, layer: str | None = None) -> tuple[np.ndarray, list[str]]:
        """Row index (−1 outside every region) of every land cell, and the region names
        (:func:`ruimteverdeling.domain.regions.region_rows`).

        Worked out once per layer (the targets, fairness rules, zone reports and result tables
        of one model all ask for the same rows); the rows are read-only."""
        name = layer or self.area.manifest.regions
        lay = self.area.layer(name)
        hit = self._region_rows.get(name)
        if hit is None or hit[0] is not lay or hit[1] is not lay.data:
            rows, names = region_rows(self.area, self.land_cells, name)
            rows.setflags(write=False)
            hit = self._region_rows[name] = (lay, lay.data, rows, names)
        return hit[2], list(hit[3])

    def housing_density(self) -> np.ndarray:
        """Homes per hectare of new housing on every land cell
        (:mod:`ruimteverdeling.domain.density`); the scenario must give ``housing_density``."""
        density = HomesPerHectare.from_any(self.scenario.housing_density)
        assert density is not None, "checked before compiling"
        return density.cells(self.area, self.land_cells)

    # -- zones ---------------------------------------------------------------------------------
    def zone_grid(self, zone: Zone) -> np.ndarray:
        """Boolean grid of a zone (cached), including its buffer."""
        key = zone.model_dump_json()
        if key not in self._zones:
            lay = self.area.layer(zone.layer)
            flat = np.arange(lay.data.size)
            mask = self._match(lay, zone.where, flat).reshape(lay.data.shape)
            if zone.buffer_m > 0 and mask.any():
                # the distance transform thresholded at the buffer, by shifted runs
                mask = within_distance(mask, zone.buffer_m + 1e-9, self.area.grid.resolution)
            self._zones[key] = mask
        return self._zones[key]

    def zone(self, layer: str | Zone, where: Where | None = None,
             cells: np.ndarray | None = None) -> np.ndarray:
        """Boolean: which of ``cells`` (flat indices; all land cells if None) lie in the zone.

        Without ``where`` the zone is every cell where the layer is non-zero (and not NaN).
        """
        z = layer if isinstance(layer, Zone) else Zone(layer=layer, where=where)
        cells = self.land_cells if cells is None else cells
        return self.zone_grid(z).ravel()[cells]

    @staticmethod
    def _match(lay, where: Where | None, cells: np.ndarray) -> np.ndarray:
        v = lay.data.ravel()[cells]
        if where is None or (where.equals is None and where.above is None
                             and where.below is None):
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
        """The study area's share of the country, for targets with ``scale: area_share``:
        ``A / national_area_ha`` with ``A`` the study area's land cells in hectares — all of
        them, or without those whose current use is open water when ``scaling.open_water`` is
        ``exclude`` (the land area as CBS counts it)."""
        sc = self.scenario.scaling
        if sc is None:
            return 1.0
        return self.scaled_area_ha / sc.national_area_ha

    @property
    def open_water_ha(self) -> float:
        """Hectares of the study area whose current use is open water."""
        if OPEN_WATER not in self.catalogue:
            return 0.0
        water = self.land_use_idx == self.use_index(OPEN_WATER)
        return float(np.count_nonzero(water)) * self.cell_ha

    @property
    def scaled_area_ha(self) -> float:
        """The study area's figure in :attr:`area_share` (hectares)."""
        sc = self.scenario.scaling
        total = self.area.land_area_ha
        if sc is not None and sc.open_water == "exclude":
            return total - self.open_water_ha
        return total


def _isnan(v: np.ndarray) -> np.ndarray:
    if np.issubdtype(v.dtype, np.floating):
        return np.isnan(v)
    return np.zeros(v.shape, bool)
