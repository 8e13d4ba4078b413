"""Reader-facing sentences shared by every capability's report module."""

from __future__ import annotations

import pandas as pd

from cxlib.report._safe_text import md_text
from cxlib.stats._suppression import pooled_groups

MAX_NAMED = 5


def describe_pooling(table: pd.DataFrame) -> str:
    """A sentence saying which small groups of a table were pooled (empty when none were).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`attribute_mix`, :func:`channel_mix` or :func:`touchpoint_volumes`.

    Returns
    -------
    str
        Markdown.
    """
    poolings = pooled_groups(table)
    if not poolings:
        return ""
    parts = []
    for pooling in poolings:  # names come from the data: escaped, and at most five of them
        where = f" among {md_text(pooling.within.replace('_', ' '))} events" if pooling.within else ""
        what = md_text(pooling.column.replace("_", " ")) or "group"
        names = ", ".join(f"'{md_text(g)}'" for g in pooling.groups[:MAX_NAMED])
        if len(pooling.groups) > MAX_NAMED:
            names += f" and {len(pooling.groups) - MAX_NAMED:,} more"
        parts.append(f"{what} {names}{where} form '{md_text(pooling.label)}' ({pooling.size:,} customers)")
    return (
        f"*Groups with fewer than {poolings[0].min_size} customers are pooled, with the next smallest "
        "group when needed, so that no small group's figures can be worked out from the totals: "
        + "; ".join(parts)
        + ".*"
    )


#: Long group tables show at most this many groups (the largest and the most different).
MAX_GROUPS = 12


def groups_to_show(table: pd.DataFrame, value: str, size: str, max_groups: int = MAX_GROUPS) -> pd.DataFrame:
    """The rows of a long group table worth showing: the largest groups and the most different.

    Half of ``max_groups`` go to the largest groups (by ``size``), the rest to the groups whose
    ``value`` is furthest from the size-weighted mean of all groups; the table's own order is kept.
    A table of at most ``max_groups`` rows is returned whole.

    Examples
    --------
    >>> table = pd.DataFrame({"n": range(20, 0, -1), "rate": [0.1] * 19 + [0.9]})
    >>> groups_to_show(table, "rate", "n", max_groups=4).index.tolist()
    [0, 1, 2, 19]
    """
    if len(table) <= max_groups:
        return table
    largest = table[size].astype(float).nlargest(max_groups // 2).index
    weights = table[size].astype(float).fillna(0)
    values = table[value].astype(float)
    known = values.notna() & (weights > 0)
    mean = float((values[known] * weights[known]).sum() / max(weights[known].sum(), 1e-12))
    distance = (values - mean).abs().drop(largest).dropna()
    different = distance.sort_values(ascending=False, kind="stable").index[: max_groups - len(largest)]
    return table.loc[[i for i in table.index if i in set(largest) | set(different)]]


def all_equal(values: pd.Series, decimals: int = 3) -> bool:
    """Whether every known value is the same once rounded (a column worth one sentence, not a table).

    Examples
    --------
    >>> all_equal(pd.Series([1.0, 1.0, 0.99999])), all_equal(pd.Series([0.5, 0.6]))
    (True, False)
    """
    known = values.dropna().astype(float).round(decimals)
    return len(values) > 1 and known.nunique() == 1 and len(known) == len(values)


def describe_hidden_groups(shown: int, total: int, variable: str) -> str:
    """A sentence saying how many groups of a long table are not shown, and which are (Markdown).

    ``variable`` names the grouping (escaped here).

    Examples
    --------
    >>> describe_hidden_groups(12, 51, "State")
    '*39 of 51 State groups are not shown: the table keeps the 6 largest and the 6 most different.*'
    """
    if shown >= total:
        return ""
    largest = shown // 2
    return (
        f"*{total - shown:,} of {total:,} {md_text(variable)} groups are not shown: the table keeps the "
        f"{largest} largest and the {shown - largest} most different.*"
    )


#: How :func:`tables_read` names the rows of each input table, in the order it lists them.
TABLE_NOUNS = {
    "customers": "customers",
    "transactions": "transaction rows",
    "interactions": "service interactions",
    "surveys": "survey answers",
    "programme": "programme members",
    "referrals": "referrals",
}


def tables_read(data, tables=tuple(TABLE_NOUNS)) -> str:
    """The input tables a report reads, with their sizes: "3,421 customers, 61,752 transaction rows".

    Parameters
    ----------
    data : CustomerData
    tables : sequence of str
        The tables to name, in order (absent ones are left out).
    """
    # a run's saved tables know their rows from the Parquet footer: no table is read to be counted
    rows = getattr(data.tables, "rows", None)
    count = (lambda t: rows(t)) if rows is not None else (lambda t: len(data[t]))
    return ", ".join(f"{count(t):,} {TABLE_NOUNS[t]}" for t in tables if data.has(t))
