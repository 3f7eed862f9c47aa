"""An engine that does not break: infeasibility explained, data checks, time limits.

Every infeasible case is small enough to work out by hand (1-ha cells: 100 m resolution).
"""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from ruimteverdeling import api
from ruimteverdeling.analysis import infeasibility as ex
from ruimteverdeling.cli import main
from ruimteverdeling.errors import InfeasibleError, InputError, SolverError
from ruimteverdeling.model import elastic
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder

from areas import BASE, SRC, hand_case, write_area, write_scenario, write_tif

solve_mod = importlib.import_module("ruimteverdeling.model.solve")  # the module, not solve()

AGRI = [[3, 3], [3, 3]]  # four 1-ha cells of agriculture
ZONE = [[1, 0], [0, 0]]  # one of them closed to nature


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def _case(tmp_path: Path, targets: list[dict], *, lu=AGRI, regions=None, names=None,
          density: float | None = None) -> Path:
    area = write_area(tmp_path / "a", lu, regions, names,
                      layers={"zone": (ZONE if np.shape(lu) == (2, 2) else
                                       np.zeros(np.shape(lu), int), "mask", {})})
    data: dict = {"id": "clash", "area": str(area), "targets": targets,
                  "rules": [{"id": "no_nature_in_zone", "type": "exclusion", "layer": "zone",
                             "uses": ["nature"], "source": SRC}]}
    if density is not None:
        data["housing_density"] = {"default": density, "source": SRC}
    return write_scenario(tmp_path / "s.yaml", data)


def _infeasible(scenario: Path, **kw) -> InfeasibleError:
    with pytest.raises(InfeasibleError) as info:
        api.solve(scenario, write=False, **kw)
    return info.value


def _rows(err: InfeasibleError) -> dict[str, ex.ConflictRow]:
    expl = err.explanation
    assert expl is not None
    return {r.ref: r for r in expl.rows}


# ------------------------------------------------------------------------------------------
# infeasibility explained
# ------------------------------------------------------------------------------------------
def test_nature_target_short_by_exact_hectares_in_its_region(tmp_path: Path) -> None:
    """Region R1 = the four cells. Nature ≥ 3 ha in R1 (one cell is closed to nature, so
    exactly 3 ha can be nature) and new housing ≥ 2 ha in R1: 5 ha asked of 4. Each alone
    holds (so compiling passes); together they miss 1 ha, and relaxing either by exactly
    1 ha makes the scenario feasible."""
    sc = _case(tmp_path, [
        {"id": "nature_per_province", "use": "nature", "region": "R1", "min": 3,
         "source": SRC},
        {"id": "housing_new", "use": "housing", "basis": "new", "region": "R1", "min": 2,
         "source": SRC}])
    err = _infeasible(sc)
    rows = _rows(err)
    assert set(rows) == {"nature_per_province", "housing_new"}
    for r in rows.values():
        assert r.region == "R1" and r.side == "min" and r.unit == "ha"
        assert r.relax_alone == pytest.approx(1.0, abs=1e-9)
    assert sum(r.violation for r in rows.values()) == pytest.approx(1.0, abs=1e-9)
    nature = rows["nature_per_province"]
    assert nature.required == pytest.approx(3.0)
    assert nature.closing == [("no_nature_in_zone", 1.0)]
    assert nature.in_iis is True and rows["housing_new"].in_iis is True
    text = str(err)
    assert "cannot be met" in text and "in R1" in text and "1 ha" in text
    assert "nature_per_province" in text and "housing_new" in text
    assert "no_nature_in_zone (1 ha)" in text
    assert err.explanation.relaxation == "lp"


