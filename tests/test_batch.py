"""Batch runs on a real Dask LocalCluster: isolation, sweeps, resume, the command line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import yaml
from click.testing import CliRunner

from ruimteverdeling import api, batch
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InputError
from ruimteverdeling.parallel import dask_client

from areas import SRC, write_area, write_scenario, write_tif

RULE_ALLOW = {"id": "three_uses", "type": "exclusion", "layer": "landuse",
              "allow": ["housing", "agriculture", "solar"], "applies_to": "all", "source": SRC}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One LocalCluster (2 worker processes, 1 thread each) for the whole module."""
    with dask_client(workers=2) as c:
        yield c


def tiny(folder: Path, sid: str = "tiny", homes_min: float = 20, **extra: Any) -> Path:
    """4×4 farmland (1 ha cells); a 2×2 zone where solar beats farming (0.9 vs 0.5) unless
    the rule `no_solar_zone` closes it; housing (0.1) only as far as the homes target asks:
    10 homes per ha, so the achieved new homes equal ``homes_min`` rounded up to 10."""
    zone = np.zeros((4, 4), np.int32)
    zone[:2, :2] = 1
    area = folder / "area" / "area.yaml"
    if not area.exists():
        write_area(folder / "area", np.full((4, 4), 3), layers={"zone": (zone, "mask", {})})
    data = {
        "id": sid, "area": str(area),
        "housing_density": {"default": 10, "source": SRC},
        "suitability": {"agriculture": {"base": 0.5}, "housing": {"base": 0.1},
                        "solar": {"terms": [{"layer": "zone", "mask": 0.9}]}},
        "targets": [{"id": "homes", "use": "housing", "quantity": "homes", "basis": "new",
                     "min": homes_min, "source": SRC}],
        "rules": [RULE_ALLOW, {"id": "no_solar_zone", "type": "exclusion", "layer": "zone",
                               "uses": ["solar"], "source": SRC}],
    }
    data.update(extra)
    return write_scenario(folder / f"{sid}.yaml", data)


def infeasible(folder: Path) -> Path:
    area = write_area(folder / "clash_area", [[3, 3], [3, 3]])
    return write_scenario(folder / "clash.yaml", {
        "id": "clash", "area": str(area),
        "targets": [{"id": "h", "use": "housing", "min": 3, "source": SRC},
                    {"id": "n", "use": "nature", "min": 2, "source": SRC}],
    })


def sweep_file(folder: Path, base: Path, parameters: dict[str, Any], **extra: Any) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": str(base), "id": "sw", **extra,
                                    "parameters": parameters}, sort_keys=False))
    return path


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in rows}


