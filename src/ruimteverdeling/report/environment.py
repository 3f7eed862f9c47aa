"""The Jinja2 environment of the reports: templates and stylesheet from the package data.

Templates (``templates/*.html.j2``) and the stylesheet (``static/report.css``) ship inside the
package and are read with :class:`jinja2.PackageLoader` and :mod:`importlib.resources`, so a
report renders the same from a checkout, an editable install or a wheel.

**Autoescaping is on** for every template: any value from a scenario, a summary or a run folder
is HTML-escaped where it is printed; only markup made by the templates themselves (macros,
``{% set %}`` blocks) and the stylesheet pass unescaped. ``None`` prints as nothing, and an
undefined name is an error (``StrictUndefined``), so a template typo fails loudly in the tests
instead of printing an empty cell.

Filters for the numbers are those of :mod:`ruimteverdeling.formatting` (``num``, ``signed``,
``measure``, ``signed_measure``, ``percent``) plus ``data_uri`` (PNG bytes as a
``data:image/png;base64,...`` URI) and ``cut_words`` (text cut at a word boundary); the global
``columns(texts, cls)`` makes table headers that share a CSS class.
"""

from __future__ import annotations

import base64
import functools
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ruimteverdeling import formatting
from ruimteverdeling.report.figures import MANY_REGIONS
from ruimteverdeling.report.scale import SCORE_COLOURS

if TYPE_CHECKING:
    import jinja2

PACKAGE = "ruimteverdeling.report"


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI: the image travels inside the HTML file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def cut_words(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at the last space before the cut."""
    return text[:limit].rsplit(" ", 1)[0]


def columns(texts: list[str], cls: str) -> list[list[str]]:
    """Table headers ``[text, css class]`` for ``texts`` that share one class."""
    return [[t, cls] for t in texts]


def _finalize(value: Any) -> Any:
    return "" if value is None else value


@functools.cache
def stylesheet() -> Markup:
    """``static/report.css``, to be inlined into each page."""
    css = resources.files(PACKAGE).joinpath("static", "report.css").read_text(encoding="utf-8")
    return Markup(css)


@functools.cache
def environment() -> jinja2.Environment:
    """The one environment of the reports (built once)."""
    import jinja2  # deferred: only writing a report needs it

    env = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, finalize=_finalize, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(num=formatting.num, signed=formatting.signed,
                       measure=formatting.measure, signed_measure=formatting.signed_measure,
                       percent=formatting.percent, data_uri=data_uri, cut_words=cut_words)
    env.globals.update(many_regions=MANY_REGIONS, score_colours=SCORE_COLOURS, columns=columns)
    return env


def render(template: str, **context: Any) -> str:
    """The HTML of ``template`` with ``context`` (and the stylesheet as ``css``)."""
    return environment().get_template(template).render(css=stylesheet(), **context)
