"""What the outputs of a multi-period run promise, checked on the files a run writes: the
transitions of the use catalogue on the output rasters, the 2100 layers' future cost in the
objective, the per-period areas and the timeline, batch runs over periods, the sources of the
catalogue's transition entries, and that one period is the end-state model unchanged."""

from __future__ import annotations

import base64
import csv
import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import yaml
from click.testing import CliRunner

from ruimteverdeling.cli import main
from ruimteverdeling.uses import UseCatalogue

from areas import SRC, hand_case, write_area, write_scenario

YEARS = [2030, 2040, 2050]
AGRI, INDUSTRY, INFRA = 3, 21, 22
CATALOGUE = UseCatalogue.default()
IRREVERSIBLE = [u.id for u in CATALOGUE.allocatable if u.irreversible]
VALUE_2030 = 5.0  # an irreversible use's worth per ha and year in 2030 (farmland: 1.0)


def _cli(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1).ravel()


# -- the transitions of the catalogue, on the output rasters ---------------------------------
def transition_violations(out: Path, prefix: str = "allocation") -> list[str]:
    """Every cell and pair of consecutive periods in which the rasters ``<prefix>_<year>.tif``
    break the catalogue's transitions: a cell leaves an irreversible or a context use; a
    temporary use is left for another use than its ``reverts_to``, or before its
    ``lifetime_years`` have passed since the first period it is seen in (the first period
    for a use already there then); or a use follows one whose ``successors`` do not list
    it."""
    grids = [_read(out / f"{prefix}_{y}.tif") for y in YEARS]
    since = {}  # cell -> first year of its current temporary use
    bad = []
    for (y0, g0), (y1, g1) in itertools.pairwise(zip(YEARS, grids, strict=True)):
        for c in np.flatnonzero(g0 != g1):
            a, b = CATALOGUE.by_code(g0[c]), CATALOGUE.by_code(g1[c])
            where = f"cell {c}: {a.id} in {y0} -> {b.id} in {y1}"
            if a.irreversible or a.kind == "context":
                bad.append(f"{where} (irreversible)")
            elif a.reverts_to is not None and (
                    b.id != a.reverts_to or y1 - since.get(c, YEARS[0]) < a.lifetime_years):
                bad.append(f"{where} (reverts_to {a.reverts_to} after {a.lifetime_years} y)")
            elif a.successors is not None and b.id not in a.successors:
                bad.append(f"{where} (successors {a.successors})")
            since[c] = y1
    return bad


def _transition_instance(folder: Path, reserve: str | None = None) -> Path:
    """A row of farmland cells, one per irreversible use of the catalogue (cell i: use i),
    then a spare farmland cell, industry and infrastructure. Use i is worth VALUE_2030 per ha
    and year on cell i in 2030 and nothing anywhere later (a per-period layer); farmland 1.0.
    With weights 10/10/10, building use i on cell i in 2030 and keeping it (50 points) beats
    farmland throughout (30), and returning to farmland after 2030 (70) would beat both: the
    optimum places every irreversible use in 2030, and only irreversibility keeps it.
    ``reserve``: a reservation rule with that ``closes:`` on the irreversible uses' cells."""
    n = len(IRREVERSIBLE)
    landuse = np.array([[AGRI] * (n + 1) + [INDUSTRY, INFRA]])
    width = landuse.shape[1]
    layers: dict[str, tuple[Any, str, dict[str, Any]]] = {
        "zero": (np.zeros((1, width), np.float32), "continuous", {"unit": "-"})}
    for i in range(n):
        v = np.zeros((1, width), np.float32)
        v[0, i] = 1.0
        layers[f"v{i}_2030"] = (v, "continuous", {"unit": "-"})
    reserved = np.zeros((1, width), np.int32)
    reserved[0, :n] = 1
    layers["reserved"] = (reserved, "mask", {})
    write_area(folder, landuse, layers=layers)
    suit: dict[str, Any] = {"agriculture": {"base": 1.0}}
    for i, u in enumerate(IRREVERSIBLE):
        suit[u] = {"base": 0.0, "terms": [{"layer": f"v{i}", "points": [[0, 0], [1, 1]],
                                           "weight": VALUE_2030}]}
    off = [u.id for u in CATALOGUE.allocatable if u.id not in IRREVERSIBLE
           and u.id != "agriculture"]
    data = {"id": "transitions", "area": "area.yaml", "periods": YEARS,
            "period_layers": {f"v{i}": {2030: f"v{i}_2030", 2040: "zero", 2050: "zero"}
                              for i in range(n)},
            "suitability": suit, "uses": [{"id": u, "kind": "context"} for u in off]}
    if reserve is not None:
        data["rules"] = [{"id": "keep_open_for_2100", "type": "reservation", "status": "G",
                          "layer": "reserved", "closes": reserve, "source": SRC}]
    return write_scenario(folder / "transitions.yaml", data)


