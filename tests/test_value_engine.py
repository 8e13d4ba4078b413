"""The value study's repeat-purchase tables from a run's validated Parquet data equal the pandas path.

With a Parquet source (:func:`cxlib.run.load_run_data` in a run) the engine builds the purchase
days once (:func:`cxlib.engine.repeat_purchases_from_validated`); the pandas functions
(:func:`cxlib.features.repeat_purchase_summary`, :func:`cxlib.value.repeat_day_counts`) are the
reference. Sums of amounts may differ in their last bits (another addition order), nothing else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.engine import EngineUnsupported, repeat_purchases_from_validated
from cxlib.features import repeat_purchase_summary
from cxlib.run._artifacts import load_validated, save_validated
from cxlib.value import repeat_day_counts

from .conftest import SMALL_CONFIG  # noqa: F401


@pytest.fixture(scope="module")
def run_data(small_data, small_config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    save_validated(small_data, folder, small_config)
    return load_validated(folder)


@pytest.fixture(scope="module")
def cal_end(small_data):
    return pd.Timestamp(small_data.as_of).normalize() - pd.DateOffset(months=6)


@pytest.fixture(scope="module")
def engine_tables(run_data, cal_end):
    return repeat_purchases_from_validated(run_data, 7.0, cal_end)


def test_summaries_equal_pandas_on_the_small_demo(small_data, engine_tables, cal_end):
    summary, calibration, counts = engine_tables
    transactions = small_data["transactions"]
    as_of = pd.Timestamp(small_data.as_of)
    want = repeat_purchase_summary(transactions, as_of, unit_days=7.0)
    want_cal = repeat_purchase_summary(transactions, cal_end, as_of, unit_days=7.0)
    for got, expected in ((summary, want), (calibration, want_cal)):
        assert got.index.equals(expected.index)
        assert got.attrs == expected.attrs
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-9)
        exact = [c for c in got if c != "monetary_value"]
        pd.testing.assert_frame_equal(got[exact], expected[exact], check_exact=True)
    assert (calibration["frequency_holdout"] > 0).any() and (summary["frequency"] > 0).sum() > 100
    pd.testing.assert_series_equal(
        counts, repeat_day_counts(transactions, want_cal, as_of), check_names=False, check_index_type=False
    )


def test_counts_are_the_repeat_days_of_the_calibration_customers(engine_tables, cal_end):
    summary, calibration, counts = engine_tables
    # every repeat purchase day up to the analysis date of a customer born by the calibration end
    expected = int(calibration["frequency"].sum() + calibration["frequency_holdout"].sum())
    assert int(counts.sum()) == expected
    assert counts.index.min() > calibration["first_purchase"].min()


def test_the_value_study_gives_the_pandas_numbers(small_data, run_data, small_config):
    from cxlib import value

    ids = small_data["customers"]["customer_id"].head(900)
    from .test_cx_report import _restricted

    want = value.value_study(_restricted(small_data, ids), small_config)
    folder = run_data.source.parent.parent / "slice"
    save_validated(_restricted(small_data, ids), folder, small_config)
    got = value.value_study(load_validated(folder), small_config)
    assert got.unavailable == want.unavailable and got.chosen == want.chosen
    pd.testing.assert_frame_equal(got.value.table, want.value.table, check_exact=False, rtol=1e-8, atol=1e-8)
    pd.testing.assert_frame_equal(got.cumulative, want.cumulative, check_exact=False, rtol=1e-9)
    assert np.allclose(got.spend.params_, want.spend.params_, rtol=1e-7)


def test_same_data_give_bit_identical_tables(run_data, engine_tables, cal_end):
    again = repeat_purchases_from_validated(run_data, 7.0, cal_end)
    for first, second in zip(engine_tables, again, strict=True):
        if isinstance(first, pd.DataFrame):
            pd.testing.assert_frame_equal(first, second, check_exact=True)
        else:
            pd.testing.assert_series_equal(first, second, check_exact=True)


def test_without_a_parquet_source_it_refuses(small_data):
    with pytest.raises(EngineUnsupported, match="validated Parquet"):
        repeat_purchases_from_validated(small_data, 7.0)


def test_models_fitted_on_a_sample_above_the_threshold_say_so_and_stay_close(
    small_data, small_config, monkeypatch
):
    """The fit sample (``FIT_CUSTOMERS``): seeded; the full-data value inside the sampled fit's interval.

    On the first 1,500 customers of the small demo the threshold is lowered to 500, so the models are
    fitted on about a third of the 1,400 customers with a purchase; the value of the whole base from that
    fit must lie within 15% of the full-data value and the full-data value within the sampled fit's
    95% interval, and the report must carry the caveat.
    """
    from cxlib import value
    from cxlib.value import _study

    from .test_cx_report import _restricted

    data = _restricted(small_data, small_data["customers"]["customer_id"].head(1_500))
    full = value.value_study(data, small_config, covariates=[])
    monkeypatch.setattr(_study, "FIT_CUSTOMERS", 500)
    sampled = value.value_study(data, small_config, covariates=[])
    assert _study._fit_rows(full.summary, 42).index.equals(_study._fit_rows(full.summary, 42).index)
    assert len(sampled.value.table) == len(full.value.table) > 2 * 500
    codes = [note.code for note in sampled.fits[sampled.chosen].caveats_]
    assert "value.fit_sample" in codes
    assert "value.fit_sample" not in [note.code for note in full.fits[full.chosen].caveats_]
    got, want = sampled.by_group["all"].iloc[0], full.by_group["all"].iloc[0]
    print(got.to_dict(), want.to_dict())
    assert got["total_low"] <= want["total"] <= got["total_high"]
    assert abs(got["total"] / want["total"] - 1) < 0.15


def test_monthly_revenue_from_the_engine_equals_pandas(small_data, run_data):
    from cxlib.value._subscription_value import monthly_revenue

    ids = pd.Index(small_data["customers"]["customer_id"])
    want = monthly_revenue(small_data, None, ids)
    got = monthly_revenue(run_data, None, ids, "duckdb")
    assert (want > 0).sum() > 1_000
    pd.testing.assert_series_equal(got, want, check_exact=False, rtol=0, atol=1e-9, check_names=False)


def test_checkout_abandonment_from_the_engine_equals_pandas(small_data, run_data):
    from cxlib.impact._outputs import _abandonment

    want = _abandonment(small_data)
    assert 0 < want < 1
    assert _abandonment(run_data) == want


def test_tenure_cap_reads_the_earliest_dates_from_the_files(small_data, run_data):
    from cxlib.churn._panel import _column, tenure_cap

    for table, column in (("transactions", "order_date"), ("interactions", "timestamp"), ("surveys", "date")):
        assert _column(run_data, table, column).min() == small_data[table][column].min()
    cutoff = pd.Timestamp(small_data.as_of) - pd.DateOffset(months=6)
    assert tenure_cap(run_data, cutoff) == tenure_cap(small_data, cutoff)


def test_report_intros_count_rows_without_reading_the_tables(small_data, run_data):
    from cxlib.report._sentences import tables_read

    fresh = load_validated(run_data.source.parent)
    assert tables_read(fresh) == tables_read(small_data)
    assert "transactions" not in fresh.tables._read


def test_loyalty_spend_reads_only_the_columns_it_needs_and_gives_the_same_table(
    small_data, small_config, run_data
):
    from cxlib.features import churn_rule_from_config
    from cxlib.impact import loyalty_spend

    fresh = load_validated(run_data.source.parent)
    rule = churn_rule_from_config(small_data, small_config)
    want = loyalty_spend(small_data, rule)
    got = loyalty_spend(fresh, churn_rule_from_config(fresh, small_config))
    assert "transactions" not in fresh.tables._read
    pd.testing.assert_frame_equal(got.table, want.table)
