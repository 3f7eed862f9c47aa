"""Pathways over several periods: the joint trajectory model against brute force, the
transitions and reservations on the output rasters, and the errors of the period axis."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.cli import main
from ruimteverdeling.rules import load_scenario
from ruimteverdeling.rules import pathways as pwm
from ruimteverdeling.rules.compile import catalogue_for

from areas import SRC, write_area, write_scenario

AGRI, HOUSING, NATURE, SOLAR = 3, 1, 2, 4
OFF = ["wind", "water_buffer", "defence", "extensive_agriculture", "nature_water_buffer",
       "agriculture_wind", "agri_pv", "defence_nature", "extensive_agriculture_water_buffer"]
HQ = {2030: [0.875, 0.625, 0.5, 0.125], 2040: [0.0, 0.625, 0.5, 0.125],
      2050: [0.0, 0.625, 0.5, 0.125]}  # exact in float32
SOLAR_VALUE = [0.5, 0.5, 0.5, 0.875]
SOLAR_LIFETIME = 15


def _instance(folder: Path, years: list[int], targets: list[dict], solar: bool = False,
              extra: dict | None = None, layers: dict | None = None) -> Path:
    """Four farmland cells of 1 ha; housing is worth the period's layer `hq`, farmland 1.0,
    nature 0.15 and (optionally) solar SOLAR_VALUE[c] with a lifetime of SOLAR_LIFETIME.
    ``layers``: other `hq_<year>` and `sv` rasters (of any shape: farmland cells of 1 ha)."""
    if layers is None:
        layers = {f"hq_{y}": (np.array([HQ[y]], np.float32), "continuous", {"unit": "-"})
                  for y in years}
        layers["sv"] = (np.array([SOLAR_VALUE], np.float32), "continuous", {"unit": "-"})
    write_area(folder, np.full(np.shape(layers["sv"][0]), AGRI), layers=layers)
    uses = [{"id": u, "kind": "context"} for u in OFF + ([] if solar else ["solar"])]
    if solar:
        uses.append({"id": "solar", "lifetime_years": SOLAR_LIFETIME})
    suit = {"housing": {"base": 0.0, "terms": [{"layer": "hq", "points": [[0, 0], [1, 1]]}]},
            "agriculture": {"base": 1.0}, "nature": {"base": 0.15}}
    if solar:
        suit["solar"] = {"base": 0.0, "terms": [{"layer": "sv", "points": [[0, 0], [1, 1]]}]}
    data = {"id": "paths", "area": "area.yaml", "periods": years,
            "period_layers": {"hq": {y: f"hq_{y}" for y in years}},
            "suitability": suit, "targets": targets, "uses": uses, **(extra or {})}
    return write_scenario(folder / "paths.yaml", data)


def _target(tid: str, use: str, by: int | None = None, **bounds) -> dict:
    t = {"id": tid, "use": use, "quantity": "area", "source": SRC, **bounds}
    if by is not None:
        t["by"] = by
    return t


# -- an independent statement of the trajectories and the objective ----------------------------
def _trajectories(years: list[int], uses: list[int]) -> list[tuple[int, ...]]:
    """Every use sequence of a farmland cell: stay; change once (then stay); or change once
    to solar and return to farmland once solar's lifetime has passed."""
    out = []
    for seq in itertools.product(uses, repeat=len(years)):
        path = (AGRI, *seq)
        changes = [i for i in range(1, len(path)) if path[i] != path[i - 1]]
        reverts = (len(changes) == 2 and path[changes[0]] == SOLAR
                   and path[changes[1]] == AGRI
                   and years[changes[1] - 1] - years[changes[0] - 1] >= SOLAR_LIFETIME)
        if len(changes) <= 1 or reverts:
            out.append(seq)
    return out


VALUE = {AGRI: lambda y, c: 1.0, NATURE: lambda y, c: 0.15, SOLAR: lambda y, c: SOLAR_VALUE[c],
         HOUSING: lambda y, c: HQ[y][c]}


def _weights(years: list[int]) -> list[float]:
    gaps = list(np.diff(years))
    return [float(g) for g in gaps + gaps[-1:]]


def _value(years: list[int], plan: tuple[tuple[int, ...], ...], periods: range | None = None
           ) -> float:
    w = _weights(years)
    periods = periods if periods is not None else range(len(years))
    return sum(w[p] * VALUE[plan[c][p]](years[p], c) for p in periods for c in range(4))


