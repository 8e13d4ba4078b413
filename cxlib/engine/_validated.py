"""The run's validated data as the engine's canonical tables: features without pandas on the rows.

The runner saves the validated tables once as Parquet (:func:`cxlib.run.save_validated`), already
renamed, typed, free of exact duplicates and with refunds signed. Read through the engine they are
the canonical tables :func:`cxlib.engine.canonical_table` makes from the input files, so the same
feature definitions (:mod:`cxlib.engine._features`) run on them with nothing left to clean: this is
how a notebook builds its per-customer tables at scale (:func:`cxlib.features.features_from_config`
with ``data.engine: duckdb``), while the tables the models use stay pandas DataFrames.
"""

from __future__ import annotations

import functools
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.engine._tables import AMOUNT_NOISE, MAX_AMOUNT_SCALE, EngineUnsupported, pick_scale, quiet


def run_connection():
    """A DuckDB connection for a run's tables, on every core, giving the same numbers every run.

    DuckDB aggregates in parallel, and a floating-point sum depends on which thread added which
    rows: results would differ in their last bits from one run to the next, and anything chosen
    from them (a quantile score, a segment) could change. The run's queries therefore sum no
    floats: :func:`validated_transactions` gives the amounts as exact decimals
    (:func:`amount_scale`), whose sums are exact integer arithmetic, the same in any order; counts,
    minima and maxima do not depend on the order either. Amounts with no such scale are summed as
    floats, and the connection then runs on one thread (:func:`serial`), in file order.

    Returns
    -------
    ibis.BaseBackend
    """
    import duckdb
    import ibis

    con = ibis.duckdb.connect()
    try:  # in a notebook it would print into the report
        con.raw_sql("SET enable_progress_bar = false")
    except duckdb.Error:  # a Jupyter kernel without ipywidgets refuses it: the bar is off there
        pass
    return con


def serial(con) -> None:
    """Put a DuckDB connection on one thread (for its lifetime): float sums in file order.

    Parameters
    ----------
    con : ibis.BaseBackend
        Any other backend is left as it is.
    """
    if con.name == "duckdb":
        con.raw_sql("SET threads = 1")


