"""Friction KPIs: complaints, first-contact resolution, waits, repeat contacts, abandoned carts.

Each KPI is computed overall, by interaction channel and by each column of a per-customer group
table (plan, region, acquisition channel, segment ...), with a 95% interval chosen for its kind:

- shares (customers with a complaint, complaints resolved, first-contact resolution, long waits,
  checkout abandonment) use the Wilson score interval (:func:`cxlib.stats.wilson_interval`;
  Wilson 1927, recommended over the Wald interval by Brown, Cai & DasGupta 2001, *Statistical
  Science* 16:101), which keeps its coverage for small groups and shares near 0 or 1;
- the complaint rate (complaints per 100 customer-years) comes from an intercept-only Poisson
  model of each customer's complaints with his years as exposure and a robust (sandwich, HC0)
  variance (statsmodels ``GLM``; Cameron & Trivedi 2013, *Regression Analysis of Count Data*
  §3.2.3): the rate is the plain ratio, and the interval stays honest when some customers complain
  again and again (counts more variable than Poisson), where the exact Poisson interval would be
  too narrow. With no complaint at all the interval is the exact Poisson one (Garwood 1936);
- abandoned carts per 100 orders use the exact Poisson interval of Garwood (1936) as statsmodels
  computes it (:func:`statsmodels.stats.rates.confint_poisson`, ``method="exact-c"``), orders
  being the exposure;
- the median and 90th percentile wait use the distribution-free order-statistic interval (the
  ranks from the binomial distribution, Conover 1999, *Practical Nonparametric Statistics* §3.2):
  no assumption on the (skewed) shape of wait times and no resampling; the mean wait a normal
  interval (:func:`cxlib.stats.mean_interval`).

A KPI is computed only when the data carry what it needs (:func:`absent_kpis` lists the others as
data). Everything is read from the canonical tables; inputs are never modified.

Examples
--------
>>> kpis = friction_kpis(data, groups=customers[["customer_id", "plan"]])  # doctest: +SKIP
>>> kpis.query("dimension == 'channel' and kpi == 'complaint_rate'")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.rates import confint_poisson

from cxlib.experience._purchases import purchase_summary
from cxlib.features._time import YEAR_DAYS
from cxlib.stats._intervals import mean_interval, wilson_interval

#: KPI -> unit of its estimate (a code the report words).
KPI_UNITS = {
    "complaint_rate": "per_100_customer_years",
    "customers_with_complaint": "share",
    "complaints_resolved": "share",
    "first_contact_resolution": "share",
    "repeat_contact_customers": "share",
    "wait_median": "minutes",
    "wait_mean": "minutes",
    "wait_p90": "minutes",
    "long_wait_share": "share",
    "abandoned_carts_per_100_orders": "per_100_orders",
    "checkout_abandonment": "share",
}
#: KPI -> what it needs beyond interactions with customer_id, timestamp and kind.
KPI_NEEDS = {
    "complaints_resolved": "interactions.resolved",
    "wait_median": "interactions.wait_minutes",
    "wait_mean": "interactions.wait_minutes",
    "wait_p90": "interactions.wait_minutes",
    "long_wait_share": "interactions.wait_minutes",
    "abandoned_carts_per_100_orders": "transactions",
    "checkout_abandonment": "transactions",
}
#: Columns of :func:`friction_kpis`.
KPI_COLUMNS = [
    "dimension",
    "group",
    "kpi",
    "estimate",
    "ci_low",
    "ci_high",
    "count",
    "base",
    "customers",
    "unit",
]
SUPPORT, COMPLAINT, CART = "support_contact", "complaint", "cart_abandoned"
#: KPIs whose count can be zero for a channel that carries their events (nobody called back).
_REPEAT_KPIS = ("first_contact_resolution", "repeat_contact_customers", "long_wait_share")


def absent_kpis(data) -> pd.DataFrame:
    """The friction KPIs these data cannot give, with what is missing.

    Returns
    -------
    DataFrame
        ``kpi`` and ``missing`` (``"interactions"``, ``"interactions.resolved"``,
        ``"interactions.wait_minutes"``, ``"interactions.cart_abandoned"`` or ``"transactions"``).

    Examples
    --------
    >>> absent_kpis(data)  # doctest: +SKIP
    """
    rows = []
    if not data.has("interactions"):
        return pd.DataFrame({"kpi": list(KPI_UNITS), "missing": "interactions"})
    events = data["interactions"]
    for kpi in KPI_UNITS:
        need = KPI_NEEDS.get(kpi)
        if need and need.startswith("interactions."):
            column = need.split(".", 1)[1]
            if column not in events or events[column].isna().all():
                rows.append((kpi, need))
        elif need == "transactions":
            if not _has_carts(events):
                rows.append((kpi, "interactions.cart_abandoned"))
            elif not data.has("transactions"):
                rows.append((kpi, "transactions"))
    return pd.DataFrame(rows, columns=["kpi", "missing"])


def _has_carts(events: pd.DataFrame) -> bool:
    return any(str(kind).lower() == CART for kind in pd.unique(events["kind"].dropna()))


def friction_kpis(
    data,
    groups: pd.DataFrame | None = None,
    long_wait_minutes: float = 20,
    repeat_contact_days: int = 7,
    start=None,
    rule=None,
    purchases: dict | None = None,
    engine: str = "pandas",
) -> pd.DataFrame:
    """Friction KPIs overall, by interaction channel and by customer group, with 95% intervals.

    The period runs from ``start`` (default: the first interaction) to the end of the as-of day.

    Parameters
    ----------
    data : CustomerData
        Loaded tables: customers and interactions; transactions for the cart KPIs.
    groups : DataFrame, optional
        One row per customer: ``customer_id`` and one column per grouping (e.g. plan, region,
        acquisition_channel, segment_name). Customers missing from it count in group "unknown".
    long_wait_minutes : float
        A wait longer than this counts as long.
    repeat_contact_days : int
        A support contact followed by another contact (support or complaint) of the same customer
        within this many days was not resolved at first contact. Contacts less than this many days
        before the period's end are left out (their follow-up is not fully seen).
    start : date, optional
        First day of the period.
    rule : ChurnRule, optional
        The churn rule (:func:`cxlib.features.churn_rule_from_config`): a customer's exposure for
        the complaint rate ends when they churn. None: it runs to the end of the as-of day.
    purchases : dict, optional
        :func:`cxlib.experience.purchase_summary` of the data from the period's start (the cart
        KPIs' orders), when already computed; else it is computed here.
    engine : str
        ``data.engine``, for :func:`cxlib.experience.purchase_summary`.

    Returns
    -------
    DataFrame
        :data:`KPI_COLUMNS`, one row per dimension (``"all"``, ``"channel"`` or a column of
        ``groups``), group and KPI: estimate with its interval, ``count`` and ``base`` (numerator
        and denominator: events, customers, contacts, customer-years or orders), ``customers`` in
        the group and ``unit`` (:data:`KPI_UNITS`). KPIs the data cannot give
        (:func:`absent_kpis`) have no rows; a group with no base has NaN estimates.

    Examples
    --------
    >>> friction_kpis(data, repeat_contact_days=7).query("dimension == 'all'")  # doctest: +SKIP
    """
    if not data.has("interactions"):
        return pd.DataFrame(columns=KPI_COLUMNS)
    end = pd.Timestamp(data.as_of).normalize() + pd.Timedelta(days=1)
    events = data["interactions"]
    start = pd.Timestamp(start) if start is not None else events["timestamp"].min()
    events = events.loc[(events["timestamp"] >= start) & (events["timestamp"] < end)]
    customers = _exposure(data, rule, start, end)
    frame = _event_frame(events, customers["customer_id"], end, repeat_contact_days)
    absent = set(absent_kpis(data)["kpi"])
    orders = None
    if "checkout_abandonment" not in absent:
        if purchases is None or purchases.get("start") != start:
            purchases = purchase_summary(data, start, engine)
        orders = _order_counts(purchases, customers["customer_id"])
    settings = {
        "long_wait": long_wait_minutes,
        "absent": absent,
        "n_customers": len(customers),
        "n_people": int(frame["person"].max()) + 1 if len(frame) else 0,
    }
    years = customers["years"].to_numpy(float)
    everyone = None if orders is None else int(orders["since"].sum())
    parts = [_kpis(frame, years, None, everyone, settings).assign(dimension="all", group="all")]
    if "channel" in events:
        # channels compared as text, through their codes (one pass over the rows)
        codes, values = pd.factorize(events["channel"])
        names = np.asarray(pd.Index(values).astype(str), dtype=object)
        per_channel = None
        if orders is not None and purchases["has_channel"]:
            channels = purchases["channels"]
            per_channel = channels.groupby(channels["channel"].astype(str))["since"].sum()
        for name in sorted(set(names)):
            n_orders = None if per_channel is None else int(per_channel.get(name, 0))
            chosen = np.isin(codes, np.flatnonzero(names == name))
            part = _kpis(frame.loc[chosen], years, None, n_orders, settings)
            # a channel that carries none of a KPI's events (complaints by web form only, carts
            # on web and app only) has no row for it rather than a misleading zero
            carried = (part["count"] > 0) | (part["kpi"].isin(_REPEAT_KPIS) & (part["base"] > 0))
            parts.append(part.loc[carried].assign(dimension="channel", group=name))
    if groups is not None:
        position = frame["position"].to_numpy()
        at = pd.Index(groups["customer_id"]).get_indexer(customers["customer_id"])
        placed = None if orders is None else orders["position"].to_numpy()
        for column in [c for c in groups.columns if c != "customer_id"]:
            # each customer's group as text ("unknown": missing, or not in the group table)
            codes, values = pd.factorize(groups[column])
            names = np.append(np.asarray(pd.Index(values).astype("string"), dtype=object), "unknown")
            member = names[np.where(at >= 0, codes[np.maximum(at, 0)], -1)]
            level_of, levels = pd.factorize(member)
            event_level = np.where(position >= 0, level_of[np.maximum(position, 0)], -1)
            order_level = (
                None if placed is None else np.where(placed >= 0, level_of[np.maximum(placed, 0)], -1)
            )
            for k in sorted(range(len(levels)), key=lambda i: levels[i]):
                level = levels[k]
                inside = level_of == k
                n_orders = None
                if order_level is not None:
                    n_orders = int(orders["since"].to_numpy()[order_level == k].sum())
                part = _kpis(frame.loc[event_level == k], years[inside], inside, n_orders, settings)
                parts.append(part.assign(dimension=column, group=str(level)))
    table = pd.concat(parts, ignore_index=True)
    table["unit"] = table["kpi"].map(KPI_UNITS)
    return table[KPI_COLUMNS]


def _order_counts(purchases: dict, ids: pd.Series) -> pd.DataFrame:
    """Purchases since the period's start per customer, with the customer's position in ``ids``."""
    orders = purchases["customers"]
    orders = orders.loc[orders["since"] > 0, ["customer_id", "since"]]
    where = pd.Index(ids).get_indexer(orders["customer_id"])
    return orders.assign(position=where).reset_index(drop=True)


def _exposure(data, rule, start, end) -> pd.DataFrame:
    """Customers with their years in the period (from signup or start to churn or end)."""
    from cxlib.experience._referrals import exposure_ends

    customers = data["customers"]
    begin = customers["signup_date"].clip(lower=start)
    stop = exposure_ends(data, rule).reindex(customers["customer_id"]).to_numpy()
    stop = pd.Series(pd.to_datetime(stop), index=customers.index).clip(upper=end)
    years = ((stop - begin).dt.total_seconds() / 86_400 / YEAR_DAYS).clip(lower=0)
    out = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy(), "years": years.to_numpy()})
    return out.loc[out["years"] > 0].reset_index(drop=True)


def _event_frame(events: pd.DataFrame, ids: pd.Series, end, days: int) -> pd.DataFrame:
    """The columns the KPIs read, one row per event (in the events' order).

    ``position`` (the event's customer in ``ids``; -1 when not there), ``person`` (a code per
    customer id of the events; -1 when missing), bool ``complaint``, ``support`` and ``cart``,
    ``resolved`` and ``wait_minutes`` when present, ``repeat`` (the next contact of the customer,
    support or complaint, came within ``days``) and ``seen`` (the follow-up is fully observed).
    """
    codes, kinds = pd.factorize(events["kind"])
    lowered = np.asarray(pd.Index(kinds).str.lower(), dtype=object)
    kind = lowered[codes] if len(lowered) else np.array([], dtype=object)
    kind = np.where(codes >= 0, kind, None)
    person, people = pd.factorize(events["customer_id"])
    where = pd.Index(ids).get_indexer(people)  # each distinct customer looked up once
    position = np.where(person >= 0, where[np.maximum(person, 0)] if len(where) else -1, -1)
    frame = pd.DataFrame(
        {
            "position": position,
            "person": person,
            "complaint": kind == COMPLAINT,
            "support": kind == SUPPORT,
            "cart": kind == CART,
        }
    )
    for column in ("resolved", "wait_minutes"):
        if column in events:
            frame[column] = events[column].reset_index(drop=True)
    # repeat: the next contact (support or complaint) of the same customer within ``days``
    contact = np.flatnonzero(frame["complaint"].to_numpy() | frame["support"].to_numpy())
    stamps = events["timestamp"].to_numpy()[contact]
    who = person[contact]
    order = np.lexsort((stamps, who))  # stable: ties keep the events' order
    who, stamps, rows = who[order], stamps[order], contact[order]
    same = np.zeros(len(rows), bool)
    same[:-1] = (who[1:] == who[:-1]) & (who[:-1] >= 0)
    gap = np.full(len(rows), np.timedelta64("NaT"), dtype="timedelta64[ns]")
    gap[:-1] = stamps[1:] - stamps[:-1]
    repeat = np.zeros(len(frame), bool)
    repeat[rows] = same & (gap <= np.timedelta64(pd.Timedelta(days=days)))
    frame["repeat"] = repeat
    frame["seen"] = (events["timestamp"] <= end - pd.Timedelta(days=days)).to_numpy()
    return frame


def _row(kpi, estimate, low, high, count, base, customers) -> dict:
    return {
        "kpi": kpi,
        "estimate": estimate,
        "ci_low": low,
        "ci_high": high,
        "count": count,
        "base": base,
        "customers": customers,
    }


def _share(kpi, successes, trials, customers) -> dict:
    return _row(kpi, *wilson_interval(int(successes), int(trials)), successes, trials, customers)


def _rate(kpi, count, exposure, customers, per: float = 100.0) -> dict:
    if exposure <= 0:
        return _row(kpi, np.nan, np.nan, np.nan, count, exposure, customers)
    low, high = confint_poisson(count, exposure, method="exact-c")
    return _row(kpi, per * count / exposure, per * float(low), per * float(high), count, exposure, customers)


def _customer_rate(kpi, counts: np.ndarray, years: np.ndarray, customers, per: float = 100.0) -> dict:
    """Events per ``per`` customer-years: Poisson GLM with exposure and a robust variance."""
    total, exposure = int(counts.sum()), float(years.sum())
    if total == 0 or exposure <= 0 or len(counts) < 2:
        return _rate(kpi, total, exposure, customers, per)
    # the intercept-only Poisson GLM with exposure in closed form: its estimate is the ratio, and
    # the sandwich (HC0) variance of the log rate sum (y - r t)^2 / (sum y)^2 (what statsmodels'
    # ``GLM(...).fit(cov_type="HC0")`` gives, without iterating over millions of rows)
    rate = total / exposure
    se = np.sqrt(np.sum((counts - rate * years) ** 2)) / total
    half = stats.norm.ppf(0.975) * se
    low, high = rate * np.exp(-half), rate * np.exp(half)
    return _row(kpi, per * rate, per * low, per * high, total, exposure, customers)


def quantile_interval(values, q: float) -> tuple[float, float, float]:
    """Sample quantile with its distribution-free 95% order-statistic interval.

    The interval runs between the order statistics whose ranks bound the binomial(n, q) count of
    values below the true quantile (Conover 1999, §3.2); NaN ends when n is too small for one.

    Examples
    --------
    >>> quantile_interval(np.arange(1, 101), 0.5)
    (50.5, 40.0, 61.0)
    """
    return _sorted_quantile(np.sort(np.asarray(pd.Series(values).dropna(), dtype=float)), q)


def _sorted_quantile(values: np.ndarray, q: float) -> tuple[float, float, float]:
    """:func:`quantile_interval` of values already sorted, without missing ones."""
    n = len(values)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    estimate = float(np.quantile(values, q))
    low_rank = int(stats.binom.ppf(0.025, n, q))  # 1-based rank of the lower end
    high_rank = int(stats.binom.ppf(0.975, n, q)) + 1
    low = values[low_rank - 1] if low_rank >= 1 else np.nan
    high = values[high_rank - 1] if high_rank <= n else np.nan
    return (estimate, float(low), float(high))


def _kpis(events, years, member, n_orders, settings) -> pd.DataFrame:
    """All KPIs of one group: its events (:func:`_event_frame` rows), its customers' years, its orders.

    ``member`` marks the group's customers among everyone's (None: everyone). For a channel the
    events are that channel's and the customers everyone's (complaints through the channel per
    customer of the whole base). ``n_orders``: the group's purchases (None: no cart KPIs).
    """
    absent = settings["absent"]
    n_customers = len(years)
    complaint = events["complaint"].to_numpy()
    position = events["position"].to_numpy()
    counted = position[complaint & (position >= 0)]
    counts = np.bincount(counted, minlength=settings["n_customers"])
    counts = (counts if member is None else counts[member]).astype(float)
    rows = [
        _customer_rate("complaint_rate", counts, years, n_customers),
        _share("customers_with_complaint", int((counts > 0).sum()), n_customers, n_customers),
    ]
    if "complaints_resolved" not in absent:
        known = events.loc[complaint, "resolved"].dropna()
        rows.append(_share("complaints_resolved", known.astype(bool).sum(), len(known), n_customers))
    support = events["support"].to_numpy() & events["seen"].to_numpy()
    repeat = events["repeat"].to_numpy()[support]
    rows.append(_share("first_contact_resolution", int((~repeat).sum()), len(repeat), n_customers))
    person = events["person"].to_numpy()[support]
    named = person >= 0
    people = settings["n_people"]
    repeated = np.count_nonzero(np.bincount(person[named & repeat], minlength=people))
    contacted = np.count_nonzero(np.bincount(person[named], minlength=people))
    rows.append(_share("repeat_contact_customers", repeated, contacted, n_customers))
    if "wait_median" not in absent:
        waits = events["wait_minutes"].dropna()
        ordered = np.sort(np.asarray(waits, dtype=float))  # sorted once for both quantiles
        rows += [
            _row("wait_median", *_sorted_quantile(ordered, 0.5), len(waits), len(waits), n_customers),
            _row("wait_mean", *mean_interval(waits), len(waits), len(waits), n_customers),
            _row("wait_p90", *_sorted_quantile(ordered, 0.9), len(waits), len(waits), n_customers),
            _share("long_wait_share", (waits > settings["long_wait"]).sum(), len(waits), n_customers),
        ]
    if "checkout_abandonment" not in absent and n_orders is not None:
        carts = int(events["cart"].sum())
        rows += [
            _rate("abandoned_carts_per_100_orders", carts, float(n_orders), n_customers),
            _share("checkout_abandonment", carts, carts + n_orders, n_customers),
        ]
    return pd.DataFrame(rows)
