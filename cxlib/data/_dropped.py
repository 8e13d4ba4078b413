"""Rows that loading dropped, kept as data: which table, why, how many, and what they carried.

Loading drops rows for two reasons: a value listed under ``drop_missing`` is missing (e.g. rows
with no customer id, or no tenure), or the row repeats an earlier one exactly. Each drop is a
:class:`DroppedRows` record on :attr:`cxlib.data.CustomerData.dropped` (no ids, only counts), so a
report can say whether the rows left out differ from those analysed: :func:`dropped_outcomes`
compares the churn rate of dropped and kept customers (95% Wilson intervals, Fisher's exact test)
and gives the share of sales in dropped transactions. Sentences are the report modules'
(:func:`cxlib.report.describe_dropped_rows`).

Examples
--------
>>> record = DroppedRows("customers", "missing", ("tenure",), 20, churn_known=20, churned=9)
>>> DroppedRows.from_dict(record.to_dict()) == record
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

#: Why rows were dropped: a ``drop_missing`` column was empty, or the row repeated an earlier one.
REASONS = ("missing", "duplicate")


@dataclass(frozen=True)
class DroppedRows:
    """One drop of rows by loading, as counts (no ids).

    Attributes
    ----------
    table : str
        Canonical table, e.g. ``"customers"``.
    reason : {"missing", "duplicate"}
        ``"missing"``: a ``drop_missing`` value was missing; ``"duplicate"``: an exact duplicate row.
    columns : tuple of str
        For ``"missing"``: the ``drop_missing`` columns (after mapping); empty otherwise.
    rows : int
        Rows dropped.
    churn_known : int or None
        Customers rows only: dropped rows whose own churn label or churn date says whether the
        customer churned (None when the churn definition cannot be read from a row, e.g. churn by
        inactivity, or the table has no churn column).
    churned : int or None
        Of those, how many churned.
    amount : float or None
        Transactions only: the dropped rows' sales amounts (refund rows left out).
    sources : tuple of str
        For ``"missing"``: the file columns ``columns`` are mapped or derived from (e.g. the
        tenure a signup date is counted back from); empty when picked up by name.
    """

    table: str
    reason: str
    columns: tuple[str, ...]
    rows: int
    churn_known: int | None = None
    churned: int | None = None
    amount: float | None = None
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Plain values (JSON-ready), for :meth:`from_dict`."""
        values = asdict(self)
        values["columns"], values["sources"] = list(self.columns), list(self.sources)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> DroppedRows:
        """The record :meth:`to_dict` wrote."""
        return cls(
            **{
                **values,
                "columns": tuple(values.get("columns", ())),
                "sources": tuple(values.get("sources", ())),
            }
        )


def dropped_record(table: str, reason: str, columns, rows: pd.DataFrame, sources=()) -> DroppedRows:
    """A :class:`DroppedRows` for ``rows`` (mapped, pre-parsed) dropped from ``table``.

    Customers rows carry their churn outcome when the row itself has it: the ``churned`` flag
    (yes/no values already read as True/False), else whether a churn date is filled in, as
    loading derives ``churned`` for the rows it keeps. Transactions rows carry their sales amount.
    """
    record = DroppedRows(
        table, reason, tuple(str(c) for c in columns), len(rows), sources=tuple(str(s) for s in sources)
    )
    if table == "customers":
        if "churned" in rows:
            flag = rows["churned"].map(lambda v: v if isinstance(v, bool | np.bool_) else None)
            known = flag.notna()
            record = replace(
                record, churn_known=int(known.sum()), churned=int(flag[known].astype(bool).sum())
            )
        elif "churn_date" in rows:
            filled = rows["churn_date"].astype("string").str.strip().replace("", pd.NA).notna()
            record = replace(record, churn_known=len(rows), churned=int(filled.sum()))
    elif table == "transactions" and "amount" in rows:
        amount = pd.to_numeric(rows["amount"], errors="coerce")
        refund = rows["is_refund"].eq(True).to_numpy(bool) if "is_refund" in rows else amount.lt(0).to_numpy()
        record = replace(record, amount=float(amount[~refund].clip(lower=0).sum()))
    return record


def without_churn_outcome(records: list[DroppedRows]) -> list[DroppedRows]:
    """``records`` with the churn outcome removed (churn by inactivity cannot be read from a row)."""
    return [replace(r, churn_known=None, churned=None) for r in records]