def amount_scale(path: Path | str) -> int | None:
    """The fewest decimal places (at most :data:`MAX_AMOUNT_SCALE`) that hold every amount of a file.

    One scan of the ``amount`` column, on every core (the answer does not depend on the order),
    remembered for the file as it is (path, size and modification time).

    Parameters
    ----------
    path : Path or str
        A validated ``transactions.parquet``.

    Returns
    -------
    int or None
        The scale, or None when no scale up to :data:`MAX_AMOUNT_SCALE` holds every amount within
        :data:`AMOUNT_NOISE` (or the largest amount does not fit in ``DECIMAL(18, scale)``, or an
        amount is not finite).
    """
    stat = Path(path).stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:  # found when the run saved the file (record_amount_scale), if the file is still that one
        record = json.loads((Path(path).parent / "data.json").read_text(encoding="utf-8"))
        saved = record["amount_scale"]
        if {k: saved[k] for k in stamp} == stamp:
            return saved["scale"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return _amount_scale(str(path), stat.st_size, stat.st_mtime_ns)


def record_amount_scale(path: Path | str) -> dict:
    """:func:`amount_scale` of a saved file with the file's size and time, for its ``data.json``.

    Every notebook of a run then reads the scale instead of scanning the amounts again.

    Parameters
    ----------
    path : Path or str
        A validated ``transactions.parquet``.

    Returns
    -------
    dict
        ``scale`` (int or None), ``size`` and ``mtime_ns`` (the file the scale was found for).
    """
    stat = Path(path).stat()
    scale = _amount_scale(str(path), stat.st_size, stat.st_mtime_ns)
    return {"scale": scale, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@functools.lru_cache(maxsize=32)
def _amount_scale(path: str, size: int, mtime: int) -> int | None:
    import duckdb

    checks = ", ".join(
        f"bool_and(abs(amount - round(amount, {s})) <= abs(amount) * {AMOUNT_NOISE!r})"
        for s in range(MAX_AMOUNT_SCALE + 1)
    )
    con = duckdb.connect()
    try:
        try:  # in a notebook it would print into the report
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # a Jupyter kernel without ipywidgets refuses it: the bar is off there
            pass
        row = con.execute(
            f"SELECT max(abs(amount::DOUBLE)), {checks} FROM read_parquet(?) WHERE amount IS NOT NULL", [path]
        ).fetchone()
    finally:
        con.close()
    return pick_scale(row[0], row[1:])


def order_rows_unique(path: Path | str) -> bool:
    """Whether each row of a validated transactions file is a whole order (no grouping needed).

    True when no two rows with an order id share a customer, that order id and a kind (sale or
    refund): found by counting the distinct hashes of the three (a hash collision can only make
    the answer False, which costs time and never changes a result). Rows without an order id
    are orders on their own anyway. Counts do not depend on the threads, so every core is used.

    Parameters
    ----------
    path : Path or str
        A validated ``transactions.parquet`` (:func:`cxlib.run.save_validated`).

    Returns
    -------
    bool
    """
    import duckdb

    con = duckdb.connect()
    try:
        try:  # a Jupyter kernel without ipywidgets refuses it: the bar is off there
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            pass
        names = {
            row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        }
        if "order_id" not in names:
            return True
        key = ", ".join(c for c in ("customer_id", "order_id", "is_refund") if c in names)
        rows, keys = con.execute(
            f"SELECT count(*), count(DISTINCT hash({key})) FROM read_parquet(?) WHERE order_id IS NOT NULL",
            [str(path)],
        ).fetchone()
    finally:
        con.close()
    return rows == keys


def rows_are_orders(folder: Path | str) -> bool:
    """What :func:`order_rows_unique` found when the run saved its validated data (False if unknown).

    Parameters
    ----------
    folder : Path or str
        The run's ``validated`` folder (:attr:`cxlib.data.CustomerData.source`).

    Returns
    -------
    bool
    """
    import json

    try:
        record = json.loads((Path(folder) / "data.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("rows_are_orders") is True


def require_source(data) -> Path:
    """The validated Parquet folder ``data`` were read from (:attr:`~cxlib.data.CustomerData.source`).

    Raises
    ------
    EngineUnsupported
        When ``data`` were not read from a run's validated Parquet files (the caller's pandas path
        then computes the table).
    """
    if getattr(data, "source", None) is None:
        raise EngineUnsupported("the data were not read from a run's validated Parquet files")
    return Path(data.source)


#: Canonical transaction columns the feature definitions read (others are kept only when named).
TRANSACTION_COLUMNS = ("customer_id", "order_id", "order_date", "amount", "is_refund", "channel")


def validated_transactions(con, folder: Path | str, extra: tuple[str, ...] = ()):
    """The validated transactions (``<folder>/transactions.parquet``) as the canonical ibis table.

    Parameters
    ----------
    con : ibis.BaseBackend
        From :func:`cxlib.engine.connect`.
    folder : Path or str
        The run's ``validated`` folder (:attr:`cxlib.data.CustomerData.source`).
    extra : tuple of str
        Further columns to keep (e.g. those named in ``segmentation.exclude_transactions``).

    Returns
    -------
    ibis.Table
        customer_id, order_id (missing when the data have none), order_date, amount (refunds
        negative; an exact ``DECIMAL(18, scale)`` when the file's amounts have a scale,
        :func:`amount_scale`, else float and ``con`` goes on one thread), is_refund, channel
        (when present), the ``extra`` columns and ``row_key`` (a hash of the whole row for a row
        without an order id: rows are unique after validation, so it tells such rows apart;
        missing otherwise).

    Raises
    ------
    EngineUnsupported
        When the folder holds no Parquet copy of the transactions.
    """
    import ibis
    import ibis.expr.datatypes as dt

    path = Path(folder) / "transactions.parquet"
    if not path.is_file():
        raise EngineUnsupported(f"{path}: no Parquet copy of the validated transactions")
    with quiet():
        raw = con.read_parquet(str(path))
    for name in extra:
        if name not in raw.columns:
            raise KeyError(f"exclude: transactions have no column '{name}'")
    keep = [c for c in (*TRANSACTION_COLUMNS, *extra) if c in raw.columns]
    whole = ibis.struct({c: raw[c] for c in raw.columns if not c.startswith("__")}).hash()
    has_order = raw["order_id"].notnull() if "order_id" in raw.columns else ibis.literal(False)
    columns = {c: raw[c] for c in keep}
    if "order_id" in columns:
        columns["order_id"] = raw["order_id"].cast("string")
    columns["customer_id"] = raw["customer_id"].cast("string")
    scale = amount_scale(path)
    if scale is None:
        serial(con)
    else:
        columns["amount"] = raw["amount"].cast(dt.Decimal(18, scale))
    columns["row_key"] = ibis.ifelse(has_order, ibis.null("int64"), whole)
    return raw.select(**columns)


def features_from_validated(data, exclude: dict[str, list] | None = None, con=None):
    """:func:`cxlib.engine.transaction_features` over the run's validated data, for these customers.

    Parameters
    ----------
    data : CustomerData
        With :attr:`~cxlib.data.CustomerData.source` set (loaded by
        :func:`cxlib.run.load_run_data` in a run).
    exclude : dict, optional
        Transaction column -> values left out.
    con : ibis.BaseBackend, optional
        A connection to reuse.

    Returns
    -------
    DataFrame
        As :func:`cxlib.engine.transaction_features`, for ``data``'s customers in their order,
        at ``data.as_of``.

    Raises
    ------
    EngineUnsupported
        When ``data`` has no Parquet source.
    """
    from cxlib.engine._features import transaction_features

    require_source(data)
    con = con or run_connection()
    tx = validated_transactions(con, data.source, tuple(exclude or ()))
    customers = pd.Index(data["customers"]["customer_id"], name="customer_id")
    return transaction_features(
        None,
        exclude=exclude,
        as_of=data.as_of,
        con=con,
        customers=customers,
        transactions=tx,
        rows_are_orders=rows_are_orders(data.source),
    )


def driver_orders_from_validated(data, at, ids: pd.Index, con=None) -> pd.DataFrame:
    """Per-customer order counts before a cut-off, for the churn drivers, from the validated data.

    The engine's form of the transaction block of :func:`cxlib.features.driver_features`: orders
    are :func:`cxlib.features.purchases` (sale orders worth more than zero) and
    :func:`cxlib.features.refunds` (orders with a refund row), before ``at`` (exclusive).

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    at : Timestamp
        The cut-off.
    ids : Index
        The customers to report, in order.
    con : ibis.BaseBackend, optional

    Returns
    -------
    DataFrame
        Indexed by ``ids``: ``orders`` (purchases), ``recent_orders`` (purchases dated in the
        :data:`cxlib.features.YEAR_DAYS` days before ``at``), ``gross`` (their amount; missing
        without purchases), ``last_order`` (the latest purchase's date) and ``refunded_orders``.
    """
    from cxlib.engine._features import _frame, orders_expr, to_pandas, window_expr
    from cxlib.features._time import YEAR_DAYS

    require_source(data)
    con = con or run_connection()
    at = pd.Timestamp(at)
    window = window_expr(validated_transactions(con, data.source), at)
    orders = orders_expr(window, rows_are_orders(data.source))
    purchase = ~orders["is_refund"] & (orders["amount"] > 0)
    recent = orders["order_date"] >= (at - pd.Timedelta(days=YEAR_DAYS)).to_pydatetime()
    expr = orders.group_by("customer_id").aggregate(
        orders=orders.count(where=purchase),
        recent_orders=orders.count(where=purchase & recent),
        gross=orders["amount"].sum(where=purchase),
        last_order=orders["order_date"].max(where=purchase),
        refunded_orders=orders.count(where=orders["is_refund"]),
    )
    table = _frame(to_pandas(expr)).set_index("customer_id").reindex(ids)
    for column in ("orders", "recent_orders", "refunded_orders"):
        table[column] = table[column].fillna(0).astype(int)
    return table


def friction_from_validated(data, at, ids: pd.Index, months_seen, long_wait_minutes: float = 20, con=None):
    """:func:`cxlib.features.friction_features` computed by the engine from the validated data.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source` holding ``interactions.parquet``.
    at : Timestamp
        The cut-off (exclusive).
    ids : Index
        The customers to report, in order (signed up before ``at``).
    months_seen : array
        Months of the last 12 each customer was signed up (at least half a month), in ``ids`` order.
    long_wait_minutes : float
    con : ibis.BaseBackend, optional

    Returns
    -------
    DataFrame
        ``support_contacts``, ``complaints``, ``unresolved_complaint`` and ``long_wait`` (with
        their columns) and ``cart_abandonments``, one row per id (positional index), as the
        pandas path gives them.
    """
    from cxlib.engine._features import friction_columns, friction_counts_expr

    path = None if getattr(data, "source", None) is None else Path(data.source) / "interactions.parquet"
    if path is None or not path.is_file():
        raise EngineUnsupported("no Parquet copy of the validated interactions")
    con = con or run_connection()
    with quiet():
        events = con.read_parquet(str(path))
    events = events.mutate(customer_id=events["customer_id"].cast("string"))
    return friction_columns(
        friction_counts_expr(events, pd.Timestamp(at), long_wait_minutes), ids, months_seen
    )


def interaction_kinds_from_validated(data, at, con=None) -> pd.DataFrame | None:
    """Interactions dated before ``at`` per customer and kind, from the validated data.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    at : Timestamp
        Exclusive end (the analysis date's end of day).
    con : ibis.BaseBackend, optional

    Returns
    -------
    DataFrame or None
        Customers (rows, those with an interaction) by kind (columns, as recorded), counts;
        None without an interactions table.
    """
    require_source(data)
    path = Path(data.source) / "interactions.parquet"
    if not data.has("interactions"):
        return None
    if not path.is_file():
        raise EngineUnsupported("no Parquet copy of the validated interactions")
    from cxlib.engine._features import to_pandas

    con = con or run_connection()
    with quiet():
        events = con.read_parquet(str(path))
    events = events.filter(events["timestamp"] < pd.Timestamp(at).to_pydatetime())
    counts = to_pandas(events.group_by(["customer_id", "kind"]).aggregate(n=events.count()))
    wide = counts.pivot_table(index="customer_id", columns="kind", values="n", aggfunc="sum", fill_value=0)
    wide.index = wide.index.astype(object)
    return wide.rename_axis(index="customer_id", columns="kind")


def repeat_purchases_from_validated(
    data, unit_days: float = 7.0, calibration_end=None, exclude=None, con=None
):
    """The value study's repeat-purchase tables, computed by the engine from the validated data.

    The engine's form of :func:`cxlib.features.repeat_purchase_summary` (at the analysis date, and
    at a calibration end with the holdout up to the analysis date) and of
    :func:`cxlib.value.repeat_day_counts`: purchase days (:func:`cxlib.features.purchase_days`:
    sale orders worth zero or more, merged per customer and day) are built once in DuckDB, and
    only one row per customer (or per day) comes back; the last step is the pandas path's own
    (:func:`cxlib.features.summary_from_aggregates`), so the definitions cannot drift.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    unit_days : float
        Days in one time unit.
    calibration_end : Timestamp, optional
        End of the calibration period (its whole day counts); None: no calibration tables.
    exclude : dict, optional
        Transaction column -> values left out.
    con : ibis.BaseBackend, optional
        Default :func:`run_connection`.

    Returns
    -------
    summary : DataFrame
        As ``repeat_purchase_summary(transactions, data.as_of, unit_days=unit_days)``.
    calibration : DataFrame or None
        As ``repeat_purchase_summary(transactions, calibration_end, data.as_of, unit_days)``.
    counts : Series or None
        As ``repeat_day_counts(transactions, calibration, data.as_of)``.

    Raises
    ------
    EngineUnsupported
        When ``data`` has no Parquet source.
    """
    from cxlib.engine._features import orders_expr, window_expr
    from cxlib.features._time import end_of_day

    require_source(data)
    if unit_days <= 0:
        raise ValueError(f"unit_days must be positive, not {unit_days}")
    con = con or run_connection()
    as_of = pd.Timestamp(data.as_of).normalize()
    tx = validated_transactions(con, data.source, tuple(exclude or ()))
    window = window_expr(tx, end_of_day(as_of), exclude)
    window = window.select("customer_id", "order_id", "row_key", "order_date", "amount", "is_refund")
    orders = orders_expr(window, rows_are_orders(data.source))
    bought = orders.filter(~orders["is_refund"] & (orders["amount"] >= 0))
    days = bought.group_by(["customer_id", bought["order_date"].truncate("D").name("day")]).aggregate(
        amount=bought["amount"].sum()
    )
    name = f"cx_purchase_days_{uuid.uuid4().hex}"
    with quiet():  # ibis's cache() would drop it with a statement this sqlglot cannot write
        con.raw_sql(f"CREATE TEMP TABLE {name} AS {con.compile(days)}")
        table = con.table(name)
    try:
        return _repeat_tables(table, data, as_of, unit_days, calibration_end)
    finally:
        con.raw_sql(f"DROP TABLE {name}")


def _repeat_tables(days, data, as_of, unit_days, calibration_end):
    from cxlib.engine._features import _frame, to_pandas
    from cxlib.features._ids import id_order
    from cxlib.features._repeat import summary_from_aggregates

    ids = data["customers"]["customer_id"]
    # string ids come back as themselves: no lookup of a million of them (other ids, e.g. numbers
    # read back as text, are mapped to the customers table's own values)
    textual = pd.api.types.infer_dtype(ids, skipna=False) == "string"
    lookup = None if textual else pd.Index(ids.astype(str).to_numpy(), dtype=object)

    def customers(frame: pd.DataFrame) -> pd.DataFrame:
        original = frame["customer_id"].to_numpy()
        if lookup is not None:
            found = lookup.get_indexer(frame["customer_id"].astype(str))
            original = np.where(found >= 0, ids.to_numpy()[found.clip(min=0)], original)
        # one row per customer: sorted by id (Arrow sorts strings faster, in the same order)
        order = id_order(original)
        frame = frame.iloc[order].drop(columns="customer_id")
        return frame.set_index(pd.Index(original[order], name="customer_id"))

    def summary(cut: pd.Timestamp, holdout: bool) -> pd.DataFrame:
        in_cal = days["day"] <= cut.to_pydatetime()
        expr = days.group_by("customer_id").aggregate(
            first=days["day"].min(where=in_cal),
            last=days["day"].max(where=in_cal),
            days=days.count(where=in_cal),
            total=days["amount"].sum(where=in_cal),
            first_amount=days["amount"].argmin(days["day"], where=in_cal),
            holdout_days=days.count(where=~in_cal),
        )
        aggregates = customers(_frame(to_pandas(expr.filter(expr["days"] > 0))))
        return summary_from_aggregates(aggregates, cut, as_of if holdout else None, unit_days)

    whole = summary(as_of, False)
    if calibration_end is None:
        return whole, None, None
    cal_end = pd.Timestamp(calibration_end).normalize()
    if as_of < cal_end:
        raise ValueError(f"the analysis date {as_of.date()} is before calibration_end {cal_end.date()}")
    calibration = summary(cal_end, True)
    birth = days.mutate(birth=days["day"].min().over(group_by="customer_id"))
    repeat = birth.filter((birth["birth"] <= cal_end.to_pydatetime()) & (birth["day"] > birth["birth"]))
    counts = _frame(to_pandas(repeat.group_by("day").aggregate(n=repeat.count())))
    counts = counts.set_index("day")["n"].astype(np.int64).sort_index()
    counts.index = pd.DatetimeIndex(counts.index, name="day")
    return whole, calibration, counts


def recent_spend_from_validated(data, start, end, ids: pd.Index, con=None) -> pd.Series:
    """Purchase amount per customer dated in ``[start, end)``, from the validated data.

    The engine's form of the spend :func:`cxlib.value.monthly_revenue` reads: purchases
    (:func:`cxlib.features.purchases`, sale orders worth more than zero, dated by their first row)
    before ``end`` whose date is on or after ``start``.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    start, end : Timestamp
    ids : Index
        The customers to report, in order.
    con : ibis.BaseBackend, optional

    Returns
    -------
    Series
        Indexed by ``ids``: the amount (0 without a purchase in the window).
    """
    from cxlib.engine._features import to_pandas

    require_source(data)
    con = con or run_connection()
    window = _purchase_window(con, data, pd.Timestamp(end))
    orders = _orders_of(window, data)
    keep = (
        ~orders["is_refund"]
        & (orders["amount"] > 0)
        & (orders["order_date"] >= pd.Timestamp(start).to_pydatetime())
    )
    bought = orders.filter(keep)
    spend = to_pandas(bought.group_by("customer_id").aggregate(amount=bought["amount"].sum()))
    series = spend.set_index(spend["customer_id"].astype(str))["amount"]
    return pd.Series(
        series.reindex(pd.Index(ids).astype(str)).fillna(0.0).to_numpy(), index=ids, name="amount"
    )


def _purchase_window(con, data, end):
    """The validated transactions before ``end`` (:func:`cxlib.engine.window_expr`), without channel."""
    from cxlib.engine._features import window_expr

    window = window_expr(validated_transactions(con, data.source), end)
    return window.select("customer_id", "order_id", "row_key", "order_date", "amount", "is_refund")


def _orders_of(window, data):
    """:func:`cxlib.engine.orders_expr` of a window of ``data``'s validated transactions."""
    from cxlib.engine._features import orders_expr

    return orders_expr(window, rows_are_orders(data.source))


def purchase_count_from_validated(data, start, end, con=None) -> int:
    """Purchases (:func:`cxlib.features.purchases`) dated in ``[start, end)``, from the validated data.

    Parameters
    ----------
    data : CustomerData
        With a Parquet :attr:`~cxlib.data.CustomerData.source`.
    start, end : Timestamp
    con : ibis.BaseBackend, optional

    Returns
    -------
    int
    """
    from cxlib.engine._features import to_pandas

    require_source(data)
    con = con or run_connection()
    orders = _orders_of(_purchase_window(con, data, pd.Timestamp(end)), data)
    keep = (
        ~orders["is_refund"]
        & (orders["amount"] > 0)
        & (orders["order_date"] >= pd.Timestamp(start).to_pydatetime())
    )
    counted = orders.filter(keep)
    return int(to_pandas(counted.aggregate(n=counted.count()))["n"].iloc[0])
