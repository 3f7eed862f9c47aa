"""The root LP relaxation under HiGHS's options, and the fixed cost of one warm re-solve.

    python benchmarks/root_lp.py                                  # demo, every variant, 3 rounds
    python benchmarks/root_lp.py --cases 3k 10k demo --rounds 5
    python benchmarks/root_lp.py --variants session scale-off --rounds 5

Each case compiles ``scenarios/base.yaml`` on its area as ``benchmarks/small.py`` does and
solves the LP relaxation as the solve's first LP does (``LpSession``: dual simplex from the
semi-assignment crash basis, one thread), once per variant and round, the variants
interleaved so that a load change hits all of them alike. Printed per variant: the median
CPU seconds of ``Highs.run`` over the rounds (CPU, not wall: the machine is shared), the
simplex and interior-point iterations, the objective, and the median CPU milliseconds of a
re-solve of the optimal LP (zero iterations: what every warm LP pays before its first
iteration). ``--json`` writes the rows.

Variants (each changes the session's options by the named HiGHS options):

* ``session``     — as the solve runs it (dual simplex, default scaling, the crash basis);
* ``no-crash``    — without the crash basis (HiGHS's presolve then runs);
* ``no-crash-presolve-off`` — neither crash basis nor presolve;
* ``scale-off``   — ``simplex_scale_strategy 0``; ``scale-2`` and ``scale-4`` the others;
* ``devex``       — ``simplex_dual_edge_weight_strategy 1`` (default: dual steepest edge);
* ``dantzig``     — ``simplex_dual_edge_weight_strategy 0``;
* ``user-scale``  — ``user_objective_scale -1``, ``user_bound_scale -1`` (HiGHS warns that
  the demo's costs and right-hand sides are large);
* ``ipm``         — interior point with crossover, no crash basis;
* ``pami``        — the parallel dual simplex on two threads (``simplex_strategy 2``);
* ``primal``      — primal simplex from the crash basis (not in the default list: see below).

Measured on the demo (36 k cells, 26,838 rows x 307,479 columns; load 2.5-3.5 from other
runs beside; one round unless said): ``session`` 1.24/1.24/1.52 s CPU (2,028 iterations) in
three interleaved rounds against ``scale-off`` 1.17/1.34/1.33 s (1,769 iterations) and
``scale-2`` 1.28/1.31/1.36 s — the same within the noise; ``user-scale`` 1.54/1.60/1.65 s
against ``session``'s 1.46/1.53/1.53 s in its own three rounds (2,028 iterations: the
scaling HiGHS suggests changes nothing); ``scale-4`` 1.41 s (5,964 iterations); ``devex``
2.70 s; ``dantzig`` 11.2 s; without the crash basis 9.1 s (37,600 iterations), 10.1 s with
presolve off; primal simplex 389 s (416,899 iterations); in one further round (``--rounds
1 --warm 2 --variants session ipm pami``, load 1.3-3) ``session`` 1.58 s, interior point with
crossover 41.6 s (103 iterations; each re-solve starts over, 45 s), the parallel dual simplex
on two threads 2.72 s (the same 2,028 iterations). Every variant reached the same
optimum 1,628,542.0747. The session's options stay: no option beats the crash basis with
HiGHS's defaults. A re-solve of the optimal LP costs 50-80 ms CPU inside ``Highs.run`` (the
model's statistics, a new factorization, the optimality check); reading one 307 k vector
back (``col_value`` or ``col_dual``) costs 12-18 ms of it through highspy's list, and
``allVariableValues`` is the same list.

On the 3 k and 10 k areas (``--cases 3k 10k --rounds 3 --variants session scale-off scale-2
no-crash ipm pami``, load 3-4): ``session`` 0.02 s and 0.14 s median (265 and 463
iterations); ``scale-off`` 0.03 and 0.22 s (more iterations); ``scale-2`` the same as
``session``; without the crash basis 0.14 and 0.98 s; interior point 0.65 and 4.20 s (and a
re-solve starts it over: 0.7 and 4.1 s); the parallel simplex 1.01 and 2.49 s (its thread
pool waits on a shared machine). Nothing is faster than the session's options at any size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

VARIANTS: dict[str, tuple[dict[str, object], bool]] = {
    "session": ({}, True),
    "no-crash": ({}, False),
    "no-crash-presolve-off": ({"presolve": "off"}, False),
    "scale-off": ({"simplex_scale_strategy": 0}, True),
    "scale-2": ({"simplex_scale_strategy": 2}, True),
    "scale-4": ({"simplex_scale_strategy": 4}, True),
    "devex": ({"simplex_dual_edge_weight_strategy": 1}, True),
    "dantzig": ({"simplex_dual_edge_weight_strategy": 0}, True),
    "user-scale": ({"user_objective_scale": -1, "user_bound_scale": -1}, True),
    "ipm": ({"solver": "ipm", "run_crossover": "on"}, False),
    "pami": ({"simplex_strategy": 2, "threads": 2, "simplex_max_concurrency": 2}, True),
    "primal": ({"simplex_strategy": 4}, True),
}
"""Name -> (HiGHS options over the session's, whether the solve starts from the crash basis)."""
DEFAULT_VARIANTS = [v for v in VARIANTS if v != "primal"]


def measure(cases: list[str], variants: list[str], rounds: int, warm: int) -> list[dict]:
    """Per case and variant: CPU seconds of the cold root LP per round, its iterations and
    optimum, and the CPU seconds of ``warm`` re-solves of the optimal LP."""
    import numpy as np

    from ruimteverdeling.model import highs_backend as hb
    from small import compile_case

    rows: list[dict] = []
    for case in cases:
        cm = compile_case(case, 300.0)
        spec, options = cm.spec, cm.scenario.solver
        crash = hb.crash_basis(spec)
        got: dict[str, dict] = {v: {"cold": [], "warm": []} for v in variants}
        for _ in range(rounds):
            for name in variants:
                extra, use_crash = VARIANTS[name]
                opts: dict[str, object] = {
                    "solver": "simplex",
                    "threads": options.threads,
                    "random_seed": options.seed,
                    **extra,
                }
                h = hb.build(spec, integral=False, options=opts)
                if use_crash:
                    hb.set_basis(h, crash)
                c0 = time.process_time()
                h.run()
                got[name]["cold"].append(time.process_time() - c0)
                info = h.getInfo()
                got[name].update(
                    status=h.modelStatusToString(h.getModelStatus()),
                    objective=float(info.objective_function_value),
                    simplex=int(info.simplex_iteration_count),
                    ipm=int(info.ipm_iteration_count),
                )
                for _ in range(warm):
                    c0 = time.process_time()
                    h.run()
                    got[name]["warm"].append(time.process_time() - c0)
                sol = h.getSolution()
                c0 = time.process_time()
                np.fromiter(sol.col_value, dtype=float, count=spec.n_cols)
                got[name].setdefault("read", []).append(time.process_time() - c0)
        for name in variants:
            g = got[name]
            rows.append(
                {
                    "case": case,
                    "variant": name,
                    "rows": spec.n_rows,
                    "cols": spec.n_cols,
                    "status": g["status"],
                    "objective": g["objective"],
                    "simplex": g["simplex"],
                    "ipm": g["ipm"],
                    "cpu": g["cold"],
                    "cpu_median": statistics.median(g["cold"]),
                    "warm_ms": 1000 * statistics.median(g["warm"]) if g["warm"] else None,
                    "read_ms": 1000 * statistics.median(g["read"]),
                }
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["demo"])
    ap.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS, choices=list(VARIANTS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm", type=int, default=3, help="re-solves of the optimal LP")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = measure(args.cases, args.variants, args.rounds, args.warm)
    print(
        f"{'case':6} {'variant':22} {'status':8} {'CPU s (rounds)':24} {'median':>7} "
        f"{'simplex':>8} {'ipm':>4} {'objective':>16} {'warm ms':>8} {'read ms':>8}"
    )
    for r in rows:
        cpu = "/".join(f"{t:.2f}" for t in r["cpu"])
        warm = "-" if r["warm_ms"] is None else f"{r['warm_ms']:.1f}"
        print(
            f"{r['case']:6} {r['variant']:22} {r['status']:8} {cpu:24} "
            f"{r['cpu_median']:7.2f} {r['simplex']:8d} {r['ipm']:4d} "
            f"{r['objective']:16,.4f} {warm:>8} {r['read_ms']:8.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
