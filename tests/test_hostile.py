"""Hostile and careless input: alias bombs, extreme numbers, damaged layers, absurd sizes.

The rule for every case: exit code 2 with a message that names the file (or option), the
field and the fix — never a traceback, never a hang, never memory exhaustion, and never an
"optimal" run that breaks a hard target. Cases that could exhaust memory on a regression run
in a subprocess under an address-space limit (``RLIMIT_AS``), so a regression fails the test
instead of taking the machine down.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from ruimteverdeling import api, yamlio
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InputError, SolverError
from ruimteverdeling.model.options import MAX_THREADS, SolverOptions

from areas import REPO, SRC, hand_case, write_area, write_scenario

MEMORY_LIMIT = 1536 * 2**20  # bytes of address space for the subprocesses below
BOMB_MESSAGE = "expands to more than"


def bomb(levels: int = 9) -> str:
    """A "billion laughs" in YAML flow style: 9 anchors, each nine aliases of the one before
    (9**9 = 387 M strings when expanded; 300 bytes of text)."""
    names = "abcdefghijklmnop"[:levels]
    parts = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * 9)}]"]
    for prev, name in itertools.pairwise(names):
        parts.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "{" + ", ".join(parts) + "}"


def run_limited(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``ruimteverdeling ARGS`` in a subprocess that may use at most MEMORY_LIMIT bytes."""
    code = ("import resource, sys\n"
            f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
            "from ruimteverdeling.cli import main\n"
            "sys.argv = ['ruimteverdeling', *sys.argv[1:]]\n"
            "main()\n")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    # a session of its own: on a timeout the whole group goes (Dask workers included)
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def assert_refused(p: subprocess.CompletedProcess, file: Path, message: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr[-3000:])
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert p.stderr.startswith("error: "), p.stderr
    assert str(file) in p.stderr and message in p.stderr, p.stderr


# ------------------------------------------------------------------------------------------
# denial of service: one guarded YAML loader for every user file
# ------------------------------------------------------------------------------------------
def _scenario_with(tmp_path: Path, extra: str) -> Path:
    """The 3×3 hand case with ``extra`` YAML text appended at the top level."""
    scenario = hand_case(tmp_path)
    scenario.write_text(scenario.read_text() + extra)
    return scenario


def test_bomb_in_a_scenario_is_refused_by_validate_and_solve(tmp_path: Path) -> None:
    scenario = _scenario_with(tmp_path, "overrides:\n- {rule: three_uses, action: set, "
                              f"justification: hidden in a parameter change, set: {bomb()}}}\n")
    for cmd in (["validate", scenario], ["solve", scenario, "-o", tmp_path / "out", "-q"]):
        t0 = time.perf_counter()
        p = run_limited(*cmd, cwd=tmp_path)
        assert_refused(p, scenario, BOMB_MESSAGE)
        assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "out").exists()


def test_bomb_in_area_yaml_is_refused(tmp_path: Path) -> None:
    scenario = hand_case(tmp_path)
    area = Path(yaml.safe_load(scenario.read_text())["area"])
    area.write_text(area.read_text() + f"generator: {bomb()}\n")
    assert_refused(run_limited("validate", scenario, cwd=tmp_path), area, BOMB_MESSAGE)


def test_bomb_in_a_batch_scenario_is_refused_before_anything_runs(tmp_path: Path) -> None:
    """The batch fingerprint used to expand the aliases of ``overrides[].set`` and exhaust
    memory; now the batch's own input check refuses the file (exit 2, nothing runs)."""
    scenario = _scenario_with(tmp_path, "overrides:\n- {rule: three_uses, action: set, "
                              f"justification: hidden in a parameter change, set: {bomb()}}}\n")
    scenario.write_text(scenario.read_text().replace("id: hand", "id: bombed"))
    good = hand_case(tmp_path / "good")
    p = run_limited("batch", good, scenario, "-o", tmp_path / "batch", "-q", cwd=tmp_path)
    assert_refused(p, scenario, BOMB_MESSAGE)
    assert not (tmp_path / "batch" / "hand").exists()


