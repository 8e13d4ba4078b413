"""The browser checks themselves, on small hand-made pages, and the runner's printing step.

Planted pages prove that each check can fail: a missing image, a remote image, a
``console.error`` and an uncaught exception; a ``<pre>`` with a 400-character line and a table
3000 px wide inside ``overflow: hidden``, which paper would cut off. A clean page prints whole to
two A4 pages. The runner's printing step (:func:`cxlib.run._runner.print_reports`) runs on a
small fake staging folder, with Chromium, without it (monkeypatched away) and with one that dies.
Whether every report of a real run opens cleanly, and whether the executive summary prints
whole, is checked on the suite's one shared run (tests/test_suite_end_to_end.py). Tests that
need Chromium are skipped without it (``make browser`` installs it).
"""

from __future__ import annotations

import base64

import pytest

import cxlib.run._runner as runner
from cxlib.report._browser import chromium_path, inspect_page, inspect_pages
from cxlib.report._html import write_index
from cxlib.report._pdf import A4_POINTS, pdf_pages

needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="Chromium not installed (make browser installs it)"
)
#: Tolerance on each side of a page, in points.
A4_TOLERANCE = 2.0
SUMMARY = "06_executive_summary"
PLANTED_FAULTS = """<!doctype html><html><head><title>planted</title></head><body>
<p>A page with every fault the checks look for.</p>
<img src="missing.png" alt="a file that is not there">
<img src="https://example.com/x.png" alt="a remote image">
<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt="inline">
<script>console.error("planted console error");</script>
<script>throw new Error("planted uncaught exception");</script>
</body></html>"""
LONG_LINE = "CUTLINE " + "x" * 392
PLANTED_CUT_OFF = f"""<!doctype html><html><head><title>cut off</title></head><body>
<h1>A page that paper would cut</h1>
<pre>{LONG_LINE}</pre>
<div class="clipping frame" style="overflow: hidden"><table style="width: 3000px">
<tr><td>WIDETABLE first cell</td><td>last cell</td></tr></table></div>
<p>A short paragraph that fits.</p>
</body></html>"""
#: An image 2000 px wide in its own right, scaled to the page by CSS.
WIDE_IMAGE = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="40"><rect width="2000" height="40"/></svg>'
).decode()
CLEAN_PAGE = f"""<!doctype html><html><head><title>clean</title>
<style>@page {{ size: A4; margin: 15mm; }} img {{ max-width: 100%; }} pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
.methods {{ break-before: page; }}</style></head><body>
<h1>A page that prints whole</h1>
<pre>{LONG_LINE}</pre>
<table style="width: 100%"><tr><td>a cell</td><td>another cell</td></tr></table>
<img src="data:image/svg+xml;base64,{WIDE_IMAGE}" alt="a wide chart, scaled">
<p id="links">See <a href="01_segmentation.html">RELATIVE segmentation</a>,
<a href="file:///tmp/staging/report/02_churn.html">ABSOLUTE churn</a>,
<a href="https://example.com/cx">the web</a>, <a href="mailto:cx@example.com">mail</a>,
<a href="#links">this paragraph</a>.</p>
<section class="methods"><h2>Methods</h2><p>The appendix starts a new page.</p></section>
</body></html>"""


def assert_a4(pages):
    for width, height in pages:
        assert width == pytest.approx(A4_POINTS[0], abs=A4_TOLERANCE)
        assert height == pytest.approx(A4_POINTS[1], abs=A4_TOLERANCE)


@needs_chromium
def test_the_checks_catch_a_planted_fault(tmp_path):
    """Each fault is seen, and only in its own tab: a clean page opened next in the same browser passes."""
    page, clean = tmp_path / "planted.html", tmp_path / "clean.html"
    page.write_text(PLANTED_FAULTS, encoding="utf-8")
    clean.write_text(CLEAN_PAGE, encoding="utf-8")
    check, clean_check = inspect_pages([page, clean], print_check=False)
    assert clean_check.ok and clean_check.console_errors == []
    assert "planted console error" in check.console_errors
    assert any("planted uncaught exception" in message for message in check.console_errors)
    assert sorted(check.failed_images) == ["https://example.com/x.png", "missing.png"]
    assert check.network_requests == ["https://example.com/x.png"]
    assert not check.ok


