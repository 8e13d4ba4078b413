"""The whole suite on the small demo: every notebook runs through the runner, and reruns reproduce."""

import json
import re
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import cxlib.data._load
from cxlib.data._config import load_config
from cxlib.engine._load import _EngineLoad
from cxlib.report._browser import chromium_path, inspect_pages
from cxlib.report._pdf import A4_POINTS, pdf_pages
from cxlib.run import CATALOG, MANIFEST, load_table
from cxlib.run._artifacts import VALIDATED
from cxlib.run._runner import PRINTED_PAGES, PRINTED_REPORTS, discover_notebooks, run_suite

from .absent_data import report_text
from .conftest import SMALL_CONFIG
from .id_scan import decoded_forms, ids_in
from .test_runner import write_notebook


@dataclass
class CountedRun:
    """The second run: input files read by the runner and by the notebooks' kernels."""

    runner_reads: list
    kernel_reads: list
    folder: Path


def _counted_run(folder: Path):
    """A full run plus a control notebook that loads the data itself, counting every input file read.

    Kernels count through an IPython startup file (the control notebook proves the counting works);
    the runner's own reads are counted in this process.
    """
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    kernel_log = folder / "kernel_reads.txt"
    (startup / "00_count_reads.py").write_text(  # either loader: pandas' read_table, DuckDB's _read
        "import cxlib.data._load\n"
        "import cxlib.engine._load\n"
        "_read_table = cxlib.data._load.read_table\n"
        "_engine_read = cxlib.engine._load._EngineLoad._read\n"
        "def _log(path):\n"
        f"    with open({str(kernel_log)!r}, 'a') as log:\n"
        "        log.write(f'{path}\\n')\n"
        "def _counting(path, *args, **kwargs):\n"
        "    _log(path)\n"
        "    return _read_table(path, *args, **kwargs)\n"
        "def _engine_counting(self, table, spec, path):\n"
        "    _log(path)\n"
        "    return _engine_read(self, table, spec, path)\n"
        "cxlib.data._load.read_table = _counting\n"
        "cxlib.engine._load._EngineLoad._read = _engine_counting\n"
    )
    control = write_notebook(
        folder / "nb",
        "99_control",
        "from cxlib.data._config import load_config\nfrom cxlib.data._load import load_data\n"
        "load_data(load_config(config_path))",
    )
    notebook = nbformat.read(control, as_version=4)
    notebook.metadata["cx"] = {"expects_figures": False}
    nbformat.write(notebook, control)
    reads = []
    original = cxlib.data._load.read_table
    original_engine = _EngineLoad._read

    def counting(path, *args, **kwargs):
        reads.append(path)
        return original(path, *args, **kwargs)

    def engine_counting(self, table, spec, path):
        reads.append(path)
        return original_engine(self, table, spec, path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPYTHONDIR", str(folder / "ipython"))
        patch.setattr(cxlib.data._load, "read_table", counting)
        patch.setattr(_EngineLoad, "_read", engine_counting)
        manifest = run_suite(SMALL_CONFIG, folder / "reports", notebooks=[*discover_notebooks(), control])
    kernel = kernel_log.read_text().splitlines() if kernel_log.exists() else []
    return manifest, CountedRun(reads, kernel, folder)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two full runs of the small demo: the second also counts input reads (one run serves several checks)."""
    first = tmp_path_factory.mktemp("first") / "reports"
    folder = tmp_path_factory.mktemp("second")
    manifest, counted = _counted_run(folder)
    return run_suite(SMALL_CONFIG, first), manifest, first, folder / "reports", counted


def run_data(out):
    return out.with_name(f"{out.name}-data")


def test_every_notebook_is_reported_in_the_index(two_runs):
    manifest, _, out, _, _ = two_runs
    assert [r["notebook"] for r in manifest["reports"]] == [p.stem for p in discover_notebooks()]
    index = (out / "index.html").read_text()
    for report in manifest["reports"]:
        assert (out / report["html"]).is_file()
        assert report["headline"], f"{report['notebook']} saved no headline for the index"
        assert report["headline"] in index.replace("&#39;", "'").replace("&amp;", "&")


def test_same_data_config_and_seed_give_the_same_numbers(two_runs):
    _, _, first, second, _ = two_runs
    for summary in sorted((run_data(first) / "summaries").glob("*.json")):
        again = run_data(second) / "summaries" / summary.name
        assert json.loads(summary.read_text()) == json.loads(again.read_text()), summary.name
    tables = sorted(run_data(first).glob("*.parquet"))
    assert tables
    for table in tables:
        pd.testing.assert_frame_equal(pd.read_parquet(table), pd.read_parquet(run_data(second) / table.name))


def test_reports_show_no_customer_identifiers(two_runs, small_data):
    _, _, out, _, _ = two_runs
    ids = set(small_data["customers"]["customer_id"])
    for html in sorted(out.glob("*.html")):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html.read_text())
        assert not ids & set(re.findall(r"C\d{6}", text)), html.name


def test_the_report_folder_holds_no_customer_identifier_in_any_file(two_runs, small_data):
    """Every file an executive receives (all extensions, binary too) is free of the run's customer
    ids; the per-customer tables are in the run-data folder instead."""
    _, _, out, _, _ = two_runs
    ids = {str(i).encode() for i in small_data["customers"]["customer_id"]}
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"index.html", "run.json"} and len(files) >= 5
    for path in files:
        for blob in decoded_forms(path):
            leaked = ids_in(blob, ids)
            assert not leaked, f"{path.name} holds customer ids, e.g. {sorted(leaked)[:3]}"
    per_customer = pd.read_parquet(run_data(out) / "segments.parquet")
    assert ids_in(per_customer.to_csv().encode(), ids)  # the check finds ids where they are


def test_every_notebook_runs_on_a_sparse_export_of_optional_columns(demo_copy, tmp_path):
    """Bring-your-own data with the optional parts missing: surveys with CSAT only, interactions
    without resolution or waits, customers without plan or region, no programme or referrals."""
    values = demo_copy.values
    tables = values["data"]["tables"]
    surveys = demo_copy.read("surveys").drop(columns=["NPS"])
    demo_copy.write("surveys", surveys)
    del tables["surveys"]["columns"]["nps"]
    for column in ("resolved", "wait_minutes"):
        del tables["interactions"]["columns"][column]
    for column in ("plan", "region"):
        del tables["customers"]["columns"][column]
    del tables["programme"], tables["referrals"]
    manifest = run_suite(demo_copy.save_config(values), tmp_path / "reports")
    assert [r["notebook"] for r in manifest["reports"] if r["html"]] == [p.stem for p in discover_notebooks()]
    overview = (tmp_path / "reports" / "00_data_overview.html").read_text()
    assert "Satisfied (CSAT 4-5)" in overview
    assert "no surveys with NPS or CSAT" not in overview  # the CSAT chart stands in for the NPS one


def test_a_run_validates_once_and_its_notebooks_read_no_input_file(two_runs):
    """The runner reads each input file once; no notebook reads one (only the control notebook does)."""
    *_, counted = two_runs
    files = len(load_config(SMALL_CONFIG).values["data"]["tables"])
    assert len(counted.runner_reads) == files  # the runner validated once
    assert len(counted.kernel_reads) == files  # all of them the control notebook's
    saved = json.loads((counted.folder / "reports-data" / VALIDATED / "data.json").read_text())
    assert saved["config_path"] == str(SMALL_CONFIG.resolve())


def test_a_full_demo_run_produces_every_catalog_table_with_its_columns(two_runs):
    _, _, out, _, _ = two_runs
    run_dir = run_data(out)
    produced = json.loads((run_dir / "produced.json").read_text())["tables"]
    for entry in CATALOG:
        for spec in entry.writes:
            assert produced[spec.name]["notebook"] == entry.notebook
            assert set(spec.columns) <= set(load_table(run_dir, spec.name).columns)


# In a real browser (issue 14): headless Chromium opens what the shared run published. Skipped
# without Chromium (`make browser` installs it).
needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="Chromium not installed (make browser installs it)"
)


@needs_chromium
def test_every_html_report_opens_cleanly_in_a_browser(two_runs):
    """No console error or uncaught exception, every image loaded, nothing requested from the network."""
    _, _, out, _, _ = two_runs
    pages = sorted(out.glob("*.html"))
    assert "index.html" in {page.name for page in pages} and len(pages) >= 2
    for page, check in zip(pages, inspect_pages(pages, print_check=False), strict=True):
        assert check.console_errors == [], page.name
        assert check.failed_images == [], page.name
        assert check.network_requests == [], page.name


@pytest.mark.parametrize("name", PRINTED_REPORTS)
def test_a_printed_report_is_a_whole_a4_pdf_with_a_screenshot(two_runs, name):
    """The run printed the report: A4 on every page (2 pt), the pages it is designed for, nothing
    cut off in print, published with the run (in the manifest) and linked from the index."""
    record, _, out, _, _ = two_runs
    if not (out / f"{name}.html").is_file():
        pytest.skip(f"this run rendered no {name}.html")
    if record["printed"]["chromium"] is None:
        pytest.skip("Chromium not installed (make browser installs it), so the run made no PDF")
    entry = record["printed"]["reports"][name]
    pages = pdf_pages(out / f"{name}.pdf")
    assert entry["pages"] == pages
    assert 2 <= len(pages) <= PRINTED_PAGES[name]  # the story, then the appendix on a page of its own
    assert b"file:" not in (out / f"{name}.pdf").read_bytes()  # no dead links to where it was built
    for width, height in pages:
        assert width == pytest.approx(A4_POINTS[0], abs=2) and height == pytest.approx(A4_POINTS[1], abs=2)
    assert entry["cut_off"] == []
    assert (entry["console_errors"], entry["failed_images"], entry["network_requests"]) == ([], [], [])
    assert (run_data(out) / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    published = json.loads((out.resolve().parent / MANIFEST).read_text())["files"]
    assert {f"report/{name}.pdf", f"run-data/{name}.png"} <= set(published)
    assert f'href="{name}.pdf"' in (out / "index.html").read_text()


#: Wording of the plumbing (saving tables and summaries for later notebooks) that no report shows.
PLUMBING = (
    "Outputs for later notebooks",
    "Summary for the index",
    "Saved this run",
    "Saved the per-customer",
    "Saved `churn_scores`",
    "Saved for the executive summary",
    "Handed on to later notebooks",
    "later notebooks",
    "run folder",
)


def _reports(two_runs) -> dict[str, str]:
    """Report name -> HTML (charts cut out) of every report the first run rendered."""
    manifest, _, out, _, _ = two_runs
    return {
        r["notebook"]: re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (out / r["html"]).read_text())
        for r in manifest["reports"]
        if r["html"]
    }


def test_every_report_opens_with_the_header_band(two_runs):
    company = escape(load_config(SMALL_CONFIG).company)
    for name, page in _reports(two_runs).items():
        start = page.index('<header class="cx-header">')
        band = page[start : page.index("</header>", start)]
        assert company in band and SMALL_CONFIG.name in band, name
        assert "Data period" in band and "Run date" in band, name
        assert start < page.index("<h1"), name


#: Headings of a report's findings.
FINDINGS_HEADINGS = {"Findings", "Key findings"}


def test_every_report_puts_its_findings_first(two_runs):
    with_findings = set()
    for name, page in _reports(two_runs).items():
        headings = [
            re.sub(r"<[^>]+>|¶", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.S)
        ]
        findings = [i for i, h in enumerate(headings) if h in FINDINGS_HEADINGS]
        if findings:
            with_findings.add(name)
            # the conclusion comes first: the findings, or a recommendation followed by them
            assert findings[0] == 0 or (headings[0] == "Recommendation" and findings[0] == 1), (
                f"{name}: {headings[:3]}"
            )
    assert {p.stem for p in discover_notebooks()} <= with_findings


def test_no_report_shows_plumbing(two_runs):
    for name, page in _reports(two_runs).items():
        text = unescape(re.sub(r"<[^>]+>", " ", page[page.index("<body") :]))
        found = [phrase for phrase in PLUMBING if phrase in text]
        assert not found, f"{name} shows plumbing: {found}"


def test_the_executive_summary_shows_the_detailed_reports_figures(two_runs):
    """Notebook 06's headline figures equal the detailed notebooks' machine-readable outputs, read here
    independently from the run-data folder (00's KPIs, 04's summary, 05's impact_summary rows), its
    verdict is 05's rule applied to 05's P(ROI > 0), and their formatted values are on its page."""
    from cxlib.impact import decision
    from cxlib.value import rounded_money

    _, _, out, _, _ = two_runs
    run_dir = run_data(out)
    summaries = {p.stem: json.loads(p.read_text()) for p in (run_dir / "summaries").glob("*.json")}
    metrics = summaries["06_executive_summary"]["metrics"]
    figures = {f["figure"]: f for f in metrics["figures"]}
    kpis = {k["kpi"]: k for k in summaries["00_data_overview"]["metrics"]["kpis"]}
    for name in ("customers", "net_revenue_12m", "churn_rate_12m", "nps"):
        assert [figures[name][k] for k in ("value", "low", "high")] == [
            kpis[name][k] for k in ("value", "low", "high")
        ]
    value = summaries["04_customer_value"]["metrics"]
    assert [figures["clv_total"][k] for k in ("value", "low", "high")] == [
        value["clv_total"],
        value["clv_total_low"],
        value["clv_total_high"],
    ]
    case = pd.read_parquet(run_dir / "impact_summary.parquet").set_index("figure")
    for name in ("npv", "roi", "payback_month", "margin_total", "cost", "margin_loyalty", "margin_retention"):
        assert figures[name]["value"] == case.loc[name, "value"], name
        assert figures[name]["evidence"] == case.loc[name, "evidence"], name
    assert [figures["npv"]["low"], figures["npv"]["high"]] == [
        case.loc["npv", "low"],
        case.loc["npv", "high"],
    ]
    impact = summaries["05_revenue_impact"]["metrics"]
    assert round(figures["npv"]["value"]) == impact["npv"]  # 05's own (rounded) summary agrees
    assert metrics["decision"] == decision(impact["p_roi_positive"], True)
    page = report_text(out / "06_executive_summary.html")
    money = rounded_money(load_config(SMALL_CONFIG).values["analysis"]["currency"])
    tile = rounded_money("")  # the tiles name the currency in their label
    shown = [
        f"{kpis['customers']['value']:,.0f}",
        tile(kpis["net_revenue_12m"]["value"]).strip(),
        f"{kpis['churn_rate_12m']['value']:.0%}",
        f"{kpis['nps']['value']:.0f}",
        money(value["clv_total"]),
        money(case.loc["npv", "value"]),
        f"{money(case.loc['npv', 'low'])} to {money(case.loc['npv', 'high'])}",
        f"{case.loc['roi', 'value']:.0%}",
        f"{case.loc['p_roi_positive', 'value']:.0%}",
    ]
    for text in shown:
        assert text in page, text
