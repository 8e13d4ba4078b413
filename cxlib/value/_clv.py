"""Customer lifetime value from a repeat-buying model and a spend model, with intervals.

For each customer, the value of the next ``horizon_months`` on margin:

    CLV_i = margin rate x E[spend per purchase_i] x sum over months m of
            (E[purchases by month m] - E[purchases by month m-1]) / (1 + d_month)^m

with the expected purchases conditional on the customer's own history (frequency, recency, age;
:meth:`expected_purchases` of :class:`cxlib.value.BetaGeo` or :class:`cxlib.value.ParetoNBD`), the
expected spend from :class:`cxlib.value.GammaGamma`, and the annual discount rate turned monthly
((1 + d)^(1/12) - 1). Monthly steps discount purchases at the end of the month they fall in, as
lifetimes' ``customer_lifetime_value`` does.

Intervals carry the uncertainty of the estimated parameters (not the customer's own chance of
buying more or less): the delta method on the log of the value, with the gradient by central
differences and the two models' covariances (fitted separately, so independent). When either
covariance is unusable (not finite, or with a negative eigenvalue, as a pseudo-inverse of a
singular information can be) the intervals are NaN rather than falsely narrow. Sums over a
segment or the whole base use the gradient of the sum, so they are not the sums of the intervals.
Computing the gradient takes 2 x (parameters) evaluations; a bootstrap or parameter draws would
take hundreds, which a million customers cannot afford.

Examples
--------
>>> values = transaction_clv(purchase, spend, summary, margin_rate=0.3, annual_discount_rate=0.08,
...                          horizon_months=36)  # doctest: +SKIP
>>> group_value(values, segments["segment_name"])  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.features import DAYS_PER_MONTH

#: Relative step of the central differences (absolute for parameters near zero).
STEP = 1e-4
#: Customers per chunk of the monthly grid (bounds memory on a million customers).
CHUNK = 50_000


def monthly_rate(annual_discount_rate: float) -> float:
    """The monthly discount rate equivalent to an annual one: (1 + d)^(1/12) - 1."""
    return (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0


def discounted_purchases(
    model, summary: pd.DataFrame, horizon_months: int, annual_discount_rate: float, params=None
) -> np.ndarray:
    """Expected purchases of each customer over the horizon, each discounted to today.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        A fitted repeat-buying model.
    summary : DataFrame
        :func:`cxlib.features.repeat_purchase_summary` (plus the model's covariate columns);
        ``attrs["unit_days"]`` gives its time unit (default 7).
    horizon_months : int
    annual_discount_rate : float
    params : Series or dict, optional
        Parameters to evaluate at (default the fitted ones).
    """
    unit_days = float(summary.attrs.get("unit_days", 7.0))
    months = np.arange(1, int(horizon_months) + 1)
    steps = months * DAYS_PER_MONTH / unit_days
    discount = (1.0 + monthly_rate(annual_discount_rate)) ** -months.astype(float)
    out = np.empty(len(summary))
    for start in range(0, len(summary), CHUNK):
        part = summary.iloc[start : start + CHUNK]
        previous = np.zeros(len(part))
        total = np.zeros(len(part))
        if hasattr(model, "expected_purchases_steps"):  # the same numbers, shared parts computed once
            path = model.expected_purchases_steps(steps, part, params=params)
        else:
            path = (model.expected_purchases(step, part, params=params) for step in steps)
        for cumulative, weight in zip(path, discount, strict=True):
            cumulative = np.asarray(cumulative, float)
            total += weight * (cumulative - previous)
            previous = cumulative
        out[start : start + len(part)] = total
    return out


@dataclass
class CustomerValue:
    """Per-customer lifetime value with the gradient that gives intervals for any group of customers.

    Attributes
    ----------
    table : DataFrame
        Indexed by ``customer_id``: ``probability_alive``, ``expected_purchases`` (over the horizon,
        undiscounted), ``expected_spend`` (per purchase), ``clv`` (discounted margin over the
        horizon), ``clv_low``, ``clv_high`` (interval from parameter uncertainty).
    gradient : ndarray, shape (n, k)
        d clv / d parameter, per customer, for :data:`parameters`.
    covariance : ndarray, shape (k, k)
        Covariance of the parameters (block-diagonal: purchase model, spend model).
    parameters : list of str
        Parameter names (``purchase:r``, ..., ``spend:p``, ...).
    alpha : float
        1 - the interval's level.
    settings : dict
        margin_rate, annual_discount_rate, horizon_months, unit_days.
    """

    table: pd.DataFrame
    gradient: np.ndarray
    covariance: np.ndarray
    parameters: list[str]
    alpha: float
    settings: dict


def _shifted(params: pd.Series, name: str, sign: int) -> tuple[pd.Series, float]:
    value = float(params[name])
    step = STEP * max(abs(value), 1e-2)
    moved = params.copy()
    moved[name] = value + sign * step
    return moved, step


def transaction_clv(
    purchase_model,
    spend_model,
    summary: pd.DataFrame,
    *,
    margin_rate: float,
    annual_discount_rate: float,
    horizon_months: int,
    alpha: float = 0.05,
) -> CustomerValue:
    """Lifetime value of every customer in ``summary`` from a purchase model and a spend model.

    Parameters
    ----------
    purchase_model : BetaGeo or ParetoNBD
        Fitted on (a calibration period of) the same customers.
    spend_model : GammaGamma
        Fitted; customers without a repeat purchase get the population mean spend.
    summary : DataFrame
        :func:`cxlib.features.repeat_purchase_summary` at the valuation date (plus covariate columns).
    margin_rate : float
        Share of revenue kept as gross margin (value is on margin, never on revenue).
    annual_discount_rate : float
    horizon_months : int
    alpha : float
        1 - the level of the intervals.

    Returns
    -------
    CustomerValue
    """
    p_params = purchase_model.params_.astype(float)
    s_params = spend_model.params_.astype(float)
    # the purchase model reads a customer's history only: evaluated once per distinct history
    histories, inverse = distinct_histories(purchase_model, summary)
    args = (histories, horizon_months, annual_discount_rate)
    purchases = discounted_purchases(purchase_model, *args)[inverse]
    spend = np.asarray(spend_model.conditional_expected_spend(summary), float)
    clv = margin_rate * spend * purchases
    gradient = []
    for name in p_params.index:
        up, step = _shifted(p_params, name, +1)
        down, _ = _shifted(p_params, name, -1)
        slope = (
            discounted_purchases(purchase_model, *args, params=up)
            - discounted_purchases(purchase_model, *args, params=down)
        )[inverse] / (2 * step)
        gradient.append(margin_rate * spend * slope)
    for name in s_params.index:
        up, step = _shifted(s_params, name, +1)
        down, _ = _shifted(s_params, name, -1)
        slope = (
            np.asarray(spend_model.conditional_expected_spend(summary, params=up), float)
            - np.asarray(spend_model.conditional_expected_spend(summary, params=down), float)
        ) / (2 * step)
        gradient.append(margin_rate * purchases * slope)
    gradient = np.column_stack(gradient)
    k_p = len(p_params)
    covariance = np.zeros((gradient.shape[1], gradient.shape[1]))
    covariance[:k_p, :k_p] = purchase_model.covariance_.loc[p_params.index, p_params.index].to_numpy()
    covariance[k_p:, k_p:] = spend_model.covariance_.loc[s_params.index, s_params.index].to_numpy()
    if not _positive_semidefinite(covariance):
        # e.g. a pseudo-inverse of a singular information (ParetoNBD's "pnbd.covariance_singular"):
        # negative variances would give intervals far too narrow, so give none
        covariance = np.full_like(covariance, np.nan)
    se = np.sqrt(np.einsum("ij,jk,ik->i", gradient, covariance, gradient).clip(min=0))
    low, high = _log_interval(clv, se, alpha)
    unit_days = float(summary.attrs.get("unit_days", 7.0))
    horizon_units = horizon_months * DAYS_PER_MONTH / unit_days
    table = pd.DataFrame(
        {
            "probability_alive": np.asarray(purchase_model.probability_alive(histories), float)[inverse],
            "expected_purchases": np.asarray(
                purchase_model.expected_purchases(horizon_units, histories), float
            )[inverse],
            "expected_spend": spend,
            "clv": clv,
            "clv_low": low,
            "clv_high": high,
        },
        index=summary.index,
    )
    return CustomerValue(
        table=table,
        gradient=gradient,
        covariance=covariance,
        parameters=[f"purchase:{n}" for n in p_params.index] + [f"spend:{n}" for n in s_params.index],
        alpha=alpha,
        settings={
            "margin_rate": margin_rate,
            "annual_discount_rate": annual_discount_rate,
            "horizon_months": horizon_months,
            "unit_days": unit_days,
        },
    )


#: Columns a customer's purchases depend on in each repeat-buying model (besides its covariates).
HISTORY_COLUMNS = ("frequency", "recency", "T")


def distinct_histories(model, summary: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct customer histories the purchase model reads, and each customer's row among them.

    BG/NBD and Pareto/NBD predictions depend on a customer only through frequency, recency, T (and
    the model's covariate columns), row by row, so evaluating them once per distinct history and
    taking each customer's gives the very same numbers (``tests/test_value_clv.py``); on a million
    customers about a third of the histories repeat. Other models get every row back.

    Returns
    -------
    (DataFrame, ndarray)
        The distinct rows (first occurrences, in order, with ``summary.attrs``) and, per customer
        of ``summary``, the position of their history among them.
    """
    from cxlib.value._bgnbd import BetaGeo
    from cxlib.value._pareto_nbd import ParetoNBD

    if not isinstance(model, (BetaGeo, ParetoNBD)) or len(summary) == 0:
        return summary, np.arange(len(summary))
    covariates = [*getattr(model, "purchase_covariates", ()), *getattr(model, "dropout_covariates", ())]
    columns = list(dict.fromkeys([*HISTORY_COLUMNS, *covariates]))
    inverse = summary.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    first = np.full(inverse.max() + 1, len(inverse), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(inverse)))
    histories = summary.iloc[first]
    histories.attrs = dict(summary.attrs)
    return histories, inverse


