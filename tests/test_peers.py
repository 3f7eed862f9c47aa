"""The peers of `bench` (the naive model written in linopy and in PuLP) solve a tiny model to
its enumerated optimum; a peer that is not installed is reported as such."""

from __future__ import annotations

import pytest

from ruimteverdeling import bench
from ruimteverdeling.bench import naive_spec
from tiny_models import USES, brute_force, random_model


@pytest.mark.parametrize("seed", range(3))
def test_linopy_peer_finds_the_enumerated_optimum(seed: int) -> None:
    pytest.importorskip("linopy")
    spec = random_model(seed)
    naive = naive_spec(spec, USES)
    status, x, bound, _ = bench.solve_linopy(naive, USES, 30, 0.0, 1, 0)
    assert status == "Optimal"
    assert naive.objective_value(x) == pytest.approx(brute_force(spec), abs=1e-6)
    assert bound == pytest.approx(brute_force(spec), abs=1e-6)
    assert not naive.violations(x)


@pytest.mark.parametrize("seed", range(3))
def test_pulp_cbc_peer_finds_the_enumerated_optimum(seed: int) -> None:
    pytest.importorskip("pulp")
    spec = random_model(seed)
    naive = naive_spec(spec, USES)
    status, x, bound, _ = bench.solve_pulp(naive, 30, 0.0, 1)
    assert status == "Optimal" and bound is None  # CBC's bound does not come back via PuLP
    assert naive.objective_value(x) == pytest.approx(brute_force(spec), abs=1e-5)
    assert not naive.violations(x, tol=1e-5)


def test_a_missing_peer_is_reported_not_skipped(monkeypatch) -> None:
    monkeypatch.setitem(bench.PEER_MODULES, "pulp", "no_such_module_for_the_test")
    assert not bench.peer_installed("pulp") and bench.peer_installed("highspy")
    row = {"requested_cells": 100, "cells": 100, "build_s": 1.0, "solve_s": 1.0,
           "write_s": 0.1, "total_s": 2.1, "peak_mb": 100, "gap": 0.0, "status": "optimal",
           "naive": {"highspy": {"status": "optimal", "seconds": 4.0, "gap": 0.0,
                                 "ratio": 2.0},
                     "pulp": {"status": "not installed"}}}
    text = bench.format_table([row])
    head, line = text.splitlines()
    assert "PuLP+CBC" in head and "naive highspy" in head
    assert "not installed" in line and "(2x)" in line


def test_compare_accepts_answers_within_both_gaps_and_flags_the_rest() -> None:
    """z_e = 100 under B_e = 101 (engine); a peer agrees while z_p ≤ B_e and z_e ≤ B_p."""
    engine = {"objective": 100.0, "bound": 101.0}
    assert bench.compare(engine, {"objective": 100.8, "bound": 100.9,
                                  "status": "optimal"}, 0.5) == []
    assert bench.compare(engine, {"objective": 99.2, "bound": 100.0,
                                  "status": "time_limit"}, 0.5) == []
    over = bench.compare(engine, {"objective": 101.5, "bound": 102.0,
                                  "status": "optimal"}, 0.5)
    assert len(over) == 1 and "engine's proven bound" in over[0]
    under = bench.compare(engine, {"objective": 98.0, "bound": 99.0,
                                   "status": "optimal"}, 0.5)
    assert len(under) == 1 and "peer's bound" in under[0]
    # a finished peer without a bound (CBC through PuLP) claims z_p + its absolute gap
    assert bench.compare(engine, {"objective": 99.6, "bound": None,
                                  "status": "optimal"}, 0.5) == []
    assert len(bench.compare(engine, {"objective": 99.4, "bound": None,
                                      "status": "optimal"}, 0.5)) == 1
    # ... but one stopped at its limit claims nothing about the optimum
    assert bench.compare(engine, {"objective": 50.0, "bound": None,
                                  "status": "time_limit"}, 0.5) == []
    assert bench.compare(engine, {"status": "killed"}, 0.5) == []


