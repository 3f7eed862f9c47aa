"""Which version of the synthetic generator made a study area, and what to do when it is not
this engine's.

``make-area`` records :data:`~ruimteverdeling.synthetic.codes.GENERATOR_VERSION`
(``synthetic-nl X.Y``) in ``area.yaml``: under ``generator.generator_version`` and as every
layer's ``version`` (a coarsened copy keeps the layers' versions). A scenario of this engine
may name layers an older generator did not write, or rely on a mask the older one left empty,
so the rule checks add :func:`regenerate_hint` to such problems, and ``ruimteverdeling demo``
and ``ruimteverdeling bench`` regenerate an outdated area of their own.

Imports nothing heavy: the rule checks of every command read it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruimteverdeling.synthetic.codes import GENERATOR_VERSION

PREFIX = "synthetic-nl"


def made_by(generator: Mapping[str, Any] | None, layer_versions: Any = ()) -> str | None:
    """The synthetic generator version recorded for an area (``generator.generator_version``,
    else the oldest ``synthetic-nl`` version among its layers), or None for an area the
    synthetic generator did not make."""
    recorded = (generator or {}).get("generator_version")
    if isinstance(recorded, str) and recorded.startswith(PREFIX):
        return recorded
    versions = sorted({v for v in layer_versions if isinstance(v, str) and v.startswith(PREFIX)},
                      key=_key)
    return versions[0] if versions else None


def _key(version: str) -> tuple[int, ...]:
    digits = version[len(PREFIX):].strip()
    try:
        return tuple(int(p) for p in digits.split("."))
    except ValueError:
        return (-1,)


def outdated(generator: Mapping[str, Any] | None, layer_versions: Any = ()) -> str | None:
    """The recorded version when an area was made by another synthetic generator version than
    this engine's (:data:`GENERATOR_VERSION`), else None (current, or not synthetic)."""
    version = made_by(generator, layer_versions)
    return version if version is not None and version != GENERATOR_VERSION else None


def of_manifest(manifest: Any) -> str | None:
    """:func:`outdated` for an :class:`~ruimteverdeling.area.manifest.AreaManifest`."""
    return outdated(manifest.generator, (s.version for s in manifest.layers.values()))


def make_area_command(folder: str | Path, generator: Mapping[str, Any] | None) -> str:
    """The ``make-area`` command that makes the area again (its recorded cells, resolution
    and seed), for a fix."""
    gen = generator or {}
    parts = [f"ruimteverdeling make-area {shlex.quote(str(folder))}"]
    for option, key in (("--cells", "cells_requested"), ("--resolution", "resolution"),
                        ("--seed", "seed")):
        value = gen.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{option} {value:g}")
    return " ".join(parts)


def regenerate_hint(manifest: Any, folder: str | Path) -> str | None:
    """The sentence for a fix when the area of ``manifest`` (in ``folder``) was made by another
    generator version: "made by synthetic-nl 1.0; regenerate with make-area (...)". None for a
    current or non-synthetic area. A coarsened copy names its fine area."""
    version = of_manifest(manifest)
    if version is None:
        return None
    gen = manifest.generator or {}
    source = gen.get("coarsened_from")
    if isinstance(source, str):
        return (f"the study area is a coarsened copy of {source}, made by {version}; "
                f"regenerate that area with make-area (this engine's generator is "
                f"{GENERATOR_VERSION})")
    return (f"the study area was made by {version}; regenerate with make-area (this engine's "
            f"generator is {GENERATOR_VERSION}): `{make_area_command(folder, gen)}`")
