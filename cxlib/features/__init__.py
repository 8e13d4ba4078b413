"""Per-customer features at a date: one definition shared by segmentation, churn and what follows.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "CHURN_DEFINITIONS": "_churn_rule",
    "ChurnRule": "_churn_rule",
    "DAYS_PER_MONTH": "_time",
    "NO_PURCHASE": "_purchases",
    "RFM_GRID": "_purchases",
    "YEAR_DAYS": "_time",
    "churn_rule_from_config": "_churn_rule",
    "customer_features": "_customer",
    "dated_before": "_time",
    "days_since": "_time",
    "driver_features": "_drivers",
    "end_of_day": "_time",
    "features_from_config": "_customer",
    "latest_answers": "_purchases",
    "lifetime_table": "_lifetimes",
    "mean_order_value": "_purchases",
    "orders_per_customer": "_purchases",
    "purchases": "_purchases",
    "quantile_score": "_purchases",
    "refunds": "_purchases",
    "resolve_churn_rule": "_churn_rule",
    "rfm_from_purchases": "_purchases",
    "rfm_scores": "_purchases",
    "tenure_days": "_time",
    "tenure_months": "_time",
    "transactions_before": "_purchases",
    "window_transactions": "_purchases",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
