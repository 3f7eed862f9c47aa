"""Sweep files: a base scenario and lists of parameter values, expanded into scenario points.

::

    base: ../scenarios/base.yaml        # relative to the sweep file
    id: nature-sweep                    # prefix of the point ids (default: the file name)
    point_ids: readable                 # readable (default) | index
    parameters:                         # the cartesian product of these value lists
      targets.green_blue_network_focus_areas.min: [0.10, 0.15, 0.20]
      rules.no_housing_industry_contours.enabled: [true, false]

A parameter is a path into the (merged) base scenario. Its parts are separated by dots; a part
may also be written in brackets, which allows dots inside it (``targets[homes.v2].min``). In a
list of items with an ``id`` (targets, rules, uses) a part selects the item by id; in any other
list it is a 0-based index (``suitability.housing.terms[0].points`` — the point then carries the
whole list, since ``extends`` replaces such lists as a whole); elsewhere it is a mapping key.
Values replace the base value (a mapping given for a whole item is merged into it). ``id`` and
``extends`` cannot be swept; an ``area`` value is relative to the sweep file.

Point ids (stable: they depend only on the sweep file): ``<prefix>__<name>-<value>__...`` with
one ``<name>-<value>`` per parameter, in the order of the file. ``<name>`` is the last part of
the path, or as many trailing parts as make it unique among the parameters
(``agriculture_critical_mass.min``); ``<value>`` is the value as YAML reads it (``300000``,
``1.1`` for ``1.10``, ``true``) with characters other than letters, digits, ``_ . -`` replaced
by ``_``.
When a parameter's values do not give distinct, short (≤ 40 characters) tokens — lists,
mappings, long texts — its token is ``v<n>``, the 1-based position of the value in its list.
A gemaakte keuze (status G) cannot be changed by a point directly (as in any variant); sweep
whole ``overrides:`` lists for those. ``point_ids: index`` gives
``<prefix>__<nnn>`` instead (the position in the product, from 000; these change when the lists
are reordered).
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.rules import load_scenario, scenario_model
from ruimteverdeling.scenario import load_raw, merge, read_yaml
from ruimteverdeling.strict import ID_PATTERN as _ID_PATTERN
from ruimteverdeling.strict import invalid, pydantic_problems

ID_PATTERN = re.compile(_ID_PATTERN)
MAX_ID_LENGTH = 120
MAX_TOKEN_LENGTH = 40


@dataclass
class SweepPoint:
    """One point of a sweep: its id, the overrides (a partial scenario) and the assignment."""

    id: str
    overrides: dict[str, Any]
    assignment: list[tuple[str, Any]]
    index: int


@dataclass
class Sweep:
    """A checked sweep file: its base scenario, the parameters and the expanded points."""

    path: Path
    base: Path
    prefix: str
    point_ids: str
    parameters: list[tuple[str, list[Any]]]
    points: list[SweepPoint] = field(default_factory=list)


class _SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: str
    id: str | None = Field(default=None, pattern=ID_PATTERN.pattern)
    description: str | None = None
    point_ids: Literal["readable", "index"] = "readable"
    parameters: dict[str, list[Any]]

    @field_validator("parameters")
    @classmethod
    def _not_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not v:
            raise invalid("no parameters to sweep", "add at least one `path: [value, ...]`, "
                          "e.g. `targets.agriculture_critical_mass.min: [0.9, 1.0]`")
        empty = [k for k, values in v.items() if not values]
        if empty:
            raise invalid(f"empty value list for {', '.join(empty)}", "give at least one "
                          "value, e.g. `[0.9, 1.0]`, or remove the parameter")
        return v


# ------------------------------------------------------------------------------------------------
# the path language
# ------------------------------------------------------------------------------------------------
_NAME, _KEY = r"[^.\[\]]+", r"[^\[\]]+"
_PATH = re.compile(rf"(?:{_NAME}|\[{_KEY}\])(?:\.{_NAME}|\[{_KEY}\])*")
_PART = re.compile(rf"\[({_KEY})\]|({_NAME})")


def parse_path(path: str) -> list[str]:
    """Split a parameter path into its parts (``a.b[c.d].e`` -> ``[a, b, c.d, e]``).

    Raises ValueError saying what is wrong when the path is malformed.
    """
    if not path.strip():
        raise ValueError("the path is empty")
    if _PATH.fullmatch(path) is None:
        if path.count("[") != path.count("]"):
            reason = "unbalanced brackets"
        elif ".." in path or path.startswith(".") or path.endswith("."):
            reason = "an empty part (two dots, or a dot at the start or the end)"
        elif "[]" in path:
            reason = "empty brackets"
        else:
            reason = "a part must follow a '.' or stand in brackets"
        raise ValueError(f"'{path}' is not a valid path: {reason}")
    parts = [m.group(1) if m.group(1) is not None else m.group(2)
             for m in _PART.finditer(path)]
    for part in parts:
        if part != part.strip():
            raise ValueError(f"part '{part}' of '{path}' starts or ends with a space")
    return parts


class _Items:
    """Overrides of items of an id-list, by id (turned into ``[{id: ..., ...}]`` at the end)."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}


