"""Derived columns: expression trees the config writes in place of a file column name.

A mapping value under ``data.tables.<table>.columns`` is either the name of a column in the file
or a derivation. Derivations nest: every argument of an arithmetic operation is itself an
expression, so a tenure in years becomes a signup date with
``{months_before_as_of: {multiply: [Tenure, 12]}}``.

An expression is

- a column name (text), read as a number inside arithmetic;
- a number (``12``, ``0.5``);
- ``{multiply: [a, b, ...]}``, ``{add: [a, b, ...]}``: product or sum of two or more expressions;
- ``{divide: [a, b]}``, ``{subtract: [a, b]}``: ``a / b`` and ``a - b``;
- ``{months_before_as_of: a}``, ``{days_before_as_of: a}``: the date that many months (days)
  before ``analysis.as_of`` (outermost only: the result is a date);
- ``{startswith: [column, prefix]}``: yes where the text column starts with the prefix
  (outermost only);
- ``{value: constant}``: the same value on every row (outermost only).

:func:`derivation_problem` checks a tree and says what the config can write;
:func:`derivation_columns` lists the file columns it reads; :func:`derive_column` computes it.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Tenure": [1, 2.5]})
>>> derive_column(raw, {"months_before_as_of": {"multiply": ["Tenure", 12]}}, "x", "2025-12-31").tolist()
[Timestamp('2024-12-31 00:00:00'), Timestamp('2023-06-30 00:00:00')]
"""

from __future__ import annotations

import difflib
import numbers

import numpy as np
import pandas as pd

from cxlib.features._time import DAYS_PER_MONTH

#: Arithmetic operations (any depth) and the arguments they take.
ARITHMETIC = {
    "multiply": "two or more expressions, e.g. {multiply: [Quantity, UnitPrice]}",
    "add": "two or more expressions, e.g. {add: [Fee, Charges]}",
    "subtract": "two expressions, e.g. {subtract: [Gross, Discount]}",
    "divide": "two expressions, e.g. {divide: [TotalCharges, MonthlyCharges]}",
}
#: Operations allowed only as the whole mapping value (their result is not a number).
OUTERMOST = {
    "months_before_as_of": "an expression in months, e.g. {months_before_as_of: tenure} or "
    "{months_before_as_of: {multiply: [Tenure, 12]}} for a tenure in years",
    "days_before_as_of": "an expression in days, e.g. {days_before_as_of: DaysSinceSignup}",
    "startswith": "a column and a prefix, e.g. {startswith: [InvoiceNo, C]}",
    "value": "a constant, e.g. {value: 0}",
}
#: Every operation, with what it expects (shown in error messages).
DERIVATIONS = {**ARITHMETIC, **OUTERMOST}

#: Average days in a month, for the fractional part of ``months_before_as_of``: the suite's one
#: constant (a plain number in a module that imports only pandas, so the data layer may use it).
_DAYS_PER_MONTH = DAYS_PER_MONTH


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def derivations_help() -> str:
    """What a mapping value can be, in one sentence (ends every derivation problem)."""
    forms = "; ".join(f"{{{op}: ...}} takes {what}" for op, what in DERIVATIONS.items())
    return (
        "a mapping value is a column name or a derivation; inside arithmetic, an expression is a column "
        f"name, a number or another arithmetic operation. {forms}"
    )


def derivation_problem(expression, outermost: bool = True) -> str | None:
    """Why ``expression`` is not a derivation the loader can compute, or None when it is.

    Parameters
    ----------
    expression : object
        A mapping value (or a sub-expression) from the config.
    outermost : bool
        Whether it is the whole mapping value (dates, prefixes and constants are allowed only there).

    Returns
    -------
    str or None
        A message naming the operation, what it expects and what was given, followed by the
        forms the config can write.

    Examples
    --------
    >>> derivation_problem({"multiply": ["Tenure", 12]}) is None
    True
    >>> derivation_problem({"power": ["Tenure", 2]}).split(";")[0]
    "unknown derivation 'power' (allowed: multiply, add, subtract, divide, months_before_as_of, days_before_as_of, startswith, value)"
    """
    why = _problem(expression, outermost)
    return None if why is None else f"{why}; {derivations_help()}"


