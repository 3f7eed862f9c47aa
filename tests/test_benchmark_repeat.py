"""The small-area benchmark's repeated runs: the row shown is the median run, with the range,
and a run that ends with another answer (or fails) is flagged."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "small.py"


def _small():
    spec = importlib.util.spec_from_file_location("bench_small", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(seconds: float | None, objective: float = 10.0, status: str = "optimal") -> dict:
    return {"case": "demo", "status": status, "seconds": seconds, "objective": objective,
            "bound": 10.5, "method": "lp"}


def test_the_row_is_the_median_run_with_the_range_of_all():
    small = _small()
    row = small.median_run([_run(9.8), _run(12.4), _run(9.1), _run(10.2), _run(11.0)])
    assert row["seconds"] == 10.2
    assert row["range"] == (9.1, 12.4)
    assert row["every_seconds"] == [9.8, 12.4, 9.1, 10.2, 11.0]
    assert row["runs"] == 5 and row["same"] is True
    cells = small.fmt(row)
    assert cells[-3:] == ["5", "9.1–12.4", "yes"]


def test_an_even_count_takes_the_lower_middle_run():
    small = _small()
    assert small.median_run([_run(4.0), _run(1.0), _run(3.0), _run(2.0)])["seconds"] == 2.0


def test_another_answer_or_a_failed_run_is_flagged():
    small = _small()
    assert small.median_run([_run(1.0), _run(2.0, objective=10.1)])["same"] is False
    failed = {"case": "demo", "status": "failed: boom", "method": "engine"}
    row = small.median_run([_run(1.0), failed, _run(3.0)])
    assert row["same"] is False and row["range"] == (1.0, 3.0) and row["runs"] == 3
    only_failed = small.median_run([failed])
    assert only_failed["range"] is None and small.fmt(only_failed)[-2:] == ["-", "NO"]


def test_a_single_run_keeps_the_plain_row():
    small = _small()
    assert len(small.fmt(_run(1.0))) == len(small.HEADER)
