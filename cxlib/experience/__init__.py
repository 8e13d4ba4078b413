"""The customer-experience capability: NPS and CSAT, key drivers, friction, the journey and word of mouth.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "KPI_COLUMNS": "_friction",
    "KPI_NEEDS": "_friction",
    "KPI_UNITS": "_friction",
    "absent_kpis": "_friction",
    "friction_kpis": "_friction",
    "quantile_interval": "_friction",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
