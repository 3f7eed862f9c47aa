"""Trade-off analysis: shadow prices, rule costs, Pareto fronts, alternatives.

Most tests use a 1 × 5 strip of farmland (1 ha cells) where only nature and agriculture are
allowed. Agriculture is worth 0.5 per cell everywhere, nature ``S_N``; so a nature cell gains
``S_N − 0.5`` = +0.4, +0.1, −0.2, −0.4, −0.3 (cells 0 … 4), and every optimum is a choice of
the cells with the largest gains — hand-computable.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ruimteverdeling import api
from ruimteverdeling.analysis import alternatives as mga
from ruimteverdeling.analysis import duals
from ruimteverdeling.analysis import pareto as pf
from ruimteverdeling.analysis import rule_costs as rc
from ruimteverdeling.cli import main

from areas import SRC, write_area, write_scenario

S_N = [0.9, 0.6, 0.3, 0.1, 0.2]
IDENT = [[0, 0], [1, 1]]
CLOCK_FILES = {"manifest.json", ".ruimteverdeling-run"}
"""The files of a run folder that hold clock readings: the manifest, the engine's marker."""


def strip_case(folder: Path, nature_min: float | None = 3.5, extra_rules: list | None = None,
               name: str = "strip") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    one_hot = {f"c{i}": ([[1 if j == i else 0 for j in range(5)]], "mask", {})
               for i in range(5)}
    area = write_area(folder / "area", [[3] * 5],
                      layers={"s_n": ([S_N], "continuous", {}), **one_hot})
    data: dict[str, Any] = {
        "id": name, "area": str(area),
        "suitability": {"nature": {"terms": [{"layer": "s_n", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [],
        "rules": [{"id": "two_uses", "type": "exclusion", "layer": "landuse", "status": "G",
                   "allow": ["nature", "agriculture"], "applies_to": "all", "source": SRC},
                  *(extra_rules or [])],
    }
    if nature_min is not None:
        data["targets"] = [{"id": "nature", "use": "nature", "min": nature_min,
                            "source": SRC}]
    return write_scenario(folder / f"{name}.yaml", data)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------------
# 1. shadow prices
# ------------------------------------------------------------------------------------------
def test_dual_is_the_hand_computed_marginal_cost(tmp_path: Path) -> None:
    """3.5 ha of nature: the LP takes cells 0, 1, 2 and half of cell 4 (gain −0.3), so one
    more hectare costs 0.3 — and it comes from agriculture."""
    run = api.solve(strip_case(tmp_path), write=False)
    rows = duals.shadow_price_rows(run.compiled, run.solution, moves=True)
    (row,) = [r for r in rows if r["ref"] == "nature"]
    assert row["binding"] == "yes" and row["bound"] == "min"
    assert row["dual"] == pytest.approx(-0.3, abs=1e-6)
    assert row["dual_fd"] == pytest.approx(-0.3, abs=1e-6)
    assert "agriculture -1 ha" in row["moves"] and "nature +1 ha" in row["moves"]
    assert "One more hectare of nature nationally" in row["sentence"]
    assert "costs 0.3 objective points" in row["sentence"]
    assert "taken mostly from agriculture" in row["sentence"]


def test_dual_matches_a_finite_difference_of_independent_resolves(tmp_path: Path) -> None:
    """∂z*/∂b against (z*(b + h) − z*(b)) / h, each z* from its own compile and LP solve."""
    h = 0.01
    base = api.solve(strip_case(tmp_path / "a", 3.2), write=False, method="lp")
    moved = api.solve(strip_case(tmp_path / "b", 3.2 + h), write=False, method="lp")
    (row,) = [r for r in duals.shadow_price_rows(base.compiled, base.solution, moves=False)
              if r["ref"] == "nature"]
    fd = (moved.solution.objective - base.solution.objective) / h
    assert row["dual"] == pytest.approx(fd, rel=1e-6, abs=1e-9)
    assert fd == pytest.approx(-0.3, abs=1e-6)


def test_non_binding_target_has_zero_dual(tmp_path: Path) -> None:
    run = api.solve(strip_case(tmp_path, nature_min=1.0), write=False)
    (row,) = [r for r in duals.shadow_price_rows(run.compiled, run.solution)
              if r["ref"] == "nature"]
    assert row["binding"] == "no" and row["dual"] == 0.0
    assert "does not bind" in row["sentence"]


def test_fixed_neighbourhood_pricing(tmp_path: Path) -> None:
    """The integer optimum puts nature on cells 0, 1, 2, 4. At the relaxation's prices
    (y = −0.3 per ha of nature) cell 4 is the near-tie (nature 0.2 + 0.3 = agriculture 0.5),
    so a neighbourhood of one unit frees cell 4 only; 3 ha are fixed, cell 4 must give 0.5 ha
    at a marginal cost of 0.3."""
    run = api.solve(strip_case(tmp_path), write=False)
    free = duals._near_ties(run.compiled, run.solution, run.compiled.scenario.solver, 1)
    cells = run.compiled.ctx.land_cells[run.compiled.unit_land[free]]
    assert cells.tolist() == [4]
    for n in (1, 5):  # 5: every unit free, i.e. the relaxation itself
        rows = duals.shadow_price_rows(run.compiled, run.solution, method="fixed",
                                       neighbourhood=n, moves=True)
        (row,) = [r for r in rows if r["ref"] == "nature"]
        assert row["source"] == "fixed" and row["binding"] == "yes"
        assert row["dual"] == pytest.approx(-0.3, abs=1e-6)
        assert row["dual_fd"] == pytest.approx(-0.3, abs=1e-6)
        assert row["required"] == pytest.approx(3.5) and row["achieved"] == pytest.approx(3.5)


def test_every_solve_writes_shadow_prices(tmp_path: Path) -> None:
    api.solve(strip_case(tmp_path), tmp_path / "out")
    rows = read_csv(tmp_path / "out" / "shadow_prices.csv")
    assert list(rows[0]) == duals.COLUMNS
    assert rows[0]["ref"] == "nature" and rows[0]["binding"] == "yes"
    assert float(rows[0]["dual"]) == pytest.approx(-0.3, abs=1e-6)


# ------------------------------------------------------------------------------------------
# 2. rule costs
# ------------------------------------------------------------------------------------------
def rule(rid: str, cell: int, status: str) -> dict[str, Any]:
    return {"id": rid, "type": "exclusion", "layer": f"c{cell}", "uses": ["nature"],
            "status": status, "source": SRC}


def test_rule_costs_exact(tmp_path: Path) -> None:
    """4 nature cells are needed (3.5 ha). Optimum z* = 2.5 (nature on 0, 1, 2, 4).

    * ``no_nature_c0`` (T, on): nature moves from cell 0 (+0.4) to cell 3 (−0.4): cost 0.8,
      2 ha move, no net change per use;
    * ``no_nature_c1`` (A, off): switched on, too few cells are left for the target;
    * ``no_housing_c2`` (T): closes housing, which is closed anyway: cost 0, nothing moves.
    """
    scenario = strip_case(tmp_path, extra_rules=[
        rule("no_nature_c0", 0, "T"), rule("no_nature_c1", 1, "A"),
        {**rule("no_housing_c2", 2, "T"), "uses": ["housing"]}])
    result = api.rule_costs(scenario, tmp_path / "out")
    nat = {r["rule"]: r for r in result.rows if r["region"] == "national"}
    assert set(nat) == {"no_nature_c0", "no_nature_c1", "no_housing_c2"}  # G not switched
    assert nat["no_nature_c0"]["cost"] == pytest.approx(0.8, abs=1e-6)
    assert nat["no_nature_c0"]["ha_moved"] == pytest.approx(2.0)
    assert nat["no_nature_c0"]["ha:nature"] == pytest.approx(0.0)
    assert nat["no_nature_c0"]["objective_on"] == pytest.approx(1.7, abs=1e-6)
    # the proven bracket holds the cost; the LP difference is reported beside it
    for r in nat.values():
        if r.get("cost") is not None:
            assert r["cost_lo"] - 1e-9 <= r["cost"] <= r["cost_hi"] + 1e-9
            assert r["lp_cost"] is not None
    assert nat["no_nature_c0"]["cost_lo"] <= 0.8 + 1e-6 <= nat["no_nature_c0"]["cost_hi"] + 2e-6
    assert nat["no_nature_c0"]["cost_lo"] >= 0.0  # a zone rule only restricts
    # closing cell 1 as well leaves cells 2, 3, 4: 3 ha < 3.5 — reported, not priced
    assert nat["no_nature_c1"]["switched"] == "on"
    assert nat["no_nature_c1"].get("cost") is None
    assert "no allocation can reach" in nat["no_nature_c1"]["note"]
    assert nat["no_housing_c2"]["cost"] == 0.0 and nat["no_housing_c2"]["ha_moved"] == 0.0
    assert nat["no_housing_c2"]["within_gap"] == "yes"
    rows = read_csv(tmp_path / "out" / "rule_costs.csv")
    assert rows[0]["rule"] and "ha:nature" in rows[0]
    # the run's report shows the rule costs and the binding rows' shadow prices
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "What does a rule cost?" in html and "no_nature_c0" in html
    assert 'href="#prijzen"' in html


def _counted_report_draws(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths the run report is drawn to from now on in this test, in order (the real
    drawing still runs)."""
    from ruimteverdeling.report import run as run_report

    drawn: list[Path] = []
    draw = run_report.write_run_report

    def counted(view: Any, path: Path, figures: Any = None) -> Path:
        drawn.append(Path(path))
        return draw(view, path, figures)

    monkeypatch.setattr(run_report, "write_run_report", counted)
    return drawn


def test_rule_costs_draw_their_report_once_with_the_costs(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The rule costs are in the run folder before its report.html is drawn: the report is
    drawn once, shows the costs, and is byte for byte the report re-rendered from the
    finished folder's files; rule_costs.csv is in the manifest's outputs."""
    drawn = _counted_report_draws(monkeypatch)
    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c0", 0, "T")])
    out = tmp_path / "out"
    result = api.rule_costs(scenario, out, workers=1)
    assert len(drawn) == 1
    assert result.out_path == out / "rule_costs.csv" and result.out_path.is_file()
    once = (out / "report.html").read_bytes()
    assert b"What does a rule cost?" in once and b"no_nature_c0" in once
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"rule_costs.csv", "report.html"} <= set(manifest["outputs"])
    api.render_report(out)
    assert len(drawn) == 2
    assert (out / "report.html").read_bytes() == once


def test_rule_costs_with_workers_draw_the_report_charts_ahead_to_the_same_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With worker processes re-solving, the report's charts are drawn while they run: the
    report is drawn once, with the costs, and is byte for byte the report re-rendered from
    the finished folder (every chart drawn afresh)."""
    from ruimteverdeling import pipeline

    ahead: list[bool] = []
    real = pipeline.draw_report_figures

    def counted(run: Any) -> None:
        real(run)
        ahead.append(run.figures is not None)

    monkeypatch.setattr(pipeline, "draw_report_figures", counted)
    drawn = _counted_report_draws(monkeypatch)
    from test_properties import rich_case

    out = tmp_path / "out"
    api.rule_costs(rich_case(tmp_path), out, workers=2)
    assert ahead == [True] and len(drawn) == 1
    once = (out / "report.html").read_bytes()
    assert b"What does a rule cost?" in once
    api.render_report(out)
    assert (out / "report.html").read_bytes() == once


def test_a_failing_rule_cost_run_leaves_no_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The costs are found before anything is written and their table is written into the
    run folder's working folder: pricing that fails after the scenario's solve, or a table
    that fails half-way, leaves no run folder, no working folder and no parent folder."""
    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c0", 0, "T")])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = tmp_path / "runs" / "costs"

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("pricing failed")

    with monkeypatch.context() as m:
        m.setattr(rc, "rule_costs", failing)
        with pytest.raises(RuntimeError, match="pricing failed"):
            api.rule_costs(scenario, out, workers=1)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before

    real = rc.write

    def half_written(rows: Any, path: Path) -> Path:
        real(rows, path)
        assert path.is_file()
        raise RuntimeError("disk gone")

    monkeypatch.setattr(rc, "write", half_written)
    with pytest.raises(RuntimeError, match="disk gone"):
        api.rule_costs(scenario, out, workers=1)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_variant_derived_without_compiling_is_the_compiled_variant(tmp_path: Path) -> None:
    """For every rule of the rich case (a rule of every type, an override), the variant
    derived from the scenario's model (:func:`rule_costs.derived_model`) is, where one is
    derived, the model that compiling the variant gives: the same columns, bounds,
    objective, status-quo value and row blocks, and the rule off. Derived are the rules that
    add rows without auxiliary columns (the conflict rule, the fairness cap) and those that
    add only objective terms (the cost and ladder rules); a zone rule, a softened rule and a
    soft share rule are compiled."""
    from ruimteverdeling.rules.compile import compile_model
    from test_properties import rich_case

    cm = api.compile(rich_case(tmp_path))
    derived = set()
    for r in cm.rules:
        if not r.is_enabled:
            continue
        variant = rc.switch(cm.scenario, r.id)
        d = rc.derived_model(cm, variant, r)
        if d is None:
            continue
        derived.add(r.id)
        c = compile_model(variant, cm.area, cm.catalogue)
        a, b = d.spec, c.spec
        # a cost term subtracted is exact up to rounding
        assert np.allclose(a.obj, b.obj, rtol=0, atol=1e-12), r.id
        assert a.obj_offset == pytest.approx(b.obj_offset, abs=1e-9), r.id
        assert [t.name for t in a.terms] == [t.name for t in b.terms], r.id
        for ta, tb in zip(a.terms, b.terms, strict=True):
            assert ta.weight == tb.weight and ta.constant == pytest.approx(tb.constant), r.id
            if ta.coef is not None:
                assert np.allclose(ta.coef, tb.coef, rtol=0, atol=1e-12), (r.id, ta.name)
        assert np.array_equal(a.lb, b.lb) and np.array_equal(a.ub, b.ub), r.id
        assert np.array_equal(a.col_unit, b.col_unit) and a.aux_names == b.aux_names, r.id
        assert a.status_quo_value == pytest.approx(b.status_quo_value, abs=1e-9), r.id
        assert [x.name for x in a.coupling] == [x.name for x in b.coupling], r.id
        for x, y in zip(a.coupling, b.coupling, strict=True):
            assert (x.A != y.A).nnz == 0, (r.id, x.name)
            assert np.array_equal(x.lower, y.lower) and np.array_equal(x.upper, y.upper)
        assert [q.id for q in d.rules if q.is_enabled] == [q.id for q in c.rules
                                                          if q.is_enabled]
        assert f"rule:{r.id}" not in {x.name for x in a.coupling}
    assert derived == {"setback", "fair", "landscape", "zonneladder"}


def test_the_bound_over_reopened_pairs_bounds_the_compiled_variant(tmp_path: Path) -> None:
    """A zone rule switched off, priced without compiling the variant: the Lagrangian bound
    of the scenario's model with the rule's pairs added (:func:`rule_costs.reopened_bound`)
    equals the compiled variant's Lagrangian bound at the same duals (only this rule closes
    those pairs), and bounds the variant's hand-computed optimum. On the strip (4 nature
    cells needed), closing nature on cell 0 gives z* = 1.7; reopened, 2.5."""
    from ruimteverdeling import pipeline
    from ruimteverdeling.rules.compile import compile_model

    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c0", 0, "T")])
    run = pipeline.solve(scenario, write=False)
    cm, sol = run.compiled, run.solution
    assert sol.objective == pytest.approx(1.7, abs=1e-6)
    duals = np.asarray(sol.row_dual, float)
    item = next(r for r in cm.rules if r.id == "no_nature_c0")
    bound = rc.reopened_bound(cm, item, duals)
    assert bound is not None
    variant = compile_model(rc.switch(cm.scenario, item.id), cm.area, cm.catalogue)
    fb = rc.Fallback(rc.with_pinned(cm, sol.x), duals)
    assert bound == pytest.approx(rc.lagrangian_bound(variant.spec,
                                                      rc.mapped_duals(fb, variant.spec)),
                                  abs=1e-9)
    assert bound >= 2.5 - 1e-9
    # the G rule that closes every other use: its bound holds its compiled variant's too
    two = next(r for r in cm.rules if r.id == "two_uses")
    wide = compile_model(rc.switch(cm.scenario, two.id), cm.area, cm.catalogue)
    assert rc.reopened_bound(cm, two, duals) >= rc.lagrangian_bound(
        wide.spec, rc.mapped_duals(fb, wide.spec)) - 1e-9
    assert rc.reopened_bound(cm, item, duals[:-1]) is None  # duals of another model
    # as a large model's quick outcome: the scenario's allocation, the bracket holds 0.8
    base = rc.outcome_of(cm, sol)
    out = rc.reopened_outcome(cm, item, fb, base, cm.scenario.solver, large=True)
    assert out is not None and out.message == rc.LARGE_NOTE
    assert out.objective == pytest.approx(1.7, abs=1e-6) and out.bound == pytest.approx(bound)
    lo, hi = rc.bracket(base, out)
    assert lo - 1e-9 <= 0.8 <= hi + 1e-9
    # a small model takes it only where the scenario's LP already answers (not here: the
    # reopened cell is worth more than the LP gives)
    assert base.lp_bound is not None and base.lp_bound < 2.5 - 1e-6
    fb.reference = rc.reference_of(cm, base.objective, base.lp_bound)
    assert rc.reopened_outcome(cm, item, fb, base, cm.scenario.solver, large=False) is None


def test_rule_cost_of_an_a_rule_switched_on(tmp_path: Path) -> None:
    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c1", 1, "A")])
    result = api.rule_costs(scenario, tmp_path / "out")
    (row,) = [r for r in result.rows if r["region"] == "national"]
    # on: nature on 0, 2, 3, 4 → 2.5 − 0.1 − 0.4 = 2.0; off: 2.5
    assert row["objective_on"] == pytest.approx(2.0, abs=1e-6)
    assert row["objective_off"] == pytest.approx(2.5, abs=1e-6)
    assert row["cost"] == pytest.approx(0.5, abs=1e-6)
    assert row["cost_to_others"] == pytest.approx(0.5, abs=1e-6)
    assert any("no_nature_c1" in line for line in rc.text_table(result.rows))


def test_a_rule_switched_on_in_a_large_model_repairs_the_scenarios_allocation(
        tmp_path: Path) -> None:
    """A model above ``decompose_above`` (made so here) with an A rule switched on: the
    scenario's allocation (nature on 0, 1, 2, 4) breaks it on cell 1 only, so that cell is
    freed and re-chosen — the target then needs nature on cell 3: objective 2.0, the
    variant's optimum by hand — under the Lagrangian bound at the scenario's duals; the
    bracket holds the true cost 0.5."""
    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c1", 1, "A")])
    run = api.solve(scenario, write=False)
    cm, sol = run.compiled, run.solution
    assert sol.objective == pytest.approx(2.5, abs=1e-6)
    fb = rc.Fallback(rc.with_pinned(cm, sol.x), np.asarray(sol.row_dual, float))
    on = rc.switch(cm.scenario, "no_nature_c1")
    large = on.model_copy(update={"solver": on.solver.model_copy(
        update={"decompose_above": 0})})
    large.path, large.chain = on.path, on.chain
    out = rc.solve_variant(large, cm.area, cm.catalogue, sol.warm, quick=True,
                           restricted=fb)
    assert out.method == "scenario+repair"
    assert out.objective == pytest.approx(2.0, abs=1e-6)
    assert out.bound >= 2.0 - 1e-9
    lo, hi = rc.bracket(out, rc.outcome_of(cm, sol))
    assert lo - 1e-9 <= 0.5 <= hi + 1e-9


def test_rule_costs_in_worker_processes_match_the_serial_costs(tmp_path: Path) -> None:
    """The re-solves run in two forked worker processes (the compiled model inherited, not
    sent) and give the serial table exactly: every rule and target of the rich case (a rule
    of every type: derived, compiled, reopened and priced by the scenario's duals), every
    value of every row; on the strip case 0.8 for closing cell 0 (by hand, see above) and 0
    for a rule that does not bind."""
    from test_properties import rich_case

    run = api.solve(rich_case(tmp_path), write=False)
    serial = rc.rule_costs(run.compiled, run.solution, which="all", targets=True, workers=1)
    forked = rc.rule_costs(run.compiled, run.solution, which="all", targets=True, workers=2)
    assert len(serial.rows) > 10
    assert forked.rows == serial.rows
    assert any(r.get("cost") for r in serial.rows)  # something binds: not a table of zeros

    scenario = strip_case(tmp_path / "strip", extra_rules=[
        rule("no_nature_c0", 0, "T"), {**rule("no_housing_c2", 2, "T"), "uses": ["housing"]}])
    strip = api.solve(scenario, write=False)
    result = rc.rule_costs(strip.compiled, strip.solution, workers=2)
    nat = {r["rule"]: r for r in result.rows if r["region"] == "national"}
    assert nat["no_nature_c0"]["cost"] == pytest.approx(0.8, abs=1e-6)
    assert nat["no_nature_c0"]["cost_lo"] <= 0.8 + 1e-6 <= nat["no_nature_c0"]["cost_hi"] + 2e-6
    assert nat["no_nature_c0"]["ha_moved"] == pytest.approx(2.0)
    assert nat["no_housing_c2"]["cost"] == 0.0


def test_the_variants_stop_by_work_not_by_how_long_the_scenarios_solve_took(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded machine makes the scenario's own solve slow; the variants must not answer
    differently for it. With the scenario's solve measured at a millisecond and at a
    quarter of an hour, every variant gets the same safety net (the scenario's time limit)
    and the table is the same, row for row, value for value, and no variant is cut by a
    clock (status ``time_limit``)."""
    from test_properties import rich_case

    run = api.solve(rich_case(tmp_path), write=False)
    limits: list[float] = []
    real = rc.solve_variant

    def spy(scenario: Any, *args: Any, **kwargs: Any) -> Any:
        limits.append(float(scenario.solver.time_limit))
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(rc, "solve_variant", spy)
    tables = []
    for seconds in (1e-3, 900.0):
        run.solution.seconds = {"lp": seconds}
        limits.clear()
        tables.append(rc.rule_costs(run.compiled, run.solution, which="all",
                                    targets=True).rows)
        assert limits and set(limits) == {float(run.compiled.scenario.solver.time_limit)}
    assert len(tables[0]) > 10 and tables[0] == tables[1]
    assert all(r.get("solve_status") != "time_limit" for r in tables[0])


def test_a_rule_that_only_restricts_is_carried_through_combined_outcomes() -> None:
    """Hand-set numbers: with the rule, incumbent 95 under bound 110; without it, 98 under
    100: the cost lies in [98 − 110, 100 − 95] = [−12, 5] (for a rule that only restricts
    the lower end is then raised to 0). Combining two outcomes of a variant keeps the mark
    that its switched-on rule only restricts."""
    on = rc.Outcome("feasible", 95.0, bound=110.0)
    off = rc.Outcome("feasible", 98.0, bound=100.0)
    assert rc.bracket(on, off) == (-12.0, 5.0)
    assert rc.combined(rc.Outcome("feasible", 1.0, bound=2.0, restricts=True),
                       rc.Outcome("feasible", 1.5, bound=3.0)).restricts


def test_the_stage_summary_sums_each_step_over_the_variants() -> None:
    """The verbose log's breakdown of the re-solves: each step's seconds summed over the
    variants, in the order the steps first appear, and the workers that ran them."""
    outs = [rc.Outcome("optimal", seconds={"compile": 1.25, "resolve": 2.0}),
            rc.Outcome("feasible", seconds={"resolve": 0.5, "locations": 3.0}),
            rc.Outcome("infeasible")]
    line = rc.stage_summary(outs, 2)
    assert line == ("re-solve steps summed over 3 variants (2 workers): compile 1.2 s, "
                    "resolve 2.5 s, locations 3.0 s")
    assert rc.stage_summary([rc.Outcome("infeasible")], 1).endswith("(1 worker): none")


def test_the_workers_take_the_longest_variants_first() -> None:
    """The order of the forked re-solves: a rule switched on and a minimax fairness rule
    first, then cost and ladder rules, then other rules, location rules last; the scenario's
    order within a rank (a fairness cap only adds rows: an ordinary rule). Variants already
    answered are left out."""
    from types import SimpleNamespace as Item

    items = [("rule", Item(type=t, is_enabled=on, **extra)) for t, on, extra in [
        ("location", True, {}), ("exclusion", True, {}), ("cost", True, {}),
        ("exclusion", False, {}), ("fairness", True, {"mode": "cap"}), ("ladder", True, {}),
        ("fairness", True, {"mode": "minimax"}), ("fairness", True, {"mode": "deviation"})]]
    items.append(("target", Item(is_enabled=True)))
    assert rc.longest_first(items) == [3, 6, 7, 2, 5, 1, 4, 8, 0]
    # the location rule already answered; the exclusion rule switched off is then known to
    # be priced (compiled and re-solved): it goes out with the cost rules
    assert rc.longest_first(items, {0}) == [3, 6, 7, 1, 2, 5, 4, 8]
    # the fairness cap's variant compiled anew: it goes out with the cost rules too
    assert rc.longest_first(items, {0}, {4}) == [3, 6, 7, 1, 2, 4, 5, 8]


def test_the_variants_compiled_anew_are_those_without_a_derived_model(tmp_path: Path) -> None:
    """Of the rich case's rules that close no pairs, only the proximity share (its shortfall
    has a penalty column) is compiled anew when switched off: exactly those for which
    :func:`derived_model` gives no model."""
    from test_properties import rich_case

    cm = api.solve(rich_case(tmp_path), write=False, method="lp").compiled
    anew = {r.id for r in cm.scenario.rules if rc.compiled_anew(cm, r)}
    assert anew == {"near_good_sites"}
    for r in cm.scenario.rules:
        c = cm.contributions.get(r.id)
        if r.is_enabled and c is not None and c.closed is None:
            derived = rc.derived_model(cm, rc.switch(cm.scenario, r.id), r)
            assert (derived is None) == (r.id in anew), r.id


def test_a_rule_that_only_restricts_has_a_bracket_from_zero(tmp_path: Path) -> None:
    """Switching off a rule that only closes pairs, adds hard rows or nothing to the cell
    model relaxes the scenario, so its cost is ≥ 0 and the bracket's lower end is 0 at
    least; a rule with an objective term, a soft row or an override is not judged. A
    non-binding rule priced against a scenario solved to a 2-point gap: [−2, 2] becomes
    [0, 2]; the same pair for a rule that is not judged keeps [−2, 2]."""
    from dataclasses import replace

    from test_properties import rich_case

    rich = api.compile(rich_case(tmp_path))
    assert {r.id: rc.only_restricts(rich, r) for r in rich.rules} == {
        "three_uses": True, "cities_apart": True, "fair": True, "setback": True,
        "zone_rule": False,  # an override touches it
        "landscape": False, "zonneladder": False,  # objective terms
        "near_good_sites": False}  # a soft row
    scenario = strip_case(tmp_path / "strip", extra_rules=[
        {**rule("no_housing_c2", 2, "T"), "uses": ["housing"]}])
    run = api.solve(scenario, write=False)
    cm = run.compiled
    (item,) = [r for r in cm.rules if r.id == "no_housing_c2"]
    assert rc.only_restricts(cm, item)
    base = rc.outcome_of(cm, run.solution)
    assert base.objective is not None
    wide = replace(base, bound=base.objective + 2.0)  # the scenario's own gap
    var = replace(base, bound=base.objective + 2.0)  # the rule does not bind
    (row,) = rc._rows_for(cm, "rule", item, wide, var, restricts=True)
    assert (row["cost"], row["cost_lo"], row["cost_hi"]) == (0.0, 0.0, pytest.approx(2.0))
    (row,) = rc._rows_for(cm, "rule", item, wide, var, restricts=False)
    assert (row["cost_lo"], row["cost_hi"]) == (pytest.approx(-2.0), pytest.approx(2.0))
    result = rc.rule_costs(cm, run.solution)
    (nat,) = [r for r in result.rows if r["region"] == "national"]
    assert nat["cost_lo"] >= 0.0 and nat["cost"] == 0.0


def test_the_default_workers_are_the_idle_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two cores: with only this command's own solve in the load average (1.0) both are
    idle; another job's full core (2.0) leaves one; a loaded machine (9.0) one; without a
    load average every core counts; a load of 2.0 that is the command's own solve on two
    threads leaves both. Never more than two workers by default."""
    from ruimteverdeling import parallel

    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    monkeypatch.setattr(parallel, "busy_cores", lambda: None)  # no CPU counters: the load
    for load, idle in ((1.0, 2), (1.3, 2), (2.0, 1), (9.0, 1), (0.0, 2)):
        monkeypatch.setattr(parallel.os, "getloadavg", lambda load=load: (load, 0.0, 0.0))
        assert parallel.idle_cores(own=1.0) == idle, load
    # this process's own share: its CPU seconds over the wall clock since the import
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (2.0, 0.0, 0.0))
    assert parallel.idle_cores(own=2.0) == 2  # a solve on two threads: nobody else
    import time as _time
    from types import SimpleNamespace

    now = parallel.os.times()
    ten_ago = SimpleNamespace(user=now.user - 5.0, system=now.system)  # 5 CPU s in 10 s
    monkeypatch.setattr(parallel, "_STARTED", (_time.monotonic() - 10.0, ten_ago))
    assert parallel.own_load() == pytest.approx(0.5, abs=0.1)
    monkeypatch.setattr(parallel, "_STARTED", (_time.monotonic() - 1.0, now))
    assert parallel.own_load() == 1.0  # too soon to tell

    def missing() -> tuple[float, float, float]:
        raise OSError("no load average")

    monkeypatch.setattr(parallel.os, "getloadavg", missing)
    assert parallel.idle_cores() == 2
    monkeypatch.setattr(parallel, "usable_cores", lambda: 8)
    assert parallel.default_workers() == parallel.DEFAULT_WORKERS == 2


def test_the_idle_cores_come_from_the_cpu_counters_not_the_load_average(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Right after a heavy command the 1-minute load average still reads high on an idle
    machine; the CPU counters over a short window see it idle and give both cores. Counters
    where one of two CPUs was busy over the window leave one; unreadable counters fall back
    to the load average."""
    from ruimteverdeling import parallel

    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal (ticks, summed over the CPUs)
    idle = [(1000, 0, 0, 9000, 0, 0, 0, 0), (1000, 0, 0, 9050, 0, 0, 0, 0)]
    readings = iter([*idle, *idle, (1000, 0, 0, 9000, 0, 0, 0, 0),
                     (1025, 0, 0, 9020, 5, 0, 0, 0)])

    def counters() -> tuple[float, float] | None:
        stat.write_text("cpu  " + " ".join(map(str, next(readings))) + " 0 0\ncpu0 1 2\n")
        return real()

    real = parallel._cpu_counters
    monkeypatch.setattr(parallel, "STAT_PATH", str(stat))
    monkeypatch.setattr(parallel, "_cpu_counters", counters)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parallel, "usable_cores", lambda: 2)
    monkeypatch.setattr(parallel, "STAT_WINDOW", 0.0)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (3.2, 2.5, 1.0))  # stale
    assert parallel.busy_cores(window=0.0) == pytest.approx(0.0, abs=0.05)
    assert parallel.idle_cores(own=0.0) == 2
    # 25 of 50 ticks busy over the window: one of the two cores; iowait counts as idle
    assert parallel.busy_cores(window=0.0) == pytest.approx(1.0, abs=0.05)
    monkeypatch.setattr(parallel, "STAT_PATH", str(tmp_path / "missing"))
    monkeypatch.setattr(parallel, "_cpu_counters", real)
    assert parallel.busy_cores(window=0.0) is None
    assert parallel.idle_cores(own=0.0) == 1  # the load average: 3.2 busy of 2 cores


def test_fork_map_returns_the_results_in_order_and_raises_a_task_error() -> None:
    """Tasks that finish out of order come back in index order, each call reported once;
    a closure over local state is inherited (nothing pickled on the way in); an exception in
    a task is raised in the caller, and so is a worker that dies."""
    import os
    import signal
    import time as _time

    from ruimteverdeling.parallel import fork_map

    weights = {i: (5 - i) * 0.01 for i in range(6)}  # the first tasks take longest

    def task(i: int) -> int:
        _time.sleep(weights[i])
        return i * i

    seen: list[int] = []
    assert fork_map(task, 6, 2, lambda i, r: seen.append(i)) == [i * i for i in range(6)]
    assert sorted(seen) == list(range(6))
    assert fork_map(task, 3, 1) == [0, 1, 4]

    def broken(i: int) -> int:
        if i == 2:
            raise ValueError("task 2 fails")
        return i

    with pytest.raises(ValueError, match="task 2 fails"):
        fork_map(broken, 4, 2)

    def killed(i: int) -> int:  # a worker killed (as for memory) is an error, not a hang
        if i == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        fork_map(killed, 3, 2)

    def nested(i: int) -> list[int]:  # a worker may not fork its own: it runs them itself
        return fork_map(lambda j: i * 10 + j, 3, 2)

    assert fork_map(nested, 2, 2) == [[0, 1, 2], [10, 11, 12]]


def test_forked_calls_run_in_children_and_return_the_calls_not_made(tmp_path: Path) -> None:
    """The calls run in a child forked at the first one (it sees what this process held
    then, not what changes after; later calls' arguments are sent to it); a call that raises
    or whose child dies is left to the caller, and so is every call with a limit of 0."""
    import os
    import signal

    from ruimteverdeling.parallel import ForkedCalls

    state = {"v": 1}

    def write(name: str, fail: str = "") -> None:
        if fail == "raise":
            raise ValueError("fails")
        if fail == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        (tmp_path / name).write_text(f"{state['v']} {os.getpid()}")

    calls = ForkedCalls(write, 1)
    assert calls.submit("a", "a")
    state["v"] = 2  # after the fork: the child keeps the value it inherited
    assert calls.submit("b", "b") and calls.submit("c", "c", "raise")
    left = calls.wait()  # "b" is taken back when the child had not started it yet
    assert left in (["c"], ["b", "c"]) and not (tmp_path / "c").exists()
    va, pa = (tmp_path / "a").read_text().split()
    assert va == "1" and pa != str(os.getpid())
    if "b" not in left:  # the same child, with what it inherited
        assert (tmp_path / "b").read_text().split() == [va, pa]
    else:
        assert not (tmp_path / "b").exists()
    calls = ForkedCalls(write, 1)
    assert calls.submit("d", "d", "kill")
    assert "d" in calls.wait() and not (tmp_path / "d").exists()
    none = ForkedCalls(write, 0)
    assert not none.submit("e", "e")
    assert none.wait() == ["e"] and not (tmp_path / "e").exists()


def test_forked_calls_wait_lets_a_ctrl_c_through(tmp_path: Path) -> None:
    """A Ctrl-C while :meth:`ForkedCalls.wait` waits for a child stops this process: it is
    not taken for a failed call to be made again here (which would finish the command the
    user interrupted)."""
    import os
    import signal
    import threading
    import time

    from ruimteverdeling.parallel import ForkedCalls

    def slow(name: str) -> None:
        time.sleep(10)
        (tmp_path / name).write_text("late")

    calls = ForkedCalls(slow, 1)
    assert calls.submit("a", "a")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            calls.wait()
    finally:
        timer.cancel()
        calls.cancel()
    assert not (tmp_path / "a").exists()


def test_forked_calls_children_leave_ctrl_c_to_the_parent_and_die_on_sigterm(
        tmp_path: Path) -> None:
    """A child of ForkedCalls ignores a Ctrl-C (the parent handles it and stops the child,
    so an idle child prints no traceback) and dies at SIGTERM, even where the parent turns
    SIGTERM into a KeyboardInterrupt as the command line does."""
    import signal

    from ruimteverdeling.parallel import ForkedCalls

    def record(name: str) -> None:
        handlers = (signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
                    signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        (tmp_path / name).write_text(repr(handlers))

    def parents_handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, parents_handler)
    try:
        calls = ForkedCalls(record, 1)
        assert calls.submit("a", "a")
        assert calls.wait() == []
    finally:
        signal.signal(signal.SIGTERM, old)
    assert (tmp_path / "a").read_text() == "(True, True)"


def test_forked_calls_after_the_child_died_are_left_to_the_caller(tmp_path: Path) -> None:
    """A call handed in after the child died (killed for memory while this process solves
    on) is not made in a child and raises nothing: it is among those wait returns, with the
    one the child died on, so the caller makes both itself."""
    import os
    import signal
    import time

    from ruimteverdeling.parallel import ForkedCalls

    def write(name: str, kill: bool = False) -> None:
        if kill:
            os.kill(os.getpid(), signal.SIGKILL)
        (tmp_path / name).write_text(name)

    calls = ForkedCalls(write, 1)
    assert calls.submit("a", "a", True)
    deadline = time.monotonic() + 20
    while not getattr(calls._pool, "_broken", True) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the pool knows its child is gone
    assert not calls.submit("b", "b")
    assert calls.wait() == ["a", "b"]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


_STAGE = {"prepared": False}


def test_fork_map_staged_starts_the_first_tasks_before_prepare_and_reruns_a_deferral() -> None:
    """The tasks ``first`` run in workers forked before ``prepare`` (they do not see what it
    set here) and get ``None``; the others get its result; a first task that raises
    ``DeferredError`` is run again with the result; the list is in index order, each result
    reported once. Serially (one worker) ``prepare`` runs first and every task gets its
    result."""
    from ruimteverdeling.parallel import DeferredError, fork_map_staged

    def prepare() -> int:
        _STAGE["prepared"] = True
        return 7

    def task(i: int, payload: int | None) -> tuple[int, int | None, bool]:
        if i == 1 and payload is None:
            raise DeferredError("task 1 needs the payload")
        return i, payload, _STAGE["prepared"]

    seen: list[int] = []
    _STAGE["prepared"] = False
    out = fork_map_staged(task, 5, 2, [3, 1], prepare, lambda i, r: seen.append(i))
    assert out == [(0, 7, False), (1, 7, False), (2, 7, False), (3, None, False),
                   (4, 7, False)]
    assert sorted(seen) == list(range(5))
    assert _STAGE["prepared"]
    _STAGE["prepared"] = False
    assert fork_map_staged(task, 3, 1, [0, 1], prepare) == [(0, 7, True), (1, 7, True),
                                                             (2, 7, True)]
    _STAGE["prepared"] = False


def test_fork_map_staged_raises_a_deferral_of_a_task_that_has_the_payload() -> None:
    """A task that defers although it was handed ``prepare``'s result (or was handed it again
    after deferring) cannot be helped by another round: its error is raised here, not handed
    out again for ever."""
    from ruimteverdeling.parallel import DeferredError, fork_map_staged

    def task(i: int, payload: int | None) -> int:
        if i == 1:
            raise DeferredError("task 1 never has what it needs")
        return i

    with pytest.raises(DeferredError):
        fork_map_staged(task, 3, 2, [1], lambda: 7)
    with pytest.raises(DeferredError):
        fork_map_staged(task, 3, 2, [], lambda: 7)


def test_rule_costs_whose_early_variants_defer_match_the_serial_costs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every variant taken as one that needs no derived duals (all start in the workers
    before the scenario's derived-row LP is solved): those that do need them defer and are
    re-solved with them, and the table is the serial one, row for row."""
    from test_properties import rich_case

    run = api.solve(rich_case(tmp_path), write=False)
    serial = rc.rule_costs(run.compiled, run.solution, which="all", targets=True, workers=1)
    calls = tmp_path / "calls.txt"  # written by the workers too
    real = rc.derived_bound

    def watched(spec: Any, fb: Any, *args: Any, **kw: Any) -> float:
        with calls.open("a") as fh:
            fh.write(f"{'pending' if fb.derived_pending else 'solved'}\n")
        return real(spec, fb, *args, **kw)

    monkeypatch.setattr(rc, "derived_bound", watched)
    monkeypatch.setattr(rc, "compiled_anew", lambda cm, item: True)
    forked = rc.rule_costs(run.compiled, run.solution, which="all", targets=True, workers=2)
    assert forked.rows == serial.rows
    seen = calls.read_text().split()
    assert "pending" in seen  # some variant started early, needed the duals and deferred
    assert seen.count("solved") > 1  # and was answered with them (after the parent's call)


def test_a_budget_spreads_what_is_left_over_the_solves_still_to_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """10 s for 4 re-solves of at most 5 s (at least 2 s): 10/4 = 2.5 s each while on
    schedule; one that finishes early leaves its time to the rest (at 3 s, 7/3 s each); once
    the budget is spent each still gets the floor; without a budget each gets the cap."""
    from ruimteverdeling.analysis import budget as bm

    now = [100.0]
    monkeypatch.setattr(bm.time, "perf_counter", lambda: now[0])
    b = bm.Budget(10.0, 4, cap=5.0, floor=2.0)
    assert b.share() == pytest.approx(2.5)
    now[0] = 101.0  # the first took 1 s of its 2.5
    assert b.share() == pytest.approx(3.0)
    now[0] = 109.5
    assert b.share() == pytest.approx(2.0)  # 0.5 s left for 2: the floor
    now[0] = 120.0
    assert b.share() == pytest.approx(2.0)  # spent: the floor
    assert bm.Budget(1000.0, 2, cap=5.0).share() == 5.0  # never more than the cap
    unlimited = bm.Budget(None, 3, cap=7.0)
    assert [unlimited.share() for _ in range(3)] == [7.0, 7.0, 7.0]
    # the floor is what the scenario's own LP took to build and solve (at least 2 s): a
    # re-solve stopped before its LP has no bound and no bracket
    from types import SimpleNamespace
    solved = SimpleNamespace(seconds={"build": 1.5, "lp": 4.0, "repair": 30.0})
    assert bm.floor_for(solved) == pytest.approx(5.5)
    assert bm.floor_for(SimpleNamespace(seconds={"lp": 0.1})) == bm.BUDGET_FLOOR_SECONDS
    assert bm.floor_for(None) == bm.BUDGET_FLOOR_SECONDS
    assert bm.Budget(1.0, 4, cap=9.0, floor=bm.floor_for(solved)).share() == pytest.approx(5.5)


def test_rule_costs_under_a_budget_are_the_same_hand_computed_costs(tmp_path: Path) -> None:
    """A budget that leaves each re-solve enough time changes nothing: closing cell 0 costs
    0.8 (by hand, see above), a rule that does not bind 0, each inside its bracket."""
    scenario = strip_case(tmp_path, extra_rules=[
        rule("no_nature_c0", 0, "T"), {**rule("no_housing_c2", 2, "T"), "uses": ["housing"]}])
    result = api.rule_costs(scenario, tmp_path / "out", budget=30.0)
    nat = {r["rule"]: r for r in result.rows if r["region"] == "national"}
    assert nat["no_nature_c0"]["cost"] == pytest.approx(0.8, abs=1e-6)
    assert nat["no_nature_c0"]["cost_lo"] <= 0.8 + 1e-6 <= nat["no_nature_c0"]["cost_hi"] + 2e-6
    assert nat["no_housing_c2"]["cost"] == 0.0


def test_a_large_model_is_priced_by_the_scenarios_allocation_and_a_lagrangian_bound(
        tmp_path: Path) -> None:
    """A model above ``decompose_above`` columns (made so here) is not re-solved quickly for a
    rule switched off: its allocation is the scenario's (objective 1.7, by hand above) and its
    bound the Lagrangian bound at the scenario's duals — the bracket still holds the true cost
    0.8 of closing cell 0 to nature."""
    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c0", 0, "T")])
    run = api.solve(scenario, write=False)
    cm, sol = run.compiled, run.solution
    fb = rc.Fallback(rc.with_pinned(cm, sol.x), np.asarray(sol.row_dual, float))
    off = rc.switch(cm.scenario, "no_nature_c0")
    large = off.model_copy(update={"solver": off.solver.model_copy(
        update={"decompose_above": 0})})
    large.path, large.chain = off.path, off.chain
    out = rc.solve_variant(large, cm.area, cm.catalogue, sol.warm, fallback=fb, quick=True)
    assert out.message == rc.LARGE_NOTE
    assert out.objective == pytest.approx(1.7, abs=1e-6)
    lo, hi = rc.bracket(rc.outcome_of(cm, sol), out)
    assert lo - 1e-9 <= 0.8 <= hi + 1e-9
    # below the threshold the quick re-solve runs and finds the variant's optimum 2.5
    quick = rc.solve_variant(off, cm.area, cm.catalogue, sol.warm, fallback=fb, quick=True)
    assert quick.message == "" and quick.objective == pytest.approx(2.5, abs=1e-6)


def test_a_switch_the_scenarios_duals_price_at_zero_skips_the_variants_lp(
        tmp_path: Path) -> None:
    """Closing housing on cell 2 (closed anyway, cost 0 by hand above) is priced at zero by
    the scenario's LP duals: the variant is answered by the scenario's allocation (1.7) and the
    Lagrangian bound, which equals the variant's own LP optimum (solved here to compare). The
    binding rule ``no_nature_c0`` (cost 0.8) is not: its Lagrangian bound exceeds the
    scenario's LP, so it takes the quick re-solve and finds the variant's optimum 2.5."""
    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.rules.compile import compile_model

    scenario = strip_case(tmp_path, extra_rules=[
        rule("no_nature_c0", 0, "T"), {**rule("no_housing_c2", 2, "T"), "uses": ["housing"]}])
    run = api.solve(scenario, write=False)
    cm, sol = run.compiled, run.solution
    base = rc.outcome_of(cm, sol)
    assert base.lp_bound is not None and base.objective is not None
    fb = rc.Fallback(rc.with_pinned(cm, sol.x), np.asarray(sol.row_dual, float),
                     rc.reference_of(cm, base.objective, base.lp_bound))
    free = rc.switch(cm.scenario, "no_housing_c2")
    shortcut = rc.unpriced(compile_model(free, cm.area, cm.catalogue), fb, free.solver)
    assert shortcut is not None and shortcut.objective == pytest.approx(1.7, abs=1e-6)
    lp = hb.HighsBackend().lp(compile_model(free, cm.area, cm.catalogue).spec, free.solver,
                              60.0)
    assert shortcut.details["lp_bound"] == pytest.approx(lp.objective, abs=1e-6)
    out = rc.solve_variant(free, cm.area, cm.catalogue, sol.warm, fallback=fb, quick=True)
    assert out.method.startswith("scenario-lp") and out.objective == pytest.approx(1.7)
    lo, hi = rc.bracket(base, out)
    assert lo - 1e-9 <= 0.0 <= hi + 1e-9
    off = rc.switch(cm.scenario, "no_nature_c0")
    assert rc.unpriced(compile_model(off, cm.area, cm.catalogue), fb, off.solver) is None
    priced = rc.solve_variant(off, cm.area, cm.catalogue, sol.warm, fallback=fb, quick=True)
    assert not priced.method.startswith("scenario-lp")
    assert priced.objective == pytest.approx(2.5, abs=1e-6)
    lo, hi = rc.bracket(base, priced)
    assert lo - 1e-9 <= 0.8 <= hi + 1e-9


def test_a_cost_the_scenarios_duals_price_at_zero_is_switched_off_without_an_lp(
        tmp_path: Path) -> None:
    """Nature costs 0.1 more per ha on cell 3 and 0.2 more on cell 1. By hand: the optimum
    puts nature on cells 0, 1, 2, 4 (3.5 ha needed): 0.9 + 0.4 + 0.3 + 0.2 + agriculture 0.5
    = 2.3. No optimum gives cell 3 nature (0.1 plus the target's price 0.3 is below
    agriculture's 0.5), so switching its cost off costs nothing; the scenario's duals price
    that at zero and the variant is answered without its LP, by the scenario's allocation,
    its LP bound and, through the derived rows, the bound 2.3 — the same table as the variant's
    own LP gives. Every optimum gives cell 1 nature, so its cost (0.2) moves the LP: that
    variant is not answered by the duals, and the quick re-solve finds 0.2."""
    from ruimteverdeling.model import highs_backend as hb
    from ruimteverdeling.rules.compile import compile_model

    def cost(rid: str, cell: int, per_ha: float) -> dict[str, Any]:
        return {"id": rid, "type": "cost", "term": "extra", "zone": {"layer": f"c{cell}"},
                "uses": ["nature"], "per_ha": per_ha, "status": "T", "source": SRC}

    run = api.solve(strip_case(tmp_path, extra_rules=[cost("dear_c3", 3, 0.1),
                                                      cost("dear_c1", 1, 0.2)]), write=False)
    cm, sol = run.compiled, run.solution
    assert sol.objective == pytest.approx(2.3, abs=1e-6)
    base = rc.outcome_of(cm, sol)
    assert base.lp_bound is not None and base.objective is not None
    fb = rc.Fallback(rc.with_pinned(cm, sol.x), np.asarray(sol.row_dual, float),
                     rc.reference_of(cm, base.objective, base.lp_bound))
    free = rc.switch(cm.scenario, "dear_c3")
    item = next(r for r in cm.scenario.rules if r.id == "dear_c3")
    model = rc.derived_model(cm, free, item)
    assert model is not None  # the scenario's model with the cost taken off the objective
    shortcut = rc.unpriced(model, fb, free.solver, sol.warm)
    assert shortcut is not None and shortcut.method == "scenario-lp"
    assert shortcut.objective == pytest.approx(2.3, abs=1e-6)
    lp = hb.HighsBackend().lp(compile_model(free, cm.area, cm.catalogue).spec, free.solver,
                              60.0)
    assert shortcut.details["lp_bound"] == pytest.approx(lp.objective, abs=1e-6)
    dear = rc.switch(cm.scenario, "dear_c1")
    item = next(r for r in cm.scenario.rules if r.id == "dear_c1")
    assert rc.unpriced(rc.derived_model(cm, dear, item), fb, dear.solver, sol.warm) is None

    nat = {r["rule"]: r for r in rc.rule_costs(cm, sol, workers=1).rows
           if r["region"] == "national"}
    assert nat["dear_c3"]["cost"] == 0.0
    assert nat["dear_c3"]["lp_cost"] == pytest.approx(0.0, abs=1e-6)
    assert nat["dear_c3"]["cost_lo"] == 0.0 == nat["dear_c3"]["cost_hi"]
    assert nat["dear_c1"]["cost"] == pytest.approx(0.2, abs=1e-6)
    assert nat["dear_c1"]["cost_lo"] - 1e-6 <= 0.2 <= nat["dear_c1"]["cost_hi"] + 1e-6


def test_a_variant_whose_solve_stops_first_keeps_a_proven_bracket(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every re-solve stops before it has an allocation (its time ran out). Switched off,
    ``no_nature_c0`` falls back on the scenario's allocation (1.7, by hand above) and the
    Lagrangian bound at the scenario's LP duals: the bracket still holds the true cost 0.8,
    and the row says how it was found; a rule switched on has no such fallback."""
    from ruimteverdeling.errors import SolverError

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise SolverError("time limit reached: the LP relaxation did not finish; raise it")

    scenario = strip_case(tmp_path, extra_rules=[
        rule("no_nature_c0", 0, "T"), {**rule("no_housing_c2", 2, "A"), "uses": ["housing"]}])
    monkeypatch.setattr(rc, "solve_spec", stopped)
    monkeypatch.setattr(rc, "resolve", stopped)  # the quick re-solve stops as well
    result = api.rule_costs(scenario, tmp_path / "out")
    nat = {r["rule"]: r for r in result.rows if r["region"] == "national"}
    off = nat["no_nature_c0"]
    assert off["solve_status"] == "feasible"
    assert off["objective_off"] == pytest.approx(1.7, abs=1e-6)
    assert off["cost_lo"] - 1e-9 <= 0.8 <= off["cost_hi"] + 1e-9
    assert off["bound_off"] >= 2.5 - 1e-6  # the variant's optimum (nature on 0, 1, 2, 4)
    assert "Lagrangian bound" in off["note"]
    assert nat["no_housing_c2"]["switched"] == "on"
    assert nat["no_housing_c2"].get("cost") is None
    assert "solver failed" in nat["no_housing_c2"]["note"]


# ------------------------------------------------------------------------------------------
# 3. Pareto front
# ------------------------------------------------------------------------------------------
def test_pareto_front_exact(tmp_path: Path) -> None:
    """Nature hectares vs suitability: with k nature cells the best suitability is 2.5 + the
    k largest gains: k=2: 3.0, k=3: 2.8, k=4: 2.5, k=5: 2.1. The end points are the two
    single-criterion optima (max suitability 3.0 at 2 ha; max nature 5 ha)."""
    scenario = strip_case(tmp_path, nature_min=None)
    front = api.pareto(scenario, "area:nature", "suitability", points=4,
                       out_dir=tmp_path / "out")
    got = [(p.f1, p.f2) for p in front.points]
    want = [(2.0, 3.0), (3.0, 2.8), (4.0, 2.5), (5.0, 2.1)]
    assert np.allclose(got, want, atol=1e-6), got
    assert all(p.optimal and not p.dominated for p in front.points)
    # end points = single-criterion optima
    run = api.solve(scenario, write=False)
    assert front.points[0].f2 == pytest.approx(run.solution.objective, abs=1e-6)
    assert front.points[-1].f1 == pytest.approx(5.0)
    # the CSV follows the report's contract: the axes are the first two numeric columns
    from ruimteverdeling.results.runfolder import read_pareto

    parsed = read_pareto(tmp_path / "out" / "pareto.csv")
    assert parsed is not None and parsed["problem"] is None
    assert parsed["x"] == "area:nature [ha]" and parsed["y"] == "suitability [suitability·ha]"
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Paretofront" in html and "area:nature [ha]" in html


def test_pareto_draws_its_report_once_with_the_front(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The run folder's report.html is drawn once, after the front is in the folder, and is
    byte for byte the report re-rendered from the finished folder's files (what a second
    draw with the front would give)."""
    drawn = _counted_report_draws(monkeypatch)
    scenario = strip_case(tmp_path, nature_min=None)
    out = tmp_path / "out"
    api.pareto(scenario, "area:nature", "suitability", points=3, out_dir=out)
    assert len(drawn) == 1
    once = (out / "report.html").read_bytes()
    assert b"Paretofront" in once
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"pareto.csv", "pareto.png", "report.html"} <= set(manifest["outputs"])
    api.render_report(out)
    assert len(drawn) == 2
    assert (out / "report.html").read_bytes() == once


def test_a_failing_pareto_front_leaves_no_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The front is found before anything is written and its files are written into the run
    folder's working folder: a front that fails (a criterion misspelt, found out after the
    scenario's solve) or whose files fail half-way leaves no run folder, no working folder and
    no parent folder made for it — the scenario's folder holds what it held."""
    from ruimteverdeling.errors import InputError

    scenario = strip_case(tmp_path, nature_min=None)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = tmp_path / "runs" / "front"
    with pytest.raises(InputError, match="unknown use 'natur'"):
        api.pareto(scenario, "area:natur", "suitability", points=3, out_dir=out)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before

    real = pf.write_front

    def half_written(front: Any, folder: Path, *args: Any) -> Path:
        real(front, folder, *args)  # pareto.csv and pareto.png are in the working folder
        assert (folder / "pareto.csv").is_file()
        raise RuntimeError("disk gone")

    monkeypatch.setattr(pf, "write_front", half_written)
    with pytest.raises(RuntimeError, match="disk gone"):
        api.pareto(scenario, "area:nature", "suitability", points=3, out_dir=out)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_pareto_invariants_and_minimised_cost(tmp_path: Path) -> None:
    """A cost criterion is minimised; the front is monotone (more x never gives more y) and no
    point dominates another."""
    scenario = strip_case(tmp_path, nature_min=None)
    run = api.solve(scenario, write=False)
    front = pf.pareto_front(run.compiled, "area:agriculture", "suitability", points=5)
    xs = [p.f1 for p in front.points]
    ys = [p.f2 for p in front.points]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(xs))
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(ys))
    assert not any(p.dominated for p in front.points)
    # min: prefix: fewest hectares of nature is 0 (all farmland), at suitability 2.5
    front2 = pf.pareto_front(run.compiled, "min:area:nature", "suitability", points=2)
    assert front2.points[-1].f1 == pytest.approx(0.0)
    assert front2.points[-1].f2 == pytest.approx(2.5)


def test_a_solve_whose_budget_share_runs_out_is_run_again_with_its_whole_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a budget far too small every solve gets the floor (2 s); a solve stopped by its
    share before it has an allocation runs once more with the whole per-solve time, so the
    front is the one without a budget: the same hectares and suitability at every point
    (the full solves, which the quick re-solves fall back on)."""
    from ruimteverdeling.errors import SolverError

    scenario = strip_case(tmp_path, nature_min=None)
    run = api.solve(scenario, write=False)
    free = pf.pareto_front(run.compiled, "area:agriculture", "suitability", points=3,
                           quick=False)
    limits: list[float] = []
    real = pf.solve_with

    def short_fails(cm: Any, obj: Any, offset: float, rows: list, options: Any,
                    warm: Any = None) -> Any:
        limits.append(options.time_limit)
        if options.time_limit <= 2.0:
            raise SolverError("time limit reached: the LP relaxation did not finish")
        return real(cm, obj, offset, rows, options, warm=warm)

    monkeypatch.setattr(pf, "solve_with", short_fails)
    # one worker: the spy records in this process (a forked worker's calls stay in the worker)
    tight = pf.pareto_front(run.compiled, "area:agriculture", "suitability", points=3,
                            start=run.solution, budget=1e-3, quick=False, workers=1)
    assert 2.0 in limits and max(limits) > 2.0  # every share ran out, every retry had time
    assert [v for p in tight.points for v in (p.f1, p.f2)] == pytest.approx(
        [v for p in free.points for v in (p.f1, p.f2)])


def test_the_lexicographic_end_point_is_a_quick_re_solve_with_the_cold_solves_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The best nature hectares among the allocations of best suitability (3.0, at 2 ha: see
    the exact test above) come from the quick re-solve with the floor row
    suitability ≥ 3.0, not from a full solve; its value and a cold full solve's bracket each
    other (each within the other's bound) and are the hand-solved 2 ha."""
    from ruimteverdeling.model.warm_mga import NearOptimalSession

    run = api.solve(strip_case(tmp_path, nature_min=None), write=False)
    cm = run.compiled
    full: list[list] = []
    quick: list[tuple[list, Any]] = []
    real_full, real_quick = pf.solve_with, NearOptimalSession.solve

    def spy_full(cm: Any, obj: Any, offset: float, rows: list, options: Any,
                 warm: Any = None) -> Any:
        full.append(rows)
        return real_full(cm, obj, offset, rows, options, warm=warm)

    def spy_quick(self: Any, obj: Any, rows: list, *args: Any, **kwargs: Any) -> Any:
        sol = real_quick(self, obj, rows, *args, **kwargs)
        quick.append((rows, sol))
        return sol

    monkeypatch.setattr(pf, "solve_with", spy_full)
    monkeypatch.setattr(NearOptimalSession, "solve", spy_quick)
    # one worker: the spies record in this process
    front = pf.pareto_front(cm, "area:nature", "suitability", points=4, start=run.solution,
                            workers=1)
    floor_name = "pareto:suitability"
    assert not any(rows and rows[0][0] == floor_name for rows in full)
    lexi = [sol for rows, sol in quick if rows and rows[0][0] == floor_name]
    assert len(lexi) == 1
    c1, c2 = pf.criterion(cm, "area:nature"), pf.criterion(cm, "suitability")
    options = pf.resolve_options(cm.scenario.solver, run.solution)
    best = real_full(cm, c2.sense * c2.vec, 0.0, [], options)
    cold = real_full(cm, c1.sense * c1.vec, 0.0,
                     [pf._at_least(c2, c2.sense * c2.value(best.x))], options)
    q = lexi[0]
    assert q.objective <= cold.bound + 1e-6 and cold.objective <= q.bound + 1e-6
    assert q.objective == pytest.approx(2.0) and cold.objective == pytest.approx(2.0)
    assert front.points[0].f1 == pytest.approx(2.0)


def test_the_status_quo_as_columns_prices_any_objective_at_the_status_quo(
        tmp_path: Path) -> None:
    """Every strip cell is farmland now (1 ha each): at the status quo the farmland criterion
    is 5 ha, nature 0 ha and suitability 5 × 0.5 = 2.5, the scenario's status-quo value (no
    pinned cells)."""
    from ruimteverdeling.rules.status_quo import status_quo_columns

    run = api.solve(strip_case(tmp_path, nature_min=None), write=False)
    cm = run.compiled
    x_sq = status_quo_columns(cm)
    assert x_sq is not None
    assert pf.criterion(cm, "area:agriculture").value(x_sq) == pytest.approx(5.0)
    assert pf.criterion(cm, "area:nature").value(x_sq) == pytest.approx(0.0)
    assert pf.criterion(cm, "suitability").value(x_sq) == pytest.approx(2.5)
    assert float(cm.spec.obj @ x_sq) + cm.spec.obj_offset == \
        pytest.approx(cm.spec.status_quo_value)


def test_a_re_solve_with_another_objective_gaps_against_its_own_status_quo(
        tmp_path: Path) -> None:
    """Maximising nature hectares with suitability ≥ 2.8: the status quo has 0 ha of nature
    under that objective (not the scenario's 2.5 points), so the decision gap of the solve is
    ``(bound − z) / (z − 0)``; the optimum is nature on 0, 1 and 4 (2.8 points), z = 3 ha.
    Every Pareto point reports such a decision gap."""
    from ruimteverdeling.model.outcomes import decision_gap
    from ruimteverdeling.model.warm_mga import NearOptimalSession

    run = api.solve(strip_case(tmp_path, nature_min=None), write=False)
    cm = run.compiled
    nature, suit = pf.criterion(cm, "area:nature"), pf.criterion(cm, "suitability")
    row = pf._at_least(suit, 2.8)
    sol = NearOptimalSession(cm.spec, cm.scenario.solver,
                             status_quo_x=pf.status_quo_x(cm)).solve(nature.vec, [row])
    assert sol.objective == pytest.approx(3.0)
    assert sol.status_quo_value == pytest.approx(0.0)
    assert sol.decision_gap == pytest.approx(decision_gap(sol.objective, sol.bound, 0.0))
    # the full solve of the same model anchors the same way
    full = pf.solve_with(cm, nature.vec, 0.0, [row], cm.scenario.solver)
    assert full.objective == pytest.approx(3.0)
    assert full.status_quo_value == pytest.approx(0.0)
    front = pf.pareto_front(cm, "area:nature", "suitability", points=3)
    assert all(p.decision_gap is not None and p.decision_gap >= 0 for p in front.points)


def test_dominated_points_are_flagged() -> None:
    c = pf.LinearCriterion("a", np.zeros(1), 0.0, 1.0, "")
    d = pf.LinearCriterion("b", np.zeros(1), 0.0, -1.0, "")  # minimised
    pts = [pf.Point("P1", None, np.zeros(1), 1.0, 5.0, 0, "optimal", 0, True),
           pf.Point("P2", None, np.zeros(1), 1.0, 4.0, 0, "optimal", 0, True),
           pf.Point("P3", None, np.zeros(1), 2.0, 6.0, 0, "feasible", 0.1, False)]
    pf._flag_dominated(pts, c, d)
    assert [p.dominated for p in pts] == [True, False, False]


# ------------------------------------------------------------------------------------------
# 4. alternatives (HSJ MGA)
# ------------------------------------------------------------------------------------------
def test_alternatives_within_slack_and_different(tmp_path: Path) -> None:
    """z* = 2.5 with nature on 0, 1, 2, 4. Floor (20 %) 2.0. The least overlap keeps 3 of those
    cells and puts nature on cell 3; the best such choice drops cell 4: 2.4. The second then
    keeps cell 4 and drops cell 2: 2.3."""
    scenario = strip_case(tmp_path)
    result = api.alternatives(scenario, "20%", 2, tmp_path / "alts")
    assert result.floor == pytest.approx(2.0)
    objs = [a.objective for a in result.items]
    assert objs == pytest.approx([2.4, 2.3], abs=1e-6)
    rows = result.rows
    assert rows[0]["alternative"] == "optimum" and rows[0]["share_cells_differing"] == 0
    for r in rows[1:]:
        assert r["within_slack"] == "yes"
        assert r["share_cells_differing"] > 0 and r["min_share_vs_earlier"] > 0
    out = tmp_path / "alts"
    for sub in ("optimum", "alt-1", "alt-2"):
        assert (out / sub / "allocation.tif").exists() and (out / sub / "summary.json").exists()
    table = read_csv(out / "alternatives.csv")
    assert [r["alternative"] for r in table] == ["optimum", "alt-1", "alt-2"]
    assert float(table[1]["ha:nature"]) == pytest.approx(4.0)
    # each MGA solve's decision gap is against the status quo under its own objective, and
    # each run folder's against the scenario's: alt-1 (2.4) is 0.1 below the proven bound
    # (2.5) and 0.1 from the status quo's value (all farmland, 2.5): decision gap 1
    for r in table[1:]:
        assert r["mga_decision_gap"] not in ("", None) and float(r["mga_decision_gap"]) >= 0
    summary = (out / "alt-1" / "summary.json").read_text(encoding="utf-8")
    assert '"decision_gap"' in summary
    sols = mga.solutions(result, api.solve(scenario, write=False).solution)
    assert sols[0][1].status_quo_value == pytest.approx(2.5)
    assert sols[0][1].decision_gap == pytest.approx(0.1 / 0.1)


def test_alternatives_invariants_without_a_target(tmp_path: Path) -> None:
    run = api.solve(strip_case(tmp_path, nature_min=None), write=False)
    res = mga.generate(run.compiled, run.solution, 0.1, 3)
    floor = mga.objective_floor(run.solution.objective, 0.1)
    x0 = run.compiled.land_use_after(run.solution.x)
    for a in res.items:
        assert a.objective >= floor - 1e-7
        assert (run.compiled.land_use_after(a.x) != x0).any()


def test_parse_slack() -> None:
    assert mga.parse_slack("5%") == pytest.approx(0.05)
    assert mga.parse_slack(0.1) == pytest.approx(0.1)
    from ruimteverdeling.errors import InputError

    with pytest.raises(InputError):
        mga.parse_slack("150%")


# ------------------------------------------------------------------------------------------
# 5. command line
# ------------------------------------------------------------------------------------------
def invoke(*args: Any):
    from click.testing import CliRunner

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_commands(tmp_path: Path) -> None:
    scenario = strip_case(tmp_path, extra_rules=[rule("no_nature_c0", 0, "T")])
    r = invoke("shadow-prices", scenario, "-o", tmp_path / "sp", "-q")
    assert r.exit_code == 0, r.output
    assert "One more hectare of nature" in r.output
    assert (tmp_path / "sp" / "shadow_prices.csv").exists()
    r = invoke("rule-costs", scenario, "-o", tmp_path / "rc", "-q")
    assert r.exit_code == 0, r.output
    assert "no_nature_c0" in r.output and (tmp_path / "rc" / "rule_costs.csv").exists()
    r = invoke("pareto", scenario, "--x", "area:nature", "--y", "suitability", "--points", "3",
               "-o", tmp_path / "pf", "-q")
    assert r.exit_code == 0, r.output
    assert "P1" in r.output and (tmp_path / "pf" / "pareto.csv").exists()
    r = invoke("alternatives", scenario, "--slack", "30%", "--count", "1", "-o",
               tmp_path / "none", "-q")
    assert r.exit_code == 0, r.output
    assert "only 0 alternative(s) exist" in r.output  # cells 1-4 must all be nature
    r = invoke("alternatives", strip_case(tmp_path / "free"), "--slack", "30%", "--count", "1",
               "-o", tmp_path / "alt", "-q")
    assert r.exit_code == 0, r.output
    assert "alt-1" in r.output and (tmp_path / "alt" / "alternatives.csv").exists()


def test_cli_user_errors_are_friendly(tmp_path: Path) -> None:
    scenario = strip_case(tmp_path)
    r = invoke("pareto", scenario, "--x", "area:natur", "--y", "suitability", "-o",
               tmp_path / "pf", "-q")
    assert r.exit_code == 2 and "unknown use 'natur'" in r.output
    assert "Traceback" not in r.output
    r = invoke("alternatives", scenario, "--slack", "abc", "-q", "-o", tmp_path / "a")
    assert r.exit_code == 2 and "--slack" in r.output
    r = invoke("rule-costs", scenario, "--rule", "nope", "-q", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "unknown rule or target 'nope'" in r.output


def test_switching_off_a_cost_rule_drops_its_own_term_weight() -> None:
    """The base scenario weighs the term ``grid`` that only ``housing_grid_congestion`` feeds:
    the variant without that rule must not name a term that no longer exists (an input error
    at compile time), while every other weight stays."""
    from ruimteverdeling.paths import REPO_ROOT
    from ruimteverdeling.rules.registry import load_scenario

    scenario = load_scenario(REPO_ROOT / "scenarios" / "base.yaml")
    assert "grid" in scenario.objective.weights
    off = rc.switch(scenario, "housing_grid_congestion")
    assert "grid" not in off.objective.weights
    assert {k: v for k, v in scenario.objective.weights.items() if k != "grid"} == \
        off.objective.weights
    assert not next(r for r in off.rules if r.id == "housing_grid_congestion").is_enabled
    # switching a rule without a term of its own leaves the weights alone
    assert rc.switch(scenario, "fair_burdens").objective.weights == scenario.objective.weights
    # --variant-time-limit bounds the re-solves only; the variant keeps its file
    short = rc._with_time_limit(off, 7.0)
    assert short.solver.time_limit == 7.0 and short.path == scenario.path
    assert scenario.solver.time_limit != 7.0
    # a variant is asked for the gap the scenario's own solve reached, never a tighter one
    # than the scenario asks, and is called optimal only within the scenario's own gap
    assert rc._with_time_limit(off, 7.0, 0.006).solver.mip_rel_gap == 0.006
    assert rc._with_time_limit(off, 7.0, 1e-9).solver.mip_rel_gap == off.solver.mip_rel_gap
    out = rc.Outcome("optimal", 1000.0, bound=1004.0, decision_value=1000.0)
    assert rc._claimed(out, 0.001).status == "feasible"
    assert rc._claimed(out, 0.005).status == "optimal"


def test_every_pareto_solve_starts_from_an_allocation_that_meets_its_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lexicographic end point, every ε point and every tidy re-solve get a warm start
    whose allocation already meets the solve's new rows, so none depends on a repair around
    the LP vertex finding an allocation (the full solves; the quick re-solves give the same
    front here)."""
    scenario = strip_case(tmp_path, nature_min=None)
    run = api.solve(scenario, write=False)
    quick = pf.pareto_front(run.compiled, "area:agriculture", "suitability", points=3,
                            tidy=True)
    seen: list[tuple[list, Any, Any]] = []
    real = pf.solve_with

    def spy(cm: Any, obj: Any, offset: float, rows: list, options: Any, warm: Any = None):
        sol = real(cm, obj, offset, rows, options, warm=warm)
        seen.append((rows, warm, sol))
        return sol

    monkeypatch.setattr(pf, "solve_with", spy)
    # one worker: the spy records in this process (a forked worker's calls stay in the worker)
    front = pf.pareto_front(run.compiled, "area:agriculture", "suitability", points=3,
                            quick=False, tidy=True, workers=1)
    assert [v for p in quick.points for v in (p.f1, p.f2)] == pytest.approx(
        [v for p in front.points for v in (p.f1, p.f2)], abs=1e-6)
    with_rows = [(rows, warm, sol) for rows, warm, sol in seen if rows]
    assert len(with_rows) == 1 + 3 + 3  # lexicographic end point, 3 points, 3 tidy solves
    for rows, warm, _ in with_rows:
        assert warm is not None
        for _, vec, lo, hi in rows:
            assert lo - 1e-9 <= float(vec @ warm.x) <= hi + 1e-9
    # every point is solved on its own (in any order, in any process), each from the best
    # end point allocation that meets its ε row
    eps_solves = [i for i, (rows, _, _) in enumerate(with_rows)
                  if len(rows) == 1 and rows[0][0] == "pareto:area:agriculture"]
    assert len({with_rows[i][0][0][2] for i in eps_solves}) == 3
    assert [p.label for p in front.points] == ["P1", "P2", "P3"]
    assert [p.epsilon for p in front.points] == sorted(p.epsilon for p in front.points)


# ------------------------------------------------------------------------------------------
# 5. several periods: a two-period instance solved by brute force over every pathway
# ------------------------------------------------------------------------------------------
# Four farmland cells of 1 ha, periods 2030 and 2050 (each weighs 20 years). Farmland is worth
# 1 per year, nature 0.15, housing the period's layer ``hq``. Housing and nature stay once
# allocated; farmland may change once. So a cell's pathway is one of (A, A), (A, H), (A, N),
# (H, H), (N, N).
P_AGRI, P_HOUSING, P_NATURE = 3, 1, 2
P_YEARS = [2030, 2050]
P_HQ = {2030: [0.875, 0.625, 0.5, 0.125], 2050: [0.0, 0.625, 0.5, 0.125]}  # exact in float32
P_OFF = ["solar", "wind", "water_buffer", "defence", "extensive_agriculture",
         "nature_water_buffer", "agriculture_wind", "agri_pv", "defence_nature",
         "extensive_agriculture_water_buffer"]
P_PATHS = [(P_AGRI, P_AGRI), (P_AGRI, P_HOUSING), (P_AGRI, P_NATURE),
           (P_HOUSING, P_HOUSING), (P_NATURE, P_NATURE)]


def pathway_case(folder: Path, rules: list[dict], housing_2030: float = 1.0,
                 nature_2050: float | None = None) -> Path:
    """The two-period instance with ``housing_2030`` ha of housing due by 2030 (and
    ``nature_2050`` ha of nature by 2050)."""
    folder.mkdir(parents=True, exist_ok=True)
    layers: dict[str, Any] = {f"hq_{y}": (np.array([P_HQ[y]], np.float32), "continuous",
                                          {"unit": "-"}) for y in P_YEARS}
    layers.update({f"c{i}": ([[1 if j == i else 0 for j in range(4)]], "mask", {})
                   for i in range(4)})
    write_area(folder, np.full((1, 4), P_AGRI), layers=layers)
    targets = [{"id": "homes", "use": "housing", "quantity": "area", "min": housing_2030,
                "by": 2030, "source": SRC}]
    if nature_2050 is not None:
        targets.append({"id": "nature", "use": "nature", "quantity": "area",
                        "min": nature_2050, "by": 2050, "source": SRC})
    data = {"id": "paths", "area": "area.yaml", "periods": P_YEARS,
            "period_layers": {"hq": {y: f"hq_{y}" for y in P_YEARS}},
            "suitability": {"housing": {"base": 0.0, "terms": [{"layer": "hq",
                                                                "points": IDENT}]},
                            "agriculture": {"base": 1.0}, "nature": {"base": 0.15}},
            "targets": targets, "rules": rules,
            "uses": [{"id": u, "kind": "context"} for u in P_OFF]}
    return write_scenario(folder / "paths.yaml", data)


def pathway_value(plan: tuple[tuple[int, int], ...]) -> float:
    value = {P_AGRI: lambda y, c: 1.0, P_NATURE: lambda y, c: 0.15,
             P_HOUSING: lambda y, c: P_HQ[y][c]}
    return sum(20.0 * value[plan[c][p]](y, c) for p, y in enumerate(P_YEARS) for c in range(4))


def pathway_brute_force(closed: dict[int, set[int]], housing_2030: int = 1,
                        nature_2050: int = 0) -> float:
    """The best joint objective over every plan; ``closed[c]``: uses closed on cell ``c`` in
    every period."""
    per_cell = [[t for t in P_PATHS if not set(t) & closed.get(c, set())] for c in range(4)]
    best = -np.inf
    for plan in itertools.product(*per_cell):
        if sum(t[0] == P_HOUSING for t in plan) >= housing_2030 and \
                sum(t[1] == P_NATURE for t in plan) >= nature_2050:
            best = max(best, pathway_value(plan))
    return best


def no_housing(rid: str, cell: int, status: str = "T") -> dict[str, Any]:
    return {"id": rid, "type": "exclusion", "layer": f"c{cell}", "uses": ["housing"],
            "status": status, "source": SRC}


def test_rule_costs_on_two_periods_match_brute_force(tmp_path: Path) -> None:
    """Each rule is switched in both periods and its cost is the difference of the two joint
    optima, each computed by brute force over every pathway."""
    rules = [no_housing("no_homes_c1", 1), no_housing("no_homes_c3", 3),
             no_housing("no_homes_c2", 2, "A")]
    scenario = pathway_case(tmp_path, rules)
    result = api.rule_costs(scenario, tmp_path / "out", progress=None)
    nat = {r["rule"]: r for r in result.rows if r["region"] == "national"}
    z_on = pathway_brute_force({1: {P_HOUSING}, 3: {P_HOUSING}})
    assert result.base.objective == pytest.approx(z_on, abs=1e-6)
    expected = {
        "no_homes_c1": pathway_brute_force({3: {P_HOUSING}}) - z_on,
        "no_homes_c3": pathway_brute_force({1: {P_HOUSING}}) - z_on,
        # an A rule is off in the scenario: switched on, its cost is z(without) − z(with)
        "no_homes_c2": z_on - pathway_brute_force({1: {P_HOUSING}, 2: {P_HOUSING},
                                                   3: {P_HOUSING}}),
    }
    # hand check: closing cell 1 moves the homes to cell 2 (20·(1 − 0.5) − 20·(1 − 0.625)
    # = 5 points); cell 3 is never built on; closing cell 2 too leaves cell 0 (2.5 more)
    assert expected == pytest.approx({"no_homes_c1": 5.0, "no_homes_c3": 0.0,
                                      "no_homes_c2": 2.5})
    for rid, cost in expected.items():
        row = nat[rid]
        assert row["cost"] == pytest.approx(cost, abs=1e-6), rid
        assert row["cost_lo"] - 1e-6 <= cost <= row["cost_hi"] + 1e-6
        assert "hectares moved per period: 2030" in row["note"]
    assert (tmp_path / "out" / "rule_costs.csv").is_file()
    assert (tmp_path / "out" / "allocation_2030.tif").is_file()


def pathway_plans(closed: dict[int, set[int]] | None = None):
    per_cell = [[t for t in P_PATHS if not set(t) & (closed or {}).get(c, set())]
                for c in range(4)]
    return list(itertools.product(*per_cell))


def test_pareto_on_two_periods_matches_brute_force(tmp_path: Path) -> None:
    """Front between the 2030 housing area and the joint objective: every point is the best
    joint objective among the plans with at least ε ha of housing in 2030 (brute force),
    and the criterion ``suitability`` is summed over the periods, 20 years each."""
    scenario = pathway_case(tmp_path, [])
    front = api.pareto(scenario, "area:housing@2030", "objective", 3, tmp_path / "pf",
                       keep_allocations=True)
    plans = [q for q in pathway_plans() if sum(t[0] == P_HOUSING for t in q) >= 1]

    def housing(plan: tuple) -> int:
        return sum(t[0] == P_HOUSING for t in plan)

    hi = max(housing(q) for q in plans)
    z_best = max(pathway_value(q) for q in plans)
    lo = max(housing(q) for q in plans if pathway_value(q) >= z_best - 1e-9)
    assert (lo, hi) == (1, 4)
    assert len(front.points) == 3
    for p, eps in zip(front.points, [1.0, 2.5, 4.0], strict=True):
        best = max(pathway_value(q) for q in plans if housing(q) >= eps - 1e-9)
        assert p.f2 == pytest.approx(best, abs=1e-6)
        assert p.f1 >= eps - 1e-6 and p.optimal
    suit = pf.pathway_criterion(summed_suitability_checked(tmp_path), "suitability")
    assert suit.unit.endswith("·years")
    assert (tmp_path / "pf" / "pareto.csv").is_file()
    assert (tmp_path / "pf" / "points" / "P1_2030.tif").is_file()


def summed_suitability_checked(tmp_path: Path) -> Any:
    """The pathway model of the instance, after checking that ``suitability`` sums the
    periods' values weighted by their 20 years and ``suitability@2050`` takes one."""
    from ruimteverdeling.rules import pathways as pwm

    run = api.solve(tmp_path / "paths.yaml", write=False, mode="foresight")
    assert run.pathway is not None
    pw: pwm.Pathway = run.pathway.model
    x = run.pathway.solution.x
    c = pf.pathway_criterion(pw, "suitability")
    per_period = [pf.criterion(pw.compiled[p], "suitability").value(pw.model.project(x, p))
                  for p in range(2)]
    assert c.value(x) == pytest.approx(20.0 * sum(per_period), abs=1e-6)
    one = pf.pathway_criterion(pw, "suitability@2050")
    assert one.value(x) == pytest.approx(20.0 * per_period[1], abs=1e-6)
    return pw


@pytest.mark.parametrize("slack", [0.05, 0.12])
def test_alternatives_on_two_periods_match_brute_force(tmp_path: Path, slack: float) -> None:
    """The first alternative keeps as few of the optimum's pathways (a use per period per
    cell) as the objective floor allows — the brute-force minimum over every plan — and
    every alternative is a new plan within the slack on the joint objective."""
    scenario = pathway_case(tmp_path, [])
    result = api.alternatives(scenario, slack, 2, tmp_path / "alt")
    plans = [q for q in pathway_plans() if sum(t[0] == P_HOUSING for t in q) >= 1]
    z_star = max(pathway_value(q) for q in plans)
    (best,) = [q for q in plans if pathway_value(q) >= z_star - 1e-9]
    floor = z_star - slack * abs(z_star)
    assert result.optimum.objective == pytest.approx(z_star, abs=1e-6)
    assert result.floor == pytest.approx(floor, abs=1e-9)
    min_overlap = min(sum(a == b for a, b in zip(q, best, strict=True))
                      for q in plans if pathway_value(q) >= floor - 1e-9)
    assert result.items, result.notes
    assert result.items[0].overlap == pytest.approx(min_overlap, abs=1e-6)
    assert min_overlap < 4
    for row in result.rows[1:]:
        assert row["within_slack"] == "yes" and row["objective"] >= floor - 1e-6
        assert row["min_share_vs_earlier"] > 0  # differs from every earlier plan somewhere
    assert (tmp_path / "alt" / "alt-1" / "allocation_2030.tif").is_file()
    assert (tmp_path / "alt" / "optimum" / "allocation_2050.tif").is_file()


# ------------------------------------------------------------------------------------------
# 6. location rules hold in every solve of an analysis
# ------------------------------------------------------------------------------------------
LOC_SH = [[0.9, 0.45, 0.2],
          [0.6, 0.3, 0.9]]


def location_case(folder: Path) -> Path:
    """2×3 farmland (agriculture 0.5), housing worth ``LOC_SH``, 20 homes due (10 per
    cell); a T location rule ``loc``: every new housing location holds ≥ 20 homes; a T rule
    ``no_homes_01`` closing housing on cell (0, 1), where no optimum builds."""
    mask = [[0, 1, 0], [0, 0, 0]]
    area = write_area(folder / "area", np.full((2, 3), 3),
                      layers={"s_h": (LOC_SH, "continuous", {}), "m01": (mask, "mask", {})})
    rules = [{"id": "two_uses", "type": "exclusion", "layer": "landuse", "status": "G",
              "allow": ["housing", "agriculture"], "applies_to": "all", "source": SRC},
             {"id": "loc", "type": "location", "use": "housing", "quantity": "homes",
              "min_size": 20, "status": "T", "source": SRC},
             {"id": "no_homes_01", "type": "exclusion", "layer": "m01", "uses": ["housing"],
              "status": "T", "source": SRC}]
    return write_scenario(folder / "loc.yaml", {
        "id": "loc", "area": str(area), "housing_density": {"default": 10, "source": SRC},
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}},
        "targets": [{"id": "homes", "use": "housing", "quantity": "homes", "min": 20,
                     "source": SRC}],
        "rules": rules})


def test_rule_costs_keep_the_location_rules_in_every_variant(tmp_path: Path) -> None:
    """Hand-solved: without the location rule the optimum builds (0,0), (1,0) and (1,2)
    (gains 0.4 + 0.1 + 0.4 = 0.9 over farmland); with it the lone cell (1,2) must join a
    location: (0,0), (1,0), (1,1), (1,2) (0.4 + 0.1 − 0.2 + 0.4 = 0.7). So ``loc`` costs
    0.2, and ``no_homes_01`` — cell (0, 1), where housing loses 0.05 and no optimum builds —
    costs exactly 0 and moves nothing (a variant
    solved without the location rules would carry their 0.2 into every cost)."""
    result = api.rule_costs(location_case(tmp_path), tmp_path / "out")
    nat = {r["rule"]: r for r in result.rows if r["region"] == "national"}
    farm = 6 * 0.5
    assert result.base.objective == pytest.approx(farm + 0.7, abs=1e-6)
    assert nat["loc"]["cost"] == pytest.approx(0.2, abs=1e-6)
    assert nat["loc"]["objective_off"] == pytest.approx(farm + 0.9, abs=1e-6)
    assert nat["no_homes_01"]["cost"] == pytest.approx(0.0, abs=1e-9)
    assert nat["no_homes_01"]["ha_moved"] == 0.0
    for row in nat.values():
        assert row["cost_lo"] - 1e-9 <= row["cost"] <= row["cost_hi"] + 1e-9


def test_a_variant_s_location_step_starts_from_a_basis_with_the_same_cost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An A rule closing housing on cell (1, 0), switched on: the variant's cell model builds
    (0, 0) and (1, 2) (0.4 + 0.4), two lone cells, so its location step runs. By hand, with
    (0, 1) and (1, 0) closed, (0, 0) can join no location; the best locations are then
    (1, 1) + (1, 2) (−0.2 + 0.4 = 0.2), so the rule costs 0.7 − 0.2 = 0.5. The scenario's
    location allocation is not reused: mapped onto the variant, where (1, 0) is pinned to
    farmland, it leaves (0, 0) a lone cell (it used to be taken, worth 3.6, with a bracket
    that missed the true cost). The location bound's LP rounds start from a basis of the
    variant's LP (the scenario's mapped by cell and use), and the cost and its bracket are
    those of a start from the crash basis."""
    import yaml

    from ruimteverdeling.rules import location

    doc = yaml.safe_load(location_case(tmp_path).read_text())
    doc["area"] = str(write_area(tmp_path / "area10", np.full((2, 3), 3), layers={
        "s_h": (LOC_SH, "continuous", {}), "m01": ([[0, 1, 0], [0, 0, 0]], "mask", {}),
        "m10": ([[0, 0, 0], [1, 0, 0]], "mask", {})}))
    doc["rules"].append({"id": "no_homes_10", "type": "exclusion", "layer": "m10",
                         "uses": ["housing"], "status": "A", "source": SRC})
    path = tmp_path / "loc10.yaml"
    path.write_text(yaml.safe_dump(doc))
    run = api.solve(path, write=False)
    starts: list[Any] = []
    enforce = location.enforce

    def spy(cm, sol, options=None, say=None, seconds=None, basis=None):
        starts.append(basis)
        return enforce(cm, sol, options, say, seconds, basis)

    monkeypatch.setattr(location, "enforce", spy)
    solved: list[rc.Outcome] = []
    solve_variant = rc.solve_variant

    def seen(*args, **kwargs):
        solved.append(solve_variant(*args, **kwargs))
        return solved[-1]

    monkeypatch.setattr(rc, "solve_variant", seen)
    costs = rc.rule_costs(run.compiled, run.solution, only=["no_homes_10"], workers=1)
    assert [o.restricts for o in solved] == [True]  # an exclusion switched on
    assert len(starts) == 1 and starts[0] is not None
    assert starts[0].col.size > 0
    monkeypatch.setattr(rc, "start_basis", lambda *args: None)
    crash = rc.rule_costs(run.compiled, run.solution, only=["no_homes_10"], workers=1)
    assert starts[1] is None
    row = next(r for r in costs.rows if r["region"] == "national")
    assert row["cost"] == pytest.approx(0.5, abs=1e-6)
    assert row["cost_lo"] >= 0.0  # an exclusion switched on only restricts
    assert row["cost_lo"] - 1e-9 <= 0.5 <= row["cost_hi"] + 1e-9
    assert costs.rows == crash.rows


def test_alternatives_and_pareto_points_meet_the_location_rules(tmp_path: Path) -> None:
    """Every alternative's and every Pareto point's new housing comes in locations of at
    least two 4-connected cells (20 homes), as the scenario's own allocation does."""
    scenario = location_case(tmp_path)

    def lone_cells(after: np.ndarray) -> int:
        h = (after.reshape(2, 3) == 1)
        lone = 0
        for r, c in zip(*np.nonzero(h), strict=True):
            nb = [(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)]
            lone += not any(0 <= a < 2 and 0 <= b < 3 and h[a, b] for a, b in nb)
        return lone

    result = api.alternatives(scenario, 0.1, 2, tmp_path / "alt")
    run = api.solve(scenario, write=False)
    assert result.items
    for a in result.items:
        after = run.compiled.allocation_grid(a.x)
        assert lone_cells(np.asarray(after)) == 0, a.label
    front = api.pareto(scenario, "area:housing", "suitability", 3, tmp_path / "pf")
    for p in front.points:
        assert lone_cells(np.asarray(run.compiled.allocation_grid(p.x))) == 0, p.label


def _located_front_by_brute_force() -> dict[frozenset, tuple[float, int]]:
    """Every housing set of :func:`location_case` that meets its rules — 20 homes (two
    cells), no housing on (0, 1), every 4-connected location of at least two cells — with
    its (suitability, hectares of housing)."""
    cells = [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2)]
    out = {}
    for n in range(2, len(cells) + 1):
        for chosen in itertools.combinations(cells, n):
            s = set(chosen)
            lone = any(not ({(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)} & s)
                       for r, c in s)
            if not lone:
                suit = 6 * 0.5 + sum(LOC_SH[r][c] - 0.5 for r, c in s)
                out[frozenset(s)] = (suit, n)
    return out