@pytest.fixture(scope="module")
def transition_run(tmp_path_factory) -> tuple[Path, list]:
    """The instance solved once in both modes; the timeline the report's chart was drawn
    from, captured on its way to the figure."""
    import ruimteverdeling.report.run as report_run

    folder = tmp_path_factory.mktemp("transitions")
    path = _transition_instance(folder)
    drawn: list = []
    real = report_run.timeline_png

    def capture(timeline, catalogue):
        png = real(timeline, catalogue)
        drawn.append((json.loads(json.dumps(timeline)), png))
        return png

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report_run, "timeline_png", capture)
        res = _cli(["solve", str(path), "-o", str(folder / "out"), "-q", "--mode", "both"])
    assert res.exit_code == 0, res.output
    return folder / "out", drawn


@pytest.mark.parametrize("prefix", ["allocation", "myopic_allocation"])
def test_irreversible_uses_stay_on_the_output_rasters(transition_run, prefix):
    out, _ = transition_run
    n = len(IRREVERSIBLE)
    assert {"housing", "nature", "water_buffer"} <= set(IRREVERSIBLE)
    first = _read(out / f"{prefix}_2030.tif")
    # not vacuous: every irreversible use is placed in the first period
    assert [CATALOGUE.by_code(c).id for c in first[:n]] == IRREVERSIBLE
    assert transition_violations(out, prefix) == []
    for y in YEARS:  # and, worth nothing after 2030, still stands in every later period
        assert [CATALOGUE.by_code(c).id for c in _read(out / f"{prefix}_{y}.tif")] == \
            [*IRREVERSIBLE, "agriculture", "industry", "infrastructure"]


def test_the_raster_check_finds_a_use_given_up(transition_run, tmp_path):
    """The check above can fail: each irreversible use (and industry) turned back into
    farmland in a copy of the 2050 raster is reported."""
    import shutil

    out, _ = transition_run
    n = len(IRREVERSIBLE)
    for c in [*range(n), n + 1]:
        copy = tmp_path / f"c{c}"
        shutil.copytree(out, copy)
        with rasterio.open(copy / "allocation_2050.tif", "r+") as dst:
            band = dst.read(1)
            band[0, c] = AGRI
            dst.write(band, 1)
        found = transition_violations(copy)
        assert len(found) == 1 and found[0].startswith(f"cell {c}: ")
    # a solar park that returns to farmland before its lifetime is caught too
    copy = tmp_path / "solar"
    shutil.copytree(out, copy)
    for y, code in ((2030, CATALOGUE["solar"].code), (2040, AGRI)):
        with rasterio.open(copy / f"allocation_{y}.tif", "r+") as dst:
            band = dst.read(1)
            band[0, n] = code
            dst.write(band, 1)
    assert CATALOGUE["solar"].lifetime_years > 10
    assert [v.split(" (")[1] for v in transition_violations(copy)] == \
        ["reverts_to agriculture after 25 y)"]


