"""Canonical tables as lazy ibis expressions over the input files: nothing is read until a query runs.

The config's table entries (:meth:`cxlib.data._config.Config.table_spec`) say where each file is
and which of its columns is which canonical column. :func:`canonical_table` turns one entry into
an ibis table over the file (CSV or Parquet, read by the engine itself, streaming) with canonical
names and types, as :func:`cxlib.data._load.load_data` would give them for well-formed data:

- columns are read as text and renamed onto the contract (only plain column names; derivations
  such as ``{multiply: [Quantity, UnitPrice]}`` are not expressed yet);
- dates are parsed (ISO, or the entry's ``date_format``), numbers cast, yes/no columns mapped
  with the loader's vocabulary and the entry's ``true_values``;
- exact duplicate rows are dropped, and refund amounts are signed negative (as
  :func:`cxlib.data.sign_refunds`).

An entry this module cannot express raises :class:`EngineUnsupported`, naming what: the caller
then uses the pandas path, which stays the reference (validation and the problem report are still
made there).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

from cxlib.data._contract import CONTRACT
from cxlib.data._parsing import _FALSE, _TRUE

#: Entry keys the engine reads; any other key set in an entry makes it unsupported.
SUPPORTED_KEYS = frozenset({"path", "columns", "true_values", "date_format"})

#: Words that also mean "not a refund" in ``is_refund`` (as the loader reads them).
_SALE_WORDS = frozenset({"sale", "purchase", "order"})


class EngineUnsupported(NotImplementedError):
    """The engine cannot express this input yet; use the pandas path (the message says why)."""


#: Most decimal places an amount may have for the engine to sum amounts exactly, as
#: ``DECIMAL(18, scale)`` (64-bit integers of the smallest unit, summed into 128 bits): money has
#: 0 to 3 places, a unit price times a quantity a few more. Amounts with more places (or none
#: that fit, e.g. results of a division) are summed as floats (in a run on one thread:
#: :func:`cxlib.engine.serial`).
MAX_AMOUNT_SCALE = 6

#: How close (relative to the amount) a double must be to its rounding to ``scale`` places to
#: count as having that many places: a few units in the last place (2**-48, about 3.6e-15), the
#: noise a product such as 6 * 2.55 = 15.299999999999999 carries. Reading it as 15.30 moves the
#: amount by less than that relative noise, far below a cent, so the exact decimal sums equal the
#: float sums of the pandas path to within their own rounding (checked by the tests at 1e-9).
AMOUNT_NOISE = 2.0**-48


def scale_checks(amount) -> dict:
    """Aggregates (ibis) telling which scales hold every value of ``amount`` (:func:`pick_scale`).

    Parameters
    ----------
    amount : ibis.Column
        Float amounts.

    Returns
    -------
    dict
        ``largest`` (the largest absolute amount) and ``scale_<s>`` for s from 0 to
        :data:`MAX_AMOUNT_SCALE` (whether every amount is within :data:`AMOUNT_NOISE` of its
        rounding to s places).
    """
    size = amount.abs()
    checks = {"largest": size.max()}
    for scale in range(MAX_AMOUNT_SCALE + 1):
        checks[f"scale_{scale}"] = ((amount - amount.round(scale)).abs() <= size * AMOUNT_NOISE).all()
    return checks


def pick_scale(largest, fits) -> int | None:
    """The smallest scale whose check holds and whose ``DECIMAL(18, scale)`` holds ``largest``.

    Parameters
    ----------
    largest : float or None
        The largest absolute amount (None: no amounts, then scale 0).
    fits : sequence of bool
        Per scale from 0, whether every amount has that many places (:func:`scale_checks`).

    Returns
    -------
    int or None
    """
    if largest is None:  # no amounts: any scale is exact
        return 0
    for scale, ok in enumerate(fits):
        if ok and largest < 10.0 ** (18 - scale):
            return scale
    return None


@contextmanager
def quiet():
    """Silence the libraries' notices about each other around engine calls, and nowhere else.

    ibis 12 triggers DuckDB 2's ``fetch_arrow_table() is deprecated``; pyspark 3.5 uses
    ``distutils`` version classes and pandas' ``is_datetime64tz_dtype``, both deprecated. They are
    about the libraries, not the data, and a notebook must print no warning (the runner fails one
    that writes to stderr).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"fetch_arrow_table\(\) is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pyspark\.")
        yield


