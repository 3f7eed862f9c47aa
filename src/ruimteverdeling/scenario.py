"""Scenario files: YAML documents validated with pydantic, with ``extends:`` and provenance.

A scenario says which study area to use, how suitable each cell is for each use (a declarative
recipe over the area's layers), what changing a cell's use costs, which targets must be met,
which rules apply, and how the solver should run. Every target and rule carries a ``source``
— the document, section or page, and a short quote — so that every constraint in a run can be
traced to the policy text that asks for it.

``extends: base.yaml`` loads the base scenario first and applies this file on top of it:
mappings are merged key by key, and lists of items with an ``id`` (targets, rules, uses) are
merged item by item — an item with a known id updates that item, a new id is appended, and
``{id: ..., remove: true}`` deletes an item. Paths (``area:``) are relative to the file that
names them.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ruimteverdeling import yamlio
from ruimteverdeling.area.manifest import ID_PATTERN, pydantic_problems
from ruimteverdeling.errors import InputError, Problem

Status = Literal["G", "T", "A"]
"""Choice status in the Nota Ruimte: G = gemaakte keuze (decided, always on),
T = te maken keuze (to be decided here, on by default), A = te agenderen keuze
(put on the agenda, off by default)."""


FIX = " || fix: "
"""Separates a validation message from its fix (split again in ``pydantic_problems``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, allow_inf_nan=False)


# ------------------------------------------------------------------------------------------------
# numbers: finite (``allow_inf_nan=False`` above) and of a sane magnitude
# ------------------------------------------------------------------------------------------------
MAX_AMOUNT = 1e12
"""Largest target bound or other amount (ha, homes, TWh/yr, layer values, years). Beyond it
sums over the cells lose their unit digits in double precision, and ``1e308`` times an area
share overflows to infinity, which the solver reads as "no bound at all"."""
MAX_COEFFICIENT = 1e6
"""Largest objective weight, penalty, cost or suitability value (in absolute value). The
shipped scenarios use 0.01 .. 5; a term a million times larger than the others leaves them
below the solver's tolerances (so they would silently stop counting), and near 1e20 HiGHS
reads a cost as infinite."""
MAX_DISTANCE_M = 1_000_000.0
"""Largest distance (buffers, setbacks, gaps, proximity): 1,000 km, three times the width of
the Netherlands."""
MAX_DENSITY = 10_000.0
"""Most homes per hectare (the densest city blocks in the Netherlands hold ~300)."""


def _limit(limit: float, what: str, fix: str) -> Any:
    def check(v: float) -> float:
        if abs(v) > limit:
            raise ValueError(f"{v:g} is beyond ±{limit:g}, the largest {what} the engine "
                             "accepts" + FIX + fix)
        return v

    return AfterValidator(check)


Amount = Annotated[float, _limit(MAX_AMOUNT, "amount",
                                 "give the number in its unit (ha, homes, TWh/yr, the "
                                 "layer's unit); no study area holds more")]
Coefficient = Annotated[float, _limit(MAX_COEFFICIENT, "weight, penalty, cost or suitability",
                                      "scale the numbers down (only their ratios matter); a "
                                      "term that must outweigh everything else is better a "
                                      "hard target or rule")]
Distance = Annotated[float, _limit(MAX_DISTANCE_M, "distance (in metres)",
                                   "give the distance in metres, at most 1,000 km")]
Density = Annotated[float, _limit(MAX_DENSITY, "density (homes per hectare)",
                                  "give homes per hectare, e.g. 35")]
MAX_COUNT = 1_000_000_000
"""Largest count in the solver options (binaries, units, iterations)."""
MAX_THREADS = 256
"""Most HiGHS threads a scenario may ask for. A fixed bound (not this machine's core count),
so that a scenario valid on one machine is valid on every other; HiGHS starts every thread it
is given, and 100,000 of them hang the process. More threads than cores only slow it down."""
MAX_TIME_LIMIT = 10_000_000.0
"""Longest time limit in seconds (~116 days)."""


