"""The segmentation capability: RFM scores and segments, behavioural segments with stability and profiles.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "DEFAULT_FEATURES": "_segmenter",
    "DESCRIPTORS": "_segmenter",
    "LOG_FEATURES": "_segmenter",
    "NOT_FEATURES": "_segmenter",
    "NO_PURCHASE_LABEL": "_segmenter",
    "REPORT_COLUMNS": "_report",
    "RFM_SEGMENT_ORDER": "_rfm",
    "SEGMENT_COLOURS": "_segmenter",
    "Segmenter": "_segmenter",
    "customer_segments": "_segmenter",
    "describe_rfm": "_rfm",
    "describe_segments": "_report",
    "describe_stability": "_report",
    "headline": "_report",
    "plot_rfm_heatmap": "_rfm",
    "report_table": "_report",
    "rfm_grid_table": "_rfm",
    "rfm_segment_summary": "_rfm",
    "rfm_table": "_rfm",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
