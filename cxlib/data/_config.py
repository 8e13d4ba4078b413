"""Load and check the YAML config that maps a user's files onto the data contract.

The config is strict: an unknown or misspelled key is an error (with a suggestion), never
silently ignored, because a typo that falls back to a default produces plausible wrong numbers.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxlib.data._config_checks import check_key_types, check_table_entry, strict_yaml_load
from cxlib.exceptions import ConfigError

#: Tables of the data contract. customers is required; transactions too unless churn is contractual.
TABLES = ("customers", "transactions", "interactions", "surveys", "programme", "referrals")

#: Keys allowed in one table's entry under ``data.tables``.
TABLE_KEYS = {
    "path": None,  # file path, relative to data.dir (CSV, Parquet, or Excel)
    "columns": {},  # canonical name -> the file's column name (or a derivation, see io.py)
    "sheet": None,  # Excel sheet name or index
    "date_format": None,  # strftime format of date columns, e.g. "%d/%m/%Y"; None = ISO / inferred
    "true_values": {},  # canonical boolean column -> extra values read as True, e.g. {is_refund: [refund]}
    "encoding": None,  # text encoding of a CSV, e.g. latin-1
    "separator": None,  # CSV field separator; None = comma
    "drop_missing": [],  # canonical columns whose empty rows are dropped (with a note) instead of failing
    "from_transactions": False,  # customers only: build the table from transactions (first order = signup)
}

#: Every key the config may hold, with its default.
DEFAULTS: dict[str, Any] = {
    "company": "Demo company",
    "data": {"dir": ".", "tables": {}},
    "analysis": {
        "as_of": None,  # analysis date; None = the latest transaction date
        "currency": "EUR",
        "seed": 42,
        "active_days": 90,  # a customer with a purchase in the last N days is active
        "min_group_size": 10,  # groups smaller than this are suppressed in reports
        "churn": {
            "definition": "auto",  # contractual (churn_date/churned), inactivity, or auto
            "inactivity_days": 180,
        },
        "margin": 0.30,  # gross margin on revenue when transactions carry none
        "discount_rate": 0.08,  # annual, for CLV and NPV
        "horizon_months": 36,
    },
    # Owned by cxlib.segment._segmenter (notebooks/01_segmentation.ipynb).
    "segmentation": {
        "n_segments": None,  # None = choose the number of segments by evidence from k_range
        "k_range": [2, 8],
        "features": None,  # None = purchase behaviour: rate, spend, basket, channel mix (others are profiled)
        "names": {},  # segment label -> name shown in reports (overrides generated names)
        "bootstrap_runs": 20,
        "min_orders": 2,  # purchases a customer needs to shape the segments (all buyers are assigned)
        "sample_size": 20000,  # customers used to choose k and measure stability (the fit uses all)
        "exclude_transactions": {},  # transaction column -> values left out of RFM, e.g. {StockCode: [POST]}
    },
    # Owned by cxlib.churn._panel / cxlib.churn._survival (notebooks/02_churn_drivers.ipynb).
    "churn_model": {
        "cutoff": None,  # features use data before it, the label data after; None = as_of - label_window_days
        "label_window_days": 180,
        "test_size": 0.25,
        "numeric_features": [],  # extra customer columns used as numeric features, e.g. [MonthlyCharges]
        "categorical_features": [],  # extra customer columns used as categorical features, e.g. [Contract]
        "reference_levels": {},  # categorical feature -> level that ratios compare against; default most common
        "long_wait_minutes": 20,  # a support wait longer than this counts as a long wait
        "max_vif": 10.0,  # drivers with a variance inflation factor above this are dropped (collinearity)
    },
}


@dataclass
class Config:
    """A checked config.

    Attributes
    ----------
    values : dict
        Every key, defaults filled in.
    path : Path or None
        The file it was read from; relative data paths resolve against its folder.
    """

    values: dict[str, Any]
    path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def analysis(self) -> dict[str, Any]:
        """Analysis parameters (as-of date, seed, churn definition, money)."""
        return self.values["analysis"]

    @property
    def seed(self) -> int:
        """The one seed that drives every random step."""
        return int(self.analysis["seed"])

    @property
    def company(self) -> str:
        """Company name shown in report titles."""
        return str(self.values["company"])

    @property
    def data_dir(self) -> Path:
        """Folder that table paths are relative to."""
        return (self.base_dir / self.values["data"]["dir"]).resolve()

    def table_spec(self, name: str) -> dict[str, Any] | None:
        """Return the entry of table ``name`` with defaults filled in, or None if not configured."""
        spec = self.values["data"]["tables"].get(name)
        if spec is None:
            return None
        merged = copy.deepcopy(TABLE_KEYS)
        merged.update(spec)
        return merged

    def table_path(self, name: str) -> Path | None:
        """Absolute path of a configured table's file (None if absent or derived)."""
        spec = self.table_spec(name)
        return None if spec is None or not spec["path"] else (self.data_dir / spec["path"]).resolve()


