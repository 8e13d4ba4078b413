"""Loyalty spend and word of mouth: what promoters are worth, as inputs of the revenue case.

Spend by NPS class, within customers (:func:`loyalty_spend`)
    Each customer-month carries the NPS class of the customer's latest answer as at the first day
    of the month (the exposure spells of :func:`cxlib.experience.nps_class_spells`: promoter 9-10,
    passive 7-8, detractor 0-6, ``no_answer`` before the first answer; exposure ends at churn by the
    suite's churn rule). A customer's months as a promoter are compared with their own months in
    the other classes, so whatever is stable about a customer (segment, basket size, how often they
    buy) cancels out; calendar-month effects take out seasonality and trends (a December basket,
    growth), which would otherwise load on the classes because answers accumulate over time.
    Three ratios against passives, each with a 95% interval, cluster-robust by customer (Cameron
    and Miller 2015, J. Human Resources 50:317-372; the customer fixed effects are nested in the
    clusters, so the small-sample correction counts only the slopes, as Stata's ``xtreg, fe``):

    per-order spend ratio
        OLS of the log amount of each sale on class dummies and calendar-month dummies after the
        within-customer transformation (the fixed-effects estimator, Wooldridge 2010, Econometric
        Analysis of Cross Section and Panel Data, ch. 10), statsmodels ``OLS``. Log amounts suit
        heavy-tailed baskets; exp(coefficient) is the ratio of geometric means, equal to the ratio
        of means when the spread of baskets does not depend on the class. Customers with a single
        sale carry no within-customer information and are left out (Correia 2015, singletons).
    order-rate ratio
        Poisson regression of the sales per customer-month on the same dummies with a log-exposure
        offset and customer fixed effects: the conditional (fixed-effects) Poisson model of
        Hausman, Hall and Griliches (1984, Econometrica 52:909-938), consistent whatever the
        dispersion as long as the mean is right (Wooldridge 1999, J. Econometrics 90:77-97).
    spend-per-month ratio
        The same Poisson fixed-effects model on each customer-month's spend (Poisson pseudo maximum
        likelihood, Santos Silva and Tenreyro 2006, Rev. Econ. Stat. 88:641-658): the ratio of mean
        spend per month, what revenue needs, in one model rather than a product of two.

    statsmodels' ``ConditionalPoisson`` gives the same estimates but loops over customers in Python
    with a numerical Hessian and has no cluster-robust covariance, so the Poisson models are fitted
    by iteratively reweighted least squares with the customer effects absorbed exactly by weighted
    within-customer demeaning (Correia, Guimaraes and Zylkin 2020, Stata Journal 20:95-115,
    ``ppmlhdfe``), and their covariance is statsmodels ``GLM``'s cluster-robust one on the demeaned
    design at the solution (the concentrated likelihood's sandwich). Amounts are sales, gross of
    refunds (refunds are dated later, often in another month). The comparison is observational:
    customers whose answers change may also be changing in other ways.

Word of mouth (:func:`referral_inputs`)
    The referral rates of :class:`cxlib.experience.ReferralRates` as inputs: the promoter rate and
    the promoter-minus-passive gain, whose standard error comes from the fit's cluster-robust
    covariance of the log rates by the delta method.

Examples
--------
>>> rule = churn_rule_from_config(data, config)  # doctest: +SKIP
>>> spend = loyalty_spend(data, rule)  # doctest: +SKIP
>>> spend.table[["nps_class", "spend_ratio", "spend_ci_low", "spend_ci_high"]]  # doctest: +SKIP
>>> spend.inputs()["promoter_spend_ratio"]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from cxlib.experience._referrals import REFERRAL_RATE_UNIT, nps_class_spells
from cxlib.features._churn_rule import ChurnRule
from cxlib.features._time import DAYS_PER_MONTH
from cxlib.impact._inputs import Z95, Input
from cxlib.stats._notes import Note

#: A ratio whose log has a standard error above this (a 95% interval wider than a factor of about
#: 7 either way) is not estimated: the fit did not settle on these data.
MAX_SE_LOG = 1.0
#: The class every ratio compares against.
REFERENCE_CLASS = "passive"
#: Classes compared with the reference, in the order tables show them.
COMPARED_CLASSES = ("promoter", "detractor", "no_answer")
#: Measures of :attr:`LoyaltySpend.table`: column prefix and what the ratio compares.
MEASURES = {"per_order": "spend per order", "order_rate": "orders per month", "spend": "spend per month"}


@dataclass(frozen=True)
class LoyaltySpend:
    """Spend of customers by the NPS class of their latest answer, against passives, within customers.

    Attributes
    ----------
    table : DataFrame
        One row per class compared with passives: ``nps_class``; for each measure in
        :data:`MEASURES` (``per_order``, ``order_rate``, ``spend``) the ratio ``<m>_ratio``, its 95%
        interval ``<m>_ci_low``/``<m>_ci_high``, ``<m>_se_log`` and ``<m>_p_value``; then
        ``customers`` (customers with sales both in this class and in another), ``orders`` (sales
        in the class) and ``exposure_months``. Empty when nothing could be estimated.
    notes : list of Note
        ``loyalty.no_surveys``, ``loyalty.no_transactions``, ``loyalty.too_few_customers`` (a class
        left out), ``loyalty.no_reference``, ``loyalty.outside_exposure`` (sales outside the
        customer's exposure), ``loyalty.non_positive`` (sales of zero or less, left out of the
        per-order model), ``loyalty.not_converged``, ``loyalty.model_failed``.
    customers : int
        Customers in the models (with a sale and exposure in an estimated class).
    orders : int
        Sales in the models.
    """

    table: pd.DataFrame
    notes: list = field(default_factory=list)
    customers: int = 0
    orders: int = 0

    @property
    def promoter_spend_ratio(self) -> Input | None:
        """Spend per active month, promoters vs passives (None when not estimated)."""
        return self.inputs().get("promoter_spend_ratio")

    def inputs(self) -> dict[str, Input]:
        """The ratios as inputs of the revenue case (log-normal, evidence ``observational``).

        Returns
        -------
        dict of str to Input
            ``promoter_spend_ratio`` (spend per active month), ``promoter_order_value_ratio`` and
            ``promoter_order_rate_ratio``, against passives; empty when promoters were not estimated.
        """
        rows = self.table.set_index("nps_class") if len(self.table) else pd.DataFrame()
        if "promoter" not in rows.index:
            return {}
        row = rows.loc["promoter"]
        source = "cxlib.impact.loyalty_spend: within-customer fixed effects, promoter vs passive"
        names = {
            "spend": "promoter_spend_ratio",
            "per_order": "promoter_order_value_ratio",
            "order_rate": "promoter_order_rate_ratio",
        }
        return {
            name: Input.ratio(name, row[f"{m}_ratio"], row[f"{m}_se_log"], "observational", source)
            for m, name in names.items()
            if np.isfinite(row[f"{m}_ratio"]) and np.isfinite(row[f"{m}_se_log"])
        }


#: Above this many customers seen in two NPS classes or more, the three within-customer models are
#: fitted on a seeded random sample of this many of them (their cluster-robust intervals then reflect
#: the sample; the caveat ``loyalty.sampled`` says so): on 200,000 customers the models took three
#: minutes. Measured in ``tests/test_impact_study.py``.
LOYALTY_CUSTOMERS = 20_000


def loyalty_spend(
    data, rule: ChurnRule | None, min_customers: int = 20, seed: int = 0, spells: pd.DataFrame | None = None
) -> LoyaltySpend:
    """Per-order spend, order rate and spend per month by NPS class, within customers, vs passives.

    See the module docstring for the spells, the three models and their references.

    Parameters
    ----------
    data : CustomerData
        customers, transactions and surveys (with ``nps``).
    rule : ChurnRule or None
        The churn rule (:func:`cxlib.features.churn_rule_from_config`): it ends exposure.
    min_customers : int
        A class is compared only when at least this many customers have sales both in it and in
        another class (its within-customer contrast rests on them).
    seed : int
        Seed of the sample of customers above :data:`LOYALTY_CUSTOMERS`.
    spells : DataFrame, optional
        The spells of :func:`cxlib.experience.nps_class_spells` for ``data`` and ``rule`` when
        already built (the referral rates need them too); built here otherwise.

    Returns
    -------
    LoyaltySpend
        Never raises for missing data: an empty table and notes saying why.

    Examples
    --------
    >>> spend = loyalty_spend(data, churn_rule_from_config(data, config))  # doctest: +SKIP
    >>> spend.inputs()["promoter_spend_ratio"].value  # doctest: +SKIP
    """
    notes = []
    if not (data.has("surveys") and "nps" in data["surveys"] and data["surveys"]["nps"].notna().any()):
        notes.append(Note("loyalty.no_surveys"))
    if not data.has("transactions") or _rows(data, "transactions") == 0:
        notes.append(Note("loyalty.no_transactions"))
    if notes:
        return LoyaltySpend(_empty_table(), notes)
    # one BLAS thread: on a shared 2-core machine BLAS threads wait for each other (as in churn)
    with threadpool_limits(limits=1, user_api="blas"):
        return _loyalty_spend(data, rule, min_customers, notes, seed, spells)


def _loyalty_spend(data, rule, min_customers: int, notes: list, seed: int = 0, spells=None) -> LoyaltySpend:
    """:func:`loyalty_spend` once the tables are known to be there."""
    if spells is None:
        spells, _ = nps_class_spells(data, rule)
    placed = _place_sales(*_sale_columns(data), spells)
    if placed.outside:
        notes.append(Note("loyalty.outside_exposure", {"orders": placed.outside}))
    classes = _estimable_classes(placed, min_customers, notes)
    if classes is None:
        return LoyaltySpend(_empty_table(), notes)
    # only customers seen in two classes or more compare classes within themselves; the rest would
    # inform the calendar-month effects alone (most never answer), at a large cost on big data.
    # Counted on the spells: every spell has customer-months with exposure, so a customer's classes
    # are the same there as in the (ten times more) customer-months
    in_classes = spells.loc[spells["nps_class"].isin(classes)]
    switched = in_classes.groupby("customer_id")["nps_class"].nunique()
    switchers = switched.index[switched > 1]
    if len(switchers) > LOYALTY_CUSTOMERS:
        rng = np.random.default_rng(seed)
        kept = np.sort(rng.choice(len(switchers), LOYALTY_CUSTOMERS, replace=False))
        notes.append(
            Note("loyalty.sampled", {"sample": LOYALTY_CUSTOMERS, "customers": len(switchers), "seed": seed})
        )
        switchers = switchers[kept]
    # the customer-months of these customers only: each customer's are built from their own spells
    cells = _customer_months(in_classes.loc[in_classes["customer_id"].isin(switchers)])
    # only the sales of these customers become a frame (on millions of sales, most are not needed)
    sales = placed.frame(classes, cells["customer_id"].unique())
    per_cell = sales.groupby(["customer_id", "month"]).agg(orders=("amount", "size"), spend=("amount", "sum"))
    cells = cells.join(per_cell, on=["customer_id", "month"]).fillna({"orders": 0, "spend": 0.0})
    try:
        per_order = _per_order_model(sales, classes[1:], notes)
        order_rate = _poisson_model(cells, "orders", classes[1:], notes)
        spend = _poisson_model(cells, "spend", classes[1:], notes)
    except np.linalg.LinAlgError as error:  # a degenerate design (tiny data): say so, do not crash
        notes.append(Note("loyalty.model_failed", {"error": str(error)}))
        return LoyaltySpend(_empty_table(), notes)
    rows, codes = [], pd.factorize(sales["customer_id"])[0]
    for name in classes[1:]:
        row = {"nps_class": name}
        for measure, fit in (("per_order", per_order), ("order_rate", order_rate), ("spend", spend)):
            row.update(_ratio_columns(measure, fit, name))
        in_class = sales.loc[sales["nps_class"] == name]
        row["customers"] = _switchers(sales, name, codes)
        row["orders"] = len(in_class)
        row["exposure_months"] = float(cells.loc[cells["nps_class"] == name, "exposure_months"].sum())
        rows.append(row)
    table = pd.DataFrame(rows, columns=_empty_table().columns)
    for measure in MEASURES:
        unsettled = table.loc[table[f"{measure}_ratio"].isna(), "nps_class"].tolist()
        if unsettled:
            notes.append(Note("loyalty.unstable", {"measure": MEASURES[measure], "classes": unsettled}))
    return LoyaltySpend(table, notes, int(cells["customer_id"].nunique()), len(sales))


def _empty_table() -> pd.DataFrame:
    columns = ["nps_class"]
    for measure in MEASURES:
        columns += [f"{measure}_{c}" for c in ("ratio", "ci_low", "ci_high", "se_log", "p_value")]
    return pd.DataFrame(columns=[*columns, "customers", "orders", "exposure_months"])


def _month_number(dates: pd.Series) -> np.ndarray:
    """Calendar month as one integer (12 x year + month - 1)."""
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()


def _customer_months(spells: pd.DataFrame) -> pd.DataFrame:
    """One row per customer, calendar month and class: the exposure in months (spells split at month starts)."""
    first = _month_number(spells["start"])
    last = _month_number(spells["end"] - pd.Timedelta(1, "ns"))
    span = last - first + 1
    rows = np.repeat(np.arange(len(spells)), span)
    month = first[rows] + np.arange(len(rows)) - np.repeat(np.cumsum(span) - span, span)
    month_start = _month_start(month)
    month_end = _month_start(month + 1)
    start = np.maximum(spells["start"].to_numpy()[rows], month_start)
    end = np.minimum(spells["end"].to_numpy()[rows], month_end)
    exposure = (end - start) / pd.Timedelta(1, "D") / DAYS_PER_MONTH
    # customers as codes: on millions of customer-months, text keys cost most of the time
    customer, customer_ids = pd.factorize(spells["customer_id"])
    customer_ids = np.asarray(customer_ids, dtype=object)
    key = customer[rows].astype(np.int64) * (int(month.max()) + 1 if len(month) else 1) + month
    if pd.Index(customer_ids).is_monotonic_increasing and bool((np.diff(key) > 0).all()):
        # the spells' usual order (by customer id, then time): already one row per customer-month,
        # sorted as the grouping below would sort them
        cells = pd.DataFrame(
            {
                "customer_id": customer_ids[customer[rows]],
                "month": month,
                "nps_class": spells["nps_class"].to_numpy()[rows],
                "exposure_months": exposure,
            }
        )
        return cells.loc[cells["exposure_months"] > 0].reset_index(drop=True)
    # grouped by codes sorted as the ids and class names themselves; the sums run in row order
    customer, customer_ids = pd.factorize(spells["customer_id"], sort=True)
    nps_class, class_names = pd.factorize(spells["nps_class"], sort=True)
    cells = pd.DataFrame(
        {
            "customer_id": customer[rows],
            "month": month,
            "nps_class": nps_class[rows],
            "exposure_months": exposure,
        }
    )
    # a class changes only at a month start, so one class per customer-month; sum in case of overlaps
    cells = cells.groupby(["customer_id", "month", "nps_class"], as_index=False)["exposure_months"].sum()
    cells = cells.loc[cells["exposure_months"] > 0].reset_index(drop=True)
    cells["customer_id"] = np.asarray(customer_ids, dtype=object)[cells["customer_id"].to_numpy()]
    cells["nps_class"] = np.asarray(class_names, dtype=object)[cells["nps_class"].to_numpy()]
    return cells


def _month_start(month: np.ndarray) -> np.ndarray:
    """The first day of each month number of :func:`_month_number` (datetime64[ns])."""
    return (np.asarray(month, dtype=np.int64) - 1970 * 12).astype("datetime64[M]").astype("datetime64[ns]")


#: The transaction columns the spells read (a run's saved table is read for these only).
SALE_COLUMNS = ["customer_id", "order_date", "amount", "is_refund"]


def _rows(data, name: str) -> int:
    """Rows of a table; a run's saved table answers from its Parquet footer without being read."""
    rows = getattr(data.tables, "rows", None)
    return rows(name) if rows is not None else len(data[name])


