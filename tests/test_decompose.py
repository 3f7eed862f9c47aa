"""The column generation's pricing: reduced costs, each unit's best columns, the Lagrangian bound.

Checked against dense products and loops on small models with units of uneven size, ties and
auxiliary columns; the bound against the brute-force optimum of tiny models.
"""

from __future__ import annotations

import numpy as np
import pytest

from ruimteverdeling.model.decompose import Pricing
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from tiny_models import brute_force, random_model


def _uneven_units(rng: np.random.Generator, n_units: int) -> tuple[SpecBuilder, int]:
    """A builder over ``n_units`` units of one to five columns (distinct uses each) with a
    benefit term of whole values 0–3, and its number of columns."""
    sizes = rng.integers(1, 6, n_units)
    col_unit = np.repeat(np.arange(sizes.size), sizes)
    col_use = np.concatenate([rng.permutation(6)[:k] for k in sizes])
    n = col_unit.size
    b = SpecBuilder(col_unit, col_use, np.arange(sizes.size))
    b.add_term("value", "benefit", 1.0, rng.integers(0, 4, n).astype(float))
    return b, n


def uneven_model(seed: int) -> ModelSpec:
    """Units of one to five columns, coefficients on a coarse grid (so reduced costs tie), a
    few coupling blocks over some of the columns and an auxiliary column in one of them."""
    rng = np.random.default_rng(seed)
    b, n = _uneven_units(rng, 40)
    for k in range(3):
        cols = np.flatnonzero(rng.random(n) < 0.4)
        rows = rng.integers(0, 2, cols.size)
        b.add_block(f"rows:{k}", "target", rows, cols, rng.choice([-1.0, 0.5, 1.0, 2.0],
                                                                  cols.size),
                    2, np.array([-np.inf, 1.0]), np.array([10.0, np.inf]))
    j = b.add_aux("slack", 0.0, 5.0)
    b.add_block("with_aux", "rule", np.array([0, 0, 0]), np.array([0, 1, j]),
                np.array([1.0, 1.0, -1.0]), 1, np.array([-np.inf]), np.array([1.0]))
    b.add_term("penalty", "cost", 1.0, aux={j: 0.5})
    return b.build()


def dense_rows(spec: ModelSpec) -> np.ndarray:
    return np.vstack([b.A.toarray() for b in spec.coupling])


