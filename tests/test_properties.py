"""Property-based tests: malformed scenario files and layers never crash the command line.

Whatever a user feeds to ``ruimteverdeling validate`` / ``solve`` — random YAML, wrong types,
unknown keys, deleted required keys, absurd numbers, non-UTF-8 bytes, layers of the wrong
dtype, shape, extent or CRS, NaN-filled layers, unmapped land-use codes — the answer is exit
code 0 (when the input happens to be valid) or 2 with one message per problem, never a
traceback and never a hang. The crashes these properties found are fixed; each has a
regression test at the end of this file, and the strategies now include those inputs.
"""

from __future__ import annotations

import copy
import re
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ruimteverdeling.cli import main

from areas import LANDUSE_CATEGORIES, write_tif
from test_golden import hand_case

# resampled layers warn (LayerWarning), and huge random values overflow numpy casts: expected
pytestmark = [pytest.mark.filterwarnings("ignore::ruimteverdeling.area.studyarea.LayerWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

SETTINGS = settings(max_examples=50, deadline=timedelta(seconds=5), derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
HANG_SECONDS = 20


class Hang(BaseException):
    """A command did not return within HANG_SECONDS (not an Exception, so that CliRunner
    cannot swallow it)."""


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run(*args: str | Path) -> Result:
    with no_hang():
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def check(result: Result, allowed: tuple[int, ...] = (0, 2)) -> None:
    """Exit code in ``allowed``; a failure is a SystemExit with a well-formed error message."""
    detail = (result.exit_code, result.output, repr(result.exception))
    assert result.exit_code in allowed, detail
    assert "Traceback" not in result.output, detail
    if result.exit_code == 0:
        assert result.exception is None, detail
        return
    assert isinstance(result.exception, SystemExit), detail
    if result.exit_code == 2:
        check_error_message(result.stderr)


def check_error_message(text: str) -> None:
    """``error: <one problem>`` or ``error: N problems found:`` and exactly N numbered ones."""
    assert text.startswith("error: "), text
    first = text.splitlines()[0]
    m = re.fullmatch(r"error: (\d+) problems found:", first)
    if m is None:
        assert len(first) > len("error: ") + 3, text
        assert not re.search(r"^ \d+\. ", text, re.M), text
        return
    n = int(m.group(1))
    numbers = [int(x) for x in re.findall(r"^ (\d+)\. \S", text, re.M)]
    assert numbers == list(range(1, n + 1)), text


# ------------------------------------------------------------------------------------------
# a valid case to break
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3×3 hand case of the golden tests (valid; solves in milliseconds)."""
    path = hand_case(tmp_path_factory.mktemp("props"))
    assert run("validate", path).exit_code == 0
    return path


def fresh_dir(good: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=good.parent))


SCENARIO_KEYS = ["id", "area", "extends", "title", "targets", "rules", "suitability", "solver",
                 "objective", "transition_costs", "housing_density", "scaling", "uses", "min",
                 "max", "use", "layer", "source", "type", "status", "enabled"]
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e-308, 0, -1, 2**63, "", "0", "nan", "-inf", "1e999"]),
    st.text(max_size=20),
)
keys = st.one_of(st.sampled_from(SCENARIO_KEYS), st.text(min_size=1, max_size=12))
values = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(keys, kids, max_size=4)), max_leaves=12)


def paths_of(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys / indices) into nested dicts and lists."""
    out = []
    items = data.items() if isinstance(data, dict) else \
        enumerate(data) if isinstance(data, list) else []
    for k, v in items:
        out.append((*prefix, k))
        out += paths_of(v, (*prefix, k))
    return out


def get(data: Any, path: tuple) -> Any:
    for k in path:
        data = data[k]
    return data


def dump(folder: Path, data: Any) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# scenario files
# ------------------------------------------------------------------------------------------
@SETTINGS
@given(doc=values)
def test_random_yaml_documents(good: Path, doc: Any) -> None:
    """Any YAML document at all: no scenario can come out of it (no study area)."""
    r = run("validate", dump(fresh_dir(good), doc))
    check(r, allowed=(2,))


@SETTINGS
@given(data=st.data())
def test_mutated_scenario_validate(good: Path, data: st.DataObject) -> None:
    """One random change to a valid scenario: a random value anywhere, a deleted key or an
    unknown key. Exit 0 when the result is still valid, else 2; changes known to be invalid
    must give 2."""
    doc = yaml.safe_load(good.read_text())
    doc, must_fail = mutate(doc, data)
    r = run("validate", dump(fresh_dir(good), doc))
    check(r, allowed=(2,) if must_fail else (0, 2))


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_mutated_scenario_solve(good: Path, data: st.DataObject) -> None:
    """The same through `solve` (3 = the hard targets cannot all hold)."""
    doc = yaml.safe_load(good.read_text())
    doc, must_fail = mutate(doc, data)
    folder = fresh_dir(good)
    r = run("solve", dump(folder, doc), "-o", folder / "out", "-q")
    check(r, allowed=(2,) if must_fail else (0, 2, 3))
    if r.exit_code != 0:
        assert not (folder / "out").exists()


REQUIRED = [("id",), ("area",), ("targets", 0, "id"), ("targets", 0, "use"),
            ("targets", 0, "source"), ("targets", 1, "source"), ("rules", 0, "id"),
            ("rules", 0, "source")]
NUMERIC = [("targets", 0, "min"), ("targets", 1, "min")]


def mutate(doc: dict[str, Any], data: st.DataObject) -> tuple[Any, bool]:
    doc = copy.deepcopy(doc)
    kind = data.draw(st.sampled_from(["value", "delete", "unknown", "required", "not_a_number",
                                      "negative", "huge", "top"]), label="kind")
    if kind == "value":  # anything anywhere: may still be valid
        path = data.draw(st.sampled_from(paths_of(doc)), label="path")
        value = data.draw(values, label="value")
        get(doc, path[:-1])[path[-1]] = value
        return doc, False
    if kind == "delete":
        path = data.draw(st.sampled_from(paths_of(doc)), label="path")
        del get(doc, path[:-1])[path[-1]]
        return doc, path in REQUIRED
    if kind == "required":
        path = data.draw(st.sampled_from(REQUIRED), label="path")
        del get(doc, path[:-1])[path[-1]]
        return doc, True
    if kind == "unknown":  # every scenario model forbids unknown keys
        where = data.draw(st.sampled_from([(), ("targets", 0), ("targets", 1), ("rules", 0),
                                           ("targets", 0, "source")]), label="where")
        known = set(get(doc, where)) | set(SCENARIO_KEYS) | {"description", "basis", "hard",
                                                            "quantity", "region", "penalty"}
        name = data.draw(st.text(min_size=1, max_size=10).filter(lambda s: s not in known),
                         label="key")
        get(doc, where)[name] = data.draw(scalars, label="value")
        return doc, True
    if kind == "not_a_number":
        path = data.draw(st.sampled_from(NUMERIC), label="path")
        get(doc, path[:-1])[path[-1]] = data.draw(st.one_of(
            st.text(min_size=1, max_size=8).filter(lambda s: not _is_number(s)),
            st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                 st.integers(), max_size=2)),
            label="value")
        return doc, True
    if kind == "negative":
        path = data.draw(st.sampled_from(NUMERIC), label="path")
        get(doc, path[:-1])[path[-1]] = data.draw(st.one_of(
            st.integers(max_value=-1, min_value=-(10**30)),
            st.floats(max_value=-1e-9, allow_infinity=True, allow_nan=False)), label="value")
        return doc, True
    if kind == "huge":  # far more than the 9 cells can hold, infinities and NaN included
        path = data.draw(st.sampled_from(NUMERIC), label="path")
        get(doc, path[:-1])[path[-1]] = data.draw(st.one_of(
            st.integers(min_value=100, max_value=10**30),
            st.floats(min_value=100, allow_infinity=True), st.just(float("nan"))),
            label="value")
        return doc, True
    # a top level that is not a scenario mapping at all
    return data.draw(st.one_of(scalars, st.lists(values, max_size=3)), label="doc"), True


def _is_number(s: str) -> bool:
    try:
        value = yaml.safe_load(s)
    except yaml.YAMLError:
        return False
    return isinstance(value, int | float) and not isinstance(value, bool)


@SETTINGS
@given(raw=st.binary(min_size=1, max_size=200))
def test_non_utf8_bytes(good: Path, raw: bytes) -> None:
    """A scenario file of bytes with an invalid UTF-8 sequence, or any bytes at all."""
    for blob in (b"id: x\narea: a.yaml\n" + raw + b"\xff\xfe", raw):
        path = fresh_dir(good) / "scenario.yaml"
        path.write_bytes(blob)
        r = run("validate", path)
        check(r, allowed=(2,))
        if blob.endswith(b"\xff\xfe"):
            assert "not a UTF-8 text file" in r.output


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------
def broken_area(good: Path, layer: str, data: np.ndarray, *, crs: str = "EPSG:28992",
                resolution: float = 100.0, shift: float = 0.0,
                nodata: float | None = None) -> Path:
    """A copy of the hand case whose ``layer`` raster is replaced; returns the scenario."""
    src_area = Path(yaml.safe_load(good.read_text())["area"]).parent
    folder = fresh_dir(good)
    area = folder / "area"
    area.mkdir()
    for f in src_area.iterdir():
        (area / f.name).write_bytes(f.read_bytes())
    from areas import LEFT, TOP

    write_tif(area / f"{layer}.tif", data, resolution, crs=crs, left=LEFT + shift,
              top=TOP if crs == "EPSG:28992" else 52.0, nodata=nodata)
    doc = yaml.safe_load(good.read_text())
    doc["area"] = str(area / "area.yaml")
    return dump(folder, doc)


LAYERS = ["landuse", "regions", "s_h"]
# dtypes GeoTIFF can hold
INT_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32]
FLOAT_DTYPES = [np.float32, np.float64]


@st.composite
def broken_layer(draw: st.DrawFn) -> dict[str, Any]:
    layer = draw(st.sampled_from(LAYERS), label="layer")
    kind = draw(st.sampled_from(["codes", "dtype", "nan", "shape", "extent", "crs"]),
                label="kind")
    shape: tuple[int, int] = (3, 3)
    spec: dict[str, Any] = {"layer": layer}
    if kind == "shape":
        shape = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)).filter(
            lambda s: s != (3, 3)), label="shape")
    if kind in ("codes", "shape", "extent", "crs"):
        dtype = np.float32 if layer == "s_h" else draw(st.sampled_from(INT_DTYPES))
        # any code the dtype holds (huge region codes once hung `solve`)
        elements = st.floats(-1e6, 1e6, width=32) if layer == "s_h" else \
            st.integers(*_range(dtype, hi=None))
        spec["data"] = draw(hnp.arrays(dtype, shape, elements=elements), label="data")
    elif kind == "dtype":
        dtype = draw(st.sampled_from(INT_DTYPES + (FLOAT_DTYPES if layer == "s_h" else [])))
        spec["data"] = draw(hnp.arrays(dtype, shape, elements=st.integers(
            *_range(dtype, 0, 30)) if dtype in INT_DTYPES else None), label="data")
    else:  # NaN-filled: only a float layer can hold NaN
        spec["layer"] = "s_h"
        spec["data"] = np.full(shape, np.nan, draw(st.sampled_from(FLOAT_DTYPES)))
        spec["nodata"] = draw(st.sampled_from([None, float("nan")]))
    if kind == "extent":
        # more than the half cell the engine tolerates
        spec["shift"] = draw(st.sampled_from([60.0, 100.0, -300.0, 1e6]), label="shift")
    if kind == "crs":
        spec["crs"] = "EPSG:4326"
        spec["resolution"] = 0.001
    # a larger raster anchored at the same corner covers the grid and is resampled onto it
    spec["must_fail"] = kind in ("extent", "crs") or (kind == "shape" and min(shape) < 3) or (
        kind == "codes" and layer == "landuse" and
        bool(set(np.unique(spec["data"][spec["data"] > 0]).tolist()) - set(LANDUSE_CATEGORIES)))
    return spec


