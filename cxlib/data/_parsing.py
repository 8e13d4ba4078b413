"""Give raw columns their canonical types: dates, numbers, yes/no values, ids and text.

Parsing is vectorised (pandera's coercion re-parses failing values one at a time: minutes on a
million rows); values that do not parse become missing and are reported as :class:`Problem` s,
so every problem in a table is listed at once. Dates: ISO 8601 first, timezones converted to
UTC, ``dd/mm`` versus ``mm/dd`` decided per column or reported as ambiguous (see
:func:`parse_types`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.data._contract import CONTRACT, RATING_PREFIX, Problem, type_problems

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


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
            parsed = _naive_utc(pd.to_datetime(column, format=spec["date_format"], errors="coerce", utc=True))
            frame[name] = parsed.astype(object).where(parsed.notna() | column.isna(), column)
        elif kind == "id" and column.dtype != object:
            frame[name] = column.astype("string").str.replace(r"\.0$", "", regex=True).astype(object)
        elif kind == "text" and column.dtype == object:
            frame[name] = column.str.strip().replace("", np.nan)
    return frame


#: Day and month numbers first (dd/mm/yyyy or mm/dd/yyyy, with / . or - between them).
_DAY_MONTH = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}(?:\D|$)"


def _naive_utc(parsed: pd.Series) -> pd.Series:
    """Timezone-aware times converted to UTC and made naive, so every date compares with every other."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


def _date_order(column: pd.Series) -> tuple[bool, pd.Index, pd.Index, pd.Index]:
    """Decide whether ``dd/mm`` or ``mm/dd`` values in a text column are day-first.

    Returns
    -------
    dayfirst : bool
        True when some value only reads day-first (its first number is above 12).
    ambiguous : Index
        Rows whose two readings differ, when no value decides the order (empty otherwise).
    impossible : Index
        Rows that do not fit the order the column was decided to have (a month above 12).
    decided : Index
        Rows whose two readings differ but which were read in the order other rows decided:
        plausible (one layout per column is the norm), worth a warning.
    """
    empty = pd.Index([])
    if column.dtype != object:
        return False, empty, empty, empty
    parts = column.str.extract(_DAY_MONTH).dropna().astype(int)
    if parts.empty:
        return False, empty, empty, empty
    first, second = parts[0], parts[1]
    both_ways = parts.index[(first <= 12) & (second <= 12) & (first != second)]
    if (first > 12).any():
        return True, empty, parts.index[second > 12], both_ways
    if (second > 12).any():
        return False, empty, empty, both_ways
    return False, both_ways, empty, empty


def _parse_dates(column: pd.Series, decide_order: bool = True) -> tuple[pd.Series, pd.Index, pd.Index, bool]:
    """Parse ISO 8601 first, other layouts after; return the dates (naive UTC) and doubtful rows.

    With ``decide_order``, values such as ``03/04/2024`` are read day-first for the whole column
    when any value only reads day-first, month-first when any value only reads month-first; when
    no value decides, the values whose readings differ become missing and are returned as
    ambiguous, so the caller can ask for ``date_format``. ISO dates (``2024-04-03``) are never
    ambiguous.

    Returns
    -------
    dates : Series
    ambiguous : Index
        Rows left missing because no value decides the order.
    decided : Index
        Rows that read both ways and were read in the order other rows decided.
    dayfirst : bool
        The order chosen.
    """
    empty = pd.Index([])
    if pd.api.types.is_datetime64_any_dtype(column):
        return _naive_utc(column), empty, empty, False
    parsed = pd.to_datetime(column, errors="coerce", format="ISO8601", utc=True)
    retry = column.notna() & parsed.isna()
    ambiguous = decided = empty
    dayfirst = False
    if retry.any():  # other layouts: parse only the few values ISO 8601 did not cover
        dayfirst, ambiguous, impossible, decided = (
            _date_order(column[retry]) if decide_order else (False, empty, empty, empty)
        )
        parsed[retry] = pd.to_datetime(
            column[retry], errors="coerce", format="mixed", utc=True, dayfirst=dayfirst
        )
        # the parser would swap day and month silently, or guess: report them instead
        for rows in (impossible, ambiguous):
            if len(rows):
                parsed.loc[rows] = pd.NaT
    return _naive_utc(parsed), ambiguous, decided, dayfirst


def _strip_ids(ids: pd.Series) -> tuple[pd.Series, pd.Index]:
    """Ids with spaces around them (a spreadsheet artefact), stripped; and the rows that had them."""
    text = ids.where(ids.notna(), None)
    stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    spaced = ids.index[(stripped != text) & ids.notna()]
    return stripped.where(stripped != "", None), spaced


def parse_types(
    frame: pd.DataFrame, table: str, date_format: str | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Give canonical columns their types; values that do not parse become missing and are reported.

    Without a configured ``date_format``, a date column whose ``dd/mm`` or ``mm/dd`` values read
    both ways (none has a number above 12) is reported as ambiguous rather than guessed.
    """
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
            parsed, ambiguous, decided, dayfirst = _parse_dates(raw, decide_order=date_format is None)
            if len(ambiguous):
                examples = tuple(dict.fromkeys(str(v) for v in raw[ambiguous[:50]]))[:3]
                rows = tuple(int(i) + 2 for i in ambiguous)
                problems.append(Problem(table, name, "ambiguous_date", rows, examples))
                raw = raw.where(~raw.index.isin(ambiguous))  # reported once, as ambiguous
            if len(decided):
                examples = tuple(dict.fromkeys(str(v) for v in raw[decided[:50]]))[:3]
                rows = tuple(int(i) + 2 for i in decided)
                order = "day-first" if dayfirst else "month-first"
                problems.append(
                    Problem(
                        table,
                        name,
                        "ambiguous_order_decided",
                        rows,
                        examples,
                        severity="warning",
                        detail=order,
                    )
                )
        elif kind == "number":
            parsed = pd.to_numeric(raw, errors="coerce")
        elif kind == "bool":
            parsed = raw.map(lambda v: v if isinstance(v, bool | np.bool_) else pd.NA).astype("boolean")
        else:
            parsed = raw.astype("string").astype(object).where(raw.notna(), None)
            if kind == "id":
                parsed, spaced = _strip_ids(parsed)
                if len(spaced):  # a warning reaches the overview report: row numbers only, no ids
                    rows = tuple(int(i) + 2 for i in spaced)
                    problems.append(Problem(table, name, "id_whitespace", rows, severity="warning"))
        problems.extend(type_problems(table, name, kind, raw, parsed))
        if kind == "number":  # infinite values are reported; they are not analysed
            parsed = parsed.where(~parsed.isin([np.inf, -np.inf]))
        frame[name] = parsed
    return frame, problems
