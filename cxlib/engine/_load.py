"""Loading and validating large inputs in DuckDB, giving exactly what the pandas loader gives.

:func:`load_data_engine` is :func:`cxlib.data.load_data` for ``data.engine: duckdb``. DuckDB reads
each CSV or Parquet file (streaming, on every core), types every column as the pandas loader
(:func:`cxlib.data._load.load_data_pandas`) does, and checks the data contract in the same pass;
the typed rows are converted to pandas (through Arrow) in the pandas loader's dtypes, row order and
index, and finished by the pandas loader's own steps (``_tidy``, the
readiness checks, the dropped-rows records), so the result is equal field by field.

Rules run as queries (:mod:`cxlib.engine._rules`, one pass per file, plus a few queries across
rows and tables):

- values present but not parsed (``coerce_date``, ``coerce_number``, ``coerce_bool``);
- required values missing (``not_nullable``), required columns missing (``column_in_dataframe``),
  mapped columns the file does not have, contractual churn without a churn column;
- ``nps_range``, ``csat_range``, ``rating_range``, ``non_negative`` (waits), ``amount_limit``,
  ``group_values``, ``negative_not_refund``, ``churn_after_signup``;
- ``not_after_as_of`` (and dates outside what pandas can hold), ``empty_table``;
- exact duplicate rows (a hash of the typed row, confirmed in pandas on the few candidates),
  then ``field_uniqueness`` of customer ids and ``known_customer`` (ids in every other table
  that are not customers);
- ``engine_format``: values that DuckDB could read differently from pandas (see
  :mod:`cxlib.engine._rules`).

When the queries find a problem, the report is the pandas loader's by construction, and nothing is
accepted that it would reject, in one of two ways:

- problems of values that parse (``not_nullable``, the value and cross-column rules,
  ``not_after_as_of``, ``field_uniqueness``, ``known_customer``): the engine's typed tables are
  then exactly the pandas loader's, so its own rule stage (:func:`cxlib.data._load.rule_problems`,
  pandera) and readiness checks run on them and make the report, without reading the files again;
- values that do not parse, ``engine_format``, empty tables, missing or misnamed columns: the pandas
  loader loads the data again and reports them.

Inputs the engine does not express (:class:`cxlib.engine.EngineUnsupported`) are loaded by the
pandas loader too: Excel files, text encodings other than UTF-8, derived columns (``{multiply: ...}``, ``{value: ...}``, ...),
``recode``, ``tenure``, ``drop_missing``, ``id: row_number``, customers ``from_transactions``, a
``date_format`` with directives other than ``%Y %m %d %H %M %S``, Parquet columns of other types
(time zones, decimals, nested), and files DuckDB cannot read as pandas does (short or long rows, a
title row). Dates written day-first or month-first without a ``date_format`` are not ISO dates,
hence ``engine_format``. Each fallback writes one line to the ``cxlib.engine._load`` logger (level
INFO), naming the table, column and rule; so does each report made from the engine's tables.

The readiness checks (:func:`cxlib.data.check_readiness`) run on the pandas tables as for the
pandas loader (their errors raise :class:`cxlib.exceptions.DataValidationError` directly: same
function, same tables), except that the count of buyers is a query.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.data._config import TABLES, Config
from cxlib.data._contract import RULES
from cxlib.data._dropped import DroppedRows, dropped_record, without_churn_outcome
from cxlib.data._load import (
    CustomerData,
    _as_of,
    _churn_columns_problem,
    _fingerprint_key,
    _tidy,
    derived_dates,
    duplicates_note,
    failed_tables,
    map_columns,
    missing_sources,
    rule_problems,
    split_problems,
)
from cxlib.data._readers import sha256
from cxlib.data._readiness import buyers_needed, check_readiness
from cxlib.engine._convert import frame_from_arrow, kept_rows, pandas_dtypes, repeated_hashes
from cxlib.engine._rules import (
    FORMAT,
    FRAME_RULE,
    MISSING,
    RULE,
    UNPARSED,
    ColumnPlan,
    TablePlan,
    csv_source,
    kind_of,
    literal,
    quote,
    spaced_sql,
    table_plan,
)
from cxlib.engine._tables import EngineUnsupported
from cxlib.exceptions import DataValidationError

_log = logging.getLogger(__name__)

#: Entry keys the engine loader reads; any other key set in an entry makes the entry unsupported.
LOAD_KEYS = frozenset({"path", "columns", "true_values", "date_format", "separator", "encoding", "sheet"})

#: Dates pandas can hold (nanoseconds since 1970 in 64 bits), with a margin.
_DATE_RANGE = (np.datetime64("1678-01-01"), np.datetime64("2262-01-01"))

#: Columns whose ids must be customers' ids (``known_customer``).
_FOREIGN_IDS = ("customer_id", "referrer_id", "referred_id")

#: Transactions in which buyers are counted first (:meth:`_EngineLoad._buyers`).
_BUYERS_FIRST_ROWS = 200_000

_CSV = (".csv", ".txt")
_PARQUET = (".parquet", ".pq")


class Fallback(Exception):
    """A query found a problem (or an input the engine cannot read as pandas does): pandas loads it."""


def load_data_engine(config: Config) -> CustomerData:
    """Load and validate every configured table in DuckDB; exactly :func:`cxlib.data.load_data`'s result.

    Parameters
    ----------
    config : Config
        From :func:`cxlib.data.load_config`.

    Returns
    -------
    CustomerData
        Equal, field by field, to what the pandas loader gives for the same config.

    Raises
    ------
    DataValidationError
        With exactly the pandas loader's errors and warnings: any data that break a rule are
        loaded (and reported) by the pandas loader, whose report this is.

    Examples
    --------
    >>> data = load_data_engine(load_config("configs/demo_small.yaml"))  # doctest: +SKIP
    """
    import duckdb

    from cxlib.data._load import load_data_pandas

    try:
        return _EngineLoad(config).load()
    except (EngineUnsupported, Fallback, duckdb.Error) as why:
        reason = str(why).splitlines()[0] if str(why) else type(why).__name__
        _log.info("data.engine duckdb hands this data to the pandas loader: %s", reason)
    return load_data_pandas(config)


def _entry_problem(table: str, spec: dict, path: Path | None) -> str | None:
    """Why the engine does not express a table entry, or None."""
    if spec["from_transactions"]:
        return f"{table}: from_transactions is made by the pandas loader"
    used = [k for k, v in spec.items() if k not in LOAD_KEYS and v not in (None, {}, [], False)]
    if used:
        return f"{table}: the engine does not express {', '.join(sorted(used))}"
    if any(not isinstance(source, str) for source in (spec["columns"] or {}).values()):
        return f"{table}: derived columns are made by the pandas loader"
    if (spec.get("encoding") or "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
        return f"{table}: the engine reads UTF-8 text only"
    if len(spec.get("separator") or ",") != 1:
        return f"{table}: the engine reads one-character separators only"
    name = path.name.lower() if path else ""
    if not (name.endswith(_CSV) or name.endswith(_PARQUET) or name.endswith(tuple(s + ".gz" for s in _CSV))):
        return f"{table}: the engine reads CSV and Parquet files only ({path.name if path else 'no file'})"
    return None


class _EngineLoad:
    """One load: the DuckDB connection, each table's query, its Arrow result and its pandas frame."""

    def __init__(self, config: Config):
        import duckdb

        self.config = config
        self.con = duckdb.connect()
        try:  # a notebook must write nothing to stderr
            self.con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # a Jupyter kernel without ipywidgets refuses it: the bar is off there
            pass
        self.plans: dict[str, TablePlan] = {}
        self.arrow: dict = {}
        self.flags: dict[str, dict[str, int]] = {}
        #: Problems the queries found that the pandas loader's rules report on typed tables (the
        #: tables the engine makes are then the pandas loader's); others hand the data to it.
        self.found: list[str] = []
        #: (table, column) -> missing values in the loaded table, as Arrow counted them.
        self.missing: dict[tuple[str, str], int] = {}

    def load(self) -> CustomerData:
        config = self.config
        entries = {}
        for table in TABLES:
            spec = config.table_spec(table)
            if spec is None:
                continue
            path = config.table_path(table)
            problem = _entry_problem(table, spec, path)
            if problem:
                raise EngineUnsupported(problem)
            if not path.is_file() or path.stat().st_size == 0:
                raise Fallback(f"{table}: {path.name} is missing, a folder or empty")
            entries[table] = (spec, path)
        with ThreadPoolExecutor(max_workers=1) as pool:  # hashing releases the GIL: it overlaps the queries
            digests = {table: pool.submit(sha256, path) for table, (_, path) in entries.items()}
            for table, (spec, path) in entries.items():
                self._read(table, spec, path)
            as_of = self._as_of()
            self._check_dates(as_of)
            frames, notes, dropped = self._frames()
            self._check_ids(frames)
            fingerprints = {
                _fingerprint_key(table, path): digests[table].result() for table, (_, path) in entries.items()
            }
        derived = {}
        for table, (spec, _) in entries.items():
            derived.update(derived_dates(table, spec))
        errors, warnings = [], []
        if self.found:  # the tables are the pandas loader's: its own rules make the report
            _log.info(
                "data.engine duckdb found problems, reported by the pandas loader's rules on the tables "
                "the engine read: %s",
                "; ".join(self.found),
            )
            customer_ids = (
                pd.Index(frames["customers"]["customer_id"].dropna()) if "customers" in frames else None
            )
            errors, warnings = split_problems(rule_problems(frames, customer_ids, as_of))
        tables, tidy_notes = _tidy(frames, self.missing) if "customers" in frames else (frames, [])
        ready_errors, ready_warnings = check_readiness(
            config, frames, tables, as_of, failed_tables(errors), buyers=self._buyers()
        )
        errors, warnings = errors + ready_errors, warnings + ready_warnings
        if errors:
            raise DataValidationError(errors, warnings)
        if config.analysis["churn"]["definition"] == "inactivity":
            dropped = without_churn_outcome(dropped)
        return CustomerData(
            tables=tables,
            as_of=as_of,
            notes=notes + tidy_notes,
            fingerprints=fingerprints,
            warnings=warnings,
            dropped=dropped,
            derived_columns=derived,
        )

    # ---- reading and the per-row rules ---------------------------------------------------------------

    def _read(self, table: str, spec: dict, path: Path) -> None:
        csv = not path.name.lower().endswith(_PARQUET)
        if csv:
            names = _csv_header(path, spec, table)
            source = csv_source(path, names, spec.get("separator") or ",")
            types, units = dict.fromkeys(names, "VARCHAR"), {}
        else:
            source = f"read_parquet({literal(str(path))})"
            types, units = _parquet_types(self.con, source, path, table)
            names = list(types)
        columns = self._columns(table, spec, path, names, types)
        for column in columns:
            column.unit = units.get(column.source, "ns")
        known = frozenset(_FOREIGN_IDS) if table != "customers" and "customers" in self.plans else frozenset()
        plan = table_plan(table, source, columns, csv, spec, known)
        result = self.con.sql(plan.sql).to_arrow_table()
        if result.num_rows == 0:
            raise Fallback(f"{table}: table has no rows (empty_table)")
        flags = {
            column.name: int(np.bitwise_or.reduce(result.column(f"__flag{i}").to_numpy()))
            for i, column in enumerate(columns)
        }
        hard = [_flag_problem(table, c, flags[c.name] & (UNPARSED | FORMAT)) for c in columns]
        if any(hard):  # the pandas loader's typed tables would differ: it reads them itself
            raise Fallback("; ".join(p for p in hard if p))
        soft = [_flag_problem(table, c, flags[c.name] & (MISSING | RULE | FRAME_RULE)) for c in columns]
        self.found += [p for p in soft if p]
        self.plans[table], self.arrow[table], self.flags[table] = plan, result, flags

    def _columns(self, table, spec, path, names, types) -> list[ColumnPlan]:
        """The pandas loader's output columns (names, order, sources), found by its own mapping code."""
        missing = missing_sources(names, table, spec, path.name)
        if missing:
            raise Fallback(" ".join(missing.values()) + " (mapped_column_missing)")
        header = pd.DataFrame([names], columns=names)  # each cell holds its column's name
        mapped = map_columns(header, table, spec, self.config.analysis["as_of"])
        columns = []
        for name in mapped.columns:
            source = str(mapped[name].iloc[0])
            kind, required = kind_of(table, str(name))
            columns.append(ColumnPlan(str(name), source, kind, required, source_type=types[source]))
        present = {c.name for c in columns}
        absent = [
            name for name, (_, required) in _contract(table).items() if required and name not in present
        ]
        if absent:
            raise Fallback(f"{table}.{absent[0]}: required column is missing (column_in_dataframe)")
        if table == "customers" and _churn_columns_problem(self.config, present, {}):
            raise Fallback("customers: contractual churn without churn_date or churned")
        return columns

    # ---- rules across rows and tables --------------------------------------------------------------

    def _as_of(self) -> pd.Timestamp | None:
        if self.config.analysis["as_of"] is not None or "transactions" not in self.arrow:
            return _as_of(self.config, {})
        import pyarrow.compute as pc

        latest = pc.max(self.arrow["transactions"].column("order_date")).as_py()
        return None if latest is None else pd.Timestamp(latest).normalize()

    def _check_dates(self, as_of) -> None:
        import pyarrow.compute as pc

        end = (
            None
            if as_of is None
            else (pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)).to_datetime64()
        )
        found = []
        for table, plan in self.plans.items():
            for column in plan.columns:
                if column.kind != "date":
                    continue
                bounds = pc.min_max(self.arrow[table].column(column.name))
                low, high = bounds["min"].as_py(), bounds["max"].as_py()
                if low is None:
                    continue
                low, high = np.datetime64(low), np.datetime64(high)
                if low < _DATE_RANGE[0] or high >= _DATE_RANGE[1]:
                    found.append(f"{table}.{column.name}: dates pandas cannot hold (engine_format)")
                elif end is not None and high >= end:
                    self.found.append(f"{table}.{column.name}: dates after the as-of date (not_after_as_of)")
        if found:
            raise Fallback("; ".join(found))

    def _frames(self) -> tuple[dict[str, pd.DataFrame], list[str], list[DroppedRows]]:
        """Each table in pandas, exact duplicates dropped as the pandas loader drops them.

        The duplicates are found on the few rows whose typed-row hash repeats (converted alone and
        compared by pandas itself); the other rows are converted once, from slices of the result
        (no copy), the index keeping each row's place in the file. Each column's count of missing
        values is kept for the data-health notes (:attr:`missing`).
        """
        frames, notes, dropped = {}, [], []
        for table, plan in self.plans.items():
            result = self.arrow[table]
            dtypes = pandas_dtypes(plan, result, self.flags[table])
            candidates = repeated_hashes(result.column("__row_hash"))
            index = None
            if len(candidates):
                rows = frame_from_arrow(plan, result.take(candidates), dtypes)
                repeats = rows.duplicated().to_numpy()
                if repeats.any():
                    notes.append(duplicates_note(table, int(repeats.sum())))
                    dropped.append(dropped_record(table, "duplicate", (), rows.loc[repeats]))
                    result, index = kept_rows(result, candidates[repeats])
            frames[table] = frame_from_arrow(plan, result, dtypes)
            if index is not None:
                frames[table].index = index
            self.missing.update({(table, c.name): result.column(c.name).null_count for c in plan.columns})
        return frames, notes, dropped

    def _check_ids(self, frames: dict[str, pd.DataFrame]) -> None:
        if "customers" not in frames:
            return
        customers = frames["customers"]
        if not customers["customer_id"].is_unique:
            self.found.append("customers.customer_id: ids are duplicated (field_uniqueness)")
        self.con.register("__customers", self.arrow["customers"])
        for table, plan in self.plans.items():
            if table == "customers":
                continue
            self.con.register(f"__{table}", self.arrow[table])
            for column in plan.columns:
                if column.name not in _FOREIGN_IDS:
                    continue
                ids = f"t.{quote(column.name)}"
                unknown, spaced = self.con.sql(
                    f"SELECT count(*), count(*) FILTER ({spaced_sql(ids)}) FROM __{table} AS t "
                    f"ANTI JOIN __customers AS c ON {ids} = c.customer_id WHERE {ids} IS NOT NULL"
                ).fetchall()[0]
                if spaced:  # pandas strips them (with a warning), and may then know them
                    raise Fallback(f"{table}.{column.name}: ids with spaces around them (engine_format)")
                if unknown:
                    self.found.append(
                        f"{table}.{column.name}: {unknown:,} ids are not customers (known_customer)"
                    )

    def _buyers(self) -> int | None:
        """Customers with at least ``segmentation.min_orders`` purchases, as the readiness check counts.

        Counted first in the file's first rows: more rows only add purchases, so when they already
        hold the buyers the segmentation needs, the data pass that check (and the exact count, only
        shown when they do not, is not needed).
        """
        if "transactions" not in self.plans:
            return None
        names = {c.name for c in self.plans["transactions"].columns}
        refund = "coalesce(is_refund, false)" if "is_refund" in names else "amount < 0"
        order = "order_id" if "order_id" in names else "CAST(order_date AS DATE)"
        transactions = self.arrow["transactions"]
        for rows in (_BUYERS_FIRST_ROWS, transactions.num_rows):
            self.con.register("__sales", transactions.slice(0, rows))
            # DISTINCT keeps a missing order as one order, as pandas' drop_duplicates does
            buyers = self.con.sql(
                f"SELECT count(*) FROM (SELECT customer_id, count(*) AS orders FROM (SELECT DISTINCT "
                f"customer_id, {order} FROM __sales WHERE NOT {refund} AND amount > 0) GROUP BY customer_id) "
                f"WHERE orders >= {int(self.config.values['segmentation']['min_orders'])}"
            ).fetchall()[0][0]
            if buyers >= buyers_needed(self.config) or rows >= transactions.num_rows:
                return buyers
        return buyers


