"""Exports the suite has never seen, run end to end by config alone (issue 10, part 7).

Four small files shaped like real exports (:mod:`tests.foreign_exports`: a bank snapshot with a
tenure in years and no id column, an Excel workbook with blanks and spellings to merge, a telecom
snapshot with display labels, a retailer's invoice lines under other names) are validated and run
through ``cx run`` with nothing but their config. The truths planted in them are checked in the
run's machine-readable outputs, the display labels in the HTML, and every report is scanned for
sentences about data the export does not have.

Tolerances: counts and rates are exact (they are counted, not estimated); money to the cent.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cxlib.cli import main
from cxlib.data._config import load_config
from cxlib.data._load import load_data
from cxlib.overview._kpis import headline_kpis
from cxlib.report._browser import chromium_path
from cxlib.run import load_summaries, load_table, load_validated
from cxlib.run._runner import PRINTED_REPORTS

from .absent_data import absent_data_sentences, html_text
from .foreign_exports import EXPORTS, Export

NAMES = list(EXPORTS)
#: Notebooks each export runs; the snapshots have no transactions, so segmentation is skipped (and
#: customer value is subscription value, in discounted months: they give no revenue per month).
RUNS_NOTEBOOKS = {
    # no revenue: 05 skipped (the executive summary says why)
    "bank": ["00_data_overview", "02_churn_drivers", "04_customer_value", "06_executive_summary"],
    "ecommerce": ["00_data_overview", "02_churn_drivers", "04_customer_value", "06_executive_summary"],
    "telecom": ["00_data_overview", "02_churn_drivers", "04_customer_value", "06_executive_summary"],
    "retail": [
        "00_data_overview",
        "01_segmentation",
        "02_churn_drivers",
        "04_customer_value",
        "05_revenue_impact",
        "06_executive_summary",
    ],
}


@dataclass
class Run:
    export: Export
    out: Path
    run_data: Path
    returncode: int
    stdout: str
    stderr: str

    def html(self, notebook: str) -> str:
        return (self.out / f"{notebook}.html").read_text()

    def reports(self) -> dict[str, str]:
        """Each notebook report's visible text (the index is checked apart: it quotes the config)."""
        return {p.name: html_text(p.read_text()) for p in sorted(self.out.glob("[0-9]*.html"))}

    def summary(self, notebook: str) -> dict:
        return load_summaries(self.run_data)[notebook]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Export]:
    root = tmp_path_factory.mktemp("foreign")
    return {name: write(root / name) for name, write in EXPORTS.items()}


@pytest.fixture(scope="module")
def runs(exports, tmp_path_factory):
    """``cx run`` once per export (on first use), as a user would: config in, reports out."""
    done: dict[str, Run] = {}

    def run(name: str) -> Run:
        if name not in done:
            out = tmp_path_factory.mktemp(f"{name}-run") / "reports"
            run_data = out.with_name("run-data")
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main(
                    [
                        "run",
                        "--config",
                        str(exports[name].config),
                        "--out",
                        str(out),
                        "--run-data",
                        str(run_data),
                    ]
                )
            done[name] = Run(exports[name], out, run_data, code, stdout.getvalue(), stderr.getvalue())
        return done[name]

    return run