def _range(dtype: Any, lo: int | None = None, hi: int | None = None) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return (max(info.min, lo) if lo is not None else info.min,
            min(info.max, hi) if hi is not None else info.max)


@settings(SETTINGS, max_examples=60)
@given(spec=broken_layer())
def test_broken_layers(good: Path, spec: dict[str, Any]) -> None:
    scenario = broken_area(good, spec["layer"], spec["data"], crs=spec.get("crs", "EPSG:28992"),
                           resolution=spec.get("resolution", 100.0),
                           shift=spec.get("shift", 0.0), nodata=spec.get("nodata"))
    check(run("validate", scenario), allowed=(2,) if spec["must_fail"] else (0, 2))
    r = run("solve", scenario, "-o", scenario.parent / "out", "-q")
    check(r, allowed=(2,) if spec["must_fail"] else (0, 2, 3))


AREA_REQUIRED = [("name",), ("grid",), ("layers",), ("grid", "width"), ("grid", "height"),
                 ("grid", "resolution"), ("grid", "left"), ("grid", "top"),
                 ("layers", "landuse"), ("layers", "regions"), ("layers", "s_h"),
                 ("layers", "landuse", "file"), ("layers", "landuse", "kind"),
                 ("layers", "s_h", "file"), ("layers", "s_h", "kind")]


