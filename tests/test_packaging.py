"""The package as pip installs it: the shipped scenarios as package data, the demo in the
current folder, synthetic areas of an earlier generator, and a real wheel in a fresh venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from ruimteverdeling import api, paths
from ruimteverdeling.area.manifest import load_manifest
from ruimteverdeling.errors import InputError
from ruimteverdeling.rules import load_scenario
from ruimteverdeling.synthetic import provenance
from ruimteverdeling.synthetic.codes import GENERATOR_VERSION

from areas import BASE, REPO

OLD = "synthetic-nl 1.0"


def test_the_shipped_scenarios_are_package_data() -> None:
    """The seven scenarios (the base, five variants, the pathways) load through
    importlib.resources from the package's own folder, which in the checkout is a link to
    scenarios/ (one copy in git), and the wheel's package data lists them."""
    folder = files("ruimteverdeling") / "data" / "scenarios"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert names == sorted(p.name for p in (REPO / "scenarios").glob("*.yaml"))
    assert len(names) == 7
    for name in names:
        assert (folder / name).read_bytes() == (REPO / "scenarios" / name).read_bytes()
        scenario = load_scenario(paths.shipped_scenarios() / name)  # `extends:` inside it
        assert Path(scenario.path).parent.resolve() == paths.shipped_scenarios().resolve()
    link = REPO / "src" / "ruimteverdeling" / "data" / "scenarios"
    assert link.is_symlink() and link.resolve() == (REPO / "scenarios").resolve()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/scenarios/*.yaml" in pyproject["tool"]["setuptools"]["package-data"][
        "ruimteverdeling"]


# ------------------------------------------------------------------------------------------------
# synthetic areas of an earlier generator
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outdated_area(demo_area: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo area as the generator wrote it (the engine's by its area.yaml, which lists
    every file), but as an earlier generator could have: its area.yaml says so, the layer that
    generator did not write is missing, and a decided rule's mask is empty. (The demo's own
    size: its base solve takes seconds, while tiny areas make a hard MIP.)"""
    folder = tmp_path_factory.mktemp("outdated") / "demo"
    shutil.copytree(demo_area.parent, folder)
    doc = yaml.safe_load((folder / "area.yaml").read_text(encoding="utf-8"))
    doc["generator"]["generator_version"] = OLD
    (folder / doc["layers"].pop("coastal_foundation")["file"]).unlink()
    # and the river reservations of a decided rule were empty
    with rasterio.open(folder / doc["layers"]["river_reservation"]["file"], "r+") as ds:
        ds.write(np.zeros((ds.height, ds.width), ds.dtypes[0]), 1)
    for layer in doc["layers"].values():
        layer["version"] = OLD
    (folder / "area.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


def _demo_root(tmp_path: Path, outdated_area: Path) -> tuple[Path, Path]:
    root = tmp_path / "work"
    area_dir = root / "inputs" / "demo"
    shutil.copytree(outdated_area, area_dir)
    return root, area_dir


def test_missing_layers_of_an_outdated_area_say_to_regenerate(tmp_path: Path,
                                                              outdated_area: Path) -> None:
    _, area_dir = _demo_root(tmp_path, outdated_area)
    with pytest.raises(InputError) as err:
        api.validate(BASE, area=area_dir / "area.yaml")
    (p,) = [p for p in err.value.problems if "'coastal_foundation'" in p.message]
    assert "rule 'coastal_foundation_free' (status G) needs layer" in p.message
    assert p.fix.startswith(f"the study area was made by {OLD}; regenerate with make-area")
    command = (f"make-area {area_dir} --cells {api.DEMO_CELLS} --resolution "
               f"{api.DEMO_RESOLUTION:g} --seed {api.DEMO_SEED}")
    assert command in p.fix
    # the empty mask under a decided rule says the same, after the usual fixes
    (q,) = [q for q in err.value.problems if "protects nothing" in q.message]
    assert "rule 'river_reservation_no_permanent_building' (status G)" in q.message
    assert f"; the study area was made by {OLD}; regenerate with make-area" in q.fix
    assert q.fix.endswith(f"`ruimteverdeling {command}`")


def test_demo_regenerates_an_outdated_area_of_its_own(tmp_path: Path, outdated_area: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    root, area_dir = _demo_root(tmp_path, outdated_area)
    run = api.demo(root=root)
    assert f"{area_dir} was made by {OLD}; regenerating it with {GENERATOR_VERSION}" in \
        capsys.readouterr().err
    manifest = load_manifest(area_dir / "area.yaml")
    assert manifest.generator["generator_version"] == GENERATOR_VERSION
    assert provenance.of_manifest(manifest) is None and "coastal_foundation" in manifest.layers
    assert run.out_dir == root / "outputs" / "base"
    assert json.loads((run.out_dir / "manifest.json").read_text())["complete"] is True
    assert Path(run.scenario.path).resolve() == \
        (paths.shipped_scenarios() / "base.yaml").resolve()


def test_an_outdated_area_that_is_not_the_engines_is_refused(tmp_path: Path,
                                                             outdated_area: Path) -> None:
    root, area_dir = _demo_root(tmp_path, outdated_area)
    (area_dir / "my-notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in area_dir.iterdir()}
    with pytest.raises(InputError) as err:
        api.demo(root=root)
    (p,) = err.value.problems
    assert p.file == area_dir / "area.yaml"
    assert p.message.startswith(f"made by {OLD}, while this engine's scenarios need the "
                                f"layers of {GENERATOR_VERSION}")
    assert p.fix.startswith("regenerate with make-area: `ruimteverdeling make-area")
    assert {p.name: p.read_bytes() for p in area_dir.iterdir()} == before
    assert not (root / "outputs").exists()


# ------------------------------------------------------------------------------------------------
# the wheel, installed into a fresh venv, run in an empty folder
# ------------------------------------------------------------------------------------------------
def _source_tree(dest: Path) -> Path:
    """What the build backend reads, copied out of the checkout (so the build writes nothing
    into it); the link to scenarios/ is copied as a link."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", dest / "src", symlinks=True, ignore=skip)
    shutil.copytree(REPO / "scenarios", dest / "scenarios")
    return dest


@pytest.mark.slow
def test_the_wheel_runs_the_demo_without_the_source_tree(tmp_path: Path) -> None:
    """Build the wheel with the real build backend (offline: the setuptools of this
    environment, no build isolation), install it without its dependencies into a new venv
    that sees the dependencies of this environment but not its editable install, and run
    `ruimteverdeling demo` in an empty folder: the scenario comes from the installed package,
    inputs/ and outputs/ go to the current folder. About 30 s."""
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--no-index", "--quiet", "-w", str(wheels),
                            str(_source_tree(tmp_path / "source"))],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("ruimteverdeling-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped_names = {n for n in zf.namelist() if n.startswith("ruimteverdeling/data/scen")}
    assert shipped_names == {f"ruimteverdeling/data/scenarios/{p.name}"
                             for p in (REPO / "scenarios").glob("*.yaml")}
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # without PYTHONPATH: a checkout's src/ on it makes pip see the package as installed in
    # the new venv and install nothing
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "--no-deps", "--no-index", "--quiet", str(wheel)],
                             capture_output=True, text=True, env=clean)
    assert install.returncode == 0, install.stderr[-2000:]
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies of this environment, as a plain path: its .pth files (the editable
    # install of the checkout among them) are not read through it
    Path(site, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp_path / "empty"
    work.mkdir()
    env = dict(clean)
    env.update(RUIMTEVERDELING_CACHE=str(tmp_path / "cache"), PYTHONWARNINGS="ignore")
    where = subprocess.run([python, "-c", "import ruimteverdeling, sys; "
                            "print(ruimteverdeling.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(env_dir) and not Path(where).is_relative_to(REPO)
    demo = subprocess.run([env_dir / "bin" / "ruimteverdeling", "demo", "-q"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "scenario base: " in demo.stdout and "outputs: outputs/base" in demo.stdout
    assert sorted(p.name for p in work.iterdir()) == ["inputs", "outputs"]
    manifest = json.loads((work / "outputs" / "base" / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["status"] in ("optimal", "feasible")
    assert manifest["bound"] >= manifest["objective"] - 1e-6
    shipped = Path(site) / "ruimteverdeling" / "data" / "scenarios" / "base.yaml"
    assert shipped.is_file() and not shipped.is_symlink()
    assert str(shipped.resolve()) in json.dumps(manifest)  # the installed package's copy
    assert (work / "inputs" / "demo" / "area.yaml").is_file()
    # what the demo says to do next: copy the scenarios beside inputs/ and use them there
    assert f"scenario: {shipped.resolve()}" in demo.stdout
    shutil.copytree(shipped.parent, work / "scenarios")
    check = subprocess.run([env_dir / "bin" / "ruimteverdeling", "validate",
                            "scenarios/water-first.yaml"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "scenarios/water-first.yaml: OK" in check.stdout
