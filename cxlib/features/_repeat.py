"""Each customer's repeat-purchase history: the frequency, recency and age that buy-till-you-die models read.

The fourth view of the per-customer features, for customer value (:mod:`cxlib.value`). The
definitions are those of Fader, Hardie and Lee (2005) and of every BTYD implementation since:

- a **purchase day** is a customer-day with at least one order that is not a refund
  (:func:`cxlib.features.purchases` with ``free=True``: an order worth exactly zero, a free item,
  counts as a visit, as in the published CDNOW counts); several orders or lines on one day are one
  purchase day worth their sum;
- a customer is **born** on their first purchase day in the data, whatever their signup date:
  the models describe repeat buying after a first purchase;
- ``frequency`` (x) is the number of purchase days after the first, up to the end of the
  calibration period; ``recency`` (t_x) the time from the first to the last of them (0 when
  x = 0); ``T`` the time from the first purchase day to the last day of the calibration period;
- ``monetary_value`` is the mean value of the repeat purchase days (the first is left out, as the
  Gamma-Gamma model of Fader and Hardie does), missing when x = 0;
- with an observation end after the calibration end, ``frequency_holdout`` counts purchase days
  in the holdout period and ``duration_holdout`` is its length, for out-of-sample checks.

Time is in units of ``unit_days`` days (7: weeks, as the published CDNOW figures are).

Examples
--------
>>> lines = pd.DataFrame({
...     "customer_id": ["a", "a", "a", "a", "b"],
...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-29", "2024-01-08"]),
...     "amount": [10.0, 5.0, 20.0, 30.0, 7.0],
...     "is_refund": False,
... })
>>> repeat_purchase_summary(lines, "2024-02-04", unit_days=1)[["frequency", "recency", "T", "monetary_value"]]  # doctest: +NORMALIZE_WHITESPACE
             frequency  recency     T  monetary_value
customer_id
a                    2     28.0  34.0            25.0
b                    0      0.0  27.0             NaN
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.features._purchases import purchases, transactions_before
from cxlib.features._time import end_of_day

#: The columns of :func:`repeat_purchase_summary` that the models read.
REPEAT_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def purchase_days(transactions: pd.DataFrame, end, exclude: dict[str, list] | None = None) -> pd.DataFrame:
    """Purchases dated before ``end`` merged per customer-day: customer_id, day, amount, orders.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (refunds already signed by loading).
    end : Timestamp
        Exclusive end (e.g. :func:`cxlib.features.end_of_day` of the last day to read).
    exclude : dict, optional
        Column -> values whose rows are left out (see :func:`cxlib.features.window_transactions`).
    """
    bought = purchases(transactions_before(transactions, end, exclude), free=True)
    bought = bought.assign(day=bought["order_date"].dt.normalize())
    return (
        bought.groupby(["customer_id", "day"], sort=True, observed=True)
        .agg(amount=("amount", "sum"), orders=("amount", "size"))
        .reset_index()
    )


def repeat_purchase_summary(
    transactions: pd.DataFrame,
    calibration_end,
    observation_end=None,
    unit_days: float = 7.0,
    exclude: dict[str, list] | None = None,
) -> pd.DataFrame:
    """Frequency, recency, age and repeat spend per customer at the end of a calibration period.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions: customer_id, order_date, amount, is_refund, optional order_id.
    calibration_end : Timestamp or str
        Last day of the calibration period (the whole day counts).
    observation_end : Timestamp or str, optional
        Last day of a holdout period after it; adds ``frequency_holdout`` and ``duration_holdout``.
    unit_days : float
        Days in one unit of time (7: weeks).
    exclude : dict, optional
        Column -> values whose transaction rows are left out.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (customers with a purchase by the calibration end, sorted):
        ``frequency`` (int), ``recency``, ``T``, ``monetary_value``, ``first_purchase`` (the
        birth day), and the holdout columns when asked. ``attrs["unit_days"]`` and
        ``attrs["calibration_end"]`` record the time scale.
    """
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = cal_end if observation_end is None else pd.Timestamp(observation_end).normalize()
    if obs_end < cal_end:
        raise ValueError(f"observation_end {obs_end.date()} is before calibration_end {cal_end.date()}")
    if unit_days <= 0:
        raise ValueError(f"unit_days must be positive, not {unit_days}")
    days = purchase_days(transactions, end_of_day(obs_end), exclude)
    in_cal = days["day"] <= cal_end
    cal = days.loc[in_cal]
    grouped = cal.groupby("customer_id", sort=True, observed=True)
    aggregates = pd.DataFrame(
        {
            "first": grouped["day"].min(),
            "last": grouped["day"].max(),
            "days": grouped.size(),
            "total": grouped["amount"].sum(),
            "first_amount": grouped["amount"].first(),  # days are sorted within each customer
        }
    )
    if observation_end is not None:
        later = days.loc[~in_cal].groupby("customer_id", observed=True).size()
        aggregates["holdout_days"] = later.reindex(aggregates.index, fill_value=0).to_numpy()
    return summary_from_aggregates(
        aggregates, cal_end, obs_end if observation_end is not None else None, unit_days
    )


def summary_from_aggregates(
    aggregates: pd.DataFrame, calibration_end, observation_end=None, unit_days: float = 7.0
):
    """The repeat-purchase summary from each customer's purchase-day aggregates (both engines' last step).

    Parameters
    ----------
    aggregates : DataFrame
        Indexed by ``customer_id`` (customers with a purchase day by the calibration end, in the
        order the summary keeps): ``first`` and ``last`` (their first and last purchase day in the
        calibration period), ``days`` (how many), ``total`` (their amount), ``first_amount`` (the
        first day's amount) and, with an observation end, ``holdout_days`` (purchase days after
        the calibration end).
    calibration_end : Timestamp
        Last day of the calibration period (normalized).
    observation_end : Timestamp, optional
        Last day of the holdout period.
    unit_days : float

    Returns
    -------
    DataFrame
        As :func:`repeat_purchase_summary`.
    """
    cal_end = pd.Timestamp(calibration_end)
    first, last, total = aggregates["first"], aggregates["last"], aggregates["total"]
    frequency = (aggregates["days"] - 1).astype(int)
    unit = pd.Timedelta(days=unit_days)
    table = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first) / unit,
            "T": (cal_end - first) / unit,
            "monetary_value": ((total - aggregates["first_amount"]) / frequency.where(frequency > 0)).astype(
                float
            ),
            "first_purchase": first,
        }
    )
    table.index.name = "customer_id"
    if observation_end is not None:
        obs_end = pd.Timestamp(observation_end)
        table["frequency_holdout"] = aggregates["holdout_days"].astype(int).to_numpy()
        table["duration_holdout"] = float((obs_end - cal_end) / unit)
    table.attrs.update({"unit_days": float(unit_days), "calibration_end": cal_end})
    return table


def compress_summary(frequency, recency, age) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (frequency, recency, T) rows, their counts, and the inverse index back to customers.

    Likelihoods of the BTYD models depend on a customer only through these three numbers, so a
    fit on a million customers evaluates them once per distinct row (weighted by its count).

    Returns
    -------
    unique : ndarray, shape (k, 3)
    counts : ndarray of int, shape (k,)
    inverse : ndarray of int, shape (n,)
    """
    columns = [np.asarray(v, float).reshape(-1) for v in (frequency, recency, age)]
    # one integer key per row from each column's rank among its distinct values: a 1-D sort is
    # many times faster than np.unique(axis=0) on a million rows, and keeps the same order
    levels, codes = zip(*(np.unique(c, return_inverse=True) for c in columns), strict=True)
    sizes = [len(v) for v in levels]
    if np.prod(np.array(sizes, dtype=float)) >= 2.0**62:  # keys would overflow: the slow, general way
        stacked = np.column_stack(columns)
        unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        return unique, counts, inverse.reshape(-1)
    key = (codes[0].astype(np.int64) * sizes[1] + codes[1]) * sizes[2] + codes[2]
    unique_keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    unique = np.column_stack(
        [
            levels[0][unique_keys // (sizes[1] * sizes[2])],
            levels[1][(unique_keys // sizes[2]) % sizes[1]],
            levels[2][unique_keys % sizes[2]],
        ]
    )
    return unique, counts, inverse.reshape(-1)