def test_every_pareto_point_meets_its_epsilon_under_location_rules(tmp_path: Path) -> None:
    """Suitability against housing hectares with the location rule binding: the cell model
    reaches suitability 3.9 (three cells, (1, 2) alone), but no allocation that meets the
    rule does better than 3.7 (the chain of four). So the front spans [3.4, 3.7] (all five
    cells, the chain), every point meets its ε row, and each is, by brute force over the
    location-feasible allocations, the most housing at suitability ≥ ε (then the best
    suitability). The integer front has two steps, so points repeat — each repeat says so,
    the best-suitability end point included."""
    scenario = location_case(tmp_path)
    run = api.solve(scenario, write=False)
    feasible = _located_front_by_brute_force()
    assert max(s for s, _ in feasible.values()) == pytest.approx(3.7)
    front = pf.pareto_front(run.compiled, "suitability", "area:housing", points=4)
    for p in front.points:
        assert p.f1 >= p.epsilon - 1e-6, (p.label, p.f1, p.epsilon)
        best = max((n, s) for s, n in feasible.values() if s >= p.epsilon - 1e-6)
        assert (p.f2, p.f1) == pytest.approx(best, abs=1e-6), p.label
        assert "not met" not in p.tidy_status and "below" not in p.tidy_status
    assert [p.epsilon for p in front.points] == pytest.approx([3.4, 3.5, 3.6, 3.7], abs=1e-6)
    assert [v for p in front.points for v in (p.f1, p.f2)] == pytest.approx(
        [3.4, 5.0, 3.7, 4.0, 3.7, 4.0, 3.7, 4.0], abs=1e-6)
    assert [p.kind for p in front.points] == [
        "best area:housing", "ε", "same as P2", "best suitability, same as P2"]
    # the top point's ε row asks for the best-suitability end point's suitability: it takes
    # that located allocation (the brute-force answer) without a location step of its own,
    # not claimed optimal
    assert front.points[-1].tidy_status == "the top point, without a location step of its " \
        "own: the allocation of the best-suitability end point"
    assert not front.points[-1].optimal


