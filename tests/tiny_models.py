"""Tiny random models (four units, three uses) and their enumeration, for brute-force tests."""

from __future__ import annotations

import itertools

import numpy as np

from ruimteverdeling.model.spec import ModelSpec, SpecBuilder

UNITS, USES = 4, 3
COEFS = np.array([0.0, 1.0, 2.5, 3.75, 6.25, 6.4375])


def random_model(seed: int) -> ModelSpec:
    """A random model that the allocation ``x0`` satisfies (so it is feasible); the bounds
    sit at or just inside ``x0``'s activity, where rounding matters."""
    rng = np.random.default_rng(seed)
    col_unit = np.repeat(np.arange(UNITS), USES)
    col_use = np.tile(np.arange(USES), UNITS)
    b = SpecBuilder(col_unit, col_use, np.arange(UNITS))
    n = col_unit.size
    x0 = np.zeros(n)
    x0[np.arange(UNITS) * USES + rng.integers(0, USES, UNITS)] = 1.0
    b.add_term("value", "benefit", 1.0, rng.uniform(0, 3, n))
    for k in range(int(rng.integers(1, 4))):  # covering rows, some soft
        a = rng.choice(COEFS, n)
        soft = rng.random() < 0.5
        lo = float(a @ x0 * rng.uniform(0.5, 1.0) if not soft else
                   rng.uniform(0.2, 0.9) * a.sum() / USES)
        rows, cols, vals = [np.zeros(n, int)], [np.arange(n)], [a]
        if soft:
            j = b.add_aux(f"shortfall:{k}", 0.0, np.inf)
            rows.append(np.array([0]))
            cols.append(np.array([j]))
            vals.append(np.array([1.0]))
            b.add_term(f"penalty:{k}", "cost", 1.0, aux={j: float(rng.uniform(0.1, 2.0))})
        b.add_block(f"cover:{k}", "target", np.concatenate(rows), np.concatenate(cols),
                    np.concatenate(vals), 1, np.array([lo]), np.array([np.inf]))
    a = rng.choice(COEFS, n)  # a capacity row
    b.add_block("cap", "rule", np.zeros(n, int), np.arange(n), a, 1, np.array([-np.inf]),
                np.array([float(a @ x0 + rng.uniform(0.0, 3.0))]))
    a = rng.choice(COEFS, n) * rng.choice([-1.0, 1.0], n)  # mixed signs, both sides
    b.add_block("mixed", "rule", np.zeros(n, int), np.arange(n), a, 1,
                np.array([float(a @ x0 - rng.uniform(0.0, 3.0))]),
                np.array([float(a @ x0 + rng.uniform(0.0, 3.0))]))
    # a minimax level: units 0-1 in region 0, units 2-3 in region 1
    _minimax_level(b, col_unit, rng.choice(COEFS, n), rng, (1.0, 30.0))
    return b.build()


def regions_only(seed: int) -> ModelSpec:
    """Four units, three uses, a value per column and a minimax level over two regions only:
    the whole-cell knapsacks are then the whole model."""
    rng = np.random.default_rng(seed)
    col_unit = np.repeat(np.arange(UNITS), USES)
    n = col_unit.size
    b = SpecBuilder(col_unit, np.tile(np.arange(USES), UNITS), np.arange(UNITS))
    b.add_term("value", "benefit", 1.0, rng.uniform(0, 30, n))
    load = rng.choice(np.array([0.0, 1.0, 2.5, 3.75, 6.25, 6.4375]), n)
    _minimax_level(b, col_unit, load, rng, (10.0, 300.0))
    return b.build()


def _minimax_level(b: SpecBuilder, col_unit: np.ndarray, load: np.ndarray,
                   rng: np.random.Generator, weight: tuple[float, float]) -> None:
    """A minimax level v ≥ Σ load·x / area per region (units 0-1 region 0, units 2-3 region 1),
    costed at a random weight drawn from ``weight``."""
    n = col_unit.size
    region = (col_unit >= 2).astype(int)
    v = b.add_aux("level", 0.0, np.inf)
    area = rng.uniform(5.0, 20.0, 2)
    b.add_block("fair", "rule", np.r_[region, 0, 1], np.r_[np.arange(n), v, v],
                np.r_[load, -area], 2, np.full(2, -np.inf), np.zeros(2))
    b.add_term("fairness", "cost", 1.0, aux={v: float(rng.uniform(*weight))})


def allocations(spec: ModelSpec):
    for choice in itertools.product(range(USES), repeat=UNITS):
        x = np.zeros(spec.n_x)
        x[np.arange(UNITS) * USES + np.array(choice)] = 1.0
        yield x


def aux_intervals(spec: ModelSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Feasible [low, high] of every auxiliary column for the binaries ``x`` (None when no
    value makes a row hold); every row holds at most one auxiliary."""
    low, high = spec.aux_lb.copy(), spec.aux_ub.copy()
    for b in spec.coupling:
        A = b.A.toarray()
        for r in range(b.n_rows):
            act = A[r, : spec.n_x] @ x
            aux = np.flatnonzero(A[r, spec.n_x:])
            assert aux.size <= 1
            if not aux.size:
                if act < b.lower[r] - 1e-9 or act > b.upper[r] + 1e-9:
                    return None
                continue
            k, g = aux[0], A[r, spec.n_x + aux[0]]
            lo_s, hi_s = (b.lower[r] - act) / g, (b.upper[r] - act) / g
            if g < 0:
                lo_s, hi_s = hi_s, lo_s
            low[k], high[k] = max(low[k], lo_s), min(high[k], hi_s)
    if np.any(low > high + 1e-9):
        return None
    return low, high


def feasible_values(spec: ModelSpec):
    """Every feasible allocation ``x`` of a tiny model with its best objective value (each
    auxiliary at the end of its feasible interval that its objective coefficient prefers)."""
    c_aux = spec.obj[spec.n_x:]
    for x in allocations(spec):
        iv = aux_intervals(spec, x)
        if iv is None:
            continue
        low, high = iv
        s = np.where(c_aux > 0, high, low)  # maximise: each auxiliary at its best end
        if np.all(np.isfinite(s)):
            yield x, float(spec.obj[: spec.n_x] @ x + c_aux @ s + spec.obj_offset)


def brute_force(spec: ModelSpec) -> float:
    return max((value for _, value in feasible_values(spec)), default=-np.inf)