def test_two_conflicting_targets_in_their_own_units(tmp_path: Path) -> None:
    """60 new homes at 30 homes/ha need 2 ha; nature needs 3 ha of the 3 that allow it; 4 ha
    in all. Relaxing the homes target alone needs exactly 30 homes, nature alone 1 ha."""
    sc = _case(tmp_path, [
        {"id": "homes", "use": "housing", "quantity": "homes", "min": 60, "source": SRC},
        {"id": "nature", "use": "nature", "min": 3, "source": SRC}], density=30)
    err = _infeasible(sc)
    rows = _rows(err)
    assert set(rows) == {"homes", "nature"}
    assert rows["homes"].unit == "homes" and rows["nature"].unit == "ha"
    assert rows["homes"].relax_alone == pytest.approx(30.0, abs=1e-6)
    assert rows["nature"].relax_alone == pytest.approx(1.0, abs=1e-9)
    headline = err.explanation.headline()
    assert "target 'homes' by 30 homes" in headline and "target 'nature' by 1 ha" in headline


def test_integral_conflict_is_explained_by_the_elastic_mip(tmp_path: Path) -> None:
    """Housing ≥ 2.5 ha and nature ≥ 1.5 ha on four 1-ha cells: the LP relaxation meets both
    (2.5 + 1.5 = 4), whole cells do not (3 + 2 = 5). Relaxing either by 0.5 ha is enough."""
    lu = [[3, 3], [3, 3]]
    area = write_area(tmp_path / "a", lu)
    sc = write_scenario(tmp_path / "s.yaml", {
        "id": "halves", "area": str(area),
        "targets": [{"id": "h", "use": "housing", "min": 2.5, "source": SRC},
                    {"id": "n", "use": "nature", "min": 1.5, "source": SRC}]})
    err = _infeasible(sc)
    expl = err.explanation
    assert expl.relaxation == "mip"
    assert any("indivisible" in n for n in expl.notes)
    rows = _rows(err)
    assert rows  # at least one of the two is violated by the least-violation allocation
    for r in rows.values():
        assert r.relax_alone == pytest.approx(0.5, abs=1e-6)


def test_cli_prints_the_explanation_and_writes_a_diagnosis_not_a_run(tmp_path: Path) -> None:
    sc = _case(tmp_path, [
        {"id": "homes", "use": "housing", "quantity": "homes", "min": 60, "source": SRC},
        {"id": "nature", "use": "nature", "min": 3, "source": SRC}], density=30)
    out = tmp_path / "out"
    r = invoke("solve", sc, "-o", out, "-q")
    assert r.exit_code == 3, r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert "infeasible: the scenario cannot be met" in r.output
    assert "30 homes" in r.output and "1 ha" in r.output
    assert not out.exists()  # no folder that looks like a (complete) run
    diag = tmp_path / "out.infeasible"
    assert f"{diag}/infeasibility.csv" in r.output and "NOT a run" in r.output
    with open(diag / "infeasibility.csv", encoding="utf-8") as fh:
        table = {row["id"]: row for row in csv.DictReader(fh)}
    assert set(table) == {"homes", "nature"}
    assert float(table["homes"]["relax_alone"]) == pytest.approx(30.0)
    assert table["nature"]["unit"] == "ha" and table["nature"]["side"] == "min"
    info = json.loads((diag / "infeasibility.json").read_text())
    assert info["complete_run"] is False and info["status"] == "infeasible"
    assert (diag / "explanation.txt").read_text().startswith("NOT A RUN")
    assert not (diag / "manifest.json").exists()


def test_single_target_beyond_the_land_is_an_input_error(tmp_path: Path) -> None:
    """A nature target larger than all the land nature may take is caught before solving."""
    sc = _case(tmp_path, [{"id": "nature", "use": "nature", "min": 4, "source": SRC}])
    r = invoke("solve", sc, "-o", tmp_path / "out", "-q")
    assert r.exit_code == 2
    assert "target 'nature' asks at least 4 ha" in r.output and "more than 3 ha" in r.output


