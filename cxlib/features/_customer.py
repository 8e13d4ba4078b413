"""The customer profile at the analysis date: behavioural features from the canonical tables.

RFM plus tenure, purchase rate and interval, basket, channel mix, service contacts, complaints,
NPS/CSAT and churn, one row per customer, from everything dated up to the end of the analysis day.
Orders, order value, tenure and windows are the shared definitions of :mod:`cxlib.features`.

Used by :mod:`cxlib.segment._segmenter` (and any notebook that needs one row per customer).
"""

from __future__ import annotations

import pandas as pd

from cxlib.features._churn_rule import resolve_churn_rule
from cxlib.features._purchases import (
    latest_answers,
    mean_order_value,
    purchases,
    rfm_from_purchases,
    window_transactions,
)
from cxlib.features._time import DAYS_PER_MONTH, dated_before, days_since, end_of_day, tenure_days


def customer_features(
    data,
    exclude: dict[str, list] | None = None,
    churn_definition: str = "auto",
    inactivity_days: int = 180,
    transaction_table: pd.DataFrame | None = None,
    interaction_counts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per customer: RFM, scores, lifecycle, behaviour, service and survey features.

    Parameters
    ----------
    data : CustomerData
        From :func:`cxlib.data._load.load_data`; uses customers, transactions and, when present,
        interactions and surveys.
    exclude : dict, optional
        Transaction column -> values left out of RFM and purchase features (see
        :func:`cxlib.features.window_transactions`).
    churn_definition : str
        auto, contractual or inactivity (see :func:`cxlib.features.resolve_churn_rule`).
    inactivity_days : int
        For the inactivity definition.
    transaction_table : DataFrame, optional
        The transaction columns already computed by an engine
        (:func:`cxlib.engine.transaction_features` for these customers, at this analysis date,
        with these exclusions: equal to what this function computes, ``tests/test_engine.py``);
        then the transaction rows are not grouped here.
    interaction_counts : DataFrame, optional
        Interactions before the end of the analysis date per customer (rows) and kind (columns),
        already counted by an engine (:func:`cxlib.engine.interaction_kinds_from_validated`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``. Columns: RFM (``recency_days``, ``frequency``, ``monetary``,
        scores, ``rfm_segment``), ``tenure_days``, ``active_months`` (signup to the recorded churn
        date under the contractual definition, else to the analysis date; at least 1),
        ``orders_per_active_month`` (purchases per active month), ``spend_per_month`` (net spend
        per active month), ``avg_order_value`` (gross purchase amount per purchase, as
        :func:`cxlib.features.mean_order_value`), ``purchase_interval_days`` (missing with fewer than
        two purchases), ``lines_per_order``, ``refunded_amount_share`` (refunded amount over gross
        purchase amount), ``share_<channel>`` (share of purchases per order channel),
        ``<kind>_per_month`` per interaction kind (per active month), ``nps``/``csat`` means
        (missing when the customer never answered), ``nps_latest_answer`` (the customer's latest
        0-10 answer of the 12 months to the analysis date, as :func:`cxlib.features.latest_answers`
        picks it; the basis of segment NPS) and ``churned`` (by the analysis date, under
        :class:`cxlib.features.ChurnRule`). Missing values are left missing here.

    Examples
    --------
    >>> from cxlib.data._config import load_config  # doctest: +SKIP
    >>> from cxlib.data._load import load_data  # doctest: +SKIP
    >>> feats = customer_features(load_data(load_config("configs/demo_small.yaml")))  # doctest: +SKIP
    >>> feats[["frequency", "orders_per_active_month"]].median()  # doctest: +SKIP
    """
    as_of = pd.Timestamp(data.as_of).normalize()
    customers = data["customers"]
    if transaction_table is None:
        window = window_transactions(data["transactions"], as_of, exclude)
        bought = purchases(window)
        rfm = rfm_from_purchases(window, bought, as_of, customers=customers["customer_id"])
    else:
        rfm = transaction_table.loc[:, :"rfm_segment"]
    out = rfm.copy()
    cust = customers.set_index("customer_id").reindex(out.index)
    signup = cust["signup_date"].dt.normalize()
    out["tenure_days"] = tenure_days(signup, as_of)
    out["active_months"] = active_months(data, out.index, churn_definition, inactivity_days)
    out["orders_per_active_month"] = out["frequency"] / out["active_months"]
    out["spend_per_month"] = spend_per_month(out["monetary"], out["active_months"])

    if transaction_table is not None:
        out = out.join(transaction_table[transaction_table.columns[len(rfm.columns) :]])
    else:
        gross = bought.groupby("customer_id")["amount"].sum().reindex(out.index)
        refunded = (
            -window.loc[window["is_refund"]]
            .groupby("customer_id")["amount"]
            .sum()
            .reindex(out.index)
            .fillna(0)
        )
        frequency = out["frequency"].where(out["frequency"] > 0)
        out["avg_order_value"] = mean_order_value(bought, out.index)
        span = (out["last_purchase"].dt.normalize() - out["first_purchase"].dt.normalize()).dt.days
        out["purchase_interval_days"] = (span / (out["frequency"] - 1)).where(out["frequency"] > 1)
        lines = bought.groupby("customer_id")["lines"].sum().reindex(out.index)
        if bought["lines"].nunique() > 1:
            out["lines_per_order"] = lines / frequency
        out["refunded_amount_share"] = (refunded / gross).clip(0, 1).where(gross > 0)

        if "channel" in bought:
            out = out.join(_channel_mix(bought))
    if data.has("interactions"):
        if interaction_counts is None:
            inter = dated_before(data["interactions"], "timestamp", end_of_day(as_of))
            interaction_counts = inter.groupby(["customer_id", "kind"]).size().unstack(fill_value=0)
        counts = interaction_counts.reindex(out.index).fillna(0)
        for kind in sorted(counts.columns):
            out[f"{_slug(kind)}_per_month"] = counts[kind] / out["active_months"]
    if data.has("surveys"):
        surveys = dated_before(data["surveys"], "date", end_of_day(as_of))
        for score in ("nps", "csat"):
            if score in surveys and surveys[score].notna().any():
                out[score] = surveys.groupby("customer_id")[score].mean().reindex(out.index)
        if "nps" in out:
            # the basis of a Net Promoter Score, as in the overview (cxlib.overview._kpis): one voice per customer
            latest = latest_answers(surveys, as_of).set_index("customer_id")["nps"]
            out["nps_latest_answer"] = latest.reindex(out.index)
    rule = resolve_churn_rule(data, churn_definition, inactivity_days)
    out["churned"] = rule.churned_by(data, as_of).reindex(out.index).to_numpy()
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(text).strip().lower()).strip("_")


def _channel_mix(bought: pd.DataFrame) -> pd.DataFrame:
    """Share of each customer's purchases per order channel (orders without a known channel ignored)."""
    known = bought.loc[bought["channel"].notna(), ["customer_id", "channel"]]
    if known["channel"].nunique() < 2:
        return pd.DataFrame(index=bought["customer_id"].unique())
    slugs = {c: _slug(c) for c in known["channel"].unique()}
    counts = known.groupby(["customer_id", known["channel"].map(slugs)]).size().unstack(fill_value=0)
    mix = counts.div(counts.sum(axis=1), axis=0)
    mix.columns = [f"share_{c}" for c in mix.columns]
    return mix


def active_months(data, ids: pd.Index, churn_definition: str = "contractual", inactivity_days: int = 180):
    """Months each customer was active: sign-up to the recorded churn date or the analysis date.

    The recorded churn date ends them under the contractual definition only; at least 1.

    Parameters
    ----------
    data : CustomerData
    ids : Index
        The customers, in the order wanted.
    churn_definition : str
    inactivity_days : int

    Returns
    -------
    Series of float, indexed by ``ids``
    """
    as_of = pd.Timestamp(data.as_of).normalize()
    signup = data["customers"].set_index("customer_id")["signup_date"].reindex(ids).dt.normalize()
    rule = resolve_churn_rule(data, churn_definition, inactivity_days)
    end = as_of
    if rule.definition == "contractual":  # a recorded churn date ends the active months
        churn_date = rule.churn_dates(data, as_of).reindex(ids).dt.normalize()
        end = churn_date.where(churn_date.notna(), as_of).clip(upper=as_of)
    return (days_since(signup, end).clip(lower=0) / DAYS_PER_MONTH).clip(lower=1.0)


def spend_per_month(monetary: pd.Series, months: pd.Series) -> pd.Series:
    """Net spend per active month: the net amount (0 when negative) over :func:`active_months`.

    Examples
    --------
    >>> spend_per_month(pd.Series([120.0, -5.0]), pd.Series([12.0, 2.0])).tolist()
    [10.0, 0.0]
    """
    return monetary.clip(lower=0) / months


def features_from_config(data, config) -> pd.DataFrame:
    """Call :func:`customer_features` with the config's exclusions and churn definition.

    With ``data.engine: duckdb`` (or ``spark``) and data read from a run's validated Parquet files
    (:attr:`cxlib.data.CustomerData.source`), the transaction columns are computed by the engine
    (:func:`cxlib.engine.features_from_validated`: one query over the files instead of grouping
    millions of rows in pandas; equal column by column); otherwise, or when the engine cannot
    express the data, by pandas.

    Parameters
    ----------
    data : CustomerData
    config : Config

    Returns
    -------
    DataFrame
    """
    churn = config.analysis["churn"]
    exclude = config.values["segmentation"]["exclude_transactions"] or None
    table = kinds = None
    if (config.values["data"].get("engine") or "pandas") != "pandas" and data.source is not None:
        from cxlib.engine import EngineUnsupported, features_from_validated, interaction_kinds_from_validated

        try:
            table = features_from_validated(data, exclude)
            kinds = interaction_kinds_from_validated(data, end_of_day(data.as_of))
        except EngineUnsupported:
            table = kinds = None
    return customer_features(
        data,
        exclude=exclude,
        churn_definition=churn["definition"],
        inactivity_days=churn["inactivity_days"],
        transaction_table=table,
        interaction_counts=kinds,
    )
