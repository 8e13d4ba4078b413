"""The customer-experience capability: NPS and CSAT, key drivers, friction, the journey and word of mouth.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "DEFAULT_TARGETS": "_key_drivers",
    "KeyDrivers": "_key_drivers",
    "MIN_EIGENVALUE": "_relative_weights",
    "PairwiseSums": "_relative_weights",
    "QUADRANTS": "_key_drivers",
    "QUADRANT_COLOURS": "_plots_drivers",
    "QUADRANT_NAMES": "_plots_drivers",
    "bootstrap_weights": "_relative_weights",
    "choose_target": "_key_drivers",
    "driver_label": "_key_drivers",
    "importance_performance": "_key_drivers",
    "nearest_correlation": "_relative_weights",
    "place_labels": "_plots_drivers",
    "plot_importance": "_plots_drivers",
    "plot_importance_performance": "_plots_drivers",
    "rating_columns": "_key_drivers",
    "relative_weights": "_relative_weights",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