class Source(_Strict):
    """Where a number or rule comes from."""

    document: str
    section: str | None = None
    quote: str | None = None
    note: str | None = None
    url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"document": value}
        return value

    def short(self) -> str:
        parts = [self.document]
        if self.section:
            parts.append(self.section)
        text = ", ".join(parts)
        if self.quote:
            text += f': "{self.quote}"'
        if self.note:
            text += f" ({self.note})"
        return text


# ------------------------------------------------------------------------------------------------
# suitability, transition costs, densities
# ------------------------------------------------------------------------------------------------
class SuitabilityTerm(_Strict):
    """One term of a suitability recipe: ``weight × f(layer)``.

    Exactly one transform:

    * ``points: [[x0, y0], [x1, y1], ...]`` — piecewise-linear in the layer value, constant
      beyond the end points (``np.interp``);
    * ``categories: {code or name: value}`` — a lookup for categorical layers; codes not listed
      give ``other``;
    * ``mask: value`` — ``value`` where the (mask) layer is non-zero, ``other`` elsewhere.

    Cells where the layer has no data get ``other``.
    """

    layer: str
    weight: Coefficient = 1.0
    points: list[tuple[Amount, Coefficient]] | None = None
    categories: dict[int | str, Coefficient] | None = None
    mask: Coefficient | None = None
    other: Coefficient = 0.0

    @model_validator(mode="after")
    def _one_transform(self) -> SuitabilityTerm:
        given = [k for k in ("points", "categories", "mask") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of `points`, `categories` or `mask` "
                f"(got {', '.join(given) or 'none'})"
                + FIX + "keep one transform per term; use several terms for several layers")
        if self.points is not None:
            xs = [p[0] for p in self.points]
            if len(xs) < 2 or any(b <= a for a, b in itertools.pairwise(xs)):
                raise ValueError("`points` needs at least two [x, y] pairs with increasing x"
                                 + FIX + "e.g. `points: [[0, 1.0], [5000, 0.0]]`")
        return self


class SuitabilityRecipe(_Strict):
    """suitability_u(c) = base + Σ_k weight_k · f_k(layer_k(c)), per hectare."""

    base: Coefficient = 0.0
    terms: list[SuitabilityTerm] = Field(default_factory=list)
    source: Source | None = None


class TransitionCosts(_Strict):
    """Cost per hectare of changing a cell from its current use to a new use.

    ``matrix[from][to]`` gives the cost; ``matrix[from]["*"]`` the cost to any use not listed
    in that row; other pairs cost ``default``; keeping the current use costs 0.
    """

    default: Coefficient = 0.0
    matrix: dict[str, dict[str, Coefficient]] = Field(default_factory=dict)
    source: Source | None = None


class HousingDensity(_Strict):
    """Homes per hectare of new housing: ``default``, or per region name."""

    default: Density = Field(gt=0)
    per_region: dict[str, Density] = Field(default_factory=dict)
    regions: str | None = None
    source: Source

    @field_validator("per_region")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, d in v.items() if d <= 0]
        if bad:
            raise ValueError(f"densities must be positive (regions: {', '.join(bad)})"
                             + FIX + "give homes per hectare, e.g. 35")
        return v


class Scaling(_Strict):
    """How national numbers are scaled to the study area.

    ``area_share = study-area land area / national_area_ha``; a target with
    ``scale: area_share`` is multiplied by it.
    """

    national_area_ha: Amount = Field(ge=1)
    source: Source


# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------
Quantity = Literal["area", "homes", "energy", "share"]
QUANTITY_UNITS = {"area": "ha", "homes": "homes", "energy": "TWh/yr", "share": "share"}


class Bounds(_Strict):
    min: Amount | None = None
    max: Amount | None = None


