"""The customer-experience capability: NPS and CSAT, key drivers, friction, the journey and word of mouth.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "DRIVER_UNITS": "_friction_effects",
    "EFFECT_COLUMNS": "_friction_effects",
    "FRICTION_DRIVERS": "_friction_effects",
    "FrictionOnNPS": "_friction_effects",
    "KPI_COLUMNS": "_friction",
    "KPI_NEEDS": "_friction",
    "KPI_UNITS": "_friction",
    "absent_kpis": "_friction",
    "churn_friction_rows": "_friction_effects",
    "fit_churn_driver_table": "_friction_effects",
    "friction_effects": "_friction_effects",
    "friction_kpis": "_friction",
    "friction_survey_frame": "_friction_effects",
    "plot_friction_effects": "_plots_friction",
    "plot_kpi_by_channel": "_plots_friction",
    "plot_nps_effects": "_plots_friction",
    "quantile_interval": "_friction",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
