"""Running the suite: the runner, the run catalog, the run folder's tables and publishing reports.

Public names are defined in private modules and imported on first use (PEP 562), so importing
this package is cheap and packages never import each other at import time.
"""

from cxlib._lazy import lazy_module

_WHERE = {
    "CURRENT": "_destination",
    "Destination": "_destination",
    "FAILED": "_publish",
    "LOCK": "_publish",
    "MANIFEST": "_publish",
    "MARKER": "_publish",
    "NOTEBOOKS": "_runner",
    "QuietKernelManager": "_kernels",
    "RUNNER_PARAMETERS": "_runner",
    "Store": "_publish",
    "VALIDATED": "_artifacts",
    "check_destination": "_publish",
    "check_outputs": "_runner",
    "check_parameters": "_runner",
    "check_separate": "_destination",
    "config_digest": "_artifacts",
    "default_notebooks_folder": "_runner",
    "discover_notebooks": "_runner",
    "earlier_suite_layout": "_destination",
    "execute_notebook": "_runner",
    "fingerprint": "_publish",
    "foreign_files": "_publish",
    "kernel_manager_class": "_kernels",
    "load_run_data": "_artifacts",
    "load_summaries": "_artifacts",
    "load_table": "_artifacts",
    "load_validated": "_artifacts",
    "missing_tables": "_runner",
    "notebook_parameters": "_runner",
    "run_interruptibly": "_kernels",
    "run_path": "_artifacts",
    "run_suite": "_runner",
    "save_summary": "_artifacts",
    "save_table": "_artifacts",
    "save_validated": "_artifacts",
    "signals_raise": "_kernels",
    "stop_kernels": "_kernels",
    "write_manifest": "_publish",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
