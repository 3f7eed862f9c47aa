"""Batch runs: many scenario files, or the points of a parameter sweep, as tasks on Dask.

The batch model
---------------
A batch is a list of *runs*. A run has an id, a scenario file and an output folder
``DIR/<id>``. Runs come from

* scenario files named on the command line (id: the scenario's ``id:``, or the file name when
  the file cannot be read — the run then fails with the input error and the others go on);
* sweep files (below): every point of a sweep is written as a real scenario file
  ``DIR/scenarios/<point id>.yaml`` that ``extends:`` the base scenario and sets only that
  point's overrides, so a point can be re-run on its own and its provenance is visible.

Every run is one task on a Dask distributed cluster: a ``LocalCluster`` of worker processes
(one thread each) by default, or any running scheduler (``Client(address)``), so the same batch
scales from a laptop to a cluster without code changes (the workers need this package installed
and the same file system paths). The task, :func:`run_task`, is an importable module-level
function of plain arguments (paths as strings); it calls :func:`ruimteverdeling.api.solve`,
whose outputs are written atomically, and returns a small row of plain data. It never raises:
an input error, an infeasible model, a solver failure and even an unexpected exception become
the row's ``status`` and ``message``, and the other runs go on. HiGHS gets ``threads`` threads
per task (default 1: the parallelism comes from the workers).

Resume: before solving, a task computes the run's fingerprint (:func:`api.fingerprint`: the
resolved scenario, the sha256 of every input file and the engine version, without compiling the
model) and compares it with ``DIR/<id>/manifest.json``. A complete run with the same
fingerprint is skipped (``skipped (up to date)``) unless ``force`` is given.

Exit codes of ``ruimteverdeling batch``: 0 when every run finished (optimal, feasible,
relaxation) or was skipped; 1 when any run failed (infeasible or error); 2 for a problem in the
batch's own input (a sweep file, duplicate run ids, an unreachable scheduler) — reported before
any task starts; 130 when interrupted.

Sweep files
-----------
::

    base: ../scenarios/base.yaml        # relative to the sweep file
    id: nature-sweep                    # prefix of the point ids (default: the file name)
    point_ids: readable                 # readable (default) | index
    parameters:                         # the cartesian product of these value lists
      targets.nature_expansion.min: [1.05, 1.10, 1.15]
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
(``homes_woondeals.min``); ``<value>`` is the value as YAML reads it (``300000``, ``1.1`` for
``1.10``, ``true``) with characters other than letters, digits, ``_ . -`` replaced by ``_``.
When a parameter's values do not give distinct, short (≤ 40 characters) tokens — lists,
mappings, long texts — its token is ``v<n>``, the 1-based position of the value in its list.
A gemaakte keuze (status G) cannot be changed by a point directly (as in any variant); sweep
whole ``overrides:`` lists for those. ``point_ids: index`` gives
``<prefix>__<nnn>`` instead (the position in the product, from 000; these change when the lists
are reordered).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import itertools
import json
import logging
import os
import re
import socket
import tempfile
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.results import writer as wr
from ruimteverdeling.results.summary import csv_value
from ruimteverdeling.strict import ID_PATTERN as _ID_PATTERN
from ruimteverdeling.strict import invalid

ID_PATTERN = re.compile(_ID_PATTERN)
MAX_ID_LENGTH = 120
MAX_TOKEN_LENGTH = 40
POINTS_DIR = "scenarios"
OK_STATUSES = ("optimal", "feasible", "time_limit", "relaxation", "skipped")
FAILED_STATUSES = ("infeasible", "error")
EXIT_OK, EXIT_FAILED = 0, 1
CSV_COLUMNS = ["id", "status", "gap", "seconds", "objective", "bound", "new_homes", "nature_ha",
               "housing_ha", "solar_wind_ha", "targets_met", "targets_total", "message",
               "scenario", "out_dir"]


# ------------------------------------------------------------------------------------------------
# runs
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One task of a batch: solve ``scenario`` (an absolute path) into ``out_dir``."""

    id: str
    scenario: str
    out_dir: str
    origin: str  # the scenario file named on the command line, or the sweep file


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
                          "e.g. `targets.homes_woondeals.min: [1, 2]`")
        empty = [k for k, values in v.items() if not values]
        if empty:
            raise invalid(f"empty value list for {', '.join(empty)}", "give at least one "
                          "value, e.g. `[300000, 400000]`, or remove the parameter")
        return v


