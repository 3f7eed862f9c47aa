"""Whether a second core looks free for work beside the solve.

The solve can run a sub-MIP in a worker thread while its main thread solves LPs that do not
need the sub-MIP's answer (:func:`ruimteverdeling.model.highs_backend.beside`). Both orders
give the same result, bit for bit; only the time differs. With a core free it saves seconds
(the demo area's solve from about 11 s to about 9 s); on a machine whose cores are all taken
(a batch run with one worker per core, a test suite in parallel) the two threads take turns
on one core and the solve is slower than in sequence. So the solve measures first.

:class:`IdleMeter` reads the idle time of the cores this process may run on from
``/proc/stat`` (Linux) when it is made and again when asked, and counts the idle cores over
that interval:

    idle cores = Σ_{c ∈ allowed cores} Δ(idle_c + iowait_c) / (Δt · CLK_TCK) + s_own / Δt

(``s_own``: CPU seconds the solve itself spent meanwhile in a thread of its own beside the
measured one, :meth:`IdleMeter.credit`.)

While the solve's main thread computes (the root LP), an otherwise idle two-core machine has
about one idle core; with another busy process, about none. A second core counts as free when
at least :data:`MIN_IDLE_CORES` were idle. Where the interval is too short to judge or
``/proc/stat`` cannot be read, the one-minute load average decides (free when it lies below
the number of allowed cores minus :data:`MIN_IDLE_CORES`); without that, the core count.
The environment variable :data:`ENV` (``1`` or ``0``) overrides the measurement.
"""
from __future__ import annotations

import os
import time

ENV = "RUIMTEVERDELING_BESIDE"
"""``1``: always run the work beside in a thread; ``0``: never; unset: measure."""
MIN_IDLE_CORES = 0.5
"""Idle cores (averaged over the interval measured) from which a second core counts as free."""
STAT = "/proc/stat"
"""Where the kernel reports each core's clock ticks by state."""
MIN_INTERVAL = 0.25
"""Seconds below which the interval measured is too short to judge (the clock ticks are
1/100 s); the load average decides instead."""


def allowed_cores() -> set[int]:
    """The cores this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (not on Linux)
        return set(range(os.cpu_count() or 1))


def _idle_ticks(cores: set[int]) -> int | None:
    """Σ idle + iowait clock ticks of ``cores`` since boot, from ``/proc/stat``; None when it
    cannot be read."""
    try:
        with open(STAT, encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except (OSError, ValueError):  # (ValueError: bytes that are not ASCII text)
        return None
    total, seen = 0, 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        try:
            core = int(name[3:])
            fields = [int(f) for f in rest.split()]
        except ValueError:
            return None
        if core in cores and len(fields) >= 5:
            total += fields[3] + fields[4]
            seen += 1
    return total if seen == len(cores) else None


class IdleMeter:
    """The idle cores of this process's allowed cores from the moment it is made."""

    def __init__(self) -> None:
        self.cores = allowed_cores()
        self.t0 = time.monotonic()
        self.ticks0 = _idle_ticks(self.cores)
        self.own = 0.0  # see :meth:`credit`

    def credit(self, seconds: float) -> None:
        """Count ``seconds`` of CPU this process spent in a thread of its own during the
        interval as idle: that work is the solve's, not another process's load."""
        self.own += max(0.0, float(seconds))

    def idle_cores(self) -> float | None:
        """Idle cores averaged over the interval since the meter was made; None when it
        is too short or ``/proc/stat`` cannot be read."""
        dt = time.monotonic() - self.t0
        ticks = _idle_ticks(self.cores)
        if self.ticks0 is None or ticks is None or dt < MIN_INTERVAL:
            return None
        try:
            hz = os.sysconf("SC_CLK_TCK")
        except (AttributeError, ValueError, OSError):
            hz = 100
        return max(0.0, (ticks - self.ticks0) / (dt * hz) + self.own / dt)

    def spare(self) -> tuple[bool, str]:
        """Whether a second core counts as free, and what decided it (for the record)."""
        forced = os.environ.get(ENV, "").strip().lower()
        if forced in ("1", "0"):
            return forced == "1", f"{ENV}={forced}"
        n = len(self.cores)
        if n < 2:
            return False, f"{n} core"
        idle = self.idle_cores()
        if idle is not None:
            return idle >= MIN_IDLE_CORES, f"{idle:.2f} of {n} cores idle"
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return True, f"{n} cores"
        return load < n - MIN_IDLE_CORES, f"load average {load:.2f} on {n} cores"
