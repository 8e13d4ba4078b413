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
    a date that many months before ``analysis.as_of`` (e.g. signup date from tenure).

A table entry may also set ``drop_missing: [customer_id]`` (rows missing those values are dropped
with a data-health note, e.g. anonymous tills) and, for customers, ``from_transactions: true``
(one row per customer in transactions, signup date = first order) when no customer file exists.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.config import TABLES, Config
from cxlib.exceptions import DataValidationError
from cxlib.validate import (
    CONTRACT,
    RATING_PREFIX,
    Problem,
    columns_schema,
    rules_schema,
    run_schema,
    type_problems,
)

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


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
    fingerprints : dict of str to str
        SHA-256 of each input file, to record exactly which data a report was built from.
    """

    tables: dict[str, pd.DataFrame]
    as_of: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def has(self, name: str) -> bool:
        """Whether optional table ``name`` was supplied."""
        return name in self.tables


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def read_table(path: Path, spec: dict) -> pd.DataFrame:
    """Read one file as text columns (types are decided later, by the contract)."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path, sheet_name=spec.get("sheet") or 0, dtype=str)
    return pd.read_csv(
        path,
        dtype=str,
        sep=spec.get("separator") or ",",
        encoding=spec.get("encoding") or "utf-8",
        compression="infer",
        skipinitialspace=True,
    )


def map_columns(raw: pd.DataFrame, table: str, spec: dict, as_of=None) -> pd.DataFrame:
    """Rename and derive columns onto canonical names; unmapped extra columns are kept as they are."""
    mapping = dict(spec.get("columns") or {})
    out = pd.DataFrame(index=raw.index)
    used = set()
    for canonical, source in mapping.items():
        if isinstance(source, dict):
            out[canonical] = _derive(raw, source, f"{table}.{canonical}", as_of)
            used.update(v for v in next(iter(source.values()), []) if isinstance(v, str) and v in raw)
        elif source in raw:
            out[canonical] = raw[source]
            used.add(source)
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


def _derive(raw: pd.DataFrame, rule: dict, where: str, as_of=None) -> pd.Series:
    ((op, args),) = rule.items()
    if op == "months_before_as_of":
        if as_of is None:
            raise ValueError(f"{where}: months_before_as_of needs analysis.as_of in the config")
        months = pd.to_numeric(raw[args], errors="coerce")
        base = pd.Timestamp(as_of)
        return pd.Series(
            [base - pd.DateOffset(months=int(m)) if pd.notna(m) else pd.NaT for m in months], index=raw.index
        )
    if op == "multiply":
        a, b = args
        return pd.to_numeric(raw[a], errors="coerce") * pd.to_numeric(raw[b], errors="coerce")
    if op == "startswith":
        column, prefix = args
        return raw[column].astype(str).str.startswith(str(prefix))
    if op == "value":
        return pd.Series(args, index=raw.index)
    raise ValueError(
        f"{where}: unknown derivation '{op}' (use multiply, startswith, value or months_before_as_of)"
    )


def _pre_parse(frame: pd.DataFrame, table: str, spec: dict) -> pd.DataFrame:
    """Apply the config's date format and yes/no vocabulary; unparseable values stay as they were."""
    frame = frame.copy()
    true_values = {k: {str(v).lower() for v in vals} for k, vals in (spec.get("true_values") or {}).items()}
    for name, (kind, _) in CONTRACT[table].items():
        if name not in frame:
            continue
        column = frame[name]
        if kind == "bool" and column.dtype != bool:
            text = column.astype("string").str.strip().str.lower()
            trues = _TRUE | true_values.get(name, set())
            falses = _FALSE | ({"sale", "purchase", "order"} if name == "is_refund" else set())
            if name in true_values:
                falses = falses | set(text.dropna().unique()) - trues  # everything else is False
            mapped = pd.Series(pd.NA, index=frame.index, dtype="object")
            mapped[text.isin(trues).fillna(False).to_numpy()] = True
            mapped[text.isin(falses).fillna(False).to_numpy()] = False
            unknown = text.notna() & ~text.isin(trues | falses)
            mapped[unknown.to_numpy()] = column[unknown]
            frame[name] = mapped
        elif kind == "date" and spec.get("date_format") and column.dtype == object:
            parsed = pd.to_datetime(column, format=spec["date_format"], errors="coerce")
            frame[name] = parsed.astype(object).where(parsed.notna() | column.isna(), column)
        elif kind == "id" and column.dtype != object:
            frame[name] = column.astype("string").str.replace(r"\.0$", "", regex=True).astype(object)
        elif kind == "text" and column.dtype == object:
            frame[name] = column.str.strip().replace("", np.nan)
    return frame