def connect(engine: str = "duckdb", *, session=None, master: str | None = None):
    """A connection (ibis backend) to run the feature expressions on.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        ``duckdb``: a fresh in-process DuckDB connection. ``spark``: Apache Spark through ibis's
        pyspark backend, on ``session`` if given, else on the process's one session (started on
        first use, local by default: :func:`cxlib.engine.spark_session`).
    session : pyspark.sql.SparkSession, optional
        Spark only: a session of your own (e.g. on a cluster).
    master : str, optional
        Spark only: master URL for the process's session (e.g. ``spark://host:7077``); default
        ``local[2]``.

    Returns
    -------
    ibis.BaseBackend

    Raises
    ------
    ValueError
        For another engine name.

    Examples
    --------
    >>> con = connect("spark")  # doctest: +SKIP
    """
    if engine == "duckdb":
        import ibis

        return ibis.duckdb.connect()
    if engine == "spark":
        from cxlib.engine._spark import _backend

        return _backend(session=session, master=master)
    raise ValueError(f"engine {engine!r}: expected duckdb or spark (pandas is the cxlib.features path)")


def read_file(con, path: Path | str):
    """An ibis table over a CSV (every column as text) or Parquet file; nothing is read yet.

    Parameters
    ----------
    con : ibis.BaseBackend
        From :func:`connect`.
    path : Path or str
        ``.csv``/``.txt`` or ``.parquet``/``.pq``.

    Returns
    -------
    ibis.Table

    Raises
    ------
    EngineUnsupported
        For any other kind of file (Excel is read by the pandas path).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    with quiet():
        if suffix in (".csv", ".txt"):
            if _on_spark(con):
                return _spark_csv(con, path)
            # the words pandas reads as missing are missing here too, at the reader (cheapest)
            return con.read_csv(str(path), all_varchar=True, header=True, nullstr=list(NA_TEXT))
        if suffix in (".parquet", ".pq"):
            if _on_spark(con):
                _check_spark_parquet(path)
            return con.read_parquet(str(path))
    raise EngineUnsupported(f"{path.name}: the engine reads CSV and Parquet files only")


# ---- what differs between engines: reading files, file order and a row hash (nothing else) ------


def _on_spark(con) -> bool:
    """Whether ``con`` is ibis's pyspark backend (else DuckDB)."""
    return con.name == "pyspark"


def _spark_csv(con, path: Path):
    """Spark's CSV reader set up as DuckDB's above: every column text, quotes doubled inside quotes.

    Spark's reader takes one word for missing (it reads an empty field as missing), so the other
    words of :data:`NA_TEXT` are made missing here, by one cheap membership test per column (Spark
    keeps a list of constants as a hash set, no join). A field split over lines inside quotes is
    not read (Spark's ``multiLine`` would read each file in one task).
    """
    import ibis

    raw = con.read_csv(str(path), header=True, inferSchema=False, escape='"')
    words = list(NA_TEXT)
    return raw.mutate(
        **{name: ibis.ifelse(raw[name].isin(words), ibis.null("string"), raw[name]) for name in raw.columns}
    )


def _check_spark_parquet(path: Path) -> None:
    """Refuse nanosecond timestamps, which Spark 3.5 does not read (pandas writes them by default).

    Only the file's footer is read. Spark would fail inside a task, with a long Java error.
    """
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(path).schema
    columns = [schema.column(i) for i in range(len(schema))]
    nanos = [c.path for c in columns if "timeUnit=nanoseconds" in str(c.logical_type)]
    if nanos:
        raise EngineUnsupported(
            f"{path.name}: Spark does not read nanosecond timestamps ({', '.join(nanos)}); write the "
            "file with microseconds (pandas: to_parquet(..., coerce_timestamps='us', "
            "allow_truncated_timestamps=True)) or use data.engine: duckdb"
        )


def _file_order(con):
    """A number that grows with the file's row order, put on the plain scan.

    DuckDB numbers the rows of a plain scan in file order (``ROW_NUMBER()``). Spark would move every
    row to one task for that and need not keep the order on the way; its
    ``monotonically_increasing_id()`` numbers each split's rows where they are read, in file order
    (not consecutive, which sorting does not need).
    """
    import ibis

    if not _on_spark(con):
        return ibis.row_number()

    @ibis.udf.scalar.builtin
    def monotonically_increasing_id() -> int:  # Spark's own function
        """Spark SQL's ``monotonically_increasing_id()``."""

    return monotonically_increasing_id()


