"""The compiled model does not change when the compile is made faster.

``compile_identity.json`` holds a fingerprint of the model that ``scenarios/base.yaml``
compiles to on the demo area: every column, bound, objective coefficient and row of the
``ModelSpec`` and the allowed (cell, use) pairs. Integer arrays (columns, units, pinned
cells, the rows' sparsity pattern) must be identical; float arrays (objective, bounds,
coefficients) must agree to 1e-12 of their magnitude in three summaries: the sum, the sum of
absolute values and a sum with fixed pseudo-random weights, which any changed coefficient
moves. A deliberate change of the model (a new rule, a changed formulation) regenerates the
file from the new code:

    PYTHONPATH=src python tests/test_compile_identity.py --write
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "compile_identity.json"
SCENARIO = HERE.parent / "scenarios" / "base.yaml"
REL = 1e-12


def _ints(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(np.asarray(a).astype(np.int64))
    return {"n": int(a.size), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}


def _weights(n: int) -> np.ndarray:
    """Fixed pseudo-random weights in [0, 1) (a multiplicative hash of the position; the same
    on every platform and numpy version)."""
    k = np.arange(n, dtype=np.uint64)
    return ((k * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2**32)) / 2.0**32


def _floats(a: np.ndarray | None) -> dict[str, Any] | None:
    if a is None:
        return None
    a = np.asarray(a, float).ravel()
    pos, neg = np.isposinf(a), np.isneginf(a)
    fin = np.where(pos | neg, 0.0, a)
    return {"n": int(a.size), "posinf": _ints(np.flatnonzero(pos))["sha256"],
            "neginf": _ints(np.flatnonzero(neg))["sha256"], "nan": int(np.isnan(a).sum()),
            "sum": float(np.nansum(fin)), "abs": float(np.nansum(np.abs(fin))),
            "dot": float(np.nansum(fin * _weights(a.size)))}


def fingerprint(cm: Any) -> dict[str, Any]:
    """The fingerprint of a compiled model (see the module docstring)."""
    spec = cm.spec
    blocks = []
    for b in spec.coupling:
        A = b.A.tocsr(copy=True)
        A.sum_duplicates()
        A.sort_indices()
        blocks.append({"name": b.name, "kind": b.kind, "shape": list(A.shape),
                       "labels": list(b.labels) if b.labels is not None else None,
                       "ref": b.ref, "indptr": _ints(A.indptr), "indices": _ints(A.indices),
                       "data": _floats(A.data), "lower": _floats(b.lower),
                       "upper": _floats(b.upper)})
    terms = [{"name": t.name, "sense": t.sense, "weight": t.weight, "constant": t.constant,
              "unit": t.unit, "coef": _floats(t.coef)} for t in spec.terms]
    return {
        "n_x": int(spec.n_x), "n_cols": int(spec.n_cols), "n_rows": int(spec.n_rows),
        "col_unit": _ints(spec.col_unit), "col_use": _ints(spec.col_use),
        "unit_cells": _ints(spec.unit_cells), "aux_names": list(spec.aux_names),
        "aux_lb": _floats(spec.aux_lb), "aux_ub": _floats(spec.aux_ub),
        "aux_integral": None if spec.aux_integral is None else _ints(spec.aux_integral),
        "obj": _floats(spec.obj), "obj_offset": float(spec.obj_offset),
        "status_quo_value": spec.status_quo_value,
        "allowed": _ints(cm.ctx.allowed), "unit_land": _ints(cm.unit_land),
        "pinned_land": _ints(cm.pinned_land), "pinned_use_idx": _ints(cm.pinned_use_idx),
        "blocks": blocks, "terms": terms,
    }


def _compare(got: Any, want: Any, where: str, out: list[str]) -> None:
    if isinstance(want, dict) and {"sum", "abs", "dot"} <= set(want):
        if not isinstance(got, dict):
            out.append(f"{where}: {got!r} instead of an array")
            return
        scale = REL * max(want["abs"], 1e-300)
        for k in ("n", "posinf", "neginf", "nan"):
            if got[k] != want[k]:
                out.append(f"{where}.{k}: {got[k]!r} != {want[k]!r}")
        for k in ("sum", "abs", "dot"):
            if abs(got[k] - want[k]) > scale:
                out.append(f"{where}.{k}: {got[k]!r} != {want[k]!r}")
    elif isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            out.append(f"{where}: keys {sorted(got) if isinstance(got, dict) else got!r} != "
                       f"{sorted(want)}")
            return
        for k in want:
            _compare(got[k], want[k], f"{where}.{k}", out)
    elif isinstance(want, list) and want and isinstance(want[0], dict):
        if not isinstance(got, list) or len(got) != len(want):
            out.append(f"{where}: {len(got) if isinstance(got, list) else got!r} items != "
                       f"{len(want)}")
            return
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, f"{where}[{w.get('name', i)}]", out)
    elif isinstance(want, float) and isinstance(got, float):
        if abs(got - want) > REL * max(abs(want), 1.0):
            out.append(f"{where}: {got!r} != {want!r}")
    elif got != want:
        out.append(f"{where}: {got!r} != {want!r}")


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Where two fingerprints differ (empty when they match)."""
    out: list[str] = []
    _compare(got, want, "model", out)
    return out