def test_run_limited_stops_a_process_tree_at_its_memory_and_time_limits() -> None:
    """A child that holds 300 MB is stopped at a 150 MB limit, one that sleeps at its
    time limit, and a grandchild (as CBC under PuLP) goes with its parent."""
    import sys
    import time

    hold = "import time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); " \
           "time.sleep(60)"
    t0 = time.perf_counter()
    code, _, _, stopped, seconds, peak = bench.run_limited([sys.executable, "-c", hold],
                                                           timeout=50, memory_mb=150)
    assert stopped == "memory" and code is None and peak > 150 and seconds < 50
    nested = ("import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', "
              "'import time; time.sleep(60)']); print(c.pid, flush=True); time.sleep(60)")
    code, out, _, stopped, seconds, _ = bench.run_limited([sys.executable, "-c", nested],
                                                          timeout=2)
    assert stopped == "time" and code is None and seconds < 20
    grandchild = int(out.split()[0])
    for _ in range(50):  # killed; gone once its new parent has reaped it
        try:
            with open(f"/proc/{grandchild}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the grandchild outlived its killed parent")
    assert time.perf_counter() - t0 < 50
    code, out, _, stopped, _, peak = bench.run_limited(
        [sys.executable, "-c", "print('done')"], timeout=30, memory_mb=4096)
    assert (code, out.strip(), stopped) == (0, "done", "") and peak > 0


@pytest.mark.slow  # ten processes: the engine and four peers at each size
def test_bench_at_several_sizes_prints_every_peer_beside_the_engine(tmp_path, monkeypatch
                                                                    ) -> None:
    """`bench` at two tiny sizes: one engine line and one line per peer per size; every peer
    that finished found an allocation worth what the engine's is, within both gaps, and a
    ratio is reported for every peer that ran."""
    from pathlib import Path

    monkeypatch.setenv("RUIMTEVERDELING_CACHE", str(tmp_path / "cache"))
    scenario = Path(__file__).resolve().parents[1] / "benchmarks" / "peers.yaml"
    rows = bench.bench_sizes([100, 200], naive_time_limit=5, scenario=scenario,
                             naive_grace=20, time_limit=30)
    assert [r["requested_cells"] for r in rows] == [100, 200]
    for row in rows:
        assert row["status"] == "optimal" and row["decision_gap"] <= row["mip_rel_gap"]
        assert row["bound"] >= row["objective"] and row["peak_mb"] > 0
        assert list(row["naive"]) == list(bench.PEERS)
        for name, r in row["naive"].items():
            if r.get("status") == "not installed":
                assert not bench.peer_installed(name)
                continue
            assert r.get("status") != "error", r
            assert ("ratio" in r) != ("ratio_at_least" in r) and r["peak_mb"] > 0
            assert "warnings" not in r, r["warnings"]
            if r.get("status") == "optimal":  # within both gaps, independently of compare()
                assert r["objective"] <= row["bound"] + 1e-6 * abs(row["bound"])
                b_p = r["bound"] if r["bound"] is not None else \
                    r["objective"] + row["peer_abs_gap"]
                assert row["objective"] <= b_p + 1e-6 * abs(b_p)
                assert r["ratio"] == pytest.approx(
                    r["seconds"] / (row["build_s"] + row["solve_s"]), abs=0.06)
    lines = bench.format_peers_table(rows).splitlines()
    assert lines[0].split()[:2] == ["cells", "solver"]
    body = lines[1:1 + 2 * (1 + len(bench.PEERS))]
    assert [ln.split()[0] for ln in body[:: 1 + len(bench.PEERS)]] == \
        [f"{rows[0]['cells']:,}", f"{rows[1]['cells']:,}"]
    for ln in body:
        assert any(label in ln for label in ("engine", *bench.PEER_LABELS.values()))


