"""Reading scenario files: YAML, ``extends:``, the protection of decided items, validation.

``extends: base.yaml`` loads the base scenario first and applies this file on top of it
(:func:`merge`):

* mappings are merged key by key; a key whose value is ``null`` (``~``, or nothing after the
  colon) is **removed** from the base (``per_region: {Noord-Holland: null}`` drops one value,
  ``scaling: null`` the whole section) — the rule of JSON Merge Patch (RFC 7386);
* lists of items with an ``id`` (targets, rules, uses) are merged item by item: an item with a
  known id updates that item, a new id is appended, and ``{id: ..., remove: true}`` deletes an
  item;
* ``overrides:`` are merged by the rule they override: a variant's override of a rule replaces
  the base's override of that rule, the base's other overrides are kept, and
  ``{rule: ..., remove: true}`` drops the base's override (:func:`merge_overrides`);
* any other list replaces the base's list.

Paths (``area:``) are relative to the file that names them. :class:`Origins` records which
file set what, so that problems name the file a value comes from, and the overrides can be
reported with their files.

Two checks run on the files before the merged document is validated: an id (or an overridden
rule) given twice in one file's list (it would be merged silently), and a variant that changes
a gemaakte keuze (status G) of its base directly instead of through ``overrides:`` (comply or
explain).

:func:`load_scenario` validates the merged document against the rule families it is given (the
scenario layer does not know them; :func:`ruimteverdeling.rules.load_scenario` passes the
registry).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ruimteverdeling import yamlio
from ruimteverdeling.errors import InputError, Problem
from ruimteverdeling.scenario.origins import Origins, OverrideOrigin
from ruimteverdeling.scenario.schema import RuleFamilies, Scenario, scenario_model
from ruimteverdeling.strict import pydantic_problems


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping through the guarded loader (:mod:`ruimteverdeling.yamlio`), with
    errors that name the file and the line."""
    if not path.exists():
        raise InputError.single(path, None, "file not found", "check the path")
    if path.is_dir():
        raise InputError.single(path, None, "is a directory, not a scenario file",
                                "give the path of a .yaml file")
    raw = yamlio.load_file(path, "scenario file")
    if raw is None:
        raise InputError.single(path, None, "the file is empty",
                                "write a scenario (see scenarios/base.yaml)")
    if not isinstance(raw, dict):
        raise InputError.single(path, None, "expected a mapping at the top level",
                                "start the file with keys such as `id:`, `area:`, `targets:`")
    return raw


