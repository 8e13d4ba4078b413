"""Reading and type-checking the YAML config: a strict YAML loader, the rules the schema uses, table entries.

The loader rejects a key given twice in one mapping (YAML would silently keep the later one, so
``plan: Plan`` then ``plan: Region`` would analyse the wrong column) and does not turn dates into
Python dates itself: ``as_of: 2025-31-12`` stays text, so the config can say what is wrong with
it instead of YAML's date parser raising. The rules here (``_integer``, ``_number``, ``_choice``,
...) are what :mod:`cxlib.data._config_schema` declares for each key: each returns whether a value
passes and what it expected, in words, so every message names the key, what was expected and
what was received.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
from typing import Any

import yaml

from cxlib.data._contract import CONTRACT, RATING_PREFIX
from cxlib.data._derivations import TENURE_UNITS, derivation_problem

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and leaves dates as text."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        self.flatten_mapping(node)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key '{key}' is given twice in one mapping (lines {seen[key]} and {line}); "
                    "YAML would silently keep only the last one: delete one of them",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def strict_yaml_load(text: str) -> Any:
    """Parse YAML text with :class:`StrictLoader`.

    Parameters
    ----------
    text : str
        YAML document.

    Returns
    -------
    object
        Plain Python values; dates stay as text.

    Raises
    ------
    yaml.YAMLError
        On a syntax error or a duplicate key (the message names key and lines).

    Examples
    --------
    >>> strict_yaml_load("as_of: 2025-12-31")
    {'as_of': '2025-12-31'}
    """
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def parse_date(value: Any) -> tuple[dt.date | None, str]:
    """Read a config date; return (date, "") or (None, why it is not a date)."""
    if isinstance(value, dt.datetime):
        return value.date(), ""
    if isinstance(value, dt.date):
        return value, ""
    try:
        return dt.date.fromisoformat(str(value).strip()), ""
    except ValueError as err:
        reason = str(err)
        return None, "" if reason.startswith("Invalid isoformat") else f" ({reason})"


def _integer(low: int | None = None, high: int | None = None, optional: bool = False):
    span = (
        f" between {low} and {high}"
        if low is not None and high is not None
        else (f" >= {low}" if low is not None else "")
    )
    expected = f"a whole number{span}" + (" or null" if optional else "")

    def check(value):
        if value is None and optional:
            return True, expected
        return (
            _is_int(value) and (low is None or value >= low) and (high is None or value <= high)
        ), expected

    return check


def _number(low: float, high: float | None = None, *, open_low=False, open_high=False):
    lo = "(" if open_low else "["
    hi = ")" if open_high else "]"
    expected = (
        f"a number in {lo}{low}, {high}{hi}"
        if high is not None
        else f"a number {'>' if open_low else '>='} {low}"
    )

    def check(value):
        if not _is_number(value):
            return False, expected
        above = value > low if open_low else value >= low
        below = high is None or (value < high if open_high else value <= high)
        return above and below, expected

    return check


def _text(optional: bool = False):
    expected = "text" + (" or null" if optional else "")

    def check(value):
        ok = (value is None and optional) or (isinstance(value, str) and value.strip() != "")
        return ok, expected

    return check


def _list_of_text(optional: bool = False, comma_text: bool = False):
    expected = "a list of column names" + (" or null" if optional else "")

    def check(value):
        if value is None:
            return optional, expected
        if comma_text and isinstance(value, str):  # papermill -p features "a,b"
            return True, expected
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value), expected

    return check


def _mapping():
    def check(value):
        return isinstance(value, dict), "a mapping (key: value)"

    return check


def _k_range(value):
    expected = "two whole numbers [low, high] with 2 <= low <= high"
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_is_int(v) for v in value)
        and 2 <= value[0] <= value[1]
    )
    return ok, expected


def _list_of_numbers():
    expected = "a list of numbers (e.g. [0] or [0, 99])"

    def check(value):
        ok = isinstance(value, list) and all(_is_number(v) for v in value)
        return ok, expected

    return check


def _assumption(low: float | None = None, high: float | None = None, optional: bool = True):
    """A number, or a range [low, most likely, high] in increasing order (an assumption with its range)."""
    bounds = f" between {low:g} and {high:g}" if low is not None and high is not None else ""
    expected = f"a number or [low, most likely, high] in increasing order{bounds}" + (
        " or null" if optional else ""
    )

    def inside(v) -> bool:
        return (low is None or v >= low) and (high is None or v <= high)

    def check(value):
        if value is None:
            return optional, expected
        if _is_number(value):
            return inside(value), expected
        ok = (
            isinstance(value, list)
            and len(value) == 3
            and all(_is_number(v) and inside(v) for v in value)
            and value[0] <= value[1] <= value[2]
        )
        return ok, expected

    return check


def _what_ifs():
    """Null, or a list of {driver: name, change: number} mappings (the friction what-ifs)."""
    expected = "null or a list of {driver: <name>, change: <number>}"

    def check(value):
        if value is None:
            return True, expected
        ok = isinstance(value, list) and all(
            isinstance(v, dict)
            and set(v) == {"driver", "change"}
            and isinstance(v["driver"], str)
            and _is_number(v["change"])
            for v in value
        )
        return ok, expected

    return check


def _choice(*allowed):
    def check(value):
        return value in allowed, f"one of {', '.join(allowed)}"

    return check


def _check_segment_names(names: dict, problems: list[str]) -> None:
    """``segmentation.names`` maps a segment number to the name reports show."""
    for key, name in names.items():
        if not _is_int(key) or not isinstance(name, str):
            problems.append(
                f"segmentation.names: expected segment number: name (e.g. 1: Loyal regulars), "
                f"got {key!r}: {name!r}"
            )


def _check_exclusions(exclusions: Any, problems: list[str]) -> None:
    """``segmentation.exclude_transactions`` maps a column to a list of values (text or numbers).

    A single value must still be a list: ``{channel: app}`` would be read letter by letter.
    """
    if not isinstance(exclusions, dict):
        return  # reported by the key's rule
    for column, excluded in exclusions.items():
        scalars = isinstance(excluded, list) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in excluded
        )
        if not scalars:
            problems.append(
                f"segmentation.exclude_transactions.{column}: expected a list of values to leave out, e.g. "
                f"{{{column}: [{excluded if isinstance(excluded, str | int | float) else 'value'}]}}, got "
                f"{excluded!r} ({_kind(excluded)}); write even a single value as a list in brackets"
            )


def _check_feature_labels(labels: dict, problems: list[str]) -> None:
    """``labels.features`` maps a feature name to the label reports show."""
    for feature, label in labels.items():
        if not isinstance(feature, str) or not isinstance(label, str) or not label.strip():
            problems.append(
                f"labels.features: expected feature: label (text), e.g. "
                f'number_customer_service_calls: "Service calls", got {feature!r}: {label!r}'
            )


def _check_level_labels(levels: dict, problems: list[str]) -> None:
    """``labels.levels`` maps a feature to {level: label of the term ``feature: level``}."""
    for feature, by_level in levels.items():
        if not isinstance(by_level, dict) or not by_level:
            problems.append(
                f"labels.levels.{feature}: expected a mapping of level: label, e.g. "
                f'{{international_plan: {{"yes": "International plan"}}}}, got {by_level!r} ({_kind(by_level)})'
            )
            continue
        for level, label in by_level.items():
            if isinstance(level, bool):
                problems.append(f"labels.levels.{feature}: {level!r}: {_YAML_BOOL}")
            elif not (isinstance(level, str) or _is_number(level)) or not isinstance(label, str):
                problems.append(
                    f"labels.levels.{feature}: expected level: label (text), got {level!r}: {label!r}"
                )


# ---- table entries ------------------------------------------------------------------------------------


def _is_canonical(table: str, name: str) -> bool:
    return name in CONTRACT[table] or (table == "surveys" and str(name).startswith(RATING_PREFIX))


def check_table_entry(name: str, spec: dict, problems: list[str]) -> None:
    """Check the values of one ``data.tables`` entry (its keys are checked by the caller)."""
    where = f"data.tables.{name}"
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        problems.append(
            f"{where}.columns: expected a mapping of canonical name: your column, got {columns!r}"
        )
        columns = {}
    sources: dict[str, list[str]] = {}
    for canonical, source in columns.items():
        if not _is_canonical(name, canonical):
            allowed = list(CONTRACT[name])
            close = difflib.get_close_matches(str(canonical), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"the {name} contract has {', '.join(allowed)}"
            problems.append(
                f"{where}.columns.{canonical}: not a column of the {name} contract ({hint}); extra columns "
                "are kept under their own names without a mapping"
            )
        if isinstance(source, dict):
            why = derivation_problem(source)
            if why:
                problems.append(f"{where}.columns.{canonical}: {why}")
        elif isinstance(source, str) and source:
            sources.setdefault(source, []).append(str(canonical))
        else:
            problems.append(
                f"{where}.columns.{canonical}: expected the name of a column in the file, got {source!r}"
            )
    for source, fields in sources.items():
        if len(fields) > 1:
            problems.append(
                f"{where}.columns: column '{source}' is mapped to {len(fields)} fields "
                f"({', '.join(fields)}); each contract field needs its own column: fix all but one"
            )
    _check_table_options(name, spec, where, problems)


def _check_table_options(name: str, spec: dict, where: str, problems: list[str]) -> None:
    if spec.get("path") is not None and not isinstance(spec["path"], str):
        problems.append(f"{where}.path: expected a file path (text), got {spec['path']!r}")
    sheet = spec.get("sheet")
    if sheet is not None and not (isinstance(sheet, str) or _is_int(sheet)):
        problems.append(f"{where}.sheet: expected a sheet name or number, got {sheet!r}")
    date_format = spec.get("date_format")
    if date_format is not None and not (isinstance(date_format, str) and "%" in date_format):
        problems.append(
            f'{where}.date_format: expected a strftime format such as "%d/%m/%Y", got {date_format!r}'
        )
    encoding = spec.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            problems.append(
                f"{where}.encoding: '{encoding}' is not a text encoding Python knows "
                "(e.g. utf-8, latin-1, cp1252)"
            )
    separator = spec.get("separator")
    if separator is not None and not (isinstance(separator, str) and len(separator) == 1):
        problems.append(f"{where}.separator: expected one character such as ';' or '\\t', got {separator!r}")
    true_values = spec.get("true_values")
    if true_values is not None and not (
        isinstance(true_values, dict) and all(isinstance(v, list) for v in true_values.values())
    ):
        problems.append(
            f"{where}.true_values: expected column: [values read as yes], e.g. {{is_refund: [refund]}}, "
            f"got {true_values!r}"
        )
    drop_missing = spec.get("drop_missing")
    if drop_missing is not None:
        if not isinstance(drop_missing, list):
            problems.append(
                f"{where}.drop_missing: expected a list of canonical columns, got {drop_missing!r}"
            )
        else:
            for column in drop_missing:
                if not _is_canonical(name, column):
                    problems.append(
                        f"{where}.drop_missing: '{column}' is not a column of the {name} contract "
                        f"({', '.join(CONTRACT[name])})"
                    )
    _check_recode(name, spec.get("recode"), where, problems)
    _check_generated_id(name, spec, where, problems)
    _check_tenure(name, spec, where, problems)
    from_transactions = spec.get("from_transactions")
    if from_transactions not in (None, False, True):
        problems.append(f"{where}.from_transactions: expected true or false, got {from_transactions!r}")
    elif from_transactions and name != "customers":
        problems.append(f"{where}.from_transactions: only the customers table can be built from transactions")


_YAML_BOOL = "YAML reads unquoted yes/no/true/false/on/off as a yes/no value: quote it, e.g. 'yes'"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str) or _is_number(value)


def _check_recode(name: str, recode: Any, where: str, problems: list[str]) -> None:
    """``recode`` maps a column to {value in the file: value to read instead}."""
    if recode is None:
        return
    example = '{PaymentMode: {COD: "Cash on Delivery"}}'
    if not isinstance(recode, dict):
        problems.append(
            f"{where}.recode: expected column: {{value in the file: value to read instead}}, e.g. {example}, "
            f"got {recode!r} ({_kind(recode)})"
        )
        return
    for column, mapping in recode.items():
        if not isinstance(mapping, dict) or not mapping:
            problems.append(
                f"{where}.recode.{column}: expected a mapping of value in the file: value to read instead, "
                f"e.g. {example}, got {mapping!r} ({_kind(mapping)})"
            )
            continue
        for old, new in mapping.items():
            if isinstance(old, bool) or isinstance(new, bool):
                problems.append(f"{where}.recode.{column}: {old!r}: {new!r}: {_YAML_BOOL}")
            elif not _is_scalar(old) or not (new is None or _is_scalar(new)):
                problems.append(
                    f"{where}.recode.{column}: expected text or numbers (null = missing), got {old!r}: {new!r}"
                )


def _check_generated_id(name: str, spec: dict, where: str, problems: list[str]) -> None:
    """``id: row_number`` numbers the rows of a customers file that has no id column."""
    generated = spec.get("id")
    if generated is None:
        return
    if generated != "row_number":
        problems.append(f"{where}.id: expected row_number or null, got {generated!r} ({_kind(generated)})")
    elif name != "customers":
        problems.append(
            f"{where}.id: only the customers table can number its rows; the {name} table's customer_id "
            "must name customers, so map it under columns"
        )
    elif "customer_id" in (spec.get("columns") or {}):
        problems.append(f"{where}.id: row_number and columns.customer_id both give the id; keep one of them")


def _check_tenure(name: str, spec: dict, where: str, problems: list[str]) -> None:
    """``tenure: {column: Tenure, unit: years}`` derives the signup date of a customers table."""
    tenure = spec.get("tenure")
    if tenure is None:
        return
    units = ", ".join(TENURE_UNITS)
    example = "{column: Tenure, unit: years}"
    if name != "customers":
        problems.append(f"{where}.tenure: only the customers table has a tenure (it gives signup_date)")
    elif not isinstance(tenure, dict) or not isinstance(tenure.get("column"), str) or not tenure["column"]:
        problems.append(f"{where}.tenure: expected {example}, got {tenure!r} ({_kind(tenure)})")
    elif set(tenure) - {"column", "unit"}:
        extra = ", ".join(map(str, sorted(set(tenure) - {"column", "unit"}, key=str)))
        problems.append(f"{where}.tenure: unknown key {extra} (a tenure has column and unit, e.g. {example})")
    elif tenure.get("unit", "months") not in TENURE_UNITS:
        problems.append(f"{where}.tenure.unit: expected one of {units}, got {tenure['unit']!r}")
    elif "signup_date" in (spec.get("columns") or {}):
        problems.append(
            f"{where}.tenure: tenure and columns.signup_date both give the signup date; keep one of them"
        )
