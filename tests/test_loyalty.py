"""Loyalty spend and word-of-mouth inputs recover what the generator planted in the small demo.

Planted (``cxlib/data/_synth.py``, recorded in ``ground_truth.json``): an order placed in a month whose
latest NPS class is promoter costs ``PROMOTER_SPEND_UPLIFT`` = 1.15 times as much, order counts do not
depend on the class, and referrals per customer-month are 0.030 (promoter) and 0.012 (passive).
Tolerances are stated per test; the repeated-seed coverage is in benchmarks/bench_loyalty.py.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from cxlib.data import _synth as synth
from cxlib.experience import ReferralRates
from cxlib.features import churn_rule_from_config
from cxlib.impact import Input, loyalty_spend, referral_inputs
from cxlib.impact._loyalty import _switchers


@pytest.fixture(scope="module")
def rule(small_data, small_config):
    return churn_rule_from_config(small_data, small_config)


@pytest.fixture(scope="module")
def spend(small_data, rule):
    return loyalty_spend(small_data, rule)


@pytest.fixture(scope="module")
def promoter(spend):
    return spend.table.set_index("nps_class").loc["promoter"]


@pytest.fixture(scope="module")
def planted(small_demo_dir):
    truth = json.loads((small_demo_dir / "ground_truth.json").read_text())
    return truth["loyalty"], truth["referrals"]["monthly_rate_by_latest_nps_class"]


def test_ground_truth_records_the_planted_promoter_spend(planted):
    loyalty, _ = planted
    assert loyalty["spend_multiplier_by_latest_nps_class"]["promoter"] == synth.PROMOTER_SPEND_UPLIFT == 1.15
    assert set(loyalty["order_rate_multiplier_by_latest_nps_class"].values()) == {1.0}


def test_promoter_spend_per_order_recovers_the_planted_uplift(promoter, planted):
    """95% interval holds 1.15; point estimate within 0.08 of it on the log scale (about 2.5 SE)."""
    uplift = planted[0]["spend_multiplier_by_latest_nps_class"]["promoter"]
    assert promoter["per_order_ci_low"] <= uplift <= promoter["per_order_ci_high"]
    assert abs(np.log(promoter["per_order_ratio"]) - np.log(uplift)) < 0.08


def test_promoters_order_as_often_as_passives(promoter):
    """Planted order-rate ratio 1: inside the 95% interval, estimate within 0.1 of it on the log scale."""
    assert promoter["order_rate_ci_low"] <= 1.0 <= promoter["order_rate_ci_high"]
    assert abs(np.log(promoter["order_rate_ratio"])) < 0.1


def test_promoter_spend_per_month_holds_the_planted_uplift(promoter, planted):
    """Spend per month = per-order uplift x order rate 1 = 1.15: inside the 95% interval."""
    uplift = planted[0]["spend_multiplier_by_latest_nps_class"]["promoter"]
    assert promoter["spend_ci_low"] <= uplift <= promoter["spend_ci_high"]
    assert promoter["customers"] >= 20 and promoter["orders"] > 0


def test_spend_inputs_are_observational_lognormal_ratios(spend, promoter):
    inputs = spend.inputs()
    ratio = inputs["promoter_spend_ratio"]
    assert (
        isinstance(ratio, Input) and ratio.evidence == "observational" and ratio.distribution == "lognormal"
    )
    assert ratio.value == pytest.approx(promoter["spend_ratio"])
    assert (ratio.low, ratio.high) == pytest.approx((promoter["spend_ci_low"], promoter["spend_ci_high"]))
    assert spend.promoter_spend_ratio == ratio
    assert {"promoter_order_value_ratio", "promoter_order_rate_ratio"} <= set(inputs)


def test_referral_inputs_hold_the_planted_rates(small_data, rule, planted):
    """The gain's 95% interval holds 0.030 - 0.012; the promoter rate's holds 0.030."""
    rates = planted[1]
    inputs = referral_inputs(ReferralRates().fit(small_data, rule))
    gain, promoter = inputs["referral_rate_gain"], inputs["referral_rate_promoter"]
    assert gain.low <= rates["promoter"] - rates["passive"] <= gain.high
    assert gain.distribution == "normal" and gain.evidence == "observational" and gain.se > 0
    assert promoter.low <= rates["promoter"] <= promoter.high
    assert promoter.distribution == "lognormal"


@pytest.mark.parametrize("table", ["surveys", "transactions"])
def test_missing_table_gives_no_estimate_and_a_reason(small_data, rule, table):
    tables = {name: frame for name, frame in small_data.tables.items() if name != table}
    result = loyalty_spend(dataclasses.replace(small_data, tables=tables), rule)
    assert result.promoter_spend_ratio is None and result.inputs() == {} and result.table.empty
    assert [note.code for note in result.notes] == [f"loyalty.no_{table}"]


def test_too_few_customers_to_compare_gives_no_estimate_and_a_reason(small_data, rule):
    result = loyalty_spend(small_data, rule, min_customers=1_000_000)
    assert result.promoter_spend_ratio is None and result.table.empty
    assert "loyalty.no_reference" in [note.code for note in result.notes]


def test_referral_inputs_without_surveys_are_empty(small_data, rule):
    tables = {name: frame for name, frame in small_data.tables.items() if name != "surveys"}
    rates = ReferralRates().fit(dataclasses.replace(small_data, tables=tables), rule)
    assert referral_inputs(rates) == {}


def test_a_sample_of_switchers_above_the_threshold_still_holds_the_planted_uplift(
    small_data, rule, planted, monkeypatch
):
    """``LOYALTY_CUSTOMERS``: lowered to 250, the models run on a seeded sample, say so, and still
    hold the planted per-order uplift (1.15) in their (wider) 95% interval."""
    from cxlib.impact import _loyalty

    monkeypatch.setattr(_loyalty, "LOYALTY_CUSTOMERS", 250)
    sampled = loyalty_spend(small_data, rule, seed=42)
    note = next(n for n in sampled.notes if n.code == "loyalty.sampled")
    assert note["sample"] == 250 < note["customers"]
    row = sampled.table.set_index("nps_class").loc["promoter"]
    uplift = planted[0]["spend_multiplier_by_latest_nps_class"]["promoter"]
    assert row["per_order_ci_low"] <= uplift <= row["per_order_ci_high"]
    again = loyalty_spend(small_data, rule, seed=42)
    pd.testing.assert_frame_equal(sampled.table, again.table)


def test_switchers_counted_by_codes_equal_a_groupby():
    from cxlib.impact._loyalty import _switchers

    rng = np.random.default_rng(3)
    sales = pd.DataFrame(
        {
            "customer_id": rng.choice([f"c{i}" for i in range(300)], 5_000),
            "nps_class": rng.choice(["passive", "promoter", "detractor"], 5_000, p=[0.6, 0.3, 0.1]),
        }
    )
    for name in ("passive", "promoter", "detractor"):
        both = sales["nps_class"].eq(name).groupby(sales["customer_id"]).agg(["any", "all"])
        assert _switchers(sales, name) == int((both["any"] & ~both["all"]).sum()) > 0


def _merge_asof_reference(transactions: pd.DataFrame, spells: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The placement ``loyalty_spend`` used before integer keys: pandas ``merge_asof`` by customer id."""
    refund = transactions["is_refund"] if "is_refund" in transactions else transactions["amount"] < 0
    sales = transactions.loc[~refund.astype(bool) & transactions["order_date"].notna()]
    sales = sales[["customer_id", "order_date", "amount"]].sort_values("order_date", kind="stable")
    ordered = spells[["customer_id", "start", "end", "nps_class"]].sort_values("start", kind="stable")
    placed = pd.merge_asof(sales, ordered, left_on="order_date", right_on="start", by="customer_id")
    inside = placed["nps_class"].notna() & (placed["order_date"] < placed["end"])
    return placed.loc[inside, ["customer_id", "order_date", "amount", "nps_class"]], int((~inside).sum())


