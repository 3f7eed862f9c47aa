"""What a batch reports: a progress line per finished run, the table, batch.csv and batch.json.

A run's row holds its id, status, message, seconds and the key numbers of its summary
(:func:`key_numbers`). Exit codes: 0 when every run finished (optimal, feasible, time limit,
relaxation) or was skipped, 1 when any failed (infeasible or error).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruimteverdeling.formatting import Column, number, table
from ruimteverdeling.jsonio import dumps
from ruimteverdeling.results import writer as wr
from ruimteverdeling.results.summary import csv_value

OK_STATUSES = ("optimal", "feasible", "time_limit", "relaxation", "skipped")
FAILED_STATUSES = ("infeasible", "error")
EXIT_OK, EXIT_FAILED = 0, 1
CSV_COLUMNS = ["id", "status", "gap", "seconds", "objective", "bound", "new_homes", "nature_ha",
               "housing_ha", "solar_wind_ha", "targets_met", "targets_total", "message",
               "scenario", "out_dir"]
TABLE = [Column("id"), Column("status", gap=2), Column("gap", ">", gap=2),
         Column("seconds", ">", gap=2), Column("objective", ">", gap=2),
         Column("new homes", ">", gap=2), Column("nature ha", ">", gap=2),
         Column("housing ha", ">", gap=2), Column("solar+wind ha", ">", gap=2),
         Column("targets met", ">", gap=2)]
"""The columns of the batch table printed at the end of a batch."""


def key_numbers(summary: dict[str, Any]) -> dict[str, Any]:
    """The key numbers of a run's summary (``summary.json`` or ``RunResult.summary``).

    ``new_homes`` is the largest achieved value among the homes targets counted on new housing
    (a national row, or the sum of a per-region target's rows); None without such a target.
    Hectares are of the single use itself (combined uses are not added in).
    """
    national = {r.get("use"): r for r in summary.get("areas", [])
                if r.get("region") == "national"}

    def ha(*uses: str) -> float:
        return float(sum(national[u]["ha_after"] for u in uses if u in national))

    targets = summary.get("targets", [])
    homes: dict[str, float] = {}
    for t in targets:
        if t.get("quantity") == "homes" and t.get("basis") == "new":
            key = t["target"] if t.get("region") != "national" else f"{t['target']}\0national"
            homes[key] = homes.get(key, 0.0) + float(t.get("achieved") or 0.0)
    return {
        "status": summary.get("status"),
        "objective": _float(summary.get("objective")),
        "bound": _float(summary.get("bound")),
        "gap": _float(summary.get("gap")),
        "new_homes": max(homes.values()) if homes else None,
        "nature_ha": ha("nature"),
        "housing_ha": ha("housing"),
        "solar_wind_ha": ha("solar", "wind"),
        "targets_met": sum(1 for t in targets if t.get("met") == "yes"),
        "targets_total": len(targets),
    }


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def exit_code(rows: Sequence[dict[str, Any]]) -> int:
    """0 when every run finished or was skipped, 1 when any failed."""
    return EXIT_FAILED if any(r.get("status") not in OK_STATUSES for r in rows) else EXIT_OK


def progress_line(row: dict[str, Any], done: int, total: int) -> str:
    """``[done/total] id: status, gap, seconds`` of a finished run."""
    width = len(str(total))
    text = f"[{done:{width}d}/{total}] {row['id']}: {row['status']}"
    if row["status"] == "skipped":
        text += " (up to date)"
    elif row["status"] in FAILED_STATUSES:
        text += f" - {_first_line(row.get('message', ''))}"
    elif row.get("gap") is not None:
        text += f", gap {row['gap']:.4%}"
    if row.get("seconds") is not None:
        text += f", {row['seconds']:.1f} s"
    if row.get("warnings"):
        text += f" ({len(row['warnings'])} warning(s), see batch.json)"
    return text


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and lines[0].endswith("problems found:"):
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def runs_text(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The batch table: one line per run, and the messages of the failed runs below it."""
    cells = [[str(r.get("id", "")), str(r.get("status", "")), number(r.get("gap"), ".3%"),
              number(r.get("seconds"), ",.1f"), number(r.get("objective"), ",.2f"),
              number(r.get("new_homes")), number(r.get("nature_ha")),
              number(r.get("housing_ha")), number(r.get("solar_wind_ha")),
              "-" if r.get("targets_total") is None else
              f"{r.get('targets_met', 0)}/{r['targets_total']}"] for r in rows]
    out = io.StringIO()
    for line in table(TABLE, cells):
        out.write(line + "\n")
    failed = [r for r in rows if r.get("status") in FAILED_STATUSES]
    if failed:
        out.write("\n  failed runs:\n")
        for r in failed:
            msg = str(r.get("message", "")).replace("\n", "\n      ")
            out.write(f"    {r['id']}: {msg}\n")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
    out.write("\n  " + ", ".join(f"{n} {s}" for s, n in counts.items())
              + f" ({runs_text(len(rows))})\n")
    return out.getvalue()


def write_report(rows: Sequence[dict[str, Any]], out_dir: str | Path,
                 info: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``batch.csv`` (the table) and ``batch.json`` (the full rows) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_value(r.get(k)) for k in CSV_COLUMNS})
    wr.write_text_atomic(out / "batch.csv", buf.getvalue())
    doc = {**(info or {}), "exit_code": exit_code(rows), "runs": list(rows)}
    wr.write_text_atomic(out / "batch.json", dumps(doc) + "\n")
    wr.register(out, ["batch.csv", "batch.json"])
    return out / "batch.csv", out / "batch.json"
