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


def _faults_making(n_bytes: int, times: int) -> int:
    """Minor page faults of making, writing and freeing an array of ``n_bytes``, ``times``
    times over."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        a = np.ones(n_bytes // 8)
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_arrays_made_after_a_block_reuse_freed_memory_instead_of_faulting_it_in_again() -> None:
    """After the last block leaves, an array of a few MB freed and made again comes from the
    heap's freed memory, as glibc's own threshold adjustment would serve it: not a fresh
    ``mmap`` whose every page is faulted in and zeroed again (what the initial 128 KiB
    threshold does once ``mallopt`` has switched that adjustment off). A 2 MiB array, below
    numpy's huge-page size, is 512 pages of 4 KiB: ten of them made afresh fault in about
    5,000 pages; reused, a handful."""
    if heap._LIBC is None:
        pytest.skip("not glibc: the allocator's settings are never changed")
    with heap.reusing_freed_memory():
        pass
    assert not heap.settings_inside()
    n = 2 * 1024 * 1024
    _faults_making(n, 2)  # the first one may grow the heap
    faults = _faults_making(n, 10)
    assert faults < 512, f"{faults} page faults for ten 2 MiB arrays made after a block"