def _columns(data, name: str, columns: list[str]) -> pd.DataFrame:
    """Those columns of a table (those it has); a run's saved table reads only them."""
    columns_of = getattr(data.tables, "columns_of", None)
    if columns_of is not None:
        return columns_of(name, columns)
    frame = data[name]
    return frame[[c for c in columns if c in frame]]


def _sale_columns(data):
    """The transaction columns the spells need, and how to find each row's customer among given ids.

    A run's saved table gives the rows' positions among the ids from its file
    (:meth:`cxlib.run.SavedTables.codes_of`), so that its millions of customer ids are never read
    as text; otherwise they are looked up in the table.
    """
    codes_of = getattr(data.tables, "codes_of", None)
    if codes_of is None:
        return _columns(data, "transactions", SALE_COLUMNS), None
    return (
        _columns(data, "transactions", SALE_COLUMNS[1:]),
        lambda ids: codes_of("transactions", "customer_id", ids),
    )


def _nanoseconds(values) -> np.ndarray:
    """Datetimes as int64 nanoseconds (whatever their unit)."""
    return np.asarray(values).astype("datetime64[ns]").view(np.int64)


@dataclass(frozen=True)
class _PlacedSales:
    """The sales that fall in an NPS spell, as arrays in the table's row order.

    ``code`` indexes ``customer_ids`` and ``nps_class`` indexes ``class_names``; ``row`` is the
    sale's position among the table's rows; ``outside`` counts the sales outside any spell.
    """

    customer_ids: np.ndarray
    class_names: np.ndarray
    code: np.ndarray
    nps_class: np.ndarray
    order_date: np.ndarray
    amount: np.ndarray
    row: np.ndarray
    outside: int

    def switchers(self, name: str) -> int:
        """Customers with sales both in class ``name`` and in another class (as :func:`_switchers`)."""
        size = len(self.customer_ids)
        position = np.flatnonzero(self.class_names == name)
        in_class = (
            np.bincount(self.code[self.nps_class == position[0]], minlength=size) if len(position) else 0
        )
        return int(((in_class > 0) & (in_class < np.bincount(self.code, minlength=size))).sum())

    def frame(self, classes: list[str], customers) -> pd.DataFrame:
        """The sales of ``customers`` in ``classes``, in date order (ties in the table's row order).

        Columns ``customer_id``, ``order_date``, ``amount``, ``nps_class`` and ``month``.
        """
        wanted = pd.Index(self.customer_ids).get_indexer(pd.Index(customers))
        keep = np.isin(self.nps_class, np.flatnonzero(np.isin(self.class_names, classes)))
        keep &= np.isin(self.code, wanted[wanted >= 0])
        rows = np.flatnonzero(keep)
        rows = rows[np.lexsort((self.row[rows], _nanoseconds(self.order_date[rows])))]
        frame = pd.DataFrame(
            {
                "customer_id": self.customer_ids[self.code[rows]],
                "order_date": self.order_date[rows],
                "amount": self.amount[rows],
                "nps_class": self.class_names[self.nps_class[rows]],
            }
        )
        frame["month"] = _month_number(frame["order_date"])
        return frame


