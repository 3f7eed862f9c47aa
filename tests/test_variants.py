"""The shipped scenarios: every one validates and solves, and the variants differ from the
base in the direction their name promises (measured on the written allocation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from ruimteverdeling import api

from areas import REPO

SCENARIOS = sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))
USES = {u["id"]: u for u in yaml.safe_load(
    (REPO / "src" / "ruimteverdeling" / "data" / "uses.yaml").read_text())["uses"]}


def test_all_shipped_scenarios_are_listed() -> None:
    assert {"base", "water-first", "compact-city", "energy-max", "defence-priority",
            "nature-plus"} <= set(SCENARIOS)


def provided(grid: np.ndarray, target: str, energy: bool = False) -> float:
    lut = np.zeros(256)
    for u in USES.values():
        p = u.get("provides", {}).get(target, 0.0)
        lut[u["code"]] = p * (u.get("energy_mwh_per_ha_yr", 0.0) if energy else 1.0)
    return float(lut[grid].sum())


@pytest.fixture(scope="module")
def results(demo_area: Path) -> dict:
    out = {}
    for name in SCENARIOS:
        run = api.solve(REPO / "scenarios" / f"{name}.yaml", area=demo_area, write=False)
        out[name] = (run, run.compiled.allocation_grid(run.solution.x))
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_solves_with_proven_gap(results: dict, name: str) -> None:
    run, _ = results[name]
    # an allocation with its proven bound: within the tolerance (optimal), or stopped short of
    # it by the repair's limits (feasible) or by the time limit, whichever the machine reaches
    assert run.solution.status in ("optimal", "feasible", "time_limit")
    assert np.isfinite(run.solution.bound) and run.solution.decision_gap is not None
    assert run.solution.bound >= run.solution.objective - 1e-6
    assert all(t["met"] == "yes" for t in run.summary["targets"] if t["hard"]), name


def test_variants_move_the_right_way(results: dict) -> None:
    base = results["base"][1]
    before = results["base"][0].compiled.area.current_use
    assert provided(results["energy-max"][1], "renewable_energy", energy=True) > \
        1.5 * provided(base, "renewable_energy", energy=True)
    assert provided(results["nature-plus"][1], "nature") > provided(base, "nature") * 1.05
    assert provided(results["defence-priority"][1], "defence") > \
        provided(base, "defence") * 1.2
    new_housing = lambda g: int(((g == 1) & (before != 1)).sum())  # noqa: E731
    assert new_housing(results["compact-city"][1]) < new_housing(base)
    assert provided(results["water-first"][1], "water_buffer") >= provided(base, "water_buffer")


def test_overrides_are_reported(results: dict) -> None:
    run = results["water-first"][0]
    reported = {o["rule"]: o for o in run.summary["overrides"]}
    assert set(reported) == {"brook_valley_buffers", "dike_reinforcement_reservation",
                             "water_storage_deep_polders", "peat_high_water_table",
                             "flood_risk_vulnerable_functions"}
    brook = reported["brook_valley_buffers"]
    assert brook["zone_ha_effective"] >= brook["zone_ha_original"]
    assert all(len(o["justification"]) > 20 for o in reported.values())
    energy = {o["rule"]: o for o in results["energy-max"][0].summary["overrides"]}
    assert energy["wind_solar_on_land"]["effective"]["min"] == 60
    # the variants with overrides of their own keep the base's softening without repeating it
    for name in ("energy-max", "nature-plus", "defence-priority"):
        text = (REPO / "scenarios" / f"{name}.yaml").read_text(encoding="utf-8")
        assert "water_storage_deep_polders" not in text, name
        inherited = {o["rule"]: o for o in results[name][0].summary["overrides"]}
        assert inherited["water_storage_deep_polders"]["action"] == "soften", name
        assert inherited["water_storage_deep_polders"]["penalty"] == 5.0, name


def test_rules_doc_is_up_to_date() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rules_table", REPO / "docs" / "rules_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == mod.render(), \
        "run `python docs/rules_table.py > docs/rules.md`"


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_policy_item_carries_its_source(name: str) -> None:
    from ruimteverdeling.rules import load_scenario

    sc = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    for item in [*sc.targets, *sc.rules]:
        assert item.source.document, item.id
        if item.status == "G":
            assert item.source.quote, f"{item.id}: a decided rule quotes its document"
    for o in sc.overrides:
        assert len(o.justification.strip()) > 20, o.rule
