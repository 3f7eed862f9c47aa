"""The command line end to end, and what users see when their input is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner

from ruimteverdeling.cli import main

from areas import BASE, REPO, SRC, hand_case, write_area, write_scenario, write_tif


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_make_area_validate_solve(tmp_path: Path) -> None:
    """The base scenario validates and solves on a synthetic area of 1 km cells: its river
    reservation (a decided rule's mask) has land even where the patches are thinner than a
    cell."""
    area_dir = tmp_path / "area"
    r = invoke("make-area", area_dir, "--cells", "4000", "--resolution", "1000", "--seed", "3",
               "-q")
    assert r.exit_code == 0, r.output
    assert (area_dir / "area.yaml").exists()
    r = invoke("validate", BASE, "--area", area_dir / "area.yaml")
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "changeable_cells" in r.output
    out = tmp_path / "out"
    r = invoke("solve", BASE, "--area", area_dir / "area.yaml",
               "-o", out, "-q", "--time-limit", "30")
    assert r.exit_code == 0, r.output
    assert "targets met" in r.output
    # the headline gap is the decision gap, worked out again from the summary's figures
    summary = json.loads((out / "summary.json").read_text())
    z, bound, sq = summary["objective"], summary["bound"], summary["status_quo_value"]
    value = max(0.0, bound - z) / max(abs(z - sq), 1e-12)
    assert summary["decision_gap"] == pytest.approx(value, rel=1e-6, abs=1e-9)
    assert f"decision gap {summary['decision_gap']:.3%}" in r.output
    for name in ("allocation.tif", "change.tif", "areas.csv", "targets.csv", "summary.json",
                 "manifest.json", "allocation.tif.aux.xml", "allocation.qml"):
        assert (out / name).exists(), name
    with rasterio.open(out / "allocation.tif") as src, \
            rasterio.open(area_dir / "landuse.tif") as lu:
        assert src.crs == lu.crs and src.transform == lu.transform and src.shape == lu.shape
        cmap = src.colormap(1)
        assert cmap[1][:3] == (0xD7, 0x30, 0x1F)  # housing red from the use catalogue
    aux = (out / "allocation.tif.aux.xml").read_text()
    assert "<Category>Wonen / Housing</Category>" in aux
    assert 'label="Landbouw / Agriculture"' in (out / "allocation.qml").read_text()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_console_script_and_exit_code(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "ruimteverdeling"
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n  area: [\n")
    p = subprocess.run([str(exe), "solve", str(bad)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert str(bad.resolve()) in p.stderr and "not valid YAML" in p.stderr



def test_cli_limits_are_the_engines() -> None:
    """The limits the CLI checks options against while parsing are the engine's own: the
    CLI repeats them so that parsing loads no engine module, and must not drift from them."""
    from ruimteverdeling import bench, cli
    from ruimteverdeling.model import options
    from ruimteverdeling.scenario import schema

    assert cli.MAX_TIME_LIMIT == options.MAX_TIME_LIMIT
    assert cli.MAX_THREADS == options.MAX_THREADS
    assert cli.MAX_DISTANCE_M == schema.MAX_DISTANCE_M
    assert cli.PEERS == bench.PEERS
    assert cli.PEER_MEMORY_MB == bench.PEER_MEMORY_MB


_HEAVY = ("ruimteverdeling.api", "ruimteverdeling.model.highs_backend", "ruimteverdeling.bench",
          "ruimteverdeling.batch", "scipy", "pydantic", "highspy", "pyomo", "geopandas",
          "rasterio", "matplotlib", "dask", "jinja2", "importlib.metadata")


def _modules_after(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI with ``args`` in a fresh interpreter; its output and the heavy modules it
    had loaded when it exited."""
    code = ("import sys\nfrom ruimteverdeling.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "finally:\n    print('LOADED', *sorted(m for m in sys.modules if m in "
            f"{_HEAVY!r}), file=sys.stderr)\n")
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(
                           [str(REPO / "src"), os.environ.get("PYTHONPATH", "")])})
    line = next(ln for ln in p.stderr.splitlines() if ln.startswith("LOADED"))
    return p, set(line.split()[1:])


def test_help_and_version_load_no_engine_module() -> None:
    """`--help`, a command's `--help` and `--version` answer without importing the engine,
    its solver or its heavy libraries (they are imported by the command that needs them)."""
    for args in (["--help"], ["solve", "--help"], ["bench", "--help"]):
        p, loaded = _modules_after(*args)
        assert p.returncode == 0, p.stderr
        assert "Usage:" in p.stdout
        assert loaded == set(), (args, loaded)
    p, loaded = _modules_after("--version")
    assert p.returncode == 0, p.stderr
    from ruimteverdeling import __version__
    assert p.stdout == f"ruimteverdeling, version {__version__}\n"
    assert loaded == {"importlib.metadata"}


def test_a_bad_option_is_reported_before_the_engine_loads() -> None:
    """A time limit out of range is refused at parse time (exit 2), with the engine's limit
    in the message, and nothing of the engine is imported for it."""
    p, loaded = _modules_after("solve", "x.yaml", "--time-limit", "1e9")
    assert p.returncode == 2
    assert "between 1 and 1e+07" in p.stderr
    assert loaded == set()


def _bad_case(tmp_path: Path, kind: str) -> list[str]:
    """Arguments of a `solve` call with one kind of mistake."""
    good = hand_case(tmp_path)
    data = yaml.safe_load(good.read_text())
    area_yaml = Path(data["area"])
    if kind == "unknown_key":
        data["targets"][0]["minn"] = 3
    elif kind == "unknown_use":
        data["targets"][0]["use"] = "hausing"
    elif kind == "unknown_layer":
        data["suitability"]["housing"]["terms"][0]["layer"] = "s_hh"
    elif kind == "negative":
        data["targets"][0]["min"] = -2
    elif kind == "impossible":
        data["targets"][0]["min"] = 50
    elif kind == "missing_area":
        data["area"] = str(tmp_path / "nowhere" / "area.yaml")
    elif kind in ("other_crs", "other_extent"):
        m = yaml.safe_load(area_yaml.read_text())
        if kind == "other_crs":
            write_tif(area_yaml.parent / "s_h.tif", np.ones((3, 3), np.float32), 0.001,
                      crs="EPSG:4326", left=5.0, top=52.0)
        else:
            write_tif(area_yaml.parent / "s_h.tif", np.ones((2, 3), np.float32), 100.0)
        area_yaml.write_text(yaml.safe_dump(m))
    elif kind == "missing_layer_file":
        (area_yaml.parent / "s_h.tif").unlink()
    write_scenario(good, data)
    return ["solve", str(good), "-o", str(tmp_path / "out"), "-q"]


@pytest.mark.parametrize("kind, words", [
    ("unknown_key", ["targets[0].minn", "did you mean 'min'"]),
    ("unknown_use", ["targets[0].use", "did you mean 'housing'"]),
    ("unknown_layer", ["suitability.housing.terms[0].layer", "did you mean 's_h'"]),
    ("negative", ["targets[0]", "must not be negative"]),
    ("impossible", ["targets[0].min", "asks at least 50 ha"]),
    ("missing_area", ["area", "study area not found"]),
    ("other_crs", ["layers.s_h.file", "EPSG:4326"]),
    ("other_extent", ["layers.s_h.file", "covers"]),
    ("missing_layer_file", ["layers.s_h.file", "file not found"]),
])
def test_bad_input_is_a_clear_error(tmp_path: Path, kind: str, words: list[str]) -> None:
    args = _bad_case(tmp_path, kind)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, (r.output, r.exception)
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    for w in words:
        assert w in r.output, (w, r.output)
    assert "fix:" in r.output
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))


