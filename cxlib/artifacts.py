"""Hand-over between notebooks of one run: tables and summaries written to the run folder.

The run folder (``run_dir``) is the run-data folder (``reports-data/`` by default), kept for
analysts beside the report folder and never inside it, because its tables are per customer.
Each notebook reads only what earlier notebooks wrote here (data flows one way), and the
runner builds ``reports/index.html`` from the summaries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def run_path(run_dir: str | Path) -> Path:
    """Create (if needed) and return the run folder."""
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_table(run_dir: str | Path, name: str, table: pd.DataFrame) -> Path:
    """Write ``table`` as ``<run_dir>/<name>.parquet`` for later notebooks."""
    path = run_path(run_dir) / f"{name}.parquet"
    table.to_parquet(path, index=False)
    return path


def load_table(run_dir: str | Path, name: str) -> pd.DataFrame | None:
    """Read a table an earlier notebook saved, or None if that notebook has not run."""
    path = Path(run_dir) / f"{name}.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def save_summary(run_dir: str | Path, notebook: str, headline: str, metrics: dict[str, Any]) -> Path:
    """Record a notebook's one-line headline and key figures (machine-readable) for the index.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    notebook : str
        Notebook stem, e.g. ``"00_data_overview"``.
    headline : str
        One sentence built from the numbers, shown in the report index.
    metrics : dict
        Key figures (plain numbers, strings, or lists/dicts of them).
    """
    path = run_path(run_dir) / "summaries" / f"{notebook}.json"
    path.parent.mkdir(exist_ok=True)
    payload = {"notebook": notebook, "headline": headline, "metrics": _plain(metrics)}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_summaries(run_dir: str | Path) -> dict[str, dict]:
    """All summaries of a run, keyed by notebook stem."""
    folder = Path(run_dir) / "summaries"
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}
