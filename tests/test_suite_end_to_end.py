"""The whole suite on the small demo: every notebook runs through the runner, and reruns reproduce."""

import json
import re

import pandas as pd
import pytest

from cxlib.runner import discover_notebooks, run_suite

from .conftest import SMALL_CONFIG


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    return run_suite(SMALL_CONFIG, first), run_suite(SMALL_CONFIG, second), first, second


def test_every_notebook_is_reported_in_the_index(two_runs):
    manifest, _, out, _ = two_runs
    assert [r["notebook"] for r in manifest["reports"]] == [p.stem for p in discover_notebooks()]
    index = (out / "index.html").read_text()
    for report in manifest["reports"]:
        assert (out / report["html"]).is_file()
        assert report["headline"], f"{report['notebook']} saved no headline for the index"
        assert report["headline"] in index.replace("&#39;", "'").replace("&amp;", "&")


def test_same_data_config_and_seed_give_the_same_numbers(two_runs):
    _, _, first, second = two_runs
    for summary in sorted((first / "run" / "summaries").glob("*.json")):
        again = second / "run" / "summaries" / summary.name
        assert json.loads(summary.read_text()) == json.loads(again.read_text()), summary.name
    for table in sorted((first / "run").glob("*.parquet")):
        pd.testing.assert_frame_equal(pd.read_parquet(table), pd.read_parquet(second / "run" / table.name))


def test_reports_show_no_customer_identifiers(two_runs, small_data):
    _, _, out, _ = two_runs
    ids = set(small_data["customers"]["customer_id"])
    for html in sorted(out.glob("*.html")):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html.read_text())
        assert not ids & set(re.findall(r"C\d{6}", text)), html.name


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
