"""The heap's free memory handed back to the system inside a block that otherwise keeps it."""

from __future__ import annotations

import numpy as np
import pytest

from ruimteverdeling import heap


def _resident_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_release_freed_gives_back_what_the_block_kept() -> None:
    """Inside :func:`heap.reusing_freed_memory` a freed 256 MB array stays resident (kept for
    the next array); :func:`heap.release_freed` returns it, and the block's settings stay."""
    if heap._LIBC is None:
        assert heap.release_freed() is False
        pytest.skip("not glibc: nothing is kept, nothing to release")
    try:
        _resident_mb()
    except OSError:
        pytest.skip("no /proc/self/status")
    with heap.reusing_freed_memory():
        heap.release_freed()
        before = _resident_mb()
        a = np.ones(32 * 1024 * 1024)  # 256 MB, every page written
        assert _resident_mb() - before > 200
        del a
        kept = _resident_mb()
        assert kept - before > 200  # freed, but kept resident by the block
        assert heap.release_freed() is True
        assert kept - _resident_mb() > 200
        assert heap.settings_inside()