def _feasible(plan, p: int, targets: list[tuple[int, int, float, float]]) -> bool:
    for use, due, lo, hi in targets:
        if due == p:
            n = sum(1 for c in range(4) if plan[c][p] == use)
            if not lo <= n <= hi:
                return False
    return True


def _brute_force(years, uses, targets, forbid=None):
    trajs = _trajectories(years, uses)
    per_cell = [[t for t in trajs if not set(t) & (forbid or {}).get(c, set())]
                for c in range(4)]
    best, best_plan = -np.inf, None
    for plan in itertools.product(*per_cell):
        if all(_feasible(plan, p, targets) for p in range(len(years))):
            v = _value(years, plan)
            if v > best + 1e-9:
                best, best_plan = v, plan
    return best, best_plan


def _brute_myopic(years, uses, targets):
    """Period by period: the best plan for periods ≤ k among those that agree with the
    earlier choices and can still be continued."""
    trajs = _trajectories(years, uses)
    fixed: list[tuple[int, ...]] = [()] * 4
    for k in range(len(years)):
        best, choice = -np.inf, None
        prefixes = sorted({t[: k + 1] for t in trajs})
        for plan in itertools.product(prefixes, repeat=4):
            if any(plan[c][:k] != fixed[c] for c in range(4)):
                continue
            if not all(_feasible(plan, p, targets) for p in range(k + 1)):
                continue
            v = _value(years, plan, range(k + 1))
            if v > best + 1e-9:
                best, choice = v, plan
        assert choice is not None
        fixed = list(choice)
    return _value(years, tuple(fixed)), tuple(fixed)


def _compiled(path: Path, explicit_max: int | None = None) -> pwm.Pathway:
    s = load_scenario(path)
    cat = catalogue_for(s)
    return pwm.compile_pathway(s, StudyArea.load(s.area_path, cat), cat, explicit_max)


def _plan(pw: pwm.Pathway, sol) -> tuple[tuple[int, ...], ...]:
    codes = [pw.allocation_grid(sol, p).ravel() for p in range(len(pw.years))]
    return tuple(tuple(int(codes[p][c]) for p in range(len(pw.years))) for c in range(4))


@pytest.mark.parametrize("generated", [False, True], ids=["explicit", "generated"])
@pytest.mark.parametrize("years,solar", [([2030, 2050], False), ([2030, 2040, 2050], True)])
def test_optimum_matches_brute_force_in_both_modes(tmp_path, years, solar, generated):
    # generated: the trajectories are columns only once the per-cell pricing finds them
    # housing: at least 1 ha by 2030 and 2 ha by 2050; cell 0 is the best site in 2030 and
    # worthless in 2050 (a per-period layer), so building there first is myopic
    targets = [_target("h_first", "housing", years[0], min=1),
               _target("h_last", "housing", min=2)]
    spec_targets = [(HOUSING, 0, 1, 4), (HOUSING, len(years) - 1, 2, 4)]
    if solar:  # some solar in 2030 that may return to farmland by 2050
        targets.append(_target("s_first", "solar", years[0], min=1))
        spec_targets.append((SOLAR, 0, 1, 4))
    uses = [AGRI, HOUSING, NATURE] + ([SOLAR] if solar else [])
    pw = _compiled(_instance(tmp_path, years, targets, solar), 0 if generated else None)
    assert pw.explicit is not generated
    f = pwm.solve_foresight(pw)
    m = pwm.solve_myopic(pw)
    best, _ = _brute_force(years, uses, spec_targets)
    myopic_value, myopic_plan = _brute_myopic(years, uses, spec_targets)
    assert f.objective == pytest.approx(best, abs=1e-6)
    assert f.bound == pytest.approx(best, abs=1e-6)
    assert m.objective == pytest.approx(myopic_value, abs=1e-6)
    assert _plan(pw, m) == myopic_plan
    assert _value(years, _plan(pw, f)) == pytest.approx(best, abs=1e-6)
    cost = pwm.cost_of_myopia(pw, f, m)
    assert cost["points"] == pytest.approx(best - myopic_value, abs=1e-6)
    assert cost["points"] > 0.5
    assert any(r["locked_in_ha"] > 0 for r in cost["per_period"])
    if solar:  # the solar park returns to farmland once its lifetime has passed
        assert (SOLAR, SOLAR, AGRI) in _plan(pw, f)


def _pricing_instance(tmp_path):
    years = [2030, 2040, 2050]
    targets = [_target("h_first", "housing", 2030, min=1), _target("h_last", "housing", min=2),
               _target("s_first", "solar", 2030, min=1, max=2)]
    return years, targets, _instance(tmp_path, years, targets, solar=True)


