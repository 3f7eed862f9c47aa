"""Where the time and the memory of one national run go, stage by stage.

    python benchmarks/profile.py                        # ~100 m (3.3 M cells), national.yaml
    python benchmarks/profile.py --cells 530000         # ~250 m
    python benchmarks/profile.py --cells 530000 --json results/profile.json

One run as ``ruimteverdeling bench --cells N`` makes it (read, compile, solve the cell model,
enforce the location rules, write the run folder), in this process, with every progress line
annotated by the resident memory now and the peak since the stage began. The peak of each
stage is the kernel's high-water mark, reset when the stage starts (``/proc/self/clear_refs``;
where that is not available, the peaks are those since the process started). The table at the
end lists

* the top-level stages: read, compile, solve (the cell model), locations, write;
* compile's own split (validate, zone rules, columns, objective terms, row families,
  assembly), and under it its slowest parts: each rule family's compile, each objective
  term's evaluation on the columns, each family's rows;
* the cell model's solve: the column generation's levels (prices from nested samples) and its
  rounds over the whole model (restricted-LP build, LP, pricing), then the repair and the
  steps after it;
* the location step's budget (prepare, bound, candidates, restricted MIP, improvement).

Memory is measured, time is wall clock: on a shared machine both are noisy; say "loaded".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruimteverdeling import bench, pipeline
from ruimteverdeling.errors import SolverError
from ruimteverdeling.model.solve import solve
from ruimteverdeling.paths import CACHE_ENV
from ruimteverdeling.progress import Progress
from ruimteverdeling.rules import location

HERE = Path(__file__).resolve().parent
os.environ.setdefault(CACHE_ENV, str(HERE / "cache"))


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    """Reset the process's resident high-water mark (Linux ≥ 4.0); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class StageProgress(Progress):
    """Progress lines with the resident memory (now / peak since the stage began) and a peak
    per stage (``peaks``)."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream=stream)
        self.peaks: dict[str, float] = {}
        self.kernel: dict[str, float] = {}
        """Kernel CPU seconds of each stage (the process's, all its threads)."""
        self.resets = True

    def __call__(self, message: str) -> None:
        now, peak = _status_mb("VmRSS"), _status_mb("VmHWM")
        mem = f"{now or 0:6,.0f}/{peak or 0:6,.0f} MB"
        elapsed = time.perf_counter() - self.start
        t = os.times()
        cpu = f"cpu {t.user:6.1f}+{t.system:5.1f} s"
        print(f"[{elapsed:7.1f} s {mem} {cpu}] {message}", file=self.stream, flush=True)

    @contextmanager
    def stage(self, key: str) -> Iterator[None]:
        """Time the block as stage ``key`` (summed over repeats) and keep its peak resident
        memory (the kernel's high-water mark, reset at the stage's start where it can be)."""
        self.resets = _reset_peak() and self.resets
        t0, k0 = time.perf_counter(), os.times().system
        try:
            yield
        finally:
            self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - t0
            self.kernel[key] = self.kernel.get(key, 0.0) + os.times().system - k0
            self.peaks[key] = max(self.peaks.get(key, 0.0), _status_mb("VmHWM") or 0.0)


def profile(cells: int, scenario: Path, time_limit: float | None,
            stream: Any = None) -> dict[str, Any]:
    """One run of ``scenario`` on the synthetic area of ``cells`` cells; its stage figures."""
    area = bench.ensure_area(cells)
    p = StageProgress(stream or sys.stderr)
    with p.stage("read"):
        loaded = pipeline.load(scenario, p, area)
    with p.stage("compile"):
        sc = pipeline.with_solver_overrides(loaded.scenario, {"time_limit": time_limit})
        from ruimteverdeling.rules.compile import compile_model
        cm = compile_model(sc, loaded.area, loaded.area.catalogue)
        cm.spec.status_quo_value  # noqa: B018  (computed at compile)
    spec = cm.spec
    p(f"model: {spec.n_units:,} units, {spec.n_cols:,} columns, "
      f"{spec.n_rows - spec.n_units:,} coupling rows")
    try:
        with p.stage("solve"):
            sol = solve(spec, cm.scenario.solver, p)
    except SolverError as exc:  # e.g. no allocation within the time limit: what was reached
        p(f"solve failed: {exc}")
        return {"cells": int(cm.area.land.sum()), "units": int(spec.n_units),
                "columns": int(spec.n_cols), "time_limit": cm.scenario.solver.time_limit,
                "stages": {k: round(v, 2) for k, v in p.timings.items()},
                "peak_mb": {k: round(v) for k, v in p.peaks.items()},
                "kernel_s": {k: round(v, 2) for k, v in p.kernel.items()},
                "peaks_per_stage": p.resets,
                "compile": {k: round(v, 2) for k, v in cm.timings.items()},
                "compile_parts": _parts(cm.family_timings),
                "error": str(exc)}
    relaxation = sol
    with p.stage("locations"):
        sol = location.enforce(cm, sol, cm.scenario.solver, p)
    with p.stage("write"), tempfile.TemporaryDirectory() as tmp:
        run = pipeline.result_of(cm, sol)
        pipeline.write_run(run, Path(tmp) / "run", dt.datetime.now(dt.UTC),
                           time.perf_counter())
    dec = relaxation.details.get("decomposition") or {}
    return {
        "cells": int(cm.area.land.sum()), "units": int(spec.n_units),
        "columns": int(spec.n_cols), "time_limit": cm.scenario.solver.time_limit,
        "stages": {k: round(v, 2) for k, v in p.timings.items()},
        "peak_mb": {k: round(v) for k, v in p.peaks.items()},
        "kernel_s": {k: round(v, 2) for k, v in p.kernel.items()},
        "peaks_per_stage": p.resets,
        "compile": {k: round(v, 2) for k, v in cm.timings.items()},
        "compile_parts": _parts(cm.family_timings),
        "solve": {k: round(v, 2) for k, v in relaxation.seconds.items()},
        "lp_status": relaxation.details.get("lp_status"),
        "decomposition": _levels(dec),
        "locations": (sol.details.get("locations") or {}).get("budget"),
        "relaxation": {"status": relaxation.status, "objective": relaxation.objective,
                       "bound": relaxation.bound, "decision_gap": relaxation.decision_gap},
        "status": sol.status, "objective": sol.objective, "bound": sol.bound,
        "decision_gap": sol.decision_gap,
    }


def _parts(split: dict[str, float], top: int = 12) -> dict[str, float]:
    """The compile's largest parts (rule families, terms, row families; see
    ``CompiledModel.family_timings``), slowest first, the rest summed as ``other``."""
    ranked = sorted(split.items(), key=lambda kv: -kv[1])
    out = {k: round(v, 2) for k, v in ranked[:top]}
    if len(ranked) > top:
        out["other"] = round(sum(v for _, v in ranked[top:]), 2)
    return out


def _levels(dec: dict[str, Any]) -> list[dict[str, Any]]:
    """The column generation's levels, the whole model first: units, seconds, rounds and
    their build / LP seconds."""
    out = []
    while dec:
        its = dec.get("iterations", [])
        out.append({"level": dec.get("level"), "units": dec.get("units"),
                    "seconds": dec.get("seconds"), "converged": dec.get("converged"),
                    "rounds": len(its),
                    "build_s": round(sum(i.get("build_seconds", 0.0) for i in its), 2),
                    "lp_s": round(sum(i.get("lp_seconds", 0.0) for i in its), 2),
                    "last_lp_gap": its[-1].get("lp_gap") if its else None})
        dec = dec.get("below") or {}
    return out


def table(r: dict[str, Any]) -> str:
    """The stage figures of :func:`profile` as a text table, with the solve's result below."""
    rows = [("stage", "seconds", "peak MB, kernel CPU s")]
    for k, v in r["stages"].items():
        peak = r["peak_mb"].get(k)  # none for the phases inside a stage
        kernel = r.get("kernel_s", {}).get(k)
        rows.append((k, f"{v:.1f}", ("" if peak is None else f"{peak:,}") +
                     ("" if kernel is None else f", kernel {kernel:.1f} s")))
    rows += [(f"  compile: {k}", f"{v:.1f}", "") for k, v in r["compile"].items()]
    rows += [(f"    {k}", f"{v:.1f}", "") for k, v in r.get("compile_parts", {}).items()]
    if "error" in r:
        w = [max(len(str(x[i])) for x in rows) for i in range(3)]
        return "\n".join([f"{a:<{w[0]}}  {b:>{w[1]}}  {c}" for a, b, c in rows] +
                         [f"the solve failed: {r['error']}"])
    rows += [(f"  solve: {k}", f"{v:.1f}", "") for k, v in r["solve"].items()]
    for lv in r["decomposition"]:
        gap = lv["last_lp_gap"]
        rows.append((f"  column generation, level {lv['level']} ({lv['units']:,} units)",
                     f"{lv['seconds'] or 0:.1f}",
                     f"{lv['rounds']} rounds: build {lv['build_s']:.1f} s, LP "
                     f"{lv['lp_s']:.1f} s, last LP gap "
                     f"{'—' if gap is None else f'{gap:.2e}'}"
                     f"{'' if lv['converged'] else ', not converged'}"))
    for k, v in (r["locations"] or {}).get("spent", {}).items():
        rows.append((f"  locations: {k}", f"{v:.1f}", ""))
    w = [max(len(str(x[i])) for x in rows) for i in range(3)]
    lines = [f"{a:<{w[0]}}  {b:>{w[1]}}  {c}" for a, b, c in rows]
    rel = r["relaxation"]
    lines.append(f"cell model: {rel['status']}, decision gap {rel['decision_gap']:.3%}; with "
                 f"locations: {r['status']}, decision gap {r['decision_gap']:.3%}, objective "
                 f"{r['objective']:,.1f}, bound {r['bound']:,.1f}; LP {r['lp_status']}")
    cut = (r["locations"] or {}).get("time_limit_cut")
    if cut:  # the location step's cap stopped these parts before their counts of work
        lines.append(f"location step cut short by its time share: {', '.join(cut)}")
    if not r["peaks_per_stage"]:
        lines.append("(peaks are since the process started: the kernel did not reset them)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=3_300_000)
    ap.add_argument("--scenario", type=Path, default=HERE / "national.yaml")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="time limit of the cell model's solve (default: the scenario's)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    r = profile(args.cells, args.scenario, args.time_limit)
    print(table(r))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
