"""The data overview's transaction figures computed by the engine from the run's validated data.

:mod:`cxlib.overview` builds its KPI, monthly and channel tables from a few aggregates of the
transaction rows: on millions of rows these are what cost time and memory in pandas. Here each is
one query over the validated Parquet file (:func:`cxlib.engine.validated_transactions`), giving
the very Series the pandas path groups, so both paths assemble their tables with the same code.

Orders are :func:`cxlib.features.purchases` orders (rows of one order id of one customer, a row
without an id being its own order, dated by its first row, counted when worth more than zero);
an order's channel is the alphabetically first of its rows' channels where pandas takes the first
row's (they differ only for an order whose rows carry different channels).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

from cxlib.engine._features import _frame, orders_expr, to_pandas
from cxlib.engine._tables import EngineUnsupported, quiet
from cxlib.engine._validated import require_source, rows_are_orders, run_connection, validated_transactions
from cxlib.features._time import YEAR_DAYS, end_of_day


def _transactions(data, con):
    require_source(data)
    return validated_transactions(con, data.source)


def _series(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    return frame.set_index(key)[value].sort_index().rename_axis(key)


def kpi_aggregates(data, active_days: int, con=None) -> dict:
    """The last year's transaction aggregates behind the headline KPIs.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    active_days : int
        A customer with a purchase row in this many days before the as-of date is active.
    con : ibis.BaseBackend, optional

    Returns
    -------
    dict
        ``active`` (customers with a sale row in the last ``active_days``), ``revenue`` (net
        amount of the last year), ``per_customer`` (each customer's net amount of the last year,
        only those above zero, by customer id) and ``orders`` (each buyer's orders of the last
        year: sale rows only, orders worth more than zero, by customer id).
    """
    con = con or run_connection()
    tx = _transactions(data, con)
    end = end_of_day(data.as_of)
    last_year = tx.filter(
        (tx["order_date"] < end.to_pydatetime())
        & (tx["order_date"] >= (end - pd.Timedelta(days=YEAR_DAYS)).to_pydatetime())
    )
    sales = last_year.filter(~last_year["is_refund"])
    recent = sales["order_date"] >= (end - pd.Timedelta(days=active_days)).to_pydatetime()
    totals = to_pandas(
        sales.aggregate(active=sales["customer_id"].nunique(where=recent)).cross_join(
            last_year.aggregate(revenue=last_year["amount"].sum())
        )
    )
    per_customer = _frame(
        to_pandas(last_year.group_by("customer_id").aggregate(net=last_year["amount"].sum()))
    )
    per_customer = _series(per_customer, "customer_id", "net")
    orders = orders_expr(sales, rows_are_orders(data.source))
    orders = orders.filter(orders["amount"] > 0)
    counts = orders.group_by("customer_id").aggregate(n=orders.count())
    counts = _series(_frame(to_pandas(counts)), "customer_id", "n").astype("int64")
    revenue = totals["revenue"].iloc[0]
    return {
        "active": int(totals["active"].iloc[0]),
        "revenue": 0.0 if pd.isna(revenue) else float(revenue),
        "per_customer": per_customer[per_customer > 0],
        "orders": counts,
    }


def monthly_aggregates(data, con=None) -> dict:
    """Per calendar month: net amount (all rows), orders (by their first row's month), buyers.

    Returns
    -------
    dict
        ``net``, ``orders`` and ``buyers`` Series indexed by ``month`` (first day of the month),
        and ``latest`` (the latest transaction time).
    """
    con = con or run_connection()
    tx = _transactions(data, con)
    month = tx["order_date"].truncate("M")
    rows = tx.mutate(month=month)
    net = rows.group_by("month").aggregate(net=rows["amount"].sum(), latest=rows["order_date"].max())
    sales = rows.filter(~rows["is_refund"])
    buyers = sales.group_by("month").aggregate(buyers=sales["customer_id"].nunique())
    orders = orders_expr(sales, rows_are_orders(data.source))
    orders = orders.filter(orders["amount"] > 0)
    orders = orders.mutate(month=orders["order_date"].truncate("M"))
    per_month = orders.group_by("month").aggregate(orders=orders.count())
    net, buyers, per_month = (_frame(to_pandas(x)) for x in (net, buyers, per_month))
    return {
        "net": _series(net, "month", "net"),
        "orders": _series(per_month, "month", "orders").astype("int64"),
        "buyers": _series(buyers, "month", "buyers").astype("int64"),
        "latest": net["latest"].max(),
    }


def channel_aggregates(data, min_group_size: int, con=None) -> dict | None:
    """The last year's orders, buyers, net and gross amounts per order channel.

    Returns
    -------
    dict or None
        ``orders``, ``customers`` (buyers), ``net`` (all rows) and ``gross`` (sale rows) Series
        indexed by ``channel`` (a missing channel reads ``unknown``); None when a channel has
        fewer than ``min_group_size`` customers, whose pooling the pandas path does.
    """
    con = con or run_connection()
    tx = _transactions(data, con)
    end = end_of_day(data.as_of)
    window = tx.filter(
        (tx["order_date"] < end.to_pydatetime())
        & (tx["order_date"] >= (end - pd.Timedelta(days=YEAR_DAYS)).to_pydatetime())
    )
    channel = window["channel"].fill_null("unknown") if "channel" in window.columns else ibis.literal("all")
    window = window.mutate(channel=channel)
    sizes = _frame(to_pandas(window.group_by("channel").aggregate(n=window["customer_id"].nunique())))
    if (sizes["n"] < min_group_size).any():
        return None
    per_channel = window.group_by("channel").aggregate(net=window["amount"].sum())
    sales = window.filter(~window["is_refund"])
    buyers = sales.group_by("channel").aggregate(
        customers=sales["customer_id"].nunique(), gross=sales["amount"].sum()
    )
    orders = orders_expr(sales, rows_are_orders(data.source))
    orders = orders.filter(orders["amount"] > 0)
    orders = orders.group_by("channel").aggregate(orders=orders.count())
    per_channel, buyers, orders = (_frame(to_pandas(x)) for x in (per_channel, buyers, orders))
    return {
        "orders": _series(orders, "channel", "orders").astype("int64"),
        "customers": _series(buyers, "channel", "customers").astype("int64"),
        "net": _series(per_channel, "channel", "net"),
        "gross": _series(buyers, "channel", "gross"),
    }


def table_health(data, name: str, date_column: str, con=None) -> dict:
    """Rows, customers, date range, columns and share of missing cells of one saved table.

    Returns
    -------
    dict
        As one row of :func:`cxlib.overview.data_health`.
    """
    require_source(data)
    path = Path(data.source) / f"{name}.parquet"
    if not path.is_file():
        raise EngineUnsupported(f"no Parquet copy of the validated {name}")
    con = con or run_connection()
    with quiet():
        table = con.read_parquet(str(path))
    columns = [c for c in table.columns if not c.startswith("__index_level")]
    id_column = "customer_id" if "customer_id" in columns else "referrer_id"
    counted = [c for c in columns if c != "churn_date"]
    metrics = {
        "rows": table.count(),
        "customers": table[id_column].nunique(),
        "first_date": table[date_column].min(),
        "last_date": table[date_column].max(),
    }
    for i, column in enumerate(counted):
        metrics[f"missing_{i}"] = table[column].isnull().sum()
    row = to_pandas(table.aggregate(**metrics)).iloc[0]
    rows = int(row["rows"])
    missing = sum(int(row[f"missing_{i}"]) for i in range(len(counted)))
    return {
        "table": name,
        "rows": rows,
        "customers": int(row["customers"]),
        "first_date": pd.Timestamp(row["first_date"]).date(),
        "last_date": pd.Timestamp(row["last_date"]).date(),
        "columns": len(columns),
        "missing_cells": float(missing / (rows * len(counted))) if rows and counted else float("nan"),
    }
