"""Property-based tests: malformed scenario files and layers never crash the command line.

Whatever a user feeds to ``ruimteverdeling validate`` / ``solve`` — random YAML, wrong types,
unknown keys, deleted required keys, absurd numbers, non-UTF-8 bytes, layers of the wrong
dtype, shape, extent or CRS, NaN-filled layers, unmapped land-use codes, hostile YAML (alias
bombs, deep nesting, recursive aliases, duplicate keys, odd scalars), extreme numbers (NaN,
infinities, 1e308, negative zero, huge integers) in every numeric field of the schema, odd ids
(long, unicode, pattern-breaking) — the answer is exit code 0 (when the input happens to be
valid) or 2 with one message per problem that names the file and the field, never a
traceback, never a hang, and never a run that calls itself optimal while a hard target is
missed. The crashes these properties found are fixed; each has a
regression test at the end of this file, and the strategies now include those inputs.
"""

from __future__ import annotations

import copy
import itertools
import re
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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

from areas import LANDUSE_CATEGORIES, SRC, hand_case, write_tif

# resampled layers warn (LayerWarning), and huge random values overflow numpy casts: expected
pytestmark = [pytest.mark.filterwarnings("ignore::ruimteverdeling.area.studyarea.LayerWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

# No per-example deadline: a loaded machine would turn it into a timing assert. A true hang is
# caught by the HANG_SECONDS alarm below.
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
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
    with no_hang():
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


# ------------------------------------------------------------------------------------------
# hostile YAML: aliases, nesting, odd scalars
# ------------------------------------------------------------------------------------------
ODD_SCALARS = ["2024-13-45", "2001-02-29", "!!int twelve", "!!float x", "!!timestamp nope",
               "!!binary AAAA", "!!set {a, b}", "0x" + "f" * 300, "9" * 5000, "0o777", "1_000",
               "190:20:30", ".nan", "-.inf", "-0.0", "~", "yes", "off", "'\u202e'",
               r'"\ud800"', "!!python/object:os.system x", "&a", "*undefined", "? complex",
               "!!str", "<<: *nothing", "|-\n  block", ">\n  folded", "'" + "x" * 10_000 + "'"]


@st.composite
def hostile_fragment(draw: st.DrawFn) -> tuple[str, bool]:
    """A YAML value in flow style, and whether the guard must refuse it (bombs, nesting,
    recursion, duplicate keys)."""
    kind = draw(st.sampled_from(["bomb", "deep", "deep_alias", "recursive", "duplicate",
                                 "odd", "anchors"]), label="kind")
    if kind == "bomb":
        width = draw(st.integers(6, 12), label="width")
        levels = draw(st.integers(7, 10), label="levels")
        names = [f"n{i}" for i in range(levels)]
        parts = [f"{names[0]}: &{names[0]} [{', '.join(['x'] * width)}]"]
        parts += [f"{b}: &{b} [{', '.join(['*' + a] * width)}]"
                  for a, b in itertools.pairwise(names)]
        return "{" + ", ".join(parts) + "}", width ** levels > 1_000_000
    if kind == "deep":
        depth = draw(st.integers(65, 400), label="depth")
        opener = draw(st.sampled_from(["[", "{k: "]), label="opener")
        closer = "]" if opener == "[" else "}"
        return opener * depth + "1" + closer * depth, True
    if kind == "deep_alias":
        return "[&d " + "[" * 40 + "1" + "]" * 40 + ", " + "[" * 30 + "*d" + "]" * 30 + "]", \
            True
    if kind == "recursive":
        return "&r [1, {a: *r}]", True
    if kind == "duplicate":
        key = draw(st.sampled_from(["min", "id", "a"]), label="key")
        return f"{{{key}: 1, b: 2, {key}: 3}}", True
    if kind == "odd":
        return draw(st.sampled_from(ODD_SCALARS), label="scalar"), False
    return "{s: &s {document: x}, t: [*s, *s, *s]}", False


def _place(good: Path, fragment: str, where: str) -> Path:
    """The hand case with ``fragment`` as the value of ``where`` (a top-level key, a field of
    the first target, or a parameter an override sets), written as text so that the YAML
    constructs survive."""
    text = good.read_text()
    if where == "top":
        text += f"description: {fragment}\n"
    elif where == "target":
        text = text.replace("- id: h\n", f"- id: h\n  description: {fragment}\n", 1)
    else:  # inside an override's parameter change (what batch fingerprints expanded)
        text += ("overrides:\n- {rule: three_uses, action: set, justification: hidden in a "
                 f"parameter change, set: {{applies_to: {fragment}}}}}\n")
    path = fresh_dir(good) / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@settings(SETTINGS, max_examples=40)
@given(frag=hostile_fragment(), where=st.sampled_from(["top", "target", "override"]))
def test_hostile_yaml(good: Path, frag: tuple[str, bool], where: str) -> None:
    """Exit 2 naming the file (and the line, for what the guard refuses), or a valid run;
    the same document in a batch is refused before anything runs."""
    from ruimteverdeling import batch
    from ruimteverdeling.errors import InputError

    fragment, refused = frag
    path = _place(good, fragment, where)
    r = run("validate", path)
    check(r, allowed=(2,) if refused else (0, 2))
    if r.exit_code == 2:
        assert str(path) in r.stderr, r.stderr
    if refused:
        assert re.search(r": line \d+, column \d+: ", r.stderr), r.stderr
        with no_hang(), pytest.raises(InputError):
            batch.plan([path], [], path.parent / "batch")


@settings(SETTINGS, max_examples=25)
@given(frag=hostile_fragment())
def test_hostile_yaml_in_a_sweep_file(good: Path, frag: tuple[str, bool]) -> None:
    from ruimteverdeling import batch
    from ruimteverdeling.errors import InputError

    fragment, refused = frag
    folder = fresh_dir(good)
    sweep = folder / "sweep.yaml"
    sweep.write_text(f"base: {good}\nparameters:\n  targets.h.description: [{fragment}]\n",
                     encoding="utf-8")
    with no_hang():
        try:
            batch.load_sweep(sweep)
        except InputError as exc:
            assert str(sweep) in exc.format() or str(good) in exc.format()
        else:
            assert not refused


# ------------------------------------------------------------------------------------------
# extreme numbers in every numeric field of the schema
# ------------------------------------------------------------------------------------------
def rich_case(folder: Path) -> Path:
    """The hand case with (nearly) every numeric field of the schema present: scaling,
    densities, transition costs, weights, solver options, use overrides, targets with
    penalties, region values and shares, and a rule of every type. Valid; solves in well
    under a second."""
    base = hand_case(folder)
    doc = yaml.safe_load(base.read_text())
    zone = {"layer": "s_h", "where": {"above": 0.5, "below": 2.0}, "buffer_m": 0.0}
    doc.update({
        "scaling": {"national_area_ha": 3_370_000, "source": SRC},
        "housing_density": {"default": 35, "per_region": {"R1": 40}, "source": SRC},
        "transition_costs": {"default": 0.1,
                             "matrix": {"agriculture": {"housing": 0.2, "*": 0.05}}},
        "objective": {"weights": {"suitability": 1.0, "transition": 1.0, "landscape": 0.5}},
        "solver": {"time_limit": 60, "mip_rel_gap": 1e-4, "threads": 1, "seed": 3,
                   "full_mip_max_binaries": 1000, "repair_min_units": 10,
                   "decompose_free_share": 0.01, "decompose_lp_gap": 1e-5},
        "uses": [{"id": "solar", "sealing": 0.1, "lifetime_years": 30,
                  "energy_mwh_per_ha_yr": 900, "provides": {"solar": 1.0}}],
    })
    doc["suitability"]["housing"]["terms"][0].update(weight=1.0, other=0.0)
    doc["suitability"]["nature"]["base"] = 0.0
    doc["suitability"]["agriculture"]["terms"] = [
        {"layer": "landuse", "categories": {3: 0.1, 2: -0.1}, "weight": 0.5},
        {"layer": "s_n", "mask": 0.05}]
    doc["targets"][0].update(max=8)
    doc["targets"] += [
        {"id": "homes", "use": "housing", "quantity": "homes", "min": 10, "hard": False,
         "penalty": 0.01, "source": SRC},
        {"id": "nature_r", "use": "nature", "per_region": True,
         "region_values": {"R1": {"min": 1, "max": 9}}, "source": SRC},
        {"id": "share", "use": "agriculture", "quantity": "share", "min": 0.0, "max": 0.9,
         "source": SRC}]
    doc["rules"] += [
        {"id": "zone_rule", "type": "exclusion", **zone, "uses": ["nature"], "source": SRC},
        {"id": "cities_apart", "type": "green_buffer", "min_core_ha": 1, "gap_m": 300,
         "width_m": 100, "source": SRC},
        {"id": "landscape", "type": "cost", "term": "landscape", "zone": zone, "per_ha": 0.2,
         "horizon_years": 75, "value": [{"layer": "s_n", "points": [[0, 0], [1, 1]]}],
         "source": SRC},
        {"id": "zonneladder", "type": "ladder", "uses": ["solar"], "otherwise": 0.1,
         "tiers": [{"name": "good", "zone": zone, "cost": 0.0}], "source": SRC},
        {"id": "fair", "type": "fairness", "weight": 0.1, "cap": 0.9, "mode": "cap",
         "burdens": [{"use": "agriculture", "basis": "lost", "weight": 1.0}], "source": SRC},
        {"id": "near_good_sites", "type": "proximity_share", "layer": "s_h", "within_m": 0.5,
         "min_share": 0.1, "penalty": 0.5, "source": SRC},
        {"id": "setback", "type": "conflict", "uses": ["nature"], "near": ["housing"],
         "distance_m": 100, "source": SRC}]
    doc["overrides"] = [{"rule": "zone_rule", "action": "soften", "penalty": 0.3,
                         "justification": "comply or explain, with a penalty per hectare"}]
    base.write_text(yaml.safe_dump(doc, sort_keys=False))
    return base


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = rich_case(tmp_path_factory.mktemp("rich"))
    assert run("validate", path).exit_code == 0
    return path


def numeric_paths(doc: Any) -> list[tuple]:
    return [p for p in paths_of(doc) if isinstance(get(doc, p), int | float)
            and not isinstance(get(doc, p), bool)]


EXTREMES = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, -0.0, 0.0, 1e-308,
            5e-324, 2**63, 10**30, -(10**30), 10**70, 1e12, 1e15, 1e6 + 1, -1, 123456789.123]
extreme_numbers = st.one_of(st.sampled_from(EXTREMES),
                            st.floats(allow_nan=True, allow_infinity=True),
                            st.integers(-(10**40), 10**40))


def _field_named(stderr: str, path: Path) -> bool:
    """Every problem names the file and a field."""
    heads = re.findall(r"^(?:error: | \d+\. )(.*)$", stderr, re.M)
    return bool(heads) and all(h.startswith(f"{path}: ") and h.count(": ") >= 2 for h in heads
                               if not re.fullmatch(r"\d+ problems found:", h))


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_extreme_numbers_validate(rich: Path, data: st.DataObject) -> None:
    doc = yaml.safe_load(rich.read_text())
    path = data.draw(st.sampled_from(numeric_paths(doc)), label="path")
    get(doc, path[:-1])[path[-1]] = data.draw(extreme_numbers, label="value")
    scenario = dump(fresh_dir(rich), doc)
    r = run("validate", scenario)
    check(r)
    if r.exit_code == 2:
        assert _field_named(r.stderr, scenario), r.stderr


def _hard_rows_met(out: Path) -> None:
    """A finished run meets every hard target row (whatever its status says)."""
    import json

    summary = json.loads((out / "summary.json").read_text())
    missed = [t for t in summary["targets"] if t["hard"] and t["met"] != "yes"]
    assert not missed, (summary["status"], missed)


@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_extreme_numbers_solve(rich: Path, data: st.DataObject) -> None:
    """Through `solve`: exit 2 (file and field), 3 (infeasible) or 4 (the solver failed, with
    advice), or a run whose hard targets all hold."""
    doc = yaml.safe_load(rich.read_text())
    paths = [p for p in numeric_paths(doc) if p != ("solver", "threads")]  # 256 threads: slow
    path = data.draw(st.sampled_from(paths), label="path")
    get(doc, path[:-1])[path[-1]] = data.draw(extreme_numbers, label="value")
    folder = fresh_dir(rich)
    r = run("solve", dump(folder, doc), "-o", folder / "out", "-q")
    check(r, allowed=(0, 2, 3, 4))
    if r.exit_code == 0:
        _hard_rows_met(folder / "out")
    else:
        assert not (folder / "out").exists()


# ------------------------------------------------------------------------------------------
# odd ids
# ------------------------------------------------------------------------------------------
odd_ids = st.one_of(
    st.text(min_size=0, max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["a" * 300, "../../etc", "a/b", "con", ".hidden", "-x", "id with space",
                     "ééé", "🙂", "a\x00b", "x" * 121, "0", "_", "a.b.c", "  padded  "]),
    st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())


@settings(SETTINGS, max_examples=40)
@given(which=st.sampled_from(["scenario", "target", "rule"]), value=odd_ids)
def test_odd_ids(rich: Path, which: str, value: Any) -> None:
    """A scenario id must match its pattern (else exit 2 with a corrected id); target and
    rule ids may be any text: the run works, or exit 2 names the field."""
    doc = yaml.safe_load(rich.read_text())
    if which == "scenario":
        doc["id"] = value
    elif which == "target":
        doc["targets"][0]["id"] = value
    else:
        doc["rules"][1]["id"] = value
        doc["overrides"][0]["rule"] = value  # rules[1] is the softened zone rule
    folder = fresh_dir(rich)
    scenario = dump(folder, doc)
    r = run("solve", scenario, "-o", folder / "out", "-q")
    check(r, allowed=(0, 2))
    if r.exit_code == 2:
        assert _field_named(r.stderr, scenario), r.stderr
        if which == "scenario" and isinstance(value, str):
            assert "quote it" not in r.stderr
    else:
        _hard_rows_met(folder / "out")
