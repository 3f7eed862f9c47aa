"""Trade-off summary: areas per use and region, target attainment, objective per term.

Everything here is computed from the final allocation (the use of every cell), not from the
solver's row activities, so the tables describe the map that is written.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.domain.burdens import gini
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.results import findings, tables
from ruimteverdeling.rules.compile import CompiledModel
from ruimteverdeling.rules.targets import measure

MET_RTOL = 1e-6


def areas_table(cm: CompiledModel, before: np.ndarray, after: np.ndarray) -> list[dict[str, Any]]:
    """Hectares per use × region (and national), before and after."""
    area = cm.area
    land = area.land.ravel()
    names = area.region_names()
    b = before.ravel()[land]
    a = after.ravel()[land]
    ha = area.cell_area_ha
    rows = []
    region_ids = sorted(names)
    rix, _ = cm.ctx.region_rows()
    n_reg = len(region_ids)
    inside = rix >= 0
    rb, ra, rix = b[inside], a[inside], rix[inside]
    for u in cm.catalogue:
        nb = np.bincount(rix[rb == u.code], minlength=n_reg) if n_reg else np.zeros(0)
        na = np.bincount(rix[ra == u.code], minlength=n_reg) if n_reg else np.zeros(0)
        for i, rid in enumerate(region_ids):
            if nb[i] == 0 and na[i] == 0:
                continue
            rows.append(_area_row(names[rid], u, nb[i] * ha, na[i] * ha))
        tb, ta = float((b == u.code).sum()) * ha, float((a == u.code).sum()) * ha
        if tb or ta:
            rows.append(_area_row("national", u, tb, ta))
    return rows


def _area_row(region: str, u, before: float, after: float) -> dict[str, Any]:
    return {"region": region, "use": u.id, "label_nl": u.label_nl, "label_en": u.label_en,
            "ha_before": round(float(before), 6), "ha_after": round(float(after), 6),
            "change_ha": round(float(after - before), 6)}


def targets_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    """Every target row: required, achieved (from the allocation), slack, met, source."""
    after_idx = cm.land_use_after(sol.x)
    rows = []
    overridden = {a.override.rule: a.override.action for a in cm.overrides}
    for t in cm.targets:
        if not t.is_enabled or t.id not in cm.target_compilers:
            continue
        tc = cm.target_compilers[t.id]
        info = cm.blocks[f"target:{t.id}"]
        achieved = measure(tc, after_idx)
        los, his = info.rows.meta["los"], info.rows.meta["his"]
        for r, label in enumerate(tc.labels):
            ach = float(achieved[r])
            slack = 0.0
            for col in (info.slack_lo[r], info.slack_hi[r]):
                if col is not None:
                    s = float(sol.x[col])
                    if t.quantity == "share" and tc.denom_ha[r] > 0:
                        s /= tc.denom_ha[r]
                    slack += s
            lo, hi = los[r], his[r]
            ok_lo = lo is None or ach >= lo - MET_RTOL * max(1.0, abs(lo))
            ok_hi = hi is None or ach <= hi + MET_RTOL * max(1.0, abs(hi))
            rows.append({
                "target": t.id, "region": label, "use": t.use, "quantity": t.quantity,
                "unit": t.unit, "basis": t.effective_basis, "hard": t.hard,
                "status": t.status, "override": overridden.get(t.id, ""),
                "min": lo, "max": hi, "achieved": ach, "slack": slack,
                "met": "yes" if (ok_lo and ok_hi) else "no",
                "source": t.source.short(),
                # the year the source sets, and the share met outside the land (summary only)
                "year": t.year,
                "outside_land": None if t.outside_land is None else {
                    "share": t.outside_land.share, "description": t.outside_land.description,
                    "source": t.outside_land.source.short()},
            })
    return rows


def objective_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    out = []
    values = cm.term_values(sol.x)
    for t in cm.spec.terms:
        v = values[t.name]
        out.append({"term": t.name, "sense": t.sense, "weight": t.weight, "value": v,
                    "contribution": t.sign * t.weight * v, "unit": t.unit,
                    "description": t.description})
    return out


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: csv_value(r.get(k)) for k in columns})


def csv_value(v: Any) -> Any:
    """A value as written in every CSV: '' for None, floats with 10 significant digits."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.10g}"
    return v


AREAS_COLUMNS = ["region", "use", "label_nl", "label_en", "ha_before", "ha_after", "change_ha"]
TARGET_COLUMNS = ["target", "region", "use", "quantity", "unit", "basis", "hard", "status",
                  "override", "min", "max", "achieved", "slack", "met", "source"]


def with_ha_columns(base: list[str], rows: list[dict[str, Any]]) -> list[str]:
    """``base`` followed by every ``ha:<use>`` key of ``rows``, in order of appearance."""
    extra: list[str] = []
    for r in rows:
        for k in r:
            if k.startswith("ha:") and k not in extra:
                extra.append(k)
    return base + extra


def build_summary(cm: CompiledModel, sol: Solution, after: np.ndarray) -> dict[str, Any]:
    """The numbers of ``summary.json`` for the allocation ``after`` (use code per grid cell)
    of solution ``sol``; the run folder's writer adds transitions, shadow prices and
    indicators."""
    burdens = tables.burdens_table(cm, sol)
    return {
        "scenario": cm.scenario.id,
        "title": cm.scenario.title,
        "status": sol.status,
        "optimal": sol.optimal,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "decision_gap": sol.decision_gap,  # what mip_rel_gap refers to (model/outcomes.py)
        "status_quo_value": sol.status_quo_value,
        "method": sol.method,
        "objective_terms": objective_table(cm, sol),
        "areas": areas_table(cm, cm.area.current_use, after),
        "targets": targets_table(cm, sol),
        "rules": tables.rules_table(cm, sol),
        "overrides": tables.overrides_table(cm, sol),
        "multi_use": tables.multi_use(cm, sol),
        "burdens": burdens,
        "burden_gini": gini([b["burden per ha of region"] for b in burdens]),
        "model": {"changeable_cells": int(cm.spec.n_units), "columns": int(cm.spec.n_cols),
                  "rows": int(cm.spec.n_rows), "pinned_cells": int(cm.pinned_land.size),
                  "cell_area_ha": cm.area.cell_area_ha},
        **findings.summary_part(cm),  # warnings and notes (file, field, message, fix)
    }
