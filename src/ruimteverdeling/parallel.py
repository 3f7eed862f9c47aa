"""Parallel work: forked worker processes for re-solves, Dask clients for batch runs.

:func:`fork_map` runs ``fn(0) … fn(n−1)`` in worker processes forked from the caller: each
inherits everything the caller holds (a compiled model, a solution, closures) without pickling
it, and only each call's result is sent back. Analyses that re-solve one model many times use
it to put the machine's cores to work (HiGHS's simplex uses one core per solve).

:func:`dask_client` gives a fresh ``LocalCluster`` of worker processes (one thread each) or a
connection to a running scheduler, checked first by :func:`check_scheduler`: Dask's own client
waits for a scheduler's handshake without a deadline, so an address that is not a scheduler
would hang the command. Dask is imported only when a client is made (it takes a second or two
to import, and most commands never need it).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ruimteverdeling.errors import InputError

SCHEDULER_HANDSHAKE_TIMEOUT = 3.0
"""Seconds to connect to a scheduler and to receive its greeting."""
SCHEDULER_FIX = ("give the address the scheduler prints when it starts (`dask scheduler` -> "
                 "'Scheduler at: tcp://HOST:8786'; then `dask worker ADDRESS` on each machine),"
                 " or leave --scheduler out for a local cluster")
_GREETING_MAX = 65_536

T = TypeVar("T")
_TASK: Callable[[int], Any] | None = None
"""The function a forked worker of :func:`fork_map` calls (set before the fork, inherited)."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says, else the
    machine's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


_STARTED = (time.monotonic(), os.times())
"""When this module was imported (early in every command): the wall clock and CPU times."""


def own_load() -> float:
    """This process's own share of the load average: the cores it kept busy on average since
    this module was imported (its CPU seconds over the wall-clock seconds; HiGHS may solve on
    several threads), 1 when that is too short to tell (under 5 s)."""
    wall = time.monotonic() - _STARTED[0]
    if wall < 5.0:
        return 1.0
    now, then = os.times(), _STARTED[1]
    return max((now.user + now.system - then.user - then.system) / wall, 0.0)


STAT_WINDOW = 0.25
"""Seconds over which :func:`busy_cores` watches the machine's CPU counters."""
STAT_PATH = "/proc/stat"


