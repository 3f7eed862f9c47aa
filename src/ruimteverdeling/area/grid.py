"""The study grid: a regular, north-up raster in a projected CRS (EPSG:28992 by default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from ruimteverdeling.errors import InputError


@dataclass(frozen=True)
class Grid:
    """``width`` × ``height`` square cells of ``resolution`` metres, upper-left at (left, top)."""

    width: int
    height: int
    resolution: float
    left: float
    top: float
    crs: str = "EPSG:28992"

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def size(self) -> int:
        return self.width * self.height

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.left, 0.0, -self.resolution, self.top)

    @property
    def right(self) -> float:
        return self.left + self.width * self.resolution

    @property
    def bottom(self) -> float:
        return self.top - self.height * self.resolution

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.left, self.bottom, self.right, self.top)

    @property
    def cell_area_ha(self) -> float:
        """Area of one cell in hectares (1 ha = 10,000 m²)."""
        return self.resolution * self.resolution / 10_000.0

    def centres(self, flat_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """x and y of cell centres (all cells, or those with the given flat indices)."""
        if flat_index is None:
            rows, cols = np.indices(self.shape)
            rows, cols = rows.ravel(), cols.ravel()
        else:
            rows, cols = np.divmod(np.asarray(flat_index), self.width)
        x = self.left + (cols + 0.5) * self.resolution
        y = self.top - (rows + 0.5) * self.resolution
        return x, y

    def coarsened(self, factor: int) -> Grid:
        """The grid with cells ``factor`` times larger (same upper-left corner)."""
        return Grid(
            width=-(-self.width // factor),
            height=-(-self.height // factor),
            resolution=self.resolution * factor,
            left=self.left,
            top=self.top,
            crs=self.crs,
        )


# ---------------------------------------------------------------------------------------------
# memory: refuse a grid up front instead of running out of memory half-way
# ---------------------------------------------------------------------------------------------
def available_memory() -> int | None:
    """Bytes this process can still allocate: the smallest of the memory the system reports
    available (psutil, else ``MemAvailable`` in /proc/meminfo), the room left under a cgroup
    (v2) memory limit, and the room left under this process's address-space limit
    (``RLIMIT_AS``). None when none of them can be read."""
    limits: list[int] = []
    try:
        import psutil

        limits.append(int(psutil.virtual_memory().available))
    except Exception:  # psutil missing or unsupported here: read the kernel's figure
        value = _proc_field("/proc/meminfo", "MemAvailable:")
        if value is not None:
            limits.append(value)
    try:
        cg = Path("/sys/fs/cgroup")
        limit = (cg / "memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            used = int((cg / "memory.current").read_text(encoding="ascii"))
            limits.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            limits.append(max(0, soft - (_proc_field("/proc/self/status", "VmSize:") or 0)))
    except (ImportError, ValueError):
        pass
    return min(limits) if limits else None


def _proc_field(path: str, key: str) -> int | None:
    """A ``key: <n> kB`` line of a /proc file, in bytes (None when absent)."""
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def format_bytes(n: float) -> str:
    """``1.2 GB``, ``850 MB``, ``44 TB`` (powers of 1000, as memory is sold)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e3:,.0f} kB"


def require_memory(need: float, what: str, file: object, field: str | None, fix: str) -> None:
    """Raise an InputError when ``need`` bytes exceed the memory available (see
    :func:`available_memory`); ``what`` says what needs it."""
    have = available_memory()
    if have is not None and need > have:
        raise InputError.single(file, field, f"{what} needs about {format_bytes(need)} of "
                                f"memory; {format_bytes(have)} is available", fix)