def test_validate_reads_every_layer(tmp_path: Path) -> None:
    """A broken layer the scenario does not use is still reported by validate."""
    good = hand_case(tmp_path)
    area_yaml = Path(yaml.safe_load(good.read_text())["area"])
    m = yaml.safe_load(area_yaml.read_text())
    write_tif(area_yaml.parent / "unused.tif", np.ones((3, 3), np.float32), 0.001,
              crs="EPSG:4326", left=5.0, top=52.0)
    m["layers"]["unused"] = {"file": "unused.tif", "kind": "continuous"}
    area_yaml.write_text(yaml.safe_dump(m))
    r = invoke("validate", good)
    assert r.exit_code == 2 and "layers.unused.file" in r.output


def test_failed_write_leaves_no_complete_folder(tmp_path: Path, monkeypatch) -> None:
    from ruimteverdeling.results import rasters

    sc = hand_case(tmp_path)
    out = tmp_path / "out"
    r = invoke("solve", sc, "-o", out, "-q")
    assert r.exit_code == 0
    before = json.loads((out / "manifest.json").read_text())["finished"]

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rasters, "write_change", boom)
    r = CliRunner().invoke(main, ["solve", str(sc), "-o", str(out), "-q"])
    assert r.exit_code == 130
    # the earlier complete result is untouched and no partial folder is left behind
    assert json.loads((out / "manifest.json").read_text())["finished"] == before
    assert not list(tmp_path.glob(".out.*"))


def test_soft_penalty_and_infeasible_exit_code(tmp_path: Path) -> None:
    lu = [[3, 3], [3, 3]]
    area = write_area(tmp_path / "a", lu)
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "clash", "area": str(area),
        "targets": [{"id": "h", "use": "housing", "min": 3, "source": SRC},
                    {"id": "n", "use": "nature", "min": 2, "source": SRC}],
    })
    r = CliRunner().invoke(main, ["solve", str(sc), "-o", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 3 and "infeasible" in r.output
    assert not (tmp_path / "o").exists()


def test_validate_needs_lists_present_and_missing_layers(tmp_path: Path) -> None:
    """`validate --needs` names every layer the scenario's rules and targets use, and says
    which the study area lacks; it does not need the area to be complete."""
    area_yaml = Path(yaml.safe_load(hand_case(tmp_path).read_text())["area"])
    r = invoke("validate", REPO / "scenarios" / "base.yaml", "--area", area_yaml, "--needs")
    assert r.exit_code == 0, r.output
    assert "uiterwaarden" in r.output and "MISSING" in r.output
    assert "no_new_building_uiterwaarden" in r.output


def test_the_cli_process_exits_without_a_last_collection(tmp_path: Path) -> None:
    """The CLI's process leaves its heap to the operating system at exit: a reference cycle
    still in memory when it ends is not collected (its finaliser does not run), while the
    exit handlers registered after the CLI was loaded still run (they run before it)."""
    code = (
        "import atexit, gc\n"
        "import ruimteverdeling.cli\n"
        "class Cycle:\n"
        "    def __del__(self):\n"
        "        print('collected', flush=True)\n"
        "atexit.register(lambda: print('handler ran', flush=True))\n"
        "gc.disable()\n"
        "c = Cycle(); c.me = c; del c\n")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["handler ran"]
