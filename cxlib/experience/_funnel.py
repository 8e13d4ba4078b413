"""The journey funnel: first contact, first purchase, repeat purchase, loyalty and advocacy.

Each customer passes the stages in order; a customer *reaches* a stage when they passed it and
every stage before it that the data can show (a promoter who never bought reached first contact
only), so the funnel never widens and conversion between consecutive stages is a share of the
customers who reached the stage before:

first_contact
    In the customers table (signed up).
first_purchase / repeat_purchase
    At least one / two purchases up to the analysis date, with the suite's definition of a purchase
    (:func:`cxlib.features.purchases`: an order's sale rows worth more than zero; refunds are not
    purchases).
loyalty
    Still a customer ``loyalty_months`` after sign-up, by the suite's churn rule
    (:mod:`cxlib.features._churn_rule`: the recorded churn date, or the inactivity rule evaluated
    with the records up to that day).
advocacy
    A promoter answer (NPS 9-10) in any survey up to the analysis date, or a referral made.

Fairness to young customers: only customers who signed up at least ``loyalty_months`` before the
analysis date enter the funnel (every one of them had the time to reach every stage); the rule
and the number of customers it leaves out are part of the result (:attr:`JourneyFunnel.rule`).

Intervals on shares and conversions are 95% Wilson score intervals (Wilson 1927; recommended over
the normal approximation for proportions near 0 or 1 and for small groups by Brown, Cai and
DasGupta 2001, Statistical Science 16:101-133), from :func:`cxlib.stats.wilson_interval`
(statsmodels' ``proportion_confint``).

Examples
--------
>>> rule = churn_rule_from_config(data, config)  # doctest: +SKIP
>>> funnel = journey_funnel(data, rule)  # doctest: +SKIP
>>> funnel.stages[["stage", "customers", "conversion", "ci_low", "ci_high"]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.experience._purchases import purchase_summary
from cxlib.features._churn_rule import ChurnRule
from cxlib.features._time import DAYS_PER_MONTH, end_of_day
from cxlib.stats._intervals import wilson_interval

#: The funnel's stages, in order.
JOURNEY_STAGES = ("first_contact", "first_purchase", "repeat_purchase", "loyalty", "advocacy")

#: Lowest NPS answer of a promoter (promoters answer 9-10, passives 7-8, detractors 0-6).
_PROMOTER_MIN = 9

#: Customer columns the funnel is broken down by when they are present and no group table is given.
DEFAULT_GROUP_COLUMNS = ("plan", "region", "acquisition_channel")

#: Why a stage cannot be shown (codes, worded by the report): stage -> reason.
UNAVAILABLE_REASONS = {
    "no_transactions": "the data have no transactions table",
    "no_dated_churn": "churn has no dates (a snapshot label) or no churn rule was given",
    "no_surveys_or_referrals": "the data have neither NPS answers nor a referrals table",
}


@dataclass
class JourneyFunnel:
    """The journey funnel of one data set (see the module docstring for the stages).

    Attributes
    ----------
    customers : DataFrame
        One row per customer who entered the funnel (signed up ``loyalty_months`` or more before
        the analysis date): ``customer_id``, ``signup_date``, ``cohort``, the group columns, and
        per available stage a bool ``<stage>`` (reached it and every stage before).
    stages : DataFrame
        Overall: ``stage``, ``customers`` (reached), ``previous`` (reached the stage before),
        ``lost`` (previous - customers), ``conversion`` from the stage before with ``ci_low`` and
        ``ci_high`` (95% Wilson), ``share_of_start`` with ``share_ci_low``/``share_ci_high``.
    by_group : DataFrame
        As ``stages`` plus ``group_column`` and ``group`` (one block per group column).
    by_cohort : DataFrame
        As ``stages`` plus ``cohort`` (sign-up quarter or year, e.g. "2023Q1", "2023").
    largest_drop : dict
        The step where most customers are lost: ``from_stage``, ``stage``, ``previous``, ``lost``
        and ``loss_share`` (lost / previous) with its 95% Wilson ``ci_low``, ``ci_high``; empty
        when fewer than two stages can be shown.
    unavailable : DataFrame
        Stages the data cannot show: ``stage``, ``reason`` (a key of :data:`UNAVAILABLE_REASONS`).
    rule : dict
        ``loyalty_months``, ``signed_up_by`` (latest sign-up date that enters), ``entered``
        (customers in the funnel) and ``excluded_young`` (customers left out as too recent).
    checkout : DataFrame
        Checkout KPIs where the data have cart events (else empty): see :func:`checkout_kpis`.
    """

    customers: pd.DataFrame
    stages: pd.DataFrame
    by_group: pd.DataFrame
    by_cohort: pd.DataFrame
    largest_drop: dict
    unavailable: pd.DataFrame
    rule: dict
    checkout: pd.DataFrame = field(default_factory=pd.DataFrame)


def loyalty_offset(loyalty_months: float) -> pd.Timedelta:
    """``loyalty_months`` as whole days of :data:`cxlib.features.DAYS_PER_MONTH` (12 months: 365 days)."""
    return pd.Timedelta(days=int(round(loyalty_months * DAYS_PER_MONTH)))


def still_customer_at(data, rule: ChurnRule, days: pd.Series) -> pd.Series:
    """Whether each customer is still a customer at the end of their own day, by the churn rule.

    :meth:`ChurnRule.churned_by` asks about one day for everyone; here each customer has their own
    day (e.g. 12 months after their sign-up), evaluated the same way: contractual, the churn date
    falls after the day; inactivity, a purchase (a transaction row that is not a refund; the
    sign-up when there is none) within ``inactivity_days`` up to and including the day, reading only
    the records dated up to that day.

    Parameters
    ----------
    data : CustomerData
        Canonical tables (customers; transactions for the inactivity rule).
    rule : ChurnRule
        A dated rule (contractual or inactivity).
    days : Series of datetime64
        Indexed by customer_id.

    Returns
    -------
    Series of bool, indexed like ``days``

    Raises
    ------
    ValueError
        For a snapshot rule (churn without dates cannot be placed at a day).
    """
    if not rule.dated:
        raise ValueError("still_customer_at needs dated churn: a snapshot churn label has no dates")
    days = pd.to_datetime(days).dt.normalize()
    customers = data["customers"].set_index("customer_id")
    if rule.definition == "contractual":
        churn = pd.to_datetime(customers["churn_date"]).dt.normalize().reindex(days.index)
        return (churn.isna() | (churn > days)).rename("still_customer")
    tx = data["transactions"]
    sales = tx.loc[~tx["is_refund"], ["customer_id", "order_date"]].sort_values("order_date")
    left = pd.DataFrame({"customer_id": days.index, "end": (days + pd.Timedelta(days=1)).to_numpy()})
    left["position"] = np.arange(len(left))
    merged = pd.merge_asof(
        left.sort_values("end"),
        sales.rename(columns={"order_date": "last_sale"}).assign(end=lambda f: f["last_sale"]),
        on="end",
        by="customer_id",
        allow_exact_matches=False,
        direction="backward",
    ).sort_values("position")
    signup = customers["signup_date"].reindex(days.index).to_numpy()
    since = pd.Series(merged["last_sale"].to_numpy(), index=days.index).fillna(
        pd.Series(signup, index=days.index)
    )
    churned = since.dt.normalize() + pd.Timedelta(days=int(rule.inactivity_days)) <= days
    return (~churned).rename("still_customer")


def _within(events: pd.DataFrame, id_column: str, ends: pd.Series) -> pd.Series:
    """Ids of the events dated before their customer's window end (``ends``, indexed by customer)."""
    limit = events[id_column].map(ends)
    dated = events["date"].isna() | (events["date"] < limit) if "date" in events else limit.notna()
    return events.loc[dated & limit.notna(), id_column]


