"""The customer-experience capability: NPS and CSAT, key drivers, friction, the journey and word of mouth.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "GROUP_ATTRIBUTES": "_scores",
    "GroupScores": "_scores",
    "LATEST_PER_CUSTOMER": "_scores",
    "LATEST_PER_CUSTOMER_PER_PERIOD": "_scores",
    "MIN_ANSWERS": "_scores",
    "NpsInterval": "_score_intervals",
    "PeriodScores": "_scores",
    "SCORE_COLUMNS": "_scores",
    "UNKNOWN": "_scores",
    "csat_difference_test": "_score_intervals",
    "csat_scores": "_score_intervals",
    "customer_groups": "_scores",
    "latest_per_customer": "_scores",
    "nps_counts": "_score_intervals",
    "nps_difference_test": "_score_intervals",
    "nps_interval_counts": "_score_intervals",
    "plot_nps_by_group": "_plots_scores",
    "plot_nps_over_time": "_plots_scores",
    "scores_by_group": "_scores",
    "scores_by_period": "_scores",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