class _Whole:
    """A plain list (no ids) that a point must carry as a whole: a copy of the base list."""

    def __init__(self, data: list[Any]) -> None:
        self.data = data


def _is_id_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and \
        all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


class _PathError(Exception):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message, self.fix = message, fix


def _assign(base: Any, over: Any, parts: list[str], value: Any, walked: list[str]) -> Any:
    """Return the override node ``over`` with ``value`` set at ``parts`` (walking ``base``)."""
    if not parts:
        if isinstance(over, _Items | _Whole):  # pragma: no cover - prevented by overlap check
            raise _PathError("overlaps another parameter", "sweep each field once")
        return value
    part, rest = parts[0], parts[1:]
    here = ".".join(walked) or "the scenario"
    if _is_id_list(base):
        ids = [item["id"] for item in base]
        if part not in ids:
            raise _PathError(f"no item with id '{part}' in `{here}` of the base scenario",
                             did_you_mean(part, ids))
        item = base[ids.index(part)]
        node = over if isinstance(over, _Items) else _Items()
        if not rest and not isinstance(value, dict):
            raise _PathError(f"`{here}.{part}` is a whole item; its values must be mappings",
                             f"address a field of the item, e.g. `{here}.{part}.min`")
        if rest and rest[0] == "id":
            raise _PathError("the id of an item cannot be swept",
                             "sweep another field of the item")
        if not rest:
            node.items[part] = dict(value)
        else:
            node.items[part] = _assign(item, node.items.get(part), rest, value, [*walked, part])
        return node
    if isinstance(base, list):
        try:
            index = int(part)
        except ValueError:
            raise _PathError(f"`{here}` is a list without ids; '{part}' is not an index",
                             f"give a 0-based index, e.g. `{here}[0]`") from None
        if not -len(base) <= index < len(base):
            raise _PathError(f"index {index} is out of range: `{here}` has {len(base)} items",
                             f"use an index from 0 to {len(base) - 1}")
        node = over if isinstance(over, _Whole) else _Whole(_copy(base))
        node.data[index] = _set_plain(node.data[index], rest, value, [*walked, part])
        return node
    if base is not None and not isinstance(base, dict):
        raise _PathError(f"`{here}` is a {_kind(base)} in the base scenario; there is nothing "
                         f"inside it to set", f"end the path at `{here}`")
    node = over if isinstance(over, dict) else {}
    sub = base.get(part) if isinstance(base, dict) else None
    node[part] = _assign(sub, node.get(part), rest, value, [*walked, part])
    return node


def _set_plain(node: Any, parts: list[str], value: Any, walked: list[str]) -> Any:
    """Set ``value`` at ``parts`` inside plain data (a copy), creating mappings as needed."""
    if not parts:
        return _copy(value)
    part, rest = parts[0], parts[1:]
    here = ".".join(walked)
    if isinstance(node, list):
        if _is_id_list(node) and part in [i["id"] for i in node]:
            index = [i["id"] for i in node].index(part)
        else:
            try:
                index = int(part)
            except ValueError:
                raise _PathError(f"`{here}` is a list; '{part}' is not an index",
                                 f"give a 0-based index, e.g. `{here}[0]`") from None
            if not -len(node) <= index < len(node):
                raise _PathError(f"index {index} is out of range: `{here}` has {len(node)} "
                                 "items", f"use an index from 0 to {len(node) - 1}")
        node[index] = _set_plain(node[index], rest, value, [*walked, part])
        return node
    if node is not None and not isinstance(node, dict):
        raise _PathError(f"`{here}` is a {_kind(node)} in the base scenario; there is nothing "
                         f"inside it to set", f"end the path at `{here}`")
    node = node if isinstance(node, dict) else {}
    node[part] = _set_plain(node.get(part), rest, value, [*walked, part])
    return node


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if isinstance(value, dict | list) \
        else value


