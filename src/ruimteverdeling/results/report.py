"""``report.html``: a self-contained report of a run, or of a comparison of runs.

The file has no external references at all: the CSS is inline, every map and chart is a PNG
made with matplotlib and embedded as a ``data:image/png;base64`` URI, and there are no scripts,
fonts or stylesheets from a network. It opens from a USB stick on a machine without internet.
It holds no timestamps or timings, so two identical runs write identical reports (the times are
in ``manifest.json``).

A **run report** (written by every ``solve``, re-rendered from a run folder by
``api.render_report``) holds: a header with the scenario id and title, the solver status, the
objective, bound and proven gap; a table of contents; maps of the allocation and of the change
with the catalogue's colours and Dutch / English labels; the largest transitions; the areas per
use; target attainment; the objective per term; the rules (binding or not, hectares closed);
the overrides with their justifications; multiple land use; burdens and benefits per province;
the plan-MER indicators nationally and per province; a Pareto chart when the run folder holds a
``pareto.csv``; and the run record (scenario files, input hashes, versions, model size).

**Pareto hook.** When a run folder holds ``pareto.csv`` (one row per point of a trade-off
front), the report shows it as a chart and a table. The two objectives are the first two
numeric columns whose names are not bookkeeping (``point``, ``id``, ``index``, ``status``,
``gap``, ``seconds``, ``weight``, ...); a ``label`` (or ``point``/``id``) column names the
points, and a ``selected`` (or ``current``) column with ``yes``/``true``/``1`` marks the
point of this run. Call ``api.render_report(folder)`` after writing ``pareto.csv`` into a
solved folder to refresh its report.

A **comparison report** (written by ``compare``) holds the beoordelingstabel with coloured
scores on the seven-point scale, the scores per province, the difference maps, the maps of
every run, the runs with links to their own reports, and the thresholds with their rationale.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ruimteverdeling.area.grid import Grid
from ruimteverdeling.errors import InputError
from ruimteverdeling.results.indicators import (
    CRITERIA,
    NATIONAL,
    THEMES,
    Criterion,
    IndicatorTable,
    format_value,
)
from ruimteverdeling.uses import Use, UseCatalogue

if TYPE_CHECKING:
    from ruimteverdeling.area.studyarea import StudyArea

SCALE = ("--", "-", "0/-", "0", "0/+", "+", "++")
SCALE_TEXT = {
    "--": ("zeer negatief", "large negative effect"),
    "-": ("negatief", "negative effect"),
    "0/-": ("licht negatief", "slightly negative"),
    "0": ("neutraal", "no or negligible effect"),
    "0/+": ("licht positief", "slightly positive"),
    "+": ("positief", "positive effect"),
    "++": ("zeer positief", "large positive effect"),
    "n/a": ("niet te bepalen", "not applicable"),
}
SCORE_COLOURS = {"--": ("#b2182b", "#fff"), "-": ("#ef8a62", "#000"),
                 "0/-": ("#fddbc7", "#000"), "0": ("#eeeeee", "#000"),
                 "0/+": ("#d9f0d3", "#000"), "+": ("#7fbf7b", "#000"),
                 "++": ("#1b7837", "#fff"), "n/a": ("#ffffff", "#777")}
MANY_REGIONS = 16  # above this, per-region matrices are folded away (details) and not charted
UNCHANGED = "#bcbcbc"
WATER_BG = "#dbe7f2"

CSS = """
:root { --ink:#1d2327; --muted:#5f6b73; --line:#d9dee2; --bg:#f6f7f8; --accent:#1f5f8b; }
* { box-sizing: border-box; }
body { margin:0; font-family: "Segoe UI", "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg); font-size: 14px; line-height: 1.45; }
main { max-width: 1320px; margin: 0 auto; padding: 0 28px 60px; }
header.top { background: #183447; color: #fff; padding: 26px 0 22px; margin-bottom: 22px; }
header.top .inner { max-width: 1320px; margin: 0 auto; padding: 0 28px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: #9fc3dc; }
h1 { font-size: 28px; margin: 4px 0 6px; font-weight: 600; }
.sub { color: #d3e3ee; font-size: 14px; }
.sub code { color: #fff; background: rgba(255,255,255,.12); }
h2 { font-size: 21px; margin: 34px 0 4px; padding-top: 8px; border-top: 2px solid var(--line);
  font-weight: 600; }
h2 .en, h3 .en { color: var(--muted); font-weight: 400; }
h3 { font-size: 16px; margin: 22px 0 6px; font-weight: 600; }
p.lead { color: var(--muted); margin: 2px 0 12px; max-width: 900px; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12.5px;
  background: #eef1f3; padding: 1px 4px; border-radius: 3px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 16px; }
.card { background: rgba(255,255,255,.08); border: 1px solid rgba(255,255,255,.18);
  border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card .k { font-size: 11.5px; text-transform: uppercase; letter-spacing: .05em; color: #9fc3dc; }
.card .v { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .s { font-size: 11.5px; color: #c8d8e4; }
.card code { background: rgba(255,255,255,.16); color: #fff; font-size: 15px; }
td.crit { min-width: 210px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.ok { background: #d8efd9; color: #145a1e; } .warn { background: #fbe7c6; color: #7a4a00; }
.bad { background: #f7d4d4; color: #8a1414; } .neutral { background: #e7ebee; color: #37474f; }
nav.toc { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 18px; margin: 0 0 8px; }
nav.toc ol { columns: 3; margin: 6px 0; padding-left: 20px; }
nav.toc a { color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; background: #fff; margin: 8px 0 12px; font-size: 13px;
  border: 1px solid var(--line); }
th, td { padding: 4px 9px; border-bottom: 1px solid #e9ecee; vertical-align: top;
  text-align: left; }
th { background: #eef2f5; font-weight: 600; font-size: 12.5px; position: sticky; top: 0; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.compact { font-size: 12px; } table.compact td, table.compact th { padding: 3px 6px; }
tr.theme td { background: #f3f6f8; font-weight: 600; color: #2c4a5e; }
tr:hover td { background: #fafcfd; }
td.small, span.small, p.small { font-size: 12px; color: var(--muted); }
.scroll { overflow-x: auto; max-width: 100%; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  vertical-align: -1px; margin-right: 6px; border: 1px solid rgba(0,0,0,.25); }
.bar { position: relative; height: 12px; background: #edf0f2; border-radius: 2px;
  min-width: 120px; }
.bar > span { position: absolute; top: 0; bottom: 0; border-radius: 2px; }
.score { display: inline-block; min-width: 38px; text-align: center; padding: 1px 6px;
  border-radius: 4px; font-weight: 700; font-family: "DejaVu Sans Mono", monospace;
  font-size: 12.5px; border: 1px solid rgba(0,0,0,.12); }
td.sc { text-align: center; padding: 3px 4px; }
figure { margin: 10px 0 16px; background: #fff; border: 1px solid var(--line);
  border-radius: 6px; padding: 10px; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 6px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 12px; }
@media (max-width: 900px) { .grid2, .grid3 { grid-template-columns: 1fr; }
  nav.toc ol { columns: 1; } }
.legend7 { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 12px; }
.legend7 div { font-size: 12px; color: var(--muted); }
.note { background: #fff8e5; border-left: 4px solid #e0b43c; padding: 6px 12px; margin: 8px 0;
  font-size: 13px; }
details { margin: 6px 0 10px; } summary { cursor: pointer; color: var(--accent); }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
"""


# ------------------------------------------------------------------------------------------------
# small HTML helpers
# ------------------------------------------------------------------------------------------------
def esc(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def num(v: Any, decimals: int | None = None) -> str:
    """A number for a table: thousands separators, sensible decimals; '' for None."""
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return esc(v)
    if not math.isfinite(f):
        return "∞" if f > 0 else ("−∞" if f < 0 else "n/a")
    if decimals is None:
        a = abs(f)
        decimals = 0 if (a >= 100 or f == round(f)) else 2 if a >= 1 else 4 if a > 0 else 0
    return f"{f:,.{decimals}f}"


def signed(v: float | None, decimals: int = 0) -> str:
    if v is None:
        return "n/a"
    s = f"{v:+,.{decimals}f}"
    return s.replace("-", "−")


def heading(anchor: str, nl: str, en: str | None = None, level: int = 2) -> str:
    en_part = f' <span class="en">· {esc(en)}</span>' if en else ""
    return f'<h{level} id="{esc(anchor)}">{esc(nl)}{en_part}</h{level}>'


def table(headers: Sequence[str | tuple[str, str]], rows: Iterable[Sequence[str]],
          cls: str = "") -> str:
    """``headers``: text or (text, css class); ``rows``: already escaped HTML cells, or
    (html, css class) tuples."""
    head = "".join(f'<th class="{h[1]}">{esc(h[0])}</th>' if isinstance(h, tuple)
                   else f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for r in rows:
        if isinstance(r, _ThemeRow):
            body.append(f'<tr class="theme"><td colspan="{len(headers)}">{r.html}</td></tr>')
            continue
        cells = []
        for cell in r:
            if isinstance(cell, tuple):
                cells.append(f'<td class="{cell[1]}">{cell[0]}</td>')
            else:
                cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


@dataclass
class _ThemeRow:
    html: str


def _fold(html_: str, n_regions: int) -> str:
    """A per-region matrix as is, or folded away when there are many regions."""
    if n_regions <= MANY_REGIONS:
        return html_
    return (f"<details><summary>{n_regions} regio's / regions: tabel openen / open the table "
            f"(ook in de CSV-bestanden / also in the CSV files)</summary>{html_}</details>")


def swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{esc(colour)}"></span>'


def badge(text: str, kind: str) -> str:
    return f'<span class="badge {kind}">{esc(text)}</span>'


def score_chip(score: str, title: str = "") -> str:
    bg, fg = SCORE_COLOURS.get(score, SCORE_COLOURS["n/a"])
    t = f' title="{esc(title)}"' if title else ""
    return (f'<span class="score" style="background:{bg};color:{fg}"{t}>'
            f"{esc(score)}</span>")


def img(png: bytes, alt: str, caption: str | None = None) -> str:
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">{cap}</figure>'


def page(title: str, header_html: str, toc: list[tuple[str, str]], body: str) -> str:
    items = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in toc)
    return (
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header class="top"><div class="inner">{header_html}</div></header>\n<main>\n'
        f'<nav class="toc"><strong>Inhoud · Contents</strong><ol>{items}</ol></nav>\n'
        f"{body}\n"
        '<footer>Gemaakt met / made with ruimteverdeling. Alle kaarten en grafieken zijn in dit '
        "bestand ingebed; het heeft geen internet nodig. · Every map and chart is embedded in "
        "this file; it needs no network.</footer>\n</main>\n</body>\n</html>\n")


# ------------------------------------------------------------------------------------------------
# figures (matplotlib, no pyplot: no global state)
# ------------------------------------------------------------------------------------------------
def _figure(width_in: float, height_in: float, dpi: int = 100):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=dpi)


def _png(fig, tight: bool = False) -> bytes:
    buf = io.BytesIO()
    extra = {"bbox_inches": "tight", "pad_inches": 0.12} if tight else {}
    fig.savefig(buf, format="png", metadata={"Software": None}, facecolor="white", **extra)
    return buf.getvalue()


def _rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


def _downsample(codes: np.ndarray, max_px: int) -> tuple[np.ndarray, int]:
    step = max(1, math.ceil(max(codes.shape) / max_px))
    return codes[::step, ::step], step


def _use_label(u: Use) -> str:
    return f"{u.label_nl} / {u.label_en}"


def _scale_bar(ax, grid: Grid, step: int, shape: tuple[int, int]) -> None:
    """A scale bar in km, bottom left, in image pixel coordinates."""
    h, w = shape
    px_m = grid.resolution * step
    width_km = w * px_m / 1000
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500]
    km = max([n for n in nice if n <= width_km / 4] or [max(width_km / 4, 0.1)])
    length = km * 1000 / px_m
    x0, y0 = w * 0.04, h * 0.96
    ax.plot([x0, x0 + length], [y0, y0], color="#222", lw=2.5, solid_capstyle="butt")
    ax.text(x0 + length / 2, y0 - h * 0.015, f"{km:g} km", ha="center", va="bottom",
            fontsize=8, color="#222")


def _legend(fig, entries: list[tuple[str, str]], x: float, title: str | None = None) -> None:
    from matplotlib.patches import Patch

    if not entries:
        return
    handles = [Patch(facecolor=c, edgecolor="#555", linewidth=0.4) for c, _ in entries]
    labels = [t for _, t in entries]
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(x, 0.5), frameon=False,
               fontsize=8.5, title=title, title_fontsize=9, alignment="left",
               handlelength=1.4, labelspacing=0.45)


def _lut(catalogue: UseCatalogue) -> np.ndarray:
    lut = np.ones((256, 4))
    for u in catalogue:
        lut[u.code] = _rgba(u.colour)
    return lut


def _background_lut(catalogue: UseCatalogue) -> np.ndarray:
    """Unchanged land in grey, open water light blue, outside white."""
    lut = np.ones((256, 4))
    for u in catalogue:
        lut[u.code] = _rgba(WATER_BG if u.id == "water" else UNCHANGED)
    return lut


def map_png(codes: np.ndarray, grid: Grid, catalogue: UseCatalogue, title: str,
            max_px: int = 900) -> bytes:
    """The allocation (or current use) map with a legend of the uses present."""
    small, step = _downsample(codes, max_px)
    rgba = _lut(catalogue)[small]
    present = set(np.unique(codes).tolist())
    entries = [(u.colour, _use_label(u)) for u in catalogue if u.code in present]
    return _map_figure([rgba], [title], grid, step, entries, "Gebruik / Use")


def allocation_and_change_png(before: np.ndarray, after: np.ndarray, grid: Grid,
                              catalogue: UseCatalogue, max_px: int = 800) -> bytes:
    """Two panels with one legend: the allocation (left) and the cells whose use changed,
    coloured by their new use (right; unchanged land grey)."""
    changed = (before != after) & (before > 0) & (after > 0)
    sa, step = _downsample(after, max_px)
    sb, _ = _downsample(before, max_px)
    sc, _ = _downsample(changed, max_px)
    lut = _lut(catalogue)
    left = lut[sa]
    right = _background_lut(catalogue)[sb]
    right[sc] = lut[sa[sc]]
    present = set(np.unique(after).tolist())
    entries = [(u.colour, _use_label(u)) for u in catalogue if u.code in present]
    entries.append((UNCHANGED, "ongewijzigd / unchanged (rechts / right)"))
    ha = grid.cell_area_ha
    return _map_figure([left, right], ["Gebruik na de run / allocation",
                                       f"Verandering / change: {int(changed.sum()) * ha:,.0f} ha"],
                       grid, step, entries, "Gebruik / use")


def difference_png(reference: np.ndarray, alternative: np.ndarray, grid: Grid,
                   catalogue: UseCatalogue, ref_label: str, alt_label: str,
                   max_px: int = 800) -> bytes:
    """Two panels over the cells where the alternative differs from the reference: the
    reference's use there (left) and the alternative's (right); the rest grey."""
    diff = (reference != alternative) & (reference > 0) & (alternative > 0)
    sr, step = _downsample(reference, max_px)
    sa, _ = _downsample(alternative, max_px)
    sd, _ = _downsample(diff, max_px)
    lut, bg = _lut(catalogue), _background_lut(catalogue)
    left, right = bg[sr], bg[sr]
    left[sd] = lut[sr[sd]]
    right[sd] = lut[sa[sd]]
    ha = grid.cell_area_ha
    present = set(np.unique(reference[diff]).tolist()) | set(np.unique(alternative[diff]).tolist())
    entries = [(UNCHANGED, "gelijk aan referentie / same as reference")]
    entries += [(u.colour, _use_label(u)) for u in catalogue if u.code in present]
    n = int(diff.sum())
    return _map_figure([left, right], [f"Referentie / reference: {ref_label}",
                                       f"Alternatief / alternative: {alt_label}"],
                       grid, step, entries, f"{n * ha:,.0f} ha verschillend / differ")


def _map_figure(panels: list[np.ndarray], titles: list[str], grid: Grid, step: int,
                entries: list[tuple[str, str]], legend_title: str) -> bytes:
    h, w = panels[0].shape[:2]
    aspect = h / w
    panel_w = 5.2 if len(panels) == 1 else 4.6
    fig_w = panel_w * len(panels)
    fig_h = panel_w * aspect + 0.4
    fig = _figure(fig_w, fig_h, dpi=100)
    for i, (rgba, title) in enumerate(zip(panels, titles, strict=True)):
        ax = fig.add_axes([i / len(panels) + 0.005, 0.0, 1 / len(panels) - 0.01,
                           1 - 0.4 / fig_h])
        ax.imshow(rgba, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(title, fontsize=10, loc="left")
        _scale_bar(ax, grid, step, (h, w))
    _legend(fig, entries, 1.0, legend_title)
    return _png(fig, tight=True)


def burdens_png(burdens: list[dict[str, Any]]) -> bytes | None:
    """Stacked bars: burden hectares per hectare of province, by kind."""
    if not burdens:
        return None
    keys = [k for k in burdens[0] if k.startswith("burden:")]
    if not keys:
        return None
    if len(burdens) > 3 * MANY_REGIONS:
        return None
    names = [b["region"] for b in burdens]
    colours = ["#e6ab02", "#66a61e", "#7570b3", "#d95f02", "#1b9e77", "#e7298a"]
    fig = _figure(8.6, 0.32 * len(names) + 1.3, dpi=110)
    ax = fig.add_axes([0.2, 0.14 if len(names) > 6 else 0.2, 0.55, 0.8])
    left = np.zeros(len(names))
    for i, k in enumerate(keys):
        vals = np.array([float(b[k]) / b["area_ha"] * 100 if b.get("area_ha") else 0.0
                         for b in burdens])
        label = k.removeprefix("burden: ").replace(" (ha)", "")
        ax.barh(names, vals, left=left, color=colours[i % len(colours)], label=label,
                height=0.7)
        left += vals
    ax.invert_yaxis()
    ax.set_xlabel("% van de provincie / % of the province", fontsize=8.5)
    ax.tick_params(labelsize=8.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5),
              title="Last / burden", title_fontsize=8.5)
    return _png(fig)


AXIS_EXCLUDE = {"point", "id", "index", "i", "k", "n", "step", "rank", "status", "gap",
                "seconds", "time", "weight", "weights", "alpha", "lambda", "epsilon", "eps",
                "selected", "current", "label", "bound"}


def read_pareto(path: Path) -> dict[str, Any] | None:
    """The front in ``pareto.csv`` (see the module docstring), or None when absent/unusable."""
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None
    cols = list(rows[0])

    def numeric(col: str) -> bool:
        vals = [r.get(col) for r in rows if r.get(col) not in (None, "")]
        try:
            [float(v) for v in vals]  # type: ignore[arg-type]
        except ValueError:
            return False
        return bool(vals)

    axes = [c for c in cols if c.strip().lower() not in AXIS_EXCLUDE and numeric(c)]
    if len(axes) < 2:
        return {"rows": rows, "columns": cols, "x": None, "y": None,
                "problem": "pareto.csv needs two numeric objective columns"}
    label_col = next((c for c in ("label", "point", "id") if c in cols), None)
    sel_col = next((c for c in ("selected", "current") if c in cols), None)
    return {"rows": rows, "columns": cols, "x": axes[0], "y": axes[1], "label": label_col,
            "selected": sel_col, "problem": None}


def pareto_png(front: dict[str, Any]) -> bytes:
    x, y = front["x"], front["y"]
    pts = [(float(r[x]), float(r[y]), r) for r in front["rows"]
           if r.get(x) not in (None, "") and r.get(y) not in (None, "")]
    pts.sort(key=lambda p: p[0])
    fig = _figure(6.8, 4.4, dpi=110)
    ax = fig.add_axes([0.14, 0.13, 0.82, 0.8])
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "-", color="#9bb7cc", zorder=1)
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=28, color="#1f5f8b", zorder=2)
    sel = front.get("selected")
    lab = front.get("label")
    for px, py, r in pts:
        if sel and str(r.get(sel, "")).strip().lower() in ("yes", "true", "1", "y"):
            ax.scatter([px], [py], s=120, facecolors="none", edgecolors="#d7301f",
                       linewidths=2, zorder=3, label="deze run / this run")
        if lab and r.get(lab):
            ax.annotate(str(r[lab]), (px, py), fontsize=7.5, xytext=(4, 4),
                        textcoords="offset points", color="#37474f")
    ax.set_xlabel(x, fontsize=9)
    ax.set_ylabel(y, fontsize=9)
    ax.tick_params(labelsize=8.5)
    ax.grid(True, color="#e5e8ea", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if sel:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles[:1], labels[:1], fontsize=8, frameon=False)
    return _png(fig)


# ------------------------------------------------------------------------------------------------
# what a run report shows
# ------------------------------------------------------------------------------------------------
@dataclass
class RunView:
    """Everything a run report needs, from a finished solve or from a run folder."""

    summary: dict[str, Any]
    scenario: dict[str, Any]
    grid: Grid
    catalogue: UseCatalogue
    before: np.ndarray
    after: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)
    indicators: IndicatorTable | None = None
    folder: Path | None = None
    area: StudyArea | None = None
    pareto: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.get("id") or "run")

    @property
    def title(self) -> str:
        return str(self.summary.get("title") or self.scenario.get("title") or self.id)


def catalogue_from_resolved(scenario: dict[str, Any]) -> UseCatalogue:
    """The use catalogue of a run, from the resolved scenario in its manifest."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(Use)}
    items = [{k: v for k, v in u.items() if k in fields} for u in scenario.get("uses") or []]
    return UseCatalogue.default().with_overrides(items)


def read_run_folder(folder: str | Path) -> tuple[dict[str, Any], dict[str, Any], np.ndarray,
                                                  Grid]:
    """``manifest.json``, ``summary.json``, the allocation and its grid from a run folder.

    Raises InputError naming the folder and the missing or unreadable file.
    """
    import json

    import rasterio

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError.single(folder, None, "not a folder",
                                "give a solved run folder or a scenario file")
    out: dict[str, Any] = {}
    for name in ("manifest.json", "summary.json"):
        p = folder / name
        if not p.is_file():
            raise InputError.single(folder, name, f"{name} is missing: not a complete run folder",
                                    "solve the scenario first (`ruimteverdeling solve`), or give "
                                    "the scenario file so that compare solves it")
        try:
            out[name] = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError.single(p, None, f"not valid JSON: {exc}",
                                    "re-run the scenario to rewrite the folder") from None
    tif = folder / "allocation.tif"
    if not tif.is_file():
        raise InputError.single(folder, "allocation.tif", "allocation.tif is missing",
                                "re-run the scenario to rewrite the folder")
    with rasterio.open(tif) as src:
        after = src.read(1)
        t = src.transform
        if abs(t.a + t.e) > 1e-9 * max(1.0, abs(t.a)) or t.b or t.d:
            raise InputError.single(tif, None, "the raster is not a north-up square grid",
                                    "give a run folder written by ruimteverdeling")
        crs = src.crs.to_string() if src.crs else ""
        grid = Grid(src.width, src.height, float(t.a), float(t.c), float(t.f), crs)
    return out["manifest.json"], out["summary.json"], after, grid


def load_run_view(folder: str | Path, with_area: bool = True,
                  areas: dict[tuple[str, tuple], Any] | None = None) -> RunView:
    """A :class:`RunView` from a solved run folder.

    With ``with_area`` its study area is read (for the current land use and the indicators);
    ``areas`` caches study areas across calls, keyed by area file and catalogue.
    """
    from ruimteverdeling.area.studyarea import StudyArea

    folder = Path(folder)
    manifest, summary, after, grid = read_run_folder(folder)
    scenario = manifest.get("scenario") or {}
    catalogue = catalogue_from_resolved(scenario)
    area = None
    before = np.zeros_like(after)
    if with_area:
        area_path = Path((manifest.get("inputs") or {}).get("area") or "")
        if not area_path.is_file():
            raise InputError.single(folder / "manifest.json", "inputs.area",
                                    f"the run's study area is not found: {area_path}",
                                    "restore the study area (area.yaml and its layers) at that "
                                    "path, or re-run the scenario")
        key = (str(area_path.resolve()), tuple((u.id, u.code) for u in catalogue))
        cache = areas if areas is not None else {}
        if key not in cache:
            cache[key] = StudyArea.load(area_path, catalogue)
        area = cache[key]
        if area.grid.shape != after.shape:
            raise InputError.single(folder / "allocation.tif", None,
                                    f"the allocation ({after.shape[1]} x {after.shape[0]}) is "
                                    f"not on the grid of its study area {area_path}",
                                    "re-run the scenario: the study area changed after the run")
        before = area.current_use
    record = {k: manifest.get(k) for k in ("scenario_files", "inputs", "versions", "solver")}
    return RunView(summary=summary, scenario=scenario, grid=grid, catalogue=catalogue,
                   before=before, after=after, record=record, folder=folder, area=area,
                   pareto=read_pareto(folder / "pareto.csv"))


# ------------------------------------------------------------------------------------------------
# the run report
# ------------------------------------------------------------------------------------------------
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


def _header(view: RunView) -> str:
    s = view.summary
    mip_gap = (view.scenario.get("solver") or {}).get("mip_rel_gap")
    text, kind = status_words(s, mip_gap)
    area_name = ""
    if view.area is not None:
        area_name = view.area.manifest.name
    g = view.grid
    grid_txt = f"{g.width} × {g.height} cellen van {g.resolution:g} m ({g.crs})"
    targets = s.get("targets") or []
    met = sum(1 for t in targets if t.get("met") == "yes")
    cards = [("Status", badge(s.get("status", "?"), kind), esc(text)),
             ("Doelfunctie / objective", num(s.get("objective"), 2), "maximised"),
             ("Grens / bound", num(s.get("bound"), 2), "proven upper bound"),
             ("Gap (bewezen / proven)", f"{float(s.get('gap') or 0):.4%}",
              esc(s.get("method", ""))),
             ("Doelen gehaald / targets met", f"{met} / {len(targets)}", "rows")]
    if view.indicators is not None:
        for cid in ("new_homes", "energy_twh", "nature_ha"):
            c = CRITERIA.get(cid)
            v = view.indicators.value(cid) if cid in view.indicators.values else None
            if c is not None and v is not None:
                cards.append((view.indicators.label_nl(cid), format_value(v, c),
                              esc(view.indicators.unit(cid))))
    card_html = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{v}'
                        f'</div><div class="s">{sub}</div></div>' for k, v, sub in cards)
    return (f'<div class="eyebrow">Ruimteverdeling · rapport van een run / run report</div>'
            f"<h1>{esc(view.title)}</h1>"
            f'<div class="sub">scenario <code>{esc(view.id)}</code>'
            f'{" · " + esc(area_name) if area_name else ""} · {esc(grid_txt)} · '
            f"{esc(s.get('method', ''))}</div>"
            f'<div class="cards">{card_html}</div>')


def _use_cell(catalogue: UseCatalogue, use_id: str) -> str:
    if use_id in catalogue:
        u = catalogue[use_id]
        return f"{swatch(u.colour)}{esc(_use_label(u))}"
    return esc(use_id)


def _section_maps(view: RunView) -> str:
    parts = [heading("kaarten", "Kaarten", "Maps"),
             '<p class="lead">Links het gebruik na de run, rechts waar het verandert ten opzichte '
             "van het huidige gebruik (kleur = nieuw gebruik). · Left the land use after the run; "
             "right where it changes from today's use (colour = new use).</p>",
             img(allocation_and_change_png(view.before, view.after, view.grid, view.catalogue),
                 "allocation and change maps",
                 "allocation.tif (links / left) · change.tif (rechts / right); GeoTIFFs met "
                 "kleurentabel en QGIS-stijl / with colour table and QGIS style")]
    transitions = sorted(view.summary.get("transitions") or [], key=lambda t: -t["ha"])
    if transitions:
        total = sum(t["ha"] for t in transitions)
        rows = []
        for t in transitions[:12]:
            rows.append([_use_cell(view.catalogue, t["from"]), _use_cell(view.catalogue, t["to"]),
                         (num(t["ha"]), "n"), (f"{t['ha'] / total:.1%}" if total else "", "n"),
                         (str(t["code"]), "n")])
        parts.append(heading("transities", "Grootste verschuivingen", "Largest transitions", 3))
        parts.append(table(["Van / from", "Naar / to", ("ha", "n"), ("aandeel / share", "n"),
                            ("code in change.tif", "n")], rows))
        if len(transitions) > 12:
            parts.append(f'<p class="small">{len(transitions) - 12} kleinere transities in '
                         "summary.json · smaller transitions in summary.json</p>")
    return "\n".join(parts)


def _section_areas(view: RunView) -> str:
    rows = []
    for r in view.summary.get("areas") or []:
        if r.get("region") != "national":
            continue
        ch = float(r["change_ha"])
        rows.append([_use_cell(view.catalogue, r["use"]), (num(r["ha_before"]), "n"),
                     (num(r["ha_after"]), "n"), (signed(ch), "n")])
    return "\n".join([heading("oppervlakten", "Oppervlakte per gebruik", "Area per use"),
                      '<p class="lead">Hectares in het hele studiegebied; per provincie in '
                      "areas.csv. · Hectares in the whole study area; per province in areas.csv."
                      "</p>",
                      table(["Gebruik / use", ("voor / before (ha)", "n"),
                             ("na / after (ha)", "n"), ("verschil / change (ha)", "n")], rows)])


def _attainment_bar(t: dict[str, Any]) -> str:
    ach, lo, hi = t.get("achieved"), t.get("min"), t.get("max")
    try:
        ach = float(ach)
    except (TypeError, ValueError):
        return ""
    ref = lo if lo not in (None, "") else hi
    if ref in (None, "") or float(ref) == 0:
        return ""
    ratio = ach / float(ref)
    colour = "#4caf50" if t.get("met") == "yes" else "#e07b39"
    width = max(0.0, min(ratio, 1.5)) / 1.5 * 100
    mark = 100 / 1.5
    return (f'<div class="bar" title="{ratio:.1%} of {"min" if lo not in (None, "") else "max"}">'
            f'<span style="left:0;width:{width:.1f}%;background:{colour}"></span>'
            f'<span style="left:{mark:.1f}%;width:2px;background:#333"></span></div>'
            f'<span class="small">{ratio:.0%}</span>')


def _section_targets(view: RunView) -> str:
    rows = []
    for t in view.summary.get("targets") or []:
        met = t.get("met") == "yes"
        kind = "ok" if met else ("bad" if t.get("hard") else "warn")
        rows.append([f"<code>{esc(t['target'])}</code>", esc(t.get("region")),
                     esc(t.get("unit")), (num(t.get("min")), "n"), (num(t.get("max")), "n"),
                     (num(t.get("achieved")), "n"), _attainment_bar(t),
                     badge("ja / yes" if met else "nee / no", kind),
                     esc("hard" if t.get("hard") else "zacht / soft"), esc(t.get("status")),
                     esc(t.get("override") or "")])
    met = sum(1 for t in view.summary.get("targets") or [] if t.get("met") == "yes")
    n = len(view.summary.get("targets") or [])
    return "\n".join([
        heading("doelen", "Doelbereik", "Target attainment"),
        f'<p class="lead">{met} van {n} doelrijen gehaald, gemeten op de kaart. De balk toont '
        "behaald / minimum (streep = 100 %). · Target rows met, measured on the map; the bar "
        "shows achieved / required minimum (line = 100 %).</p>",
        table(["Doel / target", "Regio / region", "Eenheid / unit", ("min", "n"), ("max", "n"),
               ("behaald / achieved", "n"), "bereik / attainment", "gehaald / met",
               "hard/zacht", "status", "override"], rows, cls="compact")])


def _section_objective(view: RunView) -> str:
    terms = view.summary.get("objective_terms") or []
    biggest = max([abs(float(t.get("contribution") or 0)) for t in terms] or [1.0]) or 1.0
    rows = []
    for t in terms:
        c = float(t.get("contribution") or 0)
        w = abs(c) / biggest * 50
        left = 50 if c >= 0 else 50 - w
        colour = "#4a90c2" if c >= 0 else "#d7301f"
        bar = (f'<div class="bar" style="min-width:180px"><span style="left:{left:.1f}%;'
               f'width:{w:.1f}%;background:{colour}"></span><span style="left:50%;width:1px;'
               f'background:#555"></span></div>')
        rows.append([f"<code>{esc(t['term'])}</code>", esc(t.get("sense")),
                     (num(t.get("weight")), "n"), (num(t.get("value"), 2), "n"),
                     esc(t.get("unit")), (signed(c, 2), "n"), bar,
                     (esc(t.get("description")), "small")])
    s = view.summary
    return "\n".join([
        heading("doelfunctie", "Doelfunctie per term", "Objective per term"),
        f'<p class="lead">Doelfunctie / objective {num(s.get("objective"), 3)} = Σ gewicht × '
        "baat − Σ gewicht × kosten; bewezen grens / proven bound "
        f'{num(s.get("bound"), 3)}, gap {float(s.get("gap") or 0):.4%}.</p>',
        table(["Term", "soort / sense", ("gewicht / weight", "n"), ("waarde / value", "n"),
               "eenheid / unit", ("bijdrage / contribution", "n"), "", "betekenis / meaning"],
              rows)])


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


def _short(text: str, limit: int = 90) -> str:
    """Escaped text cut at ``limit`` characters; the whole text in a tooltip."""
    if len(text) <= limit:
        return esc(text)
    cut = text[:limit].rsplit(" ", 1)[0]
    return f'<span title="{esc(text)}">{esc(cut)} …</span>'


def _section_rules(view: RunView) -> str:
    rules = aggregate_rules(view.summary.get("rules") or [])
    rows = []
    for r in rules:
        binds = r["binds"]
        kind = {"yes": "bad", "softened": "warn", "no": "neutral"}.get(binds, "neutral")
        words = {"yes": "ja / yes", "no": "nee / no"}.get(binds, binds)
        value = r.get("value")
        rows.append([f"<code>{esc(r['rule'])}</code>", esc(r["type"]), esc(r["status"]),
                     esc(r["enabled"]), badge(words, kind) if binds else "",
                     (num(r["ha_removed"]) if r["ha_removed"] else "", "n"),
                     (esc(", ".join(r["uses"])), "small"),
                     (num(value, 2) if isinstance(value, int | float) else esc(value or ""), "n"),
                     esc(r.get("override") or ""), (_short(r.get("source") or ""), "small")])
    n_bind = sum(1 for r in rules if r["binds"] == "yes")
    return "\n".join([
        heading("regels", "Regels", "Rules"),
        f'<p class="lead">{n_bind} van {len(rules)} regels binden in het optimum (LP-prijzen): '
        "zonder de regel zou de oplossing anders zijn. Hectares = wat de regel afsluit (bruto, "
        "alle provincies). Per gebruik en provincie in rules.csv. · Rules that bind at the "
        "optimum; hectares the rule closes (gross); details per use and province in rules.csv."
        "</p>",
        table(["Regel / rule", "type", "status", "aan / on", "bindt / binds",
               ("ha afgesloten / closed (max per gebruik / use)", "n"), "gebruik / uses",
               ("waarde / value", "n"),
               "override", "bron / source"], rows, cls="compact")])


def _section_overrides(view: RunView) -> str:
    overrides = view.summary.get("overrides") or []
    parts = [heading("afwijkingen", "Afwijkingen (pas toe of leg uit)",
                     "Overrides (comply or explain)")]
    if not overrides:
        parts.append('<p class="lead">Geen afwijkingen: alle gemaakte keuzes (G) gelden zoals '
                     "vastgelegd. · No overrides: every decided (G) rule and target holds.</p>")
        return "\n".join(parts)
    rows = []
    for o in overrides:
        changed = o.get("changed_ha")
        units = o.get("changed_units") or {}
        effect = num(changed) + " ha" if changed else ""
        if units:
            effect = "; ".join(f"{esc(k)}: {num(v)}" for k, v in units.items())
        rows.append([f"<code>{esc(o.get('rule'))}</code>", esc(o.get("kind")),
                     esc(o.get("action")), esc(o.get("status")),
                     esc(o.get("justification")), (effect, "n"),
                     (esc(o.get("meaning") or ""), "small")])
    parts.append(table(["Regel of doel / rule or target", "soort / kind", "actie / action",
                        "status", "motivering / justification", ("effect", "n"),
                        "betekenis / meaning"], rows))
    return "\n".join(parts)


def _section_multi_use(view: RunView) -> str:
    mu = view.summary.get("multi_use") or {}
    rows = [[_use_cell(view.catalogue, uid), (num(v.get("ha")), "n"),
             (num(v.get("saves_ha_per_ha"), 2), "n"), (num(v.get("saved_ha")), "n")]
            for uid, v in (mu.get("by_use") or {}).items()]
    return "\n".join([
        heading("meervoudig", "Meervoudig ruimtegebruik", "Multiple land use"),
        f'<p class="lead">{num(mu.get("combined_ha"))} ha gecombineerd gebruik '
        f'({float(mu.get("share_of_changeable_land") or 0):.1%} van het veranderbare land), '
        f'bespaart {num(mu.get("land_saved_ha"))} ha ten opzichte van enkelvoudig gebruik. · '
        "Combined uses and the land they save against providing the same with single uses.</p>",
        table(["Combinatie / combined use", ("ha", "n"), ("bespaart ha per ha / saves", "n"),
               ("bespaard / saved (ha)", "n")], rows) if rows else ""])


def _section_burdens(view: RunView) -> str:
    burdens = view.summary.get("burdens") or []
    if not burdens:
        return ""
    keys = [k for k in burdens[0] if k not in ("region", "area_ha")]
    rows = [[esc(b["region"]), (num(b.get("area_ha")), "n"),
             *[(num(b.get(k), 4 if k == "burden per ha of region" else None), "n") for k in keys]]
            for b in burdens]
    gini = view.summary.get("burden_gini")
    png = burdens_png(burdens)
    return "\n".join([
        heading("lasten", "Lusten en lasten per provincie", "Burdens and benefits per province"),
        f'<p class="lead">Gini van de last per hectare over de provincies: '
        f"<strong>{num(gini, 3)}</strong> (0 = gelijk verdeeld). · Gini of the burden per "
        "hectare over the provinces (0 = evenly spread).</p>",
        img(png, "burdens per province") if png else "",
        table(["Provincie / province", ("oppervlak / area (ha)", "n"),
               *[(k, "n") for k in keys]], rows, cls="compact")])


def _indicator_rows(table_: IndicatorTable) -> list[Any]:
    rows: list[Any] = []
    theme = None
    for c in table_.criteria:
        if c.theme != theme:
            theme = c.theme
            nl, en = THEMES[theme]
            rows.append(_ThemeRow(f"{esc(nl)} <span class='small'>· {esc(en)}</span>"))
        v = table_.value(c.id)
        note = table_.notes.get(c.id, "")
        rows.append([f"{esc(table_.label_nl(c.id))}<br><span class='small'>"
                     f"{esc(table_.label_en(c.id))}</span>",
                     (format_value(v, c), "n"), esc(table_.unit(c.id)),
                     esc("hoger beter / higher is better" if c.better == "higher"
                         else "lager beter / lower is better"),
                     (esc(table_.definition(c.id)) + (f"<br><em>{esc(note)}</em>" if note
                                                      else ""),
                      "small")])
    return rows


def _section_indicators(view: RunView) -> str:
    ind = view.indicators
    parts = [heading("indicatoren", "Indicatoren (plan-MER)", "Indicators (plan-MER)")]
    if ind is None:
        parts.append('<p class="lead">Niet berekend (studiegebied niet beschikbaar). · Not '
                     "computed (study area not available).</p>")
        return "\n".join(parts)
    parts.append('<p class="lead">Beoordelingscriteria in de eenheden van planners, voor het hele '
                 "studiegebied; per provincie hieronder en in indicators.csv. Definities: "
                 "<code>ruimteverdeling.results.indicators</code>. · Assessment criteria in "
                 "planners' units, nationally; per province below and in indicators.csv.</p>")
    parts.append(table(["Criterium / criterion", ("waarde / value", "n"), "eenheid / unit",
                        "richting / direction", "definitie / definition"],
                       _indicator_rows(ind)))
    regional = [c for c in ind.criteria if c.additive]
    if regional and ind.regions:
        rows: list[Any] = []
        for c in regional:
            rows.append([esc(ind.label_nl(c.id)), esc(ind.unit(c.id)),
                         *[(format_value(ind.value(c.id, r), c), "n") for r in ind.regions],
                         (format_value(ind.value(c.id), c), "n")])
        parts.append(heading("indicatoren-provincie", "Per provincie", "Per province", 3))
        parts.append(_fold(table(["Criterium", "eenheid", *[(r, "n") for r in ind.regions],
                                  ("totaal / total", "n")], rows, cls="compact"),
                           len(ind.regions)))
    return "\n".join(parts)


def _section_pareto(view: RunView) -> str:
    front = view.pareto
    if front is None:
        return ""
    parts = [heading("pareto", "Afwegingscurve (Paretofront)", "Trade-off curve (Pareto front)")]
    if front.get("problem"):
        parts.append(f'<p class="note">pareto.csv: {esc(front["problem"])}</p>')
    else:
        parts.append(f'<p class="lead">Elk punt is een optimale afweging tussen '
                     f"<code>{esc(front['x'])}</code> en <code>{esc(front['y'])}</code>; geen "
                     "punt op de curve is op beide beter. · Each point is an optimal trade-off "
                     "between the two objectives; none is better on both.</p>")
        parts.append(img(pareto_png(front), "Pareto front", "pareto.csv"))
    cols = front["columns"]
    rows = [[(esc(r.get(c, "")), "n") for c in cols] for r in front["rows"][:60]]
    parts.append(table([(c, "n") for c in cols], rows))
    return "\n".join(parts)


def _section_prices(view: RunView) -> str:
    """Binding rows by the size of their shadow price, and rule_costs.csv when present."""
    prices = [r for r in (view.summary.get("shadow_prices") or [])
              if str(r.get("binding")) == "yes"]
    costs_file = view.folder / "rule_costs.csv" if view.folder is not None else None
    costs: list[dict[str, str]] = []
    if costs_file is not None and costs_file.is_file():
        import csv

        with costs_file.open(encoding="utf-8", newline="") as fh:
            costs = list(csv.DictReader(fh))
    if not prices and not costs:
        return ""
    parts = [heading("prijzen", "Wat kost een regel?", "What does a rule cost?")]
    if prices:
        def size(r: dict[str, Any]) -> float:
            try:
                return abs(float(r.get("dual") or 0.0))
            except (TypeError, ValueError):
                return 0.0

        prices.sort(key=size, reverse=True)
        parts.append('<p class="lead">Schaduwprijs: wat één eenheid meer (of minder) van een '
                     "bindend doel of bindende regel de doelfunctie kost. · Shadow price: what "
                     "one unit more of a binding target or rule costs the objective (LP duals; "
                     "for the integer allocation an approximation). All rows: "
                     "shadow_prices.csv.</p>")
        rows = [[esc(r.get("block", "")), esc(r.get("region", "")), esc(r.get("unit", "")),
                 (num(float(r["dual"]), 4) if r.get("dual") not in (None, "") else "-", "n"),
                 esc(_short(str(r.get("sentence", "")), 140))] for r in prices[:20]]
        parts.append(table(["rij / row", "regio / region", "eenheid / unit",
                            ("schaduwprijs / dual", "n"), "betekenis / meaning"], rows))
    if costs:
        parts.append('<p class="lead">Kosten per regel: de doelfunctie met en zonder de regel '
                     "(rule_costs.csv). · Cost of each rule: the objective with and without "
                     "it.</p>")
        rows = [[esc(c.get("rule", "")), esc(c.get("status", "")),
                 esc(c.get("switched", "")), esc(c.get("region", "")),
                 (num(_float(c.get("cost")), 1), "n"),
                 (num(_float(c.get("cost_to_others")), 1), "n"),
                 (num(_float(c.get("ha_moved")), 0), "n"), esc(c.get("within_gap", ""))]
                for c in costs if c.get("region", "national") == "national"][:40]
        parts.append(table(["regel / rule", "status", "geschakeld / switched",
                            "regio / region", ("kosten / cost", "n"),
                            ("voor andere claims / to others", "n"), ("ha verschoven", "n"),
                            "binnen gap / within gap"], rows))
    return "\n".join(parts)


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _section_record(view: RunView) -> str:
    rec = view.record or {}
    parts = [heading("verantwoording", "Verantwoording", "Run record"),
             '<p class="lead">Wat er in de run ging; tijden en het volledige recept staan in '
             "manifest.json. · What went into the run; times and the full record are in "
             "manifest.json.</p>"]
    rows = []
    for name, h in (rec.get("scenario_files") or {}).items():
        rows.append([esc(name), f"<code>{esc(str(h)[:16])}…</code>"])
    inputs = rec.get("inputs") or {}
    if inputs.get("area"):
        rows.append(["studiegebied / study area", esc(inputs["area"])])
    solver = rec.get("solver") or {}
    if solver:
        rows.append(["solver", esc(f"{solver.get('solver', '')} via {solver.get('backend', '')}, "
                                   f"{solver.get('method', '')}")])
    model = view.summary.get("model") or {}
    if model:
        rows.append(["model", esc(f"{model.get('changeable_cells', 0):,} veranderbare cellen / "
                                  f"changeable cells, {model.get('columns', 0):,} kolommen / "
                                  f"columns, {model.get('rows', 0):,} rijen / rows, "
                                  f"{model.get('pinned_cells', 0):,} vastgezet / pinned; "
                                  f"{model.get('cell_area_ha', 0):g} ha per cel / cell")])
    versions = rec.get("versions") or {}
    if versions:
        rows.append(["versies / versions",
                     esc(", ".join(f"{k} {v}" for k, v in versions.items()))])
    parts.append(table(["", ""], rows))
    hashes = inputs.get("sha256") or {}
    if hashes:
        hrows = [[esc(k), f"<code>{esc(v)}</code>"] for k, v in hashes.items()]
        parts.append("<details><summary>sha256 van elke invoerlaag / of every input layer"
                     f"</summary>{table(['laag / layer', 'sha256'], hrows)}</details>")
    return "\n".join(parts)


RUN_SECTIONS = [("kaarten", "Kaarten · Maps"), ("oppervlakten", "Oppervlakte · Areas"),
                ("doelen", "Doelbereik · Targets"), ("doelfunctie", "Doelfunctie · Objective"),
                ("regels", "Regels · Rules"), ("afwijkingen", "Afwijkingen · Overrides"),
                ("meervoudig", "Meervoudig ruimtegebruik · Multiple use"),
                ("lasten", "Lusten en lasten · Burdens"),
                ("indicatoren", "Indicatoren · Indicators"),
                ("prijzen", "Kosten van regels · Rule costs"),
                ("pareto", "Paretofront · Pareto front"),
                ("verantwoording", "Verantwoording · Run record")]


def render_run_report(view: RunView) -> str:
    """The HTML of a run report (see the module docstring)."""
    prices = _section_prices(view)  # reads rule_costs.csv: once
    body = [_section_maps(view), _section_areas(view), _section_targets(view),
            _section_objective(view), _section_rules(view), _section_overrides(view),
            _section_multi_use(view), _section_burdens(view), _section_indicators(view),
            prices, _section_pareto(view), _section_record(view)]
    toc = [(a, t) for a, t in RUN_SECTIONS if a != "pareto" or view.pareto is not None]
    if not prices:
        toc = [(a, t) for a, t in toc if a != "prijzen"]
    if not view.summary.get("burdens"):
        toc = [(a, t) for a, t in toc if a != "lasten"]
    return page(f"Ruimteverdeling — {view.id}: {view.title}", _header(view), toc,
                "\n".join(b for b in body if b))


def write_run_report(view: RunView, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_run_report(view), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# the comparison report
# ------------------------------------------------------------------------------------------------
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


def _compare_header(cv: CompareView) -> str:
    cards = [("Referentie / reference", f"<code>{esc(cv.reference)}</code>",
              esc(cv.runs[cv.reference].title))]
    for a in cv.alternatives:
        s = cv.runs[a].summary
        _, kind = status_words(s)
        cards.append(("Alternatief / alternative", f"<code>{esc(a)}</code>",
                      f"{badge(s.get('status', '?'), kind)} gap "
                      f"{float(s.get('gap') or 0):.3%}"))
    card_html = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{v}'
                        f'</div><div class="s">{sub}</div></div>' for k, v, sub in cards)
    return ('<div class="eyebrow">Ruimteverdeling · effectbeoordeling / assessment of '
            "alternatives</div>"
            f"<h1>Beoordelingstabel: {esc(', '.join(cv.alternatives))} ten opzichte van "
            f"{esc(cv.reference)}</h1>"
            f'<div class="sub">{len(cv.alternatives)} alternatief/alternatives vergeleken met de '
            f"referentie <code>{esc(cv.reference)}</code> · drempels / thresholds: "
            f"{esc(cv.settings_source)}</div>"
            f'<div class="cards">{card_html}</div>')


def scale_legend() -> str:
    items = "".join(f"<div>{score_chip(s)} {esc(SCALE_TEXT[s][0])} / {esc(SCALE_TEXT[s][1])}"
                    "</div>" for s in SCALE)
    return f'<div class="legend7">{items}</div>'


def _cmp_national(cv: CompareView) -> str:
    by = {(r["criterion"], r["alternative"]): r for r in cv.national}
    rows: list[Any] = []
    theme = None
    for cid, c in CRITERIA.items():
        if not any((cid, a) in by for a in cv.alternatives):
            continue
        if c.theme != theme:
            theme = c.theme
            nl, en = THEMES[theme]
            rows.append(_ThemeRow(f"{esc(nl)} <span class='small'>· {esc(en)}</span>"))
        first = by[(cid, cv.alternatives[0])]
        cells: list[Any] = [
            (f"{esc(first['label_nl'])}<br><span class='small'>{esc(first['label_en'])}</span>",
             "crit"),
            esc(first["unit"]), (format_value(first["reference_value"], c), "n")]
        for a in cv.alternatives:
            r = by[(cid, a)]
            cells += [(f"{format_value(r['value'], c)}<br><span class='small'>Δ "
                       f"{_signed_value(r['difference'], c)}</span>", "n"),
                      (score_chip(r["score"], _score_title(r)), "sc")]
        rows.append(cells)
    headers: list[Any] = ["Criterium / criterion", "eenheid / unit",
                          (f"referentie: {cv.reference}", "n")]
    for a in cv.alternatives:
        headers += [(a, "n"), ("score", "sc")]
    return "\n".join([
        heading("beoordeling", "Beoordelingstabel", "Assessment table"),
        '<p class="lead">Per criterium de waarde per alternatief, het verschil met de referentie '
        "en de score op de zevenpuntsschaal (drempels onderaan). Beweeg over een score voor de "
        "berekening. · Per criterion the value per alternative, the difference with the "
        "reference and the score (hover for the computation).</p>",
        scale_legend(), table(headers, rows, cls="compact")])


def _signed_value(v: float | None, c: Criterion) -> str:
    if v is None:
        return "n/a"
    text = format_value(v, c)
    if v > 0:
        text = "+" + text
    return text.replace("-", "−")


def _score_title(r: dict[str, Any]) -> str:
    x = r.get("effect")
    mode = r.get("mode")
    if x is None:
        return r.get("note") or "n/a"
    unit = "%" if mode in ("relative", "share") else ""
    measure = {"relative": "of the reference value", "share": "of the basis",
               "absolute": ""}.get(str(mode), "")
    xs = "±∞" if not math.isfinite(x) else f"{x:+.3g}{unit}"
    return f"effect {xs} {measure}; thresholds {r.get('thresholds')}"


def _cmp_regional(cv: CompareView) -> str:
    parts = [heading("provincies", "Scores per provincie", "Scores per province"),
             '<p class="lead">Dezelfde drempels, gemeten tegen de referentiewaarde of de basis van '
             "elke provincie. Het getal is het verschil met de referentie. · The same thresholds, "
             "measured against each province's reference value or basis; the number is the "
             "difference with the reference.</p>"]
    by = {(r["criterion"], r["alternative"], r["region"]): r for r in cv.regional}
    for a in cv.alternatives:
        rows: list[Any] = []
        for cid, c in CRITERIA.items():
            if not c.additive or (cid, a, cv.regions[0] if cv.regions else "") not in by:
                continue
            first = by[(cid, a, cv.regions[0])]
            cells: list[Any] = [f"{esc(first['label_nl'])} <span class='small'>"
                                f"({esc(first['unit'])})</span>"]
            for reg in cv.regions:
                r = by[(cid, a, reg)]
                cells.append((f"{score_chip(r['score'], _score_title(r))}<br>"
                              f"<span class='small'>{_signed_value(r['difference'], c)}</span>",
                              "sc"))
            rows.append(cells)
        parts.append(heading(f"provincies-{a}", f"{a}", "vs " + cv.reference, 3))
        parts.append(_fold(table(["Criterium", *[(reg, "sc") for reg in cv.regions]], rows,
                                 cls="compact"), len(cv.regions)))
    return "\n".join(parts)


def _cmp_maps(cv: CompareView) -> str:
    parts = [heading("verschilkaarten", "Verschilkaarten", "Difference maps"),
             '<p class="lead">Waar een alternatief een ander gebruik kiest dan de referentie: '
             "links het gebruik in de referentie, rechts in het alternatief. Als GeoTIFF in "
             "maps/ (100 × referentiecode + alternatiefcode) met per criterium een "
             "verschilband. · Where an alternative differs from the reference; GeoTIFFs in "
             "maps/.</p>"]
    for a in cv.alternatives:
        png = cv.difference_maps.get(a)
        if png is None:
            continue
        parts.append(heading(f"verschil-{a}", f"{a} ten opzichte van {cv.reference}",
                             f"{num(cv.differing_ha.get(a, 0))} ha differ", 3))
        parts.append(img(png, f"difference map {a}", f"maps/{a}.diff.tif · maps/{a}.diff.png"))
    parts.append(heading("kaarten-runs", "Kaarten van de runs", "Maps of the runs", 3))
    parts.append('<div class="grid2">')
    for label in [cv.reference, *cv.alternatives]:
        v = cv.runs[label]
        parts.append(img(map_png(v.after, v.grid, v.catalogue, label, max_px=600),
                         f"allocation {label}", esc(v.title)))
    parts.append("</div>")
    return "\n".join(parts)


def _cmp_runs(cv: CompareView) -> str:
    rows = []
    for label in [cv.reference, *cv.alternatives]:
        v = cv.runs[label]
        s = v.summary
        _, kind = status_words(s)
        link = cv.report_links.get(label)
        rows.append([f"<code>{esc(label)}</code>" + (" (referentie)" if label == cv.reference
                                                      else ""),
                     esc(v.title), badge(s.get("status", "?"), kind),
                     (num(s.get("objective"), 2), "n"), (f"{float(s.get('gap') or 0):.4%}", "n"),
                     f'<a href="{esc(link)}">report.html</a>' if link else "",
                     (esc(str(v.folder) if v.folder else ""), "small")])
    return "\n".join([heading("runs", "Runs", "Runs"),
                      table(["Run", "titel / title", "status", ("doelfunctie / objective", "n"),
                             ("gap", "n"), "rapport / report", "map / folder"], rows)])


def _cmp_settings(cv: CompareView) -> str:
    rows = []
    for cid, c in CRITERIA.items():
        s = cv.settings.get(cid)
        if s is None:
            continue
        unit = "%" if s["mode"] in ("relative", "share") else c.unit
        mode = {"relative": "% van referentiewaarde / of reference value",
                "share": "% van de basis / of the basis (ha)",
                "absolute": f"absoluut / absolute ({c.unit})"}[s["mode"]]
        t = ", ".join(f"{v:g}" for v in s["thresholds"])
        ref_table = cv.runs[cv.reference].indicators
        label = ref_table.label_nl(cid) if ref_table is not None else c.label_nl
        rows.append([esc(label), esc("hoger / higher" if s["better"] == "higher"
                                          else "lager / lower"), esc(mode),
                     (f"{esc(t)} {esc(unit)}", "n"), (esc(s.get("rationale", "")), "small")])
    return "\n".join([
        heading("drempels", "Drempels en scoreregel", "Thresholds and scoring rule"),
        '<p class="lead">Effect e = verschil met de referentie, positief als het beter is. Met '
        "drempels [t1, t2, t3]: |x| ≤ t1 → 0; ≤ t2 → 0/+ of 0/−; ≤ t3 → + of −; daarboven ++ of "
        "−−. Op een drempel geldt de mildere score. · Effect e = difference with the reference, "
        "positive when better; |x| ≤ t1 → 0, ≤ t2 → 0/±, ≤ t3 → ±, above → ±±; on a threshold "
        f"the milder score. Bron / source: {esc(cv.settings_source)}</p>",
        table(["Criterium", "beter / better", "maat / measure", ("drempels / thresholds", "n"),
               "onderbouwing / rationale"], rows)])


def render_compare_report(cv: CompareView) -> str:
    body = [_cmp_national(cv), _cmp_regional(cv), _cmp_maps(cv), _cmp_runs(cv),
            _cmp_settings(cv)]
    if cv.notes:
        body.insert(0, "".join(f'<p class="note">{esc(n)}</p>' for n in cv.notes))
    toc = [("beoordeling", "Beoordelingstabel · Assessment"),
           ("provincies", "Per provincie · Per province"),
           ("verschilkaarten", "Verschilkaarten · Difference maps"), ("runs", "Runs"),
           ("drempels", "Drempels · Thresholds")]
    return page(f"Beoordelingstabel — {', '.join(cv.alternatives)} vs {cv.reference}",
                _compare_header(cv), toc, "\n".join(body))


__all__ = ["NATIONAL", "SCALE", "CompareView", "RunView", "allocation_and_change_png",
           "difference_png", "load_run_view", "map_png", "read_pareto", "render_compare_report",
           "render_run_report", "write_run_report"]
