"""RFM: recency, frequency and monetary value per customer, quantile scores and named segments.

The rule, stated once (``tests/test_rfm.py`` re-implements it independently on raw data):

Window
    Transactions dated on or before the analysis date (the whole day). Rows matching ``exclude``
    (a mapping of column to values, e.g. non-product stock codes such as postage or bank
    charges) are left out entirely.
Purchases
    Non-refund rows, grouped into orders by ``order_id`` (a row without an order id is its own
    order). An order counts as a purchase when its total amount is above zero, so zero-price
    orders (free samples) are not purchases.
Refunds and cancellations
    Rows with ``is_refund`` true. Their amount counts as ``-abs(amount)`` whatever its sign in the
    file: it reduces monetary value, but a refund is not an order and does not move recency.
``recency_days``
    Whole calendar days from the last purchase to the analysis date (0 = bought that day).
``frequency``
    Number of purchases. A customer with one purchase has frequency 1 (and no purchase interval).
``monetary``
    Net spend in the window: purchases minus refunds. It can be zero or negative when
    cancellations of earlier purchases (outside the window) exceed purchases.
No purchase
    Customers known to the customer table (or seen only in refunds) without a purchase get
    frequency 0, recency missing, no scores, and the named segment ``"No purchase"``.

Scores (1-5, higher is better) are quantile ranks among customers with a purchase:
``score = floor(5 * (r - 1) / n) + 1`` where ``r`` is the customer's rank with ties given the lowest
rank of their group (``rank(method="min")``) and ``n`` the number of customers. Ties share a score and the
lowest value always scores 1, so every one-purchase customer has F = 1. Recency is ranked in
reverse (most recent = 5). The frequency-monetary score is ``FM = floor((F + M) / 2 + 0.5)``;
the named segment is read from the (R, FM) grid in :data:`RFM_GRID`.
"""

from __future__ import annotations

import pandas as pd

from cxlib.features._purchases import (
    NO_PURCHASE,
    RFM_GRID,
    purchases,
    rfm_from_purchases,
    window_transactions,
)
from cxlib.stats._suppression import pool_small_groups, record_pooling, suppress_small

#: Named segments from best to worst, the order used in tables and charts.
RFM_SEGMENT_ORDER = [
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
    NO_PURCHASE,
]


def rfm_table(
    transactions: pd.DataFrame,
    as_of,
    customers: pd.Index | pd.Series | None = None,
    exclude: dict[str, list] | None = None,
) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, with scores and named segment.

    See the module docstring for the exact rule.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    as_of : Timestamp or str
        Analysis date.
    customers : Index or Series, optional
        Every customer id to report (those without a purchase get frequency 0); default: the
        customers seen in ``transactions``.
    exclude : dict, optional
        Column -> values of rows left out (see :func:`window_transactions`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``recency_days``, ``frequency``, ``monetary``, ``first_purchase``,
        ``last_purchase``, ``r_score``, ``f_score``, ``m_score``, ``fm_score``, ``rfm_segment``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
    ...                    "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
    ...                    "amount": [10.0, 30.0, 5.0], "is_refund": [False, False, False]})
    >>> table = rfm_table(tx, "2024-03-31")
    >>> table[["recency_days", "frequency", "monetary"]]  # doctest: +NORMALIZE_WHITESPACE
                 recency_days  frequency  monetary
    customer_id
    a                    30.0          2      40.0
    b                    59.0          1       5.0
    """
    as_of = pd.Timestamp(as_of).normalize()
    window = window_transactions(transactions, as_of, exclude)
    return rfm_from_purchases(window, purchases(window), as_of, customers)


def rfm_grid_table() -> pd.DataFrame:
    """Return the documented (R, FM) -> segment rule as a table (rows R = 5..1, columns FM = 1..5)."""
    grid = pd.DataFrame(RFM_GRID).T.sort_index(ascending=False)
    grid.columns = [f"FM {i}" for i in range(1, 6)]
    grid.index = [f"R {r}" for r in grid.index]
    return grid


def rfm_segment_summary(rfm: pd.DataFrame, min_group_size: int = 10) -> pd.DataFrame:
    """Summarise customers, revenue share and mean R/F/M per named RFM segment.

    Parameters
    ----------
    rfm : DataFrame
        Output of :func:`rfm_table`.
    min_group_size : int
        Segments with fewer customers are pooled into one ``Other (n groups)`` row, with the next
        smallest segment when needed (:func:`cxlib.stats._suppression.pool_small_groups`), so that no small
        segment's figures can be derived from the totals.

    Returns
    -------
    DataFrame
        Indexed by segment name in :data:`RFM_SEGMENT_ORDER`, the pooled row last.
    """
    revenue = rfm["monetary"].clip(lower=0)
    segment, pooling = pool_small_groups(rfm["rfm_segment"], min_group_size, column="RFM segment")
    grouped = rfm.assign(_rev=revenue, rfm_segment=segment).groupby("rfm_segment")
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "share_of_customers": grouped.size() / len(rfm),
            "share_of_revenue": grouped["_rev"].sum() / max(revenue.sum(), 1e-12),
            "median_recency_days": grouped["recency_days"].median(),
            "mean_frequency": grouped["frequency"].mean(),
            "mean_monetary": grouped["monetary"].mean(),
        }
    )
    order = [s for s in RFM_SEGMENT_ORDER if s in out.index] + [s for s in out.index if s == pooling.label]
    out = suppress_small(out.loc[order], "customers", min_group_size)  # only when all are small together
    return record_pooling(out.rename_axis("rfm_segment"), pooling)
