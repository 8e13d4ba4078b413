"""The customer-experience capability: NPS and CSAT, key drivers, friction, the journey and word of mouth.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "DEFAULT_TARGETS": "_key_drivers",
    "GROUP_ATTRIBUTES": "_scores",
    "GroupScores": "_scores",
    "KeyDrivers": "_key_drivers",
    "LATEST_PER_CUSTOMER": "_scores",
    "LATEST_PER_CUSTOMER_PER_PERIOD": "_scores",
    "MIN_ANSWERS": "_scores",
    "MIN_EIGENVALUE": "_relative_weights",
    "NpsInterval": "_score_intervals",
    "PairwiseSums": "_relative_weights",
    "PeriodScores": "_scores",
    "QUADRANTS": "_key_drivers",
    "QUADRANT_COLOURS": "_plots_drivers",
    "QUADRANT_NAMES": "_plots_drivers",
    "SCORE_COLUMNS": "_scores",
    "UNKNOWN": "_scores",
    "bootstrap_weights": "_relative_weights",
    "choose_target": "_key_drivers",
    "csat_difference_test": "_score_intervals",
    "csat_scores": "_score_intervals",
    "customer_groups": "_scores",
    "driver_label": "_key_drivers",
    "importance_performance": "_key_drivers",
    "latest_per_customer": "_scores",
    "nearest_correlation": "_relative_weights",
    "nps_counts": "_score_intervals",
    "nps_difference_test": "_score_intervals",
    "nps_interval_counts": "_score_intervals",
    "place_labels": "_plots_drivers",
    "plot_importance": "_plots_drivers",
    "plot_importance_performance": "_plots_drivers",
    "plot_nps_by_group": "_plots_scores",
    "plot_nps_over_time": "_plots_scores",
    "rating_columns": "_key_drivers",
    "relative_weights": "_relative_weights",
    "scores_by_group": "_scores",
    "scores_by_period": "_scores",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
