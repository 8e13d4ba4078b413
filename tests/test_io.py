"""Loader behaviour beyond single contract rules: refund signs, dates, column mapping, duplicates."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib.data._config import load_config
from cxlib.data._derivations import derivation_columns, derive_column
from cxlib.data._load import load_data, parse_types
from cxlib.exceptions import DataValidationError


def problems_for(copy) -> str:
    with pytest.raises(DataValidationError) as err:
        load_data(load_config(copy.config))
    return str(err.value)


def customers_with_dates(dates: list) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [f"C{i}" for i in range(len(dates))], "signup_date": dates}, dtype=object
    )


# ---- refunds ---------------------------------------------------------------------------------------------


def test_refunds_given_as_positive_amounts_are_netted(demo_copy, small_data):
    tx = demo_copy.read("transactions")
    refund = tx["Type"] == "refund"
    assert tx.loc[refund, "Amount"].astype(float).lt(0).all()  # the demo writes refunds negative
    tx.loc[refund, "Amount"] = tx.loc[refund, "Amount"].str.lstrip("-")
    demo_copy.write("transactions", tx)
    loaded = load_data(load_config(demo_copy.config))["transactions"]
    assert loaded["amount"].sum() == small_data["transactions"]["amount"].sum()
    assert (loaded.loc[loaded["is_refund"], "amount"] < 0).all()


def test_without_an_is_refund_column_negative_amounts_are_refunds(demo_copy):
    values = demo_copy.values
    del values["data"]["tables"]["transactions"]["columns"]["is_refund"]
    del values["data"]["tables"]["transactions"]["true_values"]
    demo_copy.save_config(values)
    loaded = load_data(load_config(demo_copy.config))["transactions"]
    assert loaded["is_refund"].sum() == (loaded["Type"] == "refund").sum()
    assert loaded["is_refund"].equals(loaded["amount"] < 0)


# ---- duplicates ------------------------------------------------------------------------------------------


def test_exact_duplicate_customer_rows_are_dropped_not_rejected(demo_copy):
    customers = demo_copy.read("customers")
    demo_copy.write("customers", pd.concat([customers, customers.iloc[[5, 9]]], ignore_index=True))
    data = load_data(load_config(demo_copy.config))
    assert len(data["customers"]) == len(customers)
    assert "customers: dropped 2 exact duplicate rows" in data.notes


def test_ids_repeated_with_different_content_are_still_duplicates(demo_copy):
    customers = demo_copy.read("customers")
    changed = customers.iloc[[5]].assign(Plan="premium" if customers.loc[5, "Plan"] != "premium" else "basic")
    demo_copy.write("customers", pd.concat([customers, changed], ignore_index=True))
    message = problems_for(demo_copy)
    assert f"customers.customer_id: 2 rows: ids are duplicated (rows 7, {len(customers) + 2};" in message
    assert "The input data has 1 problem(s)" in message


# ---- dates -----------------------------------------------------------------------------------------------


def test_timezone_aware_times_become_naive_utc():
    frame, problems = parse_types(
        customers_with_dates(["2024-06-01T10:00:00Z", "2024-06-01 12:00:00+01:00", "2024-06-02"]), "customers"
    )
    assert problems == []
    assert frame["signup_date"].dtype == "datetime64[ns]"
    assert list(frame["signup_date"]) == [
        pd.Timestamp("2024-06-01 10:00"),
        pd.Timestamp("2024-06-01 11:00"),
        pd.Timestamp("2024-06-02"),
    ]


def test_timezone_aware_times_load_and_compare_with_the_as_of_date(demo_copy):
    interactions = demo_copy.read("interactions")
    interactions.loc[[0, 1], "Timestamp"] = ["2025-06-01T10:00:00Z", "2025-06-01T12:00:00+01:00"]
    demo_copy.write("interactions", interactions)
    loaded = load_data(load_config(demo_copy.config))["interactions"]
    assert list(loaded["timestamp"].iloc[:2]) == [
        pd.Timestamp("2025-06-01 10:00"),
        pd.Timestamp("2025-06-01 11:00"),
    ]


def test_one_day_first_value_makes_the_whole_column_day_first():
    frame, problems = parse_types(
        customers_with_dates(["03/04/2024", "13.04.2024", "2024-01-02"]), "customers"
    )
    # read day-first, but flagged: 03/04/2024 alone does not prove the order
    assert [(p.rule, p.severity, p.rows) for p in problems] == [("ambiguous_order_decided", "warning", (2,))]
    assert problems[0].message() == (
        "customers.signup_date: 1 row: dates could be day-first or month-first; read day-first because "
        "other rows only read that way (rows 2; e.g. '03/04/2024'); check the column is one layout and set "
        "data.tables.customers.date_format to confirm it."
    )
    assert list(frame["signup_date"]) == [
        pd.Timestamp("2024-04-03"),
        pd.Timestamp("2024-04-13"),
        pd.Timestamp("2024-01-02"),
    ]


def test_one_month_first_value_makes_the_whole_column_month_first():
    frame, problems = parse_types(customers_with_dates(["03/04/2024", "04/13/2024"]), "customers")
    assert [(p.rule, p.severity, p.detail) for p in problems] == [
        ("ambiguous_order_decided", "warning", "month-first")
    ]
    assert list(frame["signup_date"]) == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-04-13")]


def test_values_contradicting_the_column_order_are_not_dates():
    _, problems = parse_types(customers_with_dates(["13/04/2024", "04/13/2024"]), "customers")
    assert [p.message() for p in problems if p.severity == "error"] == [
        "customers.signup_date: 1 row: values are not dates (rows 3; e.g. '04/13/2024'); "
        "fix them, or set data.tables.customers.date_format."
    ]


def test_dates_that_read_both_ways_are_reported_not_guessed():
    _, problems = parse_types(
        customers_with_dates(["03/04/2024", "05/05/2024", "2024-12-31", "11/12/2024"]), "customers"
    )
    assert [p.message() for p in problems] == [
        "customers.signup_date: 2 rows: dates could be day-first or month-first (rows 2, 5; "
        "e.g. '03/04/2024', '11/12/2024'); set data.tables.customers.date_format in the config: "
        '"%d/%m/%Y" reads 03/04/2024 as 3 April, "%m/%d/%Y" as 4 March.'
    ]


def test_a_configured_date_format_settles_the_order():
    frame, problems = parse_types(customers_with_dates(["03/04/2024"]), "customers", date_format="%d/%m/%Y")
    assert problems == []


def test_ambiguous_dates_in_a_file_stop_loading(demo_copy):
    customers = demo_copy.read("customers")
    signup = pd.to_datetime(customers["SignupDate"])
    both_ways = (signup.dt.day <= 12) & (signup.dt.day != signup.dt.month)
    customers.loc[both_ways, "SignupDate"] = signup[both_ways].dt.strftime("%d/%m/%Y")
    demo_copy.write("customers", customers)
    rows = [i + 2 for i in customers.index[both_ways]]
    message = problems_for(demo_copy)
    assert (
        f"customers.signup_date: {len(rows)} rows: dates could be day-first or month-first "
        f"(rows {', '.join(map(str, rows[:5]))}, ...; e.g. " in message
    )
    assert "The input data has 1 problem(s)" in message


# ---- column mapping --------------------------------------------------------------------------------------


def test_every_mapped_column_missing_from_its_file_is_reported(demo_copy):
    demo_copy.write("customers", demo_copy.read("customers").rename(columns={"ChurnDate": "Cancelled On"}))
    values = demo_copy.values
    values["data"]["tables"]["customers"]["columns"]["churn_date"] = "Cancelled_On"
    values["data"]["tables"]["transactions"]["columns"]["amount"] = "Amt"
    demo_copy.save_config(values)
    surveys = demo_copy.read("surveys")
    surveys.loc[0, "NPS"] = "12"
    demo_copy.write("surveys", surveys)
    message = problems_for(demo_copy)
    assert (
        "customers.churn_date: mapped to column 'Cancelled_On', which customers.csv does not have "
        "(closest: 'Cancelled On'); fix data.tables.customers.columns.churn_date in the config." in message
    )
    assert (
        "transactions.amount: mapped to column 'Amt', which transactions.csv does not have "
        "(closest: 'Amount'); fix data.tables.transactions.columns.amount in the config." in message
    )
    assert "surveys.nps: 1 row" in message
    assert "The input data has 3 problem(s)" in message


def test_derivations_reading_a_missing_column_are_reported(demo_copy):
    values = demo_copy.values
    values["data"]["tables"]["transactions"]["columns"]["amount"] = {"multiply": ["Quantity", "Amount"]}
    demo_copy.save_config(values)
    message = problems_for(demo_copy)
    assert (
        "transactions.amount: mapped to column 'Quantity', which transactions.csv does not have (" in message
    )
    assert "The input data has 1 problem(s)" in message


def test_contractual_churn_needs_a_churn_date_or_flag(demo_copy):
    demo_copy.write("customers", demo_copy.read("customers").drop(columns="ChurnDate"))
    values = demo_copy.values
    del values["data"]["tables"]["customers"]["columns"]["churn_date"]
    demo_copy.save_config(values)
    message = problems_for(demo_copy)
    assert (
        "customers: analysis.churn.definition is contractual, but the customers table has neither churn_date "
        "nor churned; map one of them under data.tables.customers.columns (e.g. churn_date: your cancellation "
        "date column) or set analysis.churn.definition to inactivity." in message
    )
    assert "The input data has 1 problem(s)" in message


# ---- exports shaped like real ones: nested derivations, recoding, row-number ids ---------------------


def snapshot_export(tmp_path, frame: pd.DataFrame, customers: dict, **sections) -> Path:
    """A one-file contractual snapshot (customers only) and its config; returns the config path."""
    frame.to_csv(tmp_path / "customers.csv", index=False)
    values = {
        "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv", **customers}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
        **sections,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def snapshot_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Customers with a tenure in years, a yes/no churn label and two spellings of one payment mode."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "Tenure": rng.integers(0, 10, n) / 2,
            "Exited": rng.choice(["yes", "no"], n),
            "PaymentMode": rng.choice(["COD", "Cash on Delivery", "Card"], n),
        }
    )


def test_a_tenure_in_years_becomes_a_signup_date_through_a_nested_derivation(tmp_path):
    frame = snapshot_frame().assign(CustomerID=[f"C{i}" for i in range(200)])
    years = {"months_before_as_of": {"multiply": ["Tenure", 12]}}
    config = snapshot_export(tmp_path, frame, {"columns": {"churned": "Exited", "signup_date": years}})
    customers = load_data(load_config(config))["customers"]
    as_of = pd.Timestamp("2025-12-31")
    expected = [as_of - pd.DateOffset(months=int(t * 12)) for t in frame["Tenure"]]
    assert customers["signup_date"].tolist() == expected
    assert customers["Tenure"].astype(float).tolist() == frame["Tenure"].tolist()  # still a column


def test_derivations_nest_in_arithmetic(tmp_path):
    raw = pd.DataFrame({"Gross": [10.0, 8.0], "Discount": [2.0, 0.0], "Units": [2, 0]})
    derived = derive_column(raw, {"divide": [{"subtract": ["Gross", "Discount"]}, "Units"]}, "t.x")
    assert derived.iloc[0] == 4.0 and pd.isna(derived.iloc[1])  # a zero divisor gives a missing value
    days = derive_column(raw, {"days_before_as_of": {"add": ["Units", 1]}}, "t.x", "2025-12-31")
    assert days.tolist() == [pd.Timestamp("2025-12-28"), pd.Timestamp("2025-12-30")]
    assert derivation_columns({"add": ["Gross", {"multiply": ["Units", 2]}]}) == ["Gross", "Units"]


def test_a_customers_file_without_an_id_column_gets_row_numbers(tmp_path):
    years = {"months_before_as_of": {"multiply": ["Tenure", 12]}}
    columns = {"churned": "Exited", "signup_date": years}
    config = snapshot_export(tmp_path, snapshot_frame(), {"columns": columns, "id": "row_number"})
    data = load_data(load_config(config))
    assert data["customers"]["customer_id"].tolist() == [str(row) for row in range(2, 202)]
    assert any("customer_id is each row's number in the file (2 to 201" in note for note in data.notes)


def test_recoded_spellings_are_merged_before_validation_and_stated(tmp_path):
    frame = snapshot_frame().assign(Exited=lambda f: f["Exited"].replace({"yes": "Left"}))
    recode = {"PaymentMode": {"COD": "Cash on Delivery"}, "churned": {"Left": "yes"}}
    columns = {"churned": "Exited", "signup_date": {"months_before_as_of": "Tenure"}}
    config = snapshot_export(tmp_path, frame, {"columns": columns, "id": "row_number", "recode": recode})
    data = load_data(load_config(config))
    customers = data["customers"]
    assert set(customers["PaymentMode"]) == {"Cash on Delivery", "Card"}
    assert customers["churned"].sum() == (frame["Exited"] == "Left").sum()  # recoded by its canonical name
    cod = int((frame["PaymentMode"] == "COD").sum())
    assert (
        f"customers.PaymentMode: {cod} values recoded ('COD' read as 'Cash on Delivery': {cod})" in data.notes
    )


def test_recoding_a_column_the_file_lacks_is_a_problem_naming_the_key(tmp_path):
    recode = {"PaymentMod": {"COD": "Cash on Delivery"}}
    columns = {"churned": "Exited", "signup_date": {"months_before_as_of": "Tenure"}}
    config = snapshot_export(
        tmp_path, snapshot_frame(), {"columns": columns, "id": "row_number", "recode": recode}
    )
    with pytest.raises(DataValidationError) as err:
        load_data(load_config(config))
    assert (
        "customers.PaymentMod: recode names a column the file does not have (closest: 'PaymentMode')"
        in str(err.value)
    )


@pytest.mark.parametrize(("unit", "months"), [("years", 12), ("months", 1)])
def test_a_tenure_column_with_its_unit_gives_the_signup_date(tmp_path, unit, months):
    frame = snapshot_frame()
    entry = {
        "columns": {"churned": "Exited"},
        "id": "row_number",
        "tenure": {"column": "Tenure", "unit": unit},
    }
    data = load_data(load_config(snapshot_export(tmp_path, frame, entry)))
    as_of = pd.Timestamp("2025-12-31")
    whole = [int(t * months) for t in frame["Tenure"]]
    rest = [
        pd.Timedelta(days=(t * months - w) * 365.25 / 12) for t, w in zip(frame["Tenure"], whole, strict=True)
    ]
    expected = [as_of - pd.DateOffset(months=w) - r for w, r in zip(whole, rest, strict=True)]
    assert data["customers"]["signup_date"].tolist() == expected
    assert (
        f"customers.signup_date: derived from Tenure ({unit}) counted back from the as-of date" in data.notes
    )


def test_a_tenure_in_weeks_counts_back_days(tmp_path):
    frame = snapshot_frame()
    entry = {
        "columns": {"churned": "Exited"},
        "id": "row_number",
        "tenure": {"column": "Tenure", "unit": "weeks"},
    }
    data = load_data(load_config(snapshot_export(tmp_path, frame, entry)))
    expected = pd.Timestamp("2025-12-31") - pd.to_timedelta(frame["Tenure"] * 7, unit="D")
    assert data["customers"]["signup_date"].tolist() == expected.tolist()
