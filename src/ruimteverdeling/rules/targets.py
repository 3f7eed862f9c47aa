"""Targets: national and regional claims in hectares, homes, TWh or shares.

For a target on use ``T`` with rows ``r`` (national, one region, or one per region) the
contribution of cell ``c`` with use ``u`` is

    q[c, u] = p_{u,T} · a_c · m_c,u · [c ∈ r] · [c ∈ within] · [basis new ⇒ e_c does not provide T]

with ``p_{u,T}`` the yield factor of use ``u`` towards ``T`` (1 for ``T`` itself, the
catalogue's ``provides`` for combined uses) and ``m`` the unit factor: 1 for ``area`` and
``share``, the housing density (homes/ha of the cell's region,
:mod:`ruimteverdeling.domain.density`) for ``homes``, the use's yield
(MWh/ha/yr ÷ 10⁶) for ``energy``. Each row is

    lo_r ≤ Σ_{c ∈ units} Σ_u q[c,u] x[c,u] + K_r ≤ hi_r

with ``K_r`` the contribution of the cells that are not variables (fixed context and pinned
cells), moved into the bounds. For ``share`` the bounds are ``share × area(r ∩ within)``.
``scale: area_share`` multiplies national numbers by the study area's share of the country;
``outside_land`` with share ``s`` first multiplies min and max by ``1 − s`` (the part met by
what the land model does not allocate, such as rooftop solar).
A soft target adds slacks: ``… + s⁻_r − s⁺_r``, ``s ≥ 0``, each unit costing ``penalty``.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.area.codelists import codelist
from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.model.spec import INF
from ruimteverdeling.rules import checks
from ruimteverdeling.rules.base import PairRows
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario.schema import Target

MAX_ROW_BOUND = 1e15
"""Largest required amount of a row after scaling (area share, current quantity): beyond it
double-precision sums over the cells lose their unit digits, and HiGHS reads bounds from
1e20 on as infinite — a hard minimum would silently vanish."""


def check(target: Target, index: int, ctx: Context) -> list[Problem]:
    file = ctx.file
    field = f"targets[{index}]"
    problems = []
    cat = ctx.catalogue
    if target.use not in cat.target_uses:
        problems.append(Problem(file, f"{field}.use", f"unknown use '{target.use}'",
                                did_you_mean(target.use, sorted(cat.target_uses))))
    for u in target.uses or []:
        if u not in cat:
            problems.append(Problem(file, f"{field}.uses", f"unknown use '{u}'",
                                    did_you_mean(u, cat.ids)))
        elif target.use not in cat[u].provides:
            problems.append(Problem(file, f"{field}.uses",
                                    f"use '{u}' does not provide '{target.use}'",
                                    f"list only uses that provide it: "
                                    f"{', '.join(cat.providers(target.use))}"))
    layer = target.regions or ctx.area.manifest.regions
    if target.regions is not None and not ctx.area.has_layer(layer):
        problems.append(checks.missing_layer(layer, f"{field}.regions", file, ctx.area))
    elif ctx.area.has_layer(layer):
        if ctx.area.layer(layer).kind != "regions":
            problems.append(Problem(file, f"{field}.regions",
                                    f"layer '{layer}' is not a regions layer",
                                    "name a layer of kind `regions`"))
        else:
            if target.region is not None:
                status, meant = checks.region_name(target.region, layer, ctx.area)
                if status == "misspelt":
                    names = sorted(ctx.area.region_names(layer).values())
                    problems.append(Problem(file, f"{field}.region",
                                            f"unknown region '{target.region}'",
                                            f"did you mean '{meant}'? (regions of layer "
                                            f"'{layer}' in the study area: {', '.join(names)})"))
            problems += checks.region_names(
                list(target.region_values), layer,
                lambda name: f"{field}.region_values.{name}", ctx,
                "its bounds are not used")
    if target.within is not None and not ctx.area.has_layer(target.within):
        problems.append(checks.missing_layer(target.within, f"{field}.within", file, ctx.area))
    if target.quantity == "homes" and ctx.scenario.housing_density is None:
        problems.append(Problem(file, f"{field}.quantity",
                                "a homes target needs `housing_density:` in the scenario",
                                "add `housing_density: {default: 35, source: ...}`"))
    if target.quantity == "energy":
        providers = [u for u in (target.uses or cat.providers(target.use)) if u in cat]
        if providers and all(cat[u].energy_mwh_per_ha_yr <= 0 for u in providers):
            problems.append(Problem(file, f"{field}.quantity",
                                    f"no use providing '{target.use}' has an energy yield",
                                    "set `energy_mwh_per_ha_yr` for it under `uses:`"))
    if target.scale == "area_share":
        if target.quantity == "share":
            problems.append(Problem(file, f"{field}.scale",
                                    "a share is already relative; it cannot be scaled",
                                    "remove `scale:`"))
        elif ctx.scenario.scaling is None:
            problems.append(Problem(file, f"{field}.scale",
                                    "`scale: area_share` needs `scaling:` in the scenario",
                                    "add `scaling: {national_area_ha: ..., source: ...}`"))
    return problems


class TargetCompiler:
    """Builds the rows of one target from the precomputed land-cell arrays."""

    def __init__(self, target: Target, ctx: Context, index: int | None = None):
        self.t = target
        self.ctx = ctx
        self.index = index
        cat = ctx.catalogue
        uses = list(cat)
        counted = set(target.uses) if target.uses else None
        self.factor = np.array([
            u.provides.get(target.use, 0.0) if (counted is None or u.id in counted) else 0.0
            for u in uses])
        self.provides_any = np.array([target.use in u.provides for u in uses])
        if target.quantity == "energy":
            self.factor = self.factor * np.array([u.energy_mwh_per_ha_yr for u in uses]) / 1e6
        self._rows_and_labels()

    # -- rows ----------------------------------------------------------------------------------
    def _rows_and_labels(self) -> None:
        t, ctx = self.t, self.ctx
        land = ctx.land_cells
        layer_name = t.regions or ctx.area.manifest.regions
        if t.region is None and not t.per_region:
            row = np.zeros(land.size, np.int32)
            labels = ["national"] if t.regions is None else ["all"]
        elif t.region is not None:
            reg = ctx.area.layer(layer_name).data.ravel()[land]
            names = ctx.area.region_names(layer_name)
            rid = next((i for i, n in names.items() if n == t.region), None)
            if rid is None:  # no land of the region in the study area: no row (a warning)
                row, labels = np.full(land.size, -1, np.int32), []
            else:
                row = np.where(reg == rid, 0, -1).astype(np.int32)
                labels = [t.region]
        else:
            row, labels = ctx.region_rows(layer_name)
        if t.within is not None:
            inside = ctx.zone(t.within, None, land)
            row = np.where(inside, row, -1)
        self.row_of_land = row
        self.labels = labels
        self.denom_ha = np.bincount(row[row >= 0], minlength=len(labels)) * ctx.cell_ha
        if t.quantity == "homes":
            self.density = ctx.housing_density()
        else:
            self.density = None

    @property
    def layer(self) -> str:
        """The region layer of the target's rows."""
        return self.t.regions or self.ctx.area.manifest.regions

    def values(self, land_idx: np.ndarray, use_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and quantity of each (land cell, use) pair; rows are -1 where it does not count."""
        # in place and through ``take``: at national size each pass over the columns costs a
        # fraction of a second, and this runs for every target on the columns and the fixed cells
        v = (self.factor * self.ctx.cell_ha).take(use_idx)
        if self.density is not None:
            v *= self.density.take(land_idx)
        if self.t.effective_basis == "new":
            v[self.provides_any.take(self.ctx.land_use_idx.take(land_idx))] = 0.0
        rows = self.row_of_land.take(land_idx)
        rows[v == 0] = -1
        return rows, v

    def current(self) -> np.ndarray:
        """The row quantities in the current land use."""
        return measure(self, self.ctx.land_use_idx)

    def bounds(self) -> tuple[list[float | None], list[float | None]]:
        """Required min and max per row in target units (after scaling, reference and
        region values)."""
        t = self.t
        n = len(self.labels)
        if t.relative_to == "current":
            scale = self.current()
        else:
            scale = np.full(n, self.ctx.area_share if t.scale == "area_share" else 1.0)
        los, his = [], []
        on_land = 1.0 - (t.outside_land.share if t.outside_land is not None else 0.0)
        for r, label in enumerate(self.labels):
            b = t.region_values.get(label)
            lo = b.min if b is not None and b.min is not None else t.min
            hi = b.max if b is not None and b.max is not None else t.max
            lo = lo * on_land if lo is not None else None
            hi = hi * on_land if hi is not None else None
            for name, v, out in (("min", lo, los), ("max", hi, his)):
                if v is None:
                    out.append(None)
                    continue
                with np.errstate(over="ignore", invalid="ignore"):
                    scaled = float(v * scale[r])
                if not np.isfinite(scaled) or abs(scaled) > MAX_ROW_BOUND:
                    self._beyond(name, v, float(scale[r]), scaled, label)
                out.append(scaled)
        return los, his

    def _beyond(self, name: str, value: float, scale: float, scaled: float,
                label: str) -> None:
        t = self.t
        how = "the current quantity" if t.relative_to == "current" else "the area share"
        fix = ("check `scaling.national_area_ha` (the country's land in ha, ~3,370,000 for "
               "the Netherlands)" if t.scale == "area_share" else
               "give `min`/`max` as multiples of the current quantity (1.05 = 5 % more)"
               if t.relative_to == "current" else "give the number in the target's unit")
        raise InputError.single(
            self.ctx.file, f"targets[{self.index}].{name}" if self.index is not None else
            f"targets.{t.id}.{name}",
            f"`{name}` {value:g} × {how} {scale:g} = {scaled:g} {t.unit} in {label}: beyond "
            f"±{MAX_ROW_BOUND:g}, more than any study area can hold (and past the range the "
            "solver represents exactly)", fix)


def pair_rows(target: Target, index: int, ctx: Context) -> tuple[PairRows, TargetCompiler]:
    """The rows of ``target`` (bounds in row units: hectares for shares)."""
    tc = TargetCompiler(target, ctx, index)
    n = len(tc.labels)
    los, his = tc.bounds()
    lower = np.full(n, -INF)
    upper = np.full(n, INF)
    for r in range(n):
        mult = tc.denom_ha[r] if target.quantity == "share" else 1.0
        if los[r] is not None:
            lower[r] = los[r] * mult
        if his[r] is not None:
            upper[r] = his[r] * mult
    rows = PairRows(
        name=f"target:{target.id}", kind="target", ref=target.id, labels=tc.labels,
        fn=tc.values, lower=lower, upper=upper,
        penalty=None if target.hard else float(target.penalty or 0.0),
        meta={"file": ctx.file, "quantity": target.quantity, "unit": target.unit,
              "hard": target.hard,
              "source": target.source.short(), "field": f"targets[{index}]",
              "status": target.status, "los": los, "his": his,
              "denom_ha": tc.denom_ha, "fmt": lambda q, r: _fmt(q, target, tc.denom_ha[r])})
    return rows, tc


def vanished(tc: TargetCompiler, file: object, field: str) -> list[Problem]:
    """Warnings for a target that asks nothing, or forbids its use, without saying so.

    * no rows: a per-region target whose region layer has no region with land in the study
      area, or a target for one region that has none;
    * ``relative_to: current`` rows whose current quantity is 0: ``min × 0 = 0`` asks nothing,
      ``max × 0 = 0`` allows none of the use there;
    * ``share`` rows over an empty area (a ``within`` mask without land in the row).
    """
    t, ctx = tc.t, tc.ctx
    out = []
    off = checks.switch_off("targets", t)
    if not tc.labels:  # only targets per region or for one region have no row
        if t.region is not None:
            what = (f"is for region '{t.region}' of layer '{tc.layer}', which has no land in "
                    "the study area")
        else:
            what = (f"is per region of layer '{tc.layer}', but no region of it has land in "
                    "the study area")
        out.append(Problem(file, field, f"target '{t.id}' {what}: it adds no row and asks "
                           "nothing",
                           f"nothing to do if the study area has none ({off} to silence "
                           f"this); otherwise check layer '{tc.layer}' (its CRS and extent; "
                           "`ruimteverdeling validate` shows what it covers)"))
        return out
    if t.relative_to == "current":
        current = tc.current()
        los, his = tc.bounds()
        asks = [label for r, label in enumerate(tc.labels)
                if current[r] == 0 and los[r] is not None and los[r] == 0 and
                _given(t, label, "min")]
        caps = [label for r, label in enumerate(tc.labels)
                if current[r] == 0 and his[r] is not None and _given(t, label, "max")]
        why = _why_none(t, ctx)
        if asks:
            out.append(Problem(
                file, f"{field}.min",
                f"target '{t.id}' asks {_times(t, 'min')} the current {t.quantity} of "
                f"'{t.use}', but the study area has none today{_where(asks, tc.labels)}"
                f"{why}: it asks 0 {t.unit} there and has no effect",
                f"give the target in {t.unit} instead (`min:` without `relative_to`), map the "
                f"use in the land-use layer, {off}"))
        if caps:
            out.append(Problem(
                file, f"{field}.max",
                f"target '{t.id}' allows at most {_times(t, 'max')} the current {t.quantity} "
                f"of '{t.use}', but the study area has none today{_where(caps, tc.labels)}"
                f"{why}: no new '{t.use}' is allowed there",
                f"give the maximum in {t.unit} instead (`max:` without `relative_to`), map "
                f"the use in the land-use layer, {off}"))
    if t.quantity == "share":
        empty = [label for r, label in enumerate(tc.labels) if tc.denom_ha[r] == 0]
        if empty:
            out.append(Problem(
                file, field,
                f"target '{t.id}' asks a share of an area that is empty"
                f"{_where(empty, tc.labels)} (no land inside '{t.within}'): it asks nothing "
                "there",
                f"check layer '{t.within}' (its CRS and extent), {off}"))
    return out


def _given(t: Target, label: str, bound: str) -> bool:
    """The target (or its value for region ``label``) gives a non-zero ``bound``."""
    b = t.region_values.get(label)
    v = getattr(b, bound) if b is not None and getattr(b, bound) is not None else \
        getattr(t, bound)
    return v is not None and v != 0


def _times(t: Target, bound: str) -> str:
    v = getattr(t, bound)
    return f"{v:g} ×" if v is not None else "a multiple of"


def _where(labels: list[str], all_labels: list[str]) -> str:
    if all_labels in (["national"], ["all"]) or not labels:
        return ""
    shown = ", ".join(labels[:8]) + (f" and {len(labels) - 8} more" if len(labels) > 8 else "")
    return f" in {shown}"


def _why_none(t: Target, ctx: Context) -> str:
    """Why the study area may have none of a use today: the land-use layer reads no code as
    it (and, when so, that the CBS Bestand Bodemgebruik has no class for it either)."""
    providers = set(ctx.catalogue.providers(t.use)) | {t.use}
    spec = ctx.area.manifest.layers.get(ctx.area.manifest.current_use)
    mapped = set((spec.categories or {}).values()) if spec is not None else set()
    if mapped & providers:
        return ""
    text = f" (no code of the land-use layer's `categories:` is read as '{t.use}'"
    if not set(codelist("bbg").categories().values()) & providers:
        text += "; CBS Bestand Bodemgebruik has no class for it"
    return text + ")"


def _fmt(q: float, target: Target, denom_ha: float) -> str:
    if target.quantity == "share":
        share = q / denom_ha if denom_ha > 0 else 0.0
        return f"a share of {share:.3f} ({q:,.0f} ha)"
    if target.quantity == "energy":
        return f"{q:,.3f} TWh/yr"
    if target.quantity == "homes":
        return f"{q:,.0f} homes"
    return f"{q:,.0f} ha"


def measure(tc: TargetCompiler, land_use_idx_after: np.ndarray) -> np.ndarray:
    """Achieved quantity per row for a complete allocation (catalogue index per land cell).

    Shares are returned as fractions, everything else in the target's units.
    """
    land_idx = np.arange(land_use_idx_after.size)
    rows, vals = tc.values(land_idx, land_use_idx_after)
    sel = rows >= 0
    achieved = np.bincount(rows[sel], weights=vals[sel], minlength=len(tc.labels))
    if tc.t.quantity == "share":
        with np.errstate(invalid="ignore", divide="ignore"):
            achieved = np.where(tc.denom_ha > 0, achieved / tc.denom_ha, 0.0)
    return achieved
