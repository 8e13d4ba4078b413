"""The three levers of CX revenue as arithmetic on the enrolled customers' expected months and revenue.

The programme enrols customers (every active customer, or the target segments). A *base* gives their
expected survival under a change of the churn hazard by a ratio h (proportional hazards:
S_h(u) = S_0(u)^h, :mod:`cxlib.impact._retention`) as two curves over months u = 0..H:
``alive(h)[u]`` = sum_i S_i(u)^h customers still there and ``revenue(h)[u]`` = sum_i M_i S_i(u)^h
their revenue per month at today's spend. Month u's amounts are paid at its end (as customer value
counts them). With margin rate m, and the inputs named in :data:`INPUTS`:

lever 1, more revenue per loyal customer (``loyalty``)
    pilot or assumed spend ratio r:  m (r - 1) revenue(1)[u];
    or, from the NPS classes:  m s p (q - 1) revenue(1)[u], with s the share of non-promoters the
    programme turns into promoters, p the non-promoters' share of the enrolled and q the spend ratio
    of promoters against passives.
lever 2, revenue protected by lower churn and longer lifetimes (``retention``)
    m (revenue(h)[u] - revenue(1)[u]): the same spend, for longer.
lever 3, new customers from word of mouth (``word_of_mouth``)
    s p g alive(1)[u] (V + C): g extra referrals per customer-month of a promoter against a passive,
    V the value on margin of a referred customer, C the acquisition cost each saves.
costs
    F at the start, and c / 12 alive(h)[u] in month u (a yearly cost per enrolled customer, while
    they stay).

:func:`lever_streams` evaluates this for arrays of draws (every input an array of the same length),
so the deterministic case, the Monte Carlo and the tornado are the same code.

The levers are added without their interaction: the extra spend (lever 1) and referrals (lever 3)
of the customers who stay longer because of the programme (lever 2) are second-order terms and
left out, so each lever rests only on its own inputs (and evidence) and the total is slightly
conservative. Running costs do use alive(h): customers who stay longer cost longer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Inputs the levers read: name -> what it is.
INPUTS = {
    "hazard_ratio": "churn hazard ratio under the programme (h)",
    "spend_ratio": "spend ratio under the programme (r)",
    "promoter_shift": "share of enrolled non-promoters turned into promoters (s)",
    "promoter_spend_ratio": "spend per month of promoters vs passives (q)",
    "referral_rate_gain": "extra referrals per customer-month of a promoter vs a passive (g)",
    "referred_value": "value on margin of one referred customer (V)",
    "cac": "acquisition cost saved per referred customer (C)",
    "cost_fixed": "one-off programme cost (F)",
    "cost_per_customer_year": "running cost per enrolled customer and year (c)",
}
#: The levers in the order reports show them.
LEVERS = ("loyalty", "retention", "word_of_mouth")


@dataclass(frozen=True)
class LeverSettings:
    """How the levers are computed (which the data allow).

    Attributes
    ----------
    margin : float
        Margin rate on revenue (``analysis.margin``).
    annual_discount_rate : float
    spend_from : str
        ``"spend_ratio"`` (a pilot's measured ratio or an assumed uplift) or ``"promoters"``
        (promoter shift x promoters' spend ratio).
    nonpromoter_share : float
        p: share of the enrolled customers who are not promoters (1 when unknown).
    word_of_mouth : bool
        Whether lever 3 is computed (referral rates by NPS class are known).
    """

    margin: float
    annual_discount_rate: float
    spend_from: str = "spend_ratio"
    nonpromoter_share: float = 1.0
    word_of_mouth: bool = False


def lever_streams(base, x: dict[str, np.ndarray], settings: LeverSettings) -> dict[str, np.ndarray]:
    """Monthly margin of each lever, revenue of each lever and running costs, for every draw.

    Parameters
    ----------
    base : object
        With ``alive(h)`` and ``revenue(h)``: arrays of hazard ratios (n,) -> curves (n, H + 1).
    x : dict of str to ndarray, shape (n,)
        The inputs of :data:`INPUTS` the settings need (``hazard_ratio`` always).
    settings : LeverSettings

    Returns
    -------
    dict of str to ndarray, shape (n, H)
        ``margin_<lever>`` and ``revenue_<lever>`` for each lever of :data:`LEVERS` (zeros when a
        lever is not computed), ``running_cost``, and ``alive`` (enrolled customers still there).
    """
    h = np.asarray(x["hazard_ratio"], float)
    n = h.size
    m = settings.margin
    revenue_h = base.revenue(h)[:, 1:]
    revenue_1 = base.revenue(np.ones(1))[:, 1:]
    alive_h = base.alive(h)[:, 1:]
    alive_1 = base.alive(np.ones(1))[:, 1:]
    out: dict[str, np.ndarray] = {"alive": alive_h}
    if settings.spend_from == "promoters":
        uplift = x["promoter_shift"] * settings.nonpromoter_share * (x["promoter_spend_ratio"] - 1.0)
    else:
        uplift = x["spend_ratio"] - 1.0
    out["revenue_loyalty"] = uplift[:, None] * revenue_1
    out["revenue_retention"] = np.broadcast_to(revenue_h - revenue_1, (n, revenue_h.shape[1])).copy()
    if settings.word_of_mouth:
        referrals = (x["promoter_shift"] * settings.nonpromoter_share * x["referral_rate_gain"])[
            :, None
        ] * alive_1
        saved = x["cac"] if "cac" in x else np.zeros(n)
        out["margin_word_of_mouth"] = referrals * (x["referred_value"] + saved)[:, None]
        out["revenue_word_of_mouth"] = referrals * (x["referred_value"] / m)[:, None]
        out["referrals"] = referrals
    else:
        out["margin_word_of_mouth"] = np.zeros_like(alive_h)
        out["revenue_word_of_mouth"] = np.zeros_like(alive_h)
        out["referrals"] = np.zeros_like(alive_h)
    out["margin_loyalty"] = m * out["revenue_loyalty"]
    out["margin_retention"] = m * out["revenue_retention"]
    per_year = x.get("cost_per_customer_year", np.zeros(n))
    out["running_cost"] = (np.asarray(per_year, float) / 12.0)[:, None] * alive_h
    return out


def fixed_cost(x: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The one-off cost of every draw (zeros when none is given)."""
    return np.asarray(x.get("cost_fixed", np.zeros(n)), float)


class ExactBase:
    """A base computed exactly from survival curves: sum_i S_i(u)^h for every h asked (small data, tests).

    Parameters
    ----------
    survival : array-like, shape (customers, H + 1)
        S_i(u) for u = 0..H (the first column ones).
    revenue_per_month : array-like, shape (customers,)
        M_i.

    Examples
    --------
    Ten customers with constant monthly retention 0.9 and 100 a month, churn hazard halved:

    >>> base = ExactBase(np.tile(0.9 ** np.arange(4), (10, 1)), np.full(10, 100.0))
    >>> base.alive(np.array([0.5]))[0, 1].round(4)  # 10 * 0.9 ** 0.5
    np.float64(9.4868)
    """

    def __init__(self, survival, revenue_per_month):
        self.survival = np.asarray(survival, float)
        self.revenue_per_month = np.asarray(revenue_per_month, float)

    @property
    def horizon_months(self) -> int:
        """H."""
        return self.survival.shape[1] - 1

    def alive(self, h) -> np.ndarray:
        """Expected customers still there in months 0..H, one row per hazard ratio in ``h``."""
        h = np.atleast_1d(np.asarray(h, float))
        return np.stack([(self.survival**k).sum(0) for k in h])

    def revenue(self, h) -> np.ndarray:
        """Expected revenue per month in months 0..H at today's spend, one row per hazard ratio in ``h``."""
        h = np.atleast_1d(np.asarray(h, float))
        return np.stack([(self.revenue_per_month[:, None] * self.survival**k).sum(0) for k in h])
