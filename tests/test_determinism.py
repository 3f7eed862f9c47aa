"""Determinism: the same inputs and seed give byte-identical outputs.

The case is built to tempt nondeterminism: many exact ties in the objective (equal
suitability everywhere outside a few bands), a homes target whose hectares are fractional (the
LP vertex is not integral, so the repair MIP runs), per-region and soft targets, an exclusion
zone. It is solved twice in fresh interpreters with different ``PYTHONHASHSEED`` (so any
dependence on set or dict order of strings shows), and every output file is compared byte for
byte; the manifests may differ only in times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ruimteverdeling.results.writer import MARKER

from areas import SRC, write_area, write_scenario

TIME_KEYS = {"started", "finished", "seconds"}


def tie_case(folder: Path) -> Path:
    n = 20
    rng = np.random.default_rng(3)
    landuse = rng.choice([3, 3, 3, 2], size=(n, n))  # farmland with some nature
    landuse[0, :] = 23  # a strip of open water (fixed)
    regions = np.ones((n, n), np.int32)
    regions[:, n // 2:] = 2
    band = np.zeros((n, n), np.float32)
    band[5:8, :] = 1.0  # a band where housing is less bad; equal everywhere else
    zone = np.zeros((n, n), np.int32)
    zone[12:15, 3:9] = 1
    area = write_area(folder / "area", landuse, regions, {1: "West", 2: "East"},
                      layers={"band": (band, "continuous", {}), "zone": (zone, "mask", {})})
    return write_scenario(folder / "ties.yaml", {
        "id": "ties", "area": str(area),
        "housing_density": {"default": 35, "per_region": {"East": 45}, "source": SRC},
        "suitability": {
            "housing": {"base": 0.3, "terms": [{"layer": "band", "points": [[0, 0], [1, 0.05]]}]},
            "nature": {"base": 0.4},
            "agriculture": {"base": 0.4},
            "solar": {"base": 0.35},
        },
        "transition_costs": {"default": 0.05},
        "targets": [
            {"id": "homes", "use": "housing", "quantity": "homes", "basis": "new", "min": 1000,
             "source": SRC},
            {"id": "nature_regions", "use": "nature", "per_region": True, "min": 60,
             "source": SRC},
            {"id": "solar_soft", "use": "solar", "min": 15, "hard": False, "penalty": 0.5,
             "source": SRC},
        ],
        "rules": [
            {"id": "four_uses", "type": "exclusion", "layer": "landuse",
             "allow": ["housing", "nature", "agriculture", "solar"], "applies_to": "all",
             "source": SRC},
            {"id": "no_housing_zone", "type": "exclusion", "layer": "zone",
             "uses": ["housing"], "source": SRC},
        ],
        "solver": {"seed": 11},
    })


def solve_in_fresh_process(scenario: Path, out: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONWARNINGS": "ignore"}
    p = subprocess.run([sys.executable, "-m", "ruimteverdeling.cli", "solve", str(scenario),
                        "-o", str(out), "-q"], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr


def time_free(data: Any, path: tuple = ()) -> Any:
    """``data`` without the manifest's time fields: the run's clock times and every measured
    duration the solver reports in its details (``*_seconds``)."""
    if isinstance(data, dict):
        return {k: time_free(v, (*path, k)) for k, v in data.items()
                if k not in TIME_KEYS and not (k.endswith("_seconds") and "details" in path)}
    if isinstance(data, list):
        return [time_free(v, path) for v in data]
    return data


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += differences(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("determinism")
    scenario = tie_case(folder)
    solve_in_fresh_process(scenario, folder / "run1", "0")
    solve_in_fresh_process(scenario, folder / "run2", "4242")
    return folder / "run1", folder / "run2"


def test_the_case_exercises_the_repair(two_runs: tuple[Path, Path]) -> None:
    """Guard: the case must keep hitting the paths where order could matter."""
    summary = json.loads((two_runs[0] / "summary.json").read_text())
    assert summary["status"] == "optimal"
    assert summary["method"] != "lp-integral", summary["method"]
    assert {t["region"] for t in summary["targets"]} >= {"West", "East", "national"}


@pytest.mark.parametrize("name", ["allocation.tif", "change.tif", "areas.csv", "targets.csv",
                                  "summary.json"])
def test_outputs_are_byte_identical(two_runs: tuple[Path, Path], name: str) -> None:
    a, b = (run / name for run in two_runs)
    assert a.read_bytes() == b.read_bytes(), name


def test_every_other_output_is_identical_too(two_runs: tuple[Path, Path]) -> None:
    """Whatever else a run writes (sidecars, further tables) is deterministic as well."""
    one, two = two_runs
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir())
    # the manifest and the engine's folder marker record times and process ids
    differing = [n for n in names if n not in ("manifest.json", MARKER) and
                 (one / n).read_bytes() != (two / n).read_bytes()]
    assert not differing
    m1, m2 = (json.loads((run / MARKER).read_text()) for run in two_runs)
    assert m1["files"] == m2["files"] and m1["kind"] == m2["kind"] == "run"


def test_manifests_differ_only_in_times(two_runs: tuple[Path, Path]) -> None:
    m1, m2 = (json.loads((run / "manifest.json").read_text()) for run in two_runs)
    assert m1["complete"] and m2["complete"]
    assert m1["scenario"]["solver"]["seed"] == 11
    assert not differences(time_free(m1), time_free(m2))


# ---------------------------------------------------------------------------------------------
# the same answer at any load: every step stops at a count of its work, not at the clock
# ---------------------------------------------------------------------------------------------
LOADED = 40.0
"""How much faster the patched clock runs: a machine so loaded that every step takes forty
times as long (the time limit below is far enough away that the cap is not reached)."""


@pytest.mark.slow
def test_a_loaded_machine_gives_the_same_allocation(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The base scenario on a 3 k-cell synthetic area (250 m), whose repair MIP runs for
    dozens of HiGHS interrupt checks with a poor incumbent before it proves its gap, solved
    twice: once as it is, once with the clocks the engine reads running forty times faster.
    A step stopped by seconds (a repair budget, a share of the time limit) stops elsewhere on
    the fast clock and the allocation changes; steps stopped by counts give the same
    allocation, objective and bound."""
    import time

    from ruimteverdeling import api
    from ruimteverdeling.model.solve import solve
    from ruimteverdeling.synthetic import make_area

    from areas import REPO

    area = make_area(tmp_path / "area", cells=3000, resolution=250.0, seed=1)
    cm = api.compile(REPO / "benchmarks" / "base-small-area.yaml", area=area, time_limit=600)
    options = cm.scenario.solver
    idle = solve(cm.spec, options)

    t_real, m_real = time.perf_counter, time.monotonic
    t0, m0 = t_real(), m_real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + LOADED * (t_real() - t0))
    monkeypatch.setattr(time, "monotonic", lambda: m0 + LOADED * (m_real() - m0))
    loaded = solve(cm.spec, options)
    monkeypatch.undo()

    assert "time_limit_cut" not in loaded.details, "the safety cap was reached: not a test"
    assert (loaded.status, loaded.objective, loaded.bound) == \
        (idle.status, idle.objective, idle.bound)
    assert np.array_equal(loaded.x, idle.x)
    # guard: the case must keep running a repair long enough for its budget to matter
    attempts = idle.details["repair_attempts"]
    assert attempts and attempts[0]["checks"] > 20, attempts


