"""The tables of a run: rules, overrides, multi-use accounting, burdens and benefits per region.

``rules.csv`` — one row per rule × use × region for the zone rules (hectares the rule closes,
gross: as if it were the only rule), one row per other rule. ``binds`` says whether the rule
constrains the optimum, in the LP sense, using the duals of the LP relaxation:

* a zone rule binds when some pair it closes has a positive reduced cost at the LP prices,
  ``c(c,u) − Σ_rows y·a(c,u) − π_c > 0`` — the relaxation would have used it if allowed
  (``π_c`` is the cell's assignment dual; for a pinned cell, the price of its pinned use);
  pairwise conflict rows are not part of that price;
* a row rule (fairness, proximity share, conflict) binds when one of its rows has a non-zero
  dual;
* a cost or ladder rule does not bind or not; its row gives the term value it adds.

Without LP duals (Pyomo backend, ``method: mip``) ``binds`` is ``unknown``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ruimteverdeling.domain.burdens import BENEFIT_USES, DEFAULT_BURDENS, burden_ha
from ruimteverdeling.domain.regions import region_area_ha, sum_by_region
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.rules import exclusions
from ruimteverdeling.rules.compile import ZONE_RULES, CompiledModel
from ruimteverdeling.scenario import CostRule, LadderRule, Target

RULE_COLUMNS = ["rule", "type", "status", "enabled", "override", "use", "region", "ha_removed",
                "binds", "max_reduced_cost", "value", "source"]


def _cell_prices(cm: CompiledModel, sol: Solution) -> np.ndarray | None:
    """π per land cell: assignment dual for units, own-use price for pinned cells."""
    if sol.row_dual is None or sol.row_dual.size != cm.spec.n_rows:
        return None
    offsets = cm.spec.row_offsets()
    s, e = offsets["assign"]
    pi = np.full(cm.ctx.land_cells.size, np.nan)
    pi[cm.unit_land] = sol.row_dual[s:e]
    if cm.pinned_land.size:
        pl, pu = cm.pinned_land, cm.pinned_use_idx
        pi[pl] = cm.pair_objective(pl, pu) - cm.pair_row_price(pl, pu, sol.row_dual)
    return pi


def zone_rule_pricing(cm: CompiledModel, sol: Solution, rule: Any, pi: np.ndarray | None
                      ) -> dict[str, float] | None:
    """Largest reduced cost of the pairs a zone rule closes, per closed use."""
    if pi is None:
        return None
    ctx = cm.ctx
    zone = exclusions.zone_of(rule, ctx).ravel()[ctx.land_cells]
    land = np.flatnonzero(zone & ctx.domain)
    out = {}
    for uid in exclusions.closed_uses(rule, ctx):
        u = ctx.use_index(uid)
        li = land
        if getattr(rule, "applies_to", "new") == "new":
            li = li[ctx.land_use_idx[li] != u]
        if li.size == 0:
            continue
        ui = np.full(li.size, u)
        rc = cm.pair_objective(li, ui) - cm.pair_row_price(li, ui, sol.row_dual) - pi[li]
        out[uid] = float(np.nanmax(rc)) if rc.size else float("-inf")
    return out


def rules_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    pi = _cell_prices(cm, sol)
    tol = 1e-6 * max(1.0, cm.area.cell_area_ha)
    reports = {r["rule"]: r for r in cm.rule_reports}
    overridden = {a.override.rule: a.override.action for a in cm.overrides}
    rows: list[dict[str, Any]] = []
    after = cm.land_use_after(sol.x)
    offsets = cm.spec.row_offsets()
    all_rules = list(cm.rules)
    disabled = [a.original for a in cm.overrides if a.kind == "rule" and a.effective is None]
    for rule in all_rules + disabled:
        base = {"rule": rule.id, "type": rule.type, "status": rule.status,
                "enabled": "yes" if rule.is_enabled and rule not in disabled else "no",
                "override": overridden.get(rule.id, ""), "source": rule.source.short(),
                "use": "", "region": "", "ha_removed": 0.0, "binds": "", "max_reduced_cost": "",
                "value": ""}
        if base["enabled"] == "no":
            rows.append(base)
            continue
        if isinstance(rule, ZONE_RULES):
            rep = reports.get(rule.id, {})
            if rep.get("softened"):
                base["binds"] = "softened"
                base["value"] = sol_term(cm, sol, f"override:{rule.id}")
            pricing = None if rep.get("softened") else zone_rule_pricing(cm, sol, rule, pi)
            removed = rep.get("removed_ha", {}) or rep.get("would_remove_ha", {})
            if not removed:
                rows.append({**base, "binds": base["binds"] or "no"})
            for uid, regions in removed.items():
                rc = None if pricing is None else pricing.get(uid)
                binds = base["binds"] or ("unknown" if pricing is None else
                                          "yes" if rc is not None and rc > tol else "no")
                for region, ha in regions.items():
                    rows.append({**base, "use": uid, "region": region, "ha_removed": ha,
                                 "binds": binds,
                                 "max_reduced_cost": "" if rc is None else rc})
        elif isinstance(rule, CostRule | LadderRule):
            name = rule.term or rule.id
            part = next((t for t in cm.terms.get(name, []) if t.ref == rule.id), None)
            value = float(part.fn(np.arange(after.size), after).sum()) if part else 0.0
            rows.append({**base, "binds": "n/a", "value": value})
        else:
            block = f"rule:{rule.id}"
            if block not in offsets:
                rows.append({**base, "binds": "no"})
                continue
            s, e = offsets[block]
            if sol.row_dual is None or e == s:
                binds = "unknown" if e > s else "no"
            else:
                binds = "yes" if np.abs(sol.row_dual[s:e]).max() > 1e-9 else "no"
            act = cm.spec.block(block).A @ sol.x
            rows.append({**base, "binds": binds, "value": float(act.max()) if act.size else 0.0})
    comp = reports.get("compatibility")
    if comp is not None:
        for uid in comp.get("closed_uses", []):
            rows.append({"rule": "compatibility", "type": "compatibility", "status": "T",
                         "enabled": "yes", "override": "", "use": uid, "region": "all",
                         "ha_removed": "", "binds": "", "max_reduced_cost": "",
                         "value": "combination not allowed", "source": comp["source"]})
    return rows


def sol_term(cm: CompiledModel, sol: Solution, name: str) -> float:
    return cm.term_values(sol.x).get(name, 0.0)


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
        if a.kind == "rule" and isinstance(item, ZONE_RULES):
            zone = exclusions.zone_of(item, ctx).ravel()[ctx.land_cells]
            entry["zone_ha_original"] = float((zone & ctx.domain).sum()) * ctx.cell_ha
            if a.effective is not None and o.action == "set":
                eff = exclusions.zone_of(a.effective, ctx).ravel()[ctx.land_cells]
                entry["zone_ha_effective"] = float((eff & ctx.domain).sum()) * ctx.cell_ha
            closed = ctx.uses_mask(exclusions.closed_uses(item, ctx), containing=False)
            hit = zone & closed[after]
            if getattr(item, "applies_to", "new") == "new":
                hit &= after != ctx.land_use_idx
            sel = hit & (rows_of_land >= 0)
            per = np.bincount(rows_of_land[sel], minlength=len(names)) * ctx.cell_ha
            entry["changed_ha"] = float(hit.sum()) * ctx.cell_ha
            entry["changed_by_region"] = {names[r]: float(v) for r, v in enumerate(per) if v}
            entry["meaning"] = ("hectares inside the original rule's zone now given a use it "
                                "would have closed")
        elif a.kind == "target" and isinstance(item, Target):
            entry["original"] = {"min": item.min, "max": item.max, "hard": item.hard}
            if a.effective is not None:
                entry["effective"] = {"min": a.effective.min, "max": a.effective.max,
                                      "hard": a.effective.hard}
            tc = cm.target_compilers.get(item.id)
            if tc is not None:
                from ruimteverdeling.rules.targets import TargetCompiler, measure

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