def test_trajectory_pricing_equals_full_enumeration(tmp_path):
    """For any duals, the per-cell pricing over the implicit trajectories finds the best
    reduced cost of the explicit model's columns, cell by cell."""
    from ruimteverdeling.model import periods as mp
    from ruimteverdeling.model.decompose import Pricing

    _, _, path = _pricing_instance(tmp_path)
    pw = _compiled(path)
    assert pw.explicit and pw.traj is not None
    pricing = Pricing(pw.spec)
    specs = [cm.spec for cm in pw.compiled]
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.normal(0.0, 10.0, pricing.m)
        want = pricing.best(pricing.reduced(y))[0]
        got, keys = pw.traj.best(mp.period_reduced_costs(specs, pw.model.weights, y))
        assert got == pytest.approx(want, abs=1e-9)
        # the key found is a column of the explicit model with that reduced cost
        r = pricing.reduced(y)
        assert r[np.searchsorted(pw.keys, keys)] == pytest.approx(want, abs=1e-9)
        # the second best (the contest margin of column generation) and the value of any
        # trajectory, against the explicit columns sorted per cell
        rho = mp.period_reduced_costs(specs, pw.model.weights, y)
        _, _, second = pw.traj.best2(rho)
        rx = r[: pw.spec.n_x]
        for k in range(pw.spec.n_units):
            vals = np.sort(rx[pw.spec.col_unit == k])[::-1]
            assert second[k] == pytest.approx(vals[1] if vals.size > 1 else -np.inf,
                                              abs=1e-9)
        assert pw.traj.value_of(rho, pw.keys) == pytest.approx(rx, abs=1e-9)


def test_representatives_keep_one_trajectory_per_use_sequence(tmp_path):
    """Seen from period k, trajectories with the same uses up to k are one column: the
    myopic pricing keeps the first valid one per cell and sequence, no fewer."""
    from ruimteverdeling.model import periods as mp

    _, _, path = _pricing_instance(tmp_path)
    pw = _compiled(path)
    traj = pw.traj
    assert traj is not None
    for k in range(len(pw.years)):
        rep = mp._representatives(traj, k, traj.valid)
        assert not (rep & ~traj.valid).any()
        for unit in range(traj.n_units):
            keys = unit * traj.n_templates + np.flatnonzero(traj.valid[:, unit])
            seqs = {tuple(u) for u in traj.uses(keys)[: k + 1].T}
            kept = unit * traj.n_templates + np.flatnonzero(rep[:, unit])
            kept_seqs = [tuple(u) for u in traj.uses(kept)[: k + 1].T]
            assert sorted(kept_seqs) == sorted(seqs)  # each sequence exactly once


def test_lagrangian_bound_over_trajectories_is_an_upper_bound(tmp_path):
    """L(y) over every trajectory ≥ the brute-force optimum for arbitrary duals, and the
    generated LP's bound lies between the optimum and the first L(0)."""
    from ruimteverdeling.model import periods as mp
    from ruimteverdeling.model.decompose import Pricing

    years, _, path = _pricing_instance(tmp_path)
    best, _ = _brute_force(years, [AGRI, HOUSING, NATURE, SOLAR],
                           [(HOUSING, 0, 1, 4), (HOUSING, 2, 2, 4), (SOLAR, 0, 1, 2)])
    pw = _compiled(path, explicit_max=0)
    specs = [cm.spec for cm in pw.compiled]
    pricing = Pricing(pw.spec)
    rng = np.random.default_rng(5)
    for scale in (0.0, 1.0, 30.0):
        y = pricing.dual_feasible(rng.normal(0.0, scale, pricing.m))
        r = pricing.reduced(y)
        units, _ = pw.traj.best(mp.period_reduced_costs(specs, pw.model.weights, y))
        value = units.sum() + mp.lagrangian_rest(pw.spec, y, pricing.lo, pricing.hi,
                                                 r[pw.spec.n_x:])
        assert value >= best - 1e-9
    f = pwm.solve_foresight(pw)
    gen = f.details["generation"]
    assert best - 1e-6 <= gen["lagrangian_bound"]
    assert f.objective == pytest.approx(best, abs=1e-6)
    assert gen["columns"] < gen["trajectories"]


def test_status_quo_and_period_rows(tmp_path):
    years = [2030, 2050]
    pw = _compiled(_instance(tmp_path, years, [_target("h", "housing", 2030, min=1)]))
    # everything stays farmland: 4 cells x 1.0 x (20 + 20) years
    assert pw.spec.status_quo_value == pytest.approx(4 * 1.0 * 40)
    assert [b.name for b in pw.spec.coupling] == ["target:h@2030"]
    # per cell: stay, or one change to housing or nature in 2030 or 2050
    assert pw.spec.n_x == 4 * 5


