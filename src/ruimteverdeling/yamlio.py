"""One guarded YAML loader for every file a user hands the engine.

Scenario files, ``area.yaml``, sweep files (and the ``overrides[].set`` values in them),
assessment thresholds and cached coarsening reports are all read with :func:`load`. PyYAML's
safe loader alone is not enough: anchors and aliases let a few hundred bytes describe a
document of billions of nodes (the "billion laughs": ``a: &a [x, x, ...]``,
``b: &b [*a, *a, ...]``, ...). PyYAML builds such a document cheaply, because every alias is
the same Python object, but whatever walks it afterwards — merging ``extends:``, hashing a
run's fingerprint, writing JSON, validating — expands every alias and exhausts memory.

The limits are checked while the document is *composed*, before any Python object is built:

* **size** — at most :data:`MAX_BYTES` bytes of text;
* **nesting depth** — at most :data:`MAX_DEPTH` levels of mappings and lists (also through
  aliases);
* **expanded size** — at most :data:`MAX_NODES` nodes with every alias expanded. Nodes are
  counted as they are composed; an alias adds the expanded size of the node it refers to,
  ``n(alias of v) = n(v)``, with ``n(v) = 1 + Σ n(child)``. So the count is exactly the size
  of the tree any consumer would walk, and a bomb is refused after reading at most a few
  lines past the budget, in microseconds;
* an alias to a node that contains it (a recursive document) is refused: no consumer could
  walk it;
* a key given twice in one mapping is refused: YAML requires unique keys and PyYAML would
  silently keep the last one (``min: 10`` ... ``min: 20``);
* mapping **keys** written ``on``, ``off``, ``yes``, ``no`` (any of YAML 1.1's spellings:
  ``On``, ``ON`` ...) stay text: YAML 1.1, which PyYAML follows, reads them as true and false,
  so a cost rule's ``on: any`` became ``True: any``. The engine has no key that is a boolean,
  and YAML 1.2 reads them as text too. ``y`` and ``n`` are text in PyYAML already. *Values*
  keep their YAML 1.1 meaning (``enabled: yes`` is true, as the schema expects); quote a
  value to keep it text (``"on"``). A quoted or explicitly tagged key (``!!bool on``) is left
  as written;
* a scalar PyYAML resolves but cannot build (the date ``2024-13-45``, ``!!int x``) and an
  integer of more than :data:`MAX_INT_BITS` bits are refused with their line, instead of
  escaping as a ValueError.

Ordinary anchors (one ``source:`` reused by ten rules) stay well within these limits. This
module sits at the bottom layer: it imports only PyYAML and :mod:`ruimteverdeling.errors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode

from ruimteverdeling.errors import InputError

MAX_BYTES = 16 * 1024 * 1024
"""Largest YAML file read (16 MiB; the shipped base scenario is ~40 KB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a scenario needs about 8)."""
MAX_NODES = 1_000_000
"""Most nodes a document may have with every alias expanded (the base scenario has ~5,000)."""


TEXT_KEYS = frozenset({"on", "off", "yes", "no", "y", "n"})
"""Plain mapping keys read as text, not as YAML 1.1 booleans (module docstring; compared
lower-case)."""
STR_TAG = "tag:yaml.org,2002:str"

MAX_INT_BITS = 256
"""Integers need at most this many bits (~1e77); longer ones cannot even be printed safely
(Python refuses to convert integers of more than 4,300 digits to text)."""


class YamlGuardError(InputError):
    """A YAML document exceeds one of the limits of :mod:`ruimteverdeling.yamlio`."""


class _Refused(yaml.YAMLError):
    def __init__(self, message: str, fix: str, mark: Any = None):
        super().__init__(message)
        self.message, self.fix, self.mark = message, fix, mark


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the limits of the module docstring checked while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0  # expanded nodes composed so far
        self._expanded: dict[int, int] = {}  # id(node) -> expanded size, once complete
        self._height: dict[int, int] = {}  # id(node) -> levels of nesting inside it

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise _Refused(
                f"the document expands to more than {MAX_NODES:,} values (YAML aliases "
                "`*name` repeat what an anchor `&name` marks; nested repetition multiplies)",
                "write the values out, or use aliases sparingly; a file built to expand "
                "like this (a \"billion laughs\") is refused", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                size = self._expanded.get(id(node))
                if size is None:
                    raise _Refused(f"the alias *{event.anchor} is used inside the node it "
                                   "refers to (a recursive document)",
                                   "remove the alias or refer to another node",
                                   event.start_mark)
                self._count(size, event.start_mark)
                if self._depth + self._height.get(id(node), 0) > MAX_DEPTH:
                    raise _too_deep(event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()
        text_key = index is None and isinstance(parent, MappingNode) and _text_key(event)
        nested = isinstance(event, MappingStartEvent | SequenceStartEvent)
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _too_deep(event.start_mark)
        start = self._nodes
        node = super().compose_node(parent, index)
        if text_key:
            node.tag = STR_TAG  # a key `on:` is the text "on" (module docstring)
        self._count(1, event.start_mark)
        self._expanded[id(node)] = self._nodes - start
        if nested:
            self._depth -= 1
            children = [c for pair in node.value for c in pair] \
                if isinstance(node, MappingNode) else node.value
            self._height[id(node)] = 1 + max((self._height.get(id(c), 0) for c in children),
                                             default=0)
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        """PyYAML raises plain ValueErrors for some scalars it resolves but cannot build (an
        integer of more than 4,300 digits, the date ``2024-13-45``, ``!!int x``): name the
        value and its line instead."""
        try:
            value = super().construct_object(node, deep)
            if isinstance(value, int) and not isinstance(value, bool) and \
                    value.bit_length() > MAX_INT_BITS:
                raise _Refused(f"an integer of {value.bit_length():,} bits is larger than any "
                               "number the engine works with",
                               "give a number of at most 1e18 (or check for a typo)",
                               node.start_mark)
            return value
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            shown = str(node.value) if isinstance(node, ScalarNode) else node.tag
            if len(shown) > 40:
                shown = shown[:37] + "..."
            raise _Refused(f"the value '{shown}' cannot be read ({node.tag.rsplit(':', 1)[-1]}"
                           f"): {str(exc).split(';')[0]}",
                           "write a plain number, text or date (quote a text that YAML "
                           "would read as something else)", node.start_mark) from None

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: dict[Any, Any] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            ident = (key.tag, key.value)
            if ident in seen:
                first = seen[ident]
                raise _Refused(f"the key '{key.value}' is given twice in one mapping (lines "
                               f"{first.line + 1} and {key.start_mark.line + 1})",
                               "keep one of the two: YAML keys must be unique (otherwise the "
                               "second silently wins)", key.start_mark)
            seen[ident] = key.start_mark
        return node


def _text_key(event: Any) -> bool:
    """A plain, untagged scalar that YAML 1.1 reads as a boolean and :data:`TEXT_KEYS` keeps
    as text."""
    return (isinstance(event, ScalarEvent) and event.tag is None and event.style is None
            and event.implicit[0] and event.value.lower() in TEXT_KEYS)


def _too_deep(mark: Any) -> _Refused:
    return _Refused(f"the document nests mappings and lists more than {MAX_DEPTH} levels "
                    "deep", "flatten the structure (a scenario needs about 8 levels)", mark)


def _where(mark: Any) -> str | None:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


def load(text: str | bytes, file: str | Path | None = None) -> Any:
    """Parse one YAML document within the limits of the module docstring.

    Raises :class:`YamlGuardError` for a document beyond a limit and :class:`InputError`
    for a syntax error, both naming ``file`` and the line.
    """
    if isinstance(text, bytes):
        size = len(text)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError.single(file, None, "not a UTF-8 text file",
                                    "save it as UTF-8 YAML") from None
    else:
        size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        raise YamlGuardError.single(file, None, f"the file is {size:,} bytes; YAML files of "
                                    f"more than {MAX_BYTES:,} bytes are not read",
                                    "check that this is the file you meant")
    loader = None
    try:
        loader = _GuardedLoader(text)  # the reader checks the characters here already
        return loader.get_single_data()
    except _Refused as exc:
        raise YamlGuardError.single(file, _where(exc.mark), exc.message, exc.fix) from None
    except RecursionError:  # pragma: no cover - the depth limit is far below the stack's
        raise YamlGuardError.single(file, None, "the document nests too deeply",
                                    "flatten the structure") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError.single(file, _where(mark), f"not valid YAML: {problem}",
                                "fix the YAML syntax (indentation, colons, quotes)") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_file(path: str | Path, what: str = "YAML file") -> Any:
    """Read and :func:`load` ``path``; a missing file, a folder, a file over the size limit
    (checked before reading) or non-UTF-8 text is an InputError naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError.single(path, None, f"{what} not found", "check the path")
    if path.is_dir():
        raise InputError.single(path, None, f"is a folder, not a {what}",
                                "give the path of a .yaml file")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlGuardError.single(path, None, f"the file is {size:,} bytes; YAML files "
                                        f"of more than {MAX_BYTES:,} bytes are not read",
                                        "check that this is the file you meant")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.single(path, None, f"cannot read the {what}: {exc.strerror or exc}",
                                "check the file's permissions") from None
    return load(data, path)