@settings(SETTINGS, max_examples=50)
@given(data=st.data())
def test_mutated_area_manifest(good: Path, data: st.DataObject) -> None:
    """One random change to the study area's area.yaml: a random value, a deleted key, an
    unknown key."""
    scenario = broken_area(good, "s_h", np.ones((3, 3), np.float32))
    area_yaml = Path(yaml.safe_load(scenario.read_text())["area"])
    doc = yaml.safe_load(area_yaml.read_text())
    kind = data.draw(st.sampled_from(["value", "delete", "required", "unknown"]), label="kind")
    must_fail = kind in ("required", "unknown")
    if kind == "value":
        path = data.draw(st.sampled_from(paths_of(doc)), label="path")
        value = data.draw(values, label="value")
        assume(not (path[0] == "grid" and isinstance(value, int | float)
                    and not isinstance(value, bool) and abs(value) > 10_000))
        get(doc, path[:-1])[path[-1]] = value
    elif kind in ("delete", "required"):
        path = data.draw(st.sampled_from(paths_of(doc) if kind == "delete" else AREA_REQUIRED),
                         label="path")
        del get(doc, path[:-1])[path[-1]]
        must_fail = path in AREA_REQUIRED
    else:
        where = data.draw(st.sampled_from([(), ("grid",), ("layers", "s_h"),
                                           ("layers", "landuse")]), label="where")
        name = data.draw(st.text(min_size=1, max_size=10).filter(
            lambda k: k not in get(doc, where) and k not in LAYER_KEYS | AREA_KEYS),
            label="key")
        get(doc, where)[name] = data.draw(scalars, label="value")
    area_yaml.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    check(run("validate", scenario), allowed=(2,) if must_fail else (0, 2))