def test_a_run_cut_short_by_the_time_limit_says_which_steps() -> None:
    """A step the time limit cut short makes the run's status ``time_limit`` (not ``optimal``
    or ``feasible``), whatever the gap, and names the steps in a note; a run that was not cut
    keeps its status."""
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions
    from ruimteverdeling.model.solve import _capped, _finish
    from tiny_models import allocations, aux_intervals, random_model

    spec = random_model(0)
    x = next(np.r_[xb, iv[0]] for xb in allocations(spec)
             if (iv := aux_intervals(spec, xb)) is not None)
    assert not spec.violations(x)
    z = spec.objective_value(x)
    options, backend = SolverOptions(), HighsBackend()
    within = _finish(spec, options, x, z, z + 1e-9, "lp", backend, {}, {}, None)
    assert within.status == "optimal" and "time_limit_note" not in within.details
    details: dict = {}
    _capped(details, "repair")
    _capped(details, "level swaps")
    _capped(details, "repair")
    cut = _finish(spec, options, x, z, z + 1e9, "lp", backend, {}, details, None)
    assert cut.status == "time_limit"
    assert details["time_limit_cut"] == ["repair", "level swaps"]
    assert "repair, level swaps" in cut.details["time_limit_note"]


LOCATION_SHARE = 800.0
"""The location step's time share in the loaded test: a cap far enough away that the steps'
counts stop them first on the fast clock (the step's work is about 100 s of it on an idle
machine, about 300 s on one running six other processes; twice that margin again, so a slow
machine does not reach the cap and void the test)."""


