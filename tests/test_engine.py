"""The DuckDB engine (cxlib.engine) gives the per-customer tables of cxlib.features, column by column.

Three references: the pandas feature functions on the small demo (read from CSV, and from Parquet
copies of the same files), an independent plain-pandas computation written here from the raw files,
and hand-made tiny files whose edge cases (rows without an order id, multi-line orders, refunds,
zero-value orders, excluded rows, exact duplicates, records after the cut-off) have known answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from cxlib.data._config import config_from_dict
from cxlib.data._load import CustomerData
from cxlib.engine import (
    ENGINES,
    EngineUnsupported,
    connect,
    customer_ids,
    engine_from_config,
    friction_table,
    transaction_features,
)
from cxlib.exceptions import ConfigError
from cxlib.features import DAYS_PER_MONTH, customer_features, end_of_day, friction_features
from tests.conftest import SMALL_CONFIG

CUTOFF = pd.Timestamp("2025-07-01")
#: Empty CSV fields become missing values in the Parquet copies (pyarrow keeps them as "" by default).
NULLS = pacsv.ConvertOptions(strings_can_be_null=True)


@pytest.fixture(scope="module")
def con():
    return connect()


@pytest.fixture(scope="module")
def profile(small_data):
    return customer_features(small_data)


@pytest.fixture(scope="module")
def engine_csv(small_config, con):
    return transaction_features(small_config, con=con)


def _config_for(folder, suffix: str, tables=("customers", "transactions", "interactions")):
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw["data"]["dir"] = str(folder)
    raw["data"]["tables"] = {name: raw["data"]["tables"][name] for name in tables}
    for name in tables:
        raw["data"]["tables"][name]["path"] = f"{name}.{suffix}"
    return config_from_dict(raw, base_dir=folder)


def parquet_copy(demo_dir, folder):
    """Parquet copies of the demo files, with the types pyarrow infers (dates, numbers, text)."""
    for name in ("customers", "transactions", "interactions"):
        table = pacsv.read_csv(demo_dir / f"{name}.csv", convert_options=NULLS)
        pq.write_table(table, folder / f"{name}.parquet")
    return _config_for(folder, "parquet")


@pytest.fixture(scope="module")
def parquet_config(small_demo_dir, tmp_path_factory):
    return parquet_copy(small_demo_dir, tmp_path_factory.mktemp("parquet"))


def test_transaction_features_equal_the_pandas_profile_column_by_column(engine_csv, profile):
    expected = [c for c in profile.columns if c in engine_csv.columns]  # the pandas order
    assert list(engine_csv.columns) == expected
    assert {"recency_days", "rfm_segment", "purchase_interval_days", "share_web"} <= set(expected)
    assert engine_csv.index.equals(profile.index) and engine_csv.index.name == "customer_id"
    for column in expected:
        got, want = engine_csv[column], profile[column]
        assert got.dtype == want.dtype, column
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=column)
        else:
            pd.testing.assert_series_equal(got, want, check_exact=True, obj=column)


def test_parquet_input_gives_the_same_table_as_csv(parquet_config, engine_csv, con):
    pd.testing.assert_frame_equal(transaction_features(parquet_config, con=con), engine_csv)


def test_demo_orders_have_one_channel_each(small_data):
    """The one known difference (an order over several channels) cannot arise in the demo."""
    tx = small_data["transactions"]
    assert (tx.dropna(subset=["channel"]).groupby("order_id")["channel"].nunique() <= 1).all()


@pytest.mark.parametrize("at", [CUTOFF, end_of_day("2025-12-31")])
def test_friction_equals_pandas(small_data, small_config, con, at):
    want = friction_features(small_data, at)
    got = friction_table(small_config, at, con=con)
    assert list(got.columns) == list(want.columns)
    assert want["complaints"].sum() > 0 and want["long_wait"].sum() > 0
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-9)


def test_friction_from_parquet_equals_csv(parquet_config, small_config, con):
    pd.testing.assert_frame_equal(
        friction_table(parquet_config, CUTOFF, con=con), friction_table(small_config, CUTOFF, con=con)
    )


def test_features_equal_a_plain_pandas_computation_from_the_raw_files(small_demo_dir, engine_csv):
    """Written from the file and the definitions, without cxlib: exact duplicate rows dropped, orders
    worth more than zero, net spend, whole days, channel shares of purchases."""
    tx = pd.read_csv(small_demo_dir / "transactions.csv", parse_dates=["OrderDate"]).drop_duplicates()
    tx = tx.loc[tx["OrderDate"] < pd.Timestamp("2026-01-01")]
    refund = tx["Type"] == "refund"
    tx["signed"] = np.where(refund, -tx["Amount"].abs(), tx["Amount"])
    orders = (
        tx.loc[~refund]
        .groupby("OrderID")
        .agg(
            cid=("CustomerID", "first"),
            day=("OrderDate", "min"),
            amount=("Amount", "sum"),
            channel=("Channel", "first"),
        )
    )
    orders = orders.loc[orders["amount"] > 0]
    per = orders.groupby("cid").agg(
        n=("amount", "size"), gross=("amount", "sum"), first=("day", "min"), last=("day", "max")
    )
    got = engine_csv.loc[per.index]
    assert (got["frequency"].to_numpy() == per["n"].to_numpy()).all()
    np.testing.assert_allclose(got["avg_order_value"], per["gross"] / per["n"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        got["recency_days"], (pd.Timestamp("2025-12-31") - per["last"]).dt.days, atol=0
    )
    interval = ((per["last"] - per["first"]).dt.days / (per["n"] - 1)).where(per["n"] > 1)
    np.testing.assert_allclose(got["purchase_interval_days"], interval, rtol=0, atol=1e-9)
    net = tx.groupby("CustomerID")["signed"].sum()
    np.testing.assert_allclose(
        engine_csv["monetary"], net.reindex(engine_csv.index).fillna(0), rtol=0, atol=1e-9
    )
    known = orders.dropna(subset=["channel"])  # shares among purchases with a known channel
    web = known.assign(web=known["channel"] == "web").groupby("cid")["web"].mean()
    np.testing.assert_allclose(got["share_web"], web.reindex(per.index), rtol=0, atol=1e-12)
    nobody = engine_csv.loc[~engine_csv.index.isin(per.index)]
    assert len(nobody) > 0 and (nobody["frequency"] == 0).all() and nobody["recency_days"].isna().all()
    assert (nobody["rfm_segment"] == "No purchase").all()


# Hand-made files: a has a two-line order (web), a line without an order id, a refund of part of an
# order, and a line after the analysis date; b a zero-value order and an excluded line; c nothing.
TINY_CUSTOMERS = "CustomerID,SignupDate\na,2024-01-01\nb,2024-06-30\nc,2025-06-01\n"
TINY_TRANSACTIONS = (
    "OrderID,CustomerID,OrderDate,Amount,Channel,Type,Sku\n"
    "o1,a,2025-01-01,10.0,web,sale,x\n"
    "o1,a,2025-01-01,30.0,web,sale,y\n"
    ",a,2025-03-01,20.0,store,sale,x\n"
    "o1,a,2025-03-05,12.0,web,refund,x\n"
    "o9,a,2026-01-01,99.0,web,sale,x\n"
    "o2,b,2025-02-01,0.0,NA,sale,x\n"
    "o3,b,2025-05-01,50.0,app,sale,x\n"
    "o3,b,2025-05-01,50.0,app,sale,x\n"
    "o4,b,2025-06-01,70.0, app,sale,POST\n"
)
TINY_INTERACTIONS = (
    "CustomerID,Timestamp,Kind,Resolved,WaitMinutes\n"
    "a,2024-03-01 10:00:00,complaint,no,\n"
    "a,2025-06-01 10:00:00,Support_Contact,,25\n"
    "b,2025-06-30 23:59:59,complaint,yes,5\n"
    "b,2025-07-01 00:00:00,complaint,no,50\n"
    "c,2025-06-15 09:00:00,cart_abandoned,,\n"
)


def _tiny_data() -> CustomerData:
    """The tiny files as loading would make them (by hand: loading refuses three customers)."""
    day = pd.Timestamp
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": [day("2024-01-01"), day("2024-06-30"), day("2025-06-01")],
        }
    )
    rows = [  # the duplicated o3 line dropped, the refund signed, " app" read as "app", NA missing
        ("o1", "a", "2025-01-01", 10.0, "web", False, "x"),
        ("o1", "a", "2025-01-01", 30.0, "web", False, "y"),
        (None, "a", "2025-03-01", 20.0, "store", False, "x"),
        ("o1", "a", "2025-03-05", -12.0, "web", True, "x"),
        ("o9", "a", "2026-01-01", 99.0, "web", False, "x"),
        ("o2", "b", "2025-02-01", 0.0, None, False, "x"),
        ("o3", "b", "2025-05-01", 50.0, "app", False, "x"),
        ("o4", "b", "2025-06-01", 70.0, "app", False, "POST"),
    ]
    tx = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "order_date", "amount", "channel", "is_refund", "Sku"]
    )
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "timestamp": pd.to_datetime(
                [
                    "2024-03-01 10:00:00",
                    "2025-06-01 10:00:00",
                    "2025-06-30 23:59:59",
                    "2025-07-01 00:00:00",
                    "2025-06-15 09:00:00",
                ]
            ),
            "kind": ["complaint", "Support_Contact", "complaint", "complaint", "cart_abandoned"],
            "resolved": pd.array([False, None, True, False, None], dtype="boolean"),
            "wait_minutes": [np.nan, 25.0, 5.0, 50.0, np.nan],
        }
    )
    tables = {"customers": customers, "transactions": tx, "interactions": events}
    return CustomerData(tables=tables, as_of=pd.Timestamp("2025-12-31"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_config(tmp_path_factory.mktemp("tiny"))


def tiny_config(folder):
    """The tiny files written to ``folder``, and their config."""
    (folder / "customers.csv").write_text(TINY_CUSTOMERS)
    (folder / "transactions.csv").write_text(TINY_TRANSACTIONS)
    (folder / "interactions.csv").write_text(TINY_INTERACTIONS)
    given = {
        "data": {
            "dir": str(folder),
            "tables": {
                "customers": {"path": "customers.csv"},
                "transactions": {
                    "path": "transactions.csv",
                    "columns": {"is_refund": "Type"},
                    "true_values": {"is_refund": ["refund"]},
                },
                "interactions": {"path": "interactions.csv"},
            },
        },
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "inactivity"}},
    }
    return config_from_dict(given, base_dir=folder)


def test_tiny_files_give_the_known_answers_and_equal_pandas(tiny, con):
    exclude = {"Sku": ["POST"]}
    got = transaction_features(tiny, exclude=exclude, con=con)
    # a: order o1 (2 lines, 40) and the id-less line (20) are purchases; the refund nets 12 off
    assert got.loc["a", "frequency"] == 2 and got.loc["a", "monetary"] == pytest.approx(48.0)
    assert got.loc["a", "avg_order_value"] == pytest.approx(30.0)
    assert got.loc["a", "lines_per_order"] == pytest.approx(1.5)
    assert got.loc["a", "refunded_amount_share"] == pytest.approx(12 / 60)
    assert got.loc["a", "purchase_interval_days"] == 59 and got.loc["a", "recency_days"] == 305
    assert got.loc["a", "share_web"] == 0.5 and got.loc["a", "share_store"] == 0.5
    # b: the zero order is no purchase, the duplicate line goes, the POST line is excluded
    assert got.loc["b", "frequency"] == 1 and got.loc["b", "monetary"] == pytest.approx(50.0)
    assert got.loc["b", "share_app"] == 1.0
    assert got.loc["c", "frequency"] == 0 and got.loc["c", "rfm_segment"] == "No purchase"
    want = customer_features(_tiny_data(), exclude=exclude, churn_definition="inactivity")
    pd.testing.assert_frame_equal(got, want[list(got.columns)], check_exact=False, rtol=0, atol=1e-9)


def test_tiny_friction_known_answers_and_equal_pandas(tiny, con):
    got = friction_table(tiny, CUTOFF, long_wait_minutes=20, con=con).set_index("customer_id")
    assert got.loc["a", "complaints"] == 1 and got.loc["a", "unresolved_complaint"] == 1
    assert got.loc["a", "support_contacts"] == pytest.approx(1 / 12)  # kinds read case-blind
    assert got.loc["a", "long_wait"] == 1
    assert (
        got.loc["b", "complaints"] == 1 and got.loc["b", "unresolved_complaint"] == 0
    )  # 2nd is at the cut-off
    assert got.loc["b", "long_wait"] == 0
    months_c = (CUTOFF - pd.Timestamp("2025-06-01")).days / DAYS_PER_MONTH
    assert got.loc["c", "cart_abandonments"] == pytest.approx(1 / months_c)
    want = friction_features(_tiny_data(), CUTOFF).set_index("customer_id")
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-12)


def test_engine_is_a_config_choice_with_the_embedded_engine_by_default(small_config, tiny):
    assert ENGINES == ("pandas", "duckdb", "spark")
    assert engine_from_config(small_config) == "duckdb"
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw["data"]["engine"] = "pandas"
    assert engine_from_config(config_from_dict(raw)) == "pandas"
    raw["data"]["engine"] = "polars"
    with pytest.raises(ConfigError, match="data.engine.*one of pandas, duckdb, spark"):
        config_from_dict(raw)


def test_customers_come_back_in_file_order_from_a_large_file(tmp_path, con):
    """DuckDB reads a CSV over 8 MB in parallel and a projection with an IN list (made a join) then
    returns its rows out of order: the ids must still come back in file order, as loading keeps them."""
    ids = [f"C{i:06d}" for i in np.random.default_rng(1).permutation(60_000)]
    frame = pd.DataFrame({"CustomerID": ids, "SignupDate": "2024-01-01", "Note": "x" * 120})
    frame.to_csv(tmp_path / "customers.csv", index=False)  # 8.4 MB
    given = {
        "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv"}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    config = config_from_dict(given, base_dir=tmp_path)
    assert customer_ids(config, con).tolist() == ids
    assert friction_table(config, CUTOFF, con=con)["customer_id"].tolist() == ids


def test_dates_the_engine_cannot_read_are_refused_not_dropped(tmp_path, con):
    (tmp_path / "customers.csv").write_text("CustomerID,SignupDate\na,31/01/2024\nb,15/02/2024\n")
    given = {
        "data": {"dir": str(tmp_path), "tables": {"customers": {"path": "customers.csv"}}},
        "analysis": {"as_of": "2025-12-31", "churn": {"definition": "contractual"}},
    }
    with pytest.raises(EngineUnsupported, match="customers.signup_date: dates the engine does not read"):
        customer_ids(config_from_dict(given, base_dir=tmp_path), con)
    given["data"]["tables"]["customers"]["date_format"] = "%d/%m/%Y"
    config = config_from_dict(given, base_dir=tmp_path)
    assert customer_ids(config, con).tolist() == ["a", "b"]
    # read day first, as dates without a zone like every canonical date: only a signed up before
    assert friction_table(config, pd.Timestamp("2024-02-01"), con=con)["customer_id"].tolist() == ["a"]


def test_without_an_as_of_the_latest_transaction_day_is_the_analysis_date(tiny, small_config, con):
    from cxlib.engine import analysis_date

    assert analysis_date(small_config) == pd.Timestamp("2025-12-31")
    values = {**tiny.values, "analysis": {**tiny.values["analysis"], "as_of": None}}
    assert analysis_date(config_from_dict(values, base_dir=tiny.base_dir), con=con) == pd.Timestamp(
        "2026-01-01"
    )
