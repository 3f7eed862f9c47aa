"""Suitability: how good each cell is for each use (gebiedskenmerken centraal).

A scenario gives a recipe per use; the suitability of cell ``c`` for use ``u`` is

    S[c, u] = base_u + Σ_k weight_k · f_k(layer_k[c])

with ``f_k`` piecewise-linear in a continuous layer (``points``), a lookup in a categorical
layer (``categories``) or a constant on a mask (``mask``: ``f = mask`` where the layer is
non-zero, ``other`` elsewhere — cells without data, NaN, are outside the mask); see
:class:`ruimteverdeling.scenario.schema.SuitabilityTerm`. A combined use without a recipe of
its own gets the yield-weighted mean of the uses it combines,
``S[c, u] = Σ_k p(u,k) · S[c, k] / Σ_k p(u,k)`` — so a combination is not *more* suitable
than its parts; its value lies in serving several targets on one hectare. Other uses without
a recipe have ``S = 0``.
The objective term ``suitability`` is ``Σ_c Σ_u a_c · S[c,u] · x[c,u]`` with ``a_c`` the
cell area in hectares, so its unit is suitability-hectares.
"""

from __future__ import annotations

import numpy as np

from ruimteverdeling.area.studyarea import Layer, StudyArea
from ruimteverdeling.errors import Problem, did_you_mean
from ruimteverdeling.rules.checks import missing_layer
from ruimteverdeling.scenario.schema import SuitabilityRecipe, SuitabilityTerm


def evaluate_term(term: SuitabilityTerm, layer: Layer, cells: np.ndarray) -> np.ndarray:
    """``f(layer[c])`` for the flat cell indices ``cells`` (float64), without the weight."""
    values = layer.data.ravel()[cells]
    if term.points is not None:
        xs = np.array([p[0] for p in term.points], float)
        ys = np.array([p[1] for p in term.points], float)
        v = values.astype(float)
        out = np.interp(v, xs, ys)
        return np.where(np.isnan(v), term.other, out)
    if term.categories is not None:
        out = np.full(values.shape, term.other, float)
        for key, val in term.categories.items():
            code = layer.code_of(key)
            out[values == code] = val
        return out
    assert term.mask is not None
    return np.where(mask_inside(values), float(term.mask), term.other)


def mask_inside(values: np.ndarray) -> np.ndarray:
    """Which values count as inside a mask: non-zero and not NaN — a cell without data is
    outside the mask (``NaN != 0`` alone would put it inside)."""
    if values.dtype.kind == "f":
        return (values != 0) & ~np.isnan(values)
    return values != 0


def suitability_matrix(recipes: dict[str, SuitabilityRecipe], area: StudyArea,
                       cells: np.ndarray, use_ids: list[str]) -> np.ndarray:
    """S[i, j] for cells ``cells[i]`` and uses ``use_ids[j]`` (float64, exact)."""
    out = np.zeros((cells.size, len(use_ids)), np.float64)
    cat = area.catalogue
    derived = []
    for j, uid in enumerate(use_ids):
        recipe = recipes.get(uid)
        if recipe is None:
            if uid in cat and cat[uid].is_combined:
                derived.append(j)
            continue
        s = np.full(cells.size, recipe.base, float)
        for term in recipe.terms:
            s += term.weight * evaluate_term(term, area.layer(term.layer), cells)
        out[:, j] = s
    for j in derived:
        u = cat[use_ids[j]]
        parts = [(use_ids.index(k), u.provides.get(k, 1.0)) for k in u.combines
                 if k in use_ids]
        total = sum(w for _, w in parts)
        if total > 0:
            out[:, j] = sum(w * out[:, k] for k, w in parts) / total
    return out


def check_recipes(recipes: dict[str, SuitabilityRecipe], area: StudyArea, use_ids: list[str],
                  file: object) -> list[Problem]:
    """Problems in the suitability recipes: unknown uses, layers and categories."""
    problems = []
    for uid, recipe in recipes.items():
        if uid not in use_ids:
            problems.append(Problem(file, f"suitability.{uid}", f"unknown use '{uid}'",
                                    did_you_mean(uid, use_ids)))
        for k, term in enumerate(recipe.terms):
            field = f"suitability.{uid}.terms[{k}]"
            if not area.has_layer(term.layer):
                problems.append(missing_layer(term.layer, f"{field}.layer", file, area))
                continue
            layer = area.layer(term.layer)
            if term.points is not None and layer.kind not in ("continuous", "distance"):
                problems.append(Problem(file, f"{field}.points",
                                        f"layer '{term.layer}' is {layer.kind}, not continuous",
                                        "use `categories:` or `mask:` for this layer"))
            if term.categories is not None:
                for key in term.categories:
                    try:
                        layer.code_of(key)
                    except KeyError:
                        names = list((layer.categories or {}).values())
                        problems.append(Problem(
                            file, f"{field}.categories.{key}",
                            f"layer '{term.layer}' has no category '{key}'",
                            did_you_mean(str(key), names) if names else "use integer codes"))
    return problems
