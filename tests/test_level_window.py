"""The level-window repair: its windows, its window-only derived rows and its incumbent,
against enumeration on tiny models."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from ruimteverdeling.model import level_window
from ruimteverdeling.model import strengthen as st
from ruimteverdeling.model.highs_backend import HighsBackend
from ruimteverdeling.model.options import SolverOptions
from ruimteverdeling.model.spec import ModelSpec


def test_windows_by_hand() -> None:
    """One window just below the LP's level and WINDOWS above it, each WIDTH of the level
    wide, clipped to the level's bounds; empty ones dropped."""
    w = level_window.WIDTH
    got = level_window.windows(1.0, 0.0, np.inf)
    assert len(got) == level_window.WINDOWS + 1
    assert got[0] == pytest.approx((1.0 - w, 1.0))
    assert got[1] == pytest.approx((1.0, 1.0 + w))
    assert got[-1][1] == pytest.approx(1.0 + level_window.WINDOWS * w)
    clipped = level_window.windows(1.0, 1.0, 1.0 + 1.5 * w)
    assert np.allclose(clipped, [(1.0, 1.0 + w), (1.0 + w, 1.0 + 1.5 * w)], rtol=0, atol=1e-15)


def _feasible(spec):
    """Every integer allocation of a tiny model with its auxiliaries' feasible intervals."""
    from tiny_models import allocations, aux_intervals

    for x in allocations(spec):
        iv = aux_intervals(spec, x)
        if iv is not None:
            yield x, iv


def _completed(spec, x, low, high, level_j, v):
    """``x`` with every auxiliary at its best end, the level at ``v``."""
    c_aux = spec.obj[spec.n_x:]
    aux = np.where(c_aux > 0, high, low)
    aux[level_j] = v
    return np.concatenate([x, aux])


@pytest.mark.parametrize("seed", range(12))
def test_window_derived_rows_keep_every_allocation_in_the_window(seed: int) -> None:
    """The derived rows of the model with the level confined to ``[a, b]`` hold for every
    integer allocation whose level can lie in ``[a, b]`` (checked by enumeration, at every
    level in the window the allocation allows: its smallest and b)."""
    from tiny_models import random_model

    spec = random_model(seed)
    (lv,) = st.find_levels(spec)
    j = lv.col - spec.n_x
    levels = sorted({float(iv[0][j]) for _, iv in _feasible(spec)})
    checked = 0
    for v0 in levels[:4]:
        for a, b in ((v0, v0 * 1.05 + 1e-9), (0.5 * v0, v0), (v0, 2.0 * v0 + 1e-9)):
            lb, ub = spec.aux_lb.copy(), spec.aux_ub.copy()
            lb[j], ub[j] = a, b
            cands = st.candidates(replace(spec, aux_lb=lb, aux_ub=ub))
            if not cands.n_rows:
                continue
            for x, (low, high) in _feasible(spec):
                lo_v, hi_v = max(low[j], a), min(high[j], b)
                if lo_v > hi_v + 1e-12:
                    continue  # its level cannot lie in the window
                for v in (lo_v, hi_v):
                    y = _completed(spec, x, low, high, j, v)
                    assert not cands.violated(y).size, (a, b, x)
                    checked += 1
    assert checked > 0


