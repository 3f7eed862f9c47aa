"""Why a scenario is infeasible: the conflicting targets and rules, where, and by how much.

When the hard targets and rules cannot all hold, the compiled model's elastic relaxation is
solved (:mod:`ruimteverdeling.model.elastic`: a slack on every finite side of every coupling
row, each counted in "one typical cell's worth" of its row, the least total violation). The
rows it finds in the conflict are named here as what they are — a target or rule, its region,
its own units (hectares, homes, TWh/yr, hectares of burden) with the fixed land added back —
together with the smallest relaxation of each row alone that would make the scenario
feasible, the zone rules that close land to a target's use in its region, and whether
HiGHS's IIS confirms the row.

:func:`explain` returns an :class:`Explanation`; :func:`write` puts it in a folder that is
clearly not a run (``<output>.infeasible/``: ``infeasibility.csv``, ``explanation.txt``,
``infeasibility.json``); :func:`infeasible_error` does both and returns the error to raise.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ruimteverdeling.errors import InfeasibleError, InputError
from ruimteverdeling.model.elastic import LeastViolation, ViolatedRow, least_violation
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.results.writer import AtomicOutputDir, write_json
from ruimteverdeling.rules.compile import CompiledModel

MAX_ROWS_SHOWN = 20
"""At most this many conflicting rows are printed (all of them go to infeasibility.csv)."""
CSV_COLUMNS = ["kind", "id", "region", "side", "required", "achieved", "violation", "unit",
               "relax_alone", "in_iis", "rules_closing_land", "source", "field"]


@dataclass
class ConflictRow:
    """One target or rule row that takes part in the conflict (values in its own units)."""

    block: str
    row: int
    kind: str  # "target" | "rule"
    ref: str  # the target's or rule's id
    region: str
    side: str  # "min" | "max"
    required: float  # the bound, in the row's units (fixed land included)
    achieved: float  # the row's value in the least-violation solution
    violation: float  # how far that solution misses the bound (≥ 0)
    unit: str
    weighted: float  # violation × w_r (cell equivalents)
    relax_alone: float | None = None  # smallest relaxation of this row alone; None: not enough
    relax_alone_tried: bool = False
    in_iis: bool | None = None
    closing: list[tuple[str, float]] = field(default_factory=list)  # (rule, ha) closing land
    use: str | None = None
    source: str = ""
    field: str = ""

    @property
    def where(self) -> str:
        return "" if self.region in ("national", "all", "") else f" in {self.region}"

    @property
    def name(self) -> str:
        return f"{self.kind} '{self.ref}'{self.where}"


@dataclass
class Explanation:
    """The diagnosis of an infeasible scenario."""

    scenario: str
    relaxation: str  # "lp" | "mip": which elastic problem found the conflict
    total_violation: float  # Σ w_r s_r of the least-violation solution (cell equivalents)
    rows: list[ConflictRow]
    iis: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def primary(self) -> ConflictRow | None:
        """The row the headline is about: the largest weighted violation."""
        violated = [r for r in self.rows if r.violation > 0]
        pool = violated or self.rows
        return max(pool, key=lambda r: r.weighted) if pool else None

    def headline(self) -> str:
        """One sentence: what cannot be met, by how much, and what would make it feasible."""
        p = self.primary
        if p is None:
            return ("the hard targets and rules cannot all hold; which ones conflict could not "
                    "be determined (see below)")
        amount = p.relax_alone if p.relax_alone is not None else p.violation
        u = f" {p.unit}" if p.unit else ""
        if p.side == "min":
            text = (f"the scenario cannot be met: {p.name} needs {_num(amount)}{u} more than "
                    "the land left by the rules and the other hard targets allows (asks at "
                    f"least {_num(p.required)}{u}")
            if p.relax_alone is not None:
                text += f", at most {_num(p.required - amount)}{u} is possible)"
            else:
                text += ")"
        else:
            text = (f"the scenario cannot be met: {p.name} is exceeded by {_num(amount)}{u} "
                    f"(allows at most {_num(p.required)}{u}")
            text += f", at least {_num(p.required + amount)}{u} is unavoidable)" \
                if p.relax_alone is not None else ")"
        options = [r for r in self.rows if r.relax_alone is not None]
        if options:
            parts = [f"{r.name} by {_num(r.relax_alone)}{' ' + r.unit if r.unit else ''}"
                     for r in sorted(options, key=lambda r: (r is not p, r.ref, r.region))]
            text += "; relaxing " + " or ".join(parts) + " would make it feasible"
        return text

    def details(self) -> list[str]:
        """Lines under the headline: every conflicting row, the rules closing land, the IIS."""
        out = []
        shown = self.rows[:MAX_ROWS_SHOWN]
        more = len(self.rows) - len(shown)
        tail = f" and {more} more rows (see infeasibility.csv)" if more > 0 else ""
        if len(self.rows) > 1:
            out.append("these hard targets and rules conflict: "
                       + ", ".join(f"{r.name} ({r.side})" for r in shown) + tail)
        for r in shown:
            u = f" {r.unit}" if r.unit else ""
            bound = "at least" if r.side == "min" else "at most"
            line = f"{r.name}: {bound} {_num(r.required)}{u}"
            if r.violation > 0:
                line += f"; missed by {_num(r.violation)}{u} in the least-violation solution"
            else:
                line += "; holds, but only at the expense of the others"
            if r.relax_alone is not None:
                line += f"; relaxing it alone by {_num(r.relax_alone)}{u} is enough"
            elif r.relax_alone_tried:
                line += "; relaxing it alone is not enough"
            if r.closing:
                closed = ", ".join(f"{rule} ({_num(ha)} ha)" for rule, ha in r.closing)
                line += f"; land closed to {r.use}{r.where} by the rules: {closed}"
            out.append(line)
        if self.iis is not None and self.iis.get("rows"):
            out.append("HiGHS IIS (irreducible infeasible set of the LP relaxation): "
                       + ", ".join(self.iis["rows"]))
        out += self.notes
        return out

    def text(self) -> str:
        return "\n".join([self.headline(), *(f"  - {d}" for d in self.details())])

    def table(self) -> list[dict[str, Any]]:
        """The rows of ``infeasibility.csv``."""
        out = []
        for r in self.rows:
            out.append({
                "kind": r.kind, "id": r.ref, "region": r.region, "side": r.side,
                "required": _round(r.required), "achieved": _round(r.achieved),
                "violation": _round(r.violation), "unit": r.unit,
                "relax_alone": "" if r.relax_alone is None else _round(r.relax_alone),
                "in_iis": "" if r.in_iis is None else ("yes" if r.in_iis else "no"),
                "rules_closing_land": "; ".join(f"{k} {_round(v)} ha" for k, v in r.closing),
                "source": r.source, "field": r.field})
        return out


# ---------------------------------------------------------------------------------------------
def explain(cm: CompiledModel, options: SolverOptions | None = None,
            time_limit: float | None = None) -> Explanation:
    """Diagnose why the compiled model ``cm`` has no feasible allocation.

    Solves the elastic LP (and, when that is feasible, the elastic MIP), finds the conflicting
    rows, the smallest relaxation of each alone, and HiGHS's IIS for small models. Never
    raises for a solver problem: whatever could not be computed is said in ``notes``.
    """
    t_start = time.perf_counter()
    options = options or cm.scenario.solver
    budget = float(time_limit if time_limit is not None else min(options.time_limit, 300.0))
    lv = least_violation(cm.spec, options, budget)
    return Explanation(cm.scenario.id, lv.relaxation, lv.total,
                       [_conflict_row(cm, v) for v in lv.rows], lv.iis, _notes(lv),
                       time.perf_counter() - t_start)


def _notes(lv: LeastViolation) -> list[str]:
    """What the solves could not settle, in the planner's words."""
    if lv.relaxation == "lp" and not lv.solved:
        return [f"the elastic LP did not solve ({lv.lp_status}); raise the time limit to get "
                "an explanation"]
    notes = []
    if lv.relaxation == "mip":
        notes.append("the LP relaxation can meet every hard target and rule: the conflict "
                     "comes from cells being indivisible (each cell takes one use whole)")
        if not lv.solved:
            notes.append(f"the elastic MIP found no solution ({lv.mip_status}); raise the time "
                         "limit to get the conflicting rows")
        elif lv.mip_status != "optimal":
            notes.append(f"the elastic MIP stopped early ({lv.mip_status}): the violations are "
                         "an upper bound")
    if lv.out_of_time:
        notes.append("no time left to compute how far each row alone must be relaxed")
    return notes