@pytest.mark.parametrize("seed", range(5))
def test_reduced_costs_are_c_minus_a_transpose_y(seed: int) -> None:
    spec = uneven_model(seed)
    p = Pricing(spec)
    y = np.random.default_rng(seed).normal(size=p.m)
    y[::3] = 0.0  # blocks with zero duals are skipped: the rest must still add up
    assert np.allclose(p.reduced(y), spec.obj - dense_rows(spec).T @ y, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_best_columns_by_loop_and_reduced_costs_left_as_they_were(seed: int) -> None:
    spec = uneven_model(seed)
    p = Pricing(spec)
    r = np.round(p.reduced(np.random.default_rng(seed).normal(size=p.m)), 0)  # ties
    r_before = r.copy()
    best, first, second = p.best(r)
    assert np.array_equal(r, r_before)  # the second best is found in place, then put back
    cu = spec.col_unit
    for k in range(spec.n_units):
        cols = np.flatnonzero(cu == k)
        vals = r[cols]
        assert best[k] == vals.max()
        assert first[k] == cols[np.argmax(vals)]  # the first column reaching the maximum
        rest = np.delete(vals, np.argmax(vals))
        assert second[k] == (rest.max() if rest.size else -np.inf)


@pytest.mark.parametrize("seed", range(8))
def test_lagrangian_bound_holds_for_any_prices(seed: int) -> None:
    """L(y) is an upper bound on every feasible allocation, whatever the duals."""
    spec = random_model(seed)
    optimum = brute_force(spec)
    p = Pricing(spec)
    rng = np.random.default_rng(100 + seed)
    for _ in range(5):
        y = rng.normal(scale=2.0, size=p.m)
        assert p.bound(y) >= optimum - 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_restricted_model_keeps_exactly_the_kept_columns(seed: int) -> None:
    """The restricted model's rows are the full rows on the kept columns (scipy's column
    indexing as the reference), and its row bounds carry the fixed columns' activity."""
    spec = uneven_model(seed)
    rng = np.random.default_rng(seed)
    free = rng.random(spec.n_units) < 0.5
    x_fix = np.zeros(spec.n_cols)
    x_fix[np.flatnonzero(np.r_[True, spec.col_unit[1:] != spec.col_unit[:-1]])] = 1.0
    keep_cols = rng.random(spec.n_cols) < 0.7
    sub, cols = spec.restrict(free, x_fix, keep_cols)
    fixed = x_fix.copy()
    fixed[cols] = 0.0
    for b, s in zip(spec.coupling, sub.coupling, strict=True):
        ref = b.A[:, cols].toarray()
        assert np.array_equal(s.A.toarray(), ref)
        assert s.A.has_sorted_indices
        assert np.allclose(s.lower, b.lower - b.A @ fixed)
        assert np.allclose(s.upper, b.upper - b.A @ fixed)


@pytest.mark.parametrize("seed", range(5))
def test_restricted_model_when_only_fixed_units_carry_the_fixed_part(seed: int) -> None:
    """As the column generation calls it — the fixed columns all belong to fixed units, so the
    kept ones are 0 already — the restricted model's rows, bounds and constant are those of the
    reference, and the caller's vector is left as it was."""
    spec = uneven_model(seed)
    rng = np.random.default_rng(100 + seed)
    free = rng.random(spec.n_units) < 0.4
    first = np.flatnonzero(np.r_[True, spec.col_unit[1:] != spec.col_unit[:-1]])
    x_fix = np.zeros(spec.n_cols)
    x_fix[first[~free]] = 1.0
    before = x_fix.copy()
    sub, cols = spec.restrict(free, x_fix)
    assert np.array_equal(x_fix, before)
    assert not x_fix[cols].any()
    for b, s in zip(spec.coupling, sub.coupling, strict=True):
        assert np.array_equal(s.A.toarray(), b.A[:, cols].toarray())
        assert np.array_equal(s.lower, b.lower - b.A @ x_fix)
        assert np.array_equal(s.upper, b.upper - b.A @ x_fix)
    assert sub.obj_offset == pytest.approx(spec.obj_offset + float(spec.obj @ x_fix))


def test_kept_columns_with_empty_rows() -> None:
    """Rows without entries (first, in the middle, last) and rows whose entries are all
    dropped keep their place with no entries; the others are scipy's column selection."""
    import scipy.sparse as sp

    from ruimteverdeling.model.spec import _kept_columns

    dense = np.array([[0, 0, 0, 0, 0, 0],
                      [1, 0, 2, 0, 3, 0],
                      [0, 0, 0, 0, 0, 0],
                      [0, 4, 0, 0, 0, 0],
                      [5, 0, 0, 6, 0, 7],
                      [0, 0, 0, 0, 0, 0]], float)
    A = sp.csr_matrix(dense)
    for keep in (np.array([1, 0, 1, 1, 0, 1], bool), np.array([0, 0, 0, 0, 0, 1], bool),
                 np.zeros(6, bool), np.ones(6, bool)):
        cols = np.flatnonzero(keep)
        out = _kept_columns(A, keep, cols)
        assert out.shape == (6, cols.size)
        assert np.array_equal(out.toarray(), dense[:, cols])
        assert np.array_equal(out.indptr, A[:, cols].tocsr().indptr)


def test_kept_point_is_the_combined_vector() -> None:
    """The rounds keep their best LP point by its parts; rebuilt, it is the vector the fixed
    part and the restricted model's values make (fixed units at 1, restricted columns at
    their values, also where a restricted value overrides a fixed 1 and beyond the columns
    the values cover)."""
    from ruimteverdeling.model.decompose import _Point

    rng = np.random.default_rng(7)
    n = 50
    x_fix = np.zeros(n)
    ones = rng.choice(n, 12, replace=False)
    x_fix[ones] = 1.0
    cols = np.sort(rng.choice(n, 15, replace=False))
    sub_x = rng.random(cols.size + 3)  # auxiliary values after the columns: not used
    reference = x_fix.copy()
    reference[cols] = sub_x[: cols.size]
    point = _Point(n, ones, cols, sub_x)
    sub_x[:] = -1.0  # the point holds its own copies
    cols[:] = 0
    assert np.array_equal(point.full(), reference)


def test_column_generation_frees_each_rounds_solver() -> None:
    """The solver instances of the restricted LPs do not pile up over the rounds (while its
    interrupt callbacks are on, an instance refers to itself and only a cycle collection
    frees it): with the automatic collector off, none is left after the column generation,
    which still reaches the LP optimum."""
    import gc

    import highspy

    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions

    spec = random_model(3)
    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_lp_gap=0.0,
                         mip_rel_gap=0.0, decompose_max_iterations=200)
    z = HighsBackend().lp(spec, opts, 60).objective
    gc.collect()
    # instances alive before (another test's fixture may hold one) are not the rounds'
    before = sum(isinstance(o, highspy.Highs) for o in gc.get_objects())
    was = gc.isenabled()
    gc.disable()
    try:
        res = decompose.lp(spec, opts, HighsBackend(), lambda msg: None,
                           deadline=float("inf"))
        left = sum(isinstance(o, highspy.Highs) for o in gc.get_objects())
    finally:
        if was:
            gc.enable()
    assert res["details"]["iterations"]
    assert left == before
    assert res["converged"]
    assert res["objective"] == pytest.approx(z, rel=1e-7, abs=1e-7)


