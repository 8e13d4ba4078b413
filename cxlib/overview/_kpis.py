"""Headline KPIs with intervals, mix tables, and the data-health overview.

Every figure a person sees carries an interval or a stated assumption: rates get Wilson
intervals, means a normal-approximation interval, NPS the standard error of a difference of
proportions. Totals over the whole customer base (revenue, counts) are censuses, not samples,
and say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.data._load import CustomerData
from cxlib.features._churn_rule import resolve_churn_rule
from cxlib.features._purchases import _window_start, latest_answers, purchases, transactions_before
from cxlib.features._time import YEAR_DAYS, dated_before, end_of_day
from cxlib.stats._intervals import mean_interval, nps_interval, wilson_interval
from cxlib.stats._suppression import (
    Pooling,
    pool_small_groups,
    record_pooling,
    suppress_small,
)


def _engine_reads(data, engine: str) -> bool:
    """Whether the engine computes from ``data``'s saved Parquet files (else pandas does)."""
    return engine != "pandas" and getattr(data, "source", None) is not None


#: Columns of :func:`headline_kpis`, in order.
KPI_COLUMNS = ["kpi", "value", "low", "high", "unit", "n", "window_days", "respondents", "response_rate"]


def headline_kpis(
    data: CustomerData,
    active_days: int = 90,
    churn_definition: str = "auto",
    inactivity_days: int = 180,
    engine: str = "pandas",
) -> pd.DataFrame:
    """The headline numbers of a customer base over the last 12 months, with 95% intervals.

    The table holds numbers only; :func:`cxlib.overview.format_kpis` and
    :func:`cxlib.overview.describe_kpis` turn them into labels, a basis and sentences.

    Parameters
    ----------
    data : CustomerData
        Validated tables.
    active_days : int
        A customer with a purchase in this many days before the as-of date is active.
    churn_definition : {"auto", "contractual", "inactivity"}
        Resolved by :func:`cxlib.features.resolve_churn_rule`. Contractual churn counts churn dates
        among customers active a year ago; inactivity counts customers who bought before a year ago
        and have churned by the as-of date (no purchase in the last ``inactivity_days``).
    inactivity_days : int
        Days without a purchase that count as churn under the inactivity definition.
    engine : str
        ``data.engine``: with ``duckdb`` and data read from a run's validated Parquet files, the
        transaction aggregates are computed by the engine (:func:`cxlib.engine.kpi_aggregates`).

    Returns
    -------
    DataFrame
        One row per KPI (:data:`KPI_COLUMNS`): ``kpi`` (an identifier such as
        ``"active_customers"``), ``value``, ``low`` and ``high`` (95% interval; missing for a
        census), ``unit`` (``customers``, ``currency``, ``share``, ``points`` or ``score``), ``n``
        (customers or answers the figure is computed over; missing for a census count),
        ``window_days`` (the look-back window the figure covers), ``respondents`` and
        ``response_rate`` (survey figures: customers with a latest answer, and their share of all
        customers). Transaction rows are absent without transactions, survey rows without answers.

    Examples
    --------
    >>> kpis = headline_kpis(data, active_days=30)  # doctest: +SKIP
    >>> kpis.set_index("kpi").loc["active_customers", "window_days"]  # doctest: +SKIP
    30
    """
    as_of = data.as_of
    customers = data["customers"]
    rows = [_row("customers", len(customers), unit="customers")]
    if data.has("transactions") and _engine_reads(data, engine):
        from cxlib.engine import kpi_aggregates

        figures = kpi_aggregates(data, active_days)
        active, revenue = figures["active"], figures["revenue"]
        per_customer, orders = figures["per_customer"], figures["orders"]
    elif data.has("transactions"):
        tx = data["transactions"]
        last_year = dated_before(tx, "order_date", end_of_day(as_of), YEAR_DAYS)  # the as-of day counts
        sales = last_year[~last_year["is_refund"]]
        active = dated_before(sales, "order_date", end_of_day(as_of), active_days)["customer_id"].nunique()
        revenue = float(last_year["amount"].sum())
        per_customer = last_year.groupby("customer_id")["amount"].sum()
        per_customer = per_customer[per_customer > 0]
        orders = order_counts(sales, "customer_id")
    if data.has("transactions"):
        rows.append(_row("active_customers", active, unit="customers", window_days=active_days))
        rows.append(_row("net_revenue_12m", revenue, unit="currency", window_days=365))
        rows.append(
            _row(
                "revenue_per_buyer",
                *mean_interval(per_customer),
                unit="currency",
                n=len(per_customer),
                window_days=365,
            )
        )
        rows.append(
            _row(
                "repeat_rate",
                *wilson_interval(int((orders >= 2).sum()), len(orders)),
                unit="share",
                n=len(orders),
                window_days=365,
            )
        )
    rows.append(_churn_row(data, churn_definition, inactivity_days))
    if data.has("surveys"):
        latest = latest_answers(data["surveys"], as_of)
        survey = {
            "window_days": 365,
            "respondents": len(latest),
            "response_rate": latest["customer_id"].nunique() / max(len(customers), 1),
        }
        if "nps" in latest and latest["nps"].notna().any():
            nps = latest["nps"].dropna()
            rows.append(_row("nps", *nps_interval(latest["nps"]), unit="points", n=len(nps), **survey))
        if "csat" in latest and latest["csat"].notna().any():
            csat = latest["csat"].dropna()
            rows.append(_row("csat", *mean_interval(latest["csat"]), unit="score", n=len(csat), **survey))
            rows.append(
                _row(
                    "satisfied_share",
                    *wilson_interval(int((csat >= 4).sum()), len(csat)),
                    unit="share",
                    n=len(csat),
                    **survey,
                )
            )
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def _row(
    kpi: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    unit: str,
    n: int | None = None,
    window_days: int | None = None,
    respondents: int | None = None,
    response_rate: float | None = None,
) -> tuple:
    """One row of :func:`headline_kpis`, in the order of :data:`KPI_COLUMNS`."""
    return (kpi, value, low, high, unit, n, window_days, respondents, response_rate)


