"""Why a scenario is infeasible: the elastic relaxation, the conflicting rows, HiGHS's IIS.

When the hard targets and rules cannot all hold, the model is solved once more in *elastic*
mode. Every finite side of every coupling row (targets, quotas, fairness caps, proximity
shares, distance conflicts) gets a named non-negative slack — the helper
:func:`ruimteverdeling.model.decompose.with_elastic` adds them — and the original objective is
replaced by the total scaled violation:

    min  Σ_r w_r (s⁻_r + s⁺_r)
    s.t. lo_r − s⁻_r ≤ a_r·x ≤ hi_r + s⁺_r      for every coupling row r
         Σ_u x[k,u] = 1                         for every unit k (not relaxed)
         0 ≤ x ≤ 1,  s ≥ 0

with ``w_r = 1 / median_j |a_rj|`` over the row's x columns: one unit of weighted slack is
"one typical cell's worth" of the row, so hectares, homes and TWh are comparable. Ties are
broken by the original objective ``c·x``: the solver maximises ``c·x − M Σ w_r s_r`` with
``M = 10⁴ · max_j |c_j|``, far more than one cell can gain, so the violation stays the least
possible (and the simplex method is spared the degeneracy of an all-zero objective). The LP
relaxation is solved first (the assignment rows are always satisfiable, so the elastic LP is
always feasible). Its optimum ``V = Σ w_r s_r`` is the least total violation of the
relaxation.

*Which rows conflict.* At an optimum with ``V > 0`` the row duals ``y / M`` are the
multipliers of the violation problem, which certify the infeasibility (Farkas): the rows
with ``|y_r| / M ≥ 0.005 · w_r`` are those whose relaxation lowers ``V`` — together with the
assignment rows they cannot all hold. Rows that merely bind for the objective have duals of
the objective's size, about ``M`` times smaller. They are reported, each in its own units and
region.

*By how much.* For every conflicting row ``r`` alone, the elastic LP is solved again with
every other slack fixed at 0 (only column bounds change, so the simplex method starts from
the previous basis): its optimum is the smallest relaxation of ``r`` that makes the
relaxation feasible while every other row holds ("relaxing X by Y would make it feasible"),
or none when relaxing ``r`` alone is not enough.

*Integral conflicts.* When the LP relaxation is feasible (``V = 0``) the conflict comes from
cells being indivisible (a target of 2.5 ha on 1-ha cells next to another). The same elastic
model is then solved as a MIP, and the rows it violates are reported.

*IIS.* For small models HiGHS's irreducible infeasible subsystem of the LP relaxation
(``Highs.getIis``) is computed too; the coupling rows in it are flagged.

:func:`explain` returns an :class:`Explanation`; :func:`write` puts it in a folder that is
clearly not a run (``<output>.infeasible/``).
"""

from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ruimteverdeling.errors import InfeasibleError, InputError
from ruimteverdeling.model.decompose import ELASTIC, with_elastic
from ruimteverdeling.model.spec import ModelSpec

if TYPE_CHECKING:
    from ruimteverdeling.model.options import SolverOptions
    from ruimteverdeling.rules.compile import CompiledModel

IIS_MAX_COLUMNS = 50_000
"""HiGHS's IIS is computed only for models up to this many columns (it re-solves many LPs)."""
MAX_SINGLE_ROW_SOLVES = 12
"""At most this many conflicting rows get their own "relax this one alone" LP."""
MAX_ROWS_SHOWN = 20
"""At most this many conflicting rows are printed (all of them go to infeasibility.csv)."""
PENALTY = 1e4
"""M / max_j |c_j|: the price of one cell's worth of violation against the objective."""
DUAL_SHARE = 5e-3
"""A row is in the conflict when its dual is at least this share of M·w_r (a relaxation of
it lowers the least violation); ordinary binding rows have duals of the objective's size."""
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
def row_weights(spec: ModelSpec) -> dict[str, np.ndarray]:
    """``w_r = 1 / median_j |a_rj|`` over the x columns of every coupling row (1 if none)."""
    out = {}
    for b in spec.coupling:
        A = b.A.tocsr()
        w = np.ones(b.n_rows)
        for r in range(b.n_rows):
            s, e = A.indptr[r], A.indptr[r + 1]
            vals = A.data[s:e][A.indices[s:e] < spec.n_x]
            vals = np.abs(vals[vals != 0])
            if vals.size:
                w[r] = 1.0 / float(np.median(vals))
        out[b.name] = w
    return out