def _advocates(data, ends: pd.Series) -> tuple[pd.Index | None, pd.Index | None]:
    """Customers with a promoter answer or a referral before their window end, and those who answered.

    Returns (advocates, surveyed): None for advocates when the data cannot tell (no NPS answers
    and no referrals), None for surveyed without NPS answers.
    """
    found, surveyed = [], None
    if data.has("surveys") and "nps" in data["surveys"]:
        answers = data["surveys"].dropna(subset=["nps"])
        inside = answers.loc[answers.index.isin(_within(answers, "customer_id", ends).index)]
        found.append(inside.loc[inside["nps"] >= _PROMOTER_MIN, "customer_id"])
        surveyed = pd.Index(inside["customer_id"].unique())
    if data.has("referrals"):
        found.append(_within(data["referrals"], "referrer_id", ends))
    if not found:
        return None, surveyed
    return pd.Index(pd.concat(found).dropna().unique()), surveyed


def journey_stages(
    data, rule: ChurnRule | None, loyalty_months: float = 12, purchases: dict | None = None
) -> tuple[pd.DataFrame, list]:
    """Each customer's stages (not cumulated), and the stages the data cannot show.

    Parameters
    ----------
    data : CustomerData
    rule : ChurnRule or None
        The churn rule (:func:`cxlib.features.churn_rule_from_config`); None or a snapshot rule:
        the loyalty stage cannot be shown.
    loyalty_months : float
        Months after sign-up a loyal customer is still a customer.
    purchases : dict, optional
        :func:`cxlib.experience.purchase_summary` of the data (each customer's first two
        purchases), when already computed; else it is computed here in pandas.

    Returns
    -------
    (DataFrame, list of (stage, reason))
        One row per customer: ``customer_id``, ``signup_date`` and a bool column per available
        stage (passed it, whatever the earlier stages), every stage counted within
        ``loyalty_months`` of sign-up (orders, promoter answers and referrals dated later do not
        count, so every cohort has the same time); ``surveyed`` (answered NPS in that window) when
        the data have NPS answers; and the unavailable stages with a key of :data:`UNAVAILABLE_REASONS`.
    """
    as_of = pd.Timestamp(data.as_of).normalize()
    customers = data["customers"]
    ids = pd.Index(customers["customer_id"], name="customer_id")
    out = pd.DataFrame({"signup_date": customers["signup_date"].to_numpy()}, index=ids)
    out["first_contact"] = True
    # every stage is counted within the same window after sign-up (the loyalty window), so older
    # cohorts are not credited with more time to buy again or to become advocates
    day = out["signup_date"].dt.normalize() + loyalty_offset(loyalty_months)
    ends = (day + pd.Timedelta(days=1)).clip(upper=end_of_day(as_of))
    unavailable = []
    if data.has("transactions"):
        # a purchase counts when dated before the customer's window end: the first one for the
        # first purchase, the second one for a repeat purchase
        firsts = (purchases or purchase_summary(data))["customers"].set_index("customer_id")
        firsts = firsts[["first", "second"]].reindex(ids)  # the ids looked up once for both dates
        limit = ends.to_numpy()
        out["first_purchase"] = firsts["first"].to_numpy() < limit
        out["repeat_purchase"] = firsts["second"].to_numpy() < limit
    else:
        unavailable += [("first_purchase", "no_transactions"), ("repeat_purchase", "no_transactions")]
    if rule is not None and rule.dated:
        out["loyalty"] = still_customer_at(data, rule, day) & (day <= as_of)
    else:
        unavailable.append(("loyalty", "no_dated_churn"))
    advocates, surveyed = _advocates(data, ends)
    if advocates is not None:
        out["advocacy"] = out.index.isin(advocates)
    else:
        unavailable.append(("advocacy", "no_surveys_or_referrals"))
    if surveyed is not None:
        out["surveyed"] = out.index.isin(surveyed)  # not a stage: whether a promoter answer could be seen
    return out.reset_index(), unavailable


