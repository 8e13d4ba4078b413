"""The churn capability: who leaves (panel, driver and prediction models), when (survival) and why.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "ChurnCutoff": "_panel",
    "ChurnDrivers": "_models",
    "ChurnHazards": "_survival",
    "ChurnPanel": "_panel",
    "ChurnPredictor": "_models",
    "LABEL": "_panel",
    "METRIC_NAMES": "_report",
    "MIN_TRAIN_CHURNERS": "_panel",
    "RemainingLifetime": "_survival",
    "RetentionCurves": "_survival",
    "churn_cutoff": "_panel",
    "churn_features": "_panel",
    "churn_labels": "_panel",
    "churn_panel": "_panel",
    "churn_scores": "_report",
    "classification_metrics": "_models",
    "compare_models": "_report",
    "driver_table": "_report",
    "effect_headline": "_report",
    "effect_sentence": "_report",
    "flags": "_report",
    "format_metrics": "_report",
    "format_ratios": "_report",
    "format_retention": "_report",
    "format_risk_bands": "_report",
    "gains_table": "_models",
    "key_driver_curves": "_report",
    "largest_clear_effect": "_report",
    "lifetime_table": "_survival",
    "plot_calibration": "_models",
    "plot_gains": "_models",
    "risk_bands": "_report",
    "scoring_features": "_panel",
    "strongest_sentence": "_report",
    "top_driver": "_report",
    "train_test_panels": "_panel",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
