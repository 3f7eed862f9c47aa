"""Codes, targets and units of the synthetic study area.

The land-use codes are the use ids of the use catalogue (``data/uses.yaml``); soil, landscape
and agricultural-quality codes are the categories written to ``area.yaml``. Code 0 is always
"outside the study area".
"""

from __future__ import annotations

#: Written into every layer's ``version``; bump it when the generator's output changes.
GENERATOR_VERSION = "synthetic-nl 1.4"

#: Land-use codes (see ``data/uses.yaml``).
USE_CODES: dict[int, str] = {
    1: "housing", 2: "nature", 3: "agriculture", 4: "solar", 5: "wind", 6: "water_buffer",
    7: "defence", 21: "industry", 22: "infrastructure", 23: "water",
}
HOUSING, NATURE, AGRICULTURE, SOLAR, WIND, WATER_BUFFER, DEFENCE = 1, 2, 3, 4, 5, 6, 7
INDUSTRY, INFRASTRUCTURE, WATER = 21, 22, 23

#: Target shares of the study-area cells (water is mostly geometry, agriculture the rest).
TARGET_SHARES: dict[str, float] = {
    "housing": 0.108, "industry": 0.025, "infrastructure": 0.034, "nature": 0.176,
    "defence": 0.008, "solar": 0.003, "wind": 0.002, "water_buffer": 0.002, "water": 0.084,
}

SOIL_CODES = {1: "sand", 2: "marine_clay", 3: "river_clay", 4: "peat", 5: "loess",
              6: "dune_sand"}
SAND, MARINE_CLAY, RIVER_CLAY, PEAT, LOESS, DUNE = 1, 2, 3, 4, 5, 6
LANDSCAPE_CODES = {1: "hogere_zandgronden", 2: "rivierengebied", 3: "zeekleigebied",
                   4: "veenweide", 5: "duinen_en_kust", 6: "heuvelland", 7: "stedelijk"}
AGRI_QUALITY_CODES = {1: "best", 2: "moderate", 3: "challenging"}

#: Nodata of the continuous (float) rasters.
FLOAT_NODATA = -9999.0
#: Metres per kilometre: the geography is drawn in km, the world is in metres.
KM = 1000.0
