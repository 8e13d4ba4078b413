"""Subscription value: the shifted-beta-geometric model and survival-based CLV (issue 12).

Known answers, each with its source:

- Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention", Journal of
  Interactive Marketing 21(1), 76-90: the share of a cohort of 1,000 customers still a customer
  at the start of years 0-7, for the "regular" and "high end" segments (the data of their
  worked example; also in the shared data README), and the sBG estimates they report
  from those eight years: regular gamma = 0.704, delta = 1.182; high end gamma = 0.668,
  delta = 3.806. Tolerance 1% (the paper gives three decimals).
- Fader and Hardie (2010), "Customer-base valuation in a contractual setting", Marketing Science
  29(1), 85-93, equation 6: the discounted expected residual lifetime in closed form (2F1) equals
  its defining sum of discounted survival ratios (1e-9 relative).
- Closed forms: constant retention r and margin m give m r / (1 + d - r) over an unbounded horizon
  and the finite geometric sum over H periods; conditioning on tenure leaves a geometric curve's
  value unchanged (1e-9 relative).
- IBM Telco through ``configs/telco.yaml``: churn is 42.7% (month-to-month), 11.3% (one year),
  2.8% (two year), so expected discounted months as a customer must order the same way.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from cxlib.churn import RemainingLifetime, churn_panel
from cxlib.report import render_all
from cxlib.stats import parameter_draws
from cxlib.value import (
    ShiftedBetaGeometric,
    discounted_survival_value,
    periodic_discount_rate,
    survival_clv,
)
from tests.churn_data import telco

#: Fader and Hardie (2007): % of the cohort still a customer at the start of years 0..7.
RETENTION_PERCENT = {
    "regular": [100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1],
    "high_end": [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1],
}
#: Their maximum-likelihood estimates from those years (gamma, delta).
PUBLISHED = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}


def _counts(segment: str) -> np.ndarray:
    """Customers of a cohort of 1,000 still active at the start of years 0..7."""
    return np.round(np.array(RETENTION_PERCENT[segment]) * 10)


@functools.cache
def _sbg(segment: str) -> ShiftedBetaGeometric:
    return ShiftedBetaGeometric().fit(_counts(segment))


# ---- shifted-beta-geometric ---------------------------------------------------------------------------


@pytest.mark.parametrize("segment", list(PUBLISHED))
def test_sbg_reproduces_fader_hardie_2007(segment):
    model = _sbg(segment)
    gamma, delta = PUBLISHED[segment]
    assert model.converged_
    assert model.params_["gamma"] == pytest.approx(gamma, rel=0.01)
    assert model.params_["delta"] == pytest.approx(delta, rel=0.01)
    summary = model.summary_.set_index("term")
    assert (summary["ci_low"] < summary["estimate"]).all() and (
        summary["estimate"] < summary["ci_high"]
    ).all()
    # gamma < 1 in both segments: the mean lifetime is unbounded, and the caveat says so
    assert [note.code for note in model.caveats_] == ["sbg.heavy_tail"]
    assert all(render_all(model.caveats_))


def test_sbg_curves_obey_their_identities():
    """S(t) is the product of the retention rates, and P(T = t) = S(t - 1) - S(t)."""
    model = _sbg("regular")
    t = np.arange(1, 30)
    survival = model.survival(np.arange(0, 30))
    assert survival[0] == pytest.approx(1.0)
    np.testing.assert_allclose(survival[1:], np.cumprod(model.retention_rate(t)), rtol=1e-12)
    np.testing.assert_allclose(model.churn_probability(t), survival[:-1] - survival[1:], rtol=1e-10)


def test_sbg_cohorts_pool_their_evidence():
    """Two identical cohorts: the same estimates, twice the log-likelihood, half the covariance."""
    counts = _counts("regular")
    table = pd.DataFrame(
        {
            "cohort": np.repeat(["2001", "2002"], len(counts)),
            "period": np.tile(np.arange(len(counts)), 2),
            "alive": np.tile(counts, 2),
        }
    )
    single, pooled = _sbg("regular"), ShiftedBetaGeometric().fit(table)
    np.testing.assert_allclose(pooled.params_, single.params_, rtol=1e-5)
    assert pooled.log_likelihood_ == pytest.approx(2 * single.log_likelihood_, rel=1e-9)
    np.testing.assert_allclose(pooled.covariance_, single.covariance_ / 2, rtol=1e-3)
    assert pooled.n_customers_ == 2 * counts[0]


def test_sbg_rejects_counts_that_rise_and_says_where():
    with pytest.raises(ValueError, match=r"rises at period\(s\) \[2\].*without newcomers"):
        ShiftedBetaGeometric().fit([1000, 600, 650, 400])
    bad = pd.DataFrame({"cohort": ["a", "a", "a"], "period": [0, 2, 3], "alive": [10, 8, 7]})
    with pytest.raises(ValueError, match=r"cohort 'a': periods \[0, 2, 3\]"):
        ShiftedBetaGeometric().fit(bad)


@pytest.mark.parametrize("segment", list(PUBLISHED))
@pytest.mark.parametrize("renewals_made", [0, 4])
def test_derl_closed_form_equals_its_defining_sum(segment, renewals_made):
    """Fader and Hardie (2010) eq. 6 vs sum_{t >= n} S(t) / S(n - 1) / (1 + d)^(t - n).

    The survival-value sum discounts the first payment once, DERL counts the next renewal
    undiscounted: they differ by the factor (1 + d).
    """
    model, rate = _sbg(segment), 0.10
    derl = model.discounted_expected_residual_lifetime(rate, renewals_made)
    summed = discounted_survival_value(1.0, model.survival, rate, renewals_made, horizon_periods=4000)
    assert derl == pytest.approx((1 + rate) * summed, rel=1e-9)


def test_sample_params_is_seeded_and_matches_the_covariance():
    model = _sbg("high_end")
    draws = model.sample_params(4000, seed=3)
    pd.testing.assert_frame_equal(draws, model.sample_params(4000, seed=3))
    assert not draws.equals(model.sample_params(4000, seed=4))
    logs = np.log(draws)
    se = np.sqrt(np.diag(model.log_covariance_))
    # 4,000 draws: the mean is within 4 standard errors of the mean, the variance within 10%
    np.testing.assert_array_less(np.abs(logs.mean() - np.log(model.params_)), 4 * se / np.sqrt(4000))
    np.testing.assert_allclose(np.cov(logs.T), model.log_covariance_, rtol=0.10)


def test_parameter_draws_handle_a_singular_covariance():
    draws = parameter_draws([1.0, 2.0], [[1.0, 1.0], [1.0, 1.0]], 50, seed=0)
    np.testing.assert_allclose(draws[:, 1] - draws[:, 0], 1.0, atol=1e-7)


# ---- closed forms of survival-based value ----------------------------------------------------------------


@pytest.mark.parametrize("retention", [0.5, 0.8, 0.95])
def test_constant_retention_gives_the_textbook_clv(retention):
    margin, rate = 10.0, 0.01
    value = discounted_survival_value(margin, retention ** np.arange(5001.0), rate)
    assert value == pytest.approx(margin * retention / (1 + rate - retention), rel=1e-9)


@pytest.mark.parametrize("retention", [0.8, 0.95])
def test_conditioning_on_tenure_leaves_geometric_value_unchanged(retention):
    margin, rate, tenures = 10.0, 0.01, np.array([0, 3, 12, 40])
    expected = margin * retention / (1 + rate - retention)
    tabulated = discounted_survival_value(margin, retention ** np.arange(5041.0), rate, tenures)
    np.testing.assert_allclose(tabulated, expected, rtol=1e-9)
    fractional = discounted_survival_value(
        margin, lambda t: retention**t, rate, [0.5, 7.25], horizon_periods=5000
    )
    np.testing.assert_allclose(fractional, expected, rtol=1e-9)


def test_finite_horizon_gives_the_finite_geometric_sum():
    margin, rate, retention, horizon = 10.0, 0.02, 0.9, 24
    q = retention / (1 + rate)
    expected = margin * q * (1 - q**horizon) / (1 - q)
    value = discounted_survival_value(margin, lambda t: retention**t, rate, horizon_periods=horizon)
    assert value == pytest.approx(expected, rel=1e-12)
    # per customer (a column of margins) and per period (a row): both broadcast over the curve
    curves = np.tile(retention ** np.arange(horizon + 1.0), (3, 1))
    per_customer = discounted_survival_value(np.array([[1.0], [2.0], [3.0]]) * margin, curves, rate)
    np.testing.assert_allclose(per_customer, expected * np.array([1, 2, 3]), rtol=1e-12)
    per_period = discounted_survival_value(np.full(horizon, margin), curves, rate)
    np.testing.assert_allclose(per_period, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: discounted_survival_value(1.0, lambda t: 0.9**t, 0.01), "horizon_periods is needed"),
        (
            lambda: discounted_survival_value(1.0, 0.9 ** np.arange(10.0), 0.01, 5, 6),
            r"covers tenures 0\.\.9",
        ),
        (lambda: discounted_survival_value(np.ones(4), np.ones((3, 11)), 0.01), "does not fit"),
        (lambda: discounted_survival_value(1.0, 0.9 ** np.arange(10.0), 0.01, 1.5), "whole"),
    ],
    ids=["no-horizon", "curve-too-short", "margin-shape", "fractional-tenure"],
)
def test_value_inputs_are_checked_with_a_way_out(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_monthly_rate_compounds_to_the_annual_rate():
    assert (1 + periodic_discount_rate(0.08)) ** 12 == pytest.approx(1.08, rel=1e-12)


# ---- Telco through configs/telco.yaml ------------------------------------------------------------------


@pytest.fixture(scope="module")
def telco_value():
    config, data = telco()
    panel = churn_panel(data, config)
    model = RemainingLifetime.from_config(config).fit(panel.frame, panel.numeric, panel.categorical)
    current = panel.frame[~panel.frame["churned"].astype(bool)].reset_index(drop=True)
    margin = current["MonthlyCharges"] * config.analysis["margin"]
    settings = {
        "annual_discount_rate": config.analysis["discount_rate"],
        "horizon_months": config.analysis["horizon_months"],
        "by": "plan",
        "n_draws": 100,
        "seed": config.seed,
    }
    months = survival_clv(model, current, 1.0, **settings)
    money = survival_clv(model, current, margin, **settings)
    return config, model, current, margin, months, money


ORDER = ["Month-to-month", "One year", "Two year"]


def test_telco_discounted_months_follow_the_churn_rates(telco_value):
    """A margin of 1 a month: the value is discounted expected months, which churn rates order."""
    *_, months, _ = telco_value
    groups = months.groups.loc[ORDER]
    assert groups["mean_clv"].is_monotonic_increasing
    assert ((groups["mean_low"] < groups["mean_clv"]) & (groups["mean_clv"] < groups["mean_high"])).all()
    assert (groups["mean_high"].to_numpy()[:-1] < groups["mean_low"].to_numpy()[1:]).all()


def test_telco_clv_on_monthly_charges_by_contract(telco_value):
    """Margin = MonthlyCharges x analysis.margin.

    Over the config's 36 months month-to-month customers are worth least; one-year and two-year
    customers nearly all stay that long, so their value differs mostly by what they pay (one-year
    customers pay about 4% more a month) and the two are close. Over the longest tenure the data
    show (72 months) the order of the churn rates holds.
    """
    config, model, current, margin, _, money = telco_value
    groups = money.groups.loc[ORDER]
    assert groups["mean_clv"].idxmin() == "Month-to-month"
    assert groups.loc["Month-to-month", "mean_high"] < groups["mean_low"].iloc[1:].min()
    assert ((groups["mean_high"] - groups["mean_low"]) > 0).all() and (groups["customers"] > 1000).all()
    longest = int(model.longest_observed_months_)
    long_run = survival_clv(
        model, current, margin, config.analysis["discount_rate"], longest, by="plan", n_draws=0
    )
    assert long_run.groups.loc[ORDER, "mean_clv"].is_monotonic_increasing
    assert {note.code for note in money.caveats} == {"value.parameter_draws", "value.beyond_observed"}
    assert all(render_all(money.caveats))


def test_telco_monthly_sum_matches_the_remaining_lifetime_integral(telco_value):
    """Undiscounted, a margin of 1: sum_{u=1..H} S(u) + (1 - S(H)) / 2 is predict()'s monthly trapezoid."""
    _, model, current, *_ = telco_value
    horizon = model.horizon_months
    value = survival_clv(model, current, 1.0, 0.0, horizon, n_draws=0).customers["clv"]
    end = model.conditional_survival(current, [horizon])[:, 0]
    trapezoid = model.predict(current, grid_points=horizon + 1)
    np.testing.assert_allclose(value + (1 - end) / 2, trapezoid, rtol=1e-10)