def test_a_finished_interruptible_solve_frees_its_instance_without_the_cycle_collector(
) -> None:
    """``run_highs`` switches the interrupt callbacks off once the solve has stopped, so the
    instance is freed when its last reference goes, with the automatic collector off; left
    on, the callbacks keep it alive (the control: the test can fail)."""
    import gc
    import weakref

    import highspy

    from ruimteverdeling.model import highs_backend as hb

    def tiny() -> highspy.Highs:
        h = highspy.Highs()
        h.silent()
        h.addVar(0.0, 1.0)
        h.changeColCost(0, -1.0)
        return h

    was = gc.isenabled()
    gc.disable()
    try:
        h = tiny()
        hb.run_highs(h)
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        assert not h.HandleUserInterrupt
        freed = weakref.ref(h)
        del h
        control = tiny()
        control.HandleUserInterrupt = True
        kept = weakref.ref(control)
        del control
        assert freed() is None
        assert kept() is not None
    finally:
        if was:
            gc.enable()
        gc.collect()


def test_an_interrupt_during_the_cancel_leaves_the_solve_cancellable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A second interrupt while ``run_highs`` waits for a cancelled solve to stop leaves the
    instance's interrupt handler on: the solve may still be running, and only that handler
    lets a cancel reach it."""
    import highspy

    from ruimteverdeling.model import highs_backend as hb

    class Interrupted(highspy.Highs):
        def wait(self, timeout: float = -1.0):  # the first interrupt, in the polling loop
            raise KeyboardInterrupt

    def cancel_interrupted(h, thread) -> bool:  # the second, during the grace wait
        raise KeyboardInterrupt

    h = Interrupted()
    h.silent()
    h.addVar(0.0, 1.0)
    h.changeColCost(0, -1.0)
    monkeypatch.setattr(hb, "_cancel", cancel_interrupted)
    with pytest.raises(KeyboardInterrupt):
        hb.run_highs(h)
    assert h.HandleUserInterrupt
    assert highspy.Highs.wait(h)[0]  # the tiny solve ends by itself
    h.HandleUserInterrupt = False


def test_columns_to_add_by_hand() -> None:
    """All violated columns enter when they are fewer than the restricted LP's; else as many
    as it has, up to the ceiling on its size, never fewer than the floor (nor more than are
    violated)."""
    from ruimteverdeling.model.decompose import _columns_to_add

    assert _columns_to_add(500, 1_000, 30, 10_000) == 500
    assert _columns_to_add(5_000, 1_000, 30, 10_000) == 1_000
    assert _columns_to_add(5_000, 10, 30, 10_000) == 30
    assert _columns_to_add(20, 10, 30, 10_000) == 20
    assert _columns_to_add(0, 10, 30, 10_000) == 0
    # the ceiling on the restricted LP's size: it grows to 10,000 columns, no further ...
    assert _columns_to_add(50_000, 8_000, 30, 10_000) == 2_000
    # ... except by the floor
    assert _columns_to_add(50_000, 9_990, 30, 10_000) == 30
    assert _columns_to_add(50_000, 20_000, 30, 10_000) == 30


def test_carry_basis_by_hand() -> None:
    """The last basis is carried when the entered columns are at most a tenth of the
    restricted LP's."""
    from ruimteverdeling.model.decompose import WARM_SHARE, _carry_basis

    assert WARM_SHARE == 0.1
    assert _carry_basis(0, 10)
    assert _carry_basis(100, 1_000)
    assert not _carry_basis(101, 1_000)


