"""Engines for the per-customer tables: feature definitions written once in ibis, run by DuckDB or Spark.

The canonical tables are lazy ibis expressions over the input files (:func:`canonical_table`);
the per-customer features over them (:func:`transaction_features`, :func:`friction_table`) run in
an engine that reads the files itself and returns one row per customer as pandas, equal to
:mod:`cxlib.features`: DuckDB (embedded) or Apache Spark (local or a cluster, through ibis's
pyspark backend: :func:`spark_session`), the same expressions on both. The config key
``data.engine`` names the engine (:func:`connection_for`): ``duckdb`` by default.

In a run, the notebooks' tables come from the run's validated Parquet files
(:attr:`cxlib.data.CustomerData.source`): the per-customer features
(:func:`features_from_validated`), the churn drivers' order counts and friction at each cut-off
(:func:`driver_orders_from_validated`, :func:`friction_from_validated`) and the overview's
transaction figures (:func:`kpi_aggregates`, :func:`monthly_aggregates`,
:func:`channel_aggregates`, :func:`table_health`) and the value study's repeat-purchase
summaries (:func:`repeat_purchases_from_validated`) are queries there, so no notebook groups the
transaction rows in pandas; ``data.engine: pandas`` does everything in pandas (the reference the
tests compare with).

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "AMOUNT_NOISE": "_tables",
    "ColumnPlan": "_rules",
    "DATE_SAMPLE_ROWS": "_tables",
    "ENGINES": "_features",
    "EngineUnsupported": "_tables",
    "Fallback": "_load",
    "LOAD_KEYS": "_load",
    "LOCAL_MASTER": "_spark",
    "MAX_AMOUNT_SCALE": "_tables",
    "NA_TEXT": "_tables",
    "SUPPORTED_KEYS": "_tables",
    "TRANSACTION_COLUMNS": "_validated",
    "TablePlan": "_rules",
    "WHOLE_ROW": "_tables",
    "amount_scale": "_validated",
    "analysis_date": "_features",
    "as_floats": "_features",
    "canonical_table": "_tables",
    "channel_aggregates": "_overview",
    "connect": "_tables",
    "connection_for": "_features",
    "csv_source": "_rules",
    "customer_expr": "_features",
    "customer_ids": "_features",
    "date_format_pattern": "_rules",
    "driver_orders_from_validated": "_validated",
    "engine_from_config": "_features",
    "features_from_validated": "_validated",
    "frame_from_arrow": "_convert",
    "friction_columns": "_features",
    "friction_counts_expr": "_features",
    "friction_from_validated": "_validated",
    "friction_table": "_features",
    "interaction_kinds_from_validated": "_validated",
    "java_available": "_spark",
    "java_home": "_spark",
    "kept_rows": "_convert",
    "kind_of": "_rules",
    "kpi_aggregates": "_overview",
    "literal": "_rules",
    "load_data_engine": "_load",
    "monthly_aggregates": "_overview",
    "order_channels_from_validated": "_experience",
    "order_rows_unique": "_validated",
    "orders_expr": "_features",
    "pandas_dtypes": "_convert",
    "pick_scale": "_tables",
    "purchase_channels": "_features",
    "purchase_count_from_validated": "_validated",
    "purchase_summary_from_validated": "_experience",
    "quiet": "_tables",
    "quote": "_rules",
    "read_file": "_tables",
    "recent_spend_from_validated": "_validated",
    "record_amount_scale": "_validated",
    "repeat_purchases_from_validated": "_validated",
    "repeated_hashes": "_convert",
    "require_source": "_validated",
    "rows_are_orders": "_validated",
    "run_connection": "_validated",
    "scale_checks": "_tables",
    "serial": "_validated",
    "spaced_sql": "_rules",
    "spark_session": "_spark",
    "table_health": "_overview",
    "table_plan": "_rules",
    "to_pandas": "_features",
    "transaction_features": "_features",
    "transactions_as_orders": "_tables",
    "validated_transactions": "_validated",
    "window_expr": "_features",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