def _conflict_row(cm: CompiledModel, v: ViolatedRow) -> ConflictRow:
    """The violated row as a target or rule, in its own units, fixed land added back."""
    b = cm.spec.block(v.block)
    r = v.row
    info = cm.blocks.get(v.block)
    constant = float(info.constant[r]) if info is not None else 0.0
    unit, scale = _unit(cm, b, r)
    labels = b.labels
    region = labels[r] if labels is not None and r < len(labels) else f"row {r}"
    meta = b.meta or {}
    use = None
    closing: list[tuple[str, float]] = []
    if b.kind == "target":
        target = next((t for t in cm.targets if t.id == b.ref), None)
        if target is not None:
            use = target.use
            closing = _closing(cm, use, region)
    return ConflictRow(
        block=v.block, row=r, kind=b.kind, ref=b.ref or v.block, region=region,
        side=v.side, required=(v.bound + constant) * scale,
        achieved=(v.activity + constant) * scale, violation=v.violation * scale, unit=unit,
        weighted=v.weighted, relax_alone=v.relax_alone, relax_alone_tried=v.relax_alone_tried,
        in_iis=v.in_iis, use=use, closing=closing, source=str(meta.get("source", "")),
        field=str(meta.get("field", "")))


def _unit(cm: CompiledModel, b: Any, r: int) -> tuple[str, float]:
    """The unit of a row's values and the factor from row units to it."""
    meta = b.meta or {}
    if b.kind == "target":
        return {"area": "ha", "share": "ha", "homes": "homes",
                "energy": "TWh/yr"}.get(str(meta.get("quantity")), ""), 1.0
    if "unit" in meta:  # proximity shares: new homes or hectares, weighted by (near − share)
        return {"homes": "homes", "area": "ha"}.get(str(meta["unit"]), str(meta["unit"])), 1.0
    if "area_ha" in meta:  # fairness caps: weighted hectares of burden
        return "ha of burden", 1.0
    return "", 1.0