def test_elastic_model_objective_is_the_scaled_violation(tmp_path: Path) -> None:
    sc = _case(tmp_path, [
        {"id": "homes", "use": "housing", "quantity": "homes", "min": 60, "source": SRC},
        {"id": "nature", "use": "nature", "min": 3, "source": SRC}], density=30)
    cm = api.compile(sc)
    el = elastic.elastic_model(cm.spec)
    # one slack per finite side: both targets have a lower bound only
    assert sorted(zip(el.slack_block, el.slack_side, strict=True)) == [
        ("target:homes", "lo"), ("target:nature", "lo")]
    w = dict(zip(el.slack_block, el.weights, strict=True))
    assert w["target:homes"] == pytest.approx(1 / 30)  # one 1-ha cell of homes = 30 homes
    nature = cm.spec.block("target:nature").A.data  # 1 for nature, less for combined uses
    assert w["target:nature"] == pytest.approx(1 / np.median(np.abs(nature)))
    # with the tie-break the original objective stays, and a slack costs M·w
    np.testing.assert_array_equal(el.spec.obj[: cm.spec.n_cols], cm.spec.obj)
    np.testing.assert_allclose(el.spec.obj[el.slack_cols], -el.penalty * el.weights)
    pure = elastic.elastic_model(cm.spec, tie_break=False)
    assert not pure.spec.obj[: pure.spec.n_cols - pure.slack_cols.size].any()
    np.testing.assert_allclose(pure.spec.obj[pure.slack_cols], -pure.weights)


def _two_units(lower: float, upper: float) -> ModelSpec:
    """Two units choosing use 0 or 1; one row counts the units on use 1 (at most 2)."""
    b = SpecBuilder(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 1]))
    b.add_block("ones", "target", np.array([0, 0]), np.array([1, 3]), np.array([1.0, 1.0]), 1,
                np.array([lower]), np.array([upper]), labels=["all"], ref="ones")
    b.add_term("t", "benefit", 1.0, np.array([0.0, 1.0, 0.0, 0.5]))
    return b.build()


def test_least_violation_of_a_bare_model_spec() -> None:
    """The model layer alone: a row asking 3 units on use 1 of 2 misses by exactly 1."""
    lv = elastic.least_violation(_two_units(3.0, np.inf), SolverOptions(), 60)
    assert lv.relaxation == "lp" and lv.solved and lv.total == pytest.approx(1.0)
    (row,) = lv.rows
    assert (row.block, row.row, row.side, row.bound) == ("ones", 0, "min", 3.0)
    assert row.activity == pytest.approx(2.0) and row.violation == pytest.approx(1.0)
    assert row.relax_alone == pytest.approx(1.0) and row.relax_alone_tried


def test_least_violation_of_an_integral_conflict() -> None:
    """Exactly 1.5 units: the LP holds (0.75 + 0.75), whole units miss by 0.5."""
    lv = elastic.least_violation(_two_units(1.5, 1.5), SolverOptions(), 60)
    assert lv.relaxation == "mip" and lv.solved and lv.mip_status == "optimal"
    (row,) = lv.rows
    assert row.violation == pytest.approx(0.5) and lv.total == pytest.approx(0.5)
    assert row.relax_alone == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------
# validation of the study area's data
# ------------------------------------------------------------------------------------------
def _validate_case(tmp_path: Path) -> tuple[Path, Path]:
    sc = hand_case(tmp_path)
    return sc, Path(yaml.safe_load(sc.read_text())["area"])


def _add_layer(area_yaml: Path, name: str, spec: dict) -> None:
    m = yaml.safe_load(area_yaml.read_text())
    m["layers"][name] = spec
    area_yaml.write_text(yaml.safe_dump(m, sort_keys=False))


