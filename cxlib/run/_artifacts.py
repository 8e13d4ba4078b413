"""Hand-over between notebooks of one run: tables and summaries written to the run folder.

The run folder (``run_dir``) is the run-data folder (``reports-data/`` by default), kept for
analysts beside the report folder and never inside it, because its tables are per customer.
Each notebook reads only what earlier notebooks of the same run wrote here (data flows one way),
as the run catalog (:mod:`cxlib.run._catalog`) declares, and the runner builds
``reports/index.html`` from the summaries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlib.data._config import Config
from cxlib.data._dropped import DroppedRows
from cxlib.data._load import CustomerData, input_fingerprints, load_data
from cxlib.exceptions import MissingInputError
from cxlib.run._catalog import (
    check_writable,
    missing_input_message,
    produced,
    record_produced,
    table_spec,
)

#: Sub-folder of the run folder holding the validated tables the runner saved once.
VALIDATED = "validated"


def run_path(run_dir: str | Path) -> Path:
    """Create (if needed) and return the run folder."""
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_table(run_dir: str | Path, name: str, table: pd.DataFrame, notebook: str | None = None) -> Path:
    """Write ``table`` as ``<run_dir>/<name>.parquet`` for later notebooks, as the run catalog declares.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    name : str
        A table of the run catalog (:data:`cxlib.run.CATALOG`).
    table : DataFrame
        Holding at least the columns the catalog declares for ``name``.
    notebook : str, optional
        The writing notebook's stem; when given, it must be the catalog's producer of ``name``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        For a table the catalog does not list, lists for another notebook, or that lacks a
        declared column.

    Examples
    --------
    >>> save_table(run_dir, "segments", segments_table)  # doctest: +SKIP
    """
    producer = check_writable(name, table.columns, notebook)
    path = run_path(run_dir) / f"{name}.parquet"
    table.to_parquet(path, index=False)
    record_produced(run_dir, name, producer, len(table), list(table.columns))
    return path


def load_table(run_dir: str | Path, name: str, required: bool = True) -> pd.DataFrame | None:
    """Read a table an earlier notebook of this run saved.

    Only a table recorded as produced in this run is read (see :mod:`cxlib.run._catalog`): a file
    an earlier run left in the folder is not.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    name : str
        A table of the run catalog.
    required : bool
        If False, return None when the table was not produced in this run, so the caller can
        state in the report what it uses instead.

    Returns
    -------
    DataFrame or None

    Raises
    ------
    MissingInputError
        When ``required`` and the table was not produced in this run: names the table, the
        notebook that produces it and the command that does; or for a table not in the catalog.

    Examples
    --------
    >>> segments = load_table(run_dir, "segments", required=False)  # doctest: +SKIP
    """
    try:
        table_spec(name)  # an unknown name is an error even when optional
    except ValueError as err:
        raise MissingInputError(str(err)) from None
    path = Path(run_dir) / f"{name}.parquet"
    if name in produced(run_dir) and path.is_file():
        return pd.read_parquet(path)
    if required:
        raise MissingInputError(missing_input_message(name, run_dir))
    return None


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


def config_digest(config: Config) -> str:
    """SHA-256 of a config's values (defaults and overrides included): what validation depended on."""
    text = json.dumps(config.values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_validated(data: CustomerData, run_dir: str | Path, config: Config | None = None) -> Path:
    """Save validated data once so every notebook of the run reads it instead of the input files.

    Each table goes to ``<run_dir>/validated/<table>.parquet`` (dtypes and index kept; a table
    with mixed-type text columns, which Parquet cannot hold, to ``<table>.pkl``), the rest of
    :class:`~cxlib.data._load.CustomerData` to ``validated/data.json``, written last, so a folder without
    it is never read.

    Parameters
    ----------
    data : CustomerData
        From :func:`cxlib.data._load.load_data`.
    run_dir : str or Path
        The run folder.
    config : Config, optional
        The config ``data`` was validated with; :func:`load_run_data` reuses the saved data only
        for the same config and unchanged input files. Without it the data is never reused.

    Returns
    -------
    Path
        ``run_dir``, for :func:`load_validated`.

    Examples
    --------
    >>> load_validated(save_validated(data, "build/run", config))  # doctest: +SKIP
    """
    folder = run_path(run_dir) / VALIDATED
    folder.mkdir(exist_ok=True)
    (folder / "data.json").unlink(missing_ok=True)
    formats, text_nulls = {}, {}
    for name, table in data.tables.items():
        nulls = _parquet_text_nulls(table)
        if nulls is None:  # mixed-type columns (e.g. from Excel): only a pickle keeps them exactly
            formats[name] = "pickle"
            table.to_pickle(folder / f"{name}.pkl")
        else:
            formats[name], text_nulls[name] = "parquet", nulls
            table.to_parquet(folder / f"{name}.parquet")
    record = {
        "tables": formats,
        "text_nulls": text_nulls,
        "as_of": None if data.as_of is None else data.as_of.isoformat(),
        "notes": data.notes,
        "warnings": data.warnings,
        "fingerprints": data.fingerprints,
        "dropped": [record.to_dict() for record in data.dropped],
        "derived_columns": data.derived_columns,
        "config_path": None if config is None or config.path is None else str(config.path),
        "config_digest": None if config is None else config_digest(config),
        # each transaction row a whole order? Found once here, the engine's queries skip grouping
        "rows_are_orders": formats.get("transactions") == "parquet"
        and (config is None or config.values["data"].get("engine") != "pandas")
        and _order_rows_unique(folder / "transactions.parquet"),
    }
    if formats.get("transactions") == "parquet" and (
        config is None or config.values["data"].get("engine") != "pandas"
    ):  # the amounts' decimal places, found once here for every notebook's engine queries
        from cxlib.engine import record_amount_scale

        record["amount_scale"] = record_amount_scale(folder / "transactions.parquet")
    (folder / "data.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return Path(run_dir)


def _order_rows_unique(path: Path) -> bool:
    from cxlib.engine import order_rows_unique

    return order_rows_unique(path)


#: Missing-value markers a text (object) column may hold; Parquet reads every one back as None.
_NULLS = {"none": None, "nan": np.nan, "nat": pd.NaT, "na": pd.NA}


def _null_kind(value) -> str:
    if value is None:
        return "none"
    if value is pd.NaT:
        return "nat"
    if value is pd.NA:
        return "na"
    return "nan" if isinstance(value, float) and np.isnan(value) else "other"


def _parquet_text_nulls(table: pd.DataFrame) -> dict[str, str] | None:
    """The missing-value marker of each text column if Parquet can keep ``table`` exactly, else None.

    Parquet keeps every pandas dtype (categoricals, nullable, datetimes) but not object columns
    mixing text with numbers, nor whether a missing text value was None or NaN (``astype(str)``
    tells them apart), so the marker is recorded and put back on reading.
    """
    markers = {}
    for name, column in table.items():
        if column.dtype != object:
            continue
        if pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
            return None
        kinds = {_null_kind(value) for value in column[column.isna()]}
        if len(kinds) > 1 or "other" in kinds:
            return None
        if kinds:
            markers[str(name)] = kinds.pop()
    return markers


def _restore_text_nulls(table: pd.DataFrame, markers: dict[str, str]) -> pd.DataFrame:
    for name, kind in markers.items():
        if kind != "none":
            values = table[name].to_numpy(dtype=object, copy=True)
            values[table[name].isna().to_numpy()] = _NULLS[kind]
            table[name] = values
    return table


def _saved_record(run_dir: str | Path) -> dict | None:
    path = Path(run_dir) / VALIDATED / "data.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class SavedTables(Mapping):
    """The saved tables by name, each read from its file the first time it is asked for.

    A notebook whose per-customer tables come from an engine (``data.engine: duckdb``) may never
    need the transaction rows in pandas; on millions of rows, reading them costs most of a
    notebook's time and memory, so nothing is read until used. Asking for a table reads it
    exactly as it was saved (:func:`save_validated`).
    """

    def __init__(self, folder: Path, record: dict):
        self._folder = folder
        self._record = record
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._record["tables"]:
            raise KeyError(name)
        if name not in self._read:
            if self._record["tables"][name] == "pickle":
                self._read[name] = pd.read_pickle(self._folder / f"{name}.pkl")
            else:
                frame = pd.read_parquet(self._folder / f"{name}.parquet")
                self._read[name] = _restore_text_nulls(frame, self._record["text_nulls"][name])
        return self._read[name]

    def rows(self, name: str) -> int:
        """Rows of a saved table, read from the Parquet footer when the table was not read yet."""
        if name in self._read or self._record["tables"][name] != "parquet":
            return len(self[name])
        import pyarrow.parquet as pq

        return pq.ParquetFile(self._folder / f"{name}.parquet").metadata.num_rows

    def columns_of(self, name: str, columns: list[str], customers=None) -> pd.DataFrame | None:
        """Only ``columns`` of a saved table (those it has), without reading the rest; None if absent.

        Parameters
        ----------
        name : str
            The table.
        columns : list of str
            The columns wanted (absent ones are skipped).
        customers : array-like, optional
            Only the rows whose ``customer_id`` is one of these (read from the file with that
            filter, so the other rows never reach memory); rows keep the table's order.

        Returns
        -------
        DataFrame or None
            With a fresh positional index when filtered.
        """
        if name not in self:
            return None
        if name in self._read or self._record["tables"][name] != "parquet":
            frame = self[name]
            frame = frame[[c for c in columns if c in frame]]
            if customers is not None:
                frame = frame[self[name]["customer_id"].isin(pd.Index(customers))].reset_index(drop=True)
            return frame
        import pyarrow.parquet as pq

        path = self._folder / f"{name}.parquet"
        present = [c for c in columns if c in pq.ParquetFile(path).schema_arrow.names]
        markers = {c: k for c, k in self._record["text_nulls"][name].items() if c in present}
        if customers is None:
            return _restore_text_nulls(pd.read_parquet(path, columns=present), markers)
        wanted = pd.Index(customers).dropna().unique().tolist()
        filters = [("customer_id", "in", wanted)] if wanted else None
        frame = pq.read_table(path, columns=present, filters=filters).to_pandas().reset_index(drop=True)
        return _restore_text_nulls(frame.iloc[:0] if not wanted else frame, markers)

    def codes_of(self, name: str, column: str, values) -> np.ndarray | None:
        """Each row's position of its ``column`` value among ``values`` (-1: not there); None if absent.

        On a saved table not read yet, only that column is read and Arrow hashes its values
        (``pyarrow.compute.index_in``): ids repeated over millions of rows never become Python
        strings, which would cost most of the time.

        Parameters
        ----------
        name : str
            The table.
        column : str
            The column, e.g. ``customer_id``.
        values : array-like
            Distinct values (e.g. customer ids); missing values in the table get -1.

        Returns
        -------
        ndarray of int64 or None
            One position per row, in the table's order.
        """
        if name not in self:
            return None
        values = pd.Index(values)
        if name not in self._read and self._record["tables"][name] == "parquet":
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            read = pq.read_table(self._folder / f"{name}.parquet", columns=[column])[column]
            try:
                found = pc.index_in(read, value_set=pa.array(values.to_numpy(), type=read.type))
            except (pa.ArrowException, TypeError):  # values Arrow cannot compare with the column's
                pass
            else:
                return found.fill_null(-1).to_numpy().astype(np.int64)
        return values.get_indexer(self[name][column]).astype(np.int64)

    def __contains__(self, name) -> bool:  # without reading the table (Mapping's reads it)
        return name in self._record["tables"]

    def __iter__(self):
        return iter(self._record["tables"])

    def __len__(self) -> int:
        return len(self._record["tables"])


def load_validated(run_dir: str | Path) -> CustomerData | None:
    """The data :func:`save_validated` wrote to ``run_dir``, exactly as it was; None if none was saved."""
    record = _saved_record(run_dir)
    if record is None:
        return None
    folder = Path(run_dir) / VALIDATED
    tables = SavedTables(folder, record)
    return CustomerData(
        tables=tables,
        as_of=None if record["as_of"] is None else pd.Timestamp(record["as_of"]),
        notes=record["notes"],
        fingerprints=record["fingerprints"],
        warnings=record["warnings"],
        dropped=[DroppedRows.from_dict(values) for values in record.get("dropped", [])],
        derived_columns=record.get("derived_columns", {}),
        source=folder if set(record["tables"].values()) == {"parquet"} else None,
    )


def load_run_data(config: Config, run_dir: str | Path) -> CustomerData:
    """The run's validated data: saved once by the runner, else loaded and validated from the files.

    The saved data is used only when it was saved for this config (same file, same values
    including overrides) and every input file still has the fingerprint it had then; otherwise
    (a notebook opened on its own in JupyterLab, an edited input file, a parameter that changes
    the config) the files are read and validated afresh with :func:`cxlib.data._load.load_data`.

    Parameters
    ----------
    config : Config
        From :func:`cxlib.data._config.load_config`.
    run_dir : str or Path
        The run folder the runner passes to every notebook.

    Returns
    -------
    CustomerData

    Raises
    ------
    DataValidationError
        When the data has to be validated afresh and fails.

    Examples
    --------
    >>> data = load_run_data(load_config(config_path), run_dir)  # doctest: +SKIP
    """
    record = _saved_record(run_dir)
    if (
        record is not None
        and record["config_path"] is not None
        and config.path is not None
        and record["config_path"] == str(config.path)
        and record["config_digest"] == config_digest(config)
        and record["fingerprints"] == input_fingerprints(config)
    ):
        return load_validated(run_dir)
    return load_data(config)