# ------------------------------------------------------------------------------------------------
# sweep files
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


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file and expand it into its points.

    Every problem is reported at once in an InputError naming the sweep file and the field:
    the file's schema, each parameter path against the base scenario, each value (the base
    with that one value applied must be a valid scenario) and then each point.
    """
    from ruimteverdeling.scenario import read_yaml
    from ruimteverdeling.strict import pydantic_problems

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
    from ruimteverdeling.rules import load_scenario
    from ruimteverdeling.scenario import load_raw

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
                                    "write a dotted path such as `targets.homes_woondeals.min` "
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
        raise InputError(_unique(problems))

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
        raise InputError(_unique(problems))


def _show(value: Any) -> str:
    """A value as it would be written in YAML/JSON (``true``, ``"abc"``, ``-1``)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _variant_problems(file: Path, base: Path, overrides: dict[str, Any]) -> list[Problem]:
    """The problems of a scenario file that extends ``base`` and sets ``overrides``."""
    from ruimteverdeling.rules import load_scenario

    data = {"id": "sweep-check", "extends": str(base), **overrides}
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        load_scenario(file)
    except InputError as exc:
        return exc.problems
    return []


def _scenario_problems(base_raw: dict[str, Any], overrides: dict[str, Any]) -> list[Problem]:
    """The schema problems of the base scenario with ``overrides`` applied (as ``extends``)."""
    from ruimteverdeling.rules import scenario_model
    from ruimteverdeling.scenario import merge
    from ruimteverdeling.strict import pydantic_problems

    model = scenario_model()
    try:
        model.model_validate(merge(base_raw, overrides))
    except ValidationError as exc:
        return pydantic_problems(exc, None, model)
    return []


def _unique(problems: list[Problem]) -> list[Problem]:
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


def write_points(sweep: Sweep, out_dir: Path) -> list[Run]:
    """Write every point's scenario file to ``out_dir/scenarios/`` (only when its text changed,
    atomically) and return the runs."""
    folder = out_dir / POINTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    runs = []
    for point in sweep.points:
        target = folder / f"{point.id}.yaml"
        _write_text(target, point_yaml(sweep, point), only_if_changed=True)
        runs.append(Run(point.id, str(target), str(out_dir / point.id), str(sweep.path)))
    return runs


def _write_text(path: Path, text: str, only_if_changed: bool = False) -> None:
    if only_if_changed and path.exists() and path.read_text(encoding="utf-8") == text:
        return
    wr.write_text_atomic(path, text)


# ------------------------------------------------------------------------------------------------
# planning
# ------------------------------------------------------------------------------------------------
def scenario_run_id(path: Path) -> str:
    """The id of a scenario file's run: its ``id:`` (after ``extends``), else its file name."""
    from ruimteverdeling.scenario import load_raw
    from ruimteverdeling.yamlio import YamlGuardError

    try:
        raw, _ = load_raw(path)
    except YamlGuardError:
        raise  # a document built to exhaust memory: refused before anything runs
    except InputError:
        raw = {}
    rid = raw.get("id")
    if isinstance(rid, str) and ID_PATTERN.match(rid):
        return rid
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem).lstrip("_.-") or "scenario"