def test_out_of_range_values_name_file_layer_and_fix(tmp_path: Path) -> None:
    sc, area_yaml = _validate_case(tmp_path)
    write_tif(area_yaml.parent / "share.tif",
              np.array([[0.2, 1.5, 0.3], [0.1, 0.2, 0.3], [0.1, -0.2, 0.3]], np.float32), 100.0)
    _add_layer(area_yaml, "green_share", {"file": "share.tif", "kind": "continuous",
                                          "unit": "share"})
    write_tif(area_yaml.parent / "dist.tif", np.full((3, 3), -5.0, np.float32), 100.0)
    _add_layer(area_yaml, "dike_dist", {"file": "dist.tif", "kind": "continuous",
                                        "valid_range": [0, None]})
    r = invoke("validate", sc)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert str(area_yaml) in r.output
    assert "layers.green_share" in r.output and "share.tif has 2 land cells outside the " \
        "range [0, 1]" in r.output
    assert "layers.dike_dist" in r.output and "≥ 0" in r.output
    assert "valid_range" in r.output and "fix:" in r.output


def test_unknown_category_codes_are_named(tmp_path: Path) -> None:
    sc, area_yaml = _validate_case(tmp_path)
    write_tif(area_yaml.parent / "soil.tif",
              np.array([[1, 2, 9], [1, 2, 9], [7, 2, 1]], np.uint8), 100.0)
    _add_layer(area_yaml, "soil", {"file": "soil.tif", "kind": "categorical",
                                   "categories": {1: "sand", 2: "clay"}})
    with pytest.raises(InputError) as info:
        api.validate(sc)
    (p,) = [p for p in info.value.problems if p.field == "layers.soil.categories"]
    assert p.file == area_yaml.resolve()
    assert "{7: 1, 9: 2}" in p.message and "soil.tif" in p.message
    assert "add 7, 9 under `layers.soil.categories`" in p.fix


def test_mostly_nodata_is_an_error_and_some_nodata_a_warning(tmp_path: Path) -> None:
    sc, area_yaml = _validate_case(tmp_path)
    nan = np.nan
    write_tif(area_yaml.parent / "gaps.tif",
              np.array([[nan, nan, nan], [nan, 1, nan], [1, 1, nan]], np.float32), 100.0)
    _add_layer(area_yaml, "gaps", {"file": "gaps.tif", "kind": "continuous"})
    r = invoke("validate", sc)
    assert r.exit_code == 2
    assert "layers.gaps" in r.output and "mostly nodata" in r.output and "66.7%" in r.output
    # one gap in nine cells: a warning, printed by validate, and the check passes
    write_tif(area_yaml.parent / "gaps.tif",
              np.array([[nan, 1, 1], [1, 1, 1], [1, 1, 1]], np.float32), 100.0)
    r = invoke("validate", sc)
    assert r.exit_code == 0, r.output
    assert "warning:" in r.output and "11.1%" in r.output and "layers.gaps" in r.output
    assert "gaps " in r.output and "nodata" in r.output  # the per-layer table


@pytest.mark.filterwarnings("ignore:layer 'fine'")
def test_other_resolution_is_named_with_the_gdalwarp_fix(tmp_path: Path) -> None:
    sc, area_yaml = _validate_case(tmp_path)
    write_tif(area_yaml.parent / "fine.tif", np.ones((6, 6), np.float32), 50.0)
    _add_layer(area_yaml, "fine", {"file": "fine.tif", "kind": "continuous"})
    r = invoke("validate", sc)
    assert r.exit_code == 0, r.output
    assert "layers.fine.file" in r.output and "resolution 50 × 50 m (study grid 100 m)" \
        in r.output
    assert "gdalwarp -tr 100 100" in r.output


def test_wrong_shape_names_the_layer(tmp_path: Path) -> None:
    sc, area_yaml = _validate_case(tmp_path)
    write_tif(area_yaml.parent / "short.tif", np.ones((2, 3), np.float32), 100.0)
    _add_layer(area_yaml, "short", {"file": "short.tif", "kind": "continuous"})
    r = invoke("validate", sc)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "layers.short.file" in r.output and "short.tif" in r.output and "fix:" in r.output


def test_valid_range_must_be_ordered(tmp_path: Path) -> None:
    sc, area_yaml = _validate_case(tmp_path)
    _add_layer(area_yaml, "s_h", {"file": "s_h.tif", "kind": "continuous",
                                  "valid_range": [1, 0]})
    r = invoke("validate", sc)
    assert r.exit_code == 2 and "layers.s_h.valid_range" in r.output and "[min, max]" in r.output


