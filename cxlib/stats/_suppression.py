"""Small-group privacy: the one place where reports decide what a small group may show.

A figure blanked for a small group is no protection when a reader can get it back by
subtraction: "3 customers on the kiosk channel" is blank in a table, yet the total shown in the
KPIs minus the other channels gives it away. Two rules, used by every table and chart of the
suite, keep suppressed figures underivable:

Pooling (preferred, :func:`pool_small_groups`)
    Before aggregating, groups with fewer than ``min_size`` customers are merged into one
    ``Other (n groups)`` group. When that pool is still below ``min_size`` (or holds a single
    group), the next smallest group joins it, until it covers at least ``min_size`` customers
    over at least two groups. Every figure of the table then describes a group of at least
    ``min_size`` customers, and totals minus shown rows give only the pool's figures, which
    are shown anyway. Figures of the pool are computed from the raw rows (means, rates,
    intervals), not added up from blanked cells.

Complementary suppression (:func:`suppress_small`)
    Where groups cannot be merged (fixed risk bands, clusters), the figures of every row below
    ``min_size`` are blanked, and further rows (smallest first) are blanked with them until the
    blanked rows are at least two and cover at least ``min_size`` customers. A reader who knows
    the total can then recover only the sum over the blanked rows, never one small row.

Examples
--------
>>> import pandas as pd
>>> plans = pd.Series(["basic"] * 50 + ["premium"] * 12 + ["trial"] * 3)
>>> pooled, pooling = pool_small_groups(plans, 10)
>>> sorted(pooled.unique())
['Other (2 groups)', 'basic']
>>> pooling.groups
('trial', 'premium')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Label of the pooled group; ``{n}`` is the number of groups it holds.
OTHER_LABEL = "Other ({n} groups)"


@dataclass(frozen=True)
class Pooling:
    """What :func:`pool_small_groups` merged.

    Attributes
    ----------
    groups : tuple of str
        The original groups merged into the pool, smallest first (empty: nothing was pooled).
    label : str
        The pooled group's label, e.g. ``Other (2 groups)``.
    size : int
        Customers (or rows) in the pool.
    min_size : int
        The threshold that was applied.
    column : str
        What the groups are (e.g. ``channel``), when known.
    within : str
        The part of the table the pooling applies to (e.g. the interaction kind), when pooled
        separately per part.
    small : tuple of str
        The merged groups that are below ``min_size`` on their own (the others joined so that the
        pool is not small).
    """

    groups: tuple[str, ...]
    label: str
    size: int
    min_size: int
    column: str = ""
    within: str = ""
    small: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups)

    def apply(self, labels: pd.Series) -> pd.Series:
        """Map ``labels`` (as text) onto the pooled labels learned here; other values pass through."""
        text = labels.astype("string").fillna("unknown").astype(object)
        if not self.groups:
            return text
        return text.where(~text.isin(self.groups), self.label)


def pool_small_groups(
    labels: pd.Series,
    min_size: int,
    units: pd.Series | None = None,
    other_label: str = OTHER_LABEL,
    column: str = "",
    within: str = "",
) -> tuple[pd.Series, Pooling]:
    """Merge groups smaller than ``min_size`` into one ``Other`` group that is not small.

    Parameters
    ----------
    labels : Series
        The group of each row (missing values become ``unknown``).
    min_size : int
        Smallest group that may be shown on its own.
    units : Series, optional
        What a group's size counts, aligned with ``labels`` (e.g. ``customer_id`` when rows are
        orders): a group's size is its number of distinct units. Default: rows.
    other_label : str
        Label of the pool; ``{n}`` is replaced by the number of groups merged.
    column, within : str
        Recorded on the returned :class:`Pooling` for the sentence that reports it.

    Returns
    -------
    pooled : Series
        ``labels`` as text with the merged groups replaced by the pool's label (same index).
    pooling : Pooling
        Which groups were merged and the pool's size; falsy when nothing was.

    Examples
    --------
    >>> pooled, pooling = pool_small_groups(pd.Series(["a"] * 30 + ["b"] * 2), 10)
    >>> pooling.label, pooling.size
    ('Other (2 groups)', 32)
    """
    text = labels.astype("string").fillna("unknown").astype(object)
    keys = units if units is not None else pd.Series(np.arange(len(text)), index=text.index)
    sizes = keys.groupby(text).nunique().sort_index(kind="stable").sort_values(kind="stable")
    pooled = [g for g, n in sizes.items() if n < min_size]
    small = tuple(str(g) for g in pooled)
    if not pooled:
        return text, Pooling((), "", 0, min_size, column, within)

    def pool_size(groups: list) -> int:
        return int(keys[text.isin(groups)].nunique())

    rest = [g for g in sizes.index if g not in pooled]
    # a pool of one group, or one still below the threshold, would reveal what it hides
    while rest and (len(pooled) < 2 or pool_size(pooled) < min_size):
        pooled.append(rest.pop(0))
    label = other_label.format(n=len(pooled))
    pooling = Pooling(
        tuple(str(g) for g in pooled), label, pool_size(pooled), min_size, column, within, small
    )
    return pooling.apply(text), pooling


def suppress_small(
    table: pd.DataFrame,
    count_column: str,
    min_size: int,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Blank the figures of small rows, and of enough other rows that none can be recovered.

    Every non-empty row counting fewer than ``min_size`` is blanked; then, while the blanked rows
    are fewer than two or cover fewer than ``min_size`` customers together, the smallest non-empty
    row still shown is blanked too (complementary suppression). Totals shown elsewhere then give away only
    the sum over the blanked rows.

    Parameters
    ----------
    table : DataFrame
        One row per group; not modified.
    count_column : str
        Customers per row.
    min_size : int
        Smallest group whose figures may be shown.
    columns : list of str, optional
        Columns to blank; default every numeric column (the count included).

    Returns
    -------
    DataFrame
        A copy with blanked figures as NaN (blanked columns become float).

    Examples
    --------
    >>> table = pd.DataFrame({"customers": [500, 40, 3], "revenue": [9e3, 800.0, 12.0]})
    >>> suppress_small(table, "customers", 10)["revenue"].tolist()
    [9000.0, nan, nan]
    """
    out = table.copy()
    counts = out[count_column].astype(float).fillna(0)
    hidden = (counts > 0) & (counts < min_size)  # an empty row has no figure to protect
    if hidden.any():
        for index in counts[counts > 0].sort_values(kind="stable").index:
            if hidden.sum() >= 2 and counts[hidden].sum() >= min_size:
                break
            hidden[index] = True
    columns = list(out.select_dtypes("number").columns) if columns is None else list(columns)
    out[columns] = out[columns].astype(float)
    out.loc[hidden, columns] = np.nan
    return out


def pooled_groups(table: pd.DataFrame) -> list[Pooling]:
    """The poolings recorded on a table by the suite's table functions (``table.attrs``)."""
    return list(table.attrs.get("pooling", []))


def record_pooling(table: pd.DataFrame, *poolings: Pooling) -> pd.DataFrame:
    """Remember on ``table`` which groups were pooled (read by the sentences that report it)."""
    table.attrs["pooling"] = [*table.attrs.get("pooling", []), *(p for p in poolings if p)]
    return table
