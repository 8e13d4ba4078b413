"""What the experience study reads from the transactions: main order channel, purchase counts.

Three small tables carry everything the study needs from the transaction rows, so the rows are
grouped once and never copied (on millions of rows that is what costs time and memory):

- :func:`order_channels`: each customer's most frequent channel of purchase (the score groups);
- :func:`purchase_summary`: purchases up to the analysis date per customer and channel (checkout
  abandonment in the friction KPIs and the journey's checkout table) and each customer's first
  two purchase dates (the journey's first and repeat purchase).

Each is computed in pandas (the reference) or, with ``data.engine`` other than pandas and data
read from a run's validated Parquet files, by the engine (:mod:`cxlib.engine._experience`); the
two give the same tables (``tests/test_engine_features.py``) except the documented channel of an
order whose rows carry different channels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.features._purchases import purchases, window_transactions


def _engine_reads(data, engine: str) -> bool:
    return engine != "pandas" and getattr(data, "source", None) is not None


def order_channels(data, engine: str = "pandas") -> pd.Series | None:
    """Each customer's most frequent channel of purchase rows; ties go to the alphabetically first.

    Parameters
    ----------
    data : CustomerData
        Refund rows and rows without a channel are not counted.
    engine : str
        ``data.engine``: the engine computes it from the run's validated Parquet files when the
        data have them.

    Returns
    -------
    Series or None
        Channel by customer id, sorted by id (customers with a counted row only); None when the
        data have no transactions with a channel.
    """
    if not data.has("transactions"):
        return None
    if _engine_reads(data, engine):
        from cxlib.engine._experience import order_channels_from_validated
        from cxlib.engine._tables import EngineUnsupported

        try:
            return order_channels_from_validated(data)
        except EngineUnsupported:
            pass
    if "channel" not in data["transactions"].columns:
        return None
    orders = data["transactions"]
    if "is_refund" in orders:
        orders = orders[~orders["is_refund"].fillna(False).astype(bool)]
    counts = (
        orders.dropna(subset=["channel"]).groupby(["customer_id", "channel"]).size().reset_index(name="n")
    )
    counts = counts.sort_values(["customer_id", "n", "channel"], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates("customer_id").set_index("customer_id")["channel"].sort_index()


def purchase_summary(data, start=None, engine: str = "pandas") -> dict | None:
    """Each customer's net amount, purchases and first two purchase dates; purchases per channel.

    Purchases are :func:`cxlib.features.purchases` orders (sale rows of an order worth more than
    zero); everything is counted over the transactions dated up to the end of the analysis day.

    Parameters
    ----------
    data : CustomerData
    start : Timestamp, optional
        ``since`` counts the purchases dated from ``start`` on (None: all of them).
    engine : str
        ``data.engine`` (see :func:`order_channels`).

    Returns
    -------
    dict or None
        ``customers``: one row per customer with a transaction, sorted by ``customer_id``:
        ``net`` (net amount of every row: the RFM ``monetary`` of
        :func:`cxlib.features.customer_features`), ``purchases``, ``since``, ``first`` and
        ``second`` (dates of the first and second purchase, missing without one);
        ``channels``: ``channel`` (missing for orders without one; sorted, missing last),
        ``purchases`` and ``since``; ``has_channel`` (whether the transactions have a channel
        column) and ``start``. None without transactions.
    """
    if not data.has("transactions"):
        return None
    if _engine_reads(data, engine):
        from cxlib.engine._experience import purchase_summary_from_validated
        from cxlib.engine._tables import EngineUnsupported

        try:
            return purchase_summary_from_validated(data, start) | {"start": start}
        except EngineUnsupported:
            pass
    window = window_transactions(data["transactions"], data.as_of)
    net = window.groupby("customer_id", sort=True)["amount"].sum()  # as the RFM monetary value
    bought = purchases(window)
    del window
    has_channel = "channel" in bought
    if not has_channel:
        bought["channel"] = pd.Series(np.nan, index=bought.index, dtype=object)
    since = np.ones(len(bought), bool) if start is None else bought["order_date"] >= pd.Timestamp(start)
    bought["since"] = np.asarray(since, dtype="int64")
    counts = bought.groupby("customer_id", sort=True).agg(
        purchases=("amount", "size"), since=("since", "sum")
    )
    ordered = bought.sort_values(["customer_id", "order_date"], kind="stable")
    rank = ordered.groupby("customer_id", sort=False).cumcount().to_numpy()
    first = ordered.loc[rank == 0].set_index("customer_id")["order_date"]
    second = ordered.loc[rank == 1].set_index("customer_id")["order_date"]
    customers = pd.DataFrame({"net": net})
    for column in ("purchases", "since"):
        customers[column] = counts[column].reindex(net.index).fillna(0).astype("int64")
    customers["first"] = first.reindex(net.index)
    customers["second"] = second.reindex(net.index)
    channels = (
        bought.groupby("channel", dropna=False, sort=True)
        .agg(purchases=("amount", "size"), since=("since", "sum"))
        .reset_index()
        .astype({"purchases": "int64", "since": "int64"})
    )
    return {
        "customers": customers.rename_axis("customer_id").reset_index(),
        "channels": channels,
        "has_channel": has_channel,
        "start": start,
    }
