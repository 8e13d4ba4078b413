"""Programme economics on margin: NPV, ROI and payback from monthly streams of margin and cost.

The programme's incremental margin arrives month by month (u = 1..H, paid at the end of each month,
as :func:`cxlib.value.discounted_survival_value` counts customer value) and its costs are a one-off
amount at the start (month 0) plus running costs month by month. With the monthly discount factor
v(u) = (1 + annual rate)^(-u / 12):

- present value of margin  PV_m = sum_u v(u) m(u);   of cost  PV_c = F + sum_u v(u) c(u)
- NPV = PV_m - PV_c
- ROI = NPV / PV_c, so ROI + 1 = PV_m / PV_c: doubling every cost halves ROI + 1
- payback: the first month at which cumulative discounted margin reaches cumulative discounted cost
  (None when it does not within the horizon).

Everything is computed on margin, never on revenue (a programme that raises revenue by 100 on a 30%
margin earns 30). All functions are vectorised over leading axes (Monte Carlo draws).

Examples
--------
>>> import numpy as np
>>> out = programme_economics(np.full(12, 100.0), np.zeros(12), 600.0, 0.0)
>>> float(out["npv"]), float(out["roi"]), float(out["payback_month"])
(600.0, 1.0, 6.0)
"""

from __future__ import annotations

import numpy as np

#: P(ROI > 0) from which the investment is funded outright.
FUND_FROM = 0.9
#: P(ROI > 0) from which it is funded where it pays first, and measured as it runs (below: not funded).
FUND_WHERE_IT_PAYS_FROM = 0.5
#: The verdicts :func:`decision` returns, strongest first.
DECISIONS = ("fund", "fund_where_it_pays", "do_not_fund", "no_costs")


def discount_factors(horizon_months: int, annual_rate: float) -> np.ndarray:
    """v(u) = (1 + annual_rate)^(-u / 12) for u = 1..H (end-of-month payments).

    Examples
    --------
    >>> round(float(discount_factors(12, 0.08)[-1]), 6)
    0.925926
    """
    if not annual_rate > -1:
        raise ValueError(f"annual_rate is {annual_rate}; expected a rate above -1 (e.g. 0.08 for 8%)")
    u = np.arange(1, int(horizon_months) + 1, dtype=float)
    return (1.0 + annual_rate) ** (-u / 12.0)


def programme_economics(margin, running_cost, fixed_cost, annual_rate: float) -> dict[str, np.ndarray]:
    """NPV, ROI and payback of monthly incremental margin against fixed and running costs.

    Parameters
    ----------
    margin : array-like, shape (..., H)
        Incremental margin in months 1..H.
    running_cost : array-like, shape (..., H)
        Running cost in months 1..H.
    fixed_cost : float or array-like, shape (...)
        One-off cost at the start (month 0, not discounted).
    annual_rate : float
        Annual discount rate.

    Returns
    -------
    dict of ndarray, shape (...)
        ``pv_margin``, ``pv_cost``, ``npv``, ``roi`` (NaN when there is no cost) and
        ``payback_month`` (NaN when the discounted margin does not catch up within H months).
    """
    margin = np.asarray(margin, float)
    running_cost = np.asarray(running_cost, float)
    fixed_cost = np.asarray(fixed_cost, float)
    v = discount_factors(margin.shape[-1], annual_rate)
    pv_margin = (margin * v).sum(-1)
    pv_cost = fixed_cost + (running_cost * v).sum(-1)
    npv = pv_margin - pv_cost
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(pv_cost > 0, npv / np.where(pv_cost > 0, pv_cost, 1.0), np.nan)
    net = np.cumsum((margin - running_cost) * v, axis=-1) - fixed_cost[..., None]
    reached = net >= 0
    first = np.argmax(reached, axis=-1) + 1.0
    payback = np.where(reached.any(-1), first, np.nan)
    return {"pv_margin": pv_margin, "pv_cost": pv_cost, "npv": npv, "roi": roi, "payback_month": payback}


def decision(p_roi_positive: float, has_costs: bool) -> str:
    """The verdict on an investment from the probability that it returns more than it costs.

    The one rule every report uses (the revenue-impact report and the executive summary), so they
    cannot disagree: ``"fund"`` from :data:`FUND_FROM`, ``"fund_where_it_pays"`` (fund where it pays
    first and measure as it runs) from :data:`FUND_WHERE_IT_PAYS_FROM`, ``"do_not_fund"`` below, and
    ``"no_costs"`` when no costs were given (or the probability is unknown), so no return can be judged.

    Parameters
    ----------
    p_roi_positive : float
        Share of Monte Carlo draws with ROI > 0 (NPV > 0).
    has_costs : bool
        Whether the case has costs.

    Returns
    -------
    str
        One of :data:`DECISIONS`.

    Examples
    --------
    >>> decision(0.95, True), decision(0.6, True), decision(0.2, True), decision(0.95, False)
    ('fund', 'fund_where_it_pays', 'do_not_fund', 'no_costs')
    """
    if not has_costs or p_roi_positive is None or not np.isfinite(p_roi_positive):
        return "no_costs"
    if p_roi_positive >= FUND_FROM:
        return "fund"
    if p_roi_positive >= FUND_WHERE_IT_PAYS_FROM:
        return "fund_where_it_pays"
    return "do_not_fund"
