"""The Dutch land-use code lists and the layer sources shipped as package data.

``data/codelists/<id>.yaml`` holds a land-use classification — CBS Bestand Bodemgebruik
(``bbg``) and the Landelijk Grondgebruiksbestand Nederland (``lgn``) — with each code's Dutch
name, main group and the engine's current-use id it is read as (or ``outside``), and says in
its header what was checked against what. ``data/sources.yaml`` lists every layer the shipped
scenarios use: its kind, what it is for, where to get it (PDOK services with their layer
names) and how ``ruimteverdeling area init`` recognises it.

:func:`detect` picks the code list that a set of codes belongs to: the lists containing every
code, and among several (BBG and LGN share many codes) the one a name hint points at, else the
one with the largest share of its codes used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ruimteverdeling import yamlio

OUTSIDE = "outside"


@dataclass(frozen=True)
class Code:
    """One class of a code list."""

    code: int
    name: str
    group: str | None
    use: str
    note: str | None = None
    verified: bool = True


@dataclass(frozen=True)
class CodeList:
    """A land-use classification and its mapping to the engine's current uses."""

    id: str
    title: str
    codes: dict[int, Code]
    column_pattern: str
    name_hints: tuple[str, ...]
    editions: tuple[str, ...] = ()

    def categories(self) -> dict[int, str]:
        """``{code: use id}`` for ``categories:`` of the land-use layer in area.yaml."""
        return {c.code: c.use for c in self.codes.values()}

    def matches_column(self, column: str) -> bool:
        return re.match(self.column_pattern, column.strip(), re.IGNORECASE) is not None

    def hinted_by(self, text: str) -> bool:
        low = text.lower()
        return any(h in low for h in self.name_hints)


@cache
def codelist(list_id: str) -> CodeList:
    """The code list ``bbg`` or ``lgn`` (KeyError for others)."""
    if list_id not in codelist_ids():
        raise KeyError(list_id)
    text = resources.files("ruimteverdeling").joinpath(
        f"data/codelists/{list_id}.yaml").read_text(encoding="utf-8")
    raw = yamlio.load(text, f"data/codelists/{list_id}.yaml")
    groups = {int(k): str(v) for k, v in (raw.get("groups") or {}).items()}
    codes = {}
    for k, v in raw["codes"].items():
        g = v.get("group")
        codes[int(k)] = Code(int(k), str(v["name"]), groups.get(g) if g is not None else None,
                             str(v["use"]), v.get("note"), bool(v.get("verified", True)))
    return CodeList(raw["id"], raw["title"], codes, raw["column_pattern"],
                    tuple(raw.get("name_hints") or ()), tuple(raw.get("editions") or ()))


@cache
def codelist_ids() -> tuple[str, ...]:
    folder = resources.files("ruimteverdeling").joinpath("data/codelists")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def detect(values: Iterable[int], hint: str = "") -> CodeList | None:
    """The code list ``values`` (codes > 0) belong to, or None (module docstring)."""
    vals = {int(v) for v in values if int(v) > 0}
    if not vals:
        return None
    full = [codelist(i) for i in codelist_ids() if vals <= set(codelist(i).codes)]
    if not full:
        return None
    hinted = [c for c in full if c.hinted_by(hint)]
    if len(hinted) == 1:
        return hinted[0]
    return max(full, key=lambda c: len(vals) / len(c.codes))


@dataclass(frozen=True)
class Source:
    """Where a layer comes from and how ``area init`` recognises it (``data/sources.yaml``)."""

    name: str
    kind: str
    purpose: str
    get: tuple[dict[str, Any], ...]
    unit: str | None = None
    required: bool = False
    codelists: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    geometry: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def where(self) -> str:
        """The first place to get it, in one line (dataset, provider, address, layer)."""
        return self.places()[0]

    def places(self) -> list[str]:
        """Every place to get it, one line each (see :meth:`where`)."""
        out = []
        for g in self.get or ({},):
            text = f"{g.get('dataset', '?')} ({g.get('provider', '?')}): {g.get('url', '')}"
            if g.get("layer"):
                text += f", layer {g['layer']}"
            if not g.get("verified", False):
                text += " [address not verified]"
            out.append(text)
        return out


@cache
def sources() -> dict[str, Source]:
    """Every layer of ``data/sources.yaml``, by layer name."""
    text = resources.files("ruimteverdeling").joinpath("data/sources.yaml").read_text(
        encoding="utf-8")
    out = {}
    for name, v in yamlio.load(text, "data/sources.yaml")["layers"].items():
        m = v.get("match") or {}
        out[name] = Source(name, v["kind"], " ".join(str(v["for"]).split()),
                           tuple(v.get("get") or ()), v.get("unit"), bool(v.get("required")),
                           tuple(v.get("codelists") or ()), tuple(m.get("names") or ()),
                           tuple(c.lower() for c in m.get("columns") or ()), m.get("geometry"))
    return out
