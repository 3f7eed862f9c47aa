"""Whether a second core counts as free for the work the solve runs beside its main thread."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ruimteverdeling.model import cores


def _stat(path: Path, idle: list[int], iowait: list[int]) -> None:
    lines = [f"cpu  10 0 10 {sum(idle)} {sum(iowait)} 0 0 0 0 0"]
    lines += [f"cpu{i} 5 0 5 {a} {b} 0 0 0 0 0"
              for i, (a, b) in enumerate(zip(idle, iowait, strict=True))]
    path.write_text("\n".join([*lines, "intr 1 2 3", "ctxt 9"]) + "\n", encoding="ascii")


@pytest.fixture
def two_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    stat = tmp_path / "stat"
    monkeypatch.setattr(cores, "STAT", str(stat))
    monkeypatch.setattr(cores, "allowed_cores", lambda: {0, 1})
    monkeypatch.delenv(cores.ENV, raising=False)
    _stat(stat, [1000, 2000], [10, 20])
    return stat


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The meter's clock, set by the test (a real one moves on while the test runs: under a
    loaded machine a few milliseconds, enough to miss an exact ratio)."""
    now = [1000.0]
    monkeypatch.setattr(cores, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


@pytest.mark.parametrize(("idle_ticks", "iowait_ticks", "spare"),
                         [(80, 0, True), (30, 30, True), (10, 5, False), (0, 0, False)])
def test_idle_cores_count_the_idle_and_iowait_ticks_of_the_allowed_cores(
        two_cores: Path, clock: list[float], idle_ticks: int, iowait_ticks: int,
        spare: bool) -> None:
    """Idle cores = Σ Δ(idle + iowait) / (Δt · CLK_TCK): over 1 s at 100 ticks a second,
    80 idle ticks are 0.8 idle cores, a second core free; 15 are 0.15, none free."""
    meter = cores.IdleMeter()
    clock[0] += 1.0  # one second measured
    _stat(two_cores, [1000 + idle_ticks, 2000], [10, 20 + iowait_ticks])
    hz = 100
    got = meter.idle_cores()
    assert got is not None
    want = (idle_ticks + iowait_ticks) / hz
    if cores.os.sysconf("SC_CLK_TCK") == hz:
        assert got == pytest.approx(want, rel=1e-12)
    assert meter.spare()[0] is spare


def test_the_solves_own_work_beside_counts_as_idle(two_cores: Path, clock: list[float]
                                                   ) -> None:
    """CPU seconds the solve spent in a thread of its own (credited) count as idle: over
    1 s, 10 idle ticks and 0.5 s of its own work are 0.6 idle cores, a second core free;
    without the credit, 0.1, none."""
    meter = cores.IdleMeter()
    clock[0] += 1.0
    _stat(two_cores, [1000 + 10, 2000], [10, 20])
    assert meter.spare()[0] is False
    meter.credit(0.5)
    meter.credit(-1.0)  # (nothing negative)
    got = meter.idle_cores()
    assert got is not None
    if cores.os.sysconf("SC_CLK_TCK") == 100:
        assert got == pytest.approx(0.6, rel=1e-12)
    assert meter.spare()[0] is True


def test_a_core_outside_the_allowed_ones_is_not_counted(two_cores: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores, "allowed_cores", lambda: {1})
    meter = cores.IdleMeter()
    meter.t0 -= 1.0
    _stat(two_cores, [1000 + 90, 2000], [10, 20])  # only the core not allowed was idle
    assert meter.idle_cores() == 0.0
    assert meter.spare() == (False, "1 core")  # one core: never a second one free


def test_a_short_interval_or_an_unreadable_stat_leaves_it_to_the_load_average(
        two_cores: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meter = cores.IdleMeter()
    assert meter.idle_cores() is None  # (far below MIN_INTERVAL)
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (0.4, 0.0, 0.0))
    assert meter.spare() == (True, "load average 0.40 on 2 cores")
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (1.6, 0.0, 0.0))
    assert meter.spare() == (False, "load average 1.60 on 2 cores")
    meter.t0 -= 1.0
    two_cores.write_text("cpu0 1 2\n", encoding="ascii")  # no usable line per allowed core
    assert meter.idle_cores() is None
    two_cores.unlink()
    assert meter.idle_cores() is None
    assert not meter.spare()[0]


@pytest.mark.parametrize("value", ["1", "0"])
def test_the_environment_overrides_the_measurement(two_cores: Path, value: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cores.ENV, value)
    meter = cores.IdleMeter()
    meter.t0 -= 1.0
    _stat(two_cores, [1000, 2000], [10, 20])  # nothing idle: no core free by measurement
    assert meter.spare() == (value == "1", f"{cores.ENV}={value}")


def test_the_real_meter_gives_a_share_of_the_allowed_cores() -> None:
    """On this machine (Linux): a count between 0 and the allowed cores, or None where
    ``/proc/stat`` is missing."""
    import time

    meter = cores.IdleMeter()
    end = time.monotonic() + cores.MIN_INTERVAL + 0.05
    while time.monotonic() < end:  # (busy: this thread takes one core)
        pass
    got = meter.idle_cores()
    if Path(cores.STAT).exists():
        assert got is not None
        assert 0.0 <= got <= len(cores.allowed_cores()) + 0.1  # (tick rounding)


def test_a_stat_file_that_is_not_text_leaves_it_to_the_load_average(
        two_cores: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``/proc/stat`` whose bytes are not ASCII (a damaged or foreign file) reads as
    unreadable: the meter is made and decides by the load average, it never raises."""
    two_cores.write_bytes(b"cpu0 \xff\xfe 1 2 3 4\n")
    meter = cores.IdleMeter()
    meter.t0 -= 1.0
    assert meter.idle_cores() is None
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (0.4, 0.0, 0.0))
    assert meter.spare() == (True, "load average 0.40 on 2 cores")
