"""Per-cell formulas shared by the rules and the indicators, one implementation each.

A rule compiles these quantities into the model (a homes target, a fairness row); the
indicators and tables measure them on an allocation. Both use the functions here, so what a
run optimises and what its tables report are the same numbers.

* :mod:`.regions` — which region (row) each land cell lies in, and region areas;
* :mod:`.density` — homes per hectare of new housing per cell;
* :mod:`.burdens` — burden hectares of a change of use (land lost, new footprint), the
  default burdens of the burdens table, and the Gini coefficient of their spread.
"""