class Target(_Strict):
    """A claim on land, in the units planners use.

    quantity
        ``area`` (hectares of the use), ``homes`` (new housing hectares × density),
        ``energy`` (TWh per year from the use's hectares × its yield), ``share`` (hectares of
        the use / hectares of the region).
    basis
        ``total`` counts every cell with the use after allocation; ``new`` only cells whose
        current use is a different one. Default: ``new`` for homes, ``total`` otherwise.
    region / per_region / regions
        national (neither), one named region, or one row per region of the ``regions`` layer
        (default: the study area's region layer). ``region_values`` overrides min/max per region.
    within
        a mask layer: only cells where it is non-zero count (and, for ``share``, form the
        denominator).
    scale / relative_to
        ``scale: area_share`` multiplies min/max by the study area's share of the country
        (for national numbers); ``relative_to: current`` makes min/max multiples of the
        row's quantity in the current land use (``min: 1.05`` = at least 5 % more than now).
    hard / penalty
        a hard target must hold; a soft one gets a slack whose every unit costs ``penalty``
        objective points (named ``shortfall:<id>`` in the objective).
    """

    id: str
    use: str
    uses: list[str] | None = None
    quantity: Quantity = "area"
    basis: Literal["total", "new"] | None = None
    min: Amount | None = None
    max: Amount | None = None
    region: str | None = None
    per_region: bool = False
    regions: str | None = None
    region_values: dict[str, Bounds] = Field(default_factory=dict)
    within: str | None = None
    scale: Literal["none", "area_share"] = "none"
    relative_to: Literal["none", "current"] = "none"
    hard: bool = True
    penalty: Coefficient | None = Field(default=None, gt=0)
    status: Status = "T"
    enabled: bool | None = None
    description: str | None = None
    source: Source

    @property
    def is_enabled(self) -> bool:
        if self.enabled is not None:
            return self.enabled
        return self.status in ("G", "T")

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.min is None and self.max is None and not self.region_values:
            raise ValueError("a target needs `min`, `max` or both"
                             + FIX + "add `min:` (at least) and/or `max:` (at most)")
        for name in ("min", "max"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"`{name}` must not be negative (got {v})"
                                 + FIX + f"give a number of 0 or more, or leave `{name}` out")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min}) is larger than `max` ({self.max})"
                             + FIX + "swap them, or correct one of the two")
        if self.quantity == "share":
            for name in ("min", "max"):
                v = getattr(self, name)
                if v is not None and v > 1:
                    raise ValueError(f"a share is a fraction between 0 and 1; `{name}` is {v}"
                                     + FIX + f"write {v / 100:g} for {v:g} %")
        if self.region is not None and self.per_region:
            raise ValueError("give either `region` (one region) or `per_region: true`, not both"
                             + FIX + "remove one of the two")
        if self.region_values and not self.per_region:
            raise ValueError("`region_values` needs `per_region: true`"
                             + FIX + "add `per_region: true`")
        if self.relative_to == "current" and self.quantity == "share":
            raise ValueError("`relative_to: current` does not apply to shares"
                             + FIX + "use `quantity: area` with `relative_to: current`")
        if self.relative_to == "current" and self.scale != "none":
            raise ValueError("give either `scale` or `relative_to`, not both"
                             + FIX + "remove one of the two")
        if not self.hard and self.penalty is None:
            raise ValueError("a soft target (`hard: false`) needs a `penalty` per unit missed"
                             + FIX + "add e.g. `penalty: 5` (objective points per unit missed)")
        return self

    @property
    def effective_basis(self) -> str:
        return self.basis or ("new" if self.quantity == "homes" else "total")

    @property
    def unit(self) -> str:
        return QUANTITY_UNITS[self.quantity]


# ------------------------------------------------------------------------------------------------
# rules
# ------------------------------------------------------------------------------------------------
class Where(_Strict):
    """Which cells of a layer a rule applies to (non-zero when nothing is given)."""

    equals: list[int | str] | int | str | None = None
    above: Amount | None = None
    below: Amount | None = None


class Zone(_Strict):
    """Cells of a layer (``where``, non-zero by default), optionally grown by ``buffer_m``.

    ``buffer_m`` adds every cell whose centre lies within that distance of a zone cell's
    centre (a Euclidean distance transform on the grid). The virtual layer ``current_use``
    holds today's land use by use id, e.g. ``{layer: current_use, where: {equals: [housing]}}``.
    """

    layer: str
    where: Where | None = None
    buffer_m: Distance = Field(default=0.0, ge=0)


