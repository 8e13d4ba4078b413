"""Each customer's observed lifetime at a date: tenure from signup to churn, or to the date.

The third view of the per-customer features (after the profile and the churn drivers): retention
curves (:class:`cxlib.churn.RetentionCurves`) and what follows read it. Tenure is the shared
:func:`cxlib.features.tenure_months`; who has churned, and when, is the one churn rule
(:class:`cxlib.features.ChurnRule`).

Examples
--------
>>> rule = churn_rule_from_config(data, config)  # doctest: +SKIP
>>> lifetime_table(data, rule, attributes=["plan"]).groupby("plan")["churned"].mean()  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from cxlib.features._churn_rule import ChurnRule
from cxlib.features._time import DAYS_PER_MONTH, tenure_months


def lifetime_table(data, rule: ChurnRule, as_of=None, attributes=()) -> pd.DataFrame:
    """Each customer's observed lifetime in months and whether it ended in churn.

    The churn rule at ``as_of`` decides: a customer who has churned by then lives from signup to
    their churn date (contractual: the recorded date; inactivity: ``inactivity_days`` after the
    last purchase, or after signup for a customer who never bought); the others are censored at
    ``as_of``. Snapshot: tenure at ``as_of``, ended if labelled churned.

    Parameters
    ----------
    data : CustomerData
    rule : ChurnRule
        E.g. :func:`cxlib.features.churn_rule_from_config` or a churn design's ``rule``.
    as_of : Timestamp or str, optional
        The day the lifetimes are read at (records dated up to its end); default the data's as-of date.
    attributes : list of str
        Customer columns to carry along for grouping (missing values become ``unknown``).

    Returns
    -------
    DataFrame
        ``customer_id``, ``duration_months`` (whole days from the signup day, at least one day),
        ``churned`` (bool), the attributes; in the customer table's order.
    """
    customers = data["customers"]
    as_of = pd.Timestamp(data.as_of if as_of is None else as_of)
    churned = rule.churned_by(data, as_of).to_numpy()
    if rule.dated:
        churn_date = pd.Series(rule.churn_dates(data, as_of).to_numpy(), index=customers.index)
        end = churn_date.where(churned, as_of)
    else:
        end = pd.Series(as_of, index=customers.index)
    months = tenure_months(customers["signup_date"], end).clip(lower=1 / DAYS_PER_MONTH)
    table = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            "duration_months": months.to_numpy(),
            "churned": churned,
        }
    )
    for column in attributes:
        table[column] = customers[column].astype("string").fillna("unknown").to_numpy()
    return table
