"""Plan-MER indicators (beoordelingscriteria) of an allocation, nationally and per province.

An indicator is computed from three things only: the allocation (the use of every cell after the
run), the current land use and the layers of the study area, plus the use catalogue. So it can be
computed for any solved run folder, and two runs on the same area give comparable numbers.

Notation: ``c`` a land cell with area ``a`` (ha); ``e_c`` its current use, ``u_c`` its use in the
allocation; ``p(u, T)`` the catalogue's yield factor of use ``u`` towards target use ``T``
(``provides``; a combined use counts towards several); ``[·]`` is 1 when the condition holds;
``built(u)``, ``sealing(u)``, ``E(u)`` (MWh/ha/yr) are catalogue fields; ``Δ⁺p_T(c) =
max(0, p(u_c, T) − p(e_c, T))`` is what a cell newly provides of ``T``. Layer *roles* (flood depth,
NNN, ...) map to layers of the study area through ``data/assessment.yaml`` (``layers:``), and the
parameters below come from its ``parameters:``.

=================================  ==========  =================================================
criterion                          unit        definition
=================================  ==========  =================================================
nature_ha                          ha          ``Σ_c a·p(u_c, nature)`` — nature, combined uses
                                               counted with their yield factor
nature_nnn_ha                      ha          the same, over cells in the NNN
nature_natura2000_ha               ha          the same, over cells in Natura 2000
water_buffer_ha                    ha          ``Σ_c a·p(u_c, water_buffer)``
new_housing_flood_shallow_ha       ha          ``Σ a·Δ⁺p_housing`` over cells with flood depth
                                               > ``flood_shallow_m`` (0.5 m); basis: all new
                                               housing land
new_housing_flood_deep_ha          ha          the same for depth > ``flood_deep_m`` (2 m)
new_built_subsiding_ha             ha          ``Σ a·[built(u_c) ∧ ¬built(e_c)]`` over cells with
                                               subsidence ≥ ``subsidence_min_cm`` or peat soil;
                                               basis: all newly built land
sealed_ha                          ha          ``Σ_c a·(sealing(u_c) − sealing(e_c))``: net new
                                               sealed surface (negative when unsealed)
heritage_changed_ha                ha          ``Σ a·[u_c ≠ e_c]`` over heritage cells
valuable_landscape_changed_ha      ha          the same over valuable landscapes
new_housing_contours_ha            ha          ``Σ a·Δ⁺p_housing`` inside the union of the
                                               airport-noise, defence and industry contours
                                               (those the area has); basis: all new housing
                                               land
farmland_ha                        ha          ``Σ_c a·p(u_c, agriculture)``
best_farmland_lost_ha              ha          ``Σ a·max(0, p(e_c, agr) − p(u_c, agr))`` over
                                               cells of the best agricultural class
peat_drained_ha                    ha          ``Σ a·[conventional(u_c)]`` over peat cells
peat_rewetted_ha                   ha          ``Σ a·[wet(u_c)]`` over peat cells
energy_twh                         TWh/yr      ``Σ_c a·E(u_c)·p(u_c, renewable_energy) / 10⁶``
new_homes                          homes       ``Σ a·d_c·Δ⁺p_housing``, ``d_c`` the run's housing
                                               density (homes/ha); without a density the new
                                               housing hectares ``Σ a·Δ⁺p_housing`` (unit ha)
land_take_ha                       ha          ``Σ_c a·[built(u_c) ∧ ¬built(e_c)]`` (ruimtebeslag)
multi_use_ha                       ha          ``Σ_c a·[u_c is a combined use]``
defence_ha                         ha          ``Σ_c a·p(u_c, defence)``
burden_gini                        (0–1)       Gini over provinces of the burden per hectare
                                               ``I_r = Σ_{c∈r} burden(c) / area_r`` with the
                                               burdens of ``burdens.csv`` (farmland lost, new
                                               wind/solar, defence and housing land); national
                                               only
=================================  ==========  =================================================

**Peat emissions proxy.** Drained peat oxidises and emits CO₂; rewetting (a groundwater level of
20–40 cm below the surface) largely stops it. Without an emission model, the criteria count
hectares: ``conventional(u)`` — the use provides agriculture but not extensive agriculture
(conventional farming, farmland with wind, agri-PV: drained); ``wet(u)`` — not built, not
conventional, and every target use it provides is nature, water storage or (extensive)
agriculture (the uses the peat rule of the base scenario allows). Other uses on peat (housing,
solar, defence) are in neither. An emission factor per hectare from the national inventory
turns ``peat_drained_ha`` into emissions; the engine does not assume one.

**Basis.** Every criterion also has a *basis* in hectares, used by the ``share`` scoring mode:
the land area of its zone (the heritage zone, best farmland, peat), the whole land area
(sealing, land take and the stock criteria), or, for the criteria on where new development
goes (flood-prone land, subsiding soil, contours), all the new housing (or newly built) land of
the run, so that a shift of development into the zone is measured as a share of the
development — in a comparison, of the reference's.

**Fallback units.** A criterion may name a fallback (another computation and unit) for when its
own input is missing: ``new_homes`` counts hectares of new housing when the run has no housing
density. The unit actually used is recorded per table (``IndicatorTable.units``); a comparison
scores two runs only when their units agree.

**Regions.** Every criterion but ``burden_gini`` is a sum over cells, so its province values
add up to the national value (every land cell lies in one province). A criterion whose layer
the study area lacks, or whose category (peat, the best class) its layer does not have, is
``n/a`` with a note, never an error.

**Adding a criterion.** Register a function of :class:`IndicatorInputs` that returns the
contribution of every land cell (``@criterion(...)``; or a national-only ``total`` with
:func:`register`), and give it scoring settings with a rationale under ``criteria:`` in
``data/assessment.yaml``; the reports, tables and comparisons pick it up.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator

from ruimteverdeling import yamlio
from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.domain.burdens import DEFAULT_BURDENS, burden_ha, gini
from ruimteverdeling.domain.density import HomesPerHectare
from ruimteverdeling.domain.regions import region_area_ha, region_rows, sum_by_region
from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.formatting import measure
from ruimteverdeling.strict import StrictModel
from ruimteverdeling.uses import UseCatalogue

Better = Literal["higher", "lower"]
Mode = Literal["relative", "share", "absolute"]

THEMES: dict[str, tuple[str, str]] = {
    "nature": ("Natuur", "Nature"),
    "water": ("Water en waterveiligheid", "Water and flood safety"),
    "soil": ("Bodem en bodemdaling", "Soil and subsidence"),
    "landscape": ("Landschap en erfgoed", "Landscape and heritage"),
    "health": ("Gezondheid", "Health"),
    "agriculture": ("Landbouw", "Agriculture"),
    "climate": ("Klimaat", "Climate"),
    "energy": ("Energie", "Energy"),
    "housing": ("Wonen", "Housing"),
    "land_take": ("Ruimtebeslag en meervoudig ruimtegebruik", "Land take and multiple use"),
    "defence": ("Defensie", "Defence"),
    "fairness": ("Verdeling lusten en lasten", "Fair distribution"),
}


class NotApplicable(Exception):  # noqa: N818 - a signal, not an error
    """The study area lacks what a criterion needs; the value is ``n/a`` with this reason."""


# ------------------------------------------------------------------------------------------------
# settings: layer roles, parameters, thresholds (data/assessment.yaml)
# ------------------------------------------------------------------------------------------------
class Parameters(StrictModel):
    flood_shallow_m: float = 0.5
    flood_deep_m: float = 2.0
    subsidence_min_cm: float = 10.0
    peat_category: int | str = "peat"
    best_agri_category: int | str = 1


class CriterionSettings(StrictModel):
    """How one criterion is scored (see ``analysis.compare``)."""

    better: Better
    mode: Mode
    thresholds: tuple[float, float, float]
    rationale: str = ""

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(t < 0 or not math.isfinite(t) for t in v):
            raise ValueError("thresholds must be finite and non-negative")
        if not v[0] <= v[1] <= v[2]:
            raise ValueError("thresholds must be increasing: [small, moderate, large]")
        return v


class AssessmentConfig(StrictModel):
    """The contents of ``data/assessment.yaml`` (or a user's file merged on top of it)."""

    layers: dict[str, str] = Field(default_factory=dict)
    parameters: Parameters = Field(default_factory=Parameters)
    criteria: dict[str, CriterionSettings] = Field(default_factory=dict)
    source: str = "data/assessment.yaml"

    def layer_name(self, role: str) -> str:
        return self.layers.get(role, role)


def _default_assessment_data() -> dict[str, Any]:
    """The shipped assessment settings, a fresh copy each call (the caller merges into it)."""
    return copy.deepcopy(_parsed_default_assessment())


@functools.cache
def _parsed_default_assessment() -> dict[str, Any]:
    """``data/assessment.yaml`` parsed once per process (a run folder's indicators need it,
    and writing the alternatives' folders needs it once per folder)."""
    text = resources.files("ruimteverdeling").joinpath("data/assessment.yaml").read_text("utf-8")
    return yamlio.load(text, "data/assessment.yaml")


def load_assessment(path: str | Path | None = None) -> AssessmentConfig:
    """The shipped assessment settings, with the file ``path`` (if given) merged on top.

    The user's file has the structure of ``data/assessment.yaml``; each criterion, layer role
    and parameter it gives replaces the default field by field. Raises :class:`InputError`
    naming the file and field for an unknown criterion, role or parameter, or bad thresholds.
    """
    data = _default_assessment_data()
    source = "data/assessment.yaml (shipped defaults)"
    if path is not None:
        path = Path(path)
        user = _read_user_yaml(path)
        problems = _check_user_keys(path, user)
        if problems:
            raise InputError(problems)
        for key in ("layers", "parameters"):
            data[key] = {**data.get(key, {}), **(user.get(key) or {})}
        criteria = dict(data.get("criteria", {}))
        for cid, settings in (user.get("criteria") or {}).items():
            criteria[cid] = {**criteria.get(cid, {}), **(settings or {})}
        data["criteria"] = criteria
        source = f"{path} (on top of the shipped defaults)"
    try:
        cfg = AssessmentConfig(**data, source=source)
    except ValidationError as exc:
        raise InputError([Problem(path, ".".join(str(p) for p in err["loc"]), err["msg"],
                                  "see the comments in the shipped data/assessment.yaml")
                          for err in exc.errors()]) from None
    missing = [c for c in CRITERIA if c not in cfg.criteria]
    if missing:  # a criterion registered without shipped settings: a bug, not user input
        raise RuntimeError(f"no assessment settings for criteria {missing}")
    return cfg


def _read_user_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError.single(path, None, "thresholds file not found",
                                "give the path of a YAML file shaped like data/assessment.yaml")
    data = yamlio.load_file(path, "thresholds file") or {}
    if not isinstance(data, dict):
        raise InputError.single(path, None, "the file must be a mapping",
                                "give `criteria:`, `layers:` and/or `parameters:` at the top")
    return data


def _check_user_keys(path: Path, user: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in user:
        if key not in ("criteria", "layers", "parameters"):
            problems.append(Problem(path, str(key), "unknown section",
                                    did_you_mean(str(key), ["criteria", "layers", "parameters"])))
    for cid, settings in (user.get("criteria") or {}).items():
        if cid not in CRITERIA:
            problems.append(Problem(path, f"criteria.{cid}", "unknown criterion",
                                    did_you_mean(str(cid), CRITERIA)))
        elif settings is not None and not isinstance(settings, dict):
            problems.append(Problem(path, f"criteria.{cid}", "must be a mapping",
                                    "e.g. {mode: relative, thresholds: [1, 5, 15]}"))
    for role in user.get("layers") or {}:
        if role not in LAYER_ROLES:
            problems.append(Problem(path, f"layers.{role}", "unknown layer role",
                                    did_you_mean(str(role), LAYER_ROLES)))
    for name in user.get("parameters") or {}:
        if name not in Parameters.model_fields:
            problems.append(Problem(path, f"parameters.{name}", "unknown parameter",
                                    did_you_mean(str(name), Parameters.model_fields)))
    return problems


LAYER_ROLES = ("flood_depth", "subsidence", "soil", "agri_quality", "nnn", "natura2000",
               "heritage", "valuable_landscape", "airport_noise", "defence_contour",
               "industry_contour")


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------
@dataclass
class IndicatorInputs:
    """An allocation on a study area, with what the criteria need, precomputed on land cells.

    ``after`` (and ``before``, default the area's current use) are uint8 catalogue codes on the
    grid. Arrays over land cells follow ``np.flatnonzero(area.land)``.
    """

    area: StudyArea
    catalogue: UseCatalogue
    after: np.ndarray
    before: np.ndarray | None = None
    housing_density: HomesPerHectare | None = None
    config: AssessmentConfig | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.before is None:
            self.before = self.area.current_use
        if self.config is None:
            self.config = load_assessment()
        shape = self.area.grid.shape
        for name, arr in (("allocation", self.after), ("current use", self.before)):
            if arr.shape != shape:
                raise InputError.single(self.area.path, "grid",
                                        f"the {name} raster is {arr.shape[1]} x {arr.shape[0]} "
                                        f"cells, the study area {shape[1]} x {shape[0]}",
                                        "compare runs made on this study area")
        self.land = np.flatnonzero(self.area.land.ravel())
        lut = self.catalogue.code_lut()
        self.b = lut[self.before.ravel()[self.land]].astype(np.int64)
        self.a = lut[self.after.ravel()[self.land]].astype(np.int64)
        bad = self.a < 0
        if bad.any():
            codes = sorted({int(c) for c in self.after.ravel()[self.land][bad][:1000]})
            raise InputError.single(self.area.path, "allocation",
                                    f"the allocation has codes the use catalogue does not know "
                                    f"inside the study area: {codes[:10]}",
                                    "compare runs of this engine on this study area")
        self.cell_ha = self.area.cell_area_ha
        self.uses = list(self.catalogue)

    # -- catalogue vectors (by catalogue index) ---------------------------------------------------
    def provides(self, target: str) -> np.ndarray:
        return np.array([u.provides.get(target, 0.0) for u in self.uses])

    def attribute(self, name: str) -> np.ndarray:
        return np.array([float(getattr(u, name)) for u in self.uses])

    def new(self, target: str) -> np.ndarray:
        """``Δ⁺p_T`` per land cell: what each cell newly provides of ``target``."""
        p = self.provides(target)
        return np.maximum(0.0, p[self.a] - p[self.b])

    def newly_built(self) -> np.ndarray:
        built = np.array([u.built for u in self.uses])
        return (built[self.a] & ~built[self.b]).astype(float)

    # -- layers -----------------------------------------------------------------------------------
    def layer_name(self, role: str) -> str:
        assert self.config is not None
        return self.config.layer_name(role)

    def has_role(self, role: str) -> bool:
        return self.area.has_layer(self.layer_name(role))

    def layer(self, role: str) -> np.ndarray:
        """Values of the layer playing ``role`` on land cells (NaN → 0); NotApplicable if the
        study area has no such layer."""
        name = self.layer_name(role)
        if not self.area.has_layer(name):
            raise NotApplicable(f"the study area has no layer '{name}' ({role})")
        data = self.area.layer(name).data.ravel()[self.land]
        if np.issubdtype(data.dtype, np.floating):
            data = np.nan_to_num(data, nan=0.0)
        return data

    def mask(self, role: str) -> np.ndarray:
        return self.layer(role) != 0

    def category(self, role: str, category: int | str) -> np.ndarray:
        """Bool over land cells: the layer's cells of ``category`` (code or name)."""
        name = self.layer_name(role)
        data = self.layer(role)
        lay = self.area.layer(name)
        try:
            code = lay.code_of(category)
        except KeyError:
            if isinstance(category, str) and category.lstrip("-").isdigit():
                code = int(category)
            else:
                raise NotApplicable(f"layer '{name}' has no category '{category}'") from None
        return data == code

    def peat(self) -> np.ndarray:
        assert self.config is not None
        return self.category("soil", self.config.parameters.peat_category)

    @cached_property
    def region_rows(self) -> tuple[np.ndarray, list[str]]:
        """Row (0..n−1, −1 outside) of every land cell in the default region layer, and names
        (sorted by region code)."""
        return region_rows(self.area, self.land)

    def housing_density_cells(self) -> np.ndarray:
        """Homes per hectare of new housing on every land cell
        (:mod:`ruimteverdeling.domain.density`)."""
        hd = self.housing_density
        if hd is None:
            raise NotApplicable("the run has no housing density (homes per hectare)")
        if hd.per_region and not self.area.has_layer(hd.layer(self.area)):
            raise NotApplicable(f"the housing density's region layer '{hd.layer(self.area)}' "
                                "is missing")
        return hd.cells(self.area, self.land)


# ------------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------------
CellFn = Callable[[IndicatorInputs], np.ndarray]


@dataclass(frozen=True)
class Criterion:
    """One plan-MER criterion: what it measures, in which unit, and how it is computed.

    ``cells`` gives each land cell's contribution (the value is their sum, nationally and per
    region); ``basis`` each land cell's hectares in the criterion's zone (for ``share``
    scoring); a criterion with ``total`` instead is national only (not additive).
    """

    id: str
    theme: str
    label_nl: str
    label_en: str
    unit: str
    better: Better
    definition: str
    cells: CellFn | None = None
    basis: CellFn | None = None
    total: Callable[[IndicatorInputs], float] | None = None
    decimals: int = 0
    fallback: tuple[CellFn, str, str] | None = None  # (cells, unit, note) when n/a

    @property
    def additive(self) -> bool:
        return self.cells is not None

    def texts(self, params: Parameters | None = None) -> tuple[str, str, str]:
        """(Dutch label, English label, definition) with the parameters filled in
        (``{flood_shallow_m}`` and the like; Dutch numbers with a decimal comma)."""
        values = (params or Parameters()).model_dump()
        en = {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in values.items()}
        nl = {k: v.replace(".", ",") for k, v in en.items()}
        return (self.label_nl.format_map(nl), self.label_en.format_map(en),
                self.definition.format_map(en))

    def meta(self, params: Parameters | None = None) -> dict[str, Any]:
        nl, en = THEMES[self.theme]
        label_nl, label_en, definition = self.texts(params)
        return {"id": self.id, "theme": self.theme, "theme_nl": nl, "theme_en": en,
                "label_nl": label_nl, "label_en": label_en, "unit": self.unit,
                "better": self.better, "definition": definition,
                "regional": self.additive, "decimals": self.decimals}


CRITERIA: dict[str, Criterion] = {}


def register(c: Criterion) -> Criterion:
    """Add a criterion to the registry (ids are unique; the order is the report order)."""
    if c.id in CRITERIA:
        raise ValueError(f"criterion '{c.id}' registered twice")
    if c.theme not in THEMES:
        raise ValueError(f"criterion '{c.id}': unknown theme '{c.theme}'")
    if (c.cells is None) == (c.total is None):
        raise ValueError(f"criterion '{c.id}': give exactly one of cells and total")
    CRITERIA[c.id] = c
    return c


def criterion(id: str, theme: str, label_nl: str, label_en: str, unit: str, better: Better,
              definition: str, basis: CellFn | None = None, decimals: int = 0,
              fallback: tuple[CellFn, str, str] | None = None) -> Callable[[CellFn], CellFn]:
    """Decorator: register the decorated function as the per-cell values of a criterion."""

    def deco(fn: CellFn) -> CellFn:
        register(Criterion(id, theme, label_nl, label_en, unit, better, definition, cells=fn,
                           basis=basis, decimals=decimals, fallback=fallback))
        return fn

    return deco


# -- bases (hectares per land cell in the criterion's zone) --------------------------------------
def _zone_basis(zone: Callable[[IndicatorInputs], np.ndarray]) -> CellFn:
    def basis(x: IndicatorInputs) -> np.ndarray:
        return zone(x).astype(float) * x.cell_ha
    return basis


def _land(x: IndicatorInputs) -> np.ndarray:
    return np.ones(x.land.size, bool)


def _new_housing_ha(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.new("housing")


def _newly_built_ha(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.newly_built()


def _flood(threshold: str) -> Callable[[IndicatorInputs], np.ndarray]:
    def zone(x: IndicatorInputs) -> np.ndarray:
        assert x.config is not None
        return x.layer("flood_depth") > getattr(x.config.parameters, threshold)
    return zone


def _subsiding(x: IndicatorInputs) -> np.ndarray:
    assert x.config is not None
    zone = np.zeros(x.land.size, bool)
    found = False
    if x.has_role("subsidence"):
        zone |= x.layer("subsidence") >= x.config.parameters.subsidence_min_cm
        found = True
    if x.has_role("soil"):
        try:
            zone |= x.peat()
            found = True
        except NotApplicable:
            pass
    if not found:
        raise NotApplicable("the study area has neither a subsidence layer nor peat soil")
    return zone


def _contours(x: IndicatorInputs) -> np.ndarray:
    roles = [r for r in ("airport_noise", "defence_contour", "industry_contour") if x.has_role(r)]
    if not roles:
        raise NotApplicable("the study area has no noise or environmental contour layers")
    zone = np.zeros(x.land.size, bool)
    for r in roles:
        zone |= x.mask(r)
    return zone


def _best_land(x: IndicatorInputs) -> np.ndarray:
    assert x.config is not None
    return x.category("agri_quality", x.config.parameters.best_agri_category)


def _conventional(x: IndicatorInputs) -> np.ndarray:
    """Bool per catalogue use: drained farming (provides agriculture, not extensive)."""
    agr, ext = x.provides("agriculture"), x.provides("extensive_agriculture")
    return (agr > 0) & (ext <= 0)


WET_TARGETS = frozenset({"nature", "water_buffer", "extensive_agriculture", "agriculture"})


def _wet(x: IndicatorInputs) -> np.ndarray:
    """Bool per catalogue use: compatible with a high peat water table."""
    conv = _conventional(x)
    return np.array([bool(u.provides) and not u.built and set(u.provides) <= WET_TARGETS
                     and not conv[i] for i, u in enumerate(x.uses)])


def _in(zone: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(zone, values, 0.0)


# -- the criteria, in report order ---------------------------------------------------------------
@criterion("nature_ha", "nature", "Natuur (incl. combinaties)", "Nature (incl. combined uses)",
           "ha", "higher", "Σ ha × yield factor towards nature of the use after the run "
           "(nature 1, nature with water storage 0.9, defence ground with nature 0.7)",
           basis=_zone_basis(_land))
def _nature(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.provides("nature")[x.a]


@criterion("nature_nnn_ha", "nature", "Natuur in het NNN", "Nature in the NNN", "ha", "higher",
           "nature hectares (yield-weighted) inside the Natuurnetwerk Nederland",
           basis=_zone_basis(lambda x: x.mask("nnn")))
def _nature_nnn(x: IndicatorInputs) -> np.ndarray:
    return _in(x.mask("nnn"), _nature(x))


@criterion("nature_natura2000_ha", "nature", "Natuur in Natura 2000", "Nature in Natura 2000",
           "ha", "higher", "nature hectares (yield-weighted) inside Natura 2000 areas",
           basis=_zone_basis(lambda x: x.mask("natura2000")))
def _nature_n2000(x: IndicatorInputs) -> np.ndarray:
    return _in(x.mask("natura2000"), _nature(x))


@criterion("water_buffer_ha", "water", "Waterberging", "Water storage", "ha", "higher",
           "Σ ha × yield factor towards water storage (water buffer 1, nature with water "
           "storage 1, extensive farming with water storage 0.8)", basis=_zone_basis(_land))
def _water_buffer(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.provides("water_buffer")[x.a]


@criterion("new_housing_flood_shallow_ha", "water",
           "Nieuw wonen bij overstromingsdiepte > {flood_shallow_m} m",
           "New housing where floods exceed {flood_shallow_m} m", "ha", "lower",
           "hectares of new housing (yield-weighted) where the potential flood depth exceeds "
           "{flood_shallow_m} m; × homes/ha gives homes at risk",
           basis=_new_housing_ha)
def _flood_shallow(x: IndicatorInputs) -> np.ndarray:
    return _in(_flood("flood_shallow_m")(x), x.cell_ha * x.new("housing"))


@criterion("new_housing_flood_deep_ha", "water",
           "Nieuw wonen bij overstromingsdiepte > {flood_deep_m} m",
           "New housing where floods exceed {flood_deep_m} m", "ha", "lower",
           "hectares of new housing where the potential flood depth exceeds {flood_deep_m} m "
           "(the deep threshold: danger to life)", basis=_new_housing_ha)
def _flood_deep(x: IndicatorInputs) -> np.ndarray:
    return _in(_flood("flood_deep_m")(x), x.cell_ha * x.new("housing"))


@criterion("new_built_subsiding_ha", "soil", "Nieuwe bebouwing op dalende of veenbodem",
           "New building on subsiding or peat soil", "ha", "lower",
           "hectares newly built (a built use where there was none) where the expected "
           "subsidence is at least {subsidence_min_cm} cm or the soil is peat",
           basis=_newly_built_ha)
def _built_subsiding(x: IndicatorInputs) -> np.ndarray:
    return _in(_subsiding(x), x.cell_ha * x.newly_built())


@criterion("sealed_ha", "soil", "Extra verhard oppervlak", "Additional sealed surface", "ha",
           "lower", "Σ ha × (sealed share after − sealed share before), with the catalogue's "
           "`sealing` per use; negative when land is unsealed", basis=_zone_basis(_land))
def _sealed(x: IndicatorInputs) -> np.ndarray:
    s = x.attribute("sealing")
    return x.cell_ha * (s[x.a] - s[x.b])


@criterion("heritage_changed_ha", "landscape", "Veranderd in erfgoedgebied",
           "Changed in heritage areas", "ha", "lower",
           "hectares inside the (UNESCO) heritage zone whose use changes",
           basis=_zone_basis(lambda x: x.mask("heritage")))
def _heritage(x: IndicatorInputs) -> np.ndarray:
    return _in(x.mask("heritage"), x.cell_ha * (x.a != x.b))


@criterion("valuable_landscape_changed_ha", "landscape", "Veranderd in waardevol landschap",
           "Changed in valuable landscapes", "ha", "lower",
           "hectares inside valuable landscapes whose use changes",
           basis=_zone_basis(lambda x: x.mask("valuable_landscape")))
def _landscape(x: IndicatorInputs) -> np.ndarray:
    return _in(x.mask("valuable_landscape"), x.cell_ha * (x.a != x.b))


@criterion("new_housing_contours_ha", "health", "Nieuw wonen binnen geluids- en milieucontouren",
           "New housing inside noise and environmental contours", "ha", "lower",
           "hectares of new housing inside aircraft-noise, defence and industrial contours "
           "(the union of those the study area has)", basis=_new_housing_ha)
def _contour_housing(x: IndicatorInputs) -> np.ndarray:
    return _in(_contours(x), x.cell_ha * x.new("housing"))


@criterion("farmland_ha", "agriculture", "Landbouwgrond (incl. combinaties)",
           "Farmland (incl. combined uses)", "ha", "higher",
           "Σ ha × yield factor towards agriculture (farmland with wind 0.97, agri-PV 0.6)",
           basis=_zone_basis(_land))
def _farmland(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.provides("agriculture")[x.a]


@criterion("best_farmland_lost_ha", "agriculture", "Verlies beste landbouwgrond",
           "Best farmland lost", "ha", "lower",
           "farmland hectares (yield-weighted) lost on land of the best agricultural class",
           basis=_zone_basis(_best_land))
def _best_lost(x: IndicatorInputs) -> np.ndarray:
    p = x.provides("agriculture")
    return _in(_best_land(x), x.cell_ha * np.maximum(0.0, p[x.b] - p[x.a]))


@criterion("peat_drained_ha", "climate", "Veen onder gangbare (ontwaterde) landbouw",
           "Peat under conventional (drained) farming", "ha", "lower",
           "hectares of peat soil under a use that provides agriculture but not extensive "
           "agriculture (proxy for CO₂ from peat oxidation)",
           basis=_zone_basis(lambda x: x.peat()))
def _peat_drained(x: IndicatorInputs) -> np.ndarray:
    return _in(x.peat(), x.cell_ha * _conventional(x)[x.a])


@criterion("peat_rewetted_ha", "climate", "Veen vernat of extensief", "Peat rewetted or extensive",
           "ha", "higher", "hectares of peat soil under wet uses: nature, water storage, "
           "extensive farming and their combinations", basis=_zone_basis(lambda x: x.peat()))
def _peat_wet(x: IndicatorInputs) -> np.ndarray:
    return _in(x.peat(), x.cell_ha * _wet(x)[x.a])


@criterion("energy_twh", "energy", "Duurzame elektriciteit op land",
           "Renewable electricity on land", "TWh/yr", "higher",
           "Σ ha × energy yield (MWh/ha/yr) × yield factor towards renewable energy / 10⁶, "
           "from the use catalogue", basis=_zone_basis(_land), decimals=2)
def _energy(x: IndicatorInputs) -> np.ndarray:
    y = x.attribute("energy_mwh_per_ha_yr") * x.provides("renewable_energy") / 1e6
    return x.cell_ha * y[x.a]


@criterion("new_homes", "housing", "Nieuwe woningen (op nieuw land)", "New homes (on new land)",
           "homes", "higher", "new housing hectares (yield-weighted) × the run's housing "
           "density (homes/ha, per province where given); without a density: the new housing "
           "hectares", basis=_zone_basis(_land),
           fallback=(_new_housing_ha, "ha", "no housing density in the run: new housing "
                                            "hectares instead of homes"))
def _homes(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.housing_density_cells() * x.new("housing")


@criterion("land_take_ha", "land_take", "Ruimtebeslag (nieuw bebouwd)",
           "Land take (newly built)", "ha", "lower",
           "hectares that get a built use (catalogue `built`) where there was none",
           basis=_zone_basis(_land))
def _land_take(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.newly_built()


@criterion("multi_use_ha", "land_take", "Meervoudig ruimtegebruik", "Multiple land use", "ha",
           "higher", "hectares of combined uses (nature with water storage, farmland with "
           "wind, agri-PV, defence with nature, ...)", basis=_zone_basis(_land))
def _multi(x: IndicatorInputs) -> np.ndarray:
    combined = np.array([u.is_combined for u in x.uses])
    return x.cell_ha * combined[x.a]


@criterion("defence_ha", "defence", "Defensieterrein (incl. combinaties)",
           "Defence ground (incl. combined uses)", "ha", "higher",
           "Σ ha × yield factor towards defence", basis=_zone_basis(_land))
def _defence(x: IndicatorInputs) -> np.ndarray:
    return x.cell_ha * x.provides("defence")[x.a]


def burden_cells(x: IndicatorInputs) -> np.ndarray:
    """Burden hectares per land cell, as in ``burdens.csv``: farmland lost, new wind/solar,
    new defence and new housing land (each yield-weighted;
    :mod:`ruimteverdeling.domain.burdens`)."""
    known = x.catalogue.target_uses
    out = np.zeros(x.land.size)
    for use, basis in DEFAULT_BURDENS:
        if use not in known:
            continue
        out += burden_ha(x.provides(use), x.b, x.a, basis, x.cell_ha)
    return out


def _burden_gini(x: IndicatorInputs) -> float:
    rows, names = x.region_rows
    if len(names) < 2:
        raise NotApplicable("fewer than two regions")
    burden = sum_by_region(rows, burden_cells(x), len(names))
    area = region_area_ha(rows, len(names), x.cell_ha)
    intensity = np.where(area > 0, burden / np.where(area > 0, area, 1.0), 0.0)
    return gini(intensity.tolist())


register(Criterion(
    "burden_gini", "fairness", "Spreiding lasten over provincies (Gini)",
    "Spread of burdens over provinces (Gini)", "Gini 0–1", "lower",
    "Gini coefficient over the provinces of the burden hectares per hectare of province "
    "(farmland lost, new wind/solar, defence and housing land); 0 = evenly spread",
    total=_burden_gini, decimals=3))


# ------------------------------------------------------------------------------------------------
# computing
# ------------------------------------------------------------------------------------------------
NATIONAL = "national"


@dataclass
class IndicatorTable:
    """Values of every criterion, nationally and per region, with their bases and notes."""

    criteria: list[Criterion]
    regions: list[str]
    values: dict[str, dict[str, float | None]]
    basis: dict[str, dict[str, float | None]]
    notes: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    params: Parameters = field(default_factory=Parameters)

    def value(self, cid: str, region: str = NATIONAL) -> float | None:
        return self.values[cid].get(region)

    def unit(self, cid: str) -> str:
        """The unit of the values of ``cid`` (the criterion's, or its fallback's)."""
        return self.units.get(cid) or CRITERIA[cid].unit

    def label_nl(self, cid: str) -> str:
        return CRITERIA[cid].texts(self.params)[0]

    def label_en(self, cid: str) -> str:
        return CRITERIA[cid].texts(self.params)[1]

    def definition(self, cid: str) -> str:
        return CRITERIA[cid].texts(self.params)[2]

    def rows(self) -> list[dict[str, Any]]:
        """One row per criterion × (national, regions), for CSV and JSON."""
        out = []
        for c in self.criteria:
            for region in [NATIONAL, *self.regions]:
                if region != NATIONAL and not c.additive:
                    continue
                v = self.values[c.id].get(region)
                out.append({"criterion": c.id, "theme": c.theme, "region": region,
                            "label_nl": self.label_nl(c.id), "label_en": self.label_en(c.id),
                            "unit": self.unit(c.id),
                            "better": c.better, "value": v,
                            "basis_ha": self.basis[c.id].get(region),
                            "note": self.notes.get(c.id, "")})
        return out

    def to_json(self) -> dict[str, Any]:
        return {"criteria": [c.meta(self.params) for c in self.criteria],
                "regions": self.regions,
                "notes": self.notes, "units": self.units, "rows": self.rows()}


COLUMNS = ["criterion", "theme", "region", "label_nl", "label_en", "unit", "better", "value",
           "basis_ha", "note"]


def cell_values(x: IndicatorInputs, c: Criterion) -> np.ndarray | None:
    """Per-land-cell contributions of an additive criterion (None when n/a)."""
    if c.cells is None:
        return None
    try:
        return np.asarray(c.cells(x), float)
    except NotApplicable:
        if c.fallback is not None:
            with contextlib.suppress(NotApplicable):
                return np.asarray(c.fallback[0](x), float)
        return None


def compute(x: IndicatorInputs, criteria: Iterable[str] | None = None) -> IndicatorTable:
    """Every criterion (or those named) for the allocation in ``x``."""
    chosen = [CRITERIA[c] for c in criteria] if criteria is not None else list(CRITERIA.values())
    rows, names = x.region_rows
    sel = rows >= 0
    n = len(names)
    values: dict[str, dict[str, float | None]] = {}
    basis: dict[str, dict[str, float | None]] = {}
    notes: dict[str, str] = {}
    units: dict[str, str] = {}
    for c in chosen:
        try:
            if c.cells is not None:
                try:
                    v = np.asarray(c.cells(x), float)
                except NotApplicable as exc:
                    if c.fallback is None:
                        raise
                    fn, units[c.id], notes[c.id] = c.fallback
                    notes[c.id] += f" ({exc})"
                    v = np.asarray(fn(x), float)
                per = np.bincount(rows[sel], weights=v[sel], minlength=n)
                values[c.id] = {NATIONAL: tidy(v.sum()),
                                **{names[i]: tidy(per[i]) for i in range(n)}}
            else:
                assert c.total is not None
                values[c.id] = {NATIONAL: tidy(c.total(x))}
        except NotApplicable as exc:
            values[c.id] = {NATIONAL: None, **({r: None for r in names} if c.additive else {})}
            notes[c.id] = f"n/a: {exc}"
        bfn = c.basis or _zone_basis(_land)
        try:
            b = np.asarray(bfn(x), float)
            per_b = np.bincount(rows[sel], weights=b[sel], minlength=n)
            basis[c.id] = {NATIONAL: tidy(b.sum()),
                           **{names[i]: tidy(per_b[i]) for i in range(n)}}
        except NotApplicable:
            basis[c.id] = {NATIONAL: None, **{r: None for r in names}}
    assert x.config is not None
    return IndicatorTable(chosen, names, values, basis, notes, units, x.config.parameters)


def tidy(v: float) -> float:
    """Round away summation noise (12 significant digits) so tables are stable."""
    v = float(v)
    if v == 0 or not math.isfinite(v):
        return 0.0 if v == 0 else v
    digits = 12 - math.floor(math.log10(abs(v))) - 1
    return round(v, max(digits, 0)) + 0.0


def format_value(v: float | None, c: Criterion | None = None, decimals: int | None = None
                 ) -> str:
    """A value as planners read it: thousands separators, the criterion's decimals
    (:func:`ruimteverdeling.formatting.measure`)."""
    return measure(v, decimals if decimals is not None else (c.decimals if c is not None else 0))
