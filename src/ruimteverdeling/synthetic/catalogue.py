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
    defence,
    land_use,
    locations,
    regions,
    reservations,
    rural,
    stations,
    terrain,
    utilities,
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
    # -- policy layers for the water-and-soil, defence and utility rules (appended after the
    #    layers above, so that those keep their order in area.yaml)
    RasterLayer("coastal_foundation", "mask", (
        "Land part of the coastal foundation (kustfundament): dunes, salt marshes and land "
        "within 0.5 km of the sea"), reservations.coastal_foundation),
    RasterLayer("sand_extraction_reservation", "mask", (
        "Sand-extraction reservation in the North Sea (zandwinning), 3-20 km offshore; sea "
        "cells, outside the study area"), reservations.sand_extraction_reservation),
    RasterLayer("river_city_water_space", "mask", (
        "Low unbuilt land within 7 km of Zwolle, Arnhem, Nijmegen and Den Bosch kept as room "
        "for river water (ruimte voor water)"), reservations.river_city_water_space),
    RasterLayer("drinking_water_reserves", "mask", (
        "Drinking-water reserves and search areas for new abstraction (aanvullende "
        "strategische voorraden)"), reservations.drinking_water_reserves),
    RasterLayer("drinking_water_shortage", "mask", (
        "Drinking-water supply areas without spare capacity for new connections "
        "(drinkwatertekort)"), utilities.drinking_water_shortage),
    RasterLayer("rwzi_catchments", "regions", (
        "Catchments of the waste-water treatment plants (zuiveringskringen van RWZI's), "
        "one per city"), utilities.rwzi_catchments, categories=utilities.rwzi_names),
    RasterLayer("rwzi_load", "continuous", (
        "Load of the catchment's waste-water treatment plant (RWZI), in % of its design "
        "capacity"), utilities.rwzi_load, unit="% of capacity"),
    RasterLayer("grid_regions", "regions", (
        "Electricity grid regions (netgebieden) served from the substations of the larger "
        "cities"), utilities.grid_regions, categories=utilities.grid_region_names),
    RasterLayer("grid_feed_in_congestion", "mask", (
        "Grid regions without transport capacity for new generation (netcongestie, "
        "teruglevering)"), utilities.grid_feed_in_congestion),
    RasterLayer("grid_offtake_congestion", "mask", (
        "Grid regions without transport capacity for new connections (netcongestie, "
        "afname)"), utilities.grid_offtake_congestion),
    RasterLayer("grassland_peat", "mask", (
        "Permanent grassland on peat (grasland op veen), part of today's farmland"),
        rural.grassland_peat),
    RasterLayer("agri_focus_areas", "mask", (
        "Farmland of the agricultural focus areas (landbouw aandachtsgebieden): groundwater "
        "protection, peat meadows, brook buffers and Natura 2000 transition zones"),
        rural.agri_focus_areas),
    RasterLayer("limited_urban_growth", "regions", (
        "Vulnerable landscapes (peat meadows, waterlinies, deep polders) around Amsterdam and "
        "Utrecht, where outer-urban growth is limited"), rural.limited_urban_growth,
        categories=rural.limited_urban_growth_names),
    RasterLayer("defence_training_grounds", "mask", (
        "Existing defence training grounds (oefenterreinen), without airbases and naval "
        "bases"), defence.defence_training_grounds),
    RasterLayer("defence_structure_aviation", "mask", (
        "Defence main structure 1: infrastructure for military aviation (airbases, radar "
        "posts)"), defence.defence_structure_aviation),
    RasterLayer("defence_structure_training", "mask", (
        "Defence main structure 2: space for (integrated) training and basing of units "
        "(training grounds, barracks, low-flying areas)"), defence.defence_structure_training),
    RasterLayer("defence_structure_transport", "mask", (
        "Defence main structure 3: military transport routes and storage (corridors to "
        "Germany, munitions depots)"), defence.defence_structure_transport),
    RasterLayer("defence_structure_north_sea", "mask", (
        "Defence main structure 4: space on the North Sea, its land and shore sites"),
        defence.defence_structure_north_sea),
    RasterLayer("defence_radar_zone", "mask", (
        "Zones where military radars and airfield routes restrict wind turbines "
        "(radarbeperkingengebied)"), defence.defence_radar_zone),
    RasterLayer("defence_low_flying", "mask", (
        "Military low-flying areas for helicopters (laagvlieggebieden)"),
        defence.defence_low_flying),
    RasterLayer("munitions_safety", "mask", (
        "Safety circles of munitions depots (veiligheidscirkels munitieopslag)"),
        defence.munitions_safety),
    RasterLayer("helicopter_flight_minutes", "continuous", (
        "Flight time from the nearest military helicopter base at 220 km/h"),
        defence.helicopter_flight_minutes, unit="min"),
    # pathway horizons (listed last: the layers above are made exactly as before)
    RasterLayer("flood_depth_2050", "continuous", (
        "Potential flood depth in 2050 (overstromingsdiepte; less sea-level rise than 2100)"),
        climate.flood_depth_2050, unit="m"),
    RasterLayer("subsidence_2100", "continuous", (
        "Expected land subsidence until 2100 (bodemdaling)"), climate.subsidence_2100,
        unit="cm"),
    RasterLayer("salinisation_2050", "continuous", (
        "Salinisation index 2050, 0-1 (verzilting: low land near the sea)"),
        climate.salinisation_2050, unit="index"),
    RasterLayer("salinisation_2100", "continuous", (
        "Salinisation index 2100, 0-1 (verzilting: low land near the sea)"),
        climate.salinisation_2100, unit="index"),
    # location rules (listed last: the layers above are made exactly as before)
    RasterLayer("settlement_type", "categorical", (
        "Settlement type of the core each cell belongs to (regiokern, centrumgemeente, "
        "centrumstad in een metropool, metropoolkern), for the minimum size of a housing "
        "location"), locations.settlement_type, categories=locations.SETTLEMENT_TYPES),
    RasterLayer("committed_locations", "mask", (
        "Committed housing locations (the NOVEX locations next to the 17 largest cities, "
        "decided): 1 inside a location"), locations.committed_locations),
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
