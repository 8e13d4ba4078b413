"""The executive summary speaks only of the data given (issue 14).

For each optional table (surveys, interactions, programme, referrals) in turn, the small demo runs
through the runner with that table left out of the config, and the executive summary must render,
say plainly what is missing, and speak of nothing the data does not hold (the checker of
:mod:`tests.absent_data`). To keep CI lean each run executes only the notebooks whose outputs the
absent table changes, plus the overview and the summary: the others' sections then say they were not
run, which the same checks cover.
"""

from __future__ import annotations

import re

import pytest
import yaml

from cxlib.run._runner import run_suite

from .absent_data import ABSENCE, TOPICS, absent_data_sentences, report_text, sentences
from .conftest import ROOT, SMALL_CONFIG

NOTEBOOKS = ROOT / "notebooks"
SUMMARY = "06_executive_summary"
#: Notebooks run without each table: those that read it, the revenue case, the overview and the summary.
RUNS = {
    "surveys": ("00_data_overview", "03_cx_drivers", "05_revenue_impact", SUMMARY),
    "interactions": ("00_data_overview", "02_churn_drivers", "03_cx_drivers", "05_revenue_impact", SUMMARY),
    "programme": ("00_data_overview", "05_revenue_impact", SUMMARY),
    "referrals": ("00_data_overview", "03_cx_drivers", "05_revenue_impact", SUMMARY),
}
#: How a statement of absence may name each table beyond the checker's topics ("no referral data").
SAID = {
    "surveys": r"\bsurvey",
    "interactions": r"\binteraction",
    "programme": r"\bprogramme",
    "referrals": r"\breferral",
}
#: Every table the demo config supplies.
ALL_TABLES = {"customers", "transactions", "interactions", "surveys", "programme", "referrals"}


def _config_without(table: str, folder) -> object:
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw["data"]["dir"] = str((SMALL_CONFIG.parent / raw["data"]["dir"]).resolve())
    del raw["data"]["tables"][table]
    path = folder / "config.yaml"  # a file name free of the table's name, which the header shows
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=sorted(RUNS))
def run_without(request, tmp_path_factory, small_demo_dir):
    """(absent table, report folder) of a run of the small demo without that table."""
    table = request.param
    folder = tmp_path_factory.mktemp(f"no-{table}")
    out = folder / "reports"
    run_suite(_config_without(table, folder), out, notebooks=[NOTEBOOKS / f"{n}.ipynb" for n in RUNS[table]])
    return table, out


def _present_columns(table_names: set[str]) -> set[str]:
    """Columns of the present tables as the checker wants them (every demo column is recorded)."""
    raw = yaml.safe_load(SMALL_CONFIG.read_text())["data"]["tables"]
    return {f"{t}.{c}" for t in table_names for c in raw[t]["columns"]}


def test_the_summary_renders_without_each_optional_table(run_without):
    table, out = run_without
    page = out / f"{SUMMARY}.html"
    assert page.is_file(), f"no executive summary without {table}"
    assert re.search(r"recommend|revenue case", report_text(page), re.I)


def test_the_summary_says_what_is_missing(run_without):
    table, out = run_without
    said = [
        s
        for s in sentences(report_text(out / f"{SUMMARY}.html"))
        if ABSENCE.search(s) and re.search(f"{TOPICS[table]}|{SAID[table]}", s, re.I)
    ]
    assert said, f"the summary does not say that there is no {table} data"


def test_no_section_speaks_of_the_absent_table(run_without):
    table, out = run_without
    present = ALL_TABLES - {table}
    wrong = absent_data_sentences(report_text(out / f"{SUMMARY}.html"), present, _present_columns(present))
    assert wrong == [], f"without {table}: {wrong[:5]}"