class RuleBase(_Strict):
    id: str
    status: Status = "T"
    enabled: bool | None = None
    description: str | None = None
    source: Source

    @property
    def is_enabled(self) -> bool:
        if self.enabled is not None:
            return self.enabled
        return self.status in ("G", "T")


class ExclusionRule(RuleBase):
    """Close a zone to some uses (see :mod:`ruimteverdeling.rules.exclusions`).

    ``x[c,u]`` is not created for ``c`` in the zone and ``u`` in ``uses`` (or every allocatable
    use not in ``allow``); closing a single use also closes the combined uses that contain it.
    With ``applies_to: new`` (default) a cell keeps its current use even if that use is closed
    ("no *new* building"); with ``applies_to: all`` the current use is closed as well.
    ``buffer_m`` widens the zone by a distance (setbacks, bands along dikes, brook valleys).
    """

    type: Literal["exclusion"] = "exclusion"
    layer: str
    where: Where | None = None
    buffer_m: Distance = Field(default=0.0, ge=0)
    uses: list[str] | None = None
    allow: list[str] | None = None
    applies_to: Literal["new", "all"] = "new"

    @model_validator(mode="after")
    def _uses_or_allow(self) -> ExclusionRule:
        if (self.uses is None) == (self.allow is None):
            raise ValueError("give exactly one of `uses` (closed uses) or `allow` (open uses)"
                             + FIX + "`uses: [housing]` closes housing; `allow: [nature]` "
                             "closes everything but nature")
        return self

    @property
    def zone(self) -> Zone:
        return Zone(layer=self.layer, where=self.where, buffer_m=self.buffer_m)


class GreenBufferRule(RuleBase):
    """Keep cities from growing together (see :mod:`ruimteverdeling.rules.exclusions`).

    Urban cores are the connected groups of ``cores`` cells of at least ``min_core_ha``. Where
    two different cores come closer than ``gap_m``, a band of ``width_m`` around the line that
    separates them is closed to ``uses`` (new housing by default).
    """

    type: Literal["green_buffer"] = "green_buffer"
    cores: Zone = Field(default_factory=lambda: Zone(layer="current_use",
                                                     where=Where(equals=["housing"])))
    min_core_ha: Amount = Field(default=500.0, ge=0)
    gap_m: Distance = Field(default=3000.0, gt=0)
    width_m: Distance = Field(default=1000.0, gt=0)
    uses: list[str] = Field(default_factory=lambda: ["housing"])


class CostRule(RuleBase):
    """A cost (or benefit) per hectare in a zone, for some uses (see ``rules.costs``).

    coefficient(c, u) = per_ha · v(c) · g(u) · a_c  for c in ``zone`` (everywhere if absent),
    u in ``uses`` or a combination containing one of them (all allocatable uses if absent),
    and — with ``on: new`` — u ≠ current use;
    v(c) = Σ weight·f(layer) over ``value`` (1 if empty); g(u) = 1, the use's sealed share
    (``scale_by: sealing``) or min(lifetime, horizon)/horizon (``scale_by: lifetime``).
    Rules with the same ``term`` add up into one named objective term.
    """

    type: Literal["cost"] = "cost"
    term: str | None = None
    sense: Literal["cost", "benefit"] = "cost"
    zone: Zone | None = None
    value: list[SuitabilityTerm] = Field(default_factory=list)
    per_ha: Coefficient = Field(default=1.0, ge=0)
    uses: list[str] | None = None
    on: Literal["new", "any"] = "new"
    scale_by: Literal["none", "sealing", "lifetime"] = "none"
    horizon_years: Amount = Field(default=75.0, gt=0)


class LadderTier(_Strict):
    """One step of a ladder: the cells in ``zone`` and/or with a current use in ``current``."""

    name: str
    zone: Zone | None = None
    current: list[str] | None = None
    cost: Coefficient = Field(ge=0)


