"""Shadow prices in planner language: what one more unit of every target or rule row costs.

The mathematics
---------------
The engine maximises ``z = c·x`` subject to ``lower ≤ A x ≤ upper``. For a linear program the
dual value ``y_i`` of row ``i`` is the derivative of the optimal value with respect to the
row's binding right-hand side ``b_i`` (its ``min`` or its ``max``):

    y_i = ∂z*/∂b_i        (valid while the optimal basis stays optimal)

so raising the minimum of a binding target by one unit changes the objective by ``y_i`` (≤ 0
for a ``min`` row of a maximisation: it costs), and raising a binding maximum by one unit
changes it by ``y_i`` (≥ 0: it gains). A row whose bound does not bind has ``y_i = 0``. HiGHS
reports row duals of a maximisation with exactly this sign, so ``dual`` in
``shadow_prices.csv`` *is* ``∂z*/∂b`` in objective points per unit of the row (hectares, homes,
TWh/yr; hectares for a share target, whose row counts hectares against share × region area).

Which LP (and why it is an approximation)
-----------------------------------------
The allocation is integral; an integer program has no duals. Two LPs give useful ones:

``lp`` (default)
    The LP relaxation of the whole model — the LP the ``auto`` solve starts from. Its duals
    are exact for the relaxation; for the integer allocation they are an approximation (exact
    when the relaxation's optimum is integral, which is the common case for this
    semi-assignment model: ``method`` = ``lp-integral`` in ``manifest.json``).
``fixed``
    The LP with every unit (cell) fixed at its integer allocation except a neighbourhood of
    near-ties — the units whose best alternative has the smallest reduced cost at the
    relaxation's prices (at least ``neighbourhood`` units). This prices the rows *around the
    allocation found*, the usual "LP with the integer decisions fixed" of MIP sensitivity
    analysis; it is an approximation too (it only lets the neighbourhood move).

``shadow_prices.csv`` says which one it reports (column ``source``).

Where the hectare comes from
----------------------------
For binding rows of small models the LP is re-solved (warm-started) with the binding bound
moved by a small step ``h`` (1 % of one cell's contribution to the row). ``(z(b+h) − z*)/h``
is reported as ``dual_fd`` (a finite-difference check of ``dual``) and ``(x(b+h) − x*)/h``,
summed per use, gives the hectares per unit of the row that move between uses — "mostly taken
from agriculture". These moves are those of the LP, at the margin.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import highspy
import numpy as np

from ruimteverdeling.model import highs_backend as hb
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.model.spec import ModelSpec
from ruimteverdeling.results.summary import write_csv
from ruimteverdeling.rules.compile import CompiledModel

COLUMNS = ["row", "block", "kind", "ref", "region", "unit", "bound", "required", "achieved",
           "dual", "dual_fd", "binding", "moves", "source", "sentence"]
"""Columns of ``shadow_prices.csv``. ``row`` is the row index in the stacked model (assignment
rows first); ``ref`` the target or rule id; ``bound`` which side binds (``min``/``max``/``=``,
empty when none); ``required``/``achieved`` in row units including fixed cells; ``dual`` =
∂z*/∂b; ``dual_fd`` its finite-difference check; ``moves`` hectares per use per unit of the
row."""

@dataclass(frozen=True)
class Pricing:
    """How a run's ``shadow_prices.csv`` is priced: ``method`` ``lp`` (the LP relaxation) or
    ``fixed`` (the LP with the integer allocation fixed except a neighbourhood of near-ties);
    ``moves`` re-solves for the hectares that move per unit of each row: True always, None
    only for models up to :data:`MOVES_MAX_COLS` columns."""

    method: Literal["lp", "fixed"] = "lp"
    moves: bool | None = None


MOVES_MAX_COLS = 200_000
"""Models with more columns get no LP re-solves in the default solve (``moves`` stays empty)."""
BIG_BLOCK = 200
"""Blocks with more rows (pairwise conflict rows) list only their binding rows."""


@dataclass
class LpPrices:
    """Duals of one LP, on the rows of the *original* model's coupling blocks."""

    source: str  # "lp" | "fixed"
    spec: ModelSpec  # the LP's model (the original, or the sub-model of the neighbourhood)
    x: np.ndarray
    objective: float
    coupling_dual: np.ndarray  # one per coupling row, block order
    highs: highspy.Highs | None = None  # the solved LP (for warm re-solves)
    fixed_activity: np.ndarray | None = None  # per coupling row: the fixed units' part


