"""cx-suite: customer-experience analytics as evidence.

The flat public API below covers what a data scientist uses in a notebook; each name lives in
one module per capability (``io``, ``validate``, ``synth``, ``kpis``, ``rfm``, ``segment``,
``churn``, ``churn_models``, ``survival``, ``plots``, ``report``, ``safe_text``, ``runner``).

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
    "load_run_data": "artifacts", "load_table": "artifacts", "save_summary": "artifacts",
    "save_table": "artifacts",
    "customer_features": "behaviour",
    "churn_features": "churn", "churn_labels": "churn", "churn_panel": "churn",
    "ChurnDrivers": "churn_models", "ChurnPredictor": "churn_models",
    "Config": "config", "load_config": "config",
    "ConfigError": "exceptions", "CxError": "exceptions", "DataValidationError": "exceptions",
    "NotebookRunError": "exceptions", "ParameterError": "exceptions",
    "CustomerData": "io", "load_data": "io",
    "headline_kpis": "kpis", "nps_interval": "kpis", "wilson_interval": "kpis",
    "pool_small_groups": "privacy", "suppress_small": "privacy",
    "rfm_scores": "rfm", "rfm_table": "rfm",
    "run_suite": "runner",
    "escape_text": "safe_text", "md_text": "safe_text",
    "Segmenter": "segment", "customer_segments": "segment",
    "ChurnHazards": "survival", "RemainingLifetime": "survival", "RetentionCurves": "survival",
    "generate": "synth", "write_demo": "demo_folder",
}  # fmt: skip


def __getattr__(name: str):
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
    "churn_features",
    "churn_labels",
    "churn_panel",
    "customer_features",
    "customer_segments",
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