class LadderRule(RuleBase):
    """A ladder (voorkeursvolgorde) as tiered costs (see ``rules.costs``).

    Each cell belongs to the first tier it matches (``otherwise`` if none). ``mode: to`` (the
    zonneladder) charges the tier's cost per hectare newly given to one of ``uses``;
    ``mode: from`` (the agricultural-land ladder) charges it per hectare of ``uses`` lost,
    i.e. cost · max(0, p(current, U) − p(new, U)) with p the yield factor towards ``uses[0]``.
    """

    type: Literal["ladder"] = "ladder"
    term: str | None = None
    mode: Literal["to", "from"] = "to"
    uses: list[str]
    tiers: list[LadderTier]
    otherwise: Coefficient = Field(default=0.0, ge=0)


class Burden(_Strict):
    """A burden counted per region: hectares of ``use`` that are ``new`` or ``lost``."""

    use: str
    basis: Literal["new", "lost"] = "new"
    weight: Coefficient = Field(default=1.0, ge=0)


class FairnessRule(RuleBase):
    """Spread burdens fairly over regions (niet afwentelen; see ``rules.fairness``).

    The burden intensity of region r is I_r = Σ_c∈r Σ_b w_b·burden_b(c,u)·x[c,u] / area_r
    (hectares of burden per hectare of region). ``mode: minimax`` adds a level z ≥ I_r for
    every region and charges ``weight`` · z · (study-area hectares); ``mode: cap`` requires
    I_r ≤ ``cap`` in every region.
    """

    type: Literal["fairness"] = "fairness"
    regions: str | None = None
    burdens: list[Burden]
    mode: Literal["minimax", "cap"] = "minimax"
    weight: Coefficient = Field(default=1.0, ge=0)
    cap: Amount | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _cap(self) -> FairnessRule:
        if self.mode == "cap" and self.cap is None:
            raise ValueError("`mode: cap` needs `cap`" + FIX
                             + "add e.g. `cap: 0.05` (at most 5 % of each region burdened)")
        return self


class ProximityShareRule(RuleBase):
    """At least ``min_share`` of the new ``use`` lies within ``within_m`` of a layer's features.

    Row: Σ_c (1[d(c) ≤ within_m] − min_share) · q(c,u) · x[c,u] ≥ 0, with q the homes (or
    hectares) of the pair; soft with ``penalty`` per unit of q missing.
    """

    type: Literal["proximity_share"] = "proximity_share"
    use: str = "housing"
    quantity: Literal["homes", "area"] = "homes"
    layer: str = "station_distance"
    within_m: Distance = Field(gt=0)
    min_share: float = Field(ge=0, le=1)
    penalty: Coefficient | None = Field(default=None, gt=0)


class ConflictRule(RuleBase):
    """No ``uses`` within ``distance_m`` of newly allocated ``near`` uses (a pairwise rule).

    For every cell c that may take one of ``uses`` and whose neighbourhood N(c) (cells within
    ``distance_m``, c itself excluded) holds cells that may newly take one of ``near``:

        |N(c)| · Σ_{u∈uses} x[c,u] + Σ_{d∈N(c)} Σ_{v∈near} x[d,v] ≤ |N(c)|

    — one row per candidate cell instead of one per pair (see ``rules.conflicts``).
    Existing ``near`` uses are a plain exclusion with a buffer.
    """

    type: Literal["conflict"] = "conflict"
    uses: list[str]
    near: list[str]
    distance_m: Distance = Field(gt=0)


Rule = Annotated[
    ExclusionRule | GreenBufferRule | CostRule | LadderRule | FairnessRule | ProximityShareRule
    | ConflictRule,
    Field(discriminator="type"),
]


class Compatibility(_Strict):
    """Which single uses may share a cell (meervoudig ruimtegebruik).

    A combined use of the catalogue is available only when every pair of the uses it
    ``combines`` is listed in ``allowed``.
    """

    allowed: list[tuple[str, str]]
    source: Source


