"""report.html of a run and of a comparison: contents, self-containedness, a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml

from ruimteverdeling import api
from ruimteverdeling.errors import InputError
from ruimteverdeling.report import run as rp
from ruimteverdeling.report.scale import SCALE
from ruimteverdeling.results import runfolder
from ruimteverdeling.results.runfolder import read_pareto

from areas import SRC, write_area, write_scenario

IDENT = [[0, 0], [1, 1]]
DATA_IMG = '<img src="data:image/png;base64,'


def scenario(folder: Path, sid: str, homes: float, title: str) -> Path:
    """3 × 6 farmland and nature in two provinces; a hard homes target, a soft nature target,
    and a G rule relaxed by an override with a justification."""
    lu = np.full((3, 6), 3)
    lu[0, :2] = 2
    lu[2, 5] = 23
    regions = np.ones((3, 6), np.int32)
    regions[:, 3:] = 2
    sh = np.tile(np.linspace(0.45, 0.05, 6), (3, 1))
    zone = np.zeros((3, 6), np.uint8)
    zone[1, :] = 1
    area = folder / "area" / "area.yaml"
    if not area.exists():
        area = write_area(folder / "area", lu, regions, {1: "Noord", 2: "Zuid"}, {
            "s_h": (sh, "continuous", {}), "zone": (zone, "mask", {}),
            "heritage": (zone, "mask", {})})
    return write_scenario(folder / f"{sid}.yaml", {
        "id": sid, "title": title, "area": str(area),
        "housing_density": {"default": 10, "source": SRC},
        "suitability": {"housing": {"terms": [{"layer": "s_h", "points": IDENT}]},
                        "agriculture": {"base": 0.5}, "nature": {"base": 0.45}},
        "targets": [
            {"id": "homes_target", "use": "housing", "quantity": "homes", "basis": "new",
             "min": homes, "status": "G", "source": SRC},
            {"id": "nature_soft", "use": "nature", "min": 30, "hard": False, "penalty": 0.01,
             "source": SRC}],
        "rules": [{"id": "no_housing_in_zone", "type": "exclusion", "status": "G",
                   "layer": "zone", "uses": ["housing"], "source": SRC},
                  {"id": "three_uses", "type": "exclusion", "layer": "landuse",
                   "allow": ["housing", "nature", "agriculture"], "applies_to": "all",
                   "source": SRC}],
        "overrides": [{"rule": "homes_target", "action": "set", "set": {"min": homes},
                       "justification": "Gerechtvaardigd omdat de test dat vraagt."}],
    })


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    ref = scenario(folder, "referentie", 30, "Referentie met <tekens> & zo")
    alt = scenario(folder, "meer-woningen", 70, "Meer woningen")
    api.solve(ref, folder / "run_ref")
    api.solve(alt, folder / "run_alt")
    api.compare(folder / "run_ref", [folder / "run_alt"], folder / "cmp")
    return {"ref": folder / "run_ref", "alt": folder / "run_alt", "cmp": folder / "cmp",
            "folder": folder}


def external_urls(text: str) -> list[str]:
    """Every src/href (and CSS url()) that points outside the file."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text, flags=re.I)
    refs += re.findall(r"url\(\s*['\"]?([^)'\"]*)", text, flags=re.I)
    return [r for r in refs if re.match(r"^\s*(https?:)?//", r, flags=re.I)]


def test_run_report_has_maps_tables_and_the_scenario(runs: dict[str, Path]) -> None:
    html = (runs["ref"] / "report.html").read_text(encoding="utf-8")
    assert "<code>referentie</code>" in html
    assert "Referentie met &lt;tekens&gt; &amp; zo" in html  # escaped title
    assert html.count(DATA_IMG) >= 2  # allocation/change maps, burdens chart
    for text in ("Doelbereik", "Target attainment", "homes_target", "nature_soft",
                 "Doelfunctie per term", "suitability", "no_housing_in_zone", "Regels",
                 "Gerechtvaardigd omdat de test dat vraagt.", "Lusten en lasten",
                 "Indicatoren (plan-MER)", "Nieuwe woningen (op nieuw land)", "Noord", "Zuid",
                 "Verantwoording", "optimal", "Wonen / Housing", 'href="#kaarten"'):
        assert text in html, text
    assert 'id="pareto"' not in html  # no pareto.csv, no section
    assert html.count("<table") >= 8


def test_reports_are_self_contained(runs: dict[str, Path]) -> None:
    for path in (runs["ref"] / "report.html", runs["cmp"] / "report.html"):
        html = path.read_text(encoding="utf-8")
        assert not external_urls(html), external_urls(html)[:3]
        assert "<script" not in html and "<link" not in html and "@import" not in html
    assert external_urls('<img src="https://x/y.png"><a href="//cdn">') == [
        "https://x/y.png", "//cdn"]  # the check itself can fail


def test_outputs_manifest_and_summary_indicators(runs: dict[str, Path]) -> None:
    manifest = json.loads((runs["ref"] / "manifest.json").read_text())
    assert {"report.html", "indicators.csv"} <= set(manifest["outputs"])
    summary = json.loads((runs["ref"] / "summary.json").read_text())
    ind = summary["indicators"]
    rows = {(r["criterion"], r["region"]): r["value"] for r in ind["rows"]}
    assert rows[("burden_gini", "national")] == pytest.approx(summary["burden_gini"])
    homes = next(t for t in summary["targets"] if t["target"] == "homes_target")
    assert rows[("new_homes", "national")] == pytest.approx(homes["achieved"])
    assert rows[("new_homes", "Noord")] + rows[("new_homes", "Zuid")] == pytest.approx(
        homes["achieved"])
    csv_text = (runs["ref"] / "indicators.csv").read_text()
    assert csv_text.startswith("criterion,theme,region,") and "heritage_changed_ha" in csv_text


