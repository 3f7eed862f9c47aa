"""The scenario document: what a scenario file may say, validated with pydantic.

A scenario says which study area to use, how suitable each cell is for each use (a declarative
recipe over the area's layers), what changing a cell's use costs, which targets must be met,
which rules apply, and how the solver should run. Every target and rule carries a ``source``
— the document, section or page, and a short quote — so that every constraint in a run can be
traced to the policy text that asks for it.

The entries of ``rules:`` belong to rule families that live in the rules layer
(:mod:`ruimteverdeling.rules`); this module knows only their common part, :class:`RuleBase`.
:func:`scenario_model` makes the :class:`Scenario` model whose rule entries are validated by
the schemas of the families it is given (a tagged union on ``type``), so the document model
does not depend on the families and a new family needs no change here. Reading files,
``extends:`` and the protection of decided items are in :mod:`ruimteverdeling.scenario.loader`.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    SerializeAsAny,
    create_model,
    field_validator,
    model_validator,
)

from ruimteverdeling.errors import did_you_mean
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.scenario.origins import Origins
from ruimteverdeling.strict import ID_PATTERN, StrictModel, invalid

Status = Literal["G", "T", "A"]
"""Choice status in the Nota Ruimte: G = gemaakte keuze (decided, always on),
T = te maken keuze (to be decided here, on by default), A = te agenderen keuze
(put on the agenda, off by default)."""


# ------------------------------------------------------------------------------------------------
# numbers: finite (:class:`StrictModel`) and of a sane magnitude
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
            raise invalid(f"{v:g} is beyond ±{limit:g}, the largest {what} the engine "
                          "accepts", fix)
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


class Source(StrictModel):
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
class SuitabilityTerm(StrictModel):
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
            raise invalid(
                "give exactly one of `points`, `categories` or `mask` "
                f"(got {', '.join(given) or 'none'})",
                "keep one transform per term; use several terms for several layers")
        if self.points is not None:
            xs = [p[0] for p in self.points]
            if len(xs) < 2 or any(b <= a for a, b in itertools.pairwise(xs)):
                raise invalid("`points` needs at least two [x, y] pairs with increasing x",
                              "e.g. `points: [[0, 1.0], [5000, 0.0]]`")
        return self


class SuitabilityRecipe(StrictModel):
    """suitability_u(c) = base + Σ_k weight_k · f_k(layer_k(c)), per hectare."""

    base: Coefficient = 0.0
    terms: list[SuitabilityTerm] = Field(default_factory=list)
    source: Source | None = None


class TransitionCosts(StrictModel):
    """Cost per hectare of changing a cell from its current use to a new use.

    ``matrix[from][to]`` gives the cost; ``matrix[from]["*"]`` the cost to any use not listed
    in that row; other pairs cost ``default``; keeping the current use costs 0.
    """

    default: Coefficient = 0.0
    matrix: dict[str, dict[str, Coefficient]] = Field(default_factory=dict)
    source: Source | None = None


class HousingDensity(StrictModel):
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
            raise invalid(f"densities must be positive (regions: {', '.join(bad)})",
                          "give homes per hectare, e.g. 35")
        return v


class Scaling(StrictModel):
    """How national numbers are scaled to the study area.

    ``area_share = A / national_area_ha``; a target with ``scale: area_share`` is multiplied by
    it. ``A`` is the study area in hectares: every cell inside it (``open_water: include``, the
    default), or without the cells whose current use is open water (``exclude``) — the land
    area as CBS counts it, which is what ``national_area_ha`` usually is (about 3,370,000 ha
    for the Netherlands). Both must be counted the same way; a share above 1 is warned about.
    """

    national_area_ha: Amount = Field(ge=1)
    open_water: Literal["include", "exclude"] = "include"
    source: Source


# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------
Quantity = Literal["area", "homes", "energy", "share"]
QUANTITY_UNITS = {"area": "ha", "homes": "homes", "energy": "TWh/yr", "share": "share"}


class Bounds(StrictModel):
    min: Amount | None = None
    max: Amount | None = None


class OutsideLand(StrictModel):
    """The part of a target met outside the land the model allocates (see ``Target``)."""

    share: float = Field(ge=0.0, lt=1.0)
    description: str
    source: Source


class Target(StrictModel):
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
    by
        with several ``periods``: the period (year) by which the target must hold (default:
        ``year`` when it is one of the periods, else the last period); the target counts the
        land use of that period.
    year
        the year the source sets for the target (``tot en met 2030``), cited in its source.
        A run of one period states it in the summary (the run stands for that year); with
        several ``periods`` it is the default of ``by`` when it is one of them.
    outside_land
        the share ``s`` of the national number met by what the land model does not allocate
        (solar on roofs and in the built environment): ``min`` and ``max`` are multiplied by
        ``1 − s`` before any scaling, so only the rest is asked of the land. A labelled
        parameter with its own source (an assumption unless a document gives it).
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
    by: int | None = None
    year: int | None = Field(default=None, ge=1900, le=2200)
    outside_land: OutsideLand | None = None
    source: Source

    @property
    def is_enabled(self) -> bool:
        if self.enabled is not None:
            return self.enabled
        return self.status in ("G", "T")

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.min is None and self.max is None and not self.region_values:
            raise invalid("a target needs `min`, `max` or both",
                          "add `min:` (at least) and/or `max:` (at most)")
        for name in ("min", "max"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise invalid(f"`{name}` must not be negative (got {v})",
                              f"give a number of 0 or more, or leave `{name}` out")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise invalid(f"`min` ({self.min}) is larger than `max` ({self.max})",
                          "swap them, or correct one of the two")
        if self.quantity == "share":
            for name in ("min", "max"):
                v = getattr(self, name)
                if v is not None and v > 1:
                    raise invalid(f"a share is a fraction between 0 and 1; `{name}` is {v}",
                                  f"write {v / 100:g} for {v:g} %")
        if self.region is not None and self.per_region:
            raise invalid("give either `region` (one region) or `per_region: true`, not both",
                          "remove one of the two")
        if self.region_values and not self.per_region:
            raise invalid("`region_values` needs `per_region: true`",
                          "add `per_region: true`")
        if self.outside_land is not None and (self.quantity == "share"
                                              or self.relative_to == "current"):
            raise invalid("`outside_land` applies to national or regional amounts, not to "
                          "shares or multiples of the current quantity",
                          "remove `outside_land`, or give the target as an amount")
        if self.relative_to == "current" and self.quantity == "share":
            raise invalid("`relative_to: current` does not apply to shares",
                          "use `quantity: area` with `relative_to: current`")
        if self.relative_to == "current" and self.scale != "none":
            raise invalid("give either `scale` or `relative_to`, not both",
                          "remove one of the two")
        if not self.hard and self.penalty is None:
            raise invalid("a soft target (`hard: false`) needs a `penalty` per unit missed",
                          "add e.g. `penalty: 5` (objective points per unit missed)")
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
class Where(StrictModel):
    """Which cells of a layer a rule applies to (non-zero when nothing is given)."""

    equals: list[int | str] | int | str | None = None
    above: Amount | None = None
    below: Amount | None = None


class Zone(StrictModel):
    """Cells of a layer (``where``, non-zero by default), optionally grown by ``buffer_m``.

    ``buffer_m`` adds every cell whose centre lies within that distance of a zone cell's
    centre (a Euclidean distance transform on the grid). The virtual layer ``current_use``
    holds today's land use by use id, e.g. ``{layer: current_use, where: {equals: [housing]}}``.
    """

    layer: str
    where: Where | None = None
    buffer_m: Distance = Field(default=0.0, ge=0)


class RuleBase(StrictModel):
    """What every rule entry has, whatever its family.

    A family's schema (in its module under :mod:`ruimteverdeling.rules`) derives from this
    class and adds ``type: Literal["<family>"] = "<family>"`` and its parameters.
    """

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


class Compatibility(StrictModel):
    """Which single uses may share a cell (meervoudig ruimtegebruik).

    A combined use of the catalogue is available only when every pair of the uses it
    ``combines`` is listed in ``allowed``.
    """

    allowed: list[tuple[str, str]]
    source: Source


class Override(StrictModel):
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
            raise invalid("a justification must explain the deviation (comply or explain)",
                          "write why this rule is relaxed, in a sentence or more")
        return v

    @model_validator(mode="after")
    def _params(self) -> Override:
        if self.action == "soften" and self.penalty is None:
            raise invalid("`action: soften` needs a `penalty`",
                          "add e.g. `penalty: 10` (points per hectare or unit)")
        if self.action == "set" and not self.set:
            raise invalid("`action: set` needs `set: {field: value}`",
                          "e.g. `set: {buffer_m: 50}`")
        return self


# ------------------------------------------------------------------------------------------------
# objective and solver
# ------------------------------------------------------------------------------------------------
WATER_AND_SOIL_TERMS = ["water_level", "future_cost", "sealing", "wastewater"]
"""The objective terms of the water-and-soil rules of the shipped rule pack (peat water level
and grassland on peat, flooding and subsidence, sealing of infiltration ground, waste-water
capacity): the first stage of ``mode: lexicographic`` unless ``first`` names others."""


class Objective(StrictModel):
    """Weights of the named objective terms (maximise Σ weight × benefit − Σ weight × cost),
    and how they are optimised.

    mode
        ``weighted`` (default): one solve of the weighted sum, every term weighing as its
        weight says. ``lexicographic``: the lagenbenadering as an order — stage 1 optimises the
        ``first`` terms alone (their weighted sum) under every rule and hard target; stage 2
        optimises the whole weighted objective with the stage-1 value kept within
        ``tolerance`` of what stage 1 reached (:mod:`ruimteverdeling.analysis.lexicographic`).
    first
        the stage-1 terms (default: the water-and-soil terms, ``WATER_AND_SOIL_TERMS``).
    tolerance
        how much of the stage-1 value stage 2 may give up, as a fraction of its magnitude
        (0.01: the water-and-soil cost may grow by at most 1 %).
    """

    weights: dict[str, Coefficient] = Field(
        default_factory=lambda: {"suitability": 1.0, "transition": 1.0})
    mode: Literal["weighted", "lexicographic"] = "weighted"
    first: list[str] = Field(default_factory=lambda: list(WATER_AND_SOIL_TERMS), min_length=1)
    tolerance: float = Field(default=0.01, ge=0.0, le=1.0)

    @field_validator("weights")
    @classmethod
    def _nonneg(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, w in v.items() if w < 0]
        if bad:
            raise invalid(f"weights must not be negative ({', '.join(bad)})",
                          "a term's sign is fixed by whether it is a benefit or a cost")
        return v


# ------------------------------------------------------------------------------------------------
# the scenario
# ------------------------------------------------------------------------------------------------
class UseOverride(StrictModel):
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
    irreversible: bool | None = None
    reverts_to: str | None = None
    successors: list[str] | None = None
    source: Source | None = None


class Scenario(StrictModel):
    """A whole scenario (after ``extends:`` has been applied).

    ``rules`` holds instances of the rule families' schemas (subclasses of
    :class:`RuleBase`, serialised with all their fields). Validate a document with the model
    :func:`scenario_model` makes for the families; this class alone accepts only rule entries
    that are already validated.
    """

    rule_schemas: ClassVar[tuple[tuple[str, type[RuleBase]], ...]] = ()
    """The ``(type, schema)`` of every rule family this model validates (set by
    :func:`scenario_model`)."""

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
    rules: list[SerializeAsAny[RuleBase]] = Field(default_factory=list)
    compatibility: Compatibility | None = None
    overrides: list[Override] = Field(default_factory=list)
    objective: Objective = Field(default_factory=Objective)
    solver: SolverOptions = Field(default_factory=SolverOptions)
    periods: list[int] | None = None
    """Planning periods (years, ascending): one model over all of them, a land use per cell
    and period (:mod:`ruimteverdeling.rules.pathways`); absent or one period: one end state."""
    period_layers: dict[str, dict[int, str]] | None = None
    """Per-period layers: a layer name the rules use -> {year: the layer to read in that
    period}; every period must be given (a year after the last period is allowed)."""

    # set by the loader, not by the user (private: not keys of the file)
    _path: Path | None = PrivateAttr(default=None)
    _chain: list[str] = PrivateAttr(default_factory=list)
    _origins: Origins | None = PrivateAttr(default=None)

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

    @property
    def origins(self) -> Origins:
        """Which file of :attr:`chain` set which part of the scenario (set by
        :func:`load_scenario`; empty for a scenario made in code)."""
        if self._origins is None:
            self._origins = Origins(files=[str(self.path)] if self.path else [])
        return self._origins

    @origins.setter
    def origins(self, value: Origins) -> None:
        self._origins = value

    @field_validator("rules", mode="before")
    @classmethod
    def _validated_entries(cls, value: Any) -> Any:
        if not cls.rule_schemas and isinstance(value, list) and \
                any(isinstance(item, dict) for item in value):
            raise TypeError("rule entries are validated by their rule family's schema: "
                            "validate the document with scenario_model(families), or load it "
                            "with ruimteverdeling.rules.load_scenario")
        return value

    @field_validator("periods")
    @classmethod
    def _sorted_periods(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(b <= a for a, b in
                                                   itertools.pairwise(value))):
            raise invalid("`periods` must be a non-empty list of years in ascending order, "
                          "each once", "e.g. `periods: [2030, 2040, 2050]`")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        for name, items in (("targets", self.targets), ("rules", self.rules)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise invalid(f"duplicate id '{item.id}' in `{name}`",
                                  "give every item its own id")
                seen.add(item.id)
                if item.status == "G" and item.enabled is False:
                    raise invalid(
                        f"'{item.id}' in `{name}` is a gemaakte keuze (status G) and cannot be "
                        "switched off with `enabled: false`", "relax it through "
                        f"`overrides: [{{rule: {item.id}, action: disable, justification: ...}}]`")
                soft = (getattr(item, "hard", True) is False if name == "targets"
                        else getattr(item, "penalty", None) is not None)
                if item.status == "G" and soft:
                    how = "`hard: false`" if name == "targets" else "a `penalty`"
                    raise invalid(
                        f"'{item.id}' in `{name}` is a gemaakte keuze (status G) and cannot be "
                        f"made soft with {how} in the item itself", "keep it hard and soften it "
                        f"through `overrides: [{{rule: {item.id}, action: soften, penalty: ..., "
                        "justification: ...}]` (comply or explain), or give it the status the "
                        "source gives it")
        known = {t.id for t in self.targets} | {r.id for r in self.rules}
        for o in self.overrides:
            if o.rule not in known:
                raise invalid(f"override of unknown rule or target '{o.rule}'",
                              did_you_mean(o.rule, known))
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

    def __reduce__(self) -> tuple[Any, ...]:
        # the model of scenario_model() is made at run time: pickle it by its families
        if not type(self).rule_schemas:
            return super().__reduce__()
        return _restore, (type(self).rule_schemas, self.__getstate__())


# ------------------------------------------------------------------------------------------------
# the model for a set of rule families
# ------------------------------------------------------------------------------------------------
class RuleSchemaSource(Protocol):
    """What the scenario model needs of a rule family: the schema of its entries."""

    @property
    def schema(self) -> type[RuleBase]: ...


RuleFamilies = Mapping[str, RuleSchemaSource]
"""Rule families by their ``type:`` (the registry of :mod:`ruimteverdeling.rules.registry`)."""


def scenario_model(families: RuleFamilies) -> type[Scenario]:
    """The :class:`Scenario` model whose ``rules`` entries are validated by ``families``.

    Each entry is validated by the schema of the family its ``type:`` names (a tagged union,
    so an error names the entry and the family: ``rules[3].exclusion.buffer_m``; an unknown
    type is answered with the known ones). The model is made once per set of families.
    """
    if not families:
        raise ValueError("a scenario model needs at least one rule family")
    return _scenario_model(tuple((t, f.schema) for t, f in families.items()))


@functools.cache
def _scenario_model(schemas: tuple[tuple[str, type[RuleBase]], ...]) -> type[Scenario]:
    entry = Annotated[functools.reduce(operator.or_, [s for _, s in schemas]),
                      Field(discriminator="type")]
    model = create_model("Scenario", __base__=Scenario, __module__=Scenario.__module__,
                         __doc__=Scenario.__doc__,
                         rules=(list[entry], Field(default_factory=list)))
    model.rule_schemas = schemas
    return model


def _restore(schemas: tuple[tuple[str, type[RuleBase]], ...],
             state: dict[str, Any]) -> Scenario:
    model = _scenario_model(schemas)
    scenario = model.__new__(model)
    scenario.__setstate__(state)
    return scenario