def _suggest(key: str, allowed) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(sorted(allowed))})"


def _merge_strict(defaults: dict, given: dict, where: str, problems: list[str]) -> dict:
    """Merge ``given`` over ``defaults``; record every key that has no default."""
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        if key not in defaults:
            problems.append(f"{where}{key}: unknown key{_suggest(key, defaults)}")
            continue
        if isinstance(defaults[key], dict) and defaults[key] and isinstance(value, dict):
            merged[key] = _merge_strict(defaults[key], value, f"{where}{key}.", problems)
        else:
            merged[key] = value
    return merged


def _check_tables(tables: Any, problems: list[str], contractual: bool) -> None:
    if not isinstance(tables, dict):
        problems.append("data.tables: must be a mapping of table name to its file entry")
        return
    for name, spec in tables.items():
        where = f"data.tables.{name}"
        if name not in TABLES:
            problems.append(f"{where}: unknown table{_suggest(name, TABLES)}")
            continue
        if isinstance(spec, str):
            tables[name] = spec = {"path": spec}
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a file path or a mapping with 'path'")
            continue
        for key in spec:
            if key not in TABLE_KEYS:
                problems.append(f"{where}.{key}: unknown key{_suggest(key, TABLE_KEYS)}")
        check_table_entry(name, spec, problems)
        if not spec.get("path") and not spec.get("from_transactions"):
            problems.append(f"{where}.path: missing; give the file's path relative to data.dir")
    if "customers" not in tables:
        problems.append("data.tables.customers: required table is not configured")
    if "transactions" not in tables and not contractual:
        problems.append(
            "data.tables.transactions: required unless analysis.churn.definition is contractual "
            "(churn from a churn date or label)"
        )
    if tables.get("customers", {}).get("from_transactions") and "transactions" not in tables:
        problems.append("data.tables.customers.from_transactions: needs a transactions table")


def _check_as_of_source(values: dict, problems: list[str]) -> None:
    """Without transactions the as-of date cannot default to the latest one, so it must be given."""
    tables = values["data"]["tables"]
    if isinstance(tables, dict) and "transactions" not in tables and values["analysis"]["as_of"] is None:
        problems.append(
            "analysis.as_of: required when no transactions table is configured (it cannot default to "
            "the latest transaction); write the analysis date as YYYY-MM-DD, e.g. as_of: 2025-12-31"
        )


def _set_dotted(values: dict, dotted: str, value: Any) -> None:
    node = values
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read, merge with defaults, and check a YAML config.

    Parameters
    ----------
    path : str or Path
        The YAML file. Relative ``data.dir`` resolves against its folder.
    overrides : dict, optional
        Dotted keys to set after reading, e.g. ``{"analysis.seed": 7}``.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        Listing every unknown key and invalid value at once.

    Examples
    --------
    >>> cfg = load_config("configs/demo_small.yaml")  # doctest: +SKIP
    >>> cfg.seed  # doctest: +SKIP
    42
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        given = strict_yaml_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.object[err.start]:#x} at position {err.start}); "
            "save the config as UTF-8"
        ) from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(given, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    for dotted, value in (overrides or {}).items():
        _set_dotted(given, dotted, value)
    return config_from_dict(given, base_dir=path.resolve().parent, path=path.resolve())


def config_from_dict(given: dict, base_dir: Path | None = None, path: Path | None = None) -> Config:
    """Check a config given as a dict (see :func:`load_config`)."""
    problems: list[str] = []
    values = _merge_strict(DEFAULTS, copy.deepcopy(given), "", problems)
    contractual = values["analysis"]["churn"]["definition"] == "contractual"
    _check_tables(values["data"]["tables"], problems, contractual)
    check_key_types(values, problems)
    _check_as_of_source(values, problems)
    if problems:
        where = f" {path}" if path else ""
        raise ConfigError(
            f"config{where} has {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return Config(values=values, path=path, base_dir=base_dir or Path.cwd())
