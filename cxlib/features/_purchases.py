"""Transactions in a window, the orders among them, and recency/frequency/monetary values per customer.

What an order is, defined once for every view (the profile at the analysis date, the churn-driver
features before a cut-off, RFM): the rows of one ``order_id`` of one customer (a row without an
``order_id`` is its own order). A **purchase** is an order's sale rows when they are worth more than
zero (:func:`purchases`); a **refund** is an order's refund rows (:func:`refunds`). Order value is
gross purchase amount per purchase (:func:`mean_order_value`), never per order line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.features._time import YEAR_DAYS, dated_before, days_since, end_of_day

#: The RFM segment of a customer with no purchase in the window.
NO_PURCHASE = "No purchase"

#: Named RFM segments on the grid of recency score (rows, 5 = most recent) by frequency-monetary
#: score (columns, 1..5). Read as: ``RFM_GRID[r][fm - 1]``.
RFM_GRID: dict[int, list[str]] = {
    5: ["New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"],
    3: ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"],
    1: ["Lost", "Lost", "At risk", "At risk", "Can't lose them"],
}


def window_transactions(
    transactions: pd.DataFrame, as_of, exclude: dict[str, list] | None = None
) -> pd.DataFrame:
    """Return the rows RFM uses: dated up to the analysis day and not excluded (a filtered copy).

    :func:`transactions_before` the end of the analysis day.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (customer_id, order_date, amount, is_refund, optional order_id):
        refunds are already signed negative by loading (:func:`cxlib.data.sign_refunds`), the one
        place that signs them.
    as_of : Timestamp or str
        Analysis date; the whole day counts.
    exclude : dict, optional
        Column -> values whose rows are left out, e.g. ``{"StockCode": ["POST", "M"]}``.
        A column missing from ``transactions`` is an error (a typo would silently do nothing).

    Returns
    -------
    DataFrame
        As :func:`transactions_before`.
    """
    return transactions_before(transactions, end_of_day(as_of), exclude)


def transactions_before(
    transactions: pd.DataFrame, end, exclude: dict[str, list] | None = None
) -> pd.DataFrame:
    """Return the transaction rows dated strictly before ``end`` and not excluded (a filtered copy).

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (see :func:`window_transactions`).
    end : Timestamp
        Exclusive end: a cut-off, or :func:`cxlib.features.end_of_day` of an analysis date.
    exclude : dict, optional
        Column -> values whose rows are left out (see :func:`window_transactions`).

    Returns
    -------
    DataFrame
        customer_id, order_date, amount (refunds negative), is_refund, channel (when present)
        and order_id (a row without one is its own order).
    """
    keep = transactions["order_date"] < pd.Timestamp(end)
    for column, values in (exclude or {}).items():
        if column not in transactions:
            raise KeyError(f"exclude: transactions have no column '{column}'")
        keep &= ~transactions[column].astype(str).isin([str(v) for v in values])
    columns = ["customer_id", "order_date", "amount", "is_refund"]
    out = transactions.loc[keep, columns + (["channel"] if "channel" in transactions else [])].copy()
    order = transactions.loc[keep, "order_id"].astype(object) if "order_id" in transactions else None
    missing = out.index if order is None else out.index[order.isna().to_numpy()]
    if order is None:
        order = pd.Series(None, index=out.index, dtype=object)
    if len(missing):  # a row without an order id is its own order (ids made only where needed)
        order.loc[missing] = "row-" + pd.Series(missing, index=missing).astype(str)
    out["order_id"] = order
    return out


def purchases(window: pd.DataFrame, free: bool = False) -> pd.DataFrame:
    """Collapse purchase rows into orders (customer_id, order_id, order_date, amount > 0).

    Parameters
    ----------
    window : DataFrame
        Output of :func:`window_transactions`.
    free : bool
        Also keep orders worth exactly zero (a free item is still a visit: the repeat-purchase
        counts of :func:`cxlib.features.repeat_purchase_summary` include them, as the published
        CDNOW counts do).

    Returns
    -------
    DataFrame
        One row per purchase; its date is the order's first row date, its ``channel`` (when the
        window has one) the first known channel of its rows.
    """
    sales = window.loc[~window["is_refund"]]
    aggregations = {
        "order_date": ("order_date", "min"),
        "amount": ("amount", "sum"),
        "lines": ("amount", "size"),
    }
    if "channel" in sales:
        aggregations["channel"] = ("channel", "first")  # the first row's channel that is known
    orders = sales.groupby(["customer_id", "order_id"], sort=False, observed=True).agg(**aggregations)
    keep = orders["amount"] >= 0 if free else orders["amount"] > 0
    return orders.loc[keep].reset_index()


def refunds(window: pd.DataFrame) -> pd.DataFrame:
    """Collapse refund rows into refunded orders (customer_id, order_id, order_date, amount < 0).

    Parameters
    ----------
    window : DataFrame
        Output of :func:`transactions_before` or :func:`window_transactions`.

    Returns
    -------
    DataFrame
        One row per order with a refund row (an order refunded in two rows counts once); its date
        is the order's first refund date.
    """
    returned = window.loc[window["is_refund"]]
    return (
        returned.groupby(["customer_id", "order_id"], sort=False, observed=True)
        .agg(order_date=("order_date", "min"), amount=("amount", "sum"))
        .reset_index()
    )


def orders_per_customer(orders: pd.DataFrame, customers: pd.Index) -> pd.Series:
    """How many of ``orders`` (from :func:`purchases` or :func:`refunds`) each customer has (0: none).

    Examples
    --------
    >>> bought = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"]})
    >>> orders_per_customer(bought, pd.Index(["a", "b", "c"])).tolist()
    [2, 1, 0]
    """
    return orders.groupby("customer_id").size().reindex(customers, fill_value=0).astype(int)


def mean_order_value(bought: pd.DataFrame, customers: pd.Index) -> pd.Series:
    """Gross purchase amount per purchase (not per order line); missing for a customer who never bought.

    Parameters
    ----------
    bought : DataFrame
        Output of :func:`purchases`.
    customers : Index
        The customers to report, in order.

    Returns
    -------
    Series of float, indexed by ``customers``

    Examples
    --------
    >>> bought = pd.DataFrame({"customer_id": ["a", "a"], "order_id": ["1", "2"], "amount": [10.0, 30.0]})
    >>> mean_order_value(bought, pd.Index(["a", "b"])).tolist()
    [20.0, nan]
    """
    gross = bought.groupby("customer_id")["amount"].sum().reindex(customers)
    count = orders_per_customer(bought, customers)
    return gross / count.where(count > 0)


def rfm_from_purchases(
    window: pd.DataFrame, bought: pd.DataFrame, as_of, customers: pd.Index | pd.Series | None = None
) -> pd.DataFrame:
    """:func:`rfm_table` from an already windowed table and its purchases (computed once, reused)."""
    as_of = pd.Timestamp(as_of).normalize()
    per = bought.groupby("customer_id", sort=True).agg(
        frequency=("order_id", "size"),
        first_purchase=("order_date", "min"),
        last_purchase=("order_date", "max"),
    )
    net = window.groupby("customer_id", sort=True)["amount"].sum()
    ids = pd.Index(customers if customers is not None else net.index).unique()
    table = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    table["recency_days"] = days_since(per["last_purchase"].reindex(table.index), as_of)
    table["frequency"] = per["frequency"].reindex(table.index).fillna(0).astype(int)
    table["monetary"] = net.reindex(table.index).fillna(0.0)
    table["first_purchase"] = per["first_purchase"].reindex(table.index)
    table["last_purchase"] = per["last_purchase"].reindex(table.index)
    return table.join(rfm_scores(table))


def _window_start(as_of: pd.Timestamp, days: int) -> pd.Timestamp:
    return as_of - pd.Timedelta(days=days)


def latest_answers(surveys: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each respondent's latest survey answer of the 12 months to ``as_of`` (one voice per customer).

    The window is the :data:`cxlib.features.YEAR_DAYS` days up to and including the day ``as_of``.
    """
    recent = dated_before(surveys, "date", end_of_day(as_of), YEAR_DAYS)
    return recent.sort_values("date", kind="stable").groupby("customer_id").tail(1)