@pytest.mark.parametrize("closes", ["built", "irreversible"])
def test_reservations_on_the_output_rasters(tmp_path, closes):
    """The same instance with its irreversible uses' cells reserved: no closed use on a
    reserved cell in any period of either pathway (``closes: built``: permanent building;
    ``irreversible``: every use a pathway never gives up), while the uses left open are still
    placed there (the instance wants every one of them, see above)."""
    path = _transition_instance(tmp_path, reserve=closes)
    out = tmp_path / "out"
    res = _cli(["solve", str(path), "-o", str(out), "-q", "--mode", "both"])
    assert res.exit_code == 0, res.output
    closed = {u for u in IRREVERSIBLE if CATALOGUE[u].built or closes == "irreversible"}
    assert "housing" in closed and ("nature" in closed) == (closes == "irreversible")
    want = [u if u not in closed else "agriculture" for u in IRREVERSIBLE]
    for prefix in ("allocation", "myopic_allocation"):
        for y in YEARS:
            got = [CATALOGUE.by_code(c).id for c in _read(out / f"{prefix}_{y}.tif")]
            assert got[: len(IRREVERSIBLE)] == want, (prefix, y)
        assert transition_violations(out, prefix) == []


# -- areas.csv and the timeline -----------------------------------------------------------------
def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_areas_per_period_add_up_to_the_land_and_match_the_timeline(transition_run):
    out, drawn = transition_run
    land_ha = float(len(IRREVERSIBLE) + 3)  # every cell is land, 1 ha each
    rows = _csv(out / "areas.csv")
    assert next(iter(rows[0])) == "period"
    per_region: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for r in rows:
        per_region[r["region"], int(r["period"])][r["use"]] = float(r["ha_after"])
    assert sorted(per_region) == [(reg, y) for reg in ("R1", "national") for y in YEARS]
    for ha in per_region.values():  # every period, the one region and the nation
        assert sum(ha.values()) == pytest.approx(land_ha)
    after = {y: per_region["national", y] for y in YEARS}
    # by hand: one hectare of each irreversible use in every period, industry and
    # infrastructure as they were, the spare cell farmland
    for y in YEARS:
        assert {u: v for u, v in after[y].items() if v} == {
            **{u: 1.0 for u in IRREVERSIBLE}, "agriculture": 1.0, "industry": 1.0,
            "infrastructure": 1.0}
    # the timeline (timeline.csv, and what the report's chart was drawn from) is areas.csv
    timeline = _csv(out / "timeline.csv")
    assert [int(r["period"]) for r in timeline] == YEARS
    assert len(drawn) == 1
    numbers, png = drawn[0]
    assert [int(r["period"]) for r in numbers] == YEARS
    for t, d in zip(timeline, numbers, strict=True):
        y = int(t["period"])
        for use in CATALOGUE.ids:
            assert float(t[use]) == pytest.approx(after[y].get(use, 0.0)), (y, use)
            assert float(d[use]) == pytest.approx(after[y].get(use, 0.0)), (y, use)
    # the chart in report.html is that drawing
    html = (out / "report.html").read_text(encoding="utf-8")
    assert png and (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
                    'alt="hectares per use per period">') in html