class Override(_Strict):
    """Comply or explain: relax a G rule or target, with a justification that is reported.

    ``action: disable`` switches it off; ``soften`` makes a hard rule or target soft (an
    exclusion becomes a cost of ``penalty`` per hectare it would have closed; a target gets
    slacks costing ``penalty`` per unit); ``set`` changes parameters (``set: {buffer_m: 50}``).
    """

    rule: str
    action: Literal["disable", "soften", "set"]
    justification: str
    penalty: Coefficient | None = Field(default=None, gt=0)
    set: dict[str, Any] | None = None
    source: Source | None = None

    @field_validator("justification")
    @classmethod
    def _explained(cls, v: str) -> str:
        if len(v.strip()) < 10:
            raise ValueError("a justification must explain the deviation (comply or explain)"
                             + FIX + "write why this rule is relaxed, in a sentence or more")
        return v

    @model_validator(mode="after")
    def _params(self) -> Override:
        if self.action == "soften" and self.penalty is None:
            raise ValueError("`action: soften` needs a `penalty`" + FIX
                             + "add e.g. `penalty: 10` (points per hectare or unit)")
        if self.action == "set" and not self.set:
            raise ValueError("`action: set` needs `set: {field: value}`" + FIX
                             + "e.g. `set: {buffer_m: 50}`")
        return self


# ------------------------------------------------------------------------------------------------
# objective and solver
# ------------------------------------------------------------------------------------------------
class Objective(_Strict):
    """Weights of the named objective terms (maximise Σ weight × benefit − Σ weight × cost)."""

    weights: dict[str, Coefficient] = Field(
        default_factory=lambda: {"suitability": 1.0, "transition": 1.0})

    @field_validator("weights")
    @classmethod
    def _nonneg(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, w in v.items() if w < 0]
        if bad:
            raise ValueError(f"weights must not be negative ({', '.join(bad)})" + FIX
                             + "a term's sign "
                             "is fixed by whether it is a benefit or a cost")
        return v


class SolverOptions(_Strict):
    """How to solve. ``method``: ``auto`` (LP relaxation first, repair the few fractional cells
    with a small MIP), ``mip`` (hand the whole model to HiGHS's MIP — small models only) or
    ``lp`` (the relaxation only, reported as such)."""

    backend: Literal["highs", "pyomo"] = "highs"
    method: Literal["auto", "mip", "lp"] = "auto"
    lp_algorithm: Literal["auto", "ipm", "simplex", "pdlp"] = "auto"
    time_limit: float = Field(default=600.0, gt=0, le=MAX_TIME_LIMIT)
    mip_rel_gap: float = Field(default=1e-4, ge=0, le=1)
    threads: int = Field(default=2, ge=1)
    full_mip_max_binaries: int = Field(default=100_000, ge=0, le=MAX_COUNT)
    repair_units_per_fractional: int = Field(default=20, ge=1, le=MAX_COUNT)
    repair_min_units: int = Field(default=500, ge=1, le=MAX_COUNT)
    repair_columns_per_unit: int = Field(default=4, ge=0, le=MAX_COUNT)
    decompose_above: int = Field(default=1_500_000, ge=0, le=MAX_COUNT)
    decompose_sample: int = Field(default=12_000, ge=1, le=MAX_COUNT)
    decompose_free_min: int = Field(default=20_000, ge=1, le=MAX_COUNT)
    decompose_free_share: float = Field(default=0.01, ge=0, le=1)
    decompose_add: int = Field(default=30_000, ge=1, le=MAX_COUNT)
    decompose_lp_gap: float = Field(default=1e-5, ge=0, le=1)
    decompose_max_iterations: int = Field(default=60, ge=1, le=MAX_COUNT)
    pyomo_solver: str = "highs"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: int) -> int:
        if v > MAX_THREADS:
            import os

            raise ValueError(f"{v:,} threads is more than the {MAX_THREADS} the engine allows"
                             + FIX + f"give at most {MAX_THREADS}; this machine has "
                             f"{os.cpu_count()} cores, and more threads than cores only slow "
                             "HiGHS down")
        return v


