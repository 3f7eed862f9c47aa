"""The demo's repair sub-MIP beside other work in the same process: what a second thread gains.

    python benchmarks/repair_overlap.py              # 2 rounds on the demo area
    python benchmarks/repair_overlap.py --reps 4

The demo's incumbent comes from the level window's repair, a HiGHS sub-MIP on one thread
(about 1,450 free units) stopped by a budget of interrupt checks through a Python callback.
The script solves the demo once to capture that sub-MIP's arguments, then runs, per round:

* ``mip alone``: the sub-MIP in the main thread (as the solve runs it);
* ``lp alone``: the demo's root LP (a fresh HiGHS, simplex), twice;
* ``mip + lps``: the sub-MIP in a worker thread beside the two LPs in the main thread;
* ``spin alone`` / ``spin + mip`` / ``spin + mip, no callback``: a pure-Python loop for
  ``--spin`` seconds in the main thread, alone and beside the sub-MIP in a worker thread
  with its interrupt callback (its budget of checks) or without it (a time limit instead).
  The loop's CPU seconds beside the sub-MIP show whether HiGHS holds the GIL while it
  solves (the loop would then get none) and what the callback takes from it.

Each line gives wall seconds, the process's CPU seconds (every thread, HiGHS's own
included), the main and the worker thread's CPU seconds (a solve on the main thread runs in
HiGHS's thread, so the main thread's own figure is small there), and the load average:
gains from a second thread exist only where a second core is idle, so compare
``mip + lps`` against ``mip alone`` plus ``lp alone`` at the load shown.

The worker runs HiGHS by ``Highs.run()`` directly: highspy's ``startSolve`` (which the
engine's :func:`~ruimteverdeling.model.highs_backend.run_highs` uses on the main thread and
wherever a wall-clock deadline is given) guards every ``Highs`` object with one lock held
by the class, so two solves started that way in one process cannot overlap — the second
raises ``HighsError: Solver is already running``. ``--startsolve`` shows it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def capture() -> tuple[Any, Any, Any, tuple[Any, ...]]:
    """The demo's spec and options, its backend and the first repair sub-MIP's arguments."""
    import small
    from ruimteverdeling.model import solve as solve_mod

    cm = small.compile_case("demo", 300.0)
    spec, options = cm.spec, cm.scenario.solver
    calls: list[tuple[Any, ...]] = []
    plain = solve_mod._mip

    def grab(*args: Any) -> Any:
        if not calls:
            calls.append(args)
        return plain(*args)

    solve_mod._mip = grab  # type: ignore[assignment]
    try:
        solve_mod.solve(spec, options)
    finally:
        solve_mod._mip = plain  # type: ignore[assignment]
    return spec, options, solve_mod.backend_for(options), calls[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--spin", type=float, default=3.0, help="seconds of the Python loop")
    ap.add_argument(
        "--startsolve",
        action="store_true",
        help="also start the worker's sub-MIP through highspy's startSolve",
    )
    args = ap.parse_args()

    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.model import solve as solve_mod

    spec, options, backend, (be, sub, opts, limit, start, abs_gap, stop, settings) = capture()
    plain_run = hb.run_highs

    def direct(h: Any, deadline: float | None = None) -> Any:
        if threading.current_thread() is not threading.main_thread() and not args.startsolve:
            return h.run()
        return plain_run(h, deadline)

    hb.run_highs = direct  # type: ignore[assignment]

    def mip(callback: bool = True) -> str:
        if callback:
            stop.checks = 0
            r = solve_mod._mip(be, sub, opts, limit, start, abs_gap, stop, settings)
            return (
                f"{r.status} at check {stop.checks}, sub objective {sub.objective_value(r.x):,.3f}"
            )
        r = be.mip(sub, opts, args.spin + 1.0, 0.0, start, abs_gap=abs_gap, settings=settings)
        return f"{r.status} (no callback, {args.spin + 1.0:.0f} s limit)"

    def lp() -> str:
        out = backend.lp(spec, options, 300.0)
        return f"LP {out.objective:,.3f}"

    def spin() -> str:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < args.spin:
            n += 1
        return f"{n:,} loops"

    def timed(label: str, main: Any, worker: Any = None) -> None:
        load = os.getloadavg()[0]
        got: dict[str, Any] = {}

        def work() -> None:
            c = time.thread_time()
            try:
                got["out"] = worker()
            except Exception as e:
                got["out"] = f"{type(e).__name__}: {e}"
            got["cpu"] = time.thread_time() - c

        th = threading.Thread(target=work) if worker is not None else None
        t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
        if th is not None:
            th.start()
        try:
            res = main()
        except Exception as e:
            res = f"{type(e).__name__}: {e}"
        main_cpu = time.thread_time() - c0
        if th is not None:
            th.join()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - p0
        extra = "" if th is None else f", worker {got['cpu']:.2f} s CPU: {got['out']}"
        print(
            f"{label:26s} wall {wall:6.2f} s, process {cpu:.2f} s CPU, "
            f"main {main_cpu:.2f} s CPU: {res}{extra} (load {load:.2f})",
            flush=True,
        )

    for rep in range(args.reps):
        print(f"-- round {rep + 1}")
        timed("mip alone", mip)
        timed("lp alone", lambda: [lp(), lp()][-1])
        timed("mip + lps", lambda: [lp(), lp()][-1], mip)
        timed("spin alone", spin)
        timed("spin + mip", spin, mip)
        timed("spin + mip, no callback", spin, lambda: mip(callback=False))


if __name__ == "__main__":
    main()