def quantile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Quantile score 1-5: ``floor(5 * (rank_min - 1) / n) + 1``; ties share a score, the lowest scores 1.

    Parameters
    ----------
    values : Series
        Values to score (missing values stay missing).
    higher_is_better : bool
        False for recency (fewer days since the last purchase is better).

    Returns
    -------
    Series of Int64

    Examples
    --------
    >>> quantile_score(pd.Series([1, 1, 1, 2, 5])).tolist()
    [1, 1, 1, 4, 5]
    """
    ranked = (values if higher_is_better else -values).rank(method="min")
    n = int(values.notna().sum())
    return (np.floor(5 * (ranked - 1) / max(n, 1)) + 1).clip(1, 5).astype("Int64")


def rfm_scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """Score R, F, M (1-5) among customers with a purchase and name their segment.

    Parameters
    ----------
    rfm : DataFrame
        With ``recency_days``, ``frequency``, ``monetary``.

    Returns
    -------
    DataFrame
        ``r_score``, ``f_score``, ``m_score``, ``fm_score`` (Int64, missing without a purchase)
        and ``rfm_segment`` (str).
    """
    buyers = rfm["frequency"] > 0
    scores = pd.DataFrame(index=rfm.index)
    for name, column, better in (
        ("r", "recency_days", False),
        ("f", "frequency", True),
        ("m", "monetary", True),
    ):
        score = pd.Series(pd.NA, index=rfm.index, dtype="Int64")
        score[buyers] = quantile_score(rfm.loc[buyers, column], higher_is_better=better)
        scores[f"{name}_score"] = score
    scores["fm_score"] = np.floor((scores["f_score"] + scores["m_score"]) / 2 + 0.5).astype("Int64")
    lookup = np.array([[NO_PURCHASE] * 6] + [[NO_PURCHASE, *RFM_GRID[r]] for r in range(1, 6)], dtype=object)
    r_idx = scores["r_score"].fillna(0).to_numpy(dtype=int)
    fm_idx = scores["fm_score"].fillna(0).to_numpy(dtype=int)
    scores["rfm_segment"] = lookup[r_idx, fm_idx]
    return scores