@needs_chromium
def test_the_print_check_catches_a_long_line_and_a_clipped_table(tmp_path):
    page = tmp_path / "cut.html"
    page.write_text(PLANTED_CUT_OFF, encoding="utf-8")
    check = inspect_page(page)
    assert check.ok  # nothing wrong on screen: only paper cuts these
    assert len(check.cut_off) == 2, check.cut_off
    line, table = check.cut_off
    assert line.startswith(f'pre "{LONG_LINE[:60]}": runs ')
    assert table.startswith('div.clipping.frame "WIDETABLE first cell last cell": clipped (')


@needs_chromium
def test_a_clean_page_prints_whole_on_two_a4_pages(tmp_path):
    """It prints whole, and its local links (relative, file://) print as text, not as file:// URIs."""
    page = tmp_path / "clean.html"
    page.write_text(CLEAN_PAGE, encoding="utf-8")
    check = inspect_page(page, pdf=tmp_path / "out" / "clean.pdf", screenshot=tmp_path / "out" / "clean.png")
    assert check.ok and check.cut_off == []
    pages = pdf_pages(check.pdf)
    assert len(pages) == 2  # the methods section starts the second
    assert_a4(pages)
    printed = check.pdf.read_bytes()
    assert b"/URI (https://example.com/cx)" in printed and b"/URI (mailto:cx@example.com)" in printed
    assert b"file:" not in printed and b"01_segmentation" not in printed and b"02_churn" not in printed
    assert page.read_text(encoding="utf-8") == CLEAN_PAGE  # only the printed copy loses its links
    assert check.screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in check.pdf.parent.iterdir()) == ["clean.pdf", "clean.png"]  # no partial file


def test_pdf_pages_follows_the_page_tree_and_skips_streams(tmp_path):
    """Pages in /Kids order, a /MediaBox inherited from /Pages, and stream bytes that look like objects."""
    stream = b"BT (endobj 9 0 obj <</Type /Page /MediaBox [0 0 1 1]>>) Tj ET"
    document = b"\n".join(
        [
            b"%PDF-1.4",
            b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj",
            b"2 0 obj <</Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 595.28 841.89]>> endobj",
            b"3 0 obj <</Type /Page /Parent 2 0 R /Contents 5 0 R>> endobj",
            b"5 0 obj <</Length %d>> stream\n" % len(stream) + stream + b"\nendstream\nendobj",
            b"4 0 obj <</Type /Pages /Parent 2 0 R /Kids [6 0 R] /Count 1>> endobj",
            b"6 0 obj <</Type /Page /Parent 4 0 R /MediaBox [0 0 612 792]>> endobj",
            b"trailer <</Root 1 0 R>>",
            b"%%EOF",
        ]
    )
    path = tmp_path / "hand.pdf"
    path.write_bytes(document)
    assert pdf_pages(path) == [(595.28, 841.89), (612.0, 792.0)]
    path.write_bytes(b"<html>not a pdf</html>")
    with pytest.raises(ValueError, match="not a PDF"):
        pdf_pages(path)


@pytest.fixture
def staging(tmp_path):
    """A staging folder's two parts with a summary page and one other report, and their entries."""
    report_dir, run_dir = tmp_path / "report", tmp_path / "run-data"
    report_dir.mkdir()
    run_dir.mkdir()
    (report_dir / f"{SUMMARY}.html").write_text(CLEAN_PAGE, encoding="utf-8")
    (report_dir / "00_overview.html").write_text("<p>not printed</p>", encoding="utf-8")
    reports = [
        {"notebook": "00_overview", "html": "00_overview.html", "title": "Overview", "seconds": 1.0},
        {"notebook": SUMMARY, "html": f"{SUMMARY}.html", "title": "Executive summary", "seconds": 1.0},
    ]
    return report_dir, run_dir, reports


