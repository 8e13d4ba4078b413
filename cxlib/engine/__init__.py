"""Embedded engines for the per-customer tables: feature definitions written once in ibis, run by DuckDB.

The canonical tables are lazy ibis expressions over the input files (:func:`canonical_table`);
the per-customer features over them (:func:`transaction_features`, :func:`friction_table`) run in
an embedded engine that streams the files and returns one row per customer as pandas, equal to
:mod:`cxlib.features`. The config key ``data.engine`` names the engine (pandas, the default, is
today's path).

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "ColumnPlan": "_rules",
    "DATE_SAMPLE_ROWS": "_tables",
    "ENGINES": "_features",
    "EngineUnsupported": "_tables",
    "Fallback": "_load",
    "LOAD_KEYS": "_load",
    "NA_TEXT": "_tables",
    "SUPPORTED_KEYS": "_tables",
    "TablePlan": "_rules",
    "analysis_date": "_features",
    "canonical_table": "_tables",
    "connect": "_tables",
    "csv_source": "_rules",
    "customer_channel_expr": "_features",
    "customer_ids": "_features",
    "date_format_pattern": "_rules",
    "engine_from_config": "_features",
    "friction_counts_expr": "_features",
    "friction_table": "_features",
    "kind_of": "_rules",
    "literal": "_rules",
    "load_data_engine": "_load",
    "log": "_load",
    "orders_expr": "_features",
    "quiet": "_tables",
    "quote": "_rules",
    "read_file": "_tables",
    "table_plan": "_rules",
    "to_pandas": "_features",
    "transaction_features": "_features",
    "window_expr": "_features",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