def test_periods_share_the_arrays_that_do_not_change(tmp_path):
    """Each period's model as compiled alone, but an array equal to an earlier period's is
    that array (read-only), and an array that differs is not shared."""
    from ruimteverdeling.rules.compile import compile_model

    years = [2030, 2040, 2050]
    path = _instance(tmp_path, years, [_target("h", "housing", 2030, min=1)], solar=True)
    pw = _compiled(path)
    s = load_scenario(path)
    cat = catalogue_for(s)
    area = StudyArea.load(s.area_path, cat)
    alone = [compile_model(pwm.period_scenario(s, y, years[-1]),
                           pwm.period_area(area, s, y), cat).spec for y in years]
    for p, spec in enumerate(alone):
        shared = pw.compiled[p].spec
        assert np.array_equal(shared.obj, spec.obj)
        assert np.array_equal(shared.col_unit, spec.col_unit)
        assert np.array_equal(shared.col_use, spec.col_use)
        assert [b.name for b in shared.coupling] == [b.name for b in spec.coupling]
        for b, c in zip(shared.coupling, spec.coupling, strict=True):
            assert (b.A != c.A).nnz == 0 and b.A.shape == c.A.shape
    first, second, third = (cm.spec for cm in pw.compiled)
    assert second.col_unit is first.col_unit and third.col_unit is first.col_unit
    # housing's value changes from 2030 to 2040 (layer hq), not from 2040 to 2050
    assert not np.array_equal(alone[0].obj, alone[1].obj)
    assert second.obj is not first.obj and third.obj is second.obj
    with pytest.raises(ValueError):
        third.obj[0] = 1.0  # shared: one period's change would be every period's
    assert first.obj.flags.writeable  # not shared: untouched


def test_share_equal_arrays_replaces_equal_arrays_only():
    import scipy.sparse as sp

    def closure(v):
        return lambda: v

    a = {"x": np.arange(5), "y": [np.ones(3), np.zeros(2)], "f": closure(np.full(4, 2.0)),
         "A": sp.csr_matrix(np.eye(3)), "nan": np.array([np.nan, 1.0])}
    b = {"x": np.arange(5), "y": [np.ones(3), np.ones(2)], "f": closure(np.full(4, 2.0)),
         "A": sp.csr_matrix(2 * np.eye(3)), "nan": np.array([np.nan, 1.0]),
         "z": np.arange(5)}
    y1, f_before = b["y"][1], b["f"]
    out = pwm.share_equal_arrays(a, b)
    assert out is b and b["f"] is f_before
    assert b["x"] is a["x"] and not a["x"].flags.writeable
    assert b["y"][0] is a["y"][0] and b["y"][1] is y1 and y1.flags.writeable
    assert b["f"]() is a["f"]()
    assert b["A"].indices is a["A"].indices and b["A"].indptr is a["A"].indptr
    assert b["A"].data is not a["A"].data and np.array_equal(b["A"].data, [2.0, 2.0, 2.0])
    assert b["nan"] is a["nan"]
    assert b["z"] is not a["x"]  # only the same place is compared