def _edge_case_sales(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spells with gaps and several per customer; sales before, inside, between, after them, at their
    bounds, at equal times, refunds, undated, of unknown or missing customers."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(200):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(int(rng.integers(0, 60)), "D")
        for _ in range(int(rng.integers(1, 5))):
            length = pd.Timedelta(int(rng.integers(1, 90)), "D")
            rows.append((f"c{i:03d}", rng.choice(["promoter", "passive", "detractor"]), day, day + length))
            day = day + length + pd.Timedelta(int(rng.integers(0, 2)) * int(rng.integers(1, 30)), "D")
    spells = pd.DataFrame(rows, columns=["customer_id", "nps_class", "start", "end"])
    n = 6_000
    bounds = np.r_[spells["start"].to_numpy(), spells["end"].to_numpy()]
    when = pd.Series(pd.Timestamp("2022-12-01") + pd.to_timedelta(rng.integers(0, 400 * 24, n), "h"))
    at_bound = rng.random(n) < 0.2
    when[at_bound] = rng.choice(bounds, at_bound.sum())
    when[rng.random(n) < 0.02] = pd.NaT
    customer = pd.Series(rng.choice([f"c{i:03d}" for i in range(210)], n), dtype=object)
    customer[rng.random(n) < 0.01] = None
    transactions = pd.DataFrame(
        {
            "customer_id": customer,
            "order_date": when,
            "amount": rng.lognormal(3, 1, n).round(2),
            "is_refund": rng.random(n) < 0.05,
        }
    )
    return transactions, spells.sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("categorical", [False, True])
def test_sales_placed_on_integer_keys_equal_merge_asof(categorical):
    """``_place_sales`` places every sale in the spell pandas ``merge_asof`` finds, in the same order."""
    from cxlib.impact._loyalty import _place_sales

    transactions, spells = _edge_case_sales()
    expected, outside = _merge_asof_reference(transactions, spells)
    if categorical:
        transactions["customer_id"] = transactions["customer_id"].astype("category")
    placed = _place_sales(transactions, None, spells)
    assert placed.outside == outside > 0
    got = placed.frame(["promoter", "passive", "detractor"], spells["customer_id"].unique())
    pd.testing.assert_frame_equal(
        got.drop(columns="month"), expected.reset_index(drop=True), check_exact=True
    )
    assert 0 < len(got) < len(transactions)
    few = ["c001", "c007", "c150", "c999"]
    got = placed.frame(["promoter", "detractor"], few)
    wanted = expected.loc[expected["customer_id"].isin(few) & expected["nps_class"].ne("passive")]
    pd.testing.assert_frame_equal(got.drop(columns="month"), wanted.reset_index(drop=True), check_exact=True)
    sales = expected.reset_index(drop=True)
    for name in ("promoter", "passive", "detractor", "no_answer"):
        assert placed.switchers(name) == _switchers(sales, name)


def _customer_months_reference(spells: pd.DataFrame) -> pd.DataFrame:
    """Customer-months as ``loyalty_spend`` built them before integer codes: grouped by text ids."""
    from cxlib.features._time import DAYS_PER_MONTH
    from cxlib.impact._loyalty import _month_number

    first = _month_number(spells["start"])
    last = _month_number(spells["end"] - pd.Timedelta(1, "ns"))
    span = last - first + 1
    rows = np.repeat(np.arange(len(spells)), span)
    month = first[rows] + np.arange(len(rows)) - np.repeat(np.cumsum(span) - span, span)
    month_start = pd.to_datetime({"year": month // 12, "month": month % 12 + 1, "day": 1}).to_numpy()
    after = month + 1
    month_end = pd.to_datetime({"year": after // 12, "month": after % 12 + 1, "day": 1}).to_numpy()
    start = np.maximum(spells["start"].to_numpy()[rows], month_start)
    end = np.minimum(spells["end"].to_numpy()[rows], month_end)
    cells = pd.DataFrame(
        {
            "customer_id": spells["customer_id"].to_numpy()[rows],
            "month": month,
            "nps_class": spells["nps_class"].to_numpy()[rows],
            "exposure_months": (end - start) / pd.Timedelta(1, "D") / DAYS_PER_MONTH,
        }
    )
    cells = cells.groupby(["customer_id", "month", "nps_class"], as_index=False)["exposure_months"].sum()
    return cells.loc[cells["exposure_months"] > 0].reset_index(drop=True)


def test_customer_months_by_codes_equal_the_grouping_by_text(small_data, rule):
    """``_customer_months``: the spells in their usual order (no grouping needed) and shuffled (grouped
    by integer codes) give exactly the customer-months grouped by text ids."""
    from cxlib.experience._referrals import nps_class_spells
    from cxlib.impact._loyalty import _customer_months

    spells, _ = nps_class_spells(small_data, rule)
    expected = _customer_months_reference(spells)
    assert len(expected) > len(spells) > 1000
    pd.testing.assert_frame_equal(_customer_months(spells), expected, check_exact=True)
    shuffled = spells.sample(frac=1, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(_customer_months(shuffled), expected, check_exact=True)
    # two spells sharing a customer-month (not made by nps_class_spells) are summed as before
    overlap = pd.concat([spells, spells.iloc[:50]], ignore_index=True)
    pd.testing.assert_frame_equal(
        _customer_months(overlap), _customer_months_reference(overlap), check_exact=True
    )


def test_no_spells_leave_every_sale_outside():
    from cxlib.impact._loyalty import _place_sales

    transactions, spells = _edge_case_sales()
    placed = _place_sales(transactions, None, spells.iloc[:0])
    sales = (~transactions["is_refund"] & transactions["order_date"].notna()).sum()
    assert placed.outside == sales > 0 and len(placed.code) == 0 and placed.switchers("promoter") == 0


def test_a_runs_saved_tables_give_the_same_spend(small_data, small_config, rule, spend, tmp_path):
    """Read from a run's saved Parquet (customer ids as Arrow codes, never as text), the estimates
    are exactly those of the data in memory."""
    from cxlib.run._artifacts import load_validated, save_validated

    saved = load_validated(save_validated(small_data, tmp_path, small_config))
    again = loyalty_spend(saved, churn_rule_from_config(saved, small_config))
    pd.testing.assert_frame_equal(again.table, spend.table, check_exact=True)
    assert again.notes == spend.notes and (again.customers, again.orders) == (spend.customers, spend.orders)


def test_spells_handed_in_give_the_same_spend(small_data, rule, spend):
    """The impact study builds the NPS spells once for the loyalty spend and the referral rates."""
    from cxlib.experience._referrals import nps_class_spells

    spells, counts = nps_class_spells(small_data, rule)
    handed = loyalty_spend(small_data, rule, spells=spells)
    pd.testing.assert_frame_equal(handed.table, spend.table, check_exact=True)
    rates = ReferralRates().fit(small_data, rule, spells=(spells, counts))
    pd.testing.assert_frame_equal(
        rates.summary_, ReferralRates().fit(small_data, rule).summary_, check_exact=True
    )