def _row_hash(con, raw):
    """A 64-bit hash of the whole row, which tells distinct rows apart.

    DuckDB's ``hash`` of the row as a struct. Spark's ``hash`` has 32 bits and skips missing fields
    (so ``(x, NULL)`` and ``(NULL, x)`` collide): there the row's JSON text (field names included)
    is hashed with ``xxhash64``.
    """
    return _hash_of(con, {c: raw[c] for c in raw.columns})


def _hash_of(con, columns: dict):
    """:func:`_row_hash` of the named columns (of one table)."""
    import ibis

    whole = ibis.struct(columns)
    if not _on_spark(con):
        return whole.hash()

    @ibis.udf.scalar.builtin
    def xxhash64(text: str) -> int:  # Spark's own function
        """Spark SQL's ``xxhash64(text)``."""

    return xxhash64(whole.cast("json").cast("string"))


def canonical_table(con, config, table: str, extra: tuple[str, ...] = (), dedupe: bool = True):
    """The configured ``table`` as an ibis table with canonical column names and types.

    Parameters
    ----------
    con : ibis.BaseBackend
        From :func:`connect`.
    config : Config
        The run's config.
    table : str
        Canonical table name (``customers``, ``transactions``, ``interactions``, ...).
    extra : tuple of str
        File columns kept under their own names (text), e.g. a column named in
        ``segmentation.exclude_transactions``.
        Transactions also get ``row_key``: for a row without an order id, a hash of the whole
        (deduplicated, hence unique) row; missing otherwise.
    dedupe : bool or None
        Drop exact duplicate rows (as loading does). None keeps the rows as read, with no
        ``DISTINCT`` (transactions: ``row_key`` as with True, which tells rows apart only when
        they are unique; :func:`transactions_as_orders` uses it once it has checked that they
        are). False instead numbers the rows in file order
        (column ``file_row``, counted on the plain scan, the one step where the file's order is
        known: :func:`_file_order`) and sorts by it, e.g. to list customer ids in file order; the
        caller then drops repeated ids itself. (Later steps may reorder rows: an ``IN`` list of
        many values becomes a join, which does not keep order on a large file.)

    Returns
    -------
    ibis.Table or None
        None when the config has no such table.

    Raises
    ------
    EngineUnsupported
        When the entry uses what the engine does not express (derivations, Excel, options such as
        ``drop_missing``), or a mapped column is missing from the file.
    """
    import ibis

    spec = config.table_spec(table)
    if spec is None:
        return None
    path = config.table_path(table)
    if path is None:
        raise EngineUnsupported(f"{table}: a table without a file (derived) is made by the pandas path")
    used = [k for k, v in spec.items() if k not in SUPPORTED_KEYS and v not in (None, {}, [], False)]
    if used:
        raise EngineUnsupported(f"{table}: the engine does not express {', '.join(sorted(used))} yet")
    raw = read_file(con, path)
    csv = path.suffix.lower() in (".csv", ".txt")
    mapping = _mapping(raw.columns, spec["columns"], table)
    _check_dates(raw, mapping, table, spec.get("date_format"), csv)
    for name in extra:
        if name not in raw.columns:
            raise KeyError(f"exclude: transactions have no column '{name}'")
    if dedupe:
        raw = raw.distinct()  # exact duplicate rows go first, as when loading
    elif dedupe is False:
        raw = raw.mutate(file_row=_file_order(con))
    true_values = {k: {str(v).lower() for v in vals} for k, vals in (spec.get("true_values") or {}).items()}
    columns = {}
    for name, source in mapping.items():
        kind = CONTRACT[table][name][0]
        columns[name] = _typed(raw[source], kind, name, spec.get("date_format"), true_values.get(name), csv)
    for name in extra:
        if name not in columns:
            columns[name] = _as_read(raw[name]) if csv else raw[name].cast("string")
    if dedupe is False:
        columns["file_row"] = raw["file_row"]
    if table == "transactions" and dedupe is not False:
        # a row without an order id is its own order: after dropping exact duplicates the hash of
        # the whole row tells such rows apart (no window function, which would stop streaming)
        has_order = raw[mapping["order_id"]].notnull() if "order_id" in mapping else ibis.literal(False)
        columns["row_key"] = ibis.ifelse(has_order, ibis.null("int64"), _row_hash(con, raw))
    if table == "transactions" and dedupe is None:  # tells distinct rows apart (for the check)
        columns[WHOLE_ROW] = _row_hash(con, raw)
    out = raw.select(**columns)
    if table == "transactions":
        refund = out["is_refund"] if "is_refund" in out.columns else out["amount"] < 0
        refund = refund.fill_null(False)
        out = out.mutate(is_refund=refund, amount=ibis.ifelse(refund, -out["amount"].abs(), out["amount"]))
    return out.order_by("file_row") if dedupe is False else out