LAYER_KEYS = {"file", "kind", "layer", "attribute", "name_attribute", "categories", "unit",
              "description", "source", "version", "resampling"}
AREA_KEYS = {"name", "description", "grid", "current_use", "regions", "layers", "generator",
             "crs", "width", "height", "resolution", "left", "top"}


# ------------------------------------------------------------------------------------------
# regression tests for crashes and silent failures the properties above found (all fixed)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_non_finite_target_bound_is_an_input_error(good: Path, value: float) -> None:
    doc = yaml.safe_load(good.read_text())
    doc["targets"][0]["min"] = value
    folder = fresh_dir(good)
    r = run("validate", dump(folder, doc))
    check(r, allowed=(2,))


def test_huge_region_code_does_not_hang_solve(good: Path) -> None:
    regions = np.ones((3, 3), np.int32)
    regions[0, 0] = 10**8
    scenario = broken_area(good, "regions", regions)
    with no_hang(3):
        r = CliRunner().invoke(main, ["solve", str(scenario), "-o", str(scenario.parent / "o"),
                                      "-q"], catch_exceptions=True)
    check(r)


def test_non_utf8_area_manifest(good: Path) -> None:
    scenario = broken_area(good, "s_h", np.ones((3, 3), np.float32))
    area_yaml = Path(yaml.safe_load(scenario.read_text())["area"])
    area_yaml.write_bytes(area_yaml.read_bytes() + b"\n# \xff\xfe\n")
    r = run("validate", scenario)
    if not isinstance(r.exception, SystemExit | None):
        raise r.exception
    check(r, allowed=(2,))


@pytest.mark.parametrize("how", ["option", "scenario"])
def test_area_path_that_is_a_folder(good: Path, how: str) -> None:
    scenario = broken_area(good, "s_h", np.ones((3, 3), np.float32))
    folder = Path(yaml.safe_load(scenario.read_text())["area"]).parent
    if how == "option":
        r = run("validate", scenario, "--area", folder)
    else:
        doc = yaml.safe_load(scenario.read_text())
        doc["area"] = str(folder)
        r = run("validate", dump(scenario.parent, doc))
    if not isinstance(r.exception, SystemExit | None):
        raise r.exception
    check(r, allowed=(2,))


def test_huge_grid_in_area_manifest(good: Path) -> None:
    scenario = broken_area(good, "s_h", np.ones((3, 3), np.float32))
    area_yaml = Path(yaml.safe_load(scenario.read_text())["area"])
    doc = yaml.safe_load(area_yaml.read_text())
    doc["grid"].update(width=10**9, height=10**9)
    area_yaml.write_text(yaml.safe_dump(doc))
    r = run("validate", scenario)
    if not isinstance(r.exception, SystemExit | None):
        raise r.exception
    check(r, allowed=(2,))