def index_text(report_dir, reports) -> str:
    record = {
        "company": "Co",
        "as_of": "2025-12-31",
        "generated": "now",
        "config_path": "c.yaml",
        "config_text": "",
        "seed": 1,
        "fingerprints": {},
        "notes": [],
        "versions": {},
        "reports": reports,
        "total_seconds": 1.0,
    }
    return write_index(report_dir / "index.html", record).read_text(encoding="utf-8")


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@needs_chromium
def test_the_runner_prints_the_summary_to_pdf_and_screenshots_it(staging):
    report_dir, run_dir, reports = staging
    lines = []
    printed = runner.print_reports(reports, report_dir, run_dir, lines.append)
    assert files(report_dir) == ["00_overview.html", f"{SUMMARY}.html", f"{SUMMARY}.pdf"]
    assert files(run_dir) == [f"{SUMMARY}.png"]
    assert "pdf" not in reports[0] and reports[1]["pdf"] == f"{SUMMARY}.pdf" and "pdf_note" not in reports[1]
    entry = printed["reports"][SUMMARY]
    assert entry["pdf"] == f"{SUMMARY}.pdf" and entry["screenshot"] == f"{SUMMARY}.png"
    assert len(entry["pages"]) == 2
    assert_a4(entry["pages"])
    assert entry["cut_off"] == [] and entry["console_errors"] == []
    assert printed["chromium"] == chromium_path() and printed["note"] is None
    assert lines == [f"printed {SUMMARY} in {printed['seconds']:.1f} s"]
    assert f'href="{SUMMARY}.pdf"' in index_text(report_dir, reports)


def test_without_chromium_the_run_goes_on_and_says_how_to_get_the_pdf(staging, monkeypatch):
    report_dir, run_dir, reports = staging
    monkeypatch.setattr(runner, "chromium_path", lambda: None)
    lines = []
    printed = runner.print_reports(reports, report_dir, run_dir, lines.append)
    assert files(report_dir) == ["00_overview.html", f"{SUMMARY}.html"] and files(run_dir) == []
    assert printed["chromium"] is None and printed["reports"] == {}
    assert len(lines) == 1 and lines[0] == f"note: {printed['note']}"
    assert f"{SUMMARY}.pdf was not made" in lines[0]
    assert "make browser" in lines[0] and "apt-get install chromium" in lines[0]
    assert reports[1]["pdf"] is None
    index = index_text(report_dir, reports)
    assert "The PDF of this report is not available" in index and f'href="{SUMMARY}.pdf"' not in index


def test_a_browser_that_dies_fails_no_run_and_leaves_no_file(staging, monkeypatch, tmp_path):
    report_dir, run_dir, reports = staging
    dying = tmp_path / "dying-chromium"
    dying.write_text("#!/bin/sh\nexit 3\n")
    dying.chmod(0o755)
    monkeypatch.setattr(runner, "chromium_path", lambda: str(dying))
    lines = []
    printed = runner.print_reports(reports, report_dir, run_dir, lines.append)
    assert files(report_dir) == ["00_overview.html", f"{SUMMARY}.html"] and files(run_dir) == []
    assert printed["reports"][SUMMARY]["error"].startswith("RuntimeError: chromium exited")
    assert lines == [
        f"note: {SUMMARY}.pdf was not made: Chromium failed ({printed['reports'][SUMMARY]['error']})"
    ]
    assert reports[1]["pdf"] is None
    assert "the browser that prints it failed" in index_text(report_dir, reports)


def test_only_rendered_printed_reports_are_printed(staging, monkeypatch):
    report_dir, run_dir, reports = staging
    monkeypatch.setattr(runner, "chromium_path", lambda: pytest.fail("no report to print needs no browser"))
    reports[1]["html"] = None  # the summary was skipped
    printed = runner.print_reports(reports, report_dir, run_dir)
    assert printed == {"chromium": None, "seconds": printed["seconds"], "note": None, "reports": {}}
    assert "pdf" not in reports[1]
