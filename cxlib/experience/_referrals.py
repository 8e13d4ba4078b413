"""Word of mouth: referral rate by NPS class, and the value of the customers referrals bring.

Referral rate by NPS class
    Each customer's class is that of their latest NPS answer (promoter 9-10, passive 7-8,
    detractor 0-6). It applies from the first day of the month after the answer until the next
    answer's class takes over (the first day of the month after that answer), the customer churns
    (the suite's churn rule, :mod:`cxlib.features._churn_rule`: the churn date, or the inactivity
    rule's date) or the analysis date ends the data. Before their first answer, and throughout when
    they never answer, a customer is in the ``no_answer`` class. These exposure spells
    (:func:`nps_class_spells`) carry the referrals the customer made in them (referrals table rows
    by ``referrer_id``, dated within the spell) and their length in customer-months
    (:data:`cxlib.features.DAYS_PER_MONTH` days).

    :class:`ReferralRates` fits a Poisson GLM of the referral counts on the class (one log-rate per
    class, no intercept) with a log-exposure offset (statsmodels ``GLM``), the standard model for
    event counts over unequal exposure times (McCullagh and Nelder 1989, Generalized Linear Models,
    section 6.2). Its point estimates are the classes' referrals per customer-month. Referrals of
    one customer are not independent (some customers refer often), so the standard errors are
    cluster-robust by customer (Cameron and Miller 2015, J. Human Resources 50:317-372), which
    keeps the 95% intervals honest under over-dispersion. Rate ratios against detractors are Wald
    contrasts of the log-rates (``t_test``), Holm-adjusted over the classes compared.

Value of referred customers
    Referred customers (those appearing as ``referred_id``) against all others
    (:func:`referred_customer_value`): spend per active month (the suite's
    :func:`cxlib.features.customer_features` ``spend_per_month``: net of refunds, per month from
    sign-up to churn or the analysis date) with a Welch interval on the difference, and the share
    still a customer 12 months after sign-up (among customers who signed up 12+ months before the
    analysis date) with Wilson intervals and a Newcombe interval on the difference (Newcombe 1998,
    Statistics in Medicine 17:873-890), both from statsmodels.

Examples
--------
>>> rule = churn_rule_from_config(data, config)  # doctest: +SKIP
>>> rates = ReferralRates().fit(data, rule)  # doctest: +SKIP
>>> rates.summary_[["term", "estimate", "ci_low", "ci_high", "rate_ratio"]]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from cxlib.experience._funnel import loyalty_offset, still_customer_at
from cxlib.features._churn_rule import ChurnRule
from cxlib.features._ids import id_order
from cxlib.features._time import DAYS_PER_MONTH, end_of_day
from cxlib.stats._fitted import FittedModel, summary_frame
from cxlib.stats._intervals import wilson_interval
from cxlib.stats._multitest import holm_adjusted
from cxlib.stats._notes import Note

#: NPS classes in the order tables show them; ``no_answer`` is a customer without an answer yet.
NPS_CLASSES = ("promoter", "passive", "detractor", "no_answer")

#: The unit of a referral rate.
REFERRAL_RATE_UNIT = "referrals per customer-month"


def nps_class_of(scores: pd.Series) -> pd.Series:
    """The NPS class of 0-10 answers: promoter (9-10), passive (7-8), detractor (0-6); missing stays missing.

    Examples
    --------
    >>> nps_class_of(pd.Series([10, 8, 3, None])).tolist()
    ['promoter', 'passive', 'detractor', nan]
    """
    classes = np.select([scores >= 9, scores >= 7, scores >= 0], ["promoter", "passive", "detractor"], "")
    return pd.Series(classes, index=scores.index, dtype=object).where(scores.notna())


def exposure_ends(data, rule: ChurnRule | None) -> pd.Series:
    """When each customer's exposure ends (exclusive): their churn date, or the end of the analysis day.

    A snapshot churn label or no rule: the end of the analysis day for everyone (no churn dates).
    """
    customers = data["customers"]
    ids = pd.Index(customers["customer_id"], name="customer_id")
    end = end_of_day(data.as_of)
    if rule is None or not rule.dated:
        return pd.Series(end, index=ids, name="end")
    churn = rule.churn_dates(data, data.as_of).dt.normalize()
    return churn.where(churn < end, end).fillna(end).rename("end")


def nps_class_spells(data, rule: ChurnRule | None) -> tuple[pd.DataFrame, dict]:
    """Exposure spells of each customer in an NPS class, with the referrals made in them.

    Parameters
    ----------
    data : CustomerData
        customers; surveys (with ``nps``) and referrals when present.
    rule : ChurnRule or None
        The churn rule: it ends exposure (None or snapshot: exposure runs to the analysis date).

    Returns
    -------
    (DataFrame, dict)
        Spells: ``customer_id``, ``nps_class``, ``start``, ``end`` (exclusive), ``exposure_months``
        and ``referrals``; a customer may have several spells of one class. And the referral rows
        counted or not: ``counted``, ``outside_exposure`` (dated before the referrer's sign-up,
        after their churn or the analysis date), ``undated`` and ``unknown_referrer``.
    """
    spells, counts = _class_spells(data, rule)
    return spells.drop(columns=["who", "rank"]), counts


def _with_positions(spells: pd.DataFrame, data) -> pd.DataFrame:
    """Spells of :func:`nps_class_spells` with the ``who`` and ``rank`` columns of :func:`_class_spells`."""
    ids = pd.Index(data["customers"]["customer_id"])
    rank = np.empty(len(ids), dtype=np.int64)
    rank[id_order(ids)] = np.arange(len(ids))
    who = ids.get_indexer(spells["customer_id"])
    return spells.assign(who=who, rank=rank[who])


def _class_spells(data, rule: ChurnRule | None) -> tuple[pd.DataFrame, dict]:
    """:func:`nps_class_spells` with ``who`` (customer position) and ``rank`` (of their id) columns."""
    customers = data["customers"]
    start = customers.set_index("customer_id")["signup_date"].dt.normalize()
    end = exposure_ends(data, rule).reindex(start.index).to_numpy()
    as_of_end = end_of_day(data.as_of)
    # customers as positions, ranked in the order of their ids (the spells' order)
    ids = start.index
    rank = np.empty(len(ids), dtype=np.int64)
    rank[id_order(ids)] = np.arange(len(ids))
    first = pd.DataFrame({"who": np.arange(len(ids)), "switch": start.to_numpy(), "nps_class": "no_answer"})
    switches = [first]
    if data.has("surveys") and "nps" in data["surveys"]:
        answers = data["surveys"].loc[lambda f: f["nps"].notna() & (f["date"] < as_of_end)]
        who = ids.get_indexer(answers["customer_id"])
        answers = answers.loc[who >= 0].assign(who=who[who >= 0]).sort_values("date", kind="stable")
        switch = answers["date"].dt.to_period("M").add(1).dt.to_timestamp()
        taken = pd.DataFrame(
            {"who": answers["who"], "switch": switch, "nps_class": nps_class_of(answers["nps"])}
        )
        switches.append(taken.drop_duplicates(["who", "switch"], keep="last"))
    spells = pd.concat(switches, ignore_index=True)
    who = spells["who"].to_numpy()
    # by customer id, switch day, then the sign-up row first and answers in date order
    order = np.lexsort((np.arange(len(spells)), spells["switch"].to_numpy(), rank[who]))
    spells = spells.iloc[order].reset_index(drop=True)
    who = spells["who"].to_numpy()
    switch = spells["switch"].to_numpy()
    following = np.empty_like(switch)
    following[:-1] = switch[1:]
    following[-1:] = np.datetime64("NaT")
    following[np.r_[who[1:] != who[:-1], True]] = np.datetime64("NaT")
    stop = end[who]
    begin = np.maximum(switch, start.to_numpy()[who])
    finish = np.where(following < stop, following, stop)  # NaT (last spell) compares False
    keep = finish > begin
    spells = pd.DataFrame(
        {
            "customer_id": ids.to_numpy()[who[keep]],
            "nps_class": spells["nps_class"].to_numpy()[keep],
            "start": begin[keep],
            "end": finish[keep],
            "who": who[keep],
            "rank": rank[who[keep]],
        }
    )
    spells["exposure_months"] = (spells["end"] - spells["start"]).dt.days / DAYS_PER_MONTH
    spells["referrals"] = 0
    counts = {"counted": 0, "outside_exposure": 0, "undated": 0, "unknown_referrer": 0}
    if data.has("referrals"):
        spells["referrals"] = _referrals_in_spells(data["referrals"], spells, ids, counts)
    return spells, counts


def _referrals_in_spells(
    referrals: pd.DataFrame, spells: pd.DataFrame, ids: pd.Index, counts: dict
) -> np.ndarray:
    """Referrals per spell (by ``referrer_id`` dated in [start, end)); ``counts`` records the rest.

    ``spells`` carry ``who``, the customer's position in ``ids``.
    """
    dated = referrals["date"].notna() if "date" in referrals else pd.Series(False, index=referrals.index)
    counts["undated"] = int((~dated).sum())
    rows = referrals.loc[dated, ["referrer_id", "date"]]
    who = ids.get_indexer(rows["referrer_id"])
    is_known = who >= 0
    counts["unknown_referrer"] = int((~is_known).sum())
    rows = pd.DataFrame({"who": who[is_known], "day": rows["date"].dt.normalize().to_numpy()[is_known]})
    rows = rows.sort_values("day", kind="stable")
    ordered = spells[["who", "start", "end"]].assign(spell=np.arange(len(spells))).sort_values("start")
    placed = pd.merge_asof(rows, ordered, left_on="day", right_on="start", by="who")
    inside = placed["spell"].notna() & (placed["day"] < placed["end"])
    counts["counted"] = int(inside.sum())
    counts["outside_exposure"] = int((~inside).sum())
    per_spell = placed.loc[inside, "spell"].astype(int).value_counts()
    return per_spell.reindex(np.arange(len(spells)), fill_value=0).to_numpy()


class ReferralRates(FittedModel):
    """Referrals per customer-month by NPS class, with 95% intervals and rate ratios vs detractors.

    See the module docstring for the exposure spells and the model (Poisson GLM, log-exposure
    offset, cluster-robust by customer).

    Parameters
    ----------
    reference : str
        The class rate ratios compare against.

    Attributes
    ----------
    summary_ : DataFrame
        One row per class with exposure: the standard columns (``estimate``: referrals per
        customer-month; ``p_value``: of the rate ratio against the reference, Holm-adjusted in
        ``p_adjusted``), then ``nps_class``, ``referrals``, ``exposure_months``, ``customers``,
        ``rate_ratio``, ``ratio_ci_low``, ``ratio_ci_high``.
    rate_ratios_ : DataFrame
        The rate ratios against the reference as a summary table (``estimate``: rate ratio).
    spells_ : DataFrame
        The exposure spells (:func:`nps_class_spells`).
    referral_counts_ : dict
        Referral rows counted, and left out by reason (:func:`nps_class_spells`).
    log_rates_ : Series
        Log referral rate of each class with at least one referral (the model's coefficients).
    log_rate_covariance_ : DataFrame
        Their cluster-robust covariance (for contrasts such as promoter minus passive).
    caveats_ : list of Note
        ``referrals.no_events`` (a class without any referral: its interval is the exact Poisson
        one, and it has no rate ratio), ``referrals.no_churn_dates`` (exposure runs to the analysis
        date), ``referrals.outside_exposure`` (referrals dated outside the referrer's exposure or
        undated), ``referrals.no_surveys`` / ``referrals.no_referrals_table``.

    Examples
    --------
    >>> ReferralRates().fit(data, churn_rule_from_config(data, config)).summary_  # doctest: +SKIP
    """

    estimate_name = REFERRAL_RATE_UNIT
    null_value = None
    higher_is = "better"

    def __init__(self, reference: str = "detractor"):
        self.reference = reference

    def fit(self, data, rule: ChurnRule | None = None, spells: tuple | None = None) -> ReferralRates:
        """Build the exposure spells and fit the Poisson model.

        Parameters
        ----------
        data : CustomerData
            customers, and surveys and referrals when present.
        rule : ChurnRule, optional
            The churn rule (:func:`cxlib.features.churn_rule_from_config`); None: no churn ends
            exposure.
        spells : (DataFrame, dict), optional
            What :func:`nps_class_spells` returns for ``data`` and ``rule``, when already built
            (loyalty spend needs them too); built here otherwise.

        Returns
        -------
        ReferralRates
            self, fitted.
        """
        if self.reference not in NPS_CLASSES:
            raise ValueError(f"reference: expected one of {NPS_CLASSES}, got {self.reference!r}")
        if spells is None:
            spells, counts = _class_spells(data, rule)
        else:
            spells, counts = spells
            if "who" not in spells:  # as nps_class_spells returns them: positions put back
                spells = _with_positions(spells, data)
        self.spells_ = spells.drop(columns=["who", "rank"])
        self.referral_counts_ = counts
        # customers counted by their position (an integer), not their id string
        per_class = (
            spells.groupby("nps_class")
            .agg(
                referrals=("referrals", "sum"),
                exposure_months=("exposure_months", "sum"),
                customers=("who", "nunique"),
            )
            .reindex([c for c in NPS_CLASSES if c in set(pd.unique(spells["nps_class"]))])
        )
        caveats = []
        if not data.has("referrals"):
            caveats.append(Note("referrals.no_referrals_table"))
        if not (data.has("surveys") and "nps" in data["surveys"]):
            caveats.append(Note("referrals.no_surveys"))
        if rule is None or not rule.dated:
            caveats.append(Note("referrals.no_churn_dates"))
        left_out = counts["outside_exposure"] + counts["undated"] + counts["unknown_referrer"]
        if left_out:
            caveats.append(Note("referrals.outside_exposure", {"referrals": left_out, **counts}))
        with_events = [c for c in per_class.index if per_class.loc[c, "referrals"] > 0]
        self.log_rates_, self.log_rate_covariance_ = _poisson_log_rates(spells, with_events)
        rates, ratios = self._estimate(per_class, caveats)
        self.summary_ = rates
        self.rate_ratios_ = ratios
        self.caveats_ = caveats
        return self

    def _estimate(self, per_class: pd.DataFrame, caveats: list):
        log_rate, cov = self.log_rates_, self.log_rate_covariance_
        rows = []
        for name, row in per_class.iterrows():
            exposure = float(row["exposure_months"])
            if name in log_rate.index:
                half = stats.norm.ppf(0.975) * np.sqrt(cov.loc[name, name])
                estimate, low, high = np.exp(log_rate[name] + np.array([0.0, -half, half]))
            else:  # no event: MLE 0, exact one-sided 97.5% Poisson upper bound (Garwood 1936)
                estimate, low, high = 0.0, 0.0, stats.chi2.ppf(0.975, 2) / 2 / exposure
                caveats.append(Note("referrals.no_events", {"nps_class": name, "exposure_months": exposure}))
            rows.append(
                {
                    "term": name,
                    "label": name,
                    "estimate": estimate,
                    "ci_low": low,
                    "ci_high": high,
                    "unit": REFERRAL_RATE_UNIT,
                    "nps_class": name,
                    "referrals": int(row["referrals"]),
                    "exposure_months": exposure,
                    "customers": int(row["customers"]),
                }
            )
        rates = pd.DataFrame(rows)
        ratios = _rate_ratios(log_rate, cov, self.reference)
        if not ratios.empty:
            ratios["p_adjusted"] = holm_adjusted(ratios["p_value"])
            keep = ratios.set_index("nps_class")
            rates["rate_ratio"] = rates["nps_class"].map(keep["estimate"])
            rates["ratio_ci_low"] = rates["nps_class"].map(keep["ci_low"])
            rates["ratio_ci_high"] = rates["nps_class"].map(keep["ci_high"])
            rates["p_value"] = rates["nps_class"].map(keep["p_value"])
            rates["p_adjusted"] = rates["nps_class"].map(keep["p_adjusted"])
        extra = [
            "nps_class",
            "referrals",
            "exposure_months",
            "customers",
            "rate_ratio",
            "ratio_ci_low",
            "ratio_ci_high",
        ]
        for column in extra:
            if column not in rates:
                rates[column] = np.nan
        return summary_frame(rates, extra), summary_frame(ratios, ["nps_class"])

    def plot_rates(self, ax=None):
        """Referral rate by NPS class with its interval (:func:`plot_referral_rates`)."""
        self.check_is_fitted()
        from cxlib.experience._plots_journey import plot_referral_rates

        return plot_referral_rates(self.summary_, ax=ax)


def _poisson_log_rates(spells: pd.DataFrame, classes: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    """Log referral rate per class and its cluster-robust covariance (Poisson GLM, log-exposure offset)."""
    if not classes:
        return pd.Series(dtype=float), pd.DataFrame()
    # One row per customer and class: the Poisson likelihood and the customer's score sum only
    # depend on these totals, so fitting on them is the same model on fewer rows. Customers are
    # grouped by the rank of their id when the spells carry it (the same groups in the same order
    # as by the id strings, faster).
    customer = "rank" if "rank" in spells else "customer_id"
    rows = (
        spells.loc[spells["nps_class"].isin(classes)]
        .groupby([customer, "nps_class"], sort=True)
        .agg(referrals=("referrals", "sum"), exposure=("exposure_months", "sum"))
        .reset_index()
    )
    # The model has one log-rate per class and no other term, so its fit has a closed form (what
    # statsmodels' GLM(..., offset=log exposure).fit(cov_type="cluster") converges to, without
    # iterating over a million rows): each class's rate is its referrals over its exposure, the
    # Hessian is diagonal (the classes' referrals), and the cluster-robust (CRV1) covariance is
    # H^-1 S H^-1 with S the cross-product of the customers' score sums, times the small-sample
    # factor G/(G-1) (N-1)/(N-K) statsmodels applies.
    which = pd.Categorical(rows["nps_class"], categories=classes).codes
    referrals = rows["referrals"].to_numpy(float)
    exposure = rows["exposure"].to_numpy(float)
    events = np.bincount(which, weights=referrals, minlength=len(classes))
    rate = events / np.bincount(which, weights=exposure, minlength=len(classes))
    clusters, ids = pd.factorize(rows[customer])
    scores = np.zeros((len(ids), len(classes)))
    scores[clusters, which] = referrals - rate[which] * exposure  # one row per customer and class
    n_rows, n_groups, k = len(rows), len(ids), len(classes)
    meat = scores.T @ scores
    if n_groups < 2 or n_rows <= k:  # no between-customer variation to estimate
        correction = np.nan
    else:
        correction = n_groups / (n_groups - 1.0) * (n_rows - 1.0) / (n_rows - k)
    cov = meat / np.outer(events, events) * correction
    index = pd.Index(classes)
    return pd.Series(np.log(rate), index=index), pd.DataFrame(cov, index=index, columns=index)


def _rate_ratios(log_rate: pd.Series, cov: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Rate ratio of each class against ``reference``: Wald contrast of log-rates, 95% interval, p-value."""
    if reference not in log_rate.index:
        return pd.DataFrame(
            columns=["term", "label", "estimate", "ci_low", "ci_high", "p_value", "unit", "nps_class"]
        )
    rows, z = [], stats.norm.ppf(0.975)
    for name in log_rate.index.drop(reference):
        difference = log_rate[name] - log_rate[reference]
        se = np.sqrt(cov.loc[name, name] + cov.loc[reference, reference] - 2 * cov.loc[name, reference])
        rows.append(
            {
                "term": f"{name} vs {reference}",
                "label": f"{name} vs {reference}",
                "estimate": np.exp(difference),
                "ci_low": np.exp(difference - z * se),
                "ci_high": np.exp(difference + z * se),
                # no variation at all (every customer at the model's rate): a difference is sure
                "p_value": 2 * stats.norm.sf(abs(difference) / se) if se > 0 else float(difference == 0),
                "unit": "rate ratio",
                "nps_class": name,
            }
        )
    return pd.DataFrame(rows)


def referred_customer_value(
    data, rule: ChurnRule | None, features: pd.DataFrame | None = None, months: float = 12
) -> pd.DataFrame:
    """Spend and retention of referred customers against all other customers, with intervals.

    Parameters
    ----------
    data : CustomerData
        customers and referrals (without a referrals table nobody is known as referred: empty).
    rule : ChurnRule or None
        The churn rule; retention needs dated churn (None or snapshot: no retention rows).
    features : DataFrame, optional
        :func:`cxlib.features.features_from_config` (indexed by customer_id, with
        ``spend_per_month``); without it (or without transactions) no spend rows.
    months : float
        Retention horizon after sign-up; only customers who signed up that long before the
        analysis date count.

    Returns
    -------
    DataFrame
        Tidy rows: ``metric`` (``spend_per_month`` or ``retained_<months>m``), ``group``
        (``referred``, ``other`` or ``difference``: referred minus other), ``customers``,
        ``estimate``, ``ci_low``, ``ci_high`` (95%), ``p_value`` (difference rows: Welch t-test
        or the score test of two proportions) and ``unit``.

    Examples
    --------
    >>> referred_customer_value(data, rule, features_from_config(data, config))  # doctest: +SKIP
    """
    columns = ["metric", "group", "customers", "estimate", "ci_low", "ci_high", "p_value", "unit"]
    if not data.has("referrals"):
        return pd.DataFrame(columns=columns)
    customers = data["customers"].set_index("customer_id")
    referred = customers.index.isin(data["referrals"]["referred_id"].dropna())
    is_referred = pd.Series(referred, index=customers.index)
    rows = []
    if features is not None and "spend_per_month" in features:
        spend = features["spend_per_month"].reindex(customers.index)
        rows += _spend_rows(spend[is_referred].dropna(), spend[~is_referred].dropna())
    if rule is not None and rule.dated:
        as_of = pd.Timestamp(data.as_of).normalize()
        day = customers["signup_date"].dt.normalize() + loyalty_offset(months)
        old_enough = day <= as_of
        retained = still_customer_at(data, rule, day[old_enough])
        rows += _retention_rows(retained, is_referred[old_enough], f"retained_{months:g}m")
    return pd.DataFrame(rows, columns=columns)


def _spend_rows(referred: pd.Series, other: pd.Series) -> list[dict]:
    unit = "net spend per active month"
    rows = []
    for group, values in (("referred", referred), ("other", other)):
        if len(values) > 1:
            low, high = DescrStatsW(values.to_numpy()).tconfint_mean(alpha=0.05)
        else:
            low = high = np.nan
        rows.append(
            {
                "metric": "spend_per_month",
                "group": group,
                "customers": len(values),
                "estimate": float(values.mean()) if len(values) else np.nan,
                "ci_low": low,
                "ci_high": high,
                "p_value": np.nan,
                "unit": unit,
            }
        )
    if len(referred) > 1 and len(other) > 1:
        compare = CompareMeans(DescrStatsW(referred.to_numpy()), DescrStatsW(other.to_numpy()))
        low, high = compare.tconfint_diff(alpha=0.05, usevar="unequal")
        p_value = compare.ttest_ind(usevar="unequal")[1]
        rows.append(
            {
                "metric": "spend_per_month",
                "group": "difference",
                "customers": len(referred) + len(other),
                "estimate": float(referred.mean() - other.mean()),
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "unit": unit,
            }
        )
    return rows


def _retention_rows(retained: pd.Series, is_referred: pd.Series, metric: str) -> list[dict]:
    unit = "share still a customer"
    counts = {}
    rows = []
    for group, mask in (("referred", is_referred), ("other", ~is_referred)):
        kept, total = int(retained[mask].sum()), int(mask.sum())
        counts[group] = (kept, total)
        share, low, high = wilson_interval(kept, total)
        rows.append(
            {
                "metric": metric,
                "group": group,
                "customers": total,
                "estimate": share,
                "ci_low": low,
                "ci_high": high,
                "p_value": np.nan,
                "unit": unit,
            }
        )
    (k1, n1), (k2, n2) = counts["referred"], counts["other"]
    if n1 and n2:
        low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        p_value = test_proportions_2indep(k1, n1, k2, n2, method="score", compare="diff").pvalue
        rows.append(
            {
                "metric": metric,
                "group": "difference",
                "customers": n1 + n2,
                "estimate": k1 / n1 - k2 / n2,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "unit": unit,
            }
        )
    return rows