def test_bomb_in_a_sweep_file_is_refused(tmp_path: Path) -> None:
    base = hand_case(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {base.name}\nparameters:\n  targets.h.min: [1, {bomb()}]\n")
    p = run_limited("batch", "--sweep", sweep, "-o", tmp_path / "batch", "-q", cwd=tmp_path)
    assert_refused(p, sweep, BOMB_MESSAGE)


def test_bomb_in_assessment_thresholds_is_refused(tmp_path: Path) -> None:
    scenario = hand_case(tmp_path)
    thresholds = tmp_path / "mer.yaml"
    thresholds.write_text(f"parameters: {bomb()}\n")
    p = run_limited("compare", scenario, scenario, "-o", tmp_path / "cmp", "--thresholds",
                    thresholds, "-q", cwd=tmp_path)
    assert_refused(p, thresholds, BOMB_MESSAGE)


def test_bomb_in_a_cached_coarsening_report_is_refused(tmp_path: Path) -> None:
    from ruimteverdeling.area import coarsen as co

    area = write_area(tmp_path / "area", np.full((4, 4), 3))
    out_root = tmp_path / "cache"
    folder = out_root / f"area_200m_{co._cache_key(area.resolve(), 2)}"
    folder.mkdir(parents=True)
    (folder / "area.yaml").write_text("name: x\n")
    (folder / "coarsening.yaml").write_text(f"study_area: {bomb()}\n")
    with pytest.raises(yamlio.YamlGuardError, match=BOMB_MESSAGE) as err:
        co.coarsen(area, 200.0, out_root)
    assert err.value.problems[0].file == folder / "coarsening.yaml"


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 100 + "]" * 100, "more than 64 levels deep"),
    ("a: &a " + "[" * 40 + "1" + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30,
     "more than 64 levels deep"),  # nesting through an alias counts
    ("a: &a [1, *a]", "used inside the node it refers to"),
    ("min: 1\nmax: 2\nmin: 3\n", "the key 'min' is given twice in one mapping (lines 1 and 3)"),
    ("a: 2024-13-45", "cannot be read (timestamp)"),
    ("a: !!int twelve", "cannot be read (int)"),
    ("a: " + "9" * 5000, "cannot be read (int)"),
    ("a: 0x" + "f" * 100, "an integer of 400 bits"),
    ("a: !!python/object:os.system x", "not valid YAML"),
])
def test_hostile_yaml_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=None) as err:
        yamlio.load(text, "f.yaml")
    p = err.value.problems[0]
    assert p.file == "f.yaml" and p.field and p.field.startswith("line "), p
    assert message in p.message, p.message


def test_ordinary_anchors_are_read_as_before() -> None:
    text = ("src: &src {document: Nota Ruimte, section: '3.1'}\n"
            "base: &base {min: 1, source: *src}\n"
            "targets:\n- {<<: *base, id: a}\n- {<<: *base, id: b, min: 2}\n")
    data = yamlio.load(text)
    assert data == yaml.safe_load(text)
    assert data["targets"][1] == {"min": 2, "source": data["src"], "id": "b"}


def test_yaml_1_1_boolean_words_as_keys_stay_text() -> None:
    """`on: any` is the key "on" (YAML 1.1 would make it True); values keep their meaning,
    and a quoted or tagged key is read as written."""
    text = ("on: any\nOFF: 1\nYes: [on, off, yes]\nNo: {n: 1, y: 2}\n'on2': x\n"
            "rule: {on: new, enabled: no}\n")
    assert yaml.safe_load("on: any") == {True: "any"}  # what PyYAML alone makes of it
    data = yamlio.load(text)
    assert data == {"on": "any", "OFF": 1, "Yes": [True, False, True], "No": {"n": 1, "y": 2},
                    "on2": "x", "rule": {"on": "new", "enabled": False}}
    assert yamlio.load("!!bool on: t\n") == {True: "t"}  # tagged: as written
    # an alias of a scalar (anchored value or key) is read like any other alias
    assert yamlio.load("a: &x 1\nb: *x\nc: &k on\nd: *k\n") == \
        {"a": 1, "b": 1, "c": True, "d": True}
    with pytest.raises(InputError, match="the key 'on' is given twice"):
        yamlio.load("on: 1\n'on': 2\n")  # one key, given twice


