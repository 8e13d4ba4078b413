"""Checks a data scientist expects of a repeat-buying model: holdout by frequency, the cumulative forecast, P(alive).

- :func:`holdout_by_frequency`: customers grouped by their repeat purchases in the calibration
  period; the mean purchases each group made in the holdout period beside the model's conditional
  forecast (Fader, Hardie and Lee 2005, figure 4);
- :func:`cumulative_forecast`: repeat purchases of the whole cohort week by week, actual and
  expected (their figure 2), through the calibration period and on into the holdout;
- :func:`alive_grid`: P(alive) over recency and frequency at one customer age (their figure 6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.features import purchase_days


def holdout_by_frequency(model, summary: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Actual vs forecast holdout purchases per customer, by calibration frequency.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        Fitted on ``summary`` (the calibration period).
    summary : DataFrame
        :func:`cxlib.features.repeat_purchase_summary` with ``frequency_holdout`` and ``duration_holdout``.
    max_frequency : int
        Frequencies from this on are one group ("7+").

    Returns
    -------
    DataFrame
        ``frequency`` (text: "0", "1", ..., "7+"), ``customers``, ``actual``, ``expected`` (means per
        customer), ``actual_total``, ``expected_total``.
    """
    expected = np.asarray(model.expected_purchases(summary["duration_holdout"].to_numpy(), summary), float)
    bucket = summary["frequency"].clip(upper=max_frequency)
    frame = pd.DataFrame(
        {"bucket": bucket.to_numpy(), "actual": summary["frequency_holdout"].to_numpy(), "expected": expected}
    )
    table = frame.groupby("bucket").agg(
        customers=("actual", "size"),
        actual=("actual", "mean"),
        expected=("expected", "mean"),
        actual_total=("actual", "sum"),
        expected_total=("expected", "sum"),
    )
    labels = [f"{b}+" if b == max_frequency else str(b) for b in table.index]
    return table.reset_index(drop=True).assign(frequency=labels)[
        ["frequency", "customers", "actual", "expected", "actual_total", "expected_total"]
    ]


def repeat_day_counts(transactions: pd.DataFrame, summary: pd.DataFrame, observation_end) -> pd.Series:
    """Repeat purchase days per day of the customers in ``summary``, up to ``observation_end``.

    A repeat purchase day is a purchase day (:func:`cxlib.features.purchase_days`) after the
    customer's first (``summary["first_purchase"]``). The engine computes the same counts from a
    run's validated data (:func:`cxlib.engine.repeat_purchases_from_validated`).

    Returns
    -------
    Series
        Count (int) indexed by day, sorted; days without one are absent.
    """
    obs_end = pd.Timestamp(observation_end).normalize()
    births = summary["first_purchase"]
    days = purchase_days(transactions, obs_end + pd.Timedelta(days=1))
    days = days.loc[days["customer_id"].isin(summary.index)]
    repeat = days.loc[days["day"] > days["customer_id"].map(births)]
    return repeat.groupby("day").size().sort_index()


def cumulative_forecast(
    model, transactions: pd.DataFrame | None, summary: pd.DataFrame, observation_end, repeat_counts=None
) -> pd.DataFrame:
    """Cumulative repeat purchases of the customers in ``summary``, actual and expected, unit by unit.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        Fitted on ``summary`` (no covariates: the forecast for a customer born on a day uses the
        population's parameters, :meth:`expected_purchases_new`).
    transactions : DataFrame or None
        Canonical transactions (None when ``repeat_counts`` is given).
    summary : DataFrame
        The calibration summary (its ``first_purchase`` births, ``attrs`` time scale).
    observation_end : Timestamp
        Last day of the holdout period.
    repeat_counts : Series, optional
        :func:`repeat_day_counts` already computed (e.g. by the engine).

    Returns
    -------
    DataFrame
        ``date`` (end of each time unit), ``actual``, ``expected`` (cumulative repeat purchases),
        ``period`` ("calibration" or "holdout").
    """
    unit_days = float(summary.attrs.get("unit_days", 7.0))
    cal_end = pd.Timestamp(summary.attrs["calibration_end"])
    obs_end = pd.Timestamp(observation_end).normalize()
    births = summary["first_purchase"]
    start = births.min()
    grid = pd.date_range(start, obs_end, freq=pd.Timedelta(days=unit_days))[1:]
    if len(grid) == 0 or grid[-1] < obs_end:
        grid = grid.append(pd.DatetimeIndex([obs_end]))
    if repeat_counts is None:
        repeat_counts = repeat_day_counts(transactions, summary, obs_end)
    repeat_counts = repeat_counts.sort_index()
    cumulated = np.concatenate([[0], np.cumsum(repeat_counts.to_numpy(dtype=np.int64))])
    days = pd.DatetimeIndex(repeat_counts.index).as_unit("ns").to_numpy()
    actual = cumulated[np.searchsorted(days, grid.as_unit("ns").to_numpy(), side="right")]
    birth_days, counts = np.unique(births.to_numpy(), return_counts=True)
    expected = np.zeros(len(grid))
    for j, moment in enumerate(grid):
        age = (moment - pd.DatetimeIndex(birth_days)) / pd.Timedelta(days=unit_days)
        age = np.asarray(age, float)
        alive = age > 0
        if alive.any():
            expected[j] = float(counts[alive] @ np.asarray(model.expected_purchases_new(age[alive]), float))
    return pd.DataFrame(
        {
            "date": grid,
            "actual": actual.astype(float),
            "expected": expected,
            "period": np.where(grid <= cal_end, "calibration", "holdout"),
        }
    )


def alive_grid(model, age: float, max_frequency: int | None = None, points: int = 25) -> pd.DataFrame:
    """P(alive) of a customer of age ``age`` over recency (0..age) and frequency (0..max_frequency).

    Returns
    -------
    DataFrame
        Rows: frequency; columns: recency (time units); values: probability alive.
    """
    max_frequency = int(max_frequency or 20)
    recency = np.linspace(0.0, float(age), points)
    freq = np.arange(0, max_frequency + 1)
    f, r = np.meshgrid(freq, recency, indexing="ij")
    grid = pd.DataFrame({"frequency": f.ravel(), "recency": np.where(f.ravel() == 0, 0.0, r.ravel())})
    grid["T"] = float(age)
    values = np.asarray(model.probability_alive(grid), float).reshape(f.shape)
    return pd.DataFrame(values, index=pd.Index(freq, name="frequency"), columns=np.round(recency, 1))
