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
    "churn_rule_from_config": "_churn_rule",
    "customer_features": "_customer",
    "features_from_config": "_customer",
    "latest_answers": "_purchases",
    "purchases": "_purchases",
    "quantile_score": "_purchases",
    "resolve_churn_rule": "_churn_rule",
    "rfm_from_purchases": "_purchases",
    "rfm_scores": "_purchases",
    "window_transactions": "_purchases",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
