"""Burdens of a change of use, per cell (niet afwentelen: lusten en lasten).

A burden counts, for a cell of ``a`` hectares whose use changes from ``e`` to ``u``, the
hectares of a target use ``T`` that are

* ``new``:  a · max(0, p(u, T) − p(e, T))   (e.g. new energy or defence footprint)
* ``lost``: a · max(0, p(e, T) − p(u, T))   (e.g. farmland lost)

with ``p(u, T)`` the yield factor of use ``u`` towards ``T`` (the catalogue's ``provides``;
combined uses count with their share). A weighted sum of burdens is what the fairness rule
spreads over regions; the burdens table and the ``burden_gini`` indicator count the
:data:`DEFAULT_BURDENS` with weight 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Basis = Literal["new", "lost"]

DEFAULT_BURDENS: tuple[tuple[str, Basis], ...] = (
    ("agriculture", "lost"),
    ("renewable_energy", "new"),
    ("defence", "new"),
    ("housing", "new"),
)
"""The burdens of ``burdens.csv`` and ``burden_gini``: farmland lost, new wind/solar, new
defence and new housing land (each yield-weighted)."""

BENEFIT_USES = ("nature", "water_buffer")
"""Uses whose new hectares ``burdens.csv`` lists as benefits."""


def burden_ha(p: np.ndarray, before: np.ndarray, after: np.ndarray, basis: str,
              cell_ha: float, weight: float = 1.0) -> np.ndarray:
    """``weight · a · max(0, ±(p[after] − p[before]))`` per cell (``+`` for ``new``, ``−``
    for ``lost``); ``p`` by catalogue index, ``before``/``after`` catalogue indices."""
    diff = p[after] - p[before]
    return weight * cell_ha * (np.maximum(0.0, diff) if basis == "new"
                               else np.maximum(0.0, -diff))


def gini(values: list[float]) -> float:
    """Gini coefficient of non-negative values (0 = equal, → 1 = concentrated)."""
    v = np.sort(np.asarray(values, float))
    if v.size == 0 or v.sum() <= 0:
        return 0.0
    n = v.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * v.sum()))
