"""Railway stations and railway lines (vector layers, in grid coordinates).

Every city has a station on the railway network: intercity where the geography says so,
regional otherwise. The distance layers of the manifest measure to these features.
"""

from __future__ import annotations

from shapely.geometry import Point

from ruimteverdeling.synthetic.landscape import Landscape


def stations(landscape: Landscape) -> tuple[list[dict[str, object]], list[object]]:
    cities, grid = landscape.world.settlements.cities, landscape.grid
    return ([{"name": c.name, "kind": "intercity" if c.intercity else "regional"}
             for c in cities],
            [grid.to_grid(Point(c.x, c.y)) for c in cities])


def railways(landscape: Landscape) -> tuple[list[dict[str, object]], list[object]]:
    lines, grid = landscape.world.networks.railways, landscape.grid
    return [{"name": n} for n, _ in lines], [grid.to_grid(g) for _, g in lines]
