"""cx-suite: customer-experience analytics as evidence.

One subpackage per capability, each a public ``__init__`` over private modules:

- ``cxlib.data``: config and its schema, the data contract, loading, the synthetic company;
- ``cxlib.features``: per-customer features at a date (one definition for every capability);
- ``cxlib.stats``: intervals, small-group suppression, design matrices, the fitted-model contract;
- ``cxlib.overview``, ``cxlib.segment``, ``cxlib.churn``: the capabilities, each with its models,
  its plotting module and its report module (tables and sentences);
- ``cxlib.report``: theme, number formatting, escaping, sentences, offline HTML;
- ``cxlib.run``: runner, run catalog, run-folder tables, publishing.

The flat names below are the ones a data scientist uses most in a notebook.

Examples
--------
>>> import cxlib
>>> config = cxlib.load_config("configs/demo_small.yaml")  # doctest: +SKIP
>>> data = cxlib.load_data(config)  # doctest: +SKIP
"""

import importlib

#: Public name -> the module that defines it. Imported on first use (PEP 562), so the ``cx``
#: command starts quickly and ``import cxlib`` does not load every modelling library.
_WHERE = {
    "load_run_data": "run", "load_table": "run", "save_summary": "run",
    "save_table": "run",
    "customer_features": "features", "driver_features": "features",
    "churn_labels": "churn", "churn_panel": "churn",
    "ChurnDrivers": "churn", "ChurnPredictor": "churn",
    "Config": "data", "load_config": "data",
    "ConfigError": "exceptions", "CxError": "exceptions", "DataValidationError": "exceptions",
    "NotebookRunError": "exceptions", "ParameterError": "exceptions",
    "CustomerData": "data", "load_data": "data",
    "headline_kpis": "overview", "nps_interval": "stats", "wilson_interval": "stats",
    "pool_small_groups": "stats", "suppress_small": "stats",
    "rfm_scores": "features", "rfm_table": "segment",
    "run_suite": "run",
    "escape_text": "report", "md_text": "report",
    "Segmenter": "segment", "customer_segments": "segment",
    "ChurnHazards": "churn", "RemainingLifetime": "churn", "RetentionCurves": "churn",
    "generate": "data", "write_demo": "data",
}  # fmt: skip


SUBPACKAGES = ("data", "features", "stats", "overview", "segment", "churn", "experience", "report", "run")


def __getattr__(name: str):
    if name in SUBPACKAGES:
        return importlib.import_module(f"cxlib.{name}")
    if name in _WHERE:
        return getattr(importlib.import_module(f"cxlib.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'cxlib' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "ChurnDrivers",
    "ChurnHazards",
    "ChurnPredictor",
    "Config",
    "ConfigError",
    "CustomerData",
    "CxError",
    "DataValidationError",
    "NotebookRunError",
    "ParameterError",
    "RemainingLifetime",
    "RetentionCurves",
    "Segmenter",
    "churn_labels",
    "churn_panel",
    "customer_features",
    "customer_segments",
    "driver_features",
    "escape_text",
    "generate",
    "headline_kpis",
    "load_config",
    "load_data",
    "load_run_data",
    "load_table",
    "md_text",
    "nps_interval",
    "pool_small_groups",
    "rfm_scores",
    "rfm_table",
    "run_suite",
    "save_summary",
    "save_table",
    "suppress_small",
    "wilson_interval",
    "write_demo",
]