def test_the_side_by_side_table_says_how_each_peer_ended() -> None:
    """One line per solver and size: a peer stopped at its memory limit reads `> N MB`, one
    stopped at its time limit `> S s` with its gap or `no solution` and `>=` its ratio; a
    disagreement with the engine is printed under the table."""
    engine = {"requested_cells": 3000, "cells": 2999, "build_s": 1.0, "solve_s": 1.0,
              "write_s": 0.5, "total_s": 2.5, "peak_mb": 300, "status": "optimal",
              "decision_gap": 0.0005, "objective": 1234.5, "bound": 1235.0,
              "mip_rel_gap": 0.001, "scenario": "peers.yaml",
              "locations": {"status": "enforced"}}
    row = {**engine, "naive": {
        "highspy": {"status": "optimal", "build_s": 0.5, "seconds": 8.0, "objective": 1234.0,
                    "bound": 1234.4, "decision_gap": 0.0003, "peak_mb": 200, "ratio": 4.0,
                    "engine_gap_wider": True},
        "pyomo": {"status": "killed", "memory_out": True, "memory_limit_mb": 4096,
                  "seconds": 30.0, "peak_mb": 4100, "ratio_at_least": 15.0},
        "linopy": {"status": "time_limit", "seconds": 61.0, "limit_s": 60, "objective": 1200.0,
                   "bound": 1300.0, "decision_gap": 0.08, "peak_mb": 900,
                   "ratio_at_least": 30.0},
        "pulp": {"status": "killed", "timed_out": True, "seconds": 90.0, "limit_s": 60,
                 "peak_mb": 700, "ratio_at_least": 30.0,
                 "warnings": ["the peer's allocation is worth more than the bound"]}}}
    lines = bench.format_peers_table([row]).splitlines()
    assert len(lines) == 1 + 5 + 1
    engine_line, highspy, pyomo, linopy, pulp = lines[1:6]
    assert engine_line.split()[:3] == ["2,999", "engine", "1.0"] and "0.050%" in engine_line
    assert "location rules enforced" in engine_line
    assert "optimal" in highspy and "4x" in highspy and "engine gap wider" in highspy
    assert "> 4,096 MB" in pyomo and ">= 15x" in pyomo
    assert "> 60 s, gap 8.00%" in linopy and ">= 30x" in linopy and "1,200.0" in linopy
    assert "> 60 s, no solution" in pulp and "DISAGREES" in pulp
    assert lines[6].startswith("warning: PuLP+CBC at 2,999 cells")


def test_a_measurement_that_exits_badly_after_its_result_says_how(monkeypatch) -> None:
    """A child that printed its result line and then died (a signal at shutdown, a nonzero
    exit) is an error, and the error says how it ended rather than echoing the result."""
    def ended(code: int):
        return lambda cmd, timeout, memory_mb=None: (code, '{"status": "optimal"}\n', "",
                                                    "", 1.0, 10.0)

    monkeypatch.setattr(bench, "run_limited", ended(-11))
    r = bench._child("fast", {}, timeout=5)
    assert r["status"] == "error" and r["exit_code"] == -11
    assert r["error"].startswith("killed by signal 11: "), r["error"]
    monkeypatch.setattr(bench, "run_limited", ended(1))
    r = bench._child("fast", {}, timeout=5)
    assert r["status"] == "error" and r["error"].startswith("exit code 1: "), r["error"]
    monkeypatch.setattr(bench, "run_limited", ended(0))
    assert bench._child("fast", {}, timeout=5) == {"status": "optimal", "peak_mb": 10}


def test_a_measurement_whose_abandoned_solve_still_runs_at_exit_ends_with_success() -> None:
    """A measurement that printed its result while a cancelled solve still runs in its thread
    (a step abandoned at its deadline) exits 0 with the result line, not 1 — the exit the
    engine takes when a solve outlives the process's end unannounced."""
    import subprocess
    import sys

    script = (
        "import threading, time\n"
        "from ruimteverdeling.model import highs_backend as hb\n"
        "hb.EXIT_GRACE = 0.1\n"
        "t = threading.Thread(target=time.sleep, args=(30,), daemon=True)\n"
        "t.start()\n"
        "hb._abandoned.append((None, t))\n"
        "{call}\n")
    run = [sys.executable, "-c"]
    reported = "from ruimteverdeling import bench; bench.report({'status': 'optimal'})"
    p = subprocess.run([*run, script.format(call=reported)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == '{"status": "optimal"}', p
    p = subprocess.run([*run, script.format(call="print('unannounced')")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p  # the guard this relies on: an unannounced exit is a failure