def lp_prices(cm: CompiledModel, sol: Solution, method: str = "lp",
              options: SolverOptions | None = None, neighbourhood: int = 500,
              keep_highs: bool = True) -> LpPrices:
    """Solve the LP that prices the rows (see the module docstring) with HiGHS.

    ``method="lp"``: the relaxation of the whole model. ``method="fixed"``: the LP with every
    unit fixed at ``sol.x`` except ``neighbourhood`` units of near-ties (at least the units the
    relaxation leaves fractional). Raises ValueError for another method.
    """
    options = options or cm.scenario.solver
    spec = cm.spec
    fixed_act = None
    if method == "lp":
        sub = spec
    elif method == "fixed":
        free = _near_ties(cm, sol, options, neighbourhood)
        sub, cols = spec.restrict(free, sol.x)
        fixed = sol.x.copy()
        fixed[cols] = 0.0
        fixed_act = np.concatenate([b.A @ fixed for b in spec.coupling]) if spec.coupling \
            else np.zeros(0)
    else:
        raise ValueError(f"unknown pricing method {method!r} (lp or fixed)")
    opts = hb.lp_options(sub, "simplex", options.threads, options.time_limit, options.seed)
    h = hb.build(sub, integral=False, options=opts)
    r = hb.run(h, integral=False, want_duals=True)
    if r.x is None or r.row_dual is None or r.objective is None:
        raise RuntimeError(f"the pricing LP did not solve ({r.status})")
    dual = r.row_dual[sub.n_units:]
    return LpPrices(method, sub, r.x, float(r.objective), dual, h if keep_highs else None,
                    fixed_act)


def _near_ties(cm: CompiledModel, sol: Solution, options: SolverOptions, n_free: int
               ) -> np.ndarray:
    """Units to leave free: those whose best other column has the smallest reduced cost at the
    relaxation's prices (``d_j = c_j − a_jᵀ y``; ``π_k`` the unit's assignment dual)."""
    spec = cm.spec
    if sol.row_dual is not None and sol.row_dual.size == spec.n_rows:
        y = sol.row_dual
    else:
        opts = hb.lp_options(spec, "simplex", options.threads, options.time_limit, options.seed)
        r = hb.run(hb.build(spec, integral=False, options=opts), integral=False,
                   want_duals=True)
        if r.row_dual is None:
            raise RuntimeError(f"the LP relaxation did not solve ({r.status})")
        y = r.row_dual
    A, _, _ = spec.matrix()
    d = spec.obj - A.T @ y  # reduced costs (≤ 0 at the optimum of a maximisation)
    d_x = d[: spec.n_x]
    chosen = np.zeros(spec.n_x, bool)
    chosen[spec.unit_choice(sol.x)] = True
    # the regret of a unit: how far its best non-chosen column is from pricing in
    other = np.where(chosen, -np.inf, d_x)
    best_other = np.full(spec.n_units, -np.inf)
    np.maximum.at(best_other, spec.col_unit, other)
    own = np.zeros(spec.n_units)
    own[spec.col_unit[chosen]] = d_x[chosen]
    regret = own - best_other  # ≥ 0 when the chosen column is the better one
    n = min(spec.n_units, max(n_free, 1))
    order = np.argsort(regret, kind="stable")[:n]
    free = np.zeros(spec.n_units, bool)
    free[order] = True
    return free


def _row_meta(cm: CompiledModel) -> list[tuple[Any, int, list[str], str, str, np.ndarray]]:
    """Per coupling block: (block, first coupling row, labels, unit, noun, constant)."""
    out = []
    r0 = 0
    for b in cm.spec.coupling:
        labels = list(b.labels) if b.labels is not None else \
            [f"{b.ref or b.name} #{i}" for i in range(b.n_rows)]
        info = cm.blocks.get(b.name)
        const = info.constant if info is not None else np.zeros(b.n_rows)
        unit, noun = _unit_of(b)
        out.append((b, r0, labels, unit, noun, np.asarray(const, float)))
        r0 += b.n_rows
    return out


