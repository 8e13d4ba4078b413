"""Every HTML report opens cleanly in a real browser, and prints to A4 (groundwork for issue 14).

The suite runs once on the small demo with two notebooks (00 and 05, which keeps the run near
25 s); headless Chromium then opens each HTML file of the report folder and must log no console
error, load every image and send nothing to the network. A planted page with a missing image, a
remote image, a ``console.error`` and an uncaught exception shows that each check can fail. A PDF of one report must be
A4 (595.3 x 841.9 pt, within 2 pt) with at least one page. Skipped when Chromium is not installed
(``make browser`` installs it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cxlib.report._browser import chromium_path, inspect_page
from cxlib.run._runner import run_suite

from .conftest import ROOT, SMALL_CONFIG

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="Chromium not installed (make browser)")

NOTEBOOKS = [ROOT / "notebooks" / "00_data_overview.ipynb", ROOT / "notebooks" / "05_revenue_impact.ipynb"]
#: A4 in PostScript points (210 x 297 mm) and the tolerance on each side.
A4_POINTS = (210 / 25.4 * 72, 297 / 25.4 * 72)
A4_TOLERANCE = 2.0
PLANTED_PAGE = """<!doctype html><html><head><title>planted</title></head><body>
<p>A page with every fault the checks look for.</p>
<img src="missing.png" alt="a file that is not there">
<img src="https://example.com/x.png" alt="a remote image">
<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt="inline">
<script>console.error("planted console error");</script>
<script>throw new Error("planted uncaught exception");</script>
</body></html>"""


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, small_demo_dir) -> Path:
    """Report folder of one suite run on the small demo (notebooks 00 and 05)."""
    out = tmp_path_factory.mktemp("browser") / "reports"
    run_suite(SMALL_CONFIG, out, notebooks=NOTEBOOKS)
    return out


def html_reports(report_dir: Path) -> list[Path]:
    return sorted(report_dir.glob("*.html"))


def test_the_run_wrote_every_report(report_dir):
    names = {page.name for page in html_reports(report_dir)}
    assert {"index.html", "00_data_overview.html", "05_revenue_impact.html"} <= names


def test_every_report_opens_cleanly(report_dir):
    for page in html_reports(report_dir):
        check = inspect_page(page)
        assert check.console_errors == [], page.name
        assert check.failed_images == [], page.name
        assert check.network_requests == [], page.name
        assert check.ok


def test_the_checks_catch_a_planted_fault(tmp_path):
    page = tmp_path / "planted.html"
    page.write_text(PLANTED_PAGE, encoding="utf-8")
    check = inspect_page(page)
    assert "planted console error" in check.console_errors
    assert any("planted uncaught exception" in message for message in check.console_errors)
    assert sorted(check.failed_images) == ["https://example.com/x.png", "missing.png"]
    assert check.network_requests == ["https://example.com/x.png"]
    assert not check.ok


def test_screenshot_and_a4_pdf(report_dir):
    # the run-data folder (beside the reports, never sent with them) is where the issue wants them
    run_data = report_dir.with_name(f"{report_dir.name}-data")
    check = inspect_page(
        report_dir / "05_revenue_impact.html",
        screenshot=run_data / "browser" / "05_revenue_impact.png",
        pdf=run_data / "browser" / "05_revenue_impact.pdf",
    )
    assert check.screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    document = check.pdf.read_bytes()
    assert document.startswith(b"%PDF-")
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", document)
    assert len(pages) >= 1
    boxes = re.findall(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", document)
    assert len(boxes) >= len(pages) or len(boxes) == 1  # one box per page, or one inherited from /Pages
    for box in boxes:
        left, bottom, right, top = map(float, box)
        assert right - left == pytest.approx(A4_POINTS[0], abs=A4_TOLERANCE)
        assert top - bottom == pytest.approx(A4_POINTS[1], abs=A4_TOLERANCE)