@pytest.mark.parametrize("seed", range(8))
def test_column_generation_with_a_small_floor_reaches_the_lp_optimum(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With one column per round as the floor, the rounds take the violated columns in
    proportion to the restricted LP and still end at the LP optimum (HiGHS on the whole
    model), with a Lagrangian bound equal to it; each round after the first starts from
    the basis of the one before (re-fixed units leave it, freed ones join it)."""
    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions

    # every round carries the last basis over, however many columns entered (on these
    # tiny models most rounds take in more than a tenth of their columns)
    monkeypatch.setattr(decompose, "WARM_SHARE", float("inf"))
    spec = random_model(seed)
    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_free_share=0.0,
                         decompose_add=1, decompose_lp_gap=0.0, mip_rel_gap=0.0,
                         decompose_max_iterations=200)
    z = HighsBackend().lp(spec, opts, 60).objective
    res = decompose.lp(spec, opts, HighsBackend(), lambda msg: None, deadline=float("inf"))
    assert res["converged"]
    assert res["objective"] == pytest.approx(z, rel=1e-7, abs=1e-7)
    assert res["bound"] == pytest.approx(z, rel=1e-6, abs=1e-6)
    # every round after the first starts from the last round's basis, carried over
    starts = [it["start_basis"] for it in res["details"]["iterations"]]
    assert starts[0] == "crash" and set(starts[1:]) <= {"given"}


@pytest.mark.parametrize("seed", range(3))
def test_abs_a_times_is_the_dense_product(seed: int) -> None:
    """|A| v against the dense product, for a vector and for a matrix of two columns, and
    A itself left as it was (its values are not made absolute in place)."""
    spec = uneven_model(seed)
    pricing = Pricing(spec)
    dense = dense_rows(spec)
    before = dense.copy()
    rng = np.random.default_rng(seed)
    v = rng.normal(size=spec.n_cols)
    V = rng.normal(size=(spec.n_cols, 2))
    assert np.allclose(pricing.abs_a_times(v), np.abs(dense) @ v)
    assert np.allclose(pricing.abs_a_times(V), np.abs(dense) @ V)
    assert np.array_equal(dense_rows(spec), before)
    assert (dense < 0).any()  # the test would see a lost sign


def test_a_restricted_lp_stopped_by_its_time_limit_gives_no_feasible_point() -> None:
    """A restricted LP that ended by its time limit hands over an iterate that may break
    rows: its point is never taken as one that meets every row (nor as converged), however
    unused its box slacks; its prices still give the bound."""
    from dataclasses import replace as dc_replace

    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions

    class Cut(HighsBackend):
        """HiGHS, but every restricted LP reports its time limit with every column at 0."""

        def lp(self, spec, options, time_limit, basis=None, want_basis=True):  # type: ignore[no-untyped-def]
            out = super().lp(spec, options, time_limit, basis=basis, want_basis=want_basis)
            if any(n.startswith(decompose.ELASTIC) for n in spec.aux_names) and \
                    out.x is not None:
                out = dc_replace(out, status="time_limit", x=np.zeros_like(out.x))
            return out

    spec = random_model(1)
    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_free_share=0.0,
                         decompose_add=1, decompose_lp_gap=0.0, mip_rel_gap=0.0,
                         decompose_max_iterations=4)
    res = decompose.lp(spec, opts, Cut(), lambda msg: None, deadline=float("inf"))
    assert res["details"]["iterations"]
    assert not res["converged"]
    assert all(it.get("objective", -np.inf) == -np.inf for it in res["details"]["iterations"])
    z = HighsBackend().lp(spec, opts, 60).objective
    assert res["bound"] >= z - 1e-7


def _with_status_quo(spec: ModelSpec) -> tuple[ModelSpec, float]:
    """``spec`` with a status quo worth its worst feasible allocation (so that the decision
    value is positive) and its brute-force optimum."""
    from dataclasses import replace as dc_replace

    from tiny_models import feasible_values

    values = [v for _, v in feasible_values(spec)]
    return dc_replace(spec, status_quo_value=min(values) - 1.0), max(values)


@pytest.mark.parametrize("seed", range(10))
def test_a_stop_at_the_tolerance_is_proven_against_the_brute_force_optimum(seed: int) -> None:
    """A column generation that ends at a rounded allocation (``incumbent_stop``): the
    allocation meets every row, is integral, is worth at most the brute-force optimum, the
    bound is at least that optimum, and their decision gap is within the tolerance; its
    auxiliary columns are at their best for its binaries."""
    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions
    from ruimteverdeling.model.outcomes import decision_gap

    spec, optimum = _with_status_quo(random_model(seed))
    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_free_share=0.0,
                         decompose_add=1, decompose_lp_gap=0.0, mip_rel_gap=0.5,
                         decompose_max_iterations=200)
    res = decompose.lp(spec, opts, HighsBackend(), lambda msg: None, deadline=float("inf"),
                       incumbent_stop=True)
    assert res["bound"] >= optimum - 1e-7
    if res["incumbent"] is None:  # (most models stop: the test below counts them)
        assert not res["details"]["stopped_at_tolerance"]
        return
    x, z = res["incumbent"]
    assert res["details"]["stopped_at_tolerance"]
    assert not spec.violations(x)
    assert np.array_equal(x[: spec.n_x], np.round(x[: spec.n_x]))
    assert z == pytest.approx(spec.objective_value(x), abs=1e-9)
    assert z <= optimum + 1e-7
    assert decision_gap(z, res["bound"], spec.status_quo_value) <= opts.mip_rel_gap
    # its auxiliaries are the best for its binaries (the solve then needs no polish)
    from tiny_models import feasible_values
    best_for_x = [v for xb, v in feasible_values(spec) if np.array_equal(xb, x[: spec.n_x])]
    assert best_for_x and z == pytest.approx(best_for_x[0], abs=1e-7)


def test_the_tolerance_stop_happens_on_most_tiny_models() -> None:
    """The stop above is not vacuous: with a loose tolerance most tiny models end at a
    rounded allocation, and without ``incumbent_stop`` none does. The rounds' details stay
    JSON (no numpy scalars that the manifest cannot hold)."""
    from ruimteverdeling import jsonio
    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions

    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_free_share=0.0,
                         decompose_add=1, decompose_lp_gap=0.0, mip_rel_gap=0.5,
                         decompose_max_iterations=200)
    stopped = 0
    for seed in range(10):
        spec, _ = _with_status_quo(random_model(seed))
        res = decompose.lp(spec, opts, HighsBackend(), lambda msg: None,
                           deadline=float("inf"), incumbent_stop=True)
        stopped += res["incumbent"] is not None
        jsonio.dumps(res["details"])  # the run's manifest holds them
        off = decompose.lp(spec, opts, HighsBackend(), lambda msg: None,
                           deadline=float("inf"))
        assert off["incumbent"] is None and not off["details"]["stopped_at_tolerance"]
    assert stopped >= 5


@pytest.mark.parametrize("seed", range(10))
def test_no_stop_when_the_proven_gap_is_open(seed: int) -> None:
    """With a tolerance of 0 the rounds stop at a rounded allocation only when it is worth
    the bound, hence the brute-force optimum; where the LP optimum lies above the integer
    optimum (the bound cannot fall below the LP optimum) they never do, and the rounds end
    at the LP optimum as without the stop."""
    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions

    spec, optimum = _with_status_quo(random_model(seed))
    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_free_share=0.0,
                         decompose_add=1, decompose_lp_gap=0.0, mip_rel_gap=0.0,
                         decompose_max_iterations=200)
    z_lp = HighsBackend().lp(spec, opts, 60).objective
    res = decompose.lp(spec, opts, HighsBackend(), lambda msg: None, deadline=float("inf"),
                       incumbent_stop=True)
    if res["incumbent"] is not None:
        assert res["incumbent"][1] == pytest.approx(optimum, abs=1e-7)
        assert res["bound"] == pytest.approx(optimum, abs=1e-6)
    if z_lp > optimum + 1e-6:
        assert res["incumbent"] is None
        assert res["converged"]
        assert res["objective"] == pytest.approx(z_lp, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_the_solve_through_the_decomposed_path_with_the_tolerance_stop(seed: int) -> None:
    """The whole solve on tiny models forced through column generation: whichever way it
    ends, the allocation is feasible and at most the brute-force optimum, the bound at
    least that optimum, and 'optimal' only with the decision gap within the tolerance."""
    from ruimteverdeling.model.options import SolverOptions
    from ruimteverdeling.model.outcomes import decision_gap
    from ruimteverdeling.model.solve import solve

    spec, optimum = _with_status_quo(random_model(seed))
    opts = SolverOptions(decompose_above=0, decompose_sample=2, decompose_free_min=1,
                         decompose_free_share=0.0, decompose_add=1, decompose_lp_gap=0.0,
                         mip_rel_gap=0.3, decompose_max_iterations=200, time_limit=60)
    sol = solve(spec, opts)
    assert not spec.violations(sol.x)
    assert sol.objective <= optimum + 1e-7
    assert sol.bound >= optimum - 1e-6
    gap = decision_gap(sol.objective, sol.bound, spec.status_quo_value)
    if sol.status == "optimal":
        assert gap <= opts.mip_rel_gap + 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_kept_columns_by_rank_map_are_those_of_the_binary_search(seed: int) -> None:
    """Numbering the kept columns by the map ``cumsum(keep) − 1`` gives the very block the
    binary search in ``cols`` gives (indices, row pointers and values), empty rows included."""
    import scipy.sparse as sp

    from ruimteverdeling.model.spec import _column_ranks, _kept_columns

    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((7, 60)) < 0.3, rng.normal(size=(7, 60)), 0.0)
    dense[[0, 4]] = 0.0
    A = sp.csr_matrix(dense)
    keep = rng.random(60) < 0.5
    cols = np.flatnonzero(keep)
    rank = np.cumsum(keep) - 1
    by_search = _kept_columns(A, keep, cols)
    by_map = _kept_columns(A, keep, cols, rank)
    assert np.array_equal(by_map.indices, by_search.indices)
    assert np.array_equal(by_map.indptr, by_search.indptr)
    assert np.array_equal(by_map.data, by_search.data)
    assert np.array_equal(by_map.toarray(), dense[:, cols])
    assert _column_ranks(keep, cols, A.nnz) is None  # few kept columns: the search
    assert _column_ranks(keep, cols, 0) is None


@pytest.mark.parametrize("seed", range(3))
def test_restricted_model_by_rank_map_is_the_same_model(seed: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A restriction that keeps enough columns for the rank map gives the same rows as one
    by binary search."""
    from ruimteverdeling.model import spec as spec_module

    spec = uneven_model(seed)
    rng = np.random.default_rng(seed)
    free = rng.random(spec.n_units) < 0.6
    x_fix = np.zeros(spec.n_cols)
    searched, cols = spec.restrict(free, x_fix)
    monkeypatch.setattr(spec_module, "RANK_MAP_ABOVE", 0)
    assert spec_module._column_ranks(np.ones(4, bool), np.arange(4), 1) is not None
    mapped, cols2 = spec.restrict(free, x_fix)
    assert np.array_equal(cols, cols2)
    for a, b in zip(searched.coupling, mapped.coupling, strict=True):
        assert np.array_equal(a.A.indices, b.A.indices)
        assert np.array_equal(a.A.indptr, b.A.indptr)
        assert np.array_equal(a.A.data, b.A.data)


@pytest.mark.parametrize("seed", range(5))
def test_sample_shares_are_those_of_the_whole_rows(seed: int) -> None:
    """The sample model's row bounds are the whole model's scaled by
    ``f_r = Σ_{j∈S}|a_rj| / Σ_{j<n_x}|a_rj|``: computed from the sample model's own rows, the
    same numbers (to the last bit) as from |A| of the whole model times the indicators."""
    from ruimteverdeling.model.decompose import _scaled_sample

    spec = uneven_model(seed)
    rng = np.random.default_rng(50 + seed)
    sample = rng.random(spec.n_units) < 0.4
    sub = _scaled_sample(spec, sample)
    in_sample = np.zeros(spec.n_cols)
    in_sample[: spec.n_x] = sample[spec.col_unit]
    x_cols = np.zeros(spec.n_cols)
    x_cols[: spec.n_x] = 1.0
    pricing = Pricing(spec)
    num, den = pricing.abs_a_times(in_sample), pricing.abs_a_times(x_cols)
    dense = np.abs(dense_rows(spec))
    assert np.allclose(num, dense @ in_sample) and np.allclose(den, dense @ x_cols)
    f = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    lower = np.concatenate([b.lower for b in spec.coupling])
    upper = np.concatenate([b.upper for b in spec.coupling])
    with np.errstate(invalid="ignore"):
        want_lo = np.where(f > 0, lower * f, -np.inf)
        want_hi = np.where(f > 0, upper * f, np.inf)
    got_lo = np.concatenate([b.lower for b in sub.coupling])
    got_hi = np.concatenate([b.upper for b in sub.coupling])
    assert np.array_equal(got_lo, want_lo) and np.array_equal(got_hi, want_hi)
    assert (f > 0).any() and (f < 1).any()
    assert sub.n_units == int(sample.sum())


@pytest.mark.parametrize("seed", range(10))
def test_rounding_in_place_gives_the_same_rounds_and_allocation(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rounding assembles its allocation in the rounds' fixed vector instead of a copy:
    the same rounds, bound and allocation as with the copy (a failed rounding leaves nothing
    behind that a later round or the LP point would see), and an allocation comes back
    without an LP point."""
    from ruimteverdeling.model import decompose
    from ruimteverdeling.model.highs_backend import HighsBackend
    from ruimteverdeling.model.options import SolverOptions

    spec, _ = _with_status_quo(random_model(seed))
    opts = SolverOptions(decompose_sample=2, decompose_free_min=1, decompose_free_share=0.0,
                         decompose_add=1, decompose_lp_gap=0.0, mip_rel_gap=0.5,
                         decompose_max_iterations=200)

    def run() -> dict:
        return decompose.lp(spec, opts, HighsBackend(), lambda msg: None,
                            deadline=float("inf"), incumbent_stop=True)

    in_place = run()
    original = decompose.integer_point
    monkeypatch.setattr(decompose, "integer_point",
                        lambda *a, **k: original(*a, **{**k, "in_place": False}))
    copied = run()
    assert in_place["bound"] == copied["bound"]
    assert [i.get("objective") for i in in_place["details"]["iterations"]] == \
        [i.get("objective") for i in copied["details"]["iterations"]]
    assert (in_place["incumbent"] is None) == (copied["incumbent"] is None)
    if in_place["incumbent"] is None:
        assert np.array_equal(in_place["x"], copied["x"])
        assert in_place["objective"] == copied["objective"]
        return
    assert np.array_equal(in_place["incumbent"][0], copied["incumbent"][0])
    assert in_place["incumbent"][1] == copied["incumbent"][1]
    assert in_place["x"] is None and in_place["objective"] is None


@pytest.mark.parametrize("seed", range(5))
def test_passes_by_stretches_of_columns_are_the_whole_passes(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unit's best columns and the violated columns, found a few columns at a time
    (stretches that cut units apart), are those of one pass over every column."""
    from ruimteverdeling.model import decompose

    spec = uneven_model(seed)
    rng = np.random.default_rng(seed)
    p = Pricing(spec)
    r = np.round(p.reduced(rng.normal(size=p.m)), 0)  # ties
    whole = p.best(r)
    pi = rng.normal(size=spec.n_units)
    active = rng.random(spec.n_x) < 0.3
    tol = 0.1
    viol = r[: spec.n_x] - pi[spec.col_unit]
    want_idx = np.flatnonzero((viol > tol) & ~active)
    monkeypatch.setattr(decompose, "CHUNK", 7)
    for got, want in zip(p.best(r), whole, strict=True):
        assert np.array_equal(got, want)
    idx, val = decompose._violated(r, pi, spec.col_unit, active, tol)
    assert np.array_equal(idx, want_idx)
    assert np.array_equal(val, viol[want_idx])
    assert want_idx.size and p.consecutive


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 21])
def test_near_best_columns_stretch_by_stretch_are_those_of_the_whole_vectors(
        seed: int, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The columns within δ of their unit's best reduced cost among the free units, taken a
    stretch of columns at a time (stretches cutting through units), are exactly those of
    the comparison against every column's unit best at once, ties included."""
    from ruimteverdeling.model import decompose

    monkeypatch.setattr(decompose, "CHUNK", chunk)
    spec = uneven_model(seed)
    p = Pricing(spec)
    rng = np.random.default_rng(seed)
    r = np.round(p.reduced(rng.normal(size=p.m)), 0)  # ties at the threshold
    best = p.best(r)[0]
    free = rng.random(spec.n_units) < 0.6
    for delta in (0.0, 1.0, np.inf):
        got = decompose._near_best(p, r, best, delta, free)
        want = (r[: spec.n_x] >= np.repeat(best, p.sizes) - delta) & free[spec.col_unit]
        assert got.dtype == bool and np.array_equal(got, want)


def test_typical_coefficients_are_the_medians_and_leave_the_rows_as_they_were() -> None:
    """Each row's median |a_rj| over its x columns (auxiliary columns left out, 1 for a row
    without x entries), computed in a copy: the model's coefficients are not touched."""
    from ruimteverdeling.model.decompose import _typical_coefficients

    for seed in range(5):
        spec = uneven_model(seed)
        before = [b.A.data.copy() for b in spec.coupling]
        got = _typical_coefficients(Pricing(spec))
        want = []
        for b in spec.coupling:
            dense = b.A.toarray()[:, : spec.n_x]
            for row in range(b.n_rows):
                vals = np.abs(dense[row][dense[row] != 0])
                want.append(float(np.median(vals)) if vals.size else 1.0)
        assert np.array_equal(got, np.asarray(want))
        assert all(np.array_equal(b.A.data, d) for b, d in zip(spec.coupling, before,
                                                               strict=True))


def _with_free_level(seed: int) -> ModelSpec:
    """``uneven_model`` with an unbounded level column ``v ≥ Σ_j a_j x_j`` (cost 1): prices
    that give ``v`` a positive reduced cost make L(y) infinite unless they are moved."""
    rng = np.random.default_rng(seed)
    b, n = _uneven_units(rng, 30)
    cols = np.flatnonzero(rng.random(n) < 0.5)
    b.add_block("share", "target", np.zeros(cols.size, int), cols, np.ones(cols.size), 1,
                np.array([2.0]), np.array([np.inf]))
    v = b.add_aux("level", 0.0, np.inf)
    b.add_block("level", "rule", np.r_[np.zeros(n, int), 0], np.r_[np.arange(n), v],
                np.r_[rng.uniform(0.5, 2.0, n), -1.0], 1, np.array([-np.inf]),
                np.array([0.0]))
    b.add_term("level", "cost", 1.0, aux={v: 1.0})
    return b.build()


@pytest.mark.parametrize("seed", range(5))
def test_bound_with_moved_prices_in_the_given_reduced_costs_is_the_bound_without_them(
        seed: int) -> None:
    """Where the prices must be moved to keep L(y) finite, the bound computed in the given
    reduced costs is the bound from a fresh vector, bit for bit, and those reduced costs
    are the ones at ``y`` again afterwards."""
    spec = _with_free_level(seed)
    p = Pricing(spec)
    rng = np.random.default_rng(seed)
    moved = 0
    for _ in range(10):
        y = p.clamp(rng.normal(scale=2.0, size=p.m))
        r = p.reduced(y)
        want_r = r.copy()
        moved += not np.array_equal(p.dual_feasible(y), y)
        assert p.bound(y, r) == p.bound(y)
        assert np.isfinite(p.bound(y))
        assert np.array_equal(r, want_r)
    assert moved  # the case under test happened


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1 << 21])
def test_assignment_activity_by_stretches_is_the_count_over_every_column(
        chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The assignment rows' activity taken over stretches cut at unit boundaries is the sum
    over every column at once, bit for bit (fractional values, units of one to five
    columns, stretches shorter than a unit included); columns not sorted by unit are summed
    at once."""
    from ruimteverdeling.model import spec as spec_module

    monkeypatch.setattr(spec_module, "ACTIVITY_CHUNK", chunk)
    for seed in range(5):
        model = uneven_model(seed)
        x = np.random.default_rng(seed).random(model.n_cols) / 3.0
        want = np.bincount(model.col_unit, weights=x[: model.n_x], minlength=model.n_units)
        assert np.array_equal(model.assign.activity(x), want)
        shuffled = spec_module.AssignBlock(model.col_unit[::-1].copy(), model.n_units,
                                           model.n_cols)
        assert np.allclose(shuffled.activity(x), np.bincount(
            model.col_unit[::-1], weights=x[: model.n_x], minlength=model.n_units),
                           rtol=0, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, 1 << 21])
def test_unit_values_taken_off_stretch_by_stretch_are_the_repeated_vector(
        chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``r_j − v_{unit(j)}`` in place a stretch at a time is the subtraction of the repeated
    vector, bit for bit; the auxiliary columns are left alone."""
    from ruimteverdeling.model import decompose

    monkeypatch.setattr(decompose, "CHUNK", chunk)
    for seed in range(5):
        spec = uneven_model(seed)
        p = Pricing(spec)
        rng = np.random.default_rng(seed)
        r = p.reduced(rng.normal(size=p.m))
        v = rng.normal(size=spec.n_units)
        want = r.copy()
        want[: spec.n_x] -= np.repeat(v, p.sizes)
        p.less_unit_values(r, v)
        assert np.array_equal(r, want)
