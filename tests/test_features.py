"""One set of definitions, three views: the profile, the churn drivers and the lifetimes agree.

The profile at day D (:func:`cxlib.features.customer_features`) reads everything dated up to the
end of D; the driver features at a cut-off (:func:`cxlib.features.driver_features`) read
everything dated strictly before it. So the profile at D and the drivers at D + 1 day read the
same records, and each shared primitive (orders, order value, recency, tenure, the 12-month
window) must give the same number in both. On the small demo (one row per order) and on
hand-made line-level orders.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cxlib.data._load import CustomerData, sign_refunds
from cxlib.features import (
    DAYS_PER_MONTH,
    YEAR_DAYS,
    customer_features,
    driver_features,
    lifetime_table,
    mean_order_value,
    purchases,
    resolve_churn_rule,
    tenure_days,
    tenure_months,
    transactions_before,
    window_transactions,
)

ONE_DAY = pd.Timedelta(days=1)
#: A day well inside the small demo's history (2023-01 to 2025-12), more than a year after its start.
DAY = pd.Timestamp("2025-03-14")


def _at(data: CustomerData, day) -> CustomerData:
    """The same tables, read at another analysis date."""
    return dataclasses.replace(data, as_of=pd.Timestamp(day))


@pytest.fixture(scope="module")
def views(small_data):
    """The profile at DAY and the drivers at the next midnight, one row per customer in both."""
    profile = customer_features(_at(small_data, DAY))
    drivers = driver_features(small_data, DAY + ONE_DAY).set_index("customer_id")
    return profile.loc[drivers.index], drivers


def test_order_value_is_the_same_in_both_views(views):
    profile, drivers = views
    pd.testing.assert_series_equal(
        drivers["mean_order_value"], profile["avg_order_value"], check_names=False, rtol=0, atol=0
    )
    assert drivers["mean_order_value"].notna().sum() > 100


def test_orders_of_the_last_12_months_are_the_profiles_orders_then_minus_a_year_earlier(small_data, views):
    """Drivers count orders dated in the 365 days before the cut-off: the profile's orders at D
    less its orders at D - 365 days (both count purchases dated up to the end of their day)."""
    profile, drivers = views
    earlier = customer_features(_at(small_data, DAY - pd.Timedelta(days=YEAR_DAYS)))
    expected = profile["frequency"] - earlier["frequency"].reindex(profile.index).fillna(0)
    months_seen = np.minimum(drivers["tenure_months"], 12.0).clip(lower=0.5)
    counted = (drivers["orders_per_month_12m"] * months_seen).round().astype(int)
    pd.testing.assert_series_equal(counted, expected.astype(int), check_names=False)
    assert expected.sum() > 1000


def test_orders_over_all_history_are_the_profiles_frequency(small_data, views):
    """Both views count purchases with the one definition (:func:`cxlib.features.purchases`)."""
    profile, _ = views
    bought = purchases(transactions_before(small_data["transactions"], DAY + ONE_DAY))
    counted = bought.groupby("customer_id").size().reindex(profile.index, fill_value=0)
    pd.testing.assert_series_equal(counted, profile["frequency"], check_names=False, check_dtype=False)
    # and the refund share's denominator is that same count: no customer has a refunded share above 1
    assert (views[1]["refunded_order_share"] <= 1).all()


def test_recency_is_counted_in_whole_days_to_the_view_date(views):
    """The profile counts to the end of D, the drivers to the next midnight: one day apart."""
    profile, drivers = views
    buyers = profile["frequency"] > 0
    pd.testing.assert_series_equal(
        drivers.loc[buyers, "days_since_last_order"],
        profile.loc[buyers, "recency_days"] + 1,
        check_names=False,
    )


def test_tenure_agrees_in_both_units(small_data):
    drivers = driver_features(small_data, DAY).set_index("customer_id")
    profile = customer_features(_at(small_data, DAY)).loc[drivers.index]
    np.testing.assert_array_equal(drivers["tenure_months"], profile["tenure_days"] / DAYS_PER_MONTH)
    signup = pd.Series(pd.to_datetime(["2025-01-01 18:30", "2025-03-13 00:00"]))
    assert tenure_days(signup, "2025-03-14").tolist() == [72.0, 1.0]  # whole days from the signup day
    assert tenure_months(signup, "2025-03-14").tolist() == [72 / DAYS_PER_MONTH, 1 / DAYS_PER_MONTH]


def test_lifetimes_use_the_same_tenure(small_data):
    """A customer censored at D has lived their tenure at D (at least one day)."""
    rule = resolve_churn_rule(small_data, "contractual")
    lifetimes = lifetime_table(small_data, rule, DAY).set_index("customer_id")
    customers = small_data["customers"].set_index("customer_id")
    censored = lifetimes.index[~lifetimes["churned"] & (customers["signup_date"] < DAY)]
    expected = tenure_months(customers.loc[censored, "signup_date"], DAY).clip(lower=1 / DAYS_PER_MONTH)
    np.testing.assert_array_equal(lifetimes.loc[censored, "duration_months"], expected)


# ---------------------------------------------------------------- what each view reads


def _plant(data: CustomerData, when: pd.Timestamp, customer_id: str) -> CustomerData:
    """``data`` with a large purchase, a refund, an unresolved complaint with a long wait, a survey
    answer and a programme start planted for one customer at ``when``."""
    tables = dict(data.tables)
    tx = tables["transactions"]
    planted = pd.DataFrame(
        {
            "customer_id": [customer_id, customer_id],
            "order_id": ["planted-1", "planted-2"],
            "order_date": [when, when],
            "amount": [5000.0, -70.0],
            "is_refund": [False, True],
        }
    )
    tables["transactions"] = pd.concat([tx, planted.astype(tx.dtypes[planted.columns])], ignore_index=True)
    inter = tables["interactions"]
    complaint = {"customer_id": customer_id, "timestamp": when, "kind": "complaint"}
    complaint.update(resolved=False, wait_minutes=99.0)
    tables["interactions"] = pd.concat([inter, pd.DataFrame([complaint])], ignore_index=True)
    surveys = tables["surveys"]
    answer = pd.DataFrame([{"customer_id": customer_id, "date": when, "nps": 0, "csat": 1}])
    tables["surveys"] = pd.concat([surveys, answer], ignore_index=True)
    prog = tables["programme"]
    start = {"customer_id": customer_id, "programme": "planted", "group": "treatment", "start_date": when}
    tables["programme"] = pd.concat([prog, pd.DataFrame([start])], ignore_index=True)
    return dataclasses.replace(data, tables=tables)


@pytest.fixture(scope="module")
def quiet_customer(small_data):
    """A customer signed up long before DAY who is in no programme (so a planted start shows)."""
    customers = small_data["customers"]
    treated = set(small_data["programme"]["customer_id"])
    old = customers.loc[(customers["signup_date"] < DAY - pd.Timedelta(days=400))]
    return next(c for c in old["customer_id"] if c not in treated)


@pytest.mark.parametrize("offset", [pd.Timedelta(0), pd.Timedelta(hours=13), pd.Timedelta(days=40)])
def test_drivers_never_read_records_on_or_after_the_cutoff(small_data, quiet_customer, offset):
    before = driver_features(small_data, DAY)
    after = driver_features(_plant(small_data, DAY + offset, quiet_customer), DAY)
    pd.testing.assert_frame_equal(before, after)


def test_the_planted_records_do_move_the_drivers_a_day_later(small_data, quiet_customer):
    # the test above would pass vacuously if the planted records touched nothing
    before = driver_features(small_data, DAY + ONE_DAY).set_index("customer_id")
    after = driver_features(_plant(small_data, DAY, quiet_customer), DAY + ONE_DAY).set_index("customer_id")
    changed = (before.loc[quiet_customer] != after.loc[quiet_customer]).to_numpy()
    columns = before.columns[changed]
    expected = {"orders_per_month_12m", "mean_order_value", "days_since_last_order", "refunded_order_share"}
    expected |= {"complaints", "unresolved_complaint", "long_wait", "programme_treatment"}
    assert expected <= set(columns), sorted(expected - set(columns))


def test_the_profile_reads_the_whole_analysis_day_and_nothing_after(small_data, quiet_customer):
    data = _at(small_data, DAY)
    before = customer_features(data)
    later = customer_features(_plant(data, DAY + ONE_DAY, quiet_customer))
    pd.testing.assert_frame_equal(before, later)
    same_day = customer_features(_plant(data, DAY + pd.Timedelta(hours=23), quiet_customer))
    assert same_day.loc[quiet_customer, "frequency"] == before.loc[quiet_customer, "frequency"] + 1
    assert same_day.loc[quiet_customer, "nps"] != before.loc[quiet_customer, "nps"]


# ---------------------------------------------------------------- line-level orders


@pytest.fixture(scope="module")
def line_level():
    """One customer, three orders in six lines: one order refunded, one worth nothing (not a purchase)."""
    customers = pd.DataFrame({"customer_id": ["a"], "signup_date": pd.to_datetime(["2024-01-01 10:00"])})
    tx = sign_refunds(
        pd.DataFrame(
            {
                "customer_id": ["a"] * 6,
                "order_id": ["1", "1", "1", "2", "2r", "3"],
                "order_date": pd.to_datetime(
                    ["2024-06-01 09:00"] * 3 + ["2024-09-01 17:00", "2024-09-03 00:00", "2024-10-01 00:00"]
                ),
                "amount": [10.0, 20.0, 30.0, 40.0, 40.0, 0.0],
                "is_refund": [False, False, False, False, True, False],
            }
        )
    )
    return CustomerData(tables={"customers": customers, "transactions": tx}, as_of=pd.Timestamp("2024-11-30"))


def test_line_level_orders_are_counted_and_valued_per_order_in_both_views(line_level):
    profile = customer_features(line_level, churn_definition="inactivity").iloc[0]
    drivers = driver_features(line_level, line_level.as_of + ONE_DAY).iloc[0]
    assert profile["frequency"] == 2  # order 3 is worth nothing: not a purchase
    assert profile["avg_order_value"] == drivers["mean_order_value"] == pytest.approx((60 + 40) / 2)
    assert drivers["orders_per_month_12m"] == pytest.approx(2 / (335 / DAYS_PER_MONTH))  # 11 months signed up
    assert drivers["refunded_order_share"] == pytest.approx(1 / 2)
    # whole days from the last purchase's day (1 Sep) to the cut-off, and from the signup day
    assert drivers["days_since_last_order"] == (pd.Timestamp("2024-12-01") - pd.Timestamp("2024-09-01")).days
    assert drivers["tenure_months"] == pytest.approx(335 / DAYS_PER_MONTH)
    assert profile["tenure_days"] == 334


def test_mean_order_value_is_per_order_not_per_line(line_level):
    bought = purchases(window_transactions(line_level["transactions"], line_level.as_of))
    assert mean_order_value(bought, pd.Index(["a", "b"])).tolist()[0] == pytest.approx(50.0)
    assert np.isnan(mean_order_value(bought, pd.Index(["a", "b"])).tolist()[1])
