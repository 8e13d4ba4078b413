"""``data.engine: duckdb``: a notebook's per-customer table is built by the engine from the run's
validated Parquet files, and equals the pandas table column by column.

References: :func:`cxlib.features.customer_features` on the same data (itself checked against an
independent plain-pandas computation in ``tests/test_engine.py`` and, for Online Retail, in
``tests/test_rfm.py``). Data without a Parquet source, or a config on the pandas engine, use pandas.
"""

import numpy as np
import pandas as pd
import pytest

from cxlib.data import load_config
from cxlib.engine import EngineUnsupported, features_from_validated
from cxlib.features import features_from_config
from cxlib.run._artifacts import load_validated, save_validated

from .conftest import SMALL_CONFIG


@pytest.fixture(scope="module")
def run_data(small_data, small_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    save_validated(small_data, folder, small_config)
    return load_validated(folder)


def test_engine_table_equals_pandas_on_the_small_demo(small_data, small_config, run_data):
    expected = features_from_config(
        small_data, small_config
    )  # pandas: data read from the files have no Parquet source
    config = load_config(SMALL_CONFIG, {"data.engine": "duckdb"})
    got = features_from_config(run_data, config)
    assert len(got) == len(small_data["customers"]) and got["frequency"].sum() > 0
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-9)


def test_exclusions_and_cutoffs_reach_the_engine(run_data, small_data):
    exclude = {"channel": ["web"]}
    got = features_from_validated(run_data, exclude)
    from cxlib.features import customer_features

    expected = customer_features(small_data, exclude=exclude)
    assert "share_web" not in got
    pd.testing.assert_frame_equal(got, expected[got.columns], check_exact=False, rtol=0, atol=1e-9)


def test_without_a_parquet_source_pandas_computes(small_data):
    assert small_data.source is None
    with pytest.raises(EngineUnsupported, match="validated Parquet"):
        features_from_validated(small_data)
    config = load_config(SMALL_CONFIG, {"data.engine": "duckdb"})
    assert features_from_config(small_data, config)["frequency"].sum() > 0


@pytest.mark.parametrize("at", ["2025-07-01", "2026-01-01"])
def test_churn_driver_features_equal_pandas_at_a_cutoff(small_data, run_data, at):
    from cxlib.features import driver_features

    expected = driver_features(small_data, pd.Timestamp(at), ["Age", "Products"])
    got = driver_features(run_data, pd.Timestamp(at), ["Age", "Products"], engine="duckdb")
    assert {"orders_per_month_12m", "refunded_order_share", "complaints", "long_wait"} <= set(got)
    assert got["orders_per_month_12m"].gt(0).mean() > 0.3 and got["complaints"].sum() > 0
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-9)


def test_churn_panel_through_the_config_switch(small_data, run_data):
    from cxlib.churn import churn_panel

    config = load_config(SMALL_CONFIG, {"data.engine": "duckdb"})
    expected = churn_panel(small_data, load_config(SMALL_CONFIG))
    got = churn_panel(run_data, config)
    pd.testing.assert_frame_equal(got.frame, expected.frame, check_exact=False, rtol=0, atol=1e-9)
    assert got.numeric == expected.numeric and got.categorical == expected.categorical


def test_overview_tables_equal_pandas(small_data, small_config, run_data):
    from cxlib.overview import data_overview

    expected = data_overview(small_data, small_config)
    fresh = load_validated(run_data.source.parent)
    got = data_overview(fresh, load_config(SMALL_CONFIG, {"data.engine": "duckdb"}))
    assert "transactions" not in fresh.tables._read  # every transaction figure came from the engine
    for name in ("kpis", "monthly", "channels", "health", "dropped"):
        pd.testing.assert_frame_equal(
            getattr(got, name), getattr(expected, name), check_exact=False, rtol=1e-12, obj=name
        )
    assert len(got.monthly) >= 24 and set(got.channels["channel"]) >= {"web", "app", "store"}


def test_overview_pools_small_channels_through_pandas(small_data, run_data):
    """A channel below the minimum group size needs pooling: the engine hands the table to pandas."""
    from cxlib.engine import channel_aggregates
    from cxlib.overview import channel_mix

    assert channel_aggregates(run_data, min_group_size=10**6) is None
    assert channel_aggregates(run_data, min_group_size=10) is not None
    pooled = channel_mix(small_data["transactions"], small_data.as_of, 10**6)
    assert pooled["channel"].str.startswith("Other").any() or pooled.empty