@dataclass
class _Elastic:
    spec: ModelSpec  # the elastic model with the violation objective
    slack_cols: np.ndarray  # column of every elastic slack
    slack_block: list[str]
    slack_row: np.ndarray
    slack_side: list[str]  # "lo" | "hi"
    weights: np.ndarray  # w of every slack
    penalty: float  # M: the objective coefficient of a slack is −M·w


def elastic_model(spec: ModelSpec, tie_break: bool = True) -> _Elastic:
    """The elastic model of ``spec`` (see the module docstring), maximising

        −M · Σ_r w_r s_r  +  c·x        (with ``tie_break``; M = 10⁴ · max_j |c_j|)
        −Σ_r w_r s_r                    (without)

    The penalty M is so large that one cell's worth of violation outweighs anything the
    objective could gain from it, so the violation is the least possible; the original
    objective only picks, among the least-violation solutions, a sensible allocation. It also
    keeps the LP from the massive degeneracy of a pure violation objective (every x column
    would cost 0), which stalls the simplex method on large models.
    """
    es, n_aux0 = with_elastic(spec, 1.0)
    weights = row_weights(spec)
    first = es.n_x + n_aux0
    names = es.aux_names[n_aux0:]
    blocks, rows, sides, w = [], [], [], []
    for name in names:
        block, row, side = name[len(ELASTIC):].rsplit(":", 2)
        blocks.append(block)
        rows.append(int(row))
        sides.append(side)
        w.append(weights[block][int(row)])
    cols = np.arange(first, first + len(names), dtype=np.int64)
    penalty = 1.0
    obj = np.zeros(es.n_cols)
    if tie_break:
        penalty = PENALTY * max(1.0, float(np.abs(spec.obj[: spec.n_x]).max(initial=1.0)))
        obj[: spec.n_cols] = spec.obj
    obj[cols] = -penalty * np.asarray(w, float)
    es = dataclasses.replace(es, obj=obj, obj_offset=0.0, terms=[])
    return _Elastic(es, cols, blocks, np.asarray(rows, np.int64), sides, np.asarray(w, float),
                    penalty)