def _unit_of(b: Any) -> tuple[str, str]:
    meta = b.meta or {}
    if b.kind == "target":
        q = meta.get("quantity", "area")
        if q == "homes":
            return "homes", "home"
        if q == "energy":
            return "TWh/yr", "TWh/yr"
        if q == "share":
            return "ha", "hectare (towards the share)"
        return "ha", "hectare"
    if b.name.startswith("rule:") and "area_ha" in meta:  # fairness rows
        return "ha of burden", "hectare of burden"
    if meta.get("unit") == "homes":
        return "homes", "home"
    if b.name.startswith("conflict") or b.labels is None:
        return "cells", "cell"
    return "ha", "hectare"


def shadow_price_rows(cm: CompiledModel, sol: Solution, *, method: str = "lp",
                      moves: bool | None = None, options: SolverOptions | None = None,
                      neighbourhood: int = 500, max_moves: int = 200,
                      prices: LpPrices | None = None) -> list[dict[str, Any]]:
    """One row per coupling row of the model (blocks of more than ``BIG_BLOCK`` rows: only
    their binding rows): its dual ``∂z*/∂b``, whether it binds, and a sentence.

    ``method``: ``"lp"`` (relaxation; uses ``sol.row_dual`` when present and ``moves`` is
    off) or ``"fixed"`` (integer decisions fixed outside a neighbourhood). ``moves`` (default:
    on for models of at most ``MOVES_MAX_COLS`` columns) re-solves the LP with each binding
    bound moved by a small step, for ``dual_fd`` and the hectares that move (at most
    ``max_moves`` rows).
    """
    spec = cm.spec
    if moves is None:
        moves = spec.n_cols <= MOVES_MAX_COLS
    if prices is None:
        have = sol.row_dual is not None and sol.row_dual.size == spec.n_rows
        if method == "lp" and have and not moves:
            prices = LpPrices("lp", spec, sol.x, sol.objective, sol.row_dual[spec.n_units:])
        else:
            prices = lp_prices(cm, sol, method, options, neighbourhood, keep_highs=moves)
    dual = prices.coupling_dual
    x_lp = prices.x
    sub = prices.spec
    act = np.concatenate([b.A @ x_lp for b in sub.coupling]) if sub.coupling else np.zeros(0)
    lows = np.concatenate([b.lower for b in sub.coupling]) if sub.coupling else np.zeros(0)
    ups = np.concatenate([b.upper for b in sub.coupling]) if sub.coupling else np.zeros(0)
    shift = prices.fixed_activity if prices.fixed_activity is not None else np.zeros_like(act)
    scale = max(1.0, float(np.abs(spec.obj).max(initial=0.0)))
    tol = 1e-9 * scale
    rows: list[dict[str, Any]] = []
    n_moved = 0
    A_c = None
    for b, r0, labels, unit, noun, const in _row_meta(cm):
        big = b.n_rows > BIG_BLOCK
        for i in range(b.n_rows):
            k = r0 + i
            y = float(dual[k]) if k < dual.size else 0.0
            binding = abs(y) > tol
            if big and not binding:
                continue
            lo, up = lows[k], ups[k]
            a = act[k]
            side = ""
            if binding:
                side = "=" if np.isfinite(lo) and np.isfinite(up) and abs(lo - up) <= 1e-9 * \
                    max(1.0, abs(lo)) else ("min" if y < 0 else "max")
            c = float(const[i]) + float(shift[k])
            required = lo if side in ("min", "=") else up if side == "max" else \
                (lo if np.isfinite(lo) else up)
            row: dict[str, Any] = {
                "row": spec.n_units + k, "block": b.name, "kind": b.kind,
                "ref": b.ref or b.name, "region": labels[i], "unit": unit, "bound": side,
                "required": float(required + c) if np.isfinite(required) else None,
                "achieved": float(a + c), "dual": y, "dual_fd": None,
                "binding": "yes" if binding else "no", "moves": "", "source": prices.source,
            }
            moved: dict[str, float] = {}
            if binding and moves and prices.highs is not None and n_moved < max_moves:
                n_moved += 1
                if A_c is None:
                    A_c = sub.coupling_matrix()[0]
                fd, moved = _finite_difference(cm, prices, k, side, float(lo), float(up),
                                               _row_step(A_c, k))
                row["dual_fd"] = fd
                row["moves"] = _moves_text(moved, unit)
            hard = (b.meta or {}).get("hard", True)
            penalty = None
            if b.kind == "target" and not hard:
                t = next((t for t in cm.targets if t.id == b.ref), None)
                penalty = getattr(t, "penalty", None)
            row["sentence"] = _sentence(cm, b, labels[i], noun, side, y, row, moved, penalty)
            rows.append(row)
    return rows


