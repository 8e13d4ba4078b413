"""Churn-driver features: what was known about each customer strictly before a cut-off.

The churn panel (:func:`cxlib.churn.churn_panel`) joins these with the label after the cut-off,
and scoring (:func:`cxlib.churn.scoring_features`) reads them at the analysis date. Nothing dated
on or after the cut-off is read (``tests/test_churn.py`` and ``tests/test_features.py`` move and
plant records after it and check that nothing changes). Orders, order value, tenure and the
12-month window are the shared definitions of :mod:`cxlib.features`, so the same customer gets the
same numbers here as in the profile (:func:`cxlib.features.customer_features`) at the same date.

Examples
--------
>>> features = driver_features(data, pd.Timestamp("2025-07-01"))  # doctest: +SKIP
>>> features[["orders_per_month_12m", "mean_order_value"]].median()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.exceptions import ConfigError
from cxlib.features._purchases import (
    mean_order_value,
    orders_per_customer,
    purchases,
    refunds,
    transactions_before,
)
from cxlib.features._time import DAYS_PER_MONTH, YEAR_DAYS, dated_before, days_since, tenure_months


def driver_features(
    data,
    at,
    numeric_features: list[str] | tuple = (),
    categorical_features: list[str] | tuple = (),
    long_wait_minutes: float = 20,
    engine: str = "pandas",
) -> pd.DataFrame:
    """Per-customer features from data dated strictly before ``at``.

    Parameters
    ----------
    data : CustomerData
        Loaded tables; transactions, interactions, surveys and programme are used when present.
    at : Timestamp
        The cut-off: nothing dated on or after it is read; tenure and recency are counted to it.
    numeric_features, categorical_features : list of str
        Extra customer columns (text in the file) typed as numbers or categories.
    long_wait_minutes : float
        A support wait longer than this counts as a long wait.
    engine : str
        ``data.engine``: with ``duckdb`` (or ``spark``) and data read from a run's validated
        Parquet files, the order counts are computed by the engine
        (:func:`cxlib.engine.driver_orders_from_validated`; equal to the pandas path).

    Returns
    -------
    DataFrame
        One row per customer who signed up before ``at``: ``customer_id``, ``tenure_months``
        (:func:`cxlib.features.tenure_months` at ``at``), ``plan``/``region``/``acquisition_channel``
        when present; behaviour (orders are :func:`cxlib.features.purchases`):
        ``orders_per_month_12m`` (orders in the 12 months before ``at`` per month of that year the
        customer was signed up), ``mean_order_value`` (gross per order,
        :func:`cxlib.features.mean_order_value`, all history), ``days_since_last_order`` (whole
        days from the last order's day; tenure in days for a customer who never bought),
        ``refunded_order_share`` (refunded orders over orders, all history); experience
        (``support_contacts`` and ``cart_abandonments`` per month of the last 12, ``complaints``,
        and the flags ``unresolved_complaint`` and ``long_wait`` when the data carry their columns);
        surveys (``satisfaction_z``, ``no_survey``); ``programme_treatment``; the extra columns.

    Raises
    ------
    ConfigError
        If an extra column is not in the customers table.
    """
    at = pd.Timestamp(at)
    customers = data["customers"]
    customers = customers.loc[customers["signup_date"] < at]
    out = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy()})
    out["tenure_months"] = tenure_months(customers["signup_date"], at).to_numpy()
    for column in ("plan", "region", "acquisition_channel"):
        if column in customers and customers[column].notna().any():
            out[column] = customers[column].fillna("unknown").astype(str).to_numpy()
    ids = pd.Index(out["customer_id"])
    months_seen = np.minimum(out["tenure_months"].to_numpy(), 12.0).clip(min=0.5)
    if data.has("transactions") and engine != "pandas" and getattr(data, "source", None) is not None:
        from cxlib.engine import driver_orders_from_validated

        counts = driver_orders_from_validated(data, at, ids)
        n_orders = counts["orders"].to_numpy()
        out["orders_per_month_12m"] = counts["recent_orders"].to_numpy() / months_seen
        out["mean_order_value"] = (counts["gross"] / counts["orders"].where(counts["orders"] > 0)).to_numpy()
        last = counts["last_order"]
        out["days_since_last_order"] = np.where(
            last.isna(), out["tenure_months"] * DAYS_PER_MONTH, days_since(last, at)
        )
        out["refunded_order_share"] = counts["refunded_orders"].to_numpy() / np.maximum(n_orders, 1)
    elif data.has("transactions"):
        window = transactions_before(data["transactions"], at)
        bought = purchases(window)
        recent = dated_before(bought, "order_date", at, YEAR_DAYS)
        out["orders_per_month_12m"] = orders_per_customer(recent, ids).to_numpy() / months_seen
        out["mean_order_value"] = mean_order_value(bought, ids).to_numpy()
        last = bought.groupby("customer_id")["order_date"].max().reindex(ids)
        out["days_since_last_order"] = np.where(
            last.isna(), out["tenure_months"] * DAYS_PER_MONTH, days_since(last, at)
        )
        n_orders = orders_per_customer(bought, ids).to_numpy()
        n_refunded = orders_per_customer(refunds(window), ids).to_numpy()
        out["refunded_order_share"] = n_refunded / np.maximum(n_orders, 1)
    if data.has("interactions") and engine != "pandas" and getattr(data, "source", None) is not None:
        from cxlib.engine import friction_from_validated

        out = out.join(friction_from_validated(data, at, ids, months_seen, long_wait_minutes))
    elif data.has("interactions"):
        friction = friction_features(data, at, long_wait_minutes, months_seen)
        out = out.join(friction.drop(columns="customer_id"))
    if data.has("surveys"):
        answers = dated_before(data["surveys"], "date", at)
        out["satisfaction_z"], out["no_survey"] = _survey_features(answers, ids)
    if data.has("programme"):
        prog = dated_before(data["programme"], "start_date", at)
        treated = prog.loc[prog["group"].str.lower() == "treatment", "customer_id"]
        out["programme_treatment"] = ids.isin(treated).astype(float)
    by_id = customers.set_index("customer_id")
    for column in numeric_features:
        _require_column(customers, column, "numeric_features")
        out[column] = pd.to_numeric(by_id[column].reindex(ids), errors="coerce").to_numpy()
    for column in categorical_features:
        _require_column(customers, column, "categorical_features")
        out[column] = by_id[column].reindex(ids).astype("string").str.strip().fillna("unknown").to_numpy()
    return out


def _require_column(customers: pd.DataFrame, column: str, key: str) -> None:
    if column not in customers:
        raise ConfigError(
            f"churn_model.{key}: customers has no column '{column}'; "
            f"available: {', '.join(map(str, customers.columns))}"
        )


def friction_features(
    data,
    at,
    long_wait_minutes: float = 20,
    months_seen: np.ndarray | None = None,
) -> pd.DataFrame:
    """Friction a customer met before ``at``: contacts, complaints, long waits, abandoned carts.

    The one definition shared by the churn model (:func:`driver_features` calls it) and the
    experience capability (:mod:`cxlib.experience`), so both read the same numbers for a customer.
    Only interactions dated strictly before ``at`` are read.

    Parameters
    ----------
    data : CustomerData
        Loaded tables; ``interactions`` is read when present.
    at : Timestamp
        The cut-off.
    long_wait_minutes : float
        A wait longer than this counts as a long wait.
    months_seen : array, optional
        Per customer signed up before ``at`` (in the customers table's order), the months of the
        last 12 in which the customer was signed up (at least half a month): the denominator of the
        per-month rates. Default: computed from tenure at ``at``.

    Returns
    -------
    DataFrame
        One row per customer signed up before ``at`` (customers table order): ``customer_id``;
        with an interactions table also ``support_contacts`` (support contacts per month of the
        last 12), ``complaints`` (count, all history), ``unresolved_complaint`` (1 when a complaint
        is marked not resolved; only with a ``resolved`` column), ``long_wait`` (1 when a wait was
        longer than ``long_wait_minutes``; only with a ``wait_minutes`` column) and
        ``cart_abandonments`` (per month of the last 12).

    Examples
    --------
    >>> friction = friction_features(data, pd.Timestamp("2025-07-01"))  # doctest: +SKIP
    >>> friction["unresolved_complaint"].mean()  # doctest: +SKIP
    """
    at = pd.Timestamp(at)
    customers = data["customers"]
    customers = customers.loc[customers["signup_date"] < at]
    ids = pd.Index(customers["customer_id"].to_numpy())
    out = pd.DataFrame({"customer_id": ids.to_numpy()})
    if not data.has("interactions"):
        return out
    if months_seen is None:
        months_seen = np.minimum(tenure_months(customers["signup_date"], at).to_numpy(), 12.0).clip(min=0.5)
    events = dated_before(data["interactions"], "timestamp", at)
    return out.join(_experience_features(events, at, ids, long_wait_minutes, months_seen))


def _experience_features(events, at, ids, long_wait_minutes, months_seen) -> pd.DataFrame:
    """Service-experience features from the interactions before ``at``.

    Those needing an optional column the data lack are left out.
    """
    recent = events["timestamp"] >= at - pd.Timedelta(days=YEAR_DAYS)
    kind = events["kind"].str.lower()

    def count(mask):
        return events.loc[mask].groupby("customer_id").size().reindex(ids, fill_value=0).to_numpy()

    complaint = kind == "complaint"
    features = {
        "support_contacts": count((kind == "support_contact") & recent) / months_seen,
        "complaints": count(complaint).astype(float),
    }
    # resolved and wait_minutes are optional in the data contract
    if "resolved" in events:
        unresolved = complaint & events["resolved"].eq(False).fillna(False).to_numpy(bool)
        features["unresolved_complaint"] = (count(unresolved) > 0).astype(float)
    if "wait_minutes" in events:
        long_wait = events["wait_minutes"].fillna(0).to_numpy() > long_wait_minutes
        features["long_wait"] = (count(long_wait) > 0).astype(float)
    features["cart_abandonments"] = count((kind == "cart_abandoned") & recent) / months_seen
    return pd.DataFrame(features, index=range(len(ids)))


def _survey_features(answers: pd.DataFrame, ids) -> tuple[np.ndarray, np.ndarray]:
    """Mean standardised survey score (NPS and CSAT averaged); 0 with a flag for non-responders."""
    scores = [c for c in ("csat", "nps") if c in answers and answers[c].notna().any()]
    if not scores or answers.empty:
        return np.zeros(len(ids)), np.ones(len(ids))
    z = pd.concat([(answers[c] - answers[c].mean()) / (answers[c].std() or 1.0) for c in scores], axis=1)
    per_answer = pd.Series(z.mean(axis=1).to_numpy(), index=answers["customer_id"].to_numpy())
    per_customer = per_answer.groupby(level=0).mean().reindex(ids)
    return per_customer.fillna(0.0).to_numpy(), per_customer.isna().astype(float).to_numpy()