def _churn_row(data: CustomerData, definition: str, inactivity_days: int) -> tuple:
    """The churn KPI under the one churn rule (:class:`cxlib.features.ChurnRule`).

    ``churn_rate_12m`` under the contractual definition (churn dates), ``churn_rate_snapshot``
    with only a churn flag and, under the inactivity definition, ``lapse_rate``: earlier buyers who
    stopped buying.
    """
    as_of = data.as_of
    year_ago = _window_start(as_of, 365)
    customers = data["customers"]
    rule = resolve_churn_rule(data, definition, inactivity_days)
    churned_now = rule.churned_by(data, as_of).to_numpy()
    if rule.definition == "contractual":
        gone_a_year_ago = rule.churned_by(data, year_ago).to_numpy()
        at_risk = (customers["signup_date"] <= year_ago).to_numpy() & ~gone_a_year_ago
        churned = churned_now[at_risk]
        return _row(
            "churn_rate_12m",
            *wilson_interval(int(churned.sum()), int(at_risk.sum())),
            unit="share",
            n=int(at_risk.sum()),
            window_days=365,
        )
    if rule.definition == "snapshot":
        return _row(
            "churn_rate_snapshot",
            *wilson_interval(int(churned_now.sum()), len(customers)),
            unit="share",
            n=len(customers),
        )
    tx = data["transactions"]
    sales = tx[~tx["is_refund"]]
    before = (
        customers["customer_id"].isin(sales.loc[sales["order_date"] <= year_ago, "customer_id"]).to_numpy()
    )
    lapsed = int(churned_now[before].sum())
    return _row(
        "lapse_rate",
        *wilson_interval(lapsed, int(before.sum())),
        unit="share",
        n=int(before.sum()),
        window_days=inactivity_days,
    )


def order_counts(sales: pd.DataFrame, by: str) -> pd.Series:
    """Orders per group, an order as :func:`cxlib.features.purchases` defines it (the one definition).

    Rows of one ``order_id`` are one order (a row without an id is its own), dated by its first row,
    counted when its amount is positive. ``by`` is ``customer_id``, ``channel`` or ``month`` (the
    calendar month of the order's first row).

    Examples
    --------
    >>> sales = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "1", "2"],
    ...                       "order_date": pd.to_datetime(["2025-01-01"] * 3), "amount": [5.0, 5.0, 7.0]})
    >>> order_counts(sales, "customer_id").to_dict()
    {'a': 1, 'b': 1}
    """
    rows = sales.assign(is_refund=False)
    window = transactions_before(rows, rows["order_date"].max() + pd.Timedelta(days=1)) if len(rows) else rows
    bought = purchases(window)  # carries each order's channel (its first known row's)
    if by == "month":
        bought = bought.assign(month=bought["order_date"].dt.to_period("M").dt.to_timestamp())
    return bought.groupby(by).size()