def plan(scenarios: Sequence[str | Path], sweeps: Sequence[str | Path],
         out_dir: str | Path) -> list[Run]:
    """Check the batch's input and return its runs; writes the sweep points' scenario files.

    Raises InputError (before anything is written) for a bad sweep file, duplicate run ids,
    an empty batch or a scenario file beyond the YAML limits (an alias bomb, see
    :mod:`ruimteverdeling.yamlio`). Any other scenario file that cannot be read is not an
    error here: its run fails with that error and the other runs go on.
    """
    out = Path(out_dir).resolve()
    if not scenarios and not sweeps:
        raise InputError.single(None, "SCENARIO", "nothing to run",
                                "give one or more scenario files and/or --sweep SWEEP.yaml")
    problems: list[Problem] = []
    loaded: list[Sweep] = []
    for s in sweeps:
        try:
            loaded.append(load_sweep(s))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    planned: list[tuple[str, str, str]] = []  # id, scenario, origin
    for s in scenarios:
        p = Path(s).resolve()
        try:
            planned.append((scenario_run_id(p), str(p), str(p)))
        except InputError as exc:  # beyond the YAML limits (yamlio): nothing runs
            problems += exc.problems
    if problems:
        raise InputError(_unique(problems))
    for sw in loaded:
        planned += [(pt.id, str(out / POINTS_DIR / f"{pt.id}.yaml"), str(sw.path))
                    for pt in sw.points]
    seen: dict[str, str] = {}
    for rid, scenario, origin in planned:
        if rid == POINTS_DIR:
            problems.append(Problem(origin, "id", f"the run id '{rid}' is reserved for the "
                                    "sweep points' scenario files", "give the scenario another id"))
        elif rid in seen:
            what = "is listed twice" if seen[rid] == scenario else \
                f"has the same id as {seen[rid]}"
            problems.append(Problem(origin, "id", f"run '{rid}' {what}; both would write to "
                                    f"{out / rid}", "give every scenario its own `id:` "
                                    "(or list a file once)"))
        else:
            seen[rid] = scenario
    if problems:
        raise InputError(_unique(problems))
    runs = [Run(rid, scenario, str(out / rid), origin)
            for rid, scenario, origin in planned[:len(scenarios)]]
    for sw in loaded:
        runs += write_points(sw, out)
    return runs


# ------------------------------------------------------------------------------------------------
# the task
# ------------------------------------------------------------------------------------------------
def run_task(run_id: str, scenario: str, out_dir: str, area: str | None = None,
             threads: int | None = None, force: bool = False) -> dict[str, Any]:
    """Solve one run (or skip it when up to date) and return its row; never raises.

    A pure function of its arguments (and the files they name), importable by Dask workers.
    """
    t0 = time.perf_counter()
    row: dict[str, Any] = {"id": run_id, "scenario": scenario, "out_dir": out_dir,
                           "status": "error", "message": ""}
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            row.update(_solve_or_skip(scenario, out_dir, area, threads, force))
    except Exception as exc:  # isolation: every failure becomes this run's row
        row.update(_failure_row(exc))
    row["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["host"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def _solve_or_skip(scenario: str, out_dir: str, area: str | None, threads: int | None,
                   force: bool) -> dict[str, Any]:
    from ruimteverdeling import api

    if not force:
        try:
            expected = api.fingerprint(scenario, area=area, threads=threads)
            if api.is_up_to_date(out_dir, expected):
                summary = json.loads((Path(out_dir) / "summary.json").read_text("utf-8"))
                manifest = json.loads((Path(out_dir) / "manifest.json").read_text("utf-8"))
                return {**indicators(summary), "status": "skipped",
                        "message": f"skipped (up to date): {manifest.get('status')}, "
                                   f"finished {manifest.get('finished')}"}
        except Exception:  # anything unreadable: solve, which reports the real problem
            pass
    run = api.solve(scenario, out_dir, area=area, threads=threads)
    return {**indicators(run.summary), "message": ""}


