"""The use catalogue: land uses as data.

Each use has an integer ``code`` (the value in the current land-use layer and in
``allocation.tif``), labels in Dutch and English, a colour, and the properties rules need:
whether it is permanent building (``built``), its sealed share, its lifetime, its energy yield,
and what one hectare of it ``provides`` towards each target use. A single use provides itself
with factor 1; a combined use (meervoudig ruimtegebruik, e.g. nature + water buffer) provides
several target uses at once, each with its own yield factor.

Transitions between planning periods (only used when a scenario has several ``periods``):
``irreversible`` uses stay once a pathway allocates them; ``reverts_to`` names the use a
temporary use may return to after ``lifetime_years`` (a solar park to farmland);
``successors`` lists the uses that may follow this one (``None``: any allocatable use).
``sources`` says where each of these entries and ``lifetime_years`` come from: per field name
a source (``document``, ``section``, ``quote``, ``note``), or ``document: ruimteverdeling
assumption`` with the assumption in its ``note``.

``kind: allocatable`` uses may be chosen by the model for a changeable cell; ``kind: context``
uses (industry, infrastructure, open water) are fixed current land use.

The shipped catalogue lives in ``data/uses.yaml``; a scenario may override fields of a use or
add uses under ``uses:``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal

import numpy as np

from ruimteverdeling import yamlio

UseKind = Literal["allocatable", "context"]


@dataclass(frozen=True)
class Use:
    """One land use (see the module docstring)."""

    id: str
    code: int
    kind: UseKind
    label_en: str
    label_nl: str
    colour: str
    built: bool = False
    sealing: float = 0.0
    lifetime_years: float = 30.0
    provides: dict[str, float] = field(default_factory=dict)
    energy_mwh_per_ha_yr: float = 0.0
    combines: tuple[str, ...] = ()
    description: str | None = None
    irreversible: bool = False
    reverts_to: str | None = None
    successors: tuple[str, ...] | None = None
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "combines", tuple(self.combines))
        if self.successors is not None:
            object.__setattr__(self, "successors", tuple(self.successors))
        object.__setattr__(self, "provides", dict(self.provides))

    @property
    def rgb(self) -> tuple[int, int, int]:
        h = self.colour.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

    @property
    def is_combined(self) -> bool:
        """A combination of single uses (meervoudig ruimtegebruik)."""
        return len(self.combines) >= 2

    def contains(self, use_id: str) -> bool:
        """Whether this use is ``use_id`` or a combination that includes it."""
        return self.id == use_id or use_id in self.combines


class UseCatalogue:
    """An ordered, immutable collection of uses with lookup by id and code."""

    def __init__(self, uses: Iterable[Use]):
        self._uses: tuple[Use, ...] = tuple(uses)
        self._by_id = {u.id: u for u in self._uses}
        self._by_code = {u.code: u for u in self._uses}
        if len(self._by_id) != len(self._uses):
            raise ValueError("duplicate use ids in the catalogue")
        if len(self._by_code) != len(self._uses):
            raise ValueError("duplicate use codes in the catalogue")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def default(cls) -> UseCatalogue:
        """The shipped catalogue (``data/uses.yaml``)."""
        text = resources.files("ruimteverdeling").joinpath("data/uses.yaml").read_text("utf-8")
        return cls.from_dicts(yamlio.load(text, "data/uses.yaml")["uses"])

    @classmethod
    def from_dicts(cls, items: Iterable[dict[str, Any]]) -> UseCatalogue:
        return cls(Use(**item) for item in items)

    def with_overrides(self, overrides: Iterable[dict[str, Any]]) -> UseCatalogue:
        """Return a catalogue where each override updates the use with the same id,
        or adds a new use when the id is new."""
        uses = {u.id: u for u in self._uses}
        order = [u.id for u in self._uses]
        for item in overrides:
            item = {k: v for k, v in item.items() if v is not None}
            uid = item["id"]
            if uid in uses:
                uses[uid] = replace(uses[uid], **item)
            else:
                uses[uid] = Use(**item)
                order.append(uid)
        return UseCatalogue(uses[i] for i in order)

    # -- lookup -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Use]:
        return iter(self._uses)

    def __len__(self) -> int:
        return len(self._uses)

    def __contains__(self, use_id: object) -> bool:
        return use_id in self._by_id

    def __getitem__(self, use_id: str) -> Use:
        return self._by_id[use_id]

    def by_code(self, code: int) -> Use:
        return self._by_code[int(code)]

    def has_code(self, code: int) -> bool:
        return int(code) in self._by_code

    @property
    def ids(self) -> list[str]:
        return [u.id for u in self._uses]

    @property
    def allocatable(self) -> list[Use]:
        return [u for u in self._uses if u.kind == "allocatable"]

    @property
    def target_uses(self) -> set[str]:
        """Every use id that some use provides (what targets can count)."""
        out: set[str] = set()
        for u in self._uses:
            out.update(u.provides)
        return out

    def code_lut(self) -> np.ndarray:
        """A lookup table code -> index in the catalogue (-1 for unknown codes), length 256."""
        lut = np.full(256, -1, dtype=np.int16)
        for i, u in enumerate(self._uses):
            lut[u.code] = i
        return lut

    def containing(self, use_ids: Iterable[str]) -> list[str]:
        """Every use that is one of ``use_ids`` or combines one of them."""
        wanted = set(use_ids)
        return [u.id for u in self._uses if u.id in wanted or wanted & set(u.combines)]

    def providers(self, target_use: str) -> dict[str, float]:
        """Map use id -> factor for every use that provides ``target_use``."""
        return {u.id: u.provides[target_use] for u in self._uses if target_use in u.provides}