def _contract(table: str) -> dict:
    from cxlib.data._contract import CONTRACT

    return CONTRACT[table]


def _csv_header(path: Path, spec: dict, table: str) -> list[str]:
    """The column names pandas reads from the header (read alone; pandas names repeats ``a.1``)."""
    from cxlib.data._readers import _check_header
    from cxlib.exceptions import InputFileError

    try:
        header = pd.read_csv(
            path,
            dtype=str,
            sep=spec.get("separator") or ",",
            encoding="utf-8-sig",
            compression="infer",
            skipinitialspace=True,
            nrows=0,
        )
        _check_header(header, f"{table}: {path.name}")
    except (ValueError, UnicodeDecodeError, InputFileError, pd.errors.ParserError) as err:
        raise Fallback(
            f"{table}: pandas reads {path.name}'s header as a problem ({type(err).__name__})"
        ) from err
    names = [str(c) for c in header.columns]
    if len(names) < 2:
        raise Fallback(f"{table}: {path.name} reads as one column (another separator?)")
    return names


def _parquet_types(con, source: str, path: Path, table: str) -> tuple[dict[str, str], dict[str, str]]:
    """Column -> DuckDB type of a Parquet file, and each time stamp column's unit (pandas keeps it).

    Time stamps of any unit are typed ``TIMESTAMP``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as err:  # the pandas loader says what is wrong with the file
        raise Fallback(f"{table}: {path.name} is not a readable Parquet file") from err
    units = {f.name: f.type.unit for f in schema if pa.types.is_timestamp(f.type)}
    index = (schema.pandas_metadata or {}).get("index_columns", [])
    if any(not isinstance(i, dict) for i in index):  # pandas restores a stored index: row numbers change
        raise EngineUnsupported(f"{table}: {path.name} stores a pandas index")
    described = con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
    types = {}
    for name, kind, *_ in described:
        kind = str(kind)
        types[name] = "TIMESTAMP" if kind.startswith("TIMESTAMP") and "TIME ZONE" not in kind else kind
    return types, units


def _flag_problem(table: str, column: ColumnPlan, flags: int) -> str | None:
    """The rules a column's flags say it breaks, as one readable fragment (None when none)."""
    rules = []
    if flags & UNPARSED:
        rules.append({"date": "coerce_date", "number": "coerce_number", "bool": "coerce_bool"}[column.kind])
    if flags & MISSING:
        rules.append("not_nullable")
    if flags & RULE:
        rules.append(column.rules[0])
    if flags & FRAME_RULE:
        rules.append(column.rules[-1])
    if flags & FORMAT:
        rules.append("engine_format")
    if not rules:
        return None
    what = "; ".join(RULES[r][0] if r in RULES else "values the engine may read unlike pandas" for r in rules)
    return f"{table}.{column.name}: {what} ({', '.join(rules)})"
