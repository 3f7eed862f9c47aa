"""A rule's rows of ``rules.csv``: hectares it closes, whether it binds, the value it adds.

``binds`` says whether the rule constrains the optimum, in the LP sense, using the duals of
the LP relaxation; each shape has its own test, so a family reports with the function of the
shape it compiles to:

:func:`zone_rows` (closed pairs)
    one row per closed use × region with the hectares closed (gross: as if it were the only
    rule). The rule binds when some pair it closes has a positive reduced cost at the LP
    prices, ``c(c,u) − Σ_rows y·a(c,u) − π_c > 0`` — the relaxation would have used it if
    allowed (``π_c`` is the cell's assignment dual; for a pinned cell, the price of its pinned
    use); pairwise conflict rows are not part of that price. A softened rule binds
    ``softened`` and gives the value of its ``override:<id>`` term.
:func:`term_rows` (objective terms)
    one row with the value the rule's part adds to its term; ``binds`` is ``n/a``.
:func:`block_rows` (rows)
    one row per row block: the rule binds when one of its rows has a non-zero dual; the value
    is the largest row activity.

Without LP duals (Pyomo backend, ``method: mip``) ``binds`` is ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ruimteverdeling.model.solve import Solution
from ruimteverdeling.rules.base import ClosedPairs, Contribution
from ruimteverdeling.scenario.schema import RuleBase

if TYPE_CHECKING:
    from ruimteverdeling.rules.compile import CompiledModel


@dataclass
class RuleRun:
    """A solved compiled model, as a rule family's report sees it."""

    cm: CompiledModel
    sol: Solution
    prices: np.ndarray | None  # π per land cell (None without LP duals)
    after: np.ndarray  # catalogue index of every land cell's use after the solve
    tol: float  # reduced costs above this bind (scaled by the cell area)

    @classmethod
    def of(cls, cm: CompiledModel, sol: Solution) -> RuleRun:
        return cls(cm, sol, cell_prices(cm, sol), cm.land_use_after(sol.x),
                   1e-6 * max(1.0, cm.area.cell_area_ha))

    def contribution(self, rule: RuleBase) -> Contribution:
        """What the (enabled) rule compiled to."""
        return self.cm.contributions[rule.id]

    def report(self, rule: RuleBase) -> dict[str, Any]:
        """The rule's compile report (zone rules: ``zone_ha``, ``removed_ha`` ...)."""
        return next((r for r in self.cm.rule_reports if r["rule"] == rule.id), {})

    def term_value(self, name: str) -> float:
        return self.cm.term_values(self.sol.x).get(name, 0.0)


def zone_rows(rule: RuleBase, run: RuleRun) -> list[dict[str, Any]]:
    """Rows of a rule that closes pairs (see the module docstring)."""
    rep = run.report(rule)
    head: dict[str, Any] = {}
    if rep.get("softened"):
        head = {"binds": "softened", "value": run.term_value(f"override:{rule.id}")}
    closed = run.contribution(rule).closed
    pricing = None if rep.get("softened") or closed is None else \
        zone_pricing(run, closed)
    removed = rep.get("removed_ha", {}) or rep.get("would_remove_ha", {})
    rows = []
    if not removed:
        rows.append({**head, "binds": head.get("binds") or "no"})
    for uid, regions in removed.items():
        rc = None if pricing is None else pricing.get(uid)
        binds = head.get("binds") or ("unknown" if pricing is None else
                                      "yes" if rc is not None and rc > run.tol else "no")
        for region, ha in regions.items():
            rows.append({**head, "use": uid, "region": region, "ha_removed": ha,
                         "binds": binds, "max_reduced_cost": "" if rc is None else rc})
    return rows


def term_rows(rule: RuleBase, run: RuleRun) -> list[dict[str, Any]]:
    """The row of a rule that adds to an objective term: the value of its part."""
    terms = run.contribution(rule).terms
    land = np.arange(run.after.size)
    value = float(sum(float(t.fn(land, run.after).sum()) for t in terms)) if terms else 0.0
    return [{"binds": "n/a", "value": value}]


def block_rows(rule: RuleBase, run: RuleRun) -> list[dict[str, Any]]:
    """The rows of a rule that adds row blocks: whether a row binds, the largest activity."""
    offsets = run.cm.spec.row_offsets()
    rows = []
    for block in run.contribution(rule).blocks or [f"rule:{rule.id}"]:
        if block not in offsets:
            rows.append({"binds": "no"})
            continue
        s, e = offsets[block]
        dual = run.sol.row_dual
        if dual is None or e == s:
            binds = "unknown" if e > s else "no"
        else:
            binds = "yes" if np.abs(dual[s:e]).max() > 1e-9 else "no"
        act = run.cm.spec.block(block).A @ run.sol.x
        rows.append({"binds": binds, "value": float(act.max()) if act.size else 0.0})
    return rows


def cell_prices(cm: CompiledModel, sol: Solution) -> np.ndarray | None:
    """π per land cell: assignment dual for units, own-use price for pinned cells."""
    if sol.row_dual is None or sol.row_dual.size != cm.spec.n_rows:
        return None
    offsets = cm.spec.row_offsets()
    s, e = offsets["assign"]
    pi = np.full(cm.ctx.land_cells.size, np.nan)
    pi[cm.unit_land] = sol.row_dual[s:e]
    if cm.pinned_land.size:
        pl, pu = cm.pinned_land, cm.pinned_use_idx
        pi[pl] = cm.pair_objective(pl, pu) - cm.pair_row_price(pl, pu, sol.row_dual)
    return pi


def zone_pricing(run: RuleRun, closed: ClosedPairs) -> dict[str, float] | None:
    """Largest reduced cost of the pairs a zone rule closes, per closed use."""
    if run.prices is None:
        return None
    cm, ctx = run.cm, run.cm.ctx
    land = np.flatnonzero(closed.zone & ctx.domain)
    out = {}
    for uid in closed.uses:
        u = ctx.use_index(uid)
        li = land
        if closed.applies_to == "new":
            li = li[ctx.land_use_idx[li] != u]
        if li.size == 0:
            continue
        ui = np.full(li.size, u)
        rc = cm.pair_objective(li, ui) - cm.pair_row_price(li, ui, run.sol.row_dual) \
            - run.prices[li]
        out[uid] = float(np.nanmax(rc)) if rc.size else float("-inf")
    return out
