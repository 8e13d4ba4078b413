"""Per-table value recoding and generated ids: what a config says about an export's values.

``recode: {column: {"Mobile Phone": "Mobile", COD: "Cash on Delivery"}}`` merges spellings of
one level before anything is validated or analysed; ``id: row_number`` gives a customers file
without an id column one (each row's number as a spreadsheet shows it). Both are stated in the
data-health notes.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Device": ["Mobile Phone", "Mobile", None, "Computer"]})
>>> recoded, notes, problems = recode_values(raw, "customers", {"Device": {"Mobile Phone": "Mobile"}})
>>> recoded["Device"].tolist(), notes
(['Mobile', 'Mobile', None, 'Computer'], ["customers.Device: 1 value recoded ('Mobile Phone' read as 'Mobile': 1)"])
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

#: The only generated id so far: each row's number in the file.
ROW_NUMBER = "row_number"


def recode_values(
    raw: pd.DataFrame, table: str, recode: dict, columns: dict | None = None
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Replace spellings of a value by the one the analysis should see.

    Parameters
    ----------
    raw : DataFrame
        The file as read (not modified: a copy is returned).
    table : str
        Canonical table name, for notes and problems.
    recode : dict
        Column -> {value in the file: value to read instead}. The column is a column of the file
        or a canonical name mapped to one (``columns``); values are compared as text, with spaces
        around them ignored; ``null`` as the new value makes the value missing.
    columns : dict, optional
        The table's ``columns`` mapping (canonical name -> file column or derivation).

    Returns
    -------
    recoded : DataFrame
    notes : list of str
        One data-health note per column whose values changed, with the count per spelling.
    problems : list of str
        Recoded columns the file does not have (with the closest names it has).
    """
    recoded = raw.copy()
    notes: list[str] = []
    problems: list[str] = []
    plain = {k: v for k, v in (columns or {}).items() if isinstance(v, str)}
    for name, mapping in (recode or {}).items():
        column = name if name in raw else plain.get(name)
        if column not in raw:
            close = difflib.get_close_matches(str(name), [str(c) for c in raw.columns], n=3, cutoff=0.6)
            hint = f"closest: {', '.join(map(repr, close))}" if close else "check the spelling"
            problems.append(
                f"{table}.{name}: recode names a column the file does not have ({hint}); "
                f"fix data.tables.{table}.recode.{name} in the config."
            )
            continue
        values = raw[column]
        text = values.astype("string").str.strip()
        counts = []
        for old, new in mapping.items():
            hit = (text == str(old)).fillna(False).to_numpy()
            if hit.any():
                recoded.loc[hit, column] = np.nan if new is None else new
                counts.append(
                    f"{str(old)!r} read as {'missing' if new is None else repr(new)}: {int(hit.sum()):,}"
                )
        changed = sum(int(c.rsplit(": ", 1)[1].replace(",", "")) for c in counts)
        if changed:
            plural = "value" if changed == 1 else "values"
            notes.append(f"{table}.{name}: {changed:,} {plural} recoded ({'; '.join(counts)})")
    return recoded, notes, problems


def row_number_ids(raw: pd.DataFrame) -> pd.Series:
    """Ids for a file without one: each row's number as a spreadsheet shows it (the first data row is 2).

    Examples
    --------
    >>> row_number_ids(pd.DataFrame({"a": [5, 6]})).tolist()
    ['2', '3']
    """
    return pd.Series((np.arange(len(raw)) + 2).astype(str), index=raw.index, dtype=object)


def row_number_note(table: str, rows: int) -> str:
    """The data-health note that says the ids were generated."""
    return (
        f"{table}: the file has no id column; customer_id is each row's number in the file "
        f"(2 to {rows + 1:,}, as a spreadsheet shows them; id: row_number)"
    )