def _resolve_paths(raw: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    raw = dict(raw)
    if isinstance(raw.get("area"), str):
        p = Path(raw["area"])
        if not p.is_absolute():
            raw["area"] = str((base_dir / p).resolve())
    return raw


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``base`` (see the module docstring): ``null`` removes a
    key, lists of items with an ``id`` are merged by id, other values replace the base's."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            elif key in base and base[key] is not None:
                out[key] = merge(base[key], value)
            else:
                out[key] = _without_nulls(value)
        return out
    if isinstance(base, list) and isinstance(override, list) and _is_id_list(base) \
            and _is_id_list(override):
        out = [copy.deepcopy(item) for item in base]
        index = {item["id"]: i for i, item in enumerate(out)}
        for item in override:
            if item.get("remove"):
                if item["id"] in index:
                    out[index[item["id"]]] = None
                continue
            if item["id"] in index:
                out[index[item["id"]]] = merge(out[index[item["id"]]], item)
            else:
                index[item["id"]] = len(out)
                out.append(_without_nulls(item))
        return [item for item in out if item is not None]
    return copy.deepcopy(override)


def _without_nulls(value: Any) -> Any:
    """A copy of a value a variant adds, without the keys it sets to ``null`` (they remove
    nothing, since the base does not have them)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)


def _is_id_list(items: list) -> bool:
    return all(isinstance(i, dict) and "id" in i for i in items)


def merge_overrides(base: Any, variant: Any, path: Path, origins: Origins | None = None
                    ) -> list[Any] | None:
    """The ``overrides:`` of a variant merged onto its base's, by the rule they override.

    A variant's override of a rule replaces the base's override of that rule (in its place);
    the base's other overrides are kept, new ones are appended, ``{rule: ..., remove: true}``
    drops the base's override of the rule, and ``overrides: null`` drops them all. Records in
    ``origins`` which file each override in effect comes from (and what it replaced).
    Returns None when nothing is left.
    """
    file = str(path)
    if variant is None:
        if origins is not None:
            origins.removed_overrides += [(rule, file, o.file)
                                          for rule, o in origins.overrides.items()]
            origins.overrides.clear()
        return None
    if not isinstance(variant, list) or not all(
            isinstance(o, dict) and isinstance(o.get("rule"), str) for o in variant):
        return copy.deepcopy(variant)  # malformed: the schema reports it
    out: dict[str, Any] = {}
    if isinstance(base, list):
        for o in base:
            if isinstance(o, dict) and isinstance(o.get("rule"), str):
                out[o["rule"]] = copy.deepcopy(o)
    problems = []
    for i, o in enumerate(variant):
        rule = o["rule"]
        if o.get("remove"):
            if rule not in out:
                problems.append(Problem(
                    path, f"overrides[{i}]", f"removes the override of '{rule}', but no "
                    "scenario this file extends overrides it", "remove this entry"))
                continue
            del out[rule]
            if origins is not None:
                old = origins.overrides.pop(rule, None)
                origins.removed_overrides.append((rule, file, old.file if old else "?"))
            continue
        out[rule] = copy.deepcopy(o)
        if origins is not None:
            old = origins.overrides.get(rule)
            origins.overrides[rule] = OverrideOrigin(
                rule, file, i, o.get("action"),
                (old.file, old.index, old.action) if old is not None else None)
    if problems:
        raise InputError(problems)
    return list(out.values()) or None


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """Read a scenario file and everything it extends; return the merged mapping and the chain."""
    raw, chain, _ = load_traced(path, _seen)
    return raw, chain


def load_traced(path: str | Path, _seen: tuple[Path, ...] = ()
                ) -> tuple[dict[str, Any], list[str], Origins]:
    """:func:`load_raw`, and the :class:`Origins` of the merged mapping (which file set what)."""
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise InputError.single(path, "extends", f"circular `extends:` ({chain})",
                                "remove the cycle")
    raw = _resolve_paths(read_yaml(path), path.parent)
    _check_duplicate_ids(raw, path)
    ext = raw.get("extends")
    if ext is None:
        origins = Origins()
        origins.record(raw, str(path))
        merge_overrides(None, raw.get("overrides") or [], path, origins)
        origins.finish(raw)
        return raw, [str(path)], origins
    if not isinstance(ext, str):
        raise InputError.single(path, "extends", "must be the path of a base scenario file",
                                "e.g. `extends: base.yaml`")
    base_path = (path.parent / ext).resolve()
    if not base_path.exists():
        raise InputError.single(path, "extends", f"base scenario not found: {base_path}",
                                "give a path relative to this file")
    base, chain, origins = load_traced(base_path, (*_seen, path))
    _protect_decided(base, raw, path)
    merged = merge(base, {k: v for k, v in raw.items() if k != "overrides"})
    if "overrides" in raw:
        overrides = merge_overrides(base.get("overrides"), raw["overrides"], path, origins)
        if overrides is None:
            merged.pop("overrides", None)
        else:
            merged["overrides"] = overrides
    origins.record(raw, str(path))
    origins.finish(merged)
    return merged, [*chain, str(path)], origins


def _check_duplicate_ids(raw: dict[str, Any], path: Path) -> None:
    """Two items with the same id in one file's ``targets``, ``rules`` or ``uses``.

    ``extends`` merges a variant's items into the base by id, so two entries with one id in a
    variant would be merged silently, the second over the first; in any file they are a
    mistake. Every pair is reported with both positions.
    """
    problems = []
    for key in ("targets", "rules", "uses", "overrides"):
        items = raw.get(key)
        if not isinstance(items, list):
            continue
        name = "rule" if key == "overrides" else "id"
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            ident = item.get(name) if isinstance(item, dict) else None
            if not isinstance(ident, str | int) or isinstance(ident, bool):
                continue
            ident = str(ident)
            if ident in first:
                j = first[ident]
                what = f"'{ident}' is overridden twice" if key == "overrides" else \
                    f"duplicate id '{ident}'"
                problems.append(Problem(
                    path, f"{key}[{i}].{name}",
                    f"{what}: {key}[{j}] and {key}[{i}] both have it",
                    f"give every item its own id, or put all changes to '{ident}' in one "
                    f"entry ({key}[{j}])"))
            else:
                first[ident] = i
    if problems:
        raise InputError(problems)


def _protect_decided(base: dict[str, Any], variant: dict[str, Any], path: Path) -> None:
    """A variant may not change a G (gemaakte keuze) rule or target directly.

    Comply or explain: such a change must go through ``overrides:`` with a justification, so
    that it is reported. Only ``description`` may be restated.
    """
    problems = []
    for key in ("rules", "targets"):
        decided = {item.get("id"): item for item in base.get(key) or []
                   if isinstance(item, dict) and item.get("status") == "G"}
        for i, item in enumerate(variant.get(key) or []):
            if not isinstance(item, dict) or item.get("id") not in decided:
                continue
            changed = sorted(k for k in item if k not in ("id", "description"))
            if changed:
                what = "removes" if item.get("remove") else f"changes {', '.join(changed)} of"
                problems.append(Problem(
                    path, f"{key}[{i}]",
                    f"this variant {what} '{item['id']}', a gemaakte keuze (status G)",
                    f"relax it through `overrides: [{{rule: {item['id']}, action: "
                    "disable|soften|set, justification: ...}]` (comply or explain)"))
    if problems:
        raise InputError(problems)


def load_scenario(path: str | Path, families: RuleFamilies) -> Scenario:
    """Load, merge (``extends:``) and validate a scenario file.

    Each ``rules:`` entry is validated by the schema of the family in ``families`` that its
    ``type:`` names. Every problem is raised at once as an :class:`InputError` naming the file
    and the field.
    """
    path = Path(path).resolve()
    raw, chain, origins = load_traced(path)
    model = scenario_model(families)
    try:
        scenario = model.model_validate(raw)
    except ValidationError as exc:
        problems = pydantic_problems(exc, path, model)
        if len(chain) > 1:
            note = f" (after applying extends: {', '.join(Path(c).name for c in chain[:-1])})"
            problems = [Problem(p.file, p.field, p.message + note, p.fix) for p in problems]
        raise InputError(problems) from None
    scenario.path = path
    scenario.chain = chain
    scenario.origins = origins
    return scenario
