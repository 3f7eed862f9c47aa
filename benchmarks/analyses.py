"""The analyses that re-solve many times: rule costs, a Pareto front, alternatives.

    python benchmarks/analyses.py                                  # all three on the demo
    python benchmarks/analyses.py --cases national --analyses rule-costs   # ~250 m national
    python benchmarks/analyses.py --json results/analyses.json

Cases (synthetic areas, generated once and cached):

* ``demo``     — the demo area (36 k cells of 1 km, seed 42) with ``scenarios/base.yaml``;
* ``national`` — the national ~250 m area (530 k cells, seed 42) with
  ``benchmarks/national.yaml`` (the national benchmark's scenario, location rules included).

Each analysis runs as the CLI runs it, in a fresh process, from reading the scenario to the
written run folder:

* ``rule-costs``   — ``rule-costs SCENARIO`` (every T and A rule);
* ``pareto``       — ``pareto SCENARIO --x suitability --y transition --points 5``;
* ``alternatives`` — ``alternatives SCENARIO --count 3``.

Columns: analysis, case, seconds (wall clock, the scenario's own solve included), how many
variants the analysis solved (rule-cost variants, front points, alternatives), how many of the
rule costs have a proven bracket that straddles zero (the sign not proven; ``-`` for the
others), how many variants are not proven optimal, and the exit code.

Goals (2 cores): every analysis on the demo in ≤ 60 s, ``rule-costs`` on the national ~250 m
area in ≤ 5 minutes. The figures are printed as measured, whether or not they meet them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ruimteverdeling import bench
from ruimteverdeling.paths import CACHE_ENV

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
os.environ.setdefault(CACHE_ENV, str(HERE / "cache"))

CASES = {"demo": ((36000, 1000.0, 42), REPO / "scenarios" / "base.yaml"),
         "national": ((530000, None, 42), HERE / "national.yaml")}
ANALYSES = {"rule-costs": ["rule-costs"],
            "pareto": ["pareto", "--x", "suitability", "--y", "transition", "--points", "5"],
            "alternatives": ["alternatives", "--count", "3"]}
CSV_NAME = {"rule-costs": "rule_costs.csv", "pareto": "pareto.csv",
            "alternatives": "alternatives.csv"}
HEADER = ("analysis", "case", "seconds", "variants", "bracket straddles 0", "not optimal",
          "exit")


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    found = sorted(folder.rglob(name))
    if not found:
        return []
    with found[0].open(newline="") as fh:
        return list(csv.DictReader(fh))


def _counts(analysis: str, rows: list[dict[str, str]]) -> tuple[int, str, int]:
    """(variants, straddling zero, not proven optimal) from the analysis's CSV."""
    if analysis == "rule-costs":
        nat = [r for r in rows if r.get("region") == "national"]
        straddle = sum(r.get("within_gap") == "yes" for r in nat)
        not_opt = sum(r.get("solve_status") != "optimal" for r in nat)
        return len(nat), str(straddle), not_opt
    if analysis == "pareto":
        return len(rows), "-", sum(r.get("optimal") != "yes" for r in rows)
    alts = [r for r in rows if r.get("alternative", "") != "optimum"]
    return len(alts), "-", sum(r.get("mga_status", "optimal") != "optimal" for r in alts)


def run(analysis: str, case: str, out_root: Path, extra: list[str]) -> dict:
    (cells, res, seed), scenario = CASES[case]
    area = bench.ensure_area(cells, res, seed, lambda m: print(m, file=sys.stderr))
    out = out_root / f"{analysis}-{case}"
    cmd = [sys.executable, "-m", "ruimteverdeling.cli", *ANALYSES[analysis], str(scenario),
           "--area", str(area), "-o", str(out), *extra]
    print(f"  {analysis} on {case} ...", file=sys.stderr, flush=True)
    log = out_root / f"{analysis}-{case}.log"  # progress lines as they come
    t0 = time.perf_counter()
    with log.open("w") as fh:
        p = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
    seconds = time.perf_counter() - t0
    variants, straddle, not_opt = _counts(analysis, _read(out, CSV_NAME[analysis]))
    return {"analysis": analysis, "case": case, "seconds": round(seconds, 1),
            "variants": variants, "bracket straddles 0": straddle, "not optimal": not_opt,
            "exit": p.returncode, "log": str(log)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", choices=sorted(CASES), default=["demo"])
    ap.add_argument("--analyses", nargs="+", choices=list(ANALYSES), default=list(ANALYSES))
    ap.add_argument("--out", type=Path, default=HERE / "results" / "analyses")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("extra", nargs="*", help="more CLI options for every analysis "
                    "(after --), e.g. -- --workers 2")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [run(a, c, args.out, args.extra) for c in args.cases for a in args.analyses]
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in HEADER]
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    print(f"({os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