def _parse_dates(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    parsed = pd.to_datetime(column, errors="coerce", format="ISO8601")
    retry = column.notna() & parsed.isna()
    if retry.any():  # other layouts: parse only the few values ISO 8601 did not cover
        parsed[retry] = pd.to_datetime(column[retry], errors="coerce", format="mixed")
    return parsed


def parse_types(frame: pd.DataFrame, table: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Give canonical columns their types; values that do not parse become missing and are reported."""
    frame = frame.copy()
    problems: list[Problem] = []
    kinds = {name: kind for name, (kind, _) in CONTRACT[table].items()}
    if table == "surveys":
        kinds.update({c: "number" for c in frame.columns if c.startswith(RATING_PREFIX)})
    for name, kind in kinds.items():
        if name not in frame:
            continue
        raw = frame[name]
        if kind == "date":
            parsed = _parse_dates(raw)
        elif kind == "number":
            parsed = pd.to_numeric(raw, errors="coerce")
        elif kind == "bool":
            parsed = raw.map(lambda v: v if isinstance(v, bool | np.bool_) else pd.NA).astype("boolean")
        else:
            parsed = raw.astype("string").astype(object).where(raw.notna(), None)
        problems.extend(type_problems(table, name, kind, raw, parsed))
        frame[name] = parsed
    return frame, problems


def file_fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_data(config: Config) -> CustomerData:
    """Load every configured table, map it onto the contract, and validate it.

    Parameters
    ----------
    config : Config
        From :func:`cxlib.config.load_config`.

    Returns
    -------
    CustomerData

    Raises
    ------
    DataValidationError
        Listing every problem in every table at once (missing files and columns, bad types,
        duplicate ids, negative amounts not marked as refunds, unknown customers, dates after
        the as-of date, scores out of range, empty tables).
    """
    problems: list = []  # Problem objects, or plain strings for file-level failures
    mapped: dict[str, pd.DataFrame] = {}
    fingerprints: dict[str, str] = {}
    dropped: list[str] = []
    unreadable: dict[tuple, set] = {}  # (table, column) -> rows already reported as unparseable
    customer_ids = None
    for table in TABLES:
        spec = config.table_spec(table)
        if spec is None or spec["from_transactions"]:
            continue
        path = config.table_path(table)
        if not path.is_file():
            problems.append(f"{table}: file not found: {path}; fix data.tables.{table}.path in the config")
            continue
        fingerprints[f"{table}:{path.name}"] = file_fingerprint(path)
        try:
            raw = read_table(path, spec)
            frame = map_columns(raw, table, spec, config.analysis["as_of"])
        except Exception as err:  # noqa: BLE001 - any reader failure becomes a readable problem
            problems.append(f"{table}: cannot read {path.name}: {err}")
            continue
        if raw.empty:
            problems.append(Problem(table, None, "empty_table", ()))
            continue
        frame = _drop_missing(_pre_parse(frame, table, spec), table, spec["drop_missing"], dropped)
        _, missing_columns = run_schema(columns_schema(table, list(frame.columns)), frame, table)
        frame, unparsed = parse_types(frame, table)
        problems.extend(missing_columns + unparsed)
        unreadable.update({(p.table, p.column): set(p.rows) for p in unparsed})
        if table == "customers" and "customer_id" in frame:
            customer_ids = pd.Index(frame["customer_id"].dropna())
        if not missing_columns:
            mapped[table] = frame
    customers_spec = config.table_spec("customers")
    if customers_spec and customers_spec["from_transactions"] and "transactions" in mapped:
        mapped = {"customers": customers_from_transactions(mapped["transactions"]), **mapped}
        customer_ids = pd.Index(mapped["customers"]["customer_id"])

    as_of = _as_of(config, mapped)
    for table, frame in mapped.items():
        _, found = run_schema(
            rules_schema(table, list(frame.columns), customer_ids, as_of), frame, table, as_of
        )
        problems.extend(_not_reported_twice(found, unreadable))
    if problems:
        raise DataValidationError([p.message() if isinstance(p, Problem) else p for p in problems])
    tables, notes = _tidy(mapped)
    return CustomerData(tables=tables, as_of=as_of, notes=dropped + notes, fingerprints=fingerprints)


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


def _drop_missing(frame: pd.DataFrame, table: str, columns: list[str], notes: list[str]) -> pd.DataFrame:
    present = [c for c in columns if c in frame]
    if not present:
        return frame
    missing = frame[present].isna().any(axis=1)
    if missing.any():
        notes.append(
            f"{table}: dropped {int(missing.sum()):,} rows with no {', '.join(present)} (drop_missing)"
        )
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


def _tidy(mapped: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Drop exact duplicate rows, add derived flags, and describe what was done."""
    notes = []
    tables = {}
    for name, frame in mapped.items():
        duplicates = frame.duplicated()
        if duplicates.any():
            notes.append(f"{name}: dropped {int(duplicates.sum()):,} exact duplicate rows")
        frame = frame.loc[~duplicates].reset_index(drop=True)
        tables[name] = frame
    customers = tables["customers"]
    if "churned" not in customers and "churn_date" in customers:
        customers["churned"] = customers["churn_date"].notna()
    transactions = tables.get("transactions")
    if transactions is not None:
        if "is_refund" not in transactions:
            transactions["is_refund"] = transactions["amount"] < 0
        transactions["is_refund"] = transactions["is_refund"].fillna(False).astype(bool)
        refunds = int(transactions["is_refund"].sum())
        if refunds:
            notes.append(
                f"transactions: {refunds:,} refund or cancellation rows (net revenue subtracts them)"
            )
    for name, frame in tables.items():
        for column, (_, required) in CONTRACT[name].items():
            # an empty churn date means "still a customer", not a gap in the data
            if column in frame and not required and column != "churn_date" and frame[column].isna().any():
                values = frame[column]
                if column == "resolved" and "kind" in frame:  # resolution applies to complaints only
                    values = values[frame["kind"] == "complaint"]
                    if not values.isna().any():
                        continue
                share = values.isna().mean()
                notes.append(f"{name}.{column}: {share:.1%} of values missing (optional; treated as unknown)")
    return tables, notes
