"""The highspy and Pyomo backends render the same ModelSpec and reach the same optimum."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruimteverdeling import api
from ruimteverdeling.model import pyomo_backend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.solve import solve

from areas import hand_case, random_case


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pyomo_and_highspy_agree(tmp_path: Path, seed: int) -> None:
    sc, _ = random_case(tmp_path, seed)
    spec = api.compile(sc).spec
    fast = solve(spec, SolverOptions(backend="highs", method="auto"))
    mip = solve(spec, SolverOptions(backend="highs", method="mip"))
    ref = solve(spec, SolverOptions(backend="pyomo", method="mip"))
    ref_auto = solve(spec, SolverOptions(backend="pyomo", method="auto"))
    assert ref.backend == "pyomo" and "Pyomo" in ref.solver
    assert fast.objective == pytest.approx(ref.objective, abs=1e-6)
    assert ref_auto.objective == pytest.approx(ref.objective, abs=1e-6)
    assert mip.objective == pytest.approx(ref.objective, abs=1e-6)
    assert ref.optimal and fast.optimal and mip.optimal
    # each backend's answer is feasible in the shared spec
    assert not spec.violations(ref.x)
    assert not spec.violations(fast.x)


def test_pyomo_model_names_follow_rules(tmp_path: Path) -> None:
    cm = api.compile(hand_case(tmp_path))
    m = pyomo_backend.render(cm.spec, cm.ctx.alloc_ids)
    blocks = {b.name for b in m.component_objects(ctype=None, descend_into=False)
              if b.ctype.__name__ == "Block"}
    assert {"assign", "target_h", "target_n"} <= blocks
    assert (0, "housing") in m.x  # x[cell, use]
    assert (4, "housing") not in m.x  # the fixed housing cell has no variable


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_export_model(tmp_path: Path, fmt: str) -> None:
    sc = hand_case(tmp_path)
    out = tmp_path / f"model.{fmt}"
    api.solve(sc, tmp_path / "out", export_model=out)
    text = out.read_text()
    assert "target_h" in text
    if fmt == "lp":
        assert text.count("max") >= 1 and "binary" in text.lower()


def test_a_kept_lp_gives_each_resolve_its_own_time_allowance() -> None:
    """HiGHS compares ``time_limit`` with the run time its instance has summed over every run,
    so a kept LP must set the limit to that sum plus the re-solve's allowance; otherwise a
    re-solve late in a session stops at once with no iteration."""
    import numpy as np

    from ruimteverdeling.model.highs_backend import HighsBackend
    from tiny_models import random_model

    spec = random_model(3)
    session = HighsBackend().session(spec, SolverOptions())
    first = session.lp(time_limit=30.0)
    assert first.status == "optimal"
    spent = session.h.getRunTime()
    assert spent > 0.0
    lb = spec.aux_lb.copy()
    again = session.lp(lb, spec.aux_ub.copy(), None, time_limit=0.5)
    assert session.h.getOptionValue("time_limit")[1] >= spent + 0.5 - 1e-9
    assert again.status == "optimal"
    assert np.isclose(again.objective, first.objective)
