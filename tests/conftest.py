"""Shared fixtures: tiny hand-made areas and one small synthetic area per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic Netherlands (about 3,000 cells of 3 km), generated once."""
    from ruimteverdeling.synthetic import make_area

    out = tmp_path_factory.mktemp("small_area")
    return make_area(out, cells=3000, resolution=3000.0, seed=7)


@pytest.fixture(scope="session")
def demo_area(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's study area (same size, resolution and seed as `ruimteverdeling demo`)."""
    from ruimteverdeling import api
    from ruimteverdeling.synthetic import make_area

    out = tmp_path_factory.mktemp("demo_area")
    return make_area(out, cells=api.DEMO_CELLS, resolution=api.DEMO_RESOLUTION,
                     seed=api.DEMO_SEED)