def test_under_location_rules_the_cell_models_lexicographic_end_point_is_solved_only_if_needed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the location rule met at the best-housing end point, the front starts at that
    allocation's suitability (3.4, all five cells), so the cell model's best suitability at
    the most housing (the re-solve with the floor row on housing) is not solved; when that
    end point's location step fails, it is, and the front starts at the cell model's."""
    from ruimteverdeling.model.warm_mga import NearOptimalSession

    run = api.solve(location_case(tmp_path), write=False)
    seen: list[str] = []
    real_full, real_quick, real_enforce = pf.solve_with, NearOptimalSession.solve, \
        pf.enforce_locations

    def spy_full(cm: Any, obj: Any, offset: float, rows: list, options: Any,
                 warm: Any = None) -> Any:
        seen.extend(r[0] for r in rows)
        return real_full(cm, obj, offset, rows, options, warm=warm)

    def spy_quick(self: Any, obj: Any, rows: list, *args: Any, **kwargs: Any) -> Any:
        seen.extend(r[0] for r in rows)
        return real_quick(self, obj, rows, *args, **kwargs)

    monkeypatch.setattr(pf, "solve_with", spy_full)
    monkeypatch.setattr(NearOptimalSession, "solve", spy_quick)
    # one worker: the spies record in this process
    front = pf.pareto_front(run.compiled, "suitability", "area:housing", points=4, workers=1)
    assert "pareto:area:housing" not in seen
    assert front.points[0].f1 == pytest.approx(3.4) and front.notes == []
    ends: list[int] = []

    def best_housing_fails(cm: Any, sol: Any, obj: Any, rows: list, options: Any,
                           say: Any = None) -> Any:
        if not rows:
            ends.append(1)
            if len(ends) == 2:  # the best-housing end point's (the second task, serially)
                return None
        return real_enforce(cm, sol, obj, rows, options, say)

    monkeypatch.setattr(pf, "enforce_locations", best_housing_fails)
    seen.clear()
    front = pf.pareto_front(run.compiled, "suitability", "area:housing", points=4, workers=1)
    assert seen.count("pareto:area:housing") == 1
    assert any("could not be enforced on the best-area:housing" in n for n in front.notes)


def test_a_point_whose_location_step_fails_takes_a_located_allocation_that_meets_its_epsilon(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the location step finds no allocation that meets a point's ε row (here: made to
    fail for every point), the point takes the best (most housing) of the allocations already
    made to meet the rule that meet its ε row — the end points': all five cells (3.4, 5 ha)
    and the chain of four (3.7, 4 ha) — says which, and is not claimed optimal. Here that is
    the brute-force answer at every ε."""
    scenario = location_case(tmp_path)
    run = api.solve(scenario, write=False)
    real = pf.enforce_locations

    def fails_on_points(cm: Any, sol: Any, obj: Any, rows: list, options: Any,
                        say: Any = None) -> Any:
        return None if rows else real(cm, sol, obj, rows, options, say)

    monkeypatch.setattr(pf, "enforce_locations", fails_on_points)
    front = pf.pareto_front(run.compiled, "suitability", "area:housing", points=3, tidy=True)
    feasible = _located_front_by_brute_force()
    assert [p.epsilon for p in front.points] == pytest.approx([3.4, 3.55, 3.7], abs=1e-6)
    for p in front.points:
        assert p.f1 >= p.epsilon - 1e-6, (p.label, p.f1, p.epsilon)
        best = max((n, s) for s, n in feasible.values() if s >= p.epsilon - 1e-6)
        assert (p.f2, p.f1) == pytest.approx(best, abs=1e-6), p.label
        assert not p.optimal and p.status == "feasible"
    why = "location rules not met near this point's optimum: the allocation of the "
    top = "the top point, without a location step of its own: the allocation of the "
    assert [p.tidy_status.partition(", ")[2] for p in front.points] == [
        why + "best-area:housing end point", why + "best-suitability end point",
        top + "best-suitability end point"]
    assert [p.kind for p in front.points] == [
        "best area:housing", "ε", "best suitability, same as P2"]


