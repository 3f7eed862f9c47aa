"""JSON as the engine writes it: the one place that turns engine data into JSON.

numpy scalars and arrays become numbers and lists, paths become text, tuples lists, and
numbers that JSON cannot hold (``nan``, ``±inf``) become ``null`` — so every file is strict
JSON that any reader accepts, and data read back equals :func:`normalised` data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def clean(data: Any) -> Any:
    """``data`` with every non-finite number replaced by None (dicts, lists and tuples
    walked; numpy arrays become lists first)."""
    if isinstance(data, dict):
        return {k: clean(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [clean(v) for v in data]
    if isinstance(data, np.ndarray):
        return clean(data.tolist())
    if isinstance(data, float | np.floating) and not math.isfinite(data):
        return None
    return data


def dumps(data: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``data`` (UTF-8 characters kept, non-finite numbers as null)."""
    try:
        return json.dumps(data, indent=indent, ensure_ascii=False, default=_default,
                          allow_nan=False)
    except ValueError:  # a nan or an infinity somewhere: replace them
        return json.dumps(clean(data), indent=indent, ensure_ascii=False, default=_default,
                          allow_nan=False)


def normalised(data: Any) -> Any:
    """``data`` as it reads back from the JSON :func:`dumps` writes (tuples become lists,
    keys text, numpy values plain numbers, non-finite numbers None)."""
    return json.loads(dumps(data, indent=None))


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` as indented strict JSON with a final newline."""
    path.write_text(dumps(data) + "\n", encoding="utf-8")
