"""The data contract's per-row rules and the loader's typing, written as DuckDB SQL over one input file.

:func:`table_plan` turns a configured table into one ``SELECT`` over its file that gives every
column in the type the pandas loader (:func:`cxlib.data._load.load_data_pandas`) gives it, plus,
per column, a small integer of flags (``__flag<i>``) saying which rule a row breaks, and a hash of
the whole typed row (``__row_hash``, for exact duplicates). The query streams and keeps the file's
row order, so a row's position is its row in the file.

Flags (bits of ``__flag<i>``):

:data:`UNPARSED`
    A value is present but does not parse (``coerce_date``, ``coerce_number``, ``coerce_bool``).
:data:`MISSING`
    A required column is empty (``not_nullable``).
:data:`RULE`
    A value rule of the contract fails: ``nps_range``, ``csat_range``, ``rating_range``,
    ``non_negative`` (waits), ``amount_limit``, ``group_values``.
:data:`FRAME_RULE`
    A rule across columns fails, flagged on the column the report names: ``negative_not_refund``
    (amount) and ``churn_after_signup`` (churn date).
:data:`FORMAT`
    A value the engine could read differently from pandas (``engine_format``): text, ids or yes/no
    words with spaces around them or empty quoted text, numbers other than plain decimals of at most
    15 characters (pandas' parser rounds longer ones differently in the last bit), dates other than
    ISO ``YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]`` (or the entry's ``date_format`` written with ``%Y``,
    ``%m``, ``%d``, ``%H``, ``%M``, ``%S``), extra CSV columns starting with a space. The loader
    does not judge such data itself: it hands it to the pandas loader.
:data:`FLOAT`
    Information, not a problem: a number that is not a whole number (pandas gives a column of whole
    numbers with no gaps the type int64).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cxlib.data._contract import AMOUNT_LIMIT, CONTRACT, RATING_PREFIX
from cxlib.data._parsing import _FALSE, _TRUE
from cxlib.engine._tables import NA_TEXT, EngineUnsupported

UNPARSED, MISSING, RULE, FRAME_RULE, FORMAT, FLOAT = 1, 2, 4, 8, 16, 32

#: Words that also mean "not a refund" in ``is_refund`` (as the pandas loader reads them).
_SALE_WORDS = frozenset({"sale", "purchase", "order"})

#: Code points Python's ``str.strip`` removes beyond ASCII (``\x85``, no-break and typographic spaces).
_UNICODE_SPACES = (133, 160, 5760, *range(8192, 8203), 8232, 8233, 8239, 8287, 12288)

#: Plain decimals pandas and DuckDB read to the same double (checked on millions of values: they
#: differ in the last bit from 16 significant digits on, and on exponents).
_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
#: Hours up to 23 only: DuckDB reads ``24:00:00`` as the next midnight, pandas refuses it.
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
#: ``date_format`` directives the engine reads (as DuckDB's ``strptime``), with their digits.
_DIRECTIVES = {
    "%Y": "[0-9]{4}",
    "%m": "[0-9]{2}",
    "%d": "[0-9]{2}",
    "%H": "[0-9]{2}",
    "%M": "[0-9]{2}",
    "%S": "[0-9]{2}",
}

#: Parquet column types the engine reads, as DuckDB names them.
_PARQUET_TYPES = ("VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP")


@dataclass
class ColumnPlan:
    """One output column: where it comes from, its kind, and how it is typed and checked."""

    name: str
    source: str
    kind: str  # id, text, bool, number, date, or extra (kept as the file has it)
    required: bool = False
    rules: list[str] = field(default_factory=list)  # rule names of the RULE and FRAME_RULE bits
    source_type: str = "VARCHAR"
    unit: str = "ns"  # the resolution pandas gives a Parquet time stamp column (its own)


@dataclass
class TablePlan:
    """The query over one file and what its columns are."""

    table: str
    sql: str
    columns: list[ColumnPlan]
    csv: bool


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def csv_source(path: Path, names: list[str], separator: str) -> str:
    """``read_csv`` over a text file as pandas reads it: every column text, pandas' words for missing.

    The dialect is given, not sniffed (the sniffer may guess another separator, or rows to skip);
    rows with too many or too few fields are errors (pandas pads short rows: the caller then uses
    the pandas loader).
    """
    columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    nulls = "[" + ", ".join(literal(v) for v in NA_TEXT) + "]"
    return (
        f"read_csv({literal(str(path))}, header = true, auto_detect = false, columns = {columns}, "
        f"delim = {literal(separator)}, quote = '\"', escape = '\"', nullstr = {nulls}, "
        "strict_mode = true, parallel = true)"
    )


def _is_space(code: str) -> str:
    unicode = " OR ".join(f"{code} = {c}" for c in _UNICODE_SPACES)
    return f"({code} <= 32 OR ({code} >= 133 AND ({unicode})))"


def spaced_sql(column: str) -> str:
    """SQL that is true for text that is empty or starts or ends with a space (as Python strips it).

    Each character code is computed more than once: meant for a few rows (the per-row checks use
    helper columns instead).
    """
    return f"({_is_space(f'ord({column})')} OR {_is_space(f'ord(right({column}, 1))')})"


def _bits(*flags: tuple[str, int]) -> str:
    parts = [f"(CASE WHEN {condition} THEN {bit} ELSE 0 END)" for condition, bit in flags]
    return "CAST(" + " | ".join(parts) + " AS UTINYINT)" if parts else "CAST(0 AS UTINYINT)"


def date_format_pattern(date_format: str) -> str:
    """The regular expression of the values ``date_format`` reads, or raise EngineUnsupported."""
    pattern, rest = "", date_format
    while rest:
        if rest[:2] in _DIRECTIVES:
            pattern, rest = pattern + _DIRECTIVES[rest[:2]], rest[2:]
        elif rest[0] == "%" or rest[0].isalnum():
            raise EngineUnsupported(f"date_format {date_format!r}: the engine reads %Y %m %d %H %M %S only")
        else:
            pattern, rest = pattern + re.escape(rest[0]), rest[1:]
    return pattern


@dataclass
class _Typing:
    """How one column is typed: helper values computed once per row, the typed value, format checks."""

    typed: str
    checks: list[tuple[str, int]] = field(default_factory=list)
    helpers: dict[str, str] = field(default_factory=dict)


def _spaced(raw: str, i: int) -> _Typing:
    """Flag text that is empty or starts or ends with a space (pandas strips what DuckDB keeps).

    The first and last characters' code points are helper columns, so each is computed once.
    """
    first, last = f"__first{i}", f"__last{i}"
    return _Typing(
        raw,
        [(f"({_is_space(first)} OR {_is_space(last)})", FORMAT)],
        {first: f"ord({raw})", last: f"ord(right({raw}, 1))"},
    )


def _typed(plan: ColumnPlan, raw: str, i: int, csv: bool, spec: dict) -> _Typing:
    """How column ``i`` is typed and which of its values the engine leaves to pandas."""
    kind, text = plan.kind, plan.source_type == "VARCHAR"
    if kind == "extra":
        if not (csv and text):
            return _Typing(raw)
        return _Typing(
            raw, [(f"(__first{i} = 32 OR __first{i} = -1)", FORMAT)], {f"__first{i}": f"ord({raw})"}
        )
    if kind in ("id", "text"):
        if text:
            return _spaced(raw, i)
        if kind == "id" and plan.source_type in ("BIGINT", "INTEGER"):
            return _Typing(f"CAST({raw} AS VARCHAR)")
        raise EngineUnsupported(f"{plan.name}: {kind} stored as {plan.source_type}")
    if kind == "bool":
        if plan.source_type == "BOOLEAN":
            return _Typing(raw)
        if plan.source_type not in ("VARCHAR", "BIGINT", "INTEGER", "DOUBLE"):
            raise EngineUnsupported(f"{plan.name}: yes/no values stored as {plan.source_type}")
        true_values = {str(v).lower() for v in (spec.get("true_values") or {}).get(plan.name, [])}
        if any(not word.isascii() for word in true_values):
            raise EngineUnsupported(f"{plan.name}: true_values other than plain ASCII words")
        low = f"__low{i}"
        cases = [f"WHEN {low} = {literal(w)} THEN true" for w in sorted(_TRUE | true_values)]
        if true_values:  # every other word is False
            cases.append(f"WHEN {low} IS NOT NULL THEN false")
        else:
            falses = _FALSE | (_SALE_WORDS if plan.name == "is_refund" else set())
            cases += [f"WHEN {low} = {literal(w)} THEN false" for w in sorted(falses)]
        typing = _spaced(raw, i) if text else _Typing(raw)
        typing.typed = f"(CASE {' '.join(cases)} END)"
        typing.helpers[low] = f"lower({raw})" if text else f"lower(CAST({raw} AS VARCHAR))"
        return typing
    if kind == "number":
        if plan.source_type == "DOUBLE":  # pandas reads NaN as missing; infinities are problems
            return _Typing(raw, [(f"(isnan({raw}) OR isinf({raw}))", FORMAT)])
        if not text:
            if plan.source_type not in ("BIGINT", "INTEGER"):
                raise EngineUnsupported(f"{plan.name}: numbers stored as {plan.source_type}")
            return _Typing(raw)
        plain = f"(length({raw}) > 15 OR NOT regexp_full_match({raw}, {literal(_NUMBER)}))"
        return _Typing(f"TRY_CAST({raw} AS DOUBLE)", [(plain, FORMAT), (f"contains({raw}, '.')", FLOAT)])
    if kind == "date":
        if not text and spec.get("date_format"):
            raise EngineUnsupported(f"{plan.name}: a date_format on dates stored as {plan.source_type}")
        if plan.source_type == "DATE":
            return _Typing(f"CAST({raw} AS TIMESTAMP)")
        if plan.source_type == "TIMESTAMP":
            return _Typing(raw)
        if not text:
            raise EngineUnsupported(f"{plan.name}: dates stored as {plan.source_type}")
        if spec.get("date_format"):  # pandas applies it to text only: other types are unsupported above
            pattern = date_format_pattern(spec["date_format"])
            typed = f"try_strptime({raw}, {literal(spec['date_format'])})"
        else:
            pattern, typed = _ISO_DATE, f"TRY_CAST({raw} AS TIMESTAMP)"
        return _Typing(typed, [(f"NOT regexp_full_match({raw}, {literal(pattern)})", FORMAT)])
    raise EngineUnsupported(f"{plan.name}: kind {kind}")


def _value_rule(table: str, name: str, typed: str) -> tuple[str, str] | None:
    """The contract's value rule on one typed column, as (rule name, condition for a failing row)."""
    if name == "nps":
        return "nps_range", f"NOT ({typed} BETWEEN 0 AND 10)"
    if name == "csat":
        return "csat_range", f"NOT ({typed} BETWEEN 1 AND 5)"
    if table == "surveys" and name.startswith(RATING_PREFIX):
        return "rating_range", f"{typed} < 0"
    if name == "wait_minutes":
        return "non_negative", f"{typed} < 0"
    if table == "transactions" and name in ("amount", "margin"):
        return "amount_limit", f"abs({typed}) >= {AMOUNT_LIMIT:.0f}"
    if name == "group":
        return "group_values", f"({typed} <> 'treatment' AND {typed} <> 'control')"
    return None


