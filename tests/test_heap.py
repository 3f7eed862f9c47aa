"""The heap's free memory handed back to the system inside a block that otherwise keeps it."""

from __future__ import annotations

import os

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


_ARENAS_SCRIPT = r"""
import ctypes, sys, threading
import numpy as np
from ruimteverdeling import heap

if sys.argv[1] == "block":
    with heap.reusing_freed_memory():
        pass
ready = threading.Barrier(3)
done = threading.Event()

def work():
    a = np.ones(1 << 18)  # 2 MiB, made and kept while the other thread makes its own
    ready.wait()
    done.wait()
    del a

threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
ready.wait()
libc = heap._LIBC
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = sys.argv[2]
fp = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, fp)
libc.fclose(fp)
done.set()
for t in threads:
    t.join()
print(open(path).read().count("<heap nr="))
"""


@pytest.mark.parametrize("first", ["block", "none"])
def test_threads_started_after_a_block_share_one_arena(first: str, tmp_path) -> None:
    """After a block, two threads that each make an array while the other holds its own
    allocate from the main thread's arena: glibc counts one heap, not one per thread (each
    of which would keep its thread's freed arrays resident for that thread alone). Without a
    block, glibc's own default holds: the threads get arenas of their own (which shows the
    count can tell the two apart). Each case runs in a fresh process, as glibc gives a thread
    its arena once."""
    import subprocess
    import sys

    if heap._LIBC is None:
        pytest.skip("not glibc: the allocator's settings are never changed")
    script = tmp_path / "arenas.py"
    script.write_text(_ARENAS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, str(script), first, str(tmp_path / "info.xml")],
                         capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    heaps = int(out.stdout.split()[-1])
    if first == "block":
        assert heaps == heap.SHARED_ARENAS
    else:
        assert heaps > 1
