"""Compile a scenario on a study area into a ModelSpec (numpy only; no solver knowledge).

Order (the lagenbenadering: water and soil first, then networks, then occupation):

1. validate everything the scenario refers to, and report every problem at once;
2. apply the exclusion rules to the allowed (cell, use) pairs;
3. pin cells with a single allowed use, make units of the rest;
4. create one binary column per (unit, allowed use) and the assignment rows;
5. add the target rows (with fixed and pinned contributions moved into the bounds) and the
   objective terms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.model.spec import ModelSpec, SpecBuilder
from ruimteverdeling.rules import exclusions, objective, suitability, targets
from ruimteverdeling.rules.context import Context
from ruimteverdeling.scenario import ExclusionRule, Scenario
from ruimteverdeling.uses import UseCatalogue


@dataclass
class CompiledModel:
    """A ModelSpec plus what is needed to turn a solution back into maps and tables."""

    scenario: Scenario
    area: StudyArea
    catalogue: UseCatalogue
    ctx: Context
    spec: ModelSpec
    unit_land: np.ndarray  # land index of each unit
    pinned_land: np.ndarray  # land index of each pinned domain cell
    pinned_use_idx: np.ndarray  # catalogue index of its use
    target_rows: list[targets.TargetRow]
    target_compilers: dict[str, targets.TargetCompiler]
    rule_reports: list[dict]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def alloc_idx(self) -> np.ndarray:
        return self.ctx.alloc_idx

    def land_use_after(self, x: np.ndarray) -> np.ndarray:
        """Catalogue index of the use of every land cell after allocation ``x``."""
        after = self.ctx.land_use_idx.copy()
        after[self.pinned_land] = self.pinned_use_idx
        choice = self.spec.unit_choice(x)
        after[self.unit_land] = self.alloc_idx[self.spec.col_use[choice]]
        return after

    def allocation_grid(self, x: np.ndarray) -> np.ndarray:
        """uint8 use codes on the grid (0 outside the study area)."""
        codes = np.array([u.code for u in self.catalogue], np.uint8)
        grid = np.zeros(self.area.grid.size, np.uint8)
        grid[self.ctx.land_cells] = codes[self.land_use_after(x)]
        return grid.reshape(self.area.grid.shape)


def catalogue_for(scenario: Scenario) -> UseCatalogue:
    """The shipped use catalogue with the scenario's overrides applied."""
    cat = UseCatalogue.default()
    if not scenario.uses:
        return cat
    problems = []
    items = []
    for i, u in enumerate(scenario.uses):
        d = u.model_dump(exclude_none=True, exclude={"source"})
        if u.id not in cat:
            missing = [k for k in ("code", "kind", "label_en", "label_nl", "colour")
                       if k not in d]
            if missing:
                problems.append(Problem(scenario.path, f"uses[{i}]",
                                        f"new use '{u.id}' needs {', '.join(missing)}",
                                        "give all of code, kind, label_en, label_nl, colour "
                                        f"(or fix the id: {did_you_mean(u.id, cat.ids)})"))
                continue
        items.append(d)
    if problems:
        raise InputError(problems)
    try:
        new = cat.with_overrides(items)
    except ValueError as exc:
        raise InputError.single(scenario.path, "uses", str(exc), "give every use its own code")\
            from None
    for i, u in enumerate(new):
        for t in u.provides:
            if t not in new.ids and t not in {x.id for x in new}:
                problems.append(Problem(scenario.path, f"uses[{i}].provides",
                                        f"unknown use '{t}'", did_you_mean(t, new.ids)))
    if problems:
        raise InputError(problems)
    return new


def enabled_rules(scenario: Scenario) -> list[tuple[int, ExclusionRule]]:
    return [(i, r) for i, r in enumerate(scenario.rules) if r.is_enabled]


def check(scenario: Scenario, area: StudyArea, catalogue: UseCatalogue,
          ctx: Context | None = None) -> list[Problem]:
    """Every problem of the scenario against the area, without building the model."""
    ctx = ctx or Context.create(scenario, area, catalogue)
    problems: list[Problem] = []
    problems += suitability.check_recipes(scenario.suitability, area, ctx.alloc_ids,
                                          scenario.path)
    problems += objective.check_transitions(scenario.transition_costs, ctx)
    known_terms = list(objective.CORE_TERMS)
    problems += objective.check_weights(scenario.objective.weights, known_terms, ctx)
    for i, rule in enumerate(scenario.rules):
        problems += exclusions.check(rule, i, ctx)
    for i, t in enumerate(scenario.targets):
        problems += targets.check(t, i, ctx)
    hd = scenario.housing_density
    if hd is not None and hd.per_region:
        layer = hd.regions or area.manifest.regions
        if not area.has_layer(layer):
            problems.append(Problem(scenario.path, "housing_density.regions",
                                    f"unknown layer '{layer}'",
                                    did_you_mean(layer, area.layer_names)))
        else:
            names = list(area.region_names(layer).values())
            for name in hd.per_region:
                if name not in names:
                    problems.append(Problem(scenario.path, f"housing_density.per_region.{name}",
                                            f"unknown region '{name}'", did_you_mean(name, names)))
    return problems


