"""The run report: what each section shows, computed from a :class:`RunView`, then rendered.

:func:`run_context` turns a run (its summary, grid, catalogue, allocation, indicators and the
files of its folder) into plain rows and numbers; ``templates/run.html.j2`` and one template per
section under ``templates/run/`` turn those into HTML. Nothing here writes markup.

Two computations the report adds to the summary:

* **attainment bar** of a target row: ``ratio = achieved / min`` (or ``/ max`` when there is
  no minimum); the bar spans 0 … 150 % with a mark at 100 %; no bar when the reference is 0
  or missing;
* **rules folded per rule** (:func:`aggregate_rules`): ``rules.csv`` has one row per
  rule × use × region; the report shows one row per rule whose hectares are the largest total
  over its uses (the zone's hectares closed to at least that use) and whose ``binds`` is the
  strongest of its rows (yes > softened > unknown > n/a > no).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ruimteverdeling.formatting import num
from ruimteverdeling.report.environment import environment, render
from ruimteverdeling.report.figures import (
    allocation_and_change_png,
    burdens_png,
    locations_png,
    map_png,
    pareto_png,
    timeline_png,
)
from ruimteverdeling.results.indicators import CRITERIA, THEMES, IndicatorTable, format_value
from ruimteverdeling.results.runfolder import RunView, read_rule_costs

RUN_SECTIONS = [("kaarten", "Kaarten · Maps"), ("oppervlakten", "Oppervlakte · Areas"),
                ("doelen", "Doelbereik · Targets"), ("doelfunctie", "Doelfunctie · Objective"),
                ("regels", "Regels · Rules"), ("afwijkingen", "Afwijkingen · Overrides"),
                ("locaties", "Locaties · Locations"),
                ("meervoudig", "Meervoudig ruimtegebruik · Multiple use"),
                ("lasten", "Lusten en lasten · Burdens"),
                ("indicatoren", "Indicatoren · Indicators"),
                ("prijzen", "Kosten van regels · Rule costs"),
                ("pareto", "Paretofront · Pareto front"),
                ("verantwoording", "Verantwoording · Run record")]
TRANSITIONS_SHOWN = 12
PRICES_SHOWN = 20
COSTS_SHOWN = 40
PARETO_ROWS_SHOWN = 60


def status_words(summary: dict[str, Any], mip_rel_gap: float | None = None) -> tuple[str, str]:
    """(text, badge class) for the solver status."""
    status = str(summary.get("status", "?"))
    gap = summary.get("gap")
    if summary.get("optimal"):
        if gap is not None and gap <= 1e-9:
            return "optimaal, bewezen / proven optimal", "ok"
        tol = f" {mip_rel_gap:.2%}" if mip_rel_gap is not None else ""
        return f"optimaal binnen de gaptolerantie{tol} / optimal within the gap tolerance", "ok"
    if status == "feasible":
        return "toegelaten, niet bewezen optimaal / feasible, NOT proven optimal", "warn"
    if status == "time_limit":
        return ("tijdslimiet bereikt, niet bewezen optimaal / time limit reached, NOT proven "
                "optimal"), "warn"
    return f"{status}", "bad"


def aggregate_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """rules.csv rows (per rule × use × region) folded to one row per rule; ``ha_removed`` is
    the largest total over the uses (the zone's hectares closed to at least that use)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rules:
        key = r["rule"]
        agg = out.setdefault(key, {"rule": key, "type": r.get("type"), "status": r.get("status"),
                                   "enabled": r.get("enabled"), "override": r.get("override"),
                                   "binds": set(), "per_use": {}, "uses": [],
                                   "value": r.get("value"), "source": r.get("source")})
        with contextlib.suppress(TypeError, ValueError):
            use = r.get("use") or ""
            agg["per_use"][use] = agg["per_use"].get(use, 0.0) + float(r.get("ha_removed") or 0)
        if r.get("binds"):
            agg["binds"].add(str(r["binds"]))
        if r.get("use") and r["use"] not in agg["uses"]:
            agg["uses"].append(r["use"])
    result = []
    for agg in out.values():
        agg["ha_removed"] = max(agg.pop("per_use").values(), default=0.0)
        b = agg["binds"]
        agg["binds"] = next((v for v in ("yes", "softened", "unknown", "n/a", "no") if v in b),
                            "")
        result.append(agg)
    return result


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _headline(view: RunView) -> list[dict[str, str]]:
    """Header cards for the key indicators (new homes, energy, nature) when computed."""
    out = []
    if view.indicators is not None:
        for cid in ("new_homes", "energy_twh", "nature_ha"):
            c = CRITERIA.get(cid)
            v = view.indicators.value(cid) if cid in view.indicators.values else None
            if c is not None and v is not None:
                out.append({"label": view.indicators.label_nl(cid),
                            "value": format_value(v, c), "unit": view.indicators.unit(cid)})
    return out


def _transitions(summary: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The largest transitions with their share of all changed hectares, and how many more."""
    transitions = sorted(summary.get("transitions") or [], key=lambda t: -t["ha"])
    total = sum(t["ha"] for t in transitions)
    rows = [{**t, "share": t["ha"] / total if total else None}
            for t in transitions[:TRANSITIONS_SHOWN]]
    return rows, max(0, len(transitions) - TRANSITIONS_SHOWN)


def attainment_bar(t: dict[str, Any]) -> dict[str, Any] | None:
    """The bar of a target row (see the module docstring), or None."""
    ach, lo, hi = t.get("achieved"), t.get("min"), t.get("max")
    try:
        ach = float(ach)
    except (TypeError, ValueError):
        return None
    ref = lo if lo not in (None, "") else hi
    if ref in (None, "") or float(ref) == 0:
        return None
    ratio = ach / float(ref)
    return {"ratio": ratio, "of": "min" if lo not in (None, "") else "max",
            "colour": "#4caf50" if t.get("met") == "yes" else "#e07b39",
            "width": max(0.0, min(ratio, 1.5)) / 1.5 * 100, "mark": 100 / 1.5}


def _targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for t in summary.get("targets") or []:
        met = t.get("met") == "yes"
        rows.append({"row": t, "met": met, "bar": attainment_bar(t),
                     "kind": "ok" if met else ("bad" if t.get("hard") else "warn")})
    return rows


def _objective_terms(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Each term with its contribution drawn as a bar from the middle (right = gain)."""
    terms = summary.get("objective_terms") or []
    biggest = max([abs(float(t.get("contribution") or 0)) for t in terms] or [1.0]) or 1.0
    rows = []
    for t in terms:
        c = float(t.get("contribution") or 0)
        w = abs(c) / biggest * 50
        rows.append({"row": t, "contribution": c, "width": w,
                     "left": 50 if c >= 0 else 50 - w,
                     "colour": "#4a90c2" if c >= 0 else "#d7301f"})
    return rows


def _rules(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = aggregate_rules(summary.get("rules") or [])
    for r in rows:
        binds = r["binds"]
        r["kind"] = {"yes": "bad", "softened": "warn", "no": "neutral"}.get(binds, "neutral")
        r["words"] = {"yes": "ja / yes", "no": "nee / no"}.get(binds, binds)
        value = r.get("value")
        r["value_text"] = num(value, 2) if isinstance(value, int | float) else (value or "")
    return rows


def _overrides(summary: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for o in summary.get("overrides") or []:
        changed = o.get("changed_ha")
        units = o.get("changed_units") or {}
        effect = num(changed) + " ha" if changed else ""
        if units:
            effect = "; ".join(f"{k}: {num(v)}" for k, v in units.items())
        rows.append({"row": o, "effect": effect})
    return rows


def _indicator_rows(table: IndicatorTable) -> list[dict[str, Any]]:
    """National indicator rows, with a theme row before each new theme."""
    rows: list[dict[str, Any]] = []
    theme = None
    for c in table.criteria:
        if c.theme != theme:
            theme = c.theme
            rows.append({"theme": THEMES[theme]})
        rows.append({"theme": None, "label_nl": table.label_nl(c.id),
                     "label_en": table.label_en(c.id),
                     "value": format_value(table.value(c.id), c), "unit": table.unit(c.id),
                     "direction": "hoger beter / higher is better" if c.better == "higher"
                     else "lager beter / lower is better",
                     "definition": table.definition(c.id), "note": table.notes.get(c.id, "")})
    return rows


def _indicator_regions(table: IndicatorTable) -> list[dict[str, Any]]:
    """Additive criteria per region and in total."""
    if not table.regions:
        return []
    return [{"label_nl": table.label_nl(c.id), "unit": table.unit(c.id),
             "values": [format_value(table.value(c.id, r), c) for r in table.regions],
             "total": format_value(table.value(c.id), c)}
            for c in table.criteria if c.additive]


def _prices(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Binding rows, the largest shadow price first."""
    prices = [r for r in (summary.get("shadow_prices") or []) if str(r.get("binding")) == "yes"]

    def size(r: dict[str, Any]) -> float:
        try:
            return abs(float(r.get("dual") or 0.0))
        except (TypeError, ValueError):
            return 0.0

    prices.sort(key=size, reverse=True)
    return [{"row": r, "dual": float(r["dual"]) if r.get("dual") not in (None, "") else None,
             "sentence": str(r.get("sentence", ""))} for r in prices[:PRICES_SHOWN]]


def _costs(folder: Path | None) -> list[dict[str, Any]]:
    """National rows of ``rule_costs.csv`` with their numbers read."""
    return [{"row": c, "cost": _float(c.get("cost")),
             "cost_to_others": _float(c.get("cost_to_others")),
             "ha_moved": _float(c.get("ha_moved"))}
            for c in read_rule_costs(folder)
            if c.get("region", "national") == "national"][:COSTS_SHOWN]


def _record(view: RunView) -> dict[str, Any]:
    """Scenario file hashes, then (label, text) facts, then the input-layer hashes."""
    rec = view.record or {}
    inputs = rec.get("inputs") or {}
    facts = []
    if inputs.get("area"):
        facts.append(("studiegebied / study area", inputs["area"]))
    solver = rec.get("solver") or {}
    if solver:
        facts.append(("solver", f"{solver.get('solver', '')} via {solver.get('backend', '')}, "
                                f"{solver.get('method', '')}"))
    model = view.summary.get("model") or {}
    if model:
        facts.append(("model", f"{model.get('changeable_cells', 0):,} veranderbare cellen / "
                               f"changeable cells, {model.get('columns', 0):,} kolommen / "
                               f"columns, {model.get('rows', 0):,} rijen / rows, "
                               f"{model.get('pinned_cells', 0):,} vastgezet / pinned; "
                               f"{model.get('cell_area_ha', 0):g} ha per cel / cell"))
    versions = rec.get("versions") or {}
    if versions:
        facts.append(("versies / versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    return {"files": [(name, str(h)[:16]) for name, h in (rec.get("scenario_files") or {})
                      .items()],
            "facts": facts, "hashes": list((inputs.get("sha256") or {}).items())}


LOCATIONS_SHOWN = 40


def _locations(view: RunView, png: bytes | None) -> dict[str, Any]:
    """The locations section: per use the figures of ``summary.json``, the largest
    locations and their map ``png``."""
    block = view.summary.get("locations") or {}
    rows = view.locations[0] if view.locations is not None else []
    largest = sorted(rows, key=lambda r: -float(r["size"]))[:LOCATIONS_SHOWN]
    return {"locations": block, "location_uses": list((block.get("per_use") or {}).items()),
            "location_rows": largest, "location_count": len(rows), "locations_png": png}


def run_figures(view: RunView) -> dict[str, bytes | None]:
    """The run report's charts that depend on the solve alone — the allocation and change
    maps, the burdens, the locations — as PNG bytes (the same bytes for the same inputs), so
    that a caller can draw them while other work runs and hand them to
    :func:`render_run_report`."""
    rows, ids = view.locations if view.locations is not None else ([], None)
    return {"maps_png": allocation_and_change_png(view.before, view.after, view.grid,
                                                  view.catalogue),
            "burdens_png": burdens_png(view.summary.get("burdens") or []),
            "locations_png": locations_png(rows, ids, view.before, view.grid, view.catalogue)
            if ids is not None and rows else None}


def run_context(view: RunView, figures: dict[str, bytes | None] | None = None
                ) -> dict[str, Any]:
    """Everything ``run.html.j2`` shows, as rows and numbers. ``figures``: the charts of
    :func:`run_figures` drawn ahead for this view (drawn here otherwise)."""
    drawn = figures if figures is not None else run_figures(view)
    s = view.summary
    mip_gap = (view.scenario.get("solver") or {}).get("mip_rel_gap")
    status_text, status_kind = status_words(s, mip_gap)
    g = view.grid
    targets = _targets(s)
    transitions, more_transitions = _transitions(s)
    rules = _rules(s)
    burdens = s.get("burdens") or []
    prices, costs = _prices(s), _costs(view.folder)
    front = view.pareto
    toc = [(a, t) for a, t in RUN_SECTIONS
           if (a != "pareto" or front is not None)
           and (a != "prijzen" or prices or costs)
           and (a != "lasten" or burdens)]
    mu = s.get("multi_use") or {}
    ind = view.indicators
    if view.pathway is not None:
        toc = [("pad", "Pad · Pathway"), *toc]
    return {
        "page_title": f"Ruimteverdeling — {view.id}: {view.title}", "toc": toc,
        "pathway": _pathway(view),
        "view": view, "s": s, "catalogue": view.catalogue,
        "status_text": status_text, "status_kind": status_kind,
        "area_name": view.area.manifest.name if view.area is not None else "",
        "grid_text": f"{g.width} × {g.height} cellen van {g.resolution:g} m ({g.crs})",
        "targets": targets, "targets_met": sum(1 for t in targets if t["met"]),
        "headline": _headline(view),
        "maps_png": drawn["maps_png"],
        "transitions": transitions, "more_transitions": more_transitions,
        "areas": [{**r, "change_ha": float(r["change_ha"])} for r in s.get("areas") or []
                  if r.get("region") == "national"],
        "terms": _objective_terms(s),
        "rules": rules, "rules_binding": sum(1 for r in rules if r["binds"] == "yes"),
        "overrides": _overrides(s),
        "multi_use": mu, "multi_use_rows": list((mu.get("by_use") or {}).items()),
        **_locations(view, drawn["locations_png"]),
        "burdens": burdens,
        "burden_keys": [k for k in burdens[0] if k not in ("region", "area_ha")]
        if burdens else [],
        "burdens_png": drawn["burdens_png"], "gini": s.get("burden_gini"),
        "indicators": ind,
        "indicator_rows": _indicator_rows(ind) if ind is not None else [],
        "indicator_regions": _indicator_regions(ind) if ind is not None else [],
        "prices": prices, "costs": costs,
        "pareto": front,
        "pareto_png": pareto_png(front) if front is not None and not front.get("problem")
        else None,
        "pareto_rows": front["rows"][:PARETO_ROWS_SHOWN] if front is not None else [],
        "record": _record(view),
    }


def _pathway(view: RunView) -> dict[str, Any] | None:
    """The pathway section: the timeline, a map per period, the cost of myopia."""
    pw = view.pathway
    if pw is None:
        return None
    block = view.summary.get("pathway") or {}
    return {"periods": block.get("periods", []), "weights": block.get("weights", []),
            "reported": block.get("reported", ""),
            "timeline_png": timeline_png(block.get("timeline_ha") or [], view.catalogue),
            "cost_of_myopia": block.get("cost_of_myopia"),
            "maps": [{"period": y, "png": map_png(g, view.grid, view.catalogue, str(y))}
                     for y, g in pw["grids"]]}


def render_run_report(view: RunView, figures: dict[str, bytes | None] | None = None) -> str:
    """The HTML of a run report (see :mod:`ruimteverdeling.report`); ``figures`` as in
    :func:`run_context`."""
    return render("run.html.j2", **run_context(view, figures))


def write_run_report(view: RunView, path: str | Path,
                     figures: dict[str, bytes | None] | None = None) -> Path:
    """Render the run report of ``view`` into ``path`` (UTF-8); ``figures`` as in
    :func:`run_context`."""
    path = Path(path)
    path.write_text(render_run_report(view, figures), encoding="utf-8")
    return path


def write_failure_page(path: str | Path, detail: str) -> Path:
    """Write the page that stands in for a run report that could not be rendered: it says
    so, how to re-render it, and shows ``detail`` (the error) as text."""
    path = Path(path)
    path.write_text(environment().get_template("failed.html.j2").render(detail=detail),
                    encoding="utf-8")
    return path
