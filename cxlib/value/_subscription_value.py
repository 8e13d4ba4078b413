"""Subscription value of today's customers: the churn capability's survival model x their monthly margin.

Used by :func:`cxlib.value.value_study` when churn is contractual (recorded churn dates or a churn
label). The survival model is the churn capability's own (:class:`cxlib.churn.RemainingLifetime`,
fitted on its panel as notebook 02 fits it), read for the customers still active at the analysis
date with their features there (:func:`cxlib.churn.scoring_features`). Each customer's margin per
month is their revenue per month (the customers column named by ``value.monthly_revenue``, or the
average monthly spend of their last 12 months of transactions, counting only months they were a
customer) times ``analysis.margin``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.features import YEAR_DAYS, end_of_day, purchases, tenure_months, transactions_before
from cxlib.value._subscription import SubscriptionValue, survival_clv

#: Group variables the subscription value is summarised by (the first the data have).
GROUP_PREFERENCE = ("segment_name", "plan", "acquisition_channel", "region")


def monthly_revenue(data, column: str | None, ids: pd.Index, engine: str = "pandas") -> pd.Series:
    """Revenue per month of each customer in ``ids``: a customers column, or from the last 12 months' purchases.

    With ``engine`` other than pandas and a run's validated Parquet data, the purchases are summed
    by the engine (:func:`cxlib.engine.recent_spend_from_validated`).

    Raises
    ------
    ValueError
        When ``column`` is None and there are no transactions, or the column is not in the customers table.
    """
    customers = data["customers"].drop_duplicates("customer_id").set_index("customer_id")
    if column is not None:
        if column not in customers:
            raise ValueError(f"value.monthly_revenue: the customers table has no column {column!r}")
        return pd.to_numeric(customers[column], errors="coerce").reindex(ids)
    if not data.has("transactions"):
        raise ValueError("value.monthly_revenue is not set and there are no transactions to derive it from")
    end = end_of_day(data.as_of)
    start = end - pd.Timedelta(days=YEAR_DAYS)
    spend = None
    if getattr(data, "source", None) is not None and engine != "pandas":
        from cxlib.engine import EngineUnsupported, recent_spend_from_validated

        try:  # the same sums from the run's validated Parquet data (tests/test_value_engine.py)
            spend = recent_spend_from_validated(data, start, end, ids)
        except EngineUnsupported:
            spend = None
    if spend is None:
        bought = purchases(transactions_before(data["transactions"], end))
        bought = bought.loc[bought["order_date"] >= start]
        spend = bought.groupby("customer_id")["amount"].sum().reindex(ids).fillna(0.0)
    signup = customers["signup_date"].reindex(ids)
    months = np.minimum(tenure_months(signup, pd.Timestamp(data.as_of)).to_numpy(), 12.0).clip(min=1.0)
    return spend / months


def subscription_value(
    data, config, settings: dict, groups: pd.DataFrame | None = None
) -> tuple[SubscriptionValue, object]:
    """Survival-based value of every active customer, with intervals, summarised by one group variable.

    Parameters
    ----------
    data : CustomerData
    config : Config
        The churn model's settings (features, reference levels) and the seed.
    settings : dict
        :func:`cxlib.value.value_settings` (margin_rate, annual_discount_rate, horizon_months,
        monthly_revenue, n_draws, seed).
    groups : DataFrame, optional
        Indexed by customer_id: group variables (e.g. ``segment_name``, ``plan``); the first of
        :data:`GROUP_PREFERENCE` present summarises the value.

    Returns
    -------
    value : SubscriptionValue
        Its ``settings`` also record ``by`` (the group variable, or None: then a constant group
        ``all customers``), ``revenue_source`` (the customers column, ``transactions``, or None when
        neither is there: the value is then in discounted months as a customer, a margin of 1 a
        month) and ``customers_without_revenue``.
    model : RemainingLifetime
        The fitted survival model.
    """
    from cxlib.churn import lifetime_fit

    fit = lifetime_fit(data, config)  # notebook 02's fit when this run made it (same data and config)
    model, current = fit.model, fit.current
    ids = pd.Index(current["customer_id"])
    column = settings.get("monthly_revenue")
    if column is None and not data.has("transactions"):
        # no money to weigh the months by: value in discounted months as a customer (margin 1 a month)
        revenue, source = pd.Series(1.0, index=ids), None
        margin_rate = 1.0
    else:
        engine = config.values["data"].get("engine") or "pandas"
        revenue, source = monthly_revenue(data, column, ids, engine), column or "transactions"
        margin_rate = float(settings["margin_rate"])
    known = revenue.notna().to_numpy()
    current = current.loc[known].reset_index(drop=True)
    margin = revenue.to_numpy()[known] * margin_rate
    by = None
    current["_group"] = "all customers"
    if groups is not None:
        by = next((c for c in GROUP_PREFERENCE if c in groups and groups[c].notna().any()), None)
        if by is not None:
            current["_group"] = (
                groups[by].reindex(current["customer_id"]).astype("string").fillna("unknown").to_numpy()
            )
    value = survival_clv(
        model,
        current,
        margin,
        settings["annual_discount_rate"],
        settings["horizon_months"],
        by="_group",
        n_draws=int(settings["n_draws"]),
        seed=int(settings["seed"]),
    )
    value.settings.update(
        by=by,
        revenue_source=source,
        customers_without_revenue=int((~known).sum()),
    )
    return value, model
