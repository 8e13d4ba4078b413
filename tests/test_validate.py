"""One test per rule of the data contract: each asserts the message names table, column, rule and rows."""

import hashlib

import pandas as pd
import pytest

from cxlib.data._config import load_config
from cxlib.data._load import load_data
from cxlib.exceptions import DataValidationError


def problems_for(copy) -> str:
    with pytest.raises(DataValidationError) as err:
        load_data(load_config(copy.config))
    return str(err.value)


def test_clean_demo_passes(small_data):
    assert set(small_data.tables) == {
        "customers",
        "transactions",
        "interactions",
        "surveys",
        "programme",
        "referrals",
    }
    assert small_data.as_of == pd.Timestamp("2025-12-31")


def test_missing_required_column(demo_copy):
    demo_copy.write("transactions", demo_copy.read("transactions").drop(columns="Amount"))
    values = demo_copy.values
    del values["data"]["tables"]["transactions"]["columns"]["amount"]
    demo_copy.save_config(values)
    assert "transactions.amount: required column is missing" in problems_for(demo_copy)


def test_wrong_type_names_rows_and_values(demo_copy):
    tx = demo_copy.read("transactions")
    tx.loc[[0, 5], "Amount"] = ["12,50 EUR", "twelve"]
    demo_copy.write("transactions", tx)
    message = problems_for(demo_copy)
    assert (
        "transactions.amount: 2 rows: values are not numbers (rows 2, 7; e.g. '12,50 EUR', 'twelve')"
        in message
    )


def test_unparseable_dates(demo_copy):
    customers = demo_copy.read("customers")
    customers.loc[3, "SignupDate"] = "31/02/2024"
    demo_copy.write("customers", customers)
    assert "customers.signup_date: 1 row: values are not dates (rows 5; e.g. '31/02/2024')" in problems_for(
        demo_copy
    )


def test_duplicate_customer_ids(demo_copy):
    customers = demo_copy.read("customers")
    customers.loc[10, "CustomerID"] = customers.loc[11, "CustomerID"]
    demo_copy.write("customers", customers)
    assert "customers.customer_id: 2 rows: ids are duplicated (rows 12, 13" in problems_for(demo_copy)


def test_negative_amounts_not_marked_as_refunds(demo_copy):
    tx = demo_copy.read("transactions")
    sale_rows = tx.index[tx["Type"] == "sale"][:3]
    tx.loc[sale_rows, "Amount"] = "-10"
    demo_copy.write("transactions", tx)
    expected = f"transactions.amount: 3 rows: amounts are negative but not marked as refunds (rows {sale_rows[0] + 2}"
    message = problems_for(demo_copy)
    assert expected in message
    assert "mark refunds with is_refund or remove them" in message
    assert message.count("amounts are negative but not marked as refunds") == 1  # once, not once per column
    assert "The input data has 1 problem(s)" in message


def test_churn_before_signup_is_reported_once(demo_copy):
    customers = demo_copy.read("customers")
    customers.loc[[2, 4], "ChurnDate"] = "2022-06-30"
    demo_copy.write("customers", customers)
    message = problems_for(demo_copy)
    assert (
        "customers.churn_date: 2 rows: churn dates are before the signup date (rows 4, 6); check both dates."
        in message
    )
    assert "The input data has 1 problem(s)" in message


def test_transactions_for_unknown_customers(demo_copy):
    tx = demo_copy.read("transactions")
    tx.loc[[1, 2], "CustomerID"] = "C999999"
    demo_copy.write("transactions", tx)
    assert (
        "transactions.customer_id: 2 rows: ids are not in the customers table (rows 3, 4; e.g. 'C999999')"
        in problems_for(demo_copy)
    )


def test_dates_after_as_of(demo_copy):
    tx = demo_copy.read("transactions")
    tx.loc[0, "OrderDate"] = "2026-02-01"
    demo_copy.write("transactions", tx)
    assert (
        "transactions.order_date: 1 row: dates are after the as-of date 2025-12-31 (rows 2"
        in problems_for(demo_copy)
    )


def test_nps_outside_0_to_10(demo_copy):
    surveys = demo_copy.read("surveys")
    surveys.loc[[0, 1], "NPS"] = ["11", "-1"]
    demo_copy.write("surveys", surveys)
    assert "surveys.nps: 2 rows: NPS scores are outside 0-10 (rows 2, 3" in problems_for(demo_copy)