# ------------------------------------------------------------------------------------------------
# the scenario
# ------------------------------------------------------------------------------------------------
class UseOverride(_Strict):
    id: str
    code: int | None = Field(default=None, ge=1, le=255)
    kind: Literal["allocatable", "context"] | None = None
    label_en: str | None = None
    label_nl: str | None = None
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    built: bool | None = None
    sealing: float | None = Field(default=None, ge=0, le=1)
    lifetime_years: Amount | None = Field(default=None, gt=0)
    provides: dict[str, Coefficient] | None = None
    energy_mwh_per_ha_yr: Amount | None = Field(default=None, ge=0)
    combines: list[str] | None = None
    description: str | None = None
    source: Source | None = None


class Scenario(_Strict):
    """A whole scenario (after ``extends:`` has been applied)."""

    id: str = Field(pattern=ID_PATTERN)
    title: str | None = None
    description: str | None = None
    area: str
    extends: str | None = None
    uses: list[UseOverride] = Field(default_factory=list)
    scaling: Scaling | None = None
    housing_density: HousingDensity | None = None
    suitability: dict[str, SuitabilityRecipe] = Field(default_factory=dict)
    transition_costs: TransitionCosts = Field(default_factory=TransitionCosts)
    targets: list[Target] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    compatibility: Compatibility | None = None
    overrides: list[Override] = Field(default_factory=list)
    objective: Objective = Field(default_factory=Objective)
    solver: SolverOptions = Field(default_factory=SolverOptions)

    # set by the loader, not by the user (private: not keys of the file)
    _path: Path | None = PrivateAttr(default=None)
    _chain: list[str] = PrivateAttr(default_factory=list)

    @property
    def path(self) -> Path | None:
        """The scenario file (set by :func:`load_scenario`)."""
        return self._path

    @path.setter
    def path(self, value: Path | None) -> None:
        self._path = value

    @property
    def chain(self) -> list[str]:
        """The files read, base first (``extends:``), set by :func:`load_scenario`."""
        return self._chain

    @chain.setter
    def chain(self, value: list[str]) -> None:
        self._chain = list(value)

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        for name, items in (("targets", self.targets), ("rules", self.rules)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"duplicate id '{item.id}' in `{name}`"
                                     + FIX + "give every item its own id")
                seen.add(item.id)
                if item.status == "G" and item.enabled is False:
                    raise ValueError(
                        f"'{item.id}' in `{name}` is a gemaakte keuze (status G) and cannot be "
                        "switched off with `enabled: false`" + FIX + "relax it through "
                        f"`overrides: [{{rule: {item.id}, action: disable, justification: ...}}]`")
        known = {t.id for t in self.targets} | {r.id for r in self.rules}
        for o in self.overrides:
            if o.rule not in known:
                from ruimteverdeling.errors import did_you_mean

                raise ValueError(f"override of unknown rule or target '{o.rule}'" + FIX
                                 + did_you_mean(o.rule, known))
        return self

    @property
    def area_path(self) -> Path:
        p = Path(self.area)
        if not p.is_absolute() and self.path is not None:
            p = self.path.parent / p
        return p.resolve()

    def resolved(self) -> dict[str, Any]:
        """The scenario as plain data, after ``extends`` (for the run manifest)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["area"] = str(self.area_path)
        data.pop("extends", None)
        data["extends_chain"] = list(self.chain)
        return data


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping through the guarded loader (:mod:`ruimteverdeling.yamlio`), with
    errors that name the file and the line."""
    if not path.exists():
        raise InputError.single(path, None, "file not found", "check the path")
    if path.is_dir():
        raise InputError.single(path, None, "is a directory, not a scenario file",
                                "give the path of a .yaml file")
    raw = yamlio.load_file(path, "scenario file")
    if raw is None:
        raise InputError.single(path, None, "the file is empty",
                                "write a scenario (see scenarios/base.yaml)")
    if not isinstance(raw, dict):
        raise InputError.single(path, None, "expected a mapping at the top level",
                                "start the file with keys such as `id:`, `area:`, `targets:`")
    return raw