def _place_sales(transactions: pd.DataFrame, codes_of, spells: pd.DataFrame) -> _PlacedSales:
    """Each sale's spell, as ``pd.merge_asof`` by customer (backward) would find it, on integer keys.

    ``codes_of``: given customer ids, each transaction's position among them (-1: none); None:
    looked up in ``transactions["customer_id"]``.

    A sale's spell is the customer's latest spell starting at or before the sale, if the sale is
    before its end. Customers become integer codes, so that millions of sales are placed without
    comparing text (and without a search: most customers have one or two spells).
    """
    refund = transactions["is_refund"] if "is_refund" in transactions else transactions["amount"] < 0
    is_sale = (~refund.astype(bool) & transactions["order_date"].notna()).to_numpy()
    row = np.flatnonzero(is_sale)
    # spells by customer code then start (stable: equal starts keep the spells' order)
    spell_code, customer_ids = pd.factorize(spells["customer_id"])
    spell_start = _nanoseconds(spells["start"])
    order = np.lexsort((spell_start, spell_code))
    spell_code, spell_start = spell_code[order], spell_start[order]
    spell_end = _nanoseconds(spells["end"])[order]
    class_code, class_names = pd.factorize(spells["nps_class"])
    class_code = class_code[order]
    # the sales' customers as codes (-1: no spell)
    if codes_of is None:
        code = pd.Index(customer_ids).get_indexer(transactions["customer_id"].to_numpy()[row])
    else:
        code = codes_of(customer_ids)[row]
    order_date = transactions["order_date"].to_numpy()[row]
    when = _nanoseconds(order_date)
    # a customer's spells are the run [first, first + count) of the sorted spells; the sale's spell
    # is the last of them starting at or before it: first - 1 + how many of them start by then,
    # counted one rank at a time over the sales of customers with that many spells (most have one)
    found, inside = np.zeros(len(code), dtype=np.int64), np.zeros(len(code), dtype=bool)
    if len(spell_code):
        first = np.searchsorted(spell_code, np.arange(len(customer_ids)))
        count = np.diff(np.append(first, len(spell_code)))
        known = code >= 0
        who = np.where(known, code, 0)  # unknown customers' sales are left outside below
        base = first[who]
        found = base - 1 + (spell_start[base] <= when)
        more, rank = np.flatnonzero(known & (count[who] > 1)), 1
        while len(more):
            found[more] += spell_start[base[more] + rank] <= when[more]
            rank += 1
            more = more[count[who[more]] > rank]
        inside = known & (found >= base)
        found = np.maximum(found, 0)
        inside &= when < spell_end[found]
    amount = transactions["amount"].to_numpy()[row]
    return _PlacedSales(
        customer_ids=np.asarray(customer_ids, dtype=object),
        class_names=np.asarray(class_names, dtype=object),
        code=code[inside],
        nps_class=class_code[found[inside]],
        order_date=order_date[inside],
        amount=amount[inside],
        row=row[inside],
        outside=int((~inside).sum()),
    )


