"""The decision gap: measured against the status quo, computed by hand on a tiny case, and
"optimal" only when it is proven within the tolerance."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from ruimteverdeling import api
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.outcomes import abs_gap_target, decision_gap, proven_gap
from tiny_models import random_model

from areas import SRC, write_area, write_scenario

solve_mod = importlib.import_module("ruimteverdeling.model.solve")


def status_quo_case(tmp_path: Path) -> Path:
    """2×2 grid of 1-ha cells: three agriculture, one nature (bottom right).

    Suitability: agriculture 0.5 everywhere, nature from the layer below, housing 0.1;
    changing a use costs 0.1 per ha. Agriculture is closed in the top-left cell (also for its
    current use), and a soft target asks 3 ha of nature (penalty 1 per ha missed).

        nature suitability   0.9  0.2
                             0.4  0.8

    Status quo (every cell keeps its use, closed or not, penalties not counted):
    3 × 0.5 + 0.8 = 2.3. Optimum by hand: top-left must change, nature is best there
    (0.9 − 0.1); one more hectare of nature is cheapest bottom-left (0.4 − 0.1 = 0.3 instead
    of 0.5, a loss of 0.2 against a penalty of 1); top-right stays agriculture:
    0.8 + 0.5 + 0.3 + 0.8 = 2.4, the target met. Decision value 2.4 − 2.3 = 0.1.
    """
    lu = np.array([[3, 3], [3, 2]])
    sn = np.array([[0.9, 0.2], [0.4, 0.8]])
    zone = np.array([[1, 0], [0, 0]])
    area = write_area(tmp_path / "area", lu, layers={
        "s_n": (sn, "continuous", {}), "zone": (zone, "mask", {})})
    return write_scenario(tmp_path / "sq.yaml", {
        "id": "sq", "area": str(area),
        "suitability": {"agriculture": {"base": 0.5}, "housing": {"base": 0.1},
                        "nature": {"terms": [{"layer": "s_n", "points": [[0, 0], [1, 1]]}]}},
        "transition_costs": {"default": 0.1},
        "targets": [{"id": "nat", "use": "nature", "min": 3, "hard": False, "penalty": 1.0,
                     "source": SRC}],
        "rules": [
            {"id": "three", "type": "exclusion", "layer": "zone", "where": {"equals": [0, 1]},
             "allow": ["housing", "nature", "agriculture"], "applies_to": "all",
             "source": SRC},
            {"id": "no_farming_here", "type": "exclusion", "layer": "zone",
             "uses": ["agriculture"], "applies_to": "all", "source": SRC}],
    })


def test_status_quo_value_by_hand(tmp_path: Path) -> None:
    cm = api.compile(status_quo_case(tmp_path))
    # the top-left cell's current use is not a column, yet it counts in the status quo
    top_left = int(np.flatnonzero(cm.spec.unit_cells == 0)[0])
    uses = [cm.ctx.alloc_ids[u] for u in cm.spec.col_use[cm.spec.col_unit == top_left]]
    assert "agriculture" not in uses
    assert cm.spec.status_quo_value == pytest.approx(2.3, abs=1e-6)


def test_decision_gap_of_a_solve_by_hand(tmp_path: Path) -> None:
    run = api.solve(status_quo_case(tmp_path), write=False)
    sol = run.solution
    assert sol.objective == pytest.approx(2.4, abs=1e-6)
    assert sol.status_quo_value == pytest.approx(2.3, abs=1e-6)
    assert sol.decision_value == pytest.approx(0.1, abs=1e-6)
    assert sol.decision_gap == pytest.approx((sol.bound - sol.objective) / 0.1, abs=1e-6)
    assert sol.optimal and sol.decision_gap <= 1e-4
    assert run.summary["decision_gap"] == sol.decision_gap
    assert run.summary["status_quo_value"] == pytest.approx(2.3, abs=1e-6)


def test_gap_formulas() -> None:
    # objective 100, bound 101: 1 % of the objective, 2 % of the decision value 100 − 150
    assert proven_gap(100.0, 101.0) == pytest.approx(0.01)
    assert decision_gap(100.0, 101.0, 150.0) == pytest.approx(1 / 50)
    assert decision_gap(100.0, 101.0, 90.0) == pytest.approx(1 / 10)
    assert decision_gap(100.0, 101.0, None) == pytest.approx(0.01)  # no status quo known
    # the status quo itself optimal: measured against ε = 1e-6 · |z|
    assert decision_gap(100.0, 100.0 + 1e-5, 100.0) == pytest.approx(0.1)
    # an absolute target that proves the decision gap whatever objective the search ends
    # with in [incumbent, bound]: the status quo 49 above the bound, or 10 below the incumbent
    assert abs_gap_target(0.01, 100.0, 101.0, 150.0) == pytest.approx(0.49)
    assert abs_gap_target(0.01, 100.0, 101.0, 90.0) == pytest.approx(0.10)
    assert abs_gap_target(0.01, 100.0, 101.0, 100.5) == pytest.approx(0.01 * 1e-4)  # rel · ε
    assert abs_gap_target(0.01, None, 101.0, 90.0) == pytest.approx(0.01 * 1e-6 * 1.0)


class _Stub:
    """A backend whose MIP claims "optimal" for ``x`` with the dual bound ``bound``."""

    name = "stub"

    def __init__(self, x: np.ndarray, bound: float):
        self.x, self.bound = x, bound

    def label(self) -> str:
        return "stub"

    def lp(self, spec, options, time_limit):
        raise AssertionError("not used")

    def mip(self, spec, options, time_limit, gap, start=None, abs_gap=None):
        return solve_mod.MipOutcome("optimal", self.x, self.bound, {"mip": 1.0}, {})


def test_optimal_is_never_claimed_with_an_open_decision_gap(tmp_path: Path,
                                                            monkeypatch) -> None:
    spec = api.compile(status_quo_case(tmp_path)).spec
    x = solve_mod.solve(spec, SolverOptions()).x
    z = spec.objective_value(x)
    # a bound 0.01 above: 0.4 % of the objective (within a 1 % tolerance) but 10 % of the
    # decision value 0.1
    monkeypatch.setattr(solve_mod, "backend_for", lambda o: _Stub(x, z + 0.01))
    sol = solve_mod.solve(spec, SolverOptions(method="mip", mip_rel_gap=0.01))
    assert sol.gap <= 0.01
    assert sol.decision_gap == pytest.approx(0.1, rel=1e-3)
    assert sol.status == "feasible" and not sol.optimal


@pytest.mark.parametrize("seed", range(12))
def test_optimal_claims_hold_the_decision_gap(seed: int) -> None:
    """On random models with a status quo close to the optimum (a small decision value), a
    run either proves the decision gap or does not say optimal."""
    spec = random_model(seed)
    first = solve_mod.solve(spec, SolverOptions(mip_rel_gap=1e-6))
    spec.status_quo_value = first.objective - 0.05
    sol = solve_mod.solve(spec, SolverOptions(mip_rel_gap=1e-3))
    assert sol.decision_gap == pytest.approx(
        max(0.0, sol.bound - sol.objective) / abs(sol.objective - spec.status_quo_value))
    assert not sol.optimal or sol.decision_gap <= 1e-3
    assert sol.objective == pytest.approx(first.objective, abs=0.05 * 1e-3 + 1e-9)
