"""Large temporary arrays without faulting their memory in again for each one.

A national build (millions of cells, tens of millions of columns) creates and frees hundreds
of arrays of 50–300 MB, one or a few per rule and per term. glibc's ``malloc`` serves each
block above its mmap threshold from a fresh ``mmap`` and gives it back with ``munmap`` when
it is freed, so the kernel faults every page of every temporary in again and zeroes it; numpy
also asks for transparent huge pages on large arrays (``madvise``), which the kernel must
find, compact and zero 2 MB at a time. Measured on the ~250 m national build, the kernel's
time was as large as the computation's.

Inside :func:`reusing_freed_memory` the allocator serves large blocks from its heap and keeps
what is freed there for the next block (``M_MMAP_MAX = 0``, a high ``M_TRIM_THRESHOLD``), and
numpy does not ask for huge pages. On leaving, the free part of the heap is returned to the
system (``malloc_trim``), so the peak resident memory is that of the arrays alive at once, as
before, and the allocator gets the settings it would have reached by itself.

Those are not glibc's initial values. Left alone, glibc moves its mmap threshold up as the
program frees mmap-served blocks: once a block of ``b`` bytes is freed, blocks up to ``b`` come
from the heap, up to a ceiling of :data:`GLIBC_MMAP_THRESHOLD_MAX` (32 MiB on 64-bit), and
the trim threshold follows at twice the mmap threshold. Any ``mallopt`` of these settings
switches that adjustment off for the rest of the process, so putting the initial 128 KiB
back would leave every later array above 128 KiB — a model's columns, its duals, each LP's
solution — faulted in afresh and zeroed each time it is made: on a 36,000-cell model solved
after its compile, that was 3.5 s more of the kernel's time and 1.5–2 s more of the solve's.
Leaving sets the thresholds where glibc's own adjustment ends instead (the environment's
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_MAX_`` where given).

The first block also makes the threads that start afterwards share the main thread's arena
(``M_ARENA_MAX`` = :data:`SHARED_ARENAS`, or the environment's ``MALLOC_ARENA_MAX``), for the
rest of the process. glibc otherwise gives each new thread an arena of its own (up to eight
per core), and each arena keeps what its thread freed for that thread alone: the solve's
threads beside (its LPs ahead, its knapsack fills, HiGHS's workers) then hold their freed
arrays resident side by side. With the thresholds above and an arena per thread, a
50,000-cell solve peaked at 2.2 GB; with one shared arena at 1.6 GB (1.5 GB before the
thresholds), and it was no slower (solve 12.8 s against 14.5 s; ~100 m national 318 s against
338 s, peak 5.86 against 5.88 GB).

Where the C library is not glibc (macOS, musl) or numpy lacks the switch, the block runs
unchanged. Nested and concurrent uses count: the settings for after the blocks are set when
the last one leaves. A process forked while blocks run (a worker forked by one thread while another
compiles) keeps only the blocks of the thread that forked, the one thread it has: it gets a
fresh lock, and where that thread was in no block those settings are set in it at once
(else when that thread leaves its blocks).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
M_ARENA_MAX = -8
GLIBC_MMAP_MAX = 65536
"""glibc's default number of blocks it may serve by ``mmap``."""
GLIBC_MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)
"""The ceiling of glibc's own mmap threshold adjustment (``DEFAULT_MMAP_THRESHOLD_MAX``:
32 MiB on 64-bit): blocks up to this size come from the heap once one as large was freed."""
GLIBC_TRIM_THRESHOLD = 2 * GLIBC_MMAP_THRESHOLD_MAX
"""The free space at the top of the heap above which it is returned, as glibc's adjustment
sets it beside that mmap threshold (twice it)."""
SHARED_ARENAS = 1
"""Arenas the threads share once a block has run: one, the main thread's (see the module
docstring)."""
KEEP_TRIM_THRESHOLD = 2**31 - 1
"""Inside the block: never return the top of the heap (the largest value ``mallopt`` takes)."""

