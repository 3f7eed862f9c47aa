"""Layer builders: one module per theme, each a step that the build runs and the layers it makes.

Every layer of the area is a function ``Landscape -> array`` (rasters) or ``Landscape ->
(records, geometries)`` (vector layers), listed with its metadata in
:mod:`ruimteverdeling.synthetic.catalogue`.
"""
