"""Features from the input files skip the DISTINCT (and the grouping by order) when the check allows.

:func:`cxlib.engine.transactions_as_orders` checks in one query that every transaction row has an
order id and either no two rows share a customer, order id and kind ("rows": no DISTINCT, no
grouping) or the rows sharing one are exact duplicates ("duplicates": one grouping by order, no
DISTINCT). The tables must be those of the full path: the small demo with its planted duplicate
rows removed ("rows") against the demo with them ("duplicates"), from CSV and Parquet, with
exclusions; a second distinct line of an order, line-level Online Retail and data without order
ids take the full path and still equal the pandas reference.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from cxlib.data._config import config_from_dict
from cxlib.engine import connect, transaction_features
from cxlib.engine._tables import transactions_as_orders
from tests.conftest import SMALL_CONFIG, SMALL_DEMO

TABLES = ("customers", "transactions", "interactions")


def _config(folder, suffix="csv", extra=None):
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw["data"]["dir"] = str(folder)
    raw["data"]["tables"] = {name: raw["data"]["tables"][name] for name in TABLES}
    for name in TABLES:
        raw["data"]["tables"][name]["path"] = f"{name}.{suffix}"
    for key, value in (extra or {}).items():
        raw["data"]["tables"]["transactions"][key] = value
    return config_from_dict(raw, base_dir=folder)


@pytest.fixture(scope="module")
def con():
    return connect()


@pytest.fixture(scope="module")
def unique_demo(small_demo_dir, tmp_path_factory):
    """The small demo with its exact duplicate transaction rows removed, as CSV and Parquet."""
    folder = tmp_path_factory.mktemp("unique")
    for name in TABLES:
        frame = pd.read_csv(small_demo_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "transactions":
            assert frame.duplicated().any()  # the demo plants duplicates: the full path drops them
            frame = frame.drop_duplicates()
        frame.to_csv(folder / f"{name}.csv", index=False)
        table = pacsv.read_csv(
            folder / f"{name}.csv", convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
        )
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def test_the_check_finds_rows_that_are_orders_and_exact_duplicates(unique_demo, small_config, con):
    table, shape, channels = transactions_as_orders(con, _config(unique_demo))
    assert shape == "rows" and channels == ["app", "store", "web"]
    assert "row_key" in table.columns and "__whole_row" not in table.columns
    # the demo's planted duplicates: a key's rows are exact copies, grouped once without DISTINCT
    assert transactions_as_orders(con, small_config)[1:] == ("duplicates", ["app", "store", "web"])


def test_a_second_distinct_line_of_an_order_takes_the_full_path(unique_demo, tmp_path, con):
    """A key shared by two different rows (two lines) beside exact duplicates: DISTINCT and grouping."""
    from cxlib.data import load_data
    from cxlib.features import customer_features

    for name in TABLES:
        (tmp_path / f"{name}.csv").write_bytes((unique_demo / f"{name}.csv").read_bytes())
    rows = pd.read_csv(unique_demo / "transactions.csv", dtype=str, keep_default_na=False)
    line = rows.iloc[[5]].assign(Amount="1.25")  # a second line of order 5 (same key, other amount)
    rows = pd.concat([rows, line, rows.iloc[[9, 9]]], ignore_index=True)  # and an exact duplicate
    rows.to_csv(tmp_path / "transactions.csv", index=False)
    config = _config(tmp_path)
    assert transactions_as_orders(con, config)[1:] == (None, None)
    want = customer_features(load_data(config))
    got = transaction_features(config, con=con)
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=False, rtol=0, atol=1e-9)


def test_input_files_with_duplicates_ignore_a_rows_are_orders_flag(small_config, con):
    """``rows_are_orders`` describes de-duplicated (validated) data: the input files, which still
    hold the demo's exact copies, group them first whatever the flag says (each copy counted once)."""
    want = transaction_features(small_config, con=con)
    got = transaction_features(small_config, con=con, rows_are_orders=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("exclude", [None, {"Channel": ["web"]}, {"Channel": ["web", "store"]}])
def test_fast_path_equals_the_full_path(unique_demo, small_config, con, suffix, exclude):
    config = _config(unique_demo, suffix)
    got = transaction_features(config, exclude=exclude, con=con)
    # the files with their duplicate rows: grouped once by order (the "duplicates" shape)
    want = transaction_features(small_config, exclude=exclude, con=con)
    assert got["frequency"].sum() > 0
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-9)
    if exclude and len(exclude["Channel"]) == 2:  # one channel left: no mix
        assert not any(c.startswith("share_") for c in got.columns)


def test_online_retail_lines_are_grouped_and_equal_pandas(tmp_path, con):
    """Line-level data: many rows per invoice, so the check says no and orders are grouped."""
    from cxlib.data import load_data
    from cxlib.features import customer_features

    rows = pd.read_csv("data/online_retail/onlineretail.csv.gz", encoding="latin-1", dtype=str).dropna(
        subset=["CustomerID"]
    )
    rows["Amount"] = (rows["Quantity"].astype(float) * rows["UnitPrice"].astype(float)).round(4)
    rows["Type"] = rows["InvoiceNo"].str.startswith("C").map({True: "refund", False: "sale"})
    rows.to_csv(tmp_path / "transactions.csv", index=False)
    raw = {
        "data": {
            "dir": str(tmp_path),
            "tables": {
                "customers": {"from_transactions": True},
                "transactions": {
                    "path": "transactions.csv",
                    "columns": {
                        "order_id": "InvoiceNo",
                        "order_date": "InvoiceDate",
                        "amount": "Amount",
                        "customer_id": "CustomerID",
                        "is_refund": "Type",
                    },
                    "true_values": {"is_refund": ["refund"]},
                },
            },
        },
        "analysis": {"as_of": "2011-12-09", "churn": {"definition": "inactivity", "inactivity_days": 180}},
    }
    config = config_from_dict(raw, base_dir=tmp_path)
    assert transactions_as_orders(con, config)[1] is None
    data = load_data(config)
    want = customer_features(data)
    got = transaction_features(config, con=con, customers=pd.Index(data["customers"]["customer_id"]))
    assert "lines_per_order" in got and got["frequency"].gt(1).any()
    columns = [c for c in got.columns if c in want.columns]
    pd.testing.assert_frame_equal(
        got[columns], want[columns], check_exact=False, rtol=0, atol=1e-9, check_index_type=False
    )


def test_the_demo_path_is_unchanged_without_order_ids(tmp_path, con):
    """No order id column: every row is its own order, duplicates dropped (the full path)."""
    frame = pd.read_csv(SMALL_DEMO / "transactions.csv", dtype=str).drop(columns="OrderID")
    for name in ("customers", "interactions"):
        (tmp_path / f"{name}.csv").write_bytes((SMALL_DEMO / f"{name}.csv").read_bytes())
    frame.to_csv(tmp_path / "transactions.csv", index=False)
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw["data"]["dir"] = str(tmp_path)
    raw["data"]["tables"] = {name: raw["data"]["tables"][name] for name in TABLES}
    raw["data"]["tables"]["transactions"]["columns"].pop("order_id")
    config = config_from_dict(raw, base_dir=tmp_path)
    assert transactions_as_orders(con, config)[1] is None
    assert transaction_features(config, con=con)["frequency"].sum() > 0