def test_pareto_hook(runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["ref"], run)
    before = (run / "report.html").read_text().count(DATA_IMG)
    (run / "pareto.csv").write_text(
        "point,suitability,transition_cost,gap,selected\n"
        "p0,10.5,1.0,0,no\np1,12.0,2.5,0,yes\np2,12.6,4.0,0,no\n")
    api.render_report(run)
    html = (run / "report.html").read_text()
    assert 'id="pareto"' in html and "Paretofront" in html
    assert html.count(DATA_IMG) == before + 1
    assert "<code>suitability</code>" in html and "<code>transition_cost</code>" in html
    front = read_pareto(run / "pareto.csv")
    assert front is not None and (front["x"], front["y"]) == ("suitability", "transition_cost")
    (run / "pareto.csv").write_text("point,status\np0,optimal\n")
    api.render_report(run)
    html = (run / "report.html").read_text()
    assert "two numeric objective columns" in html  # shown, not a crash


def test_run_folder_reader(runs: dict[str, Path], tmp_path: Path) -> None:
    """A complete folder reads back; an interrupted or damaged one is named as such."""
    run = tmp_path / "run"
    shutil.copytree(runs["ref"], run)
    manifest = runfolder.complete_manifest(run)
    assert manifest is not None and manifest == runfolder.read_manifest(run)
    summary = runfolder.read_summary(run)
    assert summary == json.loads((run / "summary.json").read_text(encoding="utf-8"))
    _, _, after, grid = runfolder.read_run_folder(run)
    assert after.shape == (grid.height, grid.width) == (3, 6)
    (run / "report.html").unlink()  # an output the manifest lists
    assert runfolder.complete_manifest(run) is None
    (run / "summary.json").unlink()
    with pytest.raises(InputError, match=r"summary\.json is missing"):
        runfolder.read_summary(run)
    (run / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    assert runfolder.complete_manifest(run) is None
    (run / "manifest.json").write_text("{not json")
    assert runfolder.complete_manifest(run) is None
    with pytest.raises(InputError, match="not valid JSON"):
        runfolder.read_manifest(run)
    assert runfolder.read_rule_costs(run) == []


def test_compare_report(runs: dict[str, Path]) -> None:
    html = (runs["cmp"] / "report.html").read_text(encoding="utf-8")
    for text in ("Beoordelingstabel", "meer-woningen", "referentie", 'class="score"',
                 "Scores per provincie", "Verschilkaarten", "Drempels",
                 "Nieuwe woningen (op nieuw land)", "href=\"../run_ref/report.html\""):
        assert text in html, text
    assert html.count(DATA_IMG) >= 3  # difference map + a map per run
    for score in re.findall(r'<span class="score"[^>]*>([^<]*)</span>', html):
        assert score in (*SCALE, "n/a"), score


def test_a_failing_report_keeps_the_run(runs: dict[str, Path], monkeypatch) -> None:
    def boom(view, figures=None):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(rp, "render_run_report", boom)
    out = runs["folder"] / "run_fail"
    with pytest.warns(api.ReportWarning, match="kaboom"):
        api.solve(runs["folder"] / "referentie.yaml", out)
    assert "report failed" in (out / "report.html").read_text()
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class _Reader(HTMLParser):
    """The tags and the visible text of a page, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [v or "" for _, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_text_from_a_scenario_is_shown_as_text(runs: dict[str, Path], tmp_path: Path) -> None:
    """A title, a source quote and a justification holding markup are escaped: the page shows
    them as text and has no script or injected image; so does the comparison."""
    path = scenario(runs["folder"], "hostile", 30, f"Titel {HOSTILE}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"][0]["source"] = {**SRC, "quote": f"quote {HOSTILE}"}
    data["overrides"][0]["justification"] = f"Omdat {HOSTILE} het vraagt."
    write_scenario(path, data)
    api.solve(path, tmp_path / "run")
    api.compare(runs["ref"], [tmp_path / "run"], tmp_path / "cmp")
    run_text = [f"Ruimteverdeling — hostile: Titel {HOSTILE}",  # <title>
                f'quote {HOSTILE}"', f"Omdat {HOSTILE} het vraagt."]
    for page, shown in ((tmp_path / "run" / "report.html", run_text),
                        (tmp_path / "cmp" / "report.html", [f"Titel {HOSTILE}"])):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower() and "<img src=x" not in html
        reader = _Reader()
        reader.feed(html)
        assert "script" not in reader.tags
        assert not any(a == "x" for a in reader.attributes)  # no <img src=x>
        text = "".join(reader.text)
        for value in shown:
            assert value in text, value


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium); the browser rendering check is skipped")
@pytest.mark.parametrize("which", ["ref", "cmp"])
def test_report_renders_in_headless_chromium(runs: dict[str, Path], tmp_path: Path,
                                              which: str) -> None:
    import matplotlib.image as mpimg

    page = runs[which] / "report.html"
    shot = tmp_path / "shot.png"
    assert not external_urls(page.read_text(encoding="utf-8"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
           f"--screenshot={shot}", "--window-size=1400,3000", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), proc.stderr[-2000:]
    assert shot.stat().st_size > 50_000
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1400)
    assert pixels.std() > 0.1  # not blank
    not_white = (pixels < 0.95).any(axis=2).mean()
    assert not_white > 0.1
    # the dark header band at the top and coloured map or score pixels further down
    assert pixels[:60].mean() < 0.4
    saturated = (pixels.max(axis=2) - pixels.min(axis=2) > 0.3).mean()
    assert saturated > 0.002