def _finite_difference(cm: CompiledModel, prices: LpPrices, k: int, side: str,
                       lo0: float, up0: float, step: float
                       ) -> tuple[float | None, dict[str, float]]:
    """Re-solve the pricing LP with the binding bound of coupling row ``k`` raised by
    ``step``; return ``Δz/step`` and the hectares per use that move per unit."""
    h = prices.highs
    assert h is not None
    sub = prices.spec
    row = sub.n_units + k
    lo = lo0 + step if side in ("min", "=") else lo0
    up = up0 + step if side in ("max", "=") else up0
    h.changeRowBounds(row, lo, up)
    hb.run_highs(h)
    out: tuple[float | None, dict[str, float]] = (None, {})
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        x1 = np.asarray(h.getSolution().col_value)
        z1 = float(h.getInfo().objective_function_value)
        dx = (x1[: sub.n_x] - prices.x[: sub.n_x]) / step
        uses = cm.ctx.alloc_ids
        per_use = np.bincount(sub.col_use, weights=dx, minlength=len(uses)) \
            * cm.area.cell_area_ha
        moved = {uses[j]: float(v) for j, v in enumerate(per_use) if abs(v) > 1e-6}
        out = ((z1 - prices.objective) / step, moved)
    h.changeRowBounds(row, lo0, up0)
    hb.run_highs(h)
    return out


def _row_step(A: Any, k: int) -> float:
    """1 % of the typical contribution of one cell to coupling row ``k`` (small enough for
    the LP to stay in its optimal basis, large enough to be above the solver tolerances)."""
    vals = np.abs(A.data[A.indptr[k]:A.indptr[k + 1]])
    vals = vals[vals > 0]
    return 0.01 * (float(np.median(vals)) if vals.size else 1.0)


def _moves_text(moved: dict[str, float], unit: str) -> str:
    if not moved:
        return ""
    items = sorted(moved.items(), key=lambda kv: -abs(kv[1]))
    return "; ".join(f"{u} {v:+.3g} ha" for u, v in items)


def _where(region: str) -> str:
    return "nationally" if region in ("national", "all") else f"in {region}"


def _sentence(cm: CompiledModel, b: Any, region: str, noun: str, side: str, y: float,
              row: dict[str, Any], moved: dict[str, float], penalty: float | None) -> str:
    where = _where(region)
    ref = b.ref or b.name
    if b.kind == "target":
        t = next((t for t in cm.targets if t.id == ref), None)
        what = f"{getattr(t, 'use', ref)}"
        subject = f"target {ref}"
        if side in ("min", "="):
            s = (f"One more {noun} of {what} {where} ({subject}) costs {-y:,.4g} objective "
                 f"points")
        elif side == "max":
            s = (f"Allowing one more {noun} of {what} {where} above the maximum of {subject} "
                 f"would gain {y:,.4g} objective points")
        else:
            req = row.get("required")
            s = (f"{subject[0].upper()}{subject[1:]} {where} does not bind: one more {noun} of "
                 f"{what} costs nothing at the margin (achieved {row['achieved']:,.4g}"
                 + (f", required {req:,.4g}" if req is not None else "") + ")")
    elif "area_ha" in (b.meta or {}):  # fairness: Σ burden − area·z ≤ 0 (or ≤ cap · area)
        if side:
            s = (f"Letting {region} carry one more {noun} (rule {ref}) would gain {y:,.4g} "
                 f"objective points")
        else:
            s = f"Rule {ref} does not bind {where}: its burden limit costs nothing at the margin"
    else:
        if side in ("min", "="):
            s = f"Tightening rule {ref} ({region}) by one {noun} costs {-y:,.4g} objective points"
        elif side == "max":
            s = f"Relaxing rule {ref} ({region}) by one {noun} would gain {y:,.4g} objective points"
        else:
            s = f"Rule {ref} ({region}) does not bind: it costs nothing at the margin"
    if moved:
        losers = sorted(((u, v) for u, v in moved.items() if v < 0), key=lambda kv: kv[1])
        gainers = sorted(((u, v) for u, v in moved.items() if v > 0), key=lambda kv: -kv[1])
        unit_word = noun.split(" (")[0]
        parts = []
        if losers:
            parts.append("taken mostly from " + ", ".join(f"{u} ({v:+.3g} ha)"
                                                         for u, v in losers[:3]))
        if gainers:
            parts.append("going to " + ", ".join(f"{u} ({v:+.3g} ha)" for u, v in gainers[:3]))
        if parts:
            s += f"; per {unit_word} the land is " + " and ".join(parts)
    if penalty is not None and side:
        s += f" (soft target: never more than its penalty of {penalty:g} per unit)"
    return s + "."