def test_a_point_whose_eps_row_the_lowest_points_lp_optimum_meets_starts_from_its_basis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Farmland hectares against suitability on the location case, 4 points (ε 2, 2⅔, 3⅓,
    4 ha; over the changeable cells, the rows' bounds, 1, 1⅔, 2⅓, 3 ha): the lowest point's
    LP optimum holds 3 ha of farmland (2 changeable), so point 2's ε row holds there and its
    LP starts from the lowest point's optimal basis — no simplex iteration — while points 3
    and 4 start from their floor crash bases. Every point's bound is that of its LP solved
    cold."""
    from ruimteverdeling.model.warm_mga import NearOptimalSession

    run = api.solve(location_case(tmp_path), write=False)
    seen: list[tuple[Any, Any, list, Any]] = []
    real = NearOptimalSession.solve

    def spy(self: Any, obj: Any, rows: list, *args: Any, **kwargs: Any) -> Any:
        sol = real(self, obj, rows, *args, **kwargs)
        if rows and rows[0][0] == "pareto:area:agriculture":
            seen.append((self, obj, rows, sol))
        return sol

    monkeypatch.setattr(NearOptimalSession, "solve", spy)
    # one worker: the spy records in this process
    front = pf.pareto_front(run.compiled, "area:agriculture", "suitability", points=4,
                            start=run.solution, workers=1)
    assert [p.epsilon for p in front.points] == pytest.approx([2.0, 8 / 3, 10 / 3, 4.0])
    assert len(seen) == 4
    low = seen[0][3].details["lp_rows"]["pareto:area:agriculture"]
    assert low == pytest.approx(2.0)
    starts = []
    for session, obj, rows, sol in seen[1:]:
        cold = real(NearOptimalSession(session.spec, session.options, None,
                                       session.status_quo_x), obj, rows, floor=rows[0][0])
        assert sol.bound == pytest.approx(cold.bound, abs=1e-9)
        starts.append((round(rows[0][2], 3), sol.details["start_basis"]))
        if low >= rows[0][2]:
            assert sol.details["first_lp_iterations"] == 0
    assert sorted(starts) == [(1.667, "warm"), (2.333, "floor crash"), (3.0, "floor crash")]


@pytest.mark.parametrize("located", [False, True])
def test_a_front_in_worker_processes_is_the_serial_front(tmp_path: Path, located: bool) -> None:
    """The end points and the points are independent solves: in two forked worker processes
    the front is the serial one, point for point (allocation, criteria, status and gaps)."""
    from ruimteverdeling.parallel import can_fork

    if not can_fork():
        pytest.skip("no fork on this platform")
    scenario = location_case(tmp_path) if located else strip_case(tmp_path, nature_min=None)
    run = api.solve(scenario, write=False)
    x, y = ("area:housing", "suitability") if located else ("area:nature", "suitability")
    fronts = [pf.pareto_front(run.compiled, x, y, points=4, start=run.solution,
                              workers=workers) for workers in (1, 2)]
    serial, forked = fronts
    assert len(serial.points) == len(forked.points) == 4
    for p, q in zip(serial.points, forked.points, strict=True):
        assert np.array_equal(p.x, q.x)
        assert (p.label, p.f1, p.f2, p.status, p.gap, p.decision_gap, p.optimal, p.kind,
                p.tidy_status) == (q.label, q.f1, q.f2, q.status, q.gap, q.decision_gap,
                                   q.optimal, q.kind, q.tidy_status)
    assert serial.notes == forked.notes
    # and the front is the hand-solved one (nature hectares: see the exact test above)
    if not located:
        assert np.allclose([(p.f1, p.f2) for p in serial.points],
                           [(2.0, 3.0), (3.0, 2.8), (4.0, 2.5), (5.0, 2.1)], atol=1e-6)


def _solution(status: str, objective: float, bound: float, details: dict[str, Any]
              ) -> Any:
    from ruimteverdeling.model.outcomes import Solution, decision_gap, proven_gap

    sq = objective - 100.0
    return Solution(status, np.array([float(objective)]), objective, bound,
                    proven_gap(objective, bound), "lp+rounded", "highs", "HiGHS",
                    {}, details, None, sq, decision_gap(objective, bound, sq))


def test_an_improved_pareto_point_keeps_its_time_limit_and_what_the_clock_cut() -> None:
    cut = {"time_limit_cut": ["repair"], "time_limit_note": "cut: repair", "lp_rows": {"e": 1.0}}
    sol = _solution("time_limit", 1000.0, 1010.0, cut)
    sol = pf.replace(sol, status_quo_value=900.0)
    alt = _solution("feasible", 1005.0, 1012.0, {})
    out = pf.improved_point(sol, alt, 1e-3)
    # the better allocation, the smaller bound, both gaps from them; the gap (5 on a decision
    # value of 105) is open, and the clock cut the point's solve: time_limit, not feasible
    assert out.objective == 1005.0 and out.bound == 1010.0 and out.x[0] == 1005.0
    assert out.decision_gap == pytest.approx(5.0 / 105.0)
    assert out.status == "time_limit"
    assert out.details == cut
    # without a cut it is feasible; a re-solve cut by the clock brings its note
    alt_cut = _solution("time_limit", 1005.0, 1012.0, {"time_limit_cut": ["raise"],
                                                       "time_limit_note": "cut: raise"})
    plain = pf.replace(sol, status="feasible", details={})
    assert pf.improved_point(plain, alt, 1e-3).status == "feasible"
    both = pf.improved_point(plain, alt_cut, 1e-3)
    assert both.status == "time_limit" and both.details["time_limit_note"] == "cut: raise"
    # a re-solve that closes the gap makes it optimal; one that is not better changes nothing
    assert pf.improved_point(sol, _solution("feasible", 1010.0, 1010.0, {}), 1e-3).optimal
    assert pf.improved_point(sol, _solution("feasible", 999.0, 1000.0, {}), 1e-3) is sol


def test_a_writer_of_the_alternatives_that_dies_leaves_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked worker writing one of the alternatives' run folders that dies (here: it exits
    at once, as one killed for memory would) gives a clear SolverError, and neither the output
    folder nor a partial one is left."""
    import os

    from ruimteverdeling import pipeline
    from ruimteverdeling.errors import SolverError

    scenario = strip_case(tmp_path)
    parent = os.getpid()
    real = pipeline.write_run

    def dies_in_a_worker(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != parent:
            os._exit(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "default_workers", lambda: 2)
    monkeypatch.setattr(pipeline, "write_run", dies_in_a_worker)
    out = tmp_path / "runs" / "alts"
    with pytest.raises(SolverError, match="writing the alternatives"):
        api.alternatives(scenario, "20%", 2, out)
    assert not out.exists()
    left = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert not any("alts" in name for name in left), left


def test_alternatives_folders_are_the_same_with_one_or_two_writers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run folders of the optimum and each alternative are written by forked workers:
    each holds the same files and bytes with one worker as with two (the clock readings of
    the manifests and markers aside)."""
    from ruimteverdeling import pipeline

    scenario = strip_case(tmp_path)
    outs = {}
    for workers in (1, 2):
        monkeypatch.setattr(pipeline, "default_workers", lambda w=workers: w)
        outs[workers] = tmp_path / f"alts{workers}"
        api.alternatives(scenario, "20%", 2, outs[workers])
    files = sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[2]) for p in outs[2].rglob("*") if p.is_file())
    for sub in ("optimum", "alt-1", "alt-2"):
        assert Path(sub, "allocation.tif") in files and Path(sub, "summary.json") in files
    differ = [f for f in files
              if (outs[1] / f).read_bytes() != (outs[2] / f).read_bytes()]
    assert all(f.name in CLOCK_FILES for f in differ), differ


def test_a_scenario_is_parsed_once_while_its_files_stay_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reservation, the pathway check and the compile of one command read the scenario
    once: later calls get a copy (a change to one is not seen by the next); a file of its
    chain that changes is read again."""
    from ruimteverdeling import pipeline

    scenario = strip_case(tmp_path)
    parsed: list[Path] = []
    real = pipeline.parse_scenario
    monkeypatch.setattr(pipeline, "parse_scenario",
                        lambda p: parsed.append(Path(p)) or real(p))
    pipeline._PARSED.clear()
    first = pipeline.load_scenario(scenario)
    first.targets[0].min = 99.0
    second = pipeline.load_scenario(scenario)
    assert len(parsed) == 1 and second.targets[0].min == 3.5
    assert second.path == first.path and second.chain == first.chain
    api.solve(scenario, write=False)
    assert len(parsed) == 1
    text = scenario.read_text().replace("3.5", "2.5")
    scenario.write_text(text + "\n")  # another size: seen even within the clock's tick
    third = pipeline.load_scenario(scenario)
    assert len(parsed) == 2 and third.targets[0].min == 2.5


def test_the_parsed_scenario_is_not_kept_over_a_same_size_rewrite_of_its_chain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of the chain (the scenario's own, or the one it extends) rewritten with as
    many bytes and the same modification time — as within one tick of a coarse file-system
    clock — is read again: the kept scenario is not handed out for other bytes."""
    import os

    from ruimteverdeling import pipeline

    base = strip_case(tmp_path)
    variant = tmp_path / "variant.yaml"
    variant.write_text(f"id: variant\nextends: {base.name}\n")
    parsed: list[Path] = []
    real = pipeline.parse_scenario
    monkeypatch.setattr(pipeline, "parse_scenario",
                        lambda p: parsed.append(Path(p)) or real(p))
    pipeline._PARSED.clear()

    def rewrite(path: Path, old: str, new: str) -> None:
        st = path.stat()
        text = path.read_text()
        assert old in text and len(old) == len(new)
        path.write_text(text.replace(old, new))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        after = path.stat()
        assert (after.st_ino, after.st_size, after.st_mtime_ns) == \
            (st.st_ino, st.st_size, st.st_mtime_ns)

    assert pipeline.load_scenario(variant).targets[0].min == 3.5
    assert pipeline.load_scenario(variant).targets[0].min == 3.5 and len(parsed) == 1
    rewrite(base, "3.5", "2.5")  # the extended file
    assert pipeline.load_scenario(variant).targets[0].min == 2.5 and len(parsed) == 2
    rewrite(variant, "id: variant", "id: varianz")  # the scenario's own file
    assert pipeline.load_scenario(variant).id == "varianz" and len(parsed) == 3


@pytest.mark.parametrize("stop", ["done", "ctrl-c"])
def test_a_failed_alternatives_search_leaves_no_folder_and_no_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: str) -> None:
    """The search failing after the writer's child has started on the optimum's folder
    stops that child and leaves neither the output folder nor its working folder — also when
    a second Ctrl-C comes while the child is being stopped."""
    import multiprocessing

    from ruimteverdeling import parallel

    scenario = strip_case(tmp_path)

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("the search fails")

    real_cancel = parallel.ForkedCalls.cancel

    def cancel(self: Any) -> None:
        real_cancel(self)
        if stop == "ctrl-c":
            raise KeyboardInterrupt

    monkeypatch.setattr(mga, "generate", fails)
    monkeypatch.setattr(parallel.ForkedCalls, "cancel", cancel)
    out = tmp_path / "runs" / "alts"
    with pytest.raises(KeyboardInterrupt if stop == "ctrl-c" else ValueError):
        api.alternatives(scenario, "20%", 2, out, workers=2)
    assert not out.exists()
    left = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert not any("alts" in name for name in left), left
    assert not multiprocessing.active_children()


def test_an_alternatives_writer_interrupted_as_it_opens_leaves_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C while the writer opens (handing in the optimum's folder) leaves neither the
    output folder nor its working folder."""
    from ruimteverdeling import parallel

    scenario = strip_case(tmp_path)

    def interrupted(self: Any, key: Any, *args: Any) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel.ForkedCalls, "submit", interrupted)
    out = tmp_path / "runs" / "alts"
    with pytest.raises(KeyboardInterrupt):
        api.alternatives(scenario, "20%", 2, out, workers=2)
    assert not out.exists()
    left = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert not any("alts" in name for name in left), left