def test_csat_outside_1_to_5(demo_copy):
    surveys = demo_copy.read("surveys")
    surveys.loc[4, "CSAT"] = "0"
    demo_copy.write("surveys", surveys)
    assert "surveys.csat: 1 row: CSAT scores are outside 1-5 (rows 6" in problems_for(demo_copy)


def test_programme_groups_must_be_treatment_or_control(demo_copy):
    programme = demo_copy.read("programme")
    programme.loc[0, "Group"] = "pilot"
    demo_copy.write("programme", programme)
    assert (
        "programme.group: 1 row: groups are not 'treatment' or 'control' (rows 2; e.g. 'pilot')"
        in problems_for(demo_copy)
    )


def test_empty_table(demo_copy):
    demo_copy.write("referrals", demo_copy.read("referrals").iloc[0:0])
    assert "referrals: table has no rows" in problems_for(demo_copy)


def test_missing_file(demo_copy):
    (demo_copy.dir / "surveys.csv").unlink()
    assert "surveys: file not found" in problems_for(demo_copy)


def test_every_problem_is_listed_at_once_and_inputs_are_untouched(demo_copy):
    tx = demo_copy.read("transactions")
    tx.loc[0, "Amount"] = "abc"
    tx.loc[1, "CustomerID"] = "NOPE"
    demo_copy.write("transactions", tx)
    surveys = demo_copy.read("surveys")
    surveys.loc[0, "NPS"] = "12"
    demo_copy.write("surveys", surveys)
    customers = demo_copy.read("customers").drop(columns="SignupDate")
    demo_copy.write("customers", customers)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in demo_copy.dir.glob("*.csv")}
    message = problems_for(demo_copy)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in demo_copy.dir.glob("*.csv")}
    assert before == after
    for fragment in (
        "customers.signup_date: mapped to column 'SignupDate', which customers.csv does not have",
        "transactions.amount: 1 row: values are not numbers",
        "transactions.customer_id: 1 row: ids are not in the customers table",
        "surveys.nps: 1 row",
    ):
        assert fragment in message
    assert "row numbers count the header as row 1" in message
    assert "The input data has 4 problem(s)" in message


def test_columns_matching_canonical_names_need_no_mapping(demo_copy):
    values = demo_copy.values
    values["data"]["tables"]["customers"] = {"path": "customers.csv"}  # CustomerID, SignupDate, ... by name
    demo_copy.save_config(values)
    data = load_data(load_config(demo_copy.config))
    assert {"customer_id", "signup_date", "churn_date", "plan"} <= set(data["customers"].columns)


@pytest.mark.parametrize("suffix", ["parquet", "xlsx"])
def test_parquet_and_excel_inputs(demo_copy, suffix):
    surveys = demo_copy.read("surveys")
    path = demo_copy.dir / f"surveys.{suffix}"
    if suffix == "parquet":
        surveys.astype({"NPS": int, "CSAT": int}).to_parquet(path, index=False)
    else:
        surveys.to_excel(path, index=False, sheet_name="answers")
    values = demo_copy.values
    values["data"]["tables"]["surveys"]["path"] = path.name
    if suffix == "xlsx":
        values["data"]["tables"]["surveys"]["sheet"] = "answers"
    demo_copy.save_config(values)
    data = load_data(load_config(demo_copy.config))
    assert len(data["surveys"]) == len(surveys)
    assert data["surveys"]["nps"].between(0, 10).all()


def test_date_format_from_config(demo_copy):
    customers = demo_copy.read("customers")
    customers["SignupDate"] = pd.to_datetime(customers["SignupDate"]).dt.strftime("%d/%m/%Y")
    demo_copy.write("customers", customers)
    values = demo_copy.values
    values["data"]["tables"]["customers"]["date_format"] = "%d/%m/%Y"
    demo_copy.save_config(values)
    data = load_data(load_config(demo_copy.config))
    assert data["customers"]["signup_date"].min() >= pd.Timestamp("2023-01-01")


def test_loader_drops_exact_duplicates_and_flags_refunds(small_data, small_demo_dir):
    raw = pd.read_csv(small_demo_dir / "transactions.csv", dtype=str)
    assert len(small_data["transactions"]) == len(raw) - raw.duplicated().sum()
    assert small_data["transactions"]["is_refund"].sum() == (raw.drop_duplicates()["Type"] == "refund").sum()
    assert any("exact duplicate" in note for note in small_data.notes)