# ------------------------------------------------------------------------------------------
# isolation
# ------------------------------------------------------------------------------------------
def test_failures_are_isolated(client: Any, tmp_path: Path) -> None:
    good = tiny(tmp_path)
    bad = tiny(tmp_path, "bad", targets=[{"id": "homes", "use": "housing", "minn": 3,
                                          "source": SRC}])
    missing = tmp_path / "nowhere.yaml"
    out = tmp_path / "out"
    lines: list[str] = []
    code = batch.main([good, infeasible(tmp_path), bad, missing], [], out, client=client,
                      echo=lines.append, progress=lines.append)
    assert code == 1
    rows = json.loads((out / "batch.json").read_text())["runs"]
    assert [r["id"] for r in rows] == ["tiny", "clash", "bad", "nowhere"]
    status = {r["id"]: r["status"] for r in rows}
    assert status == {"tiny": "optimal", "clash": "infeasible", "bad": "error",
                      "nowhere": "error"}
    msgs = {r["id"]: r["message"] for r in rows}
    assert "targets[0].minn" in msgs["bad"] and "did you mean 'min'" in msgs["bad"]
    assert "file not found" in msgs["nowhere"]
    assert msgs["clash"].startswith("infeasible")
    assert (out / "tiny" / "manifest.json").exists()
    for rid in ("clash", "bad", "nowhere"):
        assert not (out / rid).exists()
    assert not list(out.glob(".*partial*"))
    # progress: one line per finished run with a count; then the table and the failures
    done = [ln for ln in lines if ln.startswith("[")]
    assert len(done) == 4 and {ln.split("]")[0] for ln in done} == {f"[{i}/4" for i in
                                                                    range(1, 5)}
    text = "\n".join(lines)
    assert "failed runs:" in text and "1 optimal, 1 infeasible, 2 error (4 runs)" in text
    with open(out / "batch.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["status"] for r in table] == ["optimal", "infeasible", "error", "error"]
    assert table[0]["new_homes"] == "20" and table[0]["targets_met"] == "1"


def test_an_unexpected_exception_becomes_a_row(tmp_path: Path, monkeypatch) -> None:
    def boom(*a: Any, **k: Any) -> None:
        raise ZeroDivisionError("engine bug")

    monkeypatch.setattr(api, "solve", boom)
    row = batch.run_task("x", str(tiny(tmp_path)), str(tmp_path / "out"))
    assert row["status"] == "error"
    assert row["message"] == "unexpected error: ZeroDivisionError: engine bug"
    assert "Traceback" in row["traceback"] and "boom" in row["traceback"]
    assert batch.exit_code([row]) == 1
    assert batch.exit_code([{**row, "status": "skipped"}, {**row, "status": "feasible"}]) == 0


# ------------------------------------------------------------------------------------------
# sweeps
# ------------------------------------------------------------------------------------------
def test_sweep_points_files_and_results(client: Any, tmp_path: Path) -> None:
    base = tiny(tmp_path)
    sw = sweep_file(tmp_path, base, {"targets.homes.min": [20, 30],
                                     "rules[no_solar_zone].enabled": [True, False]})
    out = tmp_path / "out"
    code = batch.main([], [sw], out, client=client, echo=lambda s: None)
    assert code == 0
    ids = ["sw__min-20__enabled-true", "sw__min-20__enabled-false",
           "sw__min-30__enabled-true", "sw__min-30__enabled-false"]
    assert sorted(p.stem for p in (out / "scenarios").glob("*.yaml")) == sorted(ids)
    point = yaml.safe_load((out / "scenarios" / f"{ids[1]}.yaml").read_text())
    assert point == {"id": ids[1], "extends": str(base.resolve()),
                     "targets": [{"id": "homes", "min": 20}],
                     "rules": [{"id": "no_solar_zone", "enabled": False}]}
    rows = by_id(json.loads((out / "batch.json").read_text())["runs"])
    assert list(rows) == ids
    for rid in ids:
        r = rows[rid]
        assert r["status"] == "optimal", r
        assert r["new_homes"] == (20 if "min-20" in rid else 30)
        assert r["solar_wind_ha"] == (0 if "enabled-true" in rid else 4)
        assert r["housing_ha"] == r["new_homes"] / 10
    # each point is a real scenario: it solves on its own to the same result
    alone = api.solve(out / "scenarios" / f"{ids[3]}.yaml", write=False)
    assert alone.solution.objective == pytest.approx(rows[ids[3]]["objective"], abs=1e-9)


def test_sweep_ids_and_paths(tmp_path: Path) -> None:
    base = tiny(tmp_path)
    data = yaml.safe_load(base.read_text())
    data["targets"].append({"id": "solar", "use": "solar", "min": 1, "source": SRC})
    data["suitability"]["agriculture"]["terms"] = [{"layer": "zone", "mask": 0.1}]
    write_scenario(base, data)
    sw = batch.load_sweep(sweep_file(tmp_path, base, {
        "targets.homes.min": [20, 30.5],
        "targets.solar.min": [1],
        "suitability.agriculture.terms[0].mask": [0.2],
        "objective.weights": [{"suitability": 1.0}, {"suitability": 2.0}],
        "title": ["a b", "a:b"],
    }))
    # names: the shortest unique tail; values that do not give distinct tokens: v1, v2, ...
    assert [p.id for p in sw.points][:2] == [
        "sw__homes.min-20__solar.min-1__mask-0.2__weights-v1__title-v1",
        "sw__homes.min-20__solar.min-1__mask-0.2__weights-v1__title-v2"]
    assert len(sw.points) == 8 and len({p.id for p in sw.points}) == 8
    over = sw.points[-1].overrides
    assert over["targets"] == [{"id": "homes", "min": 30.5}, {"id": "solar", "min": 1}]
    # a plain list is carried whole, with the one field changed
    assert over["suitability"] == {"agriculture": {"terms": [{"layer": "zone", "mask": 0.2}]}}
    assert over["objective"] == {"weights": {"suitability": 2.0}}
    idx = batch.load_sweep(sweep_file(tmp_path, base, {"targets.homes.min": [20, 30]},
                                      point_ids="index"))
    assert [p.id for p in idx.points] == ["sw__000", "sw__001"]
    # the file name is the default prefix
    (tmp_path / "my sweep.yaml").write_text(yaml.safe_dump(
        {"base": str(base), "parameters": {"targets.homes.min": [20]}}))
    assert batch.load_sweep(tmp_path / "my sweep.yaml").points[0].id == "my_sweep__min-20"


# ------------------------------------------------------------------------------------------
# resume
# ------------------------------------------------------------------------------------------
def test_resume_skips_up_to_date_runs_force_reruns_and_inputs_make_stale(
        client: Any, tmp_path: Path) -> None:
    a = tiny(tmp_path / "a", "a")
    b = tiny(tmp_path / "b", "b", homes_min=30)
    out = tmp_path / "out"

    def run(**kw: Any) -> dict[str, dict[str, Any]]:
        code = batch.main([a, b], [], out, client=client, echo=lambda s: None, **kw)
        rows = by_id(json.loads((out / "batch.json").read_text())["runs"])
        assert code == 0, rows
        return rows

    def stamps() -> dict[str, int]:
        return {rid: (out / rid / "manifest.json").stat().st_mtime_ns for rid in ("a", "b")}

    first = run()
    assert {r["status"] for r in first.values()} == {"optimal"}
    t1 = stamps()
    second = run()
    assert {r["status"] for r in second.values()} == {"skipped"}
    assert second["b"]["message"].startswith("skipped (up to date): optimal")
    assert stamps() == t1
    # a skipped run still reports its numbers (read from its outputs)
    for key in ("objective", "new_homes", "solar_wind_ha", "targets_met"):
        assert second["b"][key] == first["b"][key]
    forced = run(force=True)
    assert {r["status"] for r in forced.values()} == {"optimal"}
    t2 = stamps()
    assert t2["a"] != t1["a"] and t2["b"] != t1["b"]
    # a changed layer file of a's area makes only a stale
    zone = np.zeros((4, 4), np.int32)
    zone[2:, 2:] = 1
    write_tif(tmp_path / "a" / "area" / "zone.tif", zone, 100.0)
    third = run()
    assert third["a"]["status"] == "optimal" and third["b"]["status"] == "skipped"
    t3 = stamps()
    assert t3["a"] != t2["a"] and t3["b"] == t2["b"]
    # so does a changed scenario (a thread count: see the fingerprint test)
    tiny(tmp_path / "b", "b", homes_min=40)
    fourth = run()
    assert fourth["a"]["status"] == "skipped" and fourth["b"]["status"] == "optimal"
    assert fourth["b"]["new_homes"] == 40


def test_fingerprint_is_what_the_manifest_records(tmp_path: Path) -> None:
    sc = tiny(tmp_path)
    out = tmp_path / "out"
    # in-process solves keep the scenario's thread count: HiGHS cannot change it within one
    # process (see the report on `solver.threads`)
    api.solve(sc, out)
    fp = api.fingerprint(sc)
    assert api.is_up_to_date(out, fp)
    assert fp["scenario"]["solver"]["threads"] == 2
    assert not api.is_up_to_date(out, api.fingerprint(sc, threads=1))
    assert not api.is_up_to_date(tmp_path / "elsewhere", fp)
    manifest = json.loads((out / "manifest.json").read_text())
    assert fp["inputs"]["sha256"] == manifest["inputs"]["sha256"]
    assert set(fp["inputs"]["sha256"]) == {"area.yaml", "landuse", "regions", "zone"}
    manifest["ruimteverdeling"] = "0.0.0"  # written by another engine version
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert not api.is_up_to_date(out, fp)
    manifest["ruimteverdeling"] = fp["engine"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert api.is_up_to_date(out, fp)
    (out / "change.tif").unlink()  # an output gone: not up to date
    assert not api.is_up_to_date(out, fp)
    manifest["complete"] = False
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert not api.is_up_to_date(out, fp)


# ------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------
def test_cli_batch_local_cluster_end_to_end(tmp_path: Path) -> None:
    """`--workers 2` starts its own LocalCluster and leaves no process behind."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    good = tiny(tmp_path)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["batch", str(good), str(infeasible(tmp_path)), "--workers",
                                  "2", "-o", str(out)])
    assert r.exit_code == 1, r.output
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert "[1/2]" in r.stderr and "[2/2]" in r.stderr
    assert "a local cluster of 2 workers" in r.stderr
    assert "id " in r.stdout and "targets met" in r.stdout and "failed runs:" in r.stdout
    assert (out / "batch.csv").exists() and (out / "batch.json").exists()
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before
            and "resource_tracker" not in " ".join(p.cmdline())]
    _gone, alive = psutil.wait_procs(left, timeout=5)
    assert not alive, alive


def test_cli_batch_on_a_running_scheduler(client: Any, tmp_path: Path) -> None:
    good = tiny(tmp_path)
    out = tmp_path / "out"
    args = ["batch", str(good), "--scheduler", client.scheduler.address, "-o", str(out), "-q"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0 and "skipped" in r.stdout and "1 skipped (1 run)" in r.stdout
    # --area: another study area for every run, so the run is stale and solved on it
    other = tiny(tmp_path / "other")
    other_area = Path(yaml.safe_load(other.read_text())["area"])
    r = CliRunner().invoke(main, [*args, "--area", str(other_area)])
    assert r.exit_code == 0 and "1 optimal (1 run)" in r.stdout, r.output
    manifest = json.loads((out / "tiny" / "manifest.json").read_text())
    assert manifest["inputs"]["area"] == str(other_area.resolve())


@pytest.mark.parametrize("case, words", [
    ({"parameters": {"targets.homez.min": [1]}},
     ["parameters.targets.homez.min", "no item with id 'homez'", "did you mean 'homes'"]),
    ({"parameters": {"rules.no_solar.enabled": [True]}},
     ["no item with id 'no_solar'", "did you mean 'no_solar_zone'"]),
    ({"parameters": {"targets.homes.min": []}},
     ["parameters", "empty value list for targets.homes.min", "give at least one value"]),
    ({"parameters": {}}, ["no parameters to sweep"]),
    ({"parameters": {"targets..min": [1]}}, ["not a valid path", "empty part"]),
    ({"parameters": {"targets[homes.min": [1]}}, ["unbalanced brackets"]),
    ({"parameters": {"targets.homes.min": 5}}, ["parameters.targets.homes.min",
                                                "give a list"]),
    ({"parameters": {"targets.homes.min": [20, "lots", -3]}},
     ["parameters.targets.homes.min[1]", '"lots"', "parameters.targets.homes.min[2]",
      "must not be negative"]),
    ({"parameters": {"targets.homes.minn": [1]}}, ["unknown key 'minn'", "did you mean 'min'"]),
    ({"parameters": {"targets.homes.min.x": [1]}}, ["is a number in the base"]),
    ({"parameters": {"id": ["x"]}}, ["`id` cannot be swept"]),
    ({"parameters": {"targets.homes.min": [1], "targets[homes].min": [2]}},
     ["overlaps"]),
    ({"parameters": {"targets.homes.min": [50], "targets.homes.max": [40]}},
     ["point sw__min-50__max-40 is not a valid scenario", "larger than `max`"]),
    ({"paramters": {"targets.homes.min": [1]}}, ["unknown key 'paramters'",
                                                 "did you mean 'parameters'"]),
    ({"base": "nowhere.yaml", "parameters": {"targets.homes.min": [1]}},
     ["base", "base scenario not found"]),
])
def test_cli_bad_sweep_file_is_a_clear_error(tmp_path: Path, case: dict[str, Any],
                                             words: list[str]) -> None:
    base = tiny(tmp_path)
    sw = tmp_path / "sweep.yaml"
    sw.write_text(yaml.safe_dump({"base": str(base), "id": "sw", **case}, sort_keys=False))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["batch", "--sweep", str(sw), "-o", str(out)])
    assert r.exit_code == 2, (r.output, r.exception)
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert str(sw) in r.output
    for w in words:
        assert w in r.output, (w, r.output)
    assert "fix:" in r.output
    assert not out.exists()  # nothing was written, no task started


def test_cli_batch_input_errors(tmp_path: Path) -> None:
    good = tiny(tmp_path)
    o = str(tmp_path / "o")
    cases = [
        (["batch", "-o", o], "nothing to run"),
        (["batch", str(good), "--workers", "2", "--scheduler", "tcp://x:1", "-o", o],
         "give either --workers"),
        (["batch", str(good), str(good), "-o", o], "run 'tiny' is listed twice"),
        (["batch", str(good), "--area", str(tmp_path / "no.yaml"), "-o", o],
         "study area not found"),
    ]
    for args, words in cases:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2 and words in r.output and "fix:" in r.output, (args, r.output)
    other = tiny(tmp_path / "other")
    r = CliRunner().invoke(main, ["batch", str(good), str(other), "-o", o])
    assert r.exit_code == 2 and "has the same id as" in r.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(InputError, match="cannot connect to the Dask scheduler"), \
            dask_client(scheduler="tcp://127.0.0.1:9", connect_timeout=0.5):
        pass


def test_a_process_can_solve_with_another_thread_count(tmp_path: Path) -> None:
    sc = tiny(tmp_path)
    code = ("import sys; from ruimteverdeling import api\n"
            "for n in (1, 2):\n"
            "    api.solve(sys.argv[1], write=False, threads=n)\n")
    p = subprocess.run([sys.executable, "-c", code, str(sc)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
