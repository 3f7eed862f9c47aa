"""Where the engine finds its own files and keeps what it can regenerate.

* :data:`REPO_ROOT` — the source checkout (``scenarios/``, ``benchmarks/``), when the package
  runs from one;
* :func:`cache_dir` — synthetic benchmark areas and coarsened study areas, generated once and
  reused: ``$RUIMTEVERDELING_CACHE`` when set, else the user's cache folder
  (``platformdirs.user_cache_dir``: ``~/.cache/ruimteverdeling`` on Linux, honouring
  ``$XDG_CACHE_HOME``; ``~/Library/Caches/ruimteverdeling`` on macOS;
  ``%LOCALAPPDATA%\\ruimteverdeling\\Cache`` on Windows). The scripts in ``benchmarks/`` set
  ``$RUIMTEVERDELING_CACHE`` to ``benchmarks/cache`` unless it is set already.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "RUIMTEVERDELING_CACHE"
APP_NAME = "ruimteverdeling"


def cache_dir() -> Path:
    """The folder for regenerable areas (see the module docstring)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir(APP_NAME, appauthor=False))