def _validate(config: Path, capsys) -> tuple[int, str]:
    code = main(["validate", "--config", str(config)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _edited(export: Export, tmp_path: Path, edit) -> Path:
    values = yaml.safe_load(export.config.read_text())
    edit(values)
    path = tmp_path / f"{export.name}-edited.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


# ------------------------------------------------------------------------------------------------
# cx validate
# ------------------------------------------------------------------------------------------------
def validate_notes(name: str, truth: dict) -> list[str]:
    """What ``cx validate`` must say loading did, with the generator's own counts."""
    if name == "bank":
        return [
            "customers.signup_date: derived from Tenure (years) counted back from the as-of date",
            f"customer_id is each row's number in the file (2 to {truth['last_id']}",
        ]
    if name == "ecommerce":
        return [
            "customers.signup_date: derived from Tenure (months)",
            f"customers.PreferredPaymentMode: {truth['recoded']['PreferredPaymentMode']} values recoded",
            f"dropped {truth['dropped_no_tenure']} rows with no signup_date (drop_missing)",
        ]
    if name == "telecom":
        return [
            "customers.signup_date: derived from account_length (days)",
            f"customer_id is each row's number in the file (2 to {truth['customers'] + 1}",
        ]
    return [
        f"transactions: dropped {truth['anonymous_lines']} rows with no customer_id (drop_missing)",
        f"transactions: {truth['cancellations']} refund or cancellation rows",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_cx_validate_passes_and_states_what_loading_did(exports, name, capsys):
    code, output = _validate(exports[name].config, capsys)
    assert code == 0, output
    assert output.startswith("OK:"), output
    for note in validate_notes(name, exports[name].truth):
        assert note in output, f"{name}: {note!r} not in\n{output}"


def _drop_key(table: str, key: str):
    def edit(values):
        del values["data"]["tables"][table][key]

    return edit


def _set(path: tuple, value):
    def edit(values):
        node = values
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


BROKEN = {
    # name: (export, edit, phrases the message must hold, or a function of the planted truth giving them)
    "tenure unit not known": (
        "bank",
        _set(("data", "tables", "customers", "tenure", "unit"), "decades"),
        ["data.tables.customers.tenure.unit", "days, weeks, months, years", "'decades'"],
    ),
    "no id column and no row_number": (
        "bank",
        _drop_key("customers", "id"),
        ["customers.customer_id", "required column is missing"],
    ),
    "customers on a sheet that does not exist": (
        "ecommerce",
        _set(("data", "tables", "customers", "sheet"), "Customers"),
        ["has no sheet 'Customers'", "'About', 'Data Dict', 'E Comm'"],
    ),
    "blank tenures not dropped": (
        "ecommerce",
        _drop_key("customers", "drop_missing"),
        lambda t: [f"customers.signup_date: {t['dropped_no_tenure']} rows: values are missing"],
    ),
    "recode of a column the file lacks": (
        "ecommerce",
        _set(("data", "tables", "customers", "recode", "PreferedPaymentMode"), {"CC": "Credit Card"}),
        [
            "customers.PreferedPaymentMode: recode names a column the file does not have",
            "PreferredPaymentMode",
        ],
    ),
    "a yes level key left unquoted": (
        "telecom",
        _set(("labels", "levels", "international_plan"), {True: "Has an international plan"}),
        ["labels.levels.international_plan", "quote it"],
    ),
    "anonymous lines kept": (
        "retail",
        _drop_key("transactions", "drop_missing"),
        lambda t: [f"transactions.customer_id: {t['anonymous_lines']} rows: values are missing"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_config_fails_validation_with_a_clear_message(exports, case, tmp_path, capsys):
    name, edit, phrases = BROKEN[case]
    code, output = _validate(_edited(exports[name], tmp_path, edit), capsys)
    assert code == 1
    assert "Traceback" not in output
    for phrase in phrases(exports[name].truth) if callable(phrases) else phrases:
        assert phrase in output, f"{case}: {phrase!r} not in\n{output}"


def test_kept_anonymous_lines_are_the_only_problem(exports, tmp_path, capsys):
    """Cancellations (C-prefixed) are refunds by the config, with or without a customer."""
    code, output = _validate(
        _edited(exports["retail"], tmp_path, _drop_key("transactions", "drop_missing")), capsys
    )
    assert code == 1 and "1 problem(s)" in output, output


def test_a_file_without_an_id_column_is_pointed_at_row_number(exports, tmp_path, capsys):
    _, output = _validate(_edited(exports["bank"], tmp_path, _drop_key("customers", "id")), capsys)
    assert "row_number" in output


# ------------------------------------------------------------------------------------------------
# cx run, by config alone
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_cx_run_succeeds_by_config_alone(runs, name):
    run = runs(name)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not re.search(r"(?i)\bwarning\b", run.stdout + run.stderr), run.stderr
    reports = sorted(p.stem for p in run.out.glob("[0-9]*.html"))
    assert reports == RUNS_NOTEBOOKS[name]
    # run-data (per-customer tables, summaries) lives beside the report folder, never in it
    printed = [f"{r}.pdf" for r in reports if r in PRINTED_REPORTS and chromium_path() is not None]
    assert sorted(p.name for p in run.out.iterdir()) == sorted(
        [f"{r}.html" for r in reports] + printed + ["index.html", "run.json"]
    )
    assert set(load_summaries(run.run_data)) == set(RUNS_NOTEBOOKS[name])
    for notebook, text in run.reports().items():
        assert "Traceback" not in text and "Error" not in text, notebook


@pytest.mark.parametrize("name", ["bank", "ecommerce", "telecom"])
def test_snapshot_churn_rate_and_customers_are_the_planted_ones(runs, name):
    run = runs(name)
    truth = run.export.truth
    kpis = {row["kpi"]: row for row in run.summary("00_data_overview")["metrics"]["kpis"]}
    assert kpis["customers"]["value"] == truth["customers"]
    assert kpis["churn_rate_snapshot"]["value"] == pytest.approx(truth["churn_rate"], abs=1e-12)
    churn = run.summary("02_churn_drivers")["metrics"]
    assert churn["definition"] == "snapshot"
    assert churn["customers_at_risk"] == truth["customers"]
    assert churn["churn_rate"] == pytest.approx(truth["churn_rate"], abs=1e-12)


def test_bank_ids_are_row_numbers_and_tenure_years_become_months(runs):
    run = runs("bank")
    customers = load_validated(run.run_data)["customers"]
    ids = customers["customer_id"].astype(int)
    assert sorted(ids) == list(range(2, 502))
    raw = pd.read_csv(run.export.folder / "Churn_Modelling.csv")
    signup = customers.set_index(ids)["signup_date"]
    as_of = pd.Timestamp("2025-12-31")
    expected = pd.Series(
        [as_of - pd.DateOffset(months=12 * int(y)) for y in raw["Tenure"]], index=raw.index + 2
    )
    pd.testing.assert_series_equal(signup.sort_index(), expected, check_names=False)
    assert signup[2] == as_of - pd.DateOffset(months=run.export.truth["first_tenure_months"])
    # each customer keeps its own row: the churn label of row 2 + i is the file's row i
    churned = customers.set_index(ids)["churned"].sort_index().astype(bool)
    assert churned.tolist() == raw["Exited"].astype(bool).tolist()


@pytest.mark.parametrize("name", ["bank", "telecom"])
def test_the_data_notes_state_the_row_number_id_and_the_derived_tenure(runs, name):
    run = runs(name)
    notes = run.summary("00_data_overview")["metrics"]["notes"]
    column, unit = {"bank": ("Tenure", "years"), "telecom": ("account_length", "days")}[name]
    assert f"customers.signup_date: derived from {column} ({unit}) counted back from the as-of date" in notes
    assert any("the file has no id column; customer_id is each row's number" in n for n in notes)
    text = run.reports()["00_data_overview.html"]
    assert "each row's number in the file" in text and f"derived from {column} ({unit})" in text


def test_ecommerce_spellings_are_merged_everywhere(runs):
    run = runs("ecommerce")
    truth = run.export.truth
    customers = load_validated(run.run_data)["customers"]
    assert len(customers) == truth["customers"]
    for column, levels in truth["merged_levels"].items():
        assert sorted(customers[column].dropna().unique()) == levels, column
    terms = set(load_table(run.run_data, "churn_drivers")["term"])
    assert "PreferredPaymentMode: Cash on Delivery" in terms
    merged_away = {
        "PreferredPaymentMode: COD",
        "PreferredPaymentMode: CC",
        "PreferredLoginDevice: Mobile Phone",
    }
    assert not terms & merged_away
    html = run.reports()["02_churn_drivers.html"]
    assert "Payment mode: Cash on Delivery" in html
    assert not re.search(r"Payment mode: (COD|CC)\b", html)


def test_ecommerce_notes_count_the_recoded_values_and_the_dropped_rows(runs):
    run = runs("ecommerce")
    truth = run.export.truth
    notes = " ".join(run.summary("00_data_overview")["metrics"]["notes"])
    device = truth["recoded"]["PreferredLoginDevice"]
    assert f"customers.PreferredLoginDevice: {device} values recoded" in notes
    assert f"customers: dropped {truth['dropped_no_tenure']} rows with no signup_date (drop_missing)" in notes


def test_ecommerce_report_states_the_missing_values_of_each_driver(runs):
    run = runs("ecommerce")
    text = " ".join(run.reports().values())
    shown = yaml.safe_load(run.export.config.read_text())["labels"]["features"]  # display labels
    for column, missing in run.export.truth["missing"].items():
        name = re.escape(shown.get(column, column))
        assert re.search(rf"{name}[^.]*\b{missing}\b", text), column


def _without_loading_notes(text: str) -> str:
    """Report text without the notes on what loading did: those name the file's own columns."""
    return "\n".join(
        line for line in text.splitlines() if not re.match(r"(customers|transactions)[.:]", line)
    )


def test_ecommerce_report_states_how_the_dropped_rows_churned(runs):
    """Rows dropped for a blank tenure churned about three times as often as the rest (planted)."""
    truth = runs("ecommerce").export.truth
    assert truth["dropped_churn_rate"] > 2 * truth["churn_rate"]
    text = runs("ecommerce").reports()["00_data_overview.html"]
    dropped = [s for s in text.split(". ") if "dropped" in s]
    stated = [
        float(r) / 100 for s in dropped for r in re.findall(r"dropped customers churned at ([\d.]+)%", s)
    ]
    assert stated and stated[0] == pytest.approx(truth["dropped_churn_rate"], abs=0.0005), dropped


@pytest.mark.parametrize("name", ["bank", "ecommerce", "telecom"])
def test_display_labels_replace_raw_names_in_the_reports(runs, name):
    run = runs(name)
    text = _without_loading_notes("\n".join(run.reports().values()))
    for label in run.export.labels.values():
        assert label in text, f"{name}: label {label!r} not shown"
    for raw in run.export.raw_names:
        assert raw not in text, f"{name}: raw name {raw!r} shown"
    index = html_text((run.out / "index.html").read_text()).split("Configuration used")[0]
    for raw in run.export.raw_names:
        assert raw not in _without_loading_notes(index), f"{name}: raw name {raw!r} in the index"


def test_telecom_level_labels_name_the_terms(runs):
    drivers = load_table(runs("telecom").run_data, "churn_drivers").set_index("term")
    assert drivers.loc["international_plan: yes", "label"] == "Has an international plan"
    # the count may enter as a straight line or as levels ("Service calls: 4 or more"): labelled either way
    calls = drivers[drivers["driver"] == "number_customer_service_calls"]
    assert len(calls) and calls["label"].str.startswith("Service calls").all(), calls["label"].tolist()


def test_retail_customers_revenue_and_cancellations_are_the_planted_ones(runs):
    run = runs("retail")
    truth = run.export.truth
    kpis = {row["kpi"]: row["value"] for row in run.summary("00_data_overview")["metrics"]["kpis"]}
    assert kpis["customers"] == truth["customers"]
    assert kpis["net_revenue_12m"] == pytest.approx(truth["net_revenue"], abs=0.005)
    notes = run.summary("00_data_overview")["metrics"]["notes"]
    assert (
        f"transactions: dropped {truth['anonymous_lines']} rows with no customer_id (drop_missing)" in notes
    )
    assert (
        f"transactions: {truth['cancellations']} refund or cancellation rows (net revenue subtracts them)"
        in notes
    )
    segments = load_table(run.run_data, "segments")
    assert len(segments) == truth["customers"]
    assert "StockCode in POST" in run.reports()["01_segmentation.html"]


def test_orders_on_the_as_of_day_count_in_the_last_12_months(exports, tmp_path):
    """An export run on its last day: as_of is the day of the last orders, which validation accepts."""
    retail = exports["retail"]
    config = load_config(_edited(retail, tmp_path, _set(("analysis", "as_of"), "2025-11-29")))
    data = load_data(config)
    kpis = headline_kpis(data, churn_definition="inactivity", inactivity_days=120).set_index("kpi")["value"]
    tx = data["transactions"]
    window = tx["order_date"] > pd.Timestamp("2024-11-29")  # a year back from the as-of day
    assert kpis["net_revenue_12m"] == pytest.approx(float(tx.loc[window, "amount"].sum()), abs=0.005)


# ------------------------------------------------------------------------------------------------
# sentences about data the export does not have
# ------------------------------------------------------------------------------------------------
def absent_sentences(run: Run) -> dict[str, list[str]]:
    found = {}
    for report, text in run.reports().items():
        hits = absent_data_sentences(text, set(run.export.tables), set(run.export.columns))
        if hits:
            found[report] = hits
    return found


def test_the_scan_finds_a_planted_sentence_and_spares_a_statement_of_absence():
    assert absent_data_sentences(
        "Unresolved complaints double churn. Not available: the config supplies no interactions table.",
        {"customers"},
        {"Age"},
    ) == ["Unresolved complaints double churn."]
    assert absent_data_sentences("Complain: 1 goes with churn.", {"customers"}, {"Complain"}) == []
    assert absent_data_sentences("New customers peaked at 40 in May.", {"customers"}, set()) != []


@pytest.mark.parametrize("name", NAMES)
def test_reports_speak_only_of_the_data_given(runs, name):
    assert runs(name).reports(), f"{name}: no report to scan"
    found = absent_sentences(runs(name))
    assert not found, json.dumps(found, indent=1)


def test_level_labels_name_the_retention_groups(runs):
    text = runs("bank").reports()["02_churn_drivers.html"]
    assert "Active member: 0" not in text


@pytest.mark.slow
def test_a_state_column_of_51_levels_as_a_driver_runs_and_is_trimmed(exports, tmp_path, capsys):
    """Telecom's state (51 levels, about 16 customers each) passes validation, so the run must finish,
    and no report may list every state."""
    telecom = exports["telecom"]

    def add_state(values):
        values["churn_model"]["categorical_features"].insert(0, "state")

    config = _edited(telecom, tmp_path, add_state)
    assert main(["validate", "--config", str(config)]) == 0
    out = tmp_path / "reports"
    assert main(["run", "--config", str(config), "--out", str(out)]) == 0, capsys.readouterr().err
    text = "\n".join(html_text(p.read_text()) for p in out.glob("[0-9]*.html"))
    listed = {state for state in re.findall(r"\bstate: ([A-Z]{2})\b", text)}
    assert len(listed) < 20, f"{len(listed)} states listed"


@pytest.mark.slow
def test_a_driver_level_without_churners_does_not_stop_the_run(tmp_path, capsys):
    """An order category whose 31 customers all stayed separates perfectly; validation passes, so the
    run must finish, and the level must not be the headline (issue 10 part 4)."""
    export = EXPORTS["ecommerce"](tmp_path / "export", level_without_churn="Others")
    out = tmp_path / "reports"
    code = main(["run", "--config", str(export.config), "--out", str(out), "--only", "00,02"])
    assert code == 0, capsys.readouterr().err
    headline = load_summaries(out.with_name("reports-data"))["02_churn_drivers"]["headline"]
    assert "Others" not in headline