def _plain(node: Any) -> Any:
    if isinstance(node, _Items):
        return [{"id": key, **_plain(v)} for key, v in node.items.items()]
    if isinstance(node, _Whole):
        return node.data
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    return node


def _token(value: Any) -> str | None:
    """The readable id token of a value, or None when it has none."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value).replace("+", "")
    elif isinstance(value, str):
        text = value
    else:
        return None
    text = re.sub(r"[^A-Za-z0-9_.\-]", "_", text)
    return text if 0 < len(text) <= MAX_TOKEN_LENGTH else None


def _names(paths: list[list[str]]) -> list[str]:
    """The shortest trailing part(s) of each path that tell the parameters apart."""
    names = []
    for parts in paths:
        for n in range(1, len(parts) + 1):
            tail = parts[-n:]
            if sum(1 for other in paths if other[-n:] == tail) == 1 or n == len(parts):
                names.append(".".join(tail))
                break
    return [re.sub(r"[^A-Za-z0-9_.\-]", "_", n) for n in names]


# ------------------------------------------------------------------------------------------------
# reading and expanding a sweep file
# ------------------------------------------------------------------------------------------------
def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file and expand it into its points.

    Every problem is reported at once in an InputError naming the sweep file and the field:
    the file's schema, each parameter path against the base scenario, each value (the base
    with that one value applied must be a valid scenario) and then each point.
    """
    path = Path(path).resolve()
    raw = read_yaml(path)
    try:
        spec = _SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, path, _SweepFile)) from None
    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        raise InputError.single(path, "base", f"base scenario not found: {base}",
                                "give the path of a scenario file, relative to the sweep file")
    prefix = spec.id or re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem).lstrip("_.-") or "sweep"
    sweep = Sweep(path, base, prefix, spec.point_ids, list(spec.parameters.items()))
    _expand(sweep)
    return sweep