@pytest.mark.parametrize("seed", range(6))
def test_the_window_derives_rows_from_the_levels_own_blocks_only(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's derived rows come from the coupling blocks that hold the level's column
    (the rows the confined level changes), not from the model's other blocks, and those
    blocks' candidates are the ones the whole model derives from them in the window."""
    from tiny_models import random_model

    spec = random_model(seed)
    (lv,) = st.find_levels(spec)
    own = level_window.level_blocks(spec, lv.col)
    assert own and len(own) < len(spec.coupling)
    for b in spec.coupling:
        holds = bool(np.any(b.A.tocsr().indices == lv.col))
        assert holds == any(b is o for o in own), b.name
    asked: list[list[str]] = []
    real = st.candidates

    def spy(model: ModelSpec, max_row_nnz: int | None = None) -> st.Candidates:
        asked.append([b.name for b in model.coupling])
        got = real(model, max_row_nnz)
        whole = real(replace(model, coupling=spec.coupling), max_row_nnz)
        mine = [i for i, src in enumerate(whole.source)
                if src.rsplit(":", 1)[0] in {b.name for b in own}]
        assert got.source == [whole.source[i] for i in mine]
        assert abs(got.A - whole.A[mine]).max() == 0
        assert np.array_equal(got.lower, whole.lower[mine])
        return got

    monkeypatch.setattr(st, "candidates", spy)
    _improve_with_exact_repair(spec, lv, None, -np.inf, {})
    assert asked and all(names == [b.name for b in own] for names in asked)


def _improve_with_exact_repair(spec: ModelSpec, lv: st.Level, x_best: np.ndarray | None,
                               z_best: float, details: dict) -> tuple[np.ndarray | None, float]:
    """The level-window step on a tiny model from its LP optimum, with the incumbent
    ``x_best`` (worth ``z_best``; None for none yet) and HiGHS's exact MIP as the repair,
    which records its status as the repair's only attempt."""
    backend, options = HighsBackend(), SolverOptions()
    session = backend.session(spec, options)
    lp = session.lp(time_limit=30.0)
    assert lp.status == "optimal"

    def repair(model, out, info):
        r = backend.mip(model, options, 30.0, 0.0)
        info["repair_attempts"] = [{"status": r.status}]
        return None if r.x is None else np.asarray(r.x)[: spec.n_cols]

    return level_window.improve(spec, spec, [lv], session, {}, lp.x, x_best, z_best,
                                float(lp.objective), 0.0, np.inf, details, {},
                                lambda msg: None, repair, lambda y: y)


@pytest.mark.parametrize("seed", range(12))
def test_improve_keeps_every_row_and_never_passes_the_optimum(seed: int) -> None:
    """From the worst allocation as the incumbent and an exact MIP as the repair: the result
    meets every row, is at least the incumbent and at most the enumerated optimum."""
    from tiny_models import brute_force, random_model

    spec = random_model(seed)
    opt = brute_force(spec)
    (lv,) = st.find_levels(spec)
    j = lv.col - spec.n_x
    worst, z_worst = None, np.inf
    for x, (low, high) in _feasible(spec):
        y = _completed(spec, x, low, high, j, float(low[j]))
        if not spec.violations(y):
            z = spec.objective_value(y)
            if z < z_worst:
                worst, z_worst = y, z
    assert worst is not None
    details: dict = {}
    x, z = _improve_with_exact_repair(spec, lv, worst, z_worst, details)
    assert not spec.violations(x)
    assert z == pytest.approx(spec.objective_value(x))
    assert z_worst - 1e-9 <= z <= opt + 1e-7
    assert "level_window" in details


def test_a_spent_time_limit_keeps_the_incumbent_and_says_so() -> None:
    """With the deadline already past, the step changes nothing and lists itself among the
    steps the time limit cut short."""
    from tiny_models import random_model

    spec = random_model(0)
    (lv,) = st.find_levels(spec)
    backend, options = HighsBackend(), SolverOptions()
    session = backend.session(spec, options)
    lp = session.lp(time_limit=30.0)
    x0 = np.zeros(spec.n_cols)
    details: dict = {}

    def repair(model, out, info):
        raise AssertionError("no repair after the deadline")

    x, z = level_window.improve(spec, spec, [lv], session, {}, lp.x, x0, -1.0,
                                float(lp.objective), 0.0, 0.0, details, {}, lambda msg: None,
                                repair, lambda y: y)
    assert x is x0 and z == -1.0
    assert details["time_limit_cut"] == ["repair in the level's best window"]


def test_rows_added_for_some_lps_stay_out_of_the_others() -> None:
    """Rows added as not permanent (the window's derived rows) bound only the LPs that name
    them, for the HiGHS session and for the re-building one alike: a row that cuts the LP
    optimum changes that LP and leaves the next LP without it at its old value."""
    from ruimteverdeling.model.solve import _Rebuild
    from ruimteverdeling.model.spec import RowBlock
    from tiny_models import random_model

    spec = random_model(0)
    backend, options = HighsBackend(), SolverOptions()
    for session in (backend.session(spec, options), _Rebuild(backend, spec, options)):
        before = session.lp(time_limit=30.0)
        assert before.status == "optimal"
        # the objective itself at most one below the LP optimum
        c = sp.csr_matrix(spec.obj.reshape(1, -1))
        cut = RowBlock("cut:test", "cut", c, np.array([-np.inf]),
                       np.array([float(before.objective) - spec.obj_offset - 1.0]))
        session.add_rows(cut, permanent=False)
        with_cut = session.lp(rows=[cut], time_limit=30.0)
        assert with_cut.objective == pytest.approx(float(before.objective) - 1.0)
        after = session.lp(time_limit=30.0)
        assert after.objective == pytest.approx(float(before.objective))


def test_the_progress_log_names_every_step_with_its_seconds() -> None:
    """Through the level's steps (knapsack bound, level fixed, windows, swaps), every progress
    line but those that announce a step (the LP, a repair, a branch and bound) ends with the
    seconds the step took, and each announced repair or branch and bound is followed by its
    result line."""
    import re

    from ruimteverdeling.model.solve import solve
    from tiny_models import random_model

    lines: list[str] = []
    solve(random_model(1), SolverOptions(mip_rel_gap=0.0), progress=lines.append)
    timed = re.compile(r"\b\d+\.\d s\)$")
    starts = [i for i, m in enumerate(lines) if m.endswith("repairing with a small MIP")]
    searches = [i for i, m in enumerate(lines) if m.endswith("for branch and bound")]
    for i, m in enumerate(lines[1:], start=1):
        assert i in starts or i in searches or timed.search(m), m
    for i in starts:
        assert lines[i + 1].startswith("repair: "), lines[i + 1]
    for i in searches:
        assert lines[i + 1].startswith("branch and bound after"), lines[i + 1]
    for step in ("LP relaxation: bound", "strengthened:", "whole-cell knapsacks",
                 "level fixed", "level windows:", "repair in the level's best window",
                 "level swaps"):
        assert any(m.startswith(step) or step in m for m in lines), step


@pytest.mark.parametrize("seed", range(12))
def test_improve_without_an_incumbent_finds_an_allocation_or_none(seed: int) -> None:
    """With no incumbent yet (the step run before the root repair), the result is None or
    an allocation that meets every row, whose value is returned and is at most the
    enumerated optimum; with an exact repair, one is found exactly when the repair of a
    window finds its model feasible."""
    from tiny_models import brute_force, random_model

    spec = random_model(seed)
    opt = brute_force(spec)
    (lv,) = st.find_levels(spec)
    details: dict = {}
    x, z = _improve_with_exact_repair(spec, lv, None, -np.inf, details)
    tried = [w for w in details["level_window_repair"] if w.get("repair") != "skipped"]
    assert tried  # without an incumbent no window is skipped as unable to beat it
    feasible = any(a["status"] == "optimal" for w in tried for a in w["repair"] or [])
    assert (x is not None) == feasible
    if x is None:
        assert z == -np.inf
    else:
        assert not spec.violations(x)
        assert z == pytest.approx(spec.objective_value(x))
        assert z <= opt + 1e-7


@pytest.mark.parametrize("seed", range(6))
def test_the_session_basis_read_fast_is_the_one_highs_holds(seed: int) -> None:
    """``basis_now`` (statuses from the kept LP solution and the basic set) equals HiGHS's own
    basis read status by status: after an optimal LP, and after columns (a finite lower
    bound, only an upper bound, free) and a row were appended without a new solve; and a
    warm re-solve from that basis reaches the optimum of a cold LP of the grown model."""
    from ruimteverdeling.model.highs_backend import get_basis
    from ruimteverdeling.model.spec import RowBlock
    from tiny_models import random_model

    spec = random_model(seed)
    backend, options = HighsBackend(), SolverOptions()
    session = backend.session(spec, options)
    assert session.lp(time_limit=30.0).status == "optimal"

    def same(a, b) -> None:
        assert np.array_equal(a.col, b.col) and np.array_equal(a.row, b.row)

    same(session.basis_now(), get_basis(session.h))
    lb, ub = np.array([0.0, -np.inf, -np.inf]), np.array([2.0, 3.0, np.inf])
    session.add_columns(lb, ub, np.array([1.0, 0.5, 0.0]))
    n = session.n_cols
    # two new columns capped by the first unit's columns, x_a + x_b ≤ Σ x_unit0 (the free
    # column, at cost 0, is in no row)
    a = np.zeros(n)
    a[n - 3:] = 1.0
    a[: spec.n_x][spec.col_unit == spec.col_unit[0]] = -1.0
    a[n - 1] = 0.0
    row = RowBlock("cut:test", "cut", sp.csr_matrix(a.reshape(1, -1)), np.array([-np.inf]),
                   np.array([0.0]))
    session.add_rows(row)
    grown = session.basis_now()
    same(grown, get_basis(session.h))
    warm = session.lp(time_limit=30.0, basis=grown)
    model = spec.with_columns(["a", "b", "free"], lb, ub,
                              np.array([1.0, 0.5, 0.0])).with_rows(row)
    cold = backend.lp(model, options, 30.0)
    assert warm.status == cold.status
    if cold.status == "optimal":
        assert warm.objective == pytest.approx(cold.objective, abs=1e-7)


@pytest.mark.parametrize("hooked", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_work_started_for_a_window_reaches_that_windows_repair(seed: int, hooked: bool
                                                               ) -> None:
    """What the ``ahead`` hook returned for the auxiliary bounds of the window that is
    repaired (those of the repair's model) reaches that repair as ``info["ahead"]``; the hook
    runs at most twice per repaired window (once for the first window visited, before its
    LP, and once more only if another window is chosen); without the hook the repair's
    ``info`` has no such entry."""
    from tiny_models import random_model

    spec = random_model(seed)
    (lv,) = st.find_levels(spec)
    backend, options = HighsBackend(), SolverOptions()
    session = backend.session(spec, options)
    lp = session.lp(time_limit=30.0)
    calls: list[tuple[np.ndarray, np.ndarray]] = []
    seen: list[tuple[object, np.ndarray, np.ndarray]] = []

    def ahead(lb: np.ndarray, ub: np.ndarray) -> tuple[str, int]:
        calls.append((lb.copy(), ub.copy()))
        return ("started", len(calls))

    def repair(model, out, info):
        seen.append((info.get("ahead"), model.aux_lb.copy(), model.aux_ub.copy()))
        r = backend.mip(model, options, 30.0, 0.0)
        return None if r.x is None else np.asarray(r.x)[: spec.n_cols]

    level_window.improve(spec, spec, [lv], session, {}, lp.x, None, -np.inf,
                         float(lp.objective), 0.0, np.inf, {}, {}, lambda msg: None,
                         repair, lambda y: y, ahead=ahead if hooked else None)
    assert seen  # without an incumbent a window is always repaired
    if not hooked:
        assert not calls and all(got is None for got, _, _ in seen)
        return
    assert len(seen) <= len(calls) <= 2 * len(seen)
    for got, m_lb, m_ub in seen:
        assert isinstance(got, tuple) and got[0] == "started"
        lb, ub = calls[got[1] - 1]
        assert np.array_equal(lb, m_lb) and np.array_equal(ub, m_ub)