#: Column of :func:`canonical_table` with ``dedupe=None``: the hash of the whole row as read.
WHOLE_ROW = "__whole_row"


def transactions_as_orders(con, config, extra: tuple[str, ...] = (), temp_name: str | None = None):
    """The canonical transactions, and whether each row (or each distinct row) is a whole order.

    One query over the rows as read (:func:`canonical_table` with ``dedupe=None``) counts them,
    those with an order id, the distinct hashes of (customer, order id, kind) (keys) and of the
    whole rows. Every row having an order id:

    - ``"rows"``: no two rows share a key. Each row is a whole order, and no two rows are exact
      duplicates either: dropping duplicates (a ``DISTINCT`` over every column, the costliest
      step on millions of rows) and grouping rows into orders would both return the rows as they
      are, so the caller skips both (:func:`cxlib.engine.orders_expr` with ``rows_are_orders``).
      A hash collision can only make the answer "not rows", which costs time and never changes
      a result.
    - ``"duplicates"``: as many distinct rows as keys, so the rows sharing a key are exact
      duplicates (as in the demo data, which plant some): once they are dropped each row is an
      order, so one grouping by key taking one row's values (``orders_expr`` with
      ``duplicate_rows``) replaces the ``DISTINCT`` and the grouping by order. Here a collision
      of two whole-row hashes could hide a second distinct row of a key (that order would count
      one line): at most about n**2 / 2**65 (1e-5 at 20M rows); :data:`WHOLE_ROW` is DuckDB's
      64-bit hash.

    Otherwise (line-level data, rows without an order id) the rows are deduplicated and grouped
    as :func:`canonical_table` and :func:`cxlib.engine.orders_expr` do. The same query lists the channels of the sale rows (purchases are
    among them; :func:`cxlib.engine.transaction_features` keeps those with a purchase) and finds
    the amounts' scale (:func:`scale_checks`): with one, amounts are exact ``DECIMAL(18, scale)``
    values, whose sums do not depend on the order rows are added in (threads, DISTINCT or not).

    Parameters
    ----------
    con : ibis.BaseBackend
    config : Config
    extra : tuple of str
        As :func:`canonical_table`.
    temp_name : str, optional
        For a CSV file on DuckDB: the typed rows are kept in a temporary table of this name (the
        caller drops it), so the text is parsed once for the check and the queries after it
        (parsing is most of their cost; the table takes about 70 bytes a row).

    Returns
    -------
    table : ibis.Table or None
        As :func:`canonical_table` gives it, amounts as decimals when they have a scale (None
        without a transactions table).
    shape : {"rows", "duplicates"} or None
        As above (None: the full path).
    channels : list or None
        Known channels of the sale rows, sorted, with a shape (else None: unknown).
    """
    import ibis.expr.datatypes as dt

    rows = canonical_table(con, config, "transactions", extra, dedupe=None)
    if rows is None or "order_id" not in rows.columns:
        return canonical_table(con, config, "transactions", extra), None, None
    csv = config.table_path("transactions").suffix.lower() in (".csv", ".txt")
    # parse the text once, not for each query (DuckDB's table names are case-blind: an extra column
    # such as "Channel" beside "channel" stays unmaterialised)
    distinct_names = len({c.lower() for c in rows.columns}) == len(rows.columns)
    if temp_name and csv and distinct_names and not _on_spark(con):
        with quiet():
            rows = con.create_table(temp_name, rows, temp=True)
    key = _hash_of(con, {c: rows[c] for c in ("customer_id", "order_id", "is_refund")})
    metrics = {
        "rows": rows.count(),
        "with_id": rows["order_id"].count(),
        "keys": key.nunique(),
        "distinct": rows[WHOLE_ROW].nunique(),
    }
    metrics.update(scale_checks(rows["amount"]))
    if "channel" in rows.columns:
        sale = ~rows["is_refund"] & rows["channel"].notnull()
        metrics["channels"] = rows["channel"].collect(where=sale, distinct=True)
    with quiet():
        found = rows.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    scale = pick_scale(found["largest"], [found[f"scale_{s}"] for s in range(MAX_AMOUNT_SCALE + 1)])
    shape, table, channels = None, canonical_table(con, config, "transactions", extra), None
    if found["rows"] == found["with_id"]:
        if found["keys"] == found["rows"]:
            shape = "rows"
        elif found["keys"] == found["distinct"]:
            shape = "duplicates"
    if shape is not None:
        table, channels = rows.drop(WHOLE_ROW), sorted(found.get("channels") or [])
    if scale is not None:  # exact sums, the same in any order (and on any engine)
        table = table.mutate(amount=table["amount"].cast(dt.Decimal(18, scale)))
    return table, shape, channels