def dropped_outcomes(data) -> pd.DataFrame:
    """Each drop of rows compared with the rows kept: churn rates of customers, share of sales.

    Parameters
    ----------
    data : CustomerData
        With :attr:`~cxlib.data.CustomerData.dropped`.

    Returns
    -------
    DataFrame
        One row per drop: ``table``, ``reason``, ``columns`` and ``sources`` (tuples), ``rows``, ``kept_rows``
        (rows of the table analysed) and ``share`` (dropped over dropped plus kept). Customers
        dropped for a missing value (not duplicates: they repeat kept rows) whose churn the row
        gives: ``churn_known``, ``churn_rate`` with ``ci_low``/``ci_high`` (95% Wilson), the same
        for the kept customers with a churn flag (``kept_known``, ``kept_churn_rate``,
        ``kept_ci_low``, ``kept_ci_high``), and ``p_value`` of Fisher's exact test of equal rates;
        NaN otherwise. Transactions: ``amount`` and ``sales_share`` (its share of the dropped
        plus kept sales). Empty (with these columns) when nothing was dropped.

    Examples
    --------
    >>> table = dropped_outcomes(data)  # doctest: +SKIP
    >>> table.loc[0, ["rows", "churn_rate", "kept_churn_rate"]]  # doctest: +SKIP
    """
    rows = [_outcome(record, data) for record in getattr(data, "dropped", [])]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


#: Columns of :func:`dropped_outcomes`.
OUTCOME_COLUMNS = [
    "table",
    "reason",
    "columns",
    "sources",
    "rows",
    "kept_rows",
    "share",
    "churn_known",
    "churned",
    "churn_rate",
    "ci_low",
    "ci_high",
    "kept_known",
    "kept_churned",
    "kept_churn_rate",
    "kept_ci_low",
    "kept_ci_high",
    "p_value",
    "amount",
    "sales_share",
]


def _outcome(record: DroppedRows, data) -> dict:
    from cxlib.stats._intervals import wilson_interval  # scipy: a slow import loading does not need

    tables = data.tables
    compare = record.reason != "duplicate" and record.churn_known is not None
    if hasattr(tables, "rows"):  # saved run data: the count is read without reading the table
        kept_rows = tables.rows(record.table) if record.table in tables else 0
        kept = tables.get(record.table) if compare else None
    else:
        kept = tables.get(record.table)
        kept_rows = 0 if kept is None else len(kept)
    row = dict.fromkeys(OUTCOME_COLUMNS, np.nan)
    row.update(
        table=record.table,
        reason=record.reason,
        columns=tuple(record.columns),
        sources=tuple(record.sources),
        rows=record.rows,
        kept_rows=kept_rows,
        share=record.rows / max(record.rows + kept_rows, 1),
    )
    if compare and kept is not None and "churned" in kept:
        flag = kept["churned"]
        known = flag.notna()
        kept_known, kept_churned = int(known.sum()), int(flag[known].astype(bool).sum())
        churn_rate, ci_low, ci_high = wilson_interval(record.churned, record.churn_known)
        kept_rate, kept_low, kept_high = wilson_interval(kept_churned, kept_known)
        p_value = np.nan
        if record.churn_known and kept_known:
            contingency = [
                [record.churned, record.churn_known - record.churned],
                [kept_churned, kept_known - kept_churned],
            ]
            from scipy import stats  # only when a report compares drops (a slow import)

            p_value = float(stats.fisher_exact(contingency)[1])
        row.update(
            churn_known=record.churn_known,
            churned=record.churned,
            churn_rate=churn_rate,
            ci_low=ci_low,
            ci_high=ci_high,
            kept_known=kept_known,
            kept_churned=kept_churned,
            kept_churn_rate=kept_rate,
            kept_ci_low=kept_low,
            kept_ci_high=kept_high,
            p_value=p_value,
        )
    if record.amount is not None and kept is None and hasattr(tables, "columns_of"):
        kept = tables.columns_of(record.table, ["amount", "is_refund"])  # not the whole table
    if record.amount is not None and kept is not None and "amount" in kept:
        sales = kept["amount"][~kept["is_refund"]] if "is_refund" in kept else kept["amount"]
        total = record.amount + float(sales.clip(lower=0).sum())
        row.update(amount=record.amount, sales_share=record.amount / total if total > 0 else np.nan)
    return row