def monthly_revenue(
    transactions: pd.DataFrame | None, as_of: pd.Timestamp | None = None, aggregates: dict | None = None
) -> pd.DataFrame:
    """Net revenue, orders and buying customers per calendar month.

    ``partial`` marks a last month that the as-of date cuts short, so charts do not read it as a drop;
    ``first_month`` marks the first calendar month of the data: it may start mid-month, and what was
    bought before the data begins is not in it (left-censored), so it is never read as a peak or trough.
    ``aggregates`` (from :func:`cxlib.engine.monthly_aggregates`) replaces the rows when given.
    """
    if aggregates is None:
        frame = transactions.assign(month=transactions["order_date"].dt.to_period("M").dt.to_timestamp())
        sales = frame[~frame["is_refund"]]
        aggregates = {
            "net": frame.groupby("month")["amount"].sum(),
            "orders": order_counts(sales, "month"),
            "buyers": sales.groupby("month")["customer_id"].nunique(),
            "latest": frame["order_date"].max(),
        }
    out = pd.DataFrame(
        {
            "net_revenue": aggregates["net"],
            "orders": aggregates["orders"],
            "buying_customers": aggregates["buyers"],
        }
    ).fillna(0)
    out = out.reset_index()
    as_of = pd.Timestamp(as_of) if as_of is not None else aggregates["latest"]
    out["partial"] = (out["month"] + pd.offsets.MonthEnd(0)).dt.normalize() > as_of.normalize()
    out["first_month"] = out.index == 0
    return out


def channel_mix(
    transactions: pd.DataFrame | None,
    as_of: pd.Timestamp,
    min_group_size: int = 10,
    aggregates: dict | None = None,
) -> pd.DataFrame:
    """Orders, revenue and customers by order channel over the last 12 months, with shares.

    Channels used by fewer than ``min_group_size`` customers are pooled into one ``Other (n groups)``
    row (see :func:`cxlib.stats._suppression.pool_small_groups`), so no small channel's figures can be
    derived from the revenue total; :func:`cxlib.report.describe_pooling` says so. ``aggregates``
    (from :func:`cxlib.engine.channel_aggregates`, which has no channel to pool) replaces the rows.
    """
    if aggregates is None:
        window = transactions[
            (transactions["order_date"] >= end_of_day(as_of) - pd.Timedelta(days=YEAR_DAYS))
            & (transactions["order_date"] < end_of_day(as_of))
        ]
        channel = window["channel"] if "channel" in window else pd.Series("all", index=window.index)
        channel, pooling = pool_small_groups(
            channel, min_group_size, units=window["customer_id"], column="channel"
        )
        window = window.assign(channel=channel)
        sales = window[~window["is_refund"]]
        aggregates = {
            "orders": order_counts(sales, "channel"),
            "customers": sales.groupby("channel")["customer_id"].nunique(),
            "net": window.groupby("channel")["amount"].sum(),
            "gross": sales.groupby("channel")["amount"].sum(),
        }
    else:  # the engine only reports channels that need no pooling
        pooling = Pooling((), "", 0, min_group_size, "channel", "")
    mix = pd.DataFrame(
        {
            "orders": aggregates["orders"],
            "customers": aggregates["customers"],
            "net_revenue": aggregates["net"],
        }
    ).fillna(0)
    mix["revenue_share"] = mix["net_revenue"] / mix["net_revenue"].sum()
    # gross sales per order (not per order line), as cxlib.features.mean_order_value
    mix["average_order_value"] = aggregates["gross"] / mix["orders"].where(mix["orders"] > 0)
    mix = mix.sort_values("net_revenue", ascending=False).reset_index()
    return record_pooling(suppress_small(mix, "customers", min_group_size), pooling)


