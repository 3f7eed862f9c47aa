"""Progress messages on stderr: one line per phase with the elapsed time.

On a terminal a phase that runs longer than a few seconds shows a ticking clock, so a long
solve is visibly alive.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Callable reporter (``progress("message")``) with timed phases."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True,
                 tick_after: float = 3.0):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.start = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.tick_after = tick_after
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        print(f"[{elapsed:7.1f} s] {message}", file=self.stream, flush=True)

    @contextmanager
    def phase(self, name: str, key: str | None = None) -> Iterator[None]:
        self(f"{name} ...")
        t0 = time.perf_counter()
        stop = threading.Event()
        ticker = None
        if self.enabled and self._tty:
            ticker = threading.Thread(target=self._tick, args=(name, t0, stop), daemon=True)
            ticker.start()
        try:
            yield
        finally:
            stop.set()
            if ticker is not None:
                ticker.join()
            dt = time.perf_counter() - t0
            self.timings[key or name] = self.timings.get(key or name, 0.0) + dt
        self(f"{name}: done in {dt:.1f} s")

    def _tick(self, name: str, t0: float, stop: threading.Event) -> None:
        shown = False
        while not stop.wait(1.0):
            dt = time.perf_counter() - t0
            if dt >= self.tick_after:
                print(f"\r    ... {name}: {dt:5.0f} s", end="", file=self.stream, flush=True)
                shown = True
        if shown:
            print("\r" + " " * 60 + "\r", end="", file=self.stream, flush=True)


def silent() -> Progress:
    return Progress(enabled=False)
