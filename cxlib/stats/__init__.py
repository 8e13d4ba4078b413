"""Shared statistics: intervals, small-group suppression and pooling, design matrices, the fitted-model contract.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "CONTRAST_KINDS": "_design",
    "DRIVER_FORMS": "_design",
    "DesignEncoder": "_design",
    "FEATURE_LABELS": "_design",
    "FittedModel": "_fitted",
    "MAX_COUNT_LEVELS": "_splines",
    "MAX_LEVELS": "_design",
    "MIN_COUNT_LEVEL_SIZE": "_splines",
    "MISSING_FLAG_MAX_VIF": "_design",
    "MISSING_SUFFIX": "_design",
    "Note": "_notes",
    "NpsInterval": "_intervals",
    "OTHER_LABEL": "_suppression",
    "Pooling": "_suppression",
    "SPLINE_KNOT_QUANTILES": "_splines",
    "SUMMARY_COLUMNS": "_fitted",
    "SplineBasis": "_splines",
    "UNIT_KINDS": "_design",
    "Unit": "_design",
    "Z95": "_intervals",
    "count_levels": "_splines",
    "count_text": "_splines",
    "feature_label": "_design",
    "fill_value": "_design",
    "holm_adjusted": "_multitest",
    "is_count": "_splines",
    "level_label": "_design",
    "mean_interval": "_intervals",
    "missing_notes": "_design",
    "missing_plan": "_design",
    "nps_interval": "_intervals",
    "nps_interval_counts": "_intervals",
    "parameter_draws": "_parameter_draws",
    "pool_small_groups": "_suppression",
    "pooled_groups": "_suppression",
    "readable_number": "_design",
    "record_pooling": "_suppression",
    "set_display_labels": "_design",
    "spline_knots": "_splines",
    "summary_frame": "_fitted",
    "suppress_small": "_suppression",
    "unit_text": "_design",
    "variance_inflation": "_design",
    "wilson_interval": "_intervals",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
