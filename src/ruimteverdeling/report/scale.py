"""The seven-point scale of the plan-MER beoordelingstabel and how each score is shown.

The scale runs from ``--`` (large negative effect) through ``0`` (no or negligible effect) to
``++`` (large positive effect); ``n/a`` marks a criterion that cannot be scored. The scoring
rule itself lives in :mod:`ruimteverdeling.analysis.compare`.
"""

from __future__ import annotations

SCALE = ("--", "-", "0/-", "0", "0/+", "+", "++")
SCALE_TEXT = {
    "--": ("zeer negatief", "large negative effect"),
    "-": ("negatief", "negative effect"),
    "0/-": ("licht negatief", "slightly negative"),
    "0": ("neutraal", "no or negligible effect"),
    "0/+": ("licht positief", "slightly positive"),
    "+": ("positief", "positive effect"),
    "++": ("zeer positief", "large positive effect"),
    "n/a": ("niet te bepalen", "not applicable"),
}
SCORE_COLOURS = {"--": ("#b2182b", "#fff"), "-": ("#ef8a62", "#000"),
                 "0/-": ("#fddbc7", "#000"), "0": ("#eeeeee", "#000"),
                 "0/+": ("#d9f0d3", "#000"), "+": ("#7fbf7b", "#000"),
                 "++": ("#1b7837", "#fff"), "n/a": ("#ffffff", "#777")}
"""(background, text) colour of each score's chip: red for worse, green for better."""
