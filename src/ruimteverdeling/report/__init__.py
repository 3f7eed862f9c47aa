"""``report.html``: a self-contained report of a run, or of a comparison of runs.

The file has no external references at all: the stylesheet is inlined, every map and chart is a
PNG made with matplotlib and embedded as a ``data:image/png;base64`` URI, and there are no
scripts, fonts or stylesheets from a network. It opens from a USB stick on a machine without
internet. It holds no timestamps or timings, so two identical runs write identical reports (the
times are in ``manifest.json``).

A **run report** (written by every ``solve``, re-rendered from a run folder by
``api.render_report``) holds: a header with the scenario id and title, the solver status, the
objective, bound and proven gap; a table of contents; maps of the allocation and of the change
with the catalogue's colours and Dutch / English labels; the largest transitions; the areas per
use; target attainment; the objective per term; the rules (binding or not, hectares closed);
the overrides with their justifications; multiple land use; burdens and benefits per province;
the plan-MER indicators nationally and per province; shadow prices and rule costs when the run
folder holds them; a Pareto chart when it holds a ``pareto.csv``; and the run record (scenario
files, input hashes, versions, model size).

**Pareto hook.** When a run folder holds ``pareto.csv`` (its contract is in
:mod:`ruimteverdeling.results.runfolder`), the report shows it as a chart and a table. Call
``api.render_report(folder)`` after writing ``pareto.csv`` into a solved folder to refresh its
report.

A **comparison report** (written by ``compare``) holds the beoordelingstabel with coloured
scores on the seven-point scale, the scores per province, the difference maps, the maps of
every run, the runs with links to their own reports, and the thresholds with their rationale.

Layout of the package:

* ``run.py``, ``compare.py`` — what each report shows, as rows and numbers (no markup);
* ``templates/`` — Jinja2 templates with autoescaping: ``base.html.j2`` (the page),
  ``macros.html.j2`` (headings, tables, badges, figures), ``run.html.j2`` and
  ``compare.html.j2`` with one template per section under ``run/`` and ``compare/``;
* ``static/report.css`` — the stylesheet, inlined into every page;
* ``figures.py`` — every chart as PNG bytes; ``scale.py`` — the seven-point scale;
* ``environment.py`` — the Jinja2 environment, its filters and the package-data loader.

The data the reports read (run folders, ``pareto.csv``) is read by
:mod:`ruimteverdeling.results.runfolder`.
"""

from ruimteverdeling.report.compare import CompareView, render_compare_report
from ruimteverdeling.report.run import render_run_report, write_run_report

__all__ = ["CompareView", "render_compare_report", "render_run_report", "write_run_report"]