def test_telco_intervals_are_seeded_and_contain_the_estimate(telco_value):
    config, model, current, margin, *_ = telco_value
    rows, cash = current.iloc[:400], margin.iloc[:400]
    first = survival_clv(model, rows, cash, 0.08, 36, n_draws=60, seed=5).customers
    pd.testing.assert_frame_equal(
        first, survival_clv(model, rows, cash, 0.08, 36, n_draws=60, seed=5).customers
    )
    other = survival_clv(model, rows, cash, 0.08, 36, n_draws=60, seed=6).customers
    assert not np.allclose(first["clv_low"], other["clv_low"])
    np.testing.assert_array_equal(first["clv"], other["clv"])
    assert ((first["clv_low"] <= first["clv"]) & (first["clv"] <= first["clv_high"])).all()
    assert (first["clv_high"] > first["clv_low"]).all()
    assert first["customer_id"].tolist() == rows["customer_id"].tolist()


def test_draws_on_a_sample_above_the_threshold_keep_the_values_and_nearly_the_intervals(
    telco_value, monkeypatch
):
    """``DRAW_CUSTOMERS``: point values unchanged, group intervals close to those of all customers.

    Lowered to 1,500 of Telco's 5,174 current customers: the interval bounds of each contract group
    (from the sample's draws scaled to the group) stay within 3% of the bounds from every customer's
    draws, sampled customers keep their own intervals and the others get none, with the caveat.
    """
    from cxlib.value import _subscription

    config, model, current, margin, _, money = telco_value
    settings = {"by": "plan", "n_draws": 100, "seed": config.seed}
    args = (model, current, margin, config.analysis["discount_rate"], config.analysis["horizon_months"])
    monkeypatch.setattr(_subscription, "DRAW_CUSTOMERS", 1_500)
    sampled = survival_clv(*args, **settings)
    np.testing.assert_allclose(sampled.customers["clv"], money.customers["clv"], rtol=1e-12)
    for column in ("mean_clv", "total_clv"):
        np.testing.assert_allclose(sampled.groups[column], money.groups[column], rtol=1e-12)
    for column in ("total_low", "total_high"):
        np.testing.assert_allclose(sampled.groups[column], money.groups[column], rtol=0.03)
    has_interval = sampled.customers["clv_low"].notna()
    assert has_interval.sum() == 1_500
    np.testing.assert_allclose(
        sampled.customers.loc[has_interval, "clv_low"],
        money.customers.loc[has_interval, "clv_low"],
        rtol=1e-9,
    )
    assert "value.draw_sample" in {note.code for note in sampled.caveats}
    assert all(render_all(sampled.caveats))