def _switchers(sales: pd.DataFrame, name: str, codes: np.ndarray | None = None) -> int:
    """Customers with sales both in class ``name`` and in another class.

    ``codes``: ``pd.factorize(sales["customer_id"])[0]``, when counted once for several classes.
    """
    if codes is None:
        codes = pd.factorize(sales["customer_id"])[0]
    size = int(codes.max()) + 1 if len(codes) else 0
    in_class = np.bincount(codes[sales["nps_class"].eq(name).to_numpy()], minlength=size)
    return int(((in_class > 0) & (in_class < np.bincount(codes, minlength=size))).sum())


def _estimable_classes(placed: _PlacedSales, min_customers: int, notes: list) -> list[str] | None:
    """The reference then the classes with enough within-customer contrast; None without reference or promoters."""
    counts = {c: placed.switchers(c) for c in (REFERENCE_CLASS, *COMPARED_CLASSES)}
    if counts[REFERENCE_CLASS] < min_customers:
        notes.append(
            Note(
                "loyalty.no_reference",
                {
                    "nps_class": REFERENCE_CLASS,
                    "customers": counts[REFERENCE_CLASS],
                    "min_customers": min_customers,
                },
            )
        )
        return None
    classes = [REFERENCE_CLASS]
    for name in COMPARED_CLASSES:
        if counts[name] >= min_customers:
            classes.append(name)
        else:
            values = {"nps_class": name, "customers": counts[name], "min_customers": min_customers}
            notes.append(Note("loyalty.too_few_customers", values))
    return classes if len(classes) > 1 else None