def location_case(folder: Path) -> Path:
    """25×25 farmland of random housing suitability, at least 1,500 homes (10 per cell) in
    locations of at least 200 homes: the relaxation scatters them, so the location bound runs
    rounds of patch cuts and LP re-solves, the restricted MIP and its further round run."""
    from areas import IDENT

    rng = np.random.default_rng(5)
    sh = (0.2 + 0.8 * rng.random((25, 25))).round(3)
    area = write_area(folder / "area", np.full(sh.shape, 3),
                      layers={"s_h": (sh, "continuous", {})})
    return write_scenario(folder / "loc.yaml", {
        "id": "loc", "area": str(area),
        "housing_density": {"default": 10, "source": SRC},
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "homes", "use": "housing", "quantity": "homes", "min": 1500,
                     "source": SRC}],
        "rules": [{"id": "two_uses", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "agriculture"], "applies_to": "all", "source": SRC},
                  {"id": "loc", "type": "location", "use": "housing", "quantity": "homes",
                   "min_size": 200, "source": SRC}],
    })


def location_result(sol: Any) -> dict[str, Any]:
    """The location step's result without its measured times."""
    info = {k: v for k, v in sol.details["locations"].items() if k not in ("seconds", "budget")}
    if "bound" in info:
        info["bound"] = {k: v for k, v in info["bound"].items() if k != "seconds"}
    return info


@pytest.mark.slow
def test_a_loaded_machine_gives_the_same_locations(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The location step (bound, restricted MIP, further round) on the same relaxation, once
    as it is and once with the clocks forty times faster: each sub-step stops at a count of
    its own work (rounds of cuts, LP rounds, HiGHS interrupt checks, further rounds), so the
    allocation, objective, bound and the location result (patches, cuts, bound rounds) are
    the same; a share split into seconds per step cut the bound's rounds elsewhere on the
    fast clock and moved the candidates, hence the allocation."""
    import time

    from ruimteverdeling import api
    from ruimteverdeling.model.solve import solve
    from ruimteverdeling.rules import location

    cm = api.compile(location_case(tmp_path), time_limit=600)
    relaxation = solve(cm.spec, cm.scenario.solver)
    idle = location.enforce(cm, relaxation, seconds=LOCATION_SHARE)

    t_real, m_real = time.perf_counter, time.monotonic
    t0, m0 = t_real(), m_real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + LOADED * (t_real() - t0))
    monkeypatch.setattr(time, "monotonic", lambda: m0 + LOADED * (m_real() - m0))
    loaded = location.enforce(cm, relaxation, seconds=LOCATION_SHARE)
    monkeypatch.undo()

    assert "time_limit_cut" not in loaded.details, "the share's cap was reached: not a test"
    assert "time_limit_cut" not in idle.details
    assert (loaded.status, loaded.objective, loaded.bound) == \
        (idle.status, idle.objective, idle.bound)
    assert np.array_equal(loaded.x, idle.x)
    assert location_result(loaded) == location_result(idle)
    # guard: every sub-step ran (the case must keep exercising them)
    info = idle.details["locations"]
    assert info["status"] == "enforced"
    assert any(str(r["round"]).startswith("lp") for r in info["bound"]["rounds"])
    assert "improve" in info["budget"]["spent"]


def test_the_location_step_names_the_steps_its_cap_cut(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A share of 5 s on the forty-times clock (an eighth of a second) stops the location
    bound before its rounds are done: the step is named in ``time_limit_cut`` (and in the
    location budget) with a note, and the status is ``time_limit`` unless the gap is proven;
    the allocation still meets every row of the cell model."""
    import time

    from ruimteverdeling import api
    from ruimteverdeling.model.solve import solve
    from ruimteverdeling.rules import location

    cm = api.compile(location_case(tmp_path), time_limit=600)
    relaxation = solve(cm.spec, cm.scenario.solver)
    t_real = time.perf_counter
    t0 = t_real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + LOADED * (t_real() - t0))
    sol = location.enforce(cm, relaxation, seconds=5.0)
    monkeypatch.undo()
    info = sol.details["locations"]
    assert "location bound" in sol.details["time_limit_cut"]
    assert sol.details["time_limit_cut"] == info["budget"]["time_limit_cut"]
    assert "location bound" in sol.details["time_limit_note"]
    if info["status"] == "enforced":
        assert not cm.spec.violations(sol.x)
        assert sol.objective <= relaxation.bound + 1e-6
        assert sol.status == "time_limit" or \
            sol.decision_gap <= cm.scenario.solver.mip_rel_gap + 1e-12