def _problem(expression, outermost: bool) -> str | None:
    if isinstance(expression, str):
        return None if expression else "an empty column name"
    if _is_number(expression):
        return None
    if not isinstance(expression, dict):
        return f"expected a column name, a number or a derivation, got {expression!r}"
    if len(expression) != 1:
        return f"a derivation has exactly one operation, got {expression!r}"
    ((op, args),) = expression.items()
    if op not in DERIVATIONS:
        close = difflib.get_close_matches(str(op), list(DERIVATIONS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(DERIVATIONS)}"
        return f"unknown derivation '{op}' ({hint})"
    if op in OUTERMOST and not outermost:
        gives = "a date" if op.endswith("as_of") else "no number"
        return f"{op} gives {gives}: it can only be the whole mapping value, not part of arithmetic"
    if op in ARITHMETIC:
        at_least = 2
        exact = op in ("subtract", "divide")
        if not isinstance(args, list) or len(args) < at_least or (exact and len(args) != 2):
            return f"{op} expects {ARITHMETIC[op]}, got {args!r}"
        for arg in args:
            why = _problem(arg, outermost=False)
            if why:
                return f"in {op}: {why}"
        return None
    if op in ("months_before_as_of", "days_before_as_of"):
        why = _problem(args, outermost=False) if not isinstance(args, list) else "a list"
        return None if why is None else f"{op} expects {OUTERMOST[op]}, got {args!r} ({why})"
    if op == "startswith":
        ok = isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)
        return None if ok else f"startswith expects {OUTERMOST[op]}, got {args!r}"
    return None if not isinstance(args, list | dict) else f"value expects {OUTERMOST[op]}, got {args!r}"


def derivation_columns(expression) -> list[str]:
    """The file columns a mapping value reads (a column name, or every column name in a derivation).

    Examples
    --------
    >>> derivation_columns({"months_before_as_of": {"divide": ["Days", {"add": ["A", 1]}]}})
    ['Days', 'A']
    """
    if isinstance(expression, str):
        return [expression]
    if not isinstance(expression, dict) or len(expression) != 1:
        return []
    ((op, args),) = expression.items()
    if op == "value":
        return []
    if op == "startswith":
        return [args[0]]
    found: list[str] = []
    for arg in args if isinstance(args, list) else [args]:
        found.extend(c for c in derivation_columns(arg) if c not in found)
    return found


def _numbers(raw: pd.DataFrame, expression) -> pd.Series:
    """Evaluate an arithmetic expression to numbers (a value that is not a number becomes missing)."""
    if isinstance(expression, str):
        return pd.to_numeric(raw[expression], errors="coerce")
    if _is_number(expression):
        return pd.Series(expression, index=raw.index)
    ((op, args),) = expression.items()
    values = [_numbers(raw, arg) for arg in args]
    result = values[0]
    for value in values[1:]:
        if op == "multiply":
            result = result * value
        elif op == "add":
            result = result + value
        elif op == "subtract":
            result = result - value
        else:  # divide: a zero divisor gives a missing value, not infinity
            result = result / value.where(value != 0)
    return result


def derive_column(raw: pd.DataFrame, expression: dict, where: str, as_of=None) -> pd.Series:
    """Compute a derived column (see the module docstring for the forms).

    Parameters
    ----------
    raw : DataFrame
        The file as read (never modified).
    expression : dict
        A derivation checked by :func:`derivation_problem`.
    where : str
        ``table.column``, named in errors.
    as_of : date-like, optional
        ``analysis.as_of``; needed by ``months_before_as_of`` and ``days_before_as_of``.

    Returns
    -------
    Series
        Numbers, dates, yes/no values or a constant, indexed like ``raw``. Whole months are
        counted back by calendar month (as before); a fractional part of a month adds that share
        of an average month (:data:`cxlib.features.DAYS_PER_MONTH` days).
    """
    ((op, args),) = expression.items()
    if op in ("months_before_as_of", "days_before_as_of"):
        if as_of is None:
            raise ValueError(f"{where}: {op} needs analysis.as_of in the config")
        amounts = _numbers(raw, args)
        base = pd.Timestamp(as_of)
        if op == "days_before_as_of":
            return base - pd.to_timedelta(amounts, unit="D")
        dates = []
        for amount in amounts:
            if not np.isfinite(amount):
                dates.append(pd.NaT)
                continue
            whole = int(amount)
            rest = pd.Timedelta(days=(amount - whole) * _DAYS_PER_MONTH)
            dates.append(base - pd.DateOffset(months=whole) - rest)
        return pd.Series(dates, index=raw.index, dtype="datetime64[ns]")
    if op in ARITHMETIC:
        return _numbers(raw, expression)
    if op == "startswith":
        column, prefix = args
        return raw[column].astype(str).str.startswith(str(prefix))
    if op == "value":
        return pd.Series(args, index=raw.index)
    raise ValueError(f"{where}: unknown derivation '{op}'; {derivations_help()}")


#: Units a tenure column may be in, and the derivation that turns it into a signup date.
TENURE_UNITS = {
    "days": ("days_before_as_of", 1),
    "weeks": ("days_before_as_of", 7),
    "months": ("months_before_as_of", 1),
    "years": ("months_before_as_of", 12),
}


def tenure_derivation(tenure: dict) -> dict:
    """The signup-date derivation a ``tenure: {column, unit}`` entry stands for.

    Examples
    --------
    >>> tenure_derivation({"column": "Tenure", "unit": "years"})
    {'months_before_as_of': {'multiply': ['Tenure', 12]}}
    >>> tenure_derivation({"column": "tenure", "unit": "months"})
    {'months_before_as_of': 'tenure'}
    """
    op, factor = TENURE_UNITS[tenure.get("unit", "months")]
    column = tenure["column"]
    return {op: column if factor == 1 else {"multiply": [column, factor]}}
