"""Per-customer features defined once as ibis expressions, run by an engine (DuckDB or Spark).

The row-level work, which is what costs time and memory on millions of rows, is written once in
ibis over the canonical tables (:mod:`cxlib.engine._tables`): the window, orders, purchases and
refunds, and the per-customer aggregates. Any ibis backend can run these expressions (DuckDB and
Spark are tested: ``tests/test_engine_spark.py``); each returns one small row per customer (or per
customer and channel) as pandas. The per-customer finishing (days since, quantile scores, shares) is done in pandas by the
same functions the pandas path uses (:mod:`cxlib.features`), so it cannot drift.

The definitions are those of :mod:`cxlib.features`, and the results equal its tables column by
column (``tests/test_engine.py``):

:func:`transaction_features`
    The transaction columns of :func:`cxlib.features.customer_features` at the analysis date:
    RFM (``recency_days``, ``frequency``, ``monetary``, ``first_purchase``, ``last_purchase``,
    scores and ``rfm_segment``), ``avg_order_value``, ``purchase_interval_days``,
    ``lines_per_order`` (line-level data only), ``refunded_amount_share`` and ``share_<channel>``.
:func:`friction_table`
    :func:`cxlib.features.friction_features` before a cut-off: support contacts and abandoned
    carts per month of the last 12, complaints, unresolved complaints and long waits.

One difference is known and documented: an order whose rows carry *different* channels gets the
alphabetically first of them here, where pandas takes its first row's (SQL engines keep no row
order); the tests check that the demo data has no such order.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from cxlib.engine._tables import _on_spark, canonical_table, connect, quiet, transactions_as_orders
from cxlib.features._purchases import rfm_scores
from cxlib.features._time import YEAR_DAYS, days_since, end_of_day, tenure_months

#: Engines the ``data.engine`` config key may name; ``duckdb`` is the default, ``pandas`` the reference.
ENGINES = ("pandas", "duckdb", "spark")


def _ibis():
    import ibis

    return ibis


def window_expr(transactions, end, exclude: dict[str, list] | None = None):
    """Transactions dated strictly before ``end`` and not excluded.

    The ibis form of :func:`cxlib.features.transactions_before` (a row without an ``order_id`` is
    its own order: :func:`orders_expr` keeps it whole).

    Parameters
    ----------
    transactions : ibis.Table
        Canonical transactions (:func:`cxlib.engine.canonical_table`).
    end : Timestamp
        Exclusive end.
    exclude : dict, optional
        Column -> values whose rows are left out (compared as text; a missing value is kept).

    Returns
    -------
    ibis.Table
        customer_id, order_id (missing when the data have none), row_key (tells apart rows
        without an order id: :func:`cxlib.engine.canonical_table`), order_date, amount,
        is_refund and channel (when present).
    """
    ibis = _ibis()
    t = transactions
    keep = (t["order_date"] < pd.Timestamp(end).to_pydatetime()) & t["customer_id"].notnull()
    for column, values in (exclude or {}).items():
        if column not in t.columns:
            raise KeyError(f"exclude: transactions have no column '{column}'")
        text = t[column].cast("string")
        keep &= text.isnull() | ~text.isin([str(v) for v in values])
    t = t.filter(keep)
    columns = {
        "customer_id": t["customer_id"],
        "order_id": t["order_id"] if "order_id" in t.columns else ibis.null("string"),
        "row_key": t["row_key"],
        "order_date": t["order_date"],
        "amount": t["amount"],
        "is_refund": t["is_refund"],
    }
    if "channel" in t.columns:
        columns["channel"] = t["channel"]
    return t.select(**columns)


def orders_expr(window, rows_are_orders: bool = False, duplicate_rows: bool = False):
    """Orders: the rows of one order key of one customer, sales and refunds apart.

    The ibis form of :func:`cxlib.features.purchases` (sale rows) and
    :func:`cxlib.features.refunds` (refund rows) before either filter.

    Parameters
    ----------
    window : ibis.Table
        From :func:`window_expr`.
    rows_are_orders : bool
        True when no two rows share a customer, an order id and a kind (sale or refund), as
        :func:`cxlib.engine.rows_are_orders` finds for most order-level data: each row is then a
        whole order, and the orders are the rows themselves, with no grouping (on 20M rows the
        grouping by order is the costliest step of every query). The result is the same.
    duplicate_rows : bool
        True when the rows sharing a customer, an order id and a kind are exact duplicates and
        no ``DISTINCT`` dropped them (:func:`cxlib.engine.transactions_as_orders`): one grouping
        by order takes one row's values (all equal), as dropping the duplicates and grouping would.

    Returns
    -------
    ibis.Table
        One row per customer, order and is_refund (a row without an order id is an order):
        customer_id, order_id, row_key, is_refund, order_date (the order's first), amount,
        lines and channel (the alphabetically first known channel of its rows, when present).
    """
    keys = ["customer_id", "order_id", "row_key", "is_refund"]
    # rows that still hold exact copies are not orders as they are, whatever the caller knows of
    # the (de-duplicated) validated data: their grouping comes first
    if rows_are_orders and not duplicate_rows:  # one row per order: grouping would return the rows
        columns = {key: window[key] for key in keys}
        columns.update(
            order_date=window["order_date"],
            amount=window["amount"],
            lines=_ibis().literal(1, type="int64"),
        )
        if "channel" in window.columns:
            columns["channel"] = window["channel"]
        return window.select(**columns)
    metrics = {
        "order_date": window["order_date"].min(),
        "amount": window["amount"].min() if duplicate_rows else window["amount"].sum(),
        "lines": _ibis().literal(1, type="int64") if duplicate_rows else window.count(),
    }
    if "channel" in window.columns:
        metrics["channel"] = window["channel"].min()
    if duplicate_rows:
        lines = metrics.pop("lines")
        return (
            window.group_by(keys)
            .aggregate(**metrics)
            .mutate(lines=lines)
            .select(*keys, "order_date", "amount", "lines", *(["channel"] if "channel" in metrics else []))
        )
    return window.group_by(keys).aggregate(**metrics)


def purchase_channels(orders) -> list:
    """The known channels of the purchases (sale orders worth more than zero), sorted.

    Parameters
    ----------
    orders : ibis.Table
        From :func:`orders_expr`.

    Returns
    -------
    list
        Channel values as recorded; empty when the orders have no channel column.
    """
    if "channel" not in orders.columns:
        return []
    purchase = ~orders["is_refund"] & (orders["amount"] > 0) & orders["channel"].notnull()
    values = to_pandas(orders.filter(purchase).select("channel").distinct())["channel"]
    return sorted(values.tolist())


def customer_expr(orders, channels=()):
    """Per customer: purchase, refund and net aggregates, and purchases per channel (the costly query).

    A **purchase** is a sale order worth more than zero. One scan of the orders gives every
    per-customer total and the channel mix (one count per channel), so only one row per customer
    comes back.

    Parameters
    ----------
    orders : ibis.Table
        From :func:`orders_expr`.
    channels : sequence
        Channel values to count purchases of (:func:`purchase_channels`), as ``channel_<i>``.

    Returns
    -------
    ibis.Table
        customer_id, net (signed sum of amounts), refunded (refunded amount, positive; missing
        without refunds), and over purchases: frequency, first_purchase, last_purchase, gross,
        lines, min_lines, max_lines, and ``channel_<i>`` (purchases in ``channels[i]``).
    """
    purchase = ~orders["is_refund"] & (orders["amount"] > 0)
    metrics = {
        "net": orders["amount"].sum(),
        "refunded": -orders["amount"].sum(where=orders["is_refund"]),
        "frequency": orders.count(where=purchase),
        "first_purchase": orders["order_date"].min(where=purchase),
        "last_purchase": orders["order_date"].max(where=purchase),
        "gross": orders["amount"].sum(where=purchase),
        "lines": orders["lines"].sum(where=purchase),
        "min_lines": orders["lines"].min(where=purchase),
        "max_lines": orders["lines"].max(where=purchase),
    }
    for i, channel in enumerate(channels):
        metrics[f"channel_{i}"] = orders.count(where=purchase & (orders["channel"] == channel))
    return orders.group_by("customer_id").aggregate(**metrics)


def transaction_features(
    config,
    exclude: dict[str, list] | None = None,
    as_of=None,
    con=None,
    customers: pd.Index | None = None,
    transactions=None,
    rows_are_orders: bool = False,
) -> pd.DataFrame:
    """The transaction columns of :func:`cxlib.features.customer_features`, computed by an engine.

    The input files are read by the engine (DuckDB streams them in one pass over the
    transactions; Spark reads them in parallel splits); only per-customer-and-channel rows come
    back to pandas.

    Parameters
    ----------
    config : Config
        Where the files are and how their columns map (``data.tables``); ``analysis.as_of`` is
        the analysis date unless ``as_of`` is given (without either: :func:`analysis_date`).
    exclude : dict, optional
        Transaction column -> values left out (``segmentation.exclude_transactions``).
    as_of : Timestamp, optional
        Analysis date (the whole day counts). Default: the config's.
    con : ibis.BaseBackend, optional
        A connection to reuse (:func:`cxlib.engine.connect`); default: the config's engine
        (:func:`connection_for`).
    customers : Index, optional
        The customers to report, in order. Default: the customers file's ids in file order.
    transactions : ibis.Table, optional
        Canonical transactions already made (e.g. the run's validated data:
        :func:`cxlib.engine.validated_transactions`); then ``config`` is not read and ``as_of``
        and ``customers`` must be given.
    rows_are_orders : bool
        Each transaction row is a whole order (:func:`orders_expr`; True only when known, e.g.
        :func:`cxlib.engine.rows_are_orders` of the run's validated data).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, columns and dtypes as in :func:`cxlib.features.customer_features`:
        ``recency_days``, ``frequency``, ``monetary``, ``first_purchase``, ``last_purchase``,
        ``r_score``, ``f_score``, ``m_score``, ``fm_score``, ``rfm_segment``, ``avg_order_value``,
        ``purchase_interval_days``, ``lines_per_order`` (only when orders differ in their number
        of lines), ``refunded_amount_share`` and ``share_<channel>`` (with two channels or more).

    Examples
    --------
    >>> from cxlib.data._config import load_config  # doctest: +SKIP
    >>> transaction_features(load_config("configs/demo_small.yaml"))[["frequency", "monetary"]].head()  # doctest: +SKIP
    """
    con = con or connection_for(config)
    ids = customers if customers is not None else customer_ids(config, con)
    if transactions is not None:
        return _transaction_features(config, exclude, as_of, con, ids, transactions, rows_are_orders)
    temp = f"cx_rows_{uuid.uuid4().hex}"
    try:  # from the input files: without DISTINCT (and grouping) when the rows allow it
        tx, shape, candidates = transactions_as_orders(con, config, tuple(exclude or ()), temp)
        return _transaction_features(
            config, exclude, as_of, con, ids, tx, rows_are_orders or shape == "rows", shape, candidates
        )
    finally:
        if not _on_spark(con):
            con.raw_sql(f"DROP TABLE IF EXISTS {temp}")


def _transaction_features(
    config, exclude, as_of, con, ids, tx, rows_are_orders, shape=None, candidates=None
) -> pd.DataFrame:
    duplicates = shape == "duplicates"
    as_of = pd.Timestamp(as_of if as_of is not None else analysis_date(config, tx)).normalize()
    orders = orders_expr(window_expr(tx, end_of_day(as_of), exclude), rows_are_orders, duplicates)
    if candidates is None:
        channels = purchase_channels(orders)
    else:  # the sale rows' channels (one query fewer): those without a purchase are dropped below
        channels = candidates if "channel" in orders.columns else []
    per = _frame(to_pandas(customer_expr(orders, channels))).set_index("customer_id")
    if candidates is not None:  # keep the channels with a purchase (of any customer), renumbered
        counts = [per.pop(f"channel_{i}") for i in range(len(channels))]
        bought = [i for i, column in enumerate(counts) if column.fillna(0).sum() > 0]
        for k, i in enumerate(bought):
            per[f"channel_{k}"] = counts[i]
        channels = [channels[i] for i in bought]
    per = per.reindex(ids)
    if len(channels) <= 1:  # one channel: no mix to show
        channels = []
    table = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    table["recency_days"] = days_since(per["last_purchase"], as_of)
    table["frequency"] = per["frequency"].fillna(0).astype(int)
    table["monetary"] = per["net"].fillna(0.0).astype(float)
    table["first_purchase"] = per["first_purchase"]
    table["last_purchase"] = per["last_purchase"]
    out = table.join(rfm_scores(table))
    frequency = out["frequency"].where(out["frequency"] > 0)
    gross = per["gross"].astype(float)
    out["avg_order_value"] = gross / frequency
    span = (out["last_purchase"].dt.normalize() - out["first_purchase"].dt.normalize()).dt.days
    out["purchase_interval_days"] = (span / (out["frequency"] - 1)).where(out["frequency"] > 1)
    if per["min_lines"].min() != per["max_lines"].max():  # line-level data: orders differ in lines
        out["lines_per_order"] = per["lines"].astype(float) / frequency
    refunded = per["refunded"].astype(float).fillna(0)
    out["refunded_amount_share"] = (refunded / gross).clip(0, 1).where(gross > 0)
    if channels:
        out = out.join(_channel_shares(per, channels))
    return out


def analysis_date(config, transactions=None, con=None) -> pd.Timestamp:
    """``analysis.as_of``, else the day of the latest transaction (as loading decides it).

    Parameters
    ----------
    config : Config
    transactions : ibis.Table, optional
        Canonical transactions (read from the config when not given).
    con : ibis.BaseBackend, optional

    Returns
    -------
    Timestamp
    """
    if config.analysis["as_of"] is not None:
        return pd.Timestamp(config.analysis["as_of"])
    if transactions is None:
        transactions = canonical_table(con or connection_for(config), config, "transactions")
    with quiet():
        latest = transactions["order_date"].max().to_pandas()
    return pd.Timestamp(latest).normalize()


def _channel_shares(per: pd.DataFrame, channels: list) -> pd.DataFrame:
    """Share of each customer's purchases per channel (as ``cxlib.features._customer._channel_mix``).

    ``per`` holds the purchase counts ``channel_<i>`` of :func:`customer_expr`; channels with the
    same column name (:func:`cxlib.features._customer._slug`) are added up, columns are sorted by
    name, and a customer without a purchase in a known channel has no shares (missing).
    """
    from cxlib.features._customer import _slug

    counts = pd.DataFrame(index=per.index)
    for i, channel in enumerate(channels):
        name = f"share_{_slug(channel)}"
        column = per[f"channel_{i}"].fillna(0).astype("int64")
        counts[name] = counts[name] + column if name in counts else column
    counts = counts[sorted(counts.columns)]
    total = counts.sum(axis=1)
    return counts.div(total.where(total > 0), axis=0).astype(float)


def customer_ids(config, con=None) -> pd.Index:
    """The customers file's ids in file order, each once (as loading keeps them)."""
    con = con or connection_for(config)
    customers = canonical_table(con, config, "customers", dedupe=False)
    ids = to_pandas(customers.select("customer_id", "file_row").order_by("file_row"))["customer_id"]
    return pd.Index(ids.dropna().drop_duplicates().to_numpy(dtype=object), name="customer_id")


def friction_table(config, at, long_wait_minutes: float = 20, con=None) -> pd.DataFrame:
    """:func:`cxlib.features.friction_features` before the cut-off ``at``, computed by an engine.

    Parameters
    ----------
    config : Config
        Where the customers and interactions files are.
    at : Timestamp
        The cut-off: only interactions dated strictly before it are read.
    long_wait_minutes : float
        A wait longer than this counts as a long wait.
    con : ibis.BaseBackend, optional
        A connection to reuse; default: the config's engine (:func:`connection_for`).

    Returns
    -------
    DataFrame
        One row per customer signed up before ``at`` (customers file order): ``customer_id`` and,
        with an interactions table, ``support_contacts``, ``complaints``, ``unresolved_complaint``
        (with a ``resolved`` column), ``long_wait`` (with a ``wait_minutes`` column) and
        ``cart_abandonments``, as :func:`cxlib.features.friction_features` gives them.
    """
    con = con or connection_for(config)
    at = pd.Timestamp(at)
    customers = canonical_table(con, config, "customers", dedupe=False)
    customers = customers.select("customer_id", "signup_date", "file_row").order_by("file_row")
    people = _frame(to_pandas(customers)).dropna(subset=["customer_id"]).drop_duplicates("customer_id")
    people = people.loc[people["signup_date"] < at]
    ids = pd.Index(people["customer_id"].to_numpy(dtype=object))
    out = pd.DataFrame({"customer_id": ids.to_numpy()})
    events = canonical_table(con, config, "interactions")
    if events is None:
        return out
    months_seen = np.minimum(tenure_months(people["signup_date"], at).to_numpy(), 12.0).clip(min=0.5)
    return out.join(friction_columns(friction_counts_expr(events, at, long_wait_minutes), ids, months_seen))


def friction_columns(counts_expr, ids: pd.Index, months_seen) -> pd.DataFrame:
    """Run :func:`friction_counts_expr` and turn its counts into the friction features.

    Parameters
    ----------
    counts_expr : ibis.Table
        From :func:`friction_counts_expr`.
    ids : Index
        The customers to report, in order.
    months_seen : array
        Months of the last 12 each customer was signed up (at least half a month), in ``ids`` order.

    Returns
    -------
    DataFrame
        ``support_contacts`` and ``cart_abandonments`` (per month seen), ``complaints``, and the
        flags ``unresolved_complaint`` and ``long_wait`` when the data carry their columns; one
        row per id (positional index), as :func:`cxlib.features.friction_features` gives them.
    """
    counts = _frame(to_pandas(counts_expr)).set_index("customer_id").reindex(ids).fillna(0)
    features = {
        "support_contacts": counts["support_contacts"].to_numpy(float) / months_seen,
        "complaints": counts["complaints"].to_numpy(float),
    }
    if "unresolved" in counts:
        features["unresolved_complaint"] = (counts["unresolved"].to_numpy() > 0).astype(float)
    if "long_waits" in counts:
        features["long_wait"] = (counts["long_waits"].to_numpy() > 0).astype(float)
    features["cart_abandonments"] = counts["cart_abandonments"].to_numpy(float) / months_seen
    return pd.DataFrame(features, index=range(len(ids)))


def friction_counts_expr(events, at, long_wait_minutes: float = 20):
    """Per customer: interactions before ``at`` that count as friction (the row-level query).

    Parameters
    ----------
    events : ibis.Table
        Canonical interactions.
    at : Timestamp
        Exclusive cut-off; "recent" is the :data:`cxlib.features.YEAR_DAYS` days before it.
    long_wait_minutes : float
        A wait longer than this is a long wait.

    Returns
    -------
    ibis.Table
        customer_id, support_contacts (recent), complaints, cart_abandonments (recent) and, with
        their columns, unresolved (complaints marked not resolved) and long_waits.
    """
    at = pd.Timestamp(at)
    e = events.filter((events["timestamp"] < at.to_pydatetime()) & events["customer_id"].notnull())
    recent = e["timestamp"] >= (at - pd.Timedelta(days=YEAR_DAYS)).to_pydatetime()
    kind = e["kind"].lower()
    complaint = kind == "complaint"
    metrics = {
        "support_contacts": e.count(where=(kind == "support_contact") & recent),
        "complaints": e.count(where=complaint),
        "cart_abandonments": e.count(where=(kind == "cart_abandoned") & recent),
    }
    if "resolved" in e.columns:
        metrics["unresolved"] = e.count(where=complaint & (e["resolved"] == False))  # noqa: E712
    if "wait_minutes" in e.columns:
        metrics["long_waits"] = e.count(where=e["wait_minutes"].fill_null(0) > long_wait_minutes)
    return e.group_by("customer_id").aggregate(**metrics)


def to_pandas(expr) -> pd.DataFrame:
    """Run an ibis expression and return its rows as pandas.

    Exact decimal results (sums of :func:`cxlib.engine.validated_transactions` amounts) come back
    as floats (:func:`as_floats`). The libraries' own deprecation notice is silenced
    (:func:`cxlib.engine.quiet`).
    """
    with quiet():
        return as_floats(expr).to_pandas()


def as_floats(expr):
    """``expr`` with its decimal columns cast to float64 by the engine (a table; else as it is).

    Decimals would reach pandas as Python ``Decimal`` objects; the engine's conversion of an exact
    sum to the nearest double is deterministic, so the float is the same every run.
    """
    import ibis.expr.types as ir

    if not isinstance(expr, ir.Table):
        return expr
    decimals = {name: expr[name].cast("float64") for name, kind in expr.schema().items() if kind.is_decimal()}
    return expr.mutate(**decimals) if decimals else expr


def _frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Engine results in the pandas path's dtypes: nanosecond timestamps, ids as Python objects."""
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype("datetime64[ns]")
        elif column == "customer_id":
            frame[column] = frame[column].astype(object)
    return frame


def engine_from_config(config) -> str:
    """The engine the config selects (``data.engine``): duckdb (default), pandas or spark."""
    return config.values["data"].get("engine") or "duckdb"


def connection_for(config):
    """A connection for the config's engine: Spark for ``data.engine: spark``, else DuckDB.

    Spark runs on the process's one session, started on first use with ``data.spark_master``
    (default ``local[2]``, in this process; see :func:`cxlib.engine.spark_session`). The pandas
    engine has no connection: this module's functions then use DuckDB.

    Parameters
    ----------
    config : Config

    Returns
    -------
    ibis.BaseBackend

    Examples
    --------
    >>> con = connection_for(load_config("configs/demo_small.yaml"))  # doctest: +SKIP
    """
    if engine_from_config(config) == "spark":
        return connect("spark", master=config.values["data"].get("spark_master"))
    return connect("duckdb")
