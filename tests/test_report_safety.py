"""No script from the data or the config runs in a report.

The suite runs once on the small demo with script payloads planted in every place where text
from the user reaches a report: the company, the currency, segment names, plan, region and
order and interaction channel values, a column name (a churn driver, one of whose levels is
also planted), a value in ``segmentation.exclude_transactions`` and a file name. Every HTML file of the report folder is then read as markup and opened
in headless Chromium, which must show no dialog and no live payload, while each planted text
shows up as visible text (so the test cannot pass because a payload never reached the reports).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cxlib.report._browser import chromium_path
from cxlib.run._runner import run_suite

from .browser import read_page, rendered_dom
from .conftest import SMALL_CONFIG

PAYLOADS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>')
PAYLOAD = " ".join(PAYLOADS)
#: A file name cannot hold "/", so it carries the two payloads without one.
FILE_PAYLOAD = " ".join(PAYLOADS[1:])


def planted(place: str) -> str:
    """The text planted in one place: a marker naming the place, then every payload."""
    return f"{place.upper()}X {PAYLOAD}"


#: Category values replaced by a payload: (file, column, value).
CATEGORY_VALUES = {
    "plan": ("customers", "Plan", "premium"),
    "region": ("customers", "Region", "East"),
    "channel": ("transactions", "Channel", "app"),
    "interaction": ("interactions", "Channel", "phone"),
}
DRIVER_COLUMN = planted("column")
SURVEY_FILE = f"surveys FILEX {FILE_PAYLOAD}.csv"


@pytest.fixture(scope="module")
def payload_reports(tmp_path_factory, small_demo_dir) -> Path:
    """Report folder of one suite run on the small demo with every payload planted."""
    root = tmp_path_factory.mktemp("payloads")
    data_dir = root / "data"
    shutil.copytree(small_demo_dir, data_dir)
    for place, (table, column, value) in CATEGORY_VALUES.items():
        frame = pd.read_csv(data_dir / f"{table}.csv", dtype=str, keep_default_na=False)
        assert (frame[column] == value).any()
        frame[column] = frame[column].replace(value, planted(place))
        frame.to_csv(data_dir / f"{table}.csv", index=False)
    customers = pd.read_csv(data_dir / "customers.csv", dtype=str, keep_default_na=False)
    # a strong but imperfect driver, so that its name and level reach tables, sentences and charts
    digit = customers["CustomerID"].str[-1].astype(int)
    strong = (customers["ChurnDate"] != "") & (digit < 7) | (customers["ChurnDate"] == "") & (digit < 3)
    customers[DRIVER_COLUMN] = strong.map({True: planted("level"), False: "ordinary"})
    # a plan of 3 customers: pooled into "Other", so its name reaches the reports only in pooling notes
    customers.loc[:2, "Plan"] = planted("smallplan")
    customers.to_csv(data_dir / "customers.csv", index=False)
    (data_dir / "surveys.csv").rename(data_dir / SURVEY_FILE)

    config = yaml.safe_load(SMALL_CONFIG.read_text())
    config["company"] = planted("company")
    config["data"]["dir"] = str(data_dir)
    config["data"]["tables"]["surveys"]["path"] = SURVEY_FILE
    config["analysis"]["currency"] = planted("currency")
    config["segmentation"] = {
        "n_segments": 4,
        "bootstrap_runs": 5,
        "names": {segment: planted(f"segment{segment}") for segment in range(4)},
        "exclude_transactions": {"channel": [planted("excluded")]},  # matches no row: text only
    }
    # the planted region is the reference level, so it is named ("vs ...") in every region row shown
    config["churn_model"] = {
        "categorical_features": [DRIVER_COLUMN],
        "reference_levels": {"region": planted("region")},
    }
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = root / "reports"
    run_suite(config_path, out)
    return out


@pytest.fixture(scope="module")
def chromium() -> str:
    """Headless Chromium; the browser test is skipped without it, except in CI (CI set), where it fails."""
    found = chromium_path()
    if found is None:
        reason = (
            "headless Chromium is not installed (Debian package 'chromium'; `make test` installs it when "
            "run as root), so the browser check of the reports cannot run"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def html_files(folder: Path) -> list[Path]:
    pages = sorted(folder.rglob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "00_data_overview.html", "02_churn_drivers.html"}
    return pages


#: Places whose planted text each report shows as text (charts, which are PNG, aside).
SHOWN = {
    "index.html": ["company"],
    "00_data_overview.html": ["company", "currency", "plan", "smallplan", "channel", "interaction"],
    "01_segmentation.html": [
        "company",
        "currency",
        "excluded",
        "segment0",
        "segment1",
        "segment2",
        "segment3",
    ],
    "02_churn_drivers.html": ["company", "plan", "smallplan", "region", "column", "level"],
    "06_executive_summary.html": ["company", "currency", "segment0", "segment1", "segment2", "segment3"],
}


#: Places shown only as a table label, which shortens long labels: their marker and first payload.
SHORTENED = {"region"}


def test_every_planted_text_reaches_the_reports_as_visible_text(payload_reports):
    pages = {p.name: read_page(p.read_text(encoding="utf-8")) for p in html_files(payload_reports)}

    def shown(place: str, text: str) -> bool:
        expected = f"{place.upper()}X {PAYLOADS[0]}" if place in SHORTENED else planted(place)
        return expected in text

    missing = {
        name: [place for place in places if not shown(place, pages[name].text)]
        for name, places in SHOWN.items()
    }
    assert not any(missing.values()), f"planted text never shown (so not tested): {missing}"
    assert f"FILEX {FILE_PAYLOAD}" in pages["index.html"].text


def test_report_markup_holds_no_live_payload(payload_reports):
    for page in html_files(payload_reports):
        findings = read_page(page.read_text(encoding="utf-8"))
        assert findings.live == [], f"{page.name}: {findings.live[:5]}"


def test_no_dialog_opens_and_no_payload_is_live_in_chromium(payload_reports, chromium):
    for page in html_files(payload_reports):
        findings = read_page(rendered_dom(page, chromium))
        assert findings.dialogs == [], f"{page.name}: dialogs opened: {findings.dialogs}"
        assert findings.live == [], f"{page.name}: live payload in the DOM: {findings.live[:5]}"
        assert planted("company") in findings.text, f"{page.name}: the page did not render"


def test_the_browser_check_sees_a_dialog_and_a_live_payload(tmp_path, chromium):
    """The check itself: an unescaped payload is caught both ways."""
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body><p>{PAYLOAD}</p></body></html>")
    findings = read_page(rendered_dom(page, chromium))
    assert sorted(findings.dialogs) == ["alert: 1"] * 3
    assert len(findings.live) >= 3
