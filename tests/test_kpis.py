import numpy as np
import pandas as pd
import pytest

from cxlib.overview import _kpis as kpis
from cxlib.overview import describe_kpis
from cxlib.stats import nps_interval, wilson_interval


def test_nps_known_answer():
    # 4 promoters, 3 passives, 3 detractors out of 10: NPS = 40% - 30% = +10
    scores = pd.Series([10, 9, 9, 10, 7, 8, 8, 0, 5, 6])
    nps, low, high = nps_interval(scores)
    assert nps == pytest.approx(10)
    # adjusted Wald (Rocks 2016): 3/4 of an answer added to promoters and to detractors, n + 3
    p, d = 4.75 / 13, 3.75 / 13
    se = np.sqrt((p + d - (p - d) ** 2) / 13)
    assert (low, high) == pytest.approx((100 * (p - d - 1.959964 * se), 100 * (p - d + 1.959964 * se)))


def test_wilson_interval_matches_published_example():
    # Newcombe (1998), Statistics in Medicine 17:857, example 81/263: Wilson 0.2553 to 0.3662
    share, low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_headline_kpis_match_a_direct_pandas_computation(small_data):
    table = kpis.headline_kpis(small_data, active_days=90).set_index("kpi")
    tx = small_data["transactions"]
    as_of = small_data.as_of
    year = tx[(tx["order_date"] > as_of - pd.Timedelta(days=365)) & (tx["order_date"] <= as_of)]
    assert table.loc["net_revenue_12m", "value"] == pytest.approx(year["amount"].sum())
    sales = year[year["is_refund"] == False]  # noqa: E712
    active = sales[sales["order_date"] > as_of - pd.Timedelta(days=90)]["customer_id"].nunique()
    assert table.loc["active_customers", "value"] == active
    assert table.loc["active_customers", "window_days"] == 90
    orders = sales.groupby("customer_id").size()
    assert table.loc["repeat_rate", "value"] == pytest.approx((orders >= 2).mean())
    customers = small_data["customers"]
    year_ago = as_of - pd.Timedelta(days=365)
    at_risk = customers[(customers["signup_date"] <= year_ago) & ~(customers["churn_date"] <= year_ago)]
    churned = ((at_risk["churn_date"] > year_ago) & (at_risk["churn_date"] <= as_of)).mean()
    row = table.loc["churn_rate_12m"]
    assert row["value"] == pytest.approx(churned)
    assert row["low"] < row["value"] < row["high"]
    assert row["n"] == len(at_risk)


def test_inactivity_definition_counts_lapsed_buyers(small_data):
    row = kpis.headline_kpis(small_data, churn_definition="inactivity", inactivity_days=180).set_index("kpi")
    lapse = row.loc["lapse_rate"]
    assert 0 < lapse["value"] < 1 and lapse["low"] < lapse["value"] < lapse["high"]
    assert lapse["window_days"] == 180


def test_small_groups_are_suppressed_with_a_complement():
    table = pd.DataFrame(
        {"channel": ["web", "app", "fax"], "customers": [500, 40, 3], "revenue": [1000.0, 80.0, 12.0]}
    )
    out = kpis.suppress_small(table, "customers", 10)
    assert out.loc[2, ["customers", "revenue"]].isna().all()
    # the total minus web would give fax back: the next smallest row is blanked with it
    assert out.loc[1, ["customers", "revenue"]].isna().all()
    assert out.loc[0, "revenue"] == 1000.0
    assert table.loc[2, "revenue"] == 12.0  # input untouched


def test_channel_mix_shares_sum_to_one(small_data):
    mix = kpis.channel_mix(small_data["transactions"], small_data.as_of)
    assert mix["revenue_share"].sum() == pytest.approx(1.0)
    assert set(mix["channel"]) >= {"web", "app", "store"}


def test_touchpoints_report_resolution_and_waits(small_data):
    table = kpis.touchpoint_volumes(small_data["interactions"], 2000, small_data.as_of)
    complaints = table[table["kind"] == "complaint"]
    assert complaints["resolved_share"].between(0.4, 0.95).all()
    phone = table[(table["kind"] == "support_contact") & (table["channel"] == "phone")]
    assert phone["median_wait_minutes"].iloc[0] > 0


def test_findings_sentence_quotes_the_numbers(small_data):
    table = kpis.headline_kpis(small_data)
    text = describe_kpis(table, "EUR")
    active = int(table.set_index("kpi").loc["active_customers", "value"])
    assert f"{active:,}" in text and "NPS" in text


def test_orders_are_distinct_order_ids_when_rows_are_order_lines():
    sales = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "b"],
            "order_id": ["1", "1", "1", "2", "3", "4"],
            "order_date": pd.to_datetime(["2025-01-05"] * 3 + ["2025-01-06", "2025-02-01", "2025-02-02"]),
            "amount": [5.0, 5.0, 5.0, 7.0, 7.0, 0.0],  # an order worth nothing is not a purchase
        }
    )
    assert kpis.order_counts(sales, "customer_id").to_dict() == {"a": 1, "b": 2}
    assert kpis.order_counts(sales.drop(columns="order_id"), "customer_id").to_dict() == {"a": 3, "b": 2}
    months = kpis.order_counts(sales, "month")
    assert months.to_dict() == {pd.Timestamp("2025-01-01"): 2, pd.Timestamp("2025-02-01"): 1}
    # the same orders as the per-customer features count
    from cxlib.features import orders_per_customer, purchases, transactions_before

    window = transactions_before(sales.assign(is_refund=False), pd.Timestamp("2025-03-01"))
    direct = orders_per_customer(purchases(window), pd.Index(["a", "b"]))
    assert direct.to_dict() == kpis.order_counts(sales, "customer_id").to_dict()


def test_monthly_revenue_marks_a_month_cut_short_by_the_as_of_date(small_data):
    monthly = kpis.monthly_revenue(small_data["transactions"], pd.Timestamp("2025-12-15"))
    assert monthly["partial"].sum() == 1 and monthly["partial"].iloc[-1]
    assert not kpis.monthly_revenue(small_data["transactions"], small_data.as_of)["partial"].any()
