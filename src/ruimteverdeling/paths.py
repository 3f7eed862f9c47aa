"""Where the engine finds its own files and keeps what it can regenerate.

* :data:`REPO_ROOT` — the source checkout (``scenarios/``, ``benchmarks/``), when the package
  runs from one;
* :func:`cache_dir` — synthetic benchmark areas and coarsened study areas, generated once and
  reused: ``$RUIMTEVERDELING_CACHE`` when set, else ``benchmarks/cache`` in a source checkout,
  else ``~/.cache/ruimteverdeling``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "RUIMTEVERDELING_CACHE"


def cache_dir() -> Path:
    """The folder for regenerable areas (see the module docstring)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    if (REPO_ROOT / "benchmarks").is_dir():
        return REPO_ROOT / "benchmarks" / "cache"
    return Path.home() / ".cache" / "ruimteverdeling"
