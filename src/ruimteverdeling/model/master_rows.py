"""Derived rows for a model solved by column generation, and the LP bound they give.

The cell path strengthens its LP by adding the derived rows of
:mod:`ruimteverdeling.model.strengthen` that the LP vertex violates and re-solving the LP from
its basis. A model solved by column generation has no LP of its own to add rows to; this
module does the same over the whole model:

1. the candidates are derived from the coupling blocks of at most
   :data:`MAX_BLOCK_ROWS` rows (targets, shares, quotas; the blocks of pair rows — a setback
   between two cells, tens of thousands of two-entry rows — derive nothing that a vertex of
   the semi-assignment LP violates, and cost most of the time);
2. those that column generation's point ``x`` violates are added to the model: every one is
   satisfied by every integer allocation (each derivation is a proof, see
   :mod:`ruimteverdeling.model.strengthen`), so the model ``spec + D`` has the same integer
   allocations and a smaller LP relaxation;
3. column generation runs again over ``spec + D``, from the last prices with a price of 0 on
   each new row. Its bound is the Lagrangian bound of ``spec + D``,

       L_D(y, w) = Σ_k max_{j∈k} (c − Aᵀy − Dᵀw)_j + Σ_aux … + Σ_r h_r(y_r) + Σ_i w_i d_i,

   with every column of every unit priced — a bound on every allocation of ``spec + D``,
   hence on every integer allocation of ``spec``, for *any* prices, whether or not the
   rounds converged (:mod:`ruimteverdeling.model.decompose`). Its reduced costs satisfy
   ``c·x ≤ L_D + Σ_j col_dual_j x_j`` for every integer allocation, as reduced-cost fixing
   needs, and its duals price the derived rows too in the whole-cell knapsack bound.

Measured on the 200 k-cell area (250 m, seed 1, ``benchmarks/peers.yaml``): the ten violated
rows are mixed-integer roundings of the deep-polder water-storage shares (a share of a polder
of a few cells becomes whole cells, or a shortfall charged at its true price); one round of
pricing proves the strengthened LP, 575,927.2 → 575,923.7, and the whole-cell knapsack bound
under its duals falls from 575,921.0 to 575,917.6.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ruimteverdeling.model import decompose
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import ModelSpec

MAX_BLOCK_ROWS = 1_000
"""Coupling blocks with more rows than this derive no candidates (pair rows: see above)."""
MAX_ROW_NNZ = 2_000_000
"""Rows with more entries derive no candidates (a derived row is as dense as its source)."""
ROUNDS = 2
"""Rounds of adding violated rows and pricing again."""
BLOCK = "strengthen"
"""Name of the block of derived rows."""


def strengthened(spec: ModelSpec, x: np.ndarray, y: np.ndarray, options: SolverOptions,
                 backend: Any, say: Any, deadline: float
                 ) -> tuple[ModelSpec, dict[str, Any] | None, dict[str, Any]]:
    """``spec`` with the derived rows that ``x`` (column generation's point) violates, and
    column generation's result over it (started from the coupling prices ``y``), a few rounds;
    ``(spec, None, info)`` when no candidate is violated or no round finished. The result's
    ``bound`` is a bound on every integer allocation of ``spec`` (see the module docstring);
    its ``row_dual`` holds the assignment duals, then the coupling duals of ``spec``'s rows
    and of the derived rows, in the returned model's row order."""
    t0 = time.perf_counter()
    small = replace(spec, coupling=[b for b in spec.coupling if b.n_rows <= MAX_BLOCK_ROWS])
    cands = st.candidates(small, MAX_ROW_NNZ)
    info: dict[str, Any] = {"candidates": cands.n_rows,
                            "generate_seconds": round(time.perf_counter() - t0, 3),
                            "rounds": []}
    work, out = spec, None
    prices = np.asarray(y, float)
    added: list[Any] = []
    for _ in range(ROUNDS):
        if time.perf_counter() > deadline - 1.0:
            break
        viol = cands.violated(x[: spec.n_cols])
        if not viol.size:
            break
        block = cands.block(viol)
        cands = cands.take(viol)
        added.append(block)
        trial = spec.with_rows(st.stack_rows(added, BLOCK))
        prices = np.concatenate([prices, np.zeros(viol.size)])
        t1 = time.perf_counter()
        res = decompose.lp(trial, options, backend, lambda msg: None, deadline,
                           y_init=prices, final_deadline=deadline)
        info["rounds"].append({"rows": int(viol.size), "bound": float(res["bound"]),
                               "converged": bool(res["converged"]),
                               "seconds": round(time.perf_counter() - t1, 3)})
        if not np.isfinite(res["bound"]):
            break
        work, out = trial, res
        prices = np.asarray(res["y"], float)
        x = res["x"]
    info["seconds"] = round(time.perf_counter() - t0, 3)
    if out is not None:
        say(f"strengthened: {work.n_rows - spec.n_rows} derived rows, Lagrangian bound "
            f"{out['bound']:,.4f} ({time.perf_counter() - t0:.1f} s)")
    return work, out, info
