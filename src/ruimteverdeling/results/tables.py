"""The tables of a run: rules, overrides, multi-use accounting, burdens and benefits per region.

``rules.csv`` — every rule's rows, as its family reports them
(:mod:`ruimteverdeling.rules.reporting`: per closed use × region for the zone rules, one row
for the others, with whether the rule binds at the LP prices), then the combined uses that
``compatibility`` closes. A disabled rule has one row with ``enabled: no``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ruimteverdeling.domain.burdens import BENEFIT_USES, DEFAULT_BURDENS, burden_ha
from ruimteverdeling.domain.regions import region_area_ha, sum_by_region
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.rules.compile import CompiledModel
from ruimteverdeling.rules.registry import family_of
from ruimteverdeling.rules.reporting import RuleRun
from ruimteverdeling.rules.targets import TargetCompiler, measure

RULE_COLUMNS = ["rule", "type", "status", "enabled", "override", "use", "region", "ha_removed",
                "binds", "max_reduced_cost", "value", "source"]


def rules_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    run = RuleRun.of(cm, sol)
    overridden = {a.override.rule: a.override.action for a in cm.overrides}
    rows: list[dict[str, Any]] = []
    disabled = [a.original for a in cm.overrides if a.kind == "rule" and a.effective is None]
    for rule in list(cm.rules) + disabled:
        base = {"rule": rule.id, "type": rule.type, "status": rule.status,
                "enabled": "yes" if rule.is_enabled and rule not in disabled else "no",
                "override": overridden.get(rule.id, ""), "source": rule.source.short(),
                "use": "", "region": "", "ha_removed": 0.0, "binds": "", "max_reduced_cost": "",
                "value": ""}
        if base["enabled"] == "no":
            rows.append(base)
            continue
        rows += [{**base, **r} for r in family_of(rule).report(rule, run)]
    comp = next((r for r in cm.rule_reports if r["rule"] == "compatibility"), None)
    if comp is not None:
        for uid in comp.get("closed_uses", []):
            rows.append({"rule": "compatibility", "type": "compatibility", "status": "T",
                         "enabled": "yes", "override": "", "use": uid, "region": "all",
                         "ha_removed": "", "binds": "", "max_reduced_cost": "",
                         "value": "combination not allowed", "source": comp["source"]})
    return rows


def overrides_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    """Every override with its justification and the hectares (or units) it changes."""
    out = []
    after = cm.land_use_after(sol.x)
    ctx = cm.ctx
    rows_of_land, names = ctx.region_rows()
    for a in cm.overrides:
        o = a.override
        item = a.original
        entry = {"rule": o.rule, "kind": a.kind, "action": o.action,
                 "justification": o.justification, "status": item.status,
                 "set": o.set or {}, "penalty": o.penalty, "changed_ha": 0.0,
                 "changed_by_region": {}}
        family = family_of(item) if a.kind == "rule" else None
        if family is not None and family.zone:
            pairs = family.compile(item, ctx).closed
            assert pairs is not None
            zone = pairs.zone
            entry["zone_ha_original"] = float((zone & ctx.domain).sum()) * ctx.cell_ha
            if a.effective is not None and o.action == "set":
                eff = family.compile(a.effective, ctx).closed
                assert eff is not None
                entry["zone_ha_effective"] = float((eff.zone & ctx.domain).sum()) * ctx.cell_ha
            closed = ctx.uses_mask(pairs.uses, containing=False)
            hit = zone & closed[after]
            if pairs.applies_to == "new":
                hit &= after != ctx.land_use_idx
            sel = hit & (rows_of_land >= 0)
            per = np.bincount(rows_of_land[sel], minlength=len(names)) * ctx.cell_ha
            entry["changed_ha"] = float(hit.sum()) * ctx.cell_ha
            entry["changed_by_region"] = {names[r]: float(v) for r, v in enumerate(per) if v}
            entry["meaning"] = ("hectares inside the original rule's zone now given a use it "
                                "would have closed")
        elif a.kind == "target":
            entry["original"] = {"min": item.min, "max": item.max, "hard": item.hard}
            if a.effective is not None:
                entry["effective"] = {"min": a.effective.min, "max": a.effective.max,
                                      "hard": a.effective.hard}
            tc = cm.target_compilers.get(item.id)
            if tc is not None:
                ach = measure(tc, after)
                olos, _ = TargetCompiler(item, ctx).bounds()  # the original target's bounds
                gaps = {}
                for r, label in enumerate(tc.labels):
                    lo = olos[r]
                    short = max(0.0, lo - ach[r]) if lo is not None else 0.0
                    if short:
                        gaps[label] = short
                entry["changed_units"] = gaps
                entry["meaning"] = f"{item.unit} below the original target"
        out.append(entry)
    return out


def multi_use(cm: CompiledModel, sol: Solution) -> dict[str, Any]:
    """Hectares and share of combined uses, and the land they save against single uses.

    A hectare of a combined use u provides p(u,k) of each single use k it combines; providing
    the same with single uses takes Σ_k p(u,k) hectares, so it saves Σ_k p(u,k) − 1.
    """
    after = cm.land_use_after(sol.x)
    ctx = cm.ctx
    dom_after = after[ctx.domain]
    ha = ctx.cell_ha
    by_use = {}
    saved = 0.0
    for i, u in enumerate(ctx.uses):
        if not u.is_combined:
            continue
        n = int((dom_after == i).sum())
        if not n:
            continue
        factor = sum(u.provides.get(k, 0.0) for k in u.combines) - 1.0
        by_use[u.id] = {"ha": n * ha, "saves_ha_per_ha": factor, "saved_ha": n * ha * factor}
        saved += n * ha * factor
    total = sum(v["ha"] for v in by_use.values())
    domain_ha = float(ctx.domain.sum()) * ha
    return {"combined_ha": total, "share_of_changeable_land": total / domain_ha if domain_ha
            else 0.0, "land_saved_ha": saved, "by_use": by_use}


def burdens_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    """Burdens and benefits per region (lusten en lasten), for every allocation.

    Burdens: hectares of agricultural land lost, of new wind/solar, new defence and new
    housing land; benefits: new homes, new nature and water-buffer hectares, new TWh/yr.
    """
    ctx = cm.ctx
    after = cm.land_use_after(sol.x)
    rows_of_land, names = ctx.region_rows()
    cur = ctx.land_use_idx
    n = len(names)
    area_r = region_area_ha(rows_of_land, n, ctx.cell_ha)
    table: dict[str, np.ndarray] = {}
    known = ctx.catalogue.target_uses
    for use, basis in DEFAULT_BURDENS:
        if use not in known:
            continue
        v = burden_ha(ctx.provides(use), cur, after, basis, ctx.cell_ha)
        table[f"burden: {use} {basis} (ha)"] = sum_by_region(rows_of_land, v, n)
    for use in BENEFIT_USES:
        if use not in known:
            continue
        v = burden_ha(ctx.provides(use), cur, after, "new", ctx.cell_ha)
        table[f"benefit: {use} new (ha)"] = sum_by_region(rows_of_land, v, n)
    if ctx.scenario.housing_density is not None:
        p = ctx.provides("housing")
        v = ctx.cell_ha * ctx.housing_density() * np.maximum(0.0, p[after] - p[cur])
        table["benefit: new homes"] = sum_by_region(rows_of_land, v, n)
    yield_ = np.array([u.energy_mwh_per_ha_yr * u.provides.get("renewable_energy", 0.0)
                       for u in ctx.uses]) / 1e6
    v = ctx.cell_ha * np.maximum(0.0, yield_[after] - yield_[cur])
    table["benefit: new energy (TWh/yr)"] = sum_by_region(rows_of_land, v, n)
    out = []
    for r, name in enumerate(names):
        row: dict[str, Any] = {"region": name, "area_ha": float(area_r[r])}
        for key, vals in table.items():
            row[key] = float(vals[r])
        burden = sum(v for k, v in row.items() if k.startswith("burden:"))
        row["burden per ha of region"] = burden / area_r[r] if area_r[r] else 0.0
        out.append(row)
    return out