def explain(cm: CompiledModel, options: SolverOptions | None = None,
            time_limit: float | None = None) -> Explanation:
    """Diagnose why the compiled model ``cm`` has no feasible allocation.

    Solves the elastic LP (and, when that is feasible, the elastic MIP), finds the conflicting
    rows, the smallest relaxation of each alone, and HiGHS's IIS for small models. Never
    raises for a solver problem: whatever could not be computed is said in ``notes``.
    """
    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.model.solve import HighsBackend

    t_start = time.perf_counter()
    options = options or cm.scenario.solver
    budget = float(time_limit if time_limit is not None else min(options.time_limit, 300.0))
    deadline = t_start + budget
    spec = cm.spec
    el = elastic_model(spec)
    notes: list[str] = []
    relaxation = "lp"
    lp_opts = hb.lp_options(el.spec, "auto", options.threads,
                            max(1.0, deadline - time.perf_counter()), options.seed)
    h = hb.build(el.spec, integral=False, options=lp_opts)
    lp = hb.run(h, integral=False, want_duals=True)
    if lp.x is None or lp.status != "Optimal":
        return Explanation(cm.scenario.id, "lp", float("nan"), [], None,
                           [f"the elastic LP did not solve ({lp.status}); raise the time limit "
                            "to get an explanation"], time.perf_counter() - t_start)
    x = lp.x
    slack = np.maximum(x[el.slack_cols], 0.0)
    total = float(el.weights @ slack)
    tol = 1e-7
    m = spec.n_rows - spec.n_units
    dual = np.zeros(m) if lp.row_dual is None else \
        np.abs(lp.row_dual[spec.n_units:spec.n_units + m]) / el.penalty
    offsets = _block_offsets(spec)
    weights = row_weights(spec)
    in_conflict: dict[tuple[str, int], None] = {}
    if total > tol:
        for k in np.flatnonzero(slack > tol):
            in_conflict[(el.slack_block[k], int(el.slack_row[k]))] = None
        for b in spec.coupling:
            o = offsets[b.name]
            for r in np.flatnonzero(dual[o:o + b.n_rows] > DUAL_SHARE * weights[b.name]):
                in_conflict[(b.name, int(r))] = None
    else:
        relaxation = "mip"
        notes.append("the LP relaxation can meet every hard target and rule: the conflict "
                     "comes from cells being indivisible (each cell takes one use whole)")
        mip = HighsBackend().mip(el.spec, options, max(1.0, deadline - time.perf_counter()),
                                 1e-9)
        if mip.x is None:
            notes.append(f"the elastic MIP found no solution ({mip.status}); raise the time "
                         "limit to get the conflicting rows")
            return Explanation(cm.scenario.id, relaxation, 0.0, [], None, notes,
                               time.perf_counter() - t_start)
        x = mip.x
        slack = np.maximum(x[el.slack_cols], 0.0)
        total = float(el.weights @ slack)
        for k in np.flatnonzero(slack > tol):
            in_conflict[(el.slack_block[k], int(el.slack_row[k]))] = None
        if mip.status != "optimal":
            notes.append(f"the elastic MIP stopped early ({mip.status}): the violations are "
                         "an upper bound")
    rows = [_conflict_row(cm, el, x, slack, block, r) for block, r in in_conflict]
    rows.sort(key=lambda c: (-c.weighted, c.block, c.row))
    # the smallest relaxation of each row alone (warm-started from the elastic LP's basis)
    if relaxation == "lp":
        h.setOptionValue("solver", "simplex")
    for c in rows[:MAX_SINGLE_ROW_SOLVES]:
        remaining = deadline - time.perf_counter()
        if remaining <= 1:
            notes.append("no time left to compute how far each row alone must be relaxed")
            break
        c.relax_alone_tried = True
        c.relax_alone = _relax_alone(el, c, h if relaxation == "lp" else None, options,
                                     remaining)
    iis = None
    if relaxation == "lp" and spec.n_cols <= IIS_MAX_COLUMNS and \
            deadline - time.perf_counter() > 1:
        iis = _iis(spec, options, deadline - time.perf_counter())
        if iis is not None:
            keys = {(b, r) for b, r in iis.pop("keys")}
            for c in rows:
                c.in_iis = (c.block, c.row) in keys
    return Explanation(cm.scenario.id, relaxation, total, rows, iis, notes,
                       time.perf_counter() - t_start)


def _block_offsets(spec: ModelSpec) -> dict[str, int]:
    out, r = {}, 0
    for b in spec.coupling:
        out[b.name] = r
        r += b.n_rows
    return out


def _conflict_row(cm: CompiledModel, el: _Elastic, x: np.ndarray, slack: np.ndarray,
                  block_name: str, r: int) -> ConflictRow:
    spec = cm.spec
    b = spec.block(block_name)
    act = float((b.A.getrow(r) @ x[: spec.n_cols])[0])  # the original row, without slacks
    mine = [k for k in range(el.slack_cols.size)
            if el.slack_block[k] == block_name and el.slack_row[k] == r]
    s_lo = sum(slack[k] for k in mine if el.slack_side[k] == "lo")
    s_hi = sum(slack[k] for k in mine if el.slack_side[k] == "hi")
    w = float(el.weights[mine[0]]) if mine else 1.0
    info = cm.blocks.get(block_name)
    constant = float(info.constant[r]) if info is not None else 0.0
    lo, hi = float(b.lower[r]), float(b.upper[r])
    if s_lo > 0 or (s_hi <= 0 and np.isfinite(lo) and
                    (not np.isfinite(hi) or abs(act - lo) <= abs(act - hi))):
        side, bound, violation = "min", lo, s_lo
    else:
        side, bound, violation = "max", hi, s_hi
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
        block=block_name, row=r, kind=b.kind, ref=b.ref or block_name, region=region,
        side=side, required=(bound + constant) * scale, achieved=(act + constant) * scale,
        violation=violation * scale, unit=unit, weighted=violation * w, use=use,
        closing=closing, source=str(meta.get("source", "")), field=str(meta.get("field", "")))


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


