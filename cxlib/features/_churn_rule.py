"""Who has churned, and when: the churn rule, resolved once from the config and the data.

Every place that asks who churned asks this module: the overview's churn KPI
(:func:`cxlib.overview.headline_kpis`), the ``churned`` customer feature
(:func:`cxlib.features.customer_features`), the survival lifetimes
(:func:`cxlib.features.lifetime_table`) and the churn panel's labels (:func:`cxlib.churn.churn_labels`).
Time is counted in whole days; "by day d" means with every record dated up to the end of that day.

contractual
    Customers carry a churn date. A customer has churned by day ``d`` when their churn date is on
    or before ``d``.
snapshot
    A churn label without dates (e.g. IBM Telco): the label says who had churned at the analysis
    date, and nothing says when.
inactivity
    No churn date, but transactions. A customer churns after ``inactivity_days`` whole days without
    a purchase: their churn date is the day of their last purchase (a transaction row that is not a
    refund; a customer who never bought counts from their signup day) plus ``inactivity_days``. A
    customer has churned by day ``d`` when that date is on or before ``d``, i.e. when they made no
    purchase in the ``inactivity_days`` days up to and including ``d``.

``auto`` resolves to contractual when the customers carry churn dates, to snapshot when they carry
only a churn label, and to inactivity otherwise.

Examples
--------
>>> from cxlib.data._config import load_config  # doctest: +SKIP
>>> from cxlib.data._load import load_data  # doctest: +SKIP
>>> config = load_config("configs/demo_small.yaml")  # doctest: +SKIP
>>> data = load_data(config)  # doctest: +SKIP
>>> rule = churn_rule_from_config(data, config)  # doctest: +SKIP
>>> rule.churned_by(data, data.as_of).mean()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cxlib.exceptions import ConfigError

#: The definitions a rule can resolve to (``auto`` in the config picks one of the first two or the last).
CHURN_DEFINITIONS = ("contractual", "snapshot", "inactivity")

_ONE_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class ChurnRule:
    """How churn is recognised in one data set (see the module docstring for the rule).

    Attributes
    ----------
    definition : str
        ``contractual``, ``snapshot`` or ``inactivity``.
    inactivity_days : int or None
        Days without a purchase after which a customer has churned (inactivity only).
    """

    definition: str
    inactivity_days: int | None = None

    @property
    def dated(self) -> bool:
        """Whether churn has dates (so it can be placed in time: cut-offs, lifetimes)."""
        return self.definition != "snapshot"

    def churn_dates(self, data, through) -> pd.Series:
        """Each customer's churn date, from the records dated up to ``through`` (the whole day).

        Parameters
        ----------
        data : CustomerData
            Canonical tables (customers; transactions for inactivity).
        through : Timestamp or str
            Transactions dated after this day are not read (inactivity).

        Returns
        -------
        Series of datetime64, indexed by customer_id (the customer table's order)
            Contractual: the churn date (NaT: no churn recorded). Inactivity: the day the customer
            churns unless they buy again; it can lie after ``through``, when the customer has not
            churned yet. Snapshot: NaT (the label carries no date).
        """
        customers = data["customers"]
        ids = pd.Index(customers["customer_id"], name="customer_id")
        if self.definition == "contractual":
            return pd.Series(customers["churn_date"].to_numpy(), index=ids, name="churn_date")
        if self.definition == "snapshot":
            return pd.Series(pd.NaT, index=ids, name="churn_date", dtype="datetime64[ns]")
        tx = data["transactions"]
        sales = tx.loc[~tx["is_refund"] & (tx["order_date"] < pd.Timestamp(through).normalize() + _ONE_DAY)]
        last = sales.groupby("customer_id")["order_date"].max().reindex(ids)
        signup = pd.Series(customers["signup_date"].to_numpy(), index=ids)
        since = last.fillna(signup).dt.normalize()
        return (since + pd.Timedelta(days=int(self.inactivity_days))).rename("churn_date")

    def churned_by(self, data, day) -> pd.Series:
        """Whether each customer has churned by the end of ``day``, from the records dated up to it.

        Parameters
        ----------
        data : CustomerData
        day : Timestamp or str
            For a snapshot the label is returned whatever the day (it describes the analysis date).

        Returns
        -------
        Series of bool, indexed by customer_id (the customer table's order)
        """
        if self.definition == "snapshot":
            customers = data["customers"]
            label = customers["churned"].fillna(False).astype(bool).to_numpy()
            return pd.Series(
                label, index=pd.Index(customers["customer_id"], name="customer_id"), name="churned"
            )
        day = pd.Timestamp(day).normalize()
        return (self.churn_dates(data, day).dt.normalize() <= day).rename("churned")


def resolve_churn_rule(data, definition: str = "auto", inactivity_days: int = 180) -> ChurnRule:
    """Resolve the configured churn definition against the data.

    Parameters
    ----------
    data : CustomerData
        Canonical tables.
    definition : {"auto", "contractual", "inactivity"}
        As ``analysis.churn.definition``.
    inactivity_days : int
        As ``analysis.churn.inactivity_days`` (used by the inactivity definition).

    Returns
    -------
    ChurnRule

    Raises
    ------
    ConfigError
        If the data cannot support the requested definition.

    Examples
    --------
    >>> rule = resolve_churn_rule(data, "inactivity", 90)  # doctest: +SKIP
    >>> rule  # doctest: +SKIP
    ChurnRule(definition='inactivity', inactivity_days=90)
    """
    customers = data["customers"]
    has_dates = "churn_date" in customers and customers["churn_date"].notna().any()
    has_label = "churned" in customers and customers["churned"].notna().any()
    if definition in ("auto", "contractual") and has_dates:
        return ChurnRule("contractual")
    if definition in ("auto", "contractual") and has_label:
        return ChurnRule("snapshot")
    if definition in ("auto", "inactivity") and data.has("transactions"):
        return ChurnRule("inactivity", int(inactivity_days))
    raise ConfigError(
        f"analysis.churn.definition: '{definition}' needs churn dates or labels (contractual) or "
        "transactions (inactivity); map customers.churn_date or churned, or add a transactions table"
    )


def churn_rule_from_config(data, config) -> ChurnRule:
    """:func:`resolve_churn_rule` with ``analysis.churn`` of the config.

    Parameters
    ----------
    data : CustomerData
    config : Config

    Returns
    -------
    ChurnRule
    """
    churn = config.analysis["churn"]
    return resolve_churn_rule(data, churn["definition"], churn["inactivity_days"])
