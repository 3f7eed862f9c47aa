"""Numbers as people read them: one set of formatters for the report, the tables and the CLI,
and the one fixed-width table printer of every command.

Plain text in, plain text out: nothing here knows of HTML (the report's templates escape what
these return) nor of the engine (this module imports only the standard library).

For the terminal:

* :func:`number` — a table cell: ``format(v, spec)``, ``-`` for nothing, never a minus sign on
  a value that prints as zero;
* :func:`table` — rows of text cells under a header, each :class:`Column` aligned left or
  right and as wide as its widest cell (at least its ``width``).

For the report and the data files:

* :func:`num` — a table number: thousands separators and "sensible" decimals (none from 100
  up or for whole numbers, 2 from 1 up, 4 below 1), ``∞``/``−∞`` for infinities, ``yes``/``no``
  for booleans, ``''`` for nothing, and anything that is not a number as its text;
* :func:`signed` — a difference with its sign, the minus a true minus sign (U+2212);
* :func:`measure` — a measured value with a fixed number of decimals (``n/a`` for nothing);
  a value below 10 that is not whole gets at least one decimal so it does not read as 0;
* :func:`signed_measure` — :func:`measure` with a ``+`` on gains and a true minus sign;
* :func:`percent` — a fraction as a percentage (``0.0123`` → ``1.23%``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MINUS = "−"  # U+2212: a minus sign, as wide as the plus


def num(v: Any, decimals: int | None = None) -> str:
    """A number for a table: thousands separators, sensible decimals; '' for None."""
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "∞" if f > 0 else (f"{MINUS}∞" if f < 0 else "n/a")
    if decimals is None:
        a = abs(f)
        decimals = 0 if (a >= 100 or f == round(f)) else 2 if a >= 1 else 4 if a > 0 else 0
    return f"{f:,.{decimals}f}"


def signed(v: float | None, decimals: int = 0) -> str:
    """``v`` with its sign (``+1,200``, ``−35``); ``n/a`` for None."""
    if v is None:
        return "n/a"
    return f"{v:+,.{decimals}f}".replace("-", MINUS)


def measure(v: float | None, decimals: int = 0) -> str:
    """A measured value with ``decimals`` decimals and thousands separators; ``n/a`` for None.

    With no decimals, a value below 10 that is not whole gets one (0.4 ha reads ``0.4``).
    """
    if v is None:
        return "n/a"
    if decimals == 0 and abs(v) < 10 and v != round(v):
        decimals = 1
    return f"{v:,.{decimals}f}"


def signed_measure(v: float | None, decimals: int = 0) -> str:
    """:func:`measure` of a difference: ``+`` on gains, a true minus sign on losses."""
    if v is None:
        return "n/a"
    text = measure(v, decimals)
    if v > 0:
        text = "+" + text
    return text.replace("-", MINUS)


def percent(v: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage with ``decimals`` decimals; ``n/a`` for None."""
    if v is None:
        return "n/a"
    return f"{float(v):.{decimals}%}"


# ------------------------------------------------------------------------------------------------
# the terminal: one number formatter, one table printer
# ------------------------------------------------------------------------------------------------
def number(v: Any, spec: str = ",.0f", none: str = "-") -> str:
    """A number for a terminal table: ``format(v, spec)`` (``spec`` a format specification
    without a width, e.g. ``",.4f"``, ``"+,.0f"``, ``".3%"``), ``none`` for None.

    A value that prints as zero is shown without a minus sign (``-0.00001`` with ``".4f"``
    reads ``0.0000``; with ``"+.0f"`` it reads ``+0``)."""
    if v is None:
        return none
    text = format(v, spec)
    if text.startswith("-") and not any(ch in "123456789" for ch in text) \
            and "n" not in text:  # not -inf / -nan
        text = ("+" if spec.startswith("+") else "") + text[1:]
    return text


@dataclass(frozen=True)
class Column:
    """A column of :func:`table`: its header, ``<`` (left) or ``>`` (right) alignment, its
    least width and the spaces before it (before the first: none, the indent is apart)."""

    header: str = ""
    align: str = "<"
    width: int = 0
    gap: int = 1


def table(columns: Sequence[Column], rows: Iterable[Sequence[str]], *, indent: str = "  ",
          header: bool = True) -> list[str]:
    """Fixed-width lines: the header (when ``header``) and one line per row of text cells.

    Each column is as wide as its widest cell or header, and at least ``Column.width``; cells
    are never cut (shorten labels before, so no number is ever truncated). Trailing spaces
    are removed."""
    body = [[str(c) for c in row] for row in rows]
    for row in body:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
    lines = ([[c.header for c in columns]] if header else []) + body
    widths = [max([col.width, *(len(line[i]) for line in lines)])
              for i, col in enumerate(columns)]

    def render(cells: list[str]) -> str:
        parts = [(" " * col.gap if i else "") + f"{text:{col.align}{w}}"
                 for i, (col, w, text) in enumerate(zip(columns, widths, cells, strict=True))]
        return (indent + "".join(parts)).rstrip()

    return [render(line) for line in lines]
