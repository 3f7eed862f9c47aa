"""Trade-off summary: areas per use and region, target attainment, objective per term.

Everything here is computed from the final allocation (the use of every cell), not from the
solver's row activities, so the tables describe the map that is written.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.model.solve import Solution
from ruimteverdeling.rules.compile import CompiledModel
from ruimteverdeling.rules.targets import measure

MET_RTOL = 1e-6


def areas_table(cm: CompiledModel, before: np.ndarray, after: np.ndarray) -> list[dict[str, Any]]:
    """Hectares per use × region (and national), before and after."""
    area = cm.area
    land = area.land.ravel()
    reg = area.regions.data.ravel()[land]
    names = area.region_names()
    b = before.ravel()[land]
    a = after.ravel()[land]
    ha = area.cell_area_ha
    rows = []
    region_ids = sorted(names)
    pos = {rid: i for i, rid in enumerate(region_ids)}
    rix = np.array([pos.get(int(r), -1) for r in range(int(reg.max(initial=0)) + 1)])[reg]
    n_reg = len(region_ids)
    for u in cm.catalogue:
        nb = np.bincount(rix[b == u.code], minlength=n_reg) if n_reg else np.zeros(0)
        na = np.bincount(rix[a == u.code], minlength=n_reg) if n_reg else np.zeros(0)
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
    achieved_by_target = {tid: measure(tc, after_idx) for tid, tc in cm.target_compilers.items()}
    rows = []
    for tr in cm.target_rows:
        t = tr.target
        ach = float(achieved_by_target[t.id][tr.row])
        slack = 0.0
        for col, sign in ((tr.slack_lo_col, 1.0), (tr.slack_hi_col, 1.0)):
            if col is not None:
                s = float(sol.x[col]) * sign
                if t.quantity == "share" and tr.denom_ha > 0:
                    s /= tr.denom_ha
                slack += s
        ok_lo = tr.lo is None or ach >= tr.lo - MET_RTOL * max(1.0, abs(tr.lo))
        ok_hi = tr.hi is None or ach <= tr.hi + MET_RTOL * max(1.0, abs(tr.hi))
        rows.append({
            "target": t.id, "region": tr.label, "use": t.use, "quantity": t.quantity,
            "unit": t.unit, "basis": t.effective_basis, "hard": t.hard,
            "min": tr.lo, "max": tr.hi, "achieved": ach, "slack": slack,
            "met": "yes" if (ok_lo and ok_hi) else "no",
            "source": t.source.short(),
        })
    return rows


def objective_table(cm: CompiledModel, sol: Solution) -> list[dict[str, Any]]:
    out = []
    for t in cm.spec.terms:
        v = t.value(sol.x)
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
            w.writerow({k: _fmt(r.get(k)) for k in columns})


def _fmt(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.10g}"
    return v


AREAS_COLUMNS = ["region", "use", "label_nl", "label_en", "ha_before", "ha_after", "change_ha"]
TARGET_COLUMNS = ["target", "region", "use", "quantity", "unit", "basis", "hard", "min", "max",
                  "achieved", "slack", "met", "source"]
