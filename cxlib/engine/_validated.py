"""The run's validated data as the engine's canonical tables: features without pandas on the rows.

The runner saves the validated tables once as Parquet (:func:`cxlib.run.save_validated`), already
renamed, typed, free of exact duplicates and with refunds signed. Read through the engine they are
the canonical tables :func:`cxlib.engine.canonical_table` makes from the input files, so the same
feature definitions (:mod:`cxlib.engine._features`) run on them with nothing left to clean: this is
how a notebook builds its per-customer tables at scale (:func:`cxlib.features.features_from_config`
with ``data.engine: duckdb``), while the tables the models use stay pandas DataFrames.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxlib.engine._tables import EngineUnsupported, connect, quiet

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
        negative), is_refund, channel (when present), the ``extra`` columns and ``row_key`` (a
        hash of the whole row for a row without an order id: rows are unique after validation,
        so it tells such rows apart; missing otherwise).

    Raises
    ------
    EngineUnsupported
        When the folder holds no Parquet copy of the transactions.
    """
    import ibis

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

    if getattr(data, "source", None) is None:
        raise EngineUnsupported("the data were not read from a run's validated Parquet files")
    con = con or connect()
    tx = validated_transactions(con, data.source, tuple(exclude or ()))
    customers = pd.Index(data["customers"]["customer_id"], name="customer_id")
    return transaction_features(
        None, exclude=exclude, as_of=data.as_of, con=con, customers=customers, transactions=tx
    )