def compile_model(scenario: Scenario, area: StudyArea,
                  catalogue: UseCatalogue | None = None) -> CompiledModel:
    """Validate and compile; raise InputError with every problem found."""
    timings = {}
    t0 = time.perf_counter()
    catalogue = catalogue or catalogue_for(scenario)
    ctx = Context.create(scenario, area, catalogue)
    problems = check(scenario, area, catalogue, ctx)
    if problems:
        raise InputError(problems)
    timings["validate"] = time.perf_counter() - t0

    # 2. rules -> allowed pairs
    t0 = time.perf_counter()
    reports = []
    for _, rule in enabled_rules(scenario):
        reports.append(exclusions.apply(rule, ctx))
    for rule in scenario.rules:
        if not rule.is_enabled:
            reports.append({"rule": rule.id, "type": rule.type, "status": rule.status,
                            "source": rule.source.short(), "enabled": False, "zone_ha": 0.0,
                            "removed_ha": {}})
    timings["rules"] = time.perf_counter() - t0

    # 3. pinned cells and units
    t0 = time.perf_counter()
    n_allowed = ctx.allowed.sum(axis=1)
    dom_land = np.flatnonzero(ctx.domain)
    if (n_allowed == 0).any():
        bad = int((n_allowed == 0).sum())
        raise InputError.single(
            scenario.path, "rules",
            f"{bad:,} cells ({bad * ctx.cell_ha:,.0f} ha) have no allowed use left: the enabled "
            "rules with `applies_to: all` close every use there",
            "let at least one use stay open (e.g. `allow: [nature]`) in those zones")
    pinned = n_allowed == 1
    pinned_land = dom_land[pinned]
    pinned_use_idx = ctx.alloc_idx[np.argmax(ctx.allowed[pinned], axis=1)]
    units = ~pinned
    unit_land = dom_land[units]
    unit_rows, col_use = np.nonzero(ctx.allowed[units])  # row-major: sorted by unit
    col_land = unit_land[unit_rows]
    col_use_idx = ctx.alloc_idx[col_use]
    builder = SpecBuilder(unit_rows, col_use, ctx.land_cells[unit_land])
    n_x = col_use.size
    builder.add_block("assign", "assignment", unit_rows, np.arange(n_x), np.ones(n_x),
                      unit_land.size, np.ones(unit_land.size), np.ones(unit_land.size))

    # fixed (not a variable) land cells: context + pinned, with their use after allocation
    fixed_mask = ~ctx.domain
    fixed_land = np.concatenate([np.flatnonzero(fixed_mask), pinned_land])
    fixed_use_idx = np.concatenate([ctx.land_use_idx[fixed_mask], pinned_use_idx])

    # 5a. objective terms
    a = ctx.cell_ha
    S_dom = suitability.suitability_matrix(scenario.suitability, area, ctx.domain_cells,
                                           ctx.alloc_ids)
    T = objective.transition_matrix(scenario.transition_costs, ctx)
    dom_pos = np.full(ctx.land_cells.size, -1, np.int64)
    dom_pos[dom_land] = np.arange(dom_land.size)
    w = scenario.objective.weights
    s_cols = a * S_dom[dom_pos[col_land], col_use]
    t_cols = a * T[ctx.land_use_idx[col_land], col_use]
    pin_cols = np.searchsorted(ctx.alloc_idx, pinned_use_idx)
    s_const = a * float(S_dom[pinned, pin_cols].sum())
    t_const = a * float(T[ctx.land_use_idx[pinned_land], pin_cols].sum())
    builder.add_term("suitability", "benefit", w.get("suitability", 1.0), np.arange(n_x), s_cols,
                     s_const, unit="suitability·ha",
                     description="how well each use fits each cell (gebiedskenmerken centraal)")
    builder.add_term("transition", "cost", w.get("transition", 1.0), np.arange(n_x), t_cols,
                     t_const, unit="points",
                     description="cost of changing a cell's current use")
    del S_dom
    timings["columns"] = time.perf_counter() - t0

    # 5b. targets
    t0 = time.perf_counter()
    rows_info: list[targets.TargetRow] = []
    compilers = {}
    problems = []
    for t in scenario.targets:
        info, probs, tc = targets.compile_target(t, ctx, builder, col_land, col_use_idx,
                                                 fixed_land, fixed_use_idx)
        rows_info += info
        compilers[t.id] = tc
        problems += probs
    if problems:
        raise InputError(problems)
    timings["targets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    spec = builder.build()
    timings["assemble"] = time.perf_counter() - t0
    return CompiledModel(scenario, area, catalogue, ctx, spec, unit_land, pinned_land,
                         pinned_use_idx, rows_info, compilers, reports, timings)
