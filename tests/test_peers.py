"""The peers of `bench` (the naive model written in linopy and in PuLP) solve a tiny model to
its enumerated optimum; a peer that is not installed is reported as such."""

from __future__ import annotations

import pytest

from ruimteverdeling import bench
from ruimteverdeling.bench import naive_spec
from tiny_models import USES, brute_force, random_model


@pytest.mark.parametrize("seed", range(3))
def test_linopy_peer_finds_the_enumerated_optimum(seed: int) -> None:
    pytest.importorskip("linopy")
    spec = random_model(seed)
    naive = naive_spec(spec, USES)
    status, x, bound, _ = bench.solve_linopy(naive, USES, 30, 0.0, 1, 0)
    assert status == "Optimal"
    assert naive.objective_value(x) == pytest.approx(brute_force(spec), abs=1e-6)
    assert bound == pytest.approx(brute_force(spec), abs=1e-6)
    assert not naive.violations(x)


@pytest.mark.parametrize("seed", range(3))
def test_pulp_cbc_peer_finds_the_enumerated_optimum(seed: int) -> None:
    pytest.importorskip("pulp")
    spec = random_model(seed)
    naive = naive_spec(spec, USES)
    status, x, bound, _ = bench.solve_pulp(naive, 30, 0.0, 1)
    assert status == "Optimal" and bound is None  # CBC's bound does not come back via PuLP
    assert naive.objective_value(x) == pytest.approx(brute_force(spec), abs=1e-5)
    assert not naive.violations(x, tol=1e-5)


def test_a_missing_peer_is_reported_not_skipped(monkeypatch) -> None:
    monkeypatch.setitem(bench.PEER_MODULES, "pulp", "no_such_module_for_the_test")
    assert not bench.peer_installed("pulp") and bench.peer_installed("highspy")
    row = {"requested_cells": 100, "cells": 100, "build_s": 1.0, "solve_s": 1.0,
           "write_s": 0.1, "total_s": 2.1, "peak_mb": 100, "gap": 0.0, "status": "optimal",
           "naive": {"highspy": {"status": "optimal", "seconds": 4.0, "gap": 0.0,
                                 "ratio": 2.0},
                     "pulp": {"status": "not installed"}}}
    text = bench.format_table([row])
    head, line = text.splitlines()
    assert "PuLP+CBC" in head and "naive highspy" in head
    assert "not installed" in line and "(2x)" in line
