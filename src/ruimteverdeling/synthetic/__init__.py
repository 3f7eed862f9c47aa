"""A synthetic, Netherlands-like study area (``ruimteverdeling make-area``).

:func:`make_area` writes a complete study area — GeoTIFF rasters, three GeoPackages and an
``area.yaml`` manifest — that looks and behaves like the Netherlands without any external
data. The demo, the tests and the benchmarks run on it. It is *not* real data: every shape is
hand-drawn or random, errors of several km are normal.

How it is made
--------------
1. *The geography* (:mod:`.geography`) — a hand-drawn Netherlands in RD New kilometres, shipped
   as ``data/nl_geography.geojson``: the outline with the Wadden islands (North Sea, Wadden Sea,
   Westerschelde, Oosterschelde, Belgium and Germany outside, code 0), the IJsselmeer, Markermeer,
   Randmeren and delta lakes (inside, as water), the big rivers with their mean water levels,
   about 95 cities at their real positions, deep polders, soil zones, hills, Natura 2000 areas,
   training grounds, industrial clusters, airports and more. The study area (outline with inland
   water) is about 38,300 km², i.e. 3.83 M cells of 100 m.
2. *The world* (:mod:`.world`) — for a seed, the geography in world metres plus what does not
   depend on the grid: soil, river levels and elevation on fixed world lattices of 1 km and
   250 m (:mod:`.fields`), 650 random villages and the urban potential, railways, roads and
   brooks. Cached per seed, so a seed gives the same landscape at every resolution; only
   sub-lattice detail differs.
3. *The grid* (:mod:`.grid`) — the world scaled about Amersfoort by the factor ``s`` that gives
   ``cells`` study-area cells; when ``cells × resolution²`` equals the real area, ``s = 1`` and
   the grid lies on real RD coordinates. ``s`` is recorded in the manifest. Vector features are
   rasterised from their world geometry, so lines stay one cell wide at any resolution.
4. *The landscape* (:mod:`.build`) — named steps on the grid: water, terrain, floodplains and
   shores, protected zones, land use (each step in its :mod:`.layers` module, whose docstring
   gives the rules).
5. *The layers* (:mod:`.catalogue`) — every layer of ``area.yaml`` with its meaning and its
   builder; :mod:`.generator` builds and writes them (:mod:`.writer`).

Adding a layer is one builder function ``Landscape -> array`` in a :mod:`.layers` module and one
entry in :mod:`.catalogue`.
"""

from ruimteverdeling.synthetic.codes import (
    AGRICULTURE,
    DEFENCE,
    DUNE,
    GENERATOR_VERSION,
    HOUSING,
    INDUSTRY,
    INFRASTRUCTURE,
    LOESS,
    MARINE_CLAY,
    NATURE,
    PEAT,
    RIVER_CLAY,
    SAND,
    SOLAR,
    USE_CODES,
    WATER,
    WATER_BUFFER,
    WIND,
)


def __getattr__(name: str) -> object:
    """``make_area`` is imported on first use: the generator needs rasterio and shapely, while
    :mod:`.codes` and :mod:`.provenance` are read by the rule checks of every command."""
    if name == "make_area":
        from ruimteverdeling.synthetic.generator import make_area

        return make_area
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGRICULTURE", "DEFENCE", "DUNE", "GENERATOR_VERSION", "HOUSING", "INDUSTRY",
    "INFRASTRUCTURE", "LOESS", "MARINE_CLAY", "NATURE", "PEAT", "RIVER_CLAY", "SAND", "SOLAR",
    "USE_CODES", "WATER", "WATER_BUFFER", "WIND", "make_area",
]
