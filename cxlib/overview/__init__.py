"""The data overview capability: headline KPIs, trends, mixes and data health.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "CHURN_KPIS": "_report",
    "DataOverview": "_data_overview",
    "KPI_BASIS": "_report",
    "KPI_COLUMNS": "_kpis",
    "KPI_LABELS": "_report",
    "MIX_COLUMNS": "_data_overview",
    "SCORE_COLUMNS": "_data_overview",
    "SECTION_QUESTIONS": "_report",
    "TENURE_BANDS": "_data_overview",
    "attribute_mix": "_kpis",
    "channel_mix": "_kpis",
    "channel_report": "_report",
    "customer_mix_report": "_report",
    "data_health": "_kpis",
    "data_overview": "_data_overview",
    "describe_data": "_report",
    "describe_derived": "_report",
    "describe_findings": "_report",
    "describe_kpis": "_report",
    "describe_loading": "_report",
    "describe_saved": "_report",
    "describe_signups": "_report",
    "format_kpis": "_report",
    "format_value": "_report",
    "headline_kpis": "_kpis",
    "headline_sentence": "_report",
    "health_report": "_report",
    "health_table": "_report",
    "kpi_basis": "_report",
    "kpi_report": "_report",
    "kpi_table": "_report",
    "monthly_revenue": "_kpis",
    "order_counts": "_kpis",
    "plot_churn_by_group": "_plots",
    "plot_new_customers": "_plots",
    "plot_revenue_by_channel": "_plots",
    "plot_revenue_trend": "_plots",
    "plot_scores": "_plots",
    "plot_touchpoints": "_plots",
    "report_intro": "_report",
    "revenue_report": "_report",
    "score_report": "_report",
    "section_heading": "_report",
    "signups_by_month": "_kpis",
    "tenure_bands": "_data_overview",
    "touchpoint_report": "_report",
    "touchpoint_volumes": "_kpis",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
