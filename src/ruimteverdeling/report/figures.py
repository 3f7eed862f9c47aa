"""Every chart of the reports, drawn with matplotlib and returned as PNG bytes.

No pyplot: each figure is a :class:`matplotlib.figure.Figure` of its own, so there is no global
state and figures can be drawn from several threads. PNGs carry no timestamp or software tag,
so the same inputs give the same bytes.

* :func:`map_png` — a land-use map with a legend of the uses present;
* :func:`allocation_and_change_png` — the allocation beside the cells whose use changed;
* :func:`difference_png` — where an alternative differs from a reference, both sides;
* :func:`burdens_png` — burden hectares per hectare of province, stacked by kind;
* :func:`pareto_png` — a trade-off front read by ``results.runfolder.read_pareto``;
* :func:`locations_png` — the locations of new housing and parks, by whether they meet their
  minimum size.

Maps are downsampled (every ``step``-th cell) to at most ``max_px`` pixels a side and carry a
scale bar in km.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from ruimteverdeling.area.grid import Grid
from ruimteverdeling.uses import Use, UseCatalogue

MANY_REGIONS = 16  # above this, per-region matrices are folded away (details) and not charted
UNCHANGED = "#bcbcbc"
WATER_BG = "#dbe7f2"


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


LOCATION_COLOURS = {"committed": "#5b2a86", "meets": "#c0392b", "below": "#f39c12"}


def locations_png(rows: list[dict[str, Any]], ids: np.ndarray, before: np.ndarray,
                  grid: Grid, catalogue: UseCatalogue, max_px: int = 800) -> bytes | None:
    """The locations on today's land use (greyed): committed, new meeting their minimum, new
    below it."""
    if not rows:
        return None
    kind = np.zeros(len(rows) + 1, np.int8)
    for r in rows:
        kind[int(r["id"])] = 1 if r["kind"] == "committed" else \
            2 if r["meets_minimum"] else 3
    sb, step = _downsample(before, max_px)
    si, _ = _downsample(ids, max_px)
    rgba = _background_lut(catalogue)[sb]
    k = kind[si]
    for code, key in ((1, "committed"), (2, "meets"), (3, "below")):
        rgba[k == code] = _rgba(LOCATION_COLOURS[key])
    entries = [(LOCATION_COLOURS["committed"], "vastgesteld / committed"),
               (LOCATION_COLOURS["meets"], "nieuw, ≥ minimum / new, meets its minimum"),
               (LOCATION_COLOURS["below"], "nieuw, < minimum / new, below its minimum")]
    return _map_figure([rgba], [f"Locaties / locations: {len(rows):,}"], grid, step, entries,
                       "Locaties / locations")


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


def timeline_png(timeline: list[dict[str, Any]], catalogue: UseCatalogue) -> bytes | None:
    """Stacked bars: hectares per use (allocatable uses) in each period."""
    if not timeline:
        return None
    uses = [u for u in catalogue if u.kind == "allocatable"
            and any(float(r.get(u.id, 0.0)) > 0 for r in timeline)]
    labels = [str(r["period"]) for r in timeline]
    fig = _figure(8.6, 3.2, dpi=110)
    ax = fig.add_axes([0.1, 0.14, 0.6, 0.8])
    bottom = np.zeros(len(labels))
    for u in uses:
        vals = np.array([float(r.get(u.id, 0.0)) for r in timeline])
        ax.bar(labels, vals, bottom=bottom, color=u.colour, label=_use_label(u), width=0.6)
        bottom += vals
    ax.set_ylabel("ha", fontsize=8.5)
    ax.tick_params(labelsize=8.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=7.5, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5),
              title="Gebruik / use", title_fontsize=8)
    return _png(fig)


def pareto_png(front: dict[str, Any]) -> bytes:
    """The front as points joined by a line, labelled; the run's own point ringed in red."""
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


