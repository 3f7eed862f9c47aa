"""Cells within a distance of a mask, without a distance transform.

The cells whose centre lies within ``limit`` metres of the centre of some cell of a mask are

    B = { p : ∃ q ∈ mask, res · √((p_y − q_y)² + (p_x − q_x)²) ≤ limit }

— the Euclidean distance transform thresholded at ``limit``, because the distance to the
*nearest* cell of the mask is within it exactly when the distance to *some* cell is. ``B``
is the union, over the offsets (dy, dx) of the disk ``res · √(dy² + dx²) ≤ limit``, of the
mask shifted by that offset. Row offset ``dy`` admits the column offsets ``|dx| ≤ w(dy)``, a
run, so ``B`` is made from the mask widened by each ``w`` (one pair of shifts per step of
``w``) shifted up and down by each ``dy``: about ``4 r`` passes of boolean ``or`` over the
grid for a radius of ``r`` cells, against the transform's passes of 8-byte integers and floats
(its nearest-cell indices, offsets and distances). The test ``res · √(dy² + dx²) ≤ limit``
is evaluated with the same floating-point operations as ``distance_transform_edt(~mask) *
res <= limit``, so the two give the same cells; for radii above :data:`MAX_RADIUS_CELLS` the
transform is used.
"""

from __future__ import annotations

import numpy as np

MAX_RADIUS_CELLS = 64
"""Above this radius (in cells) the distance transform is cheaper than the shifted runs."""


def run_widths(limit: float, resolution: float) -> list[int]:
    """``w(dy)`` for ``dy = 0, 1, …``: the largest ``dx ≥ 0`` with ``resolution ·
    √(dy² + dx²) ≤ limit``, while there is one (empty when not even the cell itself is)."""
    out: list[int] = []
    dy = 0
    while True:
        # the square root of the exact integer dy² + dx², then times the resolution: as the
        # thresholded transform computes each cell's distance
        if not np.sqrt(np.float64(dy * dy)) * resolution <= limit:
            return out
        dx = 0
        while np.sqrt(np.float64(dy * dy + (dx + 1) * (dx + 1))) * resolution <= limit:
            dx += 1
        out.append(dx)
        dy += 1


def within_distance(mask: np.ndarray, limit: float, resolution: float) -> np.ndarray:
    """Boolean grid of the cells within ``limit`` metres (centre to centre) of a cell of the
    boolean grid ``mask`` (see the module docstring)."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.zeros(mask.shape, bool)
    widths = run_widths(limit, resolution)
    if not widths:
        return np.zeros(mask.shape, bool)
    if len(widths) - 1 > MAX_RADIUS_CELLS or widths[0] > MAX_RADIUS_CELLS:
        from scipy.ndimage import distance_transform_edt

        return distance_transform_edt(~mask) * resolution <= limit
    out = np.zeros(mask.shape, bool)
    wide = mask.copy()  # the mask widened by |dx| ≤ w
    by_width: dict[int, list[int]] = {}
    for dy, w in enumerate(widths):
        by_width.setdefault(w, []).append(dy)
    for w in range(widths[0] + 1):
        if w > 0:
            wide[:, w:] |= mask[:, :-w]
            wide[:, :-w] |= mask[:, w:]
        for dy in by_width.get(w, []):
            if dy == 0:
                out |= wide
            else:
                out[dy:, :] |= wide[:-dy, :]
                out[:-dy, :] |= wide[dy:, :]
    return out
