"""The landscape on the grid: what the build steps produce and the layer builders read.

:func:`ruimteverdeling.synthetic.build.build_landscape` runs the steps in order — water,
terrain, floodplains and shores, protected zones, land use — each step returning one of the
frozen records below. The :class:`Landscape` bundles them; every layer builder in
:mod:`ruimteverdeling.synthetic.layers` is a function ``Landscape -> array`` (or features) and
never modifies it. All arrays have the grid's shape; masks are boolean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ruimteverdeling.synthetic.codes import HOUSING, INDUSTRY, INFRASTRUCTURE
from ruimteverdeling.synthetic.grid import Grid, Sampler
from ruimteverdeling.synthetic.world import World


@dataclass(frozen=True, eq=False)
class Water:
    """Open water on the grid."""

    #: Outside the study area and not Belgium or Germany.
    sea: np.ndarray
    #: All inland water of the study area: lakes, rivers and canals.
    water: np.ndarray
    #: The big rivers and wide canals (their surface is at the river level; not clipped to
    #: the study area).
    river_water: np.ndarray
    #: The rivers that have floodplains.
    floodplain_rivers: np.ndarray
    #: IJsselmeer, Markermeer, Randmeren and the lakes of the IJssel mouth.
    ijssel_lakes: np.ndarray
    #: All large lakes (IJsselmeer area and delta lakes).
    big_lakes: np.ndarray
    #: The study area without its water.
    land: np.ndarray


@dataclass(frozen=True, eq=False)
class Terrain:
    """Soil and elevation on the grid."""

    #: Soil codes (0 outside the study area).
    soil: np.ndarray
    #: Deep-polder region ids (0 outside polders and the study area).
    polder_ids: np.ndarray
    #: Elevation in m NAP (float32).
    elevation: np.ndarray
    #: The fine elevation noise (sd 1), reused for floodplain heights.
    fine_noise: np.ndarray
    #: Mean water level and design water level of the nearest big river (m NAP).
    river_level: np.ndarray
    design_level: np.ndarray

    @property
    def in_polder(self) -> np.ndarray:
        return self.polder_ids > 0


@dataclass(frozen=True, eq=False)
class Shores:
    """Floodplains, dunes, salt marshes and the primary dikes."""

    #: Floodplains (uiterwaarden) between the big rivers and their dikes.
    uiterwaarden: np.ndarray
    #: Floodplains and the water of the rivers that have them.
    river_bed: np.ndarray
    dunes: np.ndarray
    #: Salt marshes (kwelders) outside the Wadden Sea dike.
    salt_marshes: np.ndarray
    #: Land outside the dikes along the IJsselmeer area.
    buitendijks: np.ndarray
    #: Primary flood defences along rivers, coast and lakes.
    dikes: np.ndarray
    #: Distance to the sea (km).
    distance_to_sea: np.ndarray


@dataclass(frozen=True, eq=False)
class Zones:
    """Protected and reserved zones that steer the land use."""

    natura2000: np.ndarray
    #: Defence training grounds (the land use takes part of them).
    defence: np.ndarray
    nnn_corridors: np.ndarray
    brooks: np.ndarray


@dataclass(frozen=True, eq=False)
class LandUse:
    """Current land use (use codes, 0 outside the study area)."""

    codes: np.ndarray
    #: Peat lakes and pits dug to reach the water share (their ground lies 0.6 m lower).
    dug_lakes: np.ndarray

    @property
    def built(self) -> np.ndarray:
        """Housing, industry and infrastructure."""
        return np.isin(self.codes, (HOUSING, INDUSTRY, INFRASTRUCTURE))


@dataclass(frozen=True, eq=False)
class Landscape:
    """Everything the layer builders read."""

    world: World
    grid: Grid
    sample: Sampler
    #: The study area (land and inland water).
    study: np.ndarray
    water: Water
    terrain: Terrain
    shores: Shores
    zones: Zones
    land_use: LandUse
    #: The built-up cells (computed once: several layers exclude them).
    built: np.ndarray


__all__ = ["LandUse", "Landscape", "Shores", "Terrain", "Water", "Zones"]
