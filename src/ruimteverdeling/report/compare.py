"""The comparison report: the beoordelingstabel of alternatives against a reference.

:class:`CompareView` is what :mod:`ruimteverdeling.analysis.compare` hands over (the scored
rows, the thresholds, the runs, the difference maps); :func:`compare_context` turns it into rows
for ``templates/compare.html.j2`` and its sections under ``templates/compare/``: the national
table with coloured scores on the seven-point scale, the scores per province, the difference
maps, the maps of every run, the runs with links to their own reports, and the thresholds with
their rationale.

A score's tooltip states its computation: the effect ``x`` (in % of the reference value or of
the basis for the relative and share modes) and the thresholds it was held against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ruimteverdeling.formatting import signed_measure
from ruimteverdeling.report.environment import render
from ruimteverdeling.report.figures import map_png
from ruimteverdeling.report.run import status_words
from ruimteverdeling.report.scale import SCALE, SCALE_TEXT
from ruimteverdeling.results.indicators import CRITERIA, THEMES, Criterion, format_value
from ruimteverdeling.results.runfolder import RunView

TOC = [("beoordeling", "Beoordelingstabel · Assessment"),
       ("provincies", "Per provincie · Per province"),
       ("verschilkaarten", "Verschilkaarten · Difference maps"), ("runs", "Runs"),
       ("drempels", "Drempels · Thresholds")]


@dataclass
class CompareView:
    """Everything a comparison report needs (filled by ``analysis.compare``)."""

    reference: str
    alternatives: list[str]
    runs: dict[str, RunView]
    national: list[dict[str, Any]]
    regional: list[dict[str, Any]]
    settings: dict[str, dict[str, Any]]
    settings_source: str
    regions: list[str]
    difference_maps: dict[str, bytes]
    differing_ha: dict[str, float]
    report_links: dict[str, str]
    notes: list[str] = field(default_factory=list)


def signed_value(v: float | None, c: Criterion) -> str:
    """A difference in the criterion's decimals, with its sign."""
    return signed_measure(v, c.decimals) if v is not None else "n/a"


def score_title(r: dict[str, Any]) -> str:
    """The tooltip of a score: its effect size and the thresholds (see the module docstring)."""
    x = r.get("effect")
    mode = r.get("mode")
    if x is None:
        return r.get("note") or "n/a"
    unit = "%" if mode in ("relative", "share") else ""
    measure = {"relative": "of the reference value", "share": "of the basis",
               "absolute": ""}.get(str(mode), "")
    xs = "±∞" if not math.isfinite(x) else f"{x:+.3g}{unit}"
    return f"effect {xs} {measure}; thresholds {r.get('thresholds')}"


def _score(r: dict[str, Any], c: Criterion) -> dict[str, Any]:
    return {"value": format_value(r["value"], c), "difference": signed_value(r["difference"], c),
            "score": r["score"], "title": score_title(r)}


def _national(cv: CompareView) -> list[dict[str, Any]]:
    """One row per criterion (a theme row before each new theme), a cell per alternative."""
    by = {(r["criterion"], r["alternative"]): r for r in cv.national}
    rows: list[dict[str, Any]] = []
    theme = None
    for cid, c in CRITERIA.items():
        if not any((cid, a) in by for a in cv.alternatives):
            continue
        if c.theme != theme:
            theme = c.theme
            rows.append({"theme": THEMES[theme]})
        first = by[(cid, cv.alternatives[0])]
        rows.append({"theme": None, "label_nl": first["label_nl"], "label_en": first["label_en"],
                     "unit": first["unit"],
                     "reference": format_value(first["reference_value"], c),
                     "cells": [_score(by[(cid, a)], c) for a in cv.alternatives]})
    return rows


def _regional(cv: CompareView) -> list[dict[str, Any]]:
    """Per alternative: one row per additive criterion, a score cell per region."""
    by = {(r["criterion"], r["alternative"], r["region"]): r for r in cv.regional}
    out = []
    for a in cv.alternatives:
        rows = []
        for cid, c in CRITERIA.items():
            if not c.additive or (cid, a, cv.regions[0] if cv.regions else "") not in by:
                continue
            first = by[(cid, a, cv.regions[0])]
            rows.append({"label_nl": first["label_nl"], "unit": first["unit"],
                         "cells": [_score(by[(cid, a, reg)], c) for reg in cv.regions]})
        out.append({"alternative": a, "rows": rows})
    return out


def _settings(cv: CompareView) -> list[dict[str, Any]]:
    """The thresholds of every criterion with its measure and rationale."""
    rows = []
    ref_table = cv.runs[cv.reference].indicators
    for cid, c in CRITERIA.items():
        s = cv.settings.get(cid)
        if s is None:
            continue
        mode = {"relative": "% van referentiewaarde / of reference value",
                "share": "% van de basis / of the basis (ha)",
                "absolute": f"absoluut / absolute ({c.unit})"}[s["mode"]]
        rows.append({"label": ref_table.label_nl(cid) if ref_table is not None else c.label_nl,
                     "better": "hoger / higher" if s["better"] == "higher" else "lager / lower",
                     "measure": mode,
                     "thresholds": ", ".join(f"{v:g}" for v in s["thresholds"]),
                     "unit": "%" if s["mode"] in ("relative", "share") else c.unit,
                     "rationale": s.get("rationale", "")})
    return rows


def _runs(cv: CompareView) -> list[dict[str, Any]]:
    rows = []
    for label in [cv.reference, *cv.alternatives]:
        v = cv.runs[label]
        _, kind = status_words(v.summary)
        rows.append({"label": label, "view": v, "s": v.summary, "kind": kind,
                     "link": cv.report_links.get(label),
                     "folder": str(v.folder) if v.folder else "",
                     "map_png": map_png(v.after, v.grid, v.catalogue, label, max_px=600)})
    return rows


def compare_context(cv: CompareView) -> dict[str, Any]:
    """Everything ``compare.html.j2`` shows, as rows and numbers."""
    return {"page_title": f"Beoordelingstabel — {', '.join(cv.alternatives)} vs {cv.reference}",
            "toc": TOC, "cv": cv, "runs": _runs(cv), "national": _national(cv),
            "regional": _regional(cv), "settings": _settings(cv),
            "scale": [(s, *SCALE_TEXT[s]) for s in SCALE]}


def render_compare_report(cv: CompareView) -> str:
    """The HTML of a comparison report."""
    return render("compare.html.j2", **compare_context(cv))
