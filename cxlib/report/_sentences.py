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
