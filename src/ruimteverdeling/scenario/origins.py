"""Which file of an ``extends:`` chain set which part of a scenario.

A variant is read on top of its base (:mod:`ruimteverdeling.scenario.loader`), so the merged
document no longer says where a value came from: the third rule of the merged list may be the
first rule of ``base.yaml``, changed by the second entry of ``variant.yaml``. :class:`Origins`
keeps that record while the files are merged, so that a problem names the file and the
position a user has to edit (``base.yaml: rules[0].layer``), and so that the overrides can be
reported with the file each comes from.

Records, per file of the chain (base first):

* ``keys`` — every mapping key by its path (``("housing_density", "per_region", "Utrecht")``),
  with the last file that set it; a key removed by ``null`` is dropped with everything below it;
* ``items`` — every entry of ``rules``, ``targets`` and ``uses`` by its id: each file that
  wrote an entry for it, the entry's position in that file and the keys the entry gave;
* ``overrides`` — the override in effect for each rule: the file and position it comes from,
  and the base's overrides that a variant replaced or removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ITEM_LISTS = ("rules", "targets", "uses")
"""Top-level lists whose entries are merged by ``id``."""


@dataclass(frozen=True)
class Touch:
    """One file's entry for an item: the file, the entry's position and the keys it gave."""

    file: str
    index: int
    keys: frozenset[str]


@dataclass(frozen=True)
class OverrideOrigin:
    """Where the override of one rule comes from (and which base override it replaced)."""

    rule: str
    file: str
    index: int
    action: str | None
    replaced: tuple[str, int, str | None] | None = None
    """``(file, index, action)`` of the base's override of the same rule that this one
    replaced, if any."""


@dataclass
class Origins:
    """The record of :mod:`ruimteverdeling.scenario.origins` for one merged scenario."""

    files: list[str] = field(default_factory=list)
    keys: dict[tuple[str, ...], str] = field(default_factory=dict)
    items: dict[tuple[str, str], list[Touch]] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)
    """The ids of each item list in the merged document, in order."""
    overrides: dict[str, OverrideOrigin] = field(default_factory=dict)
    removed_overrides: list[tuple[str, str, str]] = field(default_factory=list)
    """``(rule, file that removed it, file it came from)`` for every base override a variant
    dropped with ``{rule: ..., remove: true}`` or ``overrides: null``."""

    # -- recording (by the loader, one file at a time, base first) ----------------------------
    def record(self, raw: dict[str, Any], file: str) -> None:
        """Record what ``raw`` (one file, before merging) sets."""
        self.files.append(file)
        for key, value in raw.items():
            if key in ITEM_LISTS and isinstance(value, list):
                for i, item in enumerate(value):
                    if not isinstance(item, dict) or "id" not in item:
                        continue
                    ident = str(item["id"])
                    if item.get("remove"):
                        self.items.pop((key, ident), None)
                        self._drop((key, ident))
                        continue
                    self.items.setdefault((key, ident), []).append(
                        Touch(file, i, frozenset(str(k) for k in item)))
                    self._keys((key, ident), item, file)
            elif key == "overrides":
                continue  # recorded by the loader as the overrides are merged
            else:
                self._keys((str(key),), value, file)

    def _keys(self, path: tuple[str, ...], value: Any, file: str) -> None:
        if value is None:
            self._drop(path)
            return
        self.keys[path] = file
        if isinstance(value, dict):
            for k, v in value.items():
                self._keys((*path, str(k)), v, file)

    def _drop(self, path: tuple[str, ...]) -> None:
        n = len(path)
        for key in [k for k in self.keys if k[:n] == path]:
            del self.keys[key]

    def finish(self, merged: dict[str, Any]) -> None:
        """Note the order of the merged item lists."""
        for key in ITEM_LISTS:
            items = merged.get(key)
            if isinstance(items, list):
                self.order[key] = [str(i["id"]) for i in items
                                   if isinstance(i, dict) and "id" in i]

    # -- questions --------------------------------------------------------------------------------
    @property
    def main(self) -> str | None:
        """The scenario file itself (the last of the chain)."""
        return self.files[-1] if self.files else None

    def file_of(self, path: tuple[str, ...]) -> str | None:
        """The file that set ``path`` (or, when no file set exactly it, the longest part of
        it that a file set); the scenario file itself when nothing is recorded."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.keys:
                return self.keys[path[:n]]
        return self.main

    def item(self, key: str, ident: str, field_name: str | None = None) -> Touch | None:
        """The entry to cite for item ``ident`` of list ``key``: the last file whose entry
        gave ``field_name``, else the entry that defined the item (the first)."""
        touches = self.items.get((key, ident))
        if not touches:
            return None
        if field_name is not None:
            for t in reversed(touches):
                if field_name in t.keys:
                    return t
        return touches[0]

    def locate(self, field_path: str) -> tuple[str | None, str]:
        """``(file, field)`` to cite for a field of the *merged* document.

        ``rules[7].layer`` becomes ``rules[0].layer`` of the file whose entry gave ``layer``
        for that rule (or that defined the rule); a mapping path such as
        ``housing_density.per_region.Utrecht`` is cited in the file that set it.
        """
        m = re.match(r"^(rules|targets|uses)\[(\d+)\](.*)$", field_path)
        if m:
            key, index, rest = m.group(1), int(m.group(2)), m.group(3)
            ids = self.order.get(key, [])
            if index < len(ids):
                first = re.match(r"^\.([^.\[]+)", rest)
                touch = self.item(key, ids[index], first.group(1) if first else None)
                if touch is not None:
                    return touch.file, f"{key}[{touch.index}]{rest}"
            return self.main, field_path
        m = re.match(r"^overrides\[(\d+)\](.*)$", field_path)
        if m:
            origins = list(self.overrides.values())
            index = int(m.group(1))
            if index < len(origins):
                o = origins[index]
                return o.file, f"overrides[{o.index}]{m.group(2)}"
            return self.main, field_path
        parts = tuple(p for p in re.split(r"[.\[\]]+", field_path) if p)
        return self.file_of(parts), field_path

    def name(self, file: str | None) -> str:
        """A file's name as cited in notes."""
        return Path(file).name if file else "?"