#: Rows of a file whose dates are checked to parse before the engine trusts them.
DATE_SAMPLE_ROWS = 1_000


def _check_dates(raw, mapping: dict, table: str, date_format: str | None, csv: bool) -> None:
    """Refuse dates the engine would read as missing (the pandas loader infers more formats).

    Only the first :data:`DATE_SAMPLE_ROWS` rows are checked (one cheap query); a date that does
    not parse would otherwise drop its row silently.
    """
    dates = [name for name in mapping if CONTRACT[table][name][0] == "date"]
    if not dates:
        return
    sample = raw.limit(DATE_SAMPLE_ROWS)
    checks = {}
    for name in dates:
        source = sample[mapping[name]]
        parsed = _typed(source, "date", name, date_format, None, csv)
        checks[name] = (source.notnull() & parsed.isnull()).sum()
    with quiet():
        counts = sample.aggregate(**checks).to_pandas().iloc[0]
    bad = [f"{table}.{name}" for name in dates if counts[name] > 0]
    if bad:
        raise EngineUnsupported(
            f"{', '.join(bad)}: dates the engine does not read (it reads ISO dates, or the entry's "
            "date_format); the pandas path infers the format"
        )


def _mapping(file_columns, columns: dict, table: str) -> dict[str, str]:
    """Canonical name -> file column: the entry's mapping, then names that already match."""
    import re

    def norm(name):
        return re.sub(r"[^a-z0-9]", "", str(name).lower())

    mapping = {}
    for name, source in (columns or {}).items():
        if not isinstance(source, str):
            raise EngineUnsupported(f"{table}.{name}: derived columns are made by the pandas path")
        if source not in file_columns:
            raise EngineUnsupported(f"{table}.{name}: the file has no column '{source}'")
        mapping[name] = source
    by_norm = {norm(c): c for c in file_columns}
    for name in CONTRACT[table]:
        if name not in mapping and norm(name) in by_norm and by_norm[norm(name)] not in mapping.values():
            mapping[name] = by_norm[norm(name)]
    return mapping


#: Fields pandas reads as missing (``pandas.read_csv`` defaults), so the engine reads them so too.
NA_TEXT = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


def _as_read(column):
    """A text field as the pandas reader gives it: leading spaces skipped.

    The words pandas reads as missing are already missing (:func:`read_file`); a Parquet file's
    text is taken as it is, as pandas does.
    """
    return column.lstrip()


def _yes_no(low, trues: set, falses: set | None):
    """True for a word of ``trues``, False for one of ``falses`` (None: any other value), else missing.

    Written as a chain of comparisons: DuckDB turns an ``IN`` list (or a list membership test) into
    a join, which is slower here and loses the file's row order.
    """
    import ibis

    cases = [(low == word, True) for word in sorted(trues)]
    if falses is None:
        cases.append((low.notnull(), False))
    else:
        cases += [(low == word, False) for word in sorted(falses)]
    return ibis.cases(*cases, else_=ibis.null("boolean"))


def _typed(column, kind: str, name: str, date_format: str | None, true_values: set | None, csv: bool):
    """A raw column in its canonical type (values that do not parse become missing)."""
    text = _as_read(column) if csv and column.type().is_string() else column
    if kind == "date":
        if column.type().is_timestamp() or column.type().is_date():
            return column.cast("timestamp")
        if date_format:  # ibis types a parsed date as UTC; canonical dates carry no zone
            return text.as_timestamp(date_format).cast("timestamp")
        return text.try_cast("timestamp")
    if kind in ("number", "money", "rating", "count"):
        return text.try_cast("float64")
    if kind == "bool":
        if column.type().is_boolean():
            return column
        low = column.cast("string").strip().lower()
        trues = _TRUE | (true_values or set())
        falses = _FALSE | (_SALE_WORDS if name == "is_refund" else set())
        return _yes_no(low, trues, None if true_values else falses)  # listed trues: all else is False
    return text.cast("string")