def _positive_semidefinite(covariance: np.ndarray) -> bool:
    """Whether a covariance matrix is finite with no eigenvalue below zero (beyond rounding)."""
    if not np.all(np.isfinite(covariance)):
        return False
    eigenvalues = np.linalg.eigvalsh((covariance + covariance.T) / 2)
    return bool(eigenvalues.min() >= -1e-8 * max(np.abs(eigenvalues).max(), np.finfo(float).tiny))


def _log_interval(value, se, alpha):
    """Interval on the log scale (values stay positive): value x exp(-/+ z se / value)."""
    value = np.asarray(value, float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(value > 0, np.exp(z * np.asarray(se) / value), 1.0)
    return value / spread, value * spread


def group_value(value: CustomerValue, groups: pd.Series | None = None) -> pd.DataFrame:
    """Total and mean value per group (or of everyone), with intervals from the gradient of the sum.

    Parameters
    ----------
    value : CustomerValue
    groups : Series, optional
        Group of each customer, indexed by ``customer_id`` (customers missing from it form the group
        ``unknown``); None: one row, ``all customers``.

    Returns
    -------
    DataFrame
        ``group``, ``customers``, ``total``, ``total_low``, ``total_high``, ``mean``, ``mean_low``,
        ``mean_high``, ``probability_alive`` (mean), ``expected_purchases`` (mean), sorted by total.
    """
    table = value.table
    if groups is None:
        labels = pd.Series("all customers", index=table.index)
    else:
        labels = groups.reindex(table.index).astype("string").fillna("unknown")
    # each group's customers as positions in the table (ascending), from the labels' codes: no
    # lookup of id strings per group (seconds on a million customers)
    codes, names = pd.factorize(labels.to_numpy(), sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rows = []
    for code, name in enumerate(names):
        where = order[bounds[code] : bounds[code + 1]]
        total = float(table["clv"].to_numpy()[where].sum())
        g = value.gradient[where].sum(axis=0)
        se = float(np.sqrt(max(g @ value.covariance @ g, 0.0)))
        low, high = _log_interval(np.array([total]), np.array([se]), value.alpha)
        n = len(where)
        rows.append(
            {
                "group": str(name),
                "customers": n,
                "total": total,
                "total_low": float(low[0]),
                "total_high": float(high[0]),
                "mean": total / n,
                "mean_low": float(low[0]) / n,
                "mean_high": float(high[0]) / n,
                "probability_alive": float(table["probability_alive"].to_numpy()[where].mean()),
                "expected_purchases": float(table["expected_purchases"].to_numpy()[where].mean()),
            }
        )
    return pd.DataFrame(rows).sort_values("total", ascending=False, kind="stable").reset_index(drop=True)


def value_change(
    purchase_model,
    spend_model,
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    margin_rate: float,
    annual_discount_rate: float,
    horizon_months: int,
    alpha: float = 0.05,
) -> dict:
    """How the value of the same customers changes when their covariates change (a what-if).

    ``before`` and ``after`` hold the same customers, in the same order, with different covariate
    values (e.g. an unresolved complaint set from 1 to 0); the purchase model must read those
    covariates (:class:`cxlib.value.ParetoNBD` with them on its dropout rate). The interval of the
    change uses the gradient of the difference, as both values rest on the same parameters.

    Returns
    -------
    dict
        ``customers``, ``value_before``, ``value_after``, ``change`` (after - before) with
        ``change_low`` and ``change_high`` (normal interval: a change may have either sign).
    """
    if not before.index.equals(after.index):
        raise ValueError("before and after must hold the same customers in the same order")
    settings = {
        "margin_rate": margin_rate,
        "annual_discount_rate": annual_discount_rate,
        "horizon_months": horizon_months,
        "alpha": alpha,
    }
    first = transaction_clv(purchase_model, spend_model, before, **settings)
    second = transaction_clv(purchase_model, spend_model, after, **settings)
    change = float(second.table["clv"].sum() - first.table["clv"].sum())
    g = (second.gradient - first.gradient).sum(axis=0)
    se = float(np.sqrt(max(g @ first.covariance @ g, 0.0)))
    z = stats.norm.ppf(1 - alpha / 2)
    return {
        "customers": len(before),
        "value_before": float(first.table["clv"].sum()),
        "value_after": float(second.table["clv"].sum()),
        "change": change,
        "change_low": change - z * se,
        "change_high": change + z * se,
    }