def _funnel_table(frame: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
    """Counts, conversion from the stage before and share of the start, each with its Wilson interval."""
    start = len(frame)
    rows, previous = [], start
    for stage in stages:
        reached = int(frame[stage].sum())
        conversion = wilson_interval(reached, previous)
        share = wilson_interval(reached, start)
        rows.append(
            {
                "stage": stage,
                "customers": reached,
                "previous": previous,
                "lost": previous - reached,
                "conversion": conversion[0],
                "ci_low": conversion[1],
                "ci_high": conversion[2],
                "share_of_start": share[0],
                "share_ci_low": share[1],
                "share_ci_high": share[2],
            }
        )
        previous = reached
    return pd.DataFrame(rows)


def _grouped(frame: pd.DataFrame, column: str, stages: list[str]) -> pd.DataFrame:
    parts = []
    for value, part in frame.groupby(column, sort=True, dropna=False, observed=True):
        parts.append(_funnel_table(part, stages).assign(**{column: value}))
    if not parts:
        return pd.DataFrame(columns=[column, *_funnel_table(frame.head(0), stages).columns])
    table = pd.concat(parts, ignore_index=True)
    return table[[column] + [c for c in table.columns if c != column]]


def _largest_drop(stages: pd.DataFrame) -> dict:
    steps = stages.iloc[1:]
    if steps.empty:
        return {}
    worst = steps.loc[steps["lost"].idxmax()]
    position = stages.index.get_loc(worst.name)
    share, low, high = wilson_interval(int(worst["lost"]), int(worst["previous"]))
    return {
        "from_stage": stages["stage"].iloc[position - 1],
        "stage": worst["stage"],
        "previous": int(worst["previous"]),
        "lost": int(worst["lost"]),
        "loss_share": share,
        "ci_low": low,
        "ci_high": high,
    }


def journey_funnel(
    data,
    rule: ChurnRule | None,
    groups: pd.DataFrame | None = None,
    loyalty_months: float = 12,
    cohort: str = "quarter",
    purchases: dict | None = None,
) -> JourneyFunnel:
    """The journey funnel overall, by group and by acquisition cohort (see the module docstring).

    Parameters
    ----------
    data : CustomerData
        Canonical tables; only customers is required.
    rule : ChurnRule or None
        The churn rule (:func:`cxlib.features.churn_rule_from_config`); None: no loyalty stage.
    groups : DataFrame, optional
        One row per customer: ``customer_id`` and the columns to break the funnel down by (e.g.
        plan, region, acquisition_channel, segment_name); default the customers' own
        :data:`DEFAULT_GROUP_COLUMNS` that are present. A missing value is its own group (NaN).
    loyalty_months : float
        Months after sign-up a loyal customer is still a customer; also the minimum age of a
        customer in the funnel.
    cohort : {"quarter", "year"}
        Acquisition cohort: the sign-up quarter or year.
    purchases : dict, optional
        :func:`cxlib.experience.purchase_summary` of the data, when already computed (the
        engine's, in a run); else it is computed here in pandas.

    Returns
    -------
    JourneyFunnel

    Examples
    --------
    >>> funnel = journey_funnel(data, churn_rule_from_config(data, config))  # doctest: +SKIP
    >>> funnel.largest_drop["stage"]  # doctest: +SKIP
    'repeat_purchase'
    """
    if cohort not in ("quarter", "year"):
        raise ValueError(f"cohort: expected 'quarter' or 'year', got {cohort!r}")
    as_of = pd.Timestamp(data.as_of).normalize()
    if purchases is None and data.has("transactions"):
        purchases = purchase_summary(data)
    flags, unavailable = journey_stages(data, rule, loyalty_months, purchases)
    signed_up_by = as_of - loyalty_offset(loyalty_months)
    entered = flags["signup_date"].dt.normalize() <= signed_up_by
    stages = [s for s in JOURNEY_STAGES if s in flags]
    frame = flags.loc[entered].reset_index(drop=True)
    reached = np.ones(len(frame), dtype=bool)
    for stage in stages:  # reached = passed this stage and every earlier one
        reached &= frame[stage].to_numpy(dtype=bool)
        frame[stage] = reached
    # each distinct period written once ("2023Q1", "2023"), not once per customer
    codes, periods = pd.factorize(frame["signup_date"].dt.to_period("Q" if cohort == "quarter" else "Y"))
    labels = np.append(np.asarray(pd.Index(periods).astype(str), dtype=object), "NaT")
    frame["cohort"] = labels[codes]

    if groups is None:
        present = [c for c in DEFAULT_GROUP_COLUMNS if c in data["customers"]]
        groups = data["customers"][["customer_id", *present]]
    group_columns = [c for c in groups.columns if c != "customer_id"]
    frame = frame.merge(groups.drop_duplicates("customer_id"), on="customer_id", how="left")

    overall = _funnel_table(frame, stages)
    blocks = [
        _grouped(frame, column, stages).rename(columns={column: "group"}).assign(group_column=column)
        for column in group_columns
    ]
    by_group = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
    if not by_group.empty:
        by_group = by_group[
            ["group_column", "group"] + [c for c in by_group if c not in ("group_column", "group")]
        ]
    return JourneyFunnel(
        customers=frame,
        stages=overall,
        by_group=by_group,
        by_cohort=_grouped(frame, "cohort", stages),
        largest_drop=_largest_drop(overall),
        unavailable=pd.DataFrame(unavailable, columns=["stage", "reason"]),
        rule={
            "loyalty_months": loyalty_months,
            "signed_up_by": signed_up_by,
            "entered": int(entered.sum()),
            "excluded_young": int((~entered).sum()),
            # of the customers reaching the stage before advocacy, the share who answered NPS in
            # their window: a promoter answer is seen only for them
            "surveyed_before_advocacy": _surveyed_share(frame, stages),
        },
        checkout=checkout_kpis(data, purchases=purchases),
    )


def _surveyed_share(frame: pd.DataFrame, stages: list[str]) -> float:
    if "surveyed" not in frame or "advocacy" not in stages or stages.index("advocacy") == 0:
        return float("nan")
    before = frame[stages[stages.index("advocacy") - 1]].to_numpy(dtype=bool)
    return float(frame.loc[before, "surveyed"].mean()) if before.any() else float("nan")


def checkout_kpis(data, by: str | None = "channel", purchases: dict | None = None) -> pd.DataFrame:
    """Checkout abandonment and completion where the data have cart events.

    Abandonment = abandoned carts / (abandoned carts + purchases); completion = 1 - abandonment
    (purchases per checkout started). Cart events are ``interactions`` rows of kind
    ``cart_abandoned``; purchases follow the suite's definition (refunds are not purchases). Both
    are counted up to the analysis date. When both tables carry ``by``, only the purchases in the
    values of ``by`` where carts are recorded count (a store records no abandoned carts).

    Parameters
    ----------
    data : CustomerData
    by : str or None
        ``channel``: also break down by channel when both interactions and transactions carry
        it; None: overall only.
    purchases : dict, optional
        :func:`cxlib.experience.purchase_summary` of the data, when already computed.

    Returns
    -------
    DataFrame
        ``level`` ("overall" or the ``by`` value), ``abandoned``, ``purchases``, ``checkouts``,
        ``abandonment`` with ``ci_low``/``ci_high`` (95% Wilson) and ``completion``; empty when the
        data have no cart events or no transactions.
    """
    if not (data.has("interactions") and data.has("transactions")):
        return pd.DataFrame()
    interactions = data["interactions"]
    if "kind" not in interactions:
        return pd.DataFrame()
    end = end_of_day(data.as_of)
    carts = interactions.loc[(interactions["kind"] == "cart_abandoned") & (interactions["timestamp"] < end)]
    if carts.empty:
        return pd.DataFrame()
    summary = purchases or purchase_summary(data)
    bought = summary["channels"]  # purchases per channel
    levels = [("overall", carts, int(bought["purchases"].sum()))]
    if by == "channel" and by in carts and summary["has_channel"]:
        # Only where carts are tracked: a store till records no abandoned cart, so its purchases
        # would make checkout look frictionless.
        tracked = sorted(carts[by].dropna().unique())
        levels = [("overall", carts, int(bought.loc[bought[by].isin(tracked), "purchases"].sum()))]
        for value in tracked:
            completed = int(bought.loc[bought[by] == value, "purchases"].sum())
            levels.append((value, carts.loc[carts[by] == value], completed))
    rows = []
    for level, cart_rows, completed in levels:
        abandoned = len(cart_rows)
        share, low, high = wilson_interval(abandoned, abandoned + completed)
        rows.append(
            {
                "level": level,
                "abandoned": abandoned,
                "purchases": completed,
                "checkouts": abandoned + completed,
                "abandonment": share,
                "ci_low": low,
                "ci_high": high,
                "completion": 1 - share,
            }
        )
    return pd.DataFrame(rows)