def touchpoint_volumes(
    interactions: pd.DataFrame, customers_active: int, as_of: pd.Timestamp, min_group_size: int = 10
) -> pd.DataFrame:
    """Touchpoint events of the last 12 months by kind and channel, per 1,000 active customers.

    Complaint rows also carry the share resolved and support contacts the median wait in
    minutes. Kinds with fewer than ``min_group_size`` customers are pooled together, then within each
    kind the channels with fewer than ``min_group_size`` customers (see
    :func:`cxlib.stats._suppression.pool_small_groups`); :func:`cxlib.report.describe_pooling` says which.
    """
    window = interactions[
        (interactions["timestamp"] >= end_of_day(as_of) - pd.Timedelta(days=YEAR_DAYS))
        & (interactions["timestamp"] < end_of_day(as_of))
    ]
    ids = window["customer_id"]
    kind, kind_pooling = pool_small_groups(window["kind"], min_group_size, units=ids, column="kind")
    channel = window["channel"] if "channel" in window else pd.Series("all", index=window.index)
    channel = channel.astype("string").fillna("unknown").astype(object)
    poolings = [kind_pooling]
    for value in kind.unique():
        part = (kind == value).to_numpy()
        pooled, pooling = pool_small_groups(
            channel[part], min_group_size, units=ids[part], column="channel", within=str(value)
        )
        channel[part] = pooled
        poolings.append(pooling)
    window = window.assign(kind=kind, channel=channel)
    grouped = window.groupby(["kind", "channel"])
    table = pd.DataFrame({"events": grouped.size(), "customers": grouped["customer_id"].nunique()})
    table["per_1000_active"] = 1000 * table["events"] / max(customers_active, 1)
    if "wait_minutes" in window:
        table["median_wait_minutes"] = grouped["wait_minutes"].median()
    if "resolved" in window:
        resolved = grouped["resolved"].agg(lambda s: s.dropna().astype(bool).sum())
        answered = grouped["resolved"].agg(lambda s: s.notna().sum())
        table["resolved_share"] = np.where(answered > 0, resolved / answered.replace(0, 1), np.nan)
    table = table.reset_index().sort_values(["kind", "events"], ascending=[True, False], ignore_index=True)
    return record_pooling(suppress_small(table, "customers", min_group_size), *poolings)


def data_health(data: CustomerData, engine: str = "pandas") -> pd.DataFrame:
    """One row per table: rows, customers, date range, and share of cells missing in optional columns.

    With ``engine`` ``duckdb`` and data read from a run's validated Parquet files, the large tables
    (transactions, interactions) are summarised by the engine (:func:`cxlib.engine.table_health`).
    """
    date_columns = {
        "customers": "signup_date",
        "transactions": "order_date",
        "interactions": "timestamp",
        "surveys": "date",
        "programme": "start_date",
        "referrals": "date",
    }
    rows = []
    for name in data.tables:
        if name in ("transactions", "interactions") and _engine_reads(data, engine):
            from cxlib.engine import table_health

            rows.append(table_health(data, name, date_columns[name]))
            continue
        frame = data[name]
        dates = frame[date_columns[name]]
        id_column = "customer_id" if "customer_id" in frame else "referrer_id"
        rows.append(
            {
                "table": name,
                "rows": len(frame),
                "customers": frame[id_column].nunique(),
                "first_date": dates.min().date(),
                "last_date": dates.max().date(),
                "columns": frame.shape[1],
                # an empty churn date means "still a customer", not missing data
                "missing_cells": float(
                    frame.drop(columns=["churn_date"], errors="ignore").isna().to_numpy().mean()
                ),
            }
        )
    return pd.DataFrame(rows)


def attribute_mix(customers: pd.DataFrame, column: str, min_group_size: int = 10) -> pd.DataFrame:
    """Customers per value of an attribute (plan, region, ...) with churn rate and 95% Wilson interval.

    Values held by fewer than ``min_group_size`` customers are pooled into one ``Other (n groups)`` row
    (see :func:`cxlib.stats._suppression.pool_small_groups`), so none can be derived from the customer
    total. Churn is the share marked ``churned`` (all-time, for contractual data); without a churn
    column only counts and shares are given.
    """
    values, pooling = pool_small_groups(customers[column], min_group_size, column=column)
    table = customers.assign(**{column: values}).groupby(column).size().rename("customers").to_frame()
    table["share"] = table["customers"] / table["customers"].sum()
    if "churned" in customers:
        churned = customers.assign(**{column: values}).groupby(column)["churned"].sum()
        bounds = [wilson_interval(int(churned[g]), int(n)) for g, n in table["customers"].items()]
        table[["churn_rate", "churn_low", "churn_high"]] = pd.DataFrame(bounds, index=table.index)
    table = table.sort_values("customers", ascending=False).reset_index()
    return record_pooling(suppress_small(table, "customers", min_group_size), pooling)


def signups_by_month(customers: pd.DataFrame) -> pd.DataFrame:
    """New customers per calendar month (from ``signup_date``).

    ``first_month`` marks the first month of the data (possibly partial, and left-censored: it may
    hold customers who joined before the data begins), never read as a peak.
    """
    month = customers["signup_date"].dt.to_period("M").dt.to_timestamp()
    out = month.value_counts().sort_index().rename_axis("month").rename("new_customers").reset_index()
    out["first_month"] = out.index == 0
    return out