def test_a_small_group_keeps_its_interval_and_the_total_its_own_on_a_sample(telco_value, monkeypatch):
    """A group too small to be drawn by chance is topped up in the sample (``MIN_GROUP_DRAWS``), so
    neither its interval nor the whole base's total is missing (at 1M a 20,000 sample missed one)."""
    from cxlib.value import _subscription

    config, model, current, margin, _, money = telco_value
    current = current.assign(group=np.where(np.arange(len(current)) < 8, "tiny", "rest"))
    args = (model, current, margin, config.analysis["discount_rate"], config.analysis["horizon_months"])
    settings = {"by": "group", "n_draws": 100, "seed": config.seed}
    full = survival_clv(*args, **settings)
    monkeypatch.setattr(_subscription, "DRAW_CUSTOMERS", 300)
    sampled = survival_clv(*args, **settings)
    assert 300 <= sampled.settings["draw_sample"] <= 308  # topped up by the tiny group's missing ones
    assert sampled.customers["clv_low"].iloc[:8].notna().all()  # every tiny-group customer drawn
    assert sampled.groups[["total_low", "total_high"]].notna().all().all()
    overall, reference = sampled.groups.attrs["overall"], full.groups.attrs["overall"]
    assert np.isfinite([overall["total_low"], overall["total_high"]]).all()
    np.testing.assert_allclose(
        [overall["total_low"], overall["total_high"]],
        [reference["total_low"], reference["total_high"]],
        rtol=0.05,
    )


def test_a_group_worth_nothing_keeps_the_total_interval_on_a_sample(telco_value, monkeypatch):
    """A group whose customers all have zero margin (at 1M: the segment "No purchase") has a total of
    zero with a zero interval; it must not make the whole base's interval missing."""
    from cxlib.value import _subscription

    config, model, current, margin, _, _ = telco_value
    zero = np.arange(len(current)) < 500
    current = current.assign(group=np.where(zero, "no purchase", "buyers"))
    margin = np.where(zero, 0.0, np.asarray(margin, dtype=float))
    args = (model, current, margin, config.analysis["discount_rate"], config.analysis["horizon_months"])
    monkeypatch.setattr(_subscription, "DRAW_CUSTOMERS", 1_000)
    sampled = survival_clv(*args, by="group", n_draws=100, seed=config.seed)
    assert sampled.groups.loc["no purchase", ["total_clv", "total_low", "total_high"]].tolist() == [0, 0, 0]
    overall = sampled.groups.attrs["overall"]
    assert overall["total_low"] < overall["total_clv"] < overall["total_high"]
