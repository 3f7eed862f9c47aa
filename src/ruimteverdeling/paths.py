"""Where the engine finds its own files and keeps what it can regenerate.

* :func:`shipped_scenarios` — the scenarios shipped with the package (package data
  ``ruimteverdeling/data/scenarios/``): ``base.yaml`` and its variants, which ``ruimteverdeling
  demo`` solves. In the source tree that folder is a symbolic link to ``scenarios/`` at the top
  of the checkout, so git holds one copy; building a wheel or an sdist copies the files through
  it;
* :data:`REPO_ROOT` — the source checkout (``benchmarks/``), when the package runs from one;
  nothing a user runs after ``pip install`` depends on it;
* :func:`cache_dir` — synthetic benchmark areas and coarsened study areas, generated once and
  reused: ``$RUIMTEVERDELING_CACHE`` when set, else the user's cache folder
  (``platformdirs.user_cache_dir``: ``~/.cache/ruimteverdeling`` on Linux, honouring
  ``$XDG_CACHE_HOME``; ``~/Library/Caches/ruimteverdeling`` on macOS;
  ``%LOCALAPPDATA%\\ruimteverdeling\\Cache`` on Windows). The scripts in ``benchmarks/`` set
  ``$RUIMTEVERDELING_CACHE`` to ``benchmarks/cache`` unless it is set already.
"""

from __future__ import annotations

import os
from importlib.resources import files
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


def shipped_scenarios() -> Path:
    """The folder of the scenarios shipped with the package (``base.yaml`` and its variants).

    A real folder on disk in a wheel install and in an editable install of a checkout; the
    package is not meant to run from a zip file."""
    return Path(str(files("ruimteverdeling") / "data" / "scenarios"))
