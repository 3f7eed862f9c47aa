"""Start-up of the command line: whole processes, from the interpreter's start to its exit.

    python benchmarks/startup.py                 # 7 runs of each command, medians
    python benchmarks/startup.py --runs 15
    python benchmarks/startup.py --area inputs/demo/area.yaml   # adds `validate` on that area

Rows: ``--help``, ``--version``, ``solve --help`` and an option refused while parsing (none of
them should load the engine), and ``import ruimteverdeling.api`` — the import every engine
command (``solve``, ``validate``, the analyses) pays before its first progress line. With
``--area``, ``validate scenarios/base.yaml`` on that area as well. Each command runs once
unmeasured, then ``--runs`` times in fresh processes; the table gives the median and the
spread of the wall seconds and the median CPU seconds (user + system of the child). Figures on
a shared machine are noisy: quote the median, and say whether the machine was loaded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ruimteverdeling.formatting import Column, table  # noqa: E402


def _cases(area: Path | None) -> list[tuple[str, list[str]]]:
    cli = [sys.executable, "-m", "ruimteverdeling.cli"]
    cases = [("--help", [*cli, "--help"]),
             ("--version", [*cli, "--version"]),
             ("solve --help", [*cli, "solve", "--help"]),
             ("solve, bad --time-limit (exit 2)", [*cli, "solve", "x.yaml", "--time-limit", "0"]),
             ("import ruimteverdeling.api", [sys.executable, "-c", "import ruimteverdeling.api"])]
    if area is not None:
        cases.append(("validate base on --area", [*cli, "validate",
                                                  str(REPO / "scenarios" / "base.yaml"),
                                                  "--area", str(area)]))
    return cases


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="measured runs per command")
    ap.add_argument("--area", type=Path, default=None, help="area.yaml for a `validate` row")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)}
    rows = []
    for name, argv in _cases(args.area):
        _run(argv, env)  # warm the file cache and the bytecode
        walls, cpus = zip(*(_run(argv, env) for _ in range(args.runs)), strict=True)
        rows.append([name, f"{statistics.median(walls):.3f}", f"{min(walls):.3f}",
                     f"{max(walls):.3f}", f"{statistics.median(cpus):.3f}"])
    cols = [Column("command", "<"), Column("wall s", ">", gap=2), Column("min", ">", gap=2),
            Column("max", ">", gap=2), Column("cpu s", ">", gap=2)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.runs} runs each, medians; load average {load:.2f} on {os.cpu_count()} cores")
    for line in table(cols, rows):
        print(line)


if __name__ == "__main__":
    main()
