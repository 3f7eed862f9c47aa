"""The run manifest: what went in (scenario, input hashes, versions) and what came out.

:func:`run_manifest` is the ``manifest.json`` of a run folder. Its *record* — the engine
version, the resolved scenario and the sha256 of every input file — decides whether a run is
up to date: :func:`recorded` reads it from a manifest, :func:`fingerprint_record` builds it
for a run not yet made, both in the JSON form the manifest is written in.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from ruimteverdeling import __version__
from ruimteverdeling.area.studyarea import sha256_file
from ruimteverdeling.jsonio import normalised
from ruimteverdeling.model.highs_backend import version as highs_version
from ruimteverdeling.model.solve import Solution
from ruimteverdeling.rules.compile import CompiledModel

PACKAGES = ("numpy", "scipy", "highspy", "pyomo", "rasterio", "geopandas", "pyogrio",
            "shapely", "pydantic", "pyyaml", "click", "dask", "distributed")


def package_versions() -> dict[str, str]:
    out = {"ruimteverdeling": __version__, "python": sys.version.split()[0]}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    with contextlib.suppress(Exception):
        out["HiGHS"] = highs_version()
    try:
        import rasterio  # deferred: GDAL takes a second to load; only writing needs it

        out["GDAL"] = rasterio.__gdal_version__
    except Exception:  # pragma: no cover
        pass
    return out


def scenario_hashes(chain: list[str]) -> dict[str, str]:
    return {str(Path(p).name): sha256_file(Path(p)) for p in chain}


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.machine(),
            "cpu_count": os.cpu_count()}


def run_manifest(cm: CompiledModel, sol: Solution, timings: dict[str, float],
                 started: _dt.datetime, finished: _dt.datetime, outputs: list[str]
                 ) -> dict[str, Any]:
    """``manifest.json`` of a complete run folder holding ``outputs``."""
    return {
        "ruimteverdeling": __version__,
        "scenario": cm.scenario.resolved(),
        "scenario_files": scenario_hashes(cm.scenario.chain),
        "inputs": {"area": str(cm.area.path), "sha256": cm.area.file_hashes()},
        "versions": package_versions(),
        "machine": machine(),
        "solver": {"backend": sol.backend, "solver": sol.solver, "method": sol.method,
                   "options": cm.scenario.solver.model_dump(mode="json"),
                   "details": sol.details},
        "status": sol.status,
        "optimal": sol.optimal,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "decision_gap": sol.decision_gap,  # what mip_rel_gap refers to (model/outcomes.py)
        "status_quo_value": sol.status_quo_value,
        "seconds": {**{k: round(v, 3) for k, v in timings.items()},
                    **{f"solver.{k}": round(v, 3) for k, v in sol.seconds.items()},
                    **{f"compile.{k}": round(v, 3) for k, v in cm.timings.items()}},
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "outputs": outputs,
        "complete": True,
    }


def fingerprint_record(resolved_scenario: dict[str, Any], area: Path,
                       hashes: dict[str, str]) -> dict[str, Any]:
    """The record a run of ``resolved_scenario`` on the study area ``area`` (area.yaml) with
    input files of ``hashes`` would write (as :func:`recorded` reads it back)."""
    return normalised({"engine": __version__, "scenario": resolved_scenario,
                       "inputs": {"area": str(area), "sha256": hashes}})


def recorded(manifest: dict[str, Any]) -> dict[str, Any]:
    """The record of a run's manifest: engine version, resolved scenario, input files."""
    inputs = manifest.get("inputs")
    return normalised({"engine": manifest.get("ruimteverdeling"),
                       "scenario": manifest.get("scenario"),
                       "inputs": {"area": inputs.get("area"), "sha256": inputs.get("sha256")}
                       if isinstance(inputs, dict) else None})