def write_shadow_prices(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as ``shadow_prices.csv`` (see :data:`COLUMNS`)."""
    write_csv(path, rows, COLUMNS)
    return path


class ShadowPriceWarning(UserWarning):
    """The shadow prices of a run could not be computed; the run's other outputs are
    complete."""


def write_run_prices(cm: CompiledModel, sol: Solution, folder: Path,
                     pricing: Pricing | None = None, neighbourhood: int = 500
                     ) -> list[dict[str, Any]]:
    """Write ``shadow_prices.csv`` into a run folder, priced as ``pricing`` says (default: the
    LP relaxation); never fails the run (a problem becomes a :class:`ShadowPriceWarning` and
    an empty table)."""
    pricing = pricing or Pricing()
    rows: list[dict[str, Any]] = []
    try:
        rows = shadow_price_rows(cm, sol, method=pricing.method, neighbourhood=neighbourhood,
                                 moves=pricing.moves)
    except Exception as exc:  # the solve is done; keep its outputs, say what failed
        warnings.warn(f"shadow prices could not be computed: {exc!r}", ShadowPriceWarning,
                      stacklevel=2)
    write_shadow_prices(folder / "shadow_prices.csv", rows)
    return rows


PATHWAY_COLUMNS = ["period", *COLUMNS]
"""Columns of a multi-period run's ``shadow_prices.csv``: the period first."""


def pathway_price_rows(pw: Any, sol: Solution) -> list[dict[str, Any]]:
    """The shadow prices of a multi-period run, per period, from the joint model's LP duals.

    Row ``i`` of period ``p`` is the row ``i@p`` of the joint model (a period's targets and
    rules, :mod:`ruimteverdeling.model.periods`), so its dual is ``∂z*/∂b_{i,p}``: what one
    more unit of that row *in that period* changes the joint optimum — "one more hectare of
    nature by 2030 costs …, by 2050 costs …". The joint objective sums each period's value
    times its length in years, so the duals are in objective points × years (the pathway's
    ``weights``). The duals are those of the solve's LP relaxation (over every trajectory:
    with column generation all of them price out at these duals when it converged);
    ``achieved`` is the integer allocation's row activity in that period. Empty when the
    solution carries no duals (myopic planning only)."""
    spec = pw.spec
    if sol.row_dual is None or sol.row_dual.size != spec.n_rows:
        return []
    y = sol.row_dual[spec.n_units:]
    rows: list[dict[str, Any]] = []
    r0 = 0
    for p, (cm, year) in enumerate(zip(pw.compiled, pw.years, strict=True)):
        m = sum(b.n_rows for b in cm.spec.coupling)
        psol = pw.period_solution(sol, p)
        prices = LpPrices("lp", cm.spec, psol.x, psol.objective, y[r0:r0 + m])
        for row in shadow_price_rows(cm, psol, prices=prices, moves=False):
            row["row"] = spec.n_units + r0 + (row["row"] - cm.spec.n_units)
            row["block"] = f"{row['block']}@{year}"
            s = row["sentence"]
            row["sentence"] = f"By {year}: {s[:1].lower()}{s[1:]}"
            rows.append({"period": year, **row})
        r0 += m
    return rows
