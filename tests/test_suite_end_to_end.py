"""The whole suite on the small demo: every notebook runs through the runner, and reruns reproduce."""

import json
import re

import pandas as pd
import pytest

from cxlib.run._runner import discover_notebooks, run_suite

from .conftest import SMALL_CONFIG
from .id_scan import decoded_forms, ids_in


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    first = tmp_path_factory.mktemp("first") / "reports"
    second = tmp_path_factory.mktemp("second") / "reports"
    return run_suite(SMALL_CONFIG, first), run_suite(SMALL_CONFIG, second), first, second


def run_data(out):
    return out.with_name(f"{out.name}-data")


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
    for summary in sorted((run_data(first) / "summaries").glob("*.json")):
        again = run_data(second) / "summaries" / summary.name
        assert json.loads(summary.read_text()) == json.loads(again.read_text()), summary.name
    tables = sorted(run_data(first).glob("*.parquet"))
    assert tables
    for table in tables:
        pd.testing.assert_frame_equal(pd.read_parquet(table), pd.read_parquet(run_data(second) / table.name))


def test_reports_show_no_customer_identifiers(two_runs, small_data):
    _, _, out, _ = two_runs
    ids = set(small_data["customers"]["customer_id"])
    for html in sorted(out.glob("*.html")):
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html.read_text())
        assert not ids & set(re.findall(r"C\d{6}", text)), html.name


def test_the_report_folder_holds_no_customer_identifier_in_any_file(two_runs, small_data):
    """Every file an executive receives (all extensions, binary too) is free of the run's customer
    ids; the per-customer tables are in the run-data folder instead."""
    _, _, out, _ = two_runs
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
