"""The engine loader's typed rows in pandas: the pandas loader's dtypes, rows and index, copied once.

DuckDB's Arrow result holds a table's typed rows in file order (:mod:`cxlib.engine._rules`); here
they become the DataFrame the pandas loader (:func:`cxlib.data._load.load_data_pandas`) would
have made: the same dtypes (:func:`pandas_dtypes`), each column converted once and never
consolidated or copied again (:func:`frame_from_arrow`), exact duplicate rows found on the few rows
whose hash repeats (:func:`repeated_hashes`) and left out before converting (:func:`kept_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.engine._rules import FLOAT, TablePlan


def pandas_dtypes(plan: TablePlan, result, flags: dict[str, int]) -> dict[str, str | None]:
    """The pandas dtype of each column that Arrow's conversion does not give by itself.

    Parameters
    ----------
    plan : TablePlan
        The table's query (its columns and kinds).
    result : pyarrow.Table
        The query's rows.
    flags : dict of str to int
        Each column's flags over all rows (:data:`cxlib.engine._rules.FLOAT` says a number is not
        whole).

    Returns
    -------
    dict of str to str or None
        Column -> dtype to cast to, ``"nan"`` for text whose missing values are NaN, or None.

    Notes
    -----
    Numbers read from text are int64 when every value is a whole number and none is missing (as
    ``pandas.to_numeric`` gives them), float64 otherwise; parsed dates are nanoseconds, Parquet time
    stamps keep their unit; extra text columns read from CSV hold NaN for missing values.
    """
    dtypes = {}
    for column in plan.columns:
        values = result.column(column.name)
        if column.kind == "number" and plan.csv:
            whole = not flags[column.name] & FLOAT and values.null_count == 0
            dtypes[column.name] = "int64" if whole else "float64"
        elif column.kind == "date" or column.source_type == "TIMESTAMP":
            unit = column.unit if column.source_type == "TIMESTAMP" else "ns"
            dtypes[column.name] = f"datetime64[{unit}]"
        elif column.kind == "extra" and plan.csv and values.null_count:
            dtypes[column.name] = "nan"
        else:
            dtypes[column.name] = None
    return dtypes


def frame_from_arrow(plan: TablePlan, result, dtypes: dict[str, str | None]) -> pd.DataFrame:
    """The query's rows as the pandas loader's typed frame, each column converted once, not copied."""
    import pyarrow as pa

    series = []
    for column in plan.columns:
        values = result.column(column.name)
        if pa.types.is_boolean(values.type):
            converted = values.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
        else:  # interning repeated words (channels, plans) saves memory; ids are mostly distinct
            converted = values.to_pandas(
                deduplicate_objects=column.kind != "id",
                coerce_temporal_nanoseconds=dtypes[column.name] == "datetime64[ns]",
            )
        dtype = dtypes[column.name]
        if dtype == "nan":
            converted = converted.where(converted.notna(), np.nan)  # pandas' reader gives NaN
        elif dtype is not None and converted.dtype != dtype:
            converted = converted.astype(dtype)
        converted.name = column.name  # set in place: rename() would copy the column
        series.append(converted)
    return pd.concat(series, axis=1, copy=False)  # no consolidation: the columns stay as converted


def kept_rows(result, dropped: np.ndarray):
    """The rows of ``result`` other than ``dropped`` (positions), without copying, and their index.

    Parameters
    ----------
    result : pyarrow.Table
    dropped : ndarray of int
        Positions of the rows left out.

    Returns
    -------
    kept : pyarrow.Table
        Zero-copy slices between the dropped rows, in order.
    index : Index
        Each kept row's position in ``result`` (its row in the file), as ``frame.loc[mask]`` keeps it.
    """
    import pyarrow as pa

    keep = np.ones(result.num_rows, dtype=bool)
    keep[dropped] = False
    starts = np.concatenate([[0], np.sort(dropped) + 1])
    ends = np.concatenate([np.sort(dropped), [result.num_rows]])
    slices = [
        result.slice(start, end - start) for start, end in zip(starts, ends, strict=True) if end > start
    ]
    kept = pa.concat_tables(slices) if slices else result.slice(0, 0)
    return kept, pd.Index(np.flatnonzero(keep))


def repeated_hashes(hashes) -> np.ndarray:
    """Positions of the rows whose hash another row shares (exact duplicates are among them)."""
    values = hashes.to_numpy()
    ordered = np.sort(values)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return np.array([], dtype=np.int64)
    return np.flatnonzero(pd.Series(values).isin(np.unique(repeated)).to_numpy())
