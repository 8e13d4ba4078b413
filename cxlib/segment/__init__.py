"""The segmentation capability: RFM scores and segments, behavioural segments with stability and profiles.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "CUSTOMER_COLUMNS": "_tables",
    "DEFAULT_FEATURES": "_segmenter",
    "DESCRIPTORS": "_profiles",
    "LOG_FEATURES": "_profiles",
    "NOT_FEATURES": "_profiles",
    "NO_PURCHASE_LABEL": "_segmenter",
    "REPORT_COLUMNS": "_report",
    "RFM_REPORT_COLUMNS": "_report",
    "RFM_SEGMENT_ORDER": "_rfm",
    "SEGMENT_COLOURS": "_plots",
    "STABLE_JACCARD": "_segmenter",
    "Segmenter": "_segmenter",
    "UNSTABLE_JACCARD": "_segmenter",
    "customer_segments": "_tables",
    "describe_caveats": "_report",
    "describe_data": "_report",
    "describe_findings": "_report",
    "describe_k_choice": "_report",
    "describe_rfm": "_report",
    "describe_saved": "_report",
    "describe_segments": "_report",
    "describe_stability": "_report",
    "feature_differences": "_profiles",
    "generated_names": "_profiles",
    "headline": "_report",
    "plot_k_scores": "_plots",
    "plot_profile_heatmap": "_plots",
    "plot_projection": "_plots",
    "plot_rfm_heatmap": "_plots",
    "plot_sizes": "_plots",
    "plot_stability": "_plots",
    "report_table": "_report",
    "rfm_grid_table": "_rfm",
    "rfm_report_table": "_report",
    "rfm_segment_summary": "_rfm",
    "rfm_table": "_rfm",
    "run_summary": "_report",
    "segment_profiles": "_profiles",
    "segment_summary": "_tables",
    "segmentation_overrides": "_segmenter",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
