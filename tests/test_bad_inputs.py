"""Bad inputs are stopped (or flagged) by `cx validate`, before any notebook runs.

Each case breaks a copy of the small demo (its data or its config) in one way and asserts, through
the function the `cx` command runs: exactly the expected kind of outcome (an error that stops the
run, or a warning that lets it go on), a message naming table, column, rule and rows (or the
config key), no exception other than the project's own (so no traceback reaches the user), and
every input file byte-identical afterwards. A sample also runs `cx validate` in a subprocess.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest

from cxlib.cli import main
from cxlib.data._config import load_config
from cxlib.data._load import load_data

from .conftest import SMALL_DEMO_CUSTOMERS
from .id_scan import ids_in, ids_in_folder

N = f"{SMALL_DEMO_CUSTOMERS:,}"  # customers in the small demo, as messages write the count


@dataclass
class Case:
    name: str
    edit: Callable
    kind: str  # "error": the run stops; "warning": validation passes and says so
    fragments: tuple[str, ...]


def _set(table, rows, column, values):
    def edit(copy):
        frame = copy.read(table)
        frame.loc[rows, column] = values
        copy.write(table, frame)

    return edit


def _config(change):
    def edit(copy):
        values = copy.values
        change(values)
        copy.save_config(values)

    return edit


def _config_text(old, new):
    def edit(copy):
        text = copy.config.read_text()
        assert old in text
        copy.config.write_text(text.replace(old, new, 1))

    return edit


def _tables(values):
    return values["data"]["tables"]


def _with_age_column(copy):
    customers = copy.read("customers")
    customers["Age"] = (18 + customers.index % 60).astype(str)
    copy.write("customers", customers)


def _misspelled_feature(copy):
    _with_age_column(copy)
    _config(lambda v: v.setdefault("churn_model", {}).update(numeric_features=["Agee"]))(copy)


def _postcode_driver(copy):
    customers = copy.read("customers")
    customers["Postcode"] = (1000 + customers.index // 2).astype(str)  # two customers per postcode
    copy.write("customers", customers)
    _config(lambda v: v.setdefault("churn_model", {}).update(categorical_features=["Postcode"]))(copy)


def _all_churned(copy):
    customers = copy.read("customers")
    signup = pd.to_datetime(customers["SignupDate"])
    customers["ChurnDate"] = (signup + pd.Timedelta(days=1)).clip(lower=pd.Timestamp("2025-08-01"))
    customers["ChurnDate"] = customers["ChurnDate"].dt.strftime("%Y-%m-%d")
    copy.write("customers", customers)


def _none_churned(copy):
    customers = copy.read("customers")
    customers["ChurnDate"] = None
    copy.write("customers", customers)


def _one_customer(copy):
    customers = copy.read("customers")
    keep = customers["CustomerID"].iloc[0]
    copy.write("customers", customers.iloc[:1])
    for table in ("transactions", "interactions", "surveys", "programme"):
        frame = copy.read(table)
        copy.write(table, frame.loc[frame["CustomerID"] == keep])
    copy.write("referrals", copy.read("referrals").iloc[0:0])
    _config(lambda v: _tables(v).pop("referrals"))(copy)


def _data_gap(copy):
    tx = copy.read("transactions")
    copy.write("transactions", tx.loc[pd.to_datetime(tx["OrderDate"]) < "2025-06-01"])


def _month_gap(copy):
    tx = copy.read("transactions")
    copy.write("transactions", tx.loc[~tx["OrderDate"].str.startswith("2024-03")])


def _mixed_day_month(copy):
    customers = copy.read("customers")
    signup = pd.to_datetime(customers["SignupDate"])
    customers["SignupDate"] = signup.dt.strftime("%d/%m/%Y")  # some days > 12 decide day-first
    copy.write("customers", customers)


def _write_raw(name, content: bytes, path_key=None, **spec):
    def edit(copy):
        (copy.dir / name).write_bytes(content(copy) if callable(content) else content)
        values = copy.values
        table = path_key or name.split(".")[0]
        _tables(values)[table]["path"] = name
        _tables(values)[table].update(spec)
        copy.save_config(values)

    return edit


def _surveys_as(fmt):
    def content(copy):
        text = (copy.dir / "surveys.csv").read_text()
        if fmt == "latin-1":
            surveys = copy.read("surveys")
            surveys["Comment"] = "très bien"
            return surveys.to_csv(index=False).encode("latin-1")
        if fmt == "semicolon":
            return copy.read("surveys").to_csv(index=False, sep=";").encode()
        return text.encode()

    return content


def _excel(copy, name, title_row=False, sheet="answers"):
    surveys = copy.read("surveys")
    path = copy.dir / name
    with pd.ExcelWriter(path) as writer:
        surveys.to_excel(writer, index=False, sheet_name=sheet, startrow=1 if title_row else 0)
        if title_row:
            writer.sheets[sheet].cell(row=1, column=1, value="Survey export, all regions")
            writer.sheets[sheet].merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
    values = copy.values
    _tables(values)["surveys"]["path"] = name
    copy.save_config(values)


def _missing_sheet(copy):
    _excel(copy, "surveys.xlsx")
    _config(lambda v: _tables(v)["surveys"].update(sheet="Answers 2025"))(copy)


def _bad_parquet_types(copy):
    surveys = copy.read("surveys")
    surveys.loc[0:2, "NPS"] = "ten"
    surveys.to_parquet(copy.dir / "surveys.parquet", index=False)
    _config(lambda v: _tables(v)["surveys"].update(path="surveys.parquet"))(copy)


def _folder_as_file(copy):
    (copy.dir / "surveys_folder").mkdir()
    _config(lambda v: _tables(v)["surveys"].update(path="surveys_folder"))(copy)


def _refund_free_negative(copy):
    tx = copy.read("transactions")
    rows = tx.index[tx["Type"] == "sale"][:2]
    tx.loc[rows, "Amount"] = "-3"
    copy.write("transactions", tx)


def _two_problems(copy):
    _set("surveys", [0], "NPS", "12")(copy)
    _set("programme", [0], "Group", "pilot")(copy)


def _spaced_ids(copy):
    tx = copy.read("transactions")
    tx.loc[[0, 1], "CustomerID"] = " " + tx.loc[[0, 1], "CustomerID"] + " "
    copy.write("transactions", tx)


def _spaced(table, rows, column):
    def edit(copy):
        frame = copy.read(table)
        frame.loc[rows, column] = frame.loc[rows, column] + "  "
        copy.write(table, frame)

    return edit


def _drop_column(table, column, key):
    def edit(copy):
        copy.write(table, copy.read(table).drop(columns=column))
        _config(lambda v: _tables(v)[table]["columns"].pop(key))(copy)

    return edit


CASES = [
    # ---- config --------------------------------------------------------------------------------------
    Case(
        "as_of_month_31",
        _config_text("as_of: 2025-12-31", "as_of: 2025-31-12"),
        "error",
        ("analysis.as_of: expected a date written YYYY-MM-DD, got '2025-31-12' (month must be in 1..12)",),
    ),
    Case(
        "duplicate_yaml_key",
        _config_text("plan: Plan\n", "plan: Plan\n        plan: Region\n"),
        "error",
        ("key 'plan' is given twice in one mapping (lines", "line "),
    ),
    Case(
        "k_range_reversed",
        _config(lambda v: v.update(segmentation={"k_range": [9, 2]})),
        "error",
        ("segmentation.k_range: expected two whole numbers [low, high] with 2 <= low <= high, got [9, 2]",),
    ),
    Case(
        "test_size_text",
        _config(lambda v: v.update(churn_model={"test_size": "lots"})),
        "error",
        ("churn_model.test_size: expected a number in (0, 1), got 'lots' (text)",),
    ),
    Case(
        "column_mapped_to_two_fields",
        _config(lambda v: _tables(v)["customers"]["columns"].update(plan="Region")),
        "error",
        ("data.tables.customers.columns: column 'Region' is mapped to 2 fields (plan, region)",),
    ),
    Case(
        "misspelled_numeric_feature",
        _misspelled_feature,
        "error",
        ("churn_model.numeric_features: 'Agee' is not a column of the customers table (closest: 'Age';",),
    ),
    Case(
        "misspelled_categorical_feature",
        _config(lambda v: v.update(churn_model={"categorical_features": ["regoin"]})),
        "error",
        ("churn_model.categorical_features: 'regoin' is not a column", "closest: 'region'", "available:"),
    ),
    Case(
        "reference_level_for_unknown_driver",
        _config(lambda v: v.update(churn_model={"reference_levels": {"plann": "basic"}})),
        "error",
        ("churn_model.reference_levels: 'plann' is not a categorical driver (closest: 'plan';",),
    ),
    Case(
        "unknown_segmentation_feature",
        _config(lambda v: v.update(segmentation={"features": ["orders_per_active_mnth"]})),
        "error",
        (
            "segmentation.features: 'orders_per_active_mnth' matches no customer feature (closest: 'orders_per_active_month';",
        ),
    ),
    Case(
        "unknown_excluded_transaction_column",
        _config(lambda v: v.update(segmentation={"exclude_transactions": {"chanel": ["web"]}})),
        "error",
        (
            "segmentation.exclude_transactions: 'chanel' is not a column of the transactions table (closest: 'channel'",
        ),
    ),
    Case(
        "exclusion_not_a_list",
        _config(lambda v: v.update(segmentation={"exclude_transactions": {"channel": "app"}})),
        "error",
        (
            "segmentation.exclude_transactions.channel: expected a list of values to leave out, "
            "e.g. {channel: [app]}, got 'app' (text)",
        ),
    ),
    Case(
        "exclusion_value_matching_no_row",
        _config(lambda v: v.update(segmentation={"exclude_transactions": {"channel": ["App ", "store"]}})),
        "warning",
        (
            "segmentation.exclude_transactions.channel: 'App ' matches no transaction, so it leaves nothing "
            "out (closest: 'app')",
        ),
    ),
    Case(
        "customer_id_as_categorical_driver",
        _config(lambda v: v.update(churn_model={"categorical_features": ["customer_id"]})),
        "error",
        (
            "churn_model.categorical_features: 'customer_id' is an id column: every customer is a level of "
            "its own",
        ),
    ),
    Case(
        "postcode_as_categorical_driver",
        _postcode_driver,
        "error",
        (
            f"churn_model.categorical_features: 'Postcode' has {(SMALL_DEMO_CUSTOMERS + 1) // 2:,} levels for {N} customers; {N} "
            "customers (100%) are in levels of fewer than 10 (analysis.min_group_size)",
            "bucket it",
        ),
    ),
    Case(
        "min_group_size_beyond_the_data",
        _config(lambda v: v["analysis"].update(min_group_size=5000)),
        "error",
        (
            f"analysis.min_group_size: 5,000 is more than half of the {N} customers",
            f"at most {SMALL_DEMO_CUSTOMERS // 2:,}",
        ),
    ),
    Case(
        "misspelled_config_key",
        _config(lambda v: v["analysis"].update(activ_days=30)),
        "error",
        ("analysis.activ_days: unknown key (did you mean 'active_days'?)",),
    ),
    Case(
        "seed_is_yes_no",
        _config(lambda v: v["analysis"].update(seed=True)),
        "error",
        ("analysis.seed: expected a whole number between 0 and 4294967295, got True (yes/no)",),
    ),
    Case(
        "min_group_size_zero",
        _config(lambda v: v["analysis"].update(min_group_size=0)),
        "error",
        ("analysis.min_group_size: expected a whole number >= 1, got 0",),
    ),
    Case(
        "unknown_encoding",
        _config(lambda v: _tables(v)["surveys"].update(encoding="latin-9x")),
        "error",
        ("data.tables.surveys.encoding: 'latin-9x' is not a text encoding",),
    ),
    Case(
        "unknown_derivation",
        _config(lambda v: _tables(v)["transactions"]["columns"].update(amount={"multiplied": ["a", "b"]})),
        "error",
        (
            "data.tables.transactions.columns.amount: unknown derivation 'multiplied' (did you mean 'multiply'?)",
        ),
    ),
    Case(
        "mapping_to_a_field_not_in_the_contract",
        _config(lambda v: _tables(v)["transactions"]["columns"].update(chanel="Channel")),
        "error",
        (
            "data.tables.transactions.columns.chanel: not a column of the transactions contract (did you mean 'channel'?)",
        ),
    ),
    Case(
        "cutoff_leaves_no_label_window",
        _config(lambda v: v.update(churn_model={"cutoff": "2025-12-01"})),
        "error",
        ("churn_model.cutoff: 2025-12-01 plus a 180-day label window ends after the as-of date 2025-12-31",),
    ),
    Case(
        "yaml_syntax_error",
        _config_text("currency: EUR", "currency: [EUR"),
        "error",
        ("not valid YAML", "line"),
    ),
    Case(
        "config_not_utf8",
        lambda copy: copy.config.write_bytes(
            copy.config.read_bytes().replace(b"Demo Retail", b"D\xe9mo Retail")
        ),
        "error",
        ("not UTF-8 text (byte 0xe9", "save the config as UTF-8"),
    ),
    # ---- files ---------------------------------------------------------------------------------------
    Case("empty_file", _write_raw("surveys.csv", b""), "error", ("surveys: surveys.csv is empty (0 bytes)",)),
    Case(
        "header_only",
        lambda copy: copy.write("referrals", copy.read("referrals").iloc[0:0]),
        "error",
        ("referrals: table has no rows",),
    ),
    Case(
        "missing_excel_sheet",
        _missing_sheet,
        "error",
        (
            "surveys: surveys.xlsx has no sheet 'Answers 2025'; its sheets are 'answers'",
            "data.tables.surveys.sheet",
        ),
    ),
    Case(
        "csv_saved_as_xlsx",
        _write_raw("surveys.xlsx", _surveys_as("csv")),
        "error",
        (
            "surveys: surveys.xlsx is not an Excel workbook: it holds plain text (a CSV saved with an Excel name?)",
        ),
    ),
    Case(
        "latin1_file",
        _write_raw("surveys.csv", _surveys_as("latin-1")),
        "error",
        (
            "surveys: surveys.csv is not UTF-8 text (byte 0xe8 on line 2",
            "data.tables.surveys.encoding",
            "latin-1",
        ),
    ),
    Case(
        "semicolon_file",
        _write_raw("surveys.csv", _surveys_as("semicolon")),
        "error",
        (
            "surveys: surveys.csv reads as a single column",
            "separated by ';'",
            "data.tables.surveys.separator: ';'",
        ),
    ),
    Case(
        "excel_title_row_and_merged_header",
        lambda copy: _excel(copy, "surveys.xlsx", title_row=True),
        "error",
        ("surveys: surveys.xlsx: ", "columns have no name in the first row", "unmerge"),
    ),
    Case(
        "folder_instead_of_file",
        _folder_as_file,
        "error",
        ("surveys: surveys_folder is a folder, not a file; point data.tables.surveys.path at the file",),
    ),
    Case(
        "corrupt_parquet",
        _write_raw("surveys.parquet", b"PAR1 not really parquet"),
        "error",
        ("surveys: surveys.parquet is not a readable Parquet file",),
    ),
    Case(
        "parquet_with_wrong_types",
        _bad_parquet_types,
        "error",
        ("surveys.nps: 3 rows: values are not numbers (rows 2, 3, 4; e.g. 'ten')",),
    ),
    Case(
        "missing_file",
        lambda copy: (copy.dir / "surveys.csv").unlink(),
        "error",
        ("surveys: file not found:", "data.tables.surveys.path"),
    ),
    Case(
        "missing_required_column",
        _drop_column("interactions", "Kind", "kind"),
        "error",
        ("interactions.kind: required column is missing; map it under data.tables.interactions.columns",),
    ),
    # ---- values --------------------------------------------------------------------------------------
    Case(
        "inf_amount",
        _set("transactions", [3], "Amount", "inf"),
        "error",
        ("transactions.amount: 1 row: values are infinite (rows 5; e.g. 'inf')",),
    ),
    Case(
        "infinity_amount",
        _set("transactions", [4, 6], "Amount", ["Infinity", "-Infinity"]),
        "error",
        ("transactions.amount: 2 rows: values are infinite (rows 6, 8; e.g. 'Infinity', '-Infinity')",),
    ),
    Case(
        "nan_amount",
        _set("transactions", [7], "Amount", "NaN"),
        "error",
        ("transactions.amount: 1 row: values are missing in a required column (rows 9)",),
    ),
    Case(
        "absurd_amount_1e15",
        _set("transactions", [2], "Amount", "1e15"),
        "error",
        (
            "transactions.amount: 1 row: amounts are 1e+12 or more in size",
            "(rows 4; e.g. '1000000000000000.0')",
        ),
    ),
    Case(
        "extreme_amount",
        _set("transactions", [9], "Amount", "9000000"),
        "warning",
        (
            "transactions.amount: 1 row: amounts are more than 1,000 times the median positive amount",
            "(rows 11;",
        ),
    ),
    Case(
        "no_transactions_in_the_last_months",
        _data_gap,
        "warning",
        (
            "transactions.order_date: no transaction in the ",
            "days before the as-of date 2025-12-31 (the last is dated 2025-05-31)",
        ),
    ),
    Case(
        "a_month_without_transactions",
        _month_gap,
        "warning",
        (
            "transactions.order_date: 1 calendar month(s) between 2023-01 and ",
            "have no transactions (2024-03)",
        ),
    ),
    Case(
        "mixed_day_month_dates",
        _mixed_day_month,
        "warning",
        (
            "customers.signup_date: ",
            "dates could be day-first or month-first; read day-first because other rows only read that way",
        ),
    ),
    Case(
        "all_dates_ambiguous",
        _set("customers", slice(None), "SignupDate", "03/04/2024"),
        "error",
        (
            f"customers.signup_date: {SMALL_DEMO_CUSTOMERS} rows: dates could be day-first or month-first "
            "(rows 2, 3, 4, 5, 6, ...",
        ),
    ),
    Case(
        "every_customer_churned",
        _all_churned,
        "error",
        (
            "customers.churn_date (contractual churn): of the",
            "0 stayed; the churn models need at least 20 of each (every one churned",
        ),
    ),
    Case(
        "no_customer_churned",
        _none_churned,
        "error",
        (f"customers.churned: of the {N} customers, 0 churned and {N} stayed", "none churned"),
    ),
    Case(
        "one_row_customers_table",
        _one_customer,
        "error",
        ("customers: 1 customers; the analyses need at least 100",),
    ),
    Case(
        "too_few_repeat_buyers",
        _config(lambda v: v.update(segmentation={"min_orders": 500})),
        "error",
        (
            "transactions: 0 customers have at least 500 purchases (segmentation.min_orders); up to 8 segments need at least 80",
        ),
    ),
    Case(
        "numeric_feature_holding_text",
        _config(lambda v: v.update(churn_model={"numeric_features": ["plan"]})),
        "error",
        (
            f"customers.plan: {N} rows: values are not numbers, but churn_model.numeric_features lists it (rows 2, 3",
        ),
    ),
    Case(
        "duplicated_customer_ids",
        lambda copy: _set("customers", [20], "CustomerID", copy.read("customers").loc[21, "CustomerID"])(
            copy
        ),
        "error",
        ("customers.customer_id: 2 rows: ids are duplicated (rows 22, 23",),
    ),
    Case(
        "negative_amount_not_a_refund",
        _refund_free_negative,
        "error",
        ("transactions.amount: 2 rows: amounts are negative but not marked as refunds (rows",),
    ),
    Case(
        "order_date_in_the_future",
        _set("transactions", [0], "OrderDate", "2027-01-01"),
        "error",
        ("transactions.order_date: 1 row: dates are after the as-of date 2025-12-31 (rows 2",),
    ),
    Case(
        "unknown_customer_in_transactions",
        _set("transactions", [5], "CustomerID", "X404"),
        "error",
        ("transactions.customer_id: 1 row: ids are not in the customers table (rows 7; e.g. 'X404')",),
    ),
    Case(
        "unknown_referrer",
        _set("referrals", [0], "ReferrerID", "X405"),
        "error",
        ("referrals.referrer_id: 1 row: ids are not in the customers table (rows 2; e.g. 'X405')",),
    ),
    Case(
        "unknown_programme_group",
        _set("programme", [1], "Group", "pilot"),
        "error",
        ("programme.group: 1 row: groups are not 'treatment' or 'control' (rows 3; e.g. 'pilot')",),
    ),
    Case(
        "wrong_type_amount",
        _set("transactions", [1], "Amount", "12,50 EUR"),
        "error",
        ("transactions.amount: 1 row: values are not numbers (rows 3; e.g. '12,50 EUR')",),
    ),
    Case(
        "all_empty_required_dates",
        _set("customers", slice(None), "SignupDate", None),
        "error",
        (
            f"customers.signup_date: {SMALL_DEMO_CUSTOMERS} rows: values are missing in a required column "
            "(rows 2, 3, 4, 5, 6, ...",
        ),
    ),
    Case(
        "churn_before_signup",
        _set("customers", [2], "ChurnDate", "2020-01-01"),
        "error",
        ("customers.churn_date: 1 row: churn dates are before the signup date (rows 4)",),
    ),
    Case(
        "nps_out_of_range",
        _set("surveys", [3], "NPS", "15"),
        "error",
        ("surveys.nps: 1 row: NPS scores are outside 0-10 (rows 5; e.g. '15')",),
    ),
    Case(
        "csat_out_of_range",
        _set("surveys", [4], "CSAT", "9"),
        "error",
        ("surveys.csat: 1 row: CSAT scores are outside 1-5 (rows 6; e.g. '9')",),
    ),
    Case(
        "non_numeric_wait_minutes",
        _set("interactions", [0], "WaitMinutes", "ten"),
        "error",
        ("interactions.wait_minutes: 1 row: values are not numbers (rows 2; e.g. 'ten')",),
    ),
    Case(
        "negative_wait_minutes",
        _set("interactions", [1], "WaitMinutes", "-4"),
        "error",
        ("interactions.wait_minutes: 1 row: values are negative (rows 3; e.g. '-4.0')",),
    ),
    Case(
        "unknown_yes_no_value",
        _set("interactions", [2], "Resolved", "maybe"),
        "error",
        ("interactions.resolved: 1 row: values are not yes/no (rows 4; e.g. 'maybe')",),
    ),
    Case(
        "unparseable_date",
        _set("surveys", [0], "ResponseDate", "yesterday"),
        "error",
        ("surveys.date: 1 row: values are not dates (rows 2; e.g. 'yesterday')",),
    ),
    Case(
        "whitespace_around_ids",
        _spaced_ids,
        "warning",
        (
            "transactions.customer_id: 2 rows: ids have spaces around them, removed before matching (rows 2, 3);",
        ),
    ),
    Case(
        "whitespace_around_order_ids",
        _spaced("transactions", [10], "OrderID"),
        "warning",
        ("transactions.order_id: 1 row: ids have spaces around them, removed before matching (rows 12);",),
    ),
    Case(
        "whitespace_around_referrer_ids",
        _spaced("referrals", [0, 3, 4], "ReferrerID"),
        "warning",
        (
            "referrals.referrer_id: 3 rows: ids have spaces around them, removed before matching (rows 2, 5, 6);",
        ),
    ),
    Case(
        "two_problems_at_once",
        _two_problems,
        "error",
        (
            "The input data has 2 problem(s)",
            "surveys.nps: 1 row",
            "programme.group: 1 row",
        ),
    ),
]


def _fingerprints(folder) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_there_are_at_least_45_distinct_cases():
    assert len({case.name for case in CASES}) == len(CASES) >= 45


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_stopped_or_flagged_by_validate(case, demo_copy, tmp_path, capsys):
    case.edit(demo_copy)
    before = _fingerprints(tmp_path)
    # main() catches only the project's exceptions: anything else propagates and fails this test
    status = main(["validate", "--config", str(demo_copy.config)])
    out, err = capsys.readouterr()
    assert _fingerprints(tmp_path) == before, "validation changed an input file"
    assert "Traceback" not in out + err
    if case.kind == "error":
        assert status == 1, out
        assert err.startswith("cx validate: ")
        shown = err
    else:
        assert status == 0, err
        assert err == ""
        shown = "\n".join(line for line in out.splitlines() if line.startswith("  warning: "))
    for fragment in case.fragments:
        assert fragment in shown, f"{fragment!r} not in:\n{shown}"


def test_config_file_missing(tmp_path, capsys):
    assert main(["validate", "--config", str(tmp_path / "nowhere.yaml")]) == 1
    assert "cx validate: config file not found: " in capsys.readouterr().err


def test_bad_parameter_date_on_the_command_line(capsys):
    with pytest.raises(Exception) as err:
        from cxlib.cli import _parse_params

        _parse_params(["cutoff=2025-31-12", "k=[1"])
    assert type(err.value).__name__ == "CxError"
    assert "-p k: the value '[1' is not valid YAML" in str(err.value)


def test_a_byte_order_mark_is_not_part_of_the_first_column(demo_copy):
    path = demo_copy.dir / "surveys.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert main(["validate", "--config", str(demo_copy.config)]) == 0


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c.name in ("as_of_month_31", "latin1_file", "every_customer_churned", "extreme_amount")
    ],
    ids=lambda c: c.name,
)
def test_the_cx_command_shows_one_message_and_no_traceback(case, demo_copy):
    case.edit(demo_copy)
    result = subprocess.run(
        [sys.executable, "-m", "cxlib.cli", "validate", "--config", str(demo_copy.config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == (1 if case.kind == "error" else 0)
    assert case.fragments[0] in (result.stderr if case.kind == "error" else result.stdout)


WARNING_CASES = [c for c in CASES if c.kind == "warning"]


def _customer_ids(copy) -> set[bytes]:
    return {i.strip().encode() for i in copy.read("customers")["CustomerID"]}


def test_warnings_and_notes_quote_no_id_values(demo_copy):
    """Warnings and loading notes reach the overview report: row numbers and counts, never an id."""
    for case in WARNING_CASES:
        case.edit(demo_copy)
    data = load_data(load_config(demo_copy.config))
    assert len(data.warnings) == len(WARNING_CASES) and data.notes
    orders = {i.strip().encode() for i in demo_copy.read("transactions")["OrderID"]}
    shown = "\n".join(data.warnings + data.notes).encode()
    assert not ids_in(shown, _customer_ids(demo_copy) | orders), shown.decode()


def test_data_with_every_warning_at_once_runs_through_every_notebook(demo_copy, tmp_path):
    """Warnings let the run go on, so the notebooks must cope with such data: run them all on it."""
    from cxlib.run._runner import discover_notebooks, run_suite

    for case in WARNING_CASES:
        case.edit(demo_copy)
    logged: list[str] = []
    manifest = run_suite(demo_copy.config, tmp_path / "reports", log=logged.append)
    assert [r["notebook"] for r in manifest["reports"] if r["html"]] == [p.stem for p in discover_notebooks()]
    assert sum(line.startswith("warning: ") for line in logged) == len(WARNING_CASES)  # one each
    overview = (tmp_path / "reports" / "00_data_overview.html").read_text()
    overview = overview.replace("&#39;", "'").replace("&amp;", "&")
    assert "Check before relying on the figures" in overview
    for case in WARNING_CASES:
        for fragment in case.fragments:
            assert fragment in overview, fragment
    assert not ids_in_folder(tmp_path / "reports", _customer_ids(demo_copy))


def _largest_allowed_min_group_size(copy) -> int:
    """Validation passes at the returned size and refuses the next one."""
    data = load_data(load_config(copy.config))
    sales = data["transactions"].loc[lambda t: ~t["is_refund"] & (t["amount"] > 0)]
    settings = copy.values.get("segmentation", {})
    buyers = int((sales.groupby("customer_id")["order_id"].nunique() >= settings.get("min_orders", 2)).sum())
    return buyers // max(settings.get("k_range", [2, 8]))


def test_the_largest_allowed_min_group_size_runs_the_overview_and_segmentation(demo_copy, tmp_path, capsys):
    """Beyond it, cx validate stops the run; at it, notebooks 00 and 01 pool and suppress without failing."""
    from cxlib.run._runner import discover_notebooks, run_suite

    largest = _largest_allowed_min_group_size(demo_copy)
    demo_copy.values["analysis"]["min_group_size"] = largest + 1
    assert main(["validate", "--config", str(demo_copy.save_config(demo_copy.values))]) == 1
    assert "analysis.min_group_size" in capsys.readouterr().err
    demo_copy.values["analysis"]["min_group_size"] = largest
    demo_copy.save_config(demo_copy.values)
    notebooks = [p for p in discover_notebooks() if p.stem.startswith(("00_", "01_"))]
    manifest = run_suite(demo_copy.config, tmp_path / "reports", notebooks=notebooks)
    assert [r["notebook"] for r in manifest["reports"] if r["html"]] == [p.stem for p in notebooks]


def test_charts_of_an_all_pooled_or_all_suppressed_table_do_not_fail(small_data, small_config):
    """A single pooled row (plot with one interval) and a heatmap whose every cell is suppressed."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cxlib.features import features_from_config
    from cxlib.overview import _kpis as kpis
    from cxlib.report import _charts as plots
    from cxlib.segment import plot_rfm_heatmap

    customers = small_data["customers"]
    mix = kpis.attribute_mix(customers, "plan", len(customers) // 2 + 1)  # everything in one pool
    assert len(mix) == 1
    mix = mix.fillna({"churn_rate": 0.2, "churn_low": 0.1, "churn_high": 0.3})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.plot_rate_with_interval(mix, "plan", "churn_rate", "churn_low", "churn_high", "t", "x")
        features = features_from_config(small_data, small_config)
        ax = plot_rfm_heatmap(features, min_group_size=len(features) + 1)
    assert "every cell is suppressed" in ax.get_title()
    plt.close("all")