# ------------------------------------------------------------------------------------------
# time limits
# ------------------------------------------------------------------------------------------
class _StubBackend:
    """A backend whose MIP 'ran out of time' with an incumbent (or without one)."""

    name = "stub"

    def __init__(self, x: np.ndarray | None, bound: float | None):
        self.x, self.bound = x, bound

    def label(self) -> str:
        return "stub"

    def lp(self, spec, options, time_limit):
        return solve_mod.LpOutcome("time_limit", None, None, None, None, {}, {})

    def mip(self, spec, options, time_limit, gap, start=None, abs_gap=None):
        return solve_mod.MipOutcome("time_limit", self.x, self.bound, {"mip": 1.0}, {})


def _tiny_spec(tmp_path: Path):
    cm = api.compile(hand_case(tmp_path))
    return cm.spec


def test_time_limit_returns_the_incumbent_marked_not_optimal(tmp_path: Path,
                                                             monkeypatch) -> None:
    spec = _tiny_spec(tmp_path)
    x = solve_mod.solve(spec, SolverOptions()).x  # an allocation that meets every hard row
    objective = spec.objective_value(x)
    monkeypatch.setattr(solve_mod, "backend_for", lambda o: _StubBackend(x, objective + 5))
    sol = solve_mod.solve(spec, SolverOptions(method="mip", time_limit=1))
    assert sol.status == "time_limit" and not sol.optimal
    assert sol.bound >= sol.objective and sol.gap > 0


@pytest.mark.parametrize("method, words", [
    ("mip", ["time limit reached", "--time-limit", "--method auto"]),
    ("auto", ["time limit reached", "LP relaxation did not finish", "--time-limit",
              "coarser resolution"]),
])
def test_time_limit_without_incumbent_says_what_to_change(tmp_path: Path, monkeypatch,
                                                          method: str, words: list[str]) -> None:
    spec = _tiny_spec(tmp_path)
    monkeypatch.setattr(solve_mod, "backend_for", lambda o: _StubBackend(None, None))
    with pytest.raises(SolverError) as info:
        solve_mod.solve(spec, SolverOptions(method=method, time_limit=1))
    for w in words:
        assert w in str(info.value)


def test_real_time_limit_on_the_mip(small_area: Path, tmp_path: Path) -> None:
    """HiGHS's MIP on a 3,000-cell model with one second: either the best allocation found,
    marked `time_limit` with a true bound, or a clear message — never a traceback."""
    out = tmp_path / "out"
    r = invoke("solve", BASE,
               "--area", small_area, "--method", "mip", "--time-limit", "1", "-o", out, "-q")
    assert "Traceback" not in r.output
    assert r.exit_code in (0, 4), r.output
    assert "time limit reached" in r.output
    if r.exit_code == 0:
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "time_limit" and summary["optimal"] is False
        assert summary["bound"] >= summary["objective"] - 1e-6
        assert "NOT proven optimal" in r.output
    else:
        assert "--time-limit" in r.output and not out.exists()


def test_a_later_complete_run_replaces_the_diagnosis(tmp_path: Path) -> None:
    sc = _case(tmp_path, [
        {"id": "homes", "use": "housing", "quantity": "homes", "min": 60, "source": SRC},
        {"id": "nature", "use": "nature", "min": 3, "source": SRC}], density=30)
    out = tmp_path / "out"
    assert invoke("solve", sc, "-o", out, "-q").exit_code == 3
    assert (tmp_path / "out.infeasible" / "infeasibility.csv").is_file()
    data = yaml.safe_load(sc.read_text())
    data["targets"][0]["min"] = 30  # 1 ha of homes: now it fits
    write_scenario(sc, data)
    r = invoke("solve", sc, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    assert (out / "manifest.json").is_file() and not (tmp_path / "out.infeasible").exists()
