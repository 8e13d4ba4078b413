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
