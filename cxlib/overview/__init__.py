"""The data overview capability: headline KPIs, trends, mixes and data health.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "attribute_mix": "_kpis",
    "channel_mix": "_kpis",
    "data_health": "_kpis",
    "describe_kpis": "_kpis",
    "describe_loading": "_health",
    "format_kpis": "_kpis",
    "headline_kpis": "_kpis",
    "monthly_revenue": "_kpis",
    "order_counts": "_kpis",
    "signups_by_month": "_kpis",
    "touchpoint_volumes": "_kpis",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