def _relax_alone(el: _Elastic, c: ConflictRow, h: Any, options: SolverOptions,
                 time_limit: float) -> float | None:
    """The least relaxation of row ``c`` that makes the model feasible with every other row
    held (every other elastic slack fixed at 0); None when that is not enough.

    ``h`` is the solved elastic LP (a Highs instance): only the slacks' bounds change, so the
    simplex method starts from its basis. Without ``h`` (the integral case) the elastic MIP
    is solved again.
    """
    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.model.solve import HighsBackend

    mine = np.array([el.slack_block[k] == c.block and el.slack_row[k] == c.row
                     for k in range(el.slack_cols.size)])
    upper = np.where(mine, np.inf, 0.0)
    if h is not None:
        cols = el.slack_cols.astype(np.int32)
        h.changeColsBounds(cols.size, cols, np.zeros(cols.size), upper)
        h.setOptionValue("time_limit", float(time_limit))
        out = hb.run(h, integral=False)
        if out.status != "Optimal" or out.x is None:
            return None
        x = out.x
    else:
        n_aux0 = len(el.spec.aux_names) - el.slack_cols.size
        ub = el.spec.aux_ub.copy()
        ub[n_aux0:] = upper
        res = HighsBackend().mip(dataclasses.replace(el.spec, aux_ub=ub), options, time_limit,
                                 1e-9)
        if res.x is None or res.status != "optimal":
            return None
        x = res.x
    return float(np.maximum(x[el.slack_cols[mine]], 0.0).sum())


def _iis(spec: ModelSpec, options: SolverOptions, time_limit: float) -> dict[str, Any] | None:
    """HiGHS's IIS of the LP relaxation: the coupling rows in it (as "block[label]")."""
    try:
        import highspy

        from ruimteverdeling.model import highs_backend as hb

        h = hb.build(spec, integral=False, options={"time_limit": float(time_limit),
                                                     "threads": options.threads})
        # from the LP's infeasibility, then made irreducible (the default finds only trivial
        # bound conflicts)
        strategy = int(highspy.IisStrategy.kIisStrategyFromLp.value) | \
            int(highspy.IisStrategy.kIisStrategyIrreducible.value)
        h.setOptionValue("iis_strategy", strategy)
        hb.run_highs(h)
        status, iis = h.getIis()
        if status == highspy.HighsStatus.kError or not iis.valid_:
            return None
        offsets = [(b, s) for b, s in zip(spec.coupling, _starts(spec), strict=True)]
        rows, keys = [], []
        n_assign = 0
        for i in iis.row_index_:
            i = int(i)
            if i < spec.n_units:
                n_assign += 1
                continue
            j = i - spec.n_units
            for b, s in offsets:
                if s <= j < s + b.n_rows:
                    r = j - s
                    label = b.labels[r] if b.labels is not None else f"row {r}"
                    rows.append(f"{b.name}[{label}]")
                    keys.append((b.name, r))
                    break
        return {"rows": rows, "keys": keys, "assignment_rows": n_assign,
                "columns": len(iis.col_index_)}
    except Exception:  # the IIS is a bonus: never let it break the explanation
        return None


def _starts(spec: ModelSpec) -> list[int]:
    out, r = [], 0
    for b in spec.coupling:
        out.append(r)
        r += b.n_rows
    return out


# ---------------------------------------------------------------------------------------------
def diagnosis_dir(out_dir: str | Path) -> Path:
    """Where the diagnosis of an infeasible run goes: ``<out_dir>.infeasible`` next to the
    intended output folder (never the output folder itself, which holds only complete runs)."""
    out = Path(out_dir)
    return out.parent / f"{out.name}.infeasible"


def write(expl: Explanation, folder: str | Path) -> Path:
    """Write ``infeasibility.csv``, ``explanation.txt`` and ``infeasibility.json`` atomically
    into ``folder`` (a diagnosis, not a run: there is no allocation and no manifest)."""
    from ruimteverdeling.results.writer import AtomicOutputDir, write_json

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
        err = InfeasibleError(str(cause) if cause is not None else
                              "the hard targets and rules cannot all hold",
                              [f"no explanation could be computed: {exc!r}"])
        err.explanation = None  # type: ignore[attr-defined]
        err.diagnosis = None  # type: ignore[attr-defined]
        return err
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
    err = InfeasibleError(expl.headline(), details)
    err.explanation = expl  # type: ignore[attr-defined]
    err.diagnosis = folder  # type: ignore[attr-defined]
    return err


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