_lock = threading.Lock()
_depth = 0
_depth_by_thread: dict[int, int] = {}
"""The blocks each thread is in (their sum is ``_depth``), by thread id."""
_saved_hugepage: bool | None = None


def _libc() -> Any | None:
    """glibc, or None where the C library is another (no ``mallopt``/``malloc_trim``)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018  (glibc only)
        libc.malloc_trim  # noqa: B018
        libc.gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def _hugepage_switch() -> Any | None:
    """numpy's switch for asking huge pages on large arrays (returns the previous value)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        try:
            from numpy.core import multiarray  # type: ignore[no-redef]
        except ImportError:
            return None
    return getattr(multiarray, "_set_madvise_hugepage", None)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default


def _restore() -> None:
    """Put numpy's settings back and give the allocator those its own adjustment ends at (the
    last block has left; see the module docstring)."""
    global _saved_hugepage
    if _LIBC is not None:
        _LIBC.mallopt(M_MMAP_MAX, _env_int("MALLOC_MMAP_MAX_", GLIBC_MMAP_MAX))
        _LIBC.mallopt(M_MMAP_THRESHOLD,
                      _env_int("MALLOC_MMAP_THRESHOLD_", GLIBC_MMAP_THRESHOLD_MAX))
        _LIBC.mallopt(M_TRIM_THRESHOLD, _env_int("MALLOC_TRIM_THRESHOLD_", GLIBC_TRIM_THRESHOLD))
        _LIBC.malloc_trim(0)
    switch = _hugepage_switch()
    if switch is not None and _saved_hugepage is not None:
        switch(_saved_hugepage)
    _saved_hugepage = None


def _after_fork_in_child() -> None:
    """In a forked child only the forking thread runs on: its blocks are the only ones that
    will leave, and the lock may have been held by a thread the child does not have."""
    global _lock, _depth, _depth_by_thread
    _lock = threading.Lock()
    me = threading.get_ident()
    mine = _depth_by_thread.get(me, 0)
    was = _depth
    _depth, _depth_by_thread = mine, ({me: mine} if mine else {})
    if was > 0 and mine == 0:
        _restore()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Run the block with freed large blocks kept for reuse (see the module docstring)."""
    global _depth, _saved_hugepage
    me = threading.get_ident()
    with _lock:
        _depth += 1
        _depth_by_thread[me] = _depth_by_thread.get(me, 0) + 1
        if _depth == 1:
            if _LIBC is not None:
                _LIBC.mallopt(M_ARENA_MAX, _env_int("MALLOC_ARENA_MAX", SHARED_ARENAS))
                _LIBC.mallopt(M_MMAP_MAX, 0)
                _LIBC.mallopt(M_TRIM_THRESHOLD, KEEP_TRIM_THRESHOLD)
            switch = _hugepage_switch()
            _saved_hugepage = bool(switch(False)) if switch is not None else None
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            left = _depth_by_thread.get(me, 0) - 1
            if left > 0:
                _depth_by_thread[me] = left
            else:
                _depth_by_thread.pop(me, None)
            if _depth == 0:
                _restore()


def release_freed() -> bool:
    """Return the heap's free memory to the system now (``malloc_trim(0)``), inside a
    :func:`reusing_freed_memory` block too; False where the C library is not glibc.

    Inside a block, what is freed stays resident for the next blocks of its size: the
    resident memory is then the largest set of arrays ever alive at once plus the holes
    between them that later arrays do not fill. Where a stage with arrays of one size ends
    and the next one's arrays are of another size (a column generation's sample model, a
    quarter of the whole one, before the rounds over the whole model), those holes would
    stay resident under the next stage's arrays; released, the next stage faults in only
    the pages it touches. glibc gives back every whole free page, in the middle of the heap
    too, not only at its top, and keeps the block's settings."""
    if _LIBC is None:
        return False
    _LIBC.malloc_trim(0)
    return True


def settings_inside() -> bool:
    """Whether a :func:`reusing_freed_memory` block is running (for tests)."""
    return _depth > 0
