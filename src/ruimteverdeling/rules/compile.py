"""Compile a scenario on a study area into a ModelSpec (numpy only; no solver knowledge).

Order — the *lagenbenadering*: water and soil first, then networks, then occupation:

1. apply the overrides (comply or explain) and validate everything the scenario refers to
   (each rule by its family's check), reporting every problem at once;
2. apply the compatibility of combined uses and the rules of the zone families (those that
   close pairs: exclusions, green buffers) to the allowed (cell, use) pairs, in the order the
   scenario lists them;
3. pin cells with a single allowed use, make units of the rest;
4. create one binary column per (unit, allowed use) and the assignment rows;
5. compile the other rules (in the scenario's order) and the targets, evaluate every
   objective term (suitability, transition, costs, ladders, future cost, ...) and every row
   family (targets, quotas, fairness, proximity shares) on the columns, moving fixed and
   pinned cells into the constants and bounds, and build the pairwise rows.

The rules are reached through the registry (:mod:`ruimteverdeling.rules.registry`): each
compiles to the shapes of :mod:`ruimteverdeling.rules.base`, which this module turns into
columns, terms and rows.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np

from ruimteverdeling.area.studyarea import StudyArea
from ruimteverdeling.errors import InputError, Problem, did_you_mean
from ruimteverdeling.heap import reusing_freed_memory
from ruimteverdeling.model.spec import INF, ModelSpec, SpecBuilder
from ruimteverdeling.rules import (
    checks,
    findings,
    location,
    needs,
    objective,
    overrides,
    suitability,
    targets,
    zones,
)
from ruimteverdeling.rules.base import ColumnRows, Contribution, PairRows, PairTerm
from ruimteverdeling.rules.context import Context
from ruimteverdeling.rules.registry import family_of
from ruimteverdeling.rules.status_quo import status_quo_columns, status_quo_value
from ruimteverdeling.scenario.schema import RuleBase, Scenario, Target
from ruimteverdeling.uses import UseCatalogue

KEEP_TERM_COEFS_UP_TO = 3_000_000
"""Above this many columns only the combined objective is stored, not one vector per term."""


@dataclass
class RowsInfo:
    """A compiled PairRows block: constants and the columns of its slacks and aux."""

    rows: PairRows
    constant: np.ndarray
    slack_lo: list[int | None]
    slack_hi: list[int | None]
    aux_cols: list[int]


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
    rule_reports: list[dict]
    terms: dict[str, list[PairTerm]]
    blocks: dict[str, RowsInfo]
    target_compilers: dict[str, targets.TargetCompiler]
    rules: list[RuleBase]  # effective (after overrides), enabled or not
    targets: list[Target]
    overrides: list[overrides.Applied]
    aux_terms: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    contributions: dict[str, Contribution] = field(default_factory=dict)  # enabled rules
    warnings: list[Problem] = field(default_factory=list)
    """What the run should be read with (a region value for a region outside the study area,
    a target that asks nothing, a T rule on an empty mask ...); ``validate`` prints them and
    ``summary.json`` lists them (:mod:`ruimteverdeling.rules.findings`)."""
    notes: list[Problem] = field(default_factory=list)
    """Facts about where the scenario's parts come from (the file of each override)."""
    family_timings: dict[str, float] = field(default_factory=dict)
    """Seconds of the compile per part: ``rule <family>`` (the family's compile),
    ``term <name>`` (evaluating the term on the columns), ``rows <family>`` (the rows of a
    rule family or of the targets), ``status quo``; for the stage profile."""

    @functools.cached_property
    def status_quo_point(self) -> np.ndarray | None:
        """The status quo as a point of the model's columns
        (:func:`~ruimteverdeling.rules.status_quo.status_quo_columns`), worked out once per
        model; None when it is no such point."""
        return status_quo_columns(self)

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

    def column_pairs(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(land index, catalogue use index) of x columns."""
        return (self.unit_land[self.spec.col_unit[cols]],
                self.alloc_idx[self.spec.col_use[cols]])

    def term_values(self, x: np.ndarray) -> dict[str, float]:
        """Value of every objective term at ``x`` (natural units, before weights)."""
        out = {}
        nz = np.flatnonzero(x[: self.spec.n_x])
        land, use = self.column_pairs(nz)
        weights = x[nz]
        for t in self.spec.terms:
            if t.coef is not None:
                out[t.name] = t.value(x)
                continue
            value = t.constant
            for part in self.terms.get(t.name, []):
                value += float(part.fn(land, use) @ weights)
            out[t.name] = value
        # aux-only terms (penalties, minimax levels) and any aux part of the others
        for name, (cols, vals) in self.aux_terms.items():
            if self.spec.term(name).coef is None:
                out[name] = out.get(name, 0.0) + float(np.dot(x[cols], vals))
        return out

    # -- pricing ----------------------------------------------------------------------------
    def pair_objective(self, land: np.ndarray, use: np.ndarray) -> np.ndarray:
        """Objective coefficient of hypothetical pairs (weighted, signed), all terms."""
        out = np.zeros(land.size)
        for name, parts in self.terms.items():
            w = self.spec.term(name).weight
            sign = 1.0 if parts[0].sense == "benefit" else -1.0
            for t in parts:
                out += sign * w * t.fn(land, use)
        return out

    def pair_row_price(self, land: np.ndarray, use: np.ndarray, row_dual: np.ndarray
                       ) -> np.ndarray:
        """Σ over separable row blocks of dual × coefficient, for hypothetical pairs."""
        offsets = self.spec.row_offsets()
        out = np.zeros(land.size)
        for name, info in self.blocks.items():
            start, _ = offsets[name]
            rows, vals = info.rows.fn(land, use)
            ok = rows >= 0
            out[ok] += row_dual[start + rows[ok]] * vals[ok]
        return out


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
        for t in [*u.provides, *u.combines]:
            if t not in new.ids and t not in new.target_uses:
                problems.append(Problem(scenario.path, f"uses[{i}]",
                                        f"unknown use '{t}'", did_you_mean(t, new.ids)))
    if problems:
        raise InputError(problems)
    return new


def check(scenario: Scenario, area: StudyArea, catalogue: UseCatalogue,
          ctx: Context | None = None, rules: list | None = None,
          target_list: list | None = None) -> list[Problem]:
    """Every problem of the scenario against the area, without building the model.

    Only rules and targets that are on are checked against the area: one that is off (status
    A, ``enabled: false``, or disabled by an override) needs neither its layers nor its
    regions. Warnings (a region value for a region outside the study area, a T rule on an
    empty mask, ...) are added to ``ctx.warnings``. Problems name the file of the
    ``extends:`` chain that gives the field, and the rule or target by its id
    (:mod:`ruimteverdeling.rules.findings`).
    """
    ctx = ctx or Context.create(scenario, area, catalogue)
    rules = scenario.rules if rules is None else rules
    target_list = scenario.targets if target_list is None else target_list
    problems: list[Problem] = []
    problems += suitability.check_recipes(scenario.suitability, area, ctx.alloc_ids,
                                          scenario.path)
    problems += objective.check_transitions(scenario.transition_costs, ctx)
    index = {r.id: i for i, r in enumerate(scenario.rules)}
    for rule in rules:
        if rule.is_enabled:
            i = index.get(rule.id, 0)
            problems += findings.cite(family_of(rule).check(rule, i, ctx), "rules", rule, i,
                                      scenario)
    tindex = {t.id: i for i, t in enumerate(scenario.targets)}
    for t in target_list:
        if t.is_enabled:
            i = tindex.get(t.id, 0)
            problems += findings.cite(targets.check(t, i, ctx), "targets", t, i, scenario)
    if scenario.compatibility is not None:
        for k, (a, b) in enumerate(scenario.compatibility.allowed):
            for u in (a, b):
                if u not in ctx.catalogue:
                    problems.append(Problem(scenario.path, f"compatibility.allowed[{k}]",
                                            f"unknown use '{u}'",
                                            did_you_mean(u, ctx.catalogue.ids)))
    problems += area.without_data(_layers_used(scenario, rules, target_list))
    hd = scenario.housing_density
    if hd is not None and hd.per_region:
        layer = hd.regions or area.manifest.regions
        if not area.has_layer(layer):
            problems.append(checks.missing_layer(layer, "housing_density.regions",
                                                 scenario.path, area))
        else:
            problems += checks.region_names(
                list(hd.per_region), layer, lambda name: f"housing_density.per_region.{name}",
                ctx, "its density is not used")
    for key, items, idx in (("rules", rules, index), ("targets", target_list, tindex)):
        for item in items:
            errs = findings.empty_masks(key, [item], idx, ctx)
            problems += findings.cite(errs, key, item, idx.get(item.id, 0), scenario)
    findings.area_share(scenario, target_list, ctx)
    ctx.warnings[:] = _cite_warnings(ctx.warnings, scenario, rules, target_list, index, tindex)
    return findings.located(problems, scenario)


def _cite_warnings(warns: list[Problem], scenario: Scenario, rules: list, target_list: list,
                   index: dict[str, int], tindex: dict[str, int]) -> list[Problem]:
    """The warnings with the file and item cited as the problems are."""
    by_field = {}
    for key, items, idx in (("rules", rules, index), ("targets", target_list, tindex)):
        for item in items:
            by_field[f"{key}[{idx.get(item.id, 0)}]"] = (key, item, idx.get(item.id, 0))
    out = []
    for w in warns:
        head = (w.field or "").split(".")[0]
        if head in by_field and _from_scenario(w, scenario):
            key, item, i = by_field[head]
            w = findings.cite([w], key, item, i, scenario)[0]
        out.append(w)
    return findings.located(out, scenario)


def _from_scenario(p: Problem, scenario: Scenario) -> bool:
    return p.file is None or scenario.path is None or str(p.file) == str(scenario.path)


def _layers_used(scenario: Scenario, rules: list, target_list: list) -> set[str]:
    """Names of the layers the enabled rules and targets and the suitability recipes use."""
    found = {r.layer for item in [*rules, *target_list] if item.is_enabled
             for r in needs.references(item.model_dump(), "")}
    for recipe in scenario.suitability.values():
        found |= {r.layer for r in needs.references(recipe.model_dump(), "")}
    return found


def _compatibility(scenario: Scenario, ctx: Context) -> dict | None:
    """Close combined uses whose components may not share a cell (new cells only)."""
    comp = scenario.compatibility
    if comp is None:
        return None
    ok = {frozenset(p) for p in comp.allowed}
    closed = []
    for u in ctx.catalogue.allocatable:
        if not u.is_combined:
            continue
        parts = list(u.combines)
        pairs = {frozenset((a, b)) for i, a in enumerate(parts) for b in parts[i + 1:]}
        if not pairs <= ok:
            closed.append(u.id)
    cur = ctx.domain_use_idx
    for uid in closed:
        j = ctx.alloc_col(uid)
        ctx.allowed[cur != ctx.alloc_idx[j], j] = False
    return {"rule": "compatibility", "type": "compatibility", "status": "T",
            "source": comp.source.short(), "zone_ha": 0.0, "removed_ha": {},
            "closed_uses": closed}


def compile_model(scenario: Scenario, area: StudyArea,
                  catalogue: UseCatalogue | None = None) -> CompiledModel:
    """Validate and compile; raise InputError with every problem found.

    The many large temporaries (one or a few per rule, term and row family, each the size of
    the columns) reuse the memory the previous ones freed
    (:func:`ruimteverdeling.heap.reusing_freed_memory`)."""
    with reusing_freed_memory():
        return _compile_model(scenario, area, catalogue)


def _compile_model(scenario: Scenario, area: StudyArea,
                   catalogue: UseCatalogue | None) -> CompiledModel:
    timings = {}
    split: dict[str, float] = {}

    def took(key: str, since: float) -> float:
        now = time.perf_counter()
        split[key] = split.get(key, 0.0) + now - since
        return now

    t0 = time.perf_counter()
    catalogue = catalogue or catalogue_for(scenario)
    ctx = Context.create(scenario, area, catalogue)
    eff_rules, eff_targets, applied = overrides.apply(scenario)
    problems = check(scenario, area, catalogue, ctx, eff_rules, eff_targets)
    if problems:
        raise InputError(problems)
    timings["validate"] = time.perf_counter() - t0
    softened = {a.override.rule: a.soften_penalty for a in applied
                if a.soften_penalty is not None}
    active_rules = [r for r in eff_rules if r.is_enabled]
    active_targets = [t for t in eff_targets if t.is_enabled]

    # 2. zone rules -> allowed pairs (water and soil first: in the order given)
    t0 = time.perf_counter()
    reports: list[dict] = []
    pair_terms: list[PairTerm] = []
    pair_rows: list[PairRows] = []
    column_rows: list[ColumnRows] = []
    contributions: dict[str, Contribution] = {}

    def add(rule: RuleBase, c: Contribution) -> None:
        if c.closed is not None:
            if rule.id in softened:
                term, rep = zones.soften(rule, c.closed, softened[rule.id], ctx)
                pair_terms.append(term)
                reports.append(rep)
            else:
                reports.append(zones.close(rule, c.closed, ctx))
        pair_terms.extend(c.terms)
        pair_rows.extend(c.rows)
        column_rows.extend(c.column_rows)
        contributions[rule.id] = c

    comp = _compatibility(scenario, ctx)
    if comp is not None:
        reports.append(comp)
    for rule in active_rules:
        if family_of(rule).zone:
            t1 = time.perf_counter()
            add(rule, family_of(rule).compile(rule, ctx))
            took(f"rule {rule.type}", t1)
    timings["rules"] = time.perf_counter() - t0

    # 3. pinned cells and units
    t0 = time.perf_counter()
    n_allowed = ctx.allowed.sum(axis=1)
    dom_land = np.flatnonzero(ctx.domain)
    if (n_allowed == 0).any():
        bad = int((n_allowed == 0).sum())
        where = location.committed_conflict(ctx, dom_land[n_allowed == 0])
        raise InputError.single(
            scenario.path, "rules",
            f"{bad:,} cells ({bad * ctx.cell_ha:,.0f} ha) have no allowed use left: the enabled "
            "rules with `applies_to: all` close every use there" + where,
            "let at least one use stay open (e.g. `allow: [nature]`) in those zones")
    pinned = n_allowed == 1
    pinned_land = dom_land[pinned]
    pinned_use_idx = ctx.alloc_idx[np.argmax(ctx.allowed[pinned], axis=1)]
    unit_land = dom_land[~pinned]
    unit_rows, col_use = np.nonzero(ctx.allowed[~pinned])  # row-major: sorted by unit
    unit_rows = unit_rows.astype(np.int32)
    col_use = col_use.astype(np.int16)
    # the columns' land cell and use as numpy's own index type: every rule, term and row
    # family gathers per-cell and per-use arrays with them (``take``), and an index array of
    # another type is converted to it first, on each of those tens of passes over the columns
    col_land = unit_land.astype(np.intp)[unit_rows]
    col_use_idx = ctx.alloc_idx.astype(np.intp)[col_use]
    n_x = col_use.size
    builder = SpecBuilder(unit_rows, col_use, ctx.land_cells[unit_land],
                          keep_term_coefs=n_x <= KEEP_TERM_COEFS_UP_TO)
    del unit_rows
    fixed_mask = ~ctx.domain
    fixed_land = np.concatenate([np.flatnonzero(fixed_mask), pinned_land])
    fixed_use_idx = np.concatenate([ctx.land_use_idx[fixed_mask], pinned_use_idx])
    timings["columns"] = time.perf_counter() - t0

    # 5a. the other rules and the targets; objective terms
    t0 = time.perf_counter()
    for rule in active_rules:
        family = family_of(rule)
        if not family.zone:
            t1 = time.perf_counter()
            c = family.compile(rule, ctx)
            took(f"rule {rule.type}", t1)
            if c.closed is not None:
                raise TypeError(f"rule family '{family.type}' closes pairs: register it with "
                                "zone=True")
            add(rule, c)
    t1 = time.perf_counter()
    pair_terms = objective.core_terms(scenario, ctx) + pair_terms
    t1 = took("rule suitability", t1)
    compilers: dict[str, targets.TargetCompiler] = {}
    tindex = {t.id: i for i, t in enumerate(scenario.targets)}
    for t in active_targets:
        rows, tc = targets.pair_rows(t, tindex[t.id], ctx)
        pair_rows.append(rows)
        compilers[t.id] = tc
        field_ = f"targets[{tindex[t.id]}]"
        for w in findings.cite(targets.vanished(tc, scenario.path, field_), "targets", t,
                               tindex[t.id], scenario):
            ctx.warn(w)
    took("rule targets", t1)
    terms: dict[str, list[PairTerm]] = {}
    for term in pair_terms:
        terms.setdefault(term.name, []).append(term)
    aux_terms: dict[str, tuple[list[int], list[float]]] = {}
    for name, parts in terms.items():
        senses = {p.sense for p in parts}
        if len(senses) > 1:
            raise InputError.single(scenario.path, "rules",
                                    f"objective term '{name}' is both a cost and a benefit",
                                    "give the rules that share a `term` the same `sense`")
        t1 = time.perf_counter()
        coef = None
        const = 0.0
        for p in parts:
            # the first part's vector is the sum so far (no zeros to add it to: at national
            # size every pass over the columns costs a fraction of a second)
            c = np.asarray(p.fn(col_land, col_use_idx), float)
            coef = c if coef is None else coef + c
            del c
            const += float(p.fn(pinned_land, pinned_use_idx).sum())
        if coef is None:
            coef = np.zeros(n_x)
        w = scenario.objective.weights.get(name, 1.0)
        builder.add_term(name, parts[0].sense, w, coef, const, unit=parts[0].unit,
                         description=parts[0].description)
        del coef
        took(f"term {name}", t1)
    timings["terms"] = time.perf_counter() - t0

    # 5b. row families
    t0 = time.perf_counter()
    blocks: dict[str, RowsInfo] = {}
    problems = []
    # each unit's first column (columns are sorted by unit): the row families' necessary
    # conditions reduce over units with it
    unit_starts = np.flatnonzero(np.r_[True, builder.col_unit[1:] != builder.col_unit[:-1]]) \
        if n_x else np.empty(0, np.int64)
    family_by_id = {r.id: r.type for r in active_rules}
    for pr in pair_rows:
        t1 = time.perf_counter()
        info, probs = _add_pair_rows(pr, builder, col_land, col_use_idx, fixed_land,
                                     fixed_use_idx, aux_terms, unit_starts)
        took(f"rows {family_by_id.get(pr.ref, 'targets') if pr.kind == 'rule' else 'targets'}",
             t1)
        blocks[pr.name] = info
        problems += probs
    if problems:
        raise InputError(problems)
    grid = area.grid
    for cr in column_rows:
        t1 = time.perf_counter()
        rows, cols, vals, n_rows, lower, upper = cr.build(
            ctx.land_cells[col_land], col_use_idx, n_x, grid.width, grid.height)
        builder.add_block(cr.name, "rule", rows, cols, vals, n_rows, lower, upper, ref=cr.ref,
                          meta=cr.meta)
        took(f"rows {family_by_id.get(cr.ref, cr.name)}", t1)
    for name, (cols, vals) in aux_terms.items():
        aux: dict[int, float] = {}
        for j, v in zip(cols, vals, strict=True):
            aux[j] = aux.get(j, 0.0) + v
        builder.add_term(name, "cost", scenario.objective.weights.get(name, 1.0), None,
                         unit="points", description=_aux_description(name), aux=aux)
    known = [*terms, *aux_terms]
    bad = [Problem(scenario.path, f"objective.weights.{n}", f"unknown objective term '{n}'",
                   did_you_mean(n, known)) for n in scenario.objective.weights if n not in known]
    if bad:
        raise InputError(bad)
    timings["rows"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    spec = builder.build()
    timings["assemble"] = time.perf_counter() - t0
    for rule in eff_rules:
        if not rule.is_enabled:
            reports.append({"rule": rule.id, "type": rule.type, "status": rule.status,
                            "source": rule.source.short(), "enabled": False, "zone_ha": 0.0,
                            "removed_ha": {}})
    aux_arrays = {name: (np.asarray(c, np.int64), np.asarray(v, float))
                  for name, (c, v) in aux_terms.items()}
    cm = CompiledModel(scenario, area, catalogue, ctx, spec, unit_land, pinned_land,
                       pinned_use_idx, reports, terms, blocks, compilers, eff_rules,
                       eff_targets, applied, aux_arrays, timings, contributions,
                       list(ctx.warnings), findings.override_notes(scenario))
    t1 = time.perf_counter()
    spec.status_quo_value = status_quo_value(cm)  # the anchor of the decision gap
    took("status quo", t1)
    cm.family_timings = split
    return cm


def _aux_description(name: str) -> str:
    if name.startswith("shortfall:"):
        return f"penalty for missing soft target or rule {name.split(':', 1)[1]}"
    if name.startswith("fairness:"):
        return "burden of the most burdened region (minimax) or above fair shares (deviation)"
    return name


def _add_pair_rows(pr: PairRows, builder: SpecBuilder, col_land: np.ndarray,
                   col_use_idx: np.ndarray, fixed_land: np.ndarray, fixed_use_idx: np.ndarray,
                   aux_terms: dict[str, tuple[list[int], list[float]]],
                   unit_starts: np.ndarray | None = None
                   ) -> tuple[RowsInfo, list[Problem]]:
    n = len(pr.labels)
    rows_all, vals_all = pr.fn(col_land, col_use_idx)
    sel = rows_all >= 0
    cols = np.flatnonzero(sel)
    rows, vals = rows_all[sel], vals_all[sel]
    frows, fvals = pr.fn(fixed_land, fixed_use_idx)
    fsel = frows >= 0
    constant = np.bincount(frows[fsel], weights=fvals[fsel], minlength=n)
    # only -inf (+inf) means "no lower (upper) bound": a +inf minimum is unmeetable, never free
    lower = np.where(np.isneginf(pr.lower), -INF, pr.lower - constant)
    upper = np.where(np.isposinf(pr.upper), INF, pr.upper - constant)
    problems = []
    if pr.penalty is None and pr.hard_check and not pr.aux:
        problems = _impossible(pr, builder, rows_all, vals_all, sel, lower, upper, constant,
                               unit_starts)
    del rows_all, vals_all, sel
    all_rows, all_cols, all_vals = [rows], [cols], [vals]
    slack_lo: list[int | None] = [None] * n
    slack_hi: list[int | None] = [None] * n
    if pr.penalty is not None:
        name = f"shortfall:{pr.ref}"
        entry = aux_terms.setdefault(name, ([], []))
        for r in range(n):
            for bound, sign, kind, store in ((lower, 1.0, "shortfall", slack_lo),
                                             (upper, -1.0, "excess", slack_hi)):
                if np.isfinite(bound[r]):
                    j = builder.add_aux(f"{kind}:{pr.ref}:{pr.labels[r]}")
                    store[r] = j
                    all_rows.append(np.array([r]))
                    all_cols.append(np.array([j]))
                    all_vals.append(np.array([sign]))
                    entry[0].append(j)
                    entry[1].append(pr.penalty)
    aux_cols = []
    for aux in pr.aux:
        j = builder.add_aux(aux.name, aux.lb, aux.ub)
        aux_cols.append(j)
        nz = np.flatnonzero(aux.row_coef)
        all_rows.append(nz)
        all_cols.append(np.full(nz.size, j))
        all_vals.append(aux.row_coef[nz])
        if aux.cost and aux.term:
            entry = aux_terms.setdefault(aux.term, ([], []))
            entry[0].append(j)
            entry[1].append(aux.cost)
    builder.add_block(pr.name, pr.kind, _joined(all_rows), _joined(all_cols),
                      _joined(all_vals), n, lower, upper, labels=pr.labels, ref=pr.ref,
                      meta={k: v for k, v in pr.meta.items() if k not in ("fmt", "file")})
    return RowsInfo(pr, constant, slack_lo, slack_hi, aux_cols), problems


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The parts end to end; a single part as it is (a family without slacks or auxiliaries:
    no copy of its entries, tens of millions at national size)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _impossible(pr: PairRows, builder: SpecBuilder, row_full: np.ndarray,
                vals_all: np.ndarray, sel: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                constant: np.ndarray, starts: np.ndarray | None = None) -> list[Problem]:
    """Per-row necessary conditions: the most (least) any allocation can reach.

    Row ``r`` of ``Σ_j a_rj x_j`` over units ``k`` (one column each) can reach at most
    ``Σ_k max_{j∈k} a_rj`` and at least ``Σ_k min_{j∈k} a_rj`` (a unit's columns all count in
    the row of its cell, or none does); ``starts``: each unit's first column. ``row_full`` and
    ``vals_all`` are the family's row and value of every column (a negative row where the
    column counts nowhere), ``sel`` where the row is not negative."""
    n = len(pr.labels)
    units = builder.col_unit
    n_x = units.size
    if n_x:
        full = np.zeros(n_x)
        np.copyto(full, vals_all, where=sel)
        if starts is None:
            starts = np.flatnonzero(np.r_[True, units[1:] != units[:-1]])
        best = np.maximum.reduceat(full, starts)
        worst = np.minimum.reduceat(full, starts)
        unit_row = np.maximum.reduceat(row_full, starts)
        ok = unit_row >= 0
        most = np.bincount(unit_row[ok], weights=best[ok], minlength=n)
        least = np.bincount(unit_row[ok], weights=worst[ok], minlength=n)
    else:
        most = least = np.zeros(n)
    fmt = pr.meta.get("fmt", lambda q, r: f"{q:,.4g}")
    field = pr.meta.get("field", "targets")
    problems = []
    for r in range(n):
        where = "" if pr.labels[r] in ("national", "all") else f" in {pr.labels[r]}"
        tol = 1e-7 * max(1.0, abs(lower[r]) if np.isfinite(lower[r]) else 1.0)
        if np.isfinite(lower[r]) and most[r] < lower[r] - tol:
            problems.append(Problem(
                pr.meta.get("file"), f"{field}.min",
                f"target '{pr.ref}'{where} asks at least {fmt(lower[r] + constant[r], r)} "
                f"but no allocation can reach more than {fmt(most[r] + constant[r], r)} "
                "(the rules and fixed land leave too little room)",
                "lower the target, make it soft (`hard: false` with a `penalty`), "
                "or relax the rules that close the land"))
        if np.isfinite(upper[r]) and least[r] > upper[r] + tol:
            problems.append(Problem(
                pr.meta.get("file"), f"{field}.max",
                f"target '{pr.ref}'{where} allows at most {fmt(upper[r] + constant[r], r)} "
                f"but fixed land already gives {fmt(least[r] + constant[r], r)}",
                "raise the maximum or make the target soft"))
    return problems