def kind_of(table: str, name: str) -> tuple[str, bool]:
    """(kind, required) of an output column; columns outside the contract are ``extra``."""
    if name in CONTRACT[table]:
        return CONTRACT[table][name]
    if table == "surveys" and name.startswith(RATING_PREFIX):
        return "number", False
    return "extra", False


def table_plan(
    table: str, source: str, columns: list[ColumnPlan], csv: bool, spec: dict, known: frozenset = frozenset()
) -> TablePlan:
    """The one query that types and checks ``table`` (see the module docstring).

    Parameters
    ----------
    table : str
        Canonical table name.
    source : str
        The SQL table function over the file (:func:`csv_source`, or ``read_parquet(...)``).
    columns : list of ColumnPlan
        Output columns in the pandas loader's order.
    csv : bool
        Whether the file is text (every raw value VARCHAR, pandas' reader rules apply).
    spec : dict
        The table's config entry (``true_values``, ``date_format``).
    known : frozenset of str
        Id columns whose every value is later matched exactly against the customers' ids (whose
        own spaces are checked): a spaced id cannot match, so its spaces are checked then, on the
        unmatched rows only.

    Returns
    -------
    TablePlan
    """
    # three steps, so each value is computed once per row: raw values and helpers (first and last
    # characters, lower case), then typed values and format flags, then the rules on typed values
    raws, helpers, typed, formats, rules = [], {}, [], [], []
    for i, plan in enumerate(columns):
        if not csv and plan.source_type not in _PARQUET_TYPES:
            raise EngineUnsupported(f"{table}.{plan.source}: Parquet type {plan.source_type}")
        raw = quote(plan.source)
        if raw not in raws:
            raws.append(raw)
        typing = _Typing(raw) if plan.name in known and plan.kind == "id" else _typed(plan, raw, i, csv, spec)
        helpers.update(typing.helpers)
        name = quote(plan.name)
        typed.append(f"{typing.typed} AS {name}")
        checks = list(typing.checks)
        checks_after = []
        if plan.kind in ("bool", "number", "date") and typing.typed != raw:
            typed.append(f"{raw} IS NOT NULL AS __present{i}")
            checks_after.append((f"__present{i} AND {name} IS NULL", UNPARSED))
        if plan.required:
            checks_after.append((f"{name} IS NULL", MISSING))
        rule = _value_rule(table, plan.name, name) if plan.kind != "extra" else None
        if rule:
            plan.rules.append(rule[0])
            checks_after.append((rule[1], RULE))
        formats.append(f"{_bits(*checks)} AS __format{i}")
        rules.append(checks_after)
    index = {plan.name: i for i, plan in enumerate(columns)}
    if table == "transactions" and "is_refund" in index:
        columns[index["amount"]].rules.append("negative_not_refund")
        rules[index["amount"]].append(('"amount" < 0 AND NOT coalesce("is_refund", false)', FRAME_RULE))
    churn = index.get("churn_date") if table == "customers" else None
    if churn is not None:
        columns[churn].rules.append("churn_after_signup")
        rules[churn].append(('"churn_date" < "signup_date"', FRAME_RULE))
    names = [quote(plan.name) for plan in columns]
    hashed = [
        f"(CASE WHEN {name} = 0 THEN 0.0 ELSE {name} END)" if plan.kind == "number" else name  # -0.0 is 0.0
        for name, plan in zip(names, columns, strict=True)
    ]
    flags = [f"__format{i} | {_bits(*checks)} AS __flag{i}" for i, checks in enumerate(rules)]
    step1 = f"SELECT {', '.join(raws + [f'{e} AS {h}' for h, e in helpers.items()])} FROM {source}"
    step2 = f"SELECT {', '.join(typed + formats)} FROM ({step1})"
    sql = f"SELECT {', '.join(names + flags)}, hash({', '.join(hashed)}) AS __row_hash FROM ({step2})"
    return TablePlan(table, sql, columns, csv)