def _design(frame: pd.DataFrame, compared: list[str]) -> pd.DataFrame:
    """Class dummies (reference left out) and calendar-month dummies (first month left out)."""
    dummies = {name: (frame["nps_class"] == name).to_numpy(float) for name in compared}
    month = frame["month"].to_numpy()
    dummies.update({f"month_{m}": (month == m).astype(float) for m in np.unique(month)[1:]})
    return pd.DataFrame(dummies, index=frame.index)


def _group_mean(values: np.ndarray, groups: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each row's (weighted) mean over its group; ``values`` has one column per variable."""
    weights = np.ones(len(groups)) if weights is None else weights
    total = np.bincount(groups, weights=weights)
    sums = np.column_stack([np.bincount(groups, weights=weights * column) for column in values.T])
    return (sums / total[:, None])[groups]


def _per_order_model(sales: pd.DataFrame, compared: list[str], notes: list) -> dict:
    """Within-customer OLS of log amount: coefficients and cluster-robust covariance of the class terms."""
    positive = sales["amount"] > 0
    if (~positive).any():
        notes.append(Note("loyalty.non_positive", {"orders": int((~positive).sum())}))
    sales = sales.loc[positive]
    sales = sales.loc[sales.groupby("customer_id")["amount"].transform("size") > 1]  # singletons
    groups = pd.factorize(sales["customer_id"])[0]
    design = _design(sales, compared)
    log_amount = np.log(sales["amount"].to_numpy())[:, None]
    y = (log_amount - _group_mean(log_amount, groups))[:, 0]
    x = design - _group_mean(design.to_numpy(), groups)
    x = x.loc[:, (x.abs() > 1e-12).any()]
    # demeaned within customers, the design holds no constant: saying so spares statsmodels two
    # rank computations (SVDs of the whole design) that look for one
    result = sm.OLS(y, x, hasconst=False).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return {"params": result.params, "cov": result.cov_params(), "pvalues": result.pvalues}


def _poisson_model(cells: pd.DataFrame, outcome: str, compared: list[str], notes: list) -> dict:
    """Poisson fixed-effects (pseudo) likelihood of ``outcome`` per customer-month with log-exposure offset.

    Iteratively reweighted least squares, each step's customer effects absorbed exactly by weighted
    within-customer demeaning (one set of fixed effects needs no alternating projections); then
    statsmodels GLM on the demeaned design at the solution for the cluster-robust covariance.
    """
    cells = cells.loc[cells.groupby("customer_id")[outcome].transform("sum") > 0]  # no information
    # a calendar month without any sale (a gap in the data) would send its effect to minus infinity
    # and stop the fit settling; its rows carry no information on the classes either (ppmlhdfe drops
    # such separated observations the same way: Correia, Guimaraes and Zylkin 2020)
    cells = cells.loc[cells.groupby("month")[outcome].transform("sum") > 0]
    groups = pd.factorize(cells["customer_id"])[0]
    y = cells[outcome].to_numpy(float)
    offset = np.log(cells["exposure_months"].to_numpy())
    design = _design(cells, compared)
    x_all = design.to_numpy()
    rate = np.bincount(groups, weights=y) / np.bincount(groups, weights=np.exp(offset))
    mu = np.exp(offset) * rate[groups]  # each customer's own rate, no slopes: the start
    beta = np.zeros(x_all.shape[1])
    converged = False
    for _ in range(100):
        working = (np.log(mu) - offset + (y - mu) / mu)[:, None]
        x = x_all - _group_mean(x_all, groups, mu)
        z = (working - _group_mean(working, groups, mu))[:, 0]
        weighted = x * mu[:, None]
        new_beta = np.linalg.solve(weighted.T @ x, weighted.T @ z)
        alpha = _group_mean(working - (x_all @ new_beta)[:, None], groups, mu)[:, 0]
        mu = np.exp(offset + x_all @ new_beta + alpha)
        change = np.max(np.abs(new_beta - beta))
        beta = new_beta
        if change < 1e-10:
            converged = True
            break
    if not converged:
        notes.append(Note("loyalty.not_converged", {"outcome": outcome}))
    x = design - _group_mean(x_all, groups, mu)
    keep = (x.abs() > 1e-12).any().to_numpy()
    x, beta = x.loc[:, keep], beta[keep]
    fixed = np.log(mu) - x.to_numpy() @ beta  # the customer effects and offset at the solution
    model = sm.GLM(y, x, family=sm.families.Poisson(), offset=fixed, hasconst=False)  # as in OLS above
    result = model.fit(start_params=beta, cov_type="cluster", cov_kwds={"groups": groups})
    return {"params": result.params, "cov": result.cov_params(), "pvalues": result.pvalues}


def _ratio_columns(measure: str, fit: dict, name: str) -> dict:
    coefficient = float(fit["params"][name])
    se = float(np.sqrt(fit["cov"].loc[name, name]))
    if not (np.isfinite(coefficient) and np.isfinite(se) and se <= MAX_SE_LOG):
        # a fit that did not settle (e.g. on extreme amounts): no estimate rather than a wild one
        return {f"{measure}_{k}": np.nan for k in ("ratio", "ci_low", "ci_high", "se_log", "p_value")}
    return {
        f"{measure}_ratio": np.exp(coefficient),
        f"{measure}_ci_low": np.exp(coefficient - Z95 * se),
        f"{measure}_ci_high": np.exp(coefficient + Z95 * se),
        f"{measure}_se_log": se,
        f"{measure}_p_value": float(fit["pvalues"][name]),
    }


def referral_inputs(rates) -> dict[str, Input]:
    """Word-of-mouth inputs from fitted referral rates: the promoter rate and its gain over passives.

    Parameters
    ----------
    rates : ReferralRates
        Fitted (:class:`cxlib.experience.ReferralRates`), with ``log_rates_`` and their
        cluster-robust covariance ``log_rate_covariance_``.

    Returns
    -------
    dict of str to Input
        ``referral_rate_promoter`` and ``referral_rate_passive`` (log-normal, referrals per
        customer-month) and ``referral_rate_gain``, promoter minus passive (normal; standard error by
        the delta method: var(r_p - r_q) = r_p^2 v_pp + r_q^2 v_qq - 2 r_p r_q v_pq on the log rates'
        covariance v). Evidence ``observational``. A class without any referral has no log rate:
        its inputs (and the gain) are left out, so the dict may be empty.

    Examples
    --------
    >>> referral_inputs(ReferralRates().fit(data, rule))["referral_rate_gain"].value  # doctest: +SKIP
    """
    rates.check_is_fitted()
    log_rate, cov = rates.log_rates_, rates.log_rate_covariance_
    source = "cxlib.experience.ReferralRates: Poisson GLM by NPS class, cluster-robust by customer"
    inputs = {}
    for name in ("promoter", "passive"):
        if name in log_rate.index:
            key = f"referral_rate_{name}"
            se = float(np.sqrt(cov.loc[name, name]))
            inputs[key] = Input.ratio(
                key, np.exp(log_rate[name]), se, "observational", source, REFERRAL_RATE_UNIT
            )
    if {"promoter", "passive"} <= set(log_rate.index):
        promoter, passive = np.exp(log_rate["promoter"]), np.exp(log_rate["passive"])
        variance = (
            promoter**2 * cov.loc["promoter", "promoter"]
            + passive**2 * cov.loc["passive", "passive"]
            - 2 * promoter * passive * cov.loc["promoter", "passive"]
        )
        inputs["referral_rate_gain"] = Input.difference(
            "referral_rate_gain",
            promoter - passive,
            float(np.sqrt(max(variance, 0.0))),
            "observational",
            source,
            REFERRAL_RATE_UNIT,
        )
    return inputs
