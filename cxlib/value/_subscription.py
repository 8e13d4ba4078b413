"""Customer value for subscription (contractual) businesses: margin x survival, discounted.

A subscriber pays a margin each period for as long as they stay, so their expected value over a
horizon of H periods, given the tenure T0 already reached, is

    CLV = sum_{t=1..H} m_t * S(T0 + t) / S(T0) / (1 + d)^t

with payments at the end of each period (the first one discounted once). With a constant
retention rate r (S(t) = r^t) and margin m this is the textbook m r / (1 + d - r) as H grows,
whatever the tenure reached (Gupta and Lehmann 2003; Fader and Hardie 2010 show how heterogeneity
makes the constant-rate formula undervalue a customer base).

- :func:`discounted_survival_value`: the sum itself, for a survival curve given as numbers (one
  curve or one per customer) or as a function.
- :func:`survival_clv`: per-customer (and per-group) value from the churn capability's Weibull
  model (:class:`cxlib.churn.RemainingLifetime`), with intervals that carry the model's parameter
  uncertainty (draws from the asymptotic normal of its estimates).

Examples
--------
>>> round(discounted_survival_value(10.0, 0.9 ** np.arange(5001), 0.01), 6)  # 10 * 0.9 / (1.01 - 0.9)
81.818182
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.stats._notes import Note

#: Draws of the survival model's parameters behind each interval.
DEFAULT_DRAWS = 200
#: Upper bound on draws x customers x months held at once in :func:`survival_clv`.
_MAX_CELLS = 4_000_000
#: Above this many customers :func:`survival_clv` evaluates the parameter draws on a seeded sample
#: of this many customers (every customer still gets the point value): the draws cost draws x
#: customers x months (200 x 1M x 37 cells, minutes; a sample of 100,000 still took 40 s), and a
#: group total's interval is the sample's per-draw total scaled to the group's point total (a ratio
#: estimate; a group the random sample misses or barely reaches is topped up to
#: :data:`MIN_GROUP_DRAWS` customers). Per-customer intervals are
#: then given for the sampled customers only; the caveat ``value.draw_sample`` says so. Its error
#: is measured in ``tests/test_value_subscription.py``.
DRAW_CUSTOMERS = 20_000


def periodic_discount_rate(annual_rate: float, periods_per_year: int = 12) -> float:
    """Discount rate per period equivalent to an annual rate: (1 + annual)^(1 / periods) - 1.

    Parameters
    ----------
    annual_rate : float
    periods_per_year : int

    Returns
    -------
    float

    Examples
    --------
    >>> round(periodic_discount_rate(0.08), 6)
    0.006434
    """
    if not annual_rate > -1:
        raise ValueError(f"annual_rate is {annual_rate}; expected a rate above -1 (e.g. 0.08 for 8%)")
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def discounted_survival_value(
    margin_per_period,
    survival,
    discount_rate_per_period: float,
    tenure_reached=None,
    horizon_periods: int | None = None,
):
    """Expected discounted margin over the next periods, given survival so far.

    Computes sum_{t=1..H} m_t S(T0 + t) / S(T0) / (1 + d)^t, vectorised over customers.

    Parameters
    ----------
    margin_per_period : float or array-like
        A scalar; one value per future period t = 1..H (shape (H,)); or per customer and period
        (shape (customers, H), or (customers, 1) for one margin per customer).
    survival : array-like or callable
        S(t) at t = 0, 1, 2, ... periods of tenure: shape (N + 1,) for one curve, or
        (customers, N + 1) for one curve per customer (leading axes such as draws x customers
        are kept). Or a function of an array of tenures (in
        periods, real values allowed) returning S at each, which needs ``horizon_periods``.
    discount_rate_per_period : float
        E.g. :func:`periodic_discount_rate` of an annual rate for monthly periods.
    tenure_reached : int or array-like, optional
        T0, the periods each customer has already been a customer (default 0). With an array
        ``survival`` it indexes the curve, so it must be whole periods.
    horizon_periods : int, optional
        H. Default with an array ``survival``: as far as the curve goes (N - max T0).

    Returns
    -------
    float or ndarray
        A float for one curve and one tenure; otherwise one value per customer.

    Examples
    --------
    Constant retention 0.8, margin 10, 1% a period: 10 * 0.8 / (1.01 - 0.8) over a long horizon.

    >>> value = discounted_survival_value(10.0, 0.8 ** np.arange(3001), 0.01)
    >>> bool(np.isclose(value, 10 * 0.8 / (1.01 - 0.8)))
    True
    """
    if not discount_rate_per_period > -1:
        raise ValueError(
            f"discount_rate_per_period is {discount_rate_per_period}; expected a rate above -1 (e.g. 0.0064)"
        )
    scalar_tenure = tenure_reached is None or np.ndim(tenure_reached) == 0
    tenure = np.asarray(0.0 if tenure_reached is None else tenure_reached, dtype=float)
    if callable(survival):
        curve = _curve_from_function(survival, tenure, horizon_periods)
        one_curve = scalar_tenure
    else:
        values = np.asarray(survival, dtype=float)
        if values.ndim == 0 or values.shape[-1] < 2:
            raise ValueError(
                f"survival has shape {values.shape}; expected S(0..N) as (N + 1,) or (customers, N + 1), N >= 1"
            )
        curve = _curve_from_values(values, tenure, horizon_periods)
        one_curve = values.ndim == 1 and scalar_tenure
    horizon = curve.shape[-1] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        # S(T0) = 0 means nobody survives to T0: no conditional value (NaN)
        weighted = curve[..., 1:] / curve[..., :1]
    weighted *= (1.0 + discount_rate_per_period) ** -np.arange(1, horizon + 1, dtype=float)
    margin = np.asarray(margin_per_period, dtype=float)
    try:
        shape = np.broadcast_shapes(margin.shape, weighted.shape)
    except ValueError:
        shape = None
    if shape != weighted.shape:
        raise ValueError(
            f"margin_per_period has shape {margin.shape}, which does not fit {weighted.shape[:-1]} "
            f"customers x {horizon} periods: pass a scalar, one value per period ({horizon},) or per "
            f"customer as a column (customers, 1)"
        )
    if margin.ndim == 0 or margin.shape[-1] == 1:  # one margin for every period: factor it out
        value = weighted.sum(axis=-1) * (margin if margin.ndim == 0 else margin[..., 0])
    else:
        value = (weighted * margin).sum(axis=-1)
    return float(value) if one_curve and np.ndim(value) == 0 else value


def _curve_from_function(survival: Callable, tenure: np.ndarray, horizon: int | None) -> np.ndarray:
    """S(T0 + t) for t = 0..H from a survival function (one row per tenure)."""
    if horizon is None:
        raise ValueError("horizon_periods is needed when survival is a function (e.g. horizon_periods=36)")
    if int(horizon) < 1:
        raise ValueError(f"horizon_periods is {horizon}; expected at least 1")
    steps = np.arange(int(horizon) + 1, dtype=float)
    times = tenure[..., None] + steps
    curve = np.asarray(survival(times), dtype=float)
    if curve.shape != times.shape:
        raise ValueError(
            f"survival({times.shape} tenures) returned shape {curve.shape}; expected the same shape"
        )
    return curve


def _curve_from_values(values: np.ndarray, tenure: np.ndarray, horizon: int | None) -> np.ndarray:
    """S(T0 + t) for t = 0..H, read from curves tabulated at whole periods 0..N (last axis)."""
    last = values.shape[-1] - 1
    whole = np.round(tenure)
    if not np.array_equal(whole, tenure) or (whole < 0).any():
        raise ValueError(
            "tenure_reached must be whole, non-negative periods when survival is tabulated per period; "
            "pass survival as a function for fractional tenures"
        )
    whole = whole.astype(int)
    horizon = last - int(whole.max()) if horizon is None else int(horizon)
    if horizon < 1 or whole.max() + horizon > last:
        raise ValueError(
            f"survival covers tenures 0..{last} but the longest tenure reached ({whole.max()}) plus the "
            f"horizon ({horizon}) needs up to {whole.max() + horizon}: give a longer curve or a shorter horizon"
        )
    if whole.ndim == 0:
        return values[..., int(whole) : int(whole) + horizon + 1]
    index = whole[:, None] + np.arange(horizon + 1)
    if values.ndim == 1:
        return values[index]
    try:
        index = np.broadcast_to(index, values.shape[:-1] + (horizon + 1,))
    except ValueError:
        raise ValueError(
            f"tenure_reached has {len(whole)} values for survival curves of shape {values.shape[:-1]}"
        ) from None
    return np.take_along_axis(values, index, axis=-1)


@dataclass(frozen=True)
class SubscriptionValue:
    """Survival-based value of subscribers with intervals (from :func:`survival_clv`).

    Attributes
    ----------
    customers : DataFrame
        One row per customer, in the order given: ``customer_id`` (when the frame has one),
        ``clv`` (at the estimates), ``clv_low``, ``clv_median``, ``clv_high`` (percentiles over the
        parameter draws).
    groups : DataFrame or None
        With ``by``: one row per group, ``customers``, ``mean_clv`` with ``mean_low``,
        ``mean_median``, ``mean_high``, and ``total_clv`` with ``total_low``, ``total_high``
        (percentiles of the group's mean and total over the same draws).
    caveats : list of Note
        What the intervals carry (``value.parameter_draws``) and customers whose horizon reaches
        beyond the longest tenure observed (``value.beyond_observed``).
    settings : dict
        horizon_months, monthly_discount_rate, annual_discount_rate, draws, seed, alpha.
    """

    customers: pd.DataFrame
    groups: pd.DataFrame | None
    caveats: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def survival_clv(
    model,
    frame: pd.DataFrame,
    margin_per_month,
    annual_discount_rate: float,
    horizon_months: int,
    tenure_col: str = "tenure_months",
    by: str | None = None,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    alpha: float = 0.05,
) -> SubscriptionValue:
    """Value of each subscriber over the horizon: monthly margin x survival given tenure, discounted.

    Survival comes from the churn capability's fitted Weibull model
    (:meth:`cxlib.churn.RemainingLifetime.conditional_survival`), conditional on the tenure each
    customer has reached; margins are paid at the end of each month and discounted monthly at the
    rate equivalent to ``annual_discount_rate``. Intervals redo the sum under ``n_draws`` draws of
    the model's parameters from their asymptotic normal (seeded), in blocks of customers so memory
    stays bounded.

    Parameters
    ----------
    model : cxlib.churn.RemainingLifetime
        Fitted.
    frame : DataFrame
        Current customers with the model's features and ``tenure_col`` (months).
    margin_per_month : float, array-like or str
        Margin per customer per month: a scalar, one value per row of ``frame``, or the name of a
        column of ``frame`` (e.g. monthly charges x margin rate, computed beforehand).
    annual_discount_rate : float
        E.g. the config's ``analysis.discount_rate``.
    horizon_months : int
        Months of value counted, e.g. the config's ``analysis.horizon_months``.
    tenure_col : str
    by : str, optional
        Column of ``frame`` to summarise by (mean and total value per group, with intervals).
    n_draws : int
        Parameter draws behind the intervals (0: no intervals).
    seed : int
        Seed of the draws.
    alpha : float
        The intervals are the alpha/2 and 1 - alpha/2 percentiles over the draws.

    Returns
    -------
    SubscriptionValue

    Examples
    --------
    >>> lifetime = RemainingLifetime.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)  # doctest: +SKIP
    >>> current = panel.frame[~panel.frame["churned"]]  # doctest: +SKIP
    >>> value = survival_clv(lifetime, current, current["MonthlyCharges"] * 0.3, 0.08, 36, by="plan")  # doctest: +SKIP
    >>> value.groups[["mean_clv", "mean_low", "mean_high"]]  # doctest: +SKIP
    """
    model.check_is_fitted()
    horizon = int(horizon_months)
    if horizon < 1:
        raise ValueError(f"horizon_months is {horizon_months}; expected at least 1 month")
    if tenure_col not in frame:
        raise KeyError(f"frame has no column {tenure_col!r} (tenure in months); pass tenure_col=")
    margin = _margins(frame, margin_per_month)
    rate = periodic_discount_rate(annual_discount_rate, 12)
    draws = model.sample_params(n_draws, seed) if n_draws > 0 else None
    codes, labels = _group_codes(frame, by)
    point = np.empty(len(frame))
    spread = np.full((len(frame), 3), np.nan)
    sums = np.zeros((n_draws, len(labels)))
    block = max(1, _MAX_CELLS // ((n_draws + 1) * (horizon + 1)))
    quantiles = [alpha / 2, 0.5, 1 - alpha / 2]
    # the estimates ride along as draw 0, so each block of customers is encoded once
    params = model.model_.params_.to_frame().T
    if draws is not None:
        params = pd.concat([params, draws], ignore_index=True)
    sample = None
    if draws is not None and len(frame) > DRAW_CUSTOMERS:
        sample = _draw_sample(codes, DRAW_CUSTOMERS, seed)
        estimate = params.iloc[:1]
        point_block = max(1, _MAX_CELLS // (horizon + 1))
        for start in range(0, len(frame), point_block):
            part = slice(start, start + point_block)
            curves = model.conditional_survival(frame.iloc[part], horizon, tenure_col, estimate)
            point[part] = discounted_survival_value(margin[part, None], curves, rate)[0]
    rows = np.arange(len(frame)) if sample is None else sample
    for start in range(0, len(rows), block):
        part = rows[start : start + block]
        curves = model.conditional_survival(frame.iloc[part], horizon, tenure_col, params)
        values = discounted_survival_value(margin[part, None], curves, rate)
        if sample is None:
            point[part] = values[0]
        if draws is None:
            continue
        drawn = values[1:]
        spread[part] = np.quantile(drawn, quantiles, axis=0).T
        for code in np.unique(codes[part]):
            sums[:, code] += drawn[:, codes[part] == code].sum(axis=1)
    if sample is not None:  # each group's draws scaled from its sampled customers to all of them
        totals = np.bincount(codes, weights=point, minlength=len(labels))
        sampled = np.bincount(codes[sample], weights=point[sample], minlength=len(labels))
        with np.errstate(divide="ignore", invalid="ignore"):
            sums = sums * np.where(sampled > 0, totals / sampled, np.where(totals == 0, 0.0, np.nan))
    customers = pd.DataFrame(
        {"clv": point, "clv_low": spread[:, 0], "clv_median": spread[:, 1], "clv_high": spread[:, 2]}
    )
    if "customer_id" in frame:
        customers.insert(0, "customer_id", frame["customer_id"].to_numpy())
    groups = _group_table(point, codes, labels, sums if draws is not None else None, quantiles, by)
    settings = {
        "draw_sample": None if sample is None else len(sample),
        "horizon_months": horizon,
        "monthly_discount_rate": rate,
        "annual_discount_rate": float(annual_discount_rate),
        "draws": int(n_draws),
        "seed": seed,
        "alpha": alpha,
    }
    return SubscriptionValue(customers, groups, _caveats(model, frame, tenure_col, settings), settings)


#: Fewest customers of a group in the draw sample (all of a smaller group): every group's interval
#: rests on its own customers, so no group, nor the whole base's total, is left without one.
MIN_GROUP_DRAWS = 30


def _draw_sample(codes: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions: a seeded random sample of ``size``, topped up to :data:`MIN_GROUP_DRAWS` per group."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(codes), size, replace=False)
    counts = np.bincount(codes[sample], minlength=int(codes.max()) + 1)
    extra = []
    for code in np.flatnonzero(counts < MIN_GROUP_DRAWS):
        members = np.setdiff1d(np.flatnonzero(codes == code), sample)
        wanted = min(MIN_GROUP_DRAWS - counts[code], len(members))
        if wanted > 0:
            extra.append(rng.choice(members, wanted, replace=False))
    return np.sort(np.concatenate([sample, *extra]))


def _margins(frame: pd.DataFrame, margin_per_month) -> np.ndarray:
    if isinstance(margin_per_month, str):
        if margin_per_month not in frame:
            raise KeyError(f"frame has no margin column {margin_per_month!r}")
        margin_per_month = frame[margin_per_month]
    margin = np.broadcast_to(np.asarray(margin_per_month, dtype=float), (len(frame),)).copy()
    if not np.isfinite(margin).all():
        bad = np.flatnonzero(~np.isfinite(margin))
        raise ValueError(
            f"margin_per_month: {len(bad)} customers have no finite margin (first rows {bad[:5].tolist()}); "
            "fill or drop them first"
        )
    return margin


def _group_codes(frame: pd.DataFrame, by: str | None) -> tuple[np.ndarray, list]:
    if by is None:
        return np.zeros(len(frame), dtype=int), ["all"]
    if by not in frame:
        raise KeyError(f"frame has no column {by!r} to group by")
    codes, labels = pd.factorize(frame[by], sort=True, use_na_sentinel=False)
    return codes, list(labels)


def _group_table(point, codes, labels, sums, quantiles, by) -> pd.DataFrame | None:
    if by is None:
        return None
    counts = np.bincount(codes, minlength=len(labels))
    totals = np.bincount(codes, weights=point, minlength=len(labels))
    table = pd.DataFrame({"customers": counts, "mean_clv": totals / counts}, index=pd.Index(labels, name=by))
    if sums is None:
        bounds = np.full((3, len(labels)), np.nan)
    else:
        bounds = np.quantile(sums, quantiles, axis=0)
    table["mean_low"], table["mean_median"], table["mean_high"] = bounds / counts
    table["total_clv"] = totals
    table["total_low"], table["total_high"] = bounds[0], bounds[2]
    overall = np.quantile(sums.sum(axis=1), quantiles) if sums is not None else np.full(3, np.nan)
    # the whole base's total with its interval (percentiles of the summed draws, not a sum of percentiles)
    table.attrs["overall"] = {
        "customers": int(counts.sum()),
        "total_clv": float(totals.sum()),
        "total_low": float(overall[0]),
        "total_high": float(overall[2]),
    }
    return table


def _caveats(model, frame: pd.DataFrame, tenure_col: str, settings: dict) -> list[Note]:
    notes = []
    if settings["draws"] > 0:
        notes.append(
            Note(
                "value.parameter_draws",
                {"draws": settings["draws"], "seed": settings["seed"], "level": 1 - settings["alpha"]},
            )
        )
    if settings.get("draw_sample"):
        notes.append(
            Note(
                "value.draw_sample",
                {"sample": settings["draw_sample"], "customers": len(frame), "seed": settings["seed"]},
            )
        )
    longest = float(model.longest_observed_months_)
    beyond = int((frame[tenure_col].to_numpy(dtype=float) + settings["horizon_months"] > longest).sum())
    if beyond:
        notes.append(
            Note(
                "value.beyond_observed",
                {
                    "customers": beyond,
                    "share": beyond / len(frame),
                    "longest": longest,
                    "horizon_months": settings["horizon_months"],
                },
            )
        )
    return notes
