"""The data contract: canonical tables, their columns, and the rules they must meet.

Validation runs once, at the boundary (:func:`cxlib.data._load.load_data`), with pandera in lazy mode so
that every problem in every table is collected, then summarised into one readable list: table,
column, rule broken, how many rows, the first few row numbers, and how to fix it.
Row numbers count the header as row 1, as a spreadsheet shows them.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd


@contextmanager
def _without_spark():
    """Hide an installed but unused pyspark while pandera is imported.

    pandera imports the pandas API on Spark (``pyspark.pandas``) whenever pyspark is installed,
    for a Spark support cxlib does not use: half a second and 40 MB in every process that loads
    data. pyspark is a dependency of the Spark engine only (:mod:`cxlib.engine`), which imports it
    when Spark is asked for; until then nothing of Spark is imported. A session already running
    Spark is left as it is.
    """
    hidden = "pyspark" not in sys.modules
    if hidden:
        sys.modules["pyspark"] = None  # makes `import pyspark...` raise ImportError, which pandera expects
    try:
        yield
    finally:
        if hidden and sys.modules.get("pyspark", ...) is None:
            del sys.modules["pyspark"]


def _pandera():
    """The pandas API of pandera, imported on first use (loading in DuckDB needs none of it), without Spark."""
    with _without_spark():
        import pandera.pandas as pa
    return pa


if TYPE_CHECKING:
    import pandera.pandas as pa

#: Canonical columns: name -> (kind, required). Kinds: id, date, number, bool, text.
CONTRACT: dict[str, dict[str, tuple[str, bool]]] = {
    "customers": {
        "customer_id": ("id", True),
        "signup_date": ("date", True),
        "churn_date": ("date", False),
        "churned": ("bool", False),
        "plan": ("text", False),
        "region": ("text", False),
        "acquisition_channel": ("text", False),
    },
    "transactions": {
        "customer_id": ("id", True),
        "order_date": ("date", True),
        "amount": ("number", True),
        "order_id": ("id", False),
        "margin": ("number", False),
        "channel": ("text", False),
        "is_refund": ("bool", False),
    },
    "interactions": {
        "customer_id": ("id", True),
        "timestamp": ("date", True),
        "kind": ("text", True),
        "channel": ("text", False),
        "resolved": ("bool", False),
        "wait_minutes": ("number", False),
    },
    "surveys": {
        "customer_id": ("id", True),
        "date": ("date", True),
        "nps": ("number", False),
        "csat": ("number", False),
        "satisfied": ("bool", False),
    },
    "programme": {
        "customer_id": ("id", True),
        "programme": ("text", True),
        "group": ("text", True),
        "start_date": ("date", True),
    },
    "referrals": {
        "referrer_id": ("id", True),
        "referred_id": ("id", True),
        "date": ("date", True),
    },
}

#: Columns holding identifiers of customers or orders: personal data that reports never quote.
ID_COLUMNS = frozenset(name for spec in CONTRACT.values() for name, (kind, _) in spec.items() if kind == "id")

#: Survey columns named rating_<touchpoint> are per-touchpoint ratings (numbers).
RATING_PREFIX = "rating_"

#: Amounts at or beyond this size are errors: no order is that large, and float sums stop being
#: exact to the cent (2**53 cents is about 9e13 currency units; a total of many such rows is worse).
AMOUNT_LIMIT = 1e12

#: Rule name -> (what is wrong, how to fix). Used to build messages from pandera's failure cases.
RULES = {
    "column_in_dataframe": (
        "required column is missing",
        "map it under data.tables.{table}.columns in the config",
    ),
    "coerce_date": ("values are not dates", "fix them, or set data.tables.{table}.date_format"),
    "coerce_number": ("values are not numbers", "remove currency signs and thousands separators"),
    "coerce_bool": ("values are not yes/no", "use yes/no, true/false or 1/0, or list yours in true_values"),
    "coerce_text": ("values cannot be read as text", "check the file's encoding"),
    "not_nullable": ("values are missing in a required column", "fill them or drop those rows"),
    "field_uniqueness": ("ids are duplicated", "each customer must appear once in customers"),
    "not_after_as_of": ("dates are after the as-of date {as_of}", "fix the dates or set analysis.as_of"),
    "known_customer": ("ids are not in the customers table", "add those customers or remove these rows"),
    "negative_not_refund": (
        "amounts are negative but not marked as refunds",
        "mark refunds with is_refund or remove them",
    ),
    "nps_range": ("NPS scores are outside 0-10", "NPS is a 0-10 scale; rescale or drop them"),
    "csat_range": ("CSAT scores are outside 1-5", "CSAT is a 1-5 scale; rescale or drop them"),
    "rating_range": ("ratings are negative", "ratings are 0 (not applicable) or positive"),
    "non_negative": ("values are negative", "waits are minutes >= 0"),
    "group_values": ("groups are not 'treatment' or 'control'", "map your labels to treatment/control"),
    "churn_after_signup": ("churn dates are before the signup date", "check both dates"),
    "ambiguous_date": (
        "dates could be day-first or month-first",
        'set data.tables.{table}.date_format in the config: "%d/%m/%Y" reads 03/04/2024 as 3 April, '
        '"%m/%d/%Y" as 4 March',
    ),
    "empty_table": ("table has no rows", "point the config at the right file or remove the table"),
    "not_finite": ("values are infinite", "amounts must be finite numbers; fix or remove those rows"),
    "amount_limit": (
        f"amounts are {AMOUNT_LIMIT:.0e} or more in size, beyond any order and beyond what sums exactly "
        "to the cent",
        "check for a unit, decimal-separator or export error and fix those rows",
    ),
    # warnings: plausible data that deserves a look (shown by cx validate and in the overview)
    "ambiguous_order_decided": (
        "dates could be day-first or month-first; read {order} because other rows only read that way",
        "check the column is one layout and set data.tables.{table}.date_format to confirm it",
    ),
    "id_whitespace": (
        "ids have spaces around them, removed before matching",
        "check that the spaced and unspaced ids really are the same customer",
    ),
}


@dataclass(frozen=True)
class Problem:
    """One broken rule in one column of one table."""

    table: str
    column: str | None
    rule: str
    rows: tuple[int, ...]
    examples: tuple[str, ...] = ()
    as_of: str = ""
    severity: str = "error"  # or "warning": plausible data worth a look; loading goes on
    detail: str = ""  # fills {order} in a rule's text

    def message(self) -> str:
        """Return the readable line, e.g. ``transactions.amount: 3 rows ... (rows 4, 7); fix``.

        A warning on an id column quotes no values: warnings reach the overview report, which
        carries no personal data (errors stop the run and are only shown to whoever runs it).
        """
        what, fix = RULES.get(self.rule, (self.rule, "see data/README.md"))
        what, fix = what.format(as_of=self.as_of, order=self.detail), fix.format(table=self.table)
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.rule == "column_in_dataframe" and (self.table, self.column) == ("customers", "customer_id"):
            fix += ", or, when the file has no id column, set data.tables.customers.id: row_number"
        if self.rule in ("column_in_dataframe", "empty_table"):
            return f"{where}: {what}; {fix}."
        shown = ", ".join(str(r) for r in self.rows[:5]) + (", ..." if len(self.rows) > 5 else "")
        quoted = self.examples and not (self.severity == "warning" and self.column in ID_COLUMNS)
        examples = f"; e.g. {', '.join(repr(e) for e in self.examples[:3])}" if quoted else ""
        noun = "row" if len(self.rows) == 1 else "rows"
        return f"{where}: {len(self.rows)} {noun}: {what} (rows {shown}{examples}); {fix}."


def columns_schema(table: str, columns: list[str]) -> pa.DataFrameSchema:
    """Stage 1 schema: every required canonical column is present.

    Types are parsed in :func:`cxlib.data._parsing.parse_types` (vectorised): pandera's coercion reports
    failure cases by re-parsing every value one at a time, which takes minutes on a million rows.
    """
    pa = _pandera()

    spec = _columns_of(table, columns)
    return pa.DataFrameSchema(
        {name: pa.Column(nullable=True, required=True) for name, (_, req) in spec.items() if req}, name=table
    )


def type_problems(table: str, column: str, kind: str, raw: pd.Series, parsed: pd.Series) -> list[Problem]:
    """Rows whose raw value is present but could not be parsed as ``kind``."""
    failed = raw.notna() & parsed.isna()
    problems = []
    if kind == "number":
        infinite = parsed.isin([np.inf, -np.inf])
        if infinite.any():
            examples = tuple(dict.fromkeys(str(v) for v in raw[infinite].head(50)))[:3]
            rows = tuple(int(i) + 2 for i in raw.index[infinite])
            problems.append(Problem(table, column, "not_finite", rows, examples))
    if not failed.any():
        return problems
    rule = {"date": "coerce_date", "number": "coerce_number", "bool": "coerce_bool"}.get(kind, "coerce_text")
    examples = tuple(dict.fromkeys(str(v) for v in raw[failed].head(50)))[:3]
    return [*problems, Problem(table, column, rule, tuple(int(i) + 2 for i in raw.index[failed]), examples)]


def rules_schema(table: str, columns: list[str], customer_ids: pd.Index | None, as_of) -> pa.DataFrameSchema:
    """Stage 2 schema: value rules on typed data (ranges, uniqueness, references, dates)."""
    pa = _pandera()

    spec = _columns_of(table, columns)
    # a timestamp on the as-of day itself is not "after" it
    end_of_as_of = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1) if as_of is not None else None
    cols = {}
    for name, (kind, required) in spec.items():
        checks = []
        if kind == "date" and end_of_as_of is not None:
            checks.append(pa.Check(lambda s: s < end_of_as_of, name="not_after_as_of", ignore_na=True))
        if (
            name in ("customer_id", "referrer_id", "referred_id")
            and table != "customers"
            and customer_ids is not None
        ):
            checks.append(pa.Check(lambda s: s.isin(customer_ids), name="known_customer", ignore_na=True))
        # custom checks (not pandera's built-ins) so failure cases carry our rule names
        if name == "nps":
            checks.append(pa.Check(lambda s: s.between(0, 10), name="nps_range", ignore_na=True))
        if name == "csat":
            checks.append(pa.Check(lambda s: s.between(1, 5), name="csat_range", ignore_na=True))
        if name.startswith(RATING_PREFIX):
            checks.append(pa.Check(lambda s: s >= 0, name="rating_range", ignore_na=True))
        if name == "wait_minutes":
            checks.append(pa.Check(lambda s: s >= 0, name="non_negative", ignore_na=True))
        if table == "transactions" and name in ("amount", "margin"):
            checks.append(pa.Check(lambda s: s.abs() < AMOUNT_LIMIT, name="amount_limit", ignore_na=True))
        if name == "group":
            checks.append(
                pa.Check(lambda s: s.isin(["treatment", "control"]), name="group_values", ignore_na=True)
            )
        cols[name] = pa.Column(
            nullable=not required,
            unique=(table == "customers" and name == "customer_id"),
            checks=checks,
            required=False,
        )
    frame_checks = []
    if table == "transactions":
        frame_checks.append(pa.Check(_refund_rule, name="negative_not_refund"))
    if table == "customers" and "churn_date" in columns:
        frame_checks.append(
            pa.Check(lambda df: ~(df["churn_date"] < df["signup_date"]), name="churn_after_signup")
        )
    return pa.DataFrameSchema(cols, checks=frame_checks, name=table)


def _refund_rule(df: pd.DataFrame) -> pd.Series:
    """Negative amounts must be marked as refunds when the file says which rows are refunds.

    Without an ``is_refund`` column every negative amount is a refund (the loader derives the
    flag from the sign), so nothing can contradict it.
    """
    if "is_refund" not in df:
        return pd.Series(True, index=df.index)
    return ~((df["amount"] < 0) & ~df["is_refund"].fillna(False).astype(bool))


def _columns_of(table: str, columns: list[str]) -> dict[str, tuple[str, bool]]:
    spec = dict(CONTRACT[table])
    if table == "surveys":
        spec.update({c: ("number", False) for c in columns if c.startswith(RATING_PREFIX)})
    return spec


_FRAME_RULE_COLUMN = {"negative_not_refund": "amount", "churn_after_signup": "churn_date"}


def problems_from(err: pa.errors.SchemaErrors, table: str, as_of=None) -> list[Problem]:
    """Summarise pandera's failure cases into one :class:`Problem` per (column, rule)."""
    cases = err.failure_cases.copy()
    cases["rule"] = cases["check"].astype(str).map(_rule_name)
    cases = cases.dropna(subset=["rule"])
    # a whole-table check fails once per column of a failing row: report it once, on its own column
    frame_rule = cases["rule"].isin(list(_FRAME_RULE_COLUMN))
    cases.loc[frame_rule, "column"] = cases.loc[frame_rule, "rule"].map(_FRAME_RULE_COLUMN)
    problems = []
    for (column, rule), group in cases.groupby(["column", "rule"], dropna=False, sort=False):
        if rule == "column_in_dataframe":
            for missing in group["failure_case"].unique():
                problems.append(Problem(table, str(missing), rule, ()))
            continue
        rows = tuple(sorted({int(i) + 2 for i in group["index"].dropna()}))
        examples = tuple(dict.fromkeys(str(v) for v in group["failure_case"].dropna()))[:3]
        if rule in _FRAME_RULE_COLUMN:
            examples = ()
        problems.append(
            Problem(
                table,
                None if pd.isna(column) else str(column),
                rule,
                rows,
                examples,
                as_of=str(pd.Timestamp(as_of).date()) if as_of is not None else "",
            )
        )
    return problems


def _rule_name(check: str) -> str | None:
    if check.startswith("coerce_dtype"):
        kind = {"datetime64": "coerce_date", "float": "coerce_number", "bool": "coerce_bool"}
        return next((v for k, v in kind.items() if k in check), "coerce_text")
    if check.startswith("dtype("):
        return None  # a repeat of the coercion failure
    if check == "not_nullable" or check == "field_uniqueness" or check == "column_in_dataframe":
        return check
    base = check.split("(")[0]
    return base if base in RULES else check


def run_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame, table: str, as_of=None):
    """Validate ``frame`` lazily; return (validated frame or None, problems)."""
    pa = _pandera()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandera's own concat of failure cases
        try:
            return schema.validate(frame, lazy=True), []
        except pa.errors.SchemaErrors as err:
            return None, problems_from(err, table, as_of)
