"""Load and check the YAML config that maps a user's files onto the data contract.

The config is strict: an unknown or misspelled key is an error (with a suggestion), never
silently ignored, because a typo that falls back to a default produces plausible wrong numbers.
Its sections, keys, defaults and rules are declared once in :mod:`cxlib.data._config_schema`;
notebooks and the library read a checked section with :meth:`Config.section`.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxlib.data._config_checks import check_table_entry, strict_yaml_load
from cxlib.data._config_schema import (
    DEFAULTS,
    SCHEMA,
    TABLE_KEYS,
    Section,
    check_sections,
    schema_section,
)
from cxlib.exceptions import ConfigError
from cxlib.stats._design import set_display_labels

#: Tables of the data contract. customers is required, transactions too unless churn is contractual;
#: a survey-only config (surveys its one table) needs neither.
TABLES = ("customers", "transactions", "interactions", "surveys", "programme", "referrals")


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

    def section(self, name: str) -> dict[str, Any]:
        """The checked values of one config section (a copy, defaults filled in).

        Parameters
        ----------
        name : str
            A section of the schema, e.g. ``"churn_model"`` or ``"analysis.churn"``.

        Returns
        -------
        dict
            Key -> value, dates as ``datetime.date``; changing it does not change the config.

        Raises
        ------
        ConfigError
            For a name that is not a section of the schema (with a suggestion).

        Examples
        --------
        >>> load_config("configs/demo_small.yaml").section("churn_model")["max_vif"]  # doctest: +SKIP
        10.0
        """
        if schema_section(name) is None:
            sections = [key for key, entry in SCHEMA.keys.items() if isinstance(entry, Section)]
            raise ConfigError(f"config section '{name}' does not exist{_suggest(name, sections)}")
        node = self.values
        for part in name.split("."):
            node = node[part]
        return copy.deepcopy(node)

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
    # a survey-only study (e.g. a passenger survey with no customer file) runs the driver analysis alone
    survey_only = set(tables) == {"surveys"}
    if "customers" not in tables and not survey_only:
        problems.append("data.tables.customers: required table is not configured")
    if "transactions" not in tables and not contractual and not survey_only:
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
    check_sections(values, problems)
    _check_as_of_source(values, problems)
    if problems:
        where = f" {path}" if path else ""
        raise ConfigError(
            f"config{where} has {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        )
    # reports name features through cxlib.stats.feature_label: the config's labels apply from here on
    set_display_labels(values["labels"]["features"], values["labels"]["levels"])
    return Config(values=values, path=path, base_dir=base_dir or Path.cwd())
