"""Read a company's files (CSV, Parquet, Excel), map them onto the data contract, and validate.

Input files are only ever read. Column mapping comes from the config; columns whose name already
matches a canonical one (ignoring case, spaces and underscores, e.g. ``CustomerID`` or
``Order Date``) are picked up without mapping. A mapping value may also derive a column:

``{multiply: [Quantity, UnitPrice]}``
    product of two numeric columns (e.g. amount = quantity x unit price);
``{startswith: [InvoiceNo, C]}``
    True where the text column starts with the prefix (e.g. cancellations);
``{value: 0}``
    a constant;
``{months_before_as_of: tenure}``
    a date that many months before ``analysis.as_of`` (e.g. signup date from tenure);
``{months_before_as_of: {multiply: [Tenure, 12]}}``
    derivations nest (``multiply``, ``add``, ``subtract``, ``divide`` over column names, numbers
    and other operations; see :mod:`cxlib.data._derivations`).

A table entry may also set ``drop_missing: [customer_id]`` (rows missing those values are dropped
with a data-health note, e.g. anonymous tills) and, for customers, ``from_transactions: true``
(one row per customer in transactions, signup date = first order) when no customer file exists.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cxlib.data._config import TABLES, Config
from cxlib.data._contract import (
    CONTRACT,
    RATING_PREFIX,
    Problem,
    columns_schema,
    rules_schema,
    run_schema,
)
from cxlib.data._derivations import derivation_columns, derive_column, tenure_derivation
from cxlib.data._dropped import DroppedRows, dropped_record, without_churn_outcome
from cxlib.data._parsing import _pre_parse, parse_types
from cxlib.data._readers import read_table, sha256
from cxlib.data._readiness import check_readiness
from cxlib.data._recode import ROW_NUMBER, recode_values, row_number_ids, row_number_note
from cxlib.exceptions import DataValidationError, InputFileError


@dataclass
class CustomerData:
    """Validated canonical tables plus what loading learnt about them.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Canonical tables (only those configured); optional tables may be absent.
    as_of : Timestamp
        Analysis date (from the config, else the latest transaction).
    notes : list of str
        Data-health notes: rows dropped as exact duplicates, refunds, missing optional values.
    warnings : list of str
        Plausible but suspicious data worth a look (extreme amounts, a gap in the data before the
        as-of date, dates read in an order some values do not prove); shown by ``cx validate``
        and in the overview's data-health section.
    fingerprints : dict of str to str
        SHA-256 of each input file, to record exactly which data a report was built from.
    dropped : list of DroppedRows
        Each drop of rows (``drop_missing``, exact duplicates) as counts with the dropped
        customers' churn outcome and the dropped transactions' sales
        (:class:`cxlib.data._dropped.DroppedRows`; compared with the kept rows by
        :func:`cxlib.data.dropped_outcomes`).
    source : Path or None
        Where the tables can be read again as Parquet by an engine (the run's validated data);
        None when they were loaded from the input files.
    derived_columns : dict of str to str
        Canonical columns the data did not record but loading derived, as ``"table.column"`` -> where
        from (e.g. ``{"customers.signup_date": "Tenure (years)"}``, or ``"the first order in
        transactions"``): reports flag what is built on them and draw no trend from them.
    """

    tables: dict[str, pd.DataFrame]
    as_of: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dropped: list[DroppedRows] = field(default_factory=list)
    derived_columns: dict[str, str] = field(default_factory=dict)
    #: The folder of Parquet files these tables were read from (the run's validated data,
    #: :func:`cxlib.run.save_validated`), which an engine can read without pandas; None otherwise.
    source: Path | None = field(default=None, compare=False)

    def derived(self, column: str) -> str | None:
        """Where a derived ``"table.column"`` comes from, or None when the data recorded it."""
        return self.derived_columns.get(column)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def has(self, name: str) -> bool:
        """Whether optional table ``name`` was supplied."""
        return name in self.tables


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _sources(source) -> list[str]:
    """The file columns a mapping value reads: a column name, or the columns a derivation uses."""
    return derivation_columns(source)


def missing_sources(columns, table: str, spec: dict, file_name: str) -> dict[str, str]:
    """Mapped source columns that the file does not have, with the closest names it does have.

    Parameters
    ----------
    columns : sequence of str
        The file's column names.
    table : str
        Canonical table name, e.g. ``"customers"``.
    spec : dict
        The table's config entry (:meth:`cxlib.data._config.Config.table_spec`).
    file_name : str
        Shown in the message.

    Returns
    -------
    dict of str to str
        Canonical name -> readable problem, one per mapping that reads a missing column.

    Examples
    --------
    >>> missing_sources(["Cancelled On"], "customers", {"columns": {"churn_date": "Cancelled_On"}}, "c.csv")
    {'churn_date': "customers.churn_date: mapped to column 'Cancelled_On', which c.csv does not have \
(closest: 'Cancelled On'); fix data.tables.customers.columns.churn_date in the config."}
    """
    present = [str(c) for c in columns]
    by_norm = {}
    for column in present:
        by_norm.setdefault(_normalise(column), column)
    found = {}
    for canonical, source in (spec.get("columns") or {}).items():
        missing = [str(s) for s in _sources(source) if s not in present]
        if not missing:
            continue
        close = difflib.get_close_matches(_normalise(missing[0]), list(by_norm), n=3, cutoff=0.6)
        hint = (
            f"closest: {', '.join(repr(by_norm[c]) for c in close)}"
            if close
            else f"its columns: {', '.join(repr(c) for c in present[:10])}{', ...' if len(present) > 10 else ''}"
        )
        what = " and ".join(repr(m) for m in missing)
        found[canonical] = (
            f"{table}.{canonical}: mapped to column {what}, which {file_name} does not have ({hint}); "
            f"fix data.tables.{table}.columns.{canonical} in the config."
        )
    return found


def map_columns(raw: pd.DataFrame, table: str, spec: dict, as_of=None) -> pd.DataFrame:
    """Rename and derive columns onto canonical names; unmapped extra columns are kept as they are.

    A mapping whose source column is missing is skipped here; :func:`missing_sources` reports it.
    """
    mapping = dict(spec.get("columns") or {})
    out = pd.DataFrame(index=raw.index)
    used = set()
    for canonical, source in mapping.items():
        if any(s not in raw for s in _sources(source)):
            continue
        if isinstance(source, dict):
            out[canonical] = derive_column(raw, source, f"{table}.{canonical}", as_of)
            if not set(source) & {"months_before_as_of", "days_before_as_of"}:
                used.update(_sources(source))  # a tenure stays available as a column of its own
        else:
            out[canonical] = raw[source]
            used.add(source)
    if spec.get("id") == ROW_NUMBER:
        out["customer_id"] = row_number_ids(raw)
    by_norm = {_normalise(c): c for c in raw.columns if c not in used}
    for canonical in CONTRACT[table]:
        if canonical not in out and _normalise(canonical) in by_norm:
            source = by_norm[_normalise(canonical)]
            out[canonical] = raw[source]
            used.add(source)
    for column in raw.columns:
        if column in used:
            continue
        if table == "surveys" and _normalise(column).startswith("rating"):
            out[RATING_PREFIX + _normalise(column)[len("rating") :]] = raw[column]
        elif column not in out:
            out[column] = raw[column]
    return out


def load_data(config: Config) -> CustomerData:
    """Load every configured table, map it onto the contract, and validate it, in the config's engine.

    ``data.engine: pandas`` runs :func:`load_data_pandas`; ``duckdb`` (the default; also ``spark``,
    which has no loader of its own) runs :func:`cxlib.engine.load_data_engine`, which reads and
    validates large files in DuckDB and gives exactly the same result (data it finds a problem in
    are loaded, and reported, by :func:`load_data_pandas`).

    Parameters
    ----------
    config : Config
        From :func:`cxlib.data._config.load_config`.

    Returns
    -------
    CustomerData

    Raises
    ------
    DataValidationError
        Listing every problem in every table at once (see :func:`load_data_pandas`).

    Examples
    --------
    >>> data = load_data(load_config("configs/demo_small.yaml"))  # doctest: +SKIP
    >>> data["transactions"].columns[:3].tolist()  # doctest: +SKIP
    ['order_id', 'customer_id', 'order_date']
    """
    from cxlib.engine._features import engine_from_config

    if engine_from_config(config) == "pandas":
        return load_data_pandas(config)
    from cxlib.engine._load import load_data_engine

    return load_data_engine(config)


def load_data_pandas(config: Config) -> CustomerData:
    """Load every configured table, map it onto the contract, and validate it, in pandas.

    Parameters
    ----------
    config : Config
        From :func:`cxlib.data._config.load_config`.

    Returns
    -------
    CustomerData

    Raises
    ------
    DataValidationError
        Listing every problem in every table at once (missing files and columns, mapped columns
        the file does not have, bad types, dates that read both day-first and month-first,
        duplicate ids, negative amounts not marked as refunds, unknown customers, dates after
        the as-of date, scores out of range, empty tables, contractual churn without churn data).
    """
    problems: list = []  # Problem objects, or plain strings for file-level failures
    mapped: dict[str, pd.DataFrame] = {}
    fingerprints: dict[str, str] = {}
    dropped: list[str] = []
    dropped_rows: list[DroppedRows] = []  # the same drops as data, for the reports' comparisons
    derived_columns: dict[str, str] = {}  # table.column -> where loading derived it from
    unreadable: dict[tuple, set] = {}  # (table, column) -> rows already reported as unparseable
    customer_ids = None
    for table in TABLES:
        spec = config.table_spec(table)
        if spec is None or spec["from_transactions"]:
            continue
        path = config.table_path(table)
        if not path.exists():
            problems.append(f"{table}: file not found: {path}; fix data.tables.{table}.path in the config")
            continue
        if spec["tenure"]:  # the signup date is derived from the tenure column, in its unit
            derived = tenure_derivation(spec["tenure"])
            spec = {**spec, "columns": {**spec["columns"], "signup_date": derived}}
            dropped.append(
                f"{table}.signup_date: derived from {spec['tenure']['column']} "
                f"({spec['tenure'].get('unit', 'months')}) counted back from the as-of date"
            )
        derived_columns.update(derived_dates(table, spec))
        try:
            raw = read_table(path, spec, table)
            fingerprints[_fingerprint_key(table, path)] = sha256(path)
            unmapped = missing_sources(raw.columns, table, spec, path.name)
            raw, recoded, unrecoded = recode_values(raw, table, spec["recode"], spec["columns"])
            frame = map_columns(raw, table, spec, config.analysis["as_of"])
        except InputFileError as err:
            problems.append(str(err))
            continue
        except Exception as err:  # noqa: BLE001 - any other reader failure becomes a readable problem
            problems.append(f"{table}: cannot read {path.name}: {type(err).__name__}: {err}")
            continue
        problems.extend(list(unmapped.values()) + unrecoded)
        dropped.extend(recoded)
        if spec["id"] == ROW_NUMBER:
            dropped.append(row_number_note(table, len(raw)))
        if raw.empty:
            problems.append(Problem(table, None, "empty_table", ()))
            continue
        frame = _drop_missing(
            _pre_parse(frame, table, spec),
            table,
            spec["drop_missing"],
            dropped,
            dropped_rows,
            spec["columns"],
        )
        _, missing_columns = run_schema(columns_schema(table, list(frame.columns)), frame, table)
        frame, unparsed = parse_types(frame, table, spec["date_format"])
        # a required column whose mapping names a missing column is reported once, by its mapping
        problems.extend([p for p in missing_columns if p.column not in unmapped] + unparsed)
        for problem in unparsed:
            if problem.severity == "error":
                unreadable.setdefault((problem.table, problem.column), set()).update(problem.rows)
        # validation judges what is analysed: exact duplicate rows go first, so only ids repeated
        # with different content count as duplicated ids (row numbers still point into the file)
        frame = _drop_exact_duplicates(frame, table, dropped, dropped_rows)
        if table == "customers":
            problems.extend(_churn_columns_problem(config, frame.columns, unmapped))
            if "customer_id" in frame:
                customer_ids = pd.Index(frame["customer_id"].dropna())
        if not missing_columns:
            mapped[table] = frame
    customers_spec = config.table_spec("customers")
    if customers_spec and customers_spec["from_transactions"] and "transactions" in mapped:
        mapped = {"customers": customers_from_transactions(mapped["transactions"]), **mapped}
        derived_columns["customers.signup_date"] = FIRST_ORDER
        customer_ids = pd.Index(mapped["customers"]["customer_id"])
        problems.extend(_churn_columns_problem(config, mapped["customers"].columns, {}))

    as_of = _as_of(config, mapped)
    problems.extend(_not_reported_twice(rule_problems(mapped, customer_ids, as_of), unreadable))
    errors, warnings = split_problems(problems)
    tables, notes = _tidy(mapped) if "customers" in mapped else (mapped, [])
    ready_errors, ready_warnings = check_readiness(config, mapped, tables, as_of, failed_tables(errors))
    errors, warnings = errors + ready_errors, warnings + ready_warnings
    if errors:
        raise DataValidationError(errors, warnings)
    if config.analysis["churn"]["definition"] == "inactivity":  # not readable from a dropped row
        dropped_rows = without_churn_outcome(dropped_rows)
    return CustomerData(
        tables=tables,
        as_of=as_of,
        notes=dropped + notes,
        fingerprints=fingerprints,
        warnings=warnings,
        dropped=dropped_rows,
        derived_columns=derived_columns,
    )


def rule_problems(mapped: dict[str, pd.DataFrame], customer_ids: pd.Index | None, as_of) -> list[Problem]:
    """The contract's rules on typed tables (stage 2: ranges, uniqueness, references, dates).

    Parameters
    ----------
    mapped : dict of str to DataFrame
        Typed tables, exact duplicates dropped, indexed by their row in the file.
    customer_ids : Index or None
        Ids of the customers table (None: references are not checked).
    as_of : Timestamp or None

    Returns
    -------
    list of Problem
    """
    problems = []
    for table, frame in mapped.items():
        _, found = run_schema(
            rules_schema(table, list(frame.columns), customer_ids, as_of), frame, table, as_of
        )
        problems.extend(found)
    return problems


def split_problems(problems: list) -> tuple[list[str], list[str]]:
    """Problems (and plain-text file problems) as the (errors, warnings) lines of the report."""
    warnings = [p.message() for p in problems if isinstance(p, Problem) and p.severity == "warning"]
    errors = [
        p.message() if isinstance(p, Problem) else p
        for p in problems
        if not (isinstance(p, Problem) and p.severity == "warning")
    ]
    return errors, warnings


def failed_tables(errors: list[str]) -> set[str]:
    """Tables with a contract problem: they are not judged again against the analyses (no echoes)."""
    return {p.split(":")[0].split(".")[0] for p in errors}


#: Where a signup date built by ``from_transactions: true`` comes from (:attr:`CustomerData.derived_columns`).
FIRST_ORDER = "the first order in transactions"


def derived_dates(table: str, spec: dict) -> dict[str, str]:
    """The date columns a table's config derives rather than maps, and where each comes from.

    A ``tenure: {column, unit}`` entry derives ``signup_date`` from that column; a mapping value
    that is a derivation (``{months_before_as_of: tenure}``, nested or not) derives its column from
    the columns it reads.

    Examples
    --------
    >>> derived_dates("customers", {"tenure": {"column": "Tenure", "unit": "years"}, "columns": {}})
    {'customers.signup_date': 'Tenure (years)'}
    >>> derived_dates("customers", {"columns": {"signup_date": {"months_before_as_of": "tenure"}}})
    {'customers.signup_date': 'tenure (months)'}
    """
    found = {}
    if spec.get("tenure"):
        tenure = spec["tenure"]
        found[f"{table}.signup_date"] = f"{tenure['column']} ({tenure.get('unit', 'months')})"
    for canonical, source in (spec.get("columns") or {}).items():
        if isinstance(source, dict) and canonical in _DATE_COLUMNS and f"{table}.{canonical}" not in found:
            unit = next((u for u in ("months", "days") if f"{u}_before_as_of" in source), None)
            where = ", ".join(str(c) for c in derivation_columns(source)) or "a constant"
            found[f"{table}.{canonical}"] = f"{where} ({unit})" if unit else where
    return found


#: Canonical date columns whose derivation :func:`derived_dates` records.
_DATE_COLUMNS = ("signup_date", "churn_date", "order_date", "timestamp", "date", "start_date")


def _fingerprint_key(table: str, path) -> str:
    return f"{table}:{path.name}"


def input_fingerprints(config: Config) -> dict[str, str]:
    """SHA-256 of every input file the config names, keyed as in :attr:`CustomerData.fingerprints`.

    Files that do not exist are left out, so the result differs from a validated load's
    fingerprints whenever an input file changed, appeared or went missing since.
    """
    found = {}
    for table in TABLES:
        spec = config.table_spec(table)
        if spec is None or spec["from_transactions"]:
            continue
        path = config.table_path(table)
        if path.is_file():
            found[_fingerprint_key(table, path)] = sha256(path)
    return found


def _not_reported_twice(found: list[Problem], unreadable: dict[tuple, set]) -> list[Problem]:
    """Values that could not be parsed become missing; do not report them again as missing."""
    kept = []
    for problem in found:
        already = unreadable.get((problem.table, problem.column), set())
        if problem.rule == "not_nullable" and already:
            rows = tuple(r for r in problem.rows if r not in already)
            if not rows:
                continue
            problem = Problem(
                problem.table, problem.column, problem.rule, rows, problem.examples, problem.as_of
            )
        kept.append(problem)
    return kept


def _drop_exact_duplicates(
    frame: pd.DataFrame,
    table: str,
    notes: list[str],
    records: list[DroppedRows] | None = None,
    duplicates: pd.Series | None = None,
) -> pd.DataFrame:
    """Drop rows equal in every column to an earlier row, with a data-health note (and a record).

    ``duplicates`` is ``frame.duplicated()`` when the caller has found it faster (the engine).
    """
    duplicates = frame.duplicated() if duplicates is None else duplicates
    if not duplicates.any():
        return frame
    notes.append(duplicates_note(table, int(duplicates.sum())))
    if records is not None:
        records.append(dropped_record(table, "duplicate", (), frame.loc[duplicates]))
    return frame.loc[~duplicates]


def duplicates_note(table: str, rows: int) -> str:
    """The data-health note on exact duplicate rows dropped from ``table``.

    Examples
    --------
    >>> duplicates_note("transactions", 1200)
    'transactions: dropped 1,200 exact duplicate rows'
    """
    return f"{table}: dropped {rows:,} exact duplicate rows"


def _churn_columns_problem(config: Config, columns, unmapped: dict[str, str]) -> list[str]:
    """Contractual churn needs a churn date or a churned flag per customer."""
    if config.analysis["churn"]["definition"] != "contractual":
        return []
    if {"churn_date", "churned"} & set(columns) or {"churn_date", "churned"} & set(unmapped):
        return []  # present, or its broken mapping is already reported
    return [
        "customers: analysis.churn.definition is contractual, but the customers table has neither "
        "churn_date nor churned; map one of them under data.tables.customers.columns "
        "(e.g. churn_date: your cancellation date column) or set analysis.churn.definition to inactivity."
    ]


def _drop_missing(
    frame: pd.DataFrame,
    table: str,
    columns: list[str],
    notes: list[str],
    records: list[DroppedRows] | None = None,
    mapping: dict | None = None,
) -> pd.DataFrame:
    """Drop rows missing a ``drop_missing`` value, with a data-health note and a record.

    The record names the file columns ``mapping`` reads them from (e.g. the tenure a signup date
    is derived from).
    """
    present = [c for c in columns if c in frame]
    if not present:
        return frame
    missing = frame[present].isna().any(axis=1)
    if missing.any():
        notes.append(
            f"{table}: dropped {int(missing.sum()):,} rows with no {', '.join(present)} (drop_missing)"
        )
        if records is not None:
            sources = [s for c in present for s in _sources((mapping or {}).get(c, []))]
            records.append(dropped_record(table, "missing", present, frame.loc[missing], sources))
    return frame.loc[~missing]


def customers_from_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per customer seen in transactions; signup date is the first order date."""
    first = transactions.dropna(subset=["customer_id"]).groupby("customer_id", sort=True)["order_date"].min()
    return pd.DataFrame({"customer_id": first.index.astype(object), "signup_date": first.to_numpy()})


def _as_of(config: Config, mapped: dict) -> pd.Timestamp | None:
    if config.analysis["as_of"] is not None:
        return pd.Timestamp(config.analysis["as_of"])
    if "transactions" in mapped and mapped["transactions"]["order_date"].notna().any():
        return mapped["transactions"]["order_date"].max().normalize()
    return None


def _tidy(
    mapped: dict[str, pd.DataFrame], missing: dict[tuple[str, str], int] | None = None
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Add derived flags, sign refunds, and describe what was done (duplicates are already gone).

    Refunds are signed here (:func:`sign_refunds`), so every consumer of the canonical tables sums
    net amounts. ``missing`` gives (table, column) -> count of missing values when the caller has
    counted them (the engine loader, from Arrow), instead of a pass over each text column.
    """
    notes = []
    # renumbered without copying the columns (what changes below is assigned, never written in place)
    tables = {name: _renumbered(frame) for name, frame in mapped.items()}
    customers = tables["customers"]
    if "churned" not in customers and "churn_date" in customers:
        customers["churned"] = customers["churn_date"].notna()
    transactions = tables.get("transactions")
    if transactions is not None:
        transactions = tables["transactions"] = sign_refunds(transactions)
        refunds = int(transactions["is_refund"].sum())
        if refunds:
            notes.append(
                f"transactions: {refunds:,} refund or cancellation rows (net revenue subtracts them)"
            )
    for name, frame in tables.items():
        for column, (_, required) in CONTRACT[name].items():
            # an empty churn date means "still a customer", not a gap in the data
            if column not in frame or required or column == "churn_date":
                continue
            counted = (missing or {}).get((name, column))
            if counted is not None and column not in ("is_refund", "resolved"):  # unchanged above
                if counted:
                    share = counted / len(frame)  # as the mean of the missing flags
                    notes.append(
                        f"{name}.{column}: {share:.1%} of values missing (optional; treated as unknown)"
                    )
                continue
            missing_rows = frame[column].isna()
            if missing_rows.any():
                if column == "resolved" and "kind" in frame:  # resolution applies to complaints only
                    missing_rows = missing_rows[frame["kind"] == "complaint"]
                    if not missing_rows.any():
                        continue
                share = missing_rows.mean()
                notes.append(f"{name}.{column}: {share:.1%} of values missing (optional; treated as unknown)")
    return tables, notes


def _renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.reset_index(drop=True)`` sharing the column data instead of copying it."""
    out = frame.copy(deep=False)
    out.index = pd.RangeIndex(len(frame))
    return out


def sign_refunds(transactions: pd.DataFrame) -> pd.DataFrame:
    """Flag and sign refunds: the one place where refund amounts are made negative.

    Loading calls it, so the canonical transactions every capability reads already carry
    ``is_refund`` (bool, no missing values) and net-signed amounts; nothing downstream signs them
    again.

    Parameters
    ----------
    transactions : DataFrame
        Mapped transactions with ``amount`` and, when the file says which rows are refunds,
        ``is_refund``; without it every negative amount is a refund.

    Returns
    -------
    DataFrame
        A copy where refund rows have ``amount = -abs(amount)`` whatever their sign in the file.

    Examples
    --------
    >>> tx = pd.DataFrame({"amount": [10.0, 4.0, -3.0], "is_refund": [False, True, None]})
    >>> sign_refunds(tx)["amount"].tolist()
    [10.0, -4.0, -3.0]
    """
    out = transactions.copy(deep=False)  # both columns below are replaced, not written in place
    refund = out["is_refund"] if "is_refund" in out else out["amount"] < 0
    out["is_refund"] = refund.astype("boolean").fillna(False).astype(bool)
    out["amount"] = out["amount"].where(~out["is_refund"], -out["amount"].abs())
    return out
