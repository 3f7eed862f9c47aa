"""Atomic output folders: a run is written to a hidden sibling folder and renamed when complete.

A crash, a kill or Ctrl-C leaves at most a ``.<name>.partial-<pid>`` folder next to the
target, never a folder that looks complete. An earlier complete result in the target folder
is replaced only once the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np


class AtomicOutputDir:
    """``with AtomicOutputDir(target) as tmp: ...write into tmp...`` — renamed on success."""

    def __init__(self, target: str | Path):
        self.target = Path(target).resolve()
        self.tmp = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            self.target.rename(old)
        self.tmp.rename(self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default,
                      allow_nan=False) if _finite(data) else \
        json.dumps(_replace_nonfinite(data), indent=2, ensure_ascii=False, default=_json_default)
    path.write_text(text + "\n", encoding="utf-8")


def _finite(data: Any) -> bool:
    try:
        json.dumps(data, allow_nan=False, default=_json_default)
        return True
    except ValueError:
        return False


def _replace_nonfinite(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _replace_nonfinite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_replace_nonfinite(v) for v in data]
    if isinstance(data, float | np.floating) and not np.isfinite(data):
        return None
    return data
