"""HiGHS's own branch and bound on a whole compiled case, its incumbent and bound over time.

    python benchmarks/highs_trace.py --cases demo --seconds 1500   # into results/highs-trace/
    python benchmarks/highs_trace.py --cases demo --model strengthened --seconds 1500

Where does a case's open decision gap lie — in the engine's bound or in its incumbent? This
runs the engine's solve (for its incumbent and bound), then HiGHS's MIP on the model for a
long time on one thread, started from the engine's allocation, and records every change of
HiGHS's incumbent and dual bound (seconds, primal, dual) beside the engine's figures:

* an incumbent above the engine's says the incumbent side is open (the allocation is saved
  for comparison, ``--out``);
* a dual bound below the engine's says a stronger relaxation exists.

``--model plain`` is the compiled model (what ``--method mip`` hands HiGHS);
``--model strengthened`` adds the derived rows the engine's LP step keeps (valid for every
integer allocation). ``--objective-column`` moves the objective onto one continuous column
``z = c·x`` bounded by ``[incumbent, engine's bound]`` (minus the constant). HiGHS's MIP
setup works through the objective's binaries; on the demo (307 k binaries) it did not reach
the root LP in 22 minutes, while with one objective column the root LP starts after 94 s
(presolve included; one thread, loaded) — and had not finished after 27 minutes. The bounds
keep presolve from substituting ``z`` back, and restrict the search to allocations at least as
good as the engine's, which is what the question needs. It is no general remedy: at 10 k
cells the root LP with the dense objective row took 73 s against 20 s, and HiGHS found no
incumbent in 150 s.

Per case, in ``OUT/CASE/`` (``OUT``: ``--out``, by default ``benchmarks/results/highs-trace``,
which git ignores): HiGHS's log ``highs.log``, the trace ``trace.jsonl`` as it grows (a killed
run keeps what it saw), the engine's allocation ``engine.npy`` and HiGHS's best ``best.npy``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=["demo"])
    ap.add_argument("--seconds", type=float, default=1500.0)
    ap.add_argument("--model", choices=["plain", "strengthened"], default="plain")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--objective-column", action="store_true",
                    help="the objective through one bounded continuous column (see above)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "highs-trace")
    args = ap.parse_args(argv)
    for case in args.cases:
        trace(case, args.seconds, args.model, args.threads, args.out / case,
              args.objective_column)
    return 0


def trace(case: str, seconds: float, which: str, threads: int, out: Path,
          objective_column: bool = False) -> None:
    import numpy as np

    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.model.outcomes import decision_gap
    from ruimteverdeling.model.solve import solve
    from small import compile_case

    out.mkdir(parents=True, exist_ok=True)
    cm = compile_case(case, 300.0)
    spec, options = cm.spec, cm.scenario.solver
    t0 = time.perf_counter()
    sol = solve(spec, options)
    engine = {"case": case, "engine_seconds": round(time.perf_counter() - t0, 2),
              "engine_objective": sol.objective, "engine_bound": sol.bound,
              "status_quo": spec.status_quo_value, "decision_gap": sol.decision_gap,
              "n_cols": spec.n_cols, "n_rows": spec.n_rows, "model": which}
    model = spec
    if which == "strengthened":
        model = strengthened(spec, options)
        engine["n_rows_strengthened"] = model.n_rows
    np.save(out / "engine.npy", sol.x)
    log = open(out / "trace.jsonl", "w")  # noqa: SIM115 (written from HiGHS's callbacks)

    def write(row: dict) -> None:
        log.write(json.dumps(row) + "\n")
        log.flush()
        print(json.dumps(row), flush=True)

    write(engine)
    h = hb.build(model, integral=True, options={
        "threads": threads, "time_limit": float(seconds), "mip_rel_gap": 0.0,
        "mip_abs_gap": 1e-6, "random_seed": options.seed})
    h.setOptionValue("output_flag", True)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("log_file", str(out / "highs.log"))
    x0 = np.zeros(model.n_cols)
    x0[: spec.n_cols] = sol.x
    if model is not spec:
        x0 = refit(model, sol.x)
    if objective_column:
        x0 = np.append(x0, objective_as_column(h, model, sol.objective, sol.bound))
    hb.set_start(h, x0)
    sq = spec.status_quo_value
    last = {"primal": None, "dual": None}
    start = time.perf_counter()

    def seen(event: Any) -> None:
        d = event.data_out
        p, b = float(d.mip_primal_bound), float(d.mip_dual_bound)
        if (p, b) == (last["primal"], last["dual"]):
            return
        last["primal"], last["dual"] = p, b
        row = {"t": round(time.perf_counter() - start, 1), "primal": p, "dual": b,
               "nodes": int(d.mip_node_count)}
        if np.isfinite(p) and np.isfinite(b):
            row["decision_gap"] = decision_gap(p, max(b, p), sq)
        write(row)

    def improved(event: Any) -> None:
        seen(event)
        x = np.asarray(event.data_out.mip_solution, float)[: spec.n_cols]
        np.save(out / "best.npy", x)

    h.cbMipInterrupt += seen
    h.cbMipImprovingSolution += improved
    h.run()
    info = h.getInfo()
    write({"t": round(time.perf_counter() - start, 1), "end": str(h.getModelStatus()),
           "primal": float(info.objective_function_value),
           "dual": float(info.mip_dual_bound), "nodes": int(info.mip_node_count)})
    log.close()


def objective_as_column(h: Any, model: Any, low: float, high: float) -> float:
    """Move the objective ``c·x`` of the Highs model ``h`` onto one new continuous column
    ``z = c·x`` (an equality row), bounded by ``[low, high] − offset`` (``low``: an incumbent's
    value, ``high``: a proven bound), and return ``z`` at the start. The bounds keep HiGHS's
    presolve from substituting ``z`` back (it is not implied free), and its MIP setup then
    sees an objective over one continuous column instead of every binary."""
    import numpy as np

    c, off = model.objective()
    n = model.n_cols
    h.addCol(1.0, float(low - off), float(high - off), 0, np.array([], np.int32),
             np.array([], float))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
    nz = np.flatnonzero(c)
    idx = np.append(nz, n).astype(np.int32)
    h.addRow(0.0, 0.0, idx.size, idx, np.append(-c[nz], 1.0))
    return float(low - off)


def strengthened(spec: Any, options: Any) -> Any:
    """``spec`` with the derived rows the engine's LP step adds (valid for every integer
    allocation), as a model of its own."""
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.solve import _session, _strengthen

    session = _session(HighsBackend(), spec, options)
    lp = session.lp(time_limit=300.0)
    *_, (model, _) = _strengthen(spec, session, options, lp,
                                  time.perf_counter() + 300.0, lambda m: None)
    return model


def refit(model: Any, x: Any) -> Any:
    """The engine's allocation with the strengthened model's auxiliary columns re-optimised."""
    import numpy as np

    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.solve import _polish

    y = np.zeros(model.n_cols)
    y[: x.size] = x
    return _polish(model, HighsBackend(), model_options(), y, force=True)


def model_options() -> Any:
    """The solver's default options, for the refit's polish."""
    from ruimteverdeling.model.options import SolverOptions

    return SolverOptions()


if __name__ == "__main__":
    raise SystemExit(main())