def _resolve_paths(raw: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    raw = dict(raw)
    if isinstance(raw.get("area"), str):
        p = Path(raw["area"])
        if not p.is_absolute():
            raw["area"] = str((base_dir / p).resolve())
    return raw


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``base`` (see the module docstring)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(override, list) and _is_id_list(base) \
            and _is_id_list(override):
        out = [copy.deepcopy(item) for item in base]
        index = {item["id"]: i for i, item in enumerate(out)}
        for item in override:
            if item.get("remove"):
                if item["id"] in index:
                    out[index[item["id"]]] = None
                continue
            if item["id"] in index:
                out[index[item["id"]]] = merge(out[index[item["id"]]], item)
            else:
                index[item["id"]] = len(out)
                out.append(copy.deepcopy(item))
        return [item for item in out if item is not None]
    return copy.deepcopy(override)


def _is_id_list(items: list) -> bool:
    return all(isinstance(i, dict) and "id" in i for i in items)


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """Read a scenario file and everything it extends; return the merged mapping and the chain."""
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise InputError.single(path, "extends", f"circular `extends:` ({chain})",
                                "remove the cycle")
    raw = _resolve_paths(read_yaml(path), path.parent)
    _check_duplicate_ids(raw, path)
    ext = raw.get("extends")
    if ext is None:
        return raw, [str(path)]
    if not isinstance(ext, str):
        raise InputError.single(path, "extends", "must be the path of a base scenario file",
                                "e.g. `extends: base.yaml`")
    base_path = (path.parent / ext).resolve()
    if not base_path.exists():
        raise InputError.single(path, "extends", f"base scenario not found: {base_path}",
                                "give a path relative to this file")
    base, chain = load_raw(base_path, (*_seen, path))
    _protect_decided(base, raw, path)
    merged = merge(base, raw)
    return merged, [*chain, str(path)]


def _check_duplicate_ids(raw: dict[str, Any], path: Path) -> None:
    """Two items with the same id in one file's ``targets``, ``rules`` or ``uses``.

    ``extends`` merges a variant's items into the base by id, so two entries with one id in a
    variant would be merged silently, the second over the first; in any file they are a
    mistake. Every pair is reported with both positions.
    """
    problems = []
    for key in ("targets", "rules", "uses"):
        items = raw.get(key)
        if not isinstance(items, list):
            continue
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str | int) or isinstance(ident, bool):
                continue
            ident = str(ident)
            if ident in first:
                j = first[ident]
                problems.append(Problem(
                    path, f"{key}[{i}].id",
                    f"duplicate id '{ident}': {key}[{j}] and {key}[{i}] both have it",
                    f"give every item its own id, or put all changes to '{ident}' in one "
                    f"entry ({key}[{j}])"))
            else:
                first[ident] = i
    if problems:
        raise InputError(problems)


def _protect_decided(base: dict[str, Any], variant: dict[str, Any], path: Path) -> None:
    """A variant may not change a G (gemaakte keuze) rule or target directly.

    Comply or explain: such a change must go through ``overrides:`` with a justification, so
    that it is reported. Only ``description`` may be restated.
    """
    problems = []
    for key in ("rules", "targets"):
        decided = {item.get("id"): item for item in base.get(key) or []
                   if isinstance(item, dict) and item.get("status") == "G"}
        for i, item in enumerate(variant.get(key) or []):
            if not isinstance(item, dict) or item.get("id") not in decided:
                continue
            changed = sorted(k for k in item if k not in ("id", "description"))
            if changed:
                what = "removes" if item.get("remove") else f"changes {', '.join(changed)} of"
                problems.append(Problem(
                    path, f"{key}[{i}]",
                    f"this variant {what} '{item['id']}', a gemaakte keuze (status G)",
                    f"relax it through `overrides: [{{rule: {item['id']}, action: "
                    "disable|soften|set, justification: ...}]` (comply or explain)"))
    if problems:
        raise InputError(problems)


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge (``extends:``) and validate a scenario file."""
    path = Path(path).resolve()
    raw, chain = load_raw(path)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = pydantic_problems(exc, path, Scenario)
        if len(chain) > 1:
            note = f" (after applying extends: {', '.join(Path(c).name for c in chain[:-1])})"
            problems = [Problem(p.file, p.field, p.message + note, p.fix) for p in problems]
        raise InputError(problems) from None
    scenario.path = path
    scenario.chain = chain
    return scenario
