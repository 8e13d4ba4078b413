"""Every table of the data-overview report, computed once from the validated data and the config.

The notebook presents a :class:`DataOverview` and never asks which tables exist: a table the
config does not supply leaves its part ``None``, and the report module says so in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cxlib.data._config import Config
from cxlib.data._dropped import OUTCOME_COLUMNS, dropped_outcomes
from cxlib.data._load import CustomerData
from cxlib.features._churn_rule import resolve_churn_rule
from cxlib.features._purchases import latest_answers
from cxlib.features._time import CALENDAR_SLACK_DAYS, DAYS_PER_MONTH, tenure_months
from cxlib.overview._kpis import (
    _engine_reads,
    attribute_mix,
    channel_mix,
    data_health,
    headline_kpis,
    monthly_revenue,
    signups_by_month,
    touchpoint_volumes,
)

#: Customer attributes the churn-by-group table is built on: the first one the data has.
MIX_COLUMNS = ("plan", "acquisition_channel", "region")

#: Survey scores kept for the score distribution.
SCORE_COLUMNS = ("nps", "csat")


@dataclass(frozen=True)
class DataOverview:
    """The aggregates of the data overview (no per-customer rows).

    Attributes
    ----------
    company, currency : str
        From the config.
    as_of : Timestamp
        The data's as-of date.
    tables : tuple of str
        The tables the config supplies.
    warnings, notes : tuple of str
        What validation flagged and what loading did (counts and row numbers, never an id).
    min_group_size : int
        Groups smaller than this were pooled or suppressed.
    health : DataFrame
        :func:`data_health`: one row per table.
    kpis : DataFrame
        :func:`headline_kpis` with the config's active window and churn definition.
    signups : DataFrame or None
        :func:`signups_by_month`; None when the signup dates are derived (from a tenure, or the
        first order in the data): they cannot show when customers were acquired.
    derived_columns : dict of str to str
        :attr:`cxlib.data.CustomerData.derived_columns`: columns loading derived, and from what.
    mix_column : str or None
        The customer attribute of :data:`MIX_COLUMNS` the data has, if any.
    customer_mix : DataFrame or None
        :func:`attribute_mix` by ``mix_column`` with churn rates; None without such a column or
        without a churn flag.
    monthly : DataFrame or None
        :func:`monthly_revenue`; None without transactions.
    channels : DataFrame or None
        :func:`channel_mix`; None without transactions.
    active_customers : int
        Customers the touchpoint rates are per 1,000 of: the active customers, or every customer
        without transactions (``touchpoint_base`` says which).
    touchpoint_base : {"active", "all"}
        ``"active"``: touchpoints are per 1,000 active customers (column ``per_1000_active``);
        ``"all"``: without transactions "active" is undefined, so they are per 1,000 customers of
        the customer table (column ``per_1000_customers``).
    touchpoints : DataFrame or None
        :func:`touchpoint_volumes`; None without interactions.
    scores : DataFrame or None
        The latest NPS and CSAT answers of the last 12 months (score columns only, no ids); None
        without surveys.
    dropped : DataFrame
        Rows loading dropped, compared with those kept (:func:`cxlib.data.dropped_outcomes`;
        empty when none were).
    """

    company: str
    currency: str
    as_of: pd.Timestamp
    tables: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    min_group_size: int
    health: pd.DataFrame
    kpis: pd.DataFrame
    signups: pd.DataFrame | None
    derived_columns: dict
    mix_column: str | None
    customer_mix: pd.DataFrame | None
    monthly: pd.DataFrame | None
    channels: pd.DataFrame | None
    active_customers: int
    touchpoint_base: str
    touchpoints: pd.DataFrame | None
    scores: pd.DataFrame | None
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OUTCOME_COLUMNS))

    def has(self, table: str) -> bool:
        """Whether the config supplies ``table``."""
        return table in self.tables


#: Tenure bands (upper bounds in months, labels) for a customers table with no plan, channel or region.
TENURE_BANDS = ((6, "under 6 months"), (12, "6-12 months"), (24, "1-2 years"), (48, "2-4 years"))


def tenure_bands(customers: pd.DataFrame, as_of, churn_dates: pd.Series | None = None) -> pd.Series:
    """Each customer's tenure band: from signup to the churn date (or ``as_of`` for those who stay).

    ``churn_dates`` (aligned with ``customers``, NaT for those who stay) come from the suite's churn
    rule (:meth:`cxlib.features.ChurnRule.churn_dates`); dates after ``as_of`` count as staying.

    Examples
    --------
    >>> frame = pd.DataFrame({"signup_date": pd.to_datetime(["2025-01-01", "2020-01-01"])})
    >>> tenure_bands(frame, pd.Timestamp("2025-03-01")).tolist()
    ['under 6 months', '4 years or more']
    """
    end = pd.Series(pd.Timestamp(as_of), index=customers.index)
    if churn_dates is not None:
        dates = pd.Series(pd.to_datetime(churn_dates).to_numpy(), index=customers.index)
        end = dates.where(dates <= end).fillna(end)
    # whole years or months recorded as tenures come back a day or two either side of N x 12 months
    months = tenure_months(customers["signup_date"], end) + CALENDAR_SLACK_DAYS / DAYS_PER_MONTH
    bands = pd.Series("4 years or more", index=customers.index)
    for upper, label in reversed(TENURE_BANDS):
        bands = bands.mask(months < upper, label)
    return bands


def data_overview(data: CustomerData, config: Config) -> DataOverview:
    """Compute every table of the data overview with the config's analysis settings.

    Parameters
    ----------
    data : CustomerData
        Validated tables (e.g. from :func:`cxlib.run.load_run_data`).
    config : Config
        Supplies ``company``, ``analysis.currency``, ``analysis.min_group_size``,
        ``analysis.active_days`` and ``analysis.churn`` (``definition``, ``inactivity_days``).

    Returns
    -------
    DataOverview

    Examples
    --------
    >>> overview = data_overview(load_run_data(config, run_dir), config)  # doctest: +SKIP
    >>> overview.kpis.set_index("kpi").loc["active_customers", "window_days"]  # doctest: +SKIP
    90
    """
    analysis = config.analysis
    min_group = analysis["min_group_size"]
    engine = config.values["data"].get("engine") or "pandas"
    kpis = headline_kpis(
        data,
        active_days=analysis["active_days"],
        churn_definition=analysis["churn"]["definition"],
        inactivity_days=analysis["churn"]["inactivity_days"],
        engine=engine,
    )
    customers = data["customers"]
    mix_column = next((c for c in MIX_COLUMNS if c in customers), None)
    if mix_column is None and "signup_date" in customers:  # a bare snapshot: churn by tenure
        rule = resolve_churn_rule(data, analysis["churn"]["definition"], analysis["churn"]["inactivity_days"])
        bands = tenure_bands(customers, data.as_of, rule.churn_dates(data, data.as_of))
        customers = customers.assign(tenure=bands)
        mix_column = "tenure"
    customer_mix = (
        attribute_mix(customers, mix_column, min_group)
        if mix_column is not None and "churned" in customers
        else None
    )
    if customer_mix is not None and mix_column == "tenure":  # bands in their own order, not by size
        order = {label: i for i, label in enumerate([b for _, b in TENURE_BANDS] + ["4 years or more"])}
        customer_mix = customer_mix.sort_values("tenure", key=lambda s: s.map(order), ignore_index=True)
    has_transactions = data.has("transactions")
    monthly = channels = None
    if has_transactions and _engine_reads(data, engine):  # aggregates from the engine: no rows read
        from cxlib.engine import channel_aggregates, monthly_aggregates

        monthly = monthly_revenue(None, data.as_of, monthly_aggregates(data))
        by_channel = channel_aggregates(data, min_group)
        if by_channel is not None:
            channels = channel_mix(None, data.as_of, min_group, by_channel)
    if has_transactions and monthly is None:
        monthly = monthly_revenue(data["transactions"], data.as_of)
    if has_transactions and channels is None:
        channels = channel_mix(data["transactions"], data.as_of, min_group)
    if has_transactions:
        active = int(kpis.set_index("kpi").loc["active_customers", "value"])
    else:
        active = len(customers)
    touchpoints = None
    if data.has("interactions"):
        touchpoints = touchpoint_volumes(data["interactions"], active, data.as_of, min_group)
        if not has_transactions:  # no purchases, so no "active": the base is every customer
            touchpoints = touchpoints.rename(columns={"per_1000_active": "per_1000_customers"})
    derived = dict(getattr(data, "derived_columns", {}))
    scores = None
    if data.has("surveys"):
        latest = latest_answers(data["surveys"], data.as_of)
        scores = latest[[c for c in SCORE_COLUMNS if c in latest]].reset_index(drop=True)
    return DataOverview(
        company=config.company,
        currency=analysis["currency"],
        as_of=data.as_of,
        tables=tuple(data.tables),
        warnings=tuple(getattr(data, "warnings", ())),
        notes=tuple(data.notes),
        min_group_size=min_group,
        health=data_health(data, engine),
        kpis=kpis,
        signups=None if "customers.signup_date" in derived else signups_by_month(customers),
        derived_columns=derived,
        mix_column=mix_column,
        customer_mix=customer_mix,
        monthly=monthly,
        channels=channels,
        active_customers=active,
        touchpoint_base="active" if has_transactions else "all",
        touchpoints=touchpoints,
        scores=scores,
        dropped=dropped_outcomes(data),
    )
