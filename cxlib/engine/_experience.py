"""The experience study's transaction aggregates computed by the engine from the run's validated data.

:func:`cxlib.experience.experience_study` reads the transaction rows for a few small tables: each
customer's main order channel (the score groups), and per customer the net amount (the referred
customers' spend), the purchases since the friction period's start (checkout abandonment by
group) and the first two purchase dates (the journey's first and repeat purchase), and per
channel the purchases (checkout abandonment by channel, the journey's checkout table). On
millions of rows grouping them in pandas is what costs time and memory; here the orders are
grouped from the validated Parquet file (:func:`cxlib.engine.validated_transactions`) once, into
a temporary table, and a few queries read it, giving the very tables the pandas path builds
(:func:`cxlib.experience.order_channels`, :func:`cxlib.experience.purchase_summary`), so both
paths finish them with the same code. The net amounts are exact decimal sums
(:func:`cxlib.engine.validated_transactions`), the same every run on any number of threads.

Orders are :func:`cxlib.features.purchases` orders; an order's channel is the alphabetically first
of its rows' channels where pandas takes the first row's (they differ only for an order whose rows
carry different channels, as in :mod:`cxlib.engine._overview`).
"""

from __future__ import annotations

import uuid

import ibis
import pandas as pd

from cxlib.engine._features import _frame, as_floats, orders_expr, to_pandas, window_expr
from cxlib.engine._tables import quiet
from cxlib.engine._validated import require_source, rows_are_orders, run_connection, validated_transactions
from cxlib.features._time import end_of_day


def _rows(expr) -> pd.DataFrame:
    """The query's rows through Arrow's own conversion (ibis' column by column is slower on ids)."""
    with quiet():
        table = as_floats(expr).to_pyarrow()
    return _frame(table.to_pandas(coerce_temporal_nanoseconds=True))


def _transactions(data, con):
    require_source(data)
    return validated_transactions(con, data.source)


def order_channels_from_validated(data, con=None) -> pd.Series | None:
    """Each customer's most frequent channel of purchase rows (ties: the alphabetically first).

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source` whose transactions have a channel.
    con : ibis.BaseBackend, optional

    Returns
    -------
    Series or None
        Channel by customer id (customers with a sale row of known channel), as
        :func:`cxlib.experience.order_channels` gives it; None when the transactions have no
        channel.
    """
    con = con or run_connection()
    tx = _transactions(data, con)
    if "channel" not in tx.columns:
        return None
    rows = tx.filter(~tx["is_refund"] & tx["channel"].notnull())
    counts = rows.group_by(["customer_id", "channel"]).aggregate(n=rows.count())
    rank = ibis.row_number().over(
        group_by=counts["customer_id"], order_by=[ibis.desc(counts["n"]), counts["channel"]]
    )
    top = counts.mutate(rank=rank).filter(lambda t: t["rank"] == 0).select("customer_id", "channel")
    table = _rows(top)
    return table.set_index("customer_id")["channel"].sort_index()


def purchase_summary_from_validated(data, start=None, con=None) -> dict:
    """Each customer's net amount, purchases and first two purchase dates; purchases per channel.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    start : Timestamp, optional
        ``since`` counts the purchases dated from ``start`` on (None: all).
    con : ibis.BaseBackend, optional

    Returns
    -------
    dict
        ``customers``, ``channels`` and ``has_channel`` as :func:`cxlib.experience.purchase_summary`
        gives them (``net`` summed per customer here, so equal to pandas' within rounding).
    """
    con = con or run_connection()
    tx = _transactions(data, con)
    orders = orders_expr(window_expr(tx, end_of_day(data.as_of)), rows_are_orders(data.source))
    has_channel = "channel" in orders.columns
    if not has_channel:
        orders = orders.mutate(channel=ibis.null("string"))
    # the orders are grouped from the rows once, into a temporary table the queries read
    name = f"cx_orders_{uuid.uuid4().hex}"
    keep = ("customer_id", "channel", "order_date", "is_refund", "amount")
    with quiet():
        orders = con.create_table(name, orders.select(*keep), temp=True)
    try:
        purchase = ~orders["is_refund"] & (orders["amount"] > 0)
        if start is None:
            recent = ibis.literal(True)
        else:
            recent = orders["order_date"] >= pd.Timestamp(start).to_pydatetime()
        bought = orders.filter(purchase).mutate(recent=recent)
        channels = bought.group_by("channel").aggregate(
            purchases=bought.count(), since=bought.count(where=bought["recent"])
        )
        channels = _frame(to_pandas(channels))
        # the second purchase: the earliest after the first, or the first's date when two
        # purchases share it (a join on the first date rather than a sort of every customer's)
        first = bought.group_by("customer_id").aggregate(first=bought["order_date"].min())
        first = first.rename(buyer="customer_id")
        both = orders.mutate(purchase=purchase, recent=recent)
        both = both.left_join(first, both["customer_id"] == first["buyer"])
        dated = both["order_date"]
        per = both.group_by("customer_id").aggregate(
            net=both["amount"].sum(),
            purchases=both.count(where=both["purchase"]),
            since=both.count(where=both["purchase"] & both["recent"]),
            first=both["first"].min(),
            ties=both.count(where=both["purchase"] & (dated == both["first"])),
            later=dated.min(where=both["purchase"] & (dated > both["first"])),
        )
        customers = _rows(per)
    finally:
        con.raw_sql(f"DROP TABLE IF EXISTS {name}")  # ibis drop_table misquotes it here
    customers["second"] = customers["first"].where(customers["ties"] > 1, customers["later"])
    customers = customers.sort_values("customer_id").reset_index(drop=True)
    customers = customers[["customer_id", "net", "purchases", "since", "first", "second"]]
    customers = customers.astype({"purchases": "int64", "since": "int64", "net": "float64"})
    channels = channels.sort_values("channel", na_position="last").reset_index(drop=True)
    channels = channels[["channel", "purchases", "since"]].astype({"purchases": "int64", "since": "int64"})
    return {"customers": customers, "channels": channels, "has_channel": has_channel}
