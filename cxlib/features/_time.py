"""Calendar arithmetic shared by every capability: one month length, whole days, and date windows.

Time is counted in whole days. A view *at* a day reads records in a window that ends before a
bound (exclusive): the profile at the analysis date reads everything dated up to the end of that
day (``end = end_of_day(as_of)``); churn-driver features at a cut-off read everything dated
strictly before it (``end = cutoff``). "The last 12 months" are the :data:`YEAR_DAYS` days before
the window's end.
"""

from __future__ import annotations

import pandas as pd

#: Days in an average month (365.25 / 12): tenures and per-month rates are in these months.
DAYS_PER_MONTH = 30.4375

#: "The last 12 months" of a window: the 365 days before its end.
YEAR_DAYS = 365

#: Days a horizon of N months stretches past N x ``DAYS_PER_MONTH`` days: N calendar months
#: differ from it by up to about 1.5 days, so churn at exactly "2 years" counts within 24 months.
CALENDAR_SLACK_DAYS = 2


def end_of_day(day) -> pd.Timestamp:
    """The exclusive bound of "up to and including ``day``": midnight after it.

    Examples
    --------
    >>> end_of_day("2025-12-31 15:00")
    Timestamp('2026-01-01 00:00:00')
    """
    return pd.Timestamp(day).normalize() + pd.Timedelta(days=1)


def dated_before(frame: pd.DataFrame, column: str, end, days: int | None = None) -> pd.DataFrame:
    """Rows of ``frame`` dated before ``end`` and, with ``days``, not before ``end - days``.

    Parameters
    ----------
    frame : DataFrame
        A dated canonical table (transactions, interactions, surveys, ...).
    column : str
        Its date column.
    end : Timestamp
        Exclusive end of the window (a cut-off, or :func:`end_of_day` of an analysis date).
    days : int, optional
        Length of the window in days (e.g. :data:`YEAR_DAYS`); None: all history before ``end``.

    Returns
    -------
    DataFrame
        The rows in the window (a view of the selection; callers do not modify it).
    """
    end = pd.Timestamp(end)
    keep = frame[column] < end
    if days is not None:
        keep &= frame[column] >= end - pd.Timedelta(days=days)
    return frame.loc[keep]


def days_since(dates: pd.Series, day) -> pd.Series:
    """Whole days from each date's day to ``day`` (a date or a Series aligned with ``dates``).

    Examples
    --------
    >>> days_since(pd.Series(pd.to_datetime(["2025-01-01 18:00"])), "2025-01-31").tolist()
    [30.0]
    """
    day = day.dt.normalize() if isinstance(day, pd.Series) else pd.Timestamp(day).normalize()
    return (day - dates.dt.normalize()).dt.days.astype(float)


def tenure_days(signup: pd.Series, day) -> pd.Series:
    """Tenure in whole days: from the signup day to ``day`` (see :func:`days_since`)."""
    return days_since(signup, day)


def tenure_months(signup: pd.Series, day) -> pd.Series:
    """Tenure in months of :data:`DAYS_PER_MONTH` days: :func:`tenure_days` / ``DAYS_PER_MONTH``."""
    return tenure_days(signup, day) / DAYS_PER_MONTH