# -- the command line: outputs and errors -----------------------------------------------------
def _cli(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_cli_writes_every_period(tmp_path):
    years = [2030, 2050]
    path = _instance(tmp_path, years, [_target("h_first", "housing", 2030, min=1),
                                       _target("h_last", "housing", min=2)])
    out = tmp_path / "out"
    res = _cli(["solve", str(path), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "cost of myopia: 5.000 points" in res.output
    grids = {}
    for y in years:
        with rasterio.open(out / f"allocation_{y}.tif") as src:
            grids[y] = src.read(1).ravel()
    with rasterio.open(out / "allocation.tif") as src:
        assert (src.read(1).ravel() == grids[2050]).all()
    # housing, once built, stays (irreversible), on the output rasters
    assert ((grids[2030] != HOUSING) | (grids[2050] == HOUSING)).all()
    assert (out / "change_2030_2050.tif").is_file()
    head = (out / "targets.csv").read_text().splitlines()
    assert head[0].startswith("period,target")
    assert {line.split(",")[0] for line in head[1:]} == {"2030", "2050"}
    assert "Pad door de perioden" in (out / "report.html").read_text()
    duals = json.loads((out / "summary.json").read_text())["pathway"]["target_duals"]
    assert {d["period"] for d in duals} == {"2030", "2050"}


def test_shadow_prices_per_period(tmp_path):
    # by hand (weights 20, 20; farmland 1.0): the optimum builds cell 1 from 2030 (loses
    # 20·0.375 + 20·0.375 = 15) and cell 2 from 2050 (loses 20·0.5 = 10). One more hectare by
    # 2030 moves cell 2 to 2030 (+10); one fewer lets cell 1 wait until 2050 (−7.5): the
    # 2030 dual lies in [−10, −7.5]. One more hectare by 2050 takes cell 3 in 2050 (+17.5),
    # one fewer drops cell 2 (−10): the 2050 dual lies in [−17.5, −10].
    years = [2030, 2050]
    path = _instance(tmp_path, years, [_target("h_first", "housing", 2030, min=1),
                                       _target("h_last", "housing", min=2)])
    out = tmp_path / "prices"
    res = _cli(["shadow-prices", str(path), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "By 2030: one more hectare of housing" in res.output
    lines = (out / "shadow_prices.csv").read_text().splitlines()
    assert lines[0].startswith("period,row,block")
    rows = {r["block"]: r for r in json.loads((out / "summary.json").read_text())
            ["shadow_prices"]}
    assert -10 - 1e-6 <= rows["target:h_first@2030"]["dual"] <= -7.5 + 1e-6
    assert -17.5 - 1e-6 <= rows["target:h_last@2050"]["dual"] <= -10 + 1e-6
    assert rows["target:h_first@2030"]["period"] == 2030
    assert (out / "allocation_2030.tif").is_file()
    res = _cli(["shadow-prices", str(path), "-o", str(tmp_path / "f"), "--method", "fixed"])
    assert res.exit_code == 2 and "--method lp" in res.output


def test_compare_assesses_the_last_period_and_says_so(tmp_path):
    path = _instance(tmp_path, [2030, 2050], [_target("h", "housing", 2030, min=1)])
    assert _cli(["solve", str(path), "-o", str(tmp_path / "run"), "-q"]).exit_code == 0
    res = _cli(["compare", str(tmp_path / "run"), str(tmp_path / "run"), "-o",
                str(tmp_path / "cmp"), "-q"])
    assert res.exit_code == 0, res.output
    notes = json.loads((tmp_path / "cmp" / "compare.json").read_text())["notes"]
    assert any("last period (2050, allocation.tif) is assessed" in n for n in notes)


@pytest.mark.parametrize("command", ["rule-costs", "pareto", "alternatives"])
def test_analyses_that_re_solve_run_on_periods(tmp_path, command):
    """The analyses re-solve the pathway model (their values are checked against brute force
    in test_analysis.py); an unknown period in a criterion is an input error."""
    path = _instance(tmp_path, [2030, 2050], [_target("h", "housing", 2030, min=1)])
    extra = ["--x", "area:housing@2030", "--y", "objective"] if command == "pareto" else []
    res = _cli([command, str(path), *extra, "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "allocation_2030.tif").is_file() or \
        (tmp_path / "o" / "optimum" / "allocation_2030.tif").is_file()
    if command == "pareto":
        res = _cli([command, str(path), "--x", "area:housing@2035", "--y", "objective",
                    "-o", str(tmp_path / "p"), "-q"])
        assert res.exit_code == 2 and "'2035' is not a period" in res.output


def _error(tmp_path, targets, extra=None, years=(2030, 2050)) -> tuple[int, str]:
    path = _instance(tmp_path, list(years), targets, extra=extra)
    res = _cli(["solve", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert not (tmp_path / "out" / "summary.json").exists()
    return res.exit_code, res.output


def test_target_year_that_is_no_period(tmp_path):
    code, out = _error(tmp_path, [_target("h", "housing", 2035, min=1)])
    assert code == 2
    assert "paths.yaml" in out and "targets[0].by" in out and "2035" in out


def test_per_period_layer_missing_a_period(tmp_path):
    code, out = _error(tmp_path, [_target("h", "housing", min=1)],
                       extra={"period_layers": {"hq": {2030: "hq_2030"}}})
    assert code == 2
    assert "period_layers.hq" in out and "2050" in out


def test_current_use_without_successor(tmp_path):
    path = _instance(tmp_path, [2030, 2050], [_target("h", "housing", min=1)])
    text = path.read_text().replace("uses:\n", "uses:\n- id: agriculture\n  successors: []\n", 1)
    path.write_text(text)
    res = _cli(["solve", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 2
    assert "uses.agriculture.successors" in res.output and "without a successor" in res.output


def test_irreversible_use_makes_a_later_target_unreachable(tmp_path):
    # housing by 2030 and at most none by 2050: housing cannot be undone
    code, out = _error(tmp_path, [_target("h_first", "housing", 2030, min=1),
                                  _target("h_none", "housing", max=0)])
    assert code == 3
    assert "period 2050" in out and "h_none" in out and "national" in out


def test_reservation_keeps_permanent_uses_out_in_every_period(tmp_path):
    years = [2030, 2040, 2050]
    targets = [_target("h_first", "housing", 2030, min=1), _target("h_last", "housing", min=2)]
    reserved = np.array([[0, 1, 0, 0]])
    extra = {"rules": [{"id": "keep_open", "type": "reservation", "status": "G",
                        "layer": "reserved", "source": SRC}]}
    path = _instance(tmp_path, years, targets, extra=extra)
    write_area(tmp_path, np.full((1, 4), AGRI), layers={
        **{f"hq_{y}": (np.array([HQ[y]], np.float32), "continuous", {"unit": "-"})
           for y in years}, "reserved": (reserved, "mask", {})})
    out = tmp_path / "out"
    res = _cli(["solve", str(path), "-o", str(out), "-q", "--mode", "foresight"])
    assert res.exit_code == 0, res.output
    best, _ = _brute_force(years, [AGRI, HOUSING, NATURE],
                           [(HOUSING, 0, 1, 4), (HOUSING, 2, 2, 4)], forbid={1: {HOUSING}})
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(best, abs=1e-6)
    assert "cost_of_myopia" not in summary["pathway"]
    prev = None
    for y in years:
        with rasterio.open(out / f"allocation_{y}.tif") as src:
            codes = src.read(1).ravel()
        assert codes[1] != HOUSING  # reserved: no permanent building in any period
        if prev is not None:  # irreversible housing stays
            assert ((prev != HOUSING) | (codes == HOUSING)).all()
        prev = codes


def test_one_period_checks_its_fields(tmp_path):
    # one period is the end-state model, but its `by` must still be that period
    code, out = _error(tmp_path, [_target("h", "housing", 2040, min=1)], years=(2030,))
    assert code == 2 and "targets[0].by" in out


def _random_instance(folder: Path, explicit_max: int | None = None) -> pwm.Pathway:
    """60 farmland cells with random housing and solar values, four targets in three
    periods."""
    years = [2030, 2040, 2050]
    rng = np.random.default_rng(11)
    shape = (6, 10)
    layers = {f"hq_{y}": (rng.random(shape).astype(np.float32), "continuous", {"unit": "-"})
              for y in years}
    layers["sv"] = (rng.random(shape).astype(np.float32), "continuous", {"unit": "-"})
    targets = [_target("h_first", "housing", 2030, min=12), _target("h_last", "housing", min=25),
               _target("s_first", "solar", 2030, min=8, max=15),
               _target("n_mid", "nature", 2040, min=6)]
    return _compiled(_instance(folder, years, targets, solar=True, layers=layers),
                     explicit_max)


def test_warm_started_rounds_reach_the_cold_lp_optimum(tmp_path):
    """Column generation over the trajectories with each restricted LP started from the last
    one's basis ends at the LP optimum of the explicit model, as the cold-started rounds do,
    and the warm start is really used."""
    import time

    from ruimteverdeling.model import periods as mp

    # a restricted master of a few units that grows by some columns a round, exact to the end
    pw, opts, exact, specs, labels, start = _generation_case(tmp_path, add=30)
    runs = {}
    for warm in (False, True):
        runs[warm] = mp.generate(pw.traj, specs, labels, pw.model.weights, start, opts,
                                 lambda m: None, time.perf_counter() + 120, warm=warm)
    for gen in runs.values():
        assert gen.converged
        assert gen.objective == pytest.approx(exact.objective, abs=1e-6)
        assert gen.bound == pytest.approx(exact.objective, abs=1e-6)
    assert len(runs[True].rounds) > 2
    assert all(r["start_basis"] == "warm" for r in runs[True].rounds[1:])
    assert all(r["start_basis"] == "crash" for r in runs[False].rounds)


def test_prices_from_a_sample_stage_leave_the_optimum_unchanged(tmp_path, monkeypatch):
    """The first prices from column generation on half of the units (rows scaled to their
    share) are only a start: the generated foresight optimum is the explicit model's."""
    from ruimteverdeling.model import periods as mp

    exact = pwm.solve_foresight(_random_instance(tmp_path / "explicit"))
    monkeypatch.setattr(mp, "SAMPLE_MIN_UNITS", 0)
    monkeypatch.setattr(mp, "SAMPLE_SHARE", 0.5)
    said: list[str] = []
    pw = _random_instance(tmp_path / "generated", explicit_max=0)
    assert not pw.explicit
    sol = pwm.solve_foresight(pw, said.append)
    assert any("50% of the units" in m for m in said)
    assert any(m.startswith("  sample") for m in said)
    assert exact.decision_gap is not None and exact.decision_gap <= 1e-4
    assert sol.objective == pytest.approx(exact.objective, rel=1e-4)
    assert sol.bound >= exact.objective - 1e-6


def test_sample_models_keep_only_the_sample_columns(tmp_path):
    """The period models of a price sample keep only the columns its trajectories take:
    the joint model over the sample's trajectories, its status quo and every pricing are
    those of the full period models with the sample's row bounds."""
    from dataclasses import replace

    from ruimteverdeling.model import periods as mp

    pw = _random_instance(tmp_path, explicit_max=0)
    traj = pw.traj
    assert traj is not None
    specs = [cm.spec for cm in pw.compiled]
    labels = [str(y) for y in pw.years]
    w = pw.model.weights
    sample = np.sort(np.random.default_rng(5).choice(traj.n_units, traj.n_units // 3,
                                                     replace=False))
    sub, small = mp.scaled_periods(traj, specs, sample)
    full = [replace(s, coupling=[replace(b, lower=sb.lower, upper=sb.upper)
                                 for b, sb in zip(s.coupling, t.coupling, strict=True)],
                    terms=[], obj_offset=0.0) for s, t in zip(specs, small, strict=True)]
    ref = traj.subset(sample)
    for s, t in zip(specs, small, strict=True):
        assert t.n_x < s.n_x  # a third of the units: far from every column
        assert t.n_units <= sample.size
    keys = sub.all_keys()
    assert np.array_equal(keys, ref.all_keys())
    a, _ = sub.model(small, labels, w, keys)
    b, _ = ref.model(full, labels, w, keys)
    assert np.allclose(a.spec.obj, b.spec.obj)
    for ba, bb in zip(a.spec.coupling, b.spec.coupling, strict=True):
        assert np.allclose(ba.A.toarray(), bb.A.toarray())
        assert np.array_equal(ba.lower, bb.lower) and np.array_equal(ba.upper, bb.upper)
    # the status quo: every sample cell keeps its current use in every period
    for p, t in enumerate(small):
        stay = traj.valid[0, sample]
        cols = traj.col_of[p][sample[stay], traj.current[sample[stay]]]
        assert t.status_quo_value == pytest.approx(float(specs[p].obj[cols[cols >= 0]].sum()))
    m = sum(bl.n_rows for s in specs for bl in s.coupling)
    rng = np.random.default_rng(8)
    for _ in range(5):
        y = rng.normal(0.0, 10.0, m)
        got = sub.best2(mp.period_reduced_costs(small, w, y))
        want = ref.best2(mp.period_reduced_costs(full, w, y))
        for g, h in zip(got, want, strict=True):
            assert g == pytest.approx(h, abs=1e-9)


def test_unique_keys_is_numpys_union():
    """The sort-based deduplication of trajectory keys gives numpy's sorted union, for
    empty, single and repeated inputs alike."""
    from ruimteverdeling.model import periods as mp

    rng = np.random.default_rng(2)
    for sizes in ([0], [1], [0, 3], [50, 50, 7], [1000]):
        arrays = [rng.integers(0, 40, n) for n in sizes]
        want = np.unique(np.concatenate(arrays)) if sum(sizes) else np.zeros(0, np.int64)
        got = mp.unique_keys(*arrays)
        assert got.dtype == np.int64
        assert np.array_equal(got, want)


def test_partial_rounds_reach_the_lp_optimum_over_every_trajectory(tmp_path, monkeypatch):
    """Column generation with partial rounds (the restricted LP re-solved and only the units
    left waiting at the last full pricing and the free ones re-priced) ends at the LP
    optimum of the explicit model, as with full pricing every round; partial rounds really
    run, add columns, and the bound still comes from full pricings alone."""
    import time

    from ruimteverdeling.model import periods as mp

    # few units enter a round, so the pool of those left waiting is not empty
    pw, opts, exact, specs, labels, start = _generation_case(tmp_path, add=25)
    runs = {}
    for partial in (0, 3):
        runs[partial] = mp.generate(pw.traj, specs, labels, pw.model.weights, start, opts,
                                    lambda m: None, time.perf_counter() + 120,
                                    partial_rounds=partial)
    for gen in runs.values():
        assert gen.converged
        assert gen.objective == pytest.approx(exact.objective, abs=1e-6)
        assert gen.bound == pytest.approx(exact.objective, abs=1e-6)
    assert all(r["pricing"] == "full" for r in runs[0].rounds)
    part = [r for r in runs[3].rounds if r["pricing"] == "partial"]
    assert part and all(r["new"] > 0 and "bound" not in r for r in part)
    # at most three partial rounds follow a full one
    kinds = "".join("f" if r["pricing"] == "full" else "p" for r in runs[3].rounds)
    assert "pppp" not in kinds and kinds[0] == "f" and kinds[-1] == "f"
    # partial rounds take the place of full pricings
    full = sum(r["pricing"] == "full" for r in runs[3].rounds)
    assert full < len(runs[0].rounds)
    # a pool of at most one round's entrants still ends at the optimum
    monkeypatch.setattr(mp, "POOL_SIZE", 1)
    gen = mp.generate(pw.traj, specs, labels, pw.model.weights, start, opts, lambda m: None,
                      time.perf_counter() + 120, partial_rounds=3)
    assert gen.converged and gen.objective == pytest.approx(exact.objective, abs=1e-6)
    part = [r for r in gen.rounds if r["pricing"] == "partial"]
    assert part and all(r["pool"] <= 25 for r in part)


def test_pathway_summary_is_the_last_periods_with_the_joint_figures(tmp_path):
    """The run summary of a pathway reuses the last period's tables (the same allocation) and
    carries the joint solution's figures: the same as a summary built afresh for it."""
    from ruimteverdeling import pipeline
    from ruimteverdeling.results import summary as sm

    years = [2030, 2050]
    targets = [_target("h_first", "housing", 2030, min=1), _target("h_last", "housing", min=2)]
    run = pipeline.solve(_instance(tmp_path, years, targets), None, mode="both")
    pr = run.pathway
    assert pr is not None
    head = run.solution
    fresh = sm.build_summary(pr.model.last, head, pr.periods[-1].after)
    summary = run.summary
    assert "locations" not in summary
    assert summary["objective"] == pr.solution.objective
    assert summary["status"] == pr.solution.status
    for key, value in fresh.items():
        if key in ("areas", "targets", "rules", "burdens", "objective_terms"):
            last = [{k: v for k, v in row.items() if k != "period"}
                    for row in summary[key] if row["period"] == years[-1]]
            assert last == value, key
        else:
            assert summary[key] == value, key


def test_location_rules_a_pathway_does_not_enforce_are_named_in_a_warning(tmp_path):
    targets = [_target("h", "housing", min=2)]
    plain = _compiled(_instance(tmp_path / "plain", [2030, 2050], targets))
    assert not any("location rules" in w.message for w in plain.last.warnings)
    rule = {"id": "compact_housing", "type": "location", "use": "housing", "quantity": "area",
            "min_size": 2, "source": SRC}
    path = _instance(tmp_path / "located", [2030, 2050], targets, extra={"rules": [rule]})
    (warn,) = [w for w in _compiled(path).last.warnings if "location rules" in w.message]
    assert "compact_housing" in warn.message and "not enforced" in warn.message
    assert warn.field == "rules"
    res = _cli(["solve", str(path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "location rules compact_housing are not enforced" in res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "not enforced" in json.dumps(summary["warnings"])


def _generation_case(tmp_path: Path, add: int):
    """The random three-period instance, solver options that make column generation exact
    (``add`` units enter a round), the explicit model's LP optimum, and what
    :func:`ruimteverdeling.model.periods.generate` starts from."""
    from ruimteverdeling.model.solve import backend_for

    pw = _random_instance(tmp_path)
    assert pw.explicit and pw.traj is not None
    opts = pwm.solver_options(pw).model_copy(update={
        "decompose_free_min": 10, "decompose_free_share": 0.0, "decompose_add": add,
        "decompose_lp_gap": 0.0, "mip_rel_gap": 0.0, "decompose_max_iterations": 500})
    exact = backend_for(opts).lp(pw.spec, opts, 60.0)
    assert exact.status == "optimal"
    specs = [cm.spec for cm in pw.compiled]
    labels = [str(y) for y in pw.years]
    start = pwm._start_keys(pw.traj, specs, pw.model.weights)
    return pw, opts, exact, specs, labels, start