def test_a_cost_rule_written_with_a_plain_on_key() -> None:
    from ruimteverdeling.rules import load_scenario

    assert "\n    on: any\n" in (REPO / "scenarios" / "base.yaml").read_text(encoding="utf-8")
    rule = next(r for r in load_scenario(REPO / "scenarios" / "base.yaml").rules
                if r.id == "peat_high_water_table")
    assert rule.on == "any"


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200)
    with pytest.raises(yamlio.YamlGuardError, match="203 bytes") as err:
        yamlio.load_file(big)
    assert err.value.problems[0].file == big


def test_every_reader_of_user_yaml_uses_the_guarded_loader() -> None:
    """A new ``yaml.safe_load`` of a user's file would bypass the guard: apart from the
    loader itself, only the readers of the package's own data files call PyYAML's loaders."""
    import ast

    loaders = {"load", "safe_load", "full_load", "unsafe_load", "load_all", "safe_load_all",
               "compose", "compose_all"}
    shipped_data = {("uses.py", "default"), ("indicators.py", "_default_assessment_data")}
    found = set()
    for path in Path(api.__file__).parent.rglob("*.py"):
        if path.name == "yamlio.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr in loaders and isinstance(node.func.value, ast.Name) \
                        and node.func.value.id == "yaml":
                    found.add((path.name, fn.name))
    assert found <= shipped_data, found - shipped_data


def test_absurd_thread_count_is_refused(tmp_path: Path) -> None:
    scenario = _scenario_with(tmp_path, "solver: {threads: 100000}\n")
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 2, r.output
    assert "solver.threads: 100,000 threads is more than the 256" in r.stderr
    assert SolverOptions(threads=MAX_THREADS).threads == MAX_THREADS


# ------------------------------------------------------------------------------------------
# tracebacks that were: damaged layers, absurd options and sizes
# ------------------------------------------------------------------------------------------
def test_truncated_geotiff_is_an_input_error_in_validate_and_solve(tmp_path: Path) -> None:
    """The header opens, a data block does not: the layer, the file and the fix are named."""
    scenario = hand_case(tmp_path)
    layer = Path(yaml.safe_load(scenario.read_text())["area"]).parent / "s_h.tif"
    data = layer.read_bytes()
    layer.write_bytes(data[:-20])  # GDAL writes the header first, the pixels last
    for cmd in (["validate", scenario], ["solve", scenario, "-o", tmp_path / "out", "-q"]):
        r = CliRunner().invoke(main, [str(c) for c in cmd])
        assert r.exit_code == 2, (r.output, r.exception)
        assert "layers.s_h.file: cannot read the data of layer 's_h' from" in r.stderr
        assert str(layer) in r.stderr and "damaged or incomplete" in r.stderr
        assert "gdalinfo -checksum" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("option", "value"), [
    ("--resolution", "nan"), ("--resolution", "1e308"), ("--resolution", "inf"),
    ("--time-limit", "nan"), ("--time-limit", "-inf"), ("--time-limit", "0"),
])
def test_non_finite_or_absurd_cli_numbers_are_refused(tmp_path: Path, option: str,
                                                       value: str) -> None:
    scenario = hand_case(tmp_path)
    r = CliRunner().invoke(main, ["solve", str(scenario), "-o", str(tmp_path / "out"),
                                  option, value])
    assert r.exit_code == 2, r.output
    assert f"Invalid value for '{option}'" in r.stderr, r.stderr
    assert "finite number" in r.stderr or "is not between 1 and" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_api_checks_the_solver_overrides_and_the_resolution(tmp_path: Path) -> None:
    scenario = hand_case(tmp_path)
    with pytest.raises(InputError, match="--time-limit: Input should be a finite number"):
        api.solve(scenario, write=False, time_limit=float("nan"))
    with pytest.raises(InputError, match="--threads: 100,000 threads is more than"):
        api.solve(scenario, write=False, threads=100_000)
    with pytest.raises(InputError, match="is not a cell size"):
        api.solve(scenario, write=False, resolution=float("nan"))
    with pytest.raises(InputError, match="larger than the whole study area"):
        api.solve(scenario, write=False, resolution=1e300)


