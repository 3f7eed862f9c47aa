"""The pipeline's plumbing: the run result, the JSON writer, the cache path, the version."""

from __future__ import annotations

import json
import math
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import rasterio

import ruimteverdeling
from ruimteverdeling import api, jsonio, paths

from areas import hand_case


def test_the_allocation_travels_in_the_run_result_not_the_summary(tmp_path: Path) -> None:
    """``run.after`` is the map written as allocation.tif; the summary holds only what
    summary.json holds."""
    out = tmp_path / "out"
    run = api.solve(hand_case(tmp_path), out)
    with rasterio.open(out / "allocation.tif") as src:
        np.testing.assert_array_equal(run.after, src.read(1))
    written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(run.summary) == set(written) and not any(k.startswith("_") for k in written)
    # by hand (see hand_case): housing at (0,0) and (1,2), nature at (0,1), (1,0), (2,0)
    assert run.after.tolist() == [[1, 2, 3], [2, 1, 1], [2, 3, 23]]
    assert run.pricing.method == "lp" and run.pricing.moves is None


def test_json_is_strict_and_reads_back_as_normalised(tmp_path: Path) -> None:
    data = {"a": (1, np.float32(0.5)), "b": [math.nan, -math.inf, np.int64(3)],
            "c": np.array([1.0, math.inf]), "d": Path("x/y"), "e": "ü"}
    path = tmp_path / "d.json"
    jsonio.write_json(path, data)

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in strict JSON")

    back = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)
    assert back == {"a": [1, 0.5], "b": [None, None, 3], "c": [1.0, None], "d": "x/y",
                    "e": "ü"}
    assert jsonio.normalised(data) == back
    assert "ü" in path.read_text(encoding="utf-8")  # characters kept, not escaped
    with pytest.raises(TypeError, match="not JSON serialisable"):
        jsonio.dumps({"f": object()})


def test_cache_dir_and_version(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    assert paths.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv(paths.CACHE_ENV)
    # the user's cache folder, also when the package runs from a source checkout
    assert not paths.cache_dir().is_relative_to(paths.REPO_ROOT)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert paths.cache_dir() == tmp_path / "xdg" / "ruimteverdeling"
    assert ruimteverdeling.__version__ == version("ruimteverdeling")