def _compile(area: Path) -> Any:
    from ruimteverdeling import pipeline

    return pipeline.compile_scenario(SCENARIO, area=area)


def test_compiled_model_unchanged(demo_area: Path) -> None:
    want = json.loads(GOLDEN.read_text())
    diffs = differences(fingerprint(_compile(demo_area)), want)
    assert not diffs, "the compiled model changed:\n" + "\n".join(diffs[:20])


def test_fingerprint_sees_a_changed_coefficient(demo_area: Path) -> None:
    """The comparison can fail: one objective coefficient moved by a thousandth, one row
    bound, one column of a row."""
    cm = _compile(demo_area)
    base = fingerprint(cm)
    cm.spec.obj[cm.spec.n_x // 2] += 1e-3
    assert any(d.startswith("model.obj.") for d in differences(fingerprint(cm), base))
    cm.spec.obj[cm.spec.n_x // 2] -= 1e-3
    block = next(b for b in cm.spec.coupling if np.isfinite(b.lower).any())
    r = int(np.flatnonzero(np.isfinite(block.lower))[0])
    block.lower[r] += 1.0
    assert any(".lower." in d for d in differences(fingerprint(cm), base))
    block.lower[r] -= 1.0
    A = block.A.tocsr()
    if A.nnz:
        A.indices[0] = (A.indices[0] + 1) % A.shape[1]
        block.A = A
        assert any(".indices." in d for d in differences(fingerprint(cm), base))


def test_reusing_freed_memory_nests_and_restores() -> None:
    """Inside the block numpy asks no huge pages; nested blocks keep that until the outermost
    leaves, which puts numpy's setting back."""
    from ruimteverdeling import heap

    switch = heap._hugepage_switch()
    if switch is None:
        return  # a numpy without the switch: the block changes nothing there
    before = bool(switch(True))
    try:
        with heap.reusing_freed_memory():
            assert heap.settings_inside() and switch(False) is False
            with heap.reusing_freed_memory():
                assert switch(False) is False
            assert heap.settings_inside() and switch(False) is False
        assert not heap.settings_inside()
        assert switch(True) is True  # restored to what it was before the block
    finally:
        switch(before)



def test_reusing_freed_memory_in_a_forked_child() -> None:
    """A child forked while another thread is inside a block keeps only the forking thread's
    block: leaving that one puts the settings back there (the other thread's block never
    leaves in the child), while the parent keeps them until the other thread leaves too."""
    import threading
    import warnings

    from ruimteverdeling import heap

    if not hasattr(os, "fork"):
        return
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with heap.reusing_freed_memory():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    try:
        assert entered.wait(10)
        with heap.reusing_freed_memory():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
                pid = os.fork()
            inside_at_fork = heap.settings_inside()
        if pid == 0:  # the child reports by its exit code only, never returns to pytest
            ok = False
            try:
                with heap.reusing_freed_memory():  # the lock is usable in the child
                    again = heap.settings_inside()
                ok = inside_at_fork and again and not heap.settings_inside()
            finally:
                os._exit(0 if ok else 1)
        assert heap.settings_inside()  # the other thread's block still runs here
    finally:
        release.set()
        t.join(10)
    _, code = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(code) == 0
    assert not heap.settings_inside()


if __name__ == "__main__":  # regenerate the fingerprint from the current code
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_compile_identity.py --write")
    import tempfile

    from ruimteverdeling import api
    from ruimteverdeling.synthetic import make_area

    with tempfile.TemporaryDirectory() as tmp:
        area = make_area(Path(tmp), cells=api.DEMO_CELLS, resolution=api.DEMO_RESOLUTION,
                         seed=api.DEMO_SEED)
        GOLDEN.write_text(json.dumps(fingerprint(_compile(area)), indent=1) + "\n")
    print(f"wrote {GOLDEN}")
