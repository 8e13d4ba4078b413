"""Survival: Kaplan–Meier medians, Cox hazard ratios against planted truth, PH check, remaining lifetime."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.churn._panel import churn_cutoff, churn_panel
from cxlib.churn._report import format_retention
from cxlib.churn._retention import RetentionCurves
from cxlib.churn._survival import ChurnHazards, RemainingLifetime
from cxlib.data._config import config_from_dict
from cxlib.features import DAYS_PER_MONTH, lifetime_table
from cxlib.features._customer import features_from_config
from cxlib.report import render_all
from tests.churn_data import (
    ALL_DRIVERS,
    MAIN_DRIVERS,
    MID_CUSTOMERS,
    NOT_SIGNIFICANT_BY_CHANCE,
    WEAKER_DRIVERS,
    demo,
    telco,
)

#: Hazard ratios from a Cox model with covariates frozen at the cut-off: the planted time-varying
#: effects (complaint, wait) switch on month by month, so customers who acquire them after the cut-off
#: are counted as unexposed, pulling estimates slightly towards 1. Tolerance 30% (|log(HR / truth)| <=
#: log 1.3), about 2.5 standard errors at 20,000 customers.
HR_TOLERANCE = 1.3
REFERENCES = {"plan": "basic", "acquisition_channel": "organic"}


@pytest.fixture(scope="module")
def planted_hazards():
    config, data, truth = demo(MID_CUSTOMERS)
    panel = churn_panel(data, config)
    cox = ChurnHazards(reference_levels=REFERENCES).fit(panel.frame, panel.numeric, panel.categorical)
    table = cox.summary_.set_index("term")
    print(table[["hazard_ratio", "ci_low", "ci_high", "p_value", "ph_p_value"]].round(3).to_string())
    return cox, table, truth["churn"]


@pytest.mark.parametrize("planted", list(MAIN_DRIVERS))
def test_cox_recovers_main_planted_hazard_ratio(planted_hazards, planted):
    _, table, truth = planted_hazards
    row = table.loc[MAIN_DRIVERS[planted]]
    assert row["p_value"] < 0.05
    assert abs(np.log(row["hazard_ratio"] / truth["hazard_ratios"][planted])) <= np.log(HR_TOLERANCE)


@pytest.mark.parametrize(("term", "planted"), WEAKER_DRIVERS)
def test_cox_weaker_planted_drivers_have_the_right_sign(planted_hazards, term, planted):
    _, table, truth = planted_hazards
    assert np.sign(np.log(table.loc[term, "hazard_ratio"])) == np.sign(
        np.log(truth["hazard_ratios"][planted])
    )


@pytest.mark.parametrize(
    ("term", "planted"),
    [
        ("unresolved_complaint", "unresolved_complaint"),
        ("long_wait", "long_wait"),
        ("acquisition_channel: social", "acquisition_social"),
        ("programme_treatment", "programme_treatment"),
    ],
)
def test_cox_interval_covers_the_planted_hazard_ratio(planted_hazards, term, planted):
    # Satisfaction is left out: the model sees a noisy survey score, not the latent satisfaction (below).
    # Plan is left out too: the generator draws plan by latent segment (premium is 40% of the low-hazard
    # "High-value frequent" segment, 5% of the high-hazard "Occasional bargain hunters"), and the model
    # sees segments only through noisy order behaviour, so plan keeps part of the segment effect and
    # its hazard ratios sit below the planted ones (tested within 30% above and below).
    _, table, truth = planted_hazards
    assert table.loc[term, "ci_low"] <= truth["hazard_ratios"][planted] <= table.loc[term, "ci_high"]


@pytest.mark.parametrize(
    ("term", "planted"), [("plan: premium", "plan_premium"), ("plan: standard", "plan_standard")]
)
def test_cox_plan_effects_are_protective_and_near_the_planted_ratio(planted_hazards, term, planted):
    # confounded with the latent segment (see above): within 30% of the planted ratio, and below 1
    _, table, truth = planted_hazards
    assert table.loc[term, "ci_high"] < 1
    assert abs(np.log(table.loc[term, "hazard_ratio"] / truth["hazard_ratios"][planted])) <= np.log(
        HR_TOLERANCE
    )


def test_cox_satisfaction_is_attenuated_but_protective(planted_hazards):
    # Planted 0.75 per SD of *latent* satisfaction. The survey score measures it with noise (the
    # generator's N(0, 0.45) "mood", reliability about 0.83) and complaints and contacts, also driven by
    # satisfaction, share its effect: expect a hazard ratio per SD of survey score between 0.6 and 0.95.
    _, table, _ = planted_hazards
    assert 0.6 <= table.loc["satisfaction_z", "hazard_ratio"] <= 0.95


def test_cox_finds_no_proportional_hazards_violation_for_planted_drivers(planted_hazards):
    # the generator is proportional hazards in tenure: the check should not fire for the planted terms
    _, table, _ = planted_hazards
    assert (table.loc[list(MAIN_DRIVERS.values()), "ph_p_value"] > 0.01).all()


def test_weibull_recovers_the_planted_shape():
    config, data, truth = demo(MID_CUSTOMERS)
    panel = churn_panel(data, config)
    model = RemainingLifetime(reference_levels=REFERENCES).fit(panel.frame, panel.numeric, panel.categorical)
    assert abs(model.shape_ - truth["churn"]["weibull_shape"]) <= 0.1  # about 2 SE plus frailty bias


@pytest.mark.slow
def test_every_planted_hazard_ratio_is_significant_on_50000_customers():
    config, data, truth = demo(50_000)
    panel = churn_panel(data, config)
    table = (
        ChurnHazards(reference_levels=REFERENCES).fit(panel.frame, panel.numeric, panel.categorical).summary_
    )
    table = table.set_index("term")
    print(table[["hazard_ratio", "ci_low", "ci_high", "p_value"]].round(3).to_string())
    for planted, term in ALL_DRIVERS.items():
        hr, planted_hr = table.loc[term, "hazard_ratio"], truth["churn"]["hazard_ratios"][planted]
        assert table.loc[term, "p_value"] < 0.05 or planted in NOT_SIGNIFICANT_BY_CHANCE, planted
        assert np.sign(np.log(hr)) == np.sign(np.log(planted_hr)), planted
    for planted, term in MAIN_DRIVERS.items():
        assert abs(
            np.log(table.loc[term, "hazard_ratio"] / truth["churn"]["hazard_ratios"][planted])
        ) <= np.log(1.2)


# ---- known answers on simple simulated lifetimes -----------------------------------------------------


def _exponential(n=4000, rate=0.05, censor_at=36.0, seed=1):
    rng = np.random.default_rng(seed)
    life = rng.exponential(1 / rate, n)
    return pd.DataFrame(
        {
            "duration_months": np.minimum(life, censor_at),
            "churned": life <= censor_at,
            "group": rng.choice(["a", "b"], n),
            "x": rng.normal(size=n),
        }
    )


def test_kaplan_meier_median_interval_covers_the_true_median():
    frame = _exponential()
    row = RetentionCurves().fit(frame).summary_.iloc[0]
    true_median = np.log(2) / 0.05
    assert row["median_ci_low"] <= true_median <= row["median_ci_high"]
    assert row["retention_12m_low"] <= np.exp(-0.05 * 12) <= row["retention_12m_high"]


def test_kaplan_meier_suppresses_small_groups():
    frame = _exponential(n=200)
    frame.loc[:4, "group"] = "tiny"
    curves = RetentionCurves(min_group_size=10).fit(frame, group_col="group")
    assert "tiny" not in set(curves.summary_["group"])
    assert any("tiny" in c for c in render_all(curves.caveats_))


def test_remaining_lifetime_matches_the_exponential_formula():
    # exponential lifetimes: the expected time left within H months is (1 - exp(-rate H)) / rate at any tenure
    frame = _exponential(n=20_000).assign(entry_months=0.0)
    model = RemainingLifetime(horizon_months=24).fit(
        frame, ["x"], [], duration_col="duration_months", entry_col=None
    )
    predicted = model.predict(pd.DataFrame({"x": [0.0, 0.0], "tenure_months": [1.0, 20.0]}))
    expected = (1 - np.exp(-0.05 * 24)) / 0.05
    np.testing.assert_allclose(predicted, expected, rtol=0.05)


def test_remaining_lifetime_time_ratio_covers_the_planted_effect():
    # exponential lifetimes whose rate doubles with a flag: the flag halves the expected lifetime,
    # a time ratio of exp(-log 2) = 0.5; the 95% interval should cover it
    rng = np.random.default_rng(5)
    n = 8000
    flag = rng.integers(0, 2, n).astype(float)
    life = rng.exponential(1 / (0.04 * np.exp(np.log(2) * flag)))
    frame = pd.DataFrame(
        {
            "duration_months": np.minimum(life, 36.0),
            "churned": life <= 36.0,
            "flag": flag,
            "entry_months": 0.0,
        }
    )
    model = RemainingLifetime().fit(frame, ["flag"], [], duration_col="duration_months", entry_col=None)
    row = model.summary_.set_index("term").loc["flag"]
    assert row["unit"] == "yes vs no" and row["time_ratio"] == row["estimate"]
    assert row["ci_low"] <= 0.5 <= row["ci_high"] and row["p_value"] < 0.001


def test_retention_summary_estimate_is_retention_at_the_first_horizon():
    curves = RetentionCurves(horizons=(6, 12)).fit(_exponential(), group_col="group")
    summary = curves.summary_
    assert curves.estimate_name == "retention at 6 months"
    assert RetentionCurves.estimate_name == "retention at 12 months"
    assert summary["term"].tolist() == summary["group"].tolist() == ["a", "b"]
    np.testing.assert_array_equal(summary["estimate"], summary["retention_6m"])
    np.testing.assert_array_equal(summary["ci_low"], summary["retention_6m_low"])
    assert summary["p_value"].isna().all()


def test_a_yes_no_flag_groups_by_value_and_the_report_names_the_groups():
    """Groups are data ("1"/"0", with the flag first); "With ..." is worded by the report layer."""
    frame = _exponential(n=400).assign(unresolved_complaint=(np.arange(400) % 4 == 0).astype(float))
    curves = RetentionCurves().fit(frame, group_col="unresolved_complaint")
    assert curves.flag_ and list(curves.summary_["group"]) == ["1", "0"]
    assert list(format_retention(curves.summary_).index) == [
        "With unresolved complaint",
        "Without unresolved complaint",
    ]
    assert not RetentionCurves().fit(frame, group_col="group").flag_
    # a missing flag is a group of its own: too small, it is pooled, and the caveat names the groups
    frame.loc[:2, "unresolved_complaint"] = np.nan
    pooled = RetentionCurves().fit(frame, group_col="unresolved_complaint")
    assert render_all(pooled.caveats_) == [
        "nan, With unresolved complaint: fewer than 10 customers (alone or with the other small groups), "
        "pooled into 'Other (2 groups)' (102 customers)"
    ]


def test_ph_check_flags_an_effect_that_fades_with_time():
    rng = np.random.default_rng(3)
    n = 6000
    x = rng.integers(0, 2, n)
    # x triples the hazard in the first 6 months and has no effect after: not proportional
    early = rng.exponential(1 / np.where(x == 1, 0.15, 0.05))
    late = 6 + rng.exponential(1 / 0.05, n)
    life = np.where(early < 6, early, late)
    frame = pd.DataFrame({"exit_months": np.minimum(life, 36), "churned": life <= 36, "x": x.astype(float)})
    cox = ChurnHazards().fit(frame, ["x"], [], entry_col=None)
    assert cox.summary_.loc[0, "ph_p_value"] < 0.001
    assert [n.code for n in cox.caveats_] == ["hazards.not_proportional"] and cox.caveats_[0]["terms"] == [
        "x"
    ]
    assert any("proportional hazards doubtful" in c for c in render_all(cox.caveats_))


def test_lifetimes_run_from_signup_to_churn_or_as_of(small_config, small_data):
    design = churn_cutoff(small_data, small_config)
    table = lifetime_table(small_data, design.rule)
    customers = small_data["customers"]
    assert table["churned"].sum() == customers["churn_date"].notna().sum()
    longest = (design.as_of - customers["signup_date"].min()).days / DAYS_PER_MONTH
    assert table["duration_months"].max() <= longest + 1e-9


def test_telco_contracts_lengthen_lifetimes():
    config, data = telco()
    design = churn_cutoff(data, config)
    frame = lifetime_table(data, design.rule).merge(
        data["customers"][["customer_id", "plan"]], on="customer_id"
    )
    summary = RetentionCurves().fit(frame, group_col="plan").summary_.set_index("group")
    assert summary.loc["Two year", "retention_24m"] > summary.loc["Month-to-month", "retention_24m"] + 0.2


@pytest.fixture(scope="module")
def inactivity(small_config, small_data):
    """The small demo under the inactivity (non-contractual) definition: design and behaviour features."""
    values = {
        **small_config.values,
        "analysis": {**small_config.analysis, "churn": {"definition": "inactivity", "inactivity_days": 180}},
    }
    config = config_from_dict(values, base_dir=small_config.base_dir)
    return churn_cutoff(small_data, config), features_from_config(small_data, config)


def test_no_purchase_group_churns_as_behaviour_counts_it(small_data, inactivity):
    design, features = inactivity
    lifetimes = lifetime_table(small_data, design.rule)
    # "No purchase" = never bought
    lifetimes["segment_name"] = lifetimes["customer_id"].map(features["rfm_segment"]).to_numpy()
    summary = RetentionCurves().fit(lifetimes, group_col="segment_name").summary_.set_index("group")
    never_bought = features["frequency"] == 0
    direct = _inactivity_by_hand(small_data, days=180)
    assert never_bought.sum() == direct["never_bought"].sum() > 0
    # those who signed up within the last 180 days are not churned yet
    assert 0 < direct.loc[direct["never_bought"], "churned"].sum() < direct["never_bought"].sum()
    assert summary.loc["No purchase", "customers"] == direct["never_bought"].sum()
    assert summary.loc["No purchase", "churned"] == direct.loc[direct["never_bought"], "churned"].sum()
    # each is declared churned 180 days after their own signup
    churned = lifetimes.set_index("customer_id").loc[features.index[never_bought]].query("churned")
    signup = small_data["customers"].set_index("customer_id")["signup_date"].loc[churned.index]
    declared = signup + pd.Timedelta(days=180)
    np.testing.assert_allclose(
        churned["duration_months"], (declared - signup).dt.days / DAYS_PER_MONTH, rtol=0, atol=0
    )


def test_inactivity_lifetimes_churn_exactly_whom_behaviour_flags(small_data, inactivity):
    design, features = inactivity
    lifetimes = lifetime_table(small_data, design.rule).set_index("customer_id")
    pd.testing.assert_series_equal(
        lifetimes["churned"].reindex(features.index), features["churned"], check_names=False
    )
    assert lifetimes["churned"].sum() == _inactivity_by_hand(small_data, days=180)["churned"].sum()


def _inactivity_by_hand(data, days: int) -> pd.DataFrame:
    """Churn under the inactivity rule, computed directly: ``days`` or more whole days since the last
    purchase (refunds are not purchases), counting from signup for customers who never bought."""
    tx = data["transactions"]
    last = tx[~tx["is_refund"]].groupby("customer_id")["order_date"].max().dt.normalize()
    customers = data["customers"].set_index("customer_id")
    since = last.reindex(customers.index)
    never_bought = since.isna()
    since = since.fillna(customers["signup_date"].dt.normalize())
    churned = (data.as_of.normalize() - since).dt.days >= days
    return pd.DataFrame({"never_bought": never_bought, "churned": churned})


def test_retention_after_whole_years_counts_churn_at_exactly_that_tenure():
    """Tenures recorded in whole years and turned into dates (``tenure: {unit: years}``) come back as
    23.98 or 24.01 months; "still a customer after 24 months" must match the Kaplan-Meier estimate on
    the recorded whole years (lifelines on the integer tenures), whichever way the days fall."""
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(7)
    years = rng.integers(1, 6, 400)
    churned = rng.random(400) < 0.3
    as_of = pd.Timestamp("2025-12-31")
    signup = pd.Series([as_of - pd.DateOffset(years=int(y)) for y in years])
    frame = pd.DataFrame({"duration_months": (as_of - signup).dt.days / DAYS_PER_MONTH, "churned": churned})
    curves = RetentionCurves(horizons=(12, 24, 36)).fit(frame)
    truth = KaplanMeierFitter().fit(years * 12, churned)
    for months in (12, 24, 36):
        expected = float(truth.survival_function_at_times(months).iloc[0])
        assert curves.summary_[f"retention_{months}m"].iloc[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("follow_up, warned", [(8.0, True), (60.0, False)])
def test_remaining_lifetime_says_when_the_horizon_outruns_the_data(follow_up, warned):
    """With 8 months of tenures, 36 months of expected lifetime are the Weibull curve's, and it says so."""
    rng = np.random.default_rng(3)
    life = rng.exponential(25.0, 3000)
    frame = pd.DataFrame(
        {
            "duration_months": np.minimum(life, follow_up),
            "churned": life <= follow_up,
            "flag": rng.integers(0, 2, 3000).astype(float),
        }
    )
    model = RemainingLifetime(horizon_months=36).fit(
        frame, ["flag"], [], duration_col="duration_months", entry_col=None
    )
    notes = [n for n in model.caveats_ if n.code == "lifetime.extrapolated"]
    assert bool(notes) == warned
    if warned:
        assert model.longest_observed_months_ == pytest.approx(follow_up)
        assert "longest tenure in the data is 8 months" in render_all(notes)[0]


def test_survival_fits_run_with_one_blas_thread_and_restore_it(monkeypatch):
    # both survival fits run under one BLAS thread (their short products do not gain from two on a
    # busy machine) and leave the caller's setting as it was
    from threadpoolctl import threadpool_info

    import cxlib.churn._survival as survival

    seen = []
    original = survival.threadpool_limits

    def spy(**kwargs):
        seen.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(survival, "threadpool_limits", spy)
    before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    frame = _exponential(n=2_000).assign(entry_months=0.0)
    RemainingLifetime(horizon_months=24).fit(frame, ["x"], [], duration_col="duration_months", entry_col=None)
    ChurnHazards().fit(frame, ["x"], [], duration_col="duration_months", entry_col=None)
    assert seen == [{"limits": 1, "user_api": "blas"}] * 2
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before
