"""Compare solved alternatives with a reference: the plan-MER beoordelingstabel.

``ruimteverdeling compare REFERENCE ALT [ALT ...] -o DIR`` compares solved run folders (with
``manifest.json``, ``summary.json`` and ``allocation.tif``; of a run over several periods the
last period's allocation, the end state, said so in the notes); scenario files given on the
command line are solved into ``DIR/runs/<id>`` first by the pipeline
(:func:`ruimteverdeling.pipeline.run_folders`). All runs must be on the same grid.
For every criterion of :mod:`ruimteverdeling.results.indicators` it reports the value per
alternative, the difference with the reference and a score on the seven-point scale
``--, -, 0/-, 0, 0/+, +, ++``, nationally and per province.

**Scoring rule.** For a criterion with value ``v`` in an alternative and ``v_ref`` in the
reference, ``d = v − v_ref`` and the effect ``e = d`` when higher is better, ``e = −d`` when
lower is better (``e > 0`` is an improvement). Its size ``x`` is measured by the criterion's
``mode``:

* ``relative``: ``x = 100·e / |v_ref|`` (percent of the reference value);
* ``share``: ``x = 100·e / B`` with ``B`` the criterion's basis in the reference (hectares of
  its zone: flood-prone land, heritage, peat, ...; the whole land for land take and sealing);
* ``absolute``: ``x = e`` (in the criterion's unit).

A zero denominator gives ``x = 0`` when ``e = 0`` and ``x = ±∞`` otherwise. With thresholds
``t1 ≤ t2 ≤ t3`` the score is ``0`` for ``|x| ≤ t1``, ``0/+`` (``0/-``) for ``t1 < |x| ≤ t2``,
``+`` (``-``) for ``t2 < |x| ≤ t3`` and ``++`` (``--``) above ``t3``, the sign of ``x`` choosing
between positive and negative; a value on a threshold (to a relative 1e-9) gets the milder
score. A value that is ``n/a`` in either run scores ``n/a``. Province rows use the same
thresholds against the province's own reference value or basis. The thresholds, the modes and
the sign of "better" are data: ``data/assessment.yaml``, overridable with ``--thresholds``.

**Outputs** in ``DIR`` (written atomically; ``DIR/runs`` is kept):

* ``assessment.csv`` — one row per criterion × alternative: value, reference value,
  difference, effect ``x``, score, thresholds; ``assessment_regions.csv`` the same per province;
* ``assessment.md`` — the table as Markdown, ready to paste into a plan-MER;
* ``report.html`` — self-contained report with coloured scores and maps;
* ``maps/<alt>.diff.tif`` — uint16 ``100 × reference code + alternative code`` where the
  alternative's use differs (0 elsewhere), with a QGIS style; ``maps/<alt>.diff.png`` its
  rendering; ``maps/<alt>.criteria.tif`` — float32, one band per additive criterion: the
  alternative's contribution minus the reference's, per cell (band descriptions name them);
* ``locations.csv`` — number and size of the locations (connected patches of new housing,
  parks) per run and use, from each run's ``summary.json``;
* ``compare.json`` — all of it with the settings used, for the record.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.formatting import Column, table
from ruimteverdeling.jsonio import write_json
from ruimteverdeling.progress import Progress, silent
from ruimteverdeling.report.compare import CompareView, render_compare_report
from ruimteverdeling.report.figures import difference_png
from ruimteverdeling.results import indicators as ind
from ruimteverdeling.results.rasters import _profile, _write_qml, change_codes
from ruimteverdeling.results.runfolder import RunView, load_run_view, read_run_folder
from ruimteverdeling.results.summary import write_csv
from ruimteverdeling.results.writer import AtomicOutputDir

TOLERANCE = 1e-9


# ------------------------------------------------------------------------------------------------
# scoring
# ------------------------------------------------------------------------------------------------
def effect(value: float | None, reference: float | None, basis: float | None,
           settings: ind.CriterionSettings) -> float | None:
    """The signed effect size ``x`` (positive = better) of the scoring rule, or None (n/a)."""
    if value is None or reference is None:
        return None
    e = value - reference
    if settings.better == "lower":
        e = -e
    if settings.mode == "absolute":
        return e + 0.0
    den = abs(reference) if settings.mode == "relative" else basis
    if den is None:
        return None
    if den == 0:
        return 0.0 if e == 0 else math.copysign(math.inf, e)
    return 100.0 * e / den + 0.0


def score(x: float | None, thresholds: Sequence[float]) -> str:
    """The seven-point score of an effect size ``x`` (see the module docstring)."""
    if x is None or math.isnan(x):
        return "n/a"
    t1, t2, t3 = thresholds
    m = abs(x)

    def within(t: float) -> bool:
        return m <= t * (1 + TOLERANCE) + 1e-12

    if within(t1):
        return "0"
    if within(t2):
        return "0/+" if x > 0 else "0/-"
    if within(t3):
        return "+" if x > 0 else "-"
    return "++" if x > 0 else "--"


def assess(reference: ind.IndicatorTable, alternative: ind.IndicatorTable, label: str,
           ref_label: str, config: ind.AssessmentConfig) -> tuple[list[dict[str, Any]],
                                                                  list[dict[str, Any]]]:
    """(national rows, province rows) of one alternative against the reference."""
    national, regional = [], []
    for c in reference.criteria:
        s = config.criteria[c.id]
        regions = [ind.NATIONAL, *(reference.regions if c.additive else [])]
        for region in regions:
            v = alternative.values.get(c.id, {}).get(region)
            r = reference.values[c.id].get(region)
            b = reference.basis[c.id].get(region)
            note = alternative.notes.get(c.id) or reference.notes.get(c.id) or ""
            unit = reference.unit(c.id)
            if alternative.unit(c.id) != unit:
                v = r = None
                note = (f"n/a: the reference is in {unit}, {label} in "
                        f"{alternative.unit(c.id)} ({note})")
            x = effect(v, r, b, s)
            row = {"criterion": c.id, "theme": c.theme, "label_nl": reference.label_nl(c.id),
                   "label_en": reference.label_en(c.id), "unit": unit, "better": s.better,
                   "mode": s.mode,
                   "thresholds": ";".join(f"{t:g}" for t in s.thresholds),
                   "alternative": label, "reference": ref_label, "region": region,
                   "reference_value": r, "value": v,
                   "difference": None if v is None or r is None else ind.tidy(v - r),
                   "basis_ha": b, "effect": x, "score": score(x, s.thresholds), "note": note}
            (national if region == ind.NATIONAL else regional).append(row)
    return national, regional


COLUMNS = ["criterion", "theme", "label_nl", "label_en", "unit", "better", "mode", "thresholds",
           "alternative", "reference", "reference_value", "value", "difference", "basis_ha",
           "effect", "score", "note"]
REGION_COLUMNS = ["region", *COLUMNS]


# ------------------------------------------------------------------------------------------------
# the comparison
# ------------------------------------------------------------------------------------------------
@dataclass
class CompareResult:
    """What :func:`compare_runs` wrote and found."""

    out_dir: Path
    reference: str
    alternatives: list[str]
    national: list[dict[str, Any]]
    regional: list[dict[str, Any]]
    folders: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _grid_text(g: Any) -> str:
    return (f"{g.width} x {g.height} cells of {g.resolution:g} m at ({g.left:g}, {g.top:g}) "
            f"in {g.crs or 'no CRS'}")


def _same_grid(a: Any, b: Any) -> bool:
    from rasterio.crs import CRS  # deferred: GDAL, as for the maps

    if (a.width, a.height) != (b.width, b.height):
        return False
    tol = 1e-6 * max(1.0, abs(a.resolution))
    if abs(a.resolution - b.resolution) > tol or abs(a.left - b.left) > tol \
            or abs(a.top - b.top) > tol:
        return False
    try:
        return CRS.from_user_input(a.crs) == CRS.from_user_input(b.crs)
    except Exception:
        return a.crs == b.crs


def check_same_grid(folders: Sequence[Path]) -> None:
    """InputError (naming the folders and their grids) unless every run is on the grid of the
    first (the reference)."""
    grids = [read_run_folder(f)[3] for f in folders]
    ref = grids[0]
    problems = [Problem(f / "allocation.tif", None,
                        f"the run is on another grid ({_grid_text(g)}) than the reference "
                        f"{folders[0]} ({_grid_text(ref)})",
                        "compare runs made on the same study area (the same area.yaml grid)")
                for f, g in zip(folders[1:], grids[1:], strict=True) if not _same_grid(ref, g)]
    if problems:
        raise InputError(problems)


def _labels(views: list[RunView], folders: list[Path]) -> list[str]:
    labels = [v.id for v in views]
    for i, lab in enumerate(labels):
        if labels.count(lab) > 1:
            labels[i] = f"{lab}@{folders[i].name}"
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab in seen:
            seen[lab] += 1
            labels[i] = f"{lab}-{seen[lab]}"
        else:
            seen[lab] = 1
    return labels


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", label)


def check_out_dir(out_dir: Path, folders: Sequence[Path]) -> None:
    """InputError when writing the comparison to ``out_dir`` would replace one of the run
    ``folders`` (runs kept in ``out_dir/runs`` are carried over, so they may be there)."""
    out = out_dir.resolve()
    keep = (out / "runs").resolve()
    for f in folders:
        r = f.resolve()
        if r == out or (out in r.parents and keep not in r.parents):
            raise InputError.single(
                out_dir, "-o", f"the output folder would replace the run folder {f}",
                "write the comparison to a folder of its own (runs solved by compare live in "
                "<out>/runs and are kept)")


def compare_runs(reference: str | Path, alternatives: Sequence[str | Path],
                 out_dir: str | Path, config: ind.AssessmentConfig | None = None,
                 progress: Progress | None = None) -> CompareResult:
    """Assess solved run folders against a reference and write the outputs to ``out_dir``."""
    progress = progress or silent()
    config = config or ind.load_assessment()
    out_dir = Path(out_dir)
    folders = [Path(reference), *[Path(a) for a in alternatives]]
    if not alternatives:
        raise InputError.single(None, "ALT", "no alternatives to compare",
                                "give the reference and at least one alternative")
    for f in folders:
        read_run_folder(f)  # every folder complete, before anything heavy
    check_same_grid(folders)
    check_out_dir(out_dir, folders)

    areas: dict[tuple[str, tuple], Any] = {}
    views: list[RunView] = []
    inputs: list[ind.IndicatorInputs] = []
    with progress.phase("reading runs and computing indicators", "indicators"):
        for f in folders:
            v = load_run_view(f, areas=areas)
            x = ind.IndicatorInputs(v.area, v.catalogue, v.after,
                                    housing_density=ind.HomesPerHectare.from_any(
                                        v.scenario.get("housing_density")), config=config)
            v.indicators = ind.compute(x)
            views.append(v)
            inputs.append(x)
    labels = _labels(views, folders)
    ref_label, alt_labels = labels[0], labels[1:]
    notes = _notes(views, labels)
    national: list[dict[str, Any]] = []
    regional: list[dict[str, Any]] = []
    ref_table = views[0].indicators
    assert ref_table is not None
    for lab, v in zip(alt_labels, views[1:], strict=True):
        assert v.indicators is not None
        n, r = assess(ref_table, v.indicators, lab, ref_label, config)
        national += n
        regional += r

    grid = views[0].grid
    catalogue = views[0].catalogue
    settings = {cid: s.model_dump() for cid, s in config.criteria.items()}
    result = CompareResult(out_dir.resolve(), ref_label, alt_labels, national, regional,
                           dict(zip(labels, folders, strict=True)), notes)
    with progress.phase(f"writing the assessment to {out_dir}", "write"), \
            AtomicOutputDir(out_dir, "compare") as tmp:
        maps = tmp / "maps"
        maps.mkdir()
        diff_png: dict[str, bytes] = {}
        diff_ha: dict[str, float] = {}
        for lab, v, x in zip(alt_labels, views[1:], inputs[1:], strict=True):
            name = _safe(lab)
            diff_ha[lab] = _write_difference(maps / f"{name}.diff.tif", grid, views[0].after,
                                             v.after, catalogue)
            png = difference_png(views[0].after, v.after, grid, catalogue, ref_label, lab)
            (maps / f"{name}.diff.png").write_bytes(png)
            diff_png[lab] = png
            _write_criteria_raster(maps / f"{name}.criteria.tif", grid, inputs[0], x)
        loc_rows = location_rows(views, labels)
        write_csv(tmp / "locations.csv", loc_rows, LOCATION_COLUMNS)
        write_csv(tmp / "assessment.csv", national, COLUMNS)
        write_csv(tmp / "assessment_regions.csv", regional, REGION_COLUMNS)
        regions = ref_table.regions
        (tmp / "assessment.md").write_text(
            markdown(national, regional, ref_label, alt_labels, regions, config, notes),
            encoding="utf-8")
        links = {}
        for lab, f in zip(labels, folders, strict=True):
            if (f / "report.html").is_file():
                links[lab] = _link(out_dir, f)
        cv = CompareView(reference=ref_label, alternatives=alt_labels,
                            runs=dict(zip(labels, views, strict=True)), national=national,
                            regional=regional, settings=settings,
                            settings_source=config.source, regions=regions,
                            difference_maps=diff_png, differing_ha=diff_ha,
                            report_links=links, notes=notes)
        (tmp / "report.html").write_text(render_compare_report(cv), encoding="utf-8")
        write_json(tmp / "compare.json", {
            "reference": ref_label, "alternatives": alt_labels,
            "runs": {lab: str(f.resolve()) for lab, f in zip(labels, folders, strict=True)},
            "settings_source": config.source, "layers": config.layers,
            "parameters": config.parameters.model_dump(), "settings": settings,
            "criteria": [c.meta(config.parameters) for c in ref_table.criteria],
            "notes": notes,
            "national": national, "regional": regional,
            "differing_ha": diff_ha, "locations": loc_rows})
        _keep_runs(out_dir, tmp)
    return result


LOCATION_COLUMNS = ["run", "use", "unit", "locations", "committed", "mean_size", "largest",
                    "below_minimum", "share_in_locations_meeting_minimum"]


def location_rows(views: list[RunView], labels: list[str]) -> list[dict[str, Any]]:
    """Number and size of the locations per run and use (``locations`` of each run's
    ``summary.json``; runs written before locations were reported have none)."""
    out = []
    for lab, v in zip(labels, views, strict=True):
        per_use = (v.summary.get("locations") or {}).get("per_use") or {}
        for use, stats in per_use.items():
            out.append({"run": lab, "use": use,
                        **{k: stats.get(k) for k in LOCATION_COLUMNS[2:]}})
    return out


def _notes(views: list[RunView], labels: list[str]) -> list[str]:
    notes = []
    ref_inputs = (views[0].record.get("inputs") or {}).get("sha256") or {}
    for lab, v in zip(labels[1:], views[1:], strict=True):
        other = (v.record.get("inputs") or {}).get("sha256") or {}
        changed = sorted(k for k in set(ref_inputs) | set(other)
                         if ref_inputs.get(k) != other.get(k))
        if changed:
            notes.append(f"{lab} used other input files than the reference ({', '.join(changed)})"
                         ": its differences include those of the inputs, not only of the "
                         "choices.")
        if v.summary.get("status") != "optimal":
            notes.append(f"{lab} is not proven optimal (status {v.summary.get('status')}, gap "
                         f"{float(v.summary.get('gap') or 0):.3%}): part of its differences may "
                         "be solver tolerance.")
    for lab, v in zip(labels, views, strict=True):
        years = (v.summary.get("pathway") or {}).get("periods")
        if years:
            notes.append(f"{lab} plans the periods {', '.join(map(str, years))}: its last "
                         f"period ({years[-1]}, allocation.tif) is assessed; the earlier "
                         "periods are in its own report (allocation_<year>.tif).")
    if views[0].summary.get("status") != "optimal":
        notes.append(f"the reference {labels[0]} is not proven optimal "
                     f"(status {views[0].summary.get('status')}).")
    return notes


def _link(out_dir: Path, folder: Path) -> str:
    out = out_dir.resolve()
    f = folder.resolve()
    rel = f.relative_to(out) if out in f.parents else Path(os.path.relpath(f, out))
    return (rel / "report.html").as_posix()


def _keep_runs(out_dir: Path, tmp: Path) -> None:
    """Carry ``out_dir/runs`` into the new folder (hard links; copies across devices)."""
    src = out_dir / "runs"
    if not src.is_dir():
        return

    def link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, tmp / "runs", copy_function=link, symlinks=True)


def _write_difference(path: Path, grid: Any, ref: np.ndarray, alt: np.ndarray,
                      catalogue: Any) -> float:
    """uint16 ``100 × reference + alternative`` where they differ; returns the hectares."""
    import rasterio  # deferred: GDAL takes a second to load; only writing maps needs it

    codes = change_codes(ref, alt)
    with rasterio.open(path, "w", **_profile(grid, "uint16")) as dst:
        dst.write(codes, 1)
        dst.set_band_description(1, "100 x reference use code + alternative use code where "
                                    "they differ (0 = same)")
    values, counts = np.unique(codes[codes > 0], return_counts=True)
    entries = []
    for code, _n in zip(values.tolist(), counts.tolist(), strict=True):
        a, b = catalogue.by_code(code // 100), catalogue.by_code(code % 100)
        entries.append((int(code), f"{a.label_nl} → {b.label_nl} / {a.label_en} → {b.label_en}",
                        b.colour))
    _write_qml(path.with_suffix(".qml"), entries)
    return float(counts.sum()) * grid.cell_area_ha


def _write_criteria_raster(path: Path, grid: Any, ref: ind.IndicatorInputs,
                           alt: ind.IndicatorInputs) -> None:
    """float32, one band per additive criterion: alternative minus reference per cell."""
    import rasterio  # deferred, as above

    bands = []
    for c in ind.CRITERIA.values():
        if not c.additive:
            continue
        a, r = ind.cell_values(alt, c), ind.cell_values(ref, c)
        if a is None or r is None:
            continue
        bands.append((c, a - r))
    if not bands:
        return
    profile = _profile(grid, "float32")
    profile.update(count=len(bands), nodata=float("nan"))
    with rasterio.open(path, "w", **profile) as dst:
        for i, (c, d) in enumerate(bands, start=1):
            band = np.full(grid.size, np.nan, np.float32)
            band[ref.land] = d
            dst.write(band.reshape(grid.shape), i)
            dst.set_band_description(i, f"{c.id} ({c.unit}): alternative - reference")


# ------------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------------
def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt_diff(v: float | None, c: ind.Criterion) -> str:
    if v is None:
        return "n/a"
    s = ind.format_value(v, c)
    return ("+" + s) if v > 0 else s


def markdown(national: list[dict[str, Any]], regional: list[dict[str, Any]], ref: str,
             alts: list[str], regions: list[str], config: ind.AssessmentConfig,
             notes: list[str]) -> str:
    """The beoordelingstabel as Markdown (national table, scores per province, thresholds)."""
    by = {(r["criterion"], r["alternative"]): r for r in national}
    lines = [f"# Beoordelingstabel: {', '.join(alts)} ten opzichte van {ref}", "",
             f"Referentie: `{ref}`. Per criterium de waarde, tussen haakjes het verschil met de "
             "referentie, en de score op de zevenpuntsschaal (`--` zeer negatief … `++` zeer "
             f"positief). Drempels: {config.source}.", ""]
    for n in notes:
        lines += [f"> {n}", ""]
    head = ["Thema", "Criterium", "Eenheid", f"Referentie ({ref})", *alts]
    lines += ["| " + " | ".join(_md(h) for h in head) + " |",
              "|" + "|".join(["---", "---", "---", "---:", *(["---:"] * len(alts))]) + "|"]
    for cid, c in ind.CRITERIA.items():
        if (cid, alts[0]) not in by:
            continue
        first = by[(cid, alts[0])]
        cells = [ind.THEMES[c.theme][0], first["label_nl"], first["unit"],
                 ind.format_value(first["reference_value"], c)]
        for a in alts:
            r = by[(cid, a)]
            cells.append(f"{ind.format_value(r['value'], c)} ({_fmt_diff(r['difference'], c)})"
                         f" **{r['score']}**")
        lines.append("| " + " | ".join(_md(x) for x in cells) + " |")
    lines.append("")
    reg = {(r["criterion"], r["alternative"], r["region"]): r for r in regional}
    for a in alts:
        lines += [f"## Scores per provincie: {a}", "",
                  "| Criterium | " + " | ".join(_md(r) for r in regions) + " |",
                  "|---|" + "|".join([":---:"] * len(regions)) + "|"]
        for cid, c in ind.CRITERIA.items():
            if not c.additive or not regions or (cid, a, regions[0]) not in reg:
                continue
            lines.append("| " + _md(reg[(cid, a, regions[0])]["label_nl"]) + " | " + " | ".join(
                reg[(cid, a, r)]["score"] for r in regions) + " |")
        lines.append("")
    lines += ["## Scoreregel en drempels", "",
              "Effect e = verschil met de referentie, positief als het beter is; gemeten als % "
              "van de referentiewaarde (relatief), % van de basis in ha (aandeel) of in de "
              "eigen eenheid (absoluut). Met drempels [t1, t2, t3]: |x| ≤ t1 → 0; ≤ t2 → 0/+ of "
              "0/-; ≤ t3 → + of -; daarboven ++ of --. Op een drempel geldt de mildere score.",
              "", "| Criterium | Beter | Maat | Drempels | Onderbouwing |",
              "|---|---|---|---|---|"]
    for cid, c in ind.CRITERIA.items():
        s = config.criteria[cid]
        unit = "%" if s.mode in ("relative", "share") else c.unit
        label = by[(cid, alts[0])]["label_nl"] if (cid, alts[0]) in by else c.label_nl
        lines.append("| " + " | ".join(_md(x) for x in [
            label, "hoger" if s.better == "higher" else "lager",
            {"relative": "relatief", "share": "aandeel", "absolute": "absoluut"}[s.mode],
            ", ".join(f"{t:g}" for t in s.thresholds) + f" {unit}", s.rationale.strip()]) + " |")
    lines.append("")
    return "\n".join(lines)


LABEL_WIDTH = 44
ALT_WIDTH = 18


def text_table(result: CompareResult) -> list[str]:
    """A compact national table for the terminal: per criterion the reference value and per
    alternative its value and score."""
    by = {(r["criterion"], r["alternative"]): r for r in result.national}
    alts = result.alternatives
    columns = [Column("criterion", "<", LABEL_WIDTH), Column("unit", ">", 8),
               Column("reference", ">", 12),
               *(Column(a[:ALT_WIDTH], ">", ALT_WIDTH) for a in alts)]
    rows = []
    for cid, c in ind.CRITERIA.items():
        if (cid, alts[0]) not in by:
            continue
        first = by[(cid, alts[0])]
        rows.append([first["label_en"][:LABEL_WIDTH], first["unit"][:8],
                     ind.format_value(first["reference_value"], c),
                     *(f"{ind.format_value(by[(cid, a)]['value'], c)} "
                       f"{by[(cid, a)]['score']:>3s}" for a in alts)])
    return table(columns, rows)