def test_the_raster_check_finds_a_pathway_the_catalogue_forbids(tmp_path):
    """A scenario that lets nature return to farmland after ten years gets exactly that from
    the solver (farmland is worth more after 2030), and the check against the shipped
    catalogue reports it on the rasters."""
    path = _transition_instance(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["uses"].append({"id": "nature", "irreversible": False, "reverts_to": "agriculture",
                         "lifetime_years": 10})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    res = _cli(["solve", str(path), "-o", str(tmp_path / "out"), "-q", "--mode", "foresight"])
    assert res.exit_code == 0, res.output
    cell = IRREVERSIBLE.index("nature")
    assert transition_violations(tmp_path / "out") == [
        f"cell {cell}: nature in 2030 -> agriculture in 2040 (irreversible)"]


# -- one period is the end-state model ----------------------------------------------------------
def test_one_period_gives_the_end_state_models_outputs(tmp_path):
    """``periods: [2030]`` on the hand-solved case (objective 5.1 by hand, see areas.py)
    gives the allocation, objective and tables of the same scenario without periods."""
    plain = hand_case(tmp_path)
    data = yaml.safe_load(plain.read_text())
    one = write_scenario(tmp_path / "one.yaml", {**data, "periods": [2030]})
    outs = {}
    for name, path in (("plain", plain), ("one", one)):
        outs[name] = tmp_path / f"out_{name}"
        res = _cli(["solve", str(path), "-o", str(outs[name]), "-q"])
        assert res.exit_code == 0, res.output
    summaries = {k: json.loads((o / "summary.json").read_text()) for k, o in outs.items()}
    assert summaries["plain"]["objective"] == pytest.approx(5.1, abs=1e-6)  # float32 layers
    assert summaries["one"]["objective"] == pytest.approx(summaries["plain"]["objective"],
                                                          abs=1e-9)
    assert summaries["one"]["status"] == summaries["plain"]["status"] == "optimal"
    assert "pathway" not in summaries["one"]
    assert (_read(outs["one"] / "allocation.tif") == _read(outs["plain"] / "allocation.tif")
            ).all()
    assert not list(outs["one"].glob("allocation_*.tif"))
    for table in ("areas.csv", "targets.csv", "rules.csv"):
        assert (outs["one"] / table).read_text() == (outs["plain"] / table).read_text()


# -- the 2100 layers' future cost (niet afwentelen) ----------------------------------------------
HQ = [0.875, 0.625, 0.5, 0.125]  # housing's worth per cell (farmland 1.0); exact in float32


def _future_cost_instance(folder: Path, flood_2100: list[float] | None) -> Path:
    """Four farmland cells of 1 ha, periods 2030 and 2050 (weights 20, 20), one hectare of
    housing due by 2030 (and kept: housing is irreversible). With ``flood_2100``, a future
    cost of housing of 1 point per ha and year times a flood layer that is 0 in 2030 and
    ``flood_2100`` in the 2050 period (which faces 2100)."""
    layers = {"hq": (np.array([HQ], np.float32), "continuous", {"unit": "-"}),
              "flood_now": (np.zeros((1, 4), np.float32), "continuous", {"unit": "m"}),
              "flood_2100": (np.array([flood_2100 or [0.0] * 4], np.float32), "continuous",
                             {"unit": "m"})}
    write_area(folder, np.full((1, 4), AGRI), layers=layers)
    off = [u.id for u in CATALOGUE.allocatable if u.id not in ("housing", "agriculture")]
    data: dict[str, Any] = {
        "id": "future", "area": "area.yaml", "periods": [2030, 2050],
        "suitability": {"housing": {"terms": [{"layer": "hq", "points": [[0, 0], [1, 1]]}]},
                        "agriculture": {"base": 1.0}},
        "targets": [{"id": "h", "use": "housing", "quantity": "area", "min": 1, "by": 2030,
                     "source": SRC}],
        "uses": [{"id": u, "kind": "context"} for u in off]}
    if flood_2100 is not None:
        data["period_layers"] = {"flood": {2030: "flood_now", 2050: "flood_2100"}}
        data["rules"] = [{"id": "future_cost", "type": "cost", "term": "future_cost",
                          "uses": ["housing"], "per_ha": 1.0, "source": SRC,
                          "value": [{"layer": "flood", "points": [[0, 0], [1, 1]]}]}]
    return write_scenario(folder / "future.yaml", data)


def test_the_2100_layers_future_cost_moves_housing(tmp_path):
    """By hand (farmland 4 cells x 1.0 x 40 years = 160): without the future cost housing
    goes on cell 0 from 2030 (loses 40 x 0.125 = 5: objective 155). A 2100 flood cost of
    1.0 on cell 0 and 0.125 on cell 1, counted in the 2050 period, makes cell 0 lose
    5 + 20 x 1.0 = 25, cell 1 40 x 0.375 + 20 x 0.125 = 17.5 and cell 2 40 x 0.5 = 20:
    housing moves to cell 1, objective 142.5, of which the future cost is 20 x 0.125."""
    runs = {}
    for name, flood in (("none", None), ("2100", [1.0, 0.125, 0.0, 0.0])):
        out = tmp_path / f"out_{name}"
        res = _cli(["solve", str(_future_cost_instance(tmp_path / name, flood)), "-o",
                    str(out), "-q", "--mode", "foresight"])
        assert res.exit_code == 0, res.output
        runs[name] = (json.loads((out / "summary.json").read_text()),
                      {y: _read(out / f"allocation_{y}.tif") for y in (2030, 2050)})
    housing = CATALOGUE["housing"].code
    (plain, grids0), (future, grids1) = runs["none"], runs["2100"]
    assert plain["objective"] == pytest.approx(155.0, abs=1e-6)
    assert future["objective"] == pytest.approx(142.5, abs=1e-6)
    for y in (2030, 2050):
        assert list(np.flatnonzero(grids0[y] == housing)) == [0]
        assert list(np.flatnonzero(grids1[y] == housing)) == [1]
    # the term per period (a year's worth): nothing in 2030, 0.125 in the period facing 2100;
    # the weighted sum of the periods' terms is the joint objective
    terms = {(int(r["period"]), r["term"]): r for r in future["objective_terms"]}
    assert terms[2030, "future_cost"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert terms[2050, "future_cost"]["value"] == pytest.approx(0.125, abs=1e-6)
    weights = dict(zip(future["pathway"]["periods"], future["pathway"]["weights"],
                       strict=True))
    assert weights == {2030: 20.0, 2050: 20.0}
    assert sum(weights[y] * r["contribution"] for (y, _), r in terms.items()) == \
        pytest.approx(future["objective"], abs=1e-6)


def test_the_shipped_pathway_faces_2100_in_its_last_period():
    """The shipped three-period scenario's future-cost rule reads the 2100 flood depth in
    every period and the subsidence until 2100 in the last one."""
    from ruimteverdeling.rules import load_scenario

    s = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "pathways.yaml")
    assert s.periods == YEARS
    rules = [r for r in s.rules if getattr(r, "term", None) == "future_cost"]
    assert rules

    def read_in(layer: str, year: int) -> str:
        return (s.period_layers.get(layer) or {}).get(year, layer)

    layers = {y: {read_in(t.layer, y) for r in rules for t in r.value} for y in YEARS}
    assert {"flood_depth_2100", "subsidence_2100"} <= layers[2050]
    assert "subsidence_2100" not in layers[2030]


# -- batch over a multi-period scenario ---------------------------------------------------------
def test_batch_runs_a_multi_period_scenario_beside_a_single_one(tmp_path):
    single = hand_case(tmp_path / "single")
    multi = _future_cost_instance(tmp_path / "multi", [1.0, 0.125, 0.0, 0.0])
    out = tmp_path / "batch"
    res = _cli(["batch", str(single), str(multi), "-o", str(out), "--workers", "1", "-q"])
    assert res.exit_code == 0, res.output
    # the summary lists both, with the hand-computed objectives (5.1 and 142.5, above)
    rows = {r["id"]: r for r in _csv(out / "batch.csv")}
    assert sorted(rows) == ["future", "hand"]
    assert {r["status"] for r in rows.values()} == {"optimal"}
    assert float(rows["hand"]["objective"]) == pytest.approx(5.1, abs=1e-6)
    assert float(rows["future"]["objective"]) == pytest.approx(142.5, abs=1e-6)
    assert rows["future"]["housing_ha"] == "1"
    runs = {r["id"]: r for r in json.loads((out / "batch.json").read_text())["runs"]}
    assert sorted(runs) == ["future", "hand"]
    # the multi-period run folder is a pathway's, the single one an end state's
    multi_out = Path(runs["future"]["out_dir"])
    for y in (2030, 2050):
        assert list(np.flatnonzero(_read(multi_out / f"allocation_{y}.tif") ==
                                   CATALOGUE["housing"].code)) == [1]
    assert json.loads((multi_out / "summary.json").read_text())["pathway"]["periods"] == \
        [2030, 2050]
    single_out = Path(runs["hand"]["out_dir"])
    assert "pathway" not in json.loads((single_out / "summary.json").read_text())
    assert not list(single_out.glob("allocation_*.tif"))


# -- the catalogue's transition entries carry their sources -------------------------------------
ASSUMPTION = "ruimteverdeling assumption"


def _transition_fields(use) -> set[str]:
    """The transition entries a catalogue use sets (its lifetime always)."""
    return ({"lifetime_years"} | ({"irreversible"} if use.irreversible else set())
            | ({"reverts_to"} if use.reverts_to is not None else set())
            | ({"successors"} if use.successors is not None else set()))


def source_problems(catalogue: UseCatalogue) -> list[str]:
    """Every transition entry of ``catalogue`` without a source: a document quoted, or an
    explicit ``ruimteverdeling assumption`` that states the assumption in its note; and every
    source of an entry the use does not set."""
    from ruimteverdeling.scenario.schema import Source

    bad = []
    for u in catalogue:
        for name in sorted(_transition_fields(u) | set(u.sources)):
            where = f"uses.{u.id}.sources.{name}"
            if name not in _transition_fields(u):
                bad.append(f"{where}: a source of an entry the use does not set")
            elif name not in u.sources:
                bad.append(f"{where}: missing")
            else:
                s = Source.model_validate(u.sources[name])
                if s.document == ASSUMPTION and not (s.note or "").strip():
                    bad.append(f"{where}: an assumption that does not say what it assumes")
                elif s.document != ASSUMPTION and not (s.quote or "").strip():
                    bad.append(f"{where}: a document without a quote")
    return bad


def test_every_transition_entry_of_the_catalogue_has_a_source():
    assert source_problems(CATALOGUE) == []
    # the walk covers what pathways need: every irreversible and temporary use
    assert {u.id for u in CATALOGUE if u.irreversible} >= {"housing", "nature", "water_buffer"}
    assert {u.id for u in CATALOGUE if u.reverts_to} >= {"solar", "wind"}
    # housing's irreversibility is the document's, quoted; the rest say they are assumptions
    assert CATALOGUE["housing"].sources["irreversible"]["quote"].startswith("Inrichting")
    assert CATALOGUE["nature"].sources["irreversible"]["document"] == ASSUMPTION


def test_the_source_walk_finds_an_entry_without_one():
    broken = CATALOGUE.with_overrides([
        {"id": "solar", "sources": {"lifetime_years":
                                    CATALOGUE["solar"].sources["lifetime_years"]}},
        {"id": "nature", "sources": {**CATALOGUE["nature"].sources,
                                     "irreversible": {"document": "Some report"}}},
        {"id": "agriculture", "successors": ["agriculture", "nature"]},
        {"id": "defence", "sources": {**CATALOGUE["defence"].sources,
                                      "reverts_to": {"document": ASSUMPTION, "note": "x"}}}])
    assert source_problems(broken) == [
        "uses.nature.sources.irreversible: a document without a quote",
        "uses.agriculture.sources.successors: missing",
        "uses.solar.sources.reverts_to: missing",
        "uses.defence.sources.reverts_to: a source of an entry the use does not set"]
