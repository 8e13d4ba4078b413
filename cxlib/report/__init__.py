"""Presenting: the chart theme, number formatting, escaping, sentences and offline HTML reports.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "ACCENT": "_charts",
    "ACRONYMS": "_html",
    "DIRECTION_COLOURS": "_charts",
    "EXTERNAL_REFERENCE": "_html",
    "FIGSIZE": "_charts",
    "FOREST_LIMIT": "_charts",
    "MARKDOWN_SPECIALS": "_safe_text",
    "MAX_GROUPS": "_sentences",
    "MAX_LABEL": "_charts",
    "MAX_NAMED": "_sentences",
    "MESSAGES": "_messages",
    "NEUTRAL": "_charts",
    "PALETTE": "_charts",
    "RECORDED_PACKAGES": "_html",
    "TEMPLATES": "_html",
    "WARNING": "_charts",
    "all_equal": "_sentences",
    "axis_labels": "_charts",
    "describe_dropped_rows": "_dropped",
    "describe_hidden_groups": "_sentences",
    "describe_missing_values": "_dropped",
    "describe_pooling": "_sentences",
    "escape_text": "_safe_text",
    "finish": "_charts",
    "forest_plot": "_charts",
    "format_summary": "_summary",
    "group_label": "_messages",
    "groups_to_show": "_sentences",
    "header_text": "_html",
    "md_plain": "_safe_text",
    "md_text": "_safe_text",
    "money_format": "_html",
    "money_formatter": "_charts",
    "new_axes": "_charts",
    "notebook_title": "_html",
    "nps_colours": "_charts",
    "package_versions": "_html",
    "percent_formatter": "_charts",
    "plot_monthly_revenue": "_charts",
    "plot_rate_with_interval": "_charts",
    "plot_score_distribution": "_charts",
    "plot_share_bars": "_charts",
    "plot_signups": "_charts",
    "plot_summary": "_summary",
    "render": "_messages",
    "render_all": "_messages",
    "render_html": "_html",
    "set_theme": "_charts",
    "styled": "_html",
    "variable_label": "_messages",
    "write_index": "_html",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
