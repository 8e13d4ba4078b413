"""Per-customer features at a date: one set of definitions shared by segmentation, churn and what follows.

Three views are built from the same definitions:

the profile at the analysis date (:func:`customer_features`)
    Everything dated up to the end of the analysis day: RFM, tenure, order rate and value, channel
    mix, service contacts, survey answers, churned. For segmentation and customer value.
the drivers before a cut-off (:func:`driver_features`)
    Everything dated strictly before the cut-off, nothing on or after it: tenure, orders of the
    last 12 months, order value, recency, refunds, service experience, satisfaction, programme.
    For the churn panel (features at the cut-off, label after it) and for scoring at the analysis
    date (the cut-off is then the midnight after it).
the lifetimes (:func:`lifetime_table`)
    Each customer's tenure from signup to churn, or to the date it is read at, under the one churn
    rule (:class:`ChurnRule`). For retention curves.

The shared definitions, each in one place:

- **window**: a view reads records dated before an exclusive end (:func:`dated_before`): the
  profile at day D ends at :func:`end_of_day` (D), the drivers at a cut-off end at the cut-off;
  "the last 12 months" are the :data:`YEAR_DAYS` days before the end. So the profile at D and
  the drivers at D + 1 day read the same records and give the same orders, order value and
  recency (``tests/test_features.py``).
- **order**: the rows of one ``order_id`` of one customer (a row without one is its own order);
  a purchase is an order's sale rows worth more than zero (:func:`purchases`), a refund an
  order's refund rows (:func:`refunds`); rows are order lines on line-level data.
- **order value**: gross purchase amount per purchase (:func:`mean_order_value`), never per line.
- **tenure**: whole days from the signup day (:func:`tenure_days`), or those days in months of
  :data:`DAYS_PER_MONTH` (:func:`tenure_months`); recency likewise (:func:`days_since`).
- **churn**: :class:`ChurnRule`, resolved once from the config and the data.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "CALENDAR_SLACK_DAYS": "_time",
    "CHURN_DEFINITIONS": "_churn_rule",
    "ChurnRule": "_churn_rule",
    "DAYS_PER_MONTH": "_time",
    "NO_PURCHASE": "_purchases",
    "REPEAT_COLUMNS": "_repeat",
    "RFM_GRID": "_purchases",
    "YEAR_DAYS": "_time",
    "active_months": "_customer",
    "churn_rule_from_config": "_churn_rule",
    "compress_summary": "_repeat",
    "customer_features": "_customer",
    "dated_before": "_time",
    "days_since": "_time",
    "driver_features": "_drivers",
    "end_of_day": "_time",
    "features_from_config": "_customer",
    "friction_features": "_drivers",
    "id_order": "_ids",
    "latest_answers": "_purchases",
    "lifetime_table": "_lifetimes",
    "mean_order_value": "_purchases",
    "orders_per_customer": "_purchases",
    "purchase_days": "_repeat",
    "purchases": "_purchases",
    "quantile_score": "_purchases",
    "refunds": "_purchases",
    "repeat_purchase_summary": "_repeat",
    "resolve_churn_rule": "_churn_rule",
    "rfm_from_purchases": "_purchases",
    "rfm_scores": "_purchases",
    "spend_per_month": "_customer",
    "summary_from_aggregates": "_repeat",
    "tenure_days": "_time",
    "tenure_months": "_time",
    "transactions_before": "_purchases",
    "window_transactions": "_purchases",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
