"""The layers of a synthetic area, in the order they are written to ``area.yaml``.

This is the one place that lists what an area contains. Each entry names a layer, says what it
means (kind, unit, categories, a description for ``area.yaml``) and points at the function that
builds it from the :class:`~ruimteverdeling.synthetic.landscape.Landscape`. To add a layer,
write its builder in the thematic module of :mod:`ruimteverdeling.synthetic.layers` (or a new
one) and add one entry here; the generator writes it and records it in the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ruimteverdeling.synthetic.codes import (
    AGRI_QUALITY_CODES,
    LANDSCAPE_CODES,
    SOIL_CODES,
    USE_CODES,
)
from ruimteverdeling.synthetic.landscape import Landscape
from ruimteverdeling.synthetic.layers import (
    climate,
    land_use,
    regions,
    stations,
    terrain,
    water,
    zones,
)

#: Categories, fixed or computed from the built layer.
Categories = Mapping[int, str] | Callable[[np.ndarray, Landscape], Mapping[int, str]]
#: Vector features: attribute records and grid-coordinate geometries, one each per feature.
Features = tuple[list[dict[str, object]], list[object]]


@dataclass(frozen=True)
class RasterLayer:
    """A GeoTIFF layer ``<name>.tif``.

    ``kind`` is the manifest kind: ``categorical`` (nodata 0), ``continuous`` (float, nodata
    −9999, with a ``unit``), ``mask`` (0/1) or ``regions`` (region ids, 0 = none).
    """

    name: str
    kind: str
    description: str
    build: Callable[[Landscape], np.ndarray]
    unit: str | None = None
    categories: Categories | None = None


@dataclass(frozen=True)
class VectorLayer:
    """A GeoPackage layer ``file``/``table`` recorded in the manifest as ``name``."""

    name: str
    file: str
    table: str
    kind: str
    description: str
    build: Callable[[Landscape], Features]
    unit: str | None = None
    attribute: str | None = None
    name_attribute: str | None = None


RASTERS: tuple[RasterLayer, ...] = (
    RasterLayer("landuse", "categorical", (
        "Current land use (huidig ruimtegebruik, cf. CBS Bestand Bodemgebruik); codes are the "
        "use ids of the use catalogue, 0 = outside the study area"),
        land_use.landuse, categories=USE_CODES),
    RasterLayer("elevation", "continuous", (
        "Surface elevation in m NAP (maaiveldhoogte, cf. AHN): polders below NAP, dunes and "
        "sandy uplands above"), terrain.elevation, unit="m"),
    RasterLayer("soil", "categorical", (
        "Soil type (bodemsoort): zand, zeeklei, rivierklei, veen, löss, duinzand"),
        terrain.soil, categories=SOIL_CODES),
    RasterLayer("landscape_type", "categorical", (
        "Landscape type (landschapstype): hogere zandgronden, rivierengebied, zeekleigebied, "
        "veenweide, duinen en kust, heuvelland, stedelijk"),
        terrain.landscape_type, categories=LANDSCAPE_CODES),
    RasterLayer("uiterwaarden", "mask", (
        "Floodplains between the big rivers and their primary dikes (uiterwaarden, "
        "Beleidslijn Grote Rivieren)"), water.uiterwaarden),
    RasterLayer("primary_dikes", "mask", (
        "Primary flood defences (primaire waterkeringen) along rivers, coast and lakes"),
        water.primary_dikes),
    RasterLayer("river_reservation", "mask", (
        "Inland zones reserved for future river widening (binnendijkse "
        "rivierreserveringen) along Waal, Lek and IJssel"), water.river_reservation),
    RasterLayer("ijsselmeer_buitendijks", "mask", (
        "Land outside the dikes along IJsselmeer, Markermeer and Randmeren "
        "(buitendijks IJsselmeergebied)"), water.ijsselmeer_buitendijks),
    RasterLayer("flood_depth_2100", "continuous", (
        "Potential flood depth under a high 2100 scenario (overstromingsdiepte), "
        "0 on high ground"), climate.flood_depth_2100, unit="m"),
    RasterLayer("subsidence", "continuous", (
        "Expected land subsidence until 2050 (bodemdaling)"), climate.subsidence, unit="cm"),
    RasterLayer("deep_polders", "regions", (
        "Deep polders (diepe polders, droogmakerijen) below about -2 m NAP; 0 elsewhere"),
        regions.deep_polders, categories=regions.deep_polder_names),
    RasterLayer("brooks", "mask", (
        "Small brooks of the higher sandy soils (beken, beekdalen)"), zones.brooks),
    RasterLayer("natura2000", "mask", "Natura 2000 areas (VHR-gebieden)", zones.natura2000),
    RasterLayer("nnn", "mask", "Natuurnetwerk Nederland (NNN)", zones.nnn),
    RasterLayer("groundwater_protection", "mask", (
        "Drinking-water abstraction and protection areas (grondwaterbeschermingsgebieden, "
        "waterwingebieden)"), zones.groundwater_protection),
    RasterLayer("infiltration", "mask", (
        "Sandy uplands with deep groundwater, suitable for infiltration "
        "(infiltratiegebieden)"), zones.infiltration),
    RasterLayer("heritage", "mask", (
        "UNESCO heritage: Hollandse Waterlinies (Nieuwe Hollandse Waterlinie, Stelling van "
        "Amsterdam) and the Beemster"), zones.heritage),
    RasterLayer("valuable_landscape", "mask", (
        "Valuable landscapes (waardevolle landschappen): Groene Hart, Zuid-Limburg, "
        "Drentsche Aa and others"), zones.valuable_landscape),
    RasterLayer("agri_quality", "categorical", (
        "Suitability for agriculture (landbouwkundige geschiktheid): 1 best, 2 moderate, "
        "3 challenging (peat, wet or dry sand)"),
        terrain.agri_quality, categories=AGRI_QUALITY_CODES),
    RasterLayer("industry_contour", "mask", (
        "Environmental contour (milieucontour) around the five energy-intensive industrial "
        "clusters"), zones.industry_contour),
    RasterLayer("defence_contour", "mask", (
        "Noise and safety contour around defence training grounds (defensie "
        "geluids- en veiligheidscontour)"), zones.defence_contour),
    RasterLayer("airport_noise", "mask", (
        "Aircraft noise contours (geluidscontouren) around Schiphol and the regional "
        "airports"), zones.airport_noise),
    RasterLayer("wind_potential", "continuous", (
        "Mean wind speed at 100 m height (windsnelheid), high at the coast"),
        climate.wind_potential, unit="m/s"),
)

VECTORS: tuple[VectorLayer, ...] = (
    VectorLayer("regions", "provinces.gpkg", "provinces", "regions", "Provinces (provincies)",
                regions.provinces, attribute="code", name_attribute="name"),
    VectorLayer("station_distance", "stations.gpkg", "stations", "distance",
                "Distance to the nearest railway station (treinstation)", stations.stations,
                unit="m"),
    VectorLayer("railway_distance", "railways.gpkg", "railways", "distance",
                "Distance to the nearest railway line (spoorlijn)", stations.railways, unit="m"),
)

__all__ = ["RASTERS", "VECTORS", "RasterLayer", "VectorLayer"]
