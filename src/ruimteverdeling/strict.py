"""Strict pydantic documents, and their errors as :class:`~ruimteverdeling.errors.Problem` s.

Every file a user writes (a scenario, ``area.yaml``, the assessment thresholds) is validated
by pydantic models derived from :class:`StrictModel`: unknown keys are errors (a typo must not
be ignored silently) and numbers must be finite.

A validator that refuses a value says what to do about it by raising :func:`invalid`, which
keeps the message and the fix apart (the fix travels in the error's context);
:func:`pydantic_problems` turns a ``ValidationError`` into problems that name the field and a
fix — the declared one, or one derived from the kind of error (an unknown key gets the closest
valid key, a wrong type the expected one).

A low-level module: it imports nothing of the engine but :mod:`ruimteverdeling.errors`.
"""

from __future__ import annotations

import re
import typing
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from ruimteverdeling.errors import Problem, did_you_mean

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""The pattern of scenario and sweep ids (they name output folders and files)."""

INVALID = "invalid"
"""The error type of :func:`invalid` (``err["type"]`` in a ``ValidationError``)."""


class StrictModel(BaseModel):
    """Base of every document model: unknown keys are errors, numbers must be finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def invalid(message: str, fix: str) -> PydanticCustomError:
    """The error a validator raises for a value it refuses: ``raise invalid(msg, fix)``.

    ``message`` says what is wrong, ``fix`` what to do; both reach the user as written
    (braces in them are not format fields).
    """
    return PydanticCustomError(INVALID, "{message}", {"message": message, "fix": fix})


def pydantic_problems(exc: ValidationError, file: str | Path | None,
                      model: type[BaseModel] | None = None) -> list[Problem]:
    """Turn a pydantic ValidationError into Problems that name the field and a fix.

    ``model`` (the validated model) lets an unknown key be answered with the closest key
    allowed at that place.
    """
    problems = []
    for err in exc.errors():
        loc = err.get("loc", ())
        field = _format_loc(loc)
        kind = err.get("type", "")
        ctx = err.get("ctx") or {}
        msg = err.get("msg", "invalid value").removeprefix("Value error, ")
        fix = None
        if kind == INVALID:
            msg, fix = str(ctx.get("message", msg)), ctx.get("fix")
        elif kind == "extra_forbidden":
            name = str(loc[-1]) if loc else "?"
            allowed = _allowed_keys(model, loc[:-1]) if model is not None else []
            msg = f"unknown key '{name}'"
            fix = did_you_mean(name, allowed) if allowed else "remove it"
        elif kind == "missing":
            msg = "required key is missing"
            fix = f"add `{loc[-1]}:`" if loc else None
        elif kind == "union_tag_invalid":
            tag = str(ctx.get("tag"))
            expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
            msg = f"unknown {ctx.get('discriminator', 'type').strip(chr(39))} '{tag}'"
            fix = did_you_mean(tag, expected)
        elif kind.startswith("literal_error"):
            fix = f"use one of {ctx.get('expected', '')}"
        elif kind == "string_pattern_mismatch":
            msg, fix = pattern_problem(str(ctx.get("pattern", "")), err.get("input"),
                                       str(loc[-1]) if loc else "value")
        else:
            given = err.get("input")
            if given is not None and not isinstance(given, dict | list):
                msg = f"{msg} (got {_shown(given)})"
            fix = _type_fix(kind)
        problems.append(Problem(file, field or None, msg, fix))
    return problems


def id_suggestion(given: Any) -> str:
    """``given`` turned into a valid id: accents dropped, other characters as ``_``."""
    text = unicodedata.normalize("NFKD", str(given)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_.-")
    return text or "my-id"


def pattern_problem(pattern: str, given: Any, name: str) -> tuple[str, str]:
    """Message and fix for a text that does not match ``pattern`` (ids, colours)."""
    shown = _shown(given)
    if pattern == ID_PATTERN:
        return (f"{shown} is not a valid {name}: it must start with a letter or digit and "
                "hold only letters, digits, '_', '.' and '-' (no spaces)",
                f"write `{name}: {id_suggestion(given)}`")
    if pattern.startswith("^#"):
        return (f"{shown} is not a colour of the form #rrggbb", "e.g. `#1f78b4`")
    return f"{shown} does not match the pattern {pattern}", f"write a {name} that matches it"


def _shown(value: Any, limit: int = 60) -> str:
    """A value for a message, shortened (a scenario may hold a 10,000-character text)."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else \
        f"an integer of {value.bit_length()} bits"
    return text if len(text) <= limit else text[:limit - 4] + "...'"


def _type_fix(kind: str) -> str:
    if kind == "finite_number":
        return "give a finite number (.nan and .inf are not amounts)"
    if kind.startswith(("float", "int")):
        return "give a number"
    if kind.startswith("bool"):
        return "write true or false"
    if kind == "string_too_long":
        return "shorten it"
    if kind.startswith(("string", "str")):
        return "give a text (quote it if it contains ':' or '#')"
    if kind.startswith(("list", "tuple")):
        return "give a list, e.g. [a, b]"
    if kind.startswith(("dict", "model")):
        return "give a mapping of keys to values"
    if kind.startswith("greater_than") or kind.startswith("less_than"):
        return "give a value within the allowed range"
    return "correct the value"


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Walk ``loc`` through the pydantic model to find the keys allowed at that place.

    Inside a tagged union (the rule entries) the location holds the tag of the member that
    was validated (``rules[3].cost.bufer``): the walk continues in that member.
    """
    candidates: list[type[BaseModel]] = [model]
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:  # the key of a dict[str, Model]
            skip_key = False
            continue
        tagged = [m for m in candidates if _tag_of(m) == part]
        if tagged and len(candidates) > 1:  # the tag of a member of a tagged union
            candidates = tagged
            continue
        current = candidates[0]
        field = current.model_fields.get(str(part))
        if field is None:  # a tag of a one-member union: stay on this model
            continue
        skip_key = _is_mapping(field.annotation)
        candidates = _inner_models(field.annotation)
        if not candidates:
            return []
    return list(candidates[0].model_fields) if len(candidates) == 1 else []


def _tag_of(model: type[BaseModel]) -> Any:
    """The literal value of a model's ``type`` field (its tag in a tagged union), or None."""
    field = model.model_fields.get("type")
    if field is None or typing.get_origin(field.annotation) is not typing.Literal:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if len(args) == 1 else None


def _is_mapping(annotation: Any) -> bool:
    if typing.get_origin(annotation) is dict:
        return True
    return any(_is_mapping(a) for a in typing.get_args(annotation))


def _inner_models(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModels inside ``list[M]``, ``dict[str, M]``, ``M | None``, a tagged union ..."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += [m for m in _inner_models(arg) if m not in found]
    return found