def _closing(cm: CompiledModel, use: str, region: str) -> list[tuple[str, float]]:
    """Zone rules that close land to ``use`` in ``region`` (gross hectares, largest first)."""
    out = []
    for rep in cm.rule_reports:
        removed = (rep.get("removed_ha") or {}).get(use)
        if not removed:
            continue
        ha = sum(removed.values()) if region in ("national", "all") else removed.get(region, 0.0)
        if ha > 0:
            out.append((str(rep["rule"]), float(ha)))
    out.sort(key=lambda t: -t[1])
    return out[:5]


# ---------------------------------------------------------------------------------------------
def diagnosis_dir(out_dir: str | Path) -> Path:
    """Where the diagnosis of an infeasible run goes: ``<out_dir>.infeasible`` next to the
    intended output folder (never the output folder itself, which holds only complete runs)."""
    out = Path(out_dir)
    return out.parent / f"{out.name}.infeasible"


def write(expl: Explanation, folder: str | Path) -> Path:
    """Write ``infeasibility.csv``, ``explanation.txt`` and ``infeasibility.json`` atomically
    into ``folder`` (a diagnosis, not a run: there is no allocation and no manifest)."""
    folder = Path(folder)
    with AtomicOutputDir(folder, "diagnosis") as tmp:
        with open(tmp / "infeasibility.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            w.writeheader()
            w.writerows(expl.table())
        (tmp / "explanation.txt").write_text(
            "NOT A RUN: the scenario is infeasible, no allocation was made.\n\n"
            + expl.text() + "\n", encoding="utf-8")
        write_json(tmp / "infeasibility.json", {
            "scenario": expl.scenario, "status": "infeasible", "complete_run": False,
            "headline": expl.headline(), "details": expl.details(),
            "relaxation": expl.relaxation, "total_scaled_violation": expl.total_violation,
            "rows": expl.table(), "iis": expl.iis, "seconds": round(expl.seconds, 3)})
    return folder


def infeasible_error(cm: CompiledModel, cause: InfeasibleError | None = None,
                     out_dir: str | Path | None = None,
                     say: Any = None) -> InfeasibleError:
    """Explain the infeasibility of ``cm``; write the diagnosis next to ``out_dir`` (when
    given) and return the InfeasibleError to raise (its message is the explanation).

    The returned error carries ``explanation`` and ``diagnosis`` (the folder, or None).
    """
    say = say or (lambda msg: None)
    say("infeasible: solving the elastic relaxation to explain why")
    try:
        expl = explain(cm)
    except Exception as exc:  # never hide the infeasibility behind a failed diagnosis
        return InfeasibleError(str(cause) if cause is not None else
                               "the hard targets and rules cannot all hold",
                               [f"no explanation could be computed: {exc!r}"])
    details = expl.details()
    folder = None
    if out_dir is not None:
        try:
            folder = write(expl, diagnosis_dir(out_dir))
            details.append(f"diagnosis written to {folder}/infeasibility.csv (NOT a run: no "
                           f"allocation was written to {Path(out_dir)})")
        except InputError as exc:  # the folder is not the engine's, or cannot be written
            details.append(f"the diagnosis could not be written: {exc.format()}")
        except OSError as exc:
            details.append(f"the diagnosis could not be written: {exc}")
    return InfeasibleError(expl.headline(), details, explanation=expl, diagnosis=folder)


def _num(v: float) -> str:
    if not np.isfinite(v):
        return str(v)
    if abs(v - round(v)) < 1e-6 * max(1.0, abs(v)):
        return f"{round(v):,d}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.3g}" if abs(v) < 1 else f"{v:,.2f}"


def _round(v: float) -> float:
    return float(round(v, 6))