def _expand(sweep: Sweep) -> None:
    path = sweep.path
    load_scenario(sweep.base)  # the base itself must be valid (its errors name its file)
    base_raw, _ = load_raw(sweep.base)
    problems: list[Problem] = []
    parsed: list[list[str]] = []
    for key, values in sweep.parameters:
        field_name = f"parameters.{key}"
        try:
            parts = parse_path(key)
        except ValueError as exc:
            problems.append(Problem(path, field_name, f"bad parameter path: {exc}",
                                    "write a dotted path such as "
                                    "`targets.agriculture_critical_mass.min` "
                                    "or `rules[my.rule].enabled`"))
            parts = []
        if parts and parts[0] in ("id", "extends"):
            problems.append(Problem(path, field_name, f"`{parts[0]}` cannot be swept",
                                    "point ids are generated; sweep the fields of the scenario"))
            parts = []
        elif parts and parts[0] == "area" and (len(parts) > 1 or
                                               not all(isinstance(v, str) for v in values)):
            problems.append(Problem(path, field_name, "`area` values must be paths",
                                    "give area.yaml paths, relative to the sweep file"))
            parts = []
        parsed.append(parts)
    for (key_a, _), a in zip(sweep.parameters, parsed, strict=True):
        for (key_b, _), b in zip(sweep.parameters, parsed, strict=True):
            if a and b and key_a != key_b and b[:len(a)] == a:
                same = "the same field" if len(a) == len(b) else "a field inside it"
                problems.append(Problem(path, f"parameters.{key_a}",
                                        f"overlaps `{key_b}` ({same})",
                                        "sweep each field once"))

    def values_of(i: int) -> list[Any]:
        values = sweep.parameters[i][1]
        if parsed[i] and parsed[i][0] == "area":
            return [str((path.parent / v).resolve()) for v in values]
        return values

    # each value on its own, through the scenario loader itself (a variant file that extends
    # the base: every check of `extends` applies), then every point (in memory, for the
    # problems only a combination of values has)
    with tempfile.TemporaryDirectory(prefix="ruimteverdeling-sweep-") as tmp:
        for i, (key, _) in enumerate(sweep.parameters):
            if not parsed[i]:  # a bad path, reported above
                continue
            for j, value in enumerate(values_of(i)):
                try:
                    over = _plain(_assign(base_raw, None, parsed[i], value, []))
                except _PathError as exc:
                    problems.append(Problem(path, f"parameters.{key}", exc.message, exc.fix))
                    break
                variant = Path(tmp) / f"p{i}-v{j}.yaml"
                for p in _variant_problems(variant, sweep.base, over):
                    problems.append(Problem(path, f"parameters.{key}[{j}]",
                                            f"the value {_show(value)} makes the scenario "
                                            "invalid: "
                                            f"{p.field + ': ' if p.field else ''}{p.message}",
                                            p.fix))
    if problems:
        raise InputError(unique(problems))

    names = _names(parsed)
    tokens: list[list[str]] = []
    for _, values in sweep.parameters:
        toks = [_token(v) for v in values]
        readable = [t for t in toks if t is not None]
        if len(set(readable)) != len(values):
            readable = [f"v{j + 1}" for j in range(len(values))]
        tokens.append(readable)
    combos = list(itertools.product(*[range(len(values_of(i)))
                                      for i in range(len(sweep.parameters))]))
    width = max(3, len(str(len(combos) - 1)))
    for n, combo in enumerate(combos):
        tree: Any = None
        assignment = []
        for i, j in enumerate(combo):
            value = values_of(i)[j]
            tree = _assign(base_raw, tree, parsed[i], value, [])
            assignment.append((sweep.parameters[i][0], value))
        if sweep.point_ids == "index":
            pid = f"{sweep.prefix}__{n:0{width}d}"
        else:
            pid = "__".join([sweep.prefix, *(f"{names[i]}-{tokens[i][j]}"
                                            for i, j in enumerate(combo))])
        if len(pid) > MAX_ID_LENGTH:
            raise InputError.single(path, "point_ids", f"point ids are too long ({len(pid)} "
                                    f"characters, e.g. {pid[:60]}...)",
                                    "add `point_ids: index` or use a shorter `id:`")
        overrides = {"id": pid, **_plain(tree)}
        for p in _scenario_problems(base_raw, overrides):
            problems.append(Problem(path, "parameters", f"point {pid} is not a valid scenario: "
                                    f"{p.field + ': ' if p.field else ''}{p.message}", p.fix))
        sweep.points.append(SweepPoint(pid, overrides, assignment, n))
    if problems:
        raise InputError(unique(problems))


def _show(value: Any) -> str:
    """A value as it would be written in YAML/JSON (``true``, ``"abc"``, ``-1``)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _variant_problems(file: Path, base: Path, overrides: dict[str, Any]) -> list[Problem]:
    """The problems of a scenario file that extends ``base`` and sets ``overrides``."""
    data = {"id": "sweep-check", "extends": str(base), **overrides}
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        load_scenario(file)
    except InputError as exc:
        return exc.problems
    return []


def _scenario_problems(base_raw: dict[str, Any], overrides: dict[str, Any]) -> list[Problem]:
    """The schema problems of the base scenario with ``overrides`` applied (as ``extends``)."""
    model = scenario_model()
    try:
        model.model_validate(merge(base_raw, overrides))
    except ValidationError as exc:
        return pydantic_problems(exc, None, model)
    return []


def unique(problems: list[Problem]) -> list[Problem]:
    """``problems`` without repeats (same file, field, message and fix), in order."""
    seen: dict[tuple[Any, ...], Problem] = {}
    for p in problems:
        seen.setdefault((str(p.file), p.field, p.message, p.fix), p)
    return list(seen.values())


def point_yaml(sweep: Sweep, point: SweepPoint) -> str:
    """The scenario file of a sweep point: ``extends:`` the base and sets only its overrides."""
    assignment = ", ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in point.assignment)
    header = (f"# Generated by `ruimteverdeling batch` from the sweep {sweep.path}\n"
              f"# (point {point.index + 1} of {len(sweep.points)}): {assignment}\n"
              f"# Solve it on its own with: ruimteverdeling solve <this file>\n")
    data = {"id": point.id, "extends": str(sweep.base)}
    data.update({k: v for k, v in point.overrides.items() if k != "id"})
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