def _failure_row(exc: BaseException) -> dict[str, Any]:
    from ruimteverdeling.errors import InfeasibleError, SolverError

    if isinstance(exc, InputError):
        return {"status": "error", "message": f"input error: {exc.format()}"}
    if isinstance(exc, InfeasibleError):
        return {"status": "infeasible", "message": f"infeasible: {exc}"}
    if isinstance(exc, SolverError):
        return {"status": "error", "message": f"solver failed: {exc}"}
    return {"status": "error",
            "message": f"unexpected error: {type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc))}


def indicators(summary: dict[str, Any]) -> dict[str, Any]:
    """The key numbers of a run's summary (``summary.json`` or :attr:`RunResult.summary`).

    ``new_homes`` is the largest achieved value among the homes targets counted on new housing
    (a national row, or the sum of a per-region target's rows); None without such a target.
    Hectares are of the single use itself (combined uses are not added in).
    """
    national = {r.get("use"): r for r in summary.get("areas", [])
                if r.get("region") == "national"}

    def ha(*uses: str) -> float:
        return float(sum(national[u]["ha_after"] for u in uses if u in national))

    targets = summary.get("targets", [])
    homes: dict[str, float] = {}
    for t in targets:
        if t.get("quantity") == "homes" and t.get("basis") == "new":
            key = t["target"] if t.get("region") != "national" else f"{t['target']}\0national"
            homes[key] = homes.get(key, 0.0) + float(t.get("achieved") or 0.0)
    return {
        "status": summary.get("status"),
        "objective": _float(summary.get("objective")),
        "bound": _float(summary.get("bound")),
        "gap": _float(summary.get("gap")),
        "new_homes": max(homes.values()) if homes else None,
        "nature_ha": ha("nature"),
        "housing_ha": ha("housing"),
        "solar_wind_ha": ha("solar", "wind"),
        "targets_met": sum(1 for t in targets if t.get("met") == "yes"),
        "targets_total": len(targets),
    }


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


# ------------------------------------------------------------------------------------------------
# running on Dask
# ------------------------------------------------------------------------------------------------
SCHEDULER_HANDSHAKE_TIMEOUT = 3.0
"""Seconds to connect to a scheduler and to receive its greeting."""
SCHEDULER_FIX = ("give the address the scheduler prints when it starts (`dask scheduler` -> "
                 "'Scheduler at: tcp://HOST:8786'; then `dask worker ADDRESS` on each machine),"
                 " or leave --scheduler out for a local cluster")
_GREETING_MAX = 65_536


def check_scheduler(address: str, timeout: float = SCHEDULER_HANDSHAKE_TIMEOUT) -> None:
    """Check that a Dask scheduler answers at ``address`` before handing it to Dask.

    Dask's client waits for the scheduler's handshake without a deadline, and reads the
    first 8 bytes it gets as the length of a message: a silent listener makes it hang, and
    an HTTP server or proxy answering ``HTTP/1.1 ...`` makes it allocate ~3.5e18 bytes. A
    scheduler greets every new TCP connection at once with a small framed message (an
    8-byte little-endian length, then msgpack holding ``compression``, ``python`` and
    ``pickle-protocol``). This connects with ``timeout``, reads that greeting within
    ``timeout`` and raises InputError naming the address when it is missing or is not a
    scheduler's. Only ``tcp://`` addresses (and bare ``HOST:PORT``) are checked; for
    ``tls://`` and other protocols the client's own timeout applies.
    """
    import struct

    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return
    host, _, port_text = rest.rpartition(":")
    if not host:
        host, port_text = rest, "8786"
    host = host.strip("[]")
    try:
        port = int(port_text.split("/")[0])
    except ValueError:
        raise InputError.single(None, "--scheduler", f"'{address}' has no port number",
                                "write it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786") from None

    def refuse(what: str) -> InputError:
        return InputError.single(None, "--scheduler", f"{address} {what}", SCHEDULER_FIX)

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise refuse(f"did not accept a connection within {timeout:g} s") from None
    except OSError as exc:
        raise InputError.single(None, "--scheduler", f"cannot connect to the Dask scheduler "
                                f"at {address}: {exc.strerror or exc}", SCHEDULER_FIX) from None
    deadline = time.monotonic() + timeout

    def read(n: int) -> bytes:
        data = b""
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    with sock:
        try:
            head = read(8)
            if len(head) < 8:
                raise refuse("closed the connection without the greeting a Dask scheduler "
                             "sends: it is not a Dask scheduler")
            length = struct.unpack("<Q", head)[0]
            if not 8 <= length <= _GREETING_MAX:
                shown = (head + read(40)).decode("latin-1").splitlines()[0][:48]
                raise refuse(f"is not a Dask scheduler: it answered {shown!r} (a Dask "
                             "scheduler greets with a short binary message)")
            body = read(length)
        except TimeoutError:
            raise refuse(f"did not greet within {timeout:g} s as a Dask scheduler does at "
                         "once: it is not a Dask scheduler (or it is overloaded)") from None
        except OSError as exc:
            raise refuse(f"broke off the connection: {exc.strerror or exc}") from None
    if b"pickle-protocol" not in body:
        raise refuse("is not a Dask scheduler: its greeting is not a Dask handshake")


@contextlib.contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None,
                connect_timeout: float = 10.0) -> Iterator[Any]:
    """A Dask client: a fresh ``LocalCluster`` (processes, one thread each), or a connection
    to the running scheduler at ``scheduler``. The local scheduler and its HTTP server (the
    dashboard, when bokeh is installed) listen on free ports, so several batches and test runs
    never fight over 8786/8787. The cluster and its worker processes are closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        check_scheduler(scheduler, min(connect_timeout, SCHEDULER_HANDSHAKE_TIMEOUT))
        try:
            client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError.single(None, "--scheduler", f"cannot connect to the Dask "
                                    f"scheduler at {scheduler}: {exc}", SCHEDULER_FIX) from None
        with client:
            yield client
        return
    # a run that kills its worker (out of memory) is not retried three times
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=":0", scheduler_port=0,
                         silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def run_batch(runs: Sequence[Run], client: Any, *, area: str | Path | None = None,
              force: bool = False, threads: int | None = 1,
              on_result: Callable[[dict[str, Any], int, int], None] | None = None,
              ) -> list[dict[str, Any]]:
    """Submit every run as a task to ``client`` and collect the rows (in the order of
    ``runs``). A task that fails on the cluster itself (its worker died, it could not be
    unpickled) is an ``error`` row like any other failure. ``on_result(row, done, total)`` is
    called as each task finishes."""
    from distributed import as_completed

    area_str = str(Path(area).resolve()) if area is not None else None
    tag = uuid.uuid4().hex[:8]
    futures = {}
    for run in runs:
        fut = client.submit(run_task, run.id, run.scenario, run.out_dir, area_str, threads,
                            force, key=f"ruimteverdeling-batch-{tag}-{run.id}", pure=False)
        futures[fut.key] = (fut, run)
    rows: dict[str, dict[str, Any]] = {}
    try:
        for n, fut in enumerate(as_completed([f for f, _ in futures.values()]), 1):
            run = futures[fut.key][1]
            try:
                row = fut.result()
            except Exception as exc:
                row = {"id": run.id, "scenario": run.scenario, "out_dir": run.out_dir,
                       "status": "error", "seconds": None,
                       "message": f"the task failed on the cluster: {type(exc).__name__}: "
                                  f"{exc}"}
            rows[run.id] = row
            if on_result is not None:
                on_result(row, n, len(runs))
    except BaseException:
        client.cancel([f for f, _ in futures.values()])
        raise
    return [rows[run.id] for run in runs]


def exit_code(rows: Sequence[dict[str, Any]]) -> int:
    """0 when every run finished or was skipped, 1 when any failed."""
    return EXIT_FAILED if any(r.get("status") not in OK_STATUSES for r in rows) else EXIT_OK


# ------------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------------
def progress_line(row: dict[str, Any], done: int, total: int) -> str:
    width = len(str(total))
    text = f"[{done:{width}d}/{total}] {row['id']}: {row['status']}"
    if row["status"] == "skipped":
        text += " (up to date)"
    elif row["status"] in FAILED_STATUSES:
        text += f" - {_first_line(row.get('message', ''))}"
    elif row.get("gap") is not None:
        text += f", gap {row['gap']:.4%}"
    if row.get("seconds") is not None:
        text += f", {row['seconds']:.1f} s"
    if row.get("warnings"):
        text += f" ({len(row['warnings'])} warning(s), see batch.json)"
    return text


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and lines[0].endswith("problems found:"):
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


TABLE = [("id", "", "<"), ("status", "", "<"), ("gap", ".3%", ">"), ("seconds", ",.1f", ">"),
         ("objective", ",.2f", ">"), ("new homes", ",.0f", ">"), ("nature ha", ",.0f", ">"),
         ("housing ha", ",.0f", ">"), ("solar+wind ha", ",.0f", ">"), ("targets met", "", ">")]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The batch table: one line per run, and the messages of the failed runs below it."""
    keys = {"new homes": "new_homes", "nature ha": "nature_ha", "housing ha": "housing_ha",
            "solar+wind ha": "solar_wind_ha"}
    cells = []
    for r in rows:
        line = []
        for name, spec, _ in TABLE:
            if name == "targets met":
                line.append("-" if r.get("targets_total") is None else
                            f"{r.get('targets_met', 0)}/{r['targets_total']}")
            elif name in ("id", "status"):
                line.append(str(r.get(name, "")))
            else:
                line.append(_fmt(r.get(keys.get(name, name)), spec))
        cells.append(line)
    widths = [max([len(name)] + [len(c[i]) for c in cells]) for i, (name, _, _) in
              enumerate(TABLE)]
    out = io.StringIO()

    def emit(values: list[str]) -> None:
        parts = [f"{v:{align}{w}}" for v, w, (_, _, align) in zip(values, widths, TABLE,
                                                                     strict=True)]
        out.write("  " + "  ".join(parts).rstrip() + "\n")

    emit([name for name, _, _ in TABLE])
    for c in cells:
        emit(c)
    failed = [r for r in rows if r.get("status") in FAILED_STATUSES]
    if failed:
        out.write("\n  failed runs:\n")
        for r in failed:
            msg = str(r.get("message", "")).replace("\n", "\n      ")
            out.write(f"    {r['id']}: {msg}\n")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
    out.write("\n  " + ", ".join(f"{n} {s}" for s, n in counts.items())
              + f" ({_runs(len(rows))})\n")
    return out.getvalue()


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def write_report(rows: Sequence[dict[str, Any]], out_dir: str | Path,
                 info: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``batch.csv`` (the table) and ``batch.json`` (the full rows) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_value(r.get(k)) for k in CSV_COLUMNS})
    _write_text(out / "batch.csv", buf.getvalue())
    doc = {**(info or {}), "exit_code": exit_code(rows), "runs": list(rows)}
    _write_text(out / "batch.json",
                json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    wr.register(out, ["batch.csv", "batch.json"])
    return out / "batch.csv", out / "batch.json"


def main(scenarios: Sequence[str | Path], sweeps: Sequence[str | Path], out_dir: str | Path,
         *, workers: int | None = None, scheduler: str | None = None,
         area: str | Path | None = None, force: bool = False, threads: int = 1,
         echo: Callable[[str], None] = print, progress: Callable[[str], None] | None = None,
         client: Any = None) -> int:
    """The ``ruimteverdeling batch`` command: plan, run on Dask, report; returns the exit code.

    ``client`` runs on an existing Dask client instead of starting one (tests, notebooks).
    """
    if workers is not None and scheduler is not None:
        raise InputError.single(None, "--workers", "give either --workers (a local cluster) or "
                                "--scheduler (a running one), not both", "remove one of the two")
    if area is not None and not Path(area).is_file():
        raise InputError.single(area, "--area", "study area not found",
                                "give the path of an area.yaml")
    # the batch folder: new, empty or an earlier batch's, locked for the whole batch
    with wr.reserve(out_dir, "batch", protect=wr.protected(), claim=True):
        return _main(scenarios, sweeps, out_dir, workers=workers, scheduler=scheduler,
                     area=area, force=force, threads=threads, echo=echo, progress=progress,
                     client=client)


def _main(scenarios: Sequence[str | Path], sweeps: Sequence[str | Path], out_dir: str | Path,
          *, workers: int | None, scheduler: str | None, area: str | Path | None,
          force: bool, threads: int, echo: Callable[[str], None],
          progress: Callable[[str], None] | None, client: Any) -> int:
    started = _dt.datetime.now(_dt.UTC)
    runs = plan(scenarios, sweeps, out_dir)
    if sweeps:
        wr.register(out_dir, dirs=[POINTS_DIR])
    where = f"the scheduler at {scheduler}" if scheduler else \
        "the given client" if client is not None else f"a local cluster of {workers or 2} workers"
    if progress is not None:
        progress(f"batch: {_runs(len(runs))} on {where}, outputs in {Path(out_dir).resolve()}")

    def report(row: dict[str, Any], done: int, total: int) -> None:
        if progress is not None:
            progress(progress_line(row, done, total))

    if client is not None:
        rows = run_batch(runs, client, area=area, force=force, threads=threads,
                         on_result=report)
    else:
        with dask_client(workers or 2, scheduler) as own:
            rows = run_batch(runs, own, area=area, force=force, threads=threads,
                             on_result=report)
    info = {"started": started.isoformat(timespec="seconds"),
            "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "cluster": where, "threads_per_run": threads, "force": force,
            "area": str(Path(area).resolve()) if area is not None else None,
            "scenarios": [str(Path(s).resolve()) for s in scenarios],
            "sweeps": [str(Path(s).resolve()) for s in sweeps]}
    csv_path, json_path = write_report(rows, out_dir, info)
    echo("")
    echo(format_table(rows).rstrip("\n"))
    echo(f"\n  table: {csv_path}  (all details: {json_path.name})")
    return exit_code(rows)