def test_same_data_give_bit_identical_tables(run_data):
    """Float sums in parallel threads differ in their last bits; a run's queries sum exact decimals."""
    first = features_from_validated(run_data)
    for _ in range(3):
        pd.testing.assert_frame_equal(features_from_validated(run_data), first, check_exact=True)


def test_rows_that_are_orders_are_not_grouped_and_give_the_same_table(small_data, run_data):
    """The demo has one row per order: found once when saving, the queries then skip the grouping."""
    from cxlib.engine import rows_are_orders, run_connection, transaction_features, validated_transactions

    tx = small_data["transactions"].dropna(subset=["order_id"])
    independent = not tx.duplicated(["customer_id", "order_id", "is_refund"]).any()
    assert independent and rows_are_orders(run_data.source) is True
    con = run_connection()
    customers = pd.Index(small_data["customers"]["customer_id"], name="customer_id")
    tables = [
        transaction_features(
            None,
            as_of=small_data.as_of,
            con=con,
            customers=customers,
            transactions=validated_transactions(con, run_data.source),
            rows_are_orders=shortcut,
        )
        for shortcut in (False, True)
    ]
    pd.testing.assert_frame_equal(tables[1], tables[0], check_exact=True)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ({"order_id": ["A", "A"], "is_refund": [False, False]}, False),  # two lines of one order
        ({"order_id": ["A", "A"], "is_refund": [False, True]}, True),  # a sale and its refund
        ({"order_id": [None, None], "is_refund": [False, False]}, True),  # rows without an id
        ({"is_refund": [False, False]}, True),  # no order ids at all
    ],
)
def test_order_rows_unique(tmp_path, rows, expected):
    from cxlib.engine import order_rows_unique

    path = tmp_path / "transactions.parquet"
    pd.DataFrame({"customer_id": ["c1", "c1"], **rows, "amount": [5.0, -5.0]}).to_parquet(path)
    assert order_rows_unique(path) is expected


def test_experience_purchases_and_channels_equal_pandas(small_data, run_data):
    """The experience study's transaction aggregates: engine queries equal the pandas reference."""
    from cxlib.experience import order_channels, purchase_summary

    start = small_data["interactions"]["timestamp"].min()
    expected = purchase_summary(small_data, start, engine="pandas")
    got = purchase_summary(run_data, start, engine="duckdb")
    assert got["has_channel"] and expected["has_channel"]
    assert 0 < expected["channels"]["since"].sum() < expected["channels"]["purchases"].sum()
    assert expected["customers"]["second"].notna().mean() > 0.3
    pd.testing.assert_frame_equal(got["channels"], expected["channels"], check_exact=True)
    counts = ["customer_id", "purchases", "since", "first", "second"]
    pd.testing.assert_frame_equal(got["customers"][counts], expected["customers"][counts], check_exact=True)
    # net amounts: summed per customer by the engine, in another order than pandas (rounding only)
    np.testing.assert_allclose(got["customers"]["net"], expected["customers"]["net"], rtol=1e-12, atol=1e-9)
    pd.testing.assert_series_equal(
        order_channels(run_data, engine="duckdb"), order_channels(small_data), check_exact=True
    )
    # spend per active month from the summary's net amounts, as the per-customer features have it
    from cxlib.experience._study import _spend

    features = features_from_config(small_data, load_config(SMALL_CONFIG, {"data.engine": "pandas"}))
    for data, summary in ((small_data, expected), (run_data, got)):
        spend = _spend(data, load_config(SMALL_CONFIG), summary)["spend_per_month"]
        assert spend.gt(0).mean() > 0.5
        pd.testing.assert_series_equal(spend, features["spend_per_month"], check_exact=False, rtol=1e-12)


def test_experience_study_through_the_engine_equals_pandas(small_data, small_config, run_data):
    """Notebook 03 on a run's Parquet files: same tables, and no transaction row read by pandas."""
    from cxlib.experience import experience_study
    from tests.test_friction import _churn_table

    churn = _churn_table()  # a saved churn table: the churn model is notebook 02's work
    pandas_config = load_config(SMALL_CONFIG, {"data.engine": "pandas"})
    expected = experience_study(small_data, pandas_config, None, churn, n_boot=20)
    fresh = load_validated(run_data.source.parent)
    got = experience_study(fresh, small_config, None, churn, n_boot=20)
    assert "transactions" not in fresh.tables._read
    for name in ("groups", "kpis", "effects", "referred_value"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), rtol=1e-12, obj=name)
    for name in ("stages", "by_group", "by_cohort", "checkout"):
        pd.testing.assert_frame_equal(
            getattr(got.funnel, name), getattr(expected.funnel, name), rtol=1e-12, obj=name
        )