def test_make_area_refuses_an_absurd_size_up_front() -> None:
    t0 = time.perf_counter()
    r = CliRunner().invoke(main, ["make-area", "never", "--cells", "100000000000"])
    assert r.exit_code == 2, r.output
    assert "--cells: 100,000,000,000 cells make a grid of about 220,000,000,000 cells, more " \
           "than the 400,000,000 the engine reads; generating it would need about 44.0 TB" \
           in r.stderr
    assert time.perf_counter() - t0 < 5 and not Path("never").exists()
    r = CliRunner().invoke(main, ["bench", "--cells", "100000000000", "--no-naive"])
    assert r.exit_code == 2 and "more than the 400,000,000 the engine reads" in r.stderr


def test_make_area_refuses_a_grid_that_does_not_fit_in_memory(tmp_path: Path) -> None:
    """2.85e8 grid cells are under the engine's largest grid, but need ~57 GB; under a 1.5 GB
    address-space limit the refusal is certain on any machine."""
    p = run_limited("make-area", tmp_path / "big", "--cells", "130000000", "--resolution",
                    "25", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert "a synthetic area of 130,000,000 cells (a grid of about 286,000,000 cells) needs " \
           "about 57.8 GB of memory" in p.stderr, p.stderr
    assert not (tmp_path / "big").exists()


def test_reading_a_grid_that_does_not_fit_in_memory_is_refused(tmp_path: Path) -> None:
    """An area.yaml whose grid (16,900 x 16,900 = 2.86e8 cells, under MAX_GRID_CELLS) cannot
    be read in the memory there is: refused before any layer is read."""
    scenario = hand_case(tmp_path)
    area = Path(yaml.safe_load(scenario.read_text())["area"])
    doc = yaml.safe_load(area.read_text())
    doc["grid"].update(width=16_900, height=16_900)
    area.write_text(yaml.safe_dump(doc))
    p = run_limited("solve", scenario, "-o", tmp_path / "out", "-q", cwd=tmp_path)
    assert_refused(p, area, "reading the land-use and region layers of a grid of 16,900 x "
                            "16,900 = 285,610,000 cells needs about")


# ------------------------------------------------------------------------------------------
# bad input that used to be accepted
# ------------------------------------------------------------------------------------------
def _hand_doc(tmp_path: Path) -> tuple[Path, dict]:
    scenario = hand_case(tmp_path)
    return scenario, yaml.safe_load(scenario.read_text())


@pytest.mark.parametrize(("path", "value", "message"), [
    (("targets", 1, "min"), 1e308, "targets[1].min: 1e+308 is beyond ±1e+12"),
    (("targets", 1, "min"), 10**15, "targets[1].min: 1e+15 is beyond ±1e+12"),
    (("objective",), {"weights": {"suitability": 1e308}},
     "objective.weights.suitability: 1e+308 is beyond ±1e+06"),
    (("targets", 0, "penalty"), 1e300, "targets[0].penalty: 1e+300 is beyond ±1e+06"),
    (("housing_density",), {"default": 1e9, "source": "x"}, "housing_density.default: 1e+09"),
    (("rules", 0, "buffer_m"), 1e12, "rules[0].exclusion.buffer_m: 1e+12 is beyond ±1e+06"),
    (("solver",), {"seed": 2**40}, "solver.seed"),
    (("solver",), {"mip_rel_gap": 5}, "solver.mip_rel_gap"),
])
def test_absurd_magnitudes_are_input_errors(tmp_path: Path, path: tuple, value: object,
                                            message: str) -> None:
    scenario, doc = _hand_doc(tmp_path)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    scenario.write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(main, ["solve", str(scenario), "-o", str(tmp_path / "out"), "-q"])
    assert r.exit_code == 2, r.output
    assert message in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_scaled_target_that_overflows_is_refused(tmp_path: Path) -> None:
    """``min × area share`` used to overflow to infinity, which the model read as "no bound":
    exit 0, "optimal", the hard target unmet. Now the scaled bound is checked."""
    scenario, doc = _hand_doc(tmp_path)
    doc["scaling"] = {"national_area_ha": 1e-300, "source": "x"}
    doc["targets"][1].update(min=1e12, scale="area_share")
    scenario.write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 2 and "scaling.national_area_ha" in r.stderr, r.output


def test_scaled_bound_beyond_the_row_limit_names_the_target(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from ruimteverdeling.rules import targets

    monkeypatch.setattr(targets, "MAX_ROW_BOUND", 10.0)
    scenario, doc = _hand_doc(tmp_path)
    doc["scaling"] = {"national_area_ha": 1, "source": "x"}  # area share 9
    doc["targets"][1].update(min=2, scale="area_share")
    scenario.write_text(yaml.safe_dump(doc))
    with pytest.raises(InputError) as err:
        api.solve(scenario, write=False)
    p = err.value.problems[0]
    assert p.field == "targets[1].min" and "`min` 2 × the area share 9 = 18 ha" in p.message
    assert "scaling.national_area_ha" in p.fix


def test_an_allocation_that_breaks_a_hard_row_is_never_reported(tmp_path: Path) -> None:
    """Whatever a solver says, an allocation is checked against every hard row."""
    from ruimteverdeling.model.solve import Solution, verified

    cm = api.compile(hand_case(tmp_path))
    spec = cm.spec
    x = np.zeros(spec.n_cols)
    x[spec.unit_choice(np.ones(spec.n_cols))] = 1.0  # one use per cell, targets ignored
    assert spec.violations(x)  # this allocation misses a target
    sol = Solution("optimal", x, spec.objective_value(x), 10.0, 0.0, "lp", "highs", "HiGHS")
    with pytest.raises(SolverError, match="breaks hard rows: target:"):
        verified(spec, sol)
    # a +inf minimum (an overflowed bound) is a violation, not a free row
    spec.coupling[0].lower[:] = np.inf
    assert spec.violations(x)[spec.coupling[0].name] == np.inf


def test_duplicate_ids_within_one_file_name_both_positions(tmp_path: Path) -> None:
    base = hand_case(tmp_path)
    variant = write_scenario(tmp_path / "variant.yaml", {
        "id": "v", "extends": base.name,
        "targets": [{"id": "h", "min": 1}, {"id": "n", "min": 2}, {"id": "h", "max": 5}],
        "rules": [{"id": "r1", "type": "exclusion", "layer": "landuse", "uses": ["housing"],
                   "source": SRC}] * 2})
    r = CliRunner().invoke(main, ["validate", str(variant)])
    assert r.exit_code == 2, r.output
    assert "targets[2].id: duplicate id 'h': targets[0] and targets[2] both have it" in r.stderr
    assert "rules[1].id: duplicate id 'r1': rules[0] and rules[1] both have it" in r.stderr


@pytest.mark.parametrize("key", ["chain", "path"])
def test_loader_internal_keys_are_not_scenario_keys(tmp_path: Path, key: str) -> None:
    scenario = _scenario_with(tmp_path, f"{key}: [x]\n")
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 2, r.output
    assert f"{key}: unknown key '{key}'" in r.stderr
    suggestions = r.stderr.split("fix:")[1]
    assert "chain" not in suggestions and "path" not in suggestions.replace("paths", "")


@pytest.mark.parametrize(("given", "suggestion"), [
    ("Mijn scenario (één)!", "Mijn_scenario_een"), ("-leading", "leading"),
    ("a/b\\c", "a_b_c"), ("🙂", "my-id")])
def test_an_id_that_breaks_its_pattern_gets_the_pattern_and_a_corrected_id(
        tmp_path: Path, given: str, suggestion: str) -> None:
    scenario, doc = _hand_doc(tmp_path)
    doc["id"] = given
    scenario.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 2, r.output
    assert "must start with a letter or digit and hold only letters, digits, '_', '.' and " \
           "'-'" in r.stderr
    assert f"fix: write `id: {suggestion}`" in r.stderr
    assert "quote it" not in r.stderr


def _with_flood(tmp_path: Path, flood: np.ndarray, use_it: bool) -> Path:
    """The hand case plus a continuous flood-depth layer, used by a flood rule or not."""
    scenario, doc = _hand_doc(tmp_path)
    area = Path(doc["area"])
    from areas import write_tif

    write_tif(area.parent / "flood.tif", flood.astype(np.float32), 100.0, nodata=-9999.0)
    manifest = yaml.safe_load(area.read_text())
    manifest["layers"]["flood"] = {"file": "flood.tif", "kind": "continuous", "unit": "m"}
    area.write_text(yaml.safe_dump(manifest))
    if use_it:
        doc["rules"].append({"id": "no_housing_in_deep_water", "type": "exclusion",
                             "layer": "flood", "where": {"above": 0.5}, "uses": ["housing"],
                             "source": SRC})
    scenario.write_text(yaml.safe_dump(doc))
    return scenario


@pytest.mark.parametrize("fill", [np.nan, -9999.0])
def test_solve_refuses_a_rule_layer_without_data(tmp_path: Path, fill: float) -> None:
    scenario = _with_flood(tmp_path, np.full((3, 3), fill), use_it=True)
    r = CliRunner().invoke(main, ["solve", str(scenario), "-o", str(tmp_path / "out"), "-q"])
    assert r.exit_code == 2, r.output
    assert "layers.flood: flood.tif has no value anywhere inside the study area (all 9 " \
           "land cells are nodata or NaN)" in r.stderr
    assert not (tmp_path / "out").exists()
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 2 and r.stderr.count("layers.flood") == 1, r.stderr


def test_an_unused_layer_without_data_does_not_stop_solve(tmp_path: Path) -> None:
    scenario = _with_flood(tmp_path, np.full((3, 3), np.nan), use_it=False)
    r = CliRunner().invoke(main, ["solve", str(scenario), "-o", str(tmp_path / "out"), "-q"])
    assert r.exit_code == 0, r.output
    scenario = _with_flood(tmp_path / "partly", np.array([[np.nan] * 3, [0.2, 1.0, 2.0],
                                                           [np.nan] * 3]), use_it=True)
    r = CliRunner().invoke(main, ["solve", str(scenario), "-o", str(tmp_path / "o2"), "-q"])
    assert r.exit_code == 0, r.output


def test_a_conflict_neighbourhood_beyond_memory_is_refused(tmp_path: Path) -> None:
    """A setback of 900 km on 100 m cells would enumerate 2.5e8 offsets per cell (hours in
    Python, then rows beyond memory): refused before compiling, with the largest distance."""
    scenario = _scenario_with(tmp_path, "")
    doc = yaml.safe_load(scenario.read_text())
    doc["rules"].append({"id": "setback", "type": "conflict", "uses": ["nature"],
                         "near": ["housing"], "distance_m": 900_000, "source": SRC})
    scenario.write_text(yaml.safe_dump(doc))
    t0 = time.perf_counter()
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 2, r.output
    assert "rules[1].distance_m: 900000 m covers about 254,469,005 cells of 100 m" in r.stderr
    assert "use at most 7,979 m at this resolution" in r.stderr
    assert time.perf_counter() - t0 < 5