def _cpu_counters() -> tuple[float, float] | None:
    """The machine's CPU time since boot, summed over its CPUs, from the ``cpu`` line of
    ``/proc/stat``: (busy, total) in clock ticks, busy = total less idle and iowait; None
    where there is no such file (not Linux) or it does not parse."""
    try:
        with open(STAT_PATH) as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != "cpu":
        return None
    try:
        ticks = [float(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    except ValueError:
        return None
    total = sum(ticks)
    return total - ticks[3] - ticks[4], total


def busy_cores(window: float | None = None) -> float | None:
    """How many cores other work keeps busy *now*: the machine's busy share of its CPU time
    over ``window`` seconds (default :data:`STAT_WINDOW`; two readings of ``/proc/stat``)
    times its CPU count, less this process's own CPU seconds over the same window (over a
    window too short to time, under 50 ms, none); None where the counters are not
    readable. Unlike the 1-minute load average, which decays by ``e^(−t/60)`` and still
    reads ~1.5 a minute after a two-core job ended, it sees an idle machine as idle."""
    first = _cpu_counters()
    if first is None:
        return None
    own0, t0 = os.times(), time.monotonic()
    time.sleep(STAT_WINDOW if window is None else window)
    second = _cpu_counters()
    own1, wall = os.times(), max(time.monotonic() - t0, 1e-9)
    if second is None or second[1] <= first[1]:
        return None
    share = (second[0] - first[0]) / (second[1] - first[1])
    own = (own1.user + own1.system - own0.user - own0.system) / wall if wall >= 0.05 else 0.0
    return max(share * (os.cpu_count() or 1) - own, 0.0)


def idle_cores(own: float | None = None) -> int:
    """The usable cores that other work leaves idle, at least 1, rounded to the nearest
    whole core: the cores less :func:`busy_cores` (the CPU counters over a quarter of a
    second), or, where those are not readable, less the 1-minute load average, of which
    ``own`` (default :func:`own_load`) is this process's own."""
    cores = usable_cores()
    busy = busy_cores()
    if busy is None:
        if own is None:
            own = own_load()
        try:
            busy = max(os.getloadavg()[0] - own, 0.0)
        except (OSError, AttributeError):  # no load average on this platform
            busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


DEFAULT_WORKERS = 2
"""Most worker processes the re-solves (rule costs, a Pareto front) use by default (see
:func:`default_workers`)."""


def default_workers() -> int:
    """Worker processes for re-solves when the caller does not say: one per idle core
    (:func:`idle_cores`), at most :data:`DEFAULT_WORKERS`. Each re-solve's dual simplex runs
    on one core; on cores that other jobs hold, the workers only share the time the command
    gets (measured on the demo's rule costs at load 7: 118 s with two workers against 95 s
    with one, the same 64 s of CPU). The results are the same either way."""
    return min(DEFAULT_WORKERS, idle_cores())


def can_fork() -> bool:
    """Whether worker processes can be forked here: POSIX (not Windows), and not inside a
    daemonic process (a worker of another pool), which may not have children."""
    return "fork" in multiprocessing.get_all_start_methods() and \
        not multiprocessing.current_process().daemon


def fork_map(fn: Callable[[int], T], n: int, workers: int,
             done: Callable[[int, T], None] | None = None) -> list[T]:
    """``[fn(0), …, fn(n − 1)]``, computed in ``min(workers, n)`` forked worker processes.

    The workers are forked after ``fn`` is set, so ``fn`` and everything it refers to are
    inherited, not pickled; each task sends back only its index and its result (which must
    pickle). Tasks are handed out one at a time as workers come free, and the list is in
    index order whichever worker ran a task, so the result is the serial one whenever each
    ``fn(i)`` depends on ``i`` alone (not on what an earlier call changed in the process).
    ``done(i, result)`` is called in this process as each result arrives (in the order they
    finish). With one worker, one task, no ``fork`` on this platform, or when called from a
    task of another ``fork_map`` (a worker does not fork workers of its own), the calls run
    here, one after another. An exception in a task is raised here, and a worker that dies (killed
    for memory, say) raises :class:`concurrent.futures.process.BrokenProcessPool` instead of
    leaving the call waiting; the other tasks are then cancelled. Call it outside threads
    that hold locks a child would need (a forked child has only the thread that forked)."""
    return fork_map_staged(lambda i, _: fn(i), n, workers, [], lambda: None, done)


class DeferredError(Exception):
    """Raised by a task of :func:`fork_map_staged` that was started before ``prepare`` ran
    and finds that it needs ``prepare``'s result after all: it is handed out again with it."""


def _call_staged(i: int, payload: Any, early: bool) -> tuple[int, bool, Any]:
    """``(i, deferred, fn(i, payload))``; only a task started before ``prepare`` (``early``)
    may defer: one that already has ``prepare``'s result raises its :class:`DeferredError`,
    rather than being handed out again for ever."""
    assert _TASK is not None
    try:
        return i, False, _TASK(i, payload)
    except DeferredError:
        if not early:
            raise
        return i, True, None


def fork_map_staged(fn: Callable[[int, Any], T], n: int, workers: int, first: list[int],
                    prepare: Callable[[], Any],
                    done: Callable[[int, T], None] | None = None,
                    meanwhile: Callable[[], None] | None = None) -> list[T]:
    """``[fn(0, p), …, fn(n − 1, p)]`` with ``p = prepare()``, as :func:`fork_map` computes
    ``fn(i)``, where the tasks ``first`` start in the workers *before* ``prepare`` runs here.

    The workers are forked before ``prepare``, so they do not hold what it computes: a task of
    ``first`` is called as ``fn(i, None)``, every other one as ``fn(i, p)`` (``p`` is sent to
    the worker, so it must pickle; keep it small). A task of ``first`` that needs ``p`` after
    all raises :class:`DeferredError` and is handed out again as ``fn(i, p)``. So while this
    process works on ``prepare`` (one core), the other cores work on ``first``; the list is in
    index order, and each ``fn(i, ·)`` whose answer is the same with ``None`` as with ``p``
    (or that defers) gives the serial answer. Tasks are handed out in the order of ``first``,
    then the others in index order. ``meanwhile``: called here once every task is handed
    out, while the workers run (work of this process that the results do not change).
    Serially (see :func:`fork_map`): ``prepare`` first, then ``fn(i, p)`` in index order, and
    ``meanwhile`` is not called. Errors and dead workers as in :func:`fork_map`."""
    global _TASK
    out: list[Any] = [None] * n
    if workers <= 1 or n <= 1 or not can_fork() or _TASK is not None:
        payload = prepare()
        for i in range(n):
            out[i] = fn(i, payload)
            if done is not None:
                done(i, out[i])
        return out
    early = list(dict.fromkeys(first))
    started = set(early)
    later = [i for i in range(n) if i not in started]
    _TASK = fn
    try:
        with ProcessPoolExecutor(min(workers, n),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            pending = {pool.submit(_call_staged, i, None, True) for i in early}
            try:
                payload = prepare()
                pending |= {pool.submit(_call_staged, i, payload, False) for i in later}
                if meanwhile is not None:
                    meanwhile()
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        i, deferred, result = future.result()
                        if deferred:
                            pending.add(pool.submit(_call_staged, i, payload, False))
                            continue
                        out[i] = result
                        if done is not None:
                            done(i, result)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    finally:
        _TASK = None
    return out


_CALL: Callable[..., Any] | None = None
"""The function the child of :class:`ForkedCalls` calls (set before the fork, inherited)."""


def _call_in_child(args: tuple[Any, ...]) -> None:
    assert _CALL is not None
    _CALL(*args)


def _child_signals() -> None:
    """In a child of :class:`ForkedCalls`: a Ctrl-C is the parent's to handle (it stops the
    children), and SIGTERM — what :meth:`ForkedCalls.cancel` sends — ends the child at once,
    whatever handler the parent had installed (the command line turns SIGTERM into a
    KeyboardInterrupt, which an idle child would print as a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class ForkedCalls:
    """``fn(*args)`` for each call handed in, with no result (writing a file, say), in
    ``limit`` processes forked at the first call, while this process works on: the children
    inherit what this process holds then (``fn`` and what it refers to), each later call's
    ``args`` are sent to them (they must pickle). One fork for all the calls: every fork
    makes this process copy each page it writes afterwards, so a fork per call would slow
    the work it overlaps. With ``limit`` < 1, or where no process can be forked, no call is
    made in a child.

    :meth:`wait` takes back the calls no child has started, waits for the others and
    returns the keys of the calls not made (never started, raised, or their child died):
    the caller makes those itself, so every call is made exactly once in the end, and an
    error is raised in the caller's process, where it can be reported. :meth:`cancel`
    stops the children (the caller then drops what they wrote)."""

    def __init__(self, fn: Callable[..., Any], limit: int) -> None:
        self.fn = fn
        self.limit = limit if can_fork() and _CALL is None else 0
        self._pool: ProcessPoolExecutor | None = None
        self._calls: list[tuple[Any, Any]] = []

    def submit(self, key: Any, *args: Any) -> bool:
        """Hand ``fn(*args)`` to the children; whether it was (if not, ``key`` is among
        those :meth:`wait` returns)."""
        global _CALL
        if self.limit >= 1:
            try:
                if self._pool is None:
                    _CALL = self.fn
                    self._pool = ProcessPoolExecutor(
                        self.limit, mp_context=multiprocessing.get_context("fork"),
                        initializer=_child_signals)
                self._calls.append((key, self._pool.submit(_call_in_child, args)))
                return True
            except (BrokenProcessPool, OSError):  # a child died, or none could be forked:
                self.limit = 0  # this call and the later ones are the caller's
                if self._pool is None:
                    _CALL = None
        self._calls.append((key, None))
        return False

    def wait(self) -> list[Any]:
        """The keys of the calls not made, in the order handed in (the calls no child has
        started are taken back; the others are waited for)."""
        taken = [f is None or f.cancel() for _, f in self._calls]
        failed = set()
        for i, (_, future) in enumerate(self._calls):
            if taken[i]:
                continue
            try:
                future.result()
            except Exception:  # the call failed: the caller makes it again itself (a Ctrl-C
                failed.add(i)  # here is this process's own, and stops it)
        left = [k for i, (k, _) in enumerate(self._calls) if taken[i] or i in failed]
        self._close(False)
        return left

    def cancel(self) -> None:
        """Stop the children."""
        pool = self._pool
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
        self._close(True)

    def _close(self, cancel: bool) -> None:
        global _CALL
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            _CALL = None
        self._pool, self._calls = None, []


def check_scheduler(address: str, timeout: float = SCHEDULER_HANDSHAKE_TIMEOUT) -> None:
    """Check that a Dask scheduler answers at ``address`` before handing it to Dask.

    Dask's client waits for the scheduler's handshake without a deadline, and reads the
    first 8 bytes it gets as the length of a message: a silent listener makes it hang, and
    an HTTP server or proxy answering ``HTTP/1.1 ...`` makes it allocate ~3.5e18 bytes. A
    scheduler greets every new TCP connection at once with a small framed message (an
    8-byte little-endian length, then msgpack holding ``compression``, ``python`` and
    ``pickle-protocol``). This connects with ``timeout``, reads that greeting within
    ``timeout`` and raises InputError naming the address when it is missing or is not a
    scheduler's. Only ``tcp://`` addresses (and bare ``HOST:PORT``) are checked; for
    ``tls://`` and other protocols the client's own timeout applies.
    """
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return
    host, _, port_text = rest.rpartition(":")
    if not host:
        host, port_text = rest, "8786"
    host = host.strip("[]")
    try:
        port = int(port_text.split("/")[0])
    except ValueError:
        raise InputError.single(None, "--scheduler", f"'{address}' has no port number",
                                "write it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786") from None

    def refuse(what: str) -> InputError:
        return InputError.single(None, "--scheduler", f"{address} {what}", SCHEDULER_FIX)

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise refuse(f"did not accept a connection within {timeout:g} s") from None
    except OSError as exc:
        raise InputError.single(None, "--scheduler", f"cannot connect to the Dask scheduler "
                                f"at {address}: {exc.strerror or exc}", SCHEDULER_FIX) from None
    deadline = time.monotonic() + timeout

    def read(n: int) -> bytes:
        data = b""
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    with sock:
        try:
            head = read(8)
            if len(head) < 8:
                raise refuse("closed the connection without the greeting a Dask scheduler "
                             "sends: it is not a Dask scheduler")
            length = struct.unpack("<Q", head)[0]
            if not 8 <= length <= _GREETING_MAX:
                shown = (head + read(40)).decode("latin-1").splitlines()[0][:48]
                raise refuse(f"is not a Dask scheduler: it answered {shown!r} (a Dask "
                             "scheduler greets with a short binary message)")
            body = read(length)
        except TimeoutError:
            raise refuse(f"did not greet within {timeout:g} s as a Dask scheduler does at "
                         "once: it is not a Dask scheduler (or it is overloaded)") from None
        except OSError as exc:
            raise refuse(f"broke off the connection: {exc.strerror or exc}") from None
    if b"pickle-protocol" not in body:
        raise refuse("is not a Dask scheduler: its greeting is not a Dask handshake")


@contextlib.contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None,
                connect_timeout: float = 10.0) -> Iterator[Any]:
    """A Dask client: a fresh ``LocalCluster`` (processes, one thread each), or a connection
    to the running scheduler at ``scheduler``. The local scheduler and its HTTP server (the
    dashboard, when bokeh is installed) listen on free ports, so several batches and test runs
    never fight over 8786/8787. The cluster and its worker processes are closed on exit."""
    import dask  # deferred: Dask takes seconds to import and most commands never need it
    from distributed import Client, LocalCluster

    if scheduler is not None:
        check_scheduler(scheduler, min(connect_timeout, SCHEDULER_HANDSHAKE_TIMEOUT))
        try:
            client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError.single(None, "--scheduler", f"cannot connect to the Dask "
                                    f"scheduler at {scheduler}: {exc}", SCHEDULER_FIX) from None
        with client:
            yield client
        return
    # a run that kills its worker (out of memory) is not retried three times
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=":0", scheduler_port=0,
                         silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client
