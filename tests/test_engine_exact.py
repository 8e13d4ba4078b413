"""A run's engine queries give bit-identical numbers whatever the order of the rows (any thread count).

DuckDB sums in parallel, so a float sum depends on which thread added which rows. The run's
queries (:func:`cxlib.engine.run_connection`, on every core) sum the amounts as exact decimals
(:func:`cxlib.engine.amount_scale`), so a copy of the validated transactions with its rows
shuffled (another order, as other threads would take) must give every table bit for bit. The
test has power: the plain float sums of the same amounts do differ between the two orders.
"""

import functools
import json
import operator
import shutil

import numpy as np
import pandas as pd
import pytest

from cxlib.run._artifacts import load_validated, save_validated


@pytest.fixture(scope="module")
def run_data(small_data, small_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    save_validated(small_data, folder, small_config)
    return load_validated(folder)


def _shuffled_copy(run_data, tmp_path, rows_are_orders: bool):
    folder = tmp_path / "shuffled"
    shutil.copytree(run_data.source.parent, folder)
    validated = folder / run_data.source.name
    path = validated / "transactions.parquet"
    rows = pd.read_parquet(path).sample(frac=1.0, random_state=7).reset_index(drop=True)
    rows.to_parquet(path)
    record = json.loads((validated / "data.json").read_text())
    record["rows_are_orders"] = rows_are_orders
    (validated / "data.json").write_text(json.dumps(record))
    return load_validated(folder), rows


def _tables(data) -> dict:
    from cxlib import engine
    from cxlib.engine._experience import order_channels_from_validated, purchase_summary_from_validated

    as_of = pd.Timestamp(data.as_of)
    ids = pd.Index(data["customers"]["customer_id"], name="customer_id")
    summary, calibration, counts = engine.repeat_purchases_from_validated(
        data, 7.0, as_of - pd.Timedelta(days=365)
    )
    purchases = purchase_summary_from_validated(data, as_of - pd.Timedelta(days=200))
    tables = {
        "features": engine.features_from_validated(data),
        "drivers": engine.driver_orders_from_validated(data, as_of - pd.Timedelta(days=100), ids),
        "spend": engine.recent_spend_from_validated(data, as_of - pd.Timedelta(days=90), as_of, ids),
        "purchases": engine.purchase_count_from_validated(data, as_of - pd.Timedelta(days=90), as_of),
        "summary": summary,
        "calibration": calibration,
        "counts": counts,
        "customers": purchases["customers"],
        "channels": purchases["channels"],
        "order_channels": order_channels_from_validated(data),
        "channel_mix": engine.channel_aggregates(data, 10),
    }
    for name, figures in (
        ("kpi", engine.kpi_aggregates(data, 90)),
        ("monthly", engine.monthly_aggregates(data)),
    ):
        for key, value in figures.items():
            tables[f"{name}.{key}"] = value
    return tables


def _assert_identical(got, want, name):
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True, obj=name)
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), name
        for key in want:
            _assert_identical(got[key], want[key], f"{name}.{key}")
    else:
        assert got == want, name


@pytest.mark.parametrize("rows_are_orders", [True, False])
def test_shuffled_rows_give_bit_identical_tables(run_data, tmp_path, rows_are_orders):
    from cxlib.engine import amount_scale

    assert amount_scale(run_data.source / "transactions.parquet") == 2  # the demo's cents: exact sums
    shuffled, rows = _shuffled_copy(run_data, tmp_path, rows_are_orders)
    original = pd.read_parquet(run_data.source / "transactions.parquet")

    def float_sums(frame):  # what an order-dependent float aggregate would give: a sum in row order
        return frame.groupby("customer_id", sort=True)["amount"].agg(
            lambda x: functools.reduce(operator.add, x.tolist(), 0.0)
        )

    differ = float_sums(original).to_numpy() != float_sums(rows).to_numpy()
    assert differ.sum() > 0  # the shuffle changes float sums: a float aggregate would fail below
    want, got = _tables(run_data), _tables(shuffled)
    assert want.keys() == got.keys()
    for name in want:
        _assert_identical(got[name], want[name], name)


@pytest.mark.parametrize(
    ("amounts", "scale"),
    [
        ([1.0, -3.0, 0.0], 0),
        ([19.99, -5.5, 0.1 + 0.2], 2),  # 0.30000000000000004 is 0.3 within float noise
        ([6 * 2.55, 1.25], 2),  # 15.299999999999999: a product's noise
        ([2.125, 1.5], 3),
        ([1 / 3, 1.0], None),  # no scale holds 1/3: float sums on one thread
        ([1e17, 0.5], None),  # too large for DECIMAL(18, 1)
        ([float("nan"), 1.0], None),
    ],
)
def test_amount_scale(tmp_path, amounts, scale):
    from cxlib.engine import amount_scale

    path = tmp_path / "transactions.parquet"
    pd.DataFrame({"customer_id": ["a"] * len(amounts), "amount": amounts}).to_parquet(path)
    if any(np.isnan(amounts)):  # pandas writes NaN as missing: write a real NaN
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(
            pa.table({"customer_id": ["a", "a"], "amount": pa.array(amounts, from_pandas=False)}), path
        )
    assert amount_scale(path) == scale


def test_amounts_without_a_scale_are_summed_on_one_thread(run_data, tmp_path):
    from cxlib.engine import features_from_validated, run_connection, validated_transactions

    folder = tmp_path / "thirds"
    shutil.copytree(run_data.source.parent, folder)
    path = folder / run_data.source.name / "transactions.parquet"
    rows = pd.read_parquet(path)
    rows["amount"] = rows["amount"] / 3
    rows.to_parquet(path)
    data = load_validated(folder)
    con = run_connection()
    threads = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    tx = validated_transactions(con, data.source)
    assert tx.schema()["amount"].is_floating()
    assert con.raw_sql("SELECT current_setting('threads')").fetchone()[0] == 1 <= threads
    exact = validated_transactions(run_connection(), run_data.source)
    assert exact.schema()["amount"].is_decimal()
    third = features_from_validated(data)
    whole = features_from_validated(run_data)
    np.testing.assert_allclose(third["monetary"], whole["monetary"] / 3, rtol=1e-12, atol=1e-12)


def test_the_scale_is_recorded_when_saving_and_read_while_the_file_is_the_same(run_data, tmp_path):
    from cxlib.engine import amount_scale

    path = run_data.source / "transactions.parquet"
    record = json.loads((run_data.source / "data.json").read_text())["amount_scale"]
    assert record["scale"] == 2 and record["size"] == path.stat().st_size
    folder = tmp_path / "copy"
    shutil.copytree(run_data.source, folder)
    saved = json.loads((folder / "data.json").read_text())
    saved["amount_scale"]["scale"] = 5  # a record is believed only for the very file it was found for
    (folder / "data.json").write_text(json.dumps(saved))
    assert amount_scale(folder / "transactions.parquet") == 5
    rows = pd.read_parquet(folder / "transactions.parquet")
    rows.assign(amount=rows["amount"] / 3).to_parquet(folder / "transactions.parquet")
    assert amount_scale(folder / "transactions.parquet") is None  # another file: scanned again
