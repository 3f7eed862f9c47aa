"""Drawing and rasterising: hand-drawn km shapes become world geometry (metres) and rasters."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from affine import Affine
from rasterio.features import rasterize
from shapely.geometry import LineString, Polygon

from ruimteverdeling.synthetic.codes import KM
from ruimteverdeling.synthetic.fields import Noise
from ruimteverdeling.synthetic.geography import Band, Blob


def burn(geoms: Sequence[Any], shape: tuple[int, int], transform: Affine,
         values: Sequence[int] | None = None, dtype: Any = np.uint8,
         all_touched: bool = False) -> np.ndarray:
    """Rasterise geometries (later ones overwrite earlier ones; empty ones are skipped)."""
    if values is None:
        values = [1] * len(geoms)
    pairs = [(g, int(v)) for g, v in zip(geoms, values, strict=True)
             if g is not None and not g.is_empty]
    if not pairs:
        return np.zeros(shape, dtype=dtype)
    return rasterize(pairs, out_shape=shape, transform=transform, fill=0, dtype=dtype,
                     all_touched=all_touched)


def metres(points: Sequence[tuple[float, ...]]) -> list[tuple[float, float]]:
    """Kilometre vertices -> metre vertices (drops a third value)."""
    return [(p[0] * KM, p[1] * KM) for p in points]


def polygon(ring: Sequence[tuple[float, float]]) -> Polygon:
    """A hand-drawn ring (km) as a world polygon (m)."""
    return Polygon(metres(ring))


def band(item: Band) -> Any:
    """A band (km) as a world polygon: the line buffered by its half width."""
    return LineString(metres(item.line)).buffer(item.half_width * KM)


def rough_ellipse(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float,
                  angle: float, rough: float = 0.22, n: int = 64) -> Polygon:
    """An irregular ellipse (km input, metre output): a star-shaped polygon.

    The radius at angle θ is 1 + Σ_{k=2..6} rough · z_k / k · cos(kθ + φ_k) (z_k standard
    normal, φ_k uniform, clipped at 0.35) times the ellipse's; then it is rotated by ``angle``.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rough * rng.standard_normal() / k * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.35, None)
    a = math.radians(angle)
    ex, ey = rx * r * np.cos(theta), ry * r * np.sin(theta)
    x = cx + ex * math.cos(a) - ey * math.sin(a)
    y = cy + ex * math.sin(a) + ey * math.cos(a)
    return Polygon(np.column_stack([x, y]) * KM)


def blobs(noise: Noise, items: Sequence[Blob], rough: float = 0.22,
          scale: float = 1.0) -> list[Polygon]:
    """Blobs as rough ellipses, each from the random stream named after it."""
    return [rough_ellipse(noise.rng(f"blob:{b.name}"), b.x, b.y, b.rx * scale, b.ry * scale,
                          b.angle, rough) for b in items]


def ellipse(cx: float, cy: float, rx: float, ry: float, angle: float, n: int = 48) -> Polygon:
    """A plain ellipse (km input, metre output), its rx axis ``angle`` degrees from east."""
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    a = math.radians(angle)
    ex, ey = rx * np.cos(theta), ry * np.sin(theta)
    x = cx + ex * math.cos(a) - ey * math.sin(a)
    y = cy + ex * math.sin(a) + ey * math.cos(a)
    return Polygon(np.column_stack([x, y]) * KM)


def wobbly(points: Sequence[tuple[float, float]], rng: np.random.Generator,
           amount: float = 0.05) -> list[tuple[float, float]]:
    """Insert two points between consecutive vertices (metres), at 1/3 and 2/3 of the segment
    and moved sideways by a normal offset of sd ``amount`` × the segment length."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        if length > 0:
            nx, ny = -dy / length, dx / length
            for t in (1 / 3, 2 / 3):
                off = rng.normal(0.0, amount * length)
                out.append((x0 + t * dx + off * nx, y0 + t * dy + off * ny))
        out.append((x1, y1))
    return out


def chaikin(pts: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Chaikin corner cutting: every segment is replaced by its 1/4 and 3/4 points."""
    for _ in range(iterations):
        if len(pts) < 3:
            break
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid, pts[-1:]])
    return pts
